/*
 * A raw HTTP/1.1 client for the tests of the HTTP layer: it starts
 * ward_http on a loopback port and talks to it over plain sockets, so that
 * what a test checks is what a client sees on the wire.
 *
 * The client functions never assert: they return -1 on failure, so worker
 * threads may call them and count failures. Only http_raw_start() fails the
 * test itself, and belongs to the main thread.
 */
#ifndef WARD_TEST_HTTP_RAW_H
#define WARD_TEST_HTTP_RAW_H

#include "server/http/http.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Send and receive timeout of every socket, only so that a bug fails instead of hanging. */
#define HTTP_RAW_TIMEOUT_S 60

/* The largest response head, and body, that http_raw_read_response() accepts. */
#define HTTP_RAW_HEAD_MAX 8192
#define HTTP_RAW_BODY_MAX (1 << 20)

/*
 * Starts ward_http with cfg (whose address is usually 127.0.0.1:0). A
 * failure prints the server's message and fails the test. The caller stops
 * the server with ward_http_stop().
 */
struct ward_http_server *http_raw_start(const struct ward_http_config *cfg);

/*
 * Connects to 127.0.0.1:port, with the timeouts above and TCP_NODELAY.
 * Returns the socket, or -1 with errno set.
 */
int http_raw_connect(uint16_t port);

/*
 * The same with a receive buffer of rcvbuf bytes, set before connecting so
 * that the window the server sees is small from the start; 0 keeps the
 * system's default.
 */
int http_raw_connect_rcvbuf(uint16_t port, int rcvbuf);

/* Sends the len bytes at data, or the string s. Returns 0, or -1 when the connection failed. */
int http_raw_send(int fd, const void *data, size_t len);
int http_raw_send_str(int fd, const char *s);

/* Receives exactly len bytes into buf. Returns 0, or -1 on EOF or an error first. */
int http_raw_recv_exact(int fd, void *buf, size_t len);

/* One response. The caller frees it with http_raw_response_done(). */
struct http_raw_response {
    int status;
    char head[HTTP_RAW_HEAD_MAX]; /* status line and headers, up to the blank line */
    char *body;                   /* NUL-terminated; not NULL after a successful read */
    size_t body_len;
};

/*
 * Reads one response: its head byte by byte, so that no byte of what
 * follows (a next response, WebSocket frames) is taken, then Content-Length
 * bytes of body unless head_only (the answer to a HEAD request). Overwrites
 * all of r. Returns 0, or -1 when the connection closed or failed first or
 * the response was malformed or over the bounds above; r->body may then be
 * set, and http_raw_response_done() is still due.
 */
int http_raw_read_response(int fd, struct http_raw_response *r, bool head_only);

/* Frees the body of r; r may be read into again. */
void http_raw_response_done(struct http_raw_response *r);

/*
 * Finds the header name (case-insensitive) in the head of r and copies its
 * value, cut to n - 1 bytes, into out. Returns false when it is absent.
 */
bool http_raw_header(const struct http_raw_response *r, const char *name, char *out, size_t n);

/* True when the peer closed the connection: recv sees EOF or a reset before any byte. */
bool http_raw_closed_by_peer(int fd);

#endif
