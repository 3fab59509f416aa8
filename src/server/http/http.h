/*
 * HTTP server plumbing on libmicrohttpd.
 *
 * Handlers see a request that is already complete: routed, with its body
 * read under a size limit and gzip-decoded under a second limit, and with a
 * request id. Each handler answers through exactly one ward_http_respond*()
 * call; a handler that forgets gets a 500. Errors are JSON bodies of the form
 * {"error": "...", "request_id": "..."}.
 *
 * Around the handlers the layer adds what every route needs: CORS for the
 * configured origins (and OPTIONS preflights), gzip of large responses when
 * the client accepts it, an access log of JSON lines, and hooks for response
 * headers and metrics. A handler that must wait for another thread (a group
 * commit, a long poll) suspends its request instead of blocking an HTTP
 * thread, and the other thread resumes it. Shutdown is graceful: stop
 * accepting, let in-flight requests finish, then answer what is still
 * suspended with 503.
 */
#ifndef WARD_HTTP_H
#define WARD_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "server/http/router.h"

#define WARD_HTTP_REQUEST_ID_MAX 64

/* Responses with a body this large or larger are gzipped for clients that accept it. */
#define WARD_HTTP_GZIP_MIN 1024

/* How long ward_http_stop() lets in-flight requests finish when nobody drained before. */
#define WARD_HTTP_STOP_DRAIN_MS 10000

struct ward_http_server;

/*
 * A check on a routed request whose body is complete but not yet decoded.
 * It returns 0 to let the request go on, or answers it (ward_http_error())
 * and returns a negative error to stop it there.
 */
typedef int (*ward_http_check_fn)(struct ward_http_request *req, void *app);

struct ward_http_config {
    const char *address;           /* "host:port", ":port" or "[v6]:port"; port 0 picks one */
    unsigned threads;              /* worker threads; 0 = number of CPUs */
    size_t max_body;               /* bytes on the wire, before decoding */
    size_t max_decoded_body;       /* bytes after gzip decoding */
    unsigned connection_timeout_s; /* idle connections are closed after this */
    unsigned max_connections;
    unsigned max_connections_per_ip; /* 0 = no limit per client address */
    const struct ward_route *routes;
    size_t n_routes;
    void *app; /* handed to every handler */
    /*
     * Runs before Content-Encoding is undone, so that a check of the bytes as
     * sent (a request signature) refuses a request before any decompression
     * work is spent on it. NULL for none.
     */
    ward_http_check_fn check_raw;
    /*
     * Origins whose browser requests may read the responses (CORS), such as
     * "https://dash.example.org"; "*" allows any origin. cors_origin_list
     * adds more from one comma-separated string (a configuration value).
     * Both may be empty; the server keeps its own copy.
     */
    const char *const *cors_origins;
    size_t n_cors_origins;
    const char *cors_origin_list;
    /*
     * Where the access log goes: NULL or "-" for stderr, "off" for nowhere,
     * else a file path opened for appending.
     */
    const char *access_log;
    /*
     * Called with the uncompressed body just before any response is queued,
     * on the thread that responds; it may add headers with
     * ward_http_add_header(). NULL for none.
     */
    void (*before_send)(struct ward_http_request *req, const void *body, size_t len, void *app);
    /*
     * Called once per finished request, after its response went out (or the
     * client went away), with the matched route or NULL and the body sizes
     * as received and as sent. For a WebSocket (status 101) that is when
     * the connection closed, and the duration is its lifetime. It runs on
     * an HTTP thread and must be quick. NULL for none.
     */
    void (*on_complete)(const struct ward_route *route, const char *method, unsigned status,
                        int64_t duration_ns, size_t bytes_in, size_t bytes_out, void *app);
    /*
     * How long ward_http_stop() lets in-flight requests finish before it
     * answers the suspended ones 503; 0 = WARD_HTTP_STOP_DRAIN_MS, below 0
     * no wait at all.
     */
    int64_t stop_drain_ms;
    /*
     * WebSockets (ws.h). ws_on_wake runs on the WebSocket thread after
     * ward_ws_wake(); NULL for none. ws_max_queue bounds the bytes queued
     * for sending per connection, ws_max_connections the WebSockets open at
     * once (they also count against max_connections and
     * max_connections_per_ip), ws_max_message the size of an incoming
     * message, and a peer that sends nothing for two ws_ping_interval_s is
     * closed. 0 takes the WARD_WS_DEFAULT_* of ws.h.
     */
    void (*ws_on_wake)(void *app);
    /* Runs on the WebSocket thread about every 250 ms while WebSockets are open; NULL for none. */
    void (*ws_on_tick)(void *app);
    size_t ws_max_queue;
    unsigned ws_max_connections;
    size_t ws_max_message;
    unsigned ws_ping_interval_s;
};

