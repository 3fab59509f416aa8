/*
 * Health and version routes: seed 001's GET /health and smotra's
 * /healthz, /healthz/live, /healthz/ready and GET /api/v1.
 *
 * Liveness (/health, /healthz, /healthz/live) says only that the process
 * serves requests, so an orchestrator restarts it when it hangs but not when
 * the database is slow. Readiness (/healthz/ready) also asks the database
 * and the write queue: a server that cannot store data should be taken out
 * of a load balancer, and it answers 503 with Retry-After and the failing
 * checks until it recovers.
 */
#include "server/api/api.h"

#include "common/error.h"
#include "common/json.h"
#include "server/writer.h"
#include "ward-version.h"

#include <string.h>

/* Readiness fails when the write queue is fuller than this many percent. */
#define READY_QUEUE_PERCENT 90

static void respond_static(struct ward_http_request *req, const char *body)
{
    ward_http_respond(req, 200, "application/json", body, strlen(body));
}

void ward_api_health(struct ward_http_request *req, void *app)
{
    (void)app;
    respond_static(req, "{\"status\":\"ok\",\"version\":\"" WARD_VERSION "\"}");
}

void ward_api_healthz(struct ward_http_request *req, void *app)
{
    (void)app;
    respond_static(req, "{\"status\":\"ok\"}");
}

void ward_api_healthz_live(struct ward_http_request *req, void *app)
{
    (void)app;
    respond_static(req, "{\"status\":\"alive\"}");
}

void ward_api_healthz_ready(struct ward_http_request *req, void *app)
{
    struct ward_api *api = app;
    int db = ward_store_ping(api->store);
    struct ward_writer_stats ws;
    ward_writer_stats(api->writer, &ws);
    bool queue_ok = ws.queued_samples * 100 <= ws.queue_capacity * READY_QUEUE_PERCENT;
    bool ready = db == 0 && queue_ok;

    struct ward_buf out = WARD_BUF_INIT;
    struct ward_json_writer w;
    ward_json_writer_init(&w, &out);
    ward_json_write_object_begin(&w);
    ward_json_write_keyz(&w, "status");
    ward_json_write_stringz(&w, ready ? "ready" : "not_ready");
    ward_json_write_keyz(&w, "checks");
    ward_json_write_object_begin(&w);
    ward_json_write_keyz(&w, "database");
    ward_json_write_stringz(&w, db == 0 ? "ok" : ward_strerror(db));
    ward_json_write_keyz(&w, "write_queue");
    ward_json_write_stringz(&w, queue_ok ? "ok" : "full");
    ward_json_write_object_end(&w);
    ward_json_write_object_end(&w);
    if (ward_json_writer_finish(&w) < 0) {
        ward_buf_done(&out);
        ward_http_error(req, 500, "out of memory");
        return;
    }
    if (!ready)
        ward_http_add_header(req, "Retry-After", "5");
    ward_http_respond_buf(req, ready ? 200 : 503, "application/json", &out);
}

void ward_api_version(struct ward_http_request *req, void *app)
{
    (void)app;
    respond_static(req,
                   "{\"name\":\"ward\",\"version\":\"" WARD_VERSION "\",\"apiVersion\":\"v1\"}");
}
