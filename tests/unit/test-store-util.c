/*
 * Backends, fixtures and helpers of the store tests (see test-store.h).
 *
 * SQLite runs twice: in memory (a new database per open, so nothing
 * persists and reads wait for writes) and in a file in a fresh mkdtemp()
 * directory per test. The external backend opens the DSN in
 * WARD_TEST_STORE_DSN for every test and removes nothing afterwards; each
 * test keeps to its own fresh host ids and names.
 *
 * WARD_TEST_HEAD_LIMIT, when set, is the number of samples an SQLite
 * store's head holds before a flush (see store-sqlite-head.c): the suite
 * runs once more with a small one, so that its samples are split between
 * the head and the samples table.
 */
#include "test-store.h"

#include "common/error.h"
#include "common/parse.h"
#include "common/uuid.h"
#include "server/store/store-sqlite.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const struct store_backend *store_current;

/* Fresh host ids and a tag for every test, whatever the backend. */
static int names_setup(struct store_env *e)
{
    for (size_t i = 0; i < 2; i++)
        if (ward_uuid_v7(e->host[i]) < 0)
            return -EIO;
    /* The random tail of a UUIDv7: unique enough between tests and runs. */
    snprintf(e->tag, sizeof(e->tag), "t%.12s", e->host[1] + 24);
    return 0;
}

static int sqlite_memory_setup(struct store_env *e)
{
    snprintf(e->dsn, sizeof(e->dsn), ":memory:");
    return 0;
}

static void no_teardown(struct store_env *e)
{
    (void)e;
}

static int sqlite_file_setup(struct store_env *e)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(e->dir, sizeof(e->dir), "%s/ward-test-store-XXXXXX", tmp ? tmp : "/tmp");
    if (!mkdtemp(e->dir))
        return -errno;
    snprintf(e->dsn, sizeof(e->dsn), "sqlite:%s/ward.db", e->dir);
    snprintf(e->bad_dsn, sizeof(e->bad_dsn), "sqlite:%s/missing/ward.db", e->dir);
    e->bad_err = -ENOENT;
    return 0;
}

static void sqlite_file_teardown(struct store_env *e)
{
    remove_tree(e->dir);
}

static int external_setup(struct store_env *e)
{
    const char *dsn = getenv("WARD_TEST_STORE_DSN");
    if (dsn == NULL || strlen(dsn) >= sizeof(e->dsn))
        return -EINVAL;
    snprintf(e->dsn, sizeof(e->dsn), "%s", dsn);
    return 0;
}

const struct store_backend store_sqlite_memory = {
    .name = "sqlite-memory",
    .memory = true,
    .setup = sqlite_memory_setup,
    .teardown = no_teardown,
};

const struct store_backend store_sqlite_file = {
    .name = "sqlite-file",
    .persistent = true,
    .concurrent = true,
    .setup = sqlite_file_setup,
    .teardown = sqlite_file_teardown,
};

const struct store_backend store_external = {
    .name = "external",
    .persistent = true,
    .concurrent = true,
    .setup = external_setup,
    .teardown = no_teardown,
};

int store_env_setup(void **state)
{
    struct store_env *e = calloc(1, sizeof(*e));
    if (!e)
        return -1;
    e->backend = store_current;
    if (names_setup(e) < 0 || store_current->setup(e) < 0) {
        free(e);
        return -1;
    }
    *state = e;
    return 0;
}

int store_env_teardown(void **state)
{
    struct store_env *e = *state;
    e->backend->teardown(e);
    free(e);
    return 0;
}

void tagged(const struct store_env *e, const char *suffix, char *out, size_t size)
{
    snprintf(out, size, "%s-%s", e->tag, suffix);
}

