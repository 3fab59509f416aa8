/*
 * The commands that manage access: admin tokens, tenants and sections
 * (api-admin.c). They are list-or-create pairs over the same kind of
 * answer, so one table per kind and one message for "created" serve them.
 *
 * A new token is in the server's answer once and never again: the server
 * keeps only its hash. tokens create therefore prints it on a line of its
 * own, easy to copy, with a warning that it will not be shown again; with
 * --json the warning goes to stderr so the JSON on stdout stays clean.
 */
#include "ctl/ctl.h"
#include "ctl/http.h"
#include "ctl/table.h"

#include "common/buf.h"

#include <errno.h>
#include <stdio.h>

#define ONCE_WARNING                                                                               \
    "warning: this token is shown only once; the server keeps only its hash. Store it now,"        \
    " for example in WARD_TOKEN.\n"

static const struct ward_ctl_column token_columns[] = {
    {"ID", "id"},
    {"NAME", "name"},
    {"TENANT", "tenant_id"},
    {"CREATED", "created_at"},
    {"REVOKED", "revoked_at"},
};

static const struct ward_ctl_table tokens = {
    .key = "tokens",
    .cols = token_columns,
    .n_cols = sizeof(token_columns) / sizeof(token_columns[0]),
};

static const struct ward_ctl_column tenant_columns[] = {
    {"ID", "id"},
    {"NAME", "name"},
    {"CREATED", "created_at"},
};

static const struct ward_ctl_table tenants = {
    .key = "tenants",
    .cols = tenant_columns,
    .n_cols = sizeof(tenant_columns) / sizeof(tenant_columns[0]),
};

static const struct ward_ctl_column section_columns[] = {
    {"ID", "id"},
    {"NAME", "name"},
    {"TENANT", "tenant_id"},
    {"CREATED", "created_at"},
};

static const struct ward_ctl_table sections = {
    .key = "sections",
    .cols = section_columns,
    .n_cols = sizeof(section_columns) / sizeof(section_columns[0]),
};

/* POSTs {"name": NAME, "tenantId": TENANT} to path and renders the answer. */
static int create(const struct ward_ctl_config *cfg, const char *path, const char *name,
                  const char *tenant, ward_ctl_render_fn render, const void *ctx)
{
    const struct ward_ctl_member m[] = {{"name", name}, {"tenantId", tenant}};
    struct ward_buf body = WARD_BUF_INIT;
    int rc = WARD_CTL_FAILED;
    if (ward_ctl_json_object(&body, m, sizeof(m) / sizeof(m[0])) == 0)
        rc = ward_ctl_call(cfg, "POST", path, &body, render, ctx);
    ward_buf_done(&body);
    return rc;
}

/* Prints "created KIND NAME with id ID[ in tenant T]"; ctx is the kind. */
static int say_created(const struct ward_buf *body, const void *ctx)
{
    struct ward_buf id = WARD_BUF_INIT, name = WARD_BUF_INIT, tenant = WARD_BUF_INIT;
    ward_ctl_json_field(body, "id", &id);
    ward_ctl_json_field(body, "name", &name);
    ward_ctl_json_field(body, "tenant_id", &tenant);
    printf("created %s \"%s\" with id %s%s%s\n", (const char *)ctx, name.data ? name.data : "",
           id.data ? id.data : "?", tenant.len ? " in tenant " : "", tenant.len ? tenant.data : "");
    ward_buf_done(&id);
    ward_buf_done(&name);
    ward_buf_done(&tenant);
    return 0;
}

int ward_ctl_tokens_list(const struct ward_ctl_config *cfg, const struct ward_ctl_args *a)
{
    (void)a;
    return ward_ctl_call(cfg, "GET", "/api/v1/tokens", NULL, ward_ctl_render_table, &tokens);
}

static int say_token(const struct ward_buf *body, const void *ctx)
{
    struct ward_buf token = WARD_BUF_INIT;
    int e = ward_ctl_json_field(body, "token", &token);
    if (e < 0 || token.len == 0) {
        fprintf(stderr, "wardctl: unexpected answer from the server: no token in it\n");
        ward_ctl_wipe(&token);
        return e < 0 ? e : -EPROTO;
    }
    say_created(body, ctx);
    printf("\n    %s\n\n" ONCE_WARNING, token.data);
    ward_ctl_wipe(&token);
    return 0;
}

int ward_ctl_tokens_create(const struct ward_ctl_config *cfg, const struct ward_ctl_args *a)
{
    int rc =
        create(cfg, "/api/v1/tokens", a->arg[0], a->flag[WARD_CTL_FLAG_TENANT], say_token, "token");
    if (rc == WARD_CTL_OK && cfg->json)
        fputs(ONCE_WARNING, stderr);
    return rc;
}

static int say_token_revoked(const struct ward_buf *body, const void *ctx)
{
    (void)body;
    printf("token %s revoked\n", (const char *)ctx);
    return 0;
}

int ward_ctl_tokens_revoke(const struct ward_ctl_config *cfg, const struct ward_ctl_args *a)
{
    struct ward_buf path = WARD_BUF_INIT;
    int rc = WARD_CTL_FAILED;
    if (ward_ctl_path(&path, "/api/v1/tokens/", a->arg[0], NULL) == 0)
        rc = ward_ctl_call(cfg, "DELETE", path.data, NULL, say_token_revoked, a->arg[0]);
    ward_buf_done(&path);
    return rc;
}

int ward_ctl_tenants_list(const struct ward_ctl_config *cfg, const struct ward_ctl_args *a)
{
    (void)a;
    return ward_ctl_call(cfg, "GET", "/api/v1/tenants", NULL, ward_ctl_render_table, &tenants);
}

int ward_ctl_tenants_create(const struct ward_ctl_config *cfg, const struct ward_ctl_args *a)
{
    return create(cfg, "/api/v1/tenants", a->arg[0], NULL, say_created, "tenant");
}

int ward_ctl_sections_list(const struct ward_ctl_config *cfg, const struct ward_ctl_args *a)
{
    (void)a;
    return ward_ctl_call(cfg, "GET", "/api/v1/sections", NULL, ward_ctl_render_table, &sections);
}

int ward_ctl_sections_create(const struct ward_ctl_config *cfg, const struct ward_ctl_args *a)
{
    return create(cfg, "/api/v1/sections", a->arg[0], a->flag[WARD_CTL_FLAG_TENANT], say_created,
                  "section");
}
