/* SPDX-License-Identifier: Apache-2.0 */
/* test_api.c: the SDK objects that need no broker: properties and their
 * parsing, messages and validation, exceptions, enumerations, send results,
 * signing primitives, not-supported factories and out-of-memory paths. */
#include <ons/ons.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#include "client/client_int.h"
#include "harness.h"

TEST_MAIN()

static ons_properties_t *base_props(void)
{
    ons_properties_t *p = ons_properties_new();
    ons_properties_put(p, ONS_NAMESRV_ADDR, "127.0.0.1:9876");
    ons_properties_put(p, ONS_GROUP_ID, "GID_test");
    ons_properties_put(p, ONS_ACCESS_KEY, "ak");
    ons_properties_put(p, ONS_SECRET_KEY, "sk");
    return p;
}

TEST(properties_case_insensitive)
{
    ons_properties_t *p = ons_properties_new();
    ASSERT_EQ(ons_properties_put(p, "ShardingKey", "a"), 0);
    ASSERT_STR_EQ(ons_properties_get(p, "shardingKey"), "a");
    ASSERT_STR_EQ(ons_properties_get(p, "SHARDINGKEY"), "a");
    ASSERT_EQ(ons_properties_put(p, "SHARDINGKEY", "b"), 0);
    ASSERT_STR_EQ(ons_properties_get(p, ONS_SHARDING_KEY), "b");
    ASSERT_EQ(ons_properties_put(p, "shardingkey", NULL), 0);
    ASSERT(ons_properties_get(p, ONS_SHARDING_KEY) == NULL);
    ASSERT_EQ(ons_properties_put(NULL, "a", "b"), -1);
    ons_properties_free(p);
    ons_properties_free(NULL);
}

static struct cl_config parse_ok(ons_properties_t *p, enum cl_kind kind)
{
    struct cl_config cfg;
    ons_exception_t *ex = NULL;
    if (cl_config_parse(&cfg, p, kind, &ex) != 0) {
        fprintf(stderr, "unexpected: %s\n", ons_exception_message(ex));
        ons_exception_free(ex);
        memset(&cfg, 0, sizeof cfg);
    }
    return cfg;
}

