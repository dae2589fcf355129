/* SPDX-License-Identifier: Apache-2.0 */
/* stats.h: per-minute message counters of the broker (RocketMQ's
 * BrokerStatsManager items TOPIC_PUT_NUMS and GROUP_GET_NUMS, spec
 * broker-internals.md §13.1), kept in memory for the last STATS_RING_MINUTES
 * minutes plus hourly sums for the last day.
 *
 * Keys: TOPIC_PUT_NUMS counts messages stored in a topic (key "topic");
 * GROUP_GET_NUMS counts messages a pull answer delivered to a group (key
 * "topic@group"). Each counter keeps, per wall-clock minute, the number of
 * messages (value) and of calls (times).
 *
 * Hot path: stats_add() takes no lock. Keys live in a fixed open-addressing
 * table whose slots are filled once with a compare-and-swap and never
 * emptied; a minute slot is one 64-bit word (minute tag | count) updated with
 * a compare-and-swap loop, so a new minute resets the slot without a lock.
 * When the table is full new keys are not counted (stats_dropped_keys()).
 *
 * Threads: stats_add and every reader run on any thread; stats_fold (which
 * moves finished minutes into the hourly ring) runs on one thread only (the
 * broker's housekeeping thread). Design: docs/design/broker.md "Statistics". */
#ifndef TERN_BROKER_STATS_H
#define TERN_BROKER_STATS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/bytes.h"

/* Minutes kept per key: the current one plus at least 60 finished ones. */
#define STATS_RING_MINUTES 64
/* Hours kept per key (a day plus the current hour). */
#define STATS_RING_HOURS 25
/* Slots of the key table (a power of two); at most 3/4 are used. */
#define STATS_TABLE_SLOTS 16384

enum stats_kind { STATS_TOPIC_PUT = 0, STATS_GROUP_GET = 1 };

struct stats_entry;

struct stats {
    _Atomic(struct stats_entry *) *slots; /* owned: STATS_TABLE_SLOTS entries */
    atomic_int nkeys;
    atomic_llong dropped; /* adds lost because the table was full */
    int64_t start_minute; /* minute of stats_init */
};

/* One minute (or hour) read back: value = messages, times = calls. */
struct stats_point {
    int64_t minute; /* epoch minute (or epoch hour for hours) */
    int64_t value, times;
};

void stats_init(struct stats *s, int64_t now_ms);
void stats_deinit(struct stats *s);

/* Counts n messages in one call. group is empty for STATS_TOPIC_PUT. */
void stats_add(struct stats *s, enum stats_kind kind, tern_bytes_t topic, tern_bytes_t group,
               int64_t n, int64_t now_ms);
/* Zeroes the counters of a deleted resource: every key of topic (both kinds)
 * when topic is set, else every GROUP_GET_NUMS key of group. The keys stay
 * in the table (a re-created name reuses them). Any thread; an add racing
 * with it may survive. */
void stats_forget(struct stats *s, tern_bytes_t topic, tern_bytes_t group);
/* Moves finished minutes into the hourly ring (one thread only). */
void stats_fold(struct stats *s, int64_t now_ms);
/* Adds lost because the key table was full. */
int64_t stats_dropped_keys(const struct stats *s);

/* The BrokerStatsData JSON of VIEW_BROKER_STATS_DATA (315) for RocketMQ's
 * statsName ("TOPIC_PUT_NUMS" or "GROUP_GET_NUMS") and statsKey ("topic" or
 * "topic@group"): {"statsDay":{..},"statsHour":{..},"statsMinute":{..}},
 * each {"avgpt":..,"sum":..,"tps":..}. Returns false when the item does not
 * exist (nothing appended). */
bool stats_view_json(struct stats *s, tern_bytes_t name, tern_bytes_t key, int64_t now_ms,
                     buf_t *out);

/* The body of the Tern code GET_STATS_MINUTES: every non-zero minute in
 * [since_minute, now] (at most the ring) of every key:
 * {"nowMinute":N,"topicPut":[{"topic":..,"minutes":[[m,v],..]},..],
 *  "groupGet":[{"topic":..,"group":..,"minutes":[[m,v],..]},..]}. The current
 * minute is included and still growing. Keys stop once the body passes
 * STATS_BODY_MAX (far below the 16 MiB frame limit); "truncated":true then
 * ends the object. */
#define STATS_BODY_MAX ((size_t)8 << 20)
void stats_minutes_json(struct stats *s, int64_t since_minute, int64_t now_ms, buf_t *out);

/* Messages per second of one key in the last finished minute (RocketMQ's
 * minute TPS: GET_CONSUME_STATS consumeTps, GET_TOPIC_STATS_INFO
 * topicPutTps). */
double stats_minute_tps(struct stats *s, enum stats_kind kind, tern_bytes_t topic,
                        tern_bytes_t group, int64_t now_ms);

/* A double as Java prints it: "6.0" when integral, else the shortest digits
 * that read back as the same value. Returns the length. */
#define STATS_DOUBLE_MAX 48
size_t stats_fmt_double(char out[STATS_DOUBLE_MAX], double d);

/* Reads minute m of one key (0 when outside the ring or never counted). */
struct stats_point stats_minute_of(struct stats *s, enum stats_kind kind, tern_bytes_t topic,
                                   tern_bytes_t group, int64_t minute, int64_t now_ms);

#endif
