/*
 * The logs diagnostic: the last entries of the system journal at a
 * severity or worse, or the last lines of a plain syslog file when there
 * is no journal to read.
 *
 * The journal is read by running journalctl (through ward_diag_exec(), so
 * never a shell) with --output=json and --output-fields limited to what
 * is shown, and each output line is parsed with the project's JSON reader:
 * parsing JSON rather than journalctl's text keeps the format under our
 * control, and the byte-array form journald uses for fields that are not
 * clean UTF-8 can be rendered safely. --all is deliberately not passed, so
 * journalctl replaces any field over 4 KiB by null, and the whole run
 * stays well below the private cap (8 MiB). Should the cap be reached all
 * the same, it must cost the oldest entries, not the newest: journalctl
 * prints the last LINES entries oldest first, so it is run with --reverse
 * (newest first, where a cut drops the oldest), and the rendered lines are
 * put back in the order of time (oldest first) before they are shown.
 *
 * When no journal file exists (a container without journald), journalctl
 * is missing, or it fails without printing an entry, the first readable of
 * /var/log/syslog and /var/log/messages is tailed instead: read backwards
 * from the end in growing chunks, never more than FILE_READ_MAX bytes.
 * The file is opened with O_NOFOLLOW and must be a regular file: the agent
 * runs as root, and a symbolic link planted there (to /etc/shadow, say)
 * must not make it show what the link points to.
 * Plain files have no structured severity, so the first output line says
 * which source was used and that neither severity nor unit is filtered.
 *
 * Journal files and plain files are looked for under ctx->root, like /proc
 * and /sys, so that an agent in a container can read the host's logs and
 * tests can run against a recorded tree; journalctl then gets --root.
 *
 * Everything shown passes through one escaper: control characters, C1
 * controls and bytes that are not UTF-8 are written as \n, \t or \xNN, so
 * no log line can move the cursor of the admin's terminal. When the text
 * does not fit the output, the oldest lines are dropped, not the newest.
 */
#include "agent/diagnostics/diagnostics.h"

#include "common/cleanup.h"
#include "common/error.h"
#include "common/json.h"
#include "common/parse.h"
#include "common/time-util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* journalctl's output kept at most, and the bytes of a plain file read at most. */
#define JOURNAL_OUTPUT_MAX ((size_t)8 << 20)
#define FILE_READ_MAX      ((size_t)4 << 20)
#define FILE_CHUNK         ((size_t)64 << 10)
/* Only what is shown: journalctl leaves out the rest, core dumps included. */
#define OUTPUT_FIELDS                                                                              \
    "--output-fields=__REALTIME_TIMESTAMP,PRIORITY,SYSLOG_IDENTIFIER,_COMM,_PID,MESSAGE"
/* Directory entries looked at when searching for journal files. */
#define JOURNAL_SCAN_MAX 1024

static const char *const severities[] = {"emerg",   "alert",  "crit", "err",
                                         "warning", "notice", "info", "debug"};
static const char *const journal_dirs[] = {"/run/log/journal", "/var/log/journal"};
static const char *const plain_files[] = {"/var/log/syslog", "/var/log/messages"};

/* Moves text to out, dropping whole lines from its start when it does not fit. */
static void emit_newest(struct ward_diag_out *out, const struct ward_buf *text)
{
    const char *note = "[older lines omitted to fit the output limit]\n";
    size_t room = out->text.len < out->max ? out->max - out->text.len : 0;
    size_t start = 0;
    if (text->len > room) {
        size_t keep = room > strlen(note) ? room - strlen(note) : 0;
        start = text->len - keep;
        while (start < text->len && start > 0 && text->data[start - 1] != '\n')
            start++;
        ward_diag_out_printf(out, "%s", note);
        out->truncated = true;
    }
    if (text->len > start)
        ward_diag_out_append(out, text->data + start, text->len - start);
}

/* True when name looks like a journal file. */
static bool journal_name(const char *name)
{
    size_t n = strlen(name);
    return (n > 8 && strcmp(name + n - 8, ".journal") == 0) ||
           (n > 9 && strcmp(name + n - 9, ".journal~") == 0);
}

