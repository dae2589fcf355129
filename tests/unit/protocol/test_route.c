/* SPDX-License-Identifier: Apache-2.0 */
/* test_route.c: name-server JSON bodies (protocol/route.c): exact encoder
 * output for the spec §6 examples, decoding of standard and fastjson
 * dialects, RegisterBrokerBody (plain, bare wrapper, compressed) and the
 * error paths. */
#include <string.h>
#include <zlib.h>

#include "harness.h"
#include "protocol/route.h"

static const char SPEC_ROUTE[] =
    "{\"brokerDatas\":[{\"brokerAddrs\":{\"0\":\"10.0.0.1:10911\"},\"brokerName\":\"broker-a\","
    "\"cluster\":\"DefaultCluster\",\"enableActingMaster\":false}],\"filterServerTable\":{},"
    "\"queueDatas\":[{\"brokerName\":\"broker-a\",\"perm\":6,\"readQueueNums\":4,"
    "\"topicSysFlag\":0,\"writeQueueNums\":4}]}";

static const char SPEC_REGISTER[] =
    "{\"filterServerList\":[],\n"
    " \"topicConfigSerializeWrapper\":{\n"
    "   \"dataVersion\":{\"counter\":12,\"stateVersion\":0,\"timestamp\":1700000000000},\n"
    "   \"topicConfigTable\":{\n"
    "     \"TopicTest\":{\"attributes\":{},\"order\":false,\"perm\":6,\"readQueueNums\":4,\n"
    "                  \"topicFilterType\":\"SINGLE_TAG\",\"topicName\":\"TopicTest\","
    "\"topicSysFlag\":0,\"writeQueueNums\":4},\n"
    "     \"TBW102\":{\"attributes\":{},\"order\":false,\"perm\":7,\"readQueueNums\":8,\n"
    "               \"topicFilterType\":\"SINGLE_TAG\",\"topicName\":\"TBW102\","
    "\"topicSysFlag\":0,\"writeQueueNums\":8}},\n"
    "   \"topicQueueMappingInfoMap\":{},\n"
    "   \"topicQueueMappingDetailMap\":{},\n"
    "   \"mappingDataVersion\":{\"counter\":0,\"stateVersion\":0,\"timestamp\":1700000000000}}}";

static const struct route_topic_config *find_topic(const struct route_register_body *rb,
                                                   const char *name)
{
    for (size_t i = 0; i < rb->ntopics; i++)
        if (strcmp(rb->topics[i].name, name) == 0)
            return &rb->topics[i];
    return NULL;
}

TEST(encode_topic_route_spec_example)
{
    struct route_broker_addr addr = {0, "10.0.0.1:10911"};
    struct route_broker_data bd = {"DefaultCluster", "broker-a", 1, &addr, false, NULL};
    struct route_queue_data qd = {"broker-a", 4, 4, 6, 0};
    struct route_topic_route r = {1, &qd, 1, &bd, NULL};
    buf_t out;
    buf_init(&out);
    route_encode_topic_route(&out, &r);
    ASSERT_BYTES_EQ(buf_view(&out), SPEC_ROUTE);
    buf_deinit(&out);
}

TEST(decode_topic_route_round_trip)
{
    arena_t a;
    arena_init(&a);
    struct route_topic_route r;
    ASSERT_EQ(route_decode_topic_route(tern_cstr(SPEC_ROUTE), &a, &r), TERN_OK);
    ASSERT_EQ(r.nqueues, 1);
    ASSERT_STR_EQ(r.queues[0].broker_name, "broker-a");
    ASSERT_EQ(r.queues[0].read_queue_nums, 4);
    ASSERT_EQ(r.queues[0].write_queue_nums, 4);
    ASSERT_EQ(r.queues[0].perm, 6);
    ASSERT_EQ(r.nbrokers, 1);
    ASSERT_STR_EQ(r.brokers[0].cluster, "DefaultCluster");
    ASSERT_EQ(r.brokers[0].naddrs, 1);
    ASSERT_EQ(r.brokers[0].addrs[0].id, 0);
    ASSERT_STR_EQ(r.brokers[0].addrs[0].addr, "10.0.0.1:10911");
    ASSERT(r.order_topic_conf == NULL);
    buf_t out;
    buf_init(&out);
    route_encode_topic_route(&out, &r);
    ASSERT_BYTES_EQ(buf_view(&out), SPEC_ROUTE);
    buf_deinit(&out);
    arena_deinit(&a);
}

