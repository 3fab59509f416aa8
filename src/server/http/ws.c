/*
 * The WebSocket thread: one thread owns every upgraded socket.
 *
 * One thread suffices because a WebSocket's work is small (frame a message,
 * write it, read a short one now and then), and one thread makes the
 * application simple: all its callbacks run here, one at a time, so the
 * state it keeps per connection needs no lock. The thread sleeps in
 * epoll_wait() on the sockets (level-triggered; EPOLLOUT only while libwslay
 * has something to write) and on an eventfd through which other threads
 * reach it: MHD's threads hand over new connections on a locked list,
 * ward_ws_wake() sets a flag, and shutdown sets its phase. Everything else
 * is the thread's alone.
 *
 * libwslay does the framing: it unmasks, reassembles fragments, answers
 * pings, checks UTF-8 (closing with 1007) and the size of incoming
 * messages (closing with 1009 before buffering more than ws_max_message),
 * and queues outgoing messages. Its recv and send callbacks do
 * non-blocking I/O on the socket and first serve the bytes MHD read past
 * the request head. Reading a busy connection stops after READ_BUDGET
 * bytes per wakeup, so that one fast sender cannot starve the others.
 * Writing waits until the callbacks of a wakeup returned (settle()), so
 * that what they queue goes out in few system calls; only a send that
 * finds its queue full writes at once, so that the limit counts what the
 * socket did not take, not what one callback queued in a burst.
 *
 * A connection is OPEN, then CLOSING once a close frame is queued (by
 * either side, or by libwslay on a protocol error), then LINGER once that
 * frame is written: the socket is shut down for writing and read until the
 * peer closes too, so that unread bytes cannot turn the close into a reset
 * that loses the close frame. WARD_WS_CLOSE_TIMEOUT_MS after closing began
 * the socket goes back to MHD regardless. Then the connection is DEAD: it
 * leaves epoll, MHD_upgrade_action(CLOSE) gives the socket back (once,
 * from this thread, as MHD's own upgrade tests do from theirs), on_close
 * runs and the struct is freed. Connections are only freed in settle(), between
 * callbacks, so a callback that closes any connection never frees one
 * under a caller's feet.
 *
 * A timer tick, only while connections exist, pings every connection each
 * ping interval, closes one that sent nothing for two, and ends closings
 * that overran their timeout.
 */
#include "server/http/ws-internal.h"

#include "common/error.h"
#include "common/log.h"
#include "common/time-util.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <wslay/wslay.h>

/* Events taken from one epoll_wait(). */
#define MAX_EVENTS 64

/* Bytes read from one socket per wakeup. */
#define READ_BUDGET ((size_t)256 << 10)

/*
 * A peer may not run up answers it does not read: while this many messages
 * (pongs to its pings, mostly) wait to be written, its socket is not read.
 */
#define MAX_UNSENT 64

/* Frames one message may arrive in; more is a peer wasting our memory on headers. */
#define MAX_FRAGMENTS 1024

/* Period of the timer tick while connections exist. */
#define TICK_NS ((int64_t)250 * 1000000)

#define NS_PER_MS ((int64_t)1000000)
#define NS_PER_S  ((int64_t)1000000000)

enum ws_state {
    WS_OPEN,
    WS_CLOSING, /* a close frame is queued */
    WS_LINGER,  /* the close frame went out; waiting for the peer to close */
    WS_DEAD,    /* waiting to be freed in settle() */
};

enum hub_phase {
    HUB_RUNNING,
    HUB_CLOSE_ALL, /* sockets go back to MHD at once */
    HUB_EXIT,      /* MHD stopped: run the last on_close calls and end */
};

struct ward_ws {
    struct ward_ws_hub *hub;
    const struct ward_ws_handler *h;
    void *userdata;
    char remote[WARD_HTTP_REMOTE_MAX];
    char request_id[WARD_HTTP_REQUEST_ID_MAX + 1];

    /* Set at the hand-over; fd is -1 for a connection that never got its socket. */
    int fd;
    struct MHD_UpgradeResponseHandle *urh;
    char *extra; /* bytes MHD read past the request head */
    size_t extra_len, extra_off;

