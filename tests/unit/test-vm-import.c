/*
 * Tests of the VictoriaMetrics import conversion: series grouping in input
 * order, __name__ equal to the exposition's family name, label order and
 * escaping, the instance label, empty batches, the series shape giving the
 * same bytes as the same samples in the metrics shape, and a clear refusal
 * that leaves the output alone for every kind of bad document. jansson reads
 * the output back as an independent check that every line is one valid
 * JSON object of the import shape.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "agent/batch.h"
#include "agent/exposition.h"
#include "agent/vm-import.h"
#include "common/error.h"

#define HOST "0192a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
#define DOC(metrics)                                                                               \
    "{\"server_id\":\"" HOST "\",\"batch\":{\"seq\":1,\"boot\":2},\"metrics\":[" metrics "]}"
#define SAMPLE(rest) "{\"metric_type\":\"cpu\",\"metric_name\":\"x\",\"value\":1," rest "}"
#define TS           "\"timestamp\":1000"

static const struct ward_metric usage = {"cpu", "usage_percent", WARD_SAMPLE_GAUGE, "CPU use."};
static const struct ward_metric secs = {"cpu", "seconds_total", WARD_SAMPLE_COUNTER, "CPU time."};
static const struct ward_metric polls = {"agent", "PollCount", WARD_SAMPLE_COUNTER, "Rounds."};
static const struct ward_metric rnd = {"agent", "RandomValue", WARD_SAMPLE_GAUGE, "Random."};
static const struct ward_metric rx = {"network", "receive_bytes", WARD_SAMPLE_COUNTER, "Bytes."};

/* Checks with jansson that out is n lines of {"metric":{...},"values":[...],"timestamps":[...]}. */
static void check_shape(const char *out, size_t lines)
{
    size_t seen = 0;
    for (const char *p = out; *p; seen++) {
        const char *nl = strchr(p, '\n');
        assert_non_null(nl);
        json_error_t e;
        json_t *line = json_loadb(p, (size_t)(nl - p), JSON_ALLOW_NUL, &e);
        if (!line)
            fail_msg("line %zu is not JSON: %s: %.*s", seen, e.text, (int)(nl - p), p);
        assert_int_equal(json_object_size(line), 3);
        json_t *metric = json_object_get(line, "metric");
        json_t *values = json_object_get(line, "values");
        json_t *ts = json_object_get(line, "timestamps");
        assert_true(json_is_object(metric) && json_is_array(values) && json_is_array(ts));
        assert_true(json_is_string(json_object_get(metric, "__name__")));
        assert_true(json_is_string(json_object_get(metric, "instance")));
        assert_int_equal(json_array_size(values), json_array_size(ts));
        assert_true(json_array_size(values) > 0);
        for (size_t i = 0; i < json_array_size(ts); i++) {
            assert_true(json_is_real(json_array_get(values, i)));
            assert_true(json_is_integer(json_array_get(ts, i)));
        }
        json_decref(line);
        p = nl + 1;
    }
    assert_int_equal(seen, lines);
}

/* Converts json into a fresh buffer, expecting lines series, and compares with want. */
static void converts(const char *json, int lines, const char *want)
{
    struct ward_buf out = WARD_BUF_INIT, err = WARD_BUF_INIT;
    int r = ward_vm_import_convert(json, strlen(json), &out, &err);
    if (r != lines)
        fail_msg("converting %.100s: got %d (%s), want %d", json, r, err.data ? err.data : "",
                 lines);
    assert_string_equal(out.data ? out.data : "", want);
    check_shape(out.data ? out.data : "", (size_t)lines);
    ward_buf_done(&out);
    ward_buf_done(&err);
}

/* Converts json, which must fail with code, a message containing want, and out untouched. */
static void refused(const char *json, size_t len, int code, const char *want)
{
    struct ward_buf out = WARD_BUF_INIT, err = WARD_BUF_INIT;
    ward_buf_puts(&out, "kept\n");
    int r = ward_vm_import_convert(json, len, &out, &err);
    if (r != code || !err.data || !strstr(err.data, want))
        fail_msg("converting %.100s: got %d '%s', want %d '%s'", json, r, err.data ? err.data : "",
                 code, want);
    assert_string_equal(out.data, "kept\n");
    assert_int_equal(out.len, 5);
    /* Without an error buffer the code is the same. */
    assert_int_equal(ward_vm_import_convert(json, len, &out, NULL), code);
    assert_string_equal(out.data, "kept\n");
    ward_buf_done(&out);
    ward_buf_done(&err);
}

static void refused_z(const char *json, int code, const char *want)
{
    refused(json, strlen(json), code, want);
}

/* Encodes a batch as the agent does. */
static void encode(const struct ward_batch *b, struct ward_buf *wire)
{
    assert_int_equal(ward_batch_encode(b, HOST, 7, 3, wire), 0);
}

static void series_are_grouped_in_input_order(void **unused)
{
    (void)unused;
    struct ward_batch b;
    ward_batch_init(&b, 100);
    struct ward_label core0 = {"core", "0"};
    struct ward_label two[2] = {{"mode", "user"}, {"core", "1"}};
    b.ts_ms = 1000;
    b.sink.emit(&b.sink, &usage, 12.5, NULL, 0);
    b.sink.emit(&b.sink, &secs, 3, two, 2);
    b.sink.emit(&b.sink, &usage, 50, &core0, 1);
    b.ts_ms = 2000;
    b.sink.emit(&b.sink, &usage, 13, NULL, 0);
    b.sink.emit(&b.sink, &usage, 51, &core0, 1);
    b.sink.emit(&b.sink, &secs, 4.25, two, 2);
    b.ts_ms = 3000;
    b.sink.emit(&b.sink, &usage, -0.5, NULL, 0);
    struct ward_buf wire = WARD_BUF_INIT;
    encode(&b, &wire);
    converts(wire.data, 3,
             "{\"metric\":{\"__name__\":\"cpu_usage_percent\",\"instance\":\"" HOST "\"},"
             "\"values\":[12.5,13.0,-0.5],\"timestamps\":[1000,2000,3000]}\n"
             "{\"metric\":{\"__name__\":\"cpu_seconds_total\",\"core\":\"1\",\"instance\":\"" HOST
             "\",\"mode\":\"user\"},\"values\":[3.0,4.25],\"timestamps\":[1000,2000]}\n"
             "{\"metric\":{\"__name__\":\"cpu_usage_percent\",\"core\":\"0\",\"instance\":\"" HOST
             "\"},\"values\":[50.0,51.0],\"timestamps\":[1000,2000]}\n");
    ward_buf_done(&wire);
    ward_batch_done(&b);
}

