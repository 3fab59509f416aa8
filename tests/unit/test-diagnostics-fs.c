/*
 * Tests of the diagnostics that read the filesystem and the socket tables:
 * disk_usage over a tree made here (files of known sizes, symbolic links
 * to a big file, to a directory and in a loop, odd names, a directory
 * without permission), mounts, netstat and disk_usage's set of mount
 * points over fixture roots written here, netstat and connect on the live
 * loopback, and the output cap.
 *
 * What needs a process of its own runs in a child: disk_usage with a bind
 * mount or a hung FUSE mount in its tree or at its path (a mount
 * namespace, as root), and without openat2 (a seccomp filter). The mounts diagnostic's statvfs is
 * swapped through its seam for one that is slow or hangs.
 */
#include "agent/diagnostics/diagnostics.h"
#include "agent/diagnostics/mount-set.h"

#include "child.h"
#include "common/error.h"
#include "common/time-util.h"
#include "loopback.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#define KIB 1024

/* ---- helpers ---- */

static void make_dir(const char *base, const char *rel)
{
    char p[4096];
    snprintf(p, sizeof(p), "%s/%s", base, rel);
    assert_int_equal(mkdir(p, 0755), 0);
}

/* Writes size bytes of incompressible data, so the file has its blocks. */
static void write_file(const char *base, const char *rel, size_t size)
{
    char p[4096];
    snprintf(p, sizeof(p), "%s/%s", base, rel);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    uint64_t x = 0x9E3779B97F4A7C15u ^ size;
    char chunk[4096];
    for (size_t done = 0; done < size;) {
        for (size_t i = 0; i < sizeof(chunk); i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            chunk[i] = (char)x;
        }
        size_t n = size - done < sizeof(chunk) ? size - done : sizeof(chunk);
        assert_int_equal(write(fd, chunk, n), (ssize_t)n);
        done += n;
    }
    close(fd);
}

static void write_text(const char *base, const char *rel, const char *text)
{
    char p[4096];
    snprintf(p, sizeof(p), "%s/%s", base, rel);
    FILE *f = fopen(p, "we");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void make_link(const char *base, const char *rel, const char *target)
{
    char p[4096];
    snprintf(p, sizeof(p), "%s/%s", base, rel);
    assert_int_equal(symlink(target, p), 0);
}

static int remove_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(p);
    return 0;
}

static void remove_tree(const char *dir)
{
    nftw(dir, remove_one, 32, FTW_DEPTH | FTW_PHYS);
}

static uint64_t oracle_total;

static int add_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)p;
    (void)flag;
    (void)ftw;
    oracle_total += (uint64_t)st->st_blocks * 512;
    return 0;
}

/* What du -s -B1 would say: every entry once, links not followed, one filesystem. */
static uint64_t du_of(const char *dir)
{
    oracle_total = 0;
    assert_int_equal(nftw(dir, add_one, 32, FTW_PHYS | FTW_MOUNT), 0);
    return oracle_total;
}

static struct ward_diag_ctx ctx_of(const char *root, int64_t ms)
{
    return (struct ward_diag_ctx){.deadline_ms = ward_mono_ms() + ms, .root = root, .stop_fd = -1};
}

static void args_of(struct ward_diag_args *a, enum ward_diag_type t, const char *k1, const char *v1,
                    const char *k2, const char *v2)
{
    assert_int_equal(ward_diag_init(t, a), 0);
    if (k1)
        assert_int_equal(ward_diag_set(a, k1, v1, NULL), 0);
    if (k2)
        assert_int_equal(ward_diag_set(a, k2, v2, NULL), 0);
}

/* The lines of the section after title, up to a blank line; n at most max. */
static size_t section(const char *text, const char *title, char lines[][512], size_t max)
{
    const char *p = strstr(text, title);
    assert_non_null(p);
    p = strchr(p, '\n') + 1;
    size_t n = 0;
    while (*p && *p != '\n' && n < max) {
        const char *end = strchr(p, '\n');
        assert_non_null(end);
        snprintf(lines[n++], 512, "%.*s", (int)(end - p), p);
        p = end + 1;
    }
    return n;
}

/* The line of text holding needle, or "" (in a static buffer). */
static const char *line_with(const char *text, const char *needle)
{
    static char line[1024];
    const char *hit = strstr(text, needle);
    if (!hit)
        return "";
    const char *start = hit;
    while (start > text && start[-1] != '\n')
        start--;
    size_t len = strcspn(start, "\n");
    snprintf(line, sizeof(line), "%.*s", (int)len, start);
    return line;
}

/* ---- disk_usage ---- */

struct tree {
    char dir[64];
};

