/*
 * Diagnostics for admins: queue a command for an agent, read it back with
 * its result, list commands and the audit log (docs/api.md, Diagnostics).
 *
 *   POST /api/v1/hosts/{id}/commands    {"type", "args", "ttl"}: 201 with the command
 *   GET  /api/v1/commands/{id}[?wait=N] the command; waits up to N s for its result
 *   GET  /api/v1/commands               filters host_id, state, type, since, limit
 *   GET  /api/v1/audit                  filters host_id, command_id, limit
 *   POST /admin/trigger_logs, /admin/trigger_disk, /admin/trigger_network (spectra)
 *
 * Every route checks a command's arguments with common/diag.h before it is
 * stored, so a command in the queue is always one an agent would accept,
 * and stores them in canonical form: every argument, defaults filled in.
 * Waking the agent's long-poll is all a new command needs to be delivered
 * (commands.h); a wait for a result is woken the same way, by command id.
 */
#include "server/api/api.h"

#include "common/diag.h"
#include "common/error.h"
#include "common/json.h"
#include "common/log.h"
#include "common/parse.h"
#include "common/time-util.h"
#include "common/uuid.h"
#include "server/auth.h"
#include "server/commands.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define MAX_REQUEST_BODY (16 * 1024)
#define MAX_TTL_S        86400
#define MAX_LIST         1000
#define MAX_NAME         128

/* ---- Rendering ---- */

static bool finished(const char *state)
{
    return strcmp(state, "done") == 0 || strcmp(state, "failed") == 0 ||
           strcmp(state, "expired") == 0;
}

/* Writes command c as an object; the output only when with_output. */
static void write_command(struct ward_json_writer *w, const struct ward_command *c,
                          bool with_output)
{
    ward_json_write_object_begin(w);
    ward_json_write_keyz(w, "id");
    ward_json_write_stringz(w, c->id);
    ward_json_write_keyz(w, "host_id");
    ward_json_write_stringz(w, c->host_id);
    ward_json_write_keyz(w, "type");
    ward_json_write_stringz(w, c->type);
    ward_json_write_keyz(w, "args");
    ward_json_write_raw(w, c->args, strlen(c->args));
    ward_json_write_keyz(w, "state");
    ward_json_write_stringz(w, c->state);
    ward_api_write_opt(w, "requested_by", c->requested_by);
    ward_api_write_time(w, "created_at", c->created_ms);
    ward_api_write_time(w, "expires_at", c->expires_ms);
    ward_api_write_time(w, "dispatched_at", c->dispatched_ms);
    ward_api_write_time(w, "finished_at", c->finished_ms);
    ward_json_write_keyz(w, "exit_code");
    if (strcmp(c->state, "done") == 0 || strcmp(c->state, "failed") == 0)
        ward_json_write_int(w, c->exit_code);
    else
        ward_json_write_null(w);
    ward_api_write_opt(w, "error", c->error);
    if (with_output)
        ward_api_write_opt(w, "output", c->output);
    ward_json_write_keyz(w, "output_bytes");
    ward_json_write_int(w, c->output_bytes);
    ward_json_write_keyz(w, "truncated");
    ward_json_write_bool(w, c->truncated);
    ward_json_write_object_end(w);
}

/* ---- Queueing ---- */

struct host_state {
    const struct ward_principal *p;
    bool visible;
    bool active;
    char id[WARD_STORE_ID_LEN];
};

static int on_host(const struct ward_host_row *h, void *userdata)
{
    struct host_state *hs = userdata;
    hs->visible = ward_auth_sees_tenant(hs->p, h->tenant_id);
    hs->active = strcmp(h->status, "active") == 0;
    snprintf(hs->id, sizeof(hs->id), "%s", h->id);
    return 0;
}

struct credential_name {
    char name[MAX_NAME + 1];
};

static int on_credential(const struct ward_credential *c, void *userdata)
{
    struct credential_name *n = userdata;
    snprintf(n->name, sizeof(n->name), "%s", c->name && *c->name ? c->name : c->id);
    return 0;
}

