/*
 * Structured logging for the programs.
 *
 * A line is built in a fixed buffer on the stack, so logging allocates
 * nothing and still works when memory has run out, and is then written with
 * one fwrite and a flush under a mutex: concurrent threads produce whole
 * lines, never interleaved fragments. The level and format are atomics, so
 * a disabled debug line costs one load; the stream is read under the mutex.
 *
 * Escaping is the point of the module. Values come from the network
 * (hostnames, paths, user agents), so every byte that could end a line,
 * start a fake field or confuse a terminal is escaped: control characters,
 * DEL, the C1 controls and U+2028/U+2029 as \uHHHH (or \n, \t, ...), and
 * bytes that are not valid UTF-8 as \ufffd in JSON and \xHH in text. In text
 * a value is quoted when it is empty or contains a space, '=', a quote, a
 * backslash or anything escaped. The buffer keeps a tail in reserve, so a
 * line that overflows can always be closed properly (quote, "}", newline)
 * and marked truncated=true.
 */
#include "common/log.h"

#include "common/time-util.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

/* Room kept back for closing a truncated line: "...", quote, truncated field, "}", newline. */
#define TAIL_RESERVE 64
#define CONTENT_MAX  (WARD_LOG_LINE_MAX - TAIL_RESERVE)

static const char *const level_names[] = {
    [WARD_LOG_DEBUG] = "debug",
    [WARD_LOG_INFO] = "info",
    [WARD_LOG_WARN] = "warn",
    [WARD_LOG_ERROR] = "error",
};

static atomic_int min_level = WARD_LOG_INFO;
static atomic_int log_format = WARD_LOG_TEXT;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *log_out; /* NULL means stderr; guarded by out_lock */

struct line {
    char buf[WARD_LOG_LINE_MAX];
    size_t len;
    bool json;
    bool full; /* something did not fit; nothing but the tail is added */
};

void ward_log_setup(enum ward_log_level min, enum ward_log_format fmt, FILE *out)
{
    pthread_mutex_lock(&out_lock);
    log_out = out;
    atomic_store(&min_level, (int)min);
    atomic_store(&log_format, (int)fmt);
    pthread_mutex_unlock(&out_lock);
}

int ward_log_level_parse(const char *s, enum ward_log_level *out)
{
    if (!s)
        return -EINVAL;
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (enum ward_log_level)i;
            return 0;
        }
    }
    if (strcasecmp(s, "warning") == 0) {
        *out = WARD_LOG_WARN;
        return 0;
    }
    return -EINVAL;
}

const char *const ward_log_level_choices[] = {"debug", "info", "warn", "warning", "error", NULL};
const char *const ward_log_format_choices[] = {"text", "json", NULL};

int ward_log_setup_named(const char *level, const char *format, FILE *out)
{
    enum ward_log_level l;
    enum ward_log_format f;
    if (ward_log_level_parse(level, &l) < 0 || ward_log_format_parse(format, &f) < 0)
        return -EINVAL;
    ward_log_setup(l, f, out);
    return 0;
}

int ward_log_format_parse(const char *s, enum ward_log_format *out)
{
    if (s && strcasecmp(s, "text") == 0) {
        *out = WARD_LOG_TEXT;
        return 0;
    }
    if (s && strcasecmp(s, "json") == 0) {
        *out = WARD_LOG_JSON;
        return 0;
    }
    return -EINVAL;
}

const char *ward_log_level_name(enum ward_log_level level)
{
    if ((unsigned)level >= sizeof(level_names) / sizeof(level_names[0]))
        return "unknown";
    return level_names[level];
}

bool ward_log_enabled(enum ward_log_level level)
{
    return (int)level >= atomic_load_explicit(&min_level, memory_order_relaxed);
}

/* Appends within CONTENT_MAX, or marks the line full and appends nothing. */
static bool put(struct line *l, const char *s, size_t n)
{
    if (l->full || n > CONTENT_MAX - l->len) {
        l->full = true;
        return false;
    }
    memcpy(l->buf + l->len, s, n);
    l->len += n;
    return true;
}

