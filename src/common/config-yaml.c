/*
 * Reading the YAML configuration file into an option table.
 *
 * The file is read whole (up to WARD_CONFIG_FILE_MAX) and walked with
 * libyaml's event parser rather than loaded through a libcyaml schema: every
 * event carries its line and column, so an unknown key, a list where a value
 * belongs, a bad value and a syntax error are all reported at their exact
 * position. libcyaml 1.3 cannot do that: its error backtraces point at the
 * enclosing mapping, and it drops libyaml's position of a syntax error. The
 * file is parsed twice, once for syntax and once for meaning, so that a
 * syntax error is never hidden behind a bad value before it.
 *
 * Nested mappings become dotted paths (collectors: {cpu: {interval: 5s}} is
 * "collectors.cpu.interval"), matched against option names, so sections need
 * only options with dotted names. Aliases are refused and nesting is bounded.
 * Each scalar goes through the same ward_config_set_value() as defaults,
 * environment and flags, so a value means the same in every layer.
 *
 * This is one layer of the loader in config.c, kept apart because it is the
 * only part that knows about YAML; the two share config-internal.h. Nothing
 * here logs: every failure leaves one line, "FILE:LINE:COLUMN: ..." where a
 * position is known, in the caller's buffer.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "common/cleanup.h"
#include "common/config-internal.h"
#include "common/config.h"
#include "common/error.h"

static void event_donep(yaml_event_t *e)
{
    yaml_event_delete(e);
}

/* Reads a whole file into out, refusing files larger than WARD_CONFIG_FILE_MAX. */
static int read_file(const char *path, struct ward_buf *out)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -errno;
    ward_buf_init(out, WARD_CONFIG_FILE_MAX);
    char chunk[16384];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return 0;
        int r = ward_buf_append(out, chunk, (size_t)n);
        if (r < 0)
            return r;
    }
}

struct yaml_reader {
    const struct ward_program *prog;
    void *config;         /* the program's config struct */
    struct ward_buf *err; /* the caller's message buffer */
    const char *file;
    yaml_parser_t parser;
    bool parser_ready;
    struct ward_buf key; /* dotted path of the current key, YAML spelling */
    size_t *seen_line;   /* per option: line it was set on in this file, 0 = not yet */
};

static void reader_done(struct yaml_reader *y)
{
    if (y->parser_ready)
        yaml_parser_delete(&y->parser);
    ward_buf_done(&y->key);
    free(y->seen_line);
}

/* Fails with a message that starts with the file name and the position of mark. */
__attribute__((format(printf, 3, 4))) static int fail_at(struct yaml_reader *y, yaml_mark_t mark,
                                                         const char *fmt, ...)
{
    struct ward_buf *err = y->err;
    va_list ap;
    va_start(ap, fmt);
    ward_buf_reset(err);
    ward_buf_printf(err, "%s:%zu:%zu: ", y->file, mark.line + 1, mark.column + 1);
    ward_buf_vprintf(err, fmt, ap);
    va_end(ap);
    return WARD_E_CONFIG;
}

static int next_event(struct yaml_reader *y, yaml_event_t *ev)
{
    if (yaml_parser_parse(&y->parser, ev))
        return 0;
    const yaml_parser_t *p = &y->parser;
    if (p->error == YAML_MEMORY_ERROR)
        return ward_config_fail(y->err, -ENOMEM, "%s: out of memory", y->file);
    if (p->error == YAML_READER_ERROR)
        return ward_config_fail(y->err, WARD_E_CONFIG, "%s: byte %zu: %s", y->file,
                                p->problem_offset, p->problem ? p->problem : "unreadable input");
    if (p->context)
        return fail_at(y, p->problem_mark, "YAML syntax error: %s (%s at line %zu)",
                       p->problem ? p->problem : "unknown error", p->context,
                       p->context_mark.line + 1);
    return fail_at(y, p->problem_mark, "YAML syntax error: %s",
                   p->problem ? p->problem : "unknown error");
}

static bool is_null(const yaml_event_t *ev)
{
    const char *v = (const char *)ev->data.scalar.value;
    return ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
           (!*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
            !strcmp(v, "NULL"));
}

/*
 * Looks up the dotted path y->key among the option names, whose YAML spelling
 * has '_' for '-'. Returns the option the path names, if any, and sets
 * *section when some option lies in a section of that name.
 */
