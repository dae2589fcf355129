/* SPDX-License-Identifier: Apache-2.0 */
/* routes.c: the route table (see routes.h).
 *
 * Invariants, under r->lock: every broker in brokers has >= 1 address and
 * is listed in its cluster's set; every topic has >= 1 queue data. Queue data
 * survives while its broker name has any address (a master that dies with
 * its slaves alive keeps its queues, as in RocketMQ 4.x); it is dropped with
 * the last address. Output lists are sorted by name so the same state always
 * encodes to the same text (ali-ons compares route JSON to detect changes). */
#include "namesrv/routes.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "common/log.h"
#include "common/strmap.h"
#include "common/xalloc.h"

struct qdata {
    int read_queue_nums;
    int write_queue_nums;
    int perm;
    int topic_sys_flag;
};

struct topic {
    strmap_t by_broker; /* broker name -> struct qdata* (owned) */
};

struct broker {
    /* Encodable view: cluster, broker_name, zone_name and each addrs[i].addr
     * are owned strings (freed in broker_free); addrs points at addr_buf. */
    struct route_broker_data rd;
    struct route_broker_addr *addr_buf; /* owned; sorted by id */
    size_t addr_cap;
};

struct cluster {
    strmap_t brokers; /* broker name -> (void *)1 */
};

struct live {
    char *cluster;     /* owned */
    char *broker_name; /* owned */
    char *ha_addr;     /* owned */
    int64_t broker_id;
    int64_t last_ms;
    int64_t timeout_ms;
    struct route_data_version dv;
    uint64_t conn_id;
};

struct routes {
    pthread_rwlock_t lock; /* guards every table below */
    strmap_t topics;       /* topic -> struct topic* (owned) */
    strmap_t brokers;      /* broker name -> struct broker* (owned) */
    strmap_t clusters;     /* cluster -> struct cluster* (owned) */
    strmap_t live;         /* broker addr -> struct live* (owned) */
};

static void *const PRESENT = (void *)1;

/* Strings we store are copies of views; the view types are const. */
static void free_str(const char *s)
{
    free((void *)(uintptr_t)s);
}

static void topic_free(struct topic *t)
{
    const char *k;
    void *v;
    for (size_t it = 0; strmap_next(&t->by_broker, &it, &k, &v);)
        free(v);
    strmap_deinit(&t->by_broker);
    free(t);
}

static void broker_free(struct broker *b)
{
    for (size_t i = 0; i < b->rd.naddrs; i++)
        free_str(b->addr_buf[i].addr);
    free(b->addr_buf);
    free_str(b->rd.cluster);
    free_str(b->rd.broker_name);
    free_str(b->rd.zone_name);
    free(b);
}

static void live_free(struct live *l)
{
    free(l->cluster);
    free(l->broker_name);
    free(l->ha_addr);
    free(l);
}

int routes_new(struct routes **out)
{
    struct routes *r = xcalloc(1, sizeof *r);
    if (pthread_rwlock_init(&r->lock, NULL) != 0) {
        free(r);
        return TERN_ENOMEM;
    }
    strmap_init(&r->topics);
    strmap_init(&r->brokers);
    strmap_init(&r->clusters);
    strmap_init(&r->live);
    *out = r;
    return TERN_OK;
}

void routes_free(struct routes *r)
{
    if (!r)
        return;
    const char *k;
    void *v;
    for (size_t it = 0; strmap_next(&r->topics, &it, &k, &v);)
        topic_free(v);
    for (size_t it = 0; strmap_next(&r->brokers, &it, &k, &v);)
        broker_free(v);
    for (size_t it = 0; strmap_next(&r->clusters, &it, &k, &v);) {
        struct cluster *c = v;
        strmap_deinit(&c->brokers);
        free(c);
    }
    for (size_t it = 0; strmap_next(&r->live, &it, &k, &v);)
        live_free(v);
    strmap_deinit(&r->topics);
    strmap_deinit(&r->brokers);
    strmap_deinit(&r->clusters);
    strmap_deinit(&r->live);
    pthread_rwlock_destroy(&r->lock);
    free(r);
}

