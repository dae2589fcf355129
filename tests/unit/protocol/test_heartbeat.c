/* SPDX-License-Identifier: Apache-2.0 */
/* test_heartbeat.c: HeartbeatData bodies as the Java, CPP and ali-ons clients
 * write them, TAG expressions, and the LOCK_BATCH_MQ body. */
#include "common/arena.h"
#include "common/error.h"
#include "harness.h"
#include "protocol/heartbeat.h"

static const char *JAVA_BODY =
    "{\"clientID\":\"192.168.1.10@12345\",\"producerDataSet\":[{\"groupName\":\"PG_ORDER\"},"
    "{\"groupName\":\"CLIENT_INNER_PRODUCER\"}],\"consumerDataSet\":[{\"groupName\":\"CG_ORDER\","
    "\"consumeType\":\"CONSUME_PASSIVELY\",\"messageModel\":\"CLUSTERING\","
    "\"consumeFromWhere\":\"CONSUME_FROM_FIRST_OFFSET\",\"unitMode\":false,"
    "\"subscriptionDataSet\":[{\"topic\":\"TopicTest\",\"subString\":\"TagA || TagB\","
    "\"tagsSet\":[\"TagA\",\"TagB\"],\"codeSet\":[2598919,2598920],\"subVersion\":1700000000000,"
    "\"expressionType\":\"TAG\",\"classFilterMode\":false},{\"topic\":\"%RETRY%CG_ORDER\","
    "\"subString\":\"*\",\"tagsSet\":[],\"codeSet\":[],\"subVersion\":1700000000001,"
    "\"expressionType\":\"TAG\",\"classFilterMode\":false}]}],\"heartbeatFingerprint\":0,"
    "\"withoutSub\":false}";

/* CPP: ordinals, subVersion as a string, no producerDataSet, no
 * expressionType, bogus codeSet, trailing newline. */
static const char *CPP_BODY =
    "{\"clientID\":\"10.1.1.1@9999\",\"consumerDataSet\":[{\"consumeFromWhere\":5,"
    "\"consumeType\":0,\"groupName\":\"CG_CPP\",\"messageModel\":0,"
    "\"subscriptionDataSet\":[{\"codeSet\":[0],\"subString\":\"x||y\",\"subVersion\":"
    "\"1700000000123\",\"tagsSet\":[\"x\",\"y\"],\"topic\":\"T1\"}],\"unitMode\":false}]}\n";

/* ali-ons: names, no expressionType, subString only. */
static const char *ALIONS_BODY =
    "{\"clientID\":\"10.2.2.2@4321\",\"producerDataSet\":[],\"consumerDataSet\":[{"
    "\"groupName\":\"CID_NODE\",\"consumeType\":\"CONSUME_PASSIVELY\",\"messageModel\":"
    "\"BROADCASTING\",\"consumeFromWhere\":\"CONSUME_FROM_LAST_OFFSET\",\"subscriptionDataSet\":"
    "[{\"topic\":\"T2\",\"subString\":\" a || b ||c \",\"classFilterMode\":false,\"tagsSet\":[],"
    "\"codeSet\":[],\"subVersion\":1700000000999}],\"unitMode\":false}]}";

TEST(java_heartbeat)
{
    arena_t a;
    arena_init(&a);
    struct heartbeat hb;
    ASSERT_EQ(heartbeat_decode(tern_cstr(JAVA_BODY), &a, &hb), TERN_OK);
    ASSERT_BYTES_EQ(hb.client_id, "192.168.1.10@12345");
    ASSERT_EQ(hb.nproducers, 2);
    ASSERT_BYTES_EQ(hb.producers[1], "CLIENT_INNER_PRODUCER");
    ASSERT_EQ(hb.nconsumers, 1);
    const struct hb_consumer *c = &hb.consumers[0];
    ASSERT_BYTES_EQ(c->group, "CG_ORDER");
    ASSERT_EQ(c->consume_type, CONSUME_PASSIVELY);
    ASSERT_EQ(c->message_model, MODEL_CLUSTERING);
    ASSERT_EQ(c->consume_from, CFW_FIRST_OFFSET);
    ASSERT_EQ(c->nsubs, 2);
    ASSERT_BYTES_EQ(c->subs[0].topic, "TopicTest");
    ASSERT_EQ(c->subs[0].sub_version, 1700000000000LL);
    ASSERT_EQ(c->subs[0].ntags, 2);
    ASSERT_BYTES_EQ(c->subs[0].tags[1], "TagB");
    ASSERT(!c->subs[0].match_all);
    ASSERT(!c->subs[0].is_sql92);
    ASSERT(c->subs[1].match_all);
    arena_deinit(&a);
}

TEST(cpp_heartbeat_ordinals_and_string_subversion)
{
    arena_t a;
    arena_init(&a);
    struct heartbeat hb;
    ASSERT_EQ(heartbeat_decode(tern_cstr(CPP_BODY), &a, &hb), TERN_OK);
    ASSERT_BYTES_EQ(hb.client_id, "10.1.1.1@9999");
    ASSERT_EQ(hb.nproducers, 0);
    ASSERT_EQ(hb.nconsumers, 1);
    const struct hb_consumer *c = &hb.consumers[0];
    ASSERT_EQ(c->consume_type, CONSUME_ACTIVELY);
    ASSERT_EQ(c->message_model, MODEL_BROADCASTING);
    ASSERT_EQ(c->consume_from, CFW_TIMESTAMP);
    ASSERT_EQ(c->subs[0].sub_version, 1700000000123LL);
    ASSERT_EQ(c->subs[0].ntags, 2);
    ASSERT_BYTES_EQ(c->subs[0].tags[0], "x");
    arena_deinit(&a);
}

