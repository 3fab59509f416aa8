/*
 * Tests for the diagnostics' argument check (common/diag.h): names and the
 * "disk" alias, defaults, required arguments, unknown argument names and
 * the messages that refuse them, every kind of argument with values just
 * inside and just outside its pattern, the accessors, and
 * ward_diag_split_host_port().
 *
 * The last test reads tests/unit/data/diag-payloads.txt, written by
 * scripts/gen-diag-payloads.py from the integration tests' injection corpus,
 * and asserts that ward_diag_set() refuses every payload: the list that the
 * integration tests throw at the server is thereby checked against the C
 * code itself in every build.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/diag.h"

#define PAYLOADS WARD_SOURCE_ROOT "/tests/unit/data/diag-payloads.txt"

static const struct ward_diag_arg_spec *arg_spec(enum ward_diag_type type, const char *name)
{
    const struct ward_diag_spec *spec = ward_diag_spec(type);
    assert_non_null(spec);
    for (size_t i = 0; i < spec->n_args; i++)
        if (strcmp(spec->args[i].name, name) == 0)
            return &spec->args[i];
    fail_msg("%s has no argument %s", spec->name, name);
    return NULL;
}

/*
 * Asserts that value is accepted (or refused) for argument name of type,
 * by ward_diag_valid() and ward_diag_set() alike. A refused value leaves
 * the argument as it was and yields a message that names the argument.
 */
static void check(enum ward_diag_type type, const char *name, const char *value, bool accept)
{
    const struct ward_diag_arg_spec *spec = arg_spec(type, name);
    if (ward_diag_valid(spec, value) != accept)
        fail_msg("%s %s='%s': ward_diag_valid should %s it", ward_diag_name(type), name, value,
                 accept ? "accept" : "refuse");

    struct ward_diag_args a;
    assert_int_equal(ward_diag_init(type, &a), 0);
    char before[WARD_DIAG_ARG_MAX + 1];
    snprintf(before, sizeof(before), "%s", ward_diag_get(&a, name));
    struct ward_buf err = WARD_BUF_INIT;
    int r = ward_diag_set(&a, name, value, &err);
    if (r != (accept ? 0 : -EINVAL))
        fail_msg("%s %s='%s': ward_diag_set returned %d", ward_diag_name(type), name, value, r);
    if (accept) {
        assert_string_equal(ward_diag_get(&a, name), value);
        assert_int_equal(err.len, 0);
    } else {
        assert_string_equal(ward_diag_get(&a, name), before);
        assert_non_null(err.data);
        assert_non_null(strstr(err.data, name));
        assert_non_null(strstr(err.data, ward_diag_name(type)));
    }
    ward_buf_done(&err);
}

#define ACCEPT(t, n, v) check(t, n, v, true)
#define REFUSE(t, n, v) check(t, n, v, false)

static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    assert_non_null(s);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

static void test_type_of(void **state)
{
    (void)state;
    static const char *const names[WARD_DIAG_N] = {[WARD_DIAG_LOGS] = "logs",
                                                   [WARD_DIAG_DISK_USAGE] = "disk_usage",
                                                   [WARD_DIAG_MOUNTS] = "mounts",
                                                   [WARD_DIAG_PING] = "ping",
                                                   [WARD_DIAG_CONNECT] = "connect",
                                                   [WARD_DIAG_NETSTAT] = "netstat",
                                                   [WARD_DIAG_TRACEROUTE] = "traceroute"};
    for (unsigned i = 0; i < WARD_DIAG_N; i++) {
        enum ward_diag_type t = WARD_DIAG_N;
        assert_int_equal(ward_diag_type_of(names[i], &t), 0);
        assert_int_equal(t, i);
        assert_string_equal(ward_diag_name(t), names[i]);
        assert_ptr_equal(ward_diag_spec(t)->name, ward_diag_name(t));
    }

    enum ward_diag_type t = WARD_DIAG_LOGS;
    assert_int_equal(ward_diag_type_of("disk", &t), 0);
    assert_int_equal(t, WARD_DIAG_DISK_USAGE);

    static const char *const unknown[] = {"",      "Ping",  "ping ",    " ping", "disk_",
                                          "disks", "shell", "exec",     "logs;", "ping\n",
                                          "DISK",  "mount", "connect\r"};
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        t = WARD_DIAG_PING;
        assert_int_equal(ward_diag_type_of(unknown[i], &t), -ENOENT);
        assert_int_equal(t, WARD_DIAG_PING); /* untouched on failure */
    }
    assert_int_equal(ward_diag_type_of(NULL, &t), -ENOENT);
}

