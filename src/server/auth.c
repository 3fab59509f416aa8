/*
 * Callers and their credentials; see auth.h.
 */
#include "server/auth.h"

#include "common/credential.h"
#include "common/error.h"
#include "common/log.h"
#include "common/time-util.h"
#include "common/uuid.h"
#include "server/http/http-util.h"

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

bool ward_auth_can_read(const struct ward_principal *p, const struct ward_auth_policy *policy)
{
    return p->caller == WARD_CALLER_ADMIN || policy->public_read;
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
    const char *presented; /* the credential, or NULL to match by_id */
    const char *by_id;     /* a session's token, known by its id */
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
    if (c->revoked_ms != 0)
        return 0;
    if (f->presented ? !ward_cred_matches(f->presented, c->hash) : strcmp(c->id, f->by_id) != 0)
        return 0;
    bool agent = strcmp(c->kind, "agent") == 0;
    if (agent && !c->host_id)
        return 0;
    f->valid = true;
    f->p->caller = agent ? WARD_CALLER_AGENT : WARD_CALLER_ADMIN;
    copy_id(f->p->host_id, agent ? c->host_id : NULL);
    copy_id(f->p->tenant_id, agent ? NULL : c->tenant_id);
    copy_id(f->p->credential_id, c->id);
    snprintf(f->p->lookup, sizeof(f->p->lookup), "%s", c->lookup);
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
    case WARD_ACCESS_OPTIONAL:
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

bool ward_auth_cookie(const struct ward_http_request *req, const char *name, char *out, size_t size)
{
    const char *h = ward_http_header(req, "Cookie");
    size_t nlen = strlen(name);
    while (h && *h) {
        while (*h == ' ' || *h == ';')
            h++;
        size_t n = strcspn(h, ";");
        if (n > nlen && strncmp(h, name, nlen) == 0 && h[nlen] == '=') {
            size_t vlen = n - nlen - 1;
            if (vlen >= size)
                return false;
            memcpy(out, h + nlen + 1, vlen);
            out[vlen] = '\0';
            return true;
        }
        h += n;
    }
    return false;
}

bool ward_auth_same_origin(const struct ward_http_request *req)
{
    const char *origin = ward_http_header(req, "Origin");
    return !origin || ward_http_same_origin(origin, ward_http_header(req, "Host"));
}

/* True for methods that only read. */
static bool safe_method(const char *method)
{
    return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0 ||
           strcmp(method, "OPTIONS") == 0;
}

/*
 * Looks up the credential with lookup (matching presented, or the id
 * by_id) and records it in p. Returns 1 when valid, 0 when not, or a store
 * error.
 */
static int find_credential(struct ward_store *store, const char *lookup, const char *presented,
                           const char *by_id, struct ward_principal *p)
{
    struct found f = {.presented = presented, .by_id = by_id, .p = p};
    int r = ward_store_credential_find(store, lookup, on_credential, &f);
    if (r < 0 && r != WARD_E_NOT_FOUND)
        return r;
    if (!f.valid)
        memset(p, 0, sizeof(*p));
    return f.valid;
}

int ward_auth_owner_valid(struct ward_store *store, const struct ward_session_owner *owner)
{
    struct ward_principal p;
    int r = find_credential(store, owner->lookup, NULL, owner->credential_id, &p);
    return r > 0 && p.caller != WARD_CALLER_ADMIN ? 0 : r;
}

static int store_failed(struct ward_http_request *req, int r)
{
    ward_log_error(ward_http_request_id(req), "cannot check a credential", "error",
                   ward_strerror(r));
    ward_http_add_header(req, "Retry-After", "1");
    ward_http_error(req, 503, "storage unavailable, retry later");
    return r;
}

/*
 * Records the admin of req's session cookie in p. Returns 1 when there is
 * a valid session, 0 when not, or a store error.
 */
static int session_admin(struct ward_http_request *req, struct ward_store *store,
                         struct ward_sessions *sessions, struct ward_principal *p)
{
    char id[WARD_CRED_MAX];
    struct ward_session_owner owner;
    if (!sessions || !ward_auth_cookie(req, WARD_SESSION_COOKIE, id, sizeof(id)) ||
        ward_sessions_find(sessions, id, ward_now_ms(), &owner) < 0)
        return 0;
    int r = find_credential(store, owner.lookup, NULL, owner.credential_id, p);
    if (r > 0 && p->caller != WARD_CALLER_ADMIN) {
        memset(p, 0, sizeof(*p));
        r = 0;
    }
    if (r > 0)
        p->session = true;
    else if (r == 0)
        ward_sessions_close(sessions, id); /* its token was revoked */
    return r;
}

int ward_auth_admit(struct ward_http_request *req, struct ward_store *store,
                    struct ward_sessions *sessions, const struct ward_auth_policy *policy)
{
    struct ward_principal *p = ward_http_auth(req);
    memset(p, 0, sizeof(*p));
    enum ward_access access = ward_http_route(req)->access;
    if (access == WARD_ACCESS_PUBLIC)
        return 0;
    bool optional = access == WARD_ACCESS_OPTIONAL;
    bool bad = false;
    const char *cred = presented(req, &bad);
    if (bad)
        return optional ? 0
                        : deny(req, 401,
                               "malformed credential; send X-Agent-API-Key: KEY or"
                               " Authorization: Bearer TOKEN");
    if (!cred) {
        int r = session_admin(req, store, sessions, p);
        if (r < 0)
            return store_failed(req, r);
        if (r > 0 && !safe_method(ward_http_method(req)) && !ward_auth_same_origin(req)) {
            memset(p, 0, sizeof(*p));
            return optional ? 0 : deny(req, 403, "a session cannot be used from another site");
        }
        if (r > 0 || optional)
            return optional || allowed(access, p)
                       ? 0
                       : deny(req, 403,
                              "this session's token is limited to one tenant and"
                              " cannot use this route");
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
    int r = find_credential(store, lookup, cred, NULL, p);
    if (r < 0)
        return store_failed(req, r);
    if (optional)
        return 0;
    if (r == 0)
        return deny(req, 401, "invalid or revoked credential");
    if (!allowed(access, p))
        return deny(req, 403,
                    p->caller == WARD_CALLER_AGENT ? "an agent key cannot use this route"
                                                   : "this token is limited to one tenant and"
                                                     " cannot use this route");
    return 0;
}

int ward_auth_login(struct ward_store *store, const char *token, struct ward_session_owner *owner,
                    char *tenant_id)
{
    if (ward_cred_check(token) < 0)
        return -EACCES;
    struct ward_principal p = {0};
    char lookup[WARD_CRED_LOOKUP];
    ward_cred_lookup(token, lookup);
    int r = find_credential(store, lookup, token, NULL, &p);
    if (r < 0)
        return r;
    if (r == 0 || p.caller != WARD_CALLER_ADMIN)
        return -EACCES;
    memcpy(owner->lookup, lookup, sizeof(owner->lookup));
    memcpy(owner->credential_id, p.credential_id, sizeof(owner->credential_id));
    memcpy(tenant_id, p.tenant_id, WARD_STORE_ID_LEN);
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
