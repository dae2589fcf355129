/* SPDX-License-Identifier: Apache-2.0 */
/* bench.h: private declarations shared by the mqbench subcommands.
 *
 * mqbench is a load tool shaped like RocketMQ's benchmark Producer/Consumer
 * (spec broker-internals.md §14.3), speaking the remoting protocol through
 * remoting/remoting.h, so it runs against Tern or Java RocketMQ alike. Usage
 * and output format: tools/bench/README.md.
 *
 * Threads: the main thread parses options, resolves the route and prints one
 * line per second; workers (produce) or one dispatcher (consume) issue
 * requests; response callbacks run on the rclient loop threads. Counters
 * shared between them are atomics. */
#ifndef TERN_TOOLS_BENCH_BENCH_H
#define TERN_TOOLS_BENCH_BENCH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "remoting/remoting.h"

/* ---- latency histogram (hist.c) ---------------------------------------- */

/* Log-linear buckets over microseconds: values below 64 are exact, above
 * that each power of two is split in 32 buckets (error < 3.2%). Values are
 * clamped at 2^41-1 us (about 25 days). Recording is lock-free (relaxed
 * atomics), so any thread may record into any histogram. */
#define HIST_SUB_BITS 5
#define HIST_MAX_MSB  40
#define HIST_BUCKETS  ((HIST_MAX_MSB - HIST_SUB_BITS + 1) * (1 << HIST_SUB_BITS) + 64)

struct hist {
    _Atomic uint64_t counts[HIST_BUCKETS];
    _Atomic uint64_t n;
    _Atomic uint64_t sum_us;
    _Atomic uint64_t max_us;
};

void hist_init(struct hist *h);
void hist_record(struct hist *h, uint64_t us);
/* Adds every count of src into dst (src is read, not reset). */
void hist_merge(struct hist *dst, const struct hist *src);
/* Returns the upper bound of the bucket holding quantile q (0..1), capped by
 * the maximum recorded; 0 when empty. */
uint64_t hist_quantile(const struct hist *h, double q);

/* ---- response code tally (hist.c) --------------------------------------- */

/* Transport failures get their own slots after the wire codes. */
#define TALLY_WIRE_CODES 1024
enum {
    TALLY_OTHER_CODE = TALLY_WIRE_CODES, /* wire code outside 0..1023 */
    TALLY_TIMEOUT,                       /* TERN_ETIMEOUT */
    TALLY_CLOSED,                        /* TERN_ECLOSED */
    TALLY_SEND_ERROR,                    /* any other local error */
    TALLY_SLOTS
};

struct tally {
    _Atomic uint64_t slot[TALLY_SLOTS];
};

void tally_init(struct tally *t);
/* Counts one request outcome: err is a tern/-errno error or TERN_OK with
 * the wire response code in code. */
void tally_add(struct tally *t, int err, int32_t code);
/* Appends "NAME=count ..." for every non-zero slot except SUCCESS (and, when
 * skip_flush is set, FLUSH_DISK_TIMEOUT) to out; "none" if there is none. */
void tally_format(const struct tally *t, bool skip_flush, char *out, size_t cap);
/* Symbolic name of a response code ("SYSTEM_BUSY") or NULL. */
const char *resp_code_name(int32_t code);

/* ---- route and admin calls (route.c) ------------------------------------ */

/* One message queue of a topic, resolved to its master broker address. */
struct bench_queue {
    char addr[64];   /* "ip:port" of the master (brokerId 0) */
    char broker[64]; /* brokerName */
    int queue_id;
};

struct bench_route {
    struct bench_queue *q; /* owned (xmalloc) */
    size_t n;
};

void route_free(struct bench_route *r);

/* GET_ROUTEINFO_BY_TOPIC against namesrv. Keeps queues that are writable
 * (for_write, ids < writeQueueNums) or readable (ids < readQueueNums) on a
 * broker with a master. Returns TERN_OK, TERN_EREMOTE with the response code
 * in *code (TOPIC_NOT_EXIST, ...), TERN_EPROTOCOL on a body we cannot parse,
 * or a transport error. */
int route_fetch(struct rclient *c, const char *namesrv, const char *topic, bool for_write,
                int timeout_ms, struct bench_route *out, int32_t *code);

/* Addresses of every master in the cluster (GET_BROKER_CLUSTER_INFO).
 * OUT: *addrs is an xmalloc'ed array of *n xstrdup'ed strings. */
int route_cluster_masters(struct rclient *c, const char *namesrv, int timeout_ms, char ***addrs,
                          size_t *n);

/* UPDATE_AND_CREATE_TOPIC(17) on one broker with read = write = queues,
 * perm 6. TERN_EREMOTE with *code on a non-SUCCESS answer. */
int route_create_topic(struct rclient *c, const char *broker_addr, const char *topic, int queues,
                       int timeout_ms, int32_t *code);

/* Resolves the route, creating the topic first when create is set or when
 * the name server does not know it (on broker_addr, or on every master of
 * the cluster when broker_addr is NULL), then waits up to wait_ms for the
 * route to show up. Prints what it does to stderr. */
int route_ensure(struct rclient *c, const char *namesrv, const char *broker_addr, const char *topic,
                 int queues, bool create, bool for_write, int timeout_ms, struct bench_route *out);

/* GET_MAX_OFFSET(30) / GET_MIN_OFFSET(31) of one queue. */
int route_queue_offset(struct rclient *c, const struct bench_queue *q, const char *topic, bool max,
                       int timeout_ms, int64_t *out);

/* ---- admin steps for the libons modes (setup.c) -------------------------- */

