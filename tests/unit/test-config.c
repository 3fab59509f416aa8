/*
 * Tests for the option-table configuration loader.
 *
 * One small program table covers every option type, a bounded integer and
 * duration, and a nested YAML section. Each test builds an argv, sets the
 * environment it needs (a setup hook clears it before every test), and checks
 * the resulting struct, the return code and the exact wording of messages,
 * including the line and column of YAML errors. YAML cases live in
 * tests/unit/data/config/; cases that need odd bytes or sizes are written to
 * temporary files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/config.h"
#include "common/error.h"

#define DATA WARD_SOURCE_ROOT "/tests/unit/data/config/"

struct test_config {
    char *address;
    char *key;
    int64_t port;
    int64_t interval_ms;
    bool once;
    bool verbose;
    double ratio;
    int64_t cpu_interval_ms;
    char *mode;
};

static const char *const mode_choices[] = {"fast", "slow", NULL};

static const struct ward_option test_options[] = {
    {"address", 'a', "WT_ADDRESS", WARD_OPT_STRING, offsetof(struct test_config, address),
     "localhost:8080", 0, 0, "ADDR", "server address", NULL},
    {"key", 'k', "WT_KEY", WARD_OPT_STRING, offsetof(struct test_config, key), NULL, 0, 0, "KEY",
     "signing key", NULL},
    {"port", 'p', "WT_PORT", WARD_OPT_INT, offsetof(struct test_config, port), "8080", 1, 65535,
     "PORT", "listen port", NULL},
    {"report-interval", 'r', "WT_REPORT_INTERVAL", WARD_OPT_DURATION,
     offsetof(struct test_config, interval_ms), "10s", 1000, 86400000, NULL, "how often to report",
     NULL},
    {"once", 'o', "WT_ONCE", WARD_OPT_BOOL, offsetof(struct test_config, once), NULL, 0, 0, NULL,
     "run once and exit", NULL},
    {"verbose", 'v', NULL, WARD_OPT_BOOL, offsetof(struct test_config, verbose), "false", 0, 0,
     NULL, "log more", NULL},
    {"ratio", 0, "WT_RATIO", WARD_OPT_DOUBLE, offsetof(struct test_config, ratio), "0.5", 0, 0,
     NULL, "sampling ratio", NULL},
    {"mode", 'm', "WT_MODE", WARD_OPT_STRING, offsetof(struct test_config, mode), "fast", 0, 0,
     NULL, "speed", mode_choices},
    {"collectors.cpu.interval", 0, NULL, WARD_OPT_DURATION,
     offsetof(struct test_config, cpu_interval_ms), "5s", 0, 0, NULL, "CPU collector interval",
     NULL},
};

static const struct ward_program test_program = {
    .name = "ward-test",
    .version = "1.2.3",
    .summary = "Exercises the configuration loader.",
    .usage_tail = "[COMMAND]",
    .options = test_options,
    .n_options = sizeof(test_options) / sizeof(test_options[0]),
};

static const char *const cleared_env[] = {"WT_ADDRESS", "WT_KEY",   "WT_PORT", "WT_REPORT_INTERVAL",
                                          "WT_ONCE",    "WT_RATIO", "WT_MODE", "WARD_CONFIG"};

/* Everything a test needs: the loaded struct, the messages and the captured output. */
struct fixture {
    struct test_config c;
    struct ward_buf err;
    int first;
    char *out;
    size_t out_len;
    FILE *out_file;
};

static int setup(void **state)
{
    for (size_t i = 0; i < sizeof(cleared_env) / sizeof(cleared_env[0]); i++)
        unsetenv(cleared_env[i]);
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    ward_buf_init(&f->err, 0);
    f->first = -1;
    f->out_file = open_memstream(&f->out, &f->out_len);
    assert_non_null(f->out_file);
    *state = f;
    return 0;
}

/* Starts a fresh capture of the output. */
static void reset_out(struct fixture *f)
{
    fclose(f->out_file);
    free(f->out);
    f->out = NULL;
    f->out_len = 0;
    f->out_file = open_memstream(&f->out, &f->out_len);
    assert_non_null(f->out_file);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    ward_config_done(&test_program, &f->c);
    ward_buf_done(&f->err);
    fclose(f->out_file);
    free(f->out);
    free(f);
    return 0;
}

