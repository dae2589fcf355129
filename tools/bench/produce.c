/* SPDX-License-Identifier: Apache-2.0 */
/* produce.c: `mqbench produce`, a send-load generator shaped like RocketMQ's
 * benchmark Producer.
 *
 * Requests are SEND_MESSAGE_V2 (310) with the one-letter header keys a Java
 * 4.x/5.x client sends (a..k, m, n; l only exists for retry topics) and a
 * properties string holding TAGS, KEYS, WAIT and a fresh UNIQ_KEY; with
 * --batch N they are SEND_BATCH_MESSAGE (320) with m=true and N entries
 * encoded by batch_append (spec remoting-protocol.md §4.B, §5.7).
 *
 * Modes and threads:
 *  - sync: -w worker threads, each blocking in rclient_call_sync; workers are
 *    spread over --conns rclients (default one per 16 workers), each rclient
 *    being one TCP connection with its own loop thread.
 *  - async: one sender thread per rclient; at most --inflight requests are
 *    outstanding. The sender fills the window; then each successful callback
 *    (on the loop thread) sends the next request in the same slot, which
 *    joins that loop iteration's write with no wake-up. Failures give slots
 *    back; a sender that finds the window full sleeps until an eighth of it
 *    is free again, so wake-ups are per burst, not per message.
 *  - oneway: one sender thread per rclient; every 1024th request is sent as
 *    a normal call and waited for, which keeps the client's output buffer
 *    bounded (the broker reads a connection in order).
 * Latency is the time from just before the call to the callback/return,
 * recorded for SUCCESS answers in a fixed-bucket histogram (hist.c). */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#include "common/clock.h"
#include "common/limits.h"
#include "common/xalloc.h"
#include "protocol/batch.h"
#include "protocol/codes.h"
#include "protocol/msgid.h"
#include "protocol/props.h"

#define ONEWAY_BARRIER_EVERY 1024

struct worker;

/* One rclient (connection) and the latency histogram of calls made on it. */
struct conn {
    struct rclient *rc; /* owned */
    struct hist hist;
    struct worker *lw; /* owned, async: scratch of the loop thread's refills */
};

struct prod {
    struct prod_cfg cfg;
    struct bench_route route;
    struct conn *conns; /* owned, cfg.conns entries */
    uint8_t *body;      /* owned: cfg.size random alphanumeric bytes, read-only */
    struct uniq_gen uniq;
    struct prod_stats st;
    /* async window: inflight <= cfg.inflight; senders wait on win_cv for
     * inflight <= win_low. */
    _Atomic int64_t inflight;
    int64_t win_low;
    _Atomic int win_waiters;
    pthread_mutex_t win_mu;
    pthread_cond_t win_cv;
};

struct worker {
    struct prod *p;
    struct conn *conn; /* borrowed from p->conns */
    pthread_t tid;
    int idx;
    uint64_t rr;               /* round-robin position over p->route */
    uint64_t seq;              /* per-worker message counter, for KEYS */
    buf_t props;               /* scratch: properties of the message being built */
    buf_t batch;               /* scratch: batch body */
    buf_t hdr_i;               /* scratch: header "i" value */
    char key[MQBENCH_KEY_MAX]; /* scratch: KEYS value */
};

/* Callback state of one async request. */
struct pending {
    struct prod *p;
    struct conn *conn;
    int64_t t0_ns;
    int nmsgs;
};

/* ---- request building -------------------------------------------------- */

static void message_props(struct prod *p, struct worker *w, buf_t *out)
{
    char uniq[33];
    uniq_gen_next(&p->uniq, clock_wall_ms(), uniq);
    mqbench_format_key(w->key, w->idx, w->seq++);
    props_append(out, PROP_TAGS, tern_cstr("TagA"));
    props_append(out, PROP_KEYS, tern_cstr(w->key));
    props_append(out, PROP_WAIT, tern_cstr("true"));
    props_append(out, PROP_UNIQ_KEY, tern_cstr(uniq));
}

/* Fills cmd (rcmd_init'ed here) with a send of nmsgs messages to q. The body
 * points at p->body or w->batch, which stay valid until the next build. */
