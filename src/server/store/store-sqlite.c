/*
 * SQLite backend of the store: connections, schema and statements.
 *
 * One database file in WAL mode holds hosts, series, samples, the keys of
 * the batches already delivered, the registry and the command queue;
 * docs/storage.md describes the schema, the DSN forms and what each
 * synchronous setting guarantees. The schema is versioned by PRAGMA
 * user_version and migrated in one transaction at open.
 *
 * Threads. All writes go through one connection guarded by a mutex: SQLite
 * admits one writer at a time anyway, and a single writer lets the series
 * cache live without locking of its own. Reads use a small pool of read
 * connections, each with its own mutex; in WAL mode a reader works on the
 * last committed snapshot and neither waits for the writer nor blocks it.
 * Every connection is opened with SQLITE_OPEN_NOMUTEX because our mutexes
 * already ensure that one thread at a time uses it, which makes SQLite's own
 * per-connection mutex (FULLMUTEX) pure overhead. An in-memory database is
 * private to the connection that opened it, so there the writer serves the
 * reads too and reads and writes take turns.
 *
 * Statements. Every statement the backend runs more than once is listed in
 * stmt_sql[] below, prepared on a connection the first time it is used
 * there (SQLITE_PREPARE_PERSISTENT) and kept until the connection closes.
 * Keeping all the SQL in one table shows at a glance what the schema has to
 * serve; the methods themselves live in the files named in
 * store-sqlite.h, and this file only lends them a connection.
 */
#include "server/store/store-sqlite.h"
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

#define SCHEMA_VERSION  5
#define BUSY_TIMEOUT_MS 5000

