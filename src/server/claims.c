/*
 * Pending key deliveries and claim attempt limits; see claims.h.
 *
 * Both are small tables scanned linearly under one lock: claims are rare
 * admin actions and polls, and the tables are bounded.
 */
#include "server/claims.h"

#include "common/credential.h"
#include "common/error.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ID_MAX 64

struct pending_key {
    char host_id[ID_MAX];
    char key[WARD_CRED_MAX];
    int64_t expires_ms; /* 0: the slot is free */
};

struct counter {
    char name[ID_MAX]; /* "a:" agent id or "c:" client address */
    int64_t window_ms; /* start of its window; 0: the slot is free */
    unsigned count;
};

struct ward_claims {
    pthread_mutex_t lock;
    struct pending_key keys[WARD_CLAIMS_MAX_KEYS];
    struct counter counters[WARD_CLAIMS_MAX_COUNTERS];
};

int ward_claims_new(struct ward_claims **out)
{
    struct ward_claims *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    pthread_mutex_init(&c->lock, NULL);
    *out = c;
    return 0;
}

void ward_claims_free(struct ward_claims *c)
{
    if (!c)
        return;
    explicit_bzero(c->keys, sizeof(c->keys));
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* Frees slot i, wiping its key. */
static void drop(struct ward_claims *c, size_t i)
{
    explicit_bzero(&c->keys[i], sizeof(c->keys[i]));
}

int ward_claims_put_key(struct ward_claims *c, const char *host_id, const char *key, int64_t now_ms)
{
    pthread_mutex_lock(&c->lock);
    struct pending_key *slot = NULL;
    for (size_t i = 0; i < WARD_CLAIMS_MAX_KEYS; i++) {
        struct pending_key *k = &c->keys[i];
        if (k->expires_ms && (k->expires_ms <= now_ms || strcmp(k->host_id, host_id) == 0))
            drop(c, i);
        if (!k->expires_ms && !slot)
            slot = k;
    }
    if (slot) {
        snprintf(slot->host_id, sizeof(slot->host_id), "%s", host_id);
        snprintf(slot->key, sizeof(slot->key), "%s", key);
        slot->expires_ms = now_ms + WARD_CLAIMS_KEY_TTL_MS;
    }
    pthread_mutex_unlock(&c->lock);
    return slot ? 0 : WARD_E_LIMIT;
}

bool ward_claims_take_key(struct ward_claims *c, const char *host_id, char *out, int64_t now_ms)
{
    bool found = false;
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < WARD_CLAIMS_MAX_KEYS && !found; i++) {
        struct pending_key *k = &c->keys[i];
        if (!k->expires_ms || strcmp(k->host_id, host_id) != 0)
            continue;
        found = k->expires_ms > now_ms;
        if (found)
            memcpy(out, k->key, WARD_CRED_MAX);
        drop(c, i);
    }
    pthread_mutex_unlock(&c->lock);
    return found;
}

/* Counts one attempt on the counter of name; true when still within limit. */
static bool count(struct ward_claims *c, const char *name, unsigned limit, int64_t now_ms)
{
    struct counter *hit = NULL, *free_slot = NULL, *oldest = NULL;
    for (size_t i = 0; i < WARD_CLAIMS_MAX_COUNTERS; i++) {
        struct counter *k = &c->counters[i];
        if (k->window_ms && now_ms - k->window_ms >= WARD_CLAIMS_WINDOW_MS)
            k->window_ms = 0;
        if (k->window_ms && strcmp(k->name, name) == 0)
            hit = k;
        else if (!k->window_ms && !free_slot)
            free_slot = k;
        else if (k->window_ms && (!oldest || k->window_ms < oldest->window_ms))
            oldest = k;
    }
    if (!hit) {
        hit = free_slot ? free_slot : oldest;
        snprintf(hit->name, sizeof(hit->name), "%s", name);
        hit->window_ms = now_ms > 0 ? now_ms : 1;
        hit->count = 0;
    }
    return ++hit->count <= limit;
}

bool ward_claims_login_allowed(struct ward_claims *c, const char *client, int64_t now_ms)
{
    char k[ID_MAX];
    snprintf(k, sizeof(k), "l:%s", client);
    bool ok = true;
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < WARD_CLAIMS_MAX_COUNTERS; i++) {
        const struct counter *e = &c->counters[i];
        if (e->window_ms && now_ms - e->window_ms < WARD_CLAIMS_WINDOW_MS &&
            strcmp(e->name, k) == 0)
            ok = e->count < WARD_CLAIMS_LOGIN_FAILURES;
    }
    pthread_mutex_unlock(&c->lock);
    return ok;
}

void ward_claims_login_failed(struct ward_claims *c, const char *client, int64_t now_ms)
{
    char k[ID_MAX];
    snprintf(k, sizeof(k), "l:%s", client);
    pthread_mutex_lock(&c->lock);
    count(c, k, WARD_CLAIMS_LOGIN_FAILURES, now_ms);
    pthread_mutex_unlock(&c->lock);
}

bool ward_claims_register_attempt(struct ward_claims *c, const char *client, int64_t now_ms)
{
    char k[ID_MAX];
    snprintf(k, sizeof(k), "r:%s", client);
    pthread_mutex_lock(&c->lock);
    bool ok = count(c, k, WARD_CLAIMS_REGISTER_PER_CLIENT, now_ms);
    pthread_mutex_unlock(&c->lock);
    return ok;
}

bool ward_claims_attempt(struct ward_claims *c, const char *agent_id, const char *client,
                         int64_t now_ms)
{
    char a[ID_MAX], k[ID_MAX];
    snprintf(a, sizeof(a), "a:%s", agent_id);
    snprintf(k, sizeof(k), "c:%s", client);
    pthread_mutex_lock(&c->lock);
    bool agent_ok = count(c, a, WARD_CLAIMS_PER_AGENT, now_ms);
    bool client_ok = count(c, k, WARD_CLAIMS_PER_CLIENT, now_ms);
    pthread_mutex_unlock(&c->lock);
    return agent_ok && client_ok;
}
