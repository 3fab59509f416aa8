/*
 * Tests of the /proc/net/dev collector: counters on a recorded file, 32-bit
 * wraps and resets across reads, forgotten interfaces, exclusion by name and
 * by monitor mode, the cardinality cap with its stable order, and broken
 * input.
 */
#include <errno.h>
#include <fcntl.h>
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

extern const struct ward_collector ward_collector_proc_net_dev;
static const struct ward_collector *const c = &ward_collector_proc_net_dev;

static const char *const names[] = {
    "receive_bytes_total",    "transmit_bytes_total", "receive_packets_total",
    "transmit_packets_total", "receive_errors_total", "transmit_errors_total",
    "receive_drop_total",     "transmit_drop_total",
};

static struct ward_collect_settings settings(const char *exclude, int64_t max)
{
    return (struct ward_collect_settings){
        .net_exclude = exclude,
        .net_max_interfaces = max,
        .top_n = WARD_TOP_N_DEFAULT,
        .statvfs_timeout_ms = WARD_STATVFS_TIMEOUT_MS,
    };
}

/* Asserts the eight counters of one interface, in the order of names[]. */
static void expect_iface(const struct recorder *r, const char *iface, const double *want)
{
    char label[64];
    snprintf(label, sizeof(label), "interface=%s", iface);
    for (size_t i = 0; i < 8; i++) {
        double got = rec_value(r, names[i], label);
        if (got != want[i])
            fail_msg("%s{%s}: got %.17g, want %.17g", names[i], label, got, want[i]);
    }
}

static void expect_present(const struct recorder *r, const char *iface)
{
    char label[64];
    snprintf(label, sizeof(label), "interface=%s", iface);
    if (!rec_find(r, "network_receive_bytes_total", label))
        fail_msg("interface %s should be reported", iface);
}

static void expect_absent(const struct recorder *r, const char *iface)
{
    char label[64];
    snprintf(label, sizeof(label), "interface=%s", iface);
    if (rec_find(r, "network_receive_bytes_total", label))
        fail_msg("interface %s should not be reported", iface);
}

static void recorded_machine(void **unused)
{
    (void)unused;
    void *st;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(c->init(&st), 0);
    /*
     * net-recorded is this project's recording of a real /proc/net/dev. The
     * values below are the file's columns as they stand: a first read
     * reports the kernel's counters unchanged, like node_exporter's
     * node_network_{receive,transmit}_{bytes,packets,errs,drop}_total.
     */
    struct ward_collect_settings all = settings("", 32);
    assert_int_equal(collector_run(c, st, FIXTURES "/net-recorded", &all, &r), 0);
    expect_iface(&r, "lo", (double[]){7747519, 7747519, 16189, 16189, 0, 0, 0, 0});
    expect_iface(&r, "eth0", (double[]){25569480, 35991, 625, 421, 0, 0, 0, 0});
    expect_iface(&r, "ifb0", (double[]){0, 0, 0, 0, 0, 0, 0, 0});
    expect_iface(&r, "ifb1", (double[]){0, 0, 0, 0, 0, 0, 0, 0});
    assert_int_equal(rec_count(&r, "network_receive_bytes_total"), 4);
    assert_int_equal(rec_value(&r, "network_interfaces_dropped", ""), 0);
    assert_int_equal(r.n, 4 * 8 + 1);

    /* The defaults leave out lo only. */
    assert_int_equal(collector_run(c, st, FIXTURES "/net-recorded", NULL, &r), 0);
    expect_absent(&r, "lo");
    assert_int_equal(rec_count(&r, "network_receive_bytes_total"), 3);

    /*
     * node_exporter's recorded tree has no proc/net/dev: its end-to-end run
     * takes the lo counters from the live kernel, so there is nothing
     * recorded to compare with, and the collector says the source is absent.
     */
    assert_int_equal(collector_run(c, st, NODE_FIXTURE, &all, &r), -ENOENT);
    assert_int_equal(r.n, 0);
    c->done(st);
    rec_done(&r);
}

