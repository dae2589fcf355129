/* SPDX-License-Identifier: Apache-2.0 */
/* consumer_rebalance.c: queue allocation (spec §13.10; remoting-protocol
 * §8.4) on the service thread every 20 s, on NOTIFY_CONSUMER_IDS_CHANGED and
 * in start(): AVG allocation over the sorted readable queues and the sorted
 * ids of GET_CONSUMER_LIST_BY_GROUP (clustering), every queue (broadcasting).
 * Queues moving away commit their offset first (ordered ones also finish the
 * message in flight and unlock); new queues start at their stored offset
 * (ordered ones only once their broker lock is granted). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/consumer_int.h"
#include "common/arena.h"
#include "common/clock.h"
#include "protocol/codes.h"
#include "protocol/json.h"

/* ---- rebalance ------------------------------------------------------------ */

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The group's client ids from one broker. OUT: *ids (owned), returns count or -1. */
static long consumer_ids(struct ons_consumer *c, const char *addr, char ***ids)
{
    struct rcmd cmd;
    rcmd_init(&cmd);
    cmd.code = RC_GET_CONSUMER_LIST_BY_GROUP;
    rcmd_add_cstr(&cmd, "consumerGroup", c->core.cfg.wire_group);
    struct rresp resp;
    rresp_init(&resp);
    int rc = cl_core_call(&c->core, addr, &cmd, CALL_TIMEOUT_MS, &resp);
    if (rc != TERN_OK || resp.cmd.code != RESP_SUCCESS) {
        rresp_deinit(&resp);
        return -1;
    }
    arena_t a;
    arena_init(&a);
    struct json_val *root = NULL;
    long n = -1;
    if (json_parse(resp.cmd.body, &a, &root) == TERN_OK) {
        const struct json_val *list = json_get(root, "consumerIdList");
        if (list && list->type == JSON_ARRAY) {
            char **out = cl_calloc(list->n ? list->n : 1, sizeof(char *));
            n = 0;
            for (size_t i = 0; out && i < list->n; i++)
                if (list->items[i].type == JSON_STRING &&
                    (out[n] = cl_strndup((const char *)list->items[i].str.ptr,
                                         list->items[i].str.len)) != NULL)
                    n++;
            if (out == NULL)
                n = -1;
            else
                qsort(out, (size_t)n, sizeof(char *), str_cmp);
            *ids = out;
        }
    }
    arena_deinit(&a);
    rresp_deinit(&resp);
    return n;
}

/* Removes queue i from the consumer (c->mu held) and marks it dropped;
 * returns it with the array's reference, for release() outside c->mu. */
static struct pq *detach_locked(struct ons_consumer *c, size_t i)
{
    struct pq *q = c->pqs[i];
    atomic_store(&q->dropped, true);
    c->pqs[i] = c->pqs[--c->npqs];
    return q;
}

struct pq *cons_rebalance_detach(struct ons_consumer *c, const char *wire_topic, const char *broker,
                                 int qid)
{
    struct pq *q = NULL;
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->npqs; i++) {
        const struct pq *it = c->pqs[i];
        if (it->qid == qid && strcmp(it->wire_topic, wire_topic) == 0 &&
            strcmp(it->broker, broker) == 0) {
            q = detach_locked(c, i);
            break;
        }
    }
    pthread_mutex_unlock(&c->mu);
    return q;
}

/* Lets a detached queue go: its progress is committed first (ordered queues
 * also finish the message in flight, drop the rest and unlock). addr: the
 * queue's broker (NULL when unknown). Drops the reference. Not under c->mu:
 * an ordered release waits for a listener. */
static void release(struct ons_consumer *c, struct pq *q, const char *addr)
{
    if (c->orderly && !c->core.cfg.broadcasting && addr)
        cons_order_release(c, q, addr);
    else if (!c->core.cfg.broadcasting && addr)
        (void)cons_offset_commit_one(c, q, addr, false);
    pq_unref(q);
}

/* Detached queues waiting for release(). */
struct detached {
    struct pq **qs; /* owned array; one reference per entry */
    size_t n, cap;
};

static void detached_add(struct detached *d, struct pq *q)
{
    if (d->n == d->cap) {
        size_t ncap = d->cap ? d->cap * 2 : 8;
        struct pq **nq = cl_realloc(d->qs, ncap * sizeof *nq);
        if (nq == NULL) {
            pq_unref(q); /* out of memory: let it go without committing */
            return;
        }
        d->qs = nq;
        d->cap = ncap;
    }
    d->qs[d->n++] = q;
}

static void detached_release(struct ons_consumer *c, struct detached *d)
{
    for (size_t i = 0; i < d->n; i++) {
        char addr[64];
        release(c, d->qs[i], cons_pq_addr(c, d->qs[i], addr, sizeof addr));
    }
    free(d->qs);
    memset(d, 0, sizeof *d);
}

void cons_rebalance_drop_all(struct ons_consumer *c)
{
    pthread_mutex_lock(&c->mu);
    while (c->npqs)
        pq_unref(detach_locked(c, c->npqs - 1));
    pthread_mutex_unlock(&c->mu);
}

