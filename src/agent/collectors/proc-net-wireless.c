/*
 * Wifi link state from /proc/net/wireless and, on the live system, nl80211.
 *
 * /proc/net/wireless (the wireless extensions' view, which cfg80211 still
 * provides) has two header lines and then one line per wireless interface:
 * name, status, link quality, signal level and noise level, then discard
 * counters. A trailing '.' on a value only says it was updated since the
 * last read. We export, per interface:
 *
 * - wifi_link_quality: the driver's link quality as printed (cfg80211 uses a
 *   0..70 scale; old drivers their own), 0 when not associated;
 * - wifi_signal_dbm and wifi_noise_dbm, when the driver gives a reading in
 *   dBm. The kernel prints a level as level - 256 when the driver flags it as
 *   dBm, so modern drivers show negative numbers; a driver that reports dBm
 *   without the flag shows the raw byte, 128..255, which is that dBm value
 *   as a signed byte: we subtract 256. Printed 0 and -256 both mean the byte
 *   was 0, i.e. no reading (cfg80211 leaves the noise at 0 when the hardware
 *   has none, and prints zeros for an interface that is not associated), and
 *   1..127 are relative levels on a driver-specific scale, not dBm: none of
 *   these gives a sample.
 *
 * The SSID and the transmit bitrate are not in that file. On the live system
 * (an empty root; never for a fixture tree) a small generic netlink client
 * asks nl80211 for them, with the kernel's UAPI headers only: it resolves
 * the family id, dumps the interfaces (NL80211_ATTR_SSID) and, for client
 * interfaces, dumps the stations, whose first entry is the access point, for
 * the transmit bitrate. Access points and mesh interfaces get no bitrate:
 * they have one per peer. That gives wifi_info{interface,ssid} = 1 and
 * wifi_bitrate_bps{interface}. The socket has send and receive timeouts and
 * the whole exchange a deadline, every length from the kernel is checked
 * before use, and the decoding is split into pure functions over byte
 * buffers (nl80211.h) so tests can feed it messages they build. A failed
 * exchange (no cfg80211, a sandbox that forbids netlink sockets, a timeout)
 * costs only those two metrics. The socket lives for one collect: at one
 * call every 30 seconds, a fresh family lookup is cheaper than handling a
 * cfg80211 module that was reloaded under a cached id.
 *
 * With no wireless interface at all (no file, or headers only, and nothing
 * from nl80211) collect() returns -ENOENT: there is no wifi here. A line
 * with a bad name is ignored; one with bad numbers gives no sample but still
 * shows that wifi exists.
 */
#include "agent/collector.h"
#include "agent/collectors/nl80211.h"

#include "common/cleanup.h"

#include <errno.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/nl80211.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Interfaces reported at most, from the file and from nl80211 each. */
#define WIFI_MAX_INTERFACES 16
/* Longest line of /proc/net/wireless accepted. */
#define WIFI_LINE_MAX 512
/* Lines read at most. */
#define WIFI_MAX_LINES 1024
/* Receive buffer: the kernel never builds a netlink dump message above 32 KiB. */
#define NL_BUF_SIZE 32768
/* Timeout of one send or receive, and deadline of all netlink work in one collect. */
#define NL_IO_TIMEOUT_MS 500
#define NL_DEADLINE_MS   2000
/* Datagrams read for one request at most. */
#define NL_MAX_RECVS 64

static const struct ward_metric quality_metric = {
    "wifi", "link_quality", WARD_SAMPLE_GAUGE,
    "Link quality as the driver reports it (0..70 for cfg80211 drivers)."};
static const struct ward_metric signal_metric = {"wifi", "signal_dbm", WARD_SAMPLE_GAUGE,
                                                 "Received signal level in dBm."};
static const struct ward_metric noise_metric = {"wifi", "noise_dbm", WARD_SAMPLE_GAUGE,
                                                "Noise level in dBm, when the driver measures it."};
