/* SPDX-License-Identifier: Apache-2.0 */
/* produce_opts.c: the options of `mqbench produce`, shared by the raw
 * protocol producer (produce.c) and the libons producer (ons_produce.c), so
 * both take the same command line. Runs on the main thread only. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#include "common/limits.h"

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
          "  --rocketmq-header  ROCKETMQ binary headers instead of JSON\n"
          "  --client C         raw (remoting protocol, default) | ons (libons producer)\n"
          "  --cpu-pid PID      also report PID's CPU time per message (a broker on this host)\n",
          f);
}

void produce_parse_opts(int argc, char **argv, struct prod_cfg *c)
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
        O_CLIENT,
        O_CPU_PID,
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
        {"client", required_argument, NULL, O_CLIENT},
        {"cpu-pid", required_argument, NULL, O_CPU_PID},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *c = (struct prod_cfg){
        .namesrv = mqbench_default_namesrv(),
        .topic = "BenchmarkTest",
        .group = "mqbench_producer",
        .size = 1024,
        .threads = 64,
        .inflight = 1024,
        .queues = 8,
        .timeout_ms = 3000,
        .mode = PROD_SYNC,
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
                c->mode = PROD_SYNC;
            else if (strcmp(optarg, "async") == 0)
                c->mode = PROD_ASYNC;
            else if (strcmp(optarg, "oneway") == 0)
                c->mode = PROD_ONEWAY;
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
        case O_CLIENT:
            c->client = mqbench_client_name(optarg);
            break;
        case O_CPU_PID:
            c->cpu_pid = (int)mqbench_num("--cpu-pid", optarg, 1, INT32_MAX);
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
    if (c->client == CLIENT_ONS && c->batch > 0) {
        fprintf(stderr, "mqbench: --batch needs --client raw: libons has no batch send\n");
        exit(2);
    }
    if (c->client == CLIENT_ONS && c->rocketmq_header) {
        fprintf(stderr,
                "mqbench: --rocketmq-header needs --client raw: libons chooses its headers\n");
        exit(2);
    }
    if (c->conns == 0)
        c->conns = c->mode == PROD_SYNC ? (c->threads + 15) / 16 : 2;
    if (c->mode == PROD_SYNC && c->conns > c->threads)
        c->conns = c->threads;
}

const char *produce_mode_name(enum prod_mode m)
{
    return m == PROD_SYNC ? "sync" : m == PROD_ASYNC ? "async" : "oneway";
}
