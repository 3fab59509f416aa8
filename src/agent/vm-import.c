/*
 * VictoriaMetrics import lines from a ward wire batch.
 *
 * One pass over the JSON tokens, with no tree. A sample's series is
 * identified by the text of its "metric" object as the JSON writer spells it
 * (__name__ first, then the labels sorted by key): the writer is
 * deterministic, so equal text means the same series, and the text is
 * exactly what the output line needs. Each text is kept once in an arena and
 * found again through an open-addressing hash table; each sample becomes a
 * (value, timestamp) point chained to its series, so grouping keeps the
 * input order without sorting anything. When every sample is read, one line
 * per series is written, in the order the series first appeared.
 *
 * A document may list its samples as "series" instead, one object per series
 * with its first timestamp, the deltas to the next ones and its values: each
 * object is buffered until its end (its keys come in any order), its series
 * is found once and its values become points of it like samples of
 * "metrics" would, so the lines are the same bytes either way.
 *
 * Every series without an instance label gets the batch's server_id, so the
 * id must be known before the first sample. ward_batch_encode() writes it
 * first; a document that lists its metrics before its server_id is looked
 * ahead once for it, so key order is free as JSON says it is.
 *
 * The input is the agent's own batches, so the hash is not keyed against
 * crafted collisions; it is mixed, so that all of its bits reach the slot
 * index, and every other cost is linear in the input and bounded by the
 * limits in the header.
 */
#include "agent/vm-import.h"

#include "agent/exposition.h"
#include "common/error.h"
#include "common/json.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TIMESTAMP INT64_C(253402300799999) /* 9999-12-31T23:59:59.999Z */
/* Longest string the reader accepts anywhere, label values being the longest we keep. */
#define MAX_STRING (4 * WARD_VM_MAX_LABEL_VALUE)
#define NO_POINT   UINT32_MAX
#define MIN_SLOTS  64

struct series {
    size_t key, key_len; /* the "metric" object's text, in the key arena */
    uint64_t hash;
    uint32_t first, last; /* its points, chained through next */
};

struct point {
    double value;
    int64_t ts_ms;
    uint32_t next;
};

struct label {
    size_t key, key_len, value, value_len; /* offsets into the sample's text */
};

struct conv {
    struct ward_json_reader r;
    struct ward_json_reader *rd; /* the reader in use: r, or the look-ahead */
    const char *json;
    size_t len;
    struct ward_buf *err;
    char server_id[WARD_VM_MAX_SERVER_ID];
    size_t server_id_len;
    bool have_id;
    const char *array; /* "metrics" or "series" once seen, NULL before */
    bool in_sample;    /* error messages name array[index] */
    size_t index;      /* of the object being read */
    size_t samples;    /* filed so far, each value of a series counting as one */

    struct ward_buf keys;   /* arena of series texts */
    struct ward_buf series; /* struct series[] */
    struct ward_buf points; /* struct point[] */
    uint32_t *slots;        /* series index + 1, or 0 for an empty slot */
    size_t n_slots;         /* a power of two, or 0 before the first series */

    /* The sample being read. */
    struct ward_buf text; /* metric_type, metric_name (NUL-terminated), label keys and values */
    struct ward_buf name; /* its __name__ */
    struct label labels[WARD_VM_MAX_LABELS + 1]; /* + instance */
    size_t n_labels;
    struct ward_buf values; /* a series' values, double[] */
    struct ward_buf deltas; /* and its dt, int64_t[] */
};

/* What samples and series share: their name, labels and kind. */
struct head {
    bool have_type, have_name, have_labels, have_kind;
    size_t type_at, name_at; /* in the text */
    enum ward_sample_kind kind;
};

