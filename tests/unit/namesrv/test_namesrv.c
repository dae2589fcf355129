/* SPDX-License-Identifier: Apache-2.0 */
/* test_namesrv.c: a name server in-process on 127.0.0.1 port 0, driven by a
 * remoting client over the wire: every request code of spec §4.A, the error
 * answers, expiry and removal on connection close. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "harness.h"

#include "common/clock.h"
#include "common/hash.h"
#include "namesrv/namesrv.h"
#include "protocol/codes.h"
#include "protocol/route.h"
#include "remoting/remoting.h"

static const char SPEC_ROUTE[] =
    "{\"brokerDatas\":[{\"brokerAddrs\":{\"0\":\"10.0.0.1:10911\"},\"brokerName\":\"broker-a\","
    "\"cluster\":\"DefaultCluster\",\"enableActingMaster\":false}],\"filterServerTable\":{},"
    "\"queueDatas\":[{\"brokerName\":\"broker-a\",\"perm\":6,\"readQueueNums\":4,"
    "\"topicSysFlag\":0,\"writeQueueNums\":4}]}";

static const struct route_topic_config g_topics[] = {
    {"TopicTest", 4, 4, 6, 0, false, "SINGLE_TAG"},
    {"TBW102", 8, 8, 7, 0, false, "SINGLE_TAG"},
};

struct fixture {
    struct namesrv *ns;
    struct rclient *cli;
    char addr[32];
};

static void setup(struct fixture *f, int expire_ms, int scan_ms)
{
    struct namesrv_config cfg;
    namesrv_config_defaults(&cfg);
    cfg.bind_host = "127.0.0.1";
    cfg.port = 0;
    cfg.io_threads = 2;
    if (expire_ms)
        cfg.broker_expire_ms = expire_ms;
    if (scan_ms)
        cfg.scan_interval_ms = scan_ms;
    ASSERT_EQ(namesrv_start(&cfg, &f->ns), TERN_OK);
    ASSERT(namesrv_port(f->ns) > 0);
    snprintf(f->addr, sizeof f->addr, "127.0.0.1:%d", namesrv_port(f->ns));
    struct rclient_opts o;
    memset(&o, 0, sizeof o);
    ASSERT_EQ(rclient_new(&o, &f->cli), TERN_OK);
}

static void teardown(struct fixture *f)
{
    rclient_free(f->cli);
    namesrv_stop(f->ns);
}

/* Sends req and waits; the response stays in *resp (rresp_deinit it). */
static void call(struct rclient *cli, const char *addr, struct rcmd *req, struct rresp *resp)
{
    rresp_init(resp);
    ASSERT_EQ(rclient_call_sync(cli, addr, req, 3000, resp), TERN_OK);
}

/* A request with (key, value) pairs ending in NULL. */
static int simple_call(struct rclient *cli, const char *addr, int code, struct rresp *resp, ...)
{
    struct rcmd req;
    rcmd_init(&req);
    req.code = code;
    va_list ap;
    va_start(ap, resp);
    for (const char *k; (k = va_arg(ap, const char *));)
        rcmd_add_cstr(&req, k, va_arg(ap, const char *));
    va_end(ap);
    call(cli, addr, &req, resp);
    rcmd_deinit(&req);
    return resp->cmd.code;
}

struct reg_opts {
    const char *name;
    const char *addr;
    int64_t id;
    int64_t counter;
    bool bad_crc;
    bool compressed;
};

