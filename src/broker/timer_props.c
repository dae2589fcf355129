/* SPDX-License-Identifier: Apache-2.0 */
/* timer_props.c: delay levels (messageDelayLevel) and the send-path
 * conversion of a message that asks for a delay into a TIMER_TOPIC record
 * (spec remoting-protocol §8.8, broker-internals §5.3).
 *
 * Pure functions over the message: no locks, callable from any thread. The
 * last occurrence of a key wins, as in Java's property map. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker_config.h"
#include "broker/timer.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "protocol/message.h"
#include "protocol/props.h"
#include "store/store.h"

int timer_parse_levels(const char *spec, int64_t *levels, int max, int *n)
{
    *n = 0;
    const char *p = spec ? spec : "";
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (!*p)
            break;
        char *end;
        errno = 0;
        long long v = strtoll(p, &end, 10);
        if (end == p || errno || v < 0)
            return TERN_ECONFIG;
        int64_t unit;
        if (end[0] == 'm' && end[1] == 's') {
            unit = 1;
            end += 2;
        } else if (*end == 's') {
            unit = 1000;
            end++;
        } else if (*end == 'm') {
            unit = 60000;
            end++;
        } else if (*end == 'h') {
            unit = 3600000;
            end++;
        } else if (*end == 'd') {
            unit = 86400000;
            end++;
        } else {
            return TERN_ECONFIG;
        }
        if (*end && *end != ' ' && *end != '\t' && *end != ',')
            return TERN_ECONFIG;
        if (*n >= max || v > 100LL * 86400000)
            return TERN_ECONFIG;
        levels[(*n)++] = (int64_t)v * unit;
        p = end;
    }
    return *n > 0 ? TERN_OK : TERN_ECONFIG;
}

int timer_init(struct timer_service *ts, const struct broker_config *cfg, struct store *store)
{
    memset(ts, 0, sizeof *ts);
    if (timer_parse_levels(cfg->delay_levels, ts->level_ms, TIMER_MAX_LEVELS, &ts->nlevels) !=
        TERN_OK) {
        log_error("broker", "messageDelayLevel \"%s\" is not a list like \"1s 5s 1m 2h\"",
                  cfg->delay_levels ? cfg->delay_levels : "");
        return TERN_ECONFIG;
    }
    ts->max_delay_ms = cfg->timer_max_sec * 1000;
    ts->precision_ms = cfg->timer_prec_ms > 0 ? cfg->timer_prec_ms : 1;
    ts->bucket_ms = cfg->timer_bucket_ms;
    ts->seg_bytes = cfg->commitlog_bytes;
    ts->day_ms = cfg->timer_day_ms;
    if (ts->bucket_ms <= 0 || ts->day_ms < ts->bucket_ms || ts->day_ms % ts->bucket_ms != 0) {
        log_error("broker", "timerDataFileMs (%lld) must be a multiple of timerBucketMs (%lld)",
                  (long long)ts->day_ms, (long long)ts->bucket_ms);
        return TERN_ECONFIG;
    }
    /* Copy records that could outlive their commit-log segment: past the
     * threshold, and always past half the retention time. */
    ts->long_ms = cfg->timer_data_threshold_sec * 1000;
    int64_t half_retention = (int64_t)cfg->file_reserved_hours * 3600 * 1000 / 2;
    if (ts->long_ms > half_retention)
        ts->long_ms = half_retention;
    snprintf(ts->dir, sizeof ts->dir, "%s/timer", cfg->store_root);
    ts->store = store;
    return TERN_OK;
}

int64_t timer_level_delay(const struct timer_service *ts, int level)
{
    if (level < 1)
        level = 1;
    if (level > ts->nlevels)
        level = ts->nlevels;
    return ts->level_ms[level - 1];
}

/* Parses a decimal int64 property value. */
static bool parse_i64(tern_bytes_t v, int64_t *out)
{
    char tmp[32];
    if (v.len == 0 || v.len >= sizeof tmp)
        return false;
    memcpy(tmp, v.ptr, v.len);
    tmp[v.len] = '\0';
    char *end;
    errno = 0;
    long long x = strtoll(tmp, &end, 10);
    if (*end || errno)
        return false;
    *out = x;
    return true;
}

enum { K_DELAY, K_DELIVER_MS, K_START, K_DELAY_SEC, K_DELAY_MS, K_N };

