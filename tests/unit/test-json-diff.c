/*
 * Differential and property tests for the JSON reader and writer.
 *
 * What: seeded random documents are written by our writer and by jansson,
 * read by both parsers, and the trees compared (doubles bit for bit); the
 * same documents are then mutated, truncated and nested deeply, and both
 * parsers must agree on accept or reject except for the differences listed
 * in docs/json.md. Number conversion is checked against strtod() on random
 * literals and on exact halfway points; integers and doubles written by our
 * writer must read back exactly, and each double must be written with the
 * fewest digits that round-trip, found by brute force.
 *
 * How: a splitmix64 generator drives all of it, and every test that draws
 * from it sets its own seed first, so a failure reproduces on each run
 * whatever order the tests run in. The generators lean towards awkward
 * input: control characters, surrogate edges and 4-byte UTF-8 in strings,
 * int64 and 2^53 boundaries, subnormal doubles, and edits that splice in
 * escapes, huge numbers and unbalanced brackets. jansson trees are the
 * common form: our token stream is turned into one and compared with an
 * equality that tells 0.0 from -0.0, which json_equal() does not.
 *
 * Why: the hand-written cases in test-json.c cover what their authors
 * thought of. An established parser as an oracle, and glibc's correctly
 * rounded strtod() as the reference for numbers, find the cases nobody
 * wrote down, on many more documents than anyone would write by hand.
 * These tests are registered in main() in test-json.c.
 */
#include "common/buf.h"
#include "common/error.h"
#include "common/json.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "test-json.h"

/* ---- generators ---- */

static uint64_t rng;

static uint64_t rnd(void)
{
    /* splitmix64: small, seedable, good enough for test data */
    uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t below(uint64_t n)
{
    return rnd() % n;
}

static double from_bits(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof(d));
    return d;
}

static double pow10_for_test(int k)
{
    double p = 1;
    while (k-- > 0)
        p *= 10;
    return p;
}

/* ---- reader numbers against strtod() ---- */

/* The reader must agree with strtod() (correctly rounded in glibc) bit for bit. */
static void check_double(const char *lit)
{
    double want = strtod(lit, NULL);
    if (isinf(want)) {
        check_error(lit, WARD_E_JSON_NUMBER, 0);
        return;
    }
    struct ward_json_token t = read_single_number(lit);
    if (t.type != WARD_JSON_DOUBLE && t.type != WARD_JSON_INT)
        fail_msg("'%s' is not a number", lit);
    if (bits_of(t.d) != bits_of(want))
        fail_msg("'%s': got %.17g (%016" PRIx64 "), want %.17g (%016" PRIx64 ")", lit, t.d,
                 bits_of(t.d), want, bits_of(want));
}

void test_doubles(void **state)
{
    (void)state;
    static const char *const lits[] = {
        "0.1",
        "0.3",
        "12.5",
        "-3.25e-7",
        "1e23",
        "8.98846567431158e307",
        "1.7976931348623157e308",
        "1.7976931348623158e308",
        "2.2250738585072011e-308",
        "2.2250738585072014e-308",
        "4.9406564584124654e-324",
        "5e-324",
        "2.4703282292062328e-324",
        "2.4703282292062327e-324",
        "1e-400",
        "123456789012345678901234567890",
        "0.000000000000000000000000000001234567890123456789",
        "9007199254740993.0",
        "9007199254740992.9999999999999999999999",
        "1.00000000000000011102230246251565404236316680908203125",
        "1.00000000000000011102230246251565404236316680908203124",
        "1.00000000000000011102230246251565404236316680908203126",
        "0e999999999999999",
        "1e-999999999999999",
        "0.0000000000000000000000000000000000000000000000000000001e55",
        "3.0e22",
        "3e37",
        "123456789e30",
        "123456789012345e22",
    };
    for (size_t i = 0; i < sizeof(lits) / sizeof(lits[0]); i++)
        check_double(lits[i]);

    /* Random doubles printed at every precision. */
    rng = 42;
    char lit[64];
    for (int i = 0; i < 20000; i++) {
        double d;
        do
            d = from_bits(rnd());
        while (!isfinite(d));
        snprintf(lit, sizeof(lit), "%.*e", (int)below(17), d);
        check_double(lit);
        snprintf(lit, sizeof(lit), "%.17g", d);
        check_double(lit);
        assert_true(bits_of(read_single_number(lit).d) == bits_of(d));
    }
    /* Random decimal literals: digits, a point, an exponent. */
    for (int i = 0; i < 20000; i++) {
        char *p = lit;
        int nd = 1 + (int)below(30), point = (int)below((uint64_t)nd + 1);
        if (below(2))
            *p++ = '-';
        for (int j = 0; j < nd; j++) {
            if (j == point && j > 0)
                *p++ = '.';
            *p++ = (char)((j == 0 && nd > 1 ? '1' : '0') + below(j == 0 && nd > 1 ? 9 : 10));
        }
        snprintf(p, (size_t)(lit + sizeof(lit) - p), "e%d", (int)below(700) - 350);
        check_double(lit);
    }
}

