/* SPDX-License-Identifier: Apache-2.0 */
/* store_impl.h: the private body of struct store, shared by the store's .c
 * files (store.c append path, store_read.c reads, recovery.c, flush.c,
 * indexer.c, clean.c). Nothing outside src/store/ includes it.
 *
 * Lock order: put_lock -> qmap_lock -> cq->lock -> commitlog segs_lock.
 * flush_mu, idx_mu, clean_mu and pool_mu are leaves (no other lock is taken
 * while holding them, and callbacks run with none held). */
#ifndef TERN_STORE_STORE_IMPL_H
#define TERN_STORE_STORE_IMPL_H

#include <pthread.h>
#include <stdatomic.h>

#include "common/strmap.h"
#include "store/checkpoint.h"
#include "store/commitlog.h"
#include "store/consume_queue.h"
#include "store/index.h"
#include "store/store.h"

/* Encode buffers kept for reuse (instead of thread-local storage). */
#define STORE_POOL_MAX        16
#define STORE_POOL_KEEP_BYTES (1 << 20)
/* How often the free space is measured (statvfs), not per put. */
#define STORE_DISK_CHECK_MS 1000
/* Retention and consume-queue/index flush periods. */
#define STORE_CLEAN_PERIOD_MS 10000
#define STORE_CQ_FLUSH_MS     1000
#define STORE_INDEX_FLUSH_MS  10000
/* SYNC_FLUSH: the most commit-log syncs in flight at once (one thread
 * each; store_config.sync_flush_threads chooses how many, default 1). */
#ifndef STORE_FLUSH_WORKERS
#define STORE_FLUSH_WORKERS 4
#endif
/* Ring slots: the workers' syncs plus the periodic thread's forced one. */
#define STORE_SYNC_SLOTS (STORE_FLUSH_WORKERS + 1)
/* Flushed commit-log bytes below the flushed offset that stay mapped in the
 * process; older pages are dropped every STORE_CQ_FLUSH_MS (RSS bound). */
#ifndef STORE_RESIDENT_KEEP_BYTES
#define STORE_RESIDENT_KEEP_BYTES (16 * 1024 * 1024)
#endif

struct flush_waiter {
    int64_t end_off;
    int64_t deadline_ms; /* monotonic */
    store_flush_cb cb;
    void *arg;
    struct flush_waiter *next; /* owned by the list */
};

struct store {
    struct store_config cfg; /* immutable after open; root_dir points at root */
    char *root;              /* owned */
    int lock_fd;             /* owned: flock(LOCK_EX) held while open */

    struct commitlog *cl;    /* owned */
    struct checkpoint *ckpt; /* owned; written by the flush thread and close */
    struct index_store *idx; /* owned; NULL when index_enable is false */
    char *cq_root;           /* owned: <root>/consumequeue */

    pthread_mutex_t put_lock;    /* the append lock: commitlog appender state,
                                    cq_put, last_store_ts, queue offsets */
    int64_t last_store_ts;       /* guarded by put_lock: keeps store time monotonic */
    store_arrival_fn arrival_fn; /* guarded by put_lock */
    void *arrival_arg;           /* guarded by put_lock; borrowed */

    pthread_rwlock_t qmap_lock; /* guards qmap (shape and values) */
    strmap_t qmap;              /* topic NUL qid(be32) -> struct cq * (owned) */

    pthread_mutex_t pool_mu;       /* guards pool, npool */
    uint8_t *pool[STORE_POOL_MAX]; /* owned encode buffers */
    size_t pool_cap[STORE_POOL_MAX];
    int npool;

    pthread_mutex_t sync_mu; /* serializes flush passes and checkpoint writes */
    int64_t ckpt_cq_mark;    /* guarded by sync_mu: cq_flushed_phy last checkpointed */
    int64_t tail_flush_ms;   /* flush thread 0: last ASYNC_FLUSH write-back of all the log */

