/* SPDX-License-Identifier: Apache-2.0 */
/* producer.c: the producer engine (producer_int.h) and the Producer and
 * OrderProducer APIs (spec §9.3, §9.7, §13.11) over SEND_MESSAGE_V2
 * (remoting-protocol §4.B.1). TransactionProducer: txn_producer.c.
 *
 * A send builds the properties (user ones, TAGS, KEYS, a fresh UNIQ_KEY,
 * WAIT, __STARTDELIVERTIME, __SHARDINGKEY for ordered sends, the transaction
 * properties for half messages), compresses
 * bodies of 4 KiB or more with zlib (sysFlag bit 0), picks a queue and calls
 * the broker. Normal sync sends retry up to twice more on another broker for
 * network errors and codes 1, 2, 14, 17 within SendMsgTimeoutMillis; ordered
 * sends never change queue. sendAsync sends pipelined from the caller's
 * thread (many requests in flight on one connection, like Java's
 * sendAsync); the responses the client loop reads in one iteration are
 * handed together (one lock, at most one wake-up) to ASYNC_THREADS worker
 * threads, which run the callback, or, after a failure, the sync path (with
 * its retries on another broker) and then the callback. Callbacks never run
 * on the client loop, so a slow callback cannot stall the connection.
 * Thread-safe: `active` counts sends in progress so shutdown can wait for
 * them before the rclient goes away. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "client/producer_int.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/hash.h"
#include "protocol/codes.h"
#include "protocol/props.h"

#define SEND_ATTEMPTS         3
#define FAIL_AVOID_MS         30000
#define PROP_SHARDING         "__SHARDINGKEY"
#define PROP_CHECK_IMMUNITY_S "CHECK_IMMUNITY_TIME_IN_SECONDS"

struct ons_order_producer {
    struct ons_producer p;
};

/* ---- heartbeat ------------------------------------------------------------ */

static void producer_heartbeat(void *owner, buf_t *out)
{
    struct ons_producer *pr = owner;
    buf_append_cstr(out, "{\"clientID\":\"");
    buf_append_cstr(out, pr->core.client_id);
    buf_append_cstr(out, "\",\"producerDataSet\":[{\"groupName\":\"");
    buf_append_cstr(out, pr->core.cfg.wire_group);
    buf_append_cstr(out, "\"}],\"consumerDataSet\":[]}");
}

/* ---- the send path ---------------------------------------------------------- */

static bool retriable_code(int code)
{
    return code == RESP_SYSTEM_ERROR || code == RESP_SYSTEM_BUSY ||
           code == RESP_SERVICE_NOT_AVAILABLE || code == RESP_TOPIC_NOT_EXIST;
}

static bool stored_code(int code)
{
    return code == RESP_SUCCESS || code == RESP_FLUSH_DISK_TIMEOUT ||
           code == RESP_FLUSH_SLAVE_TIMEOUT || code == RESP_SLAVE_NOT_AVAILABLE;
}

static void mark_failed(struct ons_producer *pr, const char *broker)
{
    pthread_mutex_lock(&pr->fail_mu);
    snprintf(pr->failed_broker, sizeof pr->failed_broker, "%s", broker);
    atomic_store(&pr->failed_until, clock_mono_ms() + FAIL_AVOID_MS);
    pthread_mutex_unlock(&pr->fail_mu);
}

/* Picks a queue for a normal send: round robin, avoiding `avoid` (the broker
 * that failed on the previous attempt) and a recently failed broker when
 * another one is available. */
static const struct cl_mq *pick_queue(struct ons_producer *pr, const struct cl_route *r,
                                      const char *avoid)
{
    char recent[64] = "";
    if (atomic_load(&pr->failed_until) != 0) {
        pthread_mutex_lock(&pr->fail_mu);
        if (atomic_load(&pr->failed_until) > clock_mono_ms())
            snprintf(recent, sizeof recent, "%s", pr->failed_broker);
        pthread_mutex_unlock(&pr->fail_mu);
    }
    unsigned start = atomic_fetch_add(&pr->rr, 1);
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < r->nwrite; i++) {
            const struct cl_mq *q = &r->write[(start + i) % r->nwrite];
            if (avoid && strcmp(q->broker, avoid) == 0)
                continue;
            if (pass == 0 && recent[0] && strcmp(q->broker, recent) == 0)
                continue;
            return q;
        }
    }
    return &r->write[start % r->nwrite];
}

