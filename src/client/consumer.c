/* SPDX-License-Identifier: Apache-2.0 */
/* consumer.c: the push Consumer and BatchConsumer (spec §11, §13.2-§13.4,
 * §13.10; remoting-protocol §4.C, §8.3-§8.6), clustering and broadcasting.
 * OrderConsumer is declared but not supported yet.
 *
 * Pieces and threads:
 *  - subscriptions and process queues (struct pq, one per assigned queue),
 *    guarded by c->mu;
 *  - the service thread (core.c) calls tick(): rebalance every 20 s and on
 *    NOTIFY_CONSUMER_IDS_CHANGED (AVG allocation over GET_CONSUMER_LIST_BY_GROUP),
 *    offsets committed every 5 s (UPDATE_CONSUMER_OFFSET oneway, or the
 *    local file when broadcasting);
 *  - the pull thread issues long-polling PULL_MESSAGE calls (SUSPEND, 15 s)
 *    when a queue's pull task is due; responses arrive on the rclient loop
 *    thread, which decodes them, queues consume jobs and reschedules the
 *    queue;
 *  - ConsumeThreadNums consume threads call the listener. ReconsumeLater
 *    sends the message back (CONSUMER_SEND_MSG_BACK, delayLevel 0), falls
 *    back to sending it to %RETRY%<group>, and else retries locally 5 s later.
 * A queue's committed offset is its smallest un-acked offset (or the next
 * pull offset when nothing is in flight). Lock order: c->mu, then pq->mu;
 * pull_mu and cq_mu are leaves. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "client/client_int.h"
#include "common/arena.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/hash.h"
#include "protocol/codes.h"
#include "protocol/json.h"
#include "protocol/message.h"
#include "protocol/msgid.h"
#include "protocol/props.h"

#define REBALANCE_MS       20000
#define COMMIT_MS          5000
#define PULL_BATCH         32
#define PULL_SUSPEND_MS    15000
#define PULL_TIMEOUT_MS    30000
#define PULL_ERROR_DELAY   3000
#define PULL_FULL_DELAY    50
#define PQ_MAX_BUFFERED    1000
#define LOCAL_RETRY_MS     5000
#define CALL_TIMEOUT_MS    3000
#define MAX_INFLATED_BYTES (64 * 1024 * 1024)

int cl_message_put_prop(ons_message_t *m, const char *key, size_t klen, const char *val,
                        size_t vlen);

struct sub {
    char *topic;      /* owned: plain topic */
    char *wire_topic; /* owned */
    char *expr;       /* owned: "*" for all */
    char **tags;      /* owned */
    size_t ntags;
    bool all;
    int64_t version;
    void *fn; /* ons_message_listener_fn or ons_batch_message_listener_fn */
    void *user;
};

struct pq {
    _Atomic int refs;
    char *wire_topic; /* owned */
    char broker[64];
    int qid;
    bool retry; /* the group's %RETRY% topic */
    _Atomic bool dropped;
    pthread_mutex_t mu;
    int64_t next_offset; /* guarded by mu: next pull offset */
    int64_t *inflight;   /* guarded by mu: sorted offsets fetched, not yet acked */
    size_t ninflight, cap;
    int64_t reported; /* guarded by mu: last offset committed to the store */
};

struct pull_task {
    struct pull_task *next;
    struct pq *pq; /* one reference */
    int64_t due;   /* mono ms */
};

struct cjob {
    struct cjob *next;
    struct pq *pq; /* one reference */
    ons_message_t **msgs;
    size_t n;
    int64_t not_before; /* mono ms */
};

struct ons_consumer {
    struct cl_core core;
    bool batch;
    char *retry_topic; /* owned: %RETRY%<wire group> */
    pthread_mutex_t mu;
    struct sub *subs; /* guarded by mu */
    size_t nsubs;
    struct pq **pqs; /* guarded by mu */
    size_t npqs;
    strmap_t local; /* guarded by mu: broadcasting offsets "topic@broker@qid" -> int64_t* */
    bool local_loaded;
    pthread_mutex_t rb_mu; /* serializes rebalances (start vs service thread) */
    _Atomic bool rebalance_due;
    int64_t next_rebalance, next_commit; /* service thread */
    /* pull scheduling */
    pthread_mutex_t pull_mu;
    pthread_cond_t pull_cv;
    struct pull_task *tasks; /* guarded by pull_mu */
    bool pull_stop;          /* guarded by pull_mu */
    pthread_t puller;
    bool puller_running;
    /* consumption */
    pthread_mutex_t cq_mu;
    pthread_cond_t cq_cv;
    struct cjob *head, *tail; /* guarded by cq_mu */
    bool cq_stop;             /* guarded by cq_mu */
    pthread_t *threads;
    int nthreads;
};

struct ons_batch_consumer {
    struct ons_consumer c;
};

struct ons_consume_context {
    int unused;
};

/* ---- process queues ------------------------------------------------------------ */

static void pq_unref(struct pq *q)
{
    if (q == NULL || atomic_fetch_sub(&q->refs, 1) != 1)
        return;
    pthread_mutex_destroy(&q->mu);
    free(q->inflight);
    free(q->wire_topic);
    free(q);
}

static int64_t pq_commit_offset_locked(const struct pq *q)
{
    return q->ninflight ? q->inflight[0] : q->next_offset;
}

