/*
 * The head of the SQLite store: samples that are acknowledged but not yet in
 * the samples table.
 *
 * The samples table is keyed (series_id, ts), so a group that adds a few
 * points to each of thousands of series changes one or two leaf pages per
 * series, and each of those pages is written twice (to the WAL, then by the
 * checkpoint): more than a kilobyte of I/O for a 24-byte sample. A group
 * therefore appends its new samples to head_log instead, a rowid table whose
 * pages fill in order, and to the head kept here in memory. When the head
 * holds more than a limit of samples, the writer moves all of it into the
 * samples table in one transaction, series by series in id order, so each
 * leaf page is written once per flush with many points instead of once per
 * group with a few, and empties head_log. A store opened after a crash (or a
 * close that did not flush) loads head_log back into the head.
 *
 * The head is an array indexed by series id (ids are small and dense). Each
 * series has its committed points, oldest first, and the points of the group
 * being written, kept apart until the group commits: a rollback then only
 * forgets them, and readers never see a sample that was not committed.
 * Before COMMIT the writer makes room for the group's points (it may move
 * the arrays), after COMMIT it merges them in; both take the write side of
 * the rwlock, which is held for a memcpy per series, never across I/O.
 * Readers take the read side only to copy the points they need, and open
 * their SQLite snapshot afterwards. A flush that commits in between makes a
 * sample visible both in the copy and in the snapshot, never in neither,
 * so the readers' merges drop a point whose timestamp they have already
 * seen from the other side: (series, ts) is unique across head and samples.
 *
 * A sample whose (series, ts) is stored already is a no-op. Against the
 * head that is a binary search (usually skipped: a new point is newer than
 * the last). Against the samples table the head remembers, per series, the
 * newest ts it holds (read once, on the first write to the series after
 * open) and looks the key up only for a point that is not newer.
 *
 * Retention works on the samples table; ward_sqlite_prune() flushes the
 * head first when it holds a sample older than the bound, so that nothing
 * older than the bound survives a completed sweep.
 *
 * The limit trades memory and the length of a flush against I/O: the head
 * holds at most limit samples plus one group, 16 bytes each plus the slack
 * of arrays that double, and a flush of 1,000,000 samples keeps the writer
 * (and so the acknowledgement of the groups queued behind it) for a second
 * or two; a larger head puts more points into each leaf page a flush
 * writes.
 */
#include "common/error.h"
#include "server/store/store-sqlite.h"
#include "server/store/store.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

/* Rows moved into the samples table per batch of inserts during a flush. */
#define FLUSH_CHUNK 4096

/* Smallest point array of a series. */
#define HEAD_MIN_CAP 16

int ward_sqlite_head_init(struct head *h)
{
    *h = (struct head){.limit = HEAD_LIMIT_DEFAULT, .step = HEAD_STEP_DEFAULT, .min_ts = INT64_MAX};
    /*
     * Readers hold the lock only to copy points, but many may come in a
     * row; preferring the writer keeps a group's commit from waiting on
     * a stream of them.
     */
    pthread_rwlockattr_t attr;
    int r = pthread_rwlockattr_init(&attr);
    if (r != 0)
        return -r;
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    r = pthread_rwlock_init(&h->lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    if (r != 0)
        return -r;
    h->lock_ready = true;
    return 0;
}

void ward_sqlite_head_done(struct head *h)
{
    for (size_t i = 0; i < h->nseries; i++) {
        free(h->series[i].pts);
        free(h->series[i].pend);
    }
    free(h->series);
    free(h->touched);
    if (h->lock_ready)
        pthread_rwlock_destroy(&h->lock);
    h->series = NULL;
    h->touched = NULL;
    h->nseries = h->ntouched = h->tcap = 0;
    h->lock_ready = false;
}

/* The head of series id, growing the array (under the write lock) when id is new. */
static struct head_series *series_at(struct head *h, int64_t id)
{
    if (id <= 0)
        return NULL;
    if ((uint64_t)id < h->nseries)
        return &h->series[id];
    size_t n = h->nseries ? h->nseries : 1024;
    while (n <= (uint64_t)id)
        n *= 2;
    pthread_rwlock_wrlock(&h->lock);
    struct head_series *a = reallocarray(h->series, n, sizeof(*a));
    if (a != NULL) {
        memset(a + h->nseries, 0, (n - h->nseries) * sizeof(*a));
        h->series = a;
        h->nseries = n;
    }
    pthread_rwlock_unlock(&h->lock);
    return a ? &h->series[id] : NULL;
}

/* Index of the first point of a[0, n) with a timestamp >= ts. */
static size_t lower_bound(const struct head_point *a, size_t n, int64_t ts)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a[mid].ts < ts)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static bool holds(const struct head_point *a, size_t n, int64_t ts)
{
    if (n == 0 || ts > a[n - 1].ts)
        return false;
    size_t i = lower_bound(a, n, ts);
    return i < n && a[i].ts == ts;
}

