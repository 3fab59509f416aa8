/*
 * HTTP server plumbing on libmicrohttpd.
 *
 * MHD runs an epoll event loop in a pool of threads and calls the access
 * handler several times per request: once with the headers, once per chunk
 * of body, and once more when the body is complete. This file turns that
 * into one call of a route handler with a complete request: it enforces the
 * body limits as the bytes arrive (a Content-Length over the limit is refused
 * before any body is read), routes, lets the application check the body as
 * sent (check_raw, for request signatures), decodes gzip under a second
 * limit, and turns every failure into a JSON error with the right status.
 * The access log line is written when MHD reports the request finished, so
 * it covers every request, including refused ones.
 */
#include "server/http/http.h"

#include "common/cleanup.h"
#include "common/crypto.h"
#include "common/error.h"
#include "common/gzip.h"
#include "common/json.h"
#include "common/log.h"
#include "common/net.h"
#include "common/parse.h"
#include "common/time-util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* Bytes of an oversized body read and thrown away before the connection is dropped. */
#define DISCARD_LIMIT        (1u << 20)
#define MAX_RESPONSE_HEADERS 8

struct ward_http_server {
    struct MHD_Daemon *daemon;
    struct ward_http_config cfg;
    uint16_t port;
};

struct header {
    char *name;
    char *value;
};

struct ward_http_request {
    struct ward_http_server *server;
    struct MHD_Connection *conn;
    const char *method;
    const char *path;
    char request_id[WARD_HTTP_REQUEST_ID_MAX + 1];
    int64_t start_ns;

    struct ward_buf raw;     /* body as received */
    struct ward_buf decoded; /* body after Content-Encoding, when there was one */
    size_t discarded;        /* bytes dropped after the body went over its limit */
    bool too_large;

    struct ward_route_match match;
    /* NUL-terminated copies of the route params, in match order. */
    char param_store[WARD_ROUTE_MAX_PATH + WARD_ROUTE_MAX_PARAMS];
    const char *param_values[WARD_ROUTE_MAX_PARAMS];

    struct header headers[MAX_RESPONSE_HEADERS];
    size_t n_headers;
    unsigned status; /* 0 until a response is queued */
    size_t response_bytes;
};

static void request_free(struct ward_http_request *req)
{
    if (!req)
        return;
    ward_buf_done(&req->raw);
    ward_buf_done(&req->decoded);
    for (size_t i = 0; i < req->n_headers; i++) {
        free(req->headers[i].name);
        free(req->headers[i].value);
    }
    free(req);
}

const char *ward_http_method(const struct ward_http_request *req)
{
    return req->method;
}

const char *ward_http_path(const struct ward_http_request *req)
{
    return req->path;
}

const char *ward_http_request_id(const struct ward_http_request *req)
{
    return req->request_id;
}

const char *ward_http_header(const struct ward_http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *ward_http_query(const struct ward_http_request *req, const char *name)
{
    const char *v = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
    if (!v && MHD_lookup_connection_value_n(req->conn, MHD_GET_ARGUMENT_KIND, name, strlen(name),
                                            NULL, NULL) == MHD_YES)
        return "";
    return v;
}

const char *ward_http_param(const struct ward_http_request *req, const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < req->match.n_params; i++)
        if (req->match.params[i].name_len == len &&
            memcmp(req->match.params[i].name, name, len) == 0)
            return req->param_values[i];
    return NULL;
}

/* Copies the route params out of the path; they fit, as the path is bounded. */
static void copy_params(struct ward_http_request *req)
{
    char *p = req->param_store;
    for (size_t i = 0; i < req->match.n_params; i++) {
        const struct ward_route_param *rp = &req->match.params[i];
        memcpy(p, rp->value, rp->value_len);
        p[rp->value_len] = '\0';
        req->param_values[i] = p;
        p += rp->value_len + 1;
    }
}

const char *ward_http_body(const struct ward_http_request *req, size_t *len)
{
    const struct ward_buf *b = req->decoded.data ? &req->decoded : &req->raw;
    *len = b->len;
    return b->data ? b->data : "";
}

const char *ward_http_raw_body(const struct ward_http_request *req, size_t *len)
{
    *len = req->raw.len;
    return req->raw.data ? req->raw.data : "";
}

const struct ward_route *ward_http_route(const struct ward_http_request *req)
{
    return req->match.route;
}

int ward_http_add_header(struct ward_http_request *req, const char *name, const char *value)
{
    if (req->n_headers == MAX_RESPONSE_HEADERS)
        return WARD_E_LIMIT;
    char *n = strdup(name), *v = strdup(value);
    if (!n || !v) {
        free(n);
        free(v);
        return -ENOMEM;
    }
    req->headers[req->n_headers++] = (struct header){n, v};
    return 0;
}

