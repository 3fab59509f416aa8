/*
 * Decoding of ingest batches.
 *
 * One pass over the JSON tokens, with no tree: each metric is validated as
 * it is read and appended to a flat array of entries whose strings live in
 * one arena buffer. Entries record arena offsets rather than pointers
 * because the arena may move while it grows; the samples handed to the
 * store are built from them once, at the end. Labels are collected per
 * metric, sorted and re-serialised, which gives every label set one
 * canonical spelling.
 *
 * The series shape lands in the same entries: each number of "values" is
 * appended as soon as it is read, so the cap on samples per batch holds
 * while a long array is being read rather than after it was buffered. The
 * keys of a series may come in any order, so its names, labels and
 * timestamps are filled into its entries once its object is closed. From
 * there on nothing tells the two shapes apart.
 */
#include "server/ingest.h"
#include "server/labels.h"

#include "common/error.h"
#include "common/json.h"
#include "common/time-util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The largest timestamp accepted: 9999-12-31T23:59:59.999Z, what RFC 3339 can spell. */
#define MAX_TS_MS INT64_C(253402300799999)

struct entry {
    size_t category, name, labels; /* offsets into the arena */
    enum ward_metric_kind kind;
    int64_t ts_ms;
    double value;
};

struct decoder {
    struct ward_ingest *in;
    struct ward_json_reader r;
    struct ward_buf *err;
    int64_t now_ms;
    size_t index;           /* of the metric or series being decoded */
    char path[32];          /* "metrics[3]" or "series[3]", for messages */
    struct ward_buf deltas; /* "dt" of the series being decoded, as int64_t */
    struct ward_labels labels;
};

static int fail(struct decoder *d, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct decoder *d, int code, const char *fmt, ...)
{
    ward_buf_reset(d->err);
    va_list ap;
    va_start(ap, fmt);
    ward_buf_vprintf(d->err, fmt, ap);
    va_end(ap);
    return code;
}

/* Turns a reader error into a message with its byte offset. */
static int json_fail(struct decoder *d, int code, const char *where)
{
    return fail(d, code, "%s%sinvalid JSON at byte %zu: %s", where ? where : "", where ? ": " : "",
                ward_json_error_offset(&d->r), ward_json_error_message(&d->r));
}

static int next(struct decoder *d, struct ward_json_token *tok, const char *where)
{
    int r = ward_json_next(&d->r, tok);
    return r < 0 ? json_fail(d, r, where) : 0;
}

static int expect(struct decoder *d, enum ward_json_token_type type, struct ward_json_token *tok,
                  const char *where)
{
    int r = ward_json_expect(&d->r, type, tok);
    if (r == WARD_E_JSON_TYPE)
        return fail(d, r, "%s: %s", where, ward_json_error_message(&d->r));
    return r < 0 ? json_fail(d, r, where) : 0;
}

static size_t entry_count(const struct ward_ingest *in)
{
    return in->entries.len / sizeof(struct entry);
}

static bool name_ok(const char *s, size_t len)
{
    if (len == 0 || len > WARD_INGEST_MAX_NAME)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-' || c == ':'))
            return false;
    }
    return true;
}

/* Appends s plus a NUL to the arena and stores its offset. */
static int intern(struct decoder *d, const char *s, size_t len, size_t *off)
{
    struct ward_buf *a = &d->in->strings;
    size_t at = a->len;
    int r = ward_buf_append(a, s, len);
    if (r == 0)
        r = ward_buf_putc(a, '\0');
    if (r < 0)
        return fail(d, r, "out of memory");
    *off = at;
    return 0;
}

/* Reuses the previous entry's string when it is the same, as it usually is. */
static int intern_like(struct decoder *d, const char *s, size_t len, size_t prev, bool has_prev,
                       size_t *off)
{
    const char *p = d->in->strings.data + prev;
    if (has_prev && strlen(p) == len && memcmp(p, s, len) == 0) {
        *off = prev;
        return 0;
    }
    return intern(d, s, len, off);
}

static int decode_name(struct decoder *d, const char *field, const char *s, size_t len, size_t *off,
                       size_t prev, bool has_prev)
{
    if (!name_ok(s, len))
        return fail(d, WARD_E_JSON_TYPE,
                    "%s.%s: must be 1-%d characters of A-Z a-z 0-9 _ . - :", d->path, field,
                    WARD_INGEST_MAX_NAME);
    return intern_like(d, s, len, prev, has_prev, off);
}