/* Who is asking, for the audit log: the name of the caller's token, or its id. */
static void requester(struct ward_http_request *req, struct ward_api *api, char *out, size_t size)
{
    const struct ward_principal *p = ward_auth_principal(req);
    struct credential_name n = {{0}};
    if (p->lookup[0] && ward_store_credential_find(api->store, p->lookup, on_credential, &n) == 0)
        snprintf(out, size, "%s%s", n.name, p->session ? " (dashboard)" : "");
    else
        snprintf(out, size, "%s", p->credential_id[0] ? p->credential_id : "anonymous");
}

/* The canonical JSON object of a's arguments: every one, in the order of its spec. */
static int args_json(const struct ward_diag_args *a, struct ward_buf *out)
{
    const struct ward_diag_spec *spec = ward_diag_spec(a->type);
    struct ward_json_writer w;
    ward_json_writer_init(&w, out);
    ward_json_write_object_begin(&w);
    for (size_t i = 0; i < spec->n_args; i++) {
        ward_json_write_keyz(&w, spec->args[i].name);
        ward_json_write_stringz(&w, a->values[i]);
    }
    ward_json_write_object_end(&w);
    return ward_json_writer_finish(&w);
}

struct created {
    struct ward_json_writer *w;
    bool spectra;
};

static int on_created(const struct ward_command *c, void *userdata)
{
    struct created *cr = userdata;
    if (!cr->spectra) {
        write_command(cr->w, c, false);
        return 0;
    }
    ward_json_write_object_begin(cr->w);
    ward_json_write_keyz(cr->w, "status");
    ward_json_write_stringz(cr->w, "queued");
    ward_json_write_keyz(cr->w, "command_id");
    ward_json_write_stringz(cr->w, c->id);
    ward_json_write_keyz(cr->w, "host_id");
    ward_json_write_stringz(cr->w, c->host_id);
    ward_json_write_keyz(cr->w, "type");
    ward_json_write_stringz(cr->w, c->type);
    ward_json_write_object_end(cr->w);
    return 0;
}

/*
 * Queues the checked command a for host_id (visible to the caller and
 * active) and answers: 201 with the command, or for spectra's routes 202
 * with {"status":"queued","command_id",...}.
 */
static void queue(struct ward_http_request *req, struct ward_api *api, const char *host_id,
                  const struct ward_diag_args *a, int64_t ttl_ms, bool spectra)
{
    char id[WARD_UUID_STR_LEN], who[MAX_NAME + 32];
    struct ward_buf args = WARD_BUF_INIT;
    if (ward_uuid_v7(id) < 0 || args_json(a, &args) < 0) {
        ward_buf_done(&args);
        ward_api_store_failed(req, "cannot make a command", -ENOMEM);
        return;
    }
    requester(req, api, who, sizeof(who));
    int64_t now = ward_now_ms();
    struct ward_command c = {
        .id = id,
        .host_id = host_id,
        .type = ward_diag_name(a->type),
        .args = args.data,
        .state = "queued",
        .requested_by = who,
        .created_ms = now,
        .expires_ms = now + ttl_ms,
    };
    int r = ward_store_command_add(api->store, &c, api->command_queue);
    ward_buf_done(&args);
    if (r == WARD_E_LIMIT) {
        ward_http_error(req, 429, "host %s has %zu commands waiting already", host_id,
                        api->command_queue);
        return;
    }
    if (r == WARD_E_NOT_FOUND) {
        ward_http_error(req, 404, "no host %s", host_id);
        return;
    }
    if (r < 0) {
        ward_api_store_failed(req, "cannot queue a command", r);
        return;
    }
    ward_log_info(ward_http_request_id(req), "command queued", "command", id, "host", host_id,
                  "type", c.type, "by", who);
    ward_commands_wake(api->commands, host_id);

    struct ward_buf out = WARD_BUF_INIT;
    struct ward_json_writer w;
    ward_json_writer_init(&w, &out);
    struct created cr = {.w = &w, .spectra = spectra};
    r = ward_store_command_get(api->store, id, on_created, &cr);
    if (r < 0) {
        ward_buf_done(&out);
        ward_api_store_failed(req, "cannot read a command", r);
        return;
    }
    ward_api_respond_json(req, spectra ? 202 : 201, &w, &out);
}

