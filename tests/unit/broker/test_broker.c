/* SPDX-License-Identifier: Apache-2.0 */
/* test_broker.c: end-to-end tests of the broker through real sockets: a name
 * server and a broker in this process (port 0, temporary store), requests
 * sent with an rclient exactly as clients send them (spec §9). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include "broker/broker_int.h"
#include "broker_fixture.h"
#include "harness.h"
#include "protocol/batch.h"
#include "protocol/message.h"
#include "protocol/msgid.h"
#include "protocol/props.h"
#include "store/store.h"

#define SUB_FLAG     4
#define SUSPEND_FLAG 2

/* Set to send SEND_MESSAGE_V2 with m=true (how CPP sends batches). */
static bool g_v2_batch;

static int send_msg(struct fixture *f, int code, const char *topic, int qid, const char *props,
                    tern_bytes_t body, struct rresp *out)
{
    struct rcmd req;
    rcmd_init(&req);
    req.code = code;
    bool v2 = code == RC_SEND_MESSAGE_V2 || code == RC_SEND_BATCH_MESSAGE;
    rcmd_add_cstr(&req, v2 ? "a" : "producerGroup", "PG");
    rcmd_add_cstr(&req, v2 ? "b" : "topic", topic);
    rcmd_add_cstr(&req, v2 ? "c" : "defaultTopic", "TBW102");
    rcmd_add_cstr(&req, v2 ? "d" : "defaultTopicQueueNums", "4");
    rcmd_add_i64(&req, v2 ? "e" : "queueId", qid);
    rcmd_add_cstr(&req, v2 ? "f" : "sysFlag", "0");
    rcmd_add_i64(&req, v2 ? "g" : "bornTimestamp", clock_wall_ms());
    rcmd_add_cstr(&req, v2 ? "h" : "flag", "0");
    if (props)
        rcmd_add_cstr(&req, v2 ? "i" : "properties", props);
    rcmd_add_cstr(&req, v2 ? "j" : "reconsumeTimes", "0");
    rcmd_add_cstr(&req, v2 ? "k" : "unitMode", "false");
    rcmd_add_cstr(&req, v2 ? "m" : "batch",
                  code == RC_SEND_BATCH_MESSAGE || g_v2_batch ? "true" : "false");
    req.body = body;
    int rc = fx_call(f, NULL, &req, out);
    rcmd_deinit(&req);
    return rc;
}

static void pull_req(struct rcmd *req, const char *group, const char *topic, int qid, int64_t off,
                     int sysflag, const char *sub, int64_t suspend_ms)
{
    rcmd_init(req);
    req->code = RC_PULL_MESSAGE;
    rcmd_add_cstr(req, "consumerGroup", group);
    rcmd_add_cstr(req, "topic", topic);
    rcmd_add_i64(req, "queueId", qid);
    rcmd_add_i64(req, "queueOffset", off);
    rcmd_add_cstr(req, "maxMsgNums", "32");
    rcmd_add_i64(req, "sysFlag", sysflag);
    rcmd_add_cstr(req, "commitOffset", "0");
    rcmd_add_i64(req, "suspendTimeoutMillis", suspend_ms);
    if (sub)
        rcmd_add_cstr(req, "subscription", sub);
    rcmd_add_cstr(req, "subVersion", "0");
    rcmd_add_cstr(req, "expressionType", "TAG");
}

static int pull(struct fixture *f, const char *topic, int qid, int64_t off, int sysflag,
                const char *sub, int64_t suspend_ms, struct rresp *out)
{
    struct rcmd req;
    pull_req(&req, "CG", topic, qid, off, sysflag, sub, suspend_ms);
    int rc = fx_call(f, NULL, &req, out);
    rcmd_deinit(&req);
    return rc;
}

/* Decodes up to max records of a body; returns the count. */
static int decode_all(tern_bytes_t body, struct msg_record *out, int max)
{
    size_t pos = 0;
    int n = 0;
    while (pos < body.len && n < max) {
        if (msg_decode(body.ptr + pos, body.len - pos, &out[n]) != TERN_OK)
            break;
        pos += (size_t)out[n].total_size;
        n++;
    }
    return n;
}

static void assert_pull_header(struct rresp *r)
{
    ASSERT(rcmd_get(&r->cmd, "suggestWhichBrokerId").ptr);
    ASSERT(rcmd_get(&r->cmd, "nextBeginOffset").ptr);
    ASSERT(rcmd_get(&r->cmd, "minOffset").ptr);
    ASSERT(rcmd_get(&r->cmd, "maxOffset").ptr);
}

static void create_topic(struct fixture *f, const char *topic, int queues)
{
    struct rcmd req;
    rcmd_init(&req);
    req.code = RC_UPDATE_AND_CREATE_TOPIC;
    rcmd_add_cstr(&req, "topic", topic);
    rcmd_add_cstr(&req, "defaultTopic", "TBW102");
    rcmd_add_i64(&req, "readQueueNums", queues);
    rcmd_add_i64(&req, "writeQueueNums", queues);
    rcmd_add_cstr(&req, "perm", "6");
    rcmd_add_cstr(&req, "topicFilterType", "SINGLE_TAG");
    struct rresp r;
    ASSERT_EQ(fx_call(f, NULL, &req, &r), TERN_OK);
    ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
    rresp_deinit(&r);
    rcmd_deinit(&req);
}

TEST(send_v2_then_pull_round_trip)
{
    struct fixture f;
    ASSERT_EQ(fx_start(&f), TERN_OK);
    struct rresp r;
    const char *props = "TAGS\x01TagA\x02KEYS\x01order-1 order-2\x02WAIT\x01true\x02"
                        "color\x01red\x02";
    ASSERT_EQ(send_msg(&f, RC_SEND_MESSAGE_V2, "TopicTest", 2, props, tern_cstr("hello tern"), &r),
              TERN_OK);
    char buf[256];
    ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
    ASSERT_EQ(strlen(fx_field(&r, "msgId", buf, sizeof buf)), 32);
    ASSERT_STR_EQ(fx_field(&r, "queueId", buf, sizeof buf), "2");
    ASSERT_STR_EQ(fx_field(&r, "queueOffset", buf, sizeof buf), "0");
    ASSERT_STR_EQ(fx_field(&r, "MSG_REGION", buf, sizeof buf), "DefaultRegion");
    ASSERT_STR_EQ(fx_field(&r, "TRACE_ON", buf, sizeof buf), "true");
    char uniq[64];
    ASSERT_EQ(strlen(fx_field(&r, "transactionId", uniq, sizeof uniq)), 32);
    rresp_deinit(&r);

    ASSERT_EQ(pull(&f, "TopicTest", 2, 0, SUB_FLAG, "*", 0, &r), TERN_OK);
    ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
    assert_pull_header(&r);
    ASSERT_EQ(fx_i64(&r, "nextBeginOffset"), 1);
    ASSERT_EQ(fx_i64(&r, "maxOffset"), 1);
    ASSERT_EQ(fx_i64(&r, "minOffset"), 0);
    struct msg_record m[4];
    ASSERT_EQ(decode_all(r.cmd.body, m, 4), 1);
    ASSERT_BYTES_EQ(m[0].body, "hello tern");
    ASSERT_BYTES_EQ(m[0].topic, "TopicTest");
    ASSERT_EQ(m[0].queue_id, 2);
    ASSERT_EQ(m[0].queue_off, 0);
    tern_bytes_t v;
    ASSERT(props_get(m[0].props, "TAGS", &v));
    ASSERT_BYTES_EQ(v, "TagA");
    ASSERT(props_get(m[0].props, "KEYS", &v));
    ASSERT_BYTES_EQ(v, "order-1 order-2");
    ASSERT(props_get(m[0].props, "color", &v));
    ASSERT_BYTES_EQ(v, "red");
    ASSERT(props_get(m[0].props, "CLUSTER", &v));
    ASSERT_BYTES_EQ(v, "DefaultCluster");
    ASSERT(props_get(m[0].props, "UNIQ_KEY", &v));
    ASSERT_BYTES_EQ(v, uniq);
    /* Born host is the client socket, store host the broker's address. */
    ASSERT_EQ(m[0].born_host.addr[0], 127);
    ASSERT_EQ(m[0].store_host.port, broker_port(f.b));
    rresp_deinit(&r);

    /* The producer's own UNIQ_KEY is kept and echoed as transactionId. */
    ASSERT_EQ(send_msg(&f, RC_SEND_MESSAGE, "TopicTest", 2,
                       "UNIQ_KEY\x01"
                       "0A000009109E1B6F5C2B0D3A00000000\x02",
                       tern_cstr("x"), &r),
              TERN_OK);
    ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
    ASSERT_STR_EQ(fx_field(&r, "transactionId", buf, sizeof buf),
                  "0A000009109E1B6F5C2B0D3A00000000");
    ASSERT_STR_EQ(fx_field(&r, "queueOffset", buf, sizeof buf), "1");
    rresp_deinit(&r);

    /* queueId < 0: the broker picks a writable queue (auto-created: 4). */
    ASSERT_EQ(send_msg(&f, RC_SEND_MESSAGE_V2, "TopicTest", -1, NULL, tern_cstr("y"), &r), TERN_OK);
    ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
    int64_t q = fx_i64(&r, "queueId");
    ASSERT(q >= 0 && q < 4);
    rresp_deinit(&r);
    fx_stop(&f);
}

