/*
 * The golectra wire formats (see golectra.h).
 *
 * Bodies are read with the project's pull parser, one object at a time,
 * into fixed-size metric structs: an id is at most WARD_GOLECTRA_MAX_ID
 * bytes, so a metric needs no allocation of its own and a batch is one
 * array. Every refusal names the field and, in a batch, the item, because a
 * golectra client has nothing but the message to go on.
 *
 * Numbers are printed the way golectra's Go code prints them, so a client
 * that compares text sees what it would have seen from golectra. Both Go
 * forms start from the same shortest round-trip digits, which
 * ward_json_format_double() already computes; they only lay them out
 * differently, so this file takes those digits apart rather than running a
 * second shortest-digits search.
 *
 * The snapshot is written to a temporary file that is synced and then
 * renamed over the old one, the usual way to replace a file so that a crash
 * at any moment leaves either the old snapshot or the new one.
 */
#include "server/golectra.h"

#include "common/cleanup.h"
#include "common/error.h"
#include "common/json.h"
#include "common/parse.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Bytes of one string in a body; only ids are kept, and they are far shorter. */
#define READER_STRING (64 * 1024)
/* The temporary file of a snapshot is PATH plus this suffix. */
#define TMP_SUFFIX ".tmp"
/* Bytes of the longest snapshot path accepted. */
#define PATH_MAX_LEN 4000
/* Bytes read from the snapshot file per call. */
#define READ_CHUNK ((size_t)64 * 1024)

void ward_golectra_list_done(struct ward_golectra_list *l)
{
    free(l->items);
    *l = (struct ward_golectra_list)WARD_GOLECTRA_LIST_INIT;
}

int ward_golectra_list_add(struct ward_golectra_list *l, const struct ward_golectra_metric *m,
                           size_t max)
{
    if (l->n >= max)
        return WARD_E_LIMIT;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        if (cap > max)
            cap = max;
        struct ward_golectra_metric *items = realloc(l->items, cap * sizeof(*items));
        if (!items)
            return -ENOMEM;
        l->items = items;
        l->cap = cap;
    }
    l->items[l->n++] = *m;
    return 0;
}

const char *ward_golectra_type_name(enum ward_golectra_type t)
{
    return t == WARD_GOLECTRA_COUNTER ? "counter" : "gauge";
}

static int parse_type_n(const char *s, size_t len, enum ward_golectra_type *out)
{
    if (len == 5 && memcmp(s, "gauge", 5) == 0)
        *out = WARD_GOLECTRA_GAUGE;
    else if (len == 7 && memcmp(s, "counter", 7) == 0)
        *out = WARD_GOLECTRA_COUNTER;
    else
        return WARD_E_PARSE;
    return 0;
}

int ward_golectra_parse_type(const char *s, enum ward_golectra_type *out)
{
    return parse_type_n(s, strlen(s), out);
}

bool ward_golectra_id_valid(const char *s, size_t len)
{
    if (len == 0 || len > WARD_GOLECTRA_MAX_ID)
        return false;
    for (size_t i = 0; i < len; i++)
        if (s[i] <= ' ' || s[i] > '~' || s[i] == '/')
            return false;
    return true;
}

static int fail(struct ward_buf *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct ward_buf *err, int code, const char *fmt, ...)
{
    ward_buf_reset(err);
    va_list ap;
    va_start(ap, fmt);
    ward_buf_vprintf(err, fmt, ap);
    va_end(ap);
    return code;
}

#define ID_RULE "must be 1-128 printable ASCII characters other than space and '/'"

int ward_golectra_parse_update(const char *type, const char *id, const char *value,
                               struct ward_golectra_metric *out, struct ward_buf *err)
{
    struct ward_golectra_metric m = {.has_number = true};
    if (ward_golectra_parse_type(type, &m.type) < 0)
        return fail(err, WARD_E_PARSE, "type: must be gauge or counter, got '%.32s'", type);
    size_t len = strlen(id);
    if (!ward_golectra_id_valid(id, len))
        return fail(err, WARD_E_PARSE, "name: " ID_RULE);
    memcpy(m.id, id, len + 1);
    if (m.type == WARD_GOLECTRA_GAUGE) {
        if (ward_parse_double(value, &m.value) < 0)
            return fail(err, WARD_E_PARSE, "value: expected a finite number, got '%.64s'", value);
    } else if (ward_parse_int64(value, &m.delta) < 0) {
        return fail(err, WARD_E_PARSE, "value: expected an integer for a counter, got '%.64s'",
                    value);
    }
    *out = m;
    return 0;
}

