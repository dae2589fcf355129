/* SPDX-License-Identifier: Apache-2.0 */
/* buf.h: an owned, growable byte buffer for output.
 *
 * Servers allocate through xalloc (abort on OOM). buf_init() gives an empty
 * buffer with no allocation; buf_deinit() frees and resets. */
#ifndef TERN_COMMON_BUF_H
#define TERN_COMMON_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "common/bytes.h"

typedef struct {
    uint8_t *data; /* owned */
    size_t len;
    size_t cap;
} buf_t;

void buf_init(buf_t *b);
void buf_deinit(buf_t *b);
/* Makes room for n more bytes; returns a pointer to the first free byte. */
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
void buf_reset(buf_t *b);
/* Drops the first n bytes (memmove). */
void buf_consume(buf_t *b, size_t n);
/* Returns a NUL-terminated copy of the contents (owned by caller). */
char *buf_strdup(const buf_t *b);
static inline tern_bytes_t buf_view(const buf_t *b)
{
    return (tern_bytes_t){b->data, b->len};
}

#endif
