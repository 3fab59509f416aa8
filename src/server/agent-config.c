/*
 * Central agent configuration documents; see agent-config.h.
 *
 * The document is read in one pass of the JSON reader into fixed-size
 * structs, so every bound is a bound of a buffer, and written back from
 * them: what is stored and served is always in one canonical form.
 */
#include "server/agent-config.h"

#include "common/agent-rules.h"
#include "common/error.h"
#include "common/json.h"
#include "common/parse.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct reader {
    struct ward_json_reader r;
    struct ward_buf *err;
    char path[96]; /* the field being read, for messages */
};

__attribute__((format(printf, 3, 4))) static int fail(struct reader *rd, int code, const char *fmt,
                                                      ...)
{
    va_list ap;
    va_start(ap, fmt);
    ward_buf_printf(rd->err, "%s: ", rd->path);
    ward_buf_vprintf(rd->err, fmt, ap);
    va_end(ap);
    return code;
}

static int next(struct reader *rd, struct ward_json_token *tok)
{
    int r = ward_json_next(&rd->r, tok);
    return r < 0 ? fail(rd, r, "%s", ward_json_error_message(&rd->r)) : 0;
}

static int expect(struct reader *rd, enum ward_json_token_type type, struct ward_json_token *tok)
{
    int r = next(rd, tok);
    if (r == 0 && tok->type != type)
        r = fail(rd, WARD_E_JSON_TYPE, "expected %s, got %s", ward_json_type_name(type),
                 ward_json_type_name(tok->type));
    return r;
}

/* Reads a string of at most max bytes, printable, into dst. */
static int read_text(struct reader *rd, char *dst, size_t max)
{
    struct ward_json_token tok;
    int r = expect(rd, WARD_JSON_STRING, &tok);
    if (r < 0)
        return r;
    if (tok.len == 0)
        return fail(rd, WARD_E_JSON_TYPE, "must not be empty");
    if (tok.len > max)
        return fail(rd, WARD_E_LIMIT, "longer than %zu bytes", max);
    for (size_t i = 0; i < tok.len; i++)
        if ((unsigned char)tok.str[i] < 0x20 || tok.str[i] == 0x7f)
            return fail(rd, WARD_E_JSON_TYPE, "must not contain control characters");
    memcpy(dst, tok.str, tok.len);
    dst[tok.len] = '\0';
    return 0;
}

static int read_duration(struct reader *rd, char *dst)
{
    int r = read_text(rd, dst, WARD_ACFG_DURATION_MAX);
    int64_t ms;
    if (r == 0 && (ward_parse_duration_ms(dst, &ms) < 0 || ms <= 0))
        r = fail(rd, WARD_E_JSON_TYPE, "not a positive duration such as \"30s\"");
    return r;
}

__attribute__((format(printf, 2, 3))) static void at(struct reader *rd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rd->path, sizeof(rd->path), fmt, ap);
    va_end(ap);
}

typedef int (*member_fn)(struct reader *rd, const char *key, size_t len, void *data);

/* Calls member(rd, key, len, data) for each member of an object whose "{" was read. */
static int members(struct reader *rd, member_fn member, void *data)
{
    struct ward_json_token tok;
    for (;;) {
        int r = next(rd, &tok);
        if (r < 0 || tok.type == WARD_JSON_OBJECT_END)
            return r;
        char key[WARD_ACFG_LABEL_KEY_MAX + 1];
        if (tok.len == 0 || tok.len >= sizeof(key))
            return fail(rd, WARD_E_LIMIT, "names must be 1 to %zu bytes", sizeof(key) - 1);
        memcpy(key, tok.str, tok.len);
        key[tok.len] = '\0';
        r = member(rd, key, tok.len, data);
        if (r < 0)
            return r;
    }
}

/* The same for the object that comes next. */
static int each_member(struct reader *rd, member_fn member, void *data)
{
    struct ward_json_token tok;
    int r = expect(rd, WARD_JSON_OBJECT_BEGIN, &tok);
    return r < 0 ? r : members(rd, member, data);
}

/* Reads {"k": "v", ...} into pairs of at most max, with value bounds. */
struct pairs {
    struct ward_acfg_pair *v;
    size_t *n, max, key_max, value_max;
    const char *what;
    bool (*names)(const char *s, size_t n); /* the rule for names, or NULL */
};

