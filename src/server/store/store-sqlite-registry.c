/*
 * The registry of the SQLite store: agent enrollment and lifecycle,
 * credentials, tenants and sections, and central configuration.
 *
 * These are small, rare operations next to sample writes, so each runs a
 * one-off statement: reads on a reader connection, writes in an IMMEDIATE
 * transaction of their own on the writer connection. The default tenant and
 * section are made by the schema migration with fixed ids (store-sqlite.c).
 */
#include "common/error.h"
#include "common/uuid.h"
#include "server/store/store-sqlite.h"
#include "server/store/store.h"

#include <errno.h>
#include <sqlite3.h>
#include <string.h>

#define STORE(base) ((struct sqlite_store *)(base))

/* The current Unix time in ms, in SQL that every SQLite since 3.0 runs. */
#define NOW_MS "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"

/* Text parameters of a statement, bound to ?1..?n; a NULL is bound as SQL NULL. */
struct params {
    const char *text[8];
    size_t n;
};

static void finalizep(sqlite3_stmt **st)
{
    sqlite3_finalize(*st);
}

#define _cleanup_finalize_ _cleanup_(finalizep)

static int prepare(struct conn *c, const char *sql, const struct params *p, sqlite3_stmt **out)
{
    int rc = sqlite3_prepare_v2(c->db, sql, -1, out, NULL);
    for (size_t i = 0; rc == SQLITE_OK && p && i < p->n; i++)
        rc = p->text[i] ? ward_sqlite_bind_text(*out, (int)i + 1, p->text[i])
                        : sqlite3_bind_null(*out, (int)i + 1);
    return ward_sqlite_bind_rc(c, rc);
}

/* Runs sql, which returns no rows. Returns the number of rows it changed, or an error. */
static int run(struct conn *c, const char *sql, const struct params *p)
{
    _cleanup_finalize_ sqlite3_stmt *st = NULL;
    int r = prepare(c, sql, p, &st);
    if (r < 0)
        return r;
    r = ward_sqlite_step_done(c, st);
    if (r < 0) {
        int ext = sqlite3_extended_errcode(c->db);
        return ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY ? -EEXIST : r;
    }
    return sqlite3_changes(c->db);
}

/* Runs the row statement st to its end, calling row(st, fn_data) for each row. */
static int each_row(struct conn *c, sqlite3_stmt *st, int (*row)(sqlite3_stmt *st, void *data),
                    void *data)
{
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int r = row(st, data);
        if (r < 0)
            return r;
    }
    return rc == SQLITE_DONE ? 0 : ward_sqlite_rc(c->db, rc);
}

/* Runs the read statement sql on a reader connection. */
static int read_rows(struct sqlite_store *s, const char *sql, const struct params *p,
                     int (*row)(sqlite3_stmt *st, void *data), void *data)
{
    struct conn *c = ward_sqlite_reader_lock(s);
    _cleanup_finalize_ sqlite3_stmt *st = NULL;
    int r = prepare(c, sql, p, &st);
    if (r == 0)
        r = each_row(c, st, row, data);
    sqlite3_finalize(st);
    st = NULL;
    ward_sqlite_reader_unlock(c);
    return r;
}

/* Reads the first column of a row as an integer into *(int64_t *)data. */
static int int64_row(sqlite3_stmt *st, void *data)
{
    *(int64_t *)data = sqlite3_column_int64(st, 0);
    return 0;
}

/* ---- Hosts ---- */

struct host_call {
    ward_store_host_fn fn;
    void *userdata;
    bool found;
};

static int host_row(sqlite3_stmt *st, void *data)
{
    struct host_call *call = data;
    call->found = true;
    return ward_sqlite_host_row(st, call->fn, call->userdata);
}

int ward_sqlite_host_get(struct ward_store *base, const char *id, ward_store_host_fn fn,
                         void *userdata)
{
    struct host_call call = {fn, userdata, false};
    struct params p = {{id}, 1};
    int r = read_rows(STORE(base), WARD_SQLITE_HOST_SELECT " WHERE h.id = ?1", &p, host_row, &call);
    return r < 0 ? r : call.found ? 0 : WARD_E_NOT_FOUND;
}

