/*
 * Conformance suite of the store, part two: group writes, host
 * registration and listing, series listing, stats, ping and the argument
 * checks of every method. test-store.c runs it against every backend; see
 * there and test-store.h for how the tests stay independent of each other's
 * data.
 */
#include "test-store.h"

#include "common/uuid.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct ward_write batch_of(const char *host, const struct ward_batch_key *key,
                                  const struct ward_sample *v, size_t n)
{
    return (struct ward_write){.host_id = host, .batch = key, .samples = v, .n = n};
}

/* ---- Group writes ---- */

static void test_group_write_results(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    struct ward_batch_key k1 = {.boot = 1, .seq = 1}, k2 = {.boot = 1, .seq = 2};
    struct ward_sample v1 = gauge("cpu", "usage", "{}", T0, 1);
    struct ward_sample v2 = gauge("cpu", "usage", "{}", T0 + 1000, 2);
    struct ward_sample v3 = gauge("ram", "used", "{}", T0, 3);
    struct ward_sample v4 = gauge("cpu", "usage", "{}", T0 + 2000, 4);

    struct ward_write w[] = {
        batch_of(e->host[0], &k1, &v1, 1),
        batch_of(e->host[1], &k1, &v3, 1), /* the same key of another host: another batch */
        batch_of(e->host[0], &k1, &v4, 1), /* a retry inside the group */
        batch_of(e->host[0], NULL, &v2, 1),
    };
    for (size_t i = 0; i < 4; i++)
        w[i].result = 99;
    assert_int_equal(ward_store_write(s, w, 4), 0);
    assert_int_equal(w[0].result, 0);
    assert_int_equal(w[1].result, 0);
    assert_int_equal(w[2].result, 1);
    assert_int_equal(w[3].result, 0);
    assert_int_equal(count(s, e->host[0]), 2);
    assert_int_equal(count(s, e->host[1]), 1);

    /* A retry in a later group, next to a new batch. */
    struct ward_write w2[] = {batch_of(e->host[0], &k1, &v4, 1), batch_of(e->host[0], &k2, &v4, 1)};
    assert_int_equal(ward_store_write(s, w2, 2), 0);
    assert_int_equal(w2[0].result, 1);
    assert_int_equal(w2[1].result, 0);
    assert_int_equal(count(s, e->host[0]), 3);

    assert_int_equal(ward_store_write(s, NULL, 0), 0);
    ward_store_close(s);
}

static void test_group_write_bad_batch(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    struct ward_batch_key k1 = {.boot = 2, .seq = 1}, k2 = {.boot = 2, .seq = 2};
    struct ward_sample good[] = {gauge("cpu", "usage", "{}", T0, 1),
                                 gauge("cpu", "usage", "{}", T0 + 1, 2)};
    struct ward_sample bad[] = {gauge("cpu", "usage", "{}", T0 + 2, 3),
                                gauge("cpu", "usage", "{}", T0 + 3, NAN)};
    struct ward_write w[] = {
        batch_of(e->host[0], &k1, good, 2),  batch_of(e->host[0], &k2, bad, 2),
        batch_of(e->host[1], NULL, good, 2), batch_of(NULL, NULL, good, 2),
        batch_of(e->host[1], NULL, NULL, 3),
    };
    assert_int_equal(ward_store_write(s, w, 5), 0);
    assert_int_equal(w[0].result, 0);
    assert_int_equal(w[1].result, -EINVAL);
    assert_int_equal(w[2].result, 0);
    assert_int_equal(w[3].result, -EINVAL);
    assert_int_equal(w[4].result, -EINVAL);
    /* The caller's array is as it was. */
    assert_ptr_equal(w[1].samples, bad);
    assert_ptr_equal(w[3].host_id, NULL);
    assert_int_equal(count(s, e->host[0]), 2);
    assert_int_equal(count(s, e->host[1]), 2);

    /* The refused batch left no key behind: its retry is stored. */
    bad[1].value = 4;
    struct ward_write retry = batch_of(e->host[0], &k2, bad, 2);
    assert_int_equal(ward_store_write(s, &retry, 1), 0);
    assert_int_equal(retry.result, 0);
    assert_int_equal(count(s, e->host[0]), 4);
    ward_store_close(s);
}

