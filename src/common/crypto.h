/*
 * Hashing, message authentication, randomness and hex.
 *
 * Thin wrappers over OpenSSL's libcrypto so that the rest of ward never
 * includes OpenSSL headers: SHA-256 for stored API keys, HMAC-SHA256 for the
 * ingest signature, constant-time comparison for both, and the random bytes
 * behind keys, claim tokens and UUIDs.
 */
#ifndef WARD_CRYPTO_H
#define WARD_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define WARD_SHA256_LEN 32

/*
 * Writes the SHA-256 digest of n bytes at data (NULL allowed when n is 0)
 * into out. Aborts the process if libcrypto cannot compute a digest at all,
 * which only happens when it cannot allocate its context.
 */
void ward_sha256(const void *data, size_t n, uint8_t out[WARD_SHA256_LEN]);

/*
 * Computes HMAC-SHA256 with key (keylen bytes; an empty key is allowed) over
 * the concatenation of nparts buffers, without copying them together. This
 * is how the ingest signature over `timestamp "." body` is computed.
 * Returns 0 and fills out, -EINVAL for a NULL key or part with a non-zero
 * length, -ENOMEM, or -EIO if libcrypto fails. out is written only on success.
 */
int ward_hmac_sha256(const void *key, size_t keylen, const struct iovec *parts, size_t nparts,
                     uint8_t out[WARD_SHA256_LEN]);

/*
 * Compares n bytes in time that depends only on n, not on where the buffers
 * differ. Use it for every comparison of a secret or a MAC. Returns true when
 * they are equal (and for n = 0).
 */
bool ward_ct_equal(const void *a, const void *b, size_t n);

/*
 * Fills out with n bytes from libcrypto's CSPRNG (seeded from the kernel and
 * safe across fork). Returns 0, or -EIO if the generator fails; on failure
 * the contents of out are unspecified and must not be used.
 */
int ward_random_bytes(void *out, size_t n);

/*
 * Writes the lowercase hex form of n bytes to out, which must hold 2 * n + 1
 * characters; the result is NUL-terminated.
 */
void ward_hex_encode(const uint8_t *in, size_t n, char *out);

/*
 * Decodes exactly hexlen characters of hex (upper or lower case, no
 * separators, need not be NUL-terminated) into out. hexlen must equal
 * 2 * outlen. Returns 0, or WARD_E_PARSE on a length mismatch or a non-hex
 * character; out is written only on success.
 */
int ward_hex_decode(const char *hex, size_t hexlen, uint8_t *out, size_t outlen);

#endif
