/*
 * Uploads of compressed batches to ward-server.
 *
 * A thin layer over the agent's HTTP client: it turns the configured
 * address into a URL (a bare "host:port" means http), names the agent in
 * User-Agent, and labels every body as gzip-compressed JSON. The client
 * keeps the connection alive between report intervals and bounds every
 * request in time, so a hung server never holds the agent.
 */
#include "agent/uploader.h"

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

struct ward_uploader {
    struct ward_http_client *client;
    char *base;
    char *key; /* signs every request when set */
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

int ward_uploader_post_gzip(struct ward_uploader *u, const char *path, const void *body, size_t len,
                            long *status, struct ward_buf *response, struct ward_buf *err)
{
    char headers[256] = "Content-Type: application/json\r\nContent-Encoding: gzip\r\n";
    if (u->key) {
        int64_t now = ward_now_ms();
        char sig[WARD_SIGNATURE_HEX_LEN + 1];
        int r = ward_signature_compute(u->key, strlen(u->key), now, body, len, sig);
        if (r < 0)
            return r;
        size_t used = strlen(headers);
        snprintf(headers + used, sizeof(headers) - used, "%s: %s\r\n%s: %" PRId64 "\r\n",
                 WARD_SIGNATURE_HEADER, sig, WARD_TIMESTAMP_HEADER, now);
    }
    struct ward_http_response resp;
    int r = ward_http_client_post(u->client, path, headers, body, len, &resp, response, err);
    if (r < 0)
        return r;
    u->last = resp;
    u->have_last = true;
    *status = resp.status;
    return 0;
}

const struct ward_http_response *ward_uploader_last_response(const struct ward_uploader *u)
{
    return u->have_last ? &u->last : NULL;
}
