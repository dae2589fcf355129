/* SPDX-License-Identifier: Apache-2.0 */
/* core.c: what every SDK client instance has (docs/design/client.md): the
 * name-server list, the route cache, one rclient, request signing, the
 * heartbeat and the service thread that refreshes routes and heartbeats
 * every 30 s and drives the owner's tick (consumers: rebalance, offsets).
 *
 * Threads: API calls on application threads; the service thread
 * ("ons-svc"); the rclient loop thread runs response callbacks and
 * broker->client requests (which must not block). Locks: core->mu guards
 * the route cache and the name-server index; svc_mu guards the service
 * thread's flags. Never held across a network call. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/client_int.h"
#include "common/arena.h"
#include "common/clock.h"
#include "common/error.h"
#include "protocol/codes.h"
#include "protocol/route.h"

#define ROUTE_REFRESH_MS 30000
#define HEARTBEAT_MS     30000
#define NS_TIMEOUT_MS    3000

static _Atomic unsigned g_instance_seq;

/* ---- routes ------------------------------------------------------------ */

void cl_route_unref(struct cl_route *r)
{
    if (r == NULL || atomic_fetch_sub(&r->refs, 1) != 1)
        return;
    for (size_t i = 0; i < r->nbrokers; i++)
        free(r->all_addrs ? r->all_addrs[i] : NULL);
    free(r->all_addrs);
    free(r->broker_names);
    free(r->masters);
    free(r->write);
    free(r->read);
    free(r);
}

const char *cl_route_master(const struct cl_route *r, const char *broker)
{
    for (size_t i = 0; i < r->nbrokers; i++)
        if (strcmp(r->broker_names[i], broker) == 0)
            return r->masters[i][0] ? r->masters[i] : NULL;
    return NULL;
}

static int mq_cmp(const void *a, const void *b)
{
    const struct cl_mq *x = a, *y = b;
    int c = strcmp(x->broker, y->broker);
    return c ? c : (x->qid > y->qid) - (x->qid < y->qid);
}

/* Builds a cl_route from the decoded TopicRouteData. NULL when out of memory. */
static struct cl_route *route_build(const struct route_topic_route *tr)
{
    struct cl_route *r = cl_calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    atomic_store(&r->refs, 1);
    r->nbrokers = tr->nbrokers;
    r->broker_names = cl_calloc(tr->nbrokers, sizeof *r->broker_names);
    r->masters = cl_calloc(tr->nbrokers, sizeof *r->masters);
    r->all_addrs = cl_calloc(tr->nbrokers, sizeof *r->all_addrs);
    if (!r->broker_names || !r->masters || !r->all_addrs)
        goto oom;
    for (size_t i = 0; i < tr->nbrokers; i++) {
        const struct route_broker_data *bd = &tr->brokers[i];
        snprintf(r->broker_names[i], 64, "%s", bd->broker_name);
        size_t len = 1;
        for (size_t k = 0; k < bd->naddrs; k++) {
            len += strlen(bd->addrs[k].addr) + 1;
            if (bd->addrs[k].id == 0)
                snprintf(r->masters[i], 64, "%s", bd->addrs[k].addr);
        }
        if ((r->all_addrs[i] = cl_calloc(1, len)) == NULL)
            goto oom;
        for (size_t k = 0; k < bd->naddrs; k++) {
            if (k)
                strcat(r->all_addrs[i], ";");
            strcat(r->all_addrs[i], bd->addrs[k].addr);
        }
    }
    size_t nw = 0, nr = 0;
    for (size_t i = 0; i < tr->nqueues; i++) {
        const struct route_queue_data *q = &tr->queues[i];
        if (q->perm & ROUTE_PERM_WRITE && q->write_queue_nums > 0)
            nw += (size_t)q->write_queue_nums;
        if (q->perm & ROUTE_PERM_READ && q->read_queue_nums > 0)
            nr += (size_t)q->read_queue_nums;
    }
    r->write = cl_calloc(nw ? nw : 1, sizeof *r->write);
    r->read = cl_calloc(nr ? nr : 1, sizeof *r->read);
    if (!r->write || !r->read)
        goto oom;
    for (size_t i = 0; i < tr->nqueues; i++) {
        const struct route_queue_data *q = &tr->queues[i];
        bool has_master = cl_route_master(r, q->broker_name) != NULL;
        if (q->perm & ROUTE_PERM_WRITE && has_master)
            for (int k = 0; k < q->write_queue_nums; k++) {
                snprintf(r->write[r->nwrite].broker, 64, "%s", q->broker_name);
                r->write[r->nwrite++].qid = k;
            }
        if (q->perm & ROUTE_PERM_READ && has_master)
            for (int k = 0; k < q->read_queue_nums; k++) {
                snprintf(r->read[r->nread].broker, 64, "%s", q->broker_name);
                r->read[r->nread++].qid = k;
            }
    }
    qsort(r->write, r->nwrite, sizeof *r->write, mq_cmp);
    qsort(r->read, r->nread, sizeof *r->read, mq_cmp);
    return r;
oom:
    cl_route_unref(r);
    return NULL;
}

