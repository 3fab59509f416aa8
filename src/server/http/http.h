/*
 * HTTP server plumbing on libmicrohttpd.
 *
 * Handlers see a request that is already complete: routed, with its body
 * read under a size limit and gzip-decoded under a second limit, and with a
 * request id. Each handler answers through exactly one ward_http_respond*()
 * call; a handler that forgets gets a 500. Errors are JSON bodies of the form
 * {"error": "...", "request_id": "..."}.
 */
#ifndef WARD_HTTP_H
#define WARD_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "server/http/router.h"

#define WARD_HTTP_REQUEST_ID_MAX 64

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
    const struct ward_route *routes;
    size_t n_routes;
    void *app; /* handed to every handler */
    /*
     * Runs before Content-Encoding is undone, so that a check of the bytes as
     * sent (a request signature) refuses a request before any decompression
     * work is spent on it. NULL for none.
     */
    ward_http_check_fn check_raw;
};

/*
 * Binds and starts serving. On failure returns a negative error and writes
 * a message into *err.
 */
int ward_http_start(const struct ward_http_config *cfg, struct ward_http_server **out,
                    struct ward_buf *err);

/* The port actually bound (useful with port 0). */
uint16_t ward_http_port(const struct ward_http_server *s);

/* Stops accepting, finishes in-flight requests and frees the server. Accepts NULL. */
void ward_http_stop(struct ward_http_server *s);

/* Request accessors. Returned strings live as long as the request. */
const char *ward_http_method(const struct ward_http_request *req);
const char *ward_http_path(const struct ward_http_request *req);
const char *ward_http_request_id(const struct ward_http_request *req);
/* A request header (case-insensitive name), or NULL. */
const char *ward_http_header(const struct ward_http_request *req, const char *name);
/* A query-string argument, or NULL. "?a" gives "" for a. */
const char *ward_http_query(const struct ward_http_request *req, const char *name);
/* A {param} of the route, NUL-terminated copy, or NULL. */
const char *ward_http_param(const struct ward_http_request *req, const char *name);
/* The decoded body; never NULL (an empty body is ""), and NUL-terminated. */
const char *ward_http_body(const struct ward_http_request *req, size_t *len);
/* The body as received, before Content-Encoding is undone; never NULL. */
const char *ward_http_raw_body(const struct ward_http_request *req, size_t *len);
/* The route that matched the request (for a check_raw hook). */
const struct ward_route *ward_http_route(const struct ward_http_request *req);

/* Adds a response header; call before responding. Returns 0 or -ENOMEM. */
int ward_http_add_header(struct ward_http_request *req, const char *name, const char *value);

/* Sends a response with a copy of body. Returns 0, or -EALREADY if one was sent. */
int ward_http_respond(struct ward_http_request *req, unsigned status, const char *content_type,
                      const void *body, size_t len);

/* Sends body as the response, taking its storage; *body is left empty. */
int ward_http_respond_buf(struct ward_http_request *req, unsigned status, const char *content_type,
                          struct ward_buf *body);

/* Sends {"error": MESSAGE, "request_id": ID} with status. */
int ward_http_error(struct ward_http_request *req, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
