/*
 * Group writes and retention of the SQLite store, on the writer connection.
 *
 * A group write stores many batches in one transaction, so they share one
 * commit (the expensive part: every page the group changed goes to the WAL
 * once, and with synchronous FULL one fsync). Each batch must still succeed
 * or fail on its own. A savepoint per batch would give that, but SQLite
 * copies every page a savepoint's statements change into its sub-journal
 * before the first change, which cost 5 to 10% of a group's CPU time in
 * bench-store. So a group is written optimistically, without savepoints;
 * only when a batch fails with an error that does not doom the whole group
 * is the transaction rolled back and the group written again with a
 * savepoint per batch, which undoes just the failing ones. Errors are rare
 * (store.c has refused bad input already), so the common path pays nothing
 * for them.
 *
 * A batch: record its key (a conflict means a retry of a stored batch:
 * result 1, nothing written), upsert the host, then its samples. The series
 * id of every sample comes from the cache (store-sqlite-cache.c), or for a
 * series not seen before from a SELECT on the series table's UNIQUE index,
 * and an INSERT when there is none. The samples are then sorted by (series,
 * ts), stably so that the first of two equal samples is the one kept, and
 * those already stored are dropped (store-sqlite-head.c). A series with
 * DIRECT_RUN new samples or more (a catch-up) has them inserted into the
 * samples table at once; the rest are appended to head_log and reach the
 * samples table when the head is flushed, which a group starts after its
 * commit when the head is over its limit. Inserts take 64 rows per
 * statement: a multi-row statement pays the cost of a statement (reset,
 * binding, opening its cursor) once per 64 rows. Into the samples table
 * they go in (series, ts) order, so consecutive rows land in the same
 * B-tree leaf.
 *
 * The head learns of a group's samples only after COMMIT, and forgets them
 * on a rollback, so what readers see of it is always committed. A group's
 * flush runs before the call returns, in a transaction of its own: the
 * group is acknowledged either way, and a flush that fails is tried again
 * after the next group.
 *
 * A rollback removes the series it undid, so the cache must forget them.
 * SQLite numbers a new series one above the largest id, so those are
 * exactly the ids above the largest one before the rollback's scope began
 * (series_max at that point).
 *
 * Retention deletes samples older than a bound, series by series along the
 * primary key, with at most max_rows rows and PRUNE_MAX_SERIES series per
 * call so that ingest never waits long for it; a cursor (prune_after)
 * carries the sweep over to the next call. Samples still in the head are
 * not in the samples table; a call whose bound is above the oldest of them
 * flushes the head first, which recent bounds (the usual case: retention
 * keeps days, the head a few seconds) never need.
 */
#include "common/error.h"
#include "server/store/store-sqlite.h"
#include "server/store/store.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

/* Series visited by one prune call at most, and fetched per statement. */
#define PRUNE_MAX_SERIES 4096
#define PRUNE_CHUNK      256

/*
 * A series with this many new samples in one batch (a catch-up after an
 * outage) has them inserted into samples directly: they fill leaf pages of
 * their own, so the head would only write them twice.
 */
#define DIRECT_RUN 64

/* A failed batch that calls for a second pass with savepoints. */
#define RETRY_WITH_SAVEPOINTS 2

void ward_sqlite_write_done(struct sqlite_store *s)
{
    free(s->rows);
    free(s->rows_tmp);
    s->rows = s->rows_tmp = NULL;
    s->rows_cap = 0;
}

static int rows_reserve(struct sqlite_store *s, size_t n)
{
    if (n <= s->rows_cap)
        return 0;
    size_t cap = s->rows_cap ? s->rows_cap : 1024;
    while (cap < n)
        cap = cap > SIZE_MAX / 2 ? n : 2 * cap;
    struct sample_row *a = reallocarray(s->rows, cap, sizeof(*a));
    if (a == NULL)
        return -ENOMEM;
    s->rows = a;
    struct sample_row *b = reallocarray(s->rows_tmp, cap, sizeof(*b));
    if (b == NULL)
        return -ENOMEM;
    s->rows_tmp = b;
    s->rows_cap = cap;
    return 0;
}

/* ---- Sorting: a stable natural merge sort ---- */

static bool row_less(const struct sample_row *x, const struct sample_row *y)
{
    return x->id < y->id || (x->id == y->id && x->ts < y->ts);
}

/* End of the non-decreasing run that starts at lo. */
static size_t run_end(const struct sample_row *a, size_t lo, size_t n)
{
    size_t i = lo + 1;
    while (i < n && !row_less(&a[i], &a[i - 1]))
        i++;
    return i < n ? i : n;
}

