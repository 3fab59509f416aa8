/*
 * The table of collectors, in the order they run.
 *
 * Adding a data source is its file in collectors/ plus one line here. The
 * table lives apart from the shared helpers so that a collector's tests link
 * that collector alone.
 */
#include "agent/collector.h"

extern const struct ward_collector ward_collector_proc_stat;
extern const struct ward_collector ward_collector_proc_loadavg;
extern const struct ward_collector ward_collector_proc_meminfo;
extern const struct ward_collector ward_collector_proc_mountinfo;
extern const struct ward_collector ward_collector_proc_diskstats;
extern const struct ward_collector ward_collector_proc_net_dev;
extern const struct ward_collector ward_collector_proc_net_wireless;
extern const struct ward_collector ward_collector_proc_pid;
extern const struct ward_collector ward_collector_system;
extern const struct ward_collector ward_collector_sys_hwmon;
extern const struct ward_collector ward_collector_sys_thermal;
extern const struct ward_collector ward_collector_rpi;
extern const struct ward_collector ward_collector_reachability;

const struct ward_collector *const ward_collectors[] = {
    &ward_collector_proc_stat,         &ward_collector_proc_loadavg,   &ward_collector_proc_meminfo,
    &ward_collector_proc_mountinfo,    &ward_collector_proc_diskstats, &ward_collector_proc_net_dev,
    &ward_collector_proc_net_wireless, &ward_collector_proc_pid,       &ward_collector_system,
    &ward_collector_sys_hwmon,         &ward_collector_sys_thermal,    &ward_collector_rpi,
    &ward_collector_reachability,
};
const size_t ward_n_collectors = sizeof(ward_collectors) / sizeof(ward_collectors[0]);
