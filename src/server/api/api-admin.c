/*
 * What admins manage besides claims: hosts, admin tokens, tenants and
 * sections.
 *
 *   GET    /api/v1/hosts/{id}              one host (read access)
 *   DELETE /api/v1/hosts/{id}[?purge=true] deregister, keeping its data unless purge
 *   POST   /api/v1/hosts/{id}/rotate-key   new key, handed to the agent on its next poll
 *   POST   /api/v1/hosts/{id}/revoke-key   no key; the agent must be claimed again
 *   GET, POST /api/v1/tokens, DELETE /api/v1/tokens/{id}
 *   GET, POST /api/v1/tenants
 *   GET, POST /api/v1/sections
 *
 * A token limited to a tenant sees and changes only that tenant's hosts and
 * sections; tokens and tenants are managed by unlimited tokens only. A host
 * of another tenant is answered 404, as if it did not exist.
 */
#include "server/api/api.h"

#include "common/cleanup.h"
#include "common/credential.h"
#include "common/error.h"
#include "common/json.h"
#include "common/log.h"
#include "common/time-util.h"
#include "common/uuid.h"
#include "server/api/api-body.h"
#include "server/auth.h"
#include "server/claims.h"
#include "server/latest.h"

#include <errno.h>
#include <string.h>

#define MAX_NAME 128

/* Reads the {id} of the route as a UUID; answers 400 and returns false when it is not one. */
static bool route_id(struct ward_http_request *req, char id[WARD_UUID_STR_LEN])
{
    if (ward_uuid_normalize(ward_http_param(req, "id"), id) == 0)
        return true;
    ward_http_error(req, 400, "id: not a UUID");
    return false;
}

/* Answers 403 and returns false unless the caller is an unlimited admin. */
static bool unlimited(struct ward_http_request *req)
{
    if (ward_auth_all_tenants(ward_auth_principal(req)))
        return true;
    ward_http_error(req, 403, "this token is limited to one tenant");
    return false;
}

static void respond_object(struct ward_http_request *req, unsigned status,
                           struct ward_json_writer *w, struct ward_buf *out)
{
    ward_json_write_object_end(w);
    ward_api_respond_json(req, status, w, out);
}

/* ---- Hosts ---- */

struct visible {
    const struct ward_principal *p;
    bool seen;
    char status[WARD_STORE_STATUS_LEN];
};

static int check_visible(const struct ward_host_row *h, void *userdata)
{
    struct visible *v = userdata;
    v->seen = ward_auth_sees_tenant(v->p, h->tenant_id);
    snprintf(v->status, sizeof(v->status), "%s", h->status);
    return 0;
}

/* Loads the route's host if the caller may see it; answers and returns an error otherwise. */
static int visible_host(struct ward_http_request *req, struct ward_api *api,
                        char id[WARD_UUID_STR_LEN], struct visible *v)
{
    if (!route_id(req, id))
        return -EINVAL;
    v->p = ward_auth_principal(req);
    int r = ward_store_host_get(api->store, id, check_visible, v);
    if (r == 0 && !v->seen)
        r = WARD_E_NOT_FOUND;
    if (r == WARD_E_NOT_FOUND)
        ward_http_error(req, 404, "no host %s", id);
    else if (r < 0)
        ward_api_store_failed(req, "cannot read a host", r);
    return r;
}

void ward_api_host_show(struct ward_http_request *req, void *app)
{
    struct ward_api *api = app;
    char id[WARD_UUID_STR_LEN];
    if (!route_id(req, id))
        return;
    struct ward_buf out = WARD_BUF_INIT;
    struct ward_json_writer w;
    ward_json_writer_init(&w, &out);
    int r = ward_api_write_hosts(req, api, &w, id);
    if (r < 0) {
        ward_buf_done(&out);
        if (r == WARD_E_NOT_FOUND)
            ward_http_error(req, 404, "no host %s", id);
        else
            ward_api_store_failed(req, "cannot read a host", r);
        return;
    }
    ward_api_respond_json(req, 200, &w, &out);
}

