/* SPDX-License-Identifier: Apache-2.0 */
/* flush.c: the flush threads, group commit and the checkpoint writer
 * (docs/design/store.md#flush).
 *
 * ASYNC_FLUSH: one thread msyncs the commit log's dirty range every
 * flush_interval_ms. SYNC_FLUSH: store_wait_flush() queues (end_off, cb,
 * deadline) and wakes one of cfg.sync_flush_threads group-commit workers; a
 * worker syncs everything written and not yet covered by a sync (see
 * sync_one); with more than one worker, consecutive ranges are synced
 * concurrently and flushed_off advances over the completed prefix only.
 * Waiters at or below flushed_off complete; waiters past their deadline get
 * TERN_ETIMEOUT. Thread 0 does the periodic pass: consume queues and index
 * progress every STORE_CQ_FLUSH_MS, a checkpoint write and the resident-set
 * trim, so that the workers never wait behind it. Callbacks run on a flush
 * thread with no lock held. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "store/store_impl.h"

static int write_ckpt(struct store *s, bool sync)
{
    struct checkpoint_data d = {
        .phy_flushed_off = atomic_load(&s->cl->flushed_off),
        .cq_flushed_phy = s->ckpt_cq_mark,
        .index_phy = s->idx ? atomic_load(&s->index_flushed) : s->ckpt_cq_mark,
        .write_ms = clock_wall_ms(),
    };
    return checkpoint_write(s->ckpt, &d, sync);
}

int store_flush_all(struct store *s, bool sync_ckpt, bool flush_log)
{
    pthread_mutex_lock(&s->sync_mu);
    /* Under put_lock every record below max_off has its CQ unit written. */
    pthread_mutex_lock(&s->put_lock);
    int64_t mark = atomic_load(&s->cl->max_off);
    pthread_mutex_unlock(&s->put_lock);
    int rc = flush_log ? commitlog_flush(s->cl, mark) : TERN_OK;
    /* After a failed log sync nothing claims more durability than before:
     * no checkpoint is written again (and close keeps the abort marker). */
    int sync_err = atomic_load(&s->cl->sync_err);
    if (!rc && sync_err)
        rc = sync_err;
    pthread_rwlock_rdlock(&s->qmap_lock);
    const char *k;
    void *v;
    for (size_t it = 0; strmap_next(&s->qmap, &it, &k, &v);) {
        int r = cq_flush(v);
        if (r && !rc)
            rc = r;
    }
    pthread_rwlock_unlock(&s->qmap_lock);
    if (s->idx && !s->idx_started) {
        int64_t ip = atomic_load(&s->index_phy);
        if (index_flush(s->idx) == TERN_OK)
            atomic_store(&s->index_flushed, ip);
    }
    if (rc == TERN_OK) {
        s->ckpt_cq_mark = mark;
        rc = write_ckpt(s, sync_ckpt);
    }
    pthread_mutex_unlock(&s->sync_mu);
    if (rc)
        log_error("store", "flush failed: %s", tern_strerror(rc));
    return rc;
}

static void timed_wait(pthread_cond_t *cv, pthread_mutex_t *mu, int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(cv, mu, &ts);
}

/* Detaches waiters that are done or expired (flush_mu held); with failed
 * (a sticky sync error) every waiter that is not durable counts as expired. */
static struct flush_waiter *take_finished(struct store *s, int64_t flushed, int64_t now,
                                          bool failed, struct flush_waiter **expired)
{
    struct flush_waiter *done = NULL, **pp = &s->waiters;
    *expired = NULL;
    while (*pp) {
        struct flush_waiter *w = *pp;
        if (w->end_off <= flushed) {
            *pp = w->next;
            w->next = done;
            done = w;
        } else if (failed || w->deadline_ms <= now) {
            *pp = w->next;
            w->next = *expired;
            *expired = w;
        } else {
            pp = &w->next;
        }
    }
    return done;
}

static void run_list(struct flush_waiter *w, int status)
{
    while (w) {
        struct flush_waiter *next = w->next;
        w->cb(w->arg, status);
        free(w);
        w = next;
    }
}

/* Completes waiters that are durable or expired; flush_mu held on entry and
 * on return, released while callbacks run. */
static void complete_waiters(struct store *s)
{
    if (!s->waiters)
        return;
    struct flush_waiter *expired;
    int err = atomic_load(&s->cl->sync_err);
    struct flush_waiter *done =
        take_finished(s, atomic_load(&s->cl->flushed_off), clock_mono_ms(), err != 0, &expired);
    if (!done && !expired)
        return;
    pthread_mutex_unlock(&s->flush_mu);
    run_list(done, TERN_OK);
    run_list(expired, err ? err : TERN_ETIMEOUT);
    pthread_mutex_lock(&s->flush_mu);
}