/* Merges a[lo, mid) and a[mid, hi) into out[lo, hi); on ties the left one goes first. */
static void merge(const struct sample_row *a, struct sample_row *out, size_t lo, size_t mid,
                  size_t hi)
{
    size_t i = lo, j = mid, k = lo;
    while (i < mid && j < hi)
        out[k++] = row_less(&a[j], &a[i]) ? a[j++] : a[i++];
    while (i < mid)
        out[k++] = a[i++];
    while (j < hi)
        out[k++] = a[j++];
}

/*
 * Sorts the n rows of a, using b (as large) for scratch, and returns the one
 * that holds the result. An agent's batch is a few collections, each listing
 * its series in the same order, so it is a few sorted runs: merging runs
 * costs n per halving of their number, and a sorted batch costs one scan.
 */
static struct sample_row *sort_rows(struct sample_row *a, struct sample_row *b, size_t n)
{
    while (n > 0 && run_end(a, 0, n) < n) {
        for (size_t lo = 0; lo < n;) {
            size_t mid = run_end(a, lo, n);
            size_t hi = mid < n ? run_end(a, mid, n) : n;
            merge(a, b, lo, mid, hi);
            lo = hi;
        }
        struct sample_row *t = a;
        a = b;
        b = t;
    }
    return a;
}

/* ---- One batch ---- */

static int batch_record(struct conn *c, const char *host, const struct ward_batch_key *batch,
                        int64_t now)
{
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r = ward_sqlite_stmt_get(c, ST_BATCH_INSERT, &st);
    if (r < 0)
        return r;
    int rc = ward_sqlite_bind_text(st, 1, host);
    rc = rc ?: sqlite3_bind_int64(st, 2, batch->boot);
    rc = rc ?: sqlite3_bind_int64(st, 3, batch->seq);
    rc = rc ?: sqlite3_bind_int64(st, 4, now);
    r = ward_sqlite_bind_rc(c, rc);
    if (r < 0)
        return r;
    r = ward_sqlite_step_done(c, st);
    if (r < 0)
        return r;
    return sqlite3_changes(c->db) == 0 ? 1 : 0;
}

static int host_touch(struct conn *c, const char *host, int64_t now)
{
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r = ward_sqlite_stmt_get(c, ST_HOST_TOUCH, &st);
    if (r < 0)
        return r;
    int rc = ward_sqlite_bind_text(st, 1, host);
    rc = rc ?: sqlite3_bind_int64(st, 2, now);
    r = ward_sqlite_bind_rc(c, rc);
    if (r < 0)
        return r;
    return ward_sqlite_step_done(c, st);
}

/* Binds host, category, name and labels to parameters 1 to 4 of st. */
static int bind_series(struct conn *c, sqlite3_stmt *st, const char *host,
                       const struct ward_sample *x)
{
    int rc = ward_sqlite_bind_text(st, 1, host);
    rc = rc ?: ward_sqlite_bind_text(st, 2, x->category);
    rc = rc ?: ward_sqlite_bind_text(st, 3, x->name);
    rc = rc ?: ward_sqlite_bind_text(st, 4, x->labels);
    return ward_sqlite_bind_rc(c, rc);
}

/* Finds the series of x in the database. Returns 1 and sets *id, 0 when absent, or an error. */
static int series_lookup(struct conn *c, const char *host, const struct ward_sample *x, int64_t *id)
{
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r = ward_sqlite_stmt_get(c, ST_SERIES_SELECT, &st);
    if (r < 0)
        return r;
    r = bind_series(c, st, host, x);
    if (r < 0)
        return r;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(st, 0);
        return 1;
    }
    return rc == SQLITE_DONE ? 0 : ward_sqlite_rc(c->db, rc);
}

static int series_create(struct sqlite_store *s, const char *host, const struct ward_sample *x,
                         int64_t *id)
{
    struct conn *c = &s->writer;
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r = ward_sqlite_stmt_get(c, ST_SERIES_INSERT, &st);
    if (r < 0)
        return r;
    r = bind_series(c, st, host, x);
    if (r == 0)
        r = ward_sqlite_bind_rc(c, sqlite3_bind_int(st, 5, (int)x->kind));
    if (r == 0)
        r = ward_sqlite_step_done(c, st);
    if (r < 0)
        return r;
    *id = sqlite3_last_insert_rowid(c->db);
    if (*id > s->series_max)
        s->series_max = *id;
    ward_sqlite_head_series_new(s, *id);
    return 0;
}

