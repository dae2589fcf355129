/* SPDX-License-Identifier: Apache-2.0 */
/* ons/ons.h: the Tern C SDK (libons), the C binding of spec/sdk.md §15.
 *
 * Conventions (spec §15.1):
 *  - Every fallible function takes `ons_exception_t **ex` last (may be NULL).
 *    On failure it returns -1 (NULL for constructors and factories) and, when
 *    ex is not NULL, stores a new exception the caller frees with
 *    ons_exception_free(). On success *ex is left untouched.
 *  - Strings passed in are copied. Strings returned are owned by the object
 *    and valid until it is modified or freed, unless a function says the
 *    caller frees.
 *  - Client objects (producers, consumers) are thread-safe. Messages are not
 *    (one owner at a time). Messages given to listeners belong to the SDK and
 *    are valid only during the callback (ons_message_clone() keeps one).
 *  - The SDK never aborts its host on out-of-memory; it reports it as an
 *    exception (category ONS_ERR_GENERIC, message "out of memory") or returns
 *    NULL from constructors that take no `ex`.
 *  - Callbacks (send callbacks, listeners, executers, checkers) run on SDK
 *    threads, never inside the call that registered them.
 *
 * Guide: docs/sdk.md. Design: docs/design/client.md. */
#ifndef ONS_ONS_H
#define ONS_ONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "version.h"

#if defined(__GNUC__) || defined(__clang__)
#define ONS_EXPORT __attribute__((visibility("default")))
#else
#define ONS_EXPORT
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- version ------------------------------------------------------------ */

/* ONS_VERSION_HEX of the library actually linked. */
ONS_EXPORT unsigned ons_version(void);
/* "0.1.0" of the library actually linked (static storage). */
ONS_EXPORT const char *ons_version_string(void);
/* True when the linked library can serve a program built against
 * header_version (same major, library minor/patch not older). */
ONS_EXPORT bool ons_check_compat(unsigned header_version);

/* ---- logging ------------------------------------------------------------ */

typedef enum {
    ONS_LOG_DEBUG = 0,
    ONS_LOG_INFO = 1,
    ONS_LOG_WARN = 2,
    ONS_LOG_ERROR = 3
} ons_log_level_t;
/* Receives the SDK's log lines (one call per line, any SDK thread). */
typedef void (*ons_log_fn)(ons_log_level_t level, const char *line, void *user);
/* Installs a process-wide log sink; NULL (the default) discards SDK logs.
 * Lines below min_level are not formatted. */
ONS_EXPORT void ons_set_log_callback(ons_log_fn fn, ons_log_level_t min_level, void *user);

/* ---- exceptions (spec §8, §15.2) --------------------------------------- */

typedef enum {
    ONS_ERR_GENERIC = 0,
    ONS_ERR_ILLEGAL_ARGUMENT = 1,
    ONS_ERR_NULL_POINTER = 2,
    ONS_ERR_ILLEGAL_STATE = 3,
    ONS_ERR_TIMEOUT = 4,
    ONS_ERR_NETWORK = 5,
    ONS_ERR_AUTH = 6,
    ONS_ERR_NO_PERMISSION = 7,
    ONS_ERR_TOPIC_NOT_EXIST = 8,
    ONS_ERR_MESSAGE_ILLEGAL = 9,
    ONS_ERR_FLOW_CONTROL = 10,
    ONS_ERR_BROKER = 11,
    ONS_ERR_NOT_SUPPORTED = 12 /* extension: the function is not implemented yet */
} ons_error_category_t;

typedef struct ons_exception ons_exception_t;

/* Constructors return NULL only when out of memory. */
ONS_EXPORT ons_exception_t *ons_exception_new(void);
ONS_EXPORT ons_exception_t *ons_exception_new_message(const char *message);
/* Takes ownership of cause (freed with the new exception, or at once if
 * allocation fails). */
ONS_EXPORT ons_exception_t *ons_exception_new_cause(ons_exception_t *cause);
ONS_EXPORT ons_exception_t *ons_exception_new_message_cause(const char *message,
                                                            ons_exception_t *cause);
