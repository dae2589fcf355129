/* SPDX-License-Identifier: Apache-2.0 */
/* batch.h: batch body entries of SEND_BATCH_MESSAGE / V2 with m=true (spec §5.7).
 *
 * Entry: i32 totalSize (=20+body+2+props), i32 magic (ignored), i32 bodyCrc
 * (ignored), i32 flag, i32 bodyLen, body, i16 propsLen, props. */
#ifndef TERN_PROTOCOL_BATCH_H
#define TERN_PROTOCOL_BATCH_H

#include <stdint.h>

#include "common/buf.h"
#include "common/bytes.h"

struct batch_entry {
    int32_t flag;
    tern_bytes_t body;  /* borrowed from the batch body */
    tern_bytes_t props; /* borrowed */
};

/* Decodes the next entry from r. TERN_OK; TERN_ENOT_FOUND at a clean end;
 * TERN_EPROTOCOL when an entry is truncated or its totalSize disagrees. */
int batch_next(reader_t *r, struct batch_entry *e);
/* Appends one encoded entry (used by clients and tests). */
void batch_append(buf_t *out, int32_t flag, tern_bytes_t body, tern_bytes_t props);

#endif
