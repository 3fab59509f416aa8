/*
 * The mounts diagnostic: every line of the mount table, with the size and
 * use of each real filesystem, like findmnt and df together.
 *
 * The table is ROOT/proc/self/mountinfo (proc(5)). Its fields are octal
 * escaped by the kernel ("\040" for a space); they are decoded, and then
 * written out with control characters, backslashes and bytes that are not
 * UTF-8 as \xNN, so one mount stays one line. A line is read into a fixed
 * buffer (the rest of an overlong one is skipped), and at most MAX_ROWS
 * mounts are listed; the others are counted.
 *
 * Sizes come from statvfs(ROOT + mount point), which on a dead NFS server
 * or a wedged FUSE daemon may block forever and cannot be interrupted. So
 * the calls run on a detached worker thread, one after the other, while
 * the diagnostic waits for each at most CALL_TIMEOUT_MS and never past its
 * deadline. A call that takes longer, or is still running at the deadline,
 * is reported as "timeout"; its worker is left blocked and the remaining
 * calls go to a new worker (or, at the deadline, are not made). The job
 * records which call its live worker is running, so that the call is timed
 * out whatever happened to the queue behind it. The job the threads share
 * is reference-counted, so a blocked worker can return long after the
 * diagnostic and still find its memory. Blocked workers are counted across
 * runs: with MAX_STUCK of them, no new one starts and the remaining mounts
 * say "skipped", so a hung mount asked about again and again holds a
 * bounded number of threads. Pseudo filesystems (proc,
 * sysfs, cgroup, ...) have no size and are not asked; autofs is not
 * either, as asking would trigger the automount.
 */
#include "agent/diagnostics/diagnostics.h"

#include "common/error.h"
#include "common/time-util.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

/* Mounts listed at most; more are counted. */
#define MAX_ROWS 4096
/* Bytes of a mountinfo line looked at. */
#define LINE_BYTES 8192
/* Fields of a line looked at, optional fields included. */
#define MAX_FIELDS 64
/* The longest wait for one statvfs call. */
#define CALL_TIMEOUT_MS 2000
/* Workers left blocked in statvfs, over all runs, before no more start. */
#define MAX_STUCK 8
/* Widest device, mount point and type columns; longer values overflow them. */
#define MAX_WIDTH 40

static const char *const unsized_types[] = {
    "autofs",     "binfmt_misc", "bpf",      "cgroup",  "cgroup2",   "configfs",
    "debugfs",    "devpts",      "efivarfs", "fusectl", "hugetlbfs", "mqueue",
    "nsfs",       "proc",        "pstore",   "ramfs",   "rootfs",    "rpc_pipefs",
    "securityfs", "selinuxfs",   "sysfs",    "tracefs",
};

enum call_state {
    PENDING,
    RUNNING,
    DONE,
    TIMED_OUT,
    NOT_RUN, /* the deadline came first, or no worker could start */
};

struct call {
    const char *path; /* in the job's own allocation */
    size_t mount;     /* index of the mount it sizes */
    enum call_state state;
    int64_t started_ms;
    struct statvfs sv;
    int err; /* errno of the call; of NOT_RUN, why */
};

/* The calls of one run, shared by the diagnostic and its workers. */
struct job {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int refs;
    int live; /* workers not blocked past their timeout: 0 or 1 */
    bool cancelled;
    size_t n, next, settled;
    size_t running; /* the call the live worker runs, or NONE */
    int (*fn)(const char *path, struct statvfs *out);
    struct call calls[];
};

struct mount {
    char *text; /* the four fields below, decoded, in one allocation */
    const char *device, *mountpoint, *fstype, *options;
    bool sized; /* a statvfs call is made for it */
    enum call_state state;
    struct statvfs sv;
    int err;
};

/* No call is running. */
#define NONE SIZE_MAX

static atomic_int stuck_workers;

/*
 * The statvfs the workers call: a seam for tests, which swap in one that
 * blocks or is slow (the way ward_disk_statvfs serves the collector). Set
 * it before a run, not during one; a run keeps the value it started with.
 * Not in diagnostics.h yet: the test declares it.
 */
int (*ward_diag_mounts_statvfs)(const char *path, struct statvfs *out) = statvfs;

static void job_release(struct job *j)
{
    bool last = --j->refs == 0;
    pthread_mutex_unlock(&j->lock);
    if (!last)
        return;
    pthread_cond_destroy(&j->cond);
    pthread_mutex_destroy(&j->lock);
    free(j);
}

