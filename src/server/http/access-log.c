/*
 * Access log lines.
 *
 * A line is built in memory with the JSON writer and handed to the kernel
 * in a single write(2) on a descriptor opened with O_APPEND, so lines from
 * the HTTP threads arrive whole, in the file and in a pipe alike, without a
 * lock of our own. The descriptor is written directly rather than through
 * stdio: a stream's buffer would split long lines across writes.
 */
#include "server/http/access-log.h"

#include "common/json.h"
#include "common/time-util.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* Bytes written of the short fields (request id, address, method, outcome). */
#define SHORT_FIELD_MAX 128

int ward_access_log_open(struct ward_access_log *log, const char *spec, struct ward_buf *err)
{
    if (!spec || strcmp(spec, "-") == 0 || *spec == '\0') {
        *log = (struct ward_access_log){.fd = STDERR_FILENO, .owned = false};
        return 0;
    }
    if (strcmp(spec, "off") == 0) {
        *log = (struct ward_access_log){.fd = -1, .owned = false};
        return 0;
    }
    int fd = open(spec, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0640);
    if (fd < 0) {
        int e = errno;
        ward_buf_printf(err, "cannot open access log %s: %s", spec, strerror(e));
        return -e;
    }
    *log = (struct ward_access_log){.fd = fd, .owned = true};
    return 0;
}

void ward_access_log_close(struct ward_access_log *log)
{
    if (log->owned && log->fd >= 0)
        close(log->fd);
    log->fd = -1;
    log->owned = false;
}

/* Writes a string value cut to max bytes, or null. */
static void write_text(struct ward_json_writer *w, const char *key, const char *s, size_t max)
{
    ward_json_write_keyz(w, key);
    if (s)
        ward_json_write_string(w, s, strnlen(s, max));
    else
        ward_json_write_null(w);
}

int ward_access_log_format(const struct ward_access_entry *e, struct ward_buf *out)
{
    char time[WARD_RFC3339_LEN];
    ward_time_format_rfc3339(e->time_ms, time);

    struct ward_json_writer w;
    ward_json_writer_init(&w, out);
    ward_json_write_object_begin(&w);
    write_text(&w, "time", time, sizeof(time));
    write_text(&w, "request_id", e->request_id, SHORT_FIELD_MAX);
    write_text(&w, "remote", e->remote, SHORT_FIELD_MAX);
    write_text(&w, "method", e->method, SHORT_FIELD_MAX);
    write_text(&w, "path", e->path, WARD_ACCESS_LOG_PATH_MAX);
    write_text(&w, "route", e->route, WARD_ACCESS_LOG_PATH_MAX);
    ward_json_write_keyz(&w, "status");
    ward_json_write_uint(&w, e->status);
    /* Microsecond resolution is plenty, and keeps the number short. */
    ward_json_write_keyz(&w, "duration_ms");
    ward_json_write_double(&w, (double)(e->duration_ns / 1000) / 1000.0);
    ward_json_write_keyz(&w, "bytes_in");
    ward_json_write_uint(&w, e->bytes_in);
    ward_json_write_keyz(&w, "bytes_out");
    ward_json_write_uint(&w, e->bytes_out);
    write_text(&w, "user_agent", e->user_agent, WARD_ACCESS_LOG_USER_AGENT_MAX);
    write_text(&w, "outcome", e->outcome, SHORT_FIELD_MAX);
    ward_json_write_object_end(&w);
    int r = ward_json_writer_finish(&w);
    if (r < 0)
        return r;
    return ward_buf_putc(out, '\n');
}

int ward_access_log_write(const struct ward_access_log *log, const struct ward_access_entry *e)
{
    if (log->fd < 0)
        return 0;
    struct ward_buf line = WARD_BUF_INIT;
    int r = ward_access_log_format(e, &line);
    if (r < 0) {
        ward_buf_done(&line);
        return r;
    }
    ssize_t n;
    do
        n = write(log->fd, line.data, line.len);
    while (n < 0 && errno == EINTR);
    r = n < 0 ? -errno : (size_t)n == line.len ? 0 : -EIO;
    ward_buf_done(&line);
    return r;
}