/* Removes offset from the in-flight set. */
static void pq_ack(struct pq *q, int64_t off)
{
    pthread_mutex_lock(&q->mu);
    size_t lo = 0, hi = q->ninflight;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (q->inflight[mid] < off)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < q->ninflight && q->inflight[lo] == off) {
        memmove(q->inflight + lo, q->inflight + lo + 1, (q->ninflight - lo - 1) * sizeof(int64_t));
        q->ninflight--;
    }
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

static void hb_sub(jw_t *w, const char *topic, const char *expr, char **tags, size_t ntags,
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
        hb_sub(&w, s->wire_topic, s->expr, s->tags, s->ntags, s->version);
    }
    pthread_mutex_unlock(&c->mu);
    if (!c->core.cfg.broadcasting)
        hb_sub(&w, c->retry_topic, "*", NULL, 0, 1);
    jw_arr_end(&w);
    jw_obj_end(&w);
    jw_arr_end(&w);
    jw_obj_end(&w);
}

/* ---- pull scheduling ------------------------------------------------------------ */

/* Queues a pull of q after delay_ms; takes a new reference. Any thread. */
static void schedule_pull(struct ons_consumer *c, struct pq *q, int64_t delay_ms)
{
    if (atomic_load(&q->dropped))
        return;
    struct pull_task *t = cl_calloc(1, sizeof *t);
    if (t == NULL) {
        /* Without memory the queue stalls until the next rebalance drops it. */
        cl_log(ONS_LOG_ERROR, "out of memory scheduling a pull; queue %s:%d stalls", q->wire_topic,
               q->qid);
        return;
    }
    atomic_fetch_add(&q->refs, 1);
    t->pq = q;
    t->due = clock_mono_ms() + delay_ms;
    pthread_mutex_lock(&c->pull_mu);
    if (c->pull_stop) {
        pthread_mutex_unlock(&c->pull_mu);
        pq_unref(q);
        free(t);
        return;
    }
    t->next = c->tasks;
    c->tasks = t;
    pthread_cond_signal(&c->pull_cv);
    pthread_mutex_unlock(&c->pull_mu);
}

static void push_job(struct ons_consumer *c, struct cjob *j)
{
    pthread_mutex_lock(&c->cq_mu);
    if (c->tail)
        c->tail->next = j;
    else
        c->head = j;
    c->tail = j;
    pthread_cond_signal(&c->cq_cv);
    pthread_mutex_unlock(&c->cq_mu);
}

static void free_job(struct cjob *j)
{
    for (size_t i = 0; i < j->n; i++)
        ons_message_free(j->msgs[i]);
    free(j->msgs);
    pq_unref(j->pq);
    free(j);
}

/* Finds the subscription of a plain topic and copies what the caller needs.
 * Returns false when the topic is no longer subscribed. */
static bool sub_lookup(struct ons_consumer *c, const char *topic, struct sub *out_copy,
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

struct pull_ctx {
    struct ons_consumer *c;
    struct pq *q;    /* one reference */
    int64_t version; /* subscription version the pull was filtered with */
};

/* Version of the subscription of a wire topic (0 when not subscribed). */
static int64_t sub_version(struct ons_consumer *c, const char *wire_topic)
{
    int64_t v = 0;
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->nsubs; i++)
        if (strcmp(c->subs[i].wire_topic, wire_topic) == 0)
            v = c->subs[i].version;
    pthread_mutex_unlock(&c->mu);
    return v;
}

/* Pull response (rclient loop thread): decodes, queues consume jobs and
 * reschedules the queue. arg owns one pq reference. */
