/*
 * The command queue of the SQLite store, and the audit log of its changes.
 *
 * A command goes from queued to dispatched to done or failed, or to expired
 * from either of the first two. Each change is one IMMEDIATE transaction on
 * the writer connection, under its mutex, that changes the row and appends
 * the audit entry (ST_CMD_AUDIT derives the entry from the row as changed),
 * so the log neither misses a change nor records one that rolled back.
 * Every write of the process goes through that one connection, so two
 * dispatches for one host run one after the other: the second looks for
 * the oldest queued command only once the first has committed its own as
 * dispatched, and the same command is never handed out twice.
 *
 * The callbacks that follow a change (dispatch, expire) get a copy of the
 * row made inside the transaction, and run after the commit with no
 * connection held: a slow callback does not hold up ingest. Reads (get,
 * list, audit_list) run on a reader connection and call back while they
 * step, as the other lists of the store do.
 *
 * The SQL is in stmt_sql[] of store-sqlite.c, the schema in its
 * migrations[] (version 5).
 */
#include "common/cleanup.h"
#include "common/error.h"
#include "server/store/store-sqlite.h"
#include "server/store/store.h"

#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define STORE(base) ((struct sqlite_store *)(base))

/* Rows a list returns when its filter sets no limit (store.h). */
#define LIST_LIMIT_DEFAULT 100

static int64_t limit_of(size_t limit)
{
    if (limit == 0)
        return LIST_LIMIT_DEFAULT;
    return limit > (size_t)INT64_MAX ? INT64_MAX : (int64_t)limit;
}

/*
 * Runs statement sid, which returns no rows, with ?1 = id and ?2 = v.
 * Returns the number of rows it changed, or an error.
 */
static int run_id(struct conn *c, enum stmt_id sid, const char *id, int64_t v)
{
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r = ward_sqlite_stmt_get(c, sid, &st);
    if (r < 0)
        return r;
    int rc = ward_sqlite_bind_text(st, 1, id);
    rc = rc ?: sqlite3_bind_int64(st, 2, v);
    r = ward_sqlite_bind_rc(c, rc);
    if (r == 0)
        r = ward_sqlite_step_done(c, st);
    return r < 0 ? r : sqlite3_changes(c->db);
}

/* Runs statement sid, which returns no rows, with ?1 = v. Returns the rows changed or an error. */
static int run_int(struct conn *c, enum stmt_id sid, int64_t v)
{
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r = ward_sqlite_stmt_get(c, sid, &st);
    if (r < 0)
        return r;
    r = ward_sqlite_bind_rc(c, sqlite3_bind_int64(st, 1, v));
    if (r == 0)
        r = ward_sqlite_step_done(c, st);
    return r < 0 ? r : sqlite3_changes(c->db);
}

/* Appends the audit entry of the change just made to command id. */
static int audit_append(struct conn *c, const char *id)
{
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r = ward_sqlite_stmt_get(c, ST_CMD_AUDIT, &st);
    if (r < 0)
        return r;
    r = ward_sqlite_bind_rc(c, ward_sqlite_bind_text(st, 1, id));
    if (r == 0)
        r = ward_sqlite_step_done(c, st);
    if (r < 0)
        return r;
    return sqlite3_changes(c->db) == 1 ? 0 : WARD_E_STORE;
}

/* ---- Rows ---- */

/*
 * Reads the current row of a COMMAND_COLUMNS statement into *c, whose
 * strings stay valid until the statement moves on, and the length of its
 * output in *output_len.
 */
