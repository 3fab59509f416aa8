/*
 * The agent's identity: a UUIDv7 created on first start and kept in the
 * state directory, so a host keeps its id across restarts; and the small
 * files kept next to it (the claim token, the API key: enroll.h).
 */
#ifndef WARD_IDENTITY_H
#define WARD_IDENTITY_H

#include <stddef.h>

#include "common/buf.h"
#include "common/uuid.h"

/*
 * Loads the id from STATE_DIR/agent-id, or creates the directory (0700) and
 * the file (0600, written atomically) with a new id. Returns 0, or a negative
 * error with a message in err.
 */
int ward_identity_load(const char *state_dir, char id[WARD_UUID_STR_LEN], struct ward_buf *err);

/*
 * Reads the small text file STATE_DIR/name into out (size bytes), without
 * trailing white space, NUL-terminated. Returns its length; -ENOENT when
 * there is no such file (without a message); -EFBIG when it does not fit
 * out, or another negative error, with a message in err.
 */
int ward_state_file_read(const char *state_dir, const char *name, char *out, size_t size,
                         struct ward_buf *err);

/*
 * Reads the whole file STATE_DIR/name, of at most max bytes, into out
 * (replacing what it held; NUL-terminated, as every buffer is), for files
 * larger than ward_state_file_read() takes. Returns its length; -ENOENT
 * when there is no such file (without a message); -EFBIG when it is larger
 * than max, or another negative error, with a message in err.
 */
int ward_state_file_load(const char *state_dir, const char *name, size_t max, struct ward_buf *out,
                         struct ward_buf *err);

/*
 * Writes text and a newline to STATE_DIR/name, mode 0600, atomically: into
 * STATE_DIR/.name.tmp, synced, then renamed over name, so a crash leaves
 * either the old file or the new one. Returns 0, or a negative error with a
 * message in err.
 */
int ward_state_file_write(const char *state_dir, const char *name, const char *text,
                          struct ward_buf *err);

/*
 * Removes STATE_DIR/name; one that is not there is fine. Returns 0, or a
 * negative error with a message in err.
 */
int ward_state_file_remove(const char *state_dir, const char *name, struct ward_buf *err);

#endif
