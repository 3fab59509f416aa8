/*
 * The disk_usage diagnostic: the largest directories and files under a
 * path, on that path's filesystem, like du(1) and a sort.
 *
 * The path names the real filesystem: unlike the /proc and /sys files the
 * other diagnostics read, it is not put under ctx->root, since an admin
 * asks about a path as the host sees it.
 *
 * The start. The mount points of the real /proc/self/mountinfo (not
 * ctx->root's: the path is the host's) are read first, into a set
 * (mount-set.c). Opening a path on a dead NFS server or a wedged FUSE
 * daemon blocks before any deadline can be looked at, so first every
 * mount point on the way to the path (a prefix of it that ends at a
 * component boundary; the longest is the mount that holds the path) whose
 * filesystem is a network or FUSE one (ward_mount_fstype_remote()) is
 * asked, outermost first, whether it answers: a statvfs() of the mount
 * point on a worker thread, waited for at most WARD_DIAG_STATVFS_TIMEOUT_MS
 * (2 s) and never past the deadline (ward_diag_statvfs_bounded()). One
 * that does not answer ends the run with -ETIMEDOUT and the path is never
 * opened; one that answers, even with an error, lets the start go on. The
 * path comes checked by common/diag.c, with no empty, "." or ".."
 * component, so its prefixes are the directories its lookup goes
 * through. Then the path is opened with
 * openat2(RESOLVE_NO_SYMLINKS), or, where the kernel lacks openat2 (before
 * 5.6), one component at a time with O_NOFOLLOW: a symbolic link anywhere
 * in it, not only at its end, is refused with ELOOP, so the walk is always
 * of the directory the path names and not of one a link elsewhere points
 * to.
 *
 * The walk. Directories are opened one level at a time, each relative to
 * its parent's descriptor with O_NOFOLLOW | O_DIRECTORY, and entries are
 * looked at with fstatat(AT_SYMLINK_NOFOLLOW): no path string is resolved
 * again after the start, so a symbolic link swapped in for a directory
 * during the walk is not followed, and a symbolic link is only ever
 * counted for its own size.
 *
 * Mount points. Stat'ing the mount point of a dead NFS server or a wedged
 * FUSE daemon blocks, so mount points must be known before their entry is
 * looked at: the set read at the start knows them, and the directories
 * that hold them. In such a directory, every entry's path is looked up
 * first, and one that is a mount point is counted and neither stat'ed nor
 * entered, whatever its filesystem: so a bind mount of the same filesystem
 * is not counted twice either. As a second line, an entry on another
 * device than the path (mounted after the table was read) is not entered,
 * and a directory opened is checked again with fstat() in case one was
 * mounted between the two calls. The set holds at most WARD_MOUNT_SET_MAX
 * mount points; with more, or no table, the output says that mount points
 * are recognised by their device only. Sizes are allocated blocks
 * (st_blocks * 512), what a file takes from the disk; a file with several
 * hard links is counted once while the set of those seen has room.
 *
 * The bounds. The walk keeps one open directory per level, at most
 * MAX_DEPTH levels below the path (deeper directories count for their own
 * size only); it stops after MAX_ENTRIES entries or at the deadline
 * (looked at every CLOCK_EVERY entries), and then says that its totals
 * are partial. Only the top N of each list is kept, in a min-heap of N,
 * and only those N keep a copy of their path: the path being walked is
 * one buffer to which each level appends its name, so the memory of a
 * walk grows with N and its depth, not with the size of the tree.
 * Directories that cannot be opened are counted, and so are other errors.
 *
 * Names may hold any byte but '/' and NUL, so control characters,
 * backslashes and bytes that are not UTF-8 are written as \xNN: every
 * line of the output stays one line.
 */
#include "agent/diagnostics/diagnostics.h"
#include "agent/diagnostics/mount-set.h"