TEST(tag_filter_excludes_other_tags)
{
    struct fixture f;
    ASSERT_EQ(fx_start(&f), TERN_OK);
    create_topic(&f, "TagTopic", 1);
    const char *tags[] = {"TAGS\x01"
                          "a\x02",
                          "TAGS\x01"
                          "c\x02",
                          "TAGS\x01"
                          "b\x02",
                          NULL};
    struct rresp r;
    for (int i = 0; tags[i]; i++) {
        ASSERT_EQ(send_msg(&f, RC_SEND_MESSAGE_V2, "TagTopic", 0, tags[i], tern_cstr("m"), &r),
                  TERN_OK);
        ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
        rresp_deinit(&r);
    }
    ASSERT_EQ(pull(&f, "TagTopic", 0, 0, SUB_FLAG, "a || b", 0, &r), TERN_OK);
    ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
    struct msg_record m[4];
    ASSERT_EQ(decode_all(r.cmd.body, m, 4), 2);
    tern_bytes_t v;
    ASSERT(props_get(m[0].props, "TAGS", &v));
    ASSERT_BYTES_EQ(v, "a");
    ASSERT(props_get(m[1].props, "TAGS", &v));
    ASSERT_BYTES_EQ(v, "b");
    ASSERT_EQ(fx_i64(&r, "nextBeginOffset"), 3);
    rresp_deinit(&r);

    /* Only non-matching messages in range: PULL_RETRY_IMMEDIATELY past them. */
    ASSERT_EQ(pull(&f, "TagTopic", 0, 1, SUB_FLAG, "zzz", 0, &r), TERN_OK);
    ASSERT_EQ(r.cmd.code, RESP_PULL_RETRY_IMMEDIATELY);
    assert_pull_header(&r);
    ASSERT_EQ(fx_i64(&r, "nextBeginOffset"), 3);
    rresp_deinit(&r);

    /* Offset beyond max: PULL_OFFSET_MOVED to max. */
    ASSERT_EQ(pull(&f, "TagTopic", 0, 10, SUB_FLAG, "*", 0, &r), TERN_OK);
    ASSERT_EQ(r.cmd.code, RESP_PULL_OFFSET_MOVED);
    assert_pull_header(&r);
    ASSERT_EQ(fx_i64(&r, "nextBeginOffset"), 3);
    rresp_deinit(&r);

    /* Without the SUBSCRIPTION flag and no heartbeat: SUBSCRIPTION_NOT_EXIST. */
    ASSERT_EQ(pull(&f, "TagTopic", 0, 0, 0, NULL, 0, &r), TERN_OK);
    ASSERT_EQ(r.cmd.code, RESP_SUBSCRIPTION_NOT_EXIST);
    rresp_deinit(&r);
    fx_stop(&f);
}

struct async_pull {
    atomic_int done;
    int code;
    int64_t next;
    int nrec;
    int64_t at_ms;
    bool has_headers;
};

static void on_pull(void *arg, int err, struct rcmd *resp)
{
    struct async_pull *a = arg;
    a->at_ms = clock_mono_ms();
    if (err == TERN_OK) {
        a->code = resp->code;
        rcmd_get_i64(resp, "nextBeginOffset", &a->next);
        a->has_headers = rcmd_get(resp, "minOffset").ptr && rcmd_get(resp, "maxOffset").ptr &&
                         rcmd_get(resp, "suggestWhichBrokerId").ptr;
        struct msg_record m[4];
        a->nrec = decode_all(resp->body, m, 4);
    } else {
        a->code = -1;
    }
    atomic_store(&a->done, 1);
}

static void wait_done(struct async_pull *a, int ms)
{
    int64_t end = clock_mono_ms() + ms;
    while (!atomic_load(&a->done) && clock_mono_ms() < end)
        usleep(2000);
}

TEST(long_poll_is_woken_by_arrival_and_times_out)
{
    struct fixture f;
    ASSERT_EQ(fx_start(&f), TERN_OK);
    create_topic(&f, "PollTopic", 1);
    struct rcmd req;
    pull_req(&req, "CG", "PollTopic", 0, 0, SUB_FLAG | SUSPEND_FLAG, "*", 10000);
    struct async_pull a;
    memset(&a, 0, sizeof a);
    ASSERT_EQ(rclient_call(f.cli, f.addr, &req, 15000, on_pull, &a), TERN_OK);
    rcmd_deinit(&req);
    usleep(200 * 1000);
    ASSERT_EQ(atomic_load(&a.done), 0); /* held */
    struct rresp r;
    int64_t sent_at = clock_mono_ms();
    ASSERT_EQ(send_msg(&f, RC_SEND_MESSAGE_V2, "PollTopic", 0, NULL, tern_cstr("wake"), &r),
              TERN_OK);
    ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
    rresp_deinit(&r);
    wait_done(&a, 3000);
    ASSERT_EQ(atomic_load(&a.done), 1);
    ASSERT_EQ(a.code, RESP_SUCCESS);
    ASSERT_EQ(a.nrec, 1);
    ASSERT_EQ(a.next, 1);
    ASSERT(a.at_ms - sent_at < 500);

    /* Nothing arrives: PULL_NOT_FOUND at the deadline, every header field. */
    pull_req(&req, "CG", "PollTopic", 0, 1, SUB_FLAG | SUSPEND_FLAG, "*", 300);
    memset(&a, 0, sizeof a);
    int64_t start = clock_mono_ms();
    ASSERT_EQ(rclient_call(f.cli, f.addr, &req, 15000, on_pull, &a), TERN_OK);
    rcmd_deinit(&req);
    wait_done(&a, 3000);
    ASSERT_EQ(atomic_load(&a.done), 1);
    ASSERT_EQ(a.code, RESP_PULL_NOT_FOUND);
    ASSERT(a.has_headers);
    ASSERT_EQ(a.next, 1);
    ASSERT(a.at_ms - start >= 250);
    ASSERT(a.at_ms - start < 2000);

    /* A held pull whose filter does not match stays held. */
    pull_req(&req, "CG", "PollTopic", 0, 1, SUB_FLAG | SUSPEND_FLAG, "onlyme", 1500);
    memset(&a, 0, sizeof a);
    ASSERT_EQ(rclient_call(f.cli, f.addr, &req, 15000, on_pull, &a), TERN_OK);
    rcmd_deinit(&req);
    usleep(100 * 1000);
    ASSERT_EQ(
        send_msg(&f, RC_SEND_MESSAGE_V2, "PollTopic", 0, "TAGS\x01other\x02", tern_cstr("x"), &r),
        TERN_OK);
    rresp_deinit(&r);
    usleep(200 * 1000);
    ASSERT_EQ(atomic_load(&a.done), 0);
    ASSERT_EQ(
        send_msg(&f, RC_SEND_MESSAGE_V2, "PollTopic", 0, "TAGS\x01onlyme\x02", tern_cstr("y"), &r),
        TERN_OK);
    rresp_deinit(&r);
    wait_done(&a, 3000);
    ASSERT_EQ(a.code, RESP_SUCCESS);
    ASSERT_EQ(a.nrec, 1);
    ASSERT_EQ(a.next, 3);
    fx_stop(&f);
}

