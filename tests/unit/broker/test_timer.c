/* SPDX-License-Identifier: Apache-2.0 */
/* test_timer.c: scheduled delivery end to end through an in-process broker:
 * absolute/relative timer properties, __STARTDELIVERTIME, DELAY levels, past
 * due times, the 40-day limit, exactly-once delivery, pending timers across a
 * broker restart, the send-back retry back-off and dead-lettering, and long
 * timers (record copies in timer/days/) across retention, day-index splits
 * and restarts.
 * Latency bounds are generous (shared CI cores); measured figures print. */
#include "broker/timer.h"

#include <dirent.h>
#include <stdarg.h>

#include "broker/broker_int.h"
#include "broker_fixture.h"
#include "common/buf.h"
#include "harness.h"
#include "protocol/message.h"
#include "protocol/msgid.h"
#include "protocol/props.h"
#include "store/store.h"

#define SUB_FLAG 4
#define LATE_MS  2000 /* generous bound on delivery lateness */

static int send_props(struct fixture *f, const char *topic, const char *body, struct rresp *out,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Sends one message (V2 header) with properties built from fmt, where '|'
 * stands for 0x01 and ';' for 0x02. */
static int send_props(struct fixture *f, const char *topic, const char *body, struct rresp *out,
                      const char *fmt, ...)
{
    char props[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(props, sizeof props, fmt, ap);
    va_end(ap);
    for (char *p = props; *p; p++)
        *p = *p == '|' ? 0x01 : *p == ';' ? 0x02 : *p;
    struct rcmd req;
    rcmd_init(&req);
    req.code = RC_SEND_MESSAGE_V2;
    rcmd_add_cstr(&req, "a", "PG");
    rcmd_add_cstr(&req, "b", topic);
    rcmd_add_cstr(&req, "c", "TBW102");
    rcmd_add_cstr(&req, "d", "4");
    rcmd_add_i64(&req, "e", 0);
    rcmd_add_cstr(&req, "f", "0");
    rcmd_add_i64(&req, "g", clock_wall_ms());
    rcmd_add_cstr(&req, "h", "0");
    rcmd_add_cstr(&req, "i", props);
    rcmd_add_cstr(&req, "j", "0");
    rcmd_add_cstr(&req, "m", "false");
    req.body = tern_cstr(body);
    int rc = fx_call(f, NULL, &req, out);
    rcmd_deinit(&req);
    return rc;
}

/* Pulls queue qid of topic from offset off; appends raw records to out and
 * returns the count (0 when none). */
static int pull_raw(struct fixture *f, const char *topic, int qid, int64_t off, buf_t *out)
{
    struct rcmd req;
    rcmd_init(&req);
    req.code = RC_PULL_MESSAGE;
    rcmd_add_cstr(&req, "consumerGroup", "TCG");
    rcmd_add_cstr(&req, "topic", topic);
    rcmd_add_i64(&req, "queueId", qid);
    rcmd_add_i64(&req, "queueOffset", off);
    rcmd_add_cstr(&req, "maxMsgNums", "32");
    rcmd_add_i64(&req, "sysFlag", SUB_FLAG);
    rcmd_add_cstr(&req, "commitOffset", "0");
    rcmd_add_i64(&req, "suspendTimeoutMillis", 0);
    rcmd_add_cstr(&req, "subscription", "*");
    rcmd_add_cstr(&req, "subVersion", "0");
    struct rresp r;
    int n = 0;
    if (fx_call(f, NULL, &req, &r) == TERN_OK && r.cmd.code == RESP_SUCCESS) {
        size_t pos = 0;
        struct msg_record m;
        while (pos < r.cmd.body.len &&
               msg_decode(r.cmd.body.ptr + pos, r.cmd.body.len - pos, &m) == TERN_OK) {
            buf_append(out, r.cmd.body.ptr + pos, (size_t)m.total_size);
            pos += (size_t)m.total_size;
            n++;
        }
    }
    rresp_deinit(&r);
    rcmd_deinit(&req);
    return n;
}

/* Polls until want records are in the queue (from offset 0) or timeout_ms
 * passes; decodes them into m (views into raw). Returns the count. */
static int wait_msgs(struct fixture *f, const char *topic, int qid, int want, int timeout_ms,
                     buf_t *raw, struct msg_record *m, int max)
{
    int64_t deadline = clock_mono_ms() + timeout_ms;
    int n = 0;
    buf_reset(raw);
    for (;;) {
        n += pull_raw(f, topic, qid, n, raw);
        if (n >= want || clock_mono_ms() >= deadline)
            break;
        usleep(5000);
    }
    size_t pos = 0;
    int k = 0;
    while (pos < raw->len && k < max && msg_decode(raw->data + pos, raw->len - pos, &m[k]) == 0) {
        pos += (size_t)m[k].total_size;
        k++;
    }
    return k;
}

static void start_with(struct fixture *f, const char *levels)
{
    ASSERT_EQ(fx_prepare(f), 0);
    fx_set(f, "timerPrecisionMs", "1");
    if (levels)
        fx_set(f, "messageDelayLevel", levels);
    ASSERT_EQ(fx_start_broker(f), TERN_OK);
}

TEST(parse_levels)
{
    int64_t lv[TIMER_MAX_LEVELS];
    int n;
    ASSERT_EQ(timer_parse_levels("1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h", lv,
                                 TIMER_MAX_LEVELS, &n),
              TERN_OK);
    ASSERT_EQ(n, 18);
    ASSERT_EQ(lv[0], 1000);
    ASSERT_EQ(lv[2], 10000);
    ASSERT_EQ(lv[17], 7200000);
    ASSERT_EQ(timer_parse_levels("100ms 2d", lv, TIMER_MAX_LEVELS, &n), TERN_OK);
    ASSERT_EQ(n, 2);
    ASSERT_EQ(lv[0], 100);
    ASSERT_EQ(lv[1], 2LL * 86400000);
    ASSERT(timer_parse_levels("", lv, TIMER_MAX_LEVELS, &n) != TERN_OK);
    ASSERT(timer_parse_levels("1x", lv, TIMER_MAX_LEVELS, &n) != TERN_OK);
    ASSERT(timer_parse_levels("5", lv, TIMER_MAX_LEVELS, &n) != TERN_OK);
    ASSERT(timer_parse_levels("1s 2sx", lv, TIMER_MAX_LEVELS, &n) != TERN_OK);
}

TEST(absolute_and_relative_timers)
{
    struct fixture f;
    start_with(&f, NULL);
    struct rresp r;
    int64_t t0 = clock_wall_ms();
    int64_t due[4] = {t0 + 1500, t0 + 1700, t0 + 1000, t0 + 1200};
    ASSERT_EQ(send_props(&f, "TmA", "abs", &r, "TIMER_DELIVER_MS|%lld;KEYS|k0;TAGS|ta;u|0;",
                         (long long)due[0]),
              TERN_OK);
    ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
    rresp_deinit(&r);
    ASSERT_EQ(
        send_props(&f, "TmA", "ons", &r, "__STARTDELIVERTIME|%lld;KEYS|k1;u|1;", (long long)due[1]),
        TERN_OK);
    ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
    rresp_deinit(&r);
    ASSERT_EQ(send_props(&f, "TmA", "sec", &r, "TIMER_DELAY_SEC|1;u|2;"), TERN_OK);
    ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
    rresp_deinit(&r);
    ASSERT_EQ(send_props(&f, "TmA", "ms", &r, "TIMER_DELAY_MS|1200;UNIQ_KEY|U3;u|3;"), TERN_OK);
    ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
    rresp_deinit(&r);
    buf_t raw;
    buf_init(&raw);
    struct msg_record m[8];
    /* Nothing visible before the first due time. */
    ASSERT_EQ(pull_raw(&f, "TmA", 0, 0, &raw), 0);
    int n = wait_msgs(&f, "TmA", 0, 4, 10000, &raw, m, 8);
    ASSERT_EQ(n, 4);
    /* Delivered in due order: sec (1000), ms (1200), abs (1500), ons (1700). */
    const char *order[4] = {"sec", "ms", "abs", "ons"};
    int idx[4] = {2, 3, 0, 1};
    int64_t worst = 0;
    for (int i = 0; i < 4; i++) {
        ASSERT_BYTES_EQ(m[i].body, order[i]);
        ASSERT(m[i].store_ts >= due[idx[i]]);
        int64_t late = m[i].store_ts - due[idx[i]];
        if (late > worst)
            worst = late;
        ASSERT(late < LATE_MS);
        tern_bytes_t v;
        ASSERT(!props_get(m[i].props, TIMER_PROP_OUT_MS, &v));
        ASSERT(!props_get(m[i].props, PROP_REAL_TOPIC, &v));
        ASSERT(!props_get(m[i].props, PROP_REAL_QID, &v));
        ASSERT(!props_get(m[i].props, PROP_TIMER_DELIVER_MS, &v));
        ASSERT(!props_get(m[i].props, PROP_TIMER_DELAY_SEC, &v));
        ASSERT(props_get(m[i].props, PROP_UNIQ_KEY, &v));
        ASSERT(props_get(m[i].props, "u", &v));
        ASSERT_EQ(v.len, 1);
        ASSERT_EQ(v.ptr[0], '0' + idx[i]);
    }
    tern_bytes_t v;
    ASSERT(props_get(m[2].props, PROP_KEYS, &v));
    ASSERT_BYTES_EQ(v, "k0");
    ASSERT(props_get(m[2].props, PROP_TAGS, &v));
    ASSERT_BYTES_EQ(v, "ta");
    ASSERT(props_get(m[1].props, PROP_UNIQ_KEY, &v));
    ASSERT_BYTES_EQ(v, "U3");
    printf("  timer lateness (store time - due), worst of 4: %lld ms\n", (long long)worst);
    /* Delivered once. */
    usleep(300000);
    buf_reset(&raw);
    ASSERT_EQ(pull_raw(&f, "TmA", 0, 4, &raw), 0);
    buf_deinit(&raw);
    fx_stop(&f);
}

TEST(delay_levels_past_and_limits)
{
    struct fixture f;
    start_with(&f, "100ms 300ms 600ms");
    struct rresp r;
    int64_t t0 = clock_wall_ms();
    /* DELAY wins over a timer property; levels beyond N clamp to N. */
    ASSERT_EQ(send_props(&f, "TmL", "lvl2", &r, "TIMER_DELIVER_MS|%lld;DELAY|2;",
                         (long long)(t0 + 3600000)),
              TERN_OK);
    ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
    rresp_deinit(&r);
    ASSERT_EQ(send_props(&f, "TmL", "lvl99", &r, "DELAY|99;"), TERN_OK);
    ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
    rresp_deinit(&r);
    /* A past due time is stored at once on the real topic. */
    ASSERT_EQ(send_props(&f, "TmP", "past", &r, "TIMER_DELIVER_MS|%lld;", (long long)(t0 - 5000)),
              TERN_OK);
    ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
    rresp_deinit(&r);
    buf_t raw;
    buf_init(&raw);
    ASSERT_EQ(pull_raw(&f, "TmP", 0, 0, &raw), 1);
    /* More than 40 days ahead, or malformed: MESSAGE_ILLEGAL. */
    ASSERT_EQ(send_props(&f, "TmL", "far", &r, "__STARTDELIVERTIME|%lld;",
                         (long long)(t0 + 41LL * 86400000)),
              TERN_OK);
    ASSERT_EQ(r.cmd.code, RESP_MESSAGE_ILLEGAL);
    ASSERT(memmem(r.cmd.remark.ptr, r.cmd.remark.len, "timerMaxDelaySec", 16));
    rresp_deinit(&r);
    ASSERT_EQ(send_props(&f, "TmL", "far", &r, "TIMER_DELAY_SEC|3456001;"), TERN_OK);
    ASSERT_EQ(r.cmd.code, RESP_MESSAGE_ILLEGAL);
    rresp_deinit(&r);
    ASSERT_EQ(send_props(&f, "TmL", "bad", &r, "TIMER_DELAY_MS|soon;"), TERN_OK);
    ASSERT_EQ(r.cmd.code, RESP_MESSAGE_ILLEGAL);
    rresp_deinit(&r);
    /* 39 days is accepted (and stays pending). */
    ASSERT_EQ(send_props(&f, "TmF", "later", &r, "TIMER_DELAY_SEC|%d;", 39 * 86400), TERN_OK);
    ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
    rresp_deinit(&r);

    struct msg_record m[4];
    int n = wait_msgs(&f, "TmL", 0, 2, 10000, &raw, m, 4);
    ASSERT_EQ(n, 2);
    ASSERT_BYTES_EQ(m[0].body, "lvl2");
    ASSERT(m[0].store_ts >= t0 + 300);
    ASSERT(m[0].store_ts < t0 + 300 + LATE_MS);
    ASSERT_BYTES_EQ(m[1].body, "lvl99");
    ASSERT(m[1].store_ts >= t0 + 600);
    tern_bytes_t v;
    ASSERT(!props_get(m[0].props, PROP_DELAY, &v));
    ASSERT(!props_get(m[0].props, PROP_TIMER_DELIVER_MS, &v));
    buf_reset(&raw);
    ASSERT_EQ(pull_raw(&f, "TmF", 0, 0, &raw), 0);
    buf_deinit(&raw);
    fx_stop(&f);
}

TEST(pending_timers_survive_restart)
{
    struct fixture f;
    start_with(&f, NULL);
    struct rresp r;
    int64_t t0 = clock_wall_ms();
    enum { N = 20 };
    int64_t due[N];
    for (int i = 0; i < N; i++) {
        due[i] = t0 + 1200 + i * 100;
        char body[16];
        snprintf(body, sizeof body, "m%02d", i);
        ASSERT_EQ(send_props(&f, "TmR", body, &r, "TIMER_DELIVER_MS|%lld;", (long long)due[i]),
                  TERN_OK);
        ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
        rresp_deinit(&r);
    }
    /* Stop before anything is due, restart on the same directory. */
    broker_stop(f.b);
    f.b = NULL;
    ASSERT_EQ(fx_start_broker(&f), TERN_OK);
    buf_t raw;
    buf_init(&raw);
    struct msg_record m[N + 4];
    int n = wait_msgs(&f, "TmR", 0, N, 15000, &raw, m, N + 4);
    ASSERT_EQ(n, N);
    for (int i = 0; i < N; i++) {
        char body[16];
        snprintf(body, sizeof body, "m%02d", i);
        ASSERT_BYTES_EQ(m[i].body, body);
        ASSERT(m[i].store_ts >= due[i]);
    }
    /* Stop again halfway through nothing pending: no duplicates after. */
    broker_stop(f.b);
    f.b = NULL;
    ASSERT_EQ(fx_start_broker(&f), TERN_OK);
    usleep(500000);
    buf_reset(&raw);
    ASSERT_EQ(pull_raw(&f, "TmR", 0, N, &raw), 0);
    buf_deinit(&raw);
    fx_stop(&f);
}

static int send_back(struct fixture *f, int64_t phy, int delay, int max, struct rresp *r)
{
    struct rcmd req;
    rcmd_init(&req);
    req.code = RC_CONSUMER_SEND_MSG_BACK;
    rcmd_add_i64(&req, "offset", phy);
    rcmd_add_cstr(&req, "group", "TSB");
    rcmd_add_i64(&req, "delayLevel", delay);
    rcmd_add_cstr(&req, "originTopic", "TmS");
    rcmd_add_i64(&req, "maxReconsumeTimes", max);
    int rc = fx_call(f, NULL, &req, r);
    rcmd_deinit(&req);
    return rc;
}

TEST(send_back_backoff_and_dlq)
{
    struct fixture f;
    start_with(&f, "100ms 200ms 300ms 400ms 500ms");
    struct rresp r;
    ASSERT_EQ(send_props(&f, "TmS", "retry me", &r, "TAGS|tg;KEYS|kk;UNIQ_KEY|UQ1;who|me;"),
              TERN_OK);
    char id[64];
    fx_field(&r, "msgId", id, sizeof id);
    rresp_deinit(&r);
    struct msg_host h;
    int64_t phy;
    ASSERT_EQ(msgid_decode(tern_cstr(id), &h, &phy), TERN_OK);
    buf_t raw;
    buf_init(&raw);
    struct msg_record m[4];
    /* Failure 1: level 3 + 0 = 300 ms. */
    int64_t t1 = clock_wall_ms();
    ASSERT_EQ(send_back(&f, phy, 0, 2, &r), TERN_OK);
    ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
    rresp_deinit(&r);
    ASSERT_EQ(pull_raw(&f, "%RETRY%TSB", 0, 0, &raw), 0);
    ASSERT_EQ(wait_msgs(&f, "%RETRY%TSB", 0, 1, 10000, &raw, m, 4), 1);
    ASSERT(m[0].store_ts >= t1 + 300);
    ASSERT(m[0].store_ts < t1 + 300 + LATE_MS);
    printf("  first retry after %lld ms (level 3 = 300 ms)\n", (long long)(m[0].store_ts - t1));
    ASSERT_EQ(m[0].reconsume_times, 1);
    ASSERT_BYTES_EQ(m[0].body, "retry me");
    tern_bytes_t v;
    ASSERT(props_get(m[0].props, PROP_RETRY_TOPIC, &v));
    ASSERT_BYTES_EQ(v, "TmS");
    ASSERT(props_get(m[0].props, PROP_ORIGIN_MESSAGE_ID, &v));
    ASSERT_BYTES_EQ(v, id);
    ASSERT(props_get(m[0].props, PROP_UNIQ_KEY, &v));
    ASSERT_BYTES_EQ(v, "UQ1");
    ASSERT(props_get(m[0].props, "who", &v));
    ASSERT_BYTES_EQ(v, "me");
    ASSERT(!props_get(m[0].props, PROP_DELAY, &v));
    ASSERT(!props_get(m[0].props, PROP_REAL_TOPIC, &v));
    int64_t retry_phy = m[0].phy_off;
    /* Failure 2: level 3 + 1 = 400 ms. */
    int64_t t2 = clock_wall_ms();
    ASSERT_EQ(send_back(&f, retry_phy, 0, 2, &r), TERN_OK);
    ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
    rresp_deinit(&r);
    ASSERT_EQ(wait_msgs(&f, "%RETRY%TSB", 0, 2, 10000, &raw, m, 4), 2);
    ASSERT(m[1].store_ts >= t2 + 400);
    ASSERT_EQ(m[1].reconsume_times, 2);
    retry_phy = m[1].phy_off;
    /* Failure 3: reconsumeTimes 2 >= max 2: dead letter at once. */
    ASSERT_EQ(send_back(&f, retry_phy, 0, 2, &r), TERN_OK);
    ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
    rresp_deinit(&r);
    buf_reset(&raw);
    ASSERT_EQ(pull_raw(&f, "%DLQ%TSB", 0, 0, &raw), 1);
    ASSERT_EQ(msg_decode(raw.data, raw.len, &m[0]), TERN_OK);
    ASSERT_EQ(m[0].reconsume_times, 3);
    ASSERT_BYTES_EQ(m[0].body, "retry me");
    ASSERT(props_get(m[0].props, PROP_ORIGIN_MESSAGE_ID, &v));
    ASSERT_BYTES_EQ(v, id);
    ASSERT(props_get(m[0].props, PROP_TAGS, &v));
    ASSERT_BYTES_EQ(v, "tg");
    ASSERT(props_get(m[0].props, PROP_KEYS, &v));
    ASSERT_BYTES_EQ(v, "kk");
    ASSERT(props_get(m[0].props, "who", &v));
    ASSERT_BYTES_EQ(v, "me");
    ASSERT(props_get(m[0].props, PROP_UNIQ_KEY, &v));
    ASSERT_BYTES_EQ(v, "UQ1");
    /* delayLevel -1: straight to the DLQ. */
    ASSERT_EQ(send_back(&f, phy, -1, 16, &r), TERN_OK);
    ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
    rresp_deinit(&r);
    buf_reset(&raw);
    ASSERT_EQ(pull_raw(&f, "%DLQ%TSB", 0, 1, &raw), 1);
    /* Explicit level 1 (100 ms). */
    int64_t t3 = clock_wall_ms();
    ASSERT_EQ(send_back(&f, phy, 1, 16, &r), TERN_OK);
    ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
    rresp_deinit(&r);
    ASSERT_EQ(wait_msgs(&f, "%RETRY%TSB", 0, 3, 10000, &raw, m, 4), 3);
    ASSERT(m[2].store_ts >= t3 + 100);
    buf_deinit(&raw);
    fx_stop(&f);
}

TEST(send_to_retry_topic_over_limit_goes_to_dlq_undelayed)
{
    struct fixture f;
    start_with(&f, "100ms 200ms 300ms");
    struct rcmd req;
    rcmd_init(&req);
    req.code = RC_SEND_MESSAGE;
    rcmd_add_cstr(&req, "producerGroup", "PG");
    rcmd_add_cstr(&req, "topic", "%RETRY%TRG");
    rcmd_add_cstr(&req, "defaultTopic", "TBW102");
    rcmd_add_cstr(&req, "defaultTopicQueueNums", "4");
    rcmd_add_i64(&req, "queueId", 0);
    rcmd_add_cstr(&req, "sysFlag", "0");
    rcmd_add_i64(&req, "bornTimestamp", clock_wall_ms());
    rcmd_add_cstr(&req, "flag", "0");
    rcmd_add_cstr(&req, "properties",
                  "DELAY\x01"
                  "3\x02x\x01y\x02");
    rcmd_add_cstr(&req, "reconsumeTimes", "5");
    rcmd_add_cstr(&req, "maxReconsumeTimes", "2");
    req.body = tern_cstr("dead");
    struct rresp r;
    ASSERT_EQ(fx_call(&f, NULL, &req, &r), TERN_OK);
    ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
    rresp_deinit(&r);
    buf_t raw;
    buf_init(&raw);
    ASSERT_EQ(pull_raw(&f, "%DLQ%TRG", 0, 0, &raw), 1);
    /* Within the limit, the client-side fallback's DELAY=3 is honoured. */
    rcmd_deinit(&req);
    rcmd_init(&req);
    req.code = RC_SEND_MESSAGE;
    rcmd_add_cstr(&req, "producerGroup", "PG");
    rcmd_add_cstr(&req, "topic", "%RETRY%TRG");
    rcmd_add_i64(&req, "queueId", 0);
    rcmd_add_cstr(&req, "sysFlag", "0");
    rcmd_add_i64(&req, "bornTimestamp", clock_wall_ms());
    rcmd_add_cstr(&req, "flag", "0");
    rcmd_add_cstr(&req, "properties",
                  "DELAY\x01"
                  "3\x02");
    rcmd_add_cstr(&req, "reconsumeTimes", "1");
    rcmd_add_cstr(&req, "maxReconsumeTimes", "2");
    req.body = tern_cstr("again");
    int64_t t0 = clock_wall_ms();
    ASSERT_EQ(fx_call(&f, NULL, &req, &r), TERN_OK);
    ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
    rresp_deinit(&r);
    rcmd_deinit(&req);
    struct msg_record m[2];
    buf_reset(&raw);
    ASSERT_EQ(pull_raw(&f, "%RETRY%TRG", 0, 0, &raw), 0);
    ASSERT_EQ(wait_msgs(&f, "%RETRY%TRG", 0, 1, 10000, &raw, m, 2), 1);
    ASSERT(m[0].store_ts >= t0 + 300);
    ASSERT_EQ(m[0].reconsume_times, 1);
    buf_deinit(&raw);
    fx_stop(&f);
}

/* Files in <store>/timer/days ending in suffix. */
static int count_day_files(struct fixture *f, const char *suffix)
{
    char path[256];
    snprintf(path, sizeof path, "%s/timer/days", f->dir);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *de;
    size_t sl = strlen(suffix);
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l > sl && strcmp(de->d_name + l - sl, suffix) == 0)
            n++;
    }
    closedir(d);
    return n;
}