/* Label sets that differ only in the order they were given are one series. */
static void label_order_does_not_split_a_series(void **unused)
{
    (void)unused;
    converts(DOC(SAMPLE("\"labels\":{\"b\":\"2\",\"a\":\"1\"}," TS) "," SAMPLE(
                 "\"labels\":{\"a\":\"1\",\"b\":\"2\"},\"timestamp\":2000")),
             1,
             "{\"metric\":{\"__name__\":\"cpu_x\",\"a\":\"1\",\"b\":\"2\",\"instance\":\"" HOST
             "\"},\"values\":[1.0,1.0],\"timestamps\":[1000,2000]}\n");
    /* ... while a different value, or an extra label, is another series. */
    converts(
        DOC(SAMPLE("\"labels\":{\"a\":\"1\"}," TS) "," SAMPLE(
            "\"labels\":{\"a\":\"2\"}," TS) "," SAMPLE("\"labels\":{\"a\":\"1\",\"c\":\"3\"}," TS)),
        3,
        "{\"metric\":{\"__name__\":\"cpu_x\",\"a\":\"1\",\"instance\":\"" HOST
        "\"},\"values\":[1.0],\"timestamps\":[1000]}\n"
        "{\"metric\":{\"__name__\":\"cpu_x\",\"a\":\"2\",\"instance\":\"" HOST
        "\"},\"values\":[1.0],\"timestamps\":[1000]}\n"
        "{\"metric\":{\"__name__\":\"cpu_x\",\"a\":\"1\",\"c\":\"3\",\"instance\":\"" HOST
        "\"},\"values\":[1.0],\"timestamps\":[1000]}\n");
}

/* Labels come out sorted by key bytewise, escaped as JSON; empty ones are dropped. */
static void labels_are_sorted_and_escaped(void **unused)
{
    (void)unused;
    converts(
        DOC(SAMPLE("\"labels\":{\"zeta\":\"q\\\"b\\\\s\\nn\\u0001\",\"Zed\":\"é\\u00e9\","
                   "\"a_b\":\"/x\",\"empty\":\"\"}," TS)),
        1,
        "{\"metric\":{\"__name__\":\"cpu_x\",\"Zed\":\"éé\",\"a_b\":\"/x\",\"instance\":\"" HOST
        "\",\"zeta\":\"q\\\"b\\\\s\\nn\\u0001\"},\"values\":[1.0],\"timestamps\":[1000]}\n");
    /* A NUL in a label value survives (VictoriaMetrics takes any string). */
    converts(DOC(SAMPLE("\"labels\":{\"k\":\"a\\u0000b\"}," TS)), 1,
             "{\"metric\":{\"__name__\":\"cpu_x\",\"instance\":\"" HOST
             "\",\"k\":\"a\\u0000b\"},\"values\":[1.0],\"timestamps\":[1000]}\n");
}

/* __name__ is the exposition's family name, counters with _total. */
static void names_match_the_exposition(void **unused)
{
    (void)unused;
    struct ward_batch b;
    ward_batch_init(&b, 100);
    b.ts_ms = 5;
    const struct ward_metric *all[] = {&usage, &secs, &polls, &rnd, &rx};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        b.sink.emit(&b.sink, all[i], 1, NULL, 0);
    struct ward_buf wire = WARD_BUF_INIT, out = WARD_BUF_INIT, prom = WARD_BUF_INIT;
    encode(&b, &wire);
    assert_int_equal(ward_vm_import_convert(wire.data, wire.len, &out, NULL), 5);
    const struct ward_batch *batches[] = {&b};
    assert_int_equal(ward_exposition_write(batches, 1, &prom), 0);
    static const char *const names[] = {"cpu_usage_percent", "cpu_seconds_total",
                                        "agent_poll_count_total", "agent_random_value",
                                        "network_receive_bytes_total"};
    for (size_t i = 0; i < 5; i++) {
        char line[160];
        snprintf(line, sizeof(line), "{\"metric\":{\"__name__\":\"%s\",", names[i]);
        assert_non_null(strstr(out.data, line));
        snprintf(line, sizeof(line), "# TYPE %s ", names[i]);
        assert_non_null(strstr(prom.data, line));
        struct ward_buf name = WARD_BUF_INIT;
        assert_int_equal(ward_exposition_name(all[i]->category, all[i]->name, all[i]->kind, &name),
                         0);
        assert_string_equal(name.data, names[i]);
        ward_buf_done(&name);
    }
    /* The kind on the wire decides _total; "gauge" spelt out is the default. */
    converts(DOC("{\"metric_type\":\"net\",\"metric_name\":\"rx.bytes\",\"value\":7,\"kind\":"
                 "\"counter\"," TS "},{\"metric_type\":\"net\",\"metric_name\":\"up\",\"value\":1,"
                 "\"kind\":\"gauge\"," TS "}"),
             2,
             "{\"metric\":{\"__name__\":\"net_rx_bytes_total\",\"instance\":\"" HOST
             "\"},\"values\":[7.0],\"timestamps\":[1000]}\n"
             "{\"metric\":{\"__name__\":\"net_up\",\"instance\":\"" HOST
             "\"},\"values\":[1.0],\"timestamps\":[1000]}\n");
    ward_buf_done(&wire);
    ward_buf_done(&out);
    ward_buf_done(&prom);
    ward_batch_done(&b);
}

static void instance_label(void **unused)
{
    (void)unused;
    /* A sample's own instance wins over the server id. */
    converts(DOC(SAMPLE("\"labels\":{\"instance\":\"pi-4:9100\",\"a\":\"1\"}," TS)), 1,
             "{\"metric\":{\"__name__\":\"cpu_x\",\"a\":\"1\",\"instance\":\"pi-4:9100\"},"
             "\"values\":[1.0],\"timestamps\":[1000]}\n");
    /* An empty one is no instance, so the server id fills it in. */
    converts(DOC(SAMPLE("\"labels\":{\"instance\":\"\",\"zz\":\"1\"}," TS)), 1,
             "{\"metric\":{\"__name__\":\"cpu_x\",\"instance\":\"" HOST
             "\",\"zz\":\"1\"},\"values\":[1.0],\"timestamps\":[1000]}\n");
    /* Sorted in among the others; the server id is escaped like any value. */
    converts(
        "{\"metrics\":[" SAMPLE(
            "\"labels\":{\"j\":\"1\",\"k\":\"2\",\"h\":\"0\"}," TS) "],\"server_id\":\"a\\\"b\"}",
        1,
        "{\"metric\":{\"__name__\":\"cpu_x\",\"h\":\"0\",\"instance\":\"a\\\"b\",\"j\":\"1\","
        "\"k\":\"2\"},\"values\":[1.0],\"timestamps\":[1000]}\n");
}

static void empty_batches_write_nothing(void **unused)
{
    (void)unused;
    struct ward_batch b;
    ward_batch_init(&b, 10);
    struct ward_buf wire = WARD_BUF_INIT;
    encode(&b, &wire);
    converts(wire.data, 0, "");
    converts("{\"server_id\":\"x\",\"metrics\":[]}", 0, "");
    ward_buf_done(&wire);
    ward_batch_done(&b);
}

/* Keys in any order, unknown keys skipped, whitespace anywhere JSON allows it. */
static void key_order_and_unknown_keys(void **unused)
{
    (void)unused;
    converts(" {\"future\":{\"a\":[1,2,{\"b\":null}]},\"metrics\":[ {\"timestamp\":9,\"labels\":"
             "{},\"value\":-1e-6,\"x\":true,\"metric_name\":\"load1\",\"metric_type\":\"cpu\"} ],"
             "\"batch\":{},\"server_id\":\"id\"}\r\n",
             1,
             "{\"metric\":{\"__name__\":\"cpu_load1\",\"instance\":\"id\"},\"values\":[-1e-6],"
             "\"timestamps\":[9]}\n");
}