static void handle_pull(void *arg, int err, struct rcmd *resp)
{
    struct pull_ctx *pc = arg;
    struct ons_consumer *c = pc->c;
    struct pq *q = pc->q;
    int64_t version = pc->version;
    free(pc);
    int64_t cur = q->retry ? version : sub_version(c, q->wire_topic);
    if (err == TERN_OK && !atomic_load(&q->dropped) && cur != version) {
        /* Filtered with an expression that was replaced meanwhile: forget the
         * answer and pull the same range again with the new one (unless the
         * topic was unsubscribed: the rebalance drops the queue). */
        if (cur != 0)
            schedule_pull(c, q, 0);
        pq_unref(q);
        return;
    }
    if (err != TERN_OK || atomic_load(&q->dropped)) {
        if (err != TERN_OK && err != TERN_ECLOSED)
            cl_log(ONS_LOG_WARN, "pull %s:%s:%d failed: %s", q->wire_topic, q->broker, q->qid,
                   tern_strerror(err));
        schedule_pull(c, q, err == TERN_ETIMEOUT ? 0 : PULL_ERROR_DELAY);
        pq_unref(q);
        return;
    }
    int64_t next = -1;
    bool has_next = rcmd_get_i64(resp, "nextBeginOffset", &next) == TERN_OK;
    int64_t delay = 0;
    switch (resp->code) {
    case RESP_SUCCESS: {
        size_t cap = PULL_BATCH, n = 0;
        ons_message_t **msgs = cl_calloc(cap, sizeof *msgs);
        const uint8_t *p = resp->body.ptr;
        size_t left = resp->body.len;
        while (msgs && left > 0) {
            struct msg_record r;
            if (msg_decode(p, left, &r) != TERN_OK)
                break;
            p += r.total_size;
            left -= (size_t)r.total_size;
            ons_message_t *m = cl_message_from_record(&c->core.cfg, &r);
            if (m == NULL)
                continue; /* skipped; it stays un-acked only if added below */
            bool match = true;
            if (!q->retry && !sub_lookup(c, m->topic, NULL, &match, m->tag))
                match = false;
            if (!match) {
                ons_message_free(m);
                continue;
            }
            if (n == cap) {
                ons_message_t **nm = cl_realloc(msgs, cap * 2 * sizeof *msgs);
                if (nm == NULL) {
                    ons_message_free(m);
                    break;
                }
                msgs = nm;
                cap *= 2;
            }
            msgs[n++] = m;
        }
        pthread_mutex_lock(&q->mu);
        if (q->ninflight + n > q->cap) {
            size_t ncap = (q->ninflight + n) * 2;
            int64_t *ni = cl_realloc(q->inflight, ncap * sizeof(int64_t));
            if (ni) {
                q->inflight = ni;
                q->cap = ncap;
            }
        }
        size_t added = 0;
        for (size_t i = 0; i < n && q->ninflight < q->cap; i++, added++)
            q->inflight[q->ninflight++] = msgs[i]->queue_offset;
        if (added < n) {
            /* Out of memory: deliver nothing more from this batch; re-pull. */
            pthread_mutex_unlock(&q->mu);
            for (size_t i = added; i < n; i++)
                ons_message_free(msgs[i]);
            n = added;
            pthread_mutex_lock(&q->mu);
            if (n)
                q->next_offset = msgs[n - 1]->queue_offset + 1;
            has_next = false;
        }
        if (has_next)
            q->next_offset = next;
        size_t buffered = q->ninflight;
        pthread_mutex_unlock(&q->mu);
        size_t per = c->batch ? (size_t)c->core.cfg.batch_max : 1;
        for (size_t i = 0; i < n;) {
            size_t k = n - i < per ? n - i : per;
            struct cjob *j = cl_calloc(1, sizeof *j);
            ons_message_t **jm = j ? cl_calloc(k, sizeof *jm) : NULL;
            if (j == NULL || jm == NULL) {
                free(j);
                free(jm);
                for (; i < n; i++)
                    ons_message_free(msgs[i]); /* stays in flight: redelivered later */
                break;
            }
            memcpy(jm, msgs + i, k * sizeof *jm);
            j->msgs = jm;
            j->n = k;
            atomic_fetch_add(&q->refs, 1);
            j->pq = q;
            push_job(c, j);
            i += k;
        }
        free(msgs);
        if (buffered > PQ_MAX_BUFFERED)
            delay = PULL_FULL_DELAY;
        break;
    }
    case RESP_PULL_NOT_FOUND:
    case RESP_PULL_RETRY_IMMEDIATELY:
    case RESP_PULL_OFFSET_MOVED:
        if (has_next) {
            pthread_mutex_lock(&q->mu);
            q->next_offset = next;
            pthread_mutex_unlock(&q->mu);
        }
        break;
    default:
        cl_log(ONS_LOG_WARN, "pull %s:%d answered code %d", q->wire_topic, q->qid, resp->code);
        delay = PULL_ERROR_DELAY;
        if (resp->code == RESP_SUBSCRIPTION_NOT_LATEST || resp->code == RESP_SUBSCRIPTION_NOT_EXIST)
            atomic_store(&c->core.hb_due, true);
        break;
    }
    schedule_pull(c, q, delay);
    pq_unref(q);
}

static void issue_pull(struct ons_consumer *c, struct pq *q)
{
    struct cl_route *r = NULL;
    const char *addr = NULL;
    if (cl_core_route(&c->core, q->wire_topic, false, &r, NULL) == 0)
        addr = cl_route_master(r, q->broker);
    if (addr == NULL) {
        cl_route_unref(r);
        schedule_pull(c, q, PULL_ERROR_DELAY);
        return;
    }
    char expr[1024] = "*";
    int64_t version = 1;
    if (!q->retry) {
        pthread_mutex_lock(&c->mu);
        for (size_t i = 0; i < c->nsubs; i++)
            if (strcmp(c->subs[i].wire_topic, q->wire_topic) == 0) {
                snprintf(expr, sizeof expr, "%s", c->subs[i].expr);
                version = c->subs[i].version;
            }
        pthread_mutex_unlock(&c->mu);
    }
    pthread_mutex_lock(&q->mu);
    int64_t off = q->next_offset;
    int64_t commit = pq_commit_offset_locked(q);
    pthread_mutex_unlock(&q->mu);
    bool do_commit = !c->core.cfg.broadcasting && commit > 0;
    struct rcmd cmd;
    rcmd_init(&cmd);
    cmd.code = RC_PULL_MESSAGE;
    rcmd_add_cstr(&cmd, "consumerGroup", c->core.cfg.wire_group);
    rcmd_add_cstr(&cmd, "topic", q->wire_topic);
    rcmd_add_i64(&cmd, "queueId", q->qid);
    rcmd_add_i64(&cmd, "queueOffset", off);
    rcmd_add_i64(&cmd, "maxMsgNums", PULL_BATCH);
    rcmd_add_i64(&cmd, "sysFlag", (do_commit ? 1 : 0) | 2 | 4);
    rcmd_add_i64(&cmd, "commitOffset", do_commit ? commit : 0);
    rcmd_add_i64(&cmd, "suspendTimeoutMillis", PULL_SUSPEND_MS);
    rcmd_add_cstr(&cmd, "subscription", expr);
    rcmd_add_i64(&cmd, "subVersion", version);
    rcmd_add_cstr(&cmd, "expressionType", "TAG");
    char addr_copy[64];
    snprintf(addr_copy, sizeof addr_copy, "%s", addr);
    cl_route_unref(r);
    struct pull_ctx *pc = cl_calloc(1, sizeof *pc);
    if (pc == NULL) {
        rcmd_deinit(&cmd);
        schedule_pull(c, q, PULL_ERROR_DELAY);
        return;
    }
    pc->c = c;
    pc->q = q;
    pc->version = version;
    atomic_fetch_add(&q->refs, 1);
    if (cl_core_call_async(&c->core, addr_copy, &cmd, PULL_TIMEOUT_MS, handle_pull, pc) !=
        TERN_OK) {
        free(pc);
        pq_unref(q);
        schedule_pull(c, q, PULL_ERROR_DELAY);
    }
}

