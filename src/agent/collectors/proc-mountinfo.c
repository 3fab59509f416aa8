/*
 * Filesystem sizes of the real mounts: the mount table from
 * /proc/self/mountinfo, the sizes from statvfs(3).
 *
 * The mount table. Under a host root other than the real one (an agent in
 * a container looking at the host through /host), the mounts that matter
 * are the host's, whose mount points are relative to that root: those are
 * in <root>/proc/1/mountinfo, which only a privileged reader may open. So
 * with a host root the collector tries proc/1/mountinfo first, and in all
 * cases then proc/self/mountinfo and, for kernels or chroots without it,
 * /proc/mounts (no device numbers there, hence weaker de-duplication).
 * Fields are escaped by the kernel with octal escapes ("\040" for a space),
 * which are decoded; a line is read into a fixed buffer, and of an overlong
 * line only the leading fields that fit are used.
 *
 * Which mounts. Pseudo and container filesystems (proc, sysfs, cgroup,
 * overlay, squashfs, ...; also rootfs, the initial filesystem hidden under
 * the real /, ramfs, which has no size, and efivarfs), and mount points
 * under /dev, /proc and /sys, under /run/credentials, /var/lib/docker and
 * /var/lib/containers/storage (those three themselves kept, as they are
 * often a dedicated disk) are skipped: they have no size worth watching or
 * belong to containers. tmpfs is kept:
 * a full /tmp or /run breaks a host as surely as a full disk, and /dev/shm
 * is already under /dev. autofs is skipped because statvfs on it would
 * trigger the automount; once mounted, the real filesystem has its own
 * line. A mount point mounted over hides what was there, so a later line
 * with the same mount point replaces the earlier one (even when the later
 * one is of a skipped type). Bind mounts and btrfs subvolumes of one
 * filesystem share a device number and report the same sizes, so each
 * filesystem is reported once: at its first mount of the whole filesystem
 * (root "/"), else at its first mount. Without device numbers only mounts
 * of the same /dev node are merged. (A filesystem whose kept mount is
 * later mounted over is then not reported at its other mount points; that
 * case is too rare for a second pass.) At most MAX_MOUNTS are kept;
 * disk_mounts_dropped counts the rest and those with overlong labels.
 *
 * On a real procfs the mount table is parsed again only when it changed:
 * poll(2) on an open mountinfo or mounts file reports POLLPRI once the
 * namespace's mounts change after it was opened or last polled, as systemd
 * and libmount use it, so a descriptor of the table last parsed stays open
 * to be polled. A recorded tree is read again every time.
 *
 * The deadline. statvfs on a dead NFS server or a wedged FUSE daemon can
 * block forever, and nothing can interrupt it, so it runs on a worker
 * thread while the collector waits on a condition variable. A collection
 * hands the worker one job with every mount and is woken once, when the job
 * is done, so a round costs two context switches however many mounts there
 * are. Each call has its own timeout (settings.statvfs_timeout_ms) from the
 * moment it starts: the worker notes when it begins a call, and the
 * collector, when its wait times out, waits on if a later call has begun
 * since. The worker stays for the next collection. When a call times out,
 * the mount is reported with disk_device_error 1, the worker is detached
 * and left to finish that call alone (it frees itself when the call
 * returns), and the rest of the job goes to a new worker. While it is
 * stuck, its mount is reported as an error at once, without a new call.
 * At most MAX_STUCK workers may be stuck; beyond that every mount is an
 * error until one returns, so the threads a bad mount can hold are
 * bounded. A whole collection waits at most WAIT_BUDGET timeouts, after
 * which the remaining mounts are reported as errors for this round.
 *
 * used_percent is used / (used + available), as df(1) computes it, so
 * blocks reserved for root count neither way; it is not rounded up.
 */
#include "agent/collectors/proc-mountinfo.h"
#include "agent/collector.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