static void test_name_and_spec(void **state)
{
    (void)state;
    assert_string_equal(ward_diag_name(WARD_DIAG_N), "");
    assert_string_equal(ward_diag_name((enum ward_diag_type) - 1), "");
    assert_null(ward_diag_spec(WARD_DIAG_N));
    assert_null(ward_diag_spec((enum ward_diag_type) - 1));

    /* Every default is itself a valid value, and every argument has help. */
    for (unsigned i = 0; i < WARD_DIAG_N; i++) {
        const struct ward_diag_spec *spec = ward_diag_spec((enum ward_diag_type)i);
        assert_true(spec->n_args <= WARD_DIAG_MAX_ARGS);
        assert_non_null(spec->help);
        for (size_t k = 0; k < spec->n_args; k++) {
            const struct ward_diag_arg_spec *a = &spec->args[k];
            assert_non_null(a->help);
            if (a->def)
                assert_true(ward_diag_valid(a, a->def));
            if (a->kind == WARD_DIAG_ARG_INT)
                assert_true(a->min >= 0 && a->min <= a->max);
        }
    }
}

static void test_init_defaults(void **state)
{
    (void)state;
    struct ward_diag_args a;
    assert_int_equal(ward_diag_init(WARD_DIAG_LOGS, &a), 0);
    assert_int_equal(a.type, WARD_DIAG_LOGS);
    assert_string_equal(ward_diag_get(&a, "severity"), "warning");
    assert_string_equal(ward_diag_get(&a, "lines"), "100");
    assert_string_equal(ward_diag_get(&a, "unit"), "");

    assert_int_equal(ward_diag_init(WARD_DIAG_DISK_USAGE, &a), 0);
    assert_string_equal(ward_diag_get(&a, "path"), "/");
    assert_string_equal(ward_diag_get(&a, "top_n"), "10");

    assert_int_equal(ward_diag_init(WARD_DIAG_MOUNTS, &a), 0);
    assert_int_equal(a.type, WARD_DIAG_MOUNTS);

    assert_int_equal(ward_diag_init(WARD_DIAG_PING, &a), 0);
    assert_string_equal(ward_diag_get(&a, "target"), "");
    assert_string_equal(ward_diag_get(&a, "count"), "4");
    assert_string_equal(ward_diag_get(&a, "timeout"), "5");

    assert_int_equal(ward_diag_init(WARD_DIAG_CONNECT, &a), 0);
    assert_string_equal(ward_diag_get(&a, "target"), "");
    assert_string_equal(ward_diag_get(&a, "timeout"), "5");

    assert_int_equal(ward_diag_init(WARD_DIAG_NETSTAT, &a), 0);
    assert_string_equal(ward_diag_get(&a, "proto"), "all");
    assert_string_equal(ward_diag_get(&a, "state"), "all");

    assert_int_equal(ward_diag_init(WARD_DIAG_TRACEROUTE, &a), 0);
    assert_string_equal(ward_diag_get(&a, "target"), "");
    assert_string_equal(ward_diag_get(&a, "max_hops"), "20");
    assert_string_equal(ward_diag_get(&a, "proto"), "udp");

    /* A type outside the enum leaves *out alone. */
    memset(&a, 0x5a, sizeof(a));
    assert_int_equal(ward_diag_init(WARD_DIAG_N, &a), -EINVAL);
    assert_int_equal(ward_diag_init((enum ward_diag_type) - 1, &a), -EINVAL);
    assert_int_equal(((unsigned char *)&a)[sizeof(a) - 1], 0x5a);
}

static void test_complete_required(void **state)
{
    (void)state;
    static const enum ward_diag_type needs_target[] = {WARD_DIAG_PING, WARD_DIAG_CONNECT,
                                                       WARD_DIAG_TRACEROUTE};
    static const char *const targets[] = {"127.0.0.1", "127.0.0.1:22", "localhost"};
    for (size_t i = 0; i < 3; i++) {
        struct ward_diag_args a;
        struct ward_buf err = WARD_BUF_INIT;
        assert_int_equal(ward_diag_init(needs_target[i], &a), 0);
        assert_int_equal(ward_diag_complete(&a, &err), -EINVAL);
        assert_non_null(strstr(err.data, "target"));
        assert_non_null(strstr(err.data, ward_diag_name(needs_target[i])));
        assert_int_equal(ward_diag_complete(&a, NULL), -EINVAL);
        /* A refused value does not count as given. */
        assert_int_equal(ward_diag_set(&a, "target", "", NULL), -EINVAL);
        assert_int_equal(ward_diag_set(&a, "target", "a;b", NULL), -EINVAL);
        assert_int_equal(ward_diag_complete(&a, NULL), -EINVAL);
        assert_int_equal(ward_diag_set(&a, "target", targets[i], NULL), 0);
        ward_buf_reset(&err);
        assert_int_equal(ward_diag_complete(&a, &err), 0);
        assert_int_equal(err.len, 0);
        ward_buf_done(&err);
    }

    /* Diagnostics without a required argument are complete from the start. */
    static const enum ward_diag_type complete[] = {WARD_DIAG_LOGS, WARD_DIAG_DISK_USAGE,
                                                   WARD_DIAG_MOUNTS, WARD_DIAG_NETSTAT};
    for (size_t i = 0; i < 4; i++) {
        struct ward_diag_args a;
        assert_int_equal(ward_diag_init(complete[i], &a), 0);
        assert_int_equal(ward_diag_complete(&a, NULL), 0);
    }

    struct ward_diag_args bad = {.type = WARD_DIAG_N};
    assert_int_equal(ward_diag_complete(&bad, NULL), -EINVAL);
}