struct enroll_state {
    char status[WARD_STORE_STATUS_LEN];
    char hash[65];
    bool has_hash;
};

static int enroll_row(sqlite3_stmt *st, void *data)
{
    struct enroll_state *e = data;
    const char *status = ward_sqlite_text(st, 0), *hash = ward_sqlite_text(st, 1);
    snprintf(e->status, sizeof(e->status), "%s", status ? status : "");
    e->has_hash = hash != NULL;
    snprintf(e->hash, sizeof(e->hash), "%s", hash ? hash : "");
    return 0;
}

static int enroll_tx(struct conn *c, const struct ward_enrollment *e, char *status_out)
{
    struct enroll_state have = {0};
    struct params id = {{e->id}, 1};
    _cleanup_finalize_ sqlite3_stmt *st = NULL;
    int r = prepare(c, "SELECT status, claim_token_hash FROM hosts WHERE id = ?1", &id, &st);
    if (r == 0)
        r = each_row(c, st, enroll_row, &have);
    if (r < 0)
        return r;
    /*
     * A known host, deregistered ones included, keeps its claim token: only
     * its own agent registers it again. A host made without one (by
     * ingest, by an admin) is adopted only by a trusted enrollment.
     */
    bool known = have.status[0] != '\0';
    bool adopt = known && !have.has_hash && e->activate && e->claim_token_hash;
    if (known && !adopt &&
        (!have.has_hash || !e->claim_token_hash || strcmp(have.hash, e->claim_token_hash) != 0))
        return -EEXIST;
    /*
     * An admin's decision stands: a revoked host, or a deregistered one that
     * comes back, waits for a claim; an enrollment token does not undo it.
     */
    const char *status = !known ? (e->activate ? "active" : "pending")
                         : strcmp(have.status, "deregistered") == 0           ? "revoked"
                         : strcmp(have.status, "pending") == 0 && e->activate ? "active"
                                                                              : have.status;
    const struct ward_host_info *i = &e->info;
    struct params p = {{e->id, i->hostname, i->ip_address, i->os, i->labels, i->agent_version,
                        status, e->claim_token_hash},
                       8};
    r = run(c,
            "INSERT INTO hosts (id, hostname, ip_address, os, labels, agent_version, status,"
            " claim_token_hash, created_at, updated_at)"
            " VALUES (?1, ?2, ?3, ?4, coalesce(?5, '{}'), ?6, ?7, ?8,"
            " " NOW_MS ", " NOW_MS ")"
            " ON CONFLICT (id) DO UPDATE SET hostname = excluded.hostname,"
            " ip_address = coalesce(excluded.ip_address, ip_address),"
            " os = coalesce(excluded.os, os), labels = coalesce(?5, labels),"
            " agent_version = coalesce(excluded.agent_version, agent_version),"
            " status = excluded.status, claim_token_hash = excluded.claim_token_hash,"
            " updated_at = excluded.updated_at",
            &p);
    if (r < 0)
        return r;
    snprintf(status_out, WARD_STORE_STATUS_LEN, "%s", status);
    return 0;
}

int ward_sqlite_host_enroll(struct ward_store *base, const struct ward_enrollment *e,
                            char *status_out)
{
    struct sqlite_store *s = STORE(base);
    int r = ward_sqlite_write_begin(s);
    if (r < 0)
        return r;
    return ward_sqlite_write_end(s, enroll_tx(&s->writer, e, status_out));
}

