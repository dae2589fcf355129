/* SPDX-License-Identifier: Apache-2.0 */
/* test_json.c: the lenient JSON reader and the compact writer (spec §2.3, §6.6). */
#include "harness.h"

#include "common/limits.h"
#include "protocol/json.h"

static int parse(arena_t *a, const char *s, struct json_val **v)
{
    arena_init(a);
    return json_parse(tern_cstr(s), a, v);
}

TEST(parse_basic_types)
{
    arena_t a;
    struct json_val *v = NULL;
    ASSERT_EQ(parse(&a,
                    "{\"s\":\"str\",\"n\":-12,\"f\":1.5e3,\"t\":true,\"fa\":false,\"z\":null,"
                    "\"arr\":[1,\"two\",[],{}],\"o\":{\"x\":1}}",
                    &v),
              TERN_OK);
    ASSERT_EQ(v->type, JSON_OBJECT);
    ASSERT_EQ(v->n, 8);
    ASSERT_BYTES_EQ(json_get_str(v, "s"), "str");
    ASSERT_EQ(json_get(v, "n")->type, JSON_NUMBER);
    ASSERT_BYTES_EQ(json_get(v, "n")->str, "-12");
    ASSERT_BYTES_EQ(json_get(v, "f")->str, "1.5e3");
    ASSERT(json_get_bool(v, "t", false));
    ASSERT(!json_get_bool(v, "fa", true));
    ASSERT(json_get_bool(v, "missing", true));
    ASSERT_EQ(json_get(v, "z")->type, JSON_NULL);
    const struct json_val *arr = json_get(v, "arr");
    ASSERT_EQ(arr->type, JSON_ARRAY);
    ASSERT_EQ(arr->n, 4);
    ASSERT_BYTES_EQ(arr->items[1].str, "two");
    ASSERT_EQ(arr->items[2].type, JSON_ARRAY);
    ASSERT_EQ(arr->items[2].n, 0);
    ASSERT_EQ(arr->items[3].type, JSON_OBJECT);
    int64_t x = 0;
    ASSERT_EQ(json_get_i64(json_get(v, "o"), "x", &x), TERN_OK);
    ASSERT_EQ(x, 1);
    ASSERT_EQ(json_get_i64(v, "n", &x), TERN_OK);
    ASSERT_EQ(x, -12);
    ASSERT_EQ(json_get_i64(v, "f", &x), TERN_EINVALID);
    ASSERT_EQ(json_get_i64(v, "s", &x), TERN_EINVALID);
    ASSERT_EQ(json_get_i64(v, "t", &x), TERN_EINVALID);
    ASSERT_EQ(json_get_i64(v, "none", &x), TERN_ENOT_FOUND);
    ASSERT(json_get(arr, "x") == NULL);
    ASSERT(json_get_str(v, "none").ptr == NULL);
    arena_deinit(&a);
}

TEST(parse_numeric_string_and_string_bool)
{
    arena_t a;
    struct json_val *v = NULL;
    ASSERT_EQ(parse(&a, "{\"subVersion\":\"1700000000000\",\"unitMode\":\"true\"}", &v), TERN_OK);
    int64_t x = 0;
    ASSERT_EQ(json_get_i64(v, "subVersion", &x), TERN_OK);
    ASSERT_EQ(x, 1700000000000LL);
    ASSERT(json_get_bool(v, "unitMode", false));
    arena_deinit(&a);
}

TEST(parse_fastjson_integer_keys)
{
    arena_t a;
    struct json_val *v = NULL;
    ASSERT_EQ(parse(&a, "{\"brokerAddrs\":{0:\"10.0.0.1:10911\",1:\"10.0.0.2:10911\"}}", &v),
              TERN_OK);
    const struct json_val *addrs = json_get(v, "brokerAddrs");
    ASSERT(addrs);
    ASSERT_EQ(addrs->n, 2);
    ASSERT_BYTES_EQ(json_get_str(addrs, "0"), "10.0.0.1:10911");
    ASSERT_BYTES_EQ(json_get_str(addrs, "1"), "10.0.0.2:10911");
    arena_deinit(&a);
}

