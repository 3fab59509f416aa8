/*
 * Credentials: agent API keys, admin tokens and claim tokens.
 *
 * A credential made here reads "<kind>_<lookup>_<secret>": kind is "wk" (an
 * agent key), "wt" (an admin token) or "ws" (a dashboard session), lookup is 12 base32 characters
 * that name the credential publicly (it is what lists show, and what the server finds it by), and
 * secret is 26 base32 characters, 130 random bits. Only the lookup and the SHA-256 of the whole
 * string are ever stored. An admin token chosen by the operator (--admin-token) may have any form;
 * its lookup is then derived from its hash, so both kinds are found alike.
 *
 * A claim token is a bare secret of the same strength that the agent keeps;
 * the server only ever learns its SHA-256 until an admin presents it.
 */
#ifndef WARD_CREDENTIAL_H
#define WARD_CREDENTIAL_H

#include <stdbool.h>
#include <stddef.h>

#define WARD_CRED_LOOKUP_CHARS 12
#define WARD_CRED_SECRET_CHARS 26
/* Room for a credential made here, or a lookup, with the NUL. */
#define WARD_CRED_MAX    48
#define WARD_CRED_LOOKUP (WARD_CRED_LOOKUP_CHARS + 1)
/* Room for a hex SHA-256 and its NUL. */
#define WARD_CRED_HASH 65
/* Longest credential accepted from a client or an operator. */
#define WARD_CRED_INPUT_MAX 256
/* Shortest admin token an operator may choose. */
#define WARD_CRED_CHOSEN_MIN 16

#define WARD_CRED_AGENT_KEY   "wk"
#define WARD_CRED_ADMIN_TOKEN "wt"
#define WARD_CRED_SESSION     "ws" /* a dashboard session (session.h) */

/*
 * Makes a new credential of kind ("wk", "wt" or "ws") into out and its lookup
 * into lookup. Returns 0 or a negative error (no randomness).
 */
int ward_cred_new(const char *kind, char out[WARD_CRED_MAX], char lookup[WARD_CRED_LOOKUP]);

/* Makes a new claim token: WARD_CRED_SECRET_CHARS base32 characters. */
int ward_cred_claim_token(char out[WARD_CRED_MAX]);

/*
 * Checks that cred is a credential a client may present: 1 to
 * WARD_CRED_INPUT_MAX printable ASCII characters without spaces. Returns
 * 0 or -EINVAL.
 */
int ward_cred_check(const char *cred);

/*
 * Writes the lookup of cred, which passed ward_cred_check(): the lookup
 * part of a credential made here, else "h" and 11 hex digits of its
 * SHA-256.
 */
void ward_cred_lookup(const char *cred, char lookup[WARD_CRED_LOOKUP]);

/* Writes the hex SHA-256 of cred. */
void ward_cred_hash(const char *cred, char hash[WARD_CRED_HASH]);

/* True when the hex SHA-256 of cred is stored_hash, compared in constant time. */
bool ward_cred_matches(const char *cred, const char *stored_hash);

#endif
