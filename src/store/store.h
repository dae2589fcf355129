/* SPDX-License-Identifier: Apache-2.0 */
/* store.h: the message store facade: commit log, consume queues, key index,
 * flush, checkpoint, recovery, retention. No sockets: unit-tested alone.
 *
 * Formats byte by byte: docs/design/store.md. Threads: store_put() may be
 * called from any thread (one append lock); dispatch to consume queues happens
 * inside the append, and the arrival callback runs on the putting thread after
 * the lock is released; the index is built by an index thread woken by
 * appends; the flush thread fsyncs (group commit under SYNC_FLUSH) and runs
 * flush-wait callbacks; a clean thread applies retention. Reads may run on
 * any thread concurrently with appends. */
#ifndef TERN_STORE_STORE_H
#define TERN_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/bytes.h"
#include "protocol/message.h"

struct store;

enum store_flush_mode { STORE_ASYNC_FLUSH = 0, STORE_SYNC_FLUSH = 1 };

/* How records reach the commit log (commitlog.h: commitlog_write). */
enum cl_write_mode {
    CL_WRITE_MMAP,   /* a copy through the mapping, prefaulted writable ahead */
    CL_WRITE_PWRITE, /* one pwrite per run of records, page cache filled ahead */
};

struct store_config {
    const char *root_dir;             /* storePathRootDir; created if missing */
    int64_t commitlog_segment_bytes;  /* mappedFileSizeCommitLog; default 1 GiB */
    int64_t cq_segment_units;         /* units per consume-queue file; default 300000 */
    enum store_flush_mode flush_mode; /* flushDiskType */
    int flush_interval_ms;            /* flushIntervalCommitLog; default 500 */
    int flush_thorough_ms;            /* flushCommitLogThoroughInterval; default 10000:
                                         ASYNC_FLUSH writes all of the log back at
                                         least this often; each interval only up to
                                         the last record before its last 2 MiB unit
                                         (0: all of it every interval) */
    int sync_flush_timeout_ms;        /* syncFlushTimeout; default 5000 */
    int file_reserved_hours;          /* fileReservedTime; default 72 */
    int delete_when_hour;             /* deleteWhen (hour of day, local); default 4 */
    int disk_max_used_ratio;          /* diskMaxUsedSpaceRatio (%); default 75 */
    int disk_refuse_ratio;            /* refuse puts above this used %; default 90 */
    int64_t min_free_bytes;           /* refuse puts when free space below; default 64 MiB */
    bool index_enable;                /* messageIndexEnable; default true */
    int index_slots;                  /* maxHashSlotNum; default 5000000 */
    int index_entries;                /* maxIndexNum; default 20000000 */
    int64_t max_message_bytes;        /* maxMessageSize; default 4 MiB */
    enum cl_write_mode write_mode;    /* commitLogWriteMode; default mmap */
    int sync_flush_threads;           /* syncFlushThreads (Tern): SYNC_FLUSH group commits
                                         in flight at once, 1..4; default 1 */
    int64_t log_cache_bytes;          /* commitLogCacheBytes (Tern): written-back log bytes
                                         left in the page cache below the flush point;
                                         older pages are dropped so their memory makes
                                         the next ones (0: never dropped; default
                                         STORE_LOG_CACHE_DEFAULT) */
};

/* Default of store_config.log_cache_bytes: 1 GiB. */
#define STORE_LOG_CACHE_DEFAULT (1024LL * 1024 * 1024)

/* Fills cfg with the defaults above (root_dir NULL). */
void store_config_defaults(struct store_config *cfg);

/* Opens (and recovers) the store. Takes an exclusive lock on root_dir/lock.
 * After a crash (abort marker present) the commit log is re-scanned from the
 * checkpoint with CRC checks and a torn tail is cut; consume queues and the
 * index are truncated/rebuilt to match. Errors: -errno, TERN_ECORRUPT,
 * TERN_EBUSY (another process holds the lock). */
int store_open(const struct store_config *cfg, struct store **out);
/* Flushes everything, writes the checkpoint, removes the abort marker, frees.
 * NULL is a no-op. */
