/* SPDX-License-Identifier: Apache-2.0 */
/* e2e.c: `mqbench e2e`, producer-to-consumer latency at a fixed rate through
 * libons: an ons producer paced at --rate messages/s and an ons push consumer
 * on the same topic, in this process.
 *
 * Body layout (host byte order; producer and consumer share the process):
 *   0..7 magic "MQBE2E\0\1" | 8..15 run id | 16..23 seq | 24..31 send time,
 *   CLOCK_MONOTONIC ns, taken just before the send call | random filler.
 * Latency = consumer's listener entry - send time. Messages of other runs
 * (other run id) are ignored. The pacer thread sends message i at
 * t0 + i/rate (absolute sleeps); with --burst B it sleeps only before every
 * B-th message and sends the B due from then back to back (the pacing of
 * peers/nats/natsbench, B = 16, whose figures the issue quotes). When it
 * falls behind it sends at once and records how far behind it was. Only
 * messages sent in the measured window (after --warmup) count. After the
 * window the consumer gets up to 5 s to receive what was sent; lost = sent -
 * received (measured window). The group is first committed at each queue's
 * max offset (setup.c) so the consumer sees only this run's messages.
 * Threads: pacer, SDK send workers and callbacks, ConsumeThreadNums
 * listeners (atomics only), main (ticker). */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "ons_bench.h"

#include "common/clock.h"

#define E2E_HDR_BYTES 32
#define E2E_DRAIN_S   5.0
static const uint8_t e2e_magic[8] = {'M', 'Q', 'B', 'E', '2', 'E', 0, 1};

struct e2e_cfg {
    const char *namesrv;
    const char *topic;
    const char *group;
    int size;
    int rate;
    int threads;  /* ConsumeThreadNums */
    int inflight; /* async sends outstanding at most */
    int burst;    /* messages sent back to back per pacer wake-up */
    bool oneway;
    double duration_s;
    double warmup_s;
};

struct e2e {
    struct e2e_cfg cfg;
    uint64_t run_id;
    ons_producer_t *pr;         /* owned */
    uint64_t nseq;              /* messages the bitmap can track */
    _Atomic uint64_t *seen;     /* owned: one bit per seq */
    _Atomic int64_t measure_lo; /* send-time window that counts, ns */
    _Atomic int64_t measure_hi;
    _Atomic bool stop;
    _Atomic bool reported;
    /* Producer side. */
    _Atomic uint64_t sent;        /* sends accepted, all phases */
    _Atomic uint64_t sent_window; /* acknowledged (oneway: accepted) in the window */
    _Atomic uint64_t send_failed; /* in the window */
    _Atomic int64_t inflight;
    _Atomic uint64_t behind_max_ns;
    /* Consumer side. */
    _Atomic uint64_t recv;        /* this run's messages, all phases */
    _Atomic uint64_t recv_window; /* first deliveries of window messages */
    _Atomic uint64_t dups;
    struct hist lat; /* window messages, first delivery, us */
};

/* Callback state of one async send. */
struct e2e_pending {
    struct e2e *e;
    bool in_window;
};

static bool in_window(struct e2e *e, int64_t send_ns)
{
    return send_ns >= atomic_load(&e->measure_lo) && send_ns < atomic_load(&e->measure_hi);
}

