/* SPDX-License-Identifier: Apache-2.0 */
/* broker_config.h: the broker's settings, with RocketMQ broker.conf key names.
 *
 * One table (broker_config.c) declares every key with type, default, bounds
 * and help; loading, --help and print-effective-config walk it. Strings are
 * owned by the struct (broker_config_deinit frees them). Configure before
 * broker_start(); the broker keeps its own copy. */
#ifndef TERN_BROKER_BROKER_CONFIG_H
#define TERN_BROKER_BROKER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

enum flush_disk_type { FLUSH_ASYNC = 0, FLUSH_SYNC = 1 };
/* aclEnable: auto is resolved by broker_start (on unless standalone). */
enum acl_enable_mode { ACL_ENABLE_FALSE = 0, ACL_ENABLE_TRUE = 1, ACL_ENABLE_AUTO = 2 };
/* commitLogWriteMode=auto, after the two enum cl_write_mode values: resolved
 * by the broker from flushDiskType (pwrite under SYNC_FLUSH, else mmap). */
#define WRITE_MODE_AUTO 2

struct broker_config {
    char *cluster_name;               /* owned: brokerClusterName */
    char *broker_name;                /* owned: brokerName */
    int64_t broker_id;                /* brokerId (0 = master) */
    char *namesrv_addr;               /* owned: namesrvAddr, "host:port;host:port" */
    int listen_port;                  /* listenPort; 0 = ephemeral (tests) */
    char *broker_ip1;                 /* owned: brokerIP1; empty = auto-detect */
    char *store_root;                 /* owned: storePathRootDir */
    int flush_disk_type;              /* enum flush_disk_type */
    int commitlog_write_mode;         /* enum cl_write_mode, or WRITE_MODE_AUTO */
    int64_t commitlog_bytes;          /* mappedFileSizeCommitLog */
    int file_reserved_hours;          /* fileReservedTime */
    int delete_when;                  /* deleteWhen (hour) */
    int disk_max_used_ratio;          /* diskMaxUsedSpaceRatio */
    bool auto_create_topic;           /* autoCreateTopicEnable */
    bool auto_create_group;           /* autoCreateSubscriptionGroup */
    int default_topic_queues;         /* defaultTopicQueueNums */
    int max_message_size;             /* maxMessageSize */
    int send_threads;                 /* sendThreadPoolNums (ignored: loops serve sends) */
    int register_period_ms;           /* registerNameServerPeriod */
    int broker_permission;            /* brokerPermission */
    bool long_polling;                /* longPollingEnable */
    int short_polling_ms;             /* shortPollingTimeMills */
    int sync_flush_timeout_ms;        /* syncFlushTimeout */
    int sync_flush_threads;           /* syncFlushThreads (Tern) */
    int64_t commitlog_cache_bytes;    /* commitLogCacheBytes (Tern) */
    int flush_interval_ms;            /* flushIntervalCommitLog */
    int flush_thorough_ms;            /* flushCommitLogThoroughInterval */
    int io_threads;                   /* serverSelectorThreads */
    int offset_flush_ms;              /* flushConsumerOffsetInterval */
    int channel_expired_ms;           /* channelExpiredTimeout */
    bool trace_on;                    /* traceOn */
    char *region_id;                  /* owned: regionId */
    bool index_enable;                /* messageIndexEnable */
    bool vip_channel;                 /* vipChannelEnable: also listen on listenPort-2 */
    int namesrv_port;                 /* namesrvPort (mqbroker --standalone) */
    bool standalone;                  /* standalone: embedded name server */
    bool openapi_enable;              /* openApiEnable: standalone also serves the Open API */
    char *delay_levels;               /* owned: messageDelayLevel ("1s 5s ... 2h") */
    int64_t timer_max_sec;            /* timerMaxDelaySec (40 days) */
    int timer_prec_ms;                /* timerPrecisionMs: due times rounded up to it */
    int64_t timer_data_threshold_sec; /* timerDataThresholdSec: longer timers copy their record */
    int64_t timer_bucket_ms;          /* timerBucketMs: due time per bucket file */
    int64_t timer_day_ms;             /* timerDataFileMs: due time per timer data file */
    int txn_check_interval_ms;        /* transactionCheckInterval */
    int txn_timeout_ms;               /* transactionTimeOut: default check immunity */
    int txn_check_max;                /* transactionCheckMax: checks before parking */
    int lock_lease_ms;                /* lockLeaseMs: ordered-consumer queue lock lease */
    int acl_enable;                   /* enum acl_enable_mode (aclEnable); 0/1 once started */
    char *acl_file;                   /* owned: aclCredentialsFile */
    char *acl_admin_ak;               /* owned: aclAdminAccessKey (the console's) */
    char *acl_admin_sk;               /* owned: aclAdminSecretKey */
    char *tls_mode; /* owned: tlsMode (disabled|permissive|enforcing; NULL = auto) */
    char *tls_cert; /* owned: tls.server.certPath */
    char *tls_key;  /* owned: tls.server.keyPath */
};

/* Fills defaults (storePathRootDir = $HOME/store). Returns TERN_OK. */
int broker_config_init(struct broker_config *c);
void broker_config_deinit(struct broker_config *c);
/* Deep copy into dst (dst must not hold strings). */
void broker_config_copy(struct broker_config *dst, const struct broker_config *src);
/* Sets one key. TERN_ENOT_FOUND unknown key, TERN_ECONFIG bad value. */
int broker_config_set(struct broker_config *c, const char *key, const char *val, char *err,
                      size_t errlen);
/* Loads a broker.conf file. *unknown counts keys we do not know. */
int broker_config_load(struct broker_config *c, const char *path, int *unknown, char *err,
                       size_t errlen);
/* Appends "key=value" lines (GET_BROKER_CONFIG body, print-effective-config). */
void broker_config_print(const struct broker_config *c, buf_t *out);
/* The same with secret values (aclAdminSecretKey) replaced by "******":
 * what GET_BROKER_CONFIG answers. */
void broker_config_print_public(const struct broker_config *c, buf_t *out);
/* Appends the option help generated from the table. */
void broker_config_help(buf_t *out);
struct rtls;
/* Resolves tlsMode (default: permissive when tls.server.certPath is set,
 * else disabled) and loads the certificate. OUT: *mode (enum rtls_mode),
 * *tls owned by the caller (rtls_free), NULL when disabled. Errors:
 * TERN_ECONFIG with a sentence in err. */
int broker_config_tls(const struct broker_config *c, struct rtls **tls, int *mode, char *err,
                      size_t errlen);

#endif