static int command_read(sqlite3_stmt *st, struct ward_command *c, size_t *output_len)
{
    *c = (struct ward_command){
        .id = ward_sqlite_text(st, 0),
        .host_id = ward_sqlite_text(st, 1),
        .type = ward_sqlite_text(st, 2),
        .args = ward_sqlite_text(st, 3),
        .state = ward_sqlite_text(st, 4),
        .requested_by = ward_sqlite_text(st, 5),
        .created_ms = sqlite3_column_int64(st, 6),
        .expires_ms = sqlite3_column_int64(st, 7),
        .dispatched_ms = sqlite3_column_int64(st, 8),
        .finished_ms = sqlite3_column_int64(st, 9),
        .exit_code = sqlite3_column_int64(st, 10),
        .error = ward_sqlite_text(st, 11),
        .output = ward_sqlite_text(st, 12),
        .output_bytes = sqlite3_column_int64(st, 13),
        .truncated = sqlite3_column_int(st, 14) != 0,
        .tenant_id = ward_sqlite_text(st, 15),
    };
    /* After sqlite3_column_text(): the length of the text it returned. */
    *output_len = (size_t)sqlite3_column_bytes(st, 12);
    if (!c->id || !c->host_id || !c->type || !c->args || !c->state || !c->requested_by ||
        !c->tenant_id)
        return WARD_E_STORE;
    return 0;
}

/* A command copied out of its row; the strings live in mem. */
struct command_copy {
    struct ward_command c;
    char *mem;
};

static void command_copy_done(struct command_copy *k)
{
    free(k->mem);
    *k = (struct command_copy){0};
}

/* Copies len bytes of s and a NUL to *at, which it advances. NULL stays NULL. */
static const char *copy_text(char **at, const char *s, size_t len)
{
    if (s == NULL)
        return NULL;
    char *d = *at;
    memcpy(d, s, len);
    d[len] = '\0';
    *at = d + len + 1;
    return d;
}

/* Copies the current row of a COMMAND_COLUMNS statement into *out. */
static int command_copy_row(sqlite3_stmt *st, struct command_copy *out)
{
    struct ward_command c;
    size_t output_len = 0;
    int r = command_read(st, &c, &output_len);
    if (r < 0)
        return r;
    const char **fields[] = {&c.id,    &c.host_id,      &c.type,  &c.args,
                             &c.state, &c.requested_by, &c.error, &c.tenant_id};
    size_t len[WARD_ARRAY_SIZE(fields)];
    size_t total = output_len + 1;
    for (size_t i = 0; i < WARD_ARRAY_SIZE(fields); i++) {
        len[i] = *fields[i] ? strlen(*fields[i]) : 0;
        total += len[i] + 1;
    }
    char *mem = malloc(total);
    if (mem == NULL)
        return -ENOMEM;
    char *at = mem;
    for (size_t i = 0; i < WARD_ARRAY_SIZE(fields); i++)
        *fields[i] = copy_text(&at, *fields[i], len[i]);
    c.output = copy_text(&at, c.output, output_len);
    out->c = c;
    out->mem = mem;
    return 0;
}

/* Copies command id, which the open transaction of c has just changed, into *out. */
static int command_fetch(struct conn *c, const char *id, struct command_copy *out)
{
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r = ward_sqlite_stmt_get(c, ST_CMD_GET, &st);
    if (r < 0)
        return r;
    r = ward_sqlite_bind_rc(c, ward_sqlite_bind_text(st, 1, id));
    if (r == 0)
        r = ward_sqlite_step_row(c, st);
    if (r == 0)
        return WARD_E_STORE; /* changed a moment ago, so it must be there */
    return r < 0 ? r : command_copy_row(st, out);
}

/* ---- Queueing ---- */

