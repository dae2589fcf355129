/* SPDX-License-Identifier: Apache-2.0 */
/* consumer.c: the consumer engine's frame (consumer_int.h lists the other
 * files): subscriptions and their heartbeat, process queues, consume jobs,
 * the service-thread tick, start/shutdown, and the Consumer and BatchConsumer
 * APIs (spec §11, §13.2-§13.4, §13.10; remoting-protocol §4.C, §8.3-§8.6).
 *
 * A queue's committed offset is its smallest un-acked offset (or the next
 * pull offset when nothing is in flight). Threads and locks: consumer_int.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/consumer_int.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/hash.h"
#include "protocol/codes.h"
#include "protocol/json.h"

/* ---- process queues ------------------------------------------------------------ */

struct ons_batch_consumer {
    struct ons_consumer c;
};

void pq_unref(struct pq *q)
{
    if (q == NULL || atomic_fetch_sub(&q->refs, 1) != 1)
        return;
    for (size_t i = 0; i < q->nbuf; i++)
        ons_message_free(q->buf[i]);
    free(q->buf);
    pthread_mutex_destroy(&q->consume_mu);
    pthread_mutex_destroy(&q->mu);
    free(q->inflight);
    free(q->wire_topic);
    free(q);
}

int64_t pq_commit_offset_locked(const struct pq *q)
{
    return q->ninflight ? q->inflight[0] : q->next_offset;
}

/* Removes offset from the in-flight set. */
void pq_ack(struct pq *q, int64_t off)
{
    pq_ack_many(q, &off, 1);
}

/* consumer_int.h: one pass that compacts the sorted in-flight array, so a
 * pulled batch costs one lock and one move, not one memmove per message. */
