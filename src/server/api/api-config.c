/*
 * Central agent configuration (smotra's agent configuration endpoint):
 *
 *   GET /agent/{id}/configuration              the agent's merged document
 *   GET, PUT /api/v1/hosts/{id}/configuration  an agent's own document (admin)
 *   GET, PUT /api/v1/sections/{id}/configuration  a section's document (admin)
 *
 * Documents are checked and stored in canonical form (agent-config.h). An
 * agent gets its section's document with its own laid over it, the larger
 * of the two versions, and an ETag over the body, so a poll with
 * If-None-Match costs a 304 when nothing changed.
 */
#include "server/api/api.h"

#include "common/crypto.h"
#include "common/error.h"
#include "common/json.h"
#include "common/log.h"
#include "common/uuid.h"
#include "server/agent-config.h"
#include "server/auth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A stored document, parsed. */
struct loaded {
    struct ward_acfg *cfg;
    int64_t version;
    int error;
};

static int on_document(const char *body, int64_t version, int64_t updated_ms, void *userdata)
{
    (void)updated_ms;
    struct loaded *l = userdata;
    struct ward_buf err = WARD_BUF_INIT;
    l->error = ward_acfg_parse(body, strlen(body), l->cfg, &err);
    ward_buf_done(&err);
    l->version = version;
    return l->error;
}

/* Loads the document of scope id into cfg (empty when there is none). */
static int load(struct ward_api *api, const char *scope, const char *id, struct ward_acfg *cfg,
                int64_t *version)
{
    memset(cfg, 0, sizeof(*cfg));
    struct loaded l = {.cfg = cfg};
    int r = ward_store_config_get(api->store, scope, id, on_document, &l);
    *version = l.version;
    return r == WARD_E_NOT_FOUND ? 0 : r;
}

/* The section and tenant of a host. */
struct placement {
    char section[WARD_STORE_ID_LEN];
    char tenant[WARD_STORE_ID_LEN];
};

static int on_host(const struct ward_host_row *h, void *userdata)
{
    struct placement *p = userdata;
    snprintf(p->section, sizeof(p->section), "%s", h->section_id ? h->section_id : "");
    snprintf(p->tenant, sizeof(p->tenant), "%s", h->tenant_id);
    return 0;
}

static bool route_id(struct ward_http_request *req, char id[WARD_UUID_STR_LEN])
{
    if (ward_uuid_normalize(ward_http_param(req, "id"), id) == 0)
        return true;
    ward_http_error(req, 400, "id: not a UUID");
    return false;
}

/*
 * Room an agent's merged document may take: the agent refuses one of
 * WARD_ACFG_MAX_BYTES or more, and "agentId" and "version" need some.
 */
#define MERGED_MAX (WARD_ACFG_MAX_BYTES - 128)

/* True when the canonical form of cfg needs more than MERGED_MAX bytes. */
static bool too_large(const struct ward_acfg *cfg)
{
    struct ward_buf out = WARD_BUF_INIT;
    struct ward_json_writer w;
    ward_json_writer_init(&w, &out);
    ward_json_write_object_begin(&w);
    ward_acfg_write(cfg, &w);
    ward_json_write_object_end(&w);
    bool large = ward_json_writer_finish(&w) < 0 || out.len > MERGED_MAX;
    ward_buf_done(&out);
    return large;
}

/* Writes {"version": v, <doc>} or, with agent_id, the agent's shape. */
static void write_document(struct ward_json_writer *w, const char *agent_id, int64_t version,
                           const struct ward_acfg *cfg)
{
    ward_json_write_object_begin(w);
    if (agent_id) {
        ward_json_write_keyz(w, "agentId");
        ward_json_write_stringz(w, agent_id);
    }
    ward_json_write_keyz(w, "version");
    ward_json_write_int(w, version);
    ward_acfg_write(cfg, w);
    ward_json_write_object_end(w);
}