    /* Only on the WebSocket thread from here. */
    wslay_event_context_ptr ctx;
    enum ws_state state;
    bool opened;     /* counted in the stats as open */
    bool registered; /* in the epoll set */
    bool gone;       /* the peer closed its side, or the socket failed */
    bool dirty;      /* on hub->dirty */
    uint32_t events; /* the epoll interest */
    size_t budget;   /* bytes this wakeup may still read */
    size_t frames;   /* frames of the message being received */
    int64_t last_rx_ns, last_ping_ns, close_deadline_ns;
    struct ward_ws *prev, *next; /* on hub->conns */
    struct ward_ws *next_dirty, *next_dead;
    struct ward_ws *next_incoming; /* on hub->incoming, under hub->lock */
};

struct ward_ws_hub {
    struct ward_http_server *server;
    size_t max_queue, max_message;
    unsigned max_connections;
    int64_t ping_ns;

    int epfd, evfd;
    pthread_t thread;
    atomic_bool wake_pending; /* ward_ws_wake() was called */
    atomic_bool quiesce;      /* close every connection with 1001 */

    pthread_mutex_t lock;
    pthread_cond_t changed;
    struct ward_ws *incoming, *incoming_tail; /* handed over, not yet taken by the thread */
    unsigned reserved;                        /* slots taken: released as on_close starts */
    enum hub_phase phase;
    bool closed_all; /* the thread gave every socket back in HUB_CLOSE_ALL */

    /* Only on the WebSocket thread. */
    struct ward_ws *conns;
    struct ward_ws *dirty, *dead;
    bool quiesce_done;
    int64_t now_ns, next_tick_ns;
    char scratch[16384];

    atomic_size_t open;
    atomic_uint_fast64_t opened, closed, refused, messages_sent, bytes_sent, messages_received,
        queue_full;
};

/* ---- Small helpers ---- */

static void hub_signal(struct ward_ws_hub *hub)
{
    uint64_t one = 1;
    ssize_t n;
    do
        n = write(hub->evfd, &one, sizeof(one));
    while (n < 0 && errno == EINTR);
    /* EAGAIN means the counter is huge: the thread wakes all the same. */
}

static void release(struct ward_ws_hub *hub)
{
    pthread_mutex_lock(&hub->lock);
    hub->reserved--;
    pthread_mutex_unlock(&hub->lock);
}

static void mark_dirty(struct ward_ws *ws)
{
    if (ws->dirty || ws->state == WS_DEAD)
        return;
    ws->dirty = true;
    ws->next_dirty = ws->hub->dirty;
    ws->hub->dirty = ws;
}

static void mark_dead(struct ward_ws *ws)
{
    if (ws->state == WS_DEAD)
        return;
    ws->state = WS_DEAD;
    ws->next_dead = ws->hub->dead;
    ws->hub->dead = ws;
}

static void enter_closing(struct ward_ws *ws)
{
    if (ws->state != WS_OPEN)
        return;
    ws->state = WS_CLOSING;
    ws->close_deadline_ns = ws->hub->now_ns + WARD_WS_CLOSE_TIMEOUT_MS * NS_PER_MS;
}

/* Codes an endpoint may send (RFC 6455, 7.4); wslay passes on anything. */
static bool code_sendable(uint16_t code)
{
    return (code >= 1000 && code <= 1014 && code != 1004 && code != 1005 && code != 1006) ||
           (code >= 3000 && code <= 4999);
}

/* ---- The public calls on a connection ---- */

void *ward_ws_userdata(const struct ward_ws *ws)
{
    return ws->userdata;
}

void ward_ws_set_userdata(struct ward_ws *ws, void *userdata)
{
    ws->userdata = userdata;
}

const char *ward_ws_remote(const struct ward_ws *ws)
{
    return ws->remote;
}

const char *ward_ws_request_id(const struct ward_ws *ws)
{
    return ws->request_id;
}

size_t ward_ws_queued_bytes(const struct ward_ws *ws)
{
    return ws->ctx ? wslay_event_get_queued_msg_length(ws->ctx) : 0;
}

