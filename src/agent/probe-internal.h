/*
 * What the probe files share: parsed targets, the state of one running
 * probe, and the interface each probe kind implements for the poll loop in
 * probe.c. Not for use outside probe*.c.
 */
#ifndef WARD_PROBE_INTERNAL_H
#define WARD_PROBE_INTERNAL_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "agent/probe.h"

/* A target taken apart. */
struct ward_probe_target {
    char host[WARD_PROBE_TARGET_MAX + 1];      /* without brackets; "" never */
    char port[6];                              /* digits; "" for icmp */
    char path[WARD_PROBE_TARGET_MAX + 1];      /* http: "/..." with any query */
    char authority[WARD_PROBE_TARGET_MAX + 1]; /* http: the URL's host[:port], for Host */
};

/*
 * Takes target apart for a probe of type. Returns 0, or -EINVAL with *why
 * set to a static description of the fault.
 */
int ward_probe_target_parse(enum ward_probe_type type, const char *target,
                            struct ward_probe_target *out, const char **why);

/* Addresses of a target tried in turn (tcp, http) or the first one (icmp). */
#define WARD_PROBE_MAX_ADDRS 4

struct ward_probe_addr {
    struct sockaddr_storage sa;
    socklen_t len;
};

/* ICMP echo state. */
struct ward_probe_icmp {
    bool raw;        /* SOCK_RAW: the kernel keeps our id and shows every ICMP message */
    uint16_t id;     /* raw sockets only; a datagram socket's id is its port */
    uint16_t seq0;   /* sequence of the first echo */
    uint64_t cookie; /* in every payload, to tell our echoes from others */
    int sent, received, send_error;
    int64_t start_ns;
    double rtt_sum_ms;
    int64_t sent_ns[WARD_PROBE_COUNT_MAX];
    bool answered[WARD_PROBE_COUNT_MAX];
};

/* TCP connect and HTTP exchange state. */
struct ward_probe_conn {
    size_t addr;        /* index of the address being tried */
    int64_t connect_ns; /* when the connect to it began */
    bool connected;     /* http: sending or reading */
    char request[1024]; /* http: the request */
    size_t req_len, req_sent;
    char status_line[32]; /* http: the start of the first line */
    size_t status_len;
    size_t head_bytes; /* http: of the current response head */
    size_t line_len;   /* http: bytes in the current head line, CR excluded */
    bool first_line;   /* http: still in the status line */
};

/* One probe while it runs. */
struct ward_probe_op {
    const struct ward_probe_spec *spec;
    struct ward_probe_target target;
    struct ward_probe_result res;
    int64_t deadline_ns;
    int64_t wake_ns; /* when the kind's wake() is due; INT64_MAX for never */
    int fd;          /* -1 when there is none */
    short events;    /* poll events wanted on fd */
    bool done;
    struct ward_probe_lookup *lookup; /* while a host name resolves */
    struct ward_probe_addr addrs[WARD_PROBE_MAX_ADDRS];
    size_t n_addrs;
    union {
        struct ward_probe_icmp icmp;
        struct ward_probe_conn conn;
    } u;
};

/*
 * A probe kind, driven by the poll loop. start() runs once the addresses
 * are known and opens fd (or finishes the probe); ready() gets the poll
 * events of fd; wake() is called once wake_ns has come; expire() once the
 * deadline has passed with the probe unfinished, and must finish it. All of
 * them end the probe with ward_probe_finish().
 */
struct ward_probe_kind {
    int socktype; /* the socket type to resolve addresses for */
    void (*start)(struct ward_probe_op *op, int64_t now_ns);
    void (*ready)(struct ward_probe_op *op, short revents, int64_t now_ns);
    void (*wake)(struct ward_probe_op *op, int64_t now_ns); /* NULL: no timer */
    void (*expire)(struct ward_probe_op *op);
};

extern const struct ward_probe_kind ward_probe_kind_icmp;
extern const struct ward_probe_kind ward_probe_kind_tcp;
extern const struct ward_probe_kind ward_probe_kind_http;

/* Ends op: sets up and error in its result, closes its socket. */
void ward_probe_finish(struct ward_probe_op *op, bool up, int error);

/*
 * Opens a non-blocking TCP socket to op->addrs[op->u.conn.addr] and starts
 * connecting, going on to the next address while a connect fails at once.
 * Returns 1 when connected, 0 while the connect is under way (op->fd waits
 * for POLLOUT), or the error of the last attempt, err when no address is
 * left to try.
 */
int ward_probe_connect(struct ward_probe_op *op, int64_t now_ns, int err);

/*
 * Called when a connecting socket is ready: returns 1 when the connect
 * succeeded, else moves on to the next address as ward_probe_connect().
 */
int ward_probe_connected(struct ward_probe_op *op, int64_t now_ns);

/* Milliseconds between two monotonic nanosecond times. */
static inline double ward_probe_ms(int64_t from_ns, int64_t to_ns)
{
    return (double)(to_ns - from_ns) / 1e6;
}

#endif
