/* SPDX-License-Identifier: Apache-2.0 */
/* warm_pool.c: resident 2 MiB anonymous pages traded for the commit log's
 * page-cache folios (warm_pool.h; docs/design/store.md, "Warm pool").
 *
 * Why: a 2 MiB page-cache folio is zero-filled in one non-preemptible pass
 * when the prefault creates it. On a VM that hands free memory back to its
 * host, that pass pays a host fault per 4 KiB and holds a CPU for ~4-6 ms,
 * during which everything queued on that CPU waits (the end-to-end tail of
 * bench/RESULTS.md). A page freed a moment earlier is still backed, and the
 * kernel hands the most recently freed 2 MiB page to the next 2 MiB
 * allocation, so the folio is zeroed in ~0.2 ms. The cost moves to the
 * refill, which zeroes an anonymous huge page: preemptible page by page,
 * and here done at SCHED_IDLE, so any other thread that wakes takes the
 * CPU from it. Elsewhere the trade costs one extra 2 MiB clear per folio.
 *
 * Slots move EMPTY -> BUSY -> FULL (refill thread) and FULL -> BUSY -> EMPTY
 * (warm_pool_give), under mu; the madvise calls run outside it. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "common/error.h"
#include "common/log.h"
#include "store/warm_pool.h"

#define WARM_POOL_MAX 16

enum slot { SLOT_EMPTY, SLOT_BUSY, SLOT_FULL };

struct warm_pool {
    uint8_t *map; /* owned: map_len bytes of address space */
    size_t map_len;
    uint8_t *base; /* WARM_POOL_PAGE-aligned inside map */
    int pages;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    enum slot slots[WARM_POOL_MAX]; /* guarded by mu */
    _Atomic bool armed;             /* warm_pool_arm happened: fill from now on */
    bool stop;
    bool broken; /* the refill failed: the pool stays empty */
    pthread_t thr;
    _Atomic int64_t given, missed, refilled;
};

static uint8_t *slot_addr(const struct warm_pool *p, int i)
{
    return p->base + (size_t)i * WARM_POOL_PAGE;
}

/* Index of a slot in state s, or -1 (mu held). */
static int find(const struct warm_pool *p, enum slot s)
{
    for (int i = 0; i < p->pages; i++)
        if (p->slots[i] == s)
            return i;
    return -1;
}

static void *refill_main(void *arg)
{
    pthread_setname_np(pthread_self(), "tern-warm-pool");
    struct warm_pool *p = arg;
    /* Best effort: without it the refill still runs, at normal priority. */
    struct sched_param sp = {0};
    (void)pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp);
    pthread_mutex_lock(&p->mu);
    while (!p->stop) {
        int i = atomic_load(&p->armed) && !p->broken ? find(p, SLOT_EMPTY) : -1;
        if (i < 0) {
            pthread_cond_wait(&p->cv, &p->mu);
            continue;
        }
        p->slots[i] = SLOT_BUSY;
        pthread_mutex_unlock(&p->mu);
        int rc = 0;
#if defined(MADV_POPULATE_WRITE)
        rc = madvise(slot_addr(p, i), WARM_POOL_PAGE, MADV_POPULATE_WRITE) == 0 ? 0 : -errno;
#else
        rc = TERN_EINVALID;
#endif
        pthread_mutex_lock(&p->mu);
        if (rc == 0) {
            p->slots[i] = SLOT_FULL;
            atomic_fetch_add(&p->refilled, 1);
        } else {
            p->slots[i] = SLOT_EMPTY;
            p->broken = true;
            log_warn("store", "warm pool refill failed, pool disabled: %s", tern_strerror(rc));
        }
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int warm_pool_new(int pages, struct warm_pool **out)
{
    if (pages < 1 || pages > WARM_POOL_MAX)
        return TERN_EINVALID;
    struct warm_pool *p = calloc(1, sizeof *p);
    if (p == NULL)
        return TERN_ENOMEM;
    p->pages = pages;
    /* One page more, so that an aligned run of `pages` fits. */
    p->map_len = (size_t)(pages + 1) * WARM_POOL_PAGE;
    void *m = mmap(NULL, p->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        free(p);
        return TERN_ENOMEM;
    }
    p->map = m;
    uintptr_t a = ((uintptr_t)m + WARM_POOL_PAGE - 1) & ~(uintptr_t)(WARM_POOL_PAGE - 1);
    p->base = (uint8_t *)a;
    (void)madvise(p->base, (size_t)pages * WARM_POOL_PAGE, MADV_HUGEPAGE);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    int rc = pthread_create(&p->thr, NULL, refill_main, p);
    if (rc) {
        pthread_cond_destroy(&p->cv);
        pthread_mutex_destroy(&p->mu);
        munmap(p->map, p->map_len);
        free(p);
        return -rc;
    }
    *out = p;
    return TERN_OK;
}

void warm_pool_free(struct warm_pool *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    /* A starved SCHED_IDLE refill would hold up the join; leaving the policy
     * needs RLIMIT_NICE room, so this may be refused (the join then waits for
     * one 2 MiB refill). */
    struct sched_param sp = {0};
    (void)pthread_setschedparam(p->thr, SCHED_OTHER, &sp);
    pthread_join(p->thr, NULL);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    munmap(p->map, p->map_len);
    free(p);
}

void warm_pool_arm(struct warm_pool *p)
{
    if (atomic_load_explicit(&p->armed, memory_order_relaxed))
        return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->armed, true);
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

bool warm_pool_give(struct warm_pool *p)
{
    pthread_mutex_lock(&p->mu);
    int i = find(p, SLOT_FULL);
    if (i < 0) {
        atomic_fetch_add(&p->missed, 1);
        pthread_mutex_unlock(&p->mu);
        return false;
    }
    p->slots[i] = SLOT_BUSY;
    pthread_mutex_unlock(&p->mu);
    (void)madvise(slot_addr(p, i), WARM_POOL_PAGE, MADV_DONTNEED);
    pthread_mutex_lock(&p->mu);
    p->slots[i] = SLOT_EMPTY;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    atomic_fetch_add(&p->given, 1);
    return true;
}

void warm_pool_stats(struct warm_pool *p, struct warm_pool_stats *out)
{
    out->given = atomic_load(&p->given);
    out->missed = atomic_load(&p->missed);
    out->refilled = atomic_load(&p->refilled);
    pthread_mutex_lock(&p->mu);
    int n = 0;
    for (int i = 0; i < p->pages; i++)
        n += p->slots[i] == SLOT_FULL;
    pthread_mutex_unlock(&p->mu);
    out->resident = n;
}