/* Page cache per connection, in KiB; the writer keeps the indexes it appends to hot. */
#define WRITER_CACHE_KIB 32768
#define READER_CACHE_KIB 8192

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

    /*
     * Version 2: registration finds hosts by hostname, and the host list is
     * ordered by hostname then id, both straight from this index. It is not
     * UNIQUE: hosts made by ingest have no hostname, and a database may
     * already hold two hosts of one name (registration then picks the oldest).
     * Retention deletes batch keys by age, oldest first, from the second.
     */
    "CREATE INDEX hosts_hostname ON hosts (hostname, id);"
    "CREATE INDEX batches_received_at ON batches (received_at);",

    /*
     * Version 3: group writes append new samples here, in the order they
     * arrive, and a flush moves them into samples (store-sqlite-head.c).
     * A rowid table fills its pages in order, so a commit writes a few
     * sequential pages instead of one or two per series it touched.
     */
    "CREATE TABLE head_log ("
    "  seq INTEGER PRIMARY KEY,"
    "  series_id INTEGER NOT NULL,"
    "  ts INTEGER NOT NULL,"
    "  value REAL NOT NULL"
    ");",

    /*
     * Version 4: the registry. Tenants hold sections, sections hold hosts;
     * the default tenant and section have fixed ids, so every ward database
     * names them alike, and hosts of older versions land in them.
     * Credentials are stored as their lookup part and a SHA-256, never the
     * secret. Configuration documents carry versions from one sequence.
     */
    "CREATE TABLE tenants ("
    "  id TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  created_at INTEGER NOT NULL"
    ");"
    "CREATE TABLE sections ("
    "  id TEXT PRIMARY KEY,"
    "  tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    "  name TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  UNIQUE (tenant_id, name)"
    ");"
    "INSERT INTO tenants VALUES ('" WARD_DEFAULT_TENANT "', 'default', 0);"
    "INSERT INTO sections VALUES ('" WARD_DEFAULT_SECTION "', '" WARD_DEFAULT_TENANT
    "', 'default', 0);"
    "ALTER TABLE hosts ADD COLUMN section_id TEXT NOT NULL DEFAULT '" WARD_DEFAULT_SECTION "';"
    "ALTER TABLE hosts ADD COLUMN name TEXT;"
    "ALTER TABLE hosts ADD COLUMN claim_token_hash TEXT;"
    "CREATE TABLE credentials ("
    "  id TEXT PRIMARY KEY,"
    "  kind TEXT NOT NULL,"
    "  lookup TEXT NOT NULL UNIQUE,"
    "  hash TEXT NOT NULL,"
    "  host_id TEXT,"
    "  tenant_id TEXT,"
    "  name TEXT,"
    "  created_at INTEGER NOT NULL,"
    "  revoked_at INTEGER"
    ");"
    "CREATE INDEX credentials_host ON credentials (host_id) WHERE host_id IS NOT NULL;"
    "CREATE TABLE configs ("
    "  scope TEXT NOT NULL,"
    "  id TEXT NOT NULL,"
    "  version INTEGER NOT NULL,"
    "  body TEXT NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  PRIMARY KEY (scope, id)"
    ") WITHOUT ROWID;",

    /*
     * Version 5: the command queue and its audit log. A command goes with
     * its host (a purge deletes the host row, and ON DELETE CASCADE its
     * commands); audit entries have no foreign key and outlive both.
     * commands_host serves the dispatch (the oldest queued command of a
     * host is one seek), the count of a host's pending commands and the
     * cascade; commands_created the list, newest first; commands_state
     * pruning, commands_expiring and commands_running the expiry sweep.
     * Commands and audit entries keep the tenant their host was in when the
     * command was queued: a host that moves, or an id that a purged host
     * had and a new agent takes, does not take their history along.
     * AUTOINCREMENT keeps audit ids growing after a prune has deleted the
     * newest entries.
     */
    "CREATE TABLE commands ("
    "  id TEXT PRIMARY KEY,"
    "  host_id TEXT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,"
    "  type TEXT NOT NULL,"
    "  args TEXT NOT NULL,"
    "  state TEXT NOT NULL"
    "    CHECK (state IN ('queued', 'dispatched', 'done', 'failed', 'expired')),"
    "  requested_by TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  expires_ms INTEGER NOT NULL,"
    "  dispatched_ms INTEGER NOT NULL DEFAULT 0,"
    "  finished_ms INTEGER NOT NULL DEFAULT 0,"
    "  exit_code INTEGER NOT NULL DEFAULT 0,"
    "  error TEXT,"
    "  output TEXT,"
    "  output_bytes INTEGER NOT NULL DEFAULT 0,"
    "  truncated INTEGER NOT NULL DEFAULT 0,"
    "  tenant_id TEXT NOT NULL"
    ");"
    "CREATE INDEX commands_host ON commands (host_id, state, created_ms, id);"
    "CREATE INDEX commands_created ON commands (created_ms, id);"
    "CREATE INDEX commands_tenant ON commands (tenant_id, created_ms, id);"
    "CREATE INDEX commands_state ON commands (state, finished_ms);"
    "CREATE INDEX commands_expiring ON commands (state, expires_ms);"
    "CREATE INDEX commands_running ON commands (state, dispatched_ms);"
    "CREATE TABLE command_audit ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  ts_ms INTEGER NOT NULL,"
    "  command_id TEXT NOT NULL,"
    "  host_id TEXT NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  event TEXT NOT NULL,"
    "  detail TEXT NOT NULL,"
    "  tenant_id TEXT NOT NULL"
    ");"
    "CREATE INDEX command_audit_command ON command_audit (command_id);"
    "CREATE INDEX command_audit_tenant ON command_audit (tenant_id, id);"
    "CREATE INDEX command_audit_host ON command_audit (host_id);"
    "CREATE INDEX command_audit_ts ON command_audit (ts_ms);",
};

_Static_assert(WARD_ARRAY_SIZE(migrations) == SCHEMA_VERSION, "one migration per version");

/* The multi-row sample inserts: "(?,?,?)" per row, comma-separated. */
#define ROW1   "(?,?,?)"
#define ROWS8  ROW1 "," ROW1 "," ROW1 "," ROW1 "," ROW1 "," ROW1 "," ROW1 "," ROW1
#define ROWS64 ROWS8 "," ROWS8 "," ROWS8 "," ROWS8 "," ROWS8 "," ROWS8 "," ROWS8 "," ROWS8
_Static_assert(sizeof(ROWS8) == SAMPLE_INSERT_NARROW * 8, "narrow insert width");
_Static_assert(sizeof(ROWS64) == SAMPLE_INSERT_WIDE * 8, "wide insert width");

