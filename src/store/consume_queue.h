/* SPDX-License-Identifier: Apache-2.0 */
/* consume_queue.h: the per-(topic, queue) index into the commit log.
 *
 * Files consumequeue/<topic>/<queueId>/<20-digit start byte offset>, each
 * file_units units of 20 bytes, big-endian: @0 i64 phy_off, @8 i32 size,
 * @12 i64 tags_code (docs/design/store.md#consume-queue). Unit i sits at byte
 * i*20 of the queue's space. A unit with size <= 0 is a hole (pre-blank).
 * Invariant: units below max_off are written (published with release order
 * after the write). Threads: cq_put under the store's put_lock; readers hold
 * cq_rdlock; the file list changes under the exclusive lock. */
#ifndef TERN_STORE_CONSUME_QUEUE_H
#define TERN_STORE_CONSUME_QUEUE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/bytes.h"
#include "store/mapped_file.h"

#define CQ_UNIT_BYTES 20

struct cq_unit {
    int64_t phy_off;
    int32_t size;
    int64_t tags_code;
};

struct cq {
    char *topic; /* owned, NUL-terminated */
    size_t topic_len;
    int32_t queue_id;
    char *dir; /* owned: <root>/consumequeue/<topic>/<queueId> */
    int64_t file_units;
    bool preallocate;

    pthread_rwlock_t lock; /* guards files, nfiles, cap */
    struct mfile **files;  /* owned; contiguous */
    size_t nfiles, cap;

    _Atomic int64_t max_off;     /* next queue offset; release-published */
    _Atomic int64_t min_off;     /* first readable queue offset */
    struct mfile *cur;           /* guarded by put_lock: borrowed, the last file */
    int64_t max_phy_end;         /* guarded by put_lock: end of the last unit's record */
    _Atomic int64_t flushed_off; /* units below are durable; flush thread */
    atomic_bool dir_dirty;       /* files/dirs created since the last directory fsync */
};

/* A queue object with no files yet (files are created on the first put).
 * OUT: *out (owned; cq_free). */
void cq_new(const char *cq_root, tern_bytes_t topic, int32_t queue_id, int64_t file_units,
            bool preallocate, struct cq **out);
/* Unmaps and frees. NULL is a no-op. */
void cq_free(struct cq *q);
/* Unmaps, deletes the files and the directory, frees. */
void cq_destroy(struct cq *q);

/* Recovery: maps the queue's files and truncates units whose record would
 * end past log_end (a cut tail); sets max_off, max_phy_end and min_off (first
 * unit at or above log_min). */
int cq_load(struct cq *q, int64_t log_min, int64_t log_end);

/* Writes the unit for queue offset qoff (put_lock held). Offsets normally
 * arrive in order; a gap leaves holes, an earlier offset overwrites (replay). */
int cq_put(struct cq *q, int64_t qoff, int64_t phy_off, int32_t size, int64_t tags_code);

void cq_rdlock(struct cq *q);
void cq_unlock(struct cq *q);
/* Lock held: pointer to the unit at qoff and how many units follow it in the
 * same file (bounded by max_off). TERN_ENOT_FOUND if that file is gone. */
int cq_units_at(struct cq *q, int64_t qoff, const uint8_t **p, int64_t *count);
/* Reads one unit (takes the lock). */
int cq_read_unit(struct cq *q, int64_t qoff, struct cq_unit *u);
static inline void cq_unit_load(const uint8_t *p, struct cq_unit *u)
{
    u->phy_off = (int64_t)be64_load(p);
    u->size = (int32_t)be32_load(p + 8);
    u->tags_code = (int64_t)be64_load(p + 12);
}
/* First queue offset of the file after the one holding qoff. */
int64_t cq_next_file_off(const struct cq *q, int64_t qoff);

/* Syncs units [flushed_off, max_off) (flush thread). */
int cq_flush(struct cq *q);
/* Retention: deletes files (never the last) whose units all point below
 * log_min and are flushed, then moves min_off to the first unit whose record
 * starts at or above log_min. Returns files deleted. */
int cq_delete_below(struct cq *q, int64_t log_min);

#endif
