/*
 * Internals of the WebSocket support, shared by ws-handshake.c (the HTTP
 * side: checks and the 101), ws.c (the WebSocket thread) and
 * http-server.c (start and shutdown), and by nothing else.
 *
 * A connection passes from the HTTP side to the thread exactly once:
 * ward_ws_new() reserves a place under the connection cap when the 101 is
 * queued, and ward_ws_hand_over() gives the connection to the thread, with
 * its socket when MHD upgraded it or without one when the upgrade never
 * happened (then the thread only runs on_close). Before the hand-over only
 * the request's HTTP thread touches the connection; after it only the
 * WebSocket thread does.
 *
 * Shutdown runs in three steps, each of which the thread finishes before
 * the next: quiesce (close frames 1001, no new upgrades), close_all (every
 * socket is given back to MHD, and a socket handed over later goes back to
 * MHD at once, so none is left when MHD stops), and free (after MHD
 * stopped: the thread runs the last on_close calls and ends).
 */
#ifndef WARD_WS_INTERNAL_H
#define WARD_WS_INTERNAL_H

#include "server/http/http-internal.h"
#include "server/http/ws.h"

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

/* Characters of a Sec-WebSocket-Key (base64 of 16 bytes) and of its accept value. */
#define WARD_WS_KEY_LEN    24
#define WARD_WS_ACCEPT_LEN 28

/*
 * Starts the WebSocket thread of s with the ws_* limits of s->cfg. Returns
 * 0, or -errno when the thread, its epoll set or its eventfd cannot be made.
 */
int ward_ws_hub_new(struct ward_http_server *s, struct ward_ws_hub **out);

/* Makes the thread send close frames 1001 to every WebSocket, now and later. Returns at once. */
void ward_ws_hub_quiesce(struct ward_ws_hub *hub);

/*
 * Makes the thread give every socket back to MHD (after a last try to send
 * a close frame 1001) and run their on_close, and waits until it did. A
 * socket handed over from now on goes back to MHD on the HTTP thread at
 * once. Call before MHD_stop_daemon().
 */
void ward_ws_hub_close_all(struct ward_ws_hub *hub);

/*
 * Ends the thread, after it ran on_close for every connection still handed
 * over, and frees the hub. Call after MHD_stop_daemon(). Accepts NULL.
 */
void ward_ws_hub_free(struct ward_ws_hub *hub);

/*
 * A new connection for req (whose remote address and request id it
 * copies), counted against ws_max_connections. Returns 0, -ESHUTDOWN once
 * the hub closes everything, WARD_E_LIMIT at the cap, or -ENOMEM.
 */
int ward_ws_new(struct ward_ws_hub *hub, const struct ward_http_request *req,
                const struct ward_ws_handler *h, void *userdata, struct ward_ws **out);

/* Frees a connection that was never handed over, without callbacks. */
void ward_ws_discard(struct ward_ws *ws);

/*
 * Gives ws to the WebSocket thread, from the HTTP thread: with the
 * upgraded socket fd, MHD's handle urh and the extra_len bytes MHD read
 * past the request head, or with fd -1 when the connection was never
 * upgraded. ws belongs to the thread afterwards.
 */
void ward_ws_hand_over(struct ward_ws *ws, int fd, struct MHD_UpgradeResponseHandle *urh,
                       const char *extra, size_t extra_len);

/*
 * Returns true when key (surrounding whitespace ignored) is the base64 of
 * 16 bytes: 22 base64 characters and "==".
 */
bool ward_ws_key_valid(const char *key);

/*
 * Writes the Sec-WebSocket-Accept value for a valid key (RFC 6455, 4.2.2:
 * base64 of the SHA-1 of the key and a fixed GUID), NUL-terminated.
 * Returns 0, or -EIO when libcrypto fails.
 */
int ward_ws_accept_key(const char *key, char out[WARD_WS_ACCEPT_LEN + 1]);

#endif