/*
 * Binds and starts serving. On failure returns a negative error and writes
 * a message into *err: -EADDRNOTAVAIL when the address cannot be bound,
 * -EINVAL for a bad address or CORS origin, WARD_E_LIMIT for more than
 * WARD_HTTP_MAX_ORIGINS origins, -errno when the access log cannot be
 * opened, -ENOMEM.
 */
int ward_http_start(const struct ward_http_config *cfg, struct ward_http_server **out,
                    struct ward_buf *err);

/* The port actually bound (useful with port 0). */
uint16_t ward_http_port(const struct ward_http_server *s);

/*
 * Stops taking new work: every request whose head arrives from now on is
 * answered 503 "server shutting down" with Retry-After, and every response carries
 * "Connection: close", so clients go away; requests already started run to
 * their end. Open WebSockets are sent a close frame 1001 (see ws.h). The
 * listening socket stays open until ward_http_stop(). Returns 0, also when
 * already quiesced.
 */
int ward_http_quiesce(struct ward_http_server *s);

/*
 * Waits until no request is in flight (from its headers arriving to its
 * response having gone out; a suspended request counts, and a WebSocket
 * until its connection closed) or until timeout_ms passed. Returns true when none is left, false on
 * timeout. Meant for after ward_http_quiesce(), else new requests may keep arriving.
 */
bool ward_http_drain(struct ward_http_server *s, int64_t timeout_ms);

/*
 * Shuts the server down and frees it. Accepts NULL. It quiesces and waits
 * up to stop_drain_ms for requests in flight (no wait when none is left),
 * then answers every request still suspended, and every new one, with 503
 * "server shutting down", closes the WebSockets still open (their on_close
 * has run when this returns), and stops. A suspended request whose owner has
 * not resumed it yet stays valid for that owner: its later
 * ward_http_resume() is safe, and runs its resume callback on the owner's
 * thread with responding disabled, so the callback can free what it holds.
 */
void ward_http_stop(struct ward_http_server *s);

/* Request accessors. Returned strings live as long as the request. */
const char *ward_http_method(const struct ward_http_request *req);
/* The path, percent-decoded, without the query string. */
const char *ward_http_path(const struct ward_http_request *req);
const char *ward_http_request_id(const struct ward_http_request *req);
/*
 * True when the client has closed its side of the connection (or the
 * request was detached). A request that waited suspended checks this
 * before it commits to an answer the client would never read.
 */
bool ward_http_peer_gone(const struct ward_http_request *req);

/*
 * The socket of req's connection, or -1 once detached: for watching it
 * while the request is suspended (a hang-up), never for reading or
 * writing, and never past the request's resume.
 */
int ward_http_fd(const struct ward_http_request *req);

/* The client's IP address as text ("192.0.2.1", "2001:db8::1"). */
const char *ward_http_remote(const struct ward_http_request *req);
/*
 * A request header (case-insensitive name), or NULL. Also NULL once the
 * request was detached from its connection (see ward_http_stop()).
 */