/* A group as the writer makes them: many batches of several hosts, each a few collections. */
static void test_group_write_many_batches(void **state)
{
    enum {
        BATCHES = 50,
        SERIES = 7,
        ROUNDS = 3
    };
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    static const char *const names[SERIES] = {"a", "b", "c", "d", "e", "f", "g"};
    struct ward_sample *v = calloc(BATCHES * SERIES * ROUNDS, sizeof(*v));
    struct ward_write w[BATCHES];
    struct ward_batch_key keys[BATCHES];
    assert_non_null(v);
    for (int b = 0; b < BATCHES; b++) {
        struct ward_sample *x = v + b * SERIES * ROUNDS;
        for (int r = 0; r < ROUNDS; r++)
            for (int i = 0; i < SERIES; i++)
                x[r * SERIES + i] =
                    gauge("load", names[i], "{}", T0 + (b / 2 * ROUNDS + r) * 1000, b * 100 + r);
        keys[b] = (struct ward_batch_key){.boot = 3, .seq = b / 2};
        w[b] = batch_of(e->host[b % 2], &keys[b], x, SERIES * ROUNDS);
    }
    assert_int_equal(ward_store_write(s, w, BATCHES), 0);
    for (int b = 0; b < BATCHES; b++)
        assert_int_equal(w[b].result, 0);
    assert_int_equal(count(s, e->host[0]), BATCHES / 2 * SERIES * ROUNDS);
    assert_int_equal(count(s, e->host[1]), BATCHES / 2 * SERIES * ROUNDS);

    /* The newest sample of series "d" is the last round of the last batch of host[1]. */
    struct ward_query q = all_of(e->host[1]);
    q.name = "d";
    q.limit = 1;
    struct rows rs = run(s, q);
    assert_int_equal(rs.n, 1);
    assert_int_equal(rs.v[0].ts, T0 + ((BATCHES - 1) / 2 * ROUNDS + ROUNDS - 1) * 1000);
    assert_true(rs.v[0].value == (BATCHES - 1) * 100 + ROUNDS - 1);
    rows_free(&rs);

    /* The whole group again: every batch is a retry. */
    assert_int_equal(ward_store_write(s, w, BATCHES), 0);
    for (int b = 0; b < BATCHES; b++)
        assert_int_equal(w[b].result, 1);
    free(v);
    ward_store_close(s);
}

/* ---- Hosts ---- */

struct host_copy {
    char id[WARD_STORE_ID_LEN];
    char *hostname, *ip_address, *os, *labels, *agent_version, *status;
    int64_t last_seen_ms, created_ms, updated_ms;
};

struct hosts {
    struct host_copy v[16];
    size_t n;
    const char *want[16]; /* ids to keep; others are not ours */
    size_t nwant;
    int stop_after;
    size_t calls;
};

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static int collect_host(const struct ward_host_row *row, void *userdata)
{
    struct hosts *h = userdata;
    h->calls++;
    if (h->stop_after > 0 && h->calls == (size_t)h->stop_after)
        return -42;
    for (size_t i = 0; i < h->nwant; i++) {
        if (strcmp(row->id, h->want[i]) != 0 || h->n == 16)
            continue;
        struct host_copy *c = &h->v[h->n++];
        snprintf(c->id, sizeof(c->id), "%s", row->id);
        c->hostname = dup_or_null(row->hostname);
        c->ip_address = dup_or_null(row->ip_address);
        c->os = dup_or_null(row->os);
        c->labels = dup_or_null(row->labels);
        c->agent_version = dup_or_null(row->agent_version);
        c->status = dup_or_null(row->status);
        c->last_seen_ms = row->last_seen_ms;
        c->created_ms = row->created_ms;
        c->updated_ms = row->updated_ms;
    }
    return 0;
}

