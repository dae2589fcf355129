/* SPDX-License-Identifier: Apache-2.0 */
/* consumer_pull.c: pulls (remoting-protocol §4.C.4, §8.5). The pull thread
 * issues a long-polling PULL_MESSAGE (SUSPEND, 15 s) when a queue's pull task
 * is due; the response arrives on the rclient loop thread, which decodes the
 * records, re-checks tags, records the offsets in flight, hands the messages
 * to consumption (jobs, or an ordered queue's buffer) and reschedules the
 * queue. More than 1000 buffered messages pause a queue's pulls for 50 ms.
 *
 * A queue's pulls form a chain: each answer moves next_offset on and the
 * next pull starts there. While a concurrent consumer catches up (an answer
 * brought a full batch of consecutive offsets), pulls of the following
 * batches go out ahead, up to PULL_WINDOW in flight, so the broker reads
 * the next batches while this one is handled. Only an answer pulled from
 * the queue's current next_offset counts; one overtaken by the chain (a
 * short or filtered batch before it) is dropped unread, and its range is
 * pulled again from the chain. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/consumer_int.h"
#include "common/clock.h"
#include "common/error.h"
#include "protocol/codes.h"
#include "protocol/message.h"

#define PULL_SUSPEND_MS 15000
#define PULL_TIMEOUT_MS 30000
#define PULL_FULL_DELAY 50
#define PQ_MAX_BUFFERED 1000

/* ---- pull scheduling ------------------------------------------------------------ */

/* Queues a pull of q after delay_ms; takes a new reference. Any thread. */
void cons_pull_schedule(struct ons_consumer *c, struct pq *q, int64_t delay_ms)
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

struct pull_ctx {
    struct ons_consumer *c;
    struct pq *q;    /* one reference */
    int64_t off;     /* queueOffset of the pull */
    int64_t version; /* subscription version the pull was filtered with */
    int64_t sent_ns; /* mono ns when the pull was sent */
};

/* Version of the subscription of a wire topic (0 when not subscribed). */
int64_t cons_sub_version(struct ons_consumer *c, const char *wire_topic)
{
    int64_t v = 0;
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->nsubs; i++)
        if (strcmp(c->subs[i].wire_topic, wire_topic) == 0)
            v = c->subs[i].version;
    pthread_mutex_unlock(&c->mu);
    return v;
}

static void issue_pull(struct ons_consumer *c, struct pq *q, bool on_loop, int64_t at);

/* q->mu held. */
static bool pulling_at(const struct pq *q, int64_t off)
{
    for (size_t i = 0; i < q->npulling; i++)
        if (q->pulling[i] == off)
            return true;
    return false;
}

/* Forgets one pull from off (q->mu held). */
static void pulling_done(struct pq *q, int64_t off)
{
    for (size_t i = 0; i < q->npulling; i++)
        if (q->pulling[i] == off) {
            q->pulling[i] = q->pulling[--q->npulling];
            return;
        }
}

/* After an answer with a full batch of consecutive offsets: pulls of the
 * next batches, until PULL_WINDOW are in flight or they would buffer more
 * than PQ_MAX_BUFFERED. Loop thread. */
static void pull_ahead(struct ons_consumer *c, struct pq *q)
{
    for (int k = 1; k < PULL_WINDOW; k++) {
        pthread_mutex_lock(&q->mu);
        int64_t off = q->next_offset + (int64_t)k * PULL_BATCH;
        bool room = q->npulling < PULL_WINDOW &&
                    q->ninflight + (q->npulling + 1) * PULL_BATCH <= PQ_MAX_BUFFERED;
        bool have = pulling_at(q, off);
        pthread_mutex_unlock(&q->mu);
        if (!room)
            return;
        if (!have)
            issue_pull(c, q, true, off);
    }
}

/* Records the offsets of a pulled batch as in flight (ascending, after every
 * earlier one) and the queue's next pull offset. Returns how many records
 * were recorded (fewer only without memory) and *buffered, the queue's
 * in-flight count. */
