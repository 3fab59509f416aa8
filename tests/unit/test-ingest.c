/*
 * Tests of ingest decoding: the wire shape, defaults, canonical labels,
 * and a clear error for every kind of bad batch. The series shape is
 * checked against the metrics shape: the same samples sent both ways must
 * decode to the same result.
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
    refused("{\"server_id\":\"" HOST "\"}", WARD_E_JSON_TYPE, "\"series\"");
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
    /* A time before 1970 is refused in either spelling. */
    snprintf(doc, sizeof(doc),
             "{\"server_id\":\"" HOST "\",\"metrics\":[{%s,\"value\":1,"
             "\"timestamp\":\"1960-01-01T00:00:00Z\"}]}",
             m);
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

/* Checks that a and b decoded to the same samples, compared by value. */
static void assert_same_samples(const struct result *a, const struct result *b)
{
    assert_int_equal(a->r, 0);
    assert_int_equal(b->r, 0);
    assert_string_equal(a->in.server_id, b->in.server_id);
    assert_int_equal(a->in.has_batch, b->in.has_batch);
    assert_int_equal(a->in.batch.seq, b->in.batch.seq);
    assert_int_equal(a->in.batch.boot, b->in.batch.boot);
    assert_int_equal(a->in.n_samples, b->in.n_samples);
    for (size_t i = 0; i < a->in.n_samples; i++) {
        const struct ward_sample *x = &a->in.samples[i], *y = &b->in.samples[i];
        assert_string_equal(x->category, y->category);
        assert_string_equal(x->name, y->name);
        assert_string_equal(x->labels, y->labels);
        assert_int_equal(x->kind, y->kind);
        assert_int_equal(x->ts_ms, y->ts_ms);
        assert_memory_equal(&x->value, &y->value, sizeof(x->value));
    }
}

static void series_round_trip(void **unused)
{
    (void)unused;
    struct result m, s;
    decode(&m, "{\"server_id\":\"" HOST "\",\"batch\":{\"seq\":9,\"boot\":4},\"metrics\":["
               "{\"metric_type\":\"cpu\",\"metric_name\":\"usage_percent\",\"value\":12.5,"
               "\"labels\":{\"core\":\"0\"},\"timestamp\":1700000000000},"
               "{\"metric_type\":\"cpu\",\"metric_name\":\"usage_percent\",\"value\":13,"
               "\"labels\":{\"core\":\"0\"},\"timestamp\":1700000001000},"
               "{\"metric_type\":\"cpu\",\"metric_name\":\"usage_percent\",\"value\":-0.0,"
               "\"labels\":{\"core\":\"0\"},\"timestamp\":1700000001000},"
               "{\"metric_type\":\"cpu\",\"metric_name\":\"usage_percent\",\"value\":1e-300,"
               "\"labels\":{\"core\":\"0\"},\"timestamp\":1700000003500},"
               "{\"metric_type\":\"net\",\"metric_name\":\"rx_bytes\",\"value\":123456789012,"
               "\"kind\":\"counter\",\"labels\":{\"z\":\"1\",\"a\":\"\\u00e9\"},"
               "\"timestamp\":\"2023-11-14T22:13:20Z\"},"
               "{\"metric_type\":\"net\",\"metric_name\":\"rx_bytes\",\"value\":123456789999,"
               "\"kind\":\"counter\",\"labels\":{\"a\":\"\xc3\xa9\",\"z\":\"1\"},"
               "\"timestamp\":1700000010000},"
               "{\"metric_type\":\"ram\",\"metric_name\":\"used\",\"value\":7,"
               "\"timestamp\":0}]}");
    /* The same samples as series, with the keys in another order. */
    decode(&s, "{\"series\":["
               "{\"metric_type\":\"cpu\",\"metric_name\":\"usage_percent\","
               "\"labels\":{\"core\":\"0\"},\"t0\":1700000000000,\"dt\":[1000,0,2500],"
               "\"values\":[12.5,13.0,-0.0,1e-300]},"
               "{\"values\":[123456789012,123456789999],\"dt\":[10000],\"kind\":\"counter\","
               "\"t0\":1700000000000,\"labels\":{\"a\":\"\xc3\xa9\",\"z\":\"1\"},"
               "\"metric_name\":\"rx_bytes\",\"metric_type\":\"net\"},"
               "{\"metric_type\":\"ram\",\"metric_name\":\"used\",\"t0\":0,\"values\":[7],"
               "\"future\":{\"x\":[1]}}],"
               "\"batch\":{\"seq\":9,\"boot\":4},\"server_id\":\"" HOST "\"}");
    assert_same_samples(&m, &s);
    assert_int_equal(s.in.n_samples, 7);
    assert_string_equal(s.in.samples[4].labels, "{\"a\":\"\xc3\xa9\",\"z\":\"1\"}");
    assert_int_equal(s.in.samples[3].ts_ms, 1700000003500);
    release(&m);
    release(&s);
}

