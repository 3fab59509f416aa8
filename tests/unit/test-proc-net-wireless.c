/*
 * Tests of the wifi collector: /proc/net/wireless as cfg80211 and old
 * drivers print it, the dBm normalisation and its sentinels, broken input,
 * and the nl80211 decoding on netlink messages built here, among them the
 * interface, network and station that node_exporter's wifi fixtures
 * describe.
 */
#include <errno.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/nl80211.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/collectors/nl80211.h"
#include "collector-test.h"

extern const struct ward_collector ward_collector_proc_net_wireless;
static const struct ward_collector *const c = &ward_collector_proc_net_wireless;

/* ---- /proc/net/wireless ---- */

static void cfg80211_driver(void **unused)
{
    (void)unused;
    void *st;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(c->init(&st), 0);
    assert_int_equal(collector_run(c, st, FIXTURES "/wifi-cfg80211", NULL, &r), 0);
    assert_int_equal(rec_value(&r, "wifi_link_quality", "interface=wlan0"), 58);
    assert_int_equal(rec_value(&r, "wifi_signal_dbm", "interface=wlan0"), -52);
    /* Noise printed as -256: the driver has none. */
    assert_null(rec_find(&r, "wifi_noise_dbm", "interface=wlan0"));
    assert_int_equal(rec_value(&r, "wifi_link_quality", "interface=wlp3s0"), 70);
    assert_int_equal(rec_value(&r, "wifi_signal_dbm", "interface=wlp3s0"), -40);
    assert_int_equal(rec_value(&r, "wifi_noise_dbm", "interface=wlp3s0"), -95);
    /* Not associated: zeros, so a quality of 0 and no levels. */
    assert_int_equal(rec_value(&r, "wifi_link_quality", "interface=wlan1"), 0);
    assert_null(rec_find(&r, "wifi_signal_dbm", "interface=wlan1"));
    assert_null(rec_find(&r, "wifi_noise_dbm", "interface=wlan1"));
    assert_int_equal(r.n, 3 + 2 + 1);
    /* A fixture tree never reaches nl80211. */
    assert_int_equal(rec_count(&r, "wifi_info"), 0);
    assert_int_equal(rec_count(&r, "wifi_bitrate_bps"), 0);
    c->done(st);
    rec_done(&r);
}

static void legacy_driver(void **unused)
{
    (void)unused;
    void *st;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(c->init(&st), 0);
    assert_int_equal(collector_run(c, st, FIXTURES "/wifi-legacy", NULL, &r), 0);
    /* dBm without the kernel's dBm flag: the raw byte, read as signed. */
    assert_int_equal(rec_value(&r, "wifi_link_quality", "interface=eth1"), 92);
    assert_int_equal(rec_value(&r, "wifi_signal_dbm", "interface=eth1"), -56);
    assert_int_equal(rec_value(&r, "wifi_noise_dbm", "interface=eth1"), -95);
    /* Relative levels (1..127) are not dBm. */
    assert_int_equal(rec_value(&r, "wifi_link_quality", "interface=ath0"), 45);
    assert_null(rec_find(&r, "wifi_signal_dbm", "interface=ath0"));
    assert_null(rec_find(&r, "wifi_noise_dbm", "interface=ath0"));
    /* The ends of the range. */
    assert_int_equal(rec_value(&r, "wifi_link_quality", "interface=ra0"), 255);
    assert_int_equal(rec_value(&r, "wifi_signal_dbm", "interface=ra0"), -1);
    assert_int_equal(rec_value(&r, "wifi_noise_dbm", "interface=ra0"), -128);
    assert_int_equal(r.n, 3 + 1 + 3);
    c->done(st);
    rec_done(&r);
}