void pq_ack_many(struct pq *q, const int64_t *offs, size_t n)
{
    if (n == 0)
        return;
    pthread_mutex_lock(&q->mu);
    size_t lo = 0, hi = q->ninflight;
    while (lo < hi) { /* first in-flight offset >= offs[0] */
        size_t mid = (lo + hi) / 2;
        if (q->inflight[mid] < offs[0])
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t w = lo, k = 0;
    for (size_t r = lo; r < q->ninflight; r++) {
        int64_t v = q->inflight[r];
        while (k < n && offs[k] < v)
            k++;
        if (k < n && offs[k] == v)
            continue; /* acked: dropped */
        q->inflight[w++] = v;
    }
    q->ninflight = w;
    pthread_mutex_unlock(&q->mu);
}

/* ---- subscriptions and heartbeat ------------------------------------------------ */

static void sub_free(struct sub *s)
{
    free(s->topic);
    free(s->wire_topic);
    free(s->expr);
    for (size_t i = 0; i < s->ntags; i++)
        free(s->tags[i]);
    free(s->tags);
}

/* Parses "a || b" (spec §11.2). */
static int sub_parse(struct sub *s, const char *expr)
{
    if (expr == NULL)
        expr = "";
    s->all = false;
    const char *p = expr;
    while (*p) {
        const char *e = strstr(p, "||");
        size_t n = e ? (size_t)(e - p) : strlen(p);
        const char *a = p;
        while (n && (*a == ' ' || *a == '\t')) {
            a++;
            n--;
        }
        while (n && (a[n - 1] == ' ' || a[n - 1] == '\t'))
            n--;
        p = e ? e + 2 : p + strlen(p);
        if (n == 0)
            continue;
        if (n == 1 && a[0] == '*') {
            s->all = true;
            continue;
        }
        char **nt = cl_realloc(s->tags, (s->ntags + 1) * sizeof(char *));
        if (nt == NULL)
            return -1;
        s->tags = nt;
        if ((s->tags[s->ntags] = cl_strndup(a, n)) == NULL)
            return -1;
        s->ntags++;
    }
    if (s->ntags == 0)
        s->all = true;
    s->expr = cl_strdup(s->all ? "*" : expr);
    return s->expr ? 0 : -1;
}

static bool sub_match(const struct sub *s, const char *tag)
{
    if (s->all)
        return true;
    if (tag == NULL)
        return false;
    for (size_t i = 0; i < s->ntags; i++)
        if (strcmp(s->tags[i], tag) == 0)
            return true;
    return false;
}

void cons_write_sub(jw_t *w, const char *topic, const char *expr, char *const *tags, size_t ntags,
                    int64_t version)
{
    jw_obj_begin(w);
    jw_key(w, "topic");
    jw_cstr(w, topic);
    jw_key(w, "subString");
    jw_cstr(w, expr);
    jw_key(w, "tagsSet");
    jw_arr_begin(w);
    for (size_t i = 0; i < ntags; i++)
        jw_cstr(w, tags[i]);
    jw_arr_end(w);
    jw_key(w, "codeSet");
    jw_arr_begin(w);
    for (size_t i = 0; i < ntags; i++)
        jw_i64(w, java_string_hash((const uint8_t *)tags[i], strlen(tags[i])));
    jw_arr_end(w);
    jw_key(w, "subVersion");
    jw_i64(w, version);
    jw_key(w, "expressionType");
    jw_cstr(w, "TAG");
    jw_key(w, "classFilterMode");
    jw_bool(w, false);
    jw_obj_end(w);
}

static void consumer_heartbeat(void *owner, buf_t *out)
{
    struct ons_consumer *c = owner;
    jw_t w;
    jw_init(&w, out);
    jw_obj_begin(&w);
    jw_key(&w, "clientID");
    jw_cstr(&w, c->core.client_id);
    jw_key(&w, "producerDataSet");
    jw_arr_begin(&w);
    jw_arr_end(&w);
    jw_key(&w, "consumerDataSet");
    jw_arr_begin(&w);
    jw_obj_begin(&w);
    jw_key(&w, "groupName");
    jw_cstr(&w, c->core.cfg.wire_group);
    jw_key(&w, "consumeType");
    jw_cstr(&w, "CONSUME_PASSIVELY");
    jw_key(&w, "messageModel");
    jw_cstr(&w, c->core.cfg.broadcasting ? "BROADCASTING" : "CLUSTERING");
    jw_key(&w, "consumeFromWhere");
    jw_cstr(&w, "CONSUME_FROM_LAST_OFFSET");
    jw_key(&w, "unitMode");
    jw_bool(&w, false);
    jw_key(&w, "subscriptionDataSet");
    jw_arr_begin(&w);
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->nsubs; i++) {
        const struct sub *s = &c->subs[i];
        cons_write_sub(&w, s->wire_topic, s->expr, s->tags, s->ntags, s->version);
    }
    pthread_mutex_unlock(&c->mu);
    if (!c->core.cfg.broadcasting)
        cons_write_sub(&w, c->retry_topic, "*", NULL, 0, 1);
    jw_arr_end(&w);
    jw_obj_end(&w);
    jw_arr_end(&w);
    jw_obj_end(&w);
}

/* How many idle consume threads queued jobs should wake (cq_mu held).
 * A wake-up is two context switches, dearer than a fast listener's whole
 * batch, so a Consumer wakes a thread only when none runs or the queued
 * work (messages x the listener's average time) is more than the running
 * threads get through in SPLIT_NS each. Ordered queues may block in their
 * listener (suspend) and always wake one. The service thread
 * (cons_wake_if_waiting) wakes one each second while work waits, should
 * every running thread be stuck in a listener. */
static int wake_count(struct ons_consumer *c)
{
    if (c->cq_idle == 0 || c->head == NULL)
        return 0;
    int running = c->nthreads - c->cq_idle;
    if (c->orderly)
        return 1;
    int64_t avg = atomic_load(&c->listen_ns);
    int64_t work = (int64_t)c->cq_msgs * (avg > 0 ? avg : 1);
    int want = (int)((work + SPLIT_NS - 1) / SPLIT_NS) - running;
    if (running <= 0 && want < 1)
        want = 1;
    return want < 0 ? 0 : want > c->cq_idle ? c->cq_idle : want;
}

