/*
 * Agent registration and claim (smotra, seed 003; spectra's registration,
 * seed 002):
 *
 *   POST /agent/register, POST /api/v1/agent/register   an agent announces itself
 *   GET  /agents/{id}/claim-status                       it polls until claimed
 *   POST /agents/claim                                   an admin claims it
 *
 * An agent registers with its own UUID and the SHA-256 of a claim token
 * that it shows its operator. It stays "pending" until an admin presents
 * that claim token, which makes it "active" and makes its API key; the key
 * is handed out once, on the agent's next poll (claims.h). An agent that
 * presents the server's enrollment token (X-Ward-Enroll-Token) is active
 * at once and gets its key in the registration answer.
 */
#include "server/api/api.h"

#include "common/cleanup.h"
#include "common/credential.h"
#include "common/crypto.h"
#include "common/error.h"
#include "common/json.h"
#include "common/log.h"
#include "common/time-util.h"
#include "common/uuid.h"
#include "server/api/api-body.h"
#include "server/auth.h"
#include "server/claims.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

#define ENROLL_HEADER "X-Ward-Enroll-Token"
#define MAX_HOSTNAME  253
#define MAX_NAME      128
#define MAX_OS        128
#define MAX_VERSION   64
#define MAX_IP        45
#define HASH_HEX      64

static bool is_hex_hash(const char *s)
{
    if (strlen(s) != HASH_HEX)
        return false;
    for (size_t i = 0; i < HASH_HEX; i++)
        if (!isxdigit((unsigned char)s[i]))
            return false;
    return true;
}

/* The enrollment token check: 1 when presented and right, 0 when absent, -1 after answering 403. */
static int enroll_token(struct ward_http_request *req, const struct ward_api *api)
{
    const char *given = ward_http_header(req, ENROLL_HEADER);
    if (!given)
        return 0;
    const char *want = api->enroll_token;
    size_t n = strlen(given);
    if (want && *want && n == strlen(want) && ward_ct_equal(given, want, n))
        return 1;
    ward_http_error(req, 403, "wrong enrollment token");
    return -1;
}

struct registration {
    char agent_id[WARD_UUID_STR_LEN + 8];
    char hash[HASH_HEX + 1];
    char hostname[MAX_HOSTNAME + 1];
    char version[MAX_VERSION + 1];
    char os[MAX_OS + 1];
    char ip[MAX_IP + 1];
};

static int decode_registration(struct ward_http_request *req, struct registration *reg,
                               char id[WARD_UUID_STR_LEN], bool need_hash)
{
    const struct ward_api_field fields[] = {
        {"agentId", reg->agent_id, sizeof(reg->agent_id) - 1, true},
        {"claimTokenHash", reg->hash, HASH_HEX, need_hash},
        {"hostname", reg->hostname, MAX_HOSTNAME, true},
        {"agentVersion", reg->version, MAX_VERSION, false},
        {"os", reg->os, MAX_OS, false},
        {"ipAddress", reg->ip, MAX_IP, false},
    };
    size_t len;
    const char *body = ward_http_body(req, &len);
    struct ward_buf err = WARD_BUF_INIT;
    int r = ward_api_body_decode(body, len, fields, WARD_ARRAY_SIZE(fields), &err);
    if (r < 0)
        ward_http_error(req, 400, "%s", err.data ? err.data : "bad body");
    else if (ward_uuid_normalize(reg->agent_id, id) < 0)
        r = -EINVAL, ward_http_error(req, 400, "agentId: not a UUID");
    else if (reg->hash[0] && !is_hex_hash(reg->hash))
        r = -EINVAL, ward_http_error(req, 400, "claimTokenHash: expected 64 hex digits (SHA-256)");
    ward_buf_done(&err);
    return r;
}

