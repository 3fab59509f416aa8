/*
 * The agent's local HTTP listener: /metrics and /health.
 *
 * It serves two small read-only resources to a local scraper, so it is
 * deliberately minimal: one thread, one connection at a time, one request
 * per connection (every answer says Connection: close), no request bodies.
 * The thread sleeps in poll() on the listening socket and on an eventfd
 * that ward_listener_stop() signals. A connection gets WARD_LISTENER_HEAD_MAX
 * bytes and HEAD_TIMEOUT_MS to send its request head, and its answer must
 * be taken within WRITE_TIMEOUT_MS; every wait also watches the eventfd, so
 * a slow or stalled client delays the next scrape at most by those bounds
 * and never delays a stop. Answers are formatted on demand from the
 * scheduler's latest snapshot and the health set, both safe to read from
 * this thread. The listener is written here, not on an HTTP library,
 * because the one on offer (libmicrohttpd) brings TLS libraries the agent
 * does not need, and they cost more resident memory than the whole agent.
 */
#include "agent/listener.h"

#include "agent/exposition.h"
#include "agent/http-request.h"
#include "common/net.h"
#include "common/time-util.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

/* Largest request head (request line and headers). */
#define WARD_LISTENER_HEAD_MAX (8 * 1024)
/* Time a client has to send its request head. */
#define HEAD_TIMEOUT_MS 1000
/* Time a client has to take the answer. */
#define WRITE_TIMEOUT_MS 10000
/* After answering, unread request bytes are drained for this long (or this many). */
#define DRAIN_TIMEOUT_MS 500
#define DRAIN_MAX        (64 * 1024)

struct ward_listener {
    int fd;
    int stop_fd;
    pthread_t thread;
    struct ward_scheduler *sched;
    struct ward_health *health;
    uint16_t port;
};

/* What a client sent: the parts the listener looks at. */
/*
 * Waits until fd is ready for events, the deadline passes (-ETIMEDOUT) or
 * a stop is requested (-ECANCELED).
 */
static int wait_fd(const struct ward_listener *l, int fd, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - ward_mono_ms();
        if (left <= 0)
            return -ETIMEDOUT;
        struct pollfd p[2] = {{.fd = fd, .events = events}, {.fd = l->stop_fd, .events = POLLIN}};
        int n = poll(p, 2, left > 60000 ? 60000 : (int)left);
        if (n < 0 && errno != EINTR)
            return -errno;
        if (n > 0 && p[1].revents)
            return -ECANCELED;
        if (n > 0)
            return 0;
    }
}

/* Writes all of p before the deadline. Returns 0 or a negative error. */
static int write_all(const struct ward_listener *l, int fd, const char *p, size_t n,
                     int64_t deadline)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            return -errno;
        if (w < 0) {
            int r = wait_fd(l, fd, POLLOUT, deadline);
            if (r < 0)
                return r;
            continue;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static const char *reason(unsigned status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 413:
        return "Content Too Large";
    case 431:
        return "Request Header Fields Too Large";
    case 503:
        return "Service Unavailable";
    default:
        return "Internal Server Error";
    }
}

/* Sends one answer; the body is left out for HEAD. */
static void respond(const struct ward_listener *l, int fd, bool head_only, unsigned status,
                    const char *type, const struct ward_buf *body)
{
    struct ward_buf out = WARD_BUF_INIT;
    int r = ward_buf_printf(&out,
                            "HTTP/1.1 %u %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                            "%sConnection: close\r\n\r\n",
                            status, reason(status), type, body->len,
                            status == 405 ? "Allow: GET, HEAD\r\n" : "");
    if (r == 0 && !head_only && body->len)
        r = ward_buf_append(&out, body->data, body->len);
    if (r == 0)
        write_all(l, fd, out.data, out.len, ward_mono_ms() + WRITE_TIMEOUT_MS);
    ward_buf_done(&out);
}

static void respond_error(const struct ward_listener *l, int fd, bool head_only, unsigned status,
                          const char *message)
{
    struct ward_buf body = WARD_BUF_INIT;
    if (ward_buf_printf(&body, "{\"error\":\"%s\"}", message) == 0)
        respond(l, fd, head_only, status, "application/json", &body);
    ward_buf_done(&body);
}

/* Routes one parsed request. */
static void handle(const struct ward_listener *l, int fd, const struct ward_http_request_head *req)
{
    bool metrics = strcmp(req->path, "/metrics") == 0;
    bool health = strcmp(req->path, "/health") == 0;
    bool get = strcmp(req->method, "GET") == 0 || req->head_only;
    if (!metrics && !health) {
        respond_error(l, fd, req->head_only, 404, "not found; try /metrics or /health");
        return;
    }
    if (!get) {
        respond_error(l, fd, false, 405, "method not allowed; use GET");
        return;
    }
    if (req->chunked) {
        respond_error(l, fd, req->head_only, 400, "a request body is not accepted here");
        return;
    }
    if (req->has_body) {
        respond_error(l, fd, req->head_only, 413, "a request body is not accepted here");
        return;
    }
    struct ward_buf body = WARD_BUF_INIT;
    if (metrics) {
        if (ward_scheduler_exposition(l->sched, &body) < 0)
            respond_error(l, fd, req->head_only, 500, "cannot format metrics");
        else
            respond(l, fd, req->head_only, 200, WARD_EXPOSITION_CONTENT_TYPE, &body);
    } else {
        enum ward_health_level level = WARD_HEALTH_OK;
        ward_health_json(l->health, &body, &level);
        respond(l, fd, req->head_only, level == WARD_HEALTH_ERROR ? 503 : 200, "application/json",
                &body);
    }
    ward_buf_done(&body);
}

