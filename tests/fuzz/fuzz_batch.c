/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_batch.c: a batch body (spec §5.7). Entries that decode are appended
 * again with batch_append; the re-encoded body must decode to the same
 * entries. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/batch.h"

#define FUZZ_CHECK(cond)      \
    do {                      \
        if (!(cond))          \
            __builtin_trap(); \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    if (size)
        memcpy(copy, data, size);
    reader_t r = reader_of(copy, size);
    buf_t out;
    buf_init(&out);
    struct batch_entry e;
    int n = 0, rc;
    while ((rc = batch_next(&r, &e)) == TERN_OK) {
        FUZZ_CHECK(e.body.ptr >= copy && e.props.ptr + e.props.len <= copy + size);
        batch_append(&out, e.flag, e.body, e.props);
        n++;
    }
    FUZZ_CHECK(rc == TERN_ENOT_FOUND || rc == TERN_EPROTOCOL);
    reader_t r1 = reader_of(copy, size), r2 = reader_of(out.data, out.len);
    for (int i = 0; i < n; i++) {
        struct batch_entry a, b;
        FUZZ_CHECK(batch_next(&r1, &a) == TERN_OK);
        FUZZ_CHECK(batch_next(&r2, &b) == TERN_OK);
        FUZZ_CHECK(a.flag == b.flag && tern_bytes_eq(a.body, b.body));
        FUZZ_CHECK(tern_bytes_eq(a.props, b.props));
    }
    FUZZ_CHECK(batch_next(&r2, &e) == TERN_ENOT_FOUND);
    buf_deinit(&out);
    free(copy);
    return 0;
}