static const struct ward_metric bitrate_metric = {"wifi", "bitrate_bps", WARD_SAMPLE_GAUGE,
                                                  "Transmit bitrate to the access point."};
static const struct ward_metric info_metric = {
    "wifi", "info", WARD_SAMPLE_GAUGE,
    "Always 1; the ssid label names the network the interface is on."};

struct state {
    uint8_t *buf; /* NL_BUF_SIZE bytes for netlink replies */
    uint32_t seq;
};

static int wifi_init(void **state)
{
    struct state *st = calloc(1, sizeof(*st));
    if (!st)
        return -ENOMEM;
    st->buf = malloc(NL_BUF_SIZE);
    if (!st->buf) {
        free(st);
        return -ENOMEM;
    }
    st->seq = (uint32_t)time(NULL);
    *state = st;
    return 0;
}

static void wifi_done(void *state)
{
    struct state *st = state;
    if (!st)
        return;
    free(st->buf);
    free(st);
}

/* ---- /proc/net/wireless ---- */

/*
 * Parses a small signed decimal with an optional trailing '.' (the kernel's
 * "updated" mark), ending at a blank or the end of the line.
 */
static bool parse_level(const char **s, long *out)
{
    const char *p = *s;
    while (*p == ' ' || *p == '\t')
        p++;
    bool neg = *p == '-';
    if (neg)
        p++;
    long v = 0;
    int digits = 0;
    for (; *p >= '0' && *p <= '9'; p++)
        if (++digits <= 6)
            v = v * 10 + (*p - '0');
    if (digits == 0 || digits > 6)
        return false;
    if (*p == '.')
        p++;
    if (*p != ' ' && *p != '\t' && *p != '\0')
        return false;
    *out = neg ? -v : v;
    *s = p;
    return true;
}

/* The status word: hexadecimal digits. */
static bool skip_status(const char **s)
{
    const char *p = *s;
    while (*p == ' ' || *p == '\t')
        p++;
    const char *start = p;
    while ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F'))
        p++;
    if (p == start || p - start > 8 || (*p != ' ' && *p != '\t' && *p != '\0'))
        return false;
    *s = p;
    return true;
}

/* Turns a printed level into dBm; false when it holds no dBm reading (see the top comment). */
static bool level_dbm(long v, double *dbm)
{
    if (v > -256 && v < 0)
        *dbm = (double)v;
    else if (v >= 128 && v <= 255)
        *dbm = (double)(v - 256);
    else
        return false;
    return true;
}

/* Handles one line; returns true when it named an interface. */
static bool wireless_line(const struct ward_collect_ctx *ctx, const char *line,
                          char seen[][IF_NAMESIZE], size_t *n_seen)
{
    while (*line == ' ' || *line == '\t')
        line++;
    const char *colon = strchr(line, ':');
    if (!colon || !ward_valid_ifname(line, (size_t)(colon - line)))
        return false;
    char name[IF_NAMESIZE];
    memcpy(name, line, (size_t)(colon - line));
    name[colon - line] = '\0';
    for (size_t i = 0; i < *n_seen; i++)
        if (strcmp(seen[i], name) == 0)
            return false; /* a repeated line */
    if (*n_seen == WIFI_MAX_INTERFACES)
        return false;
    memcpy(seen[(*n_seen)++], name, sizeof(name));

    const char *p = colon + 1;
    long quality, level, noise;
    if (!skip_status(&p) || !parse_level(&p, &quality) || !parse_level(&p, &level) ||
        !parse_level(&p, &noise))
        return true;
    double dbm;
    if (quality >= 0 && quality <= 255)
        ward_emit1(ctx, &quality_metric, (double)quality, "interface", name);
    if (level_dbm(level, &dbm))
        ward_emit1(ctx, &signal_metric, dbm, "interface", name);
    if (level_dbm(noise, &dbm))
        ward_emit1(ctx, &noise_metric, dbm, "interface", name);
    return true;
}

