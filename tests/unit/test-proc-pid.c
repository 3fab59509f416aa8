/*
 * Tests of the process collector: state counts, thread sums and the top
 * lists on synthetic trees (two scans with known tick deltas, pids reused,
 * broken stat lines, ties) and on node_exporter's recorded /proc, plus
 * trees written by the tests themselves where a file must change between
 * two scans, and on this machine's /proc, where stat files stay open
 * between scans and must be closed when their process ends.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "collector-test.h"

extern const struct ward_collector ward_collector_proc_pid;
static const struct ward_collector *const c = &ward_collector_proc_pid;

#define T0 INT64_C(1700000000000)

static const char *const all_states[] = {
    "running", "sleeping", "disk_sleep", "zombie", "stopped", "tracing_stop",
    "idle",    "dead",     "parked",     "paging", "other",
};

static void near(double got, double want)
{
    if (fabs(got - want) > 1e-9 * fmax(1.0, fabs(want)))
        fail_msg("got %.12g, want %.12g", got, want);
}

static double page(void)
{
    return (double)sysconf(_SC_PAGESIZE);
}

/* Percent of one core for ticks over ms. */
static double pct(double ticks, double ms)
{
    return ticks / (double)sysconf(_SC_CLK_TCK) / (ms / 1000.0) * 100.0;
}

/* Like collector_run(), with a chosen clock and top_n. */
static int run_at(void *st, const char *root, int64_t now_ms, int64_t top_n, struct recorder *r)
{
    const struct ward_collect_settings settings = {
        .net_exclude = WARD_NET_EXCLUDE_DEFAULT,
        .net_max_interfaces = WARD_NET_MAX_INTERFACES,
        .top_n = top_n,
        .statvfs_timeout_ms = WARD_STATVFS_TIMEOUT_MS,
    };
    r->n = 0;
    struct ward_collect_ctx ctx = {
        .root = root, .now_ms = now_ms, .settings = &settings, .sink = &r->sink};
    return c->collect(st, &ctx);
}

/* The state counts, all of them: the named ones hold want, the rest 0. */
static void check_states(const struct recorder *r, const char *const *names, const double *want,
                         size_t n)
{
    assert_int_equal(rec_count(r, "processes_state"), 11);
    for (size_t i = 0; i < sizeof(all_states) / sizeof(all_states[0]); i++) {
        double v = 0;
        for (size_t j = 0; j < n; j++)
            if (strcmp(names[j], all_states[i]) == 0)
                v = want[j];
        char l[64];
        snprintf(l, sizeof(l), "state=%s", all_states[i]);
        near(rec_value(r, "processes_state", l), v);
    }
}

/* The user label the collector should give a process whose status is unusable. */
static void owner_label(const char *dir, char *out, size_t size)
{
    struct stat sb;
    assert_int_equal(stat(dir, &sb), 0);
    /* The fixture's passwd names these uids; others stay numbers. */
    const char *name = sb.st_uid == 0 ? "root" : sb.st_uid == 1000 ? "alice" : NULL;
    if (name)
        snprintf(out, size, "%s", name);
    else
        snprintf(out, size, "%u", (unsigned)sb.st_uid);
}