/* Runs the loader on argv ("ward-test", then the NULL-terminated arguments). */
static int load(struct fixture *f, ...)
{
    char *argv[32] = {"ward-test"};
    int argc = 1;
    va_list ap;
    va_start(ap, f);
    for (const char *a; (a = va_arg(ap, const char *));)
        argv[argc++] = (char *)a;
    va_end(ap);
    ward_config_done(&test_program, &f->c);
    int r = ward_config_load_to(&test_program, &f->c, argc, argv, f->out_file, &f->first, &f->err);
    fflush(f->out_file);
    return r;
}

/* Writes text to a new temporary file and returns its path, which the caller frees and unlinks. */
static char *write_tmp(const char *text, size_t len)
{
    char *path = strdup("/tmp/ward-test-config-XXXXXX");
    assert_non_null(path);
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
    return path;
}

/* Loads YAML text from a temporary file. */
static int load_text(struct fixture *f, const char *yaml, char **path_out)
{
    char *path = write_tmp(yaml, strlen(yaml));
    int r = load(f, "-c", path, NULL);
    *path_out = path;
    return r;
}

/* Asserts that the message is "PATH" followed by rest. */
static void assert_msg_at(struct fixture *f, const char *path, const char *rest)
{
    char want[1024];
    snprintf(want, sizeof(want), "%s%s", path, rest);
    assert_string_equal(f->err.data, want);
}

static void test_defaults(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load(f, NULL), WARD_CONFIG_RUN);
    assert_string_equal(f->c.address, "localhost:8080");
    assert_null(f->c.key);
    assert_int_equal(f->c.port, 8080);
    assert_int_equal(f->c.interval_ms, 10000);
    assert_false(f->c.once);
    assert_false(f->c.verbose);
    assert_true(f->c.ratio == 0.5);
    assert_int_equal(f->c.cpu_interval_ms, 5000);
    assert_int_equal(f->first, 1);
    assert_int_equal(f->out_len, 0);
}

static void test_defaults_overwrite_garbage(void **state)
{
    struct fixture *f = *state;
    memset(&f->c, 0, sizeof(f->c));
    f->c.port = 77;
    f->c.once = true;
    f->c.address = NULL;
    assert_int_equal(load(f, NULL), WARD_CONFIG_RUN);
    assert_int_equal(f->c.port, 8080);
    assert_false(f->c.once);
}

static void test_file_values(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load(f, "--config", DATA "full.yaml", NULL), WARD_CONFIG_RUN);
    assert_string_equal(f->c.address, "10.0.0.1:9000");
    assert_null(f->c.key);
    assert_int_equal(f->c.port, 9000);
    assert_int_equal(f->c.interval_ms, 30000);
    assert_true(f->c.once);
    assert_true(f->c.ratio == 0.25);
    assert_int_equal(f->c.cpu_interval_ms, 120000);
}

static void test_empty_file(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load(f, "-c", DATA "empty.yaml", NULL), WARD_CONFIG_RUN);
    assert_int_equal(f->c.port, 8080);

    char *path;
    assert_int_equal(load_text(f, "---\n", &path), WARD_CONFIG_RUN);
    assert_int_equal(f->c.port, 8080);
    unlink(path);
    free(path);
}

static void test_precedence(void **state)
{
    struct fixture *f = *state;
    setenv("WT_ADDRESS", "env:1", 1);
    setenv("WT_REPORT_INTERVAL", "30s", 1);
    setenv("WT_KEY", "env-key", 1);
    assert_int_equal(load(f, "-c", DATA "precedence.yaml", "--address", "flag:1", NULL),
                     WARD_CONFIG_RUN);
    assert_string_equal(f->c.address, "flag:1"); /* flag > env > file > default */
    assert_int_equal(f->c.interval_ms, 30000);   /* env > file > default */
    assert_int_equal(f->c.port, 9000);           /* file > default */
    assert_true(f->c.ratio == 0.5);              /* default */
    assert_string_equal(f->c.key, "env-key");    /* env > default */

    /* Without the flag the environment shows through, without both the file. */
    assert_int_equal(load(f, "-c", DATA "precedence.yaml", NULL), WARD_CONFIG_RUN);
    assert_string_equal(f->c.address, "env:1");
    unsetenv("WT_ADDRESS");
    unsetenv("WT_REPORT_INTERVAL");
    assert_int_equal(load(f, "-c", DATA "precedence.yaml", NULL), WARD_CONFIG_RUN);
    assert_string_equal(f->c.address, "file:1");
    assert_int_equal(f->c.interval_ms, 20000);
}