static void malformed_lines(void **unused)
{
    (void)unused;
    void *st;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(c->init(&st), 0);
    assert_int_equal(collector_run(c, st, FIXTURES "/wifi-malformed", NULL, &r), 0);
    /* The first good0 line counts, the repeated one does not. */
    assert_int_equal(rec_value(&r, "wifi_link_quality", "interface=good0"), 40);
    assert_int_equal(rec_value(&r, "wifi_signal_dbm", "interface=good0"), -60);
    assert_int_equal(rec_value(&r, "wifi_noise_dbm", "interface=good0"), -90);
    /* No '.' marks, and no newline at the end of the file. */
    assert_int_equal(rec_value(&r, "wifi_link_quality", "interface=good1"), 20);
    assert_int_equal(rec_value(&r, "wifi_signal_dbm", "interface=good1"), -70);
    assert_int_equal(rec_value(&r, "wifi_noise_dbm", "interface=good1"), -100);
    /*
     * Nothing from: missing fields, a bad status, letters, two dots, a
     * 14-digit number, out-of-range values, a lone sign, no colon, bad names,
     * a NUL byte, an overlong line.
     */
    assert_int_equal(r.n, 6);
    c->done(st);
    rec_done(&r);
}

static void no_wifi(void **unused)
{
    (void)unused;
    void *st;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(c->init(&st), 0);
    /* Headers only, an empty file or no file: no wireless interface here. */
    assert_int_equal(collector_run(c, st, FIXTURES "/wifi-headers", NULL, &r), -ENOENT);
    assert_int_equal(collector_run(c, st, FIXTURES "/wifi-empty", NULL, &r), -ENOENT);
    assert_int_equal(collector_run(c, st, FIXTURES "/empty", NULL, &r), -ENOENT);
    /*
     * node_exporter's recorded tree has no proc/net/wireless; its wifi data
     * are recorded nl80211 replies (the JSON files under wifi/), checked below on built messages.
     */
    assert_int_equal(collector_run(c, st, NODE_FIXTURE, NULL, &r), -ENOENT);
    assert_int_equal(r.n, 0);
    /* A directory in the file's place: opened, but nothing can be read. */
    assert_int_equal(collector_run(c, st, FIXTURES "/wifi-dir", NULL, &r), -EIO);
    c->done(st);
    c->done(NULL);
    rec_done(&r);
}

static void live_system(void **unused)
{
    (void)unused;
    void *st;
    struct recorder r;
    rec_init(&r);
    assert_int_equal(c->init(&st), 0);
    /*
     * The real system, netlink included. A build machine usually has no
     * wifi (then -ENOENT and nothing emitted); with wifi, every sample must
     * carry an interface label.
     */
    int ret = collector_run(c, st, "", NULL, &r);
    if (ret == -ENOENT) {
        assert_int_equal(r.n, 0);
    } else {
        assert_int_equal(ret, 0);
        for (size_t i = 0; i < r.n; i++)
            assert_memory_equal(r.samples[i].labels, "interface=", 10);
    }
    c->done(st);
    rec_done(&r);
}

/* ---- netlink messages ---- */

struct msg {
    uint8_t b[4096];
    size_t len;
    size_t start; /* of the message being built */
};

static void put(struct msg *m, const void *data, size_t len)
{
    assert_true(m->len + NLA_ALIGN(len) <= sizeof(m->b));
    memcpy(m->b + m->len, data, len);
    memset(m->b + m->len + len, 0, NLA_ALIGN(len) - len);
    m->len += NLA_ALIGN(len);
}

static void begin(struct msg *m, uint16_t type, uint16_t flags, uint32_t seq, uint8_t cmd)
{
    m->start = m->len;
    struct nlmsghdr h = {.nlmsg_type = type, .nlmsg_flags = flags, .nlmsg_seq = seq};
    put(m, &h, sizeof(h));
    if (type >= NLMSG_MIN_TYPE) {
        struct genlmsghdr g = {.cmd = cmd, .version = 1};
        put(m, &g, sizeof(g));
    }
}

static void end(struct msg *m)
{
    uint32_t len = (uint32_t)(m->len - m->start);
    memcpy(m->b + m->start, &len, sizeof(len));
}

