/*
 * Tests for ward_buf: appending, formatting, growth, the length limit (which
 * must leave the contents unchanged and bound the memory held), steal,
 * reset and done, and the NUL kept after the data at all times.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/error.h"

static void test_empty(void **state)
{
    (void)state;
    struct ward_buf b = WARD_BUF_INIT;
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.limit, 0);

    /* Appending nothing still yields a terminated, empty string. */
    assert_int_equal(ward_buf_append(&b, NULL, 0), 0);
    assert_non_null(b.data);
    assert_string_equal(b.data, "");
    assert_int_equal(b.len, 0);
    ward_buf_done(&b);
    assert_null(b.data);
}

static void test_append(void **state)
{
    (void)state;
    struct ward_buf b;
    ward_buf_init(&b, 0);
    assert_int_equal(ward_buf_append(&b, "abc", 3), 0);
    assert_int_equal(ward_buf_puts(&b, "def"), 0);
    assert_int_equal(ward_buf_putc(&b, 'g'), 0);
    assert_int_equal(ward_buf_append(&b, "h\0i", 3), 0); /* binary data, embedded NUL */
    assert_int_equal(b.len, 10);
    assert_memory_equal(b.data, "abcdefgh\0i", 11);
    assert_int_equal(b.data[b.len], '\0');
    assert_true(b.cap > b.len);
    ward_buf_done(&b);
}

static void test_printf(void **state)
{
    (void)state;
    struct ward_buf b = WARD_BUF_INIT;
    assert_int_equal(ward_buf_printf(&b, "%s=%d", "x", 42), 0);
    assert_string_equal(b.data, "x=42");
    assert_int_equal(ward_buf_printf(&b, ",%.2f", 1.5), 0);
    assert_string_equal(b.data, "x=42,1.50");
    assert_int_equal(b.len, 9);
    assert_int_equal(ward_buf_printf(&b, "%s", ""), 0);
    assert_int_equal(b.len, 9);

    /* Output longer than the current capacity. */
    assert_int_equal(ward_buf_printf(&b, "%5000d|", 7), 0);
    assert_int_equal(b.len, 9 + 5001);
    assert_int_equal(b.data[9 + 4999], '7');
    assert_int_equal(b.data[9 + 5000], '|');
    assert_int_equal(b.data[b.len], '\0');
    assert_memory_equal(b.data, "x=42,1.50    ", 13);

    /* A conversion that fails (a wide character the C locale cannot encode) leaves it as it was. */
    wchar_t wide[] = {0xe9, 0};
    assert_int_equal(ward_buf_printf(&b, "%ls", wide), -EINVAL);
    assert_int_equal(b.len, 9 + 5001);
    assert_int_equal(b.data[b.len], '\0');
    ward_buf_done(&b);
}

static void test_growth(void **state)
{
    (void)state;
    struct ward_buf b = WARD_BUF_INIT;
    size_t reallocs = 0, last_cap = 0;
    for (size_t i = 0; i < 100000; i++) {
        assert_int_equal(ward_buf_putc(&b, (char)('a' + i % 26)), 0);
        if (b.cap != last_cap) {
            reallocs++;
            last_cap = b.cap;
        }
    }
    assert_int_equal(b.len, 100000);
    for (size_t i = 0; i < 100000; i++)
        assert_int_equal(b.data[i], 'a' + i % 26);
    assert_int_equal(b.data[b.len], '\0');
    /* Geometric growth: a handful of reallocations, not one per byte. */
    assert_true(reallocs < 20);

    /* Reserve makes room without changing the contents. */
    size_t len = b.len;
    assert_int_equal(ward_buf_reserve(&b, 1000000), 0);
    assert_true(b.cap >= len + 1000000 + 1);
    assert_int_equal(b.len, len);
    ward_buf_append_unchecked(&b, "xyz", 3);
    assert_int_equal(b.len, len + 3);
    assert_string_equal(b.data + len, "xyz");

    /* Absurd sizes are refused, not attempted. */
    assert_int_equal(ward_buf_reserve(&b, SIZE_MAX), WARD_E_LIMIT);
    assert_int_equal(ward_buf_reserve(&b, SIZE_MAX / 2), WARD_E_LIMIT);
    assert_int_equal(ward_buf_append(&b, "x", SIZE_MAX - 1), WARD_E_LIMIT);
    assert_int_equal(b.len, len + 3);
    ward_buf_done(&b);
}

