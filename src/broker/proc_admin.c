/* SPDX-License-Identifier: Apache-2.0 */
/* proc_admin.c: admin requests (spec §4.D): topics (17, 215, 21),
 * subscription groups (200, 201, 207), runtime info (28), topic and consume
 * stats (202, 208, with fastjson MessageQueue object keys, §6.6), connection
 * lists (203, 204) and the effective config (26). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker_int.h"
#include "broker/msgtype.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/limits.h"
#include "protocol/codes.h"
#include "protocol/json.h"

/* JSON bodies cost tens of times their size once parsed: refuse big ones
 * before parsing (the frame limit alone allows 16 MiB). */
#define JSON_BODY_MAX ((size_t)4 << 20)

static bool body_too_large(struct rreq *req)
{
    if (req->cmd.body.len <= JSON_BODY_MAX)
        return false;
    reply(req, RESP_INVALID_PARAMETER, "body too large: %zu bytes (at most %zu)", req->cmd.body.len,
          JSON_BODY_MAX);
    return true;
}
#include "store/store.h"

static void answer_body(struct rreq *req, buf_t *body)
{
    struct rcmd resp;
    rcmd_init_response(&resp, &req->cmd, RESP_SUCCESS);
    resp.body = buf_view(body);
    rreq_respond(req, &resp);
    rcmd_deinit(&resp);
}

static bool is_system_topic_name(struct broker *b, tern_bytes_t name)
{
    return topic_is_send_forbidden(name) || tern_bytes_eq_cstr(name, "TBW102") ||
           tern_bytes_eq_cstr(name, b->cfg.cluster_name) ||
           tern_bytes_eq_cstr(name, b->cfg.broker_name);
}

void proc_create_topic(void *ctx, struct rreq *req)
{
    struct broker *b = ctx;
    const struct rcmd *c = &req->cmd;
    tern_bytes_t topic;
    int32_t rq, wq, perm;
    if (!need_str(req, "topic", NULL, &topic) || !need_i32(req, "readQueueNums", NULL, &rq) ||
        !need_i32(req, "writeQueueNums", NULL, &wq) || !need_i32(req, "perm", NULL, &perm))
        return;
    if (!topic_name_valid(topic, TERN_MAX_TOPIC_BYTES)) {
        reply(req, RESP_INVALID_PARAMETER,
              "The specified topic[%.*s] contains illegal characters or is longer than %d",
              (int)(topic.len > 200 ? 200 : topic.len), (const char *)topic.ptr,
              TERN_MAX_TOPIC_BYTES);
        return;
    }
    if (is_system_topic_name(b, topic)) {
        reply(req, RESP_INVALID_PARAMETER, "The topic[%.*s] is conflict with system topic.",
              (int)topic.len, (const char *)topic.ptr);
        return;
    }
    if (rq < 0 || wq < 0 || rq > TERN_MAX_QUEUES_PER_TOPIC || wq > TERN_MAX_QUEUES_PER_TOPIC ||
        perm < 0 || perm > 15) {
        reply(req, RESP_INVALID_PARAMETER, "queue numbers must be in [0, %d] and perm in [0, 15]",
              TERN_MAX_QUEUES_PER_TOPIC);
        return;
    }
    struct topic_config tc;
    topic_config_defaults(&tc, topic);
    tc.read_queue_nums = rq;
    tc.write_queue_nums = wq;
    tc.perm = perm;
    tc.topic_sys_flag = (int)opt_i64(c, "topicSysFlag", NULL, 0);
    tc.order = rcmd_get_bool(c, "order");
    tc.multi_tag = tern_bytes_eq_cstr(rcmd_get(c, "topicFilterType"), "MULTI_TAG");
    if (!topic_type_from_request(b, req, &tc)) /* message.type / orderType (msgtype.c) */
        return;
    if (topics_put(&b->topics, &tc))
        broker_topic_changed(b);
    reply(req, RESP_SUCCESS, NULL);
}

/* Topics the broker itself relies on: deleting one would drop its data
 * (schedule, transaction, timer) or its routing (cluster/broker names). */
static bool topic_is_system(const struct broker *b, tern_bytes_t topic)
{
    if (topic_is_send_forbidden(topic) || tern_bytes_starts(topic, "RMQ_SYS_") ||
        tern_bytes_eq_cstr(topic, "TBW102") || tern_bytes_eq_cstr(topic, b->cfg.cluster_name) ||
        tern_bytes_eq_cstr(topic, b->cfg.broker_name))
        return true;
    char reply_topic[TOPIC_NAME_MAX + 1];
    snprintf(reply_topic, sizeof reply_topic, "%s_REPLY_TOPIC", b->cfg.cluster_name);
    return tern_bytes_eq_cstr(topic, reply_topic);
}