static int pair_member(struct reader *rd, const char *key, size_t len, void *data)
{
    struct pairs *p = data;
    if (p->names && !p->names(key, len))
        return fail(rd, WARD_E_JSON_TYPE,
                    "'%.64s' is not a label name ([A-Za-z_][A-Za-z0-9_]*, not starting with __)",
                    key);
    if (len > p->key_max)
        return fail(rd, WARD_E_LIMIT, "name '%.64s' is longer than %zu bytes", key, p->key_max);
    for (size_t i = 0; i < *p->n; i++)
        if (strcmp(p->v[i].key, key) == 0)
            return fail(rd, WARD_E_JSON_TYPE, "'%s' given twice", key);
    if (*p->n == p->max)
        return fail(rd, WARD_E_LIMIT, "more than %zu %s", p->max, p->what);
    struct ward_acfg_pair *pair = &p->v[*p->n];
    memcpy(pair->key, key, len + 1);
    int r = read_text(rd, pair->value, p->value_max);
    if (r == 0)
        (*p->n)++;
    return r;
}

static int collector_member(struct reader *rd, const char *key, size_t len, void *data)
{
    (void)len;
    struct ward_acfg_collector *c = data;
    char saved[sizeof(rd->path)];
    memcpy(saved, rd->path, sizeof(saved));
    at(rd, "%s.%s", saved, key);
    int r;
    struct ward_json_token tok;
    if (strcmp(key, "enabled") == 0) {
        r = next(rd, &tok);
        if (r == 0 && tok.type != WARD_JSON_TRUE && tok.type != WARD_JSON_FALSE)
            r = fail(rd, WARD_E_JSON_TYPE, "expected true or false");
        if (r == 0)
            c->enabled = tok.type == WARD_JSON_TRUE;
    } else if (strcmp(key, "interval") == 0) {
        r = read_duration(rd, c->interval);
        int64_t ms = 0;
        if (r == 0 && (ward_parse_duration_ms(c->interval, &ms) < 0 ||
                       ms < WARD_RULES_INTERVAL_MIN_MS || ms > WARD_RULES_INTERVAL_MAX_MS))
            r = fail(rd, WARD_E_JSON_TYPE, "must be 1s to 24h");
    } else {
        r = fail(rd, WARD_E_JSON_TYPE, "unknown field; collectors take enabled and interval");
    }
    memcpy(rd->path, saved, sizeof(saved));
    return r;
}

static bool is_name(const char *s)
{
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
            return false;
    return true;
}

static int collectors_member(struct reader *rd, const char *key, size_t len, void *data)
{
    struct ward_acfg *c = data;
    at(rd, "collectors.%s", key);
    if (len > WARD_ACFG_NAME_MAX || !is_name(key))
        return fail(rd, WARD_E_JSON_TYPE, "a collector name is 1 to %d of a-z, 0-9, _ and -",
                    WARD_ACFG_NAME_MAX);
    for (size_t i = 0; i < c->n_collectors; i++)
        if (strcmp(c->collectors[i].name, key) == 0)
            return fail(rd, WARD_E_JSON_TYPE, "given twice");
    if (c->n_collectors == WARD_ACFG_MAX_COLLECTORS)
        return fail(rd, WARD_E_LIMIT, "more than %d collectors", WARD_ACFG_MAX_COLLECTORS);
    struct ward_acfg_collector *col = &c->collectors[c->n_collectors];
    *col = (struct ward_acfg_collector){.enabled = -1};
    memcpy(col->name, key, len + 1);
    int r = each_member(rd, collector_member, col);
    if (r == 0)
        c->n_collectors++;
    return r;
}

static int probe_member(struct reader *rd, const char *key, size_t len, void *data)
{
    (void)len;
    struct ward_acfg_probe *p = data;
    char saved[sizeof(rd->path)];
    memcpy(saved, rd->path, sizeof(saved));
    at(rd, "%s.%s", saved, key);
    int r;
    if (strcmp(key, "type") == 0) {
        r = read_text(rd, p->type, sizeof(p->type) - 1);
        if (r == 0 && strcmp(p->type, "icmp") != 0 && strcmp(p->type, "tcp") != 0 &&
            strcmp(p->type, "http") != 0)
            r = fail(rd, WARD_E_JSON_TYPE, "expected icmp, tcp or http");
    } else if (strcmp(key, "target") == 0) {
        r = read_text(rd, p->target, WARD_ACFG_TARGET_MAX);
    } else if (strcmp(key, "interval") == 0) {
        r = read_duration(rd, p->interval);
    } else if (strcmp(key, "timeout") == 0) {
        r = read_duration(rd, p->timeout);
    } else if (strcmp(key, "spacing") == 0) {
        r = read_duration(rd, p->spacing);
    } else if (strcmp(key, "count") == 0) {
        struct ward_json_token tok;
        r = expect(rd, WARD_JSON_INT, &tok);
        if (r == 0 && (tok.i < 1 || tok.i > 100))
            r = fail(rd, WARD_E_JSON_TYPE, "must be 1 to 100");
        if (r == 0)
            p->count = tok.i;
    } else if (strcmp(key, "tags") == 0) {
        struct pairs tags = {.v = p->tags,
                             .n = &p->n_tags,
                             .max = WARD_ACFG_MAX_TAGS,
                             .key_max = WARD_ACFG_TAG_KEY_MAX,
                             .value_max = WARD_ACFG_TAG_VALUE_MAX,
                             .what = "tags"};
        r = each_member(rd, pair_member, &tags);
    } else {
        r = fail(rd, WARD_E_JSON_TYPE,
                 "unknown field; probes take type, target, interval, timeout, count, spacing"
                 " and tags");
    }
    memcpy(rd->path, saved, sizeof(saved));
    return r;
}

