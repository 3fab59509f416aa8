/*
 * Storage front end: picks a backend by DSN and forwards calls to it.
 *
 * Backends are listed in a const table and asked in order; the first whose
 * accepts() claims the DSN opens it. Adding a backend is one more line in
 * that table. Every call reaches the backend through ops->size, so a backend
 * built against an older, shorter struct ward_store_ops keeps working: a
 * method it does not have yields -EOPNOTSUPP instead of a jump through
 * whatever lies past the end of its table.
 *
 * Arguments are checked here, once, for every backend: missing strings,
 * non-finite values and unknown kinds are refused with -EINVAL before any
 * backend starts a transaction, so a bad sample can never leave half a batch
 * behind. Backends may rely on these checks.
 */
#include "server/store/store.h"

#include "common/cleanup.h"
#include "common/error.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static const struct ward_store_ops *const backends[] = {
    &ward_store_sqlite_ops,
};

/* True when ops is long enough to contain method m and provides it. */
#define HAS_METHOD(ops, m)                                                                         \
    ((ops)->size >= offsetof(struct ward_store_ops, m) + sizeof((ops)->m) && (ops)->m != NULL)

static bool is_text(const char *s)
{
    return s != NULL && s[0] != '\0';
}

static int check_samples(const struct ward_sample *v, size_t n)
{
    if (n > 0 && v == NULL)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (!is_text(v[i].category) || !is_text(v[i].name) || v[i].labels == NULL)
            return -EINVAL;
        if (v[i].kind != WARD_KIND_GAUGE && v[i].kind != WARD_KIND_COUNTER)
            return -EINVAL;
        if (!isfinite(v[i].value))
            return -EINVAL;
    }
    return 0;
}

int ward_store_open(const char *dsn, const struct ward_store_options *opt, struct ward_store **out)
{
    static const struct ward_store_options defaults = {0};

    if (!is_text(dsn) || out == NULL)
        return -EINVAL;
    if (opt == NULL)
        opt = &defaults;

    for (size_t i = 0; i < WARD_ARRAY_SIZE(backends); i++) {
        const struct ward_store_ops *ops = backends[i];
        if (!HAS_METHOD(ops, accepts) || !HAS_METHOD(ops, open) || !ops->accepts(dsn))
            continue;
        struct ward_store *s = NULL;
        int r = ops->open(dsn, opt, &s);
        if (r < 0)
            return r;
        *out = s;
        return 0;
    }
    return WARD_E_NOT_FOUND;
}

void ward_store_close(struct ward_store *s)
{
    if (s != NULL && HAS_METHOD(s->ops, close))
        s->ops->close(s);
}

int ward_store_write(struct ward_store *s, struct ward_write *w, size_t n)
{
    if (s == NULL || (n > 0 && w == NULL))
        return -EINVAL;
    if (!HAS_METHOD(s->ops, write))
        return -EOPNOTSUPP;
    /*
     * Bad batches are answered here and left out of the group, so the backend
     * only ever sees valid ones. They are moved to the end, the valid ones
     * written, and the order restored, which keeps the caller's array intact.
     */
    size_t valid = 0;
    for (size_t i = 0; i < n; i++) {
        w[i].result = is_text(w[i].host_id) ? check_samples(w[i].samples, w[i].n) : -EINVAL;
        if (w[i].result == 0)
            valid++;
    }
    if (valid == n)
        return s->ops->write(s, w, n);
    if (valid == 0)
        return 0;
    struct ward_write *good = calloc(valid, sizeof(*good));
    if (good == NULL)
        return -ENOMEM;
    for (size_t i = 0, j = 0; i < n; i++)
        if (w[i].result == 0)
            good[j++] = w[i];
    int r = s->ops->write(s, good, valid);
    for (size_t i = 0, j = 0; i < n; i++)
        if (w[i].result == 0)
            w[i].result = good[j++].result;
    free(good);
    return r;
}

int ward_store_ingest(struct ward_store *s, const char *host_id, const struct ward_batch_key *batch,
                      const struct ward_sample *samples, size_t n)
{
    struct ward_write w = {.host_id = host_id, .batch = batch, .samples = samples, .n = n};
    int r = ward_store_write(s, &w, 1);
    return r < 0 ? r : w.result;
}

int ward_store_query(struct ward_store *s, const struct ward_query *q, ward_store_row_fn fn,
                     void *userdata)
{
    if (s == NULL || q == NULL || fn == NULL || !is_text(q->host_id))
        return -EINVAL;
    if (!HAS_METHOD(s->ops, query))
        return -EOPNOTSUPP;
    return s->ops->query(s, q, fn, userdata);
}

