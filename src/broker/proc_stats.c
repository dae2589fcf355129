/* SPDX-License-Identifier: Apache-2.0 */
/* proc_stats.c: the statistics requests (stats.h): RocketMQ's
 * VIEW_BROKER_STATS_DATA (315, headers statsName and statsKey, body
 * BrokerStatsData) and Tern's GET_STATS_MINUTES (10315, header sinceMinute:
 * every counted minute since then in one answer, what the Open API console
 * polls). */
#include "broker/broker_int.h"
#include "common/buf.h"
#include "common/clock.h"
#include "protocol/codes.h"

static void answer_body(struct rreq *req, buf_t *body)
{
    struct rcmd resp;
    rcmd_init_response(&resp, &req->cmd, RESP_SUCCESS);
    resp.body = buf_view(body);
    rreq_respond(req, &resp);
    rcmd_deinit(&resp);
}

void proc_view_stats(void *ctx, struct rreq *req)
{
    struct broker *b = ctx;
    tern_bytes_t name, key;
    if (!need_str(req, "statsName", NULL, &name) || !need_str(req, "statsKey", NULL, &key))
        return;
    buf_t body;
    buf_init(&body);
    if (stats_view_json(&b->stats, name, key, clock_wall_coarse_ms(), &body)) {
        answer_body(req, &body);
    } else {
        /* RocketMQ's answer for an item it does not keep. */
        reply(req, RESP_SYSTEM_ERROR, "The stats <%.*s> <%.*s> not exist",
              (int)(name.len > 64 ? 64 : name.len), (const char *)name.ptr,
              (int)(key.len > 300 ? 300 : key.len), (const char *)key.ptr);
    }
    buf_deinit(&body);
}

void proc_stats_minutes(void *ctx, struct rreq *req)
{
    struct broker *b = ctx;
    int64_t since;
    if (!need_i64(req, "sinceMinute", NULL, &since))
        return;
    buf_t body;
    buf_init(&body);
    stats_minutes_json(&b->stats, since, clock_wall_coarse_ms(), &body);
    answer_body(req, &body);
    buf_deinit(&body);
}