/* The timer keys, in enum order. */
static const char *const TIMER_KEYS[K_N] = {PROP_DELAY, PROP_TIMER_DELIVER_MS,
                                            PROP_START_DELIVER_TIME, PROP_TIMER_DELAY_SEC,
                                            PROP_TIMER_DELAY_MS};

/* One pass over the properties for all the timer keys. */
static bool find_timer_keys(tern_bytes_t props, tern_bytes_t vals[K_N])
{
    return props_find(props, TIMER_KEYS, K_N, vals) != 0;
}

bool timer_is_delayed(tern_bytes_t props)
{
    tern_bytes_t v[K_N];
    unsigned got = props_find(props, TIMER_KEYS, K_N, v);
    if (got & ~(1u << K_DELAY))
        return true;
    return (got & (1u << K_DELAY)) && v[K_DELAY].len > 0 && v[K_DELAY].ptr[0] != '-' &&
           v[K_DELAY].ptr[0] != '0';
}

void timer_wrap(struct store_msg *m, tern_bytes_t props, int64_t due_ms, buf_t *scratch)
{
    static const char *const SKIP[] = {
        PROP_DELAY,          PROP_TIMER_DELIVER_MS, PROP_TIMER_DELAY_SEC,
        PROP_TIMER_DELAY_MS, PROP_REAL_TOPIC,       PROP_REAL_QID,
        TIMER_PROP_OUT_MS,   TIMER_PROP_KEY,        NULL};
    buf_reset(scratch);
    props_copy_except(scratch, props, SKIP);
    char num[24];
    props_append(scratch, PROP_REAL_TOPIC, m->topic);
    snprintf(num, sizeof num, "%d", (int)m->queue_id);
    props_append(scratch, PROP_REAL_QID, tern_cstr(num));
    snprintf(num, sizeof num, "%lld", (long long)due_ms);
    props_append(scratch, TIMER_PROP_OUT_MS, tern_cstr(num));
    m->topic = tern_cstr(TIMER_TOPIC);
    m->queue_id = 0;
    m->props = buf_view(scratch);
}

int timer_on_send(const struct timer_service *ts, struct store_msg *m, buf_t *scratch, char *err,
                  size_t errlen)
{
    tern_bytes_t vals[K_N];
    memset(vals, 0, sizeof vals);
    if (!ts->nlevels || !find_timer_keys(m->props, vals))
        return TERN_OK;
    int txn = m->sys_flag & MSG_SYSFLAG_TXN_MASK;
    if (txn == MSG_SYSFLAG_TXN_PREPARED || txn == MSG_SYSFLAG_TXN_ROLLBACK)
        return TERN_OK;
    int64_t now = clock_wall_ms(), due = 0, x;
    int which = -1;
    for (int i = 0; i < K_N && which < 0; i++)
        if (vals[i].ptr)
            which = i;
    if (!parse_i64(vals[which], &x)) {
        snprintf(err, errlen, "the timer property %s=%.*s is not an integer", TIMER_KEYS[which],
                 (int)(vals[which].len > 40 ? 40 : vals[which].len), (const char *)vals[which].ptr);
        return TERN_EINVALID;
    }
    switch (which) {
    case K_DELAY:
        if (x <= 0)
            return TERN_OK; /* DLQ diversion writes -1: no delay */
        due = now + timer_level_delay(ts, x > TIMER_MAX_LEVELS ? TIMER_MAX_LEVELS : (int)x);
        break;
    case K_DELIVER_MS:
    case K_START:
        if (x <= 0)
            return TERN_OK;
        due = x;
        break;
    case K_DELAY_SEC:
        if (x > ts->max_delay_ms / 1000 + 1)
            x = ts->max_delay_ms / 1000 + 1;
        due = now + x * 1000;
        break;
    default:
        if (x > ts->max_delay_ms + 1000)
            x = ts->max_delay_ms + 1000;
        due = now + x;
        break;
    }
    if (which != K_DELAY && due - now > ts->max_delay_ms) {
        snprintf(err, errlen,
                 "the timer message delivery time is %lld ms ahead (%s), over the limit "
                 "timerMaxDelaySec=%lld s",
                 (long long)(due - now), TIMER_KEYS[which], (long long)(ts->max_delay_ms / 1000));
        return TERN_EINVALID;
    }
    if (due <= now)
        return TERN_OK; /* due time in the past: deliver now */
    if (ts->precision_ms > 1)
        due = (due + ts->precision_ms - 1) / ts->precision_ms * ts->precision_ms;
    timer_wrap(m, m->props, due, scratch);
    return TERN_OK;
}
