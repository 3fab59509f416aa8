/*
 * Decoding of spectra envelopes (see envelope.h for the flattening rules).
 *
 * One pass over the JSON tokens, recursive over "data" (the reader bounds
 * the depth, so the recursion is bounded too). Everything decoded goes into
 * flat arrays of records that refer to each other by index and to their
 * text by offset into one string arena, because these buffers move as they
 * grow; pointers are made once, at the end.
 *
 * The labels of an array element are its string fields, which may come
 * after the numbers they label, and the elements of a nested array add
 * their own labels to those of the enclosing element. So each element gets
 * a frame: a record with its own labels and a link to the enclosing
 * element's frame. A sample refers to the innermost frame, and once the
 * whole body is read each frame's chain is turned into one canonical label
 * set, computed once per frame. An element that produced no sample (a list
 * of services with only strings, say) is forgotten at its end: the frames,
 * labels and text it added are cut off again, so memory follows the samples
 * kept, not the size of the payload.
 *
 * The number of labels on a chain is checked when an element ends, against
 * the labels its ancestors have so far plus the largest chain below it; as
 * every ancestor ends later and checks again, each chain is checked with
 * its final labels, and the error names the element that crossed the bound.
 */
#include "server/envelope.h"

#include "common/error.h"
#include "common/json.h"
#include "common/time-util.h"
#include "server/labels.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NONE SIZE_MAX
/* The largest timestamp accepted: 9999-12-31T23:59:59.999Z, what RFC 3339 can spell. */
#define MAX_TS_MS INT64_C(253402300799999)
/* Bytes of a key shown in a position or a message. */
#define SHOWN_KEY 64
/* Frames on one chain at most: one per array level the reader lets through. */
#define MAX_CHAIN WARD_ENVELOPE_MAX_DEPTH

struct entry {
    size_t name;  /* offset into the arena */
    size_t frame; /* innermost label frame, or NONE */
    size_t env;   /* index of its envelope */
    enum ward_metric_kind kind;
    double value;
};

enum bad_label {
    LABEL_OK,
    LABEL_KEY_LONG,
    LABEL_VALUE_LONG,
};

struct frame {
    size_t parent;     /* frame of the enclosing element, or NONE */
    size_t last_label; /* newest label of this frame, or NONE */
    size_t own;        /* labels of this frame, counted even beyond the bound */
    size_t max_below;  /* most labels a chain below this frame adds */
    size_t canon;      /* offset of the canonical label text, NONE until made */
    enum bad_label bad;
    size_t bad_key, bad_key_len; /* the first bad label's key, shortened */
};

struct label {
    size_t key, key_len, value, value_len;
    size_t prev; /* the frame's label before this one, or NONE */
};

struct env {
    size_t category, host;
    int64_t ts_ms;
};

struct host {
    size_t name;
    size_t count;
};

/* Where an element started, to forget what it added if it yields no sample. */
struct mark {
    size_t entries, frames, labels, strings;
};

struct decoder {
    struct ward_envelope_batch *b;
    struct ward_json_reader r;
    struct ward_buf *err;
    int64_t now_ms;
    struct ward_buf where; /* position for messages: "[3].data.cpu.per_core[2]" */
    char name[WARD_ENVELOPE_MAX_NAME + 1];
    size_t name_len; /* may exceed the bound; the name is then refused when used */
    struct ward_labels set;
};

#define COUNT(buf, type) ((buf).len / sizeof(type))
#define AT(buf, type, i) (&((type *)(buf).data)[i])

static int fail(struct decoder *d, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct decoder *d, int code, const char *fmt, ...)
{
    ward_buf_reset(d->err);
    if (d->where.len) {
        ward_buf_append(d->err, d->where.data, d->where.len);
        ward_buf_puts(d->err, ": ");
    }
    va_list ap;
    va_start(ap, fmt);
    ward_buf_vprintf(d->err, fmt, ap);
    va_end(ap);
    return code;
}

