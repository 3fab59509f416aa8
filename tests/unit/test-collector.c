/*
 * Tests of the helpers every collector uses: root-prefixed reads, number
 * rows, wrap- and reset-proof counters, and interface patterns.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "collector-test.h"

static const struct ward_collect_ctx ctx = {.root = FIXTURES "/sysattr"};

static void reads_under_the_root(void **unused)
{
    (void)unused;
    char text[64];
    assert_int_equal(ward_collect_read(&ctx, "/sys/x/text", text, sizeof(text)), 11);
    assert_string_equal(text, "hello world");
    char small[6];
    assert_int_equal(ward_collect_read(&ctx, "/sys/x/text", small, sizeof(small)), 5);
    assert_string_equal(small, "hello");
    int64_t v = 7;
    assert_int_equal(ward_collect_read_int(&ctx, "/sys/x/int", &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(ward_collect_read_int(&ctx, "/sys/x/notint", &v), -EINVAL);
    assert_int_equal(ward_collect_read_int(&ctx, "/sys/x/missing", &v), -ENOENT);
    assert_int_equal(v, 42);
    FILE *f = ward_collect_open(&ctx, "/sys/x/int");
    assert_non_null(f);
    fclose(f);
    assert_null(ward_collect_open(&ctx, "/sys/x/missing"));
    assert_int_equal(errno, ENOENT);
}

static void long_paths_are_refused(void **unused)
{
    (void)unused;
    static char path[5000];
    memset(path, 'a', sizeof(path) - 1);
    path[0] = '/';
    char out[64];
    assert_int_equal(ward_collect_path(&ctx, path, out, sizeof(out)), -ENAMETOOLONG);
    assert_int_equal(ward_collect_read(&ctx, path, out, sizeof(out)), -ENAMETOOLONG);
    assert_null(ward_collect_open(&ctx, path));
    assert_int_equal(errno, ENAMETOOLONG);
}

static void number_rows(void **unused)
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

static void counters_survive_wraps_and_resets(void **unused)
{
    (void)unused;
    struct ward_counter c = {0};
    assert_true(ward_counter_update(&c, 1000) == 1000); /* starts at the raw value */
    assert_true(ward_counter_update(&c, 1500) == 1500);
    /* A 32-bit counter wraps: 4294967000 -> 200 is 496 more. */
    struct ward_counter w = {0};
    ward_counter_update(&w, 4294967000u);
    assert_true(ward_counter_update(&w, 200) == 4294967000.0 + 496);
    assert_true(ward_counter_update(&w, 300) == 4294967000.0 + 596);
    /* A reset (far from the 32-bit edge) adds the new raw value as it stands. */
    assert_true(ward_counter_update(&c, 100) == 1600);
    assert_true(ward_counter_update(&c, 150) == 1650);
    /* A 64-bit counter going down is a reset, never a huge spike. */
    struct ward_counter big = {0};
    ward_counter_update(&big, UINT64_C(1) << 40);
    assert_true(ward_counter_update(&big, 10) == (double)(UINT64_C(1) << 40) + 10);
    /* A 32-bit counter low in its range that drops is a reset, not a wrap. */
    struct ward_counter small = {0};
    ward_counter_update(&small, 1000000);
    assert_true(ward_counter_update(&small, 5) == 1000005.0);
    /* High in its range, a drop to a small value is a plausible wrap. */
    struct ward_counter high = {0};
    ward_counter_update(&high, 3000000000u);
    assert_true(ward_counter_update(&high, 5) == 3000000000.0 + 1294967301.0);
}

static void interface_patterns(void **unused)
{
    (void)unused;
    const char *p = WARD_NET_EXCLUDE_DEFAULT;
    assert_true(ward_match_any(p, "lo"));
    assert_true(ward_match_any(p, "docker0"));
    assert_true(ward_match_any(p, "veth1234"));
    assert_true(ward_match_any(p, "br-abcdef"));
    assert_true(ward_match_any(p, "virbr0"));
    assert_false(ward_match_any(p, "eth0"));
    assert_false(ward_match_any(p, "bridge"));
    assert_false(ward_match_any("", "eth0"));
    assert_false(ward_match_any(NULL, "eth0"));
    assert_true(ward_match_any("eth*,,wl*", "wlan0"));
}

static void interface_names(void **unused)
{
    (void)unused;
    assert_true(ward_valid_ifname("eth0", 4));
    assert_true(ward_valid_ifname("wlp2s0mon", 9));
    assert_true(ward_valid_ifname("a23456789012345", 15));
    assert_false(ward_valid_ifname("a234567890123456", 16));
    assert_false(ward_valid_ifname("", 0));
    assert_false(ward_valid_ifname(".", 1));
    assert_false(ward_valid_ifname("..", 2));
    assert_true(ward_valid_ifname("...", 3));
    assert_false(ward_valid_ifname("a/b", 3));
    assert_false(ward_valid_ifname("eth0:1", 6));
    assert_false(ward_valid_ifname("a b", 3));
    assert_false(ward_valid_ifname("caf\xc3\xa9", 5));
}

static void label_copies(void **unused)
{
    (void)unused;
    char out[8];
    ward_label_copy(out, sizeof(out), "sshd", 4);
    assert_string_equal(out, "sshd");
    ward_label_copy(out, sizeof(out), "a\nb\x7f", 4);
    assert_string_equal(out, "a?b?");
    ward_label_copy(out, sizeof(out), "x\xffy", 3);
    assert_string_equal(out, "x?y");
    /* "caf\u00e9!!!" is 8 bytes: the last '!' does not fit with the NUL. */
    ward_label_copy(out, sizeof(out), "caf\xc3\xa9!!!", 8);
    assert_string_equal(out, "caf\xc3\xa9!!");
    /* A character that does not fit is left out whole, never split. */
    ward_label_copy(out, sizeof(out), "abcdef\xc3\xa9", 8);
    assert_string_equal(out, "abcdef");
    ward_label_copy(out, 1, "abc", 3);
    assert_string_equal(out, "");
}

static void lines(void **unused)
{
    (void)unused;
    static char text[] = "short\nway too long a line\nnul\0byte\nlast";
    FILE *f = fmemopen(text, sizeof(text) - 1, "r");
    assert_non_null(f);
    char buf[10];
    assert_int_equal(ward_collect_read_line(f, buf, sizeof(buf)), 5);
    assert_string_equal(buf, "short");
    assert_int_equal(ward_collect_read_line(f, buf, sizeof(buf)), -2); /* too long */
    assert_int_equal(ward_collect_read_line(f, buf, sizeof(buf)), -2); /* NUL byte */
    assert_int_equal(ward_collect_read_line(f, buf, sizeof(buf)), 4);
    assert_string_equal(buf, "last");
    assert_int_equal(ward_collect_read_line(f, buf, sizeof(buf)), -1);
    fclose(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_under_the_root), cmocka_unit_test(long_paths_are_refused),
        cmocka_unit_test(number_rows),          cmocka_unit_test(counters_survive_wraps_and_resets),
        cmocka_unit_test(interface_patterns),   cmocka_unit_test(interface_names),
        cmocka_unit_test(label_copies),         cmocka_unit_test(lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
