/* SPDX-License-Identifier: Apache-2.0 */
/* arena.h: a bump allocator for request-scoped data (decoded headers, copies
 * of strings). Memory never moves, so views into it stay valid until
 * arena_deinit(). Blocks beyond the inline bytes come from tern_malloc
 * (common/alloc.h): under the server policy a failure aborts, under the SDK
 * policy the calls below return NULL (a NULL view) and the arena stays
 * usable; callers report TERN_ENOMEM. */
#ifndef TERN_COMMON_ARENA_H
#define TERN_COMMON_ARENA_H

#include <stddef.h>

#include "common/bytes.h"

struct arena_block;

typedef struct {
    struct arena_block *head; /* owned list of blocks */
    char inline_buf[512];     /* first allocations land here */
    size_t inline_used;
} arena_t;

void arena_init(arena_t *a);
void arena_deinit(arena_t *a);
/* Returns n bytes aligned to 8, valid until arena_deinit; NULL when out of
 * memory. */
void *arena_alloc(arena_t *a, size_t n);
/* Copies v into the arena and returns a view of the copy (NUL-terminated,
 * ptr never NULL); TERN_BYTES_NULL when out of memory. */
tern_bytes_t arena_copy(arena_t *a, tern_bytes_t v);
/* NULL when out of memory. */
char *arena_strdup(arena_t *a, const char *s);

#endif