/* Long timers with tiny day files and buckets: every timer copies its record
 * (threshold 0), days last 2 s, buckets 1 s. */
static void start_long(struct fixture *f, const char *segment_bytes)
{
    ASSERT_EQ(fx_prepare(f), 0);
    fx_set(f, "timerPrecisionMs", "1");
    fx_set(f, "timerDataThresholdSec", "0");
    fx_set(f, "timerBucketMs", "1000");
    fx_set(f, "timerDataFileMs", "2000");
    fx_set(f, "mappedFileSizeCommitLog", segment_bytes);
    fx_set(f, "maxMessageSize", "4096");
    ASSERT_EQ(fx_start_broker(f), TERN_OK);
}

static bool wait_counter(atomic_llong *c, long long want, int timeout_ms)
{
    int64_t deadline = clock_mono_ms() + timeout_ms;
    while (atomic_load(c) < want && clock_mono_ms() < deadline)
        usleep(5000);
    return atomic_load(c) >= want;
}

TEST(long_timer_survives_retention)
{
    struct fixture f;
    start_long(&f, "65536");
    struct rresp r;
    int64_t due = clock_wall_ms() + 6000;
    /* The store is empty: the timer record is the first, at offset 0. */
    ASSERT_EQ(send_props(&f, "TmL", "long-1", &r, "TIMER_DELIVER_MS|%lld;KEYS|kl;", (long long)due),
              TERN_OK);
    ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
    rresp_deinit(&r);
    ASSERT(wait_counter(&f.b->timer.copied, 1, 5000));
    /* Its day starts more than 2 s ahead: the entry waits in the day index. */
    ASSERT_EQ(count_day_files(&f, ".idx"), 1);
    ASSERT_EQ(count_day_files(&f, ".dat"), 1);
    /* Fill four 64 KiB segments, then let retention delete all it may. */
    char body[2048];
    memset(body, 'x', sizeof body - 1);
    body[sizeof body - 1] = '\0';
    struct store_stats st;
    do {
        ASSERT_EQ(send_props(&f, "TmFill", body, &r, "KEYS|f;"), TERN_OK);
        ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
        rresp_deinit(&r);
        store_get_stats(f.b->store, &st);
    } while (st.commitlog_max_off < 4 * 65536);
    ASSERT_EQ(store_flush_now(f.b->store), TERN_OK);
    ASSERT(store_clean_now(f.b->store, true) >= 3);
    store_get_stats(f.b->store, &st);
    /* The space is freed: the timer record's segment is gone. */
    ASSERT(st.commitlog_min_off >= 3 * 65536);
    buf_t raw;
    buf_init(&raw);
    ASSERT_EQ(store_read_at(f.b->store, 0, &raw), TERN_ENOT_FOUND);
    ASSERT_EQ(pull_raw(&f, "TmL", 0, 0, &raw), 0);
    /* Delivered from the copy, on time, once, with the message intact. */
    struct msg_record m[2];
    ASSERT_EQ(wait_msgs(&f, "TmL", 0, 1, 15000, &raw, m, 2), 1);
    ASSERT_BYTES_EQ(m[0].body, "long-1");
    ASSERT(m[0].store_ts >= due);
    ASSERT(m[0].store_ts - due < LATE_MS);
    ASSERT(msg_check_crc(&m[0]));
    tern_bytes_t v;
    ASSERT(props_get(m[0].props, PROP_KEYS, &v));
    ASSERT_BYTES_EQ(v, "kl");
    ASSERT(!props_get(m[0].props, TIMER_PROP_OUT_MS, &v));
    ASSERT(!props_get(m[0].props, PROP_REAL_TOPIC, &v));
    char key[48];
    snprintf(key, sizeof key, "%lld:0", (long long)due);
    ASSERT(props_get(m[0].props, TIMER_PROP_KEY, &v));
    ASSERT_BYTES_EQ(v, key);
    ASSERT_EQ(atomic_load(&f.b->timer.dropped), 0);
    printf("  long timer delivered from its copy %lld ms after due\n",
           (long long)(m[0].store_ts - due));
    /* Its day's files go once the cursor passes the day. */
    int64_t deadline = clock_mono_ms() + 8000;
    while ((count_day_files(&f, ".dat") || count_day_files(&f, ".idx")) &&
           clock_mono_ms() < deadline)
        usleep(20000);
    ASSERT_EQ(count_day_files(&f, ".dat"), 0);
    ASSERT_EQ(count_day_files(&f, ".idx"), 0);
    usleep(300000);
    buf_reset(&raw);
    ASSERT_EQ(pull_raw(&f, "TmL", 0, 1, &raw), 0);
    buf_deinit(&raw);
    fx_stop(&f);
}

