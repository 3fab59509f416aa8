/*
 * Tests of the hwmon collector: node_exporter's recorded machine compared
 * line by line with node_exporter's own output, synthetic trees with every
 * kind of broken sensor, link resolution that stays inside the root, and
 * the caps on chips and sensors (trees generated on the fly).
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

extern const struct ward_collector ward_collector_sys_hwmon;
static const struct ward_collector *const c = &ward_collector_sys_hwmon;

static void eq(double got, double want)
{
    if (got != want)
        fail_msg("got %.17g, want %.17g", got, want);
}

/* Runs the collector once on root with fresh state; returns its result. */
static int run(const char *root, struct recorder *r)
{
    void *st;
    assert_int_equal(c->init(&st), 0);
    int ret = collector_run(c, st, root, NULL, r);
    c->done(st);
    return ret;
}

/*
 * node_exporter names a chip after its device path; ours is the "name"
 * attribute plus the device's base name. This is the map for the chips of
 * node_exporter's end-to-end run (its --collector.hwmon.chip-include).
 */
static const struct {
    const char *node_chip;
    const char *ours; /* "chip=...,device=..." */
} chip_map[] = {
    {"platform_coretemp_0", "chip=coretemp,device=coretemp.0"},
    {"platform_coretemp_1", "chip=coretemp,device=coretemp.1"},
    {"platform_applesmc_768", "chip=applesmc,device=applesmc.768"},
    {"nct6779", "chip=nct6779,device="}, /* the recorded chip has no device link */
    {"hwmon4", "chip=hwmon4,device="},   /* no name attribute, no device */
    {"ieee80211_phy0_mt7996_phy0_0", "chip=mt7996_phy0_0,device=phy0"},
    {"ieee80211_phy0_mt7996_phy0_1", "chip=mt7996_phy0_1,device=phy0"},
    {"ieee80211_phy0_mt7996_phy0_2", "chip=mt7996_phy0_2,device=phy0"},
};

/* Our metric for each node_exporter family compared. */
static const struct {
    const char *node_family;
    const char *ours;
} family_map[] = {
    {"node_hwmon_temp_celsius", "sensors_temperature_celsius"},
    {"node_hwmon_temp_max_celsius", "sensors_temperature_max_celsius"},
    {"node_hwmon_temp_crit_celsius", "sensors_temperature_crit_celsius"},
    {"node_hwmon_fan_rpm", "sensors_fan_rpm"},
};

/* The one sample of name whose labels start with prefix; fails unless there is exactly one. */
static double value_by_prefix(const struct recorder *r, const char *name, const char *prefix)
{
    const struct rec_sample *found = NULL;
    for (size_t i = 0; i < r->n; i++) {
        const struct rec_sample *s = &r->samples[i];
        char full[128];
        snprintf(full, sizeof(full), "%s_%s", s->metric->category, s->metric->name);
        if (strcmp(full, name) != 0 || strncmp(s->labels, prefix, strlen(prefix)) != 0)
            continue;
        if (found)
            fail_msg("%s{%s...} emitted twice", name, prefix);
        found = s;
    }
    if (!found)
        fail_msg("no sample %s{%s...}", name, prefix);
    return found->value;
}