static void test_config_env(void **state)
{
    struct fixture *f = *state;
    setenv("WARD_CONFIG", DATA "precedence.yaml", 1);
    assert_int_equal(load(f, NULL), WARD_CONFIG_RUN);
    assert_int_equal(f->c.port, 9000);

    /* -c wins over WARD_CONFIG. */
    assert_int_equal(load(f, "-c", DATA "full.yaml", NULL), WARD_CONFIG_RUN);
    assert_int_equal(f->c.port, 9000);
    assert_string_equal(f->c.address, "10.0.0.1:9000");

    /* An empty variable counts as unset. */
    setenv("WARD_CONFIG", "", 1);
    assert_int_equal(load(f, NULL), WARD_CONFIG_RUN);
    assert_int_equal(f->c.port, 8080);

    setenv("WARD_CONFIG", "/nonexistent/ward.yaml", 1);
    assert_int_equal(load(f, NULL), -ENOENT);
    assert_string_equal(f->err.data, "cannot read configuration file '/nonexistent/ward.yaml' "
                                     "(named by WARD_CONFIG): No such file or directory");
}

static void test_flag_syntax(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load(f, "-a", "one", NULL), WARD_CONFIG_RUN);
    assert_string_equal(f->c.address, "one");
    assert_int_equal(load(f, "-atwo", NULL), WARD_CONFIG_RUN);
    assert_string_equal(f->c.address, "two");
    assert_int_equal(load(f, "--address", "three", NULL), WARD_CONFIG_RUN);
    assert_string_equal(f->c.address, "three");
    assert_int_equal(load(f, "--address=four=4", NULL), WARD_CONFIG_RUN);
    assert_string_equal(f->c.address, "four=4");
    assert_int_equal(load(f, "--address=", NULL), WARD_CONFIG_RUN);
    assert_string_equal(f->c.address, "");

    /* A value may start with '-'; the last of repeated flags wins. */
    assert_int_equal(load(f, "-p", "1", "--key", "-secret", "-p5", NULL), WARD_CONFIG_RUN);
    assert_string_equal(f->c.key, "-secret");
    assert_int_equal(f->c.port, 5);

    /* A value-taking letter ends a cluster of booleans and takes the rest. */
    assert_int_equal(load(f, "-vop42", NULL), WARD_CONFIG_RUN);
    assert_true(f->c.verbose);
    assert_true(f->c.once);
    assert_int_equal(f->c.port, 42);

    assert_int_equal(load(f, "--ratio", "0.75", NULL), WARD_CONFIG_RUN);
    assert_true(f->c.ratio == 0.75);
    assert_int_equal(load(f, "--collectors.cpu.interval=7s", NULL), WARD_CONFIG_RUN);
    assert_int_equal(f->c.cpu_interval_ms, 7000);
}

static void test_choices(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load(f, NULL), WARD_CONFIG_RUN);
    assert_string_equal(f->c.mode, "fast");
    assert_int_equal(load(f, "-m", "slow", NULL), WARD_CONFIG_RUN);
    assert_string_equal(f->c.mode, "slow");
    assert_int_equal(load(f, "--mode=medium", NULL), WARD_E_USAGE);
    assert_string_equal(f->err.data, "option '--mode': 'medium' is not one of: fast, slow");
    setenv("WT_MODE", "Fast", 1);
    assert_int_equal(load(f, NULL), WARD_E_CONFIG);
    assert_non_null(strstr(f->err.data, "WT_MODE"));
    assert_non_null(strstr(f->err.data, "'Fast' is not one of: fast, slow"));
    unsetenv("WT_MODE");
}