/* Whether len more bytes fit in the queue of ws. */
static bool queue_has_room(const struct ward_ws *ws, size_t len)
{
    size_t max = ws->hub->max_queue;
    return len <= max && wslay_event_get_queued_msg_length(ws->ctx) <= max - len;
}

int ward_ws_send_text(struct ward_ws *ws, const char *msg, size_t len)
{
    struct ward_ws_hub *hub = ws->hub;
    if (ws->state != WS_OPEN || !ws->ctx)
        return -ESHUTDOWN;
    if (!queue_has_room(ws, len)) {
        /*
         * Writing waits for settle() so that a callback's messages go out
         * together; a full queue is written now, so that only what the
         * socket does not take counts against the limit.
         */
        if (wslay_event_want_write(ws->ctx) && wslay_event_send(ws->ctx) < 0) {
            mark_dead(ws);
            return -ESHUTDOWN;
        }
        mark_dirty(ws);
        if (!queue_has_room(ws, len)) {
            atomic_fetch_add(&hub->queue_full, 1);
            return WARD_E_LIMIT;
        }
    }
    struct wslay_event_msg m = {WSLAY_TEXT_FRAME, (const uint8_t *)msg, len};
    int r = wslay_event_queue_msg(ws->ctx, &m);
    if (r == WSLAY_ERR_NOMEM)
        return -ENOMEM;
    if (r < 0)
        return -ESHUTDOWN; /* WSLAY_ERR_NO_MORE_MSG: a close frame is queued */
    atomic_fetch_add(&hub->messages_sent, 1);
    mark_dirty(ws);
    return 0;
}

void ward_ws_close(struct ward_ws *ws, uint16_t code, const char *reason)
{
    if (ws->state != WS_OPEN)
        return;
    if (!code_sendable(code))
        code = WSLAY_CODE_NORMAL_CLOSURE;
    size_t n = reason ? strnlen(reason, WARD_WS_CLOSE_REASON_MAX + 1) : 0;
    if (n > WARD_WS_CLOSE_REASON_MAX) {
        /* Cut before a UTF-8 continuation byte, so the reason stays valid UTF-8. */
        n = WARD_WS_CLOSE_REASON_MAX;
        while (n > 0 && ((unsigned char)reason[n] & 0xC0) == 0x80)
            n--;
    }
    /* Fails only when wslay queued a close itself; the state below holds either way. */
    if (ws->ctx)
        wslay_event_queue_close(ws->ctx, code, (const uint8_t *)(reason ? reason : ""), n);
    enter_closing(ws);
    mark_dirty(ws);
}

/* ---- libwslay callbacks ---- */

/* True while the peer has not read what it made us queue; see MAX_UNSENT. */
static bool reading_paused(const struct ward_ws *ws)
{
    return wslay_event_get_queued_msg_count(ws->ctx) >= MAX_UNSENT;
}

