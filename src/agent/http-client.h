/*
 * The agent's HTTP/1.1 client: POST and GET requests to one server over one
 * kept-alive connection, plain or TLS, every step bounded in time and size.
 */
#ifndef WARD_HTTP_CLIENT_H
#define WARD_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

/* Longest host name or address literal in a URL. */
#define WARD_HTTP_HOST_MAX 255
/* Longest path prefix in a URL. */
#define WARD_HTTP_PREFIX_MAX 1024
/* Largest response head (status line and headers). */
#define WARD_HTTP_HEAD_MAX (16 * 1024)
/* Most header lines in a response. */
#define WARD_HTTP_HEADERS_MAX 100
/* Response body bytes kept for the caller; the rest is read and dropped. */
#define WARD_HTTP_BODY_KEEP (64 * 1024)
/* Response body bytes read at all; past this the connection is closed. */
#define WARD_HTTP_BODY_MAX (1024 * 1024)

/* A parsed base URL. */
struct ward_http_url {
    bool tls;                              /* https */
    char host[WARD_HTTP_HOST_MAX + 1];     /* without brackets for IPv6 literals */
    char port[6];                          /* digits; 80 or 443 when not given */
    char prefix[WARD_HTTP_PREFIX_MAX + 1]; /* "" or "/some/path", no trailing slash */
};

/*
 * Parses "http://HOST[:PORT][/PREFIX]" or "https://...", HOST a name, an
 * IPv4 address or a bracketed IPv6 literal. Query strings, fragments,
 * user info and other schemes are refused. Returns 0 or -EINVAL.
 */
int ward_http_url_parse(const char *url, struct ward_http_url *out);

/* What the client reports of a response besides the status and body. */
/* What ward-server answers when it asks for a credential (a 401 about the key). */
#define WARD_HTTP_WARD_CHALLENGE "Bearer realm=\"ward\""

struct ward_http_response {
    long status;
    char date[64];        /* the Date header, "" when absent or too long */
    char retry_after[64]; /* the Retry-After header, "" when absent or too long */
    char etag[128];       /* the ETag header, "" when absent or too long */
    /*
     * The response carried WWW-Authenticate: ward-server sends it with a 401
     * about the credential (no, an unknown or a revoked key), and not with a
     * 401 about the request's signature.
     */
    bool www_authenticate; /* WWW-Authenticate was ward's WARD_HTTP_WARD_CHALLENGE */
};

/* Parses an HTTP-date (RFC 9110, IMF-fixdate) into Unix ms; false when it is not one. */
bool ward_http_date_parse(const char *s, int64_t *ms);

/*
 * The wait hr's Retry-After asks for, in ms: whole seconds or an
 * HTTP-date, at most an hour. 0 when hr is NULL or the header is absent,
 * unusable or in the past.
 */
int64_t ward_http_retry_after_ms(const struct ward_http_response *hr);

struct ward_http_client_config {
    const char *url;     /* the base URL, see ward_http_url_parse() */
    const char *ca_file; /* PEM CA file for https; NULL or "" for the system store */
    const char *user_agent;
    int64_t timeout_ms;         /* one whole request, connection included */
    int64_t connect_timeout_ms; /* the TCP connect; 0 means timeout_ms */
};

struct ward_http_client;

/*
 * Creates a client for cfg->url. Nothing is connected yet. Returns 0,
 * -EINVAL for a bad URL, -ENOMEM, or WARD_E_HTTP (TLS settings, e.g. an
 * unreadable CA file) with a message in err.
 */
int ward_http_client_new(const struct ward_http_client_config *cfg, struct ward_http_client **out,
                         struct ward_buf *err);

/* Closes the connection and frees the client. Accepts NULL. */
void ward_http_client_free(struct ward_http_client *c);

/*
 * Sends a request with method ("POST", "GET"; a constant of the caller's)
 * and body data of len bytes (NULL and 0 for none) to the URL's prefix
 * followed by path, with the extra header lines in headers ("Name:
 * value\r\n" each, may be NULL). A GET without a body is sent without
 * Content-Length; every other request has one. The request must be
 * idempotent: a kept-alive connection is reused, and when it turns out to
 * be closed before any response byte, the request is sent once more on a
 * new connection. On a complete exchange returns 0 and fills *resp; the
 * body goes to body (when not NULL, up to WARD_HTTP_BODY_KEEP bytes).
 * Returns WARD_E_HTTP with a message in err when no complete response
 * arrived, or -ENOMEM.
 */
int ward_http_client_request(struct ward_http_client *c, const char *method, const char *path,
                             const char *headers, const void *data, size_t len,
                             struct ward_http_response *resp, struct ward_buf *body,
                             struct ward_buf *err);

/* ward_http_client_request() with "POST". */
int ward_http_client_post(struct ward_http_client *c, const char *path, const char *headers,
                          const void *data, size_t len, struct ward_http_response *resp,
                          struct ward_buf *body, struct ward_buf *err);

/* Connections opened so far (for tests of connection reuse). */
uint64_t ward_http_client_connections(const struct ward_http_client *c);

#endif