static void recorded_machine_matches_node_exporter(void **unused)
{
    (void)unused;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(run(NODE_FIXTURE, &r), 0);

    /*
     * Every node_hwmon_temp_celsius, _temp_max_celsius, _temp_crit_celsius
     * and _fan_rpm line of node_exporter's output for this tree must be one
     * of our samples with the same value, and we must emit no more of them.
     */
    FILE *f = fopen(NODE_FIXTURE "/e2e-output.txt", "re");
    assert_non_null(f);
    char line[512];
    size_t compared[4] = {0};
    while (fgets(line, sizeof(line), f)) {
        for (size_t fam = 0; fam < 4; fam++) {
            size_t flen = strlen(family_map[fam].node_family);
            if (strncmp(line, family_map[fam].node_family, flen) != 0 || line[flen] != '{')
                continue;
            char chip[64], sensor[32];
            double want;
            assert_int_equal(sscanf(line + flen, "{chip=\"%63[^\"]\",sensor=\"%31[^\"]\"} %lf",
                                    chip, sensor, &want),
                             3);
            const char *ours = NULL;
            for (size_t i = 0; i < sizeof(chip_map) / sizeof(chip_map[0]); i++)
                if (strcmp(chip_map[i].node_chip, chip) == 0)
                    ours = chip_map[i].ours;
            if (!ours)
                fail_msg("node_exporter chip %s has no counterpart", chip);
            char prefix[128];
            snprintf(prefix, sizeof(prefix), "%s,sensor=%s,label=", ours, sensor);
            eq(value_by_prefix(&r, family_map[fam].ours, prefix), want);
            compared[fam]++;
        }
    }
    fclose(f);
    /* How many lines node_exporter printed for each family, so a lost line fails too. */
    assert_int_equal(compared[0], 15);
    assert_int_equal(compared[1], 12);
    assert_int_equal(compared[2], 12);
    assert_int_equal(compared[3], 3);
    for (size_t fam = 0; fam < 4; fam++)
        assert_int_equal(rec_count(&r, family_map[fam].ours), compared[fam]);

    /* Labels, which node_exporter exports as node_hwmon_sensor_label. */
    eq(rec_value(&r, "sensors_temperature_celsius",
                 "chip=coretemp,device=coretemp.0,sensor=temp1,label=Physical id 0"),
       55);
    eq(rec_value(&r, "sensors_temperature_celsius",
                 "chip=coretemp,device=coretemp.1,sensor=temp5,label=Core 3"),
       50);
    eq(rec_value(&r, "sensors_temperature_max_celsius",
                 "chip=coretemp,device=coretemp.1,sensor=temp5,label=Core 3"),
       84);
    eq(rec_value(&r, "sensors_fan_rpm",
                 "chip=applesmc,device=applesmc.768,sensor=fan2,label=Right side"),
       1998);
    eq(rec_value(&r, "sensors_fan_rpm", "chip=nct6779,device=,sensor=fan2,label="), 1098);
    eq(rec_value(&r, "sensors_temperature_celsius",
                 "chip=hwmon4,device=,sensor=temp2,label=foosensor"),
       54);
    eq(rec_value(&r, "sensors_temperature_celsius",
                 "chip=mt7996_phy0_2,device=phy0,sensor=temp1,label="),
       57);
    rec_done(&r);
}

