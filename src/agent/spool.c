/*
 * The agent's spool on SQLite (see spool.h).
 *
 * Durability: the database runs in WAL mode with synchronous=NORMAL, so a
 * committed append survives the agent being killed at any moment; a power
 * loss can lose the appends since the last checkpoint, which the WAL bound
 * below keeps to a few hundred kilobytes at most. The page cache is kept
 * small, as the agent reads each row about once.
 *
 * The cap covers the database, its WAL and its shared-memory file: the WAL
 * is checkpointed and truncated at WAL_SHARE of the cap (between 16 and
 * 1000 pages), and what is left, less room for the schema and the B-tree's
 * inner pages, is the rows' budget.
 */
#include "agent/spool.h"

#include "common/error.h"
#include "common/log.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PAGE_BYTES     4096
#define ROW_OVERHEAD   64 /* record header and the small columns of a row */
#define WAL_SHARE      16 /* the WAL may take 1/WAL_SHARE of the cap */
#define WAL_MIN_PAGES  16
#define WAL_MAX_PAGES  1000 /* SQLite's default checkpoint threshold */
#define SHM_BYTES      (32 * 1024)
#define FIXED_PAGES    16  /* schema, counters, the tables' roots */
#define INNER_SHARE    50  /* 1/INNER_SHARE of the budget for inner B-tree pages */
#define CACHE_KIB      256 /* page cache */
#define BUSY_MS        5000
#define MAX_BODY_BYTES (64 * 1024 * 1024)

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS batches ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " boot INTEGER NOT NULL, seq INTEGER NOT NULL,"
    " samples INTEGER NOT NULL, cost INTEGER NOT NULL, pending INTEGER NOT NULL,"
    " body BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS counters ("
    " name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;";

enum stmt {
    ST_INSERT,
    ST_OLDEST,
    ST_NEXT,
    ST_CLEAR,
    ST_DELETE,
    ST_COUNTER_SET,
    N_STMTS
};

static const char *const stmt_sql[N_STMTS] = {
    [ST_INSERT] = "INSERT INTO batches (boot, seq, samples, cost, pending, body)"
                  " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_OLDEST] = "DELETE FROM batches WHERE id = (SELECT min(id) FROM batches)"
                  " RETURNING samples, cost",
    [ST_NEXT] = "SELECT id, boot, seq, samples, body FROM batches"
                " WHERE id > ?1 AND (pending & ?2) != 0 ORDER BY id LIMIT 1",
    [ST_CLEAR] = "UPDATE batches SET pending = pending & ~?2 WHERE id = ?1 AND (pending & ?2) != 0"
                 " RETURNING samples",
    [ST_DELETE] = "DELETE FROM batches WHERE id = ?1 AND pending = 0 RETURNING samples, cost",
    [ST_COUNTER_SET] = "INSERT INTO counters (name, value) VALUES (?1, ?2)"
                       " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
};

/* The persistent counters, by name in the counters table. */
enum counter {
    C_DROPPED_SAMPLES,
    C_DROPPED_BATCHES,
    C_DEAD_SAMPLES,
    C_DEAD_BATCHES,
    N_COUNTERS
};

static const char *const counter_names[N_COUNTERS] = {
    "dropped_samples",
    "dropped_batches",
    "dead_samples",
    "dead_batches",
};

struct ward_spool {
    pthread_mutex_t lock;
    char *path;
    unsigned outputs;
    int64_t max_bytes, wal_pages, budget;
    sqlite3 *db;
    sqlite3_stmt *stmt[N_STMTS];
    int64_t rows, samples, bytes;
    int64_t last_id; /* the largest row id handed out, kept across a recovery */
    uint64_t counters[N_COUNTERS];
    bool counters_unsaved; /* changed outside a transaction: saved by the next one */
    uint64_t recovered;
    char moved_to[4096];
};

static int64_t row_cost(size_t len)
{
    return ((int64_t)len + ROW_OVERHEAD + PAGE_BYTES - 1) / PAGE_BYTES * PAGE_BYTES;
}

