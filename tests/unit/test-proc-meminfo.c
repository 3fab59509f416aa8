/*
 * Tests of the /proc/meminfo collector: a recorded machine without
 * MemAvailable (node_exporter's tree), a box without swap, a missing file.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "collector-test.h"

extern const struct ward_collector ward_collector_proc_meminfo;
static const struct ward_collector *const c = &ward_collector_proc_meminfo;

static void recorded_machine_without_memavailable(void **unused)
{
    (void)unused;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(collector_run(c, NULL, NODE_FIXTURE, NULL, &r), 0);
    /* node_exporter: node_memory_MemTotal_bytes 3.831959552e+09 for this tree. */
    assert_true(rec_value(&r, "ram_total_bytes", "") == 3831959552.0);
    assert_true(rec_value(&r, "ram_free_bytes", "") == 225472.0 * 1024);
    /* No MemAvailable: estimated as free + buffers + cached. */
    double avail = (225472.0 + 22040 + 930888) * 1024;
    assert_true(rec_value(&r, "ram_available_bytes", "") == avail);
    assert_true(rec_value(&r, "ram_used_bytes", "") == 3831959552.0 - avail);
    assert_true(rec_value(&r, "ram_swap_total_bytes", "") == 4294963200.0);
    assert_true(rec_value(&r, "ram_swap_used_bytes", "") == (4194300.0 - 3155360) * 1024);
    assert_true(rec_value(&r, "ram_buffers_bytes", "") == 22040.0 * 1024);
    assert_true(rec_value(&r, "ram_cached_bytes", "") == 930888.0 * 1024);
    rec_done(&r);
}

static void no_swap(void **unused)
{
    (void)unused;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(collector_run(c, NULL, FIXTURES "/mem-noswap", NULL, &r), 0);
    assert_true(rec_value(&r, "ram_total_bytes", "") == 8000000.0 * 1024);
    assert_true(rec_value(&r, "ram_available_bytes", "") == 6000000.0 * 1024);
    assert_true(rec_value(&r, "ram_used_bytes", "") == 2000000.0 * 1024);
    assert_true(fabs(rec_value(&r, "ram_usage_percent", "") - 25.0) < 1e-9);
    assert_true(rec_value(&r, "ram_swap_total_bytes", "") == 0);
    assert_true(rec_value(&r, "ram_swap_used_bytes", "") == 0);
    rec_done(&r);
}

static void missing_file(void **unused)
{
    (void)unused;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(collector_run(c, NULL, FIXTURES "/empty", NULL, &r), -ENOENT);
    assert_int_equal(r.n, 0);
    rec_done(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(recorded_machine_without_memavailable),
        cmocka_unit_test(no_swap),
        cmocka_unit_test(missing_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
