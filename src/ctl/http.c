/*
 * wardctl's requests to the server.
 *
 * Every command is one request, so there is one function that makes it
 * (ward_ctl_request) and one place that turns each kind of failure into a
 * sentence an operator can act on: no connection, a refused token (401), a
 * token without the right (403), or any other error the server explains in
 * its {"error": "..."} body. ward_ctl_call() adds what nearly every
 * command does next: print the JSON with --json, or render it.
 *
 * The admin token travels only in the Authorization header. The header is
 * built in a buffer that is wiped after the request, and nothing printed
 * here contains it; a token with bytes a header cannot carry is refused
 * rather than sent, since CR or LF would let it add headers of its own.
 */
#include "ctl/http.h"

#include "common/error.h"
#include "common/json.h"
#include "ward-version.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Where curl writes the answer, and why it stopped if it did. */
struct sink {
    struct ward_buf *body;
    int error;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    struct sink *s = userdata;
    int e = ward_buf_append(s->body, data, size * nmemb);
    if (e < 0) {
        s->error = e;
        return 0;
    }
    return size * nmemb;
}

/* Appends the base URL: cfg->server with a scheme and without trailing slashes. */
static int base_url(const struct ward_ctl_config *cfg, struct ward_buf *url)
{
    const char *server = cfg->server ? cfg->server : "";
    size_t n = strlen(server);
    while (n > 0 && server[n - 1] == '/')
        n--;
    return ward_buf_printf(url, "%s%.*s", strstr(server, "://") ? "" : "http://", (int)n, server);
}

/* True when every byte of token may stand in an HTTP header value. */
static bool header_safe(const char *token)
{
    for (const unsigned char *p = (const unsigned char *)token; *p; p++)
        if (*p < 0x21 || *p == 0x7F)
            return false;
    return true;
}

/* Prints the failure of an answered request; see ward_ctl_request(). */
static void print_refusal(long status, const struct ward_buf *body)
{
    struct ward_buf msg = WARD_BUF_INIT;
    bool explained = ward_ctl_json_field(body, "error", &msg) == 0 && msg.len > 0;
    const char *why = explained ? msg.data : "no explanation";
    if (status == 401)
        fprintf(stderr,
                "wardctl: the server refused the token (401): %s; pass --token or set "
                "WARD_TOKEN\n",
                why);
    else if (status == 403)
        fprintf(stderr, "wardctl: not allowed (403): %s\n", why);
    else if (explained)
        fprintf(stderr, "wardctl: server answered %ld: %s\n", status, why);
    else
        fprintf(stderr, "wardctl: server answered %ld\n", status);
    ward_buf_done(&msg);
}

static int add_header(struct curl_slist **headers, const char *line)
{
    struct curl_slist *l = curl_slist_append(*headers, line);
    if (!l)
        return -ENOMEM;
    *headers = l;
    return 0;
}

/* Says the server is out of reach, naming the base URL without a user name or password. */
static void print_unreachable(const char *base, CURLcode cr, const char *errbuf)
{
    const char *host = strstr(base, "://");
    host = host ? host + 3 : base;
    const char *at = strchr(host, '@'), *slash = strchr(host, '/');
    bool userinfo = at && (!slash || at < slash);
    fprintf(stderr, "wardctl: cannot reach the server at %.*s%s: %s\n", (int)(host - base), base,
            userinfo ? at + 1 : host, errbuf[0] ? errbuf : curl_easy_strerror(cr));
}

/* Adds "Authorization: Bearer TOKEN" to *headers, built in auth. */
static int add_bearer(const struct ward_ctl_config *cfg, struct ward_buf *auth,
                      struct curl_slist **headers)
{
    if (!header_safe(cfg->token)) {
        fprintf(stderr, "wardctl: the token (--token or WARD_TOKEN) contains spaces or control"
                        " characters\n");
        return -EINVAL;
    }
    if (ward_buf_printf(auth, "Authorization: Bearer %s", cfg->token) < 0)
        return -ENOMEM;
    return add_header(headers, auth->data);
}

/* Sets the options of one request on c. */
static int prepare(CURL *c, const struct ward_ctl_config *cfg, const char *method, const char *url,
                   const struct ward_buf *json, struct curl_slist *headers, struct sink *sink,
                   char *errbuf)
{
    CURLcode r = curl_easy_setopt(c, CURLOPT_URL, url);
    if (r == CURLE_OK)
        r = curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (r == CURLE_OK && json)
        r = curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)json->len);
    if (r == CURLE_OK && json)
        r = curl_easy_setopt(c, CURLOPT_POSTFIELDS, json->data ? json->data : "");
    if (r == CURLE_OK && !json && strcmp(method, "POST") == 0)
        r = curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    if (r == CURLE_OK)
        r = curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    if (r == CURLE_OK)
        r = curl_easy_setopt(c, CURLOPT_USERAGENT, "wardctl/" WARD_VERSION);
    if (r == CURLE_OK)
        r = curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)cfg->timeout_ms);
    if (r == CURLE_OK)
        r = curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (r == CURLE_OK)
        r = curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    if (r == CURLE_OK)
        r = curl_easy_setopt(c, CURLOPT_WRITEDATA, sink);
    if (r == CURLE_OK)
        r = curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    if (r == CURLE_OK)
        r = curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    if (r != CURLE_OK)
        fprintf(stderr, "wardctl: cannot prepare the request: %s\n", curl_easy_strerror(r));
    return r == CURLE_OK ? 0 : WARD_E_HTTP;
}

