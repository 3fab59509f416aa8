/*
 * The little HTTP/1.1 the benchmarks speak over plain sockets: the server's
 * address, a blocking connection to it, a POST /api/v1/ingest request, sending it
 * whole, reading one whole answer (head and Content-Length body) or parsing
 * one that a caller read itself from a non-blocking socket, and finding a
 * header in a response head. bench-ingest and the paced ingest of
 * bench-stream post batches with it; the WebSocket client of bench-stream
 * checks its handshake answer with the header lookup; bench-commands
 * parses the answers on its long-polls in place.
 */
#ifndef WARD_BENCH_HTTP_IO_H
#define WARD_BENCH_HTTP_IO_H

#include "common/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Bytes of a response head (status line and headers) beyond which an answer is refused. */
#define WARD_HTTP_HEAD_MAX 16384

/* The largest Content-Length accepted in an answer. */
#define WARD_HTTP_BODY_MAX (1u << 20)

/* What ward_http_read_response() found in the head of one answer. */
struct ward_http_response {
    unsigned status;
    size_t head_len;        /* bytes of the status line and headers, blank line included */
    size_t content_length;  /* bytes of the body, which follows the head */
    int64_t retry_after_ms; /* -1 when absent; an HTTP date reads as one second */
    bool close;             /* HTTP/1.0 or "Connection: close": the server ends the connection */
};

/*
 * Resolves the server address of a benchmark's -c option, HOST:PORT or
 * [V6]:PORT, into *out. A port is required. On failure prints why to
 * stderr, after "program: ", and returns -EINVAL.
 */
int ward_http_server_address(const char *program, const char *address,
                             struct sockaddr_storage *out);

/*
 * Opens a blocking TCP connection to sa with Nagle off and send and receive
 * timeouts of timeout_s seconds. Returns the descriptor (O_CLOEXEC), which
 * the caller closes, or -errno.
 */
int ward_http_connect(const struct sockaddr_storage *sa, int timeout_s);

/*
 * ward_http_connect() from the IPv4 loopback address 127.0.0.0 + source
 * (which must be below 2^24), or from any address when source is 0: a
 * server that limits each address sees many clients.
 */
int ward_http_connect_from(const struct sockaddr_storage *sa, uint32_t source, int timeout_s);

/* Writes the n bytes at p to fd, through short writes and EINTR. Returns 0 or -errno. */
int ward_http_send_all(int fd, const char *p, size_t n);

/*
 * Appends to req a whole POST /api/v1/ingest request: the head, with Host
 * host, User-Agent user_agent, Content-Encoding gzip when gzip is set and
 * "Authorization: Bearer token" when token is not NULL, then the n bytes of
 * body. The body's room is reserved exactly, so that many prebuilt requests
 * hold no slack. Returns 0, -ENOMEM or WARD_E_LIMIT.
 */
int ward_http_ingest_request(struct ward_buf *req, const char *host, const char *user_agent,
                             bool gzip, const char *token, const void *body, size_t n);

/*
 * Reads one whole answer from fd into in, after whatever in holds already
 * (the start of it, left by an earlier call). The answer must carry a
 * Content-Length of at most WARD_HTTP_BODY_MAX (none only for 204 and 304)
 * and no Transfer-Encoding, and its head must end within
 * WARD_HTTP_HEAD_MAX bytes. On success the answer fills the first
 * resp->head_len + resp->content_length bytes of in, and any bytes after
 * it belong to the next one; ward_http_drop_response() removes it. Returns
 * 0, -EPROTO for an answer outside those bounds, -ETIMEDOUT when the socket
 * timeout ran out, -ECONNRESET when the server closed the connection, or
 * another -errno; resp is written only on success.
 */
int ward_http_read_response(int fd, struct ward_buf *in, struct ward_http_response *resp);

/*
 * Parses the answer at the front of the len bytes at data without reading
 * anything, for a caller that reads a non-blocking socket itself. The same
 * bounds as ward_http_read_response() hold. Returns 0 when a whole answer
 * (head and body) is there, and fills resp as that function does; -EAGAIN
 * when more bytes are needed; -EPROTO for an answer outside the bounds.
 * resp is written only on success.
 */
int ward_http_parse_response(const char *data, size_t len, struct ward_http_response *resp);

/* Removes the answer resp, as read by ward_http_read_response(), from the front of in. */
void ward_http_drop_response(struct ward_buf *in, const struct ward_http_response *resp);

/*
 * Finds header name in the n bytes of head, after its status line. name is
 * lower case and ends with the colon ("content-length:"); the match ignores
 * case. Returns the value with surrounding blanks trimmed and sets *len to
 * its length, or returns NULL (*len untouched). The value points into head.
 */
const char *ward_http_find_header(const char *head, size_t n, const char *name, size_t *len);

#endif