TEST(config_defaults_and_ranges)
{
    ons_properties_t *p = base_props();
    struct cl_config cfg = parse_ok(p, CL_CONSUMER);
    ASSERT_EQ(cfg.send_timeout_ms, 3000);
    ASSERT_EQ(cfg.consume_threads, 64);
    ASSERT_EQ(cfg.max_reconsume, 16);
    ASSERT_EQ(cfg.consume_timeout_min, 15);
    ASSERT_EQ(cfg.batch_max, 1);
    ASSERT_EQ(cfg.check_immunity_s, 30);
    ASSERT_EQ(cfg.suspend_ms, 3000);
    ASSERT(!cfg.broadcasting);
    ASSERT_STR_EQ(cfg.channel, "ALIYUN");
    ASSERT_STR_EQ(cfg.wire_group, "GID_test");
    cl_config_deinit(&cfg);
    const char *bad[][2] = {{"ConsumeThreadNums", "0"},
                            {"consumethreadnums", "1001"},
                            {"MaxReconsumeTimes", "-1"},
                            {"ConsumeTimeout", "x"},
                            {"ConsumeMessageBatchMaxSize", "33"},
                            {"SendMsgTimeoutMillis", "0"},
                            {"suspendTimeMillis", "5"},
                            {"MessageModel", "clustering"},
                            {"OnsChannel", "OTHER"},
                            {"CheckImmunityTimeInSeconds", "0"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ons_properties_t *q = base_props();
        ons_properties_put(q, bad[i][0], bad[i][1]);
        ons_exception_t *ex = NULL;
        ons_consumer_t *c = ons_factory_create_consumer(q, &ex);
        ASSERT(c == NULL);
        ASSERT_EQ(ons_exception_category(ex), ONS_ERR_ILLEGAL_ARGUMENT);
        ASSERT(strstr(ons_exception_message(ex), bad[i][0]) != NULL ||
               strcasestr(ons_exception_message(ex), bad[i][0]) != NULL);
        ons_exception_free(ex);
        ons_properties_free(q);
    }
    ons_properties_put(p, "MessageModel", "BROADCASTING");
    ons_properties_put(p, "ConsumeThreadNums", " 12 ");
    cfg = parse_ok(p, CL_CONSUMER);
    ASSERT(cfg.broadcasting);
    ASSERT_EQ(cfg.consume_threads, 12);
    cl_config_deinit(&cfg);
    ons_properties_free(p);
}

TEST(config_required_keys_and_groups)
{
    const char *required[] = {ONS_NAMESRV_ADDR, ONS_GROUP_ID, ONS_ACCESS_KEY, ONS_SECRET_KEY};
    for (size_t i = 0; i < 4; i++) {
        ons_properties_t *p = base_props();
        ons_properties_put(p, required[i], NULL);
        ons_exception_t *ex = NULL;
        ons_producer_t *pr = ons_factory_create_producer(p, &ex);
        ASSERT(pr == NULL);
        ASSERT(ex != NULL);
        ons_exception_free(ex);
        ons_properties_free(p);
    }
    /* Legacy keys; GROUP_ID wins over them. */
    ons_properties_t *p = base_props();
    ons_properties_put(p, ONS_GROUP_ID, NULL);
    ons_properties_put(p, ONS_PRODUCER_ID, "PID_old");
    ons_properties_put(p, ONS_CONSUMER_ID, "CID_old");
    struct cl_config cfg = parse_ok(p, CL_PRODUCER);
    ASSERT_STR_EQ(cfg.group, "PID_old");
    cl_config_deinit(&cfg);
    cfg = parse_ok(p, CL_CONSUMER);
    ASSERT_STR_EQ(cfg.group, "CID_old");
    cl_config_deinit(&cfg);
    ons_properties_put(p, ONS_GROUP_ID, "GID_new");
    cfg = parse_ok(p, CL_CONSUMER);
    ASSERT_STR_EQ(cfg.group, "GID_new");
    cl_config_deinit(&cfg);
    /* ONSAddr alone is reported as not supported. */
    ons_properties_put(p, ONS_NAMESRV_ADDR, NULL);
    ons_properties_put(p, ONS_ADDR, "http://example.invalid/ns");
    ons_exception_t *ex = NULL;
    ASSERT(ons_factory_create_producer(p, &ex) == NULL);
    ASSERT_EQ(ons_exception_category(ex), ONS_ERR_NOT_SUPPORTED);
    ons_exception_free(ex);
    ex = NULL;
    ons_properties_put(p, ONS_NAMESRV_ADDR, "127.0.0.1:9876");
    /* tls.enable (case-insensitive key) is parsed into the config. */
    ons_properties_put(p, "TLS.ENABLE", "TRUE");
    cfg = parse_ok(p, CL_PRODUCER);
    ASSERT(cfg.tls);
    cl_config_deinit(&cfg);
    ons_properties_put(p, "tls.enable", "false");
    cfg = parse_ok(p, CL_PRODUCER);
    ASSERT(!cfg.tls);
    cl_config_deinit(&cfg);
    ons_properties_put(p, "tls.enable", "maybe");
    ASSERT(ons_factory_create_producer(p, &ex) == NULL);
    ASSERT_EQ(ons_exception_category(ex), ONS_ERR_ILLEGAL_ARGUMENT);
    ons_exception_free(ex);
    ons_properties_free(p);
}

TEST(endpoints_and_namespace)
{
    ons_properties_t *p = base_props();
    ons_properties_put(p, ONS_NAMESRV_ADDR,
                       " MQ_INST_123_abc.10.0.0.1:9876 ; MQ_INST_123_abc.10.0.0.2:9876;");
    struct cl_config cfg = parse_ok(p, CL_PRODUCER);
    ASSERT_EQ(cfg.nns, 2);
    ASSERT_STR_EQ(cfg.ns_addrs[0], "10.0.0.1:9876");
    ASSERT_STR_EQ(cfg.ns_addrs[1], "10.0.0.2:9876");
    ASSERT_STR_EQ(cfg.name_space, "MQ_INST_123_abc");
    ASSERT_STR_EQ(cfg.wire_group, "MQ_INST_123_abc%GID_test");
    char *w = cl_ns_wrap(&cfg, "T");
    ASSERT_STR_EQ(w, "MQ_INST_123_abc%T");
    ASSERT_STR_EQ(cl_ns_strip(&cfg, w), "T");
    free(w);
    cl_config_deinit(&cfg);
    ons_properties_put(p, ONS_INSTANCE_ID, "MQ_INST_9_x");
    cfg = parse_ok(p, CL_PRODUCER);
    ASSERT_STR_EQ(cfg.name_space, "MQ_INST_9_x");
    cl_config_deinit(&cfg);
    ons_properties_put(p, ONS_INSTANCE_ID, NULL);
    ons_properties_put(p, ONS_NAMESRV_ADDR, "MQ_INST_1_a.h:1;MQ_INST_2_b.h:2");
    ons_exception_t *ex = NULL;
    ASSERT(ons_factory_create_producer(p, &ex) == NULL);
    ASSERT_EQ(ons_exception_category(ex), ONS_ERR_ILLEGAL_ARGUMENT);
    ons_exception_free(ex);
    ons_properties_free(p);
}

TEST(message_accessors_and_clone)
{
    ons_message_t *m = ons_message_new_with_key("T", "tag", "key", "body", 4);
    ASSERT_STR_EQ(ons_message_get_topic(m), "T");
    ASSERT_STR_EQ(ons_message_get_tag(m), "tag");
    ASSERT_STR_EQ(ons_message_get_key(m), "key");
    size_t len;
    ASSERT(memcmp(ons_message_get_body(m, &len), "body", 4) == 0);
    ASSERT_EQ(len, 4);
    ons_message_set_msg_id(m, "ID");
    ons_message_set_reconsume_times(m, 3);
    ons_message_set_born_timestamp(m, 1234);
    ons_message_set_born_host(m, "1.2.3.4:5");
    ons_message_set_start_deliver_time(m, 99);
    ons_message_set_sharding_key(m, "sk");
    ASSERT_EQ(ons_message_put_user_properties(m, "a", "1", NULL), 0);
    ASSERT_EQ(ons_message_put_user_properties(m, "b", "2", NULL), 0);
    ASSERT_EQ(ons_message_put_user_properties(m, "a", "3", NULL), 0);
    ons_message_t *c = ons_message_clone(m);
    ons_message_free(m);
    ASSERT_STR_EQ(ons_message_get_msg_id(c), "ID");
    ASSERT_EQ(ons_message_get_reconsume_times(c), 3);
    ASSERT_EQ(ons_message_get_born_timestamp(c), 1234);
    ASSERT_STR_EQ(ons_message_get_born_host(c), "1.2.3.4:5");
    ASSERT_EQ(ons_message_get_start_deliver_time(c), 99);
    ASSERT_STR_EQ(ons_message_get_sharding_key(c), "sk");
    ASSERT_EQ(ons_message_user_properties_count(c), 2);
    ASSERT_STR_EQ(ons_message_get_user_properties(c, "a"), "3");
    const char *k, *v;
    ASSERT_EQ(ons_message_user_property_at(c, 1, &k, &v), 0);
    ASSERT_STR_EQ(k, "b");
    ASSERT_EQ(ons_message_user_property_at(c, 2, &k, &v), -1);
    ASSERT(ons_message_get_user_properties(c, "zz") == NULL);
    ASSERT_EQ(ons_message_set_tag(c, NULL), 0);
    ASSERT(ons_message_get_tag(c) == NULL);
    ons_message_free(c);
    ons_message_t *e = ons_message_new_with_tag("T", "x", "ab", 2);
    ASSERT_STR_EQ(ons_message_get_tag(e), "x");
    ASSERT(ons_message_get_key(e) == NULL);
    ons_message_free(e);
    ons_message_free(NULL);
    ASSERT(ons_message_get_topic(NULL) == NULL);
}

TEST(user_property_rules)
{
    ons_message_t *m = ons_message_new();
    const char *reserved[] = {"TAGS",       "KEYS",        "UNIQ_KEY",
                              "DELAY",      "RETRY_TOPIC", "__STARTDELIVERTIME",
                              "__anything", "INSTANCE_ID", "CHECK_IMMUNITY_TIME_IN_SECONDS"};
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++) {
        ons_exception_t *ex = NULL;
        ASSERT_EQ(ons_message_put_user_properties(m, reserved[i], "v", &ex), -1);
        ASSERT_EQ(ons_exception_category(ex), ONS_ERR_ILLEGAL_ARGUMENT);
        ons_exception_free(ex);
    }
    ons_exception_t *ex = NULL;
    ASSERT_EQ(ons_message_put_user_properties(m, "k", "a\001b", &ex), -1);
    ons_exception_free(ex);
    ex = NULL;
    ASSERT_EQ(ons_message_put_user_properties(m, NULL, "v", &ex), -1);
    ASSERT_EQ(ons_exception_category(ex), ONS_ERR_NULL_POINTER);
    ons_exception_free(ex);
    ASSERT_EQ(ons_message_put_user_properties(m, "CheckImmunityTimeInSeconds", "5", NULL), 0);
    ASSERT_EQ(ons_message_user_properties_count(m), 1);
    ons_message_free(m);
}