static int tree_setup(void **state)
{
    struct tree *t = calloc(1, sizeof(*t));
    snprintf(t->dir, sizeof(t->dir), "/tmp/ward-du-XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    make_dir(t->dir, "a");
    make_dir(t->dir, "a/b");
    make_dir(t->dir, "a/b/c");
    make_dir(t->dir, "a/b/c/d");
    make_dir(t->dir, "with space");
    make_dir(t->dir, "locked");
    write_file(t->dir, "small.txt", 4 * KIB);
    write_file(t->dir, "a/big.bin", 1024 * KIB);
    write_file(t->dir, "a/b/mid.bin", 256 * KIB);
    write_file(t->dir, "with space/x.bin", 64 * KIB);
    write_file(t->dir, "new\nline.bin", 8 * KIB);
    write_file(t->dir, "locked/secret.bin", 16 * KIB);
    make_link(t->dir, "link-to-big", "a/big.bin");
    make_link(t->dir, "dirlink", "a");
    make_link(t->dir, "loop1", "loop2");
    make_link(t->dir, "loop2", "loop1");
    char p[128];
    snprintf(p, sizeof(p), "%s/locked", t->dir);
    assert_int_equal(chmod(p, 0), 0);
    *state = t;
    return 0;
}

static int tree_teardown(void **state)
{
    struct tree *t = *state;
    char p[128];
    snprintf(p, sizeof(p), "%s/locked", t->dir);
    chmod(p, 0755);
    remove_tree(t->dir);
    free(t);
    return 0;
}

static int run_du(const char *path, const char *top_n, int64_t ms, struct ward_diag_out *out)
{
    struct ward_diag_args a;
    args_of(&a, WARD_DIAG_DISK_USAGE, "path", path, "top_n", top_n);
    struct ward_diag_ctx ctx = ctx_of("", ms);
    ward_diag_out_init(out, WARD_DIAG_OUTPUT_MAX);
    return ward_diag_disk_usage(&a, &ctx, out);
}

static void test_du_totals_and_links(void **state)
{
    struct tree *t = *state;
    struct ward_diag_out out;
    assert_int_equal(run_du(t->dir, "100", 30000, &out), 0);
    const char *text = out.text.data;

    /* The total is du's: the link to the big file counts for itself only. */
    char want[64];
    snprintf(want, sizeof(want), "(%llu bytes)", (unsigned long long)du_of(t->dir));
    assert_non_null(strstr(text, want));
    assert_null(strstr(text, "partial"));

    /* Neither the link to a directory nor the loop is entered. */
    assert_null(strstr(text, "dirlink/"));
    assert_null(strstr(text, "loop1/"));
    char lines[100][512];
    size_t n = section(text, "Largest files:", lines, 100);
    size_t big = 0;
    for (size_t i = 0; i < n; i++)
        big += strstr(lines[i], "big.bin") && !strstr(lines[i], "link-to-big");
    assert_int_equal(big, 1);
    assert_true(strstr(line_with(text, "/link-to-big"), "MiB") == NULL);

    /* Odd names stay on one line. */
    assert_non_null(strstr(text, "/with space/x.bin"));
    assert_non_null(strstr(text, "/new\\x0aline.bin"));
    assert_null(strstr(text, "new\nline"));

    /* The directory without permission. */
    if (geteuid() == 0) {
        print_message("skipped: running as root, chmod 000 does not keep root out\n");
        assert_non_null(strstr(text, "0 unreadable directories"));
    } else {
        assert_non_null(strstr(text, "1 unreadable directories"));
        assert_null(strstr(text, "secret.bin"));
    }
    ward_diag_out_done(&out);
}

static void test_du_top_n_and_order(void **state)
{
    struct tree *t = *state;
    struct ward_diag_out out;
    assert_int_equal(run_du(t->dir, "3", 30000, &out), 0);
    const char *text = out.text.data;
    char lines[10][512], want[128];

    size_t n = section(text, "Largest files:", lines, 10);
    assert_int_equal(n, 3);
    assert_non_null(strstr(lines[0], "/a/big.bin"));
    assert_non_null(strstr(lines[0], "1.0 MiB"));
    assert_non_null(strstr(lines[1], "/a/b/mid.bin"));
    assert_non_null(strstr(lines[1], "256.0 KiB"));
    assert_non_null(strstr(lines[2], "/with space/x.bin"));

    n = section(text, "Largest directories:", lines, 10);
    assert_int_equal(n, 3);
    snprintf(want, sizeof(want), "  %s", t->dir);
    assert_non_null(strstr(lines[0], want));
    assert_true(strstr(lines[0], "/a") == NULL);
    snprintf(want, sizeof(want), "%s/a", t->dir);
    assert_non_null(strstr(lines[1], want));
    assert_null(strstr(lines[1], "/a/b"));
    snprintf(want, sizeof(want), "%s/a/b", t->dir);
    assert_non_null(strstr(lines[2], want));
    ward_diag_out_done(&out);

    assert_int_equal(run_du(t->dir, "1", 30000, &out), 0);
    assert_int_equal(section(out.text.data, "Largest files:", lines, 10), 1);
    assert_int_equal(section(out.text.data, "Largest directories:", lines, 10), 1);
    ward_diag_out_done(&out);
}

static void test_du_deadline(void **state)
{
    struct tree *t = *state;
    struct ward_diag_out out;
    assert_int_equal(run_du(t->dir, "10", -1, &out), 0);
    assert_non_null(strstr(out.text.data, "partial: the deadline"));
    assert_non_null(strstr(out.text.data, " in 0 entries"));
    ward_diag_out_done(&out);
}

static void test_du_errors(void **state)
{
    struct tree *t = *state;
    struct ward_diag_out out;
    char p[128];
    snprintf(p, sizeof(p), "%s/nope", t->dir);
    assert_int_equal(run_du(p, "10", 30000, &out), -ENOENT);
    assert_non_null(strstr(out.text.data, "cannot open"));
    assert_non_null(strstr(out.text.data, ward_strerror(-ENOENT)));
    ward_diag_out_done(&out);

    snprintf(p, sizeof(p), "%s/dirlink", t->dir);
    assert_int_equal(run_du(p, "10", 30000, &out), -ELOOP);
    assert_non_null(strstr(out.text.data, "symbolic link"));
    ward_diag_out_done(&out);

    snprintf(p, sizeof(p), "%s/small.txt", t->dir);
    assert_int_equal(run_du(p, "10", 30000, &out), -ENOTDIR);
    ward_diag_out_done(&out);
}

/* A filesystem mounted inside the tree is not entered (needs a mount namespace). */
static void test_du_mount_point(void **state)
{
    struct tree *t = *state;
    char p[128];
    snprintf(p, sizeof(p), "%s/mnt", t->dir);
    assert_int_equal(mkdir(p, 0755), 0);
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
        mount("tmpfs", p, "tmpfs", 0, "size=4m") < 0) {
        print_message("skipped: cannot mount a tmpfs here (%s)\n", strerror(errno));
        rmdir(p);
        return;
    }
    write_file(p, "hidden.bin", 512 * KIB);
    struct ward_diag_out out;
    assert_int_equal(run_du(t->dir, "100", 30000, &out), 0);
    assert_non_null(strstr(out.text.data, "1 mount points not entered"));
    assert_null(strstr(out.text.data, "hidden.bin"));
    ward_diag_out_done(&out);
    assert_int_equal(umount(p), 0);
    rmdir(p);
}

/* A symbolic link before the last component is refused too, not only at the end. */
static void test_du_symlinked_parent(void **state)
{
    struct tree *t = *state;
    struct ward_diag_out out;
    char p[128];
    snprintf(p, sizeof(p), "%s/dirlink/b", t->dir); /* dirlink -> a */
    assert_int_equal(run_du(p, "10", 30000, &out), -ELOOP);
    assert_non_null(strstr(out.text.data, "symbolic link"));
    assert_null(strstr(out.text.data, "mid.bin"));
    ward_diag_out_done(&out);
}

/* ---- disk_usage in a child process: mount namespaces, seccomp ---- */