#include "common/cleanup.h"
#include "common/error.h"
#include "common/time-util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Entries looked at, at most. */
#define MAX_ENTRIES 1000000
/* Directory levels entered below the path. */
#define MAX_DEPTH 64
/* Entries between two looks at the clock. */
#define CLOCK_EVERY 256
/* Inodes with several links remembered (the table has twice as many slots). */
#define MAX_LINKS  65536
#define LINK_SLOTS (2 * MAX_LINKS)

#define OPEN_DIR (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
#define OPEN_VIA (O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

struct item {
    uint64_t size;
    char *path;
};

/* The n largest offered so far: a min-heap of at most max items. */
struct top {
    struct item *items;
    size_t n, max;
};

struct frame {
    DIR *dir;
    size_t path_len;  /* of the walk's path while in this directory */
    uint64_t size;    /* of the subtree walked so far */
    bool holds_mount; /* some entry of it is a mount point */
};

enum stop {
    RUNNING,
    STOP_DEADLINE,
    STOP_ENTRIES,
};

struct walk {
    struct ward_buf path;
    struct frame frames[MAX_DEPTH + 1];
    size_t depth; /* frames in use */
    dev_t dev;
    uint64_t total, entries, errors, unreadable, mounts, too_deep;
    enum stop stop;
    const struct ward_diag_ctx *ctx; /* its deadline, and whether the agent stops */
    struct top dirs, files;
    ino_t *links; /* open addressing; 0 is an empty slot */
    size_t n_links;
    bool links_full;
    const struct ward_mount_set *mounts_known;
};

/* True when the directory at the walk's path holds a mount point. */
static bool holds_mount(const struct walk *w)
{
    return ward_mount_set_holds(w->mounts_known, w->path.data, w->path.len);
}

static void heap_down(struct top *t, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, min = i;
        if (l < t->n && t->items[l].size < t->items[min].size)
            min = l;
        if (r < t->n && t->items[r].size < t->items[min].size)
            min = r;
        if (min == i)
            return;
        struct item tmp = t->items[i];
        t->items[i] = t->items[min];
        t->items[min] = tmp;
        i = min;
    }
}

/* Offers an entry of size at path to t. Returns 0, or -ENOMEM. */
static int top_offer(struct top *t, uint64_t size, const char *path)
{
    if (t->n == t->max && size <= t->items[0].size)
        return 0;
    char *copy = strdup(path);
    if (!copy)
        return -ENOMEM;
    if (t->n == t->max) {
        free(t->items[0].path);
        t->items[0] = (struct item){size, copy};
        heap_down(t, 0);
        return 0;
    }
    size_t i = t->n++;
    t->items[i] = (struct item){size, copy};
    while (i > 0 && t->items[(i - 1) / 2].size > t->items[i].size) {
        struct item tmp = t->items[i];
        t->items[i] = t->items[(i - 1) / 2];
        t->items[(i - 1) / 2] = tmp;
        i = (i - 1) / 2;
    }
    return 0;
}

static void top_done(struct top *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->items[i].path);
    free(t->items);
}

/* True when ino was seen before; else remembers it, while there is room. */
static bool seen_link(struct walk *w, ino_t ino)
{
    if (ino == 0)
        return false;
    if (!w->links && !(w->links = calloc(LINK_SLOTS, sizeof(*w->links)))) {
        w->links_full = true;
        return false;
    }
    size_t i = (size_t)(((uint64_t)ino * UINT64_C(0x9E3779B97F4A7C15)) >> 47) % LINK_SLOTS;
    for (; w->links[i] != 0; i = (i + 1) % LINK_SLOTS)
        if (w->links[i] == ino)
            return true;
    if (w->n_links == MAX_LINKS) {
        w->links_full = true;
        return false;
    }
    w->links[i] = ino;
    w->n_links++;
    return false;
}

static void path_cut(struct walk *w, size_t len)
{
    w->path.len = len;
    w->path.data[len] = '\0';
}

