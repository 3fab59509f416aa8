/*
 * Decoding of ingest batches: the body of POST /api/v1/ingest.
 *
 * The wire shape is seed 001's bulk ingest plus delivery fields:
 *
 *   {"server_id": UUID, "batch": {"seq": N, "boot": B},
 *    "metrics": [{"metric_type", "metric_name", "value", "labels",
 *                 "timestamp", "kind"}, ...]}
 *
 * "batch", "labels", "timestamp" and "kind" are optional. A timestamp is an
 * RFC 3339 string or integer Unix milliseconds; a missing one means "now".
 * Labels are a flat object of strings and are stored in canonical form
 * (keys sorted, compact), so the same label set always names the same
 * series. Unknown keys are ignored, so newer agents can talk to older
 * servers. Every field is bounded; the limits are below.
 *
 * Instead of "metrics" a batch may carry "series", which the agent sends
 * because it compresses about five times better:
 *
 *   "series": [{"metric_type", "metric_name", "labels", "kind",
 *               "t0", "dt": [ms, ...], "values": [v0, v1, ...]}, ...]
 *
 * t0 is the first value's time in Unix milliseconds, and each dt is the
 * time from one value to the next (>= 0, one fewer than the values; may be
 * left out for one value). Each value becomes one sample exactly as if it
 * had come in "metrics", in order. A batch carries one of the two shapes,
 * never both.
 */
#ifndef WARD_INGEST_H
#define WARD_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/uuid.h"
#include "server/labels.h"
#include "server/store/store.h"

#define WARD_INGEST_MAX_METRICS     100000          /* samples per batch; also series per batch */
#define WARD_INGEST_MAX_NAME        128             /* bytes of metric_type and metric_name */
#define WARD_INGEST_MAX_LABELS      WARD_LABELS_MAX /* labels per metric */
#define WARD_INGEST_MAX_LABEL_KEY   WARD_LABELS_MAX_KEY   /* bytes */
#define WARD_INGEST_MAX_LABEL_VALUE WARD_LABELS_MAX_VALUE /* bytes */
#define WARD_INGEST_MAX_DEPTH       8                     /* JSON nesting */

struct ward_ingest {
    char server_id[WARD_UUID_STR_LEN]; /* lower case */
    bool has_batch;
    struct ward_batch_key batch;
    struct ward_sample *samples; /* n_samples entries; strings point into the ingest */
    size_t n_samples;

    /* Private. */
    struct ward_buf strings;
    struct ward_buf entries;
};

void ward_ingest_init(struct ward_ingest *in);
void ward_ingest_done(struct ward_ingest *in);

/*
 * Decodes len bytes of JSON into in (which must be freshly initialised),
 * using now_ms for samples without a timestamp. Returns 0; WARD_E_LIMIT when
 * a limit above is exceeded; WARD_E_JSON_* for malformed JSON, a wrong type
 * or a bad value; or -ENOMEM. On failure err holds one line that names the
 * problem and where it is ("metrics[3].value: expected number, got string",
 * "series[3].dt[7]: must not be negative").
 */
int ward_ingest_decode(struct ward_ingest *in, const char *json, size_t len, int64_t now_ms,
                       struct ward_buf *err);

#endif