static void *worker_main(void *arg)
{
    struct job *j = arg;
    pthread_mutex_lock(&j->lock);
    while (!j->cancelled && j->next < j->n) {
        j->running = j->next;
        struct call *c = &j->calls[j->next++];
        c->state = RUNNING;
        c->started_ms = ward_mono_ms();
        pthread_cond_broadcast(&j->cond); /* its timeout starts now */
        pthread_mutex_unlock(&j->lock);
        struct statvfs sv = {0};
        int err = j->fn(c->path, &sv) == 0 ? 0 : errno;
        pthread_mutex_lock(&j->lock);
        if (c->state == TIMED_OUT) {
            /* Given up on: live was counted down, and running moved on, then. */
            atomic_fetch_sub(&stuck_workers, 1);
            job_release(j);
            return NULL;
        }
        c->sv = sv;
        c->err = err;
        c->state = DONE;
        j->running = NONE;
        j->settled++;
        pthread_cond_broadcast(&j->cond);
    }
    j->live--;
    pthread_cond_broadcast(&j->cond);
    job_release(j);
    return NULL;
}

/* Starts a worker on j (locked). Returns 0 or a negative errno. */
static int start_worker(struct job *j)
{
    pthread_attr_t attr;
    pthread_t thread;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    /* The agent's signals belong to its main loop, not to this thread. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    j->refs++;
    j->live++;
    int r = pthread_create(&thread, &attr, worker_main, j);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (r != 0) {
        j->refs--;
        j->live--;
    }
    return -r;
}

/* Marks every call not yet started of j (locked) NOT_RUN with err. */
static void give_up(struct job *j, int err)
{
    for (; j->next < j->n; j->next++) {
        j->calls[j->next].state = NOT_RUN;
        j->calls[j->next].err = err;
        j->settled++;
    }
}

/* Runs the calls of j (locked) until all are settled or deadline_ms comes. */
static void run_job(struct job *j, int64_t deadline_ms)
{
    while (j->settled < j->n) {
        int64_t now = ward_mono_ms(), wake = deadline_ms;
        if (now >= deadline_ms) {
            j->cancelled = true;
            give_up(j, ETIMEDOUT);
        }
        if (j->live == 0 && j->next < j->n) {
            int r = atomic_load(&stuck_workers) >= MAX_STUCK ? -EAGAIN : start_worker(j);
            if (r < 0)
                give_up(j, -r);
        }
        if (j->running != NONE) {
            /*
             * Not the last call handed out: at the deadline give_up() has
             * moved next past the calls still queued, and the running one
             * must be timed out all the same.
             */
            struct call *c = &j->calls[j->running];
            int64_t limit = c->started_ms + CALL_TIMEOUT_MS;
            if (now >= limit || j->cancelled) {
                c->state = TIMED_OUT;
                j->running = NONE;
                j->settled++;
                j->live--;
                atomic_fetch_add(&stuck_workers, 1);
                continue;
            }
            wake = limit < wake ? limit : wake;
        }
        if (j->settled == j->n)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t wait = wake - now;
        ts.tv_sec += (time_t)(wait / 1000);
        ts.tv_nsec += (long)(wait % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&j->cond, &j->lock, &ts);
    }
    j->cancelled = true;
}

/* Sizes the mounts marked sized, each at root + its mount point. */
static void size_mounts(struct mount *m, size_t n, const char *root, int64_t deadline_ms)
{
    size_t calls = 0, text = 0;
    for (size_t i = 0; i < n; i++)
        if (m[i].sized) {
            calls++;
            text += strlen(root) + strlen(m[i].mountpoint) + 1;
        }
    if (calls == 0)
        return;
    struct job *j = calloc(1, sizeof(*j) + calls * sizeof(struct call) + text);
    pthread_condattr_t ca;
    if (!j || pthread_condattr_init(&ca) != 0) {
        free(j);
        for (size_t i = 0; i < n; i++) {
            m[i].state = NOT_RUN;
            m[i].err = ENOMEM;
        }
        return;
    }
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&j->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&j->lock, NULL);
    j->refs = 1;
    j->running = NONE;
    j->fn = ward_diag_mounts_statvfs;
    char *at = (char *)&j->calls[calls];
    for (size_t i = 0; i < n; i++) {
        if (!m[i].sized)
            continue;
        struct call *c = &j->calls[j->n++];
        size_t len = strlen(root) + strlen(m[i].mountpoint) + 1;
        c->mount = i;
        c->path = at;
        snprintf(at, len, "%s%s", root, m[i].mountpoint);
        at += len;
    }
    pthread_mutex_lock(&j->lock);
    run_job(j, deadline_ms);
    for (size_t k = 0; k < j->n; k++) {
        struct mount *mt = &m[j->calls[k].mount];
        mt->state = j->calls[k].state;
        mt->sv = j->calls[k].sv;
        mt->err = j->calls[k].err;
    }
    job_release(j);
}