static void test_bools(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load(f, "--once", NULL), WARD_CONFIG_RUN);
    assert_true(f->c.once);
    assert_int_equal(load(f, "-o", NULL), WARD_CONFIG_RUN);
    assert_true(f->c.once);
    assert_int_equal(load(f, "-ov", NULL), WARD_CONFIG_RUN);
    assert_true(f->c.once);
    assert_true(f->c.verbose);

    /* A bool flag takes no argument: the next word is positional. */
    assert_int_equal(load(f, "--once", "false", NULL), WARD_CONFIG_RUN);
    assert_true(f->c.once);
    assert_int_equal(f->first, 2);

    setenv("WT_ONCE", "on", 1);
    assert_int_equal(load(f, NULL), WARD_CONFIG_RUN);
    assert_true(f->c.once);
    assert_int_equal(load(f, "--once=false", NULL), WARD_CONFIG_RUN);
    assert_false(f->c.once);
    assert_int_equal(load(f, "--once=NO", NULL), WARD_CONFIG_RUN);
    assert_false(f->c.once);
    unsetenv("WT_ONCE");

    assert_int_equal(load(f, "--once=maybe", NULL), WARD_E_USAGE);
    assert_string_equal(f->err.data, "option '--once': 'maybe' is not a boolean "
                                     "(use true/false, yes/no, on/off or 1/0)");
    assert_int_equal(load(f, "-ofalse", NULL), WARD_E_USAGE);
    assert_string_equal(f->err.data, "unknown option '-f'");
}

static void test_durations(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load(f, "-r", "10", NULL), WARD_CONFIG_RUN); /* seconds, as golectra */
    assert_int_equal(f->c.interval_ms, 10000);
    assert_int_equal(load(f, "-r", "1.5s", NULL), WARD_CONFIG_RUN);
    assert_int_equal(f->c.interval_ms, 1500);
    assert_int_equal(load(f, "--report-interval=2m", NULL), WARD_CONFIG_RUN);
    assert_int_equal(f->c.interval_ms, 120000);
    assert_int_equal(load(f, "-r", "1d", NULL), WARD_CONFIG_RUN);
    assert_int_equal(f->c.interval_ms, 86400000);

    assert_int_equal(load(f, "-r", "soon", NULL), WARD_E_USAGE);
    assert_string_equal(f->err.data, "option '-r': 'soon' is not a duration (use e.g. 500ms, "
                                     "10s, 5m, 1h, 1d; a plain number means seconds)");
}

static void test_bounds(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load(f, "-p", "1", NULL), WARD_CONFIG_RUN);
    assert_int_equal(f->c.port, 1);
    assert_int_equal(load(f, "-p", "65535", NULL), WARD_CONFIG_RUN);
    assert_int_equal(f->c.port, 65535);

    assert_int_equal(load(f, "--port", "0", NULL), WARD_E_USAGE);
    assert_string_equal(f->err.data, "option '--port': '0' is out of range (1 to 65535)");
    assert_int_equal(load(f, "-p", "65536", NULL), WARD_E_USAGE);
    assert_string_equal(f->err.data, "option '-p': '65536' is out of range (1 to 65535)");
    assert_int_equal(load(f, "-p", "99999999999999999999", NULL), WARD_E_USAGE);
    assert_string_equal(f->err.data,
                        "option '-p': '99999999999999999999' is out of range (1 to 65535)");
    assert_int_equal(load(f, "-p", "12x", NULL), WARD_E_USAGE);
    assert_string_equal(f->err.data, "option '-p': '12x' is not an integer");

    assert_int_equal(load(f, "-r", "500ms", NULL), WARD_E_USAGE);
    assert_string_equal(f->err.data, "option '-r': '500ms' is out of range (1s to 1d)");
    assert_int_equal(load(f, "-r", "25h", NULL), WARD_E_USAGE);
    assert_string_equal(f->err.data, "option '-r': '25h' is out of range (1s to 1d)");

    /* Unbounded durations still refuse negative values. */
    assert_int_equal(load(f, "--collectors.cpu.interval", "-1s", NULL), WARD_E_USAGE);
    assert_string_equal(f->err.data, "option '--collectors.cpu.interval': '-1s' is out of range");
}