TEST(parse_object_keys_raw_text)
{
    arena_t a;
    struct json_val *v = NULL;
    const char *k1 = "{\"brokerName\":\"b\",\"queueId\":0,\"topic\":\"T\"}";
    const char *k2 = "{\"brokerName\":\"b\",\"queueId\":1,\"topic\":\"T\"}";
    ASSERT_EQ(parse(&a,
                    "{\"offsetTable\":{{\"brokerName\":\"b\",\"queueId\":0,\"topic\":\"T\"}:5,"
                    "{\"brokerName\":\"b\",\"queueId\":1,\"topic\":\"T\"}:{\"x\":7}}}",
                    &v),
              TERN_OK);
    const struct json_val *t = json_get(v, "offsetTable");
    ASSERT_EQ(t->n, 2);
    ASSERT_BYTES_EQ(t->keys[0], k1);
    ASSERT_BYTES_EQ(t->keys[1], k2);
    int64_t x = 0;
    ASSERT_EQ(json_get_i64(t, k1, &x), TERN_OK);
    ASSERT_EQ(x, 5);
    /* The key text parses on its own. */
    struct json_val *kv = NULL;
    ASSERT_EQ(json_parse(t->keys[1], &a, &kv), TERN_OK);
    ASSERT_EQ(json_get_i64(kv, "queueId", &x), TERN_OK);
    ASSERT_EQ(x, 1);
    arena_deinit(&a);
}

TEST(parse_trailing_whitespace_and_garbage)
{
    arena_t a;
    struct json_val *v = NULL;
    ASSERT_EQ(parse(&a, "{\"a\":1}\n", &v), TERN_OK);
    arena_deinit(&a);
    ASSERT_EQ(parse(&a, "  [1 , 2 ]\r\n\t ", &v), TERN_OK);
    ASSERT_EQ(v->n, 2);
    arena_deinit(&a);
    static const char *const bad[] = {
        "{\"a\":1}x", "{\"a\":1}}", "[1,2]]",     "",          "   ",   "{\"a\"}", "{\"a\":}",
        "[1,]",       "{,}",        "[01x]",      "\"abc",     "tru",   "nul",     "-",
        "1.",         "1e",         "{\"a\":1,}", "{\"a\" 1}", "[1 2]", "\"\\x\"", "{:1}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = parse(&a, bad[i], &v);
        if (rc != TERN_EPROTOCOL)
            TEST_FAIL_("accepted or wrong error %d: '%s'", rc, bad[i]);
        arena_deinit(&a);
    }
}

TEST(parse_depth_cap)
{
    arena_t a;
    struct json_val *v = NULL;
    buf_t b;
    buf_init(&b);
    for (int i = 0; i < TERN_MAX_JSON_DEPTH; i++)
        buf_append_u8(&b, '[');
    for (int i = 0; i < TERN_MAX_JSON_DEPTH; i++)
        buf_append_u8(&b, ']');
    arena_init(&a);
    ASSERT_EQ(json_parse(buf_view(&b), &a, &v), TERN_OK);
    arena_deinit(&a);
    buf_reset(&b);
    for (int i = 0; i < TERN_MAX_JSON_DEPTH + 1; i++)
        buf_append_u8(&b, '[');
    for (int i = 0; i < TERN_MAX_JSON_DEPTH + 1; i++)
        buf_append_u8(&b, ']');
    arena_init(&a);
    ASSERT_EQ(json_parse(buf_view(&b), &a, &v), TERN_ETOO_LARGE);
    arena_deinit(&a);
    /* Deep objects, unterminated: still an error, never a crash. */
    buf_reset(&b);
    for (int i = 0; i < 100000; i++)
        buf_append_cstr(&b, "{\"a\":");
    arena_init(&a);
    ASSERT_EQ(json_parse(buf_view(&b), &a, &v), TERN_ETOO_LARGE);
    arena_deinit(&a);
    buf_deinit(&b);
}

