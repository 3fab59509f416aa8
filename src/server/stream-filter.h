/*
 * What a stream subscriber selects: lists of server ids, categories
 * (metric_type) and metric names. A sample passes when each list that is
 * not empty holds its value. Internal to stream.c and its tests.
 */
#ifndef WARD_STREAM_FILTER_H
#define WARD_STREAM_FILTER_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"

enum ward_stream_field {
    WARD_STREAM_SERVER_ID,
    WARD_STREAM_METRIC_TYPE,
    WARD_STREAM_NAME,
    WARD_STREAM_N_FIELDS,
};

struct ward_stream_filter {
    char **values[WARD_STREAM_N_FIELDS];
    size_t n[WARD_STREAM_N_FIELDS];
};

/* The field a query parameter or JSON key names ("name" and "metric_name" alike), or -1. */
int ward_stream_field_of(const char *key, size_t len);

/*
 * Adds value (len bytes) to field. A value holds 1 to WARD_STREAM_MAX_VALUE
 * printable ASCII characters, without spaces or commas; a server id must
 * be a UUID and is kept in lower case. Returns 0, or -EINVAL or
 * WARD_E_LIMIT (more than WARD_STREAM_MAX_VALUES) with a message in err,
 * or -ENOMEM.
 */
int ward_stream_filter_add(struct ward_stream_filter *f, enum ward_stream_field field,
                           const char *value, size_t len, struct ward_buf *err);

/* Adds each comma-separated value of list. Returns as ward_stream_filter_add(). */
int ward_stream_filter_add_list(struct ward_stream_filter *f, enum ward_stream_field field,
                                const char *list, struct ward_buf *err);

/* True when no server id, or host_id's, is listed. */
bool ward_stream_filter_host(const struct ward_stream_filter *f, const char *host_id);

/* True when category and name pass. */
bool ward_stream_filter_sample(const struct ward_stream_filter *f, const char *category,
                               const char *name);

/* True when every sample of a host that passes also passes on category and name. */
bool ward_stream_filter_takes_all(const struct ward_stream_filter *f);

/* Writes f as a JSON object's fields (arrays) into the open object of w. */
struct ward_json_writer;
void ward_stream_filter_write(const struct ward_stream_filter *f, struct ward_json_writer *w);

void ward_stream_filter_done(struct ward_stream_filter *f);

#endif
