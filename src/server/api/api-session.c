/*
 * Dashboard login and logout.
 *
 *   POST   /api/v1/session   {"token": "ADMIN_TOKEN"} -> 200 and a session cookie
 *                            token=ADMIN_TOKEN (an HTML form) -> 303 to /
 *   GET    /api/v1/session   who the browser is: never 401, so the page can ask
 *   DELETE /api/v1/session   ends the session and clears the cookie
 *
 * The cookie is HttpOnly (scripts never see it), SameSite=Strict (another
 * site's page never sends it) and Path=/. It is Secure when the request
 * came through a TLS proxy that says so (X-Forwarded-Proto: https). The
 * token itself is never stored in the browser. Failed logins are limited
 * per client address (claims.h), like claim attempts.
 */
#include "server/api/api.h"

#include "common/crypto.h"
#include "common/error.h"
#include "common/json.h"
#include "common/log.h"
#include "common/time-util.h"
#include "server/api/api-body.h"
#include "server/claims.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/*
 * Copies the value of field name of a form body (application/
 * x-www-form-urlencoded) into out (size bytes), decoded. Returns 0, or
 * -EINVAL when it is missing, malformed or too long.
 */
static int form_field(const char *body, size_t len, const char *name, char *out, size_t size)
{
    size_t nlen = strlen(name);
    const char *p = body, *end = body + len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        if ((size_t)(stop - p) > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
            size_t o = 0;
            for (const char *c = p + nlen + 1; c < stop; c++) {
                int ch = (unsigned char)*c;
                if (ch == '+') {
                    ch = ' ';
                } else if (ch == '%') {
                    uint8_t byte;
                    if (stop - c < 3 || ward_hex_decode(c + 1, 2, &byte, 1) < 0)
                        return -EINVAL;
                    ch = byte;
                    c += 2;
                }
                if (o + 1 >= size)
                    return -EINVAL;
                out[o++] = (char)ch;
            }
            out[o] = '\0';
            return 0;
        }
        p = stop + 1;
    }
    return -EINVAL;
}

static bool is_form(const struct ward_http_request *req)
{
    const char *ct = ward_http_header(req, "Content-Type");
    return ct && strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0;
}

/* Adds the Set-Cookie header: the session id, or an expired empty one to clear it. */
static void set_cookie(struct ward_http_request *req, const char *id, int64_t max_age_s)
{
    const char *proto = ward_http_header(req, "X-Forwarded-Proto");
    bool secure = proto && strcasecmp(proto, "https") == 0;
    char v[WARD_CRED_MAX + 128];
    snprintf(v, sizeof(v), "%s=%s; Path=/; Max-Age=%lld; HttpOnly; SameSite=Strict%s",
             WARD_SESSION_COOKIE, id, (long long)max_age_s, secure ? "; Secure" : "");
    ward_http_add_header(req, "Set-Cookie", v);
    ward_http_add_header(req, "Cache-Control", "no-store");
}

/* Answers a form login by sending the browser back to the page. */
static void redirect(struct ward_http_request *req, const char *to)
{
    ward_http_add_header(req, "Location", to);
    ward_http_respond(req, 303, "text/plain; charset=utf-8", "", 0);
}

static void respond_state(struct ward_http_request *req, const struct ward_api *api,
                          bool authenticated, const char *via, const char *tenant,
                          int64_t expires_ms)
{
    struct ward_buf out = WARD_BUF_INIT;
    struct ward_json_writer w;
    ward_json_writer_init(&w, &out);
    ward_json_write_object_begin(&w);
    ward_json_write_keyz(&w, "authenticated");
    ward_json_write_bool(&w, authenticated);
    ward_json_write_keyz(&w, "via");
    if (via)
        ward_json_write_stringz(&w, via);
    else
        ward_json_write_null(&w);
    ward_json_write_keyz(&w, "public_read");
    ward_json_write_bool(&w, api->policy.public_read);
    ward_json_write_keyz(&w, "tenant_id");
    ward_json_write_stringz(&w, tenant ? tenant : "");
    if (expires_ms) {
        char t[WARD_RFC3339_LEN];
        ward_time_format_rfc3339(expires_ms, t);
        ward_json_write_keyz(&w, "expires_at");
        ward_json_write_stringz(&w, t);
    }
    ward_json_write_object_end(&w);
    ward_api_respond_json(req, 200, &w, &out);
}

void ward_api_session_login(struct ward_http_request *req, void *app)
{
    struct ward_api *api = app;
    bool form = is_form(req);
    size_t len;
    const char *body = ward_http_body(req, &len);
    char token[WARD_CRED_INPUT_MAX + 1];
    int r;
    if (form) {
        r = form_field(body, len, "token", token, sizeof(token));
    } else {
        struct ward_buf err = WARD_BUF_INIT;
        struct ward_api_field f = {"token", token, WARD_CRED_INPUT_MAX, true};
        r = ward_api_body_decode(body, len, &f, 1, &err);
        if (r < 0) {
            ward_http_error(req, 400, "%s", err.data ? err.data : "bad request body");
            ward_buf_done(&err);
            return;
        }
        ward_buf_done(&err);
    }
    int64_t now = ward_now_ms();
    if (!ward_claims_login_allowed(api->claims, ward_http_remote(req), now)) {
        ward_http_add_header(req, "Retry-After", "600");
        ward_http_error(req, 429, "too many failed logins; wait before trying again");
        return;
    }
    struct ward_session_owner owner;
    char tenant[WARD_STORE_ID_LEN];
    if (r == 0)
        r = ward_auth_login(api->store, token, &owner, tenant);
    explicit_bzero(token, sizeof(token));
    if (r == -EACCES || r == -EINVAL) {
        ward_claims_login_failed(api->claims, ward_http_remote(req), now);
        if (form)
            redirect(req, "/?login=failed");
        else
            ward_http_error(req, 401, "this is not a valid admin token");
        return;
    }
    char id[WARD_CRED_MAX];
    int64_t expires = 0;
    if (r == 0)
        r = ward_sessions_open(api->sessions, &owner, now, id, &expires);
    if (r < 0) {
        ward_api_store_failed(req, "login failed", r);
        return;
    }
    set_cookie(req, id, (expires - now) / 1000);
    explicit_bzero(id, sizeof(id));
    ward_log_info(ward_http_request_id(req), "dashboard login", "client", ward_http_remote(req),
                  "credential", owner.credential_id);
    if (form)
        redirect(req, "/");
    else
        respond_state(req, api, true, "cookie", tenant, expires);
}

void ward_api_session_show(struct ward_http_request *req, void *app)
{
    struct ward_api *api = app;
    const struct ward_principal *p = ward_auth_principal(req);
    if (p->caller == WARD_CALLER_ADMIN)
        respond_state(req, api, true, p->session ? "cookie" : "token", p->tenant_id, 0);
    else
        respond_state(req, api, false, api->policy.public_read ? "public" : NULL, NULL, 0);
}

void ward_api_session_logout(struct ward_http_request *req, void *app)
{
    struct ward_api *api = app;
    char id[WARD_CRED_MAX];
    if (ward_auth_cookie(req, WARD_SESSION_COOKIE, id, sizeof(id)))
        ward_sessions_close(api->sessions, id);
    set_cookie(req, "", 0);
    respond_state(req, api, false, api->policy.public_read ? "public" : NULL, NULL, 0);
}
