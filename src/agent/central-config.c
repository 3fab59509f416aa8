/*
 * The agent's central configuration (see central-config.h).
 *
 * One request per step, on the module's own connection (an uploader of its
 * own, as registration has), so asking never waits behind a wave of
 * uploads; the main loop runs a step when ward_central_due() has come, and
 * every wait is decided here, so a test runs the steps one by one against a
 * fake server.
 *
 * A document is read in one pass of the JSON reader into a fixed-size
 * struct and checked whole: collector names against the scheduler's,
 * intervals and label names against their bounds, probes by the probe
 * module's own reader and the reachability collector's set check. Only a
 * document that passes is applied, in an order in which nothing can fail
 * for a reason of the document's (probes, labels, then the collector
 * overrides), so a document is in force whole or not at all. The probe
 * objects are read from their own slices of the document (found by their
 * tokens' offsets), because the reader cannot look at a token without
 * taking it and the probe reader wants the object whole.
 *
 * The server's ETag comes back in If-None-Match, so an unchanged document
 * costs a 304. A refused document's ETag is kept as well, and a hash of its
 * bytes, so it is logged once, not at every interval; /health shows the
 * reason until a good document arrives. A document equal to the one in
 * force (a restart reads the stored one, then the server sends the same
 * bytes without a 304) changes nothing and logs nothing.
 *
 * The document applied is stored as it came, in STATE_DIR/config.json (mode
 * 0600, written atomically by identity.h), and applied again at start.
 */
#include "agent/central-config.h"

#include "agent/http-client.h"
#include "agent/identity.h"
#include "agent/probe.h"
#include "agent/uploader.h"
#include "common/crypto.h"
#include "common/error.h"
#include "common/json.h"
#include "common/log.h"
#include "common/parse.h"
#include "common/time-util.h"
#include "common/uuid.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEALTH_KEY "configuration"
/* Longest collector name, and bytes of a user's string quoted back in a message. */
#define NAME_MAX_LEN 32
#define QUOTE_MAX    40
/* Longest duration text ("1.5s"). */
#define DURATION_MAX 32
/* Nesting of a document: probes[i].tags is the deepest, at 4. */
#define DOC_DEPTH 6
/* Bytes of an error (a server's error body) quoted in a log line. */
#define ERROR_TEXT_MAX 200
/* The longest Retry-After taken, in seconds. */

_Static_assert(WARD_CENTRAL_MAX_BYTES <= WARD_HTTP_BODY_KEEP,
               "the HTTP client must keep a whole document");
_Static_assert(WARD_CENTRAL_MAX_LABELS <= WARD_BATCH_MAX_LABELS,
               "the batch must take every label of a document");

struct override {
    char name[NAME_MAX_LEN + 1];
    int enabled;         /* -1: not set */
    int64_t interval_ms; /* 0: not set */
};

struct label {
    char key[WARD_CENTRAL_LABEL_KEY_MAX + 1];
    char value[WARD_CENTRAL_LABEL_VALUE_MAX + 1];
};

/* A checked document. */
struct doc {
    int64_t version;
    struct override collectors[WARD_MAX_COLLECTORS + 1];
    size_t n_collectors;
    struct label labels[WARD_CENTRAL_MAX_LABELS];
    size_t n_labels;
    struct ward_probe_spec probes[WARD_PROBE_MAX];
    size_t n_probes;
};

struct ward_central {
    struct ward_uploader *up;
    char *state_dir;
    char id[WARD_UUID_STR_LEN];
    char path[64];
    int64_t interval_ms;
    struct ward_scheduler *scheduler;
    struct ward_batch *batch;
    bool probes;
    struct ward_health *health;

    int64_t due;
    char etag[sizeof(((struct ward_http_response *)0)->etag)]; /* sent in If-None-Match */
    struct ward_buf applied; /* the document in force, as it came */
    int64_t version;         /* of the document in force */
    uint64_t refused_hash;   /* of the last refused document; 0 for none */
    uint64_t errors;         /* documents refused */
    long failing;            /* the status (or -1: no answer) of failures logged, 0 for none */
    bool told_not_found;     /* the 404 was logged */
    bool key_rejected;       /* the last answer was a 401 about the key (WWW-Authenticate) */
    struct ward_buf resp, err;
};