/* The queue a send goes to (r has a writable queue): the sharding key's
 * stable hash for ordered sends, else pick_queue. OUT: *mq, addr (the
 * broker's master address, "" when unknown). */
static void choose_target(struct ons_producer *pr, const struct cl_route *r, const char *shard,
                          const char *avoid, struct cl_mq *mq, char addr[64])
{
    const struct cl_mq *q;
    if (shard) {
        uint32_t h = (uint32_t)java_string_hash((const uint8_t *)shard, strlen(shard));
        q = &r->write[(h & 0x7fffffffu) % r->nwrite];
    } else {
        q = pick_queue(pr, r, avoid);
    }
    *mq = *q;
    const char *a = cl_route_master(r, mq->broker);
    cl_copy(addr, 64, tern_cstr(a ? a : ""));
}

struct prepared {
    buf_t props;
    uint8_t *zbody; /* owned: compressed body or NULL */
    tern_bytes_t body;
    int32_t sys_flag;
    int64_t born_ms; /* wall clock */
    char uniq[33];
    char *wire_topic; /* owned */
};

static void prepared_deinit(struct prepared *pp)
{
    buf_deinit(&pp->props);
    free(pp->zbody);
    free(pp->wire_topic);
}

static int prepare(struct ons_producer *pr, const ons_message_t *m, const char *shard, bool txn,
                   struct prepared *pp, ons_exception_t **ex)
{
    memset(pp, 0, sizeof *pp);
    buf_init(&pp->props);
    /* Typical properties fit: one allocation of a size the thread's cache
     * serves, not a chain of reallocs. */
    buf_reserve(&pp->props, 256);
    cl_message_user_props(m, &pp->props);
    if (m->tag && *m->tag)
        props_append(&pp->props, PROP_TAGS, tern_cstr(m->tag));
    if (m->key && *m->key)
        props_append(&pp->props, PROP_KEYS, tern_cstr(m->key));
    /* One wall clock reading for the id and the born timestamp. */
    pp->born_ms = clock_wall_ms();
    cl_uniq_id(pp->uniq, pp->born_ms);
    props_append(&pp->props, PROP_UNIQ_KEY, tern_cstr(pp->uniq));
    props_append(&pp->props, PROP_WAIT, tern_cstr("true"));
    if (m->start_deliver > 0) {
        char t[32];
        snprintf(t, sizeof t, "%lld", (long long)m->start_deliver);
        props_append(&pp->props, PROP_START_DELIVER_TIME, tern_cstr(t));
    }
    if (shard)
        props_append(&pp->props, PROP_SHARDING, tern_cstr(shard));
    if (txn) {
        char t[32];
        snprintf(t, sizeof t, "%d", pr->core.cfg.check_immunity_s);
        props_append(&pp->props, PROP_TRAN_MSG, tern_cstr("true"));
        props_append(&pp->props, PROP_PGROUP, tern_cstr(pr->core.cfg.wire_group));
        props_append(&pp->props, PROP_CHECK_IMMUNITY_S, tern_cstr(t));
        pp->sys_flag |= MSG_SYSFLAG_TXN_PREPARED;
    }
    if (pp->props.len > CL_MAX_PROPS_BYTES)
        return cl_raise(ex, ONS_ERR_MESSAGE_ILLEGAL,
                        "the message properties are %zu bytes serialized, over the limit %d",
                        pp->props.len, CL_MAX_PROPS_BYTES);
    if (m->body_len + pp->props.len > CL_MAX_BODY_BYTES)
        return cl_raise(ex, ONS_ERR_MESSAGE_ILLEGAL,
                        "the message body and properties are %zu bytes, over the limit %d",
                        m->body_len + pp->props.len, CL_MAX_BODY_BYTES);
    pp->body = tern_bytes(m->body, m->body_len);
    if (m->body_len >= CL_COMPRESS_OVER) {
        uLongf zlen = compressBound((uLong)m->body_len);
        pp->zbody = cl_malloc(zlen);
        if (pp->zbody == NULL)
            return cl_raise_oom(ex);
        if (compress2(pp->zbody, &zlen, m->body, (uLong)m->body_len, 5) == Z_OK &&
            zlen < m->body_len) {
            pp->body = tern_bytes(pp->zbody, zlen);
            pp->sys_flag |= 1;
        }
    }
    if ((pp->wire_topic = cl_ns_wrap(&pr->core.cfg, m->topic)) == NULL)
        return cl_raise_oom(ex);
    return 0;
}

