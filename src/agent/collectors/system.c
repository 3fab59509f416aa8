/*
 * A summary of the host: how long it has been up, when it booted, how many
 * processes and login sessions it has, and what it is.
 *
 * Each figure comes from its own file and stands alone, so a container
 * without utmp still reports its uptime:
 *
 * - uptime_seconds: the first field of /proc/uptime;
 * - boot_time_seconds: on the machine itself, CLOCK_REALTIME minus
 *   CLOCK_BOOTTIME in whole seconds, which is how the kernel computes
 *   /proc/stat's btime, without generating that file (its intr line runs to
 *   many kilobytes). Under a host root, the btime line of its /proc/stat,
 *   read in fixed chunks (only a chunk that starts a line can be the btime
 *   line);
 * - processes: the numeric directories of /proc, counted without opening
 *   them. The "running/total" field of /proc/loadavg is no substitute: its
 *   total counts threads. The processes collector reports the same count
 *   every few seconds with states; this one is for the summary card;
 * - users: login sessions, the USER_PROCESS records of utmp, read as an
 *   array of struct utmp with a size check (a trailing partial record is a
 *   login being written and is ignored). glibc's getutxent() is avoided: it
 *   keeps global state, is not thread-safe and cannot take the host root.
 *   A stale record left by a crashed login counts, as who(1) counts it;
 *   systems that dropped utmp report no users metric;
 * - info{os,kernel,hostname} = 1: PRETTY_NAME of os-release (etc, then
 *   usr/lib), unquoted as the shell would, and the kernel's osrelease and
 *   hostname from /proc/sys/kernel. A value that cannot be read is
 *   "unknown"; os-release without PRETTY_NAME means "Linux", as
 *   os-release(5) says. Note that /proc/sys/kernel/hostname answers for the
 *   reader's UTS namespace: an agent in a container sees its own name
 *   unless it shares the host's.
 *
 * Under a host root, an absolute symlink (etc/os-release ->
 * /usr/lib/os-release) would lead out of the root, so the last component of
 * those paths is resolved here, inside the root. utmp is looked for in
 * /run first, and in /var/run only when that is a real directory, since
 * /var/run is usually an absolute link to /run.
 */
#include "agent/collector.h"

#include "common/cleanup.h"
#include "common/parse.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <utmp.h>

#define MAX_PROCS        65536 /* pid directories counted */
#define MAX_UTMP_RECORDS 65536 /* records read from utmp */
#define UTMP_CHUNK       16    /* records per read */
#define MAX_STAT_CHUNKS  65536 /* 4 KiB chunks read from /proc/stat */
#define MAX_LINK_HOPS    8     /* symlinks followed inside the root */
#define OS_RELEASE_MAX   4096  /* bytes of os-release read */
#define OS_LABEL_MAX     128   /* bytes of the os label */
#define SHORT_LABEL_MAX  64    /* bytes of the kernel and hostname labels */

static const struct ward_metric uptime_m = {"system", "uptime_seconds", WARD_SAMPLE_GAUGE,
                                            "Seconds since the kernel booted."};
static const struct ward_metric boot_m = {"system", "boot_time_seconds", WARD_SAMPLE_GAUGE,
                                          "When the host booted, in seconds since the epoch."};
static const struct ward_metric procs_m = {"system", "processes", WARD_SAMPLE_GAUGE,
                                           "Processes on the host."};
static const struct ward_metric users_m = {"system", "users", WARD_SAMPLE_GAUGE,
                                           "Login sessions (utmp USER_PROCESS records)."};
static const struct ward_metric info_m = {"system", "info", WARD_SAMPLE_GAUGE,
                                          "Always 1; the labels name the OS, kernel and host."};

/* Keeps the first error, so a collector that emitted nothing says why. */
static void note_error(int *first, int r)
{
    if (r < 0 && *first == 0)
        *first = r;
}

