/*
 * Processes from /proc/PID/stat: how many there are in each scheduler state,
 * how many threads they run, and the few that use the most CPU and memory.
 *
 * One scan walks the numeric directories of /proc (at most MAX_PROCS) and
 * reads each one's stat, a single line of a few hundred bytes, into a buffer
 * on the stack. On a real procfs the stat file of a process stays open from
 * one scan to the next and is read again from offset 0, which regenerates it:
 * opening it again would cost a path walk and a pid lookup, most of the
 * collector's time. An open stat file follows its process, not its pid: once
 * the process is gone a read fails, the file is closed, and the pid is opened
 * afresh (it may name a new process by now). At most half the descriptors
 * RLIMIT_NOFILE allows (and MAX_KEPT_FDS) stay open; beyond that a process's
 * stat is opened and closed per scan. Each kept file costs the kernel about a
 * page. Recorded trees (not procfs) are opened per scan, as a file there does
 * not end with its process. The /proc directory itself stays open and is
 * rewound. Nothing else is read per process: cmdline and environ are never
 * touched (reading them takes the target's mm lock and can hang on a stuck
 * process, and they may hold secrets), and status is read only for the
 * handful of processes that make it into a top list, to name their real user;
 * that uid is remembered with the process for UID_TTL_MS. RSS comes from
 * stat's rss field times the page size, read from the same mm counters as
 * status's VmRSS, so choosing the largest processes costs no extra read.
 * Recent kernels sum those per-CPU counters exactly for status only, so stat
 * can lag VmRSS by some pages per CPU (about 200 KiB seen on a 2-CPU 6.18
 * kernel): nothing that changes a ranking.
 *
 * A process is known by pid and start time (in ticks since boot), so a pid
 * reused between two scans is not mistaken for the old process. The CPU share
 * is the delta of utime + stime between two scans over the wall-clock time
 * between them (ctx->now_ms), where 100 means one core busy; threads add up,
 * so a process can exceed 100. The ticks of the previous scan live in an
 * open-addressing hash table; two tables alternate, so the table for the next
 * scan holds only the processes alive now and a vanished process simply drops
 * out (its kept stat file is closed). Their size follows the number of
 * processes (never more than twice MAX_PROCS slots) and stops allocating once
 * it has grown.
 *
 * The first scan only sets the baseline. A process that started after the
 * previous scan (its start time is later than any start time that scan saw)
 * counts from its start, so a short busy job shows up at once; a process that
 * is missing from the previous table but is older than that (the scan missed
 * it) only sets its baseline. A tick count that goes backwards, or a delta
 * that would mean more than MAX_CPUS busy cores, is dropped as corrupt. Scans
 * closer together than MIN_ELAPSED_MS keep the older baseline, since tick
 * granularity makes short intervals noisy: such a scan carries each process's
 * older ticks forward instead of its own. A clock that went backwards starts
 * a new baseline.
 *
 * The top lists are chosen with a fixed-size min-heap per list (O(n log N)
 * over all processes, no sort of the whole set), hold only processes with a
 * non-zero value, and break ties by the lower pid, so equal readings give the
 * same list every time. Labels are pid, name (comm: between the first '(' and
 * the last ')' of stat, since comm may itself hold parentheses and spaces)
 * and user, the name of the real uid from status, looked up in
 * root/etc/passwd by a small cache that is dropped when the file changes;
 * users only known to NSS (LDAP, sssd) show as their number. When status
 * cannot be read the owner of /proc/PID stands in (the effective uid).
 */
#include "agent/collector.h"

