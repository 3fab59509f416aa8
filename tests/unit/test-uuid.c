/*
 * Tests for uuid: the UUIDv7 layout (timestamp, version, variant), strict
 * ordering of successive ids within one thread and across threads, and the
 * canonical-form validator and normaliser.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/crypto.h"
#include "common/error.h"
#include "common/time-util.h"
#include "common/uuid.h"

/* Decodes the canonical form to 16 bytes. */
static void uuid_bytes(const char *s, uint8_t b[16])
{
    char hex[33];
    size_t n = 0;
    for (size_t i = 0; s[i]; i++)
        if (s[i] != '-')
            hex[n++] = s[i];
    assert_int_equal(n, 32);
    assert_int_equal(ward_hex_decode(hex, 32, b, 16), 0);
}

static void test_v7_layout(void **state)
{
    (void)state;
    int64_t before = ward_now_ms();
    char id[WARD_UUID_STR_LEN];
    assert_int_equal(ward_uuid_v7(id), 0);
    int64_t after = ward_now_ms();

    assert_int_equal(strlen(id), 36);
    assert_true(ward_uuid_valid(id));
    assert_int_equal(id[14], '7');           /* version nibble */
    assert_non_null(strchr("89ab", id[19])); /* variant 10xx */
    for (size_t i = 0; i < 36; i++)
        assert_true(id[i] == '-' || (id[i] >= '0' && id[i] <= '9') ||
                    (id[i] >= 'a' && id[i] <= 'f'));

    uint8_t b[16];
    uuid_bytes(id, b);
    assert_int_equal(b[6] >> 4, 7);
    assert_int_equal(b[8] >> 6, 2);
    int64_t ts = 0;
    for (int i = 0; i < 6; i++)
        ts = ts << 8 | b[i];
    /* The timestamp may run ahead of the clock only after a counter overflow. */
    assert_true(ts >= before - 1 && ts <= after + 5);
}

static void test_v7_ordering(void **state)
{
    (void)state;
    enum {
        N = 10000
    };
    char(*ids)[WARD_UUID_STR_LEN] = calloc(N, WARD_UUID_STR_LEN);
    assert_non_null(ids);
    for (int i = 0; i < N; i++)
        assert_int_equal(ward_uuid_v7(ids[i]), 0);
    size_t same_ms = 0;
    for (int i = 1; i < N; i++) {
        if (strcmp(ids[i - 1], ids[i]) >= 0)
            fail_msg("id %d not after id %d: %s <= %s", i, i - 1, ids[i], ids[i - 1]);
        assert_int_equal(ids[i][14], '7');
        if (memcmp(ids[i - 1], ids[i], 13) == 0)
            same_ms++;
    }
    /* 10000 ids take a few ms, so the in-millisecond counter was exercised. */
    assert_true(same_ms > 0);

    /* rand_b differs between ids: no two share their last 12 hex digits. */
    size_t dup = 0;
    for (int i = 1; i < N; i++)
        if (strcmp(ids[i - 1] + 24, ids[i] + 24) == 0)
            dup++;
    assert_int_equal(dup, 0);
    free(ids);
}

enum {
    THREADS = 4,
    PER_THREAD = 5000
};
static char thread_ids[THREADS][PER_THREAD][WARD_UUID_STR_LEN];

static void *make_ids(void *arg)
{
    char(*mine)[WARD_UUID_STR_LEN] = arg;
    for (int i = 0; i < PER_THREAD; i++)
        if (ward_uuid_v7(mine[i]) != 0)
            return (void *)1;
    return NULL;
}

static int cmp_ids(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* Ids from concurrent threads are each ordered and all distinct. */
static void test_v7_threads(void **state)
{
    (void)state;
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, make_ids, thread_ids[i]), 0);
    for (int i = 0; i < THREADS; i++) {
        void *ret;
        assert_int_equal(pthread_join(t[i], &ret), 0);
        assert_null(ret);
    }
    for (int i = 0; i < THREADS; i++)
        for (int j = 1; j < PER_THREAD; j++)
            assert_true(strcmp(thread_ids[i][j - 1], thread_ids[i][j]) < 0);

    qsort(thread_ids, THREADS * PER_THREAD, WARD_UUID_STR_LEN, cmp_ids);
    char(*all)[WARD_UUID_STR_LEN] = &thread_ids[0][0];
    for (int k = 1; k < THREADS * PER_THREAD; k++)
        assert_true(strcmp(all[k - 1], all[k]) < 0);
}

static void test_valid(void **state)
{
    (void)state;
    assert_true(ward_uuid_valid("01890a5d-ac96-774b-bcce-b302099a8057"));
    assert_true(ward_uuid_valid("00000000-0000-0000-0000-000000000000"));
    assert_true(ward_uuid_valid("F81D4FAE-7DEC-11D0-A765-00A0C91E6BF6")); /* v1, upper case */
    assert_true(ward_uuid_valid("f81d4fae-7dec-11D0-a765-00A0c91e6bf6")); /* mixed case */

    static const char *const bad[] = {
        "",
        "01890a5d-ac96-774b-bcce-b302099a805",   /* short */
        "01890a5d-ac96-774b-bcce-b302099a80570", /* long */
        "01890a5dac96-774b-bcce-b302099a8057-",  /* hyphen moved */
        "01890a5d-ac96-774b-bcce_b302099a8057",  /* wrong separator */
        "01890a5d-ac96-774b-bcce-b302099a805g",  /* not hex */
        "{01890a5d-ac96-774b-bcce-b302099a8057}",
        "01890a5dac96774bbcceb302099a8057", /* no hyphens */
        " 01890a5d-ac96-774b-bcce-b302099a8057",
        "01890a5d-ac96-774b-bcce-b302099a8057 ",
        "urn:uuid:01890a5d-ac96-774b-bcce-b302099a8057",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (ward_uuid_valid(bad[i]))
            fail_msg("accepted \"%s\"", bad[i]);
    assert_false(ward_uuid_valid(NULL));

    /* A NUL inside the 36 characters ends the string: not valid. */
    const char cut[] = "01890a5d-ac96-774b\0bcce-b302099a8057";
    assert_false(ward_uuid_valid(cut));
}

static void test_normalize(void **state)
{
    (void)state;
    char out[WARD_UUID_STR_LEN];
    assert_int_equal(ward_uuid_normalize("F81D4FAE-7DEC-11D0-A765-00A0C91E6BF6", out), 0);
    assert_string_equal(out, "f81d4fae-7dec-11d0-a765-00a0c91e6bf6");

    char inplace[WARD_UUID_STR_LEN] = "01890A5D-AC96-774B-BCCE-B302099A8057";
    assert_int_equal(ward_uuid_normalize(inplace, inplace), 0);
    assert_string_equal(inplace, "01890a5d-ac96-774b-bcce-b302099a8057");

    memset(out, 'x', sizeof(out));
    assert_int_equal(ward_uuid_normalize("not-a-uuid", out), WARD_E_PARSE);
    assert_int_equal(out[0], 'x');
    assert_int_equal(ward_uuid_normalize(NULL, out), WARD_E_PARSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v7_layout),  cmocka_unit_test(test_v7_ordering),
        cmocka_unit_test(test_v7_threads), cmocka_unit_test(test_valid),
        cmocka_unit_test(test_normalize),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
