/*
 * The agent's registration with ward-server, and its claim by an admin.
 *
 * The agent uploads with the API key it has (--api-key, else the one it
 * got before, in STATE_DIR/api-key), or with none: a server started with
 * --open-ingest, or with a shared key (-k), may take uploads without one.
 * An agent with an enrollment token and no key registers at start. Else,
 * when the server answers 401 about the key (the answer carries
 * WWW-Authenticate) to an upload or to the configuration request, the
 * agent calls ward_enroll_reject(), which forgets the key and starts a
 * registration. A 401 without WWW-Authenticate is about the request's
 * signature and never reaches this module.
 *
 *   POST /agent/register {agentId, claimTokenHash, hostname, agentVersion}
 *     "claimed"        (the enrollment token was right): the key is stored
 *     "pending_claim": the operator is told once how an admin claims the
 *                      agent, and GET /agents/ID/claim-status is polled,
 *                      with a growing, jittered wait, until it says
 *                      "claimed" and hands over the key (404: register again)
 *     409              another agent registered this id: an admin must
 *                      delete the host; registration is retried
 *
 * The claim token is made on first need and kept in STATE_DIR/claim-token;
 * the server only learns its SHA-256, and the admin presents the token.
 * Neither the token nor a key ever appears in a log line.
 *
 * The agent's main loop drives it: ward_enroll_due() says when it wants to
 * act, ward_enroll_run() does one request, and a key it obtains goes to the
 * uploads (ward_delivery_set_api_key()). It is used by one thread.
 */
#ifndef WARD_ENROLL_H
#define WARD_ENROLL_H

#include <stdbool.h>
#include <stdint.h>

#include "agent/health.h"
#include "common/buf.h"

/* The files in the state directory. */
#define WARD_ENROLL_TOKEN_FILE "claim-token"
#define WARD_ENROLL_KEY_FILE   "api-key"

/* The header of the server's enrollment token. */
#define WARD_ENROLL_TOKEN_HEADER "X-Ward-Enroll-Token"

/* Longest host name sent. */
#define WARD_ENROLL_HOSTNAME_MAX 253

/* The waits between requests; see struct ward_enroll_timing. */
#define WARD_ENROLL_POLL_BASE_MS  2000
#define WARD_ENROLL_POLL_MAX_MS   60000
#define WARD_ENROLL_RETRY_BASE_MS 1000
#define WARD_ENROLL_MIN_WAIT_MS   1000

/*
 * How long the agent waits between requests. The n-th wait in a row (from
 * 0) is drawn at random from [w/2, w], w = min(max, base * 2^n), and is at
 * least min_ms: poll_* while the agent waits for its claim or after a 409
 * or a 403, retry_* (with --backoff-max as the max) after network errors
 * and 5xx or 429 answers, or as long as a Retry-After says if longer.
 */
struct ward_enroll_timing {
    int64_t poll_base_ms, poll_max_ms;
    int64_t retry_base_ms;
    int64_t min_ms;
};

struct ward_enroll_config {
    const char *address;      /* the server: URL or HOST:PORT */
    const char *tls_ca;       /* PEM CA file, or NULL/"" for the system store */
    const char *state_dir;    /* exists already: the agent id is in it */
    const char *agent_id;     /* the agent's UUID */
    const char *hostname;     /* sent when registering; 1 to WARD_ENROLL_HOSTNAME_MAX bytes */
    const char *api_key;      /* --api-key: used and never stored; NULL/"" for none */
    const char *enroll_token; /* sent when registering; NULL/"" for none */
    int64_t timeout_ms;       /* one request */
    int64_t backoff_max_ms;   /* longest wait after network errors */
    /* NULL for the defaults above; tests make the waits short. */
    const struct ward_enroll_timing *timing;
    struct ward_health *health; /* its "claim" condition; may be NULL */
};

struct ward_enroll;

/*
 * Sets up registration: checks the settings and loads the API key (the
 * configured one, else STATE_DIR/api-key when it exists). Without a key but
 * with an enrollment token, registration is due at once (ward_enroll_due()).
 * Sends nothing.
 * Returns 0, or a negative error with a message in err: -EINVAL for a bad
 * address, key, enrollment token or host name, or an unreadable key file.
 */
int ward_enroll_new(const struct ward_enroll_config *cfg, struct ward_enroll **out,
                    struct ward_buf *err);

/* Frees e, wiping the secrets it holds. Accepts NULL. */
void ward_enroll_free(struct ward_enroll *e);

/* The API key to upload with, or NULL for none. Valid until the next call on e. */
const char *ward_enroll_key(const struct ward_enroll *e);

/* True while the agent registers or waits for its claim. */
bool ward_enroll_active(const struct ward_enroll *e);

/*
 * The server rejected the key (a 401 with WWW-Authenticate, to an upload or
 * to the configuration request), or requires one: forgets the key
 * (removes STATE_DIR/api-key; a configured key is only logged as rejected)
 * and starts registering at once. Nothing changes while registration is on.
 */
void ward_enroll_reject(struct ward_enroll *e);

/*
 * The monotonic time at which ward_enroll_run() should run next, or
 * INT64_MAX while there is nothing to do.
 */
int64_t ward_enroll_due(const struct ward_enroll *e);

/*
 * Takes one step: one request of at most the configured timeout, then
 * schedules the next. Returns true when it obtained a key, which it stored
 * (ward_enroll_key() gives it); registration is then over.
 */
bool ward_enroll_run(struct ward_enroll *e);

#endif
