/*
 * The server's own metrics, served by GET /metrics in the Prometheus text
 * format (smotra's endpoint).
 *
 * HTTP threads record every finished request here (ward_server_metrics_request(),
 * called from the HTTP layer's completion hook) with relaxed atomic
 * increments, so recording never takes a lock. Everything else that
 * /metrics reports (ingest rate, write queue depth, series count, database
 * size) is read from its owner when the page is rendered.
 */
#ifndef WARD_SERVER_METRICS_H
#define WARD_SERVER_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "server/http/router.h"

struct ward_server_metrics;

/*
 * Makes the counters for the n_routes routes of the table routes (requests
 * that match no route are counted as route "unmatched"). Returns 0 or -ENOMEM.
 */
int ward_server_metrics_new(const struct ward_route *routes, size_t n_routes,
                            struct ward_server_metrics **out);
void ward_server_metrics_free(struct ward_server_metrics *m);

/* Counts one finished request; route is NULL when none matched. Thread-safe, lock-free. */
void ward_server_metrics_request(struct ward_server_metrics *m, const struct ward_route *route,
                                 const char *method, unsigned status, int64_t duration_ns,
                                 size_t bytes_in, size_t bytes_out);

/* Appends the request counters and latency histograms to out. Returns 0 or -ENOMEM. */
int ward_server_metrics_render(struct ward_server_metrics *m, struct ward_buf *out);

#endif
