/*
 * HTTP server plumbing on libmicrohttpd.
 *
 * MHD runs an epoll event loop in a pool of threads and calls the access
 * handler several times per request: once with the headers, once per chunk
 * of body, and once more when the body is complete. This file turns that
 * into one call of a route handler with a complete request: it enforces the
 * body limits as the bytes arrive (a Content-Length over the limit is refused
 * before any body is read), routes, answers OPTIONS preflights, lets the
 * application check the body as sent (check_raw, for request signatures),
 * decodes gzip under a second limit, and turns every failure into a JSON
 * error with the right status. Responses are built in http-response.c.
 *
 * A handler may suspend its request and have another thread resume it; the
 * state machine that keeps that safe against every interleaving is drawn
 * in http-internal.h. Its rule is that only the HTTP thread running the
 * request calls MHD_suspend_connection(), and MHD_resume_connection() is
 * called once, only after MHD really suspended.
 *
 * Every request is counted from its headers to MHD's "completed" callback,
 * which also writes the access log line and calls on_complete, so both cover
 * refused and aborted requests too. The count is what a graceful shutdown
 * waits for. For a WebSocket MHD calls it when the upgraded connection is
 * closed (ws.c), so the line shows status 101 and the connection's lifetime.
 */
#include "server/http/http-internal.h"
#include "server/http/ws-internal.h"

#include "common/crypto.h"
#include "common/error.h"
#include "common/gzip.h"
#include "common/log.h"
#include "common/parse.h"
#include "common/time-util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/*
 * An oversized body is read and thrown away up to max_body more bytes (at
 * least this many), so that the client, which is still sending, gets to
 * read its 413; past that the connection is dropped.
 */
#define DISCARD_MIN ((size_t)1 << 20)

/* What a client that meets a stopping server is told to wait, in seconds. */
#define SHUTDOWN_RETRY_AFTER "1"

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

const char *ward_http_remote(const struct ward_http_request *req)
{
    return req->remote;
}

const char *ward_http_header(const struct ward_http_request *req, const char *name)
{
    if (req->detached || !req->conn)
        return NULL;
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *ward_http_query(const struct ward_http_request *req, const char *name)
{
    if (req->detached || !req->conn)
        return NULL;
    const char *v = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
    if (!v && MHD_lookup_connection_value_n(req->conn, MHD_GET_ARGUMENT_KIND, name, strlen(name),
                                            NULL, NULL) == MHD_YES)
        return "";
    return v;
}

struct query_each {
    const char *name;
    int (*fn)(const char *value, void *userdata);
    void *userdata;
    int r;
};

static enum MHD_Result query_each_one(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    (void)kind;
    struct query_each *q = cls;
    if (strcmp(key, q->name) != 0)
        return MHD_YES;
    q->r = q->fn(value ? value : "", q->userdata);
    return q->r < 0 ? MHD_NO : MHD_YES;
}

int ward_http_query_each(const struct ward_http_request *req, const char *name,
                         int (*fn)(const char *value, void *userdata), void *userdata)
{
    if (req->detached || !req->conn)
        return 0;
    struct query_each q = {name, fn, userdata, 0};
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, query_each_one, &q);
    return q.r < 0 ? q.r : 0;
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

void *ward_http_auth(const struct ward_http_request *req)
{
    return (void *)req->auth; /* like strchr(): the caller owns req */
}

void ward_http_set_userdata(struct ward_http_request *req, void *data)
{
    req->userdata = data;
}

void *ward_http_userdata(const struct ward_http_request *req)
{
    return req->userdata;
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

int ward_http_fd(const struct ward_http_request *req)
{
    if (req->detached || !req->conn)
        return -1;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    return ci ? ci->connect_fd : -1;
}

bool ward_http_peer_gone(const struct ward_http_request *req)
{
    if (req->detached || !req->conn)
        return true;
    int fd = ward_http_fd(req);
    if (fd < 0)
        return false;
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLRDHUP};
    if (poll(&p, 1, 0) <= 0)
        return false;
    if (p.revents & (POLLRDHUP | POLLHUP | POLLERR))
        return true;
    /* Readable: the next request of the connection, or its end. */
    char c;
    return recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

/* Writes the client's address as text; an IPv4-mapped IPv6 address as plain IPv4. */
static void set_remote(struct ward_http_request *req)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    const char *r = NULL;
    if (sa && sa->sa_family == AF_INET) {
        r = inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, req->remote,
                      sizeof(req->remote));
    } else if (sa && sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        r = IN6_IS_ADDR_V4MAPPED(a)
                ? inet_ntop(AF_INET, &a->s6_addr[12], req->remote, sizeof(req->remote))
                : inet_ntop(AF_INET6, a, req->remote, sizeof(req->remote));
    }
    if (!r)
        snprintf(req->remote, sizeof(req->remote), "unknown");
}

