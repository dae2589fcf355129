/* SPDX-License-Identifier: Apache-2.0 */
/* consume.c: `mqbench consume`, a pull-based drain of every queue of a topic,
 * measuring backlog catch-up (how fast a consumer that fell behind gets back).
 *
 * Each readable queue is pulled with PULL_MESSAGE (11): sysFlag SUBSCRIPTION
 * only (subscription "*", so no heartbeat is needed and nothing is committed),
 * never SUSPEND, so an empty queue answers at once. Several pulls are in flight
 * per queue (--window): the queue's offsets are cut into disjoint ranges
 * [start, start+len) with maxMsgNums = len; a range answered short leaves a
 * "hole" (the unread rest) that is pulled again, so every message is counted
 * once even though responses arrive out of order. A range at or past the last
 * known maxOffset that finds nothing is retried after a short back-off.
 *
 * Threads: the dispatcher thread issues pulls; callbacks on the rclient loop
 * threads decode the records (msg_decode) and update the queue state; all
 * queue state is guarded by cons.mu. The main thread prints one line per
 * second. */
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
#include "protocol/codes.h"
#include "protocol/message.h"

#define PULL_TIMEOUT_MS     30000
#define NOT_FOUND_BACKOFF   (5 * 1000 * 1000)   /* ns before re-pulling an empty range */
#define ERROR_BACKOFF       (100 * 1000 * 1000) /* ns after an error answer */
#define MAX_ISSUE_PER_ROUND 256

struct cons_cfg {
    const char *namesrv;
    const char *topic;
    const char *group;
    double duration_s;
    int64_t expect; /* 0 = none */
    int window;     /* pulls in flight per queue */
    int max_msgs;   /* maxMsgNums per pull */
    int conns;
    bool from_start;
};

/* A slice of a queue still to be read. */
struct range {
    int64_t start; /* queue_off */
    int len;
    int64_t ready_ns; /* not to be pulled before this time */
};

/* State of one queue; guarded by cons.mu. */
struct cq {
    const struct bench_queue *bq; /* borrowed from cons.route */
    struct rclient *rc;           /* borrowed from cons.rcs */
    int64_t next_off;             /* first offset not covered by any range yet */
    int64_t max_off;              /* last maxOffset the broker reported */
    struct range *holes;          /* owned: ranges to pull again */
    size_t nholes, cap;
    int inflight;
};

struct cons {
    struct cons_cfg cfg;
    struct bench_route route;
    struct rclient **rcs; /* owned, cfg.conns */
    struct cq *qs;        /* owned, route.n */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int64_t t0_ns;  /* first pull */
    int64_t target; /* expect, or the backlog at start; 0 = none */
    _Atomic bool stop;
    _Atomic int64_t target_ns; /* when msgs first reached target; 0 = not yet */
    _Atomic uint64_t msgs;
    _Atomic uint64_t bytes; /* message bodies */
    _Atomic uint64_t wire_bytes;
    _Atomic uint64_t pulls;
    _Atomic uint64_t empty_pulls;
    _Atomic uint64_t errors;
    _Atomic bool warned;
    struct tally tally; /* answers other than SUCCESS/PULL_NOT_FOUND/RETRY */
    struct hist rtt;    /* pull round trips, us */
};

struct pull_ctx {
    struct cons *c;
    struct cq *q;
    int64_t start;
    int len;
    int64_t t0_ns;
};

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

/* ---- queue state (cons.mu held) ----------------------------------------- */

static void add_hole(struct cq *q, int64_t start, int len, int64_t ready_ns)
{
    if (len <= 0)
        return;
    if (q->nholes == q->cap) {
        q->cap = q->cap ? q->cap * 2 : 8;
        q->holes = xrealloc(q->holes, q->cap * sizeof *q->holes);
    }
    q->holes[q->nholes++] = (struct range){start, len, ready_ns};
}

/* Picks the next range of q to pull, or returns false. */
static bool next_range(struct cons *c, struct cq *q, int64_t now, struct range *out)
{
    if (q->inflight >= c->cfg.window)
        return false;
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < q->nholes; i++)
        if (q->holes[i].ready_ns <= now &&
            (best == SIZE_MAX || q->holes[i].start < q->holes[best].start))
            best = i;
    if (best != SIZE_MAX) {
        *out = q->holes[best];
        q->holes[best] = q->holes[--q->nholes];
        return true;
    }
    int64_t len = c->cfg.max_msgs;
    if (q->next_off < q->max_off) {
        if (q->max_off - q->next_off < len)
            len = q->max_off - q->next_off;
    } else if (q->inflight > 0 || q->nholes > 0) {
        return false; /* caught up: one probe at a time */
    }
    *out = (struct range){q->next_off, (int)len, now};
    q->next_off += len;
    return true;
}