/* Makes a private mount namespace. False, with the reason printed, where that is not allowed. */
static bool own_mounts(void)
{
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
        printf("skipped: cannot make a mount namespace here (%s)\n", strerror(errno));
        return false;
    }
    return true;
}

/* A bind mount of a directory of the same filesystem: not entered, so not counted twice. */
static int bind_mount_body(void *arg)
{
    struct tree *t = arg;
    char src[128], dst[128];
    snprintf(src, sizeof(src), "%s/a", t->dir);
    snprintf(dst, sizeof(dst), "%s/bind", t->dir);
    CHILD_CHECK(mkdir(dst, 0755) == 0);
    if (!own_mounts())
        return CHILD_SKIP;
    if (mount(src, dst, NULL, MS_BIND, NULL) < 0) {
        printf("skipped: cannot bind mount here (%s)\n", strerror(errno));
        return CHILD_SKIP;
    }
    struct ward_diag_out out;
    int rc = run_du(t->dir, "100", 30000, &out);
    printf("%s", out.text.data);
    CHILD_CHECK(rc == 0);
    CHILD_CHECK(strstr(out.text.data, "1 mount points not entered"));
    CHILD_CHECK(!strstr(out.text.data, "/bind/"));
    CHILD_CHECK(!strstr(out.text.data, "/bind\n"));
    ward_diag_out_done(&out);
    return 0;
}

static void test_du_bind_mount(void **state)
{
    run_in_child(bind_mount_body, *state, 30000);
}

/*
 * In a child: mounts at t->dir/hung a FUSE filesystem of type fuse.dead
 * whose daemon never answers (nobody reads *fuse). False, with the reason
 * printed, where that is not allowed.
 */
static bool mount_dead_fuse(struct tree *t, char *p, size_t size, int *fuse)
{
    char opts[128];
    snprintf(p, size, "%s/hung", t->dir);
    CHILD_CHECK(mkdir(p, 0755) == 0);
    *fuse = open("/dev/fuse", O_RDWR | O_CLOEXEC);
    snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=0,group_id=0", *fuse);
    if (*fuse < 0 || !own_mounts() ||
        mount("dead", p, "fuse.dead", MS_NOSUID | MS_NODEV, opts) < 0) {
        printf("skipped: cannot mount a FUSE filesystem here (%s)\n", strerror(errno));
        return false;
    }
    return true;
}

/*
 * A FUSE mount whose daemon never answers, in the tree: stat'ing its
 * mount point would block until the connection closes, so the walk must
 * count it without a stat, and end.
 */
static int hung_mount_body(void *arg)
{
    struct tree *t = arg;
    char p[128];
    int fuse;
    if (!mount_dead_fuse(t, p, sizeof(p), &fuse))
        return CHILD_SKIP;
    struct ward_diag_out out;
    int rc = run_du(t->dir, "100", 30000, &out);
    printf("%s", out.text.data);
    CHILD_CHECK(rc == 0);
    CHILD_CHECK(strstr(out.text.data, "1 mount points not entered"));
    CHILD_CHECK(!strstr(out.text.data, "partial"));
    ward_diag_out_done(&out);
    close(fuse);
    return 0;
}

static void test_du_hung_mount(void **state)
{
    run_in_child(hung_mount_body, *state, 10000);
}

/* Runs disk_usage on path with a deadline ms away; fails unless it ends within max_ms. */
static int run_du_timed(const char *path, int64_t ms, int64_t max_ms, struct ward_diag_out *out)
{
    int64_t start = ward_mono_ms();
    int rc = run_du(path, "10", ms, out);
    int64_t took = ward_mono_ms() - start;
    printf("%s(%d after %lld ms)\n", out->text.data, rc, (long long)took);
    CHILD_CHECK(took < max_ms);
    return rc;
}

/*
 * The path itself on a FUSE mount whose daemon never answers: opening it
 * would block until the connection closes. The mount is asked with a
 * bounded statvfs first, and the run ends with -ETIMEDOUT by its deadline,
 * or after 2 s with a longer one, without opening the path (which would
 * hang the child past its limit).
 */
static int hung_start_body(void *arg)
{
    struct tree *t = arg;
    char p[128], inside[160], sibling[160], want[256];
    int fuse;
    snprintf(sibling, sizeof(sibling), "%s/hung2", t->dir);
    CHILD_CHECK(mkdir(sibling, 0755) == 0);
    if (!mount_dead_fuse(t, p, sizeof(p), &fuse))
        return CHILD_SKIP;
    snprintf(inside, sizeof(inside), "%s/sub/dir", p);
    snprintf(want, sizeof(want), "the filesystem at %s (fuse.dead) does not answer; not scanned\n",
             p);
    struct ward_diag_out out;

    /* At the mount point: by the deadline, shorter than 2 s. */
    CHILD_CHECK(run_du_timed(p, 800, 1900, &out) == -ETIMEDOUT);
    CHILD_CHECK(strcmp(out.text.data, want) == 0);
    ward_diag_out_done(&out);

    /* Inside it: the mount holding the path is asked, at most 2 s. */
    CHILD_CHECK(run_du_timed(inside, 30000, 2000 + 500, &out) == -ETIMEDOUT);
    CHILD_CHECK(strcmp(out.text.data, want) == 0);
    ward_diag_out_done(&out);

    /* No time left: not asked, and not opened either. */
    CHILD_CHECK(run_du_timed(inside, -1, 500, &out) == -ETIMEDOUT);
    CHILD_CHECK(strstr(out.text.data, "the deadline came before the filesystem at "));
    CHILD_CHECK(strstr(out.text.data, "(fuse.dead)"));
    ward_diag_out_done(&out);

    /* A name that only starts like the mount point is not on it. */
    write_file(sibling, "x.bin", 8 * KIB);
    CHILD_CHECK(run_du_timed(sibling, 30000, 2000, &out) == 0);
    CHILD_CHECK(strstr(out.text.data, "/hung2/x.bin"));
    ward_diag_out_done(&out);

    /* Without a mount table the filesystems on the way are not known: the path itself is asked. */
    CHILD_CHECK(mount("/dev/null", "/proc/self/mountinfo", NULL, MS_BIND, NULL) == 0);
    CHILD_CHECK(run_du_timed(inside, 30000, 2000 + 500, &out) == -ETIMEDOUT);
    CHILD_CHECK(strstr(out.text.data, "(filesystem not known) does not answer; not scanned"));
    ward_diag_out_done(&out);
    close(fuse); /* aborts the connection: the blocked calls return */
    return 0;
}

