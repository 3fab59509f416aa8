/*
 * Tests of the SQLite store's head: samples acknowledged into head_log and
 * memory, and moved into the samples table by a flush.
 *
 * Each test checks through the store interface what readers see (query,
 * read, latest) and, with a connection of its own on the database file,
 * where the samples are: head_log before a flush, samples after. The flush
 * limit is set with the backend's own setter; a limit of 0 makes the next
 * group write flush. A crash is a child process that writes and exits
 * without closing the store.
 */
#include "test-store.h"

#include "common/error.h"
#include "server/store/store-sqlite.h"
#include "server/store/store.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static sqlite3 *raw_open(const struct store_env *e)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/ward.db", e->dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_busy_timeout(db, 5000), SQLITE_OK);
    return db;
}

static int64_t raw_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void raw_exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("%s: %s", sql, err ? err : "?");
}

/* Rows of head_log and of samples, counted on a connection of the test's own. */
static void where(const struct store_env *e, int64_t head, int64_t stored)
{
    sqlite3 *db = raw_open(e);
    assert_int_equal(raw_int(db, "SELECT count(*) FROM head_log"), head);
    assert_int_equal(raw_int(db, "SELECT count(*) FROM samples"), stored);
    sqlite3_close(db);
}

static void put(struct ward_store *s, const char *host, const char *name, int64_t ts, double v)
{
    struct ward_sample x = gauge("cpu", name, "{}", ts, v);
    assert_int_equal(ward_store_ingest(s, host, NULL, &x, 1), 0);
}

/*
 * With the limit at 0 any group write starts a sweep, which moves a small
 * head in one step; the next write clears head_log. These add nothing.
 */
static void flush(struct ward_store *s, const char *host)
{
    ward_sqlite_set_head_limit(s, 0);
    assert_int_equal(ward_store_ingest(s, host, NULL, NULL, 0), 0);
    assert_int_equal(ward_store_ingest(s, host, NULL, NULL, 0), 0);
    ward_sqlite_set_head_limit(s, HEAD_LIMIT_DEFAULT);
}

/* The points of one series by ward_store_read(), oldest first. */
struct points {
    int64_t ts[64];
    double v[64];
    size_t n;
};

static int collect_point(size_t index, int64_t ts, double value, void *userdata)
{
    struct points *p = userdata;
    assert_int_equal(index, 0);
    assert_true(p->n < 64);
    p->ts[p->n] = ts;
    p->v[p->n++] = value;
    return 0;
}

static struct points read_all(struct ward_store *s, const char *host, const char *name)
{
    int64_t id = series_id_of(s, host, "cpu", name, "{}");
    struct points p = {.n = 0};
    assert_int_equal(ward_store_read(s, &id, 1, INT64_MIN, INT64_MAX, collect_point, &p), 0);
    return p;
}

struct newest {
    const char *name;
    int64_t ts;
    double v;
    int seen;
};

static int find_newest(const struct ward_series_row *row, int64_t ts, double value, void *userdata)
{
    struct newest *k = userdata;
    if (strcmp(row->name, k->name) == 0) {
        k->ts = ts;
        k->v = value;
        k->seen++;
    }
    return 0;
}

static struct newest latest_of_name(struct ward_store *s, const char *name)
{
    struct newest k = {.name = name};
    assert_int_equal(ward_store_latest(s, find_newest, &k), 0);
    return k;
}

