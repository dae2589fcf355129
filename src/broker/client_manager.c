/* SPDX-License-Identifier: Apache-2.0 */
/* client_manager.c: group membership and subscriptions (see
 * client_manager.h). Groups are small (tens of members), so members and
 * subscriptions are plain arrays scanned linearly under one mutex. */
#include "broker/client_manager.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "protocol/codes.h"
#include "protocol/cmd.h"
#include "protocol/json.h"
#include "remoting/remoting.h"

struct cm_member {
    struct rconn *conn; /* one reference held */
    char *client_id;    /* owned */
    int language;
    int version;
    int64_t last_hb_ms;
};

struct cm_sub {
    char *topic; /* owned */
    char *expr;  /* owned */
    bool is_sql92;
    int64_t sub_version;
    struct tag_filter filter;
};

struct cm_group {
    char *name;      /* owned; may hold NUL bytes, see name_len */
    size_t name_len; /* the map key's length */
    int consume_type;
    int message_model;
    int consume_from;
    bool notify_enabled;
    size_t nmembers, cap_members;
    struct cm_member *members; /* owned array */
    size_t nsubs, cap_subs;
    struct cm_sub *subs; /* owned array */
};

/* Connections to notify, collected under the lock, sent after it. */
struct notify_list {
    char group[256];
    size_t n;
    struct rconn **conns; /* owned array; one reference per entry */
};

static const char *lang_name(int lang)
{
    static const char *const NAMES[] = {"JAVA",   "CPP",  "DOTNET", "PYTHON", "DELPHI",
                                        "ERLANG", "RUBY", "OTHER",  "HTTP",   "GO",
                                        "PHP",    "OMS",  "RUST",   "NODE_JS"};
    if (lang >= 0 && lang < (int)(sizeof NAMES / sizeof NAMES[0]))
        return NAMES[lang];
    return "OTHER";
}

void cm_init(struct client_manager *cm)
{
    pthread_mutex_init(&cm->lock, NULL);
    strmap_init(&cm->consumers);
    strmap_init(&cm->producers);
}

static void member_free(struct cm_member *m)
{
    free(m->client_id);
    rconn_unref(m->conn);
}

static void group_free(struct cm_group *g)
{
    for (size_t i = 0; i < g->nmembers; i++)
        member_free(&g->members[i]);
    for (size_t i = 0; i < g->nsubs; i++) {
        free(g->subs[i].topic);
        free(g->subs[i].expr);
    }
    free(g->members);
    free(g->subs);
    free(g->name);
    free(g);
}

void cm_deinit(struct client_manager *cm)
{
    const char *k;
    void *v;
    for (size_t it = 0; strmap_next(&cm->consumers, &it, &k, &v);)
        group_free(v);
    for (size_t it = 0; strmap_next(&cm->producers, &it, &k, &v);)
        group_free(v);
    strmap_deinit(&cm->consumers);
    strmap_deinit(&cm->producers);
    pthread_mutex_destroy(&cm->lock);
}

static struct cm_group *group_get(strmap_t *m, tern_bytes_t name, bool create)
{
    struct cm_group *g = strmap_get(m, name);
    if (!g && create) {
        g = xcalloc(1, sizeof *g);
        g->name = xmalloc(name.len + 1);
        memcpy(g->name, name.ptr, name.len);
        g->name[name.len] = '\0';
        g->name_len = name.len;
        g->message_model = MODEL_CLUSTERING;
        g->notify_enabled = true;
        strmap_put(m, name, g);
    }
    return g;
}