int ward_sqlite_host_change(struct ward_store *base, const struct ward_host_change *ch)
{
    struct sqlite_store *s = STORE(base);
    int r = ward_sqlite_write_begin(s);
    if (r < 0)
        return r;
    struct conn *c = &s->writer;
    if (ch->section_id) {
        struct params sp = {{ch->section_id}, 1};
        r = run(c, "UPDATE sections SET name = name WHERE id = ?1", &sp);
        if (r == 0)
            r = WARD_E_NOT_FOUND;
    }
    if (r >= 0) {
        struct params p = {{ch->id, ch->status, ch->section_id, ch->name, ch->from_status}, 5};
        r = run(c,
                "UPDATE hosts SET status = coalesce(?2, status),"
                " section_id = coalesce(?3, section_id), name = coalesce(?4, name),"
                " updated_at = " NOW_MS " WHERE id = ?1"
                " AND (?5 IS NULL OR status = ?5 OR (?5 = 'pending' AND status = 'revoked'))",
                &p);
        if (r == 0 && ch->from_status) {
            struct params ip = {{ch->id}, 1};
            r = run(c, "UPDATE hosts SET id = id WHERE id = ?1", &ip) == 0 ? WARD_E_NOT_FOUND
                                                                           : -EALREADY;
        } else if (r == 0) {
            r = WARD_E_NOT_FOUND;
        }
    }
    /* run() counted the rows changed; the method's success is 0. */
    r = ward_sqlite_write_end(s, r);
    return r < 0 ? r : 0;
}

int ward_sqlite_host_purge(struct ward_store *base, const char *id)
{
    static const char *const steps[] = {
        "DELETE FROM samples WHERE series_id IN (SELECT id FROM series WHERE host_id = ?1)",
        "DELETE FROM series WHERE host_id = ?1",
        "DELETE FROM batches WHERE host_id = ?1",
        "DELETE FROM credentials WHERE host_id = ?1",
        "DELETE FROM configs WHERE scope = 'agent' AND id = ?1",
        "DELETE FROM hosts WHERE id = ?1",
    };
    struct sqlite_store *s = STORE(base);
    pthread_mutex_lock(&s->writer.lock);
    /* The head holds the newest samples in memory: move them to the table first. */
    int r = ward_sqlite_head_flush(s);
    if (r == 0)
        r = ward_sqlite_exec(s->writer.db, "BEGIN IMMEDIATE");
    if (r < 0) {
        pthread_mutex_unlock(&s->writer.lock);
        return r;
    }
    struct params p = {{id}, 1};
    for (size_t i = 0; r >= 0 && i < WARD_ARRAY_SIZE(steps); i++)
        r = run(&s->writer, steps[i], &p);
    if (r == 0)
        r = WARD_E_NOT_FOUND; /* the last step found no host */
    /*
     * SQLite numbers a new series one above the largest id left, so the ids
     * of purged series come back. A group that rolls back forgets the
     * series above series_max (store-sqlite-write.c); left above the ids
     * handed out again, it would keep those in the cache with no series
     * behind them. Should the commit fail, a series_max below the largest
     * id only makes a rollback forget more of the cache than it must.
     */
    if (r >= 0) {
        int64_t max = 0;
        _cleanup_finalize_ sqlite3_stmt *st = NULL;
        int q = prepare(&s->writer, "SELECT coalesce(max(id), 0) FROM series", NULL, &st);
        if (q == 0)
            q = each_row(&s->writer, st, int64_row, &max);
        if (q < 0)
            r = q;
        else
            s->series_max = max;
    }
    /* Forget the series ids the writer cached; they fill again from the table. */
    ward_sqlite_cache_done(&s->cache);
    r = ward_sqlite_write_end(s, r);
    return r < 0 ? r : 0;
}

/* ---- Credentials ---- */

#define CREDENTIAL_COLUMNS                                                                         \
    "SELECT id, kind, lookup, hash, host_id, tenant_id, name, created_at,"                         \
    " coalesce(revoked_at, 0) FROM credentials"

struct credential_call {
    ward_store_credential_fn fn;
    void *userdata;
    bool found;
};

static int credential_row(sqlite3_stmt *st, void *data)
{
    struct credential_call *call = data;
    struct ward_credential c = {
        .id = ward_sqlite_text(st, 0),
        .kind = ward_sqlite_text(st, 1),
        .lookup = ward_sqlite_text(st, 2),
        .hash = ward_sqlite_text(st, 3),
        .host_id = ward_sqlite_text(st, 4),
        .tenant_id = ward_sqlite_text(st, 5),
        .name = ward_sqlite_text(st, 6),
        .created_ms = sqlite3_column_int64(st, 7),
        .revoked_ms = sqlite3_column_int64(st, 8),
    };
    if (!c.id || !c.kind || !c.lookup || !c.hash)
        return WARD_E_STORE;
    call->found = true;
    return call->fn(&c, call->userdata);
}

