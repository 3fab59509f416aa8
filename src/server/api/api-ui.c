/*
 * The dashboard: its files at /ui/NAME, and the page shell of GET /.
 *
 * GET / is a plain HTML page that works without JavaScript: golectra's
 * tables for a reader, or a login form (a 401) for anyone else, which
 * posts the admin token to /api/v1/session and comes back with a session
 * cookie. The page loads the dashboard's stylesheet and scripts, which
 * take it over when they run. Every page and file carries a strict
 * Content-Security-Policy: nothing but this server's own files runs, and
 * no other site may frame it.
 */
#include "server/api/api.h"

#include "common/buf.h"
#include "server/ui-assets.h"

#include <string.h>

#define CSP                                                                                        \
    "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self' "              \
    "'unsafe-inline'; script-src 'self'; object-src 'none'; base-uri 'none'; "                     \
    "form-action 'self'; frame-ancestors 'none'"

static void security_headers(struct ward_http_request *req)
{
    ward_http_add_header(req, "Content-Security-Policy", CSP);
    ward_http_add_header(req, "X-Content-Type-Options", "nosniff");
    ward_http_add_header(req, "X-Frame-Options", "DENY");
    ward_http_add_header(req, "Referrer-Policy", "no-referrer");
}

void ward_api_ui_asset(struct ward_http_request *req, void *app)
{
    (void)app;
    const char *name = ward_http_param(req, "file");
    for (size_t i = 0; i < ward_ui_n_assets; i++) {
        const struct ward_ui_asset *a = &ward_ui_assets[i];
        if (strcmp(a->name, name) != 0)
            continue;
        security_headers(req);
        ward_http_add_header(req, "ETag", a->etag);
        ward_http_add_header(req, "Cache-Control", "no-cache");
        const char *match = ward_http_header(req, "If-None-Match");
        if (match && strcmp(match, a->etag) == 0)
            ward_http_respond(req, 304, a->content_type, "", 0);
        else
            ward_http_respond(req, 200, a->content_type, a->data, a->len);
        return;
    }
    ward_http_error(req, 404, "no file %s in the dashboard", name);
}

void ward_api_ui_page(struct ward_http_request *req, unsigned status, const char *main_id,
                      const char *body, size_t len)
{
    struct ward_buf page = WARD_BUF_INIT;
    ward_buf_puts(&page,
                  "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                  "<title>ward</title>\n"
                  "<link rel=\"icon\" href=\"/ui/favicon.svg\" type=\"image/svg+xml\">\n"
                  "<link rel=\"stylesheet\" href=\"/ui/uPlot.min.css\">\n"
                  "<link rel=\"stylesheet\" href=\"/ui/app.css\">\n"
                  "<script src=\"/ui/uPlot.iife.min.js\" defer></script>\n"
                  "<script src=\"/ui/app.js\" type=\"module\"></script>\n"
                  "</head>\n<body>\n");
    ward_buf_printf(&page, "<main id=\"%s\">\n", main_id);
    ward_buf_append(&page, body, len);
    int r = ward_buf_puts(&page, "</main>\n</body>\n</html>\n");
    if (r < 0) {
        ward_http_error(req, 503, "cannot render the page");
    } else {
        security_headers(req);
        ward_http_add_header(req, "Cache-Control", "no-store");
        ward_http_respond_buf(req, status, "text/html; charset=utf-8", &page);
    }
    ward_buf_done(&page);
}

void ward_api_ui_login(struct ward_http_request *req)
{
    const char *login = ward_http_query(req, "login");
    bool failed = login && strcmp(login, "failed") == 0;
    struct ward_buf body = WARD_BUF_INIT;
    ward_buf_puts(&body,
                  "<h1>ward</h1>\n"
                  "<form method=\"post\" action=\"/api/v1/session\" data-testid=\"login-form\">\n"
                  "<label for=\"token\">Admin token</label>\n"
                  "<input id=\"token\" name=\"token\" type=\"password\" required"
                  " autocomplete=\"current-password\" data-testid=\"login-token\">\n"
                  "<button type=\"submit\" data-testid=\"login-submit\">Log in</button>\n"
                  "</form>\n");
    if (failed)
        ward_buf_puts(&body, "<p role=\"alert\">That token was not accepted.</p>\n");
    ward_api_ui_page(req, 401, "login", body.data, body.len);
    ward_buf_done(&body);
}
