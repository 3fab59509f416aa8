/*
 * Tests for the JSON reader and writer.
 *
 * The first part pins down each rule with small hand-written documents:
 * grammar, escapes, UTF-8, numbers, limits, sticky errors, skip and expect,
 * and the writer's output byte for byte. The second part is differential:
 * seeded random documents are written by our writer and by jansson, read
 * by both parsers, and the trees compared (doubles bit for bit); the same
 * documents are then mutated, truncated and nested deeply, and both parsers
 * must agree on accept or reject except for the differences listed in
 * docs/json.md. Number conversion is also checked against strtod() on
 * random literals, and the writer's doubles against a brute-force search
 * for the shortest round-tripping decimal.
 */
#include "common/buf.h"
#include "common/error.h"
#include "common/json.h"

#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

/* ---- helpers ---- */

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

static uint64_t bits_of(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof(u));
    return u;
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

/* Reads the whole document; returns 0 or the error, and its offset. */
static int parse_n(const char *doc, size_t len, const struct ward_json_limits *lim, size_t *offset)
{
    struct ward_json_reader r;
    struct ward_json_token t;
    int e;
    ward_json_reader_init(&r, doc, len, lim);
    do
        e = ward_json_next(&r, &t);
    while (e == 0 && t.type != WARD_JSON_END);
    if (offset)
        *offset = ward_json_error_offset(&r);
    ward_json_reader_done(&r);
    return e;
}

static int parse(const char *doc, size_t *offset)
{
    return parse_n(doc, strlen(doc), NULL, offset);
}

static void check_error_n(const char *doc, size_t len, int code, size_t offset)
{
    size_t off = 0;
    int e = parse_n(doc, len, NULL, &off);
    if (e != code || off != offset)
        fail_msg("document '%.*s': got %d (%s) at %zu, want %d (%s) at %zu", (int)len, doc, e,
                 ward_strerror(e), off, code, ward_strerror(code), offset);
}

static void check_error(const char *doc, int code, size_t offset)
{
    check_error_n(doc, strlen(doc), code, offset);
}

static void check_ok(const char *doc)
{
    size_t off = 0;
    int e = parse(doc, &off);
    if (e != 0)
        fail_msg("document '%s': got %d (%s) at %zu, want success", doc, e, ward_strerror(e), off);
}

/* Reads a document that is a single string and returns it in out (len bytes). */
static void read_single_string(const char *doc, size_t doclen, char *out, size_t *len)
{
    struct ward_json_reader r;
    struct ward_json_token t;
    ward_json_reader_init(&r, doc, doclen, NULL);
    assert_int_equal(ward_json_next(&r, &t), 0);
    assert_int_equal(t.type, WARD_JSON_STRING);
    memcpy(out, t.str, t.len);
    *len = t.len;
    assert_int_equal(ward_json_next(&r, &t), 0);
    assert_int_equal(t.type, WARD_JSON_END);
    ward_json_reader_done(&r);
}

/* Reads a document that is a single number. */
static struct ward_json_token read_single_number(const char *doc)
{
    struct ward_json_reader r;
    struct ward_json_token t, end;
    ward_json_reader_init(&r, doc, strlen(doc), NULL);
    int e = ward_json_next(&r, &t);
    if (e != 0)
        fail_msg("number '%s': %s: %s", doc, ward_strerror(e), ward_json_error_message(&r));
    assert_int_equal(ward_json_next(&r, &end), 0);
    assert_int_equal(end.type, WARD_JSON_END);
    ward_json_reader_done(&r);
    return t;
}

/* ---- reader: structure ---- */

static void test_token_stream(void **state)
{
    (void)state;
    const char *doc = "{\"a\":[1,-2.5,true,false,null,\"s\"],\"b\":{}}";
    static const struct {
        enum ward_json_token_type type;
        size_t offset;
    } want[] = {
        {WARD_JSON_OBJECT_BEGIN, 0}, {WARD_JSON_KEY, 1},         {WARD_JSON_ARRAY_BEGIN, 5},
        {WARD_JSON_INT, 6},          {WARD_JSON_DOUBLE, 8},      {WARD_JSON_TRUE, 13},
        {WARD_JSON_FALSE, 18},       {WARD_JSON_NULL, 24},       {WARD_JSON_STRING, 29},
        {WARD_JSON_ARRAY_END, 32},   {WARD_JSON_KEY, 34},        {WARD_JSON_OBJECT_BEGIN, 38},
        {WARD_JSON_OBJECT_END, 39},  {WARD_JSON_OBJECT_END, 40}, {WARD_JSON_END, 41},
    };
    struct ward_json_reader r;
    struct ward_json_token t;
    ward_json_reader_init(&r, doc, strlen(doc), NULL);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        assert_int_equal(ward_json_next(&r, &t), 0);
        assert_int_equal(t.type, want[i].type);
        assert_int_equal(t.offset, want[i].offset);
        if (i == 1 || i == 10)
            assert_true(ward_json_key_is(&t, i == 1 ? "a" : "b"));
        if (i == 3)
            assert_int_equal(t.i, 1);
        if (i == 4) {
            assert_true(t.d == -2.5);
            assert_int_equal(t.len, 4);
            assert_memory_equal(t.str, "-2.5", 4);
        }
        if (i == 8) {
            assert_int_equal(t.len, 1);
            assert_memory_equal(t.str, "s", 1);
        }
    }
    /* END repeats. */
    assert_int_equal(ward_json_next(&r, &t), 0);
    assert_int_equal(t.type, WARD_JSON_END);
    ward_json_reader_done(&r);
}

