/*
 * The rules of a reachability probe's settings; see agent-rules.h.
 */
#include "common/agent-rules.h"

#include <errno.h>
#include <string.h>

static int refuse(const char **field, const char **why, const char *f, const char *w)
{
    *field = f;
    *why = w;
    return -EINVAL;
}

int ward_rules_probe_timing(bool icmp, int64_t interval_ms, int64_t timeout_ms, int64_t count,
                            int64_t spacing_ms, const char **field, const char **why)
{
    if (interval_ms < WARD_PROBE_INTERVAL_MIN_MS || interval_ms > WARD_PROBE_INTERVAL_MAX_MS)
        return refuse(field, why, "interval", "must be from 1s to 24h");
    if (timeout_ms < WARD_PROBE_TIMEOUT_MIN_MS || timeout_ms > WARD_PROBE_TIMEOUT_MAX_MS)
        return refuse(field, why, "timeout", "must be from 10ms to 60s");
    if (timeout_ms > interval_ms)
        return refuse(field, why, "timeout", "must not exceed the interval");
    if (!icmp)
        return 0;
    if (count < 1 || count > WARD_PROBE_COUNT_MAX)
        return refuse(field, why, "count", "must be from 1 to 100");
    if (spacing_ms < 0 || spacing_ms > WARD_PROBE_SPACING_MAX_MS)
        return refuse(field, why, "spacing", "must be from 0 to 10s");
    if ((count - 1) * spacing_ms >= timeout_ms)
        return refuse(field, why, "count, spacing", "the echoes do not fit in the timeout");
    return 0;
}

bool ward_rules_tag_key(const char *key)
{
    size_t n = strnlen(key, WARD_PROBE_TAG_KEY_MAX + 1);
    if (n == 0 || n > WARD_PROBE_TAG_KEY_MAX || (key[0] >= '0' && key[0] <= '9'))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = key[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return false;
    }
    return strcmp(key, "type") != 0 && strcmp(key, "target") != 0;
}

bool ward_rules_label_name(const char *s, size_t n)
{
    if (n == 0 || (n >= 2 && s[0] == '_' && s[1] == '_'))
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        bool alpha = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
        if (!alpha && (i == 0 || ch < '0' || ch > '9'))
            return false;
    }
    return true;
}
