/*
 * SQLite backend of the store: connections, schema and ingest.
 *
 * One database file in WAL mode holds hosts, series, samples and the keys of
 * the batches already delivered; docs/storage.md describes the schema, the
 * DSN forms and what each synchronous setting guarantees. The schema is
 * versioned by PRAGMA user_version and migrated in one transaction at open.
 *
 * Threads. All writes go through one connection guarded by a mutex: SQLite
 * admits one writer at a time anyway, and a single writer lets the series
 * cache live without locking of its own. Queries use a small pool of read
 * connections, each with its own mutex; in WAL mode a reader works on the
 * last committed snapshot and neither waits for the writer nor blocks it.
 * Every connection is opened with SQLITE_OPEN_NOMUTEX because our mutexes
 * already ensure that one thread at a time uses it, which makes SQLite's own
 * per-connection mutex (FULLMUTEX) pure overhead. An in-memory database is
 * private to the connection that opened it, so there the writer serves the
 * queries too and reads and writes take turns.
 *
 * Ingest. One BEGIN IMMEDIATE transaction per call: record the batch key
 * (a conflict means a retry of a stored batch, so roll back and report it),
 * upsert the host, then insert each sample with ON CONFLICT DO NOTHING so a
 * repeated (series, ts) is a no-op. Resolving a series id would cost a
 * SELECT per sample, so ids are cached in a bounded two-way set-associative
 * table keyed by host, category, name and labels. A failed transaction
 * clears that cache, because it may hold ids of series that were rolled back.
 * All statements are prepared once per connection and reused.
 *
 * Query. This file picks the connection a query runs on; the query itself,
 * a merge of per-series reads, is in store-sqlite-query.c. The statements
 * it uses are listed here with the others, because each connection prepares
 * and owns all of its statements. store-sqlite.h declares what the two files
 * share.
 */
#include "server/store/store-sqlite.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "server/store/store.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define SCHEMA_VERSION  1
#define BUSY_TIMEOUT_MS 5000
#define READERS         4

/* Page cache per connection, in KiB; the writer keeps the indexes it appends to hot. */
#define WRITER_CACHE_KIB 16384
#define READER_CACHE_KIB 4096

/* Series id cache: 2 * CACHE_SETS entries; longer keys are not cached. */
#define CACHE_SETS    32768
#define CACHE_MAX_KEY 512

/*
 * Migrations, applied in order; entry i brings the schema from version i to
 * i + 1. Entries are never edited once released, only appended.
 */
static const char *const migrations[] = {
    "CREATE TABLE hosts ("
    "  id TEXT PRIMARY KEY,"
    "  hostname TEXT,"
    "  ip_address TEXT,"
    "  os TEXT,"
    "  labels TEXT NOT NULL DEFAULT '{}',"
    "  agent_version TEXT,"
    "  status TEXT NOT NULL DEFAULT 'active',"
    "  last_seen INTEGER,"
    "  created_at INTEGER,"
    "  updated_at INTEGER"
    ");"
    "CREATE TABLE series ("
    "  id INTEGER PRIMARY KEY,"
    "  host_id TEXT NOT NULL REFERENCES hosts(id),"
    "  category TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  labels TEXT NOT NULL,"
    "  kind INTEGER NOT NULL,"
    "  UNIQUE (host_id, category, name, labels)"
    ");"
    "CREATE TABLE samples ("
    "  series_id INTEGER NOT NULL,"
    "  ts INTEGER NOT NULL,"
    "  value REAL NOT NULL,"
    "  PRIMARY KEY (series_id, ts)"
    ") WITHOUT ROWID;"
    "CREATE TABLE batches ("
    "  host_id TEXT NOT NULL,"
    "  boot INTEGER NOT NULL,"
    "  seq INTEGER NOT NULL,"
    "  received_at INTEGER NOT NULL,"
    "  PRIMARY KEY (host_id, boot, seq)"
    ") WITHOUT ROWID;",
};

_Static_assert(WARD_ARRAY_SIZE(migrations) == SCHEMA_VERSION, "one migration per version");

#define QUERY_SERIES_COLUMNS                                                                       \
    "SELECT id, category, name, labels, kind FROM series WHERE host_id = ?1"