static void first_scan_counts_and_memory(void **unused)
{
    (void)unused;
    void *st;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(c->init(&st), 0);
    assert_int_equal(collector_run(c, st, FIXTURES "/proc-pid-a", NULL, &r), 0);
    static const char *const names[] = {"running", "sleeping", "idle", "zombie"};
    static const double want[] = {1, 4, 1, 1};
    check_states(&r, names, want, 4);
    near(rec_value(&r, "processes_pids", ""), 7);
    near(rec_value(&r, "processes_threads", ""), 11);
    assert_int_equal(rec_count(&r, "processes_top_cpu_percent"), 0);
    /* Kernel threads and zombies have no RSS and stay off the list. */
    assert_int_equal(rec_count(&r, "processes_top_rss_bytes"), 5);
    near(rec_value(&r, "top_rss_bytes", "pid=100,name=busy,user=alice"), 50000 * page());
    near(rec_value(&r, "top_rss_bytes", "pid=1,name=systemd,user=root"), 2000 * page());
    /* comm holding ") (", and a uid passwd does not know. */
    near(rec_value(&r, "top_rss_bytes", "pid=400,name=tricky) (name,user=4242"), 400 * page());
    near(rec_value(&r, "top_rss_bytes", "pid=200,name=backwards,user=alice"), 300 * page());
    /* The tree's passwd, not the host's, names uid 33. */
    near(rec_value(&r, "top_rss_bytes", "pid=300,name=old300,user=web33"), 100 * page());
    c->done(st);
    rec_done(&r);
}

/* The CPU list of scan B, elapsed_ms after scan A. */
static void check_cpu_b(const struct recorder *r, double ms)
{
    assert_int_equal(rec_count(r, "processes_top_cpu_percent"), 5);
    near(rec_value(r, "top_cpu_percent", "pid=100,name=busy,user=alice"), pct(1500, ms));
    /* Started after scan A: counts from its start. */
    near(rec_value(r, "top_cpu_percent", "pid=600,name=fresh,user=alice"), pct(300, ms));
    /* Pid 300 was reused: the new process counts from its start, not from old300's ticks. */
    near(rec_value(r, "top_cpu_percent", "pid=300,name=new300,user=web33"), pct(150, ms));
    near(rec_value(r, "top_cpu_percent", "pid=1,name=systemd,user=root"), pct(30, ms));
    near(rec_value(r, "top_cpu_percent", "pid=400,name=tricky) (name,user=4242"), pct(30, ms));
    /* Ticks that went backwards, no ticks at all, and a process older than scan A it missed. */
    assert_null(rec_find(r, "top_cpu_percent", "pid=200,name=backwards,user=alice"));
    assert_null(rec_find(r, "top_cpu_percent", "pid=250,name=kworker/0:1,user=root"));
    assert_null(rec_find(r, "top_cpu_percent", "pid=700,name=missed,user=alice"));
}

static void cpu_between_two_scans(void **unused)
{
    (void)unused;
    void *st;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(c->init(&st), 0);
    assert_int_equal(run_at(st, FIXTURES "/proc-pid-a", T0, 10, &r), 0);
    assert_int_equal(run_at(st, FIXTURES "/proc-pid-b", T0 + 15000, 10, &r), 0);
    near(rec_value(&r, "top_cpu_percent", "pid=100,name=busy,user=alice"), 100.0);
    check_cpu_b(&r, 15000);
    static const char *const names[] = {"running", "sleeping", "idle", "stopped", "disk_sleep"};
    static const double want[] = {1, 4, 1, 1, 1};
    check_states(&r, names, want, 5);
    near(rec_value(&r, "processes_pids", ""), 8);
    near(rec_value(&r, "processes_threads", ""), 12);
    assert_int_equal(rec_count(&r, "processes_top_rss_bytes"), 7);
    near(rec_value(&r, "top_rss_bytes", "pid=700,name=missed,user=alice"), 50 * page());
    c->done(st);
    rec_done(&r);
}

