/* SPDX-License-Identifier: Apache-2.0 */
/* codes.c: names of request codes, for logs and metrics. */
#include "protocol/codes.h"

#include <stddef.h>

const char *rc_name(int code)
{
    switch (code) {
        /* clang-format off */
#define N(c)     \
    case RC_##c: \
        return #c;
        N(SEND_MESSAGE)
        N(PULL_MESSAGE) N(QUERY_MESSAGE) N(QUERY_CONSUMER_OFFSET) N(UPDATE_CONSUMER_OFFSET) N(
            UPDATE_AND_CREATE_TOPIC) N(GET_ALL_TOPIC_CONFIG) N(UPDATE_BROKER_CONFIG)
            N(GET_BROKER_CONFIG) N(GET_BROKER_RUNTIME_INFO) N(SEARCH_OFFSET_BY_TIMESTAMP) N(
                GET_MAX_OFFSET) N(GET_MIN_OFFSET) N(GET_EARLIEST_MSG_STORETIME)
                N(VIEW_MESSAGE_BY_ID) N(HEART_BEAT) N(UNREGISTER_CLIENT) N(
                    CONSUMER_SEND_MSG_BACK) N(END_TRANSACTION) N(GET_CONSUMER_LIST_BY_GROUP)
                    N(CHECK_TRANSACTION_STATE) N(NOTIFY_CONSUMER_IDS_CHANGED) N(LOCK_BATCH_MQ) N(
                        UNLOCK_BATCH_MQ) N(CHECK_CLIENT_CONFIG) N(PUT_KV_CONFIG) N(GET_KV_CONFIG)
                        N(DELETE_KV_CONFIG) N(REGISTER_BROKER) N(UNREGISTER_BROKER) N(
                            GET_ROUTEINFO_BY_TOPIC) N(GET_BROKER_CLUSTER_INFO)
                            N(UPDATE_AND_CREATE_SUBSCRIPTIONGROUP) N(
                                GET_ALL_SUBSCRIPTIONGROUP_CONFIG) N(GET_TOPIC_STATS_INFO)
                                N(GET_CONSUMER_CONNECTION_LIST) N(GET_PRODUCER_CONNECTION_LIST) N(
                                    WIPE_WRITE_PERM_OF_BROKER) N(GET_ALL_TOPIC_LIST_FROM_NAMESERVER)
                                    N(DELETE_SUBSCRIPTIONGROUP) N(GET_CONSUME_STATS) N(
                                        DELETE_TOPIC_IN_BROKER) N(DELETE_TOPIC_IN_NAMESRV)
                                        N(REGISTER_TOPIC_IN_NAMESRV) N(GET_KVLIST_BY_NAMESPACE) N(
                                            RESET_CONSUMER_CLIENT_OFFSET)
                                            N(GET_CONSUMER_STATUS_FROM_CLIENT) N(
                                                INVOKE_BROKER_TO_RESET_OFFSET)
                                                N(GET_TOPICS_BY_CLUSTER) N(
                                                    GET_SYSTEM_TOPIC_LIST_FROM_NS)
                                                    N(GET_CONSUMER_RUNNING_INFO) N(
                                                        CONSUME_MESSAGE_DIRECTLY) N(SEND_MESSAGE_V2)
                                                        N(SEND_BATCH_MESSAGE) N(QUERY_DATA_VERSION)
                                                            N(SEND_REPLY_MESSAGE)
                                                                N(SEND_REPLY_MESSAGE_V2)
                                                                    N(PUSH_REPLY_MESSAGE_TO_CLIENT)
                                                                        N(ADD_WRITE_PERM_OF_BROKER)
                                                                            N(LITE_PULL_MESSAGE)
                                                                                N(BROKER_HEARTBEAT)
 N(VIEW_BROKER_STATS_DATA) N(TERN_GET_STATS_MINUTES) N(TERN_PUT_ACL_TABLE)
#undef N
            /* clang-format on */
            default : return NULL;
    }
}
