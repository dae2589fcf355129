/* SPDX-License-Identifier: Apache-2.0 */
/* test_cmd.c: remoting frame and header codec (spec §1.2-§2.4). */
#include "harness.h"

#include "common/limits.h"
#include "protocol/cmd.h"
#include "protocol/codes.h"

/* Frames a header given as text (JSON) with an optional body. */
static void frame_json(buf_t *b, const char *hdr, const char *body)
{
    size_t h = strlen(hdr), n = body ? strlen(body) : 0;
    buf_append_be32(b, (uint32_t)(4 + h + n));
    buf_append_be32(b, (uint32_t)h);
    buf_append(b, hdr, h);
    if (n)
        buf_append(b, body, n);
}

static int decode_json(struct rcmd *c, buf_t *b, const char *hdr)
{
    buf_init(b);
    frame_json(b, hdr, NULL);
    rcmd_init(c);
    return rcmd_decode(b->data, b->len, c);
}

static const char spec_13_header[] =
    "{\"code\":105,\"extFields\":{\"topic\":\"TopicTest\"},\"flag\":0,\"language\":\"JAVA\","
    "\"opaque\":7,\"serializeTypeCurrentRPC\":\"JSON\",\"version\":479}";

static const uint8_t spec_14_frame[] = {
    0x00, 0x00, 0x00, 0x2d, 0x01, 0x00, 0x00, 0x29, 0x00, 0x69, 0x00, 0x01, 0xdf,
    0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x14, 0x00, 0x05, 't',  'o',  'p',  'i',  'c',  0x00, 0x00, 0x00,
    0x09, 'T',  'o',  'p',  'i',  'c',  'T',  'e',  's',  't',
};

TEST(spec_1_3_json_example)
{
    ASSERT_EQ(strlen(spec_13_header), 131);
    buf_t b;
    struct rcmd c;
    buf_init(&b);
    frame_json(&b, spec_13_header, NULL);
    ASSERT_EQ(b.len, 139);
    static const uint8_t prefix[8] = {0, 0, 0, 0x87, 0, 0, 0, 0x83};
    ASSERT(memcmp(b.data, prefix, 8) == 0);
    size_t flen = 0;
    ASSERT_EQ(rcmd_frame_peek(b.data, b.len, &flen), TERN_OK);
    ASSERT_EQ(flen, 139);
    rcmd_init(&c);
    ASSERT_EQ(rcmd_decode(b.data, b.len, &c), TERN_OK);
    ASSERT_EQ(c.code, RC_GET_ROUTEINFO_BY_TOPIC);
    ASSERT_EQ(c.opaque, 7);
    ASSERT_EQ(c.flag, 0);
    ASSERT_EQ(c.version, 479);
    ASSERT_EQ(c.language, LANG_JAVA);
    ASSERT_EQ(c.serialize_type, RCMD_JSON);
    ASSERT(!c.has_remark);
    ASSERT_EQ(c.nfields, 1);
    ASSERT_BYTES_EQ(rcmd_get(&c, "topic"), "TopicTest");
    /* No escapes: the value is a view into the frame. */
    ASSERT(rcmd_get(&c, "topic").ptr > b.data && rcmd_get(&c, "topic").ptr < b.data + b.len);
    ASSERT_EQ(c.body.len, 0);
    rcmd_deinit(&c);
    buf_deinit(&b);
}

TEST(spec_1_4_binary_example)
{
    struct rcmd c;
    size_t flen = 0;
    ASSERT_EQ(sizeof spec_14_frame, 49);
    ASSERT_EQ(rcmd_frame_peek(spec_14_frame, sizeof spec_14_frame, &flen), TERN_OK);
    ASSERT_EQ(flen, 49);
    rcmd_init(&c);
    ASSERT_EQ(rcmd_decode(spec_14_frame, flen, &c), TERN_OK);
    ASSERT_EQ(c.code, 105);
    ASSERT_EQ(c.language, LANG_JAVA);
    ASSERT_EQ(c.version, 479);
    ASSERT_EQ(c.opaque, 7);
    ASSERT_EQ(c.flag, 0);
    ASSERT_EQ(c.serialize_type, RCMD_ROCKETMQ);
    ASSERT(!c.has_remark);
    ASSERT_EQ(c.nfields, 1);
    ASSERT_BYTES_EQ(rcmd_get(&c, "topic"), "TopicTest");
    ASSERT_EQ(c.body.len, 0);
    /* Re-encoding in the same type reproduces the spec bytes exactly. */
    buf_t out;
    buf_init(&out);
    rcmd_encode(&c, &out);
    ASSERT_EQ(out.len, sizeof spec_14_frame);
    ASSERT(memcmp(out.data, spec_14_frame, out.len) == 0);
    buf_deinit(&out);
    rcmd_deinit(&c);
}

