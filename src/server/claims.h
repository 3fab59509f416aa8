/*
 * State of the claim workflow that lives in memory only: API keys waiting
 * to be delivered to their agent, and counters that limit claim attempts.
 *
 * A key made when an admin claims an agent (or rotates its key) is handed
 * out once, on the agent's next claim-status poll, and then forgotten; the
 * store keeps only its hash. A key not fetched within WARD_CLAIMS_KEY_TTL_MS
 * is dropped, and so are all of them when the server restarts: the agent
 * then keeps polling "pending" until an admin rotates its key.
 *
 * Claim attempts are counted per agent and per client address in fixed
 * windows, so a claim token cannot be guessed by trying; registrations
 * per client address, so nobody fills the host table from one place; and
 * failed dashboard logins per client address, so an admin token cannot be
 * guessed either.
 */
#ifndef WARD_CLAIMS_H
#define WARD_CLAIMS_H

#include <stdbool.h>
#include <stdint.h>

#define WARD_CLAIMS_KEY_TTL_MS          (24 * 3600 * 1000LL)
#define WARD_CLAIMS_MAX_KEYS            4096
#define WARD_CLAIMS_WINDOW_MS           (10 * 60 * 1000LL)
#define WARD_CLAIMS_PER_AGENT           10  /* attempts per window for one agent */
#define WARD_CLAIMS_PER_CLIENT          30  /* attempts per window from one address */
#define WARD_CLAIMS_REGISTER_PER_CLIENT 120 /* registrations per window from one address */
#define WARD_CLAIMS_LOGIN_FAILURES      30 /* failed dashboard logins per window from one address */
#define WARD_CLAIMS_MAX_COUNTERS        1024

struct ward_claims;

int ward_claims_new(struct ward_claims **out);
/* Frees c, wiping the keys it holds. Accepts NULL. */
void ward_claims_free(struct ward_claims *c);

/*
 * Keeps key for host_id until it is taken, replacing an earlier one.
 * Returns 0, or WARD_E_LIMIT when WARD_CLAIMS_MAX_KEYS wait already.
 */
int ward_claims_put_key(struct ward_claims *c, const char *host_id, const char *key,
                        int64_t now_ms);

/* Moves the key waiting for host_id into out (WARD_CRED_MAX bytes). Returns true if one waited. */
bool ward_claims_take_key(struct ward_claims *c, const char *host_id, char *out, int64_t now_ms);

/*
 * Counts a claim attempt on agent_id from client. Returns true when it is
 * within both limits, false when either is used up for this window.
 */
bool ward_claims_attempt(struct ward_claims *c, const char *agent_id, const char *client,
                         int64_t now_ms);

/* True while client has failed fewer than WARD_CLAIMS_LOGIN_FAILURES dashboard logins this window.
 */
bool ward_claims_login_allowed(struct ward_claims *c, const char *client, int64_t now_ms);

/* Counts a failed dashboard login from client. */
void ward_claims_login_failed(struct ward_claims *c, const char *client, int64_t now_ms);

/* Counts a registration from client. Returns true while within WARD_CLAIMS_REGISTER_PER_CLIENT. */
bool ward_claims_register_attempt(struct ward_claims *c, const char *client, int64_t now_ms);

#endif