static int fail(struct conv *c, int code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Sets the error line "WHERE: message", WHERE being metrics[i].field inside an object. */
static int fail(struct conv *c, int code, const char *field, const char *fmt, ...)
{
    if (!c->err)
        return code;
    ward_buf_reset(c->err);
    if (c->in_sample)
        ward_buf_printf(c->err, "%s[%zu]%s%s: ", c->array, c->index, field ? "." : "",
                        field ? field : "");
    else
        ward_buf_printf(c->err, "%s: ", field ? field : "document");
    va_list ap;
    va_start(ap, fmt);
    ward_buf_vprintf(c->err, fmt, ap);
    va_end(ap);
    return code;
}

static int reader_fail(struct conv *c, int code, const char *field)
{
    if (code == -ENOMEM)
        return fail(c, code, field, "out of memory");
    if (code == WARD_E_JSON_TYPE)
        return fail(c, code, field, "%s", ward_json_error_message(c->rd));
    return fail(c, code, field, "invalid JSON at byte %zu: %s", ward_json_error_offset(c->rd),
                ward_json_error_message(c->rd));
}

static int next(struct conv *c, struct ward_json_token *t, const char *field)
{
    int r = ward_json_next(c->rd, t);
    return r < 0 ? reader_fail(c, r, field) : 0;
}

static int expect(struct conv *c, enum ward_json_token_type type, struct ward_json_token *t,
                  const char *field)
{
    int r = ward_json_expect(c->rd, type, t);
    return r < 0 ? reader_fail(c, r, field) : 0;
}

static int skip(struct conv *c, const char *field)
{
    int r = ward_json_skip(c->rd);
    return r < 0 ? reader_fail(c, r, field) : 0;
}

static int twice(struct conv *c, const char *field)
{
    return fail(c, WARD_E_JSON_TYPE, field, "appears twice");
}

/* The names the server's ingest accepts, so a batch it refuses is refused here too. */
static bool name_ok(const char *s, size_t len)
{
    if (len == 0 || len > WARD_VM_MAX_NAME)
        return false;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '.' || ch == '-' || ch == ':'))
            return false;
    }
    return true;
}

static int read_server_id(struct conv *c)
{
    struct ward_json_token t;
    int r = expect(c, WARD_JSON_STRING, &t, "server_id");
    if (r < 0)
        return r;
    if (t.len == 0)
        return fail(c, WARD_E_JSON_TYPE, "server_id", "empty");
    if (t.len > WARD_VM_MAX_SERVER_ID)
        return fail(c, WARD_E_LIMIT, "server_id", "longer than %d bytes", WARD_VM_MAX_SERVER_ID);
    memcpy(c->server_id, t.str, t.len);
    c->server_id_len = t.len;
    c->have_id = true;
    return 0;
}

/* Finds server_id in a document whose metrics come first, with a reader of its own. */
static int look_ahead_for_id(struct conv *c)
{
    struct ward_json_reader ahead;
    const struct ward_json_limits lim = {
        .max_depth = WARD_VM_MAX_DEPTH, .max_size = c->len ? c->len : 1, .max_string = MAX_STRING};
    ward_json_reader_init(&ahead, c->json, c->len, &lim);
    c->rd = &ahead;
    struct ward_json_token t;
    int r = expect(c, WARD_JSON_OBJECT_BEGIN, &t, "document");
    while (r == 0 && (r = next(c, &t, "document")) == 0 && t.type == WARD_JSON_KEY) {
        if (ward_json_key_is(&t, "server_id")) {
            r = read_server_id(c);
            break;
        }
        r = skip(c, "document");
    }
    if (r == 0 && !c->have_id)
        r = fail(c, WARD_E_JSON_TYPE, "server_id", "missing");
    c->rd = &c->r;
    ward_json_reader_done(&ahead);
    return r;
}

static int label_cmp(const struct label *a, const struct label *b, const char *text)
{
    size_t n = a->key_len < b->key_len ? a->key_len : b->key_len;
    int d = memcmp(text + a->key, text + b->key, n);
    return d ? d : (a->key_len > b->key_len) - (a->key_len < b->key_len);
}