static size_t note_in_flight(struct pq *q, const struct msg_record *recs, size_t n, bool has_next,
                             int64_t next, size_t *buffered)
{
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
    for (; added < n && q->ninflight < q->cap; added++)
        q->inflight[q->ninflight++] = recs[added].queue_off;
    if (added < n)
        q->next_offset = added ? recs[added - 1].queue_off + 1 : q->next_offset;
    else if (has_next)
        q->next_offset = next;
    *buffered = q->ninflight;
    pthread_mutex_unlock(&q->mu);
    return added;
}

/* Hands built messages to consumption: an ordered queue's buffer, or one
 * job per pulled batch (BatchConsumer: per batch_max), which consume threads
 * split when others are idle (consumer_concurrent.c). Takes msgs[]. */
static void deliver(struct ons_consumer *c, struct pq *q, ons_message_t **msgs, size_t n)
{
    if (c->orderly) {
        cons_order_enqueue(c, q, msgs, n);
        return;
    }
    size_t per = c->batch ? (size_t)c->core.cfg.batch_max : n;
    for (size_t i = 0; i < n;) {
        size_t k = n - i < per ? n - i : per;
        struct cjob *j = cl_calloc(1, sizeof *j);
        ons_message_t **jm = j ? cl_calloc(k, sizeof *jm) : NULL;
        if (j == NULL || jm == NULL) {
            free(j);
            free(jm);
            for (; i < n; i++)
                ons_message_free(msgs[i]); /* stays in flight: redelivered later */
            return;
        }
        memcpy(jm, msgs + i, k * sizeof *jm);
        j->msgs = jm;
        j->n = k;
        atomic_fetch_add(&q->refs, 1);
        j->pq = q;
        cons_push_job_loop(c, j);
        i += k;
    }
}

/* Asks for the cache lines a build reads of a record (topic and properties;
 * bodies are borrowed, not read): the loop thread copied them on another
 * CPU, and a build that waits for each in turn spends most of its time
 * there. Asked PREFETCH_AHEAD records early. */
#define PREFETCH_AHEAD 4
static void prefetch_record(const struct msg_record *r)
{
    const uint8_t *p = r->topic.ptr, *end = r->props.ptr + r->props.len;
    for (; p < end; p += 64)
        __builtin_prefetch(p);
    __builtin_prefetch(end - 1);
}

/* Builds the messages of recs[0..n) (into slab when it has room), drops
 * those the subscription filters out and acknowledges them. Returns the
 * kept messages in *out (owned; NULL when none or out of memory) and their
 * count. Without memory for the lists nothing is acknowledged: the records
 * stay in flight and hold the commit offset back until the queue is
 * dropped; nothing is lost. */
static size_t build_batch(struct ons_consumer *c, struct pq *q, const struct msg_record *recs,
                          size_t n, struct cl_slab *slab, bool borrow, ons_message_t ***out)
{
    *out = NULL;
    if (n == 0)
        return 0;
    ons_message_t **msgs = cl_calloc(n, sizeof *msgs);
    int64_t *skipped = cl_malloc(n * sizeof *skipped);
    if (msgs == NULL || skipped == NULL) {
        free(msgs);
        free(skipped);
        cl_log(ONS_LOG_WARN, "no memory for %zu pulled message(s) of %s:%d", n, q->wire_topic,
               q->qid);
        return 0;
    }
    struct cl_rec_memo memo;
    memo.nnames = 0;
    memo.has_host = false;
    for (size_t i = 0; borrow && i < n && i < PREFETCH_AHEAD; i++)
        prefetch_record(&recs[i]);
    for (size_t i = 0; i < n; i++) {
        if (borrow && i + PREFETCH_AHEAD < n)
            prefetch_record(&recs[i + PREFETCH_AHEAD]);
        msgs[i] = borrow ? cl_message_from_record_borrow(&c->core.cfg, &recs[i], slab, &memo)
                         : cl_message_from_record_in(&c->core.cfg, &recs[i], slab);
    }
    if (!q->retry)
        cons_sub_filter(c, msgs, n); /* one subscription lock for the batch */
    size_t nm = 0, nskip = 0;
    for (size_t i = 0; i < n; i++) {
        if (msgs[i])
            msgs[nm++] = msgs[i];
        else /* filtered out, or a body that cannot be inflated */
            skipped[nskip++] = recs[i].queue_off;
    }
    pq_ack_many(q, skipped, nskip);
    free(skipped);
    if (nm == 0) {
        free(msgs);
        return 0;
    }
    *out = msgs;
    return nm;
}

