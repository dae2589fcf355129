/* SPDX-License-Identifier: Apache-2.0 */
/* test_buf.c: buf_t, arena, strmap, hashes. */
#include "harness.h"

#include "common/arena.h"
#include "common/buf.h"
#include "common/hash.h"
#include "common/strmap.h"

TEST(buf_append_and_numbers)
{
    buf_t b;
    buf_init(&b);
    buf_append_cstr(&b, "x=");
    buf_append_i64(&b, -1234567890123LL);
    buf_append_u8(&b, ';');
    buf_append_i64(&b, 0);
    ASSERT_BYTES_EQ(buf_view(&b), "x=-1234567890123;0");
    buf_reset(&b);
    buf_append_be32(&b, 0x01020304);
    ASSERT_EQ(b.len, 4);
    ASSERT_EQ(be32_load(b.data), 0x01020304);
    buf_consume(&b, 2);
    ASSERT_EQ(be16_load(b.data), 0x0304);
    buf_deinit(&b);
}

TEST(reader_bounds)
{
    uint8_t d[3] = {1, 2, 3};
    reader_t r = reader_of(d, 3);
    uint16_t v;
    uint32_t w;
    ASSERT_EQ(rd_u16(&r, &v), TERN_OK);
    ASSERT_EQ(v, 0x0102);
    ASSERT_EQ(rd_u32(&r, &w), TERN_EPROTOCOL);
    ASSERT_EQ(r.pos, 2);
}

TEST(arena_keeps_views)
{
    arena_t a;
    arena_init(&a);
    tern_bytes_t first = arena_copy(&a, tern_cstr("hello"));
    for (int i = 0; i < 1000; i++)
        arena_alloc(&a, 100);
    ASSERT_BYTES_EQ(first, "hello");
    arena_deinit(&a);
}

TEST(java_hash_and_crc)
{
    ASSERT_EQ(java_string_hash((const uint8_t *)"TagA", 4), 2598919);
    ASSERT_EQ(java_string_hash((const uint8_t *)"*", 1), 42);
    /* "é" is U+00E9: hash 233. "😀" is a surrogate pair D83D DE00. */
    ASSERT_EQ(java_string_hash((const uint8_t *)"\xc3\xa9", 2), 233);
    ASSERT_EQ(java_string_hash((const uint8_t *)"\xf0\x9f\x98\x80", 4), 0xD83D * 31 + 0xDE00);
    ASSERT_EQ(crc32_java((const uint8_t *)"123456789", 9), 0xCBF43926 & 0x7FFFFFFF);
}

TEST(strmap_put_get_del)
{
    strmap_t m;
    strmap_init(&m);
    char keys[200][16];
    for (int i = 0; i < 200; i++) {
        snprintf(keys[i], sizeof keys[i], "k%d", i);
        ASSERT(strmap_put(&m, tern_cstr(keys[i]), keys[i]) == NULL);
    }
    ASSERT_EQ(strmap_count(&m), 200);
    for (int i = 0; i < 200; i += 2)
        ASSERT(strmap_del(&m, tern_cstr(keys[i])) == keys[i]);
    ASSERT_EQ(strmap_count(&m), 100);
    ASSERT(strmap_get_cstr(&m, "k3") == keys[3]);
    ASSERT(strmap_get_cstr(&m, "k4") == NULL);
    size_t it = 0, n = 0;
    const char *k;
    void *v;
    while (strmap_next(&m, &it, &k, &v))
        n++;
    ASSERT_EQ(n, 100);
    strmap_deinit(&m);
}

TEST_MAIN()
