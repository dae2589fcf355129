/* SPDX-License-Identifier: Apache-2.0 */
/* proto_client.c: a protocol-level client for what ali-ons cannot exercise:
 * transactions with check-back, queue locks between two clients, topic
 * message types. Built on the remoting layer: CHECK_TRANSACTION_STATE from the
 * broker arrives through the rclient's processor table.
 *
 *   proto_client basic   -b ADDR            commit / rollback / check-back,
 *                                           locks (lockLeaseMs=2000), types
 *   proto_client produce -b ADDR -n N -r R  N half messages; the first R are
 *                                           resolved at once (even commit, odd
 *                                           rollback), the rest left unknown
 *   proto_client resolve -b ADDR -n N -r R  answers checks (even commit, odd
 *                                           rollback) and verifies: each even
 *                                           delivered exactly once, no odd one,
 *                                           no check for the first R
 * Exit 0 on success; failures are printed. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../unit/broker/proto_helpers.h"
#include "common/clock.h"
#include "common/xalloc.h"

#define CRASH_TOPIC "PcCrash"
#define QUEUES      4

static int failures;

#define CHECK(cond)                                                           \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "FAILED %s:%d: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                       \
        }                                                                     \
    } while (0)

static const char *const HALF[] = {"TRAN_MSG", "true", "PGROUP", "PG", NULL};

/* ---- the checking producer ---- */

struct checker {
    long n_resolved_early; /* indexes below this must never be checked */
    atomic_long checks;
    atomic_long early_checks;
};

static long body_index(tern_bytes_t body)
{
    if (body.len < 3 || memcmp(body.ptr, "i=", 2) != 0)
        return -1;
    long v = 0;
    for (size_t i = 2; i < body.len && body.ptr[i] >= '0' && body.ptr[i] <= '9'; i++)
        v = v * 10 + (body.ptr[i] - '0');
    return v;
}

/* Even index: commit; odd: rollback. Bodies "c..."/"r..." (basic) likewise. */
static int decide(tern_bytes_t body)
{
    if (body.len && body.ptr[0] == 'c')
        return 8;
    if (body.len && body.ptr[0] == 'r')
        return 12;
    long i = body_index(body);
    return i < 0 ? 0 : i % 2 == 0 ? 8 : 12;
}

static void on_check(void *ctx, struct rreq *req)
{
    struct checker *k = ctx;
    atomic_fetch_add(&k->checks, 1);
    struct msg_record m;
    if (msg_decode(req->cmd.body.ptr, req->cmd.body.len, &m) == TERN_OK) {
        long i = body_index(m.body);
        if (i >= 0 && i < k->n_resolved_early)
            atomic_fetch_add(&k->early_checks, 1);
        int64_t half = -1, phy = -1;
        rcmd_get_i64(&req->cmd, "tranStateTableOffset", &half);
        rcmd_get_i64(&req->cmd, "commitLogOffset", &phy);
        tern_bytes_t u = rcmd_get(&req->cmd, "msgId");
        char uniq[64];
        snprintf(uniq, sizeof uniq, "%.*s", (int)u.len, u.ptr ? (const char *)u.ptr : "");
        struct rcmd end;
        ph_end_req(&end, "PG", half, phy, decide(m.body), true, uniq);
        rconn_send_oneway(req->conn, &end);
        rcmd_deinit(&end);
    }
    rreq_free(req);
}

static struct rclient *new_client(struct checker *k)
{
    static const struct rprocessor T[] = {{RC_CHECK_TRANSACTION_STATE, "CHECK", on_check, 0}};
    struct rclient_opts o;
    memset(&o, 0, sizeof o);
    if (k) {
        o.table = T;
        o.ntable = 1;
        o.ctx = k;
    }
    struct rclient *c = NULL;
    if (rclient_new(&o, &c) != TERN_OK) {
        fprintf(stderr, "cannot create a client\n");
        exit(2);
    }
    return c;
}

/* ---- delivery accounting ---- */

struct tally {
    long n;
    int *seen; /* per index */
    long other;
};

static void tally_rec(void *arg, const struct msg_record *m)
{
    struct tally *t = arg;
    long i = body_index(m->body);
    if (i >= 0 && i < t->n)
        t->seen[i]++;
    else
        t->other++;
}

static void count_rec(void *arg, const struct msg_record *m)
{
    (void)m;
    (*(int *)arg)++;
}

