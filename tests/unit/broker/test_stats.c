/* SPDX-License-Identifier: Apache-2.0 */
/* test_stats.c: the broker's per-minute counters alone (stats.c): minute
 * slots, ring wrap, the hourly fold, the 315 and 10315 bodies, and exact
 * totals under concurrent adds. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/stats.h"
#include "common/error.h"
#include "harness.h"
#include "protocol/json.h"

#define MIN_MS  60000LL
#define T0      (29000000LL * MIN_MS) /* an epoch minute boundary */
#define TOPIC   tern_cstr("T_stats")
#define GROUP   tern_cstr("GID_stats")
#define NOGROUP TERN_BYTES_NULL

TEST(minute_slots_count_messages_and_calls)
{
    struct stats s;
    stats_init(&s, T0);
    stats_add(&s, STATS_TOPIC_PUT, TOPIC, NOGROUP, 1, T0 + 10);
    stats_add(&s, STATS_TOPIC_PUT, TOPIC, NOGROUP, 32, T0 + 59999);
    stats_add(&s, STATS_TOPIC_PUT, TOPIC, NOGROUP, 5, T0 + MIN_MS);
    stats_add(&s, STATS_GROUP_GET, TOPIC, GROUP, 7, T0 + 5);
    struct stats_point p = stats_minute_of(&s, STATS_TOPIC_PUT, TOPIC, NOGROUP, T0 / MIN_MS, T0);
    ASSERT_EQ(p.value, 33);
    ASSERT_EQ(p.times, 2);
    p = stats_minute_of(&s, STATS_TOPIC_PUT, TOPIC, NOGROUP, T0 / MIN_MS + 1, T0 + MIN_MS);
    ASSERT_EQ(p.value, 5);
    p = stats_minute_of(&s, STATS_GROUP_GET, TOPIC, GROUP, T0 / MIN_MS, T0);
    ASSERT_EQ(p.value, 7);
    /* Kinds and keys are separate counters. */
    p = stats_minute_of(&s, STATS_GROUP_GET, TOPIC, NOGROUP, T0 / MIN_MS, T0);
    ASSERT_EQ(p.value, 0);
    p = stats_minute_of(&s, STATS_TOPIC_PUT, tern_cstr("T_other"), NOGROUP, T0 / MIN_MS, T0);
    ASSERT_EQ(p.value, 0);
    stats_deinit(&s);
}

TEST(ring_wrap_replaces_old_minutes)
{
    struct stats s;
    stats_init(&s, T0);
    int64_t m0 = T0 / MIN_MS;
    stats_add(&s, STATS_TOPIC_PUT, TOPIC, NOGROUP, 4, T0);
    /* The same slot one ring later starts from zero. */
    int64_t later = T0 + STATS_RING_MINUTES * MIN_MS;
    stats_add(&s, STATS_TOPIC_PUT, TOPIC, NOGROUP, 3, later);
    struct stats_point p =
        stats_minute_of(&s, STATS_TOPIC_PUT, TOPIC, NOGROUP, m0 + STATS_RING_MINUTES, later);
    ASSERT_EQ(p.value, 3);
    ASSERT_EQ(p.times, 1);
    /* The old minute is out of the ring now. */
    p = stats_minute_of(&s, STATS_TOPIC_PUT, TOPIC, NOGROUP, m0, later);
    ASSERT_EQ(p.value, 0);
    stats_deinit(&s);
}

static const struct json_val *item(const struct json_val *root, const char *name)
{
    const struct json_val *v = json_get(root, name);
    if (!v || v->type != JSON_OBJECT)
        abort();
    return v;
}