TEST(batch_send_gets_consecutive_offsets)
{
    struct fixture f;
    ASSERT_EQ(fx_start(&f), TERN_OK);
    create_topic(&f, "BatchTopic", 2);
    buf_t body;
    buf_init(&body);
    for (int i = 0; i < 3; i++) {
        char b[32], p[64];
        snprintf(b, sizeof b, "body-%d", i);
        snprintf(p, sizeof p, "KEYS\x01k%d\x02TAGS\x01t\x02", i);
        batch_append(&body, i, tern_cstr(b), tern_cstr(p));
    }
    struct rresp r;
    ASSERT_EQ(send_msg(&f, RC_SEND_BATCH_MESSAGE, "BatchTopic", 1, NULL, buf_view(&body), &r),
              TERN_OK);
    ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
    char ids[256];
    fx_field(&r, "msgId", ids, sizeof ids);
    ASSERT_EQ(strlen(ids), 32 * 3 + 2);
    ASSERT_EQ(fx_i64(&r, "queueOffset"), 0);
    rresp_deinit(&r);
    /* V2 with m=true is a batch too (CPP). */
    g_v2_batch = true;
    ASSERT_EQ(send_msg(&f, RC_SEND_MESSAGE_V2, "BatchTopic", 1, NULL, buf_view(&body), &r),
              TERN_OK);
    g_v2_batch = false;
    ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
    ASSERT_EQ(fx_i64(&r, "queueOffset"), 3);
    rresp_deinit(&r);
    buf_deinit(&body);

    ASSERT_EQ(pull(&f, "BatchTopic", 1, 0, SUB_FLAG, "*", 0, &r), TERN_OK);
    struct msg_record m[8];
    ASSERT_EQ(decode_all(r.cmd.body, m, 8), 6);
    for (int i = 0; i < 6; i++) {
        ASSERT_EQ(m[i].queue_off, i);
        ASSERT_EQ(m[i].flag, i % 3);
    }
    ASSERT_BYTES_EQ(m[2].body, "body-2");
    tern_bytes_t v;
    ASSERT(props_get(m[1].props, "KEYS", &v));
    ASSERT_BYTES_EQ(v, "k1");
    ASSERT(props_get(m[1].props, "UNIQ_KEY", &v));
    rresp_deinit(&r);
    fx_stop(&f);
}

TEST(query_by_key_and_view_by_id)
{
    struct fixture f;
    ASSERT_EQ(fx_start(&f), TERN_OK);
    struct rresp r;
    ASSERT_EQ(send_msg(&f, RC_SEND_MESSAGE_V2, "QueryTopic", 0, "KEYS\x01order-77 other\x02",
                       tern_cstr("find me"), &r),
              TERN_OK);
    ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
    char id[64];
    fx_field(&r, "msgId", id, sizeof id);
    rresp_deinit(&r);

    struct msg_host host;
    int64_t phy;
    ASSERT_EQ(msgid_decode(tern_cstr(id), &host, &phy), TERN_OK);
    ASSERT_EQ(host.port, broker_port(f.b));
    struct rcmd req;
    rcmd_init(&req);
    req.code = RC_VIEW_MESSAGE_BY_ID;
    rcmd_add_i64(&req, "offset", phy);
    ASSERT_EQ(fx_call(&f, NULL, &req, &r), TERN_OK);
    rcmd_deinit(&req);
    ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
    struct msg_record m[2];
    ASSERT_EQ(decode_all(r.cmd.body, m, 2), 1);
    ASSERT_BYTES_EQ(m[0].body, "find me");
    rresp_deinit(&r);

    rcmd_init(&req);
    req.code = RC_VIEW_MESSAGE_BY_ID;
    rcmd_add_i64(&req, "offset", phy + 999999);
    ASSERT_EQ(fx_call(&f, NULL, &req, &r), TERN_OK);
    rcmd_deinit(&req);
    ASSERT_EQ(r.cmd.code, RESP_SYSTEM_ERROR);
    rresp_deinit(&r);

    /* The index is built asynchronously: retry briefly. */
    int code = -1, n = 0;
    for (int tries = 0; tries < 100 && code != RESP_SUCCESS; tries++) {
        rcmd_init(&req);
        req.code = RC_QUERY_MESSAGE;
        rcmd_add_cstr(&req, "topic", "QueryTopic");
        rcmd_add_cstr(&req, "key", "order-77");
        rcmd_add_cstr(&req, "maxNum", "32");
        rcmd_add_cstr(&req, "beginTimestamp", "0");
        rcmd_add_i64(&req, "endTimestamp", clock_wall_ms() + 60000);
        ASSERT_EQ(fx_call(&f, NULL, &req, &r), TERN_OK);
        rcmd_deinit(&req);
        code = r.cmd.code;
        if (code == RESP_SUCCESS)
            n = decode_all(r.cmd.body, m, 2);
        else
            ASSERT_EQ(code, RESP_QUERY_NOT_FOUND);
        rresp_deinit(&r);
        if (code != RESP_SUCCESS)
            usleep(20000);
    }
    ASSERT_EQ(code, RESP_SUCCESS);
    ASSERT_EQ(n, 1);
    fx_stop(&f);
}

static const char *HEARTBEAT_JAVA =
    "{\"clientID\":\"10.0.0.9@5555\",\"consumerDataSet\":[{\"consumeFromWhere\":"
    "\"CONSUME_FROM_LAST_OFFSET\",\"consumeType\":\"CONSUME_PASSIVELY\",\"groupName\":\"CG1\","
    "\"messageModel\":\"CLUSTERING\",\"unitMode\":false,\"subscriptionDataSet\":[{"
    "\"classFilterMode\":false,\"codeSet\":[],\"expressionType\":\"TAG\",\"subString\":\"*\","
    "\"subVersion\":1700000000500,\"tagsSet\":[],\"topic\":\"HbTopic\"}]}],"
    "\"heartbeatFingerprint\":0,\"producerDataSet\":[{\"groupName\":\"CLIENT_INNER_PRODUCER\"}],"
    "\"withoutSub\":false}";

TEST(heartbeat_registers_consumer_and_retry_topic)
{
    struct fixture f;
    ASSERT_EQ(fx_start(&f), TERN_OK);
    create_topic(&f, "HbTopic", 2);
    struct rcmd req;
    rcmd_init(&req);
    req.code = RC_HEART_BEAT;
    req.body = tern_cstr(HEARTBEAT_JAVA);
    struct rresp r;
    ASSERT_EQ(fx_call(&f, NULL, &req, &r), TERN_OK);
    rcmd_deinit(&req);
    ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
    char buf[64];
    ASSERT_STR_EQ(fx_field(&r, "IS_SUPPORT_HEART_BEAT_V2", buf, sizeof buf), "false");
    ASSERT_STR_EQ(fx_field(&r, "IS_SUB_CHANGE", buf, sizeof buf), "false");
    rresp_deinit(&r);

    rcmd_init(&req);
    req.code = RC_GET_CONSUMER_LIST_BY_GROUP;
    rcmd_add_cstr(&req, "consumerGroup", "CG1");
    ASSERT_EQ(fx_call(&f, NULL, &req, &r), TERN_OK);
    rcmd_deinit(&req);
    ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
    ASSERT_BYTES_EQ(r.cmd.body, "{\"consumerIdList\":[\"10.0.0.9@5555\"]}");
    rresp_deinit(&r);

    rcmd_init(&req);
    req.code = RC_GET_CONSUMER_LIST_BY_GROUP;
    rcmd_add_cstr(&req, "consumerGroup", "NOBODY");
    ASSERT_EQ(fx_call(&f, NULL, &req, &r), TERN_OK);
    rcmd_deinit(&req);
    ASSERT_EQ(r.cmd.code, RESP_SYSTEM_ERROR);
    ASSERT_BYTES_EQ(r.cmd.remark, "no consumer for this group, NOBODY");
    rresp_deinit(&r);

    /* The pull now finds the heartbeat's subscription (no SUBSCRIPTION flag). */
    struct rcmd preq;
    pull_req(&preq, "CG1", "HbTopic", 0, 0, 0, NULL, 0);
    ASSERT_EQ(fx_call(&f, NULL, &preq, &r), TERN_OK);
    rcmd_deinit(&preq);
    ASSERT_EQ(r.cmd.code, RESP_PULL_NOT_FOUND);
    assert_pull_header(&r);
    rresp_deinit(&r);
    /* A newer subVersion than the heartbeat's: SUBSCRIPTION_NOT_LATEST. */
    rcmd_init(&preq);
    preq.code = RC_PULL_MESSAGE;
    rcmd_add_cstr(&preq, "consumerGroup", "CG1");
    rcmd_add_cstr(&preq, "topic", "HbTopic");
    rcmd_add_cstr(&preq, "queueId", "0");
    rcmd_add_cstr(&preq, "queueOffset", "0");
    rcmd_add_cstr(&preq, "maxMsgNums", "32");
    rcmd_add_cstr(&preq, "sysFlag", "0");
    rcmd_add_cstr(&preq, "commitOffset", "0");
    rcmd_add_cstr(&preq, "suspendTimeoutMillis", "0");
    rcmd_add_cstr(&preq, "subVersion", "1800000000000");
    ASSERT_EQ(fx_call(&f, NULL, &preq, &r), TERN_OK);
    rcmd_deinit(&preq);
    ASSERT_EQ(r.cmd.code, RESP_SUBSCRIPTION_NOT_LATEST);
    rresp_deinit(&r);

    /* %RETRY%CG1 reaches the name server's route table. */
    int code = -1;
    for (int tries = 0; tries < 150 && code != RESP_SUCCESS; tries++) {
        rcmd_init(&req);
        req.code = RC_GET_ROUTEINFO_BY_TOPIC;
        rcmd_add_cstr(&req, "topic", "%RETRY%CG1");
        ASSERT_EQ(fx_call(&f, f.ns_addr, &req, &r), TERN_OK);
        rcmd_deinit(&req);
        code = r.cmd.code;
        if (code == RESP_SUCCESS)
            ASSERT(memmem(r.cmd.body.ptr, r.cmd.body.len, f.addr, strlen(f.addr)));
        rresp_deinit(&r);
        if (code != RESP_SUCCESS)
            usleep(20000);
    }
    ASSERT_EQ(code, RESP_SUCCESS);

    /* Unregister: the group is gone. */
    rcmd_init(&req);
    req.code = RC_UNREGISTER_CLIENT;
    rcmd_add_cstr(&req, "clientID", "10.0.0.9@5555");
    rcmd_add_cstr(&req, "consumerGroup", "CG1");
    ASSERT_EQ(fx_call(&f, NULL, &req, &r), TERN_OK);
    rcmd_deinit(&req);
    ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
    rresp_deinit(&r);
    rcmd_init(&req);
    req.code = RC_GET_CONSUMER_LIST_BY_GROUP;
    rcmd_add_cstr(&req, "consumerGroup", "CG1");
    ASSERT_EQ(fx_call(&f, NULL, &req, &r), TERN_OK);
    rcmd_deinit(&req);
    ASSERT_EQ(r.cmd.code, RESP_SYSTEM_ERROR);
    rresp_deinit(&r);
    fx_stop(&f);
}

