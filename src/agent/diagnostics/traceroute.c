/*
 * The traceroute diagnostic: the routers on the path to a host, found
 * without privileges by sending probes with growing TTLs.
 *
 * For each TTL from 1 to max_hops, one probe goes out on a socket of its
 * own (so every answer on it belongs to that hop): a UDP datagram to port
 * 33434 + TTL, or an ICMP echo request on an unprivileged ping socket.
 * Neither needs CAP_NET_RAW: with IP_RECVERR (IPV6_RECVERR) set, the
 * kernel hands the ICMP errors that the probe provoked to its socket's
 * error queue, as a struct sock_extended_err whose SO_EE_OFFENDER is the
 * router that sent it. "Time exceeded" names a hop; "port unreachable"
 * (UDP) or an echo reply on the ordinary queue (ICMP) sent by the target
 * itself means it was reached, and the trace stops there; any other
 * "unreachable", or a port unreachable that a firewall sends in the
 * target's stead, ends it too, unreached, marked !N, !H, !P or !X as
 * traceroute does.
 *
 * Each hop waits at most 1 s, and never past ctx->deadline_ms, which ends
 * the whole trace. The target is resolved once, within the same deadline
 * (ward_probe_resolve(), the probes' bounded lookups); addresses are
 * printed as numbers, so no reverse lookup can stall a hop.
 *
 * Where ping sockets are not allowed (net.ipv4.ping_group_range), icmp
 * falls back to UDP probes and says so. Only if even a UDP socket is
 * refused (EPERM or EACCES, a sandbox) is the system's traceroute run,
 * when it is installed; its output is shown line by line through
 * ward_diag_escape(), as it holds what routers and resolvers sent.
 */
#include "agent/diagnostics/diagnostics.h"
#include "agent/probe.h"

#include "common/error.h"
#include "common/time-util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BASE_PORT   33434
#define HOP_WAIT_MS 1000
#define ECHO_LEN    24

/* What one probe found. */
enum hop_kind {
    HOP_NONE,
    HOP_ROUTER,
    HOP_TARGET,
    HOP_UNREACH,
    HOP_ERROR
};

struct hop {
    enum hop_kind kind;
    struct sockaddr_storage from;
    double rtt_ms;
    char mark; /* HOP_UNREACH: N, H, P or X */
    int error; /* HOP_ERROR: -errno */
};

/* Opens the socket of one probe with its TTL and error queue. */
static int open_probe(int family, bool icmp, int ttl)
{
    bool v6 = family == AF_INET6;
    int proto = !icmp ? 0 : v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
    int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
    if (fd < 0)
        return -errno;
    int on = 1;
    if (setsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_RECVERR : IP_RECVERR, &on,
                   sizeof(on)) < 0 ||
        setsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_UNICAST_HOPS : IP_TTL, &ttl,
                   sizeof(ttl)) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    return fd;
}