/* ---- Reading a document ---- */

__attribute__((format(printf, 2, 3))) static int fail(struct ward_buf *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ward_buf_vprintf(err, fmt, ap);
    va_end(ap);
    return WARD_E_CONFIG;
}

/* The reader's error, named by the field being read. */
static int json_fail(struct ward_json_reader *r, int code, const char *field, struct ward_buf *err)
{
    ward_buf_printf(err, "%s: %s (byte %zu)", field, ward_json_error_message(r),
                    ward_json_error_offset(r));
    return code;
}

static int expect(struct ward_json_reader *r, enum ward_json_token_type type,
                  struct ward_json_token *tok, const char *field, struct ward_buf *err)
{
    int rc = ward_json_expect(r, type, tok);
    return rc < 0 ? json_fail(r, rc, field, err) : 0;
}

/* A user's string, shortened and with anything but printable ASCII as '?', for a message. */
static const char *quote(const struct ward_json_token *tok, char out[QUOTE_MAX + 4])
{
    size_t n = tok->len < QUOTE_MAX ? tok->len : QUOTE_MAX;
    for (size_t i = 0; i < n; i++)
        out[i] = tok->str[i] >= 0x20 && tok->str[i] < 0x7f ? tok->str[i] : '?';
    memcpy(out + n, tok->len > QUOTE_MAX ? "..." : "", tok->len > QUOTE_MAX ? 4 : 1);
    return out;
}

