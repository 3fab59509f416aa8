/*
 * Tests of ingest decoding: the wire shape, defaults, canonical labels,
 * and a clear error for every kind of bad batch.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/error.h"
#include "server/ingest.h"

#define HOST "0192A1B2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
#define NOW  1700000000000

struct result {
    struct ward_ingest in;
    struct ward_buf err;
    int r;
};

static void decode(struct result *res, const char *json)
{
    ward_ingest_init(&res->in);
    ward_buf_init(&res->err, 0);
    res->r = ward_ingest_decode(&res->in, json, strlen(json), NOW, &res->err);
}

static void release(struct result *res)
{
    ward_ingest_done(&res->in);
    ward_buf_done(&res->err);
}

/* Decodes json and checks that it fails with code and a message containing want. */
static void refused(const char *json, int code, const char *want)
{
    struct result res;
    decode(&res, json);
    if (res.r != code || !res.err.data || !strstr(res.err.data, want))
        fail_msg("decoding %.80s: got %d '%s', want %d '%s'", json, res.r,
                 res.err.data ? res.err.data : "", code, want);
    release(&res);
}

static void wire_batch(void **unused)
{
    (void)unused;
    struct result res;
    decode(&res, "{\"server_id\":\"" HOST "\",\"batch\":{\"seq\":3,\"boot\":42},\"metrics\":["
                 "{\"metric_type\":\"cpu\",\"metric_name\":\"usage_percent\",\"value\":12.5,"
                 "\"labels\":{\"core\":\"3\"},\"timestamp\":1700000000123},"
                 "{\"metric_type\":\"net\",\"metric_name\":\"rx_bytes\",\"value\":7,"
                 "\"kind\":\"counter\",\"labels\":{\"z\":\"1\",\"a\":\"2\"},"
                 "\"timestamp\":\"2023-11-14T22:13:20.5Z\",\"future\":[1,{\"x\":2}]}]}");
    assert_int_equal(res.r, 0);
    assert_string_equal(res.in.server_id, "0192a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b");
    assert_true(res.in.has_batch);
    assert_int_equal(res.in.batch.seq, 3);
    assert_int_equal(res.in.batch.boot, 42);
    assert_int_equal(res.in.n_samples, 2);
    const struct ward_sample *s = res.in.samples;
    assert_string_equal(s[0].category, "cpu");
    assert_string_equal(s[0].name, "usage_percent");
    assert_string_equal(s[0].labels, "{\"core\":\"3\"}");
    assert_true(s[0].value == 12.5);
    assert_int_equal(s[0].ts_ms, 1700000000123);
    assert_int_equal(s[0].kind, WARD_KIND_GAUGE);
    assert_string_equal(s[1].labels, "{\"a\":\"2\",\"z\":\"1\"}");
    assert_int_equal(s[1].kind, WARD_KIND_COUNTER);
    assert_int_equal(s[1].ts_ms, 1700000000500);
    release(&res);
}

static void seed_shape_defaults(void **unused)
{
    (void)unused;
    struct result res;
    decode(&res, "{\"metrics\":[{\"metric_type\":\"ram\",\"metric_name\":\"u\",\"value\":1},"
                 "{\"metric_type\":\"ram\",\"metric_name\":\"u\",\"value\":2,\"labels\":{}}],"
                 "\"server_id\":\"" HOST "\"}");
    assert_int_equal(res.r, 0);
    assert_false(res.in.has_batch);
    assert_int_equal(res.in.n_samples, 2);
    assert_string_equal(res.in.samples[0].labels, "{}");
    assert_string_equal(res.in.samples[1].labels, "{}");
    assert_int_equal(res.in.samples[0].ts_ms, NOW);
    /* Repeated names are stored once. */
    assert_ptr_equal(res.in.samples[0].category, res.in.samples[1].category);
    release(&res);
}

