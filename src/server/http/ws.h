/*
 * WebSocket connections (RFC 6455) on the HTTP server.
 *
 * A route handler that wants a WebSocket calls ward_ws_upgrade() instead of
 * responding. It checks the handshake and the Origin, answers 101 through
 * the HTTP layer, and from then on the connection belongs to the server's
 * one WebSocket thread, which owns every upgraded socket: it reads and
 * writes them without blocking (epoll), frames with libwslay, pings idle
 * peers, and runs every callback below. Code on other threads never touches
 * a connection; it calls ward_ws_wake(), and the thread then calls the
 * configured ws_on_wake(), where the application sends what it queued.
 *
 * Every input is bounded: the size of one incoming message
 * (ws_max_message), the bytes queued for sending per connection
 * (ws_max_queue), and the number of connections (ws_max_connections).
 * Only text messages are accepted; a binary message closes the connection
 * with 1003, one over the limit with 1009, invalid UTF-8 with 1007.
 *
 * Shutdown: ward_http_quiesce() sends every open WebSocket a close frame
 * 1001 "server shutting down" and refuses new upgrades with 503, so that a
 * drain waits for WebSockets only as long as their close handshake takes
 * (at most WARD_WS_CLOSE_TIMEOUT_MS). ward_http_stop() closes what is left
 * and ends the thread; every on_close has run when it returns.
 */
#ifndef WARD_WS_H
#define WARD_WS_H

#include <stddef.h>
#include <stdint.h>

#include "server/http/http.h"

/* Defaults of the configuration keys when they are 0. */
#define WARD_WS_DEFAULT_MAX_QUEUE       ((size_t)1 << 20)
#define WARD_WS_DEFAULT_MAX_CONNECTIONS 1024
#define WARD_WS_DEFAULT_MAX_MESSAGE     ((size_t)64 << 10)
#define WARD_WS_DEFAULT_PING_INTERVAL_S 30

/*
 * How long a closing connection waits for its close frame to be written
 * and for the peer to close, before the socket is closed regardless.
 */
#define WARD_WS_CLOSE_TIMEOUT_MS 2000

/* Longest close reason, in bytes (RFC 6455, 5.5: a control frame carries at most 125). */
#define WARD_WS_CLOSE_REASON_MAX 123

/* One WebSocket connection; it lives on the WebSocket thread. */
struct ward_ws;

/*
 * What the application does with a connection. Every callback runs on the
 * WebSocket thread, one at a time, and may call the functions below on any
 * connection; none may block, nor call ward_http_stop(). app is the
 * server's cfg.app. Free the state the callbacks use only after
 * ward_http_stop() returned.
 */
struct ward_ws_handler {
    /* The 101 went out and the connection is open. May be NULL. */
    void (*on_open)(struct ward_ws *ws, void *app);
    /*
     * One complete text message, valid UTF-8, of at most ws_max_message
     * bytes. msg is not NUL-terminated and lives until the callback
     * returns. Not called once the connection is closing. May be NULL.
     */
    void (*on_text)(struct ward_ws *ws, const char *msg, size_t len, void *app);
    /*
     * Exactly once for every ward_ws_upgrade() that returned 0, when the
     * connection is gone: after on_open, or without it when the client
     * left before the 101 went out or the server was already shutting
     * down. Free the userdata here; ws is freed when this returns. Sending
     * on ws from here fails with -ESHUTDOWN. Required.
     */
    void (*on_close)(struct ward_ws *ws, void *app);
};