static bool printable(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

/* A duration: a string ("30s") or a number of seconds, within the interval bounds. */
static int read_interval(struct ward_json_reader *r, const char *field, int64_t *out,
                         struct ward_buf *err)
{
    struct ward_json_token tok;
    int rc = ward_json_next(r, &tok);
    if (rc < 0)
        return json_fail(r, rc, field, err);
    char text[DURATION_MAX + 1];
    int64_t ms;
    if ((tok.type != WARD_JSON_STRING && tok.type != WARD_JSON_INT &&
         tok.type != WARD_JSON_DOUBLE) ||
        tok.len > DURATION_MAX)
        return fail(err, "%s: expected a duration such as \"30s\"", field);
    memcpy(text, tok.str, tok.len);
    text[tok.len] = '\0';
    if (memchr(tok.str, '\0', tok.len) || ward_parse_duration_ms(text, &ms) < 0)
        return fail(err, "%s: expected a duration such as \"30s\"", field);
    if (ms < WARD_RULES_INTERVAL_MIN_MS || ms > WARD_RULES_INTERVAL_MAX_MS)
        return fail(err, "%s: must be 1s to 24h", field);
    *out = ms;
    return 0;
}

/* {"enabled": bool, "interval": duration}, into o. */
static int read_collector(struct ward_json_reader *r, struct override *o, struct ward_buf *err)
{
    char field[NAME_MAX_LEN + 32];
    snprintf(field, sizeof(field), "collectors.%s", o->name);
    struct ward_json_token tok;
    int rc = expect(r, WARD_JSON_OBJECT_BEGIN, &tok, field, err);
    while (rc == 0) {
        if ((rc = ward_json_next(r, &tok)) < 0)
            return json_fail(r, rc, field, err);
        if (tok.type == WARD_JSON_OBJECT_END)
            return 0;
        char q[QUOTE_MAX + 4];
        if (ward_json_key_is(&tok, "enabled")) {
            snprintf(field, sizeof(field), "collectors.%s.enabled", o->name);
            if (o->enabled >= 0)
                return fail(err, "%s: given twice", field);
            if ((rc = ward_json_next(r, &tok)) < 0)
                return json_fail(r, rc, field, err);
            if (tok.type != WARD_JSON_TRUE && tok.type != WARD_JSON_FALSE)
                return fail(err, "%s: expected true or false", field);
            o->enabled = tok.type == WARD_JSON_TRUE;
        } else if (ward_json_key_is(&tok, "interval")) {
            snprintf(field, sizeof(field), "collectors.%s.interval", o->name);
            if (o->interval_ms > 0)
                return fail(err, "%s: given twice", field);
            rc = read_interval(r, field, &o->interval_ms, err);
        } else {
            return fail(err, "collectors.%s.%s: unknown key (expected enabled or interval)",
                        o->name, quote(&tok, q));
        }
    }
    return rc;
}

static int read_collectors(struct ward_json_reader *r, struct doc *d, struct ward_buf *err)
{
    struct ward_json_token tok;
    int rc = expect(r, WARD_JSON_OBJECT_BEGIN, &tok, "collectors", err);
    while (rc == 0) {
        if ((rc = ward_json_next(r, &tok)) < 0)
            return json_fail(r, rc, "collectors", err);
        if (tok.type == WARD_JSON_OBJECT_END)
            return 0;
        char q[QUOTE_MAX + 4];
        struct override *o = &d->collectors[d->n_collectors];
        if (tok.len > NAME_MAX_LEN || memchr(tok.str, '\0', tok.len))
            return fail(err, "collectors.%s: unknown collector", quote(&tok, q));
        memcpy(o->name, tok.str, tok.len);
        o->name[tok.len] = '\0';
        if (!ward_scheduler_knows(o->name))
            return fail(err, "collectors.%s: unknown collector", quote(&tok, q));
        for (size_t i = 0; i < d->n_collectors; i++)
            if (strcmp(d->collectors[i].name, o->name) == 0)
                return fail(err, "collectors.%s: given twice", o->name);
        /* Known names are distinct, so there is room for each once. */
        o->enabled = -1;
        o->interval_ms = 0;
        d->n_collectors++;
        rc = read_collector(r, o, err);
    }
    return rc;
}

static int read_labels(struct ward_json_reader *r, struct doc *d, struct ward_buf *err)
{
    struct ward_json_token tok;
    int rc = expect(r, WARD_JSON_OBJECT_BEGIN, &tok, "labels", err);
    while (rc == 0) {
        if ((rc = ward_json_next(r, &tok)) < 0)
            return json_fail(r, rc, "labels", err);
        if (tok.type == WARD_JSON_OBJECT_END)
            return 0;
        char q[QUOTE_MAX + 4];
        if (d->n_labels == WARD_CENTRAL_MAX_LABELS)
            return fail(err, "labels: more than %d", WARD_CENTRAL_MAX_LABELS);
        if (tok.len > WARD_CENTRAL_LABEL_KEY_MAX || !ward_rules_label_name(tok.str, tok.len))
            return fail(err,
                        "labels.%s: not a label name ([A-Za-z_][A-Za-z0-9_]*, at most %d bytes, "
                        "not starting with __)",
                        quote(&tok, q), WARD_CENTRAL_LABEL_KEY_MAX);
        struct label *l = &d->labels[d->n_labels];
        memcpy(l->key, tok.str, tok.len);
        l->key[tok.len] = '\0';
        for (size_t i = 0; i < d->n_labels; i++)
            if (strcmp(d->labels[i].key, l->key) == 0)
                return fail(err, "labels.%s: given twice", l->key);
        char field[WARD_CENTRAL_LABEL_KEY_MAX + 16];
        snprintf(field, sizeof(field), "labels.%s", l->key);
        if ((rc = expect(r, WARD_JSON_STRING, &tok, field, err)) < 0)
            return rc;
        if (tok.len == 0 || tok.len > WARD_CENTRAL_LABEL_VALUE_MAX || !printable(tok.str, tok.len))
            return fail(err, "%s: must be 1 to %d bytes without control characters", field,
                        WARD_CENTRAL_LABEL_VALUE_MAX);
        memcpy(l->value, tok.str, tok.len);
        l->value[tok.len] = '\0';
        d->n_labels++;
    }
    return rc;
}

/*
 * Reads the rest of an object whose "{" was read at offset start, and
 * parses that slice of data as one probe.
 */
static int read_probe(struct ward_json_reader *r, const char *data, size_t start,
                      struct ward_probe_spec *out, const char *field, struct ward_buf *err)
{
    struct ward_json_token tok;
    size_t depth = 1;
    while (depth > 0) {
        int rc = ward_json_next(r, &tok);
        if (rc < 0)
            return json_fail(r, rc, field, err);
        if (tok.type == WARD_JSON_OBJECT_BEGIN || tok.type == WARD_JSON_ARRAY_BEGIN)
            depth++;
        else if (tok.type == WARD_JSON_OBJECT_END || tok.type == WARD_JSON_ARRAY_END)
            depth--;
    }
    struct ward_buf msg = WARD_BUF_INIT;
    int rc = ward_probe_spec_parse(data + start, tok.offset + 1 - start, out, &msg);
    if (rc < 0)
        ward_buf_printf(err, "%s: %s", field, msg.data ? msg.data : ward_strerror(rc));
    ward_buf_done(&msg);
    return rc < 0 ? WARD_E_CONFIG : 0;
}

static int read_probes(struct ward_json_reader *r, const char *data, struct doc *d,
                       struct ward_buf *err)
{
    struct ward_json_token tok;
    int rc = expect(r, WARD_JSON_ARRAY_BEGIN, &tok, "probes", err);
    while (rc == 0) {
        if ((rc = ward_json_next(r, &tok)) < 0)
            return json_fail(r, rc, "probes", err);
        if (tok.type == WARD_JSON_ARRAY_END)
            break;
        char field[32];
        snprintf(field, sizeof(field), "probes[%zu]", d->n_probes);
        if (d->n_probes == WARD_PROBE_MAX)
            return fail(err, "probes: more than %d", WARD_PROBE_MAX);
        if (tok.type != WARD_JSON_OBJECT_BEGIN)
            return fail(err, "%s: expected an object", field);
        rc = read_probe(r, data, tok.offset, &d->probes[d->n_probes], field, err);
        if (rc == 0)
            d->n_probes++;
    }
    if (rc < 0)
        return rc;
    struct ward_buf msg = WARD_BUF_INIT;
    rc = ward_reachability_check(d->probes, d->n_probes, &msg);
    if (rc < 0)
        ward_buf_printf(err, "probes: %s", msg.data ? msg.data : ward_strerror(rc));
    ward_buf_done(&msg);
    return rc < 0 ? WARD_E_CONFIG : 0;
}

static int read_agent_id(struct ward_json_reader *r, const char *id, struct ward_buf *err)
{
    struct ward_json_token tok;
    int rc = expect(r, WARD_JSON_STRING, &tok, "agentId", err);
    if (rc < 0)
        return rc;
    char text[WARD_UUID_STR_LEN], norm[WARD_UUID_STR_LEN];
    if (tok.len >= sizeof(text))
        return fail(err, "agentId: not this agent's id");
    memcpy(text, tok.str, tok.len);
    text[tok.len] = '\0';
    if (ward_uuid_normalize(text, norm) < 0 || strcmp(norm, id) != 0)
        return fail(err, "agentId: not this agent's id");
    return 0;
}

enum doc_key {
    KEY_AGENT_ID,
    KEY_VERSION,
    KEY_COLLECTORS,
    KEY_LABELS,
    KEY_PROBES,
    N_KEYS
};
static const char *const doc_keys[N_KEYS] = {"agentId", "version", "collectors", "labels",
                                             "probes"};

static int read_member(struct ward_json_reader *r, enum doc_key key, const char *data,
                       const char *id, struct doc *d, struct ward_buf *err)
{
    struct ward_json_token tok;
    int rc;
    switch (key) {
    case KEY_AGENT_ID:
        return read_agent_id(r, id, err);
    case KEY_VERSION:
        if ((rc = ward_json_next(r, &tok)) < 0)
            return json_fail(r, rc, "version", err);
        if (tok.type != WARD_JSON_INT || tok.i < 0)
            return fail(err, "version: expected a whole number of 0 or more");
        d->version = tok.i;
        return 0;
    case KEY_COLLECTORS:
        return read_collectors(r, d, err);
    case KEY_LABELS:
        return read_labels(r, d, err);
    default:
        return read_probes(r, data, d, err);
    }
}

/*
 * Reads and checks the document of len bytes at data into *d. Keys of the
 * top level that the agent does not know are skipped (a newer server may
 * send more); everything below is strict. Returns 0, or WARD_E_CONFIG (or
 * the reader's error) with one line naming the field in err.
 */
static int parse_doc(const char *data, size_t len, const char *id, struct doc *d,
                     struct ward_buf *err)
{
    static const struct ward_json_limits limits = {
        .max_depth = DOC_DEPTH,
        .max_size = WARD_CENTRAL_MAX_BYTES,
        .max_string = 1024,
    };
    if (len > WARD_CENTRAL_MAX_BYTES)
        return fail(err, "document: larger than %d bytes", WARD_CENTRAL_MAX_BYTES);
    memset(d, 0, sizeof(*d));
    struct ward_json_reader r;
    struct ward_json_token tok;
    ward_json_reader_init(&r, data, len, &limits);
    unsigned seen = 0;
    int rc = expect(&r, WARD_JSON_OBJECT_BEGIN, &tok, "document", err);
    while (rc == 0) {
        if ((rc = ward_json_next(&r, &tok)) < 0) {
            json_fail(&r, rc, "document", err);
            break;
        }
        if (tok.type == WARD_JSON_OBJECT_END)
            break;
        size_t k = 0;
        while (k < N_KEYS && !ward_json_key_is(&tok, doc_keys[k]))
            k++;
        if (k == N_KEYS) {
            if ((rc = ward_json_skip(&r)) < 0)
                json_fail(&r, rc, "document", err);
            continue;
        }
        if (seen & (1u << k)) {
            rc = fail(err, "%s: given twice", doc_keys[k]);
            break;
        }
        seen |= 1u << k;
        rc = read_member(&r, (enum doc_key)k, data, id, d, err);
    }
    if (rc == 0 && (rc = ward_json_next(&r, &tok)) < 0)
        json_fail(&r, rc, "document", err);
    ward_json_reader_done(&r);
    return rc;
}

/* ---- Applying ---- */

static void set_health(struct ward_central *c, enum ward_health_level level, const char *reason)
{
    if (c->health)
        ward_health_set(c->health, HEALTH_KEY, level, reason, ward_now_ms());
}

static const struct override *find_override(const struct doc *d, const char *name)
{
    for (size_t i = 0; i < d->n_collectors; i++)
        if (strcmp(d->collectors[i].name, name) == 0)
            return &d->collectors[i];
    return NULL;
}

/* Sets every collector's override: the document's, or none (the local setting). */
static void apply_overrides(struct ward_central *c, const struct doc *d)
{
    for (size_t i = 0; i <= ward_n_collectors; i++) {
        const char *name = i < ward_n_collectors ? ward_collectors[i]->name : WARD_SELF_COLLECTOR;
        const struct override *o = find_override(d, name);
        ward_scheduler_configure(c->scheduler, name, o ? o->enabled : -1, o ? o->interval_ms : 0);
    }
}

/*
 * Applies a checked document: probes, labels, then collector overrides.
 * Only memory can fail, in the first two, each keeping what it had; the
 * document then counts as not in force and is fetched whole at the next
 * ask (the probes may be in force already, which does no harm).
 */
static int apply(struct ward_central *c, const struct doc *d)
{
    struct ward_buf msg = WARD_BUF_INIT;
    int r = c->probes ? ward_reachability_configure(d->probes, d->n_probes, &msg) : 0;
    ward_buf_done(&msg);
    if (r == 0 && c->batch) {
        struct ward_label labels[WARD_CENTRAL_MAX_LABELS];
        for (size_t i = 0; i < d->n_labels; i++)
            labels[i] = (struct ward_label){d->labels[i].key, d->labels[i].value};
        r = ward_batch_set_labels(c->batch, labels, d->n_labels);
    }
    if (r < 0)
        return r;
    if (c->scheduler)
        apply_overrides(c, d);
    c->version = d->version;
    if (d->n_labels > WARD_BATCH_MAX_LABELS - WARD_SAMPLE_MAX_LABELS) {
        char n[24], own[24];
        snprintf(n, sizeof(n), "%zu", d->n_labels);
        snprintf(own, sizeof(own), "%d", WARD_BATCH_MAX_LABELS - (int)d->n_labels);
        ward_log_warn(NULL,
                      "samples with more than 'own' labels of their own get only some of the "
                      "configured labels (at most 16 labels per sample)",
                      "labels", n, "own", own);
    }
    return 0;
}

/* The length of text without trailing white space. */
static size_t trimmed(const char *text, size_t len)
{
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' ' ||
                       text[len - 1] == '\t'))
        len--;
    return len;
}

