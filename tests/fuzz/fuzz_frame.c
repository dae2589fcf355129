/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_frame.c: a byte stream cut into remoting frames (rcmd_frame_peek +
 * rcmd_decode), as a connection would. Every decoded command must survive
 * encode -> decode in both header encodings with its fields intact. */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_rcmd_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t pos = 0;
    while (pos < size) {
        size_t flen = 0;
        int rc = rcmd_frame_peek(data + pos, size - pos, &flen);
        if (rc != TERN_OK)
            break;
        FUZZ_CHECK(flen >= 8);
        if (flen > size - pos)
            break; /* incomplete: a server would wait for more */
        /* Decode from an exact-size copy so ASan sees any over-read. */
        uint8_t *frame = malloc(flen);
        memcpy(frame, data + pos, flen);
        struct rcmd c;
        rcmd_init(&c);
        if (rcmd_decode(frame, flen, &c) == TERN_OK)
            fuzz_rcmd_check(&c);
        rcmd_deinit(&c);
        free(frame);
        pos += flen;
    }
    return 0;
}
