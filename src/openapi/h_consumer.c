/* SPDX-License-Identifier: Apache-2.0 */
/* h_consumer.c: /json/consumer/accumulate|status|getConnection|timespan|
 * resetOffset (spec §6.6), from live broker state read through admin.c:
 * GET_CONSUME_STATS (208) per master for offsets, GET_CONSUMER_CONNECTION_LIST
 * (203) for the clients, GET_TOPIC_STATS_INFO (202) and
 * GET_EARLIEST_MSG_STORETIME (32) for time spans, a tools-group pull for the
 * store time of the oldest unconsumed message, GET_CONSUMER_RUNNING_INFO
 * (307) for per-client details and INVOKE_BROKER_TO_RESET_OFFSET (222). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/error.h"
#include "openapi/admin.h"
#include "openapi/api.h"
#include "protocol/cmd.h"
#include "protocol/codes.h"
#include "protocol/message.h"

#define MAX_QUEUES 1024
#define MAX_TOPICS 64

/* One queue of the group's consume stats. */
struct qstat {
    const char *addr;  /* borrowed (request arena) */
    const char *topic; /* physical; request arena */
    int qid;
    int64_t broker_off, consumer_off, last_ts;
};

/* Per-topic totals (DetailInTopicDo). */
struct tstat {
    const char *topic; /* physical */
    int64_t diff, last_ts, delay_ms;
};

struct group_state {
    const char *phys; /* physical group name */
    struct admin_broker *brokers;
    size_t nbrokers;
    struct qstat q[MAX_QUEUES];
    size_t nq;
    struct tstat t[MAX_TOPICS];
    size_t nt;
    int64_t total_diff, last_ts, delay_ms;
    double tps;                  /* sum of the masters' consumeTps (GROUP_GET_NUMS minute TPS) */
    const struct json_val *conn; /* ConsumerConnection of the first broker that knows the
                                    group online, NULL when offline; request arena */
};

static bool is_system_topic(const char *t)
{
    return strncmp(t, "%RETRY%", 7) == 0 || strncmp(t, "%DLQ%", 5) == 0;
}

int api_brokers(struct api_req *r, const struct api_instance *in, struct admin_broker **b,
                size_t *n)
{
    char err[400];
    int rc = admin_brokers(r->o->admin, in->cluster, &r->arena, b, n, err, sizeof err);
    return rc == TERN_OK ? 0 : api_invoke_failed(r, "finding the brokers", err);
}

/* Parses one broker's ConsumeStats body into gs->q. */
static void add_consume_stats(struct api_req *r, struct group_state *gs, const char *addr,
                              tern_bytes_t body)
{
    struct json_val *root;
    if (json_parse(body, &r->arena, &root) != TERN_OK)
        return;
    tern_bytes_t tps = json_get_str(root, "consumeTps");
    if (tps.ptr && (tps = arena_copy(&r->arena, tps)).ptr)
        gs->tps += strtod((const char *)tps.ptr, NULL);
    const struct json_val *tab = json_get(root, "offsetTable");
    for (size_t i = 0; tab && tab->type == JSON_OBJECT && i < tab->n && gs->nq < MAX_QUEUES; i++) {
        struct json_val *key;
        if (json_parse(tab->keys[i], &r->arena, &key) != TERN_OK)
            continue;
        tern_bytes_t topic = json_get_str(key, "topic");
        int64_t qid;
        if (!topic.ptr || json_get_i64(key, "queueId", &qid) != TERN_OK)
            continue;
        struct qstat *q = &gs->q[gs->nq];
        q->addr = addr;
        q->topic = (const char *)topic.ptr;
        q->qid = (int)qid;
        q->broker_off = q->consumer_off = q->last_ts = 0;
        json_get_i64(&tab->items[i], "brokerOffset", &q->broker_off);
        json_get_i64(&tab->items[i], "consumerOffset", &q->consumer_off);
        json_get_i64(&tab->items[i], "lastTimestamp", &q->last_ts);
        if (!is_system_topic(q->topic))
            gs->nq++;
    }
}

