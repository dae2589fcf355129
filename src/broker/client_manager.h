/* SPDX-License-Identifier: Apache-2.0 */
/* client_manager.h: producer and consumer groups -> live channels (spec
 * §4.C.1-4.C.3, §8.3).
 *
 * A member is (group, rconn) with the client id, language and version seen
 * in its last heartbeat. Consumer groups also keep consumeType, messageModel,
 * consumeFromWhere and the subscription table (topic -> expression, tag
 * filter, subVersion). Members leave on UNREGISTER_CLIENT, on connection close
 * (on_close hook) or after channelExpiredTimeout without heartbeat. Any change
 * of a CLUSTERING group's members or subscriptions sends the oneway
 * NOTIFY_CONSUMER_IDS_CHANGED to every member (after the lock is released).
 * Threads: any (loops, housekeeping); everything guarded by lock. */
#ifndef TERN_BROKER_CLIENT_MANAGER_H
#define TERN_BROKER_CLIENT_MANAGER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "broker/filter.h"
#include "common/buf.h"
#include "common/bytes.h"
#include "common/strmap.h"
#include "protocol/heartbeat.h"

struct rconn;

struct client_manager {
    pthread_mutex_t lock;
    strmap_t consumers; /* guarded by lock: group -> struct cm_group* (owned) */
    strmap_t producers; /* guarded by lock: group -> struct cm_group* (owned) */
};

/* Who is calling, from the request header and the heartbeat body. */
struct cm_client {
    struct rconn *conn; /* borrowed; the manager takes its own reference */
    tern_bytes_t client_id;
    int language;
    int version;
};

/* A consumer subscription copied out for a pull. */
struct cm_sub_view {
    int64_t sub_version;
    bool is_sql92;
    int message_model;
    struct tag_filter filter;
};

void cm_init(struct client_manager *cm);
void cm_deinit(struct client_manager *cm);

/* Registers/refreshes a consumer member. notify_enabled is the group config's
 * notifyConsumerIdsChangedEnable. Returns true if membership or the
 * subscription table changed (notifications already sent). */
bool cm_consumer_heartbeat(struct client_manager *cm, const struct cm_client *cl,
                           const struct hb_consumer *c, bool notify_enabled, int64_t now_ms);
void cm_producer_heartbeat(struct client_manager *cm, const struct cm_client *cl,
                           tern_bytes_t group, int64_t now_ms);
/* Removes conn from the named groups (either may be empty). */
void cm_unregister(struct client_manager *cm, struct rconn *conn, tern_bytes_t producer_group,
                   tern_bytes_t consumer_group);
/* Removes conn from every group (connection closed). */
void cm_conn_closed(struct client_manager *cm, struct rconn *conn);
/* Drops members without a heartbeat since now_ms - expire_ms; closes their
 * connections. Returns how many were dropped. */
int cm_scan_expired(struct client_manager *cm, int64_t now_ms, int64_t expire_ms);

/* Appends {"consumerIdList":[...]}; returns the number of ids (0 = unknown
 * or empty group; nothing appended then). */
size_t cm_consumer_ids_json(struct client_manager *cm, tern_bytes_t group, buf_t *out);
/* Looks up the group's subscription for topic. Returns 0 found, 1 group
 * unknown, 2 topic not subscribed. */
int cm_find_subscription(struct client_manager *cm, tern_bytes_t group, tern_bytes_t topic,
                         struct cm_sub_view *out);
/* GET_CONSUMER_CONNECTION_LIST body; false if the group has no member. */
bool cm_consumer_connection_json(struct client_manager *cm, tern_bytes_t group, buf_t *out);
/* GET_PRODUCER_CONNECTION_LIST body; false if the group has no member. */
bool cm_producer_connection_json(struct client_manager *cm, tern_bytes_t group, buf_t *out);
/* Finds a live member connection among producers (or consumers) of group
 * (empty = every group) whose client id is client_id (empty = any member).
 * Returns a reference the caller releases with rconn_unref, or NULL;
 * *version (may be NULL) gets the member's protocol version. */
struct rconn *cm_find_conn(struct client_manager *cm, bool producers, tern_bytes_t group,
                           tern_bytes_t client_id, int *version);
/* Calls fn for each topic the consumer group subscribes to. */
void cm_each_subscribed_topic(struct client_manager *cm, tern_bytes_t group,
                              void (*fn)(void *arg, const char *topic), void *arg);

#endif
