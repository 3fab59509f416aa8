/*
 * Tests of the filesystem-size collector: which mounts are reported from
 * recorded and synthetic mount tables, exact sizes from synthetic statvfs
 * results, malformed and overlong lines, the mount cap, and the deadline:
 * a statvfs that blocks is reported as an error within about the timeout,
 * is not retried while stuck, the number of stuck threads is bounded, and
 * everything recovers once the call returns. On this machine, in a mount
 * namespace of its own, the kept mount table is parsed again after a mount
 * and an unmount.
 *
 * statvfs goes through the ward_disk_statvfs seam: fake_statvfs() answers
 * from a table keyed by mount point, and blocks on a gate for the mount
 * points a test marks as hanging.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/collectors/proc-mountinfo.h"
#include "collector-test.h"

extern const struct ward_collector ward_collector_proc_mountinfo;
static const struct ward_collector *const c = &ward_collector_proc_mountinfo;

/* The collector's limit of stuck workers (MAX_STUCK in proc-mountinfo.c). */
#define STUCK_LIMIT 8

struct fake {
    const char *mountpoint;
    struct statvfs sv;
    int err; /* errno to fail with, or 0 */
};

static const char *seam_root;
static const struct fake *fakes;
static size_t n_fakes;
static struct statvfs fallback_sv;
static const char *hang_prefix; /* mount points starting with it block on the gate */
static bool seam_bad_path;      /* a path came without the root prefix */
static int calls, hang_calls, hung_now;
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static bool gate_open;

static int fake_statvfs(const char *path, struct statvfs *out)
{
    size_t len = strlen(seam_root);
    if (strncmp(path, seam_root, len) != 0 || path[len] != '/') {
        __atomic_store_n(&seam_bad_path, true, __ATOMIC_SEQ_CST);
        errno = EINVAL;
        return -1;
    }
    const char *mp = path + len;
    __atomic_add_fetch(&calls, 1, __ATOMIC_SEQ_CST);
    if (hang_prefix && strncmp(mp, hang_prefix, strlen(hang_prefix)) == 0) {
        __atomic_add_fetch(&hang_calls, 1, __ATOMIC_SEQ_CST);
        pthread_mutex_lock(&gate_lock);
        hung_now++;
        while (!gate_open)
            pthread_cond_wait(&gate_cond, &gate_lock);
        hung_now--;
        pthread_mutex_unlock(&gate_lock);
    }
    for (size_t i = 0; i < n_fakes; i++) {
        if (strcmp(fakes[i].mountpoint, mp) != 0)
            continue;
        if (fakes[i].err) {
            errno = fakes[i].err;
            return -1;
        }
        *out = fakes[i].sv;
        return 0;
    }
    *out = fallback_sv;
    return 0;
}

static void seam_reset(const char *root, const struct fake *table, size_t n)
{
    ward_disk_statvfs = fake_statvfs;
    seam_root = root;
    fakes = table;
    n_fakes = n;
    fallback_sv = (struct statvfs){
        .f_blocks = 10, .f_bfree = 5, .f_bavail = 4, .f_frsize = 512, .f_files = 7, .f_ffree = 3};
    hang_prefix = NULL;
    seam_bad_path = false;
    calls = 0;
    __atomic_store_n(&hang_calls, 0, __ATOMIC_SEQ_CST);
    pthread_mutex_lock(&gate_lock);
    gate_open = false;
    pthread_mutex_unlock(&gate_lock);
}

static void gate_release(void)
{
    pthread_mutex_lock(&gate_lock);
    gate_open = true;
    pthread_cond_broadcast(&gate_cond);
    pthread_mutex_unlock(&gate_lock);
}

static int hung(void)
{
    pthread_mutex_lock(&gate_lock);
    int n = hung_now;
    pthread_mutex_unlock(&gate_lock);
    return n;
}

static void near(double got, double want)
{
    if (fabs(got - want) > 1e-9 * fmax(1.0, fabs(want)))
        fail_msg("got %.17g, want %.17g", got, want);
}

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* Threads of this process. */
static int threads(void)
{
    FILE *f = fopen("/proc/self/status", "re");
    assert_non_null(f);
    char line[256];
    int n = -1;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "Threads:", 8) == 0)
            n = (int)strtol(line + 8, NULL, 10);
    fclose(f);
    assert_true(n > 0);
    return n;
}

