/*
 * JSON streaming reader.
 *
 * A pull parser: ward_json_next() looks at one state variable (what may come
 * next: a value, a key, a ',' or a closing bracket...) and returns exactly one
 * token. Nesting is kept as one bit per level in a fixed array inside the
 * reader, so parsing never allocates except for the one scratch buffer that
 * receives strings with escapes; strings without escapes, which is nearly all
 * of them in practice, point straight into the input.
 *
 * The hot loops are the string body scan, which looks at 8 bytes per step
 * for the bytes that need attention (quote, backslash, control, non-ASCII),
 * and the number scan, which accumulates up to 19 significant digits in an
 * integer as it goes, 8 digits per step where it can. Integers that fit int64 are exact. Other
 * numbers take Clinger's fast path when the digits fit in 53 bits and the power of ten is exact
 * (one correctly rounded multiplication or division); the rest go to strtod() on a rewritten
 * literal of at most 780 significant digits plus a sticky digit, which is enough for correct
 * rounding and keeps the cost bounded. The rewritten literal has no decimal point, so the result
 * does not depend on the locale.
 *
 * Errors are sticky: the first one records a code, an offset and a message,
 * and every later call returns it again.
 */
#include "common/json.h"

#include "common/error.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* What the reader expects at the next call. */
enum {
    ST_VALUE,        /* the top-level value */
    ST_ARRAY_FIRST,  /* a value or ']' */
    ST_ARRAY_NEXT,   /* ',' or ']' */
    ST_OBJECT_FIRST, /* a key or '}' */
    ST_OBJECT_NEXT,  /* ',' or '}' */
    ST_OBJECT_COLON, /* ':' and a value */
    ST_TOP_DONE,     /* whitespace, then the end of input */
    ST_END,          /* END was returned */
};

/* Significant digits handed to strtod() by the slow path; see the file comment. */
#define SLOW_DIGITS 780

static const double exact_pow10[] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

static const uint64_t int_pow10[] = {
    1ULL,
    10ULL,
    100ULL,
    1000ULL,
    10000ULL,
    100000ULL,
    1000000ULL,
    10000000ULL,
    100000000ULL,
    1000000000ULL,
    10000000000ULL,
    100000000000ULL,
    1000000000000ULL,
    10000000000000ULL,
    100000000000000ULL,
    1000000000000000ULL,
};

__attribute__((cold, noinline, format(printf, 4, 5))) static int
fail(struct ward_json_reader *r, int code, size_t offset, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->message, sizeof(r->message), fmt, ap);
    va_end(ap);
    r->error = code;
    r->error_offset = offset;
    return code;
}

static inline bool is_digit(char c)
{
    return (unsigned char)(c - '0') < 10;
}

static inline size_t skip_ws(const char *d, size_t p, size_t n)
{
    while (p < n && (d[p] == ' ' || d[p] == '\n' || d[p] == '\r' || d[p] == '\t'))
        p++;
    return p;
}

static inline bool top_is_object(const struct ward_json_reader *r)
{
    size_t i = r->depth - 1;
    return (r->stack[i >> 6] >> (i & 63)) & 1;
}

/* Sets the state that follows a complete value at the current depth. */
static inline void after_value(struct ward_json_reader *r)
{
    if (r->depth == 0)
        r->state = ST_TOP_DONE;
    else
        r->state = top_is_object(r) ? ST_OBJECT_NEXT : ST_ARRAY_NEXT;
}

static inline void set_token(struct ward_json_token *tok, enum ward_json_token_type type,
                             size_t offset)
{
    tok->type = type;
    tok->str = NULL;
    tok->len = 0;
    tok->i = 0;
    tok->d = 0;
    tok->offset = offset;
}

