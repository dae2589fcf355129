/* SPDX-License-Identifier: Apache-2.0 */
/* proc_reply.c: SEND_REPLY_MESSAGE (324) / _V2 (325) -> PUSH_REPLY_MESSAGE_TO_CLIENT
 * (326) (spec §4.B.3, §8.11).
 *
 * The reply is validated like a send (topic name, topic exists or is the
 * cluster's reply topic) and pushed, not stored, to the producer connection
 * whose client id equals REPLY_TO_CLIENT. The push is a request; the replier
 * is answered from its callback (SUCCESS msgId "0", queueOffset 0, or
 * SYSTEM_ERROR with the reason). The handler never waits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker_int.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/limits.h"
#include "common/xalloc.h"
#include "protocol/codes.h"
#include "protocol/props.h"

#define PUSH_TIMEOUT_MS 3000

struct reply_ctx {
    struct rreq *req; /* owned until answered */
    int32_t queue_id;
};

static void host_str(const struct msg_host *h, char *out, size_t n)
{
    snprintf(out, n, "%u.%u.%u.%u:%d", h->addr[0], h->addr[1], h->addr[2], h->addr[3],
             (int)h->port);
}

static void add_opt(struct rcmd *c, const char *key, tern_bytes_t v)
{
    if (v.ptr)
        rcmd_add(c, key, v);
}

static void push_done(void *arg, int err, struct rcmd *resp)
{
    struct reply_ctx *rc = arg;
    if (err == TERN_OK && resp && resp->code == RESP_SUCCESS) {
        struct rcmd out;
        rcmd_init_response(&out, &rc->req->cmd, RESP_SUCCESS);
        rcmd_add_cstr(&out, "msgId", "0");
        rcmd_add_i64(&out, "queueId", rc->queue_id);
        rcmd_add_i64(&out, "queueOffset", 0);
        rreq_respond(rc->req, &out);
        rcmd_deinit(&out);
    } else if (err == TERN_OK && resp) {
        reply(rc->req, RESP_SYSTEM_ERROR, "push reply to the requester failed, code %d",
              (int)resp->code);
    } else {
        reply(rc->req, RESP_SYSTEM_ERROR, "push reply to the requester failed: %s",
              tern_strerror(err));
    }
    free(rc);
}

void proc_send_reply(void *ctx, struct rreq *req)
{
    struct broker *b = ctx;
    const struct rcmd *c = &req->cmd;
    tern_bytes_t group, topic;
    int32_t qid;
    if (!need_str(req, "producerGroup", "a", &group) || !need_str(req, "topic", "b", &topic) ||
        !need_i32(req, "queueId", "e", &qid))
        return;
    if (!topic_name_valid(topic, TERN_MAX_TOPIC_BYTES)) {
        reply(req, RESP_INVALID_PARAMETER, "the specified topic[%.*s] is illegal",
              (int)(topic.len > 200 ? 200 : topic.len), (const char *)topic.ptr);
        return;
    }
    struct topic_config tc;
    if (!topics_get(&b->topics, topic, &tc)) {
        reply(req, RESP_TOPIC_NOT_EXIST, "topic[%.*s] not exist, apply first please!",
              (int)topic.len, (const char *)topic.ptr);
        return;
    }
    tern_bytes_t props = rcmd_get2(c, "properties", "i"), to;
    if (!props_get(props, "REPLY_TO_CLIENT", &to) || to.len == 0) {
        reply(req, RESP_SYSTEM_ERROR, "the reply message has no REPLY_TO_CLIENT property");
        return;
    }
    struct rconn *conn = cm_find_conn(&b->clients, true, TERN_BYTES_NULL, to, NULL);
    if (!conn) {
        reply(req, RESP_SYSTEM_ERROR, "push reply failed: requester %.*s is not online",
              (int)to.len, (const char *)to.ptr);
        return;
    }
    buf_t p;
    buf_init(&p);
    static const char *const SKIP[] = {"PUSH_REPLY_TIME", NULL};
    props_copy_except(&p, props, SKIP);
    char now[24];
    snprintf(now, sizeof now, "%lld", (long long)clock_wall_ms());
    props_append(&p, "PUSH_REPLY_TIME", tern_cstr(now));
    struct sockaddr_in peer;
    rconn_peer_addr(req->conn, &peer);
    struct msg_host born;
    host_from_sockaddr(&peer, &born);
    char born_s[64], store_s[64];
    host_str(&born, born_s, sizeof born_s);
    host_str(&b->store_host, store_s, sizeof store_s);

    struct rcmd push;
    rcmd_init(&push);
    push.code = RC_PUSH_REPLY_MESSAGE_TO_CLIENT;
    rcmd_add(&push, "producerGroup", group);
    rcmd_add(&push, "topic", topic);
    add_opt(&push, "defaultTopic", rcmd_get2(c, "defaultTopic", "c"));
    add_opt(&push, "defaultTopicQueueNums", rcmd_get2(c, "defaultTopicQueueNums", "d"));
    rcmd_add_i64(&push, "queueId", qid);
    rcmd_add_i64(&push, "sysFlag", opt_i64(c, "sysFlag", "f", 0));
    rcmd_add_i64(&push, "bornTimestamp", opt_i64(c, "bornTimestamp", "g", 0));
    rcmd_add_i64(&push, "flag", opt_i64(c, "flag", "h", 0));
    rcmd_add(&push, "properties", buf_view(&p));
    rcmd_add_i64(&push, "reconsumeTimes", opt_i64(c, "reconsumeTimes", "j", 0));
    rcmd_add_cstr(&push, "unitMode", rcmd_get_bool(c, "unitMode") ? "true" : "false");
    rcmd_add_cstr(&push, "bornHost", born_s);
    rcmd_add_cstr(&push, "storeHost", store_s);
    rcmd_add_i64(&push, "storeTimestamp", clock_wall_ms());
    push.body = c->body;
    struct reply_ctx *rc = xmalloc(sizeof *rc);
    rc->req = req;
    rc->queue_id = qid;
    int err = rconn_send_request(conn, &push, PUSH_TIMEOUT_MS, push_done, rc);
    rcmd_deinit(&push);
    buf_deinit(&p);
    rconn_unref(conn);
    if (err != TERN_OK) {
        free(rc);
        reply(req, RESP_SYSTEM_ERROR, "push reply failed: requester connection closed");
    }
}