static void wrap_reset_and_forget(void **unused)
{
    (void)unused;
    void *st;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(c->init(&st), 0);

    assert_int_equal(collector_run(c, st, FIXTURES "/net-dev-a", NULL, &r), 0);
    expect_iface(&r, "eth0", (double[]){4294967000, 123456789, 4294967290, 1000000000, 3, 5, 4, 6});
    expect_iface(&r, "enp3s0", (double[]){1e10, 2e10, 9000000, 8000000, 0, 0, 12, 0});
    expect_iface(&r, "wlan0", (double[]){50000, 40000, 500, 400, 1, 0, 2, 1});
    assert_int_equal(rec_count(&r, "network_receive_bytes_total"), 3);

    assert_int_equal(collector_run(c, st, FIXTURES "/net-dev-b", NULL, &r), 0);
    /*
     * eth0's receive counters wrapped at 32 bits: 4294967000 -> 200 is +496
     * bytes, 4294967290 -> 6 is +12 packets. Its transmitted packets fell
     * from 1e9 to 1000, too far for a wrap: a reset, so 1000 are added.
     * enp3s0 was above 32 bits and fell: a reset as well.
     */
    expect_iface(&r, "eth0",
                 (double[]){4294967496.0, 123456999, 4294967302.0, 1000001000.0, 3, 5, 4, 6});
    expect_iface(&r, "enp3s0", (double[]){1e10 + 5000, 2e10 + 1000, 9000050, 8000010, 0, 0, 12, 0});
    expect_absent(&r, "wlan0");

    assert_int_equal(collector_run(c, st, FIXTURES "/net-dev-c", NULL, &r), 0);
    expect_iface(&r, "eth0",
                 (double[]){4294968496.0, 123457999, 4294967312.0, 1000001010.0, 3, 5, 4, 6});
    /* wlan0 was gone for a read: forgotten, it starts over from its raw values. */
    expect_iface(&r, "wlan0", (double[]){300, 200, 3, 2, 0, 0, 0, 0});
    expect_iface(&r, "enp3s0", (double[]){1e10 + 6000, 2e10 + 2000, 9000060, 8000020, 0, 0, 12, 0});
    c->done(st);
    rec_done(&r);
}

static void broken_line_keeps_state(void **unused)
{
    (void)unused;
    void *st;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(c->init(&st), 0);
    assert_int_equal(collector_run(c, st, FIXTURES "/net-dev-a", NULL, &r), 0);
    /* eth0's line is cut short: no sample this time, but its state stays. */
    assert_int_equal(collector_run(c, st, FIXTURES "/net-dev-broken", NULL, &r), 0);
    expect_absent(&r, "eth0");
    expect_iface(&r, "enp3s0", (double[]){10000000001, 20000000001, 9000001, 8000001, 0, 0, 12, 0});
    assert_int_equal(collector_run(c, st, FIXTURES "/net-dev-b", NULL, &r), 0);
    /* Still a wrap from the last good reading, not a fresh start at 200. */
    assert_true(rec_value(&r, "network_receive_bytes_total", "interface=eth0") == 4294967496.0);
    c->done(st);
    rec_done(&r);
}

static void exclusion_patterns(void **unused)
{
    (void)unused;
    void *st;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(c->init(&st), 0);

    /* Default patterns: lo, docker0, veth1a2b, br-0f1e2d and virbr0 are left out. */
    assert_int_equal(collector_run(c, st, FIXTURES "/net-dev-a", NULL, &r), 0);
    expect_present(&r, "eth0");
    expect_present(&r, "wlan0");
    expect_present(&r, "enp3s0");
    const char *gone[] = {"lo", "docker0", "veth1a2b", "br-0f1e2d", "virbr0"};
    for (size_t i = 0; i < 5; i++)
        expect_absent(&r, gone[i]);
    assert_int_equal(rec_count(&r, "network_receive_bytes_total"), 3);
    /* Excluded interfaces are not "dropped": the cap left nothing out. */
    assert_int_equal(rec_value(&r, "network_interfaces_dropped", ""), 0);
    c->done(st);

    /* Custom patterns, with an empty item and an exact name. */
    assert_int_equal(c->init(&st), 0);
    struct ward_collect_settings custom = settings("e*,,wlan?,virbr0", 32);
    assert_int_equal(collector_run(c, st, FIXTURES "/net-dev-a", &custom, &r), 0);
    expect_absent(&r, "eth0");
    expect_absent(&r, "enp3s0");
    expect_absent(&r, "wlan0");
    expect_absent(&r, "virbr0");
    expect_iface(&r, "lo", (double[]){1000, 1000, 10, 10, 0, 0, 0, 0});
    expect_iface(&r, "docker0", (double[]){7, 7, 7, 7, 7, 7, 7, 7});
    assert_int_equal(rec_count(&r, "network_receive_bytes_total"), 4);
    c->done(st);

    /* Nothing excluded. */
    assert_int_equal(c->init(&st), 0);
    struct ward_collect_settings none = settings("", 32);
    assert_int_equal(collector_run(c, st, FIXTURES "/net-dev-a", &none, &r), 0);
    assert_int_equal(rec_count(&r, "network_receive_bytes_total"), 8);
    c->done(st);
    rec_done(&r);
}