TEST(json_ext_value_types_canonical)
{
    buf_t b;
    struct rcmd c;
    ASSERT_EQ(decode_json(&c, &b,
                          "{\"code\":310,\"extFields\":{\"a\":\"x\",\"queueId\":4,\"d\":-1,"
                          "\"t\":1700000000000,\"k\":false,\"u\":true,\"gone\":null,"
                          "\"big\":12345678901234567890},\"opaque\":9}"),
              TERN_OK);
    ASSERT_BYTES_EQ(rcmd_get(&c, "a"), "x");
    ASSERT_BYTES_EQ(rcmd_get(&c, "queueId"), "4");
    ASSERT_BYTES_EQ(rcmd_get(&c, "d"), "-1");
    ASSERT_BYTES_EQ(rcmd_get(&c, "t"), "1700000000000");
    ASSERT_BYTES_EQ(rcmd_get(&c, "k"), "false");
    ASSERT_BYTES_EQ(rcmd_get(&c, "u"), "true");
    ASSERT_BYTES_EQ(rcmd_get(&c, "big"), "12345678901234567890");
    ASSERT(!rcmd_has(&c, "gone"));
    ASSERT(rcmd_get(&c, "gone").ptr == NULL);
    ASSERT_EQ(c.nfields, 7);
    int32_t q = 0;
    int64_t t = 0;
    ASSERT_EQ(rcmd_get_i32(&c, "queueId", &q), TERN_OK);
    ASSERT_EQ(q, 4);
    ASSERT_EQ(rcmd_get_i64(&c, "t", &t), TERN_OK);
    ASSERT_EQ(t, 1700000000000LL);
    ASSERT_EQ(rcmd_get_i64(&c, "big", &t), TERN_EINVALID);
    ASSERT_EQ(rcmd_get_i64(&c, "gone", &t), TERN_ENOT_FOUND);
    ASSERT(!rcmd_get_bool(&c, "k"));
    ASSERT(rcmd_get_bool(&c, "u"));
    rcmd_deinit(&c);
    buf_deinit(&b);
}

TEST(json_missing_members_and_defaults)
{
    buf_t b;
    struct rcmd c;
    ASSERT_EQ(decode_json(&c, &b, "{\"code\":206,\"flag\":0,\"opaque\":3}"), TERN_OK);
    ASSERT_EQ(c.code, 206);
    ASSERT_EQ(c.version, 0);
    ASSERT_EQ(c.language, LANG_JAVA);
    ASSERT_EQ(c.nfields, 0);
    ASSERT(!c.has_remark);
    rcmd_deinit(&c);
    buf_deinit(&b);
    ASSERT_EQ(decode_json(&c, &b, "{\"code\":1,\"remark\":null,\"extFields\":null}"), TERN_OK);
    ASSERT(!c.has_remark);
    rcmd_deinit(&c);
    buf_deinit(&b);
    ASSERT_EQ(decode_json(&c, &b, "{\"code\":1,\"remark\":\"\"}"), TERN_OK);
    ASSERT(c.has_remark);
    ASSERT_EQ(c.remark.len, 0);
    rcmd_deinit(&c);
    buf_deinit(&b);
}

TEST(json_cpp_style_header)
{
    buf_t b;
    struct rcmd c;
    /* jsoncpp FastWriter: trailing newline, mixed types, CPP language. */
    ASSERT_EQ(decode_json(&c, &b,
                          "{\"code\":310,\"extFields\":{\"AccessKey\":\"\",\"OnsChannel\":\"\","
                          "\"Signature\":\"\",\"a\":\"G\",\"b\":\"T\",\"e\":3,\"f\":0},"
                          "\"flag\":0,\"language\":\"CPP\",\"opaque\":11,\"remark\":\"\","
                          "\"serializeTypeCurrentRPC\":\"JSON\",\"version\":333}\n"),
              TERN_OK);
    ASSERT_EQ(c.language, LANG_CPP);
    ASSERT_EQ(c.version, 333);
    ASSERT_BYTES_EQ(rcmd_get(&c, "e"), "3");
    ASSERT(rcmd_has(&c, "AccessKey"));
    ASSERT_EQ(rcmd_get(&c, "AccessKey").len, 0);
    rcmd_deinit(&c);
    buf_deinit(&b);
    /* Trailing whitespace of other kinds too, leading whitespace. */
    ASSERT_EQ(decode_json(&c, &b, " \r\n{\"code\":1} \t\r\n"), TERN_OK);
    rcmd_deinit(&c);
    buf_deinit(&b);
}

TEST(json_unknown_keys_and_order)
{
    buf_t b;
    struct rcmd c;
    ASSERT_EQ(decode_json(&c, &b,
                          "{\"version\":317,\"zz\":{\"n\":[1,2,{\"x\":null}]},\"opaque\":5,"
                          "\"extFields\":{\"k\":\"v\"},\"language\":\"GO\",\"w\":true,"
                          "\"code\":34,\"remark\":\"\",\"flag\":2}"),
              TERN_OK);
    ASSERT_EQ(c.code, 34);
    ASSERT_EQ(c.flag, RCMD_FLAG_ONEWAY);
    ASSERT_EQ(c.opaque, 5);
    ASSERT_EQ(c.language, LANG_GO);
    ASSERT_EQ(c.version, 317);
    ASSERT_BYTES_EQ(rcmd_get(&c, "k"), "v");
    rcmd_deinit(&c);
    buf_deinit(&b);
}

