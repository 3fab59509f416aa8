/*
 * Delivery of sealed batches: the spool and the uploads out of it.
 *
 * Every sealed batch goes into the spool first (spool.h) and leaves it only
 * once the server answered 2xx, so batches survive a server outage and an
 * agent restart. Uploads go oldest first. A failure (a network error, a
 * timeout, 408, 429 or 5xx) backs off: the n-th failure in a row waits a
 * random time up to min(cap, 1 s * 2^n) ("full jitter"), or as long as the
 * server's Retry-After says if that is longer. Any other 4xx means the
 * server will never take the batch as it is: it is counted as a dead letter,
 * logged with the server's reason, and dropped.
 *
 * Except, from ward-server, 401 and 403, which are about the agent's
 * credentials and not about the batch: the batch stays. A 401 with
 * WWW-Authenticate (no key, or a key the server does not take) pauses
 * uploads to the server until the agent sets a new key
 * (ward_delivery_set_api_key(); the agent gets one by registering,
 * enroll.h); ward_delivery_key_rejected() tells it so. A 401 without it
 * (the server refused the request signature: a wrong -k, or the clock) and
 * a 403 (a key of another agent) are logged once and back off like a
 * failure; the key stays.
 *
 * Each response's Date header measures the clock skew against the server;
 * above WARD_SKEW_WARN_MS it is logged.
 *
 * With a VictoriaMetrics URL, the same batches also go to its
 * /api/v1/import as import lines, with their own cursor and back-off; a
 * batch leaves the spool when both took it.
 *
 * Up to `inflight` (-l) requests per output are in flight at once: a wave
 * takes that many of the oldest batches, sends each on its own connection
 * (the extra ones from short-lived threads) and settles them in order.
 * Apart from those sends, the delivery state is used by the agent's main
 * thread only.
 */
#ifndef WARD_DELIVERY_H
#define WARD_DELIVERY_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "agent/collector.h"
#include "agent/health.h"
#include "common/buf.h"

#define WARD_SKEW_WARN_MS 2000
/* Most requests in flight per output (-l). */
#define WARD_DELIVERY_MAX_INFLIGHT 64

struct ward_delivery_config {
    const char *address;    /* the server: URL or HOST:PORT */
    const char *tls_ca;     /* PEM CA file, or NULL/"" for the system store */
    const char *key;        /* signs uploads when set (NULL/"": unsigned) */
    const char *api_key;    /* sent to the server in X-Agent-API-Key when set */
    const char *vm_url;     /* VictoriaMetrics, a second output when set */
    int64_t timeout_ms;     /* one upload */
    const char *spool_path; /* the spool database */
    int64_t spool_bytes;    /* its cap */
    int64_t backoff_max_ms; /* longest wait after failures */
    int64_t inflight;       /* requests at once per output, 1 to WARD_DELIVERY_MAX_INFLIGHT */
    struct ward_health *health;
};

struct ward_delivery;

/*
 * Opens the spool and sets up uploads. Returns 0, or a negative error with
 * a message in err (-EINVAL for a bad address).
 */
int ward_delivery_new(const struct ward_delivery_config *cfg, struct ward_delivery **out,
                      struct ward_buf *err);
void ward_delivery_free(struct ward_delivery *d);

/* The server's base URL. */
const char *ward_delivery_url(const struct ward_delivery *d);

/* Stores a sealed batch (gzip-compressed wire JSON) of n_samples samples. */
void ward_delivery_store(struct ward_delivery *d, int64_t boot, int64_t seq, int64_t n_samples,
                         const void *body, size_t len);

/* Counts samples that never made it into a batch (it could not be encoded) as dropped. */
void ward_delivery_lost(struct ward_delivery *d, int64_t n_samples);

/*
 * The monotonic time at which uploads should run next: now when batches
 * wait and no back-off is on, the end of the back-off, or INT64_MAX when
 * the spool holds nothing to send.
 */
int64_t ward_delivery_due(const struct ward_delivery *d);

/*
 * Uploads spooled batches oldest first until none is left, an upload fails
 * (and backs off), the monotonic deadline passes, or a signal of stop (may
 * be NULL) arrives, which it reports by returning true.
 */
bool ward_delivery_run(struct ward_delivery *d, int64_t deadline_ms, const sigset_t *stop);

/*
 * True while uploads to the server are paused because it answered 401 with
 * WWW-Authenticate: the key is missing, invalid or revoked. Uploads to
 * VictoriaMetrics go on.
 */
bool ward_delivery_key_rejected(const struct ward_delivery *d);

/*
 * Sends key (NULL or "": none) to the server from now on, and resumes
 * uploads to it at once if a 401 paused them. Returns 0; -EINVAL for a key
 * that could not be a header value (see ward_uploader_set_api_key()), and
 * nothing changed; or -ENOMEM, and uploads go on without a key.
 */
int ward_delivery_set_api_key(struct ward_delivery *d, const char *key);

/* Batches in the spool that are still to be sent. */
int64_t ward_delivery_backlog(struct ward_delivery *d);

/* Emits the delivery's own metrics (category "agent"). */
void ward_delivery_emit(struct ward_delivery *d, const struct ward_collect_ctx *ctx);

#endif
