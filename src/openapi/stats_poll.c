/* SPDX-License-Identifier: Apache-2.0 */
/* stats_poll.c: the statistics poller (see stats_poll.h). */
#include "openapi/stats_poll.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/arena.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "openapi/admin.h"
#include "openapi/db.h"
#include "protocol/cmd.h"
#include "protocol/codes.h"
#include "protocol/json.h"

#define MAX_BROKERS 256
/* Minutes asked for on the first poll of a broker (its ring keeps 64). */
#define FIRST_MINUTES 60

/* Where the previous answer of one broker ended. */
struct known_broker {
    char key[300]; /* "<cluster>/<brokerName>" */
    int64_t since; /* minute to ask from next time */
};

struct stats_poller {
    struct admin *admin; /* borrowed */
    sqlite3 *db;         /* owned: this thread's own connection */
    int poll_ms;
    int retention_days;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stopping; /* guarded by lock */
    struct known_broker known[MAX_BROKERS];
    size_t nknown;
};

static struct known_broker *known_of(struct stats_poller *p, const char *cluster,
                                     const char *broker, int64_t now_minute)
{
    char key[300];
    snprintf(key, sizeof key, "%s/%s", cluster, broker);
    for (size_t i = 0; i < p->nknown; i++)
        if (strcmp(p->known[i].key, key) == 0)
            return &p->known[i];
    if (p->nknown == MAX_BROKERS)
        return NULL;
    struct known_broker *k = &p->known[p->nknown++];
    snprintf(k->key, sizeof k->key, "%s", key);
    k->since = now_minute - FIRST_MINUTES;
    return k;
}

/* Upserts one series ("minutes":[[m,v],..]) of one key. */
static int put_series(sqlite3_stmt *up, int kind, const char *cluster, const char *broker,
                      tern_bytes_t topic, tern_bytes_t grp, const struct json_val *minutes)
{
    for (size_t i = 0; minutes && minutes->type == JSON_ARRAY && i < minutes->n; i++) {
        const struct json_val *pt = &minutes->items[i];
        int64_t m, v;
        if (pt->type != JSON_ARRAY || pt->n != 2 || json_val_i64(&pt->items[0], &m) != TERN_OK ||
            json_val_i64(&pt->items[1], &v) != TERN_OK)
            continue;
        sqlite3_reset(up);
        sqlite3_bind_int(up, 1, kind);
        sqlite3_bind_text(up, 2, cluster, -1, SQLITE_STATIC);
        sqlite3_bind_text(up, 3, (const char *)topic.ptr, (int)topic.len, SQLITE_STATIC);
        sqlite3_bind_text(up, 4, grp.ptr ? (const char *)grp.ptr : "", (int)grp.len, SQLITE_STATIC);
        sqlite3_bind_int64(up, 5, m);
        sqlite3_bind_text(up, 6, broker, -1, SQLITE_STATIC);
        sqlite3_bind_int64(up, 7, v);
        if (sqlite3_step(up) != SQLITE_DONE)
            return TERN_ECORRUPT;
    }
    return TERN_OK;
}

/* Stores one GET_STATS_MINUTES body in one transaction. */
static int store_body(struct stats_poller *p, const char *cluster, const char *broker,
                      const struct json_val *root)
{
    static const char *const SERIES[] = {"topicPut", "groupGet"};
    sqlite3_stmt *up = NULL;
    if (sqlite3_prepare_v2(
            p->db,
            "INSERT INTO stats_minute(kind, cluster, topic, grp, minute, broker,"
            " count) VALUES(?,?,?,?,?,?,?) ON CONFLICT(kind, cluster, topic, grp, minute,"
            " broker) DO UPDATE SET"
            " count=max(count, excluded.count)",
            -1, &up, NULL) != SQLITE_OK)
        return TERN_ECORRUPT;
    int rc = db_begin(p->db);
    for (int kind = 0; rc == TERN_OK && kind < 2; kind++) {
        const struct json_val *list = json_get(root, SERIES[kind]);
        for (size_t i = 0; rc == TERN_OK && list && list->type == JSON_ARRAY && i < list->n; i++) {
            const struct json_val *e = &list->items[i];
            tern_bytes_t topic = json_get_str(e, "topic");
            tern_bytes_t grp = kind == 1 ? json_get_str(e, "group") : TERN_BYTES_NULL;
            if (!topic.ptr || (kind == 1 && !grp.ptr))
                continue;
            rc = put_series(up, kind, cluster, broker, topic, grp, json_get(e, "minutes"));
        }
    }
    sqlite3_finalize(up);
    if (rc == TERN_OK)
        rc = db_commit(p->db);
    if (rc != TERN_OK) {
        log_warn("openapi", "cannot store statistics broker=%s err=%s", broker,
                 sqlite3_errmsg(p->db));
        db_rollback(p->db);
    }
    return rc;
}