static void test_unknown_flag(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load(f, "--adress", "x", NULL), WARD_E_USAGE);
    assert_string_equal(f->err.data, "unknown option '--adress' (did you mean '--address'?)");
    assert_int_equal(load(f, "--report_interval=5", NULL), WARD_E_USAGE);
    assert_string_equal(f->err.data,
                        "unknown option '--report_interval' (did you mean '--report-interval'?)");
    assert_int_equal(load(f, "--frobnicate", NULL), WARD_E_USAGE);
    assert_string_equal(f->err.data, "unknown option '--frobnicate'");
    assert_int_equal(load(f, "-x", NULL), WARD_E_USAGE);
    assert_string_equal(f->err.data, "unknown option '-x'");
    assert_int_equal(f->first, -1); /* not written on failure */
}

static void test_missing_value(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load(f, "--address", NULL), WARD_E_USAGE);
    assert_string_equal(f->err.data, "option '--address' requires a value (--address ADDR)");
    assert_int_equal(load(f, "-v", "-r", NULL), WARD_E_USAGE);
    assert_string_equal(f->err.data, "option '-r' requires a value (-r DURATION)");
    assert_int_equal(load(f, "-c", NULL), WARD_E_USAGE);
    assert_string_equal(f->err.data, "option '-c' requires a value (-c FILE)");
}

static void test_env(void **state)
{
    struct fixture *f = *state;
    setenv("WT_PORT", "7000", 1);
    setenv("WT_RATIO", "1e-3", 1);
    assert_int_equal(load(f, NULL), WARD_CONFIG_RUN);
    assert_int_equal(f->c.port, 7000);
    assert_true(f->c.ratio == 1e-3);

    setenv("WT_PORT", "", 1); /* empty = unset */
    assert_int_equal(load(f, NULL), WARD_CONFIG_RUN);
    assert_int_equal(f->c.port, 8080);

    setenv("WT_PORT", "abc", 1);
    assert_int_equal(load(f, NULL), WARD_E_CONFIG);
    assert_string_equal(f->err.data, "environment variable WT_PORT: 'abc' is not an integer");

    /* A flag does not hide a bad environment value. */
    assert_int_equal(load(f, "-p", "1", NULL), WARD_E_CONFIG);
    unsetenv("WT_PORT");

    setenv("WT_RATIO", "half", 1);
    assert_int_equal(load(f, NULL), WARD_E_CONFIG);
    assert_string_equal(f->err.data, "environment variable WT_RATIO: 'half' is not a number");
}

static void test_yaml_unknown_key(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load(f, "-c", DATA "unknown-key.yaml", NULL), WARD_E_CONFIG);
    assert_msg_at(f, DATA "unknown-key.yaml",
                  ":4:1: unknown key 'adress' (did you mean 'address'?)");
    assert_null(f->c.address); /* nothing is left allocated on failure */

    assert_int_equal(load(f, "-c", DATA "unknown-nested-key.yaml", NULL), WARD_E_CONFIG);
    assert_msg_at(f, DATA "unknown-nested-key.yaml",
                  ":5:5: unknown key 'intervall' in 'collectors.cpu' (did you mean 'interval'?)");

    char *path;
    assert_int_equal(load_text(f, "# flow style\n{port: 2, report-interval: 3}\n", &path),
                     WARD_E_CONFIG);
    assert_msg_at(f, path,
                  ":2:11: unknown key 'report-interval' (did you mean 'report_interval'?)");
    unlink(path);
    free(path);

    assert_int_equal(load_text(f, "colectors:\n  cpu: {}\n", &path), WARD_E_CONFIG);
    assert_msg_at(f, path, ":1:1: unknown key 'colectors' (did you mean 'collectors'?)");
    unlink(path);
    free(path);
}

