/*
 * The pure half of the wifi collector's nl80211 client: walking netlink
 * messages and decoding the attributes it asks for, over byte buffers only.
 *
 * Kept apart from the socket so that tests can feed it messages they build
 * themselves (there is no wifi hardware on a build machine). Everything here
 * is implemented in proc-net-wireless.c and trusts no length it is given:
 * every header and attribute is checked against the bytes that remain.
 */
#ifndef WARD_NL80211_H
#define WARD_NL80211_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest SSID 802.11 allows; a longer attribute is ignored. */
#define WARD_WIFI_SSID_MAX 32
/* Room for an escaped SSID: every byte as \xNN, plus the NUL. */
#define WARD_WIFI_SSID_LABEL_MAX (WARD_WIFI_SSID_MAX * 4 + 1)

/* One interface of an NL80211_CMD_GET_INTERFACE reply. */
struct ward_nl80211_iface {
    uint32_t ifindex;
    uint32_t iftype; /* NL80211_IFTYPE_*; NL80211_IFTYPE_UNSPECIFIED when absent */
    char name[IF_NAMESIZE];
    uint8_t ssid[WARD_WIFI_SSID_MAX];
    size_t ssid_len;
    bool has_ssid; /* an SSID of 1 to 32 bytes was present */
};

/*
 * Called by ward_nl_walk() with the attributes of one generic netlink
 * message (what follows its genlmsghdr), len bytes.
 */
typedef void (*ward_nl_attrs_fn)(const uint8_t *attrs, size_t len, void *arg);

/*
 * Walks the netlink messages in buf (what one recv() returned, len bytes).
 * Messages whose sequence number is not seq are ignored (stale replies);
 * those of type type are handed to fn. Returns 1 when the exchange is over
 * (NLMSG_DONE, an acknowledgement, or a reply that is not part of a dump),
 * 0 when more messages follow, the kernel's negative errno from an
 * NLMSG_ERROR, or -EBADMSG when a header is inconsistent with len.
 */
int ward_nl_walk(const uint8_t *buf, size_t len, uint32_t seq, uint16_t type, ward_nl_attrs_fn fn,
                 void *arg);

/*
 * Decodes a CTRL_CMD_NEWFAMILY reply for "nl80211" into *id. Returns 0,
 * -ENODATA when no family id (or another family) is in it, or -EBADMSG.
 */
int ward_nl80211_parse_family(const uint8_t *attrs, size_t len, uint16_t *id);

/*
 * Decodes one interface. Returns 0 with *out filled, -ENODATA when it has no
 * usable ifindex and name (a P2P device has no netdev), or -EBADMSG when an
 * attribute is malformed; *out is written only on success.
 */
int ward_nl80211_parse_iface(const uint8_t *attrs, size_t len, struct ward_nl80211_iface *out);

/*
 * Decodes the transmit bitrate of one station (NL80211_ATTR_STA_INFO ->
 * NL80211_STA_INFO_TX_BITRATE -> NL80211_RATE_INFO_BITRATE32, or the 16-bit
 * NL80211_RATE_INFO_BITRATE of old kernels) into bits per second. Returns 0,
 * -ENODATA when the rate is absent or zero (unknown), or -EBADMSG.
 */
int ward_nl80211_parse_station(const uint8_t *attrs, size_t len, uint64_t *tx_bps);

/*
 * Writes ssid (len bytes) as a label: printable ASCII as is, every other
 * byte and the backslash as \xNN. out must hold WARD_WIFI_SSID_LABEL_MAX
 * bytes for a full-length SSID; the result is cut to fit size. Returns the
 * length written.
 */
size_t ward_wifi_escape_ssid(const uint8_t *ssid, size_t len, char *out, size_t size);

#endif
