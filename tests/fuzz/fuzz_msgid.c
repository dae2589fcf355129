/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_msgid.c: offset message ids (spec §5.8). An id that decodes must
 * encode back to the same text (uppercased); and the raw input bytes, taken
 * as host/port/offset, must survive encode -> decode. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/msgid.h"

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
    struct msg_host h;
    int64_t off;
    char id[MSGID_MAX_LEN + 1];
    if (msgid_decode(tern_bytes(copy, size), &h, &off) == TERN_OK) {
        FUZZ_CHECK(size == 32 || size == 56);
        size_t n = msgid_encode(&h, off, id);
        FUZZ_CHECK(n == size);
        for (size_t i = 0; i < n; i++)
            FUZZ_CHECK(id[i] == toupper(copy[i]));
    }
    if (size >= 29) {
        struct msg_host in;
        memset(&in, 0, sizeof in);
        in.is_v6 = copy[0] & 1;
        memcpy(in.addr, copy + 1, in.is_v6 ? 16 : 4);
        in.port = (int32_t)be32_load(copy + 17);
        int64_t o = (int64_t)be64_load(copy + 21);
        size_t n = msgid_encode(&in, o, id);
        FUZZ_CHECK(n == (in.is_v6 ? 56u : 32u) && strlen(id) == n);
        FUZZ_CHECK(msgid_decode(tern_bytes(id, n), &h, &off) == TERN_OK);
        FUZZ_CHECK(off == o && h.port == in.port && h.is_v6 == in.is_v6);
        FUZZ_CHECK(memcmp(h.addr, in.addr, 16) == 0);
    }
    free(copy);
    return 0;
}