int ward_sqlite_credential_add(struct ward_store *base, const struct ward_credential *c,
                               bool revoke_host_keys)
{
    struct sqlite_store *s = STORE(base);
    int r = ward_sqlite_write_begin(s);
    if (r < 0)
        return r;
    struct conn *w = &s->writer;
    if (revoke_host_keys) {
        struct params hp = {{c->host_id}, 1};
        r = run(w,
                "UPDATE credentials SET revoked_at = " NOW_MS ""
                " WHERE host_id = ?1 AND revoked_at IS NULL",
                &hp);
    }
    if (r >= 0) {
        struct params p = {{c->id, c->kind, c->lookup, c->hash, c->host_id, c->tenant_id, c->name},
                           7};
        r = run(w,
                "INSERT INTO credentials (id, kind, lookup, hash, host_id, tenant_id, name,"
                " created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7,"
                " " NOW_MS ")",
                &p);
    }
    return ward_sqlite_write_end(s, r < 0 ? r : 0);
}

int ward_sqlite_credential_find(struct ward_store *base, const char *lookup,
                                ward_store_credential_fn fn, void *userdata)
{
    struct credential_call call = {fn, userdata, false};
    struct params p = {{lookup}, 1};
    int r =
        read_rows(STORE(base), CREDENTIAL_COLUMNS " WHERE lookup = ?1", &p, credential_row, &call);
    return r < 0 ? r : call.found ? 0 : WARD_E_NOT_FOUND;
}

int ward_sqlite_credential_list(struct ward_store *base, const char *kind,
                                ward_store_credential_fn fn, void *userdata)
{
    struct credential_call call = {fn, userdata, false};
    struct params p = {{kind}, 1};
    return read_rows(STORE(base), CREDENTIAL_COLUMNS " WHERE kind = ?1 ORDER BY created_at, id", &p,
                     credential_row, &call);
}

int ward_sqlite_credential_revoke(struct ward_store *base, const char *id, const char *host_id)
{
    struct sqlite_store *s = STORE(base);
    int r = ward_sqlite_write_begin(s);
    if (r < 0)
        return r;
    struct params p = {{id, host_id}, 2};
    r = run(&s->writer,
            "UPDATE credentials SET revoked_at = " NOW_MS ""
            " WHERE revoked_at IS NULL AND (id = ?1 OR (?1 IS NULL AND host_id = ?2))",
            &p);
    return ward_sqlite_write_end(s, r);
}

/* ---- Tenants and sections ---- */

struct group_call {
    ward_store_group_fn fn;
    void *userdata;
};

static int group_row(sqlite3_stmt *st, void *data)
{
    struct group_call *call = data;
    struct ward_group g = {
        .id = ward_sqlite_text(st, 0),
        .tenant_id = ward_sqlite_text(st, 1),
        .name = ward_sqlite_text(st, 2),
        .created_ms = sqlite3_column_int64(st, 3),
    };
    if (!g.id || !g.name)
        return WARD_E_STORE;
    return call->fn(&g, call->userdata);
}

int ward_sqlite_group_add(struct ward_store *base, const struct ward_group *g, char *id_out)
{
    char id[WARD_UUID_STR_LEN];
    int r = ward_uuid_v7(id);
    if (r < 0)
        return r;
    struct sqlite_store *s = STORE(base);
    r = ward_sqlite_write_begin(s);
    if (r < 0)
        return r;
    /* A tenant's INSERT has no ?3: binding one would fail with SQLITE_RANGE. */
    struct params p = {{id, g->name, g->tenant_id}, g->tenant_id ? 3 : 2};
    if (g->tenant_id) {
        struct params tp = {{g->tenant_id}, 1};
        r = run(&s->writer, "UPDATE tenants SET name = name WHERE id = ?1", &tp);
        if (r == 0)
            r = WARD_E_NOT_FOUND;
        if (r >= 0)
            r = run(&s->writer,
                    "INSERT INTO sections (id, name, tenant_id, created_at)"
                    " VALUES (?1, ?2, ?3, " NOW_MS ")",
                    &p);
    } else {
        r = run(&s->writer,
                "INSERT INTO tenants (id, name, created_at)"
                " VALUES (?1, ?2, " NOW_MS ")",
                &p);
    }
    r = ward_sqlite_write_end(s, r);
    if (r >= 0)
        memcpy(id_out, id, WARD_UUID_STR_LEN);
    return r < 0 ? r : 0;
}