static int add_tx(struct conn *w, const struct ward_command *c, size_t max_pending)
{
    {
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int r = ward_sqlite_stmt_get(w, ST_CMD_PENDING, &st);
        if (r < 0)
            return r;
        int rc = ward_sqlite_bind_text(st, 1, c->host_id);
        rc = rc ?: ward_sqlite_bind_text(st, 2, c->args);
        r = ward_sqlite_bind_rc(w, rc);
        if (r == 0)
            r = ward_sqlite_step_row(w, st);
        if (r < 0)
            return r;
        if (r == 0)
            return WARD_E_NOT_FOUND;
        if (sqlite3_column_int(st, 1) == 0)
            return -EINVAL; /* args is not a JSON object */
        if ((uint64_t)sqlite3_column_int64(st, 0) >= (uint64_t)max_pending)
            return WARD_E_LIMIT;
    }
    {
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int r = ward_sqlite_stmt_get(w, ST_CMD_INSERT, &st);
        if (r < 0)
            return r;
        int rc = ward_sqlite_bind_text(st, 1, c->id);
        rc = rc ?: ward_sqlite_bind_text(st, 2, c->host_id);
        rc = rc ?: ward_sqlite_bind_text(st, 3, c->type);
        rc = rc ?: ward_sqlite_bind_text(st, 4, c->args);
        rc = rc ?: ward_sqlite_bind_text(st, 5, c->requested_by);
        rc = rc ?: sqlite3_bind_int64(st, 6, c->created_ms);
        rc = rc ?: sqlite3_bind_int64(st, 7, c->expires_ms);
        r = ward_sqlite_bind_rc(w, rc);
        if (r == 0)
            r = ward_sqlite_step_done(w, st);
        if (r < 0) {
            int ext = sqlite3_extended_errcode(w->db);
            return ext == SQLITE_CONSTRAINT_PRIMARYKEY || ext == SQLITE_CONSTRAINT_UNIQUE ? -EEXIST
                                                                                          : r;
        }
    }
    return audit_append(w, c->id);
}

int ward_sqlite_command_add(struct ward_store *base, const struct ward_command *c,
                            size_t max_pending)
{
    struct sqlite_store *s = STORE(base);
    int r = ward_sqlite_write_begin(s);
    if (r < 0)
        return r;
    return ward_sqlite_write_end(s, add_tx(&s->writer, c, max_pending));
}

/* ---- Dispatch and results ---- */

static int dispatch_tx(struct conn *w, const char *host_id, int64_t now_ms,
                       struct command_copy *out)
{
    _cleanup_free_ char *id = NULL;
    {
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int r = ward_sqlite_stmt_get(w, ST_CMD_NEXT, &st);
        if (r < 0)
            return r;
        int rc = ward_sqlite_bind_text(st, 1, host_id);
        rc = rc ?: sqlite3_bind_int64(st, 2, now_ms);
        r = ward_sqlite_bind_rc(w, rc);
        if (r == 0)
            r = ward_sqlite_step_row(w, st);
        if (r < 0)
            return r;
        if (r == 0)
            return WARD_E_NOT_FOUND;
        const char *found = ward_sqlite_text(st, 0);
        if (found == NULL)
            return WARD_E_STORE;
        id = strdup(found);
        if (id == NULL)
            return -ENOMEM;
    }
    int r = run_id(w, ST_CMD_DISPATCH, id, now_ms);
    if (r < 0)
        return r;
    if (r != 1)
        return WARD_E_STORE;
    r = audit_append(w, id);
    return r < 0 ? r : command_fetch(w, id, out);
}

/*
 * Whether statement id (ST_CMD_NEXT or ST_CMD_EXPIRING, with its two
 * integer or text-and-integer parameters) finds a row, on a reader. Most
 * polls find nothing to hand out and most sweeps nothing to expire; they
 * learn it without the write lock, which ingest holds for its commits.
 * The write transaction looks again, so a stale answer only costs a round.
 */
static int finds_row(struct sqlite_store *s, enum stmt_id id, const char *text1, int64_t int1,
                     int64_t int2)
{
    struct conn *c = ward_sqlite_reader_lock(s);
    int r;
    {
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        r = ward_sqlite_stmt_get(c, id, &st);
        if (r == 0) {
            int rc = text1 ? ward_sqlite_bind_text(st, 1, text1) : sqlite3_bind_int64(st, 1, int1);
            rc = rc ?: sqlite3_bind_int64(st, 2, int2);
            r = ward_sqlite_bind_rc(c, rc);
        }
        if (r == 0)
            r = ward_sqlite_step_row(c, st);
    }
    ward_sqlite_reader_unlock(c);
    return r;
}