void ward_sqlite_head_series_new(struct sqlite_store *s, int64_t id)
{
    struct head_series *x = series_at(&s->head, id);
    /* Without the array entry the series is looked up on its first write instead. */
    if (x != NULL) {
        x->stored_max = INT64_MIN;
        x->stored_known = true;
    }
}

/* Reads the newest ts that the samples table holds for series id into x. */
static int load_stored_max(struct conn *c, int64_t id, struct head_series *x)
{
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r = ward_sqlite_stmt_get(c, ST_SAMPLE_MAX, &st);
    if (r < 0)
        return r;
    r = ward_sqlite_bind_rc(c, sqlite3_bind_int64(st, 1, id));
    if (r < 0)
        return r;
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW)
        return ward_sqlite_rc(c->db, rc == SQLITE_DONE ? SQLITE_ERROR : rc);
    x->stored_max =
        sqlite3_column_type(st, 0) == SQLITE_NULL ? INT64_MIN : sqlite3_column_int64(st, 0);
    x->stored_known = true;
    return 0;
}

void ward_sqlite_head_stored(struct sqlite_store *s, int64_t id, int64_t ts)
{
    /* ward_sqlite_head_filter() read stored_max of every series it let through. */
    struct head_series *x = &s->head.series[id];
    if (x->stored_known && ts > x->stored_max)
        x->stored_max = ts;
}

/* Returns 1 when the samples table holds (id, ts), 0 when not, or an error. */
static int stored(struct conn *c, int64_t id, int64_t ts)
{
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r = ward_sqlite_stmt_get(c, ST_SAMPLE_EXISTS, &st);
    if (r < 0)
        return r;
    int rc = sqlite3_bind_int64(st, 1, id);
    rc = rc ?: sqlite3_bind_int64(st, 2, ts);
    r = ward_sqlite_bind_rc(c, rc);
    if (r < 0)
        return r;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        return 1;
    return rc == SQLITE_DONE ? 0 : ward_sqlite_rc(c->db, rc);
}

/* Returns 1 when (id, ts) is stored already: in the head, in this group, or in samples. */
static int known(struct sqlite_store *s, int64_t id, struct head_series *x, int64_t ts)
{
    if (holds(x->pts, x->n, ts) || holds(x->pend, x->npend, ts))
        return 1;
    if (!x->stored_known) {
        int r = load_stored_max(&s->writer, id, x);
        if (r < 0)
            return r;
    }
    return ts > x->stored_max ? 0 : stored(&s->writer, id, ts);
}