/* Mounts reported per collection. */
#define MAX_MOUNTS 256
/* Workers that may be left blocked in statvfs at any time. */
#define MAX_STUCK 8
/* Longest device or mount point label, in bytes, NUL included. */
#define MAX_LABEL 512
/* Longest filesystem type, NUL included. */
#define MAX_FSTYPE 64
/* Bytes of a mount table line looked at; the rest of a longer line is skipped. */
#define LINE_BYTES 8192
/* Fields of a mountinfo line looked at (optional fields included). */
#define MAX_FIELDS 32
/* Timeouts one collection may spend waiting, in total. */
#define WAIT_BUDGET 4
/* Bounds of the configured timeout. */
#define MAX_TIMEOUT_MS 60000
/* Mount table lines read per collection; the rest only count as dropped. */
#define MAX_LINES 65536
/* Stack of a worker thread: statvfs needs little. */
#define WORKER_STACK (256 * 1024)

int (*ward_disk_statvfs)(const char *path, struct statvfs *out) = statvfs;

static const struct ward_metric total_bytes = {"disk", "total_bytes", WARD_SAMPLE_GAUGE,
                                               "Size of the filesystem."};
static const struct ward_metric free_bytes = {"disk", "free_bytes", WARD_SAMPLE_GAUGE,
                                              "Free space, blocks reserved for root included."};
static const struct ward_metric avail_bytes = {"disk", "avail_bytes", WARD_SAMPLE_GAUGE,
                                               "Free space available to unprivileged users."};
static const struct ward_metric used_bytes = {"disk", "used_bytes", WARD_SAMPLE_GAUGE,
                                              "Space in use: total minus free."};
static const struct ward_metric used_percent = {"disk", "used_percent", WARD_SAMPLE_GAUGE,
                                                "Used space as a share of used plus available, "
                                                "as df computes it."};
static const struct ward_metric inodes_total = {"disk", "inodes", WARD_SAMPLE_GAUGE,
                                                "Inodes of the filesystem."};
static const struct ward_metric inodes_free = {"disk", "inodes_free", WARD_SAMPLE_GAUGE,
                                               "Free inodes."};
static const struct ward_metric device_error = {"disk", "device_error", WARD_SAMPLE_GAUGE,
                                                "1 when the size query failed or timed out."};
static const struct ward_metric mounts_dropped = {
    "disk", "mounts_dropped", WARD_SAMPLE_GAUGE,
    "Mounts not reported because of the mount cap or an overlong label."};

static const char *const skipped_types[] = {
    "autofs",     "binfmt_misc", "bpf",       "cgroup",   "cgroup2",   "configfs", "debugfs",
    "devpts",     "devtmpfs",    "efivarfs",  "fusectl",  "hugetlbfs", "iso9660",  "mqueue",
    "nsfs",       "overlay",     "proc",      "procfs",   "pstore",    "ramfs",    "rootfs",
    "rpc_pipefs", "securityfs",  "selinuxfs", "squashfs", "sysfs",     "tracefs",
};

/* Mount point prefixes skipped; "self" also skips the prefix itself. */
static const struct {
    const char *path;
    bool self;
} skipped_paths[] = {
    {"/dev", true},
    {"/proc", true},
    {"/sys", true},
    {"/run/credentials", false},
    {"/var/lib/docker", false},
    {"/var/lib/containers/storage", false},
};

struct mount {
    char device[MAX_LABEL];
    char mountpoint[MAX_LABEL];
    char fstype[MAX_FSTYPE];
    unsigned major, minor;
    bool have_dev;   /* major:minor known (mountinfo) */
    bool whole_root; /* the whole filesystem is mounted here, not a subtree */
};

/* One statvfs call of a job: the mount it is for, its path, and its answer. */
struct call {
    size_t mount; /* index into the state's mounts */
    const char *path;
    struct statvfs sv;
    int err; /* errno of the call, or 0 */
};