static uint64_t hash(const char *s, size_t n)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * UINT64_C(0x100000001b3);
    return h ? h : 1;
}

static void log_applied(const struct ward_central *c, const struct doc *d, const char *source)
{
    char version[24], collectors[24], labels[24], probes[24];
    snprintf(version, sizeof(version), "%lld", (long long)d->version);
    snprintf(collectors, sizeof(collectors), "%zu", d->n_collectors);
    snprintf(labels, sizeof(labels), "%zu", d->n_labels);
    snprintf(probes, sizeof(probes), "%zu", d->n_probes);
    ward_log_info(NULL, "configuration applied", "version", version, "source", source, "collectors",
                  collectors, "labels", labels, "probes", probes, "agent", c->id);
}

/* A document refused: logged and counted (once per document), shown in /health. */
static void refuse(struct ward_central *c, const char *source, const char *why, uint64_t h)
{
    if (h == c->refused_hash)
        return;
    c->refused_hash = h;
    c->errors++;
    ward_log_warn(NULL, "configuration refused; the one in force stays", "source", source, "error",
                  why, "agent", c->id);
    char reason[160];
    snprintf(reason, sizeof(reason), "configuration refused: %s", why);
    set_health(c, WARD_HEALTH_DEGRADED, reason);
}

/*
 * Checks and applies the document text (len bytes) from source ("server"
 * or "stored"). Returns 1 when it was applied, 0 when it is the one in
 * force or was refused, or -ENOMEM.
 */