static int add_text(struct conv *c, const char *s, size_t len, size_t *at)
{
    *at = c->text.len;
    if (ward_buf_append(&c->text, s, len) < 0 || ward_buf_putc(&c->text, '\0') < 0)
        return fail(c, -ENOMEM, NULL, "out of memory");
    return 0;
}

static int read_labels(struct conv *c)
{
    struct ward_json_token t;
    int r = expect(c, WARD_JSON_OBJECT_BEGIN, &t, "labels");
    while (r == 0 && (r = next(c, &t, "labels")) == 0 && t.type == WARD_JSON_KEY) {
        if (c->n_labels == WARD_VM_MAX_LABELS)
            return fail(c, WARD_E_LIMIT, "labels", "more than %d labels", WARD_VM_MAX_LABELS);
        if (t.len == 0)
            return fail(c, WARD_E_JSON_TYPE, "labels", "empty label name");
        if (t.len > WARD_VM_MAX_LABEL_KEY)
            return fail(c, WARD_E_LIMIT, "labels", "label names must be at most %d bytes",
                        WARD_VM_MAX_LABEL_KEY);
        if (ward_json_key_is(&t, "__name__"))
            return fail(c, WARD_E_JSON_TYPE, "labels", "\"__name__\" is reserved");
        struct label *l = &c->labels[c->n_labels];
        l->key_len = t.len;
        if ((r = add_text(c, t.str, t.len, &l->key)) < 0 ||
            (r = expect(c, WARD_JSON_STRING, &t, "labels")) < 0)
            return r;
        if (t.len > WARD_VM_MAX_LABEL_VALUE)
            return fail(c, WARD_E_LIMIT, "labels", "label values must be at most %d bytes",
                        WARD_VM_MAX_LABEL_VALUE);
        l->value_len = t.len;
        if ((r = add_text(c, t.str, t.len, &l->value)) < 0)
            return r;
        c->n_labels++;
    }
    return r;
}

/*
 * Sorts the labels by key, refuses a key given twice, and supplies the
 * instance label when the sample has none (or an empty one).
 */
static int finish_labels(struct conv *c)
{
    const char *text = c->text.data;
    for (size_t i = 1; i < c->n_labels; i++) {
        struct label l = c->labels[i];
        size_t j = i;
        for (; j > 0 && label_cmp(&c->labels[j - 1], &l, text) > 0; j--)
            c->labels[j] = c->labels[j - 1];
        c->labels[j] = l;
    }
    struct label *instance = NULL;
    for (size_t i = 0; i < c->n_labels; i++) {
        const struct label *l = &c->labels[i];
        if (i > 0 && label_cmp(&c->labels[i - 1], l, text) == 0)
            return fail(c, WARD_E_JSON_TYPE, "labels", "label '%.*s' appears twice",
                        (int)l->key_len, text + l->key);
        if (l->key_len == 8 && memcmp(text + l->key, "instance", 8) == 0)
            instance = &c->labels[i];
    }
    if (instance && instance->value_len > 0)
        return 0;
    size_t key = 0, value = 0;
    int r = instance ? 0 : add_text(c, "instance", 8, &key);
    if (r == 0)
        r = add_text(c, c->server_id, c->server_id_len, &value);
    if (r < 0)
        return r;
    if (instance) {
        instance->value = value;
        instance->value_len = c->server_id_len;
        return 0;
    }
    /* Insert in key order. */
    struct label l = {.key = key, .key_len = 8, .value = value, .value_len = c->server_id_len};
    size_t j = c->n_labels++;
    for (; j > 0 && label_cmp(&c->labels[j - 1], &l, c->text.data) > 0; j--)
        c->labels[j] = c->labels[j - 1];
    c->labels[j] = l;
    return 0;
}

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325); /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * UINT64_C(0x100000001b3);
    /* The murmur3 finaliser, so that every bit reaches the low bits the table uses. */
    h ^= h >> 33;
    h *= UINT64_C(0xff51afd7ed558ccd);
    h ^= h >> 33;
    h *= UINT64_C(0xc4ceb9fe1a85ec53);
    return h ^ (h >> 33);
}

