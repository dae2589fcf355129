/* SPDX-License-Identifier: Apache-2.0 */
/* props.c: the properties string (see props.h). */
#include "protocol/props.h"

#include <string.h>

bool props_next(tern_bytes_t props, size_t *it, tern_bytes_t *key, tern_bytes_t *val)
{
    while (*it < props.len) {
        const uint8_t *seg = props.ptr + *it;
        size_t left = props.len - *it;
        const uint8_t *end = memchr(seg, PROP_PAIR_SEP, left);
        size_t seglen = end ? (size_t)(end - seg) : left;
        *it += seglen + (end ? 1 : 0);
        const uint8_t *sep = memchr(seg, PROP_NAME_SEP, seglen);
        if (!sep)
            continue;
        size_t klen = (size_t)(sep - seg);
        size_t vlen = seglen - klen - 1;
        if (klen == 0 || vlen == 0)
            continue;
        *key = tern_bytes(seg, klen);
        *val = tern_bytes(sep + 1, vlen);
        return true;
    }
    return false;
}

unsigned props_find(tern_bytes_t props, const char *const *keys, size_t nkeys, tern_bytes_t *vals)
{
    size_t klen[PROPS_FIND_MAX];
    if (nkeys > PROPS_FIND_MAX)
        nkeys = PROPS_FIND_MAX;
    for (size_t j = 0; j < nkeys; j++)
        klen[j] = strlen(keys[j]);
    /* The keys hold no separator, so a segment has key j exactly when it
     * starts with key j followed by 0x01: no pair needs splitting. */
    const uint8_t *p = props.ptr;
    size_t n = props.len, i = 0;
    unsigned found = 0;
    while (i < n) {
        const uint8_t *e = memchr(p + i, PROP_PAIR_SEP, n - i);
        size_t end = e ? (size_t)(e - p) : n;
        for (size_t j = 0; j < nkeys; j++) {
            size_t kl = klen[j];
            if (kl == 0 || end - i < kl + 2 || p[i] != (uint8_t)keys[j][0] ||
                p[i + kl] != PROP_NAME_SEP || memcmp(p + i, keys[j], kl) != 0)
                continue;
            vals[j] = tern_bytes(p + i + kl + 1, end - i - kl - 1); /* the last one wins */
            found |= 1u << j;
            break;
        }
        i = end + 1;
    }
    return found;
}

bool props_get(tern_bytes_t props, const char *key, tern_bytes_t *val)
{
    return props_find(props, &key, 1, val) != 0;
}

void props_append(buf_t *out, const char *key, tern_bytes_t val)
{
    buf_append_cstr(out, key);
    buf_append_u8(out, PROP_NAME_SEP);
    buf_append_bytes(out, val);
    buf_append_u8(out, PROP_PAIR_SEP);
}

static bool in_list(tern_bytes_t k, const char *const *skip)
{
    for (; skip && *skip; skip++)
        if (tern_bytes_eq_cstr(k, *skip))
            return true;
    return false;
}

void props_copy_except(buf_t *out, tern_bytes_t props, const char *const *skip)
{
    size_t it = 0;
    tern_bytes_t k, v;
    while (props_next(props, &it, &k, &v)) {
        if (in_list(k, skip))
            continue;
        buf_append_bytes(out, k);
        buf_append_u8(out, PROP_NAME_SEP);
        buf_append_bytes(out, v);
        buf_append_u8(out, PROP_PAIR_SEP);
    }
}

bool props_is_clean(tern_bytes_t v)
{
    for (size_t i = 0; i < v.len; i++)
        if (v.ptr[i] == PROP_NAME_SEP || v.ptr[i] == PROP_PAIR_SEP)
            return false;
    return true;
}