static void attr(struct msg *m, uint16_t type, const void *data, size_t len)
{
    struct nlattr a = {.nla_len = (uint16_t)(NLA_HDRLEN + len), .nla_type = type};
    put(m, &a, sizeof(a)); /* sizeof(a) == NLA_HDRLEN */
    if (len)
        put(m, data, len);
}

static void attr_u32(struct msg *m, uint16_t type, uint32_t v)
{
    attr(m, type, &v, sizeof(v));
}

static void attr_str(struct msg *m, uint16_t type, const char *s)
{
    attr(m, type, s, strlen(s) + 1);
}

static size_t nest_begin(struct msg *m, uint16_t type)
{
    size_t at = m->len;
    attr(m, type | NLA_F_NESTED, NULL, 0);
    return at;
}

static void nest_end(struct msg *m, size_t at)
{
    uint16_t len = (uint16_t)(m->len - at);
    memcpy(m->b + at, &len, sizeof(len));
}

static void done_msg(struct msg *m, uint32_t seq)
{
    begin(m, NLMSG_DONE, NLM_F_MULTI, seq, 0);
    int32_t zero = 0;
    put(m, &zero, sizeof(zero));
    end(m);
}

/* A station message whose TX_BITRATE holds the given rates (0: left out). */
static void station(struct msg *m, uint32_t seq, uint32_t rate32, uint16_t rate16)
{
    begin(m, 0x1c, NLM_F_MULTI, seq, NL80211_CMD_NEW_STATION);
    attr_u32(m, NL80211_ATTR_IFINDEX, 3);
    size_t info = nest_begin(m, NL80211_ATTR_STA_INFO);
    attr_u32(m, NL80211_STA_INFO_INACTIVE_TIME, 400);
    size_t rate = nest_begin(m, NL80211_STA_INFO_TX_BITRATE);
    if (rate16)
        attr(m, NL80211_RATE_INFO_BITRATE, &rate16, sizeof(rate16));
    if (rate32)
        attr_u32(m, NL80211_RATE_INFO_BITRATE32, rate32);
    nest_end(m, rate);
    nest_end(m, info);
    end(m);
}

struct got {
    struct ward_nl80211_iface ifs[8];
    int iface_ret[8];
    size_t n;
    uint64_t bps[8];
    int sta_ret[8];
    size_t n_sta;
    uint16_t family;
    int family_ret;
};

static void on_iface(const uint8_t *a, size_t len, void *arg)
{
    struct got *g = arg;
    assert_true(g->n < 8);
    g->iface_ret[g->n] = ward_nl80211_parse_iface(a, len, &g->ifs[g->n]);
    g->n++;
}

static void on_station(const uint8_t *a, size_t len, void *arg)
{
    struct got *g = arg;
    assert_true(g->n_sta < 8);
    g->sta_ret[g->n_sta] = ward_nl80211_parse_station(a, len, &g->bps[g->n_sta]);
    g->n_sta++;
}

static void on_family(const uint8_t *a, size_t len, void *arg)
{
    struct got *g = arg;
    g->family_ret = ward_nl80211_parse_family(a, len, &g->family);
}

/* Reads a file of node_exporter's wifi fixture into buf. */
static void read_fixture(const char *name, char *buf, size_t size)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/wifi/%s", NODE_FIXTURE, name);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, size - 1, f);
    buf[n] = '\0';
    fclose(f);
}

/* The first number after "key": in a JSON text. */
static uint64_t json_number(const char *text, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof(pat), "\"%s\": ", key);
    const char *p = strstr(text, pat);
    assert_non_null(p);
    return strtoull(p + strlen(pat), NULL, 10);
}

