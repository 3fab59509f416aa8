/*
 * Tests for log: the exact text and JSON line layouts, level filtering,
 * escaping (no value can split a line or forge a field; every JSON line
 * parses, checked with jansson), the line-length cap, whole lines under
 * concurrent writers, and the name parsers.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/log.h"
#include "common/parse.h"
#include "common/time-util.h"

#define TS_LEN 24 /* "2026-11-22T07:40:00.123Z" */

/* Everything written to f so far, as a malloc'd string; f is emptied. */
static char *drain(FILE *f)
{
    fflush(f);
    long n = ftell(f);
    assert_true(n >= 0);
    char *s = calloc(1, (size_t)n + 1);
    assert_non_null(s);
    rewind(f);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    rewind(f);
    assert_int_equal(ftruncate(fileno(f), 0), 0);
    return s;
}

static FILE *out;

static int setup_text(void **state)
{
    (void)state;
    out = tmpfile();
    ward_log_setup(WARD_LOG_DEBUG, WARD_LOG_TEXT, out);
    return out ? 0 : -1;
}

static int setup_json(void **state)
{
    (void)state;
    out = tmpfile();
    ward_log_setup(WARD_LOG_DEBUG, WARD_LOG_JSON, out);
    return out ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    ward_log_setup(WARD_LOG_INFO, WARD_LOG_TEXT, NULL);
    fclose(out);
    out = NULL;
    return 0;
}

/* Checks the leading timestamp of a text line and returns what follows it. */
static const char *after_ts(const char *line)
{
    int64_t ms;
    assert_true(strlen(line) > TS_LEN);
    assert_int_equal(ward_time_parse_rfc3339(line, TS_LEN, &ms), 0);
    int64_t now = ward_now_ms();
    assert_true(ms <= now && ms > now - 5000);
    return line + TS_LEN;
}

static void test_text_layout(void **state)
{
    (void)state;
    ward_log_info("abc", "listening", "addr", "127.0.0.1:8080");
    char *s = drain(out);
    assert_string_equal(after_ts(s),
                        " level=info msg=\"listening\" request_id=abc addr=127.0.0.1:8080\n");
    free(s);

    ward_log_error(NULL, "store failed", "err", "disk full", "path", "/var/lib/ward/ward.db");
    s = drain(out);
    assert_string_equal(
        after_ts(s),
        " level=error msg=\"store failed\" err=\"disk full\" path=/var/lib/ward/ward.db\n");
    free(s);

    /* An empty request id is left out; a NULL message is an empty one. */
    ward_log(WARD_LOG_WARN, "", NULL, NULL);
    s = drain(out);
    assert_string_equal(after_ts(s), " level=warn msg=\"\"\n");
    free(s);
}

static void test_json_layout(void **state)
{
    (void)state;
    ward_log_info("abc", "listening", "addr", "127.0.0.1:8080");
    char *s = drain(out);
    assert_memory_equal(s, "{\"ts\":\"", 7);
    int64_t ms;
    assert_int_equal(ward_time_parse_rfc3339(s + 7, TS_LEN, &ms), 0);
    assert_string_equal(s + 7 + TS_LEN, "\",\"level\":\"info\",\"msg\":\"listening\","
                                        "\"request_id\":\"abc\",\"addr\":\"127.0.0.1:8080\"}\n");
    free(s);

    ward_log_debug(NULL, "tick", "n", NULL);
    s = drain(out);
    json_error_t err;
    json_t *j = json_loads(s, 0, &err);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "level")), "debug");
    assert_string_equal(json_string_value(json_object_get(j, "msg")), "tick");
    assert_true(json_is_null(json_object_get(j, "n")));
    assert_null(json_object_get(j, "request_id"));
    assert_int_equal(json_object_size(j), 4);
    json_decref(j);
    free(s);
}

static void test_levels(void **state)
{
    (void)state;
    ward_log_setup(WARD_LOG_WARN, WARD_LOG_TEXT, out);
    assert_false(ward_log_enabled(WARD_LOG_DEBUG));
    assert_false(ward_log_enabled(WARD_LOG_INFO));
    assert_true(ward_log_enabled(WARD_LOG_WARN));
    assert_true(ward_log_enabled(WARD_LOG_ERROR));
    ward_log_debug(NULL, "d");
    ward_log_info(NULL, "i");
    ward_log_warn(NULL, "w");
    ward_log_error(NULL, "e");
    char *s = drain(out);
    assert_null(strstr(s, "msg=\"d\""));
    assert_null(strstr(s, "msg=\"i\""));
    const char *w = strstr(s, " level=warn msg=\"w\"\n");
    const char *e = strstr(s, " level=error msg=\"e\"\n");
    assert_non_null(w);
    assert_non_null(e);
    assert_true(w < e);
    free(s);

    ward_log_setup(WARD_LOG_ERROR, WARD_LOG_TEXT, out);
    ward_log_warn(NULL, "w");
    s = drain(out);
    assert_string_equal(s, "");
    free(s);
}