/* Store time of the message at (addr, topic, qid, offset); 0 if none. */
static int64_t store_time_at(struct api_req *r, const char *addr, const char *topic, int qid,
                             int64_t offset)
{
    tern_bytes_t recs;
    int64_t next;
    char err[400];
    if (admin_pull(r->o->admin, addr, topic, qid, offset, 1, &r->arena, &recs, &next, err,
                   sizeof err) != TERN_OK ||
        recs.len == 0)
        return 0;
    struct msg_record m;
    if (msg_decode(recs.ptr, recs.len, &m) != TERN_OK)
        return 0;
    return m.store_ts;
}

static struct tstat *topic_stat(struct group_state *gs, const char *topic)
{
    for (size_t i = 0; i < gs->nt; i++)
        if (strcmp(gs->t[i].topic, topic) == 0)
            return &gs->t[i];
    if (gs->nt == MAX_TOPICS)
        return NULL;
    struct tstat *t = &gs->t[gs->nt++];
    memset(t, 0, sizeof *t);
    t->topic = topic;
    return t;
}

/* Reads offsets and connections of group g (physical) from every master.
 * only_topic (physical) restricts the stats to one topic. */
static int load_group_state(struct api_req *r, const struct api_instance *in, const char *phys,
                            const char *only_topic, struct group_state *gs)
{
    if (!gs) /* the caller's arena_alloc failed */
        return api_fail(r, API_ONS_SYSTEM_ERROR, "out of memory");
    memset(gs, 0, sizeof *gs);
    gs->phys = phys;
    if (api_brokers(r, in, &gs->brokers, &gs->nbrokers) < 0)
        return -1;
    int64_t now = clock_wall_ms();
    for (size_t b = 0; b < gs->nbrokers; b++) {
        char err[400];
        struct admin_reply rep;
        struct rcmd req;
        rcmd_init(&req);
        req.code = RC_GET_CONSUME_STATS;
        rcmd_add_cstr(&req, "consumerGroup", phys);
        if (only_topic)
            rcmd_add_cstr(&req, "topic", only_topic);
        if (admin_request(r->o->admin, gs->brokers[b].addr, &req, &r->arena, &rep, err,
                          sizeof err) != TERN_OK)
            return api_invoke_failed(r, "reading the consume stats", err);
        if (rep.code == RESP_SUCCESS)
            add_consume_stats(r, gs, gs->brokers[b].addr, rep.body);
        if (gs->conn)
            continue;
        rcmd_init(&req);
        req.code = RC_GET_CONSUMER_CONNECTION_LIST;
        rcmd_add_cstr(&req, "consumerGroup", phys);
        if (admin_request(r->o->admin, gs->brokers[b].addr, &req, &r->arena, &rep, err,
                          sizeof err) != TERN_OK)
            return api_invoke_failed(r, "reading the consumer connections", err);
        struct json_val *cc;
        if (rep.code == RESP_SUCCESS && json_parse(rep.body, &r->arena, &cc) == TERN_OK &&
            cc->type == JSON_OBJECT)
            gs->conn = cc;
    }
    for (size_t i = 0; i < gs->nq; i++) {
        struct qstat *q = &gs->q[i];
        struct tstat *t = topic_stat(gs, q->topic);
        if (!t)
            continue;
        int64_t diff = q->broker_off - q->consumer_off;
        if (diff < 0)
            diff = 0;
        t->diff += diff;
        if (q->last_ts > t->last_ts)
            t->last_ts = q->last_ts;
        if (diff > 0) {
            int64_t ts = store_time_at(r, q->addr, q->topic, q->qid, q->consumer_off);
            int64_t delay = ts > 0 && now > ts ? now - ts : 0;
            if (delay > t->delay_ms)
                t->delay_ms = delay;
        }
    }
    for (size_t i = 0; i < gs->nt; i++) {
        gs->total_diff += gs->t[i].diff;
        if (gs->t[i].last_ts > gs->last_ts)
            gs->last_ts = gs->t[i].last_ts;
        if (gs->t[i].delay_ms > gs->delay_ms)
            gs->delay_ms = gs->t[i].delay_ms;
    }
    return 0;
}

static void write_detail_topics(jw_t *w, const struct api_instance *in,
                                const struct group_state *gs, bool detail)
{
    jw_key(w, "detailInTopicList");
    jw_arr_begin(w);
    for (size_t i = 0; detail && i < gs->nt; i++) {
        jw_obj_begin(w);
        jw_key(w, "topic");
        jw_cstr(w, api_logical_name(in, gs->t[i].topic));
        jw_key(w, "totalDiff");
        jw_i64(w, gs->t[i].diff);
        jw_key(w, "lastTimestamp");
        jw_i64(w, gs->t[i].last_ts);
        jw_key(w, "delayTime");
        jw_i64(w, gs->t[i].delay_ms);
        jw_obj_end(w);
    }
    jw_arr_end(w);
}