int ward_sqlite_head_filter(struct sqlite_store *s, struct sample_row *v, size_t n, size_t *kept)
{
    size_t k = 0;
    struct head_series *x = NULL;
    for (size_t i = 0; i < n; i++) {
        /* v is sorted by (series, ts): of equal samples the first one stays. */
        if (i > 0 && v[i].id == v[i - 1].id && v[i].ts == v[i - 1].ts)
            continue;
        if (i == 0 || v[i].id != v[i - 1].id) {
            x = series_at(&s->head, v[i].id);
            if (x == NULL)
                return -ENOMEM;
        }
        int r = known(s, v[i].id, x, v[i].ts);
        if (r < 0)
            return r;
        if (r == 0)
            v[k++] = v[i];
    }
    *kept = k;
    return 0;
}

/* Inserts p into the sorted a[0, *n), which has room for it. */
static void insert_sorted(struct head_point *a, size_t *n, struct head_point p)
{
    size_t i = *n;
    if (i > 0 && p.ts < a[i - 1].ts) {
        i = lower_bound(a, *n, p.ts);
        memmove(a + i + 1, a + i, (*n - i) * sizeof(*a));
    }
    a[i] = p;
    (*n)++;
}

static int grow(struct head_point **a, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : HEAD_MIN_CAP;
    while (c < need)
        c = c > SIZE_MAX / 4 ? need : 2 * c;
    struct head_point *p = reallocarray(*a, c, sizeof(*p));
    if (p == NULL)
        return -ENOMEM;
    *a = p;
    *cap = c;
    return 0;
}

int ward_sqlite_head_stage(struct sqlite_store *s, const struct sample_row *v, size_t n)
{
    struct head *h = &s->head;
    for (size_t i = 0; i < n; i++) {
        /* ward_sqlite_head_filter() made the entry. */
        struct head_series *x = &h->series[v[i].id];
        if (x->npend == 0) {
            if (h->ntouched == h->tcap) {
                size_t c = h->tcap ? 2 * h->tcap : 1024;
                int64_t *t = reallocarray(h->touched, c, sizeof(*t));
                if (t == NULL)
                    return -ENOMEM;
                h->touched = t;
                h->tcap = c;
            }
            h->touched[h->ntouched++] = v[i].id;
        }
        int r = grow(&x->pend, &x->pcap, x->npend + 1);
        if (r < 0)
            return r;
        insert_sorted(x->pend, &x->npend, (struct head_point){.ts = v[i].ts, .value = v[i].value});
    }
    return 0;
}

int ward_sqlite_head_reserve(struct sqlite_store *s)
{
    struct head *h = &s->head;
    int r = 0;
    pthread_rwlock_wrlock(&h->lock);
    for (size_t i = 0; r == 0 && i < h->ntouched; i++) {
        struct head_series *x = &h->series[h->touched[i]];
        r = grow(&x->pts, &x->cap, x->n + x->npend);
    }
    pthread_rwlock_unlock(&h->lock);
    return r;
}

/* Merges the sorted x->pend into the sorted x->pts, which has room, from the back. */
static void merge_pending(struct head_series *x)
{
    size_t i = x->n, j = x->npend, k = x->n + x->npend;
    if (i == 0 || x->pend[0].ts > x->pts[i - 1].ts) {
        memcpy(x->pts + i, x->pend, j * sizeof(*x->pend));
    } else {
        while (j > 0) {
            if (i > 0 && x->pts[i - 1].ts > x->pend[j - 1].ts)
                x->pts[--k] = x->pts[--i];
            else
                x->pts[--k] = x->pend[--j];
        }
    }
    x->n += x->npend;
}

/*
 * A group touches a series with a few points, a catch-up batch with
 * thousands: rather than keep the largest room ever needed for every
 * series, the group's arrays go when the group ends.
 */
static void pending_free(struct head_series *x)
{
    free(x->pend);
    x->pend = NULL;
    x->npend = x->pcap = 0;
}

