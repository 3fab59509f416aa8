/*
 * Program configuration from one option table.
 *
 * Each program lists its settings once, as struct ward_option entries that
 * point at fields of its config struct. Loading fills those fields in four
 * layers of increasing precedence: the defaults, the YAML file, the
 * environment, the flags. The flags must win, yet one of them (-c) names the
 * file, so argv is scanned first: syntax errors and the built-in flags are
 * handled at once, and the other assignments wait in a list that is applied
 * after the file and the environment. All layers hand text to one function,
 * set_value(), so "10s" means the same wherever it is written.
 *
 * The YAML file is read whole (up to WARD_CONFIG_FILE_MAX) and walked with
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
 *
 * Nothing here logs: every failure leaves one line in the caller's buffer.
 */
#include "common/config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/parse.h"

/* Values of the built-in flags, described by builtin_options like any other. */
struct builtins {
    char *config;
    bool check;
    bool help;
    bool version;
};

static const struct ward_option builtin_options[] = {
    {"config", 'c', WARD_CONFIG_ENV, WARD_OPT_STRING, offsetof(struct builtins, config), NULL, 0, 0,
     "FILE", "read settings from the YAML file FILE"},
    {"check-config", 0, NULL, WARD_OPT_BOOL, offsetof(struct builtins, check), NULL, 0, 0, NULL,
     "load and check the configuration, then exit"},
    {"help", 'h', NULL, WARD_OPT_BOOL, offsetof(struct builtins, help), NULL, 0, 0, NULL,
     "show this help and exit"},
    {"version", 'V', NULL, WARD_OPT_BOOL, offsetof(struct builtins, version), NULL, 0, 0, NULL,
     "show the version and exit"},
};

/* A flag from argv, applied after the file and the environment. */
struct assignment {
    const struct ward_option *opt;
    const char *value; /* borrowed from argv */
    bool is_short;
};

struct loader {
    const struct ward_program *prog;
    void *config;
    struct ward_buf *err;
    struct builtins builtin;
    struct assignment *flags;
    size_t n_flags, cap_flags;
};

/* Values quoted in messages are cut to this many bytes. */
#define QUOTE_MAX 64

/* Words longer than this get no "did you mean" suggestion. */
#define SUGGEST_MAX 64

/* Column where option descriptions start in --help, at most. */
#define HELP_COLUMN_MAX 34

static void loader_done(struct loader *l)
{
    free(l->builtin.config);
    free(l->flags);
}

static void buf_donep(struct ward_buf *b)
{
    ward_buf_done(b);
}

static void event_donep(yaml_event_t *e)
{
    yaml_event_delete(e);
}

/* Replaces the content of err with a message and returns code. */
__attribute__((format(printf, 3, 4))) static int fail(struct ward_buf *err, int code,
                                                      const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ward_buf_reset(err);
    ward_buf_vprintf(err, fmt, ap);
    va_end(ap);
    return code;
}

/* The character a name's character becomes in a YAML key. */
static char yaml_char(char c)
{
    return c == '-' ? '_' : c;
}

static const char *metavar(const struct ward_option *o)
{
    if (o->metavar)
        return o->metavar;
    switch (o->type) {
    case WARD_OPT_INT:
        return "N";
    case WARD_OPT_DURATION:
        return "DURATION";
    case WARD_OPT_DOUBLE:
        return "NUMBER";
    default:
        return "VALUE";
    }
}

static void bounds(const struct ward_option *o, int64_t *min, int64_t *max)
{
    bool unbounded = o->min == 0 && o->max == 0;
    *min = unbounded ? (o->type == WARD_OPT_DURATION ? 0 : INT64_MIN) : o->min;
    *max = unbounded ? INT64_MAX : o->max;
}

