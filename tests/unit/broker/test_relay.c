/* SPDX-License-Identifier: Apache-2.0 */
/* test_relay.c: GET_CONSUMER_RUNNING_INFO (307) / CONSUME_MESSAGE_DIRECTLY
 * (309) relays (spec §4.D.8: the client's answer comes back unchanged; not
 * online -> SYSTEM_ERROR; no answer in 10 s -> CONSUME_MSG_TIMEOUT) and
 * request/reply pushes (SEND_REPLY_MESSAGE_V2 -> PUSH_REPLY_MESSAGE_TO_CLIENT,
 * §4.B.3). */
#include <stdatomic.h>

#include "harness.h"

#include "broker/broker_fixture.h"
#include "broker/proto_helpers.h"

struct peer {
    atomic_int got;
    atomic_int body_ok;
    bool silent;
};

static void on_request(void *ctx, struct rreq *req)
{
    struct peer *p = ctx;
    atomic_fetch_add(&p->got, 1);
    if (req->cmd.code == RC_CONSUME_MESSAGE_DIRECTLY) {
        struct msg_record m;
        if (msg_decode(req->cmd.body.ptr, req->cmd.body.len, &m) == TERN_OK &&
            tern_bytes_eq_cstr(m.body, "direct") && rcmd_has(&req->cmd, "brokerName"))
            atomic_fetch_add(&p->body_ok, 1);
    } else if (req->cmd.code == RC_PUSH_REPLY_MESSAGE_TO_CLIENT) {
        tern_bytes_t props = rcmd_get(&req->cmd, "properties"), v;
        if (tern_bytes_eq_cstr(req->cmd.body, "the answer") &&
            props_get(props, "PUSH_REPLY_TIME", &v) && props_get(props, "CORRELATION_ID", &v) &&
            rcmd_has(&req->cmd, "bornHost") && rcmd_has(&req->cmd, "storeHost"))
            atomic_fetch_add(&p->body_ok, 1);
    }
    if (p->silent) {
        rreq_free(req);
        return;
    }
    struct rcmd resp;
    rcmd_init_response(&resp, &req->cmd, RESP_SUCCESS);
    rcmd_set_remark(&resp, "from-client");
    resp.body = tern_cstr("{\"running\":true}");
    rreq_respond(req, &resp);
    rcmd_deinit(&resp);
}

static struct rclient *peer_client(struct peer *p)
{
    static const struct rprocessor T[] = {
        {RC_GET_CONSUMER_RUNNING_INFO, "RUNNING", on_request, 0},
        {RC_CONSUME_MESSAGE_DIRECTLY, "DIRECT", on_request, 0},
        {RC_PUSH_REPLY_MESSAGE_TO_CLIENT, "PUSH_REPLY", on_request, 0},
    };
    struct rclient_opts o;
    memset(&o, 0, sizeof o);
    o.table = T;
    o.ntable = 3;
    o.ctx = p;
    struct rclient *c = NULL;
    rclient_new(&o, &c);
    return c;
}

static int relay(struct fixture *f, int code, const char *client, const char *msg_id,
                 struct rresp *r, int timeout_ms)
{
    struct rcmd req;
    rcmd_init(&req);
    req.code = code;
    rcmd_add_cstr(&req, "consumerGroup", "CG");
    rcmd_add_cstr(&req, "clientId", client);
    rcmd_add_cstr(&req, "jstackEnable", "false");
    if (msg_id)
        rcmd_add_cstr(&req, "msgId", msg_id);
    rresp_init(r);
    int rc = rclient_call_sync(f->cli, f->addr, &req, timeout_ms, r);
    rcmd_deinit(&req);
    return rc == TERN_OK ? r->cmd.code : -1;
}

