/*
 * Tests of the /proc/diskstats collector: the three line formats, whole
 * devices by /sys/block and by the naming rule, counters that wrap or
 * reset, malformed lines, the device cap, and node_exporter's recorded
 * machine, whose values must equal node_exporter's own readings.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "collector-test.h"

extern const struct ward_collector ward_collector_proc_diskstats;
static const struct ward_collector *const c = &ward_collector_proc_diskstats;

static void near(double got, double want)
{
    if (fabs(got - want) > 1e-9 * fmax(1.0, fabs(want)))
        fail_msg("got %.17g, want %.17g", got, want);
}

static void mkdir_in(const char *root, const char *rel)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s%s", root, rel);
    assert_int_equal(mkdir(path, 0755), 0);
}

static FILE *create_in(const char *root, const char *rel)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s%s", root, rel);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    return f;
}

static void formats_and_whole_devices(void **unused)
{
    (void)unused;
    void *st;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(c->init(&st), 0);
    assert_int_equal(collector_run(c, st, FIXTURES "/diskio-formats", NULL, &r), 0);
    /* The 11-field format: no discard counters. */
    near(rec_value(&r, "diskio_reads_completed_total", "device=sda"), 100);
    near(rec_value(&r, "diskio_read_bytes_total", "device=sda"), 2000 * 512.0);
    near(rec_value(&r, "diskio_read_time_seconds_total", "device=sda"), 0.3);
    near(rec_value(&r, "diskio_writes_completed_total", "device=sda"), 50);
    near(rec_value(&r, "diskio_write_bytes_total", "device=sda"), 1000 * 512.0);
    near(rec_value(&r, "diskio_write_time_seconds_total", "device=sda"), 0.4);
    near(rec_value(&r, "diskio_io_in_progress", "device=sda"), 2);
    near(rec_value(&r, "diskio_io_time_seconds_total", "device=sda"), 0.7);
    assert_null(rec_find(&r, "diskio_discards_completed_total", "device=sda"));
    /* The 15-field format adds discards. */
    near(rec_value(&r, "diskio_discards_completed_total", "device=nvme0n1"), 10);
    near(rec_value(&r, "diskio_discarded_bytes_total", "device=nvme0n1"), 8000 * 512.0);
    near(rec_value(&r, "diskio_discard_time_seconds_total", "device=nvme0n1"), 0.05);
    /* The 17-field format: every field lands in its place. */
    near(rec_value(&r, "diskio_reads_completed_total", "device=sdb"), 1);
    near(rec_value(&r, "diskio_read_bytes_total", "device=sdb"), 3 * 512.0);
    near(rec_value(&r, "diskio_read_time_seconds_total", "device=sdb"), 0.004);
    near(rec_value(&r, "diskio_writes_completed_total", "device=sdb"), 5);
    near(rec_value(&r, "diskio_write_bytes_total", "device=sdb"), 7 * 512.0);
    near(rec_value(&r, "diskio_write_time_seconds_total", "device=sdb"), 0.008);
    near(rec_value(&r, "diskio_io_in_progress", "device=sdb"), 9);
    near(rec_value(&r, "diskio_io_time_seconds_total", "device=sdb"), 0.010);
    near(rec_value(&r, "diskio_discards_completed_total", "device=sdb"), 12);
    near(rec_value(&r, "diskio_discarded_bytes_total", "device=sdb"), 14 * 512.0);
    near(rec_value(&r, "diskio_discard_time_seconds_total", "device=sdb"), 0.015);
    near(rec_value(&r, "diskio_reads_completed_total", "device=md127"), 70);
    /* '/' in a name is '!' in /sys/block; the label keeps the kernel's name. */
    near(rec_value(&r, "diskio_read_bytes_total", "device=cciss/c0d0"), 8 * 512.0);
    near(rec_value(&r, "diskio_reads_completed_total", "device=dm-0"), 7);
    /* Partitions, loop and zram devices, and sdc (no /sys/block/sdc) are not reported. */
    assert_int_equal(rec_count(&r, "diskio_io_in_progress"), 6);
    assert_int_equal(rec_count(&r, "diskio_reads_completed_total"), 6);
    assert_int_equal(rec_count(&r, "diskio_discards_completed_total"), 3);
    assert_null(rec_find(&r, "diskio_reads_completed_total", "device=sda1"));
    assert_null(rec_find(&r, "diskio_reads_completed_total", "device=loop0"));
    assert_null(rec_find(&r, "diskio_reads_completed_total", "device=zram0"));
    assert_null(rec_find(&r, "diskio_reads_completed_total", "device=sdc"));
    near(rec_value(&r, "diskio_devices_dropped", ""), 0);
    c->done(st);
    rec_done(&r);
}