static void test_top_level(void **state)
{
    (void)state;
    check_ok("true");
    check_ok("false");
    check_ok("null");
    check_ok("0");
    check_ok("\"x\"");
    check_ok(" \t\r\n[ ]\n\t\r ");
    check_ok("{ \"a\" : 1 , \"b\" : [ 2 , 3 ] }");
    check_error("", WARD_E_JSON_SYNTAX, 0);
    check_error("   ", WARD_E_JSON_SYNTAX, 3);
    check_error("1 2", WARD_E_JSON_SYNTAX, 2);
    check_error("[] []", WARD_E_JSON_SYNTAX, 3);
    check_error("{}x", WARD_E_JSON_SYNTAX, 2);
    check_error_n("1\0", 2, WARD_E_JSON_SYNTAX, 1);
    /* Only the four RFC whitespace bytes count: not \v, \f, NBSP or a BOM. */
    check_error("\v1", WARD_E_JSON_SYNTAX, 0);
    check_error("\f1", WARD_E_JSON_SYNTAX, 0);
    check_error("\xc2\xa0[]", WARD_E_JSON_SYNTAX, 0);
    check_error("\xef\xbb\xbf[]", WARD_E_JSON_SYNTAX, 0);
}

static void test_syntax_errors(void **state)
{
    (void)state;
    check_error("[1,]", WARD_E_JSON_SYNTAX, 3);
    check_error("{\"a\":1,}", WARD_E_JSON_SYNTAX, 7);
    check_error("[,1]", WARD_E_JSON_SYNTAX, 1);
    check_error("[1 2]", WARD_E_JSON_SYNTAX, 3);
    check_error("[1,,2]", WARD_E_JSON_SYNTAX, 3);
    check_error("{\"a\" 1}", WARD_E_JSON_SYNTAX, 5);
    check_error("{\"a\":1 \"b\":2}", WARD_E_JSON_SYNTAX, 7);
    check_error("{1:2}", WARD_E_JSON_SYNTAX, 1);
    check_error("{'a':1}", WARD_E_JSON_SYNTAX, 1);
    check_error("{a:1}", WARD_E_JSON_SYNTAX, 1);
    check_error("// c\n1", WARD_E_JSON_SYNTAX, 0);
    check_error("/* c */ 1", WARD_E_JSON_SYNTAX, 0);
    check_error("[1 /* c */]", WARD_E_JSON_SYNTAX, 3);
    check_error("[", WARD_E_JSON_SYNTAX, 1);
    check_error("[1", WARD_E_JSON_SYNTAX, 2);
    check_error("]", WARD_E_JSON_SYNTAX, 0);
    check_error("{", WARD_E_JSON_SYNTAX, 1);
    check_error("{\"a\"", WARD_E_JSON_SYNTAX, 4);
    check_error("{\"a\":", WARD_E_JSON_SYNTAX, 5);
    check_error("[1}", WARD_E_JSON_SYNTAX, 2);
    check_error("{]", WARD_E_JSON_SYNTAX, 1);
    check_error("{\"a\":1]", WARD_E_JSON_SYNTAX, 6);
    check_error("tru", WARD_E_JSON_SYNTAX, 0);
    check_error("truex", WARD_E_JSON_SYNTAX, 4);
    check_error("nul", WARD_E_JSON_SYNTAX, 0);
    check_error("True", WARD_E_JSON_SYNTAX, 0);
    check_error("undefined", WARD_E_JSON_SYNTAX, 0);
    check_error("\"abc", WARD_E_JSON_SYNTAX, 4);
    check_error("\"abc\\", WARD_E_JSON_SYNTAX, 5);
}

static void test_number_syntax(void **state)
{
    (void)state;
    check_error("01", WARD_E_JSON_NUMBER, 0);
    check_error("-01", WARD_E_JSON_NUMBER, 0);
    check_error("[00]", WARD_E_JSON_NUMBER, 1);
    check_error("+1", WARD_E_JSON_SYNTAX, 0);
    check_error(".5", WARD_E_JSON_SYNTAX, 0);
    check_error("1.", WARD_E_JSON_NUMBER, 2);
    check_error("1.e5", WARD_E_JSON_NUMBER, 2);
    check_error("1e", WARD_E_JSON_NUMBER, 2);
    check_error("1e+", WARD_E_JSON_NUMBER, 3);
    check_error("1E-x", WARD_E_JSON_NUMBER, 3);
    check_error("-", WARD_E_JSON_NUMBER, 1);
    check_error("--1", WARD_E_JSON_NUMBER, 1);
    check_error("-a", WARD_E_JSON_NUMBER, 1);
    check_error("0x10", WARD_E_JSON_SYNTAX, 1);
    check_error("1.5.5", WARD_E_JSON_SYNTAX, 3);
    check_error("NaN", WARD_E_JSON_SYNTAX, 0);
    check_error("nan", WARD_E_JSON_SYNTAX, 0);
    check_error("Infinity", WARD_E_JSON_SYNTAX, 0);
    check_error("-Infinity", WARD_E_JSON_NUMBER, 1);
    check_error("[1e400]", WARD_E_JSON_NUMBER, 1);
    check_error("-1e400", WARD_E_JSON_NUMBER, 0);
    check_ok("-0");
    check_ok("-0.0e-0");
    check_ok("1E+2");
    check_ok("1e-400");
}

