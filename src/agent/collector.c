/*
 * The collector table and the helpers collectors share.
 *
 * Collectors only see this file's helpers and their sink, never the
 * scheduler or the uploader: that keeps each one testable against a
 * recorded tree with a sink that just records what it got.
 */
#include "agent/collector.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern const struct ward_collector ward_collector_proc_stat;
extern const struct ward_collector ward_collector_proc_meminfo;

const struct ward_collector *const ward_collectors[] = {
    &ward_collector_proc_stat,
    &ward_collector_proc_meminfo,
};
const size_t ward_n_collectors = sizeof(ward_collectors) / sizeof(ward_collectors[0]);

int ward_emit(const struct ward_collect_ctx *ctx, const char *category, const char *name,
              enum ward_sample_kind kind, double value)
{
    return ctx->sink->emit(ctx->sink, category, name, kind, value, NULL, 0);
}

int ward_emit1(const struct ward_collect_ctx *ctx, const char *category, const char *name,
               enum ward_sample_kind kind, double value, const char *key, const char *label)
{
    struct ward_label l = {key, label};
    return ctx->sink->emit(ctx->sink, category, name, kind, value, &l, 1);
}

FILE *ward_collect_open(const struct ward_collect_ctx *ctx, const char *path)
{
    char full[4096];
    int n = snprintf(full, sizeof(full), "%s%s", ctx->root ? ctx->root : "", path);
    if (n < 0 || (size_t)n >= sizeof(full)) {
        errno = ENAMETOOLONG;
        return NULL;
    }
    return fopen(full, "re");
}

size_t ward_parse_u64_fields(const char *s, uint64_t *out, size_t max)
{
    size_t n = 0;
    while (n < max) {
        while (*s == ' ' || *s == '\t')
            s++;
        if (*s < '0' || *s > '9')
            break;
        uint64_t v = 0;
        while (*s >= '0' && *s <= '9') {
            unsigned d = (unsigned)(*s++ - '0');
            v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d; /* saturate */
        }
        out[n++] = v;
    }
    return n;
}