TEST(json_language_forms)
{
    buf_t b;
    struct rcmd c;
    ASSERT_EQ(decode_json(&c, &b, "{\"code\":1,\"language\":9}"), TERN_OK);
    ASSERT_EQ(c.language, LANG_GO);
    rcmd_deinit(&c);
    buf_deinit(&b);
    ASSERT_EQ(decode_json(&c, &b, "{\"code\":1,\"language\":\"NODE_JS\"}"), TERN_OK);
    ASSERT_EQ(c.language, LANG_NODE_JS);
    rcmd_deinit(&c);
    buf_deinit(&b);
    ASSERT_EQ(decode_json(&c, &b, "{\"code\":1,\"language\":\"COBOL\"}"), TERN_OK);
    ASSERT_EQ(c.language, LANG_OTHER);
    rcmd_deinit(&c);
    buf_deinit(&b);
}

TEST(json_escapes)
{
    buf_t b;
    struct rcmd c;
    /* Properties with \u0001/\u0002, an escaped quote, a surrogate pair (U+1F600),
     * a BMP escape (U+00E9) and a lone surrogate (Java writes '?'). */
    ASSERT_EQ(
        decode_json(&c, &b,
                    "{\"code\":10,\"extFields\":{\"i\":\"KEYS\\u0001k1\\u0002TAGS\\u0001t\\u0002\","
                    "\"q\":\"a\\\"b\\\\c\\/d\\n\",\"s\":\"\\ud83d\\ude00\",\"e\":\"\\u00e9\","
                    "\"l\":\"x\\ud800y\",\"k\\u0031\":\"v\"}}"),
        TERN_OK);
    ASSERT_BYTES_EQ(rcmd_get(&c, "i"), "KEYS\001k1\002TAGS\001t\002");
    ASSERT_BYTES_EQ(rcmd_get(&c, "q"), "a\"b\\c/d\n");
    ASSERT_BYTES_EQ(rcmd_get(&c, "s"), "\xf0\x9f\x98\x80");
    ASSERT_BYTES_EQ(rcmd_get(&c, "e"), "\xc3\xa9");
    ASSERT_BYTES_EQ(rcmd_get(&c, "l"), "x?y");
    ASSERT_BYTES_EQ(rcmd_get(&c, "k1"), "v");
    rcmd_deinit(&c);
    buf_deinit(&b);
}

TEST(json_malformed_rejected)
{
    static const char *const bad[] = {
        "",
        "[]",
        "{",
        "{\"code\":1",
        "{\"code\":1}x",
        "{\"code\":1}{}",
        "{\"code\":\"abc\"}",
        "{\"code\":1.5}",
        "{\"code\":99999999999}",
        "{\"code\":1,}",
        "{\"extFields\":{\"a\":\"\\q\"}}",
        "{\"extFields\":{\"a\":\"\\u12\"}}",
        "{\"extFields\":{\"a\" \"b\"}}",
        "{\"extFields\":[1]}",
        "{\"remark\":5}",
        "{\"code\":tru}",
        "{\"code\":1,\"x\":\"unterminated}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        buf_t b;
        struct rcmd c;
        int rc = decode_json(&c, &b, bad[i]);
        if (rc != TERN_EPROTOCOL)
            TEST_FAIL_("accepted or wrong error %d: %s", rc, bad[i]);
        rcmd_deinit(&c);
        buf_deinit(&b);
    }
}

TEST(json_deep_nesting_in_unknown_key)
{
    buf_t hdr, b;
    struct rcmd c;
    buf_init(&hdr);
    buf_append_cstr(&hdr, "{\"x\":");
    for (int i = 0; i < 200; i++)
        buf_append_u8(&hdr, '[');
    for (int i = 0; i < 200; i++)
        buf_append_u8(&hdr, ']');
    buf_append_cstr(&hdr, "}");
    char *s = buf_strdup(&hdr);
    int rc = decode_json(&c, &b, s);
    ASSERT(rc == TERN_EPROTOCOL || rc == TERN_ETOO_LARGE);
    free(s);
    rcmd_deinit(&c);
    buf_deinit(&b);
    buf_deinit(&hdr);
}

TEST(json_duplicate_keys_last_wins)
{
    buf_t b;
    struct rcmd c;
    ASSERT_EQ(
        decode_json(&c, &b,
                    "{\"code\":1,\"code\":2,\"extFields\":{\"a\":\"1\",\"b\":\"x\",\"a\":\"2\","
                    "\"b\":null}}"),
        TERN_OK);
    ASSERT_EQ(c.code, 2);
    ASSERT_EQ(c.nfields, 1);
    ASSERT_BYTES_EQ(rcmd_get(&c, "a"), "2");
    ASSERT(!rcmd_has(&c, "b"));
    rcmd_deinit(&c);
    buf_deinit(&b);
}

