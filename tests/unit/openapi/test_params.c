/* SPDX-License-Identifier: Apache-2.0 */
/* test_params.c: form decoding, merging, duplicates, aliases, limits and
 * sorting of request parameters (spec/open-api.md §2.2, §2.4). */
#include "harness.h"

#include "common/error.h"
#include "openapi/params.h"

TEST(decodes_escapes_and_plus)
{
    struct http_params p;
    http_params_init(&p);
    ASSERT_EQ(http_params_parse(&p, tern_cstr("a=x+y%2Bz%3D&b=%E4%B8%AD&c&=skip&&d=")), TERN_OK);
    ASSERT_EQ(p.n, 4);
    ASSERT_BYTES_EQ(http_params_get(&p, "a")->value, "x y+z=");
    ASSERT_BYTES_EQ(http_params_get(&p, "b")->value, "\xE4\xB8\xAD");
    ASSERT_BYTES_EQ(http_params_get(&p, "c")->value, "");
    ASSERT_BYTES_EQ(http_params_get(&p, "d")->value, "");
    http_params_deinit(&p);
}

TEST(query_and_body_merge_and_duplicates_fail)
{
    struct http_params p;
    http_params_init(&p);
    ASSERT_EQ(http_params_parse(&p, tern_cstr("a=1")), TERN_OK);
    ASSERT_EQ(http_params_parse(&p, tern_cstr("b=2")), TERN_OK);
    ASSERT_EQ(p.n, 2);
    ASSERT_EQ(http_params_parse(&p, tern_cstr("a=3")), TERN_EEXISTS);
    http_params_deinit(&p);
    http_params_init(&p);
    /* Same name after decoding is a duplicate too. */
    ASSERT_EQ(http_params_parse(&p, tern_cstr("topic=1&%74opic=2")), TERN_EEXISTS);
    http_params_deinit(&p);
}

TEST(bad_input_is_refused)
{
    const char *bad[] = {"a=%", "a=%4", "a=%zz", "a=%00", "a=%C3%28", "a=%ED%A0%80", "%FF=1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct http_params p;
        http_params_init(&p);
        ASSERT_EQ(http_params_parse(&p, tern_cstr(bad[i])), TERN_EPROTOCOL);
        http_params_deinit(&p);
    }
}

TEST(limits)
{
    struct http_params p;
    http_params_init(&p);
    char q[HTTP_MAX_PARAMS * 8 + 16] = "";
    size_t o = 0;
    for (int i = 0; i <= HTTP_MAX_PARAMS; i++)
        o += (size_t)snprintf(q + o, sizeof q - o, "k%d=v&", i);
    ASSERT_EQ(http_params_parse(&p, tern_cstr(q)), TERN_ETOO_LARGE);
    http_params_deinit(&p);

    static char big[HTTP_MAX_VALUE_BYTES + 8];
    memset(big, 'x', sizeof big - 1);
    memcpy(big, "a=", 2);
    http_params_init(&p);
    ASSERT_EQ(http_params_parse(&p, tern_cstr(big)), TERN_ETOO_LARGE);
    http_params_deinit(&p);
    big[HTTP_MAX_VALUE_BYTES + 2] = '\0'; /* exactly the limit */
    http_params_init(&p);
    ASSERT_EQ(http_params_parse(&p, tern_cstr(big)), TERN_OK);
    http_params_deinit(&p);
}

TEST(pascal_case_alias_and_camel_case_wins)
{
    struct http_params p;
    http_params_init(&p);
    ASSERT_EQ(http_params_parse(&p, tern_cstr("GroupId=G1&InstanceId=I1&instanceId=I2")), TERN_OK);
    ASSERT_BYTES_EQ(http_params_get(&p, "groupId")->value, "G1");
    ASSERT_BYTES_EQ(http_params_get(&p, "instanceId")->value, "I2");
    ASSERT(http_params_get(&p, "msgId") == NULL);
    http_params_deinit(&p);
}

TEST(sorted_in_byte_order)
{
    struct http_params p;
    http_params_init(&p);
    ASSERT_EQ(http_params_parse(&p, tern_cstr("topic=a&_accesskey=b&__preventCache=c&Zed=d&t=e")),
              TERN_OK);
    size_t idx[HTTP_MAX_PARAMS];
    http_params_sorted(&p, idx);
    const char *want[] = {"Zed", "__preventCache", "_accesskey", "t", "topic"};
    for (size_t i = 0; i < 5; i++)
        ASSERT_BYTES_EQ(p.items[idx[i]].name, want[i]);
    http_params_deinit(&p);
}

TEST_MAIN()
