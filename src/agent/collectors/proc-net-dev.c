/*
 * Network interface counters from /proc/net/dev.
 *
 * After two header lines the kernel prints one line per interface: the name,
 * a colon, eight receive columns (bytes, packets, errs, drop, fifo, frame,
 * compressed, multicast) and eight transmit columns (bytes, packets, errs,
 * drop, fifo, colls, carrier, compressed). We export bytes, packets, errors
 * and drops in both directions as network_*_total{interface}. Modern kernels
 * print 64-bit values, but some drivers and 32-bit systems keep 32-bit
 * counters that wrap, and a driver reload resets them; each column therefore
 * goes through a struct ward_counter, so what we export only ever grows.
 *
 * Which interfaces are reported:
 *
 * - names matching the net_exclude globs (loopback, container and bridge
 *   plumbing by default) are skipped, and so are wireless interfaces in
 *   monitor mode, whose /sys/class/net/<if>/type is ARPHRD_IEEE80211_RADIOTAP:
 *   they see every frame on the air, not this host's traffic. When /sys
 *   cannot tell (absent, unreadable), the interface is kept. A tracked
 *   interface's type is looked at again only every TYPE_RECHECK_MS, so one
 *   switched to monitor mode leaves the report within that time;
 * - at most net_max_interfaces of the rest are tracked. The table keeps them
 *   in order of first appearance and remembers them across reads, so the
 *   tracked set does not flap when interfaces come and go beyond the cap:
 *   a tracked interface stays tracked for as long as it exists. An interface
 *   absent from one read is forgotten at once (its slot is freed and, if it
 *   comes back, it starts over, which a time-series store sees as a counter
 *   reset). Interfaces that found no slot are counted in the gauge
 *   network_interfaces_dropped. A new interface may take a slot freed in the
 *   same read, so churn beyond the cap costs no extra interval.
 *
 * A line whose name is unusable is ignored: no colon, too long, or bytes
 * outside printable ASCII (legal in kernel names, but rare, and unsafe in a
 * label or a path). A line whose numbers are broken
 * (missing, not decimal, saturated) is skipped for that read only, and its
 * interface keeps its state rather than counting as gone. Lines are read into
 * a fixed buffer and the table is allocated once per cap, so a steady-state
 * read allocates nothing but stdio's FILE.
 */
#include "agent/collector.h"

#include <errno.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Upper bound of the cap, whatever the settings say (network.max-interfaces allows 1..4096). */
#define NET_HARD_MAX_INTERFACES 4096
/* Lines read from /proc/net/dev at most; the rest of a longer file is ignored. */
#define NET_MAX_LINES 65536
/* Longest line accepted: 16 columns of 20 digits plus the name fit with room to spare. */
#define NET_LINE_MAX 1024
/* Columns after the colon. */
#define NET_DEV_COLUMNS 16
/* How long a tracked interface's type is trusted. */
#define TYPE_RECHECK_MS 60000

struct stat_column {
    unsigned column;
    struct ward_metric metric;
};

static const struct stat_column stats[] = {
    {0, {"network", "receive_bytes_total", WARD_SAMPLE_COUNTER, "Bytes received."}},
    {8, {"network", "transmit_bytes_total", WARD_SAMPLE_COUNTER, "Bytes transmitted."}},
    {1, {"network", "receive_packets_total", WARD_SAMPLE_COUNTER, "Packets received."}},
    {9, {"network", "transmit_packets_total", WARD_SAMPLE_COUNTER, "Packets transmitted."}},
    {2, {"network", "receive_errors_total", WARD_SAMPLE_COUNTER, "Receive errors."}},
    {10, {"network", "transmit_errors_total", WARD_SAMPLE_COUNTER, "Transmit errors."}},
    {3,
     {"network", "receive_drop_total", WARD_SAMPLE_COUNTER,
      "Received packets dropped (missed included)."}},
    {11, {"network", "transmit_drop_total", WARD_SAMPLE_COUNTER, "Packets dropped on transmit."}},
};

#define N_STATS (sizeof(stats) / sizeof(stats[0]))