static size_t series_count(const struct conv *c)
{
    return c->series.len / sizeof(struct series);
}

/* Keeps the table at most half full. */
static int grow_table(struct conv *c)
{
    size_t n = series_count(c);
    if (2 * (n + 1) <= c->n_slots)
        return 0;
    size_t size = c->n_slots ? 2 * c->n_slots : MIN_SLOTS;
    uint32_t *slots = calloc(size, sizeof(*slots));
    if (!slots)
        return -ENOMEM;
    const struct series *s = (const struct series *)c->series.data;
    for (size_t i = 0; i < n; i++) {
        size_t k = s[i].hash & (size - 1);
        while (slots[k])
            k = (k + 1) & (size - 1);
        slots[k] = (uint32_t)(i + 1);
    }
    free(c->slots);
    c->slots = slots;
    c->n_slots = size;
    return 0;
}

/*
 * Finds the series whose text is the len bytes at offset at of the key
 * arena, just written, or adds it. A series found already has the text, so
 * the new copy is dropped again.
 */
static int find_or_add(struct conv *c, size_t at, size_t len, size_t *index)
{
    if (grow_table(c) < 0)
        return -ENOMEM;
    const char *keys = c->keys.data;
    uint64_t h = hash_bytes(keys + at, len);
    const struct series *s = (const struct series *)c->series.data;
    size_t k = h & (c->n_slots - 1);
    for (; c->slots[k]; k = (k + 1) & (c->n_slots - 1)) {
        const struct series *x = &s[c->slots[k] - 1];
        if (x->hash == h && x->key_len == len && memcmp(keys + x->key, keys + at, len) == 0) {
            *index = c->slots[k] - 1;
            c->keys.len = at;
            c->keys.data[at] = '\0';
            return 0;
        }
    }
    struct series n = {.key = at, .key_len = len, .hash = h, .first = NO_POINT, .last = NO_POINT};
    if (ward_buf_append(&c->series, &n, sizeof(n)) < 0)
        return -ENOMEM;
    *index = series_count(c) - 1;
    c->slots[k] = (uint32_t)(*index + 1);
    return 0;
}

/* Writes the object's "metric" text into the key arena and finds or adds its series. */
static int find_series(struct conv *c, const struct head *h, size_t *index)
{
    const char *text = c->text.data;
    ward_buf_reset(&c->name);
    int r = ward_exposition_name(text + h->type_at, text + h->name_at, h->kind, &c->name);
    size_t at = c->keys.len;
    struct ward_json_writer w;
    ward_json_writer_init(&w, &c->keys);
    ward_json_write_object_begin(&w);
    ward_json_write_keyz(&w, "__name__");
    ward_json_write_string(&w, c->name.data ? c->name.data : "", c->name.len);
    for (size_t i = 0; i < c->n_labels; i++) {
        const struct label *l = &c->labels[i];
        if (l->value_len == 0)
            continue; /* an empty label is no label */
        ward_json_write_key(&w, text + l->key, l->key_len);
        ward_json_write_string(&w, text + l->value, l->value_len);
    }
    ward_json_write_object_end(&w);
    if (r == 0)
        r = ward_json_writer_finish(&w);
    if (r == 0)
        r = find_or_add(c, at, c->keys.len - at, index);
    if (r < 0) {
        if (c->keys.data) {
            c->keys.len = at;
            c->keys.data[at] = '\0';
        }
        return fail(c, r, NULL, "%s", ward_strerror(r));
    }
    return 0;
}

/* Files one point at the end of the series' chain. */
static int add_point(struct conv *c, size_t index, double value, int64_t ts_ms)
{
    struct point p = {.value = value, .ts_ms = ts_ms, .next = NO_POINT};
    if (ward_buf_append(&c->points, &p, sizeof(p)) < 0)
        return fail(c, -ENOMEM, NULL, "out of memory");
    uint32_t pi = (uint32_t)(c->points.len / sizeof(p) - 1);
    struct series *s = (struct series *)c->series.data + index;
    if (s->last == NO_POINT)
        s->first = pi;
    else
        ((struct point *)c->points.data)[s->last].next = pi;
    s->last = pi;
    c->samples++;
    return 0;
}

