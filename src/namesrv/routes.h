/* SPDX-License-Identifier: Apache-2.0 */
/* routes.h: the name server's route table (RocketMQ's RouteInfoManager):
 * topic -> queue data per broker name, broker name -> addresses by id,
 * cluster -> broker names, and the broker liveness table keyed by address.
 *
 * Thread-safe: one rwlock guards every table; readers (route queries) share
 * it, registration, expiry and connection-close take it exclusively. Names
 * passed in are views, copied when stored. Times are monotonic milliseconds
 * supplied by the caller (tests pass their own). Design: docs/design/namesrv.md. */
#ifndef TERN_NAMESRV_ROUTES_H
#define TERN_NAMESRV_ROUTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/bytes.h"
#include "protocol/route.h"

struct routes;

/* One REGISTER_BROKER request, already validated. All views borrowed for the call. */
struct routes_register_req {
    tern_bytes_t cluster;
    tern_bytes_t broker_name;
    tern_bytes_t broker_addr;
    tern_bytes_t ha_addr;
    tern_bytes_t zone_name; /* ptr NULL = absent */
    int64_t broker_id;
    int64_t timeout_ms; /* liveness timeout for this broker */
    bool enable_acting_master;
    uint64_t conn_id;                       /* registering connection (rconn_id) */
    const struct route_register_body *body; /* borrowed */
};

/* What a slave learns about its master. Strings owned: routes_result_deinit(). */
struct routes_register_result {
    char *master_addr; /* NULL unless a slave and the master is alive */
    char *ha_addr;     /* the master's HA address, with master_addr */
};

int routes_new(struct routes **out);
/* NULL is a no-op. */
void routes_free(struct routes *r);

/* Applies a registration (spec §4.A.1 steps 2-4). OUT: *res (always set). */
void routes_register(struct routes *r, const struct routes_register_req *req, int64_t now_ms,
                     struct routes_register_result *res);
void routes_result_deinit(struct routes_register_result *res);
/* UNREGISTER_BROKER: drops the liveness entry and the id; when the broker
 * name has no address left, also its queue data and cluster membership. */
void routes_unregister(struct routes *r, tern_bytes_t cluster, tern_bytes_t broker_addr,
                       tern_bytes_t broker_name, int64_t broker_id);
/* Refreshes the liveness of a registered address. false if it is unknown. */
bool routes_heartbeat(struct routes *r, tern_bytes_t broker_addr, int64_t now_ms);
/* QUERY_DATA_VERSION: returns whether dv differs from the stored version (or
 * none is stored); refreshes liveness when it does not. OUT: *stored and
 * *has_stored, the stored version. */
bool routes_query_data_version(struct routes *r, tern_bytes_t broker_addr,
                               const struct route_data_version *dv, int64_t now_ms,
                               struct route_data_version *stored, bool *has_stored);
/* Removes every broker address silent for longer than its timeout; returns
 * how many were removed. */
size_t routes_expire(struct routes *r, int64_t now_ms);
/* Removes every broker address registered over connection conn_id. */
size_t routes_conn_closed(struct routes *r, uint64_t conn_id);

/* Appends TopicRouteData for topic to out. TERN_ENOT_FOUND (out unchanged)
 * when the topic has no queue data or none of its brokers is known. */
int routes_encode_topic_route(struct routes *r, tern_bytes_t topic, buf_t *out);
void routes_encode_cluster_info(struct routes *r, buf_t *out);
/* TopicList of every topic with queue data. */
void routes_encode_all_topics(struct routes *r, buf_t *out);
/* TopicList of topics hosted by brokers of cluster (empty if unknown). */
void routes_encode_cluster_topics(struct routes *r, tern_bytes_t cluster, buf_t *out);
/* TopicList of cluster and broker names (the topics brokers create for
 * themselves), with brokerAddr set to some broker's address. */
void routes_encode_system_topics(struct routes *r, buf_t *out);

/* DELETE_TOPIC_IN_NAMESRV: cluster.ptr NULL = every broker. */
void routes_delete_topic(struct routes *r, tern_bytes_t topic, tern_bytes_t cluster);
/* REGISTER_TOPIC_IN_NAMESRV: sets queue data of the listed (known) brokers.
 * Returns how many entries were applied. */
size_t routes_register_topic(struct routes *r, tern_bytes_t topic,
                             const struct route_queue_data *queues, size_t n);
/* Clears (on=false) or sets PERM_WRITE on every queue data of broker_name;
 * returns the number of topics touched. */
int routes_set_write_perm(struct routes *r, tern_bytes_t broker_name, bool on);

#endif
