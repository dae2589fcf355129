/* SPDX-License-Identifier: Apache-2.0 */
/* api.c: `mqbench api`, a load test of the management Open API: N
 * keep-alive HTTP/1.1 connections, each signing every request as
 * spec/open-api.md §2.4 says, rotating through the cheap read endpoints for
 * D seconds. Reports requests/s, failures (HTTP status other than 200, or an
 * envelope without "success":true, or I/O) and latency quantiles, overall
 * and per endpoint. Without --instance it first creates an instance, a topic
 * and a group through the API (setup). See api_bench.h and
 * tools/bench/README.md. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api_bench.h"

static void usage(FILE *f)
{
    fputs("usage: mqbench api --ak ACCESS_KEY --sk SECRET_KEY [--url HOST:PORT=127.0.0.1:8080]\n"
          "                   [-c CONNS=50] [-w THREADS=2] [-d SECONDS=10] [--warmup SECONDS=1]\n"
          "                   [--endpoints LIST] [--region ID] [--timeout-ms MS=10000]\n"
          "                   [--instance ID --topic T --group G] [--cluster NAME]\n"
          "                   [--rate REQS_PER_S]\n"
          "LIST: comma-separated of region/list, instance/list, topic/get, topic/listNames,\n"
          "group/list, instance/baseInfo (default: all). Without --instance an instance,\n"
          "a topic and a group are created first (in --cluster, default the first listed).\n"
          "--rate paces all connections together (open loop; latency from the scheduled\n"
          "time); without it each connection sends its next request on the answer.\n"
          "--ak/--sk default to $TERN_OPENAPI_AK / $TERN_OPENAPI_SK.\n",
          f);
}

static void parse_endpoints(struct api_cfg *c, const char *list)
{
    memset(c->eps, 0, sizeof c->eps);
    char *copy = strdup(list);
    char *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        int found = -1;
        for (int e = 0; e < EP_COUNT; e++)
            if (strcmp(API_EP_PATHS[e] + strlen("/json/"), t) == 0 ||
                strcmp(API_EP_PATHS[e], t) == 0)
                found = e;
        if (found < 0) {
            fprintf(stderr, "mqbench api: unknown endpoint '%s'\n", t);
            exit(2);
        }
        c->eps[found] = true;
    }
    free(copy);
}

static void parse_opts(int argc, char **argv, struct api_cfg *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->host, sizeof c->host, "127.0.0.1");
    c->port = 8080;
    c->access_key = getenv("TERN_OPENAPI_AK");
    c->secret_key = getenv("TERN_OPENAPI_SK");
    c->conns = 50;
    c->threads = 2;
    c->timeout_ms = 10000;
    c->duration_s = 10;
    c->warmup_s = 1;
    for (int e = 0; e < EP_COUNT; e++)
        c->eps[e] = true;
    enum {
        O_AK = 256,
        O_SK,
        O_URL,
        O_WARM,
        O_EPS,
        O_REGION,
        O_TMO,
        O_INST,
        O_TOPIC,
        O_GROUP,
        O_CL,
        O_RATE
    };
    static const struct option longs[] = {
        {"ak", required_argument, NULL, O_AK},
        {"sk", required_argument, NULL, O_SK},
        {"url", required_argument, NULL, O_URL},
        {"warmup", required_argument, NULL, O_WARM},
        {"endpoints", required_argument, NULL, O_EPS},
        {"region", required_argument, NULL, O_REGION},
        {"timeout-ms", required_argument, NULL, O_TMO},
        {"instance", required_argument, NULL, O_INST},
        {"topic", required_argument, NULL, O_TOPIC},
        {"group", required_argument, NULL, O_GROUP},
        {"cluster", required_argument, NULL, O_CL},
        {"rate", required_argument, NULL, O_RATE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "c:w:d:h", longs, NULL)) != -1) {
        switch (opt) {
        case 'c':
            c->conns = (int)mqbench_num("-c", optarg, 1, 60000);
            break;
        case 'w':
            c->threads = (int)mqbench_num("-w", optarg, 1, 256);
            break;
        case 'd':
            c->duration_s = mqbench_seconds("-d", optarg);
            break;
        case O_AK:
            c->access_key = optarg;
            break;
        case O_SK:
            c->secret_key = optarg;
            break;
        case O_URL: {
            const char *colon = strrchr(optarg, ':');
            size_t hl = colon ? (size_t)(colon - optarg) : strlen(optarg);
            if (hl == 0 || hl >= sizeof c->host) {
                fprintf(stderr, "mqbench api: bad --url '%s' (want IP:PORT)\n", optarg);
                exit(2);
            }
            memcpy(c->host, optarg, hl);
            c->host[hl] = '\0';
            if (colon)
                c->port = (int)mqbench_num("--url port", colon + 1, 1, 65535);
            break;
        }
        case O_WARM:
            c->warmup_s = mqbench_seconds("--warmup", optarg);
            break;
        case O_EPS:
            parse_endpoints(c, optarg);
            break;
        case O_REGION:
            c->region = optarg;
            break;
        case O_TMO:
            c->timeout_ms = (int)mqbench_num("--timeout-ms", optarg, 1, 600000);
            break;
        case O_INST:
            c->instance = optarg;
            break;
        case O_TOPIC:
            c->topic = optarg;
            break;
        case O_GROUP:
            c->group = optarg;
            break;
        case O_CL:
            c->cluster = optarg;
            break;
        case O_RATE:
            c->rate = (double)mqbench_num("--rate", optarg, 1, 10000000);
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            exit(2);
        }
    }
    if (optind < argc || !c->access_key || !c->secret_key) {
        usage(stderr);
        exit(2);
    }
    if (c->instance && !c->topic) {
        fprintf(stderr, "mqbench api: --instance needs --topic (for topic/get)\n");
        exit(2);
    }
}

/* The string value of "key":"..." in json (no escapes expected), or NULL. */
static char *json_str(const char *json, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *p = strstr(json, pat);
    if (!p)
        return NULL;
    p += strlen(pat);
    const char *e = strchr(p, '"');
    return e ? strndup(p, (size_t)(e - p)) : NULL;
}