/* SYNC_FLUSH group commit, pipelined. Whenever waiters are queued, a worker
 * is free and the log has bytes no sync covers yet, a worker takes the range
 * [sync_issued, max_off) and msyncs it (data only; the segments are
 * preallocated and written ahead, so no metadata commit), while other
 * workers may be syncing earlier or later ranges. flushed_off advances over
 * the oldest completed ranges only, so every byte below it is durable, and
 * waiters are completed as soon as it passes their end. Waiters arriving
 * during a sync start the next one at once on another worker. With force
 * (the periodic tick) it syncs even with no waiter. flush_mu held on entry
 * and return; returns false if there was nothing to start. */
static bool sync_one(struct store *s, bool force)
{
    int64_t max = atomic_load_explicit(&s->cl->max_off, memory_order_acquire);
    /* The periodic thread's forced sync does not take a worker's turn. */
    int limit = force ? STORE_SYNC_SLOTS : s->cfg.sync_flush_threads + (s->sync_forced ? 1 : 0);
    if (s->sync_failed || (!s->waiters && !force) || s->sync_issued >= max ||
        s->sync_count >= limit)
        return false;
    int64_t from = s->sync_issued;
    if (from < atomic_load(&s->cl->flushed_off))
        from = atomic_load(&s->cl->flushed_off);
    int slot = (s->sync_head + s->sync_count) % STORE_SYNC_SLOTS;
    s->sync_ring[slot].from = from;
    s->sync_ring[slot].to = max;
    s->sync_ring[slot].done = false;
    if (s->sync_count++ == 0)
        atomic_store(&s->cl->sync_floor, from);
    s->sync_issued = max;
    if (force)
        s->sync_forced = true;
    pthread_mutex_unlock(&s->flush_mu);
    int rc = commitlog_sync_range(s->cl, from, max);
    pthread_mutex_lock(&s->flush_mu);
    if (force)
        s->sync_forced = false;
    s->sync_ring[slot].done = true;
    if (rc) {
        /* A failed fsync may have dropped the dirty pages: retrying could
         * report success for data that never reached the disk. */
        s->sync_failed = true;
        log_error("store", "commitlog sync [%lld, %lld) failed, no more acks: %s", (long long)from,
                  (long long)max, tern_strerror(rc));
    }
    while (!s->sync_failed && s->sync_count > 0 && s->sync_ring[s->sync_head].done) {
        commitlog_mark_flushed(s->cl, s->sync_ring[s->sync_head].to);
        s->sync_head = (s->sync_head + 1) % STORE_SYNC_SLOTS;
        s->sync_count--;
    }
    atomic_store(&s->cl->sync_floor, s->sync_count ? s->sync_ring[s->sync_head].from : INT64_MAX);
    return true;
}

/* How far the ASYNC_FLUSH interval flush writes the log back: to the last
 * record boundary before the CL_FLUSH_UNIT the log ends in (unit_mark), or
 * all of it when flush_thorough_ms has passed since all of it was last
 * written back. The end must be a record boundary: the checkpoint records it
 * and recovery scans records from there. Why not the partial tail each time:
 * a folio dirtied through the mapping is written back whole (2 MiB here) and
 * the next record dirties it again, so a slow broker rewrote up to 2 MiB per
 * interval (docs/design/store.md). RocketMQ bounds the same thing with
 * flushCommitLogLeastPages; on large folios a page count would not. */
static int64_t async_flush_target(struct store *s, int64_t now)
{
    if (now - s->tail_flush_ms >= s->cfg.flush_thorough_ms) {
        s->tail_flush_ms = now;
        return atomic_load_explicit(&s->cl->max_off, memory_order_acquire);
    }
    return atomic_load_explicit(&s->cl->unit_mark, memory_order_relaxed);
}

/* Worker 0 (and the only thread in ASYNC_FLUSH): the interval flush, the
 * consume-queue/checkpoint pass every STORE_CQ_FLUSH_MS, RSS trimming. Its
 * slow parts run while the other workers keep serving group commits. */
static void periodic(struct store *s, bool sync, int64_t *last_full)
{
    /* After a failed log sync (sticky, logged when it happened) neither the
     * log nor the checkpoint moves again: only the resident trim runs. */
    bool failed = atomic_load(&s->cl->sync_err) != 0;
    if (!sync && !failed) {
        pthread_mutex_lock(&s->sync_mu);
        int64_t before = atomic_load(&s->cl->flushed_off);
        int rc = commitlog_flush(s->cl, async_flush_target(s, clock_mono_ms()));
        /* Keep the recovery scan short: record progress (no fsync; a stale
         * checkpoint only means a longer scan). */
        if (rc == TERN_OK && atomic_load(&s->cl->flushed_off) != before)
            rc = write_ckpt(s, false);
        pthread_mutex_unlock(&s->sync_mu);
        if (rc)
            log_error("store", "commitlog flush failed: %s", tern_strerror(rc));
    }
    int64_t now = clock_mono_ms();
    if (now - *last_full >= STORE_CQ_FLUSH_MS) {
        /* The log is flushed by the interval flush above (ASYNC_FLUSH) or
         * by the workers (SYNC_FLUSH; a failed sync must stay failed): the
         * checkpoint records what they did. */
        if (!failed)
            (void)store_flush_all(s, true, false);
        *last_full = now;
    }
    /* Every pass, so that pages dropped from the page cache are reused while
     * they are still warm (the guest gives free memory back to the host
     * within seconds: docs/design/store.md#resident-set). */
    commitlog_trim_resident(s->cl, STORE_RESIDENT_KEEP_BYTES);
}

