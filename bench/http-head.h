/*
 * The little HTTP/1.1 the stream bench reads: header lookup in a response
 * head, for the answers to its ingest requests and to its WebSocket
 * handshakes.
 */
#ifndef WARD_BENCH_HTTP_HEAD_H
#define WARD_BENCH_HTTP_HEAD_H

#include <stddef.h>

/* Bytes of a response head (status line and headers) beyond which an answer is refused. */
#define WARD_HTTP_HEAD_MAX 16384

/*
 * Finds header name in the n bytes of head, after its status line. name is
 * lower case and ends with the colon ("content-length:"); the match ignores
 * case. Returns the value with surrounding blanks trimmed and sets *len to
 * its length, or returns NULL (*len untouched). The value points into head.
 */
const char *ward_http_find_header(const char *head, size_t n, const char *name, size_t *len);

#endif