/* Returns the number of interfaces in the file, or a negative errno. */
static int read_wireless(const struct ward_collect_ctx *ctx)
{
    _cleanup_fclose_ FILE *f = ward_collect_open(ctx, "/proc/net/wireless");
    if (!f)
        return -errno;
    char seen[WIFI_MAX_INTERFACES][IF_NAMESIZE];
    size_t n_seen = 0;
    int found = 0;
    char line[WIFI_LINE_MAX];
    for (size_t lines = 0; lines < WIFI_MAX_LINES; lines++) {
        int len = ward_collect_read_line(f, line, sizeof(line));
        if (len == -1)
            break;
        if (len >= 0 && wireless_line(ctx, line, seen, &n_seen))
            found++;
    }
    if (ferror(f) && found == 0)
        return -EIO;
    return found;
}

/* ---- netlink messages (pure) ---- */

struct attr {
    uint16_t type;
    const uint8_t *data;
    size_t len;
};

/* Takes the next attribute off *p. Returns 1, 0 at the end, or -EBADMSG. */
static int attr_next(const uint8_t **p, size_t *left, struct attr *a)
{
    if (*left == 0)
        return 0;
    if (*left < NLA_HDRLEN)
        return -EBADMSG;
    struct nlattr h;
    memcpy(&h, *p, sizeof(h));
    if (h.nla_len < NLA_HDRLEN || h.nla_len > *left)
        return -EBADMSG;
    a->type = h.nla_type & NLA_TYPE_MASK;
    a->data = *p + NLA_HDRLEN;
    a->len = h.nla_len - NLA_HDRLEN;
    size_t step = NLA_ALIGN(h.nla_len);
    if (step > *left)
        step = *left; /* the last attribute may come without its padding */
    *p += step;
    *left -= step;
    return 1;
}

static bool attr_u32(const struct attr *a, uint32_t *v)
{
    if (a->len != sizeof(*v))
        return false;
    memcpy(v, a->data, sizeof(*v));
    return true;
}

static bool attr_u16(const struct attr *a, uint16_t *v)
{
    if (a->len != sizeof(*v))
        return false;
    memcpy(v, a->data, sizeof(*v));
    return true;
}

/* A string attribute: NUL-terminated within its payload, at most max bytes with the NUL. */
static bool attr_str(const struct attr *a, size_t max, const char **s, size_t *len)
{
    if (a->len == 0 || a->len > max)
        return false;
    const char *end = memchr(a->data, '\0', a->len);
    if (!end)
        return false;
    *s = (const char *)a->data;
    *len = (size_t)(end - *s);
    return true;
}

int ward_nl_walk(const uint8_t *buf, size_t len, uint32_t seq, uint16_t type, ward_nl_attrs_fn fn,
                 void *arg)
{
    while (len > 0) {
        struct nlmsghdr h;
        if (len < sizeof(h))
            return -EBADMSG;
        memcpy(&h, buf, sizeof(h));
        if (h.nlmsg_len < sizeof(h) || h.nlmsg_len > len)
            return -EBADMSG;
        const uint8_t *body = buf + NLMSG_HDRLEN;
        size_t body_len = h.nlmsg_len - NLMSG_HDRLEN;
        size_t step = NLMSG_ALIGN(h.nlmsg_len);
        if (step > len)
            step = len;
        buf += step;
        len -= step;
        if (h.nlmsg_seq != seq)
            continue;
        if (h.nlmsg_type == NLMSG_DONE)
            return 1;
        if (h.nlmsg_type == NLMSG_ERROR) {
            struct nlmsgerr e;
            if (body_len < sizeof(e.error))
                return -EBADMSG;
            memcpy(&e.error, body, sizeof(e.error));
            if (e.error > 0 || e.error < -4095)
                return -EBADMSG;
            return e.error == 0 ? 1 : e.error;
        }
        if (h.nlmsg_type == type && body_len >= GENL_HDRLEN)
            fn(body + GENL_HDRLEN, body_len - GENL_HDRLEN, arg);
        if (!(h.nlmsg_flags & NLM_F_MULTI))
            return 1;
    }
    return 0;
}