/* True when dir, or a directory right below it, holds a journal file; bounded by *budget. */
static bool has_journal_in(const char *dir, int depth, int *budget)
{
    DIR *d = opendir(dir);
    if (!d)
        return false;
    bool found = false;
    struct dirent *e;
    while (!found && (*budget)-- > 0 && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (journal_name(e->d_name)) {
            found = true;
        } else if (depth > 0 && (e->d_type == DT_DIR || e->d_type == DT_UNKNOWN)) {
            char sub[PATH_MAX];
            int n = snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name);
            found = n > 0 && (size_t)n < sizeof(sub) && has_journal_in(sub, depth - 1, budget);
        }
    }
    closedir(d);
    return found;
}

static bool has_journal(const char *root)
{
    int budget = JOURNAL_SCAN_MAX;
    for (size_t i = 0; i < WARD_ARRAY_SIZE(journal_dirs); i++) {
        char dir[PATH_MAX];
        int n = snprintf(dir, sizeof(dir), "%s%s", root, journal_dirs[i]);
        if (n > 0 && (size_t)n < sizeof(dir) && has_journal_in(dir, 1, &budget))
            return true;
    }
    return false;
}

/* The fields of one journal entry that are shown, as journalctl names them. */
enum {
    F_TIME,
    F_PRIO,
    F_IDENT,
    F_COMM,
    F_PID,
    F_MESSAGE,
    N_FIELDS
};
static const char *const field_keys[N_FIELDS] = {
    "__REALTIME_TIMESTAMP", "PRIORITY", "SYSLOG_IDENTIFIER", "_COMM", "_PID", "MESSAGE"};

struct entry {
    struct ward_buf f[N_FIELDS];
    bool message_null;
};

/* Reads tokens until depth containers, already opened, are closed again. */
static int skip_open(struct ward_json_reader *r, int depth)
{
    struct ward_json_token t;
    while (depth > 0) {
        int rc = ward_json_next(r, &t);
        if (rc < 0)
            return rc;
        if (t.type == WARD_JSON_ARRAY_BEGIN || t.type == WARD_JSON_OBJECT_BEGIN)
            depth++;
        else if (t.type == WARD_JSON_ARRAY_END || t.type == WARD_JSON_OBJECT_END)
            depth--;
        else if (t.type == WARD_JSON_END)
            return -EINVAL;
    }
    return 0;
}

/*
 * Reads the value that starts with tok into dst: a string, an array of
 * bytes, or (a field that occurs more than once) an array whose first
 * element is one of those. *null is set for null.
 */
static int read_value(struct ward_json_reader *r, const struct ward_json_token *tok,
                      struct ward_buf *dst, bool *null)
{
    if (tok->type == WARD_JSON_STRING)
        return ward_buf_append(dst, tok->str, tok->len) < 0 ? -ENOMEM : 0;
    if (tok->type == WARD_JSON_NULL)
        *null = true;
    if (tok->type == WARD_JSON_OBJECT_BEGIN)
        return skip_open(r, 1);
    if (tok->type != WARD_JSON_ARRAY_BEGIN)
        return 0;
    struct ward_json_token t;
    int rc = ward_json_next(r, &t);
    if (rc < 0 || t.type == WARD_JSON_ARRAY_END)
        return rc;
    if (t.type != WARD_JSON_INT) {
        rc = read_value(r, &t, dst, null);
        return rc < 0 ? rc : skip_open(r, 1);
    }
    for (;;) {
        if (t.type == WARD_JSON_ARRAY_END)
            return 0;
        if (t.type != WARD_JSON_INT) /* not bytes after all: skip the rest */
            return skip_open(
                r, t.type == WARD_JSON_ARRAY_BEGIN || t.type == WARD_JSON_OBJECT_BEGIN ? 2 : 1);
        char byte = (char)(unsigned char)t.i;
        if (ward_buf_append(dst, &byte, 1) < 0)
            return -ENOMEM;
        if ((rc = ward_json_next(r, &t)) < 0)
            return rc;
    }
}