/* NULL for the no-argument form; the cause's message for the cause-only form. */
ONS_EXPORT const char *ons_exception_message(const ons_exception_t *ex);
/* Borrowed from ex; NULL when there is none. */
ONS_EXPORT const ons_exception_t *ons_exception_cause(const ons_exception_t *ex);
ONS_EXPORT ons_error_category_t ons_exception_category(const ons_exception_t *ex);
/* Server response code, -1 if the error did not come from a server. */
ONS_EXPORT int ons_exception_response_code(const ons_exception_t *ex);
/* Server remark (NULL if none). */
ONS_EXPORT const char *ons_exception_remark(const ons_exception_t *ex);
/* "ILLEGAL_ARGUMENT", ... (static storage). */
ONS_EXPORT const char *ons_error_category_name(ons_error_category_t c);
/* Frees ex and its cause chain. NULL is a no-op. */
ONS_EXPORT void ons_exception_free(ons_exception_t *ex);

/* ---- properties (spec §5, §15.3) ---------------------------------------- */

#define ONS_ACCESS_KEY                     "AccessKey"
#define ONS_SECRET_KEY                     "SecretKey"
#define ONS_CHANNEL                        "OnsChannel"
#define ONS_NAMESRV_ADDR                   "NAMESRV_ADDR"
#define ONS_GROUP_ID                       "GROUP_ID"
#define ONS_PRODUCER_ID                    "ProducerId"
#define ONS_CONSUMER_ID                    "ConsumerId"
#define ONS_ADDR                           "ONSAddr"
#define ONS_MESSAGE_MODEL                  "MessageModel"
#define ONS_CONSUME_THREAD_NUMS            "ConsumeThreadNums"
#define ONS_MAX_RECONSUME_TIMES            "MaxReconsumeTimes"
#define ONS_CONSUME_TIMEOUT                "ConsumeTimeout"
#define ONS_CONSUME_MESSAGE_BATCH_MAX_SIZE "ConsumeMessageBatchMaxSize"
#define ONS_CHECK_IMMUNITY_TIME_IN_SECONDS "CheckImmunityTimeInSeconds"
#define ONS_SHARDING_KEY                   "shardingKey"
#define ONS_SUSPEND_TIME_MILLIS            "suspendTimeMillis"
#define ONS_SEND_MSG_TIMEOUT_MILLIS        "SendMsgTimeoutMillis"
#define ONS_INSTANCE_ID                    "INSTANCE_ID"
#define ONS_TLS_ENABLE                     "tls.enable"
/* Extension: directory of broadcasting consumers' offset files
 * (default $HOME/.rocketmq_offsets). */
#define ONS_LOCAL_OFFSET_STORE_DIR "rocketmq.client.localOffsetStoreDir"
/* Extension: ConsumeTimeout in milliseconds (100-86400000); when set it
 * replaces ConsumeTimeout (minutes). Meant for tests and short jobs. */
#define ONS_CONSUME_TIMEOUT_MILLIS "rocketmq.client.consumeTimeoutMillis"

#define ONS_CLUSTERING     "CLUSTERING"
#define ONS_BROADCASTING   "BROADCASTING"
#define ONS_CHANNEL_ALIYUN "ALIYUN"
#define ONS_CHANNEL_CLOUD  "CLOUD"

typedef struct ons_properties ons_properties_t;
/* NULL when out of memory. */
ONS_EXPORT ons_properties_t *ons_properties_new(void);
/* Adds or replaces (keys compare case-insensitively; the latest spelling is
 * kept). A NULL value removes the key. Returns 0, or -1 on NULL p/key or out
 * of memory. */
ONS_EXPORT int ons_properties_put(ons_properties_t *p, const char *key, const char *value);
/* Case-insensitive lookup; NULL when absent. */
ONS_EXPORT const char *ons_properties_get(const ons_properties_t *p, const char *key);
ONS_EXPORT void ons_properties_free(ons_properties_t *p);