/* Writes a duration in the largest unit that divides it: 90000 is "90s", 3600000 is "1h". */
static void format_ms(int64_t ms, char *out, size_t size)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}};
    for (size_t i = 0; i < WARD_ARRAY_SIZE(units); i++) {
        if (ms != 0 && ms % units[i].ms == 0) {
            snprintf(out, size, "%" PRId64 "%s", ms / units[i].ms, units[i].unit);
            return;
        }
    }
    snprintf(out, size, "%" PRId64 "ms", ms);
}

/* Describes why text is not a valid value for o, for set_value(). */
static int bad_value(const struct ward_option *o, struct ward_buf *why, int code, const char *text)
{
    size_t n = strlen(text);
    ward_buf_printf(why, "'%.*s%s' ", (int)(n > QUOTE_MAX ? QUOTE_MAX : n), text,
                    n > QUOTE_MAX ? "..." : "");
    if (code == -EINVAL) {
        static const char *const expected[] = {
            [WARD_OPT_INT] = "is not an integer",
            [WARD_OPT_BOOL] = "is not a boolean (use true/false, yes/no, on/off or 1/0)",
            [WARD_OPT_DURATION] = "is not a duration (use e.g. 500ms, 10s, 5m, 1h, 1d; "
                                  "a plain number means seconds)",
            [WARD_OPT_DOUBLE] = "is not a number",
        };
        ward_buf_puts(why, expected[o->type]);
        return code;
    }
    ward_buf_puts(why, "is out of range");
    int64_t min, max;
    bounds(o, &min, &max);
    if (o->min == 0 && o->max == 0)
        return code;
    if (o->type == WARD_OPT_DURATION) {
        char lo[32], hi[32];
        format_ms(min, lo, sizeof(lo));
        format_ms(max, hi, sizeof(hi));
        ward_buf_printf(why, " (%s to %s)", lo, hi);
    } else {
        ward_buf_printf(why, " (%" PRId64 " to %" PRId64 ")", min, max);
    }
    return code;
}

/*
 * Parses text as the value of o and stores it in the field at base +
 * o->offset. Returns 0, -ENOMEM, or -EINVAL/-ERANGE after describing the
 * problem in why.
 */
static int set_value(const struct ward_option *o, void *base, const char *text,
                     struct ward_buf *why)
{
    void *field = (char *)base + o->offset;
    int64_t min, max, i;
    double d;
    bool b;
    int r;

    switch (o->type) {
    case WARD_OPT_STRING: {
        char *copy = strdup(text);
        if (!copy)
            return -ENOMEM;
        free(*(char **)field);
        *(char **)field = copy;
        return 0;
    }
    case WARD_OPT_BOOL:
        if (ward_parse_bool(text, &b) < 0)
            return bad_value(o, why, -EINVAL, text);
        *(bool *)field = b;
        return 0;
    case WARD_OPT_INT:
    case WARD_OPT_DURATION:
        bounds(o, &min, &max);
        r = o->type == WARD_OPT_INT ? ward_parse_int64(text, &i) : ward_parse_duration_ms(text, &i);
        if (r == 0 && (i < min || i > max))
            r = -ERANGE;
        if (r < 0)
            return bad_value(o, why, r, text);
        *(int64_t *)field = i;
        return 0;
    case WARD_OPT_DOUBLE:
        r = ward_parse_double(text, &d);
        if (r < 0)
            return bad_value(o, why, r, text);
        *(double *)field = d;
        return 0;
    }
    return -EINVAL;
}

/* Maps a set_value() failure to the code of the layer it came from. */
static int value_error(int r, int code)
{
    return r == -ENOMEM ? -ENOMEM : code;
}

