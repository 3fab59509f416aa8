/*
 * Parsing of the request head the agent's listener receives.
 *
 * Kept apart from the listener's socket handling so that it can be fuzzed
 * on its own: it is the one place where bytes from any local client are
 * interpreted.
 */
#ifndef WARD_HTTP_REQUEST_H
#define WARD_HTTP_REQUEST_H

#include <stdbool.h>

struct ward_http_request_head {
    char method[16];
    char path[256];
    bool head_only;
    bool has_body;  /* Content-Length above 0 */
    bool chunked;   /* Transfer-Encoding: a body of unknown length */
    bool too_large; /* the path did not fit */
};

/*
 * Parses a NUL-terminated request head (request line and headers, up to and
 * including the empty line, or the whole text when there is none), cutting
 * it up in place. Accepts "METHOD /target HTTP/1.0|1" with an upper-case
 * method, at most 100 header lines, and looks only at Content-Length and
 * Transfer-Encoding. Returns 0 and fills *out, or -EINVAL.
 */
int ward_http_request_parse(char *head, struct ward_http_request_head *out);

#endif
