/*
 * Seed 001's server registry: POST /api/v1/servers registers a server and
 * returns its id; GET /api/v1/servers lists them.
 *
 * Registration is keyed by hostname, as the seed's schema makes hostname
 * unique: registering a hostname again updates the fields sent and returns
 * the same id (200), where a new hostname gets a new UUIDv7 (201). The body
 * is decoded in full and every field is checked before the store is asked,
 * so a bad request changes nothing. Unknown keys are ignored, as on ingest.
 *
 * Registration here only records a host; agents that send data with a
 * server_id the store does not know still create their host on ingest.
 */
#include "server/api/api.h"

#include "common/credential.h"
#include "common/error.h"
#include "common/json.h"
#include "common/log.h"
#include "common/time-util.h"
#include "server/auth.h"
#include "server/labels.h"
#include "server/query.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MAX_HOSTNAME      253 /* bytes, as DNS allows */
#define MAX_IP            45  /* bytes of the longest IPv6 text form */
#define MAX_OS            128
#define MAX_AGENT_VERSION 64
#define MAX_BODY_DEPTH    4

struct registration {
    char hostname[MAX_HOSTNAME + 1];
    char ip[MAX_IP + 1];
    char os[MAX_OS + 1];
    char agent_version[MAX_AGENT_VERSION + 1];
    bool has_ip, has_os, has_agent_version, has_labels;
    unsigned seen; /* bit i: fields[i] was read */
    struct ward_labels labels;
    struct ward_buf labels_json;
};

__attribute__((format(printf, 3, 4))) static int fail(struct ward_buf *err, int code,
                                                      const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ward_buf_vprintf(err, fmt, ap);
    va_end(ap);
    return code;
}

/* Printable text without control characters: what a name or version may hold. */
static bool printable(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

/* Reads a string field into dst (size max + 1); null leaves *has false. */
static int read_text(struct ward_json_reader *r, const char *field, char *dst, size_t max,
                     bool *has, struct ward_buf *err)
{
    struct ward_json_token tok;
    int rc = ward_json_next(r, &tok);
    if (rc < 0)
        return fail(err, rc, "%s: %s", field, ward_json_error_message(r));
    if (tok.type == WARD_JSON_NULL)
        return 0;
    if (tok.type != WARD_JSON_STRING)
        return fail(err, WARD_E_JSON_TYPE, "%s: expected a string", field);
    if (tok.len > max)
        return fail(err, WARD_E_LIMIT, "%s: longer than %zu bytes", field, max);
    if (!printable(tok.str, tok.len))
        return fail(err, WARD_E_JSON_TYPE, "%s: must not contain control characters", field);
    memcpy(dst, tok.str, tok.len);
    dst[tok.len] = '\0';
    *has = true;
    return 0;
}

static int read_labels(struct ward_json_reader *r, struct registration *reg, struct ward_buf *err)
{
    struct ward_json_token tok;
    int rc = ward_json_expect(r, WARD_JSON_OBJECT_BEGIN, &tok);
    if (rc < 0)
        return fail(err, rc, "labels: %s", ward_json_error_message(r));
    for (;;) {
        if ((rc = ward_json_next(r, &tok)) < 0)
            return fail(err, rc, "labels: %s", ward_json_error_message(r));
        if (tok.type == WARD_JSON_OBJECT_END)
            break;
        if (tok.len == 0 || tok.len > WARD_LABELS_MAX_KEY)
            return fail(err, WARD_E_JSON_TYPE, "labels: names must be 1-%d bytes",
                        WARD_LABELS_MAX_KEY);
        char key[WARD_LABELS_MAX_KEY];
        size_t key_len = tok.len;
        memcpy(key, tok.str, key_len);
        if ((rc = ward_json_expect(r, WARD_JSON_STRING, &tok)) < 0)
            return fail(err, rc, "labels.%.*s: %s", (int)key_len, key, ward_json_error_message(r));
        rc = ward_labels_add(&reg->labels, key, key_len, tok.str, tok.len);
        if (rc == WARD_E_LIMIT)
            return fail(err, rc, "labels: at most %d labels of values up to %d bytes",
                        WARD_LABELS_MAX, WARD_LABELS_MAX_VALUE);
        if (rc < 0)
            return fail(err, rc, "labels: %s", ward_strerror(rc));
    }
    const char *dup;
    size_t dup_len;
    rc = ward_labels_write(&reg->labels, &reg->labels_json, &dup, &dup_len);
    if (rc == -EEXIST)
        return fail(err, WARD_E_JSON_TYPE, "labels: '%.*s' appears twice", (int)dup_len, dup);
    if (rc < 0)
        return fail(err, rc, "labels: %s", ward_strerror(rc));
    reg->has_labels = true;
    return 0;
}

static const char *const fields[] = {"hostname", "ip_address", "os", "agent_version", "labels"};

static int read_field(struct ward_json_reader *r, const struct ward_json_token *key,
                      struct registration *reg, struct ward_buf *err)
{
    /* A field given twice is refused: which one was meant is a guess. */
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        if (!ward_json_key_is(key, fields[i]))
            continue;
        if (reg->seen & (1u << i))
            return fail(err, WARD_E_JSON_TYPE, "%s: given twice", fields[i]);
        reg->seen |= 1u << i;
    }
    bool has_hostname = false;
    if (ward_json_key_is(key, "hostname"))
        return read_text(r, "hostname", reg->hostname, MAX_HOSTNAME, &has_hostname, err);
    if (ward_json_key_is(key, "ip_address"))
        return read_text(r, "ip_address", reg->ip, MAX_IP, &reg->has_ip, err);
    if (ward_json_key_is(key, "os"))
        return read_text(r, "os", reg->os, MAX_OS, &reg->has_os, err);
    if (ward_json_key_is(key, "agent_version"))
        return read_text(r, "agent_version", reg->agent_version, MAX_AGENT_VERSION,
                         &reg->has_agent_version, err);
    if (ward_json_key_is(key, "labels"))
        return read_labels(r, reg, err);
    int rc = ward_json_skip(r);
    return rc < 0 ? fail(err, rc, "%s", ward_json_error_message(r)) : 0;
}

