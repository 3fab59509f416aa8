/*
 * Block device I/O from /proc/diskstats.
 *
 * Each line is "major minor name" followed by the counters of the kernel's
 * Documentation/admin-guide/iostats.rst: 11 fields up to 4.18, 15 with the
 * discard fields (4.18), 17 with the flush fields (5.5); 14, 18 or 20
 * columns with the device number and name. Discard counters are emitted
 * when the line has them; flush counters are not used. Sectors are always
 * 512 bytes there, whatever the device's sector size; times are in
 * milliseconds. The counters are unsigned long in the kernel, so a 32-bit
 * kernel wraps them, and a device that goes away and comes back starts
 * from zero: every counter goes through a struct ward_counter, kept per
 * device between reads, so what is emitted never goes backwards.
 *
 * Only whole devices are reported, since a partition's I/O is already in
 * its disk's. A whole device has a directory /sys/block/<name> (with '/' in
 * the name written '!', as for cciss!c0d0); partitions live below their
 * disk. Without /sys/block under the root, the kernel's naming rule
 * decides: a partition's name is its disk's name followed by the partition
 * number, with a "p" in between when the disk's name ends in a digit
 * (sda1, nvme0n1p1, mmcblk0p2), and diskstats lists a disk's partitions
 * right after it. loop, ram and zram devices are skipped: their I/O is
 * memory or a file on another device already counted. Device mapper and md
 * devices are kept: they are whole devices, though their I/O is also in
 * the disks below them.
 *
 * Device state lives in a fixed table of MAX_DEVICES slots. A device that
 * disappears keeps its slot, so that if it comes back its counters
 * continue, until a new device needs the room; devices beyond the table
 * are counted in diskio_devices_dropped.
 */
#include "agent/collector.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Devices tracked; more are dropped and counted. */
#define MAX_DEVICES 128
/* Longest device name kept, NUL included (the kernel's limit is 32). */
#define MAX_NAME 64
/* Bytes of a diskstats line looked at; 20 fields take under 250. */
#define LINE_BYTES 512
/* Counter fields of the longest format. */
#define MAX_FIELDS 17
/* Fields of the oldest format reported (before 4.18). */
#define MIN_FIELDS   11
#define SECTOR_BYTES 512.0

/* Fields of a line, after the name (iostats.rst numbers them from 1). */
enum {
    F_READS,
    F_READS_MERGED,
    F_SECTORS_READ,
    F_READ_MS,
    F_WRITES,
    F_WRITES_MERGED,
    F_SECTORS_WRITTEN,
    F_WRITE_MS,
    F_IN_PROGRESS,
    F_IO_MS,
    F_WEIGHTED_MS,
    F_DISCARDS,
    F_DISCARDS_MERGED,
    F_SECTORS_DISCARDED,
    F_DISCARD_MS,
};

/* The counters emitted, each from one field, scaled. */
static const struct counter_def {
    struct ward_metric metric;
    int field;
    double scale;
} counters[] = {
    {{"diskio", "reads_completed_total", WARD_SAMPLE_COUNTER, "Reads completed."}, F_READS, 1.0},
    {{"diskio", "read_bytes_total", WARD_SAMPLE_COUNTER, "Bytes read."},
     F_SECTORS_READ,
     SECTOR_BYTES},
    {{"diskio", "read_time_seconds_total", WARD_SAMPLE_COUNTER,
      "Seconds spent by reads, summed over concurrent requests."},
     F_READ_MS,
     0.001},
    {{"diskio", "writes_completed_total", WARD_SAMPLE_COUNTER, "Writes completed."}, F_WRITES, 1.0},
    {{"diskio", "write_bytes_total", WARD_SAMPLE_COUNTER, "Bytes written."},
     F_SECTORS_WRITTEN,
     SECTOR_BYTES},
    {{"diskio", "write_time_seconds_total", WARD_SAMPLE_COUNTER,
      "Seconds spent by writes, summed over concurrent requests."},
     F_WRITE_MS,
     0.001},
    {{"diskio", "io_time_seconds_total", WARD_SAMPLE_COUNTER,
      "Seconds the device had I/O in flight (busy time)."},
     F_IO_MS,
     0.001},
    {{"diskio", "discards_completed_total", WARD_SAMPLE_COUNTER, "Discards completed."},
     F_DISCARDS,
     1.0},
    {{"diskio", "discarded_bytes_total", WARD_SAMPLE_COUNTER, "Bytes discarded."},
     F_SECTORS_DISCARDED,
     SECTOR_BYTES},
    {{"diskio", "discard_time_seconds_total", WARD_SAMPLE_COUNTER,
      "Seconds spent by discards, summed over concurrent requests."},
     F_DISCARD_MS,
     0.001},
};
#define N_COUNTERS (sizeof(counters) / sizeof(counters[0]))

