/*
 * Tests of the Raspberry Pi collector: synthetic Pi trees with exact
 * throttling bits, trees that are not a Pi, damaged files, and the
 * mailbox message builder and answer parser on hand-made buffers.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "collector-test.h"

extern const struct ward_collector ward_collector_rpi;
static const struct ward_collector *const c = &ward_collector_rpi;

int ward_rpi_mbox_build(uint32_t *buf, size_t words, uint32_t tag, uint32_t id);
int ward_rpi_mbox_parse(const uint32_t *buf, size_t words, uint32_t tag, uint32_t id,
                        uint32_t *value);
int ward_rpi_parse_throttled(const char *s, uint32_t *out);

static const char *const flag_names[8] = {
    "rpi_under_voltage",          "rpi_freq_capped",
    "rpi_throttled_now",          "rpi_soft_temp_limit",
    "rpi_under_voltage_occurred", "rpi_freq_capped_occurred",
    "rpi_throttled_occurred",     "rpi_soft_temp_limit_occurred",
};

static void eq(double got, double want)
{
    if (got != want)
        fail_msg("got %.17g, want %.17g", got, want);
}

/* Checks the eight 0/1 flags against want (bits 0-3 then 16-19, in flag_names order). */
static void expect_flags(const struct recorder *r, const int want[8])
{
    for (int i = 0; i < 8; i++) {
        double v = rec_value(r, flag_names[i], "");
        if (v != want[i])
            fail_msg("%s: got %g, want %d", flag_names[i], v, want[i]);
    }
}

static void pi4_tree(void **unused)
{
    (void)unused;
    assert_string_equal(c->name, "rpi");
    assert_int_equal(c->default_interval_ms, 10000);
    assert_int_equal(c->size, sizeof(struct ward_collector));
    struct recorder r;
    rec_init(&r);
    assert_int_equal(collector_run(c, NULL, FIXTURES "/rpi-4", NULL, &r), 0);
    /* scaling_cur_freq (1500000 kHz) wins over cpuinfo_cur_freq. */
    eq(rec_value(&r, "rpi_cpu_clock_hz", ""), 1.5e9);
    /* get_throttled "50005": under-voltage and throttled, now and since boot. */
    eq(rec_value(&r, "rpi_throttled", ""), 0x50005);
    static const int want[8] = {1, 0, 1, 0, 1, 0, 1, 0};
    expect_flags(&r, want);
    /* The rpi_volt chip is hwmon1; hwmon0 is another chip. */
    eq(rec_value(&r, "rpi_under_voltage_alarm", ""), 1);
    /* A recorded tree never asks the firmware. */
    assert_int_equal(rec_count(&r, "rpi_gpu_clock_hz"), 0);
    assert_int_equal(rec_count(&r, "rpi_core_volts"), 0);
    assert_int_equal(r.n, 1 + 1 + 8 + 1);
    for (size_t i = 0; i < r.n; i++) {
        assert_string_equal(r.samples[i].metric->category, "rpi");
        assert_int_equal(r.samples[i].metric->kind, WARD_SAMPLE_GAUGE);
        assert_string_equal(r.samples[i].labels, "");
    }
    rec_done(&r);
}

static void pi3_devicetree_model(void **unused)
{
    (void)unused;
    struct recorder r;
    rec_init(&r);
    /* The model under /sys/firmware, cpuinfo_cur_freq only, get_throttled "e000e". */
    assert_int_equal(collector_run(c, NULL, FIXTURES "/rpi-3-devicetree", NULL, &r), 0);
    eq(rec_value(&r, "rpi_cpu_clock_hz", ""), 1.4e9);
    eq(rec_value(&r, "rpi_throttled", ""), 0xe000e);
    static const int want[8] = {0, 1, 1, 1, 0, 1, 1, 1};
    expect_flags(&r, want);
    eq(rec_value(&r, "rpi_under_voltage_alarm", ""), 0);
    assert_int_equal(r.n, 11);
    rec_done(&r);
}

