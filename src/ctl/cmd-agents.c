/*
 * The agents commands: list and show hosts, claim a registered agent, and
 * delete a host or rotate or revoke its key (api-agents.c, api-admin.c).
 *
 * A claim token is a secret the agent shows its operator. It may come as
 * an argument, as the agent's hint "$(cat FILE)" puts it, or be read from
 * a file with --claim-token-file, which keeps it out of the process list.
 * Either way it is never printed, and the buffers that held it are wiped.
 */
#include "ctl/ctl.h"
#include "ctl/http.h"
#include "ctl/table.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Largest claim token file read, in bytes; a claim token is far shorter. */
#define CLAIM_TOKEN_FILE_MAX 4096

static const struct ward_ctl_column host_columns[] = {
    {"ID", "id"},
    {"HOSTNAME", "hostname"},
    {"NAME", "name"},
    {"STATUS", "status"},
    {"LIVENESS", "liveness"},
    {"LAST SEEN", "last_seen"},
    {"SECTION", "section_id"},
};

static const struct ward_ctl_table hosts = {
    .key = "hosts",
    .cols = host_columns,
    .n_cols = sizeof(host_columns) / sizeof(host_columns[0]),
};

int ward_ctl_agents_list(const struct ward_ctl_config *cfg, const struct ward_ctl_args *a)
{
    (void)a;
    return ward_ctl_call(cfg, "GET", "/api/v1/hosts", NULL, ward_ctl_render_table, &hosts);
}

/* Sends method to /api/v1/hosts/ID + suffix and renders the answer. */
static int on_host(const struct ward_ctl_config *cfg, const char *method, const char *id,
                   const char *suffix, ward_ctl_render_fn render)
{
    struct ward_buf path = WARD_BUF_INIT;
    int rc = WARD_CTL_FAILED;
    if (ward_ctl_path(&path, "/api/v1/hosts/", id, suffix) == 0)
        rc = ward_ctl_call(cfg, method, path.data, NULL, render, id);
    ward_buf_done(&path);
    return rc;
}

