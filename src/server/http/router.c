/*
 * Request router.
 *
 * A linear scan over a const table, comparing the path segment by segment
 * with each pattern. ward serves a few dozen routes, so a scan that touches
 * no memory but the strings themselves beats building a trie; it also keeps
 * "first match wins" obvious to whoever writes the table.
 */
#include "server/http/router.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static bool method_matches(const char *route_method, const char *method)
{
    if (strcmp(route_method, method) == 0)
        return true;
    return strcmp(method, "HEAD") == 0 && strcmp(route_method, "GET") == 0;
}

/* Returns true when path matches pattern, filling the parameters of m. */
static bool path_matches(const char *pattern, const char *path, struct ward_route_match *m)
{
    const char *p = pattern, *s = path;
    m->n_params = 0;
    while (*p && *s) {
        if (*p != '/' || *s != '/')
            return false;
        p++;
        s++;
        const char *pend = strchrnul(p, '/');
        const char *send = strchrnul(s, '/');
        size_t plen = (size_t)(pend - p), slen = (size_t)(send - s);
        if (plen >= 2 && p[0] == '{' && p[plen - 1] == '}') {
            if (slen == 0 || m->n_params == WARD_ROUTE_MAX_PARAMS)
                return false;
            m->params[m->n_params++] = (struct ward_route_param){
                .name = p + 1,
                .name_len = plen - 2,
                .value = s,
                .value_len = slen,
            };
        } else if (plen != slen || memcmp(p, s, plen) != 0) {
            return false;
        }
        p = pend;
        s = send;
    }
    return *p == '\0' && *s == '\0';
}

int ward_router_match(const struct ward_route *routes, size_t n, const char *method,
                      const char *path, struct ward_route_match *m)
{
    if (strnlen(path, WARD_ROUTE_MAX_PATH + 1) > WARD_ROUTE_MAX_PATH)
        return -ENAMETOOLONG;
    bool path_known = false;
    for (size_t i = 0; i < n; i++) {
        struct ward_route_match tmp;
        if (!path_matches(routes[i].pattern, path, &tmp))
            continue;
        path_known = true;
        if (method_matches(routes[i].method, method)) {
            tmp.route = &routes[i];
            *m = tmp;
            return 0;
        }
    }
    return path_known ? -EOPNOTSUPP : -ENOENT;
}

size_t ward_router_allowed(const struct ward_route *routes, size_t n, const char *path, char *out,
                           size_t out_size)
{
    size_t found = 0, used = 0;
    if (out_size)
        out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        struct ward_route_match tmp;
        if (!path_matches(routes[i].pattern, path, &tmp))
            continue;
        /* Skip a method listed already by an earlier route. */
        bool dup = false;
        for (size_t j = 0; j < i && !dup; j++)
            dup = strcmp(routes[j].method, routes[i].method) == 0 &&
                  path_matches(routes[j].pattern, path, &tmp);
        if (dup)
            continue;
        int w = snprintf(out + used, out_size > used ? out_size - used : 0, "%s%s",
                         found ? ", " : "", routes[i].method);
        if (w > 0 && used + (size_t)w < out_size)
            used += (size_t)w;
        found++;
    }
    return found;
}

const char *ward_route_param(const struct ward_route_match *m, const char *name, size_t *len)
{
    size_t name_len = strlen(name);
    for (size_t i = 0; i < m->n_params; i++) {
        const struct ward_route_param *p = &m->params[i];
        if (p->name_len == name_len && memcmp(p->name, name, name_len) == 0) {
            *len = p->value_len;
            return p->value;
        }
    }
    return NULL;
}
