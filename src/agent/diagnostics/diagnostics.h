/*
 * The diagnostics ward-agent runs when the server asks (one file each in
 * this directory), and what they share: a deadline, a capped output, and
 * exec.c, the one way a diagnostic may start another program.
 *
 * A diagnostic gets arguments already checked by common/diag.h. It writes
 * human-readable text to its output, which keeps at most out->max bytes
 * and notes that it was cut; it never blocks past ctx->deadline_ms. It
 * returns an exit status (0: it worked, 1: it ran and found a failure,
 * such as an unreachable target; a program's own status when it ran one),
 * or a negative error when it could not run at all, with the reason in
 * its output.
 */
#ifndef WARD_DIAGNOSTICS_H
#define WARD_DIAGNOSTICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#include "common/buf.h"
#include "common/diag.h"

/* Output kept of one run; more is cut and the result says so. */
#define WARD_DIAG_OUTPUT_MAX (256 * 1024)

/* Longest run of any diagnostic, and the default. */
#define WARD_DIAG_TIMEOUT_MAX_MS     120000
#define WARD_DIAG_TIMEOUT_DEFAULT_MS 30000

/* The directories searched for a program, in order; also the PATH it runs with. */
#define WARD_DIAG_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct ward_diag_ctx {
    int64_t deadline_ms; /* monotonic (ward_mono_ms()): stop by then */
    const char *root;    /* read /proc, /sys and logs under this prefix; "" for / */
    /*
     * Readable once the agent stops, or -1: a run that waits on a child,
     * the network or a long walk then ends as at its deadline, so a stop
     * does not wait for it.
     */
    int stop_fd;
};

/* Whether ctx's stop_fd is readable (it is not read). */
bool ward_diag_stopping(const struct ward_diag_ctx *ctx);

/* Capped text output of a run. */
struct ward_diag_out {
    struct ward_buf text;
    size_t max;     /* bytes kept at most */
    bool truncated; /* something was cut */
};

void ward_diag_out_init(struct ward_diag_out *o, size_t max);
void ward_diag_out_done(struct ward_diag_out *o);