/* The shared head of accumulate and status. */
static void write_totals(jw_t *w, const struct group_state *gs)
{
    jw_key(w, "online");
    jw_bool(w, gs->conn != NULL);
    jw_key(w, "totalDiff");
    jw_i64(w, gs->total_diff);
    jw_key(w, "consumeTps");
    api_write_float(w, gs->tps);
    jw_key(w, "lastTimestamp");
    jw_i64(w, gs->last_ts);
    jw_key(w, "delayTime");
    jw_i64(w, gs->delay_ms);
}

/* Resolves groupId (and the instance); OUT: *phys. */
static int group_param(struct api_req *r, struct api_instance *in, const char **g,
                       const char **phys)
{
    if (api_str(r, "groupId", true, 1, 255, g) < 0 || api_existing_group(r, *g, in) < 0)
        return -1;
    *phys = api_phys_name(r, in, *g);
    return *phys ? 0 : -1;
}

int h_consumer_accumulate(struct api_req *r)
{
    const char *g, *phys;
    bool detail;
    struct api_instance in;
    if (api_bool(r, "detail", false, false, &detail) < 0 || group_param(r, &in, &g, &phys) < 0)
        return -1;
    struct group_state *gs = arena_alloc(&r->arena, sizeof *gs);
    if (load_group_state(r, &in, phys, NULL, gs) < 0)
        return -1;
    jw_t w;
    api_data_begin(r, &w);
    jw_obj_begin(&w);
    write_totals(&w, gs);
    write_detail_topics(&w, &in, gs, detail);
    jw_obj_end(&w);
    return 0;
}

/* ConnectionDo (§6.6.2) from one broker connectionSet entry. */
static void write_connection(jw_t *w, const struct json_val *c)
{
    tern_bytes_t addr = json_get_str(c, "clientAddr");
    jw_obj_begin(w);
    jw_key(w, "clientId");
    jw_str(w, json_get_str(c, "clientId"));
    jw_key(w, "clientAddr");
    jw_str(w, addr);
    jw_key(w, "language");
    jw_str(w, json_get_str(c, "language"));
    jw_key(w, "version");
    jw_str(w, json_get_str(c, "version"));
    size_t iplen = 0;
    while (addr.ptr && iplen < addr.len && addr.ptr[iplen] != ':')
        iplen++;
    jw_key(w, "remoteIP");
    jw_str(w, (tern_bytes_t){addr.ptr, iplen});
    jw_obj_end(w);
}

static const struct json_val *connection_set(const struct group_state *gs)
{
    const struct json_val *cs = gs->conn ? json_get(gs->conn, "connectionSet") : NULL;
    return cs && cs->type == JSON_ARRAY ? cs : NULL;
}

/* api.h. The group's ConsumerConnection (an object with a non-empty connectionSet)
 * from the first master that has one; NULL when offline. -1 on a failed
 * call (r->err set). */
int api_group_connection(struct api_req *r, const struct admin_broker *b, size_t n,
                         const char *phys, const struct json_val **out)
{
    *out = NULL;
    for (size_t i = 0; i < n; i++) {
        char err[400];
        struct admin_reply rep;
        struct rcmd req;
        rcmd_init(&req);
        req.code = RC_GET_CONSUMER_CONNECTION_LIST;
        rcmd_add_cstr(&req, "consumerGroup", phys);
        if (admin_request(r->o->admin, b[i].addr, &req, &r->arena, &rep, err, sizeof err) !=
            TERN_OK)
            return api_invoke_failed(r, "reading the consumer connections", err);
        struct json_val *cc;
        if (rep.code != RESP_SUCCESS || json_parse(rep.body, &r->arena, &cc) != TERN_OK ||
            cc->type != JSON_OBJECT)
            continue;
        const struct json_val *cs = json_get(cc, "connectionSet");
        if (cs && cs->type == JSON_ARRAY && cs->n > 0) {
            *out = cc;
            return 0;
        }
    }
    return 0;
}

