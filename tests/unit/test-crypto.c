/*
 * Tests for crypto: SHA-256 against the FIPS 180-2 examples, HMAC-SHA256
 * against RFC 4231 test cases 1, 2 and 6 and split into parts, the request
 * signature against vectors computed with Python's hmac, constant-time
 * comparison, random bytes, and the hex codec.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/crypto.h"
#include "common/error.h"

static void assert_digest(const uint8_t md[WARD_SHA256_LEN], const char *want_hex)
{
    char hex[2 * WARD_SHA256_LEN + 1];
    ward_hex_encode(md, WARD_SHA256_LEN, hex);
    assert_string_equal(hex, want_hex);
}

static void test_sha256_vectors(void **state)
{
    (void)state;
    uint8_t md[WARD_SHA256_LEN];

    ward_sha256("abc", 3, md);
    assert_digest(md, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

    ward_sha256(NULL, 0, md);
    assert_digest(md, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

    const char *two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    ward_sha256(two_blocks, strlen(two_blocks), md);
    assert_digest(md, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");

    char *million = malloc(1000000);
    assert_non_null(million);
    memset(million, 'a', 1000000);
    ward_sha256(million, 1000000, md);
    assert_digest(md, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(million);
}

static int hmac1(const void *key, size_t keylen, const char *msg, uint8_t out[WARD_SHA256_LEN])
{
    struct iovec part = {.iov_base = (void *)msg, .iov_len = strlen(msg)};
    return ward_hmac_sha256(key, keylen, &part, 1, out);
}

static void test_hmac_rfc4231(void **state)
{
    (void)state;
    uint8_t md[WARD_SHA256_LEN];

    /* Test case 1: 20-byte key of 0x0b. */
    uint8_t key1[20];
    memset(key1, 0x0b, sizeof(key1));
    assert_int_equal(hmac1(key1, sizeof(key1), "Hi There", md), 0);
    assert_digest(md, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");

    /* Test case 2: a key shorter than the output. */
    assert_int_equal(hmac1("Jefe", 4, "what do ya want for nothing?", md), 0);
    assert_digest(md, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");

    /* Test case 6: a 131-byte key, longer than the block, is hashed first. */
    uint8_t key6[131];
    memset(key6, 0xaa, sizeof(key6));
    assert_int_equal(
        hmac1(key6, sizeof(key6), "Test Using Larger Than Block-Size Key - Hash Key First", md), 0);
    assert_digest(md, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");

    /* An empty key and an empty message are valid. */
    assert_int_equal(ward_hmac_sha256(NULL, 0, NULL, 0, md), 0);
    assert_digest(md, "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

/* Signing `timestamp "." body` in three parts equals signing the joined string. */
static void test_hmac_multipart(void **state)
{
    (void)state;
    const char *key = "agent-key-0123456789";
    const char *ts = "1763632800";
    const char *body = "{\"metrics\":[]}";
    struct iovec parts[] = {
        {.iov_base = (void *)ts, .iov_len = strlen(ts)},
        {.iov_base = (void *)".", .iov_len = 1},
        {.iov_base = NULL, .iov_len = 0},
        {.iov_base = (void *)body, .iov_len = strlen(body)},
    };
    uint8_t split[WARD_SHA256_LEN], joined[WARD_SHA256_LEN];
    assert_int_equal(ward_hmac_sha256(key, strlen(key), parts, 4, split), 0);
    assert_int_equal(hmac1(key, strlen(key), "1763632800.{\"metrics\":[]}", joined), 0);
    assert_memory_equal(split, joined, sizeof(split));

    /* A different split of the same bytes gives the same MAC too. */
    struct iovec other[] = {
        {.iov_base = (void *)"1763632800.{\"met", .iov_len = 16},
        {.iov_base = (void *)"rics\":[]}", .iov_len = 9},
    };
    uint8_t again[WARD_SHA256_LEN];
    assert_int_equal(ward_hmac_sha256(key, strlen(key), other, 2, again), 0);
    assert_memory_equal(again, joined, sizeof(again));

    /* Changing one byte of the body or the key changes the MAC. */
    uint8_t changed[WARD_SHA256_LEN];
    assert_int_equal(hmac1(key, strlen(key), "1763632800.{\"metrics\":[1]", changed), 0);
    assert_memory_not_equal(changed, joined, sizeof(changed));
    assert_int_equal(hmac1("agent-key-0123456788", 20, "1763632800.{\"metrics\":[]}", changed), 0);
    assert_memory_not_equal(changed, joined, sizeof(changed));
}

static void test_hmac_bad_args(void **state)
{
    (void)state;
    uint8_t md[WARD_SHA256_LEN];
    memset(md, 0x5a, sizeof(md));
    struct iovec bad = {.iov_base = NULL, .iov_len = 3};
    assert_int_equal(ward_hmac_sha256("k", 1, &bad, 1, md), -EINVAL);
    assert_int_equal(ward_hmac_sha256(NULL, 4, NULL, 0, md), -EINVAL);
    assert_int_equal(ward_hmac_sha256("k", 1, NULL, 2, md), -EINVAL);
    for (size_t i = 0; i < sizeof(md); i++)
        assert_int_equal(md[i], 0x5a);
}

/*
 * Known vectors for the request signature, computed independently with
 *
 *     python3 -c 'import hmac, hashlib; print(hmac.new(KEY, MSG, hashlib.sha256).hexdigest())'
 *
 * where MSG is b"<timestamp>." + body, for the cases below.
 */
static const char body_json[] = "{\"server_id\":\"0192a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b\","
                                "\"metrics\":[]}";
/* The start of a gzip stream, with a NUL byte: the body is bytes, not a string. */
static const uint8_t body_gzip[] = {0x1f, 0x8b, 0x08, 0x00, 0xff};

static void test_signature_vectors(void **state)
{
    (void)state;
    char sig[WARD_SIGNATURE_HEX_LEN + 1];

    /* KEY b"ward-test-key", MSG b'1763632800000.{"server_id":"0192...4a5b","metrics":[]}' */
    assert_int_equal(ward_signature_compute("ward-test-key", 13, INT64_C(1763632800000), body_json,
                                            strlen(body_json), sig),
                     0);
    assert_string_equal(sig, "6d6d7590a2fb664dbfd230f97b63fa946400e8025478d6af47049134f38eb82f");

    /* KEY b"ward-test-key", MSG b"0.": timestamp 0 and an empty body. */
    assert_int_equal(ward_signature_compute("ward-test-key", 13, 0, NULL, 0, sig), 0);
    assert_string_equal(sig, "eae93e8bf5b1ed5ad20feab18ad3b63cd45b85ee07ed378d0960b379ebd82ee7");

    /* KEY b"k", MSG b"1763632800000.\x1f\x8b\x08\x00\xff" */
    assert_int_equal(
        ward_signature_compute("k", 1, INT64_C(1763632800000), body_gzip, sizeof(body_gzip), sig),
        0);
    assert_string_equal(sig, "446512577f413953e66b140432de000b69011bae09c4c3ca4f1a29485823987c");

    /* Bad arguments leave the output untouched. */
    memset(sig, 'x', sizeof(sig));
    assert_int_equal(ward_signature_compute(NULL, 4, 0, NULL, 0, sig), -EINVAL);
    assert_int_equal(ward_signature_compute("k", 1, 0, NULL, 3, sig), -EINVAL);
    for (size_t i = 0; i < sizeof(sig); i++)
        assert_int_equal(sig[i], 'x');
}

static void test_signature_verify(void **state)
{
    (void)state;
    const char *key = "ward-test-key";
    int64_t ts = INT64_C(1763632800000);
    size_t n = strlen(body_json);
    char good[] = "6d6d7590a2fb664dbfd230f97b63fa946400e8025478d6af47049134f38eb82f";

    assert_int_equal(ward_signature_verify(key, 13, ts, body_json, n, good, strlen(good)), 0);
    /* Hex is accepted in either case. */
    char upper[sizeof(good)];
    for (size_t i = 0; i < sizeof(good); i++)
        upper[i] = (char)(good[i] >= 'a' && good[i] <= 'f' ? good[i] - 'a' + 'A' : good[i]);
    assert_int_equal(ward_signature_verify(key, 13, ts, body_json, n, upper, strlen(upper)), 0);

    /* Any change of signature, key, timestamp or body is a mismatch. */
    for (size_t i = 0; i < WARD_SIGNATURE_HEX_LEN; i++) {
        char bad[sizeof(good)];
        memcpy(bad, good, sizeof(good));
        bad[i] = bad[i] == '0' ? '1' : '0';
        assert_int_equal(ward_signature_verify(key, 13, ts, body_json, n, bad, strlen(bad)),
                         -EBADMSG);
    }
    assert_int_equal(ward_signature_verify("ward-test-kez", 13, ts, body_json, n, good, 64),
                     -EBADMSG);
    assert_int_equal(ward_signature_verify(key, 13, ts + 1, body_json, n, good, 64), -EBADMSG);
    assert_int_equal(ward_signature_verify(key, 13, ts, body_json, n - 1, good, 64), -EBADMSG);

    /* A signature that is not 64 hex digits is malformed, not a mismatch. */
    assert_int_equal(ward_signature_verify(key, 13, ts, body_json, n, good, 63), WARD_E_PARSE);
    assert_int_equal(ward_signature_verify(key, 13, ts, body_json, n, "", 0), WARD_E_PARSE);
    assert_int_equal(ward_signature_verify(key, 13, ts, body_json, n, NULL, 0), WARD_E_PARSE);
    good[10] = 'g';
    assert_int_equal(ward_signature_verify(key, 13, ts, body_json, n, good, 64), WARD_E_PARSE);
}

static void test_ct_equal(void **state)
{
    (void)state;
    uint8_t a[64], b[64];
    for (size_t i = 0; i < sizeof(a); i++)
        a[i] = b[i] = (uint8_t)(i * 7);
    assert_true(ward_ct_equal(a, b, sizeof(a)));
    assert_true(ward_ct_equal(a, b, 0));
    for (size_t i = 0; i < sizeof(a); i++) {
        b[i] ^= 0x01;
        assert_false(ward_ct_equal(a, b, sizeof(a)));
        assert_true(ward_ct_equal(a, b, i)); /* the prefix still matches */
        b[i] ^= 0x01;
    }
    b[63] ^= 0x80;
    assert_false(ward_ct_equal(a, b, sizeof(a)));
}

static void test_random_bytes(void **state)
{
    (void)state;
    uint8_t a[64], b[64];
    memset(a, 0, sizeof(a));
    memset(b, 0, sizeof(b));
    assert_int_equal(ward_random_bytes(a, sizeof(a)), 0);
    assert_int_equal(ward_random_bytes(b, sizeof(b)), 0);
    assert_memory_not_equal(a, b, sizeof(a));

    /* Over 64 KiB every byte value should occur; a stuck generator would not. */
    size_t n = 65536;
    uint8_t *big = calloc(1, n);
    assert_non_null(big);
    assert_int_equal(ward_random_bytes(big, n), 0);
    size_t seen[256] = {0};
    for (size_t i = 0; i < n; i++)
        seen[big[i]]++;
    for (size_t v = 0; v < 256; v++)
        assert_true(seen[v] > 100 && seen[v] < 450); /* expected 256 each */
    free(big);

    assert_int_equal(ward_random_bytes(NULL, 0), 0);
}

static void test_hex_round_trip(void **state)
{
    (void)state;
    uint8_t in[256];
    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (uint8_t)i;
    char hex[2 * sizeof(in) + 1];
    ward_hex_encode(in, sizeof(in), hex);
    assert_int_equal(strlen(hex), 512);
    assert_memory_equal(hex, "000102030405060708090a0b0c0d0e0f10", 34);
    assert_string_equal(hex + 500, "fafbfcfdfeff");

    uint8_t back[256];
    assert_int_equal(ward_hex_decode(hex, strlen(hex), back, sizeof(back)), 0);
    assert_memory_equal(back, in, sizeof(in));

    uint8_t two[2];
    assert_int_equal(ward_hex_decode("AbCd", 4, two, 2), 0);
    assert_int_equal(two[0], 0xab);
    assert_int_equal(two[1], 0xcd);

    char empty[1];
    ward_hex_encode(NULL, 0, empty);
    assert_string_equal(empty, "");
    assert_int_equal(ward_hex_decode("", 0, two, 0), 0);
}

static void test_hex_rejects(void **state)
{
    (void)state;
    uint8_t out[4] = {1, 2, 3, 4};
    static const char *const bad[] = {
        "0011223",    /* odd length */
        "001122",     /* too short for 4 bytes */
        "0011223344", /* too long */
        "0011223g",   /* not hex */
        "00 11 22 ",  "0x112233", "-0112233",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (ward_hex_decode(bad[i], strlen(bad[i]), out, sizeof(out)) != WARD_E_PARSE)
            fail_msg("accepted \"%s\"", bad[i]);
    }
    /* A bad character at the end leaves the output untouched. */
    assert_int_equal(ward_hex_decode("aabbccd\0", 8, out, 4), WARD_E_PARSE);
    assert_int_equal(out[0], 1);
    assert_int_equal(out[3], 4);
    /* Only hexlen bytes are read: the junk past it does not matter. */
    assert_int_equal(ward_hex_decode("aabbccddZZ", 8, out, 4), 0);
    assert_int_equal(out[3], 0xdd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_vectors),    cmocka_unit_test(test_hmac_rfc4231),
        cmocka_unit_test(test_hmac_multipart),    cmocka_unit_test(test_hmac_bad_args),
        cmocka_unit_test(test_signature_vectors), cmocka_unit_test(test_signature_verify),
        cmocka_unit_test(test_ct_equal),          cmocka_unit_test(test_random_bytes),
        cmocka_unit_test(test_hex_round_trip),    cmocka_unit_test(test_hex_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
