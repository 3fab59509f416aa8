/*
 * Tests of spectra envelope decoding: the flattening rules of envelope.h on
 * payloads shaped like the spectra collectors', timestamps as Go writes
 * them, grouping by host, and a clear, positioned refusal for every bound.
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
#include "server/envelope.h"

#define NOW 1700000000000

struct result {
    struct ward_envelope_batch b;
    struct ward_buf err;
    int r;
};

static void decode(struct result *res, const char *json)
{
    ward_envelope_init(&res->b);
    ward_buf_init(&res->err, 0);
    res->r = ward_envelope_decode(&res->b, json, strlen(json), NOW, &res->err);
    if (res->r < 0)
        print_message("refused: %s\n", res->err.data ? res->err.data : "");
}

static void release(struct result *res)
{
    ward_envelope_done(&res->b);
    ward_buf_done(&res->err);
}

static void refused(const char *json, int code, const char *want)
{
    struct result res;
    ward_envelope_init(&res.b);
    ward_buf_init(&res.err, 0);
    res.r = ward_envelope_decode(&res.b, json, strlen(json), NOW, &res.err);
    if (res.r != code || !res.err.data || !strstr(res.err.data, want))
        fail_msg("decoding %.100s: got %d '%s', want %d '%s'", json, res.r,
                 res.err.data ? res.err.data : "", code, want);
    release(&res);
}

/* Finds the sample of host h with name and labels, or fails. */
static const struct ward_sample *find(const struct ward_envelope_host *h, const char *category,
                                      const char *name, const char *labels)
{
    for (size_t i = 0; i < h->n; i++)
        if (strcmp(h->samples[i].category, category) == 0 &&
            strcmp(h->samples[i].name, name) == 0 && strcmp(h->samples[i].labels, labels) == 0)
            return &h->samples[i];
    fail_msg("no sample %s %s %s on %s", category, name, labels, h->hostname);
    return NULL;
}

static void spectra_batch(void **unused)
{
    (void)unused;
    struct result res;
    decode(&res, "[{\"type\":\"cpu\",\"timestamp\":\"2025-01-02T15:04:05.123456789+01:00\","
                 "\"hostname\":\"web-01\",\"data\":{\"usage_percent\":12.5,\"per_core\":[10,15.5],"
                 "\"load\":{\"avg1\":0.5,\"avg5\":1},\"model\":\"Xeon\",\"throttled\":true,"
                 "\"temp\":null}},"
                 "{\"type\":\"memory\",\"timestamp\":1700000000123,\"hostname\":\"db-01\","
                 "\"data\":{\"ram\":{\"total\":8,\"used\":5},\"swap\":{\"used\":0}}},"
                 "{\"hostname\":\"web-01\",\"data\":[{\"interface\":\"eth0\",\"rx_bytes_total\":1,"
                 "\"tx_bytes_total\":2},{\"rx_bytes_total\":3,\"interface\":\"lo\"}],"
                 "\"type\":\"network\",\"timestamp\":\"2025-01-02T14:04:06Z\",\"extra\":[1,{}]}]");
    assert_int_equal(res.r, 0);
    assert_int_equal(res.b.n_envelopes, 3);
    assert_int_equal(res.b.n_hosts, 2);
    assert_int_equal(res.b.n_samples, 12);
    const struct ward_envelope_host *web = &res.b.hosts[0], *db = &res.b.hosts[1];
    assert_string_equal(web->hostname, "web-01");
    assert_string_equal(db->hostname, "db-01");
    assert_int_equal(web->n, 9);
    assert_int_equal(db->n, 3);

    const struct ward_sample *s = find(web, "cpu", "usage_percent", "{}");
    assert_true(s->value == 12.5);
    assert_int_equal(s->ts_ms, 1735826645123); /* 14:04:05.123Z */
    assert_int_equal(s->kind, WARD_KIND_GAUGE);
    assert_true(find(web, "cpu", "per_core", "{\"index\":\"0\"}")->value == 10);
    assert_true(find(web, "cpu", "per_core", "{\"index\":\"1\"}")->value == 15.5);
    assert_true(find(web, "cpu", "load_avg1", "{}")->value == 0.5);
    assert_true(find(web, "cpu", "load_avg5", "{}")->value == 1);
    assert_true(find(web, "cpu", "throttled", "{}")->value == 1);
    s = find(web, "network", "rx_bytes_total", "{\"interface\":\"eth0\"}");
    assert_true(s->value == 1);
    assert_int_equal(s->kind, WARD_KIND_COUNTER);
    assert_int_equal(s->ts_ms, 1735826646000);
    assert_true(find(web, "network", "tx_bytes_total", "{\"interface\":\"eth0\"}")->value == 2);
    assert_true(find(web, "network", "rx_bytes_total", "{\"interface\":\"lo\"}")->value == 3);
    assert_true(find(db, "memory", "ram_used", "{}")->value == 5);
    assert_int_equal(find(db, "memory", "swap_used", "{}")->ts_ms, 1700000000123);
    /* Samples keep their order within a host. */
    assert_string_equal(web->samples[0].name, "usage_percent");
    assert_string_equal(web->samples[web->n - 1].category, "network");
    release(&res);
}