TEST(json_many_fields_grow)
{
    buf_t hdr, b;
    struct rcmd c;
    buf_init(&hdr);
    buf_append_cstr(&hdr, "{\"code\":1,\"extFields\":{");
    for (int i = 0; i < 100; i++)
        buf_printf(&hdr, "%s\"key%d\":\"val%d\"", i ? "," : "", i, i);
    buf_append_cstr(&hdr, "}}");
    char *s = buf_strdup(&hdr);
    ASSERT_EQ(decode_json(&c, &b, s), TERN_OK);
    ASSERT_EQ(c.nfields, 100);
    ASSERT_BYTES_EQ(rcmd_get(&c, "key0"), "val0");
    ASSERT_BYTES_EQ(rcmd_get(&c, "key99"), "val99");
    rcmd_deinit(&c);
    buf_deinit(&b);
    /* Over the limit: refused. */
    buf_reset(&hdr);
    buf_append_cstr(&hdr, "{\"extFields\":{");
    for (int i = 0; i < TERN_MAX_EXT_FIELDS + 1; i++)
        buf_printf(&hdr, "%s\"k%d\":\"v\"", i ? "," : "", i);
    buf_append_cstr(&hdr, "}}");
    free(s);
    s = buf_strdup(&hdr);
    ASSERT_EQ(decode_json(&c, &b, s), TERN_ETOO_LARGE);
    free(s);
    rcmd_deinit(&c);
    buf_deinit(&b);
    buf_deinit(&hdr);
}

/* Many escaped keys: each copy is sized by its own string, not by the rest of
 * the header (which made 20,000 keys cost gigabytes). */
TEST(json_many_escaped_keys_linear)
{
    buf_t hdr, b;
    struct rcmd c;
    buf_init(&hdr);
    buf_append_cstr(&hdr, "{\"code\":1,\"extFields\":{");
    for (int i = 0; i < 20000; i++)
        buf_append_cstr(&hdr, i ? ",\"\\n\":0" : "\"\\n\":0");
    buf_append_cstr(&hdr, ",\"k\\u0031\":\"v\\u0032\"}}");
    char *s = buf_strdup(&hdr);
    ASSERT_EQ(decode_json(&c, &b, s), TERN_OK);
    ASSERT_BYTES_EQ(rcmd_get(&c, "\n"), "0");
    ASSERT_BYTES_EQ(rcmd_get(&c, "k1"), "v2");
    rcmd_deinit(&c);
    buf_deinit(&b);
    /* An escaped string with no closing quote is still refused. */
    ASSERT_EQ(decode_json(&c, &b, "{\"code\":1,\"remark\":\"a\\nb"), TERN_EPROTOCOL);
    rcmd_deinit(&c);
    buf_deinit(&b);
    free(s);
    buf_deinit(&hdr);
}

TEST(binary_last_duplicate_wins_and_null)
{
    buf_t b;
    buf_init(&b);
    buf_append_be32(&b, 0); /* patched below */
    buf_append_be32(&b, 0);
    size_t h0 = b.len;
    buf_append_be16(&b, 11);
    buf_append_u8(&b, LANG_JAVA);
    buf_append_be16(&b, 479);
    buf_append_be32(&b, 42);
    buf_append_be32(&b, 0);
    buf_append_be32(&b, 4);
    buf_append(&b, "oops", 4);
    /* ext: a=1, b=x, a=2, b=<zero length>, <zero key>=z */
    size_t ext_len = (2 + 1 + 4 + 1) * 3 + (2 + 1 + 4) + (2 + 4 + 1);
    buf_append_be32(&b, (uint32_t)ext_len);
    const char *kv[][2] = {{"a", "1"}, {"b", "x"}, {"a", "2"}};
    for (int i = 0; i < 3; i++) {
        buf_append_be16(&b, 1);
        buf_append(&b, kv[i][0], 1);
        buf_append_be32(&b, 1);
        buf_append(&b, kv[i][1], 1);
    }
    buf_append_be16(&b, 1);
    buf_append(&b, "b", 1);
    buf_append_be32(&b, 0);
    buf_append_be16(&b, 0);
    buf_append_be32(&b, 1);
    buf_append(&b, "z", 1);
    size_t hlen = b.len - h0;
    buf_append(&b, "BODY", 4);
    be32_store(b.data, (uint32_t)(b.len - 4));
    be32_store(b.data + 4, 1u << 24 | (uint32_t)hlen);
    struct rcmd c;
    rcmd_init(&c);
    ASSERT_EQ(rcmd_decode(b.data, b.len, &c), TERN_OK);
    ASSERT_EQ(c.code, 11);
    ASSERT_EQ(c.opaque, 42);
    ASSERT(c.has_remark);
    ASSERT_BYTES_EQ(c.remark, "oops");
    ASSERT_EQ(c.nfields, 1);
    ASSERT_BYTES_EQ(rcmd_get(&c, "a"), "2");
    ASSERT(!rcmd_has(&c, "b"));
    ASSERT_BYTES_EQ(c.body, "BODY");
    rcmd_deinit(&c);
    buf_deinit(&b);
}

