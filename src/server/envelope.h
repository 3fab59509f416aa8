/*
 * Decoding of spectra metric envelopes: the body of POST /api/v1/metrics.
 *
 * A spectra agent sends a JSON array of envelopes (a single envelope object
 * is accepted too), each
 *
 *   {"type": "network", "timestamp": "2025-01-02T15:04:05.123456789+01:00",
 *    "hostname": "web-01", "data": {...}}
 *
 * where "timestamp" is RFC 3339 (as Go marshals time.Time) or integer Unix
 * milliseconds, and "data" is the collector's payload in whatever shape it
 * has. ward has no schema for those payloads, so it flattens them by fixed
 * rules into samples of the envelope's host, with category = "type":
 *
 *   - A number is a sample named by the keys on its path joined with '_':
 *     {"memory": {"used": 5}} gives memory_used = 5. true and false are 1
 *     and 0. A number with no key above it is named "value". Key characters
 *     outside A-Z a-z 0-9 _ . - : become '_'.
 *   - An array of numbers gives one sample per element with the label
 *     index = "0", "1", ...
 *   - An array of objects gives one set of series per element, labelled by
 *     the element's own string fields: {"interfaces": [{"interface": "eth0",
 *     "rx_bytes": 1}]} gives interfaces_rx_bytes{interface="eth0"}. An
 *     element with no string field gets index instead. Labels of nested
 *     arrays add up; a label name met twice on one path gets a suffix
 *     (index, index_2).
 *   - Other strings and null are ignored.
 *   - Names ending in "_total" are counters, every other name a gauge.
 *
 * Elements whose string fields are equal give the same series; the store
 * keeps the first sample of a series per timestamp. Every input is bounded
 * (below); a refusal names the position, as in "[3].data.cpu.per_core[2]:
 * ...".
 */
#ifndef WARD_ENVELOPE_H
#define WARD_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "server/ingest.h"
#include "server/store/store.h"

#define WARD_ENVELOPE_MAX_ENVELOPES 10000                   /* per body */
#define WARD_ENVELOPE_MAX_HOSTS     256                     /* distinct hostnames per body */
#define WARD_ENVELOPE_MAX_HOSTNAME  253                     /* bytes */
#define WARD_ENVELOPE_MAX_SAMPLES   WARD_INGEST_MAX_METRICS /* per body */
#define WARD_ENVELOPE_MAX_NAME      WARD_INGEST_MAX_NAME    /* bytes of type and of a name */
#define WARD_ENVELOPE_MAX_DEPTH     16                      /* JSON nesting, the outer array too */
#define WARD_ENVELOPE_MAX_STRING    (64 * 1024)             /* bytes of any one string */
/* Label bounds are those of every series: WARD_LABELS_MAX, _MAX_KEY, _MAX_VALUE. */

/* The samples of one host; strings point into the batch. */
struct ward_envelope_host {
    const char *hostname;
    const struct ward_sample *samples;
    size_t n;
};

struct ward_envelope_batch {
    struct ward_envelope_host *hosts; /* n_hosts entries, in order of first appearance */
    size_t n_hosts;
    size_t n_envelopes;
    size_t n_samples;

    /* Private. */
    struct ward_sample *samples;
    struct ward_buf strings, entries, frames, labels, envs, host_list;
};

void ward_envelope_init(struct ward_envelope_batch *b);
void ward_envelope_done(struct ward_envelope_batch *b);

/*
 * Decodes len bytes of JSON into b (freshly initialised), with now_ms as
 * the time of an envelope without a timestamp. Returns 0; WARD_E_LIMIT when
 * a bound is exceeded; WARD_E_JSON_* for malformed JSON, a wrong type or a
 * bad value; or -ENOMEM. On failure err holds one line naming the problem
 * and its position.
 */
int ward_envelope_decode(struct ward_envelope_batch *b, const char *json, size_t len,
                         int64_t now_ms, struct ward_buf *err);

#endif
