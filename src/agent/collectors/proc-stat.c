/*
 * CPU time from /proc/stat.
 *
 * The kernel reports cumulative time per state, in USER_HZ ticks, for all
 * CPUs ("cpu") and for each one ("cpuN"). Two kinds of metric come from it:
 *
 * - cpu_seconds_total{core,mode}: the counters themselves, converted to
 *   seconds, per core and mode, as node_exporter exports them;
 * - percentages between two reads: usage for the total and for each core,
 *   and the split into user, system, iowait, steal, irq and idle for the
 *   total. The first read only sets the baseline, and a read in which a
 *   counter went backwards (a CPU went offline and came back) starts a new
 *   baseline instead of producing a bogus value.
 *
 * Idle time includes iowait in "usage", as top(1) counts it. The same file
 * gives the context switch, interrupt and fork counters.
 */
#include "agent/collector.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static const char *const mode_names[N_FIELDS] = {
    "user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal",
};

static const struct ward_metric seconds = {"cpu", "seconds_total", WARD_SAMPLE_COUNTER,
                                           "Seconds the CPUs spent in each mode."};
static const struct ward_metric usage = {"cpu", "usage_percent", WARD_SAMPLE_GAUGE,
                                         "Share of time not idle (idle includes iowait)."};
static const struct ward_metric split[] = {
    {"cpu", "user_percent", WARD_SAMPLE_GAUGE, "Share of time in user mode, nice included."},
    {"cpu", "system_percent", WARD_SAMPLE_GAUGE, "Share of time in kernel mode."},
    {"cpu", "iowait_percent", WARD_SAMPLE_GAUGE, "Share of time idle with I/O outstanding."},
    {"cpu", "steal_percent", WARD_SAMPLE_GAUGE, "Share of time taken by the hypervisor."},
    {"cpu", "irq_percent", WARD_SAMPLE_GAUGE, "Share of time serving hard and soft interrupts."},
    {"cpu", "idle_percent", WARD_SAMPLE_GAUGE, "Share of time idle, iowait excluded."},
};
static const struct ward_metric ctxt = {"cpu", "context_switches_total", WARD_SAMPLE_COUNTER,
                                        "Context switches since boot."};
static const struct ward_metric intr = {"cpu", "interrupts_total", WARD_SAMPLE_COUNTER,
                                        "Interrupts serviced since boot."};
static const struct ward_metric forks = {"cpu", "forks_total", WARD_SAMPLE_COUNTER,
                                         "Processes and threads created since boot."};

struct times {
    uint64_t f[N_FIELDS];
    bool valid;
};

struct state {
    double tick;                     /* seconds per USER_HZ tick */
    struct times prev[MAX_CPUS + 1]; /* [0] is the total, [i + 1] is cpu i */
};

static int stat_init(void **state)
{
    struct state *st = calloc(1, sizeof(*st));
    if (!st)
        return -ENOMEM;
    long hz = sysconf(_SC_CLK_TCK);
    st->tick = 1.0 / (double)(hz > 0 ? hz : 100);
    *state = st;
    return 0;
}

static void stat_done(void *state)
{
    free(state);
}

static uint64_t sum(const uint64_t *f)
{
    uint64_t t = 0;
    for (int i = 0; i < N_FIELDS; i++)
        t += f[i];
    return t;
}

/* Emits the percentages between was and now; nothing when no time passed or a counter reset. */
static void emit_shares(const struct ward_collect_ctx *ctx, const struct times *was,
                        const uint64_t *now, const char *core)
{
    if (!was->valid)
        return;
    uint64_t d[N_FIELDS];
    for (int i = 0; i < N_FIELDS; i++) {
        if (now[i] < was->f[i])
            return;
        d[i] = now[i] - was->f[i];
    }
    uint64_t total = sum(d);
    if (total == 0)
        return;
    double pct = 100.0 / (double)total;
    double busy = (double)(total - d[IDLE] - d[IOWAIT]) * pct;
    struct ward_label l = {"core", core};
    ward_emit(ctx, &usage, busy, &l, core ? 1 : 0);
    if (core)
        return;
    const double parts[] = {
        (double)(d[USER] + d[NICE]) * pct,
        (double)d[SYSTEM] * pct,
        (double)d[IOWAIT] * pct,
        (double)d[STEAL] * pct,
        (double)(d[IRQ] + d[SOFTIRQ]) * pct,
        (double)d[IDLE] * pct,
    };
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
        ward_emit0(ctx, &split[i], parts[i]);
}

static void account(struct state *st, const struct ward_collect_ctx *ctx, size_t slot,
                    const char *core, const uint64_t *f)
{
    if (core) {
        for (int i = 0; i < N_FIELDS; i++) {
            struct ward_label l[2] = {{"core", core}, {"mode", mode_names[i]}};
            ward_emit(ctx, &seconds, (double)f[i] * st->tick, l, 2);
        }
    }
    emit_shares(ctx, &st->prev[slot], f, core);
    memcpy(st->prev[slot].f, f, sizeof(st->prev[slot].f));
    st->prev[slot].valid = true;
}

static int stat_collect(void *state, const struct ward_collect_ctx *ctx)
{
    struct state *st = state;
    FILE *f = ward_collect_open(ctx, "/proc/stat");
    if (!f)
        return -errno;
    char *line = NULL;
    size_t cap = 0;
    bool seen_total = false;
    while (getline(&line, &cap, f) > 0) {
        uint64_t v[N_FIELDS] = {0};
        if (strncmp(line, "cpu", 3) == 0) {
            if (line[3] == ' ') {
                if (ward_parse_u64_fields(line + 3, v, N_FIELDS) < 4)
                    continue;
                seen_total = true;
                account(st, ctx, 0, NULL, v);
                continue;
            }
            char *end;
            unsigned long cpu = strtoul(line + 3, &end, 10);
            if (end == line + 3 || *end != ' ' || cpu >= MAX_CPUS ||
                ward_parse_u64_fields(end, v, N_FIELDS) < 4)
                continue;
            char core[24];
            snprintf(core, sizeof(core), "%lu", cpu);
            account(st, ctx, cpu + 1, core, v);
        } else if (strncmp(line, "ctxt ", 5) == 0 && ward_parse_u64_fields(line + 5, v, 1)) {
            ward_emit0(ctx, &ctxt, (double)v[0]);
        } else if (strncmp(line, "intr ", 5) == 0 && ward_parse_u64_fields(line + 5, v, 1)) {
            ward_emit0(ctx, &intr, (double)v[0]);
        } else if (strncmp(line, "processes ", 10) == 0 && ward_parse_u64_fields(line + 10, v, 1)) {
            ward_emit0(ctx, &forks, (double)v[0]);
        }
    }
    free(line);
    fclose(f);
    return seen_total ? 0 : -ENODATA;
}

const struct ward_collector ward_collector_proc_stat = {
    .size = sizeof(struct ward_collector),
    .name = "cpu",
    .default_interval_ms = 5000,
    .init = stat_init,
    .collect = stat_collect,
    .done = stat_done,
};
