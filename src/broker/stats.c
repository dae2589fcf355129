/* SPDX-License-Identifier: Apache-2.0 */
/* stats.c: per-minute message counters (see stats.h).
 *
 * A minute slot is one 64-bit word:
 *
 *   bits 63..40  minute tag (epoch minute & 0xFFFFFF)
 *   bits 39..0   count (saturates at 2^40 - 1)
 *
 * The slot of minute m is ring[m % STATS_RING_MINUTES]. A writer whose tag
 * differs from the stored one replaces the word (the slot held a minute at
 * least a ring ago); a reader treats a foreign tag as 0. Hour slots use the
 * same layout with the epoch hour as tag and are written only by the folding
 * thread. */
#include "broker/stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "common/xalloc.h"
#include "protocol/json.h"

#define TAG_SHIFT  40
#define COUNT_MASK ((UINT64_C(1) << TAG_SHIFT) - 1)
#define TAG_MASK   UINT64_C(0xFFFFFF)
#define MAX_KEYS   (STATS_TABLE_SLOTS / 4 * 3)
/* Longest "topic@group" counted (both names are shorter by protocol limits). */
#define KEY_MAX 512

/* Minutes a fold waits after a minute ends, so late adds of a thread that read
 * the clock just before the boundary are not lost. */
#define FOLD_LAG_MINUTES 2

/* Messages and calls of one minute (or hour). */
struct stats_slot {
    _Atomic uint64_t value;
    _Atomic uint64_t times;
};

struct stats_entry {
    uint64_t hash;
    int kind;
    size_t topic_len, group_len;
    struct stats_slot minutes[STATS_RING_MINUTES]; /* one cache line holds both words */
    struct stats_slot hours[STATS_RING_HOURS];
    atomic_llong folded; /* last minute moved into the hour ring; written by stats_fold */
    char key[];          /* topic, '@', group, NUL (group empty for STATS_TOPIC_PUT) */
};

static int64_t minute_of(int64_t ms)
{
    return ms / 60000;
}

static void slot_add(_Atomic uint64_t *slot, uint64_t tag, uint64_t n)
{
    uint64_t v = atomic_load_explicit(slot, memory_order_relaxed);
    for (;;) {
        uint64_t nv;
        if (v >> TAG_SHIFT == tag) {
            uint64_t c = (v & COUNT_MASK) + n;
            nv = (tag << TAG_SHIFT) | (c > COUNT_MASK ? COUNT_MASK : c);
        } else {
            nv = (tag << TAG_SHIFT) | (n > COUNT_MASK ? COUNT_MASK : n);
        }
        if (atomic_compare_exchange_weak_explicit(slot, &v, nv, memory_order_relaxed,
                                                  memory_order_relaxed))
            return;
    }
}

static int64_t slot_read(_Atomic uint64_t *slot, uint64_t tag)
{
    uint64_t v = atomic_load_explicit(slot, memory_order_relaxed);
    return v >> TAG_SHIFT == tag ? (int64_t)(v & COUNT_MASK) : 0;
}

void stats_init(struct stats *s, int64_t now_ms)
{
    memset(s, 0, sizeof *s);
    s->slots = xcalloc(STATS_TABLE_SLOTS, sizeof *s->slots);
    s->start_minute = minute_of(now_ms);
}

void stats_deinit(struct stats *s)
{
    if (!s->slots)
        return;
    for (size_t i = 0; i < STATS_TABLE_SLOTS; i++)
        free(atomic_load(&s->slots[i]));
    free(s->slots);
    s->slots = NULL;
}

int64_t stats_dropped_keys(const struct stats *s)
{
    return atomic_load_explicit(&s->dropped, memory_order_relaxed);
}

/* Builds the lookup key "<kind><topic>@<group>"; false when too long. */
static bool make_key(enum stats_kind kind, tern_bytes_t topic, tern_bytes_t group,
                     char out[KEY_MAX], size_t *len, uint64_t *hash)
{
    if (topic.len + group.len + 2 >= KEY_MAX)
        return false;
    out[0] = (char)('0' + kind);
    memcpy(out + 1, topic.ptr, topic.len);
    out[1 + topic.len] = '@';
    if (group.len)
        memcpy(out + 2 + topic.len, group.ptr, group.len);
    *len = topic.len + group.len + 2;
    *hash = fnv1a64(out, *len);
    return true;
}