static void synthetic_edge_cases(void **unused)
{
    (void)unused;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(run(FIXTURES "/hwmon-edge", &r), 0);
    const char *it = "chip=it8728,device=it87.2608";
    char l[256];

    /* A good sensor; its non-numeric max is dropped, its crit kept. */
    snprintf(l, sizeof(l), "%s,sensor=temp1,label=CPU", it);
    eq(rec_value(&r, "sensors_temperature_celsius", l), 41);
    assert_null(rec_find(&r, "sensors_temperature_max_celsius", l));
    eq(rec_value(&r, "sensors_temperature_crit_celsius", l), 95);
    /* Below zero is fine; control characters in the label become '?'; max below 0 K dropped. */
    snprintf(l, sizeof(l), "%s,sensor=temp3,label=Out?side?", it);
    eq(rec_value(&r, "sensors_temperature_celsius", l), -12.5);
    assert_null(rec_find(&r, "sensors_temperature_max_celsius", l));
    /* The limits of the plausible range are accepted; UTF-8 is kept, a stray byte is not. */
    snprintf(l, sizeof(l), "%s,sensor=temp9,label=Geh\xc3\xa4use?", it);
    eq(rec_value(&r, "sensors_temperature_celsius", l), -273.15);
    eq(rec_value(&r, "sensors_temperature_crit_celsius", l), 1000);
    /* Trailing blanks are not an error. */
    snprintf(l, sizeof(l), "%s,sensor=temp11,label=", it);
    eq(rec_value(&r, "sensors_temperature_celsius", l), 50);
    eq(rec_value(&r, "sensors_temperature_max_celsius", l), 80);
    /*
     * temp2 (a directory: unreadable), temp4 (not a number), temp5 (empty),
     * temp6 (too large for 64 bits), temp7 (below absolute zero), temp8
     * (above 1000 C), temp12 (not an integer) are skipped; temp0, temp01,
     * temp10_inputx and in0 are not temperature inputs.
     */
    assert_null(rec_find(&r, "sensors_temperature_celsius",
                         "chip=it8728,device=it87.2608,sensor=temp2,label=Board"));

    /* Fans: a label cut at 64 bytes, a stopped fan, negative and absurd speeds dropped. */
    snprintf(l, sizeof(l), "%s,sensor=fan1,label=", it);
    eq(rec_value(&r, "sensors_fan_rpm", l), 1200);
    char longlabel[65];
    memset(longlabel, 'L', 64);
    longlabel[64] = '\0';
    snprintf(l, sizeof(l), "%s,sensor=fan3,label=%s", it, longlabel);
    eq(rec_value(&r, "sensors_fan_rpm", l), 0);
    /* The legacy layout: attributes in the device's directory. */
    eq(rec_value(&r, "sensors_fan_rpm",
                 "chip=applesmc,device=applesmc.768,sensor=fan1,label=Exhaust"),
       2000);
    assert_int_equal(rec_count(&r, "sensors_fan_rpm"), 3);

    /* A chip directory without "name" is named after its entry. */
    eq(rec_value(&r, "sensors_temperature_celsius", "chip=hwmon1,device=,sensor=temp1,label="), 30);
    /* An absolute link is taken from the root. */
    eq(rec_value(&r, "sensors_temperature_celsius", "chip=acpitz,device=,sensor=temp1,label="),
       27.8);
    /* Recorded links; two chips with the same name and device stay apart. */
    eq(rec_value(&r, "sensors_temperature_celsius",
                 "chip=coretemp,device=coretemp.0,sensor=temp1,label="),
       65);
    eq(rec_value(&r, "sensors_temperature_celsius",
                 "chip=coretemp,device=coretemp.0:hwmon6,sensor=temp1,label="),
       66);
    eq(rec_value(&r, "sensors_temperature_celsius", "chip=it8,device=,sensor=temp1,label="), 8);
    /*
     * Not followed: hwmon3 leads out of the root; hwmon9 climbs above the
     * root (it would land on a chip if clamped there); hwmon10 is a regular
     * file that does not hold a link ("hwmon1"). "hwmon", "hwmon08" (which
     * would double hwmon8) and "foo" are not entry names.
     */
    for (size_t i = 0; i < r.n; i++) {
        assert_null(strstr(r.samples[i].labels, "outside"));
        assert_null(strstr(r.samples[i].labels, "clamped"));
        assert_null(strstr(r.samples[i].labels, "hwmon10"));
        assert_null(strstr(r.samples[i].labels, "chip=x,"));
    }
    assert_int_equal(rec_count(&r, "sensors_temperature_celsius"), 9);
    assert_int_equal(rec_count(&r, "sensors_temperature_max_celsius"), 1);
    assert_int_equal(rec_count(&r, "sensors_temperature_crit_celsius"), 2);
    assert_int_equal(r.n, 9 + 1 + 2 + 3);
    rec_done(&r);
}

static void label_order_and_shape(void **unused)
{
    (void)unused;
    assert_string_equal(c->name, "temperature");
    assert_int_equal(c->default_interval_ms, 10000);
    assert_int_equal(c->size, sizeof(struct ward_collector));
    struct recorder r;
    rec_init(&r);
    assert_int_equal(run(FIXTURES "/hwmon-edge", &r), 0);
    assert_true(r.n > 0);
    for (size_t i = 0; i < r.n; i++) {
        const char *l = r.samples[i].labels;
        assert_int_equal(r.samples[i].metric->kind, WARD_SAMPLE_GAUGE);
        assert_string_equal(r.samples[i].metric->category, "sensors");
        assert_true(strncmp(l, "chip=", 5) == 0);
        assert_non_null(strstr(l, ",device="));
        assert_true(strstr(l, ",device=") < strstr(l, ",sensor="));
        assert_true(strstr(l, ",sensor=") < strstr(l, ",label="));
    }
    rec_done(&r);
}