static ssize_t on_wslay_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
                             void *user)
{
    (void)flags;
    struct ward_ws *ws = user;
    if (ws->extra_off < ws->extra_len) {
        size_t n = ws->extra_len - ws->extra_off;
        if (n > len)
            n = len;
        memcpy(buf, ws->extra + ws->extra_off, n);
        ws->extra_off += n;
        ws->last_rx_ns = ws->hub->now_ns;
        return (ssize_t)n;
    }
    if (ws->budget == 0 || reading_paused(ws)) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    if (len > ws->budget)
        len = ws->budget;
    ssize_t n;
    do
        n = recv(ws->fd, buf, len, 0);
    while (n < 0 && errno == EINTR);
    if (n > 0) {
        ws->budget -= (size_t)n;
        ws->last_rx_ns = ws->hub->now_ns;
        return n;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    ws->gone = true;
    wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
}

static ssize_t on_wslay_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len,
                             int flags, void *user)
{
    struct ward_ws *ws = user;
    int f = MSG_NOSIGNAL | ((flags & WSLAY_MSG_MORE) ? MSG_MORE : 0);
    ssize_t n;
    do
        n = send(ws->fd, data, len, f);
    while (n < 0 && errno == EINTR);
    if (n >= 0) {
        atomic_fetch_add(&ws->hub->bytes_sent, (uint64_t)n);
        return n;
    }
    wslay_event_set_error(ctx, errno == EAGAIN || errno == EWOULDBLOCK
                                   ? WSLAY_ERR_WOULDBLOCK
                                   : WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
}

/*
 * Refuses binary messages at their first frame, and messages cut into more
 * than MAX_FRAGMENTS frames, so neither is buffered further.
 */
static void on_wslay_frame_start(wslay_event_context_ptr ctx,
                                 const struct wslay_event_on_frame_recv_start_arg *arg, void *user)
{
    struct ward_ws *ws = user;
    if (ws->state != WS_OPEN)
        return;
    if (arg->opcode == WSLAY_BINARY_FRAME) {
        ward_ws_close(ws, WSLAY_CODE_UNSUPPORTED_DATA, "binary messages are not accepted");
        wslay_event_shutdown_read(ctx);
        return;
    }
    if (arg->opcode == WSLAY_TEXT_FRAME)
        ws->frames = 0;
    if (arg->opcode <= WSLAY_TEXT_FRAME && ++ws->frames > MAX_FRAGMENTS) {
        ward_ws_close(ws, WSLAY_CODE_MESSAGE_TOO_BIG, "a message in too many fragments");
        wslay_event_shutdown_read(ctx);
    }
}

static void on_wslay_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                         void *user)
{
    (void)ctx;
    struct ward_ws *ws = user;
    if (arg->opcode == WSLAY_TEXT_FRAME && ws->state == WS_OPEN) {
        atomic_fetch_add(&ws->hub->messages_received, 1);
        if (ws->h->on_text)
            ws->h->on_text(ws, arg->msg ? (const char *)arg->msg : "", arg->msg_length,
                           ws->hub->server->cfg.app);
    } else if (arg->opcode == WSLAY_CONNECTION_CLOSE) {
        /* wslay queued the answering close frame itself. */
        enter_closing(ws);
    }
}

static const struct wslay_event_callbacks wslay_callbacks = {
    .recv_callback = on_wslay_recv,
    .send_callback = on_wslay_send,
    .on_frame_recv_start_callback = on_wslay_frame_start,
    .on_msg_recv_callback = on_wslay_msg,
};

/* ---- Connection I/O on the thread ---- */

static void conn_read(struct ward_ws *ws)
{
    struct ward_ws_hub *hub = ws->hub;
    if (ws->state == WS_LINGER) {
        /* Read and drop until the peer closes; the budget bounds one wakeup. */
        for (size_t got = 0; got < READ_BUDGET;) {
            ssize_t n = recv(ws->fd, hub->scratch, sizeof(hub->scratch), 0);
            if (n > 0) {
                got += (size_t)n;
                continue;
            }
            if (n < 0 && errno == EINTR)
                continue;
            if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
                mark_dead(ws);
            return;
        }
        return;
    }
    if (ws->state == WS_DEAD || !wslay_event_want_read(ws->ctx))
        return;
    ws->budget = READ_BUDGET;
    if (wslay_event_recv(ws->ctx) < 0) {
        /*
         * The socket failed or the peer went away: nobody is left to read a
         * close frame. Otherwise the peer broke the framing (a fragmented
         * control frame, a bad length), and wslay queued a close frame.
         */
        if (ws->gone)
            mark_dead(ws);
        enter_closing(ws);
        mark_dirty(ws);
        return;
    }
    /* wslay stops reading after a close frame and after a protocol error it answered. */
    if (ws->state == WS_OPEN && !wslay_event_get_read_enabled(ws->ctx))
        enter_closing(ws);
    mark_dirty(ws);
}