static void values_and_timestamps(void **unused)
{
    (void)unused;
    converts(DOC(SAMPLE("\"timestamp\":0") "," SAMPLE(
                 "\"timestamp\":253402300799999") ","
                                                  "{\"metric_type\":\"cpu\",\"metric_name\":\"x\","
                                                  "\"value\":1.7976931348623157e308,"
                                                  "\"timestamp\":1}"),
             1,
             "{\"metric\":{\"__name__\":\"cpu_x\",\"instance\":\"" HOST "\"},"
             "\"values\":[1.0,1.0,1.7976931348623157e308],"
             "\"timestamps\":[0,253402300799999,1]}\n");
}

static void malformed_documents_are_refused(void **unused)
{
    (void)unused;
    refused("", 0, WARD_E_JSON_SYNTAX, "document: invalid JSON at byte 0");
    refused(NULL, 0, WARD_E_JSON_SYNTAX, "document");
    refused_z("{", WARD_E_JSON_SYNTAX, "invalid JSON");
    refused_z("[]", WARD_E_JSON_TYPE, "document: expected object");
    refused_z(DOC("") " x", WARD_E_JSON_SYNTAX, "invalid JSON");
    refused_z(DOC("") "{}", WARD_E_JSON_SYNTAX, "invalid JSON");
    refused_z(DOC(SAMPLE(TS) ","), WARD_E_JSON_SYNTAX, "invalid JSON");
    refused_z("{\"server_id\":\"\xff\",\"metrics\":[]}", WARD_E_JSON_UTF8, "server_id");
    refused_z(DOC(SAMPLE("\"t\":[[[[[[[[1]]]]]]]]," TS)), WARD_E_JSON_DEPTH, "metrics[0]");
    refused_z(DOC("{\"metric_type\":\"c\",\"metric_name\":\"x\",\"value\":1e400," TS "}"),
              WARD_E_JSON_NUMBER, "metrics[0].value: invalid JSON");
    /* A document with a NUL in the middle is cut short there, which is malformed. */
    static const char nul[] = DOC("") "\0 ";
    refused(nul, sizeof(nul) - 1, WARD_E_JSON_SYNTAX, "invalid JSON");
}

static void missing_and_mistyped_fields_are_refused(void **unused)
{
    (void)unused;
    refused_z("{\"metrics\":[]}", WARD_E_JSON_TYPE, "server_id: missing");
    refused_z("{\"metrics\":[" SAMPLE(TS) "]}", WARD_E_JSON_TYPE, "server_id: missing");
    refused_z("{\"server_id\":\"x\"}", WARD_E_JSON_TYPE,
              "document: missing \"metrics\" or \"series\"");
    refused_z("{\"server_id\":7,\"metrics\":[]}", WARD_E_JSON_TYPE, "server_id: expected string");
    refused_z("{\"server_id\":\"\",\"metrics\":[]}", WARD_E_JSON_TYPE, "server_id: empty");
    refused_z("{\"server_id\":\"x\",\"metrics\":{}}", WARD_E_JSON_TYPE, "metrics: expected array");
    refused_z("{\"server_id\":\"x\",\"server_id\":\"y\",\"metrics\":[]}", WARD_E_JSON_TYPE,
              "server_id: appears twice");
    refused_z("{\"server_id\":\"x\",\"metrics\":[],\"metrics\":[]}", WARD_E_JSON_TYPE,
              "metrics: appears twice");
    refused_z(DOC(SAMPLE(TS) ",3"), WARD_E_JSON_TYPE, "metrics[1]: expected object, got integer");
    refused_z(DOC("{\"metric_name\":\"x\",\"value\":1," TS "}"), WARD_E_JSON_TYPE,
              "metrics[0]: missing \"metric_type\"");
    refused_z(DOC("{\"metric_type\":\"x\",\"value\":1," TS "}"), WARD_E_JSON_TYPE,
              "metrics[0]: missing \"metric_name\"");
    refused_z(DOC("{\"metric_type\":\"x\",\"metric_name\":\"x\"," TS "}"), WARD_E_JSON_TYPE,
              "metrics[0]: missing \"value\"");
    refused_z(DOC(SAMPLE(TS) "," SAMPLE("\"kind\":\"counter\"")), WARD_E_JSON_TYPE,
              "metrics[1]: missing \"timestamp\"");
    refused_z(DOC("{\"metric_type\":\"cpu usage\",\"metric_name\":\"x\",\"value\":1," TS "}"),
              WARD_E_JSON_TYPE, "metrics[0].metric_type: must be 1-128 characters");
    refused_z(DOC("{\"metric_type\":\"\",\"metric_name\":\"x\",\"value\":1," TS "}"),
              WARD_E_JSON_TYPE, "metrics[0].metric_type: must be");
    refused_z(DOC("{\"metric_type\":\"a\",\"metric_name\":3,\"value\":1," TS "}"), WARD_E_JSON_TYPE,
              "metrics[0].metric_name: expected string");
    refused_z(DOC("{\"metric_type\":\"a\",\"metric_type\":\"b\",\"metric_name\":\"x\","
                  "\"value\":1," TS "}"),
              WARD_E_JSON_TYPE, "metrics[0].metric_type: appears twice");
    refused_z(DOC(SAMPLE("\"value\":2," TS)), WARD_E_JSON_TYPE, "metrics[0].value: appears twice");
    refused_z(DOC("{\"metric_type\":\"a\",\"metric_name\":\"x\",\"value\":\"1\"," TS "}"),
              WARD_E_JSON_TYPE, "metrics[0].value: expected number");
    refused_z(DOC("{\"metric_type\":\"a\",\"metric_name\":\"x\",\"value\":null," TS "}"),
              WARD_E_JSON_TYPE, "metrics[0].value");
    refused_z(DOC(SAMPLE("\"timestamp\":1.5")), WARD_E_JSON_TYPE, "metrics[0].timestamp");
    refused_z(DOC(SAMPLE("\"timestamp\":\"2023-11-14T22:13:20Z\"")), WARD_E_JSON_TYPE,
              "metrics[0].timestamp");
    refused_z(DOC(SAMPLE("\"timestamp\":-1")), WARD_E_JSON_TYPE, "metrics[0].timestamp");
    refused_z(DOC(SAMPLE("\"timestamp\":253402300800000")), WARD_E_JSON_TYPE,
              "metrics[0].timestamp: Unix milliseconds must be 0 to 253402300799999");
    refused_z(DOC(SAMPLE(TS ",\"timestamp\":2")), WARD_E_JSON_TYPE, "timestamp: appears twice");
    refused_z(DOC(SAMPLE("\"kind\":\"histogram\"," TS)), WARD_E_JSON_TYPE,
              "metrics[0].kind: must be \"gauge\" or \"counter\"");
    refused_z(DOC(SAMPLE("\"labels\":[]," TS)), WARD_E_JSON_TYPE,
              "metrics[0].labels: expected object");
    refused_z(DOC(SAMPLE("\"labels\":{\"a\":1}," TS)), WARD_E_JSON_TYPE,
              "metrics[0].labels: expected string");
    refused_z(DOC(SAMPLE("\"labels\":{\"a\":\"1\",\"b\":\"2\",\"a\":\"3\"}," TS)), WARD_E_JSON_TYPE,
              "metrics[0].labels: label 'a' appears twice");
    refused_z(DOC(SAMPLE("\"labels\":{\"__name__\":\"y\"}," TS)), WARD_E_JSON_TYPE,
              "\"__name__\" is reserved");
    refused_z(DOC(SAMPLE("\"labels\":{\"\":\"y\"}," TS)), WARD_E_JSON_TYPE, "empty label name");
    refused_z(DOC(SAMPLE("\"labels\":{}," TS ",\"labels\":{}")), WARD_E_JSON_TYPE,
              "labels: appears twice");
}