static char *dup_bytes(tern_bytes_t v)
{
    return xstrndup(v.ptr ? (const char *)v.ptr : "", v.len);
}

static int cmp_cstr_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Keys of m, sorted; the strings are borrowed from the map. Caller frees the array. */
static const char **sorted_keys(const strmap_t *m, size_t *n)
{
    const char **keys = xmalloc((strmap_count(m) + 1) * sizeof *keys);
    size_t i = 0;
    const char *k;
    void *v;
    for (size_t it = 0; strmap_next(m, &it, &k, &v);)
        keys[i++] = k;
    qsort(keys, i, sizeof *keys, cmp_cstr_ptr);
    *n = i;
    return keys;
}

/* ---- mutation helpers (write lock held) ---- */

static ssize_t broker_find_id(const struct broker *b, int64_t id)
{
    for (size_t i = 0; i < b->rd.naddrs; i++)
        if (b->addr_buf[i].id == id)
            return (ssize_t)i;
    return -1;
}

static void broker_remove_at(struct broker *b, size_t i)
{
    free_str(b->addr_buf[i].addr);
    memmove(&b->addr_buf[i], &b->addr_buf[i + 1], (b->rd.naddrs - i - 1) * sizeof *b->addr_buf);
    b->rd.naddrs--;
}

/* Sets addrs[id] = addr, keeping the array sorted by id. */
static void broker_put_addr(struct broker *b, int64_t id, tern_bytes_t addr)
{
    ssize_t at = broker_find_id(b, id);
    if (at >= 0) {
        free_str(b->addr_buf[at].addr);
        b->addr_buf[at].addr = dup_bytes(addr);
        return;
    }
    if (b->rd.naddrs == b->addr_cap) {
        b->addr_cap = b->addr_cap ? b->addr_cap * 2 : 2;
        b->addr_buf = xrealloc(b->addr_buf, b->addr_cap * sizeof *b->addr_buf);
        b->rd.addrs = b->addr_buf;
    }
    size_t i = b->rd.naddrs;
    while (i > 0 && b->addr_buf[i - 1].id > id) {
        b->addr_buf[i] = b->addr_buf[i - 1];
        i--;
    }
    b->addr_buf[i].id = id;
    b->addr_buf[i].addr = dup_bytes(addr);
    b->rd.naddrs++;
}

/* Drops the queue data of broker_name from every topic, and empty topics. */
static void remove_queue_data_of(struct routes *r, tern_bytes_t broker_name)
{
    const char *k;
    void *v;
    for (size_t it = 0; strmap_next(&r->topics, &it, &k, &v);) {
        struct topic *t = v;
        free(strmap_del(&t->by_broker, broker_name));
        if (strmap_count(&t->by_broker) == 0) {
            strmap_del(&r->topics, tern_cstr(k)); /* deleting the current key is allowed */
            topic_free(t);
        }
    }
}

/* Removes a broker name that has no address left. */
static void remove_broker_name(struct routes *r, struct broker *b)
{
    tern_bytes_t name = tern_cstr(b->rd.broker_name);
    struct cluster *c = strmap_get_cstr(&r->clusters, b->rd.cluster);
    if (c) {
        strmap_del(&c->brokers, name);
        if (strmap_count(&c->brokers) == 0) {
            strmap_del(&r->clusters, tern_cstr(b->rd.cluster));
            strmap_deinit(&c->brokers);
            free(c);
        }
    }
    remove_queue_data_of(r, name);
    strmap_del(&r->brokers, name);
    broker_free(b);
}

/* What happens when a broker address goes away (expiry, connection close):
 * its liveness entry and its address in every broker name are removed. */