static ons_action_t on_message(const ons_message_t *m, ons_consume_context_t *ctx, void *user)
{
    (void)ctx;
    int64_t now = clock_mono_ns();
    struct e2e *e = user;
    size_t len = 0;
    const uint8_t *b = ons_message_get_body(m, &len);
    uint64_t run, seq;
    int64_t sent_ns;
    if (b == NULL || len < E2E_HDR_BYTES || memcmp(b, e2e_magic, 8) != 0)
        return ONS_ACTION_COMMIT_MESSAGE;
    memcpy(&run, b + 8, 8);
    memcpy(&seq, b + 16, 8);
    memcpy(&sent_ns, b + 24, 8);
    if (run != e->run_id)
        return ONS_ACTION_COMMIT_MESSAGE;
    atomic_fetch_add(&e->recv, 1);
    if (seq < e->nseq) {
        uint64_t bit = UINT64_C(1) << (seq % 64);
        if (atomic_fetch_or(&e->seen[seq / 64], bit) & bit) {
            atomic_fetch_add(&e->dups, 1);
            return ONS_ACTION_COMMIT_MESSAGE;
        }
    }
    if (in_window(e, sent_ns)) {
        atomic_fetch_add(&e->recv_window, 1);
        hist_record(&e->lat, (uint64_t)(now - sent_ns) / 1000);
    }
    return ONS_ACTION_COMMIT_MESSAGE;
}

static void send_done(struct e2e_pending *pd, bool ok)
{
    struct e2e *e = pd->e;
    if (pd->in_window)
        atomic_fetch_add(ok ? &e->sent_window : &e->send_failed, 1);
    atomic_fetch_sub(&e->inflight, 1);
    free(pd);
}

static void on_sent(const ons_send_result_t *r, void *user)
{
    (void)r;
    send_done(user, true);
}

static void on_send_error(const ons_on_exception_context_t *ctx, void *user)
{
    struct e2e_pending *pd = user;
    ons_bench_report("send failed", ctx->exception, &pd->e->reported);
    send_done(pd, false);
}

/* Sends one message stamped now; false when it was refused at once. */
static bool send_one(struct e2e *e, ons_message_t *msg, uint8_t *body, uint64_t seq)
{
    int64_t now = clock_mono_ns();
    memcpy(body + 16, &seq, 8);
    memcpy(body + 24, &now, 8);
    bool window = in_window(e, now);
    ons_exception_t *ex = NULL;
    int rc = -1;
    if (ons_message_set_body(msg, body, (size_t)e->cfg.size) == 0) {
        if (e->cfg.oneway) {
            rc = ons_producer_send_oneway(e->pr, msg, &ex);
            if (rc == 0 && window)
                atomic_fetch_add(&e->sent_window, 1);
        } else {
            struct e2e_pending *pd = malloc(sizeof *pd);
            if (pd) {
                *pd = (struct e2e_pending){e, window};
                atomic_fetch_add(&e->inflight, 1);
                ons_send_callback_t cb = {on_sent, on_send_error, pd};
                rc = ons_producer_send_async(e->pr, msg, &cb, &ex);
                if (rc != 0) {
                    atomic_fetch_sub(&e->inflight, 1);
                    free(pd);
                }
            }
        }
    }
    if (rc != 0) {
        ons_bench_report("send refused", ex, &e->reported);
        if (window)
            atomic_fetch_add(&e->send_failed, 1);
    }
    ons_exception_free(ex);
    atomic_fetch_add(&e->sent, 1);
    return rc == 0;
}

static void sleep_until_ns(int64_t t)
{
    struct timespec ts = {(time_t)(t / 1000000000), (long)(t % 1000000000)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0) {
    }
}

static void *pacer(void *arg)
{
    struct e2e *e = arg;
    /* 50 us between sends at 20k/s: the default 50 us timer slack would
     * double the spacing. */
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    uint8_t *body = malloc((size_t)e->cfg.size);
    ons_message_t *msg = ons_message_new_with_tag(e->cfg.topic, "TagE2E", NULL, 0);
    if (body == NULL || msg == NULL) {
        fprintf(stderr, "mqbench: out of memory\n");
        atomic_store(&e->stop, true);
    } else {
        mqbench_fill_body(body, (size_t)e->cfg.size);
        memcpy(body, e2e_magic, 8);
        memcpy(body + 8, &e->run_id, 8);
    }
    double period_ns = 1e9 / e->cfg.rate;
    int64_t t0 = clock_mono_ns();
    for (uint64_t i = 0; !atomic_load(&e->stop) && !mqbench_interrupted(); i++) {
        int64_t due = t0 + (int64_t)((double)i * period_ns);
        int64_t now = clock_mono_ns();
        bool paced = i % (uint64_t)e->cfg.burst == 0; /* the rest of a burst goes at once */
        if (paced && due > now)
            sleep_until_ns(due);
        else if (paced && (uint64_t)(now - due) > atomic_load(&e->behind_max_ns) &&
                 in_window(e, now))
            atomic_store(&e->behind_max_ns, (uint64_t)(now - due));
        while (atomic_load(&e->inflight) >= e->cfg.inflight && !atomic_load(&e->stop))
            usleep(100);
        send_one(e, msg, body, i);
    }
    ons_message_free(msg);
    free(body);
    return NULL;
}

