/* SPDX-License-Identifier: Apache-2.0 */
/* lock_table.h: queue locks of ordered consumers (LOCK_BATCH_MQ /
 * UNLOCK_BATCH_MQ, spec §4.C.9, §8.7). A queue of a group is held by one
 * client id; a lock not renewed for LOCK_MAX_LIVE_MS may be taken by
 * another client. Threads: any; guarded by lock. */
#ifndef TERN_BROKER_LOCK_TABLE_H
#define TERN_BROKER_LOCK_TABLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/bytes.h"
#include "common/strmap.h"

#define LOCK_MAX_LIVE_MS 60000

struct lock_table {
    pthread_mutex_t lock;
    strmap_t map; /* guarded by lock: group\0topic\0qid -> struct mq_lock* (owned) */
};

void lock_table_init(struct lock_table *t);
void lock_table_deinit(struct lock_table *t);
/* Locks (or renews) the queue for client_id. Returns true when client_id
 * holds it afterwards. */
bool lock_table_try(struct lock_table *t, tern_bytes_t group, tern_bytes_t topic, int32_t qid,
                    tern_bytes_t client_id, int64_t now_ms);
/* Releases the queue if client_id holds it. */
void lock_table_unlock(struct lock_table *t, tern_bytes_t group, tern_bytes_t topic, int32_t qid,
                       tern_bytes_t client_id);
/* True when some queue of the group has an unexpired lock. */
bool lock_table_group_locked(struct lock_table *t, tern_bytes_t group, int64_t now_ms);

#endif