/* Loads host id; answers 404 (not there, or not the caller's) or 409 (not active). */
static bool commandable(struct ward_http_request *req, struct ward_api *api, const char *id)
{
    struct host_state hs = {.p = ward_auth_principal(req)};
    int r = ward_store_host_get(api->store, id, on_host, &hs);
    if (r == WARD_E_NOT_FOUND || (r == 0 && !hs.visible)) {
        ward_http_error(req, 404, "no host %s", id);
        return false;
    }
    if (r < 0) {
        ward_api_store_failed(req, "cannot read a host", r);
        return false;
    }
    if (!hs.active) {
        ward_http_error(req, 409, "host %s is not active: its agent cannot fetch commands", id);
        return false;
    }
    return true;
}

/* Reads {"type": "...", "args": {...}, "ttl": N} into *a and *ttl_ms; 400 on any error. */
static bool read_request(struct ward_http_request *req, struct ward_api *api,
                         struct ward_diag_args *a, int64_t *ttl_ms)
{
    size_t len;
    const char *body = ward_http_body(req, &len);
    if (len > MAX_REQUEST_BODY) {
        ward_http_error(req, 413, "a command request holds at most %d bytes", MAX_REQUEST_BODY);
        return false;
    }
    struct ward_json_limits lim = {
        .max_depth = 3, .max_size = MAX_REQUEST_BODY, .max_string = WARD_DIAG_ARG_MAX + 1};
    struct ward_json_reader r;
    ward_json_reader_init(&r, body ? body : "", len, &lim);
    struct ward_buf err = WARD_BUF_INIT;
    struct ward_json_token t;
    bool typed = false, ok = ward_json_expect(&r, WARD_JSON_OBJECT_BEGIN, &t) == 0;
    /* The arguments may come before the type: keep them until the type is known. */
    char names[WARD_DIAG_MAX_ARGS * 2][WARD_DIAG_ARG_MAX + 1];
    char values[WARD_DIAG_MAX_ARGS * 2][WARD_DIAG_ARG_MAX + 1];
    size_t n_args = 0;
    *ttl_ms = api->command_ttl_ms;
    while (ok && ward_json_next(&r, &t) == 0 && t.type == WARD_JSON_KEY) {
        if (ward_json_key_is(&t, "type")) {
            ok = ward_json_expect(&r, WARD_JSON_STRING, &t) == 0;
            char name[32] = "";
            bool fits = ok && t.len < sizeof(name) && !memchr(t.str, '\0', t.len);
            if (fits)
                memcpy(name, t.str, t.len);
            enum ward_diag_type type;
            if (ok && (!fits || ward_diag_type_of(name, &type) < 0)) {
                ward_buf_puts(&err, "type: not a diagnostic (");
                for (int i = 0; i < WARD_DIAG_N; i++)
                    ward_buf_printf(&err, "%s%s", i ? ", " : "",
                                    ward_diag_name((enum ward_diag_type)i));
                ward_buf_puts(&err, ")");
                ok = false;
            }
            if (ok)
                typed = ward_diag_init(type, a) == 0;
        } else if (ward_json_key_is(&t, "ttl")) {
            ok = ward_json_expect(&r, WARD_JSON_INT, &t) == 0;
            if (ok && (t.i < 1 || t.i > MAX_TTL_S)) {
                ward_buf_printf(&err, "ttl: seconds from 1 to %d", MAX_TTL_S);
                ok = false;
            }
            if (ok)
                *ttl_ms = t.i * 1000;
        } else if (ward_json_key_is(&t, "args")) {
            ok = ward_json_expect(&r, WARD_JSON_OBJECT_BEGIN, &t) == 0;
            while (ok && ward_json_next(&r, &t) == 0 && t.type == WARD_JSON_KEY) {
                if (n_args == WARD_DIAG_MAX_ARGS * 2 || t.len > WARD_DIAG_ARG_MAX ||
                    memchr(t.str, '\0', t.len)) {
                    ward_buf_puts(&err, "args: too many, or a name too long");
                    ok = false;
                    break;
                }
                memcpy(names[n_args], t.str, t.len);
                names[n_args][t.len] = '\0';
                ok = ward_json_next(&r, &t) == 0;
                if (ok && t.type == WARD_JSON_STRING && t.len <= WARD_DIAG_ARG_MAX &&
                    !memchr(t.str, '\0', t.len)) {
                    memcpy(values[n_args], t.str, t.len);
                    values[n_args][t.len] = '\0';
                } else if (ok && t.type == WARD_JSON_INT) {
                    snprintf(values[n_args], sizeof(values[n_args]), "%lld", (long long)t.i);
                } else if (ok) {
                    ward_buf_printf(&err, "args.%.64s: a string of at most %d bytes or an integer",
                                    names[n_args], WARD_DIAG_ARG_MAX);
                    ok = false;
                    break;
                }
                n_args++;
            }
            ok = ok && t.type == WARD_JSON_OBJECT_END;
        } else {
            ok = ward_json_skip(&r) == 0;
        }
    }
    /* The object must have ended, and the document with it (a reader error is sticky). */
    ok = ok && t.type == WARD_JSON_OBJECT_END && ward_json_next(&r, &t) == 0 &&
         t.type == WARD_JSON_END;
    if (!ok && err.len == 0)
        ward_buf_printf(&err, "not a command request: %s", ward_json_error_message(&r));
    if (ok && !typed) {
        ward_buf_puts(&err, "type is required");
        ok = false;
    }
    for (size_t i = 0; ok && i < n_args; i++)
        ok = ward_diag_set(a, names[i], values[i], &err) == 0;
    ok = ok && ward_diag_complete(a, &err) == 0;
    if (!ok)
        ward_http_error(req, 400, "%s", err.data ? err.data : "bad request");
    ward_buf_done(&err);
    ward_json_reader_done(&r);
    return ok;
}