/* Reads a labels object and writes its canonical form into the arena. */
static int decode_labels(struct decoder *d, size_t *off)
{
    struct ward_json_token tok;
    char where[64];
    snprintf(where, sizeof(where), "%s.labels", d->path);
    int r = expect(d, WARD_JSON_OBJECT_BEGIN, &tok, where);
    if (r < 0)
        return r;
    struct ward_labels *ls = &d->labels;
    ward_labels_reset(ls);
    for (;;) {
        if ((r = next(d, &tok, where)) < 0)
            return r;
        if (tok.type == WARD_JSON_OBJECT_END)
            break;
        if (ls->n == WARD_LABELS_MAX)
            return fail(d, WARD_E_LIMIT, "%s: more than %d labels", where, WARD_LABELS_MAX);
        if (tok.len == 0 || tok.len > WARD_LABELS_MAX_KEY)
            return fail(d, WARD_E_JSON_TYPE, "%s: label names must be 1-%d bytes", where,
                        WARD_LABELS_MAX_KEY);
        /* Copied, because reading the value may reuse the reader's scratch. */
        char key[WARD_LABELS_MAX_KEY];
        size_t key_len = tok.len;
        memcpy(key, tok.str, key_len);
        if ((r = expect(d, WARD_JSON_STRING, &tok, where)) < 0)
            return r;
        if (tok.len > WARD_LABELS_MAX_VALUE)
            return fail(d, WARD_E_LIMIT, "%s: label values must be at most %d bytes", where,
                        WARD_LABELS_MAX_VALUE);
        if (ward_labels_add(ls, key, key_len, tok.str, tok.len) < 0)
            return fail(d, -ENOMEM, "out of memory");
    }

    struct ward_buf *a = &d->in->strings;
    size_t at = a->len;
    const char *dup;
    size_t dup_len;
    r = ward_labels_write(ls, a, &dup, &dup_len);
    if (r == -EEXIST)
        return fail(d, WARD_E_JSON_TYPE, "%s: label '%.*s' appears twice", where, (int)dup_len,
                    dup);
    if (r == 0)
        r = ward_buf_putc(a, '\0');
    if (r < 0)
        return fail(d, r, "out of memory");
    *off = at;
    return 0;
}

static int decode_timestamp(struct decoder *d, int64_t *ts)
{
    struct ward_json_token tok;
    char where[64];
    snprintf(where, sizeof(where), "%s.timestamp", d->path);
    int r = next(d, &tok, where);
    if (r < 0)
        return r;
    /* Both forms cover the same span, 1970 to 9999, so they mean the same samples. */
    if (tok.type == WARD_JSON_STRING && ward_time_parse_rfc3339(tok.str, tok.len, ts) == 0 &&
        *ts >= 0)
        return 0;
    if (tok.type == WARD_JSON_INT && tok.i >= 0 && tok.i <= MAX_TS_MS) {
        *ts = tok.i;
        return 0;
    }
    if (tok.type == WARD_JSON_NULL) {
        *ts = d->now_ms;
        return 0;
    }
    return fail(d, WARD_E_JSON_TYPE,
                "%s: expected an RFC 3339 string or Unix milliseconds, from 1970 to 9999", where);
}

static int decode_kind(struct decoder *d, enum ward_metric_kind *kind)
{
    struct ward_json_token tok;
    char where[64];
    snprintf(where, sizeof(where), "%s.kind", d->path);
    int r = expect(d, WARD_JSON_STRING, &tok, where);
    if (r < 0)
        return r;
    if (ward_json_key_is(&tok, "gauge"))
        *kind = WARD_KIND_GAUGE;
    else if (ward_json_key_is(&tok, "counter"))
        *kind = WARD_KIND_COUNTER;
    else
        return fail(d, WARD_E_JSON_TYPE, "%s: must be \"gauge\" or \"counter\"", where);
    return 0;
}