static int offset_call(struct fixture *f, int code, const char *group, int qid, int64_t off,
                       struct rresp *r)
{
    struct rcmd req;
    rcmd_init(&req);
    req.code = code;
    rcmd_add_cstr(&req, "consumerGroup", group);
    rcmd_add_cstr(&req, "topic", "OffTopic");
    rcmd_add_i64(&req, "queueId", qid);
    if (code == RC_UPDATE_CONSUMER_OFFSET)
        rcmd_add_i64(&req, "commitOffset", off);
    int rc = fx_call(f, NULL, &req, r);
    rcmd_deinit(&req);
    return rc;
}

TEST(offsets_round_trip_and_survive_restart)
{
    struct fixture f;
    ASSERT_EQ(fx_start(&f), TERN_OK);
    create_topic(&f, "OffTopic", 4);
    struct rresp r;
    ASSERT_EQ(offset_call(&f, RC_UPDATE_CONSUMER_OFFSET, "OG", 3, 42, &r), TERN_OK);
    ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
    rresp_deinit(&r);
    ASSERT_EQ(offset_call(&f, RC_QUERY_CONSUMER_OFFSET, "OG", 3, 0, &r), TERN_OK);
    ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
    ASSERT_EQ(fx_i64(&r, "offset"), 42);
    rresp_deinit(&r);
    /* Young queue, nothing stored: 0 (new groups see the backlog). */
    ASSERT_EQ(offset_call(&f, RC_QUERY_CONSUMER_OFFSET, "OG", 1, 0, &r), TERN_OK);
    ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
    ASSERT_EQ(fx_i64(&r, "offset"), 0);
    rresp_deinit(&r);
    /* Max/min/earliest on an empty queue. */
    struct rcmd req;
    rcmd_init(&req);
    req.code = RC_GET_MAX_OFFSET;
    rcmd_add_cstr(&req, "topic", "OffTopic");
    rcmd_add_cstr(&req, "queueId", "0");
    ASSERT_EQ(fx_call(&f, NULL, &req, &r), TERN_OK);
    rcmd_deinit(&req);
    ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
    ASSERT_EQ(fx_i64(&r, "offset"), 0);
    rresp_deinit(&r);

    /* Restart on the same directory, auto-create off this time. */
    broker_stop(f.b);
    f.b = NULL;
    fx_set(&f, "autoCreateTopicEnable", "false");
    ASSERT_EQ(fx_start_broker(&f), TERN_OK);
    ASSERT_EQ(offset_call(&f, RC_QUERY_CONSUMER_OFFSET, "OG", 3, 0, &r), TERN_OK);
    ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
    ASSERT_EQ(fx_i64(&r, "offset"), 42);
    rresp_deinit(&r);
    /* Unknown topic without auto-create. */
    ASSERT_EQ(send_msg(&f, RC_SEND_MESSAGE_V2, "NoSuchTopic", 0, NULL, tern_cstr("x"), &r),
              TERN_OK);
    ASSERT_EQ(r.cmd.code, RESP_TOPIC_NOT_EXIST);
    ASSERT_BYTES_EQ(r.cmd.remark, "topic[NoSuchTopic] not exist, apply first please!");
    char buf[64];
    ASSERT_STR_EQ(fx_field(&r, "MSG_REGION", buf, sizeof buf), "DefaultRegion");
    rresp_deinit(&r);
    /* The topic created before the restart is still there. */
    ASSERT_EQ(send_msg(&f, RC_SEND_MESSAGE_V2, "OffTopic", 0, NULL, tern_cstr("x"), &r), TERN_OK);
    ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
    rresp_deinit(&r);
    fx_stop(&f);
}

TEST(bad_requests_get_protocol_errors)
{
    struct fixture f;
    ASSERT_EQ(fx_start(&f), TERN_OK);
    struct rresp r;
    ASSERT_EQ(send_msg(&f, RC_SEND_MESSAGE_V2, "bad topic!", 0, NULL, tern_cstr("x"), &r), TERN_OK);
    ASSERT_EQ(r.cmd.code, RESP_INVALID_PARAMETER);
    rresp_deinit(&r);
    ASSERT_EQ(send_msg(&f, RC_SEND_MESSAGE_V2, "SCHEDULE_TOPIC_XXXX", 0, NULL, tern_cstr("x"), &r),
              TERN_OK);
    ASSERT_EQ(r.cmd.code, RESP_NO_PERMISSION);
    rresp_deinit(&r);

    buf_t big;
    buf_init(&big);
    memset(buf_reserve(&big, 70000), 'z', 70000);
    big.len = 70000;
    ASSERT_EQ(send_msg(&f, RC_SEND_MESSAGE_V2, "BigTopic", 0, NULL, buf_view(&big), &r), TERN_OK);
    ASSERT_EQ(r.cmd.code, RESP_MESSAGE_ILLEGAL);
    char buf[64];
    ASSERT_STR_EQ(fx_field(&r, "TRACE_ON", buf, sizeof buf), "true");
    rresp_deinit(&r);
    buf_deinit(&big);

    struct rcmd req;
    rcmd_init(&req);
    req.code = 9999;
    ASSERT_EQ(fx_call(&f, NULL, &req, &r), TERN_OK);
    rcmd_deinit(&req);
    ASSERT_EQ(r.cmd.code, RESP_REQUEST_CODE_NOT_SUPPORTED);
    rresp_deinit(&r);

    /* Missing required field: INVALID_PARAMETER naming it. */
    rcmd_init(&req);
    req.code = RC_PULL_MESSAGE;
    rcmd_add_cstr(&req, "consumerGroup", "CG");
    rcmd_add_cstr(&req, "topic", "TBW102");
    rcmd_add_cstr(&req, "queueId", "0");
    ASSERT_EQ(fx_call(&f, NULL, &req, &r), TERN_OK);
    rcmd_deinit(&req);
    ASSERT_EQ(r.cmd.code, RESP_INVALID_PARAMETER);
    ASSERT(memmem(r.cmd.remark.ptr, r.cmd.remark.len, "queueOffset", 11));
    rresp_deinit(&r);

    /* A malformed heartbeat body. */
    rcmd_init(&req);
    req.code = RC_HEART_BEAT;
    req.body = tern_cstr("{\"clientID\":");
    ASSERT_EQ(fx_call(&f, NULL, &req, &r), TERN_OK);
    rcmd_deinit(&req);
    ASSERT_EQ(r.cmd.code, RESP_INVALID_PARAMETER);
    rresp_deinit(&r);

    /* CHECK_CLIENT_CONFIG: TAG ok, SQL92 refused. */
    rcmd_init(&req);
    req.code = RC_CHECK_CLIENT_CONFIG;
    req.body = tern_cstr("{\"clientId\":\"c\",\"group\":\"g\",\"subscriptionData\":"
                         "{\"expressionType\":\"SQL92\",\"subString\":\"a>1\",\"topic\":\"T\"}}");
    ASSERT_EQ(fx_call(&f, NULL, &req, &r), TERN_OK);
    rcmd_deinit(&req);
    ASSERT_EQ(r.cmd.code, RESP_SYSTEM_ERROR);
    ASSERT_BYTES_EQ(r.cmd.remark,
                    "The broker does not support consumer to filter message by SQL92");
    rresp_deinit(&r);
    fx_stop(&f);
}

