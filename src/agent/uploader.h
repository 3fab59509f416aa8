/*
 * Uploads of encoded batches to ward-server over HTTP(S), with the agent's
 * own HTTP client (http-client.h).
 *
 * One uploader keeps one connection, so consecutive uploads reuse it.
 * Batches are gzip-compressed before they are sent. The agent's
 * registration (enroll.h) goes through an uploader of its own.
 */
#ifndef WARD_UPLOADER_H
#define WARD_UPLOADER_H

#include <stddef.h>

#include "agent/http-client.h"
#include "common/buf.h"

struct ward_uploader;

/*
 * Creates an uploader for the server at address: a URL ("http://host:8080",
 * "https://host/prefix") or "host:port", which means http. https peers are
 * verified against the system CA store. Returns 0, -EINVAL for an address
 * that is neither, or -ENOMEM.
 */
int ward_uploader_new(const char *address, long timeout_ms, struct ward_uploader **out);

/*
 * Like ward_uploader_new(), but https peers are verified against the CA
 * certificates in the PEM file ca_file instead (NULL or "": the system
 * store). Returns 0, -EINVAL, -ENOMEM, or WARD_E_HTTP with a message in err
 * when the CA file cannot be loaded.
 */
int ward_uploader_new_ca(const char *address, long timeout_ms, const char *ca_file,
                         struct ward_uploader **out, struct ward_buf *err);

/* Frees the uploader. Accepts NULL. */
void ward_uploader_free(struct ward_uploader *u);

/* The base URL in use, without a trailing slash. */
const char *ward_uploader_url(const struct ward_uploader *u);

/*
 * Signs every later request with key (HMAC-SHA256 over the timestamp and
 * the body as sent, in X-Ward-Signature and X-Ward-Timestamp; see
 * docs/api.md); NULL or "" stops signing. Returns 0 or -ENOMEM.
 */
int ward_uploader_set_key(struct ward_uploader *u, const char *key);

/* The header that carries the agent's API key. */
#define WARD_UPLOADER_API_KEY_HEADER "X-Agent-API-Key"

/*
 * Sends key in WARD_UPLOADER_API_KEY_HEADER with every later request; NULL
 * or "" stops sending one. This is the agent's credential on the server,
 * apart from the signing key of ward_uploader_set_key(). Returns 0,
 * -EINVAL when key is not a credential a client may present
 * (ward_cred_check(): it could not be a header value), or -ENOMEM.
 */
int ward_uploader_set_api_key(struct ward_uploader *u, const char *key);

/*
 * POSTs gzip-compressed JSON (body already compressed) to path. On a
 * completed exchange returns 0 and stores the HTTP status in *status; the
 * response body is appended to response (when not NULL, up to 64 KiB).
 * Returns WARD_E_HTTP with a message in err when no exchange took place
 * (connection refused, timeout, DNS, TLS).
 */
int ward_uploader_post_gzip(struct ward_uploader *u, const char *path, const void *body, size_t len,
                            long *status, struct ward_buf *response, struct ward_buf *err);

/*
 * POSTs uncompressed JSON (body, len) to path, with the extra header lines
 * in headers ("Name: value\r\n" each, may be NULL; at most a few hundred
 * bytes, else -EINVAL). Returns as ward_uploader_post_gzip().
 */
int ward_uploader_post_json(struct ward_uploader *u, const char *path, const char *headers,
                            const void *body, size_t len, long *status, struct ward_buf *response,
                            struct ward_buf *err);

/* GETs path. Returns as ward_uploader_post_gzip(). */
int ward_uploader_get(struct ward_uploader *u, const char *path, long *status,
                      struct ward_buf *response, struct ward_buf *err);

/*
 * GETs path with the extra header lines in headers ("Name: value\r\n" each,
 * may be NULL; at most a few hundred bytes, else -EINVAL), such as
 * If-None-Match. Returns as ward_uploader_post_gzip().
 */
int ward_uploader_get_headers(struct ward_uploader *u, const char *path, const char *headers,
                              long *status, struct ward_buf *response, struct ward_buf *err);

/*
 * The last completed response's status and its Date, Retry-After and ETag
 * header values ("" when absent), or NULL before the first one. Valid until
 * the next request.
 */
const struct ward_http_response *ward_uploader_last_response(const struct ward_uploader *u);

#endif