/* Exact halfway points between doubles, with very long expansions. */
void test_doubles_halfway(void **state)
{
    (void)state;
    static char lit[1400], more[2400];
    const double bases[] = {5e-324, 1e-310, 2.2250738585072014e-308, 1.0, 0.1, 1e22, 1e300};
    for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
        double a = bases[i], b = nextafter(a, INFINITY);
        long double h = ((long double)a + (long double)b) / 2; /* exact: needs 54 bits */
        snprintf(lit, sizeof(lit), "%.1100Le", h);
        /* Trim trailing zeros of the mantissa to get the exact expansion. */
        char *e = strchr(lit, 'e');
        char *z = e;
        while (z[-1] == '0')
            z--;
        char exp[16];
        snprintf(exp, sizeof(exp), "%s", e);
        snprintf(z, sizeof(lit) - (size_t)(z - lit), "%s", exp);
        check_double(lit); /* ties to even */
        /* A nonzero digit far beyond the 780 kept digits must still round up. */
        size_t mant = (size_t)(z - lit);
        memcpy(more, lit, mant);
        memset(more + mant, '0', 900);
        more[mant + 900] = '1';
        snprintf(more + mant + 901, sizeof(more) - mant - 901, "%s", exp);
        check_double(more);
        assert_true(bits_of(read_single_number(more).d) == bits_of(b) ||
                    bits_of(read_single_number(lit).d) == bits_of(b));
    }
}

/* ---- writer round trips ---- */

void test_writer_integers(void **state)
{
    (void)state;
    static const struct {
        int64_t v;
        const char *s;
    } cases[] = {
        {0, "0"},
        {9, "9"},
        {10, "10"},
        {-1, "-1"},
        {99, "99"},
        {100, "100"},
        {1234567890123LL, "1234567890123"},
        {INT64_MAX, "9223372036854775807"},
        {INT64_MIN, "-9223372036854775808"},
    };
    struct ward_buf b = WARD_BUF_INIT;
    struct ward_json_writer w;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ward_buf_reset(&b);
        ward_json_writer_init(&w, &b);
        ward_json_write_int(&w, cases[i].v);
        check_output(&w, &b, cases[i].s);
    }
    ward_buf_reset(&b);
    ward_json_writer_init(&w, &b);
    ward_json_write_uint(&w, 0);
    check_output(&w, &b, "0");
    /* Random values read back exactly. */
    rng = 7;
    for (int i = 0; i < 10000; i++) {
        int64_t v = (int64_t)(rnd() >> below(64));
        if (below(2))
            v = -v;
        ward_buf_reset(&b);
        ward_json_writer_init(&w, &b);
        ward_json_write_int(&w, v);
        assert_int_equal(ward_json_writer_finish(&w), 0);
        struct ward_json_token t = read_single_number(b.data);
        assert_int_equal(t.type, WARD_JSON_INT);
        assert_true(t.i == v);
    }
    ward_buf_done(&b);
}