/* Parses one line of journalctl's JSON output into e. */
static int parse_entry(const char *line, size_t len, struct entry *e)
{
    struct ward_json_limits lim = {.max_depth = 4, .max_size = len + 1};
    struct ward_json_reader r;
    struct ward_json_token t = {0};
    ward_json_reader_init(&r, line, len, &lim);
    int rc = ward_json_expect(&r, WARD_JSON_OBJECT_BEGIN, &t);
    while (rc == 0 && (rc = ward_json_next(&r, &t)) == 0 && t.type == WARD_JSON_KEY) {
        size_t k = 0;
        while (k < N_FIELDS && !ward_json_key_is(&t, field_keys[k]))
            k++;
        bool null = false;
        if (k == N_FIELDS) {
            rc = ward_json_skip(&r);
        } else if ((rc = ward_json_next(&r, &t)) == 0) {
            ward_buf_reset(&e->f[k]);
            rc = read_value(&r, &t, &e->f[k], &null);
            if (k == F_MESSAGE)
                e->message_null = null;
        }
    }
    ward_json_reader_done(&r);
    return rc < 0 ? rc : t.type == WARD_JSON_OBJECT_END ? 0 : -EINVAL;
}

/* True when a message is better shown as "[binary]": NUL bytes, or mostly not text. */
static bool is_binary(const struct ward_buf *m)
{
    size_t odd = 0;
    for (size_t i = 0; i < m->len; i++) {
        unsigned char c = (unsigned char)m->data[i];
        if (c == 0)
            return true;
        odd += c < 0x20 && c != '\t' && c != '\n';
    }
    return odd * 4 > m->len;
}

/* Appends e as one line: "TIME SEVERITY IDENT[PID]: MESSAGE". */
static void render_entry(struct ward_buf *b, const struct entry *e)
{
    int64_t us = 0, prio = -1;
    char when[WARD_RFC3339_LEN] = "-";
    const struct ward_buf *time = &e->f[F_TIME], *pri = &e->f[F_PRIO], *pid = &e->f[F_PID];
    const struct ward_buf *msg = &e->f[F_MESSAGE];
    if (time->len && ward_parse_int64(time->data, &us) == 0)
        ward_time_format_rfc3339(us / 1000, when);
    if (!pri->len || ward_parse_int64(pri->data, &prio) < 0 || prio < 0 || prio > 7)
        prio = -1;
    ward_buf_printf(b, "%s %s ", when[0] ? when : "-", prio < 0 ? "?" : severities[prio]);
    const struct ward_buf *ident = e->f[F_IDENT].len ? &e->f[F_IDENT] : &e->f[F_COMM];
    if (ident->len)
        ward_diag_escape(b, ident->data, ident->len);
    else
        ward_buf_puts(b, "-");
    if (pid->len) {
        ward_buf_putc(b, '[');
        ward_diag_escape(b, pid->data, pid->len);
        ward_buf_putc(b, ']');
    }
    ward_buf_puts(b, ": ");
    if (e->message_null)
        ward_buf_puts(b, "[message over 4 KiB, not shown]");
    else if (is_binary(msg))
        ward_buf_printf(b, "[binary, %zu bytes]", msg->len);
    else if (msg->len)
        ward_diag_escape(b, msg->data, msg->len);
    ward_buf_putc(b, '\n');
}

/*
 * Parses journalctl's output into lines of text, until deadline_ms (*late
 * is then set). Returns the number of entries; the first line that is not
 * an entry goes to *other.
 */
static size_t render_journal(const struct ward_buf *json, int64_t deadline_ms,
                             struct ward_buf *text, struct ward_buf *other, bool *late)
{
    size_t entries = 0, n = 0;
    struct entry e = {0};
    for (size_t pos = 0; pos < json->len; n++) {
        if (n % 256 == 255 && ward_mono_ms() >= deadline_ms) {
            *late = true;
            break;
        }
        const char *line = json->data + pos;
        const char *nl = memchr(line, '\n', json->len - pos);
        size_t len = nl ? (size_t)(nl - line) : json->len - pos;
        pos += len + 1;
        if (len == 0)
            continue;
        e.message_null = false;
        for (size_t i = 0; i < N_FIELDS; i++)
            ward_buf_reset(&e.f[i]);
        if (parse_entry(line, len, &e) == 0) {
            render_entry(text, &e);
            entries++;
        } else if (other->len == 0) {
            ward_diag_escape(other, line, len < 200 ? len : 200);
        }
    }
    for (size_t i = 0; i < N_FIELDS; i++)
        ward_buf_done(&e.f[i]);
    return entries;
}

/*
 * Reverses the order of the lines of text (each ends with '\n'): journalctl
 * gives them newest first. Returns 0 or -ENOMEM.
 */
