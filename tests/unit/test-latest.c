/*
 * Tests of the in-memory table of latest values.
 *
 * Loading runs against a fake backend defined here, whose latest method
 * reports a fixed set of series, so the table is tested without SQLite.
 */
#include "common/error.h"
#include "server/latest.h"
#include "server/store/store.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define HOST_A "0190c1d2-0000-7000-8000-00000000000a"
#define HOST_B "0190c1d2-0000-7000-8000-00000000000b"

static struct ward_latest *table(void)
{
    struct ward_latest *l = NULL;
    assert_int_equal(ward_latest_new(&l), 0);
    return l;
}

static void put(struct ward_latest *l, const char *host, const char *cat, const char *name,
                const char *labels, int64_t ts, double v)
{
    struct ward_sample s = {cat, name, labels, WARD_KIND_GAUGE, ts, v};
    assert_int_equal(ward_latest_update(l, host, &s, 1), 0);
}

static void test_newest_wins(void **state)
{
    (void)state;
    struct ward_latest *l = table();
    put(l, HOST_A, "cpu", "usage", "{}", 2000, 2.0);
    put(l, HOST_A, "cpu", "usage", "{}", 1000, 1.0); /* older: ignored */
    struct ward_latest_row r;
    assert_int_equal(ward_latest_get(l, HOST_A, "cpu", "usage", "{}", &r), 0);
    assert_int_equal(r.ts_ms, 2000);
    assert_true(r.value == 2.0);
    put(l, HOST_A, "cpu", "usage", "{}", 2000, 5.0); /* same time: a no-op, as in the store */
    assert_int_equal(ward_latest_get(l, HOST_A, "cpu", "usage", "{}", &r), 0);
    assert_true(r.value == 2.0);
    assert_int_equal(ward_latest_count(l), 1);
    ward_latest_free(l);
}

static void test_identity_has_four_parts(void **state)
{
    (void)state;
    struct ward_latest *l = table();
    put(l, HOST_A, "cpu", "usage", "{}", 1, 1.0);
    put(l, HOST_B, "cpu", "usage", "{}", 1, 2.0);
    put(l, HOST_A, "ram", "usage", "{}", 1, 3.0);
    put(l, HOST_A, "cpu", "idle", "{}", 1, 4.0);
    put(l, HOST_A, "cpu", "usage", "{\"core\":\"0\"}", 1, 5.0);
    /* Parts that would run together without separators stay distinct. */
    put(l, HOST_A, "cp", "uusage", "{}", 1, 6.0);
    assert_int_equal(ward_latest_count(l), 6);
    struct ward_latest_row r;
    assert_int_equal(ward_latest_get(l, HOST_A, "cpu", "usage", "{\"core\":\"0\"}", &r), 0);
    assert_true(r.value == 5.0);
    assert_int_equal(ward_latest_get(l, HOST_B, "ram", "usage", "{}", &r), WARD_E_NOT_FOUND);
    ward_latest_free(l);
}

struct seen {
    char names[64][64];
    size_t n;
};

static int collect(const struct ward_latest_row *row, void *userdata)
{
    struct seen *s = userdata;
    snprintf(s->names[s->n++], sizeof(s->names[0]), "%c/%s/%s%s", row->host_id[35], row->category,
             row->name, row->labels);
    return 0;
}

static void test_each_sorted_and_filtered(void **state)
{
    (void)state;
    struct ward_latest *l = table();
    put(l, HOST_B, "ram", "used", "{}", 1, 1.0);
    put(l, HOST_A, "ram", "used", "{}", 1, 1.0);
    put(l, HOST_A, "cpu", "usage", "{\"core\":\"1\"}", 1, 1.0);
    put(l, HOST_A, "cpu", "usage", "{\"core\":\"0\"}", 1, 1.0);
    struct seen s = {0};
    assert_int_equal(ward_latest_each(l, NULL, NULL, collect, &s), 0);
    assert_int_equal(s.n, 4);
    assert_string_equal(s.names[0], "a/cpu/usage{\"core\":\"0\"}");
    assert_string_equal(s.names[1], "a/cpu/usage{\"core\":\"1\"}");
    assert_string_equal(s.names[2], "a/ram/used{}");
    assert_string_equal(s.names[3], "b/ram/used{}");

    memset(&s, 0, sizeof(s));
    assert_int_equal(ward_latest_each(l, HOST_A, "ram", collect, &s), 0);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.names[0], "a/ram/used{}");
    memset(&s, 0, sizeof(s));
    assert_int_equal(ward_latest_each(l, HOST_B, "cpu", collect, &s), 0);
    assert_int_equal(s.n, 0);
    ward_latest_free(l);
}

static int stop_at_two(const struct ward_latest_row *row, void *userdata)
{
    (void)row;
    return ++*(int *)userdata == 2 ? -ECANCELED : 0;
}

static void test_each_stops(void **state)
{
    (void)state;
    struct ward_latest *l = table();
    for (int i = 0; i < 5; i++) {
        char name[16];
        snprintf(name, sizeof(name), "m%d", i);
        put(l, HOST_A, "cpu", name, "{}", 1, i);
    }
    int calls = 0;
    assert_int_equal(ward_latest_each(l, NULL, NULL, stop_at_two, &calls), -ECANCELED);
    assert_int_equal(calls, 2);
    ward_latest_free(l);
}

static void test_grows(void **state)
{
    (void)state;
    struct ward_latest *l = table();
    for (int i = 0; i < 20000; i++) {
        char labels[32];
        snprintf(labels, sizeof(labels), "{\"i\":\"%d\"}", i);
        put(l, HOST_A, "net", "rx", labels, i, i);
    }
    assert_int_equal(ward_latest_count(l), 20000);
    for (int i = 0; i < 20000; i += 997) {
        char labels[32];
        snprintf(labels, sizeof(labels), "{\"i\":\"%d\"}", i);
        struct ward_latest_row r;
        assert_int_equal(ward_latest_get(l, HOST_A, "net", "rx", labels, &r), 0);
        assert_true(r.value == i);
    }
    ward_latest_free(l);
}

/* A backend whose latest method reports two series. */
static int fake_latest(struct ward_store *s, ward_store_latest_fn fn, void *userdata)
{
    (void)s;
    struct ward_series_row a = {1, HOST_A, "cpu", "usage", "{}", WARD_KIND_GAUGE};
    struct ward_series_row b = {2, HOST_B, "net", "rx", "{}", WARD_KIND_COUNTER};
    int r = fn(&a, 1000, 42.0, userdata);
    return r < 0 ? r : fn(&b, 2000, 7.0, userdata);
}

static const struct ward_store_ops fake_ops = {
    .size = sizeof(struct ward_store_ops),
    .name = "fake",
    .latest = fake_latest,
};

static void test_load(void **state)
{
    (void)state;
    struct ward_store fake = {.ops = &fake_ops};
    struct ward_latest *l = table();
    assert_int_equal(ward_latest_load(l, &fake), 0);
    struct ward_latest_row r;
    assert_int_equal(ward_latest_get(l, HOST_B, "net", "rx", "{}", &r), 0);
    assert_int_equal(r.kind, WARD_KIND_COUNTER);
    assert_int_equal(r.ts_ms, 2000);
    assert_true(r.value == 7.0);
    assert_int_equal(ward_latest_count(l), 2);
    ward_latest_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_newest_wins),
        cmocka_unit_test(test_identity_has_four_parts),
        cmocka_unit_test(test_each_sorted_and_filtered),
        cmocka_unit_test(test_each_stops),
        cmocka_unit_test(test_grows),
        cmocka_unit_test(test_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
