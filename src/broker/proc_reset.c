/* SPDX-License-Identifier: Apache-2.0 */
/* proc_reset.c: INVOKE_BROKER_TO_RESET_OFFSET (222) in the 5.x server-side
 * mode (spec §4.D.7) and the UPDATE_CONSUMER_OFFSET (15) guard.
 *
 * Targets (explicit `offset`, else by `timestamp`, -1 = max offset; clamped
 * to [min, max]) become the committed offsets and pending resets; the next
 * pull of each queue answers PULL_OFFSET_MOVED with nextBeginOffset = target
 * (proc_pull.c), and offset commits for a queue with a pending reset are
 * ignored so the consumer cannot overwrite the target with its old position.
 * Works for every client, ali-ons included (no client callback needed). */
#include <stdio.h>

#include "broker/broker_int.h"
#include "broker/reset_table.h"
#include "common/error.h"
#include "common/limits.h"
#include "protocol/codes.h"
#include "protocol/json.h"
#include "store/store.h"

void proc_reset_offset(void *ctx, struct rreq *req)
{
    struct broker *b = ctx;
    const struct rcmd *c = &req->cmd;
    tern_bytes_t group, topic;
    int64_t ts;
    if (!need_str(req, "group", NULL, &group) || !need_str(req, "topic", NULL, &topic) ||
        !need_i64(req, "timestamp", NULL, &ts))
        return;
    if (!group_name_valid(group)) {
        reply(req, RESP_INVALID_PARAMETER,
              "the group name is illegal (allowed: %%|a-zA-Z0-9_-, at most %d)",
              TERN_MAX_GROUP_BYTES);
        return;
    }
    int64_t qid_req = opt_i64(c, "queueId", NULL, -1);
    int64_t offset = opt_i64(c, "offset", NULL, -1);
    struct topic_config tc;
    if (!topics_get(&b->topics, topic, &tc)) {
        reply(req, RESP_TOPIC_NOT_EXIST, "topic[%.*s] not exist, apply first please!",
              (int)topic.len, (const char *)topic.ptr);
        return;
    }
    if (qid_req >= tc.read_queue_nums) {
        reply(req, RESP_INVALID_PARAMETER, "queueId[%lld] is illegal, topic:[%s] readQueueNums:%d",
              (long long)qid_req, tc.name, tc.read_queue_nums);
        return;
    }
    int32_t first = qid_req >= 0 ? (int32_t)qid_req : 0;
    int32_t last = qid_req >= 0 ? (int32_t)qid_req : tc.read_queue_nums - 1;
    tern_bytes_t tname = tern_cstr(tc.name);
    buf_t body;
    buf_init(&body);
    buf_append_cstr(&body, "{\"offsetTable\":{");
    for (int32_t q = first; q <= last; q++) {
        int64_t mino = store_min_offset(b->store, tname, q);
        int64_t maxo = store_max_offset(b->store, tname, q);
        int64_t target;
        if (offset >= 0)
            target = offset;
        else if (ts < 0)
            target = maxo;
        else
            target = store_offset_by_time(b->store, tname, q, ts, false);
        if (target < mino)
            target = mino;
        if (target > maxo)
            target = maxo;
        offsets_commit(&b->offsets, tname, group, q, target);
        reset_table_put(b->resets, group, tname, q, target);
        buf_printf(&body, "%s{\"brokerName\":", q == first ? "" : ",");
        json_write_string(&body, tern_cstr(b->cfg.broker_name));
        buf_printf(&body, ",\"queueId\":%d,\"topic\":", q);
        json_write_string(&body, tname);
        buf_printf(&body, "}:%lld", (long long)target);
    }
    buf_append_cstr(&body, "}}");
    struct rcmd resp;
    rcmd_init_response(&resp, c, RESP_SUCCESS);
    resp.body = buf_view(&body);
    rreq_respond(req, &resp);
    rcmd_deinit(&resp);
    buf_deinit(&body);
}

void proc_update_offset_guarded(void *ctx, struct rreq *req)
{
    struct broker *b = ctx;
    const struct rcmd *c = &req->cmd;
    int32_t qid;
    tern_bytes_t group = rcmd_get(c, "consumerGroup"), topic = rcmd_get(c, "topic");
    if (group.ptr && topic.ptr && rcmd_get_i32(c, "queueId", &qid) == TERN_OK &&
        reset_table_pending(b->resets, group, topic, qid)) {
        reply(req, RESP_SUCCESS, NULL); /* the pending reset wins */
        return;
    }
    proc_update_offset(ctx, req);
}