static bool entry_is(const struct stats_entry *e, uint64_t hash, int kind, tern_bytes_t topic,
                     tern_bytes_t group)
{
    return e->hash == hash && e->kind == kind && e->topic_len == topic.len &&
           e->group_len == group.len && memcmp(e->key, topic.ptr, topic.len) == 0 &&
           (group.len == 0 || memcmp(e->key + topic.len + 1, group.ptr, group.len) == 0);
}

/* Finds (or with create, adds) the entry of a key. NULL when absent, or when
 * the table is full (counted in s->dropped). */
static struct stats_entry *find(struct stats *s, enum stats_kind kind, tern_bytes_t topic,
                                tern_bytes_t group, bool create, int64_t now_minute)
{
    char key[KEY_MAX];
    size_t klen;
    uint64_t hash;
    if (!s->slots || !make_key(kind, topic, group, key, &klen, &hash))
        return NULL;
    struct stats_entry *fresh = NULL;
    for (size_t i = 0; i < STATS_TABLE_SLOTS; i++) {
        size_t idx = (size_t)(hash + i) & (STATS_TABLE_SLOTS - 1);
        struct stats_entry *e = atomic_load_explicit(&s->slots[idx], memory_order_acquire);
        if (!e) {
            if (!create)
                return NULL;
            if (atomic_load_explicit(&s->nkeys, memory_order_relaxed) >= MAX_KEYS) {
                atomic_fetch_add_explicit(&s->dropped, 1, memory_order_relaxed);
                return NULL;
            }
            if (!fresh) {
                fresh = xcalloc(1, sizeof *fresh + topic.len + group.len + 2);
                fresh->hash = hash;
                fresh->kind = kind;
                fresh->topic_len = topic.len;
                fresh->group_len = group.len;
                memcpy(fresh->key, key + 1, klen - 1);
                atomic_init(&fresh->folded, now_minute - 1);
            }
            if (atomic_compare_exchange_strong_explicit(
                    &s->slots[idx], &e, fresh, memory_order_acq_rel, memory_order_acquire)) {
                atomic_fetch_add_explicit(&s->nkeys, 1, memory_order_relaxed);
                return fresh;
            }
            /* Another thread filled the slot first: e is its entry. */
        }
        if (entry_is(e, hash, kind, topic, group)) {
            free(fresh);
            return e;
        }
    }
    free(fresh);
    return NULL;
}

void stats_add(struct stats *s, enum stats_kind kind, tern_bytes_t topic, tern_bytes_t group,
               int64_t n, int64_t now_ms)
{
    if (n <= 0 || topic.len == 0)
        return;
    int64_t m = minute_of(now_ms);
    struct stats_entry *e = find(s, kind, topic, group, true, m);
    if (!e)
        return;
    size_t i = (size_t)(m % STATS_RING_MINUTES);
    uint64_t tag = (uint64_t)m & TAG_MASK;
    slot_add(&e->minutes[i].value, tag, (uint64_t)n);
    slot_add(&e->minutes[i].times, tag, 1);
}

static struct stats_point minute_point(struct stats_entry *e, int64_t m, int64_t now_minute)
{
    struct stats_point p = {m, 0, 0};
    if (m > now_minute || m <= now_minute - STATS_RING_MINUTES)
        return p;
    size_t i = (size_t)(m % STATS_RING_MINUTES);
    uint64_t tag = (uint64_t)m & TAG_MASK;
    p.value = slot_read(&e->minutes[i].value, tag);
    p.times = slot_read(&e->minutes[i].times, tag);
    return p;
}

void stats_fold(struct stats *s, int64_t now_ms)
{
    int64_t now_minute = minute_of(now_ms);
    int64_t through = now_minute - FOLD_LAG_MINUTES;
    for (size_t k = 0; s->slots && k < STATS_TABLE_SLOTS; k++) {
        struct stats_entry *e = atomic_load_explicit(&s->slots[k], memory_order_acquire);
        if (!e)
            continue;
        int64_t from = atomic_load_explicit(&e->folded, memory_order_relaxed) + 1;
        if (from <= now_minute - STATS_RING_MINUTES)
            from = now_minute - STATS_RING_MINUTES + 1;
        for (int64_t m = from; m <= through; m++) {
            struct stats_point p = minute_point(e, m, now_minute);
            if (p.value == 0 && p.times == 0)
                continue;
            int64_t h = m / 60;
            size_t i = (size_t)(h % STATS_RING_HOURS);
            uint64_t tag = (uint64_t)h & TAG_MASK;
            slot_add(&e->hours[i].value, tag, (uint64_t)p.value);
            slot_add(&e->hours[i].times, tag, (uint64_t)p.times);
        }
        if (through >= from)
            atomic_store_explicit(&e->folded, through, memory_order_release);
    }
}

