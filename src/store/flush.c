/* SPDX-License-Identifier: Apache-2.0 */
/* flush.c: the flush thread, group commit and the checkpoint writer
 * (docs/design/store.md#flush).
 *
 * ASYNC_FLUSH: every flush_interval_ms the thread msyncs the commit log's
 * dirty range. SYNC_FLUSH: store_wait_flush() queues (end_off, cb, deadline)
 * and wakes the thread, which does one msync(MS_SYNC) covering everything
 * written so far and then completes every waiter at or below the flushed
 * offset (group commit); waiters past their deadline get TERN_ETIMEOUT.
 * Consume queues and index progress are flushed lazily (every
 * STORE_CQ_FLUSH_MS), followed by a checkpoint write. Callbacks run on the
 * flush thread with no lock held. */
#include <errno.h>
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

/* Detaches waiters that are done or expired (flush_mu held). */
static struct flush_waiter *take_finished(struct store *s, int64_t flushed, int64_t now,
                                          struct flush_waiter **expired)
{
    struct flush_waiter *done = NULL, **pp = &s->waiters;
    *expired = NULL;
    while (*pp) {
        struct flush_waiter *w = *pp;
        if (w->end_off <= flushed) {
            *pp = w->next;
            w->next = done;
            done = w;
        } else if (w->deadline_ms <= now) {
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

static void *flush_main(void *arg)
{
    struct store *s = arg;
    bool sync = s->cfg.flush_mode == STORE_SYNC_FLUSH;
    int64_t last_full = clock_mono_ms();
    pthread_mutex_lock(&s->flush_mu);
    while (!s->flush_stop) {
        bool pending = s->waiters != NULL;
        int64_t max = atomic_load_explicit(&s->cl->max_off, memory_order_acquire);
        int64_t flushed = atomic_load(&s->cl->flushed_off);
        if (!(sync && pending && flushed < max))
            timed_wait(&s->flush_cv, &s->flush_mu, sync && pending ? 1 : s->cfg.flush_interval_ms);
        if (s->flush_stop)
            break;
        pthread_mutex_unlock(&s->flush_mu);

        int64_t now = clock_mono_ms();
        int rc;
        if (now - last_full >= STORE_CQ_FLUSH_MS) {
            rc = store_flush_all(s, true, true);
            last_full = now;
        } else {
            pthread_mutex_lock(&s->sync_mu);
            int64_t before = atomic_load(&s->cl->flushed_off);
            rc =
                commitlog_flush(s->cl, atomic_load_explicit(&s->cl->max_off, memory_order_acquire));
            /* Keep the recovery scan short: record progress (no fsync; a
             * stale checkpoint only means a longer scan). */
            if (rc == TERN_OK && !sync && atomic_load(&s->cl->flushed_off) != before)
                rc = write_ckpt(s, false);
            pthread_mutex_unlock(&s->sync_mu);
            if (rc)
                log_error("store", "commitlog flush failed: %s", tern_strerror(rc));
        }
        flushed = atomic_load(&s->cl->flushed_off);

        pthread_mutex_lock(&s->flush_mu);
        struct flush_waiter *expired;
        struct flush_waiter *done = take_finished(s, flushed, clock_mono_ms(), &expired);
        pthread_mutex_unlock(&s->flush_mu);
        run_list(done, TERN_OK);
        run_list(expired, TERN_ETIMEOUT);
        pthread_mutex_lock(&s->flush_mu);
    }
    pthread_mutex_unlock(&s->flush_mu);
    return NULL;
}

int store_flush_start(struct store *s)
{
    int rc = pthread_create(&s->flush_thr, NULL, flush_main, s);
    if (rc)
        return -rc;
    s->flush_started = true;
    return TERN_OK;
}

void store_flush_stop(struct store *s)
{
    pthread_mutex_lock(&s->flush_mu);
    s->flush_stop = true;
    pthread_cond_broadcast(&s->flush_cv);
    pthread_mutex_unlock(&s->flush_mu);
    if (s->flush_started)
        pthread_join(s->flush_thr, NULL);
    s->flush_started = false;
}

void store_wait_flush(struct store *s, int64_t end_phy_off, store_flush_cb cb, void *arg)
{
    if (s->cfg.flush_mode != STORE_SYNC_FLUSH || end_phy_off <= atomic_load(&s->cl->flushed_off)) {
        cb(arg, TERN_OK);
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
