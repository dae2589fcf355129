/* SPDX-License-Identifier: Apache-2.0 */
/* hash.h: the hashes the protocol and the store depend on.
 *
 * java_string_hash: Java's String.hashCode over the UTF-16 code units of a
 * UTF-8 string (tag codes, index keys). crc32_java: CRC-32 (zlib's) & 0x7FFFFFFF
 * (BODYCRC, bodyCrc32). fnv1a64: internal hash tables. */
#ifndef TERN_COMMON_HASH_H
#define TERN_COMMON_HASH_H

#include <stddef.h>
#include <stdint.h>

int32_t java_string_hash(const uint8_t *utf8, size_t len);
int32_t crc32_java(const uint8_t *p, size_t len);
/* Plain CRC-32 with a running value (start with 0). */
uint32_t crc32_update(uint32_t crc, const uint8_t *p, size_t len);
uint64_t fnv1a64(const void *p, size_t len);

#endif