static int decode_metric(struct decoder *d)
{
    struct ward_ingest *in = d->in;
    size_t count = entry_count(in);
    if (count == WARD_INGEST_MAX_METRICS)
        return fail(d, WARD_E_LIMIT, "more than %d metrics in one batch", WARD_INGEST_MAX_METRICS);
    const struct entry *prev = count ? (const struct entry *)in->entries.data + count - 1 : NULL;
    struct entry e = {.kind = WARD_KIND_GAUGE, .ts_ms = d->now_ms};
    bool have_type = false, have_name = false, have_value = false, have_labels = false;
    struct ward_json_token tok;
    char where[64];
    int r;
    for (;;) {
        if ((r = next(d, &tok, d->path)) < 0)
            return r;
        if (tok.type == WARD_JSON_OBJECT_END)
            break;
        if (ward_json_key_is(&tok, "metric_type")) {
            snprintf(where, sizeof(where), "%s.metric_type", d->path);
            if ((r = expect(d, WARD_JSON_STRING, &tok, where)) < 0 ||
                (r = decode_name(d, "metric_type", tok.str, tok.len, &e.category,
                                 prev ? prev->category : 0, prev)) < 0)
                return r;
            have_type = true;
        } else if (ward_json_key_is(&tok, "metric_name")) {
            snprintf(where, sizeof(where), "%s.metric_name", d->path);
            if ((r = expect(d, WARD_JSON_STRING, &tok, where)) < 0 ||
                (r = decode_name(d, "metric_name", tok.str, tok.len, &e.name, prev ? prev->name : 0,
                                 prev)) < 0)
                return r;
            have_name = true;
        } else if (ward_json_key_is(&tok, "value")) {
            snprintf(where, sizeof(where), "%s.value", d->path);
            if ((r = expect(d, WARD_JSON_DOUBLE, &tok, where)) < 0)
                return r;
            e.value = tok.d;
            have_value = true;
        } else if (ward_json_key_is(&tok, "labels")) {
            if ((r = decode_labels(d, &e.labels)) < 0)
                return r;
            have_labels = true;
        } else if (ward_json_key_is(&tok, "timestamp")) {
            if ((r = decode_timestamp(d, &e.ts_ms)) < 0)
                return r;
        } else if (ward_json_key_is(&tok, "kind")) {
            if ((r = decode_kind(d, &e.kind)) < 0)
                return r;
        } else if ((r = ward_json_skip(&d->r)) < 0) {
            return json_fail(d, r, d->path);
        }
    }
    const char *missing = !have_type    ? "metric_type"
                          : !have_name  ? "metric_name"
                          : !have_value ? "value"
                                        : NULL;
    if (missing)
        return fail(d, WARD_E_JSON_TYPE, "%s: missing \"%s\"", d->path, missing);
    if (!have_labels && (r = intern(d, "{}", 2, &e.labels)) < 0)
        return r;
    if (ward_buf_append(&in->entries, &e, sizeof(e)) < 0)
        return fail(d, -ENOMEM, "out of memory");
    d->index++;
    return 0;
}

/*
 * Reads the "values" of a series, appending one entry per number; the
 * caller fills in the rest of each entry. The cap is checked before every
 * append, so no array can make the batch hold more than the cap.
 */
static int decode_values(struct decoder *d)
{
    struct ward_ingest *in = d->in;
    struct ward_json_token tok;
    char where[64];
    snprintf(where, sizeof(where), "%s.values", d->path);
    int r = expect(d, WARD_JSON_ARRAY_BEGIN, &tok, where);
    if (r < 0)
        return r;
    for (size_t i = 0;; i++) {
        if ((r = next(d, &tok, where)) < 0)
            return r;
        if (tok.type == WARD_JSON_ARRAY_END)
            break;
        if (tok.type != WARD_JSON_INT && tok.type != WARD_JSON_DOUBLE)
            return fail(d, WARD_E_JSON_TYPE, "%s[%zu]: expected number, got %s", where, i,
                        ward_json_type_name(tok.type));
        if (entry_count(in) == WARD_INGEST_MAX_METRICS)
            return fail(d, WARD_E_LIMIT, "%s: more than %d samples in one batch", where,
                        WARD_INGEST_MAX_METRICS);
        struct entry e = {.value = tok.d};
        if (ward_buf_append(&in->entries, &e, sizeof(e)) < 0)
            return fail(d, -ENOMEM, "out of memory");
    }
    return 0;
}

/*
 * Reads the "dt" of a series into d->deltas. room is how many samples the
 * series may still add to the batch: n deltas stand for n + 1 values, so
 * more than room - 1 of them cannot make a valid batch, and reading stops
 * there rather than buffering an unbounded array.
 */
