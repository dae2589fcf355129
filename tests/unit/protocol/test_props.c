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

/* The rule as Java states it, written for clarity, not speed: split on 0x02;
 * in each segment the key ends at the first 0x01; empty keys and values and
 * segments without 0x01 are dropped. Writes "k=v;" per pair to out. */
static void model_pairs(const uint8_t *raw, size_t len, char *out, size_t cap)
{
    size_t n = 0, start = 0;
    out[0] = '\0';
    for (size_t i = 0; i <= len; i++) {
        if (i < len && raw[i] != PROP_PAIR_SEP)
            continue;
        size_t sep = start;
        while (sep < i && raw[sep] != PROP_NAME_SEP)
            sep++;
        if (sep < i && sep > start && i > sep + 1)
            n += (size_t)snprintf(out + n, cap - n, "%.*s=%.*s;", (int)(sep - start),
                                  (const char *)raw + start, (int)(i - sep - 1),
                                  (const char *)raw + sep + 1);
        start = i + 1;
    }
}

/* The value the model gives key (last occurrence), or NULL. */
static const char *model_get(const char *pairs_out, const char *key, char *val, size_t cap)
{
    const char *found = NULL;
    size_t klen = strlen(key);
    for (const char *p = pairs_out; *p;) {
        const char *eq = strchr(p, '=');
        const char *end = strchr(eq, ';');
        if ((size_t)(eq - p) == klen && memcmp(p, key, klen) == 0) {
            snprintf(val, cap, "%.*s", (int)(end - eq - 1), eq + 1);
            found = val;
        }
        p = end + 1;
    }
    return found;
}

TEST(matches_java_rule_on_random_strings)
{
    static const uint8_t alphabet[] = {PROP_NAME_SEP, PROP_PAIR_SEP, 'a', 'b'};
    uint32_t seed = 12345;
    for (int round = 0; round < 20000; round++) {
        uint8_t raw[24];
        size_t len = tst_rand_string(&seed, alphabet, sizeof alphabet, raw, sizeof raw);
        char want[256], got[512];
        model_pairs(raw, len, want, sizeof want);
        snprintf(got, sizeof got, "%s", pairs((const char *)raw, len));
        ASSERT_STR_EQ(got, want);
        static const char *const keys[] = {"a", "b", "ab"};
        tern_bytes_t vals[3];
        unsigned bits = props_find(tern_bytes(raw, len), keys, 3, vals);
        for (int j = 0; j < 3; j++) {
            char mv[64];
            const char *m = model_get(want, keys[j], mv, sizeof mv);
            tern_bytes_t v;
            ASSERT_EQ(props_get(tern_bytes(raw, len), keys[j], &v), m != NULL);
            ASSERT_EQ((bits >> j) & 1u, m != NULL);
            if (m) {
                ASSERT_BYTES_EQ(v, m);
                ASSERT_BYTES_EQ(vals[j], m);
            }
        }
    }
}

TEST(find_many_keys_in_one_walk)
{
    static const char p[] = "TAGS\001a\002DELAY\0013\002KEYS\001k1 k2\002TAGS\001b\002";
    static const char *const keys[] = {PROP_TAGS, PROP_UNIQ_KEY, PROP_KEYS, "TAG", PROP_DELAY};
    tern_bytes_t v[5];
    v[1] = tern_cstr("untouched");
    unsigned bits = props_find(tern_bytes(p, sizeof p - 1), keys, 5, v);
    ASSERT_EQ(bits, 1u | 4u | 16u);
    ASSERT_BYTES_EQ(v[0], "b"); /* the last TAGS, as props_get */
    ASSERT_BYTES_EQ(v[1], "untouched");
    ASSERT_BYTES_EQ(v[2], "k1 k2");
    ASSERT_BYTES_EQ(v[4], "3");
    ASSERT_EQ(props_find(TERN_BYTES_NULL, keys, 5, v), 0u);
    ASSERT_EQ(props_find(tern_bytes(p, sizeof p - 1), keys, 0, v), 0u);
    static const char empty_key[] = "\001x\002";
    ASSERT(!props_get(tern_bytes(empty_key, sizeof empty_key - 1), "", &v[0]));
}

TEST_MAIN()
