/*
 * HTTP/1.1 over blocking sockets for the benchmarks (see http-io.h).
 *
 * The load generators share the machine with the server they measure, so
 * they speak HTTP over plain sockets rather than through libcurl: a request
 * is built once and written whole, and an answer is read into one buffer
 * and parsed in place. Only what ward-server sends is understood: a
 * Content-Length body, never chunked, since the benchmarks post to ingest
 * and read its short JSON answers. An answer is read in full before the
 * next request goes out, and bytes past it stay in the buffer, so a
 * keep-alive connection stays in step even if the server sends more.
 *
 * Headers are found by a linear scan of the lines: a head is a few hundred
 * bytes and the callers look up a handful of headers in it, so there is
 * nothing to gain from indexing it first.
 */
#include "http-io.h"

#include "common/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define READ_CHUNK 16384

int ward_http_server_address(const char *program, const char *address, struct sockaddr_storage *out)
{
    struct ward_buf err = WARD_BUF_INIT;
    int r = ward_listen_address(address, out, &err);
    if (r < 0 || ((struct sockaddr_in *)out)->sin_port == 0) {
        fprintf(stderr, "%s: %s\n", program, err.data ? err.data : "the address needs a port");
        ward_buf_done(&err);
        return -EINVAL;
    }
    return 0;
}

int ward_http_connect(const struct sockaddr_storage *sa, int timeout_s)
{
    return ward_http_connect_from(sa, 0, timeout_s);
}