static void hosts_free(struct hosts *h)
{
    for (size_t i = 0; i < h->n; i++) {
        free(h->v[i].hostname);
        free(h->v[i].ip_address);
        free(h->v[i].os);
        free(h->v[i].labels);
        free(h->v[i].agent_version);
        free(h->v[i].status);
    }
    h->n = 0;
}

/* Lists the hosts and keeps the one with id; fails the test when it is missing. */
static struct host_copy get_host(struct ward_store *s, struct hosts *h, const char *id)
{
    hosts_free(h);
    h->want[0] = id;
    h->nwant = 1;
    assert_int_equal(ward_store_host_list(s, collect_host, h), 0);
    assert_int_equal(h->n, 1);
    return h->v[0];
}

static void test_host_register(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    char name[64], other[64];
    tagged(e, "alpha", name, sizeof(name));
    tagged(e, "beta", other, sizeof(other));
    struct ward_host_info info = {.hostname = name,
                                  .ip_address = "10.0.0.1",
                                  .os = "linux",
                                  .labels = "{\"rack\":\"r1\"}",
                                  .agent_version = "1.0.0"};
    char id[WARD_STORE_ID_LEN], again[WARD_STORE_ID_LEN];
    bool created = false;
    assert_int_equal(ward_store_host_register(s, &info, id, &created), 0);
    assert_true(created);
    assert_true(ward_uuid_valid(id));
    char lower[WARD_UUID_STR_LEN];
    assert_int_equal(ward_uuid_normalize(id, lower), 0);
    assert_string_equal(id, lower);

    struct hosts h = {0};
    struct host_copy c = get_host(s, &h, id);
    assert_string_equal(c.hostname, name);
    assert_string_equal(c.ip_address, "10.0.0.1");
    assert_string_equal(c.os, "linux");
    assert_string_equal(c.labels, "{\"rack\":\"r1\"}");
    assert_string_equal(c.agent_version, "1.0.0");
    assert_string_equal(c.status, "active");
    assert_int_equal(c.last_seen_ms, 0);
    assert_true(c.created_ms > 0);
    int64_t created_ms = c.created_ms, updated_ms = c.updated_ms;

    /* The same registration again: the same host, unchanged. */
    created = true;
    assert_int_equal(ward_store_host_register(s, &info, again, &created), 0);
    assert_false(created);
    assert_string_equal(again, id);
    c = get_host(s, &h, id);
    assert_int_equal(c.updated_ms, updated_ms);

    /* Only the fields told are updated; the others stay. */
    struct ward_host_info change = {.hostname = name, .ip_address = "10.0.0.2"};
    assert_int_equal(ward_store_host_register(s, &change, again, &created), 0);
    assert_false(created);
    assert_string_equal(again, id);
    c = get_host(s, &h, id);
    assert_string_equal(c.ip_address, "10.0.0.2");
    assert_string_equal(c.os, "linux");
    assert_string_equal(c.labels, "{\"rack\":\"r1\"}");
    assert_string_equal(c.agent_version, "1.0.0");
    assert_int_equal(c.created_ms, created_ms);
    assert_true(c.updated_ms >= updated_ms);

    /* A hostname alone tells nothing new. */
    struct ward_host_info bare = {.hostname = name};
    assert_int_equal(ward_store_host_register(s, &bare, again, &created), 0);
    assert_false(created);
    assert_string_equal(again, id);

    /* Another hostname is another host; unknown fields stay empty. */
    struct ward_host_info second = {.hostname = other};
    assert_int_equal(ward_store_host_register(s, &second, again, &created), 0);
    assert_true(created);
    assert_string_not_equal(again, id);
    c = get_host(s, &h, again);
    assert_string_equal(c.hostname, other);
    assert_null(c.ip_address);
    assert_null(c.os);
    assert_string_equal(c.labels, "{}");
    assert_null(c.agent_version);

    /* Ingest under a registered id sees the host alive and keeps what it was told. */
    struct ward_sample v = gauge("cpu", "usage", "{}", T0, 1);
    assert_int_equal(ward_store_ingest(s, id, NULL, &v, 1), 0);
    c = get_host(s, &h, id);
    assert_string_equal(c.hostname, name);
    assert_string_equal(c.ip_address, "10.0.0.2");
    assert_true(c.last_seen_ms > 0);
    hosts_free(&h);
    ward_store_close(s);
}

