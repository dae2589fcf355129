/* SPDX-License-Identifier: Apache-2.0 */
/* timer_soak.c: load and correctness driver for scheduled delivery.
 *   timer_soak produce -b HOST:PORT -t TOPIC -n N -s SPAN_MS [-d START_MS]
 *                      [-F FAR] [-w THREADS | -a INFLIGHT]
 *     sends N messages whose TIMER_DELIVER_MS are spread evenly over SPAN_MS,
 *     starting START_MS (default 5000) after the run starts (body
 *     "<index>:<due>"), then FAR messages due evenly across 30 days to 40 days
 *     less an hour (body "F<index>:<due>"). With -a, one thread keeps INFLIGHT
 *     asynchronous sends in flight instead of THREADS synchronous senders.
 *   timer_soak check -b HOST:PORT -t TOPIC -n N [-T TIMEOUT_S] [-x]
 *     pulls the topic's 4 queues until N distinct messages arrived; reports
 *     early (store time < due; any far message counts as early), missing,
 *     duplicates and lateness percentiles.
 * Exit 0 only when nothing is early or missing (nor duplicated, with -x) and
 * no send failed. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/xalloc.h"
#include "protocol/cmd.h"
#include "protocol/codes.h"
#include "protocol/message.h"
#include "protocol/props.h"
#include "remoting/remoting.h"

#define QUEUES 4

#define DAY_MS     86400000LL
#define FAR_MIN_MS (30 * DAY_MS)
#define FAR_SPAN   (10 * DAY_MS - 3600000LL) /* stays inside the 40-day limit */

struct opts {
    const char *broker, *topic;
    long n, nfar;
    long span_ms, start_ms;
    int threads, inflight, timeout_s;
    bool once; /* check: duplicates fail the run */
};

struct prod {
    const struct opts *o;
    struct rclient *c;
    int64_t t0;
    atomic_long next;
    atomic_long failed;
    pthread_mutex_t mu; /* async mode: guards pending */
    pthread_cond_t cv;
    long pending;
};

/* Builds the send request of message k (0..n-1 near, then far ones). */
static void build_send(struct prod *p, long k, struct rcmd *req, char *props, size_t np, char *body,
                       size_t nb, char *qid, size_t nq)
{
    const struct opts *o = p->o;
    int64_t due;
    if (k < o->n) {
        due = p->t0 + o->start_ms + (o->span_ms * k) / o->n;
        snprintf(body, nb, "%ld:%lld", k, (long long)due);
    } else {
        long j = k - o->n;
        due = p->t0 + FAR_MIN_MS + (int64_t)((double)FAR_SPAN * (double)j / (double)o->nfar);
        snprintf(body, nb, "F%ld:%lld", j, (long long)due);
    }
    snprintf(props, np, "TIMER_DELIVER_MS\x01%lld\x02", (long long)due);
    snprintf(qid, nq, "%ld", k % QUEUES);
    rcmd_init(req);
    req->code = RC_SEND_MESSAGE_V2;
    rcmd_add_cstr(req, "a", "TimerSoakPG");
    rcmd_add_cstr(req, "b", o->topic);
    rcmd_add_cstr(req, "c", "TBW102");
    rcmd_add_cstr(req, "d", "4");
    rcmd_add_cstr(req, "e", qid);
    rcmd_add_cstr(req, "f", "0");
    rcmd_add_i64(req, "g", clock_wall_ms());
    rcmd_add_cstr(req, "h", "0");
    rcmd_add_cstr(req, "i", props);
    req->body = tern_cstr(body);
}

