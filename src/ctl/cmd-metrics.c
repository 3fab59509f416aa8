/*
 * The commands about data: health (is the server up) and query (samples of
 * one host). health is the one command that sends no token: /health is
 * public, and a stale token in the environment should not make a server
 * that is up look down.
 */
#include "ctl/ctl.h"
#include "ctl/http.h"
#include "ctl/table.h"

#include "common/buf.h"

#include <stdio.h>

int ward_ctl_health(const struct ward_ctl_config *cfg, const struct ward_ctl_args *a)
{
    (void)a;
    struct ward_buf body = WARD_BUF_INIT;
    int e = ward_ctl_request(cfg, "GET", "/health", NULL, WARD_CTL_ANONYMOUS, &body);
    if (e >= 0)
        printf("%s\n", body.data ? body.data : "");
    ward_buf_done(&body);
    return e < 0 ? WARD_CTL_FAILED : WARD_CTL_OK;
}

static const struct ward_ctl_column sample_columns[] = {
    {"TIMESTAMP", "timestamp"}, {"TYPE", "metric_type"}, {"NAME", "metric_name"},
    {"LABELS", "labels"},       {"VALUE", "value"},
};

static const struct ward_ctl_table samples = {
    .cols = sample_columns,
    .n_cols = sizeof(sample_columns) / sizeof(sample_columns[0]),
    .empty = "no samples in that range",
};

int ward_ctl_query(const struct ward_ctl_config *cfg, const struct ward_ctl_args *a)
{
    struct ward_buf path = WARD_BUF_INIT;
    char limit[24];
    snprintf(limit, sizeof(limit), "%lld", (long long)cfg->limit);
    int e = ward_buf_puts(&path, "/api/v1/metrics?");
    if (e >= 0)
        e = ward_ctl_add_param(&path, "server_id", a->arg[0]);
    if (e >= 0)
        e = ward_ctl_add_param(&path, "metric_type", a->n > 1 ? a->arg[1] : NULL);
    if (e >= 0)
        e = ward_ctl_add_param(&path, "metric_name", a->n > 2 ? a->arg[2] : NULL);
    if (e >= 0)
        e = ward_ctl_add_param(&path, "from", cfg->from);
    if (e >= 0)
        e = ward_ctl_add_param(&path, "to", cfg->to);
    if (e >= 0)
        e = ward_ctl_add_param(&path, "limit", limit);
    int rc = WARD_CTL_FAILED;
    if (e < 0)
        fprintf(stderr, "wardctl: out of memory\n");
    else
        rc = ward_ctl_call(cfg, "GET", path.data, NULL, ward_ctl_render_table, &samples);
    ward_buf_done(&path);
    return rc;
}
