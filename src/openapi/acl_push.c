/* SPDX-License-Identifier: Apache-2.0 */
/* acl_push.c: building the access-control table from the metadata database
 * and pushing it to the brokers (see acl_push.h). */
#include "openapi/acl_push.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "common/arena.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "common/strmap.h"
#include "common/xalloc.h"
#include "openapi/admin.h"
#include "openapi/api.h"
#include "protocol/cmd.h"
#include "protocol/codes.h"
#include "protocol/json.h"

/* Values of the per-broker state map. */
#define PUSHED_OK     ((void *)1)
#define PUSHED_FAILED ((void *)2)

struct acl_push {
    struct openapi *o; /* borrowed: outlives the thread */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool kicked;   /* guarded by lock */
    bool stopping; /* guarded by lock */
    /* Thread-private. */
    buf_t text;       /* the current table */
    strmap_t brokers; /* broker address -> PUSHED_OK / PUSHED_FAILED for text */
};

/* ---- building ---------------------------------------------------------- */

/* Physical name of a resource (api_phys_name without a request). */
static void key_phys(jw_t *w, const char *key, const unsigned char *inst, int independent,
                     const unsigned char *name)
{
    jw_key(w, key);
    if (!independent) {
        jw_cstr(w, (const char *)name);
        return;
    }
    buf_t b;
    buf_init(&b);
    buf_append(&b, inst, strlen((const char *)inst));
    buf_append(&b, "%", 1);
    buf_append(&b, name, strlen((const char *)name));
    jw_str(w, tern_bytes(b.data, b.len));
    buf_deinit(&b);
}

static int build_accounts(sqlite3 *db, const char *admin_ak, const char *admin_sk, jw_t *w)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT k.access_key, k.secret_key, a.user_id, a.parent_id, k.enabled"
                           " FROM access_keys k JOIN accounts a ON a.user_id = k.user_id"
                           " ORDER BY k.access_key",
                           -1, &st, NULL) != SQLITE_OK)
        return TERN_ECORRUPT;
    jw_key(w, "accounts");
    jw_arr_begin(w);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *ak = (const char *)sqlite3_column_text(st, 0);
        if (!ak || (admin_ak && strcmp(ak, admin_ak) == 0))
            continue; /* the admin entry below wins */
        jw_obj_begin(w);
        jw_key(w, "accessKey");
        jw_cstr(w, ak);
        jw_key(w, "secretKey");
        jw_cstr(w, (const char *)sqlite3_column_text(st, 1));
        jw_key(w, "userId");
        jw_i64(w, sqlite3_column_int64(st, 2));
        jw_key(w, "parentId");
        jw_i64(w, sqlite3_column_int64(st, 3));
        jw_key(w, "enabled");
        jw_bool(w, sqlite3_column_int(st, 4) != 0);
        jw_obj_end(w);
    }
    sqlite3_finalize(st);
    if (admin_ak && *admin_ak) {
        jw_obj_begin(w);
        jw_key(w, "accessKey");
        jw_cstr(w, admin_ak);
        jw_key(w, "secretKey");
        jw_cstr(w, admin_sk ? admin_sk : "");
        jw_key(w, "userId");
        jw_i64(w, 0);
        jw_key(w, "admin");
        jw_bool(w, true);
        jw_obj_end(w);
    }
    jw_arr_end(w);
    return rc == SQLITE_DONE ? TERN_OK : TERN_ECORRUPT;
}