static void top_n_limits_and_ties(void **unused)
{
    (void)unused;
    void *st;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(c->init(&st), 0);
    assert_int_equal(run_at(st, FIXTURES "/proc-pid-a", T0, 4, &r), 0);
    assert_int_equal(run_at(st, FIXTURES "/proc-pid-b", T0 + 15000, 4, &r), 0);
    /* Pids 1 and 400 tie at 30 ticks, and at 2000 pages: the lower pid wins both. */
    assert_int_equal(rec_count(&r, "processes_top_cpu_percent"), 4);
    assert_non_null(rec_find(&r, "top_cpu_percent", "pid=1,name=systemd,user=root"));
    assert_null(rec_find(&r, "top_cpu_percent", "pid=400,name=tricky) (name,user=4242"));
    assert_int_equal(rec_count(&r, "processes_top_rss_bytes"), 4);
    near(rec_value(&r, "top_rss_bytes", "pid=100,name=busy,user=alice"), 60000 * page());
    near(rec_value(&r, "top_rss_bytes", "pid=1,name=systemd,user=root"), 2000 * page());
    near(rec_value(&r, "top_rss_bytes", "pid=400,name=tricky) (name,user=4242"), 2000 * page());
    near(rec_value(&r, "top_rss_bytes", "pid=600,name=fresh,user=alice"), 1000 * page());

    /* Off: the counts stay, the lists go. */
    assert_int_equal(run_at(st, FIXTURES "/proc-pid-a", T0 + 30000, 0, &r), 0);
    assert_int_equal(rec_count(&r, "processes_top_cpu_percent"), 0);
    assert_int_equal(rec_count(&r, "processes_top_rss_bytes"), 0);
    near(rec_value(&r, "processes_pids", ""), 7);
    assert_int_equal(run_at(st, FIXTURES "/proc-pid-a", T0 + 45000, -3, &r), 0);
    assert_int_equal(rec_count(&r, "processes_top_rss_bytes"), 0);

    /* Equal RSS everywhere but one: the order never depends on readdir. */
    assert_int_equal(run_at(st, FIXTURES "/proc-pid-ties", T0, 3, &r), 0);
    assert_int_equal(rec_count(&r, "processes_top_rss_bytes"), 3);
    near(rec_value(&r, "top_rss_bytes", "pid=6,name=bigger,user=0"), 101 * page());
    near(rec_value(&r, "top_rss_bytes", "pid=1,name=same1,user=0"), 100 * page());
    near(rec_value(&r, "top_rss_bytes", "pid=2,name=same2,user=0"), 100 * page());
    /* A list longer than the process count holds them all; the cap bounds a huge setting. */
    assert_int_equal(run_at(st, FIXTURES "/proc-pid-ties", T0, 50, &r), 0);
    assert_int_equal(rec_count(&r, "processes_top_rss_bytes"), 6);
    assert_int_equal(run_at(st, FIXTURES "/proc-pid-ties", T0, INT64_MAX, &r), 0);
    assert_int_equal(rec_count(&r, "processes_top_rss_bytes"), 6);
    near(rec_value(&r, "top_rss_bytes", "pid=5,name=same5,user=0"), 100 * page());
    c->done(st);
    rec_done(&r);
}

static void short_interval_keeps_the_baseline(void **unused)
{
    (void)unused;
    void *st;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(c->init(&st), 0);
    assert_int_equal(run_at(st, FIXTURES "/proc-pid-a", T0, 10, &r), 0);
    /* Same clock (the harness's fixed now_ms), then 0.5 s: no list, scan A stays the baseline. */
    assert_int_equal(collector_run(c, st, FIXTURES "/proc-pid-b", NULL, &r), 0);
    assert_int_equal(rec_count(&r, "processes_top_cpu_percent"), 0);
    assert_int_equal(run_at(st, FIXTURES "/proc-pid-b", T0 + 500, 10, &r), 0);
    assert_int_equal(rec_count(&r, "processes_top_cpu_percent"), 0);
    assert_int_equal(run_at(st, FIXTURES "/proc-pid-b", T0 + 20000, 10, &r), 0);
    check_cpu_b(&r, 20000);
    c->done(st);
    rec_done(&r);
}

static void clock_going_back_starts_a_new_baseline(void **unused)
{
    (void)unused;
    void *st;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(c->init(&st), 0);
    assert_int_equal(run_at(st, FIXTURES "/proc-pid-a", T0, 10, &r), 0);
    assert_int_equal(run_at(st, FIXTURES "/proc-pid-a", T0 - 5000, 10, &r), 0);
    assert_int_equal(rec_count(&r, "processes_top_cpu_percent"), 0);
    /* 15 s after the scan at T0 - 5000, not 10 s after the one at T0. */
    assert_int_equal(run_at(st, FIXTURES "/proc-pid-b", T0 + 10000, 10, &r), 0);
    check_cpu_b(&r, 15000);
    c->done(st);
    rec_done(&r);
}