/* ---- message (spec §7, §15.4) ------------------------------------------- */

typedef struct ons_message ons_message_t;
/* Constructors return NULL only when out of memory. body may be NULL when
 * body_len is 0. */
ONS_EXPORT ons_message_t *ons_message_new(void);
ONS_EXPORT ons_message_t *ons_message_new_with_key(const char *topic, const char *tag,
                                                   const char *key, const void *body,
                                                   size_t body_len);
ONS_EXPORT ons_message_t *ons_message_new_with_tag(const char *topic, const char *tag,
                                                   const void *body, size_t body_len);
ONS_EXPORT ons_message_t *ons_message_clone(const ons_message_t *m);
ONS_EXPORT void ons_message_free(ons_message_t *m);

/* Fails (ONS_ERR_ILLEGAL_ARGUMENT) for a reserved name (system property or a
 * name starting with "__") or a name/value containing U+0001/U+0002. */
ONS_EXPORT int ons_message_put_user_properties(ons_message_t *m, const char *key, const char *value,
                                               ons_exception_t **ex);
ONS_EXPORT const char *ons_message_get_user_properties(const ons_message_t *m, const char *key);
ONS_EXPORT size_t ons_message_user_properties_count(const ons_message_t *m);
/* OUT: *key, *value (borrowed from m). Returns -1 when i is out of range. */
ONS_EXPORT int ons_message_user_property_at(const ons_message_t *m, size_t i, const char **key,
                                            const char **value);

/* Setters return 0, or -1 on a NULL message or out of memory. NULL strings
 * clear the field. Getters return NULL for an unset string. */
ONS_EXPORT const char *ons_message_get_topic(const ons_message_t *m);
ONS_EXPORT int ons_message_set_topic(ons_message_t *m, const char *topic);
ONS_EXPORT const char *ons_message_get_tag(const ons_message_t *m);
ONS_EXPORT int ons_message_set_tag(ons_message_t *m, const char *tag);
ONS_EXPORT const char *ons_message_get_key(const ons_message_t *m);
ONS_EXPORT int ons_message_set_key(ons_message_t *m, const char *key);
ONS_EXPORT const char *ons_message_get_msg_id(const ons_message_t *m);
ONS_EXPORT int ons_message_set_msg_id(ons_message_t *m, const char *id);
ONS_EXPORT int ons_message_get_reconsume_times(const ons_message_t *m);
ONS_EXPORT int ons_message_set_reconsume_times(ons_message_t *m, int v);
ONS_EXPORT int64_t ons_message_get_born_timestamp(const ons_message_t *m);
ONS_EXPORT int ons_message_set_born_timestamp(ons_message_t *m, int64_t v);
ONS_EXPORT const char *ons_message_get_born_host(const ons_message_t *m);
ONS_EXPORT int ons_message_set_born_host(ons_message_t *m, const char *v);
ONS_EXPORT int64_t ons_message_get_start_deliver_time(const ons_message_t *m);
ONS_EXPORT int ons_message_set_start_deliver_time(ons_message_t *m, int64_t v);
ONS_EXPORT const char *ons_message_get_sharding_key(const ons_message_t *m);
ONS_EXPORT int ons_message_set_sharding_key(ons_message_t *m, const char *v);
/* Borrowed from m; OUT: *len (may be NULL). */
ONS_EXPORT const void *ons_message_get_body(const ons_message_t *m, size_t *len);
ONS_EXPORT int ons_message_set_body(ons_message_t *m, const void *body, size_t len);

/* ---- send results and callbacks (spec §9.2, §9.4) ----------------------- */

typedef struct ons_send_result ons_send_result_t;
ONS_EXPORT ons_send_result_t *ons_send_result_new(void);
ONS_EXPORT const char *ons_send_result_get_message_id(const ons_send_result_t *r);
ONS_EXPORT const char *ons_send_result_get_topic(const ons_send_result_t *r);
/* "SendResult[topic=<topic>, messageId=<id>]"; caller frees with free(). */
ONS_EXPORT char *ons_send_result_to_string(const ons_send_result_t *r);
ONS_EXPORT void ons_send_result_free(ons_send_result_t *r);

