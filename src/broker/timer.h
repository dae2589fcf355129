/* SPDX-License-Identifier: Apache-2.0 */
/* timer.h: scheduled delivery (delay levels, TIMER_* properties,
 * __STARTDELIVERTIME) and the retry back-off (docs/design/timer.md).
 *
 * A timed message is stored once in the commit log under TIMER_TOPIC queue 0
 * with REAL_TOPIC / REAL_QID / TIMER_OUT_MS. The timer thread ingests that
 * queue into per-minute bucket files under <storePathRootDir>/timer/, keeps
 * only the buckets about to come due in memory, and re-puts each record into
 * its real topic when due. Progress is crash-safe (timer/progress).
 *
 * Long timers (due further ahead than timerDataThresholdSec) outlive
 * commit-log retention: at ingest their record is copied once into the data
 * file of their due day (timer/days/<day>.dat), and while that day is far off
 * their entry waits in the day's index (<day>.idx), which is split into the
 * minute buckets when the day comes near. A day's files are deleted once its
 * last timer fired. */
#ifndef TERN_BROKER_TIMER_H
#define TERN_BROKER_TIMER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/bytes.h"

struct store;
struct store_msg;
struct broker_config;

#define TIMER_TOPIC       "rmq_sys_wheel_timer"
#define TIMER_MAX_LEVELS  64
#define TIMER_PROP_OUT_MS "TIMER_OUT_MS"
/* On a delivered message: "<due ms>:<timer record offset>", the key of the
 * timer it came from, so a restart can tell which deliveries happened after
 * the last progress save (no duplicates after a kill -9). */
#define TIMER_PROP_KEY "TIMER_KEY"

/* One pending timer: 32 bytes on disk (timer_bucket.c). (due_ms, phy) is its
 * key: the delivery order, and equal keys are the same timer. */
struct timer_entry {
    int64_t due_ms;   /* wall-clock delivery time */
    int64_t phy;      /* commit-log offset of the TIMER_TOPIC record */
    int64_t data_off; /* offset of the record's copy in its day's data file; -1: none */
    int32_t size;     /* record size */
};

/* The timer's files (timer_files.c). */
enum timer_file_kind {
    TIMER_F_BUCKET = 0, /* buckets/<start ms>: entries of one bucket_ms of due time */
    TIMER_F_DAY_IDX,    /* days/<start ms>.idx: entries of a day not yet split */
    TIMER_F_DAY_DAT,    /* days/<start ms>.dat: record copies of long timers of a day */
};

/* Open descriptors of the timer's files, least recently used evicted (timer
 * thread only). Sized for every day file of 40 days plus an hour of buckets;
 * evicting a dirty one does not sync it (the next sync is one syncfs). */
#define TIMER_FD_CACHE 160
struct timer_fd {
    int kind;     /* enum timer_file_kind */
    int64_t slot; /* bucket or day number (due_ms / bucket_ms or / day_ms) */
    int fd;       /* -1 = free; O_RDWR | O_APPEND */
    bool dirty;   /* written since the last fdatasync */
    bool fresh;   /* opened, tail not yet checked (entry files cut a torn tail) */
    uint64_t used;
};

struct timer_service {
    /* Read-only after timer_init. */
    int64_t level_ms[TIMER_MAX_LEVELS]; /* messageDelayLevel, level i+1 */
    int nlevels;
    int64_t max_delay_ms; /* timerMaxDelaySec * 1000 */
    int64_t precision_ms; /* due times are rounded up to a multiple */
    int64_t bucket_ms;    /* timerBucketMs: due time per bucket file (60 s) */
    int64_t day_ms;       /* timerDataFileMs: due time per day file, multiple of bucket_ms */
    int64_t long_ms;      /* timerDataThresholdSec * 1000: longer timers copy their record */
    int64_t seg_bytes;    /* mappedFileSizeCommitLog (the start-up scan skips fillers) */
    char dir[4096];       /* <storePathRootDir>/timer */
    struct store *store;  /* borrowed */

    pthread_t thread;
    bool started;
    bool ready;           /* timer_start got as far as initializing the members below */
    pthread_mutex_t lock; /* guards kick, stopping */
    pthread_cond_t cond;  /* CLOCK_MONOTONIC */
    bool kick;
    bool stopping;

    /* Owned by the timer thread (also by timer_start before it runs). */
    struct timer_entry *heap; /* min-heap on (due_ms, phy): loaded buckets */
    size_t nheap, capheap;
    int64_t next_slot;  /* first bucket not loaded into the heap */
    int64_t ingest_off; /* next TIMER_TOPIC queue offset to ingest */
    int64_t cur_ms;     /* delivery cursor: every (due, phy) <= (cur_ms, cur_phy) is done */
    int64_t cur_phy;
    int64_t saved_ingest_off, saved_cur_ms, saved_cur_phy; /* on disk */
    struct timer_entry *fired; /* owned; keys delivered after the last save before a crash */
    size_t nfired;             /* (sorted; found by the start-up scan) */
    int64_t reclaim_slot;      /* bucket files below this slot are deleted */
    int64_t split_day;         /* first day whose index is not yet split into buckets */
    int64_t split_pos;         /* entries of split_day's index already split */
    int64_t reclaim_day;       /* day files below this day are deleted */
    int64_t last_save_mono;
    struct timer_fd fds[TIMER_FD_CACHE];
    uint64_t fd_clock;
    int dir_fd;               /* owned; timer/ (syncfs, which also reports errors since open) */
    bool evicted_dirty;       /* a descriptor was closed unsynced: the next sync is a syncfs */
    buf_t rbuf, pbuf, gbuf;   /* scratch: record, properties, ingest batch */
    struct timer_entry *wbuf; /* owned; split scratch, TIMER_SPLIT_CHUNK entries */

