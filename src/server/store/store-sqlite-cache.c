/*
 * Series-id cache of the SQLite store's writer.
 *
 * Every sample names its series by (host, category, name, labels), and the
 * samples table wants the series' integer id. Asking the database costs a
 * SELECT per sample, so the writer keeps the ids it has seen here. Steady
 * ingest then touches the series table only for new series.
 *
 * The table is open-addressed with linear probing and kept at most half
 * full, doubling as it fills, up to CACHE_MAX_SERIES entries; a cache that
 * reaches that bound is emptied and refills from the database, which keeps
 * memory bounded when the number of series is not. The keys live in one
 * arena (host, category, name and labels separated by NUL bytes, which none
 * of them can contain) and slots refer to them by offset, so a key costs one
 * copy of its bytes and no allocation of its own. A slot is 24 bytes: at
 * 100,000 series the table has 262,144 slots (6 MiB) and the arena holds
 * about 100 bytes per key (10 MiB).
 *
 * The hash reads eight bytes at a time and is seeded per cache, so keys
 * chosen by a client cannot be made to collide on purpose without knowing
 * the seed. Entries are never removed one by one except after a rollback,
 * which removes the series it undid (ward_sqlite_cache_forget_above()):
 * SQLite gives a new series the next id above the largest one, so the
 * series a rollback removed are exactly those above the largest id that
 * existed before it.
 *
 * Only the writer uses the cache, under its lock, so it has no lock of its own.
 */
#include "server/store/store-sqlite.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Entries the cache holds at most before it starts over. */
#define CACHE_MAX_SERIES (1u << 20)
/* Longer keys are not cached (their series are looked up each time). */
#define CACHE_MAX_KEY   1024
#define CACHE_MIN_SLOTS 4096

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v;
    h *= 0x9e3779b97f4a7c15ULL;
    return h ^ (h >> 31);
}

static uint64_t hash_bytes(uint64_t h, const char *p, size_t n)
{
    uint64_t v;
    for (; n >= 8; p += 8, n -= 8) {
        memcpy(&v, p, 8);
        h = mix(h, v);
    }
    v = 0;
    memcpy(&v, p, n);
    /* The length goes into the last word, so "ab" + "c" and "a" + "bc" differ. */
    return mix(h, v ^ ((uint64_t)n << 56));
}

void ward_sqlite_cache_init(struct series_cache *c)
{
    *c = (struct series_cache){0};
    ward_buf_init(&c->arena, 0);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    c->seed = mix((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30), (uint64_t)(uintptr_t)c);
}

void ward_sqlite_cache_done(struct series_cache *c)
{
    free(c->slots);
    c->slots = NULL;
    c->mask = 0;
    c->count = 0;
    ward_buf_done(&c->arena);
}

void ward_sqlite_cache_key_host(const struct series_cache *c, struct series_key *k,
                                const char *host)
{
    k->part[0] = host;
    k->len[0] = strlen(host);
    k->host_hash = hash_bytes(c->seed, host, k->len[0]);
}

void ward_sqlite_cache_key_series(struct series_key *k, const char *category, const char *name,
                                  const char *labels)
{
    k->part[1] = category;
    k->len[1] = strlen(category);
    k->part[2] = name;
    k->len[2] = strlen(name);
    k->part[3] = labels;
    k->len[3] = strlen(labels);
    uint64_t h = k->host_hash;
    for (size_t i = 1; i < 4; i++)
        h = hash_bytes(h, k->part[i], k->len[i]);
    /* A last round so that the low bits, which pick the slot, depend on every byte. */
    k->hash = mix(h, h >> 29);
}

static size_t key_len(const struct series_key *k)
{
    return k->len[0] + k->len[1] + k->len[2] + k->len[3] + 3;
}

static bool key_equal(const struct series_cache *c, const struct cache_slot *e,
                      const struct series_key *k)
{
    if (e->len != key_len(k))
        return false;
    const char *p = c->arena.data + e->off;
    for (size_t i = 0; i < 4; i++) {
        if (memcmp(p, k->part[i], k->len[i]) != 0)
            return false;
        /*
         * The separator is not compared. The stored key has three NUL bytes
         * and the parts of k none, so when the lengths agree and every part
         * matches, the stored NULs can only sit where k's separators go.
         */
        p += k->len[i] + 1;
    }
    return true;
}

