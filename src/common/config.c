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
 * ward_config_set_value(), so "10s" means the same wherever it is written.
 *
 * This file holds the table logic: checking the table, the defaults, the
 * environment, the flags, --help, --version and --check-config. Reading the
 * YAML file is its own concern and lives in config-yaml.c, which reaches the
 * value parser, the error helper and the "did you mean" search through
 * config-internal.h.
 *
 * Nothing here logs: every failure leaves one line in the caller's buffer.
 */
#include "common/config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/config-internal.h"
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
     "FILE", "read settings from the YAML file FILE", NULL},
    {"check-config", 0, NULL, WARD_OPT_BOOL, offsetof(struct builtins, check), NULL, 0, 0, NULL,
     "load and check the configuration, then exit", NULL},
    {"help", 'h', NULL, WARD_OPT_BOOL, offsetof(struct builtins, help), NULL, 0, 0, NULL,
     "show this help and exit", NULL},
    {"version", 'V', NULL, WARD_OPT_BOOL, offsetof(struct builtins, version), NULL, 0, 0, NULL,
     "show the version and exit", NULL},
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

/* Words longer than this get no "did you mean" suggestion. */
#define SUGGEST_MAX 64

/* Column where option descriptions start in --help, at most. */
#define HELP_COLUMN_MAX 34

static void loader_done(struct loader *l)
{
    free(l->builtin.config);
    free(l->flags);
}