static void monitor_interfaces(void **unused)
{
    (void)unused;
    void *st;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(c->init(&st), 0);
    struct ward_collect_settings none = settings("", 32);
    assert_int_equal(collector_run(c, st, FIXTURES "/net-monitor", &none, &r), 0);
    /* mon0 and wlp2s0mon have type 803 (radiotap). */
    expect_absent(&r, "mon0");
    expect_absent(&r, "wlp2s0mon");
    /* wlan0 is type 1; eth1 has no /sys entry and odd0 an unreadable type: both kept. */
    expect_iface(&r, "wlan0", (double[]){100, 200, 1, 2, 0, 0, 0, 0});
    expect_iface(&r, "eth1", (double[]){500, 600, 5, 6, 0, 0, 0, 0});
    expect_iface(&r, "odd0", (double[]){700, 800, 7, 8, 0, 0, 0, 0});
    expect_iface(&r, "lo", (double[]){1, 1, 1, 1, 0, 0, 0, 0});
    assert_int_equal(rec_count(&r, "network_receive_bytes_total"), 4);
    assert_int_equal(rec_value(&r, "network_interfaces_dropped", ""), 0);
    c->done(st);
    rec_done(&r);
}

/* A temporary root with proc/net/dev holding the given interfaces, in order. */
struct tmp_root {
    char path[64];
};

static void write_dev(struct tmp_root *t, const char *const *ifs, size_t n, uint64_t base)
{
    char p[128];
    snprintf(p, sizeof(p), "%s/proc/net/dev", t->path);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs("Inter-|   Receive                                                |  Transmit\n"
          " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets "
          "errs drop fifo colls carrier compressed\n",
          f);
    for (size_t i = 0; i < n; i++)
        fprintf(f,
                "%6s: %7llu %7d    0    0    0     0          0         0 %8d %7d    0    0 "
                "   0     0       0          0\n",
                ifs[i], (unsigned long long)(base + i), 1, 2, 3);
    assert_int_equal(fclose(f), 0);
}

static void tmp_root_make(struct tmp_root *t)
{
    snprintf(t->path, sizeof(t->path), "/tmp/ward-net-XXXXXX");
    assert_non_null(mkdtemp(t->path));
    char p[128];
    snprintf(p, sizeof(p), "%s/proc", t->path);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof(p), "%s/proc/net", t->path);
    assert_int_equal(mkdir(p, 0755), 0);
}

static void tmp_root_remove(struct tmp_root *t)
{
    char p[128];
    snprintf(p, sizeof(p), "%s/proc/net/dev", t->path);
    unlink(p);
    rmdir(p); /* when a test made it a directory */
    snprintf(p, sizeof(p), "%s/sys", t->path);
    unlink(p);
    snprintf(p, sizeof(p), "%s/proc/net", t->path);
    rmdir(p);
    snprintf(p, sizeof(p), "%s/proc", t->path);
    rmdir(p);
    rmdir(t->path);
}

