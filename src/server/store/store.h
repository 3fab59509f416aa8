/*
 * Storage interface of ward-server.
 *
 * A backend is a const struct of function pointers (struct ward_store_ops)
 * chosen by the scheme of the DSN. Its per-connection state embeds
 * struct ward_store as its first member. Methods are only ever appended to
 * ward_store_ops, and ops->size says how many a backend provides, so an old
 * backend keeps working when the interface grows.
 *
 * The store owns the data model of DESIGN.md: hosts, series keyed by
 * (host, category, name, labels), and samples keyed by (series, timestamp).
 * Writing a sample whose series and timestamp are already stored is a no-op,
 * and a batch whose (host, boot, seq) was stored before is acknowledged
 * without writing, so delivery retries are always safe.
 *
 * All functions are safe to call from several threads at once.
 */
#ifndef WARD_STORE_H
#define WARD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ward_metric_kind {
    WARD_KIND_GAUGE = 0,
    WARD_KIND_COUNTER = 1,
};

/* One sample to store. All strings are NUL-terminated and borrowed for the call. */
struct ward_sample {
    const char *category; /* the seeds' metric_type: "cpu", "ram", ... */
    const char *name;     /* the seeds' metric_name: "usage_percent", ... */
    const char *labels;   /* canonical JSON object with sorted keys, "{}" when none */
    enum ward_metric_kind kind;
    int64_t ts_ms; /* Unix time in milliseconds */
    double value;
};

/* Identifies a delivery batch of one host: (boot, seq) as in the wire protocol. */
struct ward_batch_key {
    int64_t boot;
    int64_t seq;
};

/* A range query over one host's samples. */
struct ward_query {
    const char *host_id;  /* required */
    const char *category; /* NULL matches every category */
    const char *name;     /* NULL matches every name */
    int64_t from_ms;      /* inclusive */
    int64_t to_ms;        /* inclusive */
    size_t limit;         /* maximum rows; newest rows are returned first */
};

/* One row of a query result. Strings are valid only during the callback. */
struct ward_sample_row {
    const char *host_id;
    const char *category;
    const char *name;
    const char *labels;
    enum ward_metric_kind kind;
    int64_t ts_ms;
    double value;
};

/* Receives query rows. Returning a negative value stops the query with that value. */
typedef int (*ward_store_row_fn)(const struct ward_sample_row *row, void *userdata);

struct ward_store_options {
    bool synchronous_full; /* fsync on every commit instead of at checkpoints */
};

struct ward_store_ops;

/* Base of every backend's state; backends put it first. */
struct ward_store {
    const struct ward_store_ops *ops;
};

struct ward_store_ops {
    size_t size;      /* sizeof(struct ward_store_ops) the backend was built against */
    const char *name; /* "sqlite", "postgres" */

    /* Returns true when this backend handles dsn. */
    bool (*accepts)(const char *dsn);

    /*
     * Opens (and creates or migrates) the database named by dsn.
     * On success stores a new handle in *out and returns 0.
     */
    int (*open)(const char *dsn, const struct ward_store_options *opt, struct ward_store **out);

    /* Closes the handle. Accepts NULL. */
    void (*close)(struct ward_store *s);

    /*
     * Stores n samples of host_id in one transaction, creating the host and
     * series as needed. When batch is not NULL and (host_id, batch) was
     * stored before, nothing is written. Returns 0 when stored, 1 when the
     * batch was a duplicate, or a negative error. Returns only after commit.
     * A missing string, a non-finite value or an unknown kind in any sample
     * fails the whole call with -EINVAL, and nothing is written.
     */
    int (*ingest)(struct ward_store *s, const char *host_id, const struct ward_batch_key *batch,
                  const struct ward_sample *samples, size_t n);

    /*
     * Calls fn for every matching sample, newest first, at most q->limit
     * times. fn must not call back into the same store. Returns 0, or the
     * negative value fn returned, or a negative error.
     */
    int (*query)(struct ward_store *s, const struct ward_query *q, ward_store_row_fn fn,
                 void *userdata);
};

/*
 * Opens the backend that accepts dsn: "sqlite:PATH", a plain file path, or
 * "postgres://..." once that backend exists. Returns 0, -EINVAL for an
 * empty DSN, WARD_E_NOT_FOUND when no backend accepts it, or the backend's
 * error.
 */
int ward_store_open(const char *dsn, const struct ward_store_options *opt, struct ward_store **out);

/* Closes a store opened by ward_store_open(). Accepts NULL. */
void ward_store_close(struct ward_store *s);

/* See ward_store_ops.ingest. */
int ward_store_ingest(struct ward_store *s, const char *host_id, const struct ward_batch_key *batch,
                      const struct ward_sample *samples, size_t n);

/* See ward_store_ops.query. */
int ward_store_query(struct ward_store *s, const struct ward_query *q, ward_store_row_fn fn,
                     void *userdata);

/* Backends, in the order ward_store_open() asks them; the table is in store.c. */
extern const struct ward_store_ops ward_store_sqlite_ops;

#endif
