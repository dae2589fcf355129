/* SPDX-License-Identifier: Apache-2.0 */
/* consumer_concurrent.c: concurrent consumption (Consumer, BatchConsumer)
 * on ConsumeThreadNums consume threads, and ConsumeTimeout (spec §13.3,
 * §13.6). ReconsumeLater sends the message back (CONSUMER_SEND_MSG_BACK,
 * delayLevel 0), falls back to sending it to %RETRY%<group>, and else retries
 * locally 5 s later. A listener call running past ConsumeTimeout is handed
 * back the same way by the service thread and its late result is ignored.
 * The consume threads also run ordered drain jobs (consumer_order.c). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/consumer_int.h"
#include "common/clock.h"
#include "common/error.h"
#include "protocol/codes.h"
#include "protocol/props.h"

#define LOCAL_RETRY_MS 5000

/* ---- consumption ------------------------------------------------------------ */

const char *cons_pq_addr(struct ons_consumer *c, const struct pq *q, char *buf, size_t cap)
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

/* consumer_int.h. */
bool cons_send_back(struct ons_consumer *c, const struct pq *q, const ons_message_t *m,
                    int delay_level)
{
    char addr[64];
    if (cons_pq_addr(c, q, addr, sizeof addr) == NULL)
        return false;
    struct rcmd cmd;
    rcmd_init(&cmd);
    cmd.code = RC_CONSUMER_SEND_MSG_BACK;
    rcmd_add_i64(&cmd, "offset", m->phy_offset);
    rcmd_add_cstr(&cmd, "group", c->core.cfg.wire_group);
    rcmd_add_i64(&cmd, "delayLevel", delay_level);
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

/* ---- ConsumeTimeout ---------------------------------------------------------- */

/* Records that the calling consume thread's slot (NULL: not watched) runs
 * j since now_ms. Atomics only: the slot is the thread's own while IDLE. */
static void slot_begin(struct run_slot *s, struct cjob *j, int64_t now_ms)
{
    if (s == NULL)
        return;
    atomic_store_explicit(&s->job, j, memory_order_relaxed);
    atomic_store_explicit(&s->started, now_ms, memory_order_relaxed);
    atomic_store_explicit(&s->state, RUN_ACTIVE, memory_order_release);
}

/* Ends the watch of a call. Returns true when it timed out: its messages
 * were handed back and acknowledged, so its result must be ignored. Waits
 * while the slot is claimed (the service thread hands the messages back, or
 * the running info reads them: they stay valid). */
static bool slot_end(struct ons_consumer *c, struct run_slot *s)
{
    if (s == NULL)
        return false;
    int st = RUN_ACTIVE;
    if (atomic_compare_exchange_strong(&s->state, &st, RUN_IDLE))
        return false;
    bool timed_out = false;
    pthread_mutex_lock(&c->run_mu);
    for (;;) {
        st = atomic_load(&s->state);
        if (st == RUN_TIMED_OUT) {
            timed_out = true;
            atomic_store(&s->state, RUN_IDLE);
            break;
        }
        if (st == RUN_ACTIVE && atomic_compare_exchange_strong(&s->state, &st, RUN_IDLE))
            break;
        if (st != RUN_ACTIVE)
            pthread_cond_wait(&c->run_cv, &c->run_mu);
    }
    pthread_mutex_unlock(&c->run_mu);
    return timed_out;
}

/* Gives a claimed slot back (run_mu held): ACTIVE again, or TIMED_OUT. */
static void slot_release_locked(struct ons_consumer *c, struct run_slot *s, int state)
{
    atomic_store(&s->state, state);
    pthread_cond_broadcast(&c->run_cv);
}

static bool send_to_retry(struct ons_consumer *c, const ons_message_t *m);

/* Claims the first slot whose call runs longer than limit (HANDING_BACK);
 * -1 when none. A slot whose call ended and a new one began between the
 * look and the claim is given back at once. */
static int claim_timed_out(struct ons_consumer *c, int64_t now, int64_t limit)
{
    int idx = -1;
    pthread_mutex_lock(&c->run_mu);
    for (int i = 0; i < c->nslots && idx < 0; i++) {
        struct run_slot *s = &c->slots[i];
        int st = RUN_ACTIVE;
        if (atomic_load(&s->state) != RUN_ACTIVE || now - atomic_load(&s->started) <= limit ||
            !atomic_compare_exchange_strong(&s->state, &st, RUN_HANDING_BACK))
            continue;
        if (now - atomic_load(&s->started) <= limit)
            slot_release_locked(c, s, RUN_ACTIVE);
        else
            idx = i;
    }
    pthread_mutex_unlock(&c->run_mu);
    return idx;
}

/* consumer_int.h. A call past the limit is handed back like ReconsumeLater
 * (broadcasting: dropped with a log line). If a hand-back fails, the call is
 * watched again for another period (the messages may then be consumed
 * twice: delivery is at least once). */
void cons_check_timeouts(struct ons_consumer *c, int64_t now)
{
    int64_t limit = c->core.cfg.consume_timeout_ms;
    for (;;) {
        int idx = claim_timed_out(c, now, limit);
        if (idx < 0)
            return;
        /* The slot array outlives a claimed slot: stop_workers frees it
         * after joining the consume threads, and the one owning this slot
         * waits in slot_end until the slot is given back. */
        struct run_slot *s = &c->slots[idx];
        struct cjob *j = atomic_load(&s->job);
        bool ok = true;
        for (size_t i = 0; i < j->n && ok; i++) {
            const ons_message_t *m = j->msgs[i];
            cl_log(ONS_LOG_WARN, "message %s: the listener exceeded ConsumeTimeout (%d ms)",
                   m->msg_id, c->core.cfg.consume_timeout_ms);
            ok = c->core.cfg.broadcasting || cons_send_back(c, j->pq, m, 0) || send_to_retry(c, m);
        }
        if (ok)
            for (size_t i = 0; i < j->n; i++)
                pq_ack(j->pq, j->msgs[i]->queue_offset);
        pthread_mutex_lock(&c->run_mu);
        if (!ok)
            atomic_store(&s->started, now);
        slot_release_locked(c, s, ok ? RUN_TIMED_OUT : RUN_ACTIVE);
        pthread_mutex_unlock(&c->run_mu);
    }
}

/* consumer_int.h. An ACTIVE slot is claimed (INSPECTED) while its job is
 * read; a HANDING_BACK or TIMED_OUT one cannot change without run_mu. */
void cons_describe_slot(struct ons_consumer *c, int i, int64_t mono_now, char *line, size_t cap)
{
    struct run_slot *s = &c->slots[i];
    int st = RUN_ACTIVE;
    bool claimed = atomic_compare_exchange_strong(&s->state, &st, RUN_INSPECTED);
    const struct cjob *j = atomic_load(&s->job);
    if (!claimed && st != RUN_HANDING_BACK && st != RUN_TIMED_OUT) {
        snprintf(line, cap, "consume-%d: idle\n", i);
        return;
    }
    if (j == NULL || j->n == 0) {
        snprintf(line, cap, "consume-%d: idle\n", i);
    } else {
        const struct pq *q = j->pq;
        snprintf(line, cap,
                 "consume-%d: in the listener for %" PRId64
                 " ms: %zu message(s) of %s@%s:%d from offset %" PRId64 "%s\n",
                 i, mono_now - atomic_load(&s->started), j->n, q->wire_topic, q->broker, q->qid,
                 j->msgs[0]->queue_offset, claimed ? "" : " (past ConsumeTimeout)");
    }
    if (claimed)
        slot_release_locked(c, s, RUN_ACTIVE);
}

/* ---- running jobs ------------------------------------------------------------ */

/* One listener call over view (a slice of a job), started at *clock_ns
 * (mono ns), which becomes the call's end. Returns the listener's action,
 * or -1 when the call timed out and its messages were handed back. */
static int call_listener(struct ons_consumer *c, struct run_slot *slot, const struct sub *s,
                         bool subscribed, struct cjob *view, int64_t *clock_ns)
{
    int action = ONS_ACTION_COMMIT_MESSAGE;
    slot_begin(slot, view, *clock_ns / 1000000);
    if (subscribed && s->fn) {
        struct ons_consume_context ctx = {0};
        if (c->batch) {
            ons_batch_message_listener_fn fn = (ons_batch_message_listener_fn)s->fn;
            action = fn((const ons_message_t *const *)view->msgs, view->n, &ctx, s->user);
        } else {
            ons_message_listener_fn fn = (ons_message_listener_fn)s->fn;
            action = fn(view->msgs[0], &ctx, s->user);
        }
    }
    *clock_ns = clock_mono_ns();
    return slot_end(c, slot) ? -1 : action;
}

/* Offsets acknowledged by one job, handed to pq_ack_many in ascending runs. */
struct ack_batch {
    struct pq *q;
    size_t n;
    int64_t offs[64];
};

static void ack_flush(struct ack_batch *a)
{
    pq_ack_many(a->q, a->offs, a->n);
    a->n = 0;
}

static void ack_add(struct ack_batch *a, int64_t off)
{
    if (a->n == sizeof a->offs / sizeof a->offs[0] || (a->n > 0 && a->offs[a->n - 1] >= off))
        ack_flush(a);
    a->offs[a->n++] = off;
}

/* Runs a job: one listener call per message (Consumer) or one for the whole
 * job (BatchConsumer). Consumed messages are acked (once per job) and freed;
 * messages that could not be handed back stay in j, which is queued again
 * LOCAL_RETRY_MS later. */
/* Messages worth about SPLIT_NS of the listener's time (its moving
 * average), at least one: what one consume thread takes per hand-off. */
static size_t listener_share(struct ons_consumer *c)
{
    int64_t avg = atomic_load(&c->listen_ns);
    return avg >= SPLIT_NS ? 1 : (size_t)(SPLIT_NS / (avg > 0 ? avg : 1));
}

/* After a raw job was built: with a slow listener, keeps about SPLIT_NS of
 * its messages and queues the rest for another thread (take_job splits
 * built jobs the same way). */
static void hand_off_rest(struct ons_consumer *c, struct cjob *j)
{
    size_t share = listener_share(c);
    if (c->batch || j->n <= share)
        return;
    struct cjob *rest = cl_calloc(1, sizeof *rest);
    ons_message_t **rm = rest ? cl_calloc(j->n - share, sizeof *rm) : NULL;
    if (rm == NULL) {
        free(rest); /* out of memory: this thread runs them all */
        return;
    }
    memcpy(rm, j->msgs + share, (j->n - share) * sizeof *rm);
    rest->msgs = rm;
    rest->n = j->n - share;
    j->n = share;
    atomic_fetch_add(&j->pq->refs, 1);
    rest->pq = j->pq;
    cons_push_job(c, rest);
}

/* A call this slow (per message) publishes the listener's moving average at
 * once, so other threads split the next jobs; faster ones publish it once
 * per job (a shared store per message costs more than a fast listener). */
#define LISTEN_PUBLISH_NS (SPLIT_NS / 32)

static void run_cjob(struct ons_consumer *c, struct cjob *j, struct run_slot *slot)
{
    struct pq *q = j->pq;
    if (j->raw) {
        if (atomic_load(&q->dropped)) {
            cons_free_job(j); /* the queue's new owner pulls these again */
            return;
        }
        cons_build_job(c, j);
        hand_off_rest(c, j);
    }
    struct sub s = {0};
    bool subscribed = j->n > 0 && cons_sub_lookup(c, j->msgs[0]->topic, &s, NULL, NULL);
    size_t per = c->batch ? (size_t)c->core.cfg.batch_max : 1, keep = 0;
    struct ack_batch acks = {.q = q, .n = 0};
    int64_t avg = atomic_load(&c->listen_ns), clock_ns = clock_mono_ns(), took_all = 0;
    size_t n_ok = 0, n_failed = 0;
    for (size_t i = 0; i < j->n; i += per) {
        size_t k = j->n - i < per ? j->n - i : per;
        struct cjob view = {.pq = q, .msgs = j->msgs + i, .n = k};
        if (atomic_load(&q->dropped)) {
            /* Not consumed: the queue's new owner gets these again. */
            for (size_t x = 0; x < k; x++)
                ons_message_free(view.msgs[x]);
            continue;
        }
        int64_t t0 = clock_ns;
        int action = call_listener(c, slot, &s, subscribed, &view, &clock_ns);
        int64_t took = clock_ns - t0, per_msg = took / (int64_t)k;
        avg += (per_msg - avg) / 8;
        if (per_msg >= LISTEN_PUBLISH_NS)
            atomic_store(&c->listen_ns, avg);
        took_all += took;
        if (action == ONS_ACTION_COMMIT_MESSAGE)
            n_ok += k;
        else
            n_failed += k;
        for (size_t x = 0; x < k; x++) {
            ons_message_t *m = view.msgs[x];
            bool done = true;
            if (action == -1) {
                /* handed back on time-out and acked: the late result is ignored */
            } else if (action != ONS_ACTION_COMMIT_MESSAGE && !c->core.cfg.broadcasting) {
                done = cons_send_back(c, q, m, 0) || send_to_retry(c, m);
                if (done)
                    ack_add(&acks, m->queue_offset);
            } else {
                if (action != ONS_ACTION_COMMIT_MESSAGE)
                    cl_log(ONS_LOG_WARN, "broadcasting: message %s failed and is not retried",
                           m->msg_id);
                ack_add(&acks, m->queue_offset);
            }
            if (done)
                ons_message_free(m);
            else
                j->msgs[keep++] = m;
        }
    }
    atomic_store(&c->listen_ns, avg);
    if (n_ok + n_failed)
        cons_stats_consumed(q, n_ok, n_failed, took_all);
    ack_flush(&acks);
    j->n = keep;
    if (keep) {
        cl_log(ONS_LOG_WARN, "retrying %zu message(s) locally in %d ms", keep, LOCAL_RETRY_MS);
        j->not_before = clock_mono_ms() + LOCAL_RETRY_MS;
        j->next = NULL;
        cons_push_job(c, j);
        return;
    }
    cons_free_job(j);
}

/* Takes the first due job off the queue (cq_mu held); NULL when none is due
 * (*earliest: when the next one is). A Consumer's job is split when one
 * message's listener call (moving average) is slow enough: the thread takes
 * about SPLIT_NS of work and leaves the rest at the head for another (woken)
 * thread, so slow listeners run in parallel while fast ones take a whole
 * pulled batch per hand-off. */
static struct cjob *take_job(struct ons_consumer *c, int64_t now, int64_t *earliest)
{
    struct cjob *j = NULL, *prev = NULL;
    for (struct cjob *it = c->head; it; prev = it, it = it->next) {
        if (it->not_before <= now) {
            j = it;
            break;
        }
        if (it->not_before < *earliest)
            *earliest = it->not_before;
    }
    if (j == NULL)
        return NULL;
    size_t share = listener_share(c);
    if (!c->orderly && !c->batch && j->msgs && j->n > share) {
        struct cjob *part = cl_calloc(1, sizeof *part);
        ons_message_t **pm = part ? cl_calloc(share, sizeof *pm) : NULL;
        if (pm != NULL) {
            memcpy(pm, j->msgs, share * sizeof *pm);
            memmove(j->msgs, j->msgs + share, (j->n - share) * sizeof *pm);
            j->n -= share;
            part->msgs = pm;
            part->n = share;
            atomic_fetch_add(&j->pq->refs, 1);
            part->pq = j->pq;
            c->cq_msgs -= share;
            if (c->cq_idle > 0)
                pthread_cond_signal(&c->cq_cv);
            return part;
        }
        free(part); /* out of memory: take the whole job */
    }
    if (prev)
        prev->next = j->next;
    else
        c->head = j->next;
    if (c->tail == j)
        c->tail = prev;
    j->next = NULL;
    c->cq_msgs -= j->n;
    return j;
}

void *cons_consume_main(void *arg)
{
    struct ons_consumer *c = arg;
    /* The slot array outlives this thread (stop_workers frees it after the
     * joins); without one (out of memory) calls are not watched. */
    int idx = atomic_fetch_add(&c->slot_seq, 1);
    struct run_slot *slot = idx < c->nslots ? &c->slots[idx] : NULL;
    pthread_mutex_lock(&c->cq_mu);
    for (;;) {
        if (c->cq_stop)
            break;
        int64_t now = clock_mono_ms(), earliest = now + 1000;
        struct cjob *j = take_job(c, now, &earliest);
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
            c->cq_idle++;
            pthread_cond_timedwait(&c->cq_cv, &c->cq_mu, &ts);
            c->cq_idle--;
            continue;
        }
        pthread_mutex_unlock(&c->cq_mu);
        if (j->direct)
            cons_direct_run(c, j);
        else if (c->orderly)
            cons_order_run(c, j);
        else
            run_cjob(c, j, slot);
        pthread_mutex_lock(&c->cq_mu);
    }
    pthread_mutex_unlock(&c->cq_mu);
    return NULL;
}