/* Raw socket: a oneway request must get no answer, so the first frame back
 * is the answer to the request sent after it. */
TEST(oneway_update_offset_gets_no_response)
{
    struct fixture f;
    ASSERT_EQ(fx_start(&f), TERN_OK);
    create_topic(&f, "OffTopic", 1);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT(fd >= 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)broker_port(f.b));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    buf_t out;
    buf_init(&out);
    struct rcmd req;
    rcmd_init(&req);
    req.code = RC_UPDATE_CONSUMER_OFFSET;
    req.opaque = 1;
    req.flag = RCMD_FLAG_ONEWAY;
    rcmd_add_cstr(&req, "consumerGroup", "OG");
    rcmd_add_cstr(&req, "topic", "OffTopic");
    rcmd_add_cstr(&req, "queueId", "0");
    rcmd_add_cstr(&req, "commitOffset", "7");
    rcmd_encode(&req, &out);
    rcmd_deinit(&req);
    rcmd_init(&req);
    req.code = RC_QUERY_CONSUMER_OFFSET;
    req.opaque = 2;
    rcmd_add_cstr(&req, "consumerGroup", "OG");
    rcmd_add_cstr(&req, "topic", "OffTopic");
    rcmd_add_cstr(&req, "queueId", "0");
    rcmd_encode(&req, &out);
    rcmd_deinit(&req);
    ASSERT_EQ(write(fd, out.data, out.len), (ssize_t)out.len);
    buf_reset(&out);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    size_t flen = 0;
    while (out.len < 4 || rcmd_frame_peek(out.data, out.len, &flen) != TERN_OK || out.len < flen) {
        ssize_t n = read(fd, buf_reserve(&out, 4096), 4096);
        ASSERT(n > 0);
        out.len += (size_t)n;
    }
    struct rcmd resp;
    rcmd_init(&resp);
    ASSERT_EQ(rcmd_decode(out.data, flen, &resp), TERN_OK);
    ASSERT_EQ(resp.opaque, 2);
    ASSERT_EQ(resp.code, RESP_SUCCESS);
    int64_t off = 0;
    ASSERT_EQ(rcmd_get_i64(&resp, "offset", &off), TERN_OK);
    ASSERT_EQ(off, 7);
    rcmd_deinit(&resp);
    buf_deinit(&out);
    close(fd);
    fx_stop(&f);
}

TEST(sync_flush_send_and_admin_bodies)
{
    struct fixture f;
    ASSERT_EQ(fx_prepare(&f), 0);
    fx_set(&f, "flushDiskType", "SYNC_FLUSH");
    fx_set(&f, "syncFlushThreads", "2");
    ASSERT_EQ(fx_start_broker(&f), TERN_OK);
    struct rresp r;
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ(send_msg(&f, RC_SEND_MESSAGE_V2, "SyncTopic", 0, NULL, tern_cstr("durable"), &r),
                  TERN_OK);
        ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
        ASSERT_EQ(fx_i64(&r, "queueOffset"), i);
        rresp_deinit(&r);
    }

    static const int codes[] = {RC_GET_ALL_TOPIC_CONFIG, RC_GET_ALL_SUBSCRIPTIONGROUP_CONFIG,
                                RC_GET_BROKER_RUNTIME_INFO, RC_GET_BROKER_CONFIG};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        struct rcmd req;
        rcmd_init(&req);
        req.code = codes[i];
        ASSERT_EQ(fx_call(&f, NULL, &req, &r), TERN_OK);
        rcmd_deinit(&req);
        ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
        ASSERT(r.cmd.body.len > 0);
        if (codes[i] == RC_GET_ALL_TOPIC_CONFIG)
            ASSERT(memmem(r.cmd.body.ptr, r.cmd.body.len, "\"SyncTopic\"", 11));
        if (codes[i] == RC_GET_BROKER_CONFIG) {
            ASSERT(memmem(r.cmd.body.ptr, r.cmd.body.len, "flushDiskType=SYNC_FLUSH", 24));
            ASSERT(memmem(r.cmd.body.ptr, r.cmd.body.len, "syncFlushThreads=2", 18));
            ASSERT(memmem(r.cmd.body.ptr, r.cmd.body.len, "commitLogWriteMode=auto", 23));
        }
        rresp_deinit(&r);
    }
    struct rcmd req;
    rcmd_init(&req);
    req.code = RC_GET_TOPIC_STATS_INFO;
    rcmd_add_cstr(&req, "topic", "SyncTopic");
    ASSERT_EQ(fx_call(&f, NULL, &req, &r), TERN_OK);
    rcmd_deinit(&req);
    ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
    ASSERT(memmem(r.cmd.body.ptr, r.cmd.body.len, "\"queueId\":0,\"topic\":\"SyncTopic\"}:{", 34));
    rresp_deinit(&r);

    /* WAIT=false is answered once stored, without waiting for the sync: with
     * every sync failing from now on, it still succeeds and a waiting send
     * does not. */
    store_test_fail_syncs(f.b->store, 1000000);
    ASSERT_EQ(send_msg(&f, RC_SEND_MESSAGE_V2, "SyncTopic", 0, "WAIT\001false\002",
                       tern_cstr("no wait"), &r),
              TERN_OK);
    ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
    rresp_deinit(&r);
    ASSERT_EQ(send_msg(&f, RC_SEND_MESSAGE_V2, "SyncTopic", 0, "WAIT\001true\002",
                       tern_cstr("waits"), &r),
              TERN_OK);
    ASSERT_EQ(r.cmd.code, RESP_FLUSH_DISK_TIMEOUT); /* stored, not durable */
    rresp_deinit(&r);
    fx_stop(&f);
}

static atomic_int g_notified;

static void on_notify(void *ctx, struct rreq *req)
{
    (void)ctx;
    if (tern_bytes_eq_cstr(rcmd_get(&req->cmd, "consumerGroup"), "CGN"))
        atomic_fetch_add(&g_notified, 1);
    rreq_free(req);
}

static const char *hb_body(const char *client_id, char *buf, size_t n)
{
    snprintf(buf, n,
             "{\"clientID\":\"%s\",\"consumerDataSet\":[{\"groupName\":\"CGN\","
             "\"consumeType\":1,\"messageModel\":1,\"consumeFromWhere\":0,"
             "\"subscriptionDataSet\":[{\"topic\":\"NTopic\",\"subString\":\"*\","
             "\"subVersion\":\"1\"}]}]}\n",
             client_id);
    return buf;
}

/* A second member joining notifies the first (oneway, server-initiated); a
 * closed connection leaves the group. */