static void test_integers(void **state)
{
    (void)state;
    static const struct {
        const char *lit;
        int64_t v;
    } ints[] = {
        {"0", 0},
        {"-0", 0},
        {"7", 7},
        {"-7", -7},
        {"9007199254740993", 9007199254740993LL},
        {"9223372036854775807", INT64_MAX},
        {"-9223372036854775808", INT64_MIN},
        {"1000000000000000000", 1000000000000000000LL},
        {"12345678", 12345678},
        {"-98765432", -98765432},
        {"1234567890123456", 1234567890123456LL},
        {"1763632800123", 1763632800123LL},
    };
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        struct ward_json_token t = read_single_number(ints[i].lit);
        assert_int_equal(t.type, WARD_JSON_INT);
        assert_true(t.i == ints[i].v);
        assert_true(t.d == (double)ints[i].v);
        assert_int_equal(t.len, strlen(ints[i].lit));
    }
    /* Beyond int64, or written with a fraction or exponent: doubles. */
    static const struct {
        const char *lit;
        double v;
    } dbl[] = {
        {"9223372036854775808", 9223372036854775808.0},
        {"-9223372036854775809", -9223372036854775808.0},
        {"18446744073709551616", 18446744073709551616.0},
        {"100000000000000000000000", 1e23},
        {"1.0", 1.0},
        {"1e2", 100.0},
        {"-0.0", -0.0},
    };
    for (size_t i = 0; i < sizeof(dbl) / sizeof(dbl[0]); i++) {
        struct ward_json_token t = read_single_number(dbl[i].lit);
        assert_int_equal(t.type, WARD_JSON_DOUBLE);
        assert_true(bits_of(t.d) == bits_of(dbl[i].v));
    }
}

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

static void test_doubles(void **state)
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
static void test_doubles_halfway(void **state)
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

/* ---- reader: strings ---- */

static void test_escapes(void **state)
{
    (void)state;
    const char *doc = "\"q\\\"b\\\\s\\/b\\bf\\fn\\nr\\rt\\tA\\u0041e\\u00e9E\\u20acG\\ud83d\\ude00"
                      "Z\\u0000.\"";
    const char want[] = "q\"b\\s/b\bf\fn\nr\rt\tAAe\xc3\xa9"
                        "E\xe2\x82\xac"
                        "G\xf0\x9f\x98\x80Z\0.";
    char out[128];
    size_t len;
    read_single_string(doc, strlen(doc), out, &len);
    assert_int_equal(len, sizeof(want) - 1);
    assert_memory_equal(out, want, len);
    /* Upper-case hex digits too. */
    read_single_string("\"\\u00C9\\uD83D\\uDE00\"", 20, out, &len);
    assert_int_equal(len, 6);
    assert_memory_equal(out, "\xc3\x89\xf0\x9f\x98\x80", 6);

    check_error("\"\\x\"", WARD_E_JSON_SYNTAX, 1);
    check_error("\"\\U0041\"", WARD_E_JSON_SYNTAX, 1);
    check_error("\"\\'\"", WARD_E_JSON_SYNTAX, 1);
    check_error("\"\\u12\"", WARD_E_JSON_UTF8, 1);
    check_error("\"\\u12g4\"", WARD_E_JSON_UTF8, 1);
    check_error("\"\\u", WARD_E_JSON_UTF8, 1);
}

static void test_strings_in_place(void **state)
{
    (void)state;
    const char *doc = "[\"plain\",\"esc\\n\",\"x\\ty\",\"\xc3\xa9t\xc3\xa9\"]";
    struct ward_json_reader r;
    struct ward_json_token t;
    ward_json_reader_init(&r, doc, strlen(doc), NULL);
    assert_int_equal(ward_json_next(&r, &t), 0);
    assert_int_equal(ward_json_next(&r, &t), 0);
    assert_ptr_equal(t.str, doc + 2); /* no escape: points into the input */
    assert_null(r.scratch.data);      /* and nothing was allocated */
    assert_int_equal(ward_json_next(&r, &t), 0);
    const char *scratch = t.str;
    assert_true(scratch < doc || scratch >= doc + strlen(doc));
    assert_memory_equal(t.str, "esc\n", 4);
    assert_int_equal(ward_json_next(&r, &t), 0);
    assert_ptr_equal(t.str, scratch); /* the scratch buffer is reused */
    assert_memory_equal(t.str, "x\ty", 3);
    assert_int_equal(ward_json_next(&r, &t), 0);
    assert_ptr_equal(t.str, doc + strlen(doc) - 7);
    ward_json_reader_done(&r);
}

static void test_control_chars(void **state)
{
    (void)state;
    char doc[8];
    for (int c = 0; c < 0x20; c++) {
        snprintf(doc, sizeof(doc), "[\"a%c\"]", c ? c : ' ');
        if (c == 0)
            doc[3] = '\0';
        check_error_n(doc, 6, WARD_E_JSON_SYNTAX, 3);
    }
    /* DEL is not a control character for JSON. */
    check_ok("\"\x7f\"");
    /* After an escape, the decoding path checks too. */
    check_error("\"\\n\t\"", WARD_E_JSON_SYNTAX, 3);
}

