/*
 * The TCP probe: a non-blocking connect, and the connect shared with the
 * HTTP probe.
 *
 * A target may resolve to several addresses ("localhost" to ::1 and
 * 127.0.0.1); they are tried in the resolver's order until one accepts,
 * like a client would, all within the probe's one deadline. The latency
 * is the time of the connect that succeeded. A refused connect ends the
 * probe as soon as the kernel says so; a silent target ends it at the
 * deadline. Nothing is sent: the connection is closed once established.
 */
#include "agent/probe-internal.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

int ward_probe_connect(struct ward_probe_op *op, int64_t now_ns, int err)
{
    struct ward_probe_conn *c = &op->u.conn;
    for (; c->addr < op->n_addrs; c->addr++) {
        const struct ward_probe_addr *a = &op->addrs[c->addr];
        int fd = socket(a->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            err = -errno;
            continue;
        }
        c->connect_ns = now_ns;
        op->fd = fd;
        if (connect(fd, (const struct sockaddr *)&a->sa, a->len) == 0)
            return 1;
        if (errno == EINPROGRESS) {
            op->events = POLLOUT;
            return 0;
        }
        err = -errno;
        close(fd);
        op->fd = -1;
    }
    return err;
}

int ward_probe_connected(struct ward_probe_op *op, int64_t now_ns)
{
    int so = 0;
    socklen_t len = sizeof(so);
    if (getsockopt(op->fd, SOL_SOCKET, SO_ERROR, &so, &len) < 0)
        so = errno;
    if (so == 0)
        return 1;
    close(op->fd);
    op->fd = -1;
    op->events = 0;
    op->u.conn.addr++;
    return ward_probe_connect(op, now_ns, -so);
}

/* Ends the probe after a connect step that returned r. */
static void settle(struct ward_probe_op *op, int r, int64_t now)
{
    if (r == 1) {
        op->res.latency_ms = ward_probe_ms(op->u.conn.connect_ns, now);
        ward_probe_finish(op, true, 0);
    } else if (r < 0) {
        ward_probe_finish(op, false, r);
    }
}

static void tcp_start(struct ward_probe_op *op, int64_t now)
{
    settle(op, ward_probe_connect(op, now, -ENXIO), now);
}

static void tcp_ready(struct ward_probe_op *op, short revents, int64_t now)
{
    (void)revents;
    settle(op, ward_probe_connected(op, now), now);
}

static void tcp_expire(struct ward_probe_op *op)
{
    ward_probe_finish(op, false, -ETIMEDOUT);
}

const struct ward_probe_kind ward_probe_kind_tcp = {
    .socktype = SOCK_STREAM,
    .start = tcp_start,
    .ready = tcp_ready,
    .expire = tcp_expire,
};