static struct ward_http_request *request_new(struct ward_http_server *s,
                                             struct MHD_Connection *conn, const char *url,
                                             const char *method)
{
    struct ward_http_request *req = calloc(1, sizeof(*req));
    if (!req)
        return NULL;
    req->path = strdup(url);
    if (!req->path) {
        free(req);
        return NULL;
    }
    req->server = s;
    req->conn = conn;
    size_t mlen = strnlen(method, WARD_HTTP_METHOD_MAX);
    memcpy(req->method, method, mlen);
    req->method[mlen] = '\0';
    req->start_ns = ward_mono_ns();
    req->after_quiesce = atomic_load(&s->quiesced);
    req->start_ms = ward_now_ms();
    ward_buf_init(&req->raw, s->cfg.max_body);
    ward_buf_init(&req->decoded, 0);
    set_request_id(req);
    set_remote(req);
    req->refs = 1; /* MHD's, dropped in on_completed() */

    pthread_mutex_lock(&s->lock);
    s->in_flight++;
    s->n_requests++;
    pthread_mutex_unlock(&s->lock);
    return req;
}

/* Frees a request whose last reference is gone; call without the lock. */
static void request_free(struct ward_http_request *req)
{
    struct ward_http_server *s = req->server;
    ward_buf_done(&req->raw);
    ward_buf_done(&req->decoded);
    for (size_t i = 0; i < req->n_headers; i++) {
        free(req->headers[i].name);
        free(req->headers[i].value);
    }
    free(req->path);
    free(req);

    pthread_mutex_lock(&s->lock);
    bool last = --s->n_requests == 0 && s->stopped;
    pthread_mutex_unlock(&s->lock);
    if (last)
        ward_http_server_free(s);
}

/* Drops one reference and frees the request when it was the last. */
static void request_unref(struct ward_http_request *req)
{
    struct ward_http_server *s = req->server;
    pthread_mutex_lock(&s->lock);
    bool last = --req->refs == 0;
    pthread_mutex_unlock(&s->lock);
    if (last)
        request_free(req);
}

/* The suspended list; with the lock held. */
static void list_add(struct ward_http_server *s, struct ward_http_request *req)
{
    req->prev = NULL;
    req->next = s->suspended;
    if (s->suspended)
        s->suspended->prev = req;
    s->suspended = req;
    s->n_suspended++;
}

static void list_remove(struct ward_http_server *s, struct ward_http_request *req)
{
    if (req->prev)
        req->prev->next = req->next;
    else
        s->suspended = req->next;
    if (req->next)
        req->next->prev = req->prev;
    req->prev = req->next = NULL;
    s->n_suspended--;
    pthread_cond_broadcast(&s->changed);
}

void ward_http_suspend(struct ward_http_request *req, ward_http_handler_fn resume)
{
    struct ward_http_server *s = req->server;
    pthread_mutex_lock(&s->lock);
    bool bad = req->susp != WARD_HTTP_SUSP_NONE || req->held;
    if (!bad) {
        req->held = true;
        req->refs++; /* the owner's, dropped by ward_http_resume() */
        req->resume_fn = resume;
        /*
         * A detached request (a callback running after shutdown suspends
         * again) never parks: its resume goes straight to the callback.
         */
        if (!req->detached) {
            req->susp = WARD_HTTP_SUSP_PENDING;
            list_add(s, req);
        }
    }
    pthread_mutex_unlock(&s->lock);
    if (bad)
        ward_log_error(req->request_id, "request suspended twice", "path", req->path);
}

