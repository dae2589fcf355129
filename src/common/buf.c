/* SPDX-License-Identifier: Apache-2.0 */
/* buf.c: growable output buffer (see buf.h). */
#include "common/buf.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

void buf_init(buf_t *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->failed = false;
}

void buf_deinit(buf_t *b)
{
    free(b->data);
    buf_init(b);
}

uint8_t *buf_reserve(buf_t *b, size_t n)
{
    if (b->failed)
        return NULL;
    if (b->cap - b->len < n) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap - b->len < n)
            cap *= 2;
        uint8_t *d = tern_realloc(b->data, cap);
        if (d == NULL) {
            b->failed = true;
            return NULL;
        }
        b->data = d;
        b->cap = cap;
    }
    return b->data + b->len;
}

void buf_append(buf_t *b, const void *p, size_t n)
{
    if (n == 0)
        return;
    uint8_t *d = buf_reserve(b, n);
    if (d == NULL)
        return;
    memcpy(d, p, n);
    b->len += n;
}

void buf_append_bytes(buf_t *b, tern_bytes_t v)
{
    buf_append(b, v.ptr, v.len);
}

void buf_append_cstr(buf_t *b, const char *s)
{
    buf_append(b, s, strlen(s));
}

void buf_append_u8(buf_t *b, uint8_t v)
{
    uint8_t *d = buf_reserve(b, 1);
    if (d == NULL)
        return;
    *d = v;
    b->len += 1;
}

void buf_append_be16(buf_t *b, uint16_t v)
{
    uint8_t *d = buf_reserve(b, 2);
    if (d == NULL)
        return;
    be16_store(d, v);
    b->len += 2;
}

void buf_append_be32(buf_t *b, uint32_t v)
{
    uint8_t *d = buf_reserve(b, 4);
    if (d == NULL)
        return;
    be32_store(d, v);
    b->len += 4;
}

void buf_append_be64(buf_t *b, uint64_t v)
{
    uint8_t *d = buf_reserve(b, 8);
    if (d == NULL)
        return;
    be64_store(d, v);
    b->len += 8;
}

void buf_printf(buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[256];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof tmp) {
        buf_append(b, tmp, (size_t)n);
        return;
    }
    uint8_t *dst = buf_reserve(b, (size_t)n + 1);
    if (dst == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf((char *)dst, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void buf_append_i64(buf_t *b, int64_t v)
{
    char tmp[24];
    char *e = tmp + sizeof tmp;
    char *p = e;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    buf_append(b, p, (size_t)(e - p));
}

void buf_rollback(buf_t *b, size_t len)
{
    if (len < b->len)
        b->len = len;
    b->failed = false;
}

void buf_reset(buf_t *b)
{
    b->len = 0;
    b->failed = false;
}

void buf_consume(buf_t *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

char *buf_strdup(const buf_t *b)
{
    char *s = tern_malloc(b->len + 1);
    if (s == NULL)
        return NULL;
    if (b->len)
        memcpy(s, b->data, b->len);
    s[b->len] = '\0';
    return s;
}