static void build_send(struct prod *p, struct worker *w, const struct bench_queue *q, int nmsgs,
                       struct rcmd *cmd)
{
    bool is_batch = p->cfg.batch > 0;
    rcmd_init(cmd);
    cmd->code = is_batch ? RC_SEND_BATCH_MESSAGE : RC_SEND_MESSAGE_V2;
    if (p->cfg.rocketmq_header)
        cmd->serialize_type = RCMD_ROCKETMQ;
    tern_bytes_t body = tern_bytes(p->body, (size_t)p->cfg.size);
    buf_reset(&w->hdr_i);
    if (is_batch) {
        buf_reset(&w->batch);
        for (int i = 0; i < nmsgs; i++) {
            buf_reset(&w->props);
            message_props(p, w, &w->props);
            batch_append(&w->batch, 0, body, buf_view(&w->props));
        }
        /* A Java MessageBatch carries only WAIT; entries carry the rest. */
        props_append(&w->hdr_i, PROP_WAIT, tern_cstr("true"));
        body = buf_view(&w->batch);
    } else {
        message_props(p, w, &w->hdr_i);
    }
    rcmd_add_cstr(cmd, "a", p->cfg.group);
    rcmd_add_cstr(cmd, "b", p->cfg.topic);
    rcmd_add_cstr(cmd, "c", "TBW102");
    rcmd_add_i64(cmd, "d", 4);
    rcmd_add_i64(cmd, "e", q->queue_id);
    rcmd_add_i64(cmd, "f", 0);
    rcmd_add_i64(cmd, "g", clock_wall_ms());
    rcmd_add_i64(cmd, "h", 0);
    rcmd_add(cmd, "i", buf_view(&w->hdr_i));
    rcmd_add_i64(cmd, "j", 0);
    rcmd_add_cstr(cmd, "k", "false");
    rcmd_add_cstr(cmd, "m", is_batch ? "true" : "false");
    rcmd_add_cstr(cmd, "n", q->broker);
    cmd->body = body;
}

static const struct bench_queue *next_queue(struct prod *p, struct worker *w)
{
    return &p->route.q[w->rr++ % p->route.n];
}

/* ---- senders ----------------------------------------------------------- */

static int nmsgs_per_request(const struct prod *p)
{
    return p->cfg.batch > 0 ? p->cfg.batch : 1;
}

/* One blocking call; accounts it (latency only when record_latency). */
static void send_sync(struct prod *p, struct worker *w, int n, bool record_latency)
{
    const struct bench_queue *q = next_queue(p, w);
    struct rcmd cmd;
    build_send(p, w, q, n, &cmd);
    struct rresp r;
    rresp_init(&r);
    int64_t t0 = clock_mono_ns();
    int rc = rclient_call_sync(w->conn->rc, q->addr, &cmd, p->cfg.timeout_ms, &r);
    int64_t lat = (clock_mono_ns() - t0) / 1000;
    prod_stats_account(&p->st, &w->conn->hist, rc, rc == TERN_OK ? r.cmd.code : -1, n,
                       record_latency ? lat : -1);
    rresp_deinit(&r);
    rcmd_deinit(&cmd);
}

static void *sync_worker(void *arg)
{
    struct worker *w = arg;
    struct prod *p = w->p;
    int n;
    while ((n = prod_stats_claim(&p->st, &p->cfg, nmsgs_per_request(p))) > 0)
        send_sync(p, w, n, true);
    atomic_fetch_sub(&p->st.senders_alive, 1);
    return NULL;
}

static void *oneway_worker(void *arg)
{
    struct worker *w = arg;
    struct prod *p = w->p;
    int n;
    uint64_t sent = 0;
    while ((n = prod_stats_claim(&p->st, &p->cfg, nmsgs_per_request(p))) > 0) {
        if (++sent % ONEWAY_BARRIER_EVERY == 0) {
            send_sync(p, w, n, false);
            continue;
        }
        const struct bench_queue *q = next_queue(p, w);
        struct rcmd cmd;
        build_send(p, w, q, n, &cmd);
        int rc = rclient_oneway(w->conn->rc, q->addr, &cmd);
        prod_stats_account(&p->st, &w->conn->hist, rc, RESP_SUCCESS, n, -1);
        rcmd_deinit(&cmd);
    }
    atomic_fetch_sub(&p->st.senders_alive, 1);
    return NULL;
}

/* Gives a window slot back; wakes senders once the low watermark is reached.
 * Sequentially consistent inflight/win_waiters accesses make the check race
 * free against a sender about to sleep (which re-checks under win_mu). */
static void release_slot(struct prod *p)
{
    int64_t now = atomic_fetch_sub(&p->inflight, 1) - 1;
    if (now <= p->win_low && atomic_load(&p->win_waiters) > 0) {
        pthread_mutex_lock(&p->win_mu);
        pthread_cond_broadcast(&p->win_cv);
        pthread_mutex_unlock(&p->win_mu);
    }
}

