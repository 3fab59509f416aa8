/*
 * The newest sample of every series, held in memory.
 *
 * Dashboards, GET /api/v1/metrics without a time range and the golectra
 * /value routes ask for "the current value" far more often than for history,
 * so the server keeps it here instead of asking the store. The table is
 * filled from the store at start (ward_store_latest()) and then updated by
 * the writer thread after each commit, so it only ever shows committed
 * samples. An update older than the value held is ignored.
 *
 * All functions are safe to call from several threads at once: readers share
 * a read lock, the writer takes the write lock briefly per batch.
 */
#ifndef WARD_LATEST_H
#define WARD_LATEST_H

#include <stddef.h>
#include <stdint.h>

#include "server/store/store.h"

struct ward_latest;

/* One entry; strings are valid only during the callback. */
struct ward_latest_row {
    const char *host_id;
    const char *category;
    const char *name;
    const char *labels;
    enum ward_metric_kind kind;
    int64_t ts_ms;
    double value;
};

typedef int (*ward_latest_fn)(const struct ward_latest_row *row, void *userdata);

int ward_latest_new(struct ward_latest **out);
void ward_latest_free(struct ward_latest *l);

/* Fills l from the store's newest samples. Returns 0 or the store's error. */
int ward_latest_load(struct ward_latest *l, struct ward_store *s);

/* Records the n samples of host_id where they are newer than what is held. Returns 0 or -ENOMEM. */
int ward_latest_update(struct ward_latest *l, const char *host_id, const struct ward_sample *v,
                       size_t n);

/*
 * Looks up one series. Returns 0 and fills *out (its strings point to the
 * arguments), or WARD_E_NOT_FOUND.
 */
int ward_latest_get(struct ward_latest *l, const char *host_id, const char *category,
                    const char *name, const char *labels, struct ward_latest_row *out);

/*
 * Calls fn for each series of host_id (NULL: every host) and category (NULL:
 * every category), ordered by host, category, name and labels. fn must not
 * call into l. Returns 0, or the negative value fn returned.
 */
int ward_latest_each(struct ward_latest *l, const char *host_id, const char *category,
                     ward_latest_fn fn, void *userdata);

/* Number of series held. */
size_t ward_latest_count(struct ward_latest *l);

/* Forgets every series of host_id (a purged host). Returns 0 or -ENOMEM (nothing forgotten). */
int ward_latest_forget_host(struct ward_latest *l, const char *host_id);

#endif
