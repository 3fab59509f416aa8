/*
 * The set of mount points (mount-set.h): every mount point of a mountinfo
 * file, and every directory that holds one, in one hash table keyed by
 * path.
 *
 * The table is open addressing with linear probing over a power of two of
 * slots, kept at most half full; a slot is a path (its own allocation),
 * whether it is a mount point, whether it holds one, and the type of the
 * filesystem mounted there. Lookups take a length, so a walk can ask about
 * a prefix of its path buffer without copying it. A line is read into a
 * fixed buffer of MOUNTINFO_LINE bytes; a longer one, or one past
 * WARD_MOUNT_SET_MAX mount points, is not added and the set says so, for
 * its user to fall back on other means (disk_usage on st_dev).
 *
 * When mounts are stacked on one point, the later line is the upper mount
 * (its parent is the one under it, and mountinfo lists parents first), so
 * the later line's type is kept: it is the filesystem a path lookup meets.
 */
#include "agent/diagnostics/mount-set.h"

#include "agent/diagnostics/diagnostics.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bytes of a mountinfo line looked at. */
#define MOUNTINFO_LINE 8192

/* A path in the set: a mount point itself, a directory holding one, or both. */
struct mount_slot {
    char *path;   /* NULL: an empty slot */
    char *fstype; /* of a mount point, or NULL */
    bool point, holds;
};

struct ward_mount_set {
    struct mount_slot *slots;
    size_t size, n, points; /* size: a power of two, or 0 */
    int error;              /* why the table is not known in full, or 0 */
};

/*
 * The filesystems whose calls may wait on a server or a daemon. A "fuse."
 * prefix covers every FUSE subtype (fuse.sshfs, fuse.rclone, ...), and
 * "fuse" and "fuseblk" the mounts without one.
 */
static const char *const remote_types[] = {
    "nfs", "nfs4",      "cifs",  "smb3",   "smbfs",    "fuse",   "fuseblk", "9p",     "ceph",
    "afs", "glusterfs", "sshfs", "autofs", "virtiofs", "lustre", "gpfs",    "beegfs", "davfs",
};
#define FUSE_SUBTYPE "fuse."

bool ward_mount_fstype_remote(const char *fstype)
{
    if (!fstype)
        return false;
    if (strncmp(fstype, FUSE_SUBTYPE, strlen(FUSE_SUBTYPE)) == 0)
        return true;
    for (size_t i = 0; i < sizeof(remote_types) / sizeof(remote_types[0]); i++)
        if (strcmp(fstype, remote_types[i]) == 0)
            return true;
    return false;
}

static uint64_t hash_path(const char *p, size_t len)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)p[i]) * UINT64_C(0x100000001b3);
    return h;
}

/* The slot of path p (len bytes) in s: its own, or the empty one where it would go. */
static struct mount_slot *set_slot(const struct ward_mount_set *s, const char *p, size_t len)
{
    size_t i = (size_t)hash_path(p, len) & (s->size - 1);
    while (s->slots[i].path &&
           (strncmp(s->slots[i].path, p, len) != 0 || s->slots[i].path[len] != '\0'))
        i = (i + 1) & (s->size - 1);
    return &s->slots[i];
}

/* The slot of p in s, or NULL. */
static const struct mount_slot *set_find(const struct ward_mount_set *s, const char *p, size_t len)
{
    if (s->size == 0)
        return NULL;
    const struct mount_slot *slot = set_slot(s, p, len);
    return slot->path ? slot : NULL;
}

/* The slot of p in s, added when missing. Returns NULL when out of memory. */
static struct mount_slot *set_add(struct ward_mount_set *s, const char *p, size_t len)
{
    if (2 * (s->n + 1) > s->size) {
        struct ward_mount_set bigger = {.size = s->size ? 2 * s->size : 64, .n = s->n};
        if (!(bigger.slots = calloc(bigger.size, sizeof(*bigger.slots))))
            return NULL;
        for (size_t i = 0; i < s->size; i++)
            if (s->slots[i].path)
                *set_slot(&bigger, s->slots[i].path, strlen(s->slots[i].path)) = s->slots[i];
        free(s->slots);
        s->slots = bigger.slots;
        s->size = bigger.size;
    }
    struct mount_slot *slot = set_slot(s, p, len);
    if (!slot->path) {
        if (!(slot->path = strndup(p, len)))
            return NULL;
        s->n++;
    }
    return slot;
}

/* Adds the mount point of one mountinfo line (its fifth field) to s. Returns 0 or -errno. */
static int add_mount_line(struct ward_mount_set *s, char *line)
{
    struct ward_diag_mount_line l;
    if (ward_diag_mount_line(line, &l) < 0 || l.mountpoint[0] != '/')
        return -EINVAL;
    char *field = l.mountpoint;
    const char *type = l.fstype && l.fstype[0] ? l.fstype : NULL;
    size_t len = strlen(field);
    struct mount_slot *slot = set_add(s, field, len);
    if (!slot)
        return -ENOMEM;
    if (!slot->point) {
        slot->point = true;
        s->points++;
    }
    free(slot->fstype); /* a mount stacked on an earlier one: the upper counts */
    slot->fstype = NULL;
    if (type && !(slot->fstype = strdup(type)))
        return -ENOMEM;
    if (len == 1)
        return 0; /* "/" is in no directory */
    size_t parent = (size_t)(strrchr(field, '/') - field);
    slot = set_add(s, field, parent ? parent : 1);
    if (!slot)
        return -ENOMEM;
    slot->holds = true;
    return 0;
}

/* Reads the mount points of the mountinfo file at path into s; s->error says what was missed. */
static void load_mounts(struct ward_mount_set *s, const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        s->error = -errno;
        return;
    }
    char *line = malloc(MOUNTINFO_LINE);
    if (!line) {
        s->error = -ENOMEM;
        fclose(f);
        return;
    }
    ssize_t n;
    bool cut;
    while ((n = ward_diag_read_line(f, line, MOUNTINFO_LINE, &cut)) >= 0) {
        int r = n == 0 ? 0 : cut ? -ENAMETOOLONG : s->points == WARD_MOUNT_SET_MAX ? -E2BIG : 0;
        if (r == 0 && n > 0)
            r = add_mount_line(s, line);
        if (r < 0 && s->error == 0)
            s->error = r;
    }
    if (ferror(f) && s->error == 0)
        s->error = -EIO;
    fclose(f);
    free(line);
}

struct ward_mount_set *ward_mount_set_new(const char *path)
{
    struct ward_mount_set *s = calloc(1, sizeof(*s));
    if (s)
        load_mounts(s, path);
    return s;
}

void ward_mount_set_free(struct ward_mount_set *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->size; i++) {
        free(s->slots[i].path);
        free(s->slots[i].fstype);
    }
    free(s->slots);
    free(s);
}

int ward_mount_set_error(const struct ward_mount_set *s)
{
    return s->error;
}

bool ward_mount_set_is_point(const struct ward_mount_set *s, const char *path, size_t len)
{
    const struct mount_slot *slot = set_find(s, path, len);
    return slot && slot->point;
}

bool ward_mount_set_holds(const struct ward_mount_set *s, const char *path, size_t len)
{
    const struct mount_slot *slot = set_find(s, path, len);
    return slot && slot->holds;
}

const char *ward_mount_set_fstype(const struct ward_mount_set *s, const char *path, size_t len)
{
    const struct mount_slot *slot = set_find(s, path, len);
    return slot && slot->point ? slot->fstype : NULL;
}