#define QUERY_SERIES_ORDER " ORDER BY category, name, labels"

static const char *const stmt_sql[ST_COUNT] = {
    [ST_BATCH_INSERT] = "INSERT INTO batches (host_id, boot, seq, received_at)"
                        " VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
    [ST_HOST_UPSERT] = "INSERT INTO hosts (id, last_seen, created_at, updated_at)"
                       " VALUES (?1, ?2, ?2, ?2) ON CONFLICT (id) DO UPDATE"
                       " SET last_seen = excluded.last_seen, updated_at = excluded.updated_at",
    [ST_SERIES_SELECT] = "SELECT id FROM series"
                         " WHERE host_id = ?1 AND category = ?2 AND name = ?3 AND labels = ?4",
    [ST_SERIES_INSERT] = "INSERT INTO series (host_id, category, name, labels, kind)"
                         " VALUES (?1, ?2, ?3, ?4, ?5)",
    [ST_SAMPLE_INSERT] = "INSERT INTO samples (series_id, ts, value)"
                         " VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
    [ST_QUERY_SERIES] = QUERY_SERIES_COLUMNS QUERY_SERIES_ORDER,
    [ST_QUERY_SERIES_CATEGORY] = QUERY_SERIES_COLUMNS " AND category = ?2" QUERY_SERIES_ORDER,
    [ST_QUERY_SERIES_NAME] = QUERY_SERIES_COLUMNS " AND name = ?3" QUERY_SERIES_ORDER,
    [ST_QUERY_SERIES_CATEGORY_NAME] =
        QUERY_SERIES_COLUMNS " AND category = ?2 AND name = ?3" QUERY_SERIES_ORDER,
    [ST_QUERY_SAMPLES] = "SELECT ts, value FROM samples"
                         " WHERE series_id = ?1 AND ts >= ?2 AND ts <= ?3"
                         " ORDER BY ts DESC LIMIT ?4",
};

struct cache_entry {
    uint64_t hash;
    int64_t id;
    char *key; /* NULL when the entry is empty */
    size_t len;
};

struct sqlite_store {
    struct ward_store base;
    struct conn writer;
    struct conn readers[READERS];
    size_t nreaders; /* 0 for an in-memory database: the writer answers queries */
    atomic_uint next_reader;

    /* Guarded by writer.lock. */
    struct cache_entry *cache; /* CACHE_SETS sets of two, most recently used first */
    struct ward_buf key;       /* scratch for cache keys */
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ward_sqlite_rc(sqlite3 *db, int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return 0;
    case SQLITE_NOMEM:
        return -ENOMEM;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return -EBUSY;
    case SQLITE_FULL:
        return -ENOSPC;
    case SQLITE_READONLY:
        return -EROFS;
    case SQLITE_PERM:
    case SQLITE_AUTH:
        return -EACCES;
    case SQLITE_IOERR:
        return -EIO;
    case SQLITE_TOOBIG:
        return -E2BIG;
    case SQLITE_CANTOPEN: {
        int e = db ? sqlite3_system_errno(db) : 0;
        return e > 0 ? -e : WARD_E_STORE;
    }
    default:
        return WARD_E_STORE;
    }
}

int ward_sqlite_exec(sqlite3 *db, const char *sql)
{
    return ward_sqlite_rc(db, sqlite3_exec(db, sql, NULL, NULL, NULL));
}