static void *puller_main(void *arg)
{
    struct ons_consumer *c = arg;
    pthread_mutex_lock(&c->pull_mu);
    while (!c->pull_stop) {
        int64_t now = clock_mono_ms(), earliest = now + 1000;
        struct pull_task *due = NULL, **pp = &c->tasks;
        while (*pp) {
            struct pull_task *t = *pp;
            if (t->due <= now) {
                *pp = t->next;
                t->next = due;
                due = t;
            } else {
                if (t->due < earliest)
                    earliest = t->due;
                pp = &t->next;
            }
        }
        if (due == NULL) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            int64_t wait = earliest - now;
            ts.tv_sec += wait / 1000;
            ts.tv_nsec += (wait % 1000) * 1000000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&c->pull_cv, &c->pull_mu, &ts);
            continue;
        }
        pthread_mutex_unlock(&c->pull_mu);
        while (due) {
            struct pull_task *t = due;
            due = t->next;
            if (!atomic_load(&t->pq->dropped))
                issue_pull(c, t->pq);
            pq_unref(t->pq);
            free(t);
        }
        pthread_mutex_lock(&c->pull_mu);
    }
    struct pull_task *t = c->tasks;
    c->tasks = NULL;
    pthread_mutex_unlock(&c->pull_mu);
    while (t) {
        struct pull_task *n = t->next;
        pq_unref(t->pq);
        free(t);
        t = n;
    }
    return NULL;
}

/* ---- consumption ------------------------------------------------------------ */

static const char *pq_addr(struct ons_consumer *c, const struct pq *q, char *buf, size_t cap)
{
    struct cl_route *r = NULL;
    const char *a = NULL;
    if (cl_core_route(&c->core, q->wire_topic, false, &r, NULL) == 0)
        a = cl_route_master(r, q->broker);
    if (a)
        snprintf(buf, cap, "%s", a);
    cl_route_unref(r);
    return a ? buf : NULL;
}

/* CONSUMER_SEND_MSG_BACK with delayLevel 0 (the broker picks 3 + retries). */
static bool send_back(struct ons_consumer *c, const struct pq *q, const ons_message_t *m)
{
    char addr[64];
    if (pq_addr(c, q, addr, sizeof addr) == NULL)
        return false;
    struct rcmd cmd;
    rcmd_init(&cmd);
    cmd.code = RC_CONSUMER_SEND_MSG_BACK;
    rcmd_add_i64(&cmd, "offset", m->phy_offset);
    rcmd_add_cstr(&cmd, "group", c->core.cfg.wire_group);
    rcmd_add_i64(&cmd, "delayLevel", 0);
    rcmd_add_cstr(&cmd, "originMsgId", m->msg_id ? m->msg_id : "");
    rcmd_add_cstr(&cmd, "originTopic", m->wire_topic ? m->wire_topic : "");
    rcmd_add_cstr(&cmd, "unitMode", "false");
    rcmd_add_i64(&cmd, "maxReconsumeTimes", c->core.cfg.max_reconsume);
    rcmd_add_cstr(&cmd, "bname", q->broker);
    struct rresp resp;
    rresp_init(&resp);
    int rc = cl_core_call(&c->core, addr, &cmd, CALL_TIMEOUT_MS, &resp);
    bool ok = rc == TERN_OK && resp.cmd.code == RESP_SUCCESS;
    if (!ok)
        cl_log(ONS_LOG_WARN, "send back of %s failed: %s code %d", m->msg_id, tern_strerror(rc),
               rc == TERN_OK ? resp.cmd.code : -1);
    rresp_deinit(&resp);
    return ok;
}