static void single_envelope_and_defaults(void **unused)
{
    (void)unused;
    struct result res;
    decode(&res, "{\"type\":\"system\",\"hostname\":\"h\",\"data\":7}");
    assert_int_equal(res.r, 0);
    assert_int_equal(res.b.n_hosts, 1);
    assert_int_equal(res.b.hosts[0].n, 1);
    const struct ward_sample *s = &res.b.hosts[0].samples[0];
    assert_string_equal(s->name, "value");
    assert_string_equal(s->labels, "{}");
    assert_int_equal(s->ts_ms, NOW);
    release(&res);

    decode(&res, "{\"type\":\"system\",\"hostname\":\"h\",\"timestamp\":null,"
                 "\"data\":{\"os\":\"linux\",\"users\":[\"a\",\"b\"],\"x\":null}}");
    assert_int_equal(res.r, 0);
    assert_int_equal(res.b.n_hosts, 1);
    assert_int_equal(res.b.n_samples, 0);
    assert_int_equal(res.b.hosts[0].n, 0);
    release(&res);

    decode(&res, "[]");
    assert_int_equal(res.r, 0);
    assert_int_equal(res.b.n_hosts, 0);
    assert_int_equal(res.b.n_samples, 0);
    release(&res);
}

static void arrays_and_labels(void **unused)
{
    (void)unused;
    struct result res;
    decode(&res, "{\"type\":\"disk\",\"hostname\":\"h\",\"data\":{"
                 "\"matrix\":[[1,2],[3]],"
                 "\"mounts\":[{\"used\":1,\"inodes\":{\"free\":4}},{\"used\":2}],"
                 "\"services\":[{\"name\":\"sshd\",\"state\":\"running\"}],"
                 "\"containers\":[{\"name\":\"web\",\"net\":[{\"if\":\"eth0\",\"rx\":9}],"
                 "\"cpu\":[5,6],\"index\":\"x\"}],"
                 "\"odd key/name\":{\"a b\":1},\"\":{\"z\":2}}}");
    assert_int_equal(res.r, 0);
    const struct ward_envelope_host *h = &res.b.hosts[0];
    assert_true(find(h, "disk", "matrix", "{\"index\":\"0\",\"index_2\":\"1\"}")->value == 2);
    assert_true(find(h, "disk", "matrix", "{\"index\":\"1\",\"index_2\":\"0\"}")->value == 3);
    assert_true(find(h, "disk", "mounts_used", "{\"index\":\"1\"}")->value == 2);
    assert_true(find(h, "disk", "mounts_inodes_free", "{\"index\":\"0\"}")->value == 4);
    assert_true(
        find(h, "disk", "containers_net_rx", "{\"if\":\"eth0\",\"index\":\"x\",\"name\":\"web\"}")
            ->value == 9);
    assert_true(
        find(h, "disk", "containers_cpu", "{\"index\":\"x\",\"index_2\":\"1\",\"name\":\"web\"}")
            ->value == 6);
    assert_true(find(h, "disk", "odd_key_name_a_b", "{}")->value == 1);
    assert_true(find(h, "disk", "z", "{}")->value == 2);
    /* Services had only strings: no samples. */
    for (size_t i = 0; i < h->n; i++)
        assert_null(strstr(h->samples[i].name, "services"));
    assert_int_equal(h->n, 11);
    release(&res);
}

