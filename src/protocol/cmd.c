/* SPDX-License-Identifier: Apache-2.0 */
/* cmd.c: the remoting command: frame prefix codec, field storage and typed
 * accessors. Header bodies are in header_json.c / header_rmq.c.
 *
 * Frame (spec §1.2): be32 totalLength (excludes itself), be32
 * serializeType<<24 | headerLength, header, body. rcmd_encode writes the full
 * frame including the length prefix. Invariant: a decoded command only holds
 * views into the frame, static strings, or its own arena. Not thread-safe. */
#include "protocol/cmd.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/limits.h"
#include "protocol/cmd_internal.h"

static const char *const lang_names[] = {
    "JAVA",  "CPP",  "DOTNET", "PYTHON", "DELPHI", "ERLANG", "RUBY",
    "OTHER", "HTTP", "GO",     "PHP",    "OMS",    "RUST",   "NODE_JS",
};
#define NLANG (sizeof lang_names / sizeof lang_names[0])

const char *cmd_lang_name(uint8_t code)
{
    return code < NLANG ? lang_names[code] : "OTHER";
}

uint8_t cmd_lang_code(tern_bytes_t name)
{
    for (size_t i = 0; i < NLANG; i++) {
        if (tern_bytes_eq_cstr(name, lang_names[i]))
            return (uint8_t)i;
    }
    return LANG_OTHER;
}

void rcmd_init(struct rcmd *c)
{
    c->code = 0;
    c->language = LANG_JAVA;
    c->version = TERN_PROTOCOL_VERSION;
    c->opaque = 0;
    c->flag = 0;
    c->serialize_type = RCMD_JSON;
    c->has_remark = false;
    c->failed = false;
    c->remark = TERN_BYTES_NULL;
    c->nfields = 0;
    c->cap_fields = 0;
    c->key_bits = 0;
    c->fields = NULL;
    c->body = TERN_BYTES_NULL;
    arena_init(&c->arena);
}

void rcmd_deinit(struct rcmd *c)
{
    arena_deinit(&c->arena);
    c->fields = NULL;
    c->nfields = 0;
    c->cap_fields = 0;
}

int rcmd_frame_peek(const uint8_t *p, size_t avail, size_t *frame_len)
{
    if (avail < 4)
        return TERN_EAGAIN;
    uint32_t total = be32_load(p);
    if (total < 4)
        return TERN_EPROTOCOL;
    if ((uint64_t)total + 4 > TERN_MAX_FRAME_BYTES)
        return TERN_ETOO_LARGE;
    if (avail >= 8) {
        uint32_t w = be32_load(p + 4);
        if ((w >> 24) > RCMD_ROCKETMQ || (w & 0xFFFFFF) > total - 4)
            return TERN_EPROTOCOL;
    }
    *frame_len = (size_t)total + 4;
    return TERN_OK;
}

static int decode(const uint8_t *p, uint8_t *wr, size_t frame_len, struct rcmd *c)
{
    if (frame_len < 8)
        return TERN_EPROTOCOL;
    if (frame_len > TERN_MAX_FRAME_BYTES)
        return TERN_ETOO_LARGE;
    if (be32_load(p) != frame_len - 4)
        return TERN_EPROTOCOL;
    uint32_t w = be32_load(p + 4);
    uint32_t type = w >> 24;
    size_t hlen = w & 0xFFFFFF;
    if (type > RCMD_ROCKETMQ || hlen > frame_len - 8)
        return TERN_EPROTOCOL;
    if (hlen > TERN_MAX_HEADER_BYTES)
        return TERN_ETOO_LARGE;
    c->serialize_type = (uint8_t)type;
    tern_bytes_t h = tern_bytes(p + 8, hlen);
    int rc = type != RCMD_JSON ? header_rmq_decode(h, c)
             : wr              ? header_json_decode_mut(wr + 8, hlen, c)
                               : header_json_decode(h, c);
    if (rc != TERN_OK)
        return rc;
    c->body = tern_bytes(p + 8 + hlen, frame_len - 8 - hlen);
    return TERN_OK;
}

int rcmd_decode(const uint8_t *p, size_t frame_len, struct rcmd *c)
{
    return decode(p, NULL, frame_len, c);
}