static void empty_model_falls_back(void **unused)
{
    (void)unused;
    struct recorder r;
    rec_init(&r);
    /* An empty /proc/device-tree/model, a Pi model under /sys/firmware; get_throttled "0". */
    assert_int_equal(collector_run(c, NULL, FIXTURES "/rpi-fallback", NULL, &r), 0);
    eq(rec_value(&r, "rpi_throttled", ""), 0);
    static const int want[8] = {0};
    expect_flags(&r, want);
    assert_int_equal(r.n, 9);
    rec_done(&r);
}

static void malformed_sources(void **unused)
{
    (void)unused;
    struct recorder r;
    rec_init(&r);
    /*
     * get_throttled "5000g", scaling_cur_freq "-5", an alarm of 2: each is
     * dropped; cpuinfo_cur_freq still gives the clock.
     */
    assert_int_equal(collector_run(c, NULL, FIXTURES "/rpi-malformed", NULL, &r), 0);
    eq(rec_value(&r, "rpi_cpu_clock_hz", ""), 6e8);
    assert_int_equal(rec_count(&r, "rpi_throttled"), 0);
    assert_int_equal(rec_count(&r, "rpi_under_voltage"), 0);
    assert_int_equal(rec_count(&r, "rpi_under_voltage_alarm"), 0);
    assert_int_equal(r.n, 1);
    /*
     * Nine hex digits and a non-numeric clock: a Pi with nothing readable is
     * treated as absent (no alarm), as in a container that hides them.
     */
    assert_int_equal(collector_run(c, NULL, FIXTURES "/rpi-broken", NULL, &r), -ENOENT);
    assert_int_equal(r.n, 0);
    rec_done(&r);
}

static void not_a_pi(void **unused)
{
    (void)unused;
    struct recorder r;
    rec_init(&r);
    /* Another board with Pi-like files, an empty model, no model, no tree at all. */
    assert_int_equal(collector_run(c, NULL, FIXTURES "/rpi-notpi", NULL, &r), -ENOENT);
    assert_int_equal(r.n, 0);
    assert_int_equal(collector_run(c, NULL, FIXTURES "/rpi-emptymodel", NULL, &r), -ENOENT);
    assert_int_equal(r.n, 0);
    assert_int_equal(collector_run(c, NULL, NODE_FIXTURE, NULL, &r), -ENOENT);
    assert_int_equal(r.n, 0);
    assert_int_equal(collector_run(c, NULL, FIXTURES "/empty", NULL, &r), -ENOENT);
    assert_int_equal(r.n, 0);
    rec_done(&r);
}