static int fetch_route(struct cl_core *c, const char *topic, struct cl_route **out,
                       ons_exception_t **ex)
{
    int last_err = TERN_ECLOSED;
    pthread_mutex_lock(&c->mu);
    unsigned start = c->ns_idx;
    pthread_mutex_unlock(&c->mu);
    for (size_t i = 0; i < c->cfg.nns; i++) {
        unsigned idx = (unsigned)((start + i) % c->cfg.nns);
        const char *ns = c->cfg.ns_addrs[idx];
        struct rcmd req;
        rcmd_init(&req);
        req.code = RC_GET_ROUTEINFO_BY_TOPIC;
        rcmd_add_cstr(&req, "topic", topic);
        struct rresp resp;
        rresp_init(&resp);
        int rc = cl_core_call(c, ns, &req, NS_TIMEOUT_MS, &resp);
        if (rc != TERN_OK) {
            last_err = rc;
            rresp_deinit(&resp);
            cl_log(ONS_LOG_WARN, "route of %s from %s failed: %s", topic, ns, tern_strerror(rc));
            continue;
        }
        pthread_mutex_lock(&c->mu);
        c->ns_idx = idx;
        pthread_mutex_unlock(&c->mu);
        if (resp.cmd.code != RESP_SUCCESS) {
            int code = resp.cmd.code;
            if (code == RESP_TOPIC_NOT_EXIST)
                cl_raise(ex, ONS_ERR_TOPIC_NOT_EXIST,
                         "No route info of this topic: %s (the topic does not exist)", topic);
            else
                cl_raise_remote(ex, code, resp.cmd.remark, "GET_ROUTEINFO_BY_TOPIC");
            rresp_deinit(&resp);
            return -1;
        }
        arena_t a;
        arena_init(&a);
        struct route_topic_route tr;
        rc = route_decode_topic_route(resp.cmd.body, &a, &tr);
        struct cl_route *r = rc == TERN_OK ? route_build(&tr) : NULL;
        arena_deinit(&a);
        rresp_deinit(&resp);
        if (rc == TERN_ENOMEM || (rc == TERN_OK && r == NULL))
            return cl_raise_oom(ex);
        if (rc != TERN_OK)
            return cl_raise(ex, ONS_ERR_NETWORK, "bad route body for topic %s", topic);
        *out = r;
        return 0;
    }
    return cl_raise_err(ex, last_err, "no name server answered");
}

struct cl_route *cl_core_route_cached(struct cl_core *c, const char *wire_topic)
{
    pthread_mutex_lock(&c->mu);
    struct cl_route *r = strmap_get_cstr(&c->routes, wire_topic);
    if (r)
        atomic_fetch_add(&r->refs, 1);
    pthread_mutex_unlock(&c->mu);
    return r;
}