void ward_sqlite_head_publish(struct sqlite_store *s)
{
    struct head *h = &s->head;
    pthread_rwlock_wrlock(&h->lock);
    for (size_t i = 0; i < h->ntouched; i++) {
        struct head_series *x = &h->series[h->touched[i]];
        if (x->pend[0].ts < h->min_ts)
            h->min_ts = x->pend[0].ts;
        h->points += x->npend;
        merge_pending(x);
        pending_free(x);
    }
    pthread_rwlock_unlock(&h->lock);
    h->ntouched = 0;
}

void ward_sqlite_head_discard(struct sqlite_store *s)
{
    struct head *h = &s->head;
    for (size_t i = 0; i < h->ntouched; i++)
        pending_free(&h->series[h->touched[i]]);
    h->ntouched = 0;
}

bool ward_sqlite_head_due(const struct sqlite_store *s)
{
    return s->head.points > s->head.limit;
}

bool ward_sqlite_head_older_than(const struct sqlite_store *s, int64_t ts)
{
    return s->head.points > 0 && s->head.min_ts < ts;
}

/*
 * Inserts the points of series [from, to) into samples, FLUSH_CHUNK rows at
 * a time through buf, inside the caller's transaction. Returns 0 or an
 * error.
 */
static int move_series(struct sqlite_store *s, size_t from, size_t to, struct sample_row *buf)
{
    struct head *h = &s->head;
    size_t k = 0;
    for (size_t id = from; id < to; id++) {
        const struct head_series *x = &h->series[id];
        for (size_t i = 0; i < x->n; i++) {
            buf[k++] = (struct sample_row){
                .id = (int64_t)id, .ts = x->pts[i].ts, .value = x->pts[i].value};
            if (k == FLUSH_CHUNK) {
                int r = ward_sqlite_insert_rows(&s->writer, ST_SAMPLE_INSERT, buf, k);
                if (r < 0)
                    return r;
                k = 0;
            }
        }
    }
    return ward_sqlite_insert_rows(&s->writer, ST_SAMPLE_INSERT, buf, k);
}

/* Deletes the head_log rows up to seq (all of them for INT64_MAX), inside the transaction. */
static int clear_log(struct sqlite_store *s, int64_t seq)
{
    struct conn *c = &s->writer;
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r = ward_sqlite_stmt_get(c, seq == INT64_MAX ? ST_HEAD_CLEAR : ST_HEAD_CLEAR_TO, &st);
    if (r == 0 && seq != INT64_MAX)
        r = ward_sqlite_bind_rc(c, sqlite3_bind_int64(st, 1, seq));
    return r < 0 ? r : ward_sqlite_step_done(c, st);
}

/*
 * Forgets the points of series [from, to), which are committed to samples.
 * The arrays go too: a series that received a catch-up batch would
 * otherwise keep its room for thousands of points. Growing them again costs
 * a few reallocations per series and flush.
 */
static void forget_series(struct head *h, size_t from, size_t to)
{
    pthread_rwlock_wrlock(&h->lock);
    for (size_t id = from; id < to; id++) {
        struct head_series *x = &h->series[id];
        if (x->n > 0 && x->stored_known && x->pts[x->n - 1].ts > x->stored_max)
            x->stored_max = x->pts[x->n - 1].ts;
        h->points -= x->n;
        free(x->pts);
        x->pts = NULL;
        x->n = x->cap = 0;
    }
    pthread_rwlock_unlock(&h->lock);
}

/* The oldest point of the head, INT64_MAX when none. */
static void update_min_ts(struct head *h)
{
    h->min_ts = INT64_MAX;
    for (size_t id = 1; id < h->nseries; id++)
        if (h->series[id].n > 0 && h->series[id].pts[0].ts < h->min_ts)
            h->min_ts = h->series[id].pts[0].ts;
}

/*
 * Moves series [from, to) into samples and, when seq is not 0, clears
 * head_log up to seq (all of it for INT64_MAX), in one transaction. Returns 0, or an error with the
 * head unchanged.
 */