static int json_fail(struct decoder *d, int code)
{
    if (code == WARD_E_JSON_TYPE)
        return fail(d, code, "%s", ward_json_error_message(&d->r));
    if (code == -ENOMEM)
        return fail(d, code, "out of memory");
    return fail(d, code, "invalid JSON at byte %zu: %s", ward_json_error_offset(&d->r),
                ward_json_error_message(&d->r));
}

static int next(struct decoder *d, struct ward_json_token *tok)
{
    int r = ward_json_next(&d->r, tok);
    return r < 0 ? json_fail(d, r) : 0;
}

static int oom(struct decoder *d)
{
    return fail(d, -ENOMEM, "out of memory");
}

static int push(struct decoder *d, struct ward_buf *buf, const void *rec, size_t size)
{
    return ward_buf_append(buf, rec, size) < 0 ? oom(d) : 0;
}

/* Appends s and a NUL to the arena and stores the offset. */
static int intern(struct decoder *d, const char *s, size_t len, size_t *off)
{
    struct ward_buf *a = &d->b->strings;
    size_t at = a->len;
    if (ward_buf_append(a, s, len) < 0 || ward_buf_putc(a, '\0') < 0)
        return oom(d);
    *off = at;
    return 0;
}

static const char *text(const struct decoder *d, size_t off)
{
    return d->b->strings.data + off;
}

/* Appends ".key" (or "key" at the start) to the position; returns the old length. */
static size_t where_key(struct decoder *d, const char *key, size_t len)
{
    size_t saved = d->where.len;
    if (saved)
        ward_buf_putc(&d->where, '.');
    ward_buf_append(&d->where, key, len > SHOWN_KEY ? SHOWN_KEY : len);
    if (len > SHOWN_KEY)
        ward_buf_puts(&d->where, "...");
    return saved;
}

static size_t where_index(struct decoder *d, size_t i)
{
    size_t saved = d->where.len;
    ward_buf_printf(&d->where, "[%zu]", i);
    return saved;
}

static void where_restore(struct decoder *d, size_t len)
{
    if (d->where.data) {
        d->where.len = len;
        d->where.data[len] = '\0';
    }
}

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-' || c == ':';
}

/* Appends "_key" (or "key" at the start) to the series name; returns the old length. */
static size_t name_push(struct decoder *d, const char *key, size_t len)
{
    size_t saved = d->name_len, pos = saved;
    if (pos > 0) {
        if (pos < WARD_ENVELOPE_MAX_NAME)
            d->name[pos] = '_';
        pos++;
    }
    for (size_t i = 0; i < len; i++, pos++)
        if (pos < WARD_ENVELOPE_MAX_NAME)
            d->name[pos] = name_char(key[i]) ? key[i] : '_';
    d->name_len = pos;
    return saved;
}