static const struct ward_metric in_progress = {"diskio", "io_in_progress", WARD_SAMPLE_GAUGE,
                                               "Requests issued to the device and not completed."};
static const struct ward_metric devices_dropped = {
    "diskio", "devices_dropped", WARD_SAMPLE_GAUGE,
    "Whole devices not reported because the device table is full."};

/* Name prefixes of devices that are memory or files, not disks. */
static const char *const skipped_prefixes[] = {"loop", "ram", "zram"};

struct device {
    char name[MAX_NAME];
    uint64_t last_seen; /* read number; 0 for a free slot */
    struct ward_counter c[N_COUNTERS];
};

struct state {
    struct device dev[MAX_DEVICES];
    uint64_t reads; /* collections so far */
    size_t hint;    /* slot after the last one matched: devices come in a stable order */
    char line[LINE_BYTES];
};

static int diskstats_init(void **state)
{
    struct state *st = calloc(1, sizeof(*st));
    if (!st)
        return -ENOMEM;
    *state = st;
    return 0;
}

static void diskstats_done(void *state)
{
    free(state);
}

/*
 * Reads one line into buf, keeping at most size - 1 bytes and skipping the
 * rest of a longer line. Returns the length kept, or -1 at the end of the
 * file. *bad is set when the line was too long or held a NUL.
 */
static ssize_t read_line(FILE *f, char *buf, size_t size, bool *bad)
{
    size_t n = 0;
    int ch;
    *bad = false;
    while ((ch = getc_unlocked(f)) != EOF && ch != '\n') {
        if (ch == '\0' || n + 1 >= size)
            *bad = true;
        else
            buf[n++] = (char)ch;
    }
    if (ch == EOF && n == 0 && !*bad)
        return -1;
    buf[n] = '\0';
    return (ssize_t)n;
}