/* Fallback: the client sends the copy to %RETRY%<group> itself. */
static bool send_to_retry(struct ons_consumer *c, const ons_message_t *m)
{
    struct cl_route *r = NULL;
    if (cl_core_route(&c->core, c->retry_topic, false, &r, NULL) != 0 || r->nwrite == 0) {
        cl_route_unref(r);
        return false;
    }
    const struct cl_mq *q = &r->write[(size_t)rand() % r->nwrite];
    char addr[64];
    const char *a = cl_route_master(r, q->broker);
    snprintf(addr, sizeof addr, "%s", a ? a : "");
    struct cl_mq mq = *q;
    cl_route_unref(r);
    buf_t props;
    buf_init(&props);
    static const char *const SKIP[] = {PROP_RETRY_TOPIC,   PROP_RECONSUME_TIME,
                                       PROP_MAX_RECONSUME, PROP_ORIGIN_MESSAGE_ID,
                                       PROP_DELAY,         NULL};
    props_copy_except(&props, tern_bytes(m->raw_props, m->raw_props_len), SKIP);
    char num[32];
    props_append(&props, PROP_RETRY_TOPIC, tern_cstr(m->wire_topic));
    snprintf(num, sizeof num, "%d", m->reconsume_times + 1);
    props_append(&props, PROP_RECONSUME_TIME, tern_cstr(num));
    snprintf(num, sizeof num, "%d", c->core.cfg.max_reconsume);
    props_append(&props, PROP_MAX_RECONSUME, tern_cstr(num));
    props_append(&props, PROP_ORIGIN_MESSAGE_ID, tern_cstr(m->msg_id ? m->msg_id : ""));
    snprintf(num, sizeof num, "%d", 3 + m->reconsume_times);
    props_append(&props, PROP_DELAY, tern_cstr(num));
    struct rcmd cmd;
    rcmd_init(&cmd);
    cmd.code = RC_SEND_MESSAGE_V2;
    rcmd_add_cstr(&cmd, "a", c->core.cfg.wire_group);
    rcmd_add_cstr(&cmd, "b", c->retry_topic);
    rcmd_add_cstr(&cmd, "c", "TBW102");
    rcmd_add_i64(&cmd, "d", 4);
    rcmd_add_i64(&cmd, "e", mq.qid);
    rcmd_add_i64(&cmd, "f", 0);
    rcmd_add_i64(&cmd, "g", m->born_ts);
    rcmd_add_i64(&cmd, "h", m->flag);
    rcmd_add(&cmd, "i", buf_view(&props));
    rcmd_add_i64(&cmd, "j", m->reconsume_times + 1);
    rcmd_add_cstr(&cmd, "k", "false");
    rcmd_add_i64(&cmd, "l", c->core.cfg.max_reconsume);
    rcmd_add_cstr(&cmd, "n", mq.broker);
    cmd.body = tern_bytes(m->body, m->body_len);
    struct rresp resp;
    rresp_init(&resp);
    int rc = cl_core_call(&c->core, addr, &cmd, CALL_TIMEOUT_MS, &resp);
    bool ok = rc == TERN_OK && resp.cmd.code == RESP_SUCCESS;
    rresp_deinit(&resp);
    buf_deinit(&props);
    return ok;
}

static void run_cjob(struct ons_consumer *c, struct cjob *j)
{
    struct pq *q = j->pq;
    if (atomic_load(&q->dropped)) {
        free_job(j);
        return;
    }
    struct sub s = {0};
    bool subscribed = sub_lookup(c, j->msgs[0]->topic, &s, NULL, NULL);
    int action = ONS_ACTION_COMMIT_MESSAGE;
    if (subscribed && s.fn) {
        struct ons_consume_context ctx = {0};
        if (c->batch) {
            ons_batch_message_listener_fn fn = (ons_batch_message_listener_fn)s.fn;
            action = fn((const ons_message_t *const *)j->msgs, j->n, &ctx, s.user);
        } else {
            ons_message_listener_fn fn = (ons_message_listener_fn)s.fn;
            action = fn(j->msgs[0], &ctx, s.user);
        }
    }
    if (action != ONS_ACTION_COMMIT_MESSAGE && !c->core.cfg.broadcasting) {
        size_t keep = 0;
        for (size_t i = 0; i < j->n; i++) {
            ons_message_t *m = j->msgs[i];
            if (send_back(c, q, m) || send_to_retry(c, m)) {
                pq_ack(q, m->queue_offset);
                ons_message_free(m);
            } else {
                j->msgs[keep++] = m;
            }
        }
        j->n = keep;
        if (keep) {
            cl_log(ONS_LOG_WARN, "retrying %zu message(s) locally in %d ms", keep, LOCAL_RETRY_MS);
            j->not_before = clock_mono_ms() + LOCAL_RETRY_MS;
            j->next = NULL;
            push_job(c, j);
            return;
        }
        free_job(j);
        return;
    }
    if (action != ONS_ACTION_COMMIT_MESSAGE)
        cl_log(ONS_LOG_WARN, "broadcasting: message %s failed and is not retried",
               j->msgs[0]->msg_id);
    for (size_t i = 0; i < j->n; i++)
        pq_ack(q, j->msgs[i]->queue_offset);
    free_job(j);
}

static void *consume_main(void *arg)
{
    struct ons_consumer *c = arg;
    pthread_mutex_lock(&c->cq_mu);
    for (;;) {
        if (c->cq_stop)
            break;
        int64_t now = clock_mono_ms(), earliest = now + 1000;
        struct cjob *j = NULL, *prev = NULL;
        for (struct cjob *it = c->head; it; prev = it, it = it->next) {
            if (it->not_before <= now) {
                j = it;
                break;
            }
            if (it->not_before < earliest)
                earliest = it->not_before;
        }
        if (j == NULL) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            int64_t wait = earliest - now;
            ts.tv_sec += wait / 1000;
            ts.tv_nsec += (wait % 1000) * 1000000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&c->cq_cv, &c->cq_mu, &ts);
            continue;
        }
        if (prev)
            prev->next = j->next;
        else
            c->head = j->next;
        if (c->tail == j)
            c->tail = prev;
        j->next = NULL;
        pthread_mutex_unlock(&c->cq_mu);
        run_cjob(c, j);
        pthread_mutex_lock(&c->cq_mu);
    }
    pthread_mutex_unlock(&c->cq_mu);
    return NULL;
}