const char *ward_http_header(const struct ward_http_request *req, const char *name);
/* A query-string argument, or NULL. "?a" gives "" for a. NULL once detached. */
const char *ward_http_query(const struct ward_http_request *req, const char *name);
/*
 * Calls fn for every value of the query-string argument name, in request
 * order ("?a" gives "" for a). Returns 0, or the first negative value fn
 * returned, which stops the walk.
 */
int ward_http_query_each(const struct ward_http_request *req, const char *name,
                         int (*fn)(const char *value, void *userdata), void *userdata);
/* A {param} of the route, NUL-terminated copy, or NULL. */
const char *ward_http_param(const struct ward_http_request *req, const char *name);
/* The decoded body; never NULL (an empty body is ""), and NUL-terminated. */
const char *ward_http_body(const struct ward_http_request *req, size_t *len);
/* The body as received, before Content-Encoding is undone; never NULL. */
const char *ward_http_raw_body(const struct ward_http_request *req, size_t *len);
/* The route that matched the request (for a check_raw hook), or NULL. */
const struct ward_route *ward_http_route(const struct ward_http_request *req);

/*
 * Zeroed room of WARD_HTTP_AUTH_SIZE bytes (aligned for any type) in
 * which the check_raw hook records who the caller is, for the handler.
 */
#define WARD_HTTP_AUTH_SIZE 192
void *ward_http_auth(const struct ward_http_request *req);

/*
 * A pointer the handler keeps with the request, typically the state its
 * resume callback needs. The request never frees it. NULL until set.
 */
void ward_http_set_userdata(struct ward_http_request *req, void *data);
void *ward_http_userdata(const struct ward_http_request *req);

/* Headers a handler and the before_send hook may add to one response. */
#define WARD_HTTP_MAX_RESPONSE_HEADERS 16

/*
 * Adds a response header; call before responding. Returns 0, -ENOMEM, or
 * WARD_E_LIMIT when the request has WARD_HTTP_MAX_RESPONSE_HEADERS already.
 */
int ward_http_add_header(struct ward_http_request *req, const char *name, const char *value);

/*
 * Sends a response with a copy of body. Returns 0; -EALREADY if one was
 * sent; -EBUSY while the request is suspended; -ESHUTDOWN once the request
 * is detached from its connection; -ENOMEM; WARD_E_HTTP if the HTTP library
 * refused.
 */
int ward_http_respond(struct ward_http_request *req, unsigned status, const char *content_type,
                      const void *body, size_t len);

/* Sends body as the response, taking its storage; *body is left empty, also on failure. */
int ward_http_respond_buf(struct ward_http_request *req, unsigned status, const char *content_type,
                          struct ward_buf *body);

/* Sends {"error": MESSAGE, "request_id": ID} with status. */
int ward_http_error(struct ward_http_request *req, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Suspends req so another thread can finish the work: a handler (or a
 * resume callback) calls it before it hands req to that thread, then
 * returns without responding. The request keeps its body, params and
 * headers, holds no HTTP thread, and does not time out while suspended.
 *
 * The other thread calls ward_http_resume(req) exactly once, at any time
 * after this returned, even before the handler itself has returned. Then
 * resume(req, app) runs on an HTTP thread and must respond, or suspend
 * again. Between the two calls nothing but the accessors may be used on
 * req, from any thread; responding fails with -EBUSY. To back out (the
 * hand-off failed) the handler calls ward_http_resume() itself.
 *
 * If the client went away, or the server stopped, while the request was
 * suspended, resume still runs exactly once (possibly on the thread that
 * calls ward_http_resume()) with the request detached: responding fails
 * with -ESHUTDOWN, and the callback only has to free what it holds.
 */
void ward_http_suspend(struct ward_http_request *req, ward_http_handler_fn resume);

/* Resumes a suspended request; see ward_http_suspend(). Once per suspension. */
void ward_http_resume(struct ward_http_request *req);

#endif
