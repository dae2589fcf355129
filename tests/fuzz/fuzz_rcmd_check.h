/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_rcmd_check.h: shared round-trip checks for the remoting command fuzz
 * targets (fuzz_frame, fuzz_header_json, fuzz_header_rmq). Included, not
 * linked: each target is its own executable. A broken invariant aborts. */
#ifndef TERN_FUZZ_RCMD_CHECK_H
#define TERN_FUZZ_RCMD_CHECK_H

#include <stdlib.h>

#include "protocol/cmd.h"

#define FUZZ_CHECK(cond)      \
    do {                      \
        if (!(cond))          \
            __builtin_trap(); \
    } while (0)

/* Re-encodes a in type, decodes it again and checks what that encoding must
 * keep: everything for the same type; for the other type, every field that
 * has a non-empty value (binary drops empty values, 16-bit code). */
static void fuzz_rcmd_round_trip(struct rcmd *a, uint8_t type)
{
    uint8_t orig = a->serialize_type;
    bool same = type == orig;
    buf_t out;
    buf_init(&out);
    a->serialize_type = type;
    rcmd_encode(a, &out);
    a->serialize_type = orig;
    struct rcmd b;
    rcmd_init(&b);
    size_t flen = 0;
    FUZZ_CHECK(rcmd_frame_peek(out.data, out.len, &flen) == TERN_OK && flen == out.len);
    FUZZ_CHECK(rcmd_decode(out.data, out.len, &b) == TERN_OK);
    FUZZ_CHECK(b.serialize_type == type);
    FUZZ_CHECK(b.opaque == a->opaque && b.flag == a->flag && b.version == a->version);
    FUZZ_CHECK(tern_bytes_eq(a->body, b.body));
    if (same || a->language <= LANG_NODE_JS)
        FUZZ_CHECK(b.language == a->language);
    if (same || (a->code >= INT16_MIN && a->code <= INT16_MAX))
        FUZZ_CHECK(b.code == a->code);
    if (same || a->remark.len > 0) {
        FUZZ_CHECK(b.has_remark == a->has_remark);
        FUZZ_CHECK(tern_bytes_eq(a->remark, b.remark));
    }
    size_t j = 0;
    for (size_t i = 0; i < a->nfields; i++) {
        const struct rcmd_field *f = &a->fields[i];
        if (!same && (f->val.len == 0 || f->key.len == 0 || f->key.len > INT16_MAX))
            continue;
        FUZZ_CHECK(j < b.nfields);
        FUZZ_CHECK(tern_bytes_eq(a->fields[i].key, b.fields[j].key));
        FUZZ_CHECK(tern_bytes_eq(a->fields[i].val, b.fields[j].val));
        j++;
    }
    FUZZ_CHECK(j == b.nfields);
    rcmd_deinit(&b);
    buf_deinit(&out);
}

/* Both encodings of a decoded command. */
static void fuzz_rcmd_check(struct rcmd *a)
{
    fuzz_rcmd_round_trip(a, RCMD_JSON);
    fuzz_rcmd_round_trip(a, RCMD_ROCKETMQ);
    /* Accessors on arbitrary content must not crash. */
    int64_t v;
    int32_t v32;
    (void)rcmd_get_i64(a, "queueOffset", &v);
    (void)rcmd_get_i32(a, "queueId", &v32);
    (void)rcmd_get_bool(a, "k");
    (void)rcmd_get2(a, "topic", "b");
}

#endif