/* Emits /proc/uptime's first field. Returns 1 when emitted, or a negative errno. */
static int collect_uptime(const struct ward_collect_ctx *ctx)
{
    char buf[128];
    int r = ward_collect_read(ctx, "/proc/uptime", buf, sizeof(buf));
    if (r < 0)
        return r;
    buf[strcspn(buf, " \t\n")] = '\0';
    double v;
    if (ward_parse_double(buf, &v) < 0 || v < 0)
        return -EINVAL;
    ward_emit0(ctx, &uptime_m, v);
    return 1;
}

/* Emits the boot time. Returns 1 when emitted, or a negative errno. */
static int collect_boot_time(const struct ward_collect_ctx *ctx)
{
    if (ward_collect_live(ctx)) {
        struct timespec boot, real;
        if (clock_gettime(CLOCK_BOOTTIME, &boot) < 0 || clock_gettime(CLOCK_REALTIME, &real) < 0)
            return -errno;
        int64_t ns =
            ((int64_t)real.tv_sec - boot.tv_sec) * 1000000000 + (real.tv_nsec - boot.tv_nsec);
        if (ns <= 0)
            return -EINVAL;
        ward_emit0(ctx, &boot_m, (double)(ns / 1000000000));
        return 1;
    }
    _cleanup_fclose_ FILE *f = ward_collect_open(ctx, "/proc/stat");
    if (!f)
        return -errno;
    char chunk[4096];
    bool line_start = true;
    for (int i = 0; i < MAX_STAT_CHUNKS && fgets(chunk, sizeof(chunk), f); i++) {
        size_t len = strlen(chunk);
        bool starts_line = line_start;
        line_start = len > 0 && chunk[len - 1] == '\n';
        if (!starts_line || strncmp(chunk, "btime ", 6) != 0)
            continue;
        chunk[strcspn(chunk, "\n")] = '\0';
        int64_t v;
        if (ward_parse_int64(chunk + 6, &v) < 0 || v <= 0)
            return -EINVAL;
        ward_emit0(ctx, &boot_m, (double)v);
        return 1;
    }
    return -ENODATA;
}

/* Emits the number of pid directories in /proc. Returns 1 when emitted, or a negative errno. */
static int collect_processes(const struct ward_collect_ctx *ctx)
{
    char path[PATH_MAX];
    int r = ward_collect_path(ctx, "/proc", path, sizeof(path));
    if (r < 0)
        return r;
    DIR *dir = opendir(path);
    if (!dir)
        return -errno;
    size_t n = 0;
    struct dirent *de;
    while (n < MAX_PROCS && (de = readdir(dir))) {
        const char *s = de->d_name;
        if ((de->d_type != DT_DIR && de->d_type != DT_UNKNOWN) || s[0] < '1' || s[0] > '9')
            continue;
        while (*s >= '0' && *s <= '9')
            s++;
        n += *s == '\0';
    }
    closedir(dir);
    if (n == 0)
        return -ENODATA; /* a /proc without processes is not a procfs */
    ward_emit0(ctx, &procs_m, (double)n);
    return 1;
}

/*
 * Points rel (a path under the root, starting with '/') at a link's target:
 * an absolute target starts again from the root, a relative one from the
 * link's directory, and ".." stops at the root. Returns 0 or -ENAMETOOLONG.
 */
static int follow(char *rel, size_t size, const char *target)
{
    char joined[PATH_MAX];
    int n;
    if (target[0] == '/')
        n = snprintf(joined, sizeof(joined), "%s", target);
    else
        n = snprintf(joined, sizeof(joined), "%.*s/%s", (int)(strrchr(rel, '/') - rel), rel,
                     target);
    if (n < 0 || (size_t)n >= sizeof(joined))
        return -ENAMETOOLONG;
    size_t o = 0;
    for (const char *p = joined; *p;) {
        size_t len = strcspn(p, "/");
        if (len == 2 && p[0] == '.' && p[1] == '.') {
            while (o > 0 && rel[--o] != '/')
                ;
        } else if (len > 0 && !(len == 1 && p[0] == '.')) {
            if (o + 1 + len >= size)
                return -ENAMETOOLONG;
            rel[o++] = '/';
            memcpy(rel + o, p, len);
            o += len;
        }
        p += len;
        p += *p == '/';
    }
    if (o == 0)
        rel[o++] = '/';
    rel[o] = '\0';
    return 0;
}

