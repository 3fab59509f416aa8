/*
 * A batch of samples.
 *
 * Samples are fixed-size entries in one growable array; label sets are
 * serialised once, sorted by key, into an arena when they are emitted, so
 * encoding the batch is a straight walk that copies them as raw JSON. The
 * sort makes the label text canonical, which is what the server keys series
 * by.
 */
#include "agent/batch.h"

#include "common/error.h"
#include "common/json.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NO_LABELS SIZE_MAX

struct entry {
    const struct ward_metric *metric;
    size_t labels; /* offset into the label arena, or NO_LABELS */
    int64_t ts_ms;
    double value;
};

static int write_labels(struct ward_batch *b, const struct ward_label *labels, size_t n,
                        size_t *off)
{
    const struct ward_label *sorted[WARD_SAMPLE_MAX_LABELS];
    if (n > WARD_SAMPLE_MAX_LABELS)
        return WARD_E_LIMIT;
    /* Insertion sort: a handful of labels at most. */
    for (size_t i = 0; i < n; i++) {
        size_t j = i;
        while (j > 0 && strcmp(sorted[j - 1]->key, labels[i].key) > 0) {
            sorted[j] = sorted[j - 1];
            j--;
        }
        sorted[j] = &labels[i];
    }
    size_t at = b->labels.len;
    struct ward_json_writer w;
    ward_json_writer_init(&w, &b->labels);
    ward_json_write_object_begin(&w);
    for (size_t i = 0; i < n; i++) {
        ward_json_write_keyz(&w, sorted[i]->key);
        ward_json_write_stringz(&w, sorted[i]->value);
    }
    ward_json_write_object_end(&w);
    int r = ward_json_writer_finish(&w);
    if (r == 0)
        r = ward_buf_putc(&b->labels, '\0');
    if (r < 0) {
        b->labels.len = at;
        return r;
    }
    *off = at;
    return 0;
}

static int batch_emit(struct ward_sink *sink, const struct ward_metric *m, double value,
                      const struct ward_label *labels, size_t n_labels)
{
    struct ward_batch *b = (struct ward_batch *)sink;
    if (!isfinite(value))
        return -EDOM; /* JSON has no NaN or infinity; a collector bug, refused here */
    if (ward_batch_count(b) >= b->max_samples) {
        b->dropped++;
        return WARD_E_LIMIT;
    }
    struct entry e = {
        .metric = m,
        .labels = NO_LABELS,
        .ts_ms = b->ts_ms,
        .value = value,
    };
    int r = n_labels ? write_labels(b, labels, n_labels, &e.labels) : 0;
    if (r == 0)
        r = ward_buf_append(&b->entries, &e, sizeof(e));
    return r;
}

void ward_batch_init(struct ward_batch *b, size_t max_samples)
{
    *b = (struct ward_batch){.sink.emit = batch_emit, .max_samples = max_samples};
    ward_buf_init(&b->entries, 0);
    ward_buf_init(&b->labels, 0);
}

void ward_batch_done(struct ward_batch *b)
{
    ward_buf_done(&b->entries);
    ward_buf_done(&b->labels);
}

void ward_batch_reset(struct ward_batch *b)
{
    ward_buf_reset(&b->entries);
    ward_buf_reset(&b->labels);
}

int ward_batch_copy_tail(struct ward_batch *dst, const struct ward_batch *src, size_t from)
{
    size_t n = ward_batch_count(src);
    if (from >= n)
        return 0;
    const struct entry *e = (const struct entry *)src->entries.data + from;
    /* The tail's labels are the end of src's arena, from the first of them on. */
    size_t labels_at = src->labels.len;
    for (size_t i = 0; i < n - from && labels_at == src->labels.len; i++)
        if (e[i].labels != NO_LABELS)
            labels_at = e[i].labels;
    size_t shift = dst->labels.len;
    int r = ward_buf_reserve(&dst->entries, (n - from) * sizeof(*e));
    if (r == 0)
        r = ward_buf_append(&dst->labels, src->labels.data + labels_at,
                            src->labels.len - labels_at);
    if (r < 0)
        return r;
    for (size_t i = 0; i < n - from; i++) {
        struct entry c = e[i];
        if (c.labels != NO_LABELS)
            c.labels = c.labels - labels_at + shift;
        ward_buf_append(&dst->entries, &c, sizeof(c)); /* reserved above */
    }
    return 0;
}