/* True for the results that mean the file is not a sound database. */
static bool is_corrupt(int rc)
{
    rc &= 0xff;
    return rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB;
}

static int sql_error(sqlite3 *db, int rc, const char *what, struct ward_buf *err)
{
    if (err)
        ward_buf_printf(err, "%s: %s", what, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    if ((rc & 0xff) == SQLITE_FULL)
        return -ENOSPC;
    return is_corrupt(rc) ? WARD_E_CORRUPT : WARD_E_STORE;
}

static void close_db(struct ward_spool *s)
{
    for (int i = 0; i < N_STMTS; i++) {
        sqlite3_finalize(s->stmt[i]);
        s->stmt[i] = NULL;
    }
    sqlite3_close(s->db);
    s->db = NULL;
}

static int exec(struct ward_spool *s, const char *sql, const char *what, struct ward_buf *err)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : sql_error(s->db, rc, what, err);
}

/* Runs a statement that returns at most one row of integers into out[0..n). Returns 1, 0 or <0. */
static int step_ints(struct ward_spool *s, sqlite3_stmt *st, int64_t *out, int n,
                     struct ward_buf *err)
{
    int rc = sqlite3_step(st);
    int r = 0;
    if (rc == SQLITE_ROW) {
        for (int i = 0; i < n; i++)
            out[i] = sqlite3_column_int64(st, i);
        r = 1;
        rc = sqlite3_step(st); /* RETURNING finishes its statement on the next step */
    }
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        r = sql_error(s->db, rc, "spool statement", err);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return r;
}

/* Reads one integer of a query; 0 when it has no row. */
static int query_int(struct ward_spool *s, const char *sql, int64_t *out, struct ward_buf *err)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return sql_error(s->db, rc, "spool query", err);
    *out = 0;
    int r = step_ints(s, st, out, 1, err);
    sqlite3_finalize(st);
    return r < 0 ? r : 0;
}

/* The first result of PRAGMA quick_check: "ok" for a sound database. */
static int quick_check(struct ward_spool *s, struct ward_buf *err)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(s->db, "PRAGMA quick_check(1)", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return sql_error(s->db, rc, "quick_check", err);
    rc = sqlite3_step(st);
    int r = 0;
    if (rc != SQLITE_ROW) {
        r = sql_error(s->db, rc, "quick_check", err);
    } else {
        const char *res = (const char *)sqlite3_column_text(st, 0);
        if (!res || strcmp(res, "ok") != 0) {
            if (err)
                ward_buf_printf(err, "quick_check: %s", res ? res : "no answer");
            r = WARD_E_CORRUPT;
        }
    }
    sqlite3_finalize(st);
    return r;
}

