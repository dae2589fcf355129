/* SPDX-License-Identifier: Apache-2.0 */
/* checkpoint.h: the store's progress file (<root>/checkpoint, 4096 bytes).
 *
 * Two 64-byte slots at @0 and @2048, written alternately (slot = seq & 1) so
 * a torn write leaves the other one valid; the valid slot with the highest
 * seq wins. Slot layout, big-endian:
 *   @0  u32 magic 0x54434B31 ("TCK1")   @4  u32 version (1)
 *   @8  u64 seq                          @16 i64 phy_flushed_off
 *   @24 i64 cq_flushed_phy               @32 i64 index_phy
 *   @40 i64 write_ms                     @48 i64 reserved (0)
 *   @56 u32 reserved (0)                 @60 u32 crc32 of bytes [0, 60)
 * Threads: the flush thread writes; open/close read and write. */
#ifndef TERN_STORE_CHECKPOINT_H
#define TERN_STORE_CHECKPOINT_H

#include <stdbool.h>
#include <stdint.h>

#define CKPT_FILE_BYTES  4096
#define CKPT_SLOT_BYTES  64
#define CKPT_SLOT1_POS   2048
#define CKPT_MAGIC       0x54434B31u
#define CKPT_VERSION     1
#define CKPT_OFF_MAGIC   0
#define CKPT_OFF_VERSION 4
#define CKPT_OFF_SEQ     8
#define CKPT_OFF_PHY     16
#define CKPT_OFF_CQ      24
#define CKPT_OFF_INDEX   32
#define CKPT_OFF_WRITEMS 40
#define CKPT_OFF_CRC     60

struct checkpoint_data {
    int64_t phy_flushed_off; /* every commit-log byte below is durable */
    int64_t cq_flushed_phy;  /* CQ units of every record below are durable */
    int64_t index_phy;       /* records below are in flushed index files */
    int64_t write_ms;
};

struct checkpoint {
    int fd;       /* owned */
    uint64_t seq; /* guarded by the caller (one writer at a time) */
};

/* Opens or creates <root>/checkpoint. *valid is false when no slot checks
 * out (fresh store or both torn). OUT: *out (owned), *data, *valid. */
int checkpoint_open(const char *root, struct checkpoint **out, struct checkpoint_data *data,
                    bool *valid);
/* Writes the next slot; with sync, fdatasync()s it. */
int checkpoint_write(struct checkpoint *cp, const struct checkpoint_data *data, bool sync);
/* Closes. NULL is a no-op. */
void checkpoint_close(struct checkpoint *cp);
/* Decodes one slot (exposed for tests and tern-inspect). */
bool checkpoint_decode_slot(const uint8_t *slot, uint64_t *seq, struct checkpoint_data *data);

#endif