int ward_ctl_request(const struct ward_ctl_config *cfg, const char *method, const char *path,
                     const struct ward_buf *json, enum ward_ctl_auth auth, struct ward_buf *body)
{
    struct ward_buf base = WARD_BUF_INIT, url = WARD_BUF_INIT, bearer = WARD_BUF_INIT;
    struct curl_slist *headers = NULL;
    char errbuf[CURL_ERROR_SIZE] = "";
    struct sink sink = {.body = body};
    ward_buf_init(body, WARD_CTL_MAX_RESPONSE);
    CURL *c = curl_easy_init();
    int e = c ? base_url(cfg, &base) : -ENOMEM;
    if (e >= 0)
        e = ward_buf_printf(&url, "%s%s", base.data, path);
    if (e >= 0)
        e = add_header(&headers, "Accept: application/json");
    if (e >= 0 && json)
        e = add_header(&headers, "Content-Type: application/json");
    if (e >= 0 && auth == WARD_CTL_BEARER && cfg->token && *cfg->token)
        e = add_bearer(cfg, &bearer, &headers);
    if (e == -ENOMEM)
        fprintf(stderr, "wardctl: out of memory\n");
    if (e >= 0)
        e = prepare(c, cfg, method, url.data, json, headers, &sink, errbuf);
    if (e >= 0) {
        CURLcode cr = curl_easy_perform(c);
        long status = 0;
        if (cr == CURLE_OK)
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (cr == CURLE_WRITE_ERROR && sink.error == WARD_E_LIMIT)
            fprintf(stderr, "wardctl: the server's answer is larger than %u MiB\n",
                    WARD_CTL_MAX_RESPONSE >> 20);
        else if (cr == CURLE_WRITE_ERROR && sink.error < 0)
            fprintf(stderr, "wardctl: out of memory\n");
        else if (cr != CURLE_OK)
            print_unreachable(base.data, cr, errbuf);
        else if (status < 200 || status > 299)
            print_refusal(status, body);
        e = cr == CURLE_OK && status >= 200 && status <= 299 ? 0 : WARD_E_HTTP;
    }
    for (struct curl_slist *l = headers; l; l = l->next)
        explicit_bzero(l->data, strlen(l->data));
    curl_slist_free_all(headers);
    ward_ctl_wipe(&bearer);
    curl_easy_cleanup(c);
    ward_buf_done(&url);
    ward_buf_done(&base);
    return e;
}

int ward_ctl_call(const struct ward_ctl_config *cfg, const char *method, const char *path,
                  const struct ward_buf *json, ward_ctl_render_fn render, const void *ctx)
{
    struct ward_buf body = WARD_BUF_INIT;
    int e = ward_ctl_request(cfg, method, path, json, WARD_CTL_BEARER, &body);
    if (e >= 0 && cfg->json)
        printf("%s\n", body.data ? body.data : "");
    else if (e >= 0)
        e = render(&body, ctx);
    ward_ctl_wipe(&body); /* it may hold a new token */
    return e < 0 ? WARD_CTL_FAILED : WARD_CTL_OK;
}

int ward_ctl_escape(struct ward_buf *out, const char *s)
{
    int e = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && e == 0; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '~')
            e = ward_buf_putc(out, (char)*p);
        else
            e = ward_buf_printf(out, "%%%02X", *p);
    }
    return e;
}

int ward_ctl_add_param(struct ward_buf *path, const char *name, const char *value)
{
    if (!value)
        return 0;
    int e = ward_buf_printf(path, "&%s=", name);
    return e < 0 ? e : ward_ctl_escape(path, value);
}

int ward_ctl_path(struct ward_buf *out, const char *prefix, const char *id, const char *suffix)
{
    int e = ward_buf_puts(out, prefix);
    if (e >= 0)
        e = ward_ctl_escape(out, id);
    if (e >= 0 && suffix)
        e = ward_buf_puts(out, suffix);
    if (e < 0)
        fprintf(stderr, "wardctl: out of memory\n");
    return e < 0 ? e : 0;
}

int ward_ctl_json_object(struct ward_buf *out, const struct ward_ctl_member *m, size_t n)
{
    struct ward_json_writer w;
    ward_json_writer_init(&w, out);
    ward_json_write_object_begin(&w);
    for (size_t i = 0; i < n; i++) {
        if (!m[i].value)
            continue;
        ward_json_write_keyz(&w, m[i].key);
        ward_json_write_stringz(&w, m[i].value);
    }
    ward_json_write_object_end(&w);
    int e = ward_json_writer_finish(&w);
    if (e < 0)
        fprintf(stderr, "wardctl: cannot write the request: %s\n", ward_strerror(e));
    return e < 0 ? e : 0;
}

void ward_ctl_wipe(struct ward_buf *b)
{
    if (b->data)
        explicit_bzero(b->data, b->cap);
    ward_buf_done(b);
}
