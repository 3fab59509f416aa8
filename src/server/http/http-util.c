/*
 * Accept-Encoding, token lists and CORS origin parsing.
 *
 * Both parsers walk the header value in place with explicit lengths and
 * never copy it, so a hostile value costs one pass and no memory. The
 * Accept-Encoding grammar is the list form of RFC 9110: elements separated
 * by commas, each a token with optional ";name=value" parameters, of which
 * only q matters. Origins are compared as whole strings, ignoring case:
 * browsers send the serialised origin ("https://host:port"), so there is
 * nothing to normalise beyond case and a trailing slash in configuration.
 */
#include "server/http/http-util.h"

#include "common/error.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* Trims optional whitespace from both ends of [*s, *e). */
static void trim(const char **s, const char **e)
{
    while (*s < *e && is_ows(**s))
        (*s)++;
    while (*e > *s && is_ows((*e)[-1]))
        (*e)--;
}

static bool token_is(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && strncasecmp(s, lit, n) == 0;
}

/*
 * Parses a q-value, "0" ["." up to 3 digits] or "1" ["." up to 3 zeros],
 * into thousandths. Returns false when malformed.
 */
static bool parse_qvalue(const char *s, size_t n, int *q)
{
    if (n == 0 || (s[0] != '0' && s[0] != '1'))
        return false;
    int v = (s[0] - '0') * 1000;
    if (n > 1) {
        if (s[1] != '.' || n > 5)
            return false;
        int scale = 100;
        for (size_t i = 2; i < n; i++, scale /= 10) {
            if (s[i] < '0' || s[i] > '9')
                return false;
            v += (s[i] - '0') * scale;
        }
    }
    if (v > 1000)
        return false;
    *q = v;
    return true;
}

/*
 * Reads the parameters of one element, [s, e) after its coding, for q.
 * Returns false when a q parameter is malformed.
 */
static bool element_q(const char *s, const char *e, int *q)
{
    *q = 1000;
    while (s < e) {
        if (*s != ';')
            return false; /* junk after the coding */
        s++;
        const char *pe = memchr(s, ';', (size_t)(e - s));
        if (!pe)
            pe = e;
        const char *ps = s, *pend = pe;
        trim(&ps, &pend);
        if (pend - ps >= 2 && (ps[0] == 'q' || ps[0] == 'Q')) {
            const char *v = ps + 1;
            while (v < pend && is_ows(*v))
                v++;
            if (v < pend && *v == '=') {
                v++;
                while (v < pend && is_ows(*v))
                    v++;
                if (!parse_qvalue(v, (size_t)(pend - v), q))
                    return false;
            }
        }
        s = pe;
    }
    return true;
}

bool ward_http_accepts_gzip(const char *accept_encoding)
{
    if (!accept_encoding)
        return false;
    size_t len = strnlen(accept_encoding, WARD_HTTP_ACCEPT_ENCODING_MAX);
    const char *p = accept_encoding, *end = accept_encoding + len;
    int gzip_q = -1, star_q = -1;
    while (p < end) {
        const char *ee = memchr(p, ',', (size_t)(end - p));
        if (!ee)
            ee = end;
        const char *s = p, *e = ee;
        trim(&s, &e);
        const char *te = s;
        while (te < e && *te != ';' && !is_ows(*te))
            te++;
        const char *params = te;
        while (params < e && is_ows(*params))
            params++;
        int q;
        if (te > s && element_q(params, e, &q)) {
            size_t n = (size_t)(te - s);
            if ((token_is(s, n, "gzip") || token_is(s, n, "x-gzip")) && q > gzip_q)
                gzip_q = q;
            else if (token_is(s, n, "*"))
                star_q = q;
        }
        p = ee < end ? ee + 1 : end;
    }
    return gzip_q >= 0 ? gzip_q > 0 : star_q > 0;
}

static bool origin_char_ok(char c)
{
    return c > 0x20 && c < 0x7f;
}

