/*
 * Callers and their credentials; see auth.h.
 */
#include "server/auth.h"

#include "common/credential.h"
#include "common/error.h"
#include "common/log.h"
#include "common/uuid.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

_Static_assert(sizeof(struct ward_principal) <= WARD_HTTP_AUTH_SIZE, "principal fits the request");

const struct ward_principal *ward_auth_principal(const struct ward_http_request *req)
{
    return ward_http_auth(req);
}

bool ward_auth_all_tenants(const struct ward_principal *p)
{
    return p->caller != WARD_CALLER_AGENT && p->tenant_id[0] == '\0';
}

bool ward_auth_sees_tenant(const struct ward_principal *p, const char *tenant_id)
{
    return ward_auth_all_tenants(p) ||
           (p->caller == WARD_CALLER_ADMIN && tenant_id && strcmp(p->tenant_id, tenant_id) == 0);
}

/* The credential presented with req, or NULL. Sets *bad when a header is malformed. */
static const char *presented(const struct ward_http_request *req, bool *bad)
{
    const char *key = ward_http_header(req, "X-Agent-API-Key");
    if (!key) {
        const char *authz = ward_http_header(req, "Authorization");
        if (!authz)
            return NULL;
        if (strncasecmp(authz, "Bearer ", 7) != 0) {
            *bad = true;
            return NULL;
        }
        key = authz + 7;
        while (*key == ' ')
            key++;
    }
    if (ward_cred_check(key) < 0) {
        *bad = true;
        return NULL;
    }
    return key;
}

/* What a credential lookup found. */
struct found {
    const char *presented;
    struct ward_principal *p;
    bool valid;
};

static void copy_id(char dst[WARD_STORE_ID_LEN], const char *src)
{
    snprintf(dst, WARD_STORE_ID_LEN, "%s", src ? src : "");
}

static int on_credential(const struct ward_credential *c, void *userdata)
{
    struct found *f = userdata;
    if (c->revoked_ms != 0 || !ward_cred_matches(f->presented, c->hash))
        return 0;
    bool agent = strcmp(c->kind, "agent") == 0;
    if (agent && !c->host_id)
        return 0;
    f->valid = true;
    f->p->caller = agent ? WARD_CALLER_AGENT : WARD_CALLER_ADMIN;
    copy_id(f->p->host_id, agent ? c->host_id : NULL);
    copy_id(f->p->tenant_id, agent ? NULL : c->tenant_id);
    copy_id(f->p->credential_id, c->id);
    return 0;
}

static int deny(struct ward_http_request *req, unsigned status, const char *why)
{
    if (status == 401)
        ward_http_add_header(req, "WWW-Authenticate", "Bearer realm=\"ward\"");
    ward_http_error(req, status, "%s", why);
    return -EACCES;
}

/* True when a caller with no credential may use a route of class access. */
static bool anonymous_ok(enum ward_access access, const struct ward_auth_policy *policy)
{
    return access == WARD_ACCESS_PUBLIC || (access == WARD_ACCESS_READ && policy->public_read) ||
           ((access == WARD_ACCESS_AGENT || access == WARD_ACCESS_SIGNED) && policy->open_ingest);
}

/* True when the authenticated caller p may use a route of class access. */
static bool allowed(enum ward_access access, const struct ward_principal *p)
{
    switch (access) {
    case WARD_ACCESS_PUBLIC:
        return true;
    case WARD_ACCESS_AGENT:
    case WARD_ACCESS_SIGNED:
        return p->caller == WARD_CALLER_AGENT || ward_auth_all_tenants(p);
    case WARD_ACCESS_READ:
    case WARD_ACCESS_ADMIN:
        return p->caller == WARD_CALLER_ADMIN;
    }
    return false;
}

