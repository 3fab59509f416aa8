/*
 * The diagnostics' names, arguments and argument patterns (diag.h).
 *
 * Each pattern is checked by hand over the whole string, character by
 * character: there is no regular expression engine to get wrong, and a
 * value either matches from its first byte to its last or is refused.
 */
#include "common/diag.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *const severities[] = {"emerg",  "alert", "crit",  "err", "warning",
                                         "notice", "info",  "debug", NULL};
static const char *const protos[] = {"all", "tcp", "udp", NULL};
static const char *const states[] = {"all", "listen", "established", NULL};
static const char *const trace_protos[] = {"udp", "icmp", NULL};

#define INT_ARG(n, d, lo, hi, h)                                                                   \
    {                                                                                              \
        .name = n, .kind = WARD_DIAG_ARG_INT, .def = d, .min = lo, .max = hi, .help = h            \
    }
#define WORD_ARG(n, d, w, h)                                                                       \
    {                                                                                              \
        .name = n, .kind = WARD_DIAG_ARG_WORD, .def = d, .words = w, .help = h                     \
    }

static const struct ward_diag_spec specs[WARD_DIAG_N] = {
    [WARD_DIAG_LOGS] = {"logs",
                        "recent entries of the system journal (or /var/log) at a severity or worse",
                        3,
                        {WORD_ARG("severity", "warning", severities,
                                  "the least severe level shown"),
                         INT_ARG("lines", "100", 1, 1000, "entries, newest last"),
                         {.name = "unit",
                          .kind = WARD_DIAG_ARG_UNIT,
                          .def = "",
                          .help = "only this systemd unit"}}},
    [WARD_DIAG_DISK_USAGE] =
        {"disk_usage",
         "the largest files and directories under a path, on its filesystem",
         2,
         {{.name = "path", .kind = WARD_DIAG_ARG_PATH, .def = "/", .help = "an absolute path"},
          INT_ARG("top_n", "10", 1, 100, "entries of each list")}},
    [WARD_DIAG_MOUNTS] = {"mounts", "the mounted filesystems, with their size and use", 0, {{0}}},
    [WARD_DIAG_PING] =
        {"ping",
         "ICMP echo to a host",
         3,
         {{.name = "target", .kind = WARD_DIAG_ARG_HOST, .help = "a host name or IP"},
          INT_ARG("count", "4", 1, 10, "echo requests"),
          INT_ARG("timeout", "5", 1, 30, "seconds for the whole run")}},
    [WARD_DIAG_CONNECT] =
        {"connect",
         "a TCP connection to HOST:PORT, with its latency or error",
         2,
         {{.name = "target", .kind = WARD_DIAG_ARG_HOST_PORT, .help = "HOST:PORT or [IPV6]:PORT"},
          INT_ARG("timeout", "5", 1, 30, "seconds")}},
    [WARD_DIAG_NETSTAT] = {"netstat",
                           "sockets from /proc/net with their owning processes",
                           2,
                           {WORD_ARG("proto", "all", protos, "all, tcp or udp"),
                            WORD_ARG("state", "all", states, "all, listen or established")}},
    [WARD_DIAG_TRACEROUTE] =
        {"traceroute",
         "the routers on the path to a host",
         3,
         {{.name = "target", .kind = WARD_DIAG_ARG_HOST, .help = "a host name or IP"},
          INT_ARG("max_hops", "20", 1, 30, "the largest TTL tried"),
          WORD_ARG("proto", "udp", trace_protos, "udp or icmp probes")}},
};

const struct ward_diag_spec *ward_diag_spec(enum ward_diag_type type)
{
    return (unsigned)type < WARD_DIAG_N ? &specs[type] : NULL;
}

const char *ward_diag_name(enum ward_diag_type type)
{
    return (unsigned)type < WARD_DIAG_N ? specs[type].name : "";
}

int ward_diag_type_of(const char *name, enum ward_diag_type *out)
{
    if (!name)
        return -ENOENT;
    if (strcmp(name, "disk") == 0) {
        *out = WARD_DIAG_DISK_USAGE;
        return 0;
    }
    for (unsigned i = 0; i < WARD_DIAG_N; i++)
        if (strcmp(name, specs[i].name) == 0) {
            *out = (enum ward_diag_type)i;
            return 0;
        }
    return -ENOENT;
}

