/*
 * CPU and I/O figures from /proc, for benchmarks that share the machine
 * with what they measure: this process's CPU time, the server's CPU time
 * per thread, the bytes the server read and wrote, and the busy time of the
 * whole machine, so that other load shows next to the figures.
 */
#ifndef WARD_BENCH_PROC_SAMPLE_H
#define WARD_BENCH_PROC_SAMPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>

#define WARD_CPU_MAX_THREADS 256

struct ward_thread_ticks {
    int tid;
    char name[24];
    uint64_t ticks;
};

/* CPU time of this process and of each server thread at one moment. */
struct ward_cpu_snapshot {
    struct rusage self;
    struct ward_thread_ticks server[WARD_CPU_MAX_THREADS];
    size_t n_server;
    uint64_t machine_busy; /* ticks of all CPUs, idle and iowait excluded */
    uint64_t rchar, wchar; /* bytes the server read and wrote through system calls */
};

/* The figure of key in /proc/PID/status (kB for memory, a count for Threads), or -1. */
long ward_proc_status(int pid, const char *key);

/* Fills s for this process and, when server_pid is not 0, for that process. */
void ward_cpu_snapshot_take(int server_pid, struct ward_cpu_snapshot *s);

/* This process's user (or system) CPU seconds between two snapshots. */
double ward_cpu_self_seconds(const struct ward_cpu_snapshot *s0, const struct ward_cpu_snapshot *s1,
                             bool user);

/*
 * The server's CPU ticks between two snapshots: the total, and per thread
 * name in sum (with the number of threads of that name in count); *n is the
 * number of names, at most WARD_CPU_MAX_THREADS.
 */
uint64_t ward_cpu_server_ticks(const struct ward_cpu_snapshot *s0,
                               const struct ward_cpu_snapshot *s1, struct ward_thread_ticks *sum,
                               int *count, size_t *n);

#endif