bool ward_sqlite_cache_find(const struct series_cache *c, const struct series_key *k, int64_t *id)
{
    if (c->slots == NULL)
        return false;
    for (size_t i = k->hash & c->mask;; i = (i + 1) & c->mask) {
        const struct cache_slot *e = &c->slots[i];
        if (e->id == 0)
            return false;
        if (e->hash == k->hash && key_equal(c, e, k)) {
            *id = e->id;
            return true;
        }
    }
}

/* Places a slot that is known not to be in the table yet. */
static void slot_insert(struct cache_slot *slots, size_t mask, const struct cache_slot *e)
{
    size_t i = e->hash & mask;
    while (slots[i].id != 0)
        i = (i + 1) & mask;
    slots[i] = *e;
}

/* Moves the entries with an id up to max_id into a new table of nslots slots. */
static int rehash(struct series_cache *c, size_t nslots, int64_t max_id)
{
    struct cache_slot *slots = calloc(nslots, sizeof(*slots));
    if (slots == NULL)
        return -1;
    size_t count = 0;
    for (size_t i = 0; c->slots && i <= c->mask; i++) {
        if (c->slots[i].id != 0 && c->slots[i].id <= max_id) {
            slot_insert(slots, nslots - 1, &c->slots[i]);
            count++;
        }
    }
    free(c->slots);
    c->slots = slots;
    c->mask = nslots - 1;
    c->count = count;
    return 0;
}

static void cache_reset(struct series_cache *c)
{
    if (c->slots)
        memset(c->slots, 0, (c->mask + 1) * sizeof(*c->slots));
    c->count = 0;
    ward_buf_reset(&c->arena);
}

void ward_sqlite_cache_put(struct series_cache *c, const struct series_key *k, int64_t id)
{
    size_t len = key_len(k);
    if (id <= 0 || len > CACHE_MAX_KEY)
        return;
    if (c->count >= CACHE_MAX_SERIES)
        cache_reset(c);
    /* At most half full: probes stay short even for an unlucky hash. */
    if (c->slots == NULL || 2 * (c->count + 1) > c->mask + 1) {
        size_t nslots = c->slots ? 2 * (c->mask + 1) : CACHE_MIN_SLOTS;
        if (rehash(c, nslots, INT64_MAX) < 0)
            return;
    }
    if (c->arena.len + len > UINT32_MAX)
        cache_reset(c);
    if (ward_buf_reserve(&c->arena, len) < 0)
        return;
    size_t off = c->arena.len;
    for (size_t i = 0; i < 4; i++) {
        ward_buf_append_unchecked(&c->arena, k->part[i], k->len[i]);
        if (i < 3)
            ward_buf_append_unchecked(&c->arena, "", 1);
    }
    struct cache_slot e = {.hash = k->hash, .id = id, .off = (uint32_t)off, .len = (uint32_t)len};
    slot_insert(c->slots, c->mask, &e);
    c->count++;
}

void ward_sqlite_cache_forget_above(struct series_cache *c, int64_t max_id)
{
    if (c->slots == NULL)
        return;
    bool any = false;
    for (size_t i = 0; i <= c->mask && !any; i++)
        any = c->slots[i].id > max_id;
    if (!any)
        return;
    /*
     * Removing from a linear-probing table would have to move the entries
     * after each hole; rebuilding is simpler and this runs only after a
     * rollback. The arena keeps the bytes of the forgotten keys until the
     * cache starts over. Without memory for a new table, forget everything.
     */
    if (rehash(c, c->mask + 1, max_id) < 0)
        cache_reset(c);
}

size_t ward_sqlite_cache_bytes(const struct series_cache *c)
{
    return (c->slots ? (c->mask + 1) * sizeof(*c->slots) : 0) + c->arena.cap;
}
