/*
 * Socket addresses from configuration text.
 */
#ifndef WARD_NET_H
#define WARD_NET_H

#include <sys/socket.h>

#include "common/buf.h"

/*
 * Resolves a listen address, "HOST:PORT", ":PORT" (every interface) or
 * "[V6]:PORT", to one socket address. Port 0 asks the kernel for a free one.
 * Returns 0, or -EINVAL with a message in err.
 */
int ward_listen_address(const char *address, struct sockaddr_storage *out, struct ward_buf *err);

#endif
