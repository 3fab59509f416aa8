/*
 * Tests for the JSON reader and writer, rule by rule.
 *
 * Each test pins down one rule with small hand-written documents: grammar,
 * escapes, UTF-8, number syntax and integer range, limits, sticky errors,
 * skip and expect, and the writer's output byte for byte, including how it
 * refuses misuse and full buffers. Expected error codes and byte offsets are
 * spelled out, so a failure points at the rule that broke.
 *
 * The tests driven by generated and mutated documents (against jansson and
 * strtod()) live in test-json-diff.c. Both files build the one test-json
 * binary, and main() here lists the tests of both, so the whole run is
 * visible in one place; test-json.h holds what the two files share.
 */
#include "common/buf.h"
#include "common/error.h"
#include "common/json.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test-json.h"

/* ---- helpers ---- */

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

void check_error(const char *doc, int code, size_t offset)
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
struct ward_json_token read_single_number(const char *doc)
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

char *nested(size_t depth, const char *open, const char *close)
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
void check_output(struct ward_json_writer *w, struct ward_buf *b, const char *want)
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