#include "common/cleanup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#define MAX_PROCS        65536               /* pid directories examined per scan */
#define MAX_TOP_N        100                 /* longest top list, whatever the setting */
#define MAX_CPUS         4096                /* a CPU delta above this many busy cores is corrupt */
#define MAX_THREADS      (UINT64_C(1) << 30) /* the kernel's tid space */
#define MIN_ELAPSED_MS   1000                /* shorter scan intervals keep the older baseline */
#define MIN_TABLE_SLOTS  1024                /* initial slots of a tick table (a power of two) */
#define MAX_KEPT_FDS     4096                /* stat files kept open between scans */
#define UID_TTL_MS       60000               /* how long a process's uid is trusted */
#define NAME_MAX_LEN     64    /* bytes of a name label; kernel worker names reach 64 */
#define USER_MAX_LEN     32    /* bytes of a user label, as useradd allows */
#define STAT_BUF         1024  /* stat's fields up to rss fit well within this */
#define STATUS_BUF       2048  /* status's Uid: line comes within its first lines */
#define MAX_CACHED_USERS 256   /* uid -> name entries before the cache starts over */
#define PASSWD_LINE_MAX  1024  /* longer passwd lines are skipped */
#define PASSWD_MAX_LINES 65536 /* lines of passwd read per lookup */

enum {
    ST_RUNNING,
    ST_SLEEPING,
    ST_DISK_SLEEP,
    ST_ZOMBIE,
    ST_STOPPED,
    ST_TRACING_STOP,
    ST_IDLE,
    ST_DEAD,
    ST_PARKED,
    ST_PAGING,
    ST_OTHER,
    N_STATES
};

static const char *const state_names[N_STATES] = {
    "running", "sleeping", "disk_sleep", "zombie", "stopped", "tracing_stop",
    "idle",    "dead",     "parked",     "paging", "other",
};

static const struct ward_metric count_m = {
    "processes", "state", WARD_SAMPLE_GAUGE,
    "Processes in each scheduler state (letters unknown to ward count as other)."};
static const struct ward_metric pids_m = {"processes", "pids", WARD_SAMPLE_GAUGE,
                                          "Processes (thread groups) on the host."};
static const struct ward_metric threads_m = {"processes", "threads", WARD_SAMPLE_GAUGE,
                                             "Threads of all processes."};
static const struct ward_metric top_cpu_m = {
    "processes", "top_cpu_percent", WARD_SAMPLE_GAUGE,
    "CPU use of the busiest processes since the previous scan; 100 is one core."};
static const struct ward_metric top_rss_m = {"processes", "top_rss_bytes", WARD_SAMPLE_GAUGE,
                                             "Resident memory of the largest processes."};

/* What one stat line says; comm points into the line. */
struct pstat {
    const char *comm;
    size_t comm_len;
    char state;
    uint64_t ticks; /* utime + stime */
    uint64_t threads;
    uint64_t start; /* ticks after boot */
    uint64_t rss_pages;
};

/* A process at a scan; pid 0 marks a free slot. */
struct slot {
    uint64_t start;
    uint64_t ticks; /* the baseline for its next CPU share */
    int64_t uid_ms; /* when uid was read */
    int32_t pid;
    int fd; /* its stat file, kept open; -1 when none */
    uint32_t uid;
    bool has_ticks; /* false: no baseline yet */
    bool has_uid;
};

struct table {
    struct slot *slots;
    size_t cap; /* a power of two */
    size_t n;
};

struct top_entry {
    double value;
    int32_t pid;
    char name[NAME_MAX_LEN + 1];
};

/* A min-heap: e[0] is the entry that leaves first. */
struct heap {
    struct top_entry e[MAX_TOP_N];
    size_t n;
};

struct user_entry {
    uint32_t uid;
    char name[USER_MAX_LEN + 1];
};

/* Identifies one version of passwd, so the cache knows when to start over. */
struct file_id {
    bool present;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
};

struct state {
    double hz;
    uint64_t page_size;
    DIR *proc;        /* root/proc, rewound for every scan */
    char *proc_path;  /* what proc is */
    bool procfs;      /* proc is a real procfs: stat files may stay open */
    size_t fd_budget; /* stat files that may stay open */
    size_t n_fds;     /* stat files open in the tables */
    struct table tables[2];
    int prev; /* index of the previous scan's table */
    bool have_prev;
    int64_t prev_ms;
    uint64_t prev_max_start;
    struct heap cpu, rss;
    struct user_entry users[MAX_CACHED_USERS];
    size_t n_users;
    struct file_id passwd_id;
};

