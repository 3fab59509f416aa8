/*
 * Tests of the agent's sample batch: copying the tail of one batch into
 * another keeps every sample's metric, value, time and labels, whether the
 * destination is empty or not and whatever mix of labelled and bare
 * samples the tail holds; the series-shaped encoding groups each series
 * once, with its timestamps as a start and differences, and splits a series
 * whose time goes backwards; the batch's own labels are merged into every
 * sample in key order, lose to a sample's label of the same key, and are
 * left off past the bound of labels per sample.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "agent/batch.h"

static const struct ward_metric gauge = {"cpu", "usage_percent", WARD_SAMPLE_GAUGE, "A gauge."};
static const struct ward_metric counter = {"net", "rx_bytes_total", WARD_SAMPLE_COUNTER, "Bytes."};

static void emit(struct ward_batch *b, double v, const char *core)
{
    struct ward_label l = {"core", core};
    assert_int_equal(b->sink.emit(&b->sink, &gauge, v, core ? &l : NULL, core ? 1 : 0), 0);
}

static void expect(const struct ward_batch *b, size_t i, double v, int64_t ts, const char *labels)
{
    struct ward_batch_sample s;
    ward_batch_get(b, i, &s);
    assert_ptr_equal(s.metric, &gauge);
    assert_true(s.value == v);
    assert_int_equal(s.ts_ms, ts);
    if (labels)
        assert_string_equal(s.labels, labels);
    else
        assert_null(s.labels);
}

static void copy_tail_keeps_samples(void **unused)
{
    (void)unused;
    struct ward_batch src, dst;
    ward_batch_init(&src, 100);
    ward_batch_init(&dst, 100);
    src.ts_ms = 1000;
    emit(&src, 1, "0");
    emit(&src, 2, NULL);
    src.ts_ms = 2000;
    emit(&src, 3, NULL); /* the tail starts here, without labels */
    emit(&src, 4, "1");
    emit(&src, 5, NULL);
    emit(&src, 6, "22");

    dst.ts_ms = 500;
    emit(&dst, 9, "x");
    assert_int_equal(ward_batch_copy_tail(&dst, &src, 2), 0);
    assert_int_equal(ward_batch_count(&dst), 5);
    expect(&dst, 0, 9, 500, "{\"core\":\"x\"}");
    expect(&dst, 1, 3, 2000, NULL);
    expect(&dst, 2, 4, 2000, "{\"core\":\"1\"}");
    expect(&dst, 3, 5, 2000, NULL);
    expect(&dst, 4, 6, 2000, "{\"core\":\"22\"}");

    /* From the start into an empty batch, and a tail that is empty. */
    struct ward_batch all;
    ward_batch_init(&all, 100);
    assert_int_equal(ward_batch_copy_tail(&all, &src, 0), 0);
    assert_int_equal(ward_batch_count(&all), 6);
    expect(&all, 0, 1, 1000, "{\"core\":\"0\"}");
    expect(&all, 5, 6, 2000, "{\"core\":\"22\"}");
    assert_int_equal(ward_batch_copy_tail(&all, &src, 6), 0);
    assert_int_equal(ward_batch_copy_tail(&all, &src, 60), 0);
    assert_int_equal(ward_batch_count(&all), 6);
    ward_batch_done(&all);
    ward_batch_done(&src);
    ward_batch_done(&dst);
}

