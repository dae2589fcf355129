/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_message.c: a pull-response body, i.e. stored records back to back
 * (spec §5.5-5.6). Each decoded record is re-encoded (magic V1) and decoded
 * again; all fields must match and the size must be what msg_encoded_size
 * says. The loop stops at the first bad record, as clients do. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/message.h"

#define FUZZ_CHECK(cond)      \
    do {                      \
        if (!(cond))          \
            __builtin_trap(); \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_same(const struct msg_record *a, const struct msg_record *b)
{
    FUZZ_CHECK(a->body_crc == b->body_crc && a->queue_id == b->queue_id && a->flag == b->flag);
    FUZZ_CHECK(a->queue_off == b->queue_off && a->phy_off == b->phy_off);
    FUZZ_CHECK(a->sys_flag == b->sys_flag && a->born_ts == b->born_ts);
    FUZZ_CHECK(a->store_ts == b->store_ts && a->reconsume_times == b->reconsume_times);
    FUZZ_CHECK(a->prepared_txn_off == b->prepared_txn_off);
    FUZZ_CHECK(memcmp(a->born_host.addr, b->born_host.addr, 16) == 0);
    FUZZ_CHECK(memcmp(a->store_host.addr, b->store_host.addr, 16) == 0);
    FUZZ_CHECK(a->born_host.port == b->born_host.port);
    FUZZ_CHECK(a->store_host.port == b->store_host.port);
    FUZZ_CHECK(a->born_host.is_v6 == b->born_host.is_v6);
    FUZZ_CHECK(a->store_host.is_v6 == b->store_host.is_v6);
    FUZZ_CHECK(tern_bytes_eq(a->body, b->body) && tern_bytes_eq(a->topic, b->topic));
    FUZZ_CHECK(tern_bytes_eq(a->props, b->props));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    if (size)
        memcpy(copy, data, size);
    size_t pos = 0;
    while (pos < size) {
        struct msg_record m;
        if (msg_decode(copy + pos, size - pos, &m) != TERN_OK)
            break;
        FUZZ_CHECK(m.total_size >= MSG_FIXED_V1_V4 && (size_t)m.total_size <= size - pos);
        (void)msg_check_crc(&m);
        if (m.topic.len <= 127 && m.props.len <= 32767) {
            size_t n = msg_encoded_size(&m);
            FUZZ_CHECK(m.magic != MSG_MAGIC_V1 || n == (size_t)m.total_size);
            uint8_t *enc = malloc(n);
            msg_encode(&m, enc);
            struct msg_record b;
            FUZZ_CHECK(msg_decode(enc, n, &b) == TERN_OK);
            FUZZ_CHECK(b.magic == MSG_MAGIC_V1 && (size_t)b.total_size == n);
            check_same(&m, &b);
            free(enc);
        }
        pos += (size_t)m.total_size;
    }
    free(copy);
    return 0;
}