/* Opens the database at s->path and loads its figures. */
static int open_db(struct ward_spool *s, struct ward_buf *err)
{
    int rc = sqlite3_open_v2(
        s->path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK)
        return sql_error(s->db, rc, "cannot open the spool", err);
    sqlite3_busy_timeout(s->db, BUSY_MS);
    char pragmas[256];
    snprintf(pragmas, sizeof(pragmas),
             "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-%d;"
             " PRAGMA wal_autocheckpoint=%lld; PRAGMA journal_size_limit=%lld;",
             CACHE_KIB, (long long)s->wal_pages, (long long)(s->wal_pages * PAGE_BYTES));
    int r = exec(s, pragmas, "cannot set up the spool", err);
    if (r == 0)
        r = quick_check(s, err);
    if (r == 0)
        r = exec(s, schema, "cannot create the spool tables", err);
    for (int i = 0; r == 0 && i < N_STMTS; i++) {
        rc = sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[i],
                                NULL);
        if (rc != SQLITE_OK)
            r = sql_error(s->db, rc, stmt_sql[i], err);
    }
    if (r == 0) {
        /* Rows pending only for outputs no longer configured have nowhere to go. */
        char sql[160];
        snprintf(sql, sizeof(sql),
                 "UPDATE batches SET pending = pending & %u WHERE pending & ~%u != 0;"
                 " DELETE FROM batches WHERE pending = 0;",
                 s->outputs, s->outputs);
        r = exec(s, sql, "cannot update the spool's outputs", err);
    }
    int64_t seq = 0;
    if (r == 0)
        r = query_int(s, "SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = 'batches'",
                      &seq, err);
    if (r == 0 && seq < s->last_id) {
        /* A spool started after a recovery goes on numbering where the old one was. */
        char sql[128];
        snprintf(sql, sizeof(sql),
                 "INSERT INTO sqlite_sequence (name, seq) VALUES ('batches', %lld)",
                 (long long)s->last_id);
        r = exec(s, sql, "cannot number the spool's rows", err);
        seq = s->last_id;
    }
    if (r == 0)
        s->last_id = seq;
    if (r == 0)
        r = query_int(s, "SELECT count(*) FROM batches", &s->rows, err);
    if (r == 0)
        r = query_int(s, "SELECT coalesce(sum(samples), 0) FROM batches", &s->samples, err);
    if (r == 0)
        r = query_int(s, "SELECT coalesce(sum(cost), 0) FROM batches", &s->bytes, err);
    for (int i = 0; r == 0 && i < N_COUNTERS; i++) {
        char sql[128];
        int64_t v;
        snprintf(sql, sizeof(sql), "SELECT value FROM counters WHERE name = '%s'",
                 counter_names[i]);
        r = query_int(s, sql, &v, err);
        /* Counters kept in memory through a recovery win over a fresh file's zeros. */
        if (r == 0 && (uint64_t)v > s->counters[i])
            s->counters[i] = (uint64_t)v;
    }
    if (r < 0)
        close_db(s);
    return r;
}

/* Moves the spool's files aside to PATH.corrupt (and its -wal), replacing older ones. */
static int move_aside(struct ward_spool *s)
{
    static const char *const suffixes[] = {"", "-wal"};
    for (size_t i = 0; i < 2; i++) {
        char from[4096], to[4096 + 16];
        snprintf(from, sizeof(from), "%s%s", s->path, suffixes[i]);
        snprintf(to, sizeof(to), "%s.corrupt%s", s->path, suffixes[i]);
        if (rename(from, to) == 0)
            continue;
        if (errno != ENOENT)
            return -errno;
        unlink(to); /* no stale WAL beside the moved database */
    }
    char shm[4096 + 8];
    snprintf(shm, sizeof(shm), "%s-shm", s->path);
    unlink(shm);
    snprintf(s->moved_to, sizeof(s->moved_to), "%s.corrupt", s->path);
    return 0;
}

/* Moves the damaged spool aside and opens a fresh one, keeping the counters. */
static int recover(struct ward_spool *s, const char *why, struct ward_buf *err)
{
    close_db(s);
    int r = move_aside(s);
    if (r < 0) {
        if (err)
            ward_buf_printf(err, "cannot move the corrupt spool aside: %s", ward_strerror(r));
        return r;
    }
    s->recovered++;
    /* What the damaged file held is lost: counted as dropped. */
    s->counters[C_DROPPED_SAMPLES] += (uint64_t)s->samples;
    s->counters[C_DROPPED_BATCHES] += (uint64_t)s->rows;
    s->counters_unsaved = true;
    s->rows = s->samples = s->bytes = 0;
    ward_log_error(NULL, "spool is corrupt; moved it aside and started a new one", "path",
                   s->moved_to, "error", why);
    return open_db(s, err);
}

/* Opens the spool, moving a corrupt one aside and starting afresh. */
static int open_or_recover(struct ward_spool *s, struct ward_buf *err)
{
    struct ward_buf why = WARD_BUF_INIT;
    int r = open_db(s, &why);
    if (r == WARD_E_CORRUPT) {
        struct ward_buf again = WARD_BUF_INIT;
        r = recover(s, why.data ? why.data : "", &again);
        ward_buf_done(&why);
        why = again;
    }
    if (r < 0 && err)
        ward_buf_puts(err, why.data ? why.data : ward_strerror(r));
    ward_buf_done(&why);
    return r;
}