static int validate(const ons_message_t *m, ons_error_category_t *cat)
{
    ons_exception_t *ex = NULL;
    int rc = cl_message_validate(m, 1000000, &ex);
    *cat = ons_exception_category(ex);
    ons_exception_free(ex);
    return rc;
}

TEST(message_validation)
{
    ons_error_category_t cat;
    ASSERT_EQ(validate(NULL, &cat), -1);
    ASSERT_EQ(cat, ONS_ERR_NULL_POINTER);
    ons_message_t *m = ons_message_new_with_tag("Topic_ok-1", "tag", "b", 1);
    ASSERT_EQ(validate(m, &cat), 0);
    ons_message_set_topic(m, "bad topic");
    ASSERT_EQ(validate(m, &cat), -1);
    ASSERT_EQ(cat, ONS_ERR_ILLEGAL_ARGUMENT);
    char longt[300];
    memset(longt, 'a', 256);
    longt[256] = '\0';
    ons_message_set_topic(m, longt);
    ASSERT_EQ(validate(m, &cat), -1);
    longt[255] = '\0';
    ons_message_set_topic(m, longt);
    ASSERT_EQ(validate(m, &cat), 0);
    ons_message_set_topic(m, NULL);
    ASSERT_EQ(validate(m, &cat), -1);
    ons_message_set_topic(m, "T");
    const char *bad_tags[] = {"a||b", "*", " a", "a "};
    for (size_t i = 0; i < 4; i++) {
        ons_message_set_tag(m, bad_tags[i]);
        ASSERT_EQ(validate(m, &cat), -1);
    }
    ons_message_set_tag(m, "ok");
    ons_message_set_body(m, "", 0);
    ASSERT_EQ(validate(m, &cat), -1);
    ons_message_set_body(m, "x", 1);
    ons_message_set_start_deliver_time(m, 1000000 + 40LL * 86400000);
    ASSERT_EQ(validate(m, &cat), 0);
    ons_message_set_start_deliver_time(m, 1000001 + 40LL * 86400000);
    ASSERT_EQ(validate(m, &cat), -1);
    ons_message_set_start_deliver_time(m, 5); /* past: deliver now */
    ASSERT_EQ(validate(m, &cat), 0);
    ons_message_free(m);
}