static void test_utf8(void **state)
{
    (void)state;
    static const char *const good[] = {
        "\"\xc2\x80\"",         "\"\xdf\xbf\"",         "\"\xe0\xa0\x80\"",
        "\"\xed\x9f\xbf\"",     "\"\xee\x80\x80\"",     "\"\xef\xbf\xbf\"",
        "\"\xf0\x90\x80\x80\"", "\"\xf4\x8f\xbf\xbf\"", "\"\\n\xf0\x9f\x98\x80\"",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        check_ok(good[i]);
    static const struct {
        const char *doc;
        size_t offset;
    } bad[] = {
        {"\"\x80\"", 1},             /* lone continuation */
        {"\"\xbf\"", 1},             /* lone continuation */
        {"\"\xc0\xaf\"", 1},         /* overlong '/' */
        {"\"\xc1\xbf\"", 1},         /* overlong */
        {"\"\xe0\x80\xaf\"", 1},     /* overlong */
        {"\"\xe0\x9f\xbf\"", 1},     /* overlong */
        {"\"\xf0\x80\x80\xaf\"", 1}, /* overlong */
        {"\"\xf0\x8f\xbf\xbf\"", 1}, /* overlong */
        {"\"\xed\xa0\x80\"", 1},     /* U+D800 encoded */
        {"\"\xed\xbf\xbf\"", 1},     /* U+DFFF encoded */
        {"\"\xf4\x90\x80\x80\"", 1}, /* U+110000 */
        {"\"\xf5\x80\x80\x80\"", 1}, /* beyond */
        {"\"\xff\"", 1},
        {"\"ab\xe2\x82\"", 3},   /* truncated before the quote */
        {"\"\xe2\x82", 1},       /* truncated at the end */
        {"\"\xc3\"", 1},         /* truncated */
        {"\"\xf0\x9f\x98\"", 1}, /* truncated */
        {"\"\\n\xc0\xaf\"", 3},  /* on the decoding path */
        {"[\"ok\",\"\xe0\x80\x80\"]", 7},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        check_error(bad[i].doc, WARD_E_JSON_UTF8, bad[i].offset);
}

static void test_surrogates(void **state)
{
    (void)state;
    check_error("\"\\ud800\"", WARD_E_JSON_UTF8, 1);
    check_error("\"\\udbff\"", WARD_E_JSON_UTF8, 1);
    check_error("\"\\udc00\"", WARD_E_JSON_UTF8, 1);
    check_error("\"\\udfff\"", WARD_E_JSON_UTF8, 1);
    check_error("\"\\ud800\\u0041\"", WARD_E_JSON_UTF8, 1);
    check_error("\"\\ud800\\ud800\"", WARD_E_JSON_UTF8, 1);
    check_error("\"\\udc00\\ud800\"", WARD_E_JSON_UTF8, 1);
    check_error("\"x\\ud800x\"", WARD_E_JSON_UTF8, 2);
    check_error("\"\\ud800\\n\"", WARD_E_JSON_UTF8, 1);
    check_error("\"\\ud800\\", WARD_E_JSON_UTF8, 1);
    check_ok("\"\\ud800\\udc00\"");
    check_ok("\"\\udbff\\udfff\"");
    check_ok("\"\\ud7ff\\ue000\"");
}

/* The word-at-a-time scan, at every length and position, on exactly sized buffers. */
static void test_plain_span(void **state)
{
    (void)state;
    const unsigned char specials[] = {'"', '\\', 0x00, 0x1f, 0x80, 0xff};
    for (size_t len = 0; len <= 24; len++) {
        unsigned char *buf = malloc(len ? len : 1);
        assert_non_null(buf);
        memset(buf, 'a', len);
        assert_int_equal(ward_json_plain_span(buf, len), len);
        for (size_t pos = 0; pos < len; pos++) {
            for (size_t k = 0; k < sizeof(specials); k++) {
                memset(buf, 'a', len);
                buf[pos] = specials[k];
                if (pos + 1 < len)
                    buf[len - 1] = specials[(k + 1) % sizeof(specials)];
                assert_int_equal(ward_json_plain_span(buf, len), pos);
            }
        }
        /* Bytes just outside the special ranges are plain. */
        memset(buf, ' ', len);
        for (size_t pos = 0; pos < len; pos++)
            buf[pos] = (unsigned char)"! #[]~\x7f"[pos % 7];
        assert_int_equal(ward_json_plain_span(buf, len), len);
        free(buf);
    }
}

/* ---- reader: limits, errors, skip, expect ---- */

static char *nested(size_t depth, const char *open, const char *close)
{
    size_t lo = strlen(open), lc = strlen(close);
    char *s = malloc(depth * (lo + lc) + 1);
    assert_non_null(s);
    for (size_t i = 0; i < depth; i++)
        memcpy(s + i * lo, open, lo);
    for (size_t i = 0; i < depth; i++)
        memcpy(s + depth * lo + i * lc, close, lc);
    s[depth * (lo + lc)] = '\0';
    return s;
}

static void test_depth_limit(void **state)
{
    (void)state;
    struct ward_json_limits lim = {.max_depth = 3};
    size_t off;
    assert_int_equal(parse_n("[[[1]]]", 7, &lim, NULL), 0);
    assert_int_equal(parse_n("[[[[1]]]]", 9, &lim, &off), WARD_E_JSON_DEPTH);
    assert_int_equal(off, 3);
    assert_int_equal(parse_n("{\"a\":{\"b\":[{}]}}", 16, &lim, &off), WARD_E_JSON_DEPTH);
    assert_int_equal(off, 11);

    char *ok = nested(WARD_JSON_DEFAULT_MAX_DEPTH, "[", "]");
    char *deep = nested(WARD_JSON_DEFAULT_MAX_DEPTH + 1, "[", "]");
    assert_int_equal(parse(ok, NULL), 0);
    assert_int_equal(parse(deep, &off), WARD_E_JSON_DEPTH);
    assert_int_equal(off, WARD_JSON_DEFAULT_MAX_DEPTH);
    free(ok);
    free(deep);

    /* Limits above the compile-time maximum are clamped. */
    lim.max_depth = 100000;
    ok = nested(WARD_JSON_MAX_DEPTH, "[", "]");
    deep = nested(WARD_JSON_MAX_DEPTH + 1, "[", "]");
    assert_int_equal(parse_n(ok, strlen(ok), &lim, NULL), 0);
    assert_int_equal(parse_n(deep, strlen(deep), &lim, &off), WARD_E_JSON_DEPTH);
    assert_int_equal(off, WARD_JSON_MAX_DEPTH);
    free(ok);
    free(deep);

    /* Alternating objects and arrays across the words of the depth bit array. */
    lim.max_depth = 1000;
    char *mixed = nested(300, "{\"k\":[", "]}");
    struct ward_json_reader r;
    struct ward_json_token t;
    ward_json_reader_init(&r, mixed, strlen(mixed), &lim);
    for (int i = 0; i < 300; i++) {
        assert_int_equal(ward_json_next(&r, &t), 0);
        assert_int_equal(t.type, WARD_JSON_OBJECT_BEGIN);
        assert_int_equal(ward_json_next(&r, &t), 0);
        assert_int_equal(t.type, WARD_JSON_KEY);
        assert_int_equal(ward_json_next(&r, &t), 0);
        assert_int_equal(t.type, WARD_JSON_ARRAY_BEGIN);
    }
    for (int i = 0; i < 300; i++) {
        assert_int_equal(ward_json_next(&r, &t), 0);
        assert_int_equal(t.type, WARD_JSON_ARRAY_END);
        assert_int_equal(ward_json_next(&r, &t), 0);
        assert_int_equal(t.type, WARD_JSON_OBJECT_END);
    }
    assert_int_equal(ward_json_next(&r, &t), 0);
    assert_int_equal(t.type, WARD_JSON_END);
    ward_json_reader_done(&r);
    free(mixed);
}

static void test_size_limits(void **state)
{
    (void)state;
    struct ward_json_limits lim = {.max_size = 10};
    size_t off;
    assert_int_equal(parse_n("[1,2,3,45]", 10, &lim, NULL), 0);
    assert_int_equal(parse_n("[1,2,3,456]", 11, &lim, &off), WARD_E_JSON_SIZE);
    assert_int_equal(off, 10);

    lim = (struct ward_json_limits){.max_string = 4};
    assert_int_equal(parse_n("[\"abcd\"]", 8, &lim, NULL), 0);
    assert_int_equal(parse_n("[\"abcde\"]", 9, &lim, &off), WARD_E_JSON_SIZE);
    assert_int_equal(off, 1);
    assert_int_equal(parse_n("{\"abcde\":1}", 11, &lim, &off), WARD_E_JSON_SIZE);
    assert_int_equal(off, 1);
    /* The decoded length counts: 4 escapes decode to 4 bytes, 5 do not fit. */
    assert_int_equal(parse_n("\"\\n\\n\\n\\n\"", 10, &lim, NULL), 0);
    assert_int_equal(parse_n("\"\\n\\n\\n\\n\\n\"", 12, &lim, &off), WARD_E_JSON_SIZE);
    assert_int_equal(off, 0);
    /* Number literals are bounded too. */
    assert_int_equal(parse_n("1234", 4, &lim, NULL), 0);
    assert_int_equal(parse_n("12345", 5, &lim, &off), WARD_E_JSON_SIZE);
    assert_int_equal(off, 0);

    /* The defaults. */
    struct ward_json_reader r;
    ward_json_reader_init(&r, "1", 1, NULL);
    assert_int_equal(r.lim.max_depth, WARD_JSON_DEFAULT_MAX_DEPTH);
    assert_int_equal(r.lim.max_size, WARD_JSON_DEFAULT_MAX_SIZE);
    assert_int_equal(r.lim.max_string, WARD_JSON_DEFAULT_MAX_STRING);
    ward_json_reader_done(&r);
}

static void test_sticky_error(void **state)
{
    (void)state;
    const char *doc = "[1,\"a\"  x, 2]";
    struct ward_json_reader r;
    struct ward_json_token t = {.type = WARD_JSON_NULL, .offset = 777};
    ward_json_reader_init(&r, doc, strlen(doc), NULL);
    assert_string_equal(ward_json_error_message(&r), "");
    assert_int_equal(ward_json_error_offset(&r), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(ward_json_next(&r, &t), 0);
    struct ward_json_token before = t;
    assert_int_equal(ward_json_next(&r, &t), WARD_E_JSON_SYNTAX);
    assert_int_equal(t.offset, before.offset); /* not written on failure */
    assert_int_equal(ward_json_error_offset(&r), 8);
    assert_string_equal(ward_json_error_message(&r), "expected ',' or ']' after an array element");
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ward_json_next(&r, &t), WARD_E_JSON_SYNTAX);
        assert_int_equal(ward_json_skip(&r), WARD_E_JSON_SYNTAX);
        assert_int_equal(ward_json_expect(&r, WARD_JSON_INT, &t), WARD_E_JSON_SYNTAX);
    }
    assert_int_equal(ward_json_error_offset(&r), 8);
    ward_json_reader_done(&r);

    /* Tokens are not written on failure, even after part of the value was read. */
    static const char *const bad[] = {"1e999", "\"ab\\q\"", "\"ab\xff\"", "tru", "01"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct ward_json_token keep = {.type = WARD_JSON_NULL, .offset = 555};
        ward_json_reader_init(&r, bad[i], strlen(bad[i]), NULL);
        assert_true(ward_json_next(&r, &keep) < 0);
        assert_int_equal(keep.type, WARD_JSON_NULL);
        assert_int_equal(keep.offset, 555);
        assert_null(keep.str);
        ward_json_reader_done(&r);
    }

    /* A size error is reported on the first call. */
    struct ward_json_limits lim = {.max_size = 2};
    ward_json_reader_init(&r, "123", 3, &lim);
    assert_int_equal(ward_json_next(&r, &t), WARD_E_JSON_SIZE);
    assert_int_equal(ward_json_next(&r, &t), WARD_E_JSON_SIZE);
    assert_non_null(strstr(ward_json_error_message(&r), "larger than 2 bytes"));
    ward_json_reader_done(&r);
}

static void test_skip(void **state)
{
    (void)state;
    const char *doc =
        "{\"a\":1,\"b\":{\"c\":[1,2,{\"d\":\"\\n\"}],\"e\":[]},\"f\":\"x\",\"g\":[[]],"
        "\"h\":true}";
    struct ward_json_reader r;
    struct ward_json_token t;
    ward_json_reader_init(&r, doc, strlen(doc), NULL);
    assert_int_equal(ward_json_expect(&r, WARD_JSON_OBJECT_BEGIN, &t), 0);
    assert_int_equal(ward_json_expect(&r, WARD_JSON_KEY, &t), 0);
    assert_true(ward_json_key_is(&t, "a"));
    assert_int_equal(ward_json_skip(&r), 0); /* a scalar */
    assert_int_equal(ward_json_expect(&r, WARD_JSON_KEY, &t), 0);
    assert_true(ward_json_key_is(&t, "b"));
    assert_int_equal(ward_json_skip(&r), 0); /* a nested object */
    assert_int_equal(ward_json_skip(&r), 0); /* key "f" and its value */
    assert_int_equal(ward_json_expect(&r, WARD_JSON_KEY, &t), 0);
    assert_true(ward_json_key_is(&t, "g"));
    assert_int_equal(ward_json_expect(&r, WARD_JSON_ARRAY_BEGIN, &t), 0);
    assert_int_equal(ward_json_skip(&r), 0);                /* the inner [] */
    assert_int_equal(ward_json_skip(&r), WARD_E_JSON_TYPE); /* nothing left to skip */
    assert_non_null(strstr(ward_json_error_message(&r), "end of array"));
    ward_json_reader_done(&r);

    /* Skipping the whole document, then the end. */
    ward_json_reader_init(&r, doc, strlen(doc), NULL);
    assert_int_equal(ward_json_skip(&r), 0);
    assert_int_equal(ward_json_next(&r, &t), 0);
    assert_int_equal(t.type, WARD_JSON_END);
    assert_int_equal(ward_json_skip(&r), WARD_E_JSON_TYPE);
    ward_json_reader_done(&r);

    /* An error inside the skipped value is the reader's error. */
    const char *bad = "{\"a\":[1,{\"b\":01}],\"c\":2}";
    ward_json_reader_init(&r, bad, strlen(bad), NULL);
    assert_int_equal(ward_json_next(&r, &t), 0);
    assert_int_equal(ward_json_next(&r, &t), 0);
    assert_int_equal(ward_json_skip(&r), WARD_E_JSON_NUMBER);
    assert_int_equal(ward_json_error_offset(&r), 13);
    ward_json_reader_done(&r);
}

static void test_expect(void **state)
{
    (void)state;
    const char *doc = "[\"s\",12,12.5,7,true]";
    struct ward_json_reader r;
    struct ward_json_token t = {0};
    ward_json_reader_init(&r, doc, strlen(doc), NULL);
    assert_int_equal(ward_json_expect(&r, WARD_JSON_ARRAY_BEGIN, &t), 0);
    assert_int_equal(ward_json_expect(&r, WARD_JSON_STRING, &t), 0);
    assert_true(ward_json_key_is(&t, "s"));
    assert_false(ward_json_key_is(&t, "st"));
    assert_false(ward_json_key_is(&t, ""));
    assert_int_equal(ward_json_expect(&r, WARD_JSON_INT, &t), 0);
    assert_int_equal(t.i, 12);
    assert_int_equal(ward_json_expect(&r, WARD_JSON_DOUBLE, &t), 0);
    assert_true(t.d == 12.5);
    assert_int_equal(ward_json_expect(&r, WARD_JSON_DOUBLE, &t), 0); /* an int is fine */
    assert_true(t.d == 7.0);
    assert_int_equal(t.type, WARD_JSON_INT);
    assert_int_equal(ward_json_expect(&r, WARD_JSON_STRING, &t), WARD_E_JSON_TYPE);
    assert_string_equal(ward_json_error_message(&r), "expected string, got true");
    assert_int_equal(ward_json_error_offset(&r), 15);
    assert_int_equal(t.type, WARD_JSON_INT); /* untouched on failure */
    assert_int_equal(ward_json_next(&r, &t), WARD_E_JSON_TYPE);
    ward_json_reader_done(&r);

    ward_json_reader_init(&r, "12.5", 4, NULL);
    assert_int_equal(ward_json_expect(&r, WARD_JSON_INT, &t), WARD_E_JSON_TYPE);
    assert_string_equal(ward_json_error_message(&r), "expected integer, got number");
    ward_json_reader_done(&r);
}

static void test_error_messages(void **state)
{
    (void)state;
    static const struct {
        const char *doc;
        const char *msg;
    } cases[] = {
        {"[1,]", "unexpected character, expected a value"},
        {"{\"a\" 1}", "expected ':' after a key"},
        {"\"\\ud800\"", "high surrogate \\ud800 without a low surrogate"},
        {"01", "leading zero in a number"},
        {"1e999", "number out of range"},
        {"\"\xff\"", "invalid UTF-8 in a string"},
        {"\"a", "unexpected end of input in a string"},
        {"1 1", "unexpected data after the top-level value"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ward_json_reader r;
        struct ward_json_token t;
        ward_json_reader_init(&r, cases[i].doc, strlen(cases[i].doc), NULL);
        int e;
        do
            e = ward_json_next(&r, &t);
        while (e == 0 && t.type != WARD_JSON_END);
        assert_true(e < 0);
        assert_string_equal(ward_json_error_message(&r), cases[i].msg);
        ward_json_reader_done(&r);
    }
    assert_string_equal(ward_json_type_name(WARD_JSON_KEY), "key");
    assert_string_equal(ward_json_type_name((enum ward_json_token_type)99), "unknown");
}

/* ---- writer ---- */

/* Finishes the writer and checks the text. */
static void check_output(struct ward_json_writer *w, struct ward_buf *b, const char *want)
{
    assert_int_equal(ward_json_writer_finish(w), 0);
    assert_string_equal(b->data, want);
    assert_int_equal(b->len, strlen(want));
    assert_int_equal(parse_n(b->data, b->len, NULL, NULL), 0);
}

static void test_writer_document(void **state)
{
    (void)state;
    struct ward_buf b = WARD_BUF_INIT;
    struct ward_json_writer w;
    ward_json_writer_init(&w, &b);
    ward_json_write_object_begin(&w);
    ward_json_write_keyz(&w, "a");
    ward_json_write_array_begin(&w);
    ward_json_write_int(&w, 1);
    ward_json_write_int(&w, -2);
    ward_json_write_bool(&w, true);
    ward_json_write_bool(&w, false);
    ward_json_write_null(&w);
    ward_json_write_stringz(&w, "x");
    ward_json_write_double(&w, 0.5);
    ward_json_write_raw(&w, "{\"r\":[1]}", 9);
    ward_json_write_array_end(&w);
    ward_json_write_keyz(&w, "b");
    ward_json_write_object_begin(&w);
    ward_json_write_object_end(&w);
    ward_json_write_keyz(&w, "c");
    ward_json_write_array_begin(&w);
    ward_json_write_array_begin(&w);
    ward_json_write_array_end(&w);
    ward_json_write_array_begin(&w);
    ward_json_write_array_end(&w);
    ward_json_write_array_end(&w);
    ward_json_write_keyz(&w, "d");
    ward_json_write_uint(&w, UINT64_MAX);
    ward_json_write_object_end(&w);
    check_output(&w, &b,
                 "{\"a\":[1,-2,true,false,null,\"x\",0.5,{\"r\":[1]}],\"b\":{},\"c\":[[],[]],"
                 "\"d\":18446744073709551615}");

    /* Scalars at the top level, appended after existing content. */
    ward_buf_reset(&b);
    ward_buf_puts(&b, "x=");
    ward_json_writer_init(&w, &b);
    ward_json_write_stringz(&w, "v");
    assert_int_equal(ward_json_writer_finish(&w), 0);
    assert_string_equal(b.data, "x=\"v\"");
    ward_buf_done(&b);
}

static void test_writer_integers(void **state)
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

static void test_writer_strings(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t len;
        const char *out;
    } cases[] = {
        {"plain", 5, "\"plain\""},
        {"", 0, "\"\""},
        {"q\"b\\s/", 6, "\"q\\\"b\\\\s/\""},
        {"\b\f\n\r\t", 5, "\"\\b\\f\\n\\r\\t\""},
        {"\x01\x1f\x7f", 3, "\"\\u0001\\u001f\x7f\""},
        {"a\0b", 3, "\"a\\u0000b\""},
        {"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9, "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\""},
        /* Each maximal ill-formed subsequence becomes one U+FFFD. */
        {"a\xe2\x82!", 4, "\"a\xef\xbf\xbd!\""},
        {"\xc0\xaf", 2, "\"\xef\xbf\xbd\xef\xbf\xbd\""},
        {"\xed\xa0\x80", 3, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""},
        {"\xf4\x90\x80\x80", 4, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""},
        {"\xf0\x9f\x98", 3, "\"\xef\xbf\xbd\""},
        {"\xff!", 2, "\"\xef\xbf\xbd!\""},
        {"long plain text that spans several words\n", 41,
         "\"long plain text that spans several words\\n\""},
    };
    struct ward_buf b = WARD_BUF_INIT;
    struct ward_json_writer w;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ward_buf_reset(&b);
        ward_json_writer_init(&w, &b);
        ward_json_write_string(&w, cases[i].in, cases[i].len);
        check_output(&w, &b, cases[i].out);
        /* Keys are escaped the same way. */
        ward_buf_reset(&b);
        ward_json_writer_init(&w, &b);
        ward_json_write_object_begin(&w);
        ward_json_write_key(&w, cases[i].in, cases[i].len);
        ward_json_write_null(&w);
        ward_json_write_object_end(&w);
        assert_int_equal(ward_json_writer_finish(&w), 0);
        assert_int_equal(b.len, strlen(cases[i].out) + 7);
        assert_memory_equal(b.data + 1, cases[i].out, strlen(cases[i].out));
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

static void test_writer_doubles(void **state)
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

static void test_writer_misuse(void **state)
{
    (void)state;
    struct ward_buf b = WARD_BUF_INIT;
    struct ward_json_writer w;

    ward_json_writer_init(&w, &b); /* nothing written */
    assert_int_equal(ward_json_writer_finish(&w), -EINVAL);

    ward_json_writer_init(&w, &b); /* key at the top level */
    assert_int_equal(ward_json_write_keyz(&w, "k"), -EINVAL);

    ward_json_writer_init(&w, &b); /* key in an array */
    ward_json_write_array_begin(&w);
    assert_int_equal(ward_json_write_keyz(&w, "k"), -EINVAL);

    ward_json_writer_init(&w, &b); /* value without a key */
    ward_json_write_object_begin(&w);
    assert_int_equal(ward_json_write_int(&w, 1), -EINVAL);

    ward_json_writer_init(&w, &b); /* two keys in a row */
    ward_json_write_object_begin(&w);
    ward_json_write_keyz(&w, "a");
    assert_int_equal(ward_json_write_keyz(&w, "b"), -EINVAL);

    ward_json_writer_init(&w, &b); /* a key left without a value */
    ward_json_write_object_begin(&w);
    ward_json_write_keyz(&w, "a");
    assert_int_equal(ward_json_write_object_end(&w), -EINVAL);

    ward_json_writer_init(&w, &b); /* mismatched end */
    ward_json_write_array_begin(&w);
    assert_int_equal(ward_json_write_object_end(&w), -EINVAL);

    ward_json_writer_init(&w, &b); /* end at the top level */
    assert_int_equal(ward_json_write_array_end(&w), -EINVAL);

    ward_json_writer_init(&w, &b); /* second top-level value */
    ward_json_write_int(&w, 1);
    assert_int_equal(ward_json_write_int(&w, 2), -EINVAL);

    ward_json_writer_init(&w, &b); /* unfinished */
    ward_json_write_array_begin(&w);
    assert_int_equal(ward_json_writer_finish(&w), -EINVAL);

    /* After an error nothing more is written. */
    ward_buf_reset(&b);
    ward_json_writer_init(&w, &b);
    ward_json_write_array_begin(&w);
    ward_json_write_keyz(&w, "k");
    size_t len = b.len;
    assert_int_equal(ward_json_write_stringz(&w, "more"), -EINVAL);
    assert_int_equal(ward_json_write_array_end(&w), -EINVAL);
    assert_int_equal(b.len, len);
    assert_int_equal(ward_json_writer_finish(&w), -EINVAL);
    ward_buf_done(&b);
}

static void test_writer_limits(void **state)
{
    (void)state;
    struct ward_buf b;
    struct ward_json_writer w;

    /* A document of exactly the limit fits: space is reserved exactly. */
    ward_buf_init(&b, 13);
    ward_json_writer_init(&w, &b);
    ward_json_write_array_begin(&w);
    ward_json_write_stringz(&w, "ab\n");
    ward_json_write_int(&w, 1234);
    ward_json_write_array_end(&w);
    assert_int_equal(ward_json_writer_finish(&w), 0);
    assert_string_equal(b.data, "[\"ab\\n\",1234]");
    ward_buf_done(&b);

    ward_buf_init(&b, 12);
    ward_json_writer_init(&w, &b);
    ward_json_write_array_begin(&w);
    ward_json_write_stringz(&w, "ab\n");
    assert_int_equal(ward_json_write_int(&w, 1234), 0);
    assert_int_equal(ward_json_write_array_end(&w), WARD_E_LIMIT);
    assert_int_equal(ward_json_write_null(&w), WARD_E_LIMIT);
    assert_int_equal(ward_json_writer_finish(&w), WARD_E_LIMIT);
    ward_buf_done(&b);

    /* Long strings with escapes hit the limit in the middle. */
    ward_buf_init(&b, 100);
    ward_json_writer_init(&w, &b);
    char big[200];
    memset(big, '\n', sizeof(big));
    assert_int_equal(ward_json_write_string(&w, big, sizeof(big)), WARD_E_LIMIT);
    assert_true(b.len <= 100);
    ward_buf_done(&b);

    /* Nesting is bounded. */
    ward_buf_init(&b, 0);
    ward_json_writer_init(&w, &b);
    for (int i = 0; i < WARD_JSON_MAX_DEPTH; i++)
        assert_int_equal(ward_json_write_array_begin(&w), 0);
    assert_int_equal(ward_json_write_object_begin(&w), WARD_E_JSON_DEPTH);
    assert_int_equal(ward_json_writer_finish(&w), WARD_E_JSON_DEPTH);
    ward_buf_reset(&b);
    ward_json_writer_init(&w, &b);
    for (int i = 0; i < WARD_JSON_MAX_DEPTH; i++)
        ward_json_write_array_begin(&w);
    for (int i = 0; i < WARD_JSON_MAX_DEPTH; i++)
        ward_json_write_array_end(&w);
    assert_int_equal(ward_json_writer_finish(&w), 0);
    ward_buf_done(&b);
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

static void test_differential_random(void **state)
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

static void test_differential_edges(void **state)
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

static void test_differential_deep(void **state)
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

static void test_differential_numbers(void **state)
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_stream),
        cmocka_unit_test(test_top_level),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_number_syntax),
        cmocka_unit_test(test_integers),
        cmocka_unit_test(test_doubles),
        cmocka_unit_test(test_doubles_halfway),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_strings_in_place),
        cmocka_unit_test(test_control_chars),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_surrogates),
        cmocka_unit_test(test_plain_span),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_size_limits),
        cmocka_unit_test(test_sticky_error),
        cmocka_unit_test(test_skip),
        cmocka_unit_test(test_expect),
        cmocka_unit_test(test_error_messages),
        cmocka_unit_test(test_writer_document),
        cmocka_unit_test(test_writer_integers),
        cmocka_unit_test(test_writer_strings),
        cmocka_unit_test(test_writer_doubles),
        cmocka_unit_test(test_writer_misuse),
        cmocka_unit_test(test_writer_limits),
        cmocka_unit_test(test_differential_edges),
        cmocka_unit_test(test_differential_random),
        cmocka_unit_test(test_differential_deep),
        cmocka_unit_test(test_differential_numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
