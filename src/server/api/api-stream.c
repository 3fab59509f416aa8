/*
 * GET /api/v1/stream: the live stream as a WebSocket (stream.h).
 *
 * The route is open to anyone (OPTIONAL): the handshake records who the
 * caller is, and the hub decides whether the subscriber gets samples at
 * once or must first send a token.
 */
#include "server/api/api.h"

#include "server/stream.h"

void ward_api_stream(struct ward_http_request *req, void *app)
{
    struct ward_api *api = app;
    if (!api->stream) {
        ward_http_error(req, 503, "the live stream is not enabled on this server");
        return;
    }
    struct ward_stream_client *c =
        ward_stream_client_new(api->stream, req, ward_auth_principal(req), &api->policy);
    if (c && ward_ws_upgrade(req, &ward_stream_ws_handler, c) < 0)
        ward_stream_client_free(c);
}