TEST(exceptions)
{
    ons_exception_t *e = ons_exception_new();
    ASSERT(ons_exception_message(e) == NULL);
    ASSERT_EQ(ons_exception_response_code(e), -1);
    ASSERT_EQ(ons_exception_category(e), ONS_ERR_GENERIC);
    ons_exception_t *c = ons_exception_new_cause(ons_exception_new_message("root"));
    ASSERT_STR_EQ(ons_exception_message(c), "root");
    ASSERT_STR_EQ(ons_exception_message(ons_exception_cause(c)), "root");
    ons_exception_t *mc = ons_exception_new_message_cause("outer", c);
    ASSERT_STR_EQ(ons_exception_message(mc), "outer");
    ASSERT(ons_exception_cause(mc) == c);
    ons_exception_free(mc);
    ons_exception_free(e);
    ons_exception_free(NULL);
    ons_exception_t *r = NULL;
    cl_raise_remote(&r, 17, tern_cstr("topic not exist"), "send");
    ASSERT_EQ(ons_exception_category(r), ONS_ERR_TOPIC_NOT_EXIST);
    ASSERT_EQ(ons_exception_response_code(r), 17);
    ASSERT_STR_EQ(ons_exception_remark(r), "topic not exist");
    ons_exception_free(r);
    ASSERT_STR_EQ(ons_error_category_name(ONS_ERR_FLOW_CONTROL), "FLOW_CONTROL");
}