/* Builds a document of one sample with n labels, keys of key_len and values of value_len. */
static char *doc_with_labels(size_t n, size_t key_len, size_t value_len)
{
    struct ward_buf b = WARD_BUF_INIT;
    ward_buf_puts(&b, "{\"server_id\":\"h\",\"metrics\":[{\"metric_type\":\"c\",\"metric_name\":"
                      "\"n\",\"value\":1,\"timestamp\":1,\"labels\":{");
    for (size_t i = 0; i < n; i++) {
        ward_buf_printf(&b, "%s\"%02zu", i ? "," : "", i);
        for (size_t k = 2; k < key_len; k++)
            ward_buf_putc(&b, 'k');
        ward_buf_puts(&b, "\":\"");
        for (size_t k = 0; k < value_len; k++)
            ward_buf_putc(&b, 'v');
        ward_buf_putc(&b, '"');
    }
    ward_buf_puts(&b, "}}]}");
    return ward_buf_steal(&b);
}

/* Builds a document of n samples of one series. */
static void samples(struct ward_buf *b, size_t n)
{
    ward_buf_puts(b, "{\"server_id\":\"h\",\"metrics\":[");
    for (size_t i = 0; i < n; i++)
        ward_buf_printf(b,
                        "%s{\"metric_type\":\"c\",\"metric_name\":\"n\",\"value\":%zu,"
                        "\"timestamp\":%zu}",
                        i ? "," : "", i, i);
    ward_buf_puts(b, "]}");
}