TEST(membership_change_notifies_and_close_removes)
{
    struct fixture f;
    ASSERT_EQ(fx_start(&f), TERN_OK);
    create_topic(&f, "NTopic", 2);
    static const struct rprocessor table[] = {
        {RC_NOTIFY_CONSUMER_IDS_CHANGED, "NOTIFY_CONSUMER_IDS_CHANGED", on_notify, 0}};
    struct rclient_opts co;
    memset(&co, 0, sizeof co);
    co.table = table;
    co.ntable = 1;
    struct rclient *c1 = NULL, *c2 = NULL;
    ASSERT_EQ(rclient_new(&co, &c1), TERN_OK);
    ASSERT_EQ(rclient_new(&co, &c2), TERN_OK);
    char body[512];
    struct rcmd req;
    struct rresp r;
    rcmd_init(&req);
    req.code = RC_HEART_BEAT;
    req.language = LANG_CPP;
    req.body = tern_cstr(hb_body("10.0.0.1@1", body, sizeof body));
    rresp_init(&r);
    ASSERT_EQ(rclient_call_sync(c1, f.addr, &req, 5000, &r), TERN_OK);
    ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
    rresp_deinit(&r);
    rcmd_deinit(&req);
    int64_t end = clock_mono_ms() + 2000;
    while (atomic_load(&g_notified) < 1 && clock_mono_ms() < end)
        usleep(2000);
    int before = atomic_load(&g_notified);
    ASSERT(before >= 1); /* the first member is notified of its own arrival */

    rcmd_init(&req);
    req.code = RC_HEART_BEAT;
    req.body = tern_cstr(hb_body("10.0.0.2@2", body, sizeof body));
    rresp_init(&r);
    ASSERT_EQ(rclient_call_sync(c2, f.addr, &req, 5000, &r), TERN_OK);
    rresp_deinit(&r);
    rcmd_deinit(&req);
    end = clock_mono_ms() + 2000;
    while (atomic_load(&g_notified) < before + 2 && clock_mono_ms() < end)
        usleep(2000);
    ASSERT(atomic_load(&g_notified) >= before + 2); /* both members told */

    rcmd_init(&req);
    req.code = RC_GET_CONSUMER_LIST_BY_GROUP;
    rcmd_add_cstr(&req, "consumerGroup", "CGN");
    ASSERT_EQ(fx_call(&f, NULL, &req, &r), TERN_OK);
    ASSERT(memmem(r.cmd.body.ptr, r.cmd.body.len, "10.0.0.1@1", 10));
    ASSERT(memmem(r.cmd.body.ptr, r.cmd.body.len, "10.0.0.2@2", 10));
    rresp_deinit(&r);

    /* GET_CONSUMER_CONNECTION_LIST names enums as fastjson does. */
    struct rcmd creq;
    rcmd_init(&creq);
    creq.code = RC_GET_CONSUMER_CONNECTION_LIST;
    rcmd_add_cstr(&creq, "consumerGroup", "CGN");
    ASSERT_EQ(fx_call(&f, NULL, &creq, &r), TERN_OK);
    rcmd_deinit(&creq);
    ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
    ASSERT(memmem(r.cmd.body.ptr, r.cmd.body.len, "\"CONSUME_PASSIVELY\"", 19));
    ASSERT(memmem(r.cmd.body.ptr, r.cmd.body.len, "\"language\":\"CPP\"", 16));
    rresp_deinit(&r);

    /* Closing c2's connection removes that member. */
    rclient_free(c2);
    int found = 1;
    for (int tries = 0; tries < 100 && found; tries++) {
        ASSERT_EQ(fx_call(&f, NULL, &req, &r), TERN_OK);
        found = memmem(r.cmd.body.ptr, r.cmd.body.len, "10.0.0.2@2", 10) != NULL;
        rresp_deinit(&r);
        if (found)
            usleep(10000);
    }
    ASSERT(!found);
    rcmd_deinit(&req);
    rclient_free(c1);
    fx_stop(&f);
}

/* Every served code with no header fields, then with junk fields and a junk
 * body: each gets an answer (never a crash; run under ASan). */
TEST(every_code_survives_empty_and_junk_requests)
{
    struct fixture f;
    ASSERT_EQ(fx_start(&f), TERN_OK);
    static const int codes[] = {10,  310, 320, 11, 361, 34,  35,  38,  14,  15,
                                30,  31,  29,  32, 12,  33,  46,  17,  215, 21,
                                200, 201, 207, 28, 202, 208, 203, 204, 26};
    static const char *const junk_keys[] = {"a",
                                            "b",
                                            "c",
                                            "d",
                                            "e",
                                            "f",
                                            "g",
                                            "h",
                                            "i",
                                            "m",
                                            "topic",
                                            "queueId",
                                            "consumerGroup",
                                            "queueOffset",
                                            "commitOffset",
                                            "offset",
                                            "key",
                                            "maxNum",
                                            "beginTimestamp",
                                            "endTimestamp",
                                            "timestamp",
                                            "groupName",
                                            "producerGroup",
                                            "clientID",
                                            "readQueueNums",
                                            "writeQueueNums",
                                            "perm",
                                            "sysFlag",
                                            "subscription",
                                            NULL};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        for (int variant = 0; variant < 3; variant++) {
            struct rcmd req;
            rcmd_init(&req);
            req.code = codes[i];
            if (variant > 0) {
                for (int k = 0; junk_keys[k]; k++)
                    rcmd_add_cstr(&req, junk_keys[k],
                                  variant == 1 ? "-1" : "%RETRY%\x01\x02zz!! 99999999999999999999");
                req.body = tern_cstr(variant == 1 ? "\x01\x02\xff{[" : "{\"clientID\":1}");
            }
            struct rresp r;
            ASSERT_EQ(fx_call(&f, NULL, &req, &r), TERN_OK);
            rresp_deinit(&r);
            rcmd_deinit(&req);
        }
    }
    fx_stop(&f);
}

static int lock_call(struct fixture *f, int code, const char *client, struct rresp *r)
{
    char body[512];
    snprintf(body, sizeof body,
             "{\"consumerGroup\":\"OCG\",\"clientId\":\"%s\",\"onlyThisBroker\":false,"
             "\"mqSet\":[{\"topic\":\"OTopic\",\"brokerName\":\"broker-a\",\"queueId\":0},"
             "{\"topic\":\"OTopic\",\"brokerName\":\"broker-a\",\"queueId\":1}]}",
             client);
    struct rcmd req;
    rcmd_init(&req);
    req.code = code;
    req.body = tern_cstr(body);
    int rc = fx_call(f, NULL, &req, r);
    rcmd_deinit(&req);
    return rc;
}

TEST(ordered_queue_locks)
{
    struct fixture f;
    ASSERT_EQ(fx_start(&f), TERN_OK);
    create_topic(&f, "OTopic", 2);
    struct rresp r;
    ASSERT_EQ(lock_call(&f, RC_LOCK_BATCH_MQ, "c1", &r), TERN_OK);
    ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
    ASSERT_BYTES_EQ(r.cmd.body,
                    "{\"lockOKMQSet\":[{\"brokerName\":\"broker-a\",\"queueId\":0,\"topic\":"
                    "\"OTopic\"},{\"brokerName\":\"broker-a\",\"queueId\":1,\"topic\":"
                    "\"OTopic\"}]}");
    rresp_deinit(&r);
    /* Someone else gets nothing while c1 holds them; c1 renews. */
    ASSERT_EQ(lock_call(&f, RC_LOCK_BATCH_MQ, "c2", &r), TERN_OK);
    ASSERT_BYTES_EQ(r.cmd.body, "{\"lockOKMQSet\":[]}");
    rresp_deinit(&r);
    ASSERT_EQ(lock_call(&f, RC_LOCK_BATCH_MQ, "c1", &r), TERN_OK);
    ASSERT(memmem(r.cmd.body.ptr, r.cmd.body.len, "\"queueId\":1", 11));
    rresp_deinit(&r);
    /* A retry-topic send of a group holding locks goes to the DLQ. */
    ASSERT_EQ(send_msg(&f, RC_SEND_MESSAGE_V2, "%RETRY%OCG", 0, NULL, tern_cstr("r"), &r), TERN_OK);
    ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
    rresp_deinit(&r);
    struct rcmd req;
    pull_req(&req, "OCG", "%DLQ%OCG", 0, 0, SUB_FLAG, "*", 0);
    ASSERT_EQ(fx_call(&f, NULL, &req, &r), TERN_OK);
    rcmd_deinit(&req);
    ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
    rresp_deinit(&r);
    /* After c1 unlocks, c2 can lock. */
    ASSERT_EQ(lock_call(&f, RC_UNLOCK_BATCH_MQ, "c1", &r), TERN_OK);
    ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
    rresp_deinit(&r);
    ASSERT_EQ(lock_call(&f, RC_LOCK_BATCH_MQ, "c2", &r), TERN_OK);
    ASSERT(memmem(r.cmd.body.ptr, r.cmd.body.len, "\"queueId\":0", 11));
    rresp_deinit(&r);
    fx_stop(&f);
}

