/* SPDX-License-Identifier: Apache-2.0 */
/* test_decode_oom.c: the protocol decoders and command builders when the
 * arena cannot grow (common/alloc.h failure hook, SDK policy). Each decoder
 * runs with its N-th allocation failing, N = 1, 2, ..., until a run needs
 * fewer than N: every injected run must return TERN_ENOMEM (not a protocol
 * error), the last must decode; the ASan build checks nothing leaks. */
#include <string.h>

#include "common/alloc.h"
#include "common/arena.h"
#include "common/error.h"
#include "harness.h"
#include "protocol/cmd.h"
#include "protocol/heartbeat.h"
#include "protocol/json.h"
#include "protocol/route.h"

/* Inputs shared by the cases (built once, before any failure is injected). */
static buf_t g_json_frame, g_rmq_frame, g_esc_frame;

/* Escaped member names: the reader copies them before it knows the member. */
static const char ESC_HEADER[] =
    "{\"c\\u006fde\":10,\"ext\\u0046ields\":{\"k\\\"1\":\"v\\\"1\",\"k2\":7},"
    "\"r\\u0065mark\":\"a\\\"b\",\"flag\":0}";

static const char ROUTE[] =
    "{\"brokerDatas\":[{\"brokerAddrs\":{\"0\":\"10.0.0.1:10911\",\"1\":\"10.0.0.2:10911\"},"
    "\"brokerName\":\"broker-a\",\"cluster\":\"DefaultCluster\",\"zoneName\":\"z\","
    "\"enableActingMaster\":false},{\"brokerAddrs\":{0:\"10.0.0.3:10911\"},\"brokerName\":"
    "\"broker-b\",\"cluster\":\"DefaultCluster\"}],\"filterServerTable\":{},"
    "\"orderTopicConf\":\"broker-a:4;broker-b:4\",\"queueDatas\":[{\"brokerName\":\"broker-a\","
    "\"perm\":6,\"readQueueNums\":4,\"topicSysFlag\":0,\"writeQueueNums\":4},{\"brokerName\":"
    "\"broker-b\",\"perm\":6,\"readQueueNums\":4,\"topicSynFlag\":0,\"writeQueueNums\":4}]}";

static const char REGISTER[] =
    "{\"topicConfigSerializeWrapper\":{\"dataVersion\":{\"counter\":12,\"stateVersion\":0,"
    "\"timestamp\":1700000000000},\"topicConfigTable\":{\"TopicTest\":{\"order\":false,"
    "\"perm\":6,\"readQueueNums\":4,\"topicFilterType\":\"SINGLE_TAG\",\"topicName\":"
    "\"TopicTest\",\"topicSysFlag\":0,\"writeQueueNums\":4},\"TBW102\":{\"perm\":7,"
    "\"readQueueNums\":8,\"writeQueueNums\":8},\"Escaped\\u0041\":{\"perm\":6}}}}";

static const char HEARTBEAT[] =
    "{\"clientID\":\"192.168.1.10@12345\",\"producerDataSet\":[{\"groupName\":\"PG\"},"
    "{\"groupName\":\"CLIENT_INNER_PRODUCER\"}],\"consumerDataSet\":[{\"groupName\":\"CG\","
    "\"consumeType\":\"CONSUME_PASSIVELY\",\"messageModel\":\"CLUSTERING\","
    "\"consumeFromWhere\":\"CONSUME_FROM_FIRST_OFFSET\",\"subscriptionDataSet\":[{\"topic\":"
    "\"TopicTest\",\"subString\":\"TagA || TagB\",\"tagsSet\":[\"TagA\",\"TagB\"],"
    "\"subVersion\":1700000000000},{\"topic\":\"T2\",\"subString\":\" a || b ||c \","
    "\"tagsSet\":[]}]}]}";

static const char LOCK_BATCH[] =
    "{\"consumerGroup\":\"CG\",\"clientId\":\"c1\",\"onlyThisBroker\":true,\"mqSet\":["
    "{\"topic\":\"T\",\"brokerName\":\"b\",\"queueId\":0},{\"topic\":\"T\",\"brokerName\":\"b\","
    "\"queueId\":1},{\"topic\":\"T\",\"queueId\":2}]}";

