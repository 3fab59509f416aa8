/*
 * Stream filters; see stream-filter.h.
 */
#include "server/stream-filter.h"

#include "common/error.h"
#include "common/json.h"
#include "common/uuid.h"
#include "server/stream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const field_names[WARD_STREAM_N_FIELDS] = {"server_id", "metric_type", "name"};

int ward_stream_field_of(const char *key, size_t len)
{
    for (int i = 0; i < WARD_STREAM_N_FIELDS; i++)
        if (strlen(field_names[i]) == len && memcmp(key, field_names[i], len) == 0)
            return i;
    if (len == 11 && memcmp(key, "metric_name", 11) == 0)
        return WARD_STREAM_NAME;
    return -1;
}

int ward_stream_filter_add(struct ward_stream_filter *f, enum ward_stream_field field,
                           const char *value, size_t len, struct ward_buf *err)
{
    const char *name = field_names[field];
    if (len == 0 || len > WARD_STREAM_MAX_VALUE) {
        ward_buf_printf(err, "%s: a value must have 1 to %d characters", name,
                        WARD_STREAM_MAX_VALUE);
        return -EINVAL;
    }
    for (size_t i = 0; i < len; i++)
        if (value[i] <= ' ' || value[i] > '~' || value[i] == ',') {
            ward_buf_printf(err, "%s: a value must be printable, without spaces or commas", name);
            return -EINVAL;
        }
    if (f->n[field] == WARD_STREAM_MAX_VALUES) {
        ward_buf_printf(err, "%s: at most %d values", name, WARD_STREAM_MAX_VALUES);
        return WARD_E_LIMIT;
    }
    char *copy = malloc(len + 1); /* value need not be NUL-terminated: no strndup() */
    if (!copy)
        return -ENOMEM;
    memcpy(copy, value, len);
    copy[len] = '\0';
    if (field == WARD_STREAM_SERVER_ID) {
        char id[WARD_UUID_STR_LEN];
        if (ward_uuid_normalize(copy, id) < 0) {
            free(copy);
            ward_buf_printf(err, "server_id: not a UUID");
            return -EINVAL;
        }
        memcpy(copy, id, WARD_UUID_STR_LEN); /* the same length: 36 characters */
    }
    char **grown = realloc(f->values[field], (f->n[field] + 1) * sizeof(*grown));
    if (!grown) {
        free(copy);
        return -ENOMEM;
    }
    grown[f->n[field]++] = copy;
    f->values[field] = grown;
    return 0;
}

int ward_stream_filter_add_list(struct ward_stream_filter *f, enum ward_stream_field field,
                                const char *list, struct ward_buf *err)
{
    for (const char *p = list;;) {
        size_t n = strcspn(p, ",");
        int r = ward_stream_filter_add(f, field, p, n, err);
        if (r < 0)
            return r;
        if (!p[n])
            return 0;
        p += n + 1;
    }
}

static bool listed(const struct ward_stream_filter *f, enum ward_stream_field field,
                   const char *value)
{
    if (f->n[field] == 0)
        return true;
    for (size_t i = 0; i < f->n[field]; i++)
        if (strcmp(f->values[field][i], value) == 0)
            return true;
    return false;
}

bool ward_stream_filter_host(const struct ward_stream_filter *f, const char *host_id)
{
    return listed(f, WARD_STREAM_SERVER_ID, host_id);
}

bool ward_stream_filter_sample(const struct ward_stream_filter *f, const char *category,
                               const char *name)
{
    return listed(f, WARD_STREAM_METRIC_TYPE, category) && listed(f, WARD_STREAM_NAME, name);
}

bool ward_stream_filter_takes_all(const struct ward_stream_filter *f)
{
    return f->n[WARD_STREAM_METRIC_TYPE] == 0 && f->n[WARD_STREAM_NAME] == 0;
}

void ward_stream_filter_write(const struct ward_stream_filter *f, struct ward_json_writer *w)
{
    for (int i = 0; i < WARD_STREAM_N_FIELDS; i++) {
        ward_json_write_keyz(w, field_names[i]);
        ward_json_write_array_begin(w);
        for (size_t k = 0; k < f->n[i]; k++)
            ward_json_write_stringz(w, f->values[i][k]);
        ward_json_write_array_end(w);
    }
}

void ward_stream_filter_done(struct ward_stream_filter *f)
{
    for (int i = 0; i < WARD_STREAM_N_FIELDS; i++) {
        for (size_t k = 0; k < f->n[i]; k++)
            free(f->values[i][k]);
        free(f->values[i]);
    }
    memset(f, 0, sizeof(*f));
}
