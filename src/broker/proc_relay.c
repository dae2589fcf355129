/* SPDX-License-Identifier: Apache-2.0 */
/* proc_relay.c: GET_CONSUMER_RUNNING_INFO (307) and CONSUME_MESSAGE_DIRECTLY
 * (309) relays admin -> broker -> consumer (spec §4.D.8).
 *
 * The request is forwarded with the same extFields and body (309: the broker
 * adds brokerName and puts the stored message, found by the offset msgId, in
 * the body) on the consumer's connection. The handler returns at once; the
 * admin is answered from the response callback with the client's code,
 * remark and body, or CONSUME_MSG_TIMEOUT after RELAY_TIMEOUT_MS. The relay
 * owns the admin's rreq until that callback. */
#include <stdio.h>
#include <stdlib.h>

#include "broker/broker_int.h"
#include "common/error.h"
#include "common/xalloc.h"
#include "protocol/codes.h"
#include "store/store.h"

#define RELAY_TIMEOUT_MS   10000
#define MIN_CLIENT_VERSION 62 /* V3_1_8_SNAPSHOT: clients below cannot answer */

static void relay_done(void *arg, int err, struct rcmd *resp)
{
    struct rreq *req = arg; /* owned: answered here */
    if (err == TERN_ETIMEOUT) {
        reply(req, RESP_CONSUME_MSG_TIMEOUT, "consumer did not answer in %d ms", RELAY_TIMEOUT_MS);
        return;
    }
    if (err != TERN_OK || !resp) {
        reply(req, RESP_SYSTEM_ERROR, "the consumer connection closed: %s", tern_strerror(err));
        return;
    }
    struct rcmd out;
    rcmd_init_response(&out, &req->cmd, resp->code);
    if (resp->has_remark)
        rcmd_set_remark(&out, "%.*s", (int)resp->remark.len, (const char *)resp->remark.ptr);
    for (size_t i = 0; i < resp->nfields; i++) {
        char key[128];
        snprintf(key, sizeof key, "%.*s", (int)resp->fields[i].key.len,
                 (const char *)resp->fields[i].key.ptr);
        rcmd_add(&out, key, resp->fields[i].val);
    }
    out.body = resp->body;
    rreq_respond(req, &out);
    rcmd_deinit(&out);
}

void proc_relay_to_consumer(void *ctx, struct rreq *req)
{
    struct broker *b = ctx;
    const struct rcmd *c = &req->cmd;
    tern_bytes_t group, client_id;
    if (!need_str(req, "consumerGroup", NULL, &group) ||
        !need_str(req, "clientId", NULL, &client_id))
        return;
    int version = 0;
    struct rconn *conn = cm_find_conn(&b->clients, false, group, client_id, &version);
    if (!conn) {
        reply(req, RESP_SYSTEM_ERROR, "The Consumer <%.*s> <%.*s> not online", (int)group.len,
              (const char *)group.ptr, (int)client_id.len, (const char *)client_id.ptr);
        return;
    }
    if (version < MIN_CLIENT_VERSION) {
        rconn_unref(conn);
        reply(req, RESP_SYSTEM_ERROR, "The Consumer <%.*s> Version <%d> too low to finish",
              (int)client_id.len, (const char *)client_id.ptr, version);
        return;
    }
    struct rcmd fwd;
    rcmd_init(&fwd);
    fwd.code = c->code;
    buf_t raw;
    buf_init(&raw);
    for (size_t i = 0; i < c->nfields; i++) {
        tern_bytes_t k = c->fields[i].key;
        if (c->code == RC_CONSUME_MESSAGE_DIRECTLY && tern_bytes_eq_cstr(k, "brokerName"))
            continue;
        rcmd_add_ref(&fwd, k, c->fields[i].val);
    }
    fwd.body = c->body;
    if (c->code == RC_CONSUME_MESSAGE_DIRECTLY) {
        rcmd_add_cstr(&fwd, "brokerName", b->cfg.broker_name);
        struct msg_host host;
        int64_t phy;
        if (msgid_decode(rcmd_get(c, "msgId"), &host, &phy) != TERN_OK ||
            store_read_at(b->store, phy, &raw) != TERN_OK) {
            rcmd_deinit(&fwd);
            buf_deinit(&raw);
            rconn_unref(conn);
            reply(req, RESP_SYSTEM_ERROR, "no message found by msgId");
            return;
        }
        fwd.body = buf_view(&raw);
    }
    /* fwd borrows req's frame and raw; both outlive the send (encoded now). */
    int rc = rconn_send_request(conn, &fwd, RELAY_TIMEOUT_MS, relay_done, req);
    rcmd_deinit(&fwd);
    buf_deinit(&raw);
    rconn_unref(conn);
    if (rc != TERN_OK)
        reply(req, RESP_SYSTEM_ERROR, "The Consumer <%.*s> <%.*s> not online", (int)group.len,
              (const char *)group.ptr, (int)client_id.len, (const char *)client_id.ptr);
}