void ward_api_host_delete(struct ward_http_request *req, void *app)
{
    struct ward_api *api = app;
    char id[WARD_UUID_STR_LEN];
    struct visible v;
    if (visible_host(req, api, id, &v) < 0)
        return;
    const char *purge_arg = ward_http_query(req, "purge");
    bool purge = purge_arg && (strcmp(purge_arg, "true") == 0 || strcmp(purge_arg, "1") == 0);
    if (purge_arg && !purge && strcmp(purge_arg, "false") != 0 && strcmp(purge_arg, "0") != 0) {
        ward_http_error(req, 400, "purge: expected true or false");
        return;
    }
    int r = ward_store_credential_revoke(api->store, NULL, id);
    if (r >= 0 && purge)
        r = ward_store_host_purge(api->store, id);
    else if (r >= 0)
        r = ward_store_host_change(api->store,
                                   &(struct ward_host_change){.id = id, .status = "deregistered"});
    /* A deregistered host keeps its data, not its configuration. */
    int64_t version;
    if (r >= 0 && !purge)
        r = ward_store_config_set(api->store, "agent", id, "{}", &version);
    if (r >= 0 && purge)
        ward_latest_forget_host(api->latest, id);
    if (r < 0) {
        ward_api_store_failed(req, "cannot delete a host", r);
        return;
    }
    ward_log_info(ward_http_request_id(req), purge ? "host purged" : "host deregistered", "host",
                  id);
    struct ward_buf out = WARD_BUF_INIT;
    struct ward_json_writer w;
    ward_json_writer_init(&w, &out);
    ward_json_write_object_begin(&w);
    ward_json_write_keyz(&w, "id");
    ward_json_write_stringz(&w, id);
    ward_json_write_keyz(&w, "status");
    ward_json_write_stringz(&w, purge ? "purged" : "deregistered");
    respond_object(req, 200, &w, &out);
}

void ward_api_host_rotate_key(struct ward_http_request *req, void *app)
{
    struct ward_api *api = app;
    char id[WARD_UUID_STR_LEN];
    struct visible v;
    if (visible_host(req, api, id, &v) < 0)
        return;
    if (strcmp(v.status, "active") != 0) {
        ward_http_error(req, 409, "host %s is %s; only an active host has a key", id, v.status);
        return;
    }
    char key[WARD_CRED_MAX];
    int r = ward_auth_issue(api->store, "agent", id, NULL, "rotated", key, NULL);
    if (r == 0)
        r = ward_claims_put_key(api->claims, id, key, ward_now_ms());
    explicit_bzero(key, sizeof(key));
    if (r < 0) {
        ward_api_store_failed(req, "cannot rotate a key", r);
        return;
    }
    ward_log_info(ward_http_request_id(req), "agent key rotated", "host", id);
    static const char body[] = "{\"status\":\"rotated\",\"delivery\":\"the agent fetches the new"
                               " key from its claim-status route\"}";
    ward_http_respond(req, 200, "application/json", body, sizeof(body) - 1);
}

void ward_api_host_revoke_key(struct ward_http_request *req, void *app)
{
    struct ward_api *api = app;
    char id[WARD_UUID_STR_LEN];
    struct visible v;
    if (visible_host(req, api, id, &v) < 0)
        return;
    int r = ward_store_credential_revoke(api->store, NULL, id);
    if (r >= 0)
        r = ward_store_host_change(api->store,
                                   &(struct ward_host_change){.id = id, .status = "revoked"});
    if (r < 0) {
        ward_api_store_failed(req, "cannot revoke a key", r);
        return;
    }
    char discard[WARD_CRED_MAX];
    ward_claims_take_key(api->claims, id, discard, ward_now_ms());
    explicit_bzero(discard, sizeof(discard));
    ward_log_info(ward_http_request_id(req), "agent key revoked", "host", id);
    static const char body[] = "{\"status\":\"revoked\"}";
    ward_http_respond(req, 200, "application/json", body, sizeof(body) - 1);
}

/* ---- Admin tokens ---- */

static int write_token(const struct ward_credential *c, void *userdata)
{
    struct ward_json_writer *w = userdata;
    ward_json_write_object_begin(w);
    ward_api_write_opt(w, "id", c->id);
    ward_api_write_opt(w, "name", c->name);
    ward_api_write_opt(w, "lookup", c->lookup);
    ward_api_write_opt(w, "tenant_id", c->tenant_id);
    ward_api_write_time(w, "created_at", c->created_ms);
    ward_api_write_time(w, "revoked_at", c->revoked_ms);
    return ward_json_write_object_end(w);
}