static void nothing_to_read(void **unused)
{
    (void)unused;
    struct recorder r;
    rec_init(&r);
    /* No hwmon class at all, an empty one, and a chip with voltages only. */
    assert_int_equal(run(FIXTURES "/empty", &r), -ENOENT);
    assert_int_equal(r.n, 0);
    assert_int_equal(run(FIXTURES "/hwmon-empty", &r), -ENOENT);
    assert_int_equal(r.n, 0);
    assert_int_equal(run(FIXTURES "/hwmon-none", &r), -ENOENT);
    assert_int_equal(r.n, 0);
    /* Sensors exist but none can be read: the first error. */
    assert_int_equal(run(FIXTURES "/hwmon-broken", &r), -EISDIR);
    assert_int_equal(r.n, 0);
    rec_done(&r);
}

static void state_is_reusable(void **unused)
{
    (void)unused;
    void *st;
    struct recorder a, b;
    rec_init(&a);
    rec_init(&b);
    assert_int_equal(c->init(&st), 0);
    assert_int_equal(collector_run(c, st, FIXTURES "/hwmon-edge", NULL, &a), 0);
    assert_int_equal(collector_run(c, st, NODE_FIXTURE, NULL, &b), 0);
    assert_int_equal(collector_run(c, st, FIXTURES "/hwmon-edge", NULL, &b), 0);
    assert_int_equal(a.n, b.n);
    for (size_t i = 0; i < a.n; i++) {
        assert_ptr_equal(a.samples[i].metric, b.samples[i].metric);
        assert_string_equal(a.samples[i].labels, b.samples[i].labels);
        eq(a.samples[i].value, b.samples[i].value);
    }
    c->done(st);
    c->done(NULL);
    rec_done(&a);
    rec_done(&b);
}

/* Generated trees for the caps. */

static void caps_on_chips_and_sensors(void **unused)
{
    (void)unused;
    char *root = scratch_new("hwmon");
    char rel[128], val[32];
    /* 70 chips, created in descending order, each with one sensor: the 64 lowest are kept. */
    for (int i = 69; i >= 0; i--) {
        snprintf(rel, sizeof(rel), "/sys/class/hwmon/hwmon%d/name", i);
        snprintf(val, sizeof(val), "c%d\n", i);
        scratch_put(root, rel, val);
        snprintf(rel, sizeof(rel), "/sys/class/hwmon/hwmon%d/temp1_input", i);
        snprintf(val, sizeof(val), "%d000\n", i);
        scratch_put(root, rel, val);
    }
    struct recorder r;
    rec_init(&r);
    assert_int_equal(run(root, &r), 0);
    assert_int_equal(rec_count(&r, "sensors_temperature_celsius"), 64);
    eq(rec_value(&r, "sensors_temperature_celsius", "chip=c63,device=,sensor=temp1,label="), 63);
    assert_null(
        rec_find(&r, "sensors_temperature_celsius", "chip=c64,device=,sensor=temp1,label="));

    /* Chip 0 gets 300 more sensors: 256 in all, the lowest numbers first. */
    for (int i = 300; i >= 2; i--) {
        snprintf(rel, sizeof(rel), "/sys/class/hwmon/hwmon0/temp%d_input", i);
        scratch_put(root, rel, "1000\n");
    }
    assert_int_equal(run(root, &r), 0);
    assert_int_equal(rec_count(&r, "sensors_temperature_celsius"), 256);
    eq(rec_value(&r, "sensors_temperature_celsius", "chip=c0,device=,sensor=temp256,label="), 1);
    assert_null(
        rec_find(&r, "sensors_temperature_celsius", "chip=c0,device=,sensor=temp257,label="));
    assert_null(rec_find(&r, "sensors_temperature_celsius", "chip=c1,device=,sensor=temp1,label="));
    rec_done(&r);
    scratch_free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(recorded_machine_matches_node_exporter),
        cmocka_unit_test(synthetic_edge_cases),
        cmocka_unit_test(label_order_and_shape),
        cmocka_unit_test(nothing_to_read),
        cmocka_unit_test(state_is_reusable),
        cmocka_unit_test(caps_on_chips_and_sensors),
    };
    return cmocka_run_group_tests(tests, NULL, scratch_teardown);
}