int cl_core_route(struct cl_core *c, const char *wire_topic, bool refresh, struct cl_route **out,
                  ons_exception_t **ex)
{
    if (!refresh) {
        struct cl_route *r = cl_core_route_cached(c, wire_topic);
        if (r) {
            *out = r;
            return 0;
        }
    }
    struct cl_route *r;
    if (fetch_route(c, wire_topic, &r, ex) != 0)
        return -1;
    atomic_fetch_add(&r->refs, 1); /* one for the cache, one for the caller */
    void *old_val = NULL;
    pthread_mutex_lock(&c->mu);
    int err = strmap_set(&c->routes, tern_cstr(wire_topic), r, &old_val);
    pthread_mutex_unlock(&c->mu);
    struct cl_route *old = old_val;
    if (err != TERN_OK) {
        /* Out of memory: the caller still gets the route, uncached. */
        old = r;
    } else if (old == NULL) {
        /* A new topic may bring new brokers: register with them soon. */
        atomic_store(&c->hb_due, true);
        cl_core_kick(c);
    }
    cl_route_unref(old);
    *out = r;
    return 0;
}

static void refresh_routes(struct cl_core *c)
{
    pthread_mutex_lock(&c->mu);
    size_t n = strmap_count(&c->routes), k = 0;
    char **topics = cl_calloc(n ? n : 1, sizeof(char *));
    const char *key;
    void *val;
    for (size_t it = 0; topics && strmap_next(&c->routes, &it, &key, &val);)
        topics[k++] = cl_strdup(key);
    pthread_mutex_unlock(&c->mu);
    for (size_t i = 0; topics && i < k; i++) {
        struct cl_route *r = NULL;
        if (topics[i] && cl_core_route(c, topics[i], true, &r, NULL) == 0)
            cl_route_unref(r);
        free(topics[i]);
    }
    free(topics);
}

/* ---- calls ------------------------------------------------------------ */

struct kv {
    tern_bytes_t k, v;
};

static bool kv_less(const struct kv *x, const struct kv *y)
{
    /* Names mostly differ in their first byte (a..n, AccessKey, OnsChannel). */
    if (x->k.len && y->k.len && x->k.ptr[0] != y->k.ptr[0])
        return x->k.ptr[0] < y->k.ptr[0];
    size_t n = x->k.len < y->k.len ? x->k.len : y->k.len;
    int c = n ? memcmp(x->k.ptr, y->k.ptr, n) : 0;
    return c ? c < 0 : x->k.len < y->k.len;
}

/* Signs req (spec §3.3): AccessKey and OnsChannel are added, then the values
 * of every field but Signature, in byte order of their names, and the body
 * are MACed in place. Insertion sort: a request has a dozen or two fields,
 * mostly added in near order, and this runs once per request. */
void cl_core_sign(struct cl_core *c, struct rcmd *req)
{
    if (c->cfg.access_key == NULL || c->cfg.hmac == NULL)
        return;
    rcmd_add_cstr(req, "AccessKey", c->cfg.access_key);
    rcmd_add_cstr(req, "OnsChannel", c->cfg.channel);
    struct kv stack[40];
    struct kv *kvs = req->nfields <= 40 ? stack : cl_calloc(req->nfields, sizeof *kvs);
    tern_bytes_t pstack[41],
        *parts = req->nfields <= 40 ? pstack : cl_calloc(req->nfields + 1, sizeof *parts);
    if (kvs == NULL || parts == NULL) {
        if (kvs != stack)
            free(kvs);
        if (parts != pstack)
            free(parts);
        return; /* unsigned: the broker rejects it if it checks */
    }
    size_t n = 0;
    for (size_t i = 0; i < req->nfields; i++) {
        if (tern_bytes_eq_cstr(req->fields[i].key, "Signature"))
            continue;
        struct kv e = {req->fields[i].key, req->fields[i].val};
        size_t j = n++;
        for (; j > 0 && kv_less(&e, &kvs[j - 1]); j--)
            kvs[j] = kvs[j - 1];
        kvs[j] = e;
    }
    for (size_t i = 0; i < n; i++)
        parts[i] = kvs[i].v;
    parts[n] = req->body;
    uint8_t mac[20];
    cl_hmac_sha1_parts(c->cfg.hmac, parts, n + 1, mac);
    char b64[32];
    cl_base64(mac, 20, b64);
    rcmd_add_cstr(req, "Signature", b64);
    if (kvs != stack)
        free(kvs);
    if (parts != pstack)
        free(parts);
}