static void write_double(struct ward_buf *b, double d)
{
    struct ward_json_writer w;
    ward_buf_reset(b);
    ward_json_writer_init(&w, b);
    ward_json_write_double(&w, d);
    assert_int_equal(ward_json_writer_finish(&w), 0);
}

/* Significant digits in a JSON number: leading and trailing zeros excluded. */
static int significant_digits(const char *s)
{
    char digits[64];
    int n = 0;
    for (; *s && *s != 'e'; s++)
        if (*s >= '0' && *s <= '9' && (n > 0 || *s != '0'))
            digits[n++] = *s;
    while (n > 0 && digits[n - 1] == '0')
        n--;
    return n;
}

/* The fewest significant digits that read back as d, by brute force. */
static int shortest_digits(double d)
{
    char s[64];
    for (int p = 1; p < 17; p++) {
        snprintf(s, sizeof(s), "%.*e", p - 1, d);
        if (strtod(s, NULL) == d)
            return p;
    }
    return 17;
}

void test_writer_doubles(void **state)
{
    (void)state;
    static const struct {
        double v;
        const char *s;
    } cases[] = {
        {0.0, "0.0"},
        {-0.0, "-0.0"},
        {1.0, "1.0"},
        {12.5, "12.5"},
        {-12.5, "-12.5"},
        {0.1, "0.1"},
        {100.0, "100.0"},
        {1234567.0, "1234567.0"},
        {0.30000000000000004, "0.30000000000000004"},
        {1e-5, "0.00001"},
        {1e-6, "1e-6"},
        {1.5e-7, "1.5e-7"},
        {123456.789, "123456.789"},
        {9007199254740992.0, "9007199254740992.0"},
        {1e16, "10000000000000000.0"},
        {1e17, "1e17"},
        {1e18, "1e18"},
        {1e300, "1e300"},
        {-2.5e-300, "-2.5e-300"},
        {1.7976931348623157e308, "1.7976931348623157e308"},
        {2.2250738585072014e-308, "2.2250738585072014e-308"},
        {1e23, "1e23"},
        {DBL_EPSILON, "2.220446049250313e-16"},
    };
    struct ward_buf b = WARD_BUF_INIT;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        write_double(&b, cases[i].v);
        if (strcmp(b.data, cases[i].s) != 0)
            fail_msg("%.17g: got %s, want %s", cases[i].v, b.data, cases[i].s);
    }
    /* Random bit patterns, subnormals and short decimals: exact, shortest, typed DOUBLE. */
    rng = 1234;
    for (int i = 0; i < 50000; i++) {
        double d;
        switch (i % 4) {
        case 0:
            d = from_bits(rnd());
            break;
        case 1:
            d = from_bits(rnd() & 0x800fffffffffffffULL); /* subnormal */
            break;
        case 2:
            d = (double)(int64_t)below(100000000) / pow10_for_test((int)below(12));
            break;
        default:
            d = (double)(int64_t)(rnd() >> below(64)) * (below(2) ? 1 : -1);
            break;
        }
        if (!isfinite(d))
            continue;
        write_double(&b, d);
        struct ward_json_token t = read_single_number(b.data);
        assert_int_equal(t.type, WARD_JSON_DOUBLE);
        if (bits_of(t.d) != bits_of(d) || bits_of(strtod(b.data, NULL)) != bits_of(d))
            fail_msg("%.17g written as %s does not read back", d, b.data);
        if (fpclassify(d) == FP_NORMAL && significant_digits(b.data) != shortest_digits(d))
            fail_msg("%.17g written as %s, not the shortest (%d digits)", d, b.data,
                     shortest_digits(d));
        if (fpclassify(d) == FP_SUBNORMAL)
            assert_true(significant_digits(b.data) <= 17);
    }
    ward_buf_done(&b);

    /* Not JSON: a sticky error, nothing written. */
    struct ward_json_writer w;
    const double bad[] = {NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < 3; i++) {
        struct ward_buf nb = WARD_BUF_INIT;
        ward_json_writer_init(&w, &nb);
        ward_json_write_array_begin(&w);
        assert_int_equal(ward_json_write_double(&w, bad[i]), WARD_E_JSON_NUMBER);
        assert_int_equal(ward_json_write_int(&w, 1), WARD_E_JSON_NUMBER);
        assert_int_equal(ward_json_write_array_end(&w), WARD_E_JSON_NUMBER);
        assert_int_equal(ward_json_writer_finish(&w), WARD_E_JSON_NUMBER);
        assert_string_equal(nb.data, "[");
        ward_buf_done(&nb);
    }
}