/* Writes what is queued and sets the epoll interest to what the connection waits for. */
static void conn_flush(struct ward_ws *ws)
{
    struct ward_ws_hub *hub = ws->hub;
    if (ws->state == WS_DEAD)
        return;
    if (ws->state != WS_LINGER) {
        if (wslay_event_want_write(ws->ctx) && wslay_event_send(ws->ctx) < 0) {
            mark_dead(ws);
            return;
        }
        if (wslay_event_get_close_sent(ws->ctx)) {
            enter_closing(ws);
            shutdown(ws->fd, SHUT_WR);
            if (wslay_event_get_close_received(ws->ctx) || ws->gone) {
                mark_dead(ws);
                return;
            }
            ws->state = WS_LINGER;
        }
    }
    uint32_t want = 0;
    if (ws->state == WS_LINGER || (wslay_event_want_read(ws->ctx) && !reading_paused(ws)))
        want |= EPOLLIN;
    if (ws->state != WS_LINGER && wslay_event_want_write(ws->ctx))
        want |= EPOLLOUT;
    if (!want) {
        mark_dead(ws); /* nothing left to wait for */
        return;
    }
    if (want == ws->events)
        return;
    struct epoll_event ev = {.events = want, .data.ptr = ws};
    if (epoll_ctl(hub->epfd, EPOLL_CTL_MOD, ws->fd, &ev) < 0) {
        ward_log_warn(ws->request_id, "websocket: epoll_ctl failed; closing", "error",
                      strerror(errno));
        mark_dead(ws);
        return;
    }
    ws->events = want;
}

/* Frees a connection: the socket goes back to MHD, then on_close runs. */
static void conn_free(struct ward_ws *ws)
{
    struct ward_ws_hub *hub = ws->hub;
    if (ws->registered)
        epoll_ctl(hub->epfd, EPOLL_CTL_DEL, ws->fd, NULL);
    if (ws->urh)
        MHD_upgrade_action(ws->urh, MHD_UPGRADE_ACTION_CLOSE);
    ws->urh = NULL;
    ws->fd = -1;
    if (ws->prev)
        ws->prev->next = ws->next;
    else if (hub->conns == ws)
        hub->conns = ws->next;
    if (ws->next)
        ws->next->prev = ws->prev;
    if (ws->opened) {
        atomic_fetch_sub(&hub->open, 1);
        atomic_fetch_add(&hub->closed, 1);
    }
    ws->state = WS_DEAD;
    /* The slot is free before on_close, which may let a waiting client retry at once. */
    release(hub);
    ws->h->on_close(ws, hub->server->cfg.app);
    if (ws->ctx)
        wslay_event_context_free(ws->ctx);
    free(ws->extra);
    free(ws);
}

/*
 * Brings every connection up to date between callbacks: writes what was
 * queued, then frees the dead ones, whose on_close may queue more.
 */
static void settle(struct ward_ws_hub *hub)
{
    while (hub->dirty || hub->dead) {
        while (hub->dirty) {
            struct ward_ws *ws = hub->dirty;
            hub->dirty = ws->next_dirty;
            ws->dirty = false;
            conn_flush(ws);
        }
        while (hub->dead && !hub->dirty) {
            struct ward_ws *ws = hub->dead;
            hub->dead = ws->next_dead;
            conn_free(ws);
        }
    }
}

/* Takes over a connection MHD handed over. */
static void adopt(struct ward_ws_hub *hub, struct ward_ws *ws)
{
    void *app = hub->server->cfg.app;
    ws->state = WS_OPEN;
    if (ws->fd < 0) {
        /* Never upgraded, or given back to MHD at the hand-over: only on_close is due. */
        mark_dead(ws);
        return;
    }
    if (!hub->conns)
        hub->next_tick_ns = hub->now_ns + TICK_NS;
    ws->prev = NULL;
    ws->next = hub->conns;
    if (hub->conns)
        hub->conns->prev = ws;
    hub->conns = ws;
    ws->last_rx_ns = ws->last_ping_ns = hub->now_ns;

    int one = 1;
    setsockopt(ws->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    int fl = fcntl(ws->fd, F_GETFL);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = ws};
    if (fl < 0 || (!(fl & O_NONBLOCK) && fcntl(ws->fd, F_SETFL, fl | O_NONBLOCK) < 0) ||
        wslay_event_context_server_init(&ws->ctx, &wslay_callbacks, ws) != 0 ||
        epoll_ctl(hub->epfd, EPOLL_CTL_ADD, ws->fd, &ev) < 0) {
        ward_log_warn(ws->request_id, "websocket: cannot set the connection up; closing");
        mark_dead(ws);
        return;
    }
    ws->registered = true;
    ws->events = EPOLLIN;
    wslay_event_config_set_max_recv_msg_length(ws->ctx, hub->max_message);
    ws->opened = true;
    atomic_fetch_add(&hub->open, 1);
    atomic_fetch_add(&hub->opened, 1);
    if (atomic_load(&hub->quiesce))
        ward_ws_close(ws, WSLAY_CODE_GOING_AWAY, "server shutting down");
    else if (ws->h->on_open)
        ws->h->on_open(ws, app);
    /* The bytes MHD read past the head, and what else arrived; level-triggered epoll does the rest.
     */
    conn_read(ws);
    mark_dirty(ws);
}

