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
 * the calls go through ward_diag_statvfs_bounded() (diagnostics.h): on a
 * detached worker thread, one after the other, each waited for at most
 * WARD_DIAG_STATVFS_TIMEOUT_MS and never past the deadline. A call that
 * takes longer, or is still running at the deadline, is reported as
 * "timeout", and the calls after it as "skipped" when the deadline came
 * first or too many workers are still blocked, so a hung mount asked about
 * again and again holds a bounded number of threads. Pseudo filesystems
 * (proc, sysfs, cgroup, ...) have no size and are not asked; autofs is not
 * either, as asking would trigger the automount.
 */
#include "agent/diagnostics/diagnostics.h"

#include "common/error.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

/* Mounts listed at most; more are counted. */
#define MAX_ROWS 4096
/* Bytes of a mountinfo line looked at. */
#define LINE_BYTES 8192
/* Widest device, mount point and type columns; longer values overflow them. */
#define MAX_WIDTH 40

static const char *const unsized_types[] = {
    "autofs",     "binfmt_misc", "bpf",      "cgroup",  "cgroup2",   "configfs",
    "debugfs",    "devpts",      "efivarfs", "fusectl", "hugetlbfs", "mqueue",
    "nsfs",       "proc",        "pstore",   "ramfs",   "rootfs",    "rpc_pipefs",
    "securityfs", "selinuxfs",   "sysfs",    "tracefs",
};

struct mount {
    char *text; /* the four fields below, decoded, in one allocation */
    const char *device, *mountpoint, *fstype, *options;
    bool sized; /* a statvfs call is made for it */
    enum ward_diag_statvfs_state state;
    struct statvfs sv;
    int err;
};

/* Sizes the mounts marked sized, each at root + its mount point. */
static void size_mounts(struct mount *m, size_t n, const char *root, int64_t deadline_ms)
{
    size_t calls = 0;
    for (size_t i = 0; i < n; i++)
        calls += m[i].sized;
    if (calls == 0)
        return;
    struct ward_diag_statvfs_call *c = calloc(calls, sizeof(*c));
    if (!c) {
        for (size_t i = 0; i < n; i++) {
            m[i].state = WARD_DIAG_STATVFS_NOT_RUN;
            m[i].err = ENOMEM;
        }
        return;
    }
    for (size_t i = 0, k = 0; i < n; i++)
        if (m[i].sized)
            c[k++].path = m[i].mountpoint;
    ward_diag_statvfs_bounded(root, c, calls, deadline_ms);
    for (size_t i = 0, k = 0; i < n; i++) {
        if (!m[i].sized)
            continue;
        m[i].state = c[k].state;
        m[i].sv = c[k].sv;
        m[i].err = c[k].err;
        k++;
    }
    free(c);
}

/*
 * Parses "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE
 * SOURCE SUPEROPTIONS" into m. Returns 0, -EINVAL for a malformed line, or
 * -ENOMEM.
 */
static int parse_line(char *line, struct mount *m)
{
    struct ward_diag_mount_line l;
    if (ward_diag_mount_line(line, &l) < 0 || !l.options || !l.fstype || !l.device)
        return -EINVAL;
    char *src[4] = {l.device, l.mountpoint, l.fstype, l.options};
    size_t len = 0;
    for (size_t i = 0; i < 4; i++)
        len += strlen(src[i]) + 1;
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
    if (m->state == WARD_DIAG_STATVFS_TIMED_OUT) {
        snprintf(cols[0], 16, "timeout");
        return;
    }
    if (m->state == WARD_DIAG_STATVFS_NOT_RUN) {
        snprintf(cols[0], 16, "skipped");
        *note = m->err == ETIMEDOUT ? "the deadline came first"
                : m->err == EAGAIN  ? "too many statvfs calls still hung"
                                    : ward_strerror(-m->err);
        return;
    }
    if (m->state != WARD_DIAG_STATVFS_DONE || m->err) {
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
    FILE *f = NULL;
    /* Under a host root, the host's table is init's; the agent's own may be a container's. */
    if (*root) {
        snprintf(path, sizeof(path), "%s/proc/1/mountinfo", root);
        f = fopen(path, "re");
    }
    if (!f) {
        snprintf(path, sizeof(path), "%s/proc/self/mountinfo", root);
        f = fopen(path, "re");
    }
    if (!f) {
        int err = -errno;
        ward_diag_out_printf(out, "cannot read %s: %s\n", path, ward_strerror(err));
        return err;
    }
    struct mount *m = calloc(MAX_ROWS, sizeof(*m));
    char *line = malloc(LINE_BYTES);
    size_t n = 0, more = 0, malformed = 0;
    int r = m && line ? 0 : -ENOMEM;
    bool cut;
    while (r == 0 && ward_diag_read_line(f, line, LINE_BYTES, &cut) >= 0) {
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