TEST(long_timers_across_day_splits_and_restart)
{
    struct fixture f;
    start_long(&f, "16777216");
    struct rresp r;
    int64_t t0 = clock_wall_ms();
    enum { N = 30 };
    int64_t due[N];
    for (int i = 0; i < N; i++) {
        due[i] = t0 + 1500 + i * 250; /* 1.5 s .. 8.75 s: buckets, split and unsplit days */
        char body[16];
        snprintf(body, sizeof body, "d%02d", i);
        ASSERT_EQ(send_props(&f, "TmD", body, &r, "TIMER_DELIVER_MS|%lld;", (long long)due[i]),
                  TERN_OK);
        ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
        rresp_deinit(&r);
    }
    ASSERT(wait_counter(&f.b->timer.copied, N, 5000));
    ASSERT(count_day_files(&f, ".idx") >= 1);
    /* Stop in the middle of the deliveries, restart on the same store. */
    while (clock_wall_ms() < t0 + 4000)
        usleep(10000);
    broker_stop(f.b);
    f.b = NULL;
    ASSERT_EQ(fx_start_broker(&f), TERN_OK);
    buf_t raw;
    buf_init(&raw);
    struct msg_record m[N + 4];
    int n = wait_msgs(&f, "TmD", 0, N, 20000, &raw, m, N + 4);
    ASSERT_EQ(n, N);
    for (int i = 0; i < N; i++) {
        char body[16];
        snprintf(body, sizeof body, "d%02d", i);
        ASSERT_BYTES_EQ(m[i].body, body);
        ASSERT(m[i].store_ts >= due[i]);
    }
    ASSERT_EQ(atomic_load(&f.b->timer.dropped), 0);
    int64_t deadline = clock_mono_ms() + 8000;
    while ((count_day_files(&f, ".dat") || count_day_files(&f, ".idx")) &&
           clock_mono_ms() < deadline)
        usleep(20000);
    ASSERT_EQ(count_day_files(&f, ".dat"), 0);
    ASSERT_EQ(count_day_files(&f, ".idx"), 0);
    buf_reset(&raw);
    ASSERT_EQ(pull_raw(&f, "TmD", 0, N, &raw), 0);
    buf_deinit(&raw);
    fx_stop(&f);
}