TEST(view_stats_data_and_fold)
{
    struct stats s;
    stats_init(&s, T0);
    for (int i = 0; i < 10; i++)
        stats_add(&s, STATS_TOPIC_PUT, TOPIC, NOGROUP, 6, T0 + i * MIN_MS);
    stats_add(&s, STATS_GROUP_GET, TOPIC, GROUP, 12, T0 + 9 * MIN_MS);
    int64_t now = T0 + 10 * MIN_MS + 1000;
    for (int64_t t = T0; t <= now; t += 1000) /* the housekeeping thread, every second */
        stats_fold(&s, t);
    buf_t out;
    buf_init(&out);
    ASSERT(stats_view_json(&s, tern_cstr("TOPIC_PUT_NUMS"), TOPIC, now, &out));
    arena_t ar;
    arena_init(&ar);
    struct json_val *root;
    ASSERT_EQ(json_parse(buf_view(&out), &ar, &root), TERN_OK);
    int64_t v;
    ASSERT_EQ(json_get_i64(item(root, "statsMinute"), "sum", &v), TERN_OK);
    ASSERT_EQ(v, 6);
    ASSERT_EQ(json_get_i64(item(root, "statsHour"), "sum", &v), TERN_OK);
    ASSERT_EQ(v, 60);
    /* Folded hours plus unfolded minutes: every message once. */
    ASSERT_EQ(json_get_i64(item(root, "statsDay"), "sum", &v), TERN_OK);
    ASSERT_EQ(v, 60);
    ASSERT_BYTES_EQ(json_get_str(item(root, "statsMinute"), "avgpt"), "6.0");
    ASSERT_BYTES_EQ(json_get_str(item(root, "statsMinute"), "tps"), "0.1");
    /* The minute TPS GET_CONSUME_STATS and GET_TOPIC_STATS_INFO report. */
    ASSERT(stats_minute_tps(&s, STATS_TOPIC_PUT, TOPIC, NOGROUP, now) == 0.1);
    ASSERT(stats_minute_tps(&s, STATS_GROUP_GET, TOPIC, GROUP, now) == 0.2);
    char num[STATS_DOUBLE_MAX];
    stats_fmt_double(num, 2.0);
    ASSERT_STR_EQ(num, "2.0");
    stats_fmt_double(num, 1.0 / 60);
    ASSERT_STR_EQ(num, "0.016666666666666666");
    buf_reset(&out);
    ASSERT(stats_view_json(&s, tern_cstr("GROUP_GET_NUMS"), tern_cstr("T_stats@GID_stats"), now,
                           &out));
    ASSERT_EQ(json_parse(buf_view(&out), &ar, &root), TERN_OK);
    ASSERT_EQ(json_get_i64(item(root, "statsMinute"), "sum", &v), TERN_OK);
    ASSERT_EQ(v, 12);
    buf_reset(&out);
    ASSERT(!stats_view_json(&s, tern_cstr("GROUP_GET_NUMS"), TOPIC, now, &out));
    ASSERT(!stats_view_json(&s, tern_cstr("TOPIC_PUT_NUMS"), tern_cstr("T_none"), now, &out));
    ASSERT(!stats_view_json(&s, tern_cstr("QUEUE_PUT_NUMS"), TOPIC, now, &out));
    ASSERT_EQ(out.len, 0);
    arena_deinit(&ar);
    buf_deinit(&out);
    stats_deinit(&s);
}

TEST(minutes_body_lists_nonzero_minutes_since)
{
    struct stats s;
    stats_init(&s, T0);
    int64_t m0 = T0 / MIN_MS;
    stats_add(&s, STATS_TOPIC_PUT, TOPIC, NOGROUP, 2, T0);
    stats_add(&s, STATS_TOPIC_PUT, TOPIC, NOGROUP, 3, T0 + 2 * MIN_MS);
    stats_add(&s, STATS_GROUP_GET, TOPIC, GROUP, 4, T0 + 2 * MIN_MS);
    buf_t out;
    buf_init(&out);
    stats_minutes_json(&s, m0 + 1, T0 + 2 * MIN_MS + 5, &out);
    char want[512];
    snprintf(
        want, sizeof want,
        "{\"nowMinute\":%lld,\"topicPut\":[{\"topic\":\"T_stats\",\"minutes\":[[%lld,3]]}],"
        "\"groupGet\":[{\"topic\":\"T_stats\",\"group\":\"GID_stats\",\"minutes\":[[%lld,4]]}]}",
        (long long)(m0 + 2), (long long)(m0 + 2), (long long)(m0 + 2));
    ASSERT_BYTES_EQ(buf_view(&out), want);
    buf_reset(&out);
    /* A since before the ring is clamped to it. */
    stats_minutes_json(&s, 0, T0 + 2 * MIN_MS, &out);
    ASSERT(strstr((const char *)buf_view(&out).ptr, "[[") != NULL);
    buf_deinit(&out);
    stats_deinit(&s);
}

