/*
 * Temperatures and fan speeds from the hwmon class, /sys/class/hwmon.
 *
 * Each hwmonN entry stands for one sensor chip; the kernel's
 * Documentation/hwmon/sysfs-interface.rst defines its attributes: "name"
 * (the chip), temp<N>_input in millidegrees Celsius with the optional
 * temp<N>_max and temp<N>_crit limits, fan<N>_input in RPM, and an
 * optional <sensor>_label naming what the sensor measures. Old drivers
 * keep the attributes in the parent device's directory instead (the hwmon
 * directory then holds only the "device" link), so the chip directory is
 * the hwmon directory when it has a "name" and the device's otherwise.
 *
 * Every entry is a symlink into /sys/devices. Links are resolved here, by
 * text, relative to the link and inside the host root, rather than left to
 * the kernel: that keeps every read under the root whatever a tree holds,
 * and gives the device's own name. Some recorded trees (node_exporter's,
 * as unpacked in our fixtures) store a link as a small regular file holding
 * its target; a regular file never appears where sysfs has a link, so such
 * a file, when it holds a path, is read as the link it stands for.
 *
 * Labels, in this order: chip (the "name" attribute, or the hwmonN entry
 * when a chip has none), device (the base name of the chip's "device" link,
 * such as "coretemp.0" or "0000:00:18.3", "" for a chip without a device),
 * sensor ("temp1", "fan2") and label (from <sensor>_label, "" when there is
 * none, so every series of a metric has the same keys). chip and device
 * together tell apart two chips with the same name, two CPU packages'
 * "coretemp" for instance, without the hwmonN numbers, which change from
 * one boot to the next. Two chips that still share both get the later
 * one's hwmonN appended to its device, so no series is emitted twice.
 *
 * Readings outside what the sensors can physically report (below absolute
 * zero, above 1000 C, negative or absurd RPM) are dropped: they are the
 * error codes of broken drivers, not temperatures. A sensor whose input
 * cannot be read (EIO or ENODATA is how drivers report an absent probe)
 * is skipped and the others are still emitted. At most 64 chips and 256
 * sensors are read per collection, the lowest-numbered first, so what is
 * kept never depends on the order a directory lists its entries in.
 */
#include "agent/collector.h"

#include "common/parse.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Chips looked at per collection; more is a misconfigured or hostile tree. */
#define HWMON_MAX_CHIPS 64
/* Sensors emitted per collection, all chips together. */
#define HWMON_MAX_SENSORS 256
/* Directory entries looked at per directory, to bound the time spent on a huge one. */
#define HWMON_MAX_DIR_ENTRIES 4096
/* Longest label value kept (chip, device, label); longer values are cut. */
#define HWMON_MAX_LABEL 64
/* Longest root-relative path built; sysfs device paths are much shorter. */
#define HWMON_MAX_PATH 512
/* Path components a resolved link may have. */
/* Highest sensor number accepted in temp<N>/fan<N>. */
#define HWMON_MAX_INDEX 9999

/* Plausible readings: millidegrees Celsius and RPM. */
#define TEMP_MIN_MC (-273150)
#define TEMP_MAX_MC 1000000
#define FAN_MAX_RPM 1000000

static const struct ward_metric temp_input = {"sensors", "temperature_celsius", WARD_SAMPLE_GAUGE,
                                              "Temperature of an hwmon sensor."};
static const struct ward_metric temp_max = {
    "sensors", "temperature_max_celsius", WARD_SAMPLE_GAUGE,
    "High limit of an hwmon temperature sensor (temp<N>_max), when the chip has one."};
static const struct ward_metric temp_crit = {
    "sensors", "temperature_crit_celsius", WARD_SAMPLE_GAUGE,
    "Critical limit of an hwmon temperature sensor (temp<N>_crit), when the chip has one."};
static const struct ward_metric fan_input = {"sensors", "fan_rpm", WARD_SAMPLE_GAUGE,
                                             "Speed of a fan in revolutions per minute."};

enum kind {
    KIND_TEMP,
    KIND_FAN,
};

static const char *const kind_prefix[] = {[KIND_TEMP] = "temp", [KIND_FAN] = "fan"};

struct sensor {
    enum kind kind;
    unsigned index;
};

struct chip_id {
    char chip[HWMON_MAX_LABEL + 1];
    char device[HWMON_MAX_LABEL + 1];
};

struct state {
    unsigned entries[HWMON_MAX_CHIPS]; /* N of each hwmonN, sorted */
    struct chip_id seen[HWMON_MAX_CHIPS];
    struct sensor sensors[HWMON_MAX_SENSORS];
};

/* What one collection found, for its return value. */
struct tally {
    size_t inputs;  /* temp/fan inputs found */
    size_t emitted; /* of which were read and emitted */
    size_t budget;  /* sensors still allowed this collection */
    int err;        /* first read error */
};

static int hwmon_init(void **state)
{
    struct state *st = calloc(1, sizeof(*st));
    if (!st)
        return -ENOMEM;
    *state = st;
    return 0;
}

static void hwmon_done(void *state)
{
    free(state);
}

