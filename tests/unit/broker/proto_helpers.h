/* SPDX-License-Identifier: Apache-2.0 */
/* proto_helpers.h: protocol-level request helpers for the transaction, order,
 * reset and relay tests and for tests/integration/proto_client.c: sends,
 * END_TRANSACTION, pulls (with the SUBSCRIPTION flag, so no heartbeat is
 * needed), heartbeats, topic creation and locks, over an rclient. Every
 * helper returns the response code, or -1 on a transport error. */
#ifndef TERN_TEST_PROTO_HELPERS_H
#define TERN_TEST_PROTO_HELPERS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "protocol/cmd.h"
#include "protocol/codes.h"
#include "protocol/message.h"
#include "protocol/msgid.h"
#include "protocol/props.h"
#include "remoting/remoting.h"

#define PH_TIMEOUT_MS 5000

/* Builds a properties string from NULL-terminated key, value pairs. */
static inline void ph_props(buf_t *out, const char *const *kv)
{
    for (size_t i = 0; kv && kv[i] && kv[i + 1]; i += 2)
        props_append(out, kv[i], tern_cstr(kv[i + 1]));
}

static inline int ph_call(struct rclient *c, const char *addr, struct rcmd *req, struct rresp *out)
{
    rresp_init(out);
    int rc = rclient_call_sync(c, addr, req, PH_TIMEOUT_MS, out);
    return rc == TERN_OK ? out->cmd.code : -1;
}

static inline int64_t ph_i64(const struct rresp *r, const char *key)
{
    int64_t v = -999999;
    rcmd_get_i64(&r->cmd, key, &v);
    return v;
}

/* Result of a send. */
struct ph_sent {
    int code;
    int64_t queue_off;
    int64_t phy_off;
    char msg_id[64];
    char txn_id[64];
    char remark[256];
};

/* SEND_MESSAGE_V2 of one message; kv are extra properties (may be NULL). */
static inline int ph_send(struct rclient *c, const char *addr, const char *group, const char *topic,
                          int qid, int sys_flag, const char *const *kv, const char *body,
                          struct ph_sent *out)
{
    buf_t p;
    buf_init(&p);
    ph_props(&p, kv);
    struct rcmd req;
    rcmd_init(&req);
    req.code = 310;
    rcmd_add_cstr(&req, "a", group);
    rcmd_add_cstr(&req, "b", topic);
    rcmd_add_cstr(&req, "c", "TBW102");
    rcmd_add_i64(&req, "d", 4);
    rcmd_add_i64(&req, "e", qid);
    rcmd_add_i64(&req, "f", sys_flag);
    rcmd_add_i64(&req, "g", 1700000000000LL);
    rcmd_add_i64(&req, "h", 0);
    rcmd_add(&req, "i", buf_view(&p));
    req.body = tern_cstr(body);
    struct rresp r;
    memset(out, 0, sizeof *out);
    out->code = ph_call(c, addr, &req, &r);
    if (out->code >= 0) {
        out->queue_off = ph_i64(&r, "queueOffset");
        tern_bytes_t v = rcmd_get(&r.cmd, "msgId");
        snprintf(out->msg_id, sizeof out->msg_id, "%.*s", (int)v.len, v.ptr ? (char *)v.ptr : "");
        v = rcmd_get(&r.cmd, "transactionId");
        snprintf(out->txn_id, sizeof out->txn_id, "%.*s", (int)v.len, v.ptr ? (char *)v.ptr : "");
        snprintf(out->remark, sizeof out->remark, "%.*s", (int)r.cmd.remark.len,
                 r.cmd.remark.ptr ? (char *)r.cmd.remark.ptr : "");
        struct msg_host h;
        if (msgid_decode(tern_cstr(out->msg_id), &h, &out->phy_off) != TERN_OK)
            out->phy_off = -1;
    }
    rresp_deinit(&r);
    rcmd_deinit(&req);
    buf_deinit(&p);
    return out->code;
}