/* Logs one value in text and returns the part of the line after "msg=\"m\" ". */
static char *text_value(const char *key, const char *value)
{
    ward_log(WARD_LOG_INFO, NULL, "m", key, value, NULL);
    char *s = drain(out);
    const char *p = strstr(s, " msg=\"m\" ");
    assert_non_null(p);
    char *v = strdup(p + 9);
    free(s);
    return v;
}

static void expect_text(const char *value, const char *want)
{
    char *got = text_value("k", value);
    if (strcmp(got, want) != 0)
        fail_msg("value \"%s\": got [%s], want [%s]", value, got, want);
    free(got);
}

static void test_text_escaping(void **state)
{
    (void)state;
    expect_text("plain", "k=plain\n");
    expect_text("", "k=\"\"\n");
    expect_text("two words", "k=\"two words\"\n");
    expect_text("a=b", "k=\"a=b\"\n");
    expect_text("say \"hi\"", "k=\"say \\\"hi\\\"\"\n");
    expect_text("C:\\dir", "k=\"C:\\\\dir\"\n");
    expect_text("line1\nline2", "k=\"line1\\nline2\"\n");
    expect_text("cr\rtab\t", "k=\"cr\\rtab\\t\"\n");
    expect_text("bell\x07 esc\x1b[31m del\x7f", "k=\"bell\\u0007 esc\\u001b[31m del\\u007f\"\n");
    expect_text("h\xc3\xa9llo", "k=h\xc3\xa9llo\n");        /* valid UTF-8 kept */
    expect_text("bad\xff\xc3", "k=\"bad\\xff\\xc3\"\n");    /* invalid bytes */
    expect_text("\xc0\xaf", "k=\"\\xc0\\xaf\"\n");          /* overlong '/' */
    expect_text("\xed\xa0\x80", "k=\"\\xed\\xa0\\x80\"\n"); /* surrogate */
    expect_text("nel\xc2\x85sep\xe2\x80\xa8", "k=\"nel\\u0085sep\\u2028\"\n");
    expect_text(NULL, "k=null\n");

    /* A value trying to forge fields stays one quoted value. */
    expect_text("x level=error msg=\"pwned\"\n2026-01-01T00:00:00.000Z level=error",
                "k=\"x level=error msg=\\\"pwned\\\"\\n2026-01-01T00:00:00.000Z level=error\"\n");

    /* Keys are reduced to safe characters. */
    char *got = text_value("bad key=\"x\"\n", "v");
    assert_string_equal(got, "bad_key__x__=v\n");
    free(got);
    got = text_value("", "v");
    assert_string_equal(got, "_=v\n");
    free(got);

    /* The request id is escaped like any value. */
    ward_log_info("r 1\n", "m");
    char *s = drain(out);
    assert_string_equal(after_ts(s), " level=info msg=\"m\" request_id=\"r 1\\n\"\n");
    free(s);

    /* The message too. */
    ward_log_info(NULL, "evil\" level=error\n");
    s = drain(out);
    assert_string_equal(after_ts(s), " level=info msg=\"evil\\\" level=error\\n\"\n");
    free(s);
}

static json_t *json_line(void)
{
    char *s = drain(out);
    size_t n = strlen(s);
    assert_true(n > 0 && s[n - 1] == '\n');
    assert_null(memchr(s, '\n', n - 1)); /* exactly one line */
    json_error_t err;
    json_t *j = json_loads(s, 0, &err);
    if (!j)
        fail_msg("invalid JSON line: %s: %s", err.text, s);
    free(s);
    return j;
}

static void test_json_escaping(void **state)
{
    (void)state;
    static const char *const values[] = {
        "quote \" backslash \\ slash /",
        "nl\ncr\rtab\tbs\bff\f",
        "ctl \x01\x02\x1f del \x7f",
        "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", /* é € 😀 */
        "nel\xc2\x85 ls\xe2\x80\xa8 ps\xe2\x80\xa9",
        "",
    };
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        ward_log_info("r\"1", values[i], "k\"ey", values[i]);
        json_t *j = json_line();
        assert_string_equal(json_string_value(json_object_get(j, "msg")), values[i]);
        assert_string_equal(json_string_value(json_object_get(j, "k\"ey")), values[i]);
        assert_string_equal(json_string_value(json_object_get(j, "request_id")), "r\"1");
        json_decref(j);
    }

    /* Invalid UTF-8 becomes U+FFFD, so the line stays valid JSON. */
    ward_log_info(NULL, "m", "k",
                  "a\xff"
                  "b\xe2\x82"
                  "c\xed\xa0\x80");
    json_t *j = json_line();
    assert_string_equal(json_string_value(json_object_get(j, "k")),
                        "a\xef\xbf\xbd"
                        "b\xef\xbf\xbd\xef\xbf\xbd"
                        "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    json_decref(j);

    /* Line and paragraph separators and C1 controls are escaped, not raw. */
    ward_log_info(NULL, "m", "k", "\xe2\x80\xa8\xc2\x85");
    char *s = drain(out);
    assert_non_null(strstr(s, "\"k\":\"\\u2028\\u0085\""));
    free(s);
}

