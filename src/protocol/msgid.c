/* SPDX-License-Identifier: Apache-2.0 */
/* msgid.c: offset message ids and UNIQ_KEY generation (see msgid.h). */
#include "protocol/msgid.h"

#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char HEX[] = "0123456789ABCDEF";

static size_t hex_encode(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = HEX[p[i] >> 4];
        out[2 * i + 1] = HEX[p[i] & 15];
    }
    out[2 * n] = '\0';
    return 2 * n;
}

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

size_t msgid_encode(const struct msg_host *h, int64_t phy_off, char *out)
{
    uint8_t raw[28];
    size_t alen = h->is_v6 ? 16 : 4;
    memcpy(raw, h->addr, alen);
    be32_store(raw + alen, (uint32_t)h->port);
    be64_store(raw + alen + 4, (uint64_t)phy_off);
    return hex_encode(raw, alen + 12, out);
}

int msgid_decode(tern_bytes_t id, struct msg_host *h, int64_t *phy_off)
{
    if (id.len != 32 && id.len != 56)
        return TERN_EINVALID;
    uint8_t raw[28];
    for (size_t i = 0; i < id.len / 2; i++) {
        int hi = hexval(id.ptr[2 * i]), lo = hexval(id.ptr[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return TERN_EINVALID;
        raw[i] = (uint8_t)(hi << 4 | lo);
    }
    memset(h, 0, sizeof *h);
    h->is_v6 = id.len == 56;
    size_t alen = h->is_v6 ? 16 : 4;
    memcpy(h->addr, raw, alen);
    h->port = (int32_t)be32_load(raw + alen);
    *phy_off = (int64_t)be64_load(raw + alen + 4);
    return TERN_OK;
}

void uniq_gen_init(struct uniq_gen *g, const uint8_t ipv4[4])
{
    memcpy(g->prefix, ipv4, 4);
    be16_store(g->prefix + 4, (uint16_t)getpid());
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint32_t salt = (uint32_t)(ts.tv_nsec ^ (ts.tv_sec << 20) ^ (uintptr_t)g);
    be32_store(g->prefix + 6, salt);
    atomic_init((_Atomic uint32_t *)&g->counter, 0);
}

static int64_t month_start_ms(int64_t now_ms)
{
    time_t t = (time_t)(now_ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    tm.tm_mday = 1;
    tm.tm_hour = 0;
    tm.tm_min = 0;
    tm.tm_sec = 0;
    return (int64_t)mktime(&tm) * 1000;
}

void uniq_gen_next(struct uniq_gen *g, int64_t now_ms, char out[33])
{
    uint8_t raw[16];
    memcpy(raw, g->prefix, 10);
    /* Recomputing the month start per call costs a localtime_r; cache per second. */
    static _Thread_local int64_t cached_sec = -1, cached_start;
    if (now_ms / 1000 != cached_sec) {
        cached_sec = now_ms / 1000;
        cached_start = month_start_ms(now_ms);
    }
    be32_store(raw + 10, (uint32_t)(now_ms - cached_start));
    uint32_t c = atomic_fetch_add((_Atomic uint32_t *)&g->counter, 1);
    be16_store(raw + 14, (uint16_t)c);
    hex_encode(raw, 16, out);
}