/* Adds or refreshes a member; returns true if it is new. */
static bool member_upsert(struct cm_group *g, const struct cm_client *cl, int64_t now)
{
    for (size_t i = 0; i < g->nmembers; i++) {
        struct cm_member *m = &g->members[i];
        if (m->conn == cl->conn) {
            m->last_hb_ms = now;
            m->language = cl->language;
            m->version = cl->version;
            if (!tern_bytes_eq_cstr(cl->client_id, m->client_id)) {
                free(m->client_id);
                m->client_id = xstrndup((const char *)cl->client_id.ptr, cl->client_id.len);
                return true;
            }
            return false;
        }
    }
    if (g->nmembers == g->cap_members) {
        g->cap_members = g->cap_members ? g->cap_members * 2 : 4;
        g->members = xrealloc(g->members, g->cap_members * sizeof *g->members);
    }
    struct cm_member *m = &g->members[g->nmembers++];
    rconn_ref(cl->conn);
    m->conn = cl->conn;
    m->client_id = xstrndup((const char *)cl->client_id.ptr, cl->client_id.len);
    m->language = cl->language;
    m->version = cl->version;
    m->last_hb_ms = now;
    return true;
}

static bool member_remove(struct cm_group *g, struct rconn *conn)
{
    for (size_t i = 0; i < g->nmembers; i++) {
        if (g->members[i].conn == conn) {
            member_free(&g->members[i]);
            g->members[i] = g->members[--g->nmembers];
            return true;
        }
    }
    return false;
}

static struct cm_sub *sub_find(struct cm_group *g, tern_bytes_t topic)
{
    for (size_t i = 0; i < g->nsubs; i++) {
        if (tern_bytes_eq_cstr(topic, g->subs[i].topic))
            return &g->subs[i];
    }
    return NULL;
}

/* Replaces the subscription table with the heartbeat's; true if the topic
 * set or an expression changed. */
static bool subs_update(struct cm_group *g, const struct hb_consumer *c)
{
    bool changed = false;
    for (size_t i = 0; i < c->nsubs; i++) {
        const struct hb_subscription *s = &c->subs[i];
        struct cm_sub *cur = sub_find(g, s->topic);
        if (!cur) {
            if (g->nsubs == g->cap_subs) {
                g->cap_subs = g->cap_subs ? g->cap_subs * 2 : 4;
                g->subs = xrealloc(g->subs, g->cap_subs * sizeof *g->subs);
            }
            cur = &g->subs[g->nsubs++];
            memset(cur, 0, sizeof *cur);
            cur->topic = xstrndup((const char *)s->topic.ptr, s->topic.len);
            changed = true;
        } else if (!tern_bytes_eq_cstr(s->sub_string, cur->expr)) {
            changed = true;
        } else if (s->sub_version < cur->sub_version) {
            continue; /* an older heartbeat overtaken by a newer one */
        }
        free(cur->expr);
        cur->expr = xstrndup((const char *)s->sub_string.ptr, s->sub_string.len);
        cur->is_sql92 = s->is_sql92;
        cur->sub_version = s->sub_version;
        tag_filter_build(&cur->filter, s->match_all, s->tags, s->ntags);
    }
    /* Drop topics the group no longer subscribes to. */
    for (size_t i = 0; i < g->nsubs;) {
        bool keep = false;
        for (size_t j = 0; j < c->nsubs && !keep; j++)
            keep = tern_bytes_eq_cstr(c->subs[j].topic, g->subs[i].topic);
        if (keep) {
            i++;
            continue;
        }
        free(g->subs[i].topic);
        free(g->subs[i].expr);
        g->subs[i] = g->subs[--g->nsubs];
        changed = true;
    }
    return changed;
}

/* Collects the group's connections for a notification (lock held). */
static void collect_notify(struct cm_group *g, struct notify_list *nl)
{
    if (g->message_model != MODEL_CLUSTERING || !g->notify_enabled || g->nmembers == 0)
        return;
    snprintf(nl->group, sizeof nl->group, "%s", g->name);
    nl->conns = xmalloc(g->nmembers * sizeof *nl->conns);
    for (size_t i = 0; i < g->nmembers; i++) {
        rconn_ref(g->members[i].conn);
        nl->conns[nl->n++] = g->members[i].conn;
    }
}

