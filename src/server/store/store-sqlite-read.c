/*
 * Reads of the SQLite store by series: the series list, samples of many
 * series by id, the newest sample of every series, and the store's size.
 *
 * All of them run on a connection of the reader pool, so they never wait for
 * the writer, and each runs in one read transaction: a read over a thousand
 * series sees one snapshot even while groups commit. Reading by series id
 * walks the samples primary key (series_id, ts) from (id, from) to (id, to)
 * with one prepared statement, rebound per series, which is a seek and then
 * a sequential scan of the leaf pages: no sort, no temporary table.
 *
 * The newest sample of a series is one seek to the end of its range
 * (SQLite's min/max optimisation on max(ts) with series_id fixed), so
 * ward_store_latest() costs one seek per series and never scans samples.
 *
 * Samples not yet flushed live in the head (store-sqlite-head.c). A read
 * copies the head's points it needs first and opens its snapshot after:
 * a flush that commits in between shows a point on both sides, which the
 * merge drops once, and can never hide one from both.
 *
 * A callback runs while the connection is held and must not call back into
 * the store (with an in-memory database that connection is the writer).
 */
#include "common/error.h"
#include "server/store/store-sqlite.h"
#include "server/store/store.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>

static const char *column_str(sqlite3_stmt *st, int col)
{
    return (const char *)sqlite3_column_text(st, col);
}

/* Fills *row from columns first to first + 5: id, host, category, name, labels, kind. */
static int series_row(sqlite3_stmt *st, int first, struct ward_series_row *row)
{
    *row = (struct ward_series_row){
        .id = sqlite3_column_int64(st, first),
        .host_id = column_str(st, first + 1),
        .category = column_str(st, first + 2),
        .name = column_str(st, first + 3),
        .labels = column_str(st, first + 4),
        .kind = sqlite3_column_int(st, first + 5) == WARD_KIND_COUNTER ? WARD_KIND_COUNTER
                                                                       : WARD_KIND_GAUGE,
    };
    /* The columns are NOT NULL: a NULL here is a failed allocation. */
    if (!row->host_id || !row->category || !row->name || !row->labels)
        return -ENOMEM;
    return 0;
}

/* ---- Series list ---- */

static int series_list_locked(struct conn *c, const struct ward_series_filter *f,
                              ward_store_series_fn fn, void *userdata)
{
    int bits = (f->host_id ? 1 : 0) | (f->category ? 2 : 0) | (f->name ? 4 : 0);
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r = ward_sqlite_stmt_get(c, ST_SERIES_LIST + bits, &st);
    if (r < 0)
        return r;
    /* Each variant has only the parameters of its filters. */
    int rc = SQLITE_OK;
    if (f->host_id)
        rc = ward_sqlite_bind_text(st, 1, f->host_id);
    if (f->category)
        rc = rc ?: ward_sqlite_bind_text(st, 2, f->category);
    if (f->name)
        rc = rc ?: ward_sqlite_bind_text(st, 3, f->name);
    r = ward_sqlite_bind_rc(c, rc);
    if (r < 0)
        return r;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct ward_series_row row;
        r = series_row(st, 0, &row);
        if (r == 0)
            r = fn(&row, userdata);
        if (r < 0)
            return r;
    }
    return ward_sqlite_rc(c->db, rc);
}

int ward_sqlite_series_list(struct sqlite_store *s, const struct ward_series_filter *f,
                            ward_store_series_fn fn, void *userdata)
{
    struct conn *c = ward_sqlite_reader_lock(s);
    int r = series_list_locked(c, f, fn, userdata);
    ward_sqlite_reader_unlock(c);
    return r;
}

/* ---- Samples by series id ---- */

/* Samples of one series, merged with its head points hp[0, nh), oldest first. */
static int read_series(struct conn *c, size_t index, int64_t id, int64_t from, int64_t to,
                       const struct head_point *hp, size_t nh, ward_store_point_fn fn,
                       void *userdata)
{
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r = ward_sqlite_stmt_get(c, ST_READ, &st);
    if (r < 0)
        return r;
    int rc = sqlite3_bind_int64(st, 1, id);
    rc = rc ?: sqlite3_bind_int64(st, 2, from);
    rc = rc ?: sqlite3_bind_int64(st, 3, to);
    r = ward_sqlite_bind_rc(c, rc);
    if (r < 0)
        return r;
    size_t j = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t ts = sqlite3_column_int64(st, 0);
        for (; j < nh && hp[j].ts <= ts; j++) {
            /* The same sample, flushed after the head was copied. */
            if (hp[j].ts == ts)
                continue;
            r = fn(index, hp[j].ts, hp[j].value, userdata);
            if (r < 0)
                return r;
        }
        r = fn(index, ts, sqlite3_column_double(st, 1), userdata);
        if (r < 0)
            return r;
    }
    r = ward_sqlite_rc(c->db, rc);
    for (; r == 0 && j < nh; j++)
        r = fn(index, hp[j].ts, hp[j].value, userdata);
    return r;
}

