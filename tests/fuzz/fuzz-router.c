/*
 * Fuzz target for the request router's path matching.
 *
 * The first input byte picks the method and the size of the Allow buffer;
 * the rest, cut a little past WARD_ROUTE_MAX_PATH and NUL-terminated as MHD
 * hands paths over, is the path. It is matched against a table shaped like
 * ward-server's: literals, {param} segments, a literal that shadows a
 * pattern, a route with more params than a match holds.
 *
 * Oracles: the result is one of the documented codes; too long exactly when
 * the path is; a match is for the method asked (or HEAD on GET); and putting
 * the matched params back into the pattern gives the path again, byte for
 * byte. The Allow list is found exactly when the path is known, and never
 * overruns its buffer, whatever its size.
 */
#include "server/http/router.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void handler(struct ward_http_request *req, void *app)
{
    (void)req;
    (void)app;
}

static const struct ward_route routes[] = {
    {"GET", "/", handler, 0},
    {"GET", "/health", handler, 0},
    {"GET", "/healthz/ready", handler, 0},
    {"POST", "/update/", handler, 0},
    {"POST", "/update/{type}/{name}/{value}", handler, 0},
    {"POST", "/value/", handler, 0},
    {"GET", "/value/{type}/{name}", handler, 0},
    {"POST", "/updates/", handler, 0},
    {"POST", "/api/v1/ingest", handler, 0},
    {"GET", "/api/v1/metrics", handler, 0},
    {"GET", "/api/v1/servers/special", handler, 0},
    {"GET", "/api/v1/servers/{id}", handler, 0},
    {"DELETE", "/api/v1/servers/{id}", handler, 0},
    {"GET", "/agents/{id}/claim-status", handler, 0},
    {"PUT", "/{a}/{b}/{c}/{d}/{e}", handler, 0},
    {"GET", "/{only}", handler, 0},
};
#define N_ROUTES (sizeof(routes) / sizeof(routes[0]))

static const char *const methods[] = {"GET",    "HEAD",    "POST",  "PUT",
                                      "DELETE", "OPTIONS", "PATCH", ""};

/* Rebuilds the path from the matched pattern and params; aborts when it differs. */
static void check_rebuild(const struct ward_route_match *m, const char *path)
{
    const char *p = m->route->pattern, *s = path;
    size_t k = 0;
    while (*p) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            if (!close || k >= m->n_params)
                abort();
            const struct ward_route_param *rp = &m->params[k++];
            if (rp->name != p + 1 || rp->name_len != (size_t)(close - p - 1))
                abort();
            if (rp->value != s || rp->value_len == 0 || memchr(rp->value, '/', rp->value_len))
                abort();
            size_t len;
            char name[64];
            if (rp->name_len >= sizeof(name))
                abort();
            memcpy(name, rp->name, rp->name_len);
            name[rp->name_len] = '\0';
            const char *v = ward_route_param(m, name, &len);
            if (!v || v != rp->value || len != rp->value_len)
                abort();
            s += rp->value_len;
            p = close + 1;
        } else {
            if (*p != *s)
                abort();
            p++;
            s++;
        }
    }
    if (*s != '\0' || k != m->n_params)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const char *method = methods[data[0] % (sizeof(methods) / sizeof(methods[0]))];
    size_t allow_size = (size_t)(data[0] >> 3); /* 0 to 31 bytes */
    data++;
    size--;
    enum {
        PATH_CAP = WARD_ROUTE_MAX_PATH + 64
    };
    size_t n = size < PATH_CAP ? size : PATH_CAP;
    char *path = malloc(n + 1);
    char *allow = malloc(allow_size ? allow_size : 1);
    if (!path || !allow)
        abort();
    memcpy(path, data, n);
    path[n] = '\0';
    size_t len = strlen(path);

    struct ward_route_match m;
    memset(&m, 0xa5, sizeof(m));
    int r = ward_router_match(routes, N_ROUTES, method, path, &m);
    if ((r == -ENAMETOOLONG) != (len > WARD_ROUTE_MAX_PATH))
        abort();
    if (r == 0) {
        if (m.route < routes || m.route >= routes + N_ROUTES || m.n_params > WARD_ROUTE_MAX_PARAMS)
            abort();
        if (strcmp(m.route->method, method) != 0 &&
            !(strcmp(method, "HEAD") == 0 && strcmp(m.route->method, "GET") == 0))
            abort();
        check_rebuild(&m, path);
    } else if (r != -ENOENT && r != -EOPNOTSUPP && r != -ENAMETOOLONG) {
        abort();
    }

    if (r != -ENAMETOOLONG) {
        char big[256];
        size_t found = ward_router_allowed(routes, N_ROUTES, path, big, sizeof(big));
        if ((found > 0) != (r == 0 || r == -EOPNOTSUPP))
            abort();
        if (strnlen(big, sizeof(big)) == sizeof(big))
            abort();
        if (allow_size) {
            memset(allow, 'x', allow_size);
            ward_router_allowed(routes, N_ROUTES, path, allow, allow_size);
            if (strnlen(allow, allow_size) == allow_size)
                abort();
        }
    }
    free(allow);
    free(path);
    return 0;
}
