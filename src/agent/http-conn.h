/*
 * One client connection for the agent's HTTP client: TCP, optionally with
 * TLS (OpenSSL), and reads and writes that never wait past a deadline.
 */
#ifndef WARD_HTTP_CONN_H
#define WARD_HTTP_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/buf.h"

struct ward_http_conn;

/* TLS settings shared by every connection of one client (an SSL_CTX). */
struct ward_tls;

/*
 * Creates TLS settings: TLS 1.2 or later, peers verified against ca_file
 * (PEM) or, when ca_file is NULL or empty, the system's CA store. Returns 0,
 * or WARD_E_HTTP with a message in err (an unreadable or invalid CA file).
 */
int ward_tls_new(const char *ca_file, struct ward_tls **out, struct ward_buf *err);

/* Frees TLS settings. Accepts NULL. */
void ward_tls_free(struct ward_tls *tls);

/*
 * Resolves host and connects to port, trying each address in turn for at
 * most connect_timeout_ms (and not past deadline, monotonic ms); with tls,
 * then runs the TLS handshake (SNI and certificate name checked against
 * host) until deadline; timeout_ms is the whole budget, for messages. Returns
 * 0, -ENOMEM, or WARD_E_HTTP with a message in err ("connect to
 * 127.0.0.1:1: Connection refused", "TLS: certificate verify failed: ...",
 * "timeout after N ms").
 */
int ward_http_conn_open(const char *host, const char *port, struct ward_tls *tls,
                        int64_t connect_timeout_ms, int64_t deadline, int64_t timeout_ms,
                        struct ward_http_conn **out, struct ward_buf *err);

/* Closes the connection and frees it. Accepts NULL. */
void ward_http_conn_free(struct ward_http_conn *c);

/*
 * Writes all n bytes before deadline. Returns 0, or WARD_E_HTTP with a
 * message in err; *reset (when not NULL) is set when the peer had closed
 * the connection (EPIPE, ECONNRESET).
 */
int ward_http_conn_write(struct ward_http_conn *c, const void *p, size_t n, int64_t deadline,
                         int64_t timeout_ms, bool *reset, struct ward_buf *err);

/*
 * Reads up to n bytes before deadline. Returns the number read, 0 at the
 * end of the stream, or WARD_E_HTTP with a message in err (a reset counts
 * as the end of the stream).
 */
ssize_t ward_http_conn_read(struct ward_http_conn *c, void *p, size_t n, int64_t deadline,
                            int64_t timeout_ms, struct ward_buf *err);

/*
 * True when an idle connection can no longer be used: the peer closed it or
 * sent something unasked. Does not wait.
 */
bool ward_http_conn_stale(struct ward_http_conn *c);

/*
 * Makes every later wait on a connection by the calling thread end early,
 * failing with WARD_E_HTTP ("interrupted"), once fd is readable: another
 * thread writes to it (an eventfd) to stop this one promptly, even in a
 * long-poll. -1 for none.
 */
void ward_http_conn_set_interrupt(int fd);

#endif