/* One body being decoded. */
struct decoder {
    struct ward_json_reader r;
    struct ward_buf *err;
    char item[32]; /* "[3]" while decoding an item of a batch, else "" */
};

static int json_fail(struct decoder *d, int code)
{
    if (code == WARD_E_JSON_TYPE)
        return fail(d->err, code, "%s%s%s", d->item, *d->item ? ": " : "",
                    ward_json_error_message(&d->r));
    return fail(d->err, code, "%s%sinvalid JSON at byte %zu: %s", d->item, *d->item ? ": " : "",
                ward_json_error_offset(&d->r), ward_json_error_message(&d->r));
}

static int next(struct decoder *d, struct ward_json_token *tok)
{
    int r = ward_json_next(&d->r, tok);
    return r < 0 ? json_fail(d, r) : 0;
}

/* Fails with "ITEM.FIELD: MESSAGE", ITEM being empty outside a batch. */
static int field_fail(struct decoder *d, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int field_fail(struct decoder *d, const char *field, const char *fmt, ...)
{
    char msg[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return fail(d->err, WARD_E_JSON_TYPE, "%s%s%s: %s", d->item, *d->item ? "." : "", field, msg);
}

/*
 * Reads one metric object; the '{' has been read. need_number says whether
 * the value or delta its type calls for must be there.
 */
static int decode_object(struct decoder *d, bool need_number, struct ward_golectra_metric *out)
{
    struct ward_golectra_metric m = {0};
    bool have_id = false, have_type = false, have_value = false, have_delta = false;
    struct ward_json_token tok;
    int r;
    for (;;) {
        if ((r = next(d, &tok)) < 0)
            return r;
        if (tok.type == WARD_JSON_OBJECT_END)
            break;
        if (ward_json_key_is(&tok, "id")) {
            if ((r = next(d, &tok)) < 0)
                return r;
            if (tok.type != WARD_JSON_STRING)
                return field_fail(d, "id", "expected a string, got %s",
                                  ward_json_type_name(tok.type));
            if (!ward_golectra_id_valid(tok.str, tok.len))
                return field_fail(d, "id", ID_RULE);
            memcpy(m.id, tok.str, tok.len);
            m.id[tok.len] = '\0';
            have_id = true;
        } else if (ward_json_key_is(&tok, "type")) {
            if ((r = next(d, &tok)) < 0)
                return r;
            if (tok.type != WARD_JSON_STRING || parse_type_n(tok.str, tok.len, &m.type) < 0)
                return field_fail(d, "type", "must be \"gauge\" or \"counter\"");
            have_type = true;
        } else if (ward_json_key_is(&tok, "value")) {
            if ((r = next(d, &tok)) < 0)
                return r;
            if (tok.type == WARD_JSON_INT || tok.type == WARD_JSON_DOUBLE) {
                if (!isfinite(tok.d))
                    return field_fail(d, "value", "out of range");
                m.value = tok.d;
                have_value = true;
            } else if (tok.type != WARD_JSON_NULL) {
                return field_fail(d, "value", "expected a number, got %s",
                                  ward_json_type_name(tok.type));
            }
        } else if (ward_json_key_is(&tok, "delta")) {
            if ((r = next(d, &tok)) < 0)
                return r;
            if (tok.type == WARD_JSON_INT) {
                m.delta = tok.i;
                have_delta = true;
            } else if (tok.type == WARD_JSON_DOUBLE) {
                return field_fail(d, "delta", "expected an integer, got '%.*s'",
                                  (int)(tok.len < 40 ? tok.len : 40), tok.str);
            } else if (tok.type != WARD_JSON_NULL) {
                return field_fail(d, "delta", "expected an integer, got %s",
                                  ward_json_type_name(tok.type));
            }
        } else if ((r = ward_json_skip(&d->r)) < 0) {
            return json_fail(d, r);
        }
    }
    if (!have_id)
        return field_fail(d, "id", "missing");
    if (!have_type)
        return field_fail(d, "type", "missing");
    m.has_number = m.type == WARD_GOLECTRA_GAUGE ? have_value : have_delta;
    if (need_number && !m.has_number)
        return m.type == WARD_GOLECTRA_GAUGE
                   ? field_fail(d, "value", "missing; a gauge needs a number")
                   : field_fail(d, "delta", "missing; a counter needs an integer");
    *out = m;
    return 0;
}

static void decoder_init(struct decoder *d, const char *json, size_t len, struct ward_buf *err)
{
    const struct ward_json_limits lim = {
        .max_depth = WARD_GOLECTRA_MAX_DEPTH,
        .max_size = len ? len : 1,
        .max_string = READER_STRING,
    };
    *d = (struct decoder){.err = err};
    ward_json_reader_init(&d->r, json, len, &lim);
}

/* Expects the first token to open an object or array, naming what came instead. */
static int expect_open(struct decoder *d, enum ward_json_token_type want, const char *what)
{
    struct ward_json_token tok;
    int r = next(d, &tok);
    if (r < 0)
        return r;
    if (tok.type == WARD_JSON_END)
        return fail(d->err, WARD_E_JSON_TYPE, "empty body; expected %s", what);
    if (tok.type != want)
        return fail(d->err, WARD_E_JSON_TYPE, "expected %s, got %s", what,
                    ward_json_type_name(tok.type));
    return 0;
}

static int decode_one(const char *json, size_t len, bool need_number,
                      struct ward_golectra_metric *out, struct ward_buf *err)
{
    struct decoder d;
    decoder_init(&d, json, len, err);
    struct ward_golectra_metric m;
    struct ward_json_token tok;
    int r = expect_open(&d, WARD_JSON_OBJECT_BEGIN, "a JSON object with \"id\" and \"type\"");
    if (r == 0)
        r = decode_object(&d, need_number, &m);
    if (r == 0)
        r = next(&d, &tok);
    ward_json_reader_done(&d.r);
    if (r == 0)
        *out = m;
    return r;
}

int ward_golectra_decode_update(const char *json, size_t len, struct ward_golectra_metric *out,
                                struct ward_buf *err)
{
    return decode_one(json, len, true, out, err);
}

int ward_golectra_decode_value(const char *json, size_t len, struct ward_golectra_metric *out,
                               struct ward_buf *err)
{
    return decode_one(json, len, false, out, err);
}

int ward_golectra_decode_updates(const char *json, size_t len, size_t max,
                                 struct ward_golectra_list *out, struct ward_buf *err)
{
    struct decoder d;
    decoder_init(&d, json, len, err);
    struct ward_json_token tok;
    int r = expect_open(&d, WARD_JSON_ARRAY_BEGIN, "a JSON array of metrics");
    for (size_t i = 0; r == 0; i++) {
        d.item[0] = '\0';
        if ((r = next(&d, &tok)) < 0)
            break;
        if (tok.type == WARD_JSON_ARRAY_END) {
            r = next(&d, &tok);
            break;
        }
        snprintf(d.item, sizeof(d.item), "[%zu]", i);
        if (tok.type != WARD_JSON_OBJECT_BEGIN) {
            r = fail(err, WARD_E_JSON_TYPE, "%s: expected an object, got %s", d.item,
                     ward_json_type_name(tok.type));
            break;
        }
        if (i == max) {
            r = fail(err, WARD_E_LIMIT, "more than %zu metrics", max);
            break;
        }
        struct ward_golectra_metric m;
        if ((r = decode_object(&d, true, &m)) < 0)
            break;
        if ((r = ward_golectra_list_add(out, &m, max)) < 0)
            r = fail(err, r, "out of memory");
    }
    ward_json_reader_done(&d.r);
    return r;
}

/*
 * Takes v apart into its shortest round-trip digits: v = 0.DIGITS x 10^point,
 * the digits without leading or trailing zeros ("0" alone for zero).
 * Returns the digit count; *neg is the sign.
 */
static int decimal_digits(double v, char digits[WARD_JSON_DOUBLE_MAX], int *point, bool *neg)
{
    char text[WARD_JSON_DOUBLE_MAX];
    ward_json_format_double(v, text);
    const char *s = text;
    *neg = *s == '-';
    if (*neg)
        s++;
    int nd = 0, dot = -1;
    for (; *s && *s != 'e' && *s != 'E'; s++) {
        if (*s == '.')
            dot = nd;
        else
            digits[nd++] = *s;
    }
    int exp = 0;
    if (*s)
        exp = (int)strtol(s + 1, NULL, 10); /* at most three digits from the formatter */
    int p = (dot < 0 ? nd : dot) + exp;
    int lead = 0;
    while (lead < nd - 1 && digits[lead] == '0')
        lead++;
    memmove(digits, digits + lead, (size_t)(nd - lead));
    nd -= lead;
    p -= lead;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    if (nd == 1 && digits[0] == '0')
        p = 1;
    *point = p;
    return nd;
}

/* Lays out digits as Go's strconv 'f' with precision -1. */
static size_t layout_fixed(const char *digits, int nd, int point, bool neg, char *out)
{
    size_t n = 0;
    if (neg)
        out[n++] = '-';
    if (point <= 0) {
        out[n++] = '0';
        out[n++] = '.';
        for (int i = 0; i < -point; i++)
            out[n++] = '0';
        memcpy(out + n, digits, (size_t)nd);
        n += (size_t)nd;
    } else if (point >= nd) {
        memcpy(out + n, digits, (size_t)nd);
        n += (size_t)nd;
        for (int i = nd; i < point; i++)
            out[n++] = '0';
    } else {
        memcpy(out + n, digits, (size_t)point);
        n += (size_t)point;
        out[n++] = '.';
        memcpy(out + n, digits + point, (size_t)(nd - point));
        n += (size_t)(nd - point);
    }
    out[n] = '\0';
    return n;
}

size_t ward_golectra_format_value(double v, char out[WARD_GOLECTRA_VALUE_MAX])
{
    char digits[WARD_JSON_DOUBLE_MAX];
    int point;
    bool neg;
    if (!isfinite(v)) {
        out[0] = '\0';
        return 0;
    }
    int nd = decimal_digits(v, digits, &point, &neg);
    return layout_fixed(digits, nd, point, neg, out);
}

/*
 * Formats v as Go's encoding/json writes a float64: 'f' form, except 'e'
 * form below 1e-6 and from 1e21 on, with the exponent's sign always and its
 * leading zero never ("1e+21", "1e-7").
 */
static size_t format_json_number(double v, char out[WARD_GOLECTRA_VALUE_MAX])
{
    char digits[WARD_JSON_DOUBLE_MAX];
    int point;
    bool neg;
    int nd = decimal_digits(v, digits, &point, &neg);
    double a = fabs(v);
    if (a == 0 || (a >= 1e-6 && a < 1e21))
        return layout_fixed(digits, nd, point, neg, out);
    size_t n = 0;
    if (neg)
        out[n++] = '-';
    out[n++] = digits[0];
    if (nd > 1) {
        out[n++] = '.';
        memcpy(out + n, digits + 1, (size_t)(nd - 1));
        n += (size_t)(nd - 1);
    }
    int x = point - 1;
    n += (size_t)snprintf(out + n, WARD_GOLECTRA_VALUE_MAX - n, "e%c%d", x < 0 ? '-' : '+',
                          x < 0 ? -x : x);
    return n;
}

static void write_metric(struct ward_json_writer *w, const struct ward_golectra_metric *m)
{
    ward_json_write_object_begin(w);
    ward_json_write_keyz(w, "id");
    ward_json_write_stringz(w, m->id);
    ward_json_write_keyz(w, "type");
    ward_json_write_stringz(w, ward_golectra_type_name(m->type));
    if (m->type == WARD_GOLECTRA_COUNTER) {
        ward_json_write_keyz(w, "delta");
        ward_json_write_int(w, m->delta);
    } else {
        char num[WARD_GOLECTRA_VALUE_MAX];
        size_t n = format_json_number(m->value, num);
        ward_json_write_keyz(w, "value");
        if (n)
            ward_json_write_raw(w, num, n);
        else
            ward_json_write_null(w); /* only a non-finite value, which no decoder lets in */
    }
    ward_json_write_object_end(w);
}

int ward_golectra_encode(const struct ward_golectra_metric *m, struct ward_buf *out)
{
    struct ward_json_writer w;
    ward_json_writer_init(&w, out);
    write_metric(&w, m);
    return ward_json_writer_finish(&w);
}

int ward_golectra_encode_list(const struct ward_golectra_metric *m, size_t n, struct ward_buf *out)
{
    struct ward_json_writer w;
    ward_json_writer_init(&w, out);
    ward_json_write_array_begin(&w);
    for (size_t i = 0; i < n; i++)
        write_metric(&w, &m[i]);
    ward_json_write_array_end(&w);
    return ward_json_writer_finish(&w);
}

static int put_html_escaped(struct ward_buf *out, const char *s)
{
    int r = 0;
    for (; *s && r == 0; s++) {
        switch (*s) {
        case '&':
            r = ward_buf_puts(out, "&amp;");
            break;
        case '<':
            r = ward_buf_puts(out, "&lt;");
            break;
        case '>':
            r = ward_buf_puts(out, "&gt;");
            break;
        case '"':
            r = ward_buf_puts(out, "&quot;");
            break;
        case '\'':
            r = ward_buf_puts(out, "&#39;");
            break;
        default:
            r = ward_buf_putc(out, *s);
        }
    }
    return r;
}

static int compare_metrics(const void *a, const void *b)
{
    const struct ward_golectra_metric *x = a, *y = b;
    if (x->type != y->type)
        return x->type == WARD_GOLECTRA_GAUGE ? -1 : 1;
    return strcmp(x->id, y->id);
}

static int html_table(struct ward_buf *out, const char *title, enum ward_golectra_type type,
                      const struct ward_golectra_metric *m, size_t n)
{
    int r =
        ward_buf_printf(out, "<h2>%s</h2>\n<table>\n<tr><th>Name</th><th>Value</th></tr>\n", title);
    for (size_t i = 0; i < n && r == 0; i++) {
        if (m[i].type != type)
            continue;
        char num[WARD_GOLECTRA_VALUE_MAX];
        if (type == WARD_GOLECTRA_GAUGE)
            ward_golectra_format_value(m[i].value, num);
        else
            snprintf(num, sizeof(num), "%" PRId64, m[i].delta);
        r = ward_buf_puts(out, "<tr><td>");
        if (r == 0)
            r = put_html_escaped(out, m[i].id);
        if (r == 0)
            r = ward_buf_printf(out, "</td><td>%s</td></tr>\n", num);
    }
    if (r == 0)
        r = ward_buf_puts(out, "</table>\n");
    return r;
}

int ward_golectra_render_tables(struct ward_golectra_metric *m, size_t n, struct ward_buf *out)
{
    if (n > 1)
        qsort(m, n, sizeof(*m), compare_metrics);
    int r = ward_buf_puts(out, "<h1>Metrics</h1>\n");
    if (r == 0)
        r = html_table(out, "Gauges", WARD_GOLECTRA_GAUGE, m, n);
    if (r == 0)
        r = html_table(out, "Counters", WARD_GOLECTRA_COUNTER, m, n);
    return r;
}

static int digest(const void *body, size_t len, const char *key, size_t keylen,
                  uint8_t out[WARD_SHA256_LEN])
{
    struct ward_buf joined = WARD_BUF_INIT;
    int r = ward_buf_reserve_exact(&joined, len + keylen);
    if (r < 0)
        return r;
    if (len)
        ward_buf_append_unchecked(&joined, body, len);
    if (keylen)
        ward_buf_append_unchecked(&joined, key, keylen);
    ward_sha256(joined.data, joined.len, out);
    ward_buf_done(&joined);
    return 0;
}

int ward_golectra_hash(const void *body, size_t len, const char *key, size_t keylen,
                       char out[WARD_GOLECTRA_HASH_HEX + 1])
{
    uint8_t md[WARD_SHA256_LEN];
    int r = digest(body, len, key, keylen, md);
    if (r < 0)
        return r;
    ward_hex_encode(md, sizeof(md), out);
    return 0;
}

int ward_golectra_hash_verify(const void *body, size_t len, const char *key, size_t keylen,
                              const char *hex, size_t hexlen)
{
    uint8_t got[WARD_SHA256_LEN], want[WARD_SHA256_LEN];
    if (!hex || ward_hex_decode(hex, hexlen, got, sizeof(got)) < 0)
        return WARD_E_PARSE;
    int r = digest(body, len, key, keylen, want);
    if (r < 0)
        return r;
    return ward_ct_equal(got, want, sizeof(want)) ? 0 : -EBADMSG;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Syncs the directory holding path, so that a rename in it is durable. */
static int sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char dir[PATH_MAX_LEN + 1];
    if (!slash) {
        dir[0] = '.';
        dir[1] = '\0';
    } else {
        size_t n = slash == path ? 1 : (size_t)(slash - path);
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    return fsync(fd) < 0 ? -errno : 0;
}

int ward_golectra_snapshot_write(const char *path, const struct ward_golectra_metric *m, size_t n)
{
    size_t plen = strlen(path);
    if (plen == 0 || plen > PATH_MAX_LEN)
        return -ENAMETOOLONG;
    char tmp[PATH_MAX_LEN + sizeof(TMP_SUFFIX)];
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, TMP_SUFFIX, sizeof(TMP_SUFFIX));

    struct ward_buf text = WARD_BUF_INIT;
    int r = ward_golectra_encode_list(m, n, &text);
    if (r == 0)
        r = ward_buf_putc(&text, '\n');
    if (r < 0) {
        ward_buf_done(&text);
        return r;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
        r = -errno;
        ward_buf_done(&text);
        return r;
    }
    r = write_all(fd, text.data, text.len);
    ward_buf_done(&text);
    if (r == 0 && fsync(fd) < 0)
        r = -errno;
    if (close(fd) < 0 && r == 0)
        r = -errno;
    if (r == 0 && rename(tmp, path) < 0)
        r = -errno;
    if (r < 0) {
        unlink(tmp);
        return r;
    }
    return sync_dir(path);
}

int ward_golectra_snapshot_read(const char *path, struct ward_golectra_list *out,
                                struct ward_buf *err)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int r = -errno;
        return fail(err, r, "%s: %s", path, strerror(-r));
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int r = -errno;
        return fail(err, r, "%s: %s", path, strerror(-r));
    }
    if (!S_ISREG(st.st_mode))
        return fail(err, -EINVAL, "%s: not a regular file", path);
    if ((uint64_t)st.st_size > WARD_GOLECTRA_MAX_SNAPSHOT_BYTES)
        return fail(err, WARD_E_LIMIT, "%s: larger than %zu bytes", path,
                    WARD_GOLECTRA_MAX_SNAPSHOT_BYTES);

    /* The file may grow while it is read: what is read is bounded, not the size seen. */
    struct ward_buf text = WARD_BUF_INIT;
    int r = 0;
    for (;;) {
        size_t room = WARD_GOLECTRA_MAX_SNAPSHOT_BYTES + 1 - text.len;
        if (room == 0) {
            r = WARD_E_LIMIT;
            break;
        }
        if (room > READ_CHUNK)
            room = READ_CHUNK;
        if ((r = ward_buf_reserve(&text, room)) < 0)
            break;
        ssize_t got = read(fd, text.data + text.len, room);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            r = -errno;
            break;
        }
        if (got == 0)
            break;
        text.len += (size_t)got;
        text.data[text.len] = '\0';
    }
    if (r == WARD_E_LIMIT)
        r = fail(err, r, "%s: larger than %zu bytes", path, WARD_GOLECTRA_MAX_SNAPSHOT_BYTES);
    else if (r < 0)
        r = fail(err, r, "%s: %s", path, strerror(-r));
    else if (text.len > 0 &&
             (r = ward_golectra_decode_updates(text.data, text.len,
                                               WARD_GOLECTRA_MAX_SNAPSHOT_METRICS, out, err)) < 0) {
        /* Prefix the decoder's message with the file name. */
        struct ward_buf msg = WARD_BUF_INIT;
        if (ward_buf_printf(&msg, "%s: %s", path, err->data ? err->data : "") == 0) {
            ward_buf_reset(err);
            ward_buf_append(err, msg.data, msg.len);
        }
        ward_buf_done(&msg);
    }
    ward_buf_done(&text);
    return r;
}
