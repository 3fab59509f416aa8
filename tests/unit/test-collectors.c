/*
 * Collector tests on recorded and synthetic /proc trees.
 *
 * A recording sink stores what each collector emits, and the tests compare
 * it with values computed by hand from the fixture files. The node_exporter
 * tree recorded from a real machine lives in ../shared/fixtures beside the
 * repository, as in CI.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "agent/collector.h"

#define FIXTURES     WARD_SOURCE_ROOT "/tests/fixtures"
#define NODE_FIXTURE WARD_SOURCE_ROOT "/../shared/fixtures/node_exporter"

extern const struct ward_collector ward_collector_proc_stat;
extern const struct ward_collector ward_collector_proc_meminfo;

struct rec {
    const char *category, *name;
    enum ward_sample_kind kind;
    double value;
    char label_key[16], label_value[16];
};

struct recorder {
    struct ward_sink sink;
    struct rec recs[64];
    size_t n;
};

static int record(struct ward_sink *sink, const char *category, const char *name,
                  enum ward_sample_kind kind, double value, const struct ward_label *labels,
                  size_t n_labels)
{
    struct recorder *r = (struct recorder *)sink;
    if (r->n == 64)
        return -ENOSPC;
    struct rec *x = &r->recs[r->n++];
    *x = (struct rec){.category = category, .name = name, .kind = kind, .value = value};
    if (n_labels) {
        snprintf(x->label_key, sizeof(x->label_key), "%s", labels[0].key);
        snprintf(x->label_value, sizeof(x->label_value), "%s", labels[0].value);
    }
    return 0;
}

static const struct rec *find(const struct recorder *r, const char *name, const char *label)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->recs[i].name, name) == 0 && strcmp(r->recs[i].label_value, label) == 0)
            return &r->recs[i];
    return NULL;
}

static int run(const struct ward_collector *c, void *state, const char *root, struct recorder *r)
{
    r->n = 0;
    r->sink.emit = record;
    struct ward_collect_ctx ctx = {.root = root, .now_ms = 1, .sink = &r->sink};
    return c->collect(state, &ctx);
}

static void cpu_first_read_is_baseline(void **unused)
{
    (void)unused;
    void *st;
    struct recorder r;
    assert_int_equal(ward_collector_proc_stat.init(&st), 0);
    assert_int_equal(run(&ward_collector_proc_stat, st, FIXTURES "/cpu-a", &r), 0);
    assert_int_equal(r.n, 0);
    ward_collector_proc_stat.done(st);
}

static void cpu_usage_from_deltas(void **unused)
{
    (void)unused;
    void *st;
    struct recorder r;
    assert_int_equal(ward_collector_proc_stat.init(&st), 0);
    assert_int_equal(run(&ward_collector_proc_stat, st, FIXTURES "/cpu-a", &r), 0);
    assert_int_equal(run(&ward_collector_proc_stat, st, FIXTURES "/cpu-b", &r), 0);
    assert_int_equal(r.n, 3);
    const struct rec *total = find(&r, "usage_percent", "");
    const struct rec *c0 = find(&r, "usage_percent", "0");
    const struct rec *c1 = find(&r, "usage_percent", "1");
    assert_non_null(total);
    assert_non_null(c0);
    assert_non_null(c1);
    assert_string_equal(total->category, "cpu");
    assert_int_equal(total->kind, WARD_SAMPLE_GAUGE);
    assert_true(fabs(total->value - 35.0) < 1e-9);
    assert_true(fabs(c0->value - 60.0) < 1e-9);
    assert_true(fabs(c1->value - 10.0) < 1e-9);
    assert_string_equal(c0->label_key, "core");
    ward_collector_proc_stat.done(st);
}

static void cpu_reset_rebaselines(void **unused)
{
    (void)unused;
    void *st;
    struct recorder r;
    assert_int_equal(ward_collector_proc_stat.init(&st), 0);
    assert_int_equal(run(&ward_collector_proc_stat, st, FIXTURES "/cpu-b", &r), 0);
    assert_int_equal(run(&ward_collector_proc_stat, st, FIXTURES "/cpu-reset", &r), 0);
    /* cpu1 went backwards: no sample for it, the others are fine. */
    assert_null(find(&r, "usage_percent", "1"));
    const struct rec *c0 = find(&r, "usage_percent", "0");
    assert_non_null(c0);
    assert_true(fabs(c0->value - 100.0 * 60 / 110) < 1e-9); /* busy +60 of +110 */
    /* And the next read after the reset works from the new baseline. */
    assert_int_equal(run(&ward_collector_proc_stat, st, FIXTURES "/cpu-reset", &r), 0);
    assert_int_equal(r.n, 0); /* no time passed: no division by zero, no sample */
    ward_collector_proc_stat.done(st);
}

