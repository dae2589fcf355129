/* SPDX-License-Identifier: Apache-2.0 */
/* test_record.c: a stored record turned into the message a listener sees
 * (msg_record.c): system properties hidden, user ones in record order with
 * the last value of a repeated name, records with more properties than the
 * first pass memoises, the born host text, the %RETRY% topic. */
#include <ons/ons.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client_int.h"
#include "common/buf.h"
#include "harness.h"
#include "protocol/message.h"

TEST_MAIN()

static struct cl_config config(void)
{
    ons_properties_t *p = ons_properties_new();
    ons_properties_put(p, ONS_NAMESRV_ADDR, "127.0.0.1:9876");
    ons_properties_put(p, ONS_GROUP_ID, "GID_test");
    struct cl_config cfg;
    ons_exception_t *ex = NULL;
    if (cl_config_parse(&cfg, p, CL_CONSUMER, &ex) != 0) {
        ons_exception_free(ex);
        memset(&cfg, 0, sizeof cfg);
    }
    ons_properties_free(p);
    return cfg;
}

static void record(struct msg_record *m, const char *topic, const char *props, uint8_t *host,
                   int32_t port)
{
    memset(m, 0, sizeof *m);
    m->queue_off = 7;
    m->phy_off = 4096;
    m->born_ts = 1700000000000LL;
    memcpy(m->born_host.addr, host, 4);
    m->born_host.port = port;
    m->store_host = (struct msg_host){{127, 0, 0, 1}, 10911, false};
    m->body = tern_cstr("body");
    m->topic = tern_cstr(topic);
    m->props = tern_cstr(props);
}

TEST(system_properties_hidden_and_fields_read)
{
    struct cl_config cfg = config();
    struct msg_record r;
    uint8_t h[4] = {10, 200, 3, 0};
    record(&r, "T",
           "TAGS\001a\002KEYS\001k1\002UNIQ_KEY\001ID1\002color\001red\002WAIT\001true\002"
           "CLUSTER\001c\002__SHARDINGKEY\001s\002TIMER_OUT_MS\0011\002color\001blue\002",
           h, 65535);
    ons_message_t *m = cl_message_from_record(&cfg, &r);
    ASSERT(m != NULL);
    ASSERT_STR_EQ(ons_message_get_tag(m), "a");
    ASSERT_STR_EQ(ons_message_get_key(m), "k1");
    ASSERT_STR_EQ(ons_message_get_msg_id(m), "ID1");
    ASSERT_STR_EQ(ons_message_get_sharding_key(m), "s");
    ASSERT_STR_EQ(ons_message_get_born_host(m), "10.200.3.0:65535");
    ASSERT_EQ(ons_message_user_properties_count(m), 1);
    ASSERT_STR_EQ(ons_message_get_user_properties(m, "color"), "blue");
    ASSERT(ons_message_get_user_properties(m, "WAIT") == NULL);
    ons_message_free(m);
    cl_config_deinit(&cfg);
}

/* More properties than the sizing pass keeps: the copying pass resumes
 * parsing after the memo, in order, with the same hiding rules. */
TEST(many_properties)
{
    for (int total = 30; total <= 70; total += 4) {
        struct cl_config cfg = config();
        buf_t props;
        buf_init(&props);
        char kv[64];
        for (int i = 0; i < total; i++) {
            if (i % 5 == 0)
                snprintf(kv, sizeof kv, "TRACE_ON\001x\002"); /* internal, repeated */
            else
                snprintf(kv, sizeof kv, "p%02d\001v%d\002", i, i);
            buf_append_cstr(&props, kv);
        }
        buf_append_cstr(&props, "p01\001last\002");
        buf_append_u8(&props, 0);
        struct msg_record r;
        uint8_t h[4] = {1, 2, 3, 4};
        record(&r, "T", (const char *)props.data, h, 5);
        ons_message_t *m = cl_message_from_record(&cfg, &r);
        ASSERT(m != NULL);
        size_t want = (size_t)(total - (total + 4) / 5);
        ASSERT_EQ(ons_message_user_properties_count(m), want);
        const char *k, *v;
        size_t at = 0;
        for (int i = 0; i < total; i++) {
            if (i % 5 == 0)
                continue;
            char name[16], val[16];
            snprintf(name, sizeof name, "p%02d", i);
            snprintf(val, sizeof val, i == 1 ? "last" : "v%d", i);
            ASSERT_EQ(ons_message_user_property_at(m, at++, &k, &v), 0);
            ASSERT_STR_EQ(k, name);
            ASSERT_STR_EQ(v, val);
        }
        ASSERT_STR_EQ(ons_message_get_born_host(m), "1.2.3.4:5");
        ons_message_free(m);
        buf_deinit(&props);
        cl_config_deinit(&cfg);
    }
}

TEST(retry_copy_shows_real_topic)
{
    struct cl_config cfg = config();
    struct msg_record r;
    uint8_t h[4] = {0, 0, 0, 0};
    record(&r, "%RETRY%GID_test", "RETRY_TOPIC\001Orders\002UNIQ_KEY\001X\002", h, 0);
    ons_message_t *m = cl_message_from_record(&cfg, &r);
    ASSERT(m != NULL);
    ASSERT_STR_EQ(ons_message_get_topic(m), "Orders");
    ASSERT_STR_EQ(ons_message_get_born_host(m), "0.0.0.0:0");
    ASSERT_EQ(ons_message_user_properties_count(m), 0);
    ons_message_free(m);
    cl_config_deinit(&cfg);
}
