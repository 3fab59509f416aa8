/*
 * The collector interface of ward-agent.
 *
 * A collector reads one data source (a /proc or /sys file, a socket) and
 * emits samples through ward_emit(). Collectors are const structs listed in
 * one table in collector.c; adding a data source is one new file plus one
 * line there.
 *
 * Every metric a collector produces is described once by a static struct
 * ward_metric: its category and name (the wire's metric_type and
 * metric_name, and category_name in Prometheus exposition), whether it is a
 * gauge or a counter, and a line of help. Samples refer to their metric by
 * pointer, so a sample costs no string copies beyond its labels.
 *
 * Every path a collector reads goes through ward_collect_path() or the
 * helpers built on it, which prefix the configurable host root, so tests run
 * collectors on recorded trees.
 *
 * A collector keeps whatever it needs between calls (previous counters for
 * rates) in its own state, created by init and freed by done. Conventions:
 * names are snake_case with a unit suffix (_bytes, _seconds, _percent,
 * _celsius); counters end in _total, are cumulative, and never go backwards
 * (a collector turns kernel wraps and resets into a monotonic count); a rate
 * or percentage is computed from deltas, and the first read only sets the
 * baseline.
 */
#ifndef WARD_COLLECTOR_H
#define WARD_COLLECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define WARD_SAMPLE_MAX_LABELS 6

enum ward_sample_kind {
    WARD_SAMPLE_GAUGE = 0,
    WARD_SAMPLE_COUNTER = 1,
};

/* A metric, described once. Instances are static and outlive every sample. */
struct ward_metric {
    const char *category; /* "cpu", "ram", "disk", ... */
    const char *name;     /* "usage_percent", "read_bytes_total", ... */
    enum ward_sample_kind kind;
    const char *help; /* one line, shown as # HELP */
};

struct ward_label {
    const char *key;
    const char *value;
};

/* Where samples go; implemented by batch.c and by tests. */
struct ward_sink {
    /*
     * Receives one sample of metric m. Label strings are copied; labels may
     * come in any order. Returns 0 or a negative error.
     */
    int (*emit)(struct ward_sink *sink, const struct ward_metric *m, double value,
                const struct ward_label *labels, size_t n_labels);
};

/* Collector knobs from the agent's configuration. */
struct ward_collect_settings {
    const char *net_exclude;    /* comma-separated glob patterns of interfaces to skip */
    int64_t net_max_interfaces; /* cardinality cap of the network collector */
    int64_t top_n;              /* processes listed by CPU and by memory */
    int64_t statvfs_timeout_ms; /* deadline of one filesystem size query */
};

/* Defaults of struct ward_collect_settings, for tests and the agent's option table. */
#define WARD_NET_EXCLUDE_DEFAULT "lo,docker*,veth*,br-*,virbr*"
#define WARD_NET_MAX_INTERFACES  32
#define WARD_TOP_N_DEFAULT       10
#define WARD_STATVFS_TIMEOUT_MS  2000

struct ward_collect_ctx {
    const char *root; /* host root: "" for the real system, or a fixture tree */
    int64_t now_ms;   /* wall-clock time of this collection */
    const struct ward_collect_settings *settings;
    struct ward_sink *sink;
};

struct ward_collector {
    size_t size;                 /* sizeof(struct ward_collector) */
    const char *name;            /* "cpu", "memory", ...; the configuration key */
    int64_t default_interval_ms; /* how often it runs unless configured */
    /* Creates the collector's state in *state (may stay NULL). Returns 0 or an error. */
    int (*init)(void **state);
    /*
     * Reads its source and emits samples. Returns 0, or a negative error
     * when the source could not be read at all; a partial read emits what it
     * has and returns 0. -ENOENT from a collector whose hardware is absent
     * (no wifi, not a Raspberry Pi) means "nothing to collect here".
     */
    int (*collect)(void *state, const struct ward_collect_ctx *ctx);
    /* Frees the state. Accepts NULL. */
    void (*done)(void *state);
};

/* The table of all collectors, in the order they run. */
extern const struct ward_collector *const ward_collectors[];
extern const size_t ward_n_collectors;

/* Emits a sample of m with n labels. */
int ward_emit(const struct ward_collect_ctx *ctx, const struct ward_metric *m, double value,
              const struct ward_label *labels, size_t n);