/* Handles the result of a failed operation: a corrupt database is replaced. */
static int failed(struct ward_spool *s, int r)
{
    if (r != WARD_E_CORRUPT)
        return r;
    int o = recover(s, ward_strerror(r), NULL);
    return o < 0 ? o : r;
}

int ward_spool_open(const char *path, int64_t max_bytes, unsigned outputs, struct ward_spool **out,
                    struct ward_buf *err)
{
    if (max_bytes < WARD_SPOOL_MIN_BYTES || outputs == 0) {
        ward_buf_printf(err, "the spool needs at least %d bytes and an output",
                        WARD_SPOOL_MIN_BYTES);
        return -EINVAL;
    }
    struct ward_spool *s = calloc(1, sizeof(*s));
    if (!s || !(s->path = strdup(path))) {
        free(s);
        return -ENOMEM;
    }
    pthread_mutex_init(&s->lock, NULL);
    s->outputs = outputs;
    s->max_bytes = max_bytes;
    s->wal_pages = max_bytes / WAL_SHARE / PAGE_BYTES;
    if (s->wal_pages < WAL_MIN_PAGES)
        s->wal_pages = WAL_MIN_PAGES;
    if (s->wal_pages > WAL_MAX_PAGES)
        s->wal_pages = WAL_MAX_PAGES;
    s->budget = max_bytes - s->wal_pages * PAGE_BYTES - SHM_BYTES - FIXED_PAGES * PAGE_BYTES;
    s->budget -= s->budget / INNER_SHARE;
    int r = open_or_recover(s, err);
    if (r < 0) {
        ward_spool_close(s);
        return r;
    }
    *out = s;
    return 0;
}

void ward_spool_close(struct ward_spool *s)
{
    if (!s)
        return;
    close_db(s);
    pthread_mutex_destroy(&s->lock);
    free(s->path);
    free(s);
}

/*
 * What a write transaction changes in the spool's figures: worked out on a
 * copy, saved (the counters) inside the transaction, and applied to the
 * spool only once it committed.
 */
struct tally {
    int64_t rows, samples, bytes;
    uint64_t counters[N_COUNTERS];
};

static struct tally tally_of(const struct ward_spool *s)
{
    struct tally t = {.rows = s->rows, .samples = s->samples, .bytes = s->bytes};
    memcpy(t.counters, s->counters, sizeof(t.counters));
    return t;
}

/* Drops the oldest row into t. Returns 1, 0 when there is none, or a negative error. */
static int drop_oldest(struct ward_spool *s, struct tally *t)
{
    int64_t v[2];
    int r = step_ints(s, s->stmt[ST_OLDEST], v, 2, NULL);
    if (r > 0) {
        t->rows--;
        t->samples -= v[0];
        t->bytes -= v[1];
        t->counters[C_DROPPED_SAMPLES] += (uint64_t)v[0];
        t->counters[C_DROPPED_BATCHES]++;
    }
    return r;
}

/* Saves t's counters, commits, and applies t; rolls back and returns the error otherwise. */
static int commit(struct ward_spool *s, const struct tally *t, int r)
{
    sqlite3_stmt *st = s->stmt[ST_COUNTER_SET];
    for (int i = 0; r >= 0 && i < N_COUNTERS; i++) {
        if (t->counters[i] == s->counters[i] && !s->counters_unsaved)
            continue; /* as saved by an earlier transaction */
        sqlite3_bind_text(st, 1, counter_names[i], -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (int64_t)t->counters[i]);
        r = step_ints(s, st, NULL, 0, NULL);
    }
    if (r >= 0)
        r = exec(s, "COMMIT", "commit", NULL);
    if (r < 0) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return r;
    }
    s->rows = t->rows;
    s->samples = t->samples;
    s->bytes = t->bytes;
    memcpy(s->counters, t->counters, sizeof(s->counters));
    s->counters_unsaved = false;
    return 0;
}