int h_consumer_get_connection(struct api_req *r)
{
    const char *g, *phys;
    struct api_instance in;
    if (group_param(r, &in, &g, &phys) < 0)
        return -1;
    struct admin_broker *b;
    size_t n;
    if (api_brokers(r, &in, &b, &n) < 0)
        return -1;
    const struct json_val *cc;
    if (api_group_connection(r, b, n, phys, &cc) < 0)
        return -1;
    const struct json_val *cs = cc ? json_get(cc, "connectionSet") : NULL;
    if (!cs)
        return api_fail(r, API_BIZ_CONSUMER_NOT_ONLINE, "no client of Group ID %s is online", g);
    jw_t w;
    api_data_begin(r, &w);
    jw_arr_begin(&w);
    for (size_t i = 0; i < cs->n; i++)
        write_connection(&w, &cs->items[i]);
    jw_arr_end(&w);
    return 0;
}

/* ---- status -------------------------------------------------------------- */

/* GET_CONSUMER_RUNNING_INFO of one client through the first broker that
 * relays it; NULL when no broker got an answer (e.g. the client does not
 * implement 307). */
static const struct json_val *running_info(struct api_req *r, const struct group_state *gs,
                                           tern_bytes_t client_id, bool jstack)
{
    for (size_t b = 0; b < gs->nbrokers; b++) {
        char err[400];
        struct admin_reply rep;
        struct rcmd req;
        rcmd_init(&req);
        req.code = RC_GET_CONSUMER_RUNNING_INFO;
        rcmd_add_cstr(&req, "consumerGroup", gs->phys);
        rcmd_add(&req, "clientId", client_id);
        rcmd_add_cstr(&req, "jstackEnable", jstack ? "true" : "false");
        struct json_val *ri;
        if (admin_request(r->o->admin, gs->brokers[b].addr, &req, &r->arena, &rep, err,
                          sizeof err) == TERN_OK &&
            rep.code == RESP_SUCCESS && json_parse(rep.body, &r->arena, &ri) == TERN_OK &&
            ri->type == JSON_OBJECT)
            return ri;
    }
    return NULL;
}

/* SubscriptionData list from the broker's subscriptionTable (an object) or
 * a client's running-info subscriptionSet (an array). */
static void write_subscriptions(jw_t *w, const struct api_instance *in,
                                const struct json_val *table)
{
    jw_arr_begin(w);
    bool listed = table && (table->type == JSON_OBJECT || table->type == JSON_ARRAY);
    for (size_t i = 0; listed && i < table->n; i++) {
        const struct json_val *s = &table->items[i];
        tern_bytes_t topic = json_get_str(s, "topic");
        tern_bytes_t expr = json_get_str(s, "subString");
        if (!topic.ptr || is_system_topic((const char *)topic.ptr))
            continue;
        int64_t ver = 0;
        json_get_i64(s, "subVersion", &ver);
        jw_obj_begin(w);
        jw_key(w, "topic");
        jw_cstr(w, api_logical_name(in, (const char *)topic.ptr));
        jw_key(w, "subString");
        jw_str(w, expr);
        jw_key(w, "subVersion");
        jw_i64(w, ver);
        jw_key(w, "tagsSet");
        jw_arr_begin(w);
        /* The tags of "a || b"; "*" and an empty expression have none. */
        const char *p = expr.ptr ? (const char *)expr.ptr : "";
        while (*p) {
            while (*p == ' ' || *p == '|')
                p++;
            size_t n = strcspn(p, " |");
            if (n > 0 && !(n == 1 && *p == '*'))
                jw_str(w, (tern_bytes_t){(const uint8_t *)p, n});
            p += n;
        }
        jw_arr_end(w);
        jw_obj_end(w);
    }
    jw_arr_end(w);
}

/* ConsumerConnectionInfoDo of one client: its running info when the client
 * answers 307, else what the broker knows (connection and the group's
 * subscriptions). */