void store_close(struct store *s);

/* One message to append. Strings are borrowed for the duration of the call. */
struct store_msg {
    tern_bytes_t topic; /* <= 127 bytes */
    int32_t queue_id;
    int32_t flag;
    int32_t sys_flag; /* host v6 bits are set by the store from the hosts */
    int64_t born_ts;
    struct msg_host born_host;
    struct msg_host store_host;
    int32_t reconsume_times;
    int64_t prepared_txn_off;
    tern_bytes_t body;
    tern_bytes_t props;
};

struct store_put_result {
    int64_t first_phy_off;   /* commit-log offset of the first record */
    int64_t first_queue_off; /* queue offset of the first record */
    int64_t store_ts;        /* store timestamp written (ms) */
    int64_t end_phy_off;     /* offset just past the last record (for flush waits) */
};

/* Appends n >= 1 messages as consecutive records; all must have the same
 * topic and queue_id (a batch gets consecutive queue offsets). Records with
 * transaction type PREPARED or ROLLBACK are stored but get no consume-queue
 * entry and do not advance the queue offset. phy_offs (may be NULL) receives n
 * record offsets. Errors: TERN_ETOO_LARGE (body/props/topic limits),
 * TERN_EDISK_FULL (refusing for lack of space; resumes when space returns),
 * TERN_ESHUTDOWN, -errno. On error nothing was appended. */
int store_put(struct store *s, const struct store_msg *msgs, size_t n, struct store_put_result *res,
              int64_t *phy_offs);

/* Under SYNC_FLUSH: calls cb(arg, TERN_OK) once every byte below end_phy_off
 * is fdatasync'd, or cb(arg, TERN_ETIMEOUT) after sync_flush_timeout_ms. Runs
 * cb on the flush thread, or at once on the caller's thread if already
 * durable. Under ASYNC_FLUSH calls cb(arg, TERN_OK) at once. */
typedef void (*store_flush_cb)(void *arg, int status);
void store_wait_flush(struct store *s, int64_t end_phy_off, store_flush_cb cb, void *arg);
bool store_is_sync_flush(const struct store *s);

/* Called after records of (topic, queue_id) became readable; max_off is the
 * queue's new max offset, tags_code the last record's tag hash. */
typedef void (*store_arrival_fn)(void *arg, tern_bytes_t topic, int32_t queue_id, int64_t max_off,
                                 int64_t tags_code);
void store_set_arrival_cb(struct store *s, store_arrival_fn fn, void *arg);

/* Pull. Statuses follow RocketMQ's GetMessageStatus. */
enum store_get_status {
    GET_FOUND = 0,
    GET_NO_MATCHED_MESSAGE,
    GET_MESSAGE_WAS_REMOVING,
    GET_OFFSET_FOUND_NULL,
    GET_OFFSET_OVERFLOW_BADLY,
    GET_OFFSET_OVERFLOW_ONE,
    GET_OFFSET_TOO_SMALL,
    GET_NO_MATCHED_LOGIC_QUEUE,
    GET_NO_MESSAGE_IN_QUEUE,
};
const char *store_get_status_name(enum store_get_status st);

/* Tag filter on consume-queue units: return true to take the message. */
typedef bool (*store_filter_fn)(void *arg, int64_t tags_code);

struct store_get_result {
    enum store_get_status status;
    int64_t next_off;
    int64_t min_off;
    int64_t max_off;
    int count; /* records appended to body */
};

/* Reads up to max_msgs records (and about max_bytes) of (topic, queue_id) from
 * queue offset off, appending the raw records back to back to body. filter may
 * be NULL (take all). Returns TERN_OK with r filled (any status). */
int store_get(struct store *s, tern_bytes_t topic, int32_t queue_id, int64_t off, int max_msgs,
              int max_bytes, store_filter_fn filter, void *farg, buf_t *body,
              struct store_get_result *r);

/* Queue bounds: max = next offset to be written, min = first readable. 0 for
 * unknown queues. */