int ward_sqlite_command_dispatch(struct ward_store *base, const char *host_id, int64_t now_ms,
                                 ward_store_command_fn fn, void *userdata)
{
    struct sqlite_store *s = STORE(base);
    struct command_copy k = {0};
    int r = finds_row(s, ST_CMD_NEXT, host_id, 0, now_ms);
    if (r <= 0)
        return r < 0 ? r : WARD_E_NOT_FOUND;
    r = ward_sqlite_write_begin(s);
    if (r < 0)
        return r;
    r = ward_sqlite_write_end(s, dispatch_tx(&s->writer, host_id, now_ms, &k));
    if (r >= 0)
        r = fn(&k.c, userdata);
    command_copy_done(&k);
    return r < 0 ? r : 0;
}

/* Binds the output with its length, for what came back may hold any byte; NULL as SQL NULL. */
static int bind_output(sqlite3_stmt *st, int i, const struct ward_command_result *res)
{
    if (res->output == NULL)
        return sqlite3_bind_null(st, i);
    return sqlite3_bind_text64(st, i, res->output, res->output_len, SQLITE_STATIC, SQLITE_UTF8);
}

static int finish_tx(struct conn *w, const char *id, const char *host_id,
                     const struct ward_command_result *res)
{
    int changed;
    {
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int r = ward_sqlite_stmt_get(w, ST_CMD_FINISH, &st);
        if (r < 0)
            return r;
        int rc = ward_sqlite_bind_text(st, 1, id);
        rc = rc ?: ward_sqlite_bind_text(st, 2, host_id);
        rc = rc ?: ward_sqlite_bind_text(st, 3, res->state);
        rc = rc ?: sqlite3_bind_int64(st, 4, res->exit_code);
        rc = rc ?: ward_sqlite_bind_opt(st, 5, res->error);
        rc = rc ?: bind_output(st, 6, res);
        rc = rc ?: sqlite3_bind_int64(st, 7, (sqlite3_int64)res->output_len);
        rc = rc ?: sqlite3_bind_int(st, 8, res->truncated ? 1 : 0);
        rc = rc ?: sqlite3_bind_int64(st, 9, res->finished_ms);
        r = ward_sqlite_bind_rc(w, rc);
        if (r == 0)
            r = ward_sqlite_step_done(w, st);
        if (r < 0)
            return r;
        changed = sqlite3_changes(w->db);
    }
    if (changed == 1)
        return audit_append(w, id);

    /* Nothing changed: no such command of that host, or one that is not dispatched. */
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r = ward_sqlite_stmt_get(w, ST_CMD_STATE, &st);
    if (r < 0)
        return r;
    int rc = ward_sqlite_bind_text(st, 1, id);
    rc = rc ?: ward_sqlite_bind_text(st, 2, host_id);
    r = ward_sqlite_bind_rc(w, rc);
    if (r == 0)
        r = ward_sqlite_step_row(w, st);
    return r < 0 ? r : r == 0 ? WARD_E_NOT_FOUND : -EALREADY;
}

int ward_sqlite_command_finish(struct ward_store *base, const char *id, const char *host_id,
                               const struct ward_command_result *res)
{
    struct sqlite_store *s = STORE(base);
    int r = ward_sqlite_write_begin(s);
    if (r < 0)
        return r;
    return ward_sqlite_write_end(s, finish_tx(&s->writer, id, host_id, res));
}

/* ---- Expiry and pruning ---- */

/* Ids of the commands to expire, and copies of them once expired. */
struct expiry {
    char **ids;
    struct command_copy *rows; /* NULL when nobody wants them */
    size_t n, cap;
};

static void expiry_done(struct expiry *x)
{
    for (size_t i = 0; i < x->n; i++) {
        free(x->ids[i]);
        if (x->rows)
            command_copy_done(&x->rows[i]);
    }
    free(x->ids);
    free(x->rows);
    *x = (struct expiry){0};
}