void proc_delete_topic(void *ctx, struct rreq *req)
{
    struct broker *b = ctx;
    tern_bytes_t topic;
    if (!need_str(req, "topic", NULL, &topic))
        return;
    if (topic_is_system(b, topic)) {
        reply(req, RESP_NO_PERMISSION, "the topic[%.*s] is a system topic and cannot be deleted",
              (int)topic.len, (const char *)topic.ptr);
        return;
    }
    if (topics_delete(&b->topics, topic)) {
        store_delete_topic(b->store, topic);
        offsets_delete_topic(&b->offsets, topic);
        stats_forget(&b->stats, topic, TERN_BYTES_NULL);
        broker_topic_changed(b);
    }
    reply(req, RESP_SUCCESS, NULL);
}

void proc_all_topics(void *ctx, struct rreq *req)
{
    struct broker *b = ctx;
    size_t n = topics_count(&b->topics);
    if (n == 0) {
        reply(req, RESP_SYSTEM_ERROR, "No topic in this broker");
        return;
    }
    buf_t body;
    buf_init(&body);
    topics_encode_wrapper(&b->topics, &body);
    struct rcmd resp;
    rcmd_init_response(&resp, &req->cmd, RESP_SUCCESS);
    rcmd_add_i64(&resp, "totalTopicNum", (int64_t)n);
    resp.body = buf_view(&body);
    rreq_respond(req, &resp);
    rcmd_deinit(&resp);
    buf_deinit(&body);
}

void proc_create_group(void *ctx, struct rreq *req)
{
    struct broker *b = ctx;
    if (body_too_large(req))
        return;
    struct group_config gc;
    if (group_config_decode(req->cmd.body, &gc) != TERN_OK) {
        reply(req, RESP_INVALID_PARAMETER,
              "the subscription group body is malformed or the group name is illegal "
              "(allowed: %%|a-zA-Z0-9_-, at most %d)",
              TERN_MAX_GROUP_BYTES);
        return;
    }
    groups_put(&b->groups, &gc);
    reply(req, RESP_SUCCESS, NULL);
}

void proc_all_groups(void *ctx, struct rreq *req)
{
    struct broker *b = ctx;
    buf_t body;
    buf_init(&body);
    groups_encode_all(&b->groups, &body);
    answer_body(req, &body);
    buf_deinit(&body);
}

void proc_delete_group(void *ctx, struct rreq *req)
{
    struct broker *b = ctx;
    tern_bytes_t group;
    if (!need_str(req, "groupName", NULL, &group))
        return;
    groups_delete(&b->groups, group);
    stats_forget(&b->stats, TERN_BYTES_NULL, group);
    if (rcmd_get_bool(&req->cmd, "cleanOffset"))
        offsets_delete_group(&b->offsets, group);
    reply(req, RESP_SUCCESS, NULL);
}

static void kv(jw_t *w, const char *key, int64_t v)
{
    char s[32];
    snprintf(s, sizeof s, "%lld", (long long)v);
    jw_key(w, key);
    jw_cstr(w, s);
}