int ward_diag_init(enum ward_diag_type type, struct ward_diag_args *out)
{
    const struct ward_diag_spec *spec = ward_diag_spec(type);
    if (!spec)
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    out->type = type;
    for (size_t i = 0; i < spec->n_args; i++)
        if (spec->args[i].def)
            snprintf(out->values[i], sizeof(out->values[i]), "%s", spec->args[i].def);
    return 0;
}

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* RFC 1123 host name: dot-separated labels of [A-Za-z0-9-], 1 to 63 long, no '-' at either end. */
static bool valid_hostname(const char *s, size_t n)
{
    if (n == 0 || n > 253)
        return false;
    size_t label = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '.') {
            if (label == 0 || s[i - 1] == '-')
                return false;
            label = 0;
        } else if (is_alnum(c) || c == '-') {
            if (c == '-' && label == 0)
                return false;
            if (++label > 63)
                return false;
        } else {
            return false;
        }
    }
    return label > 0 && s[n - 1] != '-';
}

static bool only(const char *s, size_t n, const char *set)
{
    for (size_t i = 0; i < n; i++)
        if (!strchr(set, s[i]) || s[i] == '\0')
            return false;
    return true;
}

static bool valid_ip(const char *s, size_t n, int family)
{
    char copy[INET6_ADDRSTRLEN + 1];
    if (n == 0 || n >= sizeof(copy))
        return false;
    memcpy(copy, s, n);
    copy[n] = '\0';
    unsigned char addr[16];
    return inet_pton(family, copy, addr) == 1;
}

/*
 * True when the resolver would read s as an IPv4 address in one of the
 * old inet_aton() forms ("0x7f000001", "0x7f.1", "127.1"): getaddrinfo()
 * takes those as numbers, not names, so a "host name" in that shape would
 * not be the host it looks like.
 */
static bool numeric_legacy(const char *s, size_t n)
{
    char copy[WARD_DIAG_ARG_MAX + 1];
    if (n >= sizeof(copy))
        return false;
    memcpy(copy, s, n);
    copy[n] = '\0';
    struct in_addr addr;
    return inet_aton(copy, &addr) != 0;
}

/*
 * A host: a bare IPv6 address (no zone id, no brackets: those belong to
 * HOST:PORT only), an IPv4 address in dotted-quad form (so "1.2.3",
 * "0x7f.1" and "0x7f000001" are refused, not guessed at), or a host name
 * whose last label is not all digits and which has no trailing dot.
 */
static bool valid_host(const char *s, size_t n)
{
    if (memchr(s, ':', n))
        return only(s, n, "0123456789abcdefABCDEF:.") && valid_ip(s, n, AF_INET6);
    if (only(s, n, "0123456789."))
        return valid_ip(s, n, AF_INET);
    if (!valid_hostname(s, n))
        return false;
    const char *last = memrchr(s, '.', n);
    last = last ? last + 1 : s;
    return !only(last, (size_t)(s + n - last), "0123456789") && !numeric_legacy(s, n);
}

/* A decimal number without sign or leading zero, parsed into *out. */
static bool valid_uint(const char *s, size_t n, int64_t *out)
{
    if (n == 0 || n > 9 || (s[0] == '0' && n > 1))
        return false;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/*
 * Splits HOST:PORT or [IPV6]:PORT at its last ':' and checks both halves:
 * brackets hold an IPv6 address and nothing else, and a host outside
 * brackets has no ':' (a bare IPv6 address would make the port
 * ambiguous). On success *host and *host_len name the host without its
 * brackets.
 */
static bool parse_host_port(const char *s, size_t n, const char **host, size_t *host_len,
                            unsigned *port)
{
    const char *colon = memrchr(s, ':', n);
    if (!colon)
        return false;
    const char *h = s;
    size_t len = (size_t)(colon - s);
    if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
        h++;
        len -= 2;
        if (!memchr(h, ':', len))
            return false;
    } else if (memchr(s, ':', len)) {
        return false;
    }
    int64_t p;
    if (!valid_host(h, len) || !valid_uint(colon + 1, (size_t)(s + n - colon - 1), &p) || p < 1 ||
        p > 65535)
        return false;
    *host = h;
    *host_len = len;
    *port = (unsigned)p;
    return true;
}

