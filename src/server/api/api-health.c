/*
 * GET /health: liveness of the server, as seed 001 serves it.
 *
 * It answers 200 {"status":"ok"} while the process serves requests. Deeper
 * readiness checks (database, queues) belong to /healthz/ready.
 */
#include "server/api/api.h"

#include "ward-version.h"

#include <string.h>

void ward_api_health(struct ward_http_request *req, void *app)
{
    (void)app;
    static const char body[] = "{\"status\":\"ok\",\"version\":\"" WARD_VERSION "\"}";
    ward_http_respond(req, 200, "application/json", body, strlen(body));
}