static void timestamps(void **unused)
{
    (void)unused;
    static const struct {
        const char *ts;
        int64_t want;
    } ok[] = {
        {"\"2023-11-14T22:13:20Z\"", 1700000000000},
        {"\"2023-11-14T22:13:20.5Z\"", 1700000000500},
        {"\"2023-11-14T23:13:20.999999999+01:00\"", 1700000000999},
        {"\"2023-11-14T17:13:20.25-05:00\"", 1700000000250},
        {"1700000000123", 1700000000123},
        {"null", NOW},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        char doc[256];
        snprintf(doc, sizeof(doc),
                 "[{\"type\":\"t\",\"hostname\":\"h\",\"timestamp\":%s,\"data\":{\"v\":1}}]",
                 ok[i].ts);
        struct result res;
        decode(&res, doc);
        assert_int_equal(res.r, 0);
        assert_int_equal(res.b.hosts[0].samples[0].ts_ms, ok[i].want);
        release(&res);
    }
    refused("[{\"type\":\"t\",\"hostname\":\"h\",\"timestamp\":\"yesterday\",\"data\":1}]",
            WARD_E_JSON_TYPE, "[0].timestamp: not an RFC 3339 time: 'yesterday'");
    refused("[{\"type\":\"t\",\"hostname\":\"h\",\"timestamp\":\"0001-01-01T00:00:00Z\","
            "\"data\":1}]",
            WARD_E_JSON_TYPE, "[0].timestamp: must lie between 1970 and 9999");
    refused("[{\"type\":\"t\",\"hostname\":\"h\",\"timestamp\":1.5,\"data\":1}]", WARD_E_JSON_TYPE,
            "[0].timestamp: expected an RFC 3339 string or Unix milliseconds, got number");
}

static void refusals(void **unused)
{
    (void)unused;
    refused("", WARD_E_JSON_SYNTAX, "invalid JSON at byte 0");
    refused("[{\"type\":\"t\",\"hostname\":\"h\",\"data\":{\"a\":[1,}}]", WARD_E_JSON_SYNTAX,
            "[0].data.a: invalid JSON");
    refused("7", WARD_E_JSON_TYPE, "expected a JSON array of envelopes, got integer");
    refused("[1]", WARD_E_JSON_TYPE, "[0]: expected an envelope object, got integer");
    refused("[{\"type\":\"t\",\"hostname\":\"h\",\"data\":1},{\"hostname\":\"h\",\"data\":1}]",
            WARD_E_JSON_TYPE, "[1]: missing \"type\"");
    refused("{\"type\":\"t\",\"data\":1}", WARD_E_JSON_TYPE, "missing \"hostname\"");
    refused("{\"type\":\"t\",\"hostname\":\"h\"}", WARD_E_JSON_TYPE, "missing \"data\"");
    refused("{\"type\":\"t\",\"hostname\":\"h\",\"data\":1,\"data\":2}", WARD_E_JSON_TYPE,
            "data: appears twice");
    refused("[{\"type\":\"c p u\",\"hostname\":\"h\",\"data\":1}]", WARD_E_JSON_TYPE,
            "[0].type: must be a string of 1-128 characters");
    refused("[{\"type\":7,\"hostname\":\"h\",\"data\":1}]", WARD_E_JSON_TYPE, "[0].type");
    refused("[{\"type\":\"t\",\"hostname\":\"\",\"data\":1}]", WARD_E_JSON_TYPE,
            "[0].hostname: must be a string of 1-253 bytes");
    refused("[{\"type\":\"t\",\"hostname\":\"a\\nb\",\"data\":1}]", WARD_E_JSON_TYPE,
            "[0].hostname");
    refused("[{\"type\":\"t\",\"hostname\":\"h\",\"data\":1}] x", WARD_E_JSON_SYNTAX,
            "invalid JSON");
    refused("{\"type\":\"t\",\"hostname\":\"h\",\"data\":[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]}",
            WARD_E_JSON_DEPTH, "invalid JSON");
    refused("{\"type\":\"t\",\"hostname\":\"h\",\"data\":1e999}", WARD_E_JSON_NUMBER,
            "data: invalid JSON");
}

