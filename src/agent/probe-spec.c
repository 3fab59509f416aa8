/*
 * Probe specs: defaults, checks, and reading them from JSON.
 *
 * A spec arrives from configuration text, so everything in it is bounded
 * and checked once here: the target must parse for its type
 * (probe-target.c), durations come through the project's duration parser
 * and have bounds, and tags must be label names with printable values
 * that, together with "type" and "target", fit the labels of one sample.
 * The runner checks every spec again, so a spec built in code cannot
 * bypass these rules.
 *
 * The reader is strict: unknown or repeated keys are errors, because a
 * misspelt "timeout" silently falling back to its default would hide a
 * configuration mistake. Every error names the field.
 */
#include "agent/probe-internal.h"

#include "common/cleanup.h"
#include "common/error.h"
#include "common/parse.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Longest duration text ("1.5s"); anything longer is not a duration we accept. */
#define DURATION_TEXT_MAX 32
/* Bytes of a user's string quoted back in an error message. */
#define QUOTE_MAX 40

enum spec_key {
    KEY_TYPE,
    KEY_TARGET,
    KEY_INTERVAL,
    KEY_TIMEOUT,
    KEY_COUNT,
    KEY_SPACING,
    KEY_TAGS,
    N_KEYS,
};

static const char *const key_names[N_KEYS] = {
    "type", "target", "interval", "timeout", "count", "spacing", "tags",
};

static const char *const type_names[] = {"icmp", "tcp", "http"};

const char *ward_probe_type_name(enum ward_probe_type type)
{
    return (unsigned)type < WARD_ARRAY_SIZE(type_names) ? type_names[type] : "";
}

void ward_probe_spec_init(struct ward_probe_spec *spec)
{
    *spec = (struct ward_probe_spec){
        .type = WARD_PROBE_ICMP,
        .interval_ms = WARD_PROBE_INTERVAL_MS,
        .timeout_ms = WARD_PROBE_TIMEOUT_MS,
        .count = WARD_PROBE_COUNT,
        .spacing_ms = WARD_PROBE_SPACING_MS,
    };
}

/* Appends a message to err (when there is one) and returns WARD_E_CONFIG. */
__attribute__((format(printf, 2, 3))) static int fail(struct ward_buf *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        ward_buf_vprintf(err, fmt, ap);
        va_end(ap);
    }
    return WARD_E_CONFIG;
}

/* A tag value: 1 to WARD_PROBE_TAG_VALUE_MAX bytes of UTF-8 without control characters. */
static bool valid_value(const char *s)
{
    size_t n = strnlen(s, WARD_PROBE_TAG_VALUE_MAX + 1);
    if (n == 0 || n > WARD_PROBE_TAG_VALUE_MAX)
        return false;
    for (size_t i = 0; i < n;) {
        int k = ward_json_utf8_sequence((const unsigned char *)s + i, n - i);
        if (k < 0 || (k == 1 && ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)))
            return false;
        i += (size_t)k;
    }
    return true;
}

static int check_tags(const struct ward_probe_spec *spec, struct ward_buf *err)
{
    if (spec->n_tags > WARD_PROBE_MAX_TAGS)
        return fail(err, "tags: at most %d (a sample has %d labels, two of them type and target)",
                    WARD_PROBE_MAX_TAGS, WARD_SAMPLE_MAX_LABELS);
    for (size_t i = 0; i < spec->n_tags; i++) {
        const struct ward_probe_tag *t = &spec->tags[i];
        if (!ward_rules_tag_key(t->key))
            return fail(err,
                        "tags: a key must be 1 to %d of [A-Za-z0-9_], not starting with a "
                        "digit, and not type or target",
                        WARD_PROBE_TAG_KEY_MAX);
        for (size_t j = 0; j < i; j++)
            if (strcmp(spec->tags[j].key, t->key) == 0)
                return fail(err, "tags: \"%s\" is given twice", t->key);
        if (!valid_value(t->value))
            return fail(err,
                        "tags: the value of \"%s\" must be 1 to %d bytes of UTF-8 without "
                        "control characters",
                        t->key, WARD_PROBE_TAG_VALUE_MAX);
    }
    return 0;
}

int ward_probe_spec_check(const struct ward_probe_spec *spec, struct ward_buf *err)
{
    if ((unsigned)spec->type >= WARD_ARRAY_SIZE(type_names))
        return fail(err, "type: unknown probe type");
    struct ward_probe_target t;
    const char *why;
    if (ward_probe_target_parse(spec->type, spec->target, &t, &why) < 0)
        return fail(err, "target: %s", why);
    const char *field;
    if (ward_rules_probe_timing(spec->type == WARD_PROBE_ICMP, spec->interval_ms, spec->timeout_ms,
                                spec->count, spec->spacing_ms, &field, &why) < 0)
        return fail(err, "%s: %s", field, why);
    return check_tags(spec, err);
}