static int take(struct ward_central *c, const char *text, size_t len, const char *source)
{
    len = trimmed(text, len);
    if (c->applied.data && len == c->applied.len && memcmp(text, c->applied.data, len) == 0) {
        c->refused_hash = 0;
        set_health(c, WARD_HEALTH_OK, NULL);
        return 0;
    }
    uint64_t h = hash(text, len);
    struct doc *d = malloc(sizeof(*d));
    if (!d)
        return -ENOMEM;
    ward_buf_reset(&c->err);
    int r = parse_doc(text, len, c->id, d, &c->err);
    if (r == -ENOMEM) {
        free(d);
        return r;
    }
    if (r < 0) {
        refuse(c, source, c->err.data ? c->err.data : ward_strerror(r), h);
        free(d);
        return 0;
    }
    r = apply(c, d);
    if (r == 0) {
        ward_buf_reset(&c->applied);
        r = ward_buf_append(&c->applied, text, len);
        if (r < 0)
            ward_buf_reset(&c->applied); /* then compared as new next time, which is harmless */
        r = 0;
        c->refused_hash = 0;
        set_health(c, WARD_HEALTH_OK, NULL);
        log_applied(c, d, source);
    }
    free(d);
    return r < 0 ? r : 1;
}

/* Stores the document in force for the next start. */
static void store(struct ward_central *c)
{
    if (c->applied.len == 0)
        return; /* not kept (out of memory): the file keeps the one before */
    ward_buf_reset(&c->err);
    int r = ward_state_file_write(c->state_dir, WARD_CENTRAL_FILE, c->applied.data, &c->err);
    if (r < 0)
        ward_log_error(NULL,
                       "cannot store the configuration; a restart without the server "
                       "starts without it",
                       "error", c->err.data ? c->err.data : ward_strerror(r));
}