int ward_ctl_agents_show(const struct ward_ctl_config *cfg, const struct ward_ctl_args *a)
{
    return on_host(cfg, "GET", a->arg[0], NULL, ward_ctl_render_fields);
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * Reads the claim token from path ("-" for stdin) into out, without the
 * whitespace around it. Returns 0, or a negative error after saying why.
 */
static int read_claim_token(const char *path, struct ward_buf *out)
{
    bool in = strcmp(path, "-") == 0;
    _cleanup_close_ int fd = in ? -1 : open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (!in && fd < 0) {
        int e = -errno;
        fprintf(stderr, "wardctl: cannot read the claim token from %s: %s\n", path, strerror(-e));
        return e;
    }
    char chunk[512];
    ssize_t n;
    int e = 0;
    ward_buf_init(out, CLAIM_TOKEN_FILE_MAX);
    while (e == 0 && (n = read(in ? STDIN_FILENO : fd, chunk, sizeof(chunk))) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        e = n < 0 ? -errno : ward_buf_append(out, chunk, (size_t)n);
    }
    explicit_bzero(chunk, sizeof(chunk));
    size_t start = 0, end = out->len;
    while (start < end && is_space(out->data[start]))
        start++;
    while (end > start && is_space(out->data[end - 1]))
        end--;
    if (e == 0 && start == end)
        e = -ENODATA;
    if (e < 0) {
        if (e == WARD_E_LIMIT)
            fprintf(stderr, "wardctl: %s is larger than %d bytes; it cannot be a claim token\n",
                    path, CLAIM_TOKEN_FILE_MAX);
        else
            fprintf(stderr, "wardctl: cannot read the claim token from %s: %s\n", path,
                    e == -ENODATA ? "the file is empty" : ward_strerror(e));
        ward_ctl_wipe(out);
        return e;
    }
    memmove(out->data, out->data + start, end - start);
    explicit_bzero(out->data + (end - start), out->len - (end - start));
    out->len = end - start;
    return 0;
}

/* Prints what the claim did, from the server's answer. */
static int say_claimed(const struct ward_buf *body, const void *ctx)
{
    (void)ctx;
    struct ward_buf id = WARD_BUF_INIT, section = WARD_BUF_INIT, name = WARD_BUF_INIT;
    ward_ctl_json_field(body, "agentId", &id);
    ward_ctl_json_field(body, "sectionId", &section);
    ward_ctl_json_field(body, "name", &name);
    printf("claimed agent %s into section %s%s%s%s\n", id.data ? id.data : "?",
           section.data ? section.data : "?", name.len ? " as \"" : "", name.len ? name.data : "",
           name.len ? "\"" : "");
    printf("the agent picks up its API key on its next claim-status poll\n");
    ward_buf_done(&id);
    ward_buf_done(&section);
    ward_buf_done(&name);
    return 0;
}

int ward_ctl_agents_claim(const struct ward_ctl_config *cfg, const struct ward_ctl_args *a)
{
    const char *file = a->flag[WARD_CTL_FLAG_CLAIM_TOKEN_FILE];
    if (file && a->n > 1)
        return ward_ctl_usage("give the claim token as an argument or with --claim-token-file,"
                              " not both");
    if (!file && a->n < 2)
        return ward_ctl_usage("the claim token is missing (CLAIM_TOKEN or --claim-token-file)");
    struct ward_buf token = WARD_BUF_INIT, body = WARD_BUF_INIT;
    if (file && read_claim_token(file, &token) < 0)
        return WARD_CTL_FAILED;
    const struct ward_ctl_member m[] = {
        {"agentId", a->arg[0]},
        {"claimToken", file ? token.data : a->arg[1]},
        {"sectionId", a->flag[WARD_CTL_FLAG_SECTION]},
        {"name", a->flag[WARD_CTL_FLAG_NAME]},
    };
    int rc = WARD_CTL_FAILED;
    if (ward_ctl_json_object(&body, m, sizeof(m) / sizeof(m[0])) == 0)
        rc = ward_ctl_call(cfg, "POST", "/agents/claim", &body, say_claimed, NULL);
    ward_ctl_wipe(&body);
    ward_ctl_wipe(&token);
    return rc;
}

static int say_deleted(const struct ward_buf *body, const void *ctx)
{
    struct ward_buf status = WARD_BUF_INIT;
    ward_ctl_json_field(body, "status", &status);
    if (status.data && strcmp(status.data, "purged") == 0)
        printf("host %s purged: its registration, keys and data are deleted\n", (const char *)ctx);
    else
        printf("host %s deregistered: its keys are revoked, its data is kept\n", (const char *)ctx);
    ward_buf_done(&status);
    return 0;
}

int ward_ctl_agents_delete(const struct ward_ctl_config *cfg, const struct ward_ctl_args *a)
{
    bool purge = a->flag[WARD_CTL_FLAG_PURGE] != NULL;
    return on_host(cfg, "DELETE", a->arg[0], purge ? "?purge=true" : NULL, say_deleted);
}

static int say_rotated(const struct ward_buf *body, const void *ctx)
{
    (void)body;
    printf("host %s: key rotated; the old key no longer works and the agent picks up the new"
           " one on its next claim-status poll\n",
           (const char *)ctx);
    return 0;
}

int ward_ctl_agents_rotate_key(const struct ward_ctl_config *cfg, const struct ward_ctl_args *a)
{
    return on_host(cfg, "POST", a->arg[0], "/rotate-key", say_rotated);
}

static int say_revoked(const struct ward_buf *body, const void *ctx)
{
    (void)body;
    printf("host %s: key revoked; the host is revoked until it is claimed again\n",
           (const char *)ctx);
    return 0;
}

int ward_ctl_agents_revoke_key(const struct ward_ctl_config *cfg, const struct ward_ctl_args *a)
{
    return on_host(cfg, "POST", a->arg[0], "/revoke-key", say_revoked);
}