static void test_host_list_order(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    static const char *const suffixes[3] = {"c", "a", "b"};
    char names[3][64], ids[3][WARD_STORE_ID_LEN];
    for (size_t i = 0; i < 3; i++) {
        tagged(e, suffixes[i], names[i], sizeof(names[i]));
        struct ward_host_info info = {.hostname = names[i]};
        bool created = false;
        assert_int_equal(ward_store_host_register(s, &info, ids[i], &created), 0);
        assert_true(created);
    }
    /* Hosts made by ingest have no hostname. */
    struct ward_sample v = gauge("cpu", "usage", "{}", T0, 1);
    assert_int_equal(ward_store_ingest(s, e->host[1], NULL, &v, 1), 0);
    assert_int_equal(ward_store_ingest(s, e->host[0], NULL, &v, 1), 0);

    struct hosts h = {.want = {ids[0], ids[1], ids[2], e->host[0], e->host[1]}, .nwant = 5};
    assert_int_equal(ward_store_host_list(s, collect_host, &h), 0);
    assert_int_equal(h.n, 5);
    /* Hosts without a hostname first, by id; then by hostname: a, b, c. */
    const char *order[5] = {e->host[0], e->host[1], ids[1], ids[2], ids[0]};
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(h.v[i].id, order[i]);
    assert_null(h.v[0].hostname);
    assert_string_equal(h.v[0].labels, "{}");
    assert_string_equal(h.v[0].status, "active");
    assert_true(h.v[0].last_seen_ms > 0);
    assert_string_equal(h.v[2].hostname, names[1]);
    hosts_free(&h);

    /* The callback stops the listing. */
    struct hosts stop = {.stop_after = 2};
    assert_int_equal(ward_store_host_list(s, collect_host, &stop), -42);
    assert_int_equal(stop.calls, 2);
    ward_store_close(s);
}

/* ---- Series ---- */

struct series_copy {
    int64_t id;
    char host_id[WARD_STORE_ID_LEN];
    char category[64], name[32], labels[32];
    enum ward_metric_kind kind;
};

struct series_set {
    struct series_copy v[32];
    size_t n;
    const struct store_env *e; /* keep only the test's hosts */
    int stop_after;
    size_t calls;
};

static int collect_series(const struct ward_series_row *row, void *userdata)
{
    struct series_set *k = userdata;
    k->calls++;
    if (k->stop_after > 0 && k->calls == (size_t)k->stop_after)
        return -42;
    if (strcmp(row->host_id, k->e->host[0]) != 0 && strcmp(row->host_id, k->e->host[1]) != 0)
        return 0;
    if (k->n == 32)
        return -ENOSPC;
    struct series_copy *c = &k->v[k->n++];
    c->id = row->id;
    snprintf(c->host_id, sizeof(c->host_id), "%s", row->host_id);
    snprintf(c->category, sizeof(c->category), "%s", row->category);
    snprintf(c->name, sizeof(c->name), "%s", row->name);
    snprintf(c->labels, sizeof(c->labels), "%s", row->labels);
    c->kind = row->kind;
    return 0;
}

