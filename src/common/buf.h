/* SPDX-License-Identifier: Apache-2.0 */
/* buf.h: an owned, growable byte buffer for output.
 *
 * Growth goes through common/alloc.h. A failed growth sets the sticky `failed`
 * flag: later appends do nothing, and the writer checks buf_failed() once at
 * the end (as Redis rio's error flags), then reports TERN_ENOMEM. Under the
 * server policy (abort on OOM) the flag is never set. buf_init() gives an
 * empty buffer with no allocation; buf_deinit() frees and resets. */
#ifndef TERN_COMMON_BUF_H
#define TERN_COMMON_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/bytes.h"

typedef struct {
    uint8_t *data; /* owned */
    size_t len;
    size_t cap;
    bool failed; /* sticky: a growth failed, contents are incomplete */
} buf_t;

void buf_init(buf_t *b);
void buf_deinit(buf_t *b);
/* Makes room for n more bytes; returns a pointer to the first free byte, or
 * NULL (and sets failed) when memory runs out or the buffer has failed. */
uint8_t *buf_reserve(buf_t *b, size_t n);
void buf_append(buf_t *b, const void *p, size_t n);
void buf_append_bytes(buf_t *b, tern_bytes_t v);
void buf_append_cstr(buf_t *b, const char *s);
void buf_append_u8(buf_t *b, uint8_t v);
void buf_append_be16(buf_t *b, uint16_t v);
void buf_append_be32(buf_t *b, uint32_t v);
void buf_append_be64(buf_t *b, uint64_t v);
void buf_printf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends a decimal integer. */
void buf_append_i64(buf_t *b, int64_t v);
/* Cuts the contents back to len (<= b->len) and clears failed: undoes a
 * write that failed part-way, so the bytes before it stay usable. */
void buf_rollback(buf_t *b, size_t len);
/* Empties the buffer (keeping its memory) and clears failed. */
void buf_reset(buf_t *b);
/* Drops the first n bytes (memmove). */
void buf_consume(buf_t *b, size_t n);
/* Returns a NUL-terminated copy of the contents (owned by caller), or NULL
 * when out of memory. */
char *buf_strdup(const buf_t *b);
static inline bool buf_failed(const buf_t *b)
{
    return b->failed;
}
static inline tern_bytes_t buf_view(const buf_t *b)
{
    return (tern_bytes_t){b->data, b->len};
}

#endif