void ward_sqlite_rollback(sqlite3 *db)
{
    if (!sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

static void stmt_finalizep(sqlite3_stmt **st)
{
    sqlite3_finalize(*st);
}

/* One-off statements are finalized when done; borrowed ones are reset (_cleanup_reset_). */
#define _cleanup_finalize_ _cleanup_(stmt_finalizep)

int ward_sqlite_stmt_get(struct conn *c, enum stmt_id id, sqlite3_stmt **out)
{
    if (!c->stmt[id]) {
        int rc = sqlite3_prepare_v3(c->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                                    &c->stmt[id], NULL);
        if (rc != SQLITE_OK)
            return ward_sqlite_rc(c->db, rc);
    }
    *out = c->stmt[id];
    return 0;
}

/* Steps a statement that returns no rows. */
static int step_done(struct conn *c, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    return rc == SQLITE_DONE ? 0 : ward_sqlite_rc(c->db, rc == SQLITE_ROW ? SQLITE_MISUSE : rc);
}

/* ---- DSN and opening ---- */

static const char *const dsn_prefixes[] = {"sqlite://", "sqlite:", "file://", "file:"};

static bool has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static const char *dsn_path(const char *dsn)
{
    for (size_t i = 0; i < WARD_ARRAY_SIZE(dsn_prefixes); i++)
        if (has_prefix(dsn, dsn_prefixes[i]))
            return dsn + strlen(dsn_prefixes[i]);
    return dsn;
}

static bool sqlite_accepts(const char *dsn)
{
    if (dsn == NULL || dsn[0] == '\0')
        return false;
    if (has_prefix(dsn, "sqlite:") || has_prefix(dsn, "file:"))
        return true;
    if (strstr(dsn, "://") || has_prefix(dsn, "postgres:") || has_prefix(dsn, "postgresql:"))
        return false;
    return true;
}

/*
 * SQLite reports every failed open as SQLITE_CANTOPEN; checking the directory
 * first makes a missing one a plain -ENOENT (or -ENOTDIR), which is what the
 * operator needs to read. The server creates its data directory itself.
 */
static int check_parent(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        return 0;
    _cleanup_free_ char *dir = strndup(path, slash == path ? 1 : (size_t)(slash - path));
    if (dir == NULL)
        return -ENOMEM;
    struct stat st;
    if (stat(dir, &st) < 0)
        return -errno;
    return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

static int conn_open(struct conn *c, const char *path, bool reader,
                     const struct ward_store_options *opt)
{
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_PRIVATECACHE;
    if (!reader)
        flags |= SQLITE_OPEN_CREATE;
    int rc = sqlite3_open_v2(path, &c->db, flags, NULL);
    if (rc != SQLITE_OK)
        return ward_sqlite_rc(c->db, rc);
    rc = sqlite3_busy_timeout(c->db, BUSY_TIMEOUT_MS);
    if (rc != SQLITE_OK)
        return ward_sqlite_rc(c->db, rc);

    bool full = opt != NULL && opt->synchronous_full;
    char sql[256];
    int n = snprintf(sql, sizeof(sql),
                     "PRAGMA foreign_keys = ON;"
                     "PRAGMA synchronous = %s;"
                     "PRAGMA cache_size = -%d;"
                     "PRAGMA temp_store = MEMORY;"
                     "PRAGMA query_only = %s;",
                     full ? "FULL" : "NORMAL", reader ? READER_CACHE_KIB : WRITER_CACHE_KIB,
                     reader ? "ON" : "OFF");
    if (n < 0 || (size_t)n >= sizeof(sql))
        return -EOVERFLOW;
    return ward_sqlite_exec(c->db, sql);
}

static void conn_close(struct conn *c, bool optimize)
{
    for (size_t i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(c->stmt[i]);
    if (c->db && optimize)
        sqlite3_exec(c->db, "PRAGMA optimize", NULL, NULL, NULL);
    sqlite3_close_v2(c->db);
    pthread_mutex_destroy(&c->lock);
}

static int set_wal(struct conn *c)
{
    _cleanup_finalize_ sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(c->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return ward_sqlite_rc(c->db, rc);
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW)
        return ward_sqlite_rc(c->db, rc);
    const unsigned char *mode = sqlite3_column_text(st, 0);
    if (mode == NULL || strcmp((const char *)mode, "wal") != 0)
        return WARD_E_STORE;
    return ward_sqlite_exec(c->db, "PRAGMA journal_size_limit = 67108864");
}

static int user_version(struct conn *c, int *out)
{
    _cleanup_finalize_ sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return ward_sqlite_rc(c->db, rc);
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW)
        return ward_sqlite_rc(c->db, rc);
    *out = sqlite3_column_int(st, 0);
    return 0;
}

static int migrate_locked(struct conn *c)
{
    int version = 0;
    int r = user_version(c, &version);
    if (r < 0)
        return r;
    /* A database written by a newer ward: its schema is unknown here. */
    if (version < 0 || version > SCHEMA_VERSION)
        return WARD_E_STORE;
    for (int v = version; v < SCHEMA_VERSION; v++) {
        r = ward_sqlite_exec(c->db, migrations[v]);
        if (r < 0)
            return r;
    }
    if (version == SCHEMA_VERSION)
        return 0;
    char sql[64];
    snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", SCHEMA_VERSION);
    return ward_sqlite_exec(c->db, sql);
}

static int migrate(struct conn *c)
{
    int r = ward_sqlite_exec(c->db, "BEGIN IMMEDIATE");
    if (r < 0)
        return r;
    r = migrate_locked(c);
    if (r == 0)
        r = ward_sqlite_exec(c->db, "COMMIT");
    if (r < 0)
        ward_sqlite_rollback(c->db);
    return r;
}

static void cache_clear(struct sqlite_store *s)
{
    for (size_t i = 0; i < 2 * CACHE_SETS; i++) {
        free(s->cache[i].key);
        s->cache[i] = (struct cache_entry){0};
    }
}

static void sqlite_store_free(struct sqlite_store *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < READERS; i++)
        conn_close(&s->readers[i], false);
    /* The writer goes last: the last connection to close checkpoints the WAL. */
    conn_close(&s->writer, true);
    if (s->cache)
        cache_clear(s);
    free(s->cache);
    ward_buf_done(&s->key);
    free(s);
}

WARD_DEFINE_CLEANUP(struct sqlite_store, sqlite_store_free)

static int sqlite_open(const char *dsn, const struct ward_store_options *opt,
                       struct ward_store **out)
{
    /* Our own mutexes assume a library built thread-safe; NOMUTEX needs that. */
    if (!sqlite3_threadsafe())
        return -EOPNOTSUPP;

    const char *path = dsn_path(dsn);
    if (path[0] == '\0')
        return -EINVAL;
    bool memory = strcmp(path, ":memory:") == 0;
    if (!memory) {
        int r = check_parent(path);
        if (r < 0)
            return r;
    }

    _cleanup_(sqlite_store_freep) struct sqlite_store *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return -ENOMEM;
    s->base.ops = &ward_store_sqlite_ops;
    s->writer.lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
    for (size_t i = 0; i < READERS; i++)
        s->readers[i].lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
    ward_buf_init(&s->key, 0);
    s->cache = calloc(2 * CACHE_SETS, sizeof(*s->cache));
    if (s->cache == NULL)
        return -ENOMEM;

    int r = conn_open(&s->writer, path, false, opt);
    if (r < 0)
        return r;
    if (!memory) {
        r = set_wal(&s->writer);
        if (r < 0)
            return r;
    }
    r = migrate(&s->writer);
    if (r < 0)
        return r;

    /* Readers open after the migration, so they never see a half-made schema. */
    if (!memory) {
        for (size_t i = 0; i < READERS; i++) {
            r = conn_open(&s->readers[i], path, true, opt);
            if (r < 0)
                return r;
        }
        s->nreaders = READERS;
    }

    *out = &WARD_TAKE_PTR(s)->base;
    return 0;
}

static void sqlite_close(struct ward_store *base)
{
    sqlite_store_free((struct sqlite_store *)base);
}

/* ---- Series id cache ---- */

/* FNV-1a, then folded so the low bits used for the set index depend on every byte. */
static uint64_t hash_key(const char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 0x100000001b3ULL;
    }
    return h ^ (h >> 29) ^ (h >> 47);
}

static struct cache_entry *cache_set(struct sqlite_store *s, uint64_t hash)
{
    return &s->cache[(hash & (CACHE_SETS - 1)) * 2];
}

static bool cache_find(struct sqlite_store *s, uint64_t hash, const char *key, size_t len,
                       int64_t *id)
{
    struct cache_entry *set = cache_set(s, hash);
    for (size_t i = 0; i < 2; i++) {
        struct cache_entry *e = &set[i];
        if (e->key && e->hash == hash && e->len == len && memcmp(e->key, key, len) == 0) {
            *id = e->id;
            if (i == 1) {
                struct cache_entry t = set[0];
                set[0] = set[1];
                set[1] = t;
            }
            return true;
        }
    }
    return false;
}

/* Caching is an optimisation: when the copy cannot be made, the next lookup asks the database. */
static void cache_put(struct sqlite_store *s, uint64_t hash, const char *key, size_t len,
                      int64_t id)
{
    if (len > CACHE_MAX_KEY)
        return;
    char *copy = malloc(len);
    if (copy == NULL)
        return;
    memcpy(copy, key, len);
    struct cache_entry *set = cache_set(s, hash);
    free(set[1].key);
    set[1] = set[0];
    set[0] = (struct cache_entry){.hash = hash, .id = id, .key = copy, .len = len};
}

/* ---- Ingest ---- */

static int series_lookup(struct conn *c, const char *host, const struct ward_sample *x, int64_t *id)
{
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r = ward_sqlite_stmt_get(c, ST_SERIES_SELECT, &st);
    if (r < 0)
        return r;
    int rc = ward_sqlite_bind_text(st, 1, host);
    rc = rc ?: ward_sqlite_bind_text(st, 2, x->category);
    rc = rc ?: ward_sqlite_bind_text(st, 3, x->name);
    rc = rc ?: ward_sqlite_bind_text(st, 4, x->labels);
    r = ward_sqlite_bind_rc(c, rc);
    if (r < 0)
        return r;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(st, 0);
        return 1;
    }
    return rc == SQLITE_DONE ? 0 : ward_sqlite_rc(c->db, rc);
}