static void node_exporter_wifi_fixture(void **unused)
{
    (void)unused;
    /*
     * node_exporter's wifi fixture: wlan0 (type 2, a client) on the network
     * "Example" (bss.json), wlan1 (type 3, an access point), and a device of
     * type 10 without a netdev; wlan0's first station transmits at
     * 164000000 bit/s (stationinfo.json). Its output for them:
     *   node_wifi_station_info{...,device="wlan0",mode="client",ssid="Example"} 1
     *   node_wifi_station_transmit_bits_per_second{device="wlan0",
     *       mac_address="aa:bb:cc:dd:ee:ff"} 1.64e+08
     * Our wifi_info{interface="wlan0",ssid="Example"} and
     * wifi_bitrate_bps{interface="wlan0"} are those two. The messages below
     * carry the fixture's values the way the kernel would send them.
     */
    char bss[1024], sta[2048];
    read_fixture("wlan0/bss.json", bss, sizeof(bss));
    read_fixture("wlan0/stationinfo.json", sta, sizeof(sta));
    const char *ssid_at = strstr(bss, "\"ssid\": \"");
    assert_non_null(ssid_at);
    ssid_at += strlen("\"ssid\": \"");
    char ssid[33];
    size_t ssid_len = strcspn(ssid_at, "\"");
    assert_true(ssid_len <= 32);
    memcpy(ssid, ssid_at, ssid_len);
    ssid[ssid_len] = '\0';
    uint64_t tx_bps = json_number(sta, "transmitbitrate");
    assert_true(tx_bps == 164000000);

    struct msg m = {0};
    begin(&m, 0x1c, NLM_F_MULTI, 7, NL80211_CMD_NEW_INTERFACE);
    attr_u32(&m, NL80211_ATTR_IFINDEX, 3);
    attr_str(&m, NL80211_ATTR_IFNAME, "wlan0");
    attr_u32(&m, NL80211_ATTR_IFTYPE, NL80211_IFTYPE_STATION);
    attr_u32(&m, NL80211_ATTR_WIPHY_FREQ, 2412);
    attr(&m, NL80211_ATTR_SSID, ssid, ssid_len);
    end(&m);
    begin(&m, 0x1c, NLM_F_MULTI, 7, NL80211_CMD_NEW_INTERFACE);
    attr_u32(&m, NL80211_ATTR_IFINDEX, 4);
    attr_str(&m, NL80211_ATTR_IFNAME, "wlan1");
    attr_u32(&m, NL80211_ATTR_IFTYPE, NL80211_IFTYPE_AP);
    end(&m);
    begin(&m, 0x1c, NLM_F_MULTI, 7, NL80211_CMD_NEW_INTERFACE);
    attr_u32(&m, NL80211_ATTR_IFTYPE, NL80211_IFTYPE_P2P_DEVICE);
    end(&m);
    done_msg(&m, 7);

    struct got g = {0};
    assert_int_equal(ward_nl_walk(m.b, m.len, 7, 0x1c, on_iface, &g), 1);
    assert_int_equal(g.n, 3);
    assert_int_equal(g.iface_ret[0], 0);
    assert_string_equal(g.ifs[0].name, "wlan0");
    assert_int_equal(g.ifs[0].ifindex, 3);
    assert_int_equal(g.ifs[0].iftype, NL80211_IFTYPE_STATION);
    assert_true(g.ifs[0].has_ssid);
    char label[WARD_WIFI_SSID_LABEL_MAX];
    ward_wifi_escape_ssid(g.ifs[0].ssid, g.ifs[0].ssid_len, label, sizeof(label));
    assert_string_equal(label, "Example");
    assert_int_equal(g.iface_ret[1], 0);
    assert_string_equal(g.ifs[1].name, "wlan1");
    assert_int_equal(g.ifs[1].iftype, NL80211_IFTYPE_AP);
    assert_false(g.ifs[1].has_ssid);
    assert_int_equal(g.iface_ret[2], -ENODATA); /* no netdev */

    /* The station dump: both stations, as 100 kbit/s units. */
    struct msg s = {0};
    station(&s, 8, (uint32_t)(tx_bps / 100000), 0);
    station(&s, 8, 3280, 0);
    done_msg(&s, 8);
    assert_int_equal(ward_nl_walk(s.b, s.len, 8, 0x1c, on_station, &g), 1);
    assert_int_equal(g.n_sta, 2);
    assert_int_equal(g.sta_ret[0], 0);
    assert_true(g.bps[0] == 164000000);
    assert_int_equal(g.sta_ret[1], 0);
    assert_true(g.bps[1] == 328000000);
}