static bool put_str(struct line *l, const char *s)
{
    return put(l, s, strlen(s));
}

/* Appends into the reserved tail; callers stay within TAIL_RESERVE in total. */
static void put_tail(struct line *l, const char *s)
{
    size_t n = strlen(s);
    if (n > sizeof(l->buf) - l->len)
        n = sizeof(l->buf) - l->len;
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

/*
 * Length of the well-formed UTF-8 sequence at s (n bytes available) and its
 * code point, or 0 when it is malformed: a stray continuation byte, a
 * truncated sequence, an overlong form, a surrogate or a value past U+10FFFF.
 */
static size_t utf8_sequence(const unsigned char *s, size_t n, uint32_t *cp)
{
    size_t len;
    uint32_t v, min;
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        len = 2, v = s[0] & 0x1f, min = 0x80;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        len = 3, v = s[0] & 0x0f, min = 0x800;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        len = 4, v = s[0] & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return len;
}

/* Writes \uHHHH for a code point below U+10000; returns 6. */
static size_t u_escape(uint32_t cp, char *out)
{
    static const char hex[] = "0123456789abcdef";
    out[0] = '\\', out[1] = 'u';
    for (int i = 0; i < 4; i++)
        out[2 + i] = hex[(cp >> (12 - 4 * i)) & 0xf];
    return 6;
}

/*
 * Escapes the character at s (n > 0 bytes available) into out, which holds
 * at least 8 bytes. Returns the number of input bytes consumed and sets
 * *outlen; the output equals the input exactly when nothing needed escaping.
 */
static size_t escape_one(bool json, const unsigned char *s, size_t n, char *out, size_t *outlen)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char c = s[0];
    const char *simple = NULL;

    switch (c) {
    case '"':
        simple = "\\\"";
        break;
    case '\\':
        simple = "\\\\";
        break;
    case '\n':
        simple = "\\n";
        break;
    case '\r':
        simple = "\\r";
        break;
    case '\t':
        simple = "\\t";
        break;
    default:
        break;
    }
    if (simple) {
        *outlen = 2;
        memcpy(out, simple, 2);
        return 1;
    }
    if (c >= 0x20 && c < 0x7f) {
        out[0] = (char)c;
        *outlen = 1;
        return 1;
    }
    if (c < 0x80) {
        *outlen = u_escape(c, out); /* a C0 control or DEL */
        return 1;
    }
    uint32_t cp;
    size_t used = utf8_sequence(s, n, &cp);
    if (used == 0) {
        if (json) {
            memcpy(out, "\\ufffd", 6);
            *outlen = 6;
        } else {
            out[0] = '\\', out[1] = 'x', out[2] = hex[c >> 4], out[3] = hex[c & 0xf];
            *outlen = 4;
        }
        return 1;
    }
    if ((cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029) {
        *outlen = u_escape(cp, out);
        return used;
    }
    memcpy(out, s, used);
    *outlen = used;
    return used;
}

static bool text_needs_quotes(const char *v, size_t n)
{
    if (n == 0)
        return true;
    for (size_t i = 0; i < n;) {
        char esc[8];
        size_t elen;
        if (v[i] == ' ' || v[i] == '=')
            return true;
        size_t used = escape_one(false, (const unsigned char *)v + i, n - i, esc, &elen);
        if (elen != used || memcmp(esc, v + i, used) != 0)
            return true;
        i += used;
    }
    return false;
}

/*
 * Appends a value: a JSON string, or text quoted when needed. When the
 * value does not fit it is cut at a character boundary and ends in "...".
 * The opening of the value must already be in place.
 */
static void put_value(struct line *l, const char *v, bool quote)
{
    size_t n = strlen(v);
    if (quote && !put(l, "\"", 1))
        return;
    for (size_t i = 0; i < n;) {
        char esc[8];
        size_t elen;
        size_t used = escape_one(l->json, (const unsigned char *)v + i, n - i, esc, &elen);
        if (!put(l, esc, elen)) {
            put_tail(l, "...");
            break;
        }
        i += used;
    }
    if (quote)
        put_tail(l, "\"");
}

/* Appends a text key reduced to [A-Za-z0-9_.-], so a key can never forge a field. */
static bool put_text_key(struct line *l, const char *key)
{
    char k[128];
    size_t n = 0;
    for (; key[n] && n < sizeof(k); n++) {
        char c = key[n];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == '-';
        k[n] = ok ? c : '_';
    }
    if (n == 0)
        k[n++] = '_';
    return put(l, k, n);
}

/*
 * Appends one key/value field, or nothing: if even the key and the start of
 * the value do not fit, the field is dropped whole and the line is full.
 */
static void put_field(struct line *l, const char *key, const char *value, bool force_quote)
{
    if (l->full)
        return;
    size_t start = l->len;
    bool ok;
    if (l->json) {
        ok = put(l, ",\"", 2);
        for (size_t i = 0, n = strlen(key); ok && i < n;) {
            char esc[8];
            size_t elen;
            i += escape_one(true, (const unsigned char *)key + i, n - i, esc, &elen);
            ok = put(l, esc, elen);
        }
        ok = ok && put(l, "\":", 2);
        if (ok && !value)
            ok = put(l, "null", 4);
        /* Require room for at least a few characters of the value. */
        ok = ok && CONTENT_MAX - l->len >= 8;
        if (ok && value)
            put_value(l, value, true);
    } else {
        ok = put(l, " ", 1) && put_text_key(l, key) && put(l, "=", 1);
        if (ok && !value)
            ok = put(l, "null", 4);
        ok = ok && CONTENT_MAX - l->len >= 8;
        if (ok && value)
            put_value(l, value, force_quote || text_needs_quotes(value, strlen(value)));
    }
    if (!ok) {
        l->len = start;
        l->full = true;
    }
}

static void build_line(struct line *l, enum ward_log_level level, const char *request_id,
                       const char *msg, va_list ap)
{
    char ts[WARD_RFC3339_LEN];
    ward_time_format_rfc3339(ward_now_ms(), ts);
    const char *lvl = ward_log_level_name(level);

    if (l->json) {
        put_str(l, "{\"ts\":\"");
        put_str(l, ts);
        put_str(l, "\",\"level\":\"");
        put_str(l, lvl);
        put_str(l, "\"");
    } else {
        put_str(l, ts);
        put_str(l, " level=");
        put_str(l, lvl);
    }
    put_field(l, "msg", msg ? msg : "", true);
    if (request_id && *request_id)
        put_field(l, "request_id", request_id, false);
    for (;;) {
        const char *key = va_arg(ap, const char *);
        if (!key)
            break;
        const char *value = va_arg(ap, const char *);
        put_field(l, key, value, false);
    }

    if (l->full)
        put_tail(l, l->json ? ",\"truncated\":true" : " truncated=true");
    if (l->json)
        put_tail(l, "}");
    put_tail(l, "\n");
}

void ward_logv(enum ward_log_level level, const char *request_id, const char *msg, va_list ap)
{
    if (!ward_log_enabled(level))
        return;
    struct line l;
    l.len = 0;
    l.full = false;
    l.json = atomic_load_explicit(&log_format, memory_order_relaxed) == WARD_LOG_JSON;
    build_line(&l, level, request_id, msg, ap);

    pthread_mutex_lock(&out_lock);
    FILE *f = log_out ? log_out : stderr;
    fwrite(l.buf, 1, l.len, f);
    fflush(f);
    pthread_mutex_unlock(&out_lock);
}

void ward_log(enum ward_log_level level, const char *request_id, const char *msg, ...)
{
    va_list ap;
    va_start(ap, msg);
    ward_logv(level, request_id, msg, ap);
    va_end(ap);
}