static void wraps_and_resets_stay_monotonic(void **unused)
{
    (void)unused;
    void *st;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(c->init(&st), 0);
    /* No /sys/block in these trees: the naming rule decides (all are disks). */
    assert_int_equal(collector_run(c, st, FIXTURES "/diskio-wrap-a", NULL, &r), 0);
    near(rec_value(&r, "diskio_reads_completed_total", "device=sda"), 4294967290.0);
    near(rec_value(&r, "diskio_read_bytes_total", "device=sda"), 4294967000.0 * 512);
    near(rec_value(&r, "diskio_read_time_seconds_total", "device=sda"), 4294967.295);
    near(rec_value(&r, "diskio_writes_completed_total", "device=sdb"), 5e9);
    near(rec_value(&r, "diskio_reads_completed_total", "device=sdc"), 100);

    assert_int_equal(collector_run(c, st, FIXTURES "/diskio-wrap-b", NULL, &r), 0);
    /* 32-bit wraps: 4294967290 -> 5 is 11 more, 4294967000 -> 100 sectors is 396 more. */
    near(rec_value(&r, "diskio_reads_completed_total", "device=sda"), 4294967301.0);
    near(rec_value(&r, "diskio_read_bytes_total", "device=sda"), 4294967396.0 * 512);
    near(rec_value(&r, "diskio_read_time_seconds_total", "device=sda"), 4294967.305);
    near(rec_value(&r, "diskio_io_time_seconds_total", "device=sda"), 4294968.296);
    /* 5e9 is beyond 32 bits, so 10 after it is a reset: counted from zero again. */
    near(rec_value(&r, "diskio_writes_completed_total", "device=sdb"), 5000000010.0);
    near(rec_value(&r, "diskio_reads_completed_total", "device=sdb"), 20);
    assert_null(rec_find(&r, "diskio_reads_completed_total", "device=sdc"));

    assert_int_equal(collector_run(c, st, FIXTURES "/diskio-wrap-c", NULL, &r), 0);
    near(rec_value(&r, "diskio_reads_completed_total", "device=sda"), 4294967302.0);
    near(rec_value(&r, "diskio_io_time_seconds_total", "device=sda"), 4294968.796);
    near(rec_value(&r, "diskio_writes_completed_total", "device=sdb"), 5000000010.0);
    /* sdc came back from 100 to 3: a reset, so its total continues from 100. */
    near(rec_value(&r, "diskio_reads_completed_total", "device=sdc"), 103);
    near(rec_value(&r, "diskio_read_bytes_total", "device=sdc"), (800 + 24) * 512.0);
    c->done(st);
    rec_done(&r);
}

static void malformed_lines_are_skipped(void **unused)
{
    (void)unused;
    void *st;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(c->init(&st), 0);
    assert_int_equal(collector_run(c, st, FIXTURES "/diskio-malformed", NULL, &r), 0);
    /*
     * Kept: sdz (12 fields and trailing junk; its second line ignored), sdv
     * (the largest value that is not saturated), sdy (tab-separated), sdx
     * (no newline at the end of the file).
     */
    assert_int_equal(rec_count(&r, "diskio_io_in_progress"), 4);
    near(rec_value(&r, "diskio_reads_completed_total", "device=sdz"), 1);
    near(rec_value(&r, "diskio_io_time_seconds_total", "device=sdz"), 0.010);
    near(rec_value(&r, "diskio_reads_completed_total", "device=sdv"), 18446744073709551614.0);
    near(rec_value(&r, "diskio_reads_completed_total", "device=sdy"), 1);
    near(rec_value(&r, "diskio_reads_completed_total", "device=sdx"), 1);
    assert_null(rec_find(&r, "diskio_reads_completed_total", "device=sdu"));
    assert_null(rec_find(&r, "diskio_reads_completed_total", "device=sdlong"));
    c->done(st);
    rec_done(&r);
}

static void empty_missing_and_unreadable(void **unused)
{
    (void)unused;
    void *st;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(c->init(&st), 0);
    /* No block devices at all is a valid answer. */
    assert_int_equal(collector_run(c, st, FIXTURES "/diskio-empty", NULL, &r), 0);
    assert_int_equal(r.n, 1);
    near(rec_value(&r, "diskio_devices_dropped", ""), 0);
    assert_int_equal(collector_run(c, st, FIXTURES "/empty", NULL, &r), -ENOENT);
    assert_int_equal(r.n, 0);
    /* A directory where the file should be: opens, but reads fail. */
    assert_int_equal(collector_run(c, st, FIXTURES "/diskio-unreadable", NULL, &r), -EISDIR);
    assert_int_equal(r.n, 0);
    c->done(st);
    rec_done(&r);
}

