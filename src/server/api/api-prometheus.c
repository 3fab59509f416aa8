/*
 * GET /metrics: ward-server's own metrics in the Prometheus text format
 * (smotra's endpoint), and the HTTP completion hook that feeds them.
 *
 * Request counters and latency histograms come from metrics.c, which the
 * HTTP layer updates after every request. The rest is read from its owner
 * when the page is rendered: the writer's counters and queue, the store's
 * size and series count, the process's memory and CPU. A scrape therefore
 * costs one store stats call (two COUNTs and a stat of the files), which is
 * cheap next to a scrape interval.
 */
#include "server/api/api.h"

#include "common/error.h"
#include "common/log.h"
#include "server/commands.h"
#include "server/latest.h"
#include "server/metrics.h"
#include "server/stream.h"
#include "server/writer.h"
#include "ward-version.h"

#include <inttypes.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

void ward_api_on_complete(const struct ward_route *route, const char *method, unsigned status,
                          int64_t duration_ns, size_t bytes_in, size_t bytes_out, void *app)
{
    struct ward_api *api = app;
    if (api->metrics)
        ward_server_metrics_request(api->metrics, route, method, status, duration_ns, bytes_in,
                                    bytes_out);
}

/* One metric with HELP and TYPE. */
static int metric(struct ward_buf *out, const char *name, const char *type, const char *help,
                  double value)
{
    return ward_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type,
                           name, value);
}

static int render_writer(struct ward_api *api, struct ward_buf *out)
{
    struct ward_writer_stats ws;
    ward_writer_stats(api->writer, &ws);
    int r = metric(out, "ward_ingest_samples_total", "counter", "Samples committed to the store.",
                   (double)ws.committed_samples);
    r = r
            ?: ward_buf_printf(out,
                               "# HELP ward_ingest_batches_total Batches handled by the writer, "
                               "by result.\n"
                               "# TYPE ward_ingest_batches_total counter\n"
                               "ward_ingest_batches_total{result=\"stored\"} %" PRIu64 "\n"
                               "ward_ingest_batches_total{result=\"duplicate\"} %" PRIu64 "\n",
                               ws.committed_batches, ws.duplicate_batches);
    r = r
            ?: metric(out, "ward_write_queue_samples", "gauge",
                      "Samples waiting to be committed, including the group being written.",
                      (double)ws.queued_samples);
    r = r
            ?: metric(out, "ward_write_queue_capacity_samples", "gauge",
                      "The bound on ward_write_queue_samples (--write-queue).",
                      (double)ws.queue_capacity);
    r = r
            ?: metric(out, "ward_write_rejected_total", "counter",
                      "Write jobs refused because the queue was full (answered 503).",
                      (double)ws.rejected_jobs);
    r = r
            ?: metric(out, "ward_write_failed_commits_total", "counter",
                      "Group commits that failed.", (double)ws.failed_commits);
    r = r
            ?: metric(out, "ward_retention_deleted_samples_total", "counter",
                      "Samples deleted by retention.", (double)ws.pruned_samples);
    return r;
}

static int render_store(struct ward_api *api, struct ward_buf *out)
{
    struct ward_store_stats st;
    int r = ward_store_stats(api->store, &st);
    if (r < 0) {
        ward_log_warn(NULL, "store stats unavailable", "error", ward_strerror(r));
        return metric(out, "ward_database_up", "gauge", "1 when the database answers.", 0);
    }
    r = metric(out, "ward_database_up", "gauge", "1 when the database answers.", 1);
    r = r ?: metric(out, "ward_hosts", "gauge", "Hosts known to the store.", (double)st.hosts);
    r = r ?: metric(out, "ward_series", "gauge", "Series known to the store.", (double)st.series);
    r = r
            ?: metric(out, "ward_database_bytes", "gauge",
                      "Size of the database on disk, including its write-ahead log.",
                      (double)st.bytes);
    r = r
            ?: metric(out, "ward_latest_series", "gauge",
                      "Series whose newest value is held in memory.",
                      (double)ward_latest_count(api->latest));
    return r;
}

