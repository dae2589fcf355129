/* SPDX-License-Identifier: Apache-2.0 */
/* test_routes.c: the route table alone (namesrv/routes.c), with explicit
 * times: registration, master/slave, data-version gating, expiry,
 * connection close, unregister, topic maintenance and write permission. */
#include <string.h>

#include "harness.h"
#include "namesrv/routes.h"

static struct route_topic_config g_topics[] = {
    {"TopicTest", 4, 4, 6, 0, false, "SINGLE_TAG"},
    {"TBW102", 8, 8, 7, 0, false, "SINGLE_TAG"},
};

static void reg(struct routes *r, const char *name, const char *addr, int64_t id, int64_t now,
                uint64_t conn, const struct route_register_body *body,
                struct routes_register_result *res)
{
    struct routes_register_req req = {
        .cluster = tern_cstr("DefaultCluster"),
        .broker_name = tern_cstr(name),
        .broker_addr = tern_cstr(addr),
        .ha_addr = tern_cstr("10.0.0.1:10912"),
        .zone_name = TERN_BYTES_NULL,
        .broker_id = id,
        .timeout_ms = 1000,
        .conn_id = conn,
        .body = body,
    };
    routes_register(r, &req, now, res);
}

static void reg_simple(struct routes *r, const char *name, const char *addr, int64_t id,
                       int64_t now, uint64_t conn)
{
    struct route_register_body body = {{1, 0, 100}, 2, g_topics};
    struct routes_register_result res;
    reg(r, name, addr, id, now, conn, &body, &res);
    routes_result_deinit(&res);
}

/* Returns the route JSON for topic, or "" when not found (static buffer). */
static const char *route_of(struct routes *r, const char *topic)
{
    static char text[4096];
    buf_t out;
    buf_init(&out);
    text[0] = '\0';
    if (routes_encode_topic_route(r, tern_cstr(topic), &out) == TERN_OK) {
        size_t n = out.len < sizeof text - 1 ? out.len : sizeof text - 1;
        memcpy(text, out.data, n);
        text[n] = '\0';
    }
    buf_deinit(&out);
    return text;
}

TEST(register_and_route)
{
    struct routes *r;
    ASSERT_EQ(routes_new(&r), TERN_OK);
    reg_simple(r, "broker-a", "10.0.0.1:10911", 0, 0, 1);
    ASSERT_STR_EQ(route_of(r, "TopicTest"),
                  "{\"brokerDatas\":[{\"brokerAddrs\":{\"0\":\"10.0.0.1:10911\"},\"brokerName\":"
                  "\"broker-a\",\"cluster\":\"DefaultCluster\",\"enableActingMaster\":false}],"
                  "\"filterServerTable\":{},\"queueDatas\":[{\"brokerName\":\"broker-a\","
                  "\"perm\":6,\"readQueueNums\":4,\"topicSysFlag\":0,\"writeQueueNums\":4}]}");
    ASSERT_STR_EQ(route_of(r, "Nope"), "");
    buf_t out;
    buf_init(&out);
    routes_encode_all_topics(r, &out);
    ASSERT_BYTES_EQ(buf_view(&out), "{\"topicList\":[\"TBW102\",\"TopicTest\"]}");
    buf_reset(&out);
    routes_encode_cluster_topics(r, tern_cstr("DefaultCluster"), &out);
    ASSERT_BYTES_EQ(buf_view(&out), "{\"topicList\":[\"TBW102\",\"TopicTest\"]}");
    buf_reset(&out);
    routes_encode_cluster_topics(r, tern_cstr("Other"), &out);
    ASSERT_BYTES_EQ(buf_view(&out), "{\"topicList\":[]}");
    buf_reset(&out);
    routes_encode_system_topics(r, &out);
    ASSERT_BYTES_EQ(buf_view(&out), "{\"brokerAddr\":\"10.0.0.1:10911\",\"topicList\":["
                                    "\"DefaultCluster\",\"broker-a\"]}");
    buf_deinit(&out);
    routes_free(r);
    routes_free(NULL);
}