/* Calls a worker answers in order; the paths follow the calls in the same allocation. */
struct job {
    size_t n, done;          /* calls asked for, calls answered */
    struct timespec started; /* when call[done] began (or the job was posted) */
    struct call call[];
};

/*
 * A thread that runs jobs of statvfs calls. The collector and the thread
 * each hold a reference; the last to let go frees it and its job, so a
 * worker left blocked outlives the collector's state safely.
 */
struct worker {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond; /* a job was posted or finished, or the worker retired */
    int refs;
    bool busy;       /* a job is posted and not finished */
    bool retired;    /* stop after the call in progress and exit */
    size_t stuck_at; /* the call it is stuck in, once retired by a timeout */
    int (*fn)(const char *path, struct statvfs *out);
    struct job *job;
};

struct mount_result {
    struct statvfs sv;
    int err; /* errno, or 0 */
};

struct state {
    struct mount mounts[MAX_MOUNTS];
    struct mount_result results[MAX_MOUNTS];
    size_t n_mounts;
    size_t dropped;
    int watch;                       /* the procfs mount table parsed last, for poll; or -1 */
    char *watch_root;                /* the host root watch was found under */
    int parse_result;                /* of the last parse */
    struct worker *idle;             /* serves the next job, or NULL */
    struct worker *stuck[MAX_STUCK]; /* timed out, call still running */
    size_t n_stuck;
    char line[LINE_BYTES];
};

enum parsed {
    PARSED,
    MALFORMED,
    TOO_LONG,
};

static void worker_release(struct worker *w)
{
    pthread_mutex_lock(&w->lock);
    bool last = --w->refs == 0;
    pthread_mutex_unlock(&w->lock);
    if (!last)
        return;
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->lock);
    free(w->job);
    free(w);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->busy && !w->retired)
            pthread_cond_wait(&w->cond, &w->lock);
        if (!w->busy)
            break;
        /* The collector leaves the job and fn alone while busy. */
        struct job *j = w->job;
        while (j->done < j->n && !w->retired) {
            struct call *c = &j->call[j->done];
            clock_gettime(CLOCK_MONOTONIC, &j->started);
            pthread_mutex_unlock(&w->lock);
            struct statvfs sv = {0};
            errno = 0;
            int r = w->fn(c->path, &sv);
            int err = r == 0 ? 0 : (errno > 0 ? errno : EIO);
            pthread_mutex_lock(&w->lock);
            c->sv = sv;
            c->err = err;
            j->done++;
        }
        w->busy = false;
        pthread_cond_broadcast(&w->cond);
    }
    pthread_mutex_unlock(&w->lock);
    worker_release(w);
    return NULL;
}