int cl_core_call(struct cl_core *c, const char *addr, struct rcmd *req, int timeout_ms,
                 struct rresp *out)
{
    req->language = LANG_CPP;
    cl_core_sign(c, req);
    int rc = c->rc ? rclient_call_sync(c->rc, addr, req, timeout_ms > 0 ? timeout_ms : 1, out)
                   : TERN_ECLOSED;
    rcmd_deinit(req);
    return rc;
}

int cl_core_call_async(struct cl_core *c, const char *addr, struct rcmd *req, int timeout_ms,
                       bool lazy, rresp_fn cb, void *arg)
{
    req->language = LANG_CPP;
    cl_core_sign(c, req);
    int rc = !c->rc ? TERN_ECLOSED
             : lazy ? rclient_call_lazy(c->rc, addr, req, timeout_ms, cb, arg)
                    : rclient_call(c->rc, addr, req, timeout_ms, cb, arg);
    rcmd_deinit(req);
    return rc;
}

int cl_core_oneway(struct cl_core *c, const char *addr, struct rcmd *req)
{
    req->language = LANG_CPP;
    cl_core_sign(c, req);
    int rc = c->rc ? rclient_oneway(c->rc, addr, req) : TERN_ECLOSED;
    rcmd_deinit(req);
    return rc;
}

/* ---- brokers and heartbeats ------------------------------------------------ */

/* Collects the distinct broker addresses of the cached routes. OUT: *out
 * (owned array of owned strings), returns the count. */
static size_t broker_addrs(struct cl_core *c, bool all, char ***out)
{
    strmap_t seen;
    strmap_init(&seen);
    pthread_mutex_lock(&c->mu);
    const char *key;
    void *val;
    for (size_t it = 0; strmap_next(&c->routes, &it, &key, &val);) {
        const struct cl_route *r = val;
        for (size_t i = 0; i < r->nbrokers; i++) {
            if (!all) {
                if (r->masters[i][0])
                    (void)strmap_set(&seen, tern_cstr(r->masters[i]), (void *)1, NULL);
                continue;
            }
            const char *s = r->all_addrs[i];
            while (s && *s) {
                const char *e = strchr(s, ';');
                size_t n = e ? (size_t)(e - s) : strlen(s);
                (void)strmap_set(&seen, tern_bytes(s, n), (void *)1, NULL);
                s = e ? e + 1 : s + n;
            }
        }
    }
    pthread_mutex_unlock(&c->mu);
    size_t n = strmap_count(&seen), k = 0;
    char **list = cl_calloc(n ? n : 1, sizeof(char *));
    for (size_t it = 0; list && strmap_next(&seen, &it, &key, &val);)
        if ((list[k] = cl_strdup(key)) != NULL)
            k++;
    strmap_deinit(&seen);
    *out = list;
    return list ? k : 0;
}

