/*
 * Tests of the golectra wire formats: the text route, the JSON bodies with
 * a clear refusal for each kind of bad input, numbers printed as golectra's
 * Go code prints them, the HTML page, HashSHA256 as the seed computes it,
 * and the snapshot file.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/error.h"
#include "server/golectra.h"

/* The seed's example: BODY='{"id":"temp","type":"gauge","value":42}' KEY='your-secret'. */
#define SEED_BODY "{\"id\":\"temp\",\"type\":\"gauge\",\"value\":42}"
#define SEED_KEY  "your-secret"
#define SEED_HASH "9a9fefd1f179a23f2e78d89082c144f3c36fba3efe2f7da56c7adc300eae13bd"

static void text_route(void **unused)
{
    (void)unused;
    struct ward_golectra_metric m;
    struct ward_buf err = WARD_BUF_INIT;
    assert_int_equal(ward_golectra_parse_update("gauge", "Alloc", "12345.5", &m, &err), 0);
    assert_string_equal(m.id, "Alloc");
    assert_int_equal(m.type, WARD_GOLECTRA_GAUGE);
    assert_true(m.has_number);
    assert_true(m.value == 12345.5);
    assert_int_equal(ward_golectra_parse_update("counter", "PollCount", "-7", &m, &err), 0);
    assert_int_equal(m.type, WARD_GOLECTRA_COUNTER);
    assert_int_equal(m.delta, -7);

    static const struct {
        const char *type, *id, *value, *want;
    } bad[] = {
        {"histogram", "x", "1", "type: must be gauge or counter"},
        {"Gauge", "x", "1", "type"},
        {"gauge", "x", "abc", "value: expected a finite number, got 'abc'"},
        {"gauge", "x", "", "value"},
        {"gauge", "x", "inf", "value"},
        {"gauge", "x", "nan", "value"},
        {"gauge", "x", "1e999", "value"},
        {"gauge", "x", " 1", "value"},
        {"counter", "x", "1.5", "value: expected an integer for a counter"},
        {"counter", "x", "1e3", "value"},
        {"counter", "x", "99999999999999999999", "value"},
        {"gauge", "a b", "1", "name: must be 1-128"},
        {"gauge", "", "1", "name"},
        {"gauge", "caf\xc3\xa9", "1", "name"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int r = ward_golectra_parse_update(bad[i].type, bad[i].id, bad[i].value, &m, &err);
        if (r != WARD_E_PARSE || !err.data || !strstr(err.data, bad[i].want))
            fail_msg("%s/%s/%s: got %d '%s', want '%s'", bad[i].type, bad[i].id, bad[i].value, r,
                     err.data ? err.data : "", bad[i].want);
    }
    char id[WARD_GOLECTRA_MAX_ID + 2];
    memset(id, 'a', sizeof(id) - 1);
    id[sizeof(id) - 1] = '\0';
    assert_int_equal(ward_golectra_parse_update("gauge", id, "1", &m, &err), WARD_E_PARSE);
    id[WARD_GOLECTRA_MAX_ID] = '\0';
    assert_int_equal(ward_golectra_parse_update("gauge", id, "1", &m, &err), 0);
    ward_buf_done(&err);
}

/* Decodes body with fn and checks the refusal's code and message. */
static void refused(int (*fn)(const char *, size_t, struct ward_golectra_metric *,
                              struct ward_buf *),
                    const char *body, int code, const char *want)
{
    struct ward_golectra_metric m;
    struct ward_buf err = WARD_BUF_INIT;
    int r = fn(body, strlen(body), &m, &err);
    if (r != code || !err.data || !strstr(err.data, want))
        fail_msg("decoding %.80s: got %d '%s', want %d '%s'", body, r, err.data ? err.data : "",
                 code, want);
    ward_buf_done(&err);
}

static void update_body(void **unused)
{
    (void)unused;
    struct ward_golectra_metric m;
    struct ward_buf err = WARD_BUF_INIT;
    const char *b = "{\"id\":\"Alloc\",\"type\":\"gauge\",\"value\":12345}";
    assert_int_equal(ward_golectra_decode_update(b, strlen(b), &m, &err), 0);
    assert_string_equal(m.id, "Alloc");
    assert_true(m.value == 12345);
    b = "{\"type\":\"counter\",\"extra\":{\"a\":[1,2]},\"delta\":7,\"value\":null,\"id\":\"bar\"}";
    assert_int_equal(ward_golectra_decode_update(b, strlen(b), &m, &err), 0);
    assert_int_equal(m.type, WARD_GOLECTRA_COUNTER);
    assert_int_equal(m.delta, 7);
    assert_string_equal(m.id, "bar");
    ward_buf_done(&err);

    int (*fn)(const char *, size_t, struct ward_golectra_metric *, struct ward_buf *) =
        ward_golectra_decode_update;
    refused(fn, "", WARD_E_JSON_SYNTAX, "invalid JSON at byte 0");
    refused(fn, "   ", WARD_E_JSON_SYNTAX, "invalid JSON");
    refused(fn, "[]", WARD_E_JSON_TYPE, "expected a JSON object");
    refused(fn, "{\"id\":\"a\",\"type\":\"gauge\",\"value\":1", WARD_E_JSON_SYNTAX, "invalid JSON");
    refused(fn, "{\"id\":\"a\",\"type\":\"gauge\",\"value\":1} x", WARD_E_JSON_SYNTAX,
            "invalid JSON");
    refused(fn, "{\"type\":\"gauge\",\"value\":1}", WARD_E_JSON_TYPE, "id: missing");
    refused(fn, "{\"id\":\"a\",\"value\":1}", WARD_E_JSON_TYPE, "type: missing");
    refused(fn, "{\"id\":\"a\",\"type\":\"gauge\"}", WARD_E_JSON_TYPE,
            "value: missing; a gauge needs a number");
    refused(fn, "{\"id\":\"a\",\"type\":\"gauge\",\"delta\":1}", WARD_E_JSON_TYPE,
            "value: missing");
    refused(fn, "{\"id\":\"a\",\"type\":\"counter\",\"value\":1}", WARD_E_JSON_TYPE,
            "delta: missing; a counter needs an integer");
    refused(fn, "{\"id\":\"a\",\"type\":\"counter\",\"delta\":7.5}", WARD_E_JSON_TYPE,
            "delta: expected an integer, got '7.5'");
    refused(fn, "{\"id\":\"a\",\"type\":\"counter\",\"delta\":7.0}", WARD_E_JSON_TYPE, "delta");
    refused(fn, "{\"id\":\"a\",\"type\":\"counter\",\"delta\":\"7\"}", WARD_E_JSON_TYPE,
            "delta: expected an integer, got string");
    refused(fn, "{\"id\":\"a\",\"type\":\"gauge\",\"value\":\"1\"}", WARD_E_JSON_TYPE,
            "value: expected a number, got string");
    refused(fn, "{\"id\":\"a\",\"type\":\"gauge\",\"value\":1e999}", WARD_E_JSON_NUMBER,
            "invalid JSON");
    refused(fn, "{\"id\":\"a\",\"type\":\"summary\",\"value\":1}", WARD_E_JSON_TYPE,
            "type: must be \"gauge\" or \"counter\"");
    refused(fn, "{\"id\":7,\"type\":\"gauge\",\"value\":1}", WARD_E_JSON_TYPE,
            "id: expected a string, got integer");
    refused(fn, "{\"id\":\"\",\"type\":\"gauge\",\"value\":1}", WARD_E_JSON_TYPE, "id: must be");
    refused(fn, "{\"id\":\"a/b\",\"type\":\"gauge\",\"value\":1}", WARD_E_JSON_TYPE, "id: must be");
    refused(fn, "{\"id\":\"a\\u0000\",\"type\":\"gauge\",\"value\":1}", WARD_E_JSON_TYPE,
            "id: must be");
    refused(fn, "{\"x\":[[[[[[[[[[1]]]]]]]]]]}", WARD_E_JSON_DEPTH, "invalid JSON");
}

static void value_body(void **unused)
{
    (void)unused;
    struct ward_golectra_metric m;
    struct ward_buf err = WARD_BUF_INIT;
    const char *b = "{\"id\":\"Alloc\",\"type\":\"gauge\"}";
    assert_int_equal(ward_golectra_decode_value(b, strlen(b), &m, &err), 0);
    assert_string_equal(m.id, "Alloc");
    assert_false(m.has_number);
    b = "{\"id\":\"c\",\"type\":\"counter\",\"delta\":3}";
    assert_int_equal(ward_golectra_decode_value(b, strlen(b), &m, &err), 0);
    assert_true(m.has_number);
    ward_buf_done(&err);
    refused(ward_golectra_decode_value, "{\"type\":\"gauge\"}", WARD_E_JSON_TYPE, "id: missing");
    refused(ward_golectra_decode_value, "{\"id\":\"x\"}", WARD_E_JSON_TYPE, "type: missing");
}

static int decode_list(const char *body, size_t max, struct ward_golectra_list *l,
                       struct ward_buf *err)
{
    return ward_golectra_decode_updates(body, strlen(body), max, l, err);
}

static void updates_body(void **unused)
{
    (void)unused;
    struct ward_golectra_list l = WARD_GOLECTRA_LIST_INIT;
    struct ward_buf err = WARD_BUF_INIT;
    assert_int_equal(decode_list("[{\"id\":\"foo\",\"type\":\"gauge\",\"value\":1.23},"
                                 "{\"id\":\"bar\",\"type\":\"counter\",\"delta\":7}]",
                                 10, &l, &err),
                     0);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.items[0].id, "foo");
    assert_true(l.items[0].value == 1.23);
    assert_string_equal(l.items[1].id, "bar");
    assert_int_equal(l.items[1].delta, 7);
    ward_golectra_list_done(&l);

    assert_int_equal(decode_list(" [ ] ", 10, &l, &err), 0);
    assert_int_equal(l.n, 0);
    ward_golectra_list_done(&l);

    static const struct {
        const char *body;
        int code;
        const char *want;
    } bad[] = {
        {"{}", WARD_E_JSON_TYPE, "expected a JSON array of metrics, got object"},
        {"", WARD_E_JSON_SYNTAX, "invalid JSON"},
        {"[1]", WARD_E_JSON_TYPE, "[0]: expected an object, got integer"},
        {"[{\"id\":\"a\",\"type\":\"gauge\",\"value\":1},{\"id\":\"b\",\"type\":\"x\"}]",
         WARD_E_JSON_TYPE, "[1].type: must be \"gauge\" or \"counter\""},
        {"[{\"id\":\"a\",\"type\":\"counter\",\"delta\":1.5}]", WARD_E_JSON_TYPE,
         "[0].delta: expected an integer"},
        {"[{\"id\":\"a\",\"type\":\"gauge\",\"value\":1},", WARD_E_JSON_SYNTAX, "invalid JSON"},
        {"[{\"id\":\"a\",\"type\":\"gauge\",\"value\":1}] []", WARD_E_JSON_SYNTAX, "invalid JSON"},
        {"[{\"id\":\"a\",\"type\":\"gauge\",\"value\":1},{\"id\":\"b\",\"type\":\"gauge\","
         "\"value\":2},{\"id\":\"c\",\"type\":\"gauge\",\"value\":3}]",
         WARD_E_LIMIT, "more than 2 metrics"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int r = decode_list(bad[i].body, 2, &l, &err);
        if (r != bad[i].code || !err.data || !strstr(err.data, bad[i].want))
            fail_msg("decoding %s: got %d '%s', want %d '%s'", bad[i].body, r,
                     err.data ? err.data : "", bad[i].code, bad[i].want);
        ward_golectra_list_done(&l);
    }
    ward_buf_done(&err);
}

static void plain_values(void **unused)
{
    (void)unused;
    static const struct {
        double v;
        const char *want;
    } cases[] = {
        {12345, "12345"},
        {1.23, "1.23"},
        {0, "0"},
        {-0.5, "-0.5"},
        {0.000001, "0.000001"},
        {1e-7, "0.0000001"},
        {1.5e-7, "0.00000015"},
        {1e21, "1000000000000000000000"},
        {123456789.125, "123456789.125"},
        {0.1 + 0.2, "0.30000000000000004"},
        {4.9406564584124654e-324, NULL},
        {1.7976931348623157e308, NULL},
        {-2.2250738585072014e-308, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[WARD_GOLECTRA_VALUE_MAX];
        size_t n = ward_golectra_format_value(cases[i].v, out);
        assert_int_equal(n, strlen(out));
        if (cases[i].want)
            assert_string_equal(out, cases[i].want);
        assert_null(strchr(out, 'e'));
        assert_true(strtod(out, NULL) == cases[i].v);
    }
    /* Every finite value reads back exactly. */
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        double v;
        memcpy(&v, &x, sizeof(v));
        if (!isfinite(v))
            continue;
        char out[WARD_GOLECTRA_VALUE_MAX];
        ward_golectra_format_value(v, out);
        if (strtod(out, NULL) != v)
            fail_msg("%.17g formatted as %s", v, out);
    }
    char out[WARD_GOLECTRA_VALUE_MAX];
    assert_int_equal(ward_golectra_format_value(NAN, out), 0);
}

static void encode_json(const struct ward_golectra_metric *m, const char *want)
{
    struct ward_buf out = WARD_BUF_INIT;
    assert_int_equal(ward_golectra_encode(m, &out), 0);
    assert_string_equal(out.data, want);
    ward_buf_done(&out);
}

static void json_responses(void **unused)
{
    (void)unused;
    struct ward_golectra_metric m = {.id = "Alloc", .type = WARD_GOLECTRA_GAUGE, .value = 12345};
    encode_json(&m, "{\"id\":\"Alloc\",\"type\":\"gauge\",\"value\":12345}");
    m.value = 1e21;
    encode_json(&m, "{\"id\":\"Alloc\",\"type\":\"gauge\",\"value\":1e+21}");
    m.value = 1e-7;
    encode_json(&m, "{\"id\":\"Alloc\",\"type\":\"gauge\",\"value\":1e-7}");
    m.value = -1.5e-10;
    encode_json(&m, "{\"id\":\"Alloc\",\"type\":\"gauge\",\"value\":-1.5e-10}");
    m.value = 1e300;
    encode_json(&m, "{\"id\":\"Alloc\",\"type\":\"gauge\",\"value\":1e+300}");
    m.value = 0.000001;
    encode_json(&m, "{\"id\":\"Alloc\",\"type\":\"gauge\",\"value\":0.000001}");
    m.value = 123456789012345680000.0;
    encode_json(&m, "{\"id\":\"Alloc\",\"type\":\"gauge\",\"value\":123456789012345680000}");
    struct ward_golectra_metric c = {
        .id = "Poll\"Count", .type = WARD_GOLECTRA_COUNTER, .delta = -42};
    encode_json(&c, "{\"id\":\"Poll\\\"Count\",\"type\":\"counter\",\"delta\":-42}");

    struct ward_golectra_metric both[2] = {m, c};
    struct ward_buf out = WARD_BUF_INIT;
    assert_int_equal(ward_golectra_encode_list(both, 2, &out), 0);
    struct ward_golectra_list l = WARD_GOLECTRA_LIST_INIT;
    struct ward_buf err = WARD_BUF_INIT;
    assert_int_equal(ward_golectra_decode_updates(out.data, out.len, 10, &l, &err), 0);
    assert_int_equal(l.n, 2);
    assert_true(l.items[0].value == m.value);
    assert_string_equal(l.items[1].id, "Poll\"Count");
    assert_int_equal(l.items[1].delta, -42);
    ward_golectra_list_done(&l);
    ward_buf_reset(&out);
    assert_int_equal(ward_golectra_encode_list(NULL, 0, &out), 0);
    assert_string_equal(out.data, "[]");
    ward_buf_done(&out);
    ward_buf_done(&err);
}

static void html_page(void **unused)
{
    (void)unused;
    struct ward_golectra_metric m[] = {
        {.id = "zeta", .type = WARD_GOLECTRA_GAUGE, .value = 2.5},
        {.id = "PollCount", .type = WARD_GOLECTRA_COUNTER, .delta = 9},
        {.id = "<b>&'\"", .type = WARD_GOLECTRA_GAUGE, .value = 1},
        {.id = "Alloc", .type = WARD_GOLECTRA_GAUGE, .value = 1e21},
    };
    struct ward_buf out = WARD_BUF_INIT;
    assert_int_equal(ward_golectra_render_tables(m, 4, &out), 0);
    const char *s = out.data;
    assert_non_null(strstr(s, "<h1>Metrics</h1>"));
    assert_null(strstr(s, "<b>"));
    const char *esc = strstr(s, "<td>&lt;b&gt;&amp;&#39;&quot;</td><td>1</td>");
    const char *alloc = strstr(s, "<td>Alloc</td><td>1000000000000000000000</td>");
    const char *zeta = strstr(s, "<td>zeta</td><td>2.5</td>");
    const char *counters = strstr(s, "<h2>Counters</h2>");
    const char *poll = strstr(s, "<td>PollCount</td><td>9</td>");
    assert_non_null(esc);
    assert_non_null(alloc);
    assert_non_null(zeta);
    assert_non_null(counters);
    assert_non_null(poll);
    /* Sorted by id ('<' sorts before letters), gauges before counters. */
    assert_true(esc < alloc && alloc < zeta && zeta < counters && counters < poll);
    ward_buf_reset(&out);
    assert_int_equal(ward_golectra_render_tables(NULL, 0, &out), 0);
    assert_non_null(strstr(out.data, "<h2>Gauges</h2>"));
    ward_buf_done(&out);
}

static void hash(void **unused)
{
    (void)unused;
    char out[WARD_GOLECTRA_HASH_HEX + 1];
    const char *body = SEED_BODY, *key = SEED_KEY;
    assert_int_equal(ward_golectra_hash(body, strlen(body), key, strlen(key), out), 0);
    assert_string_equal(out, SEED_HASH);
    assert_int_equal(ward_golectra_hash(NULL, 0, key, strlen(key), out), 0);
    assert_string_equal(out, "ef1ea5dd2b28d2c127ffb41c522ac19787f408c19195cc2bebb41e227f664e86");

    assert_int_equal(ward_golectra_hash_verify(body, strlen(body), key, strlen(key), SEED_HASH, 64),
                     0);
    char upper[65];
    for (size_t i = 0; i < 65; i++)
        upper[i] = (char)(SEED_HASH[i] >= 'a' ? SEED_HASH[i] - 32 : SEED_HASH[i]);
    assert_int_equal(ward_golectra_hash_verify(body, strlen(body), key, strlen(key), upper, 64), 0);
    char wrong[65];
    memcpy(wrong, SEED_HASH, 65);
    wrong[10] = wrong[10] == '0' ? '1' : '0';
    assert_int_equal(ward_golectra_hash_verify(body, strlen(body), key, strlen(key), wrong, 64),
                     -EBADMSG);
    /* The key matters, and so does every byte of the body. */
    assert_int_equal(ward_golectra_hash_verify(body, strlen(body), "other", 5, SEED_HASH, 64),
                     -EBADMSG);
    assert_int_equal(
        ward_golectra_hash_verify(body, strlen(body) - 1, key, strlen(key), SEED_HASH, 64),
        -EBADMSG);
    assert_int_equal(ward_golectra_hash_verify(body, strlen(body), key, strlen(key), SEED_HASH, 63),
                     WARD_E_PARSE);
    assert_int_equal(ward_golectra_hash_verify(body, strlen(body), key, strlen(key), "", 0),
                     WARD_E_PARSE);
    memcpy(wrong, SEED_HASH, 65);
    wrong[3] = 'g';
    assert_int_equal(ward_golectra_hash_verify(body, strlen(body), key, strlen(key), wrong, 64),
                     WARD_E_PARSE);
}

static char tmpdir[64];

static int make_tmpdir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/ward-golectra-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static void snapshot(void **unused)
{
    (void)unused;
    char path[128], tmp[160];
    snprintf(path, sizeof(path), "%s/metrics-db.json", tmpdir);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    struct ward_golectra_list l = WARD_GOLECTRA_LIST_INIT;
    struct ward_buf err = WARD_BUF_INIT;
    assert_int_equal(ward_golectra_snapshot_read(path, &l, &err), -ENOENT);
    assert_non_null(strstr(err.data, "metrics-db.json"));

    struct ward_golectra_metric m[] = {
        {.id = "Alloc", .type = WARD_GOLECTRA_GAUGE, .value = 0.1 + 0.2, .has_number = true},
        {.id = "PollCount", .type = WARD_GOLECTRA_COUNTER, .delta = 123456789, .has_number = true},
    };
    assert_int_equal(ward_golectra_snapshot_write(path, m, 2), 0);
    assert_int_equal(access(tmp, F_OK), -1);
    assert_int_equal(ward_golectra_snapshot_read(path, &l, &err), 0);
    assert_int_equal(l.n, 2);
    for (size_t i = 0; i < 2; i++) {
        assert_string_equal(l.items[i].id, m[i].id);
        assert_int_equal(l.items[i].type, m[i].type);
        assert_true(l.items[i].has_number);
        assert_true(l.items[i].value == m[i].value);
        assert_int_equal(l.items[i].delta, m[i].delta);
    }
    ward_golectra_list_done(&l);

    /* A second write replaces the first. */
    assert_int_equal(ward_golectra_snapshot_write(path, m + 1, 1), 0);
    assert_int_equal(ward_golectra_snapshot_read(path, &l, &err), 0);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.items[0].id, "PollCount");
    ward_golectra_list_done(&l);

    write_file(path, "");
    assert_int_equal(ward_golectra_snapshot_read(path, &l, &err), 0);
    assert_int_equal(l.n, 0);

    write_file(path, "[{\"id\":\"a\",\"type\":\"gauge\",\"value\":1},{\"id\":\"b\"");
    assert_int_equal(ward_golectra_snapshot_read(path, &l, &err), WARD_E_JSON_SYNTAX);
    assert_non_null(strstr(err.data, "metrics-db.json: [1]: invalid JSON"));
    ward_golectra_list_done(&l);

    /* Too large is refused by its size, before anything is read. */
    int fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)WARD_GOLECTRA_MAX_SNAPSHOT_BYTES + 1), 0);
    close(fd);
    assert_int_equal(ward_golectra_snapshot_read(path, &l, &err), WARD_E_LIMIT);
    assert_non_null(strstr(err.data, "larger than"));

    assert_int_equal(ward_golectra_snapshot_read(tmpdir, &l, &err), -EINVAL);
    assert_non_null(strstr(err.data, "not a regular file"));

    /* A directory that does not exist fails cleanly and leaves nothing behind. */
    snprintf(path, sizeof(path), "%s/missing/metrics-db.json", tmpdir);
    assert_int_equal(ward_golectra_snapshot_write(path, m, 2), -ENOENT);
    assert_int_equal(ward_golectra_snapshot_write("", m, 2), -ENAMETOOLONG);
    ward_buf_done(&err);
}

static void list_bound(void **unused)
{
    (void)unused;
    struct ward_golectra_list l = WARD_GOLECTRA_LIST_INIT;
    struct ward_golectra_metric m = {.id = "x"};
    for (int i = 0; i < 3; i++)
        assert_int_equal(ward_golectra_list_add(&l, &m, 3), 0);
    assert_int_equal(ward_golectra_list_add(&l, &m, 3), WARD_E_LIMIT);
    assert_int_equal(l.n, 3);
    assert_true(l.cap <= 3);
    ward_golectra_list_done(&l);
    assert_null(l.items);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(text_route),   cmocka_unit_test(update_body),
        cmocka_unit_test(value_body),   cmocka_unit_test(updates_body),
        cmocka_unit_test(plain_values), cmocka_unit_test(json_responses),
        cmocka_unit_test(html_page),    cmocka_unit_test(hash),
        cmocka_unit_test(snapshot),     cmocka_unit_test(list_bound),
    };
    return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
