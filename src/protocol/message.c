/* SPDX-License-Identifier: Apache-2.0 */
/* message.c: encode/decode of the stored message record (see message.h and
 * docs/design/store.md#record). */
#include "protocol/message.h"

#include <assert.h>
#include <string.h>

#include "common/hash.h"

static size_t host_len(bool v6)
{
    return v6 ? 20 : 8;
}

size_t msg_store_ts_off(int32_t sys_flag)
{
    return MSG_OFF_BORNHOST + host_len(sys_flag & MSG_SYSFLAG_BORNHOST_V6);
}

static int rd_host(reader_t *r, bool v6, struct msg_host *h)
{
    tern_bytes_t a;
    uint32_t port;
    memset(h, 0, sizeof *h);
    h->is_v6 = v6;
    if (rd_bytes(r, v6 ? 16 : 4, &a) || rd_u32(r, &port))
        return TERN_EPROTOCOL;
    memcpy(h->addr, a.ptr, a.len);
    h->port = (int32_t)port;
    return TERN_OK;
}

int msg_decode(const uint8_t *p, size_t len, struct msg_record *m)
{
    reader_t r = reader_of(p, len);
    uint32_t u32;
    uint64_t u64;
    memset(m, 0, sizeof *m);
    if (rd_u32(&r, &u32))
        return TERN_EPROTOCOL;
    m->total_size = (int32_t)u32;
    if (rd_u32(&r, &m->magic))
        return TERN_EPROTOCOL;
    if (m->magic == MSG_MAGIC_BLANK)
        return TERN_ENOT_FOUND;
    if (m->magic != MSG_MAGIC_V1 && m->magic != MSG_MAGIC_V2)
        return TERN_EPROTOCOL;
    if (m->total_size < MSG_FIXED_V1_V4 || (size_t)m->total_size > len)
        return TERN_EPROTOCOL;
    r.len = (size_t)m->total_size; /* never read past this record */
    if (rd_u32(&r, &u32))
        return TERN_EPROTOCOL;
    m->body_crc = (int32_t)u32;
    if (rd_u32(&r, &u32))
        return TERN_EPROTOCOL;
    m->queue_id = (int32_t)u32;
    if (rd_u32(&r, &u32))
        return TERN_EPROTOCOL;
    m->flag = (int32_t)u32;
    if (rd_u64(&r, &u64))
        return TERN_EPROTOCOL;
    m->queue_off = (int64_t)u64;
    if (rd_u64(&r, &u64))
        return TERN_EPROTOCOL;
    m->phy_off = (int64_t)u64;
    if (rd_u32(&r, &u32))
        return TERN_EPROTOCOL;
    m->sys_flag = (int32_t)u32;
    if (rd_u64(&r, &u64))
        return TERN_EPROTOCOL;
    m->born_ts = (int64_t)u64;
    if (rd_host(&r, m->sys_flag & MSG_SYSFLAG_BORNHOST_V6, &m->born_host))
        return TERN_EPROTOCOL;
    if (rd_u64(&r, &u64))
        return TERN_EPROTOCOL;
    m->store_ts = (int64_t)u64;
    if (rd_host(&r, m->sys_flag & MSG_SYSFLAG_STOREHOST_V6, &m->store_host))
        return TERN_EPROTOCOL;
    if (rd_u32(&r, &u32))
        return TERN_EPROTOCOL;
    m->reconsume_times = (int32_t)u32;
    if (rd_u64(&r, &u64))
        return TERN_EPROTOCOL;
    m->prepared_txn_off = (int64_t)u64;
    if (rd_u32(&r, &u32) || u32 > rd_left(&r) || rd_bytes(&r, u32, &m->body))
        return TERN_EPROTOCOL;
    size_t tlen;
    if (m->magic == MSG_MAGIC_V1) {
        uint8_t t8;
        if (rd_u8(&r, &t8))
            return TERN_EPROTOCOL;
        tlen = t8;
    } else {
        uint16_t t16;
        if (rd_u16(&r, &t16))
            return TERN_EPROTOCOL;
        tlen = t16;
    }
    if (rd_bytes(&r, tlen, &m->topic))
        return TERN_EPROTOCOL;
    uint16_t plen;
    if (rd_u16(&r, &plen) || rd_bytes(&r, plen, &m->props))
        return TERN_EPROTOCOL;
    if (r.pos != (size_t)m->total_size)
        return TERN_EPROTOCOL;
    return TERN_OK;
}

bool msg_check_crc(const struct msg_record *m)
{
    return crc32_java(m->body.ptr, m->body.len) == m->body_crc;
}

size_t msg_encoded_size(const struct msg_record *m)
{
    return 4 + 4 + 4 + 4 + 4 + 8 + 8 + 4 + 8 + host_len(m->sys_flag & MSG_SYSFLAG_BORNHOST_V6) + 8 +
           host_len(m->sys_flag & MSG_SYSFLAG_STOREHOST_V6) + 4 + 8 + 4 + m->body.len + 1 +
           m->topic.len + 2 + m->props.len;
}

static uint8_t *wr32(uint8_t *d, uint32_t v)
{
    be32_store(d, v);
    return d + 4;
}

static uint8_t *wr64(uint8_t *d, uint64_t v)
{
    be64_store(d, v);
    return d + 8;
}

static uint8_t *wr_host(uint8_t *d, const struct msg_host *h, bool v6)
{
    size_t n = v6 ? 16 : 4;
    memcpy(d, h->addr, n);
    return wr32(d + n, (uint32_t)h->port);
}

void msg_encode(const struct msg_record *m, uint8_t *d)
{
    assert(m->topic.len <= 127 && m->props.len <= 32767);
    size_t total = msg_encoded_size(m);
    d = wr32(d, (uint32_t)total);
    d = wr32(d, MSG_MAGIC_V1);
    d = wr32(d, (uint32_t)m->body_crc);
    d = wr32(d, (uint32_t)m->queue_id);
    d = wr32(d, (uint32_t)m->flag);
    d = wr64(d, (uint64_t)m->queue_off);
    d = wr64(d, (uint64_t)m->phy_off);
    d = wr32(d, (uint32_t)m->sys_flag);
    d = wr64(d, (uint64_t)m->born_ts);
    d = wr_host(d, &m->born_host, m->sys_flag & MSG_SYSFLAG_BORNHOST_V6);
    d = wr64(d, (uint64_t)m->store_ts);
    d = wr_host(d, &m->store_host, m->sys_flag & MSG_SYSFLAG_STOREHOST_V6);
    d = wr32(d, (uint32_t)m->reconsume_times);
    d = wr64(d, (uint64_t)m->prepared_txn_off);
    d = wr32(d, (uint32_t)m->body.len);
    if (m->body.len)
        memcpy(d, m->body.ptr, m->body.len);
    d += m->body.len;
    *d++ = (uint8_t)m->topic.len;
    if (m->topic.len)
        memcpy(d, m->topic.ptr, m->topic.len);
    d += m->topic.len;
    be16_store(d, (uint16_t)m->props.len);
    d += 2;
    if (m->props.len)
        memcpy(d, m->props.ptr, m->props.len);
}
