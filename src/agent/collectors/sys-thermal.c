/*
 * Thermal zone temperatures from /sys/class/thermal.
 *
 * The kernel's thermal framework (Documentation/driver-api/thermal/
 * sysfs-api.rst) gives each zone a directory thermal_zone<N> with "type",
 * what the zone measures ("x86_pkg_temp", "acpitz", "cpu-thermal"), and
 * "temp", in millidegrees Celsius, signed. On boards without hwmon drivers
 * (most ARM boards) this is the only temperature there is; on PCs it
 * overlaps with hwmon, but is what the firmware's thermal policy acts on.
 *
 * One gauge per zone, labelled zone (N, as node_exporter's
 * node_thermal_zone_temp labels it) and type ("" when the zone has none).
 * The cooling_device<N> entries of the same directory are not zones and
 * are skipped. A zone whose sensor is off fails its read (EAGAIN, ENODATA
 * or EINVAL, by driver); it is skipped and the others are emitted.
 *
 * Entries are symlinks into /sys/devices/virtual/thermal. As in the hwmon
 * collector, they are resolved by text, relative to the link and inside
 * the host root, and a recorded tree's link (a regular file holding a
 * path) is read as the link it stands for.
 */
#include "agent/collector.h"

#include "common/parse.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Zones read per collection; phones and SoCs have a few dozen at most. */
#define THERMAL_MAX_ZONES 128
/* Directory entries looked at, to bound the time spent on a huge directory. */
#define THERMAL_MAX_DIR_ENTRIES 4096
/* Longest zone type kept; longer ones are cut. */
#define THERMAL_MAX_TYPE 64
/* Longest root-relative path built. */
#define THERMAL_MAX_PATH 512
/* Path components a resolved link may have. */
#define THERMAL_MAX_DEPTH 64

/* Plausible readings in millidegrees Celsius; others are driver error codes. */
#define TEMP_MIN_MC (-273150)
#define TEMP_MAX_MC 1000000

static const struct ward_metric zone_temp = {"sensors", "thermal_zone_celsius", WARD_SAMPLE_GAUGE,
                                             "Temperature of a thermal zone."};

struct state {
    unsigned zones[THERMAL_MAX_ZONES]; /* N of each thermal_zoneN, sorted */
};

static int thermal_init(void **state)
{
    struct state *st = calloc(1, sizeof(*st));
    if (!st)
        return -ENOMEM;
    *state = st;
    return 0;
}

static void thermal_done(void *state)
{
    free(state);
}

/*
 * Joins rel to the directory base (root-relative; an absolute rel starts
 * from the root) without ".", ".." or empty components; refuses to climb
 * above the root. Writes out only on success.
 */
static int join_path(const char *base, const char *rel, char *out, size_t size)
{
    char tmp[THERMAL_MAX_PATH];
    size_t marks[THERMAL_MAX_DEPTH];
    size_t len = 0, depth = 0;
    const char *parts[2] = {rel[0] == '/' ? "" : base, rel};
    for (size_t i = 0; i < 2; i++) {
        const char *p = parts[i];
        while (*p) {
            p += strspn(p, "/");
            size_t n = strcspn(p, "/");
            if (n == 0 || (n == 1 && p[0] == '.')) {
                /* nothing to add */
            } else if (n == 2 && p[0] == '.' && p[1] == '.') {
                if (depth == 0)
                    return -EINVAL;
                len = marks[--depth];
            } else {
                if (depth == THERMAL_MAX_DEPTH || len + 1 + n >= sizeof(tmp))
                    return -ENAMETOOLONG;
                marks[depth++] = len;
                tmp[len++] = '/';
                memcpy(tmp + len, p, n);
                len += n;
            }
            p += n;
        }
    }
    if (len == 0)
        tmp[len++] = '/';
    if (len >= size)
        return -ENAMETOOLONG;
    memcpy(out, tmp, len);
    out[len] = '\0';
    return 0;
}

/*
 * Resolves the class entry at path (root-relative) to the root-relative
 * directory it names: a directory is itself, a symlink or recorded link is
 * joined to the directory holding it. Returns 0 or a negative errno.
 */
