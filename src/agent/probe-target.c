/*
 * Probe targets taken apart: a host for icmp, a host and port for tcp, a
 * plain http:// URL for http.
 *
 * Targets come from configuration, so they are checked strictly and in
 * one place, used both when a spec is checked and when a probe starts:
 * host names are letters, digits, '.', '-' and '_' (what resolvers accept,
 * and safe in a label and a Host header); IPv6 addresses are bracketed
 * wherever a port may follow, as in URLs; ports are 1 to 65535; URL paths
 * are printable ASCII without spaces, sent as they are in the request
 * line. User information, fragments and https:// are refused with a
 * reason: probes have no TLS, and a URL that means something else than
 * what would be fetched is better refused than half-honoured.
 */
#include "agent/probe-internal.h"

#include "common/parse.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* A host name or IPv4 address: 1 to 253 of [A-Za-z0-9._-], not starting with '.' or '-'. */
static bool valid_name(const char *s, size_t n)
{
    if (n == 0 || n > 253 || s[0] == '.' || s[0] == '-')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '-' || c == '_';
        if (!ok)
            return false;
    }
    return true;
}

/* An IPv6 address, optionally with a zone ("fe80::1%eth0"). */
static bool valid_v6(const char *s, size_t n)
{
    char text[INET6_ADDRSTRLEN + 16];
    const char *pct = memchr(s, '%', n);
    size_t addr_len = pct ? (size_t)(pct - s) : n;
    if (addr_len >= INET6_ADDRSTRLEN)
        return false;
    if (pct && !ward_valid_ifname(pct + 1, n - addr_len - 1))
        return false;
    memcpy(text, s, addr_len);
    text[addr_len] = '\0';
    struct in6_addr a;
    return inet_pton(AF_INET6, text, &a) == 1;
}

/* Copies the host s[0..n), an IPv6 address when v6, into out->host. */
static int set_host(const char *s, size_t n, bool v6, struct ward_probe_target *out,
                    const char **why)
{
    if (v6 ? !valid_v6(s, n) : !valid_name(s, n)) {
        *why = v6 ? "not a valid IPv6 address"
                  : "the host must be a name or address of letters, digits, '.', '-' and '_'";
        return -EINVAL;
    }
    memcpy(out->host, s, n);
    out->host[n] = '\0';
    return 0;
}

/* Copies the port s[0..n), 1 to 65535 in decimal, into out->port. */
static int set_port(const char *s, size_t n, struct ward_probe_target *out, const char **why)
{
    char text[8];
    int64_t port;
    if (n == 0 || n >= sizeof(text) || s[0] < '0' || s[0] > '9') {
        *why = "the port must be a number from 1 to 65535";
        return -EINVAL;
    }
    memcpy(text, s, n);
    text[n] = '\0';
    if (ward_parse_int_range(text, 1, 65535, &port) < 0) {
        *why = "the port must be a number from 1 to 65535";
        return -EINVAL;
    }
    snprintf(out->port, sizeof(out->port), "%u", (unsigned)port);
    return 0;
}

/*
 * Takes "HOST:PORT" or "[V6]:PORT" (n bytes at s) apart; without a port,
 * default_port is used when it is not NULL.
 */
static int split_host_port(const char *s, size_t n, const char *default_port,
                           struct ward_probe_target *out, const char **why)
{
    const char *host = s, *port = NULL;
    size_t host_len = n;
    bool v6 = s[0] == '[';
    if (v6) {
        const char *close = memchr(s, ']', n);
        if (!close) {
            *why = "'[' without ']'";
            return -EINVAL;
        }
        host = s + 1;
        host_len = (size_t)(close - host);
        if (close + 1 < s + n && close[1] != ':') {
            *why = "only \":PORT\" may follow ']'";
            return -EINVAL;
        }
        port = close + 1 < s + n ? close + 2 : NULL;
    } else {
        const char *colon = memchr(s, ':', n);
        if (colon && memchr(colon + 1, ':', (size_t)(s + n - colon - 1))) {
            *why = "an IPv6 address with a port takes brackets: \"[::1]:22\"";
            return -EINVAL;
        }
        if (colon) {
            host_len = (size_t)(colon - s);
            port = colon + 1;
        }
    }
    int r = set_host(host, host_len, v6, out, why);
    if (r < 0)
        return r;
    if (port)
        return set_port(port, (size_t)(s + n - port), out, why);
    if (!default_port) {
        *why = "the port is missing: \"HOST:PORT\"";
        return -EINVAL;
    }
    snprintf(out->port, sizeof(out->port), "%s", default_port);
    return 0;
}

static int parse_icmp(const char *s, size_t n, struct ward_probe_target *out, const char **why)
{
    if (s[0] == '[') {
        if (s[n - 1] != ']') {
            *why = "'[' without ']' at the end";
            return -EINVAL;
        }
        return set_host(s + 1, n - 2, true, out, why);
    }
    return set_host(s, n, memchr(s, ':', n) != NULL, out, why);
}

/* Printable ASCII without spaces: what may stand in a request line as it is. */
static bool valid_path(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] <= ' ' || s[i] >= 0x7f || s[i] == '#')
            return false;
    return true;
}

static int parse_http(const char *s, size_t n, struct ward_probe_target *out, const char **why)
{
    if (n >= 8 && strncasecmp(s, "https://", 8) == 0) {
        *why = "https:// is not supported: probes speak plain HTTP; use an http:// URL";
        return -EINVAL;
    }
    if (n < 7 || strncasecmp(s, "http://", 7) != 0) {
        *why = "expected an http:// URL";
        return -EINVAL;
    }
    const char *auth = s + 7, *end = s + n;
    size_t auth_len = strcspn(auth, "/?#");
    if (auth_len == 0) {
        *why = "the URL has no host";
        return -EINVAL;
    }
    if (memchr(auth, '@', auth_len)) {
        *why = "user information (\"user@\") is not allowed in the URL";
        return -EINVAL;
    }
    int r = split_host_port(auth, auth_len, "80", out, why);
    if (r < 0)
        return r;
    const char *path = auth + auth_len;
    size_t path_len = (size_t)(end - path);
    if (!valid_path(path, path_len)) {
        *why = "the path may hold only printable ASCII, without spaces or a '#' fragment";
        return -EINVAL;
    }
    snprintf(out->path, sizeof(out->path), "%s%.*s", path[0] == '/' ? "" : "/", (int)path_len,
             path);
    snprintf(out->authority, sizeof(out->authority), "%.*s", (int)auth_len, auth);
    return 0;
}

int ward_probe_target_parse(enum ward_probe_type type, const char *target,
                            struct ward_probe_target *out, const char **why)
{
    size_t n = strnlen(target, WARD_PROBE_TARGET_MAX + 1);
    struct ward_probe_target t = {0};
    int r;
    if (n == 0 || n > WARD_PROBE_TARGET_MAX) {
        *why = n ? "longer than 255 bytes" : "empty";
        return -EINVAL;
    }
    switch (type) {
    case WARD_PROBE_ICMP:
        r = parse_icmp(target, n, &t, why);
        break;
    case WARD_PROBE_TCP:
        r = split_host_port(target, n, NULL, &t, why);
        break;
    case WARD_PROBE_HTTP:
        r = parse_http(target, n, &t, why);
        break;
    default:
        *why = "unknown probe type";
        r = -EINVAL;
    }
    if (r == 0)
        *out = t;
    return r;
}