static void test_limit(void **state)
{
    (void)state;
    struct ward_buf b;
    ward_buf_init(&b, 10);
    assert_int_equal(ward_buf_puts(&b, "0123456789"), 0); /* exactly the limit */
    assert_int_equal(b.len, 10);

    assert_int_equal(ward_buf_putc(&b, 'x'), WARD_E_LIMIT);
    assert_int_equal(ward_buf_append(&b, "x", 1), WARD_E_LIMIT);
    assert_int_equal(ward_buf_puts(&b, "xy"), WARD_E_LIMIT);
    assert_int_equal(ward_buf_printf(&b, "%d", 1), WARD_E_LIMIT);
    assert_int_equal(ward_buf_reserve(&b, 1), WARD_E_LIMIT);
    assert_int_equal(b.len, 10);
    assert_string_equal(b.data, "0123456789");

    /* Appending nothing is fine at the limit. */
    assert_int_equal(ward_buf_append(&b, "", 0), 0);
    assert_int_equal(ward_buf_printf(&b, "%s", ""), 0);

    /* A failing append in the middle does not write a partial prefix. */
    ward_buf_reset(&b);
    assert_int_equal(ward_buf_puts(&b, "abcd"), 0);
    assert_int_equal(ward_buf_puts(&b, "efghijk"), WARD_E_LIMIT);
    assert_int_equal(ward_buf_printf(&b, "%s", "efghijk"), WARD_E_LIMIT);
    assert_string_equal(b.data, "abcd");
    assert_int_equal(b.len, 4);

    /* The limit survives reset and done. */
    ward_buf_done(&b);
    assert_int_equal(b.limit, 10);
    assert_int_equal(ward_buf_puts(&b, "01234567890"), WARD_E_LIMIT);
    assert_null(b.data);
    ward_buf_done(&b);
}

/*
 * The limit exists to bound memory taken on behalf of a client. The storage
 * a limited buffer holds should therefore never exceed limit + 1 bytes (the
 * data plus its NUL). Capacity doubling overshoots this: a buffer limited to
 * 100 bytes holding 65 rounds its capacity up to 128, and a 64 MiB body cap
 * can hold close to 128 MiB.
 */
static struct ward_buf limited;

static int done_limited(void **state)
{
    (void)state;
    ward_buf_done(&limited);
    return 0;
}

static void test_limit_bounds_storage(void **state)
{
    (void)state;
    char data[100];
    memset(data, 'a', sizeof(data));
    ward_buf_init(&limited, 100);
    assert_int_equal(ward_buf_append(&limited, data, 65), 0);
    assert_true(limited.cap <= limited.limit + 1);
    assert_int_equal(ward_buf_append(&limited, data, 35), 0);
    assert_int_equal(limited.len, 100);
    assert_true(limited.cap <= limited.limit + 1);
    ward_buf_done(&limited);

    ward_buf_init(&limited, 1000000);
    assert_int_equal(ward_buf_reserve(&limited, 600000), 0);
    assert_true(limited.cap <= limited.limit + 1);
}

static void test_steal(void **state)
{
    (void)state;
    struct ward_buf b;
    ward_buf_init(&b, 50);
    assert_int_equal(ward_buf_puts(&b, "owned"), 0);
    char *s = ward_buf_steal(&b);
    assert_string_equal(s, "owned");
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    assert_int_equal(b.limit, 50);
    free(s);

    /* The buffer is reusable after a steal. */
    assert_int_equal(ward_buf_puts(&b, "again"), 0);
    assert_string_equal(b.data, "again");
    ward_buf_done(&b);

    /* Stealing from an empty buffer gives an empty string, not NULL. */
    struct ward_buf e = WARD_BUF_INIT;
    s = ward_buf_steal(&e);
    assert_non_null(s);
    assert_string_equal(s, "");
    free(s);

    /* Also after a reset, which keeps storage. */
    assert_int_equal(ward_buf_puts(&e, "old"), 0);
    ward_buf_reset(&e);
    s = ward_buf_steal(&e);
    assert_string_equal(s, "");
    free(s);
}

static void test_reset(void **state)
{
    (void)state;
    struct ward_buf b = WARD_BUF_INIT;
    ward_buf_reset(&b); /* on a buffer with no storage */
    assert_null(b.data);

    assert_int_equal(ward_buf_printf(&b, "%0200d", 0), 0);
    size_t cap = b.cap;
    char *storage = b.data;
    ward_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    assert_int_equal(b.cap, cap);
    assert_ptr_equal(b.data, storage); /* storage kept for reuse */
    assert_int_equal(ward_buf_puts(&b, "new"), 0);
    assert_string_equal(b.data, "new");
    ward_buf_done(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    ward_buf_done(&b); /* twice is harmless */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_append),
        cmocka_unit_test(test_printf),
        cmocka_unit_test(test_growth),
        cmocka_unit_test(test_limit),
        cmocka_unit_test_teardown(test_limit_bounds_storage, done_limited),
        cmocka_unit_test(test_steal),
        cmocka_unit_test(test_reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