static const struct ward_metric dropped_metric = {
    "network", "interfaces_dropped", WARD_SAMPLE_GAUGE,
    "Interfaces not reported because of the network.max-interfaces cap."};

struct iface {
    char name[IFNAMSIZ];
    struct ward_counter counter[N_STATS];
    uint64_t seen;   /* the read that last saw it */
    int64_t type_ms; /* when its type last said it is no monitor */
};

/* A new interface waiting for a slot that may free up at the end of the read. */
struct pending {
    char name[IFNAMSIZ];
    uint64_t value[N_STATS];
};

struct state {
    struct iface *ifs; /* tracked, in order of first appearance */
    struct pending *pending;
    size_t n, n_pending, cap;
    size_t hint; /* where the next lookup starts: the file keeps its order */
    uint64_t read;
};

static int dev_init(void **state)
{
    struct state *st = calloc(1, sizeof(*st));
    if (!st)
        return -ENOMEM;
    *state = st;
    return 0;
}

static void dev_done(void *state)
{
    struct state *st = state;
    if (!st)
        return;
    free(st->ifs);
    free(st->pending);
    free(st);
}

/*
 * Splits a line into name and the columns we export. Returns 1 when both
 * are good, 0 when only the name is, -1 when the line names no interface.
 */
static int parse_line(const char *line, char *name, uint64_t *value)
{
    while (*line == ' ' || *line == '\t')
        line++;
    const char *colon = strchr(line, ':');
    if (!colon)
        return -1;
    size_t len = (size_t)(colon - line);
    if (len >= IFNAMSIZ)
        return -1;
    memcpy(name, line, len);
    name[len] = '\0';
    if (!ward_valid_ifname(name, len))
        return -1;
    uint64_t col[NET_DEV_COLUMNS];
    if (ward_parse_u64_fields(colon + 1, col, NET_DEV_COLUMNS) < NET_DEV_COLUMNS)
        return 0;
    for (size_t i = 0; i < N_STATS; i++) {
        /* A saturated field is garbage: the kernel's counters never get there. */
        if (col[stats[i].column] == UINT64_MAX)
            return 0;
        value[i] = col[stats[i].column];
    }
    return 1;
}

static bool is_monitor(const struct ward_collect_ctx *ctx, const char *name)
{
    char path[64];
    int64_t type;
    snprintf(path, sizeof(path), "/sys/class/net/%s/type", name);
    return ward_collect_read_int(ctx, path, &type) == 0 && type == ARPHRD_IEEE80211_RADIOTAP;
}

static struct iface *find(struct state *st, const char *name)
{
    for (size_t k = 0; k < st->n; k++) {
        size_t i = (st->hint + k) % st->n;
        if (strcmp(st->ifs[i].name, name) == 0) {
            st->hint = i + 1;
            return &st->ifs[i];
        }
    }
    return NULL;
}

static size_t cap_of(const struct ward_collect_ctx *ctx)
{
    int64_t cap = ctx->settings ? ctx->settings->net_max_interfaces : WARD_NET_MAX_INTERFACES;
    if (cap < 1)
        cap = WARD_NET_MAX_INTERFACES;
    return cap > NET_HARD_MAX_INTERFACES ? NET_HARD_MAX_INTERFACES : (size_t)cap;
}

/*
 * Sizes the table for cap; a smaller cap keeps the interfaces that came
 * first. Out of memory, the table is emptied, so it never outgrows its arrays.
 */
static int resize(struct state *st, size_t cap)
{
    if (cap == st->cap)
        return 0;
    struct iface *ifs = realloc(st->ifs, cap * sizeof(*ifs));
    if (ifs)
        st->ifs = ifs;
    struct pending *pending = realloc(st->pending, cap * sizeof(*pending));
    if (pending)
        st->pending = pending;
    if (!ifs || !pending) {
        free(st->ifs);
        free(st->pending);
        st->ifs = NULL;
        st->pending = NULL;
        st->n = st->cap = 0;
        return -ENOMEM;
    }
    st->cap = cap;
    if (st->n > cap)
        st->n = cap;
    st->hint = 0;
    return 0;
}