static int reverse_lines(struct ward_buf *text)
{
    struct ward_buf rev = WARD_BUF_INIT;
    if ((text->len && text->data[text->len - 1] != '\n' && ward_buf_putc(text, '\n') < 0) ||
        ward_buf_reserve_exact(&rev, text->len) < 0)
        return -ENOMEM;
    for (size_t end = text->len; end > 0;) {
        size_t start = end - 1; /* text->data[end - 1] is the line's '\n' */
        while (start > 0 && text->data[start - 1] != '\n')
            start--;
        ward_buf_append(&rev, text->data + start, end - start);
        end = start;
    }
    ward_buf_done(text);
    *text = rev;
    return 0;
}

/*
 * Runs journalctl. Returns 0 when it showed entries (or none matched),
 * -ETIMEDOUT, or 1 when the plain files should be tried, with the reason
 * in why.
 */
static int from_journal(const char *severity, const char *lines, const char *unit,
                        const struct ward_diag_ctx *ctx, struct ward_diag_out *out,
                        struct ward_buf *why)
{
    char root_opt[PATH_MAX + 8];
    const char *argv[16] = {
        "journalctl", "--output=json", OUTPUT_FIELDS, "--no-pager", "--quiet", "--reverse",
        "-p",         severity,        "-n",          lines};
    size_t argc = 10;
    if (unit[0]) {
        argv[argc++] = "-u";
        argv[argc++] = unit;
    }
    if (ctx->root[0]) {
        snprintf(root_opt, sizeof(root_opt), "--root=%s", ctx->root);
        argv[argc++] = root_opt;
    }
    struct ward_diag_out json;
    ward_diag_out_init(&json, JOURNAL_OUTPUT_MAX);
    int rc = ward_diag_exec("journalctl", argv, ctx, &json);
    struct ward_buf text = WARD_BUF_INIT, other = WARD_BUF_INIT;
    bool late = false;
    size_t entries =
        rc == -ENOENT ? 0 : render_journal(&json.text, ctx->deadline_ms, &text, &other, &late);
    if (entries > 1 && reverse_lines(&text) < 0) {
        ward_buf_reset(&text);
        ward_buf_puts(&text, "[out of memory]\n");
    }
    int result = 0;
    if (rc == -ENOENT) {
        ward_buf_puts(why, "journalctl is not installed");
        result = 1;
    } else if (entries == 0 && rc == -ETIMEDOUT) {
        ward_diag_out_printf(out, "journalctl did not finish before the deadline\n");
        result = -ETIMEDOUT;
    } else if (entries == 0 && rc != 0) {
        if (rc > 0)
            ward_buf_printf(why, "journalctl failed with exit status %d", rc);
        else
            ward_buf_printf(why, "journalctl failed: %s", ward_strerror(rc));
        if (other.len)
            ward_buf_printf(why, " (%s)", other.data);
        result = 1;
    } else {
        ward_diag_out_printf(out,
                             "source: systemd journal, severity %s or worse, last %s entries%s%s\n",
                             severity, lines, unit[0] ? ", unit " : "", unit);
        if (rc == -ETIMEDOUT)
            ward_diag_out_printf(out, "[journalctl was stopped at the deadline]\n");
        else if (json.truncated)
            ward_diag_out_printf(out, "[journalctl's output was cut at %zu MiB]\n",
                                 JOURNAL_OUTPUT_MAX >> 20);
        else if (rc != 0)
            ward_diag_out_printf(out, "[journalctl exited with status %d]\n", rc);
        if (late)
            ward_diag_out_printf(out, "[not all entries could be shown before the deadline]\n");
        if (entries == 0)
            ward_diag_out_printf(out, "no entries\n");
        emit_newest(out, &text);
    }
    ward_buf_done(&text);
    ward_buf_done(&other);
    ward_diag_out_done(&json);
    return result;
}

/* Reads the n bytes at off (fewer at end of file) into buf. */
static int read_at(int fd, char *buf, size_t n, off_t off, size_t *got)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = pread(fd, buf + done, n - done, off + (off_t)done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            break;
        done += (size_t)r;
    }
    *got = done;
    return 0;
}

/*
 * Appends the last lines lines of the regular file fd of size bytes to
 * text, reading backwards in growing chunks, at most FILE_READ_MAX bytes.
 */