static void write_client_info(struct api_req *r, jw_t *w, const struct api_instance *in,
                              const struct group_state *gs, const struct json_val *c, bool jstack)
{
    const struct json_val *ri = running_info(r, gs, json_get_str(c, "clientId"), jstack);
    const struct json_val *props = ri ? json_get(ri, "properties") : NULL;
    jw_obj_begin(w);
    jw_key(w, "clientId");
    jw_str(w, json_get_str(c, "clientId"));
    jw_key(w, "connection");
    jw_str(w, json_get_str(c, "clientAddr"));
    jw_key(w, "language");
    jw_str(w, json_get_str(c, "language"));
    jw_key(w, "version");
    jw_str(w, json_get_str(c, "version"));
    jw_key(w, "consumeModel");
    jw_str(w, json_get_str(gs->conn, "messageModel"));
    jw_key(w, "consumeType");
    tern_bytes_t ct = json_get_str(gs->conn, "consumeType");
    jw_cstr(w, ct.ptr && tern_bytes_eq_cstr(ct, "CONSUME_ACTIVELY") ? "PULL" : "PUSH");
    int64_t threads = 0, start = 0;
    json_get_i64(props, "consumeThreadMax", &threads);
    json_get_i64(props, "PROP_CONSUMER_START_TIMESTAMP", &start);
    jw_key(w, "threadCount");
    jw_i64(w, threads);
    jw_key(w, "startTimeStamp");
    jw_i64(w, start);
    jw_key(w, "lastTimeStamp");
    jw_i64(w, gs->last_ts);
    jw_key(w, "subscriptionSet");
    const struct json_val *subs = ri ? json_get(ri, "subscriptionSet") : NULL;
    write_subscriptions(w, in, subs ? subs : json_get(gs->conn, "subscriptionTable"));
    jw_key(w, "runningDataList");
    jw_arr_begin(w);
    const struct json_val *st = ri ? json_get(ri, "statusTable") : NULL;
    for (size_t i = 0; st && st->type == JSON_OBJECT && i < st->n; i++) {
        const struct json_val *s = &st->items[i];
        jw_obj_begin(w);
        jw_key(w, "groupId");
        jw_cstr(w, api_logical_name(in, gs->phys));
        jw_key(w, "topic");
        char *t = arena_alloc(&r->arena, st->keys[i].len + 1);
        if (t) {
            memcpy(t, st->keys[i].ptr, st->keys[i].len);
            t[st->keys[i].len] = '\0';
        } else {
            api_fail(r, API_ONS_SYSTEM_ERROR, "out of memory");
        }
        jw_cstr(w, t ? api_logical_name(in, t) : "");
        static const char *const F[][2] = {
            {"rt", "consumeRT"}, {"okTps", "consumeOKTPS"}, {"failedTps", "consumeFailedTPS"}};
        for (size_t k = 0; k < 3; k++) {
            tern_bytes_t v = json_get_str(s, F[k][1]);
            jw_key(w, F[k][0]);
            jw_raw(w, v.ptr ? v : tern_cstr("0.0"));
        }
        int64_t failed = 0;
        json_get_i64(s, "consumeFailedMsgs", &failed);
        jw_key(w, "failedCountPerHour");
        jw_i64(w, failed);
        jw_obj_end(w);
    }
    jw_arr_end(w);
    jw_key(w, "jstack");
    jw_arr_begin(w);
    const struct json_val *js = jstack && ri ? json_get(ri, "jstack") : NULL;
    if (js && js->type == JSON_STRING) {
        jw_obj_begin(w);
        jw_key(w, "thread");
        jw_cstr(w, "all");
        jw_key(w, "trackList");
        jw_arr_begin(w);
        jw_str(w, js->str);
        jw_arr_end(w);
        jw_obj_end(w);
    }
    jw_arr_end(w);
    jw_obj_end(w);
}

/* rebalanceOK (spec decision of §6.6.2), from the broker's view: the group
 * is online and every queue of every subscribed topic is known to a master
 * (the broker assigns nothing itself; the clients' own assignment is only
 * visible through running info, which not every client answers). */
static bool rebalance_ok(const struct group_state *gs)
{
    const struct json_val *cs = connection_set(gs);
    if (!cs || cs->n == 0)
        return false;
    const struct json_val *subs = json_get(gs->conn, "subscriptionTable");
    for (size_t i = 0; subs && subs->type == JSON_OBJECT && i < subs->n; i++) {
        tern_bytes_t t = json_get_str(&subs->items[i], "topic");
        if (!t.ptr || is_system_topic((const char *)t.ptr))
            continue;
        bool seen = false;
        for (size_t k = 0; k < gs->nq && !seen; k++)
            seen = strcmp(gs->q[k].topic, (const char *)t.ptr) == 0;
        if (!seen)
            return false;
    }
    return true;
}