void proc_runtime_info(void *ctx, struct rreq *req)
{
    struct broker *b = ctx;
    struct store_stats st;
    store_get_stats(b->store, &st);
    buf_t body;
    buf_init(&body);
    jw_t w;
    jw_init(&w, &body);
    jw_obj_begin(&w);
    jw_key(&w, "table");
    jw_obj_begin(&w);
    jw_key(&w, "brokerVersionDesc");
    jw_cstr(&w, "V4_9_7 (tern)");
    kv(&w, "brokerVersion", TERN_PROTOCOL_VERSION);
    kv(&w, "msgPutTotalTodayNow", atomic_load(&b->msgs_put));
    kv(&w, "msgGetTotalTodayNow", atomic_load(&b->msgs_got));
    kv(&w, "msgPutTotalTodayMorning", 0);
    kv(&w, "msgGetTotalTodayMorning", 0);
    kv(&w, "msgPutTotalYesterdayMorning", 0);
    kv(&w, "msgGetTotalYesterdayMorning", 0);
    kv(&w, "commitLogMinOffset", st.commitlog_min_off);
    kv(&w, "commitLogMaxOffset", st.commitlog_max_off);
    kv(&w, "dispatchBehindBytes", st.dispatch_behind_bytes);
    kv(&w, "remainHowManyDataToFlush", st.commitlog_max_off - st.flushed_off);
    kv(&w, "earliestMessageTimeStamp", st.earliest_msg_ts);
    kv(&w, "pageCacheLockTimeMills", 0);
    kv(&w, "sendThreadPoolQueueSize", 0);
    kv(&w, "pullThreadPoolQueueSize", 0);
    kv(&w, "bootTimestamp", b->boot_ms);
    kv(&w, "heldPullRequests", hold_count(&b->hold));
    char cap[128];
    snprintf(cap, sizeof cap, "Total : %.1f GiB, Free : %.1f GiB.",
             (double)st.disk_total_bytes / (1 << 30), (double)st.disk_free_bytes / (1 << 30));
    jw_key(&w, "commitLogDirCapacity");
    jw_cstr(&w, cap);
    int64_t up = clock_wall_ms() - b->boot_ms;
    char rt[96];
    snprintf(rt, sizeof rt, "[ %lld days, %lld hours, %lld minutes, %lld seconds ]",
             (long long)(up / 86400000), (long long)(up / 3600000 % 24),
             (long long)(up / 60000 % 60), (long long)(up / 1000 % 60));
    jw_key(&w, "runtime");
    jw_cstr(&w, rt);
    jw_key(&w, "brokerActive");
    jw_cstr(&w, "true");
    jw_key(&w, "diskFull");
    jw_cstr(&w, st.disk_full ? "true" : "false");
    jw_obj_end(&w);
    jw_obj_end(&w);
    answer_body(req, &body);
    buf_deinit(&body);
}

/* Writes a fastjson MessageQueue object key: {"brokerName":..,"queueId":..,"topic":..}. */
static void mq_key(struct broker *b, buf_t *out, const char *topic, int32_t qid)
{
    buf_append_cstr(out, "{\"brokerName\":");
    json_write_string(out, tern_cstr(b->cfg.broker_name));
    buf_printf(out, ",\"queueId\":%d,\"topic\":", qid);
    json_write_string(out, tern_cstr(topic));
    buf_append_u8(out, '}');
}

void proc_topic_stats(void *ctx, struct rreq *req)
{
    struct broker *b = ctx;
    tern_bytes_t topic;
    if (!need_str(req, "topic", NULL, &topic))
        return;
    struct topic_config tc;
    if (!topics_get(&b->topics, topic, &tc)) {
        reply(req, RESP_TOPIC_NOT_EXIST, "topic[%.*s] not exist", (int)topic.len,
              (const char *)topic.ptr);
        return;
    }
    buf_t body;
    buf_init(&body);
    buf_append_cstr(&body, "{\"offsetTable\":{");
    for (int q = 0; q < tc.write_queue_nums; q++) {
        tern_bytes_t t = tern_cstr(tc.name);
        int64_t maxo = store_max_offset(b->store, t, q);
        int64_t mino = store_min_offset(b->store, t, q);
        int64_t last = maxo > 0 ? store_msg_time(b->store, t, q, maxo - 1) : 0;
        if (q)
            buf_append_u8(&body, ',');
        mq_key(b, &body, tc.name, q);
        buf_printf(&body, ":{\"lastUpdateTimestamp\":%lld,\"maxOffset\":%lld,\"minOffset\":%lld}",
                   (long long)(last > 0 ? last : 0), (long long)maxo, (long long)mino);
    }
    char tps[STATS_DOUBLE_MAX];
    stats_fmt_double(tps, stats_minute_tps(&b->stats, STATS_TOPIC_PUT, tern_cstr(tc.name),
                                           TERN_BYTES_NULL, clock_wall_coarse_ms()));
    buf_printf(&body, "},\"topicPutTps\":%s}", tps);
    answer_body(req, &body);
    buf_deinit(&body);
}

struct stats_ctx {
    struct broker *b;
    tern_bytes_t group;
    buf_t *body;
    bool first;
    char seen[64][TOPIC_NAME_MAX + 1];
    int nseen;
};

static void stats_topic(void *arg, const char *topic)
{
    struct stats_ctx *s = arg;
    for (int i = 0; i < s->nseen; i++) {
        if (strcmp(s->seen[i], topic) == 0)
            return;
    }
    if (s->nseen < 64)
        snprintf(s->seen[s->nseen++], TOPIC_NAME_MAX + 1, "%s", topic);
}

