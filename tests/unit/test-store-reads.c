/*
 * Conformance suite of the store, part three: reads by series id, latest
 * values and retention. test-store.c runs it against every backend; see
 * there and test-store.h for how the tests stay independent of each other's
 * data.
 *
 * Retention deletes every sample older than its bound, whoever wrote it, so
 * the retention tests write their old samples around TOLD, decades before
 * anything the other tests write, and leave none behind.
 */
#include "test-store.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TOLD 1000000000LL /* 1970-01-12, for samples that retention removes */

/* ---- Reads by series id ---- */

struct point {
    size_t index;
    int64_t ts;
    double value;
};

struct points {
    struct point v[64];
    size_t n;
    int stop_after;
};

static int collect_point(size_t index, int64_t ts, double value, void *userdata)
{
    struct points *p = userdata;
    if (p->n == 64)
        return -ENOSPC;
    p->v[p->n++] = (struct point){.index = index, .ts = ts, .value = value};
    if (p->stop_after > 0 && p->n == (size_t)p->stop_after)
        return -42;
    return 0;
}

/* Checks that p holds, from *at on, the points of ids[index] from..to with value base + offset. */
static void expect_run(const struct points *p, size_t *at, size_t index, int64_t from, int64_t to,
                       double base)
{
    for (int64_t t = from; t <= to; t++, (*at)++) {
        assert_true(*at < p->n);
        assert_int_equal(p->v[*at].index, index);
        assert_int_equal(p->v[*at].ts, T0 + t);
        assert_true(p->v[*at].value == base + (double)t);
    }
}

static void test_read(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    struct ward_sample v[20];
    /* Written newest first: reads come oldest first whatever the order of writing. */
    for (int i = 0; i < 10; i++) {
        v[i] = gauge("cpu", "a", "{}", T0 + 9 - i, 9 - i);
        v[10 + i] = gauge("cpu", "b", "{}", T0 + 14 - i, 100 + 14 - i);
    }
    assert_int_equal(ward_store_ingest(s, e->host[0], NULL, v, 20), 0);
    int64_t a = series_id_of(s, e->host[0], "cpu", "a", "{}");
    int64_t b = series_id_of(s, e->host[0], "cpu", "b", "{}");
    int64_t ids[] = {a, INT64_MAX, b, a, -1};

    struct points p = {0};
    size_t at = 0;
    assert_int_equal(ward_store_read(s, ids, 5, T0 + 3, T0 + 7, collect_point, &p), 0);
    expect_run(&p, &at, 0, 3, 7, 0);
    expect_run(&p, &at, 2, 5, 7, 100);
    expect_run(&p, &at, 3, 3, 7, 0);
    assert_int_equal(p.n, at);

    /* Bounds are inclusive; a single instant; everything; nothing. */
    p = (struct points){0};
    at = 0;
    assert_int_equal(ward_store_read(s, ids, 3, T0 + 5, T0 + 5, collect_point, &p), 0);
    expect_run(&p, &at, 0, 5, 5, 0);
    expect_run(&p, &at, 2, 5, 5, 100);
    assert_int_equal(p.n, at);

    p = (struct points){0};
    at = 0;
    assert_int_equal(ward_store_read(s, ids, 3, INT64_MIN, INT64_MAX, collect_point, &p), 0);
    expect_run(&p, &at, 0, 0, 9, 0);
    expect_run(&p, &at, 2, 5, 14, 100);
    assert_int_equal(p.n, at);

    p = (struct points){0};
    assert_int_equal(ward_store_read(s, ids, 5, T0 + 15, T0 + 99, collect_point, &p), 0);
    assert_int_equal(ward_store_read(s, ids, 5, T0 + 7, T0 + 3, collect_point, &p), 0);
    assert_int_equal(ward_store_read(s, &ids[1], 1, INT64_MIN, INT64_MAX, collect_point, &p), 0);
    assert_int_equal(ward_store_read(s, ids, 0, INT64_MIN, INT64_MAX, collect_point, &p), 0);
    assert_int_equal(p.n, 0);

    /* The callback stops the read, and the store is usable afterwards. */
    p = (struct points){.stop_after = 3};
    assert_int_equal(ward_store_read(s, ids, 5, INT64_MIN, INT64_MAX, collect_point, &p), -42);
    assert_int_equal(p.n, 3);
    p = (struct points){0};
    assert_int_equal(ward_store_read(s, &b, 1, INT64_MIN, INT64_MAX, collect_point, &p), 0);
    assert_int_equal(p.n, 10);
    ward_store_close(s);
}