/*
 * Opens the regular file root + path, following symlinks of the last
 * component inside the root. Returns NULL with errno set.
 */
static FILE *open_in_root(const struct ward_collect_ctx *ctx, const char *path)
{
    char rel[PATH_MAX], full[PATH_MAX], target[PATH_MAX];
    if (snprintf(rel, sizeof(rel), "%s", path) >= (int)sizeof(rel)) {
        errno = ENAMETOOLONG;
        return NULL;
    }
    for (int hop = 0;; hop++) {
        int r = ward_collect_path(ctx, rel, full, sizeof(full));
        struct stat sb;
        if (r < 0) {
            errno = -r;
            return NULL;
        }
        if (lstat(full, &sb) < 0)
            return NULL;
        if (S_ISREG(sb.st_mode))
            return ward_collect_open(ctx, rel);
        if (!S_ISLNK(sb.st_mode)) {
            errno = S_ISDIR(sb.st_mode) ? EISDIR : EINVAL;
            return NULL;
        }
        if (hop == MAX_LINK_HOPS) {
            errno = ELOOP;
            return NULL;
        }
        ssize_t n = readlink(full, target, sizeof(target) - 1);
        if (n < 0)
            return NULL;
        target[n] = '\0';
        r = follow(rel, sizeof(rel), target);
        if (r < 0) {
            errno = -r;
            return NULL;
        }
    }
}

/* Counts the USER_PROCESS records of an open utmp file. */
static size_t count_sessions(FILE *f)
{
    struct utmp rec[UTMP_CHUNK];
    size_t users = 0, seen = 0, got;
    while (seen < MAX_UTMP_RECORDS && (got = fread(rec, sizeof(rec[0]), UTMP_CHUNK, f)) > 0) {
        /* fread counts whole records only: a trailing partial one is left out. */
        for (size_t i = 0; i < got; i++)
            users += rec[i].ut_type == USER_PROCESS && rec[i].ut_user[0] != '\0';
        seen += got;
    }
    return users;
}

/* Emits the login sessions of utmp. Returns 1 when emitted, or a negative errno. */
static int collect_users(const struct ward_collect_ctx *ctx)
{
    _cleanup_fclose_ FILE *f = open_in_root(ctx, "/run/utmp");
    if (!f && errno == ENOENT) {
        char full[PATH_MAX];
        struct stat sb;
        int r = ward_collect_path(ctx, "/var/run", full, sizeof(full));
        if (r < 0)
            return r;
        if (lstat(full, &sb) < 0 || !S_ISDIR(sb.st_mode))
            return -ENOENT;
        f = open_in_root(ctx, "/var/run/utmp");
    }
    if (!f)
        return -errno;
    ward_emit0(ctx, &users_m, (double)count_sessions(f));
    return 1;
}

/*
 * Unquotes an os-release value as sh(1) would: single quotes are literal,
 * double quotes take \" \\ \$ \` escapes, a bare backslash escapes any
 * character, and unquoted blanks end the value.
 */
static size_t unquote(const char *v, size_t len, char *out, size_t size)
{
    size_t o = 0;
    char quote = 0;
    for (size_t i = 0; i < len && o + 1 < size; i++) {
        char ch = v[i];
        if (quote != '\'' && ch == '\\' && i + 1 < len && v[i + 1] != '\0' &&
            (!quote || strchr("\"\\$`", v[i + 1]))) {
            ch = v[++i];
        } else if (!quote && (ch == '"' || ch == '\'')) {
            quote = ch;
            continue;
        } else if (quote && ch == quote) {
            quote = 0;
            continue;
        } else if (!quote && (ch == ' ' || ch == '\t')) {
            break;
        }
        out[o++] = ch;
    }
    out[o] = '\0';
    return o;
}

