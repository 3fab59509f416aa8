/*
 * Private declarations shared by store-sqlite.c and store-sqlite-query.c.
 *
 * store-sqlite.c owns the connections: it opens them, prepares their
 * statements and hands one to a query. store-sqlite-query.c runs the range
 * query on that connection, so it needs the connection itself, the ids of
 * the statements it uses and the helpers that turn SQLite result codes into
 * ours. This header is not part of the store interface (that is store.h):
 * only the two files above include it.
 */
#ifndef WARD_STORE_SQLITE_H
#define WARD_STORE_SQLITE_H

#include <pthread.h>
#include <sqlite3.h>

#include "common/cleanup.h"
#include "server/store/store.h"

/* Prepared statements of a connection; the SQL of each is in store-sqlite.c. */
enum stmt_id {
    ST_BATCH_INSERT,
    ST_HOST_UPSERT,
    ST_SERIES_SELECT,
    ST_SERIES_INSERT,
    ST_SAMPLE_INSERT,
    /* The next four are indexed by (category filter ? 1 : 0) + (name filter ? 2 : 0). */
    ST_QUERY_SERIES,
    ST_QUERY_SERIES_CATEGORY,
    ST_QUERY_SERIES_NAME,
    ST_QUERY_SERIES_CATEGORY_NAME,
    ST_QUERY_SAMPLES,
    ST_COUNT
};

/* One SQLite connection. Whoever uses db or stmt holds lock. */
struct conn {
    sqlite3 *db;
    pthread_mutex_t lock;
    sqlite3_stmt *stmt[ST_COUNT]; /* prepared on first use */
};

/*
 * Maps the SQLite result code rc to 0 (for SQLITE_OK, SQLITE_ROW and
 * SQLITE_DONE), -errno or a project code. db may be NULL; when it is not, a
 * failed open reports the errno behind it.
 */
int ward_sqlite_rc(sqlite3 *db, int rc);

/* Runs sql, which may hold several statements and returns no rows. Returns 0 or an error. */
int ward_sqlite_exec(sqlite3 *db, const char *sql);

/* Ends the open transaction of db, if any, without committing it. */
void ward_sqlite_rollback(sqlite3 *db);

/*
 * Stores in *out the statement of connection c named by id, preparing it
 * on first use. The statement stays owned by c: the caller borrows it while holding
 * c->lock and resets it when done (see _cleanup_reset_). Returns 0 or an
 * error.
 */
int ward_sqlite_stmt_get(struct conn *c, enum stmt_id id, sqlite3_stmt **out);

static inline void ward_sqlite_stmt_resetp(sqlite3_stmt **st)
{
    if (*st)
        sqlite3_reset(*st);
}

/*
 * Statements borrowed from a connection are reset when the variable leaves
 * scope, which also ends their hold on the read snapshot.
 */
#define _cleanup_reset_ _cleanup_(ward_sqlite_stmt_resetp)

/* Binds the NUL-terminated s, which must outlive the statement's next reset. */
static inline int ward_sqlite_bind_text(sqlite3_stmt *st, int i, const char *s)
{
    return sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

/*
 * Binding fails only on a programming error or a string beyond SQLite's
 * limits. Callers chain binds with `rc = rc ?: bind(...)`, which stops at the
 * first failure, and convert the result here.
 */
static inline int ward_sqlite_bind_rc(struct conn *c, int rc)
{
    return rc == SQLITE_OK ? 0 : ward_sqlite_rc(c->db, rc);
}

/*
 * Runs the range query q on connection c, which the caller holds locked,
 * calling fn(row, userdata) for each row, newest first. The query runs in
 * one read transaction, ended before returning. Returns 0, the negative
 * value fn returned, WARD_E_LIMIT when the host has too many matching
 * series, or an error.
 */
int ward_sqlite_query(struct conn *c, const struct ward_query *q, ward_store_row_fn fn,
                      void *userdata);

#endif