struct flush_arg {
    struct store *s;
    int id;
};

/* Thread 0: the periodic pass (and the ASYNC_FLUSH interval flush). In
 * SYNC_FLUSH it also syncs, once per period, what no waiter asked for. */
static void periodic_main(struct store *s)
{
    bool sync = s->cfg.flush_mode == STORE_SYNC_FLUSH;
    int period = sync ? STORE_CQ_FLUSH_MS : s->cfg.flush_interval_ms;
    int64_t last_full = clock_mono_ms();
    pthread_mutex_lock(&s->flush_mu);
    while (!s->flush_stop) {
        timed_wait(&s->tick_cv, &s->flush_mu, period);
        if (s->flush_stop)
            break;
        if (sync) {
            (void)sync_one(s, true); /* puts nobody waits for */
            complete_waiters(s);
        }
        pthread_mutex_unlock(&s->flush_mu);
        periodic(s, sync, &last_full);
        pthread_mutex_lock(&s->flush_mu);
    }
    pthread_mutex_unlock(&s->flush_mu);
}

/* SYNC_FLUSH group-commit worker: syncs while waiters are pending. */
static void worker_main(struct store *s)
{
    pthread_mutex_lock(&s->flush_mu);
    while (!s->flush_stop) {
        complete_waiters(s);
        if (sync_one(s, false)) {
            /* Another worker may be idle while waiters are still pending. */
            if (s->waiters && s->cfg.sync_flush_threads > 1)
                pthread_cond_signal(&s->flush_cv);
            continue;
        }
        /* Woken by store_wait_flush; waiters still pending here wait on a
         * sync in flight, or their deadline. */
        timed_wait(&s->flush_cv, &s->flush_mu, s->waiters ? 10 : 1000);
    }
    pthread_mutex_unlock(&s->flush_mu);
}

static void *flush_main(void *arg)
{
    pthread_setname_np(pthread_self(), "tern-flush");
    struct flush_arg fa = *(struct flush_arg *)arg;
    free(arg);
    if (fa.id == 0)
        periodic_main(fa.s);
    else
        worker_main(fa.s);
    return NULL;
}

int store_flush_start(struct store *s)
{
    int n = s->cfg.flush_mode == STORE_SYNC_FLUSH ? 1 + s->cfg.sync_flush_threads : 1;
    s->sync_issued = atomic_load(&s->cl->flushed_off);
    for (int i = 0; i < n; i++) {
        struct flush_arg *fa = xmalloc(sizeof *fa);
        fa->s = s;
        fa->id = i;
        int rc = pthread_create(&s->flush_thr[i], NULL, flush_main, fa);
        if (rc) {
            free(fa);
            s->flush_started = s->flush_nthr > 0;
            return -rc;
        }
        s->flush_nthr++;
    }
    s->flush_started = true;
    return TERN_OK;
}

void store_flush_stop(struct store *s)
{
    pthread_mutex_lock(&s->flush_mu);
    s->flush_stop = true;
    pthread_cond_broadcast(&s->flush_cv);
    pthread_cond_broadcast(&s->tick_cv);
    pthread_mutex_unlock(&s->flush_mu);
    for (int i = 0; i < s->flush_nthr; i++)
        pthread_join(s->flush_thr[i], NULL);
    s->flush_nthr = 0;
    s->flush_started = false;
}

void store_wait_flush(struct store *s, int64_t end_phy_off, store_flush_cb cb, void *arg)
{
    if (s->cfg.flush_mode != STORE_SYNC_FLUSH || end_phy_off <= atomic_load(&s->cl->flushed_off)) {
        cb(arg, TERN_OK);
        return;
    }
    int err = atomic_load(&s->cl->sync_err);
    if (err) {
        cb(arg, err); /* sticky: this can never become durable */
        return;
    }
    struct flush_waiter *w = xmalloc(sizeof *w);
    w->end_off = end_phy_off;
    w->deadline_ms = clock_mono_ms() + s->cfg.sync_flush_timeout_ms;
    w->cb = cb;
    w->arg = arg;
    pthread_mutex_lock(&s->flush_mu);
    if (s->flush_stop) {
        pthread_mutex_unlock(&s->flush_mu);
        free(w);
        cb(arg, TERN_ESHUTDOWN);
        return;
    }
    w->next = s->waiters;
    s->waiters = w;
    pthread_cond_signal(&s->flush_cv);
    pthread_mutex_unlock(&s->flush_mu);
}