/* Fills an END_TRANSACTION request (caller deinits). */
static inline void ph_end_req(struct rcmd *req, const char *group, int64_t half_off,
                              int64_t phy_off, int state, bool from_check, const char *uniq)
{
    rcmd_init(req);
    req->code = RC_END_TRANSACTION;
    rcmd_add_cstr(req, "producerGroup", group);
    rcmd_add_i64(req, "tranStateTableOffset", half_off);
    rcmd_add_i64(req, "commitLogOffset", phy_off);
    rcmd_add_i64(req, "commitOrRollback", state);
    rcmd_add_cstr(req, "fromTransactionCheck", from_check ? "true" : "false");
    rcmd_add_cstr(req, "msgId", uniq);
    rcmd_add_cstr(req, "transactionId", uniq);
}

/* Two-way END_TRANSACTION (tests want the answer); remark copied out. */
static inline int ph_end(struct rclient *c, const char *addr, const char *group,
                         const struct ph_sent *s, int state, bool from_check, char *remark,
                         size_t rlen)
{
    struct rcmd req;
    ph_end_req(&req, group, s->queue_off, s->phy_off, state, from_check, s->txn_id);
    struct rresp r;
    int code = ph_call(c, addr, &req, &r);
    if (remark && rlen)
        snprintf(remark, rlen, "%.*s", (int)r.cmd.remark.len,
                 code >= 0 && r.cmd.remark.ptr ? (char *)r.cmd.remark.ptr : "");
    rresp_deinit(&r);
    rcmd_deinit(&req);
    return code;
}

/* Oneway END_TRANSACTION, as producers send it. */
static inline int ph_end_oneway(struct rclient *c, const char *addr, const char *group,
                                const struct ph_sent *s, int state)
{
    struct rcmd req;
    ph_end_req(&req, group, s->queue_off, s->phy_off, state, false, s->txn_id);
    int rc = rclient_oneway(c, addr, &req);
    rcmd_deinit(&req);
    return rc;
}

/* Calls fn for each record of a pull answer. */
typedef void (*ph_rec_fn)(void *arg, const struct msg_record *m);

/* PULL_MESSAGE (no suspension) from off; *next gets nextBeginOffset. */
static inline int ph_pull(struct rclient *c, const char *addr, const char *group, const char *topic,
                          int qid, int64_t off, int64_t *next, ph_rec_fn fn, void *arg)
{
    struct rcmd req;
    rcmd_init(&req);
    req.code = RC_PULL_MESSAGE;
    rcmd_add_cstr(&req, "consumerGroup", group);
    rcmd_add_cstr(&req, "topic", topic);
    rcmd_add_i64(&req, "queueId", qid);
    rcmd_add_i64(&req, "queueOffset", off);
    rcmd_add_i64(&req, "maxMsgNums", 32);
    rcmd_add_i64(&req, "sysFlag", 4); /* SUBSCRIPTION */
    rcmd_add_i64(&req, "commitOffset", 0);
    rcmd_add_i64(&req, "suspendTimeoutMillis", 0);
    rcmd_add_cstr(&req, "subscription", "*");
    rcmd_add_i64(&req, "subVersion", 0);
    struct rresp r;
    int code = ph_call(c, addr, &req, &r);
    if (next)
        *next = code >= 0 ? ph_i64(&r, "nextBeginOffset") : -1;
    if (code == RESP_SUCCESS && fn) {
        size_t pos = 0;
        tern_bytes_t b = r.cmd.body;
        struct msg_record m;
        while (pos < b.len && msg_decode(b.ptr + pos, b.len - pos, &m) == TERN_OK) {
            fn(arg, &m);
            pos += (size_t)m.total_size;
        }
    }
    rresp_deinit(&r);
    rcmd_deinit(&req);
    return code;
}

/* Pulls a whole queue from 0, calling fn per record. Returns the next
 * offset reached. */
static inline int64_t ph_pull_all(struct rclient *c, const char *addr, const char *topic, int qid,
                                  ph_rec_fn fn, void *arg)
{
    int64_t off = 0, next = 0;
    for (int guard = 0; guard < 100000; guard++) {
        if (ph_pull(c, addr, "ph_reader", topic, qid, off, &next, fn, arg) != RESP_SUCCESS ||
            next <= off)
            break;
        off = next;
    }
    return off;
}