static int64_t earliest_hole(const struct cons *c)
{
    int64_t t = INT64_MAX;
    for (size_t i = 0; i < c->route.n; i++)
        for (size_t k = 0; k < c->qs[i].nholes; k++)
            if (c->qs[i].holes[k].ready_ns < t)
                t = c->qs[i].holes[k].ready_ns;
    return t;
}

/* ---- pulls ----------------------------------------------------------------- */

/* Counts the records of body with queue offsets start, start+1, ... in a row.
 * OUT: *bytes gets their body bytes. */
static int count_records(tern_bytes_t body, int64_t start, int len, uint64_t *bytes)
{
    size_t pos = 0;
    int64_t expect = start;
    *bytes = 0;
    while (pos < body.len) {
        struct msg_record m;
        int rc = msg_decode(body.ptr + pos, body.len - pos, &m);
        if (rc != TERN_OK || m.total_size <= 0)
            break;
        if (m.queue_off == expect && expect < start + len) {
            expect++;
            *bytes += m.body.len;
        }
        pos += (size_t)m.total_size;
    }
    return (int)(expect - start);
}

static void finish_pull(struct cons *c, struct pull_ctx *pc, int err, struct rcmd *resp)
{
    int64_t now = clock_mono_ns();
    struct cq *q = pc->q;
    int got = 0;
    uint64_t body_bytes = 0;
    int64_t nb = -1, maxo = -1;
    int32_t code = err == TERN_OK && resp ? resp->code : -1;
    atomic_fetch_add(&c->pulls, 1);
    if (err == TERN_OK && resp) {
        hist_record(&c->rtt, (uint64_t)(now - pc->t0_ns) / 1000);
        rcmd_get_i64(resp, "nextBeginOffset", &nb);
        rcmd_get_i64(resp, "maxOffset", &maxo);
        if (code == RESP_SUCCESS) {
            got = count_records(resp->body, pc->start, pc->len, &body_bytes);
            atomic_fetch_add(&c->wire_bytes, resp->body.len);
        }
    }
    if (code != RESP_SUCCESS && code != RESP_PULL_NOT_FOUND &&
        code != RESP_PULL_RETRY_IMMEDIATELY && code != RESP_PULL_OFFSET_MOVED) {
        atomic_fetch_add(&c->errors, 1);
        tally_add(&c->tally, err, code);
        if (!atomic_exchange(&c->warned, true)) {
            const char *nm = resp_code_name(code);
            fprintf(stderr, "mqbench: pull %s:%d@%lld failed: %s code=%d %s remark=%.*s\n",
                    q->bq->broker, q->bq->queue_id, (long long)pc->start, tern_strerror(err), code,
                    nm ? nm : "", resp && resp->has_remark ? (int)resp->remark.len : 0,
                    resp && resp->has_remark ? (const char *)resp->remark.ptr : "");
        }
    }
    if (got > 0) {
        uint64_t total = atomic_fetch_add(&c->msgs, (uint64_t)got) + (uint64_t)got;
        atomic_fetch_add(&c->bytes, body_bytes);
        if (c->target > 0 && total >= (uint64_t)c->target) {
            int64_t zero = 0;
            atomic_compare_exchange_strong(&c->target_ns, &zero, now);
            if (c->cfg.expect > 0)
                atomic_store(&c->stop, true);
        }
    } else if (code == RESP_SUCCESS || code == RESP_PULL_NOT_FOUND) {
        atomic_fetch_add(&c->empty_pulls, 1);
    }

    pthread_mutex_lock(&c->mu);
    q->inflight--;
    if (maxo > q->max_off)
        q->max_off = maxo;
    int64_t end = pc->start + pc->len;
    int64_t rest = pc->start + got;
    switch (code) {
    case RESP_SUCCESS:
        /* Records skipped by the broker (nextBeginOffset past them) are gone. */
        if (got == 0 && nb > rest)
            rest = nb < end ? nb : end;
        add_hole(q, rest, (int)(end - rest), got > 0 ? now : now + NOT_FOUND_BACKOFF);
        break;
    case RESP_PULL_NOT_FOUND:
        add_hole(q, pc->start, pc->len, now + NOT_FOUND_BACKOFF);
        break;
    case RESP_PULL_RETRY_IMMEDIATELY:
        add_hole(q, pc->start, pc->len, now);
        break;
    case RESP_PULL_OFFSET_MOVED:
        /* The range starts below minOffset (or past maxOffset): jump. */
        if (nb > pc->start && nb < end)
            add_hole(q, nb, (int)(end - nb), now);
        if (nb >= 0 && (nb > q->next_off || nb < pc->start))
            q->next_off = nb;
        break;
    default:
        add_hole(q, pc->start, pc->len, now + ERROR_BACKOFF);
        break;
    }
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    free(pc);
}