static void test_yaml_type_error(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load(f, "-c", DATA "type-error.yaml", NULL), WARD_E_CONFIG);
    assert_msg_at(f, DATA "type-error.yaml", ":2:7: key 'port' expects a number, not a list");

    char *path;
    assert_int_equal(load_text(f, "address:\n  host: x\n", &path), WARD_E_CONFIG);
    assert_msg_at(f, path, ":2:3: key 'address' expects a string, not a mapping");
    unlink(path);
    free(path);

    assert_int_equal(load_text(f, "collectors: 5s\n", &path), WARD_E_CONFIG);
    assert_msg_at(f, path, ":1:13: key 'collectors' expects a mapping, not a single value");
    unlink(path);
    free(path);

    assert_int_equal(load_text(f, "- port\n- 9000\n", &path), WARD_E_CONFIG);
    assert_msg_at(f, path, ":1:1: expected a mapping of keys to values, not a list");
    unlink(path);
    free(path);

    assert_int_equal(load_text(f, "key: &x 1\nport: *x\n", &path), WARD_E_CONFIG);
    assert_msg_at(f, path, ":2:7: key 'port': aliases are not supported");
    unlink(path);
    free(path);

    assert_int_equal(load_text(f, "port: 1\nport: 2\n", &path), WARD_E_CONFIG);
    assert_msg_at(f, path, ":2:1: duplicate key 'port' (first set on line 1)");
    unlink(path);
    free(path);

    assert_int_equal(load_text(f, "port: 1\n---\nport: 2\n", &path), WARD_E_CONFIG);
    assert_msg_at(f, path, ":2:1: only one YAML document is allowed");
    unlink(path);
    free(path);
}

static void test_yaml_bad_value(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load(f, "-c", DATA "bad-value.yaml", NULL), WARD_E_CONFIG);
    assert_msg_at(f, DATA "bad-value.yaml",
                  ":2:18: key 'report_interval': 'soon' is not a duration (use e.g. 500ms, 10s, "
                  "5m, 1h, 1d; a plain number means seconds)");

    char *path;
    assert_int_equal(load_text(f, "port: 70000\n", &path), WARD_E_CONFIG);
    assert_msg_at(f, path, ":1:7: key 'port': '70000' is out of range (1 to 65535)");
    unlink(path);
    free(path);

    assert_int_equal(load_text(f, "once: 5\n", &path), WARD_E_CONFIG);
    assert_msg_at(f, path,
                  ":1:7: key 'once': '5' is not a boolean "
                  "(use true/false, yes/no, on/off or 1/0)");
    unlink(path);
    free(path);

    /* Quoted numbers are fine, and "null" in quotes is a string. */
    assert_int_equal(load_text(f, "port: \"9001\"\nkey: 'null'\n", &path), WARD_CONFIG_RUN);
    assert_int_equal(f->c.port, 9001);
    assert_string_equal(f->c.key, "null");
    unlink(path);
    free(path);

    static const char nul[] = "key: \"a\\0b\"\n";
    assert_int_equal(load_text(f, nul, &path), WARD_E_CONFIG);
    assert_msg_at(f, path, ":1:6: key 'key': value contains a NUL byte");
    unlink(path);
    free(path);
}

static void test_yaml_malformed(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load(f, "-c", DATA "malformed.yaml", NULL), WARD_E_CONFIG);
    assert_msg_at(f, DATA "malformed.yaml",
                  ":2:8: YAML syntax error: mapping values are not allowed in this context");

    char *path;
    assert_int_equal(load_text(f, "port: [1, 2\nonce: true\n", &path), WARD_E_CONFIG);
    assert_msg_at(f, path,
                  ":2:5: YAML syntax error: did not find expected ',' or ']' "
                  "(while parsing a flow sequence at line 1)");
    unlink(path);
    free(path);

    static const char bad_utf8[] = "key: \xff\xfe\n";
    path = write_tmp(bad_utf8, sizeof(bad_utf8) - 1);
    assert_int_equal(load(f, "-c", path, NULL), WARD_E_CONFIG);
    assert_non_null(strstr(f->err.data, path));
    assert_non_null(strstr(f->err.data, "invalid leading UTF-8 octet"));
    unlink(path);
    free(path);
}

static void test_file_errors(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load(f, "-c", "/nonexistent/ward.yaml", NULL), -ENOENT);
    assert_string_equal(f->err.data, "cannot read configuration file '/nonexistent/ward.yaml': "
                                     "No such file or directory");
    assert_int_equal(load(f, "-c", "/", NULL), -EISDIR);
    assert_string_equal(f->err.data, "cannot read configuration file '/': Is a directory");

    size_t n = WARD_CONFIG_FILE_MAX + 1;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, '#', n);
    char *path = write_tmp(big, n);
    free(big);
    assert_int_equal(load(f, "-c", path, NULL), WARD_E_LIMIT);
    assert_msg_at(f, path, ": configuration file is larger than 1048576 bytes");
    unlink(path);
    free(path);
}

