/*
 * Hashing, message authentication, randomness and hex.
 *
 * HMAC goes through OpenSSL 3's EVP_MAC interface (the HMAC_CTX functions are
 * deprecated there). Fetching the HMAC implementation walks the provider
 * store under a lock, so it happens once per process and the fetched object,
 * which is reference-counted and immutable, is shared by all threads; each
 * call only creates a small context. Parts are fed to EVP_MAC_update one by
 * one, so a signature over several buffers never copies them together.
 * The request signature is one such MAC, over the timestamp's decimal text,
 * a '.', and the body as sent, so the agent and the server sign the very
 * bytes that travel and neither has to build a joined copy of the body.
 *
 * Randomness comes straight from the kernel with getrandom(2). It is the
 * same source libcrypto's DRBG seeds itself from, has no state to reseed after
 * fork, and costs one system call per request; starting libcrypto's DRBG
 * instead would add about 2 MB of resident memory to the agent for the few
 * random bytes it needs.
 */
#include "common/crypto.h"

#include "common/error.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>

static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;
static EVP_MAC *hmac_impl;

static void hmac_fetch(void)
{
    hmac_impl = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

void ward_sha256(const void *data, size_t n, uint8_t out[WARD_SHA256_LEN])
{
    static const uint8_t empty[1];
    if (!SHA256(n ? data : empty, n, out))
        abort();
}

int ward_hmac_sha256(const void *key, size_t keylen, const struct iovec *parts, size_t nparts,
                     uint8_t out[WARD_SHA256_LEN])
{
    static const uint8_t empty[1];
    if ((!key && keylen) || (!parts && nparts))
        return -EINVAL;
    for (size_t i = 0; i < nparts; i++)
        if (!parts[i].iov_base && parts[i].iov_len)
            return -EINVAL;

    pthread_once(&hmac_once, hmac_fetch);
    if (!hmac_impl)
        return -EIO;
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(hmac_impl);
    if (!ctx)
        return -ENOMEM;

    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    /* A NULL key would mean "keep the previous key", so pass a real pointer. */
    int ok = EVP_MAC_init(ctx, keylen ? key : empty, keylen, params);
    for (size_t i = 0; ok && i < nparts; i++)
        if (parts[i].iov_len)
            ok = EVP_MAC_update(ctx, parts[i].iov_base, parts[i].iov_len);

    uint8_t md[WARD_SHA256_LEN];
    size_t mdlen = 0;
    if (ok)
        ok = EVP_MAC_final(ctx, md, &mdlen, sizeof(md));
    EVP_MAC_CTX_free(ctx);
    if (!ok || mdlen != sizeof(md))
        return -EIO;
    for (size_t i = 0; i < sizeof(md); i++)
        out[i] = md[i];
    OPENSSL_cleanse(md, sizeof(md));
    return 0;
}

/* The MAC behind a signature; the timestamp is signed as its decimal text. */
static int signature_mac(const void *key, size_t keylen, int64_t timestamp_ms, const void *body,
                         size_t len, uint8_t mac[WARD_SHA256_LEN])
{
    char ts[24];
    int n = snprintf(ts, sizeof(ts), "%" PRId64, timestamp_ms);
    struct iovec parts[] = {
        {.iov_base = ts, .iov_len = (size_t)n},
        {.iov_base = (void *)".", .iov_len = 1},
        {.iov_base = (void *)body, .iov_len = len},
    };
    return ward_hmac_sha256(key, keylen, parts, 3, mac);
}

int ward_signature_compute(const void *key, size_t keylen, int64_t timestamp_ms, const void *body,
                           size_t len, char out[WARD_SIGNATURE_HEX_LEN + 1])
{
    uint8_t mac[WARD_SHA256_LEN];
    int r = signature_mac(key, keylen, timestamp_ms, body, len, mac);
    if (r < 0)
        return r;
    ward_hex_encode(mac, sizeof(mac), out);
    return 0;
}

int ward_signature_verify(const void *key, size_t keylen, int64_t timestamp_ms, const void *body,
                          size_t len, const char *sig, size_t siglen)
{
    /*
     * Decoding the received hex is not constant-time, but it only depends on
     * what the sender already knows; the secret-dependent comparison of the
     * two MACs is.
     */
    uint8_t got[WARD_SHA256_LEN], want[WARD_SHA256_LEN];
    if (!sig || ward_hex_decode(sig, siglen, got, sizeof(got)) < 0)
        return WARD_E_PARSE;
    int r = signature_mac(key, keylen, timestamp_ms, body, len, want);
    if (r < 0)
        return r;
    return ward_ct_equal(got, want, sizeof(want)) ? 0 : -EBADMSG;
}

bool ward_ct_equal(const void *a, const void *b, size_t n)
{
    return n == 0 || CRYPTO_memcmp(a, b, n) == 0;
}

int ward_random_bytes(void *out, size_t n)
{
    uint8_t *p = out;
    while (n > 0) {
        ssize_t got = getrandom(p, n, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return -EIO;
        }
        p += got;
        n -= (size_t)got;
    }
    return 0;
}

void ward_hex_encode(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0x0f];
    }
    out[2 * n] = '\0';
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int ward_hex_decode(const char *hex, size_t hexlen, uint8_t *out, size_t outlen)
{
    if (outlen > SIZE_MAX / 2 || hexlen != 2 * outlen)
        return WARD_E_PARSE;
    /* Validate everything first so that out is untouched on failure. */
    for (size_t i = 0; i < hexlen; i++)
        if (hex_value(hex[i]) < 0)
            return WARD_E_PARSE;
    for (size_t i = 0; i < outlen; i++)
        out[i] = (uint8_t)(hex_value(hex[2 * i]) << 4 | hex_value(hex[2 * i + 1]));
    return 0;
}
