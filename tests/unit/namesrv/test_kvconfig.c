/* SPDX-License-Identifier: Apache-2.0 */
/* test_kvconfig.c: the name server's namespaced KV store (namesrv/kvconfig.c). */
#include "harness.h"
#include "namesrv/kvconfig.h"

TEST(put_get_replace_delete)
{
    struct kvconfig *kv;
    ASSERT_EQ(kvconfig_new(&kv), TERN_OK);
    buf_t out;
    buf_init(&out);
    ASSERT_EQ(kvconfig_get(kv, tern_cstr("NS"), tern_cstr("k"), &out), TERN_ENOT_FOUND);
    kvconfig_put(kv, tern_cstr("NS"), tern_cstr("k"), tern_cstr("v1"));
    kvconfig_put(kv, tern_cstr("NS"), tern_cstr("k"), tern_cstr("v2"));
    ASSERT_EQ(kvconfig_get(kv, tern_cstr("NS"), tern_cstr("k"), &out), TERN_OK);
    ASSERT_BYTES_EQ(buf_view(&out), "v2");
    buf_reset(&out);
    ASSERT_EQ(kvconfig_get(kv, tern_cstr("OTHER"), tern_cstr("k"), &out), TERN_ENOT_FOUND);
    kvconfig_delete(kv, tern_cstr("NS"), tern_cstr("k"));
    kvconfig_delete(kv, tern_cstr("NS"), tern_cstr("absent"));
    ASSERT_EQ(kvconfig_get(kv, tern_cstr("NS"), tern_cstr("k"), &out), TERN_ENOT_FOUND);
    ASSERT_EQ(kvconfig_encode_namespace(kv, tern_cstr("NS"), &out), TERN_ENOT_FOUND);
    ASSERT_EQ(out.len, 0);
    buf_deinit(&out);
    kvconfig_free(kv);
    kvconfig_free(NULL);
}

TEST(encode_namespace_sorted)
{
    struct kvconfig *kv;
    ASSERT_EQ(kvconfig_new(&kv), TERN_OK);
    kvconfig_put(kv, tern_cstr(KV_NAMESPACE_ORDER_TOPIC_CONFIG), tern_cstr("T2"),
                 tern_cstr("broker-a:4"));
    kvconfig_put(kv, tern_cstr(KV_NAMESPACE_ORDER_TOPIC_CONFIG), tern_cstr("T1"),
                 tern_cstr("broker-a:8;broker-b:8"));
    kvconfig_put(kv, tern_cstr("PROJECT_CONFIG"), tern_cstr("x"), tern_cstr(""));
    buf_t out;
    buf_init(&out);
    ASSERT_EQ(kvconfig_encode_namespace(kv, tern_cstr(KV_NAMESPACE_ORDER_TOPIC_CONFIG), &out),
              TERN_OK);
    ASSERT_BYTES_EQ(buf_view(&out),
                    "{\"table\":{\"T1\":\"broker-a:8;broker-b:8\",\"T2\":\"broker-a:4\"}}");
    buf_reset(&out);
    ASSERT_EQ(kvconfig_encode_namespace(kv, tern_cstr("PROJECT_CONFIG"), &out), TERN_OK);
    ASSERT_BYTES_EQ(buf_view(&out), "{\"table\":{\"x\":\"\"}}");
    buf_deinit(&out);
    kvconfig_free(kv);
}

TEST_MAIN()