static void escaped_labels_are_canonical(void **unused)
{
    (void)unused;
    struct result res;
    decode(&res, "{\"server_id\":\"" HOST "\",\"metrics\":[{\"metric_type\":\"a\","
                 "\"metric_name\":\"b\",\"value\":1,\"labels\":{\"\\u006b\":\"\\u00e9\\n\"}}]}");
    assert_int_equal(res.r, 0);
    assert_string_equal(res.in.samples[0].labels, "{\"k\":\"\xc3\xa9\\n\"}");
    release(&res);
}

static void empty_metrics(void **unused)
{
    (void)unused;
    struct result res;
    decode(&res, "{\"server_id\":\"" HOST "\",\"metrics\":[]}");
    assert_int_equal(res.r, 0);
    assert_int_equal(res.in.n_samples, 0);
    assert_null(res.in.samples);
    release(&res);
}

static void refusals(void **unused)
{
    (void)unused;
    const char *m = "\"metric_type\":\"a\",\"metric_name\":\"b\"";
    char doc[512];
    refused("", WARD_E_JSON_SYNTAX, "invalid JSON at byte 0");
    refused("{", WARD_E_JSON_SYNTAX, "invalid JSON");
    refused("[]", WARD_E_JSON_TYPE, "expected object");
    refused("{\"metrics\":[]}", WARD_E_JSON_TYPE, "server_id: missing");
    refused("{\"server_id\":\"" HOST "\"}", WARD_E_JSON_TYPE, "metrics: missing");
    refused("{\"server_id\":\"abc\",\"metrics\":[]}", WARD_E_JSON_TYPE, "not a UUID");
    refused("{\"server_id\":7,\"metrics\":[]}", WARD_E_JSON_TYPE, "server_id");
    refused("{\"server_id\":\"" HOST "\",\"metrics\":{}}", WARD_E_JSON_TYPE, "metrics");
    refused("{\"server_id\":\"" HOST "\",\"metrics\":[1]}", WARD_E_JSON_TYPE, "metrics[0]");
    snprintf(doc, sizeof(doc), "{\"server_id\":\"" HOST "\",\"metrics\":[{%s,\"value\":\"1\"}]}",
             m);
    refused(doc, WARD_E_JSON_TYPE, "metrics[0].value");
    snprintf(doc, sizeof(doc), "{\"server_id\":\"" HOST "\",\"metrics\":[{%s}]}", m);
    refused(doc, WARD_E_JSON_TYPE, "missing \"value\"");
    snprintf(doc, sizeof(doc),
             "{\"server_id\":\"" HOST "\",\"metrics\":[{%s,\"value\":1,\"kind\":\"x\"}]}", m);
    refused(doc, WARD_E_JSON_TYPE, "gauge");
    snprintf(doc, sizeof(doc),
             "{\"server_id\":\"" HOST "\",\"metrics\":[{%s,\"value\":1,\"timestamp\":-5}]}", m);
    refused(doc, WARD_E_JSON_TYPE, "timestamp");
    snprintf(doc, sizeof(doc),
             "{\"server_id\":\"" HOST "\",\"metrics\":[{%s,\"value\":1,\"timestamp\":1.5}]}", m);
    refused(doc, WARD_E_JSON_TYPE, "timestamp");
    snprintf(doc, sizeof(doc),
             "{\"server_id\":\"" HOST "\",\"metrics\":[{%s,\"value\":1,\"labels\":{\"k\":1}}]}", m);
    refused(doc, WARD_E_JSON_TYPE, "labels");
    snprintf(doc, sizeof(doc),
             "{\"server_id\":\"" HOST
             "\",\"metrics\":[{%s,\"value\":1,\"labels\":{\"k\":\"1\",\"k\":\"2\"}}]}",
             m);
    refused(doc, WARD_E_JSON_TYPE, "appears twice");
    snprintf(doc, sizeof(doc),
             "{\"server_id\":\"" HOST "\",\"metrics\":[{%s,\"value\":1,\"labels\":{\"\":\"1\"}}]}",
             m);
    refused(doc, WARD_E_JSON_TYPE, "label names");
    refused("{\"server_id\":\"" HOST "\",\"metrics\":[{\"metric_type\":\"a b\","
            "\"metric_name\":\"b\",\"value\":1}]}",
            WARD_E_JSON_TYPE, "metric_type");
    refused("{\"server_id\":\"" HOST "\",\"batch\":{\"seq\":1},\"metrics\":[]}", WARD_E_JSON_TYPE,
            "boot");
    refused("{\"server_id\":\"" HOST "\",\"batch\":{\"seq\":-1,\"boot\":1},\"metrics\":[]}",
            WARD_E_JSON_TYPE, "negative");
    refused("{\"server_id\":\"" HOST "\",\"metrics\":[]} x", WARD_E_JSON_SYNTAX, "invalid JSON");
    refused("{\"server_id\":\"" HOST "\",\"metrics\":[],\"x\":[[[[[[[[[[1]]]]]]]]]]}",
            WARD_E_JSON_DEPTH, "invalid JSON");
    refused("{\"server_id\":\"" HOST "\",\"metrics\":[],\"x\":\"\xff\"}", WARD_E_JSON_UTF8,
            "invalid JSON");
}

