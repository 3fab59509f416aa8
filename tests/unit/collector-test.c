/*
 * Harness for collector tests; see collector-test.h.
 */
#include "collector-test.h"

#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

static int record(struct ward_sink *sink, const struct ward_metric *m, double value,
                  const struct ward_label *labels, size_t n_labels)
{
    struct recorder *r = (struct recorder *)sink;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        struct rec_sample *p = realloc(r->samples, cap * sizeof(*p));
        assert_non_null(p);
        r->samples = p;
        r->cap = cap;
    }
    struct rec_sample *s = &r->samples[r->n++];
    *s = (struct rec_sample){.metric = m, .value = value};
    size_t used = 0;
    for (size_t i = 0; i < n_labels; i++) {
        int w = snprintf(s->labels + used, sizeof(s->labels) - used, "%s%s=%s", i ? "," : "",
                         labels[i].key, labels[i].value);
        assert_true(w > 0 && used + (size_t)w < sizeof(s->labels));
        used += (size_t)w;
    }
    return 0;
}

void rec_init(struct recorder *r)
{
    *r = (struct recorder){.sink.emit = record};
}

void rec_done(struct recorder *r)
{
    free(r->samples);
    *r = (struct recorder){0};
}

int collector_run(const struct ward_collector *c, void *state, const char *root,
                  const struct ward_collect_settings *settings, struct recorder *r)
{
    return collector_run_at(c, state, root, settings, COLLECTOR_TEST_NOW_MS, r);
}

int collector_run_at(const struct ward_collector *c, void *state, const char *root,
                     const struct ward_collect_settings *settings, int64_t now_ms,
                     struct recorder *r)
{
    static const struct ward_collect_settings defaults = {
        .net_exclude = WARD_NET_EXCLUDE_DEFAULT,
        .net_max_interfaces = WARD_NET_MAX_INTERFACES,
        .top_n = WARD_TOP_N_DEFAULT,
        .statvfs_timeout_ms = WARD_STATVFS_TIMEOUT_MS,
    };
    r->n = 0;
    r->sink.emit = record;
    struct ward_collect_ctx ctx = {
        .root = root,
        .now_ms = now_ms,
        .settings = settings ? settings : &defaults,
        .sink = &r->sink,
    };
    return c->collect(state, &ctx);
}

static bool name_is(const struct ward_metric *m, const char *name)
{
    if (strcmp(m->name, name) == 0)
        return true;
    size_t n = strlen(m->category);
    return strncmp(name, m->category, n) == 0 && name[n] == '_' &&
           strcmp(name + n + 1, m->name) == 0;
}

const struct rec_sample *rec_find(const struct recorder *r, const char *name, const char *labels)
{
    for (size_t i = 0; i < r->n; i++)
        if (name_is(r->samples[i].metric, name) && strcmp(r->samples[i].labels, labels) == 0)
            return &r->samples[i];
    return NULL;
}

double rec_value(const struct recorder *r, const char *name, const char *labels)
{
    const struct rec_sample *found = NULL;
    for (size_t i = 0; i < r->n; i++) {
        if (!name_is(r->samples[i].metric, name) || strcmp(r->samples[i].labels, labels) != 0)
            continue;
        if (found)
            fail_msg("sample %s{%s} emitted twice", name, labels);
        found = &r->samples[i];
    }
    if (!found)
        fail_msg("no sample %s{%s}", name, labels);
    return found->value;
}

size_t rec_count(const struct recorder *r, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++)
        n += name_is(r->samples[i].metric, name);
    return n;
}

/* Scratch roots not yet removed. */
static char *scratch[8];

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

char *scratch_new(const char *name)
{
    size_t size = strlen(name) + sizeof("/tmp/ward--XXXXXX");
    char *dir = malloc(size);
    assert_non_null(dir);
    snprintf(dir, size, "/tmp/ward-%s-XXXXXX", name);
    assert_non_null(mkdtemp(dir));
    for (size_t i = 0; i < sizeof(scratch) / sizeof(scratch[0]); i++) {
        if (!scratch[i]) {
            scratch[i] = dir;
            return dir;
        }
    }
    fail_msg("too many scratch roots");
    return NULL;
}

void scratch_free(char *dir)
{
    for (size_t i = 0; i < sizeof(scratch) / sizeof(scratch[0]); i++)
        if (scratch[i] == dir)
            scratch[i] = NULL;
    assert_int_equal(nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
    free(dir);
}

int scratch_teardown(void **unused)
{
    (void)unused;
    for (size_t i = 0; i < sizeof(scratch) / sizeof(scratch[0]); i++) {
        if (scratch[i]) {
            nftw(scratch[i], remove_entry, 16, FTW_DEPTH | FTW_PHYS);
            free(scratch[i]);
            scratch[i] = NULL;
        }
    }
    return 0;
}

void scratch_put(const char *root, const char *rel, const char *text)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s%s", root, rel);
    for (char *p = path + strlen(root) + 1; (p = strchr(p, '/')); p++) {
        *p = '\0';
        if (mkdir(path, 0755) < 0)
            assert_int_equal(errno, EEXIST);
        *p = '/';
    }
    FILE *f = fopen(path, "we");
    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
}