static int register_broker(struct rclient *cli, const char *ns_addr, const struct reg_opts *o,
                           struct rresp *resp)
{
    buf_t body;
    buf_init(&body);
    if (o->compressed) {
        buf_t plain;
        buf_init(&plain);
        const char *dv = "{\"counter\":1,\"stateVersion\":0,\"timestamp\":5}";
        const char *lines[] = {"TopicTest 4 4 6 SINGLE_TAG {}", "TBW102 8 8 7 SINGLE_TAG"};
        buf_append_be32(&plain, (uint32_t)strlen(dv));
        buf_append_cstr(&plain, dv);
        buf_append_be32(&plain, 2);
        for (int i = 0; i < 2; i++) {
            buf_append_be32(&plain, (uint32_t)strlen(lines[i]));
            buf_append_cstr(&plain, lines[i]);
        }
        uLongf n = compressBound(plain.len);
        uint8_t *p = buf_reserve(&body, n);
        compress(p, &n, plain.data, plain.len);
        body.len = n;
        buf_deinit(&plain);
    } else {
        route_encode_register_body(&body, g_topics, 2, o->counter ? o->counter : 1,
                                   1700000000000LL);
    }
    struct rcmd req;
    rcmd_init(&req);
    req.code = RC_REGISTER_BROKER;
    rcmd_add_cstr(&req, "brokerName", o->name ? o->name : "broker-a");
    rcmd_add_cstr(&req, "brokerAddr", o->addr ? o->addr : "10.0.0.1:10911");
    rcmd_add_cstr(&req, "clusterName", "DefaultCluster");
    rcmd_add_cstr(&req, "haServerAddr", "10.0.0.1:10912");
    rcmd_add_i64(&req, "brokerId", o->id);
    rcmd_add_cstr(&req, "compressed", o->compressed ? "true" : "false");
    rcmd_add_cstr(&req, "enableActingMaster", "false");
    int32_t crc = crc32_java(body.data, body.len);
    rcmd_add_i64(&req, "bodyCrc32", o->bad_crc ? (crc ^ 0x55) : crc);
    req.body = buf_view(&body);
    call(cli, ns_addr, &req, resp);
    rcmd_deinit(&req);
    buf_deinit(&body);
    return resp->cmd.code;
}

static int get_route(struct rclient *cli, const char *addr, const char *topic, struct rresp *resp)
{
    return simple_call(cli, addr, RC_GET_ROUTEINFO_BY_TOPIC, resp, "topic", topic, NULL);
}

/* Polls until the topic has no route, up to timeout_ms; returns the wait. */
static int64_t wait_route_gone(struct rclient *cli, const char *addr, const char *topic,
                               int timeout_ms)
{
    int64_t start = clock_mono_ms();
    for (;;) {
        struct rresp resp;
        int code = get_route(cli, addr, topic, &resp);
        rresp_deinit(&resp);
        if (code == RESP_TOPIC_NOT_EXIST)
            return clock_mono_ms() - start;
        if (clock_mono_ms() - start > timeout_ms)
            return -1;
        usleep(20 * 1000);
    }
}

TEST(register_then_route)
{
    struct fixture f;
    setup(&f, 0, 0);
    struct rresp resp;
    struct reg_opts o = {0};
    ASSERT_EQ(register_broker(f.cli, f.addr, &o, &resp), RESP_SUCCESS);
    ASSERT(!rcmd_has(&resp.cmd, "masterAddr"));
    ASSERT(!rcmd_has(&resp.cmd, "haServerAddr"));
    rresp_deinit(&resp);

    ASSERT_EQ(get_route(f.cli, f.addr, "TopicTest", &resp), RESP_SUCCESS);
    ASSERT_BYTES_EQ(resp.cmd.body, SPEC_ROUTE);
    rresp_deinit(&resp);
    ASSERT_EQ(get_route(f.cli, f.addr, "TBW102", &resp), RESP_SUCCESS);
    arena_t a;
    arena_init(&a);
    struct route_topic_route r;
    ASSERT_EQ(route_decode_topic_route(resp.cmd.body, &a, &r), TERN_OK);
    ASSERT_EQ(r.nqueues, 1);
    ASSERT_EQ(r.queues[0].perm, 7);
    ASSERT_EQ(r.queues[0].read_queue_nums, 8);
    ASSERT_STR_EQ(r.brokers[0].addrs[0].addr, "10.0.0.1:10911");
    arena_deinit(&a);
    rresp_deinit(&resp);

    ASSERT_EQ(get_route(f.cli, f.addr, "NoSuchTopic", &resp), RESP_TOPIC_NOT_EXIST);
    ASSERT(resp.cmd.has_remark);
    ASSERT_BYTES_EQ(resp.cmd.remark, "No topic route info in name server for the topic: "
                                     "NoSuchTopic");
    ASSERT_EQ(resp.cmd.body.len, 0);
    rresp_deinit(&resp);
    teardown(&f);
}