/* Takes a window slot; false when the run stops first. */
static bool acquire_slot(struct prod *p)
{
    for (;;) {
        int64_t cur = atomic_load(&p->inflight);
        if (cur < p->cfg.inflight) {
            if (atomic_compare_exchange_weak(&p->inflight, &cur, cur + 1))
                return true;
            continue;
        }
        pthread_mutex_lock(&p->win_mu);
        atomic_fetch_add(&p->win_waiters, 1);
        while (atomic_load(&p->inflight) > p->win_low && !prod_stats_stopping(&p->st)) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 100 * 1000 * 1000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&p->win_cv, &p->win_mu, &ts);
        }
        atomic_fetch_sub(&p->win_waiters, 1);
        pthread_mutex_unlock(&p->win_mu);
        if (prod_stats_stopping(&p->st))
            return false;
    }
}

static void on_async_resp(void *arg, int err, struct rcmd *resp);

/* Sends pd's next request on w's connection; on failure accounts it and frees
 * pd. The caller holds the window slot, which a failure gives back. */
static void async_send(struct prod *p, struct worker *w, struct pending *pd, int n)
{
    const struct bench_queue *q = next_queue(p, w);
    struct rcmd cmd;
    build_send(p, w, q, n, &cmd);
    pd->nmsgs = n;
    pd->t0_ns = clock_mono_ns();
    int rc = rclient_call(w->conn->rc, q->addr, &cmd, p->cfg.timeout_ms, on_async_resp, pd);
    rcmd_deinit(&cmd);
    if (rc != TERN_OK) {
        prod_stats_account(&p->st, &w->conn->hist, rc, -1, n, -1);
        free(pd);
        release_slot(p);
    }
}

/* Runs on the connection's loop thread. After a transport-level success the
 * slot is reused at once for the next request, sent from here: the call joins
 * this loop iteration's write, with no thread hand-off or wake-up. Transport
 * failures give the slot back (the sender thread refills the window), which
 * also bounds the recursion of a call failing inside rclient_call. */
static void on_async_resp(void *arg, int err, struct rcmd *resp)
{
    struct pending *pd = arg;
    struct prod *p = pd->p;
    int64_t lat = (clock_mono_ns() - pd->t0_ns) / 1000;
    prod_stats_account(&p->st, &pd->conn->hist, err, err == TERN_OK && resp ? resp->code : -1,
                       pd->nmsgs, lat);
    int n = err == TERN_OK ? prod_stats_claim(&p->st, &p->cfg, nmsgs_per_request(p)) : 0;
    if (n > 0) {
        async_send(p, pd->conn->lw, pd, n);
        return;
    }
    free(pd);
    release_slot(p);
}

static void *async_worker(void *arg)
{
    struct worker *w = arg;
    struct prod *p = w->p;
    for (;;) {
        if (!acquire_slot(p))
            break;
        int n = prod_stats_claim(&p->st, &p->cfg, nmsgs_per_request(p));
        if (n == 0) {
            release_slot(p);
            break;
        }
        struct pending *pd = xmalloc(sizeof *pd);
        pd->p = p;
        pd->conn = w->conn;
        async_send(p, w, pd, n);
    }
    atomic_fetch_sub(&p->st.senders_alive, 1);
    return NULL;
}

/* ---- main ---------------------------------------------------------------- */