static void signal_n(struct ons_consumer *c, int n)
{
    for (int i = 0; i < n; i++)
        pthread_cond_signal(&c->cq_cv);
}

static void enqueue_locked(struct ons_consumer *c, struct cjob *j)
{
    if (c->tail)
        c->tail->next = j;
    else
        c->head = j;
    c->tail = j;
    c->cq_msgs += j->n;
}

/* Signals after unlocking: a thread woken under the lock would only block
 * on it again. */
void cons_push_job(struct ons_consumer *c, struct cjob *j)
{
    pthread_mutex_lock(&c->cq_mu);
    enqueue_locked(c, j);
    int n = wake_count(c) > 0 ? 1 : 0;
    pthread_mutex_unlock(&c->cq_mu);
    signal_n(c, n);
}

/* The deferred wake-up: as many threads as the queued work wants. */
static void wake_deferred(struct loop_task *t, bool cancelled)
{
    (void)cancelled; /* a stopping loop still runs deferred tasks: wake anyway */
    struct ons_consumer *c =
        (struct ons_consumer *)((char *)t - offsetof(struct ons_consumer, wake_task));
    c->wake_deferred = false;
    pthread_mutex_lock(&c->cq_mu);
    int n = wake_count(c);
    pthread_mutex_unlock(&c->cq_mu);
    signal_n(c, n);
}

bool cons_wake_at_loop_end(struct ons_consumer *c)
{
    struct loop *l = loop_current();
    if (l == NULL)
        return false;
    if (!c->wake_deferred) {
        c->wake_deferred = true;
        c->wake_task.fn = wake_deferred;
        loop_defer(l, &c->wake_task);
    }
    return true;
}

void cons_push_job_loop(struct ons_consumer *c, struct cjob *j)
{
    if (!cons_wake_at_loop_end(c)) {
        cons_push_job(c, j);
        return;
    }
    pthread_mutex_lock(&c->cq_mu);
    enqueue_locked(c, j);
    pthread_mutex_unlock(&c->cq_mu);
}

void cons_wake_if_waiting(struct ons_consumer *c)
{
    pthread_mutex_lock(&c->cq_mu);
    if (c->head && c->cq_idle > 0)
        pthread_cond_signal(&c->cq_cv);
    pthread_mutex_unlock(&c->cq_mu);
}

void cons_free_job(struct cjob *j)
{
    if (j->direct)
        rreq_respond_code(j->direct, RESP_SYSTEM_ERROR,
                          "not consumed: the consumer is shutting down");
    for (size_t i = 0; j->msgs && i < j->n; i++)
        ons_message_free(j->msgs[i]);
    free(j->msgs);
    cl_slab_unref(j->raw);
    pq_unref(j->pq);
    free(j);
}

/* Finds the subscription of a plain topic and copies what the caller needs.
 * Returns false when the topic is no longer subscribed. */
bool cons_sub_lookup(struct ons_consumer *c, const char *topic, struct sub *out_copy,
                     bool *match_tag, const char *tag)
{
    bool found = false;
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->nsubs; i++) {
        if (strcmp(c->subs[i].topic, topic) == 0) {
            if (out_copy) {
                out_copy->fn = c->subs[i].fn;
                out_copy->user = c->subs[i].user;
            }
            if (match_tag)
                *match_tag = sub_match(&c->subs[i], tag);
            found = true;
            break;
        }
    }
    pthread_mutex_unlock(&c->mu);
    return found;
}

/* consumer_int.h. */
void cons_sub_filter(struct ons_consumer *c, ons_message_t **msgs, size_t n)
{
    const struct sub *s = NULL;
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < n; i++) {
        ons_message_t *m = msgs[i];
        if (m == NULL)
            continue;
        if (s == NULL || strcmp(s->topic, m->topic) != 0) {
            s = NULL;
            for (size_t k = 0; k < c->nsubs && s == NULL; k++)
                if (strcmp(c->subs[k].topic, m->topic) == 0)
                    s = &c->subs[k];
        }
        if (s == NULL || !sub_match(s, m->tag)) {
            ons_message_free(m);
            msgs[i] = NULL;
        }
    }
    pthread_mutex_unlock(&c->mu);
}