void ward_api_commands_create(struct ward_http_request *req, void *app)
{
    struct ward_api *api = app;
    char id[WARD_UUID_STR_LEN];
    if (ward_uuid_normalize(ward_http_param(req, "id"), id) < 0) {
        ward_http_error(req, 400, "id: not a UUID");
        return;
    }
    struct ward_diag_args a;
    int64_t ttl_ms;
    if (commandable(req, api, id) && read_request(req, api, &a, &ttl_ms))
        queue(req, api, id, &a, ttl_ms, false);
}

/* ---- spectra's trigger routes ---- */

/* The hosts a name matches; an active one is preferred, and two active ones are ambiguous. */
struct by_name {
    const struct ward_principal *p;
    const char *name;
    char id[WARD_STORE_ID_LEN];
    bool found_active;
    struct ward_buf active; /* ids of the active hosts of that name, comma-separated */
    size_t n_active;
};

static int match_host(const struct ward_host_row *h, void *userdata)
{
    struct by_name *b = userdata;
    bool named = (h->hostname && strcmp(h->hostname, b->name) == 0) ||
                 (h->name && strcmp(h->name, b->name) == 0);
    if (!named || !ward_auth_sees_tenant(b->p, h->tenant_id))
        return 0;
    bool active = strcmp(h->status, "active") == 0;
    if (active) {
        ward_buf_printf(&b->active, "%s%s", b->n_active++ ? ", " : "", h->id);
    }
    if (!b->found_active) {
        snprintf(b->id, sizeof(b->id), "%s", h->id);
        b->found_active = active;
    }
    return 0;
}