static void remove_addr(struct routes *r, const char *addr)
{
    tern_bytes_t key = tern_cstr(addr);
    struct live *l = strmap_del(&r->live, key);
    if (l)
        live_free(l);
    const char *k;
    void *v;
    for (size_t it = 0; strmap_next(&r->brokers, &it, &k, &v);) {
        struct broker *b = v;
        for (size_t i = 0; i < b->rd.naddrs;) {
            if (strcmp(b->addr_buf[i].addr, addr) == 0)
                broker_remove_at(b, i);
            else
                i++;
        }
        if (b->rd.naddrs == 0)
            remove_broker_name(r, b); /* deletes the current key only */
    }
}

static bool dv_equal(const struct route_data_version *a, const struct route_data_version *b)
{
    return a->counter == b->counter && a->state_version == b->state_version &&
           a->timestamp == b->timestamp;
}

static void put_queue_data(struct routes *r, tern_bytes_t topic, tern_bytes_t broker_name,
                           const struct qdata *q)
{
    struct topic *t = strmap_get(&r->topics, topic);
    if (!t) {
        t = xcalloc(1, sizeof *t);
        strmap_init(&t->by_broker);
        strmap_put(&r->topics, topic, t);
    }
    struct qdata *cur = strmap_get(&t->by_broker, broker_name);
    if (!cur) {
        cur = xmalloc(sizeof *cur);
        strmap_put(&t->by_broker, broker_name, cur);
    }
    *cur = *q;
}

/* Whether this registration may set queue data: the master, or with acting
 * master enabled and no master present, the slave with the smallest id. */
static bool is_prime(const struct broker *b, int64_t id, bool acting)
{
    if (id == 0)
        return true;
    if (!acting || broker_find_id(b, 0) >= 0)
        return false;
    return b->rd.naddrs > 0 && b->addr_buf[0].id == id;
}

/* ---- public API ---- */

void routes_register(struct routes *r, const struct routes_register_req *req, int64_t now_ms,
                     struct routes_register_result *res)
{
    memset(res, 0, sizeof *res);
    pthread_rwlock_wrlock(&r->lock);

    struct cluster *c = strmap_get(&r->clusters, req->cluster);
    if (!c) {
        c = xcalloc(1, sizeof *c);
        strmap_init(&c->brokers);
        strmap_put(&r->clusters, req->cluster, c);
    }
    strmap_put(&c->brokers, req->broker_name, PRESENT);

    bool first = false;
    struct broker *b = strmap_get(&r->brokers, req->broker_name);
    if (!b) {
        b = xcalloc(1, sizeof *b);
        b->rd.cluster = dup_bytes(req->cluster);
        b->rd.broker_name = dup_bytes(req->broker_name);
        strmap_put(&r->brokers, req->broker_name, b);
        first = true;
    }
    b->rd.enable_acting_master = req->enable_acting_master;
    if (req->zone_name.ptr) {
        free_str(b->rd.zone_name);
        b->rd.zone_name = dup_bytes(req->zone_name);
    }
    /* An address re-registering under a new id (role change) loses the old id. */
    for (size_t i = 0; i < b->rd.naddrs;) {
        if (b->addr_buf[i].id != req->broker_id &&
            tern_bytes_eq_cstr(req->broker_addr, b->addr_buf[i].addr))
            broker_remove_at(b, i);
        else
            i++;
    }
    if (broker_find_id(b, req->broker_id) < 0)
        first = true;
    broker_put_addr(b, req->broker_id, req->broker_addr);

    struct live *l = strmap_get(&r->live, req->broker_addr);
    const struct route_data_version *dv = &req->body->data_version;
    if (is_prime(b, req->broker_id, req->enable_acting_master) &&
        (first || !l || !dv_equal(&l->dv, dv))) {
        for (size_t i = 0; i < req->body->ntopics; i++) {
            const struct route_topic_config *tc = &req->body->topics[i];
            struct qdata q = {tc->read_queue_nums, tc->write_queue_nums, tc->perm,
                              tc->topic_sys_flag};
            put_queue_data(r, tern_cstr(tc->name), req->broker_name, &q);
        }
    }

