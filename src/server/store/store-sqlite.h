/*
 * Private declarations shared by the files of the SQLite backend.
 *
 * store-sqlite.c owns the connections: it opens them, migrates the schema,
 * prepares the statements (their SQL is all listed there) and lends a
 * connection to each call. The other files each implement a group of
 * methods on a borrowed connection:
 *
 *   store-sqlite-write.c     group writes and retention (the writer connection)
 *   store-sqlite-cache.c     the writer's series-id cache
 *   store-sqlite-head.c      samples not yet in the samples table, and their flush
 *   store-sqlite-hosts.c     host registration and listing
 *   store-sqlite-read.c      series listing, reads by series id, latest values
 *   store-sqlite-query.c     the range query of one host
 *   store-sqlite-registry.c  enrollment, credentials, tenants, sections, configuration
 *   store-sqlite-commands.c  the command queue and its audit log
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

/* Samples the head holds before the writer moves them into the samples table. */
#define HEAD_LIMIT_DEFAULT 1000000
#define HEAD_STEP_DEFAULT  50000

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
    /* The head: the same three widths as the sample inserts, in the same order. */
    ST_HEAD_INSERT,
    ST_HEAD_INSERT_NARROW,
    ST_HEAD_INSERT_WIDE,
    ST_HEAD_LOAD,
    ST_HEAD_CLEAR,
    ST_HEAD_MARK,
    ST_HEAD_CLEAR_TO,
    ST_SAMPLE_MAX,
    ST_SAMPLE_EXISTS,
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
    /* The command queue (store-sqlite-commands.c). */
    ST_CMD_PENDING,
    ST_CMD_INSERT,
    ST_CMD_AUDIT,
    ST_CMD_NEXT,
    ST_CMD_DISPATCH,
    ST_CMD_FINISH,
    ST_CMD_STATE,
    ST_CMD_EXPIRING,
    ST_CMD_EXPIRE,
    ST_CMD_GET,
    ST_CMD_LIST,
    ST_CMD_LIST_HOST,
    ST_CMD_PRUNE,
    ST_AUDIT_PRUNE,
    ST_AUDIT_LIST,
    ST_AUDIT_LIST_HOST,
    ST_AUDIT_LIST_COMMAND,
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

/* One point of the head. */
struct head_point {
    int64_t ts;
    double value;
};

/* The head of one series; see store-sqlite-head.c. */
struct head_series {
    /* Committed points, oldest first. Readers see them under head.lock. */
    struct head_point *pts;
    size_t n, cap;
    /* The rest belongs to the writer: the open group's points, oldest first, */
    struct head_point *pend;
    size_t npend, pcap;
    /* and the newest ts of the samples table, once read. */
    int64_t stored_max; /* INT64_MIN for none */
    bool stored_known;
};

struct head {
    pthread_rwlock_t lock; /* guards series, nseries and each pts, n and cap */
    bool lock_ready;
    struct head_series *series; /* indexed by series id */
    size_t nseries;
    /* The rest belongs to the writer (readers never look at them). */
    size_t points;      /* committed points in the head */
    int64_t min_ts;     /* the oldest of them; INT64_MAX when none */
    size_t limit;       /* a flush starts when points exceed it */
    size_t step;        /* points an incremental flush moves per group, at least */
    size_t sweep;       /* the next series id of the incremental flush running; 0 = none */
    int64_t sweep_mark; /* head_log rows up to this seq were in the head when it began */
    int64_t cleared;    /* ... and those up to this one are deleted since it ended */
    int64_t *touched;   /* series with points in the open group */
    size_t ntouched, tcap;
};