/* Levenshtein distance with '-' and '_' counted as equal, or SIZE_MAX for long words. */
static size_t distance(const char *a, size_t na, const char *b, size_t nb)
{
    if (na > SUGGEST_MAX || nb > SUGGEST_MAX)
        return SIZE_MAX;
    size_t row[SUGGEST_MAX + 1];
    for (size_t j = 0; j <= nb; j++)
        row[j] = j;
    for (size_t i = 1; i <= na; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= nb; j++) {
            size_t up = row[j];
            size_t cost = yaml_char(a[i - 1]) != yaml_char(b[j - 1]);
            size_t best = diag + cost;
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[nb];
}

/* Keeps candidate in *best when it is the closest to word so far and close enough to suggest. */
static void consider(const char *word, size_t n, const char *candidate, size_t cn,
                     const char **best, size_t *best_len, size_t *best_d)
{
    size_t d = distance(word, n, candidate, cn);
    if (d <= 2 && d < n && d < *best_d) {
        *best = candidate;
        *best_len = cn;
        *best_d = d;
    }
}

/* Flags can name the built-in options, then the program's: index i of both tables together. */
static size_t n_known(const struct ward_program *prog)
{
    return WARD_ARRAY_SIZE(builtin_options) + prog->n_options;
}

static const struct ward_option *known(const struct ward_program *prog, size_t i)
{
    size_t nb = WARD_ARRAY_SIZE(builtin_options);
    return i < nb ? &builtin_options[i] : &prog->options[i - nb];
}

/* Finds the option a flag names: by the first n bytes of name, or by short_name if name is NULL. */
static const struct ward_option *find_flag(const struct ward_program *prog, const char *name,
                                           size_t n, char short_name, bool *builtin)
{
    for (size_t i = 0; i < n_known(prog); i++) {
        const struct ward_option *o = known(prog, i);
        if (name ? strlen(o->name) == n && memcmp(o->name, name, n) == 0
                 : o->short_name == short_name) {
            *builtin = i < WARD_ARRAY_SIZE(builtin_options);
            return o;
        }
    }
    return NULL;
}

static int unknown_long(struct loader *l, const char *name, size_t n)
{
    const char *best = NULL;
    size_t best_len = 0, best_d = SIZE_MAX;
    for (size_t i = 0; i < n_known(l->prog); i++) {
        const char *candidate = known(l->prog, i)->name;
        consider(name, n, candidate, strlen(candidate), &best, &best_len, &best_d);
    }
    int shown = (int)(n > QUOTE_MAX ? QUOTE_MAX : n);
    if (best)
        return fail(l->err, WARD_E_USAGE, "unknown option '--%.*s' (did you mean '--%.*s'?)", shown,
                    name, (int)best_len, best);
    return fail(l->err, WARD_E_USAGE, "unknown option '--%.*s'", shown, name);
}

/* Reports a bad flag value under the spelling the user typed. */
static int flag_error(struct loader *l, const struct ward_option *o, bool is_short, int r,
                      const struct ward_buf *why)
{
    if (is_short)
        return fail(l->err, value_error(r, WARD_E_USAGE), "option '-%c': %s", o->short_name,
                    why->data);
    return fail(l->err, value_error(r, WARD_E_USAGE), "option '--%s': %s", o->name, why->data);
}

/* Takes the value of one flag: built-in flags at once, the others later. */
static int take_flag(struct loader *l, const struct ward_option *o, bool builtin, const char *value,
                     bool is_short)
{
    if (!builtin) {
        if (l->n_flags == l->cap_flags) {
            size_t cap = l->cap_flags ? 2 * l->cap_flags : 16;
            struct assignment *p = reallocarray(l->flags, cap, sizeof(*p));
            if (!p)
                return fail(l->err, -ENOMEM, "out of memory");
            l->flags = p;
            l->cap_flags = cap;
        }
        l->flags[l->n_flags++] = (struct assignment){o, value, is_short};
        return 0;
    }
    _cleanup_(buf_donep) struct ward_buf why = WARD_BUF_INIT;
    int r = set_value(o, &l->builtin, value, &why);
    return r < 0 ? flag_error(l, o, is_short, r, &why) : 0;
}

/* Handles "--name", "--name=value" and "--name value" at argv[*i]. */
static int scan_long(struct loader *l, int argc, char **argv, int *i)
{
    const char *name = argv[*i] + 2;
    const char *eq = strchr(name, '=');
    size_t n = eq ? (size_t)(eq - name) : strlen(name);
    bool builtin;
    const struct ward_option *o = find_flag(l->prog, name, n, 0, &builtin);
    if (!o)
        return unknown_long(l, name, n);

    const char *value;
    if (eq)
        value = eq + 1;
    else if (o->type == WARD_OPT_BOOL)
        value = "true";
    else if (*i + 1 < argc)
        value = argv[++*i];
    else
        return fail(l->err, WARD_E_USAGE, "option '--%s' requires a value (--%s %s)", o->name,
                    o->name, metavar(o));
    ++*i;
    return take_flag(l, o, builtin, value, false);
}

/* Handles "-a value", "-avalue" and clusters of booleans such as "-rv" at argv[*i]. */
static int scan_short(struct loader *l, int argc, char **argv, int *i)
{
    for (const char *p = argv[*i] + 1; *p; p++) {
        bool builtin;
        const struct ward_option *o = find_flag(l->prog, NULL, 0, *p, &builtin);
        if (!o)
            return fail(l->err, WARD_E_USAGE, "unknown option '-%c'", *p);
        if (o->type == WARD_OPT_BOOL) {
            int r = take_flag(l, o, builtin, "true", true);
            if (r < 0)
                return r;
            continue;
        }
        const char *value;
        if (p[1])
            value = p + 1;
        else if (*i + 1 < argc)
            value = argv[++*i];
        else
            return fail(l->err, WARD_E_USAGE, "option '-%c' requires a value (-%c %s)", *p, *p,
                        metavar(o));
        ++*i;
        return take_flag(l, o, builtin, value, true);
    }
    ++*i;
    return 0;
}

/* Scans argv up to the first positional argument, which it stores in *first_arg. */
static int scan_flags(struct loader *l, int argc, char **argv, int *first_arg)
{
    int i = 1;
    while (i < argc) {
        const char *arg = argv[i];
        if (strcmp(arg, "--") == 0) {
            i++;
            break;
        }
        if (arg[0] != '-' || arg[1] == '\0')
            break;
        int r = arg[1] == '-' ? scan_long(l, argc, argv, &i) : scan_short(l, argc, argv, &i);
        if (r < 0)
            return r;
    }
    *first_arg = i < argc ? i : argc;
    return 0;
}

/* Checks the option table for mistakes that would make flags ambiguous. */
static int check_table(const struct ward_program *prog, struct ward_buf *err)
{
    for (size_t i = 0; i < prog->n_options; i++) {
        const struct ward_option *o = &prog->options[i];
        if (!o->name || !*o->name || o->name[0] == '-' || strchr(o->name, '=') ||
            (unsigned)o->type > WARD_OPT_DOUBLE || o->min > o->max)
            return fail(err, -EINVAL, "%s: option table: bad entry %zu (%s)", prog->name, i,
                        o->name ? o->name : "no name");
        if (o->short_name && (!isalnum((unsigned char)o->short_name) || o->short_name == '-'))
            return fail(err, -EINVAL, "%s: option table: bad short flag for '%s'", prog->name,
                        o->name);
        bool builtin;
        const struct ward_option *same = find_flag(prog, o->name, strlen(o->name), 0, &builtin);
        if (same != o)
            return fail(err, -EINVAL, "%s: option table: '--%s' is defined twice", prog->name,
                        o->name);
        same = o->short_name ? find_flag(prog, NULL, 0, o->short_name, &builtin) : o;
        if (same != o)
            return fail(err, -EINVAL, "%s: option table: '-%c' is used by '--%s' and '--%s'",
                        prog->name, o->short_name, same->name, o->name);
    }
    return 0;
}

static int apply_defaults(struct loader *l)
{
    _cleanup_(buf_donep) struct ward_buf why = WARD_BUF_INIT;
    for (size_t i = 0; i < l->prog->n_options; i++) {
        const struct ward_option *o = &l->prog->options[i];
        if (!o->def)
            continue;
        int r = set_value(o, l->config, o->def, &why);
        if (r < 0)
            return fail(l->err, value_error(r, -EINVAL), "%s: default of option '--%s': %s",
                        l->prog->name, o->name, why.data);
    }
    return 0;
}

static int apply_env(struct loader *l)
{
    _cleanup_(buf_donep) struct ward_buf why = WARD_BUF_INIT;
    for (size_t i = 0; i < l->prog->n_options; i++) {
        const struct ward_option *o = &l->prog->options[i];
        const char *v = o->env ? getenv(o->env) : NULL;
        if (!v || !*v)
            continue;
        int r = set_value(o, l->config, v, &why);
        if (r < 0)
            return fail(l->err, value_error(r, WARD_E_CONFIG), "environment variable %s: %s",
                        o->env, why.data);
    }
    return 0;
}

static int apply_flags(struct loader *l)
{
    _cleanup_(buf_donep) struct ward_buf why = WARD_BUF_INIT;
    for (size_t i = 0; i < l->n_flags; i++) {
        const struct assignment *a = &l->flags[i];
        int r = set_value(a->opt, l->config, a->value, &why);
        if (r < 0)
            return flag_error(l, a->opt, a->is_short, r, &why);
    }
    return 0;
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
    struct loader *l;
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
    struct ward_buf *err = y->l->err;
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
        return fail(y->l->err, -ENOMEM, "%s: out of memory", y->file);
    if (p->error == YAML_READER_ERROR)
        return fail(y->l->err, WARD_E_CONFIG, "%s: byte %zu: %s", y->file, p->problem_offset,
                    p->problem ? p->problem : "unreadable input");
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
    const struct ward_program *prog = y->l->prog;
    const char *path = y->key.data;
    size_t n = y->key.len;
    const struct ward_option *leaf = NULL;
    *section = false;
    for (size_t i = 0; i < prog->n_options; i++) {
        const char *name = prog->options[i].name;
        size_t len = strlen(name), j = 0;
        while (j < n && j < len && yaml_char(name[j]) == path[j])
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
    const struct ward_program *prog = y->l->prog;
    const char *word = y->key.data + prefix_len;
    size_t n = y->key.len - prefix_len;
    const char *best = NULL;
    size_t best_len = 0, best_d = SIZE_MAX;

    /* The candidates are the names one level below the enclosing section. */
    for (size_t i = 0; i < prog->n_options; i++) {
        const char *name = prog->options[i].name;
        size_t len = strlen(name), j = 0;
        while (j < prefix_len && j < len && yaml_char(name[j]) == y->key.data[j])
            j++;
        if (j < prefix_len)
            continue;
        const char *dot = strchr(name + j, '.');
        consider(word, n, name + j, dot ? (size_t)(dot - name - j) : len - j, &best, &best_len,
                 &best_d);
    }
    int shown = (int)(n > QUOTE_MAX ? QUOTE_MAX : n);
    int r = fail_at(y, key->start_mark, "unknown key '%.*s'", shown, word);
    if (prefix_len > 0)
        ward_buf_printf(y->l->err, " in '%.*s'", (int)(prefix_len - 1), y->key.data);
    if (best) {
        ward_buf_puts(y->l->err, " (did you mean '");
        for (size_t i = 0; i < best_len; i++)
            ward_buf_putc(y->l->err, yaml_char(best[i]));
        ward_buf_puts(y->l->err, "'?)");
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
    size_t idx = (size_t)(o - y->l->prog->options);
    if (y->seen_line[idx])
        return fail_at(y, key->start_mark, "duplicate key '%s' (first set on line %zu)",
                       y->key.data, y->seen_line[idx]);
    y->seen_line[idx] = key->start_mark.line + 1;

    _cleanup_(buf_donep) struct ward_buf why = WARD_BUF_INIT;
    int r = set_value(o, y->l->config, text, &why);
    if (r == -ENOMEM)
        return fail(y->l->err, r, "out of memory");
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
            return fail(y->l->err, r, "%s: key too long", y->file);
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

/* Loads the YAML file at path into the config. from_env says WARD_CONFIG named it. */
static int load_file(struct loader *l, const char *path, bool from_env)
{
    _cleanup_(buf_donep) struct ward_buf text = WARD_BUF_INIT;
    int r = read_file(path, &text);
    if (r == WARD_E_LIMIT)
        return fail(l->err, r, "%s: configuration file is larger than %d bytes", path,
                    WARD_CONFIG_FILE_MAX);
    if (r < 0)
        return fail(l->err, r, "cannot read configuration file '%s'%s: %s", path,
                    from_env ? " (named by " WARD_CONFIG_ENV ")" : "", ward_strerror(r));

    /*
     * The first pass only checks the syntax: events arrive as the parser
     * goes, and a syntax error must not be hidden behind a complaint about
     * a value that happened to come before it.
     */
    _cleanup_(reader_done) struct yaml_reader y = {.l = l, .file = path};
    y.seen_line = calloc(l->prog->n_options + 1, sizeof(*y.seen_line));
    if (!y.seen_line)
        return fail(l->err, -ENOMEM, "out of memory");
    for (int pass = 0; pass < 2; pass++) {
        if (y.parser_ready)
            yaml_parser_delete(&y.parser);
        y.parser_ready = yaml_parser_initialize(&y.parser);
        if (!y.parser_ready)
            return fail(l->err, -ENOMEM, "out of memory");
        yaml_parser_set_input_string(&y.parser, (const unsigned char *)(text.data ? text.data : ""),
                                     text.len);
        r = pass == 0 ? check_syntax(&y) : read_stream(&y);
        if (r < 0)
            return r;
    }
    return 0;
}

/* Sets every field of the table to zero, false or NULL, without freeing. */
static void zero_fields(const struct ward_program *prog, void *config)
{
    for (size_t i = 0; i < prog->n_options; i++) {
        void *field = (char *)config + prog->options[i].offset;
        switch (prog->options[i].type) {
        case WARD_OPT_STRING:
            *(char **)field = NULL;
            break;
        case WARD_OPT_INT:
        case WARD_OPT_DURATION:
            *(int64_t *)field = 0;
            break;
        case WARD_OPT_BOOL:
            *(bool *)field = false;
            break;
        case WARD_OPT_DOUBLE:
            *(double *)field = 0;
            break;
        }
    }
}

static int finish_output(FILE *out, struct ward_buf *err)
{
    if (fflush(out) != 0 || ferror(out))
        return fail(err, -EIO, "cannot write output: %s", ward_strerror(-EIO));
    return WARD_CONFIG_EXIT;
}

int ward_config_load_to(const struct ward_program *prog, void *config, int argc, char **argv,
                        FILE *out, int *first_arg, struct ward_buf *err)
{
    /* Messages need somewhere to go even when the caller does not want them. */
    _cleanup_(buf_donep) struct ward_buf scratch = WARD_BUF_INIT;
    if (!err)
        err = &scratch;
    _cleanup_(loader_done) struct loader l = {.prog = prog, .config = config, .err = err};
    int first, r;

    r = check_table(prog, err);
    if (r < 0)
        return r;
    zero_fields(prog, config);
    r = scan_flags(&l, argc, argv, &first);
    if (r < 0)
        return r;
    if (l.builtin.help) {
        r = ward_config_print_help(prog, out);
        if (r < 0)
            return fail(err, r, "cannot write help: %s", ward_strerror(r));
        *first_arg = first;
        return WARD_CONFIG_EXIT;
    }
    if (l.builtin.version) {
        fprintf(out, "%s %s\n", prog->name, prog->version);
        r = finish_output(out, err);
        if (r >= 0)
            *first_arg = first;
        return r;
    }

    const char *env_path = getenv(WARD_CONFIG_ENV);
    const char *path = l.builtin.config        ? l.builtin.config
                       : env_path && *env_path ? env_path
                                               : NULL;
    r = apply_defaults(&l);
    if (r >= 0 && path)
        r = load_file(&l, path, !l.builtin.config);
    if (r >= 0)
        r = apply_env(&l);
    if (r >= 0)
        r = apply_flags(&l);
    if (r < 0) {
        ward_config_done(prog, config);
        return r;
    }
    if (l.builtin.check) {
        ward_config_done(prog, config);
        fprintf(out, "%s: configuration OK (%s)\n", prog->name,
                path ? path : "no configuration file");
        r = finish_output(out, err);
        if (r >= 0)
            *first_arg = first;
        return r;
    }
    *first_arg = first;
    return WARD_CONFIG_RUN;
}

int ward_config_load(const struct ward_program *prog, void *config, int argc, char **argv,
                     int *first_arg, struct ward_buf *err)
{
    return ward_config_load_to(prog, config, argc, argv, stdout, first_arg, err);
}

void ward_config_done(const struct ward_program *prog, void *config)
{
    for (size_t i = 0; i < prog->n_options; i++) {
        if (prog->options[i].type != WARD_OPT_STRING)
            continue;
        char **slot = (char **)((char *)config + prog->options[i].offset);
        free(*slot);
        *slot = NULL;
    }
}

/* Length of the left column of an option's help line: "  -a, --address ADDR". */
static size_t help_left_len(const struct ward_option *o)
{
    return 8 + strlen(o->name) + (o->type == WARD_OPT_BOOL ? 0 : 1 + strlen(metavar(o)));
}

static void help_line(FILE *out, const struct ward_option *o, size_t width)
{
    if (o->short_name)
        fprintf(out, "  -%c, --%s", o->short_name, o->name);
    else
        fprintf(out, "      --%s", o->name);
    if (o->type != WARD_OPT_BOOL)
        fprintf(out, " %s", metavar(o));
    size_t left = help_left_len(o);
    fprintf(out, "%*s%s", (int)(left + 2 <= width ? width - left : 2), "", o->help ? o->help : "");

    bool has_def = o->def && *o->def;
    if (o->env && has_def)
        fprintf(out, " (env %s, default %s)", o->env, o->def);
    else if (o->env)
        fprintf(out, " (env %s)", o->env);
    else if (has_def)
        fprintf(out, " (default %s)", o->def);
    fputc('\n', out);
}

int ward_config_print_help(const struct ward_program *prog, FILE *out)
{
    /* Descriptions line up after the longest flag, unless that one is very long. */
    size_t width = 0;
    bool durations = false;
    for (size_t i = 0; i < n_known(prog); i++) {
        size_t n = help_left_len(known(prog, i)) + 2;
        width = n > width ? n : width;
        durations |= known(prog, i)->type == WARD_OPT_DURATION;
    }
    width = width > HELP_COLUMN_MAX ? HELP_COLUMN_MAX : width;

    fprintf(out, "Usage: %s [OPTION]...%s%s\n", prog->name, prog->usage_tail ? " " : "",
            prog->usage_tail ? prog->usage_tail : "");
    if (prog->summary)
        fprintf(out, "%s\n", prog->summary);
    fputs("\nOptions:\n", out);
    for (size_t i = 0; i < prog->n_options; i++)
        help_line(out, &prog->options[i], width);
    for (size_t i = 0; i < WARD_ARRAY_SIZE(builtin_options); i++)
        help_line(out, &builtin_options[i], width);

    fputs("\nFlags override the environment, which overrides the configuration file, which\n"
          "overrides the defaults. In the file, each option is a key named like its long\n"
          "flag with '_' for '-' (--poll-interval is poll_interval).\n",
          out);
    if (durations)
        fputs("Durations take a unit (500ms, 10s, 5m, 1h, 1d); a plain number means seconds.\n",
              out);
    if (fflush(out) != 0 || ferror(out))
        return -EIO;
    return 0;
}
