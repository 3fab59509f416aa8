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
#define WARD_VM_MAX_SAMPLES     100000 /* metrics[] entries in one document */
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
 * - "metrics": an array (required) of objects with "metric_type" and
 *   "metric_name" (required; 1 to WARD_VM_MAX_NAME of A-Z a-z 0-9 _ . - :,
 *   as the server's ingest accepts), "value" (required; a number),
 *   "timestamp" (required; integer Unix milliseconds from 0 to the end of
 *   year 9999), "kind" (optional; "gauge", the default, or "counter") and
 *   "labels" (optional; an object of at most WARD_VM_MAX_LABELS strings,
 *   keys of 1 to WARD_VM_MAX_LABEL_KEY bytes, values of at most
 *   WARD_VM_MAX_LABEL_VALUE bytes, no key twice, no "__name__").
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
 * ("metrics[3].labels: more than 16 labels").
 */
int ward_vm_import_convert(const char *json, size_t len, struct ward_buf *out,
                           struct ward_buf *err);

#endif