static void write_devices(const char *root, const char *prefix, int from, int to, int reads)
{
    FILE *f = create_in(root, "/proc/diskstats");
    for (int i = from; i < to; i++)
        fprintf(f, "  8 %d %s%03d %d 0 8 1 1 0 8 1 0 2 2\n", i, prefix, i, reads);
    assert_int_equal(fclose(f), 0);
}

static void device_cap(void **unused)
{
    (void)unused;
    char *root = scratch_new("diskio");
    mkdir_in(root, "/proc");
    void *st;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(c->init(&st), 0);

    write_devices(root, "xd", 0, 200, 5);
    assert_int_equal(collector_run(c, st, root, NULL, &r), 0);
    assert_int_equal(rec_count(&r, "diskio_reads_completed_total"), 128);
    near(rec_value(&r, "diskio_devices_dropped", ""), 72);
    near(rec_value(&r, "diskio_reads_completed_total", "device=xd127"), 5);
    assert_null(rec_find(&r, "diskio_reads_completed_total", "device=xd128"));

    /* The same devices keep their slots: no churn, counters continue. */
    write_devices(root, "xd", 0, 200, 7);
    assert_int_equal(collector_run(c, st, root, NULL, &r), 0);
    assert_int_equal(rec_count(&r, "diskio_reads_completed_total"), 128);
    near(rec_value(&r, "diskio_reads_completed_total", "device=xd000"), 7);
    near(rec_value(&r, "diskio_reads_completed_total", "device=xd127"), 7);
    assert_null(rec_find(&r, "diskio_reads_completed_total", "device=xd128"));

    /*
     * xd000 goes away and xd128 is new. xd000 was present in the previous
     * read, so it keeps its slot one more read; after that xd128 takes it.
     */
    write_devices(root, "xd", 1, 129, 9);
    assert_int_equal(collector_run(c, st, root, NULL, &r), 0);
    assert_null(rec_find(&r, "diskio_reads_completed_total", "device=xd128"));
    near(rec_value(&r, "diskio_devices_dropped", ""), 1);
    assert_int_equal(collector_run(c, st, root, NULL, &r), 0);
    near(rec_value(&r, "diskio_reads_completed_total", "device=xd128"), 9);
    near(rec_value(&r, "diskio_devices_dropped", ""), 0);
    assert_int_equal(rec_count(&r, "diskio_reads_completed_total"), 128);

    c->done(st);
    rec_done(&r);
    scratch_free(root);
}

/* Reads node_exporter's value of family{device="dev"} from e2e-output.txt; false when absent. */
static bool node_value(const char *family, const char *dev, double *out)
{
    FILE *f = fopen(NODE_FIXTURE "/e2e-output.txt", "re");
    assert_non_null(f);
    char want[256];
    snprintf(want, sizeof(want), "%s{device=\"%s\"} ", family, dev);
    char line[1024];
    bool found = false;
    while (!found && fgets(line, sizeof(line), f)) {
        if (strncmp(line, want, strlen(want)) == 0) {
            char *end;
            *out = strtod(line + strlen(want), &end);
            found = end != line + strlen(want);
        }
    }
    fclose(f);
    return found;
}

/*
 * Our metric, node_exporter's family of the same diskstats field, and the
 * factor from theirs to ours (they count discarded sectors, we bytes).
 */
static const struct {
    const char *ours, *theirs;
    double factor;
} node_map[] = {
    {"diskio_reads_completed_total", "node_disk_reads_completed_total", 1},
    {"diskio_read_bytes_total", "node_disk_read_bytes_total", 1},
    {"diskio_read_time_seconds_total", "node_disk_read_time_seconds_total", 1},
    {"diskio_writes_completed_total", "node_disk_writes_completed_total", 1},
    {"diskio_write_bytes_total", "node_disk_written_bytes_total", 1},
    {"diskio_write_time_seconds_total", "node_disk_write_time_seconds_total", 1},
    {"diskio_io_time_seconds_total", "node_disk_io_time_seconds_total", 1},
    {"diskio_io_in_progress", "node_disk_io_now", 1},
    {"diskio_discards_completed_total", "node_disk_discards_completed_total", 1},
    {"diskio_discarded_bytes_total", "node_disk_discarded_sectors_total", 512},
    {"diskio_discard_time_seconds_total", "node_disk_discard_time_seconds_total", 1},
};

/*
 * Checks every sample of ours for the devices listed against
 * node_exporter's reading: equal to the last bit (both compute the same
 * double), and present exactly when node_exporter has the family.
 */