static void on_sent(void *arg, int err, struct rcmd *resp)
{
    struct prod *p = arg;
    if (err != TERN_OK || resp->code != RESP_SUCCESS)
        atomic_fetch_add(&p->failed, 1);
    pthread_mutex_lock(&p->mu);
    p->pending--;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* Async mode: one thread, at most o->inflight sends outstanding. */
static void produce_async(struct prod *p)
{
    long total = p->o->n + p->o->nfar;
    for (long k = 0; k < total; k++) {
        pthread_mutex_lock(&p->mu);
        while (p->pending >= p->o->inflight)
            pthread_cond_wait(&p->cv, &p->mu);
        p->pending++;
        pthread_mutex_unlock(&p->mu);
        char props[96], body[48], qid[8];
        struct rcmd req;
        build_send(p, k, &req, props, sizeof props, body, sizeof body, qid, sizeof qid);
        if (rclient_call(p->c, p->o->broker, &req, 30000, on_sent, p) != TERN_OK) {
            atomic_fetch_add(&p->failed, 1);
            pthread_mutex_lock(&p->mu);
            p->pending--;
            pthread_mutex_unlock(&p->mu);
        }
        rcmd_deinit(&req);
    }
    pthread_mutex_lock(&p->mu);
    while (p->pending > 0)
        pthread_cond_wait(&p->cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

static void *produce_main(void *arg)
{
    struct prod *p = arg;
    long total = p->o->n + p->o->nfar;
    for (;;) {
        long i = atomic_fetch_add(&p->next, 1);
        if (i >= total)
            break;
        char props[96], body[48], qid[8];
        struct rcmd req;
        build_send(p, i, &req, props, sizeof props, body, sizeof body, qid, sizeof qid);
        struct rresp r;
        rresp_init(&r);
        int rc = rclient_call_sync(p->c, p->o->broker, &req, 10000, &r);
        if (rc != TERN_OK || r.cmd.code != RESP_SUCCESS)
            atomic_fetch_add(&p->failed, 1);
        rresp_deinit(&r);
        rcmd_deinit(&req);
    }
    return NULL;
}

static int do_produce(const struct opts *o, struct rclient *c)
{
    struct prod p = {.o = o, .c = c, .t0 = clock_wall_ms()};
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.cv, NULL);
    if (o->inflight > 0) {
        produce_async(&p);
    } else {
        pthread_t th[64];
        int nt = o->threads > 64 ? 64 : o->threads;
        for (int t = 0; t < nt; t++)
            pthread_create(&th[t], NULL, produce_main, &p);
        for (int t = 0; t < nt; t++)
            pthread_join(th[t], NULL);
    }
    pthread_cond_destroy(&p.cv);
    pthread_mutex_destroy(&p.mu);
    int64_t ms = clock_wall_ms() - p.t0;
    long total = o->n + o->nfar;
    printf("produced %ld timers (%ld due from +%ld ms over %ld ms, %ld due in 30-40 days) in "
           "%lld ms (%.0f/s), failed %ld\n",
           total, o->n, o->start_ms, o->span_ms, o->nfar, (long long)ms,
           ms ? (double)total * 1000.0 / (double)ms : 0.0, atomic_load(&p.failed));
    fflush(stdout);
    return atomic_load(&p.failed) ? 1 : 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int do_check(const struct opts *o, struct rclient *c)
{
    uint8_t *seen = xcalloc((size_t)o->n, 1);
    int64_t *late = xcalloc((size_t)o->n, sizeof *late);
    long found = 0, dups = 0, early = 0, bad = 0, far = 0;
    int64_t off[QUEUES] = {0};
    int64_t deadline = clock_mono_ms() + (int64_t)o->timeout_s * 1000;
    while (found < o->n && clock_mono_ms() < deadline) {
        bool any = false;
        for (int q = 0; q < QUEUES; q++) {
            struct rcmd req;
            rcmd_init(&req);
            req.code = RC_PULL_MESSAGE;
            rcmd_add_cstr(&req, "consumerGroup", "TimerSoakCG");
            rcmd_add_cstr(&req, "topic", o->topic);
            rcmd_add_i64(&req, "queueId", q);
            rcmd_add_i64(&req, "queueOffset", off[q]);
            rcmd_add_cstr(&req, "maxMsgNums", "32");
            rcmd_add_i64(&req, "sysFlag", 4);
            rcmd_add_cstr(&req, "commitOffset", "0");
            rcmd_add_i64(&req, "suspendTimeoutMillis", 0);
            rcmd_add_cstr(&req, "subscription", "*");
            rcmd_add_cstr(&req, "subVersion", "0");
            struct rresp r;
            rresp_init(&r);
            if (rclient_call_sync(c, o->broker, &req, 10000, &r) == TERN_OK &&
                r.cmd.code == RESP_SUCCESS) {
                int64_t nb = -1;
                rcmd_get_i64(&r.cmd, "nextBeginOffset", &nb);
                size_t pos = 0;
                struct msg_record m;
                while (pos < r.cmd.body.len &&
                       msg_decode(r.cmd.body.ptr + pos, r.cmd.body.len - pos, &m) == TERN_OK) {
                    pos += (size_t)m.total_size;
                    char tmp[32];
                    tern_bytes_t v;
                    long i = -1;
                    int64_t due = 0;
                    if (m.body.len > 0 && m.body.ptr[0] == 'F') {
                        far++; /* due in 30+ days: any delivery is early */
                        continue;
                    }
                    if (m.body.len < sizeof tmp) {
                        memcpy(tmp, m.body.ptr, m.body.len);
                        tmp[m.body.len] = '\0';
                        char *end;
                        i = strtol(tmp, &end, 10);
                        due = *end == ':' ? strtoll(end + 1, NULL, 10) : 0;
                    }
                    if (props_get(m.props, PROP_TIMER_DELIVER_MS, &v) && v.len < sizeof tmp) {
                        bad++; /* timer property must be gone */
                    } else if (i < 0 || i >= o->n) {
                        bad++;
                    } else if (seen[i]) {
                        dups++;
                    } else {
                        seen[i] = 1;
                        late[found++] = m.store_ts - due;
                        if (m.store_ts < due)
                            early++;
                    }
                }
                if (nb > off[q]) {
                    off[q] = nb;
                    any = true;
                }
            }
            rresp_deinit(&r);
            rcmd_deinit(&req);
        }
        if (!any)
            usleep(20000);
    }
    qsort(late, (size_t)found, sizeof *late, cmp_i64);
    printf("received %ld of %ld (missing %ld), early %ld, duplicates %ld, malformed %ld, "
           "far-future delivered %ld\n",
           found, o->n, o->n - found, early, dups, bad, far);
    if (found)
        printf("lateness (store time - due) ms: p50 %lld p99 %lld max %lld\n",
               (long long)late[found / 2], (long long)late[found * 99 / 100],
               (long long)late[found - 1]);
    free(seen);
    free(late);
    return found == o->n && bad == 0 && early == 0 && far == 0 && (!o->once || dups == 0) ? 0 : 1;
}

int main(int argc, char **argv);
int main(int argc, char **argv)
{
    struct opts o = {.topic = "TimerSoak",
                     .n = 1000,
                     .span_ms = 10000,
                     .start_ms = 5000,
                     .threads = 8,
                     .inflight = 0,
                     .timeout_s = 120};
    if (argc < 2) {
        fprintf(stderr, "usage: timer_soak produce|check -b HOST:PORT [-t TOPIC] [-n N] ...\n");
        return 2;
    }
    int opt;
    optind = 2;
    while ((opt = getopt(argc, argv, "b:t:n:s:d:w:T:F:a:x")) != -1) {
        switch (opt) {
        case 'b':
            o.broker = optarg;
            break;
        case 't':
            o.topic = optarg;
            break;
        case 'n':
            o.n = atol(optarg);
            break;
        case 's':
            o.span_ms = atol(optarg);
            break;
        case 'd':
            o.start_ms = atol(optarg);
            break;
        case 'w':
            o.threads = atoi(optarg);
            break;
        case 'x':
            o.once = true;
            break;
        case 'F':
            o.nfar = atol(optarg);
            break;
        case 'a':
            o.inflight = atoi(optarg);
            break;
        case 'T':
            o.timeout_s = atoi(optarg);
            break;
        default:
            return 2;
        }
    }
    if (!o.broker || o.n < 0 || o.nfar < 0 || (o.n == 0 && o.nfar == 0) ||
        (strcmp(argv[1], "check") == 0 && o.n == 0))
        return 2;
    struct rclient_opts co;
    memset(&co, 0, sizeof co);
    struct rclient *c;
    if (rclient_new(&co, &c) != TERN_OK)
        return 1;
    int rc = strcmp(argv[1], "produce") == 0 ? do_produce(&o, c) : do_check(&o, c);
    rclient_free(c);
    return rc;
}
