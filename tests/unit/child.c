/* Test bodies in a child process (child.h). */
#include "child.h"

#include "common/time-util.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/wait.h>

#include <cmocka.h>

void run_in_child(int (*body)(void *), void *arg, int64_t ms)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int rc = body(arg);
        fflush(stdout);
        _exit(rc);
    }
    int status = 0;
    pid_t w;
    int64_t end = ward_mono_ms() + ms;
    while ((w = waitpid(pid, &status, WNOHANG)) == 0 && ward_mono_ms() < end)
        usleep(10000);
    if (w == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        fail_msg("the child did not end within %lld ms", (long long)ms);
    }
    assert_int_equal(w, pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == CHILD_SKIP)
        skip();
    assert_int_equal(WEXITSTATUS(status), 0);
}