static void family_lookup(void **unused)
{
    (void)unused;
    struct msg m = {0};
    begin(&m, GENL_ID_CTRL, 0, 5, CTRL_CMD_NEWFAMILY);
    attr_str(&m, CTRL_ATTR_FAMILY_NAME, "nl80211");
    uint16_t id = 0x1c;
    attr(&m, CTRL_ATTR_FAMILY_ID, &id, sizeof(id));
    attr_u32(&m, CTRL_ATTR_VERSION, 1);
    end(&m);
    struct got g = {.family_ret = 99};
    /* A single reply (no NLM_F_MULTI) ends the exchange. */
    assert_int_equal(ward_nl_walk(m.b, m.len, 5, GENL_ID_CTRL, on_family, &g), 1);
    assert_int_equal(g.family_ret, 0);
    assert_int_equal(g.family, 0x1c);

    /* Another family's reply, and a reply without an id. */
    struct msg o = {0};
    begin(&o, GENL_ID_CTRL, 0, 5, CTRL_CMD_NEWFAMILY);
    attr_str(&o, CTRL_ATTR_FAMILY_NAME, "devlink");
    attr(&o, CTRL_ATTR_FAMILY_ID, &id, sizeof(id));
    end(&o);
    g = (struct got){.family_ret = 99};
    assert_int_equal(ward_nl_walk(o.b, o.len, 5, GENL_ID_CTRL, on_family, &g), 1);
    assert_int_equal(g.family_ret, -ENODATA);
    struct msg n = {0};
    begin(&n, GENL_ID_CTRL, 0, 5, CTRL_CMD_NEWFAMILY);
    attr_str(&n, CTRL_ATTR_FAMILY_NAME, "nl80211");
    end(&n);
    assert_int_equal(ward_nl_walk(n.b, n.len, 5, GENL_ID_CTRL, on_family, &g), 1);
    assert_int_equal(g.family_ret, -ENODATA);

    /* No nl80211 in this kernel: an error reply. An acknowledgement ends too. */
    struct msg e = {0};
    begin(&e, NLMSG_ERROR, 0, 5, 0);
    int32_t err = -ENOENT;
    put(&e, &err, sizeof(err));
    struct nlmsghdr orig = {0};
    put(&e, &orig, sizeof(orig));
    end(&e);
    assert_int_equal(ward_nl_walk(e.b, e.len, 5, GENL_ID_CTRL, on_family, &g), -ENOENT);
    err = 0;
    memcpy(e.b + NLMSG_HDRLEN, &err, sizeof(err));
    assert_int_equal(ward_nl_walk(e.b, e.len, 5, GENL_ID_CTRL, on_family, &g), 1);
    /* An error code no kernel sends. */
    err = 5;
    memcpy(e.b + NLMSG_HDRLEN, &err, sizeof(err));
    assert_int_equal(ward_nl_walk(e.b, e.len, 5, GENL_ID_CTRL, on_family, &g), -EBADMSG);
}

