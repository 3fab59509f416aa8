/*
 * The newest sample of every series, in memory (see latest.h).
 *
 * An open-addressing hash table with linear probing, keyed by the series
 * identity: host, category, name and labels, stored once per entry as four
 * NUL-terminated strings in one allocation. Series are never forgotten while
 * the server runs (the store keeps them too), so there is no deletion, and
 * the table doubles when it is 70% full. Reads are far more frequent than
 * the writer's updates, so a read-write lock guards the table: lookups and
 * walks share it, and the writer holds it exclusively for one batch at a time.
 *
 * A walk (ward_latest_each()) collects the matching entries and sorts them,
 * so callers always see series in a stable order; it costs a pass over the
 * table, which for 100,000 series is about a millisecond.
 */
#include "server/latest.h"

#include "common/cleanup.h"
#include "common/error.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define INITIAL_SLOTS 1024 /* a power of two */

struct entry {
    uint64_t hash;
    char *key; /* host\0category\0name\0labels\0; NULL for an empty slot */
    const char *category, *name, *labels; /* point into key */
    enum ward_metric_kind kind;
    int64_t ts_ms;
    double value;
};

struct ward_latest {
    pthread_rwlock_t lock;
    struct entry *slots;
    size_t n_slots; /* a power of two */
    size_t count;
};

int ward_latest_new(struct ward_latest **out)
{
    struct ward_latest *l = calloc(1, sizeof(*l));
    if (!l)
        return -ENOMEM;
    l->slots = calloc(INITIAL_SLOTS, sizeof(*l->slots));
    if (!l->slots) {
        free(l);
        return -ENOMEM;
    }
    l->n_slots = INITIAL_SLOTS;
    /*
     * Writer first: readers walking 100,000 series back to back must not
     * keep the writer thread, and with it every commit, waiting.
     */
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&l->lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    *out = l;
    return 0;
}

void ward_latest_free(struct ward_latest *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n_slots; i++)
        free(l->slots[i].key);
    free(l->slots);
    pthread_rwlock_destroy(&l->lock);
    free(l);
}

/* FNV-1a over the parts and their NUL separators. */
static uint64_t hash_parts(const char *const parts[4], size_t lens[4])
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t p = 0; p < 4; p++) {
        for (size_t i = 0; i <= lens[p]; i++) {
            h ^= (unsigned char)parts[p][i];
            h *= 0x100000001b3ULL;
        }
    }
    return h ^ (h >> 31);
}

static bool key_equals(const struct entry *e, const char *const parts[4], const size_t lens[4])
{
    const char *k = e->key;
    for (size_t p = 0; p < 4; p++) {
        if (memcmp(k, parts[p], lens[p] + 1) != 0)
            return false;
        k += lens[p] + 1;
    }
    return true;
}

/* The slot holding the key, or the empty slot where it would go. */
static struct entry *find_slot(struct entry *slots, size_t n_slots, uint64_t hash,
                               const char *const parts[4], const size_t lens[4])
{
    size_t mask = n_slots - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        struct entry *e = &slots[i];
        if (!e->key || (e->hash == hash && key_equals(e, parts, lens)))
            return e;
    }
}

/*
 * Moves every entry into a new table of n slots, leaving out (and freeing)
 * those of host drop when it is not NULL: growth, and the one way to delete
 * from a table with linear probing without leaving holes in probe chains.
 */
static int rehash(struct ward_latest *l, size_t n, const char *drop)
{
    struct entry *slots = calloc(n, sizeof(*slots));
    if (!slots)
        return -ENOMEM;
    for (size_t i = 0; i < l->n_slots; i++) {
        struct entry *e = &l->slots[i];
        if (!e->key)
            continue;
        if (drop && strcmp(e->key, drop) == 0) {
            free(e->key);
            l->count--;
            continue;
        }
        size_t j = e->hash & (n - 1);
        while (slots[j].key)
            j = (j + 1) & (n - 1);
        slots[j] = *e;
    }
    free(l->slots);
    l->slots = slots;
    l->n_slots = n;
    return 0;
}

static int grow(struct ward_latest *l)
{
    return rehash(l, l->n_slots * 2, NULL);
}

int ward_latest_forget_host(struct ward_latest *l, const char *host_id)
{
    pthread_rwlock_wrlock(&l->lock);
    int r = rehash(l, l->n_slots, host_id);
    pthread_rwlock_unlock(&l->lock);
    return r;
}

