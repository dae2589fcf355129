/* SPDX-License-Identifier: Apache-2.0 */
/* proc_client.c: HEART_BEAT (34), UNREGISTER_CLIENT (35),
 * GET_CONSUMER_LIST_BY_GROUP (38), CHECK_CLIENT_CONFIG (46) (spec §4.C.1-3,
 * §4.C.11). Heartbeats create consumer groups and their %RETRY% topics (and
 * so trigger a name-server registration) and refresh membership. */
#include <string.h>

#include "broker/broker_int.h"
#include "common/arena.h"
#include "common/clock.h"
#include "common/error.h"
#include "protocol/codes.h"
#include "protocol/heartbeat.h"
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

void proc_heartbeat(void *ctx, struct rreq *req)
{
    struct broker *b = ctx;
    if (body_too_large(req))
        return;
    arena_t a;
    arena_init(&a);
    struct heartbeat hb;
    int rc = heartbeat_decode(req->cmd.body, &a, &hb);
    if (rc != TERN_OK) {
        arena_deinit(&a);
        reply(req, RESP_INVALID_PARAMETER, "the heartbeat body is malformed: %s",
              tern_strerror(rc));
        return;
    }
    int64_t now = clock_mono_ms();
    struct cm_client cl = {req->conn, hb.client_id, req->cmd.language, req->cmd.version};
    for (size_t i = 0; i < hb.nconsumers; i++) {
        const struct hb_consumer *c = &hb.consumers[i];
        if (!group_name_valid(c->group))
            continue;
        struct group_config gc;
        if (!groups_ensure(&b->groups, c->group, b->cfg.auto_create_group, &gc))
            continue;
        broker_ensure_retry_topic(b, c->group, gc.retry_queue_nums);
        cm_consumer_heartbeat(&b->clients, &cl, c, gc.notify_consumer_ids_changed_enable, now);
    }
    for (size_t i = 0; i < hb.nproducers; i++) {
        /* Same rule as consumer groups: the name is a map key and shows up
         * in admin output, so odd bytes (NUL included) are skipped. */
        if (!group_name_valid(hb.producers[i]))
            continue;
        cm_producer_heartbeat(&b->clients, &cl, hb.producers[i], now);
    }
    arena_deinit(&a);

    struct rcmd resp;
    rcmd_init_response(&resp, &req->cmd, RESP_SUCCESS);
    rcmd_add_cstr(&resp, "IS_SUPPORT_HEART_BEAT_V2", "false");
    rcmd_add_cstr(&resp, "IS_SUB_CHANGE", "false");
    rreq_respond(req, &resp);
    rcmd_deinit(&resp);
}

void proc_unregister_client(void *ctx, struct rreq *req)
{
    struct broker *b = ctx;
    tern_bytes_t client_id;
    if (!need_str(req, "clientID", NULL, &client_id))
        return;
    tern_bytes_t pg = rcmd_get(&req->cmd, "producerGroup");
    tern_bytes_t cg = rcmd_get(&req->cmd, "consumerGroup");
    cm_unregister(&b->clients, req->conn, pg, cg);
    reply(req, RESP_SUCCESS, NULL);
}

void proc_consumer_list(void *ctx, struct rreq *req)
{
    struct broker *b = ctx;
    tern_bytes_t group;
    if (!need_str(req, "consumerGroup", NULL, &group))
        return;
    buf_t body;
    buf_init(&body);
    if (cm_consumer_ids_json(&b->clients, group, &body) == 0) {
        buf_deinit(&body);
        reply(req, RESP_SYSTEM_ERROR, "no consumer for this group, %.*s", (int)group.len,
              (const char *)group.ptr);
        return;
    }
    struct rcmd resp;
    rcmd_init_response(&resp, &req->cmd, RESP_SUCCESS);
    resp.body = buf_view(&body);
    rreq_respond(req, &resp);
    rcmd_deinit(&resp);
    buf_deinit(&body);
}

void proc_check_client_config(void *ctx, struct rreq *req)
{
    (void)ctx;
    if (body_too_large(req))
        return;
    arena_t a;
    arena_init(&a);
    struct json_val *root = NULL;
    if (json_parse(req->cmd.body, &a, &root) != TERN_OK || root->type != JSON_OBJECT) {
        arena_deinit(&a);
        reply(req, RESP_INVALID_PARAMETER, "the CHECK_CLIENT_CONFIG body is malformed");
        return;
    }
    const struct json_val *sd = json_get(root, "subscriptionData");
    tern_bytes_t et = json_get_str(sd, "expressionType");
    bool tag = !et.ptr || et.len == 0 || tern_bytes_eq_cstr(et, "TAG");
    arena_deinit(&a);
    if (!tag) {
        reply(req, RESP_SYSTEM_ERROR,
              "The broker does not support consumer to filter message by SQL92");
        return;
    }
    reply(req, RESP_SUCCESS, NULL);
}
