/*
 * The agent's health: a small, thread-safe set of named conditions.
 *
 * Parts of the agent raise a condition ("collector:disk", "upload") with a
 * level and a reason, and clear it when it is over. The agent's status is
 * the worst level raised: ok, degraded or error, with the time it last
 * changed. /health serves it as JSON.
 */
#ifndef WARD_HEALTH_H
#define WARD_HEALTH_H

#include <stdint.h>

#include "common/buf.h"

enum ward_health_level {
    WARD_HEALTH_OK = 0,
    WARD_HEALTH_DEGRADED = 1,
    WARD_HEALTH_ERROR = 2,
};

struct ward_health;

/* Creates an empty (ok) health set. Returns NULL when out of memory. */
struct ward_health *ward_health_new(void);
void ward_health_free(struct ward_health *h);

/*
 * Raises (or updates) the condition key with level and reason; level OK
 * clears it. Keys and reasons are copied and truncated to bounded lengths.
 * At most a fixed number of conditions is kept; beyond it the worst level
 * still counts, under a generic reason.
 */
void ward_health_set(struct ward_health *h, const char *key, enum ward_health_level level,
                     const char *reason, int64_t now_ms);

/* The current status. */
enum ward_health_level ward_health_level(struct ward_health *h);

/*
 * Appends {"status":"ok|degraded|error","since":RFC3339,"reasons":[{"check":
 * key,"level":...,"reason":...,"since":...}, ...]} to out, and stores the
 * level it wrote in *level (when not NULL), read under the same lock.
 */
int ward_health_json(struct ward_health *h, struct ward_buf *out, enum ward_health_level *level);

#endif