static void series_one_value(void **unused)
{
    (void)unused;
    struct result a, b, c;
    const char *head = "{\"server_id\":\"" HOST "\",\"series\":[{\"metric_type\":\"a\","
                       "\"metric_name\":\"b\",\"t0\":253402300799999,\"values\":[4]";
    char doc[512];
    snprintf(doc, sizeof(doc), "%s}]}", head);
    decode(&a, doc);
    snprintf(doc, sizeof(doc), "%s,\"dt\":[]}]}", head);
    decode(&b, doc);
    decode(&c, "{\"server_id\":\"" HOST "\",\"metrics\":[{\"metric_type\":\"a\","
               "\"metric_name\":\"b\",\"value\":4,\"timestamp\":\"9999-12-31T23:59:59.999Z\"}]}");
    assert_int_equal(a.in.n_samples, 1);
    assert_int_equal(a.in.samples[0].ts_ms, 253402300799999);
    assert_string_equal(a.in.samples[0].labels, "{}");
    assert_int_equal(a.in.samples[0].kind, WARD_KIND_GAUGE);
    assert_same_samples(&a, &b);
    assert_same_samples(&a, &c);
    release(&a);
    release(&b);
    release(&c);
}

static void series_labels_and_kind_per_series(void **unused)
{
    (void)unused;
    struct result res;
    decode(&res,
           "{\"server_id\":\"" HOST "\",\"series\":["
           "{\"metric_type\":\"a\",\"metric_name\":\"b\",\"labels\":{\"y\":\"1\",\"x\":\"2\"},"
           "\"kind\":\"counter\",\"t0\":10,\"dt\":[1],\"values\":[1,2]},"
           "{\"metric_type\":\"a\",\"metric_name\":\"b\",\"t0\":10,\"dt\":[1],"
           "\"values\":[3,4]},"
           "{\"metric_type\":\"a\",\"metric_name\":\"c\",\"labels\":{\"k\":\"v\"},"
           "\"kind\":\"gauge\",\"t0\":5,\"values\":[5]}]}");
    assert_int_equal(res.r, 0);
    assert_int_equal(res.in.n_samples, 5);
    const struct ward_sample *s = res.in.samples;
    static const char *const labels[] = {"{\"x\":\"2\",\"y\":\"1\"}", "{\"x\":\"2\",\"y\":\"1\"}",
                                         "{}", "{}", "{\"k\":\"v\"}"};
    static const enum ward_metric_kind kinds[] = {
        WARD_KIND_COUNTER, WARD_KIND_COUNTER, WARD_KIND_GAUGE, WARD_KIND_GAUGE, WARD_KIND_GAUGE};
    static const int64_t ts[] = {10, 11, 10, 11, 5};
    for (size_t i = 0; i < 5; i++) {
        assert_string_equal(s[i].category, "a");
        assert_string_equal(s[i].name, i < 4 ? "b" : "c");
        assert_string_equal(s[i].labels, labels[i]);
        assert_int_equal(s[i].kind, kinds[i]);
        assert_int_equal(s[i].ts_ms, ts[i]);
        assert_true(s[i].value == (double)(i + 1));
    }
    /* Names repeated from one series to the next are stored once. */
    assert_ptr_equal(s[0].category, s[4].category);
    assert_ptr_equal(s[1].name, s[2].name);
    release(&res);
}

