/* SPDX-License-Identifier: Apache-2.0 */
/* hold.h: long polling (PullRequestHoldService, broker-internals §4.4).
 *
 * A pull that finds nothing (PULL_NOT_FOUND) with the SUSPEND flag is parked
 * here with its queue, offset, tag filter and deadline. It is replayed (pull
 * re-run without suspension, answered from the replaying thread) when
 *   - the store's arrival callback reports a new max offset beyond the held
 *     offset and a matching tag code (hold_notify, on the putting thread),
 *   - its deadline passes, or the periodic 5 s recheck finds new data (the
 *     hold thread).
 * An entry is removed from the table under the lock before it is replayed,
 * so each held request is answered exactly once. Threads: any + one hold
 * thread; table guarded by lock. */
#ifndef TERN_BROKER_HOLD_H
#define TERN_BROKER_HOLD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "broker/filter.h"
#include "common/bytes.h"
#include "common/strmap.h"

struct rreq;

/* Longest hold a client may ask for (suspendTimeoutMillis is clamped). */
#define HOLD_MAX_TIMEOUT_MS 60000
/* Most pulls held at once; beyond it hold_add refuses and the pull is
 * answered at once. */
#define HOLD_MAX_HELD 100000

/* Re-runs a held pull without suspension and answers it (takes req). */
typedef void (*hold_replay_fn)(void *ctx, struct rreq *req);
/* Current max offset of a queue (for the periodic recheck). */
typedef int64_t (*hold_max_fn)(void *ctx, tern_bytes_t topic, int32_t qid);

struct hold_service {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    strmap_t queues;   /* guarded by lock: queue key -> struct held_pull* list (owned) */
    atomic_long count; /* held requests (fast "nothing held" check) */
    bool stopping;     /* guarded by lock */
    bool started;
    int64_t wake_at_ms; /* guarded by lock: when the thread plans to wake */
    pthread_t thread;
    hold_replay_fn replay;
    hold_max_fn max_off;
    void *ctx; /* borrowed: the broker */
};

int hold_start(struct hold_service *h, hold_replay_fn replay, hold_max_fn max_off, void *ctx);
/* Joins the thread, then replays every held request (answering them). Later
 * hold_add calls return false, so callers answer at once. */
void hold_stop(struct hold_service *h);
/* Frees the lock and table; after the server (which may call hold_add) is
 * stopped. */
void hold_deinit(struct hold_service *h);
/* Parks req; timeout_ms is clamped to [0, HOLD_MAX_TIMEOUT_MS]. Returns
 * false (req not taken) when stopping or HOLD_MAX_HELD pulls are held. The caller must
 * then call hold_recheck() to close the race with an arrival that happened
 * between its read and the park. */
bool hold_add(struct hold_service *h, struct rreq *req, tern_bytes_t topic, int32_t qid,
              int64_t offset, int64_t timeout_ms, const struct tag_filter *filter);
/* Arrival: replays held requests of (topic, qid) whose offset < max_off and
 * whose filter matches tags_code (tags_code NULL = any). */
void hold_notify(struct hold_service *h, tern_bytes_t topic, int32_t qid, int64_t max_off,
                 const int64_t *tags_code);
/* Number of held requests. */
long hold_count(struct hold_service *h);
/* Latest deadline (monotonic ms) among held requests, -1 if none (tests). */
int64_t hold_latest_deadline_ms(struct hold_service *h);

#endif