static void on_pull(void *arg, int err, struct rcmd *resp)
{
    struct pull_ctx *pc = arg;
    finish_pull(pc->c, pc, err, resp);
}

static void issue_pull(struct cons *c, struct cq *q, const struct range *r)
{
    struct pull_ctx *pc = xmalloc(sizeof *pc);
    *pc = (struct pull_ctx){c, q, r->start, r->len, clock_mono_ns()};
    struct rcmd cmd;
    rcmd_init(&cmd);
    cmd.code = RC_PULL_MESSAGE;
    rcmd_add_cstr(&cmd, "consumerGroup", c->cfg.group);
    rcmd_add_cstr(&cmd, "topic", c->cfg.topic);
    rcmd_add_i64(&cmd, "queueId", q->bq->queue_id);
    rcmd_add_i64(&cmd, "queueOffset", r->start);
    rcmd_add_i64(&cmd, "maxMsgNums", r->len);
    rcmd_add_i64(&cmd, "sysFlag", 4); /* SUBSCRIPTION; no SUSPEND, no COMMIT_OFFSET */
    rcmd_add_i64(&cmd, "commitOffset", 0);
    rcmd_add_i64(&cmd, "suspendTimeoutMillis", 15000);
    rcmd_add_cstr(&cmd, "subscription", "*");
    rcmd_add_i64(&cmd, "subVersion", clock_wall_ms());
    rcmd_add_cstr(&cmd, "expressionType", "TAG");
    int rc = rclient_call(q->rc, q->bq->addr, &cmd, PULL_TIMEOUT_MS, on_pull, pc);
    rcmd_deinit(&cmd);
    if (rc != TERN_OK)
        finish_pull(c, pc, rc, NULL);
}

