/* SPDX-License-Identifier: Apache-2.0 */
/* clean.c: retention and disk-space protection (docs/design/store.md#retention).
 *
 * The clean thread runs every STORE_CLEAN_PERIOD_MS: at delete_when_hour it
 * deletes commit-log segments last modified more than file_reserved_hours
 * ago; when the disk is fuller than disk_max_used_ratio it deletes the oldest
 * segments at once. Never the segment being written, never one not yet
 * flushed. Then consume-queue and index files wholly below the new log
 * minimum go. Puts check free space through store_disk_refuses(), which
 * measures (statvfs) at most once per STORE_DISK_CHECK_MS. */
#include <limits.h>
#include <pthread.h>
#include <sys/statvfs.h>
#include <time.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "store/store_impl.h"

/* Oldest segments deleted per pass when the disk is over the ratio. */
#define CLEAN_MAX_FORCED_FILES 10

static int disk_used_pct(struct store *s, int64_t *total, int64_t *avail)
{
    struct statvfs v;
    if (statvfs(s->root, &v) != 0 || v.f_blocks == 0) {
        *total = *avail = 0;
        return 0;
    }
    *total = (int64_t)v.f_blocks * (int64_t)v.f_frsize;
    *avail = (int64_t)v.f_bavail * (int64_t)v.f_frsize;
    int64_t used = (int64_t)(v.f_blocks - v.f_bfree) * (int64_t)v.f_frsize;
    int64_t denom = used + *avail;
    return denom > 0 ? (int)(used * 100 / denom) : 0;
}

bool store_disk_refuses(struct store *s, bool force)
{
    int64_t now = clock_mono_ms();
    if ((force || now - atomic_load_explicit(&s->disk_check_ms, memory_order_relaxed) >=
                      STORE_DISK_CHECK_MS) &&
        !atomic_flag_test_and_set(&s->disk_checking)) {
        int64_t total, avail;
        int pct = disk_used_pct(s, &total, &avail);
        bool full = total > 0 && (avail < atomic_load(&s->min_free_bytes) ||
                                  pct > atomic_load(&s->refuse_ratio));
        if (full != atomic_load(&s->disk_full)) {
            if (full)
                log_error("store", "disk full: refusing puts free=%lld used_pct=%d",
                          (long long)avail, pct);
            else
                log_info("store", "disk space back: accepting puts free=%lld used_pct=%d",
                         (long long)avail, pct);
        }
        atomic_store(&s->disk_total, total);
        atomic_store(&s->disk_free, avail);
        atomic_store(&s->disk_full, full);
        atomic_store(&s->disk_check_ms, now);
        atomic_flag_clear(&s->disk_checking);
    }
    return atomic_load_explicit(&s->disk_full, memory_order_relaxed);
}

void store_set_disk_limits(struct store *s, int64_t min_free_bytes, int refuse_ratio)
{
    atomic_store(&s->min_free_bytes, min_free_bytes);
    atomic_store(&s->refuse_ratio, refuse_ratio);
    store_disk_refuses(s, true);
}

static int clean_run_locked(struct store *s, bool force)
{
    int64_t total, avail;
    int pct = disk_used_pct(s, &total, &avail);
    bool over = pct > s->cfg.disk_max_used_ratio;
    int64_t limit = atomic_load(&s->cl->flushed_off);
    int deleted;
    if (force || over) {
        deleted =
            commitlog_delete_old(s->cl, 0, true, limit, force ? INT_MAX : CLEAN_MAX_FORCED_FILES);
    } else {
        time_t t = time(NULL);
        struct tm tm;
        localtime_r(&t, &tm);
        if (tm.tm_hour != s->cfg.delete_when_hour)
            return 0;
        int64_t older = clock_wall_ms() - (int64_t)s->cfg.file_reserved_hours * 3600 * 1000;
        deleted = commitlog_delete_old(s->cl, older, false, limit, INT_MAX);
    }
    int64_t log_min = atomic_load(&s->cl->min_off);
    pthread_rwlock_rdlock(&s->qmap_lock);
    const char *k;
    void *v;
    for (size_t it = 0; strmap_next(&s->qmap, &it, &k, &v);)
        cq_delete_below(v, log_min);
    pthread_rwlock_unlock(&s->qmap_lock);
    if (s->idx)
        index_delete_below(s->idx, log_min);
    if (deleted > 0)
        log_info("store", "retention deleted %d segments, min_off=%lld used_pct=%d", deleted,
                 (long long)log_min, pct);
    return deleted;
}

int store_clean_run(struct store *s, bool force)
{
    /* One pass at a time: two passes could each pick the same oldest k
     * files (or k more than intended) to delete. */
    pthread_mutex_lock(&s->clean_run_mu);
    int deleted = clean_run_locked(s, force);
    pthread_mutex_unlock(&s->clean_run_mu);
    return deleted;
}

int store_clean_now(struct store *s, bool force)
{
    return store_clean_run(s, force);
}

static void *clean_main(void *arg)
{
    pthread_setname_np(pthread_self(), "tern-clean");
    struct store *s = arg;
    pthread_mutex_lock(&s->clean_mu);
    while (!s->clean_stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += STORE_CLEAN_PERIOD_MS / 1000;
        pthread_cond_timedwait(&s->clean_cv, &s->clean_mu, &ts);
        if (s->clean_stop)
            break;
        pthread_mutex_unlock(&s->clean_mu);
        store_disk_refuses(s, false);
        store_clean_run(s, false);
        pthread_mutex_lock(&s->clean_mu);
    }
    pthread_mutex_unlock(&s->clean_mu);
    return NULL;
}

int store_clean_start(struct store *s)
{
    int rc = pthread_create(&s->clean_thr, NULL, clean_main, s);
    if (rc)
        return -rc;
    s->clean_started = true;
    return TERN_OK;
}

void store_clean_stop(struct store *s)
{
    pthread_mutex_lock(&s->clean_mu);
    s->clean_stop = true;
    pthread_cond_broadcast(&s->clean_cv);
    pthread_mutex_unlock(&s->clean_mu);
    if (s->clean_started)
        pthread_join(s->clean_thr, NULL);
    s->clean_started = false;
}