static void test_du_hung_start(void **state)
{
    run_in_child(hung_start_body, *state, 15000);
}

/* Without openat2 (a kernel before 5.6): the path is opened one component at a time. */
static int no_openat2_body(void *arg)
{
    struct tree *t = arg;
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = sizeof(filter) / sizeof(filter[0]), .filter = filter};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
        printf("skipped: cannot load a seccomp filter here (%s)\n", strerror(errno));
        return CHILD_SKIP;
    }
    CHILD_CHECK(syscall(SYS_openat2, AT_FDCWD, "/", NULL, 0) < 0 && errno == ENOSYS);
    struct ward_diag_out out;
    char p[128], want[64];
    CHILD_CHECK(run_du(t->dir, "100", 30000, &out) == 0);
    snprintf(want, sizeof(want), "(%llu bytes)", (unsigned long long)du_of(t->dir));
    CHILD_CHECK(strstr(out.text.data, want));
    ward_diag_out_done(&out);
    snprintf(p, sizeof(p), "%s/dirlink/b", t->dir);
    CHILD_CHECK(run_du(p, "10", 30000, &out) == -ELOOP);
    CHILD_CHECK(strstr(out.text.data, "symbolic link"));
    ward_diag_out_done(&out);
    snprintf(p, sizeof(p), "%s/dirlink", t->dir);
    CHILD_CHECK(run_du(p, "10", 30000, &out) == -ELOOP);
    ward_diag_out_done(&out);
    snprintf(p, sizeof(p), "%s/small.txt", t->dir);
    CHILD_CHECK(run_du(p, "10", 30000, &out) == -ENOTDIR);
    ward_diag_out_done(&out);
    snprintf(p, sizeof(p), "%s/a/nope", t->dir);
    CHILD_CHECK(run_du(p, "10", 30000, &out) == -ENOENT);
    ward_diag_out_done(&out);
    snprintf(p, sizeof(p), "%s/a/b", t->dir);
    CHILD_CHECK(run_du(p, "10", 30000, &out) == 0);
    CHILD_CHECK(strstr(out.text.data, "/a/b/mid.bin"));
    ward_diag_out_done(&out);
    CHILD_CHECK(run_du("/", "1", 1, &out) == 0);
    ward_diag_out_done(&out);
    return 0;
}

static void test_du_without_openat2(void **state)
{
    run_in_child(no_openat2_body, *state, 30000);
}

static void test_du_truncated(void **state)
{
    struct tree *t = *state;
    struct ward_diag_args a;
    args_of(&a, WARD_DIAG_DISK_USAGE, "path", t->dir, NULL, NULL);
    struct ward_diag_ctx ctx = ctx_of("", 30000);
    struct ward_diag_out out;
    ward_diag_out_init(&out, 20);
    assert_int_equal(ward_diag_disk_usage(&a, &ctx, &out), 0);
    assert_true(out.truncated);
    assert_true(out.text.len <= 20);
    ward_diag_out_done(&out);
}

/* ---- fixture roots ---- */

struct fixture {
    char dir[64];
};

static int fixture_setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/ward-diag-root-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    *state = f;
    return 0;
}

static int fixture_teardown(void **state)
{
    struct fixture *f = *state;
    remove_tree(f->dir);
    free(f);
    return 0;
}

/* ---- mounts ---- */

/* Runs mounts under root with a deadline ms away into out (initialised here). */
static int run_mounts(const char *root, int64_t ms, struct ward_diag_out *out)
{
    struct ward_diag_args a;
    args_of(&a, WARD_DIAG_MOUNTS, NULL, NULL, NULL, NULL);
    struct ward_diag_ctx ctx = ctx_of(root, ms);
    ward_diag_out_init(out, WARD_DIAG_OUTPUT_MAX);
    return ward_diag_mounts(&a, &ctx, out);
}

static void test_mounts_fixture(void **state)
{
    struct fixture *f = *state;
    make_dir(f->dir, "proc");
    make_dir(f->dir, "proc/self");
    make_dir(f->dir, "mnt");
    make_dir(f->dir, "mnt/my disk");
    write_text(f->dir, "proc/self/mountinfo",
               "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro\n"
               "23 22 0:5 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n"
               "24 22 8:17 / /mnt/my\\040disk rw,relatime shared:2 - xfs /dev/sdb1 rw,noquota\n"
               "25 22 0:40 / /mnt/missing rw,relatime - nfs4 server:/export rw,vers=4.2\n"
               "26 22 0:41 / /mnt/new\\012line ro - tmpfs tmpfs rw\n"
               "this line is not a mount\n");
    struct ward_diag_out out;
    assert_int_equal(run_mounts(f->dir, 30000, &out), 0);
    const char *text = out.text.data;

    /* The root of the fixture exists: sized. */
    const char *root = line_with(text, "/dev/sda1");
    assert_non_null(strstr(root, "ext4"));
    assert_non_null(strstr(root, "rw,relatime"));
    assert_non_null(strstr(root, "%"));
    assert_null(strstr(root, "error"));
    /* An escaped space, decoded. */
    const char *disk = line_with(text, "/dev/sdb1");
    assert_non_null(strstr(disk, "/mnt/my disk "));
    assert_non_null(strstr(disk, "xfs"));
    assert_non_null(strstr(disk, "%"));
    /* A mount point that is not there. */
    const char *missing = line_with(text, "server:/export");
    assert_non_null(strstr(missing, "/mnt/missing"));
    assert_non_null(strstr(missing, "error"));
    assert_non_null(strstr(missing, ward_strerror(-ENOENT)));
    /* A pseudo filesystem is not sized. */
    const char *proc = line_with(text, "/proc ");
    assert_non_null(strstr(proc, "noexec"));
    assert_null(strstr(proc, "error"));
    assert_null(strstr(proc, "%"));
    /* A newline in a mount point stays on its line. */
    assert_non_null(strstr(text, "/mnt/new\\x0aline"));
    assert_non_null(strstr(text, "5 mounts\n"));
    assert_non_null(strstr(text, "1 malformed lines skipped"));
    ward_diag_out_done(&out);
}

