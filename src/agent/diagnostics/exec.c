/*
 * Running a program for a diagnostic (ward_diag_exec() in diagnostics.h).
 *
 * The program is looked up only in the fixed directories of WARD_DIAG_PATH,
 * never through the agent's own PATH. The agent usually runs as root, so a
 * candidate is taken only when no one else could have put it there or
 * changed it: the file and its directory must belong to root (or to the
 * agent's own user) and be writable by neither group nor others; one that
 * is not is passed over for the next directory, so that a group-writable
 * /usr/local/bin cannot shadow /usr/bin. It is started with fork() and execve():
 * no shell ever sees an argument, so a value with ';' or '$(...)' in it is
 * one literal argv entry. The environment is rebuilt from nothing (PATH and
 * LC_ALL=C), so nothing of the agent's environment, secrets included, leaks
 * into the child, and the output is in the C locale.
 *
 * The agent is multithreaded, so the child may do only async-signal-safe
 * things between fork() and execve(): every string, array and descriptor
 * it needs is prepared before the fork, and the child only moves
 * descriptors, closes the rest (close_range(), or a loop up to a bound
 * computed beforehand), resets every signal to its default disposition and
 * unblocks them all (the agent blocks SIGINT and SIGTERM and ignores
 * SIGPIPE, which a child would otherwise inherit), and becomes the leader
 * of a process group of its own. All signals are blocked in the parent
 * around fork() so that no handler of the agent runs in the child before
 * the reset. Every descriptor is opened O_CLOEXEC, so children that other
 * threads fork at the same time inherit none of ours. A second pipe,
 * closed by a successful execve(), carries the errno of a failed one back.
 *
 * The parent reads the output pipe with poll() until the child exits, the
 * deadline passes or the output overflows, whichever comes first. The exit
 * is noticed without reaping the child (a pidfd, or waitid() with WNOWAIT
 * on a short tick where pidfds are missing), so that the group can still
 * be killed safely afterwards: while the leader is an unreaped zombie its
 * process group id cannot be reused by an unrelated process. The group is
 * then always killed with SIGKILL (this also ends anything the program
 * left running in the background) and the leader reaped; no zombie stays.
 */
#include "agent/diagnostics/diagnostics.h"

#include "common/time-util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Arguments of one program at most, argv[0] included. */
#define ARGS_MAX 64

/* How often the exit of a child is looked for when there is no pidfd. */
#define EXIT_TICK_MS 20

/* Descriptors closed one by one at most where close_range() is missing. */
#define FD_LOOP_MAX 65536

static char *const child_env[] = {"PATH=" WARD_DIAG_PATH, "LC_ALL=C", NULL};