TEST(bad_crc_is_rejected)
{
    struct fixture f;
    setup(&f, 0, 0);
    struct rresp resp;
    struct reg_opts o = {.bad_crc = true};
    ASSERT_EQ(register_broker(f.cli, f.addr, &o, &resp), RESP_SYSTEM_ERROR);
    ASSERT_BYTES_EQ(resp.cmd.remark, "crc32 not match");
    rresp_deinit(&resp);
    ASSERT_EQ(get_route(f.cli, f.addr, "TopicTest", &resp), RESP_TOPIC_NOT_EXIST);
    rresp_deinit(&resp);
    teardown(&f);
}

TEST(compressed_body)
{
    struct fixture f;
    setup(&f, 0, 0);
    struct rresp resp;
    struct reg_opts o = {.compressed = true};
    ASSERT_EQ(register_broker(f.cli, f.addr, &o, &resp), RESP_SUCCESS);
    rresp_deinit(&resp);
    ASSERT_EQ(get_route(f.cli, f.addr, "TopicTest", &resp), RESP_SUCCESS);
    ASSERT_BYTES_EQ(resp.cmd.body, SPEC_ROUTE);
    rresp_deinit(&resp);
    teardown(&f);
}

TEST(cluster_info_and_topic_lists)
{
    struct fixture f;
    setup(&f, 0, 0);
    struct rresp resp;
    struct reg_opts o = {0};
    ASSERT_EQ(register_broker(f.cli, f.addr, &o, &resp), RESP_SUCCESS);
    rresp_deinit(&resp);

    ASSERT_EQ(simple_call(f.cli, f.addr, RC_GET_BROKER_CLUSTER_INFO, &resp, NULL), RESP_SUCCESS);
    ASSERT_BYTES_EQ(resp.cmd.body,
                    "{\"brokerAddrTable\":{\"broker-a\":{\"brokerAddrs\":{\"0\":\"10.0.0.1:"
                    "10911\"},\"brokerName\":\"broker-a\",\"cluster\":\"DefaultCluster\","
                    "\"enableActingMaster\":false}},\"clusterAddrTable\":{\"DefaultCluster\":["
                    "\"broker-a\"]}}");
    rresp_deinit(&resp);
    ASSERT_EQ(simple_call(f.cli, f.addr, RC_GET_ALL_TOPIC_LIST_FROM_NAMESERVER, &resp, NULL),
              RESP_SUCCESS);
    ASSERT_BYTES_EQ(resp.cmd.body, "{\"topicList\":[\"TBW102\",\"TopicTest\"]}");
    rresp_deinit(&resp);
    ASSERT_EQ(simple_call(f.cli, f.addr, RC_GET_TOPICS_BY_CLUSTER, &resp, "cluster",
                          "DefaultCluster", NULL),
              RESP_SUCCESS);
    ASSERT_BYTES_EQ(resp.cmd.body, "{\"topicList\":[\"TBW102\",\"TopicTest\"]}");
    rresp_deinit(&resp);
    ASSERT_EQ(simple_call(f.cli, f.addr, RC_GET_SYSTEM_TOPIC_LIST_FROM_NS, &resp, NULL),
              RESP_SUCCESS);
    ASSERT_BYTES_EQ(resp.cmd.body, "{\"brokerAddr\":\"10.0.0.1:10911\",\"topicList\":["
                                   "\"DefaultCluster\",\"broker-a\"]}");
    rresp_deinit(&resp);
    teardown(&f);
}

