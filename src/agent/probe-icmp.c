/*
 * The ICMP echo probe: count echo requests spaced apart, and the answers
 * that come back before the deadline.
 *
 * Sockets. An unprivileged ICMP datagram socket (a "ping socket") is tried
 * first; the kernel allows it to the groups in
 * net.ipv4.ping_group_range, sets the echo identifier itself (the
 * socket's port) and passes up only the answers to that identifier. When
 * the kernel refuses (EACCES, EPERM), a raw socket is tried, which needs
 * CAP_NET_RAW: there the identifier is ours, and every ICMP message the
 * host receives arrives, IPv4 ones behind their IP header, so the
 * identifier, the type and the source address are checked. In both cases
 * each payload carries a random cookie and each echo its own sequence
 * number, so answers to other pings, late answers to an earlier run and
 * duplicates are told apart. If neither socket can be opened, the probe is
 * down with the socket's error.
 *
 * Packets are assembled byte by byte in network order rather than through
 * the kernel's header structs, which differ between IPv4 and IPv6. The
 * IPv4 checksum is ours to compute on raw sockets; the kernel computes it
 * on datagram sockets and for ICMPv6 always.
 *
 * Results: loss is the share of the count that got no answer, latency the
 * mean round trip of the answered ones, and the probe is up when any
 * answer came.
 */
#include "agent/probe-internal.h"

#include "common/crypto.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Echo header (type, code, checksum, identifier, sequence) and payload (cookie, padding). */
#define ECHO_HEADER  8
#define ECHO_PAYLOAD 16
#define ECHO_LEN     (ECHO_HEADER + ECHO_PAYLOAD)

#define ICMP4_ECHO_REQUEST 8
#define ICMP4_ECHO_REPLY   0
#define ICMP6_ECHO_REQ     128
#define ICMP6_ECHO_REP     129

/* Messages read per readiness, so a flood of foreign ICMP cannot hold the loop. */
#define RECV_BURST 64

static bool is_v6(const struct ward_probe_op *op)
{
    return op->addrs[0].sa.ss_family == AF_INET6;
}

/* Opens a ping socket, or a raw one when the kernel does not allow ping sockets to us. */
static int open_socket(int family, bool *raw)
{
    int proto = family == AF_INET6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
    int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
    if (fd >= 0) {
        *raw = false;
        return fd;
    }
    if (errno != EACCES && errno != EPERM)
        return -errno;
    fd = socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
    if (fd < 0)
        return -errno;
    *raw = true;
    return fd;
}