    /* Flush threads (flush.c): thread 0 does the periodic pass (and, in
     * ASYNC_FLUSH, the interval flush); in SYNC_FLUSH threads 1.. are the
     * group-commit workers. */
    pthread_mutex_t flush_mu;     /* guards waiters, flush_stop, sync_* below */
    pthread_cond_t flush_cv;      /* wakes the group-commit workers */
    pthread_cond_t tick_cv;       /* wakes thread 0 (stop only) */
    struct flush_waiter *waiters; /* owned list */
    bool flush_stop;
    pthread_t flush_thr[STORE_FLUSH_WORKERS + 1];
    int flush_nthr; /* threads started */
    bool flush_started;
    /* SYNC_FLUSH pipeline: syncs of consecutive ranges, oldest first;
     * flushed_off advances over the done prefix only. */
    int64_t sync_issued; /* log offset up to which syncs were started */
    struct {
        int64_t from, to;
        bool done;
    } sync_ring[STORE_SYNC_SLOTS];
    int sync_head, sync_count;
    bool sync_forced;               /* the periodic thread's sync is in flight */
    bool sync_failed;               /* sticky: after an I/O error nothing more is acked */
    _Atomic int64_t cq_flushed_phy; /* CQ units of records below are durable */

    /* Index thread. */
    pthread_mutex_t idx_mu; /* guards idx_stop */
    pthread_cond_t idx_cv;
    bool idx_stop;
    atomic_bool idx_sleeping;
    pthread_t idx_thr;
    bool idx_started;
    _Atomic int64_t index_phy;     /* next record to index */
    _Atomic int64_t index_flushed; /* records below are in flushed index files */

    /* Clean thread. */
    pthread_mutex_t clean_mu;     /* guards clean_stop */
    pthread_mutex_t clean_run_mu; /* serializes store_clean_run (thread and
                                     store_clean_now); taken before any other
                                     store lock */
    pthread_cond_t clean_cv;
    bool clean_stop;
    pthread_t clean_thr;
    bool clean_started;

    /* Disk space (puts read; refreshed at most every STORE_DISK_CHECK_MS). */
    atomic_bool disk_full;
    _Atomic int64_t disk_check_ms;
    _Atomic int64_t min_free_bytes;
    atomic_int refuse_ratio;
    _Atomic int64_t disk_total;
    _Atomic int64_t disk_free;
    atomic_flag disk_checking;

    atomic_bool shutting_down;
    _Atomic int64_t puts_total;
    _Atomic int64_t gets_total;
};

/* Key of the queue table. OUT: key (at least 128 + 5 bytes). */
size_t store_qkey(tern_bytes_t topic, int32_t queue_id, uint8_t *key);
/* Looks a queue up (qmap_lock held by the caller, shared or exclusive). */
struct cq *store_find_cq(struct store *s, tern_bytes_t topic, int32_t queue_id);
/* Finds or creates a queue (takes qmap_lock). */
struct cq *store_get_or_create_cq(struct store *s, tern_bytes_t topic, int32_t queue_id);

/* recovery.c: loads consume queues, truncates them to log_end and re-dispatches
 * records from redispatch_from. */
int store_recover_queues(struct store *s, int64_t log_end, int64_t redispatch_from);

/* flush.c */
int store_flush_start(struct store *s);
void store_flush_stop(struct store *s);
/* Flushes the commit log (when flush_log), every consume queue and the
 * index; writes the checkpoint (open, close and the flush thread). */
int store_flush_all(struct store *s, bool sync_ckpt, bool flush_log);

/* indexer.c */
int store_indexer_start(struct store *s);
void store_indexer_stop(struct store *s);
void store_indexer_wake(struct store *s);
/* Indexes records up to the log end on the calling thread (open, close). */
void store_indexer_catch_up(struct store *s);

/* clean.c */
int store_clean_start(struct store *s);
void store_clean_stop(struct store *s);
/* Re-measures free space when due (or when force); returns true if puts
 * must be refused. */
bool store_disk_refuses(struct store *s, bool force);
/* One retention pass: deletes expired (or, with force, all but the current)
 * commit-log segments, then CQ and index files below the new log minimum. */
int store_clean_run(struct store *s, bool force);

#endif