static void equal_to_node(const struct recorder *r, const char *const *devs, size_t n_devs)
{
    for (size_t d = 0; d < n_devs; d++) {
        char labels[64];
        snprintf(labels, sizeof(labels), "device=%s", devs[d]);
        for (size_t i = 0; i < sizeof(node_map) / sizeof(node_map[0]); i++) {
            double theirs;
            bool have = node_value(node_map[i].theirs, devs[d], &theirs);
            const struct rec_sample *s = rec_find(r, node_map[i].ours, labels);
            if (!have) {
                if (s)
                    fail_msg("%s{%s}: node_exporter has no value", node_map[i].ours, labels);
                continue;
            }
            double ours = rec_value(r, node_map[i].ours, labels);
            if (ours != theirs * node_map[i].factor)
                fail_msg("%s{%s} = %.17g, node_exporter's %s = %.17g", node_map[i].ours, labels,
                         ours, node_map[i].theirs, theirs);
        }
    }
}

/* Whole devices of node_exporter's diskstats, but loop and ram ones. */
static const char *const node_disks[] = {
    "sda", "dm-0",    "dm-1", "dm-2", "dm-3",    "dm-4", "dm-5",
    "vda", "mmcblk0", "sr0",  "sdb",  "nvme0n1", "sdc",
};

static void recorded_machine_with_its_sys_block(void **unused)
{
    (void)unused;
    void *st;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(c->init(&st), 0);
    assert_int_equal(collector_run(c, st, NODE_FIXTURE, NULL, &r), 0);
    /*
     * The recorded /sys/block holds only sda and dm-5 of the devices in
     * its diskstats (it was recorded apart), so those two are reported.
     */
    assert_int_equal(rec_count(&r, "diskio_io_in_progress"), 2);
    static const char *const present[] = {"sda", "dm-5"};
    equal_to_node(&r, present, 2);
    near(rec_value(&r, "diskio_read_bytes_total", "device=sda"), 513713216512.0);
    near(rec_value(&r, "diskio_io_time_seconds_total", "device=sda"), 9653.88);
    c->done(st);
    rec_done(&r);
}

static void recorded_machine_by_naming_rule(void **unused)
{
    (void)unused;
    /* node_exporter's /proc alone, without /sys: the naming rule decides. */
    char *root = scratch_new("diskio");
    char link[4096];
    snprintf(link, sizeof(link), "%s/proc", root);
    assert_int_equal(symlink(NODE_FIXTURE "/proc", link), 0);
    void *st;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(c->init(&st), 0);
    assert_int_equal(collector_run(c, st, root, NULL, &r), 0);
    /*
     * node_exporter reports these with the same values. It also reports
     * the partitions mmcblk0p1 and mmcblk0p2 (its exclusion pattern only
     * knows sd/vd/hd/xvd/nvme partitions), which we leave out as
     * partitions, and it leaves out fd0, which we keep as a whole disk.
     */
    equal_to_node(&r, node_disks, sizeof(node_disks) / sizeof(node_disks[0]));
    assert_int_equal(rec_count(&r, "diskio_io_in_progress"), 14);
    near(rec_value(&r, "diskio_reads_completed_total", "device=fd0"), 2);
    assert_null(rec_find(&r, "diskio_reads_completed_total", "device=mmcblk0p1"));
    assert_null(rec_find(&r, "diskio_reads_completed_total", "device=sda4"));
    assert_null(rec_find(&r, "diskio_reads_completed_total", "device=nvme0n1p2"));
    assert_null(rec_find(&r, "diskio_reads_completed_total", "device=ram0"));
    assert_null(rec_find(&r, "diskio_reads_completed_total", "device=loop7"));
    c->done(st);
    rec_done(&r);

    /* The same tree with a /sys/block that lists those disks gives the same answer. */
    mkdir_in(root, "/sys");
    mkdir_in(root, "/sys/block");
    for (size_t i = 0; i < sizeof(node_disks) / sizeof(node_disks[0]); i++) {
        char rel[64];
        snprintf(rel, sizeof(rel), "/sys/block/%s", node_disks[i]);
        mkdir_in(root, rel);
    }
    mkdir_in(root, "/sys/block/sda/sda1");
    rec_init(&r);
    assert_int_equal(c->init(&st), 0);
    assert_int_equal(collector_run(c, st, root, NULL, &r), 0);
    equal_to_node(&r, node_disks, sizeof(node_disks) / sizeof(node_disks[0]));
    assert_int_equal(rec_count(&r, "diskio_io_in_progress"), 13);
    assert_null(rec_find(&r, "diskio_reads_completed_total", "device=fd0"));
    c->done(st);
    rec_done(&r);
    scratch_free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(formats_and_whole_devices),
        cmocka_unit_test(wraps_and_resets_stay_monotonic),
        cmocka_unit_test(malformed_lines_are_skipped),
        cmocka_unit_test(empty_missing_and_unreadable),
        cmocka_unit_test(device_cap),
        cmocka_unit_test(recorded_machine_with_its_sys_block),
        cmocka_unit_test(recorded_machine_by_naming_rule),
    };
    return cmocka_run_group_tests(tests, NULL, scratch_teardown);
}