static void broken_entries_are_skipped(void **unused)
{
    (void)unused;
    void *st;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(c->init(&st), 0);
    assert_int_equal(collector_run(c, st, FIXTURES "/proc-pid-bad", NULL, &r), 0);
    /*
     * Counted: 14 (saturated huge numbers), 17 (comm "a) (b"), 18 (unknown
     * state K), 19 (long comm), 20 (comm with a newline and a stray byte), 23
     * (negative priority and nice). Skipped: 10 (empty), 11 (truncated), 12
     * (no ')'), 13 (utime not a number), 15 (no stat: it exited), 16 (stat is
     * a directory), 21 (absurd thread count), 22 (no rss), and abc, 0,
     * 99999999999, 42 (a file) and self, which are no processes.
     */
    static const char *const names[] = {"running", "sleeping", "other"};
    static const double want[] = {1, 4, 1};
    check_states(&r, names, want, 3);
    near(rec_value(&r, "processes_pids", ""), 6);
    near(rec_value(&r, "processes_threads", ""), 9);
    /* 14's RSS overflows when multiplied by the page size: not listed. */
    assert_int_equal(rec_count(&r, "processes_top_rss_bytes"), 4);
    near(rec_value(&r, "top_rss_bytes", "pid=23,name=Web Content,user=alice"), 40 * page());
    near(rec_value(&r, "top_rss_bytes", "pid=17,name=a) (b,user=alice"), 10 * page());
    /* No status, or a status without a readable Uid: the owner of /proc/PID stands in. */
    char owner[32], labels[160];
    owner_label(FIXTURES "/proc-pid-bad/proc/20", owner, sizeof(owner));
    snprintf(labels, sizeof(labels), "pid=20,name=bad?name?,user=%s", owner);
    near(rec_value(&r, "top_rss_bytes", labels), 30 * page());
    /* 63 bytes of x, then a two-byte character that does not fit in 64 and is dropped whole. */
    owner_label(FIXTURES "/proc-pid-bad/proc/19", owner, sizeof(owner));
    snprintf(labels, sizeof(labels), "pid=19,name=%.63s,user=%s",
             "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", owner);
    near(rec_value(&r, "top_rss_bytes", labels), 20 * page());
    c->done(st);
    rec_done(&r);
}

static void absent_or_empty_proc(void **unused)
{
    (void)unused;
    void *st;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(c->init(&st), 0);
    assert_int_equal(collector_run(c, st, FIXTURES "/empty", NULL, &r), -ENOENT);
    assert_int_equal(r.n, 0);
    assert_int_equal(collector_run(c, st, FIXTURES "/proc-pid-none", NULL, &r), -ENODATA);
    assert_int_equal(r.n, 0);
    c->done(st);
    rec_done(&r);
}

