/*
 * A batch of samples.
 *
 * Samples are fixed-size entries in one growable array; label sets are
 * serialised once, sorted by key, into an arena when they are emitted, so
 * encoding the batch is a straight walk that copies them as raw JSON. The
 * sort makes the label text canonical, which is what the server keys series
 * by.
 *
 * The batch's own labels (ward_batch_set_labels()) are kept sorted in one
 * allocation and merged into each sample's sorted labels as they are
 * serialised, so they cost a merge per labelled sample and nothing when
 * there are none. A sample's own label wins over the batch's of the same
 * key: a collector knows what its series are.
 */
#include "agent/batch.h"

#include "common/error.h"
#include "common/json.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NO_LABELS SIZE_MAX

/* The batch's labels: sorted by key, their text in the same allocation. */
struct batch_extra {
    size_t n;
    struct ward_label l[WARD_BATCH_MAX_LABELS];
    char text[];
};

struct entry {
    const struct ward_metric *metric;
    size_t labels; /* offset into the label arena, or NO_LABELS */
    int64_t ts_ms;
    double value;
};

static bool has_key(const struct ward_label *const *labels, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(labels[i]->key, key) == 0)
            return true;
    return false;
}

/*
 * Merges the sample's own labels (sorted) with the batch's that it does not
 * have, as many as fit, into out in key order. Returns the number.
 */
static size_t merge_extra(const struct batch_extra *x, const struct ward_label *const *own,
                          size_t n, const struct ward_label **out)
{
    const struct ward_label *add[WARD_BATCH_MAX_LABELS];
    size_t n_add = 0;
    for (size_t i = 0; x && i < x->n && n + n_add < WARD_BATCH_MAX_LABELS; i++)
        if (!has_key(own, n, x->l[i].key))
            add[n_add++] = &x->l[i];
    size_t i = 0, j = 0, k = 0;
    while (i < n || j < n_add)
        out[k++] =
            j == n_add || (i < n && strcmp(own[i]->key, add[j]->key) < 0) ? own[i++] : add[j++];
    return k;
}

static int write_labels(struct ward_batch *b, const struct ward_label *labels, size_t n,
                        size_t *off)
{
    const struct ward_label *sorted[WARD_SAMPLE_MAX_LABELS];
    const struct ward_label *merged[WARD_BATCH_MAX_LABELS];
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
    const struct ward_label *const *all = sorted;
    if (b->extra) {
        n = merge_extra(b->extra, sorted, n, merged);
        all = merged;
    }
    size_t at = b->labels.len;
    struct ward_json_writer w;
    ward_json_writer_init(&w, &b->labels);
    ward_json_write_object_begin(&w);
    for (size_t i = 0; i < n; i++) {
        ward_json_write_keyz(&w, all[i]->key);
        ward_json_write_stringz(&w, all[i]->value);
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
    int r = n_labels || b->extra ? write_labels(b, labels, n_labels, &e.labels) : 0;
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
    free(b->extra);
    b->extra = NULL;
}

int ward_batch_set_labels(struct ward_batch *b, const struct ward_label *labels, size_t n)
{
    if (n > WARD_BATCH_MAX_LABELS)
        return -EINVAL;
    size_t text = 0;
    for (size_t i = 0; i < n; i++) {
        if (!*labels[i].key)
            return -EINVAL;
        for (size_t j = 0; j < i; j++)
            if (strcmp(labels[i].key, labels[j].key) == 0)
                return -EINVAL;
        text += strlen(labels[i].key) + strlen(labels[i].value) + 2;
    }
    struct batch_extra *x = NULL;
    if (n > 0) {
        x = malloc(sizeof(*x) + text);
        if (!x)
            return -ENOMEM;
        x->n = 0;
        char *p = x->text;
        for (size_t i = 0; i < n; i++) {
            /* Insertion in key order; the keys are distinct. */
            size_t j = x->n++;
            while (j > 0 && strcmp(x->l[j - 1].key, labels[i].key) > 0) {
                x->l[j] = x->l[j - 1];
                j--;
            }
            size_t kl = strlen(labels[i].key) + 1, vl = strlen(labels[i].value) + 1;
            memcpy(p, labels[i].key, kl);
            memcpy(p + kl, labels[i].value, vl);
            x->l[j] = (struct ward_label){p, p + kl};
            p += kl + vl;
        }
    }
    free(b->extra);
    b->extra = x;
    return 0;
}

size_t ward_batch_n_labels(const struct ward_batch *b)
{
    return b->extra ? b->extra->n : 0;
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