int ward_nl80211_parse_family(const uint8_t *attrs, size_t len, uint16_t *id)
{
    struct attr a;
    int r;
    uint16_t family = 0;
    bool ours = true;
    while ((r = attr_next(&attrs, &len, &a)) > 0) {
        const char *name;
        size_t name_len;
        if (a.type == CTRL_ATTR_FAMILY_ID && !attr_u16(&a, &family))
            return -EBADMSG;
        if (a.type == CTRL_ATTR_FAMILY_NAME)
            ours =
                attr_str(&a, GENL_NAMSIZ, &name, &name_len) && strcmp(name, NL80211_GENL_NAME) == 0;
    }
    if (r < 0)
        return r;
    if (family == 0 || !ours)
        return -ENODATA;
    *id = family;
    return 0;
}

int ward_nl80211_parse_iface(const uint8_t *attrs, size_t len, struct ward_nl80211_iface *out)
{
    struct ward_nl80211_iface i = {.iftype = NL80211_IFTYPE_UNSPECIFIED};
    struct attr a;
    int r;
    while ((r = attr_next(&attrs, &len, &a)) > 0) {
        const char *name;
        size_t name_len;
        switch (a.type) {
        case NL80211_ATTR_IFINDEX:
            if (!attr_u32(&a, &i.ifindex))
                return -EBADMSG;
            break;
        case NL80211_ATTR_IFTYPE:
            if (!attr_u32(&a, &i.iftype))
                return -EBADMSG;
            break;
        case NL80211_ATTR_IFNAME:
            if (!attr_str(&a, IF_NAMESIZE, &name, &name_len))
                return -EBADMSG;
            if (ward_valid_ifname(name, name_len))
                memcpy(i.name, name, name_len + 1);
            break;
        case NL80211_ATTR_SSID:
            /* An empty SSID means not connected; a longer one than 802.11 allows is ignored. */
            i.has_ssid = a.len > 0 && a.len <= WARD_WIFI_SSID_MAX;
            i.ssid_len = i.has_ssid ? a.len : 0;
            if (i.has_ssid)
                memcpy(i.ssid, a.data, a.len);
            break;
        default:
            break;
        }
    }
    if (r < 0)
        return r;
    if (i.ifindex == 0 || i.name[0] == '\0')
        return -ENODATA;
    *out = i;
    return 0;
}

/* Finds the attribute of type type among attrs; returns 1, 0 or -EBADMSG. */
static int attr_find(const uint8_t *attrs, size_t len, uint16_t type, struct attr *out)
{
    struct attr a;
    int r;
    bool found = false;
    while ((r = attr_next(&attrs, &len, &a)) > 0)
        if (a.type == type && !found) {
            *out = a;
            found = true;
        }
    return r < 0 ? r : found;
}

int ward_nl80211_parse_station(const uint8_t *attrs, size_t len, uint64_t *tx_bps)
{
    struct attr info, rate, a;
    int r = attr_find(attrs, len, NL80211_ATTR_STA_INFO, &info);
    if (r <= 0)
        return r < 0 ? r : -ENODATA;
    r = attr_find(info.data, info.len, NL80211_STA_INFO_TX_BITRATE, &rate);
    if (r <= 0)
        return r < 0 ? r : -ENODATA;
    uint64_t units = 0; /* 100 kbit/s */
    r = attr_find(rate.data, rate.len, NL80211_RATE_INFO_BITRATE32, &a);
    if (r < 0)
        return r;
    uint32_t v32;
    uint16_t v16;
    if (r > 0) {
        if (!attr_u32(&a, &v32))
            return -EBADMSG;
        units = v32;
    } else {
        r = attr_find(rate.data, rate.len, NL80211_RATE_INFO_BITRATE, &a);
        if (r < 0)
            return r;
        if (r > 0) {
            if (!attr_u16(&a, &v16))
                return -EBADMSG;
            units = v16;
        }
    }
    if (units == 0)
        return -ENODATA;
    *tx_bps = units * 100000;
    return 0;
}

