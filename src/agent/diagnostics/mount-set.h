/*
 * The mount points of a mountinfo file (proc(5)), in a hash set that
 * answers, for a path, whether it is a mount point, whether it is a
 * directory holding one, and the filesystem type mounted there.
 *
 * disk_usage reads it once before it opens its path, so that it never
 * stats or enters a mount point under the path, and so that it can ask a
 * network or FUSE filesystem on the way to the path whether it answers
 * before it opens anything there.
 */
#ifndef WARD_MOUNT_SET_H
#define WARD_MOUNT_SET_H

#include <stdbool.h>
#include <stddef.h>

/* Mount points a set holds at most; with more, ward_mount_set_error() is -E2BIG. */
#define WARD_MOUNT_SET_MAX 65536

struct ward_mount_set;

/*
 * Reads the mount points of the mountinfo file at path (for the host:
 * "/proc/self/mountinfo"). A table read in part (unreadable, a line over
 * 8 KiB, more than WARD_MOUNT_SET_MAX mounts, out of memory on the way)
 * still gives a set of what was read; ward_mount_set_error() says what
 * went wrong. Returns the set, which the caller frees with
 * ward_mount_set_free(), or NULL when out of memory.
 */
struct ward_mount_set *ward_mount_set_new(const char *path);

/* Frees s; NULL is allowed. */
void ward_mount_set_free(struct ward_mount_set *s);

/* 0 when the whole table was read; else the first error (-E2BIG: too many mounts). */
int ward_mount_set_error(const struct ward_mount_set *s);

/* True when the path of len bytes (no trailing '/' but for "/") is a mount point. */
bool ward_mount_set_is_point(const struct ward_mount_set *s, const char *path, size_t len);

/* True when the directory at the path of len bytes holds a mount point as an entry. */
bool ward_mount_set_holds(const struct ward_mount_set *s, const char *path, size_t len);

/*
 * The type of the filesystem mounted at the path of len bytes ("nfs4",
 * "fuse.sshfs"), owned by s; the last one mounted there when several are
 * stacked. NULL when the path is not a mount point or its line had no type.
 */
const char *ward_mount_set_fstype(const struct ward_mount_set *s, const char *path, size_t len);

/*
 * True when fstype is served over the network or by a user-space daemon,
 * so that any call into it may block for as long as a server or a daemon
 * does not answer. The one list is remote_types in mount-set.c: NFS,
 * SMB/CIFS, 9p, Ceph, GlusterFS, AFS, sshfs, and FUSE (fuse, fuseblk and
 * every fuse.SUBTYPE). False for NULL.
 */
bool ward_mount_fstype_remote(const char *fstype);

#endif
