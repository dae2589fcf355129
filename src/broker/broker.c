/* SPDX-License-Identifier: Apache-2.0 */
/* broker.c: broker lifecycle (see broker.h): start order store -> configs ->
 * system topics -> hold -> server -> registration -> housekeeping. Stop
 * answers held pulls and SYNC_FLUSH waits, stops the server (so no handler
 * runs any more), then the txn, timer, housekeeping and registration
 * threads, then persists and closes the store (flush + checkpoint). The
 * housekeeping thread persists dirty configs (1 s), offsets
 * (flushConsumerOffsetInterval), expires silent clients (10 s) and folds
 * finished minutes of the statistics into hours (1 s, stats.h). */
#include "broker/broker.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker/acl.h"
#include "broker/broker_int.h"
#include "broker/persist.h"
#include "broker/register.h"
#include "broker/reset_table.h"
#include "broker/txn.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "store/store.h"

#define EXPIRE_SCAN_MS 10000

/* First non-loopback IPv4 address that is up, else 127.0.0.1. */
static void detect_ip(char *out, size_t n)
{
    snprintf(out, n, "127.0.0.1");
    struct ifaddrs *ifs = NULL;
    if (getifaddrs(&ifs) != 0)
        return;
    for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !(i->ifa_flags & IFF_UP) ||
            (i->ifa_flags & IFF_LOOPBACK))
            continue;
        const struct sockaddr_in *sa = (const struct sockaddr_in *)(const void *)i->ifa_addr;
        inet_ntop(AF_INET, &sa->sin_addr, out, (socklen_t)n);
        break;
    }
    freeifaddrs(ifs);
}

static void arrival(void *arg, tern_bytes_t topic, int32_t qid, int64_t max_off, int64_t tags_code)
{
    struct broker *b = arg;
    hold_notify(&b->hold, topic, qid, max_off, &tags_code);
    timer_notify(&b->timer, topic);
}

static int64_t hold_max(void *ctx, tern_bytes_t topic, int32_t qid)
{
    struct broker *b = ctx;
    return store_max_offset(b->store, topic, qid);
}

static void on_close(void *ctx, struct rconn *c)
{
    struct broker *b = ctx;
    cm_conn_closed(&b->clients, c);
}

static void add_system_topic(struct broker *b, const char *name, int queues, int perm)
{
    if (!topic_name_valid(tern_cstr(name), TOPIC_NAME_MAX))
        return;
    struct topic_config tc, cur;
    topic_config_defaults(&tc, tern_cstr(name));
    tc.read_queue_nums = tc.write_queue_nums = queues;
    tc.perm = perm;
    topics_create_if_absent(&b->topics, &tc, &cur);
}

static void init_system_topics(struct broker *b)
{
    const struct broker_config *c = &b->cfg;
    if (c->auto_create_topic) {
        add_system_topic(b, "TBW102", c->default_topic_queues,
                         PERM_INHERIT | PERM_READ | PERM_WRITE);
    } else {
        topics_delete(&b->topics, tern_cstr("TBW102"));
    }
    add_system_topic(b, "SELF_TEST_TOPIC", 1, PERM_READ | PERM_WRITE);
    add_system_topic(b, c->cluster_name, 16, PERM_INHERIT);
    add_system_topic(b, c->broker_name, 1, PERM_INHERIT);
    add_system_topic(b, "OFFSET_MOVED_EVENT", 1, PERM_READ | PERM_WRITE);
    add_system_topic(b, "SCHEDULE_TOPIC_XXXX", 18, PERM_READ | PERM_WRITE);
    add_system_topic(b, "RMQ_SYS_TRANS_HALF_TOPIC", 1, PERM_READ | PERM_WRITE);
    add_system_topic(b, "RMQ_SYS_TRANS_OP_HALF_TOPIC", 1, PERM_READ | PERM_WRITE);
    char reply_topic[TOPIC_NAME_MAX + 1];
    snprintf(reply_topic, sizeof reply_topic, "%s_REPLY_TOPIC", c->cluster_name);
    add_system_topic(b, reply_topic, 1, PERM_READ | PERM_WRITE);
}