/* One setup call that must succeed; OUT: body. */
static int setup_call(const struct api_cfg *c, const char *path, const struct api_kv *kv, size_t n,
                      buf_t *body)
{
    buf_reset(body);
    int status = api_call_blocking(c, path, kv, n, body);
    if (status != 200 || !api_body_success((const char *)body->data, body->len)) {
        fprintf(stderr, "mqbench api: setup %s failed: HTTP %d %s\n", path, status,
                body->len ? (const char *)body->data : "");
        return -1;
    }
    return 0;
}

/* Creates an instance (namespaced), a topic and a group for the load. The
 * strings are kept until exit. */
static int setup(struct api_cfg *c)
{
    buf_t body;
    buf_init(&body);
    int rc = -1;
    char *cluster = c->cluster ? strdup(c->cluster) : NULL;
    if (!cluster) {
        if (setup_call(c, "/json/cluster/list", NULL, 0, &body) < 0)
            goto out;
        cluster = json_str((const char *)body.data, "cluster");
        if (!cluster) {
            fprintf(stderr, "mqbench api: the console lists no cluster\n");
            goto out;
        }
    }
    char name[64];
    snprintf(name, sizeof name, "bench-api-%ld-%d", (long)time(NULL), (int)getpid());
    struct api_kv ikv[] = {{"cluster", cluster},          {"instanceName", name},
                           {"independentNaming", "true"}, {"maxSendTps", "5000"},
                           {"maxReceiveTps", "5000"},     {"remark", "mqbench api"}};
    if (setup_call(c, "/json/instance/create", ikv, 6, &body) < 0)
        goto out;
    c->instance = json_str((const char *)body.data, "instanceId");
    if (!c->instance) {
        fprintf(stderr, "mqbench api: no instanceId in %s\n", (const char *)body.data);
        goto out;
    }
    c->topic = "BenchApiTopic";
    c->group = "GID_BenchApi";
    struct api_kv tkv[] = {{"instanceId", c->instance}, {"topic", c->topic}, {"orderType", "0"}};
    struct api_kv gkv[] = {{"instanceId", c->instance}, {"groupId", c->group}};
    if (setup_call(c, "/json/topic/create", tkv, 3, &body) < 0 ||
        setup_call(c, "/json/group/create", gkv, 2, &body) < 0)
        goto out;
    fprintf(stderr, "mqbench api: setup instance=%s topic=%s group=%s cluster=%s\n", c->instance,
            c->topic, c->group, cluster);
    rc = 0;
out:
    free(cluster);
    buf_deinit(&body);
    return rc;
}