static int insert(struct ward_latest *l, const char *host, const struct ward_sample *v)
{
    const char *parts[4] = {host, v->category, v->name, v->labels};
    size_t lens[4];
    for (size_t p = 0; p < 4; p++)
        lens[p] = strlen(parts[p]);
    uint64_t hash = hash_parts(parts, lens);

    struct entry *e = find_slot(l->slots, l->n_slots, hash, parts, lens);
    if (e->key) {
        /* A sample at the time already held is a no-op, as in the store: the first one stays. */
        if (v->ts_ms > e->ts_ms) {
            e->ts_ms = v->ts_ms;
            e->value = v->value;
        }
        return 0;
    }
    if ((l->count + 1) * 10 > l->n_slots * 7) {
        int r = grow(l);
        if (r < 0)
            return r;
        e = find_slot(l->slots, l->n_slots, hash, parts, lens);
    }
    size_t len = lens[0] + lens[1] + lens[2] + lens[3] + 4;
    char *key = malloc(len);
    if (!key)
        return -ENOMEM;
    char *k = key;
    const char *at[4];
    for (size_t p = 0; p < 4; p++) {
        memcpy(k, parts[p], lens[p] + 1);
        at[p] = k;
        k += lens[p] + 1;
    }
    *e = (struct entry){
        .hash = hash,
        .key = key,
        .category = at[1],
        .name = at[2],
        .labels = at[3],
        .kind = v->kind,
        .ts_ms = v->ts_ms,
        .value = v->value,
    };
    l->count++;
    return 0;
}

int ward_latest_update(struct ward_latest *l, const char *host_id, const struct ward_sample *v,
                       size_t n)
{
    int r = 0;
    pthread_rwlock_wrlock(&l->lock);
    for (size_t i = 0; i < n && r == 0; i++)
        r = insert(l, host_id, &v[i]);
    pthread_rwlock_unlock(&l->lock);
    return r;
}

static int load_row(const struct ward_series_row *row, int64_t ts_ms, double value, void *userdata)
{
    struct ward_sample v = {
        .category = row->category,
        .name = row->name,
        .labels = row->labels,
        .kind = row->kind,
        .ts_ms = ts_ms,
        .value = value,
    };
    return insert(userdata, row->host_id, &v);
}

int ward_latest_load(struct ward_latest *l, struct ward_store *s)
{
    pthread_rwlock_wrlock(&l->lock);
    int r = ward_store_latest(s, load_row, l);
    pthread_rwlock_unlock(&l->lock);
    return r;
}

static void fill_row(const struct entry *e, struct ward_latest_row *out)
{
    *out = (struct ward_latest_row){
        .host_id = e->key,
        .category = e->category,
        .name = e->name,
        .labels = e->labels,
        .kind = e->kind,
        .ts_ms = e->ts_ms,
        .value = e->value,
    };
}

int ward_latest_get(struct ward_latest *l, const char *host_id, const char *category,
                    const char *name, const char *labels, struct ward_latest_row *out)
{
    const char *parts[4] = {host_id, category, name, labels};
    size_t lens[4];
    for (size_t p = 0; p < 4; p++)
        lens[p] = strlen(parts[p]);
    uint64_t hash = hash_parts(parts, lens);

    int r = WARD_E_NOT_FOUND;
    pthread_rwlock_rdlock(&l->lock);
    struct entry *e = find_slot(l->slots, l->n_slots, hash, parts, lens);
    if (e->key) {
        fill_row(e, out);
        /* The strings handed out are the caller's, which outlive the lock. */
        out->host_id = host_id;
        out->category = category;
        out->name = name;
        out->labels = labels;
        r = 0;
    }
    pthread_rwlock_unlock(&l->lock);
    return r;
}

/* Orders entries by host, category, name and labels: the parts of the key, in turn. */
static int compare_entries(const void *a, const void *b)
{
    const struct entry *x = *(const struct entry *const *)a;
    const struct entry *y = *(const struct entry *const *)b;
    const char *p = x->key, *q = y->key;
    for (size_t part = 0; part < 4; part++) {
        int c = strcmp(p, q);
        if (c)
            return c;
        p += strlen(p) + 1;
        q += strlen(q) + 1;
    }
    return 0;
}

int ward_latest_each(struct ward_latest *l, const char *host_id, const char *category,
                     ward_latest_fn fn, void *userdata)
{
    pthread_rwlock_rdlock(&l->lock);
    _cleanup_free_ const struct entry **hits = NULL;
    size_t n = 0;
    if (l->count) {
        hits = malloc(l->count * sizeof(*hits));
        if (!hits) {
            pthread_rwlock_unlock(&l->lock);
            return -ENOMEM;
        }
    }
    for (size_t i = 0; i < l->n_slots; i++) {
        const struct entry *e = &l->slots[i];
        if (!e->key || (host_id && strcmp(e->key, host_id) != 0) ||
            (category && strcmp(e->category, category) != 0))
            continue;
        hits[n++] = e;
    }
    if (n > 1)
        qsort(hits, n, sizeof(*hits), compare_entries);
    int r = 0;
    for (size_t i = 0; i < n && r >= 0; i++) {
        struct ward_latest_row row;
        fill_row(hits[i], &row);
        r = fn(&row, userdata);
    }
    pthread_rwlock_unlock(&l->lock);
    return r < 0 ? r : 0;
}

size_t ward_latest_count(struct ward_latest *l)
{
    pthread_rwlock_rdlock(&l->lock);
    size_t n = l->count;
    pthread_rwlock_unlock(&l->lock);
    return n;
}
