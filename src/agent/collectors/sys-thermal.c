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
/* Longest zone type kept; longer ones are cut. */
#define THERMAL_MAX_TYPE 64
/* Longest root-relative path built. */
#define THERMAL_MAX_PATH 512
/* Path components a resolved link may have. */

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

/* Emits zone n. Returns 0 or a negative errno. */
static int collect_zone(const struct ward_collect_ctx *ctx, unsigned n)
{
    char entry[64], dir[THERMAL_MAX_PATH], path[THERMAL_MAX_PATH + 8];
    snprintf(entry, sizeof(entry), "/sys/class/thermal/thermal_zone%u", n);
    int r = ward_collect_resolve(ctx, entry, dir, sizeof(dir));
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
    int n = ward_collect_list_numbered(ctx, "/sys/class/thermal", "thermal_zone", st->zones,
                                       THERMAL_MAX_ZONES);
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
