/*
 * A minimal WebSocket client (RFC 6455), for benchmarks that hold many
 * connections on one thread: non-blocking sockets on one epoll set, the
 * opening handshake with its Sec-WebSocket-Accept check, unmasked frames
 * from the server (fragmented text messages included), masked frames to it,
 * a pong for every ping and a close for a close. No TLS, no extensions, no
 * binary messages. What a message means is left to a handler.
 *
 * Every function here runs on the thread that calls ward_ws_loop_run();
 * only the counters in struct ward_ws_loop may be read from another.
 */
#ifndef WARD_BENCH_WS_CLIENT_H
#define WARD_BENCH_WS_CLIENT_H

#include "common/buf.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

enum ward_ws_state {
    WARD_WS_CONNECTING,
    WARD_WS_HANDSHAKE,
    WARD_WS_OPEN,
    WARD_WS_CLOSING,
    WARD_WS_DONE
};

struct ward_ws_loop;

/*
 * One connection. A user that keeps more per connection puts this struct
 * first in its own and casts the pointer the handler gets back.
 */
struct ward_ws_client {
    int fd;
    enum ward_ws_state state;
    char key[32], accept[32];
    struct ward_buf in; /* read and not yet parsed, from in_off */
    size_t in_off;
    struct ward_buf out; /* to write, from out_off */
    size_t out_off;
    bool want_out;
    struct ward_buf frag; /* a fragmented message so far */
    bool in_frag;
    bool sent_close;
    bool closed_by_server; /* a close frame came before we sent ours */
    bool lost;             /* the connection ended without a close frame */
    int close_code;
    char close_reason[64];
    char failure[160]; /* why the connection failed, or "" */
};

/* What the user of a loop does on its clients' events; either may be NULL. */
struct ward_ws_handler {
    /* The handshake of c succeeded; c may send (ward_ws_send_text). */
    void (*open)(struct ward_ws_loop *l, struct ward_ws_client *c);
    /* A complete text message of len bytes; now_ms is the wall clock when its last bytes came. */
    void (*message)(struct ward_ws_loop *l, struct ward_ws_client *c, const char *p, size_t len,
                    int64_t now_ms);
};

/*
 * The epoll set of a group of clients, and how its thread keeps up, to
 * tell its own delays from the server's: an epoll_wait() that returns later
 * than its timeout means the thread was not let run; a long pass over the
 * ready sockets means it had a burst to read. The longest of each over the
 * whole run, and over the current interval (reset by whoever reports it).
 * A user that keeps more puts this struct first in its own.
 */
struct ward_ws_loop {
    int epfd;
    const struct ward_ws_handler *handler;
    atomic_int failed; /* clients that failed */
    _Atomic int64_t late_wake_us, busy_us, interval_late_wake_us, interval_busy_us;
};

/* Creates l's epoll set. Returns 0 or -errno. */
int ward_ws_loop_init(struct ward_ws_loop *l, const struct ward_ws_handler *handler);

/* Closes l's epoll set; the clients are the caller's to finish first. */
void ward_ws_loop_done(struct ward_ws_loop *l);

/* Waits up to timeout_ms for events of l's clients and handles them. */
void ward_ws_loop_run(struct ward_ws_loop *l, int timeout_ms);

/* Prepares c (zeroed by the caller) to be started: no socket, empty buffers. */
void ward_ws_client_init(struct ward_ws_client *c);

/* Frees c's buffers; its socket is closed by ward_ws_finish() or ward_ws_fail(). */
void ward_ws_client_done(struct ward_ws_client *c);

/*
 * Starts connecting c to sa and queues the upgrade request for target (the
 * path and query) with Host: host, sent once the connection is up.
 * Returns 0 or -errno; on failure c's socket may still be open, and
 * ward_ws_fail() closes it.
 */
int ward_ws_client_start(struct ward_ws_loop *l, struct ward_ws_client *c,
                         const struct sockaddr_storage *sa, const char *host, const char *target);

/* Queues one text message to c and writes what the socket takes. Returns 0 or -errno. */
int ward_ws_send_text(struct ward_ws_loop *l, struct ward_ws_client *c, const char *p, size_t n);

/* Sends c a close frame with code, once, and waits for the server's (state CLOSING). */
void ward_ws_close(struct ward_ws_loop *l, struct ward_ws_client *c, int code);

/* Ends c as failed: keeps the first reason (fmt with detail for its %s), closes its socket. */
void ward_ws_fail(struct ward_ws_loop *l, struct ward_ws_client *c, const char *fmt,
                  const char *detail);

/* Ends c without a failure, closing its socket. */
void ward_ws_finish(struct ward_ws_loop *l, struct ward_ws_client *c);

#endif
