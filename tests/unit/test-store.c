/*
 * Conformance suite of the store, part one: ingest and range queries.
 *
 * Every test speaks only store.h, takes its DSN from the fixture and writes
 * under host ids and names of its own (test-store.h), so the same suite
 * runs against every backend: SQLite in memory, SQLite in a file, and one
 * more DSN when WARD_TEST_STORE_DSN names one (PostgreSQL, once that backend
 * exists). The other methods of ward_store_ops are tested in
 * test-store-methods.c, test-store-reads.c, test-store-registry.c and
 * test-store-commands.c; main() below runs all five parts against each
 * backend.
 * Tests that need a property a backend lacks (data that survives a reopen,
 * reads that run during a write) skip themselves there. SQLite's own
 * behaviour (DSN forms, WAL, schema versions, the series cache) is tested
 * in test-store-sqlite.c.
 *
 * Worker threads never call cmocka assertions, which may not be used off the
 * main thread; they count their failures and the main thread checks them.
 */
#include "test-store.h"

#include "common/error.h"
#include "server/store/store.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void test_open_close_reopen(void **state)
{
    struct store_env *e = *state;
    if (!e->backend->persistent)
        skip();
    struct ward_store *s = open_ok(e->dsn);
    struct ward_batch_key b = {.boot = 7, .seq = 1};
    struct ward_sample v[] = {
        gauge("cpu", "usage_percent", "{}", T0, 12.5),
        gauge("ram", "used_bytes", "{}", T0, 1024),
    };
    assert_int_equal(ward_store_ingest(s, e->host[0], &b, v, 2), 0);
    ward_store_close(s);

    s = open_ok(e->dsn);
    assert_int_equal(count(s, e->host[0]), 2);
    /* The batch key survived: a retry after restart is still a duplicate. */
    assert_int_equal(ward_store_ingest(s, e->host[0], &b, v, 2), 1);
    /* Existing series are found again, and the same sample is still a no-op. */
    struct ward_sample more[] = {
        gauge("cpu", "usage_percent", "{}", T0, 99),
        gauge("cpu", "usage_percent", "{}", T0 + 1000, 13.5),
    };
    assert_int_equal(ward_store_ingest(s, e->host[0], NULL, more, 2), 0);
    ward_store_close(s);

    s = open_ok(e->dsn);
    struct ward_query q = all_of(e->host[0]);
    q.category = "cpu";
    struct rows rs = run(s, q);
    assert_int_equal(rs.n, 2);
    assert_int_equal(rs.v[0].ts, T0 + 1000);
    assert_true(rs.v[0].value == 13.5);
    assert_int_equal(rs.v[1].ts, T0);
    assert_true(rs.v[1].value == 12.5);
    rows_free(&rs);
    ward_store_close(s);
    ward_store_close(NULL);
}

static void test_round_trip(void **state)
{
    struct store_env *e = *state;
    static const double values[] = {0.0,    1.0,     -1.5,    0.1,      123456789.123456789,
                                    1e-300, 1.7e308, -2.5e-5, 4.9e-324, 9007199254740993.0};
    enum {
        N = sizeof(values) / sizeof(values[0])
    };
    struct ward_sample v[N];
    for (size_t i = 0; i < N; i++) {
        v[i] = gauge("disk", "free_bytes", "{\"device\":\"sda1\",\"mount\":\"/\"}",
                     T0 - (int64_t)i * 10000, values[i]);
        v[i].kind = i % 2 ? WARD_KIND_COUNTER : WARD_KIND_GAUGE;
    }
    /* Give each sample its own series so the kind can differ. */
    char names[N][16];
    for (size_t i = 0; i < N; i++) {
        snprintf(names[i], sizeof(names[i]), "m%zu", i);
        v[i].name = names[i];
    }
    struct ward_store *s = open_ok(e->dsn);
    assert_int_equal(ward_store_ingest(s, e->host[0], NULL, v, N), 0);

    struct rows rs = run(s, all_of(e->host[0]));
    assert_int_equal(rs.n, N);
    for (size_t i = 0; i < N; i++) {
        /* Newest first: sample i has the i-th largest timestamp. */
        assert_string_equal(rs.v[i].host_id, e->host[0]);
        assert_string_equal(rs.v[i].category, "disk");
        assert_string_equal(rs.v[i].name, names[i]);
        assert_string_equal(rs.v[i].labels, "{\"device\":\"sda1\",\"mount\":\"/\"}");
        assert_int_equal(rs.v[i].kind, v[i].kind);
        assert_int_equal(rs.v[i].ts, v[i].ts_ms);
        assert_memory_equal(&rs.v[i].value, &values[i], sizeof(double));
    }
    rows_free(&rs);
    ward_store_close(s);
}

