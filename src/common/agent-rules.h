/*
 * The rules of an agent's central configuration, shared by the agent,
 * which applies documents, and the server, which checks them when they are
 * stored: one set of defaults and bounds, one check, so the server never
 * accepts a document every agent would refuse.
 */
#ifndef WARD_AGENT_RULES_H
#define WARD_AGENT_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A collector interval set centrally. */
#define WARD_RULES_INTERVAL_MIN_MS 1000
#define WARD_RULES_INTERVAL_MAX_MS 86400000

/* Defaults and bounds of a probe's fields. */
#define WARD_PROBE_INTERVAL_MS     30000
#define WARD_PROBE_INTERVAL_MIN_MS 1000
#define WARD_PROBE_INTERVAL_MAX_MS 86400000
#define WARD_PROBE_TIMEOUT_MS      2000
#define WARD_PROBE_TIMEOUT_MIN_MS  10
#define WARD_PROBE_TIMEOUT_MAX_MS  60000
#define WARD_PROBE_COUNT           3
#define WARD_PROBE_COUNT_MAX       100
#define WARD_PROBE_SPACING_MS      200
#define WARD_PROBE_SPACING_MAX_MS  10000
#define WARD_PROBE_TAG_KEY_MAX     63
#define WARD_PROBE_TAG_VALUE_MAX   127

/*
 * Checks the timing of a probe: each value within its bounds, the timeout
 * not above the interval, and for an icmp probe its count echoes, spacing
 * apart, within the timeout. Returns 0, or -EINVAL with *field and *why
 * saying what is wrong ("timeout", "must not exceed the interval").
 */
int ward_rules_probe_timing(bool icmp, int64_t interval_ms, int64_t timeout_ms, int64_t count,
                            int64_t spacing_ms, const char **field, const char **why);

/*
 * True when key may name a tag: 1 to WARD_PROBE_TAG_KEY_MAX of
 * [A-Za-z0-9_], not starting with a digit, and not "type" or "target",
 * which every probe's samples carry already.
 */
bool ward_rules_tag_key(const char *key);

/*
 * True when the n bytes of s may name a configured label:
 * [A-Za-z_][A-Za-z0-9_]*, not starting with "__" (reserved).
 */
bool ward_rules_label_name(const char *s, size_t n);

#endif