static void walk_checks_headers(void **unused)
{
    (void)unused;
    struct got g = {0};
    struct msg m = {0};
    /* A stale reply (old sequence) and a message of another type are skipped. */
    station(&m, 41, 10, 0);
    begin(&m, 0x1d, NLM_F_MULTI, 42, NL80211_CMD_NEW_STATION);
    end(&m);
    station(&m, 42, 20, 0);
    assert_int_equal(ward_nl_walk(m.b, m.len, 42, 0x1c, on_station, &g), 0); /* more to come */
    assert_int_equal(g.n_sta, 1);
    assert_true(g.bps[0] == 2000000);

    /* Length beyond the buffer, below a header, a buffer shorter than a header. */
    struct msg t = {0};
    station(&t, 42, 20, 0);
    g.n_sta = 0;
    assert_int_equal(ward_nl_walk(t.b, t.len - 1, 42, 0x1c, on_station, &g), -EBADMSG);
    uint32_t small = 8;
    memcpy(t.b, &small, sizeof(small));
    assert_int_equal(ward_nl_walk(t.b, t.len, 42, 0x1c, on_station, &g), -EBADMSG);
    assert_int_equal(ward_nl_walk(t.b, 10, 42, 0x1c, on_station, &g), -EBADMSG);
    assert_int_equal(g.n_sta, 0);
    assert_int_equal(ward_nl_walk(t.b, 0, 42, 0x1c, on_station, &g), 0);

    /* A generic message too short for its genlmsghdr is not handed on. */
    struct msg s = {0};
    begin(&s, 0x1c, NLM_F_MULTI, 42, 0);
    s.len = s.start + NLMSG_HDRLEN + 2;
    end(&s);
    assert_int_equal(ward_nl_walk(s.b, s.len, 42, 0x1c, on_station, &g), 0);
    assert_int_equal(g.n_sta, 0);
    /* An error message too short for its code. */
    struct msg e = {0};
    begin(&e, NLMSG_ERROR, 0, 42, 0);
    end(&e);
    assert_int_equal(ward_nl_walk(e.b, e.len, 42, 0x1c, on_station, &g), -EBADMSG);
}

static void iface_edge_cases(void **unused)
{
    (void)unused;
    struct ward_nl80211_iface out = {.ifindex = 77};
    struct msg m = {0};
    /* An SSID longer than 802.11 allows is ignored; the interface stays. */
    begin(&m, 0x1c, 0, 1, NL80211_CMD_NEW_INTERFACE);
    attr_u32(&m, NL80211_ATTR_IFINDEX, 9);
    attr_str(&m, NL80211_ATTR_IFNAME, "wlp1s0");
    attr(&m, NL80211_ATTR_SSID, "0123456789abcdef0123456789abcdefX", 33);
    end(&m);
    const uint8_t *attrs = m.b + NLMSG_HDRLEN + GENL_HDRLEN;
    size_t len = m.len - NLMSG_HDRLEN - GENL_HDRLEN;
    assert_int_equal(ward_nl80211_parse_iface(attrs, len, &out), 0);
    assert_string_equal(out.name, "wlp1s0");
    assert_false(out.has_ssid);
    assert_int_equal(out.iftype, NL80211_IFTYPE_UNSPECIFIED);

    /* A 32-byte SSID is fine; an empty one means not connected. */
    struct msg f = {0};
    begin(&f, 0x1c, 0, 1, NL80211_CMD_NEW_INTERFACE);
    attr_u32(&f, NL80211_ATTR_IFINDEX, 9);
    attr_str(&f, NL80211_ATTR_IFNAME, "wlp1s0");
    attr(&f, NL80211_ATTR_SSID, "0123456789abcdef0123456789abcdef", 32);
    end(&f);
    assert_int_equal(ward_nl80211_parse_iface(f.b + 20, f.len - 20, &out), 0);
    assert_true(out.has_ssid);
    assert_int_equal(out.ssid_len, 32);
    struct msg z = {0};
    begin(&z, 0x1c, 0, 1, NL80211_CMD_NEW_INTERFACE);
    attr_u32(&z, NL80211_ATTR_IFINDEX, 9);
    attr_str(&z, NL80211_ATTR_IFNAME, "wlp1s0");
    attr(&z, NL80211_ATTR_SSID, NULL, 0);
    end(&z);
    assert_int_equal(ward_nl80211_parse_iface(z.b + 20, z.len - 20, &out), 0);
    assert_false(out.has_ssid);

    /* Truncated: the last attribute claims more than is there. */
    out.ifindex = 77;
    assert_int_equal(ward_nl80211_parse_iface(attrs, len - 4, &out), -EBADMSG);
    assert_int_equal(out.ifindex, 77); /* not written on failure */
    /* An attribute length below its header, and trailing bytes too short for one. */
    uint8_t bad[8] = {2, 0, 3, 0, 0, 0, 0, 0};
    assert_int_equal(ward_nl80211_parse_iface(bad, sizeof(bad), &out), -EBADMSG);
    assert_int_equal(ward_nl80211_parse_iface(attrs, 3, &out), -EBADMSG);
    assert_int_equal(ward_nl80211_parse_iface(attrs, 0, &out), -ENODATA);

    /* Wrong sizes, a name without its NUL, an unusable name, a missing ifindex. */
    struct msg w = {0};
    uint16_t short_index = 9;
    attr(&w, NL80211_ATTR_IFINDEX, &short_index, sizeof(short_index));
    assert_int_equal(ward_nl80211_parse_iface(w.b, w.len, &out), -EBADMSG);
    struct msg t = {0};
    attr_u32(&t, NL80211_ATTR_IFINDEX, 9);
    attr_u32(&t, NL80211_ATTR_IFTYPE, 2);
    attr(&t, NL80211_ATTR_IFNAME, "wlan0", 5);
    assert_int_equal(ward_nl80211_parse_iface(t.b, t.len, &out), -EBADMSG);
    struct msg l = {0};
    attr_u32(&l, NL80211_ATTR_IFINDEX, 9);
    attr_str(&l, NL80211_ATTR_IFNAME, "averyveryverylongname");
    assert_int_equal(ward_nl80211_parse_iface(l.b, l.len, &out), -EBADMSG);
    struct msg u = {0};
    attr_u32(&u, NL80211_ATTR_IFINDEX, 9);
    attr_str(&u, NL80211_ATTR_IFNAME, "wl/an0");
    assert_int_equal(ward_nl80211_parse_iface(u.b, u.len, &out), -ENODATA);
    struct msg n = {0};
    attr_str(&n, NL80211_ATTR_IFNAME, "wlan0");
    assert_int_equal(ward_nl80211_parse_iface(n.b, n.len, &out), -ENODATA);
    /* Unknown and nested attributes are skipped; flags do not hide a type. */
    struct msg k = {0};
    attr_u32(&k, 0x7fff, 1);
    size_t at = nest_begin(&k, NL80211_ATTR_STA_INFO);
    attr_u32(&k, NL80211_ATTR_IFINDEX, 1000);
    nest_end(&k, at);
    attr_u32(&k, NL80211_ATTR_IFINDEX | NLA_F_NET_BYTEORDER, 12);
    attr_str(&k, NL80211_ATTR_IFNAME, "wlan5");
    assert_int_equal(ward_nl80211_parse_iface(k.b, k.len, &out), 0);
    assert_int_equal(out.ifindex, 12);
}