/* Reads one line into buf (size bytes), skipping the rest of a longer one. -1 at the end. */
static ssize_t read_line(FILE *f, char *buf, size_t size)
{
    size_t n = 0;
    int ch;
    while ((ch = getc(f)) != EOF && ch != '\n')
        if (n + 1 < size)
            buf[n++] = (char)ch;
    if (ch == EOF && n == 0)
        return -1;
    buf[n] = '\0';
    return (ssize_t)n;
}

/* Splits s in place at blanks into at most max fields. Returns their number. */
static size_t split(char *s, char **fields, size_t max)
{
    size_t n = 0;
    while (n < max) {
        while (*s == ' ' || *s == '\t')
            s++;
        if (!*s)
            break;
        fields[n++] = s;
        s += strcspn(s, " \t");
        if (*s)
            *s++ = '\0';
    }
    return n;
}

/*
 * Parses "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE
 * SOURCE SUPEROPTIONS" into m. Returns 0, -EINVAL for a malformed line, or
 * -ENOMEM.
 */
static int parse_line(char *line, struct mount *m)
{
    char *f[MAX_FIELDS];
    size_t n = split(line, f, MAX_FIELDS), sep = 6;
    while (sep < n && strcmp(f[sep], "-") != 0)
        sep++;
    if (n < 6 || sep + 2 >= n)
        return -EINVAL;
    char *src[4] = {f[sep + 2], f[4], f[sep + 1], f[5]};
    size_t len = 0;
    for (size_t i = 0; i < 4; i++) {
        if (!ward_diag_unescape_mountinfo(src[i]))
            return -EINVAL;
        len += strlen(src[i]) + 1;
    }
    char *text = malloc(len), *at = text;
    if (!text)
        return -ENOMEM;
    const char **dst[4] = {&m->device, &m->mountpoint, &m->fstype, &m->options};
    for (size_t i = 0; i < 4; i++) {
        size_t n = strlen(src[i]) + 1;
        memcpy(at, src[i], n);
        *dst[i] = at;
        at += n;
    }
    m->text = text;
    m->sized = m->mountpoint[0] == '/';
    for (size_t i = 0; i < sizeof(unsized_types) / sizeof(unsized_types[0]); i++)
        if (strcmp(m->fstype, unsized_types[i]) == 0)
            m->sized = false;
    return 0;
}

/* Writes the size columns of m into cols (4 of 16 bytes) and a note, if any, to note. */
static void size_columns(const struct mount *m, char cols[4][16], const char **note)
{
    *note = NULL;
    for (size_t i = 0; i < 4; i++)
        snprintf(cols[i], 16, "-");
    if (!m->sized)
        return;
    if (m->state == TIMED_OUT) {
        snprintf(cols[0], 16, "timeout");
        return;
    }
    if (m->state == NOT_RUN) {
        snprintf(cols[0], 16, "skipped");
        *note = m->err == ETIMEDOUT ? "the deadline came first"
                : m->err == EAGAIN  ? "too many statvfs calls still hung"
                                    : ward_strerror(-m->err);
        return;
    }
    if (m->state != DONE || m->err) {
        snprintf(cols[0], 16, "error");
        *note = ward_strerror(-(m->err ? m->err : EIO));
        return;
    }
    const struct statvfs *sv = &m->sv;
    double frsize = (double)(sv->f_frsize ? sv->f_frsize : sv->f_bsize);
    uint64_t used = sv->f_blocks > sv->f_bfree ? sv->f_blocks - sv->f_bfree : 0;
    uint64_t base = used + sv->f_bavail;
    ward_diag_human_bytes((double)sv->f_blocks * frsize, cols[0], 16);
    ward_diag_human_bytes((double)used * frsize, cols[1], 16);
    ward_diag_human_bytes((double)sv->f_bavail * frsize, cols[2], 16);
    /* As df: used of used plus available, rounded up. */
    if (base)
        snprintf(cols[3], 16, "%llu%%", (unsigned long long)((used * 100 + base - 1) / base));
}