void cl_core_heartbeat(struct cl_core *c)
{
    buf_t body;
    buf_init(&body);
    c->hooks.build_heartbeat(c->owner, &body);
    char **addrs;
    size_t n = broker_addrs(c, c->hooks.heartbeat_all_brokers, &addrs);
    for (size_t i = 0; i < n; i++) {
        struct rcmd req;
        rcmd_init(&req);
        req.code = RC_HEART_BEAT;
        req.body = buf_view(&body);
        struct rresp resp;
        rresp_init(&resp);
        int rc = cl_core_call(c, addrs[i], &req, NS_TIMEOUT_MS, &resp);
        if (rc != TERN_OK)
            cl_log(ONS_LOG_WARN, "heartbeat to %s failed: %s", addrs[i], tern_strerror(rc));
        else if (resp.cmd.code != RESP_SUCCESS)
            cl_log(ONS_LOG_WARN, "heartbeat to %s refused: code %d", addrs[i], resp.cmd.code);
        rresp_deinit(&resp);
        free(addrs[i]);
    }
    free(addrs);
    buf_deinit(&body);
}

void cl_core_unregister(struct cl_core *c, const char *producer_group, const char *consumer_group)
{
    char **addrs;
    size_t n = broker_addrs(c, c->hooks.heartbeat_all_brokers, &addrs);
    for (size_t i = 0; i < n; i++) {
        struct rcmd req;
        rcmd_init(&req);
        req.code = RC_UNREGISTER_CLIENT;
        rcmd_add_cstr(&req, "clientID", c->client_id);
        if (producer_group)
            rcmd_add_cstr(&req, "producerGroup", producer_group);
        if (consumer_group)
            rcmd_add_cstr(&req, "consumerGroup", consumer_group);
        struct rresp resp;
        rresp_init(&resp);
        (void)cl_core_call(c, addrs[i], &req, NS_TIMEOUT_MS, &resp);
        rresp_deinit(&resp);
        free(addrs[i]);
    }
    free(addrs);
}

/* ---- broker -> client requests (loop thread) ------------------------------- */

static void on_notify_ids_changed(void *ctx, struct rreq *req)
{
    struct cl_core *c = ctx;
    if (c->hooks.notify)
        c->hooks.notify(c->owner);
    if (rreq_is_oneway(req))
        rreq_free(req);
    else
        rreq_respond_code(req, RESP_SUCCESS, NULL);
}

static void on_unsupported(void *ctx, struct rreq *req)
{
    (void)ctx;
    cl_log(ONS_LOG_INFO, "broker request code %d is not supported by this SDK yet", req->cmd.code);
    if (rreq_is_oneway(req))
        rreq_free(req);
    else
        rreq_respond_code(req, RESP_REQUEST_CODE_NOT_SUPPORTED, "not supported by the C SDK yet");
}

static void on_check_txn(void *ctx, struct rreq *req)
{
    struct cl_core *c = ctx;
    if (c->hooks.check_txn)
        c->hooks.check_txn(c->owner, req);
    else
        on_unsupported(ctx, req);
}

/* True when req's group header (key) names this client's group (a request
 * without it is taken as meant for it); otherwise answers SYSTEM_ERROR
 * (Java's wording). */
static bool for_my_group(struct cl_core *c, struct rreq *req, const char *key)
{
    tern_bytes_t group = rcmd_get(&req->cmd, key);
    if (group.ptr == NULL || tern_bytes_eq_cstr(group, c->cfg.wire_group))
        return true;
    char msg[256];
    snprintf(msg, sizeof msg, "The Consumer Group <%.*s> not exist in this consumer",
             (int)(group.len > 128 ? 128 : group.len), (const char *)group.ptr);
    rreq_respond_code(req, RESP_SYSTEM_ERROR, msg);
    return false;
}

/* Answers req with the body fn appends (a consumer hook; NULL: refused),
 * after checking the group named by group_key. */