/* Queues a response whose body buffer MHD frees. Takes ownership of data. */
static int queue(struct ward_http_request *req, unsigned status, const char *content_type,
                 char *data, size_t len)
{
    if (req->status) {
        free(data);
        return -EALREADY;
    }
    struct MHD_Response *resp =
        MHD_create_response_from_buffer_with_free_callback(len, data, &free);
    if (!resp) {
        free(data);
        return -ENOMEM;
    }
    if (content_type)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    MHD_add_response_header(resp, "X-Request-Id", req->request_id);
    for (size_t i = 0; i < req->n_headers; i++)
        MHD_add_response_header(resp, req->headers[i].name, req->headers[i].value);
    enum MHD_Result r = MHD_queue_response(req->conn, status, resp);
    MHD_destroy_response(resp);
    if (r != MHD_YES)
        return WARD_E_HTTP;
    req->status = status;
    req->response_bytes = len;
    return 0;
}

int ward_http_respond(struct ward_http_request *req, unsigned status, const char *content_type,
                      const void *body, size_t len)
{
    char *copy = malloc(len ? len : 1);
    if (!copy)
        return -ENOMEM;
    if (len)
        memcpy(copy, body, len);
    return queue(req, status, content_type, copy, len);
}

int ward_http_respond_buf(struct ward_http_request *req, unsigned status, const char *content_type,
                          struct ward_buf *body)
{
    size_t len = body->len;
    char *data = ward_buf_steal(body);
    if (!data)
        return -ENOMEM;
    return queue(req, status, content_type, data, len);
}

int ward_http_error(struct ward_http_request *req, unsigned status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

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
    if (r < 0) {
        ward_buf_done(&out);
        return r;
    }
    return ward_http_respond_buf(req, status, "application/json", &out);
}

/* Keeps a client's X-Request-Id when it is short and plain, else makes one. */
static void set_request_id(struct ward_http_request *req)
{
    const char *given = ward_http_header(req, "X-Request-Id");
    if (given) {
        size_t n = strnlen(given, WARD_HTTP_REQUEST_ID_MAX + 1);
        bool ok = n > 0 && n <= WARD_HTTP_REQUEST_ID_MAX;
        for (size_t i = 0; ok && i < n; i++)
            ok = (given[i] >= '0' && given[i] <= '9') || (given[i] >= 'a' && given[i] <= 'z') ||
                 (given[i] >= 'A' && given[i] <= 'Z') || given[i] == '-' || given[i] == '_' ||
                 given[i] == '.';
        if (ok) {
            memcpy(req->request_id, given, n);
            req->request_id[n] = '\0';
            return;
        }
    }
    uint8_t rnd[8];
    if (ward_random_bytes(rnd, sizeof(rnd)) < 0)
        memset(rnd, 0, sizeof(rnd));
    ward_hex_encode(rnd, sizeof(rnd), req->request_id);
}

/* Replaces the raw body by its decoding when Content-Encoding asks for it. */
static int decode_body(struct ward_http_request *req)
{
    const char *enc = ward_http_header(req, MHD_HTTP_HEADER_CONTENT_ENCODING);
    if (!enc || !*enc || strcasecmp(enc, "identity") == 0)
        return 0;
    if (strcasecmp(enc, "gzip") != 0 && strcasecmp(enc, "x-gzip") != 0) {
        ward_http_error(req, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
                        "unsupported Content-Encoding '%.64s'; use gzip or identity", enc);
        return -EPROTO;
    }
    const struct ward_http_config *cfg = &req->server->cfg;
    int r = ward_gzip_decompress(req->raw.data ? req->raw.data : "", req->raw.len, cfg->max_body,
                                 cfg->max_decoded_body, &req->decoded);
    if (r == WARD_E_GZIP_TOO_LARGE || r == WARD_E_LIMIT) {
        ward_http_error(req, MHD_HTTP_CONTENT_TOO_LARGE,
                        "decompressed body exceeds the limit of %zu bytes", cfg->max_decoded_body);
        return r;
    }
    if (r < 0) {
        ward_http_error(req, MHD_HTTP_BAD_REQUEST, "body is not valid gzip: %s", ward_strerror(r));
        return r;
    }
    if (!req->decoded.data && ward_buf_reserve(&req->decoded, 0) < 0)
        return -ENOMEM;
    return 0;
}

