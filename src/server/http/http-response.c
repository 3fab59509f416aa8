/*
 * Responses of the HTTP layer: what every answer carries, whoever sends it.
 *
 * All responses, the handlers' and the server's own errors alike, go
 * through ward_http_queue(), so the request id, CORS, gzip and the
 * before_send hook apply to each of them the same way; the one exception
 * is a WebSocket's 101 (ward_http_queue_upgrade()), which has no body and
 * gets the request id and the handler's headers only. The body is always
 * complete in memory (ward answers with JSON or text of bounded size), so
 * gzip is one libdeflate call at level 1: the fastest level already gets
 * most of the gain on JSON, and the CPU spent stays small next to the
 * request itself. A body is sent compressed only if that made it smaller.
 *
 * HEAD is answered from the GET handler's full body, which MHD then leaves
 * out; compressing it the same way keeps Content-Length and
 * Content-Encoding equal to those of the GET.
 */
#include "server/http/http-internal.h"

#include "common/error.h"
#include "common/gzip.h"
#include "common/json.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* gzip level of responses: the fastest, see above. */
#define RESPONSE_GZIP_LEVEL 1

/* CORS preflight answers may be cached by the browser this long, in seconds. */
#define PREFLIGHT_MAX_AGE "600"

static const char cors_expose[] = "X-Request-Id, Retry-After, HashSHA256";
static const char cors_allow_headers[] =
    "Content-Type, Content-Encoding, Authorization, X-Agent-API-Key, X-Request-Id, HashSHA256, "
    "X-Ward-Signature, X-Ward-Timestamp";

int ward_http_add_header(struct ward_http_request *req, const char *name, const char *value)
{
    if (req->n_headers == WARD_HTTP_MAX_RESPONSE_HEADERS)
        return WARD_E_LIMIT;
    char *n = strdup(name), *v = strdup(value);
    if (!n || !v) {
        free(n);
        free(v);
        return -ENOMEM;
    }
    req->headers[req->n_headers++] = (struct ward_http_header){n, v};
    return 0;
}

static bool has_header(const struct ward_http_request *req, const char *name)
{
    for (size_t i = 0; i < req->n_headers; i++)
        if (strcasecmp(req->headers[i].name, name) == 0)
            return true;
    return false;
}

/* A request header, or NULL once the connection is gone. */
static const char *request_header(const struct ward_http_request *req, const char *name)
{
    return req->conn ? MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name) : NULL;
}

static bool body_allowed(unsigned status)
{
    return status >= 200 && status != 204 && status != 304;
}

/*
 * Replaces *data by its gzip encoding when that is smaller. Returns true
 * when it did; on any failure the body stays as it was.
 */
static bool gzip_body(char **data, size_t *len)
{
    struct ward_buf z = WARD_BUF_INIT;
    bool done = false;
    if (ward_gzip_compress(*data, *len, RESPONSE_GZIP_LEVEL, &z) == 0 && z.len < *len) {
        size_t zlen = z.len;
        char *zdata = ward_buf_steal(&z);
        if (zdata) {
            free(*data);
            *data = zdata;
            *len = zlen;
            done = true;
        }
    }
    ward_buf_done(&z);
    return done;
}

int ward_http_queue(struct ward_http_request *req, unsigned status, const char *content_type,
                    char *data, size_t len)
{
    struct ward_http_server *s = req->server;
    if (req->status) {
        free(data);
        return -EALREADY;
    }
    if (s->cfg.before_send)
        s->cfg.before_send(req, data, len, s->cfg.app);

    /* Vary names every request header the answer depends on. */
    bool vary_origin = s->origins.any || s->origins.n, vary_encoding = false, gzipped = false;
    if (body_allowed(status) && len >= WARD_HTTP_GZIP_MIN &&
        !has_header(req, MHD_HTTP_HEADER_CONTENT_ENCODING)) {
        vary_encoding = true;
        if (ward_http_accepts_gzip(request_header(req, MHD_HTTP_HEADER_ACCEPT_ENCODING)))
            gzipped = gzip_body(&data, &len);
    }
    const char *vary = vary_origin ? (vary_encoding ? "Origin, Accept-Encoding" : "Origin")
                                   : (vary_encoding ? "Accept-Encoding" : NULL);

    struct MHD_Response *resp =
        MHD_create_response_from_buffer_with_free_callback(len, data, &free);
    if (!resp) {
        free(data);
        return -ENOMEM;
    }
    bool ok = true;
    if (content_type)
        ok &= MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type) == MHD_YES;
    ok &= MHD_add_response_header(resp, "X-Request-Id", req->request_id) == MHD_YES;
    for (size_t i = 0; i < req->n_headers; i++)
        ok &= MHD_add_response_header(resp, req->headers[i].name, req->headers[i].value) == MHD_YES;
    const char *origin = request_header(req, "Origin");
    if (ward_http_origins_allow(&s->origins, origin)) {
        ok &= MHD_add_response_header(resp, "Access-Control-Allow-Origin", origin) == MHD_YES;
        ok &=
            MHD_add_response_header(resp, "Access-Control-Expose-Headers", cors_expose) == MHD_YES;
    }
    if (gzipped)
        ok &= MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip") == MHD_YES;
    if (vary)
        ok &= MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, vary) == MHD_YES;
    if (atomic_load(&s->quiesced))
        ok &= MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close") == MHD_YES;
    if (!ok) {
        /* A header the library refused (a bad name or value from a handler). */
        MHD_destroy_response(resp);
        return WARD_E_HTTP;
    }
    enum MHD_Result r = req->conn ? MHD_queue_response(req->conn, status, resp) : MHD_NO;
    MHD_destroy_response(resp);
    if (r != MHD_YES)
        return WARD_E_HTTP;
    req->status = status;
    req->response_bytes = strcmp(req->method, "HEAD") == 0 || !body_allowed(status) ? 0 : len;
    return 0;
}