/* Under a host root, init's table is the host's: it wins over the agent's own. */
static void test_mounts_of_the_host_root(void **state)
{
    struct fixture *f = *state;
    make_dir(f->dir, "proc");
    make_dir(f->dir, "proc/self");
    make_dir(f->dir, "proc/1");
    write_text(f->dir, "proc/self/mountinfo",
               "30 1 0:50 / / rw - overlay overlay rw,lowerdir=/container\n");
    write_text(f->dir, "proc/1/mountinfo", "22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n");
    struct ward_diag_out out;
    assert_int_equal(run_mounts(f->dir, 30000, &out), 0);
    assert_non_null(strstr(out.text.data, "/dev/sda1"));
    assert_null(strstr(out.text.data, "overlay"));
    ward_diag_out_done(&out);
}

/* With no time left, nothing is sized, and the rows say so. */
static void test_mounts_deadline(void **state)
{
    struct fixture *f = *state;
    make_dir(f->dir, "proc");
    make_dir(f->dir, "proc/self");
    write_text(f->dir, "proc/self/mountinfo",
               "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
               "23 22 0:5 / /proc rw,relatime shared:12 - proc proc rw\n");
    struct ward_diag_out out;
    assert_int_equal(run_mounts(f->dir, -1, &out), 0);
    const char *root = line_with(out.text.data, "/dev/sda1");
    assert_non_null(strstr(root, "skipped"));
    assert_non_null(strstr(root, "the deadline came first"));
    assert_null(strstr(line_with(out.text.data, "/proc "), "skipped"));
    ward_diag_out_done(&out);
}

/*
 * A FUSE mount whose daemon never answers: statvfs on it blocks until the
 * connection is closed, as on a dead NFS server. The row says "timeout"
 * and the run ends after the call's bound, not never. Needs /dev/fuse and
 * a mount namespace of its own, so it runs before any thread starts.
 */
static void test_mounts_hung_statvfs(void **state)
{
    struct fixture *f = *state;
    make_dir(f->dir, "proc");
    make_dir(f->dir, "proc/self");
    make_dir(f->dir, "hung");
    write_text(f->dir, "proc/self/mountinfo",
               "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
               "40 22 0:99 / /hung rw,relatime - fuse.dead dead rw\n");
    char p[128], opts[128];
    snprintf(p, sizeof(p), "%s/hung", f->dir);
    int fuse = open("/dev/fuse", O_RDWR | O_CLOEXEC);
    snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=0,group_id=0", fuse);
    if (fuse < 0 || unshare(CLONE_NEWNS) < 0 ||
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
        mount("dead", p, "fuse.dead", MS_NOSUID | MS_NODEV, opts) < 0) {
        print_message("skipped: cannot mount a FUSE filesystem here (%s)\n", strerror(errno));
        if (fuse >= 0)
            close(fuse);
        return;
    }
    struct ward_diag_args a;
    args_of(&a, WARD_DIAG_MOUNTS, NULL, NULL, NULL, NULL);
    struct ward_diag_ctx ctx = ctx_of(f->dir, 30000);
    struct ward_diag_out out;
    ward_diag_out_init(&out, WARD_DIAG_OUTPUT_MAX);
    int64_t start = ward_mono_ms();
    assert_int_equal(ward_diag_mounts(&a, &ctx, &out), 0);
    assert_true(ward_mono_ms() - start < 20000);
    assert_non_null(strstr(line_with(out.text.data, "fuse.dead"), "timeout"));
    assert_non_null(strstr(line_with(out.text.data, "/dev/sda1"), "%"));
    ward_diag_out_done(&out);
    close(fuse); /* aborts the connection: the blocked call returns */
    assert_int_equal(umount2(p, MNT_DETACH), 0);
}

/*
 * The statvfs of the mounts diagnostic, swapped for fake_statvfs(): under
 * fake_root, "/hung" blocks until fake_release() (or 10 s), "/slow" takes
 * SLOW_MS, and any other path answers at once with a made-up size.
 */

#define SLOW_MS 1500

static pthread_mutex_t fake_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fake_cond = PTHREAD_COND_INITIALIZER;
static const char *fake_root;
static bool fake_released;
static int fake_running;

static int fake_statvfs(const char *path, struct statvfs *out)
{
    const char *rel = path + strlen(fake_root);
    pthread_mutex_lock(&fake_lock);
    fake_running++;
    if (strcmp(rel, "/hung") == 0) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 10;
        while (!fake_released && pthread_cond_timedwait(&fake_cond, &fake_lock, &until) == 0)
            ;
    }
    pthread_mutex_unlock(&fake_lock);
    if (strcmp(rel, "/slow") == 0)
        usleep(SLOW_MS * 1000);
    *out = (struct statvfs){.f_blocks = 1000, .f_bfree = 500, .f_bavail = 400, .f_frsize = 4096};
    pthread_mutex_lock(&fake_lock);
    fake_running--;
    pthread_cond_broadcast(&fake_cond);
    pthread_mutex_unlock(&fake_lock);
    return 0;
}

/* Lets a hung call return, and waits until no fake call runs. */
static void fake_release(void)
{
    pthread_mutex_lock(&fake_lock);
    fake_released = true;
    pthread_cond_broadcast(&fake_cond);
    while (fake_running > 0)
        pthread_cond_wait(&fake_cond, &fake_lock);
    pthread_mutex_unlock(&fake_lock);
}

static int64_t cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs mounts over f with the table text and a deadline ms away; *took is its wall time. */
static void run_mounts_faked(struct fixture *f, const char *table, int64_t ms,
                             struct ward_diag_out *out, int64_t *took, int64_t *cpu)
{
    write_text(f->dir, "proc/self/mountinfo", table);
    struct ward_diag_args a;
    args_of(&a, WARD_DIAG_MOUNTS, NULL, NULL, NULL, NULL);
    struct ward_diag_ctx ctx = ctx_of(f->dir, ms);
    ward_diag_out_init(out, WARD_DIAG_OUTPUT_MAX);
    int64_t start = ward_mono_ms(), cpu0 = cpu_ms();
    assert_int_equal(ward_diag_mounts(&a, &ctx, out), 0);
    *took = ward_mono_ms() - start;
    *cpu = cpu_ms() - cpu0;
    print_message("%s(%lld ms, %lld ms of CPU)\n", out->text.data, (long long)*took,
                  (long long)*cpu);
}