static int read_locked(struct sqlite_store *s, struct conn *c, const int64_t *ids, size_t n,
                       int64_t from, int64_t to, ward_store_point_fn fn, void *userdata)
{
    struct head_copy h;
    int r = ward_sqlite_head_copy(&s->head, ids, n, from, to, SIZE_MAX, &h);
    if (r < 0)
        return r;
    /* One read transaction: every series comes from the same snapshot. */
    r = ward_sqlite_exec(c->db, "BEGIN");
    for (size_t i = 0; r == 0 && i < n; i++)
        r = read_series(c, i, ids[i], from, to, h.pts + h.off[i], h.off[i + 1] - h.off[i], fn,
                        userdata);
    ward_sqlite_head_copy_done(&h);
    if (r == 0)
        r = ward_sqlite_exec(c->db, "COMMIT");
    if (r < 0)
        ward_sqlite_rollback(c->db);
    return r;
}

int ward_sqlite_read(struct sqlite_store *s, const int64_t *ids, size_t n, int64_t from_ms,
                     int64_t to_ms, ward_store_point_fn fn, void *userdata)
{
    struct conn *c = ward_sqlite_reader_lock(s);
    int r = read_locked(s, c, ids, n, from_ms, to_ms, fn, userdata);
    ward_sqlite_reader_unlock(c);
    return r;
}

/* ---- Newest sample of every series ---- */

/* Both lists are ordered by series id: the head's newest point wins when it is newer. */
static int latest_locked(struct conn *c, const struct sample_row *head, size_t nhead,
                         ward_store_latest_fn fn, void *userdata)
{
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r = ward_sqlite_stmt_get(c, ST_LATEST, &st);
    if (r < 0)
        return r;
    int rc;
    size_t j = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        while (j < nhead && head[j].id < id)
            j++;
        bool stored = sqlite3_column_type(st, 6) != SQLITE_NULL;
        int64_t ts = sqlite3_column_int64(st, 6);
        double value = sqlite3_column_double(st, 7);
        if (j < nhead && head[j].id == id && (!stored || head[j].ts > ts)) {
            ts = head[j].ts;
            value = head[j].value;
            stored = true;
        }
        if (!stored)
            continue;
        struct ward_series_row row;
        r = series_row(st, 0, &row);
        if (r == 0)
            r = fn(&row, ts, value, userdata);
        if (r < 0)
            return r;
    }
    return ward_sqlite_rc(c->db, rc);
}

int ward_sqlite_latest(struct sqlite_store *s, ward_store_latest_fn fn, void *userdata)
{
    /* The head first, then the snapshot of the statement; see the top of this file. */
    _cleanup_free_ struct sample_row *head = NULL;
    size_t nhead = 0;
    int r = ward_sqlite_head_newest(&s->head, &head, &nhead);
    if (r < 0)
        return r;
    struct conn *c = ward_sqlite_reader_lock(s);
    r = latest_locked(c, head, nhead, fn, userdata);
    ward_sqlite_reader_unlock(c);
    return r;
}

/* ---- Size and health ---- */

static int stats_locked(struct conn *c, int64_t v[4])
{
    static const enum stmt_id ids[4] = {ST_COUNT_HOSTS, ST_COUNT_SERIES, ST_PAGE_COUNT,
                                        ST_PAGE_SIZE};
    int r = ward_sqlite_exec(c->db, "BEGIN");
    for (size_t i = 0; r == 0 && i < 4; i++)
        r = ward_sqlite_stmt_int(c, ids[i], &v[i]);
    if (r == 0)
        r = ward_sqlite_exec(c->db, "COMMIT");
    if (r < 0)
        ward_sqlite_rollback(c->db);
    return r;
}

int ward_sqlite_stats(struct sqlite_store *s, struct ward_store_stats *out)
{
    int64_t v[4] = {0};
    struct conn *c = ward_sqlite_reader_lock(s);
    int r = stats_locked(c, v);
    ward_sqlite_reader_unlock(c);
    if (r < 0)
        return r;
    uint64_t bytes = 0;
    if (s->wal_path) {
        bytes = (uint64_t)v[2] * (uint64_t)v[3];
        /* Between checkpoints the newest pages are in the WAL; a missing WAL is empty. */
        struct stat st;
        if (stat(s->wal_path, &st) == 0)
            bytes += (uint64_t)st.st_size;
        else if (errno != ENOENT)
            return -errno;
    }
    *out = (struct ward_store_stats){
        .hosts = (uint64_t)v[0], .series = (uint64_t)v[1], .bytes = bytes};
    return 0;
}

static int ping_locked(struct conn *c)
{
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r = ward_sqlite_stmt_get(c, ST_PING, &st);
    return r < 0 ? r : ward_sqlite_rc(c->db, sqlite3_step(st));
}

int ward_sqlite_ping(struct sqlite_store *s)
{
    struct conn *c = ward_sqlite_reader_lock(s);
    int r = ping_locked(c);
    ward_sqlite_reader_unlock(c);
    return r;
}