TEST(alions_heartbeat_tags_from_substring)
{
    arena_t a;
    arena_init(&a);
    struct heartbeat hb;
    ASSERT_EQ(heartbeat_decode(tern_cstr(ALIONS_BODY), &a, &hb), TERN_OK);
    ASSERT_EQ(hb.nproducers, 0);
    const struct hb_consumer *c = &hb.consumers[0];
    ASSERT_EQ(c->message_model, MODEL_BROADCASTING);
    ASSERT_EQ(c->consume_from, CFW_LAST_OFFSET);
    ASSERT_EQ(c->subs[0].ntags, 3);
    ASSERT_BYTES_EQ(c->subs[0].tags[0], "a");
    ASSERT_BYTES_EQ(c->subs[0].tags[2], "c");
    arena_deinit(&a);
}

TEST(producer_only_and_bad_bodies)
{
    arena_t a;
    arena_init(&a);
    struct heartbeat hb;
    ASSERT_EQ(heartbeat_decode(tern_cstr("{\"clientID\":\"c@1\",\"producerDataSet\":"
                                         "[{\"groupName\":\"PG\"}]}"),
                               &a, &hb),
              TERN_OK);
    ASSERT_EQ(hb.nproducers, 1);
    ASSERT_EQ(hb.nconsumers, 0);
    ASSERT(heartbeat_decode(tern_cstr("{\"producerDataSet\":[]}"), &a, &hb) != TERN_OK);
    ASSERT(heartbeat_decode(tern_cstr("{\"clientID\":\"c\",\"consumerDataSet\":[{}]}"), &a, &hb) !=
           TERN_OK);
    ASSERT(heartbeat_decode(tern_cstr("[1,2]"), &a, &hb) != TERN_OK);
    ASSERT(heartbeat_decode(tern_cstr(""), &a, &hb) != TERN_OK);
    ASSERT(heartbeat_decode(tern_cstr("{\"clientID\":\"c\""), &a, &hb) != TERN_OK);
    /* Unknown enum names fall back to defaults rather than failing. */
    ASSERT_EQ(heartbeat_decode(tern_cstr("{\"clientID\":\"c\",\"consumerDataSet\":[{"
                                         "\"groupName\":\"G\",\"consumeType\":\"WEIRD\","
                                         "\"messageModel\":7}]}"),
                               &a, &hb),
              TERN_OK);
    ASSERT_EQ(hb.consumers[0].consume_type, CONSUME_PASSIVELY);
    ASSERT_EQ(hb.consumers[0].message_model, MODEL_CLUSTERING);
    ASSERT_EQ(hb.consumers[0].nsubs, 0);
    arena_deinit(&a);
}

TEST(tag_expressions)
{
    arena_t a;
    arena_init(&a);
    tern_bytes_t *tags;
    size_t n;
    bool all;
    ASSERT_EQ(tag_expr_parse(tern_cstr("*"), &a, &tags, &n, &all), TERN_OK);
    ASSERT(all);
    ASSERT_EQ(tag_expr_parse(tern_cstr(""), &a, &tags, &n, &all), TERN_OK);
    ASSERT(all);
    ASSERT_EQ(tag_expr_parse(tern_cstr("a||b"), &a, &tags, &n, &all), TERN_OK);
    ASSERT(!all);
    ASSERT_EQ(n, 2);
    ASSERT_BYTES_EQ(tags[1], "b");
    ASSERT_EQ(tag_expr_parse(tern_cstr(" || x ||  || "), &a, &tags, &n, &all), TERN_OK);
    ASSERT_EQ(n, 1);
    ASSERT_BYTES_EQ(tags[0], "x");
    ASSERT_EQ(tag_expr_parse(tern_cstr("a || *"), &a, &tags, &n, &all), TERN_OK);
    ASSERT(all);
    arena_deinit(&a);
}

TEST(enum_names)
{
    ASSERT_STR_EQ(consume_type_name(1), "CONSUME_PASSIVELY");
    ASSERT_STR_EQ(message_model_name(0), "BROADCASTING");
    ASSERT_STR_EQ(consume_from_name(4), "CONSUME_FROM_FIRST_OFFSET");
    ASSERT_STR_EQ(consume_from_name(17), "?");
}

TEST(lock_batch_body)
{
    arena_t a;
    arena_init(&a);
    struct lock_batch lb;
    ASSERT_EQ(lock_batch_decode(
                  tern_cstr("{\"consumerGroup\":\"CG\",\"clientId\":\"10.0.0.5@1234\","
                            "\"onlyThisBroker\":false,\"mqSet\":[{\"topic\":\"T\",\"brokerName\":"
                            "\"broker-a\",\"queueId\":0},{\"topic\":\"T\",\"brokerName\":"
                            "\"broker-a\",\"queueId\":1}]}"),
                  &a, &lb),
              TERN_OK);
    ASSERT_BYTES_EQ(lb.group, "CG");
    ASSERT_BYTES_EQ(lb.client_id, "10.0.0.5@1234");
    ASSERT_EQ(lb.nmq, 2);
    ASSERT_EQ(lb.mqs[1].queue_id, 1);
    ASSERT_BYTES_EQ(lb.mqs[0].broker_name, "broker-a");
    ASSERT(lock_batch_decode(tern_cstr("{\"consumerGroup\":\"CG\"}"), &a, &lb) != TERN_OK);
    ASSERT(lock_batch_decode(tern_cstr("{\"consumerGroup\":\"CG\",\"clientId\":\"c\",\"mqSet\":"
                                       "[{\"topic\":\"T\",\"queueId\":-1}]}"),
                             &a, &lb) != TERN_OK);
    arena_deinit(&a);
}

TEST_MAIN()