/*
 * A read over several series sees one snapshot: a write that commits while
 * the first series is being read must not show in the second.
 */
struct read_snap {
    struct ward_store *s;
    const char *host;
    struct points p;
    int write_result, wait_result;
    bool started;
    pthread_t writer;
};

static void *read_snap_write(void *arg)
{
    struct read_snap *k = arg;
    struct ward_sample v[5];
    for (int i = 0; i < 5; i++)
        v[i] = gauge("cpu", "b", "{}", T0 + 2 * i + 1, -1);
    k->write_result = ward_store_ingest(k->s, k->host, NULL, v, 5);
    return NULL;
}

static int read_snap_point(size_t index, int64_t ts, double value, void *userdata)
{
    struct read_snap *k = userdata;
    if (k->p.n == 0) {
        if (pthread_create(&k->writer, NULL, read_snap_write, k) != 0)
            return -EAGAIN;
        k->started = true;
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += 5;
        k->wait_result = pthread_timedjoin_np(k->writer, NULL, &deadline);
    }
    return collect_point(index, ts, value, &k->p);
}

static void test_read_snapshot(void **state)
{
    struct store_env *e = *state;
    if (!e->backend->concurrent)
        skip();
    struct ward_store *s = open_ok(e->dsn);
    struct ward_sample v[10];
    for (int i = 0; i < 5; i++) {
        v[i] = gauge("cpu", "a", "{}", T0 + 2 * i, i);
        v[5 + i] = gauge("cpu", "b", "{}", T0 + 2 * i, i);
    }
    assert_int_equal(ward_store_ingest(s, e->host[0], NULL, v, 10), 0);
    int64_t ids[2] = {series_id_of(s, e->host[0], "cpu", "a", "{}"),
                      series_id_of(s, e->host[0], "cpu", "b", "{}")};
    struct read_snap k = {.s = s, .host = e->host[0]};
    int r = ward_store_read(s, ids, 2, INT64_MIN, INT64_MAX, read_snap_point, &k);
    /* A writer that timed out can finish only now that the read is over. */
    if (k.started && k.wait_result != 0)
        pthread_join(k.writer, NULL);
    assert_int_equal(r, 0);
    assert_true(k.started);
    assert_int_equal(k.wait_result, 0);
    assert_int_equal(k.write_result, 0);
    assert_int_equal(k.p.n, 10);
    for (size_t i = 0; i < k.p.n; i++)
        assert_int_equal((k.p.v[i].ts - T0) % 2, 0);
    /* Afterwards the new samples are there. */
    struct points p = {0};
    assert_int_equal(ward_store_read(s, &ids[1], 1, INT64_MIN, INT64_MAX, collect_point, &p), 0);
    assert_int_equal(p.n, 10);
    ward_store_close(s);
}

/* ---- Latest ---- */

struct latest_copy {
    char host_id[WARD_STORE_ID_LEN];
    char name[16];
    enum ward_metric_kind kind;
    int64_t id, ts;
    double value;
};

struct latest_set {
    struct latest_copy v[8];
    size_t n;
    const struct store_env *e;
    int stop_after;
    size_t calls;
};