static const struct ward_option *lookup_key(struct yaml_reader *y, bool *section)
{
    const struct ward_program *prog = y->prog;
    const char *path = y->key.data;
    size_t n = y->key.len;
    const struct ward_option *leaf = NULL;
    *section = false;
    for (size_t i = 0; i < prog->n_options; i++) {
        const char *name = prog->options[i].name;
        size_t len = strlen(name), j = 0;
        while (j < n && j < len && ward_config_yaml_char(name[j]) == path[j])
            j++;
        if (j < n)
            continue;
        if (j == len)
            leaf = &prog->options[i];
        else if (name[j] == '.')
            *section = true;
    }
    return leaf;
}

static int unknown_key(struct yaml_reader *y, const yaml_event_t *key, size_t prefix_len)
{
    const struct ward_program *prog = y->prog;
    const char *word = y->key.data + prefix_len;
    size_t n = y->key.len - prefix_len;
    const char *best = NULL;
    size_t best_len = 0, best_d = SIZE_MAX;

    /* The candidates are the names one level below the enclosing section. */
    for (size_t i = 0; i < prog->n_options; i++) {
        const char *name = prog->options[i].name;
        size_t len = strlen(name), j = 0;
        while (j < prefix_len && j < len && ward_config_yaml_char(name[j]) == y->key.data[j])
            j++;
        if (j < prefix_len)
            continue;
        const char *dot = strchr(name + j, '.');
        ward_config_consider(word, n, name + j, dot ? (size_t)(dot - name - j) : len - j, &best,
                             &best_len, &best_d);
    }
    int shown = (int)(n > WARD_CONFIG_QUOTE_MAX ? WARD_CONFIG_QUOTE_MAX : n);
    int r = fail_at(y, key->start_mark, "unknown key '%.*s'", shown, word);
    if (prefix_len > 0)
        ward_buf_printf(y->err, " in '%.*s'", (int)(prefix_len - 1), y->key.data);
    if (best) {
        ward_buf_puts(y->err, " (did you mean '");
        for (size_t i = 0; i < best_len; i++)
            ward_buf_putc(y->err, ward_config_yaml_char(best[i]));
        ward_buf_puts(y->err, "'?)");
    }
    return r;
}

static const char *node_kind(const yaml_event_t *ev)
{
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        return "a single value";
    case YAML_SEQUENCE_START_EVENT:
        return "a list";
    case YAML_ALIAS_EVENT:
        return "an alias";
    default:
        return "a mapping";
    }
}

static const char *value_kind(const struct ward_option *o)
{
    switch (o->type) {
    case WARD_OPT_INT:
    case WARD_OPT_DOUBLE:
        return "a number";
    case WARD_OPT_DURATION:
        return "a duration";
    case WARD_OPT_BOOL:
        return "a boolean";
    default:
        return "a string";
    }
}

/* Stores a scalar found under the key y->key into option o. */
static int read_scalar(struct yaml_reader *y, const struct ward_option *o, const yaml_event_t *key,
                       const yaml_event_t *value)
{
    const char *text = (const char *)value->data.scalar.value;
    if (strlen(text) != value->data.scalar.length)
        return fail_at(y, value->start_mark, "key '%s': value contains a NUL byte", y->key.data);
    if (is_null(value))
        return 0;
    size_t idx = (size_t)(o - y->prog->options);
    if (y->seen_line[idx])
        return fail_at(y, key->start_mark, "duplicate key '%s' (first set on line %zu)",
                       y->key.data, y->seen_line[idx]);
    y->seen_line[idx] = key->start_mark.line + 1;

    _cleanup_(ward_config_buf_donep) struct ward_buf why = WARD_BUF_INIT;
    int r = ward_config_set_value(o, y->config, text, &why);
    if (r == -ENOMEM)
        return ward_config_fail(y->err, r, "out of memory");
    if (r < 0)
        return fail_at(y, value->start_mark, "key '%s': %s", y->key.data, why.data);
    return 0;
}