/*
 * The deadline comes while a call runs and others wait behind it: the
 * running call is timed out then and the others skipped, so the run ends
 * by its deadline without spinning, whether the call is slow (returns
 * later) or hung (returns when the test lets it).
 */
static void test_mounts_deadline_during_call(void **state)
{
    struct fixture *f = *state;
    make_dir(f->dir, "proc");
    make_dir(f->dir, "proc/self");
    fake_root = f->dir;
    fake_released = false;
    ward_diag_statvfs = fake_statvfs;
    struct ward_diag_out out;
    int64_t took, cpu;

    run_mounts_faked(f,
                     "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n"
                     "23 22 8:2 / /slow rw - ext4 /dev/slow rw\n"
                     "24 22 8:3 / /after rw - ext4 /dev/after rw\n"
                     "25 22 8:4 / /later rw - ext4 /dev/later rw\n",
                     400, &out, &took, &cpu);
    assert_true(took < SLOW_MS - 100); /* by the deadline, not after the slow call */
    assert_true(cpu < 300);
    assert_non_null(strstr(line_with(out.text.data, "/dev/sda1"), "%"));
    assert_non_null(strstr(line_with(out.text.data, "/dev/slow"), "timeout"));
    assert_non_null(strstr(line_with(out.text.data, "/dev/after"), "the deadline came first"));
    assert_non_null(strstr(line_with(out.text.data, "/dev/later"), "the deadline came first"));
    ward_diag_out_done(&out);

    run_mounts_faked(f,
                     "22 1 8:1 / /hung rw - nfs4 server:/hung rw\n"
                     "23 22 8:2 / /after rw - ext4 /dev/after rw\n",
                     400, &out, &took, &cpu);
    assert_true(took < SLOW_MS - 100); /* by the deadline, not after the slow call */
    assert_true(cpu < 300);
    assert_non_null(strstr(line_with(out.text.data, "server:/hung"), "timeout"));
    assert_non_null(strstr(line_with(out.text.data, "/dev/after"), "the deadline came first"));
    ward_diag_out_done(&out);

    fake_release();
    ward_diag_statvfs = statvfs;
}

static void test_mounts_missing_table(void **state)
{
    struct fixture *f = *state;
    struct ward_diag_out out;
    assert_int_equal(run_mounts(f->dir, 30000, &out), -ENOENT);
    assert_non_null(strstr(out.text.data, "cannot read"));
    ward_diag_out_done(&out);
}

/* ---- the set of mount points ---- */

static bool set_point(const struct ward_mount_set *s, const char *p)
{
    return ward_mount_set_is_point(s, p, strlen(p));
}

static const char *set_type(const struct ward_mount_set *s, const char *p)
{
    return ward_mount_set_fstype(s, p, strlen(p));
}

static void test_mount_set_table(void **state)
{
    struct fixture *f = *state;
    write_text(f->dir, "mountinfo",
               "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
               "30 22 0:40 / /mnt/nfs rw,relatime shared:5 - nfs4 server:/export rw\n"
               "31 22 8:2 / /mnt/nfs2 rw - ext4 /dev/sda2 rw\n"
               "32 22 8:17 / /mnt/my\\040disk rw - xfs /dev/sdb1 rw\n"
               "33 22 0:41 / /mnt/stack rw - nfs server:/stack rw\n"
               "34 33 0:42 / /mnt/stack rw - tmpfs tmpfs rw\n"
               "35 22 0:43 / /home/u/remote rw,nosuid - fuse.sshfs u@host: rw\n"
               "36 22 0:44 / /no/type rw\n");
    char p[128];
    snprintf(p, sizeof(p), "%s/mountinfo", f->dir);
    struct ward_mount_set *s = ward_mount_set_new(p);
    assert_non_null(s);
    assert_int_equal(ward_mount_set_error(s), 0);

    assert_true(set_point(s, "/"));
    assert_string_equal(set_type(s, "/"), "ext4");
    assert_string_equal(set_type(s, "/mnt/nfs"), "nfs4");
    assert_string_equal(set_type(s, "/mnt/nfs2"), "ext4");
    assert_string_equal(set_type(s, "/mnt/my disk"), "xfs");
    assert_string_equal(set_type(s, "/mnt/stack"), "tmpfs"); /* the upper of two */
    assert_string_equal(set_type(s, "/home/u/remote"), "fuse.sshfs");
    assert_true(set_point(s, "/no/type"));
    assert_null(set_type(s, "/no/type"));

    /* Directories holding mount points are not mount points themselves. */
    assert_true(ward_mount_set_holds(s, "/mnt", 4));
    assert_true(ward_mount_set_holds(s, "/no", 3));
    assert_false(ward_mount_set_holds(s, "/", 1)); /* no mount point is right under "/" */
    assert_true(ward_mount_set_holds(s, "/home/u", 7));
    assert_false(ward_mount_set_holds(s, "/home", 5));
    assert_false(set_point(s, "/mnt"));
    assert_null(set_type(s, "/mnt"));
    assert_false(set_point(s, "/mnt/nf"));
    assert_false(set_point(s, "/mnt/nfs/x"));

    /* A prefix of a longer buffer, by its length. */
    assert_true(ward_mount_set_is_point(s, "/mnt/nfs/x/y", 8));
    assert_string_equal(ward_mount_set_fstype(s, "/mnt/nfs2/z", 9), "ext4");
    assert_false(ward_mount_set_is_point(s, "/mnt/nfs/x/y", 10));
    ward_mount_set_free(s);

    /* A malformed line is skipped and said; a missing table leaves an empty set. */
    write_text(f->dir, "mountinfo",
               "22 1 8:1 / / rw - ext4 /dev/sda1 rw\nnot a mount\n"
               "30 22 0:40 / /mnt/nfs rw - nfs4 server:/export rw\n");
    s = ward_mount_set_new(p);
    assert_non_null(s);
    assert_int_equal(ward_mount_set_error(s), -EINVAL);
    assert_string_equal(set_type(s, "/mnt/nfs"), "nfs4");
    ward_mount_set_free(s);
    snprintf(p, sizeof(p), "%s/nope", f->dir);
    s = ward_mount_set_new(p);
    assert_non_null(s);
    assert_int_equal(ward_mount_set_error(s), -ENOENT);
    assert_false(set_point(s, "/"));
    assert_null(set_type(s, "/"));
    ward_mount_set_free(s);
    ward_mount_set_free(NULL);
}