/* Gives up on every connection at once: one try to send a close frame, then the socket goes. */
static void close_all_now(struct ward_ws_hub *hub)
{
    for (struct ward_ws *ws = hub->conns; ws; ws = ws->next) {
        if (ws->state == WS_DEAD)
            continue;
        ward_ws_close(ws, WSLAY_CODE_GOING_AWAY, "server shutting down");
        if (ws->state != WS_LINGER && ws->ctx && wslay_event_want_write(ws->ctx))
            wslay_event_send(ws->ctx);
        mark_dead(ws);
    }
    settle(hub);
}

/* Pings, ends idle connections and overrun closings, and runs the application's tick. */
static void tick(struct ward_ws_hub *hub)
{
    int64_t now = hub->now_ns;
    for (struct ward_ws *ws = hub->conns; ws; ws = ws->next) {
        if (ws->state == WS_OPEN) {
            if (now - ws->last_rx_ns >= 2 * hub->ping_ns) {
                ward_ws_close(ws, WSLAY_CODE_INTERNAL_SERVER_ERROR, "ping timeout");
            } else if (now - ws->last_ping_ns >= hub->ping_ns) {
                struct wslay_event_msg ping = {WSLAY_PING, NULL, 0};
                if (wslay_event_queue_msg(ws->ctx, &ping) == 0)
                    mark_dirty(ws);
                ws->last_ping_ns = now;
            }
        } else if (ws->state != WS_DEAD && now >= ws->close_deadline_ns) {
            mark_dead(ws);
        }
    }
    if (hub->server->cfg.ws_on_tick)
        hub->server->cfg.ws_on_tick(hub->server->cfg.app);
}

/*
 * Handles what other threads asked for: new connections, wakes, and the
 * shutdown phases. Returns true when the thread is to end.
 */
static bool control(struct ward_ws_hub *hub)
{
    uint64_t v;
    while (read(hub->evfd, &v, sizeof(v)) < 0 && errno == EINTR)
        ;
    pthread_mutex_lock(&hub->lock);
    struct ward_ws *in = hub->incoming;
    hub->incoming = hub->incoming_tail = NULL;
    enum hub_phase phase = hub->phase;
    pthread_mutex_unlock(&hub->lock);

    while (in) {
        struct ward_ws *ws = in;
        in = ws->next_incoming;
        adopt(hub, ws);
    }
    if (atomic_exchange(&hub->wake_pending, false) && hub->server->cfg.ws_on_wake)
        hub->server->cfg.ws_on_wake(hub->server->cfg.app);
    if (atomic_load(&hub->quiesce) && !hub->quiesce_done) {
        hub->quiesce_done = true;
        for (struct ward_ws *ws = hub->conns; ws; ws = ws->next)
            ward_ws_close(ws, WSLAY_CODE_GOING_AWAY, "server shutting down");
    }
    if (phase == HUB_RUNNING)
        return false;
    settle(hub);
    close_all_now(hub);
    pthread_mutex_lock(&hub->lock);
    hub->closed_all = true;
    pthread_cond_broadcast(&hub->changed);
    pthread_mutex_unlock(&hub->lock);
    return phase == HUB_EXIT;
}