int h_consumer_status(struct api_req *r)
{
    const char *g, *phys;
    bool detail, jstack;
    struct api_instance in;
    if (api_bool(r, "detail", false, false, &detail) < 0 ||
        api_bool(r, "needJstack", false, false, &jstack) < 0 || group_param(r, &in, &g, &phys) < 0)
        return -1;
    struct group_state *gs = arena_alloc(&r->arena, sizeof *gs);
    if (load_group_state(r, &in, phys, NULL, gs) < 0)
        return -1;
    const struct json_val *cs = connection_set(gs);
    tern_bytes_t model = json_get_str(gs->conn, "messageModel");
    jw_t w;
    api_data_begin(r, &w);
    jw_obj_begin(&w);
    write_totals(&w, gs);
    jw_key(&w, "consumeModel");
    jw_str(&w, model.ptr ? model : tern_cstr("CLUSTERING"));
    /* The broker keeps one subscription table per group, replaced by each
     * heartbeat; differing clients are not visible in it. Spec decision:
     * true when the group is online (see docs/design/openapi.md). */
    jw_key(&w, "subscriptionSame");
    jw_bool(&w, cs != NULL);
    jw_key(&w, "rebalanceOK");
    jw_bool(&w, rebalance_ok(gs));
    jw_key(&w, "connectionSet");
    jw_arr_begin(&w);
    for (size_t i = 0; cs && i < cs->n; i++)
        write_connection(&w, &cs->items[i]);
    jw_arr_end(&w);
    write_detail_topics(&w, &in, gs, detail);
    jw_key(&w, "consumerConnectionInfoList");
    jw_arr_begin(&w);
    for (size_t i = 0; detail && cs && i < cs->n; i++)
        write_client_info(r, &w, &in, gs, &cs->items[i], jstack);
    jw_arr_end(&w);
    jw_obj_end(&w);
    return 0;
}

/* ---- timespan and resetOffset ------------------------------------------- */

static int topic_and_group(struct api_req *r, struct api_instance *in, const char **g,
                           const char **phys_g, const char **topic, const char **phys_t)
{
    if (api_str(r, "topic", true, 1, 255, topic) < 0 || group_param(r, in, g, phys_g) < 0 ||
        api_existing_topic(r, *topic, in) < 0)
        return -1;
    *phys_t = api_phys_name(r, in, *topic);
    return *phys_t ? 0 : -1;
}

/* GET_EARLIEST_MSG_STORETIME of one queue; 0 when the broker has none. */
static int64_t earliest_time(struct api_req *r, const char *addr, const char *topic, int qid)
{
    char err[400];
    struct admin_reply rep;
    struct rcmd req;
    rcmd_init(&req);
    req.code = RC_GET_EARLIEST_MSG_STORETIME;
    rcmd_add_cstr(&req, "topic", topic);
    rcmd_add_i64(&req, "queueId", qid);
    int64_t ts = 0;
    if (admin_request(r->o->admin, addr, &req, &r->arena, &rep, err, sizeof err) == TERN_OK &&
        rep.code == RESP_SUCCESS) {
        tern_bytes_t v = admin_reply_field(&rep, "timestamp");
        if (!v.ptr || parse_i64(v, &ts) != TERN_OK)
            ts = 0;
    }
    return ts;
}