TEST(decode_topic_route_fastjson_dialect)
{
    /* Unquoted integer keys, the pre-4.9 topicSynFlag spelling, orderTopicConf. */
    const char *text = "{\"brokerDatas\":[{\"brokerAddrs\":{0:\"10.0.0.1:10911\",1:\"10.0.0.2:"
                       "10911\"},\"brokerName\":\"broker-a\",\"cluster\":\"C\"}],"
                       "\"orderTopicConf\":\"broker-a:4\",\"queueDatas\":[{\"brokerName\":"
                       "\"broker-a\",\"perm\":6,\"readQueueNums\":4,\"topicSynFlag\":3,"
                       "\"writeQueueNums\":2}]}\n";
    arena_t a;
    arena_init(&a);
    struct route_topic_route r;
    ASSERT_EQ(route_decode_topic_route(tern_cstr(text), &a, &r), TERN_OK);
    ASSERT_EQ(r.brokers[0].naddrs, 2);
    ASSERT_EQ(r.brokers[0].addrs[1].id, 1);
    ASSERT_STR_EQ(r.brokers[0].addrs[1].addr, "10.0.0.2:10911");
    ASSERT_EQ(r.queues[0].topic_sys_flag, 3);
    ASSERT_EQ(r.queues[0].write_queue_nums, 2);
    ASSERT_STR_EQ(r.order_topic_conf, "broker-a:4");
    arena_deinit(&a);
}

TEST(decode_topic_route_errors)
{
    const char *bad[] = {
        "",
        "[]",
        "{\"queueDatas\":{}}",
        "{\"queueDatas\":[{\"perm\":6}]}",
        "{\"queueDatas\":[{\"brokerName\":7}]}",
        "{\"queueDatas\":[{\"brokerName\":\"b\",\"perm\":99999999999}]}",
        "{\"brokerDatas\":[{\"brokerName\":\"b\",\"brokerAddrs\":{\"x\":\"a:1\"}}]}",
        "{\"brokerDatas\":[{\"brokerName\":\"b\",\"brokerAddrs\":{\"-1\":\"a:1\"}}]}",
        "{\"brokerDatas\":[{\"brokerName\":\"b\",\"brokerAddrs\":{\"0\":5}}]}",
        "{\"brokerDatas\":[{\"brokerName\":\"b\",\"brokerAddrs\":{\"0\":\"a\\u0000b\"}}]}",
        "{\"queueDatas\":[]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        arena_t a;
        arena_init(&a);
        struct route_topic_route r;
        int rc = route_decode_topic_route(tern_cstr(bad[i]), &a, &r);
        arena_deinit(&a);
        if (rc == TERN_OK)
            TEST_FAIL_("accepted bad route #%zu: %s", i, bad[i]);
    }
}

TEST(decode_register_body_spec_example)
{
    arena_t a;
    arena_init(&a);
    struct route_register_body rb;
    ASSERT_EQ(route_decode_register_body(tern_cstr(SPEC_REGISTER), &a, &rb), TERN_OK);
    ASSERT_EQ(rb.data_version.counter, 12);
    ASSERT_EQ(rb.data_version.timestamp, 1700000000000LL);
    ASSERT_EQ(rb.ntopics, 2);
    const struct route_topic_config *t = find_topic(&rb, "TopicTest");
    ASSERT(t != NULL);
    ASSERT_EQ(t->read_queue_nums, 4);
    ASSERT_EQ(t->write_queue_nums, 4);
    ASSERT_EQ(t->perm, 6);
    ASSERT_STR_EQ(t->filter_type, "SINGLE_TAG");
    t = find_topic(&rb, "TBW102");
    ASSERT(t != NULL);
    ASSERT_EQ(t->perm, 7);
    ASSERT_EQ(t->read_queue_nums, 8);
    arena_deinit(&a);
}