int rcmd_decode_mut(uint8_t *p, size_t frame_len, struct rcmd *c)
{
    return decode(p, p, frame_len, c);
}

void rcmd_encode_header(const struct rcmd *c, buf_t *out)
{
    size_t start = out->len;
    if (c->failed) {
        out->failed = true; /* the command is incomplete: report it as the writer's OOM */
        return;
    }
    if (buf_reserve(out, 8) == NULL)
        return; /* out->failed is set */
    out->len += 8;
    if (c->serialize_type == RCMD_ROCKETMQ)
        header_rmq_encode(c, out);
    else
        header_json_encode(c, out);
    if (buf_failed(out))
        return;
    size_t hlen = out->len - start - 8;
    uint32_t type = c->serialize_type == RCMD_ROCKETMQ ? RCMD_ROCKETMQ : RCMD_JSON;
    be32_store(out->data + start, (uint32_t)(4 + hlen + c->body.len));
    be32_store(out->data + start + 4, type << 24 | ((uint32_t)hlen & 0xFFFFFF));
}

void rcmd_encode(const struct rcmd *c, buf_t *out)
{
    rcmd_encode_header(c, out);
    buf_append_bytes(out, c->body);
}

void rcmd_init_response(struct rcmd *resp, const struct rcmd *req, int32_t code)
{
    rcmd_init(resp);
    resp->code = code;
    resp->opaque = req->opaque;
    resp->serialize_type = req->serialize_type;
    resp->flag = RCMD_FLAG_RESPONSE;
}

/* ---- fields ---- */

/* One of 64 bits for key, from its first byte and length: the one-letter keys
 * of SEND_MESSAGE_V2 ('a'..'n') get distinct bits. */
static inline uint64_t key_bit(tern_bytes_t key)
{
    return key.len ? UINT64_C(1) << ((key.ptr[0] + key.len * 8) & 63) : 1;
}

/* Appends key = val; bit is key_bit(key). TERN_ENOMEM when a grown fields
 * array cannot be allocated (c unchanged). */
static int append_field(struct rcmd *c, tern_bytes_t key, tern_bytes_t val, uint64_t bit)
{
    if (c->cap_fields == 0) {
        c->fields = c->fields_inline;
        c->cap_fields = RCMD_INLINE_FIELDS;
    } else if (c->nfields == c->cap_fields) {
        size_t ncap = c->cap_fields * 2;
        struct rcmd_field *nf = arena_alloc(&c->arena, ncap * sizeof *nf);
        if (nf == NULL)
            return TERN_ENOMEM;
        memcpy(nf, c->fields, c->nfields * sizeof *nf);
        c->fields = nf;
        c->cap_fields = ncap;
    }
    c->fields[c->nfields].key = key;
    c->fields[c->nfields].val = val;
    c->nfields++;
    c->key_bits |= bit;
    return TERN_OK;
}

int cmd_put_field(struct rcmd *c, tern_bytes_t key, tern_bytes_t val)
{
    /* A decoder puts every member: skip the duplicate search (quadratic in
     * the field count) unless a field may have this key. */
    uint64_t bit = key_bit(key);
    size_t n = c->key_bits & bit ? c->nfields : 0;
    for (size_t i = 0; i < n; i++) {
        tern_bytes_t k = c->fields[i].key;
        if (k.len != key.len || (k.len && (k.ptr[0] != key.ptr[0] || !tern_bytes_eq(k, key))))
            continue;
        if (val.ptr) {
            c->fields[i].val = val;
        } else {
            memmove(&c->fields[i], &c->fields[i + 1], (c->nfields - i - 1) * sizeof c->fields[0]);
            c->nfields--;
        }
        return TERN_OK;
    }
    if (!val.ptr)
        return TERN_OK;
    if (c->nfields >= TERN_MAX_EXT_FIELDS)
        return TERN_ETOO_LARGE;
    return append_field(c, key, val, bit);
}

static const struct rcmd_field *find(const struct rcmd *c, const char *key)
{
    size_t n = strlen(key);
    if (!(c->key_bits & key_bit(tern_bytes(key, n))))
        return NULL;
    for (size_t i = c->nfields; i-- > 0;) {
        const struct rcmd_field *f = &c->fields[i];
        if (f->key.len == n && f->val.ptr && memcmp(f->key.ptr, key, n) == 0)
            return f;
    }
    return NULL;
}

