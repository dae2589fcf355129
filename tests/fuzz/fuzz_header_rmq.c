/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_header_rmq.c: the input is a ROCKETMQ binary remoting header
 * (serializeType 1); the first byte picks how many trailing input bytes are
 * the body instead. Accepted headers must round trip (fuzz_rcmd_check.h). */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_rcmd_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 0xFFFFFF - 8)
        return 0;
    size_t body = data[0] % 16;
    data++;
    size--;
    if (body > size)
        body = size;
    size_t hlen = size - body;
    uint8_t *frame = malloc(size + 8);
    be32_store(frame, (uint32_t)(size + 4));
    be32_store(frame + 4, 1u << 24 | (uint32_t)hlen);
    if (size)
        memcpy(frame + 8, data, size);
    struct rcmd c;
    rcmd_init(&c);
    if (rcmd_decode(frame, size + 8, &c) == TERN_OK) {
        FUZZ_CHECK(c.serialize_type == RCMD_ROCKETMQ && c.body.len == body);
        fuzz_rcmd_check(&c);
    }
    rcmd_deinit(&c);
    free(frame);
    return 0;
}