/* A crash can cut the window between creating a topic and persisting
 * topics.json while messages sent to it were already acknowledged. Every queue
 * the store knows gets a topic config back, so those messages stay readable. */
static void restore_one(void *arg, tern_bytes_t topic, int32_t queue_id)
{
    struct broker *b = arg;
    struct topic_config tc;
    if (topics_get(&b->topics, topic, &tc)) {
        if (queue_id < tc.read_queue_nums)
            return;
    } else {
        topic_config_defaults(&tc, topic);
        tc.read_queue_nums = tc.write_queue_nums = b->cfg.default_topic_queues;
    }
    if (queue_id >= tc.read_queue_nums)
        tc.read_queue_nums = queue_id + 1;
    if (queue_id >= tc.write_queue_nums)
        tc.write_queue_nums = queue_id + 1;
    topics_put(&b->topics, &tc);
    log_warn("broker", "restored topic config topic=%.*s queues=%d from the store", (int)topic.len,
             (const char *)topic.ptr, tc.read_queue_nums);
}

static void restore_topics_from_store(struct broker *b)
{
    store_each_known_queue(b->store, restore_one, b);
    topics_persist(&b->topics, false);
}

static void persist_all(struct broker *b, bool force)
{
    topics_persist(&b->topics, force);
    groups_persist(&b->groups, force);
    offsets_persist(&b->offsets, force);
}

/* Writes the pushed access table when it changed (acl_table.h). */
static void persist_acl_table(struct broker *b)
{
    if (!b->acl_table_path)
        return;
    int rc = acl_slot_persist(&b->acl_table, b->acl_table_path);
    if (rc != TERN_OK)
        log_error("broker", "cannot write %s: %s", b->acl_table_path, tern_strerror(rc));
}

static void *housekeeping_main(void *arg)
{
    pthread_setname_np(pthread_self(), "tern-hk");
    struct broker *b = arg;
    int64_t next_offsets = clock_mono_ms() + b->cfg.offset_flush_ms;
    int64_t next_expire = clock_mono_ms() + EXPIRE_SCAN_MS;
    pthread_mutex_lock(&b->hk_lock);
    while (!b->hk_stopping) {
        int64_t wake = clock_mono_ms() + 1000;
        struct timespec ts = {wake / 1000, (wake % 1000) * 1000000};
        pthread_cond_timedwait(&b->hk_cond, &b->hk_lock, &ts);
        if (b->hk_stopping)
            break;
        pthread_mutex_unlock(&b->hk_lock);
        int64_t now = clock_mono_ms();
        topics_persist(&b->topics, false);
        groups_persist(&b->groups, false);
        persist_acl_table(b);
        if (now >= next_offsets) {
            offsets_persist(&b->offsets, false);
            next_offsets = now + b->cfg.offset_flush_ms;
        }
        stats_fold(&b->stats, clock_wall_coarse_ms());
        if (now >= next_expire) {
            int n = cm_scan_expired(&b->clients, now, b->cfg.channel_expired_ms);
            if (n > 0)
                log_info("broker", "dropped %d clients without heartbeat", n);
            next_expire = now + EXPIRE_SCAN_MS;
        }
        pthread_mutex_lock(&b->hk_lock);
    }
    pthread_mutex_unlock(&b->hk_lock);
    return NULL;
}

void broker_persist_soon(struct broker *b)
{
    /* hk_started is read and written atomically: this runs on any thread. */
    if (!__atomic_load_n(&b->hk_started, __ATOMIC_ACQUIRE))
        return;
    pthread_mutex_lock(&b->hk_lock);
    pthread_cond_signal(&b->hk_cond);
    pthread_mutex_unlock(&b->hk_lock);
}

