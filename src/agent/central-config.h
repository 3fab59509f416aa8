/*
 * The agent's central configuration: the document ward-server keeps for
 * this agent, fetched, checked and applied while the agent runs.
 *
 *   GET /agent/ID/configuration   (X-Agent-API-Key, If-None-Match)
 *   200 {"agentId": ..., "version": 12,
 *        "collectors": {"cpu": {"interval": "5s"}, "processes": {"enabled": false}},
 *        "labels": {"env": "prod"},
 *        "probes": [{"type": "tcp", "target": "127.0.0.1:22"}]}   with an ETag
 *   304 unchanged; 401 no valid key (with WWW-Authenticate: registration sees
 *   to that, see ward_central_key_rejected()); 404 a server without the
 *   route: asked again after WARD_CENTRAL_NOT_FOUND_WAIT_MS
 *
 * The local configuration (file, environment, flags) gives the defaults;
 * the document overrides them: a collector's enabled and interval
 * (ward_scheduler_configure()), labels added to every sample
 * (ward_batch_set_labels()), and the reachability probes
 * (ward_reachability_configure()). An override the document no longer has
 * returns to the local value. A document is checked whole before any of it
 * is applied; a bad one is logged once, shown in /health (the
 * "configuration" condition) and leaves the configuration in force as it
 * is. The last applied document is kept in STATE_DIR/config.json and
 * applied again at the next start, so a restart while the server is away
 * keeps it.
 *
 * The agent's main loop drives it as it drives registration:
 * ward_central_due() says when to ask, ward_central_run() sends one request
 * (bounded by the request timeout) and applies what came. It is used by
 * one thread.
 */
#ifndef WARD_CENTRAL_CONFIG_H
#define WARD_CENTRAL_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "agent/batch.h"
#include "agent/collector.h"
#include "agent/health.h"
#include "agent/scheduler.h"
#include "common/buf.h"

/* The file of the state directory that keeps the applied document. */
#define WARD_CENTRAL_FILE "config.json"

/* Bounds of a document. */
#define WARD_CENTRAL_MAX_BYTES       (64 * 1024)
#define WARD_CENTRAL_MAX_LABELS      16
#define WARD_CENTRAL_LABEL_KEY_MAX   64
#define WARD_CENTRAL_LABEL_VALUE_MAX 256
/* A collector's interval in a document. */

/* The wait after a 404: the server has no such route, and will not have it soon. */
#define WARD_CENTRAL_NOT_FOUND_WAIT_MS 3600000
/* The shortest interval between two requests (--config-interval). */
#define WARD_CENTRAL_MIN_INTERVAL_MS 1000

struct ward_central_config {
    const char *address;   /* the server: URL or HOST:PORT */
    const char *tls_ca;    /* PEM CA file, or NULL/"" for the system store */
    const char *state_dir; /* exists already: the agent id is in it */
    const char *agent_id;  /* the agent's UUID */
    const char *api_key;   /* sent in X-Agent-API-Key; NULL/"" for none */
    /* How often to ask; 0: never, and the stored document is not applied either. */
    int64_t interval_ms;
    int64_t timeout_ms; /* one request */
    /* What a document is applied to; each may be NULL (not applied). */
    struct ward_scheduler *scheduler; /* collector overrides */
    struct ward_batch *batch;         /* labels */
    bool probes;                      /* the reachability collector's probe set */
    struct ward_health *health;       /* its "configuration" condition */
};

struct ward_central;

/*
 * Sets up the central configuration and applies the stored document, if
 * there is one and it is still valid (a bad one is logged and ignored).
 * Sends nothing. Returns 0, or a negative error with a message in err:
 * -EINVAL for a bad address, agent id, key or interval.
 */
int ward_central_new(const struct ward_central_config *cfg, struct ward_central **out,
                     struct ward_buf *err);

/* Frees c, wiping the key it holds. Accepts NULL. The configuration applied stays. */
void ward_central_free(struct ward_central *c);

/*
 * Sends key (NULL or "": none) from now on, and asks again at once: the
 * agent got a key by registering. Returns 0, -EINVAL for a key that could
 * not be a header value (nothing changes), or -ENOMEM.
 */
int ward_central_set_api_key(struct ward_central *c, const char *key);

/*
 * True when the last answer was a 401 about the key (it carried
 * WWW-Authenticate: the key is missing, unknown or revoked), until another
 * answer comes or ward_central_set_api_key() sets a key. The agent then
 * registers for a key, as after such a 401 of an upload.
 */
bool ward_central_key_rejected(const struct ward_central *c);

/* The monotonic time at which ward_central_run() should run next; INT64_MAX for never. */
int64_t ward_central_due(const struct ward_central *c);

/*
 * Asks the server once, applies a new valid document and stores it, and
 * schedules the next request. Returns true when it applied a new
 * configuration: collectors may then be due at once.
 */
bool ward_central_run(struct ward_central *c);

/* The version of the configuration applied; 0 for none. */
int64_t ward_central_version(const struct ward_central *c);

/* Emits agent_config_version and agent_config_errors_total (documents refused). */
void ward_central_emit(struct ward_central *c, const struct ward_collect_ctx *ctx);

#endif