static int count_topic(struct rclient *c, const char *addr, const char *topic, int qid)
{
    int n = 0;
    ph_pull_all(c, addr, topic, qid, count_rec, &n);
    return n;
}

/* ---- basic ---- */

static int run_basic(const char *addr)
{
    struct checker k;
    memset(&k, 0, sizeof k);
    struct rclient *c = new_client(&k);
    CHECK(ph_create_topic(c, addr, "PcTxn", 4, "+message.type=TRANSACTION", NULL, NULL, 0) == 0);
    CHECK(ph_heartbeat(c, addr, "proto-client-1", "PG", NULL) == RESP_SUCCESS);
    struct ph_sent s[4];
    const char *bodies[4] = {"commit-direct", "rollback-direct", "c-checked", "r-checked"};
    for (int i = 0; i < 4; i++)
        CHECK(ph_send(c, addr, "PG", "PcTxn", 0, 4, HALF, bodies[i], &s[i]) == RESP_SUCCESS);
    CHECK(count_topic(c, addr, "PcTxn", 0) == 0);
    CHECK(ph_end_oneway(c, addr, "PG", &s[0], 8) == TERN_OK);
    CHECK(ph_end_oneway(c, addr, "PG", &s[1], 12) == TERN_OK);
    /* 2 and 3 stay unknown until the broker asks (transactionTimeOut=1000). */
    int64_t deadline = clock_mono_ms() + 15000;
    while (clock_mono_ms() < deadline && count_topic(c, addr, "PcTxn", 0) < 2)
        usleep(100 * 1000);
    usleep(2500 * 1000); /* more rounds: nothing else may appear */
    CHECK(count_topic(c, addr, "PcTxn", 0) == 2);
    CHECK(atomic_load(&k.checks) == 2);
    printf("basic: transactions ok (checks=%ld)\n", atomic_load(&k.checks));

    /* Locks: a second client of the group waits for release or the lease. */
    struct rclient *c2 = new_client(NULL);
    CHECK(ph_lock(c, addr, true, "OG", "client-A", "PcTxn", 0x3) == 2);
    CHECK(ph_lock(c2, addr, true, "OG", "client-B", "PcTxn", 0x3) == 0);
    CHECK(ph_lock(c, addr, false, "OG", "client-A", "PcTxn", 0x1) == RESP_SUCCESS);
    CHECK(ph_lock(c2, addr, true, "OG", "client-B", "PcTxn", 0x1) == 1);
    CHECK(ph_lock(c2, addr, true, "OG", "client-B", "PcTxn", 0x2) == 0);
    usleep(2600 * 1000); /* lockLeaseMs=2000 */
    CHECK(ph_lock(c2, addr, true, "OG", "client-B", "PcTxn", 0x2) == 1);
    CHECK(ph_lock(c, addr, true, "OG", "client-A", "PcTxn", 0x2) == 0);
    printf("basic: locks ok\n");

    /* Types. */
    struct ph_sent t;
    CHECK(ph_send(c, addr, "PG", "PcTxn", 0, 0, NULL, "plain", &t) == RESP_MESSAGE_ILLEGAL);
    CHECK(strstr(t.remark, "is of type TRANSACTION") != NULL);
    CHECK(ph_create_topic(c, addr, "PcNormal", 4, "+message.type=NORMAL", NULL, NULL, 0) == 0);
    CHECK(ph_send(c, addr, "PG", "PcNormal", 0, 4, HALF, "t", &t) == RESP_MESSAGE_ILLEGAL);
    static const char *const DEL[] = {"DELAY", "3", NULL};
    CHECK(ph_send(c, addr, "PG", "PcNormal", 0, 0, DEL, "d", &t) == RESP_MESSAGE_ILLEGAL);
    CHECK(ph_send(c, addr, "PG", "PcNormal", 0, 0, NULL, "n", &t) == RESP_SUCCESS);
    printf("basic: message types ok\n");
    rclient_free(c2);
    rclient_free(c);
    return failures ? 1 : 0;
}

/* ---- crash: produce / resolve ---- */

