/*
 * wardctl: administers a running ward-server from a shell.
 *
 *   wardctl [OPTIONS] health
 *   wardctl [OPTIONS] query SERVER_ID [METRIC_TYPE [METRIC_NAME]]
 *
 * Each command is one HTTP request to the server's public API and one
 * rendering of the answer: a table for people, or the raw JSON with --json
 * for scripts. The exit status is 0 on success, 1 when the server answered
 * with an error or could not be reached, and 2 for bad usage.
 */
#include "common/buf.h"
#include "common/config.h"
#include "common/error.h"
#include "common/json.h"
#include "ward-version.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define MAX_RESPONSE (64u << 20)

struct ctl_config {
    char *server;
    char *from;
    char *to;
    int64_t limit;
    int64_t timeout_ms;
    bool json;
};

/* One option; a trailing argument may add a field such as .choices. */
#define OPT(name_, short_, env_, type_, field, def_, min_, max_, metavar_, help_, ...)             \
    {                                                                                              \
        .name = name_, .short_name = short_, .env = env_, .type = type_,                           \
        .offset = offsetof(struct ctl_config, field), .def = def_, .min = min_, .max = max_,       \
        .metavar = metavar_, .help = help_, __VA_ARGS__                                            \
    }

static const struct ward_option options[] = {
    OPT("server", 's', "WARD_SERVER", WARD_OPT_STRING, server, "http://localhost:8080", 0, 0, "URL",
        "ward-server base URL"),
    OPT("from", 0, NULL, WARD_OPT_STRING, from, NULL, 0, 0, "TIME",
        "query: start, RFC 3339 or Unix ms (default: an hour before --to)"),
    OPT("to", 0, NULL, WARD_OPT_STRING, to, NULL, 0, 0, "TIME", "query: end (default: now)"),
    OPT("limit", 'n', NULL, WARD_OPT_INT, limit, "20", 1, 100000, "N", "query: most rows shown"),
    OPT("timeout", 0, "WARD_TIMEOUT", WARD_OPT_DURATION, timeout_ms, "10s", 100, 600000, "DURATION",
        "time limit of a request"),
    OPT("json", 'j', NULL, WARD_OPT_BOOL, json, "false", 0, 0, NULL, "print the server's JSON"),
};

static const struct ward_program program = {
    .name = "wardctl",
    .version = WARD_VERSION,
    .summary = "Administers a ward-server. Commands: health; query SERVER_ID [TYPE [NAME]].",
    .usage_tail = "COMMAND [ARG]...",
    .options = options,
    .n_options = sizeof(options) / sizeof(options[0]),
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    struct ward_buf *b = userdata;
    return ward_buf_append(b, data, size * nmemb) == 0 ? size * nmemb : 0;
}

/* GETs base + path; returns the HTTP status, or -1 after printing why. */
static long get(const struct ctl_config *cfg, const char *path, struct ward_buf *body)
{
    struct ward_buf url = WARD_BUF_INIT;
    ward_buf_printf(&url, "%s%s%s", strstr(cfg->server, "://") ? "" : "http://", cfg->server, path);
    CURL *c = curl_easy_init();
    if (!c || !url.data) {
        ward_buf_done(&url);
        fprintf(stderr, "wardctl: out of memory\n");
        return -1;
    }
    curl_easy_setopt(c, CURLOPT_URL, url.data);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "wardctl/" WARD_VERSION);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)cfg->timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    long status = -1;
    CURLcode cr = curl_easy_perform(c);
    if (cr == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    else
        fprintf(stderr, "wardctl: %s: %s\n", url.data, curl_easy_strerror(cr));
    curl_easy_cleanup(c);
    ward_buf_done(&url);
    return status;
}

/* Appends "&name=value" with value percent-encoded. */
static void add_param(struct ward_buf *path, const char *name, const char *value)
{
    if (!value)
        return;
    ward_buf_printf(path, "&%s=", name);
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-_.~", *p))
            ward_buf_putc(path, (char)*p);
        else
            ward_buf_printf(path, "%%%02X", *p);
    }
}

/* Prints the "error" field of a JSON error body, or the body itself. */
static void print_error(long status, const struct ward_buf *body)
{
    struct ward_json_reader r;
    struct ward_json_token t;
    ward_json_reader_init(&r, body->data ? body->data : "", body->len, NULL);
    const char *msg = NULL;
    size_t len = 0;
    if (ward_json_next(&r, &t) == 0 && t.type == WARD_JSON_OBJECT_BEGIN) {
        while (ward_json_next(&r, &t) == 0 && t.type == WARD_JSON_KEY) {
            bool want = ward_json_key_is(&t, "error");
            if (want && ward_json_next(&r, &t) == 0 && t.type == WARD_JSON_STRING) {
                msg = t.str;
                len = t.len;
                break;
            }
            if (!want && ward_json_skip(&r) < 0)
                break;
        }
    }
    if (msg)
        fprintf(stderr, "wardctl: server answered %ld: %.*s\n", status, (int)len, msg);
    else
        fprintf(stderr, "wardctl: server answered %ld\n", status);
    ward_json_reader_done(&r);
}

