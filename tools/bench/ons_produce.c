/* SPDX-License-Identifier: Apache-2.0 */
/* ons_produce.c: `mqbench produce --client ons`, the send load of produce.c
 * driven through libons (ons_producer_send / _send_async / _send_oneway), so
 * the SDK's cost shows next to the raw protocol's with the same options.
 *
 * One ons producer carries the whole load (the SDK keeps one connection per
 * broker). Messages carry TagA, KEYS=mqbench-<thread>-<n> and a body of
 * random text, as the raw mode sends; the SDK adds UNIQ_KEY and WAIT.
 * Threads:
 *  - sync: -w threads, each blocking in ons_producer_send;
 *  - async: --conns sender threads enqueue with ons_producer_send_async while
 *    fewer than --inflight sends are outstanding; callbacks (SDK threads)
 *    account the result and give the slot back;
 *  - oneway: --conns threads; every 1024th send is a sync send, which bounds
 *    what the SDK has queued on the connection.
 * Latency runs from just before the call to its return (sync) or callback
 * (async). The SDK counts FLUSH_DISK_TIMEOUT and SLAVE codes as stored, so
 * flush_disk_timeout stays 0 here. The topic is resolved (or created) first
 * over the raw protocol (setup.c): the SDK never creates topics. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "ons_bench.h"

#include "common/clock.h"

#define ONEWAY_BARRIER_EVERY 1024

struct oprod {
    const struct prod_cfg *cfg; /* borrowed from the caller, read-only */
    ons_producer_t *pr;         /* owned */
    uint8_t *body;              /* owned: cfg->size random bytes */
    struct prod_stats st;
    struct hist hist;
    _Atomic bool reported; /* the first failure was printed */
    /* async window: inflight <= cfg->inflight; senders sleep on win_cv. */
    _Atomic int64_t inflight;
    pthread_mutex_t win_mu;
    pthread_cond_t win_cv;
};

struct osender {
    struct oprod *p;
    pthread_t tid;
    int idx;
    uint64_t seq;
    ons_message_t *msg; /* owned: reused for every send of this thread */
};

/* Callback state of one async send; freed by the callback. */
struct opending {
    struct oprod *p;
    int64_t t0_ns;
};

/* Sets the message's KEYS to "mqbench-<idx>-<seq++>". */
static void next_key(struct osender *s)
{
    char key[MQBENCH_KEY_MAX];
    mqbench_format_key(key, s->idx, s->seq++);
    ons_message_set_key(s->msg, key);
}

static void account(struct oprod *p, const ons_exception_t *ex, int64_t lat_us)
{
    int err;
    int32_t code;
    ons_bench_outcome(ex, &err, &code);
    if (ex)
        ons_bench_report("send failed", ex, &p->reported);
    prod_stats_account(&p->st, &p->hist, err, code, 1, ex ? -1 : lat_us);
}

static void send_sync(struct oprod *p, struct osender *s, bool record_latency)
{
    next_key(s);
    ons_exception_t *ex = NULL;
    int64_t t0 = clock_mono_ns();
    int rc = ons_producer_send(p->pr, s->msg, NULL, &ex);
    int64_t lat = (clock_mono_ns() - t0) / 1000;
    account(p, rc == 0 ? NULL : ex, record_latency ? lat : -1);
    ons_exception_free(ex);
}

static void *sync_sender(void *arg)
{
    struct osender *s = arg;
    struct oprod *p = s->p;
    while (prod_stats_claim(&p->st, p->cfg, 1) > 0)
        send_sync(p, s, true);
    atomic_fetch_sub(&p->st.senders_alive, 1);
    return NULL;
}

static void *oneway_sender(void *arg)
{
    struct osender *s = arg;
    struct oprod *p = s->p;
    uint64_t sent = 0;
    while (prod_stats_claim(&p->st, p->cfg, 1) > 0) {
        if (++sent % ONEWAY_BARRIER_EVERY == 0) {
            send_sync(p, s, false);
            continue;
        }
        next_key(s);
        ons_exception_t *ex = NULL;
        int rc = ons_producer_send_oneway(p->pr, s->msg, &ex);
        account(p, rc == 0 ? NULL : ex, -1);
        ons_exception_free(ex);
    }
    atomic_fetch_sub(&p->st.senders_alive, 1);
    return NULL;
}

/* ---- async window ---------------------------------------------------------- */

static int64_t win_low(const struct oprod *p)
{
    return p->cfg->inflight - (p->cfg->inflight >= 8 ? p->cfg->inflight / 8 : 1);
}

/* Gives a slot back; wakes the senders at the low watermark. */
static void release_slot(struct oprod *p)
{
    int64_t now = atomic_fetch_sub(&p->inflight, 1) - 1;
    if (now <= win_low(p)) {
        pthread_mutex_lock(&p->win_mu);
        pthread_cond_broadcast(&p->win_cv);
        pthread_mutex_unlock(&p->win_mu);
    }
}

/* Takes a slot; false when the run stops first. */
static bool acquire_slot(struct oprod *p)
{
    for (;;) {
        int64_t cur = atomic_load(&p->inflight);
        if (cur < p->cfg->inflight) {
            if (atomic_compare_exchange_weak(&p->inflight, &cur, cur + 1))
                return true;
            continue;
        }
        pthread_mutex_lock(&p->win_mu);
        while (atomic_load(&p->inflight) > win_low(p) && !prod_stats_stopping(&p->st)) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 20 * 1000 * 1000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&p->win_cv, &p->win_mu, &ts);
        }
        pthread_mutex_unlock(&p->win_mu);
        if (prod_stats_stopping(&p->st))
            return false;
    }
}

