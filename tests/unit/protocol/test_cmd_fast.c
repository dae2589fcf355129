/* SPDX-License-Identifier: Apache-2.0 */
/* test_cmd_fast.c: the send hot path's codec shortcuts: rcmd_decode_mut
 * (in-place unescaping) must decode exactly as rcmd_decode does, the JSON
 * writer must round-trip every byte value, and fields beyond the inline
 * array must survive. */
#include "harness.h"

#include "common/limits.h"
#include "protocol/cmd.h"
#include "protocol/codes.h"

static void frame_json(buf_t *b, const char *hdr, size_t h)
{
    buf_append_be32(b, (uint32_t)(4 + h + 3));
    buf_append_be32(b, (uint32_t)h);
    buf_append(b, hdr, h);
    buf_append(b, "BDY", 3);
}

/* Decodes hdr both ways and checks both agree field by field. */
static void check_same(const char *hdr)
{
    buf_t a, m;
    buf_init(&a);
    buf_init(&m);
    frame_json(&a, hdr, strlen(hdr));
    frame_json(&m, hdr, strlen(hdr));
    struct rcmd ca, cm;
    rcmd_init(&ca);
    rcmd_init(&cm);
    int ra = rcmd_decode(a.data, a.len, &ca);
    int rm = rcmd_decode_mut(m.data, m.len, &cm);
    ASSERT_EQ(ra, rm);
    if (ra == TERN_OK) {
        ASSERT_EQ(ca.code, cm.code);
        ASSERT_EQ(ca.opaque, cm.opaque);
        ASSERT_EQ(ca.flag, cm.flag);
        ASSERT_EQ(ca.has_remark, cm.has_remark);
        ASSERT_EQ(ca.remark.len, cm.remark.len);
        ASSERT(ca.remark.len == 0 || memcmp(ca.remark.ptr, cm.remark.ptr, ca.remark.len) == 0);
        ASSERT_EQ(ca.nfields, cm.nfields);
        for (size_t i = 0; i < ca.nfields; i++) {
            ASSERT_EQ(ca.fields[i].key.len, cm.fields[i].key.len);
            ASSERT(memcmp(ca.fields[i].key.ptr, cm.fields[i].key.ptr, ca.fields[i].key.len) == 0);
            ASSERT_EQ(ca.fields[i].val.len, cm.fields[i].val.len);
            ASSERT(memcmp(ca.fields[i].val.ptr, cm.fields[i].val.ptr, ca.fields[i].val.len) == 0);
        }
        ASSERT_BYTES_EQ(cm.body, "BDY");
    }
    rcmd_deinit(&ca);
    rcmd_deinit(&cm);
    buf_deinit(&a);
    buf_deinit(&m);
}

TEST(decode_mut_matches_decode)
{
    static const char *const hdrs[] = {
        ("{\"code\":310,\"extFields\":{\"a\":\"g\",\"i\":\"TAGS\\u0001TagA\\u0002KEYS\\u0001k-"
         "1\\u0002\","
         "\"b\":\"T\"},\"flag\":0,\"language\":\"JAVA\",\"opaque\":9,\"version\":479}"),
        "{\"code\":1,\"remark\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\u4e2d\\ud83d\\ude00\"}",
        "{\"code\":1,\"remark\":\"lone \\ud83d high, lone \\ude00 low, \\ud83d\\u0041 pair\"}",
        ("{\"code\":1,\"extFields\":{\"k\\u0041y\":\"v\",\"kAy\":\"w\",\"n\":null,\"x\":12,\"t\":"
         "true}}"),
        "{\"code\":1,\"extFields\":{\"a\":\"01234567\\\"89abcdef0123456789\"}}",
        "{\"code\":1,\"extFields\":{\"a\":\"bad \\x escape\"}}",
        "{\"code\":1,\"extFields\":{\"a\":\"cut \\u00\"}}",
        "{\"code\":1,\"extFields\":{\"a\":\"unterminated \\n",
        "{\"code\":1,\"extFields\":{\"a\":\"trailing backslash\\",
        " { \"code\" : 2 , \"extFields\" : { \"a\" : \"b\" } }\n",
    };
    for (size_t i = 0; i < sizeof hdrs / sizeof hdrs[0]; i++)
        check_same(hdrs[i]);
}

TEST(encode_round_trips_every_byte)
{
    uint8_t all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (uint8_t)i;
    struct rcmd c;
    rcmd_init(&c);
    c.code = -5;
    c.opaque = INT32_MIN;
    c.flag = RCMD_FLAG_RESPONSE;
    rcmd_add(&c, "bytes", tern_bytes(all, sizeof all));
    rcmd_add_i64(&c, "min", INT64_MIN);
    rcmd_add_i64(&c, "zero", 0);
    rcmd_set_remark(&c, "quote \" back \\ ctl \x01");
    buf_t b;
    buf_init(&b);
    rcmd_encode(&c, &b);
    struct rcmd d;
    rcmd_init(&d);
    ASSERT_EQ(rcmd_decode_mut(b.data, b.len, &d), TERN_OK);
    ASSERT_EQ(d.code, -5);
    ASSERT_EQ(d.opaque, INT32_MIN);
    tern_bytes_t v = rcmd_get(&d, "bytes");
    /* Bytes >= 0x80 are passed through raw; the decoder keeps them as is. */
    ASSERT_EQ(v.len, sizeof all);
    ASSERT(memcmp(v.ptr, all, sizeof all) == 0);
    ASSERT_BYTES_EQ(rcmd_get(&d, "min"), "-9223372036854775808");
    ASSERT_BYTES_EQ(rcmd_get(&d, "zero"), "0");
    ASSERT_BYTES_EQ(d.remark, "quote \" back \\ ctl \x01");
    rcmd_deinit(&d);
    rcmd_deinit(&c);
    buf_deinit(&b);
}

TEST(many_fields_beyond_inline)
{
    struct rcmd c;
    rcmd_init(&c);
    char key[16];
    for (int i = 0; i < 3 * RCMD_INLINE_FIELDS; i++) {
        snprintf(key, sizeof key, "k%d", i);
        rcmd_add_i64(&c, key, i);
    }
    buf_t b;
    buf_init(&b);
    rcmd_encode(&c, &b);
    struct rcmd d;
    rcmd_init(&d);
    ASSERT_EQ(rcmd_decode_mut(b.data, b.len, &d), TERN_OK);
    ASSERT_EQ(d.nfields, (size_t)(3 * RCMD_INLINE_FIELDS));
    ASSERT_BYTES_EQ(rcmd_get(&d, "k0"), "0");
    ASSERT_BYTES_EQ(rcmd_get(&d, "k47"), "47");
    rcmd_deinit(&d);
    /* Reusable after deinit. */
    rcmd_deinit(&c);
    rcmd_add_cstr(&c, "x", "y");
    ASSERT_BYTES_EQ(rcmd_get(&c, "x"), "y");
    rcmd_deinit(&c);
    buf_deinit(&b);
}

TEST_MAIN()