static const char JSON_DOC[] =
    "{\"a\":[1,2,3,4,5,6,7,8,9],\"esc\":\"q\\\"\\u00e9\\ud83d\\ude00\",12:true,"
    "{\"topic\":\"T\",\"queueId\":1}:5,\"nested\":{\"x\":{\"y\":[null,false,\"s\",-1.5e3]}}}";

/* Builds a frame with 40 fields whose keys and values need escapes. */
static void build_frame(buf_t *out, uint8_t type)
{
    struct rcmd c;
    rcmd_init(&c);
    c.serialize_type = type;
    c.code = 10;
    rcmd_set_remark(&c, "remark \"%d\"", 7);
    for (int i = 0; i < 40; i++) {
        char k[32], v[64];
        snprintf(k, sizeof k, "key\"%d", i);
        snprintf(v, sizeof v, "value\\%d\twith a tab and some length", i);
        rcmd_add_cstr(&c, k, v);
    }
    c.body = tern_cstr("body");
    buf_init(out);
    rcmd_encode(&c, out);
    rcmd_deinit(&c);
}

/* ---- the cases: one decode into a (or into a command of its own) ---------- */

/* Bytes left in the arena before a decode (NO_PREFILL: a fresh arena). The
 * walk moves the block boundary over every allocation of every decoder. */
#define NO_PREFILL ((size_t)-1)
static size_t g_room = NO_PREFILL;

static int prefill(arena_t *a)
{
    if (g_room == NO_PREFILL)
        return TERN_OK;
    if (arena_alloc(a, sizeof a->inline_buf) == NULL)
        return TERN_ENOMEM;
    return arena_alloc(a, 4096 - g_room) ? TERN_OK : TERN_ENOMEM;
}

static int decode_frame(const buf_t *frame)
{
    struct rcmd c;
    rcmd_init(&c);
    int rc = prefill(&c.arena);
    if (rc == TERN_OK)
        rc = rcmd_decode(frame->data, frame->len, &c);
    if (rc == TERN_OK && (c.nfields != 40 ||
                          !tern_bytes_eq_cstr(rcmd_get(&c, "key\"39"), "value\\39\twith a tab and "
                                                                       "some length")))
        rc = TERN_EINVALID;
    rcmd_deinit(&c);
    return rc;
}

static int case_cmd_json(arena_t *a)
{
    (void)a;
    return decode_frame(&g_json_frame);
}

static int case_cmd_json_mut(arena_t *a)
{
    (void)a;
    /* The header is rewritten in place: decode a fresh copy each run. */
    uint8_t *copy = tern_malloc(g_json_frame.len);
    if (copy == NULL)
        return TERN_ENOMEM;
    memcpy(copy, g_json_frame.data, g_json_frame.len);
    struct rcmd c;
    rcmd_init(&c);
    int rc = prefill(&c.arena);
    if (rc == TERN_OK)
        rc = rcmd_decode_mut(copy, g_json_frame.len, &c);
    if (rc == TERN_OK && c.nfields != 40)
        rc = TERN_EINVALID;
    rcmd_deinit(&c);
    free(copy);
    return rc;
}

static int case_cmd_escaped(arena_t *a)
{
    (void)a;
    struct rcmd c;
    rcmd_init(&c);
    int rc = prefill(&c.arena);
    if (rc == TERN_OK)
        rc = rcmd_decode(g_esc_frame.data, g_esc_frame.len, &c);
    if (rc == TERN_OK && (c.code != 10 || c.nfields != 2 || !tern_bytes_eq_cstr(c.remark, "a\"b")))
        rc = TERN_EINVALID;
    rcmd_deinit(&c);
    return rc;
}

static int case_cmd_rmq(arena_t *a)
{
    (void)a;
    return decode_frame(&g_rmq_frame);
}

static int case_json(arena_t *a)
{
    struct json_val *root;
    int rc = prefill(a);
    if (rc == TERN_OK)
        rc = json_parse(tern_cstr(JSON_DOC), a, &root);
    if (rc == TERN_OK && (root->n != 5 || json_get(root, "nested") == NULL))
        rc = TERN_EINVALID;
    return rc;
}