void ward_http_resume(struct ward_http_request *req)
{
    struct ward_http_server *s = req->server;
    pthread_mutex_lock(&s->lock);
    if (!req->held) {
        pthread_mutex_unlock(&s->lock);
        ward_log_error(req->request_id, "request resumed twice", "path", req->path);
        return;
    }
    req->held = false;
    enum ward_http_suspension state = req->susp;
    struct MHD_Connection *conn = req->conn;
    if (state == WARD_HTTP_SUSP_NONE) {
        /*
         * The server answered the request without its owner (shutdown), so
         * nothing waits for it on an HTTP thread: the callback runs here,
         * detached, to let the owner's state go.
         */
        ward_http_handler_fn fn = req->resume_fn;
        void *app = s->cfg.app;
        pthread_mutex_unlock(&s->lock);
        fn(req, app);
        request_unref(req);
        return;
    }
    /* MHD's reference outlives this call: it is dropped only after the request left suspension. */
    req->refs--;
    if (state == WARD_HTTP_SUSP_PARKED)
        req->susp = WARD_HTTP_SUSP_RESUMING;
    pthread_mutex_unlock(&s->lock);
    /*
     * PENDING and PARKING: the HTTP thread sees held == false and resumes by
     * itself. RESUMING: the server resumed it already (shutdown). Only a
     * PARKED connection is handed back to MHD, and from here on the request
     * belongs to the HTTP thread, so it is not touched any more.
     */
    if (state == WARD_HTTP_SUSP_PARKED)
        MHD_resume_connection(conn);
}

/*
 * Gives up on a suspended request the server has to answer itself (it is
 * stopping, or the handler suspended after responding): answers 503 unless
 * answered, and detaches it. When its owner has resumed it meanwhile, the
 * callback runs here, detached; otherwise the owner's ward_http_resume()
 * runs it later. Called on the request's HTTP thread, without the lock.
 */
static void abandon(struct ward_http_request *req)
{
    struct ward_http_server *s = req->server;
    if (!req->status) {
        ward_http_add_header(req, "Retry-After", SHUTDOWN_RETRY_AFTER);
        ward_http_send_error(req, MHD_HTTP_SERVICE_UNAVAILABLE, "server shutting down");
    }
    pthread_mutex_lock(&s->lock);
    list_remove(s, req);
    req->susp = WARD_HTTP_SUSP_NONE;
    req->detached = true;
    bool run = !req->held;
    ward_http_handler_fn fn = req->resume_fn;
    pthread_mutex_unlock(&s->lock);
    if (run)
        fn(req, s->cfg.app);
}

/*
 * Runs when a handler or a resume callback returned: parks a request it
 * suspended, or runs the resume callback at once when the resume came
 * first, and makes sure every request that is not suspended got an answer.
 * Returns what the access handler returns to MHD.
 */
static enum MHD_Result after_handler(struct ward_http_request *req)
{
    struct ward_http_server *s = req->server;
    for (;;) {
        pthread_mutex_lock(&s->lock);
        if (req->susp == WARD_HTTP_SUSP_NONE) {
            pthread_mutex_unlock(&s->lock);
            break;
        }
        if (!req->held) {
            list_remove(s, req);
            req->susp = WARD_HTTP_SUSP_NONE;
            ward_http_handler_fn fn = req->resume_fn;
            pthread_mutex_unlock(&s->lock);
            fn(req, s->cfg.app);
            continue;
        }
        if (atomic_load(&s->stopping) || req->status) {
            pthread_mutex_unlock(&s->lock);
            abandon(req);
            break;
        }
        req->susp = WARD_HTTP_SUSP_PARKING;
        pthread_mutex_unlock(&s->lock);

        MHD_suspend_connection(req->conn);

        pthread_mutex_lock(&s->lock);
        bool resume_now = !req->held || atomic_load(&s->stopping);
        req->susp = resume_now ? WARD_HTTP_SUSP_RESUMING : WARD_HTTP_SUSP_PARKED;
        struct MHD_Connection *conn = req->conn;
        pthread_mutex_unlock(&s->lock);
        if (resume_now)
            MHD_resume_connection(conn);
        return MHD_YES;
    }
    if (!req->status) {
        if (!req->detached)
            ward_log_error(req->request_id, "handler sent no response", "path", req->path);
        /* The handler's headers may be what failed; the error goes without them. */
        for (size_t i = 0; i < req->n_headers; i++) {
            free(req->headers[i].name);
            free(req->headers[i].value);
        }
        req->n_headers = 0;
        ward_http_send_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error");
    }
    return req->status ? MHD_YES : MHD_NO;
}

