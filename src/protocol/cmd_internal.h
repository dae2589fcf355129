/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_internal.h: private glue between cmd.c (frame, fields) and the two
 * header encodings, header_json.c and header_rmq.c. Only src/protocol/ files
 * include it. The header decoders fill a freshly initialised struct rcmd. */
#ifndef TERN_PROTOCOL_CMD_INTERNAL_H
#define TERN_PROTOCOL_CMD_INTERNAL_H

#include <stdint.h>

#include "protocol/cmd.h"

/* Decodes header bytes h (borrowed; views into h end up in c). */
int header_json_decode(tern_bytes_t h, struct rcmd *c);
int header_rmq_decode(tern_bytes_t h, struct rcmd *c);
/* header_json_decode that may rewrite h (unescapes in place). */
int header_json_decode_mut(uint8_t *h, size_t len, struct rcmd *c);
/* Appends the header alone (no frame prefix) to out. */
void header_json_encode(const struct rcmd *c, buf_t *out);
void header_rmq_encode(const struct rcmd *c, buf_t *out);

/* Decoder-side field insert with Java HashMap semantics: a repeated key
 * replaces the earlier value in place; a NULL val.ptr (JSON null, binary
 * zero length) removes the key. key/val are stored as given (no copy).
 * TERN_ETOO_LARGE beyond TERN_MAX_EXT_FIELDS. */
int cmd_put_field(struct rcmd *c, tern_bytes_t key, tern_bytes_t val);

/* Language code <-> name (spec §2.5). Unknown names map to LANG_OTHER;
 * unknown codes are written as "OTHER". */
const char *cmd_lang_name(uint8_t code);
uint8_t cmd_lang_code(tern_bytes_t name);

#endif