static void limits_are_enforced(void **unused)
{
    (void)unused;
    struct ward_buf out = WARD_BUF_INIT;
    char *doc = doc_with_labels(WARD_VM_MAX_LABELS, WARD_VM_MAX_LABEL_KEY, WARD_VM_MAX_LABEL_VALUE);
    assert_int_equal(ward_vm_import_convert(doc, strlen(doc), &out, NULL), 1);
    check_shape(out.data, 1);
    free(doc);
    doc = doc_with_labels(WARD_VM_MAX_LABELS + 1, 2, 1);
    refused_z(doc, WARD_E_LIMIT, "metrics[0].labels: more than 16 labels");
    free(doc);
    doc = doc_with_labels(1, WARD_VM_MAX_LABEL_KEY + 1, 1);
    refused_z(doc, WARD_E_LIMIT, "label names must be at most 128 bytes");
    free(doc);
    doc = doc_with_labels(1, 2, WARD_VM_MAX_LABEL_VALUE + 1);
    refused_z(doc, WARD_E_LIMIT, "label values must be at most 1024 bytes");
    free(doc);
    doc = doc_with_labels(1, 2, 100000); /* beyond what the reader takes in one string */
    refused_z(doc, WARD_E_JSON_SIZE, "metrics[0].labels: invalid JSON");
    free(doc);

    char name[WARD_VM_MAX_NAME + 2];
    memset(name, 'n', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    struct ward_buf b = WARD_BUF_INIT;
    ward_buf_printf(&b, DOC("{\"metric_type\":\"c\",\"metric_name\":\"%s\",\"value\":1," TS "}"),
                    name);
    refused_z(b.data, WARD_E_JSON_TYPE, "metrics[0].metric_name: must be 1-128 characters");
    ward_buf_reset(&b);
    name[WARD_VM_MAX_NAME] = '\0';
    ward_buf_printf(&b, DOC("{\"metric_type\":\"c\",\"metric_name\":\"%s\",\"value\":1," TS "}"),
                    name);
    ward_buf_reset(&out);
    assert_int_equal(ward_vm_import_convert(b.data, b.len, &out, NULL), 1);

    char id[WARD_VM_MAX_SERVER_ID + 2];
    memset(id, 'i', sizeof(id) - 1);
    id[sizeof(id) - 1] = '\0';
    ward_buf_reset(&b);
    ward_buf_printf(&b, "{\"server_id\":\"%s\",\"metrics\":[]}", id);
    refused_z(b.data, WARD_E_LIMIT, "server_id: longer than 128 bytes");

    /* The sample limit: all one series, so only the count matters. */
    ward_buf_reset(&b);
    samples(&b, WARD_VM_MAX_SAMPLES + 1);
    refused_z(b.data, WARD_E_LIMIT, "metrics: more than 100000 samples");
    ward_buf_reset(&b);
    samples(&b, WARD_VM_MAX_SAMPLES);
    ward_buf_reset(&out);
    assert_int_equal(ward_vm_import_convert(b.data, b.len, &out, NULL), 1);
    check_shape(out.data, 1);
    ward_buf_done(&b);
    ward_buf_done(&out);
}

/* Many series: the hash table grows and every series keeps its own points. */
static void many_series(void **unused)
{
    (void)unused;
    struct ward_buf in = WARD_BUF_INIT, out = WARD_BUF_INIT, want = WARD_BUF_INIT;
    const size_t n = 5000;
    ward_buf_puts(&in, "{\"server_id\":\"h\",\"metrics\":[");
    for (size_t round = 0; round < 2; round++)
        for (size_t i = 0; i < n; i++)
            ward_buf_printf(&in,
                            "%s{\"metric_type\":\"c\",\"metric_name\":\"n\",\"value\":%zu,"
                            "\"timestamp\":%zu,\"labels\":{\"i\":\"%zu\"}}",
                            round || i ? "," : "", i + round, round, i);
    ward_buf_puts(&in, "]}");
    for (size_t i = 0; i < n; i++)
        ward_buf_printf(&want,
                        "{\"metric\":{\"__name__\":\"c_n\",\"i\":\"%zu\",\"instance\":\"h\"},"
                        "\"values\":[%zu.0,%zu.0],\"timestamps\":[0,1]}\n",
                        i, i, i + 1);
    assert_int_equal(ward_vm_import_convert(in.data, in.len, &out, NULL), (int)n);
    assert_string_equal(out.data, want.data);
    ward_buf_done(&in);
    ward_buf_done(&out);
    ward_buf_done(&want);
}

/* A full output buffer fails with its limit and keeps what it held before. */
static void output_limit(void **unused)
{
    (void)unused;
    const char *doc = DOC(SAMPLE(TS) "," SAMPLE("\"labels\":{\"a\":\"b\"}," TS));
    struct ward_buf out, err = WARD_BUF_INIT;
    ward_buf_init(&out, 200);
    ward_buf_puts(&out, "kept\n");
    assert_int_equal(ward_vm_import_convert(doc, strlen(doc), &out, &err), WARD_E_LIMIT);
    assert_string_equal(out.data, "kept\n");
    assert_non_null(strstr(err.data, "output: "));
    ward_buf_done(&out);
    ward_buf_init(&out, 400);
    ward_buf_puts(&out, "kept\n");
    assert_int_equal(ward_vm_import_convert(doc, strlen(doc), &out, &err), 2);
    assert_int_equal(strncmp(out.data, "kept\n{\"metric\":", 15), 0);
    ward_buf_done(&out);
    ward_buf_done(&err);
}

/* The series shape: a document of series objects, and the samples they stand for. */
#define SDOC(series)                                                                               \
    "{\"server_id\":\"" HOST "\",\"batch\":{\"seq\":1,\"boot\":2},\"series\":[" series "]}"
#define SERIES(rest) "{\"metric_type\":\"cpu\",\"metric_name\":\"x\"," rest "}"

struct series_spec {
    const char *type, *name;
    const char *labels; /* a JSON object, or NULL */
    const char *kind;   /* NULL: left out */
    int64_t t0;
    size_t n;
    const double *values;
    const int64_t *dt; /* n - 1 of them; NULL: "dt" left out */
};

static void put_head(struct ward_buf *b, const struct series_spec *s)
{
    ward_buf_printf(b, "{\"metric_type\":\"%s\",\"metric_name\":\"%s\"", s->type, s->name);
    if (s->labels)
        ward_buf_printf(b, ",\"labels\":%s", s->labels);
    if (s->kind)
        ward_buf_printf(b, ",\"kind\":\"%s\"", s->kind);
}

/* Writes the specs as a series-shaped document. */
static void series_doc(const struct series_spec *specs, size_t n, struct ward_buf *b)
{
    ward_buf_puts(b, "{\"server_id\":\"" HOST "\",\"batch\":{\"seq\":1,\"boot\":2},\"series\":[");
    for (size_t i = 0; i < n; i++) {
        const struct series_spec *s = &specs[i];
        ward_buf_puts(b, i ? "," : "");
        put_head(b, s);
        ward_buf_printf(b, ",\"t0\":%" PRId64, s->t0);
        if (s->dt) {
            ward_buf_puts(b, ",\"dt\":[");
            for (size_t k = 0; k + 1 < s->n; k++)
                ward_buf_printf(b, "%s%" PRId64, k ? "," : "", s->dt[k]);
            ward_buf_puts(b, "]");
        }
        ward_buf_puts(b, ",\"values\":[");
        for (size_t k = 0; k < s->n; k++)
            ward_buf_printf(b, "%s%.17g", k ? "," : "", s->values[k]);
        ward_buf_puts(b, "]}");
    }
    ward_buf_puts(b, "]}");
}

/*
 * Writes the same samples as a metrics-shaped document. Interleaved, they
 * go round robin over the specs, as a collector's rounds would list them:
 * the first samples come in spec order, so series still first appear in
 * that order, and each spec's samples keep theirs.
 */
static void metrics_doc(const struct series_spec *specs, size_t n, bool interleaved,
                        struct ward_buf *b)
{
    size_t longest = 0;
    for (size_t i = 0; i < n; i++)
        longest = specs[i].n > longest ? specs[i].n : longest;
    ward_buf_puts(b, "{\"server_id\":\"" HOST "\",\"batch\":{\"seq\":1,\"boot\":2},\"metrics\":[");
    bool first = true;
    for (size_t round = 0; round < (interleaved ? longest : 1); round++) {
        for (size_t i = 0; i < n; i++) {
            const struct series_spec *s = &specs[i];
            int64_t ts = s->t0;
            for (size_t k = 0; k < s->n; k++) {
                if (k > 0)
                    ts += s->dt[k - 1];
                if (interleaved && k != round)
                    continue;
                ward_buf_puts(b, first ? "" : ",");
                first = false;
                put_head(b, s);
                ward_buf_printf(b, ",\"value\":%.17g,\"timestamp\":%" PRId64 "}", s->values[k], ts);
            }
        }
    }
    ward_buf_puts(b, "]}");
}

/* Converts both shapes of specs and checks that they give the same bytes; returns the lines. */
static int same_in_both_shapes(const struct series_spec *specs, size_t n, bool interleaved,
                               struct ward_buf *out)
{
    struct ward_buf sdoc = WARD_BUF_INIT, mdoc = WARD_BUF_INIT, mout = WARD_BUF_INIT;
    struct ward_buf err = WARD_BUF_INIT;
    series_doc(specs, n, &sdoc);
    metrics_doc(specs, n, interleaved, &mdoc);
    int r = ward_vm_import_convert(sdoc.data, sdoc.len, out, &err);
    if (r < 0)
        fail_msg("series shape: %d %s: %.200s", r, err.data, sdoc.data);
    assert_int_equal(ward_vm_import_convert(mdoc.data, mdoc.len, &mout, NULL), r);
    assert_int_equal(out->len, mout.len);
    assert_memory_equal(out->data ? out->data : "", mout.data ? mout.data : "", mout.len);
    check_shape(out->data ? out->data : "", (size_t)r);
    ward_buf_done(&sdoc);
    ward_buf_done(&mdoc);
    ward_buf_done(&mout);
    ward_buf_done(&err);
    return r;
}

/* The same samples give the same bytes in both shapes. */
static void series_shape_equals_metrics_shape(void **unused)
{
    (void)unused;
    static const double v1[] = {12.5, 13, 12, -0.5}, v2[] = {2015.03, 2016.5, 1e300};
    static const double v3[] = {7}, v4[] = {1, 2};
    static const int64_t d1[] = {1000, 1000, 0}, d2[] = {5000, 123456789}, d4[] = {1};
    const struct series_spec specs[] = {
        {"cpu", "usage_percent", NULL, NULL, 1700000000000, 4, v1, d1},
        {"cpu", "seconds_total", "{\"mode\":\"user\",\"core\":\"0\"}", "counter", 1700000000000, 3,
         v2, d2},
        {"agent", "PollCount", "{\"instance\":\"pi:9100\",\"empty\":\"\"}", "counter", 0, 1, v3,
         NULL},
        {"cpu", "usage_percent", "{\"core\":\"0\"}", "gauge", 253402300799998, 2, v4, d4},
    };
    struct ward_buf out = WARD_BUF_INIT;
    assert_int_equal(same_in_both_shapes(specs, 4, true, &out), 4);
    assert_string_equal(
        out.data,
        "{\"metric\":{\"__name__\":\"cpu_usage_percent\",\"instance\":\"" HOST "\"},"
        "\"values\":[12.5,13.0,12.0,-0.5],"
        "\"timestamps\":[1700000000000,1700000001000,1700000002000,1700000002000]}\n"
        "{\"metric\":{\"__name__\":\"cpu_seconds_total\",\"core\":\"0\",\"instance\":\"" HOST
        "\",\"mode\":\"user\"},\"values\":[2015.03,2016.5,1e300],"
        "\"timestamps\":[1700000000000,1700000005000,1700123461789]}\n"
        "{\"metric\":{\"__name__\":\"agent_poll_count_total\",\"instance\":\"pi:9100\"},"
        "\"values\":[7.0],\"timestamps\":[0]}\n"
        "{\"metric\":{\"__name__\":\"cpu_usage_percent\",\"core\":\"0\",\"instance\":\"" HOST
        "\"},\"values\":[1.0,2.0],\"timestamps\":[253402300799998,253402300799999]}\n");

    /* Two objects of one series (labels in another order) share its line, in input order. */
    const struct series_spec twice_one[] = {
        {"cpu", "x", "{\"a\":\"1\",\"b\":\"2\"}", NULL, 10, 2, v4, d4},
        {"cpu", "y", NULL, NULL, 10, 1, v3, NULL},
        {"cpu", "x", "{\"b\":\"2\",\"a\":\"1\"}", "gauge", 5, 3, v2, d2},
    };
    ward_buf_reset(&out);
    assert_int_equal(same_in_both_shapes(twice_one, 3, false, &out), 2);
    assert_string_equal(out.data,
                        "{\"metric\":{\"__name__\":\"cpu_x\",\"a\":\"1\",\"b\":\"2\",\"instance\":"
                        "\"" HOST "\"},\"values\":[1.0,2.0,2015.03,2016.5,1e300],"
                        "\"timestamps\":[10,11,5,5005,123461794]}\n"
                        "{\"metric\":{\"__name__\":\"cpu_y\",\"instance\":\"" HOST
                        "\"},\"values\":[7.0],\"timestamps\":[10]}\n");

    /* Many series of many lengths, interleaved in the metrics shape. */
    enum {
        N = 300,
        LONGEST = 40
    };
    static struct series_spec many[N];
    static double values[N][LONGEST];
    static int64_t deltas[N][LONGEST];
    static char labels[N][64];
    uint64_t x = 88172645463325252u; /* xorshift: fixed, so a failure repeats */
    for (size_t i = 0; i < N; i++) {
        size_t n = 1 + i % LONGEST;
        for (size_t k = 0; k < n; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            values[i][k] = (double)(int64_t)(x % 2000000) / 64 - 10000;
            deltas[i][k] = (int64_t)(x >> 40) % 3 == 0 ? 0 : (int64_t)(x >> 44) % 100000;
        }
        snprintf(labels[i], sizeof(labels[i]), "{\"i\":\"%zu\",\"dev\":\"sd%c\"}", i,
                 (char)('a' + i % 26));
        many[i] = (struct series_spec){i % 3 ? "disk" : "net",
                                       i % 2 ? "read_bytes" : "io_time",
                                       labels[i],
                                       i % 5 ? "counter" : NULL,
                                       1700000000000 + (int64_t)i,
                                       n,
                                       values[i],
                                       n > 1 || i % 2 ? deltas[i] : NULL};
    }
    ward_buf_reset(&out);
    assert_int_equal(same_in_both_shapes(many, N, true, &out), N);
    ward_buf_done(&out);
}

/* One value needs no dt, and an empty dt is the same as none. */
static void series_of_one_value(void **unused)
{
    (void)unused;
    const char *want = "{\"metric\":{\"__name__\":\"cpu_x\",\"instance\":\"" HOST
                       "\"},\"values\":[12.5],\"timestamps\":[1700000000000]}\n";
    converts(SDOC(SERIES("\"t0\":1700000000000,\"values\":[12.5]")), 1, want);
    converts(SDOC(SERIES("\"t0\":1700000000000,\"dt\":[],\"values\":[12.5]")), 1, want);
    converts(SDOC(SERIES("\"values\":[12.5],\"dt\":[],\"t0\":1700000000000")), 1, want);
    converts(DOC(SAMPLE(TS)), 1,
             "{\"metric\":{\"__name__\":\"cpu_x\",\"instance\":\"" HOST
             "\"},\"values\":[1.0],\"timestamps\":[1000]}\n");
    /* Keys in any order, unknown ones skipped, the server id after the series. */
    converts("{\"series\":[{\"values\":[1,2.5],\"x\":{\"y\":[1]},\"dt\":[0],\"kind\":\"counter\","
             "\"labels\":{\"a\":\"b\"},\"t0\":0,\"metric_name\":\"n\",\"metric_type\":\"t\"}],"
             "\"server_id\":\"id\"}",
             1,
             "{\"metric\":{\"__name__\":\"t_n_total\",\"a\":\"b\",\"instance\":\"id\"},"
             "\"values\":[1.0,2.5],\"timestamps\":[0,0]}\n");
    converts(SDOC(""), 0, "");
}

static void series_deltas_are_checked(void **unused)
{
    (void)unused;
    /* Wrong length. */
    refused_z(SDOC(SERIES("\"t0\":1,\"dt\":[1],\"values\":[1,2,3]")), WARD_E_JSON_TYPE,
              "series[0].dt: 1 deltas for 3 values, want 2");
    refused_z(SDOC(SERIES("\"t0\":1,\"dt\":[1,1,1],\"values\":[1,2,3]")), WARD_E_JSON_TYPE,
              "series[0].dt: 3 deltas for 3 values, want 2");
    refused_z(SDOC(SERIES("\"t0\":1,\"dt\":[1],\"values\":[1]")), WARD_E_JSON_TYPE,
              "series[0].dt: 1 deltas for 1 values, want 0");
    refused_z(SDOC(SERIES("\"t0\":1,\"dt\":[],\"values\":[1,2]")), WARD_E_JSON_TYPE,
              "series[0].dt: 0 deltas for 2 values, want 1");
    refused_z(SDOC(SERIES("\"t0\":1,\"values\":[1]") "," SERIES("\"t0\":1,\"values\":[1,2]")),
              WARD_E_JSON_TYPE, "series[1].dt: missing; 2 values need 1 deltas");
    /* Negative, or not an integer. */
    refused_z(SDOC(SERIES("\"t0\":1,\"values\":[1]") "," SERIES(
                  "\"t0\":1,\"dt\":[0,5,-1],\"values\":[1,2,3,4]")),
              WARD_E_JSON_TYPE, "series[1].dt[2]: negative");
    refused_z(SDOC(SERIES("\"t0\":1,\"dt\":[-9223372036854775808],\"values\":[1,2]")),
              WARD_E_JSON_TYPE, "series[0].dt[0]: negative");
    refused_z(SDOC(SERIES("\"t0\":1,\"dt\":[1.5],\"values\":[1,2]")), WARD_E_JSON_TYPE,
              "series[0].dt[0]: expected integer, got number");
    refused_z(SDOC(SERIES("\"t0\":1,\"dt\":[1,\"2\"],\"values\":[1,2,3]")), WARD_E_JSON_TYPE,
              "series[0].dt[1]: expected integer, got string");
    refused_z(SDOC(SERIES("\"t0\":1,\"dt\":[1e3],\"values\":[1,2]")), WARD_E_JSON_TYPE,
              "series[0].dt[0]: expected integer");
    refused_z(SDOC(SERIES("\"t0\":1,\"dt\":[99999999999999999999],\"values\":[1,2]")),
              WARD_E_JSON_TYPE, "series[0].dt[0]: expected integer");
    refused_z(SDOC(SERIES("\"t0\":1,\"dt\":{},\"values\":[1,2]")), WARD_E_JSON_TYPE,
              "series[0].dt: expected array");
    refused_z(SDOC(SERIES("\"t0\":1,\"dt\":null,\"values\":[1]")), WARD_E_JSON_TYPE,
              "series[0].dt: expected array");
}

/* Every timestamp stays in range, and adding a delta cannot overflow. */
static void series_timestamps_stay_in_range(void **unused)
{
    (void)unused;
    converts(SDOC(SERIES("\"t0\":253402300799989,\"dt\":[5,5],\"values\":[1,2,3]")), 1,
             "{\"metric\":{\"__name__\":\"cpu_x\",\"instance\":\"" HOST "\"},"
             "\"values\":[1.0,2.0,3.0],"
             "\"timestamps\":[253402300799989,253402300799994,253402300799999]}\n");
    refused_z(SDOC(SERIES("\"t0\":253402300799989,\"dt\":[5,6],\"values\":[1,2,3]")),
              WARD_E_JSON_TYPE,
              "series[0].dt[1]: takes the timestamp past 253402300799999 (the end of year 9999)");
    refused_z(SDOC(SERIES("\"t0\":253402300799999,\"dt\":[0,1],\"values\":[1,2,3]")),
              WARD_E_JSON_TYPE, "series[0].dt[1]: takes the timestamp past");
    /* Sums that would overflow int64_t if they were made. */
    refused_z(SDOC(SERIES("\"t0\":1,\"dt\":[9223372036854775807],\"values\":[1,2]")),
              WARD_E_JSON_TYPE, "series[0].dt[0]: takes the timestamp past");
    refused_z(SDOC(SERIES("\"t0\":253402300799999,\"dt\":[9223372036854775807],"
                          "\"values\":[1,2]")),
              WARD_E_JSON_TYPE, "series[0].dt[0]: takes the timestamp past");
    refused_z(SDOC(SERIES("\"t0\":0,\"dt\":[4611686018427387904,4611686018427387904,"
                          "4611686018427387904],\"values\":[1,2,3,4]")),
              WARD_E_JSON_TYPE, "series[0].dt[0]: takes the timestamp past");
    refused_z(SDOC(SERIES("\"t0\":0,\"dt\":[253402300799999,1],\"values\":[1,2,3]")),
              WARD_E_JSON_TYPE, "series[0].dt[1]: takes the timestamp past");
    /* t0 as "timestamp" is. */
    refused_z(SDOC(SERIES("\"t0\":-1,\"values\":[1]")), WARD_E_JSON_TYPE,
              "series[0].t0: Unix milliseconds must be 0 to 253402300799999");
    refused_z(SDOC(SERIES("\"t0\":253402300800000,\"values\":[1]")), WARD_E_JSON_TYPE,
              "series[0].t0: Unix milliseconds must be 0 to 253402300799999");
    refused_z(SDOC(SERIES("\"t0\":1.5,\"values\":[1]")), WARD_E_JSON_TYPE,
              "series[0].t0: expected integer");
    refused_z(SDOC(SERIES("\"t0\":\"1\",\"values\":[1]")), WARD_E_JSON_TYPE,
              "series[0].t0: expected integer");
}

static void series_fields_are_checked(void **unused)
{
    (void)unused;
    refused_z(SDOC(SERIES("\"values\":[1]")), WARD_E_JSON_TYPE, "series[0]: missing \"t0\"");
    refused_z(SDOC(SERIES("\"t0\":1")), WARD_E_JSON_TYPE, "series[0]: missing \"values\"");
    refused_z(SDOC(SERIES("\"t0\":1,\"dt\":[1]")), WARD_E_JSON_TYPE,
              "series[0]: missing \"values\"");
    refused_z(SDOC("{\"metric_name\":\"x\",\"t0\":1,\"values\":[1]}"), WARD_E_JSON_TYPE,
              "series[0]: missing \"metric_type\"");
    refused_z(SDOC("{\"metric_type\":\"x\",\"t0\":1,\"values\":[1]}"), WARD_E_JSON_TYPE,
              "series[0]: missing \"metric_name\"");
    refused_z(SDOC(SERIES("\"t0\":1,\"values\":[]")), WARD_E_JSON_TYPE, "series[0].values: empty");
    refused_z(SDOC(SERIES("\"t0\":1,\"dt\":[],\"values\":[]")), WARD_E_JSON_TYPE,
              "series[0].values: empty");
    refused_z(SDOC(SERIES("\"t0\":1,\"values\":3")), WARD_E_JSON_TYPE,
              "series[0].values: expected array");
    refused_z(SDOC(SERIES("\"t0\":1,\"dt\":[1],\"values\":[1,\"2\"]")), WARD_E_JSON_TYPE,
              "series[0].values[1]: expected number, got string");
    refused_z(SDOC(SERIES("\"t0\":1,\"dt\":[1],\"values\":[1,null]")), WARD_E_JSON_TYPE,
              "series[0].values[1]: expected number, got null");
    refused_z(SDOC(SERIES("\"t0\":1,\"values\":[[1]]")), WARD_E_JSON_TYPE,
              "series[0].values[0]: expected number, got array");
    refused_z(SDOC(SERIES("\"t0\":1,\"values\":[1e400]")), WARD_E_JSON_NUMBER,
              "series[0].values: invalid JSON");
    refused_z(SDOC(SERIES("\"t0\":1,\"t0\":1,\"values\":[1]")), WARD_E_JSON_TYPE,
              "series[0].t0: appears twice");
    refused_z(SDOC(SERIES("\"t0\":1,\"dt\":[],\"dt\":[],\"values\":[1]")), WARD_E_JSON_TYPE,
              "series[0].dt: appears twice");
    refused_z(SDOC(SERIES("\"t0\":1,\"values\":[1],\"values\":[1]")), WARD_E_JSON_TYPE,
              "series[0].values: appears twice");
    refused_z(SDOC(SERIES("\"t0\":1,\"values\":[1],\"kind\":\"summary\"")), WARD_E_JSON_TYPE,
              "series[0].kind: must be \"gauge\" or \"counter\"");
    refused_z(SDOC(SERIES("\"t0\":1,\"values\":[1],\"labels\":{\"a\":\"1\",\"a\":\"1\"}")),
              WARD_E_JSON_TYPE, "series[0].labels: label 'a' appears twice");
    refused_z(SDOC(SERIES("\"t0\":1,\"values\":[1],\"labels\":{\"__name__\":\"y\"}")),
              WARD_E_JSON_TYPE, "series[0].labels: \"__name__\" is reserved");
    refused_z(SDOC("{\"metric_type\":\"a b\",\"metric_name\":\"x\",\"t0\":1,\"values\":[1]}"),
              WARD_E_JSON_TYPE, "series[0].metric_type: must be 1-128 characters");
    refused_z(SDOC(SERIES("\"t0\":1,\"values\":[1]") ",[]"), WARD_E_JSON_TYPE,
              "series[1]: expected object, got array");
    refused_z("{\"server_id\":\"x\",\"series\":{}}", WARD_E_JSON_TYPE, "series: expected array");
    refused_z("{\"series\":[" SERIES("\"t0\":1,\"values\":[1]") "]}", WARD_E_JSON_TYPE,
              "server_id: missing");
    refused_z(SDOC(SERIES("\"t0\":1,\"values\":[1]")) " x", WARD_E_JSON_SYNTAX, "invalid JSON");
    refused_z(SDOC(SERIES("\"t0\":1,\"values\":[1,]")), WARD_E_JSON_SYNTAX,
              "series[0].values: invalid JSON");
}

/* A document carries exactly one of "metrics" and "series". */
static void one_shape_per_document(void **unused)
{
    (void)unused;
    refused_z("{\"server_id\":\"x\",\"metrics\":[],\"series\":[]}", WARD_E_JSON_TYPE,
              "series: a document carries \"metrics\" or \"series\", not both");
    refused_z("{\"server_id\":\"x\",\"series\":[" SERIES(
                  "\"t0\":1,\"values\":[1]") "],"
                                             "\"metrics\":[" SAMPLE(TS) "]}",
              WARD_E_JSON_TYPE, "metrics: a document carries \"metrics\" or \"series\", not both");
    refused_z("{\"server_id\":\"x\",\"series\":[],\"series\":[]}", WARD_E_JSON_TYPE,
              "series: appears twice");
    refused_z("{\"server_id\":\"x\",\"batch\":{\"series\":[]}}", WARD_E_JSON_TYPE,
              "document: missing \"metrics\" or \"series\"");
    refused_z("{\"server_id\":\"x\",\"Series\":[]}", WARD_E_JSON_TYPE,
              "document: missing \"metrics\" or \"series\"");
}

/* Builds a series document of objects holding counts[i] values of one series each. */
static void series_samples(struct ward_buf *b, const size_t *counts, size_t n, size_t n_dt_extra)
{
    ward_buf_puts(b, "{\"server_id\":\"h\",\"series\":[");
    for (size_t i = 0; i < n; i++) {
        ward_buf_printf(b, "%s{\"metric_type\":\"c\",\"metric_name\":\"n\",\"t0\":0,\"dt\":[",
                        i ? "," : "");
        for (size_t k = 0; k + 1 < counts[i] + n_dt_extra; k++)
            ward_buf_puts(b, k ? ",1" : "1");
        ward_buf_puts(b, "],\"values\":[");
        for (size_t k = 0; k < counts[i]; k++)
            ward_buf_puts(b, k ? ",1" : "1");
        ward_buf_puts(b, "]}");
    }
    ward_buf_puts(b, "]}");
}

/* The sample limit counts every value, and stops an array as soon as it passes the limit. */
static void series_sample_limit(void **unused)
{
    (void)unused;
    struct ward_buf b = WARD_BUF_INIT, out = WARD_BUF_INIT;
    const size_t max = WARD_VM_MAX_SAMPLES;

    size_t full[] = {max};
    series_samples(&b, full, 1, 0);
    assert_int_equal(ward_vm_import_convert(b.data, b.len, &out, NULL), 1);
    check_shape(out.data, 1);
    ward_buf_reset(&b);
    size_t split[] = {max - 2, 2};
    series_samples(&b, split, 2, 0);
    ward_buf_reset(&out);
    assert_int_equal(ward_vm_import_convert(b.data, b.len, &out, NULL), 1);

    size_t over[] = {max + 1};
    ward_buf_reset(&b);
    series_samples(&b, over, 1, 0);
    refused_z(b.data, WARD_E_LIMIT, "series[0].dt: more than 100000 samples");
    ward_buf_reset(&b);
    size_t split_over[] = {max - 1, 2};
    series_samples(&b, split_over, 2, 0);
    refused_z(b.data, WARD_E_LIMIT, "series[1].dt: more than 100000 samples");
    /* Without dt, the values alone. */
    ward_buf_reset(&b);
    ward_buf_puts(&b, "{\"server_id\":\"h\",\"series\":[{\"metric_type\":\"c\",\"metric_name\":"
                      "\"n\",\"t0\":0,\"values\":[");
    for (size_t k = 0; k < max + 1; k++)
        ward_buf_puts(&b, k ? ",1" : "1");
    ward_buf_puts(&b, "]}]}");
    refused_z(b.data, WARD_E_LIMIT, "series[0].values: more than 100000 samples");
    /* A dt longer than the limit allows is refused before the values are seen. */
    size_t one[] = {1};
    ward_buf_reset(&b);
    series_samples(&b, one, 1, max);
    refused_z(b.data, WARD_E_LIMIT, "series[0].dt: more than 100000 samples");
    /* A full document takes no further series. */
    ward_buf_reset(&b);
    size_t then_one[] = {max, 1};
    series_samples(&b, then_one, 2, 0);
    refused_z(b.data, WARD_E_LIMIT, "series: more than 100000 samples");
    ward_buf_done(&b);
    ward_buf_done(&out);
}

/* A full output buffer fails in the series shape as in the other, keeping what it held. */
static void series_output_limit(void **unused)
{
    (void)unused;
    const char *doc = SDOC(SERIES("\"t0\":1,\"dt\":[1,1],\"values\":[1,2,3]") "," SERIES(
        "\"labels\":{\"a\":\"b\"},\"t0\":1,\"values\":[4]"));
    struct ward_buf out, err = WARD_BUF_INIT;
    ward_buf_init(&out, 200);
    ward_buf_puts(&out, "kept\n");
    assert_int_equal(ward_vm_import_convert(doc, strlen(doc), &out, &err), WARD_E_LIMIT);
    assert_string_equal(out.data, "kept\n");
    assert_int_equal(out.len, 5);
    assert_non_null(strstr(err.data, "output: "));
    ward_buf_done(&out);
    ward_buf_done(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(series_are_grouped_in_input_order),
        cmocka_unit_test(label_order_does_not_split_a_series),
        cmocka_unit_test(labels_are_sorted_and_escaped),
        cmocka_unit_test(names_match_the_exposition),
        cmocka_unit_test(instance_label),
        cmocka_unit_test(empty_batches_write_nothing),
        cmocka_unit_test(key_order_and_unknown_keys),
        cmocka_unit_test(values_and_timestamps),
        cmocka_unit_test(malformed_documents_are_refused),
        cmocka_unit_test(missing_and_mistyped_fields_are_refused),
        cmocka_unit_test(limits_are_enforced),
        cmocka_unit_test(many_series),
        cmocka_unit_test(output_limit),
        cmocka_unit_test(series_shape_equals_metrics_shape),
        cmocka_unit_test(series_of_one_value),
        cmocka_unit_test(series_deltas_are_checked),
        cmocka_unit_test(series_timestamps_stay_in_range),
        cmocka_unit_test(series_fields_are_checked),
        cmocka_unit_test(one_shape_per_document),
        cmocka_unit_test(series_sample_limit),
        cmocka_unit_test(series_output_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
