/* SPDX-License-Identifier: Apache-2.0 */
/* timer.h: scheduled delivery (delay levels, TIMER_* properties,
 * __STARTDELIVERTIME) and the retry back-off (docs/design/timer.md).
 *
 * A timed message is stored once in the commit log under TIMER_TOPIC queue 0
 * with REAL_TOPIC / REAL_QID / TIMER_OUT_MS. The timer thread ingests that
 * queue into per-minute bucket files under <storePathRootDir>/timer/, keeps
 * only the buckets about to come due in memory, and re-puts each record into
 * its real topic when due. Progress is crash-safe (timer/progress). */
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
#define TIMER_BUCKET_MS   60000 /* one bucket file per minute of due time */
#define TIMER_PROP_OUT_MS "TIMER_OUT_MS"

/* One pending timer: 24 bytes on disk (timer_bucket.c). */
struct timer_entry {
    int64_t due_ms; /* wall-clock delivery time */
    int64_t phy;    /* commit-log offset of the TIMER_TOPIC record */
    int32_t size;   /* record size */
};

/* Bucket file writer: a few open append descriptors (timer thread only). */
#define TIMER_FD_CACHE 32
struct timer_fd {
    int64_t slot; /* bucket number (due_ms / TIMER_BUCKET_MS) */
    int fd;       /* -1 = free */
    bool dirty;   /* written since the last fdatasync */
    uint64_t used;
};

struct timer_service {
    /* Read-only after timer_init. */
    int64_t level_ms[TIMER_MAX_LEVELS]; /* messageDelayLevel, level i+1 */
    int nlevels;
    int64_t max_delay_ms; /* timerMaxDelaySec * 1000 */
    int64_t precision_ms; /* due times are rounded up to a multiple */
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
    int64_t reclaim_slot; /* bucket files below this slot are deleted */
    int64_t last_save_mono;
    struct timer_fd fds[TIMER_FD_CACHE];
    uint64_t fd_clock;
    buf_t rbuf, pbuf, gbuf; /* scratch: record, properties, ingest batch */

    /* Statistics (any thread). */
    atomic_llong delivered;
    atomic_llong ingested;
    atomic_llong dropped; /* record missing at delivery */
    atomic_llong max_late_ms;
};

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
/* Rewrites m (topic/queue/props, props built into scratch) to be delivered to
 * its current topic/queue at due_ms. props must not alias scratch. */
void timer_wrap(struct store_msg *m, tern_bytes_t props, int64_t due_ms, buf_t *scratch);

/* ---- timer_bucket.c: on-disk formats ---- */

/* Appends e to its bucket file (via the descriptor cache). */
int timer_bucket_append(struct timer_service *ts, const struct timer_entry *e);
/* Loads every valid entry of bucket slot, calling fn for each. A missing
 * file is TERN_OK with no calls. */
int timer_bucket_load(struct timer_service *ts, int64_t slot,
                      void (*fn)(struct timer_service *ts, const struct timer_entry *e));
/* fdatasyncs every dirty bucket descriptor. */
int timer_bucket_sync(struct timer_service *ts);
/* Closes the cached descriptors. */
void timer_bucket_close_all(struct timer_service *ts);
/* Deletes bucket files of slots [from, to). */
void timer_bucket_unlink_range(struct timer_service *ts, int64_t from, int64_t to);
/* Smallest bucket slot present on disk, or -1. */
int64_t timer_bucket_min_slot(struct timer_service *ts);
/* Progress file: TERN_ENOT_FOUND when absent. */
int timer_progress_load(struct timer_service *ts, int64_t *ingest_off, int64_t *cur_ms,
                        int64_t *cur_phy);
int timer_progress_save(struct timer_service *ts, int64_t ingest_off, int64_t cur_ms,
                        int64_t cur_phy);

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
