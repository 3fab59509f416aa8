/*
 * Credentials; see credential.h.
 *
 * Base32 (RFC 4648's alphabet, lower case) keeps credentials free of
 * characters that shells, URLs or YAML treat specially, and 5 bits per
 * character make the strength easy to count.
 */
#include "common/credential.h"

#include "common/crypto.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";

/* Writes n random base32 characters and a NUL into out. */
static int random_base32(char *out, size_t n)
{
    uint8_t raw[WARD_CRED_MAX];
    if (n >= sizeof(raw))
        return -EINVAL;
    int r = ward_random_bytes(raw, n);
    if (r < 0)
        return r;
    for (size_t i = 0; i < n; i++)
        out[i] = alphabet[raw[i] & 31];
    out[n] = '\0';
    return 0;
}

int ward_cred_new(const char *kind, char out[WARD_CRED_MAX], char lookup[WARD_CRED_LOOKUP])
{
    if (strcmp(kind, WARD_CRED_AGENT_KEY) != 0 && strcmp(kind, WARD_CRED_ADMIN_TOKEN) != 0 &&
        strcmp(kind, WARD_CRED_SESSION) != 0)
        return -EINVAL;
    char secret[WARD_CRED_SECRET_CHARS + 1];
    int r = random_base32(lookup, WARD_CRED_LOOKUP_CHARS);
    if (r == 0)
        r = random_base32(secret, WARD_CRED_SECRET_CHARS);
    if (r < 0)
        return r;
    snprintf(out, WARD_CRED_MAX, "%s_%s_%s", kind, lookup, secret);
    return 0;
}

int ward_cred_claim_token(char out[WARD_CRED_MAX])
{
    return random_base32(out, WARD_CRED_SECRET_CHARS);
}

int ward_cred_check(const char *cred)
{
    size_t n = cred ? strnlen(cred, WARD_CRED_INPUT_MAX + 1) : 0;
    if (n == 0 || n > WARD_CRED_INPUT_MAX)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (cred[i] <= ' ' || cred[i] > '~')
            return -EINVAL;
    return 0;
}

static bool is_base32(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!s[i] || !memchr(alphabet, s[i], sizeof(alphabet) - 1))
            return false;
    return true;
}

/* True when cred has the form of a credential made by ward_cred_new(). */
static bool is_made_here(const char *cred)
{
    const size_t len = 2 + 1 + WARD_CRED_LOOKUP_CHARS + 1 + WARD_CRED_SECRET_CHARS;
    return strlen(cred) == len &&
           (memcmp(cred, WARD_CRED_AGENT_KEY "_", 3) == 0 ||
            memcmp(cred, WARD_CRED_ADMIN_TOKEN "_", 3) == 0 ||
            memcmp(cred, WARD_CRED_SESSION "_", 3) == 0) &&
           is_base32(cred + 3, WARD_CRED_LOOKUP_CHARS) && cred[3 + WARD_CRED_LOOKUP_CHARS] == '_' &&
           is_base32(cred + 4 + WARD_CRED_LOOKUP_CHARS, WARD_CRED_SECRET_CHARS);
}

void ward_cred_lookup(const char *cred, char lookup[WARD_CRED_LOOKUP])
{
    if (is_made_here(cred)) {
        memcpy(lookup, cred + 3, WARD_CRED_LOOKUP_CHARS);
        lookup[WARD_CRED_LOOKUP_CHARS] = '\0';
        return;
    }
    char hash[WARD_CRED_HASH];
    ward_cred_hash(cred, hash);
    lookup[0] = 'h';
    memcpy(lookup + 1, hash, WARD_CRED_LOOKUP_CHARS - 1);
    lookup[WARD_CRED_LOOKUP_CHARS] = '\0';
}

void ward_cred_hash(const char *cred, char hash[WARD_CRED_HASH])
{
    uint8_t digest[WARD_SHA256_LEN];
    ward_sha256(cred, strlen(cred), digest);
    ward_hex_encode(digest, sizeof(digest), hash);
    hash[2 * WARD_SHA256_LEN] = '\0';
}

bool ward_cred_matches(const char *cred, const char *stored_hash)
{
    char hash[WARD_CRED_HASH];
    ward_cred_hash(cred, hash);
    return stored_hash && strlen(stored_hash) == 2 * WARD_SHA256_LEN &&
           ward_ct_equal(hash, stored_hash, 2 * WARD_SHA256_LEN);
}