void cons_build_job(struct ons_consumer *c, struct cjob *j)
{
    struct cl_slab *raw = j->raw;
    size_t n = j->n;
    j->n = build_batch(c, j->pq, j->recs, n, raw, true, &j->msgs);
    j->recs = NULL;
    j->raw = NULL;
    cl_slab_unref(raw); /* the built messages hold their own references */
}

/* Queues the records of a concurrent consumer's pull as one raw job: the
 * framed bytes (and a spare byte) and the records are copied into one slab
 * with room for the messages a consume thread builds there, which borrow
 * their bodies from the framed bytes. False when out of memory. */
static bool queue_raw(struct ons_consumer *c, struct pq *q, const uint8_t *base, size_t span,
                      const struct msg_record *recs, size_t n)
{
    size_t bound = span + 1 + 16 + n * sizeof *recs + 16;
    for (size_t i = 0; i < n; i++)
        bound += cl_record_bound_borrow(&recs[i]) + 16;
    struct cl_slab *slab = cl_slab_new(bound);
    struct cjob *j = slab ? cl_calloc(1, sizeof *j) : NULL;
    uint8_t *raw = j ? cl_slab_alloc(slab, span + 1) : NULL;
    struct msg_record *rr = raw ? cl_slab_alloc(slab, n * sizeof *rr) : NULL;
    if (rr == NULL) {
        free(j);
        cl_slab_unref(slab);
        return false;
    }
    memcpy(raw, base, span);
    for (size_t i = 0; i < n; i++) {
        rr[i] = recs[i];
        rr[i].body.ptr = raw + (recs[i].body.ptr - base);
        rr[i].topic.ptr = raw + (recs[i].topic.ptr - base);
        rr[i].props.ptr = raw + (recs[i].props.ptr - base);
    }
    j->raw = slab;
    j->recs = rr;
    j->n = n;
    atomic_fetch_add(&q->refs, 1);
    j->pq = q;
    cons_push_job_loop(c, j);
    return true;
}

/* A found batch: frames the records, records them in flight, issues the
 * queue's next pull at once (so the broker reads the next batch while this
 * one is consumed), then hands the records on: a concurrent consumer's as
 * one raw job built on a consume thread, an ordered queue's built here and
 * appended to its buffer. Returns true when the next pull was issued.
 * took_ns: the pull's round trip. */
static bool handle_found(struct ons_consumer *c, struct pq *q, struct rcmd *resp, int64_t off,
                         bool has_next, int64_t next, int64_t took_ns)
{
    struct msg_record stack[PULL_BATCH], *recs = stack;
    size_t cap = PULL_BATCH, n = 0;
    const uint8_t *p = resp->body.ptr;
    size_t left = resp->body.len;
    while (left > 0) {
        if (n == cap) {
            struct msg_record *nr = cl_malloc(cap * 2 * sizeof *nr);
            if (nr == NULL)
                break; /* the rest is pulled again from the next offset */
            memcpy(nr, recs, n * sizeof *nr);
            if (recs != stack)
                free(recs);
            recs = nr;
            cap *= 2;
        }
        if (msg_decode(p, left, &recs[n]) != TERN_OK)
            break;
        p += recs[n].total_size;
        left -= (size_t)recs[n].total_size;
        n++;
    }
    if (left > 0)
        has_next = false; /* undecodable or unrecorded tail: resume after the last record */
    size_t buffered = 0;
    n = note_in_flight(q, recs, n, has_next, next, &buffered);
    cons_stats_pulled(q, n, took_ns);
    bool issued = false;
    if (!c->orderly)
        cons_wake_at_loop_end(c);
    if (buffered <= PQ_MAX_BUFFERED && !atomic_load(&q->dropped)) {
        issue_pull(c, q, true, -1);
        issued = true;
        if (!c->orderly && n == PULL_BATCH && has_next && next == off + PULL_BATCH)
            pull_ahead(c, q);
    }
    size_t span = 0; /* the records are contiguous from the body's start */
    for (size_t i = 0; i < n; i++)
        span += (size_t)recs[i].total_size;
    if (n && !c->orderly && queue_raw(c, q, resp->body.ptr, span, recs, n)) {
        if (recs != stack)
            free(recs);
        return issued;
    }
    size_t bound = 0;
    for (size_t i = 0; i < n; i++)
        bound += cl_record_bound(&recs[i]) + 16;
    struct cl_slab *slab = n ? cl_slab_new(bound) : NULL; /* NULL: one allocation each */
    ons_message_t **msgs = NULL;
    size_t nm = build_batch(c, q, recs, n, slab, false, &msgs);
    cl_slab_unref(slab);
    if (recs != stack)
        free(recs);
    deliver(c, q, msgs, nm);
    free(msgs);
    return issued;
}