/* Finds or creates the series of x. The first kind written for a series stays. */
static int series_id(struct sqlite_store *s, struct series_key *k, const struct ward_sample *x,
                     int64_t *id)
{
    ward_sqlite_cache_key_series(k, x->category, x->name, x->labels);
    if (ward_sqlite_cache_find(&s->cache, k, id))
        return 0;
    int r = series_lookup(&s->writer, k->part[0], x, id);
    if (r == 0)
        r = series_create(s, k->part[0], x, id);
    if (r < 0)
        return r;
    ward_sqlite_cache_put(&s->cache, k, *id);
    return 0;
}

int ward_sqlite_insert_rows(struct conn *c, enum stmt_id first, const struct sample_row *v,
                            size_t n)
{
    while (n > 0) {
        enum stmt_id id = first;
        size_t k = 1;
        if (n >= SAMPLE_INSERT_WIDE) {
            id = first + 2;
            k = SAMPLE_INSERT_WIDE;
        } else if (n >= SAMPLE_INSERT_NARROW) {
            id = first + 1;
            k = SAMPLE_INSERT_NARROW;
        }
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int r = ward_sqlite_stmt_get(c, id, &st);
        if (r < 0)
            return r;
        int rc = SQLITE_OK;
        for (size_t i = 0; i < k && rc == SQLITE_OK; i++) {
            int p = (int)(3 * i);
            rc = sqlite3_bind_int64(st, p + 1, v[i].id);
            rc = rc ?: sqlite3_bind_int64(st, p + 2, v[i].ts);
            rc = rc ?: sqlite3_bind_double(st, p + 3, v[i].value);
        }
        r = ward_sqlite_bind_rc(c, rc);
        if (r == 0)
            r = ward_sqlite_step_done(c, st);
        if (r < 0)
            return r;
        v += k;
        n -= k;
    }
    return 0;
}

/*
 * Moves the runs of v[0, n) (sorted by series) that have DIRECT_RUN rows or
 * more to direct, keeps the others in v, in order, and returns their number.
 */
static size_t split_direct(struct sample_row *v, size_t n, struct sample_row *direct,
                           size_t *ndirect)
{
    size_t k = 0, d = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && v[j].id == v[i].id)
            j++;
        if (j - i >= DIRECT_RUN) {
            memcpy(direct + d, v + i, (j - i) * sizeof(*v));
            d += j - i;
        } else {
            memmove(v + k, v + i, (j - i) * sizeof(*v));
            k += j - i;
        }
        i = j;
    }
    *ndirect = d;
    return k;
}

/* Writes one batch in the open transaction. Returns 0, 1 for a duplicate batch, or an error. */
static int write_batch(struct sqlite_store *s, const struct ward_write *w, int64_t now)
{
    struct conn *c = &s->writer;
    int r;
    if (w->batch) {
        r = batch_record(c, w->host_id, w->batch, now);
        if (r != 0)
            return r;
    }
    r = host_touch(c, w->host_id, now);
    if (r == 0)
        r = rows_reserve(s, w->n);
    if (r < 0)
        return r;

    struct series_key k;
    ward_sqlite_cache_key_host(&s->cache, &k, w->host_id);
    for (size_t i = 0; i < w->n; i++) {
        const struct ward_sample *x = &w->samples[i];
        int64_t id = 0;
        r = series_id(s, &k, x, &id);
        if (r < 0)
            return r;
        s->rows[i] = (struct sample_row){.id = id, .ts = x->ts_ms, .value = x->value};
    }
    struct sample_row *v = sort_rows(s->rows, s->rows_tmp, w->n);
    struct sample_row *direct = v == s->rows ? s->rows_tmp : s->rows;
    size_t kept = 0, ndirect = 0;
    r = ward_sqlite_head_filter(s, v, w->n, &kept);
    if (r < 0)
        return r;
    kept = split_direct(v, kept, direct, &ndirect);
    r = ward_sqlite_insert_rows(c, ST_SAMPLE_INSERT, direct, ndirect);
    for (size_t i = 0; r == 0 && i < ndirect; i++)
        ward_sqlite_head_stored(s, direct[i].id, direct[i].ts);
    if (r == 0)
        r = ward_sqlite_insert_rows(c, ST_HEAD_INSERT, v, kept);
    /* Last, so that a batch that fails leaves nothing in the group's head. */
    return r < 0 ? r : ward_sqlite_head_stage(s, v, kept);
}

static int exec_stmt(struct conn *c, enum stmt_id id)
{
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r = ward_sqlite_stmt_get(c, id, &st);
    return r < 0 ? r : ward_sqlite_step_done(c, st);
}