static bool valid_host_port(const char *s, size_t n)
{
    const char *host;
    size_t host_len;
    unsigned port;
    return parse_host_port(s, n, &host, &host_len, &port);
}

/*
 * An absolute path of [A-Za-z0-9._@+,:=~ -] and '/', without empty, "."
 * or ".." components, and without a trailing '/' (except "/" itself).
 */
static bool valid_path(const char *s, size_t n)
{
    if (n == 0 || s[0] != '/')
        return false;
    if (n == 1)
        return true;
    if (s[n - 1] == '/')
        return false;
    const char *component = s + 1;
    for (size_t i = 1; i <= n; i++) {
        if (i == n || s[i] == '/') {
            size_t len = (size_t)(s + i - component);
            if (len == 0 || (len == 1 && component[0] == '.') ||
                (len == 2 && component[0] == '.' && component[1] == '.'))
                return false;
            component = s + i + 1;
        } else if (!is_alnum(s[i]) && !strchr("._@+,:=~ -", s[i])) {
            return false;
        }
    }
    return true;
}

/* A systemd unit name: [A-Za-z0-9_] then [A-Za-z0-9:_.@-]; or "" for every unit. */
static bool valid_unit(const char *s, size_t n)
{
    if (n == 0)
        return true;
    if (!is_alnum(s[0]) && s[0] != '_')
        return false;
    for (size_t i = 1; i < n; i++)
        if (!is_alnum(s[i]) && !strchr(":_.@-", s[i]))
            return false;
    return true;
}

bool ward_diag_valid(const struct ward_diag_arg_spec *spec, const char *value)
{
    if (!spec || !value)
        return false;
    size_t n = strnlen(value, WARD_DIAG_ARG_MAX + 1);
    if (n > WARD_DIAG_ARG_MAX || value[0] == '-')
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)value[i] < 0x20 || (unsigned char)value[i] > 0x7e)
            return false;
    int64_t v;
    switch (spec->kind) {
    case WARD_DIAG_ARG_HOST:
        return valid_host(value, n);
    case WARD_DIAG_ARG_HOST_PORT:
        return valid_host_port(value, n);
    case WARD_DIAG_ARG_PATH:
        return valid_path(value, n);
    case WARD_DIAG_ARG_INT:
        return valid_uint(value, n, &v) && v >= spec->min && v <= spec->max;
    case WARD_DIAG_ARG_WORD:
        for (const char *const *w = spec->words; w && *w; w++)
            if (strcmp(*w, value) == 0)
                return true;
        return false;
    case WARD_DIAG_ARG_UNIT:
        return valid_unit(value, n);
    }
    return false;
}

static const char *kind_help(const struct ward_diag_arg_spec *a, char *buf, size_t size)
{
    switch (a->kind) {
    case WARD_DIAG_ARG_HOST:
        return "a host name, IPv4 or IPv6 address";
    case WARD_DIAG_ARG_HOST_PORT:
        return "HOST:PORT or [IPV6]:PORT with a port from 1 to 65535";
    case WARD_DIAG_ARG_PATH:
        return "an absolute path of letters, digits and ._@+,:=~ - without . or .. components";
    case WARD_DIAG_ARG_INT:
        snprintf(buf, size, "an integer from %lld to %lld", (long long)a->min, (long long)a->max);
        return buf;
    case WARD_DIAG_ARG_WORD: {
        size_t used = (size_t)snprintf(buf, size, "one of");
        for (const char *const *w = a->words; w && *w && used < size; w++)
            used += (size_t)snprintf(buf + used, size - used, " %s", *w);
        return buf;
    }
    case WARD_DIAG_ARG_UNIT:
        return "a systemd unit name";
    }
    return "";
}