static void cap_keeps_first_seen(void **unused)
{
    (void)unused;
    static char storage[301][16];
    const char *ifs[301];
    for (size_t i = 0; i < 300; i++) {
        snprintf(storage[i], sizeof(storage[i]), "if%03zu", i);
        ifs[i] = storage[i];
    }
    struct tmp_root t;
    tmp_root_make(&t);
    void *st;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(c->init(&st), 0);

    write_dev(&t, ifs, 300, 1000);
    assert_int_equal(collector_run(c, st, t.path, NULL, &r), 0);
    assert_int_equal(rec_value(&r, "network_interfaces_dropped", ""), 268);
    assert_int_equal(rec_count(&r, "network_receive_bytes_total"), 32);
    assert_int_equal(rec_value(&r, "network_receive_bytes_total", "interface=if000"), 1000);
    assert_int_equal(rec_value(&r, "network_receive_bytes_total", "interface=if031"), 1031);
    expect_absent(&r, "if032");

    /*
     * if005 disappears and new0 appears first in the file: new0 takes the
     * freed slot in the same read, and if032 (seen first but never tracked)
     * still waits: the tracked set does not reshuffle.
     */
    const char *second[300];
    second[0] = "new0";
    for (size_t i = 0, j = 1; i < 300; i++)
        if (i != 5)
            second[j++] = ifs[i];
    write_dev(&t, second, 300, 5000);
    assert_int_equal(collector_run(c, st, t.path, NULL, &r), 0);
    assert_int_equal(rec_value(&r, "network_interfaces_dropped", ""), 268);
    assert_int_equal(rec_count(&r, "network_receive_bytes_total"), 32);
    assert_int_equal(rec_value(&r, "network_receive_bytes_total", "interface=new0"), 5000);
    assert_int_equal(rec_value(&r, "network_receive_bytes_total", "interface=if000"), 5001);
    expect_absent(&r, "if005");
    expect_absent(&r, "if032");

    /* Back to the first file: new0 goes, if005 returns and counts from its raw value. */
    write_dev(&t, ifs, 300, 1000);
    assert_int_equal(collector_run(c, st, t.path, NULL, &r), 0);
    assert_int_equal(rec_value(&r, "network_interfaces_dropped", ""), 268);
    assert_int_equal(rec_count(&r, "network_receive_bytes_total"), 32);
    assert_int_equal(rec_value(&r, "network_receive_bytes_total", "interface=if005"), 1005);
    /* if000 went 1000 -> 5001 -> 1000: a reset by the counter's rules, so +1000. */
    assert_int_equal(rec_value(&r, "network_receive_bytes_total", "interface=if000"), 6001);
    expect_absent(&r, "new0");
    expect_absent(&r, "if032");

    /* The same file again: the same set. */
    assert_int_equal(collector_run(c, st, t.path, NULL, &r), 0);
    assert_int_equal(rec_count(&r, "network_receive_bytes_total"), 32);
    for (size_t i = 0; i < 32; i++) {
        char label[32];
        snprintf(label, sizeof(label), "interface=%s", ifs[i]);
        assert_non_null(rec_find(&r, "network_receive_bytes_total", label));
    }

    /*
     * A smaller cap keeps the first interfaces; a larger one (clamped to the
     * hard limit) admits the others in file order.
     */
    struct ward_collect_settings small = settings(WARD_NET_EXCLUDE_DEFAULT, 3);
    assert_int_equal(collector_run(c, st, t.path, &small, &r), 0);
    assert_int_equal(rec_count(&r, "network_receive_bytes_total"), 3);
    assert_int_equal(rec_value(&r, "network_interfaces_dropped", ""), 297);
    assert_non_null(rec_find(&r, "network_receive_bytes_total", "interface=if002"));
    struct ward_collect_settings big = settings(WARD_NET_EXCLUDE_DEFAULT, INT64_MAX);
    assert_int_equal(collector_run(c, st, t.path, &big, &r), 0);
    assert_int_equal(rec_count(&r, "network_receive_bytes_total"), 300);
    assert_int_equal(rec_value(&r, "network_interfaces_dropped", ""), 0);
    /* A cap below 1 means the default. */
    struct ward_collect_settings zero = settings(WARD_NET_EXCLUDE_DEFAULT, 0);
    assert_int_equal(collector_run(c, st, t.path, &zero, &r), 0);
    assert_int_equal(rec_count(&r, "network_receive_bytes_total"), WARD_NET_MAX_INTERFACES);

    c->done(st);
    rec_done(&r);
    tmp_root_remove(&t);
}

static void monitor_type_is_rechecked(void **unused)
{
    (void)unused;
    char *root = scratch_new("net");
    static const char *const ifs[] = {"wlan0"};
    struct tmp_root t;
    snprintf(t.path, sizeof(t.path), "%s", root);
    scratch_put(root, "/proc/net/dev", "");
    write_dev(&t, ifs, 1, 100);
    scratch_put(root, "/sys/class/net/wlan0/type", "1\n");
    void *st;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(c->init(&st), 0);
    int64_t t0 = COLLECTOR_TEST_NOW_MS;
    assert_int_equal(collector_run_at(c, st, root, NULL, t0, &r), 0);
    expect_present(&r, "wlan0");
    /* Tracked and checked again at t0 + 1 s: the type is trusted for a minute from then. */
    assert_int_equal(collector_run_at(c, st, root, NULL, t0 + 1000, &r), 0);
    scratch_put(root, "/sys/class/net/wlan0/type", "803\n");
    assert_int_equal(collector_run_at(c, st, root, NULL, t0 + 60000, &r), 0);
    expect_present(&r, "wlan0");
    assert_int_equal(collector_run_at(c, st, root, NULL, t0 + 61000, &r), 0);
    expect_absent(&r, "wlan0");
    c->done(st);
    rec_done(&r);
    scratch_free(root);
}