int ward_json_utf8_sequence(const unsigned char *s, size_t n)
{
    unsigned c = s[0], lo = 0x80, hi = 0xbf;
    int need;
    if (c < 0x80)
        return 1;
    if (c < 0xc2) /* a continuation byte, or the lead of an overlong pair */
        return -1;
    if (c < 0xe0) {
        need = 2;
    } else if (c < 0xf0) {
        need = 3;
        if (c == 0xe0) /* overlong */
            lo = 0xa0;
        else if (c == 0xed) /* U+D800..U+DFFF */
            hi = 0x9f;
    } else if (c < 0xf5) {
        need = 4;
        if (c == 0xf0) /* overlong */
            lo = 0x90;
        else if (c == 0xf4) /* above U+10FFFF */
            hi = 0x8f;
    } else {
        return -1;
    }
    for (int i = 1; i < need; i++) {
        if ((size_t)i >= n || s[i] < lo || s[i] > hi)
            return -i;
        lo = 0x80;
        hi = 0xbf;
    }
    return need;
}

static int scratch_append(struct ward_json_reader *r, const void *p, size_t n, size_t open)
{
    int e = ward_buf_append(&r->scratch, p, n);
    if (e == WARD_E_LIMIT)
        return fail(r, WARD_E_JSON_SIZE, open, "string longer than %zu bytes", r->lim.max_string);
    if (e < 0)
        return fail(r, e, open, "out of memory decoding a string");
    return 0;
}

static int hex4(const char *s, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = (unsigned char)s[i];
        unsigned x;
        if (c >= '0' && c <= '9')
            x = c - '0';
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
            x = (c | 0x20) - 'a' + 10;
        else
            return -1;
        v = v << 4 | x;
    }
    *out = v;
    return 0;
}

/*
 * Decodes the escape at d[q] == '\\' into the scratch buffer and returns the
 * offset after it, or 0 after recording an error (no escape ends at 0).
 */