/* Appends "/name" to the walk's path (no '/' after a root of "/"). Returns 0 or -ENOMEM. */
static int path_push(struct walk *w, const char *name)
{
    size_t len = w->path.len;
    int r = w->path.data[len - 1] == '/' ? 0 : ward_buf_putc(&w->path, '/');
    if (r == 0)
        r = ward_buf_puts(&w->path, name);
    if (r < 0) {
        path_cut(w, len);
        return -ENOMEM;
    }
    return 0;
}

/* Leaves the innermost directory, adding its subtree to its parent. */
static void pop(struct walk *w)
{
    struct frame *f = &w->frames[--w->depth];
    closedir(f->dir);
    if (top_offer(&w->dirs, f->size, w->path.data) < 0)
        w->errors++;
    if (w->depth == 0) {
        w->total = f->size;
        return;
    }
    w->frames[w->depth - 1].size += f->size;
    path_cut(w, w->frames[w->depth - 1].path_len);
}

/* Enters directory name of f (st from fstatat), or counts it for its own size. */
static void enter(struct walk *w, struct frame *f, const char *name, const struct stat *st)
{
    uint64_t size = (uint64_t)st->st_blocks * 512;
    if (w->depth > MAX_DEPTH) {
        w->too_deep++;
        f->size += size;
        return;
    }
    int fd = openat(dirfd(f->dir), name, OPEN_DIR);
    if (fd < 0) {
        if (errno == EACCES || errno == EPERM)
            w->unreadable++;
        else
            w->errors++;
        f->size += size;
        return;
    }
    struct stat now;
    if (fstat(fd, &now) < 0) {
        w->errors++;
        close(fd);
        return;
    }
    if (now.st_dev != w->dev) {
        w->mounts++; /* mounted on since fstatat */
        close(fd);
        return;
    }
    DIR *d = fdopendir(fd);
    if (!d || path_push(w, name) < 0) {
        if (d)
            closedir(d);
        else
            close(fd);
        w->errors++;
        f->size += size;
        return;
    }
    w->frames[w->depth++] =
        (struct frame){d, w->path.len, (uint64_t)now.st_blocks * 512, holds_mount(w)};
}

/* True when name of the directory at the walk's path is a mount point (or no path could be made).
 */
static bool is_mount_point(struct walk *w, const char *name)
{
    size_t len = w->path.len;
    if (path_push(w, name) < 0)
        return true;
    bool point = ward_mount_set_is_point(w->mounts_known, w->path.data, w->path.len);
    path_cut(w, len);
    return point;
}

