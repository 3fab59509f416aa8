/*
 * Parsing of the listener's request heads.
 *
 * Lines are cut by hand rather than with a tokenizer, so that an empty
 * line ends the head where it stands and is never skipped; every field is
 * checked against a fixed buffer before it is copied.
 */
#include "agent/http-request.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

/* Most header lines in a request. */
#define HEADERS_MAX 100

/*
 * Cuts the next line off *cursor (at '\n', or the end of the text), without
 * its "\r\n" or "\n". Empty lines are returned too: the first one ends the
 * head. Returns NULL when the text is used up.
 */
static char *next_line(char **cursor)
{
    char *line = *cursor;
    if (!line)
        return NULL;
    char *nl = strchr(line, '\n');
    if (nl) {
        *nl = '\0';
        *cursor = nl + 1;
    } else {
        *cursor = NULL;
    }
    return line;
}

int ward_http_request_parse(char *head, struct ward_http_request_head *req)
{
    *req = (struct ward_http_request_head){0};
    char *cursor = head;
    char *line = next_line(&cursor);
    if (!line)
        return -EINVAL;
    size_t n = strlen(line);
    if (n && line[n - 1] == '\r')
        line[--n] = '\0';
    /* METHOD SP TARGET SP HTTP/1.x */
    char *sp1 = strchr(line, ' ');
    char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    if (!sp1 || !sp2 || sp1 == line || (size_t)(sp1 - line) >= sizeof(req->method) ||
        sp1[1] != '/' || strncmp(sp2 + 1, "HTTP/1.", 7) != 0 || (sp2[8] != '0' && sp2[8] != '1') ||
        sp2[9] != '\0')
        return -EINVAL;
    for (const char *p = line; p < sp1; p++)
        if (*p < 'A' || *p > 'Z')
            return -EINVAL;
    memcpy(req->method, line, (size_t)(sp1 - line));
    const char *target = sp1 + 1;
    size_t plen = strcspn(target, "? ");
    if (plen >= sizeof(req->path))
        req->too_large = true;
    else
        memcpy(req->path, target, plen);
    req->head_only = strcmp(req->method, "HEAD") == 0;
    int count = 0;
    while ((line = next_line(&cursor))) {
        n = strlen(line);
        if (n && line[n - 1] == '\r')
            line[--n] = '\0';
        if (n == 0)
            break;
        if (++count > HEADERS_MAX)
            return -EINVAL;
        char *colon = strchr(line, ':');
        if (!colon || colon == line || line[0] == ' ' || line[0] == '\t')
            return -EINVAL;
        *colon = '\0';
        const char *v = colon + 1 + strspn(colon + 1, " \t");
        if (strcasecmp(line, "Content-Length") == 0) {
            if (!*v || strspn(v, "0123456789") != strcspn(v, " \t"))
                return -EINVAL;
            req->has_body = req->has_body || strspn(v, "0") != strspn(v, "0123456789");
        } else if (strcasecmp(line, "Transfer-Encoding") == 0) {
            req->chunked = true;
        }
    }
    return 0;
}