static int decode_deltas(struct decoder *d, size_t room)
{
    struct ward_json_token tok;
    char where[64];
    snprintf(where, sizeof(where), "%s.dt", d->path);
    int r = expect(d, WARD_JSON_ARRAY_BEGIN, &tok, where);
    if (r < 0)
        return r;
    for (size_t i = 0;; i++) {
        if ((r = next(d, &tok, where)) < 0)
            return r;
        if (tok.type == WARD_JSON_ARRAY_END)
            break;
        if (tok.type != WARD_JSON_INT)
            return fail(d, WARD_E_JSON_TYPE, "%s[%zu]: expected integer, got %s", where, i,
                        ward_json_type_name(tok.type));
        if (tok.i < 0)
            return fail(d, WARD_E_JSON_TYPE, "%s[%zu]: must not be negative", where, i);
        if (i + 2 > room)
            return fail(d, WARD_E_LIMIT, "%s: more than %d samples in one batch", where,
                        WARD_INGEST_MAX_METRICS);
        if (ward_buf_append(&d->deltas, &tok.i, sizeof(tok.i)) < 0)
            return fail(d, -ENOMEM, "out of memory");
    }
    return 0;
}

/*
 * Reads one series object. Its values are appended as entries while they
 * are read; once the object is closed, every entry gets the series' names,
 * labels and kind and its own timestamp, so each is the sample that
 * "metrics" would have produced.
 */
static int decode_series(struct decoder *d)
{
    struct ward_ingest *in = d->in;
    if (d->index == WARD_INGEST_MAX_METRICS)
        return fail(d, WARD_E_LIMIT, "series: more than %d series in one batch",
                    WARD_INGEST_MAX_METRICS);
    size_t base = entry_count(in);
    const struct entry *prev = base ? (const struct entry *)in->entries.data + base - 1 : NULL;
    size_t prev_category = prev ? prev->category : 0, prev_name = prev ? prev->name : 0;
    bool has_prev = prev != NULL;
    size_t category = 0, name = 0, labels = 0;
    enum ward_metric_kind kind = WARD_KIND_GAUGE;
    int64_t t0 = 0;
    bool have_type = false, have_name = false, have_labels = false, have_t0 = false,
         have_dt = false, have_values = false;
    struct ward_json_token tok;
    char where[64];
    int r;
    ward_buf_reset(&d->deltas);
    for (;;) {
        if ((r = next(d, &tok, d->path)) < 0)
            return r;
        if (tok.type == WARD_JSON_OBJECT_END)
            break;
        if (ward_json_key_is(&tok, "metric_type")) {
            snprintf(where, sizeof(where), "%s.metric_type", d->path);
            if ((r = expect(d, WARD_JSON_STRING, &tok, where)) < 0 ||
                (r = decode_name(d, "metric_type", tok.str, tok.len, &category, prev_category,
                                 has_prev)) < 0)
                return r;
            have_type = true;
        } else if (ward_json_key_is(&tok, "metric_name")) {
            snprintf(where, sizeof(where), "%s.metric_name", d->path);
            if ((r = expect(d, WARD_JSON_STRING, &tok, where)) < 0 ||
                (r = decode_name(d, "metric_name", tok.str, tok.len, &name, prev_name, has_prev)) <
                    0)
                return r;
            have_name = true;
        } else if (ward_json_key_is(&tok, "labels")) {
            if ((r = decode_labels(d, &labels)) < 0)
                return r;
            have_labels = true;
        } else if (ward_json_key_is(&tok, "kind")) {
            if ((r = decode_kind(d, &kind)) < 0)
                return r;
        } else if (ward_json_key_is(&tok, "t0")) {
            snprintf(where, sizeof(where), "%s.t0", d->path);
            if ((r = next(d, &tok, where)) < 0)
                return r;
            if (tok.type != WARD_JSON_INT || tok.i < 0 || tok.i > MAX_TS_MS)
                return fail(d, WARD_E_JSON_TYPE,
                            "%s: expected Unix milliseconds, an integer from 0 to %" PRId64, where,
                            MAX_TS_MS);
            t0 = tok.i;
            have_t0 = true;
        } else if (ward_json_key_is(&tok, "dt")) {
            /* A second "dt" or "values" could not replace the first without doubt. */
            if (have_dt)
                return fail(d, WARD_E_JSON_TYPE, "%s.dt: appears twice", d->path);
            if ((r = decode_deltas(d, WARD_INGEST_MAX_METRICS - base)) < 0)
                return r;
            have_dt = true;
        } else if (ward_json_key_is(&tok, "values")) {
            if (have_values)
                return fail(d, WARD_E_JSON_TYPE, "%s.values: appears twice", d->path);
            if ((r = decode_values(d)) < 0)
                return r;
            have_values = true;
        } else if ((r = ward_json_skip(&d->r)) < 0) {
            return json_fail(d, r, d->path);
        }
    }
    const char *missing = !have_type     ? "metric_type"
                          : !have_name   ? "metric_name"
                          : !have_t0     ? "t0"
                          : !have_values ? "values"
                                         : NULL;
    if (missing)
        return fail(d, WARD_E_JSON_TYPE, "%s: missing \"%s\"", d->path, missing);
    size_t n = entry_count(in) - base, n_dt = d->deltas.len / sizeof(int64_t);
    if (n == 0)
        return fail(d, WARD_E_JSON_TYPE, "%s.values: expected at least one number", d->path);
    if (n_dt != n - 1)
        return fail(d, WARD_E_JSON_TYPE,
                    "%s.dt: length %zu, expected %zu (one fewer than \"values\")", d->path, n_dt,
                    n - 1);
    if (!have_labels && (r = intern(d, "{}", 2, &labels)) < 0)
        return r;

    struct entry *e = (struct entry *)in->entries.data + base;
    const int64_t *dt = (const int64_t *)d->deltas.data;
    int64_t ts = t0;
    for (size_t i = 0; i < n; i++) {
        /* ts <= MAX_TS_MS throughout, so the subtraction cannot overflow. */
        if (i > 0 && dt[i - 1] > MAX_TS_MS - ts)
            return fail(d, WARD_E_JSON_TYPE,
                        "%s.dt[%zu]: the timestamp passes %" PRId64 " (9999-12-31T23:59:59.999Z)",
                        d->path, i - 1, MAX_TS_MS);
        if (i > 0)
            ts += dt[i - 1];
        e[i].category = category;
        e[i].name = name;
        e[i].labels = labels;
        e[i].kind = kind;
        e[i].ts_ms = ts;
    }
    d->index++;
    return 0;
}

