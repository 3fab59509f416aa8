/*
 * The agent's identity file.
 *
 * The id is written to a temporary file, synced and renamed into place, so
 * a crash never leaves a half-written id behind. A file that exists but
 * does not hold a UUID is an error rather than silently replaced: replacing
 * it would make the host appear as a new one on the server.
 */
#include "agent/identity.h"

#include "common/cleanup.h"
#include "common/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int read_id(const char *path, char id[WARD_UUID_STR_LEN], struct ward_buf *err)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    char text[64];
    ssize_t n = read(fd, text, sizeof(text) - 1);
    if (n < 0) {
        ward_buf_printf(err, "%s: %s", path, strerror(errno));
        return -errno;
    }
    text[n] = '\0';
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' '))
        text[--n] = '\0';
    if (ward_uuid_normalize(text, id) < 0) {
        ward_buf_printf(err, "%s: does not hold a UUID; fix or remove it", path);
        return -EINVAL;
    }
    return 0;
}

static int write_id(const char *dir, const char *path, const char *id, struct ward_buf *err)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof(tmp), "%s/.agent-id.tmp", dir) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        ward_buf_printf(err, "%s: %s", tmp, strerror(errno));
        return -errno;
    }
    char line[WARD_UUID_STR_LEN + 1];
    int n = snprintf(line, sizeof(line), "%s\n", id);
    if (write(fd, line, (size_t)n) != n || fsync(fd) < 0 || rename(tmp, path) < 0) {
        int e = errno ? errno : EIO;
        ward_buf_printf(err, "%s: %s", path, strerror(e));
        unlink(tmp);
        return -e;
    }
    return 0;
}

int ward_identity_load(const char *state_dir, char id[WARD_UUID_STR_LEN], struct ward_buf *err)
{
    char path[4096];
    if (snprintf(path, sizeof(path), "%s/agent-id", state_dir) >= (int)sizeof(path)) {
        ward_buf_printf(err, "state directory path too long");
        return -ENAMETOOLONG;
    }
    int r = read_id(path, id, err);
    if (r != -ENOENT)
        return r;
    if (mkdir(state_dir, 0700) < 0 && errno != EEXIST) {
        ward_buf_printf(err, "cannot create state directory %s: %s", state_dir, strerror(errno));
        return -errno;
    }
    char fresh[WARD_UUID_STR_LEN];
    r = ward_uuid_v7(fresh);
    if (r < 0) {
        ward_buf_printf(err, "cannot create an agent id: %s", ward_strerror(r));
        return r;
    }
    r = write_id(state_dir, path, fresh, err);
    if (r < 0)
        return r;
    memcpy(id, fresh, WARD_UUID_STR_LEN);
    return 0;
}
