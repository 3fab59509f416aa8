/*
 * Uploads with libcurl.
 *
 * A curl easy handle is reused across requests so keep-alive connections
 * survive between report intervals. Every request has connect and total
 * timeouts, so a hung server never holds the agent. The response body is
 * kept only up to a small cap: the agent needs the status and, at most, an
 * error message.
 */
#include "agent/uploader.h"

#include "common/error.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RESPONSE (64 * 1024)

struct ward_uploader {
    CURL *curl;
    char *base;
    long timeout_ms;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_global(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

int ward_uploader_new(const char *address, long timeout_ms, struct ward_uploader **out)
{
    if (!address || !*address || strchr(address, ' '))
        return -EINVAL;
    pthread_once(&curl_once, curl_global);
    struct ward_uploader *u = calloc(1, sizeof(*u));
    if (!u)
        return -ENOMEM;
    struct ward_buf base = WARD_BUF_INIT;
    int r = 0;
    if (!strstr(address, "://"))
        r = ward_buf_puts(&base, "http://");
    else if (strncmp(address, "http://", 7) != 0 && strncmp(address, "https://", 8) != 0)
        r = -EINVAL;
    if (r == 0)
        r = ward_buf_puts(&base, address);
    while (r == 0 && base.len && base.data[base.len - 1] == '/')
        base.data[--base.len] = '\0';
    u->curl = curl_easy_init();
    if (r < 0 || !u->curl) {
        ward_buf_done(&base);
        ward_uploader_free(u);
        return r < 0 ? r : -ENOMEM;
    }
    u->base = ward_buf_steal(&base);
    u->timeout_ms = timeout_ms;
    *out = u;
    return 0;
}

void ward_uploader_free(struct ward_uploader *u)
{
    if (!u)
        return;
    if (u->curl)
        curl_easy_cleanup(u->curl);
    free(u->base);
    free(u);
}

const char *ward_uploader_url(const struct ward_uploader *u)
{
    return u->base;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    struct ward_buf *b = userdata;
    size_t n = size * nmemb;
    if (b && b->len < MAX_RESPONSE)
        ward_buf_append(b, data, n < MAX_RESPONSE - b->len ? n : MAX_RESPONSE - b->len);
    return n;
}

int ward_uploader_post_gzip(struct ward_uploader *u, const char *path, const void *body, size_t len,
                            long *status, struct ward_buf *response, struct ward_buf *err)
{
    struct ward_buf url = WARD_BUF_INIT;
    if (ward_buf_printf(&url, "%s%s", u->base, path) < 0)
        return -ENOMEM;
    struct curl_slist *headers = NULL;
    headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Content-Encoding: gzip");
    headers = curl_slist_append(headers, "Expect:");
    if (!headers) {
        ward_buf_done(&url);
        return -ENOMEM;
    }
    CURL *c = u->curl;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url.data);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "ward-agent");
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, u->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, u->timeout_ms < 5000 ? u->timeout_ms : 5000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, response);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    CURLcode cr = curl_easy_perform(c);
    curl_slist_free_all(headers);
    ward_buf_done(&url);
    if (cr != CURLE_OK) {
        ward_buf_reset(err);
        ward_buf_puts(err, curl_easy_strerror(cr));
        return WARD_E_HTTP;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    return 0;
}
