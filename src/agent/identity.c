/*
 * The agent's identity file, and the other small files of its state
 * directory.
 *
 * A file is written to a temporary file, synced and renamed into place, so
 * a crash never leaves a half-written id (or key) behind. Every file is
 * created with mode 0600: the claim token and the API key are secrets, and
 * the id is nobody else's business. An id file that exists but does not
 * hold a UUID is an error rather than silently replaced: replacing it would
 * make the host appear as a new one on the server.
 */
#include "agent/identity.h"

#include "common/cleanup.h"
#include "common/error.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Largest state file read (the files hold one short line). */
#define STATE_FILE_MAX 4096

static int state_path(const char *dir, const char *prefix, const char *name, const char *suffix,
                      char path[4096], struct ward_buf *err)
{
    if (snprintf(path, 4096, "%s/%s%s%s", dir, prefix, name, suffix) >= 4096) {
        ward_buf_printf(err, "state directory path too long");
        return -ENAMETOOLONG;
    }
    return 0;
}

int ward_state_file_load(const char *state_dir, const char *name, size_t max, struct ward_buf *out,
                         struct ward_buf *err)
{
    char path[4096];
    int r = state_path(state_dir, "", name, "", path, err);
    if (r < 0)
        return r;
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        r = -errno;
        if (r != -ENOENT)
            ward_buf_printf(err, "%s: %s", path, strerror(-r));
        return r;
    }
    ward_buf_reset(out);
    for (;;) {
        /* One byte more than max, to tell a file of max bytes from a larger one. */
        size_t want = max + 1 - out->len < 4096 ? max + 1 - out->len : 4096;
        r = ward_buf_reserve(out, want);
        if (r < 0) {
            ward_buf_printf(err, "%s: %s", path, ward_strerror(r));
            return r;
        }
        ssize_t got = read(fd, out->data + out->len, want);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            r = -errno;
            ward_buf_printf(err, "%s: %s", path, strerror(-r));
            return r;
        }
        if (got == 0)
            break;
        out->len += (size_t)got;
        out->data[out->len] = '\0';
        if (out->len > max) {
            ward_buf_printf(err, "%s: larger than %zu bytes", path, max);
            return -EFBIG;
        }
    }
    return out->len > INT_MAX ? -EFBIG : (int)out->len;
}

int ward_state_file_read(const char *state_dir, const char *name, char *out, size_t size,
                         struct ward_buf *err)
{
    /* One read of up to STATE_FILE_MAX bytes: the buffer never moves, so one wipe clears it. */
    struct ward_buf text = WARD_BUF_INIT;
    int r = ward_buf_reserve(&text, STATE_FILE_MAX + 1);
    if (r == 0)
        r = ward_state_file_load(state_dir, name, STATE_FILE_MAX, &text, err);
    size_t n = r > 0 ? (size_t)r : 0;
    while (n > 0 && (text.data[n - 1] == '\n' || text.data[n - 1] == '\r' ||
                     text.data[n - 1] == ' ' || text.data[n - 1] == '\t'))
        n--;
    if (r >= 0 && n >= size) {
        ward_buf_printf(err, "%s/%s: longer than %zu bytes", state_dir, name, size - 1);
        r = -EFBIG;
    } else if (r >= 0) {
        memcpy(out, text.data, n);
        out[n] = '\0';
        r = (int)n;
    }
    if (text.data)
        explicit_bzero(text.data, text.cap);
    ward_buf_done(&text);
    return r;
}

int ward_state_file_write(const char *state_dir, const char *name, const char *text,
                          struct ward_buf *err)
{
    char path[4096], tmp[4096];
    int r = state_path(state_dir, "", name, "", path, err);
    if (r == 0)
        r = state_path(state_dir, ".", name, ".tmp", tmp, err);
    if (r < 0)
        return r;
    _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        ward_buf_printf(err, "%s: %s", tmp, strerror(errno));
        return -errno;
    }
    size_t len = strlen(text);
    errno = 0;
    if (write(fd, text, len) != (ssize_t)len || write(fd, "\n", 1) != 1 || fsync(fd) < 0 ||
        rename(tmp, path) < 0) {
        int e = errno ? errno : EIO;
        ward_buf_printf(err, "%s: %s", path, strerror(e));
        unlink(tmp);
        return -e;
    }
    /* The rename is durable only once the directory is: a key is handed out once. */
    _cleanup_close_ int dir = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0 || fsync(dir) < 0) {
        ward_buf_printf(err, "%s: %s", state_dir, strerror(errno));
        return -errno;
    }
    return 0;
}

int ward_state_file_remove(const char *state_dir, const char *name, struct ward_buf *err)
{
    char path[4096];
    int r = state_path(state_dir, "", name, "", path, err);
    if (r < 0)
        return r;
    if (unlink(path) < 0 && errno != ENOENT) {
        ward_buf_printf(err, "cannot remove %s: %s", path, strerror(errno));
        return -errno;
    }
    return 0;
}

int ward_identity_load(const char *state_dir, char id[WARD_UUID_STR_LEN], struct ward_buf *err)
{
    char text[64];
    int r = ward_state_file_read(state_dir, "agent-id", text, sizeof(text), err);
    if (r == -EFBIG || (r >= 0 && ward_uuid_normalize(text, id) < 0)) {
        ward_buf_reset(err);
        ward_buf_printf(err, "%s/agent-id: does not hold a UUID; fix or remove it", state_dir);
        return -EINVAL;
    }
    if (r != -ENOENT)
        return r < 0 ? r : 0;
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
    r = ward_state_file_write(state_dir, "agent-id", fresh, err);
    if (r < 0)
        return r;
    memcpy(id, fresh, WARD_UUID_STR_LEN);
    return 0;
}