static void build_request(struct ons_producer *pr, const struct prepared *pp, const struct cl_mq *q,
                          struct rcmd *cmd)
{
    rcmd_init(cmd);
    cmd->code = RC_SEND_MESSAGE_V2;
    /* Strings that outlive cmd (the config, pp, q, literals) are referenced,
     * not copied. */
    rcmd_add_ref(cmd, tern_cstr("a"), tern_cstr(pr->core.cfg.wire_group));
    rcmd_add_ref(cmd, tern_cstr("b"), tern_cstr(pp->wire_topic));
    rcmd_add_ref(cmd, tern_cstr("c"), tern_cstr("TBW102"));
    rcmd_add_i64(cmd, "d", 4);
    rcmd_add_i64(cmd, "e", q->qid);
    rcmd_add_i64(cmd, "f", pp->sys_flag);
    rcmd_add_i64(cmd, "g", pp->born_ms);
    rcmd_add_i64(cmd, "h", 0);
    rcmd_add_ref(cmd, tern_cstr("i"), buf_view(&pp->props));
    rcmd_add_i64(cmd, "j", 0);
    rcmd_add_ref(cmd, tern_cstr("k"), tern_cstr("false"));
    rcmd_add_ref(cmd, tern_cstr("m"), tern_cstr("false"));
    rcmd_add_ref(cmd, tern_cstr("n"), tern_cstr(q->broker));
    cmd->body = pp->body;
}

/* Where a half message was stored, from the send response. */
static void txn_fill(struct send_txn *t, const struct cl_mq *q, const char *addr, const char *uniq,
                     const struct rcmd *resp)
{
    snprintf(t->broker, sizeof t->broker, "%s", q->broker);
    snprintf(t->addr, sizeof t->addr, "%s", addr);
    snprintf(t->uniq, sizeof t->uniq, "%s", uniq);
    cl_copy(t->offset_id, sizeof t->offset_id, rcmd_get(resp, "msgId"));
    t->queue_offset = -1;
    (void)rcmd_get_i64(resp, "queueOffset", &t->queue_offset);
}