TEST(binary_malformed_rejected)
{
    buf_t out;
    buf_init(&out);
    /* Take the spec frame and corrupt lengths one at a time. */
    uint8_t f[sizeof spec_14_frame];
    struct rcmd c;
    /* remark length larger than the header */
    memcpy(f, spec_14_frame, sizeof f);
    f[24] = 0x7f;
    rcmd_init(&c);
    ASSERT_EQ(rcmd_decode(f, sizeof f, &c), TERN_EPROTOCOL);
    rcmd_deinit(&c);
    /* negative remark length */
    memcpy(f, spec_14_frame, sizeof f);
    f[21] = 0xff;
    rcmd_init(&c);
    ASSERT_EQ(rcmd_decode(f, sizeof f, &c), TERN_EPROTOCOL);
    rcmd_deinit(&c);
    /* ext length one byte too long */
    memcpy(f, spec_14_frame, sizeof f);
    f[28] = 0x15;
    rcmd_init(&c);
    ASSERT_EQ(rcmd_decode(f, sizeof f, &c), TERN_EPROTOCOL);
    rcmd_deinit(&c);
    /* value length overruns the ext block */
    memcpy(f, spec_14_frame, sizeof f);
    f[39] = 0x0a;
    rcmd_init(&c);
    ASSERT_EQ(rcmd_decode(f, sizeof f, &c), TERN_EPROTOCOL);
    rcmd_deinit(&c);
    /* negative key length */
    memcpy(f, spec_14_frame, sizeof f);
    f[29] = 0x80;
    rcmd_init(&c);
    ASSERT_EQ(rcmd_decode(f, sizeof f, &c), TERN_EPROTOCOL);
    rcmd_deinit(&c);
    /* truncated fixed part: header length 10 */
    static const uint8_t shortf[] = {0, 0, 0, 14, 1, 0, 0, 10, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0};
    rcmd_init(&c);
    ASSERT_EQ(rcmd_decode(shortf, sizeof shortf, &c), TERN_EPROTOCOL);
    rcmd_deinit(&c);
    buf_deinit(&out);
}

TEST(frame_peek_limits)
{
    size_t n = 0;
    uint8_t p[8] = {0, 0, 0, 4, 0, 0, 0, 0};
    ASSERT_EQ(rcmd_frame_peek(p, 0, &n), TERN_EAGAIN);
    ASSERT_EQ(rcmd_frame_peek(p, 3, &n), TERN_EAGAIN);
    ASSERT_EQ(rcmd_frame_peek(p, 4, &n), TERN_OK);
    ASSERT_EQ(n, 8);
    ASSERT_EQ(rcmd_frame_peek(p, 8, &n), TERN_OK);
    /* Too large: totalLength + 4 > 16 MiB. */
    be32_store(p, TERN_MAX_FRAME_BYTES - 4);
    ASSERT_EQ(rcmd_frame_peek(p, 4, &n), TERN_OK);
    ASSERT_EQ(n, TERN_MAX_FRAME_BYTES);
    be32_store(p, TERN_MAX_FRAME_BYTES - 3);
    ASSERT_EQ(rcmd_frame_peek(p, 4, &n), TERN_ETOO_LARGE);
    be32_store(p, 0xFFFFFFFFu);
    ASSERT_EQ(rcmd_frame_peek(p, 4, &n), TERN_ETOO_LARGE);
    /* Too small to hold the header length word. */
    be32_store(p, 3);
    ASSERT_EQ(rcmd_frame_peek(p, 4, &n), TERN_EPROTOCOL);
    /* Header length beyond the frame. */
    be32_store(p, 10);
    be32_store(p + 4, 7);
    ASSERT_EQ(rcmd_frame_peek(p, 8, &n), TERN_EPROTOCOL);
    be32_store(p + 4, 6);
    ASSERT_EQ(rcmd_frame_peek(p, 8, &n), TERN_OK);
    /* Serialize type other than 0/1. */
    be32_store(p + 4, 2u << 24 | 6);
    ASSERT_EQ(rcmd_frame_peek(p, 8, &n), TERN_EPROTOCOL);
}

TEST(frame_decode_checks)
{
    struct rcmd c;
    buf_t b;
    buf_init(&b);
    frame_json(&b, "{\"code\":1}", "xyz");
    /* Length word disagrees with the given frame length. */
    rcmd_init(&c);
    ASSERT_EQ(rcmd_decode(b.data, b.len - 1, &c), TERN_EPROTOCOL);
    rcmd_deinit(&c);
    /* Bad serialize type. */
    b.data[4] = 7;
    rcmd_init(&c);
    ASSERT_EQ(rcmd_decode(b.data, b.len, &c), TERN_EPROTOCOL);
    rcmd_deinit(&c);
    b.data[4] = 0;
    /* Header length beyond the frame. */
    be32_store(b.data + 4, (uint32_t)(b.len - 7));
    rcmd_init(&c);
    ASSERT_EQ(rcmd_decode(b.data, b.len, &c), TERN_EPROTOCOL);
    rcmd_deinit(&c);
    be32_store(b.data + 4, 10);
    rcmd_init(&c);
    ASSERT_EQ(rcmd_decode(b.data, b.len, &c), TERN_OK);
    ASSERT_BYTES_EQ(c.body, "xyz");
    rcmd_deinit(&c);
    rcmd_init(&c);
    ASSERT_EQ(rcmd_decode(b.data, 7, &c), TERN_EPROTOCOL);
    rcmd_deinit(&c);
    buf_deinit(&b);
}

