/* SPDX-License-Identifier: Apache-2.0 */
/* strmap.c: linear-probing hash map with tombstones (see strmap.h). */
#include "common/strmap.h"

#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "common/alloc.h"
#include "common/error.h"

#define TOMB ((char *)1)

void strmap_init(strmap_t *m)
{
    memset(m, 0, sizeof *m);
}

void strmap_deinit(strmap_t *m)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key && m->slots[i].key != TOMB)
            free(m->slots[i].key);
    free(m->slots);
    strmap_init(m);
}

static struct strmap_slot *find(const strmap_t *m, tern_bytes_t key, uint64_t h)
{
    if (!m->cap)
        return NULL;
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        struct strmap_slot *s = &m->slots[i];
        if (!s->key)
            return NULL;
        if (s->key != TOMB && s->hash == h && s->klen == key.len &&
            memcmp(s->key, key.ptr, key.len) == 0)
            return s;
    }
}

static int grow(strmap_t *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 16;
    if (m->count * 4 < m->cap)
        ncap = m->cap; /* mostly tombstones: rehash in place size */
    struct strmap_slot *ns = tern_calloc(ncap, sizeof *ns);
    if (ns == NULL)
        return TERN_ENOMEM;
    struct strmap_slot *old = m->slots;
    size_t ocap = m->cap;
    m->slots = ns;
    m->cap = ncap;
    m->used = m->count;
    for (size_t i = 0; i < ocap; i++) {
        if (!old[i].key || old[i].key == TOMB)
            continue;
        size_t j = old[i].hash & (ncap - 1);
        while (m->slots[j].key)
            j = (j + 1) & (ncap - 1);
        m->slots[j] = old[i];
    }
    free(old);
    return TERN_OK;
}

void *strmap_get(const strmap_t *m, tern_bytes_t key)
{
    struct strmap_slot *s = find(m, key, fnv1a64(key.ptr, key.len));
    return s ? s->val : NULL;
}

void *strmap_get_cstr(const strmap_t *m, const char *key)
{
    return strmap_get(m, tern_cstr(key));
}

int strmap_set(strmap_t *m, tern_bytes_t key, void *val, void **old)
{
    uint64_t h = fnv1a64(key.ptr, key.len);
    struct strmap_slot *s = find(m, key, h);
    if (s) {
        if (old)
            *old = s->val;
        s->val = val;
        return TERN_OK;
    }
    if (old)
        *old = NULL;
    if ((m->used + 1) * 4 >= m->cap * 3 && grow(m) != TERN_OK)
        return TERN_ENOMEM;
    char *copy = tern_strndup((const char *)key.ptr, key.len);
    if (copy == NULL)
        return TERN_ENOMEM;
    size_t mask = m->cap - 1;
    size_t i = h & mask;
    while (m->slots[i].key && m->slots[i].key != TOMB)
        i = (i + 1) & mask;
    if (!m->slots[i].key)
        m->used++;
    m->slots[i].key = copy;
    m->slots[i].klen = key.len;
    m->slots[i].hash = h;
    m->slots[i].val = val;
    m->count++;
    return TERN_OK;
}

void *strmap_put(strmap_t *m, tern_bytes_t key, void *val)
{
    void *old = NULL;
    (void)strmap_set(m, key, val, &old);
    return old;
}

void *strmap_del(strmap_t *m, tern_bytes_t key)
{
    struct strmap_slot *s = find(m, key, fnv1a64(key.ptr, key.len));
    if (!s)
        return NULL;
    void *v = s->val;
    free(s->key);
    s->key = TOMB;
    s->val = NULL;
    m->count--;
    return v;
}

size_t strmap_count(const strmap_t *m)
{
    return m->count;
}

bool strmap_next(const strmap_t *m, size_t *it, const char **key, void **val)
{
    while (*it < m->cap) {
        struct strmap_slot *s = &m->slots[(*it)++];
        if (s->key && s->key != TOMB) {
            if (key)
                *key = s->key;
            if (val)
                *val = s->val;
            return true;
        }
    }
    return false;
}
