/* SPDX-License-Identifier: Apache-2.0 */
/* lock_table.h: queue locks of ordered consumers (LOCK_BATCH_MQ /
 * UNLOCK_BATCH_MQ, spec §4.C.9, §8.7). A queue of a group is held by one
 * client id; the holder renews it by locking again; a lock not renewed for
 * lease_ms (default LOCK_MAX_LIVE_MS, config lockLeaseMs) may be taken by
 * another client. Only the holder can unlock. Threads: any; guarded by
 * lock. */
#ifndef TERN_BROKER_LOCK_TABLE_H
#define TERN_BROKER_LOCK_TABLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/bytes.h"
#include "common/strmap.h"

#define LOCK_MAX_LIVE_MS 60000
#define LOCK_SWEEP_MS    10000

struct lock_table {
    pthread_mutex_t lock;
    strmap_t map;          /* guarded by lock: group\0topic\0qid -> struct mq_lock* (owned) */
    int64_t lease_ms;      /* set before use; read-only afterwards */
    int64_t next_sweep_ms; /* guarded by lock: when try next drops expired locks */
};

/* Initializes with the default lease (LOCK_MAX_LIVE_MS). */
void lock_table_init(struct lock_table *t);
/* Sets the lease (call before the table is shared). */
void lock_table_set_lease(struct lock_table *t, int64_t lease_ms);
void lock_table_deinit(struct lock_table *t);
/* Locks (or renews) the queue for client_id. Returns true when client_id
 * holds it afterwards. Now and then (LOCK_SWEEP_MS) it also drops every
 * expired lock, so abandoned queues do not pile up. */
bool lock_table_try(struct lock_table *t, tern_bytes_t group, tern_bytes_t topic, int32_t qid,
                    tern_bytes_t client_id, int64_t now_ms);
/* Releases the queue if client_id holds it. */
void lock_table_unlock(struct lock_table *t, tern_bytes_t group, tern_bytes_t topic, int32_t qid,
                       tern_bytes_t client_id);
/* True when some queue of the group has an unexpired lock. Expired locks
 * met on the way are dropped. */
bool lock_table_group_locked(struct lock_table *t, tern_bytes_t group, int64_t now_ms);

#endif