/* The samples of series a and b in the test's usual layout, checked by every reader. */
static void check_ab(struct ward_store *s, const struct store_env *e)
{
    /* Query: newest first across both series, ties in series order. */
    struct rows rs = run(s, all_of(e->host[0]));
    assert_int_equal(rs.n, 8);
    static const int64_t ts[8] = {7, 6, 5, 4, 3, 2, 1, 0};
    for (size_t i = 0; i < 8; i++) {
        assert_int_equal(rs.v[i].ts, T0 + ts[i]);
        assert_true(rs.v[i].value == (double)ts[i]);
        assert_string_equal(rs.v[i].name, ts[i] % 2 ? "b" : "a");
    }
    rows_free(&rs);
    /* A limit cuts the merge short. */
    struct ward_query q = all_of(e->host[0]);
    q.limit = 3;
    rs = run(s, q);
    assert_int_equal(rs.n, 3);
    assert_int_equal(rs.v[2].ts, T0 + 5);
    rows_free(&rs);

    struct points p = read_all(s, e->host[0], "a");
    assert_int_equal(p.n, 4);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(p.ts[i], T0 + 2 * (int64_t)i);
    struct newest k = latest_of_name(s, "b");
    assert_int_equal(k.seen, 1);
    assert_int_equal(k.ts, T0 + 7);
}

static void put_ab(struct ward_store *s, const struct store_env *e)
{
    for (int i = 0; i < 8; i++)
        put(s, e->host[0], i % 2 ? "b" : "a", T0 + i, i);
}

static void test_head_reads_unflushed(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    put_ab(s, e);
    where(e, 8, 0);
    check_ab(s, e);
    ward_store_close(s);
    /* A close flushes. */
    where(e, 0, 8);
}

static void test_head_survives_crash(void **state)
{
    struct store_env *e = *state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct ward_store *s = NULL;
        if (ward_store_open(e->dsn, NULL, &s) < 0)
            _exit(1);
        for (int i = 0; i < 8; i++) {
            struct ward_sample x = gauge("cpu", i % 2 ? "b" : "a", "{}", T0 + i, i);
            if (ward_store_ingest(s, e->host[0], NULL, &x, 1) != 0)
                _exit(2);
        }
        /* No close: the head is in head_log only. */
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    where(e, 8, 0);

    struct ward_store *s = open_ok(e->dsn);
    check_ab(s, e);
    /* What the head holds after loading is no-op when written again. */
    put(s, e->host[0], "a", T0 + 2, 99);
    struct points p = read_all(s, e->host[0], "a");
    assert_int_equal(p.n, 4);
    assert_true(p.v[1] == 2);
    ward_store_close(s);
    where(e, 0, 8);
}

static void test_head_flush_keeps_reads(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    put_ab(s, e);
    flush(s, e->host[0]);
    where(e, 0, 8);
    check_ab(s, e);

    /* Half in samples, half in the head, interleaved in time. */
    put(s, e->host[0], "c", T0 + 10, 10);
    put(s, e->host[0], "c", T0 + 12, 12);
    flush(s, e->host[0]);
    put(s, e->host[0], "c", T0 + 11, 11);
    put(s, e->host[0], "c", T0 + 13, 13);
    where(e, 2, 10);
    struct points p = read_all(s, e->host[0], "c");
    assert_int_equal(p.n, 4);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(p.ts[i], T0 + 10 + (int64_t)i);
    struct ward_query q = all_of(e->host[0]);
    q.name = "c";
    struct rows rs = run(s, q);
    assert_int_equal(rs.n, 4);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(rs.v[i].ts, T0 + 13 - (int64_t)i);
    rows_free(&rs);
    assert_int_equal(latest_of_name(s, "c").ts, T0 + 13);

    /* A late point in the head is older than the stored newest: latest keeps the stored one. */
    flush(s, e->host[0]);
    put(s, e->host[0], "c", T0 + 9, 9);
    where(e, 1, 12);
    assert_int_equal(latest_of_name(s, "c").ts, T0 + 13);
    assert_int_equal(read_all(s, e->host[0], "c").ts[0], T0 + 9);

    /* A flush over the limit, by the group write that crosses it; the next one clears head_log. */
    ward_sqlite_set_head_limit(s, 3);
    put(s, e->host[0], "d", T0, 1);
    put(s, e->host[0], "d", T0 + 1, 1);
    where(e, 3, 12);
    put(s, e->host[0], "d", T0 + 2, 1);
    where(e, 4, 16);
    assert_int_equal(ward_store_ingest(s, e->host[0], NULL, NULL, 0), 0);
    where(e, 0, 16);
    assert_int_equal(read_all(s, e->host[0], "d").n, 3);
    ward_store_close(s);
}

