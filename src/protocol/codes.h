/* SPDX-License-Identifier: Apache-2.0 */
/* codes.h: request and response codes of the remoting protocol (spec §3-4).
 * Wire values, written out; never local errors (those are common/error.h). */
#ifndef TERN_PROTOCOL_CODES_H
#define TERN_PROTOCOL_CODES_H

/* Request codes. */
#define RC_SEND_MESSAGE                        10
#define RC_PULL_MESSAGE                        11
#define RC_QUERY_MESSAGE                       12
#define RC_QUERY_CONSUMER_OFFSET               14
#define RC_UPDATE_CONSUMER_OFFSET              15
#define RC_UPDATE_AND_CREATE_TOPIC             17
#define RC_GET_ALL_TOPIC_CONFIG                21
#define RC_UPDATE_BROKER_CONFIG                25
#define RC_GET_BROKER_CONFIG                   26
#define RC_GET_BROKER_RUNTIME_INFO             28
#define RC_SEARCH_OFFSET_BY_TIMESTAMP          29
#define RC_GET_MAX_OFFSET                      30
#define RC_GET_MIN_OFFSET                      31
#define RC_GET_EARLIEST_MSG_STORETIME          32
#define RC_VIEW_MESSAGE_BY_ID                  33
#define RC_HEART_BEAT                          34
#define RC_UNREGISTER_CLIENT                   35
#define RC_CONSUMER_SEND_MSG_BACK              36
#define RC_END_TRANSACTION                     37
#define RC_GET_CONSUMER_LIST_BY_GROUP          38
#define RC_CHECK_TRANSACTION_STATE             39
#define RC_NOTIFY_CONSUMER_IDS_CHANGED         40
#define RC_LOCK_BATCH_MQ                       41
#define RC_UNLOCK_BATCH_MQ                     42
#define RC_CHECK_CLIENT_CONFIG                 46
#define RC_PUT_KV_CONFIG                       100
#define RC_GET_KV_CONFIG                       101
#define RC_DELETE_KV_CONFIG                    102
#define RC_REGISTER_BROKER                     103
#define RC_UNREGISTER_BROKER                   104
#define RC_GET_ROUTEINFO_BY_TOPIC              105
#define RC_GET_BROKER_CLUSTER_INFO             106
#define RC_UPDATE_AND_CREATE_SUBSCRIPTIONGROUP 200
#define RC_GET_ALL_SUBSCRIPTIONGROUP_CONFIG    201
#define RC_GET_TOPIC_STATS_INFO                202
#define RC_GET_CONSUMER_CONNECTION_LIST        203
#define RC_GET_PRODUCER_CONNECTION_LIST        204
#define RC_WIPE_WRITE_PERM_OF_BROKER           205
#define RC_GET_ALL_TOPIC_LIST_FROM_NAMESERVER  206
#define RC_DELETE_SUBSCRIPTIONGROUP            207
#define RC_GET_CONSUME_STATS                   208
#define RC_DELETE_TOPIC_IN_BROKER              215
#define RC_DELETE_TOPIC_IN_NAMESRV             216
#define RC_REGISTER_TOPIC_IN_NAMESRV           217
#define RC_GET_KVLIST_BY_NAMESPACE             219
#define RC_RESET_CONSUMER_CLIENT_OFFSET        220
#define RC_GET_CONSUMER_STATUS_FROM_CLIENT     221
#define RC_INVOKE_BROKER_TO_RESET_OFFSET       222
#define RC_GET_TOPICS_BY_CLUSTER               224
#define RC_GET_SYSTEM_TOPIC_LIST_FROM_NS       304
#define RC_GET_CONSUMER_RUNNING_INFO           307
#define RC_CONSUME_MESSAGE_DIRECTLY            309
#define RC_SEND_MESSAGE_V2                     310
#define RC_VIEW_BROKER_STATS_DATA              315
#define RC_SEND_BATCH_MESSAGE                  320
#define RC_QUERY_DATA_VERSION                  322
#define RC_SEND_REPLY_MESSAGE                  324
#define RC_SEND_REPLY_MESSAGE_V2               325
#define RC_PUSH_REPLY_MESSAGE_TO_CLIENT        326
#define RC_ADD_WRITE_PERM_OF_BROKER            327
#define RC_LITE_PULL_MESSAGE                   361
#define RC_BROKER_HEARTBEAT                    904
/* Tern-specific (sdk.md §3.3: project codes from 10000; docs/design/acl.md):
 * the console's full access-control table for a broker (admin only). */
#define RC_TERN_PUT_ACL_TABLE 10001

/* Tern's own request codes (docs/design/broker.md "Statistics"), far above
 * the range Apache RocketMQ uses. */
#define RC_TERN_GET_STATS_MINUTES 10315

/* Response codes. */
#define RESP_SUCCESS                      0
#define RESP_SYSTEM_ERROR                 1
#define RESP_SYSTEM_BUSY                  2
#define RESP_REQUEST_CODE_NOT_SUPPORTED   3
#define RESP_FLUSH_DISK_TIMEOUT           10
#define RESP_SLAVE_NOT_AVAILABLE          11
#define RESP_FLUSH_SLAVE_TIMEOUT          12
#define RESP_MESSAGE_ILLEGAL              13
#define RESP_SERVICE_NOT_AVAILABLE        14
#define RESP_VERSION_NOT_SUPPORTED        15
#define RESP_NO_PERMISSION                16
#define RESP_TOPIC_NOT_EXIST              17
#define RESP_TOPIC_EXIST_ALREADY          18
#define RESP_PULL_NOT_FOUND               19
#define RESP_PULL_RETRY_IMMEDIATELY       20
#define RESP_PULL_OFFSET_MOVED            21
#define RESP_QUERY_NOT_FOUND              22
#define RESP_SUBSCRIPTION_PARSE_FAILED    23
#define RESP_SUBSCRIPTION_NOT_EXIST       24
#define RESP_SUBSCRIPTION_NOT_LATEST      25
#define RESP_SUBSCRIPTION_GROUP_NOT_EXIST 26
#define RESP_FILTER_DATA_NOT_EXIST        27
#define RESP_FILTER_DATA_NOT_LATEST       28
#define RESP_INVALID_PARAMETER            29
#define RESP_CONSUMER_NOT_ONLINE          206
#define RESP_CONSUME_MSG_TIMEOUT          207
#define RESP_ILLEGAL_OPERATION            604

/* Returns the symbolic name of a request code ("SEND_MESSAGE"), or NULL. */
const char *rc_name(int code);

#endif
