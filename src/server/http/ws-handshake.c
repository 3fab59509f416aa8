/*
 * The HTTP side of a WebSocket: the opening handshake (RFC 6455, 4.2).
 *
 * ward_ws_upgrade() runs in a route handler like any other answer. Every
 * refusal is an ordinary JSON error through the layer, so it carries the
 * request id and shows in the access log like any other; only an accepted
 * handshake becomes a 101, queued with an MHD upgrade response. Origin is
 * checked because browsers let any page open a WebSocket to any server
 * and send the user's cookies along (cross-site WebSocket hijacking): the
 * same rule as for cross-origin writes in http.c applies, same origin or a
 * configured CORS origin, and clients that send no Origin are not
 * browsers and pass.
 *
 * MHD calls on_upgraded() on the request's HTTP thread once the 101 went
 * out, with the socket and any bytes it read past the request head
 * (a client may send its first frame in the same packet as the handshake);
 * both go to the WebSocket thread. When the client goes away before that,
 * MHD reports the request finished instead, and http.c hands the
 * connection over without a socket, so its on_close still runs.
 *
 * The SHA-1 the handshake needs is taken straight from libcrypto's EVP
 * interface: it has no use elsewhere in ward, and none of security.
 */
#include "server/http/ws-internal.h"

#include "common/error.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* RFC 6455, 1.3. */
static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/* What a client that meets a stopping or full server is told to wait, in seconds. */
#define RETRY_AFTER "1"

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* The value without surrounding whitespace: *len bytes from the returned pointer. */
static const char *trimmed(const char *v, size_t *len)
{
    size_t n = strnlen(v, WARD_HTTP_TOKEN_LIST_MAX);
    while (n && is_ows(*v)) {
        v++;
        n--;
    }
    while (n && is_ows(v[n - 1]))
        n--;
    *len = n;
    return v;
}

static bool is_base64(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

bool ward_ws_key_valid(const char *key)
{
    if (!key)
        return false;
    size_t n;
    const char *k = trimmed(key, &n);
    if (n != WARD_WS_KEY_LEN || k[22] != '=' || k[23] != '=')
        return false;
    for (size_t i = 0; i < 22; i++)
        if (!is_base64(k[i]))
            return false;
    return true;
}

int ward_ws_accept_key(const char *key, char out[WARD_WS_ACCEPT_LEN + 1])
{
    size_t n;
    const char *k = trimmed(key, &n);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md)
        return -ENOMEM;
    bool ok = EVP_DigestInit_ex(md, EVP_sha1(), NULL) == 1 && EVP_DigestUpdate(md, k, n) == 1 &&
              EVP_DigestUpdate(md, ws_guid, sizeof(ws_guid) - 1) == 1 &&
              EVP_DigestFinal_ex(md, digest, &dlen) == 1 && dlen == 20;
    EVP_MD_CTX_free(md);
    if (!ok)
        return -EIO;
    /* 20 bytes give 28 characters and a NUL. */
    if (EVP_EncodeBlock((unsigned char *)out, digest, 20) != WARD_WS_ACCEPT_LEN)
        return -EIO;
    return 0;
}

/* MHD gives the upgraded socket to the application (on the request's HTTP thread). */
static void on_upgraded(void *cls, struct MHD_Connection *conn, void *con_cls, const char *extra_in,
                        size_t extra_in_size, MHD_socket sock,
                        struct MHD_UpgradeResponseHandle *urh)
{
    (void)conn;
    struct ward_ws *ws = cls;
    struct ward_http_request *req = con_cls;
    if (req && req->ws == ws)
        req->ws = NULL;
    ward_ws_hand_over(ws, sock, urh, extra_in, extra_in_size);
}

