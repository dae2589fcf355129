/* SPDX-License-Identifier: Apache-2.0 */
/* proc_pull.c: PULL_MESSAGE (11) and LITE_PULL_MESSAGE (361) (spec §4.C.4,
 * broker-internals §4.1-4.4).
 *
 * Every SUCCESS / PULL_NOT_FOUND / PULL_RETRY_IMMEDIATELY / PULL_OFFSET_MOVED
 * answer carries suggestWhichBrokerId, nextBeginOffset, minOffset, maxOffset
 * (clients crash without them). A PULL_NOT_FOUND with SUSPEND on first
 * processing is parked in the hold service and replayed (same code, replay
 * mode: no suspension, no commit) on arrival or deadline. */
#include <stdlib.h>
#include <string.h>

#include "broker/broker_int.h"
#include "broker/reset_table.h"
#include "common/clock.h"
#include "common/error.h"
#include "protocol/codes.h"
#include "store/store.h"

#define PULL_FLAG_COMMIT_OFFSET 0x1
#define PULL_FLAG_SUSPEND       0x2
#define PULL_FLAG_SUBSCRIPTION  0x4

#define PULL_MAX_MSGS  32
#define PULL_MAX_BYTES (256 * 1024)

static void answer(struct broker *b, struct rreq *req, int code, const char *remark, int64_t next,
                   int64_t minoff, int64_t maxoff, int topic_sys_flag, int group_sys_flag,
                   tern_bytes_t body)
{
    (void)b;
    struct rcmd resp;
    rcmd_init_response(&resp, &req->cmd, code);
    rcmd_add_cstr(&resp, "suggestWhichBrokerId", "0");
    rcmd_add_i64(&resp, "nextBeginOffset", next);
    rcmd_add_i64(&resp, "minOffset", minoff);
    rcmd_add_i64(&resp, "maxOffset", maxoff);
    rcmd_add_i64(&resp, "topicSysFlag", topic_sys_flag);
    rcmd_add_i64(&resp, "groupSysFlag", group_sys_flag);
    if (remark)
        rcmd_set_remark(&resp, "%s", remark);
    resp.body = body;
    rreq_respond(req, &resp);
    rcmd_deinit(&resp);
}