static void stats_emit(struct stats_ctx *s, const char *topic)
{
    struct topic_config tc;
    if (!topics_get(&s->b->topics, tern_cstr(topic), &tc))
        return;
    for (int q = 0; q < tc.read_queue_nums; q++) {
        tern_bytes_t t = tern_cstr(tc.name);
        int64_t maxo = store_max_offset(s->b->store, t, q);
        int64_t co = offsets_query(&s->b->offsets, t, s->group, q);
        int64_t last = co > 0 ? store_msg_time(s->b->store, t, q, co - 1) : 0;
        if (!s->first)
            buf_append_u8(s->body, ',');
        s->first = false;
        mq_key(s->b, s->body, tc.name, q);
        buf_printf(s->body,
                   ":{\"brokerOffset\":%lld,\"consumerOffset\":%lld,\"lastTimestamp\":%lld,"
                   "\"pullOffset\":%lld}",
                   (long long)maxo, (long long)(co < 0 ? 0 : co), (long long)(last > 0 ? last : 0),
                   (long long)(co < 0 ? 0 : co));
    }
}

void proc_consume_stats(void *ctx, struct rreq *req)
{
    struct broker *b = ctx;
    tern_bytes_t group;
    if (!need_str(req, "consumerGroup", NULL, &group))
        return;
    buf_t body;
    buf_init(&body);
    struct stats_ctx *s = calloc(1, sizeof *s);
    s->b = b;
    s->group = group;
    s->body = &body;
    s->first = true;
    tern_bytes_t topic = rcmd_get(&req->cmd, "topic");
    if (topic.ptr && topic.len) {
        char t[TOPIC_NAME_MAX + 1];
        snprintf(t, sizeof t, "%.*s", (int)topic.len, (const char *)topic.ptr);
        stats_topic(s, t);
    } else {
        cm_each_subscribed_topic(&b->clients, group, stats_topic, s);
        offsets_each_topic_of_group(&b->offsets, group, stats_topic, s);
    }
    /* RocketMQ's consumeTps: GROUP_GET_NUMS minute TPS over the listed topics. */
    double tps = 0;
    for (int i = 0; i < s->nseen; i++)
        tps += stats_minute_tps(&b->stats, STATS_GROUP_GET, tern_cstr(s->seen[i]), group,
                                clock_wall_coarse_ms());
    char tps_text[STATS_DOUBLE_MAX];
    stats_fmt_double(tps_text, tps);
    buf_printf(&body, "{\"consumeTps\":%s,\"offsetTable\":{", tps_text);
    for (int i = 0; i < s->nseen; i++)
        stats_emit(s, s->seen[i]);
    buf_append_cstr(&body, "}}");
    free(s);
    answer_body(req, &body);
    buf_deinit(&body);
}

void proc_consumer_connections(void *ctx, struct rreq *req)
{
    struct broker *b = ctx;
    tern_bytes_t group;
    if (!need_str(req, "consumerGroup", NULL, &group))
        return;
    buf_t body;
    buf_init(&body);
    if (!cm_consumer_connection_json(&b->clients, group, &body)) {
        buf_deinit(&body);
        reply(req, RESP_CONSUMER_NOT_ONLINE, "the consumer group[%.*s] not online", (int)group.len,
              (const char *)group.ptr);
        return;
    }
    answer_body(req, &body);
    buf_deinit(&body);
}

void proc_producer_connections(void *ctx, struct rreq *req)
{
    struct broker *b = ctx;
    tern_bytes_t group;
    if (!need_str(req, "producerGroup", NULL, &group))
        return;
    buf_t body;
    buf_init(&body);
    if (!cm_producer_connection_json(&b->clients, group, &body)) {
        buf_deinit(&body);
        reply(req, RESP_SYSTEM_ERROR, "the producer group[%.*s] not exist", (int)group.len,
              (const char *)group.ptr);
        return;
    }
    answer_body(req, &body);
    buf_deinit(&body);
}

void proc_broker_config(void *ctx, struct rreq *req)
{
    struct broker *b = ctx;
    buf_t body;
    buf_init(&body);
    broker_config_print_public(&b->cfg, &body);
    struct rcmd resp;
    rcmd_init_response(&resp, &req->cmd, RESP_SUCCESS);
    char ver[128];
    snprintf(ver, sizeof ver, "{\"counter\":0,\"stateVersion\":0,\"timestamp\":%lld}",
             (long long)b->boot_ms);
    rcmd_add_cstr(&resp, "version", ver);
    resp.body = buf_view(&body);
    rreq_respond(req, &resp);
    rcmd_deinit(&resp);
    buf_deinit(&body);
}
