/* SPDX-License-Identifier: Apache-2.0 */
/* strmap.h: an open-addressing hash map from byte-string keys to pointers.
 *
 * Keys are copied (owned by the map); values are borrowed pointers the caller
 * owns. Not thread-safe: the owner guards it. Iteration order is unspecified. */
#ifndef TERN_COMMON_STRMAP_H
#define TERN_COMMON_STRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/bytes.h"

struct strmap_slot {
    char *key; /* owned, NUL-terminated copy; NULL = empty; (char*)1 = deleted */
    size_t klen;
    uint64_t hash;
    void *val; /* borrowed */
};

typedef struct {
    struct strmap_slot *slots; /* owned */
    size_t cap;                /* power of two or 0 */
    size_t count;
    size_t used; /* live + deleted */
} strmap_t;

void strmap_init(strmap_t *m);
/* Frees the map's memory (keys); values are the caller's. */
void strmap_deinit(strmap_t *m);
void *strmap_get(const strmap_t *m, tern_bytes_t key);
void *strmap_get_cstr(const strmap_t *m, const char *key);
/* Inserts or replaces; returns the previous value or NULL. Under the server
 * allocation policy it cannot fail (common/alloc.h); SDK paths use
 * strmap_set, since here a failed insert is silent. */
void *strmap_put(strmap_t *m, tern_bytes_t key, void *val);
/* Inserts or replaces. OUT: *old (may be NULL) the previous value or NULL.
 * TERN_ENOMEM leaves the map as it was. */
int strmap_set(strmap_t *m, tern_bytes_t key, void *val, void **old);
/* Removes; returns the value or NULL. */
void *strmap_del(strmap_t *m, tern_bytes_t key);
size_t strmap_count(const strmap_t *m);
/* Iteration: for (size_t it = 0; strmap_next(m, &it, &k, &v);) ... Do not
 * modify the map while iterating (deleting the current key is allowed). */
bool strmap_next(const strmap_t *m, size_t *it, const char **key, void **val);

#endif