static int series_create(struct conn *c, const char *host, const struct ward_sample *x, int64_t *id)
{
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r = ward_sqlite_stmt_get(c, ST_SERIES_INSERT, &st);
    if (r < 0)
        return r;
    int rc = ward_sqlite_bind_text(st, 1, host);
    rc = rc ?: ward_sqlite_bind_text(st, 2, x->category);
    rc = rc ?: ward_sqlite_bind_text(st, 3, x->name);
    rc = rc ?: ward_sqlite_bind_text(st, 4, x->labels);
    rc = rc ?: sqlite3_bind_int(st, 5, (int)x->kind);
    r = ward_sqlite_bind_rc(c, rc);
    if (r < 0)
        return r;
    r = step_done(c, st);
    if (r < 0)
        return r;
    *id = sqlite3_last_insert_rowid(c->db);
    return 0;
}

/* Finds or creates the series of a sample. The first kind written for a series stays. */
static int series_id(struct sqlite_store *s, const char *host, const struct ward_sample *x,
                     int64_t *id)
{
    struct ward_buf *k = &s->key;
    ward_buf_reset(k);
    /* NUL separators: none of the parts can contain one, so the key is unambiguous. */
    int r = ward_buf_append(k, host, strlen(host) + 1);
    if (r == 0)
        r = ward_buf_append(k, x->category, strlen(x->category) + 1);
    if (r == 0)
        r = ward_buf_append(k, x->name, strlen(x->name) + 1);
    if (r == 0)
        r = ward_buf_append(k, x->labels, strlen(x->labels));
    if (r < 0)
        return r;

    uint64_t hash = hash_key(k->data, k->len);
    if (cache_find(s, hash, k->data, k->len, id))
        return 0;

    r = series_lookup(&s->writer, host, x, id);
    if (r == 0)
        r = series_create(&s->writer, host, x, id);
    if (r < 0)
        return r;
    cache_put(s, hash, k->data, k->len, *id);
    return 0;
}

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
    r = step_done(c, st);
    if (r < 0)
        return r;
    return sqlite3_changes(c->db) == 0 ? 1 : 0;
}