static void bounds(void **unused)
{
    (void)unused;
    struct ward_buf doc = WARD_BUF_INIT;

    /* A long label value names the element it is in. */
    char long_value[WARD_LABELS_MAX_VALUE + 2];
    memset(long_value, 'v', sizeof(long_value) - 1);
    long_value[sizeof(long_value) - 1] = '\0';
    ward_buf_printf(&doc,
                    "[{\"type\":\"t\",\"hostname\":\"h\",\"data\":1},{\"type\":\"cpu\","
                    "\"hostname\":\"h\",\"data\":{\"cpu\":{\"per_core\":[{\"c\":\"0\",\"u\":1},"
                    "{\"c\":\"1\",\"u\":1},{\"c\":\"%s\",\"u\":1}]}}}]",
                    long_value);
    refused(doc.data, WARD_E_LIMIT,
            "[1].data.cpu.per_core[2]: label 'c' has a value longer than 1024 bytes");
    /* ... but only if the element yields samples. */
    ward_buf_reset(&doc);
    ward_buf_printf(&doc, "{\"type\":\"t\",\"hostname\":\"h\",\"data\":[{\"c\":\"%s\"}]}",
                    long_value);
    struct result res;
    decode(&res, doc.data);
    assert_int_equal(res.r, 0);
    release(&res);

    /* Seventeen labels on one chain, of which the inner element has two. */
    ward_buf_reset(&doc);
    ward_buf_puts(&doc, "{\"type\":\"t\",\"hostname\":\"h\",\"data\":[{\"inner\":[{\"x\":\"1\","
                        "\"y\":\"2\",\"v\":1}]");
    for (int i = 0; i < 15; i++)
        ward_buf_printf(&doc, ",\"k%d\":\"v\"", i);
    ward_buf_puts(&doc, "}]}");
    refused(doc.data, WARD_E_LIMIT, "data[0]: more than 16 labels on one series");
    /* Sixteen are fine. */
    ward_buf_reset(&doc);
    ward_buf_puts(&doc, "{\"type\":\"t\",\"hostname\":\"h\",\"data\":[{\"inner\":[{\"x\":\"1\","
                        "\"y\":\"2\",\"v\":1}]");
    for (int i = 0; i < 14; i++)
        ward_buf_printf(&doc, ",\"k%d\":\"v\"", i);
    ward_buf_puts(&doc, "}]}");
    decode(&res, doc.data);
    assert_int_equal(res.r, 0);
    assert_int_equal(res.b.n_samples, 1);
    release(&res);

    /* A name that grows past the bound. */
    ward_buf_reset(&doc);
    ward_buf_puts(&doc, "{\"type\":\"t\",\"hostname\":\"h\",\"data\":{");
    for (int i = 0; i < 7; i++)
        ward_buf_puts(&doc, "\"aaaaaaaaaaaaaaaaaaaa\":{");
    ward_buf_puts(&doc, "\"b\":1}}}}}}}}}");
    refused(doc.data, WARD_E_LIMIT, "is longer than 128 bytes");

    /* Samples per body. */
    ward_buf_reset(&doc);
    ward_buf_puts(&doc, "{\"type\":\"t\",\"hostname\":\"h\",\"data\":[0");
    for (int i = 0; i < WARD_ENVELOPE_MAX_SAMPLES; i++)
        ward_buf_puts(&doc, ",1");
    ward_buf_puts(&doc, "]}");
    refused(doc.data, WARD_E_LIMIT, "data[100000]: more than 100000 samples in one body");

    /* Envelopes per body. */
    ward_buf_reset(&doc);
    ward_buf_putc(&doc, '[');
    for (int i = 0; i <= WARD_ENVELOPE_MAX_ENVELOPES; i++)
        ward_buf_printf(&doc, "%s{\"type\":\"t\",\"hostname\":\"h\",\"data\":null}", i ? "," : "");
    ward_buf_putc(&doc, ']');
    refused(doc.data, WARD_E_LIMIT, "[10000]: more than 10000 envelopes in one body");

    /* Hostnames per body. */
    ward_buf_reset(&doc);
    ward_buf_putc(&doc, '[');
    for (int i = 0; i <= WARD_ENVELOPE_MAX_HOSTS; i++)
        ward_buf_printf(&doc, "%s{\"type\":\"t\",\"hostname\":\"h%d\",\"data\":1}", i ? "," : "",
                        i);
    ward_buf_putc(&doc, ']');
    refused(doc.data, WARD_E_LIMIT, "[256]: more than 256 hostnames in one body");
    ward_buf_done(&doc);
}

static void hosts_interleaved(void **unused)
{
    (void)unused;
    struct result res;
    decode(&res, "[{\"type\":\"a\",\"hostname\":\"x\",\"data\":{\"v\":1}},"
                 "{\"type\":\"a\",\"hostname\":\"y\",\"data\":{\"v\":2}},"
                 "{\"type\":\"b\",\"hostname\":\"x\",\"data\":{\"v\":3}}]");
    assert_int_equal(res.r, 0);
    assert_int_equal(res.b.n_hosts, 2);
    assert_string_equal(res.b.hosts[0].hostname, "x");
    assert_int_equal(res.b.hosts[0].n, 2);
    assert_true(res.b.hosts[0].samples[0].value == 1);
    assert_true(res.b.hosts[0].samples[1].value == 3);
    assert_string_equal(res.b.hosts[0].samples[1].category, "b");
    assert_int_equal(res.b.hosts[1].n, 1);
    assert_true(res.b.hosts[1].samples[0].value == 2);
    release(&res);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(spectra_batch),     cmocka_unit_test(single_envelope_and_defaults),
        cmocka_unit_test(arrays_and_labels), cmocka_unit_test(timestamps),
        cmocka_unit_test(refusals),          cmocka_unit_test(bounds),
        cmocka_unit_test(hosts_interleaved),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
