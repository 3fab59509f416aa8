/*
 * The agent's local HTTP listener: GET /metrics (Prometheus text, so a
 * Prometheus server can scrape the agent as it would node_exporter) and
 * GET /health (the agent's health as JSON).
 */
#ifndef WARD_LISTENER_H
#define WARD_LISTENER_H

#include <stdint.h>

#include "agent/health.h"
#include "agent/scheduler.h"
#include "common/buf.h"

struct ward_listener;

/*
 * Starts listening on address ("127.0.0.1:9100"). Returns 0, or a negative
 * error with a message in err.
 */
int ward_listener_start(const char *address, struct ward_scheduler *sched,
                        struct ward_health *health, struct ward_listener **out,
                        struct ward_buf *err);

/* The port actually bound. */
uint16_t ward_listener_port(const struct ward_listener *l);

/* Stops and frees the listener. Accepts NULL. */
void ward_listener_stop(struct ward_listener *l);

#endif