static int start_housekeeping(struct broker *b)
{
    pthread_mutex_init(&b->hk_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&b->hk_cond, &ca);
    pthread_condattr_destroy(&ca);
    int rc = pthread_create(&b->hk_thread, NULL, housekeeping_main, b);
    if (rc != 0)
        return -rc;
    __atomic_store_n(&b->hk_started, true, __ATOMIC_RELEASE);
    return TERN_OK;
}

static void stop_housekeeping(struct broker *b)
{
    if (!__atomic_load_n(&b->hk_started, __ATOMIC_ACQUIRE))
        return;
    __atomic_store_n(&b->hk_started, false, __ATOMIC_RELEASE);
    pthread_mutex_lock(&b->hk_lock);
    b->hk_stopping = true;
    pthread_cond_signal(&b->hk_cond);
    pthread_mutex_unlock(&b->hk_lock);
    pthread_join(b->hk_thread, NULL);
    pthread_cond_destroy(&b->hk_cond);
    pthread_mutex_destroy(&b->hk_lock);
}

static int open_tables(struct broker *b)
{
    char dir[PATH_MAX], path[PATH_MAX + 32];
    snprintf(dir, sizeof dir, "%s/config", b->cfg.store_root);
    int rc = persist_mkdirs(dir);
    if (rc != TERN_OK)
        return rc;
    snprintf(path, sizeof path, "%s/topics.json", dir);
    if ((rc = topics_init(&b->topics, path)) != TERN_OK)
        return rc;
    snprintf(path, sizeof path, "%s/subscriptionGroup.json", dir);
    if ((rc = groups_init(&b->groups, path)) != TERN_OK)
        return rc;
    snprintf(path, sizeof path, "%s/consumerOffset.json", dir);
    return offsets_init(&b->offsets, path);
}

static int open_store(struct broker *b)
{
    struct store_config sc;
    store_config_defaults(&sc);
    sc.root_dir = b->cfg.store_root;
    sc.commitlog_segment_bytes = b->cfg.commitlog_bytes;
    sc.flush_mode = b->cfg.flush_disk_type == FLUSH_SYNC ? STORE_SYNC_FLUSH : STORE_ASYNC_FLUSH;
    sc.flush_interval_ms = b->cfg.flush_interval_ms;
    sc.flush_thorough_ms = b->cfg.flush_thorough_ms;
    sc.sync_flush_timeout_ms = b->cfg.sync_flush_timeout_ms;
    sc.file_reserved_hours = b->cfg.file_reserved_hours;
    sc.delete_when_hour = b->cfg.delete_when;
    sc.disk_max_used_ratio = b->cfg.disk_max_used_ratio;
    sc.index_enable = b->cfg.index_enable;
    if (b->cfg.commitlog_write_mode == WRITE_MODE_AUTO)
        sc.write_mode = sc.flush_mode == STORE_SYNC_FLUSH ? CL_WRITE_PWRITE : CL_WRITE_MMAP;
    else
        sc.write_mode = (enum cl_write_mode)b->cfg.commitlog_write_mode;
    sc.sync_flush_threads = b->cfg.sync_flush_threads;
    sc.log_cache_bytes = b->cfg.commitlog_cache_bytes;
    sc.max_message_bytes = b->cfg.max_message_size;
    int rc = store_open(&sc, &b->store);
    if (rc == TERN_EBUSY)
        log_error("broker", "store %s is locked by another broker process", b->cfg.store_root);
    else if (rc != TERN_OK)
        log_error("broker", "cannot open store %s: %s", b->cfg.store_root, tern_strerror(rc));
    return rc;
}

static void set_address(struct broker *b, int port)
{
    b->port = port;
    snprintf(b->addr, sizeof b->addr, "%s:%d", b->cfg.broker_ip1, port);
    snprintf(b->ha_addr, sizeof b->ha_addr, "%s:%d", b->cfg.broker_ip1, port + 1);
    struct in_addr ia;
    memset(&b->store_host, 0, sizeof b->store_host);
    if (inet_pton(AF_INET, b->cfg.broker_ip1, &ia) == 1)
        memcpy(b->store_host.addr, &ia.s_addr, 4);
    b->store_host.port = port;
}