static int worker_new(struct worker **out)
{
    struct worker *w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int r = pthread_cond_init(&w->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (r != 0) {
        free(w);
        return -r;
    }
    pthread_mutex_init(&w->lock, NULL);
    w->refs = 2;

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, WORKER_STACK);
    /* The agent's signals belong to its main loop, not to this thread. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    r = pthread_create(&w->thread, &attr, worker_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (r != 0) {
        pthread_cond_destroy(&w->cond);
        pthread_mutex_destroy(&w->lock);
        free(w);
        return -r;
    }
    *out = w;
    return 0;
}

/* Drops the workers whose blocked call has returned since. */
static void reap_stuck(struct state *st)
{
    size_t kept = 0;
    for (size_t i = 0; i < st->n_stuck; i++) {
        struct worker *w = st->stuck[i];
        pthread_mutex_lock(&w->lock);
        bool finished = !w->busy;
        pthread_mutex_unlock(&w->lock);
        if (finished)
            worker_release(w);
        else
            st->stuck[kept++] = w;
    }
    st->n_stuck = kept;
}

static bool is_stuck(const struct state *st, const char *path)
{
    /* The path of the call a worker is stuck in never changes. */
    for (size_t i = 0; i < st->n_stuck; i++) {
        const struct worker *w = st->stuck[i];
        if (strcmp(w->job->call[w->stuck_at].path, path) == 0)
            return true;
    }
    return false;
}

/* A job for n calls whose paths take text_bytes in all (NULs included); NULL without memory. */
static struct job *job_new(size_t n, size_t text_bytes)
{
    struct job *j = malloc(sizeof(*j) + n * sizeof(struct call) + text_bytes);
    if (j)
        *j = (struct job){.n = 0};
    return j;
}

/* Adds a call; the job must have been sized for it. */
static void job_add(struct job *j, size_t cap, size_t mount, const char *path)
{
    char *text = (char *)&j->call[cap];
    char *at = j->n ? (char *)j->call[j->n - 1].path + strlen(j->call[j->n - 1].path) + 1 : text;
    memcpy(at, path, strlen(path) + 1);
    j->call[j->n++] = (struct call){.mount = mount, .path = at};
}

/* A job of the calls of j from `from` on; NULL when there are none or no memory. */
static struct job *job_rest(const struct job *j, size_t from)
{
    size_t n = j->n - from, text = 0;
    for (size_t i = from; i < j->n; i++)
        text += strlen(j->call[i].path) + 1;
    struct job *rest = n ? job_new(n, text) : NULL;
    for (size_t i = from; rest && i < j->n; i++)
        job_add(rest, n, j->call[i].mount, j->call[i].path);
    return rest;
}

static struct timespec after_ms(const struct timespec *t, int64_t ms)
{
    struct timespec r = {.tv_sec = t->tv_sec + (time_t)(ms / 1000),
                         .tv_nsec = t->tv_nsec + (long)(ms % 1000) * 1000000L};
    if (r.tv_nsec >= 1000000000L) {
        r.tv_sec++;
        r.tv_nsec -= 1000000000L;
    }
    return r;
}

static bool before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* When the call in progress of j times out: timeout_ms after it began, or at budget_end. */
static struct timespec call_deadline(const struct job *j, int64_t timeout_ms,
                                     const struct timespec *budget_end)
{
    struct timespec d = after_ms(&j->started, timeout_ms);
    return before(budget_end, &d) ? *budget_end : d;
}

/*
 * Hands j to the idle worker and waits until it is answered, each call
 * within timeout_ms of its start and all before budget_end
 * (CLOCK_MONOTONIC). The worker owns j from here on. Returns the number of
 * calls answered, in order; when that is less than j->n, the next call
 * timed out and its worker is stuck in it.
 */
static size_t run_job(struct state *st, struct job *j, int64_t timeout_ms,
                      const struct timespec *budget_end)
{
    struct worker *w = st->idle;
    pthread_mutex_lock(&w->lock);
    free(w->job);
    w->job = j;
    w->fn = ward_disk_statvfs;
    clock_gettime(CLOCK_MONOTONIC, &j->started);
    w->busy = true;
    pthread_cond_broadcast(&w->cond);
    while (w->busy) {
        struct timespec deadline = call_deadline(j, timeout_ms, budget_end);
        int e = pthread_cond_timedwait(&w->cond, &w->lock, &deadline);
        if (e != ETIMEDOUT || !w->busy)
            continue;
        /* The deadline only moves when a new call started meanwhile. */
        struct timespec moved = call_deadline(j, timeout_ms, budget_end);
        if (before(&deadline, &moved))
            continue;
        w->retired = true;
        w->stuck_at = j->done;
        break;
    }
    size_t answered = j->done;
    bool stuck = w->retired;
    pthread_mutex_unlock(&w->lock);
    if (stuck) {
        /* Idle workers exist only while fewer than MAX_STUCK are stuck. */
        pthread_detach(w->thread);
        st->stuck[st->n_stuck++] = w;
        st->idle = NULL;
    }
    return answered;
}

/* Sizes every mount with statvfs(root + mount point) into st->results, under the deadline. */
static void size_mounts(struct state *st, const struct ward_collect_ctx *ctx, int64_t timeout_ms)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    struct timespec budget_end = after_ms(&now, timeout_ms * WAIT_BUDGET);
    size_t root_len = ctx->root ? strlen(ctx->root) : 0;

    reap_stuck(st);
    struct job *j = job_new(st->n_mounts, st->n_mounts * (root_len + MAX_LABEL));
    for (size_t i = 0; i < st->n_mounts; i++) {
        char path[PATH_MAX];
        int r = ward_collect_path(ctx, st->mounts[i].mountpoint, path, sizeof(path));
        if (r == 0 && is_stuck(st, path))
            r = -ETIMEDOUT; /* an error at once, without a second call */
        if (r == 0 && !j)
            r = -ENOMEM;
        st->results[i].err = -r;
        if (r == 0)
            job_add(j, st->n_mounts, i, path);
    }
    while (j && j->n > 0) {
        int err = 0;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (!before(&now, &budget_end))
            err = ETIMEDOUT;
        else if (!st->idle && st->n_stuck >= MAX_STUCK)
            err = EAGAIN;
        else if (!st->idle)
            err = -worker_new(&st->idle);
        if (err) {
            for (size_t i = 0; i < j->n; i++)
                st->results[j->call[i].mount].err = err;
            break; /* j was never handed over */
        }
        struct job *job = j;
        size_t answered = run_job(st, job, timeout_ms, &budget_end);
        for (size_t i = 0; i < answered; i++)
            st->results[job->call[i].mount] =
                (struct mount_result){job->call[i].sv, job->call[i].err};
        j = NULL;
        if (answered == job->n)
            break;
        st->results[job->call[answered].mount].err = ETIMEDOUT;
        /* The rest goes to a new worker; job stays with the stuck one. */
        j = job_rest(job, answered + 1);
        if (!j)
            for (size_t i = answered + 1; i < job->n; i++)
                st->results[job->call[i].mount].err = ENOMEM;
    }
    free(j);
}