TEST(enumerations)
{
    ons_action_t a = 0;
    ASSERT_EQ(ons_action_value_of("CommitMessage", &a, NULL), 0);
    ASSERT_EQ(a, ONS_ACTION_COMMIT_MESSAGE);
    ons_exception_t *ex = NULL;
    ASSERT_EQ(ons_action_value_of("commitMessage", &a, &ex), -1);
    ASSERT_EQ(ons_exception_category(ex), ONS_ERR_ILLEGAL_ARGUMENT);
    ons_exception_free(ex);
    ex = NULL;
    ASSERT_EQ(ons_action_value_of(NULL, &a, &ex), -1);
    ASSERT_EQ(ons_exception_category(ex), ONS_ERR_NULL_POINTER);
    ons_exception_free(ex);
    size_t n;
    const ons_action_t *all = ons_action_values(&n);
    ASSERT_EQ(n, 2);
    ASSERT_EQ(all[1], ONS_ACTION_RECONSUME_LATER);
    ASSERT_STR_EQ(ons_action_name(ONS_ACTION_RECONSUME_LATER), "ReconsumeLater");
    ons_order_action_t oa;
    ASSERT_EQ(ons_order_action_value_of("Suspend", &oa, NULL), 0);
    ASSERT_EQ(oa, ONS_ORDER_ACTION_SUSPEND);
    ASSERT_EQ(ons_order_action_value_of("Suspend ", &oa, NULL), -1);
    ASSERT_EQ(ons_order_action_values(&n)[0], ONS_ORDER_ACTION_SUCCESS);
    ASSERT_STR_EQ(ons_transaction_status_name(ONS_UNKNOW), "Unknow");
    ASSERT(ons_transaction_status_name(0) == NULL);
}

TEST(send_result_and_version)
{
    ons_send_result_t *r = ons_send_result_new();
    char *s = ons_send_result_to_string(r);
    ASSERT_STR_EQ(s, "SendResult[topic=null, messageId=null]");
    free(s);
    ons_send_result_free(r);
    ASSERT_EQ(ons_version(), ONS_VERSION_HEX);
    ASSERT_STR_EQ(ons_version_string(), ONS_VERSION_STRING);
    ASSERT(ons_check_compat(ONS_VERSION_HEX));
    ASSERT(!ons_check_compat(ONS_VERSION_HEX + (1u << 16)));
}

TEST(sha1_hmac_base64)
{
    uint8_t d[20];
    char b64[32];
    cl_sha1((const uint8_t *)"abc", 3, d);
    cl_base64(d, 20, b64);
    ASSERT_STR_EQ(b64, "qZk+NkcGgWq6PiVxeFDCbJzQ2J0=");
    /* RFC 2202 test case 2. */
    cl_hmac_sha1((const uint8_t *)"Jefe", 4, (const uint8_t *)"what do ya want for nothing?", 28,
                 d);
    cl_base64(d, 20, b64);
    ASSERT_STR_EQ(b64, "7/zfauXrL6LSdBbV8YTfnCWafHk=");
    cl_base64((const uint8_t *)"ab", 2, b64);
    ASSERT_STR_EQ(b64, "YWI=");
}

