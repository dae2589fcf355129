/* SPDX-License-Identifier: Apache-2.0 */
/* admin.h: the one admin code path that applies topic and group changes to
 * the brokers of a cluster (reusable by a CLI; it knows nothing of HTTP or
 * the metadata database).
 *
 * Brokers are found with GET_BROKER_CLUSTER_INFO (106) at the name servers;
 * every master (brokerId 0) of the cluster gets UPDATE_AND_CREATE_TOPIC (17,
 * with the message.type attribute), DELETE_TOPIC_IN_BROKER (215),
 * UPDATE_AND_CREATE_SUBSCRIPTIONGROUP (200) or DELETE_SUBSCRIPTIONGROUP
 * (207); topic deletion also tells the name servers (216). Names are physical
 * (already "<instanceId>%<name>" for a namespaced instance).
 *
 * Calls block the calling thread (never a remoting loop thread) for at most
 * a few timeouts. Any thread; the struct is immutable after admin_new. Every
 * call failing returns a tern error and a sentence in err. */
#ifndef TERN_OPENAPI_ADMIN_H
#define TERN_OPENAPI_ADMIN_H

#include <stdbool.h>
#include <stddef.h>

#include "common/arena.h"

struct admin;

/* namesrv_addr is "host:port;host:port". OUT: *out (admin_free). */
int admin_new(const char *namesrv_addr, int timeout_ms, struct admin **out);
void admin_free(struct admin *a);

/* Names of the clusters the name servers know. OUT: *names, an array of n
 * strings in ar. */
int admin_list_clusters(struct admin *a, arena_t *ar, const char ***names, size_t *n, char *err,
                        size_t errlen);

/* Creates or updates topic on every master of cluster. order_type is the
 * Open API message type (0, 1, 2, 4, 5); a globally ordered topic (2) gets one
 * queue per broker, the others queue_nums. perm is 2, 4 or 6. */
int admin_topic_apply(struct admin *a, const char *cluster, const char *topic, int order_type,
                      int perm, int queue_nums, char *err, size_t errlen);
/* Deletes topic from every master of cluster and from the name servers. */
int admin_topic_delete(struct admin *a, const char *cluster, const char *topic, char *err,
                       size_t errlen);
/* Creates or updates the subscription group (consumeEnable = read_enable). */
int admin_group_apply(struct admin *a, const char *cluster, const char *group, bool read_enable,
                      char *err, size_t errlen);
/* Deletes the group with its offsets, and its %RETRY% and %DLQ% topics. */
int admin_group_delete(struct admin *a, const char *cluster, const char *group, char *err,
                       size_t errlen);

#endif