/*
 * OR IGNORE rather than ON CONFLICT DO NOTHING: both skip a (series, ts)
 * that is stored already, but OR IGNORE also turns the NOT NULL
 * constraints from "abort" into "skip the row". A multi-row statement that
 * might abort half-way needs a statement journal, into which SQLite copies
 * every page before the statement first changes it; one that cannot abort
 * needs none. store.c has checked every value, so there is no NULL to skip.
 */
#define SAMPLE_INSERT "INSERT OR IGNORE INTO samples (series_id, ts, value) VALUES "
#define HEAD_INSERT   "INSERT OR IGNORE INTO head_log (series_id, ts, value) VALUES "

#define SERIES_LIST_COLUMNS "SELECT id, host_id, category, name, labels, kind FROM series"
#define SERIES_LIST_ORDER   " ORDER BY host_id, category, name, labels"

#define QUERY_SERIES_COLUMNS                                                                       \
    "SELECT id, category, name, labels, kind FROM series WHERE host_id = ?1"
#define QUERY_SERIES_ORDER " ORDER BY category, name, labels"

/* A command's columns, with output as the expression given: lists leave it out. */
#define COMMAND_COLUMNS(output)                                                                    \
    "SELECT c.id, c.host_id, c.type, c.args, c.state, c.requested_by, c.created_ms,"               \
    " c.expires_ms, c.dispatched_ms, c.finished_ms, c.exit_code, c.error, " output ","             \
    " c.output_bytes, c.truncated, c.tenant_id FROM commands AS c"

/*
 * The filters of the command list, each of which may be NULL but since
 * (?5), which store-sqlite-commands.c binds as INT64_MIN for "any". The
 * host filter is written out in front in ST_CMD_LIST_HOST, so that it
 * searches commands_host instead of walking all commands newest first.
 */
#define COMMAND_FILTER                                                                             \
    " (?2 IS NULL OR c.tenant_id = ?2)"                                                            \
    " AND (?3 IS NULL OR c.state = ?3) AND (?4 IS NULL OR c.type = ?4)"                            \
    " AND c.created_ms >= ?5 ORDER BY c.created_ms DESC, c.id DESC LIMIT ?6"

#define AUDIT_COLUMNS                                                                              \
    "SELECT a.id, a.ts_ms, a.command_id, a.host_id, a.actor, a.event, a.detail"                    \
    " FROM command_audit AS a WHERE "

/* The filters of the audit log: host ?1, tenant ?2 (as when the command was queued), command ?3. */
#define AUDIT_FILTER                                                                               \
    " (?1 IS NULL OR a.host_id = ?1) AND (?2 IS NULL OR a.tenant_id = ?2)"                         \
    " AND (?3 IS NULL OR a.command_id = ?3) ORDER BY a.id DESC LIMIT ?4"

