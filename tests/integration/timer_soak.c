/* SPDX-License-Identifier: Apache-2.0 */
/* timer_soak.c: load and correctness driver for scheduled delivery.
 *   timer_soak produce -b HOST:PORT -t TOPIC -n N -s SPAN_MS [-d START_MS] [-w THREADS]
 *     sends N messages whose TIMER_DELIVER_MS are spread evenly over SPAN_MS,
 *     starting START_MS (default 5000) after the run starts; body = index.
 *   timer_soak check -b HOST:PORT -t TOPIC -n N [-T TIMEOUT_S]
 *     pulls the topic's 4 queues until N distinct messages arrived; reports
 *     early (store time < due), missing, duplicates and lateness percentiles.
 * Exit 0 only when nothing is early or missing. */
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

struct opts {
    const char *broker, *topic;
    long n;
    long span_ms, start_ms;
    int threads, timeout_s;
};

struct prod {
    const struct opts *o;
    struct rclient *c;
    int64_t t0;
    atomic_long next;
    atomic_long failed;
};

static void *produce_main(void *arg)
{
    struct prod *p = arg;
    for (;;) {
        long i = atomic_fetch_add(&p->next, 1);
        if (i >= p->o->n)
            break;
        int64_t due = p->t0 + p->o->start_ms + (p->o->span_ms * i) / p->o->n;
        char props[96], body[32], qid[8];
        snprintf(props, sizeof props, "TIMER_DELIVER_MS\x01%lld\x02", (long long)due);
        snprintf(body, sizeof body, "%ld:%lld", i, (long long)due);
        snprintf(qid, sizeof qid, "%ld", i % QUEUES);
        struct rcmd req;
        rcmd_init(&req);
        req.code = RC_SEND_MESSAGE_V2;
        rcmd_add_cstr(&req, "a", "TimerSoakPG");
        rcmd_add_cstr(&req, "b", p->o->topic);
        rcmd_add_cstr(&req, "c", "TBW102");
        rcmd_add_cstr(&req, "d", "4");
        rcmd_add_cstr(&req, "e", qid);
        rcmd_add_cstr(&req, "f", "0");
        rcmd_add_i64(&req, "g", clock_wall_ms());
        rcmd_add_cstr(&req, "h", "0");
        rcmd_add_cstr(&req, "i", props);
        req.body = tern_cstr(body);
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
    pthread_t th[64];
    int nt = o->threads > 64 ? 64 : o->threads;
    for (int t = 0; t < nt; t++)
        pthread_create(&th[t], NULL, produce_main, &p);
    for (int t = 0; t < nt; t++)
        pthread_join(th[t], NULL);
    int64_t ms = clock_wall_ms() - p.t0;
    printf("produced %ld timers in %lld ms (%.0f/s), failed %ld; due from +%ld ms over %ld ms\n",
           o->n, (long long)ms, ms ? o->n * 1000.0 / (double)ms : 0.0, atomic_load(&p.failed),
           o->start_ms, o->span_ms);
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
    long found = 0, dups = 0, early = 0, bad = 0;
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
    printf("received %ld of %ld, early %ld, duplicates %ld, malformed %ld\n", found, o->n, early,
           dups, bad);
    if (found)
        printf("lateness (store time - due) ms: p50 %lld p99 %lld max %lld\n",
               (long long)late[found / 2], (long long)late[found * 99 / 100],
               (long long)late[found - 1]);
    free(seen);
    free(late);
    return found == o->n && bad == 0 && early == 0 ? 0 : 1;
}

int main(int argc, char **argv);
int main(int argc, char **argv)
{
    struct opts o = {.topic = "TimerSoak",
                     .n = 1000,
                     .span_ms = 10000,
                     .start_ms = 5000,
                     .threads = 8,
                     .timeout_s = 120};
    if (argc < 2) {
        fprintf(stderr, "usage: timer_soak produce|check -b HOST:PORT [-t TOPIC] [-n N] ...\n");
        return 2;
    }
    int opt;
    optind = 2;
    while ((opt = getopt(argc, argv, "b:t:n:s:d:w:T:")) != -1) {
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
        case 'T':
            o.timeout_s = atoi(optarg);
            break;
        default:
            return 2;
        }
    }
    if (!o.broker || o.n <= 0)
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
