/*
 * Conversion of a ward wire batch into VictoriaMetrics' JSON-lines import
 * format, the body of POST /api/v1/import.
 *
 * Input: one wire document as ward_batch_encode() writes it (after gunzip):
 *
 *   {"server_id": ID, "batch": {...},
 *    "metrics": [{"metric_type", "metric_name", "value", "labels",
 *                 "timestamp", "kind"}, ...]}
 *
 * or, in its series shape, with "series": [{"metric_type", "metric_name",
 * "labels", "kind", "t0", "dt", "values"}, ...] in place of "metrics", one
 * object per series whose samples are its values at t0 and then at each
 * further delta of dt, converted to exactly the lines of the same samples.
 *
 * Output: one line per series, in the order each series first appears:
 *
 *   {"metric":{"__name__":NAME,"label":"value",...},"values":[...],"timestamps":[...]}
 *
 * NAME is the metric's Prometheus name (ward_exposition_name()), so a query
 * finds the same series whether Prometheus scraped the agent or the agent
 * pushed to VictoriaMetrics.
 */
#ifndef WARD_VM_IMPORT_H
#define WARD_VM_IMPORT_H

#include <stddef.h>

#include "common/buf.h"

/* Bounds on the input; exceeding one is WARD_E_LIMIT. */
#define WARD_VM_MAX_SAMPLES     100000 /* in one document: metrics[] entries, or series values */
#define WARD_VM_MAX_NAME        128    /* bytes of metric_type and of metric_name */
#define WARD_VM_MAX_LABELS      16     /* labels of one sample, as given */
#define WARD_VM_MAX_LABEL_KEY   128    /* bytes */
#define WARD_VM_MAX_LABEL_VALUE 1024   /* bytes */
#define WARD_VM_MAX_SERVER_ID   128    /* bytes */
#define WARD_VM_MAX_DEPTH       8      /* JSON nesting */

/*
 * Converts the len bytes of JSON at json, a ward wire batch, and appends the
 * VictoriaMetrics import lines to out, each ending in '\n' (nothing for a
 * batch without samples).
 *
 * The input must be what ward_batch_encode() writes; keys may come in any
 * order and unknown keys are ignored:
 * - "server_id": a string of 1 to WARD_VM_MAX_SERVER_ID bytes (required);
 * - exactly one of "metrics" and "series" (both, or neither, is refused);
 * - "metrics": an array of objects with "metric_type" and
 *   "metric_name" (required; 1 to WARD_VM_MAX_NAME of A-Z a-z 0-9 _ . - :,
 *   as the server's ingest accepts), "value" (required; a number),
 *   "timestamp" (required; integer Unix milliseconds from 0 to the end of
 *   year 9999), "kind" (optional; "gauge", the default, or "counter") and
 *   "labels" (optional; an object of at most WARD_VM_MAX_LABELS strings,
 *   keys of 1 to WARD_VM_MAX_LABEL_KEY bytes, values of at most
 *   WARD_VM_MAX_LABEL_VALUE bytes, no key twice, no "__name__");
 * - "series": an array of objects with "metric_type", "metric_name",
 *   "kind" and "labels" as above, "values" (required; an array of at least
 *   one number), "t0" (required; the first value's timestamp, as
 *   "timestamp" above) and "dt" (an array of len(values) - 1 integers of 0
 *   or more, each a timestamp minus the one before; may be left out for
 *   one value). Every timestamp must stay in range. Its samples convert as
 *   they would in "metrics", in the same order.
 *
 * Each line's "metric" holds "__name__" first, then the labels sorted by
 * key (bytewise). Labels with an empty value are dropped, as Prometheus and
 * VictoriaMetrics treat them as absent. A sample without an "instance"
 * label gets instance=server_id. Samples of the same series (same
 * __name__ and labels) share one line, in their order in the input; values
 * are written as doubles, timestamps as integers.
 *
 * Returns the number of lines (series) appended, 0 or more. On failure
 * returns a negative code and leaves out as it was: WARD_E_JSON_SYNTAX,
 * _UTF8, _NUMBER, _DEPTH or _SIZE for malformed JSON (_SIZE also for any
 * string or number literal over 4 KiB), WARD_E_JSON_TYPE for
 * a missing field, a wrong type or a bad value, WARD_E_LIMIT for a bound
 * above or out's own limit, -ENOMEM. err may be NULL; otherwise on failure
 * it is set to one line naming the problem and where it is
 * ("metrics[3].labels: more than 16 labels", "series[3].dt[7]: negative...").
 */
int ward_vm_import_convert(const char *json, size_t len, struct ward_buf *out,
                           struct ward_buf *err);

#endif
