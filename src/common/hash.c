/* SPDX-License-Identifier: Apache-2.0 */
/* hash.c: Java String.hashCode, CRC-32 (zlib) and FNV-1a (see hash.h). */
#include "common/hash.h"

#include <libdeflate.h>

int32_t java_string_hash(const uint8_t *s, size_t len)
{
    uint32_t h = 0;
    size_t i = 0;
    while (i < len) {
        uint32_t c = s[i];
        uint32_t cp;
        size_t n;
        if (c < 0x80) {
            cp = c;
            n = 1;
        } else if ((c & 0xE0) == 0xC0 && i + 1 < len) {
            cp = (c & 0x1F) << 6 | (s[i + 1] & 0x3F);
            n = 2;
        } else if ((c & 0xF0) == 0xE0 && i + 2 < len) {
            cp = (c & 0x0F) << 12 | (uint32_t)(s[i + 1] & 0x3F) << 6 | (s[i + 2] & 0x3F);
            n = 3;
        } else if ((c & 0xF8) == 0xF0 && i + 3 < len) {
            cp = (c & 0x07) << 18 | (uint32_t)(s[i + 1] & 0x3F) << 12 |
                 (uint32_t)(s[i + 2] & 0x3F) << 6 | (s[i + 3] & 0x3F);
            n = 4;
        } else {
            /* Invalid UTF-8: Java would see U+FFFD. */
            cp = 0xFFFD;
            n = 1;
        }
        if (cp >= 0x10000) {
            cp -= 0x10000;
            h = 31 * h + (0xD800 + (cp >> 10));
            h = 31 * h + (0xDC00 + (cp & 0x3FF));
        } else {
            h = 31 * h + cp;
        }
        i += n;
    }
    return (int32_t)h;
}

uint32_t crc32_update(uint32_t crc, const uint8_t *p, size_t len)
{
    /* libdeflate's CRC-32 uses carry-less multiplication where the CPU has
     * it: several times zlib's table-driven speed, and every stored body is
     * checksummed once on the send path. */
    return libdeflate_crc32(crc, p, len);
}

int32_t crc32_java(const uint8_t *p, size_t len)
{
    return (int32_t)(crc32_update(0, p, len) & 0x7FFFFFFF);
}

uint64_t fnv1a64(const void *p, size_t len)
{
    const uint8_t *s = p;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= s[i];
        h *= 1099511628211ULL;
    }
    return h;
}