/* ---- Asking ---- */

/* The next request after wait ms, plus up to an eighth of it, so agents do not ask in step. */
static void wait_next(struct ward_central *c, int64_t wait)
{
    uint64_t rnd = 0;
    ward_random_bytes(&rnd, sizeof(rnd));
    c->due = ward_mono_ms() + wait + (int64_t)(rnd % (uint64_t)(wait / 8 + 1));
}

/*
 * A request that failed (status -1: no answer; why, the client's error or
 * the server's error body): logged once until one works or the status
 * changes.
 */
static void failed(struct ward_central *c, long status, const char *why)
{
    if (c->failing != status) {
        char code[24], text[ERROR_TEXT_MAX + 1];
        snprintf(code, sizeof(code), "%ld", status);
        snprintf(text, sizeof(text), "%s", why);
        ward_log_warn(NULL, "cannot fetch the configuration, will ask again", "url",
                      ward_uploader_url(c->up), "status", status > 0 ? code : "none", "error",
                      text);
    }
    c->failing = status;
}

/* An ETag fit to be sent back: printable ASCII without spaces. */
static bool usable_etag(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s <= 0x20 || *s >= 0x7f)
            return false;
    return true;
}

static bool answer_200(struct ward_central *c, const struct ward_http_response *hr)
{
    bool applied = false;
    int r;
    if (c->resp.len >= WARD_HTTP_BODY_KEEP) {
        /* The client keeps only so much: the document is too large to be whole. */
        char why[96];
        snprintf(why, sizeof(why), "document: larger than %d bytes", WARD_HTTP_BODY_KEEP - 1);
        refuse(c, "server", why, hash(c->resp.data, c->resp.len));
        r = 0;
    } else {
        r = take(c, c->resp.data ? c->resp.data : "", c->resp.len, "server");
        applied = r > 0;
    }
    if (r < 0) {
        ward_log_error(NULL, "cannot apply the configuration, will ask again", "error",
                       ward_strerror(r));
        c->etag[0] = '\0';
        return false;
    }
    if (applied)
        store(c);
    /* Refused or applied, this document need not come again until it changes. */
    if (usable_etag(hr->etag))
        memcpy(c->etag, hr->etag, strlen(hr->etag) + 1);
    else
        c->etag[0] = '\0';
    return applied;
}