static int host_touch(struct conn *c, const char *host, int64_t now)
{
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r = ward_sqlite_stmt_get(c, ST_HOST_UPSERT, &st);
    if (r < 0)
        return r;
    int rc = ward_sqlite_bind_text(st, 1, host);
    rc = rc ?: sqlite3_bind_int64(st, 2, now);
    r = ward_sqlite_bind_rc(c, rc);
    if (r < 0)
        return r;
    return step_done(c, st);
}

static int sample_insert(struct conn *c, int64_t series, const struct ward_sample *x)
{
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r = ward_sqlite_stmt_get(c, ST_SAMPLE_INSERT, &st);
    if (r < 0)
        return r;
    int rc = sqlite3_bind_int64(st, 1, series);
    rc = rc ?: sqlite3_bind_int64(st, 2, x->ts_ms);
    rc = rc ?: sqlite3_bind_double(st, 3, x->value);
    r = ward_sqlite_bind_rc(c, rc);
    if (r < 0)
        return r;
    return step_done(c, st);
}

/* The body of the ingest transaction. Returns 0, 1 for a duplicate batch, or an error. */
static int ingest_tx(struct sqlite_store *s, const char *host, const struct ward_batch_key *batch,
                     const struct ward_sample *v, size_t n)
{
    struct conn *c = &s->writer;
    int64_t now = now_ms();
    int r;

    if (batch) {
        r = batch_record(c, host, batch, now);
        if (r != 0)
            return r;
    }
    r = host_touch(c, host, now);
    if (r < 0)
        return r;
    for (size_t i = 0; i < n; i++) {
        int64_t id = 0;
        r = series_id(s, host, &v[i], &id);
        if (r < 0)
            return r;
        r = sample_insert(c, id, &v[i]);
        if (r < 0)
            return r;
    }
    return 0;
}