TEST(json_writer_rules)
{
    struct rcmd req, resp;
    rcmd_init(&req);
    req.opaque = 77;
    rcmd_init_response(&resp, &req, RESP_SUCCESS);
    buf_t out;
    buf_init(&out);
    rcmd_encode(&resp, &out);
    const char *want =
        "{\"code\":0,\"extFields\":{},\"flag\":1,\"language\":\"JAVA\",\"opaque\":77,"
        "\"serializeTypeCurrentRPC\":\"JSON\",\"version\":479}";
    ASSERT_EQ(out.len, 8 + strlen(want));
    ASSERT_EQ(be32_load(out.data), 4 + strlen(want));
    ASSERT_EQ(be32_load(out.data + 4), strlen(want));
    ASSERT(memcmp(out.data + 8, want, strlen(want)) == 0);
    buf_reset(&out);
    rcmd_add_i64(&resp, "queueOffset", 123);
    rcmd_add_cstr(&resp, "msgId", "AB\x01\x1f\"\\");
    rcmd_set_remark(&resp, "no %s", "topic");
    resp.body = tern_cstr("BODY");
    rcmd_encode(&resp, &out);
    const char *want2 = "{\"code\":0,\"extFields\":{\"queueOffset\":\"123\",\"msgId\":"
                        "\"AB\\u0001\\u001f\\\"\\\\\"},"
                        "\"flag\":1,\"language\":\"JAVA\",\"opaque\":77,\"remark\":\"no topic\","
                        "\"serializeTypeCurrentRPC\":\"JSON\",\"version\":479}";
    size_t h = strlen(want2);
    ASSERT_EQ(out.len, 8 + h + 4);
    ASSERT_EQ(be32_load(out.data), 4 + h + 4);
    ASSERT_EQ(be32_load(out.data + 4), h);
    ASSERT(memcmp(out.data + 8, want2, h) == 0);
    ASSERT(memcmp(out.data + 8 + h, "BODY", 4) == 0);
    /* encode_header: same bytes minus the body, length still counts it. */
    buf_t hdr;
    buf_init(&hdr);
    rcmd_encode_header(&resp, &hdr);
    ASSERT_EQ(hdr.len, 8 + h);
    ASSERT(memcmp(hdr.data, out.data, hdr.len) == 0);
    buf_deinit(&hdr);
    buf_deinit(&out);
    rcmd_deinit(&resp);
    rcmd_deinit(&req);
}

/* The writer escapes exactly the bytes JSON needs, wherever they sit: it
 * copies eight plain bytes at a time, so each special byte is tried at every
 * position of strings up to three words long, against a byte-at-a-time
 * reference. 0x20, 0x7f and UTF-8 bytes stay as they are. */
static size_t ref_escape(const uint8_t *s, size_t n, char *out)
{
    size_t o = 0;
    out[o++] = '"';
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"' || s[i] == '\\')
            o += (size_t)sprintf(out + o, "\\%c", s[i]);
        else if (s[i] < 0x20)
            o += (size_t)sprintf(out + o, "\\u%04x", s[i]);
        else
            out[o++] = (char)s[i];
    }
    out[o++] = '"';
    return o;
}

/* Encodes a code-1 command whose one field is "v" = val (JSON). OUT: *out
 * (buf_init'ed here; the caller deinits). */
static void encode_v(tern_bytes_t val, buf_t *out)
{
    struct rcmd c;
    rcmd_init(&c);
    c.code = 1;
    rcmd_add(&c, "v", val);
    buf_init(out);
    rcmd_encode(&c, out);
    rcmd_deinit(&c);
}

TEST(json_writer_escapes_every_position)
{
    static const uint8_t specials[] = {0x00, 0x01, 0x02, 0x1f, '"', '\\', 0x20, 0x7f, 0xc3, 0xff};
    for (size_t si = 0; si < sizeof specials; si++) {
        for (size_t len = 1; len <= 24; len++) {
            for (size_t at = 0; at < len; at++) {
                uint8_t val[24];
                for (size_t i = 0; i < len; i++)
                    val[i] = (uint8_t)('a' + i % 26);
                val[at] = specials[si];
                if (at + 9 < len)
                    val[at + 9] = 0x02; /* a second special a word later */
                buf_t out;
                encode_v(tern_bytes(val, len), &out);
                char want[24 * 6 + 16] = "{\"code\":1,\"extFields\":{\"v\":";
                size_t pre = strlen(want);
                size_t wl = pre + ref_escape(val, len, want + pre);
                ASSERT(out.len >= 8 + wl);
                ASSERT(memcmp(out.data + 8, want, wl) == 0);
                ASSERT_EQ(out.data[8 + wl], '}');
                buf_deinit(&out);
            }
        }
    }
}

