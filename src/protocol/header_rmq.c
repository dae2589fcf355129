/* SPDX-License-Identifier: Apache-2.0 */
/* header_rmq.c: the ROCKETMQ binary remoting header (serializeType 1).
 *
 * Layout (spec §2.4), all big-endian:
 *   i16 code | u8 language | i16 version | i32 opaque | i32 flag |
 *   i32 remarkLen, remark | i32 extLen, then until extLen is used up:
 *   i16 keyLen, key | i32 valLen, val.
 * A zero length means null (absent). Decoded strings are views into the frame;
 * a repeated key replaces the earlier value. Bytes after the ext block are
 * ignored (as Java does). Not thread-safe per command. */
#include "common/limits.h"
#include "protocol/cmd_internal.h"

int header_rmq_decode(tern_bytes_t h, struct rcmd *c)
{
    reader_t r = reader_of(h.ptr, h.len);
    uint16_t code, version;
    uint8_t lang;
    uint32_t opaque, flag, remark_len, ext_len;
    if (rd_u16(&r, &code) || rd_u8(&r, &lang) || rd_u16(&r, &version) || rd_u32(&r, &opaque) ||
        rd_u32(&r, &flag) || rd_u32(&r, &remark_len))
        return TERN_EPROTOCOL;
    c->code = (int16_t)code;
    c->language = lang;
    c->version = (int16_t)version;
    c->opaque = (int32_t)opaque;
    c->flag = (int32_t)flag;
    c->has_remark = false;
    c->remark = TERN_BYTES_NULL;
    c->nfields = 0;
    if (remark_len > 0) {
        if (remark_len > INT32_MAX || rd_bytes(&r, remark_len, &c->remark) != TERN_OK)
            return TERN_EPROTOCOL;
        c->has_remark = true;
    }
    tern_bytes_t ext;
    if (rd_u32(&r, &ext_len) || ext_len > INT32_MAX || rd_bytes(&r, ext_len, &ext))
        return TERN_EPROTOCOL;
    reader_t e = reader_of(ext.ptr, ext.len);
    while (rd_left(&e) > 0) {
        uint16_t klen;
        uint32_t vlen;
        tern_bytes_t key, val;
        if (rd_u16(&e, &klen) || klen > INT16_MAX || rd_bytes(&e, klen, &key) ||
            rd_u32(&e, &vlen) || vlen > INT32_MAX || rd_bytes(&e, vlen, &val))
            return TERN_EPROTOCOL;
        if (klen == 0)
            continue; /* a null key: Java stores it, nothing can look it up */
        if (vlen == 0)
            val = TERN_BYTES_NULL;
        int rc = cmd_put_field(c, key, val);
        if (rc != TERN_OK)
            return rc;
    }
    return TERN_OK;
}

static bool writable(const struct rcmd_field *f)
{
    return f->val.ptr && f->val.len > 0 && f->val.len <= INT32_MAX && f->key.len > 0 &&
           f->key.len <= INT16_MAX;
}

void header_rmq_encode(const struct rcmd *c, buf_t *out)
{
    size_t remark_len = c->has_remark && c->remark.len <= INT32_MAX ? c->remark.len : 0;
    buf_append_be16(out, (uint16_t)c->code); /* 16 bits on the wire: Java truncates too */
    buf_append_u8(out, c->language);
    buf_append_be16(out, (uint16_t)c->version);
    buf_append_be32(out, (uint32_t)c->opaque);
    buf_append_be32(out, (uint32_t)c->flag);
    buf_append_be32(out, (uint32_t)remark_len);
    buf_append(out, c->remark.ptr, remark_len);
    size_t ext_len = 0;
    for (size_t i = 0; i < c->nfields; i++) {
        if (writable(&c->fields[i]))
            ext_len += 6 + c->fields[i].key.len + c->fields[i].val.len;
    }
    buf_append_be32(out, (uint32_t)ext_len);
    for (size_t i = 0; i < c->nfields; i++) {
        const struct rcmd_field *f = &c->fields[i];
        if (!writable(f))
            continue;
        buf_append_be16(out, (uint16_t)f->key.len);
        buf_append_bytes(out, f->key);
        buf_append_be32(out, (uint32_t)f->val.len);
        buf_append_bytes(out, f->val);
    }
}