static int start_servers(struct broker *b)
{
    size_t n;
    int rc = broker_acl_start(b);
    if (rc != TERN_OK)
        return rc;
    struct rserver_opts o;
    memset(&o, 0, sizeof o);
    o.port = b->cfg.listen_port;
    o.io_threads = b->cfg.io_threads;
    o.table = broker_processors(&n);
    o.ntable = n;
    o.ctx = b;
    o.on_close = on_close;
    o.pre_dispatch = b->cfg.acl_enable ? broker_acl_hook : NULL;
    char err[256];
    if ((rc = broker_config_tls(&b->cfg, &b->tls, &b->tls_mode, err, sizeof err)) != TERN_OK) {
        log_error("broker", "tls: %s", err);
        return rc;
    }
    o.tls = b->tls;
    o.tls_mode = (enum rtls_mode)b->tls_mode;
    rc = rserver_start(&o, &b->server);
    if (rc != TERN_OK) {
        log_error("broker", "cannot listen on port %d: %s", b->cfg.listen_port, tern_strerror(rc));
        return rc;
    }
    set_address(b, rserver_port(b->server));
    if (b->cfg.vip_channel && b->cfg.listen_port > 2) {
        o.port = b->cfg.listen_port - 2;
        o.io_threads = 1;
        if (rserver_start(&o, &b->vip) != TERN_OK)
            b->vip = NULL; /* optional: the port is taken */
    }
    return TERN_OK;
}

int broker_start(const struct broker_config *cfg, struct broker **out)
{
    *out = NULL;
    if (!cfg->broker_name || !*cfg->broker_name || !cfg->cluster_name || !*cfg->cluster_name ||
        !cfg->store_root || !*cfg->store_root) {
        log_error("broker", "brokerName, brokerClusterName and storePathRootDir must be set");
        return TERN_ECONFIG;
    }
    struct broker *b = xcalloc(1, sizeof *b);
    acl_slot_init(&b->acl_table);
    broker_config_copy(&b->cfg, cfg);
    /* aclEnable=auto: on, except for a standalone (development) broker. */
    if (b->cfg.acl_enable == ACL_ENABLE_AUTO)
        b->cfg.acl_enable = b->cfg.standalone ? ACL_ENABLE_FALSE : ACL_ENABLE_TRUE;
    if (!b->cfg.broker_ip1 || !*b->cfg.broker_ip1) {
        char ip[64];
        detect_ip(ip, sizeof ip);
        free(b->cfg.broker_ip1);
        b->cfg.broker_ip1 = xstrdup(ip);
    }
    struct in_addr ia;
    if (inet_pton(AF_INET, b->cfg.broker_ip1, &ia) != 1) {
        log_error("broker", "brokerIP1 %s is not an IPv4 address", b->cfg.broker_ip1);
        broker_config_deinit(&b->cfg);
        free(b);
        return TERN_ECONFIG;
    }
    b->boot_ms = clock_wall_ms();
    b->cluster_len = strlen(b->cfg.cluster_name);
    uniq_gen_init(&b->uniq, (const uint8_t *)&ia.s_addr);
    cm_init(&b->clients);
    lock_table_init(&b->locks);
    lock_table_set_lease(&b->locks, b->cfg.lock_lease_ms);
    b->resets = reset_table_new();
    int rc = persist_mkdirs(b->cfg.store_root);
    if (rc == TERN_OK)
        rc = open_store(b);
    if (rc != TERN_OK) {
        cm_deinit(&b->clients);
        lock_table_deinit(&b->locks);
        reset_table_free(b->resets);
        broker_config_deinit(&b->cfg);
        free(b);
        return rc;
    }
    stats_init(&b->stats, b->boot_ms);
    if ((rc = open_tables(b)) != TERN_OK) {
        log_error("broker", "cannot load broker configs: %s", tern_strerror(rc));
        goto fail;
    }
    init_system_topics(b);
    restore_topics_from_store(b);
    add_system_topic(b, TIMER_TOPIC, 1, PERM_READ | PERM_WRITE);
    if ((rc = timer_init(&b->timer, &b->cfg, b->store)) != TERN_OK ||
        (rc = timer_start(&b->timer)) != TERN_OK)
        goto fail;
    if ((rc = txn_start(b)) != TERN_OK) /* transactions: before serving END_TRANSACTION */
        goto fail;
    if ((rc = hold_start(&b->hold, pull_replay, hold_max, b)) != TERN_OK)
        goto fail;
    store_set_arrival_cb(b->store, arrival, b);
    if (b->cfg.listen_port != 0)
        set_address(b, b->cfg.listen_port);
    if ((rc = start_servers(b)) != TERN_OK)
        goto fail;
    struct rclient_opts co;
    memset(&co, 0, sizeof co);
    /* Registration speaks TLS only with tlsMode=enforcing: then the embedded
     * name server enforces it too; a permissive broker registers in plain,
     * which plain and permissive name servers both accept. */
    co.tls = b->tls_mode == RTLS_ENFORCING;
    if ((rc = rclient_new(&co, &b->ns)) != TERN_OK)
        goto fail;
    if ((rc = register_start(b)) != TERN_OK || (rc = start_housekeeping(b)) != TERN_OK)
        goto fail;
    log_info("broker", "broker %s listening on %s:%d (advertised %s)", b->cfg.broker_name,
             "0.0.0.0", b->port, b->addr);
    *out = b;
    return TERN_OK;
fail:
    broker_stop(b);
    return rc;
}