static void test_help(void **state)
{
    struct fixture *f = *state;
    /* --help reads neither the file nor the environment. */
    setenv("WT_PORT", "bad", 1);
    assert_int_equal(load(f, "-c", "/nonexistent", "--help", NULL), WARD_CONFIG_EXIT);
    const char *want =
        "Usage: ward-test [OPTION]... [COMMAND]\n"
        "Exercises the configuration loader.\n"
        "\n"
        "Options:\n"
        "  -a, --address ADDR              server address (env WT_ADDRESS, default "
        "localhost:8080)\n"
        "  -k, --key KEY                   signing key (env WT_KEY)\n"
        "  -p, --port PORT                 listen port (env WT_PORT, default 8080)\n"
        "  -r, --report-interval DURATION  how often to report (env WT_REPORT_INTERVAL, default "
        "10s)\n"
        "  -o, --once                      run once and exit (env WT_ONCE)\n"
        "  -v, --verbose                   log more (default false)\n"
        "      --ratio NUMBER              sampling ratio (env WT_RATIO, default 0.5)\n"
        "  -m, --mode VALUE                speed (env WT_MODE, default fast)\n"
        "      --collectors.cpu.interval DURATION  CPU collector interval (default 5s)\n"
        "  -c, --config FILE               read settings from the YAML file FILE (env "
        "WARD_CONFIG)\n"
        "      --check-config              load and check the configuration, then exit\n"
        "  -h, --help                      show this help and exit\n"
        "  -V, --version                   show the version and exit\n"
        "\n"
        "Flags override the environment, which overrides the configuration file, which\n"
        "overrides the defaults. In the file, each option is a key named like its long\n"
        "flag with '_' for '-' (--poll-interval is poll_interval).\n"
        "Durations take a unit (500ms, 10s, 5m, 1h, 1d); a plain number means seconds.\n";
    assert_string_equal(f->out, want);
    assert_int_equal(f->first, 4);

    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    assert_int_equal(ward_config_print_help(&test_program, tmp), 0);
    assert_int_equal(ftell(tmp), (long)strlen(want));
    fclose(tmp);
}

static void test_version(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load(f, "-V", NULL), WARD_CONFIG_EXIT);
    assert_string_equal(f->out, "ward-test 1.2.3\n");
    assert_null(f->c.address);
    assert_int_equal(load(f, "--version=yes", "--unknown", NULL), WARD_E_USAGE);
}

static void test_check_config(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load(f, "--check-config", "-c", DATA "full.yaml", NULL), WARD_CONFIG_EXIT);
    assert_string_equal(f->out, "ward-test: configuration OK (" DATA "full.yaml)\n");
    assert_null(f->c.address); /* freed: the program exits */

    reset_out(f);
    assert_int_equal(load(f, "--check-config", NULL), WARD_CONFIG_EXIT);
    assert_string_equal(f->out, "ward-test: configuration OK (no configuration file)\n");

    /* A problem anywhere is an error, and nothing is printed. */
    reset_out(f);
    setenv("WT_REPORT_INTERVAL", "0", 1);
    assert_int_equal(load(f, "--check-config", "-c", DATA "full.yaml", NULL), WARD_E_CONFIG);
    assert_string_equal(f->err.data,
                        "environment variable WT_REPORT_INTERVAL: '0' is out of range (1s to 1d)");
    assert_int_equal(f->out_len, 0);
    unsetenv("WT_REPORT_INTERVAL");
    assert_int_equal(load(f, "--check-config", "-c", DATA "bad-value.yaml", NULL), WARD_E_CONFIG);
    assert_int_equal(f->out_len, 0);
}