/* Reads the array of field, one object per item, with item() for each. */
static int decode_items(struct decoder *d, const char *field, int (*item)(struct decoder *))
{
    struct ward_json_token tok;
    int r = expect(d, WARD_JSON_ARRAY_BEGIN, &tok, field);
    if (r < 0)
        return r;
    for (;;) {
        if ((r = next(d, &tok, field)) < 0)
            return r;
        if (tok.type == WARD_JSON_ARRAY_END)
            return 0;
        snprintf(d->path, sizeof(d->path), "%s[%zu]", field, d->index);
        if (tok.type != WARD_JSON_OBJECT_BEGIN)
            return fail(d, WARD_E_JSON_TYPE, "%s: expected object, got %s", d->path,
                        ward_json_type_name(tok.type));
        if ((r = item(d)) < 0)
            return r;
    }
}

static int decode_batch(struct decoder *d)
{
    struct ward_json_token tok;
    int r = expect(d, WARD_JSON_OBJECT_BEGIN, &tok, "batch");
    bool have_seq = false, have_boot = false;
    while (r == 0) {
        if ((r = next(d, &tok, "batch")) < 0)
            return r;
        if (tok.type == WARD_JSON_OBJECT_END)
            break;
        int64_t *dst = ward_json_key_is(&tok, "seq")    ? &d->in->batch.seq
                       : ward_json_key_is(&tok, "boot") ? &d->in->batch.boot
                                                        : NULL;
        if (!dst) {
            r = ward_json_skip(&d->r);
            if (r < 0)
                return json_fail(d, r, "batch");
            continue;
        }
        (dst == &d->in->batch.seq ? &have_seq : &have_boot)[0] = true;
        if ((r = expect(d, WARD_JSON_INT, &tok, "batch")) < 0)
            return r;
        if (tok.i < 0)
            return fail(d, WARD_E_JSON_TYPE, "batch: seq and boot must not be negative");
        *dst = tok.i;
    }
    if (r == 0 && !(have_seq && have_boot))
        return fail(d, WARD_E_JSON_TYPE, "batch: needs both \"seq\" and \"boot\"");
    d->in->has_batch = r == 0;
    return r;
}