/* Finds the host named by ?hostname= (its host name, or its admin-given name). */
static bool host_by_name(struct ward_http_request *req, struct ward_api *api,
                         char id[WARD_STORE_ID_LEN])
{
    const char *name = ward_http_query(req, "hostname");
    if (!name || !*name) {
        ward_http_error(req, 400, "hostname is required");
        return false;
    }
    struct by_name b = {.p = ward_auth_principal(req), .name = name};
    ward_buf_init(&b.active, 4096);
    int r = ward_store_host_list(api->store, match_host, &b);
    bool ok = false;
    if (r < 0) {
        ward_api_store_failed(req, "cannot list hosts", r);
    } else if (!b.id[0]) {
        ward_http_error(req, 404, "no host named %.253s", name);
    } else if (b.n_active > 1) {
        /* A diagnostic on the wrong machine is worse than none: the caller picks by id. */
        ward_http_error(req, 409, "%zu active hosts are named %.253s: %s; use the host id",
                        b.n_active, name, b.active.data ? b.active.data : "");
    } else {
        memcpy(id, b.id, WARD_STORE_ID_LEN);
        ok = commandable(req, api, id);
    }
    ward_buf_done(&b.active);
    return ok;
}

/* Queues type for ?hostname=, its arguments from the query parameters of their names. */
static void trigger(struct ward_http_request *req, struct ward_api *api, enum ward_diag_type type)
{
    char id[WARD_STORE_ID_LEN];
    if (!host_by_name(req, api, id))
        return;
    struct ward_diag_args a;
    ward_diag_init(type, &a);
    const struct ward_diag_spec *spec = ward_diag_spec(type);
    struct ward_buf err = WARD_BUF_INIT;
    bool ok = true;
    for (size_t i = 0; ok && i < spec->n_args; i++) {
        /* An empty value is a value, checked like any other: it does not mean the default. */
        const char *v = ward_http_query(req, spec->args[i].name);
        if (v)
            ok = ward_diag_set(&a, spec->args[i].name, v, &err) == 0;
    }
    ok = ok && ward_diag_complete(&a, &err) == 0;
    if (!ok)
        ward_http_error(req, 400, "%s", err.data ? err.data : "bad arguments");
    else
        queue(req, api, id, &a, api->command_ttl_ms, true);
    ward_buf_done(&err);
}

void ward_api_trigger_logs(struct ward_http_request *req, void *app)
{
    trigger(req, app, WARD_DIAG_LOGS);
}

void ward_api_trigger_disk(struct ward_http_request *req, void *app)
{
    trigger(req, app, WARD_DIAG_DISK_USAGE);
}

void ward_api_trigger_network(struct ward_http_request *req, void *app)
{
    static const struct {
        const char *action;
        enum ward_diag_type type;
    } actions[] = {
        {"ping", WARD_DIAG_PING},
        {"connect", WARD_DIAG_CONNECT},
        {"netstat", WARD_DIAG_NETSTAT},
        {"traceroute", WARD_DIAG_TRACEROUTE},
    };
    const char *action = ward_http_query(req, "action");
    for (size_t i = 0; action && i < sizeof(actions) / sizeof(actions[0]); i++)
        if (strcmp(action, actions[i].action) == 0) {
            trigger(req, app, actions[i].type);
            return;
        }
    ward_http_error(req, 400, "action: ping, connect, netstat or traceroute");
}

/* ---- Reading ---- */

struct one {
    struct ward_json_writer *w;
    const struct ward_principal *p;
    bool visible;
    bool finished;
};

static int peek_command(const struct ward_command *c, void *userdata)
{
    struct one *o = userdata;
    o->visible = ward_auth_sees_tenant(o->p, c->tenant_id);
    o->finished = finished(c->state);
    return 0;
}

static int render_command(const struct ward_command *c, void *userdata)
{
    write_command(((struct one *)userdata)->w, c, true);
    return 0;
}

static void get_command(struct ward_http_request *req, struct ward_api *api, int64_t deadline);

static void resume_get(struct ward_http_request *req, void *app)
{
    int64_t deadline;
    enum ward_wait_end end = ward_commands_resumed(req, &deadline);
    if (end == WARD_WAIT_GONE)
        ward_http_respond(req, 204, NULL, NULL, 0); /* nobody reads it */
    else
        get_command(req, app, end == WARD_WAIT_WOKEN ? deadline : 0);
}

