/* SPDX-License-Identifier: Apache-2.0 */
/* params.c: form-urlencoded parameter parsing and lookup (see params.h). */
#include "openapi/params.h"

#include <string.h>

#include "common/error.h"

void http_params_init(struct http_params *p)
{
    p->n = 0;
    arena_init(&p->arena);
}

void http_params_deinit(struct http_params *p)
{
    arena_deinit(&p->arena);
    p->n = 0;
}

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long http_form_decode(tern_bytes_t src, uint8_t *out)
{
    size_t o = 0;
    for (size_t i = 0; i < src.len; i++) {
        uint8_t c = src.ptr[i];
        if (c == '+') {
            out[o++] = ' ';
        } else if (c == '%') {
            if (src.len - i < 3)
                return -1;
            int hi = hexval(src.ptr[i + 1]), lo = hexval(src.ptr[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            out[o++] = (uint8_t)(hi << 4 | lo);
            i += 2;
        } else {
            out[o++] = c;
        }
    }
    return (long)o;
}

bool http_utf8_valid(tern_bytes_t v)
{
    size_t i = 0;
    while (i < v.len) {
        uint8_t c = v.ptr[i];
        size_t need;
        uint32_t cp;
        if (c == 0)
            return false;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            need = 1;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            need = 2;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            need = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (v.len - i - 1 < need)
            return false;
        for (size_t k = 1; k <= need; k++) {
            uint8_t cc = v.ptr[i + k];
            if ((cc & 0xC0) != 0x80)
                return false;
            cp = cp << 6 | (cc & 0x3F);
        }
        /* Overlong forms, surrogates and values past U+10FFFF are invalid. */
        if ((need == 1 && cp < 0x80) || (need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
            (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
            return false;
        i += need + 1;
    }
    return true;
}

static bool has_name(const struct http_params *p, tern_bytes_t name)
{
    for (size_t i = 0; i < p->n; i++)
        if (tern_bytes_eq(p->items[i].name, name))
            return true;
    return false;
}

/* Decodes src into an arena copy. The decoded text is never longer than src. */
static int decode_into(struct http_params *p, tern_bytes_t src, size_t limit, tern_bytes_t *out)
{
    if (src.len > limit * 3) /* cannot decode to <= limit bytes */
        return TERN_ETOO_LARGE;
    uint8_t *d = arena_alloc(&p->arena, src.len + 1);
    if (!d)
        return TERN_ENOMEM;
    long n = http_form_decode(src, d);
    if (n < 0)
        return TERN_EPROTOCOL;
    if ((size_t)n > limit)
        return TERN_ETOO_LARGE;
    d[n] = '\0';
    *out = tern_bytes(d, (size_t)n);
    if (!http_utf8_valid(*out))
        return TERN_EPROTOCOL;
    return TERN_OK;
}

int http_params_parse(struct http_params *p, tern_bytes_t text)
{
    if (text.len > HTTP_MAX_RAW_BYTES)
        return TERN_ETOO_LARGE;
    size_t i = 0;
    while (i < text.len) {
        size_t j = i;
        while (j < text.len && text.ptr[j] != '&')
            j++;
        tern_bytes_t seg = tern_bytes(text.ptr + i, j - i);
        i = j + 1;
        if (seg.len == 0)
            continue;
        const uint8_t *eq = memchr(seg.ptr, '=', seg.len);
        size_t nl = eq ? (size_t)(eq - seg.ptr) : seg.len;
        tern_bytes_t raw_name = tern_bytes(seg.ptr, nl);
        tern_bytes_t raw_val =
            eq ? tern_bytes(seg.ptr + nl + 1, seg.len - nl - 1) : tern_bytes(seg.ptr + nl, 0);
        if (raw_name.len == 0)
            continue;
        struct http_param prm;
        int rc = decode_into(p, raw_name, HTTP_MAX_NAME_BYTES, &prm.name);
        if (rc == TERN_OK)
            rc = decode_into(p, raw_val, HTTP_MAX_VALUE_BYTES, &prm.value);
        if (rc != TERN_OK)
            return rc;
        if (prm.name.len == 0)
            continue;
        if (has_name(p, prm.name))
            return TERN_EEXISTS;
        if (p->n == HTTP_MAX_PARAMS)
            return TERN_ETOO_LARGE;
        p->items[p->n++] = prm;
    }
    return TERN_OK;
}

static const struct http_param *find(const struct http_params *p, tern_bytes_t name)
{
    for (size_t i = 0; i < p->n; i++)
        if (tern_bytes_eq(p->items[i].name, name))
            return &p->items[i];
    return NULL;
}

const struct http_param *http_params_get(const struct http_params *p, const char *name)
{
    tern_bytes_t n = tern_cstr(name);
    const struct http_param *hit = find(p, n);
    if (hit || n.len == 0 || n.len > HTTP_MAX_NAME_BYTES || name[0] < 'a' || name[0] > 'z')
        return hit;
    char alias[HTTP_MAX_NAME_BYTES + 1];
    memcpy(alias, name, n.len);
    alias[0] = (char)(alias[0] - 'a' + 'A');
    return find(p, tern_bytes(alias, n.len));
}

static int name_cmp(tern_bytes_t a, tern_bytes_t b)
{
    size_t m = a.len < b.len ? a.len : b.len;
    int c = m ? memcmp(a.ptr, b.ptr, m) : 0;
    if (c != 0)
        return c;
    return a.len < b.len ? -1 : a.len > b.len;
}

void http_params_sorted(const struct http_params *p, size_t idx[HTTP_MAX_PARAMS])
{
    /* Insertion sort: at most HTTP_MAX_PARAMS items, names are unique. */
    for (size_t i = 0; i < p->n; i++) {
        size_t k = i;
        while (k > 0 && name_cmp(p->items[idx[k - 1]].name, p->items[i].name) > 0) {
            idx[k] = idx[k - 1];
            k--;
        }
        idx[k] = i;
    }
}
