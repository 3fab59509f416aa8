/*
 * Internals of the HTTP layer, shared by its files and by nothing else:
 * the server and request structs, and what http-response.c offers http.c.
 *
 * Suspension state lives under the server's lock. A request moves through
 *
 *   NONE --suspend--> PENDING --handler returns--> PARKING --MHD--> PARKED
 *   PARKED --resume--> RESUMING --MHD calls back--> NONE (resume callback runs)
 *
 * and a resume that arrives while the request is PENDING or PARKING only
 * clears `held`; the HTTP thread sees that when the handler returns, or
 * right after MHD took the connection, and resumes it itself. So
 * MHD_resume_connection() is called only on a connection MHD has really
 * suspended, exactly once.
 *
 * A request struct is freed when its last reference goes: one belongs to
 * MHD (dropped when MHD reports the request finished), one to the owner of
 * a suspension (dropped by ward_http_resume()). A request the server gave
 * up on while its owner still held it (shutdown) lives on, detached from
 * its connection, until the owner resumes it; the server struct in turn
 * lives until its last request is freed.
 *
 * A request answered 101 (a WebSocket, ws.c) stays in flight until MHD
 * reports its upgraded connection closed, so that its access log line
 * shows the connection's lifetime; in between, req->ws holds the
 * connection until MHD hands over the socket, and the request is not
 * touched by anyone else.
 */
#ifndef WARD_HTTP_INTERNAL_H
#define WARD_HTTP_INTERNAL_H

#include "server/http/access-log.h"
#include "server/http/http-util.h"
#include "server/http/http.h"

#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

/* Longest method kept; a longer one matches no route. */
#define WARD_HTTP_METHOD_MAX 31

/* Room for the client address as text, an IPv6 one included. */
#define WARD_HTTP_REMOTE_MAX INET6_ADDRSTRLEN

enum ward_http_suspension {
    WARD_HTTP_SUSP_NONE,     /* not suspended */
    WARD_HTTP_SUSP_PENDING,  /* ward_http_suspend() called; the handler is still running */
    WARD_HTTP_SUSP_PARKING,  /* the handler returned; MHD_suspend_connection() in progress */
    WARD_HTTP_SUSP_PARKED,   /* MHD holds the connection suspended */
    WARD_HTTP_SUSP_RESUMING, /* MHD_resume_connection() called; waiting for MHD */
};

struct ward_ws;
struct ward_ws_hub;

struct ward_http_server {
    struct MHD_Daemon *daemon;
    struct ward_ws_hub *ws;      /* the WebSocket thread; NULL once stopped */
    struct ward_http_config cfg; /* the CORS fields are not used after start */
    uint16_t port;
    struct ward_http_origins origins;
    struct ward_access_log log;

    atomic_bool quiesced;   /* new requests get 503; responses carry Connection: close */
    atomic_bool stopping;   /* new and suspended requests get 503 */
    atomic_bool log_failed; /* an access log write failed; warned once */

    pthread_mutex_t lock;
    pthread_cond_t changed;              /* in_flight or n_suspended went down */
    size_t in_flight;                    /* requests MHD has not reported finished */
    size_t n_suspended;                  /* requests on the suspended list */
    size_t n_requests;                   /* request structs not yet freed */
    struct ward_http_request *suspended; /* every request in a suspension state */
    bool stopped;                        /* MHD is gone; the last request frees s */
};

struct ward_http_header {
    char *name;
    char *value;
};

struct ward_http_request {
    struct ward_http_server *server;
    struct MHD_Connection *conn; /* NULL once MHD reported the request finished */
    char method[WARD_HTTP_METHOD_MAX + 1];
    char *path;
    char request_id[WARD_HTTP_REQUEST_ID_MAX + 1];
    char remote[WARD_HTTP_REMOTE_MAX];
    int64_t start_ns;
    int64_t start_ms;

    struct ward_buf raw;     /* body as received */
    struct ward_buf decoded; /* body after Content-Encoding, when there was one */
    size_t discarded;        /* bytes dropped after the body went over its limit */
    bool too_large;
    bool after_quiesce; /* started once the server stopped taking work: refused with 503 */

    struct ward_route_match match;
    /* NUL-terminated copies of the route params, in match order. */
    char param_store[WARD_ROUTE_MAX_PATH + WARD_ROUTE_MAX_PARAMS];
    const char *param_values[WARD_ROUTE_MAX_PARAMS];

    struct ward_http_header headers[WARD_HTTP_MAX_RESPONSE_HEADERS];
    size_t n_headers;
    unsigned status; /* 0 until a response is queued */
    size_t response_bytes;
    void *userdata;
    _Alignas(max_align_t) unsigned char auth[WARD_HTTP_AUTH_SIZE];
    /* A WebSocket answered 101 whose socket MHD has not handed over yet (ws.c). */
    struct ward_ws *ws;

    /* Suspension; under server->lock except where http.c says otherwise. */
    enum ward_http_suspension susp;
    bool held;     /* the owner of a suspension has not resumed yet */
    bool detached; /* answered by the server or gone; responding is disabled */
    unsigned refs;
    ward_http_handler_fn resume_fn;
    struct ward_http_request *prev, *next; /* on server->suspended */
};

/* The access handler and the completion callback given to MHD (http.c). */
enum MHD_Result ward_http_on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                     const char *method, const char *version,
                                     const char *upload_data, size_t *upload_data_size,
                                     void **con_cls);
void ward_http_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                            enum MHD_RequestTerminationCode toe);

/* Frees a server whose daemon is gone and whose last request is freed (http-server.c). */
void ward_http_server_free(struct ward_http_server *s);

/*
 * Queues a response whose body MHD frees, taking ownership of data: runs
 * before_send, adds the request id, the handler's headers, CORS and
 * Connection: close as due, and gzips large bodies for clients that accept
 * it. Does not look at the suspension state. Returns 0, -EALREADY, -ENOMEM
 * or WARD_E_HTTP.
 */
int ward_http_queue(struct ward_http_request *req, unsigned status, const char *content_type,
                    char *data, size_t len);

/*
 * Whether a handler may respond now: 0, -ESHUTDOWN (detached), -EBUSY
 * (suspended) or -EALREADY.
 */
int ward_http_may_respond(const struct ward_http_request *req);

/*
 * Queues a 101 Switching Protocols whose socket MHD then hands to fn(cls,
 * ...): runs before_send with an empty body and adds the request id and
 * the handler's headers (Upgrade and the like). Returns 0, or an error of
 * ward_http_may_respond(), -ENOMEM or WARD_E_HTTP.
 */
int ward_http_queue_upgrade(struct ward_http_request *req, MHD_UpgradeHandler fn, void *cls);

/*
 * ward_http_error() without the suspension checks, for the server's own
 * answers to requests that are suspended or detached.
 */
int ward_http_send_error(struct ward_http_request *req, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Answers an OPTIONS request for a known path: 204 with Allow, and CORS preflight headers. */
int ward_http_preflight(struct ward_http_request *req, const char *allow);

#endif
