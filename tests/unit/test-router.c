/*
 * Tests of the request router: literal and {param} segments, first match
 * wins, 404 versus 405, HEAD on GET routes, the Allow list, length limits
 * and paths that are not what a pattern expects.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "server/http/router.h"

static const struct ward_route routes[] = {
    {"GET", "/", NULL, 0},
    {"GET", "/health", NULL, 0},
    {"POST", "/update/{type}/{name}/{value}", NULL, 0},
    {"GET", "/value/{type}/{name}", NULL, 0},
    {"POST", "/api/v1/metrics", NULL, 0},
    {"GET", "/api/v1/metrics", NULL, 0},
    {"GET", "/agents/{id}/claim-status", NULL, 0},
    {"GET", "/agents/special/claim-status", NULL, 0},
};
#define N (sizeof(routes) / sizeof(routes[0]))

static void match_literals(void **state)
{
    (void)state;
    struct ward_route_match m;
    assert_int_equal(ward_router_match(routes, N, "GET", "/", &m), 0);
    assert_int_equal(m.route - routes, 0);
    assert_int_equal(ward_router_match(routes, N, "GET", "/health", &m), 0);
    assert_int_equal(m.route - routes, 1);
    assert_int_equal(m.n_params, 0);
    assert_int_equal(ward_router_match(routes, N, "POST", "/api/v1/metrics", &m), 0);
    assert_int_equal(m.route - routes, 4);
    assert_int_equal(ward_router_match(routes, N, "GET", "/api/v1/metrics", &m), 0);
    assert_int_equal(m.route - routes, 5);
}

static void match_params(void **state)
{
    (void)state;
    struct ward_route_match m;
    size_t len;
    assert_int_equal(ward_router_match(routes, N, "POST", "/update/gauge/Alloc/12.5", &m), 0);
    assert_int_equal(m.route - routes, 2);
    assert_int_equal(m.n_params, 3);
    const char *v = ward_route_param(&m, "type", &len);
    assert_non_null(v);
    assert_int_equal(len, 5);
    assert_memory_equal(v, "gauge", 5);
    v = ward_route_param(&m, "name", &len);
    assert_int_equal(len, 5);
    assert_memory_equal(v, "Alloc", 5);
    v = ward_route_param(&m, "value", &len);
    assert_int_equal(len, 4);
    assert_memory_equal(v, "12.5", 4);
    assert_null(ward_route_param(&m, "nope", &len));
}

static void first_match_wins(void **state)
{
    (void)state;
    struct ward_route_match m;
    assert_int_equal(ward_router_match(routes, N, "GET", "/agents/special/claim-status", &m), 0);
    assert_int_equal(m.route - routes, 6);
}

static void not_found_and_method(void **state)
{
    (void)state;
    struct ward_route_match m;
    assert_int_equal(ward_router_match(routes, N, "GET", "/nope", &m), -ENOENT);
    assert_int_equal(ward_router_match(routes, N, "GET", "/health/", &m), -ENOENT);
    assert_int_equal(ward_router_match(routes, N, "GET", "/update/gauge/x", &m), -ENOENT);
    /* An empty segment never matches a parameter. */
    assert_int_equal(ward_router_match(routes, N, "GET", "/value/gauge/", &m), -ENOENT);
    assert_int_equal(ward_router_match(routes, N, "GET", "/value//x", &m), -ENOENT);
    assert_int_equal(ward_router_match(routes, N, "GET", "/update/gauge/x/1", &m), -EOPNOTSUPP);
    assert_int_equal(ward_router_match(routes, N, "DELETE", "/health", &m), -EOPNOTSUPP);
}

static void head_answers_get(void **state)
{
    (void)state;
    struct ward_route_match m;
    assert_int_equal(ward_router_match(routes, N, "HEAD", "/health", &m), 0);
    assert_int_equal(m.route - routes, 1);
    assert_int_equal(ward_router_match(routes, N, "HEAD", "/update/a/b/c", &m), -EOPNOTSUPP);
}

static void allowed_list(void **state)
{
    (void)state;
    char allow[64];
    assert_int_equal(ward_router_allowed(routes, N, "/api/v1/metrics", allow, sizeof(allow)), 2);
    assert_string_equal(allow, "POST, GET");
    assert_int_equal(ward_router_allowed(routes, N, "/nope", allow, sizeof(allow)), 0);
    assert_string_equal(allow, "");
    /* A tiny buffer is never overrun. */
    char tiny[3];
    ward_router_allowed(routes, N, "/api/v1/metrics", tiny, sizeof(tiny));
    assert_true(strlen(tiny) < sizeof(tiny));
}

static void long_path(void **state)
{
    (void)state;
    static char path[WARD_ROUTE_MAX_PATH + 2];
    memset(path, 'a', sizeof(path) - 1);
    path[0] = '/';
    struct ward_route_match m;
    assert_int_equal(ward_router_match(routes, N, "GET", path, &m), -ENAMETOOLONG);
}

static void too_many_params(void **state)
{
    (void)state;
    static const struct ward_route many[] = {{"GET", "/{a}/{b}/{c}/{d}/{e}", NULL, 0}};
    struct ward_route_match m;
    assert_int_equal(ward_router_match(many, 1, "GET", "/1/2/3/4/5", &m), -ENOENT);
}

static void odd_paths(void **state)
{
    (void)state;
    struct ward_route_match m;
    /* Not paths at all, or paths no pattern can take: 404, never a crash. */
    assert_int_equal(ward_router_match(routes, N, "GET", "", &m), -ENOENT);
    assert_int_equal(ward_router_match(routes, N, "OPTIONS", "*", &m), -ENOENT);
    assert_int_equal(ward_router_match(routes, N, "GET", "health", &m), -ENOENT);
    assert_int_equal(ward_router_match(routes, N, "GET", "//", &m), -ENOENT);
    assert_int_equal(ward_router_match(routes, N, "GET", "/value/\xff\xfe/\xc0", &m), 0);
    assert_int_equal(m.route - routes, 3);
    assert_int_equal(m.params[0].value_len, 2);
    /* A pattern's braces in the path are plain bytes. */
    assert_int_equal(ward_router_match(routes, N, "GET", "/value/{type}/{name}", &m), 0);
    assert_int_equal(m.params[0].value_len, 6);
    /* A path of exactly the limit is matched; one byte more is too long. */
    static char path[WARD_ROUTE_MAX_PATH + 1];
    memset(path, 'b', WARD_ROUTE_MAX_PATH);
    path[0] = '/';
    assert_int_equal(ward_router_match(routes, N, "GET", path, &m), -ENOENT);
    char allow[16];
    assert_int_equal(ward_router_allowed(routes, N, "/value/a/b", allow, sizeof(allow)), 1);
    assert_string_equal(allow, "GET");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(match_literals),   cmocka_unit_test(match_params),
        cmocka_unit_test(first_match_wins), cmocka_unit_test(not_found_and_method),
        cmocka_unit_test(head_answers_get), cmocka_unit_test(allowed_list),
        cmocka_unit_test(long_path),        cmocka_unit_test(too_many_params),
        cmocka_unit_test(odd_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