/* ---- options ---------------------------------------------------------------- */

static void usage(FILE *f)
{
    fputs("usage: mqbench e2e -n NAMESRV -t TOPIC [options]\n"
          "  -n ADDR          name server host:port (default $NAMESRV_ADDR or 127.0.0.1:9876)\n"
          "  -t TOPIC         topic, created if missing (default BenchE2E)\n"
          "  -g GROUP         consumer group (default mqbench_e2e); producer group GROUP_p\n"
          "  --rate N         messages per second, paced (default 20000)\n"
          "  -s SIZE          body bytes, at least 32 (default 1024)\n"
          "  -d SECONDS       measured seconds (default 10)\n"
          "  --warmup SECONDS sent but not measured first (default 2)\n"
          "  -w THREADS       ConsumeThreadNums of the push consumer (default 64)\n"
          "  --send M         async (default) | oneway: how the producer sends\n"
          "  --inflight N     async sends outstanding at most (default 4096)\n"
          "  --burst B        sleep before every B-th message only, send B back to back\n"
          "                   (default 1: each message at its own time)\n"
          "  --client C       consumer side: ons (the only one so far)\n",
          f);
}

static void parse_opts(int argc, char **argv, struct e2e_cfg *c)
{
    enum { O_RATE = 256, O_WARMUP, O_SEND, O_INFLIGHT, O_CLIENT, O_BURST };
    static const struct option longs[] = {
        {"rate", required_argument, NULL, O_RATE},
        {"warmup", required_argument, NULL, O_WARMUP},
        {"send", required_argument, NULL, O_SEND},
        {"inflight", required_argument, NULL, O_INFLIGHT},
        {"client", required_argument, NULL, O_CLIENT},
        {"burst", required_argument, NULL, O_BURST},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *c = (struct e2e_cfg){
        .namesrv = mqbench_default_namesrv(),
        .topic = "BenchE2E",
        .group = "mqbench_e2e",
        .size = 1024,
        .rate = 20000,
        .threads = 64,
        .inflight = 4096,
        .burst = 1,
        .duration_s = 10,
        .warmup_s = 2,
    };
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "n:t:g:s:d:w:h", longs, NULL)) != -1) {
        switch (opt) {
        case 'n':
            c->namesrv = optarg;
            break;
        case 't':
            c->topic = optarg;
            break;
        case 'g':
            c->group = optarg;
            break;
        case 's':
            c->size = (int)mqbench_num("-s", optarg, E2E_HDR_BYTES, 4 << 20);
            break;
        case 'd':
            c->duration_s = mqbench_seconds("-d", optarg);
            break;
        case 'w':
            c->threads = (int)mqbench_num("-w", optarg, 1, 1000);
            break;
        case O_RATE:
            c->rate = (int)mqbench_num("--rate", optarg, 1, 10000000);
            break;
        case O_WARMUP:
            c->warmup_s = mqbench_seconds("--warmup", optarg);
            break;
        case O_SEND:
            if (strcmp(optarg, "async") != 0 && strcmp(optarg, "oneway") != 0) {
                fprintf(stderr, "mqbench: --send must be async or oneway\n");
                exit(2);
            }
            c->oneway = strcmp(optarg, "oneway") == 0;
            break;
        case O_INFLIGHT:
            c->inflight = (int)mqbench_num("--inflight", optarg, 1, 1 << 20);
            break;
        case O_BURST:
            c->burst = (int)mqbench_num("--burst", optarg, 1, 1 << 20);
            break;
        case O_CLIENT:
            if (mqbench_client_name(optarg) != CLIENT_ONS) {
                fprintf(stderr, "mqbench: e2e has only a libons consumer: use --client ons\n");
                exit(2);
            }
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            exit(2);
        }
    }
    if (optind != argc) {
        fprintf(stderr, "mqbench: unexpected argument '%s'\n", argv[optind]);
        exit(2);
    }
    if (c->duration_s <= 0) {
        fprintf(stderr, "mqbench: -d must be > 0\n");
        exit(2);
    }
}