TEST(kv_config)
{
    struct fixture f;
    setup(&f, 0, 0);
    struct rresp resp;
    ASSERT_EQ(
        simple_call(f.cli, f.addr, RC_GET_KV_CONFIG, &resp, "namespace", "NS", "key", "k", NULL),
        RESP_QUERY_NOT_FOUND);
    ASSERT_BYTES_EQ(resp.cmd.remark, "No config item, Namespace: NS Key: k");
    rresp_deinit(&resp);
    ASSERT_EQ(simple_call(f.cli, f.addr, RC_PUT_KV_CONFIG, &resp, "namespace", "NS", "key", "k",
                          "value", "v1", NULL),
              RESP_SUCCESS);
    rresp_deinit(&resp);
    ASSERT_EQ(
        simple_call(f.cli, f.addr, RC_GET_KV_CONFIG, &resp, "namespace", "NS", "key", "k", NULL),
        RESP_SUCCESS);
    ASSERT_BYTES_EQ(rcmd_get(&resp.cmd, "value"), "v1");
    rresp_deinit(&resp);
    ASSERT_EQ(
        simple_call(f.cli, f.addr, RC_GET_KVLIST_BY_NAMESPACE, &resp, "namespace", "NS", NULL),
        RESP_SUCCESS);
    ASSERT_BYTES_EQ(resp.cmd.body, "{\"table\":{\"k\":\"v1\"}}");
    rresp_deinit(&resp);
    ASSERT_EQ(
        simple_call(f.cli, f.addr, RC_DELETE_KV_CONFIG, &resp, "namespace", "NS", "key", "k", NULL),
        RESP_SUCCESS);
    rresp_deinit(&resp);
    ASSERT_EQ(
        simple_call(f.cli, f.addr, RC_GET_KV_CONFIG, &resp, "namespace", "NS", "key", "k", NULL),
        RESP_QUERY_NOT_FOUND);
    rresp_deinit(&resp);
    ASSERT_EQ(
        simple_call(f.cli, f.addr, RC_GET_KVLIST_BY_NAMESPACE, &resp, "namespace", "NS", NULL),
        RESP_QUERY_NOT_FOUND);
    rresp_deinit(&resp);
    ASSERT_EQ(simple_call(f.cli, f.addr, RC_PUT_KV_CONFIG, &resp, "namespace", "NS", NULL),
              RESP_SYSTEM_ERROR);
    ASSERT_BYTES_EQ(resp.cmd.remark, "namespace or key is null");
    rresp_deinit(&resp);

    /* ORDER_TOPIC_CONFIG comes back in the REGISTER_BROKER response body. */
    ASSERT_EQ(simple_call(f.cli, f.addr, RC_PUT_KV_CONFIG, &resp, "namespace", "ORDER_TOPIC_CONFIG",
                          "key", "TopicTest", "value", "broker-a:4", NULL),
              RESP_SUCCESS);
    rresp_deinit(&resp);
    struct reg_opts o = {0};
    ASSERT_EQ(register_broker(f.cli, f.addr, &o, &resp), RESP_SUCCESS);
    ASSERT_BYTES_EQ(resp.cmd.body, "{\"table\":{\"TopicTest\":\"broker-a:4\"}}");
    rresp_deinit(&resp);
    teardown(&f);
}

TEST(unregister_removes_route)
{
    struct fixture f;
    setup(&f, 0, 0);
    struct rresp resp;
    struct reg_opts o = {0};
    ASSERT_EQ(register_broker(f.cli, f.addr, &o, &resp), RESP_SUCCESS);
    rresp_deinit(&resp);
    ASSERT_EQ(get_route(f.cli, f.addr, "TopicTest", &resp), RESP_SUCCESS);
    rresp_deinit(&resp);
    ASSERT_EQ(simple_call(f.cli, f.addr, RC_UNREGISTER_BROKER, &resp, "brokerName", "broker-a",
                          "brokerAddr", "10.0.0.1:10911", "clusterName", "DefaultCluster",
                          "brokerId", "0", NULL),
              RESP_SUCCESS);
    rresp_deinit(&resp);
    ASSERT_EQ(get_route(f.cli, f.addr, "TopicTest", &resp), RESP_TOPIC_NOT_EXIST);
    rresp_deinit(&resp);
    ASSERT_EQ(simple_call(f.cli, f.addr, RC_GET_BROKER_CLUSTER_INFO, &resp, NULL), RESP_SUCCESS);
    ASSERT_BYTES_EQ(resp.cmd.body, "{\"brokerAddrTable\":{},\"clusterAddrTable\":{}}");
    rresp_deinit(&resp);
    teardown(&f);
}

