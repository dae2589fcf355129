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

enum mode { MODE_SYNC, MODE_ASYNC, MODE_ONEWAY };
enum phase { PHASE_WARMUP, PHASE_MEASURE, PHASE_STOP };

#define ONEWAY_BARRIER_EVERY 1024

struct prod_cfg {
    const char *namesrv;
    const char *topic;
    const char *group;
    const char *broker_addr; /* -b: where to create the topic; NULL = cluster masters */
    int size;
    int threads;
    int conns;
    int inflight;
    int batch; /* 0 = single messages (SEND_MESSAGE_V2) */
    int queues;
    int timeout_ms;
    enum mode mode;
    double duration_s;
    double warmup_s;
    int64_t count; /* 0 = bounded by duration only */
    bool create;
    bool rocketmq_header;
};

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
    _Atomic int phase;
    _Atomic int64_t claimed; /* messages handed out so far (for --count) */
    _Atomic int senders_alive;
    /* Measured phase only. */
    _Atomic uint64_t ok_msgs;
    _Atomic uint64_t fail_msgs;
    _Atomic uint64_t flush_timeouts; /* requests answered FLUSH_DISK_TIMEOUT */
    struct tally tally;              /* every non-SUCCESS outcome, per request */
    /* Every phase, for the per-second lines. */
    _Atomic uint64_t shown_ok;
    _Atomic uint64_t shown_fail;
    _Atomic uint64_t shown_lat_us;
    _Atomic uint64_t shown_lat_n;
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
    uint64_t rr;  /* round-robin position over p->route */
    uint64_t seq; /* per-worker message counter, for KEYS */
    buf_t props;  /* scratch: properties of the message being built */
    buf_t batch;  /* scratch: batch body */
    buf_t hdr_i;  /* scratch: header "i" value */
    char key[48]; /* scratch: KEYS value */
};

/* Callback state of one async request. */
struct pending {
    struct prod *p;
    struct conn *conn;
    int64_t t0_ns;
    int nmsgs;
};

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

/* ---- request building -------------------------------------------------- */