int produce_main(int argc, char **argv)
{
    struct prod *p = xcalloc(1, sizeof *p);
    produce_parse_opts(argc, argv, &p->cfg);
    struct prod_cfg *cfg = &p->cfg;
    if (cfg->client == CLIENT_ONS) {
        int orc = ons_produce_run(cfg);
        free(p);
        return orc;
    }
    prod_stats_init(&p->st, cfg);

    p->body = xmalloc((size_t)cfg->size);
    mqbench_fill_body(p->body, (size_t)cfg->size);
    static const uint8_t loopback[4] = {127, 0, 0, 1};
    uniq_gen_init(&p->uniq, loopback);

    p->conns = xcalloc((size_t)cfg->conns, sizeof *p->conns);
    struct rclient_opts ro = {0};
    for (int i = 0; i < cfg->conns; i++) {
        hist_init(&p->conns[i].hist);
        int rc = rclient_new(&ro, &p->conns[i].rc);
        if (rc != TERN_OK) {
            fprintf(stderr, "mqbench: rclient_new: %s\n", tern_strerror(rc));
            return 1;
        }
    }
    int rc = route_ensure(p->conns[0].rc, cfg->namesrv, cfg->broker_addr, cfg->topic, cfg->queues,
                          cfg->create, true, cfg->timeout_ms, &p->route);
    if (rc != TERN_OK) {
        fprintf(stderr, "mqbench: cannot resolve a writable route for %s: %s\n", cfg->topic,
                tern_strerror(rc));
        return 1;
    }
    fprintf(stderr, "mqbench: topic %s: %zu writable queues, first on %s (%s)\n", cfg->topic,
            p->route.n, p->route.q[0].addr, p->route.q[0].broker);

    int nworkers = cfg->mode == PROD_SYNC ? cfg->threads : cfg->conns;
    p->win_low = cfg->inflight - (cfg->inflight >= 8 ? cfg->inflight / 8 : 1);
    pthread_mutex_init(&p->win_mu, NULL);
    pthread_cond_init(&p->win_cv, NULL);
    struct worker *ws = xcalloc((size_t)nworkers, sizeof *ws);
    mqbench_catch_signals();
    atomic_store(&p->st.senders_alive, nworkers);
    double t_start = mqbench_now_s();
    void *(*fn)(void *) = cfg->mode == PROD_SYNC    ? sync_worker
                          : cfg->mode == PROD_ASYNC ? async_worker
                                                    : oneway_worker;
    struct worker *lws = xcalloc((size_t)cfg->conns, sizeof *lws);
    for (int i = 0; i < cfg->conns; i++) {
        lws[i].p = p;
        lws[i].idx = nworkers + i;
        lws[i].rr = (uint64_t)(nworkers + i);
        lws[i].conn = &p->conns[i];
        buf_init(&lws[i].props);
        buf_init(&lws[i].batch);
        buf_init(&lws[i].hdr_i);
        p->conns[i].lw = &lws[i];
    }
    for (int i = 0; i < nworkers; i++) {
        ws[i].p = p;
        ws[i].idx = i;
        ws[i].rr = (uint64_t)i;
        ws[i].conn = &p->conns[i % cfg->conns];
        buf_init(&ws[i].props);
        buf_init(&ws[i].batch);
        buf_init(&ws[i].hdr_i);
        if (pthread_create(&ws[i].tid, NULL, fn, &ws[i]) != 0) {
            fprintf(stderr, "mqbench: pthread_create failed\n");
            exit(1);
        }
    }

    /* One line per second until the deadline, the count, or ^C. */
    double t_measure = prod_stats_ticker(&p->st, cfg, t_start);
    for (int i = 0; i < nworkers; i++)
        pthread_join(ws[i].tid, NULL);
    if (cfg->mode == PROD_ASYNC) {
        /* Every callback runs exactly once (answer, timeout or close). */
        double give_up = mqbench_now_s() + cfg->timeout_ms / 1000.0 + 5;
        while (atomic_load(&p->inflight) > 0 && mqbench_now_s() < give_up)
            usleep(1000);
        if (atomic_load(&p->inflight) > 0)
            fprintf(stderr, "mqbench: %lld requests still in flight after the timeout\n",
                    (long long)atomic_load(&p->inflight));
    }
    double elapsed = mqbench_now_s() - t_measure;
    struct hist *all = xmalloc(sizeof *all);
    hist_init(all);
    for (int i = 0; i < cfg->conns; i++)
        hist_merge(all, &p->conns[i].hist);
    prod_stats_summary(&p->st, cfg, all, nworkers, cfg->conns, elapsed);
    free(all);
    bool any_ok = atomic_load(&p->st.ok_msgs) > 0;
    for (int i = 0; i < cfg->conns; i++)
        rclient_free(p->conns[i].rc);
    for (int i = 0; i < nworkers; i++) {
        buf_deinit(&ws[i].props);
        buf_deinit(&ws[i].batch);
        buf_deinit(&ws[i].hdr_i);
    }
    for (int i = 0; i < cfg->conns; i++) {
        buf_deinit(&lws[i].props);
        buf_deinit(&lws[i].batch);
        buf_deinit(&lws[i].hdr_i);
    }
    free(lws);
    pthread_cond_destroy(&p->win_cv);
    pthread_mutex_destroy(&p->win_mu);
    free(ws);
    free(p->conns);
    free(p->body);
    route_free(&p->route);
    free(p);
    return any_ok ? 0 : 1;
}