static int collect_latest(const struct ward_series_row *row, int64_t ts, double value,
                          void *userdata)
{
    struct latest_set *k = userdata;
    k->calls++;
    if (k->stop_after > 0 && k->calls == (size_t)k->stop_after)
        return -42;
    if (strcmp(row->host_id, k->e->host[0]) != 0 && strcmp(row->host_id, k->e->host[1]) != 0)
        return 0;
    if (k->n == 8)
        return -ENOSPC;
    struct latest_copy *c = &k->v[k->n++];
    snprintf(c->host_id, sizeof(c->host_id), "%s", row->host_id);
    snprintf(c->name, sizeof(c->name), "%s", row->name);
    c->kind = row->kind;
    c->id = row->id;
    c->ts = ts;
    c->value = value;
    return 0;
}

static const struct latest_copy *latest_of(const struct latest_set *k, const char *host,
                                           const char *name)
{
    for (size_t i = 0; i < k->n; i++)
        if (strcmp(k->v[i].host_id, host) == 0 && strcmp(k->v[i].name, name) == 0)
            return &k->v[i];
    return NULL;
}

static void test_latest(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    struct ward_sample v[] = {
        gauge("cpu", "a", "{}", T0 + 4, 4),
        gauge("cpu", "a", "{}", T0, 0),
        gauge("cpu", "a", "{}", T0 + 2, 2),
        gauge("net", "b", "{}", T0 + 100, 7),
    };
    v[3].kind = WARD_KIND_COUNTER;
    struct ward_sample c = gauge("cpu", "c", "{}", T0 + 50, 9);
    assert_int_equal(ward_store_ingest(s, e->host[0], NULL, v, 4), 0);
    assert_int_equal(ward_store_ingest(s, e->host[1], NULL, &c, 1), 0);

    struct latest_set k = {.e = e};
    assert_int_equal(ward_store_latest(s, collect_latest, &k), 0);
    assert_int_equal(k.n, 3);
    const struct latest_copy *x = latest_of(&k, e->host[0], "a");
    assert_non_null(x);
    assert_int_equal(x->ts, T0 + 4);
    assert_true(x->value == 4);
    assert_int_equal(x->id, series_id_of(s, e->host[0], "cpu", "a", "{}"));
    x = latest_of(&k, e->host[0], "b");
    assert_non_null(x);
    assert_int_equal(x->ts, T0 + 100);
    assert_true(x->value == 7);
    assert_int_equal(x->kind, WARD_KIND_COUNTER);
    x = latest_of(&k, e->host[1], "c");
    assert_non_null(x);
    assert_int_equal(x->ts, T0 + 50);

    /* A newer sample replaces it; an older one does not. */
    struct ward_sample more[] = {gauge("cpu", "a", "{}", T0 + 10, 10),
                                 gauge("cpu", "c", "{}", T0 - 5, -5)};
    assert_int_equal(ward_store_ingest(s, e->host[0], NULL, &more[0], 1), 0);
    assert_int_equal(ward_store_ingest(s, e->host[1], NULL, &more[1], 1), 0);
    k = (struct latest_set){.e = e};
    assert_int_equal(ward_store_latest(s, collect_latest, &k), 0);
    assert_int_equal(k.n, 3);
    assert_int_equal(latest_of(&k, e->host[0], "a")->ts, T0 + 10);
    assert_int_equal(latest_of(&k, e->host[1], "c")->ts, T0 + 50);

    k = (struct latest_set){.e = e, .stop_after = 1};
    assert_int_equal(ward_store_latest(s, collect_latest, &k), -42);
    ward_store_close(s);
}

/* ---- Retention ---- */