static void test_mount_fstype_remote(void **state)
{
    (void)state;
    /* autofs is a trigger: asking it mounts what is behind it, a network share as often as not. */
    static const char *const remote[] = {
        "nfs",    "nfs4", "cifs",   "smb3",      "smbfs",      "fuse",     "fuseblk",
        "9p",     "ceph", "afs",    "glusterfs", "sshfs",      "autofs",   "virtiofs",
        "lustre", "gpfs", "beegfs", "davfs",     "fuse.sshfs", "fuse.dead"};
    static const char *const local[] = {"ext4", "xfs",  "tmpfs", "overlay", "fusectl",
                                        "nfsd", "proc", "fusex", "nfs44",   ""};
    for (size_t i = 0; i < sizeof(remote) / sizeof(remote[0]); i++)
        assert_true(ward_mount_fstype_remote(remote[i]));
    for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++)
        if (ward_mount_fstype_remote(local[i]))
            fail_msg("%s is not remote", local[i]);
    assert_false(ward_mount_fstype_remote(NULL));
}

static void test_mounts_live(void **state)
{
    (void)state;
    struct ward_diag_out out;
    assert_int_equal(run_mounts("", 30000, &out), 0);
    assert_non_null(strstr(out.text.data, "Mounted on"));
    assert_non_null(strstr(out.text.data, " / "));
    ward_diag_out_done(&out);
}

/* ---- netstat ---- */

static void write_netstat_fixture(const char *dir)
{
    make_dir(dir, "proc");
    make_dir(dir, "proc/net");
    make_dir(dir, "proc/123");
    make_dir(dir, "proc/123/fd");
    make_dir(dir, "proc/124");
    make_dir(dir, "proc/124/fd");
    write_text(dir, "proc/net/tcp",
               "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   "
               "uid  timeout inode\n"
               "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     "
               "0        0 4242 1 0000000000000000 100 0 0 10 0\n"
               "   1: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000  "
               "1000        0 4243 1 0000000000000000 20 4 30 10 -1\n"
               "   2: 0100007F:D432 0100007F:1F90 06 00000000:00000000 03:00000F7A 00000000     "
               "0        0 0 3 0000000000000000\n");
    write_text(dir, "proc/net/tcp6",
               "  sl  local_address                         remote_address                        "
               "st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
               "   0: 00000000000000000000000001000000:0016 00000000000000000000000000000000:0000 "
               "0A 00000000:00000000 00:00000000 00000000     0        0 5555 1 "
               "0000000000000000 100 0 0 10 0\n");
    write_text(dir, "proc/net/udp",
               "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   "
               "uid  timeout inode ref pointer drops\n"
               "  133: 00000000:0044 00000000:0000 07 00000000:00000000 00:00000000 00000000     "
               "0        0 6666 2 0000000000000000 0\n"
               "  134: 0100007F:A000 0101A8C0:0035 01 00000000:00000000 00:00000000 00000000     "
               "0        0 6667 2 0000000000000000 0\n");
    char p[256];
    snprintf(p, sizeof(p), "%s/proc/123/fd/3", dir);
    assert_int_equal(symlink("socket:[4242]", p), 0);
    snprintf(p, sizeof(p), "%s/proc/123/fd/4", dir);
    assert_int_equal(symlink("/dev/null", p), 0);
    snprintf(p, sizeof(p), "%s/proc/124/fd/0", dir);
    assert_int_equal(symlink("socket:[6666]", p), 0);
    write_text(dir, "proc/123/comm", "nginx\n");
    write_text(dir, "proc/124/comm", "dh\001cp\n");
}

static int run_netstat(const char *root, const char *proto, const char *state, size_t max,
                       struct ward_diag_out *out)
{
    struct ward_diag_args a;
    args_of(&a, WARD_DIAG_NETSTAT, "proto", proto, "state", state);
    struct ward_diag_ctx ctx = ctx_of(root, 30000);
    ward_diag_out_init(out, max);
    return ward_diag_netstat(&a, &ctx, out);
}

static void test_netstat_fixture(void **state)
{
    struct fixture *f = *state;
    write_netstat_fixture(f->dir);
    struct ward_diag_out out;
    assert_int_equal(run_netstat(f->dir, "all", "all", WARD_DIAG_OUTPUT_MAX, &out), 0);
    const char *text = out.text.data;

    const char *l = line_with(text, "127.0.0.1:8080 ");
    assert_true(strncmp(l, "tcp ", 4) == 0);
    assert_non_null(strstr(l, "0.0.0.0:*"));
    assert_non_null(strstr(l, "LISTEN"));
    assert_non_null(strstr(l, "123/nginx"));
    l = line_with(text, "127.0.0.1:54321");
    assert_non_null(strstr(l, "ESTABLISHED"));
    assert_true(l[strlen(l) - 1] == '-');
    l = line_with(text, "TIME_WAIT");
    assert_non_null(strstr(l, "127.0.0.1:54322"));
    l = line_with(text, "[::1]:22");
    assert_true(strncmp(l, "tcp6", 4) == 0);
    assert_non_null(strstr(l, "[::]:*"));
    assert_non_null(strstr(l, "LISTEN"));
    l = line_with(text, "0.0.0.0:68");
    assert_true(strncmp(l, "udp ", 4) == 0);
    assert_non_null(strstr(l, "UNCONN"));
    assert_non_null(strstr(l, "124/dh\\x01cp"));
    l = line_with(text, "192.168.1.1:53");
    assert_non_null(strstr(l, "ESTABLISHED"));
    assert_non_null(strstr(text, "6 sockets\n"));
    ward_diag_out_done(&out);

    /* Filters. */
    assert_int_equal(run_netstat(f->dir, "udp", "all", WARD_DIAG_OUTPUT_MAX, &out), 0);
    assert_null(strstr(out.text.data, "\ntcp"));
    assert_non_null(strstr(out.text.data, "2 sockets\n"));
    ward_diag_out_done(&out);
    assert_int_equal(run_netstat(f->dir, "all", "listen", WARD_DIAG_OUTPUT_MAX, &out), 0);
    assert_null(strstr(out.text.data, "ESTABLISHED"));
    assert_null(strstr(out.text.data, "TIME_WAIT"));
    assert_non_null(strstr(out.text.data, "UNCONN"));
    assert_non_null(strstr(out.text.data, "3 sockets\n"));
    ward_diag_out_done(&out);
    assert_int_equal(run_netstat(f->dir, "tcp", "established", WARD_DIAG_OUTPUT_MAX, &out), 0);
    assert_non_null(strstr(out.text.data, "127.0.0.1:54321"));
    assert_null(strstr(out.text.data, "LISTEN"));
    assert_null(strstr(out.text.data, "\nudp"));
    assert_non_null(strstr(out.text.data, "1 sockets\n"));
    ward_diag_out_done(&out);

    /* The output cap. */
    assert_int_equal(run_netstat(f->dir, "all", "all", 10, &out), 0);
    assert_true(out.truncated);
    assert_int_equal(out.text.len, 10);
    ward_diag_out_done(&out);
}

