/*
 * The filesystem-size collector's seam for tests.
 *
 * The collector asks for filesystem sizes through a function pointer, the
 * way SQLite routes its system calls through a table: a test swaps in a
 * function that returns synthetic sizes for fixture paths, fails, or blocks
 * until released, and so checks exact values and the deadline without a
 * real hung mount.
 */
#ifndef WARD_PROC_MOUNTINFO_H
#define WARD_PROC_MOUNTINFO_H

#include <sys/statvfs.h>

/*
 * Fills *out for the filesystem holding path (root already prefixed).
 * Returns 0, or -1 with errno set, as statvfs(3) does; the default is
 * statvfs itself. It runs on a worker thread and may block: the collector
 * waits for it at most statvfs_timeout_ms. Set it before collecting, not
 * while a collection runs.
 */
extern int (*ward_disk_statvfs)(const char *path, struct statvfs *out);

#endif