TEST(relays_answer_and_not_online)
{
    struct fixture f;
    ASSERT_EQ(fx_start(&f), TERN_OK);
    struct peer p;
    memset(&p, 0, sizeof p);
    struct rclient *pc = peer_client(&p);
    ASSERT_EQ(ph_heartbeat(pc, f.addr, "consumer-1", NULL, "CG"), RESP_SUCCESS);
    struct rresp r;
    ASSERT_EQ(relay(&f, RC_GET_CONSUMER_RUNNING_INFO, "consumer-1", NULL, &r, 5000), RESP_SUCCESS);
    ASSERT(tern_bytes_eq_cstr(r.cmd.body, "{\"running\":true}"));
    ASSERT(tern_bytes_eq_cstr(r.cmd.remark, "from-client"));
    rresp_deinit(&r);
    struct ph_sent s;
    ASSERT_EQ(ph_send(f.cli, f.addr, "PG", "DirT", 0, 0, NULL, "direct", &s), RESP_SUCCESS);
    ASSERT_EQ(relay(&f, RC_CONSUME_MESSAGE_DIRECTLY, "consumer-1", s.msg_id, &r, 5000),
              RESP_SUCCESS);
    rresp_deinit(&r);
    ASSERT_EQ(atomic_load(&p.body_ok), 1);
    ASSERT_EQ(relay(&f, RC_GET_CONSUMER_RUNNING_INFO, "nobody", NULL, &r, 5000), RESP_SYSTEM_ERROR);
    ASSERT(strstr((const char *)r.cmd.remark.ptr, "not online") != NULL);
    rresp_deinit(&r);
    rclient_free(pc);
    fx_stop(&f);
}

TEST(relay_timeout_is_consume_msg_timeout)
{
    struct fixture f;
    ASSERT_EQ(fx_start(&f), TERN_OK);
    struct peer p;
    memset(&p, 0, sizeof p);
    p.silent = true;
    struct rclient *pc = peer_client(&p);
    ASSERT_EQ(ph_heartbeat(pc, f.addr, "consumer-2", NULL, "CG"), RESP_SUCCESS);
    struct rresp r;
    int64_t t0 = clock_mono_ms();
    ASSERT_EQ(relay(&f, RC_GET_CONSUMER_RUNNING_INFO, "consumer-2", NULL, &r, 20000),
              RESP_CONSUME_MSG_TIMEOUT);
    ASSERT(clock_mono_ms() - t0 >= 9000);
    rresp_deinit(&r);
    ASSERT_EQ(atomic_load(&p.got), 1);
    rclient_free(pc);
    fx_stop(&f);
}

TEST(reply_is_pushed_to_requester)
{
    struct fixture f;
    ASSERT_EQ(fx_start(&f), TERN_OK);
    struct peer p;
    memset(&p, 0, sizeof p);
    struct rclient *rq = peer_client(&p);
    ASSERT_EQ(ph_heartbeat(rq, f.addr, "requester-1", "RPG", NULL), RESP_SUCCESS);
    static const char *const REPLY[] = {
        "MSG_TYPE",    "reply", "CORRELATION_ID", "corr-1", "REPLY_TO_CLIENT",
        "requester-1", "TTL",   "3000",           NULL};
    buf_t pr;
    buf_init(&pr);
    ph_props(&pr, REPLY);
    struct rcmd req;
    rcmd_init(&req);
    req.code = RC_SEND_REPLY_MESSAGE_V2;
    rcmd_add_cstr(&req, "a", "CG");
    rcmd_add_cstr(&req, "b", "DefaultCluster_REPLY_TOPIC");
    rcmd_add_cstr(&req, "c", "TBW102");
    rcmd_add_i64(&req, "d", 4);
    rcmd_add_i64(&req, "e", 0);
    rcmd_add_i64(&req, "f", 0);
    rcmd_add_i64(&req, "g", 1);
    rcmd_add_i64(&req, "h", 0);
    rcmd_add(&req, "i", buf_view(&pr));
    req.body = tern_cstr("the answer");
    struct rresp r;
    ASSERT_EQ(ph_call(f.cli, f.addr, &req, &r), RESP_SUCCESS);
    ASSERT(tern_bytes_eq_cstr(rcmd_get(&r.cmd, "msgId"), "0"));
    rresp_deinit(&r);
    ASSERT_EQ(atomic_load(&p.body_ok), 1);
    /* Requester gone: SYSTEM_ERROR. */
    rclient_free(rq);
    usleep(200 * 1000);
    ASSERT_EQ(ph_call(f.cli, f.addr, &req, &r), RESP_SYSTEM_ERROR);
    rresp_deinit(&r);
    rcmd_deinit(&req);
    buf_deinit(&pr);
    fx_stop(&f);
}

TEST_MAIN()
