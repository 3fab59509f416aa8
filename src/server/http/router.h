/*
 * Request router: method plus path pattern with {params}.
 *
 * Routes live in a const table that the caller owns. A pattern is a
 * '/'-separated path whose segments are literals or "{name}"; a {name}
 * segment matches exactly one non-empty path segment. The first matching
 * route wins, so more specific routes go first.
 */
#ifndef WARD_ROUTER_H
#define WARD_ROUTER_H

#include <stddef.h>

#define WARD_ROUTE_MAX_PARAMS 4
#define WARD_ROUTE_MAX_PATH   2048

struct ward_http_request;

/* Handles one request; app is the server's state given to ward_http_start(). */
typedef void (*ward_http_handler_fn)(struct ward_http_request *req, void *app);

struct ward_route {
    const char *method;  /* "GET", "POST", ...; GET routes also answer HEAD */
    const char *pattern; /* "/value/{type}/{name}" */
    ward_http_handler_fn handler;
    unsigned access; /* who may call it: the application's classes; the router ignores it */
};

struct ward_route_param {
    const char *name; /* points into the pattern */
    size_t name_len;
    const char *value; /* points into the path */
    size_t value_len;
};

struct ward_route_match {
    const struct ward_route *route;
    size_t n_params;
    struct ward_route_param params[WARD_ROUTE_MAX_PARAMS];
};

/*
 * Finds the route for method and path among n routes.
 * Returns 0 and fills *m on a match; -ENOENT when no pattern matches the path
 * (404); -EOPNOTSUPP when a pattern matches but not for this method (405);
 * -ENAMETOOLONG when the path is longer than WARD_ROUTE_MAX_PATH.
 */
int ward_router_match(const struct ward_route *routes, size_t n, const char *method,
                      const char *path, struct ward_route_match *m);

/*
 * Writes the methods that path accepts as "GET, POST" into out (an Allow
 * header value). Returns the number of methods found.
 */
size_t ward_router_allowed(const struct ward_route *routes, size_t n, const char *path, char *out,
                           size_t out_size);

/*
 * Looks up a path parameter by name. Returns a pointer into the path and
 * stores its length in *len, or NULL when the route has no such parameter.
 */
const char *ward_route_param(const struct ward_route_match *m, const char *name, size_t *len);

#endif