/* producer_int.h. */
int producer_send(struct ons_producer *pr, const ons_message_t *m, const char *shard,
                  enum send_mode mode, struct send_txn *txn, ons_send_result_t **result,
                  ons_exception_t **ex)
{
    int64_t t0 = clock_mono_ms();
    int64_t deadline = t0 + pr->core.cfg.send_timeout_ms;
    struct prepared pp;
    if (prepare(pr, m, shard, txn != NULL, &pp, ex) != 0) {
        prepared_deinit(&pp);
        return -1;
    }
    int attempts = (mode == SEND_SYNC && shard == NULL) ? SEND_ATTEMPTS : 1;
    bool refresh = false;
    char last_broker[64] = "";
    ons_exception_t *err = NULL;
    int rc = -1;
    for (int attempt = 0; attempt < attempts; attempt++) {
        int64_t left = deadline - clock_mono_ms();
        if (attempt > 0)
            pp.born_ms = clock_wall_ms(); /* each attempt is born anew */
        if (left <= 0) {
            if (err == NULL)
                cl_raise(&err, ONS_ERR_TIMEOUT, "send timed out after %d ms",
                         pr->core.cfg.send_timeout_ms);
            break;
        }
        struct cl_route *r = NULL;
        ons_exception_free(err);
        err = NULL;
        if (cl_core_route(&pr->core, pp.wire_topic, refresh, &r, &err) != 0) {
            if (err && err->category == ONS_ERR_TOPIC_NOT_EXIST)
                break;
            refresh = true;
            continue;
        }
        if (r->nwrite == 0) {
            cl_raise(&err, ONS_ERR_TOPIC_NOT_EXIST,
                     "No route info of this topic: %s (no writable queue)", m->topic);
            cl_route_unref(r);
            break;
        }
        struct cl_mq mq;
        char addr[64];
        choose_target(pr, r, shard, last_broker[0] ? last_broker : NULL, &mq, addr);
        cl_route_unref(r);
        cl_copy(last_broker, sizeof last_broker, tern_cstr(mq.broker));
        struct rcmd cmd;
        build_request(pr, &pp, &mq, &cmd);
        if (mode == SEND_ONEWAY) {
            int orc = cl_core_oneway(&pr->core, addr, &cmd);
            if (orc != TERN_OK)
                cl_log(ONS_LOG_WARN, "oneway send to %s failed: %s", addr, tern_strerror(orc));
            rc = 0;
            break;
        }
        struct rresp resp;
        rresp_init(&resp);
        int nrc = cl_core_call(&pr->core, addr, &cmd, (int)left, &resp);
        if (nrc != TERN_OK) {
            cl_raise_err(&err, nrc, "send to broker failed");
            mark_failed(pr, mq.broker);
            refresh = true;
            rresp_deinit(&resp);
            continue;
        }
        int code = resp.cmd.code;
        if (stored_code(code)) {
            if (txn)
                txn_fill(txn, &mq, addr, pp.uniq, &resp.cmd);
            rresp_deinit(&resp);
            rc = 0;
            if (result && (*result = cl_send_result_make(m->topic, pp.uniq)) == NULL) {
                cl_raise_oom(&err);
                rc = -1;
            }
            break;
        }
        cl_raise_remote(&err, code, resp.cmd.remark, "send failed");
        rresp_deinit(&resp);
        if (!retriable_code(code))
            break;
        mark_failed(pr, mq.broker);
        refresh = true;
    }
    prepared_deinit(&pp);
    if (rc == 0) {
        ons_exception_free(err);
        return 0;
    }
    if (err == NULL)
        cl_raise(&err, ONS_ERR_GENERIC, "send failed");
    if (ex && *ex == NULL)
        *ex = err;
    else
        ons_exception_free(err);
    return -1;
}

/* Common entry checks. On success the caller holds one `active` count. */
int producer_enter(struct ons_producer *pr, const ons_message_t *m, ons_exception_t **ex)
{
    if (pr == NULL)
        return cl_raise(ex, ONS_ERR_NULL_POINTER, "producer is NULL");
    atomic_fetch_add(&pr->active, 1);
    if (atomic_load(&pr->core.state) != CL_STARTED) {
        atomic_fetch_sub(&pr->active, 1);
        return cl_raise(ex, ONS_ERR_ILLEGAL_STATE, "the producer is not started");
    }
    /* The clock only matters for a scheduled message. */
    int64_t now = m && m->start_deliver > 0 ? clock_wall_ms() : 0;
    if (cl_message_validate(m, now, ex) != 0) {
        atomic_fetch_sub(&pr->active, 1);
        return -1;
    }
    return 0;
}

/* ---- async workers ------------------------------------------------------------ */

/* Bytes of message copy a job block is rounded to, so that sends of a
 * similar size reuse each other's blocks. */
#define JOB_ROUND 512
/* What pr->spare_jobs keeps at most. */
#define JOB_SPARE_BYTES (4u << 20)

static void job_free(struct spare_node *n)
{
    free(n);
}

/* A job block for a copy of m: a spare one or a new one (NULL: no memory). */
static struct async_job *job_new(struct ons_producer *pr, const ons_message_t *m)
{
    /* The job's size keeps the copy that follows it pointer aligned. */
    _Static_assert(sizeof(struct async_job) % _Alignof(ons_message_t) == 0, "aligned copy");
    size_t need = sizeof(struct async_job) + cl_message_packed_size(m);
    struct async_job *j = (struct async_job *)spare_get(&pr->spare_jobs, need);
    if (j == NULL) {
        need = (need + JOB_ROUND - 1) / JOB_ROUND * JOB_ROUND;
        if ((j = cl_malloc(need)) == NULL)
            return NULL;
        j->node.size = need;
    }
    j->msg = cl_message_pack(m, j + 1);
    return j;
}

/* Gives a finished job's block back for a later send. */
static void job_release(struct ons_producer *pr, struct async_job *j)
{
    spare_put(&pr->spare_jobs, &j->node);
}