static void series_encoding(void **unused)
{
    (void)unused;
    struct ward_batch b;
    ward_batch_init(&b, 100);
    struct ward_label eth = {"interface", "eth0"};
    int64_t times[] = {1000, 2000, 3500, 3000}; /* the clock goes back before the last round */
    for (size_t round = 0; round < 4; round++) {
        b.ts_ms = times[round];
        emit(&b, (double)round, "0");
        emit(&b, 0.5 + (double)round, NULL);
        assert_int_equal(b.sink.emit(&b.sink, &counter, 100.0 * (double)round, &eth, 1), 0);
    }
    struct ward_buf out = WARD_BUF_INIT;
    assert_int_equal(ward_batch_encode_series(&b, "id", 7, 9, &out), 0);
    assert_string_equal(
        out.data,
        "{\"server_id\":\"id\",\"batch\":{\"seq\":9,\"boot\":7},\"series\":["
        "{\"metric_type\":\"cpu\",\"metric_name\":\"usage_percent\",\"labels\":{\"core\":\"0\"},"
        "\"t0\":1000,\"dt\":[1000,1500],\"values\":[0.0,1.0,2.0]},"
        "{\"metric_type\":\"cpu\",\"metric_name\":\"usage_percent\","
        "\"t0\":1000,\"dt\":[1000,1500],\"values\":[0.5,1.5,2.5]},"
        "{\"metric_type\":\"net\",\"metric_name\":\"rx_bytes_total\","
        "\"labels\":{\"interface\":\"eth0\"},\"kind\":\"counter\","
        "\"t0\":1000,\"dt\":[1000,1500],\"values\":[0.0,100.0,200.0]},"
        "{\"metric_type\":\"cpu\",\"metric_name\":\"usage_percent\",\"labels\":{\"core\":\"0\"},"
        "\"t0\":3000,\"dt\":[],\"values\":[3.0]},"
        "{\"metric_type\":\"cpu\",\"metric_name\":\"usage_percent\","
        "\"t0\":3000,\"dt\":[],\"values\":[3.5]},"
        "{\"metric_type\":\"net\",\"metric_name\":\"rx_bytes_total\","
        "\"labels\":{\"interface\":\"eth0\"},\"kind\":\"counter\","
        "\"t0\":3000,\"dt\":[],\"values\":[300.0]}]}");
    /* An empty batch has no series. */
    ward_batch_reset(&b);
    ward_buf_reset(&out);
    assert_int_equal(ward_batch_encode_series(&b, "id", 7, 10, &out), 0);
    assert_string_equal(out.data, "{\"server_id\":\"id\",\"batch\":{\"seq\":10,\"boot\":7},"
                                  "\"series\":[]}");
    ward_buf_done(&out);
    ward_batch_done(&b);
}

static void batch_labels(void **unused)
{
    (void)unused;
    struct ward_batch b;
    ward_batch_init(&b, 100);
    b.ts_ms = 1000;
    const struct ward_label extra[] = {{"role", "web"}, {"core", "all"}, {"env", "prod"}};
    assert_int_equal(ward_batch_set_labels(&b, extra, 3), 0);
    assert_int_equal(ward_batch_n_labels(&b), 3);
    emit(&b, 1, NULL);
    emit(&b, 2, "7"); /* its own core wins */
    expect(&b, 0, 1, 1000, "{\"core\":\"all\",\"env\":\"prod\",\"role\":\"web\"}");
    expect(&b, 1, 2, 1000, "{\"core\":\"7\",\"env\":\"prod\",\"role\":\"web\"}");

    /* Refused sets leave the labels as they were. */
    const struct ward_label twice[] = {{"a", "1"}, {"a", "2"}};
    assert_int_equal(ward_batch_set_labels(&b, twice, 2), -EINVAL);
    const struct ward_label empty_key[] = {{"", "1"}};
    assert_int_equal(ward_batch_set_labels(&b, empty_key, 1), -EINVAL);
    assert_int_equal(ward_batch_set_labels(&b, extra, WARD_BATCH_MAX_LABELS + 1), -EINVAL);
    assert_int_equal(ward_batch_n_labels(&b), 3);

    /* Sixteen labels in all: the last of the batch's in key order are left off. */
    char keys[WARD_BATCH_MAX_LABELS][8];
    struct ward_label many[WARD_BATCH_MAX_LABELS];
    for (int i = 0; i < WARD_BATCH_MAX_LABELS; i++) {
        snprintf(keys[i], sizeof(keys[i]), "k%02d", i);
        many[i] = (struct ward_label){keys[i], "v"};
    }
    assert_int_equal(ward_batch_set_labels(&b, many, WARD_BATCH_MAX_LABELS), 0);
    const struct ward_label own[WARD_SAMPLE_MAX_LABELS] = {{"a", "1"}, {"b", "2"}, {"k00", "own"},
                                                           {"z", "3"}, {"y", "4"}, {"x", "5"}};
    assert_int_equal(b.sink.emit(&b.sink, &gauge, 3, own, WARD_SAMPLE_MAX_LABELS), 0);
    struct ward_batch_sample s;
    ward_batch_get(&b, 2, &s);
    assert_string_equal(s.labels, "{\"a\":\"1\",\"b\":\"2\",\"k00\":\"own\",\"k01\":\"v\","
                                  "\"k02\":\"v\",\"k03\":\"v\",\"k04\":\"v\",\"k05\":\"v\","
                                  "\"k06\":\"v\",\"k07\":\"v\",\"k08\":\"v\",\"k09\":\"v\","
                                  "\"k10\":\"v\",\"x\":\"5\",\"y\":\"4\",\"z\":\"3\"}");

    /* None again: samples have their own labels only. */
    assert_int_equal(ward_batch_set_labels(&b, NULL, 0), 0);
    emit(&b, 4, NULL);
    expect(&b, 3, 4, 1000, NULL);
    ward_batch_done(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(copy_tail_keeps_samples),
        cmocka_unit_test(series_encoding),
        cmocka_unit_test(batch_labels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
