/*
 * Answers that many routes share.
 */
#include "server/api/api.h"

#include "common/error.h"
#include "common/json.h"
#include "common/log.h"
#include "common/time-util.h"

#include <string.h>

void ward_api_store_failed(struct ward_http_request *req, const char *what, int r)
{
    ward_log_error(ward_http_request_id(req), what, "error", ward_strerror(r));
    ward_http_add_header(req, "Retry-After", "1");
    ward_http_error(req, 503, "storage unavailable, retry later");
}

void ward_api_respond_json(struct ward_http_request *req, unsigned status,
                           struct ward_json_writer *w, struct ward_buf *out)
{
    int r = ward_json_writer_finish(w);
    if (r < 0) {
        ward_buf_done(out);
        ward_api_store_failed(req, "cannot build a response", r);
        return;
    }
    ward_http_respond_buf(req, status, "application/json", out);
}

struct tenant_check {
    const char *tenant;
    bool same;
};

static int same_tenant(const struct ward_host_row *h, void *userdata)
{
    struct tenant_check *t = userdata;
    t->same = h->tenant_id && strcmp(h->tenant_id, t->tenant) == 0;
    return 0;
}

int ward_api_check_host(struct ward_http_request *req, struct ward_api *api, const char *host_id)
{
    const struct ward_principal *p = ward_auth_principal(req);
    if (ward_auth_all_tenants(p))
        return 0;
    struct tenant_check t = {.tenant = p->tenant_id};
    int r = ward_store_host_get(api->store, host_id, same_tenant, &t);
    if (r == 0 && !t.same)
        r = WARD_E_NOT_FOUND;
    if (r == WARD_E_NOT_FOUND)
        ward_http_error(req, 404, "no host %s", host_id);
    else if (r < 0)
        ward_api_store_failed(req, "cannot read a host", r);
    return r;
}

void ward_api_write_time(struct ward_json_writer *w, const char *key, int64_t ms)
{
    char ts[WARD_RFC3339_LEN];
    ward_json_write_keyz(w, key);
    if (ms > 0 && ward_time_format_rfc3339(ms, ts) > 0)
        ward_json_write_stringz(w, ts);
    else
        ward_json_write_null(w);
}

void ward_api_write_opt(struct ward_json_writer *w, const char *key, const char *v)
{
    ward_json_write_keyz(w, key);
    if (v)
        ward_json_write_stringz(w, v);
    else
        ward_json_write_null(w);
}

const char *ward_api_query_arg(struct ward_http_request *req, const char *name)
{
    const char *v = ward_http_query(req, name);
    return v && *v ? v : NULL;
}

bool ward_api_time_arg(struct ward_http_request *req, const char *name, int64_t *ms)
{
    const char *v = ward_api_query_arg(req, name);
    if (!v || ward_time_parse(v, ms) == 0)
        return true;
    ward_http_error(req, 400, "%s: expected an RFC 3339 time or Unix milliseconds", name);
    return false;
}
