/* SPDX-License-Identifier: Apache-2.0 */
/* broker_int.h: struct broker and the processors' shared helpers. Internal to
 * src/broker/.
 *
 * Threads: request handlers run on the remoting loop threads (never block:
 * no fsync, no network waits); the hold thread replays parked pulls; the
 * register thread talks to name servers; the housekeeping thread persists
 * configs and offsets and expires clients; the store's flush thread runs
 * SYNC_FLUSH completions. Each table carries its own lock. */
#ifndef TERN_BROKER_BROKER_INT_H
#define TERN_BROKER_BROKER_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "broker/acl_table.h"
#include "broker/broker.h"
#include "broker/client_manager.h"
#include "broker/group_config.h"
#include "broker/hold.h"
#include "broker/lock_table.h"
#include "broker/offsets.h"
#include "broker/stats.h"
#include "broker/timer.h"
#include "broker/topic_config.h"
#include "common/bytes.h"
#include "protocol/message.h"
#include "protocol/msgid.h"
#include "remoting/remoting.h"

struct store;
struct txn_service;
struct reset_table;
struct acl;

struct broker {
    struct broker_config cfg; /* owned copy; read-only after start */
    struct store *store;      /* owned */
    struct rserver *server;   /* owned */
    struct rserver *vip;      /* owned; may be NULL */
    struct rclient *ns;       /* owned: client for name servers */
    int port;
    char addr[80];              /* brokerIP1:port */
    char ha_addr[80];           /* brokerIP1:port+1 */
    struct msg_host store_host; /* brokerIP1:port as stored */
    struct uniq_gen uniq;
    int64_t boot_ms;
    size_t cluster_len; /* strlen(cfg.cluster_name), for the send path */

    struct topic_table topics;
    struct group_table groups;
    struct offset_table offsets;
    struct client_manager clients;
    struct hold_service hold;
    struct lock_table locks;
    struct timer_service timer; /* scheduled delivery (timer.h) */
    struct txn_service *txn;    /* owned (txn.c): half messages and checks */
    struct reset_table *resets; /* owned (reset_table.c): pending server-side resets */
    struct stats stats;         /* per-minute put/get counters (stats.h) */
    struct acl *acl;            /* owned (acl.c): file + admin keys; may be NULL */
    struct acl_slot acl_table;  /* the console's pushed rules (acl_table.h) */
    char *acl_table_path;       /* owned: <storePathRootDir>/config/acl.json */
    struct rtls *tls;           /* owned; NULL unless tlsMode is permissive/enforcing */
    int tls_mode;               /* enum rtls_mode in effect */

    /* Registration thread. */
    pthread_t reg_thread;
    bool reg_started;
    pthread_mutex_t reg_lock;
    pthread_cond_t reg_cond;
    bool reg_kick;     /* guarded by reg_lock */
    bool reg_stopping; /* guarded by reg_lock */

    /* Housekeeping thread. */
    pthread_t hk_thread;
    bool hk_started;
    pthread_mutex_t hk_lock;
    pthread_cond_t hk_cond;
    bool hk_stopping; /* guarded by hk_lock */

    atomic_bool stopping;    /* refuse new sends */
    atomic_long flush_waits; /* SYNC_FLUSH acks in flight */
    atomic_llong msgs_put;   /* stats */
    atomic_llong msgs_got;   /* stats */
};

/* Handlers (one per request family; table in processors.c). */
void proc_send(void *ctx, struct rreq *req);
void proc_pull(void *ctx, struct rreq *req);
void proc_query_message(void *ctx, struct rreq *req);
void proc_view_message(void *ctx, struct rreq *req);
void proc_heartbeat(void *ctx, struct rreq *req);
void proc_unregister_client(void *ctx, struct rreq *req);
void proc_consumer_list(void *ctx, struct rreq *req);
void proc_check_client_config(void *ctx, struct rreq *req);
void proc_lock_batch(void *ctx, struct rreq *req);
void proc_send_back(void *ctx, struct rreq *req);
void proc_unlock_batch(void *ctx, struct rreq *req);
void proc_query_offset(void *ctx, struct rreq *req);
void proc_update_offset(void *ctx, struct rreq *req);
void proc_max_offset(void *ctx, struct rreq *req);
void proc_min_offset(void *ctx, struct rreq *req);
void proc_search_offset(void *ctx, struct rreq *req);
void proc_earliest_time(void *ctx, struct rreq *req);
void proc_create_topic(void *ctx, struct rreq *req);
void proc_delete_topic(void *ctx, struct rreq *req);
void proc_all_topics(void *ctx, struct rreq *req);
void proc_create_group(void *ctx, struct rreq *req);
void proc_all_groups(void *ctx, struct rreq *req);
void proc_delete_group(void *ctx, struct rreq *req);
void proc_runtime_info(void *ctx, struct rreq *req);
void proc_topic_stats(void *ctx, struct rreq *req);
void proc_consume_stats(void *ctx, struct rreq *req);
void proc_consumer_connections(void *ctx, struct rreq *req);
void proc_producer_connections(void *ctx, struct rreq *req);
void proc_broker_config(void *ctx, struct rreq *req);
void proc_end_transaction(void *ctx, struct rreq *req);
void proc_reset_offset(void *ctx, struct rreq *req);
void proc_update_offset_guarded(void *ctx, struct rreq *req);
void proc_relay_to_consumer(void *ctx, struct rreq *req);
void proc_send_reply(void *ctx, struct rreq *req);
void proc_put_acl_table(void *ctx, struct rreq *req);
void proc_view_stats(void *ctx, struct rreq *req);
void proc_stats_minutes(void *ctx, struct rreq *req);

/* The dispatch table (processors.c). */
const struct rprocessor *broker_processors(size_t *n);
/* rserver pre_dispatch hook (acl_enforce.c), installed only with aclEnable. */
bool broker_acl_hook(void *ctx, struct rreq *req, const struct rprocessor *p);

/* aclEnable: loads the credentials file, aclAdminAccessKey and the last
 * pushed table (proc_acl.c). TERN_ECONFIG when none gives an account. */
int broker_acl_start(struct broker *b);

/* Replays a held pull (hold_replay_fn). */
void pull_replay(void *ctx, struct rreq *req);

/* ---- helpers shared by processors (proc_util.c) ---- */

/* Answers code + remark (printf) and frees req; oneway requests are freed
 * silently. */
void reply(struct rreq *req, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Reads a required string header; on absence answers INVALID_PARAMETER
 * naming the field and returns false. alt may be NULL (V2 key). */
bool need_str(struct rreq *req, const char *key, const char *alt, tern_bytes_t *out);
/* Reads a required integer header (answers INVALID_PARAMETER on error). */
bool need_i64(struct rreq *req, const char *key, const char *alt, int64_t *out);
bool need_i32(struct rreq *req, const char *key, const char *alt, int32_t *out);
/* Optional integer: dflt when absent or malformed. */
int64_t opt_i64(const struct rcmd *c, const char *key, const char *alt, int64_t dflt);
/* Ensures %RETRY%<group> exists (retry_queue_nums queues, perm RW);
 * registers with name servers when created. */
void broker_ensure_retry_topic(struct broker *b, tern_bytes_t group, int queues);
/* Creates a topic in the table; kicks registration if it changed. */
void broker_topic_changed(struct broker *b);
/* Wakes the housekeeping thread so changed topic/group tables reach disk now
 * (fsync happens there, never on a loop thread). Any thread. */
void broker_persist_soon(struct broker *b);
/* Store host / born host helpers. */
void host_from_sockaddr(const struct sockaddr_in *sa, struct msg_host *out);

#endif