static void test_truncation_text(void **state)
{
    (void)state;
    size_t n = 20000;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, 'a', n);
    big[n] = '\0';
    ward_log_info("rid", "m", "big", big, "after", "dropped");
    char *s = drain(out);
    size_t len = strlen(s);
    assert_true(len <= WARD_LOG_LINE_MAX);
    assert_true(len > WARD_LOG_LINE_MAX - 100);
    assert_non_null(strstr(s, " request_id=rid big=aaaa"));
    const char *tail = "a... truncated=true\n";
    assert_string_equal(s + len - strlen(tail), tail);
    assert_null(strstr(s, "after"));
    free(s);

    /* Escaped characters count at their escaped size; quoting is closed. */
    memset(big, '\x01', n);
    ward_log_info(NULL, "m", "ctl", big);
    s = drain(out);
    len = strlen(s);
    assert_true(len <= WARD_LOG_LINE_MAX);
    tail = "\\u0001...\" truncated=true\n";
    assert_string_equal(s + len - strlen(tail), tail);
    free(s);
    free(big);
}

static void test_truncation_json(void **state)
{
    (void)state;
    /* Multi-byte characters must not be cut in half. */
    size_t reps = 5000;
    char *big = malloc(reps * 3 + 1);
    assert_non_null(big);
    for (size_t i = 0; i < reps; i++)
        memcpy(big + 3 * i, "\xe2\x82\xac", 3);
    big[reps * 3] = '\0';
    ward_log_info(NULL, "m", "euro", big, "after", "dropped");
    char *s = drain(out);
    assert_true(strlen(s) <= WARD_LOG_LINE_MAX);
    json_error_t err;
    json_t *j = json_loads(s, 0, &err);
    if (!j)
        fail_msg("invalid JSON: %s", err.text);
    const char *v = json_string_value(json_object_get(j, "euro"));
    assert_non_null(v);
    size_t vlen = strlen(v);
    assert_true(vlen > 7000);
    assert_string_equal(v + vlen - 6, "\xe2\x82\xac...");
    assert_true(json_is_true(json_object_get(j, "truncated")));
    assert_null(json_object_get(j, "after"));
    json_decref(j);
    free(s);
    free(big);

    /*
     * Forty fields of 300 bytes: the ones that fit come whole and in order,
     * the one that overflows is cut with "...", and the rest are dropped.
     */
    char keys[40][8], value[301];
    for (int i = 0; i < 40; i++)
        snprintf(keys[i], sizeof(keys[i]), "k%02d", i);
    memset(value, 'v', 300);
    value[300] = '\0';
#define KV(i) keys[i], value
#define KV10(i)                                                                                    \
    KV(i), KV(i + 1), KV(i + 2), KV(i + 3), KV(i + 4), KV(i + 5), KV(i + 6), KV(i + 7), KV(i + 8), \
        KV(i + 9)
    ward_log(WARD_LOG_INFO, NULL, "many", KV10(0), KV10(10), KV10(20), KV10(30), NULL);
#undef KV10
#undef KV
    s = drain(out);
    assert_true(strlen(s) <= WARD_LOG_LINE_MAX);
    j = json_loads(s, JSON_PRESERVE_ORDER, &err);
    if (!j)
        fail_msg("invalid JSON: %s", err.text);
    assert_true(json_is_true(json_object_get(j, "truncated")));
    assert_null(json_object_get(j, "k39"));
    int fields = 0;
    bool cut = false;
    const char *key;
    json_t *val;
    json_object_foreach(j, key, val)
    {
        if (key[0] != 'k' || strlen(key) != 3)
            continue;
        char want[16];
        snprintf(want, sizeof(want), "k%02d", fields++);
        assert_string_equal(key, want);
        assert_false(cut); /* nothing after a cut value */
        const char *v = json_string_value(val);
        if (strcmp(v, value) != 0) {
            assert_string_equal(v + strlen(v) - 4, "v...");
            cut = true;
        }
    }
    assert_true(fields > 20 && fields < 28);
    json_decref(j);
    free(s);
}

enum {
    THREADS = 8,
    LINES = 400
};