static void run_job(struct ons_producer *pr, struct async_job *j, bool cancelled)
{
    if (j->stage == JOB_DONE) {
        /* Stored: the result is a view on the job (valid during the call),
         * so a stored message needs no allocation to be reported. */
        if (j->cb.on_success) {
            ons_send_result_t view = {j->uniq, j->msg->topic};
            j->cb.on_success(&view, j->cb.user);
        }
        job_release(pr, j);
        return;
    }
    ons_send_result_t *res = NULL;
    ons_exception_t *err = NULL;
    int rc = cancelled ? cl_raise(&err, ONS_ERR_ILLEGAL_STATE,
                                  "the producer was shut down before the message was sent")
                       : producer_send(pr, j->msg, NULL, SEND_SYNC, NULL, &res, &err);
    if (rc == 0) {
        if (j->cb.on_success)
            j->cb.on_success(res, j->cb.user);
    } else if (j->cb.on_exception) {
        ons_on_exception_context_t ctx = {"", j->msg->topic, err};
        j->cb.on_exception(&ctx, j->cb.user);
    }
    ons_send_result_free(res);
    ons_exception_free(err);
    job_release(pr, j);
}

/* Jobs a worker takes off the list per lock. A worker runs at most this many
 * callbacks before it looks at the list again, so a slow callback delays at
 * most this many others before job_queue recruits another worker. */
#define JOB_TAKE 256

/* Queues the n jobs first..last (linked, already counted in `queued`) for
 * the workers. False once the workers are told to stop (jobs untouched):
 * they may already be gone. */
static bool job_queue(struct ons_producer *pr, struct async_job *first, struct async_job *last,
                      size_t n)
{
    pthread_mutex_lock(&pr->aq_mu);
    if (pr->aq_stop || pr->nworkers == 0) {
        pthread_mutex_unlock(&pr->aq_mu);
        return false;
    }
    last->next = NULL;
    if (pr->tail)
        pr->tail->next = first;
    else
        pr->head = first;
    pr->tail = last;
    pr->nqueued += n;
    /* A running (or signalled) worker comes back for the list: wake an idle
     * one only when there is none, or when the list outgrew what one worker
     * takes (a futex wake and a context switch cost more than a callback). */
    if (pr->nidle > pr->nwaking && (pr->nbusy + pr->nwaking == 0 || pr->nqueued > JOB_TAKE)) {
        pr->nwaking++;
        pthread_cond_signal(&pr->aq_cv);
    }
    pthread_mutex_unlock(&pr->aq_mu);
    return true;
}

/* Runs j here when no worker can (the very end of a shutdown). */
static void job_run_here(struct ons_producer *pr, struct async_job *j)
{
    run_job(pr, j, true);
    atomic_fetch_sub(&pr->active, 1);
    atomic_fetch_sub(&pr->queued, 1);
}

/* Queues a list of jobs, or runs them here when the workers are gone. */
static void job_hand_off(struct ons_producer *pr, struct async_job *first, struct async_job *last,
                         size_t n)
{
    if (job_queue(pr, first, last, n))
        return;
    /* A response after the shutdown deadline. */
    for (struct async_job *j = first, *next; j; j = next) {
        next = j == last ? NULL : j->next;
        job_run_here(pr, j);
    }
}

/* End of a client loop iteration: the answers it read go to the workers
 * with one lock. */
static void done_flush(void *arg)
{
    struct ons_producer *pr = arg;
    struct async_job *first = pr->done_head, *last = pr->done_tail;
    size_t n = pr->ndone;
    pr->done_head = pr->done_tail = NULL;
    pr->ndone = 0;
    if (first)
        job_hand_off(pr, first, last, n);
}

/* The response of a pipelined send (client loop thread: never blocks). */
static void async_sent(void *arg, int err, struct rcmd *resp)
{
    struct async_job *j = arg;
    struct ons_producer *pr = j->pr;
    if (err == TERN_OK && stored_code(resp->code)) {
        j->stage = JOB_DONE;
    } else {
        /* The retry (sync path, on a worker) avoids this broker for a while. */
        if (err != TERN_OK || retriable_code(resp->code))
            mark_failed(pr, j->broker);
        j->stage = JOB_RETRY;
    }
    j->next = NULL;
    if (pr->done_head == NULL) {
        if (rclient_defer(pr->core.rc, done_flush, pr) != TERN_OK) {
            job_hand_off(pr, j, j, 1);
            return;
        }
        pr->done_head = j;
    } else {
        pr->done_tail->next = j;
    }
    pr->done_tail = j;
    pr->ndone++;
}