static void recorded_machine(void **unused)
{
    (void)unused;
    void *st;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(c->init(&st), 0);
    assert_int_equal(collector_run(c, st, NODE_FIXTURE, NULL, &r), 0);
    /*
     * node_exporter's processes collector reads the same proc/PID/stat files
     * (e2e-output.txt):
     *   node_processes_state{state="I"} 1, {state="S"} 2 = count{state=idle}, {state=sleeping}
     *   node_processes_pids 3                            = processes_pids
     *   node_processes_threads 3 (sum of num_threads)    = processes_threads
     * node_procs_running and node_procs_blocked come from /proc/stat's
     * procs_running and procs_blocked, counted in threads by the scheduler:
     * not comparable. proc/10/stat names pid 17 inside; like node_exporter we
     * go by the directory.
     */
    static const char *const names[] = {"sleeping", "idle"};
    static const double want[] = {2, 1};
    check_states(&r, names, want, 2);
    near(rec_value(&r, "processes_pids", ""), 3);
    near(rec_value(&r, "processes_threads", ""), 3);
    /* node_exporter has no per-process memory; systemd's rss field is 2507 pages. */
    assert_int_equal(rec_count(&r, "processes_top_rss_bytes"), 1);
    struct stat sb;
    assert_int_equal(stat(NODE_FIXTURE "/proc/1", &sb), 0);
    char labels[96];
    snprintf(labels, sizeof(labels), "pid=1,name=systemd,user=%u", (unsigned)sb.st_uid);
    near(rec_value(&r, "top_rss_bytes", labels), 2507 * page());
    assert_int_equal(rec_count(&r, "processes_top_cpu_percent"), 0);
    c->done(st);
    rec_done(&r);
}

static void stat_of(char *out, size_t size, const char *ticks)
{
    snprintf(out, size,
             "1 (job) R 0 1 1 0 -1 0 0 0 0 0 %s 0 0 0 20 0 1 0 5 1000 10 0 0 0 0 0 0 0\n", ticks);
}

static void passwd_changes_and_corrupt_ticks(void **unused)
{
    (void)unused;
    char *tmp_root = scratch_new("proc-pid");
    char line[256];
    stat_of(line, sizeof(line), "0");
    scratch_put(tmp_root, "/proc/1/stat", line);
    scratch_put(tmp_root, "/proc/1/status", "Name:\tjob\nUid:\t1000\t1000\t1000\t1000\n");
    scratch_put(tmp_root, "/etc/passwd", "bob:x:1000:1000::/:/bin/sh\n");
    void *st;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(c->init(&st), 0);
    assert_int_equal(run_at(st, tmp_root, T0, 10, &r), 0);
    near(rec_value(&r, "top_rss_bytes", "pid=1,name=job,user=bob"), 10 * page());

    /* The user is renamed: the cache notices the new file. Ticks jump absurdly: no sample. */
    scratch_put(tmp_root, "/etc/passwd", "carol:x:1000:1000::/:/bin/sh\n");
    stat_of(line, sizeof(line), "1000000000000000");
    scratch_put(tmp_root, "/proc/1/stat", line);
    assert_int_equal(run_at(st, tmp_root, T0 + 15000, 10, &r), 0);
    near(rec_value(&r, "top_rss_bytes", "pid=1,name=job,user=carol"), 10 * page());
    assert_int_equal(rec_count(&r, "processes_top_cpu_percent"), 0);

    /* passwd gone: the number. The corrupt reading was still the new baseline. */
    char path[512];
    snprintf(path, sizeof(path), "%s/etc/passwd", tmp_root);
    assert_int_equal(unlink(path), 0);
    stat_of(line, sizeof(line), "1000000000000150");
    scratch_put(tmp_root, "/proc/1/stat", line);
    assert_int_equal(run_at(st, tmp_root, T0 + 30000, 10, &r), 0);
    near(rec_value(&r, "top_rss_bytes", "pid=1,name=job,user=1000"), 10 * page());
    near(rec_value(&r, "top_cpu_percent", "pid=1,name=job,user=1000"), pct(150, 15000));

    /* The process changes its uid: the one read at T0 holds for a minute. */
    scratch_put(tmp_root, "/proc/1/status", "Name:\tjob\nUid:\t2000\t2000\t2000\t2000\n");
    assert_int_equal(run_at(st, tmp_root, T0 + 45000, 10, &r), 0);
    near(rec_value(&r, "top_rss_bytes", "pid=1,name=job,user=1000"), 10 * page());
    assert_int_equal(run_at(st, tmp_root, T0 + 60000, 10, &r), 0);
    near(rec_value(&r, "top_rss_bytes", "pid=1,name=job,user=2000"), 10 * page());

    /* The process exits: nothing to count, the tree has no process left. */
    snprintf(path, sizeof(path), "%s/proc/1/stat", tmp_root);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(run_at(st, tmp_root, T0 + 75000, 10, &r), -ENODATA);
    c->done(st);
    rec_done(&r);
    scratch_free(tmp_root);
}