/* Quotes up to QUOTE_MAX bytes of a token's text, made printable, into out. */
static const char *quote(const struct ward_json_token *tok, char out[QUOTE_MAX + 1])
{
    ward_label_copy(out, QUOTE_MAX + 1, tok->str, tok->len);
    return out;
}

static int json_fail(struct ward_json_reader *r, int code, const char *field, struct ward_buf *err)
{
    if (err)
        ward_buf_printf(err, "%s%sat byte %zu: %s", field ? field : "", field ? ": " : "",
                        ward_json_error_offset(r), ward_json_error_message(r));
    return code;
}

/* Reads a string value of at most size - 1 bytes, without NUL bytes, into dst. */
static int read_string(struct ward_json_reader *r, const char *field, char *dst, size_t size,
                       struct ward_buf *err)
{
    struct ward_json_token tok;
    int rc = ward_json_expect(r, WARD_JSON_STRING, &tok);
    if (rc < 0)
        return json_fail(r, rc, field, err);
    if (tok.len >= size)
        return fail(err, "%s: longer than %zu bytes", field, size - 1);
    if (memchr(tok.str, '\0', tok.len))
        return fail(err, "%s: holds a NUL byte", field);
    memcpy(dst, tok.str, tok.len);
    dst[tok.len] = '\0';
    return 0;
}

static int read_type(struct ward_json_reader *r, struct ward_probe_spec *s, struct ward_buf *err)
{
    struct ward_json_token tok;
    char q[QUOTE_MAX + 1];
    int rc = ward_json_expect(r, WARD_JSON_STRING, &tok);
    if (rc < 0)
        return json_fail(r, rc, "type", err);
    for (size_t i = 0; i < WARD_ARRAY_SIZE(type_names); i++) {
        if (ward_json_key_is(&tok, type_names[i])) {
            s->type = (enum ward_probe_type)i;
            return 0;
        }
    }
    return fail(err, "type: unknown probe type \"%s\" (expected icmp, tcp or http)",
                quote(&tok, q));
}

/* Reads a duration: a string such as "1.5s" or "200ms", or a number of seconds. */
static int read_duration(struct ward_json_reader *r, const char *field, int64_t *out,
                         struct ward_buf *err)
{
    struct ward_json_token tok;
    char text[DURATION_TEXT_MAX + 1], q[QUOTE_MAX + 1];
    int rc = ward_json_next(r, &tok);
    if (rc < 0)
        return json_fail(r, rc, field, err);
    if (tok.type != WARD_JSON_STRING && tok.type != WARD_JSON_INT && tok.type != WARD_JSON_DOUBLE)
        return fail(err, "%s: expected a duration such as \"2s\", got %s", field,
                    ward_json_type_name(tok.type));
    if (tok.len > DURATION_TEXT_MAX || memchr(tok.str, '\0', tok.len))
        return fail(err, "%s: invalid duration \"%s\"", field, quote(&tok, q));
    memcpy(text, tok.str, tok.len);
    text[tok.len] = '\0';
    if (ward_parse_duration_ms(text, out) < 0)
        return fail(err, "%s: invalid duration \"%s\" (use ms, s, m or h: \"2s\")", field,
                    quote(&tok, q));
    return 0;
}

static int read_count(struct ward_json_reader *r, struct ward_probe_spec *s, struct ward_buf *err)
{
    struct ward_json_token tok;
    int rc = ward_json_expect(r, WARD_JSON_INT, &tok);
    if (rc < 0)
        return json_fail(r, rc, "count", err);
    if (tok.i < 1 || tok.i > WARD_PROBE_COUNT_MAX)
        return fail(err, "count: must be from 1 to %d", WARD_PROBE_COUNT_MAX);
    s->count = (int)tok.i;
    return 0;
}

