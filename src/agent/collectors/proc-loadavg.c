/*
 * Load averages and runnable tasks from /proc/loadavg.
 *
 * The file is one line, "0.21 0.37 0.39 1/719 19737": the 1, 5 and 15
 * minute load averages (the kernel prints them as fixed point with two
 * decimals), then "runnable/existing" kernel scheduling entities (a
 * thread is one entity, so these are thread counts; the reader itself is
 * always among the runnable ones), then the most recently assigned PID.
 *
 * The load averages are exported as they stand, as node_exporter's
 * node_load1/5/15 are. The two counts become threads_runnable and
 * threads_existing: both are gauges, so neither ends in _total. The last
 * PID carries no information worth a series and is ignored.
 *
 * The line is short and read whole into a fixed buffer. Each field is
 * checked on its own, so a damaged field costs only its own sample; a file
 * with no usable field is an error. Values above the number of tasks a
 * system can have are refused.
 */
#include "agent/collector.h"

#include "common/parse.h"

#include <errno.h>
#include <string.h>

/* The line is about 60 bytes; anything past this is not /proc/loadavg. */
#define LOADAVG_MAX_BYTES 256
/* Fields of interest: three load averages and "runnable/existing". */
#define LOADAVG_FIELDS 4
/*
 * Bound of every value: loads and counts are numbers of tasks, and a
 * system has at most PID_MAX_LIMIT (2^22) of them. A larger value is a
 * damaged file, not a busy machine.
 */
#define LOADAVG_MAX_TASKS 4194304

static const struct ward_metric loads[3] = {
    {"cpu", "load1", WARD_SAMPLE_GAUGE, "Load average over 1 minute."},
    {"cpu", "load5", WARD_SAMPLE_GAUGE, "Load average over 5 minutes."},
    {"cpu", "load15", WARD_SAMPLE_GAUGE, "Load average over 15 minutes."},
};
static const struct ward_metric runnable = {
    "cpu", "threads_runnable", WARD_SAMPLE_GAUGE,
    "Threads running or ready to run now (the first count of /proc/loadavg's 4th field)."};
static const struct ward_metric existing = {
    "cpu", "threads_existing", WARD_SAMPLE_GAUGE,
    "Threads that exist on the system (the second count of /proc/loadavg's 4th field)."};

/* Splits s in place into at most max whitespace-separated fields. Returns how many. */
static size_t split(char *s, char **fields, size_t max)
{
    size_t n = 0;
    while (n < max) {
        s += strspn(s, " \t\n");
        if (!*s)
            break;
        fields[n++] = s;
        s += strcspn(s, " \t\n");
        if (*s)
            *s++ = '\0';
    }
    return n;
}

/* Parses "runnable/existing" into two counts. Returns 0 or -EINVAL. */
static int parse_tasks(char *field, int64_t *run, int64_t *all)
{
    char *slash = strchr(field, '/');
    if (!slash)
        return -EINVAL;
    *slash = '\0';
    int64_t r, a;
    if (ward_parse_int_range(field, 0, LOADAVG_MAX_TASKS, &r) < 0 ||
        ward_parse_int_range(slash + 1, 0, LOADAVG_MAX_TASKS, &a) < 0)
        return -EINVAL;
    *run = r;
    *all = a;
    return 0;
}

static int loadavg_collect(void *state, const struct ward_collect_ctx *ctx)
{
    (void)state;
    char text[LOADAVG_MAX_BYTES];
    int r = ward_collect_read(ctx, "/proc/loadavg", text, sizeof(text));
    if (r < 0)
        return r;
    if ((size_t)r == sizeof(text) - 1) {
        /* The file is longer than any /proc/loadavg: its last field may be cut. */
        char *cut = strrchr(text, ' ');
        *(cut ? cut : text) = '\0';
    }
    char *fields[LOADAVG_FIELDS];
    size_t n = split(text, fields, LOADAVG_FIELDS);
    int emitted = 0;
    for (size_t i = 0; i < 3 && i < n; i++) {
        double v;
        /*
         * The kernel prints no sign; ward_parse_double() refuses hex, inf,
         * nan and overflow.
         */
        if (fields[i][0] < '0' || fields[i][0] > '9' || ward_parse_double(fields[i], &v) < 0 ||
            v > LOADAVG_MAX_TASKS)
            continue;
        ward_emit0(ctx, &loads[i], v);
        emitted++;
    }
    int64_t run, all;
    if (n > 3 && parse_tasks(fields[3], &run, &all) == 0) {
        ward_emit0(ctx, &runnable, (double)run);
        ward_emit0(ctx, &existing, (double)all);
        emitted++;
    }
    return emitted ? 0 : -ENODATA;
}

const struct ward_collector ward_collector_proc_loadavg = {
    .size = sizeof(struct ward_collector),
    .name = "load",
    .default_interval_ms = 5000,
    .collect = loadavg_collect,
};