    /* Statistics (any thread). */
    atomic_llong delivered;
    atomic_llong ingested;
    atomic_llong dropped; /* record missing at delivery */
    atomic_llong copied;  /* long timers whose record was copied to a day file */
    atomic_llong max_late_ms;
};

#define TIMER_SPLIT_CHUNK 16384 /* day-index entries split per timer-loop round */

/* ---- timer_props.c: levels and the send-path conversion ---- */

/* Parses "1s 5s 10s ... 2h" (units ms, s, m, h, d). TERN_ECONFIG on error. */
int timer_parse_levels(const char *spec, int64_t *levels, int max, int *n);
/* Reads the timer settings of cfg. TERN_ECONFIG with a logged reason. */
int timer_init(struct timer_service *ts, const struct broker_config *cfg, struct store *store);
/* Delay of level L (clamped to 1..nlevels). */
int64_t timer_level_delay(const struct timer_service *ts, int level);
/* Send hook, called just before store_put of a single message. When the
 * properties ask for a delay (DELAY > 0 wins; else TIMER_DELIVER_MS,
 * __STARTDELIVERTIME, TIMER_DELAY_SEC, TIMER_DELAY_MS) and the due time is in
 * the future, rewrites m to TIMER_TOPIC queue 0 with its properties rebuilt
 * into scratch (the caller deinits scratch after the put). Transaction
 * half/rollback messages are left alone. Returns TERN_OK, or TERN_EINVALID
 * with err set (answer MESSAGE_ILLEGAL): delay beyond timerMaxDelaySec or a
 * malformed value. Any thread; no locks. */
int timer_on_send(const struct timer_service *ts, struct store_msg *m, buf_t *scratch, char *err,
                  size_t errlen);
/* True when props ask for a delay as the topic message types count it: DELAY
 * > 0 (its first byte neither '-' nor '0') or any other timer property. */
bool timer_is_delayed(tern_bytes_t props);
/* Rewrites m (topic/queue/props, props built into scratch) to be delivered to
 * its current topic/queue at due_ms. props must not alias scratch. */
void timer_wrap(struct store_msg *m, tern_bytes_t props, int64_t due_ms, buf_t *scratch);

/* ---- timer_files.c: paths and the descriptor cache ---- */

/* Path of file (kind, slot). */
void timer_file_path(const struct timer_service *ts, int kind, int64_t slot, char *out, size_t n);
/* Cached descriptor of (kind, slot), created if missing; NULL with errno. */
struct timer_fd *timer_file_get(struct timer_service *ts, int kind, int64_t slot);
/* Makes everything written to the timer's files durable: fdatasync of the
 * dirty cached descriptors, or one syncfs when a dirty one was evicted. */
int timer_files_sync(struct timer_service *ts);
/* Closes the cached descriptors (syncing dirty ones). */
void timer_files_close_all(struct timer_service *ts);
/* Deletes files of kind for slots [from, to). */
void timer_files_unlink_range(struct timer_service *ts, int kind, int64_t from, int64_t to);
/* Smallest slot with a file of kind on disk, or -1. */
int64_t timer_files_min_slot(struct timer_service *ts, int kind);

/* ---- timer_bucket.c: entry files (buckets, day indexes) and progress ---- */

/* Appends e to file (kind, slot): TIMER_F_BUCKET or TIMER_F_DAY_IDX. */
int timer_entry_append(struct timer_service *ts, int kind, int64_t slot,
                       const struct timer_entry *e);
/* Reads up to max valid entries of file (kind, slot) starting at entry
 * index *pos into out; *pos moves past the entries read (damaged ones are
 * skipped and logged). Returns the count (0 at the end or for a missing
 * file) or an error. */
int timer_entry_read(struct timer_service *ts, int kind, int64_t slot, int64_t *pos,
                     struct timer_entry *out, int max);
/* Progress file: TERN_ENOT_FOUND when absent. */
struct timer_progress {
    int64_t ingest_off; /* next TIMER_TOPIC queue offset to ingest */
    int64_t cur_ms;     /* delivery cursor */
    int64_t cur_phy;
    int64_t log_off; /* commit-log end when saved: later deliveries are at or after it */
};
int timer_progress_load(struct timer_service *ts, struct timer_progress *p);
int timer_progress_save(struct timer_service *ts, const struct timer_progress *p);

/* ---- timer_day.c: record copies of long timers ---- */

/* Appends record rec to day's data file; *off receives its offset. */
int timer_day_put(struct timer_service *ts, int64_t day, tern_bytes_t rec, int64_t *off);
/* Appends the size-byte record at off of day's data file to out.
 * TERN_ENOT_FOUND when the file or the range is missing. */
int timer_day_read(struct timer_service *ts, int64_t day, int64_t off, int32_t size, buf_t *out);

/* ---- timer_service.c: the thread ---- */

/* Loads progress and starts the thread. */
int timer_start(struct timer_service *ts);
/* Stops the thread, saves progress and frees memory. Safe if not started. */
void timer_stop(struct timer_service *ts);
/* Arrival callback helper: wakes the thread when topic is TIMER_TOPIC. */
void timer_notify(struct timer_service *ts, tern_bytes_t topic);
/* Pending entries in memory (test/diagnostics; racy read). */
size_t timer_loaded(const struct timer_service *ts);

#endif