/* Returns false when the topic could not be balanced this time. */
static bool rebalance_topic(struct ons_consumer *c, const char *wire_topic)
{
    struct cl_route *r = NULL;
    if (cl_core_route(&c->core, wire_topic, false, &r, NULL) != 0)
        return false;
    size_t start = 0, take = r->nread;
    if (!c->core.cfg.broadcasting && r->nread > 0) {
        const char *addr = cl_route_master(r, r->read[0].broker);
        char **ids = NULL;
        long m = addr ? consumer_ids(c, addr, &ids) : -1;
        if (m <= 0) {
            for (long i = 0; i < m; i++)
                free(ids[i]);
            free(ids);
            cl_route_unref(r);
            return false;
        }
        long me = -1;
        for (long i = 0; i < m; i++)
            if (strcmp(ids[i], c->core.client_id) == 0)
                me = i;
        for (long i = 0; i < m; i++)
            free(ids[i]);
        free(ids);
        if (me < 0) {
            cl_route_unref(r);
            atomic_store(&c->core.hb_due, true);
            return false;
        }
        size_t n = r->nread, mm = (size_t)m, i = (size_t)me, mod = n % mm;
        size_t size = n <= mm ? 1 : (mod > 0 && i < mod ? n / mm + 1 : n / mm);
        start = (mod > 0 && i < mod) ? i * size : i * size + mod;
        take = start >= n ? 0 : (size < n - start ? size : n - start);
    }
    /* Drop queues no longer ours. */
    struct detached gone = {0};
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->npqs;) {
        struct pq *q = c->pqs[i];
        bool keep = strcmp(q->wire_topic, wire_topic) != 0;
        for (size_t k = start; !keep && k < start + take; k++)
            keep = strcmp(r->read[k].broker, q->broker) == 0 && r->read[k].qid == q->qid;
        if (keep)
            i++;
        else
            detached_add(&gone, detach_locked(c, i));
    }
    pthread_mutex_unlock(&c->mu);
    detached_release(c, &gone);
    /* Add new ones. */
    bool ok = true;
    for (size_t k = start; k < start + take; k++) {
        const struct cl_mq *mq = &r->read[k];
        bool have = false;
        pthread_mutex_lock(&c->mu);
        for (size_t i = 0; i < c->npqs && !have; i++)
            have = strcmp(c->pqs[i]->wire_topic, wire_topic) == 0 &&
                   strcmp(c->pqs[i]->broker, mq->broker) == 0 && c->pqs[i]->qid == mq->qid;
        pthread_mutex_unlock(&c->mu);
        if (have)
            continue;
        const char *addr = cl_route_master(r, mq->broker);
        bool locks = c->orderly && !c->core.cfg.broadcasting;
        /* An ordered queue is taken only with its broker lock, and its
         * offset is read after the lock (the previous owner committed it
         * before unlocking). */
        if (addr && locks && !cons_order_lock_one(c, addr, wire_topic, mq->broker, mq->qid)) {
            ok = false;
            continue;
        }
        int64_t lock_ms = locks ? clock_mono_ms() : 0;
        int64_t off;
        if (addr == NULL ||
            cons_offset_initial(c, wire_topic, mq->broker, mq->qid, addr, &off) != 0) {
            ok = false;
            continue;
        }
        struct pq *q = cl_calloc(1, sizeof *q);
        if (q == NULL || (q->wire_topic = cl_strdup(wire_topic)) == NULL) {
            free(q);
            ok = false;
            continue;
        }
        atomic_store(&q->refs, 1);
        snprintf(q->broker, sizeof q->broker, "%s", mq->broker);
        q->qid = mq->qid;
        q->retry = strcmp(wire_topic, c->retry_topic) == 0;
        q->next_offset = off;
        q->reported = off;
        atomic_store(&q->lock_ms, lock_ms);
        pthread_mutex_init(&q->mu, NULL);
        pthread_mutex_init(&q->consume_mu, NULL);
        pthread_mutex_lock(&c->mu);
        struct pq **nq = cl_realloc(c->pqs, (c->npqs + 1) * sizeof *nq);
        if (nq == NULL) {
            pthread_mutex_unlock(&c->mu);
            pq_unref(q);
            ok = false;
            continue;
        }
        c->pqs = nq;
        c->pqs[c->npqs++] = q;
        pthread_mutex_unlock(&c->mu);
        cl_log(ONS_LOG_INFO, "%s takes %s:%s:%d from offset %lld", c->core.client_id, wire_topic,
               mq->broker, mq->qid, (long long)off);
        cons_pull_schedule(c, q, 0);
    }
    cl_route_unref(r);
    return ok;
}

/* Balances every subscribed topic (and the retry topic); drops queues of
 * topics no longer subscribed. Returns false if some topic must be retried. */
static bool rebalance_locked(struct ons_consumer *c);

bool cons_rebalance(struct ons_consumer *c)
{
    pthread_mutex_lock(&c->rb_mu);
    bool ok = rebalance_locked(c);
    pthread_mutex_unlock(&c->rb_mu);
    return ok;
}

static bool rebalance_locked(struct ons_consumer *c)
{
    pthread_mutex_lock(&c->mu);
    size_t n = c->nsubs;
    char **topics = cl_calloc(n + 1, sizeof(char *));
    size_t k = 0;
    for (size_t i = 0; topics && i < n; i++)
        if ((topics[k] = cl_strdup(c->subs[i].wire_topic)) != NULL)
            k++;
    if (topics && !c->core.cfg.broadcasting && n > 0 &&
        (topics[k] = cl_strdup(c->retry_topic)) != NULL)
        k++;
    /* Queues of unsubscribed topics. */
    struct detached gone = {0};
    for (size_t i = 0; topics && i < c->npqs;) {
        bool wanted = false;
        for (size_t t = 0; t < k && !wanted; t++)
            wanted = strcmp(topics[t], c->pqs[i]->wire_topic) == 0;
        if (wanted)
            i++;
        else
            detached_add(&gone, detach_locked(c, i));
    }
    pthread_mutex_unlock(&c->mu);
    detached_release(c, &gone);
    if (topics == NULL)
        return false;
    bool ok = true;
    for (size_t i = 0; i < k; i++) {
        if (!rebalance_topic(c, topics[i]))
            ok = false;
        free(topics[i]);
    }
    free(topics);
    return ok;
}
