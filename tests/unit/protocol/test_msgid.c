/* SPDX-License-Identifier: Apache-2.0 */
/* test_msgid.c: offset message ids and UNIQ_KEY generation (spec §5.8). */
#include "harness.h"

#include "protocol/msgid.h"

TEST(spec_example)
{
    struct msg_host h = {{10, 0, 0, 1}, 10911, false};
    char id[MSGID_MAX_LEN + 1];
    size_t n = msgid_encode(&h, 1234, id);
    ASSERT_EQ(n, 32);
    ASSERT_STR_EQ(id, "0A00000100002A9F00000000000004D2");
    struct msg_host back;
    int64_t off = 0;
    ASSERT_EQ(msgid_decode(tern_cstr(id), &back, &off), TERN_OK);
    ASSERT_EQ(off, 1234);
    ASSERT_EQ(back.port, 10911);
    ASSERT(!back.is_v6);
    ASSERT(memcmp(back.addr, h.addr, 4) == 0);
    /* Lowercase hex decodes too. */
    ASSERT_EQ(msgid_decode(tern_cstr("0a00000100002a9f00000000000004d2"), &back, &off), TERN_OK);
    ASSERT_EQ(off, 1234);
}

TEST(ipv6_round_trip)
{
    struct msg_host h = {{0}, 10911, true};
    for (int i = 0; i < 16; i++)
        h.addr[i] = (uint8_t)(0x20 + i);
    char id[MSGID_MAX_LEN + 1];
    ASSERT_EQ(msgid_encode(&h, INT64_MAX, id), 56);
    ASSERT_EQ(strlen(id), 56);
    struct msg_host back;
    int64_t off = 0;
    ASSERT_EQ(msgid_decode(tern_cstr(id), &back, &off), TERN_OK);
    ASSERT(back.is_v6);
    ASSERT(off == INT64_MAX);
    ASSERT(memcmp(back.addr, h.addr, 16) == 0);
}

TEST(decode_rejects)
{
    struct msg_host h;
    int64_t off;
    ASSERT_EQ(msgid_decode(tern_cstr(""), &h, &off), TERN_EINVALID);
    ASSERT_EQ(msgid_decode(tern_cstr("0A00000100002A9F00000000000004D"), &h, &off), TERN_EINVALID);
    ASSERT_EQ(msgid_decode(tern_cstr("0A00000100002A9F00000000000004DG"), &h, &off), TERN_EINVALID);
    ASSERT_EQ(msgid_decode(tern_cstr("0A00000100002A9F00000000000004D2X"), &h, &off),
              TERN_EINVALID);
}

TEST(uniq_key_layout)
{
    struct uniq_gen g;
    const uint8_t ip[4] = {192, 168, 0, 9};
    uniq_gen_init(&g, ip);
    char a[33], b[33];
    int64_t now = 1700000000000LL;
    uniq_gen_next(&g, now, a);
    uniq_gen_next(&g, now, b);
    ASSERT_EQ(strlen(a), 32);
    ASSERT(strncmp(a, "C0A80009", 8) == 0);
    ASSERT(strcmp(a, b) != 0);
    /* Same prefix (ip, pid, salt) and time; counter differs by one. */
    ASSERT(strncmp(a, b, 28) == 0);
    unsigned ca = (unsigned)strtoul(a + 28, NULL, 16), cb = (unsigned)strtoul(b + 28, NULL, 16);
    ASSERT_EQ((ca + 1) & 0xFFFF, cb);
    for (int i = 0; i < 32; i++)
        ASSERT((a[i] >= '0' && a[i] <= '9') || (a[i] >= 'A' && a[i] <= 'F'));
    /* ms since month start is below 31 days. */
    unsigned long ms =
        strtoul((char[9]){a[20], a[21], a[22], a[23], a[24], a[25], a[26], a[27], 0}, NULL, 16);
    ASSERT(ms < 31UL * 24 * 3600 * 1000);
}

TEST_MAIN()