/* Refuses the series object obj (without braces) as the only item of "series". */
static void series_refused(const char *obj, int code, const char *want)
{
    char doc[1024];
    snprintf(doc, sizeof(doc), "{\"server_id\":\"" HOST "\",\"series\":[{%s}]}", obj);
    refused(doc, code, want);
}

static void series_refusals(void **unused)
{
    (void)unused;
    const int T = WARD_E_JSON_TYPE;
#define NAMES "\"metric_type\":\"a\",\"metric_name\":\"b\","
    /* dt of the wrong length, omitted or not. */
    series_refused(NAMES "\"t0\":1,\"values\":[1,2]", T,
                   "series[0].dt: length 0, expected 1 (one fewer than \"values\")");
    series_refused(NAMES "\"t0\":1,\"dt\":[],\"values\":[1,2]", T, "series[0].dt: length 0");
    series_refused(NAMES "\"t0\":1,\"dt\":[1,1],\"values\":[1,2]", T,
                   "series[0].dt: length 2, expected 1");
    series_refused(NAMES "\"t0\":1,\"dt\":[1],\"values\":[1]", T,
                   "series[0].dt: length 1, expected 0");
    /* Bad deltas. */
    series_refused(NAMES "\"t0\":1,\"dt\":[1,-1],\"values\":[1,2,3]", T,
                   "series[0].dt[1]: must not be negative");
    series_refused(NAMES "\"t0\":1,\"dt\":[1.5],\"values\":[1,2]", T,
                   "series[0].dt[0]: expected integer, got number");
    series_refused(NAMES "\"t0\":1,\"dt\":[\"1\"],\"values\":[1,2]", T,
                   "series[0].dt[0]: expected integer, got string");
    series_refused(NAMES "\"t0\":1,\"dt\":1,\"values\":[1,2]", T,
                   "series[0].dt: expected array, got integer");
    series_refused(NAMES "\"t0\":1,\"dt\":[1],\"dt\":[1],\"values\":[1,2]", T,
                   "series[0].dt: appears twice");
    /* Timestamps that leave the range, without overflowing on the way. */
    series_refused(NAMES "\"t0\":253402300799999,\"dt\":[0,1],\"values\":[1,2,3]", T,
                   "series[0].dt[1]: the timestamp passes 253402300799999");
    series_refused(NAMES "\"t0\":253402300799999,\"dt\":[9223372036854775807],\"values\":[1,2]", T,
                   "series[0].dt[0]");
    series_refused(NAMES "\"t0\":1,\"dt\":[9223372036854775807,9223372036854775807],"
                         "\"values\":[1,2,3]",
                   T, "series[0].dt[0]");
    series_refused(NAMES "\"t0\":1,\"dt\":[9223372036854775808],\"values\":[1,2]", T,
                   "series[0].dt[0]: expected integer, got number");
    series_refused(NAMES "\"t0\":-1,\"values\":[1]", T, "series[0].t0: expected Unix milliseconds");
    series_refused(NAMES "\"t0\":253402300800000,\"values\":[1]", T, "series[0].t0");
    series_refused(NAMES "\"t0\":1.5,\"values\":[1]", T, "series[0].t0");
    series_refused(NAMES "\"t0\":\"2025-11-20T10:00:00Z\",\"values\":[1]", T, "series[0].t0");
    series_refused(NAMES "\"values\":[1]", T, "series[0]: missing \"t0\"");
    /* Values. */
    series_refused(NAMES "\"t0\":1", T, "series[0]: missing \"values\"");
    series_refused(NAMES "\"t0\":1,\"values\":[]", T,
                   "series[0].values: expected at least one number");
    series_refused(NAMES "\"t0\":1,\"dt\":[1],\"values\":[1,\"2\"]", T,
                   "series[0].values[1]: expected number, got string");
    series_refused(NAMES "\"t0\":1,\"values\":[null]", T,
                   "series[0].values[0]: expected number, got null");
    series_refused(NAMES "\"t0\":1,\"values\":{}", T, "series[0].values: expected array");
    series_refused(NAMES "\"t0\":1,\"values\":[1],\"values\":[1]", T,
                   "series[0].values: appears twice");
    series_refused(NAMES "\"t0\":1,\"values\":[1e999]", WARD_E_JSON_NUMBER,
                   "series[0].values: invalid JSON");
    /* Names, labels and kind follow the rules of "metrics". */
    series_refused("\"metric_type\":\"a\",\"t0\":1,\"values\":[1]", T,
                   "series[0]: missing \"metric_name\"");
    series_refused("\"metric_type\":\"a b\",\"metric_name\":\"b\",\"t0\":1,\"values\":[1]", T,
                   "series[0].metric_type: must be");
    series_refused(NAMES "\"t0\":1,\"values\":[1],\"kind\":\"x\"", T,
                   "series[0].kind: must be \"gauge\" or \"counter\"");
    series_refused(NAMES "\"t0\":1,\"values\":[1],\"labels\":{\"k\":1}", T, "series[0].labels");
    series_refused(NAMES "\"t0\":1,\"values\":[1],\"labels\":{\"k\":\"1\",\"k\":\"2\"}", T,
                   "series[0].labels: label 'k' appears twice");
    /* The index names the series and the delta. */
    refused("{\"server_id\":\"" HOST "\",\"series\":["
            "{" NAMES "\"t0\":1,\"values\":[1]},{" NAMES "\"t0\":1,\"values\":[1]},"
            "{" NAMES "\"t0\":1,\"values\":[1]},"
            "{" NAMES "\"t0\":253402300799990,\"dt\":[1,1,1,1,1,1,1,3],\"values\":[1,1,1,1,1,1,"
            "1,1,1]}]}",
            T, "series[3].dt[7]: the timestamp passes");
    refused("{\"server_id\":\"" HOST "\",\"series\":[{" NAMES "\"t0\":1,\"values\":[1]},2]}", T,
            "series[1]: expected object, got integer");
    refused("{\"server_id\":\"" HOST "\",\"series\":{}}", T, "series: expected array, got object");
    /* Exactly one of the two shapes. */
    refused("{\"server_id\":\"" HOST "\",\"metrics\":[],\"series\":[]}", T,
            "series: not allowed together with \"metrics\"");
    refused("{\"server_id\":\"" HOST "\",\"series\":[{" NAMES "\"t0\":1,\"values\":[1]}],"
            "\"metrics\":[]}",
            T, "metrics: not allowed together with \"series\"");
    refused("{\"server_id\":\"" HOST "\",\"x\":[]}", T,
            "metrics: missing; a batch carries \"metrics\" or \"series\"");
#undef NAMES
}

