/* SPDX-License-Identifier: Apache-2.0 */
/* test_reset.c: INVOKE_BROKER_TO_RESET_OFFSET (222) server-side mode (spec
 * §4.D.7): targets become committed offsets, the next pull of each queue
 * answers PULL_OFFSET_MOVED with the target, offset commits are ignored until
 * then, and the body is ResetOffsetBody in fastjson object-key form. */
#include "harness.h"

#include "broker/broker_fixture.h"
#include "broker/broker_int.h"
#include "broker/proto_helpers.h"

static int update_offset(struct fixture *f, int qid, int64_t off)
{
    struct rcmd req;
    rcmd_init(&req);
    req.code = RC_UPDATE_CONSUMER_OFFSET;
    rcmd_add_cstr(&req, "consumerGroup", "RG");
    rcmd_add_cstr(&req, "topic", "RT");
    rcmd_add_i64(&req, "queueId", qid);
    rcmd_add_i64(&req, "commitOffset", off);
    struct rresp r;
    int code = ph_call(f->cli, f->addr, &req, &r);
    rresp_deinit(&r);
    rcmd_deinit(&req);
    return code;
}

static int64_t query_offset(struct fixture *f, int qid)
{
    struct rcmd req;
    rcmd_init(&req);
    req.code = RC_QUERY_CONSUMER_OFFSET;
    rcmd_add_cstr(&req, "consumerGroup", "RG");
    rcmd_add_cstr(&req, "topic", "RT");
    rcmd_add_i64(&req, "queueId", qid);
    struct rresp r;
    ph_call(f->cli, f->addr, &req, &r);
    int64_t v = ph_i64(&r, "offset");
    rresp_deinit(&r);
    rcmd_deinit(&req);
    return v;
}

static int reset(struct fixture *f, int qid, int64_t offset, int64_t ts, char *body, size_t n)
{
    struct rcmd req;
    rcmd_init(&req);
    req.code = RC_INVOKE_BROKER_TO_RESET_OFFSET;
    rcmd_add_cstr(&req, "group", "RG");
    rcmd_add_cstr(&req, "topic", "RT");
    rcmd_add_i64(&req, "queueId", qid);
    if (offset >= 0)
        rcmd_add_i64(&req, "offset", offset);
    rcmd_add_i64(&req, "timestamp", ts);
    rcmd_add_cstr(&req, "isForce", "true");
    struct rresp r;
    int code = ph_call(f->cli, f->addr, &req, &r);
    snprintf(body, n, "%.*s", (int)r.cmd.body.len, code >= 0 ? (const char *)r.cmd.body.ptr : "");
    rresp_deinit(&r);
    rcmd_deinit(&req);
    return code;
}

