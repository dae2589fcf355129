/* SPDX-License-Identifier: Apache-2.0 */
/* message.h: the stored message record (commit-log record == pull wire format).
 *
 * Layout (big-endian; IPv4 hosts; magic V1): spec/remoting-protocol.md §5.5 and
 * docs/design/store.md#record. TOTALSIZE = 91 + body + topic + props for
 * IPv4/IPv4; +12 per IPv6 host. We only ever write magic V1 (1-byte topic
 * length), and decode V1 and V2. */
#ifndef TERN_PROTOCOL_MESSAGE_H
#define TERN_PROTOCOL_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/bytes.h"

#define MSG_MAGIC_V1    0xDAA320A7u
#define MSG_MAGIC_V2    0xDAA320ABu
#define MSG_MAGIC_BLANK 0xCBD43194u

/* Fixed-position fields (valid for every record: they precede the hosts). */
#define MSG_OFF_TOTALSIZE   0
#define MSG_OFF_MAGIC       4
#define MSG_OFF_BODYCRC     8
#define MSG_OFF_QUEUEID     12
#define MSG_OFF_FLAG        16
#define MSG_OFF_QUEUEOFFSET 20
#define MSG_OFF_PHYOFFSET   28
#define MSG_OFF_SYSFLAG     36
#define MSG_OFF_BORNTS      40
#define MSG_OFF_BORNHOST    48
/* Fixed overhead of a V1 record with IPv4 born and store hosts. */
#define MSG_FIXED_V1_V4 91

/* Message sysFlag bits (spec §5.3). */
#define MSG_SYSFLAG_COMPRESSED   0x1
#define MSG_SYSFLAG_MULTI_TAGS   0x2
#define MSG_SYSFLAG_TXN_MASK     0xC
#define MSG_SYSFLAG_TXN_NOT      0x0
#define MSG_SYSFLAG_TXN_PREPARED 0x4
#define MSG_SYSFLAG_TXN_COMMIT   0x8
#define MSG_SYSFLAG_TXN_ROLLBACK 0xC
#define MSG_SYSFLAG_BORNHOST_V6  0x10
#define MSG_SYSFLAG_STOREHOST_V6 0x20

struct msg_host {
    uint8_t addr[16]; /* IPv4 in the first 4 bytes unless is_v6 */
    int32_t port;
    bool is_v6;
};

/* A decoded record: scalar fields plus views into the record bytes. */
struct msg_record {
    int32_t total_size;
    uint32_t magic;
    int32_t body_crc;
    int32_t queue_id;
    int32_t flag;
    int64_t queue_off;
    int64_t phy_off;
    int32_t sys_flag;
    int64_t born_ts;
    struct msg_host born_host; /* is_v6 follows sys_flag bit 0x10 */
    int64_t store_ts;
    struct msg_host store_host; /* is_v6 follows sys_flag bit 0x20 */
    int32_t reconsume_times;
    int64_t prepared_txn_off;
    tern_bytes_t body;  /* borrowed from the record bytes */
    tern_bytes_t topic; /* borrowed */
    tern_bytes_t props; /* borrowed */
};

/* Decodes one record at p (len bytes available). Checks the magic (V1/V2),
 * that TOTALSIZE fits in len and equals the sum of the parsed fields.
 * Returns TERN_OK, or TERN_EPROTOCOL on any inconsistency. A blank (filler)
 * record returns TERN_ENOT_FOUND with out->total_size set. Does not check the
 * body CRC (see msg_check_crc). */
int msg_decode(const uint8_t *p, size_t len, struct msg_record *out);
/* True when body_crc matches crc32_java(body). */
bool msg_check_crc(const struct msg_record *m);
/* Returns the encoded size for m (uses sys_flag v6 bits, topic, body, props). */
size_t msg_encoded_size(const struct msg_record *m);
/* Writes m at dst (msg_encoded_size(m) bytes), magic V1, TOTALSIZE computed.
 * body_crc is written as given (callers compute crc32_java(body)). Topics
 * longer than 127 bytes are the caller's error (asserted). */
void msg_encode(const struct msg_record *m, uint8_t *dst);
/* Offset of STORETIMESTAMP within a record with this sys_flag. */
size_t msg_store_ts_off(int32_t sys_flag);

#endif
