/* SPDX-License-Identifier: Apache-2.0 */
/* test_record.c: a stored record turned into the message a listener sees
 * (msg_record.c): system properties hidden, user ones in record order with
 * the last value of a repeated name, records with more properties than the
 * first pass memoises, the born host text, the %RETRY% topic, bodies and
 * properties borrowed from records in a slab. */
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

/* Two stored records copied into a slab (with the spare byte after them):
 * messages built with cl_message_from_record_borrow point into the records
 * for body and raw properties, NUL-terminated in place, and read the same
 * as copies; a slab without room left copies instead. */
TEST(borrowed_body_and_properties)
{
    struct cl_config cfg = config();
    struct msg_record in[2];
    uint8_t h[4] = {10, 0, 0, 1};
    record(&in[0], "T", "TAGS\001a\002UNIQ_KEY\001ID1\002color\001red\002", h, 1);
    record(&in[1], "T", "UNIQ_KEY\001ID2\002", h, 2);
    in[1].body = tern_cstr("second body");
    size_t span = msg_encoded_size(&in[0]) + msg_encoded_size(&in[1]);
    struct cl_slab *slab = cl_slab_new(span + 1 + 2 * (cl_record_bound_borrow(&in[0]) + 16));
    ASSERT(slab != NULL);
    uint8_t *raw = cl_slab_alloc(slab, span + 1);
    ASSERT(raw != NULL);
    msg_encode(&in[0], raw);
    msg_encode(&in[1], raw + msg_encoded_size(&in[0]));
    raw[span] = 0x7f;
    struct msg_record r[2];
    ASSERT_EQ(msg_decode(raw, span, &r[0]), TERN_OK);
    ASSERT_EQ(msg_decode(raw + r[0].total_size, span - (size_t)r[0].total_size, &r[1]), TERN_OK);
    ons_message_t *m[2];
    struct cl_rec_memo memo = {0};
    for (int i = 0; i < 2; i++) {
        m[i] = cl_message_from_record_borrow(&cfg, &r[i], slab, &memo);
        ASSERT(m[i] != NULL);
    }
    size_t len = 0;
    const char *b = ons_message_get_body(m[0], &len);
    ASSERT(b == (const char *)r[0].body.ptr);
    ASSERT_EQ(len, 4);
    ASSERT_STR_EQ(b, "body");
    ASSERT_STR_EQ(ons_message_get_body(m[1], &len), "second body");
    ASSERT(m[1]->raw_props == (char *)r[1].props.ptr);
    ASSERT_STR_EQ(m[1]->raw_props, "UNIQ_KEY\001ID2\002");
    ASSERT_EQ(raw[span], 0);
    ASSERT_STR_EQ(ons_message_get_tag(m[0]), "a");
    ASSERT_STR_EQ(ons_message_get_msg_id(m[1]), "ID2");
    ASSERT_STR_EQ(ons_message_get_user_properties(m[0], "color"), "red");
    /* The same names again at the same positions: the memo's verdicts. */
    ons_message_t *twice[2];
    for (int i = 0; i < 2; i++) {
        twice[i] = cl_message_from_record_borrow(&cfg, &r[0], NULL, &memo);
        ASSERT(twice[i] != NULL);
        ASSERT_STR_EQ(ons_message_get_tag(twice[i]), "a");
        ASSERT_STR_EQ(ons_message_get_msg_id(twice[i]), "ID1");
        ASSERT_EQ(ons_message_user_properties_count(twice[i]), 1);
        ASSERT_STR_EQ(ons_message_get_user_properties(twice[i], "color"), "red");
        ASSERT_STR_EQ(ons_message_get_born_host(twice[i]), "10.0.0.1:1");
    }
    ASSERT_STR_EQ(ons_message_get_born_host(m[1]), "10.0.0.1:2");
    ons_message_free(twice[0]);
    ons_message_free(twice[1]);
    /* The slab is full now: the next message is a copy of its own. */
    struct msg_record again = r[0];
    while (cl_slab_alloc(slab, 16) != NULL)
        ;
    ons_message_t *copy = cl_message_from_record_borrow(&cfg, &again, slab, NULL);
    ASSERT(copy != NULL);
    ASSERT(ons_message_get_body(copy, &len) != (const void *)r[0].body.ptr);
    ASSERT_STR_EQ(ons_message_get_body(copy, &len), "body");
    ons_message_free(copy);
    ons_message_free(m[0]);
    ons_message_free(m[1]);
    cl_slab_unref(slab);
    cl_config_deinit(&cfg);
}