/* ---- offsets ------------------------------------------------------------ */

static void local_key(const struct pq *q, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s@%s@%d", q->wire_topic, q->broker, q->qid);
}

static void local_path(struct ons_consumer *c, char *dir, size_t dcap, char *file, size_t fcap)
{
    snprintf(dir, dcap, "%s/%s@%s", c->core.cfg.offset_dir, cl_local_ip(), c->core.cfg.wire_group);
    snprintf(file, fcap, "%s/offsets.txt", dir);
}

/* Loads "key offset" lines of the broadcasting offset file (c->mu held). */
static void local_load(struct ons_consumer *c)
{
    if (c->local_loaded)
        return;
    c->local_loaded = true;
    char dir[600], file[700];
    local_path(c, dir, sizeof dir, file, sizeof file);
    FILE *f = fopen(file, "r");
    if (f == NULL)
        return;
    char line[768];
    while (fgets(line, sizeof line, f)) {
        char *sp = strrchr(line, ' ');
        if (sp == NULL)
            continue;
        *sp = '\0';
        int64_t *v = cl_malloc(sizeof *v);
        if (v == NULL)
            break;
        *v = strtoll(sp + 1, NULL, 10);
        free(strmap_put(&c->local, tern_cstr(line), v));
    }
    fclose(f);
}

/* Writes the broadcasting offset file (c->mu held). */
static void local_save(struct ons_consumer *c)
{
    char dir[600], file[700], tmp[720];
    local_path(c, dir, sizeof dir, file, sizeof file);
    mkdir(c->core.cfg.offset_dir, 0755);
    mkdir(dir, 0755);
    snprintf(tmp, sizeof tmp, "%s.tmp", file);
    FILE *f = fopen(tmp, "w");
    if (f == NULL) {
        cl_log(ONS_LOG_WARN, "cannot write %s: %s", tmp, strerror(errno));
        return;
    }
    const char *key;
    void *val;
    for (size_t it = 0; strmap_next(&c->local, &it, &key, &val);)
        fprintf(f, "%s %lld\n", key, (long long)*(int64_t *)val);
    bool ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, file) != 0)
        cl_log(ONS_LOG_WARN, "cannot write %s", file);
}

/* Commits every queue whose offset changed. sync: wait for answers. */
static void commit_offsets(struct ons_consumer *c, bool sync)
{
    pthread_mutex_lock(&c->mu);
    size_t n = c->npqs;
    struct pq **qs = cl_calloc(n ? n : 1, sizeof *qs);
    if (qs == NULL) {
        pthread_mutex_unlock(&c->mu);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        qs[i] = c->pqs[i];
        atomic_fetch_add(&qs[i]->refs, 1);
    }
    bool dirty = false;
    for (size_t i = 0; c->core.cfg.broadcasting && i < n; i++) {
        struct pq *q = qs[i];
        pthread_mutex_lock(&q->mu);
        int64_t off = pq_commit_offset_locked(q);
        bool changed = off != q->reported && off >= 0;
        q->reported = off;
        pthread_mutex_unlock(&q->mu);
        if (!changed)
            continue;
        char key[512];
        local_key(q, key, sizeof key);
        int64_t *v = strmap_get_cstr(&c->local, key);
        if (v == NULL && (v = cl_malloc(sizeof *v)) != NULL)
            strmap_put(&c->local, tern_cstr(key), v);
        if (v) {
            *v = off;
            dirty = true;
        }
    }
    if (dirty)
        local_save(c);
    pthread_mutex_unlock(&c->mu);
    for (size_t i = 0; !c->core.cfg.broadcasting && i < n; i++) {
        struct pq *q = qs[i];
        pthread_mutex_lock(&q->mu);
        int64_t off = pq_commit_offset_locked(q);
        bool changed = off != q->reported && off >= 0;
        pthread_mutex_unlock(&q->mu);
        char addr[64];
        if (!changed || pq_addr(c, q, addr, sizeof addr) == NULL)
            continue;
        struct rcmd cmd;
        rcmd_init(&cmd);
        cmd.code = RC_UPDATE_CONSUMER_OFFSET;
        rcmd_add_cstr(&cmd, "consumerGroup", c->core.cfg.wire_group);
        rcmd_add_cstr(&cmd, "topic", q->wire_topic);
        rcmd_add_i64(&cmd, "queueId", q->qid);
        rcmd_add_i64(&cmd, "commitOffset", off);
        int rc;
        if (sync) {
            struct rresp resp;
            rresp_init(&resp);
            rc = cl_core_call(&c->core, addr, &cmd, CALL_TIMEOUT_MS, &resp);
            if (rc == TERN_OK && resp.cmd.code != RESP_SUCCESS)
                rc = TERN_EREMOTE;
            rresp_deinit(&resp);
        } else {
            rc = cl_core_oneway(&c->core, addr, &cmd);
        }
        if (rc == TERN_OK) {
            pthread_mutex_lock(&q->mu);
            q->reported = off;
            pthread_mutex_unlock(&q->mu);
        }
    }
    for (size_t i = 0; i < n; i++)
        pq_unref(qs[i]);
    free(qs);
}