static void test_series_list(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    char cpu[64], ram[64];
    tagged(e, "cpu", cpu, sizeof(cpu));
    tagged(e, "ram", ram, sizeof(ram));
    struct ward_sample v0[] = {
        gauge(cpu, "usage", "{}", T0, 1),
        gauge(cpu, "usage", "{\"core\":\"1\"}", T0, 2),
        gauge(cpu, "idle", "{}", T0, 3),
        gauge(ram, "usage", "{}", T0, 4),
    };
    v0[3].kind = WARD_KIND_COUNTER;
    struct ward_sample v1 = gauge(cpu, "usage", "{}", T0, 5);
    assert_int_equal(ward_store_ingest(s, e->host[0], NULL, v0, 4), 0);
    assert_int_equal(ward_store_ingest(s, e->host[1], NULL, &v1, 1), 0);

    /* Every series of the test, in (host, category, name, labels) order. */
    struct {
        int host;
        const char *category, *name, *labels;
    } all[5] = {
        {0, cpu, "idle", "{}"},  {0, cpu, "usage", "{\"core\":\"1\"}"},
        {0, cpu, "usage", "{}"}, {0, ram, "usage", "{}"},
        {1, cpu, "usage", "{}"},
    };
    struct {
        int host; /* -1: any */
        const char *category, *name;
        unsigned expect; /* bit i: all[i] is listed */
    } cases[] = {
        {-1, NULL, NULL, 0x1f},  {0, NULL, NULL, 0x0f},     {1, NULL, NULL, 0x10},
        {-1, cpu, NULL, 0x17},   {-1, NULL, "usage", 0x1e}, {-1, cpu, "usage", 0x16},
        {0, cpu, "usage", 0x06}, {0, NULL, "usage", 0x0e},  {1, ram, NULL, 0x00},
        {0, ram, "usage", 0x08}, {-1, NULL, "none", 0x00},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        struct ward_series_filter f = {.host_id = cases[c].host < 0 ? NULL : e->host[cases[c].host],
                                       .category = cases[c].category,
                                       .name = cases[c].name};
        struct series_set k = {.e = e};
        assert_int_equal(ward_store_series_list(s, &f, collect_series, &k), 0);
        size_t j = 0;
        for (size_t i = 0; i < 5; i++) {
            if (!(cases[c].expect & (1u << i)))
                continue;
            assert_true(j < k.n);
            assert_string_equal(k.v[j].host_id, e->host[all[i].host]);
            assert_string_equal(k.v[j].category, all[i].category);
            assert_string_equal(k.v[j].name, all[i].name);
            assert_string_equal(k.v[j].labels, all[i].labels);
            assert_int_equal(k.v[j].kind, i == 3 ? WARD_KIND_COUNTER : WARD_KIND_GAUGE);
            j++;
        }
        assert_int_equal(k.n, j);
    }

    /* No filter at all is the same as an empty one; ids are distinct. */
    struct series_set k = {.e = e};
    assert_int_equal(ward_store_series_list(s, NULL, collect_series, &k), 0);
    assert_int_equal(k.n, 5);
    for (size_t i = 0; i < 5; i++)
        for (size_t j = i + 1; j < 5; j++)
            assert_true(k.v[i].id != k.v[j].id);

    struct series_set stop = {.e = e, .stop_after = 1};
    assert_int_equal(ward_store_series_list(s, NULL, collect_series, &stop), -42);
    ward_store_close(s);
}

/* ---- Stats, ping, arguments ---- */

static void test_stats_and_ping(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    struct ward_store_stats a = {0}, b = {0};
    assert_int_equal(ward_store_stats(s, &a), 0);
    char name[64];
    tagged(e, "stats", name, sizeof(name));
    struct ward_host_info info = {.hostname = name};
    char id[WARD_STORE_ID_LEN];
    bool created;
    assert_int_equal(ward_store_host_register(s, &info, id, &created), 0);
    struct ward_sample v[] = {gauge("cpu", "a", "{}", T0, 1), gauge("cpu", "b", "{}", T0, 2),
                              gauge("cpu", "c", "{}", T0, 3), gauge("cpu", "a", "{}", T0 + 1, 4)};
    assert_int_equal(ward_store_ingest(s, e->host[0], NULL, v, 4), 0);
    assert_int_equal(ward_store_stats(s, &b), 0);
    assert_int_equal(b.hosts, a.hosts + 2);
    assert_int_equal(b.series, a.series + 3);
    if (e->backend->memory)
        assert_int_equal(b.bytes, 0);
    else
        assert_true(b.bytes > 0);
    assert_int_equal(ward_store_ping(s), 0);
    ward_store_close(s);
}