static size_t decode_escape(struct ward_json_reader *r, size_t q, size_t open)
{
    const char *d = r->data;
    size_t n = r->len;
    if (q + 1 >= n) {
        fail(r, WARD_E_JSON_SYNTAX, n, "unexpected end of input in a string");
        return 0;
    }
    char c;
    switch (d[q + 1]) {
    case '"':
    case '\\':
    case '/':
        c = d[q + 1];
        break;
    case 'b':
        c = '\b';
        break;
    case 'f':
        c = '\f';
        break;
    case 'n':
        c = '\n';
        break;
    case 'r':
        c = '\r';
        break;
    case 't':
        c = '\t';
        break;
    case 'u': {
        unsigned cp, lo;
        if (n - q < 6 || hex4(d + q + 2, &cp) < 0) {
            fail(r, WARD_E_JSON_UTF8, q, "\\u must be followed by four hex digits");
            return 0;
        }
        size_t end = q + 6;
        if (cp >= 0xdc00 && cp <= 0xdfff) {
            fail(r, WARD_E_JSON_UTF8, q, "lone low surrogate \\u%04x", cp);
            return 0;
        }
        if (cp >= 0xd800 && cp <= 0xdbff) {
            if (n - end < 6 || d[end] != '\\' || d[end + 1] != 'u' || hex4(d + end + 2, &lo) < 0 ||
                lo < 0xdc00 || lo > 0xdfff) {
                fail(r, WARD_E_JSON_UTF8, q, "high surrogate \\u%04x without a low surrogate", cp);
                return 0;
            }
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            end += 6;
        }
        unsigned char u[4];
        size_t k;
        if (cp < 0x80) {
            u[0] = (unsigned char)cp;
            k = 1;
        } else if (cp < 0x800) {
            u[0] = (unsigned char)(0xc0 | cp >> 6);
            u[1] = (unsigned char)(0x80 | (cp & 0x3f));
            k = 2;
        } else if (cp < 0x10000) {
            u[0] = (unsigned char)(0xe0 | cp >> 12);
            u[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
            u[2] = (unsigned char)(0x80 | (cp & 0x3f));
            k = 3;
        } else {
            u[0] = (unsigned char)(0xf0 | cp >> 18);
            u[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
            u[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
            u[3] = (unsigned char)(0x80 | (cp & 0x3f));
            k = 4;
        }
        return scratch_append(r, u, k, open) < 0 ? 0 : end;
    }
    default:
        fail(r, WARD_E_JSON_SYNTAX, q, "invalid escape in a string");
        return 0;
    }
    return scratch_append(r, &c, 1, open) < 0 ? 0 : q + 2;
}

/*
 * Reads the string whose opening quote is at d[open]. The body up to q has
 * been scanned and is plain; d[q] is the first backslash. Decodes into the
 * scratch buffer.
 */
static int read_escaped(struct ward_json_reader *r, size_t open, size_t q,
                        enum ward_json_token_type type, struct ward_json_token *tok)
{
    const unsigned char *d = (const unsigned char *)r->data;
    size_t n = r->len;
    ward_buf_reset(&r->scratch);
    if (scratch_append(r, d + open + 1, q - open - 1, open) < 0)
        return r->error;
    for (;;) {
        unsigned char c = d[q];
        if (c == '"')
            break;
        if (c == '\\') {
            q = decode_escape(r, q, open);
            if (q == 0)
                return r->error;
        } else if (c < 0x20) {
            return fail(r, WARD_E_JSON_SYNTAX, q, "control character in a string");
        } else {
            int k = ward_json_utf8_sequence(d + q, n - q);
            if (k < 0)
                return fail(r, WARD_E_JSON_UTF8, q, "invalid UTF-8 in a string");
            if (scratch_append(r, d + q, (size_t)k, open) < 0)
                return r->error;
            q += (size_t)k;
        }
        size_t run = ward_json_plain_span(d + q, n - q);
        if (scratch_append(r, d + q, run, open) < 0)
            return r->error;
        q += run;
        if (q >= n)
            return fail(r, WARD_E_JSON_SYNTAX, n, "unexpected end of input in a string");
    }
    set_token(tok, type, open);
    tok->str = r->scratch.data;
    tok->len = r->scratch.len;
    r->pos = q + 1;
    return 0;
}

static void string_token(struct ward_json_reader *r, size_t open, size_t close,
                         enum ward_json_token_type type, struct ward_json_token *tok)
{
    set_token(tok, type, open);
    tok->str = r->data + open + 1;
    tok->len = close - open - 1;
    r->pos = close + 1;
}

/*
 * Reads the rest of the string whose opening quote is at d[open], from q on;
 * the bytes before q are plain.
 */
__attribute__((noinline)) static int read_string_slow(struct ward_json_reader *r, size_t open,
                                                      size_t q, enum ward_json_token_type type,
                                                      struct ward_json_token *tok)
{
    const unsigned char *d = (const unsigned char *)r->data;
    size_t n = r->len;
    for (;;) {
        q += ward_json_plain_span(d + q, n - q);
        if (q >= n)
            return fail(r, WARD_E_JSON_SYNTAX, n, "unexpected end of input in a string");
        unsigned char c = d[q];
        if (c == '"')
            break;
        if (c == '\\')
            return read_escaped(r, open, q, type, tok);
        if (c < 0x20)
            return fail(r, WARD_E_JSON_SYNTAX, q, "control character in a string");
        int k = ward_json_utf8_sequence(d + q, n - q);
        if (k < 0)
            return fail(r, WARD_E_JSON_UTF8, q, "invalid UTF-8 in a string");
        q += (size_t)k;
    }
    if (q - open - 1 > r->lim.max_string)
        return fail(r, WARD_E_JSON_SIZE, open, "string longer than %zu bytes", r->lim.max_string);
    string_token(r, open, q, type, tok);
    return 0;
}

/*
 * Reads the string whose opening quote is at d[open]. The common case, a
 * short ASCII string without escapes and not at the very end of the input,
 * is done here a word at a time; anything else continues out of line.
 */
static inline int read_string(struct ward_json_reader *r, size_t open,
                              enum ward_json_token_type type, struct ward_json_token *tok)
{
    size_t q = open + 1;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const unsigned char *d = (const unsigned char *)r->data;
    size_t n = r->len;
    while (n - q >= 8) {
        uint64_t x;
        memcpy(&x, d + q, 8);
        uint64_t m = ward_json_special_bytes(x);
        if (m) {
            q += (size_t)__builtin_ctzll(m) >> 3;
            if (d[q] == '"' && q - open - 1 <= r->lim.max_string) {
                string_token(r, open, q, type, tok);
                return 0;
            }
            break;
        }
        q += 8;
    }
#endif
    return read_string_slow(r, open, q, type, tok);
}

/*
 * Converts a syntactically valid number literal with strtod(), after
 * rewriting it as at most SLOW_DIGITS significant digits, a sticky digit if
 * nonzero digits were cut, and an exponent: "DDDDe-NN". The magnitude is
 * returned; the caller applies the sign.
 */
static double slow_number(const char *s, size_t len)
{
    char buf[SLOW_DIGITS + 32];
    size_t n = 0, i = 0;
    int64_t exp = 0;
    bool sticky = false;
    if (s[i] == '-')
        i++;
    for (; i < len && is_digit(s[i]); i++) {
        if (n == 0 && s[i] == '0')
            continue;
        if (n < SLOW_DIGITS)
            buf[n++] = s[i];
        else {
            exp++;
            sticky |= s[i] != '0';
        }
    }
    if (i < len && s[i] == '.') {
        for (i++; i < len && is_digit(s[i]); i++) {
            if (n == 0 && s[i] == '0') {
                exp--;
            } else if (n < SLOW_DIGITS) {
                buf[n++] = s[i];
                exp--;
            } else {
                sticky |= s[i] != '0';
            }
        }
    }
    if (n == 0)
        return 0.0;
    if (i < len) { /* 'e' or 'E' */
        bool neg = false;
        int64_t e = 0;
        i++;
        if (s[i] == '+' || s[i] == '-')
            neg = s[i++] == '-';
        for (; i < len; i++)
            if (e < 100000000)
                e = e * 10 + (s[i] - '0');
        exp += neg ? -e : e;
    }
    if (sticky) {
        buf[n++] = '1';
        exp--;
    }
    /* Beyond these bounds the result is 0 or infinite whatever the digits. */
    if (exp > 100000)
        exp = 100000;
    if (exp < -100000)
        exp = -100000;
    snprintf(buf + n, sizeof(buf) - n, "e%" PRId64, exp);
    return strtod(buf, NULL);
}

/*
 * If the 8 bytes at p are all digits, stores their value and returns true.
 * A byte is a digit if its high nibble is 3 and stays 3 after adding 6. The
 * value is built by combining neighbours: pairs, then quads, then all 8.
 */
static inline bool eight_digits(const char *p, uint64_t *out)
{
    const uint64_t highs = 0xf0f0f0f0f0f0f0f0ULL;
    uint64_t x;
    memcpy(&x, p, 8);
    if (((x & highs) | (((x + 0x0606060606060606ULL) & highs) >> 4)) != 0x3333333333333333ULL)
        return false;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    x -= 0x3030303030303030ULL;                        /* digit values, first digit lowest */
    x = (x * 10 + (x >> 8)) & 0x00ff00ff00ff00ffULL;   /* 2-digit groups */
    x = (x * 100 + (x >> 16)) & 0x0000ffff0000ffffULL; /* 4-digit groups */
    *out = (x * 10000 + (x >> 32)) & 0xffffffffULL;
    return true;
#else
    return false;
#endif
}

static int read_number(struct ward_json_reader *r, size_t p, struct ward_json_token *tok)
{
    const char *d = r->data;
    size_t n = r->len, start = p;
    uint64_t m = 0;         /* the first 19 significant digits */
    int digits = 0;         /* how many digits m holds, leading zeros excluded */
    int64_t exp10 = 0;      /* value = m * 10^exp10, up to the cut digits */
    bool truncated = false; /* nonzero digits were cut */
    bool is_int = true, neg = false;

    if (d[p] == '-') {
        neg = true;
        p++;
    }
    if (p >= n || !is_digit(d[p]))
        return fail(r, WARD_E_JSON_NUMBER, p, "expected a digit");
    if (d[p] == '0') {
        p++;
        if (p < n && is_digit(d[p]))
            return fail(r, WARD_E_JSON_NUMBER, start, "leading zero in a number");
    } else {
        uint64_t eight;
        while (digits <= 11 && n - p >= 8 && eight_digits(d + p, &eight)) {
            m = m * 100000000 + eight;
            digits += 8;
            p += 8;
        }
        for (; p < n && is_digit(d[p]); p++) {
            unsigned v = (unsigned)(d[p] - '0');
            if (digits < 19) {
                m = m * 10 + v;
                digits++;
            } else {
                exp10++;
                truncated |= v != 0;
            }
        }
    }
    if (p < n && d[p] == '.') {
        is_int = false;
        p++;
        if (p >= n || !is_digit(d[p]))
            return fail(r, WARD_E_JSON_NUMBER, p, "expected a digit after '.'");
        for (; p < n && is_digit(d[p]); p++) {
            unsigned v = (unsigned)(d[p] - '0');
            if (digits < 19) {
                m = m * 10 + v;
                exp10--;
                if (m)
                    digits++;
            } else {
                truncated |= v != 0;
            }
        }
    }
    if (p < n && (d[p] | 0x20) == 'e') {
        bool eneg = false;
        int64_t e = 0;
        is_int = false;
        p++;
        if (p < n && (d[p] == '+' || d[p] == '-'))
            eneg = d[p++] == '-';
        if (p >= n || !is_digit(d[p]))
            return fail(r, WARD_E_JSON_NUMBER, p, "expected a digit in the exponent");
        for (; p < n && is_digit(d[p]); p++)
            if (e < 100000000)
                e = e * 10 + (d[p] - '0');
        exp10 += eneg ? -e : e;
    }
    if (p - start > r->lim.max_string)
        return fail(r, WARD_E_JSON_SIZE, start, "number longer than %zu bytes", r->lim.max_string);

    if (is_int && exp10 == 0 && !truncated && m <= (uint64_t)INT64_MAX + neg) {
        set_token(tok, WARD_JSON_INT, start);
        tok->i = !neg ? (int64_t)m : m == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)m;
        tok->d = (double)tok->i;
    } else {
        double v;
        const uint64_t max_exact = (uint64_t)1 << 53;
        if (m == 0) {
            v = 0.0;
        } else if (FLT_EVAL_METHOD == 0 && !truncated && m <= max_exact && exp10 >= -22 &&
                   exp10 <= 22) {
            /* Both operands are exact, so IEEE arithmetic rounds the result once, correctly. */
            v = exp10 < 0 ? (double)m / exact_pow10[-exp10] : (double)m * exact_pow10[exp10];
        } else if (FLT_EVAL_METHOD == 0 && !truncated && exp10 > 22 && exp10 <= 22 + 15 &&
                   m <= max_exact / int_pow10[exp10 - 22]) {
            /* Moving some of the power into the mantissa keeps both operands exact. */
            v = (double)(m * int_pow10[exp10 - 22]) * 1e22;
        } else {
            v = slow_number(d + start, p - start);
            if (isinf(v))
                return fail(r, WARD_E_JSON_NUMBER, start, "number out of range");
        }
        set_token(tok, WARD_JSON_DOUBLE, start);
        tok->d = neg ? -v : v;
    }
    tok->str = d + start;
    tok->len = p - start;
    r->pos = p;
    return 0;
}

static int read_literal(struct ward_json_reader *r, size_t p, const char *word, size_t len,
                        enum ward_json_token_type type, struct ward_json_token *tok)
{
    if (r->len - p < len || memcmp(r->data + p, word, len) != 0)
        return fail(r, WARD_E_JSON_SYNTAX, p, "invalid literal, expected '%s'", word);
    set_token(tok, type, p);
    r->pos = p + len;
    after_value(r);
    return 0;
}

static int open_container(struct ward_json_reader *r, size_t p, bool object,
                          struct ward_json_token *tok)
{
    if (r->depth >= r->lim.max_depth)
        return fail(r, WARD_E_JSON_DEPTH, p, "nesting deeper than %zu levels", r->lim.max_depth);
    size_t i = r->depth++;
    if (object)
        r->stack[i >> 6] |= (uint64_t)1 << (i & 63);
    else
        r->stack[i >> 6] &= ~((uint64_t)1 << (i & 63));
    r->state = object ? ST_OBJECT_FIRST : ST_ARRAY_FIRST;
    set_token(tok, object ? WARD_JSON_OBJECT_BEGIN : WARD_JSON_ARRAY_BEGIN, p);
    r->pos = p + 1;
    return 0;
}

static int close_container(struct ward_json_reader *r, size_t p, enum ward_json_token_type type,
                           struct ward_json_token *tok)
{
    r->depth--;
    after_value(r);
    set_token(tok, type, p);
    r->pos = p + 1;
    return 0;
}

static int read_value(struct ward_json_reader *r, size_t p, struct ward_json_token *tok)
{
    if (p >= r->len)
        return fail(r, WARD_E_JSON_SYNTAX, p, "unexpected end of input, expected a value");
    int e;
    switch (r->data[p]) {
    case '"':
        e = read_string(r, p, WARD_JSON_STRING, tok);
        if (e == 0)
            after_value(r);
        return e;
    case '-':
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9':
        e = read_number(r, p, tok);
        if (e == 0)
            after_value(r);
        return e;
    case '{':
        return open_container(r, p, true, tok);
    case '[':
        return open_container(r, p, false, tok);
    case 't':
        return read_literal(r, p, "true", 4, WARD_JSON_TRUE, tok);
    case 'f':
        return read_literal(r, p, "false", 5, WARD_JSON_FALSE, tok);
    case 'n':
        return read_literal(r, p, "null", 4, WARD_JSON_NULL, tok);
    default:
        return fail(r, WARD_E_JSON_SYNTAX, p, "unexpected character, expected a value");
    }
}

static int read_key(struct ward_json_reader *r, size_t p, struct ward_json_token *tok)
{
    if (p >= r->len)
        return fail(r, WARD_E_JSON_SYNTAX, p, "unexpected end of input, expected a key");
    if (r->data[p] != '"')
        return fail(r, WARD_E_JSON_SYNTAX, p, "expected a string key");
    int e = read_string(r, p, WARD_JSON_KEY, tok);
    if (e == 0)
        r->state = ST_OBJECT_COLON;
    return e;
}

void ward_json_reader_init(struct ward_json_reader *r, const char *data, size_t len,
                           const struct ward_json_limits *lim)
{
    *r = (struct ward_json_reader){
        .data = data,
        .len = len,
        .state = ST_VALUE,
        .lim = {WARD_JSON_DEFAULT_MAX_DEPTH, WARD_JSON_DEFAULT_MAX_SIZE,
                WARD_JSON_DEFAULT_MAX_STRING},
    };
    if (lim && lim->max_depth)
        r->lim.max_depth = lim->max_depth;
    if (lim && lim->max_size)
        r->lim.max_size = lim->max_size;
    if (lim && lim->max_string)
        r->lim.max_string = lim->max_string;
    if (r->lim.max_depth > WARD_JSON_MAX_DEPTH)
        r->lim.max_depth = WARD_JSON_MAX_DEPTH;
    ward_buf_init(&r->scratch, r->lim.max_string);
    if (len > r->lim.max_size)
        fail(r, WARD_E_JSON_SIZE, r->lim.max_size, "document larger than %zu bytes",
             r->lim.max_size);
}

void ward_json_reader_done(struct ward_json_reader *r)
{
    ward_buf_done(&r->scratch);
}

int ward_json_next(struct ward_json_reader *r, struct ward_json_token *tok)
{
    if (r->error)
        return r->error;
    const char *d = r->data;
    size_t n = r->len, p = skip_ws(d, r->pos, n);
    char c = p < n ? d[p] : '\0';
    switch (r->state) {
    case ST_VALUE:
        return read_value(r, p, tok);
    case ST_ARRAY_FIRST:
        if (c == ']')
            return close_container(r, p, WARD_JSON_ARRAY_END, tok);
        return read_value(r, p, tok);
    case ST_ARRAY_NEXT:
        if (c == ',')
            return read_value(r, skip_ws(d, p + 1, n), tok);
        if (c == ']')
            return close_container(r, p, WARD_JSON_ARRAY_END, tok);
        return fail(r, WARD_E_JSON_SYNTAX, p, "expected ',' or ']' after an array element");
    case ST_OBJECT_FIRST:
        if (c == '}')
            return close_container(r, p, WARD_JSON_OBJECT_END, tok);
        return read_key(r, p, tok);
    case ST_OBJECT_NEXT:
        if (c == ',')
            return read_key(r, skip_ws(d, p + 1, n), tok);
        if (c == '}')
            return close_container(r, p, WARD_JSON_OBJECT_END, tok);
        return fail(r, WARD_E_JSON_SYNTAX, p, "expected ',' or '}' after an object member");
    case ST_OBJECT_COLON:
        if (c == ':')
            return read_value(r, skip_ws(d, p + 1, n), tok);
        return fail(r, WARD_E_JSON_SYNTAX, p, "expected ':' after a key");
    case ST_TOP_DONE:
        if (p < n)
            return fail(r, WARD_E_JSON_SYNTAX, p, "unexpected data after the top-level value");
        r->state = ST_END;
        r->pos = n;
        set_token(tok, WARD_JSON_END, n);
        return 0;
    default:
        set_token(tok, WARD_JSON_END, n);
        return 0;
    }
}

int ward_json_skip(struct ward_json_reader *r)
{
    struct ward_json_token t;
    int e = ward_json_next(r, &t);
    if (e == 0 && t.type == WARD_JSON_KEY)
        e = ward_json_next(r, &t);
    if (e < 0)
        return e;
    switch (t.type) {
    case WARD_JSON_OBJECT_END:
    case WARD_JSON_ARRAY_END:
    case WARD_JSON_END:
        return fail(r, WARD_E_JSON_TYPE, t.offset, "expected a value to skip, got %s",
                    ward_json_type_name(t.type));
    case WARD_JSON_OBJECT_BEGIN:
    case WARD_JSON_ARRAY_BEGIN:
        break;
    default:
        return 0;
    }
    for (size_t level = 1; level > 0;) {
        e = ward_json_next(r, &t);
        if (e < 0)
            return e;
        if (t.type == WARD_JSON_OBJECT_BEGIN || t.type == WARD_JSON_ARRAY_BEGIN)
            level++;
        else if (t.type == WARD_JSON_OBJECT_END || t.type == WARD_JSON_ARRAY_END)
            level--;
    }
    return 0;
}

int ward_json_expect(struct ward_json_reader *r, enum ward_json_token_type type,
                     struct ward_json_token *tok)
{
    struct ward_json_token t;
    int e = ward_json_next(r, &t);
    if (e < 0)
        return e;
    if (t.type != type && !(type == WARD_JSON_DOUBLE && t.type == WARD_JSON_INT))
        return fail(r, WARD_E_JSON_TYPE, t.offset, "expected %s, got %s", ward_json_type_name(type),
                    ward_json_type_name(t.type));
    *tok = t;
    return 0;
}

size_t ward_json_error_offset(const struct ward_json_reader *r)
{
    return r->error ? r->error_offset : 0;
}

const char *ward_json_error_message(const struct ward_json_reader *r)
{
    return r->error ? r->message : "";
}

const char *ward_json_type_name(enum ward_json_token_type type)
{
    static const char *const names[] = {
        [WARD_JSON_END] = "end of document",
        [WARD_JSON_OBJECT_BEGIN] = "object",
        [WARD_JSON_OBJECT_END] = "end of object",
        [WARD_JSON_ARRAY_BEGIN] = "array",
        [WARD_JSON_ARRAY_END] = "end of array",
        [WARD_JSON_KEY] = "key",
        [WARD_JSON_STRING] = "string",
        [WARD_JSON_INT] = "integer",
        [WARD_JSON_DOUBLE] = "number",
        [WARD_JSON_TRUE] = "true",
        [WARD_JSON_FALSE] = "false",
        [WARD_JSON_NULL] = "null",
    };
    if ((unsigned)type < sizeof(names) / sizeof(names[0]))
        return names[type];
    return "unknown";
}