/* ---- run ------------------------------------------------------------------------ */

static int start_clients(struct e2e *e, ons_consumer_t **oc)
{
    const struct e2e_cfg *cfg = &e->cfg;
    ons_exception_t *ex = NULL;
    char threads[16], pgroup[128];
    snprintf(threads, sizeof threads, "%d", cfg->threads);
    snprintf(pgroup, sizeof pgroup, "%s_p", cfg->group);
    ons_properties_t *props = ons_bench_props(cfg->namesrv, cfg->group);
    if (props && ons_properties_put(props, ONS_CONSUME_THREAD_NUMS, threads) == 0)
        *oc = ons_factory_create_consumer(props, &ex);
    ons_properties_free(props);
    if (*oc == NULL || ons_consumer_subscribe(*oc, cfg->topic, "*", on_message, e, &ex) != 0 ||
        ons_consumer_start(*oc, &ex) != 0) {
        ons_bench_report("cannot start the ons consumer", ex, NULL);
        ons_exception_free(ex);
        return -1;
    }
    props = ons_bench_props(cfg->namesrv, pgroup);
    if (props)
        e->pr = ons_factory_create_producer(props, &ex);
    ons_properties_free(props);
    if (e->pr == NULL || ons_producer_start(e->pr, &ex) != 0) {
        ons_bench_report("cannot start the ons producer", ex, NULL);
        ons_exception_free(ex);
        return -1;
    }
    return 0;
}

static void summary(struct e2e *e, double elapsed_s)
{
    uint64_t sent = atomic_load(&e->sent_window), recv = atomic_load(&e->recv_window);
    printf("SUMMARY e2e client=ons send=%s rate=%d burst=%d size=%d threads=%d sent=%llu "
           "recv=%llu lost=%llu dups=%llu send_failed=%llu elapsed_s=%.2f msgs_per_s=%.0f ",
           e->cfg.oneway ? "oneway" : "async", e->cfg.rate, e->cfg.burst, e->cfg.size,
           e->cfg.threads, (unsigned long long)sent, (unsigned long long)recv,
           (unsigned long long)(sent > recv ? sent - recv : 0),
           (unsigned long long)atomic_load(&e->dups),
           (unsigned long long)atomic_load(&e->send_failed), elapsed_s,
           elapsed_s > 0 ? (double)sent / elapsed_s : 0);
    if (atomic_load(&e->lat.n) > 0)
        printf("p50_us=%llu p99_us=%llu p999_us=%llu max_us=%llu ",
               (unsigned long long)hist_quantile(&e->lat, 0.50),
               (unsigned long long)hist_quantile(&e->lat, 0.99),
               (unsigned long long)hist_quantile(&e->lat, 0.999),
               (unsigned long long)atomic_load(&e->lat.max_us));
    else
        printf("p50_us=na p99_us=na p999_us=na max_us=na ");
    printf("behind_max_us=%llu\n", (unsigned long long)atomic_load(&e->behind_max_ns) / 1000);
    fflush(stdout);
}