static socklen_t addr_len(const struct sockaddr_storage *a)
{
    return a->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

/* Sends the probe of ttl. */
static int send_probe(int fd, const struct sockaddr_storage *target, bool icmp, int ttl)
{
    struct sockaddr_storage to = *target;
    uint8_t pkt[ECHO_LEN] = {0};
    if (icmp) {
        pkt[0] = to.ss_family == AF_INET6 ? 128 : 8; /* echo request; the kernel sets id, sum */
        pkt[7] = (uint8_t)ttl;
    } else if (to.ss_family == AF_INET6) {
        ((struct sockaddr_in6 *)&to)->sin6_port = htons((uint16_t)(BASE_PORT + ttl));
    } else {
        ((struct sockaddr_in *)&to)->sin_port = htons((uint16_t)(BASE_PORT + ttl));
    }
    ssize_t n;
    do
        n = sendto(fd, pkt, sizeof(pkt), MSG_NOSIGNAL, (const struct sockaddr *)&to, addr_len(&to));
    while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : 0;
}

/* Reads one error from the error queue into *h. Returns 1 when h is final, 0 if not, or -errno. */
static int read_error(int fd, struct hop *h)
{
    uint8_t data[256], control[512];
    struct iovec iov = {.iov_base = data, .iov_len = sizeof(data)};
    struct msghdr msg = {.msg_iov = &iov,
                         .msg_iovlen = 1,
                         .msg_control = control,
                         .msg_controllen = sizeof(control)};
    if (recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
        return -errno;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (!((c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR) ||
              (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR)))
            continue;
        struct sock_extended_err ee;
        size_t len = c->cmsg_len - CMSG_LEN(0);
        if (len < sizeof(ee))
            continue;
        memcpy(&ee, CMSG_DATA(c), sizeof(ee));
        size_t off_len = len - sizeof(ee);
        memset(&h->from, 0, sizeof(h->from));
        memcpy(&h->from, CMSG_DATA(c) + sizeof(ee),
               off_len < sizeof(h->from) ? off_len : sizeof(h->from));
        bool v6 = ee.ee_origin == SO_EE_ORIGIN_ICMP6;
        if (ee.ee_origin != SO_EE_ORIGIN_ICMP && !v6) {
            h->kind = HOP_ERROR;
            h->error = -(int)ee.ee_errno;
            return 1;
        }
        if (ee.ee_type == (v6 ? 3 : 11)) { /* time exceeded */
            h->kind = HOP_ROUTER;
            return 1;
        }
        if (ee.ee_type != (v6 ? 1 : 3)) /* not destination unreachable: redirect, quench... */
            return 0;
        if (ee.ee_code == (v6 ? 4 : 3)) { /* port unreachable: the target, if it sent it */
            h->kind = HOP_TARGET;
            return 1;
        }
        h->kind = HOP_UNREACH;
        h->mark = v6                ? (ee.ee_code == 1   ? 'X'
                                       : ee.ee_code == 0 ? 'N'
                                                         : 'H')
                  : ee.ee_code == 0 ? 'N'
                  : ee.ee_code == 2 ? 'P'
                  : ee.ee_code >= 9 ? 'X'
                                    : 'H';
        return 1;
    }
    return 0;
}

/* True when a and b hold the same address (ports aside). */
static bool same_host(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return false;
    if (a->ss_family == AF_INET6)
        return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                      &((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr)) == 0;
    return a->ss_family == AF_INET && ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
                                          ((const struct sockaddr_in *)b)->sin_addr.s_addr;
}

/*
 * Reads an ordinary datagram: an echo reply (icmp) or any answer (udp)
 * from the target means it was reached; anything else is ignored.
 */
static int read_reply(int fd, const struct sockaddr_storage *target, bool icmp, int ttl,
                      struct hop *h)
{
    uint8_t data[256];
    struct sockaddr_storage from = {0};
    socklen_t from_len = sizeof(from);
    ssize_t n = recvfrom(fd, data, sizeof(data), MSG_DONTWAIT, (struct sockaddr *)&from, &from_len);
    if (n < 0)
        return -errno;
    if (!same_host(&from, target) ||
        (icmp && (n < 8 || data[0] != (from.ss_family == AF_INET6 ? 129 : 0) || data[7] != ttl)))
        return 0;
    h->kind = HOP_TARGET;
    h->from = from;
    return 1;
}

/* Sends the probe of ttl and waits for what it provokes, until hop_end_ms. */
static void probe_hop(int fd, const struct sockaddr_storage *target, bool icmp, int ttl,
                      int64_t hop_end_ms, struct hop *h)
{
    int64_t sent_ns = ward_mono_ns();
    int r = send_probe(fd, target, icmp, ttl);
    if (r < 0) { /* no route, a firewall rule...: the trace cannot go on */
        h->kind = HOP_ERROR;
        h->error = r;
        return;
    }
    int64_t left;
    while (h->kind == HOP_NONE && (left = hop_end_ms - ward_mono_ms()) > 0) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        if (p.revents & POLLERR)
            while (read_error(fd, h) == 0 && h->kind == HOP_NONE)
                ;
        if (h->kind == HOP_NONE && (p.revents & POLLIN))
            while (read_reply(fd, target, icmp, ttl, h) == 0 && h->kind == HOP_NONE)
                ;
    }
    h->rtt_ms = (double)(ward_mono_ns() - sent_ns) / 1e6;
}

static const char *addr_text(const struct sockaddr_storage *a, char *buf, size_t size)
{
    const void *p = a->ss_family == AF_INET6
                        ? (const void *)&((const struct sockaddr_in6 *)a)->sin6_addr
                        : (const void *)&((const struct sockaddr_in *)a)->sin_addr;
    if ((a->ss_family != AF_INET && a->ss_family != AF_INET6) ||
        !inet_ntop(a->ss_family, p, buf, (socklen_t)size))
        snprintf(buf, size, "?");
    return buf;
}