    if (!l) {
        l = xcalloc(1, sizeof *l);
        strmap_put(&r->live, req->broker_addr, l);
    } else {
        free(l->cluster);
        free(l->broker_name);
        free(l->ha_addr);
    }
    l->cluster = dup_bytes(req->cluster);
    l->broker_name = dup_bytes(req->broker_name);
    l->ha_addr = dup_bytes(req->ha_addr);
    l->broker_id = req->broker_id;
    l->last_ms = now_ms;
    l->timeout_ms = req->timeout_ms;
    l->dv = *dv;
    l->conn_id = req->conn_id;

    if (req->broker_id != 0) {
        ssize_t m = broker_find_id(b, 0);
        const struct live *ml = m >= 0 ? strmap_get_cstr(&r->live, b->addr_buf[m].addr) : NULL;
        if (ml) {
            res->master_addr = xstrdup(b->addr_buf[m].addr);
            res->ha_addr = xstrdup(ml->ha_addr);
        }
    }
    pthread_rwlock_unlock(&r->lock);
}

void routes_result_deinit(struct routes_register_result *res)
{
    free(res->master_addr);
    free(res->ha_addr);
    memset(res, 0, sizeof *res);
}

void routes_unregister(struct routes *r, tern_bytes_t cluster, tern_bytes_t broker_addr,
                       tern_bytes_t broker_name, int64_t broker_id)
{
    (void)cluster; /* liveness is keyed by address alone */
    pthread_rwlock_wrlock(&r->lock);
    struct live *l = strmap_del(&r->live, broker_addr);
    if (l)
        live_free(l);
    struct broker *b = strmap_get(&r->brokers, broker_name);
    if (b) {
        ssize_t at = broker_find_id(b, broker_id);
        if (at >= 0)
            broker_remove_at(b, (size_t)at);
        if (b->rd.naddrs == 0)
            remove_broker_name(r, b);
    }
    pthread_rwlock_unlock(&r->lock);
}

bool routes_heartbeat(struct routes *r, tern_bytes_t broker_addr, int64_t now_ms)
{
    pthread_rwlock_wrlock(&r->lock);
    struct live *l = strmap_get(&r->live, broker_addr);
    if (l)
        l->last_ms = now_ms;
    pthread_rwlock_unlock(&r->lock);
    return l != NULL;
}

bool routes_query_data_version(struct routes *r, tern_bytes_t broker_addr,
                               const struct route_data_version *dv, int64_t now_ms,
                               struct route_data_version *stored, bool *has_stored)
{
    pthread_rwlock_wrlock(&r->lock);
    struct live *l = strmap_get(&r->live, broker_addr);
    bool changed = !l || !dv_equal(&l->dv, dv);
    if (l && !changed)
        l->last_ms = now_ms;
    *has_stored = l != NULL;
    if (l)
        *stored = l->dv;
    pthread_rwlock_unlock(&r->lock);
    return changed;
}

/* Collects addresses matching a predicate, then removes them (removal frees
 * the map's key strings, so it cannot run inside the iteration). */
static size_t remove_matching(struct routes *r, bool (*match)(const struct live *, int64_t),
                              int64_t arg, enum log_level lvl, const char *why)
{
    pthread_rwlock_wrlock(&r->lock);
    size_t n = 0, cap = strmap_count(&r->live);
    char **victims = xmalloc((cap + 1) * sizeof *victims);
    const char *k;
    void *v;
    for (size_t it = 0; strmap_next(&r->live, &it, &k, &v);)
        if (match(v, arg))
            victims[n++] = xstrdup(k);
    for (size_t i = 0; i < n; i++) {
        log_write(lvl, "namesrv", "broker removed addr=%s reason=%s", victims[i], why);
        remove_addr(r, victims[i]);
        free(victims[i]);
    }
    free(victims);
    pthread_rwlock_unlock(&r->lock);
    return n;
}

