/*
 * Tests for gzip: round trips, the hard caps (including exactly at the
 * boundary), a gzip bomb that must fail without a large allocation, lying
 * ISIZE trailers, concatenated members, and corrupt input (truncation, bit
 * flips, trailing junk) that must fail cleanly.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/gzip.h"

#define MIB (1024 * 1024)

/* Slack that an output buffer may hold beyond max_out: the NUL terminator. */
#define ALLOC_SLACK 1

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint8_t next_byte(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint8_t)rng_state;
}

static uint8_t *random_data(size_t n)
{
    uint8_t *p = malloc(n ? n : 1);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = next_byte();
    return p;
}

/* JSON-like text that compresses well. */
static uint8_t *compressible_data(size_t n)
{
    static const char *const words[] = {"{\"metric_type\":\"cpu\",", "\"value\":", "12.5,",
                                        "\"labels\":{\"core\":\"3\"}},", "\"timestamp\":"};
    uint8_t *p = malloc(n ? n : 1);
    assert_non_null(p);
    size_t i = 0;
    while (i < n) {
        const char *w = words[next_byte() % 5];
        for (size_t k = 0; w[k] && i < n; k++)
            p[i++] = (uint8_t)w[k];
    }
    return p;
}

static void compress_into(const void *in, size_t n, int level, struct ward_buf *out)
{
    ward_buf_init(out, 0);
    assert_int_equal(ward_gzip_compress(in, n, level, out), 0);
    assert_true(ward_gzip_is_gzip(out->data, out->len));
}

static void round_trip(const uint8_t *data, size_t n, int level)
{
    struct ward_buf gz, back;
    compress_into(data, n, level, &gz);
    ward_buf_init(&back, 0);
    assert_int_equal(ward_gzip_decompress(gz.data, gz.len, gz.len, n, &back), 0);
    assert_int_equal(back.len, n);
    if (n)
        assert_memory_equal(back.data, data, n);
    assert_int_equal(back.data[back.len], '\0');
    /* An honest ISIZE lets the first guess be exact. */
    assert_true(back.cap <= n + ALLOC_SLACK);
    ward_buf_done(&gz);
    ward_buf_done(&back);
}

static void test_round_trip(void **state)
{
    (void)state;
    static const size_t sizes[] = {0, 1, 100, 4096, 65537, 3 * MIB};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        uint8_t *r = random_data(sizes[i]);
        uint8_t *c = compressible_data(sizes[i]);
        round_trip(r, sizes[i], 1);
        round_trip(c, sizes[i], 0);
        round_trip(c, sizes[i], 9);
        if (sizes[i] <= 65537)
            round_trip(c, sizes[i], 12);
        free(r);
        free(c);
    }
}

static void test_compress_levels(void **state)
{
    (void)state;
    uint8_t *c = compressible_data(100000);
    struct ward_buf fast, best;
    compress_into(c, 100000, 1, &fast);
    compress_into(c, 100000, 12, &best);
    assert_true(best.len < fast.len);
    assert_true(fast.len < 100000 / 4);

    struct ward_buf out = WARD_BUF_INIT;
    assert_int_equal(ward_gzip_compress(c, 10, 13, &out), -EINVAL);
    assert_int_equal(ward_gzip_compress(c, 10, -1, &out), -EINVAL);
    assert_int_equal(out.len, 0);

    /* Compression appends: existing contents stay in front. */
    assert_int_equal(ward_buf_puts(&out, "prefix"), 0);
    assert_int_equal(ward_gzip_compress(c, 1000, 6, &out), 0);
    assert_memory_equal(out.data, "prefix", 6);
    assert_true(ward_gzip_is_gzip(out.data + 6, out.len - 6));

    /* A limit on the output buffer is respected and leaves it unchanged. */
    struct ward_buf small;
    ward_buf_init(&small, 16);
    assert_int_equal(ward_buf_puts(&small, "abc"), 0);
    assert_int_equal(ward_gzip_compress(c, 1000, 6, &small), WARD_E_LIMIT);
    assert_int_equal(small.len, 3);
    assert_string_equal(small.data, "abc");

    ward_buf_done(&fast);
    ward_buf_done(&best);
    ward_buf_done(&out);
    ward_buf_done(&small);
    free(c);
}

static void test_decompress_appends(void **state)
{
    (void)state;
    struct ward_buf gz, out = WARD_BUF_INIT;
    compress_into("hello, world", 12, 6, &gz);
    assert_int_equal(ward_buf_puts(&out, ">>"), 0);
    assert_int_equal(ward_gzip_decompress(gz.data, gz.len, 1024, 1024, &out), 0);
    assert_string_equal(out.data, ">>hello, world");
    ward_buf_done(&gz);
    ward_buf_done(&out);
}