/* The append's transaction: drop what the cap needs, insert, save the counters. */
static int append_locked(struct ward_spool *s, int64_t boot, int64_t seq, int64_t n_samples,
                         const void *body, size_t len)
{
    int64_t cost = row_cost(len);
    int r = exec(s, "BEGIN IMMEDIATE", "begin", NULL);
    if (r < 0)
        return r;
    struct tally t = tally_of(s);
    bool fits = cost <= s->budget && len <= MAX_BODY_BYTES;
    while (r >= 0 && fits && t.rows > 0 && t.bytes + cost > s->budget)
        if ((r = drop_oldest(s, &t)) == 0)
            break; /* the sums were off: nothing left to drop */
    if (r >= 0 && fits) {
        sqlite3_stmt *st = s->stmt[ST_INSERT];
        sqlite3_bind_int64(st, 1, boot);
        sqlite3_bind_int64(st, 2, seq);
        sqlite3_bind_int64(st, 3, n_samples);
        sqlite3_bind_int64(st, 4, cost);
        sqlite3_bind_int64(st, 5, s->outputs);
        sqlite3_bind_blob64(st, 6, body, len, SQLITE_STATIC);
        r = step_ints(s, st, NULL, 0, NULL);
        t.rows++;
        t.samples += n_samples;
        t.bytes += cost;
    } else if (r >= 0) {
        t.counters[C_DROPPED_SAMPLES] += (uint64_t)n_samples; /* larger than the whole budget */
        t.counters[C_DROPPED_BATCHES]++;
    }
    r = commit(s, &t, r);
    if (r < 0)
        return r;
    if (fits)
        s->last_id = sqlite3_last_insert_rowid(s->db);
    return fits ? 0 : -E2BIG;
}

/*
 * The disk is full before the cap: drops the oldest rows until `need` bytes
 * of them are gone, in a transaction of its own, so their pages can take
 * the new batch. Returns 0 when it freed that much, or a negative error.
 */
static int make_room(struct ward_spool *s, int64_t need)
{
    int r = exec(s, "BEGIN IMMEDIATE", "begin", NULL);
    if (r < 0)
        return r;
    struct tally t = tally_of(s);
    while (r >= 0 && t.rows > 0 && s->bytes - t.bytes < need)
        if ((r = drop_oldest(s, &t)) == 0)
            break;
    int64_t freed = s->bytes - t.bytes;
    r = commit(s, &t, r);
    if (r < 0)
        return r;
    return freed >= need ? 0 : -ENOSPC;
}

