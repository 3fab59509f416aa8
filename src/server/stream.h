/*
 * The live stream: every stored sample, pushed to WebSocket subscribers
 * (GET /api/v1/stream, seed 001).
 *
 * The writer hands each committed batch to ward_stream_publish() on its
 * own thread. That call renders the batch's samples as JSON once, queues
 * it for the WebSocket thread and wakes it; it never blocks and never
 * waits for a client. The WebSocket thread (ward_stream_on_wake()) then
 * gives every subscriber the samples its filter selects, as messages of at
 * most WARD_STREAM_MESSAGE bytes (one per batch unless it is larger):
 *
 *   {"type":"metrics","metrics":[{"server_id","metric_type","metric_name",
 *     "value","labels","timestamp","kind"}, ...]}
 *
 * A subscriber whose socket cannot take its messages as fast as they come
 * fills its bounded send queue (ward_ws_send_text() refuses), and is then
 * closed with 1013 and counted as slow: one slow client costs nothing to
 * ingest or to the others. If the WebSocket thread itself falls behind by
 * more than WARD_STREAM_MAX_PENDING samples, whole batches are dropped and
 * counted instead of piling up.
 *
 * Filters (server_id, metric_type, name) come from the query string at the
 * handshake, or from a later {"type":"subscribe", ...} message; each holds
 * up to WARD_STREAM_MAX_VALUES values, and a sample passes when every
 * filter given has its value. A subscriber that is not let in at the
 * handshake (no session cookie, and no public_read) must send
 * {"type":"auth","token":"ADMIN_TOKEN"} first, within
 * WARD_STREAM_AUTH_TIMEOUT_MS; tokens never travel in the URL. A token
 * limited to a tenant sees that tenant's hosts only. Access is checked
 * again every WARD_STREAM_RECHECK_MS, so a revoked token or an ended
 * session stops its streams.
 */
#ifndef WARD_STREAM_H
#define WARD_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/auth.h"
#include "server/http/ws.h"
#include "server/store/store.h"

#define WARD_STREAM_MAX_VALUES      16
#define WARD_STREAM_MAX_VALUE       128
#define WARD_STREAM_MAX_PENDING     1000000     /* samples waiting for the WebSocket thread */
#define WARD_STREAM_MESSAGE         (32 * 1024) /* bytes of one message, unless one sample is more */
#define WARD_STREAM_AUTH_TIMEOUT_MS 10000
#define WARD_STREAM_RECHECK_MS      10000

/* WebSocket close codes the stream uses. */
#define WARD_WS_GOING_AWAY  1001
#define WARD_WS_UNSUPPORTED 1003
#define WARD_WS_POLICY      1008 /* authentication required or refused */
#define WARD_WS_TRY_LATER   1013 /* the client was too slow */

struct ward_stream;
struct ward_stream_client;

struct ward_stream_stats {
    size_t clients;       /* open subscribers */
    uint64_t messages;    /* messages queued to subscribers */
    uint64_t samples;     /* samples in them */
    uint64_t slow_closed; /* subscribers closed for being too slow */
    uint64_t dropped;     /* samples not streamed: the WebSocket thread fell behind */
};

struct ward_claims;

/*
 * Makes the hub. store is used for token checks on the WebSocket thread
 * and for the tenant of a batch's host on the writer's (only while a
 * subscriber limited to a tenant listens); sessions may be NULL; claims
 * limits failed logins by the auth message with the other logins.
 */
int ward_stream_new(struct ward_store *store, struct ward_sessions *sessions,
                    struct ward_claims *claims, struct ward_stream **out);
/* Frees s and every batch still queued. Call once the HTTP server is stopped. Accepts NULL. */
void ward_stream_free(struct ward_stream *s);

/*
 * Tells s which server's WebSocket thread serves it, so publish can wake
 * it; NULL before that server stops.
 */
void ward_stream_attach(struct ward_stream *s, struct ward_http_server *http);

/* The writer's on_commit hook (writer.h): userdata is the struct ward_stream. Any thread. */
void ward_stream_publish(void *userdata, const char *host_id, const struct ward_sample *v,
                         size_t n);

/*
 * What the server's ws_on_wake and ws_on_tick hooks call, on the WebSocket
 * thread: hand out the pending batches; close subscribers that did not
 * authenticate in time or whose access ended.
 */
void ward_stream_on_wake(struct ward_stream *s);
void ward_stream_on_tick(struct ward_stream *s);

/*
 * Makes a subscriber for a handshake: its filter from the query string of
 * req (400 answered and NULL returned when bad), and its access from the
 * caller (p) under policy. It is handed to ward_ws_upgrade() with
 * ward_stream_ws_handler.
 */
struct ward_stream_client *ward_stream_client_new(struct ward_stream *s,
                                                  struct ward_http_request *req,
                                                  const struct ward_principal *p,
                                                  const struct ward_auth_policy *policy);
void ward_stream_client_free(struct ward_stream_client *c);

extern const struct ward_ws_handler ward_stream_ws_handler;

void ward_stream_stats(struct ward_stream *s, struct ward_stream_stats *out);

#endif