bool ward_central_run(struct ward_central *c)
{
    if (c->interval_ms <= 0)
        return false;
    char headers[sizeof(c->etag) + 32] = "";
    if (c->etag[0])
        snprintf(headers, sizeof(headers), "If-None-Match: %s\r\n", c->etag);
    long status = 0;
    ward_buf_reset(&c->resp);
    ward_buf_reset(&c->err);
    int r = ward_uploader_get_headers(c->up, c->path, headers, &status, &c->resp, &c->err);
    wait_next(c, c->interval_ms);
    if (r < 0) {
        failed(c, -1, c->err.data && *c->err.data ? c->err.data : ward_strerror(r));
        return false;
    }
    const struct ward_http_response *hr = ward_uploader_last_response(c->up);
    if (status == 408 || status == 429 || status >= 500) {
        failed(c, status, c->resp.data && *c->resp.data ? c->resp.data : "");
        int64_t later = ward_http_retry_after_ms(hr);
        if (later > c->interval_ms)
            wait_next(c, later);
        return false;
    }
    /* A 403 keeps its streak, so it is logged once; any other answer ends the streak. */
    bool was_forbidden = c->failing == 403;
    if (status != 403)
        c->failing = 0;
    if (was_forbidden && status != 403 && c->refused_hash == 0)
        set_health(c, WARD_HEALTH_OK, NULL);
    c->key_rejected = status == 401 && hr && hr->www_authenticate;
    if (status != 404)
        c->told_not_found = false;
    switch (status) {
    case 200:
        return answer_200(c, hr);
    case 304:
        return false;
    case 401:
        /*
         * Registration deals with keys (ward_central_key_rejected() hands it
         * a 401 about the key); a key it gets makes the agent ask again at once.
         */
        ward_log_debug(NULL, "the server refused the configuration request", "status", "401");
        return false;
    case 403:
        /* The key is another agent's (a copied state directory?): say so, once, and in /health. */
        failed(c, status, c->resp.data && *c->resp.data ? c->resp.data : "");
        set_health(c, WARD_HEALTH_DEGRADED,
                   "the server refused this agent's configuration request (403)");
        return false;
    case 404:
        if (!c->told_not_found)
            ward_log_info(NULL,
                          "the server does not serve agent configuration; asking again in an hour",
                          "url", ward_uploader_url(c->up));
        c->told_not_found = true;
        wait_next(c, WARD_CENTRAL_NOT_FOUND_WAIT_MS);
        return false;
    default:
        failed(c, status, c->resp.data && *c->resp.data ? c->resp.data : "");
        return false;
    }
}