static int read_label(const struct ward_collect_ctx *ctx, const char *dir, const char *attr,
                      char out[HWMON_MAX_LABEL + 1])
{
    char path[HWMON_MAX_PATH], raw[HWMON_MAX_LABEL + 1];
    int n = snprintf(path, sizeof(path), "%s/%s", dir, attr);
    if (n < 0 || (size_t)n >= sizeof(path))
        return -ENAMETOOLONG;
    int r = ward_collect_read(ctx, path, raw, sizeof(raw));
    if (r < 0)
        return r;
    ward_label_copy(out, HWMON_MAX_LABEL + 1, raw, (size_t)r);
    return (int)strlen(out);
}

/* Reads dir/<prefix><index><suffix> as one integer. Returns 0 or a negative errno. */
static int read_attr(const struct ward_collect_ctx *ctx, const char *dir, const struct sensor *s,
                     const char *suffix, int64_t *out)
{
    char path[HWMON_MAX_PATH];
    int n = snprintf(path, sizeof(path), "%s/%s%u%s", dir, kind_prefix[s->kind], s->index, suffix);
    if (n < 0 || (size_t)n >= sizeof(path))
        return -ENAMETOOLONG;
    return ward_collect_read_int(ctx, path, out);
}

/* Parses "<digits>" at s ending exactly at end, no leading zero. Returns the number or 0. */
static unsigned parse_index(const char *s, const char *end)
{
    if (s == end || *s == '0' || end - s > 4)
        return 0;
    unsigned v = 0;
    for (; s < end; s++) {
        if (*s < '0' || *s > '9')
            return 0;
        v = v * 10 + (unsigned)(*s - '0');
    }
    return v <= HWMON_MAX_INDEX ? v : 0;
}

/* Recognizes temp<N>_input and fan<N>_input. */
static bool parse_sensor(const char *name, struct sensor *out)
{
    for (size_t k = 0; k < sizeof(kind_prefix) / sizeof(kind_prefix[0]); k++) {
        size_t plen = strlen(kind_prefix[k]);
        if (strncmp(name, kind_prefix[k], plen) != 0)
            continue;
        const char *us = strchr(name + plen, '_');
        if (!us || strcmp(us, "_input") != 0)
            return false;
        unsigned idx = parse_index(name + plen, us);
        if (!idx)
            return false;
        *out = (struct sensor){.kind = (enum kind)k, .index = idx};
        return true;
    }
    return false;
}

static int cmp_sensor(const void *a, const void *b)
{
    const struct sensor *x = a, *y = b;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/*
 * Adds s to the n sensors of out (room for max). When out is full, the
 * largest is replaced if s is smaller, so the kept set never depends on the
 * order the directory lists its files in. Returns the new count.
 */
static size_t keep_smallest(struct sensor *out, size_t n, size_t max, const struct sensor *s)
{
    if (n < max) {
        out[n] = *s;
        return n + 1;
    }
    size_t big = 0;
    for (size_t i = 1; i < n; i++)
        if (cmp_sensor(&out[i], &out[big]) > 0)
            big = i;
    if (n > 0 && cmp_sensor(s, &out[big]) < 0)
        out[big] = *s;
    return n;
}

/*
 * Lists the temp/fan inputs of dir into out: the max first ones by kind
 * and number, sorted. Returns how many, or a negative errno when dir
 * cannot be opened.
 */
static int list_sensors(const struct ward_collect_ctx *ctx, const char *dir, struct sensor *out,
                        size_t max)
{
    char full[4096];
    int r = ward_collect_path(ctx, dir, full, sizeof(full));
    if (r < 0)
        return r;
    DIR *d = opendir(full);
    if (!d)
        return -errno;
    size_t n = 0, looked = 0;
    struct dirent *e;
    struct sensor s;
    while (looked++ < HWMON_MAX_DIR_ENTRIES && (e = readdir(d)))
        if (parse_sensor(e->d_name, &s))
            n = keep_smallest(out, n, max, &s);
    closedir(d);
    qsort(out, n, sizeof(*out), cmp_sensor);
    return (int)n;
}

static void emit_temp(const struct ward_collect_ctx *ctx, const struct ward_metric *m,
                      const struct ward_label *labels, int64_t mc)
{
    if (mc >= TEMP_MIN_MC && mc <= TEMP_MAX_MC)
        ward_emit(ctx, m, (double)mc / 1000.0, labels, 4);
}

/* Emits one sensor. Returns 0 when its input was emitted, or a negative errno. */
static int emit_sensor(const struct ward_collect_ctx *ctx, const struct chip_id *id,
                       const char *dir, const struct sensor *s)
{
    int64_t v;
    int r = read_attr(ctx, dir, s, "_input", &v);
    if (r < 0)
        return r;
    if (s->kind == KIND_TEMP ? (v < TEMP_MIN_MC || v > TEMP_MAX_MC) : (v < 0 || v > FAN_MAX_RPM))
        return -ERANGE;
    char sensor[16], attr[32], label[HWMON_MAX_LABEL + 1];
    snprintf(sensor, sizeof(sensor), "%s%u", kind_prefix[s->kind], s->index);
    snprintf(attr, sizeof(attr), "%s_label", sensor);
    if (read_label(ctx, dir, attr, label) < 0)
        label[0] = '\0';
    const struct ward_label labels[4] = {
        {"chip", id->chip}, {"device", id->device}, {"sensor", sensor}, {"label", label}};
    if (s->kind == KIND_FAN) {
        ward_emit(ctx, &fan_input, (double)v, labels, 4);
        return 0;
    }
    emit_temp(ctx, &temp_input, labels, v);
    if (read_attr(ctx, dir, s, "_max", &v) == 0)
        emit_temp(ctx, &temp_max, labels, v);
    if (read_attr(ctx, dir, s, "_crit", &v) == 0)
        emit_temp(ctx, &temp_crit, labels, v);
    return 0;
}

/* Copies the last component of path into out as a label, cut to HWMON_MAX_LABEL bytes. */
static void base_name(const char *path, char out[HWMON_MAX_LABEL + 1])
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    ward_label_copy(out, HWMON_MAX_LABEL + 1, b, strlen(b));
}