bool rcmd_has(const struct rcmd *c, const char *key)
{
    return find(c, key) != NULL;
}

tern_bytes_t rcmd_get(const struct rcmd *c, const char *key)
{
    const struct rcmd_field *f = find(c, key);
    return f ? f->val : TERN_BYTES_NULL;
}

tern_bytes_t rcmd_get2(const struct rcmd *c, const char *key, const char *alt_key)
{
    const struct rcmd_field *f = find(c, key);
    if (!f && alt_key)
        f = find(c, alt_key);
    return f ? f->val : TERN_BYTES_NULL;
}

int parse_i64(tern_bytes_t v, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (!v.ptr || v.len == 0)
        return TERN_EINVALID;
    if (v.ptr[0] == '-' || v.ptr[0] == '+') {
        neg = v.ptr[0] == '-';
        i = 1;
    }
    if (i == v.len || v.len - i > 19)
        return TERN_EINVALID;
    /* Accumulate as a negative number so INT64_MIN fits (as Java does).
     * acc * 10 - d stays in range unless acc < LIM, or acc == LIM and d > 8
     * (INT64_MIN = LIM * 10 - 8): no division per digit. */
    const int64_t LIM = INT64_MIN / 10;
    int64_t acc = 0;
    for (; i < v.len; i++) {
        uint8_t ch = v.ptr[i];
        if (ch < '0' || ch > '9')
            return TERN_EINVALID;
        int d = ch - '0';
        if (acc < LIM || (acc == LIM && d > 8))
            return TERN_EINVALID;
        acc = acc * 10 - d;
    }
    if (!neg) {
        if (acc == INT64_MIN)
            return TERN_EINVALID;
        acc = -acc;
    }
    *out = acc;
    return TERN_OK;
}

int rcmd_get_i64(const struct rcmd *c, const char *key, int64_t *out)
{
    const struct rcmd_field *f = find(c, key);
    if (!f)
        return TERN_ENOT_FOUND;
    return parse_i64(f->val, out);
}

int rcmd_get_i32(const struct rcmd *c, const char *key, int32_t *out)
{
    int64_t v;
    int rc = rcmd_get_i64(c, key, &v);
    if (rc != TERN_OK)
        return rc;
    if (v < INT32_MIN || v > INT32_MAX)
        return TERN_EINVALID;
    *out = (int32_t)v;
    return TERN_OK;
}

bool rcmd_get_bool(const struct rcmd *c, const char *key)
{
    tern_bytes_t v = rcmd_get(c, key);
    return v.len == 4 && strncasecmp((const char *)v.ptr, "true", 4) == 0;
}

void rcmd_add(struct rcmd *c, const char *key, tern_bytes_t val)
{
    tern_bytes_t k = arena_copy(&c->arena, tern_cstr(key));
    tern_bytes_t v = arena_copy(&c->arena, val);
    if (k.ptr == NULL || v.ptr == NULL || append_field(c, k, v, key_bit(k)) != TERN_OK)
        c->failed = true;
}

void rcmd_add_cstr(struct rcmd *c, const char *key, const char *val)
{
    rcmd_add(c, key, tern_cstr(val));
}

void rcmd_add_i64(struct rcmd *c, const char *key, int64_t val)
{
    char tmp[24];
    char *e = tmp + sizeof tmp, *p = e;
    uint64_t u = val < 0 ? (uint64_t)0 - (uint64_t)val : (uint64_t)val;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (val < 0)
        *--p = '-';
    rcmd_add(c, key, tern_bytes(p, (size_t)(e - p)));
}

void rcmd_add_ref(struct rcmd *c, tern_bytes_t key, tern_bytes_t val)
{
    if (append_field(c, key, val, key_bit(key)) != TERN_OK)
        c->failed = true;
}

void rcmd_set_remark(struct rcmd *c, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    char *p = arena_alloc(&c->arena, (size_t)n + 1);
    if (p == NULL) {
        va_end(ap2);
        c->failed = true;
        return;
    }
    vsnprintf(p, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    c->remark = tern_bytes(p, (size_t)n);
    c->has_remark = true;
}
