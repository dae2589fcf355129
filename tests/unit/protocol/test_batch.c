/* SPDX-License-Identifier: Apache-2.0 */
/* test_batch.c: batch body entries (spec §5.7). */
#include "harness.h"

#include "protocol/batch.h"

TEST(round_trip_entries)
{
    buf_t b;
    buf_init(&b);
    batch_append(&b, 0, tern_cstr("hello"), tern_cstr("UNIQ_KEY\001A\002"));
    batch_append(&b, 5, tern_cstr(""), tern_cstr(""));
    batch_append(&b, -1, tern_cstr("third body"), tern_cstr("TAGS\001t\002WAIT\001true\002"));
    ASSERT_EQ(be32_load(b.data), 20 + 5 + 2 + 11);
    reader_t r = reader_of(b.data, b.len);
    struct batch_entry e;
    ASSERT_EQ(batch_next(&r, &e), TERN_OK);
    ASSERT_EQ(e.flag, 0);
    ASSERT_BYTES_EQ(e.body, "hello");
    ASSERT_BYTES_EQ(e.props, "UNIQ_KEY\001A\002");
    ASSERT_EQ(batch_next(&r, &e), TERN_OK);
    ASSERT_EQ(e.flag, 5);
    ASSERT_EQ(e.body.len, 0);
    ASSERT_EQ(e.props.len, 0);
    ASSERT_EQ(batch_next(&r, &e), TERN_OK);
    ASSERT_EQ(e.flag, -1);
    ASSERT_BYTES_EQ(e.body, "third body");
    ASSERT_EQ(batch_next(&r, &e), TERN_ENOT_FOUND);
    ASSERT_EQ(batch_next(&r, &e), TERN_ENOT_FOUND);
    buf_deinit(&b);
}

TEST(totalsize_mismatch)
{
    buf_t b;
    buf_init(&b);
    batch_append(&b, 0, tern_cstr("abc"), tern_cstr("K\001v\002"));
    be32_store(b.data, be32_load(b.data) + 1);
    reader_t r = reader_of(b.data, b.len);
    struct batch_entry e;
    ASSERT_EQ(batch_next(&r, &e), TERN_EPROTOCOL);
    buf_deinit(&b);
}

TEST(truncated)
{
    buf_t b;
    buf_init(&b);
    batch_append(&b, 0, tern_cstr("abcdef"), tern_cstr("K\001v\002"));
    for (size_t cut = 1; cut < b.len; cut++) {
        reader_t r = reader_of(b.data, cut);
        struct batch_entry e;
        ASSERT_EQ(batch_next(&r, &e), TERN_EPROTOCOL);
    }
    /* Huge body length. */
    be32_store(b.data + 16, 0xFFFFFFF0u);
    reader_t r = reader_of(b.data, b.len);
    struct batch_entry e;
    ASSERT_EQ(batch_next(&r, &e), TERN_EPROTOCOL);
    buf_deinit(&b);
}

TEST_MAIN()