static int run_produce(const char *addr, long n, long r)
{
    struct rclient *c = new_client(NULL);
    if (ph_create_topic(c, addr, CRASH_TOPIC, QUEUES, NULL, NULL, NULL, 0) != 0) {
        fprintf(stderr, "create topic failed\n");
        return 1;
    }
    for (long i = 0; i < n; i++) {
        char body[32];
        snprintf(body, sizeof body, "i=%ld;", i);
        struct ph_sent s;
        if (ph_send(c, addr, "PG", CRASH_TOPIC, (int)(i % QUEUES), 4, HALF, body, &s) != 0) {
            fprintf(stderr, "send %ld failed: %s\n", i, s.remark);
            return 1;
        }
        if (i < r)
            ph_end_oneway(c, addr, "PG", &s, i % 2 == 0 ? 8 : 12);
    }
    /* A round trip so every oneway END is processed before we return. */
    struct ph_sent s;
    ph_send(c, addr, "PG", "PcSync", 0, 0, NULL, "sync", &s);
    printf("produce: %ld half messages, %ld resolved directly\n", n, r);
    rclient_free(c);
    return 0;
}

static int run_resolve(const char *addr, long n, long r, int wait_s)
{
    struct checker k;
    memset(&k, 0, sizeof k);
    k.n_resolved_early = r;
    struct rclient *c = new_client(&k);
    CHECK(ph_heartbeat(c, addr, "proto-client-resolver", "PG", NULL) == RESP_SUCCESS);
    struct tally t = {n, xcalloc((size_t)n, sizeof(int)), 0};
    long want = (n + 1) / 2, evens = 0;
    int64_t deadline = clock_mono_ms() + wait_s * 1000LL;
    for (;;) {
        memset(t.seen, 0, (size_t)n * sizeof(int));
        t.other = 0;
        for (int q = 0; q < QUEUES; q++)
            ph_pull_all(c, addr, CRASH_TOPIC, q, tally_rec, &t);
        evens = 0;
        for (long i = 0; i < n; i += 2)
            evens += t.seen[i] > 0;
        if (evens >= want || clock_mono_ms() > deadline)
            break;
        ph_heartbeat(c, addr, "proto-client-resolver", "PG", NULL);
        usleep(250 * 1000);
    }
    usleep(2500 * 1000); /* late duplicates would show up now */
    memset(t.seen, 0, (size_t)n * sizeof(int));
    t.other = 0;
    for (int q = 0; q < QUEUES; q++)
        ph_pull_all(c, addr, CRASH_TOPIC, q, tally_rec, &t);
    long missing = 0, dup = 0, odd = 0;
    for (long i = 0; i < n; i++) {
        if (i % 2 == 0 && t.seen[i] == 0)
            missing++;
        if (i % 2 == 0 && t.seen[i] > 1)
            dup++;
        if (i % 2 == 1 && t.seen[i] > 0)
            odd++;
    }
    printf("resolve: n=%ld committed-expected=%ld missing=%ld duplicated=%ld rolled-back-seen=%ld "
           "checks=%ld early-checks=%ld other=%ld\n",
           n, want, missing, dup, odd, atomic_load(&k.checks), atomic_load(&k.early_checks),
           t.other);
    CHECK(missing == 0);
    CHECK(dup == 0);
    CHECK(odd == 0);
    CHECK(t.other == 0);
    CHECK(atomic_load(&k.early_checks) == 0);
    CHECK(atomic_load(&k.checks) >= n - r);
    free(t.seen);
    rclient_free(c);
    return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: proto_client basic|produce|resolve -b ADDR [-n N] [-r R] [-w S]\n");
        return 2;
    }
    const char *addr = "127.0.0.1:10911";
    long n = 2000, r = 500;
    int wait_s = 60;
    int opt;
    optind = 2;
    while ((opt = getopt(argc, argv, "b:n:r:w:")) != -1) {
        switch (opt) {
        case 'b':
            addr = optarg;
            break;
        case 'n':
            n = atol(optarg);
            break;
        case 'r':
            r = atol(optarg);
            break;
        case 'w':
            wait_s = atoi(optarg);
            break;
        default:
            return 2;
        }
    }
    if (strcmp(argv[1], "basic") == 0)
        return run_basic(addr);
    if (strcmp(argv[1], "produce") == 0)
        return run_produce(addr, n, r);
    if (strcmp(argv[1], "resolve") == 0)
        return run_resolve(addr, n, r, wait_s);
    fprintf(stderr, "unknown command %s\n", argv[1]);
    return 2;
}