/* A scratch root under /tmp with an empty proc/self, removed by scratch_free(). */
static char *root_new(void)
{
    char *dir = scratch_new("disk");
    char path[4096];
    snprintf(path, sizeof(path), "%s/proc", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof(path), "%s/proc/self", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    return dir;
}

static FILE *mountinfo_in(const char *root)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/proc/self/mountinfo", root);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    return f;
}

static const struct fake basic_fakes[] = {
    {"/",
     {.f_blocks = 1000000,
      .f_bfree = 400000,
      .f_bavail = 350000,
      .f_frsize = 4096,
      .f_files = 65536,
      .f_ffree = 60000},
     0},
    {"/mnt/empty", {0}, 0},
    /* A bogus answer: more free than total, and f_frsize unset. */
    {"/tmp", {.f_blocks = 100, .f_bfree = 150, .f_bavail = 150, .f_bsize = 1024}, 0},
    {"/mnt/my disk",
     {.f_blocks = UINT64_C(1) << 50,
      .f_bfree = UINT64_C(1) << 49,
      .f_bavail = UINT64_C(1) << 48,
      .f_frsize = 1 << 16},
     0},
    {"/mnt/fail", {0}, EACCES},
};

static void selection_and_sizes(void **unused)
{
    (void)unused;
    const char *root = FIXTURES "/disk-basic";
    seam_reset(root, basic_fakes, sizeof(basic_fakes) / sizeof(basic_fakes[0]));
    void *st;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(c->init(&st), 0);
    assert_int_equal(collector_run(c, st, root, NULL, &r), 0);
    assert_false(seam_bad_path);

    const char *l = "device=/dev/sda2,mountpoint=/,fstype=ext4";
    near(rec_value(&r, "disk_total_bytes", l), 4096000000.0);
    near(rec_value(&r, "disk_free_bytes", l), 1638400000.0);
    near(rec_value(&r, "disk_avail_bytes", l), 1433600000.0);
    near(rec_value(&r, "disk_used_bytes", l), 2457600000.0);
    near(rec_value(&r, "disk_used_percent", l), 100.0 * 600000 / 950000);
    near(rec_value(&r, "disk_inodes", l), 65536);
    near(rec_value(&r, "disk_inodes_free", l), 60000);
    near(rec_value(&r, "disk_device_error", l), 0);

    /* Octal escapes decoded; the whole-filesystem mount wins over a subtree mounted first. */
    l = "device=/dev/sdb1,mountpoint=/mnt/my disk,fstype=ext4";
    near(rec_value(&r, "disk_total_bytes", l), 73786976294838206464.0); /* 2^66 */
    near(rec_value(&r, "disk_used_bytes", l), 36893488147419103232.0);  /* 2^65 */
    near(rec_value(&r, "disk_avail_bytes", l), 18446744073709551616.0); /* 2^64 */
    near(rec_value(&r, "disk_used_percent", l), 200.0 / 3);
    assert_null(
        rec_find(&r, "disk_device_error", "device=/dev/sdb1,mountpoint=/mnt/data-sub,fstype=ext4"));

    l = "device=/dev/sdh1,mountpoint=/mnt/empty,fstype=vfat";
    near(rec_value(&r, "disk_total_bytes", l), 0);
    near(rec_value(&r, "disk_used_percent", l), 0);
    l = "device=tmpfs,mountpoint=/tmp,fstype=tmpfs";
    near(rec_value(&r, "disk_total_bytes", l), 102400);
    near(rec_value(&r, "disk_free_bytes", l), 153600);
    near(rec_value(&r, "disk_used_bytes", l), 0);
    near(rec_value(&r, "disk_used_percent", l), 0);

    /* A failed statvfs: the error flag and no sizes. */
    l = "device=/dev/sdi1,mountpoint=/mnt/fail,fstype=ext4";
    near(rec_value(&r, "disk_device_error", l), 1);
    assert_null(rec_find(&r, "disk_total_bytes", l));
    assert_null(rec_find(&r, "disk_used_percent", l));

    /* Everything else answers with the fallback sizes. */
    l = "device=/dev/sda3,mountpoint=/home,fstype=xfs";
    near(rec_value(&r, "disk_total_bytes", l), 5120);
    near(rec_value(&r, "disk_used_bytes", l), 2560);
    near(rec_value(&r, "disk_used_percent", l), 100.0 * 2560 / 4608);
    near(rec_value(&r, "disk_inodes_free", l), 3);
    static const char *const kept[] = {
        "device=tmpfs,mountpoint=/run,fstype=tmpfs",
        "device=/dev/sdc1,mountpoint=/var/lib/docker,fstype=ext4",
        "device=/dev/sdf1,mountpoint=/mnt/over,fstype=btrfs",
        "device=server:/export\ttab,mountpoint=/mnt/nfs,fstype=nfs4",
        "device=/dev/sdj1,mountpoint=/var/lib/dockerfoo,fstype=ext4",
        "device=/dev/sdk1,mountpoint=/devices,fstype=ext4",
        "device=filer:/auto,mountpoint=/mnt/auto,fstype=nfs4",
    };
    for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
        near(rec_value(&r, "disk_total_bytes", kept[i]), 5120);
    /*
     * Left out: pseudo filesystems, /dev/shm, /srv and /mnt/rootbind (bind
     * mounts of /home and /), docker's overlay and volumes, credentials,
     * /mnt/over's first filesystem and /mnt/hidden (both mounted over),
     * and the autofs trigger points (/mnt/auto2 is one still unmounted).
     */
    assert_int_equal(rec_count(&r, "disk_device_error"), 13);
    assert_int_equal(rec_count(&r, "disk_total_bytes"), 12);
    assert_int_equal(calls, 13);
    near(rec_value(&r, "disk_mounts_dropped", ""), 0);
    c->done(st);
    rec_done(&r);
}

