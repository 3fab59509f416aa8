/*
 * Tests of the agent's sample batch: copying the tail of one batch into
 * another keeps every sample's metric, value, time and labels, whether the
 * destination is empty or not and whatever mix of labelled and bare
 * samples the tail holds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "agent/batch.h"

static const struct ward_metric gauge = {"cpu", "usage_percent", WARD_SAMPLE_GAUGE, "A gauge."};

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(copy_tail_keeps_samples),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