static int send_back(struct fixture *f, int64_t phy, int delay, struct rresp *r)
{
    struct rcmd req;
    rcmd_init(&req);
    req.code = RC_CONSUMER_SEND_MSG_BACK;
    rcmd_add_i64(&req, "offset", phy);
    rcmd_add_cstr(&req, "group", "SBG");
    rcmd_add_i64(&req, "delayLevel", delay);
    rcmd_add_cstr(&req, "originTopic", "SbTopic");
    rcmd_add_cstr(&req, "maxReconsumeTimes", "2");
    int rc = fx_call(f, NULL, &req, r);
    rcmd_deinit(&req);
    return rc;
}

/* Pulls topic queue 0 at off until the timer service has delivered a
 * message there (5 s at most); the last answer is left in r. */
static int pull_when_delivered(struct fixture *f, const char *topic, int64_t off, struct rresp *r)
{
    for (int i = 0;; i++) {
        int rc = pull(f, topic, 0, off, SUB_FLAG, "*", 0, r);
        if (rc != TERN_OK || r->cmd.code == RESP_SUCCESS || i == 100)
            return rc;
        rresp_deinit(r);
        usleep(50000);
    }
}

TEST(send_back_to_retry_then_dlq)
{
    struct fixture f;
    ASSERT_EQ(fx_prepare(&f), 0);
    /* Retries are delayed by the timer service (test_timer.c): 1 ms levels. */
    fx_set(&f, "messageDelayLevel", "1ms 1ms 1ms 1ms 1ms");
    ASSERT_EQ(fx_start_broker(&f), TERN_OK);
    struct rresp r;
    ASSERT_EQ(
        send_msg(&f, RC_SEND_MESSAGE_V2, "SbTopic", 0, "TAGS\x01t\x02", tern_cstr("retry me"), &r),
        TERN_OK);
    char id[64];
    fx_field(&r, "msgId", id, sizeof id);
    rresp_deinit(&r);
    struct msg_host h;
    int64_t phy;
    ASSERT_EQ(msgid_decode(tern_cstr(id), &h, &phy), TERN_OK);
    ASSERT_EQ(send_back(&f, phy, 0, &r), TERN_OK);
    ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
    rresp_deinit(&r);
    ASSERT_EQ(pull_when_delivered(&f, "%RETRY%SBG", 0, &r), TERN_OK);
    ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
    struct msg_record m[2];
    ASSERT_EQ(decode_all(r.cmd.body, m, 2), 1);
    ASSERT_EQ(m[0].reconsume_times, 1);
    ASSERT_BYTES_EQ(m[0].body, "retry me");
    tern_bytes_t v;
    ASSERT(props_get(m[0].props, "RETRY_TOPIC", &v));
    ASSERT_BYTES_EQ(v, "SbTopic");
    ASSERT(props_get(m[0].props, "ORIGIN_MESSAGE_ID", &v));
    ASSERT_BYTES_EQ(v, id);
    ASSERT(!props_get(m[0].props, "DELAY", &v)); /* removed at delivery */
    int64_t retry_phy = m[0].phy_off;
    rresp_deinit(&r);
    /* Second failure (reconsumeTimes 1 < 2): retry again; third: DLQ. */
    ASSERT_EQ(send_back(&f, retry_phy, 0, &r), TERN_OK);
    ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
    rresp_deinit(&r);
    ASSERT_EQ(pull_when_delivered(&f, "%RETRY%SBG", 1, &r), TERN_OK);
    ASSERT_EQ(decode_all(r.cmd.body, m, 2), 1);
    ASSERT_EQ(m[0].reconsume_times, 2);
    retry_phy = m[0].phy_off;
    rresp_deinit(&r);
    ASSERT_EQ(send_back(&f, retry_phy, 0, &r), TERN_OK);
    ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
    rresp_deinit(&r);
    ASSERT_EQ(pull(&f, "%DLQ%SBG", 0, 0, SUB_FLAG, "*", 0, &r), TERN_OK);
    ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
    ASSERT_EQ(decode_all(r.cmd.body, m, 2), 1);
    ASSERT(props_get(m[0].props, "ORIGIN_MESSAGE_ID", &v));
    ASSERT_BYTES_EQ(v, id);
    rresp_deinit(&r);
    /* Unknown offset. */
    ASSERT_EQ(send_back(&f, 1 << 30, 0, &r), TERN_OK);
    ASSERT_EQ(r.cmd.code, RESP_SYSTEM_ERROR);
    rresp_deinit(&r);
    fx_stop(&f);
}

/* A heartbeat for producer group "a\u0000b" (a NUL in the name) plus a
 * valid one, from two clients in turn, each closed afterwards: the odd group
 * is skipped, the valid one comes and goes, and nothing dangles (ASan). */
static int producer_hb(struct rclient *c, const char *addr, const char *client_id)
{
    char body[512];
    snprintf(body, sizeof body,
             "{\"clientID\":\"%s\",\"producerDataSet\":[{\"groupName\":\"a\\u0000b\"},"
             "{\"groupName\":\"PG_OK\"}]}",
             client_id);
    struct rcmd req;
    rcmd_init(&req);
    req.code = RC_HEART_BEAT;
    req.body = tern_cstr(body);
    struct rresp r;
    rresp_init(&r);
    int code = rclient_call_sync(c, addr, &req, 5000, &r) == TERN_OK ? r.cmd.code : -1;
    rresp_deinit(&r);
    rcmd_deinit(&req);
    return code;
}

static int producer_conns(struct fixture *f, const char *group, size_t glen)
{
    struct rcmd req;
    rcmd_init(&req);
    req.code = RC_GET_PRODUCER_CONNECTION_LIST;
    rcmd_add(&req, "producerGroup", tern_bytes(group, glen));
    struct rresp r;
    int code = fx_call(f, NULL, &req, &r) == TERN_OK ? r.cmd.code : -1;
    rresp_deinit(&r);
    rcmd_deinit(&req);
    return code;
}

TEST(producer_group_with_nul_is_skipped)
{
    struct fixture f;
    ASSERT_EQ(fx_start(&f), TERN_OK);
    for (int round = 0; round < 2; round++) {
        struct rclient_opts co;
        memset(&co, 0, sizeof co);
        struct rclient *c = NULL;
        ASSERT_EQ(rclient_new(&co, &c), TERN_OK);
        ASSERT_EQ(producer_hb(c, f.addr, round ? "10.0.0.8@2" : "10.0.0.8@1"), RESP_SUCCESS);
        ASSERT_EQ(producer_conns(&f, "PG_OK", 5), RESP_SUCCESS);
        ASSERT(producer_conns(&f, "a\0b", 3) != RESP_SUCCESS);
        rclient_free(c);
        int code = RESP_SUCCESS;
        for (int tries = 0; tries < 200 && code == RESP_SUCCESS; tries++) {
            code = producer_conns(&f, "PG_OK", 5);
            if (code == RESP_SUCCESS)
                usleep(10000);
        }
        ASSERT(code != RESP_SUCCESS);
    }
    fx_stop(&f);
}

/* suspendTimeoutMillis=1e15 is clamped to HOLD_MAX_TIMEOUT_MS (no overflow),
 * and a held pull whose connection closes is released unanswered. */
TEST(long_poll_clamped_and_released_on_close)
{
    struct fixture f;
    ASSERT_EQ(fx_start(&f), TERN_OK);
    create_topic(&f, "ClampTopic", 1);
    struct rclient_opts co;
    memset(&co, 0, sizeof co);
    struct rclient *c = NULL;
    ASSERT_EQ(rclient_new(&co, &c), TERN_OK);
    struct rcmd req;
    pull_req(&req, "CG", "ClampTopic", 0, 0, SUB_FLAG | SUSPEND_FLAG, "*", 1000000000000000LL);
    struct async_pull a;
    memset(&a, 0, sizeof a);
    int64_t start = clock_mono_ms();
    ASSERT_EQ(rclient_call(c, f.addr, &req, 120000, on_pull, &a), TERN_OK);
    rcmd_deinit(&req);
    for (int tries = 0; tries < 200 && hold_count(&f.b->hold) < 1; tries++)
        usleep(10000);
    ASSERT_EQ(hold_count(&f.b->hold), 1);
    int64_t deadline = hold_latest_deadline_ms(&f.b->hold);
    ASSERT(deadline >= start);
    ASSERT(deadline <= clock_mono_ms() + HOLD_MAX_TIMEOUT_MS);
    rclient_free(c); /* the pending call fails locally; the broker sees a close */
    for (int tries = 0; tries < 1000 && hold_count(&f.b->hold) > 0; tries++)
        usleep(10000);
    ASSERT_EQ(hold_count(&f.b->hold), 0);
    fx_stop(&f);
}