static void send_notify(struct notify_list *nl)
{
    for (size_t i = 0; i < nl->n; i++) {
        struct rcmd req;
        rcmd_init(&req);
        req.code = RC_NOTIFY_CONSUMER_IDS_CHANGED;
        rcmd_add_cstr(&req, "consumerGroup", nl->group);
        rconn_send_oneway(nl->conns[i], &req);
        rcmd_deinit(&req);
        rconn_unref(nl->conns[i]);
    }
    free(nl->conns);
    nl->conns = NULL;
    nl->n = 0;
}

bool cm_consumer_heartbeat(struct client_manager *cm, const struct cm_client *cl,
                           const struct hb_consumer *c, bool notify_enabled, int64_t now_ms)
{
    struct notify_list nl = {0};
    pthread_mutex_lock(&cm->lock);
    struct cm_group *g = group_get(&cm->consumers, c->group, true);
    g->consume_type = c->consume_type;
    g->message_model = c->message_model;
    g->consume_from = c->consume_from;
    g->notify_enabled = notify_enabled;
    bool changed = member_upsert(g, cl, now_ms);
    if (subs_update(g, c))
        changed = true;
    if (changed)
        collect_notify(g, &nl);
    pthread_mutex_unlock(&cm->lock);
    send_notify(&nl);
    return changed;
}

void cm_producer_heartbeat(struct client_manager *cm, const struct cm_client *cl,
                           tern_bytes_t group, int64_t now_ms)
{
    pthread_mutex_lock(&cm->lock);
    struct cm_group *g = group_get(&cm->producers, group, true);
    member_upsert(g, cl, now_ms);
    pthread_mutex_unlock(&cm->lock);
}

/* Removes conn from one consumer group (lock held), collecting notifies. */
static void consumer_leave(struct client_manager *cm, struct cm_group *g, struct rconn *conn,
                           struct notify_list *nl, size_t *nnl, size_t cap)
{
    if (!member_remove(g, conn))
        return;
    if (g->nmembers == 0) {
        strmap_del(&cm->consumers, tern_bytes(g->name, g->name_len));
        group_free(g);
        return;
    }
    if (*nnl < cap)
        collect_notify(g, &nl[(*nnl)++]);
}

static void producer_leave(struct client_manager *cm, struct cm_group *g, struct rconn *conn)
{
    if (member_remove(g, conn) && g->nmembers == 0) {
        strmap_del(&cm->producers, tern_bytes(g->name, g->name_len));
        group_free(g);
    }
}

#define MAX_NOTIFY_GROUPS 64

void cm_unregister(struct client_manager *cm, struct rconn *conn, tern_bytes_t producer_group,
                   tern_bytes_t consumer_group)
{
    struct notify_list nl[1] = {{{0}, 0, NULL}};
    size_t nnl = 0;
    pthread_mutex_lock(&cm->lock);
    if (producer_group.len) {
        struct cm_group *g = group_get(&cm->producers, producer_group, false);
        if (g)
            producer_leave(cm, g, conn);
    }
    if (consumer_group.len) {
        struct cm_group *g = group_get(&cm->consumers, consumer_group, false);
        if (g)
            consumer_leave(cm, g, conn, nl, &nnl, 1);
    }
    pthread_mutex_unlock(&cm->lock);
    for (size_t i = 0; i < nnl; i++)
        send_notify(&nl[i]);
}