static int case_route(arena_t *a)
{
    struct route_topic_route tr;
    int rc = prefill(a);
    if (rc == TERN_OK)
        rc = route_decode_topic_route(tern_cstr(ROUTE), a, &tr);
    if (rc == TERN_OK && (tr.nbrokers != 2 || tr.brokers[0].naddrs != 2 || tr.nqueues != 2 ||
                          tr.order_topic_conf == NULL))
        rc = TERN_EINVALID;
    return rc;
}

static int case_register(arena_t *a)
{
    struct route_register_body rb;
    int rc = prefill(a);
    if (rc == TERN_OK)
        rc = route_decode_register_body(tern_cstr(REGISTER), a, &rb);
    if (rc == TERN_OK && rb.ntopics != 3)
        rc = TERN_EINVALID;
    return rc;
}

static int case_heartbeat(arena_t *a)
{
    struct heartbeat hb;
    int rc = prefill(a);
    if (rc == TERN_OK)
        rc = heartbeat_decode(tern_cstr(HEARTBEAT), a, &hb);
    if (rc == TERN_OK && (hb.nproducers != 2 || hb.nconsumers != 1 || hb.consumers[0].nsubs != 2 ||
                          hb.consumers[0].subs[1].ntags != 3))
        rc = TERN_EINVALID;
    return rc;
}

static int case_lock_batch(arena_t *a)
{
    struct lock_batch lb;
    int rc = prefill(a);
    if (rc == TERN_OK)
        rc = lock_batch_decode(tern_cstr(LOCK_BATCH), a, &lb);
    if (rc == TERN_OK && lb.nmq != 3)
        rc = TERN_EINVALID;
    return rc;
}

static int case_tag_expr(arena_t *a)
{
    tern_bytes_t *tags;
    size_t n;
    bool all;
    int rc = prefill(a);
    if (rc == TERN_OK)
        rc = tag_expr_parse(tern_cstr("a || b || c"), a, &tags, &n, &all);
    if (rc == TERN_OK && (n != 3 || all))
        rc = TERN_EINVALID;
    return rc;
}

static const struct {
    const char *name;
    int (*fn)(arena_t *a);
} CASES[] = {
    {"rcmd_decode json", case_cmd_json},
    {"rcmd_decode_mut json", case_cmd_json_mut},
    {"rcmd_decode rocketmq", case_cmd_rmq},
    {"rcmd_decode escaped names", case_cmd_escaped},
    {"json_parse", case_json},
    {"route_decode_topic_route", case_route},
    {"route_decode_register_body", case_register},
    {"heartbeat_decode", case_heartbeat},
    {"lock_batch_decode", case_lock_batch},
    {"tag_expr_parse", case_tag_expr},
};

static int decode_esc_check(void)
{
    return case_cmd_escaped(NULL);
}

TEST(setup_inputs)
{
    build_frame(&g_json_frame, RCMD_JSON);
    build_frame(&g_rmq_frame, RCMD_ROCKETMQ);
    buf_init(&g_esc_frame);
    buf_append_be32(&g_esc_frame, (uint32_t)(4 + strlen(ESC_HEADER)));
    buf_append_be32(&g_esc_frame, (uint32_t)strlen(ESC_HEADER));
    buf_append_cstr(&g_esc_frame, ESC_HEADER);
    ASSERT_EQ(decode_esc_check(), TERN_OK);
    ASSERT(!buf_failed(&g_json_frame) && g_json_frame.len > 1000);
    ASSERT(!buf_failed(&g_rmq_frame) && g_rmq_frame.len > 1000);
    /* From here on this process follows the SDK policy. */
    tern_alloc_set_abort_on_oom(false);
}

/* Walks case k with N = 1, 2, ...; returns how many failures were injected. */
static long walk_case(size_t k)
{
    long n = 1;
    {
        for (;; n++) {
            arena_t a;
            arena_init(&a);
            tern_alloc_fail_after(n);
            int rc = CASES[k].fn(&a);
            long left = tern_alloc_fail_pending();
            tern_alloc_fail_after(0);
            arena_deinit(&a);
            if (left > 0) {
                if (rc != TERN_OK)
                    TEST_FAIL_("%s: run without a failure returned %d", CASES[k].name, rc);
                break;
            }
            if (rc != TERN_ENOMEM)
                TEST_FAIL_("%s: failure %ld returned %d, not TERN_ENOMEM", CASES[k].name, n, rc);
        }
    }
    return n - 1;
}

