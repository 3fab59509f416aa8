/*
 * Private declarations shared by the files of the SQLite backend.
 *
 * store-sqlite.c owns the connections: it opens them, migrates the schema,
 * prepares the statements (their SQL is all listed there) and lends a
 * connection to each call. The other files each implement a group of
 * methods on a borrowed connection:
 *
 *   store-sqlite-write.c   group writes and retention (the writer connection)
 *   store-sqlite-cache.c   the writer's series-id cache
 *   store-sqlite-hosts.c   host registration and listing
 *   store-sqlite-read.c    series listing, reads by series id, latest values
 *   store-sqlite-query.c   the range query of one host
 *
 * This header is not part of the store interface (that is store.h): only
 * the files above include it.
 */
#ifndef WARD_STORE_SQLITE_H
#define WARD_STORE_SQLITE_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "server/store/store.h"

#define SQLITE_READERS 4

/* Rows of one multi-row sample INSERT; see store-sqlite-write.c. */
#define SAMPLE_INSERT_WIDE   64
#define SAMPLE_INSERT_NARROW 8

/* Prepared statements of a connection; the SQL of each is in store-sqlite.c. */
enum stmt_id {
    /* Group writes. */
    ST_SAVEPOINT,
    ST_RELEASE,
    ST_ROLLBACK_TO,
    ST_BATCH_INSERT,
    ST_HOST_TOUCH,
    ST_SERIES_SELECT,
    ST_SERIES_INSERT,
    ST_SAMPLE_INSERT,
    ST_SAMPLE_INSERT_NARROW,
    ST_SAMPLE_INSERT_WIDE,
    /* Retention. */
    ST_PRUNE_SERIES,
    ST_PRUNE_OLDEST,
    ST_PRUNE_NTH,
    ST_PRUNE_DELETE,
    ST_PRUNE_BATCHES,
    /* Hosts. */
    ST_HOST_BY_NAME,
    ST_HOST_INSERT,
    ST_HOST_UPDATE,
    ST_HOST_LIST,
    /* Reads. The eight series lists are indexed by the filter bits (host 1, category 2, name 4). */
    ST_SERIES_LIST,
    ST_SERIES_LIST_LAST = ST_SERIES_LIST + 7,
    ST_READ,
    ST_LATEST,
    ST_COUNT_HOSTS,
    ST_COUNT_SERIES,
    ST_PAGE_COUNT,
    ST_PAGE_SIZE,
    ST_PING,
    /* The range query. Indexed by (category filter ? 1 : 0) + (name filter ? 2 : 0). */
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
 * The writer's map from (host, category, name, labels) to series id: an
 * open-addressing hash table whose keys live in one arena. See
 * store-sqlite-cache.c.
 */
struct cache_slot {
    uint64_t hash;
    int64_t id;   /* 0 marks an empty slot; series ids start at 1 */
    uint32_t off; /* key bytes in the arena */
    uint32_t len;
};

struct series_cache {
    struct cache_slot *slots; /* NULL until the first insertion */
    size_t mask;              /* slot count - 1 */
    size_t count;
    struct ward_buf arena; /* keys, NUL-separated parts */
    uint64_t seed;
};

/* The parts of a cache key, borrowed from the caller, and their hash. */
struct series_key {
    const char *part[4]; /* host, category, name, labels */
    size_t len[4];
    uint64_t host_hash; /* the seed and the host */
    uint64_t hash;
};

/* One sample on its way into the samples table. */
struct sample_row {
    int64_t id;
    int64_t ts;
    double value;
};

struct sqlite_store {
    struct ward_store base;
    struct conn writer;
    struct conn readers[SQLITE_READERS];
    size_t nreaders; /* 0 for an in-memory database: the writer answers reads */
    atomic_uint next_reader;
    char *wal_path; /* NULL in memory */

    /* The rest is guarded by writer.lock. */
    struct series_cache cache;
    int64_t series_max;                 /* highest series id the writer knows to exist */
    struct sample_row *rows, *rows_tmp; /* ingest scratch, rows_cap each */
    size_t rows_cap;
    int64_t prune_after; /* retention continues with the series after this id */
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

/* Steps a statement that returns no rows. Returns 0 or an error. */
int ward_sqlite_step_done(struct conn *c, sqlite3_stmt *st);

/*
 * Locks a connection for reading: a free one of the reader pool, or the
 * writer when the database is in memory. Release it with
 * ward_sqlite_reader_unlock().
 */
struct conn *ward_sqlite_reader_lock(struct sqlite_store *s);
void ward_sqlite_reader_unlock(struct conn *c);

/* Current wall-clock time in Unix milliseconds. */
int64_t ward_sqlite_now_ms(void);

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

/* ---- store-sqlite-cache.c ---- */

/* Prepares an empty cache. Allocates nothing. */
void ward_sqlite_cache_init(struct series_cache *c);

/* Frees what the cache holds; it is empty and usable afterwards. */
void ward_sqlite_cache_done(struct series_cache *c);

/*
 * Builds the key of a series in two steps: the host once per batch, then
 * each sample's category, name and labels, which completes k->hash.
 */
void ward_sqlite_cache_key_host(const struct series_cache *c, struct series_key *k,
                                const char *host);
void ward_sqlite_cache_key_series(struct series_key *k, const char *category, const char *name,
                                  const char *labels);

/* Looks k up. Returns true and stores the id in *id when found. */
bool ward_sqlite_cache_find(const struct series_cache *c, const struct series_key *k, int64_t *id);

/*
 * Remembers that k names series id. Caching is an optimisation: a key that
 * is too long, or a failed allocation, leaves the cache without it.
 */
void ward_sqlite_cache_put(struct series_cache *c, const struct series_key *k, int64_t id);

/* Forgets every series with an id above max_id: those a rollback removed. */
void ward_sqlite_cache_forget_above(struct series_cache *c, int64_t max_id);

/* Bytes the cache holds on the heap. */
size_t ward_sqlite_cache_bytes(const struct series_cache *c);

/* ---- store-sqlite-write.c ---- */

/* See ward_store_ops.write and .prune. */
int ward_sqlite_write(struct sqlite_store *s, struct ward_write *w, size_t n);
int ward_sqlite_prune(struct sqlite_store *s, int64_t before_ms, size_t max_rows, size_t *deleted);

/* Frees the ingest scratch of s. */
void ward_sqlite_write_done(struct sqlite_store *s);

/* ---- store-sqlite-hosts.c ---- */

/* See ward_store_ops.host_register and .host_list. */
int ward_sqlite_host_register(struct sqlite_store *s, const struct ward_host_info *info,
                              char *id_out, bool *created);
int ward_sqlite_host_list(struct sqlite_store *s, ward_store_host_fn fn, void *userdata);

/* ---- store-sqlite-read.c ---- */

/* See ward_store_ops.series_list, .read, .latest, .stats and .ping. */
int ward_sqlite_series_list(struct sqlite_store *s, const struct ward_series_filter *f,
                            ward_store_series_fn fn, void *userdata);
int ward_sqlite_read(struct sqlite_store *s, const int64_t *ids, size_t n, int64_t from_ms,
                     int64_t to_ms, ward_store_point_fn fn, void *userdata);
int ward_sqlite_latest(struct sqlite_store *s, ward_store_latest_fn fn, void *userdata);
int ward_sqlite_stats(struct sqlite_store *s, struct ward_store_stats *out);
int ward_sqlite_ping(struct sqlite_store *s);

/* ---- store-sqlite-query.c ---- */

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
