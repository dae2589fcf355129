/* SPDX-License-Identifier: Apache-2.0 */
/* test_message.c: stored message record encode/decode (spec §5.5). */
#include "harness.h"

#include "common/hash.h"
#include "protocol/message.h"

static void sample(struct msg_record *m, const char *topic, const char *body, const char *props)
{
    memset(m, 0, sizeof *m);
    m->queue_id = 3;
    m->flag = 7;
    m->queue_off = 42;
    m->phy_off = 123456789012LL;
    m->sys_flag = 0;
    m->born_ts = 1700000000000LL;
    m->born_host = (struct msg_host){{192, 168, 1, 2}, 50123, false};
    m->store_ts = 1700000000005LL;
    m->store_host = (struct msg_host){{10, 0, 0, 1}, 10911, false};
    m->reconsume_times = 2;
    m->prepared_txn_off = 0;
    m->body = tern_cstr(body);
    m->topic = tern_cstr(topic);
    m->props = tern_cstr(props);
    m->body_crc = crc32_java(m->body.ptr, m->body.len);
}

static void assert_same(const struct msg_record *a, const struct msg_record *b)
{
    ASSERT_EQ(a->queue_id, b->queue_id);
    ASSERT_EQ(a->flag, b->flag);
    ASSERT_EQ(a->queue_off, b->queue_off);
    ASSERT_EQ(a->phy_off, b->phy_off);
    ASSERT_EQ(a->sys_flag, b->sys_flag);
    ASSERT_EQ(a->born_ts, b->born_ts);
    ASSERT_EQ(a->store_ts, b->store_ts);
    ASSERT_EQ(a->born_host.port, b->born_host.port);
    ASSERT_EQ(a->store_host.port, b->store_host.port);
    ASSERT_EQ(a->born_host.is_v6, b->born_host.is_v6);
    ASSERT_EQ(a->store_host.is_v6, b->store_host.is_v6);
    ASSERT(memcmp(a->born_host.addr, b->born_host.addr, 16) == 0);
    ASSERT(memcmp(a->store_host.addr, b->store_host.addr, 16) == 0);
    ASSERT_EQ(a->reconsume_times, b->reconsume_times);
    ASSERT_EQ(a->prepared_txn_off, b->prepared_txn_off);
    ASSERT_EQ(a->body_crc, b->body_crc);
    ASSERT(tern_bytes_eq(a->body, b->body));
    ASSERT(tern_bytes_eq(a->topic, b->topic));
    ASSERT(tern_bytes_eq(a->props, b->props));
}

TEST(round_trip_v4)
{
    struct msg_record m, d;
    sample(&m, "TopicTest", "Hello RocketMQ", "TAGS\001TagA\002UNIQ_KEY\001ABC\002");
    size_t n = msg_encoded_size(&m);
    ASSERT_EQ(n, MSG_FIXED_V1_V4 + 14 + 9 + 23);
    uint8_t *buf = malloc(n);
    msg_encode(&m, buf);
    ASSERT_EQ(be32_load(buf), n);
    ASSERT_EQ(be32_load(buf + MSG_OFF_MAGIC), MSG_MAGIC_V1);
    ASSERT_EQ(be32_load(buf + MSG_OFF_QUEUEID), 3);
    ASSERT_EQ((int64_t)be64_load(buf + MSG_OFF_PHYOFFSET), 123456789012LL);
    ASSERT_EQ(be32_load(buf + 84), 14); /* BODYLENGTH at 84 for IPv4/IPv4 */
    ASSERT(memcmp(buf + 88, "Hello RocketMQ", 14) == 0);
    ASSERT_EQ(buf[88 + 14], 9);
    ASSERT_EQ(msg_store_ts_off(0), 56);
    ASSERT_EQ((int64_t)be64_load(buf + 56), 1700000000005LL);
    ASSERT_EQ(msg_decode(buf, n, &d), TERN_OK);
    ASSERT_EQ(d.total_size, n);
    ASSERT_EQ(d.magic, MSG_MAGIC_V1);
    assert_same(&m, &d);
    ASSERT(msg_check_crc(&d));
    ASSERT(d.body.ptr == buf + 88); /* views into the record */
    free(buf);
}

TEST(round_trip_v6_hosts)
{
    struct msg_record m, d;
    sample(&m, "T6", "", "");
    m.sys_flag = MSG_SYSFLAG_BORNHOST_V6 | MSG_SYSFLAG_STOREHOST_V6 | MSG_SYSFLAG_COMPRESSED;
    m.born_host.is_v6 = true;
    m.store_host.is_v6 = true;
    for (int i = 0; i < 16; i++) {
        m.born_host.addr[i] = (uint8_t)i;
        m.store_host.addr[i] = (uint8_t)(0xf0 + i);
    }
    size_t n = msg_encoded_size(&m);
    ASSERT_EQ(n, MSG_FIXED_V1_V4 + 24 + 2);
    ASSERT_EQ(msg_store_ts_off(m.sys_flag), 68);
    uint8_t *buf = malloc(n);
    msg_encode(&m, buf);
    ASSERT_EQ(msg_decode(buf, n, &d), TERN_OK);
    assert_same(&m, &d);
    ASSERT_EQ(d.body.len, 0);
    free(buf);
}