typedef struct {
    const char *message_id; /* may be "" */
    const char *topic;
    const ons_exception_t *exception;
} ons_on_exception_context_t;

/* Exactly one of the two functions runs, once, on an SDK thread. The result
 * and context are valid only during the call. */
typedef struct {
    void (*on_success)(const ons_send_result_t *result, void *user);
    void (*on_exception)(const ons_on_exception_context_t *ctx, void *user);
    void *user;
} ons_send_callback_t;

/* ---- producers (spec §9, §15.5) ----------------------------------------- */

typedef struct ons_producer ons_producer_t;
/* Returns a new producer in the created state; NULL + *ex on bad properties. */
ONS_EXPORT ons_producer_t *ons_factory_create_producer(const ons_properties_t *p,
                                                       ons_exception_t **ex);
ONS_EXPORT int ons_producer_start(ons_producer_t *pr, ons_exception_t **ex);
/* Idempotent; waits up to SendMsgTimeoutMillis for pending async sends. */
ONS_EXPORT void ons_producer_shutdown(ons_producer_t *pr);
ONS_EXPORT bool ons_producer_is_started(const ons_producer_t *pr);
ONS_EXPORT bool ons_producer_is_closed(const ons_producer_t *pr);
/* Synchronous send. OUT: *result (caller frees with ons_send_result_free);
 * result may be NULL when the caller does not need it. */
ONS_EXPORT int ons_producer_send(ons_producer_t *pr, const ons_message_t *m,
                                 ons_send_result_t **result, ons_exception_t **ex);
/* Fire and forget: only local validation/state errors are reported. */
ONS_EXPORT int ons_producer_send_oneway(ons_producer_t *pr, const ons_message_t *m,
                                        ons_exception_t **ex);
/* Returns after validation (the message is copied). If it returns -1 the
 * callback never runs; otherwise it runs exactly once on an SDK thread. */
ONS_EXPORT int ons_producer_send_async(ons_producer_t *pr, const ons_message_t *m,
                                       const ons_send_callback_t *cb, ons_exception_t **ex);
/* Shuts down if needed, then frees. NULL is a no-op. */
ONS_EXPORT void ons_producer_destroy(ons_producer_t *pr);

typedef enum {
    ONS_COMMIT_TRANSACTION = 1,
    ONS_ROLLBACK_TRANSACTION = 2,
    ONS_UNKNOW = 3
} ons_transaction_status_t;
typedef ons_transaction_status_t (*ons_local_transaction_executer_fn)(const ons_message_t *msg,
                                                                      void *arg);
typedef ons_transaction_status_t (*ons_local_transaction_checker_fn)(const ons_message_t *msg,
                                                                     void *user);

/* Transaction producers (spec §9.5): send() stores a half message, runs the
 * executer on the calling thread, then commits/rolls back. The checker
 * (required; NULL -> ONS_ERR_NULL_POINTER) answers the broker's check-backs
 * on an SDK thread. Executer/checker values outside the enumeration count as
 * ONS_UNKNOW. Scheduled messages are refused (ONS_ERR_ILLEGAL_ARGUMENT). */
typedef struct ons_transaction_producer ons_transaction_producer_t;
ONS_EXPORT ons_transaction_producer_t *
ons_factory_create_transaction_producer(const ons_properties_t *p,
                                        ons_local_transaction_checker_fn checker,
                                        void *checker_user, ons_exception_t **ex);
