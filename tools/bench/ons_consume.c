/* SPDX-License-Identifier: Apache-2.0 */
/* ons_consume.c: `mqbench consume --client ons`, backlog drain through a
 * libons push consumer (ons_factory_create_consumer / subscribe / start).
 *
 * The listener only counts messages and body bytes and commits each one, so
 * the figure is the SDK's delivery rate: pulls, decoding, the hand-off to
 * ConsumeThreadNums (-w) consume threads and offset bookkeeping. With
 * --from-start the group's offsets are first committed at each queue's min
 * offset over the raw protocol (setup.c), so the consumer starts at the first
 * message whatever the group did before; without it a new group starts where
 * the broker says (docs/sdk.md). Delivery is at least once, so msgs counts
 * deliveries. Threads: listeners run on SDK threads (atomics only); the main
 * thread prints one line per second. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "ons_bench.h"

#include "common/clock.h"

struct ocons_cfg {
    const char *namesrv;
    const char *topic;
    const char *group;
    double duration_s;
    int64_t expect; /* 0 = the backlog found with --from-start, else none */
    int threads;    /* ConsumeThreadNums */
    bool from_start;
};

/* Shared by the listeners and the main thread. */
struct ocons {
    int64_t target; /* 0 = none; set before start, then read-only */
    int64_t t0_ns;  /* just before ons_consumer_start; read-only after */
    _Atomic uint64_t msgs;
    _Atomic uint64_t bytes;
    _Atomic int64_t first_ns; /* 0 until the first message */
    _Atomic int64_t done_ns;  /* 0 until msgs reached target */
};

static ons_action_t on_message(const ons_message_t *m, ons_consume_context_t *ctx, void *user)
{
    (void)ctx;
    struct ocons *c = user;
    size_t len = 0;
    ons_message_get_body(m, &len);
    atomic_fetch_add_explicit(&c->bytes, len, memory_order_relaxed);
    uint64_t n = atomic_fetch_add_explicit(&c->msgs, 1, memory_order_relaxed) + 1;
    if (n == 1) {
        int64_t zero = 0;
        atomic_compare_exchange_strong(&c->first_ns, &zero, clock_mono_ns());
    }
    if (c->target > 0 && n == (uint64_t)c->target)
        atomic_store(&c->done_ns, clock_mono_ns());
    return ONS_ACTION_COMMIT_MESSAGE;
}

static void usage(FILE *f)
{
    fputs("usage: mqbench consume --client ons -n NAMESRV -t TOPIC [options]\n"
          "  -n ADDR          name server host:port (default $NAMESRV_ADDR or 127.0.0.1:9876)\n"
          "  -t TOPIC         topic (default BenchmarkTest)\n"
          "  -g GROUP         consumer group (default mqbench_ons_consumer)\n"
          "  -w THREADS       ConsumeThreadNums of the push consumer (default 64)\n"
          "  -d SECONDS       stop after this long (default 60)\n"
          "  --from-start     commit the group's offsets at each queue's min offset first\n"
          "  --expect N       stop once N messages are delivered (default with --from-start:\n"
          "                   the backlog found)\n",
          f);
}