static int move_step(struct sqlite_store *s, size_t from, size_t to, int64_t seq)
{
    _cleanup_free_ struct sample_row *buf = calloc(FLUSH_CHUNK, sizeof(*buf));
    if (buf == NULL)
        return -ENOMEM;
    struct conn *c = &s->writer;
    int r = ward_sqlite_exec(c->db, "BEGIN IMMEDIATE");
    if (r < 0)
        return r;
    r = move_series(s, from, to, buf);
    if (r == 0 && seq != 0)
        r = clear_log(s, seq);
    if (r == 0)
        r = ward_sqlite_exec(c->db, "COMMIT");
    if (r < 0) {
        ward_sqlite_rollback(c->db);
        return r;
    }
    forget_series(&s->head, from, to);
    return 0;
}

int ward_sqlite_head_flush(struct sqlite_store *s)
{
    /* Even an empty head may leave head_log rows behind: those a sweep left (see below). */
    struct head *h = &s->head;
    int r = move_step(s, 1, h->nseries, INT64_MAX);
    if (r < 0)
        return r;
    h->sweep = 0;
    h->sweep_mark = h->cleared = 0;
    h->min_ts = INT64_MAX;
    return 0;
}

/* Deletes the head_log rows up to seq in a transaction of its own. */
static int clear_step(struct sqlite_store *s, int64_t seq)
{
    struct conn *c = &s->writer;
    int r = ward_sqlite_exec(c->db, "BEGIN IMMEDIATE");
    if (r == 0)
        r = clear_log(s, seq);
    if (r == 0)
        r = ward_sqlite_exec(c->db, "COMMIT");
    if (r < 0)
        ward_sqlite_rollback(c->db);
    return r;
}

int ward_sqlite_head_sweep(struct sqlite_store *s, size_t group_points)
{
    struct head *h = &s->head;
    size_t budget = h->step > 2 * group_points ? h->step : 2 * group_points;
    if (h->sweep == 0 && h->cleared < h->sweep_mark) {
        /* Every point is moved: the rows from before the sweep go, a slice at a time. */
        int64_t to = h->cleared + (int64_t)budget;
        if (to > h->sweep_mark)
            to = h->sweep_mark;
        int r = clear_step(s, to);
        if (r == 0)
            h->cleared = to;
        return r;
    }
    if (h->sweep == 0) {
        if (!ward_sqlite_head_due(s))
            return 0;
        int r = ward_sqlite_stmt_int(&s->writer, ST_HEAD_MARK, &h->sweep_mark);
        if (r < 0)
            return r;
        h->sweep = 1;
        h->cleared = 0;
    }
    size_t to = h->sweep, moved = 0;
    /* Series without points cost nothing: a step takes them all, so the last one ends a sweep. */
    while (to < h->nseries && (moved < budget || h->series[to].n == 0))
        moved += h->series[to++].n;
    int r = move_step(s, h->sweep, to, 0);
    if (r < 0)
        return r;
    bool last = to >= h->nseries;
    h->sweep = last ? 0 : to;
    if (last)
        update_min_ts(h);
    return 0;
}

int ward_sqlite_head_load(struct sqlite_store *s)
{
    struct head *h = &s->head;
    struct conn *c = &s->writer;
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r = ward_sqlite_stmt_get(c, ST_HEAD_LOAD, &st);
    if (r < 0)
        return r;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        struct head_point p = {.ts = sqlite3_column_int64(st, 1),
                               .value = sqlite3_column_double(st, 2)};
        struct head_series *x = series_at(h, id);
        if (x == NULL)
            return id <= 0 ? WARD_E_STORE : -ENOMEM;
        /* head_log holds each (series, ts) once; should it not, the first stays. */
        if (holds(x->pts, x->n, p.ts))
            continue;
        r = grow(&x->pts, &x->cap, x->n + 1);
        if (r < 0)
            return r;
        insert_sorted(x->pts, &x->n, p);
        h->points++;
        if (p.ts < h->min_ts)
            h->min_ts = p.ts;
    }
    return ward_sqlite_rc(c->db, rc);
}

