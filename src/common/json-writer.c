/*
 * JSON writer.
 *
 * Appends compact JSON to a caller's struct ward_buf. The writer remembers
 * just enough to place commas and to catch misuse: the current depth, one
 * bit per level for "object or array", whether the current container already
 * holds a value, and whether an object key is waiting for its value. The
 * first error (misuse, buffer limit, allocation failure, a non-finite
 * double) is kept and every later call becomes a no-op, so a caller can
 * write a whole document and check once, at ward_json_writer_finish().
 *
 * Speed comes from formatting scalars into a small stack buffer and
 * appending them with one capacity check, and from copying runs of plain
 * string bytes found 8 at a time. Capacity is always reserved for the exact
 * bytes about to be written, so a buffer limit is never hit early.
 *
 * Doubles are written as the shortest decimal that reads back to the same
 * bits. Ordinary magnitudes take an exact fast path: for k = 0, 1, 2... the
 * value scaled by 10^k is rounded to an integer m below 2^53, and m / 10^k is
 * checked to give the value back (both operands exact, one correctly rounded
 * division, the same operation the reader performs). The smallest such k
 * gives the fewest digits. Other values are printed once with 17
 * significant digits; the 15 and 16 digit roundings of those are tried
 * first, and the shortest that reads back exactly is kept. For normal
 * doubles that is also the shortest overall, as every decimal of up to 15
 * digits survives a round trip through binary64. The digits are taken out
 * of the printf() output and laid out again by hand, so the locale's
 * decimal point never reaches the JSON.
 */
#include "common/json.h"

#include "common/error.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static const double exact_pow10[] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

static const char digit_pairs[] = "00010203040506070809"
                                  "10111213141516171819"
                                  "20212223242526272829"
                                  "30313233343536373839"
                                  "40414243444546474849"
                                  "50515253545556575859"
                                  "60616263646566676869"
                                  "70717273747576777879"
                                  "80818283848586878889"
                                  "90919293949596979899";

