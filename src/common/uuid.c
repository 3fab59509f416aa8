/*
 * UUIDv7 generation and canonical-form checks.
 *
 * Layout (RFC 9562 section 5.7), most significant bit first:
 *   48 bits unix_ts_ms | 4 bits version 0111 | 12 bits rand_a |
 *   2 bits variant 10 | 62 bits rand_b
 *
 * rand_a holds a counter (section 6.2, method 1). In a new millisecond it is
 * seeded with 11 random bits, leaving the top bit clear so at least 2048 more
 * ids fit into that millisecond; within the millisecond it counts up. When it
 * would overflow, or when the wall clock steps back, the generator keeps
 * using (or advances) its last timestamp instead of the clock's, so ids
 * never go backwards. Only the two integers of that state are guarded by the
 * mutex; random bytes are drawn before taking it.
 */
#include "common/uuid.h"

#include "common/crypto.h"
#include "common/error.h"
#include "common/time-util.h"

#include <pthread.h>
#include <stdint.h>

static pthread_mutex_t state_lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t last_ms = -1;
static uint16_t counter;

static void format_canonical(const uint8_t b[16], char out[WARD_UUID_STR_LEN])
{
    static const char digits[] = "0123456789abcdef";
    char *p = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *p++ = '-';
        *p++ = digits[b[i] >> 4];
        *p++ = digits[b[i] & 0x0f];
    }
    *p = '\0';
}

int ward_uuid_v7(char out[WARD_UUID_STR_LEN])
{
    uint8_t rnd[10]; /* 2 bytes to seed the counter, 8 for rand_b */
    int r = ward_random_bytes(rnd, sizeof(rnd));
    if (r < 0)
        return r;
    uint16_t seed = (uint16_t)((rnd[0] << 8 | rnd[1]) & 0x07ff);

    int64_t now = ward_now_ms();
    if (now < 0)
        now = 0;

    pthread_mutex_lock(&state_lock);
    if (now > last_ms) {
        last_ms = now;
        counter = seed;
    } else if (counter < 0x0fff) {
        counter++;
    } else {
        last_ms++;
        counter = seed;
    }
    uint64_t ms = (uint64_t)last_ms;
    uint16_t ctr = counter;
    pthread_mutex_unlock(&state_lock);

    uint8_t b[16];
    for (int i = 0; i < 6; i++)
        b[i] = (uint8_t)(ms >> (40 - 8 * i));
    b[6] = (uint8_t)(0x70 | (ctr >> 8));
    b[7] = (uint8_t)(ctr & 0xff);
    b[8] = (uint8_t)(0x80 | (rnd[2] & 0x3f));
    for (int i = 9; i < 16; i++)
        b[i] = rnd[i - 6];
    format_canonical(b, out);
    return 0;
}

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool ward_uuid_valid(const char *s)
{
    if (!s)
        return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        /* A NUL fails both tests, so a short string stops here. */
        if (dash ? s[i] != '-' : !is_hex(s[i]))
            return false;
    }
    return s[36] == '\0';
}

int ward_uuid_normalize(const char *in, char out[WARD_UUID_STR_LEN])
{
    if (!ward_uuid_valid(in))
        return WARD_E_PARSE;
    for (int i = 0; i < 36; i++) {
        char c = in[i];
        out[i] = (c >= 'A' && c <= 'F') ? (char)(c - 'A' + 'a') : c;
    }
    out[36] = '\0';
    return 0;
}