/* A MAC over parts equals the MAC over their concatenation however the parts
 * are cut: small ones are gathered before hashing, large ones hashed in place
 * (cuts around the 512-byte gather buffer included). */
TEST(hmac_parts_any_split)
{
    uint8_t msg[2000];
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (uint8_t)(i * 7 + 3);
    static const size_t cuts[][6] = {
        {0, 0, 0, 0, 0, 0},       {1, 2, 3, 0, 511, 512},  {511, 1, 1, 0, 0, 513},
        {512, 0, 512, 1, 1, 511}, {100, 1500, 0, 0, 0, 0}, {5, 5, 5, 600, 5, 5},
    };
    struct cl_hmac_key *k = cl_hmac_key_new("secret-key");
    ASSERT(k != NULL);
    for (size_t c = 0; c < sizeof cuts / sizeof cuts[0]; c++) {
        tern_bytes_t parts[7];
        size_t off = 0, n = 0;
        for (size_t i = 0; i < 6 && off < sizeof msg; i++) {
            size_t len = cuts[c][i] < sizeof msg - off ? cuts[c][i] : sizeof msg - off;
            parts[n++] = tern_bytes(msg + off, len);
            off += len;
        }
        parts[n++] = tern_bytes(msg + off, sizeof msg - off);
        uint8_t got[20], want[20];
        cl_hmac_sha1_parts(k, parts, n, got);
        unsigned wlen = 0;
        ASSERT(HMAC(EVP_sha1(), "secret-key", 10, msg, sizeof msg, want, &wlen) != NULL);
        ASSERT_EQ(wlen, 20);
        ASSERT(memcmp(got, want, 20) == 0);
    }
    cl_hmac_key_free(k);
}

TEST(null_handles_of_txn_and_order_clients)
{
    ons_properties_t *p = base_props();
    ons_exception_t *ex = NULL;
    ASSERT(ons_factory_create_transaction_producer(p, NULL, NULL, &ex) == NULL);
    ASSERT_EQ(ons_exception_category(ex), ONS_ERR_NULL_POINTER);
    ons_exception_free(ex);
    ex = NULL;
    ASSERT_EQ(ons_transaction_producer_send(NULL, NULL, NULL, NULL, NULL, &ex), -1);
    ASSERT_EQ(ons_exception_category(ex), ONS_ERR_NULL_POINTER);
    ons_exception_free(ex);
    ex = NULL;
    ASSERT_EQ(ons_order_consumer_start(NULL, &ex), -1);
    ons_exception_free(ex);
    ons_transaction_producer_destroy(NULL);
    ons_order_consumer_destroy(NULL);
    ons_producer_destroy(NULL);
    ons_consumer_destroy(NULL);
    ASSERT(!ons_producer_is_started(NULL));
    ons_properties_free(p);
}

TEST(out_of_memory_is_reported)
{
    /* Every allocation of these calls fails once in turn; nothing aborts
     * (tests/unit/client/test_oom.c walks every public call). */
    tern_alloc_set_abort_on_oom(false);
    for (long k = 1; k < 40; k++) {
        tern_alloc_fail_after(k);
        ons_message_t *m = ons_message_new_with_key("T", "tag", "key", "b", 1);
        if (m)
            ons_message_put_user_properties(m, "a", "b", NULL);
        ons_message_t *c = ons_message_clone(m);
        ons_properties_t *p = ons_properties_new();
        ons_properties_put(p, "a", "b");
        ons_exception_t *ex = NULL;
        ons_producer_t *pr = ons_factory_create_producer(p, &ex);
        ons_producer_destroy(pr);
        ons_exception_free(ex);
        ons_properties_free(p);
        ons_message_free(c);
        ons_message_free(m);
    }
    tern_alloc_fail_after(0);
    tern_alloc_set_abort_on_oom(true);
}