TEST(decode_register_body_fastjson_quirks)
{
    /* Unquoted integer keys in a map we do not use, numbers as strings, a
     * missing attributes/topicName, a null member and CPP's trailing newline. */
    const char *body =
        "{\"filterServerList\":[],\"topicConfigSerializeWrapper\":{\"dataVersion\":{"
        "\"counter\":\"3\",\"timestamp\":1700000000001},\"topicConfigTable\":{\"T1\":{"
        "\"order\":true,\"perm\":6,\"readQueueNums\":\"2\",\"topicFilterType\":null,"
        "\"topicSysFlag\":1,\"writeQueueNums\":2},\"T2\":{}},\"topicQueueMappingInfoMap\":{0:{"
        "\"bname\":\"b\",\"currIdMap\":{1:2}}}}}\n";
    arena_t a;
    arena_init(&a);
    struct route_register_body rb;
    ASSERT_EQ(route_decode_register_body(tern_cstr(body), &a, &rb), TERN_OK);
    ASSERT_EQ(rb.data_version.counter, 3);
    ASSERT_EQ(rb.ntopics, 2);
    const struct route_topic_config *t = find_topic(&rb, "T1");
    ASSERT(t != NULL);
    ASSERT_EQ(t->read_queue_nums, 2);
    ASSERT_EQ(t->topic_sys_flag, 1);
    ASSERT(t->order);
    ASSERT_STR_EQ(t->filter_type, "SINGLE_TAG");
    t = find_topic(&rb, "T2"); /* Java TopicConfig defaults */
    ASSERT(t != NULL);
    ASSERT_EQ(t->read_queue_nums, 16);
    ASSERT_EQ(t->write_queue_nums, 16);
    ASSERT_EQ(t->perm, 6);
    arena_deinit(&a);
}

TEST(decode_register_body_bare_wrapper_and_empty)
{
    const char *bare = "{\"dataVersion\":{\"counter\":1,\"timestamp\":5},\"topicConfigTable\":{"
                       "\"X\":{\"perm\":4,\"readQueueNums\":1,\"topicName\":\"X\","
                       "\"writeQueueNums\":1}}}";
    arena_t a;
    arena_init(&a);
    struct route_register_body rb;
    ASSERT_EQ(route_decode_register_body(tern_cstr(bare), &a, &rb), TERN_OK);
    ASSERT_EQ(rb.ntopics, 1);
    ASSERT_STR_EQ(rb.topics[0].name, "X");
    ASSERT_EQ(rb.data_version.timestamp, 5);
    ASSERT_EQ(route_decode_register_body(TERN_BYTES_NULL, &a, &rb), TERN_OK);
    ASSERT_EQ(rb.ntopics, 0);
    ASSERT_EQ(route_decode_register_body(tern_cstr(" \n"), &a, &rb), TERN_OK);
    ASSERT_EQ(rb.ntopics, 0);
    arena_deinit(&a);
}

TEST(decode_register_body_errors)
{
    const char *bad[] = {
        "{",
        "\"x\"",
        "{\"topicConfigSerializeWrapper\":[]}",
        "{\"topicConfigTable\":{\"T\":5}}",
        "{\"topicConfigTable\":{\"T\":{\"readQueueNums\":-1}}}",
        "{\"topicConfigTable\":{\"T\":{\"writeQueueNums\":100000}}}",
        "{\"topicConfigTable\":{\"T\":{\"perm\":\"rw\"}}}",
        "{\"topicConfigTable\":{\"T\":{\"topicName\":\"\"}}}",
        "{\"topicConfigTable\":{\"T\":{\"order\":[]}}}",
        "{\"dataVersion\":{\"counter\":\"x\"}}",
        "{\"dataVersion\":7}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        arena_t a;
        arena_init(&a);
        struct route_register_body rb;
        int rc = route_decode_register_body(tern_cstr(bad[i]), &a, &rb);
        arena_deinit(&a);
        if (rc == TERN_OK)
            TEST_FAIL_("accepted bad body #%zu: %s", i, bad[i]);
    }
    /* A name over the limit. */
    char body[600];
    char name[ROUTE_MAX_NAME_BYTES + 2];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    snprintf(body, sizeof body, "{\"topicConfigTable\":{\"%s\":{}}}", name);
    arena_t a;
    arena_init(&a);
    struct route_register_body rb;
    ASSERT_EQ(route_decode_register_body(tern_cstr(body), &a, &rb), TERN_EPROTOCOL);
    arena_deinit(&a);
}