TEST(slave_gets_master_and_cannot_change_queues)
{
    struct routes *r;
    ASSERT_EQ(routes_new(&r), TERN_OK);
    struct routes_register_result res;
    struct route_register_body body = {{1, 0, 100}, 2, g_topics};
    reg(r, "broker-a", "10.0.0.2:10911", 1, 0, 2, &body, &res);
    ASSERT(res.master_addr == NULL); /* no master yet */
    routes_result_deinit(&res);
    ASSERT_STR_EQ(route_of(r, "TopicTest"), ""); /* slaves never set queue data */
    reg(r, "broker-a", "10.0.0.1:10911", 0, 0, 1, &body, &res);
    ASSERT(res.master_addr == NULL); /* masters get nothing */
    routes_result_deinit(&res);
    struct route_topic_config other = {"SlaveOnly", 1, 1, 6, 0, false, NULL};
    struct route_register_body sbody = {{2, 0, 100}, 1, &other};
    reg(r, "broker-a", "10.0.0.2:10911", 1, 0, 2, &sbody, &res);
    ASSERT_STR_EQ(res.master_addr, "10.0.0.1:10911");
    ASSERT_STR_EQ(res.ha_addr, "10.0.0.1:10912");
    routes_result_deinit(&res);
    ASSERT_STR_EQ(route_of(r, "SlaveOnly"), "");
    ASSERT(strstr(route_of(r, "TopicTest"),
                  "\"brokerAddrs\":{\"0\":\"10.0.0.1:10911\",\"1\":\"10.0.0.2:10911\"}") != NULL);
    routes_free(r);
}

TEST(data_version_gates_queue_updates)
{
    struct routes *r;
    ASSERT_EQ(routes_new(&r), TERN_OK);
    reg_simple(r, "broker-a", "10.0.0.1:10911", 0, 0, 1);
    struct route_topic_config changed = {"TopicTest", 2, 2, 6, 0, false, NULL};
    struct route_register_body same_dv = {{1, 0, 100}, 1, &changed};
    struct routes_register_result res;
    reg(r, "broker-a", "10.0.0.1:10911", 0, 10, 1, &same_dv, &res);
    routes_result_deinit(&res);
    ASSERT(strstr(route_of(r, "TopicTest"), "\"readQueueNums\":4") != NULL);
    struct route_register_body new_dv = {{2, 0, 200}, 1, &changed};
    reg(r, "broker-a", "10.0.0.1:10911", 0, 20, 1, &new_dv, &res);
    routes_result_deinit(&res);
    ASSERT(strstr(route_of(r, "TopicTest"), "\"readQueueNums\":2") != NULL);

    struct route_data_version stored, dv = {2, 0, 200};
    bool has = false;
    ASSERT(!routes_query_data_version(r, tern_cstr("10.0.0.1:10911"), &dv, 30, &stored, &has));
    ASSERT(has);
    ASSERT_EQ(stored.counter, 2);
    dv.counter = 3;
    ASSERT(routes_query_data_version(r, tern_cstr("10.0.0.1:10911"), &dv, 30, &stored, &has));
    ASSERT(routes_query_data_version(r, tern_cstr("9.9.9.9:1"), &dv, 30, &stored, &has));
    ASSERT(!has);
    routes_free(r);
}

