/*
 * The access log of ward-server: one JSON object per line per finished
 * request, refused and aborted ones included.
 *
 *   {"time":"2026-11-22T07:40:00.123Z","request_id":"3f9a...","remote":"192.0.2.7",
 *    "method":"POST","path":"/api/v1/ingest","route":"/api/v1/ingest","status":200,
 *    "duration_ms":1.284,"bytes_in":5120,"bytes_out":52,"user_agent":"ward-agent/0.1.0",
 *    "outcome":"ok"}
 *
 * The path never carries the query string, which may hold secrets. Every
 * string goes through the JSON writer, so no header value can break a line
 * or forge a field, and the long ones are cut to a named bound first.
 */
#ifndef WARD_ACCESS_LOG_H
#define WARD_ACCESS_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

/* Bytes of the path and of the User-Agent written; longer values are cut. */
#define WARD_ACCESS_LOG_PATH_MAX       1024
#define WARD_ACCESS_LOG_USER_AGENT_MAX 256

struct ward_access_log {
    int fd;     /* -1 when the log is off */
    bool owned; /* fd was opened here and is closed by ward_access_log_close() */
};

/* One finished request. Strings may be NULL (written as null). */
struct ward_access_entry {
    int64_t time_ms; /* Unix ms when the request arrived */
    const char *request_id;
    const char *remote;
    const char *method;
    const char *path;
    const char *route; /* the pattern that matched, or NULL */
    unsigned status;   /* 0 when no response was sent */
    int64_t duration_ns;
    size_t bytes_in;  /* body bytes as received */
    size_t bytes_out; /* body bytes as sent */
    const char *user_agent;
    const char *outcome; /* "ok", "aborted", "timeout", ... */
};

/*
 * Opens the log named by spec: NULL or "-" is stderr, "off" turns it off,
 * anything else is a file opened with O_APPEND | O_CLOEXEC (created 0640).
 * Returns 0, or -errno with a message in err.
 */
int ward_access_log_open(struct ward_access_log *log, const char *spec, struct ward_buf *err);

/* Closes a file the log opened. Accepts a log that is off. */
void ward_access_log_close(struct ward_access_log *log);

/* Appends the line for e, newline included, to out. Returns 0 or the writer's error. */
int ward_access_log_format(const struct ward_access_entry *e, struct ward_buf *out);

/*
 * Writes the line for e with one write(2), so lines of concurrent requests
 * never interleave. Returns 0 (also when the log is off), or -errno.
 */
int ward_access_log_write(const struct ward_access_log *log, const struct ward_access_entry *e);

#endif