static int never_host(const struct ward_host_row *row, void *userdata)
{
    (void)row;
    (void)userdata;
    return -1;
}

static int never_series(const struct ward_series_row *row, void *userdata)
{
    (void)row;
    (void)userdata;
    return -1;
}

static int never_latest(const struct ward_series_row *row, int64_t ts, double value, void *userdata)
{
    (void)row;
    (void)ts;
    (void)value;
    (void)userdata;
    return -1;
}

static int count_point(size_t index, int64_t ts, double value, void *userdata)
{
    (void)index;
    (void)ts;
    (void)value;
    (*(size_t *)userdata)++;
    return 0;
}

static void test_methods_invalid_arguments(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    char id[WARD_STORE_ID_LEN];
    bool created;
    struct ward_host_info ok = {.hostname = "h"}, unnamed = {0}, empty = {.hostname = ""};
    assert_int_equal(ward_store_host_register(NULL, &ok, id, &created), -EINVAL);
    assert_int_equal(ward_store_host_register(s, NULL, id, &created), -EINVAL);
    assert_int_equal(ward_store_host_register(s, &unnamed, id, &created), -EINVAL);
    assert_int_equal(ward_store_host_register(s, &empty, id, &created), -EINVAL);
    assert_int_equal(ward_store_host_register(s, &ok, NULL, &created), -EINVAL);
    assert_int_equal(ward_store_host_register(s, &ok, id, NULL), -EINVAL);
    assert_int_equal(ward_store_host_list(s, NULL, NULL), -EINVAL);
    assert_int_equal(ward_store_host_list(NULL, never_host, NULL), -EINVAL);
    assert_int_equal(ward_store_series_list(s, NULL, NULL, NULL), -EINVAL);
    assert_int_equal(ward_store_series_list(NULL, NULL, never_series, NULL), -EINVAL);

    int64_t one = 1;
    size_t points = 0;
    assert_int_equal(ward_store_read(s, &one, 1, 0, 1, NULL, NULL), -EINVAL);
    assert_int_equal(ward_store_read(s, NULL, 1, 0, 1, count_point, &points), -EINVAL);
    assert_int_equal(ward_store_read(NULL, &one, 1, 0, 1, count_point, &points), -EINVAL);
    assert_int_equal(ward_store_read(s, NULL, 0, 0, 1, count_point, &points), 0);
    assert_int_equal(points, 0);
    assert_int_equal(ward_store_latest(s, NULL, NULL), -EINVAL);
    assert_int_equal(ward_store_latest(NULL, never_latest, NULL), -EINVAL);

    size_t deleted = 7;
    assert_int_equal(ward_store_prune(s, 1000, 0, &deleted), -EINVAL);
    assert_int_equal(ward_store_prune(s, 1000, 10, NULL), -EINVAL);
    assert_int_equal(ward_store_prune(NULL, 1000, 10, &deleted), -EINVAL);
    assert_int_equal(deleted, 7);
    assert_int_equal(ward_store_stats(s, NULL), -EINVAL);
    assert_int_equal(ward_store_ping(NULL), -EINVAL);

    struct ward_write w = batch_of(e->host[0], NULL, NULL, 0);
    assert_int_equal(ward_store_write(NULL, &w, 1), -EINVAL);
    assert_int_equal(ward_store_write(s, NULL, 1), -EINVAL);
    ward_store_close(s);
}

const struct CMUnitTest store_method_tests[] = {
    T(test_group_write_results),      T(test_group_write_bad_batch),
    T(test_group_write_many_batches), T(test_host_register),
    T(test_host_list_order),          T(test_series_list),
    T(test_stats_and_ping),           T(test_methods_invalid_arguments),
};

const size_t store_method_tests_count = sizeof(store_method_tests) / sizeof(store_method_tests[0]);