static int tail_file(int fd, size_t size, int64_t lines, struct ward_buf *text, bool *partial)
{
    size_t chunk = FILE_CHUNK;
    for (;;) {
        size_t want = size < chunk ? size : chunk, got = 0;
        _cleanup_free_ char *buf = malloc(want ? want : 1);
        if (!buf)
            return -ENOMEM;
        int rc = read_at(fd, buf, want, (off_t)(size - want), &got);
        if (rc < 0)
            return rc;
        size_t end = got && buf[got - 1] == '\n' ? got - 1 : got, start = end;
        int64_t found = 0;
        while (start > 0 && found < lines)
            if (buf[--start] == '\n' && ++found == lines)
                start++;
        bool whole = found >= lines || want == size || want >= FILE_READ_MAX;
        if (whole) {
            if (found < lines && want < size) { /* the limit: drop the cut first line */
                const char *nl = memchr(buf, '\n', end);
                start = nl ? (size_t)(nl - buf) + 1 : end;
                *partial = true;
            }
            for (size_t pos = start; pos < end;) {
                const char *nl = memchr(buf + pos, '\n', end - pos);
                size_t len = nl ? (size_t)(nl - buf - pos) : end - pos;
                ward_diag_escape(text, buf + pos, len);
                ward_buf_putc(text, '\n');
                pos += len + 1;
            }
            return 0;
        }
        chunk = chunk * 4 > FILE_READ_MAX ? FILE_READ_MAX : chunk * 4;
    }
}

/* Tails the first readable plain file. Returns 0, or 1 with the reasons in why. */
static int from_files(int64_t lines, const char *unit, const struct ward_diag_ctx *ctx,
                      struct ward_diag_out *out, struct ward_buf *why)
{
    for (size_t i = 0; i < WARD_ARRAY_SIZE(plain_files); i++) {
        char path[PATH_MAX];
        int n = snprintf(path, sizeof(path), "%s%s", ctx->root, plain_files[i]);
        if (n < 0 || (size_t)n >= sizeof(path))
            continue;
        _cleanup_close_ int fd =
            open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW);
        struct stat st = {0};
        int err = fd < 0 ? -errno : fstat(fd, &st) < 0 ? -errno : 0;
        if (err == 0 && !S_ISREG(st.st_mode))
            err = -EINVAL;
        struct ward_buf text = WARD_BUF_INIT;
        bool partial = false;
        if (err == 0)
            err = tail_file(fd, (size_t)st.st_size, lines, &text, &partial);
        if (err == 0) {
            ward_diag_out_printf(out,
                                 "source: %s (%s), last %lld lines; plain files are not filtered "
                                 "by severity%s\n",
                                 plain_files[i], why->data, (long long)lines,
                                 unit[0] ? " or unit" : "");
            if (partial)
                ward_diag_out_printf(out, "[only the last %zu MiB were read]\n",
                                     FILE_READ_MAX >> 20);
            emit_newest(out, &text);
        } else {
            ward_buf_printf(why, "; %s: %s", plain_files[i],
                            err == -EINVAL  ? "not a regular file"
                            : err == -ELOOP ? "a symbolic link, which is not followed"
                                            : ward_strerror(err));
        }
        ward_buf_done(&text);
        if (err == 0)
            return 0;
    }
    return 1;
}

int ward_diag_logs(const struct ward_diag_args *args, const struct ward_diag_ctx *ctx,
                   struct ward_diag_out *out)
{
    const char *severity = ward_diag_get(args, "severity");
    const char *lines = ward_diag_get(args, "lines");
    const char *unit = ward_diag_get(args, "unit");
    int64_t n_lines = ward_diag_get_int(args, "lines");
    if (!severity[0] || n_lines < 1) {
        ward_diag_out_printf(out, "logs: bad arguments\n");
        return -EINVAL;
    }
    struct ward_buf why = WARD_BUF_INIT;
    int rc = 1;
    if (has_journal(ctx->root))
        rc = from_journal(severity, lines, unit, ctx, out, &why);
    else
        ward_buf_puts(&why, "no journal files found");
    if (rc == 1) {
        rc = from_files(n_lines, unit, ctx, out, &why);
        if (rc == 1)
            ward_diag_out_printf(out, "no log source could be read: %s\n", why.data);
    }
    ward_buf_done(&why);
    return rc;
}
