/*
 * Per-thread run and wait times from /proc/PID/task/TID/schedstat (see
 * proc-schedstat.h).
 *
 * The first two fields of schedstat are the nanoseconds the thread ran on a
 * CPU and the nanoseconds it was runnable but waited for one. The wait is
 * what tells a thread that is slow from one that is not let run, which on a
 * machine shared by the generator, its clients and the server is the first
 * question about any latency spike. Like proc-sample.c, every read is best
 * effort: a thread that ends or a file that cannot be read is left out.
 */
#include "proc-schedstat.h"

#include "common/parse.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool read_line(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    bool ok = fgets(buf, (int)size, f) != NULL;
    fclose(f);
    return ok;
}

void ward_sched_take(int pid, struct ward_sched_snapshot *s)
{
    char path[96], line[256];
    s->n = 0;
    snprintf(path, sizeof(path), "/proc/%d/task", pid);
    DIR *d = opendir(path);
    if (!d)
        return;
    struct dirent *e;
    while (s->n < WARD_CPU_MAX_THREADS && (e = readdir(d))) {
        int64_t tid;
        if (ward_parse_int_range(e->d_name, 1, INT32_MAX, &tid) < 0)
            continue;
        struct ward_sched_thread *t = &s->t[s->n];
        snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", pid, (int)tid);
        if (!read_line(path, t->name, sizeof(t->name)))
            continue;
        t->name[strcspn(t->name, "\n")] = '\0';
        snprintf(path, sizeof(path), "/proc/%d/task/%d/schedstat", pid, (int)tid);
        if (!read_line(path, line, sizeof(line)))
            continue;
        char *end;
        t->run_ns = strtoull(line, &end, 10);
        t->wait_ns = strtoull(end, NULL, 10);
        t->tid = (int)tid;
        s->n++;
    }
    closedir(d);
}

void ward_sched_print(const char *who, const struct ward_sched_snapshot *s0,
                      const struct ward_sched_snapshot *s1, double secs)
{
    printf("%s, per thread: CPU (cores) and time runnable but waiting for a CPU (ms per s):", who);
    for (size_t i = 0; i < s1->n; i++) {
        const struct ward_sched_thread *t = &s1->t[i];
        uint64_t run = t->run_ns, wait = t->wait_ns;
        for (size_t j = 0; j < s0->n; j++)
            if (s0->t[j].tid == t->tid) {
                run -= s0->t[j].run_ns;
                wait -= s0->t[j].wait_ns;
            }
        if (run > (uint64_t)(secs * 1e6)) /* more than 0.1% of a core */
            printf(" %s/%d %.3f %.1f;", t->name, t->tid, (double)run / 1e9 / secs,
                   (double)wait / 1e6 / secs);
    }
    printf("\n");
}