/* Reads metric_type or metric_name into the sample's text. */
static int read_name(struct conv *c, const char *field, bool *have, size_t *at)
{
    struct ward_json_token t;
    if (*have)
        return twice(c, field);
    int r = expect(c, WARD_JSON_STRING, &t, field);
    if (r < 0)
        return r;
    if (!name_ok(t.str, t.len))
        return fail(c, WARD_E_JSON_TYPE, field,
                    "must be 1-%d characters of A-Z a-z 0-9 _ . - :", WARD_VM_MAX_NAME);
    *have = true;
    return add_text(c, t.str, t.len, at);
}

/* Names an array element as a field, "dt[7]", for an error line. */
static const char *element(char buf[static 48], const char *array, size_t i)
{
    snprintf(buf, 48, "%s[%zu]", array, i);
    return buf;
}

/* Starts reading an object of metrics[] or series[]. */
static void begin_object(struct conv *c, struct head *h)
{
    *h = (struct head){.kind = WARD_SAMPLE_GAUGE};
    ward_buf_reset(&c->text);
    c->n_labels = 0;
}

/*
 * Reads the value of the key t if it is one that samples and series share;
 * sets *known to whether it was.
 */
static int read_head_key(struct conv *c, const struct ward_json_token *t, struct head *h,
                         bool *known)
{
    int r;
    *known = true;
    if (ward_json_key_is(t, "metric_type"))
        return read_name(c, "metric_type", &h->have_type, &h->type_at);
    if (ward_json_key_is(t, "metric_name"))
        return read_name(c, "metric_name", &h->have_name, &h->name_at);
    if (ward_json_key_is(t, "kind")) {
        struct ward_json_token k;
        if (h->have_kind)
            return twice(c, "kind");
        if ((r = expect(c, WARD_JSON_STRING, &k, "kind")) < 0)
            return r;
        if (ward_json_key_is(&k, "counter"))
            h->kind = WARD_SAMPLE_COUNTER;
        else if (!ward_json_key_is(&k, "gauge"))
            return fail(c, WARD_E_JSON_TYPE, "kind", "must be \"gauge\" or \"counter\"");
        h->have_kind = true;
        return 0;
    }
    if (ward_json_key_is(t, "labels")) {
        if (h->have_labels)
            return twice(c, "labels");
        h->have_labels = true;
        return read_labels(c);
    }
    *known = false;
    return 0;
}

static int read_timestamp(struct conv *c, const char *field, bool *have, int64_t *ts_ms)
{
    struct ward_json_token t;
    if (*have)
        return twice(c, field);
    int r = expect(c, WARD_JSON_INT, &t, field);
    if (r < 0)
        return r;
    if (t.i < 0 || t.i > MAX_TIMESTAMP)
        return fail(c, WARD_E_JSON_TYPE, field, "Unix milliseconds must be 0 to %" PRId64,
                    MAX_TIMESTAMP);
    *ts_ms = t.i;
    *have = true;
    return 0;
}

