/* SPDX-License-Identifier: Apache-2.0 */
/* indexer.c: the index thread. It tails the commit log from index_phy (its
 * own progress, checkpointed as index_flushed after each index flush) and
 * adds the keys of every record to the index files. When idle it sleeps and
 * the next append wakes it through idx_cv; while busy it naps 2 ms between
 * batches instead, so a put pays one atomic load, not a futex wake. A timed
 * wait bounds any missed wake-up. Recovery simply restarts from the checkpointed
 * progress; the index's replay guard skips records already indexed. */
#include <pthread.h>
#include <time.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "store/store_impl.h"

#define INDEX_BATCH_RECORDS 4096
#define INDEX_IDLE_WAIT_MS  50
#define INDEX_NAP_MS        2

/* Indexes up to INDEX_BATCH_RECORDS records; returns how many were seen. */
static int index_batch(struct store *s)
{
    int64_t pos = atomic_load(&s->index_phy);
    int64_t min = atomic_load(&s->cl->min_off);
    if (pos < min)
        pos = min;
    int k = 0;
    commitlog_rdlock(s->cl);
    while (k < INDEX_BATCH_RECORDS) {
        const uint8_t *p;
        int32_t size;
        int64_t next;
        int rc = commitlog_peek(s->cl, pos, &p, &size, &next);
        if (rc == TERN_ENOT_FOUND) {
            if (next == pos)
                break;
            pos = next;
            continue;
        }
        struct msg_record m;
        if (rc != TERN_OK || msg_decode(p, (size_t)size, &m) != TERN_OK) {
            log_error("store", "indexer skipping unreadable data phy_off=%lld", (long long)pos);
            pos = commitlog_next_seg_start(s->cl, pos);
            continue;
        }
        rc = index_add_record(s->idx, &m);
        if (rc)
            log_warn("store", "index write failed phy_off=%lld: %s", (long long)pos,
                     tern_strerror(rc));
        pos = next;
        k++;
    }
    commitlog_unlock(s->cl);
    atomic_store(&s->index_phy, pos);
    return k;
}

void store_indexer_catch_up(struct store *s)
{
    if (!s->idx)
        return;
    while (atomic_load(&s->index_phy) < atomic_load(&s->cl->max_off) && index_batch(s) > 0)
        ;
}

static void *indexer_main(void *arg)
{
    pthread_setname_np(pthread_self(), "tern-index");
    struct store *s = arg;
    int64_t last_flush = clock_mono_ms();
    bool busy = false;
    pthread_mutex_lock(&s->idx_mu);
    while (!s->idx_stop) {
        /* While records keep coming, nap briefly without asking to be woken
         * (a futex wake per put would cost the putting thread a syscall);
         * once a nap found nothing new, sleep until a put wakes us. */
        if (atomic_load(&s->index_phy) >= atomic_load(&s->cl->max_off)) {
            if (!busy)
                atomic_store(&s->idx_sleeping, true);
            if (busy || atomic_load(&s->index_phy) >= atomic_load(&s->cl->max_off)) {
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_nsec += (busy ? INDEX_NAP_MS : INDEX_IDLE_WAIT_MS) * 1000000L;
                if (ts.tv_nsec >= 1000000000L) {
                    ts.tv_sec++;
                    ts.tv_nsec -= 1000000000L;
                }
                pthread_cond_timedwait(&s->idx_cv, &s->idx_mu, &ts);
            }
            atomic_store(&s->idx_sleeping, false);
        }
        if (s->idx_stop)
            break;
        pthread_mutex_unlock(&s->idx_mu);
        busy = index_batch(s) > 0;
        if (clock_mono_ms() - last_flush >= STORE_INDEX_FLUSH_MS) {
            int64_t ip = atomic_load(&s->index_phy);
            if (index_flush(s->idx) == TERN_OK)
                atomic_store(&s->index_flushed, ip);
            last_flush = clock_mono_ms();
        }
        pthread_mutex_lock(&s->idx_mu);
    }
    pthread_mutex_unlock(&s->idx_mu);
    return NULL;
}

int store_indexer_start(struct store *s)
{
    if (!s->idx)
        return TERN_OK;
    int rc = pthread_create(&s->idx_thr, NULL, indexer_main, s);
    if (rc)
        return -rc;
    s->idx_started = true;
    return TERN_OK;
}

void store_indexer_stop(struct store *s)
{
    pthread_mutex_lock(&s->idx_mu);
    s->idx_stop = true;
    pthread_cond_broadcast(&s->idx_cv);
    pthread_mutex_unlock(&s->idx_mu);
    if (s->idx_started)
        pthread_join(s->idx_thr, NULL);
    s->idx_started = false;
}

void store_indexer_wake(struct store *s)
{
    if (!s->idx || !atomic_load(&s->idx_sleeping))
        return;
    pthread_mutex_lock(&s->idx_mu);
    pthread_cond_signal(&s->idx_cv);
    pthread_mutex_unlock(&s->idx_mu);
}
