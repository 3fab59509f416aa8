/*
 * Dashboard sessions; see session.h.
 *
 * The table is a fixed array searched under a mutex: it holds at most
 * WARD_SESSIONS_MAX entries, and a lookup compares short strings, so a scan
 * costs about as much as parsing the cookie header.
 */
#include "server/session.h"

#include "common/error.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct session {
    char lookup[WARD_CRED_LOOKUP]; /* "" = free slot */
    char hash[WARD_CRED_HASH];
    struct ward_session_owner owner;
    int64_t expires_ms;
};

struct ward_sessions {
    pthread_mutex_t lock;
    int64_t ttl_ms;
    struct session slot[WARD_SESSIONS_MAX];
};

int ward_sessions_new(int64_t ttl_ms, struct ward_sessions **out)
{
    struct ward_sessions *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    pthread_mutex_init(&s->lock, NULL);
    s->ttl_ms = ttl_ms > 0 ? ttl_ms : WARD_SESSION_DEFAULT;
    *out = s;
    return 0;
}

void ward_sessions_free(struct ward_sessions *s)
{
    if (!s)
        return;
    pthread_mutex_destroy(&s->lock);
    explicit_bzero(s, sizeof(*s));
    free(s);
}

/*
 * The slot for a new session of owner: the one of owner's that ends first
 * when owner has WARD_SESSIONS_PER_OWNER already (so one token cannot push
 * the others' sessions out), else a free or expired one, else the one that
 * ends first.
 */
static struct session *free_slot(struct ward_sessions *s, const struct ward_session_owner *owner,
                                 int64_t now_ms)
{
    struct session *best = &s->slot[0], *own = NULL, *unused = NULL;
    size_t owned = 0;
    for (size_t i = 0; i < WARD_SESSIONS_MAX; i++) {
        struct session *e = &s->slot[i];
        if (!e->lookup[0] || e->expires_ms <= now_ms) {
            if (!unused)
                unused = e;
            continue;
        }
        if (strcmp(e->owner.credential_id, owner->credential_id) == 0) {
            owned++;
            if (!own || e->expires_ms < own->expires_ms)
                own = e;
        }
        if (e->expires_ms < best->expires_ms)
            best = e;
    }
    if (owned >= WARD_SESSIONS_PER_OWNER)
        return own;
    return unused ? unused : best;
}

int ward_sessions_open(struct ward_sessions *s, const struct ward_session_owner *owner,
                       int64_t now_ms, char *id, int64_t *expires_ms)
{
    char lookup[WARD_CRED_LOOKUP];
    int r = ward_cred_new(WARD_CRED_SESSION, id, lookup);
    if (r < 0)
        return r;
    pthread_mutex_lock(&s->lock);
    struct session *e = free_slot(s, owner, now_ms);
    memcpy(e->lookup, lookup, sizeof(e->lookup));
    ward_cred_hash(id, e->hash);
    e->owner = *owner;
    e->expires_ms = now_ms + s->ttl_ms;
    *expires_ms = e->expires_ms;
    pthread_mutex_unlock(&s->lock);
    return 0;
}

/* The open session with the lookup of id whose hash matches id; with the lock held. */
static struct session *find(struct ward_sessions *s, const char *id)
{
    if (ward_cred_check(id) < 0 || strncmp(id, WARD_CRED_SESSION "_", 3) != 0)
        return NULL;
    char lookup[WARD_CRED_LOOKUP];
    ward_cred_lookup(id, lookup);
    for (size_t i = 0; i < WARD_SESSIONS_MAX; i++) {
        struct session *e = &s->slot[i];
        if (e->lookup[0] && strcmp(e->lookup, lookup) == 0)
            return ward_cred_matches(id, e->hash) ? e : NULL;
    }
    return NULL;
}

int ward_sessions_find(struct ward_sessions *s, const char *id, int64_t now_ms,
                       struct ward_session_owner *owner)
{
    pthread_mutex_lock(&s->lock);
    struct session *e = find(s, id);
    bool ok = e && e->expires_ms > now_ms;
    if (ok)
        *owner = e->owner;
    pthread_mutex_unlock(&s->lock);
    return ok ? 0 : WARD_E_NOT_FOUND;
}

void ward_sessions_close(struct ward_sessions *s, const char *id)
{
    pthread_mutex_lock(&s->lock);
    struct session *e = find(s, id);
    if (e)
        explicit_bzero(e, sizeof(*e));
    pthread_mutex_unlock(&s->lock);
}