size_t ward_batch_count(const struct ward_batch *b)
{
    return b->entries.len / sizeof(struct entry);
}

void ward_batch_get(const struct ward_batch *b, size_t i, struct ward_batch_sample *out)
{
    const struct entry *e = (const struct entry *)b->entries.data + i;
    *out = (struct ward_batch_sample){
        .metric = e->metric,
        .labels = e->labels == NO_LABELS ? NULL : b->labels.data + e->labels,
        .ts_ms = e->ts_ms,
        .value = e->value,
    };
}

/* Opens the document and writes what both shapes start with: the agent and the batch's key. */
static void write_head(struct ward_json_writer *w, const char *server_id, int64_t boot, int64_t seq)
{
    ward_json_write_object_begin(w);
    ward_json_write_keyz(w, "server_id");
    ward_json_write_stringz(w, server_id);
    ward_json_write_keyz(w, "batch");
    ward_json_write_object_begin(w);
    ward_json_write_keyz(w, "seq");
    ward_json_write_int(w, seq);
    ward_json_write_keyz(w, "boot");
    ward_json_write_int(w, boot);
    ward_json_write_object_end(w);
}

int ward_batch_encode(const struct ward_batch *b, const char *server_id, int64_t boot, int64_t seq,
                      struct ward_buf *out)
{
    struct ward_json_writer w;
    ward_json_writer_init(&w, out);
    write_head(&w, server_id, boot, seq);
    ward_json_write_keyz(&w, "metrics");
    ward_json_write_array_begin(&w);
    const struct entry *e = (const struct entry *)b->entries.data;
    for (size_t i = 0, n = ward_batch_count(b); i < n; i++) {
        ward_json_write_object_begin(&w);
        ward_json_write_keyz(&w, "metric_type");
        ward_json_write_stringz(&w, e[i].metric->category);
        ward_json_write_keyz(&w, "metric_name");
        ward_json_write_stringz(&w, e[i].metric->name);
        ward_json_write_keyz(&w, "value");
        ward_json_write_double(&w, e[i].value);
        if (e[i].labels != NO_LABELS) {
            const char *l = b->labels.data + e[i].labels;
            ward_json_write_keyz(&w, "labels");
            ward_json_write_raw(&w, l, strlen(l));
        }
        ward_json_write_keyz(&w, "timestamp");
        ward_json_write_int(&w, e[i].ts_ms);
        if (e[i].metric->kind == WARD_SAMPLE_COUNTER) {
            ward_json_write_keyz(&w, "kind");
            ward_json_write_stringz(&w, "counter");
        }
        ward_json_write_object_end(&w);
    }
    ward_json_write_array_end(&w);
    ward_json_write_object_end(&w);
    return ward_json_writer_finish(&w);
}

/* A series of a batch while it is grouped: its first and last entry. */
struct group {
    size_t head, tail; /* entry indexes; SIZE_MAX marks a free slot */
};

static uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= UINT64_C(0xff51afd7ed558ccd);
    h ^= h >> 33;
    return h;
}

static uint64_t entry_hash(const struct ward_batch *b, const struct entry *e)
{
    uint64_t h = mix((uint64_t)(uintptr_t)e->metric);
    if (e->labels != NO_LABELS)
        for (const unsigned char *p = (const unsigned char *)b->labels.data + e->labels; *p; p++)
            h = (h ^ *p) * UINT64_C(0x100000001b3);
    return mix(h);
}

static bool same_series(const struct ward_batch *b, const struct entry *x, const struct entry *y)
{
    if (x->metric != y->metric)
        return false;
    if (x->labels == NO_LABELS || y->labels == NO_LABELS)
        return x->labels == y->labels;
    return strcmp(b->labels.data + x->labels, b->labels.data + y->labels) == 0;
}