int ward_spool_append(struct ward_spool *s, int64_t boot, int64_t seq, int64_t n_samples,
                      const void *body, size_t len)
{
    pthread_mutex_lock(&s->lock);
    /* A spool whose recovery failed (the disk, the permissions) is tried again. */
    int r = s->db ? 0 : open_or_recover(s, NULL);
    if (r == 0)
        r = append_locked(s, boot, seq, n_samples, body, len);
    if (r == WARD_E_CORRUPT && failed(s, r) == WARD_E_CORRUPT)
        r = append_locked(s, boot, seq, n_samples, body, len); /* into the fresh spool */
    /*
     * A full disk: the WAL is checkpointed and cut back (deleting rows alone
     * needs WAL pages, and frees no disk), and the oldest data makes room, as
     * at the cap.
     */
    if (r == -ENOSPC && row_cost(len) <= s->budget) {
        sqlite3_exec(s->db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
        r = append_locked(s, boot, seq, n_samples, body, len);
        if (r == -ENOSPC && make_room(s, row_cost(len)) == 0) {
            sqlite3_exec(s->db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
            r = append_locked(s, boot, seq, n_samples, body, len);
        }
    }
    if (r < 0 && r != -E2BIG) {
        /* Lost: counted in memory, and saved with the next append that works. */
        s->counters[C_DROPPED_SAMPLES] += (uint64_t)n_samples;
        s->counters[C_DROPPED_BATCHES]++;
        s->counters_unsaved = true;
    }
    pthread_mutex_unlock(&s->lock);
    return r;
}

int ward_spool_next(struct ward_spool *s, unsigned output, int64_t after,
                    struct ward_spool_batch *b)
{
    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *st = s->stmt[ST_NEXT];
    int r = 0;
    if (!st) {
        r = WARD_E_STORE; /* a recovery that failed left no database */
        goto out;
    }
    sqlite3_bind_int64(st, 1, after);
    sqlite3_bind_int64(st, 2, output);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        b->id = sqlite3_column_int64(st, 0);
        b->boot = sqlite3_column_int64(st, 1);
        b->seq = sqlite3_column_int64(st, 2);
        b->samples = sqlite3_column_int64(st, 3);
        const void *body = sqlite3_column_blob(st, 4);
        int len = sqlite3_column_bytes(st, 4);
        ward_buf_reset(&b->body);
        r = ward_buf_append(&b->body, body, (size_t)len);
        if (r == 0)
            r = 1;
    } else if (rc != SQLITE_DONE) {
        r = sql_error(s->db, rc, "spool read", NULL);
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (r < 0)
        r = failed(s, r);
out:
    pthread_mutex_unlock(&s->lock);
    return r;
}

/*
 * Clears output's bit of row id; the row goes when no bit is left. With
 * dead, the row's samples are counted as dead letters in the same
 * transaction. *samples: 0 if the row was not pending for output.
 */
static int clear_locked(struct ward_spool *s, unsigned output, int64_t id, bool dead,
                        int64_t *samples)
{
    *samples = 0;
    if (!s->db)
        return WARD_E_STORE;
    int r = exec(s, "BEGIN IMMEDIATE", "begin", NULL);
    if (r < 0)
        return r;
    struct tally t = tally_of(s);
    sqlite3_stmt *st = s->stmt[ST_CLEAR];
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, output);
    int64_t pending = 0;
    r = step_ints(s, st, &pending, 1, NULL);
    int64_t gone[2];
    if (r >= 0) {
        sqlite3_bind_int64(s->stmt[ST_DELETE], 1, id);
        r = step_ints(s, s->stmt[ST_DELETE], gone, 2, NULL);
        if (r > 0) {
            t.rows--;
            t.samples -= gone[0];
            t.bytes -= gone[1];
        }
    }
    if (r >= 0 && dead && pending > 0) {
        t.counters[C_DEAD_SAMPLES] += (uint64_t)pending;
        t.counters[C_DEAD_BATCHES]++;
    }
    r = commit(s, &t, r);
    if (r == 0)
        *samples = pending;
    return r;
}

int ward_spool_delivered(struct ward_spool *s, unsigned output, int64_t id)
{
    pthread_mutex_lock(&s->lock);
    int64_t samples;
    int r = clear_locked(s, output, id, false, &samples);
    if (r < 0)
        r = failed(s, r);
    pthread_mutex_unlock(&s->lock);
    return r;
}

int ward_spool_dead(struct ward_spool *s, unsigned output, int64_t id)
{
    pthread_mutex_lock(&s->lock);
    int64_t samples;
    int r = clear_locked(s, output, id, true, &samples);
    if (r < 0)
        r = failed(s, r);
    pthread_mutex_unlock(&s->lock);
    return r;
}

void ward_spool_lost(struct ward_spool *s, int64_t n_samples)
{
    pthread_mutex_lock(&s->lock);
    s->counters[C_DROPPED_SAMPLES] += (uint64_t)n_samples;
    s->counters[C_DROPPED_BATCHES]++;
    s->counters_unsaved = true;
    pthread_mutex_unlock(&s->lock);
}

void ward_spool_stats(struct ward_spool *s, struct ward_spool_stats *out)
{
    pthread_mutex_lock(&s->lock);
    *out = (struct ward_spool_stats){
        .rows = s->rows,
        .samples = s->samples,
        .bytes = s->bytes,
        .budget = s->budget,
        .dropped_samples = s->counters[C_DROPPED_SAMPLES],
        .dropped_batches = s->counters[C_DROPPED_BATCHES],
        .dead_samples = s->counters[C_DEAD_SAMPLES],
        .dead_batches = s->counters[C_DEAD_BATCHES],
        .recovered = s->recovered,
    };
    pthread_mutex_unlock(&s->lock);
}

const char *ward_spool_moved_to(struct ward_spool *s)
{
    return s->moved_to;
}