/* True when st belongs to root or to us and no one else may write to it. */
static bool trusted(const struct stat *st)
{
    return (st->st_uid == 0 || st->st_uid == geteuid()) && (st->st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

/* True when the directory of path (cut at its last '/') is trusted(). */
static bool trusted_dir(char *path)
{
    char *slash = strrchr(path, '/');
    if (!slash)
        return false;
    struct stat st;
    *slash = '\0';
    bool ok = stat(slash == path ? "/" : path, &st) == 0 && S_ISDIR(st.st_mode) && trusted(&st);
    *slash = '/';
    return ok;
}

/*
 * Finds name in WARD_DIAG_PATH: a regular file we may execute. It must be
 * trusted(), and so must the directory it was found in and, when it is a
 * symbolic link, the directory of the file it leads to.
 */
static int find_program(const char *name, char *path, size_t size)
{
    const char *dir = WARD_DIAG_PATH;
    while (*dir) {
        size_t len = strcspn(dir, ":");
        int n = snprintf(path, size, "%.*s/%s", (int)len, dir, name);
        struct stat st;
        char real[PATH_MAX];
        if (n > 0 && (size_t)n < size && stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
            trusted(&st) && access(path, X_OK) == 0 && trusted_dir(path) && realpath(path, real) &&
            trusted_dir(real))
            return 0;
        dir += len;
        if (*dir == ':')
            dir++;
    }
    return -ENOENT;
}

/* Moves fd to a number of 3 or more (keeping O_CLOEXEC), so the child's dup2()s cannot collide. */
static int above_stdio(int fd)
{
    if (fd < 0 || fd > 2)
        return fd;
    int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    int err = errno;
    close(fd);
    return moved < 0 ? -err : moved;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* What the child needs, all prepared before the fork. */
struct child_plan {
    const char *path;
    char *const *argv;
    int null_fd, out_fd, err_fd;
    int fd_max;
    sigset_t empty;
};

/* Reports errno on the error pipe (fd 3) and exits. */
static __attribute__((noreturn)) void child_fail(void)
{
    int e = errno;
    ssize_t w = write(3, &e, sizeof(e));
    (void)w;
    _exit(127);
}

/* Between fork() and execve(): async-signal-safe calls only. */
static __attribute__((noreturn)) void child_run(const struct child_plan *p)
{
    struct sigaction dfl;
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            sigaction(sig, &dfl, NULL); /* fails harmlessly for the C library's own signals */
    setpgid(0, 0);
    /* All three sources are 3 or more (above_stdio()), so no dup2() undoes another. */
    if (dup2(p->null_fd, 0) < 0 || dup2(p->out_fd, 1) < 0 || dup2(p->out_fd, 2) < 0 ||
        dup2(p->err_fd, 3) < 0 || fcntl(3, F_SETFD, FD_CLOEXEC) < 0)
        _exit(127);
    if (close_range(4, ~0U, 0) < 0)
        for (int fd = 4; fd < p->fd_max; fd++)
            close(fd);
    if (sigprocmask(SIG_SETMASK, &p->empty, NULL) < 0)
        child_fail();
    execve(p->path, p->argv, child_env);
    child_fail();
}

/* True once pid has exited; the child is left unreaped. */
static bool has_exited(pid_t pid)
{
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
        return errno == ECHILD; /* reaped by someone else: gone all the same */
    return si.si_pid == pid;
}

/*
 * Reads what is in the pipe now. Returns 1 at end of file, 0 when the pipe
 * is empty, or 2 once output was cut (out is full).
 */
static int drain(int fd, struct ward_diag_out *out)
{
    char buf[16384];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == EAGAIN ? 0 : 1;
        if (n == 0)
            return 1;
        size_t room = out->text.len < out->max ? out->max - out->text.len : 0;
        bool was_cut = out->truncated;
        ward_diag_out_append(out, buf, (size_t)n);
        if ((size_t)n > room || (!was_cut && out->truncated))
            return 2;
    }
}

/* How the parent follows the child until it ends, the deadline or a full output. */
enum watch_end {
    END_EXITED,
    END_DEADLINE,
    END_FULL
};

static enum watch_end watch(pid_t pid, int pidfd, int rfd, const struct ward_diag_ctx *ctx,
                            struct ward_diag_out *out)
{
    bool eof = false;
    for (;;) {
        if (has_exited(pid)) {
            if (!eof && drain(rfd, out) == 2)
                return END_FULL;
            return END_EXITED;
        }
        int64_t left = ctx->deadline_ms - ward_mono_ms();
        if (left <= 0)
            return END_DEADLINE;
        if (pidfd < 0 && left > EXIT_TICK_MS)
            left = EXIT_TICK_MS;
        struct pollfd pfd[3] = {{.fd = eof ? -1 : rfd, .events = POLLIN},
                                {.fd = pidfd, .events = POLLIN},
                                {.fd = ctx->stop_fd, .events = POLLIN}};
        int r = poll(pfd, 3, (int)(left > INT_MAX ? INT_MAX : left));
        if ((r < 0 && errno != EINTR) || (r > 0 && pfd[2].revents))
            return END_DEADLINE; /* cannot wait any more, or the agent stops: out of time */
        if (r > 0 && !eof && pfd[0].revents) {
            int d = drain(rfd, out);
            if (d == 2)
                return END_FULL;
            eof = d == 1;
        }
    }
}

static int open_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
    long fd = syscall(SYS_pidfd_open, pid, 0);
    if (fd >= 0) {
        int cfd = (int)fd;
        fcntl(cfd, F_SETFD, FD_CLOEXEC);
        return cfd;
    }
#else
    (void)pid;
#endif
    return -1;
}

/*
 * Forks, runs the child, follows and reaps it. Closes the parent's copies
 * of the write ends (*out_w, *err_w), without which no end of file comes.
 */
static int run(const struct child_plan *plan, int *out_w, int *err_w, int rfd, int err_rfd,
               const struct ward_diag_ctx *ctx, struct ward_diag_out *out)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t pid = fork();
    if (pid == 0)
        child_run(plan);
    int fork_err = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close_fd(out_w);
    close_fd(err_w);
    if (pid < 0)
        return -fork_err;
    setpgid(pid, pid); /* also here, so the group exists before any kill below */

    /* The error pipe closes at a successful execve(), which comes at once. */
    int child_errno = 0;
    ssize_t n;
    do
        n = read(err_rfd, &child_errno, sizeof(child_errno));
    while (n < 0 && errno == EINTR);
    bool exec_failed = n == (ssize_t)sizeof(child_errno);

    enum watch_end end = END_EXITED;
    if (!exec_failed) {
        int pidfd = open_pidfd(pid);
        end = watch(pid, pidfd, rfd, ctx, out);
        close_fd(&pidfd);
    }
    if (kill(-pid, SIGKILL) < 0 && errno == ESRCH)
        kill(pid, SIGKILL);
    int status = 0;
    pid_t w;
    do
        w = waitpid(pid, &status, 0);
    while (w < 0 && errno == EINTR);
    if (exec_failed)
        return child_errno > 0 ? -child_errno : -EIO;
    if (end == END_DEADLINE)
        return -ETIMEDOUT;
    if (end == END_FULL)
        out->truncated = true;
    if (w < 0)
        return -errno;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return -EIO;
}