/* Points of the head copied for a reader: those of series i are pts[off[i], off[i + 1]). */
struct head_copy {
    struct head_point *pts;
    size_t *off;
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
    struct head head;    /* series, nseries and the points are shared with readers */
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

/* Steps st once. Returns 1 on a row, 0 at the end, or an error. */
int ward_sqlite_step_row(struct conn *c, sqlite3_stmt *st);

/*
 * Takes the writer connection and opens a write transaction on it; end it
 * with ward_sqlite_write_end(). Returns 0 or an error (the writer is not
 * held then).
 */
int ward_sqlite_write_begin(struct sqlite_store *s);

/* Commits when r >= 0, else rolls back; releases the writer. Returns r or the commit's error. */
int ward_sqlite_write_end(struct sqlite_store *s, int r);

/* Runs statement id, which takes no parameters, and reads its one integer into *out. */
int ward_sqlite_stmt_int(struct conn *c, enum stmt_id id, int64_t *out);

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

/* Binds the optional text s, NULL as SQL NULL. */
static inline int ward_sqlite_bind_opt(sqlite3_stmt *st, int i, const char *s)
{
    return s ? ward_sqlite_bind_text(st, i, s) : sqlite3_bind_null(st, i);
}

/* The text of column col of the current row; NULL for SQL NULL. */
static inline const char *ward_sqlite_text(sqlite3_stmt *st, int col)
{
    return (const char *)sqlite3_column_text(st, col);
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

/* ---- store-sqlite-head.c ---- */

/* Prepares an empty head with the default limit. Returns 0 or an error. */
int ward_sqlite_head_init(struct head *h);

/* Frees what the head holds. */
void ward_sqlite_head_done(struct head *h);

/* Reads head_log into the head of s; done at open, before readers exist. Returns 0 or an error. */
int ward_sqlite_head_load(struct sqlite_store *s);

/* Records that series id was just created, so it has no stored samples to look up. */
void ward_sqlite_head_series_new(struct sqlite_store *s, int64_t id);

/*
 * Drops from v, sorted by (series, ts), every sample already stored (in the
 * head, earlier in the open group, or in the samples table) and every
 * repeat within v, keeping the order; *kept is the number left. Returns 0 or
 * an error. Writer only.
 */
int ward_sqlite_head_filter(struct sqlite_store *s, struct sample_row *v, size_t n, size_t *kept);

/*
 * Records that the open group inserted (id, ts), which ward_sqlite_head_filter()
 * let through, into the samples table directly. A rollback leaves the
 * record, which only costs lookups that find nothing.
 */
void ward_sqlite_head_stored(struct sqlite_store *s, int64_t id, int64_t ts);

/*
 * Adds the n samples of v, which ward_sqlite_head_filter() left, to the
 * open group. Readers do not see them until ward_sqlite_head_publish().
 * Returns 0 or -ENOMEM (the group must then be discarded).
 */
int ward_sqlite_head_stage(struct sqlite_store *s, const struct sample_row *v, size_t n);

/* Makes room for the open group's samples; call before COMMIT. Returns 0 or -ENOMEM. */
int ward_sqlite_head_reserve(struct sqlite_store *s);

/* Shows the open group's samples to readers; call after COMMIT and a reserve. */
void ward_sqlite_head_publish(struct sqlite_store *s);

/* Forgets the open group's samples, after a rollback. */
void ward_sqlite_head_discard(struct sqlite_store *s);

/* True when the head holds more samples than its limit. */
bool ward_sqlite_head_due(const struct sqlite_store *s);

/* True when the head holds a sample older than ts. */
bool ward_sqlite_head_older_than(const struct sqlite_store *s, int64_t ts);

/*
 * Moves every sample of the head into the samples table and empties
 * head_log, in one transaction of its own; the caller holds writer.lock and
 * no transaction is open. Returns 0, or an error with the head unchanged.
 */
int ward_sqlite_head_flush(struct sqlite_store *s);

/*
 * One step of the incremental flush, after a group of group_points samples
 * committed; each step is a transaction of its own and handles at least
 * max(step, twice the group) points or rows, so none holds the writer for
 * long. When the head is over its limit a sweep begins: its steps move the
 * next series, in id order, into samples. Once every series is moved, the
 * next steps delete the head_log rows that were there when the sweep began,
 * oldest first. Rows added since, of series already moved, stay until the
 * next sweep: loaded after a crash they are duplicates, which are ignored.
 * The caller holds writer.lock and no transaction is open. Returns 0, or an
 * error with the head unchanged (the step is tried again after the next
 * group).
 */
int ward_sqlite_head_sweep(struct sqlite_store *s, size_t group_points);

/*
 * Copies the head's points of the n series ids with from <= ts <= to, the
 * newest max of each at most, oldest first, into *out (free it with
 * ward_sqlite_head_copy_done()). Returns 0 or -ENOMEM.
 */
int ward_sqlite_head_copy(struct head *h, const int64_t *ids, size_t n, int64_t from, int64_t to,
                          size_t max, struct head_copy *out);
void ward_sqlite_head_copy_done(struct head_copy *c);

/*
 * Stores in *out (to be freed) the newest point of every series that has
 * points in the head, ordered by series id, and their number in *n.
 * Returns 0 or -ENOMEM.
 */
int ward_sqlite_head_newest(struct head *h, struct sample_row **out, size_t *n);

/*
 * Sets the number of samples the head of store s (which must be an SQLite
 * store; others are left alone) holds before a flush. For tests; the
 * default is HEAD_LIMIT_DEFAULT. The next group write flushes when the head
 * is above the new limit.
 */
void ward_sqlite_set_head_limit(struct ward_store *s, size_t limit);

/* Sets the smallest step of the incremental flush, in points (tests); 0 = HEAD_STEP_DEFAULT. */
void ward_sqlite_set_head_step(struct ward_store *s, size_t step);

/* ---- store-sqlite-write.c ---- */

/*
 * Inserts v[0, n) with the widest statements of the family that starts at
 * first (ST_SAMPLE_INSERT or ST_HEAD_INSERT) that fit. Returns 0 or an error.
 */
int ward_sqlite_insert_rows(struct conn *c, enum stmt_id first, const struct sample_row *v,
                            size_t n);

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

/* The columns of a host row, in the order ward_sqlite_host_row() reads them. */
#define WARD_SQLITE_HOST_SELECT                                                                    \
    "SELECT h.id, h.hostname, h.ip_address, h.os, h.labels, h.agent_version, h.status,"            \
    " h.last_seen, h.created_at, h.updated_at, h.name, h.section_id, s.tenant_id,"                 \
    " h.claim_token_hash FROM hosts AS h LEFT JOIN sections AS s ON s.id = h.section_id"

/* Calls fn with the host of the current row of st (WARD_SQLITE_HOST_SELECT). */
int ward_sqlite_host_row(sqlite3_stmt *st, ward_store_host_fn fn, void *userdata);

/* ---- store-sqlite-registry.c ---- */

/*
 * See the ward_store_ops methods of the same names. They take the base
 * handle and go into the method table as they are.
 */
int ward_sqlite_host_enroll(struct ward_store *s, const struct ward_enrollment *e,
                            char *status_out);
int ward_sqlite_host_get(struct ward_store *s, const char *id, ward_store_host_fn fn,
                         void *userdata);
int ward_sqlite_host_change(struct ward_store *s, const struct ward_host_change *c);
int ward_sqlite_host_purge(struct ward_store *s, const char *id);
int ward_sqlite_credential_add(struct ward_store *s, const struct ward_credential *c,
                               bool revoke_host_keys);
int ward_sqlite_credential_find(struct ward_store *s, const char *lookup,
                                ward_store_credential_fn fn, void *userdata);
int ward_sqlite_credential_list(struct ward_store *s, const char *kind, ward_store_credential_fn fn,
                                void *userdata);
int ward_sqlite_credential_revoke(struct ward_store *s, const char *id, const char *host_id);
int ward_sqlite_group_add(struct ward_store *s, const struct ward_group *g, char *id_out);
int ward_sqlite_group_list(struct ward_store *s, bool sections, const char *tenant_id,
                           ward_store_group_fn fn, void *userdata);
int ward_sqlite_config_get(struct ward_store *s, const char *scope, const char *id,
                           ward_store_config_fn fn, void *userdata);
int ward_sqlite_config_set(struct ward_store *s, const char *scope, const char *id,
                           const char *body, int64_t *version);

/* ---- store-sqlite-commands.c ---- */

/* See the ward_store_ops methods of the same names; they go into the method table as they are. */
int ward_sqlite_command_add(struct ward_store *s, const struct ward_command *c, size_t max_pending);
int ward_sqlite_command_dispatch(struct ward_store *s, const char *host_id, int64_t now_ms,
                                 ward_store_command_fn fn, void *userdata);
int ward_sqlite_command_finish(struct ward_store *s, const char *id, const char *host_id,
                               const struct ward_command_result *res);
int ward_sqlite_command_get(struct ward_store *s, const char *id, ward_store_command_fn fn,
                            void *userdata);
int ward_sqlite_command_list(struct ward_store *s, const struct ward_command_filter *f,
                             ward_store_command_fn fn, void *userdata);
int ward_sqlite_command_expire(struct ward_store *s, int64_t now_ms, int64_t result_before_ms,
                               ward_store_command_fn fn, void *userdata);
int ward_sqlite_command_prune(struct ward_store *s, int64_t before_ms, int64_t audit_before_ms);
int ward_sqlite_audit_list(struct ward_store *s, const struct ward_audit_filter *f,
                           ward_store_audit_fn fn, void *userdata);

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
 * Runs the range query q on connection c of store s, which the caller holds
 * locked, calling fn(row, userdata) for each row, newest first. The samples
 * are read in one read transaction, ended before returning, and merged with
 * the head's. Returns 0, the negative
 * value fn returned, WARD_E_LIMIT when the host has too many matching
 * series, or an error.
 */
int ward_sqlite_query(struct sqlite_store *s, struct conn *c, const struct ward_query *q,
                      ward_store_row_fn fn, void *userdata);

#endif
