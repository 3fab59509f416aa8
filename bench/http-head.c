/*
 * Header lookup in an HTTP/1.1 response head (see http-head.h).
 *
 * A linear scan of the lines is enough here: the stream bench reads a
 * handful of short heads per connection and looks up one or two headers in
 * each, so there is nothing to gain from parsing every header up front.
 */
#include "http-head.h"

#include <string.h>
#include <strings.h>

const char *ward_http_find_header(const char *head, size_t n, const char *name, size_t *len)
{
    size_t k = strlen(name);
    const char *p = memchr(head, '\n', n), *end = head + n;
    while (p && ++p + k < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            break;
        if (strncasecmp(p, name, k) == 0) {
            const char *v = p + k, *e = eol;
            while (v < e && (*v == ' ' || *v == '\t'))
                v++;
            while (e > v && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
                e--;
            *len = (size_t)(e - v);
            return v;
        }
        p = eol;
    }
    return NULL;
}