static void proc_mounts_fallback(void **unused)
{
    (void)unused;
    const char *root = FIXTURES "/disk-mounts";
    seam_reset(root, NULL, 0);
    void *st;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(c->init(&st), 0);
    assert_int_equal(collector_run(c, st, root, NULL, &r), 0);
    near(rec_value(&r, "disk_total_bytes", "device=/dev/sda1,mountpoint=/,fstype=ext4"), 5120);
    near(rec_value(&r, "disk_total_bytes", "device=tmpfs,mountpoint=/run,fstype=tmpfs"), 5120);
    near(rec_value(&r, "disk_total_bytes", "device=tmpfs,mountpoint=/tmp,fstype=tmpfs"), 5120);
    near(
        rec_value(&r, "disk_total_bytes", "device=/dev/sdb1,mountpoint=/mnt/with space,fstype=xfs"),
        5120);
    /* /mnt/bind shows the same /dev node: one filesystem. */
    assert_int_equal(rec_count(&r, "disk_total_bytes"), 4);
    c->done(st);
    rec_done(&r);
}

static void recorded_machines(void **unused)
{
    (void)unused;
    /*
     * node_exporter's tree has no proc/self/mountinfo (its proc/self is a
     * flattened symlink), but it has proc/1/mountinfo, which the collector
     * reads first under a host root. node_exporter's expected output has no
     * node_filesystem_* samples (statfs cannot run on a recorded tree), so
     * only the selection is checked here, not sizes against theirs.
     */
    seam_reset(NODE_FIXTURE, NULL, 0);
    void *st;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(c->init(&st), 0);
    assert_int_equal(collector_run(c, st, NODE_FIXTURE, NULL, &r), 0);
    assert_false(seam_bad_path);
    static const char *const kept[] = {
        "device=/dev/dm-2,mountpoint=/,fstype=ext4",
        "device=tmpfs,mountpoint=/run,fstype=tmpfs",
        "device=tmpfs,mountpoint=/run/lock,fstype=tmpfs",
        "device=/dev/sda3,mountpoint=/boot,fstype=ext2",
        "device=tmpfs,mountpoint=/run/user/1000,fstype=tmpfs",
        "device=gvfsd-fuse,mountpoint=/run/user/1000/gvfs,fstype=fuse.gvfsd-fuse",
        /* \040 decoded; the \011 twin is the same device (260:0), so merged. */
        "device=/dev/sda,mountpoint=/var/lib/kubelet/plugins/kubernetes.io/vsphere-volume/mounts/"
        "[vsanDatastore] bafb9e5a-8856-7e6c-699c-801844e77a4a/"
        "kubernetes-dynamic-pvc-3eba5bba-48a3-11e8-89ab-005056b92113.vmdk,fstype=ext4",
    };
    for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
        near(rec_value(&r, "disk_device_error", kept[i]), 0);
        near(rec_value(&r, "disk_avail_bytes", kept[i]), 2048);
    }
    assert_int_equal(rec_count(&r, "disk_device_error"), 7);
    c->done(st);
    rec_done(&r);

    /* Its proc/10/mountinfo: rootfs, an NFS share mounted twice, one mounted over. */
    char *tmp = root_new();
    char link[4096];
    snprintf(link, sizeof(link), "%s/proc/self/mountinfo", tmp);
    assert_int_equal(symlink(NODE_FIXTURE "/proc/10/mountinfo", link), 0);
    seam_reset(tmp, NULL, 0);
    rec_init(&r);
    assert_int_equal(c->init(&st), 0);
    assert_int_equal(collector_run(c, st, tmp, NULL, &r), 0);
    near(rec_value(&r, "disk_device_error", "device=/dev/sda1,mountpoint=/,fstype=ext4"), 0);
    near(rec_value(&r, "disk_device_error",
                   "device=192.168.1.1:/srv/test,mountpoint=/mnt/nfs/test,fstype=nfs4"),
         0);
    near(rec_value(&r, "disk_device_error",
                   "device=192.168.1.1:/srv/test,mountpoint=/mnt/nfs/test-dupe,fstype=nfs"),
         0);
    assert_int_equal(rec_count(&r, "disk_device_error"), 3);
    c->done(st);
    rec_done(&r);
    scratch_free(tmp);
}