/* 10 MB of zeros compress to about 10 KB; with a 1 MiB cap they must fail early. */
static void test_bomb(void **state)
{
    (void)state;
    size_t n = 10 * 1000 * 1000;
    uint8_t *zeros = calloc(1, n);
    assert_non_null(zeros);
    struct ward_buf gz;
    compress_into(zeros, n, 9, &gz);
    free(zeros);
    assert_true(gz.len < 20 * 1000);

    struct ward_buf out = WARD_BUF_INIT;
    assert_int_equal(ward_gzip_decompress(gz.data, gz.len, 64 * 1024, MIB, &out),
                     WARD_E_GZIP_TOO_LARGE);
    assert_int_equal(out.len, 0);
    /* The output never had more storage than the cap allows. */
    assert_true(out.cap <= MIB + ALLOC_SLACK);

    /* The same with a trailer that claims a tiny size... */
    memset(gz.data + gz.len - 4, 0, 4);
    ward_buf_done(&out);
    assert_int_equal(ward_gzip_decompress(gz.data, gz.len, 64 * 1024, MIB, &out),
                     WARD_E_GZIP_TOO_LARGE);
    assert_true(out.cap <= MIB + ALLOC_SLACK);

    /* ...and one that claims 4 GiB - 1. */
    memset(gz.data + gz.len - 4, 0xff, 4);
    ward_buf_done(&out);
    assert_int_equal(ward_gzip_decompress(gz.data, gz.len, 64 * 1024, MIB, &out),
                     WARD_E_GZIP_TOO_LARGE);
    assert_true(out.cap <= MIB + ALLOC_SLACK);

    ward_buf_done(&gz);
    ward_buf_done(&out);
}

/* A lying ISIZE on a small body must not make the first allocation max_out. */
static void test_lying_isize_small_alloc(void **state)
{
    (void)state;
    struct ward_buf gz, out = WARD_BUF_INIT;
    compress_into("tiny", 4, 6, &gz);
    memset(gz.data + gz.len - 4, 0xff, 4); /* claims 4 GiB - 1; also breaks the check */
    assert_int_equal(ward_gzip_decompress(gz.data, gz.len, 1024, 64 * MIB, &out),
                     WARD_E_GZIP_CORRUPT);
    /* 24 input bytes cannot inflate past 24 * 1032. */
    assert_true(out.cap <= gz.len * 1032 + ALLOC_SLACK);
    ward_buf_done(&gz);
    ward_buf_done(&out);
}

static void test_limits_at_boundary(void **state)
{
    (void)state;
    size_t n = 50000;
    uint8_t *c = compressible_data(n);
    struct ward_buf gz, out = WARD_BUF_INIT;
    compress_into(c, n, 6, &gz);

    /* max_out == size works; one less fails. */
    assert_int_equal(ward_gzip_decompress(gz.data, gz.len, gz.len, n, &out), 0);
    assert_int_equal(out.len, n);
    assert_memory_equal(out.data, c, n);
    ward_buf_done(&out);
    assert_int_equal(ward_gzip_decompress(gz.data, gz.len, gz.len, n - 1, &out),
                     WARD_E_GZIP_TOO_LARGE);
    assert_int_equal(out.len, 0);
    assert_true(out.cap <= n - 1 + ALLOC_SLACK);
    ward_buf_done(&out);

    /* max_in == n works; one less fails before any work. */
    assert_int_equal(ward_gzip_decompress(gz.data, gz.len, gz.len - 1, n, &out), WARD_E_LIMIT);
    assert_null(out.data);
    assert_int_equal(ward_gzip_decompress(gz.data, gz.len, gz.len, n, &out), 0);
    ward_buf_done(&out);

    /*
     * An ISIZE that lies low makes the output grow from a small guess; the
     * data then inflates completely, but the trailer check still fails.
     */
    gz.data[gz.len - 4] = 1;
    gz.data[gz.len - 3] = gz.data[gz.len - 2] = gz.data[gz.len - 1] = 0;
    assert_int_equal(ward_gzip_decompress(gz.data, gz.len, gz.len, n, &out), WARD_E_GZIP_CORRUPT);
    assert_int_equal(out.len, 0);
    ward_buf_done(&out);
    ward_buf_done(&gz);
    compress_into(c, n, 6, &gz);

    /* An empty member fits max_out 0; one byte does not. */
    struct ward_buf empty, one;
    compress_into("", 0, 6, &empty);
    compress_into("x", 1, 6, &one);
    assert_int_equal(ward_gzip_decompress(empty.data, empty.len, empty.len, 0, &out), 0);
    assert_int_equal(out.len, 0);
    assert_int_equal(ward_gzip_decompress(one.data, one.len, one.len, 0, &out),
                     WARD_E_GZIP_TOO_LARGE);
    assert_int_equal(ward_gzip_decompress(one.data, one.len, one.len, 1, &out), 0);
    assert_string_equal(out.data, "x");

    /* The output buffer's own limit applies too. */
    struct ward_buf capped;
    ward_buf_init(&capped, n - 1);
    assert_int_equal(ward_gzip_decompress(gz.data, gz.len, gz.len, 10 * n, &capped), WARD_E_LIMIT);
    assert_int_equal(capped.len, 0);

    ward_buf_done(&capped);
    ward_buf_done(&empty);
    ward_buf_done(&one);
    ward_buf_done(&gz);
    ward_buf_done(&out);
    free(c);
}