/* The milliseconds of duration text d (checked when read), or def when d is unset. */
static int64_t ms_or(const char *d, int64_t def)
{
    int64_t ms;
    return d[0] && ward_parse_duration_ms(d, &ms) == 0 ? ms : def;
}

/* Checks a probe as the agent will, with the agent's defaults for what it leaves out. */
static int check_probe(struct reader *rd, const struct ward_acfg_probe *p)
{
    const char *field, *why;
    if (ward_rules_probe_timing(
            strcmp(p->type, "icmp") == 0, ms_or(p->interval, WARD_PROBE_INTERVAL_MS),
            ms_or(p->timeout, WARD_PROBE_TIMEOUT_MS), p->count ? p->count : WARD_PROBE_COUNT,
            ms_or(p->spacing, WARD_PROBE_SPACING_MS), &field, &why) < 0)
        return fail(rd, WARD_E_JSON_TYPE, "%s: %s", field, why);
    for (size_t i = 0; i < p->n_tags; i++)
        if (!ward_rules_tag_key(p->tags[i].key))
            return fail(rd, WARD_E_JSON_TYPE,
                        "tags: '%s' is not a tag name ([A-Za-z0-9_], not starting with a digit,"
                        " and not type or target)",
                        p->tags[i].key);
    return 0;
}

static int read_probes(struct reader *rd, struct ward_acfg *c)
{
    struct ward_json_token tok;
    int r = expect(rd, WARD_JSON_ARRAY_BEGIN, &tok);
    for (;;) {
        if (r < 0 || (r = next(rd, &tok)) < 0 || tok.type == WARD_JSON_ARRAY_END)
            return r;
        at(rd, "probes[%zu]", c->n_probes);
        if (tok.type != WARD_JSON_OBJECT_BEGIN)
            return fail(rd, WARD_E_JSON_TYPE, "expected an object");
        if (c->n_probes == WARD_ACFG_MAX_PROBES)
            return fail(rd, WARD_E_LIMIT, "more than %d probes", WARD_ACFG_MAX_PROBES);
        struct ward_acfg_probe *p = &c->probes[c->n_probes];
        *p = (struct ward_acfg_probe){0};
        r = members(rd, probe_member, p);
        if (r == 0 && (!p->type[0] || !p->target[0]))
            r = fail(rd, WARD_E_JSON_TYPE, "type and target are required");
        if (r == 0 && strcmp(p->type, "icmp") != 0 && (p->count || p->spacing[0]))
            r = fail(rd, WARD_E_JSON_TYPE, "count and spacing apply to icmp probes only");
        if (r == 0)
            r = check_probe(rd, p);
        if (r == 0)
            c->n_probes++;
    }
}

static int top_member(struct reader *rd, const char *key, size_t len, void *data)
{
    (void)len;
    struct ward_acfg *c = data;
    at(rd, "%s", key);
    if (strcmp(key, "collectors") == 0)
        return each_member(rd, collectors_member, c);
    if (strcmp(key, "labels") == 0) {
        struct pairs labels = {.v = c->labels,
                               .n = &c->n_labels,
                               .max = WARD_ACFG_MAX_LABELS,
                               .key_max = WARD_ACFG_LABEL_KEY_MAX,
                               .value_max = WARD_ACFG_LABEL_VALUE_MAX,
                               .what = "labels",
                               .names = ward_rules_label_name};
        return each_member(rd, pair_member, &labels);
    }
    if (strcmp(key, "probes") == 0)
        return read_probes(rd, c);
    return fail(rd, WARD_E_JSON_TYPE,
                "unknown field; a configuration has collectors, labels"
                " and probes");
}

int ward_acfg_parse(const char *json, size_t len, struct ward_acfg *out, struct ward_buf *err)
{
    memset(out, 0, sizeof(*out));
    if (len > WARD_ACFG_MAX_BYTES) {
        ward_buf_printf(err, "configuration: larger than %d bytes", WARD_ACFG_MAX_BYTES);
        return WARD_E_LIMIT;
    }
    struct ward_json_limits lim = {.max_depth = 6};
    struct reader rd = {.err = err};
    snprintf(rd.path, sizeof(rd.path), "configuration");
    ward_json_reader_init(&rd.r, json, len, &lim);
    int r = each_member(&rd, top_member, out);
    struct ward_json_token tok;
    if (r == 0) {
        snprintf(rd.path, sizeof(rd.path), "configuration");
        r = expect(&rd, WARD_JSON_END, &tok);
    }
    ward_json_reader_done(&rd.r);
    return r;
}