/* Start offset of a newly assigned queue (§8.6). OUT: *off. */
static int initial_offset(struct ons_consumer *c, const char *wire_topic, const char *broker,
                          int qid, const char *addr, int64_t *off)
{
    if (c->core.cfg.broadcasting) {
        char key[512];
        struct pq tmp = {.wire_topic = (char *)wire_topic, .qid = qid};
        snprintf(tmp.broker, sizeof tmp.broker, "%s", broker);
        local_key(&tmp, key, sizeof key);
        pthread_mutex_lock(&c->mu);
        local_load(c);
        int64_t *v = strmap_get_cstr(&c->local, key);
        bool found = v != NULL;
        if (found)
            *off = *v;
        pthread_mutex_unlock(&c->mu);
        if (found)
            return 0;
    } else {
        struct rcmd cmd;
        rcmd_init(&cmd);
        cmd.code = RC_QUERY_CONSUMER_OFFSET;
        rcmd_add_cstr(&cmd, "consumerGroup", c->core.cfg.wire_group);
        rcmd_add_cstr(&cmd, "topic", wire_topic);
        rcmd_add_i64(&cmd, "queueId", qid);
        struct rresp resp;
        rresp_init(&resp);
        int rc = cl_core_call(&c->core, addr, &cmd, CALL_TIMEOUT_MS, &resp);
        if (rc != TERN_OK) {
            rresp_deinit(&resp);
            return -1;
        }
        int64_t v = -1;
        bool found = resp.cmd.code == RESP_SUCCESS &&
                     rcmd_get_i64(&resp.cmd, "offset", &v) == TERN_OK && v >= 0;
        rresp_deinit(&resp);
        if (found) {
            *off = v;
            return 0;
        }
        if (strcmp(wire_topic, c->retry_topic) == 0) {
            *off = 0;
            return 0;
        }
    }
    struct rcmd cmd;
    rcmd_init(&cmd);
    cmd.code = RC_GET_MAX_OFFSET;
    rcmd_add_cstr(&cmd, "topic", wire_topic);
    rcmd_add_i64(&cmd, "queueId", qid);
    struct rresp resp;
    rresp_init(&resp);
    int rc = cl_core_call(&c->core, addr, &cmd, CALL_TIMEOUT_MS, &resp);
    int64_t v = -1;
    bool ok = rc == TERN_OK && resp.cmd.code == RESP_SUCCESS &&
              rcmd_get_i64(&resp.cmd, "offset", &v) == TERN_OK;
    rresp_deinit(&resp);
    if (!ok)
        return -1;
    *off = v;
    return 0;
}

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

static void drop_pq_locked(struct ons_consumer *c, size_t i)
{
    struct pq *q = c->pqs[i];
    atomic_store(&q->dropped, true);
    c->pqs[i] = c->pqs[--c->npqs];
    pq_unref(q);
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
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->npqs;) {
        struct pq *q = c->pqs[i];
        bool keep = strcmp(q->wire_topic, wire_topic) != 0;
        for (size_t k = start; !keep && k < start + take; k++)
            keep = strcmp(r->read[k].broker, q->broker) == 0 && r->read[k].qid == q->qid;
        if (keep) {
            i++;
            continue;
        }
        /* Commit its progress before letting it go (oneway; best effort). */
        pthread_mutex_lock(&q->mu);
        int64_t off = pq_commit_offset_locked(q);
        pthread_mutex_unlock(&q->mu);
        const char *addr = cl_route_master(r, q->broker);
        if (!c->core.cfg.broadcasting && addr && off >= 0) {
            struct rcmd cmd;
            rcmd_init(&cmd);
            cmd.code = RC_UPDATE_CONSUMER_OFFSET;
            rcmd_add_cstr(&cmd, "consumerGroup", c->core.cfg.wire_group);
            rcmd_add_cstr(&cmd, "topic", q->wire_topic);
            rcmd_add_i64(&cmd, "queueId", q->qid);
            rcmd_add_i64(&cmd, "commitOffset", off);
            cl_core_oneway(&c->core, addr, &cmd);
        }
        drop_pq_locked(c, i);
    }
    pthread_mutex_unlock(&c->mu);
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
        int64_t off;
        if (addr == NULL || initial_offset(c, wire_topic, mq->broker, mq->qid, addr, &off) != 0) {
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
        pthread_mutex_init(&q->mu, NULL);
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
        schedule_pull(c, q, 0);
    }
    cl_route_unref(r);
    return ok;
}

/* Balances every subscribed topic (and the retry topic); drops queues of
 * topics no longer subscribed. Returns false if some topic must be retried. */
static bool rebalance_locked(struct ons_consumer *c);

static bool rebalance(struct ons_consumer *c)
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
    for (size_t i = 0; topics && i < c->npqs;) {
        bool wanted = false;
        for (size_t t = 0; t < k && !wanted; t++)
            wanted = strcmp(topics[t], c->pqs[i]->wire_topic) == 0;
        if (wanted)
            i++;
        else
            drop_pq_locked(c, i);
    }
    pthread_mutex_unlock(&c->mu);
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

static void consumer_tick(void *owner, int64_t now)
{
    struct ons_consumer *c = owner;
    if (atomic_load(&c->core.state) != CL_STARTED)
        return;
    if (atomic_exchange(&c->rebalance_due, false) || now >= c->next_rebalance) {
        bool ok = rebalance(c);
        c->next_rebalance = now + (ok ? REBALANCE_MS : 1000);
    }
    if (now >= c->next_commit) {
        c->next_commit = now + COMMIT_MS;
        commit_offsets(c, false);
    }
}

