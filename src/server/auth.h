/*
 * Who is calling: credentials presented with a request, checked against the
 * store, and what each kind of caller may do.
 *
 * Routes carry an access class (enum ward_access, in the route table).
 * ward_auth_admit() runs for every routed request before its body is
 * decoded: it reads the credential from X-Agent-API-Key or
 * "Authorization: Bearer", finds it by its lookup, compares its SHA-256 in
 * constant time, and records the caller (struct ward_principal) in the
 * request. A missing or unknown credential is 401; a valid one that may not
 * use the route is 403. The server's policy can let anonymous callers read
 * (public_read) or send data (open_ingest), for clients of the seed systems
 * that have no credentials; and a server with a shared key (-k) takes a
 * request signed with it as an agent's.
 */
#ifndef WARD_AUTH_H
#define WARD_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "common/credential.h"
#include "server/http/http.h"
#include "server/session.h"
#include "server/store/store.h"

/* Access classes of routes. The zero value is the strictest, so a route that forgets one is closed.
 */
enum ward_access {
    WARD_ACCESS_ADMIN = 0, /* an admin token */
    WARD_ACCESS_READ,      /* an admin token, or anyone with public_read */
    WARD_ACCESS_AGENT,     /* an agent key, a global admin token, or anyone with open_ingest */
    WARD_ACCESS_SIGNED,    /* as AGENT, or a request signed with the shared key (-k), which
                              its handler checks: ingest and the golectra updates */
    WARD_ACCESS_PUBLIC,    /* anyone; credentials are not looked at */
    WARD_ACCESS_OPTIONAL,  /* anyone; a valid credential or session is recorded, a bad one
                              ignored: the handler decides (the dashboard, its login) */
};

enum ward_caller {
    WARD_CALLER_ANONYMOUS = 0, /* no credential; let in by the server's policy or the route */
    WARD_CALLER_AGENT,         /* an agent key: host_id is the agent */
    WARD_CALLER_ADMIN,         /* an admin token: tenant_id limits it unless empty */
    WARD_CALLER_SHARED_KEY,    /* a request signed with the server's shared key (-k) */
};

struct ward_principal {
    enum ward_caller caller;
    char host_id[WARD_STORE_ID_LEN];       /* agents */
    char tenant_id[WARD_STORE_ID_LEN];     /* "" = every tenant */
    char credential_id[WARD_STORE_ID_LEN]; /* agents and admins */
    char lookup[WARD_CRED_LOOKUP];         /* the credential's lookup */
    bool session;                          /* an admin known by a dashboard session cookie */
};

struct ward_auth_policy {
    bool public_read; /* READ routes need no credential */
    bool open_ingest; /* AGENT routes need no credential */
    bool shared_key;  /* the server has -k: a signed request is an agent's (checked later) */
};

/*
 * Checks the caller of req against the access class of its route and
 * records it (ward_auth_principal()). Returns 0 to go on, or a negative
 * error after answering 401, 403 or 503.
 *
 * Without a credential header, a dashboard session cookie (sessions may
 * be NULL for none) stands for the admin token it was opened with, as
 * long as that token is valid. A request that changes something (any
 * method but GET, HEAD and OPTIONS) is taken on a cookie only when it
 * comes from the server's own origin (its Origin header names the Host),
 * so another site cannot make a logged-in browser act.
 */
int ward_auth_admit(struct ward_http_request *req, struct ward_store *store,
                    struct ward_sessions *sessions, const struct ward_auth_policy *policy);

/*
 * Checks that token is a valid admin token and fills owner for a session,
 * and tenant_id (WARD_STORE_ID_LEN bytes; "" = every tenant). Returns 0,
 * -EACCES for anything but a valid admin token, or a store error.
 */
int ward_auth_login(struct ward_store *store, const char *token, struct ward_session_owner *owner,
                    char *tenant_id);

/*
 * Checks that the admin token of owner is still valid (not revoked).
 * Returns 1 when it is, 0 when not, or a store error.
 */
int ward_auth_owner_valid(struct ward_store *store, const struct ward_session_owner *owner);

/*
 * Copies the value of the cookie name from req's Cookie header into out
 * (size bytes). Returns true when it is there and fits.
 */
bool ward_auth_cookie(const struct ward_http_request *req, const char *name, char *out,
                      size_t size);

/*
 * True when req carries no Origin header, or one whose host and port are
 * req's Host header (the dashboard's own pages).
 */
bool ward_auth_same_origin(const struct ward_http_request *req);

/* The caller recorded by ward_auth_admit(). */
const struct ward_principal *ward_auth_principal(const struct ward_http_request *req);

/* True when the caller sees every tenant (an unlimited admin, or anyone let in by policy). */
bool ward_auth_all_tenants(const struct ward_principal *p);

/* True when the caller may see tenant_id. */
bool ward_auth_sees_tenant(const struct ward_principal *p, const char *tenant_id);

/* True when p may use READ routes under policy: an admin, or anyone with public_read. */
bool ward_auth_can_read(const struct ward_principal *p, const struct ward_auth_policy *policy);

/*
 * Makes sure the operator's admin token can be used: stores it as a global
 * admin token named "bootstrap" unless it is stored already. A token that
 * an admin revoked stays revoked: -EKEYREVOKED. With token NULL or "", and
 * no valid admin token stored at all, makes one and writes it into
 * generated (WARD_CRED_MAX bytes; generated[0] is '\0' otherwise) for the
 * caller to show once. Returns 0, -EINVAL for a token shorter than
 * WARD_CRED_CHOSEN_MIN or not printable, or a store error.
 */
int ward_auth_bootstrap(struct ward_store *store, const char *token, char *generated);

/*
 * Makes a new credential of kind "agent" for host_id (revoking the host's
 * other keys) or "admin" limited to tenant_id (NULL: all), stores it, and
 * writes the secret to out (WARD_CRED_MAX bytes) and its id to id_out
 * (WARD_STORE_ID_LEN bytes, may be NULL). Returns 0 or a negative error.
 */
int ward_auth_issue(struct ward_store *store, const char *kind, const char *host_id,
                    const char *tenant_id, const char *name, char *out, char *id_out);

#endif