/* Writes the grants of one topic. */
static int build_grants(sqlite3_stmt *gs, const unsigned char *inst, const unsigned char *name,
                        jw_t *w)
{
    sqlite3_reset(gs);
    sqlite3_bind_text(gs, 1, (const char *)inst, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(gs, 2, (const char *)name, -1, SQLITE_TRANSIENT);
    jw_key(w, "grants");
    jw_arr_begin(w);
    int rc;
    while ((rc = sqlite3_step(gs)) == SQLITE_ROW) {
        jw_obj_begin(w);
        jw_key(w, "user");
        jw_i64(w, sqlite3_column_int64(gs, 0));
        jw_key(w, "relation");
        jw_i64(w, sqlite3_column_int64(gs, 1));
        jw_obj_end(w);
    }
    jw_arr_end(w);
    return rc == SQLITE_DONE ? TERN_OK : TERN_ECORRUPT;
}

static int build_topics(sqlite3 *db, jw_t *w)
{
    sqlite3_stmt *st = NULL, *gs = NULL;
    /* A topic belongs to its creator's main account (open-api.md §4.4). */
    if (sqlite3_prepare_v2(db,
                           "SELECT t.instance_id, t.name, i.independent_naming, t.perm,"
                           " CASE WHEN a.parent_id > 0 THEN a.parent_id ELSE t.owner END"
                           " FROM topics t JOIN instances i ON i.instance_id = t.instance_id"
                           " LEFT JOIN accounts a ON a.user_id = t.owner"
                           " ORDER BY t.instance_id, t.name",
                           -1, &st, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "SELECT empower_user, relation FROM empower"
                           " WHERE instance_id = ?1 AND topic = ?2 ORDER BY empower_user",
                           -1, &gs, NULL) != SQLITE_OK) {
        sqlite3_finalize(st);
        return TERN_ECORRUPT;
    }
    jw_key(w, "topics");
    jw_arr_begin(w);
    int rc, grc = TERN_OK;
    while (grc == TERN_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *inst = sqlite3_column_text(st, 0);
        const unsigned char *name = sqlite3_column_text(st, 1);
        jw_obj_begin(w);
        key_phys(w, "topic", inst, sqlite3_column_int(st, 2), name);
        jw_key(w, "owner");
        jw_i64(w, sqlite3_column_int64(st, 4));
        jw_key(w, "perm");
        jw_i64(w, sqlite3_column_int64(st, 3));
        grc = build_grants(gs, inst, name, w);
        jw_obj_end(w);
    }
    jw_arr_end(w);
    sqlite3_finalize(gs);
    sqlite3_finalize(st);
    return grc == TERN_OK && rc == SQLITE_DONE ? TERN_OK : TERN_ECORRUPT;
}

static int build_groups(sqlite3 *db, jw_t *w)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT g.instance_id, g.name, i.independent_naming, g.owner,"
                           " CASE WHEN a.parent_id > 0 THEN a.parent_id ELSE g.owner END,"
                           " g.read_enable"
                           " FROM group_ids g JOIN instances i ON i.instance_id = g.instance_id"
                           " LEFT JOIN accounts a ON a.user_id = g.owner"
                           " ORDER BY g.instance_id, g.name",
                           -1, &st, NULL) != SQLITE_OK)
        return TERN_ECORRUPT;
    jw_key(w, "groups");
    jw_arr_begin(w);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        jw_obj_begin(w);
        key_phys(w, "group", sqlite3_column_text(st, 0), sqlite3_column_int(st, 2),
                 sqlite3_column_text(st, 1));
        jw_key(w, "owner");
        jw_i64(w, sqlite3_column_int64(st, 3));
        jw_key(w, "ownerMain");
        jw_i64(w, sqlite3_column_int64(st, 4));
        jw_key(w, "readEnable");
        jw_bool(w, sqlite3_column_int(st, 5) != 0);
        jw_obj_end(w);
    }
    jw_arr_end(w);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? TERN_OK : TERN_ECORRUPT;
}

int acl_push_build(sqlite3 *db, const char *admin_ak, const char *admin_sk, buf_t *out)
{
    jw_t w;
    jw_init(&w, out);
    jw_obj_begin(&w);
    int rc = build_accounts(db, admin_ak, admin_sk, &w);
    if (rc == TERN_OK)
        rc = build_topics(db, &w);
    if (rc == TERN_OK)
        rc = build_groups(db, &w);
    jw_obj_end(&w);
    return rc;
}

/* ---- pushing ----------------------------------------------------------- */

/* Rebuilds the table; true when it changed. */
static bool rebuild(struct acl_push *p)
{
    struct openapi *o = p->o;
    buf_t fresh;
    buf_init(&fresh);
    pthread_mutex_lock(&o->meta_lock);
    int rc = acl_push_build(o->db, o->cfg.acl_admin_ak, o->cfg.acl_admin_sk, &fresh);
    pthread_mutex_unlock(&o->meta_lock);
    bool changed = false;
    if (rc != TERN_OK) {
        log_error("openapi", "acl push: cannot read the database: %s", sqlite3_errmsg(o->db));
    } else if (!tern_bytes_eq(buf_view(&fresh), buf_view(&p->text))) {
        if (p->text.len)
            OPENSSL_cleanse(p->text.data, p->text.len);
        buf_deinit(&p->text);
        p->text = fresh;
        buf_init(&fresh);
        changed = true;
    }
    if (fresh.len)
        OPENSSL_cleanse(fresh.data, fresh.len);
    buf_deinit(&fresh);
    return changed;
}

