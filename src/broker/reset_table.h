/* SPDX-License-Identifier: Apache-2.0 */
/* reset_table.h: pending server-side offset resets (INVOKE_BROKER_TO_RESET_OFFSET
 * 222, spec §4.D.7). An entry (group, topic, queue) -> target offset is taken
 * by the next pull of that queue, which answers PULL_OFFSET_MOVED; until then
 * UPDATE_CONSUMER_OFFSET for the queue is ignored. Memory only: a restart
 * keeps the committed offsets the reset stored. Threads: any; guarded by
 * lock. */
#ifndef TERN_BROKER_RESET_TABLE_H
#define TERN_BROKER_RESET_TABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/bytes.h"

struct reset_table;

struct reset_table *reset_table_new(void);
/* NULL is a no-op. */
void reset_table_free(struct reset_table *t);
/* Adds or replaces the pending target of a queue. */
void reset_table_put(struct reset_table *t, tern_bytes_t group, tern_bytes_t topic, int32_t qid,
                     int64_t target);
/* Removes the queue's entry; true with *target when there was one. */
bool reset_table_take(struct reset_table *t, tern_bytes_t group, tern_bytes_t topic, int32_t qid,
                      int64_t *target);
/* True while the queue has a pending reset. */
bool reset_table_pending(struct reset_table *t, tern_bytes_t group, tern_bytes_t topic,
                         int32_t qid);

#endif
