/*
 * Raspberry Pi health: clocks, core voltage and the firmware's throttling
 * flags.
 *
 * A Pi is recognized by its device tree model, which starts with
 * "Raspberry Pi" (/proc/device-tree/model, or the same file under
 * /sys/firmware/devicetree/base). Anything else returns -ENOENT: nothing to
 * collect here, not a failure.
 *
 * The sources, each optional (a missing one only drops its metrics):
 *
 * - cpufreq's scaling_cur_freq (or cpuinfo_cur_freq), in kHz, for the ARM
 *   clock;
 * - the firmware driver's get_throttled attribute, the firmware's throttling
 *   word printed in hex: bits 0-3 say what holds now (under-voltage, ARM
 *   frequency capped, throttled, soft temperature limit) and bits 16-19
 *   whether each has happened since boot. The word is exported raw and bit
 *   by bit as 0/1 gauges, so alerts need no bit arithmetic;
 * - the "rpi_volt" hwmon chip's in0_lcrit_alarm, the kernel's own
 *   under-voltage flag, which newer kernels offer instead of get_throttled;
 * - the VideoCore mailbox property interface, through the /dev/vcio ioctl,
 *   for the core (VPU) clock and the core voltage, which no sysfs file
 *   shows. It is only asked on the real system (an empty host root), since
 *   a recorded tree has no firmware behind it. The message is built and
 *   its answer checked by the two pure functions below, so the byte layout
 *   is unit-tested without a Pi.
 *
 * Mailbox message layout (32-bit words, in the CPU's byte order, which is
 * the firmware's little-endian on every Pi): total size in bytes, request
 * code (0; the answer sets 0x80000000 for success or 0x80000001 for a
 * request the firmware could not parse), then one tag: its id, the size of
 * its value buffer, a request/response word (0 in the request; the answer
 * sets bit 31 and puts the answer's length in bits 0-30), and the value
 * buffer (the clock or voltage id, then room for the answer); then the end
 * tag 0.
 */
#include "agent/collector.h"

#include "common/cleanup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* Property tags and ids of the firmware's mailbox interface. */
#define RPI_MBOX_TAG_GET_CLOCK_RATE 0x00030002u
#define RPI_MBOX_TAG_GET_VOLTAGE    0x00030003u
#define RPI_MBOX_CLOCK_CORE         4u /* 3 is the ARM, 5 the V3D 3D block */
#define RPI_MBOX_VOLTAGE_CORE       1u
#define RPI_MBOX_REQUEST            0x00000000u
#define RPI_MBOX_SUCCESS            0x80000000u
#define RPI_MBOX_PARSE_ERROR        0x80000001u
#define RPI_MBOX_RESPONSE_BIT       0x80000000u
#define RPI_MBOX_VOLTAGE_INVALID    0x80000000u
/* Words of a one-tag message with an 8-byte value buffer. */
#define RPI_MBOX_WORDS 8
/* The vcio driver's ioctl: the buffer is passed by pointer. */
#define RPI_VCIO_IOCTL_PROPERTY _IOWR(100, 0, char *)

/* hwmon entries looked at when searching for "rpi_volt". */
#define RPI_MAX_HWMON 64
/* Plausible ARM clock in kHz: anything above 100 GHz is a bad read. */
#define RPI_MAX_KHZ 100000000

/*
 * Writes a request for one 8-byte-answer tag (tag, with its id as the
 * request value) into buf, which holds words 32-bit words. Returns the
 * number of words used, or -ENOBUFS when buf is too small.
 */
int ward_rpi_mbox_build(uint32_t *buf, size_t words, uint32_t tag, uint32_t id);

/*
 * Checks the firmware's answer in buf (words 32-bit words) to the request
 * ward_rpi_mbox_build() made for tag and id, and stores the answer's value
 * in *value. Returns 0; -EMSGSIZE when the buffer or the answer is
 * truncated; -EIO when the firmware reports an error; -ENODATA when the
 * firmware did not answer the tag; -EBADMSG when the answer is malformed
 * or for another tag or id. *value is written only on success.
 */
int ward_rpi_mbox_parse(const uint32_t *buf, size_t words, uint32_t tag, uint32_t id,
                        uint32_t *value);

/*
 * Parses the get_throttled attribute: hexadecimal, with or without "0x",
 * at most 32 bits. Returns 0 or -EINVAL; *out written only on success.
 */
int ward_rpi_parse_throttled(const char *s, uint32_t *out);

static const struct ward_metric cpu_clock = {"rpi", "cpu_clock_hz", WARD_SAMPLE_GAUGE,
                                             "Current ARM CPU clock (cpufreq of cpu0)."};