static void test_head_duplicates(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    for (int i = 0; i < 4; i++)
        put(s, e->host[0], "x", T0 + 10 * i, i);
    flush(s, e->host[0]);

    /* Against samples: a stored ts (older and newest) is a no-op, a gap in between is new. */
    struct ward_sample v[] = {
        gauge("cpu", "x", "{}", T0 + 10, 100), gauge("cpu", "x", "{}", T0 + 30, 300),
        gauge("cpu", "x", "{}", T0 + 15, 150), gauge("cpu", "x", "{}", T0 + 40, 4),
        gauge("cpu", "x", "{}", T0 + 40, 400), /* repeated in one batch: the first stays */
    };
    assert_int_equal(ward_store_ingest(s, e->host[0], NULL, v, 5), 0);
    where(e, 2, 4);

    /* Against the head, and across two batches of one group. */
    struct ward_sample again = gauge("cpu", "x", "{}", T0 + 40, 401);
    struct ward_sample y1 = gauge("cpu", "x", "{}", T0 + 50, 5);
    struct ward_sample y2 = gauge("cpu", "x", "{}", T0 + 50, 500);
    struct ward_write w[] = {
        {.host_id = e->host[0], .samples = &again, .n = 1},
        {.host_id = e->host[0], .samples = &y1, .n = 1},
        {.host_id = e->host[0], .samples = &y2, .n = 1},
    };
    assert_int_equal(ward_store_write(s, w, 3), 0);
    assert_int_equal(w[0].result, 0);
    assert_int_equal(w[2].result, 0);
    where(e, 3, 4);

    static const int64_t ts[] = {0, 10, 15, 20, 30, 40, 50};
    static const double val[] = {0, 1, 150, 2, 3, 4, 5};
    struct points p = read_all(s, e->host[0], "x");
    assert_int_equal(p.n, 7);
    for (size_t i = 0; i < 7; i++) {
        assert_int_equal(p.ts[i], T0 + ts[i]);
        assert_true(p.v[i] == val[i]);
    }
    /* And after a flush, the same. */
    flush(s, e->host[0]);
    where(e, 0, 7);
    p = read_all(s, e->host[0], "x");
    assert_int_equal(p.n, 7);
    for (size_t i = 0; i < 7; i++)
        assert_true(p.v[i] == val[i]);
    ward_store_close(s);
}

/*
 * A batch that fails alone, and a group that SQLite rolls back whole
 * (RAISE(ROLLBACK) in a trigger), leave the head as it was: readers see
 * nothing of them, and their samples are new when written again.
 */