TEST(back_to_back_records)
{
    struct msg_record a, b, d;
    sample(&a, "A", "first", "");
    sample(&b, "BB", "second!", "KEYS\001k\002");
    size_t na = msg_encoded_size(&a), nb = msg_encoded_size(&b);
    uint8_t *buf = malloc(na + nb);
    msg_encode(&a, buf);
    msg_encode(&b, buf + na);
    ASSERT_EQ(msg_decode(buf, na + nb, &d), TERN_OK);
    ASSERT_EQ(d.total_size, na);
    ASSERT_BYTES_EQ(d.topic, "A");
    ASSERT_EQ(msg_decode(buf + na, nb, &d), TERN_OK);
    ASSERT_BYTES_EQ(d.body, "second!");
    free(buf);
}

TEST(totalsize_mismatch_rejected)
{
    struct msg_record m, d;
    sample(&m, "TopicTest", "body", "A\001b\002");
    size_t n = msg_encoded_size(&m);
    uint8_t *buf = malloc(n + 8);
    memset(buf, 0, n + 8);
    msg_encode(&m, buf);
    /* TOTALSIZE larger than the fields (and the bytes after are available). */
    be32_store(buf, (uint32_t)(n + 4));
    ASSERT_EQ(msg_decode(buf, n + 8, &d), TERN_EPROTOCOL);
    /* Smaller than the fields. */
    be32_store(buf, (uint32_t)(n - 1));
    ASSERT_EQ(msg_decode(buf, n + 8, &d), TERN_EPROTOCOL);
    /* Larger than what is there. */
    be32_store(buf, (uint32_t)(n + 100));
    ASSERT_EQ(msg_decode(buf, n + 8, &d), TERN_EPROTOCOL);
    /* Negative and tiny. */
    be32_store(buf, 0xFFFFFFF0u);
    ASSERT_EQ(msg_decode(buf, n + 8, &d), TERN_EPROTOCOL);
    be32_store(buf, 8);
    ASSERT_EQ(msg_decode(buf, n + 8, &d), TERN_EPROTOCOL);
    /* Body length pointing past the record. */
    be32_store(buf, (uint32_t)n);
    ASSERT_EQ(msg_decode(buf, n, &d), TERN_OK);
    be32_store(buf + 84, 1000);
    ASSERT_EQ(msg_decode(buf, n, &d), TERN_EPROTOCOL);
    free(buf);
}

TEST(blank_magic_not_found)
{
    uint8_t buf[8];
    struct msg_record d;
    be32_store(buf, 4096);
    be32_store(buf + 4, MSG_MAGIC_BLANK);
    ASSERT_EQ(msg_decode(buf, sizeof buf, &d), TERN_ENOT_FOUND);
    ASSERT_EQ(d.total_size, 4096);
    be32_store(buf + 4, 0x12345678);
    ASSERT_EQ(msg_decode(buf, sizeof buf, &d), TERN_EPROTOCOL);
}

TEST(truncated_input)
{
    struct msg_record m, d;
    sample(&m, "TopicTest", "payload", "TAGS\001x\002");
    size_t n = msg_encoded_size(&m);
    uint8_t *buf = malloc(n);
    msg_encode(&m, buf);
    for (size_t cut = 0; cut < n; cut++) {
        uint8_t *p = malloc(cut ? cut : 1);
        memcpy(p, buf, cut);
        int rc = msg_decode(p, cut, &d);
        if (rc != TERN_EPROTOCOL)
            TEST_FAIL_("cut=%zu rc=%d", cut, rc);
        free(p);
    }
    free(buf);
}

TEST(magic_v2_decoded)
{
    /* A V2 record: 2-byte topic length. Build it from a V1 record by hand. */
    struct msg_record m, d;
    sample(&m, "TopicV2", "b", "");
    size_t n = msg_encoded_size(&m);
    uint8_t *v1 = malloc(n);
    msg_encode(&m, v1);
    uint8_t *v2 = malloc(n + 1);
    size_t tl_off = 88 + 1;
    memcpy(v2, v1, tl_off);
    be32_store(v2, (uint32_t)(n + 1));
    be32_store(v2 + 4, MSG_MAGIC_V2);
    be16_store(v2 + tl_off, 7);
    memcpy(v2 + tl_off + 2, v1 + tl_off + 1, n - tl_off - 1);
    ASSERT_EQ(msg_decode(v2, n + 1, &d), TERN_OK);
    ASSERT_EQ(d.magic, MSG_MAGIC_V2);
    ASSERT_BYTES_EQ(d.topic, "TopicV2");
    ASSERT_BYTES_EQ(d.body, "b");
    free(v1);
    free(v2);
}

TEST(crc_check)
{
    struct msg_record m;
    sample(&m, "T", "Hello", "");
    ASSERT(msg_check_crc(&m));
    m.body_crc ^= 1;
    ASSERT(!msg_check_crc(&m));
}

TEST_MAIN()