void stats_forget(struct stats *s, tern_bytes_t topic, tern_bytes_t group)
{
    if (topic.len == 0 && group.len == 0)
        return;
    for (size_t k = 0; s->slots && k < STATS_TABLE_SLOTS; k++) {
        struct stats_entry *e = atomic_load_explicit(&s->slots[k], memory_order_acquire);
        if (!e)
            continue;
        bool match = topic.len
                         ? e->topic_len == topic.len && memcmp(e->key, topic.ptr, topic.len) == 0
                         : e->kind == STATS_GROUP_GET && e->group_len == group.len &&
                               memcmp(e->key + e->topic_len + 1, group.ptr, group.len) == 0;
        if (!match)
            continue;
        for (size_t i = 0; i < STATS_RING_MINUTES; i++) {
            atomic_store_explicit(&e->minutes[i].value, 0, memory_order_relaxed);
            atomic_store_explicit(&e->minutes[i].times, 0, memory_order_relaxed);
        }
        for (size_t i = 0; i < STATS_RING_HOURS; i++) {
            atomic_store_explicit(&e->hours[i].value, 0, memory_order_relaxed);
            atomic_store_explicit(&e->hours[i].times, 0, memory_order_relaxed);
        }
    }
}

struct stats_point stats_minute_of(struct stats *s, enum stats_kind kind, tern_bytes_t topic,
                                   tern_bytes_t group, int64_t minute, int64_t now_ms)
{
    int64_t now_minute = minute_of(now_ms);
    struct stats_entry *e = find(s, kind, topic, group, false, now_minute);
    struct stats_point p = {minute, 0, 0};
    return e ? minute_point(e, minute, now_minute) : p;
}

double stats_minute_tps(struct stats *s, enum stats_kind kind, tern_bytes_t topic,
                        tern_bytes_t group, int64_t now_ms)
{
    int64_t last = minute_of(now_ms) - 1;
    return (double)stats_minute_of(s, kind, topic, group, last, now_ms).value / 60.0;
}

/* ---- VIEW_BROKER_STATS_DATA (315) ----------------------------------------- */

size_t stats_fmt_double(char out[STATS_DOUBLE_MAX], double d)
{
    int n = 0;
    if (d == (double)(int64_t)d) {
        n = snprintf(out, STATS_DOUBLE_MAX, "%.1f", d);
    } else {
        for (int prec = 15; prec <= 17; prec++) {
            n = snprintf(out, STATS_DOUBLE_MAX, "%.*g", prec, d);
            if (strtod(out, NULL) == d)
                break;
        }
    }
    return n > 0 ? (size_t)n : 0;
}

static void write_double(jw_t *w, double d)
{
    char tmp[STATS_DOUBLE_MAX];
    jw_raw(w, tern_bytes(tmp, stats_fmt_double(tmp, d)));
}

/* One BrokerStatsItem over minutes: sum, tps = sum per second of the window
 * (shortened to the broker's uptime, as RocketMQ's snapshots are), avgpt =
 * messages per call. */
static void write_item(jw_t *w, const char *name, int64_t sum, int64_t times, int64_t window_min,
                       int64_t uptime_min)
{
    int64_t span = window_min < uptime_min ? window_min : uptime_min;
    if (span < 1)
        span = 1;
    jw_key(w, name);
    jw_obj_begin(w);
    jw_key(w, "avgpt");
    write_double(w, times > 0 ? (double)sum / (double)times : 0.0);
    jw_key(w, "sum");
    jw_i64(w, sum);
    jw_key(w, "tps");
    write_double(w, (double)sum / (double)(span * 60));
    jw_obj_end(w);
}