static void test_newest_first_and_limit(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    /* Two series whose timestamps interleave, written out of order. */
    struct ward_sample v[20];
    for (int i = 0; i < 20; i++) {
        int k = (i * 7) % 20; /* a permutation of 0..19 */
        v[i] = gauge("cpu", k % 2 ? "user" : "system", "{}", T0 + k * 1000, k);
    }
    assert_int_equal(ward_store_ingest(s, e->host[0], NULL, v, 20), 0);

    struct rows rs = run(s, all_of(e->host[0]));
    assert_int_equal(rs.n, 20);
    for (int i = 0; i < 20; i++) {
        assert_int_equal(rs.v[i].ts, T0 + (19 - i) * 1000);
        assert_true(rs.v[i].value == 19 - i);
        assert_string_equal(rs.v[i].name, (19 - i) % 2 ? "user" : "system");
    }
    rows_free(&rs);

    size_t limits[] = {1, 2, 5, 19, 20, 21};
    for (size_t j = 0; j < sizeof(limits) / sizeof(limits[0]); j++) {
        struct ward_query q = all_of(e->host[0]);
        q.limit = limits[j];
        rs = run(s, q);
        size_t want = limits[j] < 20 ? limits[j] : 20;
        assert_int_equal(rs.n, want);
        for (size_t i = 0; i < want; i++)
            assert_int_equal(rs.v[i].ts, T0 + (int64_t)(19 - i) * 1000);
        rows_free(&rs);
    }

    struct ward_query q = all_of(e->host[0]);
    q.limit = 0;
    rs = run(s, q);
    assert_int_equal(rs.n, 0);
    rows_free(&rs);
    ward_store_close(s);
}

static void test_filters(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    struct ward_sample v[] = {
        gauge("cpu", "usage", "{}", T0 + 1, 1),
        gauge("cpu", "idle", "{}", T0 + 2, 2),
        gauge("ram", "usage", "{}", T0 + 3, 3),
        gauge("disk", "free", "{}", T0 + 4, 4),
    };
    assert_int_equal(ward_store_ingest(s, e->host[0], NULL, v, 4), 0);

    struct {
        const char *category, *name;
        size_t n;
        double values[4];
    } cases[] = {
        {NULL, NULL, 4, {4, 3, 2, 1}}, {"cpu", NULL, 2, {2, 1}}, {NULL, "usage", 2, {3, 1}},
        {"cpu", "usage", 1, {1}},      {"ram", "idle", 0, {0}},  {"net", NULL, 0, {0}},
        {NULL, "nope", 0, {0}},        {"disk", "free", 1, {4}},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ward_query q = all_of(e->host[0]);
        q.category = cases[i].category;
        q.name = cases[i].name;
        struct rows rs = run(s, q);
        assert_int_equal(rs.n, cases[i].n);
        for (size_t j = 0; j < rs.n; j++) {
            assert_true(rs.v[j].value == cases[i].values[j]);
            if (cases[i].category)
                assert_string_equal(rs.v[j].category, cases[i].category);
            if (cases[i].name)
                assert_string_equal(rs.v[j].name, cases[i].name);
        }
        rows_free(&rs);
    }
    ward_store_close(s);
}

