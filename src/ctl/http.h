/*
 * wardctl's one way to talk to the server: a request with libcurl, and the
 * mapping of every failure to one line on stderr and an exit status.
 */
#ifndef WARD_CTL_HTTP_H
#define WARD_CTL_HTTP_H

#include "common/buf.h"
#include "ctl/ctl.h"
#include "ctl/table.h"

#include <stdbool.h>

/* Largest answer read from the server, in bytes. */
#define WARD_CTL_MAX_RESPONSE (64u << 20)

/* Whether a request carries the admin token. */
enum ward_ctl_auth {
    WARD_CTL_ANONYMOUS,
    WARD_CTL_BEARER, /* "Authorization: Bearer TOKEN" when cfg->token is set */
};

/*
 * Sends method to cfg->server + path (path already percent-encoded, see
 * ward_ctl_escape()), with json as an application/json body when not NULL.
 * body must be empty; it receives the answer, bounded by
 * WARD_CTL_MAX_RESPONSE, and the caller frees it with ward_buf_done()
 * whatever the result.
 *
 * Returns 0 on a 2xx answer. Otherwise it prints one line to stderr and
 * returns WARD_E_HTTP: "cannot reach the server at URL: reason" when there
 * is no answer; for 401 the server's error and a hint to --token or
 * WARD_TOKEN; for 403 "not allowed (403)" and the server's error; for any
 * other status the server's "error" member. -ENOMEM when memory runs out,
 * -EINVAL when the token cannot go into a header. The token never appears
 * in what is printed.
 */
int ward_ctl_request(const struct ward_ctl_config *cfg, const char *method, const char *path,
                     const struct ward_buf *json, enum ward_ctl_auth auth, struct ward_buf *body);

/*
 * One command's whole exchange: ward_ctl_request() with the token, then
 * the answer printed as it came with --json, else through render(body,
 * ctx). Returns the exit status: 0, or 1 when the request or the rendering
 * failed.
 */
int ward_ctl_call(const struct ward_ctl_config *cfg, const char *method, const char *path,
                  const struct ward_buf *json, ward_ctl_render_fn render, const void *ctx);

/*
 * Appends s to out percent-encoded, keeping only letters, digits, '-', '_'
 * and '~': '.' is encoded too, so an argument such as ".." stays one path
 * segment. Returns 0, -ENOMEM or WARD_E_LIMIT.
 */
int ward_ctl_escape(struct ward_buf *out, const char *s);

/*
 * Appends "&name=value" to a query in path, value percent-encoded as by
 * ward_ctl_escape(); nothing when value is NULL. Returns as that.
 */
int ward_ctl_add_param(struct ward_buf *path, const char *name, const char *value);

/*
 * Writes prefix, id percent-encoded and suffix (NULL for none) into the
 * empty buffer out: a path such as /api/v1/hosts/ID/rotate-key. Returns 0,
 * or -ENOMEM after printing "out of memory".
 */
int ward_ctl_path(struct ward_buf *out, const char *prefix, const char *id, const char *suffix);

/* One member of a request body; a NULL value leaves the member out. */
struct ward_ctl_member {
    const char *key;
    const char *value;
};

/*
 * Writes the JSON object of the n members into the empty buffer out.
 * Returns 0, or a negative error after printing "out of memory".
 */
int ward_ctl_json_object(struct ward_buf *out, const struct ward_ctl_member *m, size_t n);

/*
 * Clears a buffer that held a secret (a request body with a claim token)
 * and frees it.
 */
void ward_ctl_wipe(struct ward_buf *b);

#endif