/* Shared with config-yaml.c; see config-internal.h. */
int ward_config_fail(struct ward_buf *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ward_buf_reset(err);
    ward_buf_vprintf(err, fmt, ap);
    va_end(ap);
    return code;
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

static bool is_choice(const char *const *choices, const char *text)
{
    for (; *choices; choices++)
        if (strcmp(*choices, text) == 0)
            return true;
    return false;
}

/* Describes why text is not a valid value for o, for ward_config_set_value(). */
static int bad_value(const struct ward_option *o, struct ward_buf *why, int code, const char *text)
{
    size_t n = strlen(text);
    ward_buf_printf(why, "'%.*s%s' ", (int)(n > WARD_CONFIG_QUOTE_MAX ? WARD_CONFIG_QUOTE_MAX : n),
                    text, n > WARD_CONFIG_QUOTE_MAX ? "..." : "");
    if (o->type == WARD_OPT_STRING) {
        ward_buf_puts(why, "is not one of:");
        for (const char *const *c = o->choices; *c; c++)
            ward_buf_printf(why, "%s %s", c == o->choices ? "" : ",", *c);
        return code;
    }
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

/* Shared with config-yaml.c; see config-internal.h. */
int ward_config_set_value(const struct ward_option *o, void *base, const char *text,
                          struct ward_buf *why)
{
    void *field = (char *)base + o->offset;
    int64_t min, max, i;
    double d;
    bool b;
    int r;

    switch (o->type) {
    case WARD_OPT_STRING: {
        if (o->choices && !is_choice(o->choices, text))
            return bad_value(o, why, -EINVAL, text);
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

/* Maps a ward_config_set_value() failure to the code of the layer it came from. */
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
            size_t cost = ward_config_yaml_char(a[i - 1]) != ward_config_yaml_char(b[j - 1]);
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

/* Shared with config-yaml.c; see config-internal.h. */
void ward_config_consider(const char *word, size_t n, const char *candidate, size_t cn,
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
        ward_config_consider(name, n, candidate, strlen(candidate), &best, &best_len, &best_d);
    }
    int shown = (int)(n > WARD_CONFIG_QUOTE_MAX ? WARD_CONFIG_QUOTE_MAX : n);
    if (best)
        return ward_config_fail(l->err, WARD_E_USAGE,
                                "unknown option '--%.*s' (did you mean '--%.*s'?)", shown, name,
                                (int)best_len, best);
    return ward_config_fail(l->err, WARD_E_USAGE, "unknown option '--%.*s'", shown, name);
}

/* Reports a bad flag value under the spelling the user typed. */
static int flag_error(struct loader *l, const struct ward_option *o, bool is_short, int r,
                      const struct ward_buf *why)
{
    if (is_short)
        return ward_config_fail(l->err, value_error(r, WARD_E_USAGE), "option '-%c': %s",
                                o->short_name, why->data);
    return ward_config_fail(l->err, value_error(r, WARD_E_USAGE), "option '--%s': %s", o->name,
                            why->data);
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
                return ward_config_fail(l->err, -ENOMEM, "out of memory");
            l->flags = p;
            l->cap_flags = cap;
        }
        l->flags[l->n_flags++] = (struct assignment){o, value, is_short};
        return 0;
    }
    _cleanup_(ward_config_buf_donep) struct ward_buf why = WARD_BUF_INIT;
    int r = ward_config_set_value(o, &l->builtin, value, &why);
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
        return ward_config_fail(l->err, WARD_E_USAGE, "option '--%s' requires a value (--%s %s)",
                                o->name, o->name, metavar(o));
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
            return ward_config_fail(l->err, WARD_E_USAGE, "unknown option '-%c'", *p);
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
            return ward_config_fail(l->err, WARD_E_USAGE, "option '-%c' requires a value (-%c %s)",
                                    *p, *p, metavar(o));
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
            return ward_config_fail(err, -EINVAL, "%s: option table: bad entry %zu (%s)",
                                    prog->name, i, o->name ? o->name : "no name");
        if (o->short_name && (!isalnum((unsigned char)o->short_name) || o->short_name == '-'))
            return ward_config_fail(err, -EINVAL, "%s: option table: bad short flag for '%s'",
                                    prog->name, o->name);
        bool builtin;
        const struct ward_option *same = find_flag(prog, o->name, strlen(o->name), 0, &builtin);
        if (same != o)
            return ward_config_fail(err, -EINVAL, "%s: option table: '--%s' is defined twice",
                                    prog->name, o->name);
        same = o->short_name ? find_flag(prog, NULL, 0, o->short_name, &builtin) : o;
        if (same != o)
            return ward_config_fail(err, -EINVAL,
                                    "%s: option table: '-%c' is used by '--%s' and '--%s'",
                                    prog->name, o->short_name, same->name, o->name);
    }
    return 0;
}

static int apply_defaults(struct loader *l)
{
    _cleanup_(ward_config_buf_donep) struct ward_buf why = WARD_BUF_INIT;
    for (size_t i = 0; i < l->prog->n_options; i++) {
        const struct ward_option *o = &l->prog->options[i];
        if (!o->def)
            continue;
        int r = ward_config_set_value(o, l->config, o->def, &why);
        if (r < 0)
            return ward_config_fail(l->err, value_error(r, -EINVAL),
                                    "%s: default of option '--%s': %s", l->prog->name, o->name,
                                    why.data);
    }
    return 0;
}

static int apply_env(struct loader *l)
{
    _cleanup_(ward_config_buf_donep) struct ward_buf why = WARD_BUF_INIT;
    for (size_t i = 0; i < l->prog->n_options; i++) {
        const struct ward_option *o = &l->prog->options[i];
        const char *v = o->env ? getenv(o->env) : NULL;
        if (!v || !*v)
            continue;
        int r = ward_config_set_value(o, l->config, v, &why);
        if (r < 0)
            return ward_config_fail(l->err, value_error(r, WARD_E_CONFIG),
                                    "environment variable %s: %s", o->env, why.data);
    }
    return 0;
}

static int apply_flags(struct loader *l)
{
    _cleanup_(ward_config_buf_donep) struct ward_buf why = WARD_BUF_INIT;
    for (size_t i = 0; i < l->n_flags; i++) {
        const struct assignment *a = &l->flags[i];
        int r = ward_config_set_value(a->opt, l->config, a->value, &why);
        if (r < 0)
            return flag_error(l, a->opt, a->is_short, r, &why);
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
        return ward_config_fail(err, -EIO, "cannot write output: %s", ward_strerror(-EIO));
    return WARD_CONFIG_EXIT;
}

int ward_config_load_to(const struct ward_program *prog, void *config, int argc, char **argv,
                        FILE *out, int *first_arg, struct ward_buf *err)
{
    /* Messages need somewhere to go even when the caller does not want them. */
    _cleanup_(ward_config_buf_donep) struct ward_buf scratch = WARD_BUF_INIT;
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
            return ward_config_fail(err, r, "cannot write help: %s", ward_strerror(r));
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
        r = ward_config_load_file(prog, config, path, !l.builtin.config, err);
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

int ward_config_main(const struct ward_program *prog, void *config, int argc, char **argv,
                     int *first_arg)
{
    struct ward_buf err = WARD_BUF_INIT;
    int r = ward_config_load(prog, config, argc, argv, first_arg, &err);
    if (r < 0)
        fprintf(stderr, "%s: %s\n", prog->name, err.data ? err.data : ward_strerror(r));
    ward_buf_done(&err);
    if (r == WARD_CONFIG_EXIT)
        return 0;
    if (r < 0)
        return r == WARD_E_USAGE ? 2 : 1;
    if (!prog->usage_tail && *first_arg < argc) {
        fprintf(stderr, "%s: unexpected argument '%s' (see --help)\n", prog->name,
                argv[*first_arg]);
        ward_config_done(prog, config);
        return 2;
    }
    return -1;
}