static void answer_body(struct cl_core *c, struct rreq *req, const char *group_key,
                        void (*fn)(void *owner, const struct rcmd *req, buf_t *out))
{
    if (fn == NULL) {
        on_unsupported(c, req);
        return;
    }
    if (!for_my_group(c, req, group_key))
        return;
    buf_t body;
    buf_init(&body);
    fn(c->owner, &req->cmd, &body);
    if (buf_failed(&body)) {
        buf_deinit(&body);
        rreq_respond_code(req, RESP_SYSTEM_ERROR, "out of memory");
        return;
    }
    struct rcmd resp;
    rcmd_init_response(&resp, &req->cmd, RESP_SUCCESS);
    resp.body = buf_view(&body);
    rreq_respond(req, &resp);
    rcmd_deinit(&resp);
    buf_deinit(&body);
}

static void on_running_info(void *ctx, struct rreq *req)
{
    struct cl_core *c = ctx;
    answer_body(c, req, "consumerGroup", c->hooks.running_info);
}

static void on_consumer_status(void *ctx, struct rreq *req)
{
    struct cl_core *c = ctx;
    answer_body(c, req, "group", c->hooks.consumer_status);
}

static void on_consume_directly(void *ctx, struct rreq *req)
{
    struct cl_core *c = ctx;
    if (c->hooks.consume_directly == NULL) {
        on_unsupported(ctx, req);
        return;
    }
    if (for_my_group(c, req, "consumerGroup"))
        c->hooks.consume_directly(c->owner, req);
}

/* RESET_CONSUMER_CLIENT_OFFSET (oneway, so refusals send nothing): its group
 * is in "group", which it must name. */
static void on_reset_offset(void *ctx, struct rreq *req)
{
    struct cl_core *c = ctx;
    if (c->hooks.reset_offset == NULL) {
        on_unsupported(ctx, req);
        return;
    }
    if (rcmd_get(&req->cmd, "group").ptr == NULL) {
        rreq_respond_code(req, RESP_SYSTEM_ERROR, "no group");
        return;
    }
    if (for_my_group(c, req, "group"))
        c->hooks.reset_offset(c->owner, req);
}

static const struct rprocessor CLIENT_TABLE[] = {
    {RC_NOTIFY_CONSUMER_IDS_CHANGED, "NOTIFY_CONSUMER_IDS_CHANGED", on_notify_ids_changed, 0},
    {RC_CHECK_TRANSACTION_STATE, "CHECK_TRANSACTION_STATE", on_check_txn, 0},
    {RC_RESET_CONSUMER_CLIENT_OFFSET, "RESET_CONSUMER_CLIENT_OFFSET", on_reset_offset, 0},
    {RC_GET_CONSUMER_STATUS_FROM_CLIENT, "GET_CONSUMER_STATUS_FROM_CLIENT", on_consumer_status, 0},
    {RC_GET_CONSUMER_RUNNING_INFO, "GET_CONSUMER_RUNNING_INFO", on_running_info, 0},
    {RC_CONSUME_MESSAGE_DIRECTLY, "CONSUME_MESSAGE_DIRECTLY", on_consume_directly, 0},
};

/* Checks that one name server answers (any answer will do). */
int cl_core_probe(struct cl_core *c, ons_exception_t **ex)
{
    int last = TERN_ECLOSED;
    for (size_t i = 0; i < c->cfg.nns; i++) {
        struct rcmd req;
        rcmd_init(&req);
        req.code = RC_GET_ROUTEINFO_BY_TOPIC;
        rcmd_add_cstr(&req, "topic", "TBW102");
        struct rresp resp;
        rresp_init(&resp);
        last = cl_core_call(c, c->cfg.ns_addrs[i], &req, 3000, &resp);
        rresp_deinit(&resp);
        if (last == TERN_OK)
            return 0;
    }
    return cl_raise_err(ex, last, "no name server of NAMESRV_ADDR is reachable");
}

/* ---- lifecycle and the service thread ------------------------------------- */

