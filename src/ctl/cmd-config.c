/*
 * Central agent configuration: `config get|set agent|section ID [FILE]`.
 *
 * The document is JSON either way, so get prints the server's answer as it
 * is, and set sends a file (or stdin for "-") as it is: the server checks
 * it field by field and names the field it refuses.
 */
#include "ctl/ctl.h"
#include "ctl/http.h"
#include "ctl/table.h"

#include "common/buf.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Documents are at most 64 KiB on the server; a little more is read to say so. */
#define MAX_DOCUMENT (64 * 1024 + 1)

/* The route of the document of KIND ("agent" or "section") ID, or -EINVAL. */
static int document_path(struct ward_buf *path, const char *kind, const char *id)
{
    if (strcmp(kind, "agent") == 0)
        return ward_ctl_path(path, "/api/v1/hosts/", id, "/configuration");
    if (strcmp(kind, "section") == 0)
        return ward_ctl_path(path, "/api/v1/sections/", id, "/configuration");
    return -EINVAL;
}

static int print_body(const struct ward_buf *body, const void *ctx)
{
    (void)ctx;
    printf("%s\n", body->data ? body->data : "");
    return 0;
}

int ward_ctl_config_get(const struct ward_ctl_config *cfg, const struct ward_ctl_args *a)
{
    struct ward_buf path = WARD_BUF_INIT;
    if (document_path(&path, a->arg[0], a->arg[1]) < 0) {
        ward_buf_done(&path);
        return ward_ctl_usage("the first argument is agent or section");
    }
    int rc = ward_ctl_call(cfg, "GET", path.data, NULL, print_body, NULL);
    ward_buf_done(&path);
    return rc;
}

/* Reads the document from file ("-": stdin) into out. */
static int read_document(const char *file, struct ward_buf *out)
{
    FILE *f = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
    if (!f) {
        fprintf(stderr, "wardctl: cannot open %s: %s\n", file, strerror(errno));
        return -errno;
    }
    char chunk[4096];
    size_t n;
    int e = 0;
    while (e == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        e = ward_buf_append(out, chunk, n);
        if (e == 0 && out->len > MAX_DOCUMENT) {
            fprintf(stderr, "wardctl: %s: larger than the server's limit of 64 KiB\n", file);
            e = -EFBIG;
        }
    }
    if (e == 0 && ferror(f)) {
        fprintf(stderr, "wardctl: cannot read %s\n", file);
        e = -EIO;
    }
    if (f != stdin)
        fclose(f);
    return e;
}

static int say_stored(const struct ward_buf *body, const void *ctx)
{
    struct ward_buf version = WARD_BUF_INIT;
    ward_ctl_json_field(body, "version", &version);
    printf("stored the configuration of %s as version %s\n", (const char *)ctx,
           version.data ? version.data : "?");
    ward_buf_done(&version);
    return 0;
}

int ward_ctl_config_set(const struct ward_ctl_config *cfg, const struct ward_ctl_args *a)
{
    struct ward_buf path = WARD_BUF_INIT, doc = WARD_BUF_INIT;
    int rc = WARD_CTL_FAILED;
    if (document_path(&path, a->arg[0], a->arg[1]) < 0)
        rc = ward_ctl_usage("the first argument is agent or section");
    else if (read_document(a->arg[2], &doc) == 0)
        rc = ward_ctl_call(cfg, "PUT", path.data, &doc, say_stored, a->arg[1]);
    ward_buf_done(&path);
    ward_buf_done(&doc);
    return rc;
}
