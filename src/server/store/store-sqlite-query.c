/*
 * Range query of the SQLite store: the newest samples of one host across all
 * its matching series, newest first, at most limit of them.
 *
 * A single ORDER BY ts DESC over the join of series and samples would read
 * and sort every sample in the range before returning the first row. Instead
 * we list the host's matching series from the series index, read each series
 * newest first along the samples primary key (series_id, ts) in small
 * chunks, and merge the chunks with a heap. The work is about limit rows
 * plus one index seek per series and chunk, whatever the size of the table.
 *
 * The heap orders series by the timestamp of their next row, newest first,
 * and breaks ties by series order (category, name, labels), so equal
 * timestamps always come out in the same order. When the merge uses up a
 * series' chunk, the next chunk is read below the last timestamp taken from
 * it: (series, ts) is unique, so nothing is skipped or repeated. Reading in
 * chunks lets one prepared statement serve every series (bound, stepped and
 * reset per chunk), where an open cursor per series would need a statement
 * per series.
 *
 * Memory is bounded: the first chunk of each series is sized for an even
 * share of limit, later chunks double, and no chunk exceeds an even share of
 * QUERY_ROW_BUDGET (but is at least QUERY_MIN_CHUNK rows). A host with more
 * than QUERY_MAX_SERIES matching series is refused.
 *
 * The whole query runs in one read transaction, so every chunk comes from the
 * same snapshot even while the writer commits. The connection, its lock and
 * the SQL of the statements belong to store-sqlite.c.
 *
 * Samples not yet flushed are in the head (store-sqlite-head.c). Once the
 * series are listed, the newest limit points in range of each are copied
 * from the head, and only then does the read transaction of the chunks
 * start, so that a flush committing meanwhile shows a point twice (in the
 * copy and in the snapshot) rather than not at all. A series then has two
 * streams, newest first: its chunks and its head points. Its next row is
 * the newer of the two; a timestamp on both is one sample, taken once.
 */
#include "common/error.h"
#include "server/store/store-sqlite.h"
#include "server/store/store.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Query merge: rows buffered per query across all series, and per series at least. */
#define QUERY_ROW_BUDGET 65536
#define QUERY_MIN_CHUNK  16
/* Series one query may merge; a host with more is refused with WARD_E_LIMIT. */
#define QUERY_MAX_SERIES 100000

struct qrow {
    int64_t ts;
    double value;
};

/* One series of a query with the chunk of its rows not yet merged. */
struct qseries {
    int64_t id;
    char *category;
    char *name;
    char *labels;
    enum ward_metric_kind kind;
    struct qrow *rows;
    size_t nrows, pos, cap;
    const struct head_point *head; /* head points in range, oldest first; taken from the end */
    size_t nhead;
    size_t chunk;   /* rows to ask for on the next fetch */
    bool exhausted; /* the last fetch returned everything left in range */
};

struct merge {
    struct conn *c;
    const struct ward_query *q;
    struct qseries *series;
    size_t nseries, cap;
    size_t *heap; /* indices into series, newest next row first */
    size_t nheap;
    size_t chunk_max;
    struct head *head_of;
    struct head_copy head;
};

static void merge_done(struct merge *m)
{
    for (size_t i = 0; i < m->nseries; i++) {
        free(m->series[i].category);
        free(m->series[i].name);
        free(m->series[i].labels);
        free(m->series[i].rows);
    }
    free(m->series);
    free(m->heap);
    ward_sqlite_head_copy_done(&m->head);
}

static int column_dup(struct conn *c, sqlite3_stmt *st, int col, char **out)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    if (t == NULL)
        return sqlite3_errcode(c->db) == SQLITE_NOMEM ? -ENOMEM : WARD_E_STORE;
    *out = strdup((const char *)t);
    return *out ? 0 : -ENOMEM;
}