/* w->key = "mqbench-<idx>-<seq++>" (snprintf was a visible cost per message). */
static void format_key(struct worker *w)
{
    char tmp[48];
    char *e = tmp + sizeof tmp, *q = e;
    uint64_t v = w->seq++;
    do {
        *--q = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    *--q = '-';
    v = (uint64_t)w->idx;
    do {
        *--q = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    static const char prefix[] = "mqbench-";
    size_t n = (size_t)(e - q);
    memcpy(w->key, prefix, sizeof prefix - 1);
    memcpy(w->key + sizeof prefix - 1, q, n);
    w->key[sizeof prefix - 1 + n] = '\0';
}

static void message_props(struct prod *p, struct worker *w, buf_t *out)
{
    char uniq[33];
    uniq_gen_next(&p->uniq, clock_wall_ms(), uniq);
    format_key(w);
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

/* ---- accounting ---------------------------------------------------------- */

/* Hands out up to want messages; 0 means stop. */
static int claim(struct prod *p, int want)
{
    if (atomic_load(&p->phase) == PHASE_STOP || interrupted)
        return 0;
    if (p->cfg.count == 0)
        return want;
    int64_t old = atomic_fetch_add(&p->claimed, want);
    if (old >= p->cfg.count)
        return 0;
    int64_t left = p->cfg.count - old;
    return left < want ? (int)left : want;
}

/* Records one finished request of nmsgs messages. lat_us < 0: no latency. */
static void account(struct prod *p, struct conn *c, int err, int32_t code, int nmsgs,
                    int64_t lat_us)
{
    bool ok = err == TERN_OK && code == RESP_SUCCESS;
    bool measuring = atomic_load_explicit(&p->phase, memory_order_relaxed) != PHASE_WARMUP;
    if (ok) {
        atomic_fetch_add_explicit(&p->shown_ok, (uint64_t)nmsgs, memory_order_relaxed);
        if (lat_us >= 0) {
            atomic_fetch_add_explicit(&p->shown_lat_us, (uint64_t)lat_us, memory_order_relaxed);
            atomic_fetch_add_explicit(&p->shown_lat_n, 1, memory_order_relaxed);
        }
    } else {
        atomic_fetch_add_explicit(&p->shown_fail, (uint64_t)nmsgs, memory_order_relaxed);
    }
    if (!measuring)
        return;
    if (ok) {
        atomic_fetch_add_explicit(&p->ok_msgs, (uint64_t)nmsgs, memory_order_relaxed);
        if (lat_us >= 0)
            hist_record(&c->hist, (uint64_t)lat_us);
        return;
    }
    atomic_fetch_add_explicit(&p->fail_msgs, (uint64_t)nmsgs, memory_order_relaxed);
    if (err == TERN_OK && code == RESP_FLUSH_DISK_TIMEOUT)
        atomic_fetch_add_explicit(&p->flush_timeouts, 1, memory_order_relaxed);
    tally_add(&p->tally, err, code);
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
    account(p, w->conn, rc, rc == TERN_OK ? r.cmd.code : -1, n, record_latency ? lat : -1);
    rresp_deinit(&r);
    rcmd_deinit(&cmd);
}

static void *sync_worker(void *arg)
{
    struct worker *w = arg;
    struct prod *p = w->p;
    int n;
    while ((n = claim(p, nmsgs_per_request(p))) > 0)
        send_sync(p, w, n, true);
    atomic_fetch_sub(&p->senders_alive, 1);
    return NULL;
}

static void *oneway_worker(void *arg)
{
    struct worker *w = arg;
    struct prod *p = w->p;
    int n;
    uint64_t sent = 0;
    while ((n = claim(p, nmsgs_per_request(p))) > 0) {
        if (++sent % ONEWAY_BARRIER_EVERY == 0) {
            send_sync(p, w, n, false);
            continue;
        }
        const struct bench_queue *q = next_queue(p, w);
        struct rcmd cmd;
        build_send(p, w, q, n, &cmd);
        int rc = rclient_oneway(w->conn->rc, q->addr, &cmd);
        account(p, w->conn, rc, RESP_SUCCESS, n, -1);
        rcmd_deinit(&cmd);
    }
    atomic_fetch_sub(&p->senders_alive, 1);
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

static bool stopping(struct prod *p)
{
    return atomic_load(&p->phase) == PHASE_STOP || interrupted;
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
        while (atomic_load(&p->inflight) > p->win_low && !stopping(p)) {
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
        if (stopping(p))
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
        account(p, w->conn, rc, -1, n, -1);
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
    account(p, pd->conn, err, err == TERN_OK && resp ? resp->code : -1, pd->nmsgs, lat);
    int n = err == TERN_OK ? claim(p, nmsgs_per_request(p)) : 0;
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
        int n = claim(p, nmsgs_per_request(p));
        if (n == 0) {
            release_slot(p);
            break;
        }
        struct pending *pd = xmalloc(sizeof *pd);
        pd->p = p;
        pd->conn = w->conn;
        async_send(p, w, pd, n);
    }
    atomic_fetch_sub(&p->senders_alive, 1);
    return NULL;
}

/* ---- options ------------------------------------------------------------- */

static void produce_usage(FILE *f)
{
    fputs("usage: mqbench produce -n NAMESRV -t TOPIC [options]\n"
          "  -n ADDR            name server host:port (default $NAMESRV_ADDR or 127.0.0.1:9876)\n"
          "  -t TOPIC           topic (default BenchmarkTest)\n"
          "  -s SIZE            body bytes per message (default 1024)\n"
          "  -w THREADS         sync worker threads (default 64)\n"
          "  --mode M           sync | async | oneway (default sync)\n"
          "  --inflight N       async: requests in flight (default 1024)\n"
          "  --batch N          SEND_BATCH_MESSAGE with N messages per request\n"
          "  -d SECONDS         measured duration (default 10)\n"
          "  --count N          stop after N messages in total (warm-up included)\n"
          "  --warmup SECONDS   send this long before measuring (default 0)\n"
          "  -q QUEUES          queues when creating the topic (default 8)\n"
          "  --create           create/update the topic first (UPDATE_AND_CREATE_TOPIC)\n"
          "  -b ADDR            broker to create the topic on (default: every master)\n"
          "  -g GROUP           producer group (default mqbench_producer)\n"
          "  --conns N          connections (default: sync one per 16 threads, else 2)\n"
          "  --timeout-ms MS    per-request timeout (default 3000)\n"
          "  --rocketmq-header  ROCKETMQ binary headers instead of JSON\n",
          f);
}

static void parse_opts(int argc, char **argv, struct prod_cfg *c)
{
    enum {
        O_MODE = 256,
        O_INFLIGHT,
        O_BATCH,
        O_COUNT,
        O_CREATE,
        O_WARMUP,
        O_CONNS,
        O_TIMEOUT,
        O_RMQHDR,
    };
    static const struct option longs[] = {
        {"mode", required_argument, NULL, O_MODE},
        {"inflight", required_argument, NULL, O_INFLIGHT},
        {"batch", required_argument, NULL, O_BATCH},
        {"count", required_argument, NULL, O_COUNT},
        {"create", no_argument, NULL, O_CREATE},
        {"warmup", required_argument, NULL, O_WARMUP},
        {"conns", required_argument, NULL, O_CONNS},
        {"timeout-ms", required_argument, NULL, O_TIMEOUT},
        {"rocketmq-header", no_argument, NULL, O_RMQHDR},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *env_ns = getenv("NAMESRV_ADDR");
    *c = (struct prod_cfg){
        .namesrv = env_ns && *env_ns ? env_ns : "127.0.0.1:9876",
        .topic = "BenchmarkTest",
        .group = "mqbench_producer",
        .size = 1024,
        .threads = 64,
        .inflight = 1024,
        .queues = 8,
        .timeout_ms = 3000,
        .mode = MODE_SYNC,
        .duration_s = 10,
    };
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "n:t:s:w:d:q:b:g:h", longs, NULL)) != -1) {
        switch (opt) {
        case 'n':
            c->namesrv = optarg;
            break;
        case 't':
            c->topic = optarg;
            break;
        case 's':
            c->size = (int)mqbench_num("-s", optarg, 1, TERN_MAX_BODY_BYTES);
            break;
        case 'w':
            c->threads = (int)mqbench_num("-w", optarg, 1, 4096);
            break;
        case 'd':
            c->duration_s = mqbench_seconds("-d", optarg);
            break;
        case 'q':
            c->queues = (int)mqbench_num("-q", optarg, 1, TERN_MAX_QUEUES_PER_TOPIC);
            break;
        case 'b':
            c->broker_addr = optarg;
            break;
        case 'g':
            c->group = optarg;
            break;
        case O_MODE:
            if (strcmp(optarg, "sync") == 0)
                c->mode = MODE_SYNC;
            else if (strcmp(optarg, "async") == 0)
                c->mode = MODE_ASYNC;
            else if (strcmp(optarg, "oneway") == 0)
                c->mode = MODE_ONEWAY;
            else {
                fprintf(stderr, "mqbench: --mode must be sync, async or oneway\n");
                exit(2);
            }
            break;
        case O_INFLIGHT:
            c->inflight = (int)mqbench_num("--inflight", optarg, 1, 1 << 20);
            break;
        case O_BATCH:
            c->batch = (int)mqbench_num("--batch", optarg, 1, TERN_MAX_BATCH_MSGS);
            break;
        case O_COUNT:
            c->count = mqbench_num("--count", optarg, 1, INT64_MAX / 2);
            break;
        case O_CREATE:
            c->create = true;
            break;
        case O_WARMUP:
            c->warmup_s = mqbench_seconds("--warmup", optarg);
            break;
        case O_CONNS:
            c->conns = (int)mqbench_num("--conns", optarg, 1, 256);
            break;
        case O_TIMEOUT:
            c->timeout_ms = (int)mqbench_num("--timeout-ms", optarg, 1, 600000);
            break;
        case O_RMQHDR:
            c->rocketmq_header = true;
            break;
        case 'h':
            produce_usage(stdout);
            exit(0);
        default:
            produce_usage(stderr);
            exit(2);
        }
    }
    if (optind != argc) {
        fprintf(stderr, "mqbench: unexpected argument '%s'\n", argv[optind]);
        exit(2);
    }
    if (c->batch > 0 && (int64_t)c->batch * (c->size + 24 + 128) > TERN_MAX_BODY_BYTES) {
        fprintf(stderr, "mqbench: --batch %d x -s %d exceeds the 4 MiB body limit\n", c->batch,
                c->size);
        exit(2);
    }
    if (c->duration_s <= 0 && c->count == 0) {
        fprintf(stderr, "mqbench: need -d > 0 or --count\n");
        exit(2);
    }
    if (c->conns == 0)
        c->conns = c->mode == MODE_SYNC ? (c->threads + 15) / 16 : 2;
    if (c->mode == MODE_SYNC && c->conns > c->threads)
        c->conns = c->threads;
}

/* ---- main ---------------------------------------------------------------- */

static const char *mode_name(enum mode m)
{
    return m == MODE_SYNC ? "sync" : m == MODE_ASYNC ? "async" : "oneway";
}

static void print_summary(struct prod *p, double elapsed_s)
{
    struct hist *all = xmalloc(sizeof *all);
    hist_init(all);
    for (int i = 0; i < p->cfg.conns; i++)
        hist_merge(all, &p->conns[i].hist);
    uint64_t ok = atomic_load(&p->ok_msgs);
    uint64_t failed = atomic_load(&p->fail_msgs);
    double rate = elapsed_s > 0 ? (double)ok / elapsed_s : 0;
    double mbps = rate * p->cfg.size / (1024.0 * 1024.0);
    char fails[1024];
    tally_format(&p->tally, true, fails, sizeof fails);
    int senders = p->cfg.mode == MODE_SYNC ? p->cfg.threads : p->cfg.conns;
    printf("SUMMARY produce mode=%s threads=%d conns=%d inflight=%d batch=%d size=%d "
           "msgs=%llu elapsed_s=%.2f msgs_per_s=%.0f mb_per_s=%.1f ",
           mode_name(p->cfg.mode), senders, p->cfg.conns,
           p->cfg.mode == MODE_ASYNC ? p->cfg.inflight : 0, p->cfg.batch, p->cfg.size,
           (unsigned long long)ok, elapsed_s, rate, mbps);
    if (atomic_load(&all->n) > 0)
        printf("p50_us=%llu p99_us=%llu p999_us=%llu max_us=%llu ",
               (unsigned long long)hist_quantile(all, 0.50),
               (unsigned long long)hist_quantile(all, 0.99),
               (unsigned long long)hist_quantile(all, 0.999),
               (unsigned long long)atomic_load(&all->max_us));
    else
        printf("p50_us=na p99_us=na p999_us=na max_us=na ");
    printf("failed=%llu flush_disk_timeout=%llu failures=%s\n", (unsigned long long)failed,
           (unsigned long long)atomic_load(&p->flush_timeouts), fails);
    fflush(stdout);
    free(all);
}

static void sleep_until(double t)
{
    double now = mqbench_now_s();
    if (t > now)
        usleep((useconds_t)((t - now) * 1e6));
}

int produce_main(int argc, char **argv)
{
    struct prod *p = xcalloc(1, sizeof *p);
    parse_opts(argc, argv, &p->cfg);
    struct prod_cfg *cfg = &p->cfg;
    atomic_init(&p->phase, cfg->warmup_s > 0 ? PHASE_WARMUP : PHASE_MEASURE);
    tally_init(&p->tally);

    /* Body: random alphanumeric text, as the Java benchmark sends. */
    static const char alnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    p->body = xmalloc((size_t)cfg->size);
    uint64_t x = (uint64_t)clock_mono_ns() | 1;
    for (int i = 0; i < cfg->size; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p->body[i] = (uint8_t)alnum[x % (sizeof alnum - 1)];
    }
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

    int nworkers = cfg->mode == MODE_SYNC ? cfg->threads : cfg->conns;
    p->win_low = cfg->inflight - (cfg->inflight >= 8 ? cfg->inflight / 8 : 1);
    pthread_mutex_init(&p->win_mu, NULL);
    pthread_cond_init(&p->win_cv, NULL);
    struct worker *ws = xcalloc((size_t)nworkers, sizeof *ws);
    signal(SIGINT, on_sigint);
    signal(SIGTERM, on_sigint);
    atomic_store(&p->senders_alive, nworkers);
    double t_start = mqbench_now_s();
    double t_measure = t_start + cfg->warmup_s;
    double t_end = cfg->duration_s > 0 ? t_measure + cfg->duration_s : 1e300;
    void *(*fn)(void *) = cfg->mode == MODE_SYNC    ? sync_worker
                          : cfg->mode == MODE_ASYNC ? async_worker
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
    uint64_t last_ok = 0, last_lat = 0, last_latn = 0;
    double last_t = t_start;
    for (int tick = 1;; tick++) {
        double next = t_start + tick;
        if (next > t_end)
            next = t_end;
        bool at_switch = false;
        if (atomic_load(&p->phase) == PHASE_WARMUP && next > t_measure) {
            next = t_measure; /* switch phases on time, then resume the ticks */
            at_switch = true;
        }
        while (mqbench_now_s() < next && atomic_load(&p->senders_alive) > 0 && !interrupted)
            sleep_until(mqbench_now_s() + 0.05 < next ? mqbench_now_s() + 0.05 : next);
        double now = mqbench_now_s();
        if (atomic_load(&p->phase) == PHASE_WARMUP && now >= t_measure) {
            atomic_store(&p->phase, PHASE_MEASURE);
            t_measure = now;
        }
        if (at_switch && !interrupted && atomic_load(&p->senders_alive) > 0) {
            tick--;
            continue;
        }
        uint64_t ok = atomic_load(&p->shown_ok), fail = atomic_load(&p->shown_fail);
        uint64_t lat = atomic_load(&p->shown_lat_us), latn = atomic_load(&p->shown_lat_n);
        double dt = now - last_t > 1e-6 ? now - last_t : 1e-6;
        double tps = (double)(ok - last_ok) / dt;
        printf("[%6.1fs] sent=%llu tps=%.0f MB/s=%.1f failed=%llu avg_rt_ms=%.2f%s\n",
               now - t_start, (unsigned long long)ok, tps, tps * cfg->size / (1024.0 * 1024.0),
               (unsigned long long)fail,
               latn > last_latn ? (double)(lat - last_lat) / (double)(latn - last_latn) / 1000.0
                                : 0.0,
               atomic_load(&p->phase) == PHASE_WARMUP ? " (warmup)" : "");
        fflush(stdout);
        last_ok = ok;
        last_lat = lat;
        last_latn = latn;
        last_t = now;
        if (now >= t_end || atomic_load(&p->senders_alive) == 0 || interrupted)
            break;
    }
    atomic_store(&p->phase, PHASE_STOP);
    for (int i = 0; i < nworkers; i++)
        pthread_join(ws[i].tid, NULL);
    if (cfg->mode == MODE_ASYNC) {
        /* Every callback runs exactly once (answer, timeout or close). */
        double give_up = mqbench_now_s() + cfg->timeout_ms / 1000.0 + 5;
        while (atomic_load(&p->inflight) > 0 && mqbench_now_s() < give_up)
            usleep(1000);
        if (atomic_load(&p->inflight) > 0)
            fprintf(stderr, "mqbench: %lld requests still in flight after the timeout\n",
                    (long long)atomic_load(&p->inflight));
    }
    double elapsed = mqbench_now_s() - t_measure;
    print_summary(p, elapsed);
    bool any_ok = atomic_load(&p->ok_msgs) > 0;
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
