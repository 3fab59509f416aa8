/*
 * Header parsing of the HTTP layer that needs no connection: which content
 * codings a client accepts, whether a token list holds a token, and which
 * CORS origins the server allows.
 *
 * Kept apart from the MHD plumbing so that these parsers, which read
 * untrusted header values, are tested and fuzzed on their own.
 */
#ifndef WARD_HTTP_UTIL_H
#define WARD_HTTP_UTIL_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"

/* Longest Origin header that is compared with the configured origins. */
#define WARD_HTTP_ORIGIN_MAX 256

/* Most CORS origins a server takes from its configuration. */
#define WARD_HTTP_MAX_ORIGINS 64

/* Longest Accept-Encoding value that is looked at; the rest is ignored. */
#define WARD_HTTP_ACCEPT_ENCODING_MAX 1024

/*
 * Returns true when an Accept-Encoding value (RFC 9110, 12.5.3) lets the
 * response be gzipped: a "gzip" or "x-gzip" coding with a q-value above 0,
 * or, when neither is named, "*" with a q-value above 0. Tokens are
 * case-insensitive; an element with a malformed q-value is ignored. NULL
 * or "" gives false.
 */
bool ward_http_accepts_gzip(const char *accept_encoding);

/* Longest token-list header value (Connection, Upgrade) that is looked at. */
#define WARD_HTTP_TOKEN_LIST_MAX 1024

/*
 * Returns true when a comma-separated header value such as Connection
 * ("keep-alive, Upgrade") holds token, ignoring case and whitespace around
 * the elements. Only the first WARD_HTTP_TOKEN_LIST_MAX bytes are looked
 * at. NULL gives false.
 */
bool ward_http_has_token(const char *value, const char *token);

/* The origins a server allows; see ward_http_origins_init(). */
struct ward_http_origins {
    char **list; /* lowercased, without a trailing '/' */
    size_t n;
    bool any; /* "*" was given */
};

/*
 * Fills o from n origins plus the comma-separated origins in csv (either
 * may be empty; csv may be NULL). An origin is "*" or
 * "scheme://host[:port]" in printable ASCII of at most WARD_HTTP_ORIGIN_MAX
 * bytes; one trailing '/' is dropped and letters are lowercased. Returns 0,
 * -EINVAL with a message in err for a malformed origin, WARD_E_LIMIT for
 * more than WARD_HTTP_MAX_ORIGINS, or -ENOMEM. On failure o is empty.
 */
int ward_http_origins_init(struct ward_http_origins *o, const char *const *origins, size_t n,
                           const char *csv, struct ward_buf *err);

/* Frees the list; o is empty afterwards. */
void ward_http_origins_done(struct ward_http_origins *o);

/*
 * Returns true when a request's Origin header value is allowed: it is
 * well-formed (printable ASCII without spaces, at most WARD_HTTP_ORIGIN_MAX
 * bytes) and either "*" is configured or it equals a configured origin,
 * ignoring case. NULL gives false.
 */
bool ward_http_origins_allow(const struct ward_http_origins *o, const char *origin);

/*
 * Returns true when an Origin header value names the server itself: its
 * "host[:port]" after "scheme://" equals the request's Host header,
 * ignoring case. A browser sends Origin with its own page's address on
 * same-origin writes too. NULL for either gives false.
 */
bool ward_http_same_origin(const char *origin, const char *host);

#endif