int ward_store_host_register(struct ward_store *s, const struct ward_host_info *info, char *id_out,
                             bool *created)
{
    if (s == NULL || info == NULL || !is_text(info->hostname) || id_out == NULL || created == NULL)
        return -EINVAL;
    if (!HAS_METHOD(s->ops, host_register))
        return -EOPNOTSUPP;
    return s->ops->host_register(s, info, id_out, created);
}

int ward_store_host_list(struct ward_store *s, ward_store_host_fn fn, void *userdata)
{
    if (s == NULL || fn == NULL)
        return -EINVAL;
    if (!HAS_METHOD(s->ops, host_list))
        return -EOPNOTSUPP;
    return s->ops->host_list(s, fn, userdata);
}

int ward_store_series_list(struct ward_store *s, const struct ward_series_filter *f,
                           ward_store_series_fn fn, void *userdata)
{
    static const struct ward_series_filter all = {0};
    if (s == NULL || fn == NULL)
        return -EINVAL;
    if (!HAS_METHOD(s->ops, series_list))
        return -EOPNOTSUPP;
    return s->ops->series_list(s, f ? f : &all, fn, userdata);
}

int ward_store_read(struct ward_store *s, const int64_t *ids, size_t n, int64_t from_ms,
                    int64_t to_ms, ward_store_point_fn fn, void *userdata)
{
    if (s == NULL || fn == NULL || (n > 0 && ids == NULL))
        return -EINVAL;
    if (!HAS_METHOD(s->ops, read))
        return -EOPNOTSUPP;
    if (n == 0 || from_ms > to_ms)
        return 0;
    return s->ops->read(s, ids, n, from_ms, to_ms, fn, userdata);
}

int ward_store_latest(struct ward_store *s, ward_store_latest_fn fn, void *userdata)
{
    if (s == NULL || fn == NULL)
        return -EINVAL;
    if (!HAS_METHOD(s->ops, latest))
        return -EOPNOTSUPP;
    return s->ops->latest(s, fn, userdata);
}

int ward_store_prune(struct ward_store *s, int64_t before_ms, size_t max_rows, size_t *deleted)
{
    if (s == NULL || deleted == NULL || max_rows == 0)
        return -EINVAL;
    if (!HAS_METHOD(s->ops, prune))
        return -EOPNOTSUPP;
    return s->ops->prune(s, before_ms, max_rows, deleted);
}

int ward_store_stats(struct ward_store *s, struct ward_store_stats *out)
{
    if (s == NULL || out == NULL)
        return -EINVAL;
    if (!HAS_METHOD(s->ops, stats))
        return -EOPNOTSUPP;
    return s->ops->stats(s, out);
}

int ward_store_ping(struct ward_store *s)
{
    if (s == NULL)
        return -EINVAL;
    if (!HAS_METHOD(s->ops, ping))
        return -EOPNOTSUPP;
    return s->ops->ping(s);
}

/* ---- The registry ---- */

/* Forwards to method m when the arguments passed check ok. */
#define FORWARD(s, ok, m, ...)                                                                     \
    do {                                                                                           \
        if ((s) == NULL || !(ok))                                                                  \
            return -EINVAL;                                                                        \
        if (!HAS_METHOD((s)->ops, m))                                                              \
            return -EOPNOTSUPP;                                                                    \
        return (s)->ops->m((s), __VA_ARGS__);                                                      \
    } while (0)

static bool is_scope(const char *scope)
{
    return scope && (strcmp(scope, "agent") == 0 || strcmp(scope, "section") == 0);
}

int ward_store_host_enroll(struct ward_store *s, const struct ward_enrollment *e, char *status_out)
{
    FORWARD(s, e && is_text(e->id) && is_text(e->info.hostname) && status_out, host_enroll, e,
            status_out);
}

int ward_store_host_get(struct ward_store *s, const char *id, ward_store_host_fn fn, void *userdata)
{
    FORWARD(s, is_text(id) && fn, host_get, id, fn, userdata);
}

static bool is_status(const char *status)
{
    return !status || strcmp(status, "pending") == 0 || strcmp(status, "active") == 0 ||
           strcmp(status, "revoked") == 0 || strcmp(status, "deregistered") == 0;
}

int ward_store_host_change(struct ward_store *s, const struct ward_host_change *c)
{
    FORWARD(s, c && is_text(c->id) && is_status(c->status) && is_status(c->from_status),
            host_change, c);
}

