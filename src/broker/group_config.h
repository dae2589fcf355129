/* SPDX-License-Identifier: Apache-2.0 */
/* group_config.h: subscription group configs (SubscriptionGroupConfig),
 * persisted as <storePathRootDir>/config/subscriptionGroup.json
 * (broker-internals §8.2). Auto-created on first use when allowed.
 * Threads: any; guarded by lock; persisted by the housekeeping thread. */
#ifndef TERN_BROKER_GROUP_CONFIG_H
#define TERN_BROKER_GROUP_CONFIG_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/bytes.h"
#include "common/strmap.h"

#define GROUP_NAME_MAX 255

struct group_config {
    char name[GROUP_NAME_MAX + 1];
    bool consume_enable;
    bool consume_from_min_enable;
    bool consume_broadcast_enable;
    bool consume_message_orderly;
    int retry_queue_nums;
    int retry_max_times;
    int64_t broker_id;
    int64_t which_broker_when_consume_slowly;
    bool notify_consumer_ids_changed_enable;
    int group_sys_flag;
    int consume_timeout_minute;
};

struct group_table {
    pthread_mutex_t lock;
    strmap_t map; /* guarded by lock: name -> struct group_config* (owned) */
    int64_t dv_counter;
    int64_t dv_ts;
    bool dirty;
    char *path; /* owned */
};

int groups_init(struct group_table *g, const char *path);
void groups_deinit(struct group_table *g);
void group_config_defaults(struct group_config *gc, tern_bytes_t name);
/* Copies the group's config; false if unknown. */
bool groups_get(struct group_table *g, tern_bytes_t name, struct group_config *out);
/* Gets the group, creating it with defaults when create is true and the
 * name is valid. Returns false if it is unknown and was not created. */
bool groups_ensure(struct group_table *g, tern_bytes_t name, bool create, struct group_config *out);
void groups_put(struct group_table *g, const struct group_config *gc);
bool groups_delete(struct group_table *g, tern_bytes_t name);
/* Decodes a SubscriptionGroupConfig JSON body into gc. TERN_EPROTOCOL. */
int group_config_decode(tern_bytes_t body, struct group_config *gc);
void group_config_json(const struct group_config *gc, buf_t *out);
/* {"subscriptionGroupTable":{...},"forbiddenTable":{},"dataVersion":{...}} */
void groups_encode_all(struct group_table *g, buf_t *out);
int groups_persist(struct group_table *g, bool force);
/* Group name rules: letters, digits and %|_-, <= 120 bytes. */
bool group_name_valid(tern_bytes_t name);

#endif