/* Answers a refused handshake; returns code, or the error of answering. */
static int refuse(struct ward_http_request *req, int code, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int refuse(struct ward_http_request *req, int code, unsigned status, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (status == MHD_HTTP_SERVICE_UNAVAILABLE)
        ward_http_add_header(req, "Retry-After", RETRY_AFTER);
    int r = ward_http_error(req, status, "%s", msg);
    return r < 0 ? r : code;
}

static bool origin_allowed(struct ward_http_request *req)
{
    const char *origin = ward_http_header(req, "Origin");
    return !origin || ward_http_origins_allow(&req->server->origins, origin) ||
           ward_http_same_origin(origin, ward_http_header(req, "Host"));
}

int ward_ws_upgrade(struct ward_http_request *req, const struct ward_ws_handler *h, void *userdata)
{
    struct ward_http_server *s = req->server;
    int r = ward_http_may_respond(req);
    if (r < 0)
        return r;
    if (!h || !h->on_close)
        return refuse(req, -EINVAL, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error");
    if (strcmp(req->method, MHD_HTTP_METHOD_GET) != 0)
        return refuse(req, -EPROTO, MHD_HTTP_BAD_REQUEST, "a WebSocket handshake must use GET");
    if (!ward_http_has_token(ward_http_header(req, MHD_HTTP_HEADER_UPGRADE), "websocket") ||
        !ward_http_has_token(ward_http_header(req, MHD_HTTP_HEADER_CONNECTION), "upgrade"))
        return refuse(req, -EPROTO, MHD_HTTP_BAD_REQUEST,
                      "WebSocket endpoint: send \"Upgrade: websocket\" and \"Connection: "
                      "Upgrade\"");
    const char *version = ward_http_header(req, "Sec-WebSocket-Version");
    size_t vlen = 0;
    const char *v = version ? trimmed(version, &vlen) : "";
    if (vlen != 2 || memcmp(v, "13", 2) != 0) {
        ward_http_add_header(req, "Sec-WebSocket-Version", "13");
        return refuse(req, -EPROTO, MHD_HTTP_UPGRADE_REQUIRED,
                      "unsupported WebSocket version '%.16s'; this server speaks 13",
                      version ? version : "");
    }
    const char *key = ward_http_header(req, "Sec-WebSocket-Key");
    if (!ward_ws_key_valid(key))
        return refuse(req, -EPROTO, MHD_HTTP_BAD_REQUEST,
                      "Sec-WebSocket-Key must be the base64 of 16 bytes");
    if (!origin_allowed(req))
        return refuse(req, -EPERM, MHD_HTTP_FORBIDDEN,
                      "WebSocket from origin '%.100s' refused; allow the origin with "
                      "--cors-origin",
                      ward_http_header(req, "Origin"));
    if (atomic_load(&s->quiesced) || atomic_load(&s->stopping))
        return refuse(req, -ESHUTDOWN, MHD_HTTP_SERVICE_UNAVAILABLE, "server shutting down");

    char accept[WARD_WS_ACCEPT_LEN + 1];
    r = ward_ws_accept_key(key, accept);
    if (r < 0)
        return refuse(req, r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error");
    struct ward_ws *ws;
    r = ward_ws_new(s->ws, req, h, userdata, &ws);
    if (r == -ESHUTDOWN)
        return refuse(req, r, MHD_HTTP_SERVICE_UNAVAILABLE, "server shutting down");
    if (r == WARD_E_LIMIT)
        return refuse(req, r, MHD_HTTP_SERVICE_UNAVAILABLE,
                      "too many WebSocket connections; try again later");
    if (r < 0)
        return refuse(req, r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error");
    r = ward_http_add_header(req, MHD_HTTP_HEADER_UPGRADE, "websocket");
    if (r == 0)
        r = ward_http_add_header(req, "Sec-WebSocket-Accept", accept);
    if (r == 0)
        r = ward_http_queue_upgrade(req, on_upgraded, ws);
    if (r < 0) {
        ward_ws_discard(ws);
        /* MHD refuses to switch protocols on anything but HTTP/1.1. */
        if (r == WARD_E_HTTP)
            return refuse(req, -EPROTO, MHD_HTTP_BAD_REQUEST,
                          "a WebSocket handshake needs HTTP/1.1");
        return r; /* nothing was queued: the layer answers 500 when the handler returns */
    }
    req->ws = ws;
    return 0;
}