/* UPDATE_AND_CREATE_TOPIC; attributes/order_type may be NULL. */
static inline int ph_create_topic(struct rclient *c, const char *addr, const char *topic,
                                  int queues, const char *attributes, const char *order_type,
                                  char *remark, size_t rlen)
{
    struct rcmd req;
    rcmd_init(&req);
    req.code = RC_UPDATE_AND_CREATE_TOPIC;
    rcmd_add_cstr(&req, "topic", topic);
    rcmd_add_cstr(&req, "defaultTopic", "TBW102");
    rcmd_add_i64(&req, "readQueueNums", queues);
    rcmd_add_i64(&req, "writeQueueNums", queues);
    rcmd_add_i64(&req, "perm", 6);
    rcmd_add_cstr(&req, "topicFilterType", "SINGLE_TAG");
    if (attributes)
        rcmd_add_cstr(&req, "attributes", attributes);
    if (order_type)
        rcmd_add_cstr(&req, "orderType", order_type);
    struct rresp r;
    int code = ph_call(c, addr, &req, &r);
    if (remark && rlen)
        snprintf(remark, rlen, "%.*s", (int)r.cmd.remark.len,
                 code >= 0 && r.cmd.remark.ptr ? (char *)r.cmd.remark.ptr : "");
    rresp_deinit(&r);
    rcmd_deinit(&req);
    return code;
}

/* HEART_BEAT with an optional producer group and consumer group. */
static inline int ph_heartbeat(struct rclient *c, const char *addr, const char *client_id,
                               const char *pgroup, const char *cgroup)
{
    buf_t body;
    buf_init(&body);
    buf_printf(&body, "{\"clientID\":\"%s\",\"producerDataSet\":[", client_id);
    if (pgroup)
        buf_printf(&body, "{\"groupName\":\"%s\"}", pgroup);
    buf_append_cstr(&body, "],\"consumerDataSet\":[");
    if (cgroup)
        buf_printf(&body,
                   "{\"groupName\":\"%s\",\"consumeType\":\"CONSUME_PASSIVELY\","
                   "\"messageModel\":\"CLUSTERING\",\"consumeFromWhere\":"
                   "\"CONSUME_FROM_LAST_OFFSET\",\"subscriptionDataSet\":[],\"unitMode\":false}",
                   cgroup);
    buf_append_cstr(&body, "]}");
    struct rcmd req;
    rcmd_init(&req);
    req.code = RC_HEART_BEAT;
    req.body = buf_view(&body);
    struct rresp r;
    int code = ph_call(c, addr, &req, &r);
    rresp_deinit(&r);
    rcmd_deinit(&req);
    buf_deinit(&body);
    return code;
}

/* LOCK_BATCH_MQ (lock) or UNLOCK_BATCH_MQ of queues [0, nq) of topic; returns
 * the number of queues in lockOKMQSet (lock) or the code (unlock). qbits
 * selects queues (bit i = queue i). */
static inline int ph_lock(struct rclient *c, const char *addr, bool lock, const char *group,
                          const char *client_id, const char *topic, unsigned qbits)
{
    buf_t body;
    buf_init(&body);
    buf_printf(&body,
               "{\"consumerGroup\":\"%s\",\"clientId\":\"%s\",\"onlyThisBroker\":false,"
               "\"mqSet\":[",
               group, client_id);
    bool first = true;
    for (int q = 0; q < 32; q++) {
        if (!(qbits & (1u << q)))
            continue;
        buf_printf(&body, "%s{\"topic\":\"%s\",\"brokerName\":\"broker-a\",\"queueId\":%d}",
                   first ? "" : ",", topic, q);
        first = false;
    }
    buf_append_cstr(&body, "]}");
    struct rcmd req;
    rcmd_init(&req);
    req.code = lock ? RC_LOCK_BATCH_MQ : RC_UNLOCK_BATCH_MQ;
    req.body = buf_view(&body);
    struct rresp r;
    int code = ph_call(c, addr, &req, &r);
    int n = code;
    if (lock && code == RESP_SUCCESS) {
        n = 0;
        tern_bytes_t b = r.cmd.body;
        for (size_t i = 0; i + 7 <= b.len; i++)
            if (memcmp(b.ptr + i, "queueId", 7) == 0)
                n++;
    }
    rresp_deinit(&r);
    rcmd_deinit(&req);
    buf_deinit(&body);
    return n;
}

#endif
