/* SPDX-License-Identifier: Apache-2.0 */
/* proc_lock.c: LOCK_BATCH_MQ (41) and UNLOCK_BATCH_MQ (42) for ordered
 * consumers (spec §4.C.9). LOCK answers {"lockOKMQSet":[...]} with the queues
 * the client holds afterwards; queues locked by others are left out. */
#include "broker/broker_int.h"
#include "common/arena.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/limits.h"
#include "protocol/codes.h"
#include "protocol/heartbeat.h"
#include "protocol/json.h"

/* Queues one LOCK/UNLOCK_BATCH_MQ may name. */
#define LOCK_BATCH_MAX 1024

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

static bool decode(struct rreq *req, arena_t *a, struct lock_batch *lb)
{
    if (body_too_large(req))
        return false;
    if (lock_batch_decode(req->cmd.body, a, lb) != TERN_OK) {
        reply(req, RESP_INVALID_PARAMETER,
              "the lock body is malformed (needs consumerGroup, clientId, mqSet)");
        return false;
    }
    if (!group_name_valid(lb->group)) {
        reply(req, RESP_INVALID_PARAMETER,
              "the consumerGroup is illegal (allowed: %%|a-zA-Z0-9_-, at most %d)",
              TERN_MAX_GROUP_BYTES);
        return false;
    }
    if (lb->nmq > LOCK_BATCH_MAX) {
        reply(req, RESP_INVALID_PARAMETER, "the mqSet has %zu queues (at most %d per request)",
              lb->nmq, LOCK_BATCH_MAX);
        return false;
    }
    return true;
}

/* True when topic exists here and qid is one of its readable queues. */
static bool queue_exists(struct broker *b, tern_bytes_t topic, int32_t qid)
{
    struct topic_config tc;
    return topics_get(&b->topics, topic, &tc) && qid >= 0 && qid < tc.read_queue_nums;
}

void proc_lock_batch(void *ctx, struct rreq *req)
{
    struct broker *b = ctx;
    arena_t a;
    arena_init(&a);
    struct lock_batch lb;
    if (!decode(req, &a, &lb)) {
        arena_deinit(&a);
        return;
    }
    int64_t now = clock_mono_ms();
    buf_t body;
    buf_init(&body);
    jw_t w;
    jw_init(&w, &body);
    jw_obj_begin(&w);
    jw_key(&w, "lockOKMQSet");
    jw_arr_begin(&w);
    for (size_t i = 0; i < lb.nmq; i++) {
        const struct lock_mq *q = &lb.mqs[i];
        if (!queue_exists(b, q->topic, q->queue_id) ||
            !lock_table_try(&b->locks, lb.group, q->topic, q->queue_id, lb.client_id, now))
            continue;
        jw_obj_begin(&w);
        jw_key(&w, "brokerName");
        jw_str(&w, q->broker_name);
        jw_key(&w, "queueId");
        jw_i64(&w, q->queue_id);
        jw_key(&w, "topic");
        jw_str(&w, q->topic);
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    jw_obj_end(&w);
    arena_deinit(&a);
    struct rcmd resp;
    rcmd_init_response(&resp, &req->cmd, RESP_SUCCESS);
    resp.body = buf_view(&body);
    rreq_respond(req, &resp);
    rcmd_deinit(&resp);
    buf_deinit(&body);
}

void proc_unlock_batch(void *ctx, struct rreq *req)
{
    struct broker *b = ctx;
    arena_t a;
    arena_init(&a);
    struct lock_batch lb;
    if (!decode(req, &a, &lb)) {
        arena_deinit(&a);
        return;
    }
    for (size_t i = 0; i < lb.nmq; i++)
        lock_table_unlock(&b->locks, lb.group, lb.mqs[i].topic, lb.mqs[i].queue_id, lb.client_id);
    arena_deinit(&a);
    reply(req, RESP_SUCCESS, NULL);
}
