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
#include "common/bytes.h"

struct admin;

/* namesrv_addr is "host:port;host:port". OUT: *out (admin_free). */
int admin_new(const char *namesrv_addr, int timeout_ms, struct admin **out);
void admin_free(struct admin *a);
/* Signs every later request with this account (aclAdminAccessKey: an admin
 * of the brokers' access control). Call once, before the admin is shared. */
void admin_set_credentials(struct admin *a, const char *access_key, const char *secret_key);

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

/* ---- read access for the consumer, message and DLQ endpoints ------------ */

struct rcmd;

/* One master (brokerId 0) of a cluster; strings in the caller's arena. */
struct admin_broker {
    const char *name;
    const char *addr;
};

/* A broker's answer; every view is copied into the caller's arena. */
struct admin_field {
    tern_bytes_t key, val;
};
struct admin_reply {
    int code;                   /* remoting response code (0 = success) */
    tern_bytes_t remark;        /* in ar; may be empty */
    tern_bytes_t body;          /* in ar; may be empty */
    struct admin_field *fields; /* in ar: the response's extFields */
    size_t nfields;
};

/* Masters of cluster. OUT: *out (array of *n in ar, *n >= 1). */
int admin_brokers(struct admin *a, const char *cluster, arena_t *ar, struct admin_broker **out,
                  size_t *n, char *err, size_t errlen);
/* Sends req (consumed, deinit'ed here) to addr. TERN_OK when the broker
 * answered, whatever its code; OUT: *out. */
int admin_request(struct admin *a, const char *addr, struct rcmd *req, arena_t *ar,
                  struct admin_reply *out, char *err, size_t errlen);
/* An extField of a reply, or TERN_BYTES_NULL. */
tern_bytes_t admin_reply_field(const struct admin_reply *r, const char *key);

/* PULL_MESSAGE (11) of at most max records from (topic, qid) at offset, as
 * the tools group (no hold, no commit, all tags): what any group would see,
 * without touching a real group's offsets or pending resets. OUT: *records
 * (raw stored records, in ar, possibly empty) and *next (the next offset). */
int admin_pull(struct admin *a, const char *addr, const char *topic, int qid, int64_t offset,
               int max, arena_t *ar, tern_bytes_t *records, int64_t *next, char *err,
               size_t errlen);

#endif
