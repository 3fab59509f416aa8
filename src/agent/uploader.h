/*
 * Uploads of encoded batches to ward-server over HTTP(S), with libcurl.
 *
 * One uploader keeps one curl handle, so consecutive uploads reuse the
 * connection. Bodies are gzip-compressed before they are sent.
 */
#ifndef WARD_UPLOADER_H
#define WARD_UPLOADER_H

#include <stddef.h>

#include "common/buf.h"

struct ward_uploader;

/*
 * Creates an uploader for the server at address: a URL ("http://host:8080")
 * or "host:port", which means http. Returns 0, -EINVAL for an address that
 * is neither, or -ENOMEM.
 */
int ward_uploader_new(const char *address, long timeout_ms, struct ward_uploader **out);

/* Frees the uploader. Accepts NULL. */
void ward_uploader_free(struct ward_uploader *u);

/* The base URL in use, without a trailing slash. */
const char *ward_uploader_url(const struct ward_uploader *u);

/*
 * POSTs gzip-compressed JSON (body already compressed) to path. On a
 * completed exchange returns 0 and stores the HTTP status in *status; the
 * response body is appended to response (when not NULL, up to 64 KiB).
 * Returns WARD_E_HTTP with a message in err when no exchange took place
 * (connection refused, timeout, DNS).
 */
int ward_uploader_post_gzip(struct ward_uploader *u, const char *path, const void *body, size_t len,
                            long *status, struct ward_buf *response, struct ward_buf *err);

#endif