static int load_series(struct merge *m)
{
    const struct ward_query *q = m->q;
    enum stmt_id id = ST_QUERY_SERIES + (q->category ? 1 : 0) + (q->name ? 2 : 0);
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r = ward_sqlite_stmt_get(m->c, id, &st);
    if (r < 0)
        return r;
    /* Each variant has only the parameters of its filters. */
    int rc = ward_sqlite_bind_text(st, 1, q->host_id);
    if (q->category)
        rc = rc ?: ward_sqlite_bind_text(st, 2, q->category);
    if (q->name)
        rc = rc ?: ward_sqlite_bind_text(st, 3, q->name);
    r = ward_sqlite_bind_rc(m->c, rc);
    if (r < 0)
        return r;

    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (m->nseries == QUERY_MAX_SERIES)
            return WARD_E_LIMIT;
        if (m->nseries == m->cap) {
            size_t cap = m->cap ? 2 * m->cap : 16;
            struct qseries *p = reallocarray(m->series, cap, sizeof(*p));
            if (p == NULL)
                return -ENOMEM;
            m->series = p;
            m->cap = cap;
        }
        struct qseries *x = &m->series[m->nseries++];
        *x = (struct qseries){.id = sqlite3_column_int64(st, 0),
                              .kind = (enum ward_metric_kind)sqlite3_column_int(st, 4)};
        r = column_dup(m->c, st, 1, &x->category);
        if (r == 0)
            r = column_dup(m->c, st, 2, &x->name);
        if (r == 0)
            r = column_dup(m->c, st, 3, &x->labels);
        if (r < 0)
            return r;
    }
    return rc == SQLITE_DONE ? 0 : ward_sqlite_rc(m->c->db, rc);
}

/* Reads the next chunk of x: its newest rows in [from, upper]. */
static int fetch(struct merge *m, struct qseries *x, int64_t upper)
{
    size_t want = x->chunk;
    if (x->cap < want) {
        struct qrow *p = reallocarray(x->rows, want, sizeof(*p));
        if (p == NULL)
            return -ENOMEM;
        x->rows = p;
        x->cap = want;
    }
    x->nrows = 0;
    x->pos = 0;

    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r = ward_sqlite_stmt_get(m->c, ST_QUERY_SAMPLES, &st);
    if (r < 0)
        return r;
    int rc = sqlite3_bind_int64(st, 1, x->id);
    rc = rc ?: sqlite3_bind_int64(st, 2, m->q->from_ms);
    rc = rc ?: sqlite3_bind_int64(st, 3, upper);
    rc = rc ?: sqlite3_bind_int64(st, 4, (sqlite3_int64)want);
    r = ward_sqlite_bind_rc(m->c, rc);
    if (r < 0)
        return r;
    /* LIMIT keeps the rows within want; the bound on the loop makes that local. */
    rc = SQLITE_DONE;
    while (x->nrows < want && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        x->rows[x->nrows++] =
            (struct qrow){.ts = sqlite3_column_int64(st, 0), .value = sqlite3_column_double(st, 1)};
    }
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return ward_sqlite_rc(m->c->db, rc);

    x->exhausted = x->nrows < want;
    /* A series that is read again is likely to be read further: grow its chunk. */
    x->chunk = want > m->chunk_max / 2 ? m->chunk_max : 2 * want;
    return 0;
}

static bool has_next(const struct qseries *x)
{
    return x->pos < x->nrows || x->nhead > 0;
}

/* The timestamp of x's next row; x has one. */
static int64_t next_ts(const struct qseries *x)
{
    int64_t t = x->pos < x->nrows ? x->rows[x->pos].ts : INT64_MIN;
    if (x->nhead > 0 && x->head[x->nhead - 1].ts > t)
        t = x->head[x->nhead - 1].ts;
    return t;
}

/* True when series a should come out before series b: newer next row, then series order. */
static bool heap_before(const struct merge *m, size_t a, size_t b)
{
    int64_t tx = next_ts(&m->series[a]), ty = next_ts(&m->series[b]);
    return tx > ty || (tx == ty && a < b);
}

static void heap_down(struct merge *m, size_t i)
{
    for (;;) {
        size_t best = i, l = 2 * i + 1, r = l + 1;
        if (l < m->nheap && heap_before(m, m->heap[l], m->heap[best]))
            best = l;
        if (r < m->nheap && heap_before(m, m->heap[r], m->heap[best]))
            best = r;
        if (best == i)
            return;
        size_t t = m->heap[i];
        m->heap[i] = m->heap[best];
        m->heap[best] = t;
        i = best;
    }
}