static void consumer_tick(void *owner, int64_t now)
{
    struct ons_consumer *c = owner;
    if (atomic_load(&c->core.state) != CL_STARTED)
        return;
    cons_reset_apply(c);
    if (atomic_exchange(&c->rebalance_due, false) || now >= c->next_rebalance) {
        bool ok = cons_rebalance(c);
        c->next_rebalance = now + (ok ? REBALANCE_MS : 1000);
    }
    if (now >= c->next_commit) {
        c->next_commit = now + COMMIT_MS;
        cons_offset_commit_all(c, false);
    }
    if (c->orderly)
        cons_order_tick(c, now);
    else
        cons_check_timeouts(c, now);
    cons_stats_roll(c, now);
    cons_wake_if_waiting(c);
}

static void consumer_notify(void *owner)
{
    struct ons_consumer *c = owner;
    atomic_store(&c->rebalance_due, true);
    cl_core_kick(&c->core);
}

/* ---- lifecycle ------------------------------------------------------------ */

struct ons_consumer *consumer_new(const ons_properties_t *p, enum cl_kind kind, size_t size,
                                  ons_exception_t **ex)
{
    struct ons_consumer *c = cl_calloc(1, size);
    if (c == NULL) {
        cl_raise_oom(ex);
        return NULL;
    }
    struct cl_core_hooks h = {.build_heartbeat = consumer_heartbeat,
                              .tick = consumer_tick,
                              .notify = consumer_notify,
                              .running_info = cons_running_info,
                              .consumer_status = cons_status_info,
                              .consume_directly = cons_direct_request,
                              .reset_offset = cons_reset_request,
                              .heartbeat_all_brokers = true,
                              .is_consumer = true};
    if (cl_core_init(&c->core, p, kind, &h, c, ex) != 0) {
        free(c);
        return NULL;
    }
    c->batch = kind == CL_BATCH_CONSUMER;
    c->orderly = kind == CL_ORDER_CONSUMER;
    size_t n = strlen(c->core.cfg.wire_group) + 8;
    if ((c->retry_topic = cl_malloc(n)) == NULL) {
        cl_core_deinit(&c->core);
        free(c);
        cl_raise_oom(ex);
        return NULL;
    }
    snprintf(c->retry_topic, n, "%%RETRY%%%s", c->core.cfg.wire_group);
    pthread_mutex_init(&c->mu, NULL);
    pthread_mutex_init(&c->rb_mu, NULL);
    pthread_mutex_init(&c->pull_mu, NULL);
    pthread_mutex_init(&c->cq_mu, NULL);
    pthread_mutex_init(&c->run_mu, NULL);
    pthread_cond_init(&c->run_cv, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->pull_cv, &ca);
    pthread_cond_init(&c->cq_cv, &ca);
    pthread_condattr_destroy(&ca);
    strmap_init(&c->local);
    return c;
}