void ward_api_tokens_list(struct ward_http_request *req, void *app)
{
    struct ward_api *api = app;
    if (!unlimited(req))
        return;
    struct ward_buf out = WARD_BUF_INIT;
    struct ward_json_writer w;
    ward_json_writer_init(&w, &out);
    ward_json_write_object_begin(&w);
    ward_json_write_keyz(&w, "tokens");
    ward_json_write_array_begin(&w);
    int r = ward_store_credential_list(api->store, "admin", write_token, &w);
    ward_json_write_array_end(&w);
    if (r < 0) {
        ward_buf_done(&out);
        ward_api_store_failed(req, "cannot list tokens", r);
        return;
    }
    respond_object(req, 200, &w, &out);
}

/* Checks that tenant (a UUID, or "" for none) exists; answers and returns false when not. */
static bool tenant_exists(struct ward_http_request *req, struct ward_api *api, const char *tenant);

void ward_api_tokens_create(struct ward_http_request *req, void *app)
{
    struct ward_api *api = app;
    if (!unlimited(req))
        return;
    char name[MAX_NAME + 1], tenant_arg[WARD_UUID_STR_LEN + 8], tenant[WARD_UUID_STR_LEN] = "";
    const struct ward_api_field fields[] = {
        {"name", name, MAX_NAME, true},
        {"tenantId", tenant_arg, sizeof(tenant_arg) - 1, false},
    };
    size_t len;
    const char *body = ward_http_body(req, &len);
    struct ward_buf err = WARD_BUF_INIT;
    int r = ward_api_body_decode(body, len, fields, WARD_ARRAY_SIZE(fields), &err);
    if (r < 0) {
        ward_http_error(req, 400, "%s", err.data ? err.data : "bad body");
        ward_buf_done(&err);
        return;
    }
    ward_buf_done(&err);
    if (tenant_arg[0] && ward_uuid_normalize(tenant_arg, tenant) < 0) {
        ward_http_error(req, 400, "tenantId: not a UUID");
        return;
    }
    if (!tenant_exists(req, api, tenant))
        return;
    char token[WARD_CRED_MAX], id[WARD_UUID_STR_LEN];
    r = ward_auth_issue(api->store, "admin", NULL, tenant[0] ? tenant : NULL, name, token, id);
    if (r < 0) {
        ward_api_store_failed(req, "cannot create a token", r);
        return;
    }
    ward_log_info(ward_http_request_id(req), "admin token created", "token_id", id, "name", name);
    struct ward_buf out = WARD_BUF_INIT;
    struct ward_json_writer w;
    ward_json_writer_init(&w, &out);
    ward_json_write_object_begin(&w);
    ward_api_write_opt(&w, "id", id);
    ward_api_write_opt(&w, "name", name);
    ward_api_write_opt(&w, "tenant_id", tenant[0] ? tenant : NULL);
    ward_api_write_opt(&w, "token", token);
    explicit_bzero(token, sizeof(token));
    respond_object(req, 201, &w, &out);
}

void ward_api_tokens_revoke(struct ward_http_request *req, void *app)
{
    struct ward_api *api = app;
    char id[WARD_UUID_STR_LEN];
    if (!unlimited(req) || !route_id(req, id))
        return;
    const struct ward_principal *p = ward_auth_principal(req);
    if (strcmp(p->credential_id, id) == 0) {
        ward_http_error(req, 409, "a token cannot revoke itself; use another admin token");
        return;
    }
    int r = ward_store_credential_revoke(api->store, id, NULL);
    if (r < 0) {
        ward_api_store_failed(req, "cannot revoke a token", r);
        return;
    }
    if (r == 0) {
        ward_http_error(req, 404, "no valid token %s", id);
        return;
    }
    ward_log_info(ward_http_request_id(req), "admin token revoked", "token_id", id);
    static const char body[] = "{\"status\":\"revoked\"}";
    ward_http_respond(req, 200, "application/json", body, sizeof(body) - 1);
}

/* ---- Tenants and sections ---- */

struct group_writer {
    struct ward_json_writer *w;
    const char *find; /* tenant_exists(): the id looked for */
    bool found;
};

static int write_group(const struct ward_group *g, void *userdata)
{
    struct group_writer *gw = userdata;
    if (gw->find) {
        gw->found = gw->found || strcmp(g->id, gw->find) == 0;
        return 0;
    }
    ward_json_write_object_begin(gw->w);
    ward_api_write_opt(gw->w, "id", g->id);
    ward_api_write_opt(gw->w, "name", g->name);
    if (g->tenant_id)
        ward_api_write_opt(gw->w, "tenant_id", g->tenant_id);
    ward_api_write_time(gw->w, "created_at", g->created_ms);
    return ward_json_write_object_end(gw->w);
}

