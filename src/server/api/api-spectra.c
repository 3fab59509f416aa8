/*
 * POST /api/v1/metrics: metric envelopes from spectra agents (seed 002).
 *
 * The body (gzip already undone by the HTTP layer) is decoded in full by
 * envelope.c before anything is stored, so a bad body is refused as a
 * whole: 400 with the position of the problem, 413 when a bound is passed.
 * Spectra names hosts by hostname, so each hostname is resolved to a host
 * id with ward_store_host_register(): a spectra agent and a ward agent on
 * the same machine share one host. The samples of each host are then
 * written as one batch, and the answer comes after the commit:
 * {"status":"ok","accepted":N}. When the writer refuses (its queue is full)
 * or the store fails, the answer is 503 with Retry-After; the agent sends
 * the batch again, and samples stored by the first attempt are no-ops then.
 *
 * Registering costs a store transaction, and an agent sends the same
 * hostname every few seconds, so ids are kept in a small cache: bounded,
 * and with entries that expire, so a host removed from the store is looked
 * up again soon.
 */
#include "server/api/api.h"

#include "common/error.h"
#include "common/log.h"
#include "common/time-util.h"
#include "server/envelope.h"
#include "server/writer.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define CACHE_SIZE   256
#define CACHE_TTL_MS (5 * 60 * 1000)

struct cached_host {
    const struct ward_store *store; /* the store the id belongs to; NULL = empty slot */
    char hostname[WARD_ENVELOPE_MAX_HOSTNAME + 1];
    char id[WARD_STORE_ID_LEN];
    int64_t expires_ms; /* monotonic */
};

static struct {
    pthread_mutex_t lock;
    struct cached_host slots[CACHE_SIZE];
    size_t next; /* the slot replaced when no slot is free or expired */
} cache = {.lock = PTHREAD_MUTEX_INITIALIZER};

static bool cache_get(const struct ward_store *store, const char *hostname, int64_t now,
                      char id[WARD_STORE_ID_LEN])
{
    bool found = false;
    pthread_mutex_lock(&cache.lock);
    for (size_t i = 0; i < CACHE_SIZE && !found; i++) {
        const struct cached_host *c = &cache.slots[i];
        if (c->store == store && c->expires_ms > now && strcmp(c->hostname, hostname) == 0) {
            memcpy(id, c->id, WARD_STORE_ID_LEN);
            found = true;
        }
    }
    pthread_mutex_unlock(&cache.lock);
    return found;
}

static void cache_put(const struct ward_store *store, const char *hostname, int64_t now,
                      const char id[WARD_STORE_ID_LEN])
{
    pthread_mutex_lock(&cache.lock);
    struct cached_host *slot = NULL;
    for (size_t i = 0; i < CACHE_SIZE && !slot; i++)
        if (!cache.slots[i].store || cache.slots[i].expires_ms <= now ||
            (cache.slots[i].store == store && strcmp(cache.slots[i].hostname, hostname) == 0))
            slot = &cache.slots[i];
    if (!slot) {
        slot = &cache.slots[cache.next];
        cache.next = (cache.next + 1) % CACHE_SIZE;
    }
    slot->store = store;
    snprintf(slot->hostname, sizeof(slot->hostname), "%s", hostname);
    memcpy(slot->id, id, WARD_STORE_ID_LEN);
    slot->expires_ms = now + CACHE_TTL_MS;
    pthread_mutex_unlock(&cache.lock);
}

/* Finds or registers the host named hostname. Returns 0 or the store's error. */
static int host_id(struct ward_store *store, const char *hostname, char id[WARD_STORE_ID_LEN])
{
    int64_t now = ward_mono_ms();
    if (cache_get(store, hostname, now, id))
        return 0;
    struct ward_host_info info = {.hostname = hostname};
    bool created;
    int r = ward_store_host_register(store, &info, id, &created);
    if (r < 0)
        return r;
    if (created)
        ward_log_info(NULL, "host registered", "hostname", hostname, "id", id, "via", "spectra");
    cache_put(store, hostname, now, id);
    return 0;
}

static unsigned decode_status(int r)
{
    return r == WARD_E_LIMIT ? 413 : r == -ENOMEM ? 503 : 400;
}

void ward_api_spectra_metrics(struct ward_http_request *req, void *app)
{
    struct ward_api *api = app;
    size_t len;
    const char *body = ward_http_body(req, &len);
    if (len == 0) {
        ward_http_error(req, 400, "empty body; expected a JSON array of metric envelopes");
        return;
    }
    struct ward_envelope_batch b;
    struct ward_buf err = WARD_BUF_INIT;
    ward_envelope_init(&b);
    int r = ward_envelope_decode(&b, body, len, ward_now_ms(), &err);
    if (r < 0) {
        ward_http_error(req, decode_status(r), "%s", err.data ? err.data : ward_strerror(r));
        goto out;
    }

    size_t accepted = 0;
    for (size_t i = 0; i < b.n_hosts; i++) {
        const struct ward_envelope_host *h = &b.hosts[i];
        if (h->n == 0)
            continue;
        /* An agent's key names its host; a keyless sender is known by hostname. */
        char id[WARD_STORE_ID_LEN];
        const struct ward_principal *who = ward_auth_principal(req);
        r = 0;
        if (who->caller == WARD_CALLER_AGENT)
            memcpy(id, who->host_id, sizeof(id));
        else
            r = host_id(api->store, h->hostname, id);
        if (r == 0)
            r = ward_writer_write(api->writer, id, NULL, h->samples, h->n);
        if (r == WARD_E_LIMIT) {
            ward_http_error(req, 413, "%s: %zu samples are more than the write queue holds",
                            h->hostname, h->n);
            goto out;
        }
        if (r < 0) {
            ward_log_error(ward_http_request_id(req), "spectra metrics not stored", "hostname",
                           h->hostname, "error", ward_strerror(r));
            ward_http_add_header(req, "Retry-After", "1");
            ward_http_error(req, 503, "%s, retry later",
                            r == -EAGAIN ? "write queue full" : "storage unavailable");
            goto out;
        }
        accepted += h->n;
    }
    char resp[64];
    int n = snprintf(resp, sizeof(resp), "{\"status\":\"ok\",\"accepted\":%zu}", accepted);
    ward_http_respond(req, 200, "application/json", resp, (size_t)n);
out:
    ward_envelope_done(&b);
    ward_buf_done(&err);
}
