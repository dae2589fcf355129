/* SPDX-License-Identifier: Apache-2.0 */
/* consumer_order.c: ordered consumption and the OrderConsumer API (spec
 * §11.6-§11.8, §13.5; remoting-protocol §4.C.9, §8.7, §9.3).
 *
 * Clustering: a queue is taken only once LOCK_BATCH_MQ grants it (then its
 * committed offset is read), and it is pulled and consumed only while the
 * lock is fresh (renewed every 20 s, valid 30 s; the broker's lease is 60 s).
 * Fetched messages go into the queue's buffer in queue order; one drain job
 * per queue (pq->scheduled) consumes them one at a time on the consume
 * threads, so different queues run in parallel and one queue never does.
 * Suspend keeps the message at the head and retries it after
 * suspendTimeMillis; with MaxReconsumeTimes set, a message that failed that
 * many retries goes to the DLQ (CONSUMER_SEND_MSG_BACK, delayLevel -1) and
 * the queue moves on. A queue moving away finishes its in-flight message
 * (pq->consume_mu), drops its buffer, commits its offset synchronously and
 * only then unlocks, so the next owner resumes exactly there. Broadcasting:
 * no locks; failures are retried locally, skipped past MaxReconsumeTimes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/consumer_int.h"
#include "common/arena.h"
#include "common/clock.h"
#include "common/error.h"
#include "protocol/codes.h"
#include "protocol/json.h"

#define LOCK_RENEW_MS 20000
#define LOCK_VALID_MS 30000
#define LOCKED_WAIT   500 /* ms before a queue without a fresh lock is looked at again */
#define DRAIN_MAX     32  /* messages per drain job before the thread serves other queues */

struct ons_order_consumer {
    struct ons_consumer c;
};

/* ---- broker locks ------------------------------------------------------------ */

/* LOCK_BATCH_MQ or UNLOCK_BATCH_MQ for qs (all of one broker). For a lock,
 * OUT: granted[i] tells whether qs[i] is now held. Returns false when the
 * call failed. */
