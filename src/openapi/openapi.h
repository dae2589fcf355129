/* SPDX-License-Identifier: Apache-2.0 */
/* openapi.h: the management Open API service ("console", spec/open-api.md).
 *
 * openapi_start() opens the metadata database (migrating it), provisions the
 * accounts of the configuration, starts the admin client towards the name
 * servers and serves HTTP on libmicrohttpd's own thread pool. It is what
 * tern-console runs and what a standalone broker can embed. Design:
 * docs/design/openapi.md. */
#ifndef TERN_OPENAPI_OPENAPI_H
#define TERN_OPENAPI_OPENAPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"

/* Effective configuration; CFG_STR fields are owned (config_free_strings). */
struct openapi_config {
    char *bind_address;        /* openApiBindAddress */
    int port;                  /* openApiPort; 0 = ephemeral */
    int threads;               /* openApiThreads */
    int max_connections;       /* openApiMaxConnections */
    char *db_path;             /* openApiDbPath */
    char *access_key;          /* openApiAccessKey: the first main account */
    char *secret_key;          /* openApiSecretKey */
    int64_t user_id;           /* openApiUserId */
    char *extra_accounts;      /* openApiExtraAccounts */
    char *region_id;           /* openApiRegionId */
    char *region_name;         /* openApiRegionName */
    char *namesrv_addr;        /* namesrvAddr */
    int topic_queue_nums;      /* defaultTopicQueueNums */
    int topic_capacity;        /* openApiTopicCapacity */
    int64_t max_clock_skew_ms; /* openApiMaxClockSkewMs; 0 = no freshness check */
    int admin_timeout_ms;      /* openApiAdminTimeoutMs */
    char *acl_admin_ak;        /* aclAdminAccessKey: signs broker requests; NULL = unsigned */
    char *acl_admin_sk;        /* aclAdminSecretKey */
    int acl_push_interval_ms;  /* openApiAclPushIntervalMs */
    char *tls_cert;            /* openApiTlsCertFile; empty = plain HTTP */
    char *tls_key;             /* openApiTlsKeyFile */
    char *tunnels;             /* openApiTunnels: tunnel type -> name servers; empty = none */
    int stats_poll_ms;         /* openApiStatsPollMs; 0 = no statistics polling */
    int stats_retention_days;  /* openApiStatsRetentionDays */
};

extern const struct config_opt OPENAPI_CONFIG_OPTS[];
extern const size_t OPENAPI_CONFIG_NOPTS;

struct openapi;

/* Starts the service with a copy of cfg. Errors: TERN_ECONFIG (bad accounts,
 * no account at all, unreadable TLS files), TERN_ECORRUPT (database), -errno
 * (bind). err gets a sentence. OUT: *out. */
int openapi_start(const struct openapi_config *cfg, struct openapi **out, char *err, size_t errlen);
/* The bound HTTP port. */
int openapi_port(const struct openapi *o);
/* Stops HTTP (waits for running requests), closes the database. NULL is a no-op. */
void openapi_stop(struct openapi *o);

#endif