TEST(broker_expires)
{
    struct fixture f;
    setup(&f, 300, 100);
    struct rresp resp;
    struct reg_opts o = {0};
    int64_t t0 = clock_mono_ms();
    ASSERT_EQ(register_broker(f.cli, f.addr, &o, &resp), RESP_SUCCESS);
    rresp_deinit(&resp);
    ASSERT_EQ(get_route(f.cli, f.addr, "TopicTest", &resp), RESP_SUCCESS);
    rresp_deinit(&resp);
    ASSERT(wait_route_gone(f.cli, f.addr, "TopicTest", 3000) >= 0);
    ASSERT(clock_mono_ms() - t0 >= 300);
    teardown(&f);
}

TEST(heartbeat_keeps_broker_alive)
{
    struct fixture f;
    setup(&f, 400, 50);
    struct rresp resp;
    struct reg_opts o = {0};
    ASSERT_EQ(register_broker(f.cli, f.addr, &o, &resp), RESP_SUCCESS);
    rresp_deinit(&resp);
    for (int i = 0; i < 8; i++) { /* 800 ms, twice the expiry */
        usleep(100 * 1000);
        ASSERT_EQ(simple_call(f.cli, f.addr, RC_BROKER_HEARTBEAT, &resp, "clusterName",
                              "DefaultCluster", "brokerAddr", "10.0.0.1:10911", "brokerName",
                              "broker-a", NULL),
                  RESP_SUCCESS);
        rresp_deinit(&resp);
    }
    ASSERT_EQ(get_route(f.cli, f.addr, "TopicTest", &resp), RESP_SUCCESS);
    rresp_deinit(&resp);
    teardown(&f);
}

TEST(connection_close_removes_broker)
{
    struct fixture f;
    setup(&f, 0, 0);
    struct rclient *broker_cli;
    struct rclient_opts opts;
    memset(&opts, 0, sizeof opts);
    ASSERT_EQ(rclient_new(&opts, &broker_cli), TERN_OK);
    struct rresp resp;
    struct reg_opts o = {0};
    ASSERT_EQ(register_broker(broker_cli, f.addr, &o, &resp), RESP_SUCCESS);
    rresp_deinit(&resp);
    ASSERT_EQ(get_route(f.cli, f.addr, "TopicTest", &resp), RESP_SUCCESS);
    rresp_deinit(&resp);
    rclient_free(broker_cli); /* closes the registering connection */
    ASSERT(wait_route_gone(f.cli, f.addr, "TopicTest", 3000) >= 0);
    teardown(&f);
}

TEST(slave_learns_master)
{
    struct fixture f;
    setup(&f, 0, 0);
    struct rresp resp;
    struct reg_opts master = {0};
    struct reg_opts slave = {.addr = "10.0.0.2:10911", .id = 1};
    ASSERT_EQ(register_broker(f.cli, f.addr, &master, &resp), RESP_SUCCESS);
    rresp_deinit(&resp);
    ASSERT_EQ(register_broker(f.cli, f.addr, &slave, &resp), RESP_SUCCESS);
    ASSERT_BYTES_EQ(rcmd_get(&resp.cmd, "masterAddr"), "10.0.0.1:10911");
    ASSERT_BYTES_EQ(rcmd_get(&resp.cmd, "haServerAddr"), "10.0.0.1:10912");
    rresp_deinit(&resp);
    ASSERT_EQ(get_route(f.cli, f.addr, "TopicTest", &resp), RESP_SUCCESS);
    arena_t a;
    arena_init(&a);
    struct route_topic_route r;
    ASSERT_EQ(route_decode_topic_route(resp.cmd.body, &a, &r), TERN_OK);
    ASSERT_EQ(r.brokers[0].naddrs, 2);
    ASSERT_EQ(r.brokers[0].addrs[1].id, 1);
    arena_deinit(&a);
    rresp_deinit(&resp);
    teardown(&f);
}