/* Resolves (and, if needed or when create is set, creates) topic like
 * `produce` does, with a private rclient. */
int setup_topic(const char *namesrv, const char *broker_addr, const char *topic, int queues,
                bool create, int timeout_ms);
/* Commits group's offset on every readable queue of topic to the queue's min
 * offset (to_max false) or max offset (to_max true), so a consumer of the
 * group starts there. OUT: *backlog (may be NULL) = sum of max - min when
 * to_max is false, else 0. */
int setup_group_offsets(const char *namesrv, const char *topic, const char *group, bool to_max,
                        int timeout_ms, int64_t *backlog);

/* ---- option helpers and run control (mqbench.c) ------------------------ */

/* Which client library drives the load: the remoting layer directly (raw)
 * or the public SDK, libons (ons). */
enum bench_client { CLIENT_RAW, CLIENT_ONS };

/* "raw" or "ons", else exits 2 with a message. */
enum bench_client mqbench_client_name(const char *s);
/* The value of --client (or --client=) in argv, CLIENT_RAW when absent. */
enum bench_client mqbench_client_arg(int argc, char **argv);
/* Makes SIGINT/SIGTERM set the flag mqbench_interrupted() reads. */
void mqbench_catch_signals(void);
bool mqbench_interrupted(void);
/* Fills body with n random alphanumeric bytes, as the Java benchmark sends. */
void mqbench_fill_body(uint8_t *body, size_t n);
/* out = "mqbench-<idx>-<seq>" (a message key); out holds at least
 * MQBENCH_KEY_MAX bytes. Hand-formatted: snprintf was a visible cost per
 * message. */
#define MQBENCH_KEY_MAX 48
void mqbench_format_key(char *out, int idx, uint64_t seq);

/* Parses a non-negative decimal integer (suffixes k/m/g = 10^3/10^6/10^9)
 * or exits with a message naming opt. */
int64_t mqbench_num(const char *opt, const char *s, int64_t min, int64_t max);
/* Parses a non-negative number of seconds (may have a fraction). */
double mqbench_seconds(const char *opt, const char *s);
/* The default -n: $NAMESRV_ADDR when set and not empty, else 127.0.0.1:9876. */
const char *mqbench_default_namesrv(void);
/* Seconds since an arbitrary origin, from the monotonic clock. */
double mqbench_now_s(void);

/* ---- produce: options, counters, per-second lines, SUMMARY -------------- */

enum prod_mode { PROD_SYNC, PROD_ASYNC, PROD_ONEWAY };
enum prod_phase { PHASE_WARMUP, PHASE_MEASURE, PHASE_STOP };

/* Options of `mqbench produce` (produce_opts.c); read-only once parsed. */
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
    enum prod_mode mode;
    enum bench_client client;
    double duration_s;
    double warmup_s;
    int64_t count; /* 0 = bounded by duration only */
    bool create;
    bool rocketmq_header;
    int cpu_pid; /* --cpu-pid: also report this process's CPU per message; 0 = none */
};

/* Parses argv (argv[0] = "produce") or exits 2 (0 for --help). */
void produce_parse_opts(int argc, char **argv, struct prod_cfg *c);
const char *produce_mode_name(enum prod_mode m);

/* Counters of one produce run, shared by its senders (any thread) and the
 * main thread's ticker (produce_stats.c). All fields are atomics. */
struct prod_stats {
    _Atomic int phase;       /* enum prod_phase */
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
    /* CPU seconds at the start and end of the measured phase: this process
     * and cfg->cpu_pid's (-1 = unknown). Main thread only. */
    double cpu_self[2], cpu_peer[2];
};

void prod_stats_init(struct prod_stats *st, const struct prod_cfg *cfg);
/* True once the run is over (deadline, count or a signal). */
bool prod_stats_stopping(struct prod_stats *st);
/* Hands out up to want messages; 0 means stop. */
int prod_stats_claim(struct prod_stats *st, const struct prod_cfg *cfg, int want);
/* Records one finished request of nmsgs messages: err is TERN_OK with the
 * wire code in code, or a local error. lat_us < 0: no latency; otherwise it
 * goes into h (measured phase, SUCCESS only). */
void prod_stats_account(struct prod_stats *st, struct hist *h, int err, int32_t code, int nmsgs,
                        int64_t lat_us);
/* Runs on the main thread from t_start (mqbench_now_s()): switches warm-up to
 * measuring, prints one line per second until the deadline, senders_alive
 * reaching 0 or a signal, then sets PHASE_STOP. Returns when measuring
 * began. */
double prod_stats_ticker(struct prod_stats *st, const struct prod_cfg *cfg, double t_start);
/* Prints the SUMMARY line; all holds the merged latencies. senders is the
 * number of sending threads, conns the TCP connections. */
void prod_stats_summary(struct prod_stats *st, const struct prod_cfg *cfg, const struct hist *all,
                        int senders, int conns, double elapsed_s);

/* ---- libons modes (ons_produce.c, ons_consume.c, e2e.c) ------------------ */

/* `mqbench produce --client ons` with parsed options. */
int ons_produce_run(const struct prod_cfg *cfg);
/* `mqbench consume --client ons`: a push consumer draining a backlog. */
int ons_consume_main(int argc, char **argv);
/* `mqbench e2e`: paced producer, push consumer, end-to-end latency. */
int e2e_main(int argc, char **argv);

/* Subcommands; argv[0] is the subcommand name. Return the process status. */
int produce_main(int argc, char **argv);
int consume_main(int argc, char **argv);
int startup_main(int argc, char **argv);

#endif