static void test_positional(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load(f, "-a", "x", "query", "--port", "5", NULL), WARD_CONFIG_RUN);
    assert_int_equal(f->first, 3);
    assert_int_equal(f->c.port, 8080); /* options after the command are its own */

    assert_int_equal(load(f, "-p", "5", "--", "-a", NULL), WARD_CONFIG_RUN);
    assert_int_equal(f->first, 4);
    assert_string_equal(f->c.address, "localhost:8080");

    assert_int_equal(load(f, "-o", "-", NULL), WARD_CONFIG_RUN);
    assert_int_equal(f->first, 2);

    assert_int_equal(load(f, "-o", "--", NULL), WARD_CONFIG_RUN);
    assert_int_equal(f->first, 3);

    char *argv[] = {"ward-test"};
    ward_config_done(&test_program, &f->c);
    assert_int_equal(ward_config_load(&test_program, &f->c, 1, argv, &f->first, NULL), 0);
    assert_int_equal(f->first, 1);
}

static void test_strings_freed(void **state)
{
    struct fixture *f = *state;
    /* The address is replaced by each layer; ASan reports any copy left behind. */
    setenv("WT_ADDRESS", "env", 1);
    setenv("WT_KEY", "env-key", 1);
    assert_int_equal(load(f, "-c", DATA "full.yaml", "-a", "a", "-a", "b", "-k", "k", NULL),
                     WARD_CONFIG_RUN);
    assert_string_equal(f->c.address, "b");
    ward_config_done(&test_program, &f->c);
    assert_null(f->c.address);
    assert_null(f->c.key);
    ward_config_done(&test_program, &f->c); /* twice is harmless */

    /* A failure after strings were set frees them too. */
    assert_int_equal(load(f, "-c", DATA "full.yaml", "-a", "a", "-p", "0", NULL), WARD_E_USAGE);
    assert_null(f->c.address);
    assert_null(f->c.key);
}

static void test_bad_table(void **state)
{
    struct fixture *f = *state;
    struct test_config c = {0};
    char *argv[] = {"ward-test"};
    int first = -1;

    static const struct ward_option clash[] = {
        {"count", 'c', NULL, WARD_OPT_INT, offsetof(struct test_config, port), NULL, 0, 0, NULL,
         "clashes with -c", NULL},
    };
    struct ward_program p = test_program;
    p.options = clash;
    p.n_options = 1;
    assert_int_equal(ward_config_load(&p, &c, 1, argv, &first, &f->err), -EINVAL);
    assert_string_equal(f->err.data, "ward-test: option table: '-c' is used by '--config' and "
                                     "'--count'");

    static const struct ward_option twice[] = {
        {"port", 0, NULL, WARD_OPT_INT, offsetof(struct test_config, port), NULL, 0, 0, NULL, "",
         NULL},
        {"port", 0, NULL, WARD_OPT_INT, offsetof(struct test_config, port), NULL, 0, 0, NULL, "",
         NULL},
    };
    p.options = twice;
    p.n_options = 2;
    assert_int_equal(ward_config_load(&p, &c, 1, argv, &first, &f->err), -EINVAL);
    assert_string_equal(f->err.data, "ward-test: option table: '--port' is defined twice");

    static const struct ward_option bad_default[] = {
        {"port", 0, NULL, WARD_OPT_INT, offsetof(struct test_config, port), "0", 1, 10, NULL, "",
         NULL},
    };
    p.options = bad_default;
    p.n_options = 1;
    assert_int_equal(ward_config_load(&p, &c, 1, argv, &first, &f->err), -EINVAL);
    assert_string_equal(f->err.data,
                        "ward-test: default of option '--port': '0' is out of range (1 to 10)");
    assert_int_equal(first, -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_defaults_overwrite_garbage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_precedence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_env, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flag_syntax, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bools, setup, teardown),
        cmocka_unit_test_setup_teardown(test_durations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bounds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_flag, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_value, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env, setup, teardown),
        cmocka_unit_test_setup_teardown(test_yaml_unknown_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_yaml_type_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_yaml_bad_value, setup, teardown),
        cmocka_unit_test_setup_teardown(test_yaml_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_help, setup, teardown),
        cmocka_unit_test_setup_teardown(test_choices, setup, teardown),
        cmocka_unit_test_setup_teardown(test_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_positional, setup, teardown),
        cmocka_unit_test_setup_teardown(test_strings_freed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_table, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