static void *writer(void *arg)
{
    char tid[8], seq[16], pad[300];
    snprintf(tid, sizeof(tid), "%d", (int)(intptr_t)arg);
    memset(pad, 'x', sizeof(pad) - 1);
    pad[sizeof(pad) - 1] = '\0';
    for (int i = 0; i < LINES; i++) {
        snprintf(seq, sizeof(seq), "%d", i);
        ward_log_info(NULL, "concurrent", "thread", tid, "seq", seq, "pad", pad);
    }
    return NULL;
}

static void test_concurrent_lines(void **state)
{
    (void)state;
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, writer, (void *)(intptr_t)i), 0);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);

    char *s = drain(out);
    int next[THREADS] = {0};
    int lines = 0;
    for (char *line = s, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
        *nl = '\0';
        json_error_t err;
        json_t *j = json_loads(line, 0, &err);
        if (!j)
            fail_msg("torn line %d: %s", lines, line);
        int64_t tid, seq;
        assert_int_equal(ward_parse_int64(json_string_value(json_object_get(j, "thread")), &tid),
                         0);
        assert_int_equal(ward_parse_int64(json_string_value(json_object_get(j, "seq")), &seq), 0);
        assert_true(tid >= 0 && tid < THREADS);
        assert_int_equal(seq, next[tid]); /* each thread's lines in order */
        next[tid]++;
        assert_int_equal(strlen(json_string_value(json_object_get(j, "pad"))), 299);
        json_decref(j);
        lines++;
    }
    assert_int_equal(lines, THREADS * LINES);
    free(s);
}

/* With no stream given, lines go to standard error. */
static void test_default_stderr(void **state)
{
    (void)state;
    FILE *capture = tmpfile();
    assert_non_null(capture);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fileno(capture), STDERR_FILENO) >= 0);
    ward_log_setup(WARD_LOG_INFO, WARD_LOG_TEXT, NULL);
    ward_log_info(NULL, "to stderr", "k", "v");
    fflush(stderr);
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);

    fseek(capture, 0, SEEK_END);
    char *s = drain(capture);
    assert_string_equal(after_ts(s), " level=info msg=\"to stderr\" k=v\n");
    free(s);
    fclose(capture);
}

static void test_parsers(void **state)
{
    (void)state;
    enum ward_log_level lvl = WARD_LOG_ERROR;
    assert_int_equal(ward_log_level_parse("debug", &lvl), 0);
    assert_int_equal(lvl, WARD_LOG_DEBUG);
    assert_int_equal(ward_log_level_parse("INFO", &lvl), 0);
    assert_int_equal(lvl, WARD_LOG_INFO);
    assert_int_equal(ward_log_level_parse("Warn", &lvl), 0);
    assert_int_equal(lvl, WARD_LOG_WARN);
    assert_int_equal(ward_log_level_parse("warning", &lvl), 0);
    assert_int_equal(lvl, WARD_LOG_WARN);
    assert_int_equal(ward_log_level_parse("error", &lvl), 0);
    assert_int_equal(lvl, WARD_LOG_ERROR);
    assert_int_equal(ward_log_level_parse("fatal", &lvl), -EINVAL);
    assert_int_equal(ward_log_level_parse("", &lvl), -EINVAL);
    assert_int_equal(ward_log_level_parse("info ", &lvl), -EINVAL);
    assert_int_equal(ward_log_level_parse(NULL, &lvl), -EINVAL);
    assert_int_equal(lvl, WARD_LOG_ERROR);

    enum ward_log_format fmt = WARD_LOG_TEXT;
    assert_int_equal(ward_log_format_parse("json", &fmt), 0);
    assert_int_equal(fmt, WARD_LOG_JSON);
    assert_int_equal(ward_log_format_parse("TEXT", &fmt), 0);
    assert_int_equal(fmt, WARD_LOG_TEXT);
    assert_int_equal(ward_log_format_parse("logfmt", &fmt), -EINVAL);
    assert_int_equal(ward_log_format_parse(NULL, &fmt), -EINVAL);
    assert_int_equal(fmt, WARD_LOG_TEXT);

    assert_string_equal(ward_log_level_name(WARD_LOG_DEBUG), "debug");
    assert_string_equal(ward_log_level_name(WARD_LOG_ERROR), "error");
    assert_string_equal(ward_log_level_name((enum ward_log_level)42), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_text_layout, setup_text, teardown),
        cmocka_unit_test_setup_teardown(test_json_layout, setup_json, teardown),
        cmocka_unit_test_setup_teardown(test_levels, setup_text, teardown),
        cmocka_unit_test_setup_teardown(test_text_escaping, setup_text, teardown),
        cmocka_unit_test_setup_teardown(test_json_escaping, setup_json, teardown),
        cmocka_unit_test_setup_teardown(test_truncation_text, setup_text, teardown),
        cmocka_unit_test_setup_teardown(test_truncation_json, setup_json, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_lines, setup_json, teardown),
        cmocka_unit_test(test_default_stderr),
        cmocka_unit_test(test_parsers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