int ward_diag_exec(const char *name, const char *const argv[], const struct ward_diag_ctx *ctx,
                   struct ward_diag_out *out)
{
    if (!name || !name[0] || strchr(name, '/') || !argv || !argv[0] || !ctx || !out)
        return -EINVAL;
    char *args[ARGS_MAX + 1];
    size_t n_args = 0;
    for (; argv[n_args]; n_args++) {
        if (n_args == ARGS_MAX)
            return -E2BIG;
        args[n_args] = (char *)argv[n_args];
    }
    args[n_args] = NULL;

    char path[PATH_MAX];
    if (find_program(name, path, sizeof(path)) < 0)
        return -ENOENT;
    if (ward_mono_ms() >= ctx->deadline_ms || ward_diag_stopping(ctx))
        return -ETIMEDOUT;

    int null_fd = -1, pipe_out[2] = {-1, -1}, pipe_err[2] = {-1, -1};
    int r = 0;
    null_fd = above_stdio(open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (null_fd < 0)
        r = null_fd < -1 ? null_fd : -errno;
    if (r == 0 && (pipe2(pipe_out, O_CLOEXEC) < 0 || pipe2(pipe_err, O_CLOEXEC) < 0))
        r = -errno;
    for (int i = 0; r == 0 && i < 2; i++) {
        pipe_out[i] = above_stdio(pipe_out[i]);
        pipe_err[i] = above_stdio(pipe_err[i]);
        if (pipe_out[i] < 0 || pipe_err[i] < 0)
            r = pipe_out[i] < 0 ? pipe_out[i] : pipe_err[i];
    }
    if (r == 0 && fcntl(pipe_out[0], F_SETFL, O_NONBLOCK) < 0)
        r = -errno;
    if (r == 0) {
        long open_max = sysconf(_SC_OPEN_MAX);
        struct child_plan plan = {
            .path = path,
            .argv = args,
            .null_fd = null_fd,
            .out_fd = pipe_out[1],
            .err_fd = pipe_err[1],
            .fd_max = open_max > 0 && open_max < FD_LOOP_MAX ? (int)open_max : FD_LOOP_MAX,
        };
        sigemptyset(&plan.empty);
        r = run(&plan, &pipe_out[1], &pipe_err[1], pipe_out[0], pipe_err[0], ctx, out);
    }
    close_fd(&null_fd);
    for (int i = 0; i < 2; i++) {
        close_fd(&pipe_out[i]);
        close_fd(&pipe_err[i]);
    }
    return r;
}