static const char *const stmt_sql[ST_COUNT] = {
    [ST_SAVEPOINT] = "SAVEPOINT batch",
    [ST_RELEASE] = "RELEASE batch",
    [ST_ROLLBACK_TO] = "ROLLBACK TO batch",
    [ST_BATCH_INSERT] = "INSERT INTO batches (host_id, boot, seq, received_at)"
                        " VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
    [ST_HOST_TOUCH] = "INSERT INTO hosts (id, last_seen, created_at, updated_at)"
                      " VALUES (?1, ?2, ?2, ?2) ON CONFLICT (id) DO UPDATE"
                      " SET last_seen = excluded.last_seen, updated_at = excluded.updated_at",
    [ST_SERIES_SELECT] = "SELECT id FROM series"
                         " WHERE host_id = ?1 AND category = ?2 AND name = ?3 AND labels = ?4",
    [ST_SERIES_INSERT] = "INSERT INTO series (host_id, category, name, labels, kind)"
                         " VALUES (?1, ?2, ?3, ?4, ?5)",
    [ST_SAMPLE_INSERT] = SAMPLE_INSERT ROW1,
    [ST_SAMPLE_INSERT_NARROW] = SAMPLE_INSERT ROWS8,
    [ST_SAMPLE_INSERT_WIDE] = SAMPLE_INSERT ROWS64,
    [ST_HEAD_INSERT] = HEAD_INSERT ROW1,
    [ST_HEAD_INSERT_NARROW] = HEAD_INSERT ROWS8,
    [ST_HEAD_INSERT_WIDE] = HEAD_INSERT ROWS64,
    [ST_HEAD_LOAD] = "SELECT series_id, ts, value FROM head_log ORDER BY seq",
    [ST_HEAD_CLEAR] = "DELETE FROM head_log",
    [ST_HEAD_MARK] = "SELECT coalesce(max(seq), 0) FROM head_log",
    [ST_HEAD_CLEAR_TO] = "DELETE FROM head_log WHERE seq <= ?1",
    [ST_SAMPLE_MAX] = "SELECT max(ts) FROM samples WHERE series_id = ?1",
    [ST_SAMPLE_EXISTS] = "SELECT 1 FROM samples WHERE series_id = ?1 AND ts = ?2",

    [ST_PRUNE_SERIES] = "SELECT id FROM series WHERE id > ?1 ORDER BY id LIMIT ?2",
    [ST_PRUNE_OLDEST] = "SELECT ts FROM samples WHERE series_id = ?1 AND ts < ?2"
                        " ORDER BY ts LIMIT 1",
    [ST_PRUNE_NTH] = "SELECT ts FROM samples WHERE series_id = ?1 AND ts < ?2"
                     " ORDER BY ts LIMIT 1 OFFSET ?3",
    [ST_PRUNE_DELETE] = "DELETE FROM samples WHERE series_id = ?1 AND ts < ?2",
    [ST_PRUNE_BATCHES] = "DELETE FROM batches WHERE (host_id, boot, seq) IN"
                         " (SELECT host_id, boot, seq FROM batches WHERE received_at < ?1"
                         " ORDER BY received_at LIMIT ?2)",

    [ST_HOST_BY_NAME] = "SELECT id, ip_address, os, labels, agent_version FROM hosts"
                        " WHERE hostname = ?1 ORDER BY id LIMIT 1",
    [ST_HOST_INSERT] = "INSERT INTO hosts (id, hostname, ip_address, os, labels, agent_version,"
                       " status, created_at, updated_at)"
                       " VALUES (?1, ?2, ?3, ?4, coalesce(?5, '{}'), ?6, 'active', ?7, ?7)",
    [ST_HOST_UPDATE] = "UPDATE hosts SET ip_address = coalesce(?2, ip_address),"
                       " os = coalesce(?3, os), labels = coalesce(?4, labels),"
                       " agent_version = coalesce(?5, agent_version), updated_at = ?6"
                       " WHERE id = ?1",
    [ST_HOST_LIST] = WARD_SQLITE_HOST_SELECT " ORDER BY h.hostname, h.id",

    [ST_SERIES_LIST + 0] = SERIES_LIST_COLUMNS SERIES_LIST_ORDER,
    [ST_SERIES_LIST + 1] = SERIES_LIST_COLUMNS " WHERE host_id = ?1" SERIES_LIST_ORDER,
    [ST_SERIES_LIST + 2] = SERIES_LIST_COLUMNS " WHERE category = ?2" SERIES_LIST_ORDER,
    [ST_SERIES_LIST + 3] =
        SERIES_LIST_COLUMNS " WHERE host_id = ?1 AND category = ?2" SERIES_LIST_ORDER,
    [ST_SERIES_LIST + 4] = SERIES_LIST_COLUMNS " WHERE name = ?3" SERIES_LIST_ORDER,
    [ST_SERIES_LIST + 5] =
        SERIES_LIST_COLUMNS " WHERE host_id = ?1 AND name = ?3" SERIES_LIST_ORDER,
    [ST_SERIES_LIST + 6] =
        SERIES_LIST_COLUMNS " WHERE category = ?2 AND name = ?3" SERIES_LIST_ORDER,
    [ST_SERIES_LIST + 7] =
        SERIES_LIST_COLUMNS " WHERE host_id = ?1 AND category = ?2 AND name = ?3" SERIES_LIST_ORDER,
    [ST_READ] = "SELECT ts, value FROM samples WHERE series_id = ?1 AND ts >= ?2 AND ts <= ?3"
                " ORDER BY ts",
    /*
     * The subquery is one seek down the primary key per series (the min/max
     * optimisation). Series without stored samples come with NULLs: the
     * head may hold theirs.
     */
    [ST_LATEST] = "SELECT s.id, s.host_id, s.category, s.name, s.labels, s.kind, p.ts, p.value"
                  " FROM series AS s LEFT JOIN samples AS p ON p.series_id = s.id"
                  " AND p.ts = (SELECT max(ts) FROM samples WHERE series_id = s.id)"
                  " ORDER BY s.id",
    [ST_COUNT_HOSTS] = "SELECT count(*) FROM hosts",
    [ST_COUNT_SERIES] = "SELECT count(*) FROM series",
    [ST_PAGE_COUNT] = "PRAGMA page_count",
    [ST_PAGE_SIZE] = "PRAGMA page_size",
    [ST_PING] = "SELECT 1 FROM sqlite_schema LIMIT 1",

    [ST_QUERY_SERIES] = QUERY_SERIES_COLUMNS QUERY_SERIES_ORDER,
    [ST_QUERY_SERIES_CATEGORY] = QUERY_SERIES_COLUMNS " AND category = ?2" QUERY_SERIES_ORDER,
    [ST_QUERY_SERIES_NAME] = QUERY_SERIES_COLUMNS " AND name = ?3" QUERY_SERIES_ORDER,
    [ST_QUERY_SERIES_CATEGORY_NAME] =
        QUERY_SERIES_COLUMNS " AND category = ?2 AND name = ?3" QUERY_SERIES_ORDER,
    [ST_QUERY_SAMPLES] = "SELECT ts, value FROM samples"
                         " WHERE series_id = ?1 AND ts >= ?2 AND ts <= ?3"
                         " ORDER BY ts DESC LIMIT ?4",

    /*
     * The command queue. Every change of a command's state is followed by
     * ST_CMD_AUDIT, which writes the entry from the row as it now is: the
     * event is its new state, and the time, actor and detail follow from
     * it. json_patch() with {"error": null} adds nothing, so "error" is in
     * the detail only when there is one.
     */
    [ST_CMD_PENDING] = "SELECT (SELECT count(*) FROM commands WHERE host_id = ?1"
                       " AND state IN ('queued', 'dispatched')),"
                       " CASE WHEN json_valid(?2) THEN json_type(?2) = 'object' ELSE 0 END"
                       " FROM hosts WHERE id = ?1",
    [ST_CMD_INSERT] = "INSERT INTO commands (id, host_id, type, args, state, requested_by,"
                      " created_ms, expires_ms, tenant_id)"
                      " SELECT ?1, ?2, ?3, ?4, 'queued', ?5, ?6, ?7, s.tenant_id"
                      " FROM hosts AS h JOIN sections AS s ON s.id = h.section_id"
                      " WHERE h.id = ?2",
    [ST_CMD_AUDIT] =
        "INSERT INTO command_audit (ts_ms, command_id, host_id, actor, event, detail, tenant_id)"
        " SELECT CASE state WHEN 'queued' THEN created_ms WHEN 'dispatched' THEN dispatched_ms"
        " ELSE finished_ms END, id, host_id,"
        " CASE state WHEN 'queued' THEN requested_by WHEN 'expired' THEN 'server'"
        " ELSE 'agent' END, state,"
        " CASE state WHEN 'queued' THEN json_object('type', type, 'args', json(args))"
        " WHEN 'dispatched' THEN '{}' WHEN 'expired' THEN json_object('reason', error)"
        " ELSE json_patch(json_object('exit_code', exit_code, 'output_bytes', output_bytes,"
        " 'truncated', json(CASE WHEN truncated THEN 'true' ELSE 'false' END)),"
        " json_object('error', error)) END, tenant_id"
        " FROM commands WHERE id = ?1",
    /* Statistics could make SQLite walk every host's queue by commands_expiring. */
    [ST_CMD_NEXT] = "SELECT id FROM commands INDEXED BY commands_host"
                    " WHERE host_id = ?1 AND state = 'queued'"
                    " AND expires_ms > ?2 ORDER BY created_ms, id LIMIT 1",
    [ST_CMD_DISPATCH] = "UPDATE commands SET state = 'dispatched', dispatched_ms = ?2"
                        " WHERE id = ?1 AND state = 'queued'",
    [ST_CMD_FINISH] = "UPDATE commands SET state = ?3, exit_code = ?4, error = ?5, output = ?6,"
                      " output_bytes = ?7, truncated = ?8, finished_ms = ?9"
                      " WHERE id = ?1 AND host_id = ?2 AND state = 'dispatched'",
    [ST_CMD_STATE] = "SELECT state FROM commands WHERE id = ?1 AND host_id = ?2",
    [ST_CMD_EXPIRING] = "SELECT id FROM commands"
                        " WHERE (state = 'queued' AND expires_ms <= ?1)"
                        " OR (state = 'dispatched' AND dispatched_ms < ?2)"
                        " ORDER BY created_ms, id",
    [ST_CMD_EXPIRE] = "UPDATE commands SET state = 'expired', finished_ms = ?2,"
                      " error = CASE state WHEN 'queued' THEN 'not picked up before it expired'"
                      " ELSE 'no result in time' END"
                      " WHERE id = ?1 AND state IN ('queued', 'dispatched')",
    [ST_CMD_GET] = COMMAND_COLUMNS("c.output") " WHERE c.id = ?1",
    [ST_CMD_LIST] = COMMAND_COLUMNS("NULL") " WHERE" COMMAND_FILTER,
    [ST_CMD_LIST_HOST] = COMMAND_COLUMNS("NULL") " WHERE c.host_id = ?1 AND" COMMAND_FILTER,
    [ST_CMD_PRUNE] = "DELETE FROM commands WHERE state IN ('done', 'failed', 'expired')"
                     " AND finished_ms < ?1",
    [ST_AUDIT_PRUNE] = "DELETE FROM command_audit WHERE ts_ms < ?1",
    [ST_AUDIT_LIST] = AUDIT_COLUMNS AUDIT_FILTER,
    [ST_AUDIT_LIST_HOST] = AUDIT_COLUMNS "a.host_id = ?1 AND" AUDIT_FILTER,
    [ST_AUDIT_LIST_COMMAND] = AUDIT_COLUMNS "a.command_id = ?3 AND" AUDIT_FILTER,
};

