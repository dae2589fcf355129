/* SPDX-License-Identifier: Apache-2.0 */
/* cmd.h: the remoting command (RemotingCommand) and its frame codec.
 *
 * Frame: i32 totalLength (not counting itself), i32 (serializeType<<24 |
 * headerLength), header (JSON or ROCKETMQ binary), body. See
 * docs/design/protocol.md and spec/remoting-protocol.md §1-2.
 *
 * A decoded command holds views: header strings point either into the frame
 * bytes given to rcmd_decode (which must outlive the command) or into the
 * command's own arena (unescaped JSON strings, numbers rendered as text).
 * A struct rcmd must not be copied by value after init (its arena has inline
 * storage). Not thread-safe; one owner at a time. */
#ifndef TERN_PROTOCOL_CMD_H
#define TERN_PROTOCOL_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/bytes.h"

enum rcmd_serialize { RCMD_JSON = 0, RCMD_ROCKETMQ = 1 };

#define RCMD_FLAG_RESPONSE 0x1
#define RCMD_FLAG_ONEWAY   0x2

/* Language codes (spec §2.5). */
enum rcmd_lang {
    LANG_JAVA = 0,
    LANG_CPP = 1,
    LANG_DOTNET = 2,
    LANG_PYTHON = 3,
    LANG_DELPHI = 4,
    LANG_ERLANG = 5,
    LANG_RUBY = 6,
    LANG_OTHER = 7,
    LANG_HTTP = 8,
    LANG_GO = 9,
    LANG_PHP = 10,
    LANG_OMS = 11,
    LANG_RUST = 12,
    LANG_NODE_JS = 13
};

/* The version our servers put into every response (V5_3_3 ordinal). */
#define TERN_PROTOCOL_VERSION 479

/* Fields kept inside struct rcmd before the arena is used (a send header has 13). */
#define RCMD_INLINE_FIELDS 16

struct rcmd_field {
    tern_bytes_t key; /* borrowed from frame or arena */
    tern_bytes_t val; /* borrowed from frame or arena */
};

struct rcmd {
    int32_t code;
    uint8_t language; /* enum rcmd_lang */
    int16_t version;
    int32_t opaque;
    int32_t flag;
    uint8_t serialize_type; /* enum rcmd_serialize */
    bool has_remark;
    bool failed; /* sticky: an rcmd_add* or rcmd_set_remark ran out of memory */
    tern_bytes_t remark;
    size_t nfields;
    size_t cap_fields;
    uint64_t key_bits;         /* a bit per key added (cmd.c key_bit): a key whose bit is
                                  clear is not among fields; stale bits are harmless */
    struct rcmd_field *fields; /* fields_inline, or arena-allocated beyond it */
    tern_bytes_t body;         /* borrowed: frame bytes or caller storage */
    arena_t arena;             /* owns copied strings and a grown fields array */
    struct rcmd_field fields_inline[RCMD_INLINE_FIELDS]; /* first fields land here */
};

/* Prepares an empty command (code 0, JSON, language JAVA, our version). */
void rcmd_init(struct rcmd *c);
void rcmd_deinit(struct rcmd *c);

/* Looks at the start of a byte stream. Returns TERN_OK and the whole frame
 * length including the 4-byte prefix in *frame_len; TERN_EAGAIN when fewer
 * than 4 bytes are there; TERN_ETOO_LARGE when the frame would exceed
 * TERN_MAX_FRAME_BYTES; TERN_EPROTOCOL when the length is impossible. Does not
 * check that the whole frame has arrived. */
int rcmd_frame_peek(const uint8_t *p, size_t avail, size_t *frame_len);

/* Decodes one complete frame (starting at its length prefix, frame_len bytes
 * as rcmd_frame_peek returned). On success *c holds views into p (which must
 * outlive c). On error c is left deinit-able. Errors: TERN_EPROTOCOL for any
 * malformed header, TERN_ETOO_LARGE for a header over TERN_MAX_HEADER_BYTES.
 * TERN_ENOMEM when the arena cannot grow (SDK policy, common/alloc.h).
 * c must be rcmd_init'ed. */
int rcmd_decode(const uint8_t *p, size_t frame_len, struct rcmd *c);
/* Same, but the header bytes may be rewritten: escaped JSON strings are
 * unescaped in place instead of copied into c's arena. For frames the caller
 * owns and reads only through c afterwards (even after an error). */
int rcmd_decode_mut(uint8_t *p, size_t frame_len, struct rcmd *c);

/* Appends the encoded frame (prefix, header in c->serialize_type, body) to out.
 * JSON output follows spec §2.3 writer rules: extFields values as strings,
 * extFields always present, remark only if has_remark, compact. A command
 * whose rcmd_failed() is true is not written: out's failed flag is set
 * instead, so the writer's buf_failed() check reports TERN_ENOMEM. */
void rcmd_encode(const struct rcmd *c, buf_t *out);
/* Same, but writes only prefix+header: the body (c->body.len bytes) is to be
 * sent right after by the caller (zero-copy bodies). */
void rcmd_encode_header(const struct rcmd *c, buf_t *out);

/* Builds a response skeleton for req: same opaque and serialize type,
 * flag = RESPONSE, language JAVA, our version, the given code. */
void rcmd_init_response(struct rcmd *resp, const struct rcmd *req, int32_t code);

/* Header field access. Lookups are linear (real headers have < 30 fields);
 * when a key repeats, the last occurrence wins. */
bool rcmd_has(const struct rcmd *c, const char *key);
/* Returns the value or TERN_BYTES_NULL (ptr NULL) when absent. */
tern_bytes_t rcmd_get(const struct rcmd *c, const char *key);
/* Returns the value of key, or of alt_key (V2 one-letter names) when key is absent. */
tern_bytes_t rcmd_get2(const struct rcmd *c, const char *key, const char *alt_key);
/* Parses a Java long/int. TERN_ENOT_FOUND if absent, TERN_EINVALID if not a number. */
int rcmd_get_i64(const struct rcmd *c, const char *key, int64_t *out);
int rcmd_get_i32(const struct rcmd *c, const char *key, int32_t *out);
/* Boolean.parseBoolean: true iff the value equals "true" ignoring case. */
bool rcmd_get_bool(const struct rcmd *c, const char *key);

/* Builders. Out of memory (SDK policy) sets the sticky c->failed and leaves
 * the command without the field or remark; check rcmd_failed() once after
 * building, or let rcmd_encode() report it. */
/* Adds a field; key and val are copied into the arena. */
void rcmd_add(struct rcmd *c, const char *key, tern_bytes_t val);
void rcmd_add_cstr(struct rcmd *c, const char *key, const char *val);
void rcmd_add_i64(struct rcmd *c, const char *key, int64_t val);
/* Adds a field without copying: key and val must outlive c. */
void rcmd_add_ref(struct rcmd *c, tern_bytes_t key, tern_bytes_t val);
/* Sets the remark (copied). */
void rcmd_set_remark(struct rcmd *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static inline bool rcmd_failed(const struct rcmd *c)
{
    return c->failed;
}

/* Parses decimal text as a Java long (optional sign, digits only, range checked). */
int parse_i64(tern_bytes_t v, int64_t *out);

#endif