/* Reads the pairs of a mapping whose MAPPING-START event has been consumed. */
static int read_mapping(struct yaml_reader *y, unsigned depth)
{
    size_t prefix_len = y->key.len;
    for (;;) {
        _cleanup_(event_donep) yaml_event_t key = {0};
        _cleanup_(event_donep) yaml_event_t value = {0};
        int r = next_event(y, &key);
        if (r < 0)
            return r;
        if (key.type == YAML_MAPPING_END_EVENT)
            return 0;
        if (key.type != YAML_SCALAR_EVENT)
            return fail_at(y, key.start_mark, "keys must be plain names, not %s", node_kind(&key));

        y->key.len = prefix_len;
        r = ward_buf_append(&y->key, key.data.scalar.value, key.data.scalar.length);
        if (r < 0)
            return ward_config_fail(y->err, r, "%s: key too long", y->file);
        bool section;
        const struct ward_option *o = lookup_key(y, &section);
        if (!o && !section)
            return unknown_key(y, &key, prefix_len);

        r = next_event(y, &value);
        if (r < 0)
            return r;
        if (value.type == YAML_SCALAR_EVENT && o)
            r = read_scalar(y, o, &key, &value);
        else if (value.type == YAML_MAPPING_START_EVENT && section) {
            if (depth + 1 >= WARD_CONFIG_DEPTH_MAX)
                return fail_at(y, value.start_mark, "mappings nested too deeply");
            r = ward_buf_putc(&y->key, '.');
            if (r >= 0)
                r = read_mapping(y, depth + 1);
        } else if (value.type == YAML_ALIAS_EVENT)
            return fail_at(y, value.start_mark, "key '%s': aliases are not supported", y->key.data);
        else if (o)
            return fail_at(y, value.start_mark, "key '%s' expects %s, not %s", y->key.data,
                           value_kind(o), node_kind(&value));
        else if (value.type == YAML_SCALAR_EVENT && is_null(&value))
            r = 0;
        else
            return fail_at(y, value.start_mark, "key '%s' expects a mapping, not %s", y->key.data,
                           node_kind(&value));
        if (r < 0)
            return r;
    }
}

/* Walks the whole event stream: nothing, an empty document, or one document holding a mapping. */
static int read_stream(struct yaml_reader *y)
{
    static const yaml_event_type_t frame[] = {YAML_STREAM_START_EVENT, YAML_DOCUMENT_START_EVENT, 0,
                                              YAML_DOCUMENT_END_EVENT, YAML_STREAM_END_EVENT};
    for (size_t step = 0; step < WARD_ARRAY_SIZE(frame); step++) {
        _cleanup_(event_donep) yaml_event_t ev = {0};
        int r = next_event(y, &ev);
        if (r < 0)
            return r;
        if (step == 1 && ev.type == YAML_STREAM_END_EVENT)
            return 0; /* a file with nothing but comments */
        if (step == 2) {
            if (ev.type == YAML_MAPPING_START_EVENT)
                r = read_mapping(y, 0);
            else if (ev.type != YAML_SCALAR_EVENT || !is_null(&ev))
                return fail_at(y, ev.start_mark, "expected a mapping of keys to values, not %s",
                               node_kind(&ev));
            if (r < 0)
                return r;
        } else if (ev.type != frame[step]) {
            return fail_at(y, ev.start_mark, "only one YAML document is allowed");
        }
    }
    return 0;
}

/* Reads every event of the stream, to find syntax errors before any value is used. */
static int check_syntax(struct yaml_reader *y)
{
    for (;;) {
        _cleanup_(event_donep) yaml_event_t ev = {0};
        int r = next_event(y, &ev);
        if (r < 0)
            return r;
        if (ev.type == YAML_STREAM_END_EVENT)
            return 0;
    }
}

/* Called by config.c between the defaults and the environment; see config-internal.h. */
int ward_config_load_file(const struct ward_program *prog, void *config, const char *path,
                          bool from_env, struct ward_buf *err)
{
    _cleanup_(ward_config_buf_donep) struct ward_buf text = WARD_BUF_INIT;
    int r = read_file(path, &text);
    if (r == WARD_E_LIMIT)
        return ward_config_fail(err, r, "%s: configuration file is larger than %d bytes", path,
                                WARD_CONFIG_FILE_MAX);
    if (r < 0)
        return ward_config_fail(err, r, "cannot read configuration file '%s'%s: %s", path,
                                from_env ? " (named by " WARD_CONFIG_ENV ")" : "",
                                ward_strerror(r));

    /*
     * The first pass only checks the syntax: events arrive as the parser
     * goes, and a syntax error must not be hidden behind a complaint about
     * a value that happened to come before it.
     */
    _cleanup_(reader_done) struct yaml_reader y = {
        .prog = prog, .config = config, .err = err, .file = path};
    y.seen_line = calloc(prog->n_options + 1, sizeof(*y.seen_line));
    if (!y.seen_line)
        return ward_config_fail(err, -ENOMEM, "out of memory");
    for (int pass = 0; pass < 2; pass++) {
        if (y.parser_ready)
            yaml_parser_delete(&y.parser);
        y.parser_ready = yaml_parser_initialize(&y.parser);
        if (!y.parser_ready)
            return ward_config_fail(err, -ENOMEM, "out of memory");
        yaml_parser_set_input_string(&y.parser, (const unsigned char *)(text.data ? text.data : ""),
                                     text.len);
        r = pass == 0 ? check_syntax(&y) : read_stream(&y);
        if (r < 0)
            return r;
    }
    return 0;
}