int ward_auth_admit(struct ward_http_request *req, struct ward_store *store,
                    const struct ward_auth_policy *policy)
{
    struct ward_principal *p = ward_http_auth(req);
    memset(p, 0, sizeof(*p));
    enum ward_access access = ward_http_route(req)->access;
    if (access == WARD_ACCESS_PUBLIC)
        return 0;
    bool bad = false;
    const char *cred = presented(req, &bad);
    if (bad)
        return deny(req, 401,
                    "malformed credential; send X-Agent-API-Key: KEY or"
                    " Authorization: Bearer TOKEN");
    if (!cred) {
        if (anonymous_ok(access, policy))
            return 0;
        if (access == WARD_ACCESS_SIGNED && policy->shared_key) {
            p->caller = WARD_CALLER_SHARED_KEY;
            return 0;
        }
        return deny(req, 401,
                    access == WARD_ACCESS_AGENT || access == WARD_ACCESS_SIGNED
                        ? "an agent API key is required (X-Agent-API-Key)"
                        : "an admin token is required (Authorization: Bearer)");
    }
    char lookup[WARD_CRED_LOOKUP];
    ward_cred_lookup(cred, lookup);
    struct found f = {.presented = cred, .p = p};
    int r = ward_store_credential_find(store, lookup, on_credential, &f);
    if (r < 0 && r != WARD_E_NOT_FOUND) {
        ward_log_error(ward_http_request_id(req), "cannot check a credential", "error",
                       ward_strerror(r));
        ward_http_add_header(req, "Retry-After", "1");
        ward_http_error(req, 503, "storage unavailable, retry later");
        return r;
    }
    if (!f.valid) {
        memset(p, 0, sizeof(*p));
        return deny(req, 401, "invalid or revoked credential");
    }
    if (!allowed(access, p))
        return deny(req, 403,
                    p->caller == WARD_CALLER_AGENT ? "an agent key cannot use this route"
                                                   : "this token is limited to one tenant and"
                                                     " cannot use this route");
    return 0;
}

/* ---- Issuing credentials ---- */

int ward_auth_issue(struct ward_store *store, const char *kind, const char *host_id,
                    const char *tenant_id, const char *name, char *out, char *id_out)
{
    bool agent = strcmp(kind, "agent") == 0;
    char lookup[WARD_CRED_LOOKUP], hash[WARD_CRED_HASH], id[WARD_UUID_STR_LEN];
    int r = ward_cred_new(agent ? WARD_CRED_AGENT_KEY : WARD_CRED_ADMIN_TOKEN, out, lookup);
    if (r == 0)
        r = ward_uuid_v7(id);
    if (r < 0)
        return r;
    ward_cred_hash(out, hash);
    struct ward_credential c = {
        .id = id,
        .kind = agent ? "agent" : "admin",
        .lookup = lookup,
        .hash = hash,
        .host_id = agent ? host_id : NULL,
        .tenant_id = agent ? NULL : tenant_id,
        .name = name,
    };
    r = ward_store_credential_add(store, &c, agent);
    if (r < 0) {
        memset(out, 0, WARD_CRED_MAX);
        return r;
    }
    if (id_out)
        memcpy(id_out, id, WARD_UUID_STR_LEN);
    return 0;
}

/* Counts valid admin tokens, and notes whether the one looked for is stored. */
struct admins {
    const char *lookup;
    size_t valid;
    bool found, revoked;
};

static int count_admin(const struct ward_credential *c, void *userdata)
{
    struct admins *a = userdata;
    if (c->revoked_ms == 0)
        a->valid++;
    if (a->lookup && strcmp(c->lookup, a->lookup) == 0) {
        a->found = true;
        a->revoked = c->revoked_ms != 0;
    }
    return 0;
}

int ward_auth_bootstrap(struct ward_store *store, const char *token, char *generated)
{
    generated[0] = '\0';
    bool chosen = token && *token;
    if (chosen && (ward_cred_check(token) < 0 || strlen(token) < WARD_CRED_CHOSEN_MIN))
        return -EINVAL;
    char lookup[WARD_CRED_LOOKUP];
    if (chosen)
        ward_cred_lookup(token, lookup);
    struct admins a = {.lookup = chosen ? lookup : NULL};
    int r = ward_store_credential_list(store, "admin", count_admin, &a);
    if (r < 0)
        return r;
    if (a.revoked)
        return -EKEYREVOKED;
    if (a.found || (!chosen && a.valid > 0))
        return 0;
    if (!chosen)
        return ward_auth_issue(store, "admin", NULL, NULL, "bootstrap", generated, NULL);
    char hash[WARD_CRED_HASH], id[WARD_UUID_STR_LEN];
    ward_cred_hash(token, hash);
    r = ward_uuid_v7(id);
    if (r < 0)
        return r;
    struct ward_credential c = {
        .id = id, .kind = "admin", .lookup = lookup, .hash = hash, .name = "bootstrap"};
    return ward_store_credential_add(store, &c, false);
}