static const struct ward_metric gpu_clock = {"rpi", "gpu_clock_hz", WARD_SAMPLE_GAUGE,
                                             "Current VideoCore core (VPU) clock."};
static const struct ward_metric core_volts = {"rpi", "core_volts", WARD_SAMPLE_GAUGE,
                                              "Current core supply voltage."};
static const struct ward_metric throttled = {
    "rpi", "throttled", WARD_SAMPLE_GAUGE,
    "The firmware's throttling flags as one number (get_throttled)."};
static const struct ward_metric uv_alarm = {
    "rpi", "under_voltage_alarm", WARD_SAMPLE_GAUGE,
    "1 when the kernel's rpi_volt sensor reports under-voltage (in0_lcrit_alarm)."};

static const struct {
    unsigned bit;
    struct ward_metric metric;
} flags[] = {
    {0, {"rpi", "under_voltage", WARD_SAMPLE_GAUGE, "1 while the supply is under-voltage."}},
    {1, {"rpi", "freq_capped", WARD_SAMPLE_GAUGE, "1 while the ARM frequency is capped."}},
    {2, {"rpi", "throttled_now", WARD_SAMPLE_GAUGE, "1 while the CPU is throttled."}},
    {3, {"rpi", "soft_temp_limit", WARD_SAMPLE_GAUGE, "1 while the soft temperature limit holds."}},
    {16,
     {"rpi", "under_voltage_occurred", WARD_SAMPLE_GAUGE,
      "1 if under-voltage happened since boot."}},
    {17, {"rpi", "freq_capped_occurred", WARD_SAMPLE_GAUGE, "1 if the ARM was capped since boot."}},
    {18,
     {"rpi", "throttled_occurred", WARD_SAMPLE_GAUGE, "1 if the CPU was throttled since boot."}},
    {19,
     {"rpi", "soft_temp_limit_occurred", WARD_SAMPLE_GAUGE,
      "1 if the soft temperature limit was reached since boot."}},
};

int ward_rpi_mbox_build(uint32_t *buf, size_t words, uint32_t tag, uint32_t id)
{
    if (words < RPI_MBOX_WORDS)
        return -ENOBUFS;
    const uint32_t msg[RPI_MBOX_WORDS] = {
        RPI_MBOX_WORDS * 4, /* total size in bytes */
        RPI_MBOX_REQUEST,
        tag,
        8, /* value buffer: the id, then room for the answer */
        0, /* request */
        id,
        0,
        0, /* end tag */
    };
    memcpy(buf, msg, sizeof(msg));
    return RPI_MBOX_WORDS;
}

int ward_rpi_mbox_parse(const uint32_t *buf, size_t words, uint32_t tag, uint32_t id,
                        uint32_t *value)
{
    if (words < RPI_MBOX_WORDS)
        return -EMSGSIZE;
    if (buf[0] < RPI_MBOX_WORDS * 4 || buf[0] > words * 4 || buf[0] % 4)
        return -EBADMSG;
    if (buf[1] == RPI_MBOX_PARSE_ERROR)
        return -EIO;
    if (buf[1] != RPI_MBOX_SUCCESS)
        return -EBADMSG;
    if (buf[2] != tag || buf[3] < 8)
        return -EBADMSG;
    if (!(buf[4] & RPI_MBOX_RESPONSE_BIT))
        return -ENODATA;
    if ((buf[4] & ~RPI_MBOX_RESPONSE_BIT) < 8)
        return -EMSGSIZE;
    if (buf[5] != id)
        return -EBADMSG;
    *value = buf[6];
    return 0;
}

int ward_rpi_parse_throttled(const char *s, uint32_t *out)
{
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        s += 2;
    size_t n = strspn(s, "0123456789abcdefABCDEF");
    if (n == 0 || s[n] != '\0')
        return -EINVAL;
    while (n > 1 && *s == '0') {
        s++;
        n--;
    }
    if (n > 8)
        return -EINVAL;
    uint32_t v = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        unsigned d = c <= '9' ? (unsigned)(c - '0') : (unsigned)((c | 0x20) - 'a' + 10);
        v = v << 4 | d;
    }
    *out = v;
    return 0;
}

static bool is_pi(const struct ward_collect_ctx *ctx)
{
    static const char *const paths[] = {"/proc/device-tree/model",
                                        "/sys/firmware/devicetree/base/model"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        char model[128]; /* the device tree string ends in a NUL, which stops strncmp */
        if (ward_collect_read(ctx, paths[i], model, sizeof(model)) > 0)
            return strncmp(model, "Raspberry Pi", 12) == 0;
    }
    return false;
}