static bool is_expired(const struct live *l, int64_t now_ms)
{
    return now_ms - l->last_ms > l->timeout_ms;
}

static bool is_on_conn(const struct live *l, int64_t conn_id)
{
    return l->conn_id == (uint64_t)conn_id;
}

size_t routes_expire(struct routes *r, int64_t now_ms)
{
    return remove_matching(r, is_expired, now_ms, LOG_WARN, "expired");
}

size_t routes_conn_closed(struct routes *r, uint64_t conn_id)
{
    return remove_matching(r, is_on_conn, (int64_t)conn_id, LOG_INFO, "connection closed");
}

/* ---- queries (read lock) ---- */

int routes_encode_topic_route(struct routes *r, tern_bytes_t topic, buf_t *out)
{
    int rc = TERN_ENOT_FOUND;
    pthread_rwlock_rdlock(&r->lock);
    struct topic *t = strmap_get(&r->topics, topic);
    if (t) {
        size_t nq;
        const char **names = sorted_keys(&t->by_broker, &nq);
        struct route_queue_data *qs = xmalloc((nq + 1) * sizeof *qs);
        struct route_broker_data *bs = xmalloc((nq + 1) * sizeof *bs);
        size_t nb = 0;
        for (size_t i = 0; i < nq; i++) {
            const struct qdata *q = strmap_get_cstr(&t->by_broker, names[i]);
            qs[i] = (struct route_queue_data){names[i], q->read_queue_nums, q->write_queue_nums,
                                              q->perm, q->topic_sys_flag};
            const struct broker *b = strmap_get_cstr(&r->brokers, names[i]);
            if (b)
                bs[nb++] = b->rd;
        }
        if (nb > 0) {
            struct route_topic_route route = {nq, qs, nb, bs, NULL};
            route_encode_topic_route(out, &route);
            rc = TERN_OK;
        }
        free(bs);
        free(qs);
        free(names);
    }
    pthread_rwlock_unlock(&r->lock);
    return rc;
}

void routes_encode_cluster_info(struct routes *r, buf_t *out)
{
    pthread_rwlock_rdlock(&r->lock);
    size_t nb, nc;
    const char **bnames = sorted_keys(&r->brokers, &nb);
    const char **cnames = sorted_keys(&r->clusters, &nc);
    struct route_broker_data *bs = xmalloc((nb + 1) * sizeof *bs);
    for (size_t i = 0; i < nb; i++)
        bs[i] = ((const struct broker *)strmap_get_cstr(&r->brokers, bnames[i]))->rd;
    struct route_cluster *cs = xmalloc((nc + 1) * sizeof *cs);
    const char ***members = xmalloc((nc + 1) * sizeof *members);
    for (size_t i = 0; i < nc; i++) {
        const struct cluster *c = strmap_get_cstr(&r->clusters, cnames[i]);
        size_t n;
        members[i] = sorted_keys(&c->brokers, &n);
        cs[i] = (struct route_cluster){cnames[i], n, members[i]};
    }
    route_encode_cluster_info(out, bs, nb, cs, nc);
    for (size_t i = 0; i < nc; i++)
        free(members[i]);
    free(members);
    free(cs);
    free(bs);
    free(cnames);
    free(bnames);
    pthread_rwlock_unlock(&r->lock);
}

void routes_encode_all_topics(struct routes *r, buf_t *out)
{
    pthread_rwlock_rdlock(&r->lock);
    size_t n;
    const char **names = sorted_keys(&r->topics, &n);
    route_encode_topic_list(out, names, n, NULL);
    free(names);
    pthread_rwlock_unlock(&r->lock);
}