static void forget_watch(struct state *st)
{
    if (st->watch >= 0)
        close(st->watch);
    st->watch = -1;
    free(st->watch_root);
    st->watch_root = NULL;
}

static int disk_init(void **state)
{
    struct state *st = calloc(1, sizeof(*st));
    if (!st)
        return -ENOMEM;
    st->watch = -1;
    *state = st;
    return 0;
}

static void disk_done(void *state)
{
    struct state *st = state;
    if (!st)
        return;
    if (st->idle) {
        struct worker *w = st->idle;
        pthread_mutex_lock(&w->lock);
        w->retired = true;
        pthread_cond_broadcast(&w->cond);
        pthread_mutex_unlock(&w->lock);
        pthread_join(w->thread, NULL);
        worker_release(w);
    }
    for (size_t i = 0; i < st->n_stuck; i++)
        worker_release(st->stuck[i]);
    forget_watch(st);
    free(st);
}

/*
 * Reads one line into buf, keeping at most size - 1 bytes and skipping the
 * rest of a longer line. Returns the length kept, or -1 at the end of the
 * file. *cut is set when bytes were skipped, *nul when the line held a NUL.
 */
static ssize_t read_line(FILE *f, char *buf, size_t size, bool *cut, bool *nul)
{
    size_t n = 0;
    int ch;
    *cut = *nul = false;
    while ((ch = getc_unlocked(f)) != EOF && ch != '\n') {
        if (ch == '\0')
            *nul = true;
        if (n + 1 < size)
            buf[n++] = (char)ch;
        else
            *cut = true;
    }
    if (ch == EOF && n == 0 && !*cut && !*nul)
        return -1;
    buf[n] = '\0';
    return (ssize_t)n;
}

/* Splits s in place at runs of blanks. Returns the number of fields, at most max. */
static size_t split(char *s, char **fields, size_t max)
{
    size_t n = 0;
    while (n < max) {
        while (*s == ' ' || *s == '\t')
            s++;
        if (!*s)
            break;
        fields[n++] = s;
        while (*s && *s != ' ' && *s != '\t')
            s++;
        if (*s)
            *s++ = '\0';
    }
    return n;
}