static void test_netstat_empty_root(void **state)
{
    struct fixture *f = *state;
    struct ward_diag_out out;
    assert_int_equal(run_netstat(f->dir, "all", "all", WARD_DIAG_OUTPUT_MAX, &out), 0);
    assert_non_null(strstr(out.text.data, "0 sockets\n"));
    ward_diag_out_done(&out);
}

static void test_netstat_live(void **state)
{
    (void)state;
    int port;
    int fd = loopback_socket(AF_INET, true, &port);
    struct ward_diag_out out;
    assert_int_equal(run_netstat("", "tcp", "listen", WARD_DIAG_OUTPUT_MAX, &out), 0);
    char want[64];
    snprintf(want, sizeof(want), "127.0.0.1:%d ", port);
    const char *l = line_with(out.text.data, want);
    assert_non_null(strstr(l, "LISTEN"));
    snprintf(want, sizeof(want), " %d/", (int)getpid());
    assert_non_null(strstr(l, want));
    ward_diag_out_done(&out);
    close(fd);
}

/* ---- connect ---- */

static int run_connect(const char *target, int64_t ms, struct ward_diag_out *out)
{
    struct ward_diag_args a;
    args_of(&a, WARD_DIAG_CONNECT, "target", target, "timeout", "5");
    struct ward_diag_ctx ctx = ctx_of("", ms);
    ward_diag_out_init(out, WARD_DIAG_OUTPUT_MAX);
    return ward_diag_connect(&a, &ctx, out);
}

static void test_connect_loopback(void **state)
{
    (void)state;
    int port, closed_port;
    int fd = loopback_socket(AF_INET, true, &port);
    int closed = loopback_socket(AF_INET, false, &closed_port); /* bound, never listening */
    char target[64], want[96];
    struct ward_diag_out out;

    snprintf(target, sizeof(target), "127.0.0.1:%d", port);
    assert_int_equal(run_connect(target, 30000, &out), 0);
    snprintf(want, sizeof(want), "connected to %s in ", target);
    assert_non_null(strstr(out.text.data, want));
    ward_diag_out_done(&out);

    snprintf(target, sizeof(target), "127.0.0.1:%d", closed_port);
    assert_int_equal(run_connect(target, 30000, &out), 1);
    snprintf(want, sizeof(want), "cannot connect to %s: %s", target, ward_strerror(-ECONNREFUSED));
    assert_non_null(strstr(out.text.data, want));
    ward_diag_out_done(&out);

    /* No time left: the probe does not start. */
    snprintf(target, sizeof(target), "127.0.0.1:%d", port);
    assert_int_equal(run_connect(target, -1, &out), -ETIMEDOUT);
    assert_non_null(strstr(out.text.data, "deadline"));
    ward_diag_out_done(&out);
    close(closed);
    close(fd);
}

static void test_connect_ipv6(void **state)
{
    (void)state;
    int s = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        print_message("skipped: no IPv6 loopback here (%s)\n", strerror(errno));
        if (s >= 0)
            close(s);
        return;
    }
    close(s);
    int port;
    int fd = loopback_socket(AF_INET6, true, &port);
    char target[64];
    snprintf(target, sizeof(target), "[::1]:%d", port);
    struct ward_diag_out out;
    assert_int_equal(run_connect(target, 30000, &out), 0);
    assert_non_null(strstr(out.text.data, "connected to [::1]:"));
    ward_diag_out_done(&out);
    close(fd);
    assert_int_equal(run_connect(target, 30000, &out), 1);
    assert_non_null(strstr(out.text.data, "cannot connect to [::1]:"));
    ward_diag_out_done(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* First: the tests that mount need a single-threaded process. */
        cmocka_unit_test_setup_teardown(test_du_mount_point, tree_setup, tree_teardown),
        cmocka_unit_test_setup_teardown(test_mounts_hung_statvfs, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_du_totals_and_links, tree_setup, tree_teardown),
        cmocka_unit_test_setup_teardown(test_du_top_n_and_order, tree_setup, tree_teardown),
        cmocka_unit_test_setup_teardown(test_du_deadline, tree_setup, tree_teardown),
        cmocka_unit_test_setup_teardown(test_du_errors, tree_setup, tree_teardown),
        cmocka_unit_test_setup_teardown(test_du_truncated, tree_setup, tree_teardown),
        cmocka_unit_test_setup_teardown(test_du_symlinked_parent, tree_setup, tree_teardown),
        cmocka_unit_test_setup_teardown(test_du_bind_mount, tree_setup, tree_teardown),
        cmocka_unit_test_setup_teardown(test_du_hung_mount, tree_setup, tree_teardown),
        cmocka_unit_test_setup_teardown(test_du_hung_start, tree_setup, tree_teardown),
        cmocka_unit_test_setup_teardown(test_du_without_openat2, tree_setup, tree_teardown),
        cmocka_unit_test_setup_teardown(test_mounts_fixture, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_mounts_of_the_host_root, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_mounts_deadline, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_mounts_deadline_during_call, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_mounts_missing_table, fixture_setup, fixture_teardown),
        cmocka_unit_test(test_mounts_live),
        cmocka_unit_test_setup_teardown(test_mount_set_table, fixture_setup, fixture_teardown),
        cmocka_unit_test(test_mount_fstype_remote),
        cmocka_unit_test_setup_teardown(test_netstat_fixture, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_netstat_empty_root, fixture_setup, fixture_teardown),
        cmocka_unit_test(test_netstat_live),
        cmocka_unit_test(test_connect_loopback),
        cmocka_unit_test(test_connect_ipv6),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