/* The output buffer's limit bounds growth as tightly as max_out does. */
static void test_out_limit(void **state)
{
    (void)state;
    uint8_t *a = random_data(3000);
    struct ward_buf gz = WARD_BUF_INIT;
    assert_int_equal(ward_gzip_compress(a, 3000, 6, &gz), 0);
    assert_int_equal(ward_gzip_compress("x", 1, 6, &gz), 0); /* ISIZE 1: the guess is low */

    /* Room for exactly the data: growth must stop at the limit, not round past it. */
    struct ward_buf out;
    ward_buf_init(&out, 3003);
    assert_int_equal(ward_buf_puts(&out, "ab"), 0);
    assert_int_equal(ward_gzip_decompress(gz.data, gz.len, gz.len, MIB, &out), 0);
    assert_int_equal(out.len, 3003);
    assert_memory_equal(out.data + 2, a, 3000);
    assert_int_equal(out.data[3002], 'x');
    assert_true(out.cap <= 3003 + ALLOC_SLACK);
    ward_buf_done(&out);

    /* One byte less is the buffer's limit error, and the contents stay. */
    ward_buf_init(&out, 3002);
    assert_int_equal(ward_buf_puts(&out, "ab"), 0);
    assert_int_equal(ward_gzip_decompress(gz.data, gz.len, gz.len, MIB, &out), WARD_E_LIMIT);
    assert_string_equal(out.data, "ab");
    assert_true(out.cap <= 3002 + ALLOC_SLACK);
    ward_buf_done(&out);

    /* When max_out is the tighter bound, the error is TOO_LARGE. */
    ward_buf_init(&out, 5000);
    assert_int_equal(ward_gzip_decompress(gz.data, gz.len, gz.len, 3000, &out),
                     WARD_E_GZIP_TOO_LARGE);
    ward_buf_done(&out);

    ward_buf_done(&gz);
    free(a);
}

/* Growth past a low guess: ISIZE of the last member says nothing about the first. */
static void test_concatenated_members(void **state)
{
    (void)state;
    uint8_t *a = compressible_data(300000);
    uint8_t *b = random_data(70000);
    struct ward_buf gz = WARD_BUF_INIT, out = WARD_BUF_INIT;
    assert_int_equal(ward_gzip_compress(a, 300000, 6, &gz), 0);
    assert_int_equal(ward_gzip_compress("", 0, 6, &gz), 0);
    assert_int_equal(ward_gzip_compress(b, 70000, 1, &gz), 0);
    assert_int_equal(ward_gzip_compress("end", 3, 6, &gz), 0);

    assert_int_equal(ward_gzip_decompress(gz.data, gz.len, gz.len, 370003, &out), 0);
    assert_int_equal(out.len, 370003);
    assert_memory_equal(out.data, a, 300000);
    assert_memory_equal(out.data + 300000, b, 70000);
    assert_string_equal(out.data + 370000, "end");
    assert_true(out.cap <= 370003 + ALLOC_SLACK);
    ward_buf_done(&out);

    /* The cap applies to the total, not to each member. */
    assert_int_equal(ward_gzip_decompress(gz.data, gz.len, gz.len, 370002, &out),
                     WARD_E_GZIP_TOO_LARGE);
    assert_int_equal(out.len, 0);
    assert_true(out.cap <= 370002 + ALLOC_SLACK);
    ward_buf_done(&out);

    /* Trailing bytes that are not a member are corruption, not ignored. */
    assert_int_equal(ward_buf_append(&gz, "\0\0\0\0", 4), 0);
    assert_int_equal(ward_gzip_decompress(gz.data, gz.len, gz.len, MIB, &out), WARD_E_GZIP_CORRUPT);
    assert_int_equal(out.len, 0);

    ward_buf_done(&gz);
    ward_buf_done(&out);
    free(a);
    free(b);
}