static int state_index(char c)
{
    switch (c) {
    case 'R':
        return ST_RUNNING;
    case 'S':
        return ST_SLEEPING;
    case 'D':
        return ST_DISK_SLEEP;
    case 'Z':
        return ST_ZOMBIE;
    case 'T':
        return ST_STOPPED;
    case 't':
        return ST_TRACING_STOP;
    case 'I':
        return ST_IDLE;
    case 'X':
    case 'x':
        return ST_DEAD;
    case 'P':
        return ST_PARKED;
    case 'W':
        return ST_PAGING;
    default:
        return ST_OTHER;
    }
}

/* Parses a whole token of decimal digits, saturating at UINT64_MAX. */
static bool parse_u64(const char *s, const char *end, uint64_t *out)
{
    if (s == end)
        return false;
    uint64_t v = 0;
    for (; s < end; s++) {
        if (*s < '0' || *s > '9')
            return false;
        unsigned d = (unsigned)(*s - '0');
        v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
    }
    *out = v;
    return true;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/*
 * Parses a stat line (proc(5): "pid (comm) state ppid ..."). Fields are
 * numbered from 1 as in proc(5); comm is field 2 and state field 3. Returns
 * 0, or -EINVAL when a field up to rss (24) is missing or not a number.
 */
static int parse_stat(const char *line, struct pstat *out)
{
    const char *open = strchr(line, '(');
    const char *close = strrchr(line, ')');
    if (!open || !close || close < open || close[1] != ' ' || !close[2])
        return -EINVAL;
    struct pstat ps = {.comm = open + 1, .comm_len = (size_t)(close - open - 1)};
    ps.state = close[2];
    uint64_t utime = 0, stime = 0;
    const char *p = close + 3;
    int field = 3;
    while (field < 24) {
        if (*p != ' ')
            return -EINVAL;
        while (*p == ' ')
            p++;
        const char *end = p + strcspn(p, " \n");
        field++;
        uint64_t *dst = field == 14   ? &utime
                        : field == 15 ? &stime
                        : field == 20 ? &ps.threads
                        : field == 22 ? &ps.start
                        : field == 24 ? &ps.rss_pages
                                      : NULL;
        if (end == p || (dst && !parse_u64(p, end, dst)))
            return -EINVAL;
        p = end;
    }
    if (ps.threads > MAX_THREADS)
        return -EINVAL;
    ps.ticks = add_sat(utime, stime);
    *out = ps;
    return 0;
}

/* Returns the pid a /proc entry names, or 0 when it is not a process directory. */
static int32_t entry_pid(const struct dirent *de)
{
    if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
        return 0;
    uint64_t v;
    const char *name = de->d_name;
    if (name[0] == '0' || !parse_u64(name, name + strlen(name), &v) || v > INT32_MAX)
        return 0;
    return (int32_t)v;
}

static size_t slot_of(const struct table *t, int32_t pid)
{
    return ((uint32_t)pid * UINT32_C(2654435761)) & (t->cap - 1);
}

static struct slot *table_find(const struct table *t, int32_t pid)
{
    if (t->n == 0)
        return NULL;
    for (size_t i = slot_of(t, pid);; i = (i + 1) & (t->cap - 1)) {
        struct slot *s = &t->slots[i];
        if (s->pid == 0)
            return NULL;
        if (s->pid == pid)
            return s;
    }
}

static void table_insert(struct table *t, const struct slot *s)
{
    size_t i = slot_of(t, s->pid);
    while (t->slots[i].pid != 0 && t->slots[i].pid != s->pid)
        i = (i + 1) & (t->cap - 1);
    if (t->slots[i].pid == 0)
        t->n++;
    t->slots[i] = *s;
}

/* Records a process; keeps the load at most one half, growing when it can. */
static int table_put(struct table *t, const struct slot *s)
{
    if ((t->n + 1) * 2 > t->cap) {
        struct table bigger = {.cap = t->cap * 2};
        bigger.slots = calloc(bigger.cap, sizeof(*bigger.slots));
        if (!bigger.slots)
            return -ENOMEM;
        for (size_t i = 0; i < t->cap; i++)
            if (t->slots[i].pid != 0)
                table_insert(&bigger, &t->slots[i]);
        free(t->slots);
        *t = bigger;
    }
    table_insert(t, s);
    return 0;
}

/* Closes the stat files kept in a table. */
static void table_close_files(struct state *st, struct table *t)
{
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i].pid != 0 && t->slots[i].fd >= 0) {
            close(t->slots[i].fd);
            t->slots[i].fd = -1;
            st->n_fds--;
        }
}