static bool tenant_exists(struct ward_http_request *req, struct ward_api *api, const char *tenant)
{
    if (!tenant[0])
        return true;
    struct group_writer gw = {.find = tenant};
    int r = ward_store_group_list(api->store, false, tenant, write_group, &gw);
    if (r < 0)
        ward_api_store_failed(req, "cannot read tenants", r);
    else if (!gw.found)
        ward_http_error(req, 404, "no tenant %s", tenant);
    return r == 0 && gw.found;
}

/* The caller's tenant, or NULL when it sees them all. */
static const char *own_tenant(struct ward_http_request *req)
{
    const struct ward_principal *p = ward_auth_principal(req);
    return ward_auth_all_tenants(p) ? NULL : p->tenant_id;
}

static void list_groups(struct ward_http_request *req, struct ward_api *api, bool sections)
{
    struct ward_buf out = WARD_BUF_INIT;
    struct ward_json_writer w;
    ward_json_writer_init(&w, &out);
    ward_json_write_object_begin(&w);
    ward_json_write_keyz(&w, sections ? "sections" : "tenants");
    ward_json_write_array_begin(&w);
    struct group_writer gw = {.w = &w};
    int r = ward_store_group_list(api->store, sections, own_tenant(req), write_group, &gw);
    ward_json_write_array_end(&w);
    if (r < 0) {
        ward_buf_done(&out);
        ward_api_store_failed(req, "cannot list groups", r);
        return;
    }
    respond_object(req, 200, &w, &out);
}

static void create_group(struct ward_http_request *req, struct ward_api *api, bool section)
{
    char name[MAX_NAME + 1], tenant_arg[WARD_UUID_STR_LEN + 8], tenant[WARD_UUID_STR_LEN] = "";
    const struct ward_api_field fields[] = {
        {"name", name, MAX_NAME, true},
        {"tenantId", tenant_arg, sizeof(tenant_arg) - 1, false},
    };
    size_t len;
    const char *body = ward_http_body(req, &len);
    struct ward_buf err = WARD_BUF_INIT;
    int r = ward_api_body_decode(body, len, fields, section ? 2 : 1, &err);
    if (r < 0) {
        ward_http_error(req, 400, "%s", err.data ? err.data : "bad body");
        ward_buf_done(&err);
        return;
    }
    ward_buf_done(&err);
    const char *own = own_tenant(req);
    if (section) {
        if (tenant_arg[0] && ward_uuid_normalize(tenant_arg, tenant) < 0) {
            ward_http_error(req, 400, "tenantId: not a UUID");
            return;
        }
        if (!tenant[0])
            snprintf(tenant, sizeof(tenant), "%s", own ? own : WARD_DEFAULT_TENANT);
        if (own && strcmp(own, tenant) != 0) {
            ward_http_error(req, 404, "no tenant %s", tenant);
            return;
        }
    }
    struct ward_group g = {.name = name, .tenant_id = section ? tenant : NULL};
    char id[WARD_UUID_STR_LEN];
    r = ward_store_group_add(api->store, &g, id);
    if (r == -EEXIST) {
        ward_http_error(req, 409, "a %s named '%s' exists already", section ? "section" : "tenant",
                        name);
        return;
    }
    if (r == WARD_E_NOT_FOUND) {
        ward_http_error(req, 404, "no tenant %s", tenant);
        return;
    }
    if (r < 0) {
        ward_api_store_failed(req, "cannot create a group", r);
        return;
    }
    struct ward_buf out = WARD_BUF_INIT;
    struct ward_json_writer w;
    ward_json_writer_init(&w, &out);
    ward_json_write_object_begin(&w);
    ward_api_write_opt(&w, "id", id);
    ward_api_write_opt(&w, "name", name);
    if (section)
        ward_api_write_opt(&w, "tenant_id", tenant);
    respond_object(req, 201, &w, &out);
}

void ward_api_tenants_list(struct ward_http_request *req, void *app)
{
    list_groups(req, app, false);
}

void ward_api_tenants_create(struct ward_http_request *req, void *app)
{
    if (unlimited(req))
        create_group(req, app, false);
}

void ward_api_sections_list(struct ward_http_request *req, void *app)
{
    list_groups(req, app, true);
}

void ward_api_sections_create(struct ward_http_request *req, void *app)
{
    create_group(req, app, true);
}
