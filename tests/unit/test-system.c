/*
 * Tests of the system summary collector on synthetic trees (os-release
 * quoting, symlinks that point out of the root, broken values), on utmp
 * files the tests write with glibc's own struct utmp, and on
 * node_exporter's recorded tree. Each metric must stand without the others.
 * On this machine, the boot time from the clocks matches /proc/stat's btime.
 */
#include <errno.h>
#include <ftw.h>
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
#include <utmp.h>

#include <cmocka.h>

#include "collector-test.h"

extern const struct ward_collector ward_collector_system;
static const struct ward_collector *const c = &ward_collector_system;

static void near(double got, double want)
{
    if (fabs(got - want) > 1e-9 * fmax(1.0, fabs(want)))
        fail_msg("got %.12g, want %.12g", got, want);
}

static void full_tree(void **unused)
{
    (void)unused;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(collector_run(c, NULL, FIXTURES "/system-full", NULL, &r), 0);
    near(rec_value(&r, "system_uptime_seconds", ""), 350735.47);
    /* A "btime" that starts a 4 KiB chunk inside the intr line is not the btime line. */
    near(rec_value(&r, "system_boot_time_seconds", ""), 1700000123);
    /* 1, 2, 4242; not abc, 007, 12x, self, or the file 3. */
    near(rec_value(&r, "system_processes", ""), 3);
    /* Escapes of double quotes: \" \\ \$ \` are taken, \q stays as it is. */
    near(rec_value(&r, "system_info",
                   "os=Debian \"Bookworm\" \\ 12 $HOME `x` \\q,kernel=6.1.0-18-amd64,"
                   "hostname=web-01"),
         1);
    assert_int_equal(rec_count(&r, "system_users"), 0); /* no utmp in the tree */
    assert_int_equal(r.n, 4);
    rec_done(&r);
}

static void fallbacks_and_broken_values(void **unused)
{
    (void)unused;
    struct recorder r;
    rec_init(&r);
    /* usr/lib/os-release, single quotes (literal), hostname from etc; uptime and btime broken. */
    assert_int_equal(collector_run(c, NULL, FIXTURES "/system-usrlib", NULL, &r), 0);
    near(rec_value(&r, "system_info",
                   "os=Alpine Linux v3.19 \"edge\" \\n,kernel=6.6.7-0-lts,hostname=from-etc"),
         1);
    assert_int_equal(r.n, 1);

    assert_int_equal(collector_run(c, NULL, FIXTURES "/system-unquoted", NULL, &r), 0);
    near(rec_value(&r, "system_info", "os=Plain OS\"1\",kernel=unknown,hostname=unknown"), 1);
    assert_int_equal(r.n, 1);

    assert_int_equal(collector_run(c, NULL, FIXTURES "/system-bad", NULL, &r), 0);
    /*
     * Negative uptime, a btime beyond 64 bits, an empty osrelease, a hostname
     * with a control character and a stray byte, and an unterminated
     * PRETTY_NAME, the last of several, cut at 128 bytes without splitting
     * a character.
     */
    char os[160] = "Unterminated ";
    size_t used = strlen(os);
    for (int i = 0; i < 57; i++, used += 2)
        memcpy(os + used, "\xc3\xa9", 3);
    char labels[256];
    snprintf(labels, sizeof(labels), "os=%s,kernel=unknown,hostname=bad?host?", os);
    near(rec_value(&r, "system_info", labels), 1);
    near(rec_value(&r, "system_processes", ""), 1);
    assert_int_equal(r.n, 2);
    rec_done(&r);
}

static void links_stay_inside_the_root(void **unused)
{
    (void)unused;
    struct recorder r;
    rec_init(&r);
    /* etc/os-release -> /usr/lib/os-release, etc/hostname -> ../../(...)/usr/lib/hostname */
    assert_int_equal(collector_run(c, NULL, FIXTURES "/system-links", NULL, &r), 0);
    near(rec_value(&r, "system_info", "os=Linked OS 1.0,kernel=unknown,hostname=linked-host"), 1);
    assert_int_equal(r.n, 1);
    rec_done(&r);
}

