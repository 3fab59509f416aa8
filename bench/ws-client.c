/*
 * A minimal WebSocket client (see ws-client.h), written against RFC 6455
 * and nothing else.
 *
 * Each client is a small state machine driven by epoll: CONNECTING until a
 * non-blocking connect() completes, HANDSHAKE until the 101 answer with the
 * right Sec-WebSocket-Accept, OPEN while frames flow, CLOSING once a close
 * frame went either way, DONE when the socket is closed. Reads go into one
 * growing buffer per client and frames are parsed from it in place; only a
 * fragmented message is copied, into a second buffer, so that a handler
 * always sees a whole message in one piece. Writes are queued in a third
 * buffer and flushed as far as the socket takes them, with EPOLLOUT asked
 * for only while something is left, so that an idle client costs no
 * wake-ups. Incoming frames and messages are bounded (FRAME_MAX), as is the
 * handshake answer (WARD_HTTP_HEAD_MAX).
 */
#include "ws-client.h"

#include "common/crypto.h"
#include "common/time-util.h"

#include "http-io.h"
#include "latency.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define FRAME_MAX  (64u << 20) /* bytes of one incoming frame or message */
#define READ_CHUNK (256u << 10)
#define WS_GUID    "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

void ward_ws_fail(struct ward_ws_loop *l, struct ward_ws_client *c, const char *fmt,
                  const char *detail)
{
    if (!c->failure[0])
        snprintf(c->failure, sizeof(c->failure), fmt, detail);
    if (c->fd >= 0) {
        epoll_ctl(l->epfd, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
        c->fd = -1;
    }
    if (c->state != WARD_WS_DONE)
        atomic_fetch_add(&l->failed, 1);
    c->state = WARD_WS_DONE;
}

void ward_ws_finish(struct ward_ws_loop *l, struct ward_ws_client *c)
{
    if (c->fd >= 0) {
        epoll_ctl(l->epfd, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
        c->fd = -1;
    }
    c->state = WARD_WS_DONE;
}

static void set_events(struct ward_ws_loop *l, struct ward_ws_client *c, bool out)
{
    if (c->fd < 0 || out == c->want_out)
        return;
    struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(l->epfd, EPOLL_CTL_MOD, c->fd, &ev);
    c->want_out = out;
}

/* Writes what c has queued as far as the socket takes it. */
static void flush_out(struct ward_ws_loop *l, struct ward_ws_client *c)
{
    while (c->fd >= 0 && c->out_off < c->out.len) {
        ssize_t w = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN) {
            set_events(l, c, true);
            return;
        }
        if (w < 0) {
            ward_ws_fail(l, c, "send: %s", strerror(errno));
            return;
        }
        c->out_off += (size_t)w;
    }
    ward_buf_reset(&c->out);
    c->out_off = 0;
    set_events(l, c, false);
}

/* Queues one masked frame (client to server frames must be masked, RFC 6455 5.3). */
static int queue_frame(struct ward_ws_client *c, int opcode, const void *payload, size_t n)
{
    uint8_t head[14], mask[4];
    size_t k = 0;
    head[k++] = (uint8_t)(0x80 | opcode);
    if (n < 126) {
        head[k++] = (uint8_t)(0x80 | n);
    } else if (n < 65536) {
        head[k++] = 0x80 | 126;
        head[k++] = (uint8_t)(n >> 8);
        head[k++] = (uint8_t)n;
    } else {
        head[k++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            head[k++] = (uint8_t)((uint64_t)n >> (8 * i));
    }
    int r = ward_random_bytes(mask, sizeof(mask));
    if (r < 0)
        return r;
    memcpy(head + k, mask, 4);
    k += 4;
    r = ward_buf_reserve(&c->out, k + n);
    if (r < 0)
        return r;
    ward_buf_append_unchecked(&c->out, head, k);
    uint8_t *dst = (uint8_t *)c->out.data + c->out.len;
    for (size_t i = 0; i < n; i++)
        dst[i] = ((const uint8_t *)payload)[i] ^ mask[i & 3];
    c->out.len += n;
    c->out.data[c->out.len] = '\0';
    return 0;
}

int ward_ws_send_text(struct ward_ws_loop *l, struct ward_ws_client *c, const char *p, size_t n)
{
    int r = queue_frame(c, 1, p, n);
    if (r == 0)
        flush_out(l, c);
    return r;
}

static void queue_close(struct ward_ws_loop *l, struct ward_ws_client *c, int code)
{
    uint8_t p[2] = {(uint8_t)(code >> 8), (uint8_t)code};
    if (c->sent_close)
        return;
    c->sent_close = true;
    if (queue_frame(c, 8, p, sizeof(p)) < 0)
        ward_ws_fail(l, c, "%s", "cannot queue a close frame");
    else
        flush_out(l, c);
}

void ward_ws_close(struct ward_ws_loop *l, struct ward_ws_client *c, int code)
{
    queue_close(l, c, code);
    c->state = WARD_WS_CLOSING;
}

/* Checks the 101 answer in c->in; returns the bytes of its head, 0 for more, -1 on failure. */
static long check_handshake(struct ward_ws_loop *l, struct ward_ws_client *c)
{
    const char *d = c->in.data;
    const char *eoh = memmem(d, c->in.len, "\r\n\r\n", 4);
    if (!eoh) {
        if (c->in.len > WARD_HTTP_HEAD_MAX)
            ward_ws_fail(l, c, "%s", "handshake answer too long");
        return c->in.len > WARD_HTTP_HEAD_MAX ? -1 : 0;
    }
    size_t head = (size_t)(eoh - d) + 4, vlen;
    if (head < 12 || memcmp(d, "HTTP/1.1 101", 12) != 0) {
        char line[80];
        const char *eol = memchr(d, '\r', head);
        size_t n = eol ? (size_t)(eol - d) : head;
        snprintf(line, sizeof(line), "%.*s", (int)(n < 79 ? n : 79), d);
        ward_ws_fail(l, c, "handshake refused: %s", line);
        return -1;
    }
    const char *v = ward_http_find_header(d, head, "sec-websocket-accept:", &vlen);
    if (!v || vlen != strlen(c->accept) || memcmp(v, c->accept, vlen) != 0) {
        ward_ws_fail(l, c, "%s", "handshake: wrong or missing Sec-WebSocket-Accept");
        return -1;
    }
    return (long)head;
}

static void on_message(struct ward_ws_loop *l, struct ward_ws_client *c, const char *p, size_t len,
                       int64_t now)
{
    if (l->handler->message)
        l->handler->message(l, c, p, len, now);
}

/* Parses every complete frame in c->in; now is when its last bytes were read. */
static void parse_frames(struct ward_ws_loop *l, struct ward_ws_client *c, int64_t now)
{
    while (c->state == WARD_WS_OPEN || c->state == WARD_WS_CLOSING) {
        const uint8_t *p = (const uint8_t *)c->in.data + c->in_off;
        size_t avail = c->in.len - c->in_off;
        if (avail < 2)
            break;
        bool fin = p[0] & 0x80;
        int op = p[0] & 0x0f;
        if (p[1] & 0x80) {
            ward_ws_fail(l, c, "%s", "protocol: the server masked a frame");
            return;
        }
        uint64_t n = p[1] & 0x7f;
        size_t hl = 2;
        if (n == 126) {
            if (avail < 4)
                break;
            n = (uint64_t)p[2] << 8 | p[3];
            hl = 4;
        } else if (n == 127) {
            if (avail < 10)
                break;
            n = 0;
            for (int i = 0; i < 8; i++)
                n = n << 8 | p[2 + i];
            hl = 10;
        }
        if (n > FRAME_MAX) {
            ward_ws_fail(l, c, "%s", "protocol: frame over 64 MB");
            return;
        }
        if (avail < hl + n)
            break;
        const char *payload = (const char *)p + hl;
        c->in_off += hl + (size_t)n;
        switch (op) {
        case 1: /* text */
        case 0: /* continuation */
            if (op == 1 && fin && !c->in_frag) {
                on_message(l, c, payload, (size_t)n, now);
                break;
            }
            if ((op == 1) == c->in_frag || c->frag.len + n > FRAME_MAX) {
                ward_ws_fail(l, c, "%s", "protocol: bad fragmentation");
                return;
            }
            c->in_frag = true;
            if (ward_buf_append(&c->frag, payload, (size_t)n) < 0) {
                ward_ws_fail(l, c, "%s", "out of memory");
                return;
            }
            if (fin) {
                on_message(l, c, c->frag.data, c->frag.len, now);
                ward_buf_reset(&c->frag);
                c->in_frag = false;
            }
            break;
        case 8: /* close */
            if (!c->sent_close)
                c->closed_by_server = true;
            c->close_code = n >= 2 ? ((uint8_t)payload[0] << 8 | (uint8_t)payload[1]) : 1005;
            if (n > 2)
                snprintf(c->close_reason, sizeof(c->close_reason), "%.*s",
                         (int)(n - 2 < 63 ? n - 2 : 63), payload + 2);
            ward_ws_close(l, c, n >= 2 ? c->close_code : 1000);
            break;
        case 9: /* ping */
            if (n > 125 || queue_frame(c, 10, payload, (size_t)n) < 0) {
                ward_ws_fail(l, c, "%s", "protocol: bad ping");
                return;
            }
            flush_out(l, c);
            break;
        case 10: /* pong */
            break;
        default:
            ward_ws_fail(l, c, "%s", "protocol: binary or unknown frame");
            return;
        }
    }
    if (c->in_off) {
        memmove(c->in.data, c->in.data + c->in_off, c->in.len - c->in_off + 1);
        c->in.len -= c->in_off;
        c->in_off = 0;
    }
}

static void on_readable(struct ward_ws_loop *l, struct ward_ws_client *c)
{
    if (ward_buf_reserve(&c->in, READ_CHUNK) < 0) {
        ward_ws_fail(l, c, "%s", "out of memory");
        return;
    }
    ssize_t n = recv(c->fd, c->in.data + c->in.len, READ_CHUNK, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        if (c->state == WARD_WS_CLOSING) {
            ward_ws_finish(l, c);
        } else if (c->state == WARD_WS_OPEN) {
            c->lost = true;
            ward_ws_finish(l, c);
        } else {
            ward_ws_fail(l, c, "connection ended during the handshake%s", n < 0 ? " (error)" : "");
        }
        return;
    }
    int64_t now = ward_now_ms();
    c->in.len += (size_t)n;
    c->in.data[c->in.len] = '\0';
    if (c->state == WARD_WS_HANDSHAKE) {
        long head = check_handshake(l, c);
        if (head <= 0)
            return;
        c->in_off = (size_t)head;
        c->state = WARD_WS_OPEN;
        if (l->handler->open)
            l->handler->open(l, c);
    }
    parse_frames(l, c, now);
}

/* The socket of c connected (or failed to): send the upgrade request queued by the start. */
static void on_connected(struct ward_ws_loop *l, struct ward_ws_client *c)
{
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err) {
        ward_ws_fail(l, c, "cannot connect: %s", strerror(err));
        return;
    }
    c->state = WARD_WS_HANDSHAKE;
    flush_out(l, c);
}

/* Makes c's key and the Sec-WebSocket-Accept the server must answer with. */
static int make_key(struct ward_ws_client *c)
{
    uint8_t raw[16], md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    char in[64];
    int r = ward_random_bytes(raw, sizeof(raw));
    if (r < 0)
        return r;
    EVP_EncodeBlock((unsigned char *)c->key, raw, sizeof(raw));
    int n = snprintf(in, sizeof(in), "%s%s", c->key, WS_GUID);
    if (EVP_Digest(in, (size_t)n, md, &mdlen, EVP_sha1(), NULL) != 1)
        return -EIO;
    EVP_EncodeBlock((unsigned char *)c->accept, md, (int)mdlen);
    return 0;
}

int ward_ws_client_start(struct ward_ws_loop *l, struct ward_ws_client *c,
                         const struct sockaddr_storage *sa, const char *host, const char *target)
{
    int r = make_key(c);
    if (r < 0)
        return r;
    r = ward_buf_printf(&c->out,
                        "GET %s HTTP/1.1\r\n"
                        "Host: %s\r\n"
                        "User-Agent: bench-stream\r\n"
                        "Upgrade: websocket\r\n"
                        "Connection: Upgrade\r\n"
                        "Sec-WebSocket-Key: %s\r\n"
                        "Sec-WebSocket-Version: 13\r\n"
                        "\r\n",
                        target, host, c->key);
    if (r < 0)
        return r;
    c->fd = socket(sa->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -errno;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    socklen_t len =
        sa->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    if (connect(c->fd, (const struct sockaddr *)sa, len) < 0 && errno != EINPROGRESS)
        return -errno;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
    c->want_out = true;
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0)
        return -errno;
    c->state = WARD_WS_CONNECTING;
    return 0;
}

void ward_ws_loop_run(struct ward_ws_loop *l, int timeout_ms)
{
    struct epoll_event ev[256];
    int64_t t0 = ward_mono_ns();
    int n = epoll_wait(l->epfd, ev, 256, timeout_ms);
    int64_t t1 = ward_mono_ns();
    for (int i = 0; i < n; i++) {
        struct ward_ws_client *c = ev[i].data.ptr;
        if (c->fd < 0)
            continue;
        if (c->state == WARD_WS_CONNECTING) {
            on_connected(l, c);
            continue;
        }
        if (ev[i].events & EPOLLOUT)
            flush_out(l, c);
        if (c->fd >= 0 && ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
            on_readable(l, c);
    }
    int64_t late = (t1 - t0) / 1000 - (int64_t)timeout_ms * 1000,
            busy = (ward_mono_ns() - t1) / 1000;
    if (late > 0) {
        ward_latency_raise(&l->late_wake_us, late);
        ward_latency_raise(&l->interval_late_wake_us, late);
    }
    ward_latency_raise(&l->busy_us, busy);
    ward_latency_raise(&l->interval_busy_us, busy);
}

void ward_ws_client_init(struct ward_ws_client *c)
{
    c->fd = -1;
    ward_buf_init(&c->in, 0);
}

void ward_ws_client_done(struct ward_ws_client *c)
{
    ward_buf_done(&c->in);
    ward_buf_done(&c->out);
    ward_buf_done(&c->frag);
}

int ward_ws_loop_init(struct ward_ws_loop *l, const struct ward_ws_handler *handler)
{
    l->handler = handler;
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    return l->epfd < 0 ? -errno : 0;
}

void ward_ws_loop_done(struct ward_ws_loop *l)
{
    if (l->epfd >= 0)
        close(l->epfd);
    l->epfd = -1;
}