static void push_one(struct acl_push *p, const char *addr, arena_t *ar)
{
    struct rcmd req;
    rcmd_init(&req);
    req.code = RC_TERN_PUT_ACL_TABLE;
    req.body = buf_view(&p->text);
    struct admin_reply rep;
    char err[256];
    void *was = strmap_get_cstr(&p->brokers, addr);
    int rc = admin_request(p->o->admin, addr, &req, ar, &rep, err, sizeof err);
    if (rc == TERN_OK && rep.code != RESP_SUCCESS) {
        snprintf(err, sizeof err, "%s refused (code %d): %.*s", addr, rep.code,
                 (int)(rep.remark.len > 200 ? 200 : rep.remark.len),
                 rep.remark.ptr ? (const char *)rep.remark.ptr : "");
        rc = TERN_EREMOTE;
    }
    if (rc == TERN_OK) {
        if (was != PUSHED_OK)
            log_info("openapi", "acl table pushed to %s (%zu bytes)", addr, p->text.len);
        strmap_put(&p->brokers, tern_cstr(addr), PUSHED_OK);
        return;
    }
    if (was != PUSHED_FAILED)
        log_warn("openapi", "acl push: %s", err);
    strmap_put(&p->brokers, tern_cstr(addr), PUSHED_FAILED);
}

/* Pushes to every master; all of them when force, else only those that
 * have not been tried with the current table. */
static void push_round(struct acl_push *p, bool force)
{
    arena_t ar;
    arena_init(&ar);
    const char **clusters = NULL;
    size_t nc = 0;
    char err[256];
    if (admin_list_clusters(p->o->admin, &ar, &clusters, &nc, err, sizeof err) != TERN_OK)
        nc = 0;
    for (size_t c = 0; c < nc; c++) {
        struct admin_broker *b = NULL;
        size_t nb = 0;
        if (admin_brokers(p->o->admin, clusters[c], &ar, &b, &nb, err, sizeof err) != TERN_OK)
            continue;
        for (size_t i = 0; i < nb; i++)
            if (force || !strmap_get_cstr(&p->brokers, b[i].addr))
                push_one(p, b[i].addr, &ar);
    }
    arena_deinit(&ar);
}

static void *push_main(void *arg)
{
    pthread_setname_np(pthread_self(), "tern-acl-push");
    struct acl_push *p = arg;
    int64_t next_full = 0;
    pthread_mutex_lock(&p->lock);
    while (!p->stopping) {
        if (!p->kicked) {
            int64_t wake = clock_mono_ms() + ACL_PUSH_TICK_MS;
            struct timespec ts = {wake / 1000, (wake % 1000) * 1000000};
            pthread_cond_timedwait(&p->cond, &p->lock, &ts);
        }
        if (p->stopping)
            break;
        bool kicked = p->kicked;
        p->kicked = false;
        pthread_mutex_unlock(&p->lock);
        int64_t now = clock_mono_ms();
        bool force = now >= next_full;
        if (force)
            next_full = now + p->o->cfg.acl_push_interval_ms;
        if (kicked || force || p->text.len == 0)
            force = rebuild(p) || force;
        push_round(p, force);
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

int acl_push_start(struct openapi *o, struct acl_push **out)
{
    *out = NULL;
    if (!o->cfg.acl_admin_ak || !*o->cfg.acl_admin_ak)
        return TERN_OK;
    admin_set_credentials(o->admin, o->cfg.acl_admin_ak, o->cfg.acl_admin_sk);
    struct acl_push *p = xcalloc(1, sizeof *p);
    p->o = o;
    buf_init(&p->text);
    strmap_init(&p->brokers);
    pthread_mutex_init(&p->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cond, &ca);
    pthread_condattr_destroy(&ca);
    int rc = pthread_create(&p->thread, NULL, push_main, p);
    if (rc != 0) {
        pthread_cond_destroy(&p->cond);
        pthread_mutex_destroy(&p->lock);
        strmap_deinit(&p->brokers);
        free(p);
        return -rc;
    }
    *out = p;
    return TERN_OK;
}

void acl_push_kick(struct acl_push *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->kicked = true;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

void acl_push_stop(struct acl_push *p)
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
    strmap_deinit(&p->brokers);
    if (p->text.len)
        OPENSSL_cleanse(p->text.data, p->text.len);
    buf_deinit(&p->text);
    free(p);
}