int ward_store_host_purge(struct ward_store *s, const char *id)
{
    FORWARD(s, is_text(id), host_purge, id);
}

int ward_store_credential_add(struct ward_store *s, const struct ward_credential *c,
                              bool revoke_host_keys)
{
    FORWARD(s,
            c && is_text(c->id) && is_text(c->kind) && is_text(c->lookup) && is_text(c->hash) &&
                (!revoke_host_keys || is_text(c->host_id)),
            credential_add, c, revoke_host_keys);
}

int ward_store_credential_find(struct ward_store *s, const char *lookup,
                               ward_store_credential_fn fn, void *userdata)
{
    FORWARD(s, is_text(lookup) && fn, credential_find, lookup, fn, userdata);
}

int ward_store_credential_list(struct ward_store *s, const char *kind, ward_store_credential_fn fn,
                               void *userdata)
{
    FORWARD(s, is_text(kind) && fn, credential_list, kind, fn, userdata);
}

int ward_store_credential_revoke(struct ward_store *s, const char *id, const char *host_id)
{
    FORWARD(s, is_text(id) || is_text(host_id), credential_revoke, id, host_id);
}

int ward_store_group_add(struct ward_store *s, const struct ward_group *g, char *id_out)
{
    FORWARD(s, g && is_text(g->name) && id_out, group_add, g, id_out);
}

int ward_store_group_list(struct ward_store *s, bool sections, const char *tenant_id,
                          ward_store_group_fn fn, void *userdata)
{
    FORWARD(s, fn != NULL, group_list, sections, tenant_id, fn, userdata);
}

int ward_store_config_get(struct ward_store *s, const char *scope, const char *id,
                          ward_store_config_fn fn, void *userdata)
{
    FORWARD(s, is_scope(scope) && is_text(id) && fn, config_get, scope, id, fn, userdata);
}

int ward_store_config_set(struct ward_store *s, const char *scope, const char *id, const char *body,
                          int64_t *version)
{
    FORWARD(s, is_scope(scope) && is_text(id) && is_text(body) && version, config_set, scope, id,
            body, version);
}

/* ---- The command queue ---- */

static bool is_result_state(const char *state)
{
    return state && (strcmp(state, "done") == 0 || strcmp(state, "failed") == 0);
}

int ward_store_command_add(struct ward_store *s, const struct ward_command *c, size_t max_pending)
{
    FORWARD(s,
            c && is_text(c->id) && is_text(c->host_id) && is_text(c->type) && is_text(c->args) &&
                is_text(c->requested_by),
            command_add, c, max_pending);
}

int ward_store_command_dispatch(struct ward_store *s, const char *host_id, int64_t now_ms,
                                ward_store_command_fn fn, void *userdata)
{
    FORWARD(s, is_text(host_id) && fn, command_dispatch, host_id, now_ms, fn, userdata);
}

int ward_store_command_finish(struct ward_store *s, const char *id, const char *host_id,
                              const struct ward_command_result *res)
{
    FORWARD(s,
            is_text(id) && is_text(host_id) && res && is_result_state(res->state) &&
                (res->output || res->output_len == 0),
            command_finish, id, host_id, res);
}

int ward_store_command_get(struct ward_store *s, const char *id, ward_store_command_fn fn,
                           void *userdata)
{
    FORWARD(s, is_text(id) && fn, command_get, id, fn, userdata);
}

int ward_store_command_list(struct ward_store *s, const struct ward_command_filter *f,
                            ward_store_command_fn fn, void *userdata)
{
    static const struct ward_command_filter all = {0};
    FORWARD(s, fn != NULL, command_list, f ? f : &all, fn, userdata);
}

int ward_store_command_expire(struct ward_store *s, int64_t now_ms, int64_t result_before_ms,
                              ward_store_command_fn fn, void *userdata)
{
    FORWARD(s, true, command_expire, now_ms, result_before_ms, fn, userdata);
}

int ward_store_command_prune(struct ward_store *s, int64_t before_ms, int64_t audit_before_ms)
{
    FORWARD(s, true, command_prune, before_ms, audit_before_ms);
}

int ward_store_audit_list(struct ward_store *s, const struct ward_audit_filter *f,
                          ward_store_audit_fn fn, void *userdata)
{
    static const struct ward_audit_filter all = {0};
    FORWARD(s, fn != NULL, audit_list, f ? f : &all, fn, userdata);
}