/* Reads PRETTY_NAME into os. Returns 0, or a negative errno when there is no os-release. */
static int read_os(const struct ward_collect_ctx *ctx, char *os, size_t size)
{
    _cleanup_fclose_ FILE *f = open_in_root(ctx, "/etc/os-release");
    if (!f && errno == ENOENT)
        f = open_in_root(ctx, "/usr/lib/os-release");
    if (!f)
        return -errno;
    char buf[OS_RELEASE_MAX];
    size_t len = fread(buf, 1, sizeof(buf) - 1, f);
    buf[len] = '\0';
    char value[OS_RELEASE_MAX];
    size_t value_len = 0;
    bool found = false;
    for (char *line = buf; line < buf + len;) {
        char *end = memchr(line, '\n', (size_t)(buf + len - line));
        if (!end)
            end = buf + len;
        if (strncmp(line, "PRETTY_NAME=", 12) == 0) {
            /* The last assignment wins, as in the shell. */
            value_len = unquote(line + 12, (size_t)(end - line - 12), value, sizeof(value));
            found = true;
        }
        line = end + 1;
    }
    if (found)
        ward_label_copy(os, size, value, value_len);
    else
        snprintf(os, size, "Linux");
    return 0;
}

/* Reads a one-line kernel attribute into a label. Returns 0 or a negative errno. */
static int read_attr(const struct ward_collect_ctx *ctx, const char *path, char *out, size_t size)
{
    char buf[256];
    int r = ward_collect_read(ctx, path, buf, sizeof(buf));
    if (r < 0)
        return r;
    if (r == 0)
        return -ENODATA;
    ward_label_copy(out, size, buf, (size_t)r);
    return 0;
}

/* Emits info{os,kernel,hostname}. Returns 1 when emitted, or a negative errno. */
static int collect_info(const struct ward_collect_ctx *ctx)
{
    char os[OS_LABEL_MAX + 1] = "unknown";
    char kernel[SHORT_LABEL_MAX + 1] = "unknown";
    char host[SHORT_LABEL_MAX + 1] = "unknown";
    int r_os = read_os(ctx, os, sizeof(os));
    int r_kernel = read_attr(ctx, "/proc/sys/kernel/osrelease", kernel, sizeof(kernel));
    int r_host = read_attr(ctx, "/proc/sys/kernel/hostname", host, sizeof(host));
    if (r_host < 0) {
        _cleanup_fclose_ FILE *f = open_in_root(ctx, "/etc/hostname");
        char line[256];
        if (f && fgets(line, sizeof(line), f)) {
            size_t n = strcspn(line, " \t\n");
            if (n > 0) {
                ward_label_copy(host, sizeof(host), line, n);
                r_host = 0;
            }
        }
    }
    if (r_os < 0 && r_kernel < 0 && r_host < 0)
        return r_os;
    struct ward_label l[3] = {{"os", os}, {"kernel", kernel}, {"hostname", host}};
    ward_emit(ctx, &info_m, 1, l, 3);
    return 1;
}

static int system_collect(void *state, const struct ward_collect_ctx *ctx)
{
    (void)state;
    int (*const parts[])(const struct ward_collect_ctx *) = {
        collect_uptime, collect_boot_time, collect_processes, collect_users, collect_info,
    };
    int first_error = 0;
    bool emitted = false;
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        int r = parts[i](ctx);
        if (r > 0)
            emitted = true;
        else
            note_error(&first_error, r);
    }
    if (emitted)
        return 0;
    return first_error < 0 ? first_error : -ENODATA;
}

const struct ward_collector ward_collector_system = {
    .size = sizeof(struct ward_collector),
    .name = "system",
    .default_interval_ms = 300000,
    .collect = system_collect,
};