static int delete_topic(struct fixture *f, const char *topic, char *remark, size_t rlen)
{
    struct rcmd req;
    rcmd_init(&req);
    req.code = RC_DELETE_TOPIC_IN_BROKER;
    rcmd_add_cstr(&req, "topic", topic);
    struct rresp r;
    int code = fx_call(f, NULL, &req, &r) == TERN_OK ? r.cmd.code : -1;
    snprintf(remark, rlen, "%.*s", (int)r.cmd.remark.len,
             r.cmd.remark.ptr ? (const char *)r.cmd.remark.ptr : "");
    rresp_deinit(&r);
    rcmd_deinit(&req);
    return code;
}

/* DELETE_TOPIC_IN_BROKER refuses the broker's own topics, keeps them, and
 * still deletes ordinary ones. */
TEST(delete_topic_refuses_system_topics)
{
    struct fixture f;
    ASSERT_EQ(fx_start(&f), TERN_OK);
    static const char *const SYS[] = {"TBW102",
                                      "SCHEDULE_TOPIC_XXXX",
                                      "RMQ_SYS_TRANS_HALF_TOPIC",
                                      "RMQ_SYS_TRANS_OP_HALF_TOPIC",
                                      "RMQ_SYS_ANYTHING",
                                      "rmq_sys_wheel_timer",
                                      "SELF_TEST_TOPIC",
                                      "OFFSET_MOVED_EVENT",
                                      "DefaultCluster",
                                      "broker-a",
                                      "DefaultCluster_REPLY_TOPIC",
                                      NULL};
    char remark[256];
    for (int i = 0; SYS[i]; i++) {
        ASSERT_EQ(delete_topic(&f, SYS[i], remark, sizeof remark), RESP_NO_PERMISSION);
        ASSERT(strstr(remark, "system topic") != NULL);
        ASSERT(strstr(remark, SYS[i]) != NULL);
    }
    struct topic_config tc;
    ASSERT(topics_get(&f.b->topics, tern_cstr("SCHEDULE_TOPIC_XXXX"), &tc));
    ASSERT(topics_get(&f.b->topics, tern_cstr("DefaultCluster"), &tc));
    create_topic(&f, "PlainTopic", 1);
    ASSERT_EQ(delete_topic(&f, "PlainTopic", remark, sizeof remark), RESP_SUCCESS);
    ASSERT(!topics_get(&f.b->topics, tern_cstr("PlainTopic"), &tc));
    fx_stop(&f);
}

static int body_call(struct fixture *f, int code, const char *body, size_t len, char *remark,
                     size_t rlen, buf_t *out_body)
{
    struct rcmd req;
    rcmd_init(&req);
    req.code = code;
    req.body = tern_bytes(body, len);
    struct rresp r;
    int rc = fx_call(f, NULL, &req, &r) == TERN_OK ? r.cmd.code : -1;
    if (remark)
        snprintf(remark, rlen, "%.*s", (int)r.cmd.remark.len,
                 r.cmd.remark.ptr ? (const char *)r.cmd.remark.ptr : "");
    if (out_body && rc >= 0)
        buf_append(out_body, r.cmd.body.ptr, r.cmd.body.len);
    rresp_deinit(&r);
    rcmd_deinit(&req);
    return rc;
}

/* Locks only exist for real queues; the set is capped; bad groups refused. */
TEST(lock_batch_checks_queues_and_size)
{
    struct fixture f;
    ASSERT_EQ(fx_start(&f), TERN_OK);
    create_topic(&f, "LTopic", 2);
    char remark[256];
    buf_t out;
    buf_init(&out);
    static const char BODY[] =
        "{\"consumerGroup\":\"LCG\",\"clientId\":\"c1\",\"mqSet\":["
        "{\"topic\":\"LTopic\",\"brokerName\":\"broker-a\",\"queueId\":1},"
        "{\"topic\":\"LTopic\",\"brokerName\":\"broker-a\",\"queueId\":2},"
        "{\"topic\":\"NoSuchTopic\",\"brokerName\":\"broker-a\",\"queueId\":0}]}";
    ASSERT_EQ(body_call(&f, RC_LOCK_BATCH_MQ, BODY, strlen(BODY), NULL, 0, &out), RESP_SUCCESS);
    ASSERT_BYTES_EQ(buf_view(&out), "{\"lockOKMQSet\":[{\"brokerName\":\"broker-a\",\"queueId\":1,"
                                    "\"topic\":\"LTopic\"}]}");
    /* More than 1024 queues in one request. */
    buf_t big;
    buf_init(&big);
    buf_append_cstr(&big, "{\"consumerGroup\":\"LCG\",\"clientId\":\"c1\",\"mqSet\":[");
    for (int i = 0; i < 1025; i++)
        buf_printf(&big, "%s{\"topic\":\"LTopic\",\"brokerName\":\"b\",\"queueId\":%d}",
                   i ? "," : "", i);
    buf_append_cstr(&big, "]}");
    ASSERT_EQ(body_call(&f, RC_LOCK_BATCH_MQ, (const char *)big.data, big.len, remark,
                        sizeof remark, NULL),
              RESP_INVALID_PARAMETER);
    ASSERT(strstr(remark, "at most 1024") != NULL);
    /* A group name with a NUL. */
    static const char BADG[] = "{\"consumerGroup\":\"a\\u0000b\",\"clientId\":\"c1\",\"mqSet\":["
                               "{\"topic\":\"LTopic\",\"brokerName\":\"b\",\"queueId\":0}]}";
    ASSERT_EQ(body_call(&f, RC_LOCK_BATCH_MQ, BADG, strlen(BADG), NULL, 0, NULL),
              RESP_INVALID_PARAMETER);
    buf_deinit(&big);
    buf_deinit(&out);
    fx_stop(&f);
}

/* JSON bodies over 4 MiB are refused before parsing. */
TEST(json_bodies_over_limit_are_refused)
{
    struct fixture f;
    ASSERT_EQ(fx_start(&f), TERN_OK);
    size_t len = ((size_t)4 << 20) + 1;
    char *body = malloc(len);
    ASSERT(body != NULL);
    memset(body, ' ', len);
    body[0] = '{';
    body[len - 1] = '}';
    static const int CODES[] = {RC_HEART_BEAT, RC_CHECK_CLIENT_CONFIG, RC_LOCK_BATCH_MQ,
                                RC_UNLOCK_BATCH_MQ, RC_UPDATE_AND_CREATE_SUBSCRIPTIONGROUP};
    char remark[256];
    for (size_t i = 0; i < sizeof CODES / sizeof CODES[0]; i++) {
        ASSERT_EQ(body_call(&f, CODES[i], body, len, remark, sizeof remark, NULL),
                  RESP_INVALID_PARAMETER);
        ASSERT(strstr(remark, "body too large") != NULL);
    }
    free(body);
    fx_stop(&f);
}

/* A client UNIQ_KEY of 40+ bytes is kept as the only UNIQ_KEY and answered
 * as the transactionId. */
TEST(long_client_uniq_key_is_kept)
{
    struct fixture f;
    ASSERT_EQ(fx_start(&f), TERN_OK);
    create_topic(&f, "UTopic", 1);
    static const char KEY[] = "0123456789abcdef0123456789abcdef0123456789abcdefXYZ";
    char props[128];
    snprintf(props, sizeof props, "UNIQ_KEY\001%s\002", KEY);
    struct rresp r;
    ASSERT_EQ(send_msg(&f, RC_SEND_MESSAGE_V2, "UTopic", 0, props, tern_cstr("u"), &r), TERN_OK);
    ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
    ASSERT_BYTES_EQ(rcmd_get(&r.cmd, "transactionId"), KEY);
    rresp_deinit(&r);
    ASSERT_EQ(pull(&f, "UTopic", 0, 0, SUB_FLAG, "*", 0, &r), TERN_OK);
    ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
    struct msg_record m[2];
    ASSERT_EQ(decode_all(r.cmd.body, m, 2), 1);
    tern_bytes_t v;
    ASSERT(props_get(m[0].props, "UNIQ_KEY", &v));
    ASSERT_BYTES_EQ(v, KEY);
    int n = 0;
    for (size_t i = 0; i + 9 <= m[0].props.len; i++)
        n += memcmp(m[0].props.ptr + i, "UNIQ_KEY\001", 9) == 0;
    ASSERT_EQ(n, 1);
    rresp_deinit(&r);
    fx_stop(&f);
}

TEST_MAIN()