TEST(reset_to_offset_then_pull_offset_moved)
{
    struct fixture f;
    ASSERT_EQ(fx_start(&f), TERN_OK);
    ASSERT_EQ(ph_create_topic(f.cli, f.addr, "RT", 2, NULL, NULL, NULL, 0), RESP_SUCCESS);
    struct ph_sent s;
    for (int i = 0; i < 5; i++) {
        ASSERT_EQ(ph_send(f.cli, f.addr, "PG", "RT", 0, 0, NULL, "m", &s), RESP_SUCCESS);
        ASSERT_EQ(ph_send(f.cli, f.addr, "PG", "RT", 1, 0, NULL, "m", &s), RESP_SUCCESS);
    }
    ASSERT_EQ(update_offset(&f, 0, 5), RESP_SUCCESS);
    char body[512];
    ASSERT_EQ(reset(&f, 0, 2, 0, body, sizeof body), RESP_SUCCESS);
    ASSERT(strstr(body, "{\"offsetTable\":{{\"brokerName\":\"broker-a\",\"queueId\":0,"
                        "\"topic\":\"RT\"}:2}}") != NULL);
    ASSERT_EQ(query_offset(&f, 0), 2);
    ASSERT_EQ(update_offset(&f, 0, 5), RESP_SUCCESS); /* ignored while pending */
    ASSERT_EQ(query_offset(&f, 0), 2);
    int64_t next = -1;
    ASSERT_EQ(ph_pull(f.cli, f.addr, "RG", "RT", 0, 5, &next, NULL, NULL), RESP_PULL_OFFSET_MOVED);
    ASSERT_EQ(next, 2);
    ASSERT_EQ(ph_pull(f.cli, f.addr, "RG", "RT", 0, 2, &next, NULL, NULL), RESP_SUCCESS);
    ASSERT_EQ(next, 5);
    ASSERT_EQ(update_offset(&f, 0, 4), RESP_SUCCESS); /* consumed: commits count again */
    ASSERT_EQ(query_offset(&f, 0), 4);
    /* All queues by timestamp -1 (max); queue 1 is not touched by queue 0's pull. */
    ASSERT_EQ(reset(&f, -1, -1, -1, body, sizeof body), RESP_SUCCESS);
    ASSERT(strstr(body, "\"queueId\":0,\"topic\":\"RT\"}:5,{") != NULL);
    ASSERT(strstr(body, "\"queueId\":1,\"topic\":\"RT\"}:5}}") != NULL);
    ASSERT_EQ(ph_pull(f.cli, f.addr, "RG", "RT", 1, 0, &next, NULL, NULL), RESP_PULL_OFFSET_MOVED);
    ASSERT_EQ(next, 5);
    /* By timestamp 0: the first message. */
    ASSERT_EQ(reset(&f, 1, -1, 0, body, sizeof body), RESP_SUCCESS);
    ASSERT_EQ(query_offset(&f, 1), 0);
    fx_stop(&f);
}

/* A group name outside the allowed charset creates no reset or offset rows. */
TEST(reset_refuses_illegal_group)
{
    struct fixture f;
    ASSERT_EQ(fx_start(&f), TERN_OK);
    char remark[256];
    ASSERT_EQ(ph_create_topic(f.cli, f.addr, "RT", 1, NULL, NULL, remark, sizeof remark),
              RESP_SUCCESS);
    static const char *const BAD[] = {"bad group", "a/b", "", NULL};
    for (int i = 0; BAD[i]; i++) {
        struct rcmd req;
        rcmd_init(&req);
        req.code = RC_INVOKE_BROKER_TO_RESET_OFFSET;
        rcmd_add_cstr(&req, "group", BAD[i]);
        rcmd_add_cstr(&req, "topic", "RT");
        rcmd_add_i64(&req, "timestamp", -1);
        struct rresp r;
        int code = ph_call(f.cli, f.addr, &req, &r);
        rresp_deinit(&r);
        rcmd_deinit(&req);
        ASSERT(code == RESP_INVALID_PARAMETER || (i == 2 && code == RESP_SYSTEM_ERROR));
    }
    /* A NUL inside the name (escaped in the JSON header). */
    struct rcmd req;
    rcmd_init(&req);
    req.code = RC_INVOKE_BROKER_TO_RESET_OFFSET;
    rcmd_add(&req, "group", tern_bytes("R\0G", 3));
    rcmd_add_cstr(&req, "topic", "RT");
    rcmd_add_i64(&req, "timestamp", -1);
    struct rresp r;
    ASSERT_EQ(ph_call(f.cli, f.addr, &req, &r), RESP_INVALID_PARAMETER);
    rresp_deinit(&r);
    rcmd_deinit(&req);
    /* No offset row under any form of the name. */
    ASSERT(offsets_query(&f.b->offsets, tern_cstr("RT"), tern_bytes("R\0G", 3), 0) < 0);
    ASSERT(offsets_query(&f.b->offsets, tern_cstr("RT"), tern_cstr("R"), 0) < 0);
    ASSERT(offsets_query(&f.b->offsets, tern_cstr("RT"), tern_cstr("bad group"), 0) < 0);
    fx_stop(&f);
}

TEST_MAIN()
