/*
 * Socket addresses from configuration text.
 *
 * The last ':' separates the port, so bracketed IPv6 literals work, and
 * getaddrinfo() resolves the host part, so names like "localhost" do too.
 * Only the first result is used: a listener binds one address.
 */
#include "common/net.h"

#include "common/parse.h"

#include <errno.h>
#include <netdb.h>
#include <stdint.h>
#include <string.h>

int ward_listen_address(const char *address, struct sockaddr_storage *out, struct ward_buf *err)
{
    char host[256];
    const char *colon = strrchr(address, ':');
    if (!colon) {
        ward_buf_printf(err, "listen address '%s' has no port; use HOST:PORT or :PORT", address);
        return -EINVAL;
    }
    size_t hlen = (size_t)(colon - address);
    const char *h = address;
    if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
        h++;
        hlen -= 2;
    }
    if (hlen >= sizeof(host)) {
        ward_buf_printf(err, "listen address '%s': host name too long", address);
        return -EINVAL;
    }
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    int64_t port;
    if (ward_parse_int_range(colon + 1, 0, 65535, &port) < 0) {
        ward_buf_printf(err, "listen address '%s': port must be 0-65535", address);
        return -EINVAL;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *res;
    int g = getaddrinfo(hlen ? host : NULL, colon + 1, &hints, &res);
    if (g != 0) {
        ward_buf_printf(err, "listen address '%s': %s", address, gai_strerror(g));
        return -EINVAL;
    }
    memset(out, 0, sizeof(*out));
    memcpy(out, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}