/* ---- Merging and writing ---- */

static struct ward_acfg_collector *find_collector(struct ward_acfg *c, const char *name)
{
    for (size_t i = 0; i < c->n_collectors; i++)
        if (strcmp(c->collectors[i].name, name) == 0)
            return &c->collectors[i];
    return NULL;
}

static struct ward_acfg_pair *find_label(struct ward_acfg *c, const char *key)
{
    for (size_t i = 0; i < c->n_labels; i++)
        if (strcmp(c->labels[i].key, key) == 0)
            return &c->labels[i];
    return NULL;
}

int ward_acfg_merge(struct ward_acfg *base, const struct ward_acfg *over)
{
    size_t new_collectors = 0, new_labels = 0;
    for (size_t i = 0; i < over->n_collectors; i++)
        new_collectors += !find_collector(base, over->collectors[i].name);
    for (size_t i = 0; i < over->n_labels; i++)
        new_labels += !find_label(base, over->labels[i].key);
    if (base->n_collectors + new_collectors > WARD_ACFG_MAX_COLLECTORS ||
        base->n_labels + new_labels > WARD_ACFG_MAX_LABELS)
        return WARD_E_LIMIT;
    for (size_t i = 0; i < over->n_collectors; i++) {
        const struct ward_acfg_collector *o = &over->collectors[i];
        struct ward_acfg_collector *b = find_collector(base, o->name);
        if (!b) {
            *(b = &base->collectors[base->n_collectors++]) = *o;
            continue;
        }
        if (o->enabled >= 0)
            b->enabled = o->enabled;
        if (o->interval[0])
            memcpy(b->interval, o->interval, sizeof(b->interval));
    }
    for (size_t i = 0; i < over->n_labels; i++) {
        struct ward_acfg_pair *b = find_label(base, over->labels[i].key);
        *(b ? b : &base->labels[base->n_labels++]) = over->labels[i];
    }
    size_t dropped = 0;
    for (size_t i = 0; i < over->n_probes; i++) {
        if (base->n_probes == WARD_ACFG_MAX_PROBES)
            dropped++;
        else
            base->probes[base->n_probes++] = over->probes[i];
    }
    return (int)dropped;
}

static void write_text(struct ward_json_writer *w, const char *key, const char *value)
{
    if (!value[0])
        return;
    ward_json_write_keyz(w, key);
    ward_json_write_stringz(w, value);
}

static void write_pairs(struct ward_json_writer *w, const char *key, const struct ward_acfg_pair *v,
                        size_t n)
{
    ward_json_write_keyz(w, key);
    ward_json_write_object_begin(w);
    for (size_t i = 0; i < n; i++)
        write_text(w, v[i].key, v[i].value);
    ward_json_write_object_end(w);
}

static void write_probe(struct ward_json_writer *w, const struct ward_acfg_probe *p)
{
    ward_json_write_object_begin(w);
    write_text(w, "type", p->type);
    write_text(w, "target", p->target);
    write_text(w, "interval", p->interval);
    write_text(w, "timeout", p->timeout);
    write_text(w, "spacing", p->spacing);
    if (p->count) {
        ward_json_write_keyz(w, "count");
        ward_json_write_int(w, p->count);
    }
    if (p->n_tags)
        write_pairs(w, "tags", p->tags, p->n_tags);
    ward_json_write_object_end(w);
}

void ward_acfg_write(const struct ward_acfg *c, struct ward_json_writer *w)
{
    ward_json_write_keyz(w, "collectors");
    ward_json_write_object_begin(w);
    for (size_t i = 0; i < c->n_collectors; i++) {
        const struct ward_acfg_collector *col = &c->collectors[i];
        ward_json_write_keyz(w, col->name);
        ward_json_write_object_begin(w);
        if (col->enabled >= 0) {
            ward_json_write_keyz(w, "enabled");
            ward_json_write_bool(w, col->enabled == 1);
        }
        write_text(w, "interval", col->interval);
        ward_json_write_object_end(w);
    }
    ward_json_write_object_end(w);
    write_pairs(w, "labels", c->labels, c->n_labels);
    ward_json_write_keyz(w, "probes");
    ward_json_write_array_begin(w);
    for (size_t i = 0; i < c->n_probes; i++)
        write_probe(w, &c->probes[i]);
    ward_json_write_array_end(w);
}