TEST(forget_zeroes_a_deleted_topic_or_group)
{
    struct stats s;
    stats_init(&s, T0);
    int64_t m0 = T0 / MIN_MS;
    stats_add(&s, STATS_TOPIC_PUT, TOPIC, NOGROUP, 5, T0);
    stats_add(&s, STATS_GROUP_GET, TOPIC, GROUP, 5, T0);
    stats_add(&s, STATS_GROUP_GET, tern_cstr("T_other"), GROUP, 5, T0);
    stats_add(&s, STATS_GROUP_GET, TOPIC, tern_cstr("GID_other"), 5, T0);
    stats_forget(&s, TERN_BYTES_NULL, GROUP);
    ASSERT_EQ(stats_minute_of(&s, STATS_GROUP_GET, TOPIC, GROUP, m0, T0).value, 0);
    ASSERT_EQ(stats_minute_of(&s, STATS_GROUP_GET, tern_cstr("T_other"), GROUP, m0, T0).value, 0);
    ASSERT_EQ(stats_minute_of(&s, STATS_GROUP_GET, TOPIC, tern_cstr("GID_other"), m0, T0).value, 5);
    ASSERT_EQ(stats_minute_of(&s, STATS_TOPIC_PUT, TOPIC, NOGROUP, m0, T0).value, 5);
    stats_forget(&s, TOPIC, NOGROUP);
    ASSERT_EQ(stats_minute_of(&s, STATS_TOPIC_PUT, TOPIC, NOGROUP, m0, T0).value, 0);
    ASSERT_EQ(stats_minute_of(&s, STATS_GROUP_GET, TOPIC, tern_cstr("GID_other"), m0, T0).value, 0);
    /* A re-created name counts from zero. */
    stats_add(&s, STATS_TOPIC_PUT, TOPIC, NOGROUP, 2, T0);
    ASSERT_EQ(stats_minute_of(&s, STATS_TOPIC_PUT, TOPIC, NOGROUP, m0, T0).value, 2);
    stats_deinit(&s);
}

#define THREADS 4
#define ADDS    50000

static struct stats g_shared;

static void *adder(void *arg)
{
    char topic[32];
    snprintf(topic, sizeof topic, "T_%d", (int)(intptr_t)arg % 2);
    for (int i = 0; i < ADDS; i++)
        stats_add(&g_shared, STATS_TOPIC_PUT, tern_cstr(topic), NOGROUP, 1, T0 + 100);
    return NULL;
}

TEST(concurrent_adds_are_exact)
{
    stats_init(&g_shared, T0);
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&th[i], NULL, adder, (void *)(intptr_t)i);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    int64_t total = 0;
    for (int k = 0; k < 2; k++) {
        char topic[32];
        snprintf(topic, sizeof topic, "T_%d", k);
        struct stats_point p =
            stats_minute_of(&g_shared, STATS_TOPIC_PUT, tern_cstr(topic), NOGROUP, T0 / MIN_MS, T0);
        ASSERT_EQ(p.times, p.value);
        total += p.value;
    }
    ASSERT_EQ(total, (int64_t)THREADS * ADDS);
    stats_deinit(&g_shared);
}

TEST(full_table_drops_new_keys)
{
    struct stats s;
    stats_init(&s, T0);
    char topic[32];
    for (int i = 0; i < STATS_TABLE_SLOTS; i++) {
        snprintf(topic, sizeof topic, "T_%d", i);
        stats_add(&s, STATS_TOPIC_PUT, tern_cstr(topic), NOGROUP, 1, T0);
    }
    ASSERT_EQ(stats_dropped_keys(&s), STATS_TABLE_SLOTS / 4);
    /* Keys already in still count. */
    stats_add(&s, STATS_TOPIC_PUT, tern_cstr("T_0"), NOGROUP, 1, T0);
    struct stats_point p =
        stats_minute_of(&s, STATS_TOPIC_PUT, tern_cstr("T_0"), NOGROUP, T0 / MIN_MS, T0);
    ASSERT_EQ(p.value, 2);
    stats_deinit(&s);
}

TEST(minutes_body_is_capped)
{
    struct stats s;
    stats_init(&s, T0);
    char topic[32];
    int64_t now = T0 + (STATS_RING_MINUTES - 1) * MIN_MS;
    for (int i = 0; i < STATS_TABLE_SLOTS / 4 * 3; i++) {
        snprintf(topic, sizeof topic, "T_%d", i);
        for (int m = 0; m < STATS_RING_MINUTES; m++)
            stats_add(&s, STATS_TOPIC_PUT, tern_cstr(topic), NOGROUP, 100000, T0 + m * MIN_MS);
    }
    buf_t out;
    buf_init(&out);
    stats_minutes_json(&s, 0, now, &out);
    ASSERT(out.len > STATS_BODY_MAX);
    ASSERT(out.len < STATS_BODY_MAX + 4096);
    arena_t ar;
    arena_init(&ar);
    struct json_val *root;
    ASSERT_EQ(json_parse(buf_view(&out), &ar, &root), TERN_OK);
    ASSERT(json_get_bool(root, "truncated", false));
    arena_deinit(&ar);
    buf_deinit(&out);
    stats_deinit(&s);
}

TEST_MAIN()