static void malformed_lines(void **unused)
{
    (void)unused;
    void *st;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(c->init(&st), 0);
    assert_int_equal(collector_run(c, st, FIXTURES "/net-malformed", NULL, &r), 0);
    /* The first ok0 counts; its repeated line is ignored. */
    expect_iface(&r, "ok0", (double[]){100, 400, 1, 5, 2, 6, 3, 7});
    /* The last line has no newline. */
    expect_iface(&r, "ok1", (double[]){1, 5, 2, 6, 3, 7, 4, 8});
    /* Extra columns after the sixteenth are ignored. */
    expect_iface(&r, "junk0", (double[]){1, 9, 2, 10, 3, 11, 4, 12});
    /*
     * Skipped: too few columns, a letter, a sign, a saturated number, no
     * colon, an empty, overlong, spaced, non-ASCII or path-like name, a NUL
     * byte, an overlong line.
     */
    assert_int_equal(rec_count(&r, "network_receive_bytes_total"), 3);
    assert_int_equal(rec_value(&r, "network_interfaces_dropped", ""), 0);
    assert_int_equal(r.n, 3 * 8 + 1);
    c->done(st);
    rec_done(&r);
}

static void absent_empty_unreadable(void **unused)
{
    (void)unused;
    void *st;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(c->init(&st), 0);
    assert_int_equal(collector_run(c, st, FIXTURES "/empty", NULL, &r), -ENOENT);
    assert_int_equal(collector_run(c, st, FIXTURES "/net-empty", NULL, &r), -ENODATA);
    assert_int_equal(collector_run(c, st, FIXTURES "/net-headers", NULL, &r), -ENODATA);
    assert_int_equal(r.n, 0);

    /* A directory where the file should be: opened, but nothing can be read. */
    struct tmp_root t;
    tmp_root_make(&t);
    char p[128];
    snprintf(p, sizeof(p), "%s/proc/net/dev", t.path);
    assert_int_equal(mkdir(p, 0755), 0);
    assert_int_equal(collector_run(c, st, t.path, NULL, &r), -EIO);
    assert_int_equal(r.n, 0);
    tmp_root_remove(&t);

    /* A root path too long for the path buffer. */
    static char deep[5000];
    memset(deep, 'x', sizeof(deep) - 1);
    deep[0] = '/';
    assert_int_equal(collector_run(c, st, deep, NULL, &r), -ENAMETOOLONG);
    c->done(st);
    c->done(NULL);
    rec_done(&r);
}

static void recorded_sys_types(void **unused)
{
    (void)unused;
    /*
     * node_exporter's recorded /sys/class/net: bond0, dmz and int have type
     * 1 (node_network_protocol_type{device="bond0"} 1 in its output), and
     * eth0 is a plain file there, so eth0/type cannot be read. None is a
     * monitor interface, so all four are reported.
     */
    struct tmp_root t;
    tmp_root_make(&t);
    char p[128];
    snprintf(p, sizeof(p), "%s/sys", t.path);
    assert_int_equal(symlink(NODE_FIXTURE "/sys", p), 0);
    const char *ifs[] = {"bond0", "dmz", "int", "eth0"};
    write_dev(&t, ifs, 4, 10);
    void *st;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(c->init(&st), 0);
    assert_int_equal(collector_run(c, st, t.path, NULL, &r), 0);
    assert_int_equal(rec_count(&r, "network_receive_bytes_total"), 4);
    assert_int_equal(rec_value(&r, "network_receive_bytes_total", "interface=int"), 12);
    assert_int_equal(rec_value(&r, "network_transmit_packets_total", "interface=eth0"), 3);
    c->done(st);
    rec_done(&r);
    tmp_root_remove(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(recorded_machine),        cmocka_unit_test(wrap_reset_and_forget),
        cmocka_unit_test(broken_line_keeps_state), cmocka_unit_test(exclusion_patterns),
        cmocka_unit_test(monitor_interfaces),      cmocka_unit_test(cap_keeps_first_seen),
        cmocka_unit_test(malformed_lines),         cmocka_unit_test(absent_empty_unreadable),
        cmocka_unit_test(recorded_sys_types),      cmocka_unit_test(monitor_type_is_rechecked),
    };
    return cmocka_run_group_tests(tests, NULL, scratch_teardown);
}
