/* SPDX-License-Identifier: Apache-2.0 */
/* batch.c: batch body entries (see batch.h). */
#include "protocol/batch.h"

int batch_next(reader_t *r, struct batch_entry *e)
{
    if (rd_left(r) == 0)
        return TERN_ENOT_FOUND;
    uint32_t total, magic, crc, flag, blen;
    uint16_t plen;
    size_t start = r->pos;
    if (rd_u32(r, &total) || rd_u32(r, &magic) || rd_u32(r, &crc) || rd_u32(r, &flag) ||
        rd_u32(r, &blen) || rd_bytes(r, blen, &e->body) || rd_u16(r, &plen) ||
        rd_bytes(r, plen, &e->props))
        return TERN_EPROTOCOL;
    (void)magic;
    (void)crc;
    if ((size_t)total != r->pos - start)
        return TERN_EPROTOCOL;
    e->flag = (int32_t)flag;
    return TERN_OK;
}

void batch_append(buf_t *out, int32_t flag, tern_bytes_t body, tern_bytes_t props)
{
    buf_append_be32(out, (uint32_t)(20 + body.len + 2 + props.len));
    buf_append_be32(out, 0);
    buf_append_be32(out, 0);
    buf_append_be32(out, (uint32_t)flag);
    buf_append_be32(out, (uint32_t)body.len);
    buf_append_bytes(out, body);
    buf_append_be16(out, (uint16_t)props.len);
    buf_append_bytes(out, props);
}