/* ---- Set-up ---- */

/* Applies STATE_DIR/config.json when there is one. */
static void load_stored(struct ward_central *c)
{
    struct ward_buf text = WARD_BUF_INIT;
    ward_buf_reset(&c->err);
    int r = ward_state_file_load(c->state_dir, WARD_CENTRAL_FILE, WARD_CENTRAL_MAX_BYTES + 2, &text,
                                 &c->err);
    if (r >= 0)
        r = take(c, text.data ? text.data : "", text.len, "stored");
    if (r < 0 && r != -ENOENT)
        ward_log_warn(NULL, "cannot read the stored configuration", "error",
                      c->err.data && *c->err.data ? c->err.data : ward_strerror(r));
    ward_buf_done(&text);
}

int ward_central_new(const struct ward_central_config *cfg, struct ward_central **out,
                     struct ward_buf *err)
{
    if (cfg->interval_ms < 0 ||
        (cfg->interval_ms > 0 && cfg->interval_ms < WARD_CENTRAL_MIN_INTERVAL_MS)) {
        ward_buf_printf(err, "--config-interval: 0 (never) or at least 1s");
        return -EINVAL;
    }
    struct ward_central *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->interval_ms = cfg->interval_ms;
    c->scheduler = cfg->scheduler;
    c->batch = cfg->batch;
    c->probes = cfg->probes;
    c->health = cfg->health;
    c->due = cfg->interval_ms > 0 ? ward_mono_ms() : INT64_MAX;
    ward_buf_init(&c->applied, 0);
    ward_buf_init(&c->resp, 0);
    ward_buf_init(&c->err, 0);
    int r = 0;
    if (ward_uuid_normalize(cfg->agent_id, c->id) < 0) {
        ward_buf_printf(err, "not an agent id");
        r = -EINVAL;
    }
    if (r == 0) {
        snprintf(c->path, sizeof(c->path), "/agent/%s/configuration", c->id);
        c->state_dir = strdup(cfg->state_dir);
        r = c->state_dir ? 0 : -ENOMEM;
    }
    if (r == 0) {
        r = ward_uploader_new_ca(cfg->address, (long)cfg->timeout_ms, cfg->tls_ca, &c->up, err);
        if (r == -EINVAL && !err->len)
            ward_buf_printf(err, "bad server address");
    }
    if (r == 0 && (r = ward_uploader_set_api_key(c->up, cfg->api_key)) == -EINVAL)
        ward_buf_printf(err, "not an API key");
    if (r < 0) {
        ward_central_free(c);
        return r;
    }
    if (c->interval_ms > 0)
        load_stored(c);
    *out = c;
    return 0;
}

void ward_central_free(struct ward_central *c)
{
    if (!c)
        return;
    ward_uploader_free(c->up);
    ward_buf_done(&c->applied);
    ward_buf_done(&c->resp);
    ward_buf_done(&c->err);
    free(c->state_dir);
    free(c);
}

int ward_central_set_api_key(struct ward_central *c, const char *key)
{
    int r = ward_uploader_set_api_key(c->up, key);
    if (r == 0)
        c->key_rejected = false;
    if (r == 0 && c->interval_ms > 0)
        c->due = ward_mono_ms();
    return r;
}

bool ward_central_key_rejected(const struct ward_central *c)
{
    return c->key_rejected;
}

int64_t ward_central_due(const struct ward_central *c)
{
    return c->due;
}

int64_t ward_central_version(const struct ward_central *c)
{
    return c->version;
}

static const struct ward_metric m_version = {
    "agent", "config_version", WARD_SAMPLE_GAUGE,
    "Version of the central configuration in force; 0 for none."};
static const struct ward_metric m_errors = {"agent", "config_errors_total", WARD_SAMPLE_COUNTER,
                                            "Central configuration documents the agent refused."};

void ward_central_emit(struct ward_central *c, const struct ward_collect_ctx *ctx)
{
    ward_emit0(ctx, &m_version, (double)c->version);
    ward_emit0(ctx, &m_errors, (double)c->errors);
}