static int resolve_link(const struct ward_collect_ctx *ctx, const char *path, char *out,
                        size_t size)
{
    char full[4096], target[THERMAL_MAX_PATH];
    int r = ward_collect_path(ctx, path, full, sizeof(full));
    if (r < 0)
        return r;
    struct stat sb;
    if (lstat(full, &sb) < 0)
        return -errno;
    if (S_ISDIR(sb.st_mode)) {
        if (strlen(path) >= size)
            return -ENAMETOOLONG;
        memcpy(out, path, strlen(path) + 1);
        return 0;
    }
    if (S_ISLNK(sb.st_mode)) {
        ssize_t n = readlink(full, target, sizeof(target));
        if (n < 0)
            return -errno;
        if ((size_t)n >= sizeof(target))
            return -ENAMETOOLONG;
        target[n] = '\0';
    } else if (S_ISREG(sb.st_mode)) {
        r = ward_collect_read(ctx, path, target, sizeof(target));
        if (r < 0)
            return r;
        if (target[0] != '.' && target[0] != '/')
            return -ENOTDIR;
    } else {
        return -ENOTDIR;
    }
    char base[THERMAL_MAX_PATH];
    const char *slash = strrchr(path, '/');
    size_t blen = slash ? (size_t)(slash - path) : 0;
    if (blen >= sizeof(base))
        return -ENAMETOOLONG;
    memcpy(base, path, blen);
    base[blen] = '\0';
    return join_path(base, target, out, size);
}

static int cmp_unsigned(const void *a, const void *b)
{
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
    return x < y ? -1 : x > y;
}

/*
 * Lists the thermal_zoneN entries: the max lowest N, sorted. Returns how
 * many or a negative errno.
 */
static int list_zones(const struct ward_collect_ctx *ctx, unsigned *out, size_t max)
{
    char full[4096];
    int r = ward_collect_path(ctx, "/sys/class/thermal", full, sizeof(full));
    if (r < 0)
        return r;
    DIR *d = opendir(full);
    if (!d)
        return -errno;
    size_t n = 0, looked = 0;
    struct dirent *e;
    while (looked++ < THERMAL_MAX_DIR_ENTRIES && (e = readdir(d))) {
        if (strncmp(e->d_name, "thermal_zone", 12) != 0)
            continue;
        const char *num = e->d_name + 12;
        int64_t v;
        if (*num < '0' || *num > '9' || (*num == '0' && num[1]))
            continue; /* not a kernel name: "thermal_zone", "thermal_zone01" */
        if (ward_parse_int_range(num, 0, 999999, &v) < 0)
            continue;
        if (n < max) {
            out[n++] = (unsigned)v;
            continue;
        }
        /* Full: keep the lowest numbers, whatever order the directory lists them in. */
        size_t big = 0;
        for (size_t i = 1; i < n; i++)
            if (out[i] > out[big])
                big = i;
        if (n > 0 && (unsigned)v < out[big])
            out[big] = (unsigned)v;
    }
    closedir(d);
    qsort(out, n, sizeof(*out), cmp_unsigned);
    return (int)n;
}

/* Emits zone n. Returns 0 or a negative errno. */
static int collect_zone(const struct ward_collect_ctx *ctx, unsigned n)
{
    char entry[64], dir[THERMAL_MAX_PATH], path[THERMAL_MAX_PATH + 8];
    snprintf(entry, sizeof(entry), "/sys/class/thermal/thermal_zone%u", n);
    int r = resolve_link(ctx, entry, dir, sizeof(dir));
    if (r < 0)
        return r;
    int64_t mc;
    snprintf(path, sizeof(path), "%s/temp", dir);
    r = ward_collect_read_int(ctx, path, &mc);
    if (r < 0)
        return r;
    if (mc < TEMP_MIN_MC || mc > TEMP_MAX_MC)
        return -ERANGE;
    char raw[THERMAL_MAX_TYPE + 1], type[THERMAL_MAX_TYPE + 1];
    snprintf(path, sizeof(path), "%s/type", dir);
    r = ward_collect_read(ctx, path, raw, sizeof(raw));
    ward_label_copy(type, sizeof(type), raw, r > 0 ? (size_t)r : 0);
    char zone[16];
    snprintf(zone, sizeof(zone), "%u", n);
    const struct ward_label labels[2] = {{"zone", zone}, {"type", type}};
    ward_emit(ctx, &zone_temp, (double)mc / 1000.0, labels, 2);
    return 0;
}

static int thermal_collect(void *state, const struct ward_collect_ctx *ctx)
{
    struct state *st = state;
    int n = list_zones(ctx, st->zones, THERMAL_MAX_ZONES);
    if (n < 0)
        return n;
    if (n == 0)
        return -ENOENT; /* the class exists, but no driver registered a zone */
    int emitted = 0, err = 0;
    for (int i = 0; i < n; i++) {
        int r = collect_zone(ctx, st->zones[i]);
        if (r == 0)
            emitted++;
        else if (!err)
            err = r;
    }
    return emitted ? 0 : err;
}

const struct ward_collector ward_collector_sys_thermal = {
    .size = sizeof(struct ward_collector),
    .name = "thermal",
    .default_interval_ms = 10000,
    .init = thermal_init,
    .collect = thermal_collect,
    .done = thermal_done,
};