/* Copies the head points of the listed series, then starts the read transaction. */
static int copy_head(struct merge *m)
{
    _cleanup_free_ int64_t *ids = calloc(m->nseries, sizeof(*ids));
    if (ids == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < m->nseries; i++)
        ids[i] = m->series[i].id;
    int r = ward_sqlite_head_copy(m->head_of, ids, m->nseries, m->q->from_ms, m->q->to_ms,
                                  m->q->limit, &m->head);
    if (r < 0)
        return r;
    for (size_t i = 0; i < m->nseries; i++) {
        m->series[i].head = m->head.pts + m->head.off[i];
        m->series[i].nhead = m->head.off[i + 1] - m->head.off[i];
    }
    return ward_sqlite_exec(m->c->db, "BEGIN");
}

static int merge_start(struct merge *m)
{
    int r = load_series(m);
    if (r < 0 || m->nseries == 0)
        return r;
    r = copy_head(m);
    if (r < 0)
        return r;

    m->heap = calloc(m->nseries, sizeof(*m->heap));
    if (m->heap == NULL)
        return -ENOMEM;

    /*
     * Bound the rows held at once. When series advance at the same rate, the
     * newest limit rows take about limit / nseries from each, so that is the
     * first chunk; a series that runs dry early is read again in larger ones.
     */
    m->chunk_max = QUERY_ROW_BUDGET / m->nseries;
    if (m->chunk_max < QUERY_MIN_CHUNK)
        m->chunk_max = QUERY_MIN_CHUNK;
    size_t first = m->q->limit / m->nseries;
    first = first >= m->chunk_max ? m->chunk_max : first + 1;

    for (size_t i = 0; i < m->nseries; i++) {
        struct qseries *x = &m->series[i];
        x->chunk = first;
        r = fetch(m, x, m->q->to_ms);
        if (r < 0)
            return r;
        if (has_next(x))
            m->heap[m->nheap++] = i;
    }
    for (size_t i = m->nheap / 2; i-- > 0;)
        heap_down(m, i);
    return 0;
}

static int merge_run(struct merge *m, ward_store_row_fn fn, void *userdata)
{
    const struct ward_query *q = m->q;
    size_t emitted = 0;

    while (m->nheap > 0 && emitted < q->limit) {
        struct qseries *x = &m->series[m->heap[0]];
        int64_t ts = next_ts(x);
        bool from_chunk = x->pos < x->nrows && x->rows[x->pos].ts == ts;
        struct qrow row;
        if (from_chunk)
            row = x->rows[x->pos++];
        else
            row = (struct qrow){.ts = ts, .value = x->head[x->nhead - 1].value};
        /* A point on both sides is one sample (see the top of this file). */
        if (x->nhead > 0 && x->head[x->nhead - 1].ts == ts)
            x->nhead--;
        struct ward_sample_row out = {
            .host_id = q->host_id,
            .category = x->category,
            .name = x->name,
            .labels = x->labels,
            .kind = x->kind,
            .ts_ms = row.ts,
            .value = row.value,
        };
        int r = fn(&out, userdata);
        if (r < 0)
            return r;
        emitted++;

        if (from_chunk && x->pos == x->nrows) {
            if (!x->exhausted && row.ts > q->from_ms) {
                r = fetch(m, x, row.ts - 1);
                if (r < 0)
                    return r;
            } else {
                x->exhausted = true;
            }
        }
        if (!has_next(x)) {
            m->heap[0] = m->heap[--m->nheap];
            if (m->nheap == 0)
                break;
        }
        heap_down(m, 0);
    }
    return 0;
}

int ward_sqlite_query(struct sqlite_store *s, struct conn *c, const struct ward_query *q,
                      ward_store_row_fn fn, void *userdata)
{
    /*
     * One read transaction, begun by merge_start() once the series are
     * listed and the head copied: every chunk of every series comes from
     * the same snapshot.
     */
    struct merge m = {.c = c, .q = q, .head_of = &s->head};
    int r = merge_start(&m);
    if (r == 0)
        r = merge_run(&m, fn, userdata);
    merge_done(&m);
    /* A host without matching series never began the transaction. */
    if (r == 0 && !sqlite3_get_autocommit(c->db))
        r = ward_sqlite_exec(c->db, "COMMIT");
    if (r < 0)
        ward_sqlite_rollback(c->db);
    return r;
}