static void account(const struct ward_collect_ctx *ctx, struct iface *e, const uint64_t *value)
{
    for (size_t i = 0; i < N_STATS; i++) {
        double total = ward_counter_update(&e->counter[i], value[i]);
        ward_emit1(ctx, &stats[i].metric, total, "interface", e->name);
    }
}

static struct iface *add(struct state *st, const char *name)
{
    struct iface *e = &st->ifs[st->n++];
    memset(e, 0, sizeof(*e));
    snprintf(e->name, sizeof(e->name), "%s", name);
    e->seen = st->read;
    return e;
}

static bool is_pending(const struct state *st, const char *name)
{
    for (size_t i = 0; i < st->n_pending; i++)
        if (strcmp(st->pending[i].name, name) == 0)
            return true;
    return false;
}

/* Handles one interface line; returns how many interfaces it left out for the cap. */
static size_t handle(struct state *st, const struct ward_collect_ctx *ctx, const char *name,
                     bool good, const uint64_t *value)
{
    struct iface *e = find(st, name);
    if (e) {
        if (e->seen == st->read)
            return 0; /* a repeated line: the first one counted */
        e->seen = st->read;
        if (good)
            account(ctx, e, value);
        return 0;
    }
    if (!good)
        return 0;
    if (st->n < st->cap) {
        account(ctx, add(st, name), value);
        return 0;
    }
    if (st->n_pending < st->cap && !is_pending(st, name)) {
        struct pending *p = &st->pending[st->n_pending++];
        snprintf(p->name, sizeof(p->name), "%s", name);
        memcpy(p->value, value, sizeof(p->value));
        return 0;
    }
    return 1;
}

/* Forgets the interfaces this read did not see, keeping the order of the others. */
static void forget_gone(struct state *st)
{
    size_t kept = 0;
    for (size_t i = 0; i < st->n; i++) {
        if (st->ifs[i].seen != st->read)
            continue;
        if (kept != i)
            st->ifs[kept] = st->ifs[i];
        kept++;
    }
    st->n = kept;
    st->hint = 0;
}

static int dev_collect(void *state, const struct ward_collect_ctx *ctx)
{
    struct state *st = state;
    int r = resize(st, cap_of(ctx));
    if (r < 0)
        return r;
    FILE *f = ward_collect_open(ctx, "/proc/net/dev");
    if (!f)
        return -errno;
    const char *exclude = ctx->settings ? ctx->settings->net_exclude : WARD_NET_EXCLUDE_DEFAULT;
    st->read++;
    st->n_pending = 0;
    size_t dropped = 0;
    bool any = false;
    char line[NET_LINE_MAX];
    for (size_t lines = 0; lines < NET_MAX_LINES; lines++) {
        int len = ward_collect_read_line(f, line, sizeof(line));
        if (len == -1)
            break;
        char name[IFNAMSIZ];
        uint64_t value[N_STATS];
        int good = len < 0 ? -1 : parse_line(line, name, value);
        if (good < 0)
            continue;
        any = true;
        if (ward_match_any(exclude, name))
            continue;
        struct iface *known = find(st, name);
        int64_t age = known ? ctx->now_ms - known->type_ms : -1;
        if (age < 0 || age >= TYPE_RECHECK_MS) {
            if (is_monitor(ctx, name))
                continue;
            if (known)
                known->type_ms = ctx->now_ms;
        }
        dropped += handle(st, ctx, name, good > 0, value);
    }
    bool failed = ferror(f);
    fclose(f);

    forget_gone(st);
    for (size_t i = 0; i < st->n_pending; i++) {
        if (st->n < st->cap)
            account(ctx, add(st, st->pending[i].name), st->pending[i].value);
        else
            dropped++;
    }
    if (!any)
        return failed ? -EIO : -ENODATA;
    ward_emit0(ctx, &dropped_metric, (double)dropped);
    return 0;
}

const struct ward_collector ward_collector_proc_net_dev = {
    .size = sizeof(struct ward_collector),
    .name = "network",
    .default_interval_ms = 5000,
    .init = dev_init,
    .collect = dev_collect,
    .done = dev_done,
};