static void visit(struct walk *w, struct frame *f, const char *name)
{
    if (f->holds_mount && is_mount_point(w, name)) {
        w->mounts++; /* not even stat'ed: that alone may hang */
        return;
    }
    struct stat st;
    if (fstatat(dirfd(f->dir), name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        w->errors++;
        return;
    }
    if (st.st_dev != w->dev) {
        w->mounts++;
        return;
    }
    if (S_ISDIR(st.st_mode)) {
        enter(w, f, name, &st);
        return;
    }
    if (st.st_nlink > 1 && seen_link(w, st.st_ino))
        return;
    uint64_t size = (uint64_t)st.st_blocks * 512;
    f->size += size;
    if (w->files.n == w->files.max && size <= w->files.items[0].size)
        return; /* not a candidate: no need to build its path */
    size_t len = w->path.len;
    if (path_push(w, name) < 0 || top_offer(&w->files, size, w->path.data) < 0)
        w->errors++;
    path_cut(w, len);
}

static void run(struct walk *w)
{
    if (ward_mono_ms() >= w->ctx->deadline_ms)
        w->stop = STOP_DEADLINE;
    while (w->depth > 0) {
        struct frame *f = &w->frames[w->depth - 1];
        struct dirent *de = NULL;
        if (w->stop == RUNNING) {
            errno = 0;
            de = readdir(f->dir);
            if (!de && errno)
                w->errors++;
        }
        if (!de) {
            pop(w);
            continue;
        }
        const char *name = de->d_name;
        if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0')))
            continue;
        if (w->entries == MAX_ENTRIES) {
            w->stop = STOP_ENTRIES;
            continue;
        }
        if (++w->entries % CLOCK_EVERY == 0 &&
            (ward_mono_ms() >= w->ctx->deadline_ms || ward_diag_stopping(w->ctx))) {
            w->stop = STOP_DEADLINE;
            continue;
        }
        visit(w, f, name);
    }
}

static int by_size(const void *a, const void *b)
{
    const struct item *x = a, *y = b;
    if (x->size != y->size)
        return x->size > y->size ? -1 : 1;
    return strcmp(x->path, y->path);
}

static void print_top(struct top *t, const char *title, struct ward_buf *esc,
                      struct ward_diag_out *out)
{
    qsort(t->items, t->n, sizeof(*t->items), by_size);
    ward_diag_out_printf(out, "%s\n", title);
    if (t->n == 0)
        ward_diag_out_printf(out, "  (none)\n");
    for (size_t i = 0; i < t->n; i++) {
        char size[32];
        ward_diag_human_bytes(t->items[i].size, size, sizeof(size));
        ward_buf_reset(esc);
        ward_diag_escape(esc, t->items[i].path, strlen(t->items[i].path));
        ward_diag_out_printf(out, "  %10s  %s\n", size, esc->data ? esc->data : "");
    }
}

static void report(struct walk *w, const char *path, struct ward_diag_out *out)
{
    struct ward_buf esc = WARD_BUF_INIT;
    char total[32];
    ward_diag_human_bytes(w->total, total, sizeof(total));
    ward_buf_reset(&esc);
    ward_diag_escape(&esc, path, strlen(path));
    ward_diag_out_printf(out,
                         "%s: %s (%llu bytes) in %llu entries on one filesystem; %llu "
                         "unreadable directories, %llu errors, %llu mount points not entered\n",
                         esc.data, total, (unsigned long long)w->total,
                         (unsigned long long)w->entries, (unsigned long long)w->unreadable,
                         (unsigned long long)w->errors, (unsigned long long)w->mounts);
    if (w->stop == STOP_DEADLINE)
        ward_diag_out_printf(out, "partial: the deadline came before the walk ended\n");
    if (w->stop == STOP_ENTRIES)
        ward_diag_out_printf(out, "partial: the walk stopped after %d entries\n", MAX_ENTRIES);
    if (w->too_deep)
        ward_diag_out_printf(out, "partial: %llu directories deeper than %d levels not entered\n",
                             (unsigned long long)w->too_deep, MAX_DEPTH);
    if (w->links_full)
        ward_diag_out_printf(out, "note: some files with several hard links counted per link\n");
    int table = ward_mount_set_error(w->mounts_known);
    if (table)
        ward_diag_out_printf(out,
                             "note: the mount table was not read in full (%s): other mount "
                             "points are recognised by their device, after a stat that may hang\n",
                             table == -E2BIG ? "too many mounts" : ward_strerror(table));
    ward_diag_out_printf(out, "\n");
    print_top(&w->dirs, "Largest directories:", &esc, out);
    ward_diag_out_printf(out, "\n");
    print_top(&w->files, "Largest files:", &esc, out);
    ward_buf_done(&esc);
}

/*
 * Opens the directory at path one component at a time, each relative to
 * the one before with O_NOFOLLOW, so that a symbolic link anywhere fails.
 * Returns the descriptor or -errno (-ELOOP for a link).
 */
static int open_by_components(const char *path)
{
    int fd = open("/", path[1] ? OPEN_VIA : OPEN_DIR);
    if (fd < 0)
        return -errno;
    for (const char *p = path; *p;) {
        while (*p == '/')
            p++;
        size_t len = strcspn(p, "/");
        if (len == 0)
            break;
        char name[NAME_MAX + 1];
        if (len > NAME_MAX) {
            close(fd);
            return -ENAMETOOLONG;
        }
        memcpy(name, p, len);
        name[len] = '\0';
        p += len;
        bool last = p[strspn(p, "/")] == '\0';
        int next = openat(fd, name, last ? OPEN_DIR : OPEN_VIA), err = errno;
        struct stat st;
        if (next < 0 && (err == ENOTDIR || err == ELOOP) &&
            fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
            err = ELOOP; /* O_DIRECTORY answers ENOTDIR for a link */
        close(fd);
        if (next < 0)
            return -err;
        fd = next;
    }
    return fd;
}

/* Opens the directory at path, with no symbolic link anywhere in it. Returns it or -errno. */
static int open_start(const char *path)
{
#ifdef SYS_openat2
    struct open_how how = {
        .flags = OPEN_DIR & ~O_NOFOLLOW, /* which would answer ENOTDIR for a link at the end */
        .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
    };
    long fd = syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
    if (fd >= 0)
        return (int)fd;
    if (errno != ENOSYS && errno != EPERM) /* EPERM: a seccomp filter that does not know it */
        return -errno;
#endif
    return open_by_components(path);
}

/* Writes "what path (fstype)what2" with both names escaped. */
static void say_mount(struct ward_diag_out *out, const char *what, const char *path, size_t len,
                      const char *fstype, const char *what2)
{
    struct ward_buf p = WARD_BUF_INIT, t = WARD_BUF_INIT;
    ward_buf_reset(&p);
    ward_diag_escape(&p, path, len);
    ward_buf_reset(&t);
    ward_diag_escape(&t, fstype, strlen(fstype));
    ward_diag_out_printf(out, "%s%s (%s)%s\n", what, p.data ? p.data : "", t.data ? t.data : "",
                         what2);
    ward_buf_done(&p);
    ward_buf_done(&t);
}

/*
 * Asks the filesystem of the first k bytes of path (fstype, "" when not
 * known) whether it answers: a statvfs() on a worker, bounded by the
 * deadline. Returns 0, or a negative error with the reason written to out:
 * -ETIMEDOUT when it does not answer in time (or the deadline came
 * first), -EAGAIN when too many earlier asks are still hung.
 */
static int ask(const char *path, size_t k, const char *fstype, int64_t deadline_ms,
               struct ward_diag_out *out)
{
    char *point = strndup(path, k);
    if (!point) {
        ward_diag_out_printf(out, "out of memory\n");
        return -ENOMEM;
    }
    struct ward_diag_statvfs_call call = {.path = point};
    ward_diag_statvfs_bounded("", &call, 1, deadline_ms);
    free(point);
    if (call.state == WARD_DIAG_STATVFS_DONE)
        return 0; /* it answered, if only with an error the open will meet too */
    if (call.state == WARD_DIAG_STATVFS_TIMED_OUT) {
        say_mount(out, "the filesystem at ", path, k, fstype, " does not answer; not scanned");
        return -ETIMEDOUT;
    }
    if (call.err == ETIMEDOUT) {
        say_mount(out, "the deadline came before the filesystem at ", path, k, fstype,
                  " was asked whether it answers; not scanned");
        return -ETIMEDOUT;
    }
    say_mount(out, "cannot ask the filesystem at ", path, k, fstype,
              call.err == EAGAIN
                  ? " whether it answers: too many earlier asks are still hung; not scanned"
                  : " whether it answers; not scanned");
    return call.err > 0 ? -call.err : -EIO;
}

/*
 * Asks every network or FUSE filesystem mounted on a prefix of path,
 * outermost first, whether it answers, before anything opens the path.
 * Without the whole mount table (unreadable, cut, or without "/"), the
 * filesystems on the way are not known, so the path itself is asked: its
 * lookup crosses them all. Returns 0 or ask()'s error.
 */
static int check_answers(const struct ward_mount_set *mounts, const char *path, int64_t deadline_ms,
                         struct ward_diag_out *out)
{
    size_t len = strlen(path);
    if (ward_mount_set_error(mounts) != 0 || !ward_mount_set_fstype(mounts, "/", 1))
        return ask(path, len, "filesystem not known", deadline_ms, out);
    for (size_t k = 1; k <= len; k++) {
        if (k > 1 && k < len && path[k] != '/')
            continue; /* not a component boundary; "/" (k == 1) always is */
        const char *fstype = ward_mount_set_fstype(mounts, path, k);
        if (!ward_mount_fstype_remote(fstype))
            continue;
        int r = ask(path, k, fstype, deadline_ms, out);
        if (r < 0)
            return r;
    }
    return 0;
}

/* Walks the directory at path, with the mount points of mounts, and reports. */
static int scan(const char *path, size_t top_n, const struct ward_mount_set *mounts,
                const struct ward_diag_ctx *ctx, struct ward_diag_out *out)
{
    int fd = open_start(path), err = fd < 0 ? fd : 0;
    struct stat st;
    DIR *d = NULL;
    if (fd >= 0 && (fstat(fd, &st) < 0 || !(d = fdopendir(fd)))) {
        err = -errno;
        close(fd);
    }
    if (!d) {
        struct ward_buf esc = WARD_BUF_INIT;
        ward_buf_reset(&esc);
        ward_diag_escape(&esc, path, strlen(path));
        ward_diag_out_printf(
            out, "cannot open %s: %s%s\n", esc.data, ward_strerror(err),
            err == -ELOOP ? " (the path has a symbolic link, which is not followed)" : "");
        ward_buf_done(&esc);
        return err;
    }

    struct walk *w = calloc(1, sizeof(*w));
    struct item *dirs = calloc(top_n, sizeof(*dirs)), *files = calloc(top_n, sizeof(*files));
    if (!w || !dirs || !files || ward_buf_puts(&w->path, path) < 0) {
        closedir(d);
        if (w)
            ward_buf_done(&w->path);
        free(w);
        free(dirs);
        free(files);
        ward_diag_out_printf(out, "out of memory\n");
        return -ENOMEM;
    }
    w->dev = st.st_dev;
    w->ctx = ctx;
    w->dirs = (struct top){dirs, 0, top_n};
    w->files = (struct top){files, 0, top_n};
    w->mounts_known = mounts;
    w->frames[0] = (struct frame){d, w->path.len, (uint64_t)st.st_blocks * 512, holds_mount(w)};
    w->depth = 1;

    run(w);
    report(w, path, out);

    top_done(&w->dirs);
    top_done(&w->files);
    free(w->links);
    ward_buf_done(&w->path);
    free(w);
    return 0;
}

WARD_DEFINE_CLEANUP(struct ward_mount_set, ward_mount_set_free)

int ward_diag_disk_usage(const struct ward_diag_args *args, const struct ward_diag_ctx *ctx,
                         struct ward_diag_out *out)
{
    const char *path = ward_diag_get(args, "path");
    size_t top_n = (size_t)ward_diag_get_int(args, "top_n");
    if (path[0] != '/' || top_n < 1 || top_n > 100) {
        ward_diag_out_printf(out, "invalid arguments\n");
        return -EINVAL;
    }
    _cleanup_(ward_mount_set_freep) struct ward_mount_set *mounts =
        ward_mount_set_new("/proc/self/mountinfo");
    if (!mounts) {
        ward_diag_out_printf(out, "out of memory\n");
        return -ENOMEM;
    }
    int r = check_answers(mounts, path, ctx->deadline_ms, out);
    if (r < 0)
        return r;
    return scan(path, top_n, mounts, ctx, out);
}