TEST(register_body_encode_decode_round_trip)
{
    struct route_topic_config in[] = {
        {"TopicTest", 4, 4, 6, 0, false, "SINGLE_TAG"},
        {"TBW102", 8, 8, 7, 0, false, NULL},
        {"Ord\"er\\T", 2, 3, 4, 2, true, "MULTI_TAG"},
    };
    buf_t out;
    buf_init(&out);
    route_encode_register_body(&out, in, 3, 42, 1700000000000LL);
    arena_t a;
    arena_init(&a);
    struct route_register_body rb;
    ASSERT_EQ(route_decode_register_body(buf_view(&out), &a, &rb), TERN_OK);
    ASSERT_EQ(rb.data_version.counter, 42);
    ASSERT_EQ(rb.data_version.timestamp, 1700000000000LL);
    ASSERT_EQ(rb.ntopics, 3);
    for (size_t i = 0; i < 3; i++) {
        const struct route_topic_config *t = find_topic(&rb, in[i].name);
        ASSERT(t != NULL);
        ASSERT_EQ(t->read_queue_nums, in[i].read_queue_nums);
        ASSERT_EQ(t->write_queue_nums, in[i].write_queue_nums);
        ASSERT_EQ(t->perm, in[i].perm);
        ASSERT_EQ(t->topic_sys_flag, in[i].topic_sys_flag);
        ASSERT_EQ(t->order, in[i].order);
        ASSERT_STR_EQ(t->filter_type, in[i].filter_type ? in[i].filter_type : "SINGLE_TAG");
    }
    /* The encoder's output starts exactly like the spec example. */
    const char *prefix = "{\"filterServerList\":[],\"topicConfigSerializeWrapper\":{"
                         "\"dataVersion\":{\"counter\":42,\"stateVersion\":0,";
    ASSERT(out.len > strlen(prefix) && memcmp(out.data, prefix, strlen(prefix)) == 0);
    arena_deinit(&a);
    buf_deinit(&out);
}

static void put_chunk(buf_t *b, const char *s)
{
    buf_append_be32(b, (uint32_t)strlen(s));
    buf_append_cstr(b, s);
}

static void deflate_into(const buf_t *plain, buf_t *out)
{
    uLongf n = compressBound(plain->len);
    uint8_t *p = buf_reserve(out, n);
    ASSERT_EQ(compress(p, &n, plain->data, plain->len), Z_OK);
    out->len += n;
}