/* Prints one sample object of a query answer as a table row. */
static int print_row(struct ward_json_reader *r)
{
    char ts[40] = "", type[130] = "", name[130] = "", labels[256] = "", value[40] = "";
    struct ward_json_token t;
    int e;
    while ((e = ward_json_next(r, &t)) == 0 && t.type == WARD_JSON_KEY) {
        char *dst = ward_json_key_is(&t, "timestamp")     ? ts
                    : ward_json_key_is(&t, "metric_type") ? type
                    : ward_json_key_is(&t, "metric_name") ? name
                    : ward_json_key_is(&t, "value")       ? value
                                                          : NULL;
        size_t cap = dst == ts ? sizeof(ts) : dst == value ? sizeof(value) : sizeof(type);
        if (ward_json_key_is(&t, "labels")) {
            /* Render {"a":"1","b":"2"} as a=1,b=2. */
            size_t used = 0;
            if ((e = ward_json_expect(r, WARD_JSON_OBJECT_BEGIN, &t)) < 0)
                return e;
            while ((e = ward_json_next(r, &t)) == 0 && t.type == WARD_JSON_KEY) {
                int n = snprintf(labels + used, sizeof(labels) - used, "%s%.*s=", used ? "," : "",
                                 (int)t.len, t.str);
                used = n > 0 && used + (size_t)n < sizeof(labels) ? used + (size_t)n : used;
                if ((e = ward_json_expect(r, WARD_JSON_STRING, &t)) < 0)
                    return e;
                n = snprintf(labels + used, sizeof(labels) - used, "%.*s", (int)t.len, t.str);
                used = n > 0 && used + (size_t)n < sizeof(labels) ? used + (size_t)n : used;
            }
            if (e < 0)
                return e;
            continue;
        }
        if (!dst) {
            if ((e = ward_json_skip(r)) < 0)
                return e;
            continue;
        }
        if ((e = ward_json_next(r, &t)) < 0)
            return e;
        snprintf(dst, cap, "%.*s", (int)t.len, t.str);
    }
    if (e < 0)
        return e;
    printf("%-24s  %-8s  %-24s  %-20s  %s\n", ts, type, name, labels, value);
    return 0;
}

static int print_table(const struct ward_buf *body)
{
    struct ward_json_reader r;
    struct ward_json_token t;
    ward_json_reader_init(&r, body->data ? body->data : "", body->len, NULL);
    int e = ward_json_expect(&r, WARD_JSON_ARRAY_BEGIN, &t);
    size_t rows = 0;
    if (e == 0)
        printf("%-24s  %-8s  %-24s  %-20s  %s\n", "TIMESTAMP", "TYPE", "NAME", "LABELS", "VALUE");
    while (e == 0 && (e = ward_json_next(&r, &t)) == 0 && t.type == WARD_JSON_OBJECT_BEGIN) {
        e = print_row(&r);
        rows++;
    }
    if (e < 0)
        fprintf(stderr, "wardctl: unexpected answer from the server: %s\n",
                ward_json_error_message(&r));
    else if (rows == 0)
        fprintf(stderr, "wardctl: no samples in that range\n");
    ward_json_reader_done(&r);
    return e < 0 ? 1 : 0;
}

static int cmd_health(const struct ctl_config *cfg)
{
    struct ward_buf body = {.limit = MAX_RESPONSE};
    long status = get(cfg, "/health", &body);
    int rc = 1;
    if (status == 200) {
        printf("%s\n", body.data ? body.data : "");
        rc = 0;
    } else if (status > 0) {
        print_error(status, &body);
    }
    ward_buf_done(&body);
    return rc;
}

static int cmd_query(const struct ctl_config *cfg, int argc, char **argv)
{
    if (argc < 1 || argc > 3) {
        fprintf(stderr, "wardctl: usage: wardctl query SERVER_ID [METRIC_TYPE [METRIC_NAME]]\n");
        return 2;
    }
    struct ward_buf path = WARD_BUF_INIT, body = {.limit = MAX_RESPONSE};
    ward_buf_puts(&path, "/api/v1/metrics?");
    add_param(&path, "server_id", argv[0]);
    add_param(&path, "metric_type", argc > 1 ? argv[1] : NULL);
    add_param(&path, "metric_name", argc > 2 ? argv[2] : NULL);
    add_param(&path, "from", cfg->from);
    add_param(&path, "to", cfg->to);
    char limit[24];
    snprintf(limit, sizeof(limit), "%lld", (long long)cfg->limit);
    add_param(&path, "limit", limit);
    long status = get(cfg, path.data, &body);
    int rc = 1;
    if (status == 200)
        rc = cfg->json ? (printf("%s\n", body.data ? body.data : "[]"), 0) : print_table(&body);
    else if (status > 0)
        print_error(status, &body);
    ward_buf_done(&path);
    ward_buf_done(&body);
    return rc;
}

int main(int argc, char **argv)
{
    struct ctl_config cfg;
    int first;
    int r = ward_config_main(&program, &cfg, argc, argv, &first);
    if (r >= 0)
        return r;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc;
    if (first >= argc) {
        fprintf(stderr, "wardctl: missing command (health, query); see --help\n");
        rc = 2;
    } else if (strcmp(argv[first], "health") == 0 && first + 1 == argc) {
        rc = cmd_health(&cfg);
    } else if (strcmp(argv[first], "query") == 0) {
        rc = cmd_query(&cfg, argc - first - 1, argv + first + 1);
    } else {
        fprintf(stderr, "wardctl: unknown command '%s'; see --help\n", argv[first]);
        rc = 2;
    }
    curl_global_cleanup();
    ward_config_done(&program, &cfg);
    return rc;
}
