/*
 * Program configuration: one option table per program.
 *
 * A program describes each setting once, in a const array of struct
 * ward_option, and points it at a field of its own config struct. From that
 * table ward_config_load() fills the struct from four layers, each overriding
 * the one before: the option's default, the YAML configuration file, the
 * environment, and the command-line flags. The same table produces --help.
 *
 * Every program gets four built-in flags: -c/--config FILE (or the
 * environment variable WARD_CONFIG), -h/--help, -V/--version and
 * --check-config.
 *
 * Example:
 *
 *     struct agent_config { char *address; int64_t interval_ms; bool once; };
 *
 *     static const struct ward_option agent_options[] = {
 *         {"address", 'a', "ADDRESS", WARD_OPT_STRING,
 *          offsetof(struct agent_config, address), "localhost:8080", 0, 0,
 *          "ADDR", "server address"},
 *         {"report-interval", 'r', "REPORT_INTERVAL", WARD_OPT_DURATION,
 *          offsetof(struct agent_config, interval_ms), "10s", 1000, 86400000,
 *          NULL, "how often to send metrics"},
 *     };
 */
#ifndef WARD_CONFIG_H
#define WARD_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/buf.h"

/* Largest configuration file that is read, in bytes. */
#define WARD_CONFIG_FILE_MAX (1024 * 1024)

/* Deepest nesting of YAML mappings that is accepted in a configuration file. */
#define WARD_CONFIG_DEPTH_MAX 8

/* Environment variable naming the configuration file when -c is not given. */
#define WARD_CONFIG_ENV "WARD_CONFIG"

/* The C type of the field an option writes, and how its text is parsed. */
enum ward_opt_type {
    WARD_OPT_STRING,   /* char *, owned by the config struct; freed by ward_config_done() */
    WARD_OPT_INT,      /* int64_t, base 10 */
    WARD_OPT_BOOL,     /* bool: true/false, yes/no, on/off, 1/0 */
    WARD_OPT_DURATION, /* int64_t milliseconds: 10s, 500ms, 5m, 1h, 1d; a plain number is seconds */
    WARD_OPT_DOUBLE,   /* double */
};

/*
 * One setting of a program.
 *
 * name is the long flag (--name) and, with every '-' replaced by '_', the key
 * in the YAML file: --poll-interval is poll_interval in YAML. A name may
 * contain dots to place its key in nested YAML mappings: the option
 * "collectors.cpu.interval" is the flag --collectors.cpu.interval and the key
 * interval in the mapping cpu in the mapping collectors.
 *
 * min and max bound INT and DURATION values; to bound one side only, give the
 * other side as INT64_MIN or INT64_MAX. An unbounded DURATION is still never
 * negative.
 */
struct ward_option {
    const char *name; /* long flag and YAML key, see above; never NULL */
    char short_name;  /* one-letter flag, 0 for none */
    const char *env;  /* environment variable, NULL for none */
    enum ward_opt_type type;
    size_t offset;       /* offsetof() the field in the program's config struct */
    const char *def;     /* default, as text parsed like any other source; NULL = 0/false/NULL */
    int64_t min, max;    /* inclusive bounds for INT and DURATION (ms); both 0 = unbounded */
    const char *metavar; /* name of the value in --help, e.g. "ADDR"; NULL picks one by type */
    const char *help;    /* one line for --help */
    /* STRING only: NULL-terminated list of the accepted values, or NULL for any. */
    const char *const *choices;
};

/* What a program tells ward_config_load() about itself. */
struct ward_program {
    const char *name;    /* "ward-agent"; used in --help, --version, --check-config */
    const char *version; /* printed by --version */
    const char *summary; /* one sentence for --help */
    /* Text after "[OPTION]..." in the usage line, e.g. "[COMMAND]", or NULL. */
    const char *usage_tail;
    const struct ward_option *options;
    size_t n_options;
};

/* Non-negative results of ward_config_load(). */
enum {
    WARD_CONFIG_RUN = 0,  /* configuration loaded; the program goes on */
    WARD_CONFIG_EXIT = 1, /* --help, --version or --check-config printed; exit with status 0 */
};

/*
 * Fills config from the option table of prog: first every option's default,
 * then the YAML file named by -c/--config (or by WARD_CONFIG when no flag
 * names one), then the environment, then the flags in argv. An empty
 * environment variable counts as unset. Option parsing stops at "--" or at
 * the first argument that does not start with '-', so a program can take a
 * subcommand and its own arguments after its options.
 *
 * config must point to the program's config struct. Every field named in the
 * table is overwritten (not freed) before loading starts.
 *
 * --help and --version print to stdout without reading the file or the
 * environment. --check-config loads everything and prints
 * "PROG: configuration OK (FILE)" to stdout.
 *
 * Returns:
 *   WARD_CONFIG_RUN   config is filled; *first_arg is the index in argv of the
 *                     first positional argument, or argc if there is none.
 *                     The caller frees config with ward_config_done().
 *   WARD_CONFIG_EXIT  a built-in flag printed its output; the program should
 *                     exit with status 0. config holds no allocations;
 *                     *first_arg is set as for WARD_CONFIG_RUN.
 *   WARD_E_USAGE      a flag is unknown, lacks its value, or has a bad value.
 *   WARD_E_CONFIG     the file or an environment variable holds something
 *                     invalid (syntax, unknown key, wrong type, bad value).
 *   WARD_E_LIMIT      the file is larger than WARD_CONFIG_FILE_MAX.
 *   -errno            the file cannot be read (-ENOENT, -EACCES, ...);
 *                     -EINVAL for a broken option table or default; -ENOMEM;
 *                     -EIO when writing the output fails.
 *
 * On every error, one line without a trailing newline replaces the content of
 * err (which may be NULL to discard it): "FILE:LINE:COLUMN: ..." for problems
 * in the YAML file, otherwise a message naming the flag or the environment
 * variable. The caller prints it, prefixed with the program name, and exits
 * with status 1. config then holds no allocations and need not be passed to
 * ward_config_done(), and *first_arg is not written.
 */
int ward_config_load(const struct ward_program *prog, void *config, int argc, char **argv,
                     int *first_arg, struct ward_buf *err);

/*
 * Same as ward_config_load(), but writes the output of --help, --version and
 * --check-config to out instead of stdout.
 */
int ward_config_load_to(const struct ward_program *prog, void *config, int argc, char **argv,
                        FILE *out, int *first_arg, struct ward_buf *err);

/*
 * The start of every program's main(): ward_config_load() plus what each
 * program would do with its result. When the program should not go on it
 * prints the reason to stderr, prefixed with the program's name, frees what
 * was loaded, and returns the exit status: 0 after --help, --version or
 * --check-config, 2 for bad usage, 1 for a bad configuration. A program
 * without usage_tail takes no positional arguments, and one is bad usage.
 * Returns -1 when the program should run; config is then loaded and
 * *first_arg set, and the caller frees config with ward_config_done().
 */
int ward_config_main(const struct ward_program *prog, void *config, int argc, char **argv,
                     int *first_arg);

/*
 * Frees the strings of config that ward_config_load() allocated and sets
 * those fields to NULL. Other fields are left as they are. Calling it twice,
 * or on a config that holds no allocations, is harmless.
 */
void ward_config_done(const struct ward_program *prog, void *config);

/*
 * Writes the --help text of prog to out: the usage line, the summary, one
 * line per option with its environment variable and default, then the
 * built-in flags. Returns 0, or -EIO if writing failed.
 */
int ward_config_print_help(const struct ward_program *prog, FILE *out);

#endif