static void series_empty(void **unused)
{
    (void)unused;
    struct result res;
    decode(&res, "{\"server_id\":\"" HOST "\",\"series\":[]}");
    assert_int_equal(res.r, 0);
    assert_int_equal(res.in.n_samples, 0);
    assert_null(res.in.samples);
    release(&res);
}

/* Appends a series of n values (and then n - 1 deltas) to doc. */
static void put_series(struct ward_buf *doc, size_t n, bool first)
{
    ward_buf_printf(doc, "%s{\"metric_type\":\"a\",\"metric_name\":\"b\",\"t0\":0,\"values\":[",
                    first ? "" : ",");
    for (size_t i = 0; i < n; i++)
        ward_buf_puts(doc, i ? ",2" : "2");
    ward_buf_puts(doc, "],\"dt\":[");
    for (size_t i = 1; i < n; i++)
        ward_buf_puts(doc, i > 1 ? ",1" : "1");
    ward_buf_puts(doc, "]}");
}

static void series_sample_cap(void **unused)
{
    (void)unused;
    const size_t max = WARD_INGEST_MAX_METRICS;
    struct ward_buf doc = WARD_BUF_INIT;
    struct result res;

    /* Exactly the cap, spread over two series, is fine. */
    ward_buf_puts(&doc, "{\"server_id\":\"" HOST "\",\"series\":[");
    put_series(&doc, max / 2, true);
    put_series(&doc, max - max / 2, false);
    ward_buf_puts(&doc, "]}");
    decode(&res, doc.data);
    assert_int_equal(res.r, 0);
    assert_int_equal(res.in.n_samples, max);
    assert_int_equal(res.in.samples[max - 1].ts_ms, (int64_t)(max - max / 2 - 1));
    release(&res);

    /* One more sample in the second series is refused: the cap counts samples. */
    ward_buf_reset(&doc);
    ward_buf_puts(&doc, "{\"server_id\":\"" HOST "\",\"series\":[");
    put_series(&doc, max / 2, true);
    put_series(&doc, max - max / 2 + 1, false);
    ward_buf_puts(&doc, "]}");
    refused(doc.data, WARD_E_LIMIT, "series[1].values: more than 100000 samples in one batch");

    /*
     * The cap holds while "values" is read: a longer array that is never
     * closed fails on the cap, not on the truncation after it.
     */
    ward_buf_reset(&doc);
    ward_buf_puts(&doc, "{\"server_id\":\"" HOST "\",\"series\":[{\"values\":[0");
    for (size_t i = 0; i < max + 10; i++)
        ward_buf_puts(&doc, ",1");
    refused(doc.data, WARD_E_LIMIT, "series[0].values: more than 100000 samples");

    /* So does "dt", which could otherwise be buffered without bound before "values". */
    ward_buf_reset(&doc);
    ward_buf_puts(&doc, "{\"server_id\":\"" HOST "\",\"series\":[{\"dt\":[0");
    for (size_t i = 0; i < max + 10; i++)
        ward_buf_puts(&doc, ",1");
    refused(doc.data, WARD_E_LIMIT, "series[0].dt: more than 100000 samples");

    /* The last sample that fits: max - 1 deltas are allowed, max are not. */
    ward_buf_reset(&doc);
    ward_buf_puts(&doc, "{\"server_id\":\"" HOST "\",\"series\":[");
    put_series(&doc, 1, true);
    ward_buf_puts(&doc, ",{\"dt\":[0");
    for (size_t i = 1; i < max - 1; i++)
        ward_buf_puts(&doc, ",1");
    ward_buf_puts(&doc, "]");
    refused(doc.data, WARD_E_LIMIT, "series[1].dt: more than 100000 samples");

    /* The number of series is bounded too, before any of the extra one is read. */
    ward_buf_reset(&doc);
    ward_buf_puts(&doc, "{\"server_id\":\"" HOST "\",\"series\":[");
    for (size_t i = 0; i < max; i++)
        ward_buf_printf(&doc,
                        "%s{\"metric_type\":\"a\",\"metric_name\":\"b\",\"t0\":0,"
                        "\"values\":[1]}",
                        i ? "," : "");
    ward_buf_puts(&doc, ",{}]}");
    refused(doc.data, WARD_E_LIMIT, "series: more than 100000 series in one batch");
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
        cmocka_unit_test(series_round_trip),
        cmocka_unit_test(series_one_value),
        cmocka_unit_test(series_labels_and_kind_per_series),
        cmocka_unit_test(series_refusals),
        cmocka_unit_test(series_empty),
        cmocka_unit_test(series_sample_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