size_t ward_wifi_escape_ssid(const uint8_t *ssid, size_t len, char *out, size_t size)
{
    static const char hex[] = "0123456789abcdef";
    size_t used = 0;
    if (size == 0)
        return 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t ch = ssid[i];
        bool plain = ch >= 0x20 && ch < 0x7f && ch != '\\';
        size_t need = plain ? 1 : 4;
        if (used + need >= size)
            break;
        if (plain) {
            out[used++] = (char)ch;
        } else {
            out[used++] = '\\';
            out[used++] = 'x';
            out[used++] = hex[ch >> 4];
            out[used++] = hex[ch & 0xf];
        }
    }
    out[used] = '\0';
    return used;
}

/* ---- netlink socket ---- */

struct client {
    struct state *st;
    int fd;
    int64_t deadline_ms; /* CLOCK_MONOTONIC */
};

static int64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int client_open(struct client *c, struct state *st)
{
    *c = (struct client){.st = st, .fd = -1, .deadline_ms = monotonic_ms() + NL_DEADLINE_MS};
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
    if (fd < 0)
        return -errno;
    struct timeval tv = {.tv_sec = 0, .tv_usec = NL_IO_TIMEOUT_MS * 1000};
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int r = -errno;
        close(fd);
        return r;
    }
    c->fd = fd;
    return 0;
}

/* A request: headers and at most one attribute, a u32 or a string. */
struct request {
    struct nlmsghdr nh;
    struct genlmsghdr gh;
    uint8_t attrs[NLA_HDRLEN + NLA_ALIGN(GENL_NAMSIZ)];
};

/*
 * Sends a request and hands each reply of type type to fn until the kernel
 * says the exchange is over. Returns 0 or a negative errno.
 */
