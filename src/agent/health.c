/*
 * The agent's health.
 *
 * A fixed array of conditions under a mutex: the set is tiny (a few
 * collectors and outputs), it is written from the agent's main thread and
 * read by the HTTP listener, and a fixed array means raising a condition
 * never allocates. The status is derived from the conditions each time it is
 * read, so there is no second copy to keep in step; only the time of the
 * last status change is remembered.
 */
#include "agent/health.h"

#include "common/json.h"
#include "common/time-util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CONDITIONS 32
#define KEY_MAX        48
#define REASON_MAX     160

struct condition {
    char key[KEY_MAX];
    char reason[REASON_MAX];
    enum ward_health_level level;
    int64_t since_ms;
};

struct ward_health {
    pthread_mutex_t lock;
    struct condition conds[MAX_CONDITIONS];
    size_t n;
    bool overflow; /* a condition did not fit; counts as degraded */
    enum ward_health_level last;
    int64_t since_ms;
};

static const char *const level_names[] = {"ok", "degraded", "error"};

struct ward_health *ward_health_new(void)
{
    struct ward_health *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    pthread_mutex_init(&h->lock, NULL);
    h->since_ms = ward_now_ms();
    return h;
}

void ward_health_free(struct ward_health *h)
{
    if (!h)
        return;
    pthread_mutex_destroy(&h->lock);
    free(h);
}

static enum ward_health_level worst(const struct ward_health *h)
{
    enum ward_health_level l = h->overflow ? WARD_HEALTH_DEGRADED : WARD_HEALTH_OK;
    for (size_t i = 0; i < h->n; i++)
        if (h->conds[i].level > l)
            l = h->conds[i].level;
    return l;
}

void ward_health_set(struct ward_health *h, const char *key, enum ward_health_level level,
                     const char *reason, int64_t now_ms)
{
    pthread_mutex_lock(&h->lock);
    size_t i = 0;
    while (i < h->n && strncmp(h->conds[i].key, key, KEY_MAX - 1) != 0)
        i++;
    if (level == WARD_HEALTH_OK) {
        if (i < h->n) {
            h->conds[i] = h->conds[--h->n];
            h->overflow = false; /* room again; an overflowed check raises itself anew */
        }
    } else if (i < h->n || h->n < MAX_CONDITIONS) {
        if (i == h->n && h->n + 1 < MAX_CONDITIONS)
            h->overflow = false; /* there is room again */
        struct condition *c = &h->conds[i];
        if (i == h->n) {
            h->n++;
            snprintf(c->key, sizeof(c->key), "%s", key);
            c->since_ms = now_ms;
        } else if (c->level != level) {
            c->since_ms = now_ms;
        }
        c->level = level;
        snprintf(c->reason, sizeof(c->reason), "%s", reason ? reason : "");
    } else {
        h->overflow = true;
    }
    enum ward_health_level now = worst(h);
    if (now != h->last) {
        h->last = now;
        h->since_ms = now_ms;
    }
    pthread_mutex_unlock(&h->lock);
}

enum ward_health_level ward_health_level(struct ward_health *h)
{
    pthread_mutex_lock(&h->lock);
    enum ward_health_level l = worst(h);
    pthread_mutex_unlock(&h->lock);
    return l;
}

int ward_health_json(struct ward_health *h, struct ward_buf *out, enum ward_health_level *level)
{
    char ts[WARD_RFC3339_LEN];
    struct ward_json_writer w;
    ward_json_writer_init(&w, out);
    pthread_mutex_lock(&h->lock);
    ward_json_write_object_begin(&w);
    enum ward_health_level now = worst(h);
    if (level)
        *level = now;
    ward_json_write_keyz(&w, "status");
    ward_json_write_stringz(&w, level_names[now]);
    ward_json_write_keyz(&w, "since");
    ward_time_format_rfc3339(h->since_ms, ts);
    ward_json_write_stringz(&w, ts);
    ward_json_write_keyz(&w, "reasons");
    ward_json_write_array_begin(&w);
    for (size_t i = 0; i < h->n; i++) {
        const struct condition *c = &h->conds[i];
        ward_json_write_object_begin(&w);
        ward_json_write_keyz(&w, "check");
        ward_json_write_stringz(&w, c->key);
        ward_json_write_keyz(&w, "level");
        ward_json_write_stringz(&w, level_names[c->level]);
        ward_json_write_keyz(&w, "reason");
        ward_json_write_stringz(&w, c->reason);
        ward_json_write_keyz(&w, "since");
        ward_time_format_rfc3339(c->since_ms, ts);
        ward_json_write_stringz(&w, ts);
        ward_json_write_object_end(&w);
    }
    if (h->overflow) {
        ward_json_write_object_begin(&w);
        ward_json_write_keyz(&w, "check");
        ward_json_write_stringz(&w, "health");
        ward_json_write_keyz(&w, "level");
        ward_json_write_stringz(&w, "degraded");
        ward_json_write_keyz(&w, "reason");
        ward_json_write_stringz(&w, "more conditions than can be listed");
        ward_json_write_object_end(&w);
    }
    ward_json_write_array_end(&w);
    ward_json_write_object_end(&w);
    pthread_mutex_unlock(&h->lock);
    return ward_json_writer_finish(&w);
}
