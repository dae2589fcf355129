/* SPDX-License-Identifier: Apache-2.0 */
/* openapi_config.c: the console's option table (see openapi.h). The keys
 * live in the same Java-properties file the broker reads; each side ignores
 * the other's keys. */
#include <stddef.h>

#include "openapi/openapi.h"

#define OPT(k, t, f, d, lo, hi, h)                                   \
    {                                                                \
        k, t, offsetof(struct openapi_config, f), d, lo, hi, NULL, h \
    }

const struct config_opt OPENAPI_CONFIG_OPTS[] = {
    OPT("openApiBindAddress", CFG_STR, bind_address, "0.0.0.0", 0, 0, "HTTP listen address"),
    OPT("openApiPort", CFG_INT, port, "8080", 0, 65535, "HTTP port of the Open API"),
    OPT("openApiThreads", CFG_INT, threads, "4", 1, 64, "HTTP worker threads"),
    OPT("openApiMaxConnections", CFG_INT, max_connections, "1024", 1, 65536,
        "open HTTP connections at most (more are refused at accept)"),
    OPT("openApiDbPath", CFG_STR, db_path, "./data/openapi.db", 0, 0, "SQLite metadata database"),
    OPT("openApiAccessKey", CFG_STR, access_key, NULL, 0, 0, "AccessKey of the first main account"),
    OPT("openApiSecretKey", CFG_STR, secret_key, NULL, 0, 0, "SecretKey of the first main account"),
    OPT("openApiUserId", CFG_I64, user_id, "1000000000000001", 1, INT64_MAX,
        "user id of the first main account"),
    OPT("openApiExtraAccounts", CFG_STR, extra_accounts, NULL, 0, 0,
        "more accounts: userId:parentUserId:accessKey:secretKey[:flag+flag];... "
        "(parent 0 = main account; flags privileged, disabled)"),
    OPT("openApiRegionId", CFG_STR, region_id, "mq-private", 0, 0, "region id of this console"),
    OPT("openApiRegionName", CFG_STR, region_name, "mq-private", 0, 0, "region display name"),
    OPT("namesrvAddr", CFG_STR, namesrv_addr, "127.0.0.1:9876", 0, 0,
        "name servers of the region's clusters, host:port;host:port"),
    OPT("defaultTopicQueueNums", CFG_INT, topic_queue_nums, "8", 1, 1024,
        "queues per broker of a new topic (globally ordered topics get 1)"),
    OPT("openApiTopicCapacity", CFG_INT, topic_capacity, "1000", 1, 1000000,
        "default topicCapacity of a new instance"),
    OPT("openApiMaxClockSkewMs", CFG_I64, max_clock_skew_ms, "0", 0, INT64_MAX,
        "reject __preventCache further than this from the clock (0 = off)"),
    OPT("openApiAdminTimeoutMs", CFG_INT, admin_timeout_ms, "3000", 100, 600000,
        "timeout of one admin call to a broker or name server"),
    OPT("aclAdminAccessKey", CFG_STR, acl_admin_ak, NULL, 0, 0,
        "brokers' admin account: signs admin requests and access-table pushes"),
    OPT("aclAdminSecretKey", CFG_STR, acl_admin_sk, NULL, 0, 0, "secret of aclAdminAccessKey"),
    OPT("openApiAclPushIntervalMs", CFG_INT, acl_push_interval_ms, "30000", 200, 3600000,
        "ms between full access-table pushes to every master broker"),
    OPT("openApiTlsCertFile", CFG_STR, tls_cert, NULL, 0, 0, "PEM certificate: serve HTTPS"),
    OPT("openApiTlsKeyFile", CFG_STR, tls_key, NULL, 0, 0, "PEM private key for HTTPS"),
    OPT("openApiTunnels", CFG_STR, tunnels, NULL, 0, 0,
        "VPC tunnel addresses for /json/vpcTunnel/tunnelSwitch: "
        "[CLUSTER:]anyTunnel|singleTunnel[/VSWITCH]=HOST:PORT;...,... (empty = not offered)"),
    OPT("openApiStatsPollMs", CFG_INT, stats_poll_ms, "60000", 0, 3600000,
        "how often the per-minute statistics are fetched from the brokers (0 = never)"),
    OPT("openApiStatsRetentionDays", CFG_INT, stats_retention_days, "7", 1, 366,
        "days of per-minute statistics kept for the trend endpoints"),
};

const size_t OPENAPI_CONFIG_NOPTS = sizeof OPENAPI_CONFIG_OPTS / sizeof OPENAPI_CONFIG_OPTS[0];