/* Whether a handler may respond now; see ward_http_respond() in http.h. */
int ward_http_may_respond(const struct ward_http_request *req)
{
    if (req->detached)
        return -ESHUTDOWN;
    if (req->susp != WARD_HTTP_SUSP_NONE)
        return -EBUSY;
    return req->status ? -EALREADY : 0;
}

int ward_http_respond(struct ward_http_request *req, unsigned status, const char *content_type,
                      const void *body, size_t len)
{
    int r = ward_http_may_respond(req);
    if (r < 0)
        return r;
    char *copy = malloc(len ? len : 1);
    if (!copy)
        return -ENOMEM;
    if (len)
        memcpy(copy, body, len);
    return ward_http_queue(req, status, content_type, copy, len);
}

int ward_http_respond_buf(struct ward_http_request *req, unsigned status, const char *content_type,
                          struct ward_buf *body)
{
    int r = ward_http_may_respond(req);
    if (r < 0) {
        ward_buf_done(body); /* the storage is taken whatever happens */
        return r;
    }
    size_t len = body->len;
    char *data = ward_buf_steal(body);
    if (!data)
        return -ENOMEM;
    return ward_http_queue(req, status, content_type, data, len);
}

int ward_http_queue_upgrade(struct ward_http_request *req, MHD_UpgradeHandler fn, void *cls)
{
    struct ward_http_server *s = req->server;
    int r = ward_http_may_respond(req);
    if (r < 0)
        return r;
    if (s->cfg.before_send)
        s->cfg.before_send(req, "", 0, s->cfg.app);
    /* MHD adds "Connection: Upgrade" itself; CORS and gzip mean nothing here. */
    struct MHD_Response *resp = MHD_create_response_for_upgrade(fn, cls);
    if (!resp)
        return -ENOMEM;
    bool ok = MHD_add_response_header(resp, "X-Request-Id", req->request_id) == MHD_YES;
    for (size_t i = 0; i < req->n_headers; i++)
        ok &= MHD_add_response_header(resp, req->headers[i].name, req->headers[i].value) == MHD_YES;
    enum MHD_Result q = MHD_NO;
    if (ok && req->conn)
        q = MHD_queue_response(req->conn, MHD_HTTP_SWITCHING_PROTOCOLS, resp);
    MHD_destroy_response(resp);
    if (q != MHD_YES)
        return WARD_E_HTTP;
    req->status = MHD_HTTP_SWITCHING_PROTOCOLS;
    req->response_bytes = 0;
    return 0;
}

static int verror(struct ward_http_request *req, unsigned status, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static int verror(struct ward_http_request *req, unsigned status, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);

    struct ward_buf out = WARD_BUF_INIT;
    struct ward_json_writer w;
    ward_json_writer_init(&w, &out);
    ward_json_write_object_begin(&w);
    ward_json_write_keyz(&w, "error");
    ward_json_write_string(&w, msg, strlen(msg));
    ward_json_write_keyz(&w, "request_id");
    ward_json_write_string(&w, req->request_id, strlen(req->request_id));
    ward_json_write_object_end(&w);
    int r = ward_json_writer_finish(&w);
    size_t len = out.len;
    char *data = r < 0 ? NULL : ward_buf_steal(&out);
    ward_buf_done(&out);
    if (r < 0)
        return r;
    if (!data)
        return -ENOMEM;
    return ward_http_queue(req, status, "application/json", data, len);
}

int ward_http_error(struct ward_http_request *req, unsigned status, const char *fmt, ...)
{
    int r = ward_http_may_respond(req);
    if (r < 0)
        return r;
    va_list ap;
    va_start(ap, fmt);
    r = verror(req, status, fmt, ap);
    va_end(ap);
    return r;
}

int ward_http_send_error(struct ward_http_request *req, unsigned status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = verror(req, status, fmt, ap);
    va_end(ap);
    return r;
}

int ward_http_preflight(struct ward_http_request *req, const char *allow)
{
    char methods[160];
    snprintf(methods, sizeof(methods), "%s%sOPTIONS", allow, *allow ? ", " : "");
    int r = ward_http_add_header(req, MHD_HTTP_HEADER_ALLOW, methods);
    if (r == 0 && ward_http_origins_allow(&req->server->origins, request_header(req, "Origin"))) {
        r = ward_http_add_header(req, "Access-Control-Allow-Methods", methods);
        if (r == 0)
            r = ward_http_add_header(req, "Access-Control-Allow-Headers", cors_allow_headers);
        if (r == 0)
            r = ward_http_add_header(req, "Access-Control-Max-Age", PREFLIGHT_MAX_AGE);
    }
    if (r < 0)
        return r;
    char *empty = malloc(1);
    if (!empty)
        return -ENOMEM;
    return ward_http_queue(req, 204, NULL, empty, 0);
}