/* Checks "scheme://host[:port]" in [s, s + n) and writes why not into err. */
static int check_origin(const char *s, size_t n, struct ward_buf *err)
{
    if (n == 0 || n > WARD_HTTP_ORIGIN_MAX) {
        ward_buf_printf(err, "CORS origin must be 1 to %d bytes", WARD_HTTP_ORIGIN_MAX);
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        if (!origin_char_ok(s[i])) {
            ward_buf_printf(err, "CORS origin '%.*s' contains a space or a control character",
                            (int)n, s);
            return -EINVAL;
        }
    }
    if (n == 1 && s[0] == '*')
        return 0;
    const char *sep = memmem(s, n, "://", 3);
    if (!sep || sep == s || sep + 3 == s + n || memchr(sep + 3, '/', (size_t)(s + n - sep - 3))) {
        ward_buf_printf(err, "CORS origin '%.*s' is not scheme://host[:port] or *", (int)n, s);
        return -EINVAL;
    }
    return 0;
}

static int add_origin(struct ward_http_origins *o, const char *s, size_t n, struct ward_buf *err)
{
    if (n > 1 && s[n - 1] == '/' && !(n >= 3 && memcmp(s + n - 3, "://", 3) == 0))
        n--;
    int r = check_origin(s, n, err);
    if (r < 0)
        return r;
    if (n == 1 && s[0] == '*') {
        o->any = true;
        return 0;
    }
    if (o->n == WARD_HTTP_MAX_ORIGINS) {
        ward_buf_printf(err, "more than %d CORS origins", WARD_HTTP_MAX_ORIGINS);
        return WARD_E_LIMIT;
    }
    char *copy = strndup(s, n);
    if (!copy)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        if (copy[i] >= 'A' && copy[i] <= 'Z')
            copy[i] = (char)(copy[i] - 'A' + 'a');
    o->list[o->n++] = copy;
    return 0;
}

int ward_http_origins_init(struct ward_http_origins *o, const char *const *origins, size_t n,
                           const char *csv, struct ward_buf *err)
{
    *o = (struct ward_http_origins){0};
    o->list = calloc(WARD_HTTP_MAX_ORIGINS, sizeof(*o->list));
    if (!o->list)
        return -ENOMEM;
    int r = 0;
    for (size_t i = 0; i < n && r == 0; i++) {
        const char *s = origins[i], *e = s + strlen(s);
        trim(&s, &e);
        r = add_origin(o, s, (size_t)(e - s), err);
    }
    for (const char *p = csv; p && *p && r == 0;) {
        const char *e = strchrnul(p, ',');
        const char *s = p, *te = e;
        trim(&s, &te);
        if (te > s) /* empty items ("a,,b", a trailing comma) are skipped */
            r = add_origin(o, s, (size_t)(te - s), err);
        p = *e ? e + 1 : e;
    }
    if (r < 0)
        ward_http_origins_done(o);
    return r;
}

void ward_http_origins_done(struct ward_http_origins *o)
{
    for (size_t i = 0; i < o->n; i++)
        free(o->list[i]);
    free(o->list);
    *o = (struct ward_http_origins){0};
}

bool ward_http_origins_allow(const struct ward_http_origins *o, const char *origin)
{
    if (!origin)
        return false;
    size_t n = strnlen(origin, WARD_HTTP_ORIGIN_MAX + 1);
    if (n == 0 || n > WARD_HTTP_ORIGIN_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!origin_char_ok(origin[i]))
            return false;
    if (o->any)
        return true;
    for (size_t i = 0; i < o->n; i++)
        if (strcasecmp(o->list[i], origin) == 0)
            return true;
    return false;
}

bool ward_http_same_origin(const char *origin, const char *host)
{
    if (!origin || !host)
        return false;
    const char *sep = strstr(origin, "://");
    if (!sep)
        return false;
    const char *authority = sep + 3;
    size_t n = strnlen(authority, WARD_HTTP_ORIGIN_MAX + 1);
    if (n && authority[n - 1] == '/')
        n--;
    return n > 0 && n <= WARD_HTTP_ORIGIN_MAX && strlen(host) == n &&
           strncasecmp(authority, host, n) == 0;
}

bool ward_http_has_token(const char *value, const char *token)
{
    if (!value)
        return false;
    size_t n = strnlen(value, WARD_HTTP_TOKEN_LIST_MAX);
    const char *p = value, *end = value + n;
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *e = comma ? comma : end;
        const char *s = p;
        trim(&s, &e);
        if (token_is(s, (size_t)(e - s), token))
            return true;
        p = comma ? comma + 1 : end;
    }
    return false;
}
