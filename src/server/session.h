/*
 * Dashboard sessions: a browser logs in once with an admin token and then
 * carries a session cookie instead of the token.
 *
 * A session id is a credential of kind "ws" (credential.h): a public lookup
 * and 130 random bits. The server keeps, in memory only, the lookup, the
 * SHA-256 of the id, and which admin token the session was opened with, so
 * the id itself is never stored, and a session dies with its token: every
 * use checks that the token is still valid (auth.c). Sessions last
 * ttl_ms from login and are lost when the server restarts; the browser then
 * asks for a login again. At most WARD_SESSIONS_MAX are open, and
 * WARD_SESSIONS_PER_OWNER per token: the one that ends first makes room
 * for a new one, among the token's own when it has its share.
 */
#ifndef WARD_SESSION_H
#define WARD_SESSION_H

#include <stdint.h>

#include "common/credential.h"
#include "server/store/store.h"

#define WARD_SESSIONS_MAX       1024
#define WARD_SESSIONS_PER_OWNER 32 /* sessions one admin token may have open */
#define WARD_SESSION_COOKIE     "ward_session"
#define WARD_SESSION_DEFAULT    (12 * 3600 * 1000LL) /* 12 h */

struct ward_sessions;

/* The admin token a session stands for. */
struct ward_session_owner {
    char lookup[WARD_CRED_LOOKUP]; /* the token's lookup */
    char credential_id[WARD_STORE_ID_LEN];
};

int ward_sessions_new(int64_t ttl_ms, struct ward_sessions **out);
/* Frees s, wiping what it holds. Accepts NULL. */
void ward_sessions_free(struct ward_sessions *s);

/*
 * Opens a session for owner: writes its id (the cookie value,
 * WARD_CRED_MAX bytes) to id and its end (Unix ms) to *expires_ms.
 * Returns 0 or a negative error (no randomness).
 */
int ward_sessions_open(struct ward_sessions *s, const struct ward_session_owner *owner,
                       int64_t now_ms, char *id, int64_t *expires_ms);

/*
 * Finds the open session whose id is id and copies its owner. Returns 0,
 * or WARD_E_NOT_FOUND for an unknown, ended or expired one.
 */
int ward_sessions_find(struct ward_sessions *s, const char *id, int64_t now_ms,
                       struct ward_session_owner *owner);

/* Ends the session whose id is id, if open. */
void ward_sessions_close(struct ward_sessions *s, const char *id);

#endif