static void station_edge_cases(void **unused)
{
    (void)unused;
    uint64_t bps = 42;
    struct msg m = {0};
    /* An old kernel: only the 16-bit rate. */
    station(&m, 1, 0, 540);
    const uint8_t *a = m.b + NLMSG_HDRLEN + GENL_HDRLEN;
    assert_int_equal(ward_nl80211_parse_station(a, m.len - 20, &bps), 0);
    assert_true(bps == 54000000);
    /* Both: the 32-bit one wins (the 16-bit one saturates above 6.5 Gbit/s). */
    struct msg b = {0};
    station(&b, 1, 96080, 65535);
    assert_int_equal(ward_nl80211_parse_station(b.b + 20, b.len - 20, &bps), 0);
    assert_true(bps == 9608000000ULL);
    /* Rate unknown: no rate attributes, or zero. */
    bps = 42;
    struct msg z = {0};
    station(&z, 1, 0, 0);
    assert_int_equal(ward_nl80211_parse_station(z.b + 20, z.len - 20, &bps), -ENODATA);
    struct msg zero = {0};
    begin(&zero, 0x1c, 0, 1, NL80211_CMD_NEW_STATION);
    size_t info = nest_begin(&zero, NL80211_ATTR_STA_INFO);
    size_t rate = nest_begin(&zero, NL80211_STA_INFO_TX_BITRATE);
    attr_u32(&zero, NL80211_RATE_INFO_BITRATE32, 0);
    nest_end(&zero, rate);
    nest_end(&zero, info);
    end(&zero);
    assert_int_equal(ward_nl80211_parse_station(zero.b + 20, zero.len - 20, &bps), -ENODATA);
    assert_true(bps == 42);
    /* No STA_INFO; STA_INFO without TX_BITRATE. */
    struct msg n = {0};
    attr_u32(&n, NL80211_ATTR_IFINDEX, 3);
    assert_int_equal(ward_nl80211_parse_station(n.b, n.len, &bps), -ENODATA);
    struct msg i = {0};
    info = nest_begin(&i, NL80211_ATTR_STA_INFO);
    attr_u32(&i, NL80211_STA_INFO_INACTIVE_TIME, 1);
    nest_end(&i, info);
    assert_int_equal(ward_nl80211_parse_station(i.b, i.len, &bps), -ENODATA);
    /* A 32-bit rate of the wrong size; a nest whose inside is cut. */
    struct msg w = {0};
    info = nest_begin(&w, NL80211_ATTR_STA_INFO);
    rate = nest_begin(&w, NL80211_STA_INFO_TX_BITRATE);
    uint16_t two = 10;
    attr(&w, NL80211_RATE_INFO_BITRATE32, &two, sizeof(two));
    nest_end(&w, rate);
    nest_end(&w, info);
    assert_int_equal(ward_nl80211_parse_station(w.b, w.len, &bps), -EBADMSG);
    struct msg c2 = {0};
    info = nest_begin(&c2, NL80211_ATTR_STA_INFO);
    rate = nest_begin(&c2, NL80211_STA_INFO_TX_BITRATE);
    attr_u32(&c2, NL80211_RATE_INFO_BITRATE32, 10);
    nest_end(&c2, rate);
    nest_end(&c2, info);
    uint16_t rate_len = 20; /* inner attribute: 4 header + 16, beyond the nest's 12 */
    memcpy(c2.b + 8, &rate_len, sizeof(rate_len));
    assert_int_equal(ward_nl80211_parse_station(c2.b, c2.len, &bps), -EBADMSG);
    assert_true(bps == 42);
}