/* Removes conn (or, with conn NULL, every expired member) from all groups. */
static int remove_everywhere(struct client_manager *cm, struct rconn *conn, int64_t cutoff)
{
    struct notify_list nl[MAX_NOTIFY_GROUPS];
    memset(nl, 0, sizeof nl);
    size_t nnl = 0;
    struct rconn *to_close[64];
    size_t nclose = 0;
    int dropped = 0;
    pthread_mutex_lock(&cm->lock);
    strmap_t *maps[2] = {&cm->consumers, &cm->producers};
    for (int mi = 0; mi < 2; mi++) {
        const char *k;
        void *v;
        for (size_t it = 0; strmap_next(maps[mi], &it, &k, &v);) {
            struct cm_group *g = v;
            for (size_t i = g->nmembers; i-- > 0;) {
                struct cm_member *m = &g->members[i];
                if (conn ? m->conn != conn : m->last_hb_ms >= cutoff)
                    continue;
                struct rconn *c = m->conn;
                if (!conn) {
                    dropped++;
                    if (nclose < 64) {
                        rconn_ref(c);
                        to_close[nclose++] = c;
                    }
                }
                if (mi == 0)
                    consumer_leave(cm, g, c, nl, &nnl, MAX_NOTIFY_GROUPS);
                else
                    producer_leave(cm, g, c);
                break; /* g may be freed; one member per group per pass */
            }
        }
    }
    pthread_mutex_unlock(&cm->lock);
    for (size_t i = 0; i < nnl; i++)
        send_notify(&nl[i]);
    for (size_t i = 0; i < nclose; i++) {
        rconn_close(to_close[i]);
        rconn_unref(to_close[i]);
    }
    return dropped;
}

void cm_conn_closed(struct client_manager *cm, struct rconn *conn)
{
    remove_everywhere(cm, conn, 0);
}

int cm_scan_expired(struct client_manager *cm, int64_t now_ms, int64_t expire_ms)
{
    int total = 0, n;
    /* One member per group per pass (groups may vanish mid-iteration). */
    while ((n = remove_everywhere(cm, NULL, now_ms - expire_ms)) > 0)
        total += n;
    return total;
}

size_t cm_consumer_ids_json(struct client_manager *cm, tern_bytes_t group, buf_t *out)
{
    pthread_mutex_lock(&cm->lock);
    struct cm_group *g = group_get(&cm->consumers, group, false);
    size_t n = g ? g->nmembers : 0;
    if (n) {
        jw_t w;
        jw_init(&w, out);
        jw_obj_begin(&w);
        jw_key(&w, "consumerIdList");
        jw_arr_begin(&w);
        for (size_t i = 0; i < n; i++)
            jw_cstr(&w, g->members[i].client_id);
        jw_arr_end(&w);
        jw_obj_end(&w);
    }
    pthread_mutex_unlock(&cm->lock);
    return n;
}

int cm_find_subscription(struct client_manager *cm, tern_bytes_t group, tern_bytes_t topic,
                         struct cm_sub_view *out)
{
    int rc = 1;
    pthread_mutex_lock(&cm->lock);
    struct cm_group *g = group_get(&cm->consumers, group, false);
    if (g) {
        struct cm_sub *s = sub_find(g, topic);
        rc = 2;
        if (s) {
            out->sub_version = s->sub_version;
            out->is_sql92 = s->is_sql92;
            out->message_model = g->message_model;
            out->filter = s->filter;
            rc = 0;
        }
    }
    pthread_mutex_unlock(&cm->lock);
    return rc;
}

static void connection_set(jw_t *w, struct cm_group *g)
{
    jw_key(w, "connectionSet");
    jw_arr_begin(w);
    for (size_t i = 0; i < g->nmembers; i++) {
        struct cm_member *m = &g->members[i];
        jw_obj_begin(w);
        jw_key(w, "clientAddr");
        jw_cstr(w, rconn_peer(m->conn));
        jw_key(w, "clientId");
        jw_cstr(w, m->client_id);
        jw_key(w, "language");
        jw_cstr(w, lang_name(m->language));
        jw_key(w, "version");
        jw_i64(w, m->version);
        jw_obj_end(w);
    }
    jw_arr_end(w);
}

