/*
 * Time each thread of a process ran and waited for a CPU, from
 * /proc/PID/task/TID/schedstat, to tell a thread that is slow from one that
 * is not let run on a busy machine.
 */
#ifndef WARD_BENCH_PROC_SCHEDSTAT_H
#define WARD_BENCH_PROC_SCHEDSTAT_H

#include "proc-sample.h"

#include <stddef.h>
#include <stdint.h>

struct ward_sched_thread {
    int tid;
    char name[24];
    uint64_t run_ns, wait_ns;
};

/* The threads of one process at one moment, up to WARD_CPU_MAX_THREADS of them. */
struct ward_sched_snapshot {
    struct ward_sched_thread t[WARD_CPU_MAX_THREADS];
    size_t n;
};

/* Fills s for the threads of pid; a thread whose files cannot be read is left out. */
void ward_sched_take(int pid, struct ward_sched_snapshot *s);

/*
 * Prints one line to stdout: who, then for each thread of s1 that ran more
 * than 0.1% of a core since s0, its name, tid, CPU (cores) and time spent
 * runnable but waiting for a CPU (ms per s) over secs seconds.
 */
void ward_sched_print(const char *who, const struct ward_sched_snapshot *s0,
                      const struct ward_sched_snapshot *s1, double secs);

#endif
