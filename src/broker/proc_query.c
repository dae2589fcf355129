/* SPDX-License-Identifier: Apache-2.0 */
/* proc_query.c: QUERY_MESSAGE (12) by key / UNIQ_KEY and VIEW_MESSAGE_BY_ID
 * (33) by commit-log offset (spec §4.C.10). Bodies are raw stored records. */
#include <string.h>

#include "broker/broker_int.h"
#include "common/error.h"
#include "protocol/codes.h"
#include "store/store.h"

#define QUERY_DEFAULT_MAX 32
#define QUERY_HARD_MAX    64

void proc_query_message(void *ctx, struct rreq *req)
{
    struct broker *b = ctx;
    tern_bytes_t topic, key;
    int64_t max, begin, end;
    if (!need_str(req, "topic", NULL, &topic) || !need_str(req, "key", NULL, &key) ||
        !need_i64(req, "maxNum", NULL, &max) || !need_i64(req, "beginTimestamp", NULL, &begin) ||
        !need_i64(req, "endTimestamp", NULL, &end))
        return;
    if (rcmd_get_bool(&req->cmd, "_UNIQUE_KEY_QUERY") || max <= 0)
        max = QUERY_DEFAULT_MAX;
    if (max > QUERY_HARD_MAX)
        max = QUERY_HARD_MAX;
    buf_t body;
    buf_init(&body);
    struct store_query_result qr;
    memset(&qr, 0, sizeof qr);
    int rc = store_query(b->store, topic, key, (int)max, begin, end, &body, &qr);
    if (rc != TERN_OK || qr.count == 0) {
        buf_deinit(&body);
        reply(req, RESP_QUERY_NOT_FOUND, "can not find message, maybe time range not correct");
        return;
    }
    struct rcmd resp;
    rcmd_init_response(&resp, &req->cmd, RESP_SUCCESS);
    rcmd_add_i64(&resp, "indexLastUpdateTimestamp", qr.index_last_update_ts);
    rcmd_add_i64(&resp, "indexLastUpdatePhyoffset", qr.index_last_update_phy);
    resp.body = buf_view(&body);
    rreq_respond(req, &resp);
    rcmd_deinit(&resp);
    buf_deinit(&body);
}

void proc_view_message(void *ctx, struct rreq *req)
{
    struct broker *b = ctx;
    int64_t off;
    if (!need_i64(req, "offset", NULL, &off))
        return;
    buf_t body;
    buf_init(&body);
    if (off < 0 || store_read_at(b->store, off, &body) != TERN_OK) {
        buf_deinit(&body);
        reply(req, RESP_SYSTEM_ERROR, "can not find message by the offset, %lld", (long long)off);
        return;
    }
    struct rcmd resp;
    rcmd_init_response(&resp, &req->cmd, RESP_SUCCESS);
    resp.body = buf_view(&body);
    rreq_respond(req, &resp);
    rcmd_deinit(&resp);
    buf_deinit(&body);
}