static void malformed_lines(void **unused)
{
    (void)unused;
    const char *root = FIXTURES "/disk-malformed";
    seam_reset(root, NULL, 0);
    void *st;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(c->init(&st), 0);
    assert_int_equal(collector_run(c, st, root, NULL, &r), 0);
    /* A lone backslash is kept as it is; the last line has no newline. */
    near(rec_value(&r, "disk_total_bytes", "device=/dev/sda2,mountpoint=/ok1,fstype=ext4"), 5120);
    near(rec_value(&r, "disk_total_bytes", "device=/dev/sdc,mountpoint=/weird\\9,fstype=ext4"),
         5120);
    near(rec_value(&r, "disk_total_bytes", "device=/dev/sdb,mountpoint=/ok2 x,fstype=ext4"), 5120);
    near(rec_value(&r, "disk_total_bytes",
                   "device=/dev/sdd,mountpoint=/back\\slash\ttab,fstype=ext4"),
         5120);
    assert_int_equal(rec_count(&r, "disk_device_error"), 4);
    near(rec_value(&r, "disk_mounts_dropped", ""), 0);
    c->done(st);
    rec_done(&r);
}

static void long_lines_and_labels(void **unused)
{
    (void)unused;
    char *root = root_new();
    FILE *f = mountinfo_in(root);
    /* Overlong super options: the fields before them still count. */
    fprintf(f, "50 1 9:1 / /long-opts rw - ext4 /dev/md1 ");
    for (int i = 0; i < 10000; i++)
        fputc('x', f);
    /* A mount point longer than a label may be: dropped and counted. */
    fprintf(f, "\n51 1 9:2 / /");
    for (int i = 0; i < 600; i++)
        fputc('m', f);
    fprintf(f, " rw - ext4 /dev/md2 rw\n");
    /* A mount point longer than the line buffer: not even parsed. */
    fprintf(f, "52 1 9:3 / /");
    for (int i = 0; i < 9000; i++)
        fputc('n', f);
    fprintf(f, " rw - ext4 /dev/md3 rw\n");
    /* An overlong source. */
    fprintf(f, "53 1 9:4 / /long-source rw - nfs4 ");
    for (int i = 0; i < 600; i++)
        fputc('s', f);
    fprintf(f, " rw\n54 1 9:5 / /after rw - ext4 /dev/md5 rw\n");
    assert_int_equal(fclose(f), 0);

    seam_reset(root, NULL, 0);
    void *st;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(c->init(&st), 0);
    assert_int_equal(collector_run(c, st, root, NULL, &r), 0);
    near(rec_value(&r, "disk_total_bytes", "device=/dev/md1,mountpoint=/long-opts,fstype=ext4"),
         5120);
    near(rec_value(&r, "disk_total_bytes", "device=/dev/md5,mountpoint=/after,fstype=ext4"), 5120);
    assert_int_equal(rec_count(&r, "disk_device_error"), 2);
    near(rec_value(&r, "disk_mounts_dropped", ""), 2);
    c->done(st);
    rec_done(&r);
    scratch_free(root);
}

