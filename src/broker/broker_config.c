/* SPDX-License-Identifier: Apache-2.0 */
/* broker_config.c: the one table of broker settings (RocketMQ key names).
 *
 * Keys Java brokers accept but we do not act on (sendThreadPoolNums, ...) are
 * still listed so existing broker.conf files load and show up in the
 * effective config. */
#include "broker/broker_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/error.h"
#include "common/xalloc.h"
#include "remoting/remoting.h"

#define OFF(f) offsetof(struct broker_config, f)

static const char *const FLUSH_NAMES[] = {"ASYNC_FLUSH", "SYNC_FLUSH", NULL};
/* Indexed by enum acl_enable_mode. */
static const char *const ACL_ENABLE_NAMES[] = {"false", "true", "auto", NULL};
/* Same order as enum cl_write_mode (store/store.h), then WRITE_MODE_AUTO. */
static const char *const WRITE_MODE_NAMES[] = {"mmap", "pwrite", "auto", NULL};

static const struct config_opt BROKER_OPTS[] = {
    {"brokerClusterName", CFG_STR, OFF(cluster_name), "DefaultCluster", 0, 0, NULL,
     "cluster this broker belongs to"},
    {"brokerName", CFG_STR, OFF(broker_name), "broker-a", 0, 0, NULL,
     "logical broker name (master and slaves share it)"},
    {"brokerId", CFG_I64, OFF(broker_id), "0", 0, 1024, NULL, "0 = master"},
    {"namesrvAddr", CFG_STR, OFF(namesrv_addr), NULL, 0, 0, NULL,
     "name servers, host:port separated by ';'"},
    {"listenPort", CFG_INT, OFF(listen_port), "10911", 0, 65535, NULL,
     "client port (0 = any free port)"},
    {"brokerIP1", CFG_STR, OFF(broker_ip1), NULL, 0, 0, NULL,
     "advertised IPv4 (default: first non-loopback address, else 127.0.0.1)"},
    {"storePathRootDir", CFG_STR, OFF(store_root), NULL, 0, 0, NULL,
     "store directory (default $HOME/store)"},
    {"flushDiskType", CFG_ENUM, OFF(flush_disk_type), "ASYNC_FLUSH", 0, 0, FLUSH_NAMES,
     "SYNC_FLUSH acks a send only once it is on disk"},
    {"commitLogWriteMode", CFG_ENUM, OFF(commitlog_write_mode), "auto", 0, 0, WRITE_MODE_NAMES,
     "mmap: copy into the mapped segment (best for single sends); pwrite: one write per run "
     "(best for batches, large messages and SYNC_FLUSH); auto: pwrite under SYNC_FLUSH, else "
     "mmap"},
    {"mappedFileSizeCommitLog", CFG_I64, OFF(commitlog_bytes), "1073741824", 4096, (int64_t)1 << 40,
     NULL, "commit-log segment size in bytes"},
    {"fileReservedTime", CFG_INT, OFF(file_reserved_hours), "72", 1, 100000, NULL,
     "hours a commit-log segment is kept"},
    {"deleteWhen", CFG_INT, OFF(delete_when), "4", 0, 23, NULL,
     "hour of day when expired files are deleted"},
    {"diskMaxUsedSpaceRatio", CFG_INT, OFF(disk_max_used_ratio), "75", 10, 95, NULL,
     "disk usage (%) above which expired files are deleted at once"},
    {"autoCreateTopicEnable", CFG_BOOL, OFF(auto_create_topic), "true", 0, 0, NULL,
     "register TBW102 and create topics on first send"},
    {"autoCreateSubscriptionGroup", CFG_BOOL, OFF(auto_create_group), "true", 0, 0, NULL,
     "create consumer groups on first use"},
    {"defaultTopicQueueNums", CFG_INT, OFF(default_topic_queues), "8", 1, 1024, NULL,
     "queues of the TBW102 template"},
    {"maxMessageSize", CFG_INT, OFF(max_message_size), "4194304", 1024, 16 * 1024 * 1024, NULL,
     "largest message body (and batch body) accepted"},
    {"sendThreadPoolNums", CFG_INT, OFF(send_threads), "1", 1, 1024, NULL,
     "accepted for compatibility; sends run on the I/O loops"},
    {"registerNameServerPeriod", CFG_INT, OFF(register_period_ms), "30000", 10000, 60000, NULL,
     "ms between registrations with the name servers"},
    {"brokerPermission", CFG_INT, OFF(broker_permission), "6", 0, 7, NULL,
     "perm bits: 4 read, 2 write"},
    {"longPollingEnable", CFG_BOOL, OFF(long_polling), "true", 0, 0, NULL,
     "hold pulls until a message arrives"},
    {"shortPollingTimeMills", CFG_INT, OFF(short_polling_ms), "1000", 1, 60000, NULL,
     "hold time when long polling is off"},
    {"syncFlushTimeout", CFG_INT, OFF(sync_flush_timeout_ms), "5000", 100, 60000, NULL,
     "SYNC_FLUSH wait before FLUSH_DISK_TIMEOUT"},
    {"syncFlushThreads", CFG_INT, OFF(sync_flush_threads), "1", 1, 4, NULL,
     "SYNC_FLUSH group commits in flight at once (one thread each)"},
    {"commitLogCacheBytes", CFG_I64, OFF(commitlog_cache_bytes), "1073741824", 0, (int64_t)1 << 50,
     NULL,
     "written-back commit log left in the page cache (bytes back from the flush point); older "
     "pages are dropped so their memory makes the next ones, and readers of older messages "
     "read them from disk (with read-ahead); 0 = leave it all to the kernel"},
    {"flushIntervalCommitLog", CFG_INT, OFF(flush_interval_ms), "500", 1, 60000, NULL,
     "ASYNC_FLUSH fsync interval (ms): the log up to its last 2 MiB unit"},
    {"flushCommitLogThoroughInterval", CFG_INT, OFF(flush_thorough_ms), "10000", 0, 3600000, NULL,
     "ASYNC_FLUSH: the log's last, partial 2 MiB is synced at least this often (ms; 0: "
     "every flushIntervalCommitLog)"},
    {"serverSelectorThreads", CFG_INT, OFF(io_threads), "2", 1, 64, NULL,
     "I/O loop threads (requests are served on them)"},
    {"flushConsumerOffsetInterval", CFG_INT, OFF(offset_flush_ms), "5000", 100, 600000, NULL,
     "ms between consumer offset persists"},
    {"channelExpiredTimeout", CFG_INT, OFF(channel_expired_ms), "120000", 1000, 3600000, NULL,
     "client dropped after this long without a heartbeat (ms)"},
    {"traceOn", CFG_BOOL, OFF(trace_on), "true", 0, 0, NULL, "TRACE_ON in send responses"},
    {"regionId", CFG_STR, OFF(region_id), "DefaultRegion", 0, 0, NULL,
     "MSG_REGION in send responses"},
    {"messageIndexEnable", CFG_BOOL, OFF(index_enable), "true", 0, 0, NULL,
     "index keys for QUERY_MESSAGE"},
    {"vipChannelEnable", CFG_BOOL, OFF(vip_channel), "true", 0, 0, NULL,
     "also listen on listenPort-2 when it is free"},
    {"namesrvPort", CFG_INT, OFF(namesrv_port), "9876", 0, 65535, NULL,
     "embedded name server port (--standalone)"},
    {"openApiEnable", CFG_BOOL, OFF(openapi_enable), "true", 0, 0, NULL,
     "--standalone: also serve the Open API (openApi* keys, docs/open-api.md)"},
    {"standalone", CFG_BOOL, OFF(standalone), "false", 0, 0, NULL,
     "run an embedded name server in the broker process"},
    {"messageDelayLevel", CFG_STR, OFF(delay_levels),
     "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h", 0, 0, NULL,
     "delay of each DELAY level (units ms s m h d); retries use level 3 + reconsumeTimes"},
    {"timerMaxDelaySec", CFG_I64, OFF(timer_max_sec), "3456000", 1, 3456000 * 10, NULL,
     "longest accepted timer delay in seconds (default 40 days)"},
    {"timerPrecisionMs", CFG_INT, OFF(timer_prec_ms), "10", 1, 60000, NULL,
     "timer delivery times are rounded up to a multiple of this (ms)"},
    {"timerDataThresholdSec", CFG_I64, OFF(timer_data_threshold_sec), "3600", 0, 3456000 * 10, NULL,
     "timers due further ahead copy their record into timer/days/ data files, kept until "
     "delivered (capped at half of fileReservedTime)"},
    {"timerBucketMs", CFG_I64, OFF(timer_bucket_ms), "60000", 100, 3600000, NULL,
     "due time covered by one timer bucket file (ms)"},
    {"timerDataFileMs", CFG_I64, OFF(timer_day_ms), "86400000", 100, (int64_t)864000000, NULL,
     "due time covered by one timer data file and day index (ms; a multiple of timerBucketMs)"},
    {"transactionCheckInterval", CFG_INT, OFF(txn_check_interval_ms), "30000", 100, 3600000, NULL,
     "ms between scans for unresolved transaction half messages"},
    {"transactionTimeOut", CFG_INT, OFF(txn_timeout_ms), "6000", 0, 86400000, NULL,
     "ms a half message is left alone before its first check (unless it sets its own)"},
    {"transactionCheckMax", CFG_INT, OFF(txn_check_max), "15", 1, 10000, NULL,
     "checks of one half message before it is parked in TRANS_CHECK_MAX_TIME_TOPIC"},
    {"lockLeaseMs", CFG_INT, OFF(lock_lease_ms), "60000", 100, 3600000, NULL,
     "ordered-consumer queue lock lease (rocketmq.broker.rebalance.lockMaxLiveTime)"},
    {"aclEnable", CFG_ENUM, OFF(acl_enable), "auto", 0, 0, ACL_ENABLE_NAMES,
     "signed requests and per-resource rights (docs/design/acl.md); "
     "auto = true unless --standalone"},
    {"aclCredentialsFile", CFG_STR, OFF(acl_file), NULL, 0, 0, NULL,
     "accounts, one a line: accessKey secretKey [admin] ('#' comments)"},
    {"aclAdminAccessKey", CFG_STR, OFF(acl_admin_ak), NULL, 0, 0, NULL,
     "admin account the console signs its requests and table pushes with"},
    {"aclAdminSecretKey", CFG_STR, OFF(acl_admin_sk), NULL, 0, 0, NULL,
     "secret of aclAdminAccessKey"},
    {"tlsMode", CFG_STR, OFF(tls_mode), NULL, 0, 0, NULL,
     "disabled, permissive (TLS and plain) or enforcing (TLS only); "
     "empty = permissive when tls.server.certPath is set, else disabled"},
    {"tls.server.certPath", CFG_STR, OFF(tls_cert), NULL, 0, 0, NULL,
     "PEM certificate (chain) of the broker port"},
    {"tls.server.keyPath", CFG_STR, OFF(tls_key), NULL, 0, 0, NULL,
     "PEM private key of tls.server.certPath (unencrypted)"},
};