static bool skipped(const char *name)
{
    for (size_t i = 0; i < sizeof(skipped_prefixes) / sizeof(skipped_prefixes[0]); i++)
        if (strncmp(name, skipped_prefixes[i], strlen(skipped_prefixes[i])) == 0)
            return true;
    return false;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* True when name is a partition of disk by the kernel's naming rule. */
static bool partition_of(const char *name, const char *disk)
{
    size_t len = strlen(disk);
    if (len == 0 || strncmp(name, disk, len) != 0)
        return false;
    const char *rest = name + len;
    if (is_digit(disk[len - 1]) && *rest++ != 'p')
        return false;
    if (!*rest)
        return false;
    for (; *rest; rest++)
        if (!is_digit(*rest))
            return false;
    return true;
}

/* True when /sys/block/<name> exists under the root. */
static bool in_sys_block(const struct ward_collect_ctx *ctx, const char *name)
{
    char rel[sizeof("/sys/block/") + MAX_NAME];
    snprintf(rel, sizeof(rel), "/sys/block/%s", name);
    for (char *p = rel + strlen("/sys/block/"); *p; p++)
        if (*p == '/')
            *p = '!';
    char path[4096];
    struct stat sb;
    if (ward_collect_path(ctx, rel, path, sizeof(path)) < 0)
        return false;
    return stat(path, &sb) == 0;
}

static bool have_sys_block(const struct ward_collect_ctx *ctx)
{
    char path[4096];
    struct stat sb;
    return ward_collect_path(ctx, "/sys/block", path, sizeof(path)) == 0 && stat(path, &sb) == 0 &&
           S_ISDIR(sb.st_mode);
}

/*
 * Finds the slot of name, or takes one: a free slot, or the one seen least
 * recently if it was missing from the previous read too (so devices that
 * are present never push each other out). Returns NULL when the table is full.
 */
static struct device *slot_for(struct state *st, const char *name)
{
    for (size_t k = 0; k < MAX_DEVICES; k++) {
        size_t i = (st->hint + k) % MAX_DEVICES;
        if (st->dev[i].last_seen && strcmp(st->dev[i].name, name) == 0) {
            st->hint = (i + 1) % MAX_DEVICES;
            return &st->dev[i];
        }
    }
    struct device *best = NULL;
    for (size_t i = 0; i < MAX_DEVICES; i++) {
        struct device *d = &st->dev[i];
        if (d->last_seen && d->last_seen + 1 >= st->reads)
            continue;
        if (!best || d->last_seen < best->last_seen)
            best = d;
    }
    if (best) {
        memset(best, 0, sizeof(*best));
        memcpy(best->name, name, strlen(name) + 1);
    }
    return best;
}

/* Parses "major minor name fields..." into name and v. Returns the number of fields, or 0. */
static size_t parse_line(const char *line, char *name, uint64_t *v)
{
    uint64_t devno[2];
    const char *p = line;
    for (int i = 0; i < 2; i++) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (ward_parse_u64_fields(p, &devno[i], 1) != 1)
            return 0;
        while (is_digit(*p))
            p++;
    }
    while (*p == ' ' || *p == '\t')
        p++;
    size_t len = strcspn(p, " \t");
    if (len == 0 || len >= MAX_NAME || (p[len] != ' ' && p[len] != '\t'))
        return 0;
    memcpy(name, p, len);
    name[len] = '\0';
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return 0; /* would name a directory of /sys, not a device */
    size_t n = ward_parse_u64_fields(p + len, v, MAX_FIELDS);
    if (n < MIN_FIELDS)
        return 0;
    /* A field that saturated is garbage, not a counter. */
    for (size_t i = 0; i < n; i++)
        if (v[i] == UINT64_MAX)
            return 0;
    return n;
}

static void emit_device(const struct ward_collect_ctx *ctx, struct device *d, const uint64_t *v,
                        size_t n)
{
    for (size_t i = 0; i < N_COUNTERS; i++) {
        if ((size_t)counters[i].field >= n)
            continue;
        double total = ward_counter_update(&d->c[i], v[counters[i].field]);
        ward_emit1(ctx, &counters[i].metric, total * counters[i].scale, "device", d->name);
    }
    ward_emit1(ctx, &in_progress, (double)v[F_IN_PROGRESS], "device", d->name);
}

static int diskstats_collect(void *state, const struct ward_collect_ctx *ctx)
{
    struct state *st = state;
    FILE *f = ward_collect_open(ctx, "/proc/diskstats");
    if (!f)
        return -errno;
    st->reads++;
    bool use_sys = have_sys_block(ctx);
    char disk[MAX_NAME] = ""; /* the last whole device, for the naming rule */
    size_t dropped = 0;
    bool bad;
    while (read_line(f, st->line, sizeof(st->line), &bad) >= 0) {
        char name[MAX_NAME];
        uint64_t v[MAX_FIELDS];
        size_t n;
        if (bad || (n = parse_line(st->line, name, v)) == 0)
            continue;
        /* With /sys/block, a skipped name needs no lookup; the naming rule needs them all. */
        if (use_sys ? skipped(name) || !in_sys_block(ctx, name) : partition_of(name, disk))
            continue;
        memcpy(disk, name, strlen(name) + 1);
        if (skipped(name))
            continue;
        struct device *d = slot_for(st, name);
        if (!d) {
            dropped++;
            continue;
        }
        if (d->last_seen == st->reads)
            continue; /* the same device twice in one read */
        d->last_seen = st->reads;
        emit_device(ctx, d, v, n);
    }
    int err = ferror(f) ? (errno > 0 ? errno : EIO) : 0;
    fclose(f);
    if (err)
        return -err;
    ward_emit0(ctx, &devices_dropped, (double)dropped);
    return 0;
}

const struct ward_collector ward_collector_proc_diskstats = {
    .size = sizeof(struct ward_collector),
    .name = "diskio",
    .default_interval_ms = 5000,
    .init = diskstats_init,
    .collect = diskstats_collect,
    .done = diskstats_done,
};