/* Sends out with an ETag over its bytes, or 304 when the client has it. */
static void respond_tagged(struct ward_http_request *req, struct ward_json_writer *w,
                           struct ward_buf *out)
{
    int r = ward_json_writer_finish(w);
    if (r < 0) {
        ward_buf_done(out);
        ward_api_store_failed(req, "cannot build a response", r);
        return;
    }
    uint8_t digest[WARD_SHA256_LEN];
    ward_sha256(out->data, out->len, digest);
    char hex[2 * WARD_SHA256_LEN + 1], etag[24];
    ward_hex_encode(digest, sizeof(digest), hex);
    snprintf(etag, sizeof(etag), "\"%.16s\"", hex);
    ward_http_add_header(req, "ETag", etag);
    ward_http_add_header(req, "Cache-Control", "no-cache");
    const char *have = ward_http_header(req, "If-None-Match");
    if (have && strcmp(have, etag) == 0) {
        ward_buf_done(out);
        ward_http_respond(req, 304, "application/json", "", 0);
        return;
    }
    ward_http_respond_buf(req, 200, "application/json", out);
}

void ward_api_agent_configuration(struct ward_http_request *req, void *app)
{
    struct ward_api *api = app;
    char id[WARD_UUID_STR_LEN];
    if (!route_id(req, id))
        return;
    const struct ward_principal *p = ward_auth_principal(req);
    if (p->caller == WARD_CALLER_AGENT && strcmp(p->host_id, id) != 0) {
        ward_http_error(req, 403, "this API key belongs to agent %s", p->host_id);
        return;
    }
    /*
     * An agent the server has not seen yet (only an open server or an
     * unlimited admin gets here without its key) will land in the default
     * section: it gets that section's document.
     */
    struct placement where = {.section = WARD_DEFAULT_SECTION};
    int r = ward_store_host_get(api->store, id, on_host, &where);
    if (r == WARD_E_NOT_FOUND)
        r = 0;
    struct ward_acfg *merged = calloc(1, sizeof(*merged));
    struct ward_acfg *own = calloc(1, sizeof(*own));
    int64_t section_version = 0, own_version = 0;
    if (r == 0 && (!merged || !own))
        r = -ENOMEM;
    if (r == 0 && where.section[0])
        r = load(api, "section", where.section, merged, &section_version);
    if (r == 0)
        r = load(api, "agent", id, own, &own_version);
    if (r == 0) {
        int dropped = ward_acfg_merge(merged, own);
        if (dropped > 0)
            ward_log_warn(ward_http_request_id(req),
                          "probes beyond the limit dropped from an agent's configuration", "agent",
                          id);
        r = dropped < 0 ? dropped : 0;
    }
    free(own);
    if (r == 0 && too_large(merged))
        r = WARD_E_LIMIT;
    if (r == WARD_E_LIMIT) {
        free(merged);
        ward_http_error(req, 409,
                        "the section's and the agent's documents together name more than %d"
                        " collectors or %d labels, or pass %d bytes; an admin must shorten one"
                        " of them",
                        WARD_ACFG_MAX_COLLECTORS, WARD_ACFG_MAX_LABELS, MERGED_MAX);
        return;
    }
    if (r < 0) {
        free(merged);
        ward_api_store_failed(req, "cannot read a configuration", r);
        return;
    }
    struct ward_buf out = WARD_BUF_INIT;
    struct ward_json_writer w;
    ward_json_writer_init(&w, &out);
    write_document(&w, id, own_version > section_version ? own_version : section_version, merged);
    free(merged);
    respond_tagged(req, &w, &out);
}

/* ---- Admin: one document of a host or a section ---- */

/* Checks that the caller may see scope id; answers and returns an error when not. */
static int check_scope(struct ward_http_request *req, struct ward_api *api, const char *scope,
                       const char *id)
{
    const struct ward_principal *p = ward_auth_principal(req);
    if (strcmp(scope, "agent") == 0) {
        struct placement where;
        int r = ward_store_host_get(api->store, id, on_host, &where);
        if (r == 0 && !ward_auth_sees_tenant(p, where.tenant))
            r = WARD_E_NOT_FOUND;
        if (r == WARD_E_NOT_FOUND)
            ward_http_error(req, 404, "no host %s", id);
        else if (r < 0)
            ward_api_store_failed(req, "cannot read a host", r);
        return r;
    }
    char tenant[WARD_STORE_ID_LEN];
    int r = ward_api_section_tenant(api, id, tenant);
    if (r == 0 && !ward_auth_sees_tenant(p, tenant))
        r = WARD_E_NOT_FOUND;
    if (r == WARD_E_NOT_FOUND)
        ward_http_error(req, 404, "no section %s", id);
    else if (r < 0)
        ward_api_store_failed(req, "cannot read sections", r);
    return r;
}