/* Sends j pipelined (caller's thread). Non-zero: not sent; j untouched. */
static int first_attempt(struct ons_producer *pr, struct async_job *j)
{
    struct prepared pp;
    ons_exception_t *err = NULL;
    struct cl_route *r = NULL;
    int rc = -1;
    if (prepare(pr, j->msg, NULL, false, &pp, &err) == 0 &&
        cl_core_route(&pr->core, pp.wire_topic, false, &r, &err) == 0) {
        if (r->nwrite > 0) {
            struct cl_mq mq;
            char addr[64];
            choose_target(pr, r, NULL, NULL, &mq, addr);
            cl_copy(j->broker, sizeof j->broker, tern_cstr(mq.broker));
            memcpy(j->uniq, pp.uniq, sizeof j->uniq);
            struct rcmd cmd;
            build_request(pr, &pp, &mq, &cmd);
            /* j->deadline was set just now: the whole timeout is left. */
            int left = pr->core.cfg.send_timeout_ms;
            rc = cl_core_call_async(&pr->core, addr, &cmd, left > 0 ? left : 1, true, async_sent,
                                    j) == TERN_OK
                     ? 0
                     : -1;
        }
        cl_route_unref(r);
    }
    ons_exception_free(err);
    prepared_deinit(&pp);
    return rc;
}

static void *async_main(void *arg)
{
    struct ons_producer *pr = arg;
    pthread_mutex_lock(&pr->aq_mu);
    for (;;) {
        while (pr->head == NULL && !pr->aq_stop) {
            pr->nidle++;
            pthread_cond_wait(&pr->aq_cv, &pr->aq_mu);
            pr->nidle--;
            if (pr->nwaking > 0)
                pr->nwaking--;
        }
        struct async_job *first = pr->head, *last = first;
        if (first == NULL)
            break;
        size_t n = 1;
        for (; n < JOB_TAKE && last->next; n++)
            last = last->next;
        pr->head = last->next;
        if (pr->head == NULL)
            pr->tail = NULL;
        last->next = NULL;
        pr->nqueued -= n;
        pr->nbusy++;
        bool cancelled = pr->aq_stop;
        pthread_mutex_unlock(&pr->aq_mu);
        /* Only a shutdown waits for `queued`, and it polls: no wake-up per
         * job, and the counts (shared with the senders) drop once per take. */
        for (struct async_job *j = first, *next; j; j = next) {
            next = j->next;
            run_job(pr, j, cancelled);
        }
        atomic_fetch_sub(&pr->active, (int)n);
        atomic_fetch_sub(&pr->queued, (int)n);
        pthread_mutex_lock(&pr->aq_mu);
        pr->nbusy--;
    }
    pthread_mutex_unlock(&pr->aq_mu);
    return NULL;
}

/* ---- lifecycle -------------------------------------------------------------- */

struct ons_producer *producer_new(const ons_properties_t *p, enum cl_kind kind, size_t size,
                                  void (*check_txn)(void *owner, struct rreq *req),
                                  ons_exception_t **ex)
{
    struct ons_producer *pr = cl_calloc(1, size);
    if (pr == NULL) {
        cl_raise_oom(ex);
        return NULL;
    }
    struct cl_core_hooks h = {.build_heartbeat = producer_heartbeat, .check_txn = check_txn};
    if (cl_core_init(&pr->core, p, kind, &h, pr, ex) != 0) {
        free(pr);
        return NULL;
    }
    pr->kind = kind;
    pthread_mutex_init(&pr->fail_mu, NULL);
    pthread_mutex_init(&pr->aq_mu, NULL);
    pthread_cond_init(&pr->aq_cv, NULL);
    spare_init(&pr->spare_jobs, JOB_SPARE_BYTES, job_free);
    return pr;
}