/* A pull from off that could not be sent: forgotten; the chain's is
 * retried later. */
static void unsent(struct ons_consumer *c, struct pq *q, int64_t off, bool ahead)
{
    pthread_mutex_lock(&q->mu);
    pulling_done(q, off);
    pthread_mutex_unlock(&q->mu);
    if (!ahead)
        cons_pull_schedule(c, q, PULL_ERROR_DELAY);
}

/* Makes sure the chain has a pull in flight or due (after dropping an
 * answer pulled ahead). Loop thread. */
static void ensure_chain(struct ons_consumer *c, struct pq *q)
{
    pthread_mutex_lock(&q->mu);
    bool full = q->ninflight > PQ_MAX_BUFFERED;
    pthread_mutex_unlock(&q->mu);
    if (full)
        cons_pull_schedule(c, q, PULL_FULL_DELAY);
    else
        issue_pull(c, q, true, -1);
}

/* Pull response (rclient loop thread): decodes, queues consume jobs and
 * schedules the queue's next pull. arg owns one pq reference. */
static void handle_pull(void *arg, int err, struct rcmd *resp)
{
    struct pull_ctx *pc = arg;
    struct ons_consumer *c = pc->c;
    struct pq *q = pc->q;
    int64_t version = pc->version, took_ns = clock_mono_ns() - pc->sent_ns, off = pc->off;
    free(pc);
    pthread_mutex_lock(&q->mu);
    pulling_done(q, off);
    bool chain = off == q->next_offset;
    pthread_mutex_unlock(&q->mu);
    if (!chain) {
        /* Pulled ahead and overtaken: dropped unread. The chain goes on
         * (issue_pull skips a pull from next_offset already in flight). */
        if (err != TERN_ECLOSED && !atomic_load(&q->dropped))
            ensure_chain(c, q);
        pq_unref(q);
        return;
    }
    int64_t cur = q->retry ? version : cons_sub_version(c, q->wire_topic);
    if (err == TERN_OK && !atomic_load(&q->dropped) && cur != version) {
        /* Filtered with an expression that was replaced meanwhile: forget the
         * answer and pull the same range again with the new one (unless the
         * topic was unsubscribed: the rebalance drops the queue). */
        if (cur != 0)
            cons_pull_schedule(c, q, 0);
        pq_unref(q);
        return;
    }
    if (err != TERN_OK || atomic_load(&q->dropped)) {
        if (err != TERN_OK && err != TERN_ECLOSED)
            cl_log(ONS_LOG_WARN, "pull %s:%s:%d failed: %s", q->wire_topic, q->broker, q->qid,
                   tern_strerror(err));
        cons_pull_schedule(c, q, err == TERN_ETIMEOUT ? 0 : PULL_ERROR_DELAY);
        pq_unref(q);
        return;
    }
    int64_t next = -1;
    bool has_next = rcmd_get_i64(resp, "nextBeginOffset", &next) == TERN_OK;
    switch (resp->code) {
    case RESP_SUCCESS:
        if (!handle_found(c, q, resp, off, has_next, next, took_ns))
            cons_pull_schedule(c, q, PULL_FULL_DELAY);
        break;
    case RESP_PULL_NOT_FOUND:
    case RESP_PULL_RETRY_IMMEDIATELY:
    case RESP_PULL_OFFSET_MOVED:
        if (has_next) {
            pthread_mutex_lock(&q->mu);
            q->next_offset = next;
            pthread_mutex_unlock(&q->mu);
        }
        issue_pull(c, q, true, -1);
        break;
    default:
        cl_log(ONS_LOG_WARN, "pull %s:%d answered code %d", q->wire_topic, q->qid, resp->code);
        if (resp->code == RESP_SUBSCRIPTION_NOT_LATEST || resp->code == RESP_SUBSCRIPTION_NOT_EXIST)
            atomic_store(&c->core.hb_due, true);
        cons_pull_schedule(c, q, PULL_ERROR_DELAY);
        break;
    }
    pq_unref(q);
}