static void mount_cap(void **unused)
{
    (void)unused;
    char *root = root_new();
    FILE *f = mountinfo_in(root);
    for (int i = 0; i < 300; i++)
        fprintf(f, "%d 1 8:%d / /m%03d rw - ext4 /dev/sd%d rw\n", 100 + i, i, i, i);
    assert_int_equal(fclose(f), 0);
    seam_reset(root, NULL, 0);
    void *st;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(c->init(&st), 0);
    assert_int_equal(collector_run(c, st, root, NULL, &r), 0);
    assert_int_equal(rec_count(&r, "disk_device_error"), 256);
    assert_int_equal(calls, 256);
    near(rec_value(&r, "disk_mounts_dropped", ""), 44);
    near(rec_value(&r, "disk_total_bytes", "device=/dev/sd255,mountpoint=/m255,fstype=ext4"), 5120);
    assert_null(rec_find(&r, "disk_total_bytes", "device=/dev/sd256,mountpoint=/m256,fstype=ext4"));
    c->done(st);
    rec_done(&r);
    scratch_free(root);
}

static void empty_missing_and_unreadable(void **unused)
{
    (void)unused;
    seam_reset("", NULL, 0);
    void *st;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(c->init(&st), 0);
    assert_int_equal(collector_run(c, st, FIXTURES "/disk-empty", NULL, &r), -ENODATA);
    assert_int_equal(collector_run(c, st, FIXTURES "/empty", NULL, &r), -ENOENT);
    assert_int_equal(collector_run(c, st, FIXTURES "/disk-unreadable", NULL, &r), -EISDIR);
    assert_int_equal(r.n, 0);
    assert_int_equal(calls, 0);
    c->done(st);
    rec_done(&r);
}

static void real_statvfs_by_default(void **unused)
{
    (void)unused;
    char *root = root_new();
    FILE *f = mountinfo_in(root);
    fprintf(f, "20 1 8:2 / / rw - ext4 /dev/root rw\n");
    assert_int_equal(fclose(f), 0);
    ward_disk_statvfs = statvfs;
    void *st;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(c->init(&st), 0);
    assert_int_equal(collector_run(c, st, root, NULL, &r), 0);
    struct statvfs sv;
    assert_int_equal(statvfs(root, &sv), 0);
    const char *l = "device=/dev/root,mountpoint=/,fstype=ext4";
    near(rec_value(&r, "disk_total_bytes", l), (double)sv.f_blocks * (double)sv.f_frsize);
    near(rec_value(&r, "disk_inodes", l), (double)sv.f_files);
    near(rec_value(&r, "disk_device_error", l), 0);
    c->done(st);
    rec_done(&r);
    scratch_free(root);
}

static const struct ward_collect_settings fast = {
    .net_exclude = WARD_NET_EXCLUDE_DEFAULT,
    .net_max_interfaces = WARD_NET_MAX_INTERFACES,
    .top_n = WARD_TOP_N_DEFAULT,
    .statvfs_timeout_ms = 100,
};