int producer_start(struct ons_producer *pr, ons_exception_t **ex)
{
    if (pr == NULL)
        return cl_raise(ex, ONS_ERR_NULL_POINTER, "producer is NULL");
    pthread_mutex_lock(&pr->core.life_mu);
    int state = atomic_load(&pr->core.state);
    int rc = 0;
    if (state == CL_CLOSED) {
        rc = cl_raise(ex, ONS_ERR_ILLEGAL_STATE, "the producer has been shut down");
    } else if (state == CL_CREATED) {
        rc = cl_core_start(&pr->core, ex);
        if (rc == 0 && cl_core_probe(&pr->core, ex) != 0) {
            cl_core_stop_service(&pr->core);
            rclient_free(pr->core.rc);
            pr->core.rc = NULL;
            rc = -1;
        }
        if (rc == 0) {
            pr->aq_stop = false;
            for (int i = 0; i < ASYNC_THREADS; i++)
                if (pthread_create(&pr->workers[pr->nworkers], NULL, async_main, pr) == 0)
                    pr->nworkers++;
            atomic_store(&pr->core.state, CL_STARTED);
        }
    }
    pthread_mutex_unlock(&pr->core.life_mu);
    return rc;
}

void producer_shutdown(struct ons_producer *pr)
{
    if (pr == NULL)
        return;
    pthread_mutex_lock(&pr->core.life_mu);
    int state = atomic_exchange(&pr->core.state, CL_CLOSED);
    if (state == CL_STARTED) {
        int64_t deadline = clock_mono_ms() + pr->core.cfg.send_timeout_ms;
        /* Pending async sends may finish (their callbacks run); the rest are
         * cancelled with an exception. A poll: aq_cv is the workers' alone
         * (job_queue signals one idle worker and must not wake this). */
        while (atomic_load(&pr->queued) > 0 && clock_mono_ms() < deadline)
            usleep(1000);
        pthread_mutex_lock(&pr->aq_mu);
        pr->aq_stop = true;
        pthread_cond_broadcast(&pr->aq_cv);
        pthread_mutex_unlock(&pr->aq_mu);
        for (int i = 0; i < pr->nworkers; i++)
            pthread_join(pr->workers[i], NULL);
        pr->nworkers = 0;
        /* Sync sends still running end by their own deadline. */
        while (atomic_load(&pr->active) > 0)
            usleep(1000);
        cl_core_stop_service(&pr->core);
        cl_core_unregister(&pr->core, pr->core.cfg.wire_group, NULL);
        rclient_free(pr->core.rc);
        pr->core.rc = NULL;
    }
    pthread_mutex_unlock(&pr->core.life_mu);
}

void producer_destroy(struct ons_producer *pr)
{
    if (pr == NULL)
        return;
    producer_shutdown(pr);
    cl_core_deinit(&pr->core);
    pthread_mutex_destroy(&pr->fail_mu);
    pthread_mutex_destroy(&pr->aq_mu);
    pthread_cond_destroy(&pr->aq_cv);
    spare_deinit(&pr->spare_jobs);
    free(pr);
}

/* ---- Producer ---------------------------------------------------------------- */

ons_producer_t *ons_factory_create_producer(const ons_properties_t *p, ons_exception_t **ex)
{
    return producer_new(p, CL_PRODUCER, sizeof(struct ons_producer), NULL, ex);
}

int ons_producer_start(ons_producer_t *pr, ons_exception_t **ex)
{
    return producer_start(pr, ex);
}

void ons_producer_shutdown(ons_producer_t *pr)
{
    producer_shutdown(pr);
}

bool ons_producer_is_started(const ons_producer_t *pr)
{
    return pr && atomic_load(&pr->core.state) == CL_STARTED;
}

bool ons_producer_is_closed(const ons_producer_t *pr)
{
    return pr && atomic_load(&pr->core.state) == CL_CLOSED;
}

void ons_producer_destroy(ons_producer_t *pr)
{
    producer_destroy(pr);
}

int ons_producer_send(ons_producer_t *pr, const ons_message_t *m, ons_send_result_t **result,
                      ons_exception_t **ex)
{
    if (result)
        *result = NULL;
    if (producer_enter(pr, m, ex) != 0)
        return -1;
    int rc = producer_send(pr, m, NULL, SEND_SYNC, NULL, result, ex);
    atomic_fetch_sub(&pr->active, 1);
    return rc;
}