/* Counts this process's open files that are some /proc/PID/stat, and whether one is pid's. */
static size_t kept_stat_files(pid_t pid, bool *has_pid)
{
    char want[64];
    snprintf(want, sizeof(want), "/proc/%d/stat", (int)pid);
    *has_pid = false;
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        char link[300], target[256];
        snprintf(link, sizeof(link), "/proc/self/fd/%s", e->d_name);
        ssize_t len = readlink(link, target, sizeof(target) - 1);
        if (len <= 0)
            continue;
        target[len] = '\0';
        unsigned p;
        char tail[8];
        if (sscanf(target, "/proc/%u/%7s", &p, tail) == 2 && strcmp(tail, "stat") == 0)
            n++;
        if (strcmp(target, want) == 0)
            *has_pid = true;
    }
    closedir(d);
    return n;
}

static void live_stat_files_follow_their_process(void **unused)
{
    (void)unused;
    /* A child that waits on a pipe until the test kills it. */
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        char ch;
        close(fds[1]);
        (void)read(fds[0], &ch, 1);
        _exit(0);
    }
    close(fds[0]);

    void *st;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(c->init(&st), 0);
    bool has;
    assert_int_equal(kept_stat_files(child, &has), 0);
    assert_int_equal(run_at(st, "", T0, 10, &r), 0);
    assert_true(rec_value(&r, "processes_pids", "") >= 2);
    assert_true(kept_stat_files(child, &has) >= 2);
    assert_true(has);

    /* The child ends: its file is closed at the next scan, the others stay. */
    assert_int_equal(kill(child, SIGKILL), 0);
    assert_int_equal(waitpid(child, NULL, 0), child);
    close(fds[1]);
    assert_int_equal(run_at(st, "", T0 + 15000, 10, &r), 0);
    assert_true(kept_stat_files(child, &has) >= 1);
    assert_false(has);

    /* A recorded tree keeps no files; done closes the rest. */
    assert_int_equal(run_at(st, FIXTURES "/proc-pid-a", T0 + 30000, 10, &r), 0);
    assert_int_equal(kept_stat_files(child, &has), 0);
    assert_int_equal(run_at(st, "", T0 + 45000, 10, &r), 0);
    c->done(st);
    assert_int_equal(kept_stat_files(child, &has), 0);
    rec_done(&r);
}

static void live_stat_files_within_budget(void **unused)
{
    (void)unused;
    /* With 16 descriptors allowed, at most 8 stat files stay open. */
    struct rlimit old, low;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    low = old;
    low.rlim_cur = 16;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    void *st;
    assert_int_equal(c->init(&st), 0);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    struct recorder r;
    rec_init(&r);
    bool has;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(run_at(st, "", T0 + i * 15000, 10, &r), 0);
        assert_true(kept_stat_files(0, &has) <= 8);
    }
    c->done(st);
    rec_done(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(first_scan_counts_and_memory),
        cmocka_unit_test(cpu_between_two_scans),
        cmocka_unit_test(top_n_limits_and_ties),
        cmocka_unit_test(short_interval_keeps_the_baseline),
        cmocka_unit_test(clock_going_back_starts_a_new_baseline),
        cmocka_unit_test(broken_entries_are_skipped),
        cmocka_unit_test(absent_or_empty_proc),
        cmocka_unit_test(recorded_machine),
        cmocka_unit_test(passwd_changes_and_corrupt_ticks),
        cmocka_unit_test(live_stat_files_follow_their_process),
        cmocka_unit_test(live_stat_files_within_budget),
    };
    return cmocka_run_group_tests(tests, NULL, scratch_teardown);
}