static int decode(const char *body, size_t len, struct registration *reg, struct ward_buf *err)
{
    struct ward_json_limits lim = {.max_depth = MAX_BODY_DEPTH};
    struct ward_json_reader r;
    ward_json_reader_init(&r, body, len, &lim);
    struct ward_json_token tok;
    int rc = ward_json_expect(&r, WARD_JSON_OBJECT_BEGIN, &tok);
    if (rc < 0)
        rc = fail(err, rc, "body: %s", ward_json_error_message(&r));
    while (rc == 0) {
        if ((rc = ward_json_next(&r, &tok)) < 0) {
            rc = fail(err, rc, "body: %s", ward_json_error_message(&r));
            break;
        }
        if (tok.type == WARD_JSON_OBJECT_END)
            break;
        rc = read_field(&r, &tok, reg, err);
    }
    if (rc == 0 && (rc = ward_json_next(&r, &tok)) < 0)
        rc = fail(err, rc, "body: %s", ward_json_error_message(&r));
    ward_json_reader_done(&r);
    if (rc < 0)
        return rc;
    if (!reg->hostname[0])
        return fail(err, WARD_E_JSON_TYPE, "hostname: required");
    unsigned char addr[16];
    if (reg->has_ip && inet_pton(AF_INET, reg->ip, addr) != 1 &&
        inet_pton(AF_INET6, reg->ip, addr) != 1)
        return fail(err, WARD_E_JSON_TYPE, "ip_address: not an IPv4 or IPv6 address");
    return 0;
}

void ward_api_write_host_fields(struct ward_json_writer *w, const struct ward_host_row *h,
                                const struct ward_api *api)
{
    ward_api_write_opt(w, "id", h->id);
    ward_api_write_opt(w, "hostname", h->hostname);
    ward_api_write_opt(w, "ip_address", h->ip_address);
    ward_api_write_opt(w, "os", h->os);
    ward_json_write_keyz(w, "labels");
    const char *labels = h->labels && *h->labels ? h->labels : "{}";
    ward_json_write_raw(w, labels, strlen(labels));
    ward_api_write_opt(w, "agent_version", h->agent_version);
    ward_api_write_opt(w, "status", h->status);
    ward_api_write_time(w, "last_seen", h->last_seen_ms);
    int64_t stale =
        api->stale_after_ms > 0 ? api->stale_after_ms : WARD_QUERY_DEFAULT_STALE_AFTER_MS;
    int64_t offline =
        api->offline_after_ms > 0 ? api->offline_after_ms : WARD_QUERY_DEFAULT_OFFLINE_AFTER_MS;
    ward_json_write_keyz(w, "liveness");
    ward_json_write_stringz(
        w, ward_liveness_name(ward_host_liveness(h->last_seen_ms, ward_now_ms(), stale, offline)));
    ward_api_write_opt(w, "name", h->name);
    ward_api_write_opt(w, "section_id", h->section_id);
    ward_api_write_opt(w, "tenant_id", h->tenant_id);
    ward_api_write_time(w, "created_at", h->created_ms);
    ward_api_write_time(w, "updated_at", h->updated_ms);
}