static int find_arg(const struct ward_diag_spec *spec, const char *name)
{
    for (size_t i = 0; name && i < spec->n_args; i++)
        if (strcmp(spec->args[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* Appends at most max bytes of untrusted text, each byte outside printable ASCII as '?'. */
static void put_printable(struct ward_buf *err, const char *s, size_t max)
{
    for (size_t i = 0; s && s[i] && i < max; i++)
        ward_buf_putc(err, (unsigned char)s[i] >= 0x20 && (unsigned char)s[i] <= 0x7e ? s[i] : '?');
}

int ward_diag_set(struct ward_diag_args *a, const char *name, const char *value,
                  struct ward_buf *err)
{
    const struct ward_diag_spec *spec = ward_diag_spec(a->type);
    if (!spec)
        return -EINVAL;
    int i = find_arg(spec, name);
    if (i < 0) {
        if (err) {
            /* The name comes from the request: it must not put a newline into a log line. */
            ward_buf_printf(err, "%s takes no argument named '", spec->name);
            put_printable(err, name, 64);
            ward_buf_puts(err, "'");
            if (spec->n_args > 0) {
                ward_buf_puts(err, " (it takes");
                for (size_t k = 0; k < spec->n_args; k++)
                    ward_buf_printf(err, " %s", spec->args[k].name);
                ward_buf_puts(err, ")");
            }
        }
        return -EINVAL;
    }
    const struct ward_diag_arg_spec *arg = &spec->args[i];
    if (!ward_diag_valid(arg, value)) {
        char buf[160];
        if (err)
            ward_buf_printf(err, "%s: %s must be %s", spec->name, arg->name,
                            kind_help(arg, buf, sizeof(buf)));
        return -EINVAL;
    }
    snprintf(a->values[i], sizeof(a->values[i]), "%s", value);
    return 0;
}

/*
 * Besides the required arguments, every value is checked once more: a
 * struct ward_diag_args may have been filled by other means than
 * ward_diag_set(), and this is the last check before a command is queued
 * or run.
 */
int ward_diag_complete(const struct ward_diag_args *a, struct ward_buf *err)
{
    const struct ward_diag_spec *spec = ward_diag_spec(a->type);
    if (!spec)
        return -EINVAL;
    for (size_t i = 0; i < spec->n_args; i++) {
        const struct ward_diag_arg_spec *arg = &spec->args[i];
        if (!arg->def && !a->values[i][0]) {
            if (err)
                ward_buf_printf(err, "%s needs %s", spec->name, arg->name);
            return -EINVAL;
        }
        if (!ward_diag_valid(arg, a->values[i])) {
            char buf[160];
            if (err)
                ward_buf_printf(err, "%s: %s must be %s", spec->name, arg->name,
                                kind_help(arg, buf, sizeof(buf)));
            return -EINVAL;
        }
    }
    return 0;
}

const char *ward_diag_get(const struct ward_diag_args *a, const char *name)
{
    const struct ward_diag_spec *spec = ward_diag_spec(a->type);
    int i = spec ? find_arg(spec, name) : -1;
    return i < 0 ? "" : a->values[i];
}

int64_t ward_diag_get_int(const struct ward_diag_args *a, const char *name)
{
    const struct ward_diag_spec *spec = ward_diag_spec(a->type);
    int i = spec ? find_arg(spec, name) : -1;
    if (i < 0 || spec->args[i].kind != WARD_DIAG_ARG_INT)
        return 0;
    const char *s = a->values[i];
    int64_t v;
    return valid_uint(s, strnlen(s, sizeof(a->values[i])), &v) ? v : 0;
}

int ward_diag_split_host_port(const char *s, char *host, size_t size, unsigned *port)
{
    if (!s || !host || !port)
        return -EINVAL;
    size_t n = strnlen(s, WARD_DIAG_ARG_MAX + 1);
    struct ward_diag_arg_spec spec = {.name = "target", .kind = WARD_DIAG_ARG_HOST_PORT};
    const char *h;
    size_t host_len;
    unsigned p;
    if (!ward_diag_valid(&spec, s) || !parse_host_port(s, n, &h, &host_len, &p) ||
        host_len + 1 > size)
        return -EINVAL;
    memcpy(host, h, host_len);
    host[host_len] = '\0';
    *port = p;
    return 0;
}