TEST(decode_register_body_compressed)
{
    buf_t plain, z;
    buf_init(&plain);
    buf_init(&z);
    put_chunk(&plain, "{\"counter\":9,\"stateVersion\":0,\"timestamp\":77}");
    buf_append_be32(&plain, 2);
    put_chunk(&plain, "TopicTest 4 4 6 SINGLE_TAG {}");
    put_chunk(&plain, "TBW102 8 8 7 SINGLE_TAG");
    put_chunk(&plain, "[]");
    deflate_into(&plain, &z);
    arena_t a;
    arena_init(&a);
    struct route_register_body rb;
    ASSERT_EQ(route_decode_register_body_compressed(buf_view(&z), &a, &rb), TERN_OK);
    ASSERT_EQ(rb.data_version.counter, 9);
    ASSERT_EQ(rb.ntopics, 2);
    ASSERT_STR_EQ(rb.topics[0].name, "TopicTest");
    ASSERT_EQ(rb.topics[0].read_queue_nums, 4);
    ASSERT_EQ(rb.topics[1].perm, 7);
    ASSERT_STR_EQ(rb.topics[1].filter_type, "SINGLE_TAG");
    /* Truncated stream, garbage, a short topic line, a huge count. */
    ASSERT(route_decode_register_body_compressed(tern_bytes(z.data, z.len - 3), &a, &rb) !=
           TERN_OK);
    ASSERT(route_decode_register_body_compressed(tern_cstr("not zlib"), &a, &rb) != TERN_OK);
    buf_reset(&plain);
    buf_reset(&z);
    put_chunk(&plain, "{}");
    buf_append_be32(&plain, 1);
    put_chunk(&plain, "T 4 4");
    deflate_into(&plain, &z);
    ASSERT_EQ(route_decode_register_body_compressed(buf_view(&z), &a, &rb), TERN_EPROTOCOL);
    buf_reset(&plain);
    buf_reset(&z);
    put_chunk(&plain, "{}");
    buf_append_be32(&plain, 0x7fffffff);
    deflate_into(&plain, &z);
    ASSERT_EQ(route_decode_register_body_compressed(buf_view(&z), &a, &rb), TERN_EPROTOCOL);
    arena_deinit(&a);
    buf_deinit(&plain);
    buf_deinit(&z);
}

TEST(encode_cluster_info_topic_list_kv_table)
{
    struct route_broker_addr addrs[] = {{0, "10.0.0.1:10911"}, {1, "10.0.0.2:10911"}};
    struct route_broker_data bd = {"DefaultCluster", "broker-a", 2, addrs, false, NULL};
    const char *names[] = {"broker-a"};
    struct route_cluster c = {"DefaultCluster", 1, names};
    buf_t out;
    buf_init(&out);
    route_encode_cluster_info(&out, &bd, 1, &c, 1);
    ASSERT_BYTES_EQ(buf_view(&out),
                    "{\"brokerAddrTable\":{\"broker-a\":{\"brokerAddrs\":{\"0\":\"10.0.0.1:"
                    "10911\",\"1\":\"10.0.0.2:10911\"},\"brokerName\":\"broker-a\",\"cluster\":"
                    "\"DefaultCluster\",\"enableActingMaster\":false}},\"clusterAddrTable\":{"
                    "\"DefaultCluster\":[\"broker-a\"]}}");
    buf_reset(&out);
    const char *topics[] = {"T1", "T2"};
    route_encode_topic_list(&out, topics, 2, NULL);
    ASSERT_BYTES_EQ(buf_view(&out), "{\"topicList\":[\"T1\",\"T2\"]}");
    buf_reset(&out);
    route_encode_topic_list(&out, topics, 0, "1.2.3.4:5");
    ASSERT_BYTES_EQ(buf_view(&out), "{\"brokerAddr\":\"1.2.3.4:5\",\"topicList\":[]}");
    buf_reset(&out);
    const char *keys[] = {"k1", "k2"}, *vals[] = {"v1", "a\"b"};
    route_encode_kv_table(&out, keys, vals, 2);
    ASSERT_BYTES_EQ(buf_view(&out), "{\"table\":{\"k1\":\"v1\",\"k2\":\"a\\\"b\"}}");
    buf_reset(&out);
    struct route_data_version dv = {7, 0, 1700000000000LL};
    route_encode_data_version(&out, &dv);
    ASSERT_BYTES_EQ(buf_view(&out),
                    "{\"counter\":7,\"stateVersion\":0,\"timestamp\":1700000000000}");
    arena_t a;
    arena_init(&a);
    struct route_data_version back;
    ASSERT_EQ(route_decode_data_version(buf_view(&out), &a, &back), TERN_OK);
    ASSERT_EQ(back.counter, 7);
    ASSERT_EQ(back.timestamp, 1700000000000LL);
    arena_deinit(&a);
    buf_deinit(&out);
}

TEST_MAIN()