int ons_producer_send_oneway(ons_producer_t *pr, const ons_message_t *m, ons_exception_t **ex)
{
    if (producer_enter(pr, m, ex) != 0)
        return -1;
    int rc = producer_send(pr, m, NULL, SEND_ONEWAY, NULL, NULL, ex);
    atomic_fetch_sub(&pr->active, 1);
    return rc;
}

int ons_producer_send_async(ons_producer_t *pr, const ons_message_t *m,
                            const ons_send_callback_t *cb, ons_exception_t **ex)
{
    if (cb == NULL)
        return cl_raise(ex, ONS_ERR_NULL_POINTER, "send callback is NULL");
    if (producer_enter(pr, m, ex) != 0)
        return -1;
    /* One block for the job and its copy of the message. */
    struct async_job *j = job_new(pr, m);
    if (j == NULL) {
        atomic_fetch_sub(&pr->active, 1);
        return cl_raise_oom(ex);
    }
    j->next = NULL;
    j->stage = JOB_RETRY;
    j->broker[0] = j->uniq[0] = '\0';
    j->cb = *cb;
    j->pr = pr;
    j->deadline = clock_mono_ms() + pr->core.cfg.send_timeout_ms;
    /* `queued` counts the job from here until its callback ran, so that a
     * shutdown waits for sends in flight as for queued ones. */
    bool stopping = atomic_load(&pr->core.state) != CL_STARTED;
    if (!stopping)
        atomic_fetch_add(&pr->queued, 1);
    if (stopping) {
        job_release(pr, j);
        atomic_fetch_sub(&pr->active, 1);
        return cl_raise(ex, ONS_ERR_ILLEGAL_STATE, "the producer is shutting down");
    }
    /* Not sent (no route yet, a local error): the worker's sync path sorts
     * it out and reports through the callback. */
    if (first_attempt(pr, j) != 0) {
        j->stage = JOB_RETRY;
        job_hand_off(pr, j, j, 1);
    }
    return 0; /* the worker drops the active count */
}

/* ---- OrderProducer ------------------------------------------------------------ */

ons_order_producer_t *ons_factory_create_order_producer(const ons_properties_t *p,
                                                        ons_exception_t **ex)
{
    return (ons_order_producer_t *)producer_new(p, CL_ORDER_PRODUCER,
                                                sizeof(struct ons_order_producer), NULL, ex);
}

int ons_order_producer_start(ons_order_producer_t *op, ons_exception_t **ex)
{
    return producer_start(op ? &op->p : NULL, ex);
}

void ons_order_producer_shutdown(ons_order_producer_t *op)
{
    producer_shutdown(op ? &op->p : NULL);
}

bool ons_order_producer_is_started(const ons_order_producer_t *op)
{
    return op && ons_producer_is_started(&op->p);
}

bool ons_order_producer_is_closed(const ons_order_producer_t *op)
{
    return op && ons_producer_is_closed(&op->p);
}

void ons_order_producer_destroy(ons_order_producer_t *op)
{
    producer_destroy(op ? &op->p : NULL);
}

int ons_order_producer_send(ons_order_producer_t *op, const ons_message_t *m,
                            const char *sharding_key, ons_send_result_t **result,
                            ons_exception_t **ex)
{
    if (result)
        *result = NULL;
    if (op == NULL)
        return cl_raise(ex, ONS_ERR_NULL_POINTER, "producer is NULL");
    struct ons_producer *pr = &op->p;
    if (sharding_key == NULL || !*sharding_key)
        sharding_key = pr->core.cfg.sharding_key;
    if (sharding_key == NULL || !*sharding_key)
        return cl_raise(ex, ONS_ERR_ILLEGAL_ARGUMENT,
                        "the sharding key is empty and no shardingKey property is set");
    if (strchr(sharding_key, 1) || strchr(sharding_key, 2))
        return cl_raise(ex, ONS_ERR_ILLEGAL_ARGUMENT, "the sharding key contains U+0001/U+0002");
    if (m && m->start_deliver > 0)
        return cl_raise(ex, ONS_ERR_ILLEGAL_ARGUMENT,
                        "ordered messages cannot be scheduled (startDeliverTime is set)");
    if (producer_enter(pr, m, ex) != 0)
        return -1;
    int rc = producer_send(pr, m, sharding_key, SEND_SYNC, NULL, result, ex);
    atomic_fetch_sub(&pr->active, 1);
    return rc;
}