static void lower(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

static void answer_registration(struct ward_http_request *req, const char *id, const char *status,
                                const char *key)
{
    struct ward_buf out = WARD_BUF_INIT;
    struct ward_json_writer w;
    ward_json_writer_init(&w, &out);
    ward_json_write_object_begin(&w);
    char url[96];
    if (key) {
        ward_json_write_keyz(&w, "status");
        ward_json_write_stringz(&w, "claimed");
        ward_json_write_keyz(&w, "apiKey");
        ward_json_write_stringz(&w, key);
    } else {
        ward_json_write_keyz(&w, "status");
        ward_json_write_stringz(&w, "pending_claim");
        snprintf(url, sizeof(url), "/agents/%s/claim-status", id);
        ward_json_write_keyz(&w, "pollUrl");
        ward_json_write_stringz(&w, url);
        ward_json_write_keyz(&w, "claimUrl");
        ward_json_write_stringz(&w, "/agents/claim");
    }
    ward_json_write_keyz(&w, "agentId");
    ward_json_write_stringz(&w, id);
    ward_json_write_keyz(&w, "hostStatus");
    ward_json_write_stringz(&w, status);
    ward_json_write_object_end(&w);
    ward_api_respond_json(req, 200, &w, &out);
}

void ward_api_agent_register(struct ward_http_request *req, void *app)
{
    struct ward_api *api = app;
    int enrolled = enroll_token(req, api);
    if (enrolled < 0)
        return;
    if (!ward_claims_register_attempt(api->claims, ward_http_remote(req), ward_now_ms())) {
        ward_http_add_header(req, "Retry-After", "600");
        ward_http_error(req, 429, "too many registrations from this address; wait");
        return;
    }
    struct registration reg;
    char id[WARD_UUID_STR_LEN];
    if (decode_registration(req, &reg, id, !enrolled) < 0)
        return;
    lower(reg.hash);
    struct ward_enrollment e = {
        .id = id,
        .claim_token_hash = reg.hash[0] ? reg.hash : NULL,
        .info = {.hostname = reg.hostname,
                 .agent_version = reg.version[0] ? reg.version : NULL,
                 .os = reg.os[0] ? reg.os : NULL,
                 .ip_address = reg.ip[0] ? reg.ip : NULL},
        .activate = enrolled == 1,
    };
    char status[WARD_STORE_STATUS_LEN];
    int r = ward_store_host_enroll(api->store, &e, status);
    if (r == -EEXIST) {
        ward_http_error(req, 409,
                        "agent %s is registered already with another claim token; an admin"
                        " must delete it before it can register again",
                        id);
        return;
    }
    if (r < 0) {
        ward_api_store_failed(req, "agent registration failed", r);
        return;
    }
    ward_log_info(ward_http_request_id(req), "agent registered", "agent", id, "hostname",
                  reg.hostname, "status", status);
    /* Only an active host gets a key here; a revoked one waits for its claim. */
    if (enrolled != 1 || strcmp(status, "active") != 0) {
        answer_registration(req, id, status, NULL);
        return;
    }
    char key[WARD_CRED_MAX];
    r = ward_auth_issue(api->store, "agent", id, NULL, "enrolled", key, NULL);
    if (r < 0) {
        ward_api_store_failed(req, "cannot issue an agent key", r);
        return;
    }
    answer_registration(req, id, status, key);
    explicit_bzero(key, sizeof(key));
}

/* ---- Claim status ---- */

struct host_status {
    char status[WARD_STORE_STATUS_LEN];
    char tenant[WARD_STORE_ID_LEN];
    char hash[HASH_HEX + 1];
};

static int copy_status(const struct ward_host_row *h, void *userdata)
{
    struct host_status *s = userdata;
    snprintf(s->status, sizeof(s->status), "%s", h->status);
    snprintf(s->tenant, sizeof(s->tenant), "%s", h->tenant_id);
    snprintf(s->hash, sizeof(s->hash), "%s", h->claim_token_hash ? h->claim_token_hash : "");
    return 0;
}

/* Loads host id into *s; answers 404 or 503 and returns an error when it cannot. */
static int load_host(struct ward_http_request *req, struct ward_api *api, const char *id,
                     struct host_status *s)
{
    int r = ward_store_host_get(api->store, id, copy_status, s);
    if (r == 0 && strcmp(s->status, "deregistered") == 0)
        r = WARD_E_NOT_FOUND;
    if (r == WARD_E_NOT_FOUND)
        ward_http_error(req, 404, "no agent %s; it must register first", id);
    else if (r < 0)
        ward_api_store_failed(req, "cannot read an agent", r);
    return r;
}

void ward_api_agent_claim_status(struct ward_http_request *req, void *app)
{
    struct ward_api *api = app;
    char id[WARD_UUID_STR_LEN];
    if (ward_uuid_normalize(ward_http_param(req, "id"), id) < 0) {
        ward_http_error(req, 400, "agent id: not a UUID");
        return;
    }
    struct host_status s;
    if (load_host(req, api, id, &s) < 0)
        return;
    char key[WARD_CRED_MAX];
    if (!ward_claims_take_key(api->claims, id, key, ward_now_ms())) {
        static const char pending[] = "{\"status\":\"pending\"}";
        ward_http_respond(req, 200, "application/json", pending, sizeof(pending) - 1);
        return;
    }
    struct ward_buf out = WARD_BUF_INIT;
    struct ward_json_writer w;
    ward_json_writer_init(&w, &out);
    ward_json_write_object_begin(&w);
    ward_json_write_keyz(&w, "status");
    ward_json_write_stringz(&w, "claimed");
    ward_json_write_keyz(&w, "apiKey");
    ward_json_write_stringz(&w, key);
    ward_json_write_object_end(&w);
    explicit_bzero(key, sizeof(key));
    ward_log_info(ward_http_request_id(req), "agent key delivered", "agent", id);
    ward_api_respond_json(req, 200, &w, &out);
}

/* ---- Claim ---- */

struct section_find {
    const char *id;
    char tenant[WARD_STORE_ID_LEN];
    bool found;
};

static int match_section(const struct ward_group *g, void *userdata)
{
    struct section_find *f = userdata;
    if (strcmp(g->id, f->id) == 0) {
        f->found = true;
        snprintf(f->tenant, sizeof(f->tenant), "%s", g->tenant_id ? g->tenant_id : "");
    }
    return 0;
}

/* Writes the tenant of section into tenant. Returns 0, WARD_E_NOT_FOUND or a store error. */
int ward_api_section_tenant(struct ward_api *api, const char *section, char *tenant)
{
    struct section_find f = {.id = section};
    int r = ward_store_group_list(api->store, true, NULL, match_section, &f);
    if (r < 0)
        return r;
    if (!f.found)
        return WARD_E_NOT_FOUND;
    memcpy(tenant, f.tenant, WARD_STORE_ID_LEN);
    return 0;
}

struct claim {
    char agent_id[WARD_UUID_STR_LEN + 8];
    char token[WARD_CRED_INPUT_MAX + 1];
    char section_id[WARD_UUID_STR_LEN + 8];
    char name[MAX_NAME + 1];
};

static int decode_claim(struct ward_http_request *req, struct claim *c, char id[WARD_UUID_STR_LEN],
                        char section[WARD_UUID_STR_LEN])
{
    const struct ward_api_field fields[] = {
        {"agentId", c->agent_id, sizeof(c->agent_id) - 1, true},
        {"claimToken", c->token, WARD_CRED_INPUT_MAX, true},
        {"sectionId", c->section_id, sizeof(c->section_id) - 1, false},
        {"name", c->name, MAX_NAME, false},
    };
    size_t len;
    const char *body = ward_http_body(req, &len);
    struct ward_buf err = WARD_BUF_INIT;
    int r = ward_api_body_decode(body, len, fields, WARD_ARRAY_SIZE(fields), &err);
    if (r < 0)
        ward_http_error(req, 400, "%s", err.data ? err.data : "bad body");
    else if (ward_uuid_normalize(c->agent_id, id) < 0)
        r = -EINVAL, ward_http_error(req, 400, "agentId: not a UUID");
    else if (ward_uuid_normalize(c->section_id[0] ? c->section_id : WARD_DEFAULT_SECTION, section) <
             0)
        r = -EINVAL, ward_http_error(req, 400, "sectionId: not a UUID");
    ward_buf_done(&err);
    return r;
}

/* Checks the claim token and the caller's tenant; answers and returns an error when wrong. */
/*
 * Checks the claim token and the caller's tenant; answers and returns an
 * error when wrong. Stores in *moves whether the host changes tenant.
 */
static int check_claim(struct ward_http_request *req, struct ward_api *api, const struct claim *c,
                       const struct host_status *s, const char *section, bool *moves)
{
    /*
     * A pending agent has never been claimed and belongs to no tenant yet:
     * the claim token proves the admin has it. Any other exists only for
     * admins who see its tenant.
     */
    const struct ward_principal *p = ward_auth_principal(req);
    bool pending = strcmp(s->status, "pending") == 0;
    if (!pending && !ward_auth_sees_tenant(p, s->tenant)) {
        ward_http_error(req, 404, "no agent %s; it must register first", c->agent_id);
        return -ENOENT;
    }
    if (!s->hash[0] || !ward_cred_matches(c->token, s->hash)) {
        ward_log_warn(ward_http_request_id(req), "claim refused: wrong claim token", "agent",
                      c->agent_id);
        ward_http_error(req, 403, "wrong claim token");
        return -EACCES;
    }
    if (!pending && strcmp(s->status, "revoked") != 0) {
        ward_http_error(req, 409, "agent %s is claimed already", c->agent_id);
        return -EEXIST;
    }
    char tenant[WARD_STORE_ID_LEN];
    int r = ward_api_section_tenant(api, section, tenant);
    if (r == WARD_E_NOT_FOUND || (r == 0 && !ward_auth_sees_tenant(p, tenant))) {
        ward_http_error(req, 404, "no section %s", section);
        return WARD_E_NOT_FOUND;
    }
    if (r < 0)
        ward_api_store_failed(req, "cannot read sections", r);
    *moves = strcmp(tenant, s->tenant) != 0;
    return r;
}

void ward_api_agent_claim(struct ward_http_request *req, void *app)
{
    struct ward_api *api = app;
    struct claim c;
    char id[WARD_UUID_STR_LEN], section[WARD_UUID_STR_LEN];
    if (decode_claim(req, &c, id, section) < 0)
        return;
    if (!ward_claims_attempt(api->claims, id, ward_http_remote(req), ward_now_ms())) {
        ward_http_add_header(req, "Retry-After", "600");
        ward_http_error(req, 429, "too many claim attempts; wait before trying again");
        return;
    }
    struct host_status s;
    bool moves = false;
    if (load_host(req, api, id, &s) < 0 || check_claim(req, api, &c, &s, section, &moves) < 0)
        return;
    /* The status changes only if it still waits for a claim: of two claims, one wins. */
    struct ward_host_change ch = {.id = id,
                                  .status = "active",
                                  .section_id = section,
                                  .name = c.name[0] ? c.name : NULL,
                                  .from_status = "pending"};
    int r = ward_store_host_change(api->store, &ch);
    if (r == -EALREADY) {
        ward_http_error(req, 409, "agent %s is claimed already", id);
        return;
    }
    /* Configuration set while the host was elsewhere does not follow it into a new tenant. */
    int64_t version;
    if (r == 0 && moves)
        r = ward_store_config_set(api->store, "agent", id, "{}", &version);
    char key[WARD_CRED_MAX];
    if (r == 0)
        r = ward_auth_issue(api->store, "agent", id, NULL, "claimed", key, NULL);
    if (r == 0)
        r = ward_claims_put_key(api->claims, id, key, ward_now_ms());
    explicit_bzero(key, sizeof(key));
    if (r < 0) {
        ward_store_credential_revoke(api->store, NULL, id);
        ward_store_host_change(api->store,
                               &(struct ward_host_change){.id = id, .status = s.status});
        ward_api_store_failed(req, "claim failed", r);
        return;
    }
    ward_log_info(ward_http_request_id(req), "agent claimed", "agent", id, "section", section);
    struct ward_buf out = WARD_BUF_INIT;
    struct ward_json_writer w;
    ward_json_writer_init(&w, &out);
    ward_json_write_object_begin(&w);
    ward_json_write_keyz(&w, "status");
    ward_json_write_stringz(&w, "claimed");
    ward_json_write_keyz(&w, "agentId");
    ward_json_write_stringz(&w, id);
    ward_json_write_keyz(&w, "sectionId");
    ward_json_write_stringz(&w, section);
    ward_json_write_keyz(&w, "name");
    ward_json_write_stringz(&w, c.name);
    ward_json_write_object_end(&w);
    ward_api_respond_json(req, 200, &w, &out);
}
