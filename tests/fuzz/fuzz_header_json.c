/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_header_json.c: the input is the text of a JSON remoting header
 * (serializeType 0); it is framed and decoded. Accepted headers must round
 * trip through both encodings (fuzz_rcmd_check.h). */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_rcmd_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 0xFFFFFF - 8)
        return 0;
    uint8_t *frame = malloc(size + 8);
    be32_store(frame, (uint32_t)(size + 4));
    be32_store(frame + 4, (uint32_t)size);
    if (size)
        memcpy(frame + 8, data, size);
    struct rcmd c;
    rcmd_init(&c);
    if (rcmd_decode(frame, size + 8, &c) == TERN_OK) {
        FUZZ_CHECK(c.serialize_type == RCMD_JSON && c.body.len == 0);
        fuzz_rcmd_check(&c);
    }
    rcmd_deinit(&c);
    free(frame);
    return 0;
}