static void test_bounds_inclusive(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    put_series(s, e->host[0], "cpu", "usage", 11, 1); /* T0 .. T0 + 10 */

    struct {
        int64_t from, to;
        size_t n;
        int64_t newest;
    } cases[] = {
        {3, 7, 5, 7},    {5, 5, 1, 5},   {0, 10, 11, 10}, {-5, 0, 1, 0},
        {10, 20, 1, 10}, {11, 20, 0, 0}, {-9, -1, 0, 0},  {7, 3, 0, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ward_query q = all_of(e->host[0]);
        q.from_ms = T0 + cases[i].from;
        q.to_ms = T0 + cases[i].to;
        struct rows rs = run(s, q);
        assert_int_equal(rs.n, cases[i].n);
        for (size_t j = 0; j < rs.n; j++)
            assert_int_equal(rs.v[j].ts, T0 + cases[i].newest - (int64_t)j);
        rows_free(&rs);
    }
    ward_store_close(s);
}

static void test_duplicate_batch(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    struct ward_batch_key b = {.boot = 1700000000, .seq = 42};
    struct ward_sample v[] = {
        gauge("cpu", "usage", "{}", T0, 1),
        gauge("cpu", "usage", "{}", T0 + 1000, 2),
    };
    assert_int_equal(ward_store_ingest(s, e->host[0], &b, v, 2), 0);

    /* The same key with other content is still the same batch: nothing is written. */
    struct ward_sample other[] = {
        gauge("cpu", "usage", "{}", T0 + 2000, 3),
        gauge("ram", "usage", "{}", T0 + 2000, 4),
    };
    assert_int_equal(ward_store_ingest(s, e->host[0], &b, other, 2), 1);
    assert_int_equal(ward_store_ingest(s, e->host[0], &b, NULL, 0), 1);
    assert_int_equal(count(s, e->host[0]), 2);

    /* A different seq, boot or host is a different batch. */
    struct ward_batch_key next_seq = {.boot = b.boot, .seq = b.seq + 1};
    struct ward_batch_key next_boot = {.boot = b.boot + 1, .seq = b.seq};
    assert_int_equal(ward_store_ingest(s, e->host[0], &next_seq, &other[0], 1), 0);
    assert_int_equal(ward_store_ingest(s, e->host[0], &next_boot, &other[1], 1), 0);
    assert_int_equal(ward_store_ingest(s, e->host[1], &b, v, 2), 0);
    assert_int_equal(count(s, e->host[0]), 4);
    assert_int_equal(count(s, e->host[1]), 2);

    /* Without a key nothing is deduplicated by batch. */
    struct ward_sample late = gauge("cpu", "usage", "{}", T0 + 5000, 5);
    assert_int_equal(ward_store_ingest(s, e->host[0], NULL, &late, 1), 0);
    assert_int_equal(count(s, e->host[0]), 5);
    ward_store_close(s);
}

static void test_duplicate_sample(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    struct ward_sample first = gauge("cpu", "usage", "{}", T0, 1.0);
    assert_int_equal(ward_store_ingest(s, e->host[0], NULL, &first, 1), 0);

    struct ward_sample v[] = {
        gauge("cpu", "usage", "{}", T0, 2.0),        /* stored before: no-op */
        gauge("cpu", "usage", "{}", T0 + 1000, 3.0), /* new */
        gauge("cpu", "idle", "{}", T0, 4.0),         /* same ts, other series: new */
        gauge("cpu", "usage", "{}", T0 + 1000, 5.0), /* repeated within the call: no-op */
    };
    struct ward_batch_key b = {.boot = 1, .seq = 1};
    assert_int_equal(ward_store_ingest(s, e->host[0], &b, v, 4), 0);

    struct rows rs = run(s, all_of(e->host[0]));
    assert_int_equal(rs.n, 3);
    assert_int_equal(rs.v[0].ts, T0 + 1000);
    assert_true(rs.v[0].value == 3.0);
    /* Equal timestamps: both series are there with their own values. */
    for (size_t i = 1; i < 3; i++) {
        assert_int_equal(rs.v[i].ts, T0);
        if (strcmp(rs.v[i].name, "usage") == 0)
            assert_true(rs.v[i].value == 1.0);
        else
            assert_true(rs.v[i].value == 4.0);
    }
    assert_string_not_equal(rs.v[1].name, rs.v[2].name);
    rows_free(&rs);
    ward_store_close(s);
}

static void test_labels_distinguish_series(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    struct ward_sample v[] = {
        gauge("cpu", "usage", "{\"core\":\"0\"}", T0, 10),
        gauge("cpu", "usage", "{\"core\":\"1\"}", T0, 11), gauge("cpu", "usage", "{}", T0, 12),
        gauge("cpu", "usage", "{\"core\":\"0\"}", T0, 99), /* same series and ts: no-op */
    };
    assert_int_equal(ward_store_ingest(s, e->host[0], NULL, v, 4), 0);

    struct rows rs = run(s, all_of(e->host[0]));
    assert_int_equal(rs.n, 3);
    int seen = 0;
    for (size_t i = 0; i < rs.n; i++) {
        if (strcmp(rs.v[i].labels, "{\"core\":\"0\"}") == 0 && rs.v[i].value == 10)
            seen |= 1;
        else if (strcmp(rs.v[i].labels, "{\"core\":\"1\"}") == 0 && rs.v[i].value == 11)
            seen |= 2;
        else if (strcmp(rs.v[i].labels, "{}") == 0 && rs.v[i].value == 12)
            seen |= 4;
    }
    assert_int_equal(seen, 7);
    rows_free(&rs);
    ward_store_close(s);
}

static void test_kind_preserved(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    struct ward_sample v[] = {
        gauge("net", "rx_bytes", "{\"if\":\"eth0\"}", T0 + 2, 5e9),
        gauge("net", "rx_rate", "{\"if\":\"eth0\"}", T0 + 1, 1e3),
    };
    v[0].kind = WARD_KIND_COUNTER;
    assert_int_equal(ward_store_ingest(s, e->host[0], NULL, v, 2), 0);
    if (e->backend->persistent) {
        ward_store_close(s);
        s = open_ok(e->dsn);
    }
    struct rows rs = run(s, all_of(e->host[0]));
    assert_int_equal(rs.n, 2);
    assert_string_equal(rs.v[0].name, "rx_bytes");
    assert_int_equal(rs.v[0].kind, WARD_KIND_COUNTER);
    assert_string_equal(rs.v[1].name, "rx_rate");
    assert_int_equal(rs.v[1].kind, WARD_KIND_GAUGE);
    rows_free(&rs);
    ward_store_close(s);
}

static void test_hosts_isolated(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    put_series(s, e->host[0], "cpu", "usage", 3, 1000);
    put_series(s, e->host[1], "cpu", "usage", 5, 1000);
    assert_int_equal(count(s, e->host[0]), 3);
    assert_int_equal(count(s, e->host[1]), 5);
    assert_int_equal(count(s, "no-such-host"), 0);
    struct rows rs = run(s, all_of(e->host[1]));
    for (size_t i = 0; i < rs.n; i++)
        assert_string_equal(rs.v[i].host_id, e->host[1]);
    rows_free(&rs);
    ward_store_close(s);
}

/*
 * Many series with distinct, shuffled timestamps, checked row by row against
 * a sort in the test: exercises the merge across series, short and long
 * series, and windows and limits that end inside a series.
 */
enum {
    MERGE_SERIES = 37,
    MERGE_MAX_ROWS = 300
};

struct ref {
    int64_t ts;
    double value;
    int series;
};

static int ref_newest_first(const void *a, const void *b)
{
    const struct ref *x = a, *y = b;
    return x->ts < y->ts ? 1 : x->ts > y->ts ? -1 : 0;
}

static void test_merge_many_series(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    static char labels[MERGE_SERIES][32];
    struct ref *ref = calloc(MERGE_SERIES * MERGE_MAX_ROWS, sizeof(*ref));
    struct ward_sample *v = calloc(MERGE_MAX_ROWS, sizeof(*v));
    assert_non_null(ref);
    assert_non_null(v);
    size_t nref = 0;
    uint32_t seed = 12345;

    for (int k = 0; k < MERGE_SERIES; k++) {
        snprintf(labels[k], sizeof(labels[k]), "{\"i\":\"%02d\"}", k);
        int rows = k == 0 ? 1 : k == 1 ? MERGE_MAX_ROWS : (k * 53) % MERGE_MAX_ROWS;
        for (int i = 0; i < rows; i++) {
            /* Timestamps unique across series: slot i of series k, shuffled per series. */
            seed = seed * 1103515245u + 12345u;
            int64_t ts = T0 + ((int64_t)((i * 7919 + k * 31) % MERGE_MAX_ROWS) * MERGE_SERIES + k);
            double val = (double)(seed >> 8) / 7.0;
            v[i] = gauge("cpu", "usage", labels[k], ts, val);
            ref[nref++] = (struct ref){.ts = ts, .value = val, .series = k};
        }
        assert_int_equal(ward_store_ingest(s, e->host[0], NULL, v, (size_t)rows), 0);
    }
    qsort(ref, nref, sizeof(*ref), ref_newest_first);

    struct {
        int64_t from, to;
        size_t limit;
    } cases[] = {
        {INT64_MIN, INT64_MAX, SIZE_MAX}, {INT64_MIN, INT64_MAX, 1},
        {INT64_MIN, INT64_MAX, 37},       {INT64_MIN, INT64_MAX, 1000},
        {T0 + 500, T0 + 5000, SIZE_MAX},  {T0 + 500, T0 + 5000, 100},
        {T0 + 1234, T0 + 1234, 10},       {T0 + 9000, T0 + 20000, 7},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        struct ward_query q = all_of(e->host[0]);
        q.from_ms = cases[c].from;
        q.to_ms = cases[c].to;
        q.limit = cases[c].limit;
        struct rows rs = run(s, q);
        size_t j = 0;
        for (size_t i = 0; i < nref && j < q.limit; i++) {
            if (ref[i].ts < q.from_ms || ref[i].ts > q.to_ms)
                continue;
            assert_true(j < rs.n);
            assert_int_equal(rs.v[j].ts, ref[i].ts);
            assert_true(rs.v[j].value == ref[i].value);
            assert_string_equal(rs.v[j].labels, labels[ref[i].series]);
            j++;
        }
        assert_int_equal(rs.n, j);
        rows_free(&rs);
    }
    free(ref);
    free(v);
    ward_store_close(s);
}

static void test_callback_stops_query(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    put_series(s, e->host[0], "cpu", "usage", 10, 1000);
    struct ward_query q = all_of(e->host[0]);
    struct rows rs = {.stop_after = 3};
    assert_int_equal(ward_store_query(s, &q, collect, &rs), -42);
    assert_int_equal(rs.n, 3);
    rows_free(&rs);
    /* The store is still usable after an aborted query. */
    assert_int_equal(count(s, e->host[0]), 10);
    ward_store_close(s);
}

static void test_many_samples(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    enum {
        BATCHES = 100,
        PER_BATCH = 1000,
        SERIES = 10
    };
    static const char *const names[SERIES] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"};
    struct ward_sample *v = calloc(PER_BATCH, sizeof(*v));
    assert_non_null(v);

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int b = 0; b < BATCHES; b++) {
        for (int i = 0; i < PER_BATCH; i++) {
            int64_t tick = (int64_t)b * (PER_BATCH / SERIES) + i / SERIES;
            v[i] = gauge("load", names[i % SERIES], "{}", T0 + tick * 1000, b + i * 1e-3);
        }
        struct ward_batch_key key = {.boot = 1, .seq = b};
        assert_int_equal(ward_store_ingest(s, e->host[0], &key, v, PER_BATCH), 0);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    print_message("[ INFO     ] %d samples in batches of %d: %.3f s, %.0f samples/s\n",
                  BATCHES * PER_BATCH, PER_BATCH, secs, BATCHES * PER_BATCH / secs);

    assert_int_equal(count(s, e->host[0]), BATCHES * PER_BATCH);

    struct ward_query q = all_of(e->host[0]);
    q.name = "c";
    q.limit = 250;
    struct rows rs = run(s, q);
    assert_int_equal(rs.n, 250);
    int64_t last = T0 + (int64_t)(BATCHES * PER_BATCH / SERIES - 1) * 1000;
    for (size_t i = 0; i < rs.n; i++)
        assert_int_equal(rs.v[i].ts, last - (int64_t)i * 1000);
    rows_free(&rs);
    free(v);
    ward_store_close(s);
}

/* Four writers and two readers at once; totals and ordering checked at the end. */
enum {
    CONC_WRITERS = 4,
    CONC_READERS = 2,
    CONC_BATCHES = 50,
    CONC_PER_BATCH = 200
};

struct conc {
    struct ward_store *s;
    const char *host;
    atomic_int writers_left;
    atomic_int failures;
    atomic_long queries;
};

struct conc_writer {
    struct conc *c;
    int id;
};

static const char *const conc_names[8] = {"m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7"};

static void *conc_write(void *arg)
{
    struct conc_writer *w = arg;
    struct ward_sample v[CONC_PER_BATCH];
    for (int b = 0; b < CONC_BATCHES; b++) {
        for (int i = 0; i < CONC_PER_BATCH; i++) {
            /* Every writer feeds the same series, at timestamps no other writer uses. */
            int64_t slot = ((int64_t)w->id * CONC_BATCHES + b) * CONC_PER_BATCH + i;
            v[i] = gauge("conc", conc_names[i % 8], "{}", T0 + slot, (double)slot);
        }
        struct ward_batch_key key = {.boot = w->id, .seq = b};
        if (ward_store_ingest(w->c->s, w->c->host, &key, v, CONC_PER_BATCH) != 0)
            atomic_fetch_add(&w->c->failures, 1);
        /* A retry of the previous batch must be recognised even under contention. */
        if (b > 0) {
            key.seq = b - 1;
            if (ward_store_ingest(w->c->s, w->c->host, &key, v, CONC_PER_BATCH) != 1)
                atomic_fetch_add(&w->c->failures, 1);
        }
    }
    atomic_fetch_sub(&w->c->writers_left, 1);
    return NULL;
}

struct conc_check {
    size_t n;
    int64_t prev;
    bool ordered;
};

static int conc_row(const struct ward_sample_row *r, void *userdata)
{
    struct conc_check *k = userdata;
    if (k->n > 0 && r->ts_ms > k->prev)
        k->ordered = false;
    if (r->value != (double)(r->ts_ms - T0))
        k->ordered = false;
    k->prev = r->ts_ms;
    k->n++;
    return 0;
}

static void *conc_read(void *arg)
{
    struct conc *c = arg;
    size_t last = 0;
    do {
        struct ward_query q = all_of(c->host);
        struct conc_check k = {.ordered = true};
        if (ward_store_query(c->s, &q, conc_row, &k) != 0 || !k.ordered)
            atomic_fetch_add(&c->failures, 1);
        /* Each query sees a committed snapshot, and data only grows. */
        if (k.n < last || k.n % CONC_PER_BATCH != 0)
            atomic_fetch_add(&c->failures, 1);
        last = k.n;
        atomic_fetch_add(&c->queries, 1);
    } while (atomic_load(&c->writers_left) > 0);
    return NULL;
}

static void test_concurrent(void **state)
{
    struct store_env *e = *state;
    struct conc c = {.s = open_ok(e->dsn), .host = e->host[0], .writers_left = CONC_WRITERS};
    pthread_t wt[CONC_WRITERS], rt[CONC_READERS];
    struct conc_writer w[CONC_WRITERS];
    for (int i = 0; i < CONC_READERS; i++)
        assert_int_equal(pthread_create(&rt[i], NULL, conc_read, &c), 0);
    for (int i = 0; i < CONC_WRITERS; i++) {
        w[i] = (struct conc_writer){.c = &c, .id = i};
        assert_int_equal(pthread_create(&wt[i], NULL, conc_write, &w[i]), 0);
    }
    for (int i = 0; i < CONC_WRITERS; i++)
        pthread_join(wt[i], NULL);
    for (int i = 0; i < CONC_READERS; i++)
        pthread_join(rt[i], NULL);

    assert_int_equal(atomic_load(&c.failures), 0);
    assert_true(atomic_load(&c.queries) >= CONC_READERS);
    assert_int_equal(count(c.s, e->host[0]), CONC_WRITERS * CONC_BATCHES * CONC_PER_BATCH);
    for (int i = 0; i < 8; i++) {
        struct ward_query q = all_of(e->host[0]);
        q.name = conc_names[i];
        size_t n = 0;
        assert_int_equal(ward_store_query(c.s, &q, count_cb, &n), 0);
        assert_int_equal(n, CONC_WRITERS * CONC_BATCHES * CONC_PER_BATCH / 8);
    }
    ward_store_close(c.s);
}

static void test_unknown_scheme(void **state)
{
    (void)state;
    struct ward_store *s = (struct ward_store *)&s; /* must stay untouched on failure */
    struct ward_store *const before = s;
    assert_int_equal(ward_store_open("mysql://localhost/ward", NULL, &s), WARD_E_NOT_FOUND);
    assert_int_equal(ward_store_open("redis://x", NULL, &s), WARD_E_NOT_FOUND);
    assert_int_equal(ward_store_open("", NULL, &s), -EINVAL);
    assert_int_equal(ward_store_open(NULL, NULL, &s), -EINVAL);
    assert_ptr_equal(s, before);
}

static void test_bad_dsn(void **state)
{
    struct store_env *e = *state;
    if (e->bad_dsn[0] == '\0')
        skip();
    struct ward_store *s = NULL;
    int r = ward_store_open(e->bad_dsn, NULL, &s);
    assert_true(r < 0);
    if (e->bad_err)
        assert_int_equal(r, e->bad_err);
    assert_null(s);
}

static void test_invalid_arguments(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    struct ward_sample ok = gauge("cpu", "usage", "{}", T0, 1);
    struct ward_sample bad[4] = {ok, ok, ok, ok};
    bad[0].category = NULL;
    bad[1].name = "";
    bad[2].labels = NULL;
    bad[3].kind = (enum ward_metric_kind)7;
    assert_int_equal(ward_store_ingest(s, NULL, NULL, &ok, 1), -EINVAL);
    assert_int_equal(ward_store_ingest(s, "", NULL, &ok, 1), -EINVAL);
    assert_int_equal(ward_store_ingest(s, e->host[0], NULL, NULL, 1), -EINVAL);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(ward_store_ingest(s, e->host[0], NULL, &bad[i], 1), -EINVAL);
    assert_int_equal(ward_store_ingest(NULL, e->host[0], NULL, &ok, 1), -EINVAL);
    assert_int_equal(count(s, e->host[0]), 0);

    struct ward_query q = all_of(NULL);
    size_t n = 0;
    assert_int_equal(ward_store_query(s, &q, count_cb, &n), -EINVAL);
    q.host_id = e->host[0];
    assert_int_equal(ward_store_query(s, &q, NULL, NULL), -EINVAL);
    assert_int_equal(ward_store_query(s, NULL, count_cb, &n), -EINVAL);
    assert_int_equal(n, 0);
    ward_store_close(s);
}

static void test_non_finite(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    const double bad[] = {NAN, INFINITY, -INFINITY};
    struct ward_batch_key key = {.boot = 3, .seq = 9};
    for (size_t i = 0; i < 3; i++) {
        struct ward_sample v[] = {
            gauge("cpu", "usage", "{}", T0, 1),
            gauge("cpu", "usage", "{}", T0 + 1000, bad[i]),
            gauge("cpu", "usage", "{}", T0 + 2000, 3),
        };
        assert_int_equal(ward_store_ingest(s, e->host[0], &key, v, 3), -EINVAL);
        assert_int_equal(count(s, e->host[0]), 0);
    }
    /* The refused call recorded nothing, not even its batch key. */
    struct ward_sample v = gauge("cpu", "usage", "{}", T0, 1);
    assert_int_equal(ward_store_ingest(s, e->host[0], &key, &v, 1), 0);
    assert_int_equal(count(s, e->host[0]), 1);
    ward_store_close(s);
}

/*
 * A query keeps one snapshot, and a write commits while a query is running.
 * The callback starts a writer that adds older samples between the ones not
 * yet returned, and waits for it with a timeout: a backend whose queries
 * block writes times out, one without a snapshot returns the new samples.
 */
struct snap {
    struct ward_store *s;
    const char *host;
    size_t rows;
    bool odd_seen;
    int write_result;
    int wait_result;
    pthread_t writer;
    bool started;
};

static void *snap_write(void *arg)
{
    struct snap *k = arg;
    struct ward_sample v[20];
    for (int i = 0; i < 20; i++)
        v[i] = gauge("cpu", "usage", "{}", T0 + 2 * i + 1, -1);
    k->write_result = ward_store_ingest(k->s, k->host, NULL, v, 20);
    return NULL;
}

static int snap_row(const struct ward_sample_row *r, void *userdata)
{
    struct snap *k = userdata;
    if ((r->ts_ms - T0) % 2 != 0)
        k->odd_seen = true;
    if (k->rows++ == 0) {
        if (pthread_create(&k->writer, NULL, snap_write, k) != 0)
            return -EAGAIN;
        k->started = true;
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += 5;
        k->wait_result = pthread_timedjoin_np(k->writer, NULL, &deadline);
    }
    return 0;
}

static void test_query_snapshot_during_write(void **state)
{
    struct store_env *e = *state;
    if (!e->backend->concurrent)
        skip();
    struct ward_store *s = open_ok(e->dsn);
    struct ward_sample v[41];
    for (int i = 0; i < 40; i++)
        v[i] = gauge("cpu", "usage", "{}", T0 + 2 * i, i); /* even offsets only */
    v[40] = gauge("cpu", "idle", "{}", T0 - 2, 0);
    assert_int_equal(ward_store_ingest(s, e->host[0], NULL, v, 41), 0);

    /* Most rows come from one of two series, so a backend may read it in pieces. */
    struct snap k = {.s = s, .host = e->host[0]};
    struct ward_query q = all_of(e->host[0]);
    q.limit = 30;
    int r = ward_store_query(s, &q, snap_row, &k);
    /* A writer that timed out can finish only now that the query is over. */
    if (k.started && k.wait_result != 0)
        pthread_join(k.writer, NULL);
    assert_int_equal(r, 0);
    assert_true(k.started);
    assert_int_equal(k.wait_result, 0);
    assert_int_equal(k.write_result, 0);
    assert_false(k.odd_seen);
    assert_int_equal(k.rows, 30);
    assert_int_equal(count(s, e->host[0]), 61);
    ward_store_close(s);
}

int main(void)
{
    const struct CMUnitTest ingest_tests[] = {
        T(test_open_close_reopen),
        T(test_round_trip),
        T(test_newest_first_and_limit),
        T(test_filters),
        T(test_bounds_inclusive),
        T(test_duplicate_batch),
        T(test_duplicate_sample),
        T(test_labels_distinguish_series),
        T(test_kind_preserved),
        T(test_hosts_isolated),
        T(test_merge_many_series),
        T(test_callback_stops_query),
        T(test_many_samples),
        T(test_concurrent),
        T(test_query_snapshot_during_write),
        T(test_unknown_scheme),
        T(test_bad_dsn),
        T(test_invalid_arguments),
        T(test_non_finite),
    };
    size_t n_ingest = sizeof(ingest_tests) / sizeof(ingest_tests[0]);
    const struct {
        const struct CMUnitTest *v;
        size_t n;
    } parts[] = {
        {ingest_tests, n_ingest},
        {store_method_tests, store_method_tests_count},
        {store_read_tests, store_read_tests_count},
        {store_registry_tests, store_registry_tests_count},
        {store_command_tests, store_command_tests_count},
    };
    size_t n = 0;
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
        n += parts[i].n;
    struct CMUnitTest *all = calloc(n, sizeof(*all));
    if (!all)
        return 1;
    for (size_t i = 0, at = 0; i < sizeof(parts) / sizeof(parts[0]); at += parts[i].n, i++)
        memcpy(all + at, parts[i].v, parts[i].n * sizeof(*all));

    const struct store_backend *backends[3] = {&store_sqlite_memory, &store_sqlite_file};
    size_t nbackends = 2;
    if (getenv("WARD_TEST_STORE_DSN") && getenv("WARD_TEST_STORE_DSN")[0])
        backends[nbackends++] = &store_external;
    else
        print_message("[ SKIPPED  ] external backend: WARD_TEST_STORE_DSN is not set. Set it to a"
                      " DSN (such as postgres://...) of a database used only by this suite to run"
                      " the conformance suite against that backend as well.\n");

    int failed = 0;
    for (size_t i = 0; i < nbackends; i++) {
        store_current = backends[i];
        failed += _cmocka_run_group_tests(store_current->name, all, n, NULL, NULL);
    }
    free(all);
    return failed ? 1 : 0;
}