/*
 * Reads the request head into buf (NUL-terminated). Returns 0, -EMSGSIZE
 * when it does not fit, -ETIMEDOUT, -ECANCELED on a stop, or another
 * negative error (the client went away).
 */
static int read_head(const struct ward_listener *l, int fd, char *buf, size_t size)
{
    int64_t deadline = ward_mono_ms() + HEAD_TIMEOUT_MS;
    size_t len = 0;
    for (;;) {
        ssize_t n = recv(fd, buf + len, size - 1 - len, 0);
        if (n == 0)
            return -ECONNRESET;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            return -errno;
        if (n < 0) {
            int r = wait_fd(l, fd, POLLIN, deadline);
            if (r < 0)
                return r;
            continue;
        }
        /* Look again only where the new bytes could complete an end of head. */
        size_t from = len > 3 ? len - 3 : 0;
        len += (size_t)n;
        buf[len] = '\0';
        if (memmem(buf + from, len - from, "\r\n\r\n", 4) ||
            memmem(buf + from, len - from, "\n\n", 2))
            return 0;
        if (len == size - 1)
            return -EMSGSIZE;
    }
}

/*
 * Closes a connection gracefully: after the answer, what the client may
 * still be sending is read and dropped for a moment, so that closing with
 * unread bytes does not reset the connection before the answer arrives.
 */
static void finish(const struct ward_listener *l, int fd)
{
    shutdown(fd, SHUT_WR);
    int64_t deadline = ward_mono_ms() + DRAIN_TIMEOUT_MS;
    char sink[4096];
    for (size_t total = 0; total < DRAIN_MAX;) {
        ssize_t n = recv(fd, sink, sizeof(sink), 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            break;
        if (n > 0) {
            total += (size_t)n;
            continue;
        }
        if (errno != EINTR && wait_fd(l, fd, POLLIN, deadline) < 0)
            break;
    }
    close(fd);
}

static void serve(const struct ward_listener *l, int fd)
{
    char head[WARD_LISTENER_HEAD_MAX + 1];
    int r = read_head(l, fd, head, sizeof(head));
    if (r == -ECANCELED || r == -ECONNRESET || r == -EPIPE) {
        close(fd);
        return;
    }
    struct ward_http_request_head req;
    if (r == -ETIMEDOUT)
        respond_error(l, fd, false, 408, "request head not received in time");
    else if (r == -EMSGSIZE)
        respond_error(l, fd, false, 431, "request head too large");
    else if (r < 0 || ward_http_request_parse(head, &req) < 0)
        respond_error(l, fd, false, 400, "malformed request");
    else if (req.too_large)
        respond_error(l, fd, req.head_only, 404, "not found; try /metrics or /health");
    else
        handle(l, fd, &req);
    finish(l, fd);
}

static void *run(void *arg)
{
    struct ward_listener *l = arg;
    for (;;) {
        struct pollfd p[2] = {{.fd = l->fd, .events = POLLIN},
                              {.fd = l->stop_fd, .events = POLLIN}};
        int n = poll(p, 2, -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || p[1].revents)
            break;
        int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            /* EMFILE and the like: wait a little instead of spinning. */
            if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                poll(&p[1], 1, 100);
            continue;
        }
        serve(l, fd);
    }
    return NULL;
}

int ward_listener_start(const char *address, struct ward_scheduler *sched,
                        struct ward_health *health, struct ward_listener **out,
                        struct ward_buf *err)
{
    struct sockaddr_storage ss;
    int r = ward_listen_address(address, &ss, err);
    if (r < 0)
        return r;
    struct ward_listener *l = calloc(1, sizeof(*l));
    if (!l)
        return -ENOMEM;
    l->sched = sched;
    l->health = health;
    l->stop_fd = -1;
    socklen_t len =
        ss.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    int one = 1;
    l->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (l->fd < 0 || setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(l->fd, (struct sockaddr *)&ss, len) < 0 || listen(l->fd, 16) < 0 ||
        getsockname(l->fd, (struct sockaddr *)&ss, &len) < 0) {
        r = -errno;
        ward_buf_printf(err, "cannot listen on %s: %s", address, strerror(errno));
        goto fail;
    }
    l->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                             : ((struct sockaddr_in *)&ss)->sin_port);
    l->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (l->stop_fd < 0) {
        r = -errno;
        ward_buf_printf(err, "eventfd: %s", strerror(errno));
        goto fail;
    }
    r = -pthread_create(&l->thread, NULL, run, l);
    if (r < 0) {
        ward_buf_printf(err, "cannot start the listener thread: %s", strerror(-r));
        goto fail;
    }
    *out = l;
    return 0;
fail:
    if (l->fd >= 0)
        close(l->fd);
    if (l->stop_fd >= 0)
        close(l->stop_fd);
    free(l);
    return r;
}

uint16_t ward_listener_port(const struct ward_listener *l)
{
    return l->port;
}

void ward_listener_stop(struct ward_listener *l)
{
    if (!l)
        return;
    uint64_t one = 1;
    while (write(l->stop_fd, &one, sizeof(one)) < 0 && errno == EINTR)
        ;
    pthread_join(l->thread, NULL);
    close(l->fd);
    close(l->stop_fd);
    free(l);
}