int64_t ward_sqlite_now_ms(void)
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

int ward_sqlite_step_done(struct conn *c, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    return rc == SQLITE_DONE ? 0 : ward_sqlite_rc(c->db, rc == SQLITE_ROW ? SQLITE_MISUSE : rc);
}

int ward_sqlite_step_row(struct conn *c, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : ward_sqlite_rc(c->db, rc);
}

int ward_sqlite_write_begin(struct sqlite_store *s)
{
    pthread_mutex_lock(&s->writer.lock);
    int r = ward_sqlite_exec(s->writer.db, "BEGIN IMMEDIATE");
    if (r < 0)
        pthread_mutex_unlock(&s->writer.lock);
    return r;
}

int ward_sqlite_write_end(struct sqlite_store *s, int r)
{
    if (r >= 0) {
        int rc = ward_sqlite_exec(s->writer.db, "COMMIT");
        if (rc < 0)
            r = rc;
    }
    if (r < 0)
        ward_sqlite_rollback(s->writer.db);
    pthread_mutex_unlock(&s->writer.lock);
    return r;
}

int ward_sqlite_stmt_int(struct conn *c, enum stmt_id id, int64_t *out)
{
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r = ward_sqlite_stmt_get(c, id, &st);
    if (r < 0)
        return r;
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW)
        return ward_sqlite_rc(c->db, rc == SQLITE_DONE ? SQLITE_ERROR : rc);
    *out = sqlite3_column_int64(st, 0);
    return 0;
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

    /*
     * secure_delete FAST: Debian's SQLite overwrites deleted content by
     * default, which makes retention write every freed page once more;
     * FAST still clears deleted cells inside the pages that are written
     * anyway.
     */
    bool full = opt != NULL && opt->synchronous_full;
    char sql[320];
    int n = snprintf(sql, sizeof(sql),
                     "PRAGMA foreign_keys = ON;"
                     "PRAGMA synchronous = %s;"
                     "PRAGMA cache_size = -%d;"
                     "PRAGMA temp_store = MEMORY;"
                     "PRAGMA secure_delete = FAST;"
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

/* Runs a one-off statement that returns one integer. */
static int query_int(struct conn *c, const char *sql, int64_t *out)
{
    _cleanup_finalize_ sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return ward_sqlite_rc(c->db, rc);
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW)
        return ward_sqlite_rc(c->db, rc == SQLITE_DONE ? SQLITE_ERROR : rc);
    *out = sqlite3_column_int64(st, 0);
    return 0;
}

