/* SPDX-License-Identifier: Apache-2.0 */
/* consumer_direct.c: CONSUME_MESSAGE_DIRECTLY (309, remoting-protocol
 * §4.D.8), which an admin tool or console relays through a broker to one
 * client: "consume this stored message now and tell me what the listener
 * said". The body is the stored record (the broker loaded it by msgId).
 *
 * As the Java client: the listener of the message's topic runs once with
 * that message, outside the normal flow (no offset acknowledgement, no
 * send-back, no statistics), and the answer is a ConsumeMessageDirectlyResult
 * {"autoCommit":true,"consumeResult":"CR_…","order":…,"spentTimeMills":N}.
 * CR_SUCCESS for CommitMessage / Success, CR_LATER for anything else
 * (ReconsumeLater, Suspend); an unsubscribed topic is a SYSTEM_ERROR.
 *
 * The loop thread must not run a listener, so the request becomes a consume
 * job at the head of the queue (a consume thread runs it next); the job owns
 * the request and answers it whatever happens (cons_free_job). No job is
 * queued once the consume threads are stopping (cq_stop, under cq_mu). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "client/consumer_int.h"
#include "common/clock.h"
#include "protocol/codes.h"
#include "protocol/message.h"

static void refuse(struct rreq *req, const char *why)
{
    rreq_respond_code(req, RESP_SYSTEM_ERROR, why);
}

void cons_direct_request(void *owner, struct rreq *req)
{
    struct ons_consumer *c = owner;
    struct msg_record r;
    if (msg_decode(req->cmd.body.ptr, req->cmd.body.len, &r) != TERN_OK) {
        refuse(req, "the body is not a stored message");
        return;
    }
    struct cjob *j = cl_calloc(1, sizeof *j);
    ons_message_t **msgs = j ? cl_calloc(1, sizeof *msgs) : NULL;
    ons_message_t *m = msgs ? cl_message_from_record(&c->core.cfg, &r) : NULL;
    if (m == NULL) {
        free(msgs);
        free(j);
        refuse(req, "out of memory (or a body that cannot be inflated)");
        return;
    }
    msgs[0] = m;
    j->msgs = msgs;
    j->n = 1;
    pthread_mutex_lock(&c->cq_mu);
    bool running = !c->cq_stop && atomic_load(&c->core.state) == CL_STARTED;
    if (running) {
        j->direct = req;
        j->next = c->head;
        c->head = j;
        if (c->tail == NULL)
            c->tail = j;
        c->cq_msgs += 1;
        if (c->cq_idle > 0)
            pthread_cond_signal(&c->cq_cv);
    }
    pthread_mutex_unlock(&c->cq_mu);
    if (!running) {
        cons_free_job(j);
        refuse(req, "the consumer is not running");
    }
}

/* The listener of m's topic, once; "CR_SUCCESS" or "CR_LATER". NULL when the
 * topic is not subscribed. */
static const char *consume_once(struct ons_consumer *c, const ons_message_t *m)
{
    struct sub s = {0};
    if (!cons_sub_lookup(c, m->topic, &s, NULL, NULL) || s.fn == NULL)
        return NULL;
    bool ok;
    if (c->orderly) {
        struct ons_consume_order_context ctx = {0};
        ons_message_order_listener_fn fn = (ons_message_order_listener_fn)s.fn;
        ok = fn(m, &ctx, s.user) == ONS_ORDER_ACTION_SUCCESS;
    } else if (c->batch) {
        struct ons_consume_context ctx = {0};
        const ons_message_t *one[1] = {m};
        ons_batch_message_listener_fn fn = (ons_batch_message_listener_fn)s.fn;
        ok = fn(one, 1, &ctx, s.user) == ONS_ACTION_COMMIT_MESSAGE;
    } else {
        struct ons_consume_context ctx = {0};
        ons_message_listener_fn fn = (ons_message_listener_fn)s.fn;
        ok = fn(m, &ctx, s.user) == ONS_ACTION_COMMIT_MESSAGE;
    }
    return ok ? "CR_SUCCESS" : "CR_LATER";
}

void cons_direct_run(struct ons_consumer *c, struct cjob *j)
{
    struct rreq *req = j->direct;
    j->direct = NULL; /* answered here, not by cons_free_job */
    int64_t t0 = clock_mono_ms();
    const char *result = consume_once(c, j->msgs[0]);
    int64_t spent = clock_mono_ms() - t0;
    if (result == NULL) {
        char why[320];
        snprintf(why, sizeof why, "topic %.256s is not subscribed by this consumer",
                 j->msgs[0]->topic);
        refuse(req, why);
    } else {
        char body[160];
        int n = snprintf(body, sizeof body,
                         "{\"autoCommit\":true,\"consumeResult\":\"%s\",\"order\":%s,"
                         "\"spentTimeMills\":%" PRId64 "}",
                         result, c->orderly ? "true" : "false", spent);
        struct rcmd resp;
        rcmd_init_response(&resp, &req->cmd, RESP_SUCCESS);
        resp.body = tern_bytes(body, (size_t)n);
        rreq_respond(req, &resp);
        rcmd_deinit(&resp);
    }
    cons_free_job(j);
}
