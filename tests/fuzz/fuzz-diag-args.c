/*
 * libFuzzer target for the diagnostics' argument checks (common/diag.h).
 *
 * The input is a command as text: a diagnostic's name on the first line,
 * then "name=value" lines (split at the first '='; a value may hold any
 * byte but '\n', and an embedded NUL ends it early, as it would in C). Each
 * is fed to ward_diag_set(), then the command to ward_diag_complete().
 *
 * Whatever is accepted must be safe to hand to a program's argv: every
 * accepted value, and every value of a command that ward_diag_complete()
 * passes, is checked against invariants written here independently of
 * diag.c's patterns (no leading '-', printable ASCII only, no shell
 * metacharacter, hosts without '/', paths absolute without "." or ".."
 * components or "//", integers within bounds), and must check again as
 * valid. A violation aborts.
 */
#include "common/buf.h"
#include "common/diag.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bytes that mean something to a shell, none of which any kind admits. */
#define SHELL_META ";|&$`<>(){}!*?'\"\\"

/* Longer inputs only repeat what shorter ones test. */
#define MAX_INPUT 8192

static void violation(const char *what, const char *name, const char *value)
{
    fprintf(stderr, "fuzz-diag-args: %s: %s='%s'\n", what, name, value);
    abort();
}

static bool has_component(const char *path, const char *c)
{
    size_t n = strlen(c);
    for (const char *p = path; (p = strstr(p, c)) != NULL; p++)
        if (p[n] == '/' || p[n] == '\0')
            if (p == path || p[-1] == '/')
                return true;
    return false;
}

/* The invariants of one accepted value, independent of diag.c's own patterns. */
static void check_value(const struct ward_diag_arg_spec *spec, const char *value)
{
    const char *name = spec->name;
    size_t n = strlen(value);
    if (!ward_diag_valid(spec, value))
        violation("accepted value does not check again", name, value);
    if (n > WARD_DIAG_ARG_MAX)
        violation("too long", name, value);
    if (value[0] == '-')
        violation("leading '-'", name, value);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)value[i];
        if (c < 0x20 || c > 0x7e)
            violation("control or non-ASCII byte", name, value);
        if (strchr(SHELL_META, c))
            violation("shell metacharacter", name, value);
    }
    switch (spec->kind) {
    case WARD_DIAG_ARG_HOST:
        if (n == 0 || strchr(value, '/') || strchr(value, ' ') || strchr(value, '%') ||
            strchr(value, '['))
            violation("host with '/', ' ', '%' or '['", name, value);
        break;
    case WARD_DIAG_ARG_HOST_PORT: {
        char host[WARD_DIAG_ARG_MAX + 1];
        unsigned port = 0;
        if (strchr(value, '/') || strchr(value, ' ') || strchr(value, '%'))
            violation("host:port with '/', ' ' or '%'", name, value);
        if (ward_diag_split_host_port(value, host, sizeof(host), &port) != 0)
            violation("accepted host:port does not split", name, value);
        if (port < 1 || port > 65535 || host[0] == '\0' || host[0] == '-')
            violation("bad port or host after split", name, value);
        break;
    }
    case WARD_DIAG_ARG_PATH:
        if (value[0] != '/')
            violation("relative path", name, value);
        if (strstr(value, "//") || strstr(value, "/../") || strstr(value, "/./") ||
            has_component(value, "..") || has_component(value, "."))
            violation("path with an empty, '.' or '..' component", name, value);
        if (n >= 3 && strcmp(value + n - 3, "/..") == 0)
            violation("path ending in /..", name, value);
        if (n > 1 && value[n - 1] == '/')
            violation("path ending in '/'", name, value);
        break;
    case WARD_DIAG_ARG_INT: {
        if (n == 0 || n > 18)
            violation("integer length", name, value);
        int64_t v = 0;
        for (size_t i = 0; i < n; i++) {
            if (value[i] < '0' || value[i] > '9')
                violation("integer with a non-digit", name, value);
            v = v * 10 + (value[i] - '0');
        }
        if (v < spec->min || v > spec->max)
            violation("integer out of bounds", name, value);
        if (n > 1 && value[0] == '0')
            violation("integer with a leading zero", name, value);
        break;
    }
    case WARD_DIAG_ARG_WORD: {
        bool found = false;
        for (const char *const *w = spec->words; w && *w; w++)
            found = found || strcmp(*w, value) == 0;
        if (!found)
            violation("word not in the list", name, value);
        break;
    }
    case WARD_DIAG_ARG_UNIT:
        if (strchr(value, '/') || strchr(value, ' '))
            violation("unit with '/' or ' '", name, value);
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAX_INPUT)
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    char *end = text + size;
    char *nl = memchr(text, '\n', size);
    char *line = nl ? nl + 1 : end;
    if (nl)
        *nl = '\0';
    enum ward_diag_type type;
    if (ward_diag_type_of(text, &type) != 0) {
        free(text);
        return 0;
    }
    struct ward_diag_args a;
    if (ward_diag_init(type, &a) != 0)
        abort();
    const struct ward_diag_spec *spec = ward_diag_spec(type);
    if (!spec)
        abort();
    /* Right after init, every argument holds its default, which must pass too. */
    for (size_t i = 0; i < spec->n_args; i++)
        if (spec->args[i].def)
            check_value(&spec->args[i], a.values[i]);

    struct ward_buf err = WARD_BUF_INIT;
    while (line < end) {
        nl = memchr(line, '\n', (size_t)(end - line));
        char *next = nl ? nl + 1 : end;
        if (nl)
            *nl = '\0';
        char *eq = strchr(line, '=');
        if (eq) {
            *eq = '\0';
            const char *name = line, *value = eq + 1;
            struct ward_diag_args before = a;
            ward_buf_reset(&err);
            int r = ward_diag_set(&a, name, value, &err);
            int k = -1;
            for (size_t i = 0; i < spec->n_args; i++)
                if (strcmp(spec->args[i].name, name) == 0)
                    k = (int)i;
            if (r == 0) {
                if (k < 0)
                    violation("unknown argument accepted", name, value);
                check_value(&spec->args[k], value);
                if (strcmp(ward_diag_get(&a, name), value) != 0)
                    violation("accepted value not stored", name, value);
            } else {
                if (r != -EINVAL || err.len == 0 || memcmp(&before, &a, sizeof(a)) != 0)
                    violation("refusal changed the command or said nothing", name, value);
                for (size_t i = 0; i < err.len; i++)
                    if ((unsigned char)err.data[i] < 0x20 || (unsigned char)err.data[i] > 0x7e)
                        violation("unprintable byte in the message", name, value);
                if (k >= 0 && ward_diag_valid(&spec->args[k], value))
                    violation("set refused what valid accepts", name, value);
            }
        }
        line = next;
    }

    ward_buf_reset(&err);
    if (ward_diag_complete(&a, &err) == 0) {
        for (size_t i = 0; i < spec->n_args; i++) {
            check_value(&spec->args[i], a.values[i]);
            if (!spec->args[i].def && !a.values[i][0])
                violation("complete without a required argument", spec->args[i].name, "");
            if (spec->args[i].kind == WARD_DIAG_ARG_INT &&
                (ward_diag_get_int(&a, spec->args[i].name) < spec->args[i].min ||
                 ward_diag_get_int(&a, spec->args[i].name) > spec->args[i].max))
                violation("get_int out of bounds", spec->args[i].name, a.values[i]);
        }
    } else if (err.len == 0) {
        violation("incomplete command without a message", spec->name, "");
    }
    ward_buf_done(&err);
    free(text);
    return 0;
}