static int expiry_push(struct expiry *x, const char *id)
{
    if (x->n == x->cap) {
        size_t cap = x->cap ? x->cap * 2 : 16;
        char **ids = reallocarray(x->ids, cap, sizeof(*ids));
        if (ids == NULL)
            return -ENOMEM;
        x->ids = ids;
        x->cap = cap;
    }
    x->ids[x->n] = strdup(id);
    if (x->ids[x->n] == NULL)
        return -ENOMEM;
    x->n++;
    return 0;
}

/* Collects the ids first: the rows change under a statement that is still stepping otherwise. */
static int expire_tx(struct conn *w, int64_t now_ms, int64_t result_before_ms, bool copy,
                     struct expiry *x)
{
    {
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int r = ward_sqlite_stmt_get(w, ST_CMD_EXPIRING, &st);
        if (r < 0)
            return r;
        int rc = sqlite3_bind_int64(st, 1, now_ms);
        rc = rc ?: sqlite3_bind_int64(st, 2, result_before_ms);
        r = ward_sqlite_bind_rc(w, rc);
        while (r == 0 && (r = ward_sqlite_step_row(w, st)) == 1) {
            const char *id = ward_sqlite_text(st, 0);
            r = id ? expiry_push(x, id) : WARD_E_STORE;
        }
        if (r < 0)
            return r;
    }
    if (x->n > INT_MAX)
        return -EOVERFLOW;
    if (copy && x->n > 0) {
        x->rows = calloc(x->n, sizeof(*x->rows));
        if (x->rows == NULL)
            return -ENOMEM;
    }
    for (size_t i = 0; i < x->n; i++) {
        int r = run_id(w, ST_CMD_EXPIRE, x->ids[i], now_ms);
        if (r >= 0 && r != 1)
            r = WARD_E_STORE;
        if (r >= 0)
            r = audit_append(w, x->ids[i]);
        if (r >= 0 && copy)
            r = command_fetch(w, x->ids[i], &x->rows[i]);
        if (r < 0)
            return r;
    }
    return (int)x->n;
}

int ward_sqlite_command_expire(struct ward_store *base, int64_t now_ms, int64_t result_before_ms,
                               ward_store_command_fn fn, void *userdata)
{
    struct sqlite_store *s = STORE(base);
    struct expiry x = {0};
    int r = finds_row(s, ST_CMD_EXPIRING, NULL, now_ms, result_before_ms);
    if (r <= 0)
        return r;
    r = ward_sqlite_write_begin(s);
    if (r < 0)
        return r;
    r = ward_sqlite_write_end(s, expire_tx(&s->writer, now_ms, result_before_ms, fn != NULL, &x));
    for (size_t i = 0; r >= 0 && fn && i < x.n; i++) {
        int q = fn(&x.rows[i].c, userdata);
        if (q < 0)
            r = q;
    }
    expiry_done(&x);
    return r;
}

int ward_sqlite_command_prune(struct ward_store *base, int64_t before_ms, int64_t audit_before_ms)
{
    struct sqlite_store *s = STORE(base);
    int r = ward_sqlite_write_begin(s);
    if (r < 0)
        return r;
    r = run_int(&s->writer, ST_CMD_PRUNE, before_ms);
    if (r >= 0) {
        int q = run_int(&s->writer, ST_AUDIT_PRUNE, audit_before_ms);
        if (q < 0)
            r = q;
    }
    return ward_sqlite_write_end(s, r);
}

/* ---- Reads ---- */

static int get_locked(struct conn *c, const char *id, ward_store_command_fn fn, void *userdata)
{
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r = ward_sqlite_stmt_get(c, ST_CMD_GET, &st);
    if (r < 0)
        return r;
    r = ward_sqlite_bind_rc(c, ward_sqlite_bind_text(st, 1, id));
    if (r == 0)
        r = ward_sqlite_step_row(c, st);
    if (r <= 0)
        return r < 0 ? r : WARD_E_NOT_FOUND;
    struct ward_command cmd;
    size_t output_len;
    r = command_read(st, &cmd, &output_len);
    if (r == 0)
        r = fn(&cmd, userdata);
    return r < 0 ? r : 0;
}

