/* SPDX-License-Identifier: Apache-2.0 */
/* proc_offset.c: QUERY_CONSUMER_OFFSET (14), UPDATE_CONSUMER_OFFSET (15),
 * GET_MAX_OFFSET (30), GET_MIN_OFFSET (31), SEARCH_OFFSET_BY_TIMESTAMP (29),
 * GET_EARLIEST_MSG_STORETIME (32) (spec §4.C.5-4.C.7). Queue queries never
 * fail for unknown queues: they read as empty. */
#include <string.h>
#include <strings.h>

#include "broker/broker_int.h"
#include "common/error.h"
#include "common/limits.h"
#include "protocol/codes.h"
#include "store/store.h"

static void answer_i64(struct rreq *req, const char *key, int64_t v)
{
    struct rcmd resp;
    rcmd_init_response(&resp, &req->cmd, RESP_SUCCESS);
    rcmd_add_i64(&resp, key, v);
    rreq_respond(req, &resp);
    rcmd_deinit(&resp);
}

void proc_query_offset(void *ctx, struct rreq *req)
{
    struct broker *b = ctx;
    tern_bytes_t group, topic;
    int32_t qid;
    if (!need_str(req, "consumerGroup", NULL, &group) || !need_str(req, "topic", NULL, &topic) ||
        !need_i32(req, "queueId", NULL, &qid))
        return;
    int64_t off = offsets_query(&b->offsets, topic, group, qid);
    if (off >= 0) {
        answer_i64(req, "offset", off);
        return;
    }
    tern_bytes_t zero = rcmd_get(&req->cmd, "setZeroIfNotFound");
    bool set_zero =
        !(zero.ptr && zero.len == 5 && strncasecmp((const char *)zero.ptr, "false", 5) == 0);
    /* A young queue (never truncated) starts new groups from its first
     * message, so messages sent before the group existed are not skipped. */
    if (set_zero && store_min_offset(b->store, topic, qid) <= 0) {
        answer_i64(req, "offset", 0);
        return;
    }
    reply(req, RESP_QUERY_NOT_FOUND,
          "Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first");
}

void proc_update_offset(void *ctx, struct rreq *req)
{
    struct broker *b = ctx;
    tern_bytes_t group, topic;
    int32_t qid;
    int64_t off;
    if (!need_str(req, "consumerGroup", NULL, &group) || !need_str(req, "topic", NULL, &topic) ||
        !need_i32(req, "queueId", NULL, &qid) || !need_i64(req, "commitOffset", NULL, &off))
        return;
    struct group_config gc;
    if (!groups_ensure(&b->groups, group, b->cfg.auto_create_group, &gc)) {
        reply(req, RESP_SUBSCRIPTION_GROUP_NOT_EXIST, "subscription group not exist, %.*s",
              (int)group.len, (const char *)group.ptr);
        return;
    }
    struct topic_config tc;
    if (!topics_get(&b->topics, topic, &tc)) {
        reply(req, RESP_TOPIC_NOT_EXIST, "topic[%.*s] not exist, apply first please!",
              (int)topic.len, (const char *)topic.ptr);
        return;
    }
    if (qid < 0 || qid >= TERN_MAX_QUEUES_PER_TOPIC) {
        reply(req, RESP_INVALID_PARAMETER, "queueId[%d] is illegal", qid);
        return;
    }
    /* ali-ons sends -1 for "nothing yet": not an error, nothing stored. */
    if (off >= 0)
        offsets_commit(&b->offsets, topic, group, qid, off);
    reply(req, RESP_SUCCESS, NULL);
}

static bool queue_args(struct rreq *req, tern_bytes_t *topic, int32_t *qid)
{
    return need_str(req, "topic", NULL, topic) && need_i32(req, "queueId", NULL, qid);
}

void proc_max_offset(void *ctx, struct rreq *req)
{
    struct broker *b = ctx;
    tern_bytes_t topic;
    int32_t qid;
    if (!queue_args(req, &topic, &qid))
        return;
    answer_i64(req, "offset", store_max_offset(b->store, topic, qid));
}

void proc_min_offset(void *ctx, struct rreq *req)
{
    struct broker *b = ctx;
    tern_bytes_t topic;
    int32_t qid;
    if (!queue_args(req, &topic, &qid))
        return;
    answer_i64(req, "offset", store_min_offset(b->store, topic, qid));
}

void proc_search_offset(void *ctx, struct rreq *req)
{
    struct broker *b = ctx;
    tern_bytes_t topic;
    int32_t qid;
    int64_t ts;
    if (!queue_args(req, &topic, &qid) || !need_i64(req, "timestamp", NULL, &ts))
        return;
    tern_bytes_t bt = rcmd_get(&req->cmd, "boundaryType");
    bool upper = bt.ptr && bt.len == 5 && strncasecmp((const char *)bt.ptr, "upper", 5) == 0;
    answer_i64(req, "offset", store_offset_by_time(b->store, topic, qid, ts, upper));
}

void proc_earliest_time(void *ctx, struct rreq *req)
{
    struct broker *b = ctx;
    tern_bytes_t topic;
    int32_t qid;
    if (!queue_args(req, &topic, &qid))
        return;
    answer_i64(req, "timestamp", store_earliest_time(b->store, topic, qid));
}