/* Sends a PULL_MESSAGE of q from at, or (at < 0: the chain) from its next
 * offset unless a pull from there is in flight. on_loop: called from a pull
 * response on the rclient loop thread, where nothing may block: a queue
 * whose route is not cached goes through the pull thread instead. A pull
 * ahead that cannot be sent is not retried (the chain pulls its range). */
static void issue_pull(struct ons_consumer *c, struct pq *q, bool on_loop, int64_t at)
{
    bool ahead = at >= 0;
    if (c->orderly && !cons_order_lock_valid(c, q)) {
        /* No fresh broker lock: do not fetch; the service thread re-locks. */
        cons_pull_schedule(c, q, 1000);
        return;
    }
    struct cl_route *r = NULL;
    const char *addr = NULL;
    if (on_loop) {
        r = cl_core_route_cached(&c->core, q->wire_topic);
        if (r == NULL) {
            if (!ahead)
                cons_pull_schedule(c, q, 0);
            return;
        }
        addr = cl_route_master(r, q->broker);
    } else if (cl_core_route(&c->core, q->wire_topic, false, &r, NULL) == 0) {
        addr = cl_route_master(r, q->broker);
    }
    if (addr == NULL) {
        cl_route_unref(r);
        if (!ahead)
            cons_pull_schedule(c, q, PULL_ERROR_DELAY);
        return;
    }
    char expr[1024] = "*";
    int64_t version = 1;
    if (!q->retry) {
        pthread_mutex_lock(&c->mu);
        for (size_t i = 0; i < c->nsubs; i++)
            if (strcmp(c->subs[i].wire_topic, q->wire_topic) == 0) {
                cl_copy(expr, sizeof expr, tern_cstr(c->subs[i].expr));
                version = c->subs[i].version;
            }
        pthread_mutex_unlock(&c->mu);
    }
    pthread_mutex_lock(&q->mu);
    int64_t off = ahead ? at : q->next_offset;
    int64_t commit = pq_commit_offset_locked(q);
    bool skip = pulling_at(q, off) || q->npulling == PULL_SLOTS;
    if (!skip)
        q->pulling[q->npulling++] = off;
    pthread_mutex_unlock(&q->mu);
    if (skip) {
        cl_route_unref(r);
        return;
    }
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
    cl_copy(addr_copy, sizeof addr_copy, tern_cstr(addr));
    cl_route_unref(r);
    struct pull_ctx *pc = cl_calloc(1, sizeof *pc);
    if (pc == NULL) {
        rcmd_deinit(&cmd);
        unsent(c, q, off, ahead);
        return;
    }
    pc->c = c;
    pc->q = q;
    pc->off = off;
    pc->version = version;
    pc->sent_ns = clock_mono_ns();
    atomic_fetch_add(&q->refs, 1);
    if (cl_core_call_async(&c->core, addr_copy, &cmd, PULL_TIMEOUT_MS, false, handle_pull, pc) !=
        TERN_OK) {
        free(pc);
        unsent(c, q, off, ahead);
        pq_unref(q);
    }
}

void *cons_pull_main(void *arg)
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
                issue_pull(c, t->pq, false, -1);
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
