/*
 * The agent's identity: a UUIDv7 created on first start and kept in the
 * state directory, so a host keeps its id across restarts.
 */
#ifndef WARD_IDENTITY_H
#define WARD_IDENTITY_H

#include "common/buf.h"
#include "common/uuid.h"

/*
 * Loads the id from STATE_DIR/agent-id, or creates the directory (0700) and
 * the file (0600, written atomically) with a new id. Returns 0, or a negative
 * error with a message in err.
 */
int ward_identity_load(const char *state_dir, char id[WARD_UUID_STR_LEN], struct ward_buf *err);

#endif
