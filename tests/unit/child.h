/*
 * Tests that run their body in a child process: one that may unshare
 * namespaces, load a seccomp filter or change its user without touching
 * the test binary (which has threads, and more tests to run).
 */
#ifndef WARD_TEST_CHILD_H
#define WARD_TEST_CHILD_H

#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

/* In a child: on failure, says what and exits 1. */
#define CHILD_CHECK(cond)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "child: %s:%d: %s\n", __FILE__, __LINE__, #cond);                      \
            fflush(stderr);                                                                        \
            _exit(1);                                                                              \
        }                                                                                          \
    } while (0)

/* What a child returns when it cannot test here, having printed why. */
#define CHILD_SKIP 77

/*
 * Runs body(arg) in a child process and fails the test unless it returns
 * 0 within ms (the child is killed then); CHILD_SKIP skips the test.
 */
void run_in_child(int (*body)(void *), void *arg, int64_t ms);

#endif