/* Random values with several special bytes each, against the same
 * reference, and back through both decoders (copying and in place), whose
 * scans also jump eight bytes at a time. */
TEST(json_string_escape_random_and_round_trip)
{
    static const uint8_t alphabet[] = {0x01, 0x02, '"', '\\', 'a', 'b', 0x1f, 0x20, 0x7f, 0xc3};
    uint32_t seed = 777;
    for (int round = 0; round < 4000; round++) {
        uint8_t v[48];
        size_t n = tst_rand_string(&seed, alphabet, sizeof alphabet, v, sizeof v);
        buf_t b;
        encode_v(tern_bytes(v, n), &b);
        struct rcmd c;
        char want[48 * 6 + 16] = "\"v\":";
        size_t pre = strlen(want);
        size_t wl = pre + ref_escape(v, n, want + pre);
        ASSERT(memmem(b.data, b.len, want, wl) != NULL);
        for (int mut = 0; mut < 2; mut++) {
            uint8_t *copy = malloc(b.len);
            memcpy(copy, b.data, b.len);
            rcmd_init(&c);
            ASSERT_EQ(mut ? rcmd_decode_mut(copy, b.len, &c) : rcmd_decode(copy, b.len, &c),
                      TERN_OK);
            tern_bytes_t got = rcmd_get(&c, "v");
            ASSERT_EQ(got.len, n);
            ASSERT(n == 0 || memcmp(got.ptr, v, n) == 0);
            rcmd_deinit(&c);
            free(copy);
        }
        buf_deinit(&b);
    }
}

TEST(response_in_request_serialize_type)
{
    struct rcmd req, resp;
    rcmd_init(&req);
    ASSERT_EQ(rcmd_decode(spec_14_frame, sizeof spec_14_frame, &req), TERN_OK);
    rcmd_init_response(&resp, &req, RESP_TOPIC_NOT_EXIST);
    ASSERT_EQ(resp.serialize_type, RCMD_ROCKETMQ);
    ASSERT_EQ(resp.opaque, 7);
    ASSERT_EQ(resp.flag, RCMD_FLAG_RESPONSE);
    rcmd_set_remark(&resp, "No topic route info in name server for the topic: %s", "TopicTest");
    rcmd_add_cstr(&resp, "empty", "");
    rcmd_add_cstr(&resp, "k", "v");
    buf_t out;
    buf_init(&out);
    rcmd_encode(&resp, &out);
    ASSERT_EQ(out.data[4], RCMD_ROCKETMQ);
    struct rcmd back;
    rcmd_init(&back);
    ASSERT_EQ(rcmd_decode(out.data, out.len, &back), TERN_OK);
    ASSERT_EQ(back.code, RESP_TOPIC_NOT_EXIST);
    ASSERT_EQ(back.opaque, 7);
    ASSERT_EQ(back.flag, 1);
    ASSERT_EQ(back.version, TERN_PROTOCOL_VERSION);
    ASSERT_BYTES_EQ(back.remark, "No topic route info in name server for the topic: TopicTest");
    ASSERT_EQ(back.nfields, 1); /* empty value is null in binary: not written */
    ASSERT_BYTES_EQ(rcmd_get(&back, "k"), "v");
    rcmd_deinit(&back);
    rcmd_deinit(&resp);
    rcmd_deinit(&req);
    /* JSON request -> JSON response. */
    buf_t b;
    ASSERT_EQ(decode_json(&req, &b, spec_13_header), TERN_OK);
    rcmd_init_response(&resp, &req, RESP_SUCCESS);
    ASSERT_EQ(resp.serialize_type, RCMD_JSON);
    buf_reset(&out);
    rcmd_encode(&resp, &out);
    ASSERT_EQ(out.data[4], RCMD_JSON);
    ASSERT_EQ(out.data[8], '{');
    rcmd_deinit(&resp);
    rcmd_deinit(&req);
    buf_deinit(&b);
    buf_deinit(&out);
}

/* decode -> encode -> decode keeps every field, in both encodings. */
static void check_round_trip(const uint8_t *frame, size_t len)
{
    struct rcmd a, b2;
    buf_t out;
    rcmd_init(&a);
    ASSERT_EQ(rcmd_decode(frame, len, &a), TERN_OK);
    buf_init(&out);
    rcmd_encode(&a, &out);
    rcmd_init(&b2);
    ASSERT_EQ(rcmd_decode(out.data, out.len, &b2), TERN_OK);
    ASSERT_EQ(a.code, b2.code);
    ASSERT_EQ(a.opaque, b2.opaque);
    ASSERT_EQ(a.flag, b2.flag);
    ASSERT_EQ(a.version, b2.version);
    ASSERT_EQ(a.language, b2.language);
    ASSERT_EQ(a.has_remark, b2.has_remark);
    ASSERT(tern_bytes_eq(a.remark, b2.remark));
    ASSERT_EQ(a.nfields, b2.nfields);
    for (size_t i = 0; i < a.nfields; i++) {
        ASSERT(tern_bytes_eq(a.fields[i].key, b2.fields[i].key));
        ASSERT(tern_bytes_eq(a.fields[i].val, b2.fields[i].val));
    }
    ASSERT(tern_bytes_eq(a.body, b2.body));
    rcmd_deinit(&b2);
    rcmd_deinit(&a);
    buf_deinit(&out);
}