/* MHD calls back a request it resumed; runs the resume callback, or gives up on shutdown. */
static enum MHD_Result resumed(struct ward_http_request *req)
{
    struct ward_http_server *s = req->server;
    pthread_mutex_lock(&s->lock);
    if (req->held) {
        pthread_mutex_unlock(&s->lock);
        abandon(req);
        return after_handler(req);
    }
    list_remove(s, req);
    req->susp = WARD_HTTP_SUSP_NONE;
    ward_http_handler_fn fn = req->resume_fn;
    pthread_mutex_unlock(&s->lock);
    fn(req, s->cfg.app);
    return after_handler(req);
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

/*
 * A browser page may only change something here when it is served by this
 * server or its origin is allowed (--cors-origin). CORS alone would stop
 * the page from reading the answer, not the write itself, so a write that
 * carries a foreign Origin is refused before it runs (403). Clients other
 * than browsers send no Origin and are not affected. Returns false after
 * answering.
 */
static bool cross_origin_write_ok(struct ward_http_request *req)
{
    if (strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0 ||
        strcmp(req->method, "OPTIONS") == 0)
        return true;
    const char *origin = ward_http_header(req, "Origin");
    if (!origin || ward_http_origins_allow(&req->server->origins, origin) ||
        ward_http_same_origin(origin, ward_http_header(req, "Host")))
        return true;
    ward_http_error(req, MHD_HTTP_FORBIDDEN,
                    "cross-origin request from '%.100s' refused; allow the origin with "
                    "--cors-origin",
                    origin);
    return false;
}

static void dispatch(struct ward_http_request *req)
{
    const struct ward_http_config *cfg = &req->server->cfg;
    if (atomic_load(&req->server->stopping) || req->after_quiesce) {
        ward_http_add_header(req, "Retry-After", SHUTDOWN_RETRY_AFTER);
        ward_http_error(req, MHD_HTTP_SERVICE_UNAVAILABLE, "server shutting down");
        return;
    }
    int r = ward_router_match(cfg->routes, cfg->n_routes, req->method, req->path, &req->match);
    if (r == -EOPNOTSUPP) {
        char allow[128];
        ward_router_allowed(cfg->routes, cfg->n_routes, req->path, allow, sizeof(allow));
        if (strcmp(req->method, MHD_HTTP_METHOD_OPTIONS) == 0) {
            ward_http_preflight(req, allow);
            return;
        }
        /* GET routes answer HEAD too, and every known path answers OPTIONS. */
        char full[160];
        snprintf(full, sizeof(full), "%s%s, OPTIONS", allow, strstr(allow, "GET") ? ", HEAD" : "");
        ward_http_add_header(req, MHD_HTTP_HEADER_ALLOW, full);
        ward_http_error(req, MHD_HTTP_METHOD_NOT_ALLOWED, "method %.16s not allowed; allowed: %s",
                        req->method, full);
        return;
    }
    if (r == -ENAMETOOLONG) {
        ward_http_error(req, MHD_HTTP_URI_TOO_LONG, "path longer than %d bytes",
                        WARD_ROUTE_MAX_PATH);
        return;
    }
    if (r < 0) {
        ward_http_error(req, MHD_HTTP_NOT_FOUND, "no route for %.16s %.200s", req->method,
                        req->path);
        return;
    }
    copy_params(req);
    if (!cross_origin_write_ok(req))
        return;
    if (cfg->check_raw && cfg->check_raw(req, cfg->app) < 0) {
        if (!req->status)
            ward_http_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error");
        return;
    }
    if (decode_body(req) < 0)
        return;
    req->match.route->handler(req, cfg->app);
}

/* The first call, with the headers: sets the request up and refuses what it can at once. */
static enum MHD_Result request_start(struct ward_http_server *s, struct MHD_Connection *conn,
                                     const char *url, const char *method, void **con_cls)
{
    struct ward_http_request *req = request_new(s, conn, url, method);
    if (!req)
        return MHD_NO;
    *con_cls = req;
    const char *cl = ward_http_header(req, MHD_HTTP_HEADER_CONTENT_LENGTH);
    int64_t n;
    if (cl && ward_parse_int64(cl, &n) == 0 && (uint64_t)n > s->cfg.max_body)
        ward_http_error(req, MHD_HTTP_CONTENT_TOO_LARGE,
                        "request body of %.20s bytes exceeds the limit of %zu bytes", cl,
                        s->cfg.max_body);
    return MHD_YES;
}

enum MHD_Result ward_http_on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                     const char *method, const char *version,
                                     const char *upload_data, size_t *upload_data_size,
                                     void **con_cls)
{
    (void)version;
    struct ward_http_server *s = cls;
    struct ward_http_request *req = *con_cls;
    if (!req)
        return request_start(s, conn, url, method, con_cls);

    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (req->status)
            return MHD_YES; /* already answered; MHD closes the connection after */
        if (!req->too_large && ward_buf_append(&req->raw, upload_data, n) == 0)
            return MHD_YES;
        req->too_large = true;
        req->discarded += n;
        size_t allowance = s->cfg.max_body > DISCARD_MIN ? s->cfg.max_body : DISCARD_MIN;
        return req->discarded > allowance ? MHD_NO : MHD_YES;
    }

    /* The body is complete. A suspended request comes back here when resumed. */
    pthread_mutex_lock(&s->lock);
    bool resuming = req->susp == WARD_HTTP_SUSP_RESUMING;
    pthread_mutex_unlock(&s->lock);
    if (resuming)
        return resumed(req);
    if (req->status)
        return MHD_YES;
    if (req->too_large) {
        ward_http_error(req, MHD_HTTP_CONTENT_TOO_LARGE,
                        "request body exceeds the limit of %zu bytes", s->cfg.max_body);
        return MHD_YES;
    }
    dispatch(req);
    return after_handler(req);
}