static void test_head_rollback(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    put(s, e->host[0], "r", T0, 0);
    sqlite3 *db = raw_open(e);
    raw_exec(db, "CREATE TRIGGER fail_batch BEFORE INSERT ON head_log"
                 " WHEN NEW.value = 666 BEGIN SELECT RAISE(ABORT, 'injected'); END;"
                 "CREATE TRIGGER fail_group BEFORE INSERT ON head_log"
                 " WHEN NEW.value = 777 BEGIN SELECT RAISE(ROLLBACK, 'injected'); END;");

    struct ward_sample good = gauge("cpu", "r", "{}", T0 + 1, 1);
    struct ward_sample bad[] = {gauge("cpu", "r", "{}", T0 + 2, 2),
                                gauge("cpu", "r", "{}", T0 + 3, 666)};
    struct ward_write w[] = {
        {.host_id = e->host[0], .samples = &good, .n = 1},
        {.host_id = e->host[0], .samples = bad, .n = 2},
    };
    assert_int_equal(ward_store_write(s, w, 2), 0);
    assert_int_equal(w[0].result, 0);
    assert_int_equal(w[1].result, WARD_E_STORE);
    assert_int_equal(read_all(s, e->host[0], "r").n, 2);

    struct ward_sample more = gauge("cpu", "r", "{}", T0 + 4, 4);
    struct ward_sample doomed[] = {gauge("cpu", "r", "{}", T0 + 5, 5),
                                   gauge("cpu", "r", "{}", T0 + 6, 777)};
    struct ward_write g[] = {
        {.host_id = e->host[0], .samples = &more, .n = 1},
        {.host_id = e->host[0], .samples = doomed, .n = 2},
    };
    assert_true(ward_store_write(s, g, 2) < 0);
    assert_true(g[0].result < 0 && g[1].result < 0);
    struct points p = read_all(s, e->host[0], "r");
    assert_int_equal(p.n, 2);
    assert_int_equal(p.ts[1], T0 + 1);
    assert_int_equal(latest_of_name(s, "r").ts, T0 + 1);
    assert_int_equal(count(s, e->host[0]), 2);
    where(e, 2, 0);

    /* Written again without the failing values, every sample is new. */
    raw_exec(db, "DROP TRIGGER fail_batch; DROP TRIGGER fail_group");
    bad[1].value = 3;
    doomed[1].value = 6;
    assert_int_equal(ward_store_ingest(s, e->host[0], NULL, bad, 2), 0);
    assert_int_equal(ward_store_write(s, g, 2), 0);
    p = read_all(s, e->host[0], "r");
    assert_int_equal(p.n, 7);
    for (size_t i = 0; i < 7; i++)
        assert_true(p.v[i] == (double)i);
    sqlite3_close(db);
    ward_store_close(s);
    where(e, 0, 7);
}

/*
 * A catch-up run (many points of one series in a batch) goes to the samples
 * table at once; a repeat of one of its points later in the group, or in a
 * later group, is still a no-op, and after a rolled-back group the same
 * run is stored in full.
 */
static void test_head_catch_up(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    struct ward_sample run_v[100], few[2];
    for (int i = 0; i < 100; i++)
        run_v[i] = gauge("cpu", "run", "{}", T0 + i, i);
    for (int i = 0; i < 2; i++)
        few[i] = gauge("cpu", "few", "{}", T0 + i, i);
    struct ward_sample repeat = gauge("cpu", "run", "{}", T0 + 50, 5000);
    struct ward_write w[] = {
        {.host_id = e->host[0], .samples = run_v, .n = 100},
        {.host_id = e->host[0], .samples = few, .n = 2},
        {.host_id = e->host[0], .samples = &repeat, .n = 1},
    };
    assert_int_equal(ward_store_write(s, w, 3), 0);
    where(e, 2, 100);
    assert_int_equal(count(s, e->host[0]), 102);
    put(s, e->host[0], "run", T0 + 99, 9900);
    where(e, 2, 100);
    struct ward_query q = all_of(e->host[0]);
    q.name = "run";
    struct rows rs = run(s, q);
    assert_int_equal(rs.n, 100);
    assert_true(rs.v[0].value == 99 && rs.v[49].value == 50);
    rows_free(&rs);

    /* A group that SQLite rolls back whole, with a run in it. */
    sqlite3 *db = raw_open(e);
    raw_exec(db, "CREATE TRIGGER fail_group BEFORE INSERT ON head_log"
                 " WHEN NEW.value = 777 BEGIN SELECT RAISE(ROLLBACK, 'injected'); END;");
    for (int i = 0; i < 100; i++)
        run_v[i] = gauge("cpu", "later", "{}", T0 + i, i);
    few[0] = gauge("cpu", "few", "{}", T0 + 5, 777);
    struct ward_write g[] = {
        {.host_id = e->host[0], .samples = run_v, .n = 100},
        {.host_id = e->host[0], .samples = few, .n = 1},
    };
    assert_true(ward_store_write(s, g, 2) < 0);
    where(e, 2, 100);
    raw_exec(db, "DROP TRIGGER fail_group");
    sqlite3_close(db);
    few[0].value = 5;
    assert_int_equal(ward_store_write(s, g, 2), 0);
    where(e, 3, 200);
    assert_int_equal(count(s, e->host[0]), 203);
    ward_store_close(s);
}