int ward_sqlite_command_get(struct ward_store *base, const char *id, ward_store_command_fn fn,
                            void *userdata)
{
    struct conn *c = ward_sqlite_reader_lock(STORE(base));
    int r = get_locked(c, id, fn, userdata);
    ward_sqlite_reader_unlock(c);
    return r;
}

static int list_locked(struct conn *c, const struct ward_command_filter *f,
                       ward_store_command_fn fn, void *userdata)
{
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r = ward_sqlite_stmt_get(c, f->host_id ? ST_CMD_LIST_HOST : ST_CMD_LIST, &st);
    if (r < 0)
        return r;
    /* ST_CMD_LIST has no ?1, but ?6 makes binding it legal. */
    int rc = ward_sqlite_bind_opt(st, 1, f->host_id);
    rc = rc ?: ward_sqlite_bind_opt(st, 2, f->tenant_id);
    rc = rc ?: ward_sqlite_bind_opt(st, 3, f->state);
    rc = rc ?: ward_sqlite_bind_opt(st, 4, f->type);
    rc = rc ?: sqlite3_bind_int64(st, 5, f->since_ms ? f->since_ms : INT64_MIN);
    rc = rc ?: sqlite3_bind_int64(st, 6, limit_of(f->limit));
    r = ward_sqlite_bind_rc(c, rc);
    while (r == 0 && (r = ward_sqlite_step_row(c, st)) == 1) {
        struct ward_command cmd;
        size_t output_len;
        r = command_read(st, &cmd, &output_len);
        if (r == 0)
            r = fn(&cmd, userdata);
        if (r > 0)
            r = 0;
    }
    return r;
}

int ward_sqlite_command_list(struct ward_store *base, const struct ward_command_filter *f,
                             ward_store_command_fn fn, void *userdata)
{
    struct conn *c = ward_sqlite_reader_lock(STORE(base));
    int r = list_locked(c, f, fn, userdata);
    ward_sqlite_reader_unlock(c);
    return r;
}

static int audit_locked(struct conn *c, const struct ward_audit_filter *f, ward_store_audit_fn fn,
                        void *userdata)
{
    /* The most selective filter given picks the index. */
    enum stmt_id sid = f->command_id ? ST_AUDIT_LIST_COMMAND
                       : f->host_id  ? ST_AUDIT_LIST_HOST
                                     : ST_AUDIT_LIST;
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r = ward_sqlite_stmt_get(c, sid, &st);
    if (r < 0)
        return r;
    int rc = ward_sqlite_bind_opt(st, 1, f->host_id);
    rc = rc ?: ward_sqlite_bind_opt(st, 2, f->tenant_id);
    rc = rc ?: ward_sqlite_bind_opt(st, 3, f->command_id);
    rc = rc ?: sqlite3_bind_int64(st, 4, limit_of(f->limit));
    r = ward_sqlite_bind_rc(c, rc);
    while (r == 0 && (r = ward_sqlite_step_row(c, st)) == 1) {
        struct ward_audit_entry e = {
            .id = sqlite3_column_int64(st, 0),
            .ts_ms = sqlite3_column_int64(st, 1),
            .command_id = ward_sqlite_text(st, 2),
            .host_id = ward_sqlite_text(st, 3),
            .actor = ward_sqlite_text(st, 4),
            .event = ward_sqlite_text(st, 5),
            .detail = ward_sqlite_text(st, 6),
        };
        if (!e.command_id || !e.host_id || !e.actor || !e.event || !e.detail)
            return WARD_E_STORE;
        r = fn(&e, userdata);
        if (r > 0)
            r = 0;
    }
    return r;
}

int ward_sqlite_audit_list(struct ward_store *base, const struct ward_audit_filter *f,
                           ward_store_audit_fn fn, void *userdata)
{
    struct conn *c = ward_sqlite_reader_lock(STORE(base));
    int r = audit_locked(c, f, fn, userdata);
    ward_sqlite_reader_unlock(c);
    return r;
}