/* Writes one batch inside a savepoint, so that its failure undoes only itself. */
static int write_saved(struct sqlite_store *s, const struct ward_write *w, int64_t now)
{
    struct conn *c = &s->writer;
    int64_t mark = s->series_max;
    int r = exec_stmt(c, ST_SAVEPOINT);
    if (r < 0)
        return r;
    r = write_batch(s, w, now);
    if (r == 0)
        return exec_stmt(c, ST_RELEASE);
    exec_stmt(c, ST_ROLLBACK_TO);
    exec_stmt(c, ST_RELEASE);
    if (r < 0) {
        ward_sqlite_cache_forget_above(&s->cache, mark);
        s->series_max = mark;
    }
    return r;
}

/* Out of memory or disk fails the whole group: nothing more can commit. */
static bool dooms_group(int r)
{
    return r == -ENOMEM || r == -ENOSPC || r == -EIO;
}

/*
 * One transaction over the group. Without savepoints, returns
 * RETRY_WITH_SAVEPOINTS as soon as a batch fails on its own; the caller rolls
 * back.
 */
static int write_group(struct sqlite_store *s, struct ward_write *w, size_t n, bool savepoints)
{
    struct conn *c = &s->writer;
    int r = ward_sqlite_exec(c->db, "BEGIN IMMEDIATE");
    if (r < 0)
        return r;
    int64_t now = ward_sqlite_now_ms();
    for (size_t i = 0; i < n; i++) {
        w[i].result = savepoints ? write_saved(s, &w[i], now) : write_batch(s, &w[i], now);
        if (dooms_group(w[i].result))
            return w[i].result;
        /*
         * Some errors make SQLite roll the whole transaction back by itself;
         * the batches after it would then commit one by one, outside the
         * group, while the group reports failure. Stop there instead.
         */
        if (sqlite3_get_autocommit(c->db))
            return w[i].result < 0 ? w[i].result : WARD_E_STORE;
        if (w[i].result < 0 && !savepoints)
            return RETRY_WITH_SAVEPOINTS;
    }
    r = ward_sqlite_head_reserve(s);
    return r < 0 ? r : ward_sqlite_exec(c->db, "COMMIT");
}

int ward_sqlite_write(struct sqlite_store *s, struct ward_write *w, size_t n)
{
    struct conn *c = &s->writer;
    pthread_mutex_lock(&c->lock);
    int64_t mark = s->series_max;
    int r = write_group(s, w, n, false);
    if (r == RETRY_WITH_SAVEPOINTS) {
        ward_sqlite_rollback(c->db);
        ward_sqlite_head_discard(s);
        ward_sqlite_cache_forget_above(&s->cache, mark);
        s->series_max = mark;
        r = write_group(s, w, n, true);
    }
    if (r < 0) {
        ward_sqlite_rollback(c->db);
        ward_sqlite_head_discard(s);
        ward_sqlite_cache_forget_above(&s->cache, mark);
        s->series_max = mark;
        for (size_t i = 0; i < n; i++)
            w[i].result = r;
    } else {
        ward_sqlite_head_publish(s);
        /* The group is stored whatever the flush does; a step that fails is retried next time. */
        size_t points = 0;
        for (size_t i = 0; i < n; i++)
            points += w[i].n;
        (void)ward_sqlite_head_sweep(s, points);
    }
    pthread_mutex_unlock(&c->lock);
    return r;
}

/* ---- Retention ---- */

/* Steps the bound st and stores its first column. Returns 1, 0 for no row, or an error. */
static int step_int(struct conn *c, sqlite3_stmt *st, int64_t *out)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        return 1;
    }
    return rc == SQLITE_DONE ? 0 : ward_sqlite_rc(c->db, rc);
}

/* Stores in ids up to PRUNE_CHUNK series ids above after, ascending; *n their number. */
static int next_series(struct conn *c, int64_t after, int64_t *ids, size_t *n)
{
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r = ward_sqlite_stmt_get(c, ST_PRUNE_SERIES, &st);
    if (r < 0)
        return r;
    int rc = sqlite3_bind_int64(st, 1, after);
    rc = rc ?: sqlite3_bind_int64(st, 2, PRUNE_CHUNK);
    r = ward_sqlite_bind_rc(c, rc);
    if (r < 0)
        return r;
    *n = 0;
    while (*n < PRUNE_CHUNK && (r = step_int(c, st, &ids[*n])) == 1)
        (*n)++;
    return r < 0 ? r : 0;
}

