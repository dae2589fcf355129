/* SPDX-License-Identifier: Apache-2.0 */
/* namesrv.c: name server lifecycle (see namesrv.h): the remoting server
 * with the processor table, the expiry scan thread, and the connection-close
 * hook that drops brokers registered over a closed connection.
 *
 * Start order: tables, scan thread, server. Stop order: server first (its
 * close hooks still use the tables), then the scan thread, then the tables. */
#include "namesrv/namesrv.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "namesrv/namesrv_int.h"

void namesrv_config_defaults(struct namesrv_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->bind_host = NULL;
    cfg->port = 9876;
    cfg->io_threads = 1;
    cfg->broker_expire_ms = 120000;
    cfg->scan_interval_ms = 5000;
}

static void on_close(void *ctx, struct rconn *c)
{
    struct namesrv *ns = ctx;
    if (!atomic_load(&ns->closing))
        routes_conn_closed(ns->routes, rconn_id(c));
}

/* The scan thread: every scan_interval_ms, expire silent brokers. Sleeps on
 * scan_cv so that namesrv_stop wakes it at once. */
static void *scan_main(void *arg)
{
    pthread_setname_np(pthread_self(), "tern-ns-scan");
    struct namesrv *ns = arg;
    pthread_mutex_lock(&ns->scan_mu);
    while (!ns->stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t ns_total = ts.tv_nsec + (int64_t)ns->cfg.scan_interval_ms * 1000000;
        ts.tv_sec += (time_t)(ns_total / 1000000000);
        ts.tv_nsec = (long)(ns_total % 1000000000);
        int rc = pthread_cond_timedwait(&ns->scan_cv, &ns->scan_mu, &ts);
        if (ns->stopping)
            break;
        if (rc == ETIMEDOUT) {
            pthread_mutex_unlock(&ns->scan_mu);
            routes_expire(ns->routes, clock_mono_ms());
            pthread_mutex_lock(&ns->scan_mu);
        }
    }
    pthread_mutex_unlock(&ns->scan_mu);
    return NULL;
}

static int check_config(const struct namesrv_config *cfg)
{
    if (cfg->port < 0 || cfg->port > 65535 || cfg->io_threads < 1 || cfg->io_threads > 256 ||
        cfg->broker_expire_ms < 1 || cfg->scan_interval_ms < 1)
        return TERN_ECONFIG;
    return TERN_OK;
}

static int init_scan(struct namesrv *ns)
{
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0)
        return TERN_ENOMEM;
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&ns->scan_cv, &ca);
    pthread_condattr_destroy(&ca);
    if (rc != 0)
        return -rc;
    pthread_mutex_init(&ns->scan_mu, NULL);
    rc = pthread_create(&ns->scan_thread, NULL, scan_main, ns);
    if (rc != 0) {
        pthread_cond_destroy(&ns->scan_cv);
        pthread_mutex_destroy(&ns->scan_mu);
        return -rc;
    }
    ns->scan_started = true;
    return TERN_OK;
}

static void stop_scan(struct namesrv *ns)
{
    if (!ns->scan_started)
        return;
    pthread_mutex_lock(&ns->scan_mu);
    ns->stopping = true;
    pthread_cond_signal(&ns->scan_cv);
    pthread_mutex_unlock(&ns->scan_mu);
    pthread_join(ns->scan_thread, NULL);
    pthread_cond_destroy(&ns->scan_cv);
    pthread_mutex_destroy(&ns->scan_mu);
    ns->scan_started = false;
}

int namesrv_start(const struct namesrv_config *cfg, struct namesrv **out)
{
    int rc = check_config(cfg);
    if (rc != TERN_OK)
        return rc;
    struct namesrv *ns = xcalloc(1, sizeof *ns);
    ns->cfg = *cfg;
    ns->cfg.bind_host = NULL;
    rc = routes_new(&ns->routes);
    if (rc == TERN_OK)
        rc = kvconfig_new(&ns->kv);
    if (rc == TERN_OK)
        rc = init_scan(ns);
    if (rc == TERN_OK) {
        struct rserver_opts o;
        memset(&o, 0, sizeof o);
        o.bind_host = cfg->bind_host;
        o.port = cfg->port;
        o.io_threads = cfg->io_threads;
        o.table = namesrv_processors(&o.ntable);
        o.ctx = ns;
        o.on_close = on_close;
        o.tls = cfg->tls;
        o.tls_mode = (enum rtls_mode)cfg->tls_mode;
        rc = rserver_start(&o, &ns->server);
    }
    if (rc != TERN_OK) {
        log_error("namesrv", "start failed port=%d err=%s", cfg->port, tern_strerror(rc));
        namesrv_stop(ns);
        return rc;
    }
    *out = ns;
    return TERN_OK;
}

int namesrv_port(const struct namesrv *ns)
{
    return rserver_port(ns->server);
}

void namesrv_stop(struct namesrv *ns)
{
    if (!ns)
        return;
    atomic_store(&ns->closing, true); /* the tables are about to go anyway */
    rserver_stop(ns->server);
    ns->server = NULL;
    stop_scan(ns);
    kvconfig_free(ns->kv);
    routes_free(ns->routes);
    free(ns);
}