static bool lock_call(struct ons_consumer *c, const char *addr, int code, struct pq *const *qs,
                      size_t n, bool *granted)
{
    buf_t body;
    buf_init(&body);
    jw_t w;
    jw_init(&w, &body);
    jw_obj_begin(&w);
    jw_key(&w, "consumerGroup");
    jw_cstr(&w, c->core.cfg.wire_group);
    jw_key(&w, "clientId");
    jw_cstr(&w, c->core.client_id);
    jw_key(&w, "onlyThisBroker");
    jw_bool(&w, false);
    jw_key(&w, "mqSet");
    jw_arr_begin(&w);
    for (size_t i = 0; i < n; i++) {
        jw_obj_begin(&w);
        jw_key(&w, "topic");
        jw_cstr(&w, qs[i]->wire_topic);
        jw_key(&w, "brokerName");
        jw_cstr(&w, qs[i]->broker);
        jw_key(&w, "queueId");
        jw_i64(&w, qs[i]->qid);
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    jw_obj_end(&w);
    struct rcmd cmd;
    rcmd_init(&cmd);
    cmd.code = code;
    cmd.body = buf_view(&body);
    struct rresp resp;
    rresp_init(&resp);
    int rc = cl_core_call(&c->core, addr, &cmd, CALL_TIMEOUT_MS, &resp);
    buf_deinit(&body);
    bool ok = rc == TERN_OK && resp.cmd.code == RESP_SUCCESS;
    if (ok && granted) {
        memset(granted, 0, n * sizeof *granted);
        arena_t a;
        arena_init(&a);
        struct json_val *root = NULL;
        const struct json_val *set = NULL;
        if (json_parse(resp.cmd.body, &a, &root) == TERN_OK)
            set = json_get(root, "lockOKMQSet");
        for (size_t k = 0; set && set->type == JSON_ARRAY && k < set->n; k++) {
            const struct json_val *e = &set->items[k];
            tern_bytes_t t = json_get_str(e, "topic"), b = json_get_str(e, "brokerName");
            int64_t qid = -1;
            if (e->type != JSON_OBJECT || json_get_i64(e, "queueId", &qid) != TERN_OK)
                continue;
            for (size_t i = 0; i < n; i++)
                if (qid == qs[i]->qid && tern_bytes_eq_cstr(t, qs[i]->wire_topic) &&
                    tern_bytes_eq_cstr(b, qs[i]->broker))
                    granted[i] = true;
        }
        arena_deinit(&a);
    }
    if (!ok)
        cl_log(ONS_LOG_WARN, "%s to %s failed: %s code %d",
               code == RC_LOCK_BATCH_MQ ? "LOCK_BATCH_MQ" : "UNLOCK_BATCH_MQ", addr,
               tern_strerror(rc), rc == TERN_OK ? resp.cmd.code : -1);
    rresp_deinit(&resp);
    return ok;
}

bool cons_order_lock_one(struct ons_consumer *c, const char *addr, const char *wire_topic,
                         const char *broker, int qid)
{
    struct pq probe;
    memset(&probe, 0, sizeof probe);
    probe.wire_topic = (char *)wire_topic;
    snprintf(probe.broker, sizeof probe.broker, "%s", broker);
    probe.qid = qid;
    struct pq *qs[1] = {&probe};
    bool granted = false;
    return lock_call(c, addr, RC_LOCK_BATCH_MQ, qs, 1, &granted) && granted;
}

bool cons_order_lock_valid(const struct ons_consumer *c, const struct pq *q)
{
    if (c->core.cfg.broadcasting)
        return true;
    int64_t t = atomic_load(&q->lock_ms);
    return t > 0 && clock_mono_ms() - t < LOCK_VALID_MS;
}

/* Snapshot of the consumer's queues (one reference each). NULL when empty
 * or out of memory. */
static struct pq **snapshot(struct ons_consumer *c, size_t *n)
{
    pthread_mutex_lock(&c->mu);
    struct pq **qs = c->npqs ? cl_calloc(c->npqs, sizeof *qs) : NULL;
    *n = qs ? c->npqs : 0;
    for (size_t i = 0; i < *n; i++) {
        qs[i] = c->pqs[i];
        atomic_fetch_add(&qs[i]->refs, 1);
    }
    pthread_mutex_unlock(&c->mu);
    return qs;
}

/* Locks (or unlocks) the queues of qs[] whose `pick` flag is set, one call
 * per broker. Locks update lock_ms. */
static void lock_by_broker(struct ons_consumer *c, struct pq **qs, bool *pick, size_t n, int code)
{
    struct pq **batch = cl_calloc(n ? n : 1, sizeof *batch);
    bool *granted = cl_calloc(n ? n : 1, sizeof *granted);
    for (size_t i = 0; batch && granted && i < n; i++) {
        if (!pick[i])
            continue;
        size_t k = 0;
        for (size_t j = i; j < n; j++)
            if (pick[j] && strcmp(qs[j]->broker, qs[i]->broker) == 0) {
                batch[k++] = qs[j];
                pick[j] = false;
            }
        char addr[64];
        if (cons_pq_addr(c, batch[0], addr, sizeof addr) == NULL)
            continue;
        bool ok = lock_call(c, addr, code, batch, k, code == RC_LOCK_BATCH_MQ ? granted : NULL);
        for (size_t j = 0; ok && code == RC_LOCK_BATCH_MQ && j < k; j++) {
            if (granted[j]) {
                atomic_store(&batch[j]->lock_ms, clock_mono_ms());
            } else if (atomic_exchange(&batch[j]->lock_ms, 0) != 0) {
                cl_log(ONS_LOG_WARN, "lost the lock of %s:%s:%d; its consumption pauses",
                       batch[j]->wire_topic, batch[j]->broker, batch[j]->qid);
            }
        }
    }
    free(batch);
    free(granted);
}

void cons_order_tick(struct ons_consumer *c, int64_t now)
{
    if (c->core.cfg.broadcasting)
        return;
    bool all = now >= c->next_lock;
    if (all)
        c->next_lock = now + LOCK_RENEW_MS;
    size_t n;
    struct pq **qs = snapshot(c, &n);
    bool *pick = cl_calloc(n ? n : 1, sizeof *pick);
    size_t npick = 0;
    for (size_t i = 0; pick && i < n; i++) {
        pick[i] = !atomic_load(&qs[i]->dropped) && (all || !cons_order_lock_valid(c, qs[i]));
        npick += pick[i];
    }
    if (npick)
        lock_by_broker(c, qs, pick, n, RC_LOCK_BATCH_MQ);
    for (size_t i = 0; i < n; i++)
        pq_unref(qs[i]);
    free(qs);
    free(pick);
}

void cons_order_unlock_all(struct ons_consumer *c)
{
    if (c->core.cfg.broadcasting)
        return;
    size_t n;
    struct pq **qs = snapshot(c, &n);
    bool *pick = cl_calloc(n ? n : 1, sizeof *pick);
    for (size_t i = 0; pick && i < n; i++)
        pick[i] = atomic_exchange(&qs[i]->lock_ms, 0) != 0;
    if (pick)
        lock_by_broker(c, qs, pick, n, RC_UNLOCK_BATCH_MQ);
    for (size_t i = 0; i < n; i++)
        pq_unref(qs[i]);
    free(qs);
    free(pick);
}

void cons_order_release(struct ons_consumer *c, struct pq *q, const char *addr)
{
    /* q is already marked dropped: its drain job stops after the current
     * message, and no pull adds to its buffer any more. */
    pthread_mutex_lock(&q->consume_mu);
    pthread_mutex_lock(&q->mu);
    for (size_t i = 0; i < q->nbuf; i++)
        ons_message_free(q->buf[i]); /* still in flight: the commit offset stays before them */
    q->nbuf = 0;
    pthread_mutex_unlock(&q->mu);
    pthread_mutex_unlock(&q->consume_mu);
    if (!cons_offset_commit_one(c, q, addr, true)) {
        /* Keep the lock: the next owner waits for the lease to expire rather
         * than start from an older offset. */
        cl_log(ONS_LOG_WARN, "cannot commit %s:%s:%d before unlocking; the lock lapses instead",
               q->wire_topic, q->broker, q->qid);
        return;
    }
    struct pq *qs[1] = {q};
    if (atomic_exchange(&q->lock_ms, 0) != 0)
        (void)lock_call(c, addr, RC_UNLOCK_BATCH_MQ, qs, 1, NULL);
}

/* ---- consumption ------------------------------------------------------------- */

void cons_order_enqueue(struct ons_consumer *c, struct pq *q, ons_message_t **msgs, size_t n)
{
    if (n == 0)
        return;
    pthread_mutex_lock(&q->mu);
    if (atomic_load(&q->dropped)) {
        pthread_mutex_unlock(&q->mu);
        for (size_t i = 0; i < n; i++)
            ons_message_free(msgs[i]);
        return;
    }
    if (q->nbuf + n > q->capbuf) {
        size_t ncap = (q->nbuf + n) * 2;
        ons_message_t **nb = cl_realloc(q->buf, ncap * sizeof *nb);
        if (nb == NULL) {
            /* Forget these messages and fetch them again: take their offsets
             * out of flight and move the next pull back to the first one. */
            q->next_offset = msgs[0]->queue_offset;
            while (q->ninflight && q->inflight[q->ninflight - 1] >= msgs[0]->queue_offset)
                q->ninflight--;
            pthread_mutex_unlock(&q->mu);
            for (size_t i = 0; i < n; i++)
                ons_message_free(msgs[i]);
            return;
        }
        q->buf = nb;
        q->capbuf = ncap;
    }
    memcpy(q->buf + q->nbuf, msgs, n * sizeof *msgs);
    q->nbuf += n;
    bool start = !q->scheduled;
    q->scheduled = true;
    pthread_mutex_unlock(&q->mu);
    if (!start)
        return;
    struct cjob *j = cl_calloc(1, sizeof *j);
    if (j == NULL) {
        pthread_mutex_lock(&q->mu);
        q->scheduled = false; /* the next pull response tries again */
        pthread_mutex_unlock(&q->mu);
        return;
    }
    atomic_fetch_add(&q->refs, 1);
    j->pq = q;
    cons_push_job(c, j);
}

/* Ends a drain job: the queue has no job any more. */
static void drain_done(struct cjob *j)
{
    pthread_mutex_lock(&j->pq->mu);
    j->pq->scheduled = false;
    pthread_mutex_unlock(&j->pq->mu);
    cons_free_job(j);
}

/* Pops the head message after it was consumed (or moved to the DLQ). */
static void pop_head(struct pq *q, ons_message_t *m)
{
    pthread_mutex_lock(&q->mu);
    if (q->nbuf && q->buf[0] == m) {
        memmove(q->buf, q->buf + 1, (q->nbuf - 1) * sizeof *q->buf);
        q->nbuf--;
    }
    pthread_mutex_unlock(&q->mu);
    pq_ack(q, m->queue_offset);
    ons_message_free(m);
}

/* True when a failed message must leave the queue (DLQ, or skipped when
 * broadcasting); false keeps it for a local retry. */
static bool give_up(struct ons_consumer *c, struct pq *q, const ons_message_t *m)
{
    if (!c->core.cfg.max_reconsume_set || m->reconsume_times < c->core.cfg.max_reconsume)
        return false;
    if (c->core.cfg.broadcasting) {
        cl_log(ONS_LOG_WARN, "ordered message %s skipped after %d retries", m->msg_id,
               m->reconsume_times);
        return true;
    }
    if (cons_send_back(c, q, m, -1)) {
        cl_log(ONS_LOG_WARN, "ordered message %s moved to the DLQ after %d retries", m->msg_id,
               m->reconsume_times);
        return true;
    }
    return false; /* the DLQ send failed: retry locally, try again next time */
}

void cons_order_run(struct ons_consumer *c, struct cjob *j)
{
    struct pq *q = j->pq;
    for (int done = 0;; done++) {
        if (atomic_load(&q->dropped)) {
            drain_done(j);
            return;
        }
        if (!cons_order_lock_valid(c, q) || done == DRAIN_MAX) {
            j->not_before = clock_mono_ms() + (done == DRAIN_MAX ? 0 : LOCKED_WAIT);
            cons_push_job(c, j);
            return;
        }
        pthread_mutex_lock(&q->consume_mu);
        pthread_mutex_lock(&q->mu);
        /* Only this job removes the head, so m stays valid after mu drops
         * (appends may move the array, not the messages). */
        ons_message_t *m = q->nbuf && !atomic_load(&q->dropped) ? q->buf[0] : NULL;
        if (m == NULL)
            q->scheduled = false;
        pthread_mutex_unlock(&q->mu);
        if (m == NULL) {
            pthread_mutex_unlock(&q->consume_mu);
            cons_free_job(j);
            return;
        }
        struct sub s = {0};
        bool subscribed = cons_sub_lookup(c, m->topic, &s, NULL, NULL);
        int action = ONS_ORDER_ACTION_SUCCESS;
        if (subscribed && s.fn) {
            struct ons_consume_order_context ctx = {0};
            ons_message_order_listener_fn fn = (ons_message_order_listener_fn)s.fn;
            int64_t t0 = clock_mono_ns();
            action = fn(m, &ctx, s.user);
            bool ok = action == ONS_ORDER_ACTION_SUCCESS;
            cons_stats_consumed(q, ok, !ok, clock_mono_ns() - t0);
        }
        if (action == ONS_ORDER_ACTION_SUCCESS || give_up(c, q, m)) {
            pop_head(q, m);
            pthread_mutex_unlock(&q->consume_mu);
            continue;
        }
        m->reconsume_times++;
        pthread_mutex_unlock(&q->consume_mu);
        j->not_before = clock_mono_ms() + c->core.cfg.suspend_ms;
        cons_push_job(c, j);
        return;
    }
}

/* ---- OrderConsumer API ---------------------------------------------------------- */

ons_order_consumer_t *ons_factory_create_ordered_consumer(const ons_properties_t *p,
                                                          ons_exception_t **ex)
{
    return (ons_order_consumer_t *)consumer_new(p, CL_ORDER_CONSUMER,
                                                sizeof(struct ons_order_consumer), ex);
}

int ons_order_consumer_subscribe(ons_order_consumer_t *c, const char *topic,
                                 const char *sub_expression, ons_message_order_listener_fn listener,
                                 void *user, ons_exception_t **ex)
{
    return consumer_subscribe(c ? &c->c : NULL, topic, sub_expression, (void *)listener, user, ex);
}

int ons_order_consumer_unsubscribe(ons_order_consumer_t *c, const char *topic, ons_exception_t **ex)
{
    return consumer_unsubscribe(c ? &c->c : NULL, topic, ex);
}

int ons_order_consumer_start(ons_order_consumer_t *c, ons_exception_t **ex)
{
    return consumer_start(c ? &c->c : NULL, ex);
}

void ons_order_consumer_shutdown(ons_order_consumer_t *c)
{
    consumer_shutdown(c ? &c->c : NULL);
}

bool ons_order_consumer_is_started(const ons_order_consumer_t *c)
{
    return c && atomic_load(&c->c.core.state) == CL_STARTED;
}

bool ons_order_consumer_is_closed(const ons_order_consumer_t *c)
{
    return c && atomic_load(&c->c.core.state) == CL_CLOSED;
}

void ons_order_consumer_destroy(ons_order_consumer_t *c)
{
    consumer_destroy(c ? &c->c : NULL);
}