/* A struct filled by other means than ward_diag_set() is checked once more. */
static void test_complete_revalidates(void **state)
{
    (void)state;
    struct ward_diag_args a;
    struct ward_buf err = WARD_BUF_INIT;
    assert_int_equal(ward_diag_init(WARD_DIAG_PING, &a), 0);
    snprintf(a.values[0], sizeof(a.values[0]), "%s", "127.0.0.1;reboot");
    assert_int_equal(ward_diag_complete(&a, &err), -EINVAL);
    assert_non_null(strstr(err.data, "target"));

    assert_int_equal(ward_diag_init(WARD_DIAG_DISK_USAGE, &a), 0);
    snprintf(a.values[1], sizeof(a.values[1]), "%s", "100000");
    assert_int_equal(ward_diag_complete(&a, NULL), -EINVAL);

    /* Not NUL-terminated within its slot. */
    assert_int_equal(ward_diag_init(WARD_DIAG_LOGS, &a), 0);
    memset(a.values[2], 'a', sizeof(a.values[2]));
    assert_int_equal(ward_diag_complete(&a, NULL), -EINVAL);
    ward_buf_done(&err);
}

static void test_unknown_arg(void **state)
{
    (void)state;
    struct ward_diag_args a;
    struct ward_buf err = WARD_BUF_INIT;
    assert_int_equal(ward_diag_init(WARD_DIAG_PING, &a), 0);
    assert_int_equal(ward_diag_set(&a, "host", "127.0.0.1", &err), -EINVAL);
    assert_non_null(strstr(err.data, "'host'"));
    assert_non_null(strstr(err.data, "ping"));
    assert_non_null(strstr(err.data, "target count timeout"));
    assert_string_equal(ward_diag_get(&a, "target"), "");

    /* Names are matched exactly. */
    static const char *const names[] = {"", "Target", "target ", "targe", "targets", "max_hops"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        assert_int_equal(ward_diag_set(&a, names[i], "127.0.0.1", NULL), -EINVAL);
    assert_int_equal(ward_diag_set(&a, NULL, "127.0.0.1", NULL), -EINVAL);

    /* A name from a request cannot break the message into lines. */
    ward_buf_reset(&err);
    assert_int_equal(ward_diag_set(&a, "x\ny\r\x1b\x80", "1", &err), -EINVAL);
    assert_non_null(strstr(err.data, "'x?y\?\?\?'"));
    for (size_t i = 0; i < err.len; i++)
        assert_true(err.data[i] >= 0x20 && err.data[i] <= 0x7e);

    /* And a long one is cut short. */
    char *longname = repeat('n', 5000);
    ward_buf_reset(&err);
    assert_int_equal(ward_diag_set(&a, longname, "1", &err), -EINVAL);
    assert_true(err.len < 200);
    free(longname);

    /* mounts takes no arguments at all. */
    assert_int_equal(ward_diag_init(WARD_DIAG_MOUNTS, &a), 0);
    ward_buf_reset(&err);
    assert_int_equal(ward_diag_set(&a, "path", "/", &err), -EINVAL);
    assert_non_null(strstr(err.data, "mounts"));
    assert_non_null(strstr(err.data, "path"));

    /* An argument of another diagnostic is unknown here. */
    assert_int_equal(ward_diag_init(WARD_DIAG_NETSTAT, &a), 0);
    assert_int_equal(ward_diag_set(&a, "severity", "info", NULL), -EINVAL);
    assert_int_equal(ward_diag_set(&a, "proto", "icmp", NULL), -EINVAL);
    assert_int_equal(ward_diag_set(&a, "proto", "udp", NULL), 0);

    a.type = WARD_DIAG_N;
    assert_int_equal(ward_diag_set(&a, "proto", "udp", NULL), -EINVAL);
    ward_buf_done(&err);
}

/* Every argument's refusal names it and says what it must be. */
static void test_error_messages(void **state)
{
    (void)state;
    static const struct {
        enum ward_diag_type type;
        const char *arg, *bad, *hint;
    } cases[] = {
        {WARD_DIAG_LOGS, "severity", "loud",
         "one of emerg alert crit err warning notice info debug"},
        {WARD_DIAG_LOGS, "lines", "0", "an integer from 1 to 1000"},
        {WARD_DIAG_LOGS, "unit", "a b", "systemd unit"},
        {WARD_DIAG_DISK_USAGE, "path", "etc", "absolute path"},
        {WARD_DIAG_DISK_USAGE, "top_n", "101", "an integer from 1 to 100"},
        {WARD_DIAG_PING, "target", "a;b", "host name"},
        {WARD_DIAG_PING, "count", "11", "an integer from 1 to 10"},
        {WARD_DIAG_PING, "timeout", "31", "an integer from 1 to 30"},
        {WARD_DIAG_CONNECT, "target", "127.0.0.1", "HOST:PORT"},
        {WARD_DIAG_CONNECT, "timeout", "-1", "an integer from 1 to 30"},
        {WARD_DIAG_NETSTAT, "proto", "icmp", "one of all tcp udp"},
        {WARD_DIAG_NETSTAT, "state", "closed", "one of all listen established"},
        {WARD_DIAG_TRACEROUTE, "target", "", "host name"},
        {WARD_DIAG_TRACEROUTE, "max_hops", "31", "an integer from 1 to 30"},
        {WARD_DIAG_TRACEROUTE, "proto", "tcp", "one of udp icmp"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ward_diag_args a;
        struct ward_buf err = WARD_BUF_INIT;
        assert_int_equal(ward_diag_init(cases[i].type, &a), 0);
        assert_int_equal(ward_diag_set(&a, cases[i].arg, cases[i].bad, &err), -EINVAL);
        assert_non_null(err.data);
        assert_true(err.len > 0);
        assert_non_null(strstr(err.data, cases[i].arg));
        if (!strstr(err.data, cases[i].hint))
            fail_msg("message '%s' lacks '%s'", err.data, cases[i].hint);
        /* The refused value itself is not echoed. */
        if (cases[i].bad[0] && strlen(cases[i].bad) > 2)
            assert_null(strstr(err.data, cases[i].bad));
        /* err may be NULL. */
        assert_int_equal(ward_diag_set(&a, cases[i].arg, cases[i].bad, NULL), -EINVAL);
        assert_int_equal(ward_diag_set(&a, cases[i].arg, NULL, NULL), -EINVAL);
        ward_buf_done(&err);
    }
}

/* What holds for every kind: no leading '-', no control or non-ASCII byte, at most 255 bytes. */
static void test_common_rules(void **state)
{
    (void)state;
    REFUSE(WARD_DIAG_DISK_USAGE, "path", "-/tmp");
    REFUSE(WARD_DIAG_LOGS, "unit", "-sshd");
    REFUSE(WARD_DIAG_PING, "target", "-c1");
    REFUSE(WARD_DIAG_LOGS, "lines", "-5");
    for (unsigned c = 1; c < 0x20; c++) {
        char v[8];
        snprintf(v, sizeof(v), "/a%cb", (char)c);
        REFUSE(WARD_DIAG_DISK_USAGE, "path", v);
        snprintf(v, sizeof(v), "a%cb", (char)c);
        REFUSE(WARD_DIAG_LOGS, "unit", v);
    }
    for (unsigned c = 0x7f; c <= 0xff; c++) {
        char v[8];
        snprintf(v, sizeof(v), "/a%cb", (char)c);
        REFUSE(WARD_DIAG_DISK_USAGE, "path", v);
        snprintf(v, sizeof(v), "ho%cst", (char)c);
        REFUSE(WARD_DIAG_PING, "target", v);
    }

    char *path = repeat('a', 255);
    path[0] = '/';
    ACCEPT(WARD_DIAG_DISK_USAGE, "path", path);
    free(path);
    path = repeat('a', 256);
    path[0] = '/';
    REFUSE(WARD_DIAG_DISK_USAGE, "path", path);
    free(path);

    char *unit = repeat('u', 255);
    ACCEPT(WARD_DIAG_LOGS, "unit", unit);
    free(unit);
    unit = repeat('u', 256);
    REFUSE(WARD_DIAG_LOGS, "unit", unit);
    free(unit);

    assert_false(ward_diag_valid(NULL, "x"));
    assert_false(ward_diag_valid(arg_spec(WARD_DIAG_LOGS, "unit"), NULL));
}

static void test_host(void **state)
{
    (void)state;
    static const char *const good[] = {
        "127.0.0.1",
        "0.0.0.0",
        "255.255.255.255",
        "10.0.0.1",
        "localhost",
        "example.com",
        "EXAMPLE.COM",
        "a",
        "a-b.c-d.example",
        "xn--80ak6aa92e.com",
        "123abc",
        "1.example",
        "a1.b2",
        "::1",
        "::",
        "fe80::1",
        "2001:db8::8a2e:370:7334",
        "2001:DB8:0:0:0:0:0:1",
        "::ffff:127.0.0.1", /* an IPv4-mapped IPv6 address is an IPv6 address */
    };
    static const char *const bad[] = {
        "",
        "fe80::1%eth0", /* zone ids are refused */
        "fe80::1%1",
        "[::1]", /* brackets belong to HOST:PORT only */
        "[127.0.0.1]",
        "localhost.", /* no trailing dot */
        "example.com.",
        ".example.com",
        "a..b",
        "-a.com",
        "a-.com",
        "a.-b.com",
        "a_b.com",
        "1.2.3", /* IPv4 only as a dotted quad */
        "1.2.3.4.5",
        "127.1",
        "256.0.0.1",
        "01.2.3.4",
        "1.2.3.4.",
        "2130706433",
        "0x7f000001", /* the resolver would read these as 127.0.0.1 */
        "0x7f.0.0.1",
        "0x7f.1",
        "1.0x1",
        "0177.0.0.1",
        "0X7F000001",
        "example.123", /* last label all digits */
        "a.b.c.4",
        "::1:80x",
        "1::2::3",
        ":::",
        "fe80::1/64",
        "::ffff:127.0.0.01",
        "127.0.0.1:80",
        "127.0.0.1/8",
        "a b",
        "host\n",
        "*",
        "a;b",
        "user@host",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        ACCEPT(WARD_DIAG_PING, "target", good[i]);
        ACCEPT(WARD_DIAG_TRACEROUTE, "target", good[i]);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        REFUSE(WARD_DIAG_PING, "target", bad[i]);
        REFUSE(WARD_DIAG_TRACEROUTE, "target", bad[i]);
    }

    /* Labels of up to 63, names of up to 253. */
    char name[300];
    char *l63 = repeat('a', 63), *l64 = repeat('a', 64);
    snprintf(name, sizeof(name), "%s.com", l63);
    ACCEPT(WARD_DIAG_PING, "target", name);
    snprintf(name, sizeof(name), "%s.com", l64);
    REFUSE(WARD_DIAG_PING, "target", name);
    snprintf(name, sizeof(name), "%s.%s.%s.%.61s", l63, l63, l63, l63);
    assert_int_equal(strlen(name), 253);
    ACCEPT(WARD_DIAG_PING, "target", name);
    snprintf(name, sizeof(name), "%s.%s.%s.%.62s", l63, l63, l63, l63);
    REFUSE(WARD_DIAG_PING, "target", name);
    free(l63);
    free(l64);
}

static void test_host_port(void **state)
{
    (void)state;
    static const char *const good[] = {
        "127.0.0.1:22",   "127.0.0.1:1",           "127.0.0.1:65535",
        "localhost:8080", "example.com:443",       "[::1]:22",
        "[fe80::1]:80",   "[::ffff:127.0.0.1]:80", "[2001:db8::1]:65535",
    };
    static const char *const bad[] = {
        "",
        "127.0.0.1",
        "127.0.0.1:",
        ":22",
        "127.0.0.1:0",
        "127.0.0.1:65536",
        "127.0.0.1:99999",
        "127.0.0.1:080",
        "127.0.0.1:+80",
        "127.0.0.1:-80",
        "127.0.0.1: 80",
        "127.0.0.1:80 ",
        "127.0.0.1:0x50",
        "127.0.0.1:1000000000000",
        "127.0.0.1:22:22",
        "::1:22", /* a bare IPv6 address makes the port ambiguous */
        "::1",
        "[::1]",
        "[::1]:",
        "[::1]22",
        "[::1:22",
        "::1]:22",
        "[]:22",
        "[fe80::1%eth0]:22",
        "[127.0.0.1]:22", /* brackets hold an IPv6 address only */
        "[localhost]:22",
        "[[::1]]:22",
        "localhost.:22",
        "0x7f000001:22",
        "1.2.3:22",
        "-h:22",
        "a;b:22",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        ACCEPT(WARD_DIAG_CONNECT, "target", good[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        REFUSE(WARD_DIAG_CONNECT, "target", bad[i]);
}

static void test_path(void **state)
{
    (void)state;
    static const char *const good[] = {
        "/",
        "/tmp",
        "/var/log",
        "/.hidden", /* a dot file is a name, not a "." component */
        "/a/.b/..c/...",
        "/a/b..",
        "/with space",
        "/a b/c d",
        "/x_y@z+1,2:3=4~5-6",
        "/tmp/-rf", /* starts with '/', so never an option */
    };
    static const char *const bad[] = {
        "",         "tmp",      "relative/path", "./tmp",      "~root",      "~/x",
        "/a/./b",   "/a/../b",  "/..",           "/.",         "/a/..",      "/a/.",
        "/../etc",  "//",       "//tmp",         "/a//b",      "/a/",        "/tmp/",
        "/a/b/",    "/tmp/*",   "/tmp/?",        "/tmp/[a]",   "/tmp/$HOME", "/tmp/`x`",
        "/tmp;ls",  "/tmp|ls",  "/tmp&",         "/tmp>x",     "/tmp<x",     "/tmp/(x)",
        "/tmp/{x}", "/tmp/!x",  "/tmp/'x'",      "/tmp/\"x\"", "/tmp/\\x",   "/tmp/#x",
        "/tmp/%s",  "/tmp/\tx", "/tmp/\nx",      " /tmp",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        ACCEPT(WARD_DIAG_DISK_USAGE, "path", good[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        REFUSE(WARD_DIAG_DISK_USAGE, "path", bad[i]);
}

static void test_int(void **state)
{
    (void)state;
    static const struct {
        enum ward_diag_type type;
        const char *arg;
        int min, max;
    } ints[] = {
        {WARD_DIAG_LOGS, "lines", 1, 1000},    {WARD_DIAG_DISK_USAGE, "top_n", 1, 100},
        {WARD_DIAG_PING, "count", 1, 10},      {WARD_DIAG_PING, "timeout", 1, 30},
        {WARD_DIAG_CONNECT, "timeout", 1, 30}, {WARD_DIAG_TRACEROUTE, "max_hops", 1, 30},
    };
    static const char *const bad[] = {
        "",    "-1",  "+1",  " 1",  "1 ",           "01",  "00", "0x1",
        "1.0", "1e1", "1,0", "one", "\xef\xbc\x91", "1\n", "0",  "9999999999999999999"};
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        const struct ward_diag_arg_spec *spec = arg_spec(ints[i].type, ints[i].arg);
        assert_int_equal(spec->kind, WARD_DIAG_ARG_INT);
        assert_int_equal(spec->min, ints[i].min);
        assert_int_equal(spec->max, ints[i].max);
        char v[32];
        snprintf(v, sizeof(v), "%d", ints[i].min);
        ACCEPT(ints[i].type, ints[i].arg, v);
        snprintf(v, sizeof(v), "%d", ints[i].max);
        ACCEPT(ints[i].type, ints[i].arg, v);
        snprintf(v, sizeof(v), "%d", (ints[i].min + ints[i].max) / 2);
        ACCEPT(ints[i].type, ints[i].arg, v);
        snprintf(v, sizeof(v), "%d", ints[i].min - 1);
        REFUSE(ints[i].type, ints[i].arg, v);
        snprintf(v, sizeof(v), "%d", ints[i].max + 1);
        REFUSE(ints[i].type, ints[i].arg, v);
        snprintf(v, sizeof(v), "0%d", ints[i].max);
        REFUSE(ints[i].type, ints[i].arg, v);
        for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
            REFUSE(ints[i].type, ints[i].arg, bad[k]);
    }
}

static void test_word(void **state)
{
    (void)state;
    static const char *const severities[] = {"emerg",   "alert",  "crit", "err",
                                             "warning", "notice", "info", "debug"};
    for (size_t i = 0; i < 8; i++)
        ACCEPT(WARD_DIAG_LOGS, "severity", severities[i]);
    static const char *const bad_sev[] = {"",    "INFO",  "warn", "error",      "info ", " info",
                                          "inf", "infoo", "all",  "debug,info", "0",     "7"};
    for (size_t i = 0; i < sizeof(bad_sev) / sizeof(bad_sev[0]); i++)
        REFUSE(WARD_DIAG_LOGS, "severity", bad_sev[i]);

    ACCEPT(WARD_DIAG_NETSTAT, "proto", "all");
    ACCEPT(WARD_DIAG_NETSTAT, "proto", "tcp");
    ACCEPT(WARD_DIAG_NETSTAT, "proto", "udp");
    REFUSE(WARD_DIAG_NETSTAT, "proto", "icmp");
    REFUSE(WARD_DIAG_NETSTAT, "proto", "TCP");
    REFUSE(WARD_DIAG_NETSTAT, "proto", "tcp6");
    ACCEPT(WARD_DIAG_NETSTAT, "state", "all");
    ACCEPT(WARD_DIAG_NETSTAT, "state", "listen");
    ACCEPT(WARD_DIAG_NETSTAT, "state", "established");
    REFUSE(WARD_DIAG_NETSTAT, "state", "tcp");
    REFUSE(WARD_DIAG_NETSTAT, "state", "LISTEN");
    REFUSE(WARD_DIAG_NETSTAT, "state", "established\n");
    ACCEPT(WARD_DIAG_TRACEROUTE, "proto", "udp");
    ACCEPT(WARD_DIAG_TRACEROUTE, "proto", "icmp");
    REFUSE(WARD_DIAG_TRACEROUTE, "proto", "tcp");
    REFUSE(WARD_DIAG_TRACEROUTE, "proto", "all");
    REFUSE(WARD_DIAG_TRACEROUTE, "proto", "");
}

static void test_unit(void **state)
{
    (void)state;
    static const char *const good[] = {"",
                                       "sshd",
                                       "sshd.service",
                                       "getty@tty1.service",
                                       "_underscore",
                                       "systemd-journald.service",
                                       "a:b",
                                       "user-1000.slice",
                                       "9pfs.mount"};
    static const char *const bad[] = {
        "-sshd",  ".service", "@x",  ":x",  "a b",   "a/b",   "../x",   "a*",  "a?",         "[a]",
        "a\\x2d", "a;b",      "a$b", "a|b", " sshd", "sshd ", "sshd\n", "a'b", "\xd1\x95shd"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        ACCEPT(WARD_DIAG_LOGS, "unit", good[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        REFUSE(WARD_DIAG_LOGS, "unit", bad[i]);

    /* "" sets the unit back to every unit. */
    struct ward_diag_args a;
    assert_int_equal(ward_diag_init(WARD_DIAG_LOGS, &a), 0);
    assert_int_equal(ward_diag_set(&a, "unit", "cron.service", NULL), 0);
    assert_int_equal(ward_diag_set(&a, "unit", "", NULL), 0);
    assert_string_equal(ward_diag_get(&a, "unit"), "");
}

static void test_get(void **state)
{
    (void)state;
    struct ward_diag_args a;
    assert_int_equal(ward_diag_init(WARD_DIAG_TRACEROUTE, &a), 0);
    assert_int_equal(ward_diag_set(&a, "target", "example.com", NULL), 0);
    assert_int_equal(ward_diag_set(&a, "proto", "icmp", NULL), 0);
    assert_string_equal(ward_diag_get(&a, "target"), "example.com");
    assert_string_equal(ward_diag_get(&a, "proto"), "icmp");
    assert_string_equal(ward_diag_get(&a, "max_hops"), "20");
    /* Values sit in the order of the spec. */
    assert_string_equal(a.values[0], "example.com");
    assert_string_equal(a.values[1], "20");
    assert_string_equal(a.values[2], "icmp");
    /* A later set replaces an earlier one. */
    assert_int_equal(ward_diag_set(&a, "target", "127.0.0.1", NULL), 0);
    assert_string_equal(ward_diag_get(&a, "target"), "127.0.0.1");

    assert_string_equal(ward_diag_get(&a, "count"), "");
    assert_string_equal(ward_diag_get(&a, "nope"), "");
    assert_string_equal(ward_diag_get(&a, ""), "");
    assert_string_equal(ward_diag_get(&a, NULL), "");
    a.type = WARD_DIAG_N;
    assert_string_equal(ward_diag_get(&a, "target"), "");
}

static void test_get_int(void **state)
{
    (void)state;
    struct ward_diag_args a;
    assert_int_equal(ward_diag_init(WARD_DIAG_LOGS, &a), 0);
    assert_int_equal(ward_diag_get_int(&a, "lines"), 100);
    assert_int_equal(ward_diag_set(&a, "lines", "1000", NULL), 0);
    assert_int_equal(ward_diag_get_int(&a, "lines"), 1000);
    /* Only integer arguments of the type have a value. */
    assert_int_equal(ward_diag_get_int(&a, "severity"), 0);
    assert_int_equal(ward_diag_set(&a, "unit", "42", NULL), 0);
    assert_int_equal(ward_diag_get_int(&a, "unit"), 0);
    assert_int_equal(ward_diag_get_int(&a, "count"), 0);
    assert_int_equal(ward_diag_get_int(&a, NULL), 0);

    assert_int_equal(ward_diag_init(WARD_DIAG_PING, &a), 0);
    assert_int_equal(ward_diag_get_int(&a, "count"), 4);
    assert_int_equal(ward_diag_get_int(&a, "timeout"), 5);
    assert_int_equal(ward_diag_init(WARD_DIAG_DISK_USAGE, &a), 0);
    assert_int_equal(ward_diag_get_int(&a, "top_n"), 10);
    assert_int_equal(ward_diag_init(WARD_DIAG_TRACEROUTE, &a), 0);
    assert_int_equal(ward_diag_get_int(&a, "max_hops"), 20);
    assert_int_equal(ward_diag_init(WARD_DIAG_CONNECT, &a), 0);
    assert_int_equal(ward_diag_get_int(&a, "timeout"), 5);
    assert_int_equal(ward_diag_set(&a, "timeout", "30", NULL), 0);
    assert_int_equal(ward_diag_get_int(&a, "timeout"), 30);
}

static void test_split_host_port(void **state)
{
    (void)state;
    static const struct {
        const char *in, *host;
        unsigned port;
    } good[] = {
        {"[::1]:22", "::1", 22},
        {"host:22", "host", 22},
        {"127.0.0.1:65535", "127.0.0.1", 65535},
        {"example.com:1", "example.com", 1},
        {"[::ffff:127.0.0.1]:80", "::ffff:127.0.0.1", 80},
        {"[2001:db8::1]:443", "2001:db8::1", 443},
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        char host[64];
        unsigned port = 0;
        assert_int_equal(ward_diag_split_host_port(good[i].in, host, sizeof(host), &port), 0);
        assert_string_equal(host, good[i].host);
        assert_int_equal(port, good[i].port);
    }

    static const char *const bad[] = {"",       "host",       "::1:22",         "[::1]",
                                      "host:0", "host:65536", "host:080",       "[a]:1",
                                      "-h:22",  "h;x:22",     "[fe80::1%e]:22", "host:22\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char host[64] = "untouched";
        unsigned port = 7;
        assert_int_equal(ward_diag_split_host_port(bad[i], host, sizeof(host), &port), -EINVAL);
        assert_string_equal(host, "untouched");
        assert_int_equal(port, 7);
    }

    /* The host must fit, terminator included. */
    char small[5] = "xxxx";
    unsigned port = 7;
    assert_int_equal(ward_diag_split_host_port("hosts:22", small, sizeof(small), &port), -EINVAL);
    assert_int_equal(port, 7);
    assert_int_equal(ward_diag_split_host_port("host:22", small, sizeof(small), &port), 0);
    assert_string_equal(small, "host");
    assert_int_equal(port, 22);
    assert_int_equal(ward_diag_split_host_port("[::1]:9", small, sizeof(small), &port), 0);
    assert_string_equal(small, "::1");
    assert_int_equal(port, 9);
    assert_int_equal(ward_diag_split_host_port(NULL, small, sizeof(small), &port), -EINVAL);
    assert_int_equal(ward_diag_split_host_port("host:22", small, 0, &port), -EINVAL);

    /* Whatever the check accepts, the split takes apart. */
    char *longhost = repeat('a', 63);
    char in[128], host[128];
    snprintf(in, sizeof(in), "%s:1", longhost);
    assert_int_equal(ward_diag_split_host_port(in, host, sizeof(host), &port), 0);
    assert_string_equal(host, longhost);
    free(longhost);
}

static int hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Undoes the C-string escapes of gen-diag-payloads.py in place; false for a malformed value. */
static bool unescape(char *s)
{
    char *out = s;
    for (const char *p = s; *p; p++) {
        if (*p != '\\') {
            *out++ = *p;
            continue;
        }
        switch (*++p) {
        case 'n':
            *out++ = '\n';
            break;
        case 'r':
            *out++ = '\r';
            break;
        case 't':
            *out++ = '\t';
            break;
        case '\\':
        case '"':
            *out++ = *p;
            break;
        case 'x': {
            int hi = hex(p[1]), lo = hi < 0 ? -1 : hex(p[2]);
            if (lo < 0 || (hi == 0 && lo == 0))
                return false;
            *out++ = (char)(hi * 16 + lo);
            p += 2;
            break;
        }
        default:
            return false;
        }
    }
    *out = '\0';
    return true;
}

static void test_payloads(void **state)
{
    (void)state;
    FILE *f = fopen(PAYLOADS, "re");
    if (!f)
        fail_msg("%s: %s", PAYLOADS, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    unsigned lineno = 0, n = 0;
    unsigned per_arg[WARD_DIAG_N][WARD_DIAG_MAX_ARGS] = {{0}};
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        if (len == 0 || line[0] == '#')
            continue;
        char *tab1 = strchr(line, '\t');
        char *tab2 = tab1 ? strchr(tab1 + 1, '\t') : NULL;
        if (!tab2)
            fail_msg("%s:%u: not diagnostic<TAB>arg<TAB>value", PAYLOADS, lineno);
        *tab1 = '\0';
        *tab2 = '\0';
        const char *diag = line, *arg = tab1 + 1;
        char *value = tab2 + 1;
        if (!unescape(value))
            fail_msg("%s:%u: bad escape", PAYLOADS, lineno);

        enum ward_diag_type type;
        if (ward_diag_type_of(diag, &type) != 0)
            fail_msg("%s:%u: unknown diagnostic %s", PAYLOADS, lineno, diag);
        const struct ward_diag_spec *spec = ward_diag_spec(type);
        size_t k = 0;
        while (k < spec->n_args && strcmp(spec->args[k].name, arg) != 0)
            k++;
        if (k == spec->n_args)
            fail_msg("%s:%u: %s has no argument %s", PAYLOADS, lineno, diag, arg);

        struct ward_diag_args a;
        struct ward_buf err = WARD_BUF_INIT;
        assert_int_equal(ward_diag_init(type, &a), 0);
        if (ward_diag_set(&a, arg, value, &err) != -EINVAL)
            fail_msg("%s:%u: %s %s accepted '%s'", PAYLOADS, lineno, diag, arg, value);
        if (ward_diag_valid(&spec->args[k], value))
            fail_msg("%s:%u: ward_diag_valid accepted it", PAYLOADS, lineno);
        assert_non_null(strstr(err.data, arg));
        assert_string_equal(a.values[k], spec->args[k].def ? spec->args[k].def : "");
        ward_buf_done(&err);
        per_arg[type][k]++;
        n++;
    }
    free(line);
    fclose(f);

    /* The corpus is large and reaches every argument of every diagnostic. */
    assert_true(n >= 240);
    for (unsigned t = 0; t < WARD_DIAG_N; t++) {
        const struct ward_diag_spec *spec = ward_diag_spec((enum ward_diag_type)t);
        for (size_t k = 0; k < spec->n_args; k++)
            if (per_arg[t][k] < 10)
                fail_msg("%s %s: only %u payloads", spec->name, spec->args[k].name, per_arg[t][k]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type_of),
        cmocka_unit_test(test_name_and_spec),
        cmocka_unit_test(test_init_defaults),
        cmocka_unit_test(test_complete_required),
        cmocka_unit_test(test_complete_revalidates),
        cmocka_unit_test(test_unknown_arg),
        cmocka_unit_test(test_error_messages),
        cmocka_unit_test(test_common_rules),
        cmocka_unit_test(test_host),
        cmocka_unit_test(test_host_port),
        cmocka_unit_test(test_path),
        cmocka_unit_test(test_int),
        cmocka_unit_test(test_word),
        cmocka_unit_test(test_unit),
        cmocka_unit_test(test_get),
        cmocka_unit_test(test_get_int),
        cmocka_unit_test(test_split_host_port),
        cmocka_unit_test(test_payloads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