/*
 * Finds the chip directory of hwmon entry n and names the chip. Returns 0
 * or a negative errno when the entry does not resolve.
 */
static int locate_chip(const struct ward_collect_ctx *ctx, unsigned n, char *dir, size_t size,
                       struct chip_id *id)
{
    char entry[64], hw[HWMON_MAX_PATH], link[HWMON_MAX_PATH], dev[HWMON_MAX_PATH];
    snprintf(entry, sizeof(entry), "/sys/class/hwmon/hwmon%u", n);
    int r = ward_collect_resolve(ctx, entry, hw, sizeof(hw));
    if (r < 0)
        return r;
    id->device[0] = '\0';
    bool has_dev = false;
    r = snprintf(link, sizeof(link), "%s/device", hw);
    if (r > 0 && (size_t)r < sizeof(link) &&
        ward_collect_resolve(ctx, link, dev, sizeof(dev)) == 0) {
        has_dev = true;
        base_name(dev, id->device);
    }
    const char *chip_dir = hw;
    if (read_label(ctx, hw, "name", id->chip) <= 0) {
        if (has_dev && read_label(ctx, dev, "name", id->chip) > 0)
            chip_dir = dev;
        else
            snprintf(id->chip, sizeof(id->chip), "hwmon%u", n);
    }
    if (strlen(chip_dir) >= size)
        return -ENAMETOOLONG;
    memcpy(dir, chip_dir, strlen(chip_dir) + 1);
    return 0;
}

/* Makes id unique among the n chips already seen by appending the hwmon entry to its device. */
static void make_unique(struct state *st, size_t n, struct chip_id *id, unsigned entry)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(st->seen[i].chip, id->chip) != 0 || strcmp(st->seen[i].device, id->device) != 0)
            continue;
        char dev[HWMON_MAX_LABEL + 1];
        snprintf(dev, sizeof(dev), "%s", id->device);
        snprintf(id->device, sizeof(id->device), "%.40s%shwmon%u", dev, dev[0] ? ":" : "", entry);
        return;
    }
}

static void collect_chip(struct state *st, const struct ward_collect_ctx *ctx, size_t slot,
                         struct tally *t)
{
    char dir[HWMON_MAX_PATH];
    struct chip_id *id = &st->seen[slot];
    int r = locate_chip(ctx, st->entries[slot], dir, sizeof(dir), id);
    if (r < 0) {
        id->chip[0] = id->device[0] = '\0';
        return;
    }
    make_unique(st, slot, id, st->entries[slot]);
    int n = list_sensors(ctx, dir, st->sensors, t->budget);
    if (n < 0) {
        if (!t->err)
            t->err = n;
        return;
    }
    t->budget -= (size_t)n;
    for (int i = 0; i < n; i++) {
        t->inputs++;
        r = emit_sensor(ctx, id, dir, &st->sensors[i]);
        if (r == 0)
            t->emitted++;
        else if (!t->err)
            t->err = r;
    }
}

static int hwmon_collect(void *state, const struct ward_collect_ctx *ctx)
{
    struct state *st = state;
    int n =
        ward_collect_list_numbered(ctx, "/sys/class/hwmon", "hwmon", st->entries, HWMON_MAX_CHIPS);
    if (n < 0)
        return n;
    struct tally t = {.budget = HWMON_MAX_SENSORS};
    for (int i = 0; i < n && t.budget > 0; i++)
        collect_chip(st, ctx, (size_t)i, &t);
    if (t.emitted > 0)
        return 0;
    if (t.inputs == 0)
        return -ENOENT; /* no temperature or fan sensor on this machine */
    return t.err ? t.err : -ENODATA;
}

const struct ward_collector ward_collector_sys_hwmon = {
    .size = sizeof(struct ward_collector),
    .name = "temperature",
    .default_interval_ms = 10000,
    .init = hwmon_init,
    .collect = hwmon_collect,
    .done = hwmon_done,
};
