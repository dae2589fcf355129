/* SPDX-License-Identifier: Apache-2.0 */
/* test_props.c: the properties string and Java's parsing rules (spec §5.1). */
#include "harness.h"

#include "protocol/props.h"

/* Collects "k=v;" for every pair props_next yields. */
static char *pairs(const char *raw, size_t len)
{
    static char out[512];
    size_t it = 0, n = 0;
    tern_bytes_t k, v;
    out[0] = '\0';
    while (props_next(tern_bytes(raw, len), &it, &k, &v))
        n += (size_t)snprintf(out + n, sizeof out - n, "%.*s=%.*s;", (int)k.len,
                              (const char *)k.ptr, (int)v.len, (const char *)v.ptr);
    return out;
}

#define PAIRS(lit) pairs(lit, sizeof(lit) - 1)

TEST(java_parse_rules)
{
    ASSERT_STR_EQ(PAIRS("TAGS\001TagA\002KEYS\001k1 k2\002"), "TAGS=TagA;KEYS=k1 k2;");
    /* Last pair without the trailing 0x02 still counts. */
    ASSERT_STR_EQ(PAIRS("A\001b\002C\001d"), "A=b;C=d;");
    /* Empty value, empty key, no separator, short segments: dropped. */
    ASSERT_STR_EQ(PAIRS("A\001\002\001x\002noval\002\002\002ab\002K\001v\002"), "K=v;");
    /* Value keeps later 0x01 bytes (key = text before the first 0x01). */
    ASSERT_STR_EQ(PAIRS("K\001a\001b\002"), "K=a\001b;");
    ASSERT_STR_EQ(PAIRS(""), "");
    ASSERT_STR_EQ(PAIRS("\002\002\002"), "");
    ASSERT_STR_EQ(PAIRS("\001"), "");
}

TEST(get_last_wins)
{
    static const char p[] = "TAGS\001a\002UNIQ_KEY\001U1\002TAGS\001b\002";
    tern_bytes_t v;
    ASSERT(props_get(tern_bytes(p, sizeof p - 1), PROP_TAGS, &v));
    ASSERT_BYTES_EQ(v, "b");
    ASSERT(props_get(tern_bytes(p, sizeof p - 1), PROP_UNIQ_KEY, &v));
    ASSERT_BYTES_EQ(v, "U1");
    ASSERT(!props_get(tern_bytes(p, sizeof p - 1), PROP_KEYS, &v));
    ASSERT(!props_get(tern_bytes(p, sizeof p - 1), "TAG", &v));
    ASSERT(!props_get(TERN_BYTES_NULL, PROP_TAGS, &v));
}

TEST(append_and_copy_except)
{
    buf_t b, c;
    buf_init(&b);
    buf_init(&c);
    props_append(&b, PROP_TAGS, tern_cstr("t"));
    props_append(&b, PROP_WAIT, tern_cstr("true"));
    props_append(&b, PROP_DELAY, tern_cstr("3"));
    ASSERT_EQ(b.len, strlen("TAGS\001t\002WAIT\001true\002DELAY\0013\002"));
    ASSERT(memcmp(b.data, "TAGS\001t\002WAIT\001true\002DELAY\0013\002", b.len) == 0);
    static const char *const skip[] = {PROP_WAIT, PROP_DELAY, NULL};
    props_copy_except(&c, buf_view(&b), skip);
    ASSERT_EQ(c.len, 7);
    ASSERT(memcmp(c.data, "TAGS\001t\002", 7) == 0);
    buf_reset(&c);
    props_copy_except(&c, buf_view(&b), NULL);
    ASSERT_EQ(c.len, b.len);
    /* Malformed segments are normalised away on copy. */
    buf_reset(&c);
    static const char messy[] = "\002A\001\002B\001x";
    props_copy_except(&c, tern_bytes(messy, sizeof messy - 1), NULL);
    ASSERT_EQ(c.len, 4);
    ASSERT(memcmp(c.data, "B\001x\002", 4) == 0);
    buf_deinit(&b);
    buf_deinit(&c);
}

TEST(is_clean)
{
    ASSERT(props_is_clean(tern_cstr("hello world")));
    ASSERT(props_is_clean(TERN_BYTES_NULL));
    ASSERT(!props_is_clean(tern_cstr("a\001b")));
    ASSERT(!props_is_clean(tern_cstr("a\002")));
}

TEST_MAIN()