int consumer_subscribe(struct ons_consumer *c, const char *topic, const char *expr, void *fn,
                       void *user, ons_exception_t **ex)
{
    if (c == NULL)
        return cl_raise(ex, ONS_ERR_NULL_POINTER, "consumer is NULL");
    if (topic == NULL || fn == NULL)
        return cl_raise(ex, ONS_ERR_NULL_POINTER, "topic or listener is NULL");
    ons_message_t probe = {0};
    probe.topic = (char *)topic;
    uint8_t one = 1;
    probe.body = &one;
    probe.body_len = 1;
    if (cl_message_validate(&probe, 0, ex) != 0)
        return -1;
    int state = atomic_load(&c->core.state);
    if (state == CL_CLOSED)
        return cl_raise(ex, ONS_ERR_ILLEGAL_STATE, "the consumer has been shut down");
    struct sub s = {0};
    s.fn = fn;
    s.user = user;
    s.version = clock_wall_ms();
    if ((s.topic = cl_strdup(topic)) == NULL ||
        (s.wire_topic = cl_ns_wrap(&c->core.cfg, topic)) == NULL || sub_parse(&s, expr) != 0) {
        sub_free(&s);
        return cl_raise_oom(ex);
    }
    if (state == CL_STARTED) {
        struct cl_route *r = NULL;
        if (cl_core_route(&c->core, s.wire_topic, false, &r, ex) != 0) {
            sub_free(&s);
            return -1;
        }
        cl_route_unref(r);
    }
    pthread_mutex_lock(&c->mu);
    size_t i = 0;
    while (i < c->nsubs && strcmp(c->subs[i].topic, topic) != 0)
        i++;
    if (i == c->nsubs) {
        struct sub *ns = cl_realloc(c->subs, (c->nsubs + 1) * sizeof *ns);
        if (ns == NULL) {
            pthread_mutex_unlock(&c->mu);
            sub_free(&s);
            return cl_raise_oom(ex);
        }
        c->subs = ns;
        c->nsubs++;
    } else {
        sub_free(&c->subs[i]);
    }
    c->subs[i] = s;
    pthread_mutex_unlock(&c->mu);
    if (state == CL_STARTED) {
        cl_core_heartbeat(&c->core);
        consumer_notify(c);
    }
    return 0;
}

int consumer_unsubscribe(struct ons_consumer *c, const char *topic, ons_exception_t **ex)
{
    if (c == NULL || topic == NULL)
        return cl_raise(ex, ONS_ERR_NULL_POINTER, "consumer or topic is NULL");
    bool found = false;
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->nsubs; i++) {
        if (strcmp(c->subs[i].topic, topic) == 0) {
            sub_free(&c->subs[i]);
            c->subs[i] = c->subs[--c->nsubs];
            found = true;
            break;
        }
    }
    pthread_mutex_unlock(&c->mu);
    if (found && atomic_load(&c->core.state) == CL_STARTED) {
        cl_core_heartbeat(&c->core);
        consumer_notify(c);
    }
    return 0;
}

/* Frees the queued jobs. Jobs never run stay un-acked: they are delivered
 * again later. */
static void free_queued_jobs(struct ons_consumer *c)
{
    pthread_mutex_lock(&c->cq_mu);
    struct cjob *j = c->head;
    c->head = c->tail = NULL;
    c->cq_msgs = 0;
    pthread_mutex_unlock(&c->cq_mu);
    while (j) {
        struct cjob *n = j->next;
        cons_free_job(j);
        j = n;
    }
}

static void stop_workers(struct ons_consumer *c)
{
    if (c->puller_running) {
        pthread_mutex_lock(&c->pull_mu);
        c->pull_stop = true;
        pthread_cond_broadcast(&c->pull_cv);
        pthread_mutex_unlock(&c->pull_mu);
        pthread_join(c->puller, NULL);
        c->puller_running = false;
    }
    pthread_mutex_lock(&c->cq_mu);
    c->cq_stop = true;
    pthread_cond_broadcast(&c->cq_cv);
    pthread_mutex_unlock(&c->cq_mu);
    for (int i = 0; i < c->nthreads; i++)
        pthread_join(c->threads[i], NULL);
    c->nthreads = 0;
    free(c->threads);
    c->threads = NULL;
    pthread_mutex_lock(&c->run_mu);
    free(c->slots);
    c->slots = NULL;
    c->nslots = 0;
    pthread_mutex_unlock(&c->run_mu);
    free_queued_jobs(c);
}