static void pull_run(struct broker *b, struct rreq *req, bool replay)
{
    const struct rcmd *c = &req->cmd;
    tern_bytes_t group, topic;
    int32_t qid;
    int64_t offset;
    if (!need_str(req, "consumerGroup", NULL, &group) || !need_str(req, "topic", NULL, &topic) ||
        !need_i32(req, "queueId", NULL, &qid) || !need_i64(req, "queueOffset", NULL, &offset))
        return;
    int32_t max_msgs = (int32_t)opt_i64(c, "maxMsgNums", NULL, PULL_MAX_MSGS);
    int32_t sys_flag = (int32_t)opt_i64(c, "sysFlag", NULL, 0);
    int64_t commit_off = opt_i64(c, "commitOffset", NULL, -1);
    int64_t suspend_ms = opt_i64(c, "suspendTimeoutMillis", NULL, 15000);
    if (suspend_ms < 0)
        suspend_ms = 0;
    if (suspend_ms > HOLD_MAX_TIMEOUT_MS)
        suspend_ms = HOLD_MAX_TIMEOUT_MS;
    int64_t sub_version = opt_i64(c, "subVersion", NULL, 0);
    tern_bytes_t expr_type = rcmd_get(c, "expressionType");
    bool has_sub_flag = (sys_flag & PULL_FLAG_SUBSCRIPTION) != 0;

    if (!(b->cfg.broker_permission & PERM_READ)) {
        reply(req, RESP_NO_PERMISSION, "the broker[%s] pulling message is forbidden",
              b->cfg.broker_name);
        return;
    }
    struct group_config gc;
    if (!groups_ensure(&b->groups, group, b->cfg.auto_create_group, &gc)) {
        reply(req, RESP_SUBSCRIPTION_GROUP_NOT_EXIST, "subscription group [%.*s] does not exist",
              (int)group.len, (const char *)group.ptr);
        return;
    }
    if (!gc.consume_enable) {
        reply(req, RESP_NO_PERMISSION, "subscription group no permission, %s", gc.name);
        return;
    }
    struct topic_config tc;
    if (!topics_get(&b->topics, topic, &tc)) {
        reply(req, RESP_TOPIC_NOT_EXIST, "topic[%.*s] not exist, apply first please!",
              (int)topic.len, (const char *)topic.ptr);
        return;
    }
    if (!(tc.perm & PERM_READ)) {
        reply(req, RESP_NO_PERMISSION, "the topic[%s] pulling message is forbidden", tc.name);
        return;
    }
    if (qid < 0 || qid >= tc.read_queue_nums) {
        reply(req, RESP_INVALID_PARAMETER,
              "queueId[%d] is illegal, topic:[%s] topicConfig.readQueueNums:[%d]", qid, tc.name,
              tc.read_queue_nums);
        return;
    }

    struct tag_filter filter;
    if (has_sub_flag) {
        if (expr_type.ptr && tern_bytes_eq_cstr(expr_type, "SQL92")) {
            reply(req, RESP_SYSTEM_ERROR,
                  "The broker does not support consumer to filter message by SQL92");
            return;
        }
        tag_filter_parse(&filter, rcmd_get(c, "subscription"));
    } else {
        struct cm_sub_view sv;
        int r = cm_find_subscription(&b->clients, group, topic, &sv);
        if (r == 1) {
            reply(req, RESP_SUBSCRIPTION_NOT_EXIST,
                  "the consumer's group info not exist, group: %.*s", (int)group.len,
                  (const char *)group.ptr);
            return;
        }
        if (r == 2) {
            reply(req, RESP_SUBSCRIPTION_NOT_EXIST,
                  "the consumer's subscription not exist, group: %.*s topic: %s", (int)group.len,
                  (const char *)group.ptr, tc.name);
            return;
        }
        if (sv.message_model == MODEL_BROADCASTING && !gc.consume_broadcast_enable) {
            reply(req, RESP_NO_PERMISSION,
                  "the consumer group[%s] can not consume by broadcast way", gc.name);
            return;
        }
        if (sv.sub_version < sub_version) {
            reply(req, RESP_SUBSCRIPTION_NOT_LATEST, "the consumer's subscription not latest");
            return;
        }
        if (sv.is_sql92) {
            reply(req, RESP_SYSTEM_ERROR,
                  "The broker does not support consumer to filter message by SQL92");
            return;
        }
        filter = sv.filter;
    }

    int64_t reset_to; /* pending server-side reset (proc_reset.c): before any commit */
    if (reset_table_take(b->resets, group, tern_cstr(tc.name), qid, &reset_to)) {
        tern_bytes_t tn = tern_cstr(tc.name);
        answer(b, req, RESP_PULL_OFFSET_MOVED, "OFFSET_RESET", reset_to,
               store_min_offset(b->store, tn, qid), store_max_offset(b->store, tn, qid),
               tc.topic_sys_flag, gc.group_sys_flag, TERN_BYTES_NULL);
        return;
    }
    if (!replay && (sys_flag & PULL_FLAG_COMMIT_OFFSET) && commit_off >= 0)
        offsets_commit(&b->offsets, topic, group, qid, commit_off);

    if (max_msgs <= 0)
        max_msgs = 1;
    if (max_msgs > PULL_MAX_MSGS)
        max_msgs = PULL_MAX_MSGS;
    buf_t body;
    buf_init(&body);
    struct store_get_result gr;
    int rc = store_get(b->store, tern_cstr(tc.name), qid, offset, max_msgs, PULL_MAX_BYTES,
                       filter.match_all ? NULL : tag_filter_cb, &filter, &body, &gr);
    if (rc != TERN_OK) {
        buf_deinit(&body);
        reply(req, RESP_SYSTEM_ERROR, "store getMessage failed: %s", tern_strerror(rc));
        return;
    }
    int code;
    switch (gr.status) {
    case GET_FOUND:
        code = RESP_SUCCESS;
        break;
    case GET_NO_MATCHED_MESSAGE:
    case GET_MESSAGE_WAS_REMOVING:
        code = RESP_PULL_RETRY_IMMEDIATELY;
        break;
    case GET_NO_MESSAGE_IN_QUEUE:
    case GET_NO_MATCHED_LOGIC_QUEUE:
        code = offset != 0 ? RESP_PULL_OFFSET_MOVED : RESP_PULL_NOT_FOUND;
        break;
    case GET_OFFSET_TOO_SMALL:
    case GET_OFFSET_OVERFLOW_BADLY:
        code = RESP_PULL_OFFSET_MOVED;
        break;
    case GET_OFFSET_OVERFLOW_ONE:
    case GET_OFFSET_FOUND_NULL:
    default:
        code = RESP_PULL_NOT_FOUND;
        break;
    }
    if (code == RESP_SUCCESS) {
        atomic_fetch_add_explicit(&b->msgs_got, gr.count, memory_order_relaxed);
        stats_add(&b->stats, STATS_GROUP_GET, topic, group, (int64_t)gr.count,
                  clock_wall_coarse_ms());
    }

    if (code == RESP_PULL_NOT_FOUND && !replay && (sys_flag & PULL_FLAG_SUSPEND)) {
        int64_t hold_ms = b->cfg.long_polling ? suspend_ms : b->cfg.short_polling_ms;
        if (hold_ms > 0) {
            buf_deinit(&body);
            tern_bytes_t tname = tern_cstr(tc.name);
            if (hold_add(&b->hold, req, tname, qid, offset, hold_ms, &filter)) {
                /* An arrival between our read and the park would be missed:
                 * look again now that the request is visible to arrivals. */
                int64_t maxo = store_max_offset(b->store, tname, qid);
                if (maxo > offset)
                    hold_notify(&b->hold, tname, qid, maxo, NULL);
                return;
            }
            /* Stopping, or too many held: fall through and answer now. */
            answer(b, req, code, store_get_status_name(gr.status), gr.next_off, gr.min_off,
                   gr.max_off, tc.topic_sys_flag, gc.group_sys_flag, TERN_BYTES_NULL);
            return;
        }
    }
    answer(b, req, code, store_get_status_name(gr.status), gr.next_off, gr.min_off, gr.max_off,
           tc.topic_sys_flag, gc.group_sys_flag, buf_view(&body));
    buf_deinit(&body);
}

void proc_pull(void *ctx, struct rreq *req)
{
    pull_run(ctx, req, false);
}

void pull_replay(void *ctx, struct rreq *req)
{
    pull_run(ctx, req, true);
}