/* Reads one metrics[] object, whose '{' has been read. */
static int read_sample(struct conv *c)
{
    struct head h;
    bool have_value = false, have_ts = false, known;
    double value = 0;
    int64_t ts_ms = 0;
    struct ward_json_token t;
    int r;
    begin_object(c, &h);
    while ((r = next(c, &t, NULL)) == 0 && t.type == WARD_JSON_KEY) {
        if ((r = read_head_key(c, &t, &h, &known)) < 0)
            return r;
        if (known)
            continue;
        if (ward_json_key_is(&t, "value")) {
            if (have_value)
                return twice(c, "value");
            if ((r = expect(c, WARD_JSON_DOUBLE, &t, "value")) < 0)
                return r;
            if (!isfinite(t.d)) /* the reader refuses overflow; kept as the contract */
                return fail(c, WARD_E_JSON_NUMBER, "value", "not finite");
            value = t.d;
            have_value = true;
        } else if (ward_json_key_is(&t, "timestamp")) {
            r = read_timestamp(c, "timestamp", &have_ts, &ts_ms);
        } else {
            r = skip(c, NULL);
        }
        if (r < 0)
            return r;
    }
    if (r < 0)
        return r;
    const char *missing = !h.have_type   ? "metric_type"
                          : !h.have_name ? "metric_name"
                          : !have_value  ? "value"
                          : !have_ts     ? "timestamp"
                                         : NULL;
    if (missing)
        return fail(c, WARD_E_JSON_TYPE, NULL, "missing \"%s\"", missing);
    size_t index = 0;
    if ((r = finish_labels(c)) < 0 || (r = find_series(c, &h, &index)) < 0)
        return r;
    return add_point(c, index, value, ts_ms);
}

/*
 * Reads a series' "values" into c->values. The document's sample bound
 * applies to each value as it is read, so no array grows past it.
 */
static int read_values(struct conv *c)
{
    struct ward_json_token t;
    char field[48];
    size_t n = 0;
    int r = expect(c, WARD_JSON_ARRAY_BEGIN, &t, "values");
    ward_buf_reset(&c->values);
    while (r == 0 && (r = next(c, &t, "values")) == 0 && t.type != WARD_JSON_ARRAY_END) {
        if (n >= WARD_VM_MAX_SAMPLES - c->samples)
            return fail(c, WARD_E_LIMIT, "values", "more than %d samples", WARD_VM_MAX_SAMPLES);
        if (t.type != WARD_JSON_INT && t.type != WARD_JSON_DOUBLE)
            return fail(c, WARD_E_JSON_TYPE, element(field, "values", n), "expected number, got %s",
                        ward_json_type_name(t.type));
        if (!isfinite(t.d)) /* the reader refuses overflow; kept as the contract */
            return fail(c, WARD_E_JSON_NUMBER, element(field, "values", n), "not finite");
        if (ward_buf_append(&c->values, &t.d, sizeof(t.d)) < 0)
            return fail(c, -ENOMEM, NULL, "out of memory");
        n++;
    }
    if (r == 0 && n == 0)
        return fail(c, WARD_E_JSON_TYPE, "values", "empty; a series has at least one value");
    return r;
}

/*
 * Reads a series' "dt" into c->deltas. n deltas stand for n + 1 samples,
 * which the document's sample bound must have room for.
 */
static int read_deltas(struct conv *c)
{
    struct ward_json_token t;
    char field[48];
    size_t n = 0;
    int r = expect(c, WARD_JSON_ARRAY_BEGIN, &t, "dt");
    ward_buf_reset(&c->deltas);
    while (r == 0 && (r = next(c, &t, "dt")) == 0 && t.type != WARD_JSON_ARRAY_END) {
        if (n + 1 >= WARD_VM_MAX_SAMPLES - c->samples)
            return fail(c, WARD_E_LIMIT, "dt", "more than %d samples", WARD_VM_MAX_SAMPLES);
        if (t.type != WARD_JSON_INT)
            return fail(c, WARD_E_JSON_TYPE, element(field, "dt", n), "expected integer, got %s",
                        ward_json_type_name(t.type));
        if (t.i < 0)
            return fail(c, WARD_E_JSON_TYPE, element(field, "dt", n),
                        "negative; timestamps must not go back");
        if (ward_buf_append(&c->deltas, &t.i, sizeof(t.i)) < 0)
            return fail(c, -ENOMEM, NULL, "out of memory");
        n++;
    }
    return r;
}