TEST(expiry_and_heartbeat)
{
    struct routes *r;
    ASSERT_EQ(routes_new(&r), TERN_OK);
    reg_simple(r, "broker-a", "10.0.0.1:10911", 0, 0, 1);
    reg_simple(r, "broker-b", "10.0.0.3:10911", 0, 0, 3);
    ASSERT_EQ(routes_expire(r, 1000), 0); /* timeout is 1000: not yet */
    ASSERT(routes_heartbeat(r, tern_cstr("10.0.0.3:10911"), 900));
    ASSERT(!routes_heartbeat(r, tern_cstr("1.1.1.1:1"), 900));
    ASSERT_EQ(routes_expire(r, 1001), 1); /* broker-a only */
    const char *route = route_of(r, "TopicTest");
    ASSERT(strstr(route, "broker-b") != NULL);
    ASSERT(strstr(route, "broker-a") == NULL);
    ASSERT_EQ(routes_expire(r, 1901), 1);
    ASSERT_STR_EQ(route_of(r, "TopicTest"), "");
    buf_t out;
    buf_init(&out);
    routes_encode_cluster_info(r, &out);
    ASSERT_BYTES_EQ(buf_view(&out), "{\"brokerAddrTable\":{},\"clusterAddrTable\":{}}");
    buf_deinit(&out);
    routes_free(r);
}

TEST(connection_close_and_unregister)
{
    struct routes *r;
    ASSERT_EQ(routes_new(&r), TERN_OK);
    reg_simple(r, "broker-a", "10.0.0.1:10911", 0, 0, 7);
    reg_simple(r, "broker-b", "10.0.0.3:10911", 0, 0, 8);
    ASSERT_EQ(routes_conn_closed(r, 99), 0);
    ASSERT_EQ(routes_conn_closed(r, 7), 1);
    ASSERT(strstr(route_of(r, "TopicTest"), "broker-a") == NULL);
    routes_unregister(r, tern_cstr("DefaultCluster"), tern_cstr("10.0.0.3:10911"),
                      tern_cstr("broker-b"), 0);
    ASSERT_STR_EQ(route_of(r, "TopicTest"), "");
    ASSERT_EQ(routes_expire(r, 1 << 30), 0); /* liveness went with it */
    routes_free(r);
}

TEST(topic_maintenance_and_write_perm)
{
    struct routes *r;
    ASSERT_EQ(routes_new(&r), TERN_OK);
    reg_simple(r, "broker-a", "10.0.0.1:10911", 0, 0, 1);
    ASSERT_EQ(routes_set_write_perm(r, tern_cstr("broker-a"), false), 2);
    ASSERT(strstr(route_of(r, "TopicTest"), "\"perm\":4") != NULL);
    ASSERT_EQ(routes_set_write_perm(r, tern_cstr("broker-a"), true), 2);
    ASSERT(strstr(route_of(r, "TopicTest"), "\"perm\":6") != NULL);
    ASSERT_EQ(routes_set_write_perm(r, tern_cstr("nobody"), true), 0);

    struct route_queue_data qd[] = {{"broker-a", 2, 2, 6, 0}, {"unknown", 1, 1, 6, 0}};
    ASSERT_EQ(routes_register_topic(r, tern_cstr("NewTopic"), qd, 2), 1);
    ASSERT(strstr(route_of(r, "NewTopic"), "\"readQueueNums\":2") != NULL);
    routes_delete_topic(r, tern_cstr("NewTopic"), tern_cstr("OtherCluster"));
    ASSERT(route_of(r, "NewTopic")[0] != '\0');
    routes_delete_topic(r, tern_cstr("NewTopic"), tern_cstr("DefaultCluster"));
    ASSERT_STR_EQ(route_of(r, "NewTopic"), "");
    routes_delete_topic(r, tern_cstr("TopicTest"), TERN_BYTES_NULL);
    ASSERT_STR_EQ(route_of(r, "TopicTest"), "");
    ASSERT(route_of(r, "TBW102")[0] != '\0');
    routes_free(r);
}

TEST(address_changing_id_drops_old_id)
{
    struct routes *r;
    ASSERT_EQ(routes_new(&r), TERN_OK);
    reg_simple(r, "broker-a", "10.0.0.1:10911", 1, 0, 1);
    reg_simple(r, "broker-a", "10.0.0.1:10911", 0, 0, 1);
    const char *route = route_of(r, "TopicTest");
    ASSERT(strstr(route, "\"brokerAddrs\":{\"0\":\"10.0.0.1:10911\"}") != NULL);
    routes_free(r);
}

TEST_MAIN()
