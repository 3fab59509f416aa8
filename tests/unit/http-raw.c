/*
 * A raw HTTP/1.1 client for the tests of the HTTP layer; see http-raw.h.
 *
 * It is deliberately naive: one request at a time, Content-Length bodies
 * only, a response head read one byte at a time. That last is what lets the
 * WebSocket tests read a 101 and then frames on the same socket, and what
 * lets a keep-alive test read responses back to back without a buffer that
 * could swallow the next one. The cost, a recv per byte of head, does not
 * matter on loopback.
 */
#include "http-raw.h"

#include "common/parse.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

struct ward_http_server *http_raw_start(const struct ward_http_config *cfg)
{
    struct ward_http_server *s = NULL;
    struct ward_buf err = WARD_BUF_INIT;
    int r = ward_http_start(cfg, &s, &err);
    if (r < 0)
        fprintf(stderr, "ward_http_start: %s\n", err.data ? err.data : "?");
    ward_buf_done(&err);
    assert_int_equal(r, 0);
    return s;
}

int http_raw_connect_rcvbuf(uint16_t port, int rcvbuf)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (rcvbuf > 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    struct timeval tv = {.tv_sec = HTTP_RAW_TIMEOUT_S};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

int http_raw_connect(uint16_t port)
{
    return http_raw_connect_rcvbuf(port, 0);
}

int http_raw_send(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int http_raw_send_str(int fd, const char *s)
{
    return http_raw_send(fd, s, strlen(s));
}

int http_raw_recv_exact(int fd, void *buf, size_t len)
{
    char *p = buf;
    while (len) {
        ssize_t n = recv(fd, p, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

bool http_raw_header(const struct http_raw_response *r, const char *name, char *out, size_t n)
{
    size_t nl = strlen(name);
    for (const char *p = strstr(r->head, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
        const char *h = p + 2;
        if (strncasecmp(h, name, nl) == 0 && h[nl] == ':') {
            const char *v = h + nl + 1;
            while (*v == ' ')
                v++;
            const char *e = strstr(v, "\r\n");
            size_t len = e ? (size_t)(e - v) : strlen(v);
            if (len >= n)
                len = n - 1;
            memcpy(out, v, len);
            out[len] = '\0';
            return true;
        }
    }
    return false;
}

int http_raw_read_response(int fd, struct http_raw_response *r, bool head_only)
{
    memset(r, 0, sizeof(*r));
    size_t n = 0;
    for (;;) {
        if (n == sizeof(r->head) - 1)
            return -1;
        if (http_raw_recv_exact(fd, r->head + n, 1) < 0)
            return -1;
        n++;
        if (n >= 4 && memcmp(r->head + n - 4, "\r\n\r\n", 4) == 0)
            break;
    }
    if (sscanf(r->head, "HTTP/1.%*d %d", &r->status) != 1)
        return -1;
    char cl[32];
    int64_t len = 0;
    if (http_raw_header(r, "Content-Length", cl, sizeof(cl)) &&
        ward_parse_int_range(cl, 0, HTTP_RAW_BODY_MAX, &len) < 0)
        return -1;
    r->body = calloc(1, (size_t)len + 1);
    if (!r->body)
        return -1;
    if (!head_only && len > 0) {
        if (http_raw_recv_exact(fd, r->body, (size_t)len) < 0)
            return -1;
        r->body_len = (size_t)len;
    }
    return 0;
}

void http_raw_response_done(struct http_raw_response *r)
{
    free(r->body);
    r->body = NULL;
}

bool http_raw_closed_by_peer(int fd)
{
    char c;
    ssize_t n = recv(fd, &c, 1, 0);
    return n == 0 || (n < 0 && (errno == ECONNRESET || errno == EPIPE));
}