int ward_sqlite_group_list(struct ward_store *base, bool sections, const char *tenant_id,
                           ward_store_group_fn fn, void *userdata)
{
    struct group_call call = {fn, userdata};
    struct params p = {{tenant_id}, 1};
    const char *sql = sections ? "SELECT id, tenant_id, name, created_at FROM sections"
                                 " WHERE ?1 IS NULL OR tenant_id = ?1 ORDER BY name, id"
                               : "SELECT id, NULL, name, created_at FROM tenants"
                                 " WHERE ?1 IS NULL OR id = ?1 ORDER BY name, id";
    return read_rows(STORE(base), sql, &p, group_row, &call);
}

/* ---- Configuration ---- */

struct config_call {
    ward_store_config_fn fn;
    void *userdata;
    bool found;
};

static int config_row(sqlite3_stmt *st, void *data)
{
    struct config_call *call = data;
    const char *body = ward_sqlite_text(st, 0);
    if (!body)
        return WARD_E_STORE;
    call->found = true;
    return call->fn(body, sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2), call->userdata);
}

int ward_sqlite_config_get(struct ward_store *base, const char *scope, const char *id,
                           ward_store_config_fn fn, void *userdata)
{
    struct config_call call = {fn, userdata, false};
    struct params p = {{scope, id}, 2};
    int r = read_rows(STORE(base),
                      "SELECT body, version, updated_at FROM configs WHERE scope = ?1 AND id = ?2",
                      &p, config_row, &call);
    return r < 0 ? r : call.found ? 0 : WARD_E_NOT_FOUND;
}

/*
 * The row that keeps the highest version handed out. A purge deletes the
 * host's configuration, and with it maybe the highest version stored; the
 * next document would get that version again, and an agent that enrolls
 * anew under the same id and still holds it would take the new document
 * for the one it has. The empty scope is one store.c never lets through,
 * so the row is never read as a configuration, and no purge deletes it.
 */
#define VERSION_SCOPE ""

/* Stores body as scope id with version v. Returns 0 or an error. */
static int config_put(struct conn *c, const char *scope, const char *id, const char *body,
                      int64_t v)
{
    _cleanup_finalize_ sqlite3_stmt *st = NULL;
    struct params p = {{scope, id, body}, 3};
    int r = prepare(c,
                    "INSERT INTO configs (scope, id, body, version, updated_at)"
                    " VALUES (?1, ?2, ?3, ?4, " NOW_MS ")"
                    " ON CONFLICT (scope, id) DO UPDATE SET body = excluded.body,"
                    " version = excluded.version, updated_at = excluded.updated_at",
                    &p, &st);
    if (r == 0)
        r = ward_sqlite_bind_rc(c, sqlite3_bind_int64(st, 4, v));
    return r < 0 ? r : ward_sqlite_step_done(c, st);
}

int ward_sqlite_config_set(struct ward_store *base, const char *scope, const char *id,
                           const char *body, int64_t *version)
{
    struct sqlite_store *s = STORE(base);
    int r = ward_sqlite_write_begin(s);
    if (r < 0)
        return r;
    struct conn *c = &s->writer;
    int64_t v = 0;
    _cleanup_finalize_ sqlite3_stmt *st = NULL;
    r = prepare(c, "SELECT coalesce(max(version), 0) + 1 FROM configs", NULL, &st);
    if (r == 0)
        r = each_row(c, st, int64_row, &v);
    if (r >= 0)
        r = config_put(c, scope, id, body, v);
    if (r >= 0)
        r = config_put(c, VERSION_SCOPE, "", "", v);
    r = ward_sqlite_write_end(s, r);
    if (r >= 0)
        *version = v;
    return r < 0 ? r : 0;
}