static void nothing_there(void **unused)
{
    (void)unused;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(collector_run(c, NULL, FIXTURES "/empty", NULL, &r), -ENOENT);
    assert_int_equal(r.n, 0);
    rec_done(&r);
}

static void recorded_machine(void **unused)
{
    (void)unused;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(collector_run(c, NULL, NODE_FIXTURE, NULL, &r), 0);
    /*
     * node_exporter's readings of the same tree (e2e-output.txt):
     *   node_boot_time_seconds 1.418183276e+09 = system_boot_time_seconds (btime of proc/stat)
     *   node_processes_pids 3                  = system_processes (pid directories of proc/)
     * The tree has no proc/uptime, utmp, os-release or kernel sysctls. (node_os_info
     * there comes from an os-release that is not part of this copy.)
     */
    near(rec_value(&r, "system_boot_time_seconds", ""), 1418183276);
    near(rec_value(&r, "system_processes", ""), 3);
    assert_int_equal(r.n, 2);
    rec_done(&r);
}

/* Writes len bytes to root/rel, creating directories. */
static void put(const char *root, const char *rel, const void *data, size_t len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    for (char *p = path + strlen(root) + 1; (p = strchr(p, '/')); p++) {
        *p = '\0';
        if (mkdir(path, 0755) < 0)
            assert_int_equal(errno, EEXIST);
        *p = '/';
    }
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static struct utmp record(short type, const char *user, const char *line)
{
    struct utmp u;
    memset(&u, 0, sizeof(u));
    u.ut_type = type;
    u.ut_pid = 1234;
    snprintf(u.ut_user, sizeof(u.ut_user), "%s", user);
    snprintf(u.ut_line, sizeof(u.ut_line), "%s", line);
    return u;
}

static int remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

/* Removes a temporary tree made by these tests, without following its links. */
static void remove_tree(const char *dir)
{
    nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* The tree of utmp_sessions, removed by its teardown even when it fails. */
static char tmp_root[] = "/tmp/ward-test-system-XXXXXX";

static int remove_root(void **unused)
{
    (void)unused;
    remove_tree(tmp_root);
    return 0;
}

static void utmp_sessions(void **unused)
{
    (void)unused;
    assert_non_null(mkdtemp(tmp_root));
    struct recorder r;
    rec_init(&r);

    /* No utmp: uptime stands alone. */
    put(tmp_root, "proc/uptime", "42.5 10.0\n", 10);
    assert_int_equal(collector_run(c, NULL, tmp_root, NULL, &r), 0);
    near(rec_value(&r, "system_uptime_seconds", ""), 42.5);
    assert_int_equal(rec_count(&r, "system_users"), 0);

    /* Boot and run-level records, a getty, three sessions (alice twice), a logout, a
     * USER_PROCESS without a name, and half a record being written. */
    struct utmp recs[] = {
        record(BOOT_TIME, "reboot", "~"),       record(RUN_LVL, "runlevel", "~"),
        record(LOGIN_PROCESS, "LOGIN", "tty1"), record(USER_PROCESS, "alice", "pts/0"),
        record(USER_PROCESS, "bob", "pts/1"),   record(DEAD_PROCESS, "", "pts/3"),
        record(USER_PROCESS, "alice", "pts/2"), record(USER_PROCESS, "", "pts/4"),
        record(USER_PROCESS, "carol", "pts/5"),
    };
    size_t whole = sizeof(recs) - sizeof(recs[0]);
    put(tmp_root, "run/utmp", recs, whole + sizeof(recs[0]) / 2);
    assert_int_equal(collector_run(c, NULL, tmp_root, NULL, &r), 0);
    near(rec_value(&r, "system_users", ""), 3);
    near(rec_value(&r, "system_uptime_seconds", ""), 42.5);

    /* Empty utmp: nobody logged in. */
    put(tmp_root, "run/utmp", "", 0);
    assert_int_equal(collector_run(c, NULL, tmp_root, NULL, &r), 0);
    near(rec_value(&r, "system_users", ""), 0);

    /* More records than one read takes. */
    struct utmp many[40];
    for (size_t i = 0; i < 40; i++)
        many[i] = record(USER_PROCESS, "dave", "pts/9");
    put(tmp_root, "run/utmp", many, sizeof(many));
    assert_int_equal(collector_run(c, NULL, tmp_root, NULL, &r), 0);
    near(rec_value(&r, "system_users", ""), 40);

    /* A real /var/run directory is the old place. */
    char path[600];
    snprintf(path, sizeof(path), "%s/run/utmp", tmp_root);
    assert_int_equal(unlink(path), 0);
    put(tmp_root, "var/run/utmp", recs, whole);
    assert_int_equal(collector_run(c, NULL, tmp_root, NULL, &r), 0);
    near(rec_value(&r, "system_users", ""), 3);

    /* /var/run as an absolute link points out of the tmp_root: not followed. */
    snprintf(path, sizeof(path), "%s/var/run/utmp", tmp_root);
    assert_int_equal(unlink(path), 0);
    snprintf(path, sizeof(path), "%s/var/run", tmp_root);
    assert_int_equal(rmdir(path), 0);
    char outside[600];
    snprintf(outside, sizeof(outside), "%s/outside", tmp_root);
    put(tmp_root, "outside/utmp", recs, whole);
    assert_int_equal(symlink(outside, path), 0);
    assert_int_equal(collector_run(c, NULL, tmp_root, NULL, &r), 0);
    assert_int_equal(rec_count(&r, "system_users"), 0);

    /* A link loop on os-release: the OS is unknown, the rest still comes. */
    snprintf(path, sizeof(path), "%s/etc", tmp_root);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof(path), "%s/etc/os-release", tmp_root);
    assert_int_equal(symlink("os-release", path), 0);
    put(tmp_root, "proc/sys/kernel/hostname", "h\n", 2);
    assert_int_equal(collector_run(c, NULL, tmp_root, NULL, &r), 0);
    near(rec_value(&r, "system_info", "os=unknown,kernel=unknown,hostname=h"), 1);
    near(rec_value(&r, "system_uptime_seconds", ""), 42.5);

    /* os-release without PRETTY_NAME means "Linux" (os-release(5)). */
    assert_int_equal(unlink(path), 0);
    put(tmp_root, "etc/os-release", "NAME=x\n", 7);
    assert_int_equal(collector_run(c, NULL, tmp_root, NULL, &r), 0);
    near(rec_value(&r, "system_info", "os=Linux,kernel=unknown,hostname=h"), 1);

    /* A directory where os-release should be is no os-release. */
    assert_int_equal(unlink(path), 0);
    assert_int_equal(mkdir(path, 0755), 0);
    assert_int_equal(collector_run(c, NULL, tmp_root, NULL, &r), 0);
    near(rec_value(&r, "system_info", "os=unknown,kernel=unknown,hostname=h"), 1);

    rec_done(&r);
}

static void live_boot_time_matches_proc_stat(void **unused)
{
    (void)unused;
    FILE *f = fopen("/proc/stat", "re");
    assert_non_null(f);
    char line[4096];
    long long btime = 0;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "btime %lld", &btime) == 1)
            break;
    fclose(f);
    assert_true(btime > 0);
    struct recorder r;
    rec_init(&r);
    assert_int_equal(collector_run(c, NULL, "", NULL, &r), 0);
    /* The same instant in whole seconds; the two clocks are read a few ns apart. */
    double got = rec_value(&r, "system_boot_time_seconds", "");
    if (fabs(got - (double)btime) > 1)
        fail_msg("boot time %.0f, /proc/stat says %lld", got, btime);
    rec_done(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(full_tree),
        cmocka_unit_test(fallbacks_and_broken_values),
        cmocka_unit_test(links_stay_inside_the_root),
        cmocka_unit_test(nothing_there),
        cmocka_unit_test(recorded_machine),
        cmocka_unit_test(live_boot_time_matches_proc_stat),
        cmocka_unit_test_teardown(utmp_sessions, remove_root),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