int consumer_start(struct ons_consumer *c, ons_exception_t **ex)
{
    if (c == NULL)
        return cl_raise(ex, ONS_ERR_NULL_POINTER, "consumer is NULL");
    pthread_mutex_lock(&c->core.life_mu);
    int state = atomic_load(&c->core.state);
    if (state != CL_CREATED) {
        pthread_mutex_unlock(&c->core.life_mu);
        return state == CL_STARTED
                   ? 0
                   : cl_raise(ex, ONS_ERR_ILLEGAL_STATE, "the consumer has been shut down");
    }
    if (cl_core_start(&c->core, ex) != 0)
        goto fail0;
    if (cl_core_probe(&c->core, ex) != 0)
        goto fail1;
    /* Routes of every subscribed topic; a missing topic fails start. */
    pthread_mutex_lock(&c->mu);
    size_t n = c->nsubs;
    char **topics = cl_calloc(n ? n : 1, sizeof(char *));
    for (size_t i = 0; topics && i < n; i++)
        topics[i] = cl_strdup(c->subs[i].wire_topic);
    pthread_mutex_unlock(&c->mu);
    if (topics == NULL) {
        cl_raise_oom(ex);
        goto fail1;
    }
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        struct cl_route *r = NULL;
        if (rc == 0 &&
            (topics[i] == NULL || cl_core_route(&c->core, topics[i], false, &r, ex) != 0))
            rc = -1;
        cl_route_unref(r);
        free(topics[i]);
    }
    free(topics);
    if (rc != 0)
        goto fail1;
    cl_core_heartbeat(&c->core);
    c->pull_stop = false;
    c->cq_stop = false;
    if (pthread_create(&c->puller, NULL, cons_pull_main, c) != 0) {
        cl_raise(ex, ONS_ERR_GENERIC, "cannot start the pull thread");
        goto fail1;
    }
    c->puller_running = true;
    c->threads = cl_calloc((size_t)c->core.cfg.consume_threads, sizeof(pthread_t));
    c->slots = cl_calloc((size_t)c->core.cfg.consume_threads, sizeof(struct run_slot));
    c->nslots = c->slots ? c->core.cfg.consume_threads : 0;
    atomic_store(&c->slot_seq, 0);
    for (int i = 0; c->threads && c->slots && i < c->core.cfg.consume_threads; i++)
        if (pthread_create(&c->threads[c->nthreads], NULL, cons_consume_main, c) == 0)
            c->nthreads++;
    if (c->nthreads == 0) {
        cl_raise(ex, ONS_ERR_GENERIC, "cannot start the consume threads");
        stop_workers(c);
        goto fail1;
    }
    /* First assignment before returning, so every message stored after start()
     * returns is delivered (spec §13.2). The service thread may rebalance at
     * the same time (a NOTIFY); rb_mu keeps them apart. */
    int64_t now = clock_mono_ms();
    c->next_rebalance = now + REBALANCE_MS;
    c->next_commit = now + COMMIT_MS;
    atomic_store(&c->start_wall_ms, clock_wall_ms());
    atomic_store(&c->core.state, CL_STARTED);
    if (!cons_rebalance(c))
        c->next_rebalance = now + 1000;
    pthread_mutex_unlock(&c->core.life_mu);
    return 0;
fail1:
    cl_core_stop_service(&c->core);
    rclient_free(c->core.rc);
    c->core.rc = NULL;
fail0:
    pthread_mutex_unlock(&c->core.life_mu);
    return -1;
}

void consumer_shutdown(struct ons_consumer *c)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&c->core.life_mu);
    int state = atomic_exchange(&c->core.state, CL_CLOSED);
    if (state == CL_STARTED) {
        stop_workers(c);
        cl_core_stop_service(&c->core);
        cons_offset_commit_all(c, true);
        if (c->orderly)
            cons_order_unlock_all(c);
        cl_core_unregister(&c->core, NULL, c->core.cfg.wire_group);
        pthread_mutex_lock(&c->mu);
        for (size_t i = 0; i < c->npqs; i++)
            atomic_store(&c->pqs[i]->dropped, true);
        pthread_mutex_unlock(&c->mu);
        rclient_free(c->core.rc); /* in-flight pulls complete with TERN_ECLOSED */
        c->core.rc = NULL;
        free_queued_jobs(c); /* queued by pull responses since stop_workers */
        cons_rebalance_drop_all(c);
    }
    pthread_mutex_unlock(&c->core.life_mu);
}

