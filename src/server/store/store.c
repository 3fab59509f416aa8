/*
 * Storage front end: picks a backend by DSN and forwards calls to it.
 *
 * Backends are listed in a const table and asked in order; the first whose
 * accepts() claims the DSN opens it. Adding a backend is one more line in
 * that table. Every call reaches the backend through ops->size, so a backend
 * built against an older, shorter struct ward_store_ops keeps working: a
 * method it does not have yields -EOPNOTSUPP instead of a jump through
 * whatever lies past the end of its table.
 *
 * Arguments are checked here, once, for every backend: missing strings,
 * non-finite values and unknown kinds are refused with -EINVAL before any
 * backend starts a transaction, so a bad sample can never leave half a batch
 * behind. Backends may rely on these checks.
 */
#include "server/store/store.h"

#include "common/cleanup.h"
#include "common/error.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>

static const struct ward_store_ops *const backends[] = {
    &ward_store_sqlite_ops,
};

/* True when ops is long enough to contain method m and provides it. */
#define HAS_METHOD(ops, m)                                                                         \
    ((ops)->size >= offsetof(struct ward_store_ops, m) + sizeof((ops)->m) && (ops)->m != NULL)

static bool is_text(const char *s)
{
    return s != NULL && s[0] != '\0';
}

static int check_samples(const struct ward_sample *v, size_t n)
{
    if (n > 0 && v == NULL)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (!is_text(v[i].category) || !is_text(v[i].name) || v[i].labels == NULL)
            return -EINVAL;
        if (v[i].kind != WARD_KIND_GAUGE && v[i].kind != WARD_KIND_COUNTER)
            return -EINVAL;
        if (!isfinite(v[i].value))
            return -EINVAL;
    }
    return 0;
}

int ward_store_open(const char *dsn, const struct ward_store_options *opt, struct ward_store **out)
{
    static const struct ward_store_options defaults = {0};

    if (!is_text(dsn) || out == NULL)
        return -EINVAL;
    if (opt == NULL)
        opt = &defaults;

    for (size_t i = 0; i < WARD_ARRAY_SIZE(backends); i++) {
        const struct ward_store_ops *ops = backends[i];
        if (!HAS_METHOD(ops, accepts) || !HAS_METHOD(ops, open) || !ops->accepts(dsn))
            continue;
        struct ward_store *s = NULL;
        int r = ops->open(dsn, opt, &s);
        if (r < 0)
            return r;
        *out = s;
        return 0;
    }
    return WARD_E_NOT_FOUND;
}

void ward_store_close(struct ward_store *s)
{
    if (s != NULL && HAS_METHOD(s->ops, close))
        s->ops->close(s);
}

int ward_store_ingest(struct ward_store *s, const char *host_id, const struct ward_batch_key *batch,
                      const struct ward_sample *samples, size_t n)
{
    if (s == NULL || !is_text(host_id))
        return -EINVAL;
    int r = check_samples(samples, n);
    if (r < 0)
        return r;
    if (!HAS_METHOD(s->ops, ingest))
        return -EOPNOTSUPP;
    return s->ops->ingest(s, host_id, batch, samples, n);
}

int ward_store_query(struct ward_store *s, const struct ward_query *q, ward_store_row_fn fn,
                     void *userdata)
{
    if (s == NULL || q == NULL || fn == NULL || !is_text(q->host_id))
        return -EINVAL;
    if (!HAS_METHOD(s->ops, query))
        return -EOPNOTSUPP;
    return s->ops->query(s, q, fn, userdata);
}
