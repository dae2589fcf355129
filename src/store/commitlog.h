/* SPDX-License-Identifier: Apache-2.0 */
/* commitlog.h: the append-only message log shared by all topics.
 *
 * Records go into fixed-size segments named by the offset of their first byte
 * and never span segments: a BLANK filler (size = bytes left, magic
 * 0xCBD43194) closes a segment. Layout: docs/design/store.md#commitlog.
 * Invariants: bytes below max_off are complete records (published with
 * release order after their pwrite); bytes below flushed_off are durable.
 * Threads: reserve/publish under the store's put_lock; readers take segs_lock
 * shared; the list changes under segs_lock exclusive (roll, retention); the
 * alloc thread creates the next segment ahead of time. */
#ifndef TERN_STORE_COMMITLOG_H
#define TERN_STORE_COMMITLOG_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "store/mapped_file.h"
#include "store/store.h"

/* A segment always keeps room for a filler: a record needs len + 8 bytes. */
#define CL_MIN_BLANK 8
/* SYNC_FLUSH write-ahead window: the alloc thread keeps about this many
 * bytes ahead of the write position written back, in CL_WARM_CHUNK steps
 * (not whole segments: that would keep 2 GiB of zero pages resident). */
#define CL_WARM_AHEAD (16 * 1024 * 1024)
#define CL_WARM_CHUNK (4 * 1024 * 1024)
/* Resident 2 MiB pages kept to trade for new log folios (warm_pool.h): two
 * chunks' worth. */
#define CL_WARM_POOL_PAGES 4
/* ASYNC_FLUSH writes the log back up to unit_mark between thorough flushes:
 * the largest page-cache folio (store flush.c, async_flush_target). */
#define CL_FLUSH_UNIT MFILE_LARGE_FOLIO_BYTES
/* commitlog_flush syncs in pieces of this size (clean_off follows). */
#define CL_WRITEBACK_CHUNK (32 * 1024 * 1024)
/* Readers below the cached part of the log (cache_floor) have the kernel
 * read this far ahead of them (commitlog_read_ahead), in steps of half. */
#define CL_READ_AHEAD (8 * 1024 * 1024)

struct read_ahead;

struct commitlog {
    char *dir; /* owned: <root>/commitlog */
    int64_t seg_bytes;
    bool preallocate;
    bool write_ahead;              /* SYNC_FLUSH: write prefaulted chunks back ahead (see warm) */
    enum cl_write_mode write_mode; /* set before the alloc thread starts */

    pthread_rwlock_t segs_lock; /* guards segs, nsegs, cap */
    struct mfile **segs;        /* owned; contiguous, sorted by start */
    size_t nsegs, cap;

    _Atomic int64_t min_off;     /* start of the first segment */
    _Atomic int64_t max_off;     /* end of the last complete record */
    _Atomic int64_t unit_mark;   /* a record boundary before max_off's CL_FLUSH_UNIT
                                    (commitlog_publish; 0 until one is crossed) */
    _Atomic int64_t flushed_off; /* durable below this; only grows (commitlog_mark_flushed) */
    _Atomic int64_t clean_off;   /* written back below this (>= flushed_off; not always a
                                    record boundary): commitlog_flush's chunks */
    _Atomic int64_t sync_floor;  /* lowest offset a flush worker is syncing, or INT64_MAX */
    int64_t repaired_start;      /* lowest segment found short at open, or -1 */
    /* First sync error, sticky (0 = none): a failed fsync may have dropped the
     * dirty pages, so a retry could report success for lost data. Once set,
     * every sync fails with it and flushed_off never advances again. */
    atomic_int sync_err;
    atomic_int fail_syncs; /* test hook: the next n syncs fail with -EIO */

    struct mfile *cur; /* guarded by put_lock; borrowed from segs; NULL = need a segment */
    int64_t wpos;      /* guarded by put_lock: next write offset */
    int64_t warm_req;  /* guarded by put_lock: log offset the prefault was asked up to */

    pthread_mutex_t alloc_mu; /* guards spare, want_start, busy_start, alloc_stop */
    pthread_cond_t alloc_cv;
    struct mfile *spare;    /* owned: the next segment, created ahead */
    int64_t want_start;     /* start offset to preallocate, or -1 */
    int64_t busy_start;     /* start the alloc thread is creating now, or -1 */
    struct mfile *warm_seg; /* borrowed: segment to prefault [warm_from, warm_to), or NULL */
    int64_t warm_from;      /* log offsets */
    int64_t warm_to;
    bool alloc_stop;
    atomic_bool alloc_stop_flag; /* alloc_stop, readable without alloc_mu */
    bool alloc_started;
    pthread_t alloc_thr;
    struct warm_pool *pool; /* owned; armed by the appender, given by the alloc thread;
                               NULL unless the log has large folios (warm_pool.h) */

    /* Page-cache window (commitLogCacheBytes): pages more than cache_keep
     * below flushed_off leave the page cache, so that the memory they free
     * makes the next ones. 0 = never (the kernel decides). Set before the
     * alloc thread starts. The alloc thread trades one CL_FLUSH_UNIT at
     * cache_floor for each new folio (see trade_unit); the flush thread's
     * trim drops everything below cache_floor again and moves it up when
     * the trades fall behind. */
    int64_t cache_keep;
    _Atomic int64_t cache_floor; /* CL_FLUSH_UNIT-aligned; below it pages are dropped */
    _Atomic int64_t traded;      /* units trade_unit dropped (logged at close) */
    _Atomic int64_t untraded;    /* 2 MiB steps of prefault with nothing to trade */
    _Atomic int64_t ra_end;      /* readers: read-ahead asked for up to here */
    struct read_ahead *ra;       /* owned; started with the alloc thread when cache_keep > 0 */
};

