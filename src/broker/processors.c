/* SPDX-License-Identifier: Apache-2.0 */
/* processors.c: THE dispatch table: every request code the broker serves, on
 * one screen (STYLE.md §5 item 5). Unknown codes are answered by the remoting
 * layer with REQUEST_CODE_NOT_SUPPORTED (3). */
#include "broker/acl.h"
#include "broker/broker_int.h"
#include "protocol/codes.h"

#define P(code, fn)              \
    {                            \
        code, &(#code)[3], fn, 0 \
    }
/* Admin-only with aclEnable=true (spec §7.3 item 5, plus offset reset). */
#define P_ADMIN(code, fn)                     \
    {                                         \
        code, &(#code)[3], fn, ACL_FLAG_ADMIN \
    }

static const struct rprocessor PROCESSORS[] = {
    /* producer side (§4.B) */
    P(RC_SEND_MESSAGE, proc_send), P(RC_SEND_MESSAGE_V2, proc_send),
    P(RC_SEND_BATCH_MESSAGE, proc_send), P(RC_END_TRANSACTION, proc_end_transaction),
    P(RC_SEND_REPLY_MESSAGE, proc_send_reply), P(RC_SEND_REPLY_MESSAGE_V2, proc_send_reply),
    /* consumer side (§4.C) */
    P(RC_PULL_MESSAGE, proc_pull), P(RC_LITE_PULL_MESSAGE, proc_pull),
    P(RC_HEART_BEAT, proc_heartbeat), P(RC_UNREGISTER_CLIENT, proc_unregister_client),
    P(RC_GET_CONSUMER_LIST_BY_GROUP, proc_consumer_list),
    P(RC_QUERY_CONSUMER_OFFSET, proc_query_offset),
    P(RC_UPDATE_CONSUMER_OFFSET, proc_update_offset_guarded), /* proc_reset.c */
    P(RC_GET_MAX_OFFSET, proc_max_offset), P(RC_GET_MIN_OFFSET, proc_min_offset),
    P(RC_SEARCH_OFFSET_BY_TIMESTAMP, proc_search_offset),
    P(RC_GET_EARLIEST_MSG_STORETIME, proc_earliest_time), P(RC_QUERY_MESSAGE, proc_query_message),
    P(RC_VIEW_MESSAGE_BY_ID, proc_view_message), P(RC_CONSUMER_SEND_MSG_BACK, proc_send_back),
    P(RC_CHECK_CLIENT_CONFIG, proc_check_client_config), P(RC_LOCK_BATCH_MQ, proc_lock_batch),
    P(RC_UNLOCK_BATCH_MQ, proc_unlock_batch),
    /* admin (§4.D) */
    P_ADMIN(RC_UPDATE_AND_CREATE_TOPIC, proc_create_topic),
    P_ADMIN(RC_DELETE_TOPIC_IN_BROKER, proc_delete_topic),
    P(RC_GET_ALL_TOPIC_CONFIG, proc_all_topics),
    P_ADMIN(RC_UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, proc_create_group),
    P(RC_GET_ALL_SUBSCRIPTIONGROUP_CONFIG, proc_all_groups),
    P_ADMIN(RC_DELETE_SUBSCRIPTIONGROUP, proc_delete_group),
    P(RC_GET_BROKER_RUNTIME_INFO, proc_runtime_info), P(RC_GET_TOPIC_STATS_INFO, proc_topic_stats),
    P(RC_GET_CONSUME_STATS, proc_consume_stats),
    P(RC_GET_CONSUMER_CONNECTION_LIST, proc_consumer_connections),
    P(RC_GET_PRODUCER_CONNECTION_LIST, proc_producer_connections),
    P(RC_GET_BROKER_CONFIG, proc_broker_config),
    P_ADMIN(RC_INVOKE_BROKER_TO_RESET_OFFSET, proc_reset_offset),
    P(RC_GET_CONSUMER_RUNNING_INFO, proc_relay_to_consumer),
    P(RC_CONSUME_MESSAGE_DIRECTLY, proc_relay_to_consumer),
    /* Tern-specific: the console's access-control table (proc_acl.c) */
    P_ADMIN(RC_TERN_PUT_ACL_TABLE, proc_put_acl_table),
    /* statistics (stats.h; 10315 is Tern's own) */
    P(RC_VIEW_BROKER_STATS_DATA, proc_view_stats),
    P_ADMIN(RC_TERN_GET_STATS_MINUTES, proc_stats_minutes), /* every key of every account */
};

const struct rprocessor *broker_processors(size_t *n)
{
    *n = sizeof PROCESSORS / sizeof PROCESSORS[0];
    return PROCESSORS;
}
