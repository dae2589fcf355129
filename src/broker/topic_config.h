/* SPDX-License-Identifier: Apache-2.0 */
/* topic_config.h: the broker's topic table (TopicConfig per topic), persisted
 * as <storePathRootDir>/config/topics.json (broker-internals §8.3).
 *
 * Lookups copy the config out under a read lock (the send path does one per
 * message: a hash lookup, no allocation). Changes bump the data version and
 * mark the table dirty; the housekeeping thread persists it, and the caller
 * kicks a name-server registration. Threads: any; guarded by lock. */
#ifndef TERN_BROKER_TOPIC_CONFIG_H
#define TERN_BROKER_TOPIC_CONFIG_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/bytes.h"
#include "common/strmap.h"

#define PERM_PRIORITY 8
#define PERM_READ     4
#define PERM_WRITE    2
#define PERM_INHERIT  1

#define TOPIC_NAME_MAX 255

/* Topic message type (5.x attribute message.type; Open API orderType 0, 1,
 * 5, 4; a global-order topic is FIFO with one queue). TOPIC_TYPE_UNSET
 * accepts every kind of message. */
enum topic_msg_type {
    TOPIC_TYPE_UNSET = 0,
    TOPIC_TYPE_NORMAL,
    TOPIC_TYPE_FIFO,
    TOPIC_TYPE_DELAY,
    TOPIC_TYPE_TRANSACTION,
};

struct topic_config {
    char name[TOPIC_NAME_MAX + 1];
    int read_queue_nums;
    int write_queue_nums;
    int perm;
    int topic_sys_flag;
    bool order;
    bool multi_tag; /* topicFilterType MULTI_TAG */
    int msg_type;   /* enum topic_msg_type; attributes {"message.type":...} */
};

struct topic_table {
    pthread_rwlock_t lock;
    strmap_t map;       /* guarded by lock: name -> struct topic_config* (owned) */
    int64_t dv_counter; /* guarded by lock: DataVersion */
    int64_t dv_ts;      /* guarded by lock */
    bool dirty;         /* guarded by lock: needs persisting */
    char *path;         /* owned: topics.json path */
};

/* Loads path (may not exist). Returns TERN_OK or TERN_ECORRUPT/-errno. */
int topics_init(struct topic_table *t, const char *path);
void topics_deinit(struct topic_table *t);
/* Copies the config of name into *out. false if absent. */
bool topics_get(struct topic_table *t, tern_bytes_t name, struct topic_config *out);
/* Creates or replaces. Returns true when something changed. */
bool topics_put(struct topic_table *t, const struct topic_config *tc);
/* Inserts tc unless the topic exists; *out gets the resulting config.
 * Returns true when it was created. */
bool topics_create_if_absent(struct topic_table *t, const struct topic_config *tc,
                             struct topic_config *out);
/* Removes; true if it existed. */
bool topics_delete(struct topic_table *t, tern_bytes_t name);
size_t topics_count(struct topic_table *t);
/* Persists if dirty. Returns TERN_OK or -errno. */
int topics_persist(struct topic_table *t, bool force);
/* Appends the TopicConfigSerializeWrapper JSON (GET_ALL_TOPIC_CONFIG). */
void topics_encode_wrapper(struct topic_table *t, buf_t *out);
/* Copies every config into a new array (owned by caller, free()) for
 * registration; OUT: dv_counter, dv_ts receive the data version. */
struct topic_config *topics_snapshot(struct topic_table *t, size_t *n, int64_t *dv_counter,
                                     int64_t *dv_ts);
/* Appends the TopicConfig JSON of one topic. */
void topic_config_json(const struct topic_config *tc, buf_t *out);

/* "NORMAL", "FIFO", "DELAY", "TRANSACTION" ("UNSPECIFIED" for unset). */
const char *topic_msg_type_name(int type);
/* Parses a type name (case-insensitive) or an Open API orderType number (0,
 * 1, 2, 4, 5). *global_order is set for orderType 2 (FIFO, one queue).
 * Returns false when v is neither. */
bool topic_msg_type_parse(tern_bytes_t v, int *type, bool *global_order);

/* Topic name rules: letters, digits and %|_-, at most max_len bytes. */
bool topic_name_valid(tern_bytes_t name, size_t max_len);
/* True for the reserved topics producers may not send to (spec §4.B.1 step 3). */
bool topic_is_send_forbidden(tern_bytes_t name);
/* Fills tc with defaults for name (16/16 queues, perm 6). */
void topic_config_defaults(struct topic_config *tc, tern_bytes_t name);

#endif
