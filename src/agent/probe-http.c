/*
 * The HTTP probe: GET one http:// URL and read the response head.
 *
 * The agent's own HTTP client (http-client.c) only POSTs, and each request
 * blocks its caller until its deadline, which would make a round of probes
 * last the sum of their timeouts; so this probe is a small state machine
 * on the shared poll loop instead: connect (probe-tcp.c), send a fixed
 * request with "Connection: close", read the head, close. The body is
 * never read. There is no TLS: https:// targets are refused when the spec
 * is checked.
 *
 * The head is scanned as it arrives, byte by byte, without being kept: the
 * start of the first line is kept for its status code, and a blank line
 * (CRLF or bare LF) ends it. Interim 1xx heads are skipped. At most
 * HEAD_MAX bytes of heads are read; a longer head fails the probe. The
 * latency runs from the start of the successful connect to the end of the
 * final head. 2xx and 3xx are up (a redirect means the server answers);
 * anything else is down with WARD_E_HTTP and its status.
 */
#include "agent/probe-internal.h"

#include "common/error.h"
#include "ward-version.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* Bytes of response heads read at most, as in the agent's HTTP client. */
#define HEAD_MAX (16 * 1024)

/* Parses "HTTP/d.d SSS[ reason]" into the status, or returns -1. */
static int parse_status(const char *s, size_t n)
{
    if (n < 12 || memcmp(s, "HTTP/", 5) != 0 || s[5] < '0' || s[5] > '9' || s[6] != '.' ||
        s[7] < '0' || s[7] > '9' || s[8] != ' ' || (n > 12 && s[12] != ' '))
        return -1;
    int code = 0;
    for (size_t i = 9; i < 12; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        code = code * 10 + (s[i] - '0');
    }
    return code >= 100 && code <= 599 ? code : -1;
}

/* A head ended. Returns true when it was the final one and the probe is over. */
static bool head_end(struct ward_probe_op *op, int64_t now)
{
    struct ward_probe_conn *c = &op->u.conn;
    int code = parse_status(c->status_line, c->status_len);
    if (code >= 100 && code < 200) {
        c->first_line = true;
        c->status_len = 0;
        return false;
    }
    if (code < 0) {
        ward_probe_finish(op, false, WARD_E_HTTP);
        return true;
    }
    bool up = code < 400;
    op->res.status_code = code;
    op->res.latency_ms = ward_probe_ms(c->connect_ns, now);
    ward_probe_finish(op, up, WARD_E_HTTP);
    return true;
}

/* Scans n received bytes of the head. Returns true when the probe is over. */
static bool scan(struct ward_probe_op *op, const char *p, size_t n, int64_t now)
{
    struct ward_probe_conn *c = &op->u.conn;
    for (size_t i = 0; i < n; i++) {
        char ch = p[i];
        if (++c->head_bytes > HEAD_MAX) {
            ward_probe_finish(op, false, -EMSGSIZE);
            return true;
        }
        if (ch == '\r')
            continue;
        if (ch != '\n') {
            if (c->first_line && c->status_len < sizeof(c->status_line))
                c->status_line[c->status_len++] = ch;
            c->line_len++;
            continue;
        }
        bool blank = c->line_len == 0 && !c->first_line;
        c->first_line = false;
        c->line_len = 0;
        if (blank && head_end(op, now))
            return true;
    }
    return false;
}

static void receive(struct ward_probe_op *op, int64_t now)
{
    char buf[2048];
    for (;;) {
        ssize_t n = recv(op->fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            /* Closed or reset before the end of the head. */
            ward_probe_finish(op, false, n < 0 ? -errno : -ECONNRESET);
            return;
        }
        if (scan(op, buf, (size_t)n, now))
            return;
    }
}

static void send_request(struct ward_probe_op *op)
{
    struct ward_probe_conn *c = &op->u.conn;
    while (c->req_sent < c->req_len) {
        ssize_t w = send(op->fd, c->request + c->req_sent, c->req_len - c->req_sent,
                         MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (w < 0) {
            ward_probe_finish(op, false, -errno);
            return;
        }
        c->req_sent += (size_t)w;
    }
    op->events = POLLIN;
}

/* Goes on after a connect step that returned r. */
static void settle(struct ward_probe_op *op, int r)
{
    if (r < 0) {
        ward_probe_finish(op, false, r);
    } else if (r == 1) {
        op->u.conn.connected = true;
        op->events = POLLOUT;
        send_request(op);
    }
}

static void http_start(struct ward_probe_op *op, int64_t now)
{
    struct ward_probe_conn *c = &op->u.conn;
    int n = snprintf(c->request, sizeof(c->request),
                     "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: ward-agent/" WARD_VERSION
                     "\r\nAccept: */*\r\nConnection: close\r\n\r\n",
                     op->target.path, op->target.authority);
    if (n < 0 || (size_t)n >= sizeof(c->request)) {
        ward_probe_finish(op, false, -ENAMETOOLONG);
        return;
    }
    c->req_len = (size_t)n;
    c->first_line = true;
    settle(op, ward_probe_connect(op, now, -ENXIO));
}

static void http_ready(struct ward_probe_op *op, short revents, int64_t now)
{
    (void)revents;
    struct ward_probe_conn *c = &op->u.conn;
    if (!c->connected)
        settle(op, ward_probe_connected(op, now));
    else if (c->req_sent < c->req_len)
        send_request(op);
    else
        receive(op, now);
}

static void http_expire(struct ward_probe_op *op)
{
    ward_probe_finish(op, false, -ETIMEDOUT);
}

const struct ward_probe_kind ward_probe_kind_http = {
    .socktype = SOCK_STREAM,
    .start = http_start,
    .ready = http_ready,
    .expire = http_expire,
};