static void hung_mount_times_out(void **unused)
{
    (void)unused;
    const char *root = FIXTURES "/disk-hang";
    seam_reset(root, NULL, 0);
    hang_prefix = "/mnt/nfs";
    const char *nfs = "device=server:/export,mountpoint=/mnt/nfs,fstype=nfs4";
    void *st;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(c->init(&st), 0);

    int64_t t0 = now_ms();
    assert_int_equal(collector_run(c, st, root, &fast, &r), 0);
    int64_t took = now_ms() - t0;
    if (took < 95 || took > 1000)
        fail_msg("collect took %lld ms with a 100 ms timeout", (long long)took);
    near(rec_value(&r, "disk_device_error", nfs), 1);
    assert_null(rec_find(&r, "disk_total_bytes", nfs));
    /* The mounts after the hung one were served by a new worker. */
    near(rec_value(&r, "disk_total_bytes", "device=/dev/sda2,mountpoint=/,fstype=ext4"), 5120);
    near(rec_value(&r, "disk_total_bytes", "device=/dev/sda3,mountpoint=/home,fstype=ext4"), 5120);
    assert_int_equal(__atomic_load_n(&hang_calls, __ATOMIC_SEQ_CST), 1);

    /* Still stuck: an error at once, and no second call on that mount. */
    t0 = now_ms();
    assert_int_equal(collector_run(c, st, root, &fast, &r), 0);
    took = now_ms() - t0;
    if (took > 50)
        fail_msg("collect with a stuck mount took %lld ms", (long long)took);
    near(rec_value(&r, "disk_device_error", nfs), 1);
    near(rec_value(&r, "disk_device_error", "device=/dev/sda3,mountpoint=/home,fstype=ext4"), 0);
    assert_int_equal(__atomic_load_n(&hang_calls, __ATOMIC_SEQ_CST), 1);

    /* Once the call returns, the mount is measured again. */
    gate_release();
    bool recovered = false;
    for (int i = 0; i < 300 && !recovered; i++) {
        assert_int_equal(collector_run(c, st, root, &fast, &r), 0);
        recovered = rec_value(&r, "disk_device_error", nfs) == 0;
        if (!recovered)
            sleep_ms(10);
    }
    assert_true(recovered);
    near(rec_value(&r, "disk_total_bytes", nfs), 5120);
    assert_int_equal(__atomic_load_n(&hang_calls, __ATOMIC_SEQ_CST), 2);
    c->done(st);
    rec_done(&r);
}

static void stuck_threads_are_bounded(void **unused)
{
    (void)unused;
    char *root = root_new();
    FILE *f = mountinfo_in(root);
    fprintf(f, "20 1 8:1 / /ok rw - ext4 /dev/sda1 rw\n");
    for (int i = 0; i < 12; i++)
        fprintf(f, "%d 1 0:%d / /h%02d rw - nfs4 srv:/h%02d rw\n", 30 + i, 50 + i, i, i);
    assert_int_equal(fclose(f), 0);
    seam_reset(root, NULL, 0);
    hang_prefix = "/h";
    struct ward_collect_settings s = fast;
    s.statvfs_timeout_ms = 20;
    int base = threads();
    void *st;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(c->init(&st), 0);

    for (int round = 0; round < 5; round++) {
        int64_t t0 = now_ms();
        assert_int_equal(collector_run(c, st, root, &s, &r), 0);
        int64_t took = now_ms() - t0;
        /* One collection waits at most four timeouts. */
        if (took > 4 * 20 + 500)
            fail_msg("round %d took %lld ms", round, (long long)took);
        assert_int_equal(rec_count(&r, "disk_device_error"), 13);
        assert_int_equal(rec_count(&r, "disk_total_bytes"), round < 2 ? 1 : 0);
    }
    /* No more stuck calls than the limit, and no more threads. */
    assert_int_equal(__atomic_load_n(&hang_calls, __ATOMIC_SEQ_CST), STUCK_LIMIT);
    assert_int_equal(hung(), STUCK_LIMIT);
    assert_int_equal(threads() - base, STUCK_LIMIT);
    /* At the limit even a healthy mount cannot be measured. */
    near(rec_value(&r, "disk_device_error", "device=/dev/sda1,mountpoint=/ok,fstype=ext4"), 1);

    gate_release();
    bool recovered = false;
    for (int i = 0; i < 500 && !recovered; i++) {
        assert_int_equal(collector_run(c, st, root, &s, &r), 0);
        recovered = rec_count(&r, "disk_total_bytes") == 13;
        if (!recovered)
            sleep_ms(10);
    }
    assert_true(recovered);
    c->done(st);
    rec_done(&r);
    /* Every worker ends: the idle one is joined, the stuck ones exit on their own. */
    for (int i = 0; i < 200 && threads() > base; i++)
        sleep_ms(10);
    assert_int_equal(threads(), base);
    scratch_free(root);
}