void routes_encode_cluster_topics(struct routes *r, tern_bytes_t cluster, buf_t *out)
{
    pthread_rwlock_rdlock(&r->lock);
    size_t n, nsel = 0;
    const char **names = sorted_keys(&r->topics, &n);
    const struct cluster *c = strmap_get(&r->clusters, cluster);
    for (size_t i = 0; c && i < n; i++) {
        const struct topic *t = strmap_get_cstr(&r->topics, names[i]);
        const char *k;
        void *v;
        for (size_t it = 0; strmap_next(&t->by_broker, &it, &k, &v);) {
            if (strmap_get_cstr(&c->brokers, k)) {
                names[nsel++] = names[i];
                break;
            }
        }
    }
    route_encode_topic_list(out, names, nsel, NULL);
    free(names);
    pthread_rwlock_unlock(&r->lock);
}

void routes_encode_system_topics(struct routes *r, buf_t *out)
{
    pthread_rwlock_rdlock(&r->lock);
    strmap_t set;
    strmap_init(&set);
    const char *addr = NULL;
    const char *k, *bk;
    void *v, *bv;
    for (size_t it = 0; strmap_next(&r->clusters, &it, &k, &v);) {
        const struct cluster *c = v;
        strmap_put(&set, tern_cstr(k), PRESENT);
        for (size_t jt = 0; strmap_next(&c->brokers, &jt, &bk, &bv);) {
            strmap_put(&set, tern_cstr(bk), PRESENT);
            const struct broker *b = strmap_get_cstr(&r->brokers, bk);
            if (b && b->rd.naddrs > 0 && !addr)
                addr = b->rd.addrs[0].addr;
        }
    }
    size_t n;
    const char **names = sorted_keys(&set, &n);
    route_encode_topic_list(out, names, n, addr);
    free(names);
    strmap_deinit(&set);
    pthread_rwlock_unlock(&r->lock);
}

/* ---- topic maintenance ---- */

void routes_delete_topic(struct routes *r, tern_bytes_t topic, tern_bytes_t cluster)
{
    pthread_rwlock_wrlock(&r->lock);
    struct topic *t = strmap_get(&r->topics, topic);
    if (t && cluster.ptr) {
        const struct cluster *c = strmap_get(&r->clusters, cluster);
        const char *k;
        void *v;
        for (size_t it = 0; c && strmap_next(&c->brokers, &it, &k, &v);)
            free(strmap_del(&t->by_broker, tern_cstr(k)));
        if (strmap_count(&t->by_broker) > 0)
            t = NULL; /* other clusters still host it */
    }
    if (t) {
        strmap_del(&r->topics, topic);
        topic_free(t);
    }
    pthread_rwlock_unlock(&r->lock);
}

size_t routes_register_topic(struct routes *r, tern_bytes_t topic,
                             const struct route_queue_data *queues, size_t n)
{
    size_t applied = 0;
    pthread_rwlock_wrlock(&r->lock);
    for (size_t i = 0; i < n; i++) {
        const struct route_queue_data *q = &queues[i];
        if (!strmap_get_cstr(&r->brokers, q->broker_name))
            continue; /* unknown broker: would point clients nowhere */
        struct qdata d = {q->read_queue_nums, q->write_queue_nums, q->perm, q->topic_sys_flag};
        put_queue_data(r, topic, tern_cstr(q->broker_name), &d);
        applied++;
    }
    pthread_rwlock_unlock(&r->lock);
    return applied;
}

int routes_set_write_perm(struct routes *r, tern_bytes_t broker_name, bool on)
{
    int count = 0;
    pthread_rwlock_wrlock(&r->lock);
    const char *k;
    void *v;
    for (size_t it = 0; strmap_next(&r->topics, &it, &k, &v);) {
        struct qdata *q = strmap_get(&((struct topic *)v)->by_broker, broker_name);
        if (!q)
            continue;
        q->perm = on ? (q->perm | ROUTE_PERM_WRITE) : (q->perm & ~ROUTE_PERM_WRITE);
        count++;
    }
    pthread_rwlock_unlock(&r->lock);
    return count;
}