void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d))) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            char p[PATH_MAX * 2];
            snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
            if (unlink(p) < 0)
                rmdir(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

struct ward_store *open_ok(const char *dsn)
{
    struct ward_store *s = NULL;
    int r = ward_store_open(dsn, NULL, &s);
    if (r < 0)
        fail_msg("open %s: %s", dsn, ward_strerror(r));
    assert_non_null(s);
    const char *limit = getenv("WARD_TEST_HEAD_LIMIT");
    if (limit != NULL && limit[0] != '\0') {
        int64_t v = 0;
        if (ward_parse_int_range(limit, 0, INT64_MAX, &v) < 0)
            fail_msg("WARD_TEST_HEAD_LIMIT=%s: not a number of samples", limit);
        ward_sqlite_set_head_limit(s, (size_t)v);
    }
    return s;
}

struct ward_sample gauge(const char *cat, const char *name, const char *labels, int64_t ts,
                         double v)
{
    return (struct ward_sample){.category = cat,
                                .name = name,
                                .labels = labels,
                                .kind = WARD_KIND_GAUGE,
                                .ts_ms = ts,
                                .value = v};
}

void put_series(struct ward_store *s, const char *host, const char *cat, const char *name, size_t n,
                int64_t step)
{
    struct ward_sample *v = calloc(n, sizeof(*v));
    assert_non_null(v);
    for (size_t i = 0; i < n; i++)
        v[i] = gauge(cat, name, "{}", T0 + (int64_t)i * step, (double)i);
    assert_int_equal(ward_store_ingest(s, host, NULL, v, n), 0);
    free(v);
}

int collect(const struct ward_sample_row *r, void *userdata)
{
    struct rows *rs = userdata;
    if (rs->n == rs->cap) {
        size_t cap = rs->cap ? 2 * rs->cap : 64;
        struct row *p = realloc(rs->v, cap * sizeof(*p));
        if (!p)
            return -ENOMEM;
        rs->v = p;
        rs->cap = cap;
    }
    rs->v[rs->n++] = (struct row){
        .host_id = strdup(r->host_id),
        .category = strdup(r->category),
        .name = strdup(r->name),
        .labels = strdup(r->labels),
        .kind = r->kind,
        .ts = r->ts_ms,
        .value = r->value,
    };
    if (rs->stop_after > 0 && rs->n == (size_t)rs->stop_after)
        return -42;
    return 0;
}

void rows_free(struct rows *rs)
{
    for (size_t i = 0; i < rs->n; i++) {
        free(rs->v[i].host_id);
        free(rs->v[i].category);
        free(rs->v[i].name);
        free(rs->v[i].labels);
    }
    free(rs->v);
    *rs = (struct rows){0};
}

int count_cb(const struct ward_sample_row *r, void *userdata)
{
    (void)r;
    (*(size_t *)userdata)++;
    return 0;
}

struct ward_query all_of(const char *host)
{
    return (struct ward_query){
        .host_id = host, .from_ms = INT64_MIN, .to_ms = INT64_MAX, .limit = SIZE_MAX};
}

struct rows run(struct ward_store *s, struct ward_query q)
{
    struct rows rs = {0};
    assert_int_equal(ward_store_query(s, &q, collect, &rs), 0);
    return rs;
}

size_t count(struct ward_store *s, const char *host)
{
    struct ward_query q = all_of(host);
    size_t n = 0;
    assert_int_equal(ward_store_query(s, &q, count_cb, &n), 0);
    return n;
}

struct find_series {
    const char *labels;
    int64_t id;
    size_t found;
};

static int find_series_cb(const struct ward_series_row *row, void *userdata)
{
    struct find_series *f = userdata;
    if (strcmp(row->labels, f->labels) == 0) {
        f->id = row->id;
        f->found++;
    }
    return 0;
}

int64_t series_id_of(struct ward_store *s, const char *host, const char *cat, const char *name,
                     const char *labels)
{
    struct ward_series_filter f = {.host_id = host, .category = cat, .name = name};
    struct find_series k = {.labels = labels};
    assert_int_equal(ward_store_series_list(s, &f, find_series_cb, &k), 0);
    assert_int_equal(k.found, 1);
    return k.id;
}