/* Escapes for the ASCII bytes that need one; zero means "\u00XX". */
static const char short_escape[0x60] = {
    ['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n',  ['\r'] = 'r',
    ['\t'] = 't', ['"'] = '"',  ['\\'] = '\\',
};

/* memcpy() for the short pieces that make up most JSON, without a call. */
static inline void copy_bytes(char *dst, const void *src, size_t n)
{
    const char *s = src;
    if (n >= 8 && n <= 16) {
        uint64_t a, b;
        memcpy(&a, s, 8);
        memcpy(&b, s + n - 8, 8);
        memcpy(dst, &a, 8);
        memcpy(dst + n - 8, &b, 8);
    } else if (n >= 4 && n < 8) {
        uint32_t a, b;
        memcpy(&a, s, 4);
        memcpy(&b, s + n - 4, 4);
        memcpy(dst, &a, 4);
        memcpy(dst + n - 4, &b, 4);
    } else if (n > 0 && n < 4) {
        char a = s[0], b = s[n / 2], c = s[n - 1];
        dst[0] = a;
        dst[n / 2] = b;
        dst[n - 1] = c;
    } else if (n > 16) {
        memcpy(dst, s, n);
    }
}

/* Appends n bytes that ensure() has made room for. */
static inline void put_bytes(struct ward_buf *b, const void *p, size_t n)
{
    copy_bytes(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static int set_error(struct ward_json_writer *w, int e)
{
    if (!w->error)
        w->error = e;
    return w->error;
}

/*
 * Makes room for n more bytes. The buffer's capacity may already exceed its
 * limit, so the limit is checked here too, not only when it grows.
 */
static inline int ensure(struct ward_json_writer *w, size_t n)
{
    struct ward_buf *b = w->out;
    if (__builtin_expect(b->cap - b->len > n && (!b->limit || b->limit - b->len >= n), 1))
        return 0;
    int e = ward_buf_reserve(b, n);
    return e < 0 ? set_error(w, e) : 0;
}

static inline bool top_is_object(const struct ward_json_writer *w)
{
    size_t i = w->depth - 1;
    return (w->stack[i >> 6] >> (i & 63)) & 1;
}

/*
 * Checks that a value may come now and returns how many separator bytes
 * (0 or 1, a comma) precede it, or a negative error.
 */
static inline int begin_value(struct ward_json_writer *w)
{
    if (w->error)
        return w->error;
    if (w->depth == 0)
        return w->done ? set_error(w, -EINVAL) : 0;
    if (top_is_object(w))
        return w->after_key ? 0 : set_error(w, -EINVAL);
    return w->need_comma;
}

static inline void end_value(struct ward_json_writer *w)
{
    w->after_key = false;
    w->need_comma = true;
    if (w->depth == 0)
        w->done = true;
}

/* Appends a scalar already formatted in p[0..n), preceded by a comma if due. */
static int put_value(struct ward_json_writer *w, const char *p, size_t n)
{
    int sep = begin_value(w);
    if (sep < 0 || ensure(w, n + 1) < 0)
        return w->error;
    if (sep)
        ward_buf_append_unchecked(w->out, ",", 1);
    put_bytes(w->out, p, n);
    end_value(w);
    return 0;
}

void ward_json_writer_init(struct ward_json_writer *w, struct ward_buf *out)
{
    *w = (struct ward_json_writer){.out = out};
}

int ward_json_writer_finish(struct ward_json_writer *w)
{
    if (w->error)
        return w->error;
    if (w->depth != 0 || !w->done)
        return set_error(w, -EINVAL);
    return 0;
}

static int open_container(struct ward_json_writer *w, bool object)
{
    int sep = begin_value(w);
    if (sep < 0)
        return sep;
    if (w->depth >= WARD_JSON_MAX_DEPTH)
        return set_error(w, WARD_E_JSON_DEPTH);
    if (ensure(w, 2) < 0)
        return w->error;
    if (sep)
        ward_buf_append_unchecked(w->out, ",", 1);
    ward_buf_append_unchecked(w->out, object ? "{" : "[", 1);
    size_t i = w->depth++;
    if (object)
        w->stack[i >> 6] |= (uint64_t)1 << (i & 63);
    else
        w->stack[i >> 6] &= ~((uint64_t)1 << (i & 63));
    w->need_comma = false;
    w->after_key = false;
    return 0;
}

static int close_container(struct ward_json_writer *w, bool object)
{
    if (w->error)
        return w->error;
    if (w->depth == 0 || top_is_object(w) != object || w->after_key)
        return set_error(w, -EINVAL);
    if (ensure(w, 1) < 0)
        return w->error;
    ward_buf_append_unchecked(w->out, object ? "}" : "]", 1);
    w->depth--;
    end_value(w);
    return 0;
}

int ward_json_write_object_begin(struct ward_json_writer *w)
{
    return open_container(w, true);
}

int ward_json_write_object_end(struct ward_json_writer *w)
{
    return close_container(w, true);
}

int ward_json_write_array_begin(struct ward_json_writer *w)
{
    return open_container(w, false);
}

int ward_json_write_array_end(struct ward_json_writer *w)
{
    return close_container(w, false);
}

/* Appends the body of a string literal: s escaped, without the quotes. */
static int put_escaped(struct ward_json_writer *w, const unsigned char *s, size_t len)
{
    struct ward_buf *b = w->out;
    size_t i = 0;
    for (;;) {
        size_t run = ward_json_plain_span(s + i, len - i);
        if (run) {
            if (ensure(w, run) < 0)
                return w->error;
            put_bytes(b, s + i, run);
            i += run;
        }
        if (i >= len)
            return 0;
        unsigned char c = s[i];
        if (c < 0x80) {
            char e[6] = {'\\', short_escape[c], '0', '0', 0, 0};
            size_t n = 2;
            if (!e[1]) {
                e[1] = 'u';
                e[4] = "0123456789abcdef"[c >> 4];
                e[5] = "0123456789abcdef"[c & 15];
                n = 6;
            }
            if (ensure(w, n) < 0)
                return w->error;
            ward_buf_append_unchecked(b, e, n);
            i++;
        } else {
            int k = ward_json_utf8_sequence(s + i, len - i);
            if (ensure(w, 4) < 0)
                return w->error;
            if (k > 0) {
                ward_buf_append_unchecked(b, s + i, (size_t)k);
                i += (size_t)k;
            } else {
                ward_buf_append_unchecked(b, "\xef\xbf\xbd", 3);
                i += (size_t)-k;
            }
        }
    }
}

/*
 * Appends a string literal: an optional comma, the quoted and escaped
 * bytes, then the tail ("\"" for a value, "\":" for a key). Strings that
 * need no escaping, nearly all of them, are copied in one piece.
 */
static int put_string(struct ward_json_writer *w, bool comma, const char *s, size_t len,
                      const char *tail, size_t tail_len)
{
    struct ward_buf *b = w->out;
    size_t plain = ward_json_plain_span((const unsigned char *)s, len);
    if (plain == len) {
        if (ensure(w, len + tail_len + 2) < 0)
            return w->error;
        char *p = b->data + b->len;
        *p = ',';
        p += comma;
        *p++ = '"';
        copy_bytes(p, s, len);
        p += len;
        copy_bytes(p, tail, tail_len);
        p += tail_len;
        *p = '\0';
        b->len = (size_t)(p - b->data);
        return 0;
    }
    if (ensure(w, 2) < 0)
        return w->error;
    if (comma)
        ward_buf_append_unchecked(b, ",", 1);
    ward_buf_append_unchecked(b, "\"", 1);
    if (put_escaped(w, (const unsigned char *)s, len) < 0 || ensure(w, tail_len) < 0)
        return w->error;
    ward_buf_append_unchecked(b, tail, tail_len);
    return 0;
}

int ward_json_write_key(struct ward_json_writer *w, const char *s, size_t len)
{
    if (w->error)
        return w->error;
    if (w->depth == 0 || !top_is_object(w) || w->after_key)
        return set_error(w, -EINVAL);
    if (put_string(w, w->need_comma, s, len, "\":", 2) < 0)
        return w->error;
    w->after_key = true;
    return 0;
}

int ward_json_write_string(struct ward_json_writer *w, const char *s, size_t len)
{
    int sep = begin_value(w);
    if (sep < 0 || put_string(w, sep, s, len, "\"", 1) < 0)
        return w->error;
    end_value(w);
    return 0;
}

/* Writes v in decimal so that it ends just before end; returns the start. */
static char *format_u64(char *end, uint64_t v)
{
    char *p = end;
    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        p -= 2;
        memcpy(p, digit_pairs + 2 * r, 2);
    }
    if (v >= 10) {
        p -= 2;
        memcpy(p, digit_pairs + 2 * v, 2);
    } else {
        *--p = (char)('0' + v);
    }
    return p;
}

int ward_json_write_int(struct ward_json_writer *w, int64_t v)
{
    char buf[24], *end = buf + sizeof(buf);
    uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;
    char *p = format_u64(end, u);
    if (v < 0)
        *--p = '-';
    return put_value(w, p, (size_t)(end - p));
}

int ward_json_write_uint(struct ward_json_writer *w, uint64_t v)
{
    char buf[24], *end = buf + sizeof(buf);
    char *p = format_u64(end, v);
    return put_value(w, p, (size_t)(end - p));
}

/*
 * Lays out the value 0.DIGITS x 10^point (nd digits, the first nonzero) as
 * a JSON number with a '.' or an exponent. Returns the length; out needs
 * room for nd + 26 bytes.
 */
static size_t layout_decimal(char *out, bool neg, const char *digits, int nd, int point)
{
    char *p = out;
    if (neg)
        *p++ = '-';
    if (point > 0 && point <= 17) {
        if (point < nd) {
            memcpy(p, digits, (size_t)point);
            p += point;
            *p++ = '.';
            memcpy(p, digits + point, (size_t)(nd - point));
            p += nd - point;
        } else {
            memcpy(p, digits, (size_t)nd);
            p += nd;
            memset(p, '0', (size_t)(point - nd));
            p += point - nd;
            memcpy(p, ".0", 2);
            p += 2;
        }
    } else if (point <= 0 && point > -5) {
        memcpy(p, "0.", 2);
        p += 2;
        memset(p, '0', (size_t)-point);
        p += -point;
        memcpy(p, digits, (size_t)nd);
        p += nd;
    } else {
        *p++ = digits[0];
        if (nd > 1) {
            *p++ = '.';
            memcpy(p, digits + 1, (size_t)(nd - 1));
            p += nd - 1;
        }
        *p++ = 'e';
        int x = point - 1;
        if (x < 0) {
            *p++ = '-';
            x = -x;
        }
        char tmp[8], *end = tmp + sizeof(tmp);
        char *s = format_u64(end, (uint64_t)x);
        memcpy(p, s, (size_t)(end - s));
        p += end - s;
    }
    return (size_t)(p - out);
}

/*
 * Finds m and k with m / 10^k == a exactly, m < 2^53, k as small as possible.
 * Returns false if there is none with k <= 22.
 */
static bool short_fixed(double a, uint64_t *m_out, int *k_out)
{
    const double limit = 9007199254740992.0; /* 2^53 */
    if (a >= limit || a < 1e-7)
        return false;
    for (int k = 0; k <= 22; k++) {
        double s = a * exact_pow10[k];
        if (s >= limit)
            return false;
        uint64_t m = (uint64_t)(s + 0.5);
        /* The scaled product may be off by one unit from the right m. */
        uint64_t cand[3] = {m, m + 1, m - 1};
        for (int j = 0; j < 3; j++) {
            uint64_t c = cand[j];
            if (c == 0 || c > (uint64_t)limit || (double)c / exact_pow10[k] != a)
                continue;
            while (k > 0 && c % 10 == 0) {
                c /= 10;
                k--;
            }
            *m_out = c;
            *k_out = k;
            return true;
        }
    }
    return false;
}

/* Prints a with prec significant digits into digits; returns its decimal exponent. */
static int printf_digits(double a, int prec, char *digits)
{
    char tmp[48];
    snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, a);
    /* tmp is "D<decimal point>DDDDe[+-]XX"; the decimal point depends on the locale. */
    const char *s = tmp;
    int nd = 0;
    for (; *s && *s != 'e'; s++)
        if (*s >= '0' && *s <= '9')
            digits[nd++] = *s;
    return (int)strtol(s + 1, NULL, 10);
}

/* Returns true if D.DDD x 10^x (nd digits) reads back as a. */
static bool reads_back(const char *digits, int nd, int x, double a)
{
    char check[48];
    memcpy(check, digits, (size_t)nd);
    snprintf(check + nd, sizeof(check) - (size_t)nd, "e%d", x - (nd - 1));
    return strtod(check, NULL) == a;
}

/*
 * Gets the shortest of 15, 16 or 17 significant digits that read back as a,
 * written to digits without trailing zeros. Returns the digit count and
 * sets *point so that a = 0.DIGITS x 10^point.
 *
 * printf() runs once, for 17 digits; the 15 and 16 digit candidates are
 * rounded from those. That gives the same digits as rounding a itself, as
 * no 15 or 16 digit rounding boundary can lie strictly between a and its
 * nearest 17 digit decimal, except when the dropped digits are exactly a
 * half: then printf() rounds again from the exact value.
 */
static int short_printf(double a, char *digits, int *point)
{
    char d17[24];
    int x17 = printf_digits(a, 17, d17), nd = 17, x = x17;
    memcpy(digits, d17, 17);
    for (int prec = 15; prec < 17; prec++) {
        char cand[24];
        int cx = x17;
        bool tie = d17[prec] == '5' && (prec == 16 || d17[16] == '0');
        if (tie) {
            cx = printf_digits(a, prec, cand);
        } else {
            memcpy(cand, d17, (size_t)prec);
            if (d17[prec] >= '5') {
                int i = prec - 1;
                while (i >= 0 && cand[i] == '9')
                    cand[i--] = '0';
                if (i >= 0) {
                    cand[i]++;
                } else {
                    cand[0] = '1';
                    cx++;
                }
            }
        }
        if (reads_back(cand, prec, cx, a)) {
            memcpy(digits, cand, (size_t)prec);
            nd = prec;
            x = cx;
            break;
        }
    }
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    *point = x + 1;
    return nd;
}

size_t ward_json_format_double(double v, char out[WARD_JSON_DOUBLE_MAX])
{
    if (!isfinite(v)) {
        out[0] = '\0';
        return 0;
    }
    char digits[32];
    bool neg = signbit(v);
    double a = fabs(v);
    size_t n;
    uint64_t m;
    int k, point, nd;
    if (a == 0) {
        n = layout_decimal(out, neg, "0", 1, 1);
    } else if (short_fixed(a, &m, &k)) {
        char *end = digits + sizeof(digits);
        char *s = format_u64(end, m);
        nd = (int)(end - s);
        n = layout_decimal(out, neg, s, nd, nd - k);
    } else {
        nd = short_printf(a, digits, &point);
        n = layout_decimal(out, neg, digits, nd, point);
    }
    out[n] = '\0';
    return n;
}

int ward_json_write_double(struct ward_json_writer *w, double v)
{
    if (w->error)
        return w->error;
    char out[WARD_JSON_DOUBLE_MAX];
    size_t n = ward_json_format_double(v, out);
    if (n == 0)
        return set_error(w, WARD_E_JSON_NUMBER);
    return put_value(w, out, n);
}

int ward_json_write_bool(struct ward_json_writer *w, bool v)
{
    return v ? put_value(w, "true", 4) : put_value(w, "false", 5);
}

int ward_json_write_null(struct ward_json_writer *w)
{
    return put_value(w, "null", 4);
}

int ward_json_write_raw(struct ward_json_writer *w, const char *json, size_t len)
{
    return put_value(w, json, len);
}