/* Binds (series, ts) to a retention statement and steps it for its integer. */
static int series_ts_int(struct conn *c, enum stmt_id id, int64_t series, int64_t ts,
                         int64_t offset, int64_t *out)
{
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r = ward_sqlite_stmt_get(c, id, &st);
    if (r < 0)
        return r;
    int rc = sqlite3_bind_int64(st, 1, series);
    rc = rc ?: sqlite3_bind_int64(st, 2, ts);
    if (id == ST_PRUNE_NTH)
        rc = rc ?: sqlite3_bind_int64(st, 3, offset);
    r = ward_sqlite_bind_rc(c, rc);
    return r < 0 ? r : step_int(c, st, out);
}

static int delete_before(struct conn *c, int64_t series, int64_t ts, size_t *deleted)
{
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r = ward_sqlite_stmt_get(c, ST_PRUNE_DELETE, &st);
    if (r < 0)
        return r;
    int rc = sqlite3_bind_int64(st, 1, series);
    rc = rc ?: sqlite3_bind_int64(st, 2, ts);
    r = ward_sqlite_bind_rc(c, rc);
    if (r == 0)
        r = ward_sqlite_step_done(c, st);
    if (r == 0)
        *deleted += (size_t)sqlite3_changes64(c->db);
    return r;
}

/*
 * Deletes the samples of series older than before, at most budget - *deleted
 * of them. Returns 1 when the budget ran out inside the series, else 0.
 */
static int prune_series(struct conn *c, int64_t series, int64_t before, size_t budget,
                        size_t *deleted)
{
    int64_t ts = 0;
    /* Most series have nothing to delete between two runs: one seek tells. */
    int r = series_ts_int(c, ST_PRUNE_OLDEST, series, before, 0, &ts);
    if (r <= 0)
        return r;
    /* The oldest row beyond the budget, if any, bounds what may go now. */
    size_t left = budget - *deleted;
    r = series_ts_int(c, ST_PRUNE_NTH, series, before, left > INT64_MAX ? INT64_MAX : (int64_t)left,
                      &ts);
    if (r < 0)
        return r;
    bool cut = r == 1;
    r = delete_before(c, series, cut ? ts : before, deleted);
    return r < 0 ? r : cut;
}

static int prune_batches(struct conn *c, int64_t before, size_t max_rows)
{
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r = ward_sqlite_stmt_get(c, ST_PRUNE_BATCHES, &st);
    if (r < 0)
        return r;
    int rc = sqlite3_bind_int64(st, 1, before);
    rc = rc ?: sqlite3_bind_int64(st, 2, max_rows > INT64_MAX ? INT64_MAX : (int64_t)max_rows);
    r = ward_sqlite_bind_rc(c, rc);
    if (r == 0)
        r = ward_sqlite_step_done(c, st);
    if (r < 0)
        return r;
    return (size_t)sqlite3_changes64(c->db) >= max_rows ? 1 : 0;
}

/* The body of the retention transaction. Returns 1 when work is left, 0, or an error. */
static int prune_tx(struct sqlite_store *s, int64_t before, size_t max_rows, size_t *deleted)
{
    struct conn *c = &s->writer;
    int more = prune_batches(c, before, max_rows);
    if (more < 0)
        return more;
    int64_t ids[PRUNE_CHUNK] = {0};
    size_t visited = 0, n = 0;
    do {
        int r = next_series(c, s->prune_after, ids, &n);
        if (r < 0)
            return r;
        for (size_t i = 0; i < n; i++) {
            r = prune_series(c, ids[i], before, max_rows, deleted);
            if (r < 0)
                return r;
            /* A series cut short is where the next call starts. */
            if (r == 1)
                return 1;
            s->prune_after = ids[i];
            if (*deleted >= max_rows || ++visited >= PRUNE_MAX_SERIES)
                return 1;
        }
    } while (n == PRUNE_CHUNK);
    /* The sweep reached the last series: the next one starts over. */
    s->prune_after = 0;
    return more;
}

int ward_sqlite_prune(struct sqlite_store *s, int64_t before_ms, size_t max_rows, size_t *deleted)
{
    struct conn *c = &s->writer;
    size_t n = 0;
    pthread_mutex_lock(&c->lock);
    int64_t cursor = s->prune_after;
    int r = ward_sqlite_head_older_than(s, before_ms) ? ward_sqlite_head_flush(s) : 0;
    if (r == 0)
        r = ward_sqlite_exec(c->db, "BEGIN IMMEDIATE");
    if (r == 0)
        r = prune_tx(s, before_ms, max_rows, &n);
    if (r >= 0) {
        int rc = ward_sqlite_exec(c->db, "COMMIT");
        if (rc < 0)
            r = rc;
    }
    if (r < 0) {
        ward_sqlite_rollback(c->db);
        s->prune_after = cursor;
    }
    pthread_mutex_unlock(&c->lock);
    if (r >= 0)
        *deleted = n;
    return r;
}