/*
 * Links the entries of each series: next[i] is the next entry of i's series
 * (SIZE_MAX at its end), and heads lists each series' first entry in the
 * order series first appear. A series whose time would go backwards (the
 * wall clock was set back) starts a new group, so deltas are never negative.
 * Returns the number of groups, or -ENOMEM.
 */
static ssize_t group_series(const struct ward_batch *b, size_t *next, size_t *heads)
{
    const struct entry *e = (const struct entry *)b->entries.data;
    size_t n = ward_batch_count(b), cap = 16, n_heads = 0;
    while (cap < 2 * n)
        cap *= 2;
    struct group *t = malloc(cap * sizeof(*t));
    if (!t)
        return -ENOMEM;
    for (size_t i = 0; i < cap; i++)
        t[i].head = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        next[i] = SIZE_MAX;
        size_t k = (size_t)entry_hash(b, &e[i]) & (cap - 1);
        while (t[k].head != SIZE_MAX && !same_series(b, &e[t[k].head], &e[i]))
            k = (k + 1) & (cap - 1);
        if (t[k].head != SIZE_MAX && e[t[k].tail].ts_ms <= e[i].ts_ms) {
            next[t[k].tail] = i;
            t[k].tail = i;
            continue;
        }
        /* A new series, or the same one with the clock set back: a new group. */
        t[k] = (struct group){i, i};
        heads[n_heads++] = i;
    }
    free(t);
    return (ssize_t)n_heads;
}

int ward_batch_encode_series(const struct ward_batch *b, const char *server_id, int64_t boot,
                             int64_t seq, struct ward_buf *out)
{
    size_t n = ward_batch_count(b);
    size_t *next = malloc((n ? n : 1) * sizeof(*next));
    size_t *heads = malloc((n ? n : 1) * sizeof(*heads));
    ssize_t n_heads = next && heads ? group_series(b, next, heads) : -ENOMEM;
    if (n_heads < 0) {
        free(next);
        free(heads);
        return -ENOMEM;
    }
    const struct entry *e = (const struct entry *)b->entries.data;
    struct ward_json_writer w;
    ward_json_writer_init(&w, out);
    write_head(&w, server_id, boot, seq);
    ward_json_write_keyz(&w, "series");
    ward_json_write_array_begin(&w);
    for (ssize_t g = 0; g < n_heads; g++) {
        const struct entry *first = &e[heads[g]];
        ward_json_write_object_begin(&w);
        ward_json_write_keyz(&w, "metric_type");
        ward_json_write_stringz(&w, first->metric->category);
        ward_json_write_keyz(&w, "metric_name");
        ward_json_write_stringz(&w, first->metric->name);
        if (first->labels != NO_LABELS) {
            const char *l = b->labels.data + first->labels;
            ward_json_write_keyz(&w, "labels");
            ward_json_write_raw(&w, l, strlen(l));
        }
        if (first->metric->kind == WARD_SAMPLE_COUNTER) {
            ward_json_write_keyz(&w, "kind");
            ward_json_write_stringz(&w, "counter");
        }
        ward_json_write_keyz(&w, "t0");
        ward_json_write_int(&w, first->ts_ms);
        ward_json_write_keyz(&w, "dt");
        ward_json_write_array_begin(&w);
        for (size_t i = heads[g]; next[i] != SIZE_MAX; i = next[i])
            ward_json_write_int(&w, e[next[i]].ts_ms - e[i].ts_ms);
        ward_json_write_array_end(&w);
        ward_json_write_keyz(&w, "values");
        ward_json_write_array_begin(&w);
        for (size_t i = heads[g]; i != SIZE_MAX; i = next[i])
            ward_json_write_double(&w, e[i].value);
        ward_json_write_array_end(&w);
        ward_json_write_object_end(&w);
    }
    ward_json_write_array_end(&w);
    ward_json_write_object_end(&w);
    free(next);
    free(heads);
    return ward_json_writer_finish(&w);
}