bool cm_consumer_connection_json(struct client_manager *cm, tern_bytes_t group, buf_t *out)
{
    pthread_mutex_lock(&cm->lock);
    struct cm_group *g = group_get(&cm->consumers, group, false);
    bool ok = g && g->nmembers > 0;
    if (ok) {
        jw_t w;
        jw_init(&w, out);
        jw_obj_begin(&w);
        connection_set(&w, g);
        jw_key(&w, "consumeFromWhere");
        jw_cstr(&w, consume_from_name(g->consume_from));
        jw_key(&w, "consumeType");
        jw_cstr(&w, consume_type_name(g->consume_type));
        jw_key(&w, "messageModel");
        jw_cstr(&w, message_model_name(g->message_model));
        jw_key(&w, "subscriptionTable");
        jw_obj_begin(&w);
        for (size_t i = 0; i < g->nsubs; i++) {
            struct cm_sub *s = &g->subs[i];
            jw_key(&w, s->topic);
            jw_obj_begin(&w);
            jw_key(&w, "classFilterMode");
            jw_bool(&w, false);
            jw_key(&w, "codeSet");
            jw_arr_begin(&w);
            for (int t = 0; !s->filter.match_all && t < s->filter.ntags; t++)
                jw_i64(&w, s->filter.codes[t]);
            jw_arr_end(&w);
            jw_key(&w, "expressionType");
            jw_cstr(&w, s->is_sql92 ? "SQL92" : "TAG");
            jw_key(&w, "subString");
            jw_cstr(&w, s->expr);
            jw_key(&w, "subVersion");
            jw_i64(&w, s->sub_version);
            jw_key(&w, "topic");
            jw_cstr(&w, s->topic);
            jw_obj_end(&w);
        }
        jw_obj_end(&w);
        jw_obj_end(&w);
    }
    pthread_mutex_unlock(&cm->lock);
    return ok;
}

bool cm_producer_connection_json(struct client_manager *cm, tern_bytes_t group, buf_t *out)
{
    pthread_mutex_lock(&cm->lock);
    struct cm_group *g = group_get(&cm->producers, group, false);
    bool ok = g && g->nmembers > 0;
    if (ok) {
        jw_t w;
        jw_init(&w, out);
        jw_obj_begin(&w);
        connection_set(&w, g);
        jw_obj_end(&w);
    }
    pthread_mutex_unlock(&cm->lock);
    return ok;
}

void cm_each_subscribed_topic(struct client_manager *cm, tern_bytes_t group,
                              void (*fn)(void *arg, const char *topic), void *arg)
{
    pthread_mutex_lock(&cm->lock);
    struct cm_group *g = group_get(&cm->consumers, group, false);
    for (size_t i = 0; g && i < g->nsubs; i++)
        fn(arg, g->subs[i].topic);
    pthread_mutex_unlock(&cm->lock);
}

/* Searches one group (lock held) for a live member matching client_id (empty
 * = any); round-robin start so checks spread over a group's producers. */
static struct cm_member *find_member(struct cm_group *g, tern_bytes_t client_id, size_t start)
{
    for (size_t k = 0; g && k < g->nmembers; k++) {
        struct cm_member *m = &g->members[(start + k) % g->nmembers];
        if (rconn_is_closed(m->conn))
            continue;
        if (client_id.len == 0 || tern_bytes_eq_cstr(client_id, m->client_id))
            return m;
    }
    return NULL;
}

struct rconn *cm_find_conn(struct client_manager *cm, bool producers, tern_bytes_t group,
                           tern_bytes_t client_id, int *version)
{
    strmap_t *map = producers ? &cm->producers : &cm->consumers;
    struct cm_member *m = NULL;
    pthread_mutex_lock(&cm->lock);
    size_t start = (size_t)clock_mono_ns();
    if (group.len) {
        m = find_member(group_get(map, group, false), client_id, start);
    } else {
        const char *k;
        void *v;
        for (size_t it = 0; !m && strmap_next(map, &it, &k, &v);)
            m = find_member(v, client_id, start);
    }
    struct rconn *c = NULL;
    if (m) {
        c = m->conn;
        rconn_ref(c);
        if (version)
            *version = m->version;
    }
    pthread_mutex_unlock(&cm->lock);
    return c;
}