static int decode_document(struct decoder *d)
{
    struct ward_json_token tok;
    bool have_id = false, have_metrics = false, have_series = false;
    int r = expect(d, WARD_JSON_OBJECT_BEGIN, &tok, "body");
    while (r == 0) {
        if ((r = next(d, &tok, NULL)) < 0)
            return r;
        if (tok.type == WARD_JSON_OBJECT_END)
            break;
        if (ward_json_key_is(&tok, "server_id")) {
            if ((r = expect(d, WARD_JSON_STRING, &tok, "server_id")) < 0)
                return r;
            char id[WARD_UUID_STR_LEN];
            if (tok.len != WARD_UUID_STR_LEN - 1)
                return fail(d, WARD_E_JSON_TYPE, "server_id: not a UUID");
            memcpy(id, tok.str, tok.len);
            id[tok.len] = '\0';
            if (ward_uuid_normalize(id, d->in->server_id) < 0)
                return fail(d, WARD_E_JSON_TYPE, "server_id: not a UUID");
            have_id = true;
        } else if (ward_json_key_is(&tok, "batch")) {
            r = decode_batch(d);
        } else if (ward_json_key_is(&tok, "metrics")) {
            if (have_series)
                return fail(d, WARD_E_JSON_TYPE,
                            "metrics: not allowed together with \"series\"; send one of them");
            r = decode_items(d, "metrics", decode_metric);
            have_metrics = true;
        } else if (ward_json_key_is(&tok, "series")) {
            if (have_metrics)
                return fail(d, WARD_E_JSON_TYPE,
                            "series: not allowed together with \"metrics\"; send one of them");
            r = decode_items(d, "series", decode_series);
            have_series = true;
        } else if ((r = ward_json_skip(&d->r)) < 0) {
            return json_fail(d, r, NULL);
        }
    }
    if (r < 0)
        return r;
    if ((r = next(d, &tok, NULL)) < 0)
        return r;
    if (!have_id)
        return fail(d, WARD_E_JSON_TYPE, "server_id: missing");
    if (!have_metrics && !have_series)
        return fail(d, WARD_E_JSON_TYPE,
                    "metrics: missing; a batch carries \"metrics\" or \"series\"");
    return 0;
}

void ward_ingest_init(struct ward_ingest *in)
{
    *in = (struct ward_ingest){0};
    ward_buf_init(&in->strings, 0);
    ward_buf_init(&in->entries, 0);
}

void ward_ingest_done(struct ward_ingest *in)
{
    free(in->samples);
    ward_buf_done(&in->strings);
    ward_buf_done(&in->entries);
    *in = (struct ward_ingest){0};
}

int ward_ingest_decode(struct ward_ingest *in, const char *json, size_t len, int64_t now_ms,
                       struct ward_buf *err)
{
    struct decoder d = {.in = in, .err = err, .now_ms = now_ms};
    const struct ward_json_limits lim = {
        .max_depth = WARD_INGEST_MAX_DEPTH,
        .max_size = len ? len : 1,
        .max_string = WARD_LABELS_MAX_VALUE * 4,
    };
    ward_json_reader_init(&d.r, json, len, &lim);
    ward_labels_init(&d.labels);
    ward_buf_init(&d.deltas, 0);
    int r = decode_document(&d);
    ward_json_reader_done(&d.r);
    ward_labels_done(&d.labels);
    ward_buf_done(&d.deltas);
    if (r < 0)
        return r;

    size_t n = entry_count(in);
    if (n) {
        in->samples = calloc(n, sizeof(*in->samples));
        if (!in->samples)
            return fail(&d, -ENOMEM, "out of memory");
    }
    const struct entry *e = (const struct entry *)in->entries.data;
    const char *s = in->strings.data;
    for (size_t i = 0; i < n; i++)
        in->samples[i] = (struct ward_sample){
            .category = s + e[i].category,
            .name = s + e[i].name,
            .labels = s + e[i].labels,
            .kind = e[i].kind,
            .ts_ms = e[i].ts_ms,
            .value = e[i].value,
        };
    in->n_samples = n;
    return 0;
}