static void async_done(struct opending *pd, const ons_exception_t *ex)
{
    struct oprod *p = pd->p;
    account(p, ex, (clock_mono_ns() - pd->t0_ns) / 1000);
    free(pd);
    release_slot(p);
}

static void on_success(const ons_send_result_t *r, void *user)
{
    (void)r;
    async_done(user, NULL);
}

static void on_exception(const ons_on_exception_context_t *ctx, void *user)
{
    async_done(user, ctx->exception);
}

static void *async_sender(void *arg)
{
    struct osender *s = arg;
    struct oprod *p = s->p;
    while (acquire_slot(p)) {
        struct opending *pd = malloc(sizeof *pd);
        if (pd == NULL || prod_stats_claim(&p->st, p->cfg, 1) == 0) {
            free(pd);
            release_slot(p);
            break;
        }
        pd->p = p;
        next_key(s);
        ons_send_callback_t cb = {on_success, on_exception, pd};
        ons_exception_t *ex = NULL;
        pd->t0_ns = clock_mono_ns();
        if (ons_producer_send_async(p->pr, s->msg, &cb, &ex) != 0) {
            account(p, ex, -1); /* the callback never runs */
            free(pd);
            release_slot(p);
        }
        ons_exception_free(ex);
    }
    atomic_fetch_sub(&p->st.senders_alive, 1);
    return NULL;
}

/* ---- run ----------------------------------------------------------------- */

static ons_producer_t *start_producer(const struct prod_cfg *cfg)
{
    ons_properties_t *props = ons_bench_props(cfg->namesrv, cfg->group);
    char timeout[16];
    snprintf(timeout, sizeof timeout, "%d", cfg->timeout_ms);
    ons_exception_t *ex = NULL;
    ons_producer_t *pr = NULL;
    if (props && ons_properties_put(props, ONS_SEND_MSG_TIMEOUT_MILLIS, timeout) == 0)
        pr = ons_factory_create_producer(props, &ex);
    ons_properties_free(props);
    if (pr == NULL || ons_producer_start(pr, &ex) != 0) {
        ons_bench_report("cannot start the ons producer", ex, NULL);
        ons_exception_free(ex);
        ons_producer_destroy(pr);
        return NULL;
    }
    return pr;
}

int ons_produce_run(const struct prod_cfg *cfg)
{
    int rc = setup_topic(cfg->namesrv, cfg->broker_addr, cfg->topic, cfg->queues, cfg->create,
                         cfg->timeout_ms);
    if (rc != TERN_OK) {
        fprintf(stderr, "mqbench: cannot resolve a writable route for %s: %s\n", cfg->topic,
                tern_strerror(rc));
        return 1;
    }
    struct oprod *p = calloc(1, sizeof *p);
    if (p == NULL || (p->body = malloc((size_t)cfg->size)) == NULL) {
        fprintf(stderr, "mqbench: out of memory\n");
        free(p);
        return 1;
    }
    p->cfg = cfg;
    mqbench_fill_body(p->body, (size_t)cfg->size);
    prod_stats_init(&p->st, cfg);
    hist_init(&p->hist);
    pthread_mutex_init(&p->win_mu, NULL);
    pthread_cond_init(&p->win_cv, NULL);
    p->pr = start_producer(cfg);
    int nsenders = cfg->mode == PROD_SYNC ? cfg->threads : cfg->conns;
    struct osender *ss = calloc((size_t)nsenders, sizeof *ss);
    if (p->pr == NULL || ss == NULL) {
        free(ss);
        free(p->body);
        free(p);
        return 1;
    }
    void *(*fn)(void *) = cfg->mode == PROD_SYNC    ? sync_sender
                          : cfg->mode == PROD_ASYNC ? async_sender
                                                    : oneway_sender;
    mqbench_catch_signals();
    atomic_store(&p->st.senders_alive, nsenders);
    double t_start = mqbench_now_s();
    for (int i = 0; i < nsenders; i++) {
        ss[i].p = p;
        ss[i].idx = i;
        ss[i].msg =
            ons_message_new_with_key(cfg->topic, "TagA", "mqbench", p->body, (size_t)cfg->size);
        if (ss[i].msg == NULL || pthread_create(&ss[i].tid, NULL, fn, &ss[i]) != 0) {
            fprintf(stderr, "mqbench: cannot start sender %d\n", i);
            exit(1);
        }
    }
    double t_measure = prod_stats_ticker(&p->st, cfg, t_start);
    for (int i = 0; i < nsenders; i++)
        pthread_join(ss[i].tid, NULL);
    if (cfg->mode == PROD_ASYNC) {
        /* Every callback runs exactly once (answer, timeout or shutdown). */
        double give_up = mqbench_now_s() + cfg->timeout_ms / 1000.0 + 5;
        while (atomic_load(&p->inflight) > 0 && mqbench_now_s() < give_up)
            usleep(1000);
        if (atomic_load(&p->inflight) > 0)
            fprintf(stderr, "mqbench: %lld sends still in flight after the timeout\n",
                    (long long)atomic_load(&p->inflight));
    }
    double elapsed = mqbench_now_s() - t_measure;
    prod_stats_summary(&p->st, cfg, &p->hist, nsenders, 1, elapsed);
    bool any_ok = atomic_load(&p->st.ok_msgs) > 0;
    ons_producer_destroy(p->pr);
    for (int i = 0; i < nsenders; i++)
        ons_message_free(ss[i].msg);
    free(ss);
    pthread_cond_destroy(&p->win_cv);
    pthread_mutex_destroy(&p->win_mu);
    free(p->body);
    free(p);
    return any_ok ? 0 : 1;
}