TEST(parse_escapes_and_copies)
{
    arena_t a;
    struct json_val *v = NULL;
    char text[] = "[\"a\\u0001b\\u0002\",\"\\ud83d\\ude00\",\"plain\",\"\\u4e2d\",\"\\udc00\"]";
    ASSERT_EQ(parse(&a, text, &v), TERN_OK);
    ASSERT_BYTES_EQ(v->items[0].str, "a\001b\002");
    ASSERT_BYTES_EQ(v->items[1].str, "\xf0\x9f\x98\x80");
    ASSERT_BYTES_EQ(v->items[3].str, "\xe4\xb8\xad");
    ASSERT_BYTES_EQ(v->items[4].str, "?");
    /* Strings are arena copies: independent of the input text. */
    memset(text, 'X', sizeof text - 1);
    ASSERT_BYTES_EQ(v->items[2].str, "plain");
    ASSERT_EQ(v->items[2].str.ptr[5], '\0');
    arena_deinit(&a);
}

TEST(parse_duplicate_key_last_wins)
{
    arena_t a;
    struct json_val *v = NULL;
    ASSERT_EQ(parse(&a, "{\"a\":1,\"a\":2}", &v), TERN_OK);
    int64_t x = 0;
    ASSERT_EQ(json_get_i64(v, "a", &x), TERN_OK);
    ASSERT_EQ(x, 2);
    arena_deinit(&a);
}

TEST(parse_large_array)
{
    arena_t a;
    struct json_val *v = NULL;
    buf_t b;
    buf_init(&b);
    buf_append_u8(&b, '[');
    for (int i = 0; i < 5000; i++)
        buf_printf(&b, "%s{\"i\":%d}", i ? "," : "", i);
    buf_append_u8(&b, ']');
    arena_init(&a);
    ASSERT_EQ(json_parse(buf_view(&b), &a, &v), TERN_OK);
    ASSERT_EQ(v->n, 5000);
    int64_t x = 0;
    ASSERT_EQ(json_get_i64(&v->items[4321], "i", &x), TERN_OK);
    ASSERT_EQ(x, 4321);
    arena_deinit(&a);
    buf_deinit(&b);
}

TEST(writer_compact_and_commas)
{
    buf_t b;
    buf_init(&b);
    jw_t w;
    jw_init(&w, &b);
    jw_obj_begin(&w);
    jw_key(&w, "a");
    jw_i64(&w, -5);
    jw_key(&w, "b");
    jw_arr_begin(&w);
    jw_cstr(&w, "x");
    jw_bool(&w, true);
    jw_null(&w);
    jw_obj_begin(&w);
    jw_obj_end(&w);
    jw_arr_begin(&w);
    jw_arr_end(&w);
    jw_arr_end(&w);
    jw_key_bytes(&w, tern_cstr("c\n"));
    jw_raw(&w, tern_cstr("{\"r\":1}"));
    jw_key(&w, "d");
    jw_str(&w, tern_bytes("\x01\x02\"\\/\x7f", 6));
    jw_obj_end(&w);
    char *s = buf_strdup(&b);
    ASSERT_STR_EQ(s, "{\"a\":-5,\"b\":[\"x\",true,null,{},[]],\"c\\u000a\":{\"r\":1},"
                     "\"d\":\"\\u0001\\u0002\\\"\\\\/\x7f\"}");
    /* Our output parses back. */
    arena_t a;
    struct json_val *v = NULL;
    arena_init(&a);
    ASSERT_EQ(json_parse(buf_view(&b), &a, &v), TERN_OK);
    ASSERT_BYTES_EQ(json_get_str(v, "d"), "\x01\x02\"\\/\x7f");
    arena_deinit(&a);
    free(s);
    buf_deinit(&b);
}

TEST(write_string_all_controls)
{
    buf_t b;
    buf_init(&b);
    uint8_t raw[32];
    for (int i = 0; i < 32; i++)
        raw[i] = (uint8_t)i;
    json_write_string(&b, tern_bytes(raw, 32));
    ASSERT_EQ(b.len, 2 + 32 * 6);
    for (int i = 0; i < 32; i++) {
        char e[7];
        snprintf(e, sizeof e, "\\u%04x", i);
        ASSERT(memcmp(b.data + 1 + i * 6, e, 6) == 0);
    }
    buf_deinit(&b);
}

TEST_MAIN()