static bool ends_with(const char *s, size_t len, const char *suffix)
{
    size_t n = strlen(suffix);
    return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

/* Adds one sample of the current name to the current envelope. */
static int emit(struct decoder *d, size_t frame, double value)
{
    struct ward_envelope_batch *b = d->b;
    size_t n = COUNT(b->entries, struct entry);
    if (n == WARD_ENVELOPE_MAX_SAMPLES)
        return fail(d, WARD_E_LIMIT, "more than %d samples in one body", WARD_ENVELOPE_MAX_SAMPLES);
    if (d->name_len > WARD_ENVELOPE_MAX_NAME)
        return fail(d, WARD_E_LIMIT, "series name '%.40s...' is longer than %d bytes", d->name,
                    WARD_ENVELOPE_MAX_NAME);
    const char *name = d->name_len ? d->name : "value";
    size_t len = d->name_len ? d->name_len : 5;
    struct entry e = {
        .frame = frame,
        .env = COUNT(b->envs, struct env),
        .kind = ends_with(name, len, "_total") ? WARD_KIND_COUNTER : WARD_KIND_GAUGE,
        .value = value,
    };
    /* Consecutive samples often share a name (the elements of an array). */
    const struct entry *prev = n ? AT(b->entries, struct entry, n - 1) : NULL;
    if (prev && strlen(text(d, prev->name)) == len && memcmp(text(d, prev->name), name, len) == 0)
        e.name = prev->name;
    else if (intern(d, name, len, &e.name) < 0)
        return -ENOMEM;
    return push(d, &b->entries, &e, sizeof(e));
}

static int new_frame(struct decoder *d, size_t parent, size_t *out)
{
    struct frame f = {
        .parent = parent,
        .last_label = NONE,
        .canon = NONE,
    };
    *out = COUNT(d->b->frames, struct frame);
    return push(d, &d->b->frames, &f, sizeof(f));
}

/*
 * Adds a label to a frame. Labels beyond the bound are counted but not kept;
 * a bad one is remembered, and refused only if the element yields samples.
 * A string field with an empty name labels nothing.
 */
static int add_label(struct decoder *d, size_t fi, const char *key, size_t key_len,
                     const char *value, size_t value_len)
{
    if (key_len == 0)
        return 0;
    struct frame *f = AT(d->b->frames, struct frame, fi);
    if (++f->own > WARD_LABELS_MAX)
        return 0;
    if (key_len > WARD_LABELS_MAX_KEY || value_len > WARD_LABELS_MAX_VALUE) {
        if (f->bad != LABEL_OK)
            return 0;
        f->bad = key_len > WARD_LABELS_MAX_KEY ? LABEL_KEY_LONG : LABEL_VALUE_LONG;
        f->bad_key_len = key_len > SHOWN_KEY ? SHOWN_KEY : key_len;
        return intern(d, key, f->bad_key_len, &f->bad_key);
    }
    struct label l = {.key_len = key_len, .value_len = value_len, .prev = f->last_label};
    if (intern(d, key, key_len, &l.key) < 0 || intern(d, value, value_len, &l.value) < 0)
        return -ENOMEM;
    f = AT(d->b->frames, struct frame, fi);
    f->last_label = COUNT(d->b->labels, struct label);
    return push(d, &d->b->labels, &l, sizeof(l));
}

static int add_index(struct decoder *d, size_t fi, size_t i)
{
    char v[24];
    int n = snprintf(v, sizeof(v), "%zu", i);
    return add_label(d, fi, "index", 5, v, (size_t)n);
}

static void truncate_buf(struct ward_buf *buf, size_t len)
{
    if (buf->data) {
        buf->len = len;
        buf->data[len] = '\0';
    }
}

/* Ends an element: forgets it if it yielded nothing, else checks its labels. */
static int finish_element(struct decoder *d, size_t fi, const struct mark *m)
{
    struct ward_envelope_batch *b = d->b;
    if (COUNT(b->entries, struct entry) == m->entries) {
        truncate_buf(&b->frames, m->frames);
        truncate_buf(&b->labels, m->labels);
        truncate_buf(&b->strings, m->strings);
        return 0;
    }
    const struct frame *f = AT(b->frames, struct frame, fi);
    if (f->bad == LABEL_KEY_LONG)
        return fail(d, WARD_E_LIMIT, "label name '%.*s...' is longer than %d bytes",
                    (int)f->bad_key_len, text(d, f->bad_key), WARD_LABELS_MAX_KEY);
    if (f->bad == LABEL_VALUE_LONG)
        return fail(d, WARD_E_LIMIT, "label '%.*s' has a value longer than %d bytes",
                    (int)f->bad_key_len, text(d, f->bad_key), WARD_LABELS_MAX_VALUE);
    size_t total = f->own + f->max_below;
    for (size_t p = f->parent; p != NONE; p = AT(b->frames, struct frame, p)->parent)
        total += AT(b->frames, struct frame, p)->own;
    if (total > WARD_LABELS_MAX)
        return fail(d, WARD_E_LIMIT,
                    "more than %d labels on one series (string fields of this element and of "
                    "the elements around it, and index labels)",
                    WARD_LABELS_MAX);
    if (f->parent != NONE) {
        struct frame *p = AT(b->frames, struct frame, f->parent);
        if (f->own + f->max_below > p->max_below)
            p->max_below = f->own + f->max_below;
    }
    return 0;
}

static int walk(struct decoder *d, const struct ward_json_token *tok, size_t frame);

/* Reads the fields of an object; the '{' has been read. Strings label fi if labels is set. */
static int walk_fields(struct decoder *d, size_t frame, bool labels)
{
    struct ward_json_token key, tok;
    int r;
    for (;;) {
        if ((r = next(d, &key)) < 0)
            return r;
        if (key.type == WARD_JSON_OBJECT_END)
            return 0;
        /* The key's bytes live until the next token: keep what is needed of them. */
        size_t wsaved = where_key(d, key.str, key.len);
        size_t nsaved = name_push(d, key.str, key.len);
        char label_key[WARD_LABELS_MAX_KEY + 1];
        size_t label_key_len = key.len;
        memcpy(label_key, key.str, key.len < sizeof(label_key) ? key.len : sizeof(label_key));
        if ((r = next(d, &tok)) < 0)
            return r;
        if (labels && tok.type == WARD_JSON_STRING)
            r = add_label(d, frame, label_key, label_key_len, tok.str, tok.len);
        else
            r = walk(d, &tok, frame);
        if (r < 0)
            return r;
        d->name_len = nsaved;
        where_restore(d, wsaved);
    }
}

/* Reads element i of an array (its first token is tok) with its own frame. */
static int walk_element(struct decoder *d, const struct ward_json_token *tok, size_t parent,
                        size_t i)
{
    struct ward_envelope_batch *b = d->b;
    const struct mark m = {
        .entries = COUNT(b->entries, struct entry),
        .frames = b->frames.len,
        .labels = b->labels.len,
        .strings = b->strings.len,
    };
    size_t fi;
    int r = new_frame(d, parent, &fi);
    if (r < 0)
        return r;
    if (tok->type == WARD_JSON_OBJECT_BEGIN) {
        if ((r = walk_fields(d, fi, true)) < 0)
            return r;
        if (AT(b->frames, struct frame, fi)->own == 0)
            r = add_index(d, fi, i);
    } else {
        if ((r = add_index(d, fi, i)) == 0)
            r = walk(d, tok, fi);
    }
    return r < 0 ? r : finish_element(d, fi, &m);
}

static int walk_array(struct decoder *d, size_t frame)
{
    struct ward_json_token tok;
    int r;
    for (size_t i = 0;; i++) {
        if ((r = next(d, &tok)) < 0)
            return r;
        if (tok.type == WARD_JSON_ARRAY_END)
            return 0;
        if (tok.type == WARD_JSON_STRING || tok.type == WARD_JSON_NULL)
            continue;
        size_t saved = where_index(d, i);
        if ((r = walk_element(d, &tok, frame, i)) < 0)
            return r;
        where_restore(d, saved);
    }
}

/* Walks the value whose first token is tok. */
static int walk(struct decoder *d, const struct ward_json_token *tok, size_t frame)
{
    switch (tok->type) {
    case WARD_JSON_OBJECT_BEGIN:
        return walk_fields(d, frame, false);
    case WARD_JSON_ARRAY_BEGIN:
        return walk_array(d, frame);
    case WARD_JSON_INT:
    case WARD_JSON_DOUBLE:
        return emit(d, frame, tok->d);
    case WARD_JSON_TRUE:
        return emit(d, frame, 1);
    case WARD_JSON_FALSE:
        return emit(d, frame, 0);
    default:
        return 0; /* strings and null carry no sample */
    }
}

static bool type_ok(const char *s, size_t len)
{
    if (len == 0 || len > WARD_ENVELOPE_MAX_NAME)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!name_char(s[i]))
            return false;
    return true;
}