#define NOPTS (sizeof BROKER_OPTS / sizeof BROKER_OPTS[0])

int broker_config_init(struct broker_config *c)
{
    memset(c, 0, sizeof *c);
    int rc = config_defaults(BROKER_OPTS, NOPTS, c);
    if (rc != TERN_OK)
        return rc;
    const char *home = getenv("HOME");
    free(c->store_root);
    size_t n = strlen(home ? home : ".") + 8;
    c->store_root = xmalloc(n);
    strcpy(c->store_root, home ? home : ".");
    strcat(c->store_root, "/store");
    return TERN_OK;
}

void broker_config_deinit(struct broker_config *c)
{
    config_free_strings(BROKER_OPTS, NOPTS, c);
}

void broker_config_copy(struct broker_config *dst, const struct broker_config *src)
{
    config_copy(BROKER_OPTS, NOPTS, dst, src, sizeof *dst);
}

int broker_config_set(struct broker_config *c, const char *key, const char *val, char *err,
                      size_t errlen)
{
    return config_set(BROKER_OPTS, NOPTS, c, key, val, err, errlen);
}

int broker_config_load(struct broker_config *c, const char *path, int *unknown, char *err,
                       size_t errlen)
{
    return config_load_file(BROKER_OPTS, NOPTS, c, path, unknown, err, errlen);
}