static void poll_broker(struct stats_poller *p, arena_t *ar, const char *cluster,
                        const struct admin_broker *b, int64_t now_minute)
{
    struct known_broker *k = known_of(p, cluster, b->name, now_minute);
    if (!k)
        return;
    char err[400];
    struct rcmd req;
    rcmd_init(&req);
    req.code = RC_TERN_GET_STATS_MINUTES;
    rcmd_add_i64(&req, "sinceMinute", k->since);
    struct admin_reply rep;
    if (admin_request(p->admin, b->addr, &req, ar, &rep, err, sizeof err) != TERN_OK) {
        log_debug("openapi", "statistics poll failed broker=%s: %s", b->name, err);
        return;
    }
    struct json_val *root;
    int64_t now;
    if (rep.code != RESP_SUCCESS || json_parse(rep.body, ar, &root) != TERN_OK ||
        json_get_i64(root, "nowMinute", &now) != TERN_OK) {
        log_debug("openapi", "statistics poll refused broker=%s code=%d", b->name, rep.code);
        return;
    }
    if (json_get_bool(root, "truncated", false))
        log_warn("openapi", "statistics of broker=%s are truncated (too many keys)", b->name);
    /* Ask for the broker's current minute again: it was still growing. */
    if (store_body(p, cluster, b->name, root) == TERN_OK)
        k->since = now;
}

static void prune(struct stats_poller *p, int64_t now_minute)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(p->db, "DELETE FROM stats_minute WHERE minute < ?", -1, &st, NULL) !=
        SQLITE_OK)
        return;
    sqlite3_bind_int64(st, 1, now_minute - (int64_t)p->retention_days * 24 * 60);
    if (sqlite3_step(st) != SQLITE_DONE)
        log_warn("openapi", "cannot prune statistics err=%s", sqlite3_errmsg(p->db));
    sqlite3_finalize(st);
}

static void poll_once(struct stats_poller *p)
{
    arena_t ar;
    arena_init(&ar);
    char err[400];
    const char **clusters;
    size_t nc = 0;
    int64_t now_minute = clock_wall_ms() / 60000;
    if (admin_list_clusters(p->admin, &ar, &clusters, &nc, err, sizeof err) != TERN_OK)
        log_debug("openapi", "statistics poll: %s", err);
    for (size_t c = 0; c < nc; c++) {
        struct admin_broker *b;
        size_t nb = 0;
        if (admin_brokers(p->admin, clusters[c], &ar, &b, &nb, err, sizeof err) != TERN_OK)
            continue;
        for (size_t i = 0; i < nb; i++)
            poll_broker(p, &ar, clusters[c], &b[i], now_minute);
    }
    prune(p, now_minute);
    arena_deinit(&ar);
}

static void *poller_main(void *arg)
{
    pthread_setname_np(pthread_self(), "tern-api-stats");
    struct stats_poller *p = arg;
    pthread_mutex_lock(&p->lock);
    while (!p->stopping) {
        pthread_mutex_unlock(&p->lock);
        poll_once(p);
        pthread_mutex_lock(&p->lock);
        int64_t wake = clock_mono_ms() + p->poll_ms;
        struct timespec ts = {wake / 1000, (wake % 1000) * 1000000};
        while (!p->stopping && clock_mono_ms() < wake)
            pthread_cond_timedwait(&p->cond, &p->lock, &ts);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

int stats_poller_start(const char *db_path, struct admin *admin, int poll_ms, int retention_days,
                       struct stats_poller **out)
{
    struct stats_poller *p = xcalloc(1, sizeof *p);
    p->admin = admin;
    p->poll_ms = poll_ms;
    p->retention_days = retention_days;
    if (sqlite3_open_v2(db_path, &p->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
            SQLITE_OK ||
        sqlite3_busy_timeout(p->db, 5000) != SQLITE_OK ||
        /* Statistics can be re-fetched: no fsync per poll. */
        sqlite3_exec(p->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL) != SQLITE_OK) {
        log_error("openapi", "statistics: cannot open %s: %s", db_path,
                  p->db ? sqlite3_errmsg(p->db) : "no memory");
        sqlite3_close(p->db);
        free(p);
        return TERN_ECORRUPT;
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&p->thread, NULL, poller_main, p) != 0) {
        pthread_cond_destroy(&p->cond);
        pthread_mutex_destroy(&p->lock);
        sqlite3_close(p->db);
        free(p);
        return TERN_ENOMEM;
    }
    *out = p;
    return TERN_OK;
}

void stats_poller_stop(struct stats_poller *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
    sqlite3_close(p->db);
    free(p);
}