static void ticker(const struct api_cfg *c, struct api_stats *st)
{
    double t0 = mqbench_now_s();
    double measure_at = t0 + c->warmup_s, end = measure_at + c->duration_s;
    if (c->warmup_s <= 0)
        atomic_store(&st->measuring, true);
    uint64_t last_ok = 0, last_fail = 0, last_lat = 0;
    double next = t0 + 1.0;
    while (!mqbench_interrupted()) {
        double now = mqbench_now_s();
        if (now >= end)
            break;
        if (!atomic_load(&st->measuring) && now >= measure_at)
            atomic_store(&st->measuring, true);
        if (now < next) {
            double until = next < end ? next : end;
            usleep((useconds_t)((until - now) * 1e6) + 1);
            continue;
        }
        next += 1.0;
        uint64_t ok = atomic_load(&st->shown_ok), fail = atomic_load(&st->shown_fail);
        uint64_t lat = atomic_load(&st->shown_lat_us);
        uint64_t dok = ok - last_ok;
        printf("[%6.1fs] reqs=%llu rps=%llu failed=%llu avg_ms=%.2f%s\n", now - t0,
               (unsigned long long)ok, (unsigned long long)dok,
               (unsigned long long)(fail - last_fail),
               dok ? (double)(lat - last_lat) / (double)dok / 1000.0 : 0.0,
               atomic_load(&st->measuring) ? "" : " (warmup)");
        fflush(stdout);
        last_ok = ok;
        last_fail = fail;
        last_lat = lat;
    }
}

static void print_quantiles(const struct hist *h)
{
    if (atomic_load(&h->n) == 0) {
        printf("p50_us=na p90_us=na p99_us=na max_us=na");
        return;
    }
    printf("p50_us=%llu p90_us=%llu p99_us=%llu max_us=%llu",
           (unsigned long long)hist_quantile(h, 0.50), (unsigned long long)hist_quantile(h, 0.90),
           (unsigned long long)hist_quantile(h, 0.99), (unsigned long long)atomic_load(&h->max_us));
}

int api_main(int argc, char **argv)
{
    struct api_cfg c;
    parse_opts(argc, argv, &c);
    mqbench_catch_signals();
    if (!c.instance && setup(&c) < 0)
        return 1;
    struct api_stats *st = calloc(1, sizeof *st);
    if (!st)
        return 1;
    hist_init(&st->all);
    for (int e = 0; e < EP_COUNT; e++)
        hist_init(&st->ep[e]);
    double t0 = mqbench_now_s();
    if (api_run_load(&c, st, ticker) < 0) {
        free(st);
        return 1;
    }
    double elapsed = mqbench_now_s() - t0 - c.warmup_s;
    if (elapsed > c.duration_s)
        elapsed = c.duration_s;
    uint64_t ok = atomic_load(&st->all.n), failed = 0;
    for (int k = 0; k < FAIL_KINDS; k++)
        failed += atomic_load(&st->fails[k]);
    for (int e = 0; e < EP_COUNT; e++) {
        if (!c.eps[e])
            continue;
        printf("ENDPOINT %s reqs=%llu errors=%llu ", API_EP_PATHS[e],
               (unsigned long long)atomic_load(&st->ep[e].n),
               (unsigned long long)atomic_load(&st->ep_fails[e]));
        print_quantiles(&st->ep[e]);
        printf("\n");
    }
    printf("SUMMARY api conns=%d threads=%d rate=%.0f duration_s=%.1f reqs=%llu elapsed_s=%.2f "
           "rps=%.0f "
           "errors=%llu http_errors=%llu api_errors=%llu io_errors=%llu timeouts=%llu ",
           c.conns, c.threads < c.conns ? c.threads : c.conns, c.rate, c.duration_s,
           (unsigned long long)ok, elapsed, elapsed > 0 ? (double)ok / elapsed : 0.0,
           (unsigned long long)failed, (unsigned long long)atomic_load(&st->fails[FAIL_HTTP]),
           (unsigned long long)atomic_load(&st->fails[FAIL_API]),
           (unsigned long long)atomic_load(&st->fails[FAIL_IO]),
           (unsigned long long)atomic_load(&st->fails[FAIL_TIMEOUT]));
    print_quantiles(&st->all);
    printf("\n");
    fflush(stdout);
    free(st);
    return failed == 0 && ok > 0 ? 0 : 1;
}