static void cpu_missing_file(void **unused)
{
    (void)unused;
    void *st;
    struct recorder r;
    assert_int_equal(ward_collector_proc_stat.init(&st), 0);
    assert_int_equal(run(&ward_collector_proc_stat, st, FIXTURES "/empty", &r), -ENOENT);
    ward_collector_proc_stat.done(st);
}

static void cpu_real_machine(void **unused)
{
    (void)unused;
    void *st;
    struct recorder r;
    assert_int_equal(ward_collector_proc_stat.init(&st), 0);
    assert_int_equal(run(&ward_collector_proc_stat, st, NODE_FIXTURE, &r), 0);
    assert_int_equal(r.n, 0);
    ward_collector_proc_stat.done(st);
}

static void mem_real_machine_without_memavailable(void **unused)
{
    (void)unused;
    struct recorder r;
    assert_int_equal(run(&ward_collector_proc_meminfo, NULL, NODE_FIXTURE, &r), 0);
    /* node_exporter reads the same file as node_memory_MemTotal_bytes 3.831959552e+09. */
    assert_true(find(&r, "total_bytes", "")->value == 3831959552.0);
    assert_true(find(&r, "free_bytes", "")->value == 225472.0 * 1024);
    /* No MemAvailable: estimated as free + buffers + cached. */
    double avail = (225472.0 + 22040 + 930888) * 1024;
    assert_true(find(&r, "available_bytes", "")->value == avail);
    assert_true(find(&r, "used_bytes", "")->value == 3831959552.0 - avail);
    assert_true(find(&r, "swap_total_bytes", "")->value == 4294963200.0);
    assert_true(find(&r, "swap_used_bytes", "")->value == (4194300.0 - 3155360) * 1024);
    assert_string_equal(find(&r, "total_bytes", "")->category, "ram");
}

static void mem_no_swap(void **unused)
{
    (void)unused;
    struct recorder r;
    assert_int_equal(run(&ward_collector_proc_meminfo, NULL, FIXTURES "/mem-noswap", &r), 0);
    assert_true(find(&r, "total_bytes", "")->value == 8000000.0 * 1024);
    assert_true(find(&r, "available_bytes", "")->value == 6000000.0 * 1024);
    assert_true(find(&r, "used_bytes", "")->value == 2000000.0 * 1024);
    assert_true(fabs(find(&r, "usage_percent", "")->value - 25.0) < 1e-9);
    assert_true(find(&r, "swap_total_bytes", "")->value == 0);
    assert_true(find(&r, "swap_used_bytes", "")->value == 0);
}

static void mem_missing_file(void **unused)
{
    (void)unused;
    struct recorder r;
    assert_int_equal(run(&ward_collector_proc_meminfo, NULL, FIXTURES "/empty", &r), -ENOENT);
}

static void parse_fields(void **unused)
{
    (void)unused;
    uint64_t v[4];
    assert_int_equal(ward_parse_u64_fields("  1 22\t333 x 4", v, 4), 3);
    assert_true(v[0] == 1 && v[1] == 22 && v[2] == 333);
    assert_int_equal(ward_parse_u64_fields("1 2 3 4 5", v, 2), 2);
    assert_int_equal(ward_parse_u64_fields("99999999999999999999999", v, 1), 1);
    assert_true(v[0] == UINT64_MAX);
    assert_int_equal(ward_parse_u64_fields("", v, 4), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cpu_first_read_is_baseline),
        cmocka_unit_test(cpu_usage_from_deltas),
        cmocka_unit_test(cpu_reset_rebaselines),
        cmocka_unit_test(cpu_missing_file),
        cmocka_unit_test(cpu_real_machine),
        cmocka_unit_test(mem_real_machine_without_memavailable),
        cmocka_unit_test(mem_no_swap),
        cmocka_unit_test(mem_missing_file),
        cmocka_unit_test(parse_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
