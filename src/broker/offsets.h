/* SPDX-License-Identifier: Apache-2.0 */
/* offsets.h: committed consumer offsets per (group, topic, queue), persisted
 * as <storePathRootDir>/config/consumerOffset.json every
 * flushConsumerOffsetInterval and at shutdown (crash-safe write, §8.1).
 *
 * The value is the next offset to consume; -1 means "none stored".
 * Threads: any; guarded by lock. */
#ifndef TERN_BROKER_OFFSETS_H
#define TERN_BROKER_OFFSETS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/bytes.h"
#include "common/strmap.h"

struct offset_table {
    pthread_mutex_t lock;
    strmap_t map; /* guarded by lock: "topic@group" -> struct offset_row* (owned) */
    bool dirty;   /* guarded by lock */
    char *path;   /* owned */
};

int offsets_init(struct offset_table *o, const char *path);
void offsets_deinit(struct offset_table *o);
/* Stores off (>= 0) for the queue. */
void offsets_commit(struct offset_table *o, tern_bytes_t topic, tern_bytes_t group, int32_t qid,
                    int64_t off);
/* Returns the stored offset or -1. */
int64_t offsets_query(struct offset_table *o, tern_bytes_t topic, tern_bytes_t group, int32_t qid);
/* Drops every entry of a topic (or of a group). */
void offsets_delete_topic(struct offset_table *o, tern_bytes_t topic);
void offsets_delete_group(struct offset_table *o, tern_bytes_t group);
/* Calls fn for each topic with stored offsets for group. */
void offsets_each_topic_of_group(struct offset_table *o, tern_bytes_t group,
                                 void (*fn)(void *arg, const char *topic), void *arg);
int offsets_persist(struct offset_table *o, bool force);

#endif