int broker_port(const struct broker *b)
{
    return b->port;
}

const char *broker_addr(const struct broker *b)
{
    return b->addr;
}

void broker_stop(struct broker *b)
{
    if (!b)
        return;
    atomic_store(&b->stopping, true);
    /* Held pulls and SYNC_FLUSH acks are answered while the server can
     * still send them (later pulls are answered at once, not held). */
    if (b->hold.started)
        hold_stop(&b->hold);
    int64_t deadline = clock_mono_ms() + b->cfg.sync_flush_timeout_ms + 1000;
    while (atomic_load(&b->flush_waits) > 0 && clock_mono_ms() < deadline) {
        struct timespec ts = {0, 5 * 1000000};
        nanosleep(&ts, NULL);
    }
    /* Then the servers: no handler may run once the services below have
     * freed their state (handlers reach txn, timer, registration and
     * housekeeping). Sends to clients after this fail as closed. */
    rserver_stop(b->vip);
    rserver_stop(b->server);
    b->vip = b->server = NULL;
    txn_stop(b);           /* its thread may create topics: before registration */
    timer_stop(&b->timer); /* no I/O thread can notify it any more */
    stop_housekeeping(b);  /* may kick registration */
    if (b->ns)
        register_stop(b);
    if (b->store)
        store_set_arrival_cb(b->store, NULL, NULL);
    if (b->hold.replay)
        hold_deinit(&b->hold);
    if (b->topics.path && b->groups.path && b->offsets.path)
        persist_all(b, true);
    if (b->topics.path)
        topics_deinit(&b->topics);
    if (b->groups.path)
        groups_deinit(&b->groups);
    if (b->offsets.path)
        offsets_deinit(&b->offsets);
    store_close(b->store);
    rclient_free(b->ns);
    cm_deinit(&b->clients);
    lock_table_deinit(&b->locks);
    reset_table_free(b->resets);
    persist_acl_table(b);
    acl_slot_deinit(&b->acl_table);
    free(b->acl_table_path);
    stats_deinit(&b->stats);
    acl_free(b->acl);
    rtls_free(b->tls); /* after the servers that used it */
    log_info("broker", "broker %s stopped", b->cfg.broker_name);
    broker_config_deinit(&b->cfg);
    free(b);
}