static void *dispatcher(void *arg)
{
    struct cons *c = arg;
    struct {
        struct cq *q;
        struct range r;
    } batch[MAX_ISSUE_PER_ROUND];
    pthread_mutex_lock(&c->mu);
    while (!atomic_load(&c->stop)) {
        int64_t now = clock_mono_ns();
        size_t n = 0;
        /* Round-robin one range per queue per pass so queues share the window. */
        bool more = true;
        while (more && n < MAX_ISSUE_PER_ROUND) {
            more = false;
            for (size_t i = 0; i < c->route.n && n < MAX_ISSUE_PER_ROUND; i++) {
                struct cq *q = &c->qs[i];
                if (next_range(c, q, now, &batch[n].r)) {
                    q->inflight++;
                    batch[n++].q = q;
                    more = true;
                }
            }
        }
        if (n > 0) {
            pthread_mutex_unlock(&c->mu);
            for (size_t i = 0; i < n; i++)
                issue_pull(c, batch[i].q, &batch[i].r);
            pthread_mutex_lock(&c->mu);
            continue;
        }
        int64_t wake = earliest_hole(c);
        int64_t cap = now + 50 * 1000 * 1000;
        if (wake > cap)
            wake = cap;
        /* cond waits use CLOCK_REALTIME; convert the relative wait. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t ns = (int64_t)ts.tv_nsec + (wake > now ? wake - now : 0);
        ts.tv_sec += ns / 1000000000;
        ts.tv_nsec = ns % 1000000000;
        pthread_cond_timedwait(&c->cv, &c->mu, &ts);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

/* ---- options and main -------------------------------------------------------- */

static void consume_usage(FILE *f)
{
    fputs("usage: mqbench consume -n NAMESRV -t TOPIC [options]\n"
          "  -n ADDR          name server host:port (default $NAMESRV_ADDR or 127.0.0.1:9876)\n"
          "  -t TOPIC         topic (default BenchmarkTest)\n"
          "  -g GROUP         consumer group (default mqbench_consumer)\n"
          "  -d SECONDS       stop after this long (default 60)\n"
          "  --from-start     start at each queue's min offset (default: its max offset)\n"
          "  --expect N       stop once N messages are counted; report the drain time\n"
          "  --window N       pulls in flight per queue (default 4)\n"
          "  --max-msgs N     maxMsgNums per pull (default 32)\n"
          "  --conns N        connections, queues spread over them (default 1)\n"
          "  --client C       raw (default) | ons: a libons push consumer (see --client ons "
          "--help)\n",
          f);
}

static void parse_opts(int argc, char **argv, struct cons_cfg *c)
{
    enum { O_FROM_START = 256, O_EXPECT, O_WINDOW, O_MAXMSGS, O_CONNS, O_CLIENT };
    static const struct option longs[] = {
        {"from-start", no_argument, NULL, O_FROM_START},
        {"expect", required_argument, NULL, O_EXPECT},
        {"window", required_argument, NULL, O_WINDOW},
        {"max-msgs", required_argument, NULL, O_MAXMSGS},
        {"conns", required_argument, NULL, O_CONNS},
        {"client", required_argument, NULL, O_CLIENT}, /* raw here: consume_main sends ons away */
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *c = (struct cons_cfg){
        .namesrv = mqbench_default_namesrv(),
        .topic = "BenchmarkTest",
        .group = "mqbench_consumer",
        .duration_s = 60,
        .window = 4,
        .max_msgs = 32,
        .conns = 1,
    };
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "n:t:g:d:h", longs, NULL)) != -1) {
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
        case 'd':
            c->duration_s = mqbench_seconds("-d", optarg);
            break;
        case O_FROM_START:
            c->from_start = true;
            break;
        case O_EXPECT:
            c->expect = mqbench_num("--expect", optarg, 1, INT64_MAX / 2);
            break;
        case O_WINDOW:
            c->window = (int)mqbench_num("--window", optarg, 1, 1024);
            break;
        case O_MAXMSGS:
            c->max_msgs = (int)mqbench_num("--max-msgs", optarg, 1, 1024);
            break;
        case O_CONNS:
            c->conns = (int)mqbench_num("--conns", optarg, 1, 256);
            break;
        case O_CLIENT:
            break;
        case 'h':
            consume_usage(stdout);
            exit(0);
        default:
            consume_usage(stderr);
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

static int total_inflight(struct cons *c)
{
    int n = 0;
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->route.n; i++)
        n += c->qs[i].inflight;
    pthread_mutex_unlock(&c->mu);
    return n;
}

int consume_main(int argc, char **argv)
{
    if (mqbench_client_arg(argc, argv) == CLIENT_ONS)
        return ons_consume_main(argc, argv);
    struct cons *c = xcalloc(1, sizeof *c);
    parse_opts(argc, argv, &c->cfg);
    struct cons_cfg *cfg = &c->cfg;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    tally_init(&c->tally);
    hist_init(&c->rtt);

    c->rcs = xcalloc((size_t)cfg->conns, sizeof *c->rcs);
    struct rclient_opts ro = {0};
    for (int i = 0; i < cfg->conns; i++) {
        int rc = rclient_new(&ro, &c->rcs[i]);
        if (rc != TERN_OK) {
            fprintf(stderr, "mqbench: rclient_new: %s\n", tern_strerror(rc));
            return 1;
        }
    }
    int32_t code = -1;
    int rc = route_fetch(c->rcs[0], cfg->namesrv, cfg->topic, false, 3000, &c->route, &code);
    if (rc != TERN_OK) {
        fprintf(stderr, "mqbench: no readable route for %s from %s: %s (code %d)\n", cfg->topic,
                cfg->namesrv, tern_strerror(rc), code);
        return 1;
    }
    c->qs = xcalloc(c->route.n, sizeof *c->qs);
    int64_t backlog = 0;
    for (size_t i = 0; i < c->route.n; i++) {
        struct cq *q = &c->qs[i];
        q->bq = &c->route.q[i];
        q->rc = c->rcs[i % (size_t)cfg->conns];
        int64_t maxo = 0, mino = 0;
        rc = route_queue_offset(q->rc, q->bq, cfg->topic, true, 3000, &maxo);
        if (rc == TERN_OK && cfg->from_start)
            rc = route_queue_offset(q->rc, q->bq, cfg->topic, false, 3000, &mino);
        if (rc != TERN_OK) {
            fprintf(stderr, "mqbench: offsets of %s:%d: %s\n", q->bq->broker, q->bq->queue_id,
                    tern_strerror(rc));
            return 1;
        }
        q->next_off = cfg->from_start ? mino : maxo;
        q->max_off = maxo;
        backlog += maxo - q->next_off;
    }
    c->target = cfg->expect > 0 ? cfg->expect : backlog;
    fprintf(stderr, "mqbench: topic %s: %zu readable queues, backlog %lld from %s offsets\n",
            cfg->topic, c->route.n, (long long)backlog, cfg->from_start ? "min" : "max");

    signal(SIGINT, on_sigint);
    signal(SIGTERM, on_sigint);
    c->t0_ns = clock_mono_ns();
    double t_start = mqbench_now_s();
    double t_end = t_start + cfg->duration_s;
    pthread_t tid;
    if (pthread_create(&tid, NULL, dispatcher, c) != 0) {
        fprintf(stderr, "mqbench: pthread_create failed\n");
        return 1;
    }
    uint64_t last = 0, last_bytes = 0;
    double last_t = t_start;
    for (int tick = 1;; tick++) {
        double next = t_start + tick < t_end ? t_start + tick : t_end;
        while (mqbench_now_s() < next && !atomic_load(&c->stop) && !interrupted)
            usleep(20 * 1000);
        double now = mqbench_now_s();
        uint64_t m = atomic_load(&c->msgs), b = atomic_load(&c->bytes);
        double dt = now - last_t > 1e-6 ? now - last_t : 1e-6;
        double tps = (double)(m - last) / dt;
        printf("[%6.1fs] recv=%llu tps=%.0f MB/s=%.1f", now - t_start, (unsigned long long)m, tps,
               (double)(b - last_bytes) / (1024.0 * 1024.0) / dt);
        if (c->target > 0)
            printf(" left=%lld", (long long)(c->target - (int64_t)m));
        printf(" errors=%llu\n", (unsigned long long)atomic_load(&c->errors));
        fflush(stdout);
        last = m;
        last_bytes = b;
        last_t = now;
        if (now >= t_end || atomic_load(&c->stop) || interrupted)
            break;
    }
    atomic_store(&c->stop, true);
    pthread_mutex_lock(&c->mu);
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    pthread_join(tid, NULL);
    int64_t stop_ns = clock_mono_ns();
    for (int i = 0; i < 2000 && total_inflight(c) > 0; i++)
        usleep(1000);

    int64_t tgt_ns = atomic_load(&c->target_ns);
    int64_t end_ns = tgt_ns && cfg->expect > 0 ? tgt_ns : stop_ns;
    double elapsed = (double)(end_ns - c->t0_ns) / 1e9;
    uint64_t msgs = atomic_load(&c->msgs);
    double rate = elapsed > 0 ? (double)msgs / elapsed : 0;
    double mbps = elapsed > 0 ? (double)atomic_load(&c->bytes) / elapsed / (1024.0 * 1024.0) : 0;
    char drain[32] = "na", drain_rate[32] = "na";
    if (tgt_ns) {
        double drain_s = (double)(tgt_ns - c->t0_ns) / 1e9;
        snprintf(drain, sizeof drain, "%.0f", drain_s * 1e3);
        snprintf(drain_rate, sizeof drain_rate, "%.0f",
                 drain_s > 0 ? (double)c->target / drain_s : 0.0);
    }
    char errs[1024];
    tally_format(&c->tally, false, errs, sizeof errs);
    printf("SUMMARY consume queues=%zu window=%d max_msgs=%d msgs=%llu elapsed_s=%.2f "
           "msgs_per_s=%.0f mb_per_s=%.1f backlog=%lld target=%lld drain_ms=%s drain_msgs_per_s=%s "
           "pulls=%llu "
           "empty_pulls=%llu pull_p50_us=%llu pull_p99_us=%llu pull_max_us=%llu errors=%llu "
           "failures=%s\n",
           c->route.n, cfg->window, cfg->max_msgs, (unsigned long long)msgs, elapsed, rate, mbps,
           (long long)backlog, (long long)c->target, drain, drain_rate,
           (unsigned long long)atomic_load(&c->pulls),
           (unsigned long long)atomic_load(&c->empty_pulls),
           (unsigned long long)hist_quantile(&c->rtt, 0.5),
           (unsigned long long)hist_quantile(&c->rtt, 0.99),
           (unsigned long long)atomic_load(&c->rtt.max_us),
           (unsigned long long)atomic_load(&c->errors), errs);
    fflush(stdout);
    bool ok = cfg->expect > 0 ? tgt_ns != 0 : true;

    for (int i = 0; i < cfg->conns; i++)
        rclient_free(c->rcs[i]);
    for (size_t i = 0; i < c->route.n; i++)
        free(c->qs[i].holes);
    free(c->qs);
    free(c->rcs);
    route_free(&c->route);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
    return ok ? 0 : 1;
}