/* Runs the system's traceroute, when in-process probes are refused. */
static int system_traceroute(const char *host, const char *max_hops, int why,
                             const struct ward_diag_ctx *ctx, struct ward_diag_out *out)
{
    const char *argv[] = {"traceroute", "-n", "-m", max_hops, "-q", "1", "-w", "1", host, NULL};
    ward_diag_out_printf(out, "probe sockets are not permitted (%s): running traceroute\n",
                         ward_strerror(why));
    /* Its raw output, kept to what out has room for: escaping only makes it longer. */
    struct ward_diag_out raw;
    ward_diag_out_init(&raw, out->text.len < out->max ? out->max - out->text.len : 0);
    int rc = ward_diag_exec("traceroute", argv, ctx, &raw);
    ward_diag_out_append_lines(out, raw.text.data, raw.text.len);
    if (raw.truncated)
        out->truncated = true;
    ward_diag_out_done(&raw);
    if (rc == -ENOENT)
        ward_diag_out_printf(out, "no traceroute program was found\n");
    else if (rc == -ETIMEDOUT)
        ward_diag_out_printf(out, "[traceroute was stopped at the deadline]\n");
    return rc == -ENOENT ? why : rc;
}

int ward_diag_traceroute(const struct ward_diag_args *args, const struct ward_diag_ctx *ctx,
                         struct ward_diag_out *out)
{
    const char *target = ward_diag_get(args, "target");
    int64_t max_hops = ward_diag_get_int(args, "max_hops");
    bool icmp = strcmp(ward_diag_get(args, "proto"), "icmp") == 0;
    if (!target[0] || max_hops < 1 || max_hops > 255) {
        ward_diag_out_printf(out, "traceroute: bad arguments\n");
        return -EINVAL;
    }
    char text[INET6_ADDRSTRLEN];
    struct sockaddr_storage addr;
    int r = ward_probe_resolve(target, SOCK_DGRAM, ctx->deadline_ms, &addr);
    if (r < 0) {
        ward_diag_out_printf(out, "traceroute to %s: %s\n", target,
                             r == -ENXIO ? "the name does not resolve" : ward_strerror(r));
        return r == -ENXIO ? 1 : r;
    }
    int family = addr.ss_family;
    int fd = open_probe(family, icmp, 1);
    if (fd < 0 && icmp && (fd == -EACCES || fd == -EPERM)) {
        ward_diag_out_printf(out,
                             "ICMP ping sockets are not permitted (%s; see "
                             "net.ipv4.ping_group_range): using UDP probes\n",
                             ward_strerror(fd));
        icmp = false;
        fd = open_probe(family, icmp, 1);
    }
    if (fd == -EACCES || fd == -EPERM)
        return system_traceroute(target, ward_diag_get(args, "max_hops"), fd, ctx, out);
    if (fd < 0) {
        ward_diag_out_printf(out, "traceroute to %s: cannot open a socket: %s\n", target,
                             ward_strerror(fd));
        return fd;
    }
    ward_diag_out_printf(out, "traceroute to %s (%s), %lld hops max, %s probes\n", target,
                         addr_text(&addr, text, sizeof(text)), (long long)max_hops,
                         icmp ? "icmp" : "udp");
    for (int ttl = 1; ttl <= max_hops; ttl++) {
        if (fd < 0 && (fd = open_probe(family, icmp, ttl)) < 0) {
            ward_diag_out_printf(out, "%2d  cannot open a socket: %s\n", ttl, ward_strerror(fd));
            return 1;
        }
        int64_t now = ward_mono_ms();
        if (now >= ctx->deadline_ms || ward_diag_stopping(ctx)) {
            close(fd);
            ward_diag_out_printf(out, now >= ctx->deadline_ms ? "[stopped at the deadline]\n"
                                                              : "[stopped: the agent stops]\n");
            return 1;
        }
        int64_t end = now + HOP_WAIT_MS < ctx->deadline_ms ? now + HOP_WAIT_MS : ctx->deadline_ms;
        struct hop h = {.kind = HOP_NONE};
        probe_hop(fd, &addr, icmp, ttl, end, &h);
        close(fd);
        fd = -1;
        if (h.kind == HOP_NONE) {
            ward_diag_out_printf(out, "%2d  *\n", ttl);
        } else if (h.kind == HOP_ERROR) {
            ward_diag_out_printf(out, "%2d  error: %s\n", ttl, ward_strerror(h.error));
            return 1;
        } else {
            ward_diag_out_printf(out, "%2d  %s  %.3f ms", ttl,
                                 addr_text(&h.from, text, sizeof(text)), h.rtt_ms);
            bool reached = h.kind == HOP_TARGET && same_host(&h.from, &addr);
            if (h.kind == HOP_UNREACH)
                ward_diag_out_printf(out, " !%c\n", h.mark);
            else if (h.kind == HOP_TARGET && !reached) /* a firewall answering for the target */
                ward_diag_out_printf(out, " (port unreachable, sent by a host that is not the "
                                          "target)\n");
            else
                ward_diag_out_printf(out, "\n");
            if (h.kind != HOP_ROUTER)
                return reached ? 0 : 1;
        }
    }
    ward_diag_out_printf(out, "[the target was not reached in %lld hops]\n", (long long)max_hops);
    return 1;
}
