/* SPDX-License-Identifier: Apache-2.0 */
/* warm_pool.h: a few 2 MiB anonymous pages, kept resident, handed back to
 * the kernel just before the commit log's prefault allocates a 2 MiB
 * page-cache folio, so that folio is memory the machine has just used
 * (why, and what it costs: docs/design/store.md, "Warm pool").
 *
 * One refill thread, at SCHED_IDLE, makes empty slots resident again, from
 * the first warm_pool_arm on (so a broker that never wrote holds none).
 * Threads: any (one mutex). */
#ifndef TERN_STORE_WARM_POOL_H
#define TERN_STORE_WARM_POOL_H

#include <stdbool.h>
#include <stdint.h>

#include "store/mapped_file.h"

/* One pool page: the size of the folio it is traded for. */
#define WARM_POOL_PAGE MFILE_LARGE_FOLIO_BYTES

struct warm_pool;

struct warm_pool_stats {
    int64_t given;    /* resident pages handed back */
    int64_t missed;   /* warm_pool_give calls that found no resident page */
    int64_t refilled; /* slots the refill thread made resident */
    int resident;     /* slots resident now */
};

/* Reserves pages * WARM_POOL_PAGE of address space (nothing resident) and
 * starts the refill thread. OUT: *out (owned). */
int warm_pool_new(int pages, struct warm_pool **out);
/* Stops the refill thread and unmaps. The thread is asked back to normal
 * priority for the refill it may be in; without RLIMIT_NICE room that is
 * refused and the stop waits for that one refill. NULL is a no-op. */
void warm_pool_free(struct warm_pool *p);
/* Lets the refill thread fill the pool from now on (the log's appender
 * calls it when it first asks for prefault). Cheap after the first call. */
void warm_pool_arm(struct warm_pool *p);
/* Frees one resident page (MADV_DONTNEED) and asks for its refill; true if
 * there was one. Never waits for the refill. */
bool warm_pool_give(struct warm_pool *p);
void warm_pool_stats(struct warm_pool *p, struct warm_pool_stats *out);

#endif
