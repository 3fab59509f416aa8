/*
 * Tests of the thermal zone collector: node_exporter's recorded machine
 * compared with node_exporter's output, synthetic zones (negative, absent
 * and broken readings, missing type, links), and the cap on zones.
 */
#include <errno.h>
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

extern const struct ward_collector ward_collector_sys_thermal;
static const struct ward_collector *const c = &ward_collector_sys_thermal;

static void eq(double got, double want)
{
    if (got != want)
        fail_msg("got %.17g, want %.17g", got, want);
}

static int run(const char *root, struct recorder *r)
{
    void *st;
    assert_int_equal(c->init(&st), 0);
    int ret = collector_run(c, st, root, NULL, r);
    c->done(st);
    return ret;
}

static void recorded_machine_matches_node_exporter(void **unused)
{
    (void)unused;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(run(NODE_FIXTURE, &r), 0);
    /*
     * node_thermal_zone_temp{type,zone} is our sensors_thermal_zone_celsius{zone,type}:
     * same labels and values. Every line node_exporter printed must match one
     * of our samples, and we must emit no others.
     */
    FILE *f = fopen(NODE_FIXTURE "/e2e-output.txt", "re");
    assert_non_null(f);
    char line[512];
    size_t compared = 0;
    static const char family[] = "node_thermal_zone_temp{";
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, family, sizeof(family) - 1) != 0)
            continue;
        char type[64], zone[16], labels[128];
        double want;
        assert_int_equal(sscanf(line + sizeof(family) - 1,
                                "type=\"%63[^\"]\",zone=\"%15[^\"]\"} %lf", type, zone, &want),
                         3);
        snprintf(labels, sizeof(labels), "zone=%s,type=%s", zone, type);
        eq(rec_value(&r, "sensors_thermal_zone_celsius", labels), want);
        compared++;
    }
    fclose(f);
    assert_int_equal(compared, 1);
    assert_int_equal(r.n, compared);
    /* The same, spelled out: cpu-thermal at 12376 millidegrees. */
    eq(rec_value(&r, "sensors_thermal_zone_celsius", "zone=0,type=cpu-thermal"), 12.376);
    rec_done(&r);
}

static void synthetic_zones(void **unused)
{
    (void)unused;
    assert_string_equal(c->name, "thermal");
    assert_int_equal(c->default_interval_ms, 10000);
    assert_int_equal(c->size, sizeof(struct ward_collector));
    struct recorder r;
    rec_init(&r);
    assert_int_equal(run(FIXTURES "/thermal-edge", &r), 0);
    eq(rec_value(&r, "sensors_thermal_zone_celsius", "zone=0,type=acpitz"), 27.8);
    /* Below zero is a valid reading. */
    eq(rec_value(&r, "sensors_thermal_zone_celsius", "zone=1,type=x86_pkg_temp"), -5);
    /* No type file: an empty type, not a missing label. */
    eq(rec_value(&r, "sensors_thermal_zone_celsius", "zone=2,type="), 45);
    /* A recorded link; the type's control character becomes '?', and it is cut at 64 bytes. */
    char labels[128];
    snprintf(labels, sizeof(labels), "zone=7,type=soc?thermal %.52s",
             "TTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTT");
    eq(rec_value(&r, "sensors_thermal_zone_celsius", labels), 99.999);
    eq(rec_value(&r, "sensors_thermal_zone_celsius", "zone=8,type=eight"), 8);
    eq(rec_value(&r, "sensors_thermal_zone_celsius", "zone=10,type=pch_skylake"), 0.123);
    /*
     * Skipped: zone 3 (temp is a directory: unreadable), 4 (not a number),
     * 5 (empty), 6 (below absolute zero), 12 (too large), 11 (links out of
     * the root), 13 (climbs above the root: it would land on a zone if
     * clamped there), 14 (a regular file that does not hold a link). cooling_device0,
     * "thermal_zone" and "thermal_zone08" are not zones.
     */
    assert_int_equal(r.n, 6);
    for (size_t i = 0; i < r.n; i++) {
        assert_string_equal(r.samples[i].metric->category, "sensors");
        assert_int_equal(r.samples[i].metric->kind, WARD_SAMPLE_GAUGE);
        assert_true(strncmp(r.samples[i].labels, "zone=", 5) == 0);
        assert_null(strstr(r.samples[i].labels, "outside"));
        assert_null(strstr(r.samples[i].labels, "clamped"));
        assert_true(strncmp(r.samples[i].labels, "zone=14,", 8) != 0);
        assert_null(strstr(r.samples[i].labels, "Processor"));
    }
    /* Zones come in numeric order. */
    assert_string_equal(r.samples[4].labels, "zone=8,type=eight");
    assert_string_equal(r.samples[5].labels, "zone=10,type=pch_skylake");
    rec_done(&r);
}

static void nothing_to_read(void **unused)
{
    (void)unused;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(run(FIXTURES "/empty", &r), -ENOENT);
    assert_int_equal(r.n, 0);
    /* A class directory with cooling devices only. */
    assert_int_equal(run(FIXTURES "/thermal-empty", &r), -ENOENT);
    assert_int_equal(r.n, 0);
    /* Zones exist but none can be read: the error. */
    assert_int_equal(run(FIXTURES "/thermal-broken", &r), -EISDIR);
    assert_int_equal(r.n, 0);
    rec_done(&r);
}

static void cap_on_zones(void **unused)
{
    (void)unused;
    char *root = scratch_new("thermal");
    char rel[128], val[32];
    /* 140 zones, made in descending order: the 128 lowest are read. */
    for (int i = 139; i >= 0; i--) {
        snprintf(rel, sizeof(rel), "/sys/class/thermal/thermal_zone%d/temp", i);
        snprintf(val, sizeof(val), "%d\n", i * 1000);
        scratch_put(root, rel, val);
    }
    struct recorder r;
    rec_init(&r);
    assert_int_equal(run(root, &r), 0);
    assert_int_equal(r.n, 128);
    eq(rec_value(&r, "sensors_thermal_zone_celsius", "zone=127,type="), 127);
    assert_null(rec_find(&r, "sensors_thermal_zone_celsius", "zone=128,type="));
    rec_done(&r);
    scratch_free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(recorded_machine_matches_node_exporter),
        cmocka_unit_test(synthetic_zones),
        cmocka_unit_test(nothing_to_read),
        cmocka_unit_test(cap_on_zones),
    };
    return cmocka_run_group_tests(tests, NULL, scratch_teardown);
}