static void label_limits(void **unused)
{
    (void)unused;
    struct ward_buf doc = WARD_BUF_INIT;
    ward_buf_puts(&doc, "{\"server_id\":\"" HOST "\",\"metrics\":[{\"metric_type\":\"a\","
                        "\"metric_name\":\"b\",\"value\":1,\"labels\":{");
    for (int i = 0; i <= WARD_INGEST_MAX_LABELS; i++)
        ward_buf_printf(&doc, "%s\"k%d\":\"v\"", i ? "," : "", i);
    ward_buf_puts(&doc, "}}]}");
    refused(doc.data, WARD_E_LIMIT, "more than 16 labels");

    ward_buf_reset(&doc);
    ward_buf_puts(&doc, "{\"server_id\":\"" HOST "\",\"metrics\":[{\"metric_type\":\"a\","
                        "\"metric_name\":\"b\",\"value\":1,\"labels\":{\"k\":\"");
    for (int i = 0; i <= WARD_INGEST_MAX_LABEL_VALUE; i++)
        ward_buf_putc(&doc, 'v');
    ward_buf_puts(&doc, "\"}}]}");
    refused(doc.data, WARD_E_LIMIT, "label values");

    ward_buf_reset(&doc);
    ward_buf_puts(&doc, "{\"server_id\":\"" HOST "\",\"metrics\":[{\"metric_type\":\"");
    for (int i = 0; i <= WARD_INGEST_MAX_NAME; i++)
        ward_buf_putc(&doc, 'a');
    ward_buf_puts(&doc, "\",\"metric_name\":\"b\",\"value\":1}]}");
    refused(doc.data, WARD_E_JSON_TYPE, "metric_type");
    ward_buf_done(&doc);
}

static void metric_count_limit(void **unused)
{
    (void)unused;
    struct ward_buf doc = WARD_BUF_INIT;
    ward_buf_puts(&doc, "{\"server_id\":\"" HOST "\",\"metrics\":[");
    for (int i = 0; i <= WARD_INGEST_MAX_METRICS; i++)
        ward_buf_printf(&doc, "%s{\"metric_type\":\"a\",\"metric_name\":\"b\",\"value\":%d}",
                        i ? "," : "", i);
    ward_buf_puts(&doc, "]}");
    refused(doc.data, WARD_E_LIMIT, "more than 100000 metrics");
    ward_buf_done(&doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(wire_batch),
        cmocka_unit_test(seed_shape_defaults),
        cmocka_unit_test(escaped_labels_are_canonical),
        cmocka_unit_test(empty_metrics),
        cmocka_unit_test(refusals),
        cmocka_unit_test(label_limits),
        cmocka_unit_test(metric_count_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