static void done_while_stuck(void **unused)
{
    (void)unused;
    const char *root = FIXTURES "/disk-hang";
    seam_reset(root, NULL, 0);
    hang_prefix = "/mnt/nfs";
    int base = threads();
    void *st;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(c->init(&st), 0);
    assert_int_equal(collector_run(c, st, root, &fast, &r), 0);
    assert_int_equal(hung(), 1);
    /* The state goes first; the blocked worker must not touch it afterwards. */
    c->done(st);
    rec_done(&r);
    assert_int_equal(threads(), base + 1);
    gate_release();
    for (int i = 0; i < 200 && threads() > base; i++)
        sleep_ms(10);
    assert_int_equal(hung(), 0);
    assert_int_equal(threads(), base);
}

/* In a forked child: 0 when the mount table follows a mount and an unmount, 77 without a namespace.
 */
static int live_table_child(const char *dir)
{
    if (unshare(CLONE_NEWNS) < 0 && unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
        return 77;
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return 77;
    ward_disk_statvfs = statvfs;
    void *st;
    struct recorder r;
    rec_init(&r);
    char labels[512];
    snprintf(labels, sizeof(labels), "device=ward-test,mountpoint=%s,fstype=tmpfs", dir);
    if (c->init(&st) < 0 || collector_run(c, st, "", NULL, &r) < 0 ||
        rec_find(&r, "disk_total_bytes", labels))
        return 1;
    if (mount("ward-test", dir, "tmpfs", 0, "size=1m") < 0)
        return 77;
    if (collector_run(c, st, "", NULL, &r) < 0 || !rec_find(&r, "disk_total_bytes", labels))
        return 2;
    /* Unchanged: the same mounts from the kept table. */
    if (collector_run(c, st, "", NULL, &r) < 0 || !rec_find(&r, "disk_total_bytes", labels))
        return 3;
    if (umount(dir) < 0)
        return 4;
    if (collector_run(c, st, "", NULL, &r) < 0 || rec_find(&r, "disk_total_bytes", labels))
        return 5;
    c->done(st);
    rec_done(&r);
    return 0;
}

static void live_table_follows_mounts(void **unused)
{
    (void)unused;
    char dir[] = "/tmp/ward-test-mnt-XXXXXX";
    assert_non_null(mkdtemp(dir));
    assert_int_equal(chmod(dir, 0755), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0)
        _exit(live_table_child(dir));
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_int_equal(rmdir(dir), 0);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == 77) {
        print_message("skipped: cannot create a mount namespace with a tmpfs here\n");
        skip();
    }
    assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(selection_and_sizes),
        cmocka_unit_test(proc_mounts_fallback),
        cmocka_unit_test(recorded_machines),
        cmocka_unit_test(malformed_lines),
        cmocka_unit_test(long_lines_and_labels),
        cmocka_unit_test(mount_cap),
        cmocka_unit_test(empty_missing_and_unreadable),
        cmocka_unit_test(real_statvfs_by_default),
        cmocka_unit_test(hung_mount_times_out),
        cmocka_unit_test(stuck_threads_are_bounded),
        cmocka_unit_test(done_while_stuck),
        cmocka_unit_test(live_table_follows_mounts),
    };
    return cmocka_run_group_tests(tests, NULL, scratch_teardown);
}
