/*
 * What the diagnostics share (diagnostics.h): their table, their capped output, and how
 * they show text and sizes.
 */
#include "agent/diagnostics/diagnostics.h"

#include "common/json.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const ward_diag_fn functions[WARD_DIAG_N] = {
    [WARD_DIAG_LOGS] = ward_diag_logs,
    [WARD_DIAG_DISK_USAGE] = ward_diag_disk_usage,
    [WARD_DIAG_MOUNTS] = ward_diag_mounts,
    [WARD_DIAG_PING] = ward_diag_ping,
    [WARD_DIAG_CONNECT] = ward_diag_connect,
    [WARD_DIAG_NETSTAT] = ward_diag_netstat,
    [WARD_DIAG_TRACEROUTE] = ward_diag_traceroute,
};

ward_diag_fn ward_diag_function(enum ward_diag_type type)
{
    return (unsigned)type < WARD_DIAG_N ? functions[type] : NULL;
}

void ward_diag_out_init(struct ward_diag_out *o, size_t max)
{
    ward_buf_init(&o->text, 0);
    o->max = max;
    o->truncated = false;
}

void ward_diag_out_done(struct ward_diag_out *o)
{
    ward_buf_done(&o->text);
}

bool ward_diag_out_full(const struct ward_diag_out *o)
{
    return o->truncated || o->text.len >= o->max;
}

void ward_diag_out_append(struct ward_diag_out *o, const char *s, size_t n)
{
    size_t room = o->text.len < o->max ? o->max - o->text.len : 0;
    if (n > room) {
        n = room;
        o->truncated = true;
    }
    if (n > 0 && ward_buf_append(&o->text, s, n) < 0)
        o->truncated = true;
}

void ward_diag_out_printf(struct ward_diag_out *o, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof(line)) {
        ward_diag_out_append(o, line, (size_t)n);
        return;
    }
    struct ward_buf big = WARD_BUF_INIT;
    va_start(ap, fmt);
    int r = ward_buf_vprintf(&big, fmt, ap);
    va_end(ap);
    if (r == 0)
        ward_diag_out_append(o, big.data, big.len);
    else
        o->truncated = true;
    ward_buf_done(&big);
}

void ward_diag_escape(struct ward_buf *b, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        int k = c >= 0x80 ? ward_json_utf8_sequence(p + i, n - i) : 1;
        bool c1 = c == 0xc2 && k == 2 && p[i + 1] < 0xa0; /* U+0080 to U+009F */
        if (k > 0 && c >= 0x20 && c != 0x7f && c != '\\' && !c1) {
            ward_buf_append(b, p + i, (size_t)k);
            i += (size_t)k;
        } else {
            ward_buf_printf(b, "\\x%02x", c);
            i++;
        }
    }
}

void ward_diag_human_bytes(double bytes, char *buf, size_t size)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    size_t u = 0;
    while (bytes >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
        bytes /= 1024;
        u++;
    }
    snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
}

void ward_diag_out_append_lines(struct ward_diag_out *o, const char *text, size_t len)
{
    struct ward_buf line = WARD_BUF_INIT;
    for (size_t pos = 0; pos < len && !ward_diag_out_full(o);) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - text - pos) : len - pos;
        ward_buf_reset(&line);
        ward_diag_escape(&line, text + pos, n);
        if (ward_buf_putc(&line, '\n') < 0) {
            o->truncated = true;
            break;
        }
        ward_diag_out_append(o, line.data, line.len);
        pos += n + 1;
    }
    ward_buf_done(&line);
}

bool ward_diag_unescape_mountinfo(char *s)
{
    char *out = s;
    while (*s) {
        if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
            s[3] >= '0' && s[3] <= '7') {
            *out = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
            if (*out++ == '\0')
                return false;
            s += 4;
        } else {
            *out++ = *s++;
        }
    }
    *out = '\0';
    return true;
}
