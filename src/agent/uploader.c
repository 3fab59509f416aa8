/*
 * Uploads of compressed batches to ward-server.
 *
 * A thin layer over the agent's HTTP client: it turns the configured
 * address into a URL (a bare "host:port" means http), names the agent in
 * User-Agent, labels every body (gzip-compressed JSON for uploads, plain
 * JSON for a registration), and adds the agent's credentials: its API key
 * in X-Agent-API-Key and, with a signing key, the signature. The client
 * keeps the connection alive between report intervals and bounds every
 * request in time, so a hung server never holds the agent.
 */
#include "agent/uploader.h"

#include "common/credential.h"
#include "common/crypto.h"
#include "common/error.h"
#include "common/time-util.h"
#include "ward-version.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The TCP connect may take at most this long, or the whole timeout when that is shorter. */
#define CONNECT_TIMEOUT_MS 5000

/* Extra header lines of one request: content headers, the API key, the signature. */
#define HEADERS_MAX (512 + WARD_CRED_INPUT_MAX)

struct ward_uploader {
    struct ward_http_client *client;
    char *base;
    char *key;     /* signs every request when set */
    char *api_key; /* sent in X-Agent-API-Key when set */
    struct ward_http_response last;
    bool have_last;
};

int ward_uploader_new_ca(const char *address, long timeout_ms, const char *ca_file,
                         struct ward_uploader **out, struct ward_buf *err)
{
    if (!address || !*address)
        return -EINVAL;
    struct ward_buf base = WARD_BUF_INIT;
    int r = 0;
    if (!strstr(address, "://"))
        r = ward_buf_puts(&base, "http://");
    if (r == 0)
        r = ward_buf_puts(&base, address);
    while (r == 0 && base.len && base.data[base.len - 1] == '/')
        base.data[--base.len] = '\0';
    struct ward_uploader *u = r == 0 ? calloc(1, sizeof(*u)) : NULL;
    if (!u) {
        ward_buf_done(&base);
        return r < 0 ? r : -ENOMEM;
    }
    struct ward_http_client_config cfg = {
        .url = base.data,
        .ca_file = ca_file,
        .user_agent = "ward-agent/" WARD_VERSION,
        .timeout_ms = timeout_ms,
        .connect_timeout_ms = timeout_ms < CONNECT_TIMEOUT_MS ? timeout_ms : CONNECT_TIMEOUT_MS,
    };
    r = ward_http_client_new(&cfg, &u->client, err);
    if (r < 0) {
        ward_buf_done(&base);
        free(u);
        return r;
    }
    u->base = ward_buf_steal(&base);
    if (!u->base) {
        ward_uploader_free(u);
        return -ENOMEM;
    }
    *out = u;
    return 0;
}

int ward_uploader_new(const char *address, long timeout_ms, struct ward_uploader **out)
{
    struct ward_buf err = WARD_BUF_INIT;
    int r = ward_uploader_new_ca(address, timeout_ms, NULL, out, &err);
    ward_buf_done(&err);
    return r;
}

void ward_uploader_free(struct ward_uploader *u)
{
    if (!u)
        return;
    ward_http_client_free(u->client);
    free(u->base);
    free(u->key);
    if (u->api_key)
        explicit_bzero(u->api_key, strlen(u->api_key));
    free(u->api_key);
    free(u);
}

const char *ward_uploader_url(const struct ward_uploader *u)
{
    return u->base;
}

int ward_uploader_set_key(struct ward_uploader *u, const char *key)
{
    char *copy = key && *key ? strdup(key) : NULL;
    if (key && *key && !copy)
        return -ENOMEM;
    free(u->key);
    u->key = copy;
    return 0;
}

int ward_uploader_set_api_key(struct ward_uploader *u, const char *key)
{
    if (key && *key && ward_cred_check(key) < 0)
        return -EINVAL;
    char *copy = key && *key ? strdup(key) : NULL;
    if (key && *key && !copy)
        return -ENOMEM;
    if (u->api_key)
        explicit_bzero(u->api_key, strlen(u->api_key));
    free(u->api_key);
    u->api_key = copy;
    return 0;
}

/*
 * Sends one request with the content headers given, the API key and the
 * signature over body when they are set, and notes the response.
 */
static int request(struct ward_uploader *u, const char *method, const char *path,
                   const char *content, const void *body, size_t len, long *status,
                   struct ward_buf *response, struct ward_buf *err)
{
    char headers[HEADERS_MAX];
    size_t used = (size_t)snprintf(headers, sizeof(headers), "%s", content);
    if (u->api_key && used < sizeof(headers))
        used += (size_t)snprintf(headers + used, sizeof(headers) - used, "%s: %s\r\n",
                                 WARD_UPLOADER_API_KEY_HEADER, u->api_key);
    /* Room for the signature; the key and the content headers are bounded well below. */
    if (used + 160 >= sizeof(headers))
        return -EINVAL;
    if (u->key) {
        int64_t now = ward_now_ms();
        char sig[WARD_SIGNATURE_HEX_LEN + 1];
        int r = ward_signature_compute(u->key, strlen(u->key), now, body, len, sig);
        if (r < 0)
            return r;
        snprintf(headers + used, sizeof(headers) - used, "%s: %s\r\n%s: %" PRId64 "\r\n",
                 WARD_SIGNATURE_HEADER, sig, WARD_TIMESTAMP_HEADER, now);
    }
    struct ward_http_response resp;
    int r =
        ward_http_client_request(u->client, method, path, headers, body, len, &resp, response, err);
    explicit_bzero(headers, sizeof(headers));
    if (r < 0)
        return r;
    u->last = resp;
    u->have_last = true;
    *status = resp.status;
    return 0;
}

int ward_uploader_post_gzip(struct ward_uploader *u, const char *path, const void *body, size_t len,
                            long *status, struct ward_buf *response, struct ward_buf *err)
{
    return request(u, "POST", path, "Content-Type: application/json\r\nContent-Encoding: gzip\r\n",
                   body, len, status, response, err);
}

int ward_uploader_post_json(struct ward_uploader *u, const char *path, const char *headers,
                            const void *body, size_t len, long *status, struct ward_buf *response,
                            struct ward_buf *err)
{
    char content[256 + WARD_CRED_INPUT_MAX];
    if (snprintf(content, sizeof(content), "Content-Type: application/json\r\n%s",
                 headers ? headers : "") >= (int)sizeof(content))
        return -EINVAL;
    int r = request(u, "POST", path, content, body, len, status, response, err);
    explicit_bzero(content, sizeof(content));
    return r;
}

int ward_uploader_get(struct ward_uploader *u, const char *path, long *status,
                      struct ward_buf *response, struct ward_buf *err)
{
    return request(u, "GET", path, "", NULL, 0, status, response, err);
}

int ward_uploader_get_headers(struct ward_uploader *u, const char *path, const char *headers,
                              long *status, struct ward_buf *response, struct ward_buf *err)
{
    if (headers && strlen(headers) >= 256)
        return -EINVAL;
    return request(u, "GET", path, headers ? headers : "", NULL, 0, status, response, err);
}

const struct ward_http_response *ward_uploader_last_response(const struct ward_uploader *u)
{
    return u->have_last ? &u->last : NULL;
}