ONS_EXPORT int ons_transaction_producer_start(ons_transaction_producer_t *tp, ons_exception_t **ex);
ONS_EXPORT void ons_transaction_producer_shutdown(ons_transaction_producer_t *tp);
ONS_EXPORT bool ons_transaction_producer_is_started(const ons_transaction_producer_t *tp);
ONS_EXPORT bool ons_transaction_producer_is_closed(const ons_transaction_producer_t *tp);
ONS_EXPORT int ons_transaction_producer_send(ons_transaction_producer_t *tp, const ons_message_t *m,
                                             ons_local_transaction_executer_fn executer, void *arg,
                                             ons_send_result_t **result, ons_exception_t **ex);
ONS_EXPORT void ons_transaction_producer_destroy(ons_transaction_producer_t *tp);

typedef struct ons_order_producer ons_order_producer_t;
ONS_EXPORT ons_order_producer_t *ons_factory_create_order_producer(const ons_properties_t *p,
                                                                   ons_exception_t **ex);
ONS_EXPORT int ons_order_producer_start(ons_order_producer_t *op, ons_exception_t **ex);
ONS_EXPORT void ons_order_producer_shutdown(ons_order_producer_t *op);
ONS_EXPORT bool ons_order_producer_is_started(const ons_order_producer_t *op);
ONS_EXPORT bool ons_order_producer_is_closed(const ons_order_producer_t *op);
/* sharding_key NULL/"" means the factory's shardingKey property. Never
 * retried on another queue. OUT: *result as for ons_producer_send. */
ONS_EXPORT int ons_order_producer_send(ons_order_producer_t *op, const ons_message_t *m,
                                       const char *sharding_key, ons_send_result_t **result,
                                       ons_exception_t **ex);
ONS_EXPORT void ons_order_producer_destroy(ons_order_producer_t *op);

/* ---- consumers (spec §11, §15.6) ---------------------------------------- */

typedef enum { ONS_ACTION_COMMIT_MESSAGE = 1, ONS_ACTION_RECONSUME_LATER = 2 } ons_action_t;
typedef enum { ONS_ORDER_ACTION_SUCCESS = 1, ONS_ORDER_ACTION_SUSPEND = 2 } ons_order_action_t;
typedef struct ons_consume_context ons_consume_context_t;             /* opaque */
typedef struct ons_consume_order_context ons_consume_order_context_t; /* opaque */

/* Listeners run concurrently on up to ConsumeThreadNums SDK threads. Any
 * return value outside the enumeration (including 0) means ReconsumeLater
 * (Suspend for ordered listeners). */
typedef ons_action_t (*ons_message_listener_fn)(const ons_message_t *msg,
                                                ons_consume_context_t *ctx, void *user);
typedef ons_order_action_t (*ons_message_order_listener_fn)(const ons_message_t *msg,
                                                            ons_consume_order_context_t *ctx,
                                                            void *user);
typedef ons_action_t (*ons_batch_message_listener_fn)(const ons_message_t *const *msgs,
                                                      size_t count, ons_consume_context_t *ctx,
                                                      void *user);

typedef struct ons_consumer ons_consumer_t;
ONS_EXPORT ons_consumer_t *ons_factory_create_consumer(const ons_properties_t *p,
                                                       ons_exception_t **ex);
/* sub_expression NULL, "" or "*" = all; "a || b" = tags a or b. Subscribing
 * again replaces the expression and listener. Allowed before and after
 * start (takes effect at once). */
ONS_EXPORT int ons_consumer_subscribe(ons_consumer_t *c, const char *topic,
                                      const char *sub_expression, ons_message_listener_fn listener,
                                      void *user, ons_exception_t **ex);
/* A topic not subscribed is a no-op. */
ONS_EXPORT int ons_consumer_unsubscribe(ons_consumer_t *c, const char *topic, ons_exception_t **ex);
ONS_EXPORT int ons_consumer_start(ons_consumer_t *c, ons_exception_t **ex);
/* Idempotent: stops fetching, waits for running listeners (bounded by
 * ConsumeTimeout), commits offsets, unregisters. */
ONS_EXPORT void ons_consumer_shutdown(ons_consumer_t *c);
ONS_EXPORT bool ons_consumer_is_started(const ons_consumer_t *c);
ONS_EXPORT bool ons_consumer_is_closed(const ons_consumer_t *c);
ONS_EXPORT void ons_consumer_destroy(ons_consumer_t *c);