/* Opens <dir>, maps every segment (sizes must equal seg_bytes, names must be
 * contiguous). OUT: *out (owned; commitlog_close). */
int commitlog_open(const char *dir, int64_t seg_bytes, bool preallocate, struct commitlog **out);
/* Joins the alloc thread, unmaps everything. NULL is a no-op. */
void commitlog_close(struct commitlog *cl);
/* Advises the mapped segments for the write mode (write_ahead and
 * write_mode are set by now), then starts the thread that creates the next
 * segment ahead of the appender. */
int commitlog_start_alloc(struct commitlog *cl);

/* Recovery. With trust, end = ckpt_off (clean shutdown). Otherwise records are
 * walked from min(ckpt_off, repaired_start) (clamped into the log) checking
 * magic, TOTALSIZE, PHYSICALOFFSET and body CRC; the first invalid one ends
 * the log. The tail after the end is zeroed, later segments are deleted.
 * OUT: *end (the new max_off). */
int commitlog_recover(struct commitlog *cl, bool trust, int64_t ckpt_off, int64_t *end);

/* Appender (caller holds put_lock): returns where a len-byte record goes,
 * writing a filler and rolling to the next segment when needed (bytes
 * reserved before but not yet written must be written first: see
 * commitlog_fits). OUT: *phy. */
int commitlog_reserve(struct commitlog *cl, size_t len, int64_t *phy);
/* True when a len-byte record fits in the current segment (reserve would
 * not roll). put_lock held. */
bool commitlog_fits(const struct commitlog *cl, size_t len);
/* Writes len reserved bytes at phy (all in the current segment), with pwrite
 * or through the mapping as write_mode says.
 * On failure the reservation from phy on is dropped (wpos = phy) so the log
 * has no hole. put_lock held; publish after a successful write. */
int commitlog_write(struct commitlog *cl, int64_t phy, const uint8_t *src, size_t len);
/* Publishes bytes below end as readable (release order). put_lock held. */
void commitlog_publish(struct commitlog *cl, int64_t end);

/* Readers: hold the shared lock around commitlog_locate and the use of *p. */
void commitlog_rdlock(struct commitlog *cl);
void commitlog_unlock(struct commitlog *cl);
/* Pointer to offset phy and the readable bytes from there to the end of its
 * segment or max_off. TERN_ENOT_FOUND when phy is outside [min_off, max_off). */
int commitlog_locate(struct commitlog *cl, int64_t phy, const uint8_t **p, int64_t *avail);
/* Looks at the record at pos (lock held). TERN_OK: a record of *size bytes at
 * *p, *next = pos + size. TERN_ENOT_FOUND with *next = next segment start: a
 * filler. TERN_ECORRUPT: not a record (decode fails). Also TERN_ENOT_FOUND
 * with *next = pos when pos >= max_off. */
int commitlog_peek(struct commitlog *cl, int64_t pos, const uint8_t **p, int32_t *size,
                   int64_t *next);
/* Copies the one record at phy (size checked if size > 0) to out. */
int commitlog_read_record(struct commitlog *cl, int64_t phy, int32_t size, buf_t *out);

/* Syncs [flushed_off, upto) to disk, in CL_WRITEBACK_CHUNK pieces (clean_off
 * follows each), and advances flushed_off to upto. Flush thread or close
 * only (segments at or above flushed_off are never deleted). */
int commitlog_flush(struct commitlog *cl, int64_t upto);
/* Syncs [from, upto) (msync MS_SYNC of the dirty pages of that range only:
 * data-only fdatasync semantics) without touching flushed_off. The caller
 * keeps the range from being deleted: from >= flushed_off, or sync_floor set
 * at or below from. Several threads may sync disjoint ranges at once. */
int commitlog_sync_range(struct commitlog *cl, int64_t from, int64_t upto);
/* Raises flushed_off (and clean_off) to off (never lowers them). Every byte
 * below off must be durable. */
void commitlog_mark_flushed(struct commitlog *cl, int64_t off);
/* Drops this process's mappings of pages wholly below flushed_off - keep
 * (MADV_DONTNEED: the data stays in the page cache and on disk; a reader
 * touching such a page faults it back in). Keeps RSS from growing with the
 * log. With cache_keep > 0 it also drops the page cache below cache_floor
 * (POSIX_FADV_DONTNEED: written back, so only memory is freed; the data is
 * read from disk again when asked for), the whole range each time since
 * readers of old messages fault pages back in; first it raises cache_floor
 * to the window's edge (flushed_off - max(keep, cache_keep), rounded down
 * to CL_FLUSH_UNIT) less half the window, when the alloc thread's trades
 * have fallen that far behind. Flush thread only. */
void commitlog_trim_resident(struct commitlog *cl, int64_t keep);
/* Reader about to read at phy: when phy is below cache_floor, asks the
 * read-ahead thread (read_ahead.h) for [phy, phy + CL_READ_AHEAD), in steps
 * of CL_READ_AHEAD / 2 while a reader goes forward, so the reader's page
 * faults find the pages read instead of each waiting for the disk. Above
 * cache_floor: two atomic loads, nothing else. Any thread, lock held or
 * not. */
void commitlog_read_ahead(struct commitlog *cl, int64_t phy);

/* Retention: deletes up to max_files oldest segments that are wholly below
 * limit_off (never the current one) and either force or modified before
 * older_than_ms (wall ms). Returns the number deleted. */
int commitlog_delete_old(struct commitlog *cl, int64_t older_than_ms, bool force, int64_t limit_off,
                         int max_files);
/* Start offset of the segment after the one holding phy. */
int64_t commitlog_next_seg_start(const struct commitlog *cl, int64_t phy);

#endif