int ward_http_connect_from(const struct sockaddr_storage *sa, uint32_t source, int timeout_s)
{
    int fd = socket(sa->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    struct timeval tv = {.tv_sec = timeout_s};
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (source) {
        struct sockaddr_in src = {.sin_family = AF_INET,
                                  .sin_addr.s_addr = htonl(0x7f000000u | source)};
        if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0) {
            int err = -errno;
            close(fd);
            return err;
        }
    }
    socklen_t len =
        sa->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    if (connect(fd, (const struct sockaddr *)sa, len) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    return fd;
}

int ward_http_send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int ward_http_ingest_request(struct ward_buf *req, const char *host, const char *user_agent,
                             bool gzip, const char *token, const void *body, size_t n)
{
    int r = ward_buf_printf(req,
                            "POST /api/v1/ingest HTTP/1.1\r\n"
                            "Host: %s\r\n"
                            "User-Agent: %s\r\n"
                            "Content-Type: application/json\r\n"
                            "%s%s%s%s"
                            "Content-Length: %zu\r\n"
                            "\r\n",
                            host, user_agent, gzip ? "Content-Encoding: gzip\r\n" : "",
                            token ? "Authorization: Bearer " : "", token ? token : "",
                            token ? "\r\n" : "", n);
    if (r >= 0)
        r = ward_buf_reserve_exact(req, n);
    if (r < 0)
        return r;
    ward_buf_append_unchecked(req, body, n);
    return 0;
}

/*
 * Steps *at, within a head that ends at end, over one line: sets *line and
 * *len to it without its line end, or returns false when no whole line is
 * left.
 */
static bool next_line(const char **at, const char *end, const char **line, size_t *len)
{
    const char *p = *at;
    const char *eol = p && p < end ? memchr(p, '\n', (size_t)(end - p)) : NULL;
    if (!eol)
        return false;
    *line = p;
    *len = (size_t)(eol - p);
    if (*len > 0 && p[*len - 1] == '\r')
        (*len)--;
    *at = eol + 1;
    return true;
}

/* Whether line (len bytes) is header name (with its colon); sets the trimmed value if so. */
static bool header_is(const char *line, size_t len, const char *name, const char **value,
                      size_t *value_len)
{
    size_t n = strlen(name);
    if (len < n || strncasecmp(line, name, n) != 0)
        return false;
    const char *v = line + n, *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    *value = v;
    *value_len = (size_t)(end - v);
    return true;
}

/* The first line after the status line of the n bytes at head, or NULL. */
static const char *first_header(const char *head, size_t n)
{
    const char *p = memchr(head, '\n', n);
    return p ? p + 1 : NULL;
}

const char *ward_http_find_header(const char *head, size_t n, const char *name, size_t *len)
{
    const char *at = first_header(head, n), *end = head + n, *line, *v;
    size_t line_len;
    while (next_line(&at, end, &line, &line_len))
        if (header_is(line, line_len, name, &v, len))
            return v;
    return NULL;
}

/* Parses the n bytes at s as a decimal number without sign. */
static int parse_digits(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    if (n == 0 || n > 18)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return 0;
}

/* Parses the status line and headers (head bytes, up to the empty line). */
static int parse_head(const char *head, size_t n, struct ward_http_response *resp)
{
    uint64_t v;
    bool has_length = false;
    *resp = (struct ward_http_response){.head_len = n, .retry_after_ms = -1};
    if (n < 12 || memcmp(head, "HTTP/1.", 7) != 0 || head[8] != ' ' ||
        parse_digits(head + 9, 3, &v) < 0)
        return -EPROTO;
    resp->status = (unsigned)v;
    resp->close = head[7] == '0';
    const char *at = first_header(head, n), *end = head + n, *line, *val;
    size_t len, vlen;
    while (next_line(&at, end, &line, &len)) {
        if (header_is(line, len, "content-length:", &val, &vlen)) {
            if (parse_digits(val, vlen, &v) < 0 || v > WARD_HTTP_BODY_MAX)
                return -EPROTO;
            resp->content_length = (size_t)v;
            has_length = true;
        } else if (header_is(line, len, "retry-after:", &val, &vlen)) {
            /* Only delta-seconds; an HTTP date falls back to one second. */
            resp->retry_after_ms = parse_digits(val, vlen, &v) == 0 ? (int64_t)v * 1000 : 1000;
        } else if (header_is(line, len, "connection:", &val, &vlen)) {
            resp->close = vlen == 5 && strncasecmp(val, "close", 5) == 0;
        } else if (header_is(line, len, "transfer-encoding:", &val, &vlen)) {
            return -EPROTO; /* the server answers these requests with a Content-Length */
        }
    }
    if (!has_length && resp->status != 204 && resp->status != 304)
        return -EPROTO;
    return 0;
}

/* Appends what the socket has to in; the end of the stream is -ECONNRESET. */
static int read_more(int fd, struct ward_buf *in)
{
    int r = ward_buf_reserve(in, READ_CHUNK);
    if (r < 0)
        return r;
    ssize_t n;
    do
        n = recv(fd, in->data + in->len, READ_CHUNK, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EAGAIN ? -ETIMEDOUT : -errno;
    if (n == 0)
        return -ECONNRESET;
    in->len += (size_t)n;
    in->data[in->len] = '\0';
    return 0;
}

int ward_http_read_response(int fd, struct ward_buf *in, struct ward_http_response *resp)
{
    const char *eoh;
    size_t scanned = 0;
    int r;
    while (!(eoh = in->len ? memmem(in->data + scanned, in->len - scanned, "\r\n\r\n", 4) : NULL)) {
        if (in->len > WARD_HTTP_HEAD_MAX)
            return -EPROTO;
        scanned = in->len > 3 ? in->len - 3 : 0;
        r = read_more(fd, in);
        if (r < 0)
            return r;
    }
    struct ward_http_response a;
    r = parse_head(in->data, (size_t)(eoh - in->data) + 4, &a);
    if (r < 0)
        return r;
    while (in->len < a.head_len + a.content_length) {
        r = read_more(fd, in);
        if (r < 0)
            return r;
    }
    *resp = a;
    return 0;
}

int ward_http_parse_response(const char *data, size_t len, struct ward_http_response *resp)
{
    const char *eoh = len ? memmem(data, len, "\r\n\r\n", 4) : NULL;
    if (!eoh)
        return len > WARD_HTTP_HEAD_MAX ? -EPROTO : -EAGAIN;
    struct ward_http_response a;
    int r = parse_head(data, (size_t)(eoh - data) + 4, &a);
    if (r < 0)
        return r;
    if (len < a.head_len + a.content_length)
        return -EAGAIN;
    *resp = a;
    return 0;
}

void ward_http_drop_response(struct ward_buf *in, const struct ward_http_response *resp)
{
    size_t n = resp->head_len + resp->content_length;
    memmove(in->data, in->data + n, in->len - n + 1);
    in->len -= n;
}
