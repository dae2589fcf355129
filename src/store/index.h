/* SPDX-License-Identifier: Apache-2.0 */
/* index.h: hash-slot index files for QUERY_MESSAGE (keys topic#UNIQ_KEY and
 * topic#<KEYS word>), RocketMQ's IndexFile layout, big-endian:
 *   header 40 B: @0 i64 begin_ts, @8 i64 end_ts, @16 i64 begin_phy,
 *                @24 i64 end_phy, @32 i32 slots_used, @36 i32 count (from 1)
 *   slots:   n_slots x i32 (newest entry number in the bucket, 0 = empty)
 *   entries: n_entries x 20 B: i32 key_hash, i64 phy_off, i32 time_diff_sec,
 *            i32 prev_entry (chains run newest to oldest)
 * Files index/<yyyyMMddHHmmssSSS>, sparse. docs/design/store.md#index.
 * Threads: every call takes index->mu (the index thread builds, queries read). */
#ifndef TERN_STORE_INDEX_H
#define TERN_STORE_INDEX_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "protocol/message.h"
#include "store/mapped_file.h"

#define IDX_HEADER_BYTES 40
#define IDX_ENTRY_BYTES  20
#define IDX_OFF_BEGIN_TS 0
#define IDX_OFF_END_TS   8
#define IDX_OFF_BEGIN_PH 16
#define IDX_OFF_END_PH   24
#define IDX_OFF_SLOTS    32
#define IDX_OFF_COUNT    36

struct index_store {
    char *dir; /* owned: <root>/index */
    int32_t n_slots;
    int32_t n_entries;
    pthread_mutex_t mu;   /* guards files, n, cap, dirty and file contents */
    struct mfile **files; /* owned, oldest first */
    size_t n, cap;
    bool dirty; /* written since the last flush */
    buf_t key;  /* guarded by mu: scratch for topic#key */
};

/* Opens every index file; headers whose end_phy lies past log_end (a cut log
 * tail) are pulled back so the replay guard does not skip new records.
 * OUT: *out (owned). */
int index_open(const char *dir, int32_t n_slots, int32_t n_entries, int64_t log_end,
               struct index_store **out);
void index_close(struct index_store *x);
/* Adds the keys of one decoded record. Skips records below the newest file's
 * end_phy (replay guard) and ROLLBACK records. */
int index_add_record(struct index_store *x, const struct msg_record *r);
/* Physical offsets of entries whose hash matches topic#key with a time within
 * [begin_ms, end_ms] (second granularity, widened by one second), newest file
 * first, at most max. Callers re-check the real record. OUT: offs, *n. */
int index_lookup(struct index_store *x, tern_bytes_t topic, tern_bytes_t key, int64_t begin_ms,
                 int64_t end_ms, int64_t *offs, int max, int *n);
/* msync()s the files written since the last call. */
int index_flush(struct index_store *x);
/* Deletes files (never the newest) whose end_phy is below log_min. */
int index_delete_below(struct index_store *x, int64_t log_min);
/* end_ts / end_phy of the newest file (0 when none). */
void index_last_update(struct index_store *x, int64_t *ts, int64_t *phy);

#endif