void broker_config_print(const struct broker_config *c, buf_t *out)
{
    config_print(BROKER_OPTS, NOPTS, c, out);
}

/* Keys whose values are secrets: never sent to clients. */
static const char *const SECRET_KEYS[] = {"aclAdminSecretKey"};

void broker_config_print_public(const struct broker_config *c, buf_t *out)
{
    buf_t all;
    buf_init(&all);
    config_print(BROKER_OPTS, NOPTS, c, &all);
    size_t pos = 0;
    while (pos < all.len) {
        const uint8_t *line = all.data + pos;
        const uint8_t *nl = memchr(line, '\n', all.len - pos);
        size_t len = nl ? (size_t)(nl - line) + 1 : all.len - pos;
        bool secret = false;
        for (size_t i = 0; i < sizeof SECRET_KEYS / sizeof SECRET_KEYS[0]; i++) {
            size_t k = strlen(SECRET_KEYS[i]);
            if (len > k + 1 && memcmp(line, SECRET_KEYS[i], k) == 0 && line[k] == '=' &&
                line[k + 1] != '\n')
                secret = true;
        }
        if (secret) {
            buf_append(out, line, strcspn((const char *)line, "=") + 1);
            buf_append(out, "******\n", 7);
        } else {
            buf_append(out, line, len);
        }
        pos += len;
    }
    buf_deinit(&all);
}

void broker_config_help(buf_t *out)
{
    config_help(BROKER_OPTS, NOPTS, out);
}

int broker_config_tls(const struct broker_config *c, struct rtls **tls, int *mode, char *err,
                      size_t errlen)
{
    *tls = NULL;
    bool has_cert = c->tls_cert && *c->tls_cert;
    enum rtls_mode m = has_cert ? RTLS_PERMISSIVE : RTLS_DISABLED;
    if (c->tls_mode && *c->tls_mode && rtls_mode_parse(c->tls_mode, &m) != TERN_OK) {
        snprintf(err, errlen, "tlsMode=%s: expected disabled, permissive or enforcing",
                 c->tls_mode);
        return TERN_ECONFIG;
    }
    *mode = (int)m;
    if (m == RTLS_DISABLED)
        return TERN_OK;
    if (!has_cert || !c->tls_key || !*c->tls_key) {
        snprintf(err, errlen, "tlsMode=%s needs tls.server.certPath and tls.server.keyPath",
                 m == RTLS_ENFORCING ? "enforcing" : "permissive");
        return TERN_ECONFIG;
    }
    return rtls_server_new(c->tls_cert, c->tls_key, tls, err, errlen);
}
