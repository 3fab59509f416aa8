/*
 * What the diagnostics share (diagnostics.h): their table, their capped output, how
 * they show text and sizes, and statvfs(3) with a bound.
 *
 * The bounded statvfs. The calls of one run are a job that the caller and
 * its worker thread share. The job records which call its live worker is
 * running, so that the call is timed out whatever happened to the queue
 * behind it, and it is reference-counted, so a blocked worker can return
 * long after the caller and still find its memory.
 */
#include "agent/diagnostics/diagnostics.h"

#include "common/json.h"
#include "common/time-util.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const ward_diag_fn functions[WARD_DIAG_N] = {
    [WARD_DIAG_LOGS] = ward_diag_logs,
    [WARD_DIAG_DISK_USAGE] = ward_diag_disk_usage,
    [WARD_DIAG_MOUNTS] = ward_diag_mounts,
    [WARD_DIAG_PING] = ward_diag_ping,
    [WARD_DIAG_CONNECT] = ward_diag_connect,
    [WARD_DIAG_NETSTAT] = ward_diag_netstat,
    [WARD_DIAG_TRACEROUTE] = ward_diag_traceroute,
};

ward_diag_fn ward_diag_function(enum ward_diag_type type)
{
    return (unsigned)type < WARD_DIAG_N ? functions[type] : NULL;
}

void ward_diag_out_init(struct ward_diag_out *o, size_t max)
{
    ward_buf_init(&o->text, 0);
    o->max = max;
    o->truncated = false;
}

void ward_diag_out_done(struct ward_diag_out *o)
{
    ward_buf_done(&o->text);
}

bool ward_diag_out_full(const struct ward_diag_out *o)
{
    return o->truncated || o->text.len >= o->max;
}

void ward_diag_out_append(struct ward_diag_out *o, const char *s, size_t n)
{
    size_t room = o->text.len < o->max ? o->max - o->text.len : 0;
    if (n > room) {
        n = room;
        o->truncated = true;
    }
    if (n > 0 && ward_buf_append(&o->text, s, n) < 0)
        o->truncated = true;
}

void ward_diag_out_printf(struct ward_diag_out *o, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof(line)) {
        ward_diag_out_append(o, line, (size_t)n);
        return;
    }
    struct ward_buf big = WARD_BUF_INIT;
    va_start(ap, fmt);
    int r = ward_buf_vprintf(&big, fmt, ap);
    va_end(ap);
    if (r == 0)
        ward_diag_out_append(o, big.data, big.len);
    else
        o->truncated = true;
    ward_buf_done(&big);
}

void ward_diag_escape(struct ward_buf *b, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        int k = c >= 0x80 ? ward_json_utf8_sequence(p + i, n - i) : 1;
        bool c1 = c == 0xc2 && k == 2 && p[i + 1] < 0xa0; /* U+0080 to U+009F */
        if (k > 0 && c >= 0x20 && c != 0x7f && c != '\\' && !c1) {
            ward_buf_append(b, p + i, (size_t)k);
            i += (size_t)k;
        } else {
            ward_buf_printf(b, "\\x%02x", c);
            i++;
        }
    }
}

void ward_diag_human_bytes(double bytes, char *buf, size_t size)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    size_t u = 0;
    while (bytes >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
        bytes /= 1024;
        u++;
    }
    snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
}

void ward_diag_out_append_lines(struct ward_diag_out *o, const char *text, size_t len)
{
    struct ward_buf line = WARD_BUF_INIT;
    for (size_t pos = 0; pos < len && !ward_diag_out_full(o);) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - text - pos) : len - pos;
        ward_buf_reset(&line);
        ward_diag_escape(&line, text + pos, n);
        if (ward_buf_putc(&line, '\n') < 0) {
            o->truncated = true;
            break;
        }
        ward_diag_out_append(o, line.data, line.len);
        pos += n + 1;
    }
    ward_buf_done(&line);
}

/*
 * Decodes the kernel's octal escapes of a mountinfo field ("\040" for a
 * space) in place. Returns false for "\000", which no path may hold.
 */
static bool unescape_mountinfo(char *s)
{
    char *out = s;
    while (*s) {
        if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
            s[3] >= '0' && s[3] <= '7') {
            *out = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
            if (*out++ == '\0')
                return false;
            s += 4;
        } else {
            *out++ = *s++;
        }
    }
    *out = '\0';
    return true;
}

/* ---- statvfs with a bound ---- */