/*
 * Turns the request into a WebSocket, from a route handler (or a resume
 * callback) instead of responding. Checks, answering the client:
 *   - GET, "Upgrade: websocket" and a Connection header with the "upgrade"
 *     token, and Sec-WebSocket-Key the base64 of 16 bytes, else 400;
 *   - Sec-WebSocket-Version 13, else 426 with "Sec-WebSocket-Version: 13";
 *   - Origin: a request without one is allowed (clients other than
 *     browsers), else its host[:port] must equal the Host header, or the
 *     origin be one of the server's CORS origins ("*" allows all), else 403;
 *   - the server is not shutting down, and fewer than ws_max_connections
 *     WebSockets exist, else 503 with Retry-After.
 * Then it answers 101 with Sec-WebSocket-Accept; h (which must outlive the
 * server, typically a static const) and userdata go with the connection.
 *
 * Returns 0 when it answered 101: from then on userdata belongs to the
 * connection, and h->on_close runs exactly once. On a refusal it returns a
 * negative error after answering with a JSON error, and userdata stays the
 * caller's: -EPROTO (400, 426), -EPERM (403), -ESHUTDOWN (503 while
 * shutting down, or the request is detached), WARD_E_LIMIT (503, too many
 * WebSockets), -EALREADY or -EBUSY (the request was answered or is
 * suspended), -ENOMEM or WARD_E_HTTP.
 */
int ward_ws_upgrade(struct ward_http_request *req, const struct ward_ws_handler *h, void *userdata);

/* The userdata given to ward_ws_upgrade() or set later. */
void *ward_ws_userdata(const struct ward_ws *ws);
void ward_ws_set_userdata(struct ward_ws *ws, void *userdata);

/* The client's IP address as text, as ward_http_remote() gave it. */
const char *ward_ws_remote(const struct ward_ws *ws);

/* The request id of the upgrade request, for log lines. */
const char *ward_ws_request_id(const struct ward_ws *ws);

/*
 * Queues one text message (the caller vouches that it is UTF-8); only on
 * the WebSocket thread. It is written when the callback returns, or at
 * once when the queue is full, and later as the socket takes it. Returns
 * 0; WARD_E_LIMIT when the bytes queued for this connection that the
 * socket did not take would exceed ws_max_queue (a message larger than
 * ws_max_queue never fits): the message is then not queued, and the caller
 * decides, typically ward_ws_close(ws, 1013, "too slow"); -ESHUTDOWN once
 * the connection is closing or failed; -ENOMEM.
 */
int ward_ws_send_text(struct ward_ws *ws, const char *msg, size_t len);

/* Bytes queued for ws and not yet completely written; only on the WebSocket thread. */
size_t ward_ws_queued_bytes(const struct ward_ws *ws);

/*
 * Closes ws; only on the WebSocket thread. Sends a close frame with code
 * and reason (cut to WARD_WS_CLOSE_REASON_MAX bytes at a UTF-8 boundary;
 * NULL for none) after what is queued, delivers no more messages, and
 * closes the socket once the peer answered or after
 * WARD_WS_CLOSE_TIMEOUT_MS; on_close follows, later. A code that may not
 * be sent (below 1000, 1004-1006, 1015, 1016-2999, 5000 and up) is sent as
 * 1000. Does nothing when ws is closing already.
 */
void ward_ws_close(struct ward_ws *ws, uint16_t code, const char *reason);

/*
 * From any thread: asks the WebSocket thread to call cfg.ws_on_wake(app)
 * soon. Wakes coalesce: any number of them before the thread gets to it
 * give one call. Never blocks (an atomic flag and an eventfd write). Safe
 * during quiesce, drain and stop (ws_on_wake still runs, and sends fail
 * with -ESHUTDOWN once connections close), but ward_http_stop() frees
 * what it uses when it returns: a thread that may still call this then
 * must be stopped first, or must check a flag of its own, under its own
 * lock, that is cleared before ward_http_stop() is called.
 */
void ward_ws_wake(struct ward_http_server *s);

struct ward_ws_stats {
    size_t open;                /* connections open now */
    uint64_t opened;            /* connections that were opened */
    uint64_t closed;            /* opened connections that closed since */
    uint64_t refused;           /* upgrades refused with 503 at ws_max_connections */
    uint64_t messages_sent;     /* text messages queued by ward_ws_send_text() */
    uint64_t bytes_sent;        /* bytes written to the sockets, framing included */
    uint64_t messages_received; /* text messages delivered to on_text */
    uint64_t queue_full;        /* ward_ws_send_text() calls refused with WARD_E_LIMIT */
};

/* A snapshot of the counters; from any thread. */
void ward_ws_stats(struct ward_http_server *s, struct ward_ws_stats *out);

#endif