/* Emits a sample of m without labels. */
int ward_emit0(const struct ward_collect_ctx *ctx, const struct ward_metric *m, double value);

/* Emits a sample of m with one label. */
int ward_emit1(const struct ward_collect_ctx *ctx, const struct ward_metric *m, double value,
               const char *key, const char *label);

/*
 * Writes root + path into out (size bytes). Returns 0, or -ENAMETOOLONG when
 * it does not fit.
 */
int ward_collect_path(const struct ward_collect_ctx *ctx, const char *path, char *out, size_t size);

/*
 * True when the collector reads the machine it runs on (root "" or "/"), not
 * a recorded tree: sources that are not files (netlink, ioctls) are only
 * asked then.
 */
bool ward_collect_live(const struct ward_collect_ctx *ctx);

/* Opens root + path for reading (close-on-exec). Returns NULL with errno set. */
FILE *ward_collect_open(const struct ward_collect_ctx *ctx, const char *path);

/*
 * Reads a small file under the root (a sysfs attribute) into out, at most
 * size - 1 bytes, NUL-terminated, with trailing whitespace removed.
 * Returns the length, or a negative errno.
 */
int ward_collect_read(const struct ward_collect_ctx *ctx, const char *path, char *out, size_t size);

/*
 * Reads one line of f into buf (size bytes) without its newline. Returns its
 * length, -1 at end of file, or -2 for a line that was too long or held a
 * NUL byte: it is consumed whole and should be skipped.
 */
int ward_collect_read_line(FILE *f, char *buf, size_t size);

/* Reads a file holding one signed decimal integer. Returns 0 or a negative errno/-EINVAL. */
int ward_collect_read_int(const struct ward_collect_ctx *ctx, const char *path, int64_t *out);

/* Longest root-relative path ward_collect_resolve() produces. */
#define WARD_COLLECT_PATH_MAX 512

/*
 * Resolves a sysfs class entry at path (root-relative, "/sys/class/hwmon/
 * hwmon0") to the root-relative directory it names: a directory is itself; a
 * symlink, or a regular file holding a link target (as recorded trees store
 * links), is joined to the directory that holds it. The result never climbs
 * above the root. Writes out (size bytes) only on success; returns 0 or a
 * negative errno (-EINVAL for a link that leaves the root).
 */
int ward_collect_resolve(const struct ward_collect_ctx *ctx, const char *path, char *out,
                         size_t size);

/*
 * Lists the entries of dir (root-relative) named prefix followed by a
 * kernel-style number ("hwmon3", "thermal_zone12", not "hwmon03"): at most
 * max of them, the lowest numbers, sorted, whatever order the directory
 * gives. Returns how many, or a negative errno when dir cannot be read.
 */
int ward_collect_list_numbered(const struct ward_collect_ctx *ctx, const char *dir,
                               const char *prefix, unsigned *out, size_t max);

/*
 * Parses up to max whitespace-separated unsigned decimal fields from s.
 * Returns the number parsed (stopping at the first non-number), never more
 * than max. A field too large for 64 bits saturates at UINT64_MAX.
 */
size_t ward_parse_u64_fields(const char *s, uint64_t *out, size_t max);

/*
 * A cumulative counter built from a kernel counter that may wrap at 32 or 64
 * bits or reset (a driver reload, a device replaced). ward_counter_update()
 * returns the monotonic total: the first reading counts from the raw value;
 * a smaller reading is a wrap when the previous value was within the 32-bit
 * range and the wrapped delta is plausible, and otherwise a reset, in which
 * case the new raw value is added as it stands. The total never decreases.
 */
struct ward_counter {
    uint64_t last_raw;
    double total;
    bool valid;
};

double ward_counter_update(struct ward_counter *c, uint64_t raw);

/*
 * Returns true when the len bytes at name could be a kernel network
 * interface name, and so are safe in a path and a label: 1 to 15 printable
 * ASCII bytes without '/', ':' or '|', and not "." or "..".
 */
bool ward_valid_ifname(const char *name, size_t len);

/*
 * Copies len bytes of src into a label buffer of size bytes, NUL-terminated:
 * control characters and bytes that are not UTF-8 become '?', and a
 * character that does not fit is left out whole.
 */
void ward_label_copy(char *dst, size_t size, const char *src, size_t len);

/* Returns true when name matches one of the comma-separated glob patterns. */
bool ward_match_any(const char *patterns, const char *name);

#endif