/* Ordered consumers: one message at a time per queue, under the broker's
 * queue lock (renewed while held); ONS_ORDER_ACTION_SUSPEND retries the same
 * message after SuspendTimeMillis. */
typedef struct ons_order_consumer ons_order_consumer_t;
ONS_EXPORT ons_order_consumer_t *ons_factory_create_ordered_consumer(const ons_properties_t *p,
                                                                     ons_exception_t **ex);
ONS_EXPORT int ons_order_consumer_subscribe(ons_order_consumer_t *c, const char *topic,
                                            const char *sub_expression,
                                            ons_message_order_listener_fn listener, void *user,
                                            ons_exception_t **ex);
ONS_EXPORT int ons_order_consumer_unsubscribe(ons_order_consumer_t *c, const char *topic,
                                              ons_exception_t **ex);
ONS_EXPORT int ons_order_consumer_start(ons_order_consumer_t *c, ons_exception_t **ex);
ONS_EXPORT void ons_order_consumer_shutdown(ons_order_consumer_t *c);
ONS_EXPORT bool ons_order_consumer_is_started(const ons_order_consumer_t *c);
ONS_EXPORT bool ons_order_consumer_is_closed(const ons_order_consumer_t *c);
ONS_EXPORT void ons_order_consumer_destroy(ons_order_consumer_t *c);

/* Batch consumers: up to ConsumeMessageBatchMaxSize messages of one queue
 * per call. */
typedef struct ons_batch_consumer ons_batch_consumer_t;
ONS_EXPORT ons_batch_consumer_t *ons_factory_create_batch_consumer(const ons_properties_t *p,
                                                                   ons_exception_t **ex);
ONS_EXPORT int ons_batch_consumer_subscribe(ons_batch_consumer_t *c, const char *topic,
                                            const char *sub_expression,
                                            ons_batch_message_listener_fn listener, void *user,
                                            ons_exception_t **ex);
ONS_EXPORT int ons_batch_consumer_unsubscribe(ons_batch_consumer_t *c, const char *topic,
                                              ons_exception_t **ex);
ONS_EXPORT int ons_batch_consumer_start(ons_batch_consumer_t *c, ons_exception_t **ex);
ONS_EXPORT void ons_batch_consumer_shutdown(ons_batch_consumer_t *c);
ONS_EXPORT bool ons_batch_consumer_is_started(const ons_batch_consumer_t *c);
ONS_EXPORT bool ons_batch_consumer_is_closed(const ons_batch_consumer_t *c);
ONS_EXPORT void ons_batch_consumer_destroy(ons_batch_consumer_t *c);

/* ---- enumeration helpers (Java valueOf/values) -------------------------- */

/* Exact, case-sensitive names. Unknown -> ONS_ERR_ILLEGAL_ARGUMENT, NULL ->
 * ONS_ERR_NULL_POINTER. */
ONS_EXPORT int ons_action_value_of(const char *name, ons_action_t *out, ons_exception_t **ex);
/* Static array {COMMIT_MESSAGE, RECONSUME_LATER}; OUT: *count. */
ONS_EXPORT const ons_action_t *ons_action_values(size_t *count);
/* "CommitMessage" / "ReconsumeLater"; NULL outside the enumeration. */
ONS_EXPORT const char *ons_action_name(ons_action_t a);
ONS_EXPORT int ons_order_action_value_of(const char *name, ons_order_action_t *out,
                                         ons_exception_t **ex);
ONS_EXPORT const ons_order_action_t *ons_order_action_values(size_t *count);
ONS_EXPORT const char *ons_order_action_name(ons_order_action_t a);
/* "CommitTransaction" / "RollbackTransaction" / "Unknow"; NULL otherwise. */
ONS_EXPORT const char *ons_transaction_status_name(ons_transaction_status_t s);

#ifdef __cplusplus
}
#endif

#endif
