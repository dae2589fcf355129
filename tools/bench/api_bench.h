/* SPDX-License-Identifier: Apache-2.0 */
/* api_bench.h: private declarations of `mqbench api`, the Open API load
 * test (api.c: options, setup, report; api_http.c: signed requests and
 * response parsing; api_conn.c: the keep-alive connections and their epoll
 * loops).
 *
 * Threads: the main thread parses options, runs the setup calls (blocking,
 * one connection) and prints one line per second; each of --threads workers
 * owns an epoll set and a share of the connections, and keeps exactly one
 * request in flight on each. Counters shared with the main thread are
 * atomics. Output format: tools/bench/README.md. */
#ifndef TERN_TOOLS_BENCH_API_BENCH_H
#define TERN_TOOLS_BENCH_API_BENCH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench.h"

#include "common/buf.h"

/* The cheap endpoints the load mixes (index into API_EPS). */
enum api_ep {
    EP_REGION_LIST,
    EP_INSTANCE_LIST,
    EP_TOPIC_GET,
    EP_TOPIC_LIST_NAMES,
    EP_GROUP_LIST,
    EP_INSTANCE_BASE_INFO,
    EP_COUNT
};

/* Paths of the endpoints, by enum api_ep. */
extern const char *const API_EP_PATHS[EP_COUNT];

/* Options of `mqbench api`; read-only once parsed (api.c). */
struct api_cfg {
    char host[128]; /* "ip" of --url */
    int port;
    const char *access_key;
    const char *secret_key;
    const char *region; /* NULL: the console's own region */
    const char *instance;
    const char *topic;
    const char *group;
    const char *cluster; /* for the setup's instance/create; NULL: first listed */
    int conns;
    int threads;
    int timeout_ms;
    double duration_s;
    double warmup_s;
    double rate;        /* requests/s of all connections together; 0 = closed loop */
    bool eps[EP_COUNT]; /* the mix */
};

/* One name=value pair of a request (borrowed strings). */
struct api_kv {
    const char *k;
    const char *v;
};

/* Appends a complete signed GET request for path with the n extra
 * parameters kv plus _accesskey, __preventCache (now) and _regionId when set
 * (spec/open-api.md §2.4: values sorted by name, HMAC-SHA1, Base64). */
void api_build_request(const struct api_cfg *c, const char *path, const struct api_kv *kv, size_t n,
                       buf_t *out);
/* Parameters of endpoint ep for the load (instanceId, topic, groupId as the
 * endpoint takes them). OUT: kv[0..*n). */
void api_ep_params(const struct api_cfg *c, enum api_ep ep, struct api_kv kv[4], size_t *n);

/* Parse state of one HTTP/1.1 response. */
enum api_parse { PARSE_MORE, PARSE_DONE, PARSE_BAD };
struct api_resp {
    int status;
    bool close;       /* "Connection: close" */
    size_t total_len; /* header + body bytes of this response */
    size_t body_off;
};
/* Parses the response at the start of in[0..len). PARSE_DONE fills r. */
enum api_parse api_parse_response(const char *in, size_t len, struct api_resp *r);
/* True when the envelope body says "success":true. */
bool api_body_success(const char *body, size_t len);

/* One blocking request on a fresh connection (the setup calls). OUT: body
 * (NUL-terminated, caller deinits). Returns the HTTP status, -1 on an I/O
 * error. */
int api_call_blocking(const struct api_cfg *c, const char *path, const struct api_kv *kv, size_t n,
                      buf_t *body);

/* Outcome counters of a run (api_conn.c writes, main thread reads). */
enum api_fail_kind { FAIL_HTTP, FAIL_API, FAIL_IO, FAIL_TIMEOUT, FAIL_KINDS };
struct api_stats {
    _Atomic bool measuring;
    _Atomic bool stopping;
    _Atomic uint64_t shown_ok, shown_fail, shown_lat_us; /* every phase, per-second lines */
    _Atomic uint64_t fails[FAIL_KINDS];                  /* measured phase */
    _Atomic uint64_t ep_fails[EP_COUNT];
    struct hist all;
    struct hist ep[EP_COUNT];
};

/* Connects every connection, runs cfg->threads loops until st->stopping,
 * then lets in-flight requests finish (at most the timeout). Blocks;
 * ticker runs on the calling thread meanwhile and decides when to stop.
 * Returns 0, or -1 when not a single connection could be opened. */
int api_run_load(const struct api_cfg *c, struct api_stats *st,
                 void (*ticker)(const struct api_cfg *, struct api_stats *));

int api_main(int argc, char **argv);

#endif