static int read_tags(struct ward_json_reader *r, struct ward_probe_spec *s, struct ward_buf *err)
{
    struct ward_json_token tok;
    int rc = ward_json_expect(r, WARD_JSON_OBJECT_BEGIN, &tok);
    if (rc < 0)
        return json_fail(r, rc, "tags", err);
    for (;;) {
        rc = ward_json_next(r, &tok);
        if (rc < 0)
            return json_fail(r, rc, "tags", err);
        if (tok.type == WARD_JSON_OBJECT_END)
            return 0;
        if (s->n_tags == WARD_PROBE_MAX_TAGS)
            return fail(err,
                        "tags: at most %d (a sample has %d labels, two of them type and target)",
                        WARD_PROBE_MAX_TAGS, WARD_SAMPLE_MAX_LABELS);
        struct ward_probe_tag *t = &s->tags[s->n_tags];
        char q[QUOTE_MAX + 1];
        if (tok.len >= sizeof(t->key))
            return fail(err, "tags: key \"%s\" is longer than %d bytes", quote(&tok, q),
                        WARD_PROBE_TAG_KEY_MAX);
        if (memchr(tok.str, '\0', tok.len))
            return fail(err, "tags: a key holds a NUL byte");
        memcpy(t->key, tok.str, tok.len);
        t->key[tok.len] = '\0';
        rc = read_string(r, "tags", t->value, sizeof(t->value), err);
        if (rc < 0)
            return rc;
        s->n_tags++;
    }
}

static int read_value(struct ward_json_reader *r, enum spec_key key, struct ward_probe_spec *s,
                      struct ward_buf *err)
{
    switch (key) {
    case KEY_TYPE:
        return read_type(r, s, err);
    case KEY_TARGET:
        return read_string(r, "target", s->target, sizeof(s->target), err);
    case KEY_INTERVAL:
        return read_duration(r, "interval", &s->interval_ms, err);
    case KEY_TIMEOUT:
        return read_duration(r, "timeout", &s->timeout_ms, err);
    case KEY_COUNT:
        return read_count(r, s, err);
    case KEY_SPACING:
        return read_duration(r, "spacing", &s->spacing_ms, err);
    default:
        return read_tags(r, s, err);
    }
}

/* Identifies a key; returns N_KEYS for an unknown one. */
static enum spec_key find_key(const struct ward_json_token *tok)
{
    size_t k = 0;
    while (k < N_KEYS && !ward_json_key_is(tok, key_names[k]))
        k++;
    return (enum spec_key)k;
}

/* Reads the object's members into s; seen gets a bit per key read. */
static int read_members(struct ward_json_reader *r, struct ward_probe_spec *s, unsigned *seen,
                        struct ward_buf *err)
{
    struct ward_json_token tok;
    char q[QUOTE_MAX + 1];
    int rc = ward_json_expect(r, WARD_JSON_OBJECT_BEGIN, &tok);
    if (rc < 0)
        return json_fail(r, rc, "probe", err);
    for (;;) {
        rc = ward_json_next(r, &tok);
        if (rc < 0)
            return json_fail(r, rc, NULL, err);
        if (tok.type == WARD_JSON_OBJECT_END)
            return 0;
        enum spec_key key = find_key(&tok);
        if (key == N_KEYS)
            return fail(err,
                        "unknown key \"%s\" (expected type, target, interval, timeout, "
                        "count, spacing or tags)",
                        quote(&tok, q));
        if (*seen & (1u << key))
            return fail(err, "%s: given twice", key_names[key]);
        *seen |= 1u << key;
        rc = read_value(r, key, s, err);
        if (rc < 0)
            return rc;
    }
}

int ward_probe_spec_read(struct ward_json_reader *r, struct ward_probe_spec *out,
                         struct ward_buf *err)
{
    struct ward_probe_spec s;
    unsigned seen = 0;
    ward_probe_spec_init(&s);
    int rc = read_members(r, &s, &seen, err);
    if (rc < 0)
        return rc;
    if (!(seen & (1u << KEY_TYPE)))
        return fail(err, "type: missing (icmp, tcp or http)");
    if (!(seen & (1u << KEY_TARGET)))
        return fail(err, "target: missing");
    if (s.type != WARD_PROBE_ICMP && (seen & (1u << KEY_COUNT | 1u << KEY_SPACING)))
        return fail(err, "%s: only for icmp probes",
                    seen & (1u << KEY_COUNT) ? "count" : "spacing");
    rc = ward_probe_spec_check(&s, err);
    if (rc < 0)
        return rc;
    *out = s;
    return 0;
}

int ward_probe_spec_parse(const char *json, size_t len, struct ward_probe_spec *out,
                          struct ward_buf *err)
{
    static const struct ward_json_limits limits = {
        .max_depth = 2,
        .max_size = 16 * 1024,
        .max_string = 1024,
    };
    struct ward_json_reader r;
    struct ward_json_token tok;
    struct ward_probe_spec s;
    ward_json_reader_init(&r, json, len, &limits);
    int rc = ward_probe_spec_read(&r, &s, err);
    if (rc == 0 && (rc = ward_json_next(&r, &tok)) < 0)
        json_fail(&r, rc, NULL, err);
    ward_json_reader_done(&r);
    if (rc == 0)
        *out = s;
    return rc;
}