TEST(write_perm_and_topic_maintenance)
{
    struct fixture f;
    setup(&f, 0, 0);
    struct rresp resp;
    struct reg_opts o = {0};
    ASSERT_EQ(register_broker(f.cli, f.addr, &o, &resp), RESP_SUCCESS);
    rresp_deinit(&resp);
    ASSERT_EQ(simple_call(f.cli, f.addr, RC_WIPE_WRITE_PERM_OF_BROKER, &resp, "brokerName",
                          "broker-a", NULL),
              RESP_SUCCESS);
    ASSERT_BYTES_EQ(rcmd_get(&resp.cmd, "wipeTopicCount"), "2");
    rresp_deinit(&resp);
    ASSERT_EQ(get_route(f.cli, f.addr, "TopicTest", &resp), RESP_SUCCESS);
    ASSERT(memmem(resp.cmd.body.ptr, resp.cmd.body.len, "\"perm\":4", 8) != NULL);
    rresp_deinit(&resp);
    ASSERT_EQ(simple_call(f.cli, f.addr, RC_ADD_WRITE_PERM_OF_BROKER, &resp, "brokerName",
                          "broker-a", NULL),
              RESP_SUCCESS);
    ASSERT_BYTES_EQ(rcmd_get(&resp.cmd, "addTopicCount"), "2");
    rresp_deinit(&resp);

    /* REGISTER_TOPIC_IN_NAMESRV with a TopicRouteData body, then delete it. */
    struct route_queue_data qd = {"broker-a", 2, 2, 6, 0};
    struct route_topic_route route = {1, &qd, 0, NULL, NULL};
    buf_t body;
    buf_init(&body);
    route_encode_topic_route(&body, &route);
    struct rcmd req;
    rcmd_init(&req);
    req.code = RC_REGISTER_TOPIC_IN_NAMESRV;
    rcmd_add_cstr(&req, "topic", "NewTopic");
    req.body = buf_view(&body);
    call(f.cli, f.addr, &req, &resp);
    ASSERT_EQ(resp.cmd.code, RESP_SUCCESS);
    rresp_deinit(&resp);
    rcmd_deinit(&req);
    buf_deinit(&body);
    ASSERT_EQ(get_route(f.cli, f.addr, "NewTopic", &resp), RESP_SUCCESS);
    ASSERT(memmem(resp.cmd.body.ptr, resp.cmd.body.len, "\"readQueueNums\":2", 17) != NULL);
    rresp_deinit(&resp);
    ASSERT_EQ(
        simple_call(f.cli, f.addr, RC_DELETE_TOPIC_IN_NAMESRV, &resp, "topic", "NewTopic", NULL),
        RESP_SUCCESS);
    rresp_deinit(&resp);
    ASSERT_EQ(get_route(f.cli, f.addr, "NewTopic", &resp), RESP_TOPIC_NOT_EXIST);
    rresp_deinit(&resp);
    teardown(&f);
}

TEST(query_data_version)
{
    struct fixture f;
    setup(&f, 0, 0);
    struct rresp resp;
    struct reg_opts o = {.counter = 5};
    ASSERT_EQ(register_broker(f.cli, f.addr, &o, &resp), RESP_SUCCESS);
    rresp_deinit(&resp);
    const char *dvs[] = {"{\"counter\":5,\"stateVersion\":0,\"timestamp\":1700000000000}",
                         "{\"counter\":6,\"stateVersion\":0,\"timestamp\":1700000000000}"};
    for (int i = 0; i < 2; i++) {
        struct rcmd req;
        rcmd_init(&req);
        req.code = RC_QUERY_DATA_VERSION;
        rcmd_add_cstr(&req, "brokerName", "broker-a");
        rcmd_add_cstr(&req, "brokerAddr", "10.0.0.1:10911");
        rcmd_add_cstr(&req, "clusterName", "DefaultCluster");
        rcmd_add_cstr(&req, "brokerId", "0");
        req.body = tern_cstr(dvs[i]);
        call(f.cli, f.addr, &req, &resp);
        ASSERT_EQ(resp.cmd.code, RESP_SUCCESS);
        ASSERT_BYTES_EQ(rcmd_get(&resp.cmd, "changed"), i == 0 ? "false" : "true");
        ASSERT_BYTES_EQ(resp.cmd.body, dvs[0]);
        rresp_deinit(&resp);
        rcmd_deinit(&req);
    }
    teardown(&f);
}