static void *hub_main(void *arg)
{
    struct ward_ws_hub *hub = arg;
    struct epoll_event evs[MAX_EVENTS];
    pthread_setname_np(pthread_self(), "ward-ws");
    for (;;) {
        int timeout = -1;
        if (hub->conns) {
            int64_t wait_ns = hub->next_tick_ns - ward_mono_ns();
            timeout = wait_ns <= 0 ? 0 : (int)((wait_ns + NS_PER_MS - 1) / NS_PER_MS);
        }
        int n = epoll_wait(hub->epfd, evs, MAX_EVENTS, timeout);
        if (n < 0)
            n = 0; /* EINTR */
        hub->now_ns = ward_mono_ns();
        bool ctl = false;
        for (int i = 0; i < n; i++) {
            struct ward_ws *ws = evs[i].data.ptr;
            if (!ws) {
                ctl = true;
                continue;
            }
            if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
                conn_read(ws);
            mark_dirty(ws);
        }
        if (ctl && control(hub))
            break;
        if (hub->conns && hub->now_ns >= hub->next_tick_ns) {
            tick(hub);
            hub->next_tick_ns = hub->now_ns + TICK_NS;
        }
        settle(hub);
    }
    return NULL;
}

/* ---- The HTTP side ---- */

int ward_ws_new(struct ward_ws_hub *hub, const struct ward_http_request *req,
                const struct ward_ws_handler *h, void *userdata, struct ward_ws **out)
{
    pthread_mutex_lock(&hub->lock);
    int r = 0;
    if (hub->phase != HUB_RUNNING)
        r = -ESHUTDOWN;
    else if (hub->reserved >= hub->max_connections)
        r = WARD_E_LIMIT;
    else
        hub->reserved++;
    pthread_mutex_unlock(&hub->lock);
    if (r == WARD_E_LIMIT)
        atomic_fetch_add(&hub->refused, 1);
    if (r < 0)
        return r;
    struct ward_ws *ws = calloc(1, sizeof(*ws));
    if (!ws) {
        release(hub);
        return -ENOMEM;
    }
    ws->hub = hub;
    ws->h = h;
    ws->userdata = userdata;
    ws->fd = -1;
    memcpy(ws->remote, req->remote, sizeof(ws->remote));
    memcpy(ws->request_id, req->request_id, sizeof(ws->request_id));
    *out = ws;
    return 0;
}

void ward_ws_discard(struct ward_ws *ws)
{
    struct ward_ws_hub *hub = ws->hub;
    free(ws);
    release(hub);
}

void ward_ws_hand_over(struct ward_ws *ws, int fd, struct MHD_UpgradeResponseHandle *urh,
                       const char *extra, size_t extra_len)
{
    struct ward_ws_hub *hub = ws->hub;
    if (fd >= 0 && extra_len) {
        ws->extra = malloc(extra_len);
        if (ws->extra) {
            memcpy(ws->extra, extra, extra_len);
            ws->extra_len = extra_len;
        } else {
            ward_log_warn(ws->request_id, "websocket: out of memory; closing");
            MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
            fd = -1;
        }
    }
    pthread_mutex_lock(&hub->lock);
    /* Once the thread gave its sockets back, MHD may stop at any time: a late one goes back now. */
    bool give_back = fd >= 0 && hub->phase != HUB_RUNNING;
    if (fd >= 0 && !give_back) {
        ws->fd = fd;
        ws->urh = urh;
    }
    ws->next_incoming = NULL;
    if (hub->incoming_tail)
        hub->incoming_tail->next_incoming = ws;
    else
        hub->incoming = ws;
    hub->incoming_tail = ws;
    pthread_mutex_unlock(&hub->lock);
    /* From here ws belongs to the thread. */
    if (give_back)
        MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
    hub_signal(hub);
}

/* ---- Life of the hub ---- */