/* ---- differential tests against jansson ---- */

#define JANSSON_FLAGS (JSON_DECODE_ANY | JSON_ALLOW_NUL)

/* Appends one random code point as UTF-8, biased towards the awkward ones. */
static void random_char(struct ward_buf *b, bool allow_nul)
{
    static const uint32_t edges[] = {0x7f,   0x80,   0x7ff,  0x800,   0xd7ff,   0xe000,
                                     0xfeff, 0xfffd, 0xffff, 0x10000, 0x10ffff, 0x1f600};
    uint32_t cp;
    switch (below(12)) {
    case 0:
        cp = (uint32_t)below(0x20);
        break;
    case 1:
        cp = "\"\\/"[below(3)];
        break;
    case 2:
        cp = 0x80 + (uint32_t)below(0x780);
        break;
    case 3:
        do
            cp = 0x800 + (uint32_t)below(0xf800);
        while (cp >= 0xd800 && cp <= 0xdfff);
        break;
    case 4:
        cp = 0x10000 + (uint32_t)below(0x100000);
        break;
    case 5:
        cp = edges[below(sizeof(edges) / sizeof(edges[0]))];
        break;
    default:
        cp = 0x20 + (uint32_t)below(0x5f);
        break;
    }
    if (cp == 0 && !allow_nul)
        cp = '0';
    unsigned char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (unsigned char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (unsigned char)(0xc0 | cp >> 6);
        u[1] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (unsigned char)(0xe0 | cp >> 12);
        u[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
        u[2] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        u[0] = (unsigned char)(0xf0 | cp >> 18);
        u[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
        u[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
        u[3] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    ward_buf_append(b, u, n);
}

static void random_text(struct ward_buf *b, bool allow_nul)
{
    ward_buf_reset(b);
    size_t n = below(4) == 0 ? below(40) : below(8);
    for (size_t i = 0; i < n; i++)
        random_char(b, allow_nul);
}

static int64_t random_int(void)
{
    static const int64_t edges[] = {
        0,
        1,
        -1,
        INT64_MAX,
        INT64_MIN,
        INT64_MAX - 1,
        INT64_MIN + 1,
        9007199254740992LL,
        9007199254740993LL,
        -9007199254740993LL,
        1763632800123LL,
        4294967296LL,
    };
    switch (below(3)) {
    case 0:
        return edges[below(sizeof(edges) / sizeof(edges[0]))];
    case 1:
        return (int64_t)rnd();
    default:
        return (int64_t)(rnd() >> (1 + below(63))) * (below(2) ? 1 : -1);
    }
}

static double random_double(void)
{
    static const double edges[] = {
        0.0,
        -0.0,
        1e308,
        -1e308,
        5e-324,
        -5e-324,
        DBL_MAX,
        DBL_MIN,
        0.1,
        1e23,
        9007199254740992.0,
        9007199254740993.0,
        2.2250738585072009e-308,
        123.456,
        1e-7,
    };
    double d;
    switch (below(5)) {
    case 0:
        return edges[below(sizeof(edges) / sizeof(edges[0]))];
    case 1:
        do
            d = from_bits(rnd());
        while (!isfinite(d));
        return d;
    case 2:
        return from_bits(rnd() & 0x800fffffffffffffULL); /* subnormal or zero */
    case 3:
        return (double)(int64_t)below(10000000) / pow10_for_test((int)below(8));
    default:
        return (double)(int64_t)(rnd() >> below(64));
    }
}

static json_t *random_tree(int depth)
{
    uint64_t kind = depth >= 5 ? 4 + below(6) : below(10);
    struct ward_buf s = WARD_BUF_INIT;
    json_t *v;
    switch (kind) {
    case 0:
    case 1:
        v = json_object();
        for (size_t n = below(6); n > 0; n--) {
            random_text(&s, false);
            if (!s.data)
                ward_buf_reserve(&s, 1);
            if (json_object_getn(v, s.data, s.len))
                continue; /* keys are unique */
            json_object_setn_new_nocheck(v, s.data, s.len, random_tree(depth + 1));
        }
        break;
    case 2:
    case 3:
        v = json_array();
        for (size_t n = below(6); n > 0; n--)
            json_array_append_new(v, random_tree(depth + 1));
        break;
    case 4:
    case 5:
        random_text(&s, true);
        v = json_stringn_nocheck(s.data ? s.data : "", s.len);
        break;
    case 6:
        v = json_integer(random_int());
        break;
    case 7:
        v = json_real(random_double());
        break;
    case 8:
        v = below(2) ? json_true() : json_false();
        break;
    default:
        v = json_null();
        break;
    }
    ward_buf_done(&s);
    assert_non_null(v);
    return v;
}

static void write_tree(struct ward_json_writer *w, const json_t *v)
{
    const char *key;
    size_t klen, i;
    json_t *child;
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        ward_json_write_object_begin(w);
        json_object_keylen_foreach((json_t *)v, key, klen, child)
        {
            ward_json_write_key(w, key, klen);
            write_tree(w, child);
        }
        ward_json_write_object_end(w);
        break;
    case JSON_ARRAY:
        ward_json_write_array_begin(w);
        json_array_foreach(v, i, child) write_tree(w, child);
        ward_json_write_array_end(w);
        break;
    case JSON_STRING:
        ward_json_write_string(w, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        ward_json_write_int(w, json_integer_value(v));
        break;
    case JSON_REAL:
        ward_json_write_double(w, json_real_value(v));
        break;
    case JSON_TRUE:
        ward_json_write_bool(w, true);
        break;
    case JSON_FALSE:
        ward_json_write_bool(w, false);
        break;
    case JSON_NULL:
        ward_json_write_null(w);
        break;
    }
}

/* Trees equal with reals compared bit for bit (json_equal() says 0.0 == -0.0). */
static bool same_tree(const json_t *a, const json_t *b)
{
    if (json_typeof(a) != json_typeof(b))
        return false;
    const char *key;
    size_t klen, i;
    json_t *child;
    switch (json_typeof(a)) {
    case JSON_OBJECT:
        if (json_object_size(a) != json_object_size(b))
            return false;
        json_object_keylen_foreach((json_t *)a, key, klen, child)
        {
            json_t *other = json_object_getn(b, key, klen);
            if (!other || !same_tree(child, other))
                return false;
        }
        return true;
    case JSON_ARRAY:
        if (json_array_size(a) != json_array_size(b))
            return false;
        json_array_foreach(a, i, child) if (!same_tree(child, json_array_get(b, i))) return false;
        return true;
    case JSON_STRING:
        return json_string_length(a) == json_string_length(b) &&
               memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) == 0;
    case JSON_INTEGER:
        return json_integer_value(a) == json_integer_value(b);
    case JSON_REAL:
        return bits_of(json_real_value(a)) == bits_of(json_real_value(b));
    default:
        return true;
    }
}

/*
 * Builds a jansson tree from our token stream, the first token already read
 * into *t. Duplicate keys keep the last value, as jansson does.
 */
static json_t *tree_from_tokens(struct ward_json_reader *r, struct ward_json_token *t, int *err)
{
    json_t *v = NULL;
    switch (t->type) {
    case WARD_JSON_OBJECT_BEGIN:
        v = json_object();
        for (;;) {
            if ((*err = ward_json_next(r, t)) < 0)
                break;
            if (t->type == WARD_JSON_OBJECT_END)
                return v;
            char *key = malloc(t->len + 1);
            assert_non_null(key);
            memcpy(key, t->str, t->len);
            size_t klen = t->len;
            json_t *child = NULL;
            if ((*err = ward_json_next(r, t)) == 0)
                child = tree_from_tokens(r, t, err);
            if (child)
                json_object_setn_new_nocheck(v, key, klen, child);
            free(key);
            if (!child)
                break;
        }
        json_decref(v);
        return NULL;
    case WARD_JSON_ARRAY_BEGIN:
        v = json_array();
        for (;;) {
            if ((*err = ward_json_next(r, t)) < 0)
                break;
            if (t->type == WARD_JSON_ARRAY_END)
                return v;
            json_t *child = tree_from_tokens(r, t, err);
            if (!child)
                break;
            json_array_append_new(v, child);
        }
        json_decref(v);
        return NULL;
    case WARD_JSON_STRING:
        return json_stringn_nocheck(t->str, t->len);
    case WARD_JSON_INT:
        return json_integer(t->i);
    case WARD_JSON_DOUBLE:
        return json_real(t->d);
    case WARD_JSON_TRUE:
        return json_true();
    case WARD_JSON_FALSE:
        return json_false();
    case WARD_JSON_NULL:
        return json_null();
    default:
        fail_msg("unexpected token %d", t->type);
        return NULL;
    }
}

static const struct ward_json_limits diff_limits = {.max_depth = WARD_JSON_MAX_DEPTH};

/* Parses with our reader into a jansson tree; NULL with *err set on failure. */
static json_t *our_parse(const char *doc, size_t len, int *err)
{
    struct ward_json_reader r;
    struct ward_json_token t;
    json_t *v = NULL;
    ward_json_reader_init(&r, doc, len, &diff_limits);
    *err = ward_json_next(&r, &t);
    if (*err == 0)
        v = tree_from_tokens(&r, &t, err);
    if (v && (*err = ward_json_next(&r, &t)) == 0 && t.type != WARD_JSON_END)
        *err = -1;
    if (*err < 0) {
        json_decref(v);
        v = NULL;
    }
    ward_json_reader_done(&r);
    return v;
}

static bool jansson_only_rejects(const json_error_t *jerr)
{
    /* Integers beyond long long: we read them as doubles. */
    if (strstr(jerr->text, "too big"))
        return true;
    /* jansson refuses \u0000 in object keys even with JSON_ALLOW_NUL. */
    if (strstr(jerr->text, "NUL byte in object key"))
        return true;
    return false;
}

/* Both parsers must agree on doc: accept with the same tree, or both reject. */
static void differential(const char *doc, size_t len)
{
    json_error_t jerr;
    int err = 0;
    json_t *ours = our_parse(doc, len, &err);
    json_t *theirs = json_loadb(doc, len, JANSSON_FLAGS, &jerr);
    if (ours && theirs) {
        if (!same_tree(ours, theirs))
            fail_msg("trees differ for '%.*s'", (int)len, doc);
    } else if (ours && !jansson_only_rejects(&jerr)) {
        fail_msg("we accept, jansson rejects (%s) '%.*s'", jerr.text, (int)len, doc);
    } else if (theirs) {
        fail_msg("we reject (%s), jansson accepts '%.*s'", ward_strerror(err), (int)len, doc);
    }
    json_decref(ours);
    json_decref(theirs);
}

/* Applies one random edit to b. */
static void mutate(struct ward_buf *b)
{
    static const char interesting[] = "{}[],:\"\\0123456789-+.eEtrufalsn \t\n\x7f\x80\xbf\xc0\xc2"
                                      "\xe0\xed\xf0\xf4\xf5\xff";
    static const char *const snippets[] = {"\\ud800", "\\udc00", "\\u00", "\\ud83d\\ude00",
                                           "\\u0000", "1e400",   "-0",    "99999999999999999999",
                                           "[[[[",    "]]",      "\"",    "\\"};
    size_t n = b->len;
    size_t at = n ? below(n) : 0;
    switch (below(7)) {
    case 0:
        if (n)
            b->data[at] ^= (char)(1 << below(8));
        break;
    case 1:
        if (n)
            b->data[at] = interesting[below(sizeof(interesting) - 1)];
        break;
    case 2: { /* insert a byte */
        char c = interesting[below(sizeof(interesting) - 1)];
        ward_buf_putc(b, 0);
        memmove(b->data + at + 1, b->data + at, n - at);
        b->data[at] = c;
        break;
    }
    case 3: /* delete a byte */
        if (n) {
            memmove(b->data + at, b->data + at + 1, n - at - 1);
            b->len--;
        }
        break;
    case 4: /* truncate */
        b->len = at;
        break;
    case 5: { /* insert a snippet */
        const char *s = snippets[below(sizeof(snippets) / sizeof(snippets[0]))];
        size_t k = strlen(s);
        ward_buf_reserve(b, k);
        memmove(b->data + at + k, b->data + at, n - at);
        memcpy(b->data + at, s, k);
        b->len += k;
        break;
    }
    default: { /* duplicate a slice */
        size_t k = n - at < 16 ? n - at : below(16);
        ward_buf_reserve(b, k);
        memmove(b->data + at + k, b->data + at, n - at);
        b->len += k;
        break;
    }
    }
    if (b->data)
        b->data[b->len] = '\0';
}

void test_differential_random(void **state)
{
    (void)state;
    static const size_t dump_flags[] = {
        JSON_ENCODE_ANY | JSON_COMPACT,
        JSON_ENCODE_ANY | JSON_INDENT(2),
        JSON_ENCODE_ANY | JSON_COMPACT | JSON_ENSURE_ASCII | JSON_ESCAPE_SLASH,
    };
    struct ward_buf b = WARD_BUF_INIT, m = WARD_BUF_INIT;
    rng = 20251120;
    size_t mutated = 0;
    for (int i = 0; i < 3000; i++) {
        json_t *tree = random_tree(0);

        /* Our writer: jansson and our reader both get the tree back. */
        struct ward_json_writer w;
        ward_buf_reset(&b);
        ward_json_writer_init(&w, &b);
        write_tree(&w, tree);
        assert_int_equal(ward_json_writer_finish(&w), 0);
        json_error_t jerr;
        json_t *back = json_loadb(b.data, b.len, JANSSON_FLAGS, &jerr);
        if (!back || !same_tree(back, tree))
            fail_msg("jansson reads our output differently (%s): %s", back ? "" : jerr.text,
                     b.data);
        json_decref(back);
        int err;
        json_t *ours = our_parse(b.data, b.len, &err);
        if (!ours || !same_tree(ours, tree))
            fail_msg("we read our output differently (%s): %s", ward_strerror(err), b.data);
        json_decref(ours);

        /* jansson's writer, in several styles: both readers get the tree back. */
        for (size_t f = 0; f < sizeof(dump_flags) / sizeof(dump_flags[0]); f++) {
            char *text = json_dumps(tree, dump_flags[f]);
            assert_non_null(text);
            ours = our_parse(text, strlen(text), &err);
            if (!ours || !same_tree(ours, tree))
                fail_msg("we read jansson's output differently (%s): %s", ward_strerror(err), text);
            json_decref(ours);
            differential(text, strlen(text));

            /* Hostile variants of the same document. */
            for (int j = 0; j < 8; j++) {
                ward_buf_reset(&m);
                ward_buf_puts(&m, text);
                for (uint64_t k = 1 + below(3); k > 0; k--)
                    mutate(&m);
                differential(m.data ? m.data : "", m.len);
                mutated++;
            }
            free(text);
        }
        json_decref(tree);
    }
    assert_true(mutated > 50000);
    ward_buf_done(&b);
    ward_buf_done(&m);
}

void test_differential_edges(void **state)
{
    (void)state;
    static const char *const docs[] = {
        "",
        " ",
        "1",
        "-0",
        "-0.0",
        "01",
        "1.",
        ".1",
        "+1",
        "1e400",
        "1e-400",
        "[1,]",
        "{\"a\":1,}",
        "[1 2]",
        "{\"a\" 1}",
        "NaN",
        "Infinity",
        "/**/1",
        "\"\\ud800\"",
        "\"\\udc00\\ud800\"",
        "\"\\ud800\\udc00\"",
        "\"\\u0000\"",
        "\"\xc0\xaf\"",
        "\"\xed\xa0\x80\"",
        "\"\xf4\x90\x80\x80\"",
        "\"\xe2\x82\"",
        "\"\x7f\"",
        "\"\t\"",
        "\xef\xbb\xbf{}",
        "{} {}",
        "[\"a\",{\"b\":[true,false,null]}]",
        "{\"a\":1,\"a\":2}",
        "9223372036854775807",
        "-9223372036854775808",
        "1.7976931348623157e308",
        "4.9e-324",
    };
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
        differential(docs[i], strlen(docs[i]));

    /* Documented differences. */
    json_error_t jerr;
    int err;
    const char *big = "[9223372036854775808]";
    json_t *ours = our_parse(big, strlen(big), &err);
    assert_non_null(ours);
    assert_true(json_is_real(json_array_get(ours, 0)));
    assert_null(json_loadb(big, strlen(big), JANSSON_FLAGS, &jerr));
    json_decref(ours);
    const char *nulkey = "{\"a\\u0000\":1}";
    ours = our_parse(nulkey, strlen(nulkey), &err);
    assert_non_null(ours);
    assert_null(json_loadb(nulkey, strlen(nulkey), JANSSON_FLAGS, &jerr));
    json_decref(ours);
}

void test_differential_deep(void **state)
{
    (void)state;
    json_error_t jerr;
    int err;
    /* Up to our maximum depth both accept. */
    char *doc = nested(WARD_JSON_MAX_DEPTH, "[", "]");
    differential(doc, strlen(doc));
    free(doc);
    doc = nested(WARD_JSON_MAX_DEPTH / 2, "{\"k\":[", "]}");
    differential(doc, strlen(doc));
    free(doc);
    /* Between our maximum and jansson's (2048) only jansson accepts. */
    doc = nested(WARD_JSON_MAX_DEPTH + 1, "[", "]");
    assert_null(our_parse(doc, strlen(doc), &err));
    assert_int_equal(err, WARD_E_JSON_DEPTH);
    json_t *theirs = json_loadb(doc, strlen(doc), JANSSON_FLAGS, &jerr);
    assert_non_null(theirs);
    json_decref(theirs);
    free(doc);
    /* Beyond both: both reject, without crashing. */
    doc = nested(100000, "[", "]");
    differential(doc, strlen(doc));
    free(doc);
    doc = nested(100000, "[", "");
    differential(doc, strlen(doc));
    free(doc);
}

void test_differential_numbers(void **state)
{
    (void)state;
    static char doc[2100];
    /* Huge numbers: many digits, big exponents. Both agree on value or rejection. */
    rng = 99;
    for (int i = 0; i < 2000; i++) {
        char *p = doc;
        size_t nd = 1 + below(below(2) ? 30 : 1500);
        if (below(2))
            *p++ = '-';
        *p++ = (char)('1' + below(9));
        for (size_t j = 1; j < nd; j++)
            *p++ = (char)('0' + below(10));
        if (below(2)) {
            *p++ = '.';
            for (size_t j = below(400) + 1; j > 0; j--)
                *p++ = (char)('0' + below(10));
        }
        if (below(2))
            snprintf(p, sizeof(doc) - (size_t)(p - doc), "e%d", (int)below(1400) - 700);
        else
            *p = '\0';
        int err;
        json_t *ours = our_parse(doc, strlen(doc), &err);
        json_error_t jerr;
        json_t *theirs = json_loadb(doc, strlen(doc), JANSSON_FLAGS, &jerr);
        if (ours && theirs) {
            assert_true(same_tree(ours, theirs));
        } else if (ours) {
            /* jansson refuses integers beyond long long; we give the nearest double. */
            assert_non_null(strstr(jerr.text, "too big"));
            assert_true(json_is_real(ours));
            assert_true(bits_of(json_real_value(ours)) == bits_of(strtod(doc, NULL)));
        } else if (theirs) {
            fail_msg("we reject (%s), jansson accepts %s", ward_strerror(err), doc);
        }
        json_decref(ours);
        json_decref(theirs);
    }
}
