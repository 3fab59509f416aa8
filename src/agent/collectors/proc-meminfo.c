/*
 * Memory and swap from /proc/meminfo.
 *
 * Used memory is total minus available, the figure free(1) and
 * node_exporter dashboards show. Kernels before 3.14 have no MemAvailable;
 * there it is estimated as free + buffers + cached. A machine without swap
 * reports zero swap, not an error.
 */
#include "agent/collector.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

enum {
    TOTAL,
    AVAILABLE,
    FREE,
    BUFFERS,
    CACHED,
    SWAP_TOTAL,
    SWAP_FREE,
    N_KEYS
};

static const char *const keys[N_KEYS] = {
    [TOTAL] = "MemTotal:",     [AVAILABLE] = "MemAvailable:", [FREE] = "MemFree:",
    [BUFFERS] = "Buffers:",    [CACHED] = "Cached:",          [SWAP_TOTAL] = "SwapTotal:",
    [SWAP_FREE] = "SwapFree:",
};

/* In the order of the values computed below. */
static const struct ward_metric metrics[] = {
    {"ram", "total_bytes", WARD_SAMPLE_GAUGE, "Usable RAM (MemTotal)."},
    {"ram", "available_bytes", WARD_SAMPLE_GAUGE, "RAM available for new work without swapping."},
    {"ram", "used_bytes", WARD_SAMPLE_GAUGE, "RAM in use: total minus available."},
    {"ram", "free_bytes", WARD_SAMPLE_GAUGE, "RAM not used at all (MemFree)."},
    {"ram", "buffers_bytes", WARD_SAMPLE_GAUGE, "RAM in block device buffers."},
    {"ram", "cached_bytes", WARD_SAMPLE_GAUGE, "RAM in the page cache."},
    {"ram", "usage_percent", WARD_SAMPLE_GAUGE, "Used RAM as a share of the total."},
    {"ram", "swap_total_bytes", WARD_SAMPLE_GAUGE, "Swap space."},
    {"ram", "swap_used_bytes", WARD_SAMPLE_GAUGE, "Swap space in use."},
};

static int meminfo_collect(void *state, const struct ward_collect_ctx *ctx)
{
    (void)state;
    FILE *f = ward_collect_open(ctx, "/proc/meminfo");
    if (!f)
        return -errno;
    double v[N_KEYS] = {0};
    bool have[N_KEYS] = {false};
    char line[256];
    while (fgets(line, sizeof(line), f)) {
        for (int k = 0; k < N_KEYS; k++) {
            size_t n = strlen(keys[k]);
            uint64_t kb;
            if (strncmp(line, keys[k], n) == 0 && ward_parse_u64_fields(line + n, &kb, 1) == 1) {
                v[k] = (double)kb * 1024.0;
                have[k] = true;
            }
        }
    }
    fclose(f);
    if (!have[TOTAL])
        return -ENODATA;
    if (!have[AVAILABLE])
        v[AVAILABLE] = v[FREE] + v[BUFFERS] + v[CACHED];
    if (v[AVAILABLE] > v[TOTAL])
        v[AVAILABLE] = v[TOTAL];
    double used = v[TOTAL] - v[AVAILABLE];
    double swap_used = v[SWAP_TOTAL] > v[SWAP_FREE] ? v[SWAP_TOTAL] - v[SWAP_FREE] : 0;

    const double values[] = {
        v[TOTAL],
        v[AVAILABLE],
        used,
        v[FREE],
        v[BUFFERS],
        v[CACHED],
        v[TOTAL] > 0 ? 100.0 * used / v[TOTAL] : 0,
        v[SWAP_TOTAL],
        swap_used,
    };
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
        ward_emit0(ctx, &metrics[i], values[i]);
    return 0;
}

const struct ward_collector ward_collector_proc_meminfo = {
    .size = sizeof(struct ward_collector),
    .name = "memory",
    .default_interval_ms = 10000,
    .collect = meminfo_collect,
};