enum call_state {
    PENDING,
    RUNNING,
    DONE,
    TIMED_OUT,
    NOT_RUN, /* the deadline came first, or no worker could start */
};

struct call {
    const char *path; /* in the job's own allocation */
    enum call_state state;
    int64_t started_ms;
    struct statvfs sv;
    int err; /* errno of the call; of NOT_RUN, why */
};

/* The calls of one run, shared by the caller and its workers. */
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

/* No call is running. */
#define NONE SIZE_MAX

static atomic_int stuck_workers;

/*
 * A seam for tests, which swap in one that blocks or is slow (the way
 * ward_disk_statvfs serves the collector).
 */
int (*ward_diag_statvfs)(const char *path, struct statvfs *out) = statvfs;

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
            int r = atomic_load(&stuck_workers) >= WARD_DIAG_STATVFS_MAX_STUCK ? -EAGAIN
                                                                               : start_worker(j);
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
            int64_t limit = c->started_ms + WARD_DIAG_STATVFS_TIMEOUT_MS;
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

void ward_diag_statvfs_bounded(const char *root, struct ward_diag_statvfs_call *calls, size_t n,
                               int64_t deadline_ms)
{
    if (n == 0)
        return;
    size_t text = 0;
    for (size_t i = 0; i < n; i++)
        text += strlen(root) + strlen(calls[i].path) + 1;
    struct job *j = calloc(1, sizeof(*j) + n * sizeof(struct call) + text);
    pthread_condattr_t ca;
    if (!j || pthread_condattr_init(&ca) != 0) {
        free(j);
        for (size_t i = 0; i < n; i++) {
            calls[i].state = WARD_DIAG_STATVFS_NOT_RUN;
            calls[i].err = ENOMEM;
        }
        return;
    }
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&j->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&j->lock, NULL);
    j->refs = 1;
    j->running = NONE;
    j->fn = ward_diag_statvfs;
    j->n = n;
    char *at = (char *)&j->calls[n];
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(root) + strlen(calls[i].path) + 1;
        j->calls[i].path = at;
        snprintf(at, len, "%s%s", root, calls[i].path);
        at += len;
    }
    pthread_mutex_lock(&j->lock);
    run_job(j, deadline_ms);
    for (size_t i = 0; i < n; i++) {
        const struct call *c = &j->calls[i];
        calls[i].state = c->state == DONE        ? WARD_DIAG_STATVFS_DONE
                         : c->state == TIMED_OUT ? WARD_DIAG_STATVFS_TIMED_OUT
                                                 : WARD_DIAG_STATVFS_NOT_RUN;
        calls[i].sv = c->sv;
        calls[i].err = c->err;
    }
    job_release(j);
}

/* Fields of a mountinfo line looked at, optional fields included. */
#define MOUNT_LINE_FIELDS 64

int ward_diag_mount_line(char *line, struct ward_diag_mount_line *out)
{
    char *f[MOUNT_LINE_FIELDS];
    size_t n = 0;
    for (char *p = line; n < MOUNT_LINE_FIELDS;) {
        p += strspn(p, " \t");
        if (!*p)
            break;
        f[n++] = p;
        p += strcspn(p, " \t");
        if (*p)
            *p++ = '\0';
    }
    if (n < 5)
        return -EINVAL;
    size_t sep = 6;
    while (sep < n && strcmp(f[sep], "-") != 0)
        sep++;
    *out = (struct ward_diag_mount_line){
        .mountpoint = f[4],
        .options = n > 5 ? f[5] : NULL,
        .fstype = sep + 1 < n ? f[sep + 1] : NULL,
        .device = sep + 2 < n ? f[sep + 2] : NULL,
    };
    char *fields[] = {out->mountpoint, out->options, out->fstype, out->device};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (fields[i] && !unescape_mountinfo(fields[i]))
            return -EINVAL;
    return 0;
}

ssize_t ward_diag_read_line(FILE *f, char *buf, size_t size, bool *cut)
{
    size_t n = 0;
    int ch;
    *cut = false;
    while ((ch = getc(f)) != EOF && ch != '\n') {
        if (n + 1 < size)
            buf[n++] = (char)ch;
        else
            *cut = true;
    }
    if (ch == EOF && n == 0 && !*cut)
        return -1;
    buf[n] = '\0';
    return (ssize_t)n;
}

bool ward_diag_stopping(const struct ward_diag_ctx *ctx)
{
    struct pollfd p = {.fd = ctx->stop_fd, .events = POLLIN};
    return ctx->stop_fd >= 0 && poll(&p, 1, 0) == 1;
}