/* Answers with the command, or waits for it to finish until deadline (monotonic ms). */
static void get_command(struct ward_http_request *req, struct ward_api *api, int64_t deadline)
{
    char id[WARD_UUID_STR_LEN];
    if (ward_uuid_normalize(ward_http_param(req, "id"), id) < 0) {
        ward_http_error(req, 400, "id: not a UUID");
        return;
    }
    uint64_t seq = ward_commands_seq(api->commands, id);
    struct one o = {.p = ward_auth_principal(req)};
    int r = ward_store_command_get(api->store, id, peek_command, &o);
    /* Another tenant's command (of the tenant its host was in then) does not exist for it. */
    if (r == WARD_E_NOT_FOUND || (r == 0 && !o.visible)) {
        ward_http_error(req, 404, "no command %s", id);
        return;
    }
    if (r < 0) {
        ward_api_store_failed(req, "cannot read a command", r);
        return;
    }
    if (!o.finished && deadline > ward_mono_ms() && !ward_http_peer_gone(req)) {
        r = ward_commands_wait(api->commands, req, id, seq, deadline, false, resume_get);
        if (r == 0)
            return;
    }
    struct ward_buf out = WARD_BUF_INIT;
    struct ward_json_writer w;
    ward_json_writer_init(&w, &out);
    o.w = &w;
    r = ward_store_command_get(api->store, id, render_command, &o);
    if (r < 0) {
        ward_buf_done(&out);
        if (r == WARD_E_NOT_FOUND)
            ward_http_error(req, 404, "no command %s", id);
        else
            ward_api_store_failed(req, "cannot read a command", r);
        return;
    }
    ward_api_respond_json(req, 200, &w, &out);
}

/* Reads ?wait= (seconds, 0 to 30); answers 400 and returns false for anything else. */
bool ward_api_wait_param(struct ward_http_request *req, int64_t def_s, int64_t *deadline)
{
    const char *s = ward_http_query(req, "wait");
    int64_t wait = def_s;
    /* Digits only, as the diagnostics' integers: no sign, no leading zero, no space. */
    bool plain = s && s[0] && strspn(s, "0123456789") == strlen(s) && (s[0] != '0' || !s[1]);
    if (s && (!plain || ward_parse_int_range(s, 0, WARD_COMMANDS_MAX_WAIT_MS / 1000, &wait) < 0)) {
        ward_http_error(req, 400, "wait: seconds from 0 to %d", WARD_COMMANDS_MAX_WAIT_MS / 1000);
        return false;
    }
    *deadline = ward_mono_ms() + wait * 1000;
    return true;
}

void ward_api_commands_get(struct ward_http_request *req, void *app)
{
    int64_t deadline;
    if (ward_api_wait_param(req, 0, &deadline))
        get_command(req, app, deadline);
}

static int list_command(const struct ward_command *c, void *userdata)
{
    write_command(userdata, c, false);
    return 0;
}

static bool list_limit(struct ward_http_request *req, size_t *limit)
{
    const char *s = ward_http_query(req, "limit");
    int64_t n = 100;
    if (s && ward_parse_int_range(s, 1, MAX_LIST, &n) < 0) {
        ward_http_error(req, 400, "limit: from 1 to %d", MAX_LIST);
        return false;
    }
    *limit = (size_t)n;
    return true;
}

/*
 * An id filter from the query, normalized into out as the store keeps ids;
 * *filter is NULL when absent. Answers 400 and returns false for anything
 * but a UUID.
 */
static bool id_filter(struct ward_http_request *req, const char *name, const char **filter,
                      char out[WARD_UUID_STR_LEN])
{
    const char *v = ward_api_query_arg(req, name);
    *filter = NULL;
    if (!v)
        return true;
    if (ward_uuid_normalize(v, out) < 0) {
        ward_http_error(req, 400, "%s: not a UUID", name);
        return false;
    }
    *filter = out;
    return true;
}