static const char *outcome_name(enum MHD_RequestTerminationCode toe)
{
    switch (toe) {
    case MHD_REQUEST_TERMINATED_COMPLETED_OK:
        return "ok";
    case MHD_REQUEST_TERMINATED_WITH_ERROR:
        return "error";
    case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED:
        return "timeout";
    case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN:
        return "shutdown";
    case MHD_REQUEST_TERMINATED_READ_ERROR:
        return "read_error";
    case MHD_REQUEST_TERMINATED_CLIENT_ABORT:
        return "client_abort";
    }
    return "unknown";
}

void ward_http_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                            enum MHD_RequestTerminationCode toe)
{
    struct ward_http_server *s = cls;
    struct ward_http_request *req = *con_cls;
    if (!req)
        return;
    *con_cls = NULL;

    int64_t duration = ward_mono_ns() - req->start_ns;
    size_t bytes_in = req->raw.len + req->discarded;
    const struct ward_route *route = req->match.route;
    struct ward_access_entry e = {
        .time_ms = req->start_ms,
        .request_id = req->request_id,
        .remote = req->remote,
        .method = req->method,
        .path = req->path,
        .route = route ? route->pattern : NULL,
        .status = req->status,
        .duration_ns = duration,
        .bytes_in = bytes_in,
        .bytes_out = req->response_bytes,
        .user_agent = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "User-Agent"),
        .outcome = outcome_name(toe),
    };
    int r = ward_access_log_write(&s->log, &e);
    if (r < 0 && !atomic_exchange(&s->log_failed, true))
        ward_log_warn(req->request_id,
                      "cannot write the access log; further failures are not logged", "error",
                      ward_strerror(r));
    if (s->cfg.on_complete)
        s->cfg.on_complete(route, req->method, req->status, duration, bytes_in, req->response_bytes,
                           s->cfg.app);

    if (req->ws) {
        /* Answered 101, but the client went away before MHD upgraded the connection. */
        ward_ws_hand_over(req->ws, -1, NULL, NULL, 0);
        req->ws = NULL;
    }

    pthread_mutex_lock(&s->lock);
    /*
     * A request still suspended here was resumed, but the client went away
     * (or MHD is stopping) before MHD called back: its callback has to run
     * all the same, detached.
     */
    bool run = false;
    if (req->susp != WARD_HTTP_SUSP_NONE) {
        list_remove(s, req);
        req->susp = WARD_HTTP_SUSP_NONE;
        run = !req->held;
    }
    req->detached = true;
    req->conn = NULL;
    ward_http_handler_fn fn = req->resume_fn;
    s->in_flight--;
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
    if (run)
        fn(req, s->cfg.app);
    request_unref(req);
}
