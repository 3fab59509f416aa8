/*
 * A batch of samples on its way from the collectors to the server.
 *
 * The batch is the sink collectors emit into. It stores samples compactly:
 * the metric by pointer to its static description, labels once each in
 * canonical JSON form in an arena. ward_batch_encode() writes
 * the wire document of DESIGN.md, ready for gzip.
 *
 * A batch may also carry labels of its own (ward_batch_set_labels()), which
 * it adds to every sample emitted into it, as Prometheus adds its
 * external_labels: the agent's centrally configured labels.
 */
#ifndef WARD_BATCH_H
#define WARD_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "agent/collector.h"
#include "common/buf.h"

/* Most labels of one sample, its own and the batch's together: the wire protocol's bound. */
#define WARD_BATCH_MAX_LABELS 16

struct batch_extra;

struct ward_batch {
    struct ward_sink sink; /* first, so the sink pointer is the batch */
    int64_t ts_ms;         /* stamped on samples emitted from now on */
    size_t max_samples;    /* emits beyond it fail with WARD_E_LIMIT */
    size_t dropped;        /* samples refused by the limit, in total */

    /* Private. */
    struct ward_buf entries;
    struct ward_buf labels;
    struct batch_extra *extra; /* the labels of ward_batch_set_labels(), or NULL */
};

/* Initialises an empty batch that holds at most max_samples samples. */
void ward_batch_init(struct ward_batch *b, size_t max_samples);
void ward_batch_done(struct ward_batch *b);

/* Empties the batch, keeping its storage, its labels and the dropped count. */
void ward_batch_reset(struct ward_batch *b);

/*
 * Adds copies of the n labels to every sample emitted from now on (samples
 * already in the batch keep theirs). A sample's own label of the same key
 * wins, and a sample carries at most WARD_BATCH_MAX_LABELS labels: those of
 * the batch that do not fit are left off, the last in key order first. n = 0
 * removes them. Returns 0; -EINVAL for more than WARD_BATCH_MAX_LABELS
 * labels, an empty or repeated key; or -ENOMEM. On failure the batch keeps
 * the labels it had.
 */
int ward_batch_set_labels(struct ward_batch *b, const struct ward_label *labels, size_t n);

/* The number of labels ward_batch_set_labels() gave the batch. */
size_t ward_batch_n_labels(const struct ward_batch *b);

/*
 * Appends the samples of src from index from on to dst. Returns 0 or a
 * negative error (dst unchanged but for reserved room).
 */
int ward_batch_copy_tail(struct ward_batch *dst, const struct ward_batch *src, size_t from);

/* Number of samples in the batch. */
size_t ward_batch_count(const struct ward_batch *b);

/* One sample of a batch, as ward_batch_get() returns it. */
struct ward_batch_sample {
    const struct ward_metric *metric;
    const char *labels; /* canonical JSON object ("{\"core\":\"0\"}"), or NULL for none */
    int64_t ts_ms;
    double value;
};

/* Reads sample i (< ward_batch_count()); pointers stay valid until the batch changes. */
void ward_batch_get(const struct ward_batch *b, size_t i, struct ward_batch_sample *out);

/*
 * Appends the wire JSON of the batch to out:
 * {"server_id":...,"batch":{"seq":...,"boot":...},"metrics":[...]}.
 * Returns 0 or a negative error.
 */
int ward_batch_encode(const struct ward_batch *b, const char *server_id, int64_t boot, int64_t seq,
                      struct ward_buf *out);

/*
 * Appends the series-shaped wire JSON of the batch to out: each series once,
 * with its name, labels and kind, "t0" (its first timestamp), "dt" (each
 * further timestamp minus the one before) and "values", in the order series
 * first appear (docs/api.md). About five times smaller than the per-sample
 * shape after gzip once series hold many points. A series whose timestamps
 * go backwards (the clock was set back) is written as two. Returns 0 or a
 * negative error.
 */
int ward_batch_encode_series(const struct ward_batch *b, const char *server_id, int64_t boot,
                             int64_t seq, struct ward_buf *out);

#endif