int ward_ws_hub_new(struct ward_http_server *s, struct ward_ws_hub **out)
{
    const struct ward_http_config *cfg = &s->cfg;
    struct ward_ws_hub *hub = calloc(1, sizeof(*hub));
    if (!hub)
        return -ENOMEM;
    hub->server = s;
    hub->max_queue = cfg->ws_max_queue ? cfg->ws_max_queue : WARD_WS_DEFAULT_MAX_QUEUE;
    hub->max_message = cfg->ws_max_message ? cfg->ws_max_message : WARD_WS_DEFAULT_MAX_MESSAGE;
    hub->max_connections =
        cfg->ws_max_connections ? cfg->ws_max_connections : WARD_WS_DEFAULT_MAX_CONNECTIONS;
    hub->ping_ns = (int64_t)(cfg->ws_ping_interval_s ? cfg->ws_ping_interval_s
                                                     : WARD_WS_DEFAULT_PING_INTERVAL_S) *
                   NS_PER_S;
    atomic_init(&hub->wake_pending, false);
    atomic_init(&hub->quiesce, false);
    hub->epfd = epoll_create1(EPOLL_CLOEXEC);
    hub->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    int r = 0;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (hub->epfd < 0 || hub->evfd < 0 || epoll_ctl(hub->epfd, EPOLL_CTL_ADD, hub->evfd, &ev) < 0)
        r = -errno;
    if (r == 0) {
        pthread_mutex_init(&hub->lock, NULL);
        pthread_cond_init(&hub->changed, NULL);
        r = -pthread_create(&hub->thread, NULL, hub_main, hub);
        if (r < 0) {
            pthread_cond_destroy(&hub->changed);
            pthread_mutex_destroy(&hub->lock);
        }
    }
    if (r < 0) {
        if (hub->epfd >= 0)
            close(hub->epfd);
        if (hub->evfd >= 0)
            close(hub->evfd);
        free(hub);
        return r;
    }
    *out = hub;
    return 0;
}

void ward_ws_hub_quiesce(struct ward_ws_hub *hub)
{
    if (!atomic_exchange(&hub->quiesce, true))
        hub_signal(hub);
}

static void set_phase(struct ward_ws_hub *hub, enum hub_phase phase)
{
    pthread_mutex_lock(&hub->lock);
    if (hub->phase < phase)
        hub->phase = phase;
    hub->closed_all = false;
    pthread_mutex_unlock(&hub->lock);
    hub_signal(hub);
}

void ward_ws_hub_close_all(struct ward_ws_hub *hub)
{
    set_phase(hub, HUB_CLOSE_ALL);
    pthread_mutex_lock(&hub->lock);
    while (!hub->closed_all)
        pthread_cond_wait(&hub->changed, &hub->lock);
    pthread_mutex_unlock(&hub->lock);
}

void ward_ws_hub_free(struct ward_ws_hub *hub)
{
    if (!hub)
        return;
    set_phase(hub, HUB_EXIT);
    pthread_join(hub->thread, NULL);
    if (hub->reserved)
        ward_log_error(NULL, "websocket: connections left at shutdown");
    close(hub->epfd);
    close(hub->evfd);
    pthread_cond_destroy(&hub->changed);
    pthread_mutex_destroy(&hub->lock);
    free(hub);
}

/* ---- Any thread ---- */

void ward_ws_wake(struct ward_http_server *s)
{
    struct ward_ws_hub *hub = s->ws;
    if (hub && !atomic_exchange(&hub->wake_pending, true))
        hub_signal(hub);
}

void ward_ws_stats(struct ward_http_server *s, struct ward_ws_stats *out)
{
    struct ward_ws_hub *hub = s->ws;
    if (!hub) {
        *out = (struct ward_ws_stats){0};
        return;
    }
    *out = (struct ward_ws_stats){
        .open = atomic_load(&hub->open),
        .opened = atomic_load(&hub->opened),
        .closed = atomic_load(&hub->closed),
        .refused = atomic_load(&hub->refused),
        .messages_sent = atomic_load(&hub->messages_sent),
        .bytes_sent = atomic_load(&hub->bytes_sent),
        .messages_received = atomic_load(&hub->messages_received),
        .queue_full = atomic_load(&hub->queue_full),
    };
}