/* Reads one series[] object, whose '{' has been read, and files its points. */
static int read_series(struct conv *c)
{
    struct head h;
    bool have_t0 = false, have_dt = false, have_values = false, known;
    int64_t t0 = 0;
    struct ward_json_token t;
    int r;
    begin_object(c, &h);
    ward_buf_reset(&c->deltas); /* "dt" may be left out */
    while ((r = next(c, &t, NULL)) == 0 && t.type == WARD_JSON_KEY) {
        if ((r = read_head_key(c, &t, &h, &known)) < 0)
            return r;
        if (known)
            continue;
        if (ward_json_key_is(&t, "t0")) {
            r = read_timestamp(c, "t0", &have_t0, &t0);
        } else if (ward_json_key_is(&t, "dt")) {
            if (have_dt)
                return twice(c, "dt");
            have_dt = true;
            r = read_deltas(c);
        } else if (ward_json_key_is(&t, "values")) {
            if (have_values)
                return twice(c, "values");
            have_values = true;
            r = read_values(c);
        } else {
            r = skip(c, NULL);
        }
        if (r < 0)
            return r;
    }
    if (r < 0)
        return r;
    const char *missing = !h.have_type   ? "metric_type"
                          : !h.have_name ? "metric_name"
                          : !have_values ? "values"
                          : !have_t0     ? "t0"
                                         : NULL;
    if (missing)
        return fail(c, WARD_E_JSON_TYPE, NULL, "missing \"%s\"", missing);

    const double *values = (const double *)c->values.data;
    const int64_t *dt = (const int64_t *)c->deltas.data;
    size_t n = c->values.len / sizeof(*values), n_dt = c->deltas.len / sizeof(*dt);
    if (n_dt != n - 1 && !have_dt)
        return fail(c, WARD_E_JSON_TYPE, "dt", "missing; %zu values need %zu deltas", n, n - 1);
    if (n_dt != n - 1)
        return fail(c, WARD_E_JSON_TYPE, "dt", "%zu deltas for %zu values, want %zu", n_dt, n,
                    n - 1);
    /* Every timestamp in range before any point is filed; ts <= MAX, so nothing overflows. */
    char field[48];
    int64_t ts = t0;
    for (size_t i = 0; i < n_dt; i++) {
        if (dt[i] > MAX_TIMESTAMP - ts)
            return fail(c, WARD_E_JSON_TYPE, element(field, "dt", i),
                        "takes the timestamp past %" PRId64 " (the end of year 9999)",
                        MAX_TIMESTAMP);
        ts += dt[i];
    }
    size_t index = 0;
    if ((r = finish_labels(c)) < 0 || (r = find_series(c, &h, &index)) < 0)
        return r;
    ts = t0;
    for (size_t i = 0; i < n && r == 0; i++) {
        if (i > 0)
            ts += dt[i - 1];
        r = add_point(c, index, values[i], ts);
    }
    return r;
}

/* Reads metrics[] or series[], as c->array says. */
static int read_objects(struct conv *c, bool series)
{
    struct ward_json_token t;
    int r = expect(c, WARD_JSON_ARRAY_BEGIN, &t, c->array);
    while (r == 0 && (r = next(c, &t, c->array)) == 0 && t.type != WARD_JSON_ARRAY_END) {
        if (c->samples == WARD_VM_MAX_SAMPLES)
            return fail(c, WARD_E_LIMIT, c->array, "more than %d samples", WARD_VM_MAX_SAMPLES);
        c->in_sample = true;
        if (t.type != WARD_JSON_OBJECT_BEGIN)
            return fail(c, WARD_E_JSON_TYPE, NULL, "expected object, got %s",
                        ward_json_type_name(t.type));
        if ((r = series ? read_series(c) : read_sample(c)) < 0)
            return r;
        c->in_sample = false;
        c->index++;
    }
    return r;
}