/* Runs one batch of a group inside a savepoint, so its failure undoes only itself. */
static int write_one(struct sqlite_store *s, struct ward_write *w)
{
    struct conn *c = &s->writer;
    int r = ward_sqlite_exec(c->db, "SAVEPOINT batch");
    if (r < 0)
        return r;
    r = ingest_tx(s, w->host_id, w->batch, w->samples, w->n);
    if (r == 0) {
        r = ward_sqlite_exec(c->db, "RELEASE batch");
    } else {
        ward_sqlite_exec(c->db, "ROLLBACK TO batch");
        ward_sqlite_exec(c->db, "RELEASE batch");
        if (r < 0)
            cache_clear(s);
    }
    return r;
}

static int sqlite_write(struct ward_store *base, struct ward_write *w, size_t n)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    struct conn *c = &s->writer;

    pthread_mutex_lock(&c->lock);
    int r = ward_sqlite_exec(c->db, "BEGIN IMMEDIATE");
    for (size_t i = 0; r == 0 && i < n; i++) {
        w[i].result = write_one(s, &w[i]);
        /* Out of memory or disk fails the whole group: nothing more can commit. */
        if (w[i].result == -ENOMEM || w[i].result == -ENOSPC || w[i].result == -EIO)
            r = w[i].result;
    }
    if (r == 0)
        r = ward_sqlite_exec(c->db, "COMMIT");
    if (r < 0) {
        ward_sqlite_rollback(c->db);
        cache_clear(s);
        for (size_t i = 0; i < n; i++)
            w[i].result = r;
    }
    pthread_mutex_unlock(&c->lock);
    return r;
}

/* ---- Query ---- */

/*
 * Locks a connection for a query: the writer when there is no reader pool,
 * else the first free reader, trying them from a start that rotates on every
 * call, else the reader at that start once it is free.
 */
static struct conn *reader_lock(struct sqlite_store *s)
{
    if (s->nreaders == 0) {
        pthread_mutex_lock(&s->writer.lock);
        return &s->writer;
    }
    unsigned start = atomic_fetch_add_explicit(&s->next_reader, 1, memory_order_relaxed);
    for (size_t i = 0; i < s->nreaders; i++) {
        struct conn *c = &s->readers[(start + i) % s->nreaders];
        if (pthread_mutex_trylock(&c->lock) == 0)
            return c;
    }
    struct conn *c = &s->readers[start % s->nreaders];
    pthread_mutex_lock(&c->lock);
    return c;
}

static int sqlite_query(struct ward_store *base, const struct ward_query *q, ward_store_row_fn fn,
                        void *userdata)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    /* Nothing can match: answer without taking a connection. */
    if (q->limit == 0 || q->from_ms > q->to_ms)
        return 0;

    struct conn *c = reader_lock(s);
    int r = ward_sqlite_query(c, q, fn, userdata);
    pthread_mutex_unlock(&c->lock);
    return r;
}

const struct ward_store_ops ward_store_sqlite_ops = {
    .size = sizeof(struct ward_store_ops),
    .name = "sqlite",
    .accepts = sqlite_accepts,
    .open = sqlite_open,
    .close = sqlite_close,
    .write = sqlite_write,
    .query = sqlite_query,
};