static int render_commands(struct ward_api *api, struct ward_buf *out)
{
    if (!api->commands)
        return 0;
    struct ward_commands_stats st;
    ward_commands_stats(api->commands, &st);
    return metric(out, "ward_command_waiters", "gauge",
                  "Long-polls waiting now (agents for commands, admins for results).",
                  (double)st.waiting)
               ?: metric(out, "ward_command_waits_woken_total", "counter",
                         "Long-polls answered because what they waited for happened.",
                         (double)st.woken)
               ?: metric(out, "ward_command_waits_timed_out_total", "counter",
                         "Long-polls that waited their whole time.", (double)st.timed_out)
               ?: metric(out, "ward_command_waits_replaced_total", "counter",
                         "Agent long-polls ended (204) by a newer poll of the same agent.",
                         (double)st.replaced)
               ?: metric(out, "ward_command_waits_gone_total", "counter",
                         "Long-polls ended because their client hung up while waiting.",
                         (double)st.gone)
               ?: metric(out, "ward_command_waits_refused_total", "counter",
                         "Long-polls refused (503) because --command-waiters were waiting.",
                         (double)st.refused)
               ?: metric(out, "ward_commands_expired_total", "counter",
                         "Diagnostic commands expired: not picked up, or no result, in time.",
                         (double)st.expired);
}

static int render_stream(struct ward_api *api, struct ward_buf *out)
{
    if (!api->stream)
        return 0;
    struct ward_stream_stats st;
    ward_stream_stats(api->stream, &st);
    int r = metric(out, "ward_stream_clients", "gauge", "Live-stream (WebSocket) clients open.",
                   (double)st.clients);
    r = r
            ?: metric(out, "ward_stream_messages_total", "counter",
                      "Messages queued to live-stream clients.", (double)st.messages);
    r = r
            ?: metric(out, "ward_stream_samples_total", "counter",
                      "Samples sent to live-stream clients, counted once per client.",
                      (double)st.samples);
    r = r
            ?: metric(out, "ward_stream_slow_clients_total", "counter",
                      "Live-stream clients closed (1013) because their send queue was full.",
                      (double)st.slow_closed);
    r = r
            ?: metric(out, "ward_stream_dropped_samples_total", "counter",
                      "Samples not streamed because the stream thread fell behind.",
                      (double)st.dropped);
    return r;
}

static int render_process(struct ward_api *api, struct ward_buf *out)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                 (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "re");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    int r = metric(out, "process_cpu_seconds_total", "counter", "User and system CPU time.", cpu);
    r = r
            ?: metric(out, "process_resident_memory_bytes", "gauge", "Resident memory.",
                      (double)rss * (double)sysconf(_SC_PAGESIZE));
    r = r
            ?: metric(out, "process_start_time_seconds", "gauge", "Start time, Unix seconds.",
                      (double)api->started_ms / 1000.0);
    r = r
            ?: ward_buf_puts(out, "# HELP ward_build_info The version of ward-server.\n"
                                  "# TYPE ward_build_info gauge\n"
                                  "ward_build_info{version=\"" WARD_VERSION "\"} 1\n");
    return r;
}

void ward_api_prometheus(struct ward_http_request *req, void *app)
{
    struct ward_api *api = app;
    struct ward_buf out = WARD_BUF_INIT;
    int r = api->metrics ? ward_server_metrics_render(api->metrics, &out) : 0;
    r = r ?: render_writer(api, &out);
    r = r ?: render_store(api, &out);
    r = r ?: render_stream(api, &out);
    r = r ?: render_commands(api, &out);
    r = r ?: render_process(api, &out);
    if (r < 0) {
        ward_buf_done(&out);
        ward_http_error(req, 500, "cannot render metrics: %s", ward_strerror(r));
        return;
    }
    ward_http_respond_buf(req, 200, "text/plain; version=0.0.4; charset=utf-8", &out);
}