static int emit_cpu_clock(const struct ward_collect_ctx *ctx)
{
    static const char *const paths[] = {
        "/sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq",
        "/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_cur_freq",
    };
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        int64_t khz;
        if (ward_collect_read_int(ctx, paths[i], &khz) == 0 && khz > 0 && khz <= RPI_MAX_KHZ) {
            ward_emit0(ctx, &cpu_clock, (double)khz * 1000.0);
            return 1;
        }
    }
    return 0;
}

static int emit_throttled(const struct ward_collect_ctx *ctx)
{
    char text[32];
    uint32_t v;
    if (ward_collect_read(ctx, "/sys/devices/platform/soc/soc:firmware/get_throttled", text,
                          sizeof(text)) < 0 ||
        ward_rpi_parse_throttled(text, &v) < 0)
        return 0;
    ward_emit0(ctx, &throttled, (double)v);
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
        ward_emit0(ctx, &flags[i].metric, (double)((v >> flags[i].bit) & 1u));
    return 1;
}

/* Emits in0_lcrit_alarm of the first hwmon chip named "rpi_volt". */
static int emit_uv_alarm(const struct ward_collect_ctx *ctx)
{
    char full[4096];
    if (ward_collect_path(ctx, "/sys/class/hwmon", full, sizeof(full)) < 0)
        return 0;
    DIR *d = opendir(full);
    if (!d)
        return 0;
    int done = 0;
    struct dirent *e;
    for (size_t looked = 0; !done && looked < RPI_MAX_HWMON && (e = readdir(d)); looked++) {
        char path[128], name[32];
        if (strncmp(e->d_name, "hwmon", 5) != 0 || strlen(e->d_name) > 32)
            continue;
        snprintf(path, sizeof(path), "/sys/class/hwmon/%.32s/name", e->d_name);
        if (ward_collect_read(ctx, path, name, sizeof(name)) < 0 || strcmp(name, "rpi_volt") != 0)
            continue;
        int64_t alarm;
        snprintf(path, sizeof(path), "/sys/class/hwmon/%.32s/in0_lcrit_alarm", e->d_name);
        if (ward_collect_read_int(ctx, path, &alarm) == 0 && (alarm == 0 || alarm == 1)) {
            ward_emit0(ctx, &uv_alarm, (double)alarm);
            done = 1;
        }
    }
    closedir(d);
    return done;
}

/* Asks the firmware one tag through the open vcio device. Returns 0 or a negative errno. */
static int mbox_query(int fd, uint32_t tag, uint32_t id, uint32_t *value)
{
    uint32_t buf[RPI_MBOX_WORDS] __attribute__((aligned(16)));
    int r = ward_rpi_mbox_build(buf, RPI_MBOX_WORDS, tag, id);
    if (r < 0)
        return r;
    if (ioctl(fd, RPI_VCIO_IOCTL_PROPERTY, buf) < 0)
        return -errno;
    return ward_rpi_mbox_parse(buf, RPI_MBOX_WORDS, tag, id, value);
}

static int emit_mailbox(const struct ward_collect_ctx *ctx)
{
    if (!ward_collect_live(ctx))
        return 0; /* a recorded tree has no firmware to ask */
    _cleanup_close_ int fd = open("/dev/vcio", O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return 0;
    int n = 0;
    uint32_t v;
    /* The firmware answers 0 Hz for a clock it does not have. */
    if (mbox_query(fd, RPI_MBOX_TAG_GET_CLOCK_RATE, RPI_MBOX_CLOCK_CORE, &v) == 0 && v > 0) {
        ward_emit0(ctx, &gpu_clock, (double)v);
        n++;
    }
    /* The answer is in microvolts. */
    if (mbox_query(fd, RPI_MBOX_TAG_GET_VOLTAGE, RPI_MBOX_VOLTAGE_CORE, &v) == 0 &&
        v != RPI_MBOX_VOLTAGE_INVALID && v > 0) {
        ward_emit0(ctx, &core_volts, (double)v / 1e6);
        n++;
    }
    return n;
}

static int rpi_collect(void *state, const struct ward_collect_ctx *ctx)
{
    (void)state;
    if (!is_pi(ctx))
        return -ENOENT;
    int n = emit_cpu_clock(ctx);
    n += emit_throttled(ctx);
    n += emit_uv_alarm(ctx);
    n += emit_mailbox(ctx);
    return n > 0 ? 0 : -ENOENT; /* a Pi whose sources are all hidden: nothing to report here */
}

const struct ward_collector ward_collector_rpi = {
    .size = sizeof(struct ward_collector),
    .name = "rpi",
    .default_interval_ms = 10000,
    .collect = rpi_collect,
};