TEST(round_trip_both_encodings)
{
    check_round_trip(spec_14_frame, sizeof spec_14_frame);
    buf_t b;
    buf_init(&b);
    frame_json(&b,
               "{\"code\":310,\"extFields\":{\"a\":\"PG\",\"b\":\"T\\u0001\",\"e\":3,\"k\":true,"
               "\"i\":\"KEYS\\u0001k\\u0002\",\"s\":\"\\ud83d\\ude00\"},\"flag\":0,"
               "\"language\":\"CPP\",\"opaque\":-5,\"remark\":\"r\\\"\",\"version\":333}\n",
               "hello body");
    check_round_trip(b.data, b.len);
    buf_deinit(&b);
}

TEST(parse_i64_java_rules)
{
    int64_t v = 0;
    ASSERT_EQ(parse_i64(tern_cstr("0"), &v), TERN_OK);
    ASSERT_EQ(v, 0);
    ASSERT_EQ(parse_i64(tern_cstr("+17"), &v), TERN_OK);
    ASSERT_EQ(v, 17);
    ASSERT_EQ(parse_i64(tern_cstr("-9223372036854775808"), &v), TERN_OK);
    ASSERT(v == INT64_MIN);
    ASSERT_EQ(parse_i64(tern_cstr("9223372036854775807"), &v), TERN_OK);
    ASSERT(v == INT64_MAX);
    ASSERT_EQ(parse_i64(tern_cstr("9223372036854775808"), &v), TERN_EINVALID);
    ASSERT_EQ(parse_i64(tern_cstr("-9223372036854775809"), &v), TERN_EINVALID);
    ASSERT_EQ(parse_i64(tern_cstr("-9223372036854775810"), &v), TERN_EINVALID);
    ASSERT_EQ(parse_i64(tern_cstr("9999999999999999999"), &v), TERN_EINVALID);
    ASSERT_EQ(parse_i64(tern_cstr("-9223372036854775800"), &v), TERN_OK);
    ASSERT(v == INT64_MIN + 8);
    ASSERT_EQ(parse_i64(tern_cstr(""), &v), TERN_EINVALID);
    ASSERT_EQ(parse_i64(tern_cstr("-"), &v), TERN_EINVALID);
    ASSERT_EQ(parse_i64(tern_cstr(" 1"), &v), TERN_EINVALID);
    ASSERT_EQ(parse_i64(tern_cstr("1.0"), &v), TERN_EINVALID);
    ASSERT_EQ(parse_i64(TERN_BYTES_NULL, &v), TERN_EINVALID);
}

TEST(accessors)
{
    struct rcmd c;
    rcmd_init(&c);
    rcmd_add_cstr(&c, "topic", "T1");
    rcmd_add_cstr(&c, "b", "TopicV2");
    rcmd_add_cstr(&c, "flagT", "TRUE");
    rcmd_add_cstr(&c, "flag1", "1");
    rcmd_add_i64(&c, "big", -4000000000LL);
    rcmd_add_cstr(&c, "topic", "T2");
    static const char k[] = "ref", v[] = "val";
    rcmd_add_ref(&c, tern_bytes(k, 3), tern_bytes(v, 3));
    ASSERT_BYTES_EQ(rcmd_get(&c, "topic"), "T2"); /* last wins */
    ASSERT_BYTES_EQ(rcmd_get2(&c, "topicX", "b"), "TopicV2");
    ASSERT_BYTES_EQ(rcmd_get2(&c, "topic", "b"), "T2");
    ASSERT(rcmd_get2(&c, "nope", "nada").ptr == NULL);
    ASSERT(rcmd_get_bool(&c, "flagT"));
    ASSERT(!rcmd_get_bool(&c, "flag1"));
    ASSERT(!rcmd_get_bool(&c, "missing"));
    int32_t i32;
    int64_t i64;
    ASSERT_EQ(rcmd_get_i32(&c, "big", &i32), TERN_EINVALID);
    ASSERT_EQ(rcmd_get_i64(&c, "big", &i64), TERN_OK);
    ASSERT_EQ(i64, -4000000000LL);
    ASSERT_EQ(rcmd_get_i32(&c, "topic", &i32), TERN_EINVALID);
    ASSERT_EQ(rcmd_get_i32(&c, "none", &i32), TERN_ENOT_FOUND);
    ASSERT_BYTES_EQ(rcmd_get(&c, "ref"), "val");
    ASSERT(rcmd_get(&c, "ref").ptr == (const uint8_t *)v);
    for (int i = 0; i < 50; i++)
        rcmd_add_i64(&c, "n", i);
    ASSERT_EQ(rcmd_get_i64(&c, "n", &i64), TERN_OK);
    ASSERT_EQ(i64, 49);
    ASSERT_BYTES_EQ(rcmd_get(&c, "topic"), "T2");
    rcmd_deinit(&c);
}

TEST_MAIN()