/* Retention reaches samples still in the head: prune flushes them first when they are old. */
static void test_head_prune(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    for (int i = 0; i < 5; i++)
        put(s, e->host[0], "p", T0 + i, i);
    size_t deleted = 99;
    /* Nothing older than T0: the head stays. */
    assert_int_equal(ward_store_prune(s, T0, 100, &deleted), 0);
    assert_int_equal(deleted, 0);
    where(e, 5, 0);
    assert_int_equal(ward_store_prune(s, T0 + 3, 100, &deleted), 0);
    assert_int_equal(deleted, 3);
    where(e, 0, 2);
    assert_int_equal(read_all(s, e->host[0], "p").n, 2);
    ward_store_close(s);
}

/*
 * The incremental flush: a head over its limit moves a few series per group
 * write, in id order, while reads see every point all along; the step that
 * reaches the last series clears the head_log rows from before the sweep,
 * and what stays of later ones is a harmless duplicate after a crash.
 */
static void test_head_sweeps_in_steps(void **state)
{
    struct store_env *e = *state;
    struct ward_store *s = open_ok(e->dsn);
    ward_sqlite_set_head_limit(s, 3);
    ward_sqlite_set_head_step(s, 2);
    put(s, e->host[0], "a", T0, 1);
    put(s, e->host[0], "a", T0 + 1, 2);
    put(s, e->host[0], "b", T0, 3);
    where(e, 3, 0);
    /* Over the limit: the sweep moves a (2 points, the step) and stops. */
    put(s, e->host[0], "b", T0 + 1, 4);
    where(e, 4, 2);
    assert_int_equal(read_all(s, e->host[0], "a").n, 2);
    assert_int_equal(read_all(s, e->host[0], "b").n, 2);
    /* The next group moves b; c, new since, is the last series, so the one after ends it. */
    put(s, e->host[0], "c", T0, 5);
    where(e, 5, 4);
    put(s, e->host[0], "c", T0 + 1, 6);
    where(e, 6, 6);
    /* Then the head_log rows from the sweep's start go, two (the step) at a time... */
    put(s, e->host[0], "d", T0, 7);
    where(e, 5, 6);
    put(s, e->host[0], "d", T0 + 1, 8);
    /* ... and c's, written during the sweep and moved by it, stay as duplicates. */
    where(e, 4, 6);
    struct points c = read_all(s, e->host[0], "c");
    assert_int_equal(c.n, 2);
    assert_true(c.v[0] == 5 && c.v[1] == 6);
    assert_int_equal(read_all(s, e->host[0], "d").n, 2);
    assert_int_equal(latest_of_name(s, "b").ts, T0 + 1);
    /* Written again, a moved point stays a no-op. */
    put(s, e->host[0], "a", T0, 99);
    assert_true(read_all(s, e->host[0], "a").v[0] == 1);
    where(e, 4, 6);
    /* A close flushes everything, duplicates included. */
    ward_store_close(s);
    where(e, 0, 8);
    s = open_ok(e->dsn);
    assert_int_equal(read_all(s, e->host[0], "c").n, 2);
    assert_int_equal(read_all(s, e->host[0], "d").n, 2);
    ward_store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_head_reads_unflushed), T(test_head_survives_crash),  T(test_head_flush_keeps_reads),
        T(test_head_duplicates),      T(test_head_rollback),        T(test_head_catch_up),
        T(test_head_prune),           T(test_head_sweeps_in_steps),
    };
    store_current = &store_sqlite_file;
    return cmocka_run_group_tests_name("sqlite-head", tests, NULL, NULL);
}