bool stats_view_json(struct stats *s, tern_bytes_t name, tern_bytes_t key, int64_t now_ms,
                     buf_t *out)
{
    enum stats_kind kind;
    tern_bytes_t topic = key, group = TERN_BYTES_NULL;
    if (tern_bytes_eq_cstr(name, "TOPIC_PUT_NUMS")) {
        kind = STATS_TOPIC_PUT;
    } else if (tern_bytes_eq_cstr(name, "GROUP_GET_NUMS")) {
        kind = STATS_GROUP_GET;
        const uint8_t *at = key.ptr ? memchr(key.ptr, '@', key.len) : NULL;
        if (!at)
            return false;
        topic = tern_bytes(key.ptr, (size_t)(at - key.ptr));
        group = tern_bytes(at + 1, key.len - topic.len - 1);
    } else {
        return false;
    }
    int64_t now_minute = minute_of(now_ms);
    struct stats_entry *e = find(s, kind, topic, group, false, now_minute);
    if (!e)
        return false;
    int64_t uptime = now_minute - s->start_minute;
    struct stats_point last = minute_point(e, now_minute - 1, now_minute);
    int64_t hour_sum = 0, hour_times = 0;
    for (int64_t m = now_minute - 60; m < now_minute; m++) {
        struct stats_point p = minute_point(e, m, now_minute);
        hour_sum += p.value;
        hour_times += p.times;
    }
    /* A day: the folded hours, then the finished minutes not folded yet. */
    int64_t folded = atomic_load_explicit(&e->folded, memory_order_acquire);
    int64_t day_sum = 0, day_times = 0, now_hour = now_minute / 60;
    for (int64_t h = now_hour - (STATS_RING_HOURS - 1); h <= now_hour; h++) {
        size_t i = (size_t)(h % STATS_RING_HOURS);
        uint64_t tag = (uint64_t)h & TAG_MASK;
        day_sum += slot_read(&e->hours[i].value, tag);
        day_times += slot_read(&e->hours[i].times, tag);
    }
    for (int64_t m = folded + 1; m < now_minute; m++) {
        struct stats_point p = minute_point(e, m, now_minute);
        day_sum += p.value;
        day_times += p.times;
    }
    jw_t w;
    jw_init(&w, out);
    jw_obj_begin(&w);
    write_item(&w, "statsDay", day_sum, day_times, 24 * 60, uptime);
    write_item(&w, "statsHour", hour_sum, hour_times, 60, uptime);
    write_item(&w, "statsMinute", last.value, last.times, 1, uptime);
    jw_obj_end(&w);
    return true;
}

/* ---- GET_STATS_MINUTES (Tern) --------------------------------------------- */

/* Lists the keys of one kind; false when the body reached STATS_BODY_MAX
 * (the remaining keys are left out). */
static bool write_minutes(struct stats *s, jw_t *w, enum stats_kind kind, int64_t since,
                          int64_t now_minute)
{
    for (size_t k = 0; k < STATS_TABLE_SLOTS; k++) {
        if (w->out->len > STATS_BODY_MAX)
            return false;
        struct stats_entry *e = atomic_load_explicit(&s->slots[k], memory_order_acquire);
        if (!e || e->kind != (int)kind)
            continue;
        bool open = false;
        for (int64_t m = since; m <= now_minute; m++) {
            struct stats_point p = minute_point(e, m, now_minute);
            if (p.value == 0)
                continue;
            if (!open) {
                jw_obj_begin(w);
                jw_key(w, "topic");
                jw_str(w, tern_bytes(e->key, e->topic_len));
                if (kind == STATS_GROUP_GET) {
                    jw_key(w, "group");
                    jw_str(w, tern_bytes(e->key + e->topic_len + 1, e->group_len));
                }
                jw_key(w, "minutes");
                jw_arr_begin(w);
                open = true;
            }
            jw_arr_begin(w);
            jw_i64(w, m);
            jw_i64(w, p.value);
            jw_arr_end(w);
        }
        if (open) {
            jw_arr_end(w);
            jw_obj_end(w);
        }
    }
    return true;
}

void stats_minutes_json(struct stats *s, int64_t since_minute, int64_t now_ms, buf_t *out)
{
    int64_t now_minute = minute_of(now_ms);
    int64_t since = since_minute;
    if (since <= now_minute - STATS_RING_MINUTES)
        since = now_minute - STATS_RING_MINUTES + 1;
    jw_t w;
    jw_init(&w, out);
    jw_obj_begin(&w);
    jw_key(&w, "nowMinute");
    jw_i64(&w, now_minute);
    bool complete = true;
    jw_key(&w, "topicPut");
    jw_arr_begin(&w);
    if (s->slots)
        complete = write_minutes(s, &w, STATS_TOPIC_PUT, since, now_minute);
    jw_arr_end(&w);
    jw_key(&w, "groupGet");
    jw_arr_begin(&w);
    if (s->slots && complete)
        complete = write_minutes(s, &w, STATS_GROUP_GET, since, now_minute);
    jw_arr_end(&w);
    if (!complete) {
        jw_key(&w, "truncated");
        jw_bool(&w, true);
    }
    jw_obj_end(&w);
}