static void test_prune_chunks(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    struct ward_sample v[32];
    size_t n = 0;
    for (int i = 0; i < 12; i++)
        v[n++] = gauge("cpu", "a", "{}", TOLD + i, i);
    for (int i = 0; i < 8; i++)
        v[n++] = gauge("cpu", "b", "{}", TOLD + i, i);
    for (int i = 0; i < 3; i++)
        v[n++] = gauge("cpu", "a", "{}", T0 + i, i);
    v[n++] = gauge("cpu", "b", "{}", TOLD + 1000, 1000); /* exactly at the bound: kept */
    assert_int_equal(ward_store_ingest(s, e->host[0], NULL, v, n), 0);
    struct ward_sample c[5];
    for (int i = 0; i < 5; i++)
        c[i] = gauge("cpu", "c", "{}", TOLD + 10 * i, i);
    assert_int_equal(ward_store_ingest(s, e->host[1], NULL, c, 5), 0);

    /* 25 samples are older than the bound: 10 per call at most. */
    size_t total = 0, calls = 0, deleted = 99;
    int r;
    do {
        r = ward_store_prune(s, TOLD + 1000, 10, &deleted);
        assert_true(r == 0 || r == 1);
        assert_true(deleted <= 10);
        if (calls == 0)
            assert_int_equal(r, 1);
        total += deleted;
        calls++;
    } while (r == 1 && calls < 10);
    assert_int_equal(r, 0);
    assert_int_equal(total, 25);
    assert_true(calls <= 4);

    assert_int_equal(count(s, e->host[0]), 4);
    assert_int_equal(count(s, e->host[1]), 0);
    struct ward_query q = all_of(e->host[0]);
    q.name = "b";
    struct rows rs = run(s, q);
    assert_int_equal(rs.n, 1);
    assert_int_equal(rs.v[0].ts, TOLD + 1000);
    rows_free(&rs);

    /* Nothing is left to do; a series without samples drops out of latest but stays listed. */
    assert_int_equal(ward_store_prune(s, TOLD + 1000, 10, &deleted), 0);
    assert_int_equal(deleted, 0);
    struct latest_set k = {.e = e};
    assert_int_equal(ward_store_latest(s, collect_latest, &k), 0);
    assert_int_equal(k.n, 2);
    assert_null(latest_of(&k, e->host[1], "c"));
    series_id_of(s, e->host[1], "cpu", "c", "{}");

    /* No bound on the rows: everything older goes in one call. */
    assert_int_equal(ward_store_ingest(s, e->host[1], NULL, c, 5), 0);
    assert_int_equal(ward_store_prune(s, TOLD + 1000, SIZE_MAX, &deleted), 0);
    assert_int_equal(deleted, 5);
    ward_store_close(s);
}

static void test_prune_batch_keys(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    struct ward_batch_key keys[3] = {
        {.boot = 5, .seq = 1}, {.boot = 5, .seq = 2}, {.boot = 5, .seq = 3}};
    struct ward_sample v[3];
    for (int i = 0; i < 3; i++) {
        v[i] = gauge("cpu", "usage", "{}", T0 + i, i);
        assert_int_equal(ward_store_ingest(s, e->host[0], &keys[i], &v[i], 1), 0);
    }
    /* Keys received after the bound stay: a retry is still a duplicate. */
    size_t deleted = 99;
    assert_int_equal(ward_store_prune(s, TOLD, 1000, &deleted), 0);
    assert_int_equal(deleted, 0);
    assert_int_equal(ward_store_ingest(s, e->host[0], &keys[0], &v[0], 1), 1);

    /* A bound after now removes the keys (and the samples): three do not fit in two. */
    int64_t later = (int64_t)time(NULL) * 1000 + 3600 * 1000;
    assert_int_equal(ward_store_prune(s, later, 2, &deleted), 1);
    assert_true(deleted <= 2);
    size_t calls = 0;
    int r;
    do
        r = ward_store_prune(s, later, 100000, &deleted);
    while (r == 1 && ++calls < 1000);
    assert_int_equal(r, 0);
    assert_int_equal(count(s, e->host[0]), 0);

    /* The keys are forgotten: the batches are stored again. */
    for (int i = 0; i < 3; i++)
        assert_int_equal(ward_store_ingest(s, e->host[0], &keys[i], &v[i], 1), 0);
    assert_int_equal(count(s, e->host[0]), 3);
    ward_store_close(s);
}

const struct CMUnitTest store_read_tests[] = {
    T(test_read),         T(test_read_snapshot),    T(test_latest),
    T(test_prune_chunks), T(test_prune_batch_keys),
};

const size_t store_read_tests_count = sizeof(store_read_tests) / sizeof(store_read_tests[0]);