static int exchange(struct client *c, uint16_t type, uint16_t flags, uint8_t cmd,
                    uint16_t attr_type, const void *attr, size_t attr_len, ward_nl_attrs_fn fn,
                    void *arg)
{
    struct request req = {0};
    uint32_t seq = ++c->st->seq;
    size_t len = NLMSG_HDRLEN + GENL_HDRLEN;
    if (attr) {
        struct nlattr a = {.nla_len = (uint16_t)(NLA_HDRLEN + attr_len), .nla_type = attr_type};
        memcpy(req.attrs, &a, sizeof(a));
        memcpy(req.attrs + NLA_HDRLEN, attr, attr_len);
        len += NLA_ALIGN(a.nla_len);
    }
    req.nh = (struct nlmsghdr){.nlmsg_len = (uint32_t)len,
                               .nlmsg_type = type,
                               .nlmsg_flags = NLM_F_REQUEST | flags,
                               .nlmsg_seq = seq};
    req.gh = (struct genlmsghdr){.cmd = cmd, .version = 1};
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    if (sendto(c->fd, &req, len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
        return errno == EAGAIN ? -ETIMEDOUT : -errno;

    for (int i = 0; i < NL_MAX_RECVS; i++) {
        if (monotonic_ms() > c->deadline_ms)
            return -ETIMEDOUT;
        struct sockaddr_nl from;
        socklen_t from_len = sizeof(from);
        ssize_t n = recvfrom(c->fd, c->st->buf, NL_BUF_SIZE, MSG_TRUNC, (struct sockaddr *)&from,
                             &from_len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == EAGAIN ? -ETIMEDOUT : -errno;
        if ((size_t)n > NL_BUF_SIZE)
            return -EMSGSIZE;
        if (from_len != sizeof(from) || from.nl_pid != 0)
            continue; /* not from the kernel */
        int r = ward_nl_walk(c->st->buf, (size_t)n, seq, type, fn, arg);
        if (r != 0)
            return r < 0 ? r : 0;
    }
    return -E2BIG;
}

struct family_result {
    uint16_t id;
};

static void on_family(const uint8_t *attrs, size_t len, void *arg)
{
    struct family_result *res = arg;
    uint16_t id;
    if (ward_nl80211_parse_family(attrs, len, &id) == 0)
        res->id = id;
}

struct iface_list {
    struct ward_nl80211_iface ifs[WIFI_MAX_INTERFACES];
    size_t n;
};

static void on_iface(const uint8_t *attrs, size_t len, void *arg)
{
    struct iface_list *list = arg;
    if (list->n < WIFI_MAX_INTERFACES &&
        ward_nl80211_parse_iface(attrs, len, &list->ifs[list->n]) == 0)
        list->n++;
}

struct station_result {
    uint64_t tx_bps;
    bool found;
};

static void on_station(const uint8_t *attrs, size_t len, void *arg)
{
    struct station_result *res = arg;
    uint64_t bps;
    if (!res->found && ward_nl80211_parse_station(attrs, len, &bps) == 0) {
        res->tx_bps = bps;
        res->found = true;
    }
}

/* Queries nl80211 and emits what it says. Returns the number of interfaces, or a negative errno. */
static int query_nl80211(struct state *st, const struct ward_collect_ctx *ctx)
{
    struct client c;
    int r = client_open(&c, st);
    if (r < 0)
        return r;
    _cleanup_close_ __attribute__((unused)) int fd = c.fd; /* closes the socket on every return */

    struct family_result fam = {0};
    r = exchange(&c, GENL_ID_CTRL, 0, CTRL_CMD_GETFAMILY, CTRL_ATTR_FAMILY_NAME, NL80211_GENL_NAME,
                 sizeof(NL80211_GENL_NAME), on_family, &fam);
    if (r < 0)
        return r == -ENOENT ? 0 : r; /* no cfg80211 in this kernel: no wifi */
    if (fam.id == 0)
        return -EBADMSG;

    struct iface_list list = {.n = 0};
    r = exchange(&c, fam.id, NLM_F_DUMP, NL80211_CMD_GET_INTERFACE, 0, NULL, 0, on_iface, &list);
    if (r < 0)
        return r;
    for (size_t i = 0; i < list.n; i++) {
        const struct ward_nl80211_iface *w = &list.ifs[i];
        if (w->has_ssid) {
            char ssid[WARD_WIFI_SSID_LABEL_MAX];
            ward_wifi_escape_ssid(w->ssid, w->ssid_len, ssid, sizeof(ssid));
            struct ward_label l[2] = {{"interface", w->name}, {"ssid", ssid}};
            ward_emit(ctx, &info_metric, 1, l, 2);
        }
        if (w->iftype != NL80211_IFTYPE_STATION && w->iftype != NL80211_IFTYPE_P2P_CLIENT)
            continue;
        struct station_result sta = {0};
        r = exchange(&c, fam.id, NLM_F_DUMP, NL80211_CMD_GET_STATION, NL80211_ATTR_IFINDEX,
                     &w->ifindex, sizeof(w->ifindex), on_station, &sta);
        if (r == -ETIMEDOUT)
            break; /* the deadline covers the rest too */
        if (r == 0 && sta.found)
            ward_emit1(ctx, &bitrate_metric, (double)sta.tx_bps, "interface", w->name);
    }
    return (int)list.n;
}

static int wifi_collect(void *state, const struct ward_collect_ctx *ctx)
{
    struct state *st = state;
    int found = read_wireless(ctx);
    int proc_err = found < 0 ? found : 0;
    if (found < 0)
        found = 0;
    /* nl80211 describes the running kernel: never mix it into a recorded tree. */
    if (ward_collect_live(ctx)) {
        int n = query_nl80211(st, ctx);
        if (n > 0)
            found += n;
    }
    if (found > 0)
        return 0;
    return proc_err && proc_err != -ENOENT ? proc_err : -ENOENT;
}

const struct ward_collector ward_collector_proc_net_wireless = {
    .size = sizeof(struct ward_collector),
    .name = "wifi",
    .default_interval_ms = 30000,
    .init = wifi_init,
    .collect = wifi_collect,
    .done = wifi_done,
};