static void parse_opts(int argc, char **argv, struct ocons_cfg *c)
{
    enum { O_FROM_START = 256, O_EXPECT, O_CLIENT };
    static const struct option longs[] = {
        {"from-start", no_argument, NULL, O_FROM_START},
        {"expect", required_argument, NULL, O_EXPECT},
        {"client", required_argument, NULL, O_CLIENT}, /* ons: consume_main checked it */
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *c = (struct ocons_cfg){
        .namesrv = mqbench_default_namesrv(),
        .topic = "BenchmarkTest",
        .group = "mqbench_ons_consumer",
        .duration_s = 60,
        .threads = 64,
    };
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "n:t:g:d:w:h", longs, NULL)) != -1) {
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
        case 'w':
            c->threads = (int)mqbench_num("-w", optarg, 1, 1000);
            break;
        case O_FROM_START:
            c->from_start = true;
            break;
        case O_EXPECT:
            c->expect = mqbench_num("--expect", optarg, 1, INT64_MAX / 2);
            break;
        case O_CLIENT:
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

/* A started push consumer of cfg's group on cfg's topic, or NULL. */
static ons_consumer_t *start_consumer(const struct ocons_cfg *cfg, struct ocons *c)
{
    ons_properties_t *props = ons_bench_props(cfg->namesrv, cfg->group);
    char threads[16];
    snprintf(threads, sizeof threads, "%d", cfg->threads);
    ons_exception_t *ex = NULL;
    ons_consumer_t *oc = NULL;
    if (props && ons_properties_put(props, ONS_CONSUME_THREAD_NUMS, threads) == 0)
        oc = ons_factory_create_consumer(props, &ex);
    ons_properties_free(props);
    c->t0_ns = clock_mono_ns();
    if (oc == NULL || ons_consumer_subscribe(oc, cfg->topic, "*", on_message, c, &ex) != 0 ||
        ons_consumer_start(oc, &ex) != 0) {
        ons_bench_report("cannot start the ons consumer", ex, NULL);
        ons_exception_free(ex);
        ons_consumer_destroy(oc);
        return NULL;
    }
    return oc;
}

int ons_consume_main(int argc, char **argv)
{
    struct ocons_cfg cfg;
    parse_opts(argc, argv, &cfg);
    int64_t backlog = -1;
    if (cfg.from_start) {
        int rc = setup_group_offsets(cfg.namesrv, cfg.topic, cfg.group, false, 3000, &backlog);
        if (rc != TERN_OK) {
            fprintf(stderr, "mqbench: cannot place group %s at the start of %s: %s\n", cfg.group,
                    cfg.topic, tern_strerror(rc));
            return 1;
        }
        fprintf(stderr, "mqbench: group %s starts at the min offsets, backlog %lld\n", cfg.group,
                (long long)backlog);
    }
    struct ocons *c = calloc(1, sizeof *c);
    if (c == NULL)
        return 1;
    c->target = cfg.expect > 0 ? cfg.expect : backlog > 0 ? backlog : 0;
    mqbench_catch_signals();
    ons_consumer_t *oc = start_consumer(&cfg, c);
    if (oc == NULL) {
        free(c);
        return 1;
    }
    double t_start = (double)c->t0_ns / 1e9, t_end = t_start + cfg.duration_s;
    uint64_t last = 0;
    double last_t = t_start;
    for (int tick = 1; !mqbench_interrupted() && atomic_load(&c->done_ns) == 0; tick++) {
        double next = t_start + tick < t_end ? t_start + tick : t_end;
        while (mqbench_now_s() < next && atomic_load(&c->done_ns) == 0 && !mqbench_interrupted())
            usleep(10000);
        double now = mqbench_now_s();
        uint64_t n = atomic_load(&c->msgs);
        double tps = (double)(n - last) / (now - last_t > 1e-6 ? now - last_t : 1e-6);
        printf("[%6.1fs] recv=%llu tps=%.0f MB/s=%.1f left=%lld\n", now - t_start,
               (unsigned long long)n, tps,
               tps * (n ? (double)atomic_load(&c->bytes) / (double)n : 0) / (1024.0 * 1024.0),
               c->target > 0 && (int64_t)n < c->target ? (long long)(c->target - (int64_t)n) : 0LL);
        fflush(stdout);
        last = n;
        last_t = now;
        if (now >= t_end)
            break;
    }
    int64_t done = atomic_load(&c->done_ns), first = atomic_load(&c->first_ns);
    double elapsed = (double)((done ? done : clock_mono_ns()) - c->t0_ns) / 1e9;
    uint64_t msgs = atomic_load(&c->msgs), bytes = atomic_load(&c->bytes);
    ons_consumer_destroy(oc);
    uint64_t counted = done ? (uint64_t)c->target : msgs;
    double rate = elapsed > 0 ? (double)counted / elapsed : 0;
    double avg = msgs ? (double)bytes / (double)msgs : 0;
    char drain[32] = "na", firstms[32] = "na";
    if (done)
        snprintf(drain, sizeof drain, "%.0f", (double)(done - c->t0_ns) / 1e6);
    if (first)
        snprintf(firstms, sizeof firstms, "%.1f", (double)(first - c->t0_ns) / 1e6);
    printf("SUMMARY consume client=ons threads=%d msgs=%llu elapsed_s=%.2f msgs_per_s=%.0f "
           "mb_per_s=%.1f backlog=%lld target=%lld drain_ms=%s first_msg_ms=%s\n",
           cfg.threads, (unsigned long long)counted, elapsed, rate, rate * avg / (1024.0 * 1024.0),
           (long long)backlog, (long long)c->target, drain, firstms);
    fflush(stdout);
    bool ok = c->target > 0 ? done != 0 : msgs > 0;
    free(c);
    return ok ? 0 : 1;
}
