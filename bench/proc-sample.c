/*
 * CPU and I/O figures of the benchmark and of the server it drives, read
 * from /proc and getrusage() (see proc-sample.h).
 *
 * Every reader is best effort: a file that cannot be read leaves its figure
 * at zero, because a benchmark should still print its rate on a machine
 * where /proc is restricted.
 */
#include "proc-sample.h"

#include "common/parse.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads utime + stime of every thread of pid. Returns the number of threads read. */
static size_t read_threads(int pid, struct ward_thread_ticks *out, size_t max)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/task", pid);
    DIR *d = opendir(path);
    if (!d)
        return 0;
    size_t n = 0;
    struct dirent *e;
    while (n < max && (e = readdir(d))) {
        int64_t tid;
        if (ward_parse_int_range(e->d_name, 1, INT32_MAX, &tid) < 0)
            continue;
        char file[96], line[1024];
        snprintf(file, sizeof(file), "/proc/%d/task/%d/stat", pid, (int)tid);
        FILE *f = fopen(file, "re");
        if (!f)
            continue;
        bool ok = fgets(line, sizeof(line), f) != NULL;
        fclose(f);
        char *open = ok ? strchr(line, '(') : NULL, *shut = ok ? strrchr(line, ')') : NULL;
        if (!open || !shut || shut < open)
            continue;
        struct ward_thread_ticks *t = &out[n];
        size_t len = (size_t)(shut - open - 1);
        if (len >= sizeof(t->name))
            len = sizeof(t->name) - 1;
        memcpy(t->name, open + 1, len);
        t->name[len] = '\0';
        t->tid = (int)tid;
        /* After ") " come fields 3 onwards; utime and stime are fields 14 and 15. */
        char *p = shut + 2;
        for (int field = 3; field < 14 && p; field++) {
            p = strchr(p, ' ');
            if (p)
                p++;
        }
        if (!p)
            continue;
        char *endp;
        uint64_t ut = strtoull(p, &endp, 10), st = strtoull(endp, NULL, 10);
        t->ticks = ut + st;
        n++;
    }
    closedir(d);
    return n;
}

/* Reads rchar and wchar of pid from /proc/PID/io; they stay 0 if it cannot be read. */
static void read_io(int pid, struct ward_cpu_snapshot *s)
{
    char path[64], line[128];
    snprintf(path, sizeof(path), "/proc/%d/io", pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "rchar: ", 7) == 0)
            s->rchar = strtoull(line + 7, NULL, 10);
        else if (strncmp(line, "wchar: ", 7) == 0)
            s->wchar = strtoull(line + 7, NULL, 10);
    }
    fclose(f);
}

/* Reads the busy ticks of all CPUs from the first line of /proc/stat. */
static uint64_t read_machine_busy(void)
{
    char line[512];
    FILE *f = fopen("/proc/stat", "re");
    if (!f)
        return 0;
    bool ok = fgets(line, sizeof(line), f) != NULL && strncmp(line, "cpu ", 4) == 0;
    fclose(f);
    uint64_t busy = 0;
    char *p = line + 4;
    /* user nice system idle iowait irq softirq steal; guest time is already in user. */
    for (int field = 0; ok && field < 8; field++) {
        char *end;
        uint64_t v = strtoull(p, &end, 10);
        if (end == p)
            break;
        if (field != 3 && field != 4)
            busy += v;
        p = end;
    }
    return busy;
}

void ward_cpu_snapshot_take(int server_pid, struct ward_cpu_snapshot *s)
{
    getrusage(RUSAGE_SELF, &s->self);
    s->n_server = server_pid ? read_threads(server_pid, s->server, WARD_CPU_MAX_THREADS) : 0;
    s->machine_busy = read_machine_busy();
    if (server_pid)
        read_io(server_pid, s);
}

double ward_cpu_self_seconds(const struct ward_cpu_snapshot *s0, const struct ward_cpu_snapshot *s1,
                             bool user)
{
    const struct timeval *a = user ? &s0->self.ru_utime : &s0->self.ru_stime;
    const struct timeval *b = user ? &s1->self.ru_utime : &s1->self.ru_stime;
    return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_usec - a->tv_usec) / 1e6;
}

/* Server ticks between the snapshots, in total and per thread name in sum (n of them). */
uint64_t ward_cpu_server_ticks(const struct ward_cpu_snapshot *s0,
                               const struct ward_cpu_snapshot *s1, struct ward_thread_ticks *sum,
                               int *count, size_t *n)
{
    uint64_t total = 0;
    *n = 0;
    for (size_t i = 0; i < s1->n_server; i++) {
        const struct ward_thread_ticks *t = &s1->server[i];
        uint64_t before = 0;
        for (size_t j = 0; j < s0->n_server; j++)
            if (s0->server[j].tid == t->tid)
                before = s0->server[j].ticks;
        size_t k = 0;
        while (k < *n && strcmp(sum[k].name, t->name) != 0)
            k++;
        if (k == *n) {
            sum[k] = (struct ward_thread_ticks){0};
            memcpy(sum[k].name, t->name, sizeof(sum[k].name));
            count[k] = 0;
            (*n)++;
        }
        sum[k].ticks += t->ticks - before;
        count[k]++;
        total += t->ticks - before;
    }
    return total;
}

long ward_proc_status(int pid, const char *key)
{
    char path[64], line[256];
    size_t k = strlen(key);
    long v = -1;
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, key, k) == 0 && line[k] == ':') {
            v = strtol(line + k + 1, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}
