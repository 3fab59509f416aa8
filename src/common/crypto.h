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

/* Headers of the ingest request signature (DESIGN.md, "Wire protocol"). */
#define WARD_SIGNATURE_HEADER "X-Ward-Signature"
#define WARD_TIMESTAMP_HEADER "X-Ward-Timestamp"

/* Characters of a request signature: lowercase hex of an HMAC-SHA256. */
#define WARD_SIGNATURE_HEX_LEN (2 * WARD_SHA256_LEN)

/*
 * Computes the ward request signature: the lowercase hex HMAC-SHA256 with key
 * (keylen bytes) over the decimal text of timestamp_ms (as printed by "%" PRId64,
 * which is exactly what goes into the X-Ward-Timestamp header), a '.', and the
 * len bytes of body as sent on the wire, that is still gzip-compressed when
 * the request is. body may be NULL when len is 0.
 * Writes WARD_SIGNATURE_HEX_LEN characters and a NUL to out and returns 0, or
 * returns an error of ward_hmac_sha256() and leaves out untouched.
 */
int ward_signature_compute(const void *key, size_t keylen, int64_t timestamp_ms, const void *body,
                           size_t len, char out[WARD_SIGNATURE_HEX_LEN + 1]);

/*
 * Checks a received signature: siglen characters of hex at sig (either case,
 * need not be NUL-terminated) against ward_signature_compute() of the other
 * arguments. The MACs are compared in constant time.
 * Returns 0 when they match, WARD_E_PARSE when sig is not
 * WARD_SIGNATURE_HEX_LEN hex digits, -EBADMSG when it is well formed but does
 * not match, or an error of ward_hmac_sha256().
 */
int ward_signature_verify(const void *key, size_t keylen, int64_t timestamp_ms, const void *body,
                          size_t len, const char *sig, size_t siglen);

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