static void get_document(struct ward_http_request *req, struct ward_api *api, const char *scope)
{
    char id[WARD_UUID_STR_LEN];
    if (!route_id(req, id) || check_scope(req, api, scope, id) < 0)
        return;
    struct ward_acfg *cfg = calloc(1, sizeof(*cfg));
    int64_t version = 0;
    int r = cfg ? load(api, scope, id, cfg, &version) : -ENOMEM;
    if (r < 0) {
        free(cfg);
        ward_api_store_failed(req, "cannot read a configuration", r);
        return;
    }
    struct ward_buf out = WARD_BUF_INIT;
    struct ward_json_writer w;
    ward_json_writer_init(&w, &out);
    write_document(&w, NULL, version, cfg);
    free(cfg);
    respond_tagged(req, &w, &out);
}

/*
 * Checks that an agent's document merges with its section's; answers 409
 * and returns false when together they name too many collectors or labels.
 */
static bool fits_section(struct ward_http_request *req, struct ward_api *api, const char *id,
                         const struct ward_acfg *cfg)
{
    struct placement where;
    struct ward_acfg *section = calloc(1, sizeof(*section));
    int64_t version;
    int r = section ? ward_store_host_get(api->store, id, on_host, &where) : -ENOMEM;
    if (r == 0 && where.section[0])
        r = load(api, "section", where.section, section, &version);
    if (r == 0)
        r = ward_acfg_merge(section, cfg);
    if (r >= 0 && too_large(section))
        r = WARD_E_LIMIT;
    free(section);
    if (r == WARD_E_LIMIT)
        ward_http_error(req, 409,
                        "with its section's document this names more than %d collectors or %d"
                        " labels, or passes %d bytes",
                        WARD_ACFG_MAX_COLLECTORS, WARD_ACFG_MAX_LABELS, MERGED_MAX);
    else if (r < 0)
        ward_api_store_failed(req, "cannot read a configuration", r);
    return r >= 0;
}

static void put_document(struct ward_http_request *req, struct ward_api *api, const char *scope)
{
    char id[WARD_UUID_STR_LEN];
    if (!route_id(req, id) || check_scope(req, api, scope, id) < 0)
        return;
    size_t len;
    const char *body = ward_http_body(req, &len);
    struct ward_acfg *cfg = calloc(1, sizeof(*cfg));
    if (!cfg) {
        ward_api_store_failed(req, "out of memory", -ENOMEM);
        return;
    }
    struct ward_buf err = WARD_BUF_INIT, doc = WARD_BUF_INIT;
    int r = ward_acfg_parse(body, len, cfg, &err);
    if (r < 0) {
        ward_http_error(req, r == WARD_E_LIMIT ? 413 : 400, "%s",
                        err.data ? err.data : "bad configuration");
        goto out;
    }
    if (strcmp(scope, "agent") == 0 && !fits_section(req, api, id, cfg))
        goto out;
    struct ward_json_writer w;
    ward_json_writer_init(&w, &doc);
    ward_json_write_object_begin(&w);
    ward_acfg_write(cfg, &w);
    ward_json_write_object_end(&w);
    int64_t version = 0;
    r = ward_json_writer_finish(&w);
    if (r == 0)
        r = ward_store_config_set(api->store, scope, id, doc.data, &version);
    if (r < 0) {
        ward_api_store_failed(req, "cannot store a configuration", r);
        goto out;
    }
    char v[24];
    snprintf(v, sizeof(v), "%lld", (long long)version);
    ward_log_info(ward_http_request_id(req), "configuration stored", "scope", scope, "id", id,
                  "version", v);
    char answer[64];
    int n = snprintf(answer, sizeof(answer), "{\"version\":%lld}", (long long)version);
    ward_http_respond(req, 200, "application/json", answer, (size_t)n);
out:
    free(cfg);
    ward_buf_done(&err);
    ward_buf_done(&doc);
}

void ward_api_host_config_get(struct ward_http_request *req, void *app)
{
    get_document(req, app, "agent");
}

void ward_api_host_config_put(struct ward_http_request *req, void *app)
{
    put_document(req, app, "agent");
}

void ward_api_section_config_get(struct ward_http_request *req, void *app)
{
    get_document(req, app, "section");
}

void ward_api_section_config_put(struct ward_http_request *req, void *app)
{
    put_document(req, app, "section");
}