static bool is_octal(char c)
{
    return c >= '0' && c <= '7';
}

/* Decodes the kernel's octal escapes of in into out (size bytes). */
static enum parsed unescape(const char *in, char *out, size_t size)
{
    size_t n = 0;
    while (*in) {
        unsigned char c = (unsigned char)*in;
        if (c == '\\' && in[1] >= '0' && in[1] <= '3' && is_octal(in[2]) && is_octal(in[3])) {
            c = (unsigned char)((in[1] - '0') * 64 + (in[2] - '0') * 8 + (in[3] - '0'));
            if (c == '\0')
                return MALFORMED;
            in += 4;
        } else {
            in++;
        }
        if (n + 1 >= size)
            return TOO_LONG;
        out[n++] = (char)c;
    }
    out[n] = '\0';
    return PARSED;
}

/* True for an absolute path without empty, "." or ".." components (but "/"). */
static bool is_canonical(const char *p)
{
    if (p[0] != '/')
        return false;
    if (p[1] == '\0')
        return true;
    const char *c = p + 1;
    for (;;) {
        const char *end = strchrnul(c, '/');
        size_t len = (size_t)(end - c);
        if (len == 0 || (len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
            return false;
        if (!*end)
            return true;
        c = end + 1;
    }
}

static bool is_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* Parses "major:minor". */
static bool parse_dev(const char *s, unsigned *major, unsigned *minor)
{
    const char *colon = strchr(s, ':');
    if (!colon || colon == s || colon - s > 10 || strlen(colon + 1) > 10)
        return false;
    char maj[16];
    memcpy(maj, s, (size_t)(colon - s));
    maj[colon - s] = '\0';
    if (!is_digits(maj) || !is_digits(colon + 1))
        return false;
    unsigned long a = strtoul(maj, NULL, 10), b = strtoul(colon + 1, NULL, 10);
    if (a > UINT_MAX || b > UINT_MAX)
        return false;
    *major = (unsigned)a;
    *minor = (unsigned)b;
    return true;
}

/* Fills m from the decoded device, mount point and type fields. */
static enum parsed fill(struct mount *m, const char *device, const char *mountpoint,
                        const char *fstype)
{
    enum parsed r = unescape(mountpoint, m->mountpoint, sizeof(m->mountpoint));
    if (r == PARSED)
        r = unescape(device, m->device, sizeof(m->device));
    if (r == PARSED)
        r = unescape(fstype, m->fstype, sizeof(m->fstype));
    if (r == PARSED && !is_canonical(m->mountpoint))
        r = MALFORMED;
    return r;
}

/*
 * A mountinfo line: ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...]
 * - FSTYPE SOURCE SUPEROPTIONS (proc(5)).
 */
static enum parsed parse_mountinfo(char *line, struct mount *m)
{
    char *f[MAX_FIELDS];
    size_t n = split(line, f, MAX_FIELDS);
    if (n < 9 || !is_digits(f[0]) || !is_digits(f[1]) || !parse_dev(f[2], &m->major, &m->minor))
        return MALFORMED;
    size_t sep = 6;
    while (sep < n && strcmp(f[sep], "-") != 0)
        sep++;
    if (sep + 2 >= n)
        return MALFORMED;
    m->have_dev = true;
    m->whole_root = strcmp(f[3], "/") == 0;
    return fill(m, f[sep + 2], f[4], f[sep + 1]);
}

/* A /proc/mounts line: SOURCE MOUNTPOINT FSTYPE OPTIONS FREQ PASSNO (fstab(5)). */
static enum parsed parse_mounts(char *line, struct mount *m)
{
    char *f[4];
    if (split(line, f, 4) < 3)
        return MALFORMED;
    m->have_dev = false;
    m->whole_root = true;
    return fill(m, f[0], f[1], f[2]);
}

static bool skipped(const struct mount *m)
{
    for (size_t i = 0; i < sizeof(skipped_types) / sizeof(skipped_types[0]); i++)
        if (strcmp(m->fstype, skipped_types[i]) == 0)
            return true;
    for (size_t i = 0; i < sizeof(skipped_paths) / sizeof(skipped_paths[0]); i++) {
        size_t len = strlen(skipped_paths[i].path);
        if (strncmp(m->mountpoint, skipped_paths[i].path, len) != 0)
            continue;
        char next = m->mountpoint[len];
        if ((next == '/' && m->mountpoint[len + 1]) || (next == '\0' && skipped_paths[i].self))
            return true;
    }
    return false;
}

static bool same_filesystem(const struct mount *a, const struct mount *b)
{
    if (a->have_dev && b->have_dev)
        return a->major == b->major && a->minor == b->minor;
    return strncmp(a->device, "/dev/", 5) == 0 && strcmp(a->device, b->device) == 0 &&
           strcmp(a->fstype, b->fstype) == 0;
}

static void add_mount(struct state *st, const struct mount *m)
{
    /* Mounting over a mount point hides what was mounted there. */
    for (size_t i = 0; i < st->n_mounts; i++) {
        if (strcmp(st->mounts[i].mountpoint, m->mountpoint) == 0) {
            if (i != --st->n_mounts)
                st->mounts[i] = st->mounts[st->n_mounts];
            break;
        }
    }
    if (skipped(m))
        return;
    for (size_t i = 0; i < st->n_mounts; i++) {
        if (same_filesystem(&st->mounts[i], m)) {
            if (m->whole_root && !st->mounts[i].whole_root)
                st->mounts[i] = *m;
            return;
        }
    }
    if (st->n_mounts == MAX_MOUNTS) {
        st->dropped++;
        return;
    }
    st->mounts[st->n_mounts++] = *m;
}

static FILE *open_table(const struct ward_collect_ctx *ctx, bool *mountinfo)
{
    static const char *const tables[] = {"/proc/1/mountinfo", "/proc/self/mountinfo",
                                         "/proc/mounts"};
    bool host_root = !ward_collect_live(ctx);
    int err = ENOENT;
    for (size_t i = host_root ? 0 : 1; i < sizeof(tables) / sizeof(tables[0]); i++) {
        FILE *f = ward_collect_open(ctx, tables[i]);
        if (f) {
            *mountinfo = i < 2;
            return f;
        }
        if (errno != ENOENT)
            err = errno;
    }
    errno = err;
    return NULL;
}

/* True when the watched mount table of this root has not changed since the last parse. */
static bool table_unchanged(struct state *st, const struct ward_collect_ctx *ctx)
{
    const char *root = ctx->root ? ctx->root : "";
    if (st->watch < 0 || strcmp(st->watch_root, root) != 0) {
        forget_watch(st);
        return false;
    }
    struct pollfd p = {.fd = st->watch, .events = POLLPRI};
    return poll(&p, 1, 0) == 0;
}

/*
 * Watches the table f was opened on, when it is a procfs file and nothing
 * is watched yet: a second descriptor of the same open file, whose poll
 * reports the changes since f was opened.
 */
static void watch_table(struct state *st, const struct ward_collect_ctx *ctx, FILE *f)
{
    struct statfs sf;
    if (st->watch >= 0 || fstatfs(fileno(f), &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC)
        return;
    st->watch_root = strdup(ctx->root ? ctx->root : "");
    st->watch = st->watch_root ? fcntl(fileno(f), F_DUPFD_CLOEXEC, 0) : -1;
    if (st->watch < 0)
        forget_watch(st);
}

/* Reads the mount table into st->mounts. Returns 0, or a negative errno. */
static int read_mounts(struct state *st, const struct ward_collect_ctx *ctx)
{
    if (table_unchanged(st, ctx))
        return st->parse_result;
    bool mountinfo;
    FILE *f = open_table(ctx, &mountinfo);
    if (!f) {
        forget_watch(st);
        return -errno;
    }
    watch_table(st, ctx, f);
    st->n_mounts = 0;
    st->dropped = 0;
    size_t parsed = 0, lines = 0;
    bool cut, nul;
    ssize_t len;
    errno = 0;
    while ((len = read_line(f, st->line, sizeof(st->line), &cut, &nul)) >= 0) {
        if (++lines > MAX_LINES) {
            st->dropped++; /* a mount storm: the rest is counted, not read */
            continue;
        }
        if (nul)
            continue;
        if (cut) {
            /* Keep only the fields that ended within the buffer. */
            char *last = strrchr(st->line, ' ');
            if (!last)
                continue;
            *last = '\0';
        }
        struct mount m;
        enum parsed r = mountinfo ? parse_mountinfo(st->line, &m) : parse_mounts(st->line, &m);
        if (r == TOO_LONG)
            st->dropped++;
        if (r != PARSED)
            continue;
        parsed++;
        add_mount(st, &m);
    }
    int err = ferror(f) ? (errno > 0 ? errno : EIO) : 0;
    fclose(f);
    if (err) {
        forget_watch(st);
        return -err;
    }
    st->parse_result = parsed ? 0 : -ENODATA;
    return st->parse_result;
}

static void emit_sizes(const struct ward_collect_ctx *ctx, const struct statvfs *sv,
                       const struct ward_label *l)
{
    double frsize = (double)(sv->f_frsize ? sv->f_frsize : sv->f_bsize);
    uint64_t used_blocks = sv->f_blocks > sv->f_bfree ? sv->f_blocks - sv->f_bfree : 0;
    double used = (double)used_blocks * frsize;
    double avail = (double)sv->f_bavail * frsize;
    ward_emit(ctx, &total_bytes, (double)sv->f_blocks * frsize, l, 3);
    ward_emit(ctx, &free_bytes, (double)sv->f_bfree * frsize, l, 3);
    ward_emit(ctx, &avail_bytes, avail, l, 3);
    ward_emit(ctx, &used_bytes, used, l, 3);
    ward_emit(ctx, &used_percent, used + avail > 0 ? used / (used + avail) * 100.0 : 0.0, l, 3);
    ward_emit(ctx, &inodes_total, (double)sv->f_files, l, 3);
    ward_emit(ctx, &inodes_free, (double)sv->f_ffree, l, 3);
}

static int disk_collect(void *state, const struct ward_collect_ctx *ctx)
{
    struct state *st = state;
    int r = read_mounts(st, ctx);
    if (r < 0)
        return r;

    int64_t timeout = ctx->settings ? ctx->settings->statvfs_timeout_ms : 0;
    if (timeout <= 0)
        timeout = WARD_STATVFS_TIMEOUT_MS;
    if (timeout > MAX_TIMEOUT_MS)
        timeout = MAX_TIMEOUT_MS;
    size_mounts(st, ctx, timeout);
    for (size_t i = 0; i < st->n_mounts; i++) {
        const struct mount *m = &st->mounts[i];
        const struct ward_label l[3] = {
            {"device", m->device}, {"mountpoint", m->mountpoint}, {"fstype", m->fstype}};
        const struct mount_result *res = &st->results[i];
        if (res->err == 0)
            emit_sizes(ctx, &res->sv, l);
        ward_emit(ctx, &device_error, res->err == 0 ? 0.0 : 1.0, l, 3);
    }
    ward_emit0(ctx, &mounts_dropped, (double)st->dropped);
    return 0;
}

const struct ward_collector ward_collector_proc_mountinfo = {
    .size = sizeof(struct ward_collector),
    .name = "disk",
    .default_interval_ms = 60000,
    .init = disk_init,
    .collect = disk_collect,
    .done = disk_done,
};