/* The Internet checksum (RFC 1071) of n bytes. */
static uint16_t checksum(const uint8_t *p, size_t n)
{
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)p[i] << 8 | p[i + 1];
    if (n & 1)
        sum += (uint32_t)p[n - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* Sends the next echo request. A failed send counts as sent and never answered. */
static void send_echo(struct ward_probe_op *op, int64_t now)
{
    struct ward_probe_icmp *ic = &op->u.icmp;
    const struct ward_probe_addr *a = &op->addrs[0];
    uint8_t pkt[ECHO_LEN] = {0};
    pkt[0] = is_v6(op) ? ICMP6_ECHO_REQ : ICMP4_ECHO_REQUEST;
    put16(pkt + 4, ic->id);
    put16(pkt + 6, (uint16_t)(ic->seq0 + ic->sent));
    memcpy(pkt + ECHO_HEADER, &ic->cookie, sizeof(ic->cookie));
    if (!is_v6(op))
        put16(pkt + 2, checksum(pkt, sizeof(pkt)));
    ssize_t w;
    do
        w = sendto(op->fd, pkt, sizeof(pkt), MSG_DONTWAIT | MSG_NOSIGNAL,
                   (const struct sockaddr *)&a->sa, a->len);
    while (w < 0 && errno == EINTR);
    ic->sent_ns[ic->sent] = w < 0 ? -1 : now;
    if (w < 0)
        ic->send_error = -errno;
    ic->sent++;
}

/* Sends the echoes that are due and sets the time of the next one. */
static void icmp_wake(struct ward_probe_op *op, int64_t now)
{
    struct ward_probe_icmp *ic = &op->u.icmp;
    int64_t spacing_ns = op->spec->spacing_ms * 1000000;
    while (ic->sent < op->spec->count && now >= ic->start_ns + ic->sent * spacing_ns)
        send_echo(op, now);
    op->wake_ns =
        ic->sent < op->spec->count ? ic->start_ns + ic->sent * spacing_ns : (int64_t)INT64_MAX;
}

static void icmp_done(struct ward_probe_op *op)
{
    const struct ward_probe_icmp *ic = &op->u.icmp;
    int count = op->spec->count;
    op->res.loss_percent = (double)(count - ic->received) * 100.0 / count;
    op->res.latency_ms = ic->received ? ic->rtt_sum_ms / ic->received : 0;
    bool up = ic->received > 0;
    ward_probe_finish(op, up, ic->send_error ? ic->send_error : -ETIMEDOUT);
}

static void icmp_start(struct ward_probe_op *op, int64_t now)
{
    struct ward_probe_icmp *ic = &op->u.icmp;
    uint8_t rnd[12];
    bool raw = false;
    int fd = open_socket(op->addrs[0].sa.ss_family, &raw);
    if (fd < 0) {
        ward_probe_finish(op, false, fd);
        return;
    }
    op->fd = fd;
    op->events = POLLIN;
    if (ward_random_bytes(rnd, sizeof(rnd)) < 0) {
        ward_probe_finish(op, false, -EIO);
        return;
    }
    *ic = (struct ward_probe_icmp){.raw = raw, .start_ns = now};
    memcpy(&ic->cookie, rnd, sizeof(ic->cookie));
    ic->id = get16(rnd + 8);
    ic->seq0 = get16(rnd + 10);
    icmp_wake(op, now);
}

/* True when from is the address op pinged. */
static bool same_host(const struct ward_probe_op *op, const struct sockaddr_storage *from)
{
    const struct sockaddr_storage *to = &op->addrs[0].sa;
    if (from->ss_family != to->ss_family)
        return false;
    if (to->ss_family == AF_INET6)
        return memcmp(&((const struct sockaddr_in6 *)from)->sin6_addr,
                      &((const struct sockaddr_in6 *)to)->sin6_addr, sizeof(struct in6_addr)) == 0;
    return ((const struct sockaddr_in *)from)->sin_addr.s_addr ==
           ((const struct sockaddr_in *)to)->sin_addr.s_addr;
}

/* Takes one received message: counts it when it answers one of our echoes. */
static void take_reply(struct ward_probe_op *op, const uint8_t *p, size_t n,
                       const struct sockaddr_storage *from, int64_t now)
{
    struct ward_probe_icmp *ic = &op->u.icmp;
    if (ic->raw && !is_v6(op)) {
        size_t ihl = n ? (size_t)(p[0] & 0x0f) * 4 : 0;
        if (ihl < 20 || ihl > n)
            return;
        p += ihl;
        n -= ihl;
    }
    if (n < ECHO_LEN || p[0] != (is_v6(op) ? ICMP6_ECHO_REP : ICMP4_ECHO_REPLY) ||
        (ic->raw && get16(p + 4) != ic->id) || !same_host(op, from) ||
        memcmp(p + ECHO_HEADER, &ic->cookie, sizeof(ic->cookie)) != 0)
        return;
    uint16_t k = (uint16_t)(get16(p + 6) - ic->seq0);
    if (k >= ic->sent || ic->answered[k] || ic->sent_ns[k] < 0)
        return;
    ic->answered[k] = true;
    ic->received++;
    ic->rtt_sum_ms += ward_probe_ms(ic->sent_ns[k], now);
}

static void icmp_ready(struct ward_probe_op *op, short revents, int64_t now)
{
    (void)revents;
    struct ward_probe_icmp *ic = &op->u.icmp;
    uint8_t buf[256];
    for (int i = 0; i < RECV_BURST; i++) {
        struct sockaddr_storage from = {0};
        socklen_t from_len = sizeof(from);
        ssize_t n =
            recvfrom(op->fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &from_len);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n < 0 && errno != EINTR)
            ic->send_error = -errno; /* an ICMP error for an echo: unreachable */
        if (n > 0)
            take_reply(op, buf, (size_t)n, &from, now);
    }
    if (ic->received == op->spec->count)
        icmp_done(op);
}

const struct ward_probe_kind ward_probe_kind_icmp = {
    .socktype = SOCK_DGRAM,
    .start = icmp_start,
    .ready = icmp_ready,
    .wake = icmp_wake,
    .expire = icmp_done,
};