void consumer_destroy(struct ons_consumer *c)
{
    if (c == NULL)
        return;
    consumer_shutdown(c);
    cl_core_deinit(&c->core);
    cons_reset_free_pending(c);
    for (size_t i = 0; i < c->nsubs; i++)
        sub_free(&c->subs[i]);
    free(c->subs);
    free(c->pqs);
    const char *key;
    void *val;
    for (size_t it = 0; strmap_next(&c->local, &it, &key, &val);)
        free(val);
    strmap_deinit(&c->local);
    free(c->retry_topic);
    pthread_mutex_destroy(&c->mu);
    pthread_mutex_destroy(&c->rb_mu);
    pthread_mutex_destroy(&c->pull_mu);
    pthread_mutex_destroy(&c->cq_mu);
    pthread_mutex_destroy(&c->run_mu);
    pthread_cond_destroy(&c->run_cv);
    pthread_cond_destroy(&c->pull_cv);
    pthread_cond_destroy(&c->cq_cv);
    free(c);
}

/* ---- Consumer ------------------------------------------------------------ */

ons_consumer_t *ons_factory_create_consumer(const ons_properties_t *p, ons_exception_t **ex)
{
    return consumer_new(p, CL_CONSUMER, sizeof(struct ons_consumer), ex);
}

int ons_consumer_subscribe(ons_consumer_t *c, const char *topic, const char *sub_expression,
                           ons_message_listener_fn listener, void *user, ons_exception_t **ex)
{
    return consumer_subscribe(c, topic, sub_expression, (void *)listener, user, ex);
}

int ons_consumer_unsubscribe(ons_consumer_t *c, const char *topic, ons_exception_t **ex)
{
    return consumer_unsubscribe(c, topic, ex);
}

int ons_consumer_start(ons_consumer_t *c, ons_exception_t **ex)
{
    return consumer_start(c, ex);
}

void ons_consumer_shutdown(ons_consumer_t *c)
{
    consumer_shutdown(c);
}

bool ons_consumer_is_started(const ons_consumer_t *c)
{
    return c && atomic_load(&c->core.state) == CL_STARTED;
}

bool ons_consumer_is_closed(const ons_consumer_t *c)
{
    return c && atomic_load(&c->core.state) == CL_CLOSED;
}

void ons_consumer_destroy(ons_consumer_t *c)
{
    consumer_destroy(c);
}

/* ---- BatchConsumer ------------------------------------------------------------ */

ons_batch_consumer_t *ons_factory_create_batch_consumer(const ons_properties_t *p,
                                                        ons_exception_t **ex)
{
    return (ons_batch_consumer_t *)consumer_new(p, CL_BATCH_CONSUMER,
                                                sizeof(struct ons_batch_consumer), ex);
}

int ons_batch_consumer_subscribe(ons_batch_consumer_t *c, const char *topic,
                                 const char *sub_expression, ons_batch_message_listener_fn listener,
                                 void *user, ons_exception_t **ex)
{
    return consumer_subscribe(c ? &c->c : NULL, topic, sub_expression, (void *)listener, user, ex);
}

int ons_batch_consumer_unsubscribe(ons_batch_consumer_t *c, const char *topic, ons_exception_t **ex)
{
    return consumer_unsubscribe(c ? &c->c : NULL, topic, ex);
}

int ons_batch_consumer_start(ons_batch_consumer_t *c, ons_exception_t **ex)
{
    return consumer_start(c ? &c->c : NULL, ex);
}

void ons_batch_consumer_shutdown(ons_batch_consumer_t *c)
{
    consumer_shutdown(c ? &c->c : NULL);
}

bool ons_batch_consumer_is_started(const ons_batch_consumer_t *c)
{
    return c && ons_consumer_is_started(&c->c);
}

bool ons_batch_consumer_is_closed(const ons_batch_consumer_t *c)
{
    return c && ons_consumer_is_closed(&c->c);
}

void ons_batch_consumer_destroy(ons_batch_consumer_t *c)
{
    consumer_destroy(c ? &c->c : NULL);
}