static void dispatch(struct ward_http_request *req)
{
    const struct ward_http_config *cfg = &req->server->cfg;
    int r = ward_router_match(cfg->routes, cfg->n_routes, req->method, req->path, &req->match);
    if (r == -EOPNOTSUPP) {
        char allow[128];
        ward_router_allowed(cfg->routes, cfg->n_routes, req->path, allow, sizeof(allow));
        ward_http_add_header(req, MHD_HTTP_HEADER_ALLOW, allow);
        ward_http_error(req, MHD_HTTP_METHOD_NOT_ALLOWED, "method %.16s not allowed; allowed: %s",
                        req->method, allow);
        return;
    }
    if (r == -ENAMETOOLONG) {
        ward_http_error(req, MHD_HTTP_URI_TOO_LONG, "path too long");
        return;
    }
    if (r < 0) {
        ward_http_error(req, MHD_HTTP_NOT_FOUND, "no route for %.16s %.200s", req->method,
                        req->path);
        return;
    }
    copy_params(req);
    if (cfg->check_raw && cfg->check_raw(req, cfg->app) < 0) {
        if (!req->status)
            ward_http_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error");
        return;
    }
    if (decode_body(req) < 0)
        return;
    req->match.route->handler(req, cfg->app);
    if (!req->status) {
        ward_log_error(req->request_id, "handler sent no response", "path", req->path);
        ward_http_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error");
    }
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    struct ward_http_server *server = cls;
    struct ward_http_request *req = *con_cls;

    if (!req) {
        req = calloc(1, sizeof(*req));
        if (!req)
            return MHD_NO;
        req->server = server;
        req->conn = conn;
        req->method = method;
        req->path = url;
        req->start_ns = ward_mono_ns();
        ward_buf_init(&req->raw, server->cfg.max_body);
        ward_buf_init(&req->decoded, 0);
        set_request_id(req);
        *con_cls = req;

        const char *cl = ward_http_header(req, MHD_HTTP_HEADER_CONTENT_LENGTH);
        int64_t n;
        if (cl && ward_parse_int64(cl, &n) == 0 && (uint64_t)n > server->cfg.max_body) {
            ward_http_error(req, MHD_HTTP_CONTENT_TOO_LARGE,
                            "request body of %s bytes exceeds the limit of %zu bytes", cl,
                            server->cfg.max_body);
            return MHD_YES;
        }
        return MHD_YES;
    }

    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (req->status)
            return MHD_YES; /* already answered; MHD closes the connection after */
        if (!req->too_large && ward_buf_append(&req->raw, upload_data, n) == 0)
            return MHD_YES;
        req->too_large = true;
        req->discarded += n;
        return req->discarded > DISCARD_LIMIT ? MHD_NO : MHD_YES;
    }

    if (req->status)
        return MHD_YES;
    if (req->too_large) {
        ward_http_error(req, MHD_HTTP_CONTENT_TOO_LARGE,
                        "request body exceeds the limit of %zu bytes", server->cfg.max_body);
        return MHD_YES;
    }
    dispatch(req);
    return req->status ? MHD_YES : MHD_NO;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    struct ward_http_request *req = *con_cls;
    if (!req)
        return;
    char status[16], dur[32], bytes[32];
    snprintf(status, sizeof(status), "%u", req->status);
    snprintf(dur, sizeof(dur), "%.3f", (double)(ward_mono_ns() - req->start_ns) / 1e6);
    snprintf(bytes, sizeof(bytes), "%zu", req->response_bytes);
    ward_log(toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? WARD_LOG_INFO : WARD_LOG_WARN,
             req->request_id, "request", "method", req->method, "path", req->path, "status", status,
             "ms", dur, "bytes", bytes,
             toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? NULL : "outcome",
             toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? NULL : "aborted", NULL);
    request_free(req);
    *con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    ward_log_warn(NULL, "http", "detail", msg);
}

int ward_http_start(const struct ward_http_config *cfg, struct ward_http_server **out,
                    struct ward_buf *err)
{
    struct sockaddr_storage ss = {0};
    int r = ward_listen_address(cfg->address, &ss, err);
    if (r < 0)
        return r;

    struct ward_http_server *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->cfg = *cfg;
    unsigned threads = cfg->threads;
    if (!threads) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (unsigned)n : 2;
    }
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    /* The logger option must come first so it also covers the other options. */
    s->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, &on_request, s, MHD_OPTION_EXTERNAL_LOGGER, &on_mhd_log, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_CONNECTION_TIMEOUT, cfg->connection_timeout_s, MHD_OPTION_CONNECTION_LIMIT,
        cfg->max_connections, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
        MHD_OPTION_NOTIFY_COMPLETED, &on_completed, NULL, MHD_OPTION_END);
    if (!s->daemon) {
        ward_buf_printf(err, "cannot listen on %s (address in use or not available)", cfg->address);
        free(s);
        return -EADDRNOTAVAIL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : 0;
    *out = s;
    return 0;
}

uint16_t ward_http_port(const struct ward_http_server *s)
{
    return s->port;
}

void ward_http_stop(struct ward_http_server *s)
{
    if (!s)
        return;
    MHD_stop_daemon(s->daemon);
    free(s);
}