static int width(const char *s, int w)
{
    int n = (int)strlen(s);
    return n > w ? (n > MAX_WIDTH ? MAX_WIDTH : n) : w;
}

static void print_table(const struct mount *m, size_t n, struct ward_diag_out *out)
{
    struct ward_buf dev = WARD_BUF_INIT, mp = WARD_BUF_INIT, type = WARD_BUF_INIT,
                    opts = WARD_BUF_INIT;
    int wd = 6, wm = 10, wt = 4; /* "Device", "Mounted on", "Type" */
    for (size_t i = 0; i < n; i++) {
        wd = width(m[i].device, wd);
        wm = width(m[i].mountpoint, wm);
        wt = width(m[i].fstype, wt);
    }
    ward_diag_out_printf(out, "%-*s %-*s %-*s %9s %9s %9s %5s %s\n", wd, "Device", wm, "Mounted on",
                         wt, "Type", "Size", "Used", "Avail", "Use%", "Options");
    for (size_t i = 0; i < n && !ward_diag_out_full(out); i++) {
        char cols[4][16];
        const char *note;
        size_columns(&m[i], cols, &note);
        ward_buf_reset(&dev);
        ward_diag_escape(&dev, m[i].device, strlen(m[i].device));
        ward_buf_reset(&mp);
        ward_diag_escape(&mp, m[i].mountpoint, strlen(m[i].mountpoint));
        ward_buf_reset(&type);
        ward_diag_escape(&type, m[i].fstype, strlen(m[i].fstype));
        ward_buf_reset(&opts);
        ward_diag_escape(&opts, m[i].options, strlen(m[i].options));
        ward_diag_out_printf(out, "%-*s %-*s %-*s %9s %9s %9s %5s %s%s%s%s\n", wd,
                             dev.data ? dev.data : "", wm, mp.data ? mp.data : "", wt,
                             type.data ? type.data : "", cols[0], cols[1], cols[2], cols[3],
                             opts.data ? opts.data : "", note ? " (" : "", note ? note : "",
                             note ? ")" : "");
    }
    ward_buf_done(&dev);
    ward_buf_done(&mp);
    ward_buf_done(&type);
    ward_buf_done(&opts);
}

int ward_diag_mounts(const struct ward_diag_args *args, const struct ward_diag_ctx *ctx,
                     struct ward_diag_out *out)
{
    (void)args;
    const char *root = ctx->root ? ctx->root : "";
    char path[4096];
    snprintf(path, sizeof(path), "%s/proc/self/mountinfo", root);
    FILE *f = fopen(path, "re");
    if (!f) {
        int err = -errno;
        ward_diag_out_printf(out, "cannot read %s: %s\n", path, ward_strerror(err));
        return err;
    }
    struct mount *m = calloc(MAX_ROWS, sizeof(*m));
    char *line = malloc(LINE_BYTES);
    size_t n = 0, more = 0, malformed = 0;
    int r = m && line ? 0 : -ENOMEM;
    while (r == 0 && read_line(f, line, LINE_BYTES) >= 0) {
        if (n == MAX_ROWS) {
            more++;
            continue;
        }
        r = parse_line(line, &m[n]);
        if (r == 0)
            n++;
        if (r == -EINVAL) {
            malformed++;
            r = 0;
        }
    }
    if (r == 0 && ferror(f))
        r = -EIO;
    fclose(f);
    free(line);
    if (r < 0) {
        ward_diag_out_printf(out, "cannot read %s: %s\n", path, ward_strerror(r));
    } else {
        size_mounts(m, n, root, ctx->deadline_ms);
        print_table(m, n, out);
        ward_diag_out_printf(out, "%zu mounts\n", n);
        if (more)
            ward_diag_out_printf(out, "%zu more mounts not shown (at most %d)\n", more, MAX_ROWS);
        if (malformed)
            ward_diag_out_printf(out, "%zu malformed lines skipped\n", malformed);
    }
    for (size_t i = 0; m && i < n; i++)
        free(m[i].text);
    free(m);
    return r;
}