static void throttled_parser(void **unused)
{
    (void)unused;
    static const struct {
        const char *text;
        int ret;
        uint32_t value;
    } cases[] = {
        {"50005", 0, 0x50005},
        {"0x50005", 0, 0x50005},
        {"0X0", 0, 0},
        {"0", 0, 0},
        {"ffffffff", 0, 0xffffffffu},
        {"FFFFFFFF", 0, 0xffffffffu},
        {"0000000000050005", 0, 0x50005},
        {"100000000", -EINVAL, 0},
        {"", -EINVAL, 0},
        {"0x", -EINVAL, 0},
        {"5000g", -EINVAL, 0},
        {" 5", -EINVAL, 0},
        {"-5", -EINVAL, 0},
        {"5 ", -EINVAL, 0},
        {"0x0x5", -EINVAL, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint32_t v = 0xdeadbeef;
        int ret = ward_rpi_parse_throttled(cases[i].text, &v);
        if (ret != cases[i].ret)
            fail_msg("\"%s\": returned %d, want %d", cases[i].text, ret, cases[i].ret);
        if (v != (ret == 0 ? cases[i].value : 0xdeadbeef))
            fail_msg("\"%s\": value 0x%x", cases[i].text, v);
    }
}

static void mailbox_request_layout(void **unused)
{
    (void)unused;
    uint32_t buf[10];
    memset(buf, 0xa5, sizeof(buf));
    assert_int_equal(ward_rpi_mbox_build(buf, 10, 0x00030002, 4), 8);
    static const uint32_t clock[8] = {32, 0, 0x00030002, 8, 0, 4, 0, 0};
    assert_memory_equal(buf, clock, sizeof(clock));
    assert_int_equal(buf[8], 0xa5a5a5a5); /* nothing written past the message */
    assert_int_equal(ward_rpi_mbox_build(buf, 8, 0x00030003, 1), 8);
    static const uint32_t volt[8] = {32, 0, 0x00030003, 8, 0, 1, 0, 0};
    assert_memory_equal(buf, volt, sizeof(volt));
    /* Too small a buffer is refused and left alone. */
    memset(buf, 0xa5, sizeof(buf));
    assert_int_equal(ward_rpi_mbox_build(buf, 7, 0x00030002, 4), -ENOBUFS);
    assert_int_equal(buf[0], 0xa5a5a5a5);
}

/* A well-formed answer to GET_CLOCK_RATE of clock 4: 500 MHz, and a spare word. */
static void good_answer(uint32_t buf[9])
{
    const uint32_t a[9] = {32, 0x80000000, 0x00030002, 8, 0x80000008, 4, 500000000, 0, 0};
    memcpy(buf, a, sizeof(a));
}

static int parse(const uint32_t *buf, size_t words, uint32_t *v)
{
    return ward_rpi_mbox_parse(buf, words, 0x00030002, 4, v);
}

static void mailbox_answer_parsing(void **unused)
{
    (void)unused;
    uint32_t buf[9], v = 7;
    good_answer(buf);
    assert_int_equal(parse(buf, 8, &v), 0);
    assert_int_equal(v, 500000000);

    /* A voltage answer, in microvolts. */
    const uint32_t volt[8] = {32, 0x80000000, 0x00030003, 8, 0x80000008, 1, 1200000, 0};
    assert_int_equal(ward_rpi_mbox_parse(volt, 8, 0x00030003, 1, &v), 0);
    assert_int_equal(v, 1200000);

    /* A longer answer than asked: the first two words are still the id and value. */
    good_answer(buf);
    buf[4] = 0x8000000c;
    assert_int_equal(parse(buf, 8, &v), 0);

    struct {
        size_t word;
        uint32_t value;
        size_t words;
        int ret;
    } bad[] = {
        {0, 0, 7, -EMSGSIZE},          /* buffer cut short */
        {4, 0x80000004, 8, -EMSGSIZE}, /* answer shorter than 8 bytes */
        {1, 0x80000001, 8, -EIO},      /* the firmware could not parse the request */
        {1, 0x00000000, 8, -EBADMSG},  /* never processed */
        {4, 0x00000000, 8, -ENODATA},  /* tag not answered: no response bit */
        {2, 0x00030003, 8, -EBADMSG},  /* another tag */
        {5, 3, 8, -EBADMSG},           /* another clock */
        {3, 4, 8, -EBADMSG},           /* value buffer too small */
        {0, 64, 8, -EBADMSG},          /* claims more than the buffer holds */
        {0, 34, 9, -EBADMSG},          /* not a whole number of words */
        {0, 28, 8, -EBADMSG},          /* too short for one tag */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        good_answer(buf);
        buf[bad[i].word] = bad[i].value;
        v = 7;
        int ret = parse(buf, bad[i].words, &v);
        if (ret != bad[i].ret)
            fail_msg("case %zu: returned %d, want %d", i, ret, bad[i].ret);
        assert_int_equal(v, 7); /* untouched on failure */
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pi4_tree),
        cmocka_unit_test(pi3_devicetree_model),
        cmocka_unit_test(empty_model_falls_back),
        cmocka_unit_test(malformed_sources),
        cmocka_unit_test(not_a_pi),
        cmocka_unit_test(throttled_parser),
        cmocka_unit_test(mailbox_request_layout),
        cmocka_unit_test(mailbox_answer_parsing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
