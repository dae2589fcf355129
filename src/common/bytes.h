/* SPDX-License-Identifier: Apache-2.0 */
/* bytes.h: byte views, big-endian load/store and a bounded reader.
 *
 * A reader keeps pos <= len; every rd_* checks the remaining length first and
 * returns TERN_EPROTOCOL without moving when the input is short. */
#ifndef TERN_COMMON_BYTES_H
#define TERN_COMMON_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <stdbool.h>

#include "common/error.h"

typedef struct {
    const uint8_t *ptr; /* borrowed */
    size_t len;
} tern_bytes_t;

#define TERN_BYTES_NULL ((tern_bytes_t){NULL, 0})

static inline tern_bytes_t tern_bytes(const void *p, size_t n)
{
    return (tern_bytes_t){(const uint8_t *)p, n};
}

static inline tern_bytes_t tern_cstr(const char *s)
{
    return (tern_bytes_t){(const uint8_t *)s, s ? strlen(s) : 0};
}

static inline bool tern_bytes_eq(tern_bytes_t a, tern_bytes_t b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static inline bool tern_bytes_eq_cstr(tern_bytes_t a, const char *s)
{
    return tern_bytes_eq(a, tern_cstr(s));
}

static inline bool tern_bytes_starts(tern_bytes_t a, const char *prefix)
{
    size_t n = strlen(prefix);
    return a.len >= n && memcmp(a.ptr, prefix, n) == 0;
}

static inline uint16_t be16_load(const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}
static inline uint32_t be32_load(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t be64_load(const uint8_t *p)
{
    return (uint64_t)be32_load(p) << 32 | be32_load(p + 4);
}
static inline void be16_store(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void be32_store(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline void be64_store(uint8_t *p, uint64_t v)
{
    be32_store(p, (uint32_t)(v >> 32));
    be32_store(p + 4, (uint32_t)v);
}

typedef struct {
    const uint8_t *p; /* borrowed */
    size_t len;
    size_t pos;
} reader_t;

static inline reader_t reader_of(const void *p, size_t len)
{
    return (reader_t){(const uint8_t *)p, len, 0};
}
static inline size_t rd_left(const reader_t *r)
{
    return r->len - r->pos;
}
static inline int rd_u8(reader_t *r, uint8_t *out)
{
    if (r->len - r->pos < 1)
        return TERN_EPROTOCOL;
    *out = r->p[r->pos++];
    return TERN_OK;
}
static inline int rd_u16(reader_t *r, uint16_t *out)
{
    if (r->len - r->pos < 2)
        return TERN_EPROTOCOL;
    *out = be16_load(r->p + r->pos);
    r->pos += 2;
    return TERN_OK;
}
static inline int rd_u32(reader_t *r, uint32_t *out)
{
    if (r->len - r->pos < 4)
        return TERN_EPROTOCOL;
    *out = be32_load(r->p + r->pos);
    r->pos += 4;
    return TERN_OK;
}
static inline int rd_u64(reader_t *r, uint64_t *out)
{
    if (r->len - r->pos < 8)
        return TERN_EPROTOCOL;
    *out = be64_load(r->p + r->pos);
    r->pos += 8;
    return TERN_OK;
}
/* Takes a view of the next n bytes (borrowed from the reader's input). */
static inline int rd_bytes(reader_t *r, size_t n, tern_bytes_t *out)
{
    if (r->len - r->pos < n)
        return TERN_EPROTOCOL;
    out->ptr = r->p + r->pos;
    out->len = n;
    r->pos += n;
    return TERN_OK;
}

#endif
