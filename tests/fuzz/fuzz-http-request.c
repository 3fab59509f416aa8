/*
 * Fuzz target for the agent listener's request-head parser.
 *
 * The input, cut at the listener's head limit and NUL-terminated as the
 * listener does, is parsed; a parsed head must have a method of capital
 * letters, a path within its buffer, and HEAD only for the HEAD method.
 */
#include "agent/http-request.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    enum {
        HEAD_MAX = 8 * 1024
    };
    char *head = malloc(HEAD_MAX + 1);
    if (!head)
        return 0;
    size_t n = size < HEAD_MAX ? size : HEAD_MAX;
    memcpy(head, data, n);
    head[n] = '\0';
    struct ward_http_request_head req;
    if (ward_http_request_parse(head, &req) == 0) {
        size_t m = strlen(req.method);
        if (m == 0 || m >= sizeof(req.method) || strlen(req.path) >= sizeof(req.path))
            abort();
        for (size_t i = 0; i < m; i++)
            if (req.method[i] < 'A' || req.method[i] > 'Z')
                abort();
        if (req.head_only != (strcmp(req.method, "HEAD") == 0))
            abort();
    }
    free(head);
    return 0;
}