static void consumer_notify(void *owner)
{
    struct ons_consumer *c = owner;
    atomic_store(&c->rebalance_due, true);
    cl_core_kick(&c->core);
}

/* ---- lifecycle ------------------------------------------------------------ */

static struct ons_consumer *consumer_new(const ons_properties_t *p, enum cl_kind kind, size_t size,
                                         ons_exception_t **ex)
{
    struct ons_consumer *c = cl_calloc(1, size);
    if (c == NULL) {
        cl_raise_oom(ex);
        return NULL;
    }
    struct cl_core_hooks h = {consumer_heartbeat, consumer_tick, consumer_notify, NULL, true, true};
    if (cl_core_init(&c->core, p, kind, &h, c, ex) != 0) {
        free(c);
        return NULL;
    }
    c->batch = kind == CL_BATCH_CONSUMER;
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
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->pull_cv, &ca);
    pthread_cond_init(&c->cq_cv, &ca);
    pthread_condattr_destroy(&ca);
    strmap_init(&c->local);
    return c;
}

static int consumer_subscribe(struct ons_consumer *c, const char *topic, const char *expr, void *fn,
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

static int consumer_unsubscribe(struct ons_consumer *c, const char *topic, ons_exception_t **ex)
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
    /* Jobs never run stay un-acked: they are delivered again later. */
    struct cjob *j = c->head;
    c->head = c->tail = NULL;
    while (j) {
        struct cjob *n = j->next;
        free_job(j);
        j = n;
    }
}

static int consumer_start(struct ons_consumer *c, ons_exception_t **ex)
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
    if (pthread_create(&c->puller, NULL, puller_main, c) != 0) {
        cl_raise(ex, ONS_ERR_GENERIC, "cannot start the pull thread");
        goto fail1;
    }
    c->puller_running = true;
    c->threads = cl_calloc((size_t)c->core.cfg.consume_threads, sizeof(pthread_t));
    for (int i = 0; c->threads && i < c->core.cfg.consume_threads; i++)
        if (pthread_create(&c->threads[c->nthreads], NULL, consume_main, c) == 0)
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
    atomic_store(&c->core.state, CL_STARTED);
    if (!rebalance(c))
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

static void consumer_shutdown(struct ons_consumer *c)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&c->core.life_mu);
    int state = atomic_exchange(&c->core.state, CL_CLOSED);
    if (state == CL_STARTED) {
        stop_workers(c);
        cl_core_stop_service(&c->core);
        commit_offsets(c, true);
        cl_core_unregister(&c->core, NULL, c->core.cfg.wire_group);
        pthread_mutex_lock(&c->mu);
        for (size_t i = 0; i < c->npqs; i++)
            atomic_store(&c->pqs[i]->dropped, true);
        pthread_mutex_unlock(&c->mu);
        rclient_free(c->core.rc); /* in-flight pulls complete with TERN_ECLOSED */
        c->core.rc = NULL;
        pthread_mutex_lock(&c->mu);
        while (c->npqs)
            drop_pq_locked(c, c->npqs - 1);
        pthread_mutex_unlock(&c->mu);
    }
    pthread_mutex_unlock(&c->core.life_mu);
}

static void consumer_destroy(struct ons_consumer *c)
{
    if (c == NULL)
        return;
    consumer_shutdown(c);
    cl_core_deinit(&c->core);
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

/* ---- OrderConsumer: not supported yet ---------------------------------------- */

struct ons_order_consumer {
    int unused;
};

#define ORDER_NOT_SUPPORTED "OrderConsumer is not supported yet by this SDK version"

ons_order_consumer_t *ons_factory_create_ordered_consumer(const ons_properties_t *p,
                                                          ons_exception_t **ex)
{
    (void)p;
    cl_raise(ex, ONS_ERR_NOT_SUPPORTED, ORDER_NOT_SUPPORTED);
    return NULL;
}

int ons_order_consumer_subscribe(ons_order_consumer_t *c, const char *topic,
                                 const char *sub_expression, ons_message_order_listener_fn listener,
                                 void *user, ons_exception_t **ex)
{
    (void)c;
    (void)topic;
    (void)sub_expression;
    (void)listener;
    (void)user;
    return cl_raise(ex, ONS_ERR_NOT_SUPPORTED, ORDER_NOT_SUPPORTED);
}

int ons_order_consumer_unsubscribe(ons_order_consumer_t *c, const char *topic, ons_exception_t **ex)
{
    (void)c;
    (void)topic;
    return cl_raise(ex, ONS_ERR_NOT_SUPPORTED, ORDER_NOT_SUPPORTED);
}

int ons_order_consumer_start(ons_order_consumer_t *c, ons_exception_t **ex)
{
    (void)c;
    return cl_raise(ex, ONS_ERR_NOT_SUPPORTED, ORDER_NOT_SUPPORTED);
}

void ons_order_consumer_shutdown(ons_order_consumer_t *c)
{
    (void)c;
}

bool ons_order_consumer_is_started(const ons_order_consumer_t *c)
{
    (void)c;
    return false;
}

bool ons_order_consumer_is_closed(const ons_order_consumer_t *c)
{
    (void)c;
    return false;
}

void ons_order_consumer_destroy(ons_order_consumer_t *c)
{
    free(c);
}
