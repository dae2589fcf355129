/* SPDX-License-Identifier: Apache-2.0 */
/* mqbench.c: entry point of the mqbench load tool and its option helpers.
 *
 *   mqbench produce -n NAMESRV -t TOPIC [...]   (produce.c)
 *   mqbench consume -n NAMESRV -t TOPIC [...]   (consume.c)
 *   mqbench startup --bin PATH [...] -- ARGS... (startup.c)
 *   mqbench e2e -n NAMESRV -t TOPIC [...]       (e2e.c)
 *   mqbench api --ak AK --sk SK [...]           (api.c: the Open API)
 * produce and consume take --client raw (default: the remoting layer) or
 * --client ons (libons: ons_produce.c, ons_consume.c).
 *
 * See tools/bench/README.md for every option and how to read the output. */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_bench.h"
#include "bench.h"

#include "common/clock.h"

int64_t mqbench_num(const char *opt, const char *s, int64_t min, int64_t max)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s)
        goto bad;
    int64_t mult = 1;
    if (*end == 'k' || *end == 'K')
        mult = 1000;
    else if (*end == 'm' || *end == 'M')
        mult = 1000000;
    else if (*end == 'g' || *end == 'G')
        mult = 1000000000;
    if (mult != 1)
        end++;
    if (*end != '\0' || v < 0 || v > INT64_MAX / mult)
        goto bad;
    v *= mult;
    if (v < min || v > max)
        goto bad;
    return v;
bad:
    fprintf(stderr, "mqbench: bad value for %s: '%s' (want %lld..%lld)\n", opt, s, (long long)min,
            (long long)max);
    exit(2);
}

const char *mqbench_default_namesrv(void)
{
    const char *env = getenv("NAMESRV_ADDR");
    return env && *env ? env : "127.0.0.1:9876";
}

double mqbench_seconds(const char *opt, const char *s)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(v >= 0) || v > 86400.0 * 365) {
        fprintf(stderr, "mqbench: bad number of seconds for %s: '%s'\n", opt, s);
        exit(2);
    }
    return v;
}

double mqbench_now_s(void)
{
    return (double)clock_mono_ns() / 1e9;
}

enum bench_client mqbench_client_name(const char *s)
{
    if (strcmp(s, "raw") == 0)
        return CLIENT_RAW;
    if (strcmp(s, "ons") == 0)
        return CLIENT_ONS;
    fprintf(stderr, "mqbench: --client must be raw or ons, not '%s'\n", s);
    exit(2);
}

enum bench_client mqbench_client_arg(int argc, char **argv)
{
    enum bench_client c = CLIENT_RAW;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "--client") == 0 && i + 1 < argc)
            c = mqbench_client_name(argv[++i]);
        else if (strncmp(argv[i], "--client=", 9) == 0)
            c = mqbench_client_name(argv[i] + 9);
    }
    return c;
}

/* The one piece of process-wide mutable state: a signal handler can reach
 * nothing else. */
static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

void mqbench_catch_signals(void)
{
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
}

bool mqbench_interrupted(void)
{
    return interrupted != 0;
}

void mqbench_format_key(char *out, int idx, uint64_t seq)
{
    char tmp[MQBENCH_KEY_MAX];
    char *e = tmp + sizeof tmp, *q = e;
    uint64_t v = seq;
    do {
        *--q = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    *--q = '-';
    v = idx < 0 ? 0 : (uint64_t)idx;
    do {
        *--q = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    static const char prefix[] = "mqbench-";
    size_t n = (size_t)(e - q);
    memcpy(out, prefix, sizeof prefix - 1);
    memcpy(out + sizeof prefix - 1, q, n);
    out[sizeof prefix - 1 + n] = '\0';
}

void mqbench_fill_body(uint8_t *body, size_t n)
{
    static const char alnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    uint64_t x = (uint64_t)clock_mono_ns() | 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        body[i] = (uint8_t)alnum[x % (sizeof alnum - 1)];
    }
}

static void usage(FILE *f)
{
    fputs("usage: mqbench produce -n NAMESRV -t TOPIC [-s SIZE] [-w THREADS]\n"
          "                       [--mode sync|async|oneway] [--inflight N] [--batch N]\n"
          "                       [-d SECONDS] [--count N] [-q QUEUES] [--create] [-b ADDR]\n"
          "                       [--warmup SECONDS] [--conns N] [--timeout-ms MS]\n"
          "                       [--client raw|ons]\n"
          "       mqbench consume -n NAMESRV -t TOPIC [-g GROUP] [-d SECONDS] [--from-start]\n"
          "                       [--expect N] [--window N] [--max-msgs N] [--conns N]\n"
          "       mqbench consume --client ons -n NAMESRV -t TOPIC [-g GROUP] [-w THREADS]\n"
          "                       [--from-start] [--expect N] [-d SECONDS]\n"
          "       mqbench e2e -n NAMESRV -t TOPIC [--rate N] [-s SIZE] [-d SECONDS]\n"
          "                       [--warmup SECONDS] [-w THREADS] [--send async|oneway]\n"
          "       mqbench api --ak AK --sk SK [--url HOST:PORT] [-c CONNS] [-d SECONDS]\n"
          "                       [--endpoints LIST] [--instance ID --topic T]\n"
          "       mqbench startup --bin PATH [--port PORT] [--ns-port PORT] [--rss SECONDS]\n"
          "                       [--timeout-ms MS] [--log FILE] -- BROKER-ARGS...\n"
          "Run 'mqbench SUBCOMMAND --help' for the options of one subcommand;\n"
          "tools/bench/README.md explains the output.\n",
          f);
}

int main(int argc, char **argv)
{
    /* A broker going away must surface as a failed call, not kill us. */
    signal(SIGPIPE, SIG_IGN);
    /* Frames of 1-4 KiB are allocated and freed per request; without a large
     * trim threshold and top pad the heap shrinks and grows all the time
     * (sysmalloc/trim showed in profiles). */
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    mallopt(M_TOP_PAD, 16 << 20);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "produce") == 0)
        return produce_main(argc - 1, argv + 1);
    if (strcmp(sub, "consume") == 0)
        return consume_main(argc - 1, argv + 1);
    if (strcmp(sub, "startup") == 0)
        return startup_main(argc - 1, argv + 1);
    if (strcmp(sub, "e2e") == 0)
        return e2e_main(argc - 1, argv + 1);
    if (strcmp(sub, "api") == 0)
        return api_main(argc - 1, argv + 1);
    if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0 || strcmp(sub, "help") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "mqbench: unknown subcommand '%s'\n", sub);
    usage(stderr);
    return 2;
}