static bool hostname_ok(const char *s, size_t len)
{
    if (len == 0 || len > WARD_ENVELOPE_MAX_HOSTNAME)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

static int decode_timestamp(struct decoder *d, int64_t *ts)
{
    struct ward_json_token tok;
    int r = next(d, &tok);
    if (r < 0)
        return r;
    int64_t v = 0;
    if (tok.type == WARD_JSON_NULL) {
        *ts = d->now_ms;
        return 0;
    }
    if (tok.type == WARD_JSON_STRING) {
        if (ward_time_parse_rfc3339(tok.str, tok.len, &v) < 0)
            return fail(d, WARD_E_JSON_TYPE, "not an RFC 3339 time: '%.*s'",
                        (int)(tok.len > 40 ? 40 : tok.len), tok.str);
    } else if (tok.type == WARD_JSON_INT) {
        v = tok.i;
    } else {
        return fail(d, WARD_E_JSON_TYPE, "expected an RFC 3339 string or Unix milliseconds, got %s",
                    ward_json_type_name(tok.type));
    }
    if (v < 0 || v > MAX_TS_MS)
        return fail(d, WARD_E_JSON_TYPE, "must lie between 1970 and 9999");
    *ts = v;
    return 0;
}

/* Finds or adds the host of an envelope. */
static int find_host(struct decoder *d, const char *name, size_t len, size_t *out)
{
    struct ward_envelope_batch *b = d->b;
    size_t n = COUNT(b->host_list, struct host);
    for (size_t i = n; i-- > 0;) {
        const char *h = text(d, AT(b->host_list, struct host, i)->name);
        if (strlen(h) == len && memcmp(h, name, len) == 0) {
            *out = i;
            return 0;
        }
    }
    if (n == WARD_ENVELOPE_MAX_HOSTS)
        return fail(d, WARD_E_LIMIT, "more than %d hostnames in one body", WARD_ENVELOPE_MAX_HOSTS);
    struct host h = {0};
    if (intern(d, name, len, &h.name) < 0)
        return -ENOMEM;
    *out = n;
    return push(d, &b->host_list, &h, sizeof(h));
}

/* Reads one envelope; the '{' has been read. */
static int decode_envelope(struct decoder *d)
{
    struct ward_envelope_batch *b = d->b;
    size_t n_envs = COUNT(b->envs, struct env);
    const struct env *prev = n_envs ? AT(b->envs, struct env, n_envs - 1) : NULL;
    struct env e = {.ts_ms = d->now_ms};
    char hostname[WARD_ENVELOPE_MAX_HOSTNAME + 1];
    size_t hostname_len = 0;
    bool have_type = false, have_host = false, have_data = false;
    struct ward_json_token tok;
    int r;
    for (;;) {
        if ((r = next(d, &tok)) < 0)
            return r;
        if (tok.type == WARD_JSON_OBJECT_END)
            break;
        size_t saved = where_key(d, tok.str, tok.len);
        if (ward_json_key_is(&tok, "type")) {
            if ((r = next(d, &tok)) < 0)
                return r;
            if (tok.type != WARD_JSON_STRING || !type_ok(tok.str, tok.len))
                return fail(d, WARD_E_JSON_TYPE,
                            "must be a string of 1-%d characters of A-Z a-z 0-9 _ . - :",
                            WARD_ENVELOPE_MAX_NAME);
            if (prev && strlen(text(d, prev->category)) == tok.len &&
                memcmp(text(d, prev->category), tok.str, tok.len) == 0)
                e.category = prev->category;
            else if (intern(d, tok.str, tok.len, &e.category) < 0)
                return -ENOMEM;
            have_type = true;
        } else if (ward_json_key_is(&tok, "hostname")) {
            if ((r = next(d, &tok)) < 0)
                return r;
            if (tok.type != WARD_JSON_STRING || !hostname_ok(tok.str, tok.len))
                return fail(d, WARD_E_JSON_TYPE,
                            "must be a string of 1-%d bytes without control characters",
                            WARD_ENVELOPE_MAX_HOSTNAME);
            memcpy(hostname, tok.str, tok.len);
            hostname_len = tok.len;
            have_host = true;
        } else if (ward_json_key_is(&tok, "timestamp")) {
            if ((r = decode_timestamp(d, &e.ts_ms)) < 0)
                return r;
        } else if (ward_json_key_is(&tok, "data")) {
            if (have_data)
                return fail(d, WARD_E_JSON_TYPE, "appears twice");
            d->name_len = 0;
            if ((r = next(d, &tok)) < 0 || (r = walk(d, &tok, NONE)) < 0)
                return r;
            have_data = true;
        } else if ((r = ward_json_skip(&d->r)) < 0) {
            return json_fail(d, r);
        }
        where_restore(d, saved);
    }
    const char *missing = !have_type   ? "type"
                          : !have_host ? "hostname"
                          : !have_data ? "data"
                                       : NULL;
    if (missing)
        return fail(d, WARD_E_JSON_TYPE, "missing \"%s\"", missing);
    if ((r = find_host(d, hostname, hostname_len, &e.host)) < 0)
        return r;
    return push(d, &b->envs, &e, sizeof(e));
}

static int decode_body(struct decoder *d)
{
    struct ward_json_token tok;
    int r = next(d, &tok);
    if (r < 0)
        return r;
    if (tok.type == WARD_JSON_OBJECT_BEGIN) {
        r = decode_envelope(d);
    } else if (tok.type == WARD_JSON_ARRAY_BEGIN) {
        for (size_t i = 0;; i++) {
            where_restore(d, 0);
            if ((r = next(d, &tok)) < 0 || tok.type == WARD_JSON_ARRAY_END)
                break;
            where_index(d, i);
            if (tok.type != WARD_JSON_OBJECT_BEGIN)
                return fail(d, WARD_E_JSON_TYPE, "expected an envelope object, got %s",
                            ward_json_type_name(tok.type));
            if (i == WARD_ENVELOPE_MAX_ENVELOPES)
                return fail(d, WARD_E_LIMIT, "more than %d envelopes in one body",
                            WARD_ENVELOPE_MAX_ENVELOPES);
            if ((r = decode_envelope(d)) < 0)
                break;
        }
    } else if (tok.type == WARD_JSON_END) {
        return fail(d, WARD_E_JSON_TYPE, "empty body; expected a JSON array of envelopes");
    } else {
        return fail(d, WARD_E_JSON_TYPE, "expected a JSON array of envelopes, got %s",
                    ward_json_type_name(tok.type));
    }
    if (r < 0)
        return r;
    where_restore(d, 0);
    return next(d, &tok);
}

/* Adds key=value to the set, renaming the key (key_2, key_3, ...) if it is taken. */
static int add_unique(struct decoder *d, const char *key, size_t key_len, const char *value,
                      size_t value_len)
{
    struct ward_labels *set = &d->set;
    char name[WARD_LABELS_MAX_KEY + 24];
    size_t len = key_len;
    memcpy(name, key, key_len);
    for (unsigned suffix = 2;; suffix++) {
        bool taken = false;
        for (size_t i = 0; i < set->n && !taken; i++)
            taken =
                set->l[i].key_len == len && memcmp(set->text.data + set->l[i].key, name, len) == 0;
        if (!taken)
            break;
        len = key_len + (size_t)snprintf(name + key_len, sizeof(name) - key_len, "_%u", suffix);
    }
    return ward_labels_add(set, name, len, value, value_len);
}

/* Makes (once) the canonical label text of frame fi and its ancestors. */
static int canonical(struct decoder *d, size_t fi, size_t *out)
{
    struct ward_envelope_batch *b = d->b;
    struct frame *f = AT(b->frames, struct frame, fi);
    if (f->canon != NONE) {
        *out = f->canon;
        return 0;
    }
    size_t chain[MAX_CHAIN + 1], n = 0;
    for (size_t p = fi; p != NONE && n <= MAX_CHAIN; p = AT(b->frames, struct frame, p)->parent)
        chain[n++] = p;
    ward_labels_reset(&d->set);
    int r = 0;
    while (n-- > 0 && r == 0) {
        size_t own[WARD_LABELS_MAX], k = 0;
        for (size_t l = AT(b->frames, struct frame, chain[n])->last_label;
             l != NONE && k < WARD_LABELS_MAX; l = AT(b->labels, struct label, l)->prev)
            own[k++] = l;
        while (k-- > 0 && r == 0) {
            const struct label *l = AT(b->labels, struct label, own[k]);
            r = add_unique(d, text(d, l->key), l->key_len, text(d, l->value), l->value_len);
        }
    }
    size_t at = b->strings.len;
    if (r == 0)
        r = ward_labels_write(&d->set, &b->strings, NULL, NULL);
    if (r == 0)
        r = ward_buf_putc(&b->strings, '\0');
    if (r == -ENOMEM)
        return oom(d);
    if (r < 0)
        return fail(d, WARD_E_LIMIT, "a label name grew past %d bytes when made unique",
                    WARD_LABELS_MAX_KEY);
    AT(b->frames, struct frame, fi)->canon = at;
    *out = at;
    return 0;
}

/* Builds the samples, grouped by host in order of first appearance. */
static int build(struct decoder *d)
{
    struct ward_envelope_batch *b = d->b;
    size_t n = COUNT(b->entries, struct entry), n_hosts = COUNT(b->host_list, struct host);
    size_t no_labels = 0;
    int r = intern(d, "{}", 2, &no_labels);
    struct entry *e = (struct entry *)b->entries.data;
    size_t *labels = n ? calloc(n, sizeof(*labels)) : NULL;
    if (r == 0 && n && !labels)
        r = oom(d);
    for (size_t i = 0; i < n && r == 0; i++) {
        labels[i] = no_labels;
        if (e[i].frame != NONE)
            r = canonical(d, e[i].frame, &labels[i]);
    }
    if (r == 0 && n && !(b->samples = calloc(n, sizeof(*b->samples))))
        r = oom(d);
    if (r == 0 && n_hosts && !(b->hosts = calloc(n_hosts, sizeof(*b->hosts))))
        r = oom(d);
    if (r < 0) {
        free(labels);
        return r;
    }
    /* Each host's count becomes the cursor where its next sample goes. */
    struct host *h = (struct host *)b->host_list.data;
    const struct env *env = (const struct env *)b->envs.data;
    for (size_t i = 0; i < n; i++)
        h[env[e[i].env].host].count++;
    size_t start = 0;
    for (size_t i = 0; i < n_hosts; i++) {
        b->hosts[i] = (struct ward_envelope_host){
            .hostname = text(d, h[i].name),
            .samples = b->samples ? b->samples + start : NULL,
            .n = h[i].count,
        };
        h[i].count = start;
        start += b->hosts[i].n;
    }
    const char *s = b->strings.data;
    for (size_t i = 0; i < n; i++) {
        const struct env *v = &env[e[i].env];
        b->samples[h[v->host].count++] = (struct ward_sample){
            .category = s + v->category,
            .name = s + e[i].name,
            .labels = s + labels[i],
            .kind = e[i].kind,
            .ts_ms = v->ts_ms,
            .value = e[i].value,
        };
    }
    free(labels);
    b->n_hosts = n_hosts;
    b->n_samples = n;
    b->n_envelopes = COUNT(b->envs, struct env);
    return 0;
}

void ward_envelope_init(struct ward_envelope_batch *b)
{
    *b = (struct ward_envelope_batch){0};
}

void ward_envelope_done(struct ward_envelope_batch *b)
{
    free(b->samples);
    free(b->hosts);
    ward_buf_done(&b->strings);
    ward_buf_done(&b->entries);
    ward_buf_done(&b->frames);
    ward_buf_done(&b->labels);
    ward_buf_done(&b->envs);
    ward_buf_done(&b->host_list);
    *b = (struct ward_envelope_batch){0};
}

int ward_envelope_decode(struct ward_envelope_batch *b, const char *json, size_t len,
                         int64_t now_ms, struct ward_buf *err)
{
    struct decoder d = {.b = b, .err = err, .now_ms = now_ms};
    const struct ward_json_limits lim = {
        .max_depth = WARD_ENVELOPE_MAX_DEPTH,
        .max_size = len ? len : 1,
        .max_string = WARD_ENVELOPE_MAX_STRING,
    };
    ward_json_reader_init(&d.r, json, len, &lim);
    ward_buf_init(&d.where, 0);
    ward_labels_init(&d.set);
    int r = decode_body(&d);
    if (r == 0)
        r = build(&d);
    ward_json_reader_done(&d.r);
    ward_buf_done(&d.where);
    ward_labels_done(&d.set);
    return r;
}
