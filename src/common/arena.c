/* SPDX-License-Identifier: Apache-2.0 */
/* arena.c: bump allocator (see arena.h). */
#include "common/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

struct arena_block {
    struct arena_block *next;
    size_t cap, used;
    _Alignas(8) char data[];
};

void arena_init(arena_t *a)
{
    a->head = NULL;
    a->inline_used = 0;
}

void arena_deinit(arena_t *a)
{
    struct arena_block *b = a->head;
    while (b) {
        struct arena_block *n = b->next;
        free(b);
        b = n;
    }
    arena_init(a);
}

void *arena_alloc(arena_t *a, size_t n)
{
    if (n > SIZE_MAX / 2)
        return NULL; /* no block header could be added without overflow */
    n = (n + 7) & ~(size_t)7;
    if (n == 0)
        n = 8;
    if (sizeof a->inline_buf - a->inline_used >= n) {
        void *p = a->inline_buf + a->inline_used;
        a->inline_used += n;
        return p;
    }
    if (!a->head || a->head->cap - a->head->used < n) {
        size_t cap = n > 4096 ? n : 4096;
        struct arena_block *b = tern_malloc(sizeof *b + cap);
        if (b == NULL)
            return NULL;
        b->cap = cap;
        b->used = 0;
        b->next = a->head;
        a->head = b;
    }
    void *p = a->head->data + a->head->used;
    a->head->used += n;
    return p;
}

tern_bytes_t arena_copy(arena_t *a, tern_bytes_t v)
{
    char *p = arena_alloc(a, v.len + 1);
    if (p == NULL)
        return TERN_BYTES_NULL;
    if (v.len)
        memcpy(p, v.ptr, v.len);
    p[v.len] = '\0';
    return tern_bytes(p, v.len);
}

char *arena_strdup(arena_t *a, const char *s)
{
    return (char *)arena_copy(a, tern_cstr(s)).ptr;
}