static void ssid_escaping(void **unused)
{
    (void)unused;
    char out[WARD_WIFI_SSID_LABEL_MAX];
    const uint8_t mixed[] = {'c', 'a', 'f', 0xc3, 0xa9, '\\', 0x01, ' ', '"', 0x7f};
    assert_int_equal(ward_wifi_escape_ssid(mixed, sizeof(mixed), out, sizeof(out)), 25);
    assert_string_equal(out, "caf\\xc3\\xa9\\x5c\\x01 \"\\x7f");
    /* 32 bytes, all escaped, fit exactly. */
    uint8_t all[32];
    memset(all, 0xff, sizeof(all));
    assert_int_equal(ward_wifi_escape_ssid(all, sizeof(all), out, sizeof(out)), 128);
    assert_memory_equal(out + 124, "\\xff", 5);
    /* Cut to fit, never inside an escape. */
    char small[6];
    const uint8_t cut[] = {'a', 'b', 0x01, 'c'};
    assert_int_equal(ward_wifi_escape_ssid(cut, sizeof(cut), small, sizeof(small)), 2);
    assert_string_equal(small, "ab");
    assert_int_equal(ward_wifi_escape_ssid(cut, sizeof(cut), small, 0), 0);
    assert_int_equal(ward_wifi_escape_ssid(cut, 0, small, sizeof(small)), 0);
    assert_string_equal(small, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cfg80211_driver),  cmocka_unit_test(legacy_driver),
        cmocka_unit_test(malformed_lines),  cmocka_unit_test(no_wifi),
        cmocka_unit_test(live_system),      cmocka_unit_test(node_exporter_wifi_fixture),
        cmocka_unit_test(family_lookup),    cmocka_unit_test(walk_checks_headers),
        cmocka_unit_test(iface_edge_cases), cmocka_unit_test(station_edge_cases),
        cmocka_unit_test(ssid_escaping),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