void ward_sqlite_set_head_step(struct ward_store *base, size_t step)
{
    if (base == NULL || base->ops != &ward_store_sqlite_ops)
        return;
    struct sqlite_store *s = (struct sqlite_store *)base;
    pthread_mutex_lock(&s->writer.lock);
    s->head.step = step ? step : HEAD_STEP_DEFAULT;
    pthread_mutex_unlock(&s->writer.lock);
}

void ward_sqlite_set_head_limit(struct ward_store *base, size_t limit)
{
    if (base == NULL || base->ops != &ward_store_sqlite_ops)
        return;
    struct sqlite_store *s = (struct sqlite_store *)base;
    pthread_mutex_lock(&s->writer.lock);
    s->head.limit = limit;
    pthread_mutex_unlock(&s->writer.lock);
}

/* ---- Copies for readers ---- */

void ward_sqlite_head_copy_done(struct head_copy *c)
{
    free(c->pts);
    free(c->off);
    *c = (struct head_copy){0};
}

/* The range [*lo, *hi) of x's points in [from, to], at most max of them, the newest. */
static void range_of(const struct head_series *x, int64_t from, int64_t to, size_t max, size_t *lo,
                     size_t *hi)
{
    *lo = lower_bound(x->pts, x->n, from);
    *hi = to == INT64_MAX ? x->n : lower_bound(x->pts, x->n, to + 1);
    if (*hi < *lo)
        *hi = *lo;
    if (*hi - *lo > max)
        *lo = *hi - max;
}

int ward_sqlite_head_copy(struct head *h, const int64_t *ids, size_t n, int64_t from, int64_t to,
                          size_t max, struct head_copy *out)
{
    struct head_copy c = {.off = calloc(n + 1, sizeof(*c.off))};
    if (c.off == NULL)
        return -ENOMEM;
    pthread_rwlock_rdlock(&h->lock);
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        c.off[i] = total;
        if (ids[i] <= 0 || (uint64_t)ids[i] >= h->nseries)
            continue;
        size_t lo, hi;
        range_of(&h->series[ids[i]], from, to, max, &lo, &hi);
        total += hi - lo;
    }
    c.off[n] = total;
    if (total > 0) {
        c.pts = calloc(total, sizeof(*c.pts));
        if (c.pts == NULL) {
            pthread_rwlock_unlock(&h->lock);
            ward_sqlite_head_copy_done(&c);
            return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
            if (c.off[i + 1] == c.off[i])
                continue;
            const struct head_series *x = &h->series[ids[i]];
            size_t lo, hi;
            range_of(x, from, to, max, &lo, &hi);
            memcpy(c.pts + c.off[i], x->pts + lo, (hi - lo) * sizeof(*c.pts));
        }
    }
    pthread_rwlock_unlock(&h->lock);
    *out = c;
    return 0;
}

int ward_sqlite_head_newest(struct head *h, struct sample_row **out, size_t *n)
{
    pthread_rwlock_rdlock(&h->lock);
    size_t k = 0;
    for (size_t id = 1; id < h->nseries; id++)
        k += h->series[id].n > 0;
    struct sample_row *v = NULL;
    if (k > 0) {
        v = calloc(k, sizeof(*v));
        if (v == NULL) {
            pthread_rwlock_unlock(&h->lock);
            return -ENOMEM;
        }
    }
    size_t j = 0;
    for (size_t id = 1; id < h->nseries && j < k; id++) {
        const struct head_series *x = &h->series[id];
        if (x->n > 0)
            v[j++] = (struct sample_row){
                .id = (int64_t)id, .ts = x->pts[x->n - 1].ts, .value = x->pts[x->n - 1].value};
    }
    pthread_rwlock_unlock(&h->lock);
    *out = v;
    *n = k;
    return 0;
}