/* Appends text, keeping at most o->max bytes in all (then truncated is set). */
void ward_diag_out_append(struct ward_diag_out *o, const char *s, size_t n);
void ward_diag_out_printf(struct ward_diag_out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* True when no more output would be kept. */
bool ward_diag_out_full(const struct ward_diag_out *o);

/*
 * Appends n bytes of s to b with every byte that could break a line or
 * mislead a reader written as \xNN: control characters (C1 too), DEL, the
 * backslash itself, and bytes that are not UTF-8. What others control
 * (file names, log messages, process names) is shown this way.
 */
void ward_diag_escape(struct ward_buf *b, const char *s, size_t n);

/*
 * Appends len bytes of a program's text to o line by line, each line
 * escaped (ward_diag_escape()) and ending in a newline.
 */
void ward_diag_out_append_lines(struct ward_diag_out *o, const char *text, size_t len);

/* The fields of one mountinfo line that diagnostics use, decoded; NULL where it has none. */
struct ward_diag_mount_line {
    char *mountpoint; /* the fifth field */
    char *options;    /* the sixth */
    char *fstype;     /* the first after the "-" separator */
    char *device;     /* the second after it */
};

/*
 * Splits a line of /proc/PID/mountinfo, "ID PARENT MAJ:MIN ROOT MOUNTPOINT
 * OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS", in place into out,
 * with the octal escapes of each field decoded. A line without the part
 * after "-" has fstype and device NULL. Returns 0, or -EINVAL for fewer
 * than five fields or a field that decodes to a NUL.
 */
int ward_diag_mount_line(char *line, struct ward_diag_mount_line *out);

/*
 * Reads one line of f into buf (size bytes, NUL-terminated), without its
 * newline; the rest of a longer line is skipped and *cut set. Returns its
 * length, or -1 at the end of the file.
 */
ssize_t ward_diag_read_line(FILE *f, char *buf, size_t size, bool *cut);

/* Formats bytes as "512 B" or "1.2 GiB" into buf (size bytes). */
void ward_diag_human_bytes(double bytes, char *buf, size_t size);

/*
 * Runs a program found in WARD_DIAG_PATH (name has no '/') with argv
 * (argv[0] is name; NULL-terminated) through fork and execve, never a
 * shell: stdin from /dev/null, stdout and stderr into out, the
 * environment just PATH=WARD_DIAG_PATH and LC_ALL=C, in a process group
 * of its own that is killed (SIGKILL) at ctx->deadline_ms or once out is
 * full. Returns the program's exit status (128 + signal when killed by
 * one), -ENOENT when name is in none of the directories, -ETIMEDOUT when
 * it was killed at the deadline, or another negative error.
 */
int ward_diag_exec(const char *name, const char *const argv[], const struct ward_diag_ctx *ctx,
                   struct ward_diag_out *out);

/*
 * statvfs(3) with a bound, for the mounts and disk_usage diagnostics. On a
 * dead NFS server or a wedged FUSE daemon statvfs may block forever and
 * cannot be interrupted, so the calls run on a detached worker thread, one
 * after the other, while the caller waits for each at most
 * WARD_DIAG_STATVFS_TIMEOUT_MS and never past its deadline. A call that
 * takes longer, or still runs at the deadline, is TIMED_OUT; its worker is
 * left blocked (it frees what it shares with the caller when it returns)
 * and the remaining calls go to a new worker or, at the deadline, are not
 * made. Workers left blocked are counted across runs and diagnostics: with
 * WARD_DIAG_STATVFS_MAX_STUCK of them, no new one starts, so a hung mount
 * asked about again and again holds a bounded number of threads.
 */
#define WARD_DIAG_STATVFS_TIMEOUT_MS 2000
#define WARD_DIAG_STATVFS_MAX_STUCK  8

enum ward_diag_statvfs_state {
    WARD_DIAG_STATVFS_DONE,      /* the call returned: err is 0 (sv holds its answer) or errno */
    WARD_DIAG_STATVFS_TIMED_OUT, /* it did not return in time */
    WARD_DIAG_STATVFS_NOT_RUN,   /* not made; err says why */
};

struct ward_diag_statvfs_call {
    const char *path;                   /* in: asked about at root + path */
    enum ward_diag_statvfs_state state; /* out */
    struct statvfs sv;                  /* out: the answer of a DONE call with err 0 */
    /*
     * out: the errno of a DONE call; of a NOT_RUN one ETIMEDOUT (the
     * deadline came first), EAGAIN (too many workers blocked), ENOMEM, or
     * what pthread_create() said.
     */
    int err;
};

/*
 * Runs statvfs(root + calls[i].path) for each of the n calls, as above,
 * and fills in their results; returns by deadline_ms (monotonic) or
 * shortly after. The paths are copied, so they need not outlive the call.
 */
void ward_diag_statvfs_bounded(const char *root, struct ward_diag_statvfs_call *calls, size_t n,
                               int64_t deadline_ms);

/*
 * The statvfs that ward_diag_statvfs_bounded() calls: statvfs(3) unless a
 * test puts in a function that is slow or never returns. Set it before a
 * run, not during one; a run keeps the value it started with.
 */
extern int (*ward_diag_statvfs)(const char *path, struct statvfs *out);

typedef int (*ward_diag_fn)(const struct ward_diag_args *args, const struct ward_diag_ctx *ctx,
                            struct ward_diag_out *out);

/* The diagnostics, one per file. */
int ward_diag_logs(const struct ward_diag_args *args, const struct ward_diag_ctx *ctx,
                   struct ward_diag_out *out);
int ward_diag_disk_usage(const struct ward_diag_args *args, const struct ward_diag_ctx *ctx,
                         struct ward_diag_out *out);
int ward_diag_mounts(const struct ward_diag_args *args, const struct ward_diag_ctx *ctx,
                     struct ward_diag_out *out);
int ward_diag_ping(const struct ward_diag_args *args, const struct ward_diag_ctx *ctx,
                   struct ward_diag_out *out);
int ward_diag_connect(const struct ward_diag_args *args, const struct ward_diag_ctx *ctx,
                      struct ward_diag_out *out);
int ward_diag_netstat(const struct ward_diag_args *args, const struct ward_diag_ctx *ctx,
                      struct ward_diag_out *out);
int ward_diag_traceroute(const struct ward_diag_args *args, const struct ward_diag_ctx *ctx,
                         struct ward_diag_out *out);

/* The function of type; NULL outside the enum. */
ward_diag_fn ward_diag_function(enum ward_diag_type type);

#endif