int e2e_main(int argc, char **argv)
{
    struct e2e *e = calloc(1, sizeof *e);
    if (e == NULL)
        return 1;
    parse_opts(argc, argv, &e->cfg);
    const struct e2e_cfg *cfg = &e->cfg;
    e->nseq = (uint64_t)((cfg->warmup_s + cfg->duration_s + 2) * cfg->rate) + 64;
    e->seen = calloc((size_t)(e->nseq / 64 + 1), sizeof *e->seen);
    e->run_id = (uint64_t)clock_mono_ns() ^ ((uint64_t)getpid() << 40);
    hist_init(&e->lat);
    atomic_init(&e->measure_lo, INT64_MAX);
    atomic_init(&e->measure_hi, INT64_MAX);
    int rc = setup_topic(cfg->namesrv, NULL, cfg->topic, 8, false, 3000);
    if (rc == TERN_OK)
        rc = setup_group_offsets(cfg->namesrv, cfg->topic, cfg->group, true, 3000, NULL);
    if (rc != TERN_OK || e->seen == NULL) {
        fprintf(stderr, "mqbench: cannot prepare topic %s / group %s: %s\n", cfg->topic, cfg->group,
                tern_strerror(rc));
        free(e->seen);
        free(e);
        return 1;
    }
    mqbench_catch_signals();
    ons_consumer_t *oc = NULL;
    pthread_t tid;
    if (start_clients(e, &oc) != 0 || pthread_create(&tid, NULL, pacer, e) != 0) {
        ons_producer_destroy(e->pr);
        ons_consumer_destroy(oc);
        free(e->seen);
        free(e);
        return 1;
    }
    double t_start = mqbench_now_s(), t_measure = t_start + cfg->warmup_s;
    double t_end = t_measure + cfg->duration_s;
    bool measuring = false;
    uint64_t last_sent = 0, last_recv = 0;
    for (int tick = 1; !mqbench_interrupted() && !atomic_load(&e->stop); tick++) {
        double next = t_start + tick;
        if (!measuring && next > t_measure)
            next = t_measure;
        if (next > t_end)
            next = t_end;
        while (mqbench_now_s() < next && !mqbench_interrupted())
            usleep(10000);
        if (!measuring && mqbench_now_s() >= t_measure) {
            measuring = true;
            atomic_store(&e->measure_hi, (int64_t)(t_end * 1e9));
            atomic_store(&e->measure_lo, clock_mono_ns());
            tick--; /* the switch is not a tick */
            continue;
        }
        uint64_t s = atomic_load(&e->sent), r = atomic_load(&e->recv);
        printf("[%6.1fs] sent=%llu recv=%llu send_tps=%llu recv_tps=%llu%s\n",
               mqbench_now_s() - t_start, (unsigned long long)s, (unsigned long long)r,
               (unsigned long long)(s - last_sent), (unsigned long long)(r - last_recv),
               measuring ? "" : " (warmup)");
        fflush(stdout);
        last_sent = s;
        last_recv = r;
        if (mqbench_now_s() >= t_end)
            break;
    }
    atomic_store(&e->stop, true);
    pthread_join(tid, NULL);
    double elapsed = mqbench_now_s() - (double)atomic_load(&e->measure_lo) / 1e9;
    if (!measuring)
        elapsed = 0;
    /* Let the last acknowledgements and deliveries arrive. */
    double give_up = mqbench_now_s() + E2E_DRAIN_S;
    while (mqbench_now_s() < give_up && !mqbench_interrupted() &&
           (atomic_load(&e->inflight) > 0 ||
            atomic_load(&e->recv_window) < atomic_load(&e->sent_window)))
        usleep(10000);
    summary(e, elapsed);
    bool ok = atomic_load(&e->recv_window) > 0 && atomic_load(&e->send_failed) == 0 &&
              atomic_load(&e->recv_window) >= atomic_load(&e->sent_window);
    ons_producer_destroy(e->pr);
    ons_consumer_destroy(oc);
    free(e->seen);
    free(e);
    return ok ? 0 : 1;
}