static void test_truncation(void **state)
{
    (void)state;
    uint8_t *c = compressible_data(20000);
    struct ward_buf gz, out = WARD_BUF_INIT;
    compress_into(c, 20000, 6, &gz);
    assert_int_equal(ward_buf_puts(&out, "keep"), 0);
    for (size_t len = 0; len < gz.len; len++) {
        int r = ward_gzip_decompress(gz.data, len, gz.len, MIB, &out);
        if (r != WARD_E_GZIP_CORRUPT)
            fail_msg("truncated to %zu of %zu bytes: %d", len, gz.len, r);
        assert_int_equal(out.len, 4);
        assert_string_equal(out.data, "keep");
    }
    ward_buf_done(&gz);
    ward_buf_done(&out);
    free(c);
}

/*
 * Every single-bit flip must fail cleanly or, if it passes all checks, yield
 * exactly the original data. A few flips are truly harmless: header flags
 * and fields that do not affect the data (FTEXT, MTIME, XFL, OS), padding
 * bits after the last deflate block, and a distance that happens to point at
 * identical bytes of the repetitive input.
 */
static void test_bit_flips(void **state)
{
    (void)state;
    uint8_t *c = compressible_data(3000);
    struct ward_buf gz, out = WARD_BUF_INIT;
    compress_into(c, 3000, 6, &gz);
    size_t harmless = 0;
    for (size_t bit = 0; bit < gz.len * 8; bit++) {
        gz.data[bit / 8] ^= (char)(1 << (bit % 8));
        ward_buf_reset(&out);
        int r = ward_gzip_decompress(gz.data, gz.len, gz.len, MIB, &out);
        if (r == 0) {
            assert_int_equal(out.len, 3000);
            assert_memory_equal(out.data, c, 3000);
            harmless++;
        } else {
            if (r != WARD_E_GZIP_CORRUPT && r != WARD_E_GZIP_TOO_LARGE)
                fail_msg("bit %zu: unexpected %d", bit, r);
            assert_int_equal(out.len, 0);
        }
        gz.data[bit / 8] ^= (char)(1 << (bit % 8));
    }
    /* MTIME, XFL and OS alone are 48 bits; most of the rest must be caught. */
    assert_true(harmless >= 48);
    assert_true(harmless < 48 + 32);
    ward_buf_done(&gz);
    ward_buf_done(&out);
    free(c);
}

static void test_garbage(void **state)
{
    (void)state;
    struct ward_buf out = WARD_BUF_INIT;
    assert_int_equal(ward_gzip_decompress("", 0, 10, 10, &out), WARD_E_GZIP_CORRUPT);
    assert_int_equal(ward_gzip_decompress(NULL, 0, 10, 10, &out), WARD_E_GZIP_CORRUPT);
    assert_int_equal(ward_gzip_decompress("{\"a\":1}", 7, 10, 10, &out), WARD_E_GZIP_CORRUPT);
    static const uint8_t header_only[] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    assert_int_equal(ward_gzip_decompress(header_only, sizeof(header_only), 100, 100, &out),
                     WARD_E_GZIP_CORRUPT);
    for (int i = 0; i < 1000; i++) {
        uint8_t junk[64];
        for (size_t k = 0; k < sizeof(junk); k++)
            junk[k] = next_byte();
        junk[0] = 0x1f, junk[1] = 0x8b, junk[2] = 8;
        int r = ward_gzip_decompress(junk, sizeof(junk), 100, MIB, &out);
        assert_true(r == WARD_E_GZIP_CORRUPT || r == WARD_E_GZIP_TOO_LARGE);
        assert_int_equal(out.len, 0);
    }
    ward_buf_done(&out);
}

static void test_is_gzip(void **state)
{
    (void)state;
    assert_true(ward_gzip_is_gzip("\x1f\x8b\x08", 3));
    assert_false(ward_gzip_is_gzip("\x1f\x8b\x08", 2));
    assert_false(ward_gzip_is_gzip("\x1f\x8b\x07", 3));
    assert_false(ward_gzip_is_gzip("\x1e\x8b\x08", 3));
    assert_false(ward_gzip_is_gzip("{}", 2));
    assert_false(ward_gzip_is_gzip(NULL, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_compress_levels),
        cmocka_unit_test(test_decompress_appends),
        cmocka_unit_test(test_bomb),
        cmocka_unit_test(test_lying_isize_small_alloc),
        cmocka_unit_test(test_limits_at_boundary),
        cmocka_unit_test(test_out_limit),
        cmocka_unit_test(test_concatenated_members),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_bit_flips),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_is_gzip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