TEST(missing_fields_and_unknown_codes)
{
    struct fixture f;
    setup(&f, 0, 0);
    struct rresp resp;
    ASSERT_EQ(simple_call(f.cli, f.addr, RC_GET_ROUTEINFO_BY_TOPIC, &resp, NULL),
              RESP_INVALID_PARAMETER);
    ASSERT_BYTES_EQ(resp.cmd.remark, "the request header field topic is missing");
    rresp_deinit(&resp);
    ASSERT_EQ(simple_call(f.cli, f.addr, RC_REGISTER_BROKER, &resp, "brokerName", "b", "brokerAddr",
                          "1.2.3.4:5", "clusterName", "C", "haServerAddr", "1.2.3.4:6", NULL),
              RESP_INVALID_PARAMETER);
    ASSERT_BYTES_EQ(resp.cmd.remark, "the request header field brokerId is missing");
    rresp_deinit(&resp);
    ASSERT_EQ(simple_call(f.cli, f.addr, RC_REGISTER_BROKER, &resp, "brokerName", "b", "brokerAddr",
                          "1.2.3.4:5", "clusterName", "C", "haServerAddr", "1.2.3.4:6", "brokerId",
                          "x", NULL),
              RESP_INVALID_PARAMETER);
    rresp_deinit(&resp);
    ASSERT_EQ(simple_call(f.cli, f.addr, RC_GET_TOPICS_BY_CLUSTER, &resp, NULL),
              RESP_INVALID_PARAMETER);
    rresp_deinit(&resp);
    ASSERT_EQ(simple_call(f.cli, f.addr, RC_WIPE_WRITE_PERM_OF_BROKER, &resp, NULL),
              RESP_INVALID_PARAMETER);
    rresp_deinit(&resp);
    ASSERT_EQ(simple_call(f.cli, f.addr, RC_SEND_MESSAGE, &resp, NULL),
              RESP_REQUEST_CODE_NOT_SUPPORTED);
    rresp_deinit(&resp);

    /* A malformed body is refused without disturbing the table. */
    struct rcmd req;
    rcmd_init(&req);
    req.code = RC_REGISTER_BROKER;
    rcmd_add_cstr(&req, "brokerName", "b");
    rcmd_add_cstr(&req, "brokerAddr", "1.2.3.4:5");
    rcmd_add_cstr(&req, "clusterName", "C");
    rcmd_add_cstr(&req, "haServerAddr", "1.2.3.4:6");
    rcmd_add_cstr(&req, "brokerId", "0");
    req.body = tern_cstr("{\"topicConfigSerializeWrapper\":{\"topicConfigTable\":{\"T\":7}}}");
    call(f.cli, f.addr, &req, &resp);
    ASSERT_EQ(resp.cmd.code, RESP_SYSTEM_ERROR);
    rresp_deinit(&resp);
    rcmd_deinit(&req);
    ASSERT_EQ(simple_call(f.cli, f.addr, RC_GET_BROKER_CLUSTER_INFO, &resp, NULL), RESP_SUCCESS);
    ASSERT_BYTES_EQ(resp.cmd.body, "{\"brokerAddrTable\":{},\"clusterAddrTable\":{}}");
    rresp_deinit(&resp);
    teardown(&f);
}

TEST(stop_null_and_bad_config)
{
    namesrv_stop(NULL);
    struct namesrv_config cfg;
    namesrv_config_defaults(&cfg);
    ASSERT_EQ(cfg.port, 9876);
    ASSERT_EQ(cfg.broker_expire_ms, 120000);
    cfg.io_threads = 0;
    struct namesrv *ns = NULL;
    ASSERT_EQ(namesrv_start(&cfg, &ns), TERN_ECONFIG);
}

TEST_MAIN()