int64_t store_max_offset(struct store *s, tern_bytes_t topic, int32_t queue_id);
int64_t store_min_offset(struct store *s, tern_bytes_t topic, int32_t queue_id);
/* SEARCH_OFFSET_BY_TIMESTAMP: lower = first offset with store time >= ts
 * (max offset if none); upper = last offset with store time <= ts. */
int64_t store_offset_by_time(struct store *s, tern_bytes_t topic, int32_t queue_id, int64_t ts,
                             bool upper);
/* Store time of the oldest readable message of the queue, or -1. */
int64_t store_earliest_time(struct store *s, tern_bytes_t topic, int32_t queue_id);
/* Store time of the message at queue offset off, or -1. */
int64_t store_msg_time(struct store *s, tern_bytes_t topic, int32_t queue_id, int64_t off);

/* Appends the one record at phy_off to out. TERN_ENOT_FOUND if there is no
 * valid record there. */
int store_read_at(struct store *s, int64_t phy_off, buf_t *out);

/* QUERY_MESSAGE: records whose key (a KEYS word or the UNIQ_KEY) under topic
 * matches, stored within [begin_ms, end_ms], newest files first, at most max.
 * Appends raw records to out and sets *count. */
struct store_query_result {
    int count;
    int64_t index_last_update_ts;
    int64_t index_last_update_phy;
};
int store_query(struct store *s, tern_bytes_t topic, tern_bytes_t key, int max, int64_t begin_ms,
                int64_t end_ms, buf_t *out, struct store_query_result *r);

/* Drops the consume queues of a topic (DELETE_TOPIC_IN_BROKER). */
void store_delete_topic(struct store *s, tern_bytes_t topic);

/* Calls fn for every (topic, queue id) the store has a consume queue for (the
 * topic view is valid during the call only). The broker uses it at start-up to
 * restore topic configs a crash kept from reaching disk. */
void store_each_known_queue(struct store *s,
                            void (*fn)(void *arg, tern_bytes_t topic, int32_t queue_id), void *arg);

/* Lists the queue ids known for a topic: calls fn for each. */
void store_each_queue(struct store *s, tern_bytes_t topic, void (*fn)(void *arg, int32_t queue_id),
                      void *arg);

struct store_stats {
    int64_t commitlog_min_off;
    int64_t commitlog_max_off;
    int64_t flushed_off;
    int64_t dispatch_behind_bytes;
    int64_t puts_total;
    int64_t gets_total;
    int64_t disk_total_bytes;
    int64_t disk_free_bytes;
    bool disk_full; /* refusing puts */
    int64_t earliest_msg_ts;
};
void store_get_stats(struct store *s, struct store_stats *out);

/* Operational and test hooks (additions to the facade). */
/* Runs one retention pass now. With force, deletes every commit-log segment
 * except the one being written (oldest first, only flushed ones), then the
 * consume-queue and index files below the new minimum. Returns the number of
 * commit-log segments deleted, or an error. */
int store_clean_now(struct store *s, bool force);
/* Changes the disk-full thresholds at run time and re-measures free space at
 * once (refuse puts when free < min_free_bytes or used % > refuse_ratio). */
void store_set_disk_limits(struct store *s, int64_t min_free_bytes, int refuse_ratio);
/* Flushes commit log, consume queues and index and writes the checkpoint now. */
int store_flush_now(struct store *s);
/* Test hook simulating kill -9: stops the threads and frees everything
 * without a final flush or checkpoint and leaves the abort marker, so the
 * next store_open() runs crash recovery. Pending flush waiters get
 * TERN_ESHUTDOWN. */
void store_crash_close(struct store *s);
/* Test hook (failure injection): the next n commit-log syncs fail with -EIO.
 * A failed sync is sticky: flushed_off and the checkpoint stop advancing,
 * pending and later flush waiters fail, close keeps the abort marker. */
void store_test_fail_syncs(struct store *s, int n);

/* Java String.hashCode of a TAGS value (0 when absent/empty): the consume-queue
 * tag code. */
int64_t store_tags_code(tern_bytes_t tags);

#endif