TEST(every_decoder_reports_enomem_at_every_failure)
{
    for (size_t k = 0; k < sizeof CASES / sizeof CASES[0]; k++) {
        g_room = NO_PREFILL;
        long fresh = walk_case(k), total = fresh;
        /* The same with the current block ending at every 8-byte step. */
        for (g_room = 0; g_room < 4096; g_room += 8)
            total += walk_case(k);
        /* The case is only a test if its decode needed the allocator (each
         * prefilled walk also fails the prefill's own block once). */
        if (total - fresh <= 4096 / 8)
            TEST_FAIL_("%s: decoded without any allocation", CASES[k].name);
        fprintf(stderr, "  %s: %ld failures from a fresh arena, %ld in all\n", CASES[k].name, fresh,
                total);
    }
    g_room = NO_PREFILL;
}

TEST(arena_failure_leaves_arena_usable)
{
    arena_t a;
    arena_init(&a);
    ASSERT(arena_alloc(&a, 500) != NULL); /* inline */
    tern_alloc_fail_after(1);
    ASSERT(arena_alloc(&a, 100) == NULL);
    tern_alloc_fail_after(1);
    ASSERT(arena_copy(&a, tern_cstr("a string that does not fit")).ptr == NULL);
    tern_alloc_fail_after(1);
    ASSERT(arena_strdup(&a, "a string that does not fit") == NULL);
    tern_alloc_fail_after(0);
    tern_bytes_t v = arena_copy(&a, tern_cstr("fits now"));
    ASSERT_BYTES_EQ(v, "fits now");
    ASSERT(arena_alloc(&a, (size_t)-1) == NULL); /* overflow, not a huge block */
    arena_deinit(&a);
}

TEST(builders_set_failed_and_encode_reports_it)
{
    struct rcmd c;
    rcmd_init(&c);
    char v[256];
    memset(v, 'v', sizeof v - 1);
    v[sizeof v - 1] = '\0';
    rcmd_add_cstr(&c, "first", v);
    rcmd_add_cstr(&c, "second", v); /* past the inline bytes: needs a block */
    ASSERT(!rcmd_failed(&c));
    /* Use up the inline bytes and the current block: the next copy needs a block. */
    while (c.arena.inline_used < sizeof c.arena.inline_buf)
        ASSERT(arena_alloc(&c.arena, 8) != NULL);
    ASSERT(arena_alloc(&c.arena, 4096) != NULL);
    size_t before = c.nfields;
    tern_alloc_fail_after(1);
    rcmd_add_cstr(&c, "third", v);
    tern_alloc_fail_after(0);
    ASSERT(rcmd_failed(&c));
    ASSERT_EQ(c.nfields, before);
    rcmd_add_i64(&c, "later", 5); /* works again, the flag stays */
    ASSERT(rcmd_failed(&c));

    buf_t out;
    buf_init(&out);
    buf_append_cstr(&out, "kept");
    rcmd_encode(&c, &out);
    ASSERT(buf_failed(&out));
    buf_rollback(&out, 4);
    ASSERT_EQ(out.len, 4);
    buf_deinit(&out);
    rcmd_deinit(&c);

    /* A remark that cannot be copied. */
    rcmd_init(&c);
    ASSERT(arena_alloc(&c.arena, sizeof c.arena.inline_buf) != NULL);
    tern_alloc_fail_after(1);
    rcmd_set_remark(&c, "%s", "no room");
    tern_alloc_fail_after(0);
    ASSERT(rcmd_failed(&c));
    ASSERT(!c.has_remark);
    rcmd_deinit(&c);
}

TEST(teardown_inputs)
{
    buf_deinit(&g_json_frame);
    buf_deinit(&g_rmq_frame);
    buf_deinit(&g_esc_frame);
}

TEST_MAIN()