/* The tenant a listing is limited to: the caller's, or NULL for every tenant. */
static const char *list_tenant(struct ward_http_request *req)
{
    const struct ward_principal *p = ward_auth_principal(req);
    return ward_auth_all_tenants(p) ? NULL : p->tenant_id;
}

void ward_api_commands_list(struct ward_http_request *req, void *app)
{
    struct ward_api *api = app;
    struct ward_command_filter f = {
        .tenant_id = list_tenant(req),
        .state = ward_api_query_arg(req, "state"),
        .type = ward_api_query_arg(req, "type"),
    };
    char host[WARD_UUID_STR_LEN];
    if (!id_filter(req, "host_id", &f.host_id, host))
        return;
    if (!ward_api_time_arg(req, "since", &f.since_ms))
        return;
    if (f.state && !finished(f.state) && strcmp(f.state, "queued") != 0 &&
        strcmp(f.state, "dispatched") != 0) {
        ward_http_error(req, 400, "state: queued, dispatched, done, failed or expired");
        return;
    }
    enum ward_diag_type type;
    if (f.type && ward_diag_type_of(f.type, &type) == 0)
        f.type = ward_diag_name(type);
    else if (f.type) {
        ward_http_error(req, 400, "type: not a diagnostic");
        return;
    }
    if (!list_limit(req, &f.limit))
        return;
    struct ward_buf out = WARD_BUF_INIT;
    struct ward_json_writer w;
    ward_json_writer_init(&w, &out);
    ward_json_write_object_begin(&w);
    ward_json_write_keyz(&w, "commands");
    ward_json_write_array_begin(&w);
    int r = ward_store_command_list(api->store, &f, list_command, &w);
    if (r < 0) {
        ward_buf_done(&out);
        ward_api_store_failed(req, "cannot list commands", r);
        return;
    }
    ward_json_write_array_end(&w);
    ward_json_write_object_end(&w);
    ward_api_respond_json(req, 200, &w, &out);
}

static int write_entry(const struct ward_audit_entry *e, void *userdata)
{
    struct ward_json_writer *w = userdata;
    ward_json_write_object_begin(w);
    ward_json_write_keyz(w, "id");
    ward_json_write_int(w, e->id);
    ward_api_write_time(w, "time", e->ts_ms);
    ward_json_write_keyz(w, "command_id");
    ward_json_write_stringz(w, e->command_id);
    ward_json_write_keyz(w, "host_id");
    ward_json_write_stringz(w, e->host_id);
    ward_json_write_keyz(w, "actor");
    ward_json_write_stringz(w, e->actor);
    ward_json_write_keyz(w, "event");
    ward_json_write_stringz(w, e->event);
    ward_json_write_keyz(w, "detail");
    ward_json_write_raw(w, e->detail, strlen(e->detail));
    ward_json_write_object_end(w);
    return 0;
}

void ward_api_audit_list(struct ward_http_request *req, void *app)
{
    struct ward_api *api = app;
    struct ward_audit_filter f = {.tenant_id = list_tenant(req)};
    char host[WARD_UUID_STR_LEN], command[WARD_UUID_STR_LEN];
    if (!id_filter(req, "host_id", &f.host_id, host) ||
        !id_filter(req, "command_id", &f.command_id, command) || !list_limit(req, &f.limit))
        return;
    struct ward_buf out = WARD_BUF_INIT;
    struct ward_json_writer w;
    ward_json_writer_init(&w, &out);
    ward_json_write_object_begin(&w);
    ward_json_write_keyz(&w, "entries");
    ward_json_write_array_begin(&w);
    int r = ward_store_audit_list(api->store, &f, write_entry, &w);
    if (r < 0) {
        ward_buf_done(&out);
        ward_api_store_failed(req, "cannot read the audit log", r);
        return;
    }
    ward_json_write_array_end(&w);
    ward_json_write_object_end(&w);
    ward_api_respond_json(req, 200, &w, &out);
}