static int migrate_locked(struct conn *c)
{
    int64_t version = 0;
    int r = query_int(c, "PRAGMA user_version", &version);
    if (r < 0)
        return r;
    /* A database written by a newer ward: its schema is unknown here. */
    if (version < 0 || version > SCHEMA_VERSION)
        return WARD_E_STORE;
    for (int64_t v = version; v < SCHEMA_VERSION; v++) {
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

static void sqlite_store_free(struct sqlite_store *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < SQLITE_READERS; i++)
        conn_close(&s->readers[i], false);
    /* The writer goes last: the last connection to close checkpoints the WAL. */
    conn_close(&s->writer, true);
    ward_sqlite_head_done(&s->head);
    ward_sqlite_cache_done(&s->cache);
    ward_sqlite_write_done(s);
    free(s->wal_path);
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
    for (size_t i = 0; i < SQLITE_READERS; i++)
        s->readers[i].lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
    ward_sqlite_cache_init(&s->cache);
    int r = ward_sqlite_head_init(&s->head);
    if (r < 0)
        return r;

    r = conn_open(&s->writer, path, false, opt);
    if (r < 0)
        return r;
    if (!memory) {
        r = set_wal(&s->writer);
        if (r < 0)
            return r;
        const char *file = sqlite3_db_filename(s->writer.db, "main");
        if (file == NULL || asprintf(&s->wal_path, "%s-wal", file) < 0) {
            s->wal_path = NULL;
            return -ENOMEM;
        }
    }
    r = migrate(&s->writer);
    if (r < 0)
        return r;
    r = query_int(&s->writer, "SELECT coalesce(max(id), 0) FROM series", &s->series_max);
    if (r < 0)
        return r;
    /* What the last run acknowledged but did not flush. */
    r = ward_sqlite_head_load(s);
    if (r == 0 && ward_sqlite_head_due(s))
        r = ward_sqlite_head_flush(s);
    if (r < 0)
        return r;

    /* Readers open after the migration, so they never see a half-made schema. */
    if (!memory) {
        for (size_t i = 0; i < SQLITE_READERS; i++) {
            r = conn_open(&s->readers[i], path, true, opt);
            if (r < 0)
                return r;
        }
        s->nreaders = SQLITE_READERS;
    }

    *out = &WARD_TAKE_PTR(s)->base;
    return 0;
}

/* ---- Connections for reads ---- */

/*
 * The writer when there is no reader pool, else the first free reader,
 * trying them from a start that rotates on every call, else the reader at
 * that start once it is free.
 */
struct conn *ward_sqlite_reader_lock(struct sqlite_store *s)
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

void ward_sqlite_reader_unlock(struct conn *c)
{
    pthread_mutex_unlock(&c->lock);
}

/* ---- Methods ---- */

#define STORE(base) ((struct sqlite_store *)(base))

static void sqlite_close(struct ward_store *base)
{
    struct sqlite_store *s = STORE(base);
    /*
     * Leaves the database with every sample in its place. Should the flush
     * fail, head_log still holds the samples and the next open loads them.
     */
    if (s != NULL) {
        pthread_mutex_lock(&s->writer.lock);
        (void)ward_sqlite_head_flush(s);
        pthread_mutex_unlock(&s->writer.lock);
    }
    sqlite_store_free(s);
}

static int sqlite_write(struct ward_store *base, struct ward_write *w, size_t n)
{
    return ward_sqlite_write(STORE(base), w, n);
}

static int sqlite_query(struct ward_store *base, const struct ward_query *q, ward_store_row_fn fn,
                        void *userdata)
{
    /* Nothing can match: answer without taking a connection. */
    if (q->limit == 0 || q->from_ms > q->to_ms)
        return 0;
    struct conn *c = ward_sqlite_reader_lock(STORE(base));
    int r = ward_sqlite_query(STORE(base), c, q, fn, userdata);
    ward_sqlite_reader_unlock(c);
    return r;
}

static int sqlite_host_register(struct ward_store *base, const struct ward_host_info *info,
                                char *id_out, bool *created)
{
    return ward_sqlite_host_register(STORE(base), info, id_out, created);
}

static int sqlite_host_list(struct ward_store *base, ward_store_host_fn fn, void *userdata)
{
    return ward_sqlite_host_list(STORE(base), fn, userdata);
}

static int sqlite_series_list(struct ward_store *base, const struct ward_series_filter *f,
                              ward_store_series_fn fn, void *userdata)
{
    return ward_sqlite_series_list(STORE(base), f, fn, userdata);
}

static int sqlite_read(struct ward_store *base, const int64_t *ids, size_t n, int64_t from_ms,
                       int64_t to_ms, ward_store_point_fn fn, void *userdata)
{
    return ward_sqlite_read(STORE(base), ids, n, from_ms, to_ms, fn, userdata);
}

static int sqlite_latest(struct ward_store *base, ward_store_latest_fn fn, void *userdata)
{
    return ward_sqlite_latest(STORE(base), fn, userdata);
}

static int sqlite_prune(struct ward_store *base, int64_t before_ms, size_t max_rows,
                        size_t *deleted)
{
    return ward_sqlite_prune(STORE(base), before_ms, max_rows, deleted);
}

static int sqlite_stats(struct ward_store *base, struct ward_store_stats *out)
{
    return ward_sqlite_stats(STORE(base), out);
}

static int sqlite_ping(struct ward_store *base)
{
    return ward_sqlite_ping(STORE(base));
}

const struct ward_store_ops ward_store_sqlite_ops = {
    .size = sizeof(struct ward_store_ops),
    .name = "sqlite",
    .accepts = sqlite_accepts,
    .open = sqlite_open,
    .close = sqlite_close,
    .write = sqlite_write,
    .query = sqlite_query,
    .host_register = sqlite_host_register,
    .host_list = sqlite_host_list,
    .series_list = sqlite_series_list,
    .read = sqlite_read,
    .latest = sqlite_latest,
    .prune = sqlite_prune,
    .stats = sqlite_stats,
    .ping = sqlite_ping,
    .host_enroll = ward_sqlite_host_enroll,
    .host_get = ward_sqlite_host_get,
    .host_change = ward_sqlite_host_change,
    .host_purge = ward_sqlite_host_purge,
    .credential_add = ward_sqlite_credential_add,
    .credential_find = ward_sqlite_credential_find,
    .credential_list = ward_sqlite_credential_list,
    .credential_revoke = ward_sqlite_credential_revoke,
    .group_add = ward_sqlite_group_add,
    .group_list = ward_sqlite_group_list,
    .config_get = ward_sqlite_config_get,
    .config_set = ward_sqlite_config_set,
    .command_add = ward_sqlite_command_add,
    .command_dispatch = ward_sqlite_command_dispatch,
    .command_finish = ward_sqlite_command_finish,
    .command_get = ward_sqlite_command_get,
    .command_list = ward_sqlite_command_list,
    .command_expire = ward_sqlite_command_expire,
    .command_prune = ward_sqlite_command_prune,
    .audit_list = ward_sqlite_audit_list,
};