TEST(short_timers_are_not_copied)
{
    struct fixture f;
    start_with(&f, NULL);
    struct rresp r;
    ASSERT_EQ(send_props(&f, "TmS", "s", &r, "TIMER_DELAY_MS|300;"), TERN_OK);
    ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
    rresp_deinit(&r);
    buf_t raw;
    buf_init(&raw);
    struct msg_record m[2];
    ASSERT_EQ(wait_msgs(&f, "TmS", 0, 1, 10000, &raw, m, 2), 1);
    ASSERT_EQ(atomic_load(&f.b->timer.copied), 0);
    ASSERT_EQ(count_day_files(&f, ".dat"), 0);
    buf_deinit(&raw);
    fx_stop(&f);
}

static size_t read_file(const char *path, uint8_t *out, size_t cap)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return 0;
    size_t n = fread(out, 1, cap, fp);
    fclose(fp);
    return n;
}

TEST(deliveries_after_last_save_not_repeated)
{
    struct fixture f;
    start_with(&f, NULL);
    struct rresp r;
    int64_t t0 = clock_wall_ms();
    enum { N = 10 };
    for (int i = 0; i < N; i++) {
        char body[16];
        snprintf(body, sizeof body, "k%02d", i);
        ASSERT_EQ(send_props(&f, "TmK", body, &r, "TIMER_DELIVER_MS|%lld;",
                             (long long)(t0 + 2000 + i * 50)),
                  TERN_OK);
        ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
        rresp_deinit(&r);
    }
    int64_t due_p = t0 + 7000;
    ASSERT_EQ(send_props(&f, "TmP", "pending", &r, "TIMER_DELIVER_MS|%lld;", (long long)due_p),
              TERN_OK);
    char id[64];
    fx_field(&r, "msgId", id, sizeof id);
    rresp_deinit(&r);
    struct msg_host h;
    int64_t phy_p;
    ASSERT_EQ(msgid_decode(tern_cstr(id), &h, &phy_p), TERN_OK);
    /* A progress file from before any delivery, as a kill -9 could leave. */
    ASSERT(wait_counter(&f.b->timer.ingested, N + 1, 5000));
    usleep(300000);
    char path[256];
    snprintf(path, sizeof path, "%s/timer/progress", f.dir);
    uint8_t old[128];
    size_t oldn = read_file(path, old, sizeof old);
    ASSERT_EQ(oldn, 48);
    ASSERT(clock_wall_ms() < t0 + 2000); /* the snapshot predates every delivery */
    buf_t raw;
    buf_init(&raw);
    struct msg_record m[N + 4];
    ASSERT_EQ(wait_msgs(&f, "TmK", 0, N, 10000, &raw, m, N + 4), N);
    /* A client-made TIMER_KEY naming the pending timer must not count. */
    ASSERT_EQ(send_props(&f, "TmX", "pending", &r, "TIMER_KEY|%lld:%lld;", (long long)due_p,
                         (long long)phy_p),
              TERN_OK);
    rresp_deinit(&r);
    broker_stop(f.b);
    f.b = NULL;
    FILE *fp = fopen(path, "wb");
    ASSERT(fp != NULL);
    ASSERT_EQ(fwrite(old, 1, oldn, fp), oldn);
    fclose(fp);
    ASSERT_EQ(fx_start_broker(&f), TERN_OK);
    /* The N deliveries after the old save are found again: none repeats;
     * the pending timer is still delivered, on time. */
    ASSERT_EQ(wait_msgs(&f, "TmP", 0, 1, 10000, &raw, m, 2), 1);
    ASSERT(m[0].store_ts >= due_p);
    usleep(300000);
    buf_reset(&raw);
    ASSERT_EQ(pull_raw(&f, "TmK", 0, N, &raw), 0);
    buf_reset(&raw);
    ASSERT_EQ(pull_raw(&f, "TmP", 0, 1, &raw), 0);
    buf_deinit(&raw);
    fx_stop(&f);
}

TEST_MAIN()