int cl_core_init(struct cl_core *c, const ons_properties_t *p, enum cl_kind kind,
                 const struct cl_core_hooks *hooks, void *owner, ons_exception_t **ex)
{
    memset(c, 0, sizeof *c);
    if (cl_config_parse(&c->cfg, p, kind, ex) != 0)
        return -1;
    c->hooks = *hooks;
    c->owner = owner;
    snprintf(c->client_id, sizeof c->client_id, "%s@%d#%u", cl_local_ip(), (int)getpid(),
             atomic_fetch_add(&g_instance_seq, 1));
    pthread_mutex_init(&c->mu, NULL);
    pthread_mutex_init(&c->svc_mu, NULL);
    pthread_mutex_init(&c->life_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->svc_cv, &ca);
    pthread_condattr_destroy(&ca);
    strmap_init(&c->routes);
    return 0;
}

static void *svc_main(void *arg)
{
    struct cl_core *c = arg;
    pthread_mutex_lock(&c->svc_mu);
    while (!c->svc_stop) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += 1;
        if (!c->svc_kick)
            pthread_cond_timedwait(&c->svc_cv, &c->svc_mu, &ts);
        c->svc_kick = false;
        if (c->svc_stop)
            break;
        pthread_mutex_unlock(&c->svc_mu);
        int64_t now = clock_mono_ms();
        if (now - c->last_route_ms >= ROUTE_REFRESH_MS) {
            c->last_route_ms = now;
            refresh_routes(c);
        }
        if (now - c->last_hb_ms >= HEARTBEAT_MS || atomic_exchange(&c->hb_due, false)) {
            c->last_hb_ms = now;
            cl_core_heartbeat(c);
        }
        if (c->hooks.tick)
            c->hooks.tick(c->owner, now);
        pthread_mutex_lock(&c->svc_mu);
    }
    pthread_mutex_unlock(&c->svc_mu);
    return NULL;
}

int cl_core_start(struct cl_core *c, ons_exception_t **ex)
{
    struct rclient_opts o;
    memset(&o, 0, sizeof o);
    o.table = CLIENT_TABLE;
    o.ntable = sizeof CLIENT_TABLE / sizeof CLIENT_TABLE[0];
    o.ctx = c;
    o.tls = c->cfg.tls;
    int rc = rclient_new(&o, &c->rc);
    if (rc != TERN_OK)
        return cl_raise_err(ex, rc, "cannot start the network client");
    c->last_hb_ms = c->last_route_ms = clock_mono_ms();
    c->svc_stop = false;
    if (pthread_create(&c->svc, NULL, svc_main, c) != 0) {
        rclient_free(c->rc);
        c->rc = NULL;
        return cl_raise(ex, ONS_ERR_GENERIC, "cannot start the service thread");
    }
    c->svc_running = true;
    return 0;
}

void cl_core_kick(struct cl_core *c)
{
    pthread_mutex_lock(&c->svc_mu);
    c->svc_kick = true;
    pthread_cond_signal(&c->svc_cv);
    pthread_mutex_unlock(&c->svc_mu);
}

void cl_core_stop_service(struct cl_core *c)
{
    if (!c->svc_running)
        return;
    pthread_mutex_lock(&c->svc_mu);
    c->svc_stop = true;
    pthread_cond_signal(&c->svc_cv);
    pthread_mutex_unlock(&c->svc_mu);
    pthread_join(c->svc, NULL);
    c->svc_running = false;
}

void cl_core_deinit(struct cl_core *c)
{
    cl_core_stop_service(c);
    rclient_free(c->rc);
    c->rc = NULL;
    const char *key;
    void *val;
    for (size_t it = 0; strmap_next(&c->routes, &it, &key, &val);)
        cl_route_unref(val);
    strmap_deinit(&c->routes);
    pthread_mutex_destroy(&c->mu);
    pthread_mutex_destroy(&c->svc_mu);
    pthread_mutex_destroy(&c->life_mu);
    pthread_cond_destroy(&c->svc_cv);
    cl_config_deinit(&c->cfg);
}