int h_consumer_timespan(struct api_req *r)
{
    const char *g, *pg, *topic, *pt;
    struct api_instance in;
    if (topic_and_group(r, &in, &g, &pg, &topic, &pt) < 0)
        return -1;
    struct group_state *gs = arena_alloc(&r->arena, sizeof *gs);
    if (load_group_state(r, &in, pg, pt, gs) < 0)
        return -1;
    int64_t min_ts = 0, max_ts = 0;
    for (size_t b = 0; b < gs->nbrokers; b++) {
        char err[400];
        struct admin_reply rep;
        struct rcmd req;
        rcmd_init(&req);
        req.code = RC_GET_TOPIC_STATS_INFO;
        rcmd_add_cstr(&req, "topic", pt);
        if (admin_request(r->o->admin, gs->brokers[b].addr, &req, &r->arena, &rep, err,
                          sizeof err) != TERN_OK)
            return api_invoke_failed(r, "reading the topic stats", err);
        struct json_val *root;
        if (rep.code != RESP_SUCCESS || json_parse(rep.body, &r->arena, &root) != TERN_OK)
            continue;
        const struct json_val *tab = json_get(root, "offsetTable");
        for (size_t i = 0; tab && tab->type == JSON_OBJECT && i < tab->n; i++) {
            int64_t mino = 0, maxo = 0, last = 0, qid = 0;
            struct json_val *key;
            json_get_i64(&tab->items[i], "minOffset", &mino);
            json_get_i64(&tab->items[i], "maxOffset", &maxo);
            json_get_i64(&tab->items[i], "lastUpdateTimestamp", &last);
            if (maxo <= mino || json_parse(tab->keys[i], &r->arena, &key) != TERN_OK ||
                json_get_i64(key, "queueId", &qid) != TERN_OK)
                continue;
            if (last > max_ts)
                max_ts = last;
            int64_t first = earliest_time(r, gs->brokers[b].addr, pt, (int)qid);
            if (first > 0 && (min_ts == 0 || first < min_ts))
                min_ts = first;
        }
    }
    jw_t w;
    api_data_begin(r, &w);
    jw_obj_begin(&w);
    jw_key(&w, "topic");
    jw_cstr(&w, topic);
    jw_key(&w, "minTimeStamp");
    jw_i64(&w, min_ts);
    jw_key(&w, "maxTimeStamp");
    jw_i64(&w, max_ts);
    jw_key(&w, "consumeTimeStamp");
    jw_i64(&w, gs->last_ts);
    jw_obj_end(&w);
    return 0;
}

int h_consumer_reset_offset(struct api_req *r)
{
    const char *g, *pg, *topic, *pt;
    int64_t type, reset_time = -1;
    struct api_instance in;
    if (api_i64(r, "type", true, 0, 0, 1, &type) < 0 ||
        (type == 1 && api_i64(r, "resetTime", true, 0, 0, INT64_MAX, &reset_time) < 0) ||
        topic_and_group(r, &in, &g, &pg, &topic, &pt) < 0)
        return -1;
    struct admin_broker *b;
    size_t n;
    if (api_brokers(r, &in, &b, &n) < 0)
        return -1;
    /* Broadcasting progress lives in the clients: they must be online. */
    for (size_t i = 0; i < n; i++) {
        char err[400];
        struct admin_reply rep;
        struct rcmd req;
        rcmd_init(&req);
        req.code = RC_GET_CONSUMER_CONNECTION_LIST;
        rcmd_add_cstr(&req, "consumerGroup", pg);
        struct json_val *cc;
        if (admin_request(r->o->admin, b[i].addr, &req, &r->arena, &rep, err, sizeof err) ==
                TERN_OK &&
            rep.code == RESP_SUCCESS && json_parse(rep.body, &r->arena, &cc) == TERN_OK) {
            tern_bytes_t model = json_get_str(cc, "messageModel");
            if (model.ptr && tern_bytes_eq_cstr(model, "BROADCASTING"))
                return api_fail(r, API_ONS_SERVICE_UNSUPPORTED,
                                "Group ID %s consumes by broadcasting: its progress is kept by "
                                "the clients, which this server cannot reset",
                                g);
            break;
        }
    }
    for (size_t i = 0; i < n; i++) {
        char err[400];
        struct admin_reply rep;
        struct rcmd req;
        rcmd_init(&req);
        req.code = RC_INVOKE_BROKER_TO_RESET_OFFSET;
        rcmd_add_cstr(&req, "topic", pt);
        rcmd_add_cstr(&req, "group", pg);
        rcmd_add_i64(&req, "timestamp", type == 0 ? -1 : reset_time);
        rcmd_add_cstr(&req, "isForce", "true");
        if (admin_request(r->o->admin, b[i].addr, &req, &r->arena, &rep, err, sizeof err) !=
            TERN_OK)
            return api_invoke_failed(r, "resetting the offsets", err);
        if (rep.code != RESP_SUCCESS && rep.code != RESP_TOPIC_NOT_EXIST) {
            snprintf(err, sizeof err, "%s refused (code %d): %.*s", b[i].addr, rep.code,
                     (int)(rep.remark.len > 200 ? 200 : rep.remark.len),
                     rep.remark.ptr ? (const char *)rep.remark.ptr : "");
            return api_invoke_failed(r, "resetting the offsets", err);
        }
    }
    return 0;
}