static int read_document(struct conv *c)
{
    struct ward_json_token t;
    bool id_seen = false;
    int r = expect(c, WARD_JSON_OBJECT_BEGIN, &t, "document");
    while (r == 0 && (r = next(c, &t, "document")) == 0 && t.type == WARD_JSON_KEY) {
        bool series = ward_json_key_is(&t, "series");
        if (ward_json_key_is(&t, "server_id")) {
            if (id_seen)
                return twice(c, "server_id");
            id_seen = true;
            r = read_server_id(c);
        } else if (series || ward_json_key_is(&t, "metrics")) {
            const char *array = series ? "series" : "metrics";
            if (c->array && strcmp(c->array, array) == 0)
                return twice(c, array);
            if (c->array)
                return fail(c, WARD_E_JSON_TYPE, array,
                            "a document carries \"metrics\" or \"series\", not both");
            c->array = array;
            if (!c->have_id && (r = look_ahead_for_id(c)) < 0)
                return r;
            r = read_objects(c, series);
        } else {
            r = skip(c, "document");
        }
    }
    if (r == 0)
        r = next(c, &t, "document"); /* only whitespace may follow */
    if (r < 0)
        return r;
    if (!id_seen)
        return fail(c, WARD_E_JSON_TYPE, "server_id", "missing");
    if (!c->array)
        return fail(c, WARD_E_JSON_TYPE, NULL, "missing \"metrics\" or \"series\"");
    return 0;
}

static int write_lines(struct conv *c, struct ward_buf *out)
{
    const struct series *s = (const struct series *)c->series.data;
    const struct point *p = (const struct point *)c->points.data;
    int r = 0;
    for (size_t i = 0, n = series_count(c); i < n && r == 0; i++) {
        struct ward_json_writer w;
        ward_json_writer_init(&w, out);
        ward_json_write_object_begin(&w);
        ward_json_write_keyz(&w, "metric");
        ward_json_write_raw(&w, c->keys.data + s[i].key, s[i].key_len);
        ward_json_write_keyz(&w, "values");
        ward_json_write_array_begin(&w);
        for (uint32_t k = s[i].first; k != NO_POINT; k = p[k].next)
            ward_json_write_double(&w, p[k].value);
        ward_json_write_array_end(&w);
        ward_json_write_keyz(&w, "timestamps");
        ward_json_write_array_begin(&w);
        for (uint32_t k = s[i].first; k != NO_POINT; k = p[k].next)
            ward_json_write_int(&w, p[k].ts_ms);
        ward_json_write_array_end(&w);
        ward_json_write_object_end(&w);
        r = ward_json_writer_finish(&w);
        if (r == 0)
            r = ward_buf_putc(out, '\n');
    }
    return r < 0 ? fail(c, r, "output", "%s", ward_strerror(r)) : 0;
}

int ward_vm_import_convert(const char *json, size_t len, struct ward_buf *out, struct ward_buf *err)
{
    struct conv c = {.json = json ? json : "", .len = json ? len : 0, .err = err};
    const struct ward_json_limits lim = {
        .max_depth = WARD_VM_MAX_DEPTH, .max_size = c.len ? c.len : 1, .max_string = MAX_STRING};
    ward_json_reader_init(&c.r, c.json, c.len, &lim);
    c.rd = &c.r;
    ward_buf_init(&c.keys, 0);
    ward_buf_init(&c.series, 0);
    ward_buf_init(&c.points, 0);
    ward_buf_init(&c.text, 0);
    ward_buf_init(&c.name, 0);
    ward_buf_init(&c.values, 0);
    ward_buf_init(&c.deltas, 0);

    size_t start = out->len;
    int r = read_document(&c);
    if (r == 0)
        r = write_lines(&c, out);
    if (r < 0 && out->len > start) {
        out->len = start;
        out->data[start] = '\0';
    }
    if (r == 0)
        r = (int)series_count(&c);

    ward_json_reader_done(&c.r);
    ward_buf_done(&c.keys);
    ward_buf_done(&c.series);
    ward_buf_done(&c.points);
    ward_buf_done(&c.text);
    ward_buf_done(&c.name);
    ward_buf_done(&c.values);
    ward_buf_done(&c.deltas);
    free(c.slots);
    return r;
}
