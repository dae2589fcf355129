/* SPDX-License-Identifier: Apache-2.0 */
/* route.h: JSON models of the name-server bodies (spec §6): TopicRouteData,
 * ClusterInfo, TopicList, KVTable, DataVersion and RegisterBrokerBody.
 *
 * Encoders append standard, compact JSON (quoted brokerAddrs keys, no
 * orderTopicConf, "filterServerTable":{}) in the given order. Decoders are
 * lenient about fastjson quirks (unquoted integer keys, numbers as strings,
 * missing optional members) and strict about types; every string they return
 * is a NUL-terminated copy in the caller's arena, valid until arena_deinit.
 * Every decoder returns TERN_ENOMEM when the arena cannot grow.
 * Pure functions, any thread. Design: docs/design/namesrv.md. */
#ifndef TERN_PROTOCOL_ROUTE_H
#define TERN_PROTOCOL_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/bytes.h"

/* Longest broker/cluster/topic name or address a decoder accepts. Java caps
 * topics at 127 bytes, but %RETRY%/%DLQ% names of long groups exceed it. */
#define ROUTE_MAX_NAME_BYTES 255
/* Largest decompressed RegisterBrokerBody (compressed form, spec §6.3). */
#define ROUTE_MAX_INFLATED_BYTES (16 * 1024 * 1024)

/* Permission bits (spec §6.5). */
#define ROUTE_PERM_PRIORITY 8
#define ROUTE_PERM_READ     4
#define ROUTE_PERM_WRITE    2
#define ROUTE_PERM_INHERIT  1

struct route_data_version {
    int64_t counter;
    int64_t state_version;
    int64_t timestamp;
};

/* One TopicConfig of a broker. Strings are borrowed (encoder input) or
 * arena copies (decoder output). */
struct route_topic_config {
    const char *name;
    int read_queue_nums;
    int write_queue_nums;
    int perm;
    int topic_sys_flag;
    bool order;
    const char *filter_type /* "SINGLE_TAG" */;
};

/* QueueData: one broker name hosting a topic. */
struct route_queue_data {
    const char *broker_name;
    int read_queue_nums;
    int write_queue_nums;
    int perm;
    int topic_sys_flag;
};

struct route_broker_addr {
    int64_t id; /* 0 = master */
    const char *addr;
};

/* BrokerData. */
struct route_broker_data {
    const char *cluster;
    const char *broker_name;
    size_t naddrs;
    const struct route_broker_addr *addrs; /* borrowed / arena */
    bool enable_acting_master;
    const char *zone_name; /* NULL = absent */
};

/* TopicRouteData (body of GET_ROUTEINFO_BY_TOPIC). */
struct route_topic_route {
    size_t nqueues;
    const struct route_queue_data *queues; /* borrowed / arena */
    size_t nbrokers;
    const struct route_broker_data *brokers; /* borrowed / arena */
    const char *order_topic_conf;            /* decoder only; NULL = absent */
};

/* One cluster of ClusterInfo: its broker names. */
struct route_cluster {
    const char *name;
    size_t nbrokers;
    const char *const *broker_names; /* borrowed */
};

/* Decoded RegisterBrokerBody (or a bare TopicConfigSerializeWrapper). */
struct route_register_body {
    struct route_data_version data_version;
    size_t ntopics;
    struct route_topic_config *topics; /* arena */
};

/* ---- encoders (append to out) ---- */

void route_encode_data_version(buf_t *out, const struct route_data_version *dv);
/* {"brokerDatas":[...],"filterServerTable":{},"queueDatas":[...]} */
void route_encode_topic_route(buf_t *out, const struct route_topic_route *r);
/* {"brokerAddrTable":{name:BrokerData,...},"clusterAddrTable":{cluster:[names]}} */
void route_encode_cluster_info(buf_t *out, const struct route_broker_data *brokers, size_t nbrokers,
                               const struct route_cluster *clusters, size_t nclusters);
/* {"brokerAddr":...,"topicList":[...]}; broker_addr NULL = omitted. */
void route_encode_topic_list(buf_t *out, const char *const *topics, size_t n,
                             const char *broker_addr);
/* {"table":{"k":"v",...}} */
void route_encode_kv_table(buf_t *out, const char *const *keys, const char *const *vals, size_t n);
/* Appends a RegisterBrokerBody JSON (spec §6.3, uncompressed) to out. */
void route_encode_register_body(buf_t *out, const struct route_topic_config *topics, size_t n,
                                int64_t data_version_counter, int64_t data_version_ts);

/* ---- decoders ---- */

/* Parses a DataVersion object. Missing members are 0. TERN_EPROTOCOL on
 * malformed JSON or wrong types. */
int route_decode_data_version(tern_bytes_t text, arena_t *a, struct route_data_version *out);
/* Parses TopicRouteData. Missing arrays are empty. OUT: *out (arena). Errors:
 * TERN_EPROTOCOL (syntax, types, bad broker id, name over the limit),
 * TERN_ETOO_LARGE (nesting). */
int route_decode_topic_route(tern_bytes_t text, arena_t *a, struct route_topic_route *out);
/* Parses an uncompressed RegisterBrokerBody, or a bare
 * TopicConfigSerializeWrapper (brokers before V3_0_11). An empty body (or
 * only whitespace) yields no topics. Topic names come from topicName, or the
 * map key when absent; missing numbers get Java's TopicConfig defaults
 * (16/16 queues, perm 6). Errors as route_decode_topic_route, plus
 * TERN_EPROTOCOL for queue counts outside 0..TERN_MAX_QUEUES_PER_TOPIC. */
int route_decode_register_body(tern_bytes_t body, arena_t *a, struct route_register_body *out);
/* Parses the compressed form (header compressed=true): a zlib stream of
 * length-prefixed sections (spec §6.3). TERN_ETOO_LARGE past
 * ROUTE_MAX_INFLATED_BYTES, TERN_EPROTOCOL on any malformed part. */
int route_decode_register_body_compressed(tern_bytes_t body, arena_t *a,
                                          struct route_register_body *out);

#endif