/* Empties a table, closing the stat files still kept in it. */
static void table_clear(struct state *st, struct table *t)
{
    table_close_files(st, t);
    memset(t->slots, 0, t->cap * sizeof(*t->slots));
    t->n = 0;
}

/* True when a ranks above b: a larger value, or the same value and a lower pid. */
static bool ranks_above(const struct top_entry *a, const struct top_entry *b)
{
    return a->value > b->value || (a->value == b->value && a->pid < b->pid);
}

static void heap_swap(struct heap *h, size_t a, size_t b)
{
    struct top_entry t = h->e[a];
    h->e[a] = h->e[b];
    h->e[b] = t;
}

/* The root holds the lowest-ranked entry: no parent ranks above its children. */
static void sift_up(struct heap *h, size_t i)
{
    while (i > 0 && ranks_above(&h->e[(i - 1) / 2], &h->e[i])) {
        heap_swap(h, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static void sift_down(struct heap *h, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && ranks_above(&h->e[m], &h->e[l]))
            m = l;
        if (r < h->n && ranks_above(&h->e[m], &h->e[r]))
            m = r;
        if (m == i)
            return;
        heap_swap(h, i, m);
        i = m;
    }
}

/* Offers a process to a list of at most n entries; the name is copied only on entry. */
static void heap_offer(struct heap *h, size_t n, double v, int32_t pid, const struct pstat *ps)
{
    struct top_entry cand = {.value = v, .pid = pid};
    size_t i;
    if (h->n < n)
        i = h->n++;
    else if (n > 0 && ranks_above(&cand, &h->e[0]))
        i = 0;
    else
        return;
    h->e[i] = cand;
    ward_label_copy(h->e[i].name, sizeof(h->e[i].name), ps->comm, ps->comm_len);
    if (i == 0)
        sift_down(h, 0);
    else
        sift_up(h, i);
}

static int rank_cmp(const void *a, const void *b)
{
    return ranks_above(a, b) ? -1 : ranks_above(b, a) ? 1 : 0;
}

static struct file_id passwd_identity(const struct ward_collect_ctx *ctx)
{
    char path[4096];
    struct stat sb;
    if (ward_collect_path(ctx, "/etc/passwd", path, sizeof(path)) < 0 || stat(path, &sb) < 0)
        return (struct file_id){.present = false};
    return (struct file_id){true, sb.st_dev, sb.st_ino, sb.st_size, sb.st_mtim};
}

static bool same_file(const struct file_id *a, const struct file_id *b)
{
    if (a->present != b->present)
        return false;
    return !a->present ||
           (a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
            a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec);
}

/* Finds the first passwd entry of uid ("name:password:uid:..."); false when none. */
static bool passwd_find(const struct ward_collect_ctx *ctx, uint32_t uid, char *out, size_t size)
{
    _cleanup_fclose_ FILE *f = ward_collect_open(ctx, "/etc/passwd");
    if (!f)
        return false;
    char line[PASSWD_LINE_MAX];
    bool in_long_line = false;
    for (int n = 0; n < PASSWD_MAX_LINES && fgets(line, sizeof(line), f);) {
        size_t len = strlen(line);
        bool whole = len > 0 && line[len - 1] == '\n';
        if (in_long_line) {
            in_long_line = !whole;
            continue;
        }
        n++;
        if (!whole && !feof(f)) {
            in_long_line = true;
            continue;
        }
        /* NIS compat lines (+name, -name) name nobody. */
        if (line[0] == '+' || line[0] == '-')
            continue;
        char *c1 = strchr(line, ':');
        char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        char *c3 = c2 ? strchr(c2 + 1, ':') : NULL;
        uint64_t v;
        if (!c3 || c1 == line || !parse_u64(c2 + 1, c3, &v) || v != uid)
            continue;
        ward_label_copy(out, size, line, (size_t)(c1 - line));
        return true;
    }
    return false;
}

/* Returns the user name of uid, or its number; valid until the next call. */
static const char *user_name(struct state *st, const struct ward_collect_ctx *ctx, uint32_t uid)
{
    for (size_t i = 0; i < st->n_users; i++)
        if (st->users[i].uid == uid)
            return st->users[i].name;
    if (st->n_users == MAX_CACHED_USERS)
        st->n_users = 0;
    struct user_entry *e = &st->users[st->n_users++];
    e->uid = uid;
    if (!passwd_find(ctx, uid, e->name, sizeof(e->name)))
        snprintf(e->name, sizeof(e->name), "%" PRIu32, uid);
    return e->name;
}

/* The real uid from status, else the owner of /proc/PID. False when the process is gone. */
static bool process_uid(const struct ward_collect_ctx *ctx, int32_t pid, uint32_t *uid)
{
    char rel[48], buf[STATUS_BUF];
    snprintf(rel, sizeof(rel), "/proc/%" PRId32 "/status", pid);
    if (ward_collect_read(ctx, rel, buf, sizeof(buf)) >= 0) {
        const char *u = strstr(buf, "\nUid:");
        uint64_t v;
        if (u && ward_parse_u64_fields(u + 5, &v, 1) == 1 && v <= UINT32_MAX) {
            *uid = (uint32_t)v;
            return true;
        }
    }
    char full[4096];
    struct stat sb;
    snprintf(rel, sizeof(rel), "/proc/%" PRId32, pid);
    if (ward_collect_path(ctx, rel, full, sizeof(full)) < 0 || stat(full, &sb) < 0)
        return false;
    *uid = (uint32_t)sb.st_uid;
    return true;
}

/* The uid of a process of this scan, remembered in its slot for UID_TTL_MS. */
static bool cached_uid(struct state *st, const struct ward_collect_ctx *ctx, int32_t pid,
                       uint32_t *uid)
{
    struct slot *s = table_find(&st->tables[st->prev], pid);
    int64_t age = s && s->has_uid ? ctx->now_ms - s->uid_ms : -1;
    if (age >= 0 && age < UID_TTL_MS) {
        *uid = s->uid;
        return true;
    }
    if (!process_uid(ctx, pid, uid))
        return false;
    if (s) {
        s->uid = *uid;
        s->uid_ms = ctx->now_ms;
        s->has_uid = true;
    }
    return true;
}

static void emit_top(struct state *st, const struct ward_collect_ctx *ctx, struct heap *h,
                     const struct ward_metric *m)
{
    qsort(h->e, h->n, sizeof(h->e[0]), rank_cmp);
    for (size_t i = 0; i < h->n; i++) {
        uint32_t uid;
        if (!cached_uid(st, ctx, h->e[i].pid, &uid))
            continue;
        char pid[16];
        snprintf(pid, sizeof(pid), "%" PRId32, h->e[i].pid);
        struct ward_label l[3] = {
            {"pid", pid}, {"name", h->e[i].name}, {"user", user_name(st, ctx, uid)}};
        ward_emit(ctx, m, h->e[i].value, l, 3);
    }
}

/*
 * The CPU share of a process since the previous scan, elapsed_ms ago. False
 * when there is no baseline for it or the ticks make no sense.
 */
static bool cpu_share(const struct state *st, const struct slot *old, const struct pstat *ps,
                      int64_t elapsed_ms, double *out)
{
    uint64_t was = 0;
    if (old && old->start == ps->start) {
        if (!old->has_ticks)
            return false;
        was = old->ticks;
    } else if (ps->start <= st->prev_max_start) {
        return false; /* alive at the previous scan, but that scan missed it */
    }
    if (ps->ticks < was)
        return false;
    double pct = (double)(ps->ticks - was) / st->hz * 1000.0 / (double)elapsed_ms * 100.0;
    if (pct > 100.0 * MAX_CPUS)
        return false;
    *out = pct;
    return true;
}

/* Opens root/proc, or rewinds it when it is open already. NULL with errno set. */
static DIR *proc_dir(struct state *st, const struct ward_collect_ctx *ctx)
{
    char path[4096];
    int r = ward_collect_path(ctx, "/proc", path, sizeof(path));
    if (r < 0) {
        errno = -r;
        return NULL;
    }
    if (st->proc && strcmp(st->proc_path, path) == 0) {
        rewinddir(st->proc);
        return st->proc;
    }
    /* Another root (tests): the files kept belong to the old one. */
    table_close_files(st, &st->tables[st->prev]);
    if (st->proc)
        closedir(st->proc);
    free(st->proc_path);
    st->proc_path = NULL;
    st->proc = opendir(path);
    if (!st->proc)
        return NULL;
    st->proc_path = strdup(path);
    if (!st->proc_path) {
        closedir(st->proc);
        st->proc = NULL;
        errno = ENOMEM;
        return NULL;
    }
    struct statfs sf;
    st->procfs = fstatfs(dirfd(st->proc), &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC;
    return st->proc;
}

/*
 * Reads the stat line of pid into line (size bytes), NUL-terminated, through
 * *fd: the file kept from the previous scan, or -1. On return *fd is the
 * open file, or -1. Returns false when the process is gone or unreadable.
 */
static bool read_stat(int dir_fd, int32_t pid, int *fd, char *line, size_t size)
{
    ssize_t n = -1;
    if (*fd >= 0) {
        n = pread(*fd, line, size - 1, 0);
        if (n <= 0) { /* its process ended */
            close(*fd);
            *fd = -1;
        }
    }
    if (*fd < 0) {
        char rel[32];
        snprintf(rel, sizeof(rel), "%" PRId32 "/stat", pid);
        *fd = openat(dir_fd, rel, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (*fd < 0)
            return false;
        n = read(*fd, line, size - 1);
    }
    if (n <= 0) {
        close(*fd);
        *fd = -1;
        return false;
    }
    line[n] = '\0';
    return true;
}

static int pid_collect(void *state, const struct ward_collect_ctx *ctx)
{
    struct state *st = state;
    DIR *dir = proc_dir(st, ctx);
    if (!dir)
        return -errno;

    int64_t elapsed = ctx->now_ms - st->prev_ms;
    bool rates = st->have_prev && elapsed >= MIN_ELAPSED_MS;
    bool keep_baseline = st->have_prev && elapsed >= 0 && elapsed < MIN_ELAPSED_MS;
    int64_t top_n = ctx->settings ? ctx->settings->top_n : WARD_TOP_N_DEFAULT;
    size_t n_top = top_n <= 0 ? 0 : top_n > MAX_TOP_N ? MAX_TOP_N : (size_t)top_n;
    struct table *prev = &st->tables[st->prev], *cur = &st->tables[!st->prev];
    st->cpu.n = st->rss.n = 0;

    uint64_t counts[N_STATES] = {0}, threads = 0, procs = 0, max_start = 0;
    size_t seen = 0;
    struct dirent *de;
    while (seen < MAX_PROCS && (de = readdir(dir))) {
        int32_t pid = entry_pid(de);
        if (pid == 0)
            continue;
        seen++;
        struct slot *old = table_find(prev, pid);
        struct slot now = {.pid = pid, .fd = -1};
        if (old && old->fd >= 0) {
            now.fd = old->fd;
            old->fd = -1;
            st->n_fds--;
        }
        char line[STAT_BUF];
        struct pstat ps;
        /* A process that exited since readdir, or a broken line, is skipped. */
        if (!read_stat(dirfd(dir), pid, &now.fd, line, sizeof(line)))
            continue;
        if (parse_stat(line, &ps) < 0) {
            close(now.fd);
            continue;
        }
        procs++;
        counts[state_index(ps.state)]++;
        threads += ps.threads; /* at most MAX_PROCS * MAX_THREADS: no overflow */
        if (ps.start > max_start)
            max_start = ps.start;
        double pct;
        if (rates && cpu_share(st, old, &ps, elapsed, &pct) && pct > 0)
            heap_offer(&st->cpu, n_top, pct, pid, &ps);
        if (ps.rss_pages > 0 && ps.rss_pages <= UINT64_MAX / st->page_size)
            heap_offer(&st->rss, n_top, (double)(ps.rss_pages * st->page_size), pid, &ps);

        bool same = old && old->start == ps.start;
        now.start = ps.start;
        now.ticks = ps.ticks;
        now.has_ticks = true;
        if (keep_baseline && same) {
            now.ticks = old->ticks;
            now.has_ticks = old->has_ticks;
        } else if (keep_baseline) {
            /* New since the kept baseline: it counts from its start. Else it was missed. */
            now.ticks = 0;
            now.has_ticks = ps.start > st->prev_max_start;
        }
        if (same) {
            now.uid = old->uid;
            now.uid_ms = old->uid_ms;
            now.has_uid = old->has_uid;
        }
        if (now.fd >= 0 && (!st->procfs || st->n_fds >= st->fd_budget)) {
            close(now.fd);
            now.fd = -1;
        }
        /* Without memory to grow, the process only misses its next CPU share. */
        if (table_put(cur, &now) < 0) {
            if (now.fd >= 0)
                close(now.fd);
        } else if (now.fd >= 0) {
            st->n_fds++;
        }
    }
    /* What is left of the previous scan has ended. */
    table_clear(st, prev);
    st->prev = !st->prev;
    if (!keep_baseline) {
        st->have_prev = true;
        st->prev_ms = ctx->now_ms;
        st->prev_max_start = max_start;
    }
    if (procs == 0)
        return -ENODATA;

    for (int i = 0; i < N_STATES; i++)
        ward_emit1(ctx, &count_m, (double)counts[i], "state", state_names[i]);
    ward_emit0(ctx, &pids_m, (double)procs);
    ward_emit0(ctx, &threads_m, (double)threads);
    if (st->cpu.n > 0 || st->rss.n > 0) {
        struct file_id id = passwd_identity(ctx);
        if (!same_file(&id, &st->passwd_id)) {
            st->n_users = 0;
            st->passwd_id = id;
        }
    }
    emit_top(st, ctx, &st->cpu, &top_cpu_m);
    emit_top(st, ctx, &st->rss, &top_rss_m);
    return 0;
}

static void pid_done(void *state)
{
    struct state *st = state;
    if (!st)
        return;
    for (int i = 0; i < 2; i++)
        if (st->tables[i].slots) {
            table_clear(st, &st->tables[i]);
            free(st->tables[i].slots);
        }
    if (st->proc)
        closedir(st->proc);
    free(st->proc_path);
    free(st);
}

static int pid_init(void **state)
{
    struct state *st = calloc(1, sizeof(*st));
    if (!st)
        return -ENOMEM;
    long hz = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    st->hz = hz > 0 ? (double)hz : 100.0;
    st->page_size = page > 0 ? (uint64_t)page : 4096;
    struct rlimit rl;
    rlim_t half = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? rl.rlim_cur / 2 : 0;
    st->fd_budget = half < MAX_KEPT_FDS ? (size_t)half : MAX_KEPT_FDS;
    for (int i = 0; i < 2; i++) {
        st->tables[i].cap = MIN_TABLE_SLOTS;
        st->tables[i].slots = calloc(MIN_TABLE_SLOTS, sizeof(struct slot));
        if (!st->tables[i].slots) {
            pid_done(st);
            return -ENOMEM;
        }
    }
    *state = st;
    return 0;
}

const struct ward_collector ward_collector_proc_pid = {
    .size = sizeof(struct ward_collector),
    .name = "processes",
    .default_interval_ms = 15000,
    .init = pid_init,
    .collect = pid_collect,
    .done = pid_done,
};