/* Writes the hosts the caller may see, each as an object. */
struct host_writer {
    struct ward_json_writer *w;
    const struct ward_api *api;
    const struct ward_principal *p;
    const char *only;    /* a host id, or NULL for all */
    const char *api_key; /* added to the host's object when not NULL */
    bool found;
};

static int write_visible(const struct ward_host_row *h, void *userdata)
{
    struct host_writer *hw = userdata;
    if ((hw->only && strcmp(h->id, hw->only) != 0) || !ward_auth_sees_tenant(hw->p, h->tenant_id))
        return 0;
    hw->found = true;
    ward_json_write_object_begin(hw->w);
    ward_api_write_host_fields(hw->w, h, hw->api);
    if (hw->api_key) {
        ward_json_write_keyz(hw->w, "api_key");
        ward_json_write_stringz(hw->w, hw->api_key);
    }
    return ward_json_write_object_end(hw->w);
}

int ward_api_write_hosts(struct ward_http_request *req, const struct ward_api *api,
                         struct ward_json_writer *w, const char *only)
{
    struct host_writer hw = {w, api, ward_auth_principal(req), only, NULL, false};
    int r = only ? ward_store_host_get(api->store, only, write_visible, &hw)
                 : ward_store_host_list(api->store, write_visible, &hw);
    if (r == 0 && only && !hw.found)
        r = WARD_E_NOT_FOUND;
    return r;
}

void ward_api_servers_register(struct ward_http_request *req, void *app)
{
    struct ward_api *api = app;
    const struct ward_principal *p = ward_auth_principal(req);
    if (p->caller == WARD_CALLER_AGENT || p->caller == WARD_CALLER_SHARED_KEY) {
        ward_http_error(req, 403,
                        "agents register with POST /agent/register; registering"
                        " servers needs an admin token");
        return;
    }
    size_t len;
    const char *body = ward_http_body(req, &len);
    struct registration reg = {0};
    ward_labels_init(&reg.labels);
    ward_buf_init(&reg.labels_json, 0);
    struct ward_buf err = WARD_BUF_INIT;
    struct ward_buf out = WARD_BUF_INIT;

    int r = decode(body, len, &reg, &err);
    if (r < 0) {
        ward_http_error(req, r == WARD_E_LIMIT ? 413 : 400, "%s", err.data ? err.data : "bad body");
        goto out;
    }
    struct ward_host_info info = {
        .hostname = reg.hostname,
        .ip_address = reg.has_ip ? reg.ip : NULL,
        .os = reg.has_os ? reg.os : NULL,
        .labels = reg.has_labels ? reg.labels_json.data : NULL,
        .agent_version = reg.has_agent_version ? reg.agent_version : NULL,
    };
    char id[WARD_STORE_ID_LEN];
    bool created = false;
    r = ward_store_host_register(api->store, &info, id, &created);
    if (r < 0) {
        ward_api_store_failed(req, "server registration failed", r);
        goto out;
    }
    /* A host an admin makes gets its API key at once, for its agent's --api-key. */
    char key[WARD_CRED_MAX] = "";
    if (created && p->caller == WARD_CALLER_ADMIN) {
        r = ward_auth_issue(api->store, "agent", id, NULL, "registered", key, NULL);
        if (r < 0) {
            ward_api_store_failed(req, "cannot issue an agent key", r);
            goto out;
        }
    }
    struct ward_json_writer w;
    ward_json_writer_init(&w, &out);
    struct host_writer hw = {&w, api, p, id, key[0] ? key : NULL, false};
    r = ward_store_host_get(api->store, id, write_visible, &hw);
    explicit_bzero(key, sizeof(key));
    if (r == 0 && !hw.found) {
        /* The hostname belongs to a host of another tenant. */
        ward_http_error(req, 409, "hostname %s is taken", reg.hostname);
        goto out;
    }
    if (r < 0) {
        ward_api_store_failed(req, "cannot read the registered server", r);
        goto out;
    }
    ward_api_respond_json(req, created ? 201 : 200, &w, &out);
out:
    ward_buf_done(&out);
    ward_buf_done(&err);
    ward_buf_done(&reg.labels_json);
    ward_labels_done(&reg.labels);
}

void ward_api_servers_list(struct ward_http_request *req, void *app)
{
    struct ward_api *api = app;
    struct ward_buf out = WARD_BUF_INIT;
    struct ward_json_writer w;
    ward_json_writer_init(&w, &out);
    ward_json_write_array_begin(&w);
    int r = ward_api_write_hosts(req, api, &w, NULL);
    ward_json_write_array_end(&w);
    if (r < 0) {
        ward_buf_done(&out);
        ward_api_store_failed(req, "cannot list servers", r);
        return;
    }
    ward_api_respond_json(req, 200, &w, &out);
}
