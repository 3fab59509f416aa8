/*
 * CPU usage from /proc/stat.
 *
 * The kernel reports cumulative jiffies per state for all CPUs ("cpu") and
 * for each one ("cpuN"). Usage is the share of non-idle time between two
 * reads, so the first read only sets the baseline, and a read in which a
 * counter went backwards (a CPU went offline and came back, or a counter
 * reset) sets a new baseline instead of producing a bogus value. Idle time
 * includes iowait, as top(1) and node_exporter users expect.
 */
#include "agent/collector.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Highest CPU number tracked; beyond it cores are ignored, never overrun. */
#define MAX_CPUS 4096

enum {
    USER,
    NICE,
    SYSTEM,
    IDLE,
    IOWAIT,
    IRQ,
    SOFTIRQ,
    STEAL,
    N_FIELDS
};

struct times {
    uint64_t busy, total;
    bool valid;
};

struct state {
    struct times prev[MAX_CPUS + 1]; /* [0] is the total, [i + 1] is cpu i */
};

static int stat_init(void **state)
{
    *state = calloc(1, sizeof(struct state));
    return *state ? 0 : -ENOMEM;
}

static void stat_done(void *state)
{
    free(state);
}

/* Emits usage for slot (0 = total) and remembers the counters. */
static int account(struct state *st, const struct ward_collect_ctx *ctx, size_t slot,
                   const char *core, const uint64_t *f)
{
    uint64_t idle = f[IDLE] + f[IOWAIT];
    uint64_t total = 0;
    for (int i = 0; i < N_FIELDS; i++)
        total += f[i];
    struct times now = {.busy = total - idle, .total = total, .valid = true};
    struct times *prev = &st->prev[slot];
    struct times was = *prev;
    *prev = now;
    if (!was.valid || now.total <= was.total || now.busy < was.busy)
        return 0;
    double pct = 100.0 * (double)(now.busy - was.busy) / (double)(now.total - was.total);
    if (pct > 100.0)
        pct = 100.0;
    if (!core)
        return ward_emit(ctx, "cpu", "usage_percent", WARD_SAMPLE_GAUGE, pct);
    return ward_emit1(ctx, "cpu", "usage_percent", WARD_SAMPLE_GAUGE, pct, "core", core);
}

static int stat_collect(void *state, const struct ward_collect_ctx *ctx)
{
    struct state *st = state;
    FILE *f = ward_collect_open(ctx, "/proc/stat");
    if (!f)
        return -errno;
    char *line = NULL;
    size_t cap = 0;
    int r = 0;
    bool seen_total = false;
    while (r >= 0 && getline(&line, &cap, f) > 0) {
        if (strncmp(line, "cpu", 3) != 0)
            continue;
        uint64_t fields[N_FIELDS] = {0};
        if (line[3] == ' ') {
            if (ward_parse_u64_fields(line + 3, fields, N_FIELDS) < 4)
                continue;
            seen_total = true;
            r = account(st, ctx, 0, NULL, fields);
            continue;
        }
        char *end;
        unsigned long cpu = strtoul(line + 3, &end, 10);
        if (end == line + 3 || *end != ' ' || cpu >= MAX_CPUS)
            continue;
        if (ward_parse_u64_fields(end, fields, N_FIELDS) < 4)
            continue;
        char core[24];
        snprintf(core, sizeof(core), "%lu", cpu);
        r = account(st, ctx, cpu + 1, core, fields);
    }
    free(line);
    fclose(f);
    if (r >= 0 && !seen_total)
        r = -ENODATA;
    return r;
}

const struct ward_collector ward_collector_proc_stat = {
    .size = sizeof(struct ward_collector),
    .name = "cpu",
    .default_interval_ms = 1000,
    .init = stat_init,
    .collect = stat_collect,
    .done = stat_done,
};
