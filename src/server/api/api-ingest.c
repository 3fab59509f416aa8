/*
 * POST /api/v1/ingest: a batch of samples from an agent (seed 001's bulk
 * ingest plus the delivery fields of DESIGN.md).
 *
 * The body arrives decoded from gzip by the HTTP layer. It is decoded here in
 * full before anything is stored, so a bad batch is refused as a whole, and
 * the answer is sent only after the store committed: a 2xx means durable.
 * A batch that was stored before gets the same 200 with "duplicate": true.
 */
#include "server/api/api.h"

#include "common/error.h"
#include "common/log.h"
#include "common/time-util.h"
#include "server/ingest.h"

#include <errno.h>
#include <stdio.h>

static unsigned status_for(int err)
{
    if (err == WARD_E_LIMIT)
        return 413;
    if (err == -ENOMEM)
        return 503;
    return 400;
}

void ward_api_ingest(struct ward_http_request *req, void *app)
{
    struct ward_api *api = app;
    size_t len;
    const char *body = ward_http_body(req, &len);
    if (len == 0) {
        ward_http_error(req, 400, "empty body; expected a JSON ingest batch");
        return;
    }

    struct ward_ingest in;
    struct ward_buf err = WARD_BUF_INIT;
    ward_ingest_init(&in);
    int r = ward_ingest_decode(&in, body, len, ward_now_ms(), &err);
    if (r < 0) {
        ward_http_error(req, status_for(r), "%s", err.data ? err.data : ward_strerror(r));
        goto out;
    }

    r = ward_store_ingest(api->store, in.server_id, in.has_batch ? &in.batch : NULL, in.samples,
                          in.n_samples);
    if (r < 0) {
        ward_log_error(ward_http_request_id(req), "ingest failed", "server_id", in.server_id,
                       "error", ward_strerror(r));
        ward_http_add_header(req, "Retry-After", "1");
        ward_http_error(req, 503, "storage unavailable, retry later");
        goto out;
    }
    char resp[96];
    int n = snprintf(resp, sizeof(resp), "{\"status\":\"ok\",\"accepted\":%zu,\"duplicate\":%s}",
                     r == 1 ? 0 : in.n_samples, r == 1 ? "true" : "false");
    ward_http_respond(req, 200, "application/json", resp, (size_t)n);
out:
    ward_ingest_done(&in);
    ward_buf_done(&err);
}
