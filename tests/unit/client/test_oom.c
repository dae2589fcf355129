/* SPDX-License-Identifier: Apache-2.0 */
/* test_oom.c: the out-of-memory walk of libons (STYLE.md §3.3, issue 4).
 *
 * Each public call group runs again and again with its N-th allocation
 * failing (common/alloc.h test hook), N = 1, 2, ... (then a growing stride),
 * until a run makes fewer than N allocations; that last run, with nothing
 * injected, must succeed. Every run must return success or an error, never
 * crash, and (ASan build, detect_leaks) leave nothing allocated. The name
 * server and broker run in a forked child, so the injected failures only hit
 * the SDK (the broker keeps the abort-on-OOM policy). The decode arenas
 * (common/arena.h) grow through the same allocator, so route bodies, JSON
 * trees and command headers beyond their inline bytes are on the walk too;
 * the producer's message carries a long user property so that its send
 * header needs an arena block. See docs/design/client.md "Out of memory". */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <time.h>

#include "client_fixture.h"
#include "common/alloc.h"
#include "harness.h"

static char g_ns[128];  /* name server address of the child */
static pid_t g_child;   /* the broker process */
static int g_ctl = -1;  /* write end: the child stops when it is closed */
static long g_failures; /* failed runs seen across groups (a run returning an error) */

/* ---- the broker child ------------------------------------------------------ */

static void child_main(int ready_fd, int ctl_fd)
{
    struct cfx f;
    char line[128] = "";
    if (cfx_start(&f) == 0 && cfx_topic(&f, "TopicOom", 2) == 0 &&
        cfx_topic(&f, "TopicOomTx", 2) == 0)
        snprintf(line, sizeof line, "%s\n", f.ns_addr);
    if (write(ready_fd, line, strlen(line) + 1) < 0)
        _exit(1);
    close(ready_fd);
    char c;
    while (read(ctl_fd, &c, 1) != 0 && errno == EINTR)
        ;
    cfx_stop(&f);
    _exit(0);
}

static void stop_child(void)
{
    if (g_ctl >= 0) {
        close(g_ctl);
        g_ctl = -1;
        int st;
        waitpid(g_child, &st, 0);
    }
}

TEST(broker_child_serves)
{
    /* First test: no thread exists yet, so fork() is safe. */
    int ready[2], ctl[2];
    ASSERT_EQ(pipe(ready), 0);
    ASSERT_EQ(pipe(ctl), 0);
    fflush(NULL);
    g_child = fork();
    ASSERT(g_child >= 0);
    if (g_child == 0) {
        close(ready[0]);
        close(ctl[1]);
        child_main(ready[1], ctl[0]);
    }
    close(ready[1]);
    close(ctl[0]);
    g_ctl = ctl[1];
    atexit(stop_child);
    char line[128] = "";
    size_t got = 0;
    ssize_t n;
    while (got < sizeof line - 1 && (n = read(ready[0], line + got, sizeof line - 1 - got)) > 0)
        got += (size_t)n;
    close(ready[0]);
    char *nl = strchr(line, '\n');
    ASSERT(nl != NULL);
    *nl = '\0';
    snprintf(g_ns, sizeof g_ns, "%s", line);
    /* From here on this process is an SDK host: no abort on OOM. */
    tern_alloc_set_abort_on_oom(false);
}

/* ---- the walk -------------------------------------------------------------- */

/* One run of a call group: 0 when every call succeeded, -1 when one reported
 * an error (expected only while a failure is injected). */
typedef int (*run_fn)(void);

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Walks fn with N = 1, 2, ...; above 64 the stride grows with N so that a
 * group stays within budget_s; past the budget one last run without any
 * injected failure closes the walk. Returns the number of runs. */
static long walk(const char *name, run_fn fn, double budget_s)
{
    double t0 = now_s();
    long runs = 0, errors = 0, n = 1;
    for (;;) {
        bool last = now_s() - t0 > budget_s;
        tern_alloc_fail_after(last ? 0 : n);
        int rc = fn();
        long left = tern_alloc_fail_pending();
        tern_alloc_fail_after(0);
        runs++;
        if (last || left > 0) {
            /* Nothing was injected in this run: it must have worked. */
            if (rc != 0)
                TEST_FAIL_("%s: run without an injected failure failed (N=%ld)", name, n);
            break;
        }
        if (rc != 0)
            errors++;
        n += n < 64 ? 1 : n / 16;
    }
    fprintf(stderr, "  %s: %ld runs, %ld reported an error, last N=%ld, %.1f s\n", name, runs,
            errors, n, now_s() - t0);
    g_failures += errors;
    return runs;
}

static ons_properties_t *props(const char *group)
{
    ons_properties_t *p = ons_properties_new();
    if (p == NULL)
        return NULL;
    if (ons_properties_put(p, ONS_NAMESRV_ADDR, g_ns) != 0 ||
        ons_properties_put(p, ONS_GROUP_ID, group) != 0 ||
        ons_properties_put(p, ONS_ACCESS_KEY, "ak") != 0 ||
        ons_properties_put(p, ONS_SECRET_KEY, "sk") != 0 ||
        ons_properties_put(p, ONS_SEND_MSG_TIMEOUT_MILLIS, "3000") != 0) {
        ons_properties_free(p);
        return NULL;
    }
    return p;
}

/* Frees ex and turns "an exception was raised" into -1. */
static int check(int rc, ons_exception_t *ex)
{
    ons_exception_free(ex);
    return rc;
}

/* ---- local objects --------------------------------------------------------- */

static int run_local(void)
{
    int rc = 0;
    ons_properties_t *p = ons_properties_new();
    if (!p || ons_properties_put(p, "k", "v") != 0 || ons_properties_put(p, "k", "w") != 0 ||
        strcmp(ons_properties_get(p, "k"), "w") != 0)
        rc = -1;
    ons_properties_free(p);

    ons_message_t *m = ons_message_new_with_key("TopicOom", "tag", "key", "body", 4);
    ons_message_t *m2 = ons_message_new();
    ons_message_t *m3 = ons_message_new_with_tag("TopicOom", "tag", "b", 1);
    if (!m || !m2 || !m3 || ons_message_put_user_properties(m, "a", "1", NULL) != 0 ||
        ons_message_set_topic(m2, "T") != 0 || ons_message_set_tag(m2, "t") != 0 ||
        ons_message_set_key(m2, "k") != 0 || ons_message_set_msg_id(m2, "id") != 0 ||
        ons_message_set_born_host(m2, "h") != 0 || ons_message_set_sharding_key(m2, "s") != 0 ||
        ons_message_set_body(m2, "xyz", 3) != 0)
        rc = -1;
    ons_message_t *c = ons_message_clone(m);
    if (m && !c)
        rc = -1;
    ons_message_free(c);
    ons_message_free(m3);
    ons_message_free(m2);
    ons_message_free(m);

    ons_exception_t *e1 = ons_exception_new_message("first");
    ons_exception_t *e2 = ons_exception_new_message_cause("second", e1); /* takes e1 */
    ons_exception_t *e3 = ons_exception_new();
    ons_exception_t *e4 = ons_exception_new_cause(ons_exception_new_message("x"));
    if (!e2 || !e3 || !e4)
        rc = -1;
    ons_exception_free(e4);
    ons_exception_free(e3);
    ons_exception_free(e2);

    ons_exception_t *ex = NULL;
    ons_action_t a;
    if (ons_action_value_of("CommitMessage", &a, &ex) != 0)
        rc = -1;
    ons_exception_free(ex);
    ex = NULL;
    (void)ons_action_value_of("NoSuchAction", &a, &ex); /* an exception, or none without memory */
    ons_exception_free(ex);

    ons_send_result_t *r = ons_send_result_new();
    char *s = r ? ons_send_result_to_string(r) : NULL;
    if (!r || !s)
        rc = -1;
    free(s);
    ons_send_result_free(r);
    return rc;
}

TEST(local_objects_survive_every_failure)
{
    walk("properties/message/exception/send result", run_local, 10);
}

/* ---- producers --------------------------------------------------------------- */

struct async_wait {
    _Atomic int done; /* 1 success, 2 exception */
};

static void on_ok(const ons_send_result_t *r, void *user)
{
    (void)r;
    atomic_store(&((struct async_wait *)user)->done, 1);
}

static void on_ex(const ons_on_exception_context_t *ctx, void *user)
{
    (void)ctx;
    atomic_store(&((struct async_wait *)user)->done, 2);
}

static int run_producer(void)
{
    ons_exception_t *ex = NULL;
    ons_properties_t *p = props("GID_oom_p");
    if (p == NULL)
        return -1;
    ons_producer_t *pr = ons_factory_create_producer(p, &ex);
    ons_properties_free(p);
    if (pr == NULL)
        return check(-1, ex);
    int rc = ons_producer_start(pr, &ex);
    ons_message_t *m = ons_message_new_with_key("TopicOom", "tag", "key", "hello", 5);
    char big[1024];
    memset(big, 'p', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    if (m == NULL || ons_message_put_user_properties(m, "big", big, NULL) != 0)
        rc = -1;
    if (rc == 0) {
        ons_send_result_t *res = NULL;
        rc = ons_producer_send(pr, m, &res, &ex);
        if (rc == 0 && (res == NULL || ons_send_result_get_message_id(res) == NULL))
            rc = -1;
        ons_send_result_free(res);
    }
    if (rc == 0)
        rc = ons_producer_send_oneway(pr, m, &ex);
    if (rc == 0) {
        struct async_wait w = {0};
        ons_send_callback_t cb = {on_ok, on_ex, &w};
        rc = ons_producer_send_async(pr, m, &cb, &ex);
        if (rc == 0) {
            /* Exactly one callback runs; shutdown waits for it too. */
            for (int i = 0; i < 500 && atomic_load(&w.done) == 0; i++)
                usleep(10000);
            rc = atomic_load(&w.done) == 1 ? 0 : -1;
        }
    }
    ons_message_free(m);
    ons_producer_shutdown(pr);
    ons_producer_destroy(pr);
    return check(rc, ex);
}

TEST(producer_survives_every_failure)
{
    walk("producer create/start/send/oneway/async/shutdown", run_producer, 14);
}

static int run_order_producer(void)
{
    ons_exception_t *ex = NULL;
    ons_properties_t *p = props("GID_oom_op");
    if (p == NULL)
        return -1;
    ons_order_producer_t *op = ons_factory_create_order_producer(p, &ex);
    ons_properties_free(p);
    if (op == NULL)
        return check(-1, ex);
    int rc = ons_order_producer_start(op, &ex);
    ons_message_t *m = ons_message_new_with_key("TopicOom", "tag", "key", "ordered", 7);
    if (m == NULL)
        rc = -1;
    if (rc == 0) {
        ons_send_result_t *res = NULL;
        rc = ons_order_producer_send(op, m, "shard-1", &res, &ex);
        ons_send_result_free(res);
    }
    ons_message_free(m);
    ons_order_producer_shutdown(op);
    ons_order_producer_destroy(op);
    return check(rc, ex);
}

TEST(order_producer_survives_every_failure)
{
    walk("order producer create/start/send/shutdown", run_order_producer, 7);
}

static ons_transaction_status_t commit(const ons_message_t *m, void *arg)
{
    (void)m;
    (void)arg;
    return ONS_COMMIT_TRANSACTION;
}

static int run_txn_producer(void)
{
    ons_exception_t *ex = NULL;
    ons_properties_t *p = props("GID_oom_tx");
    if (p == NULL)
        return -1;
    ons_transaction_producer_t *tp = ons_factory_create_transaction_producer(p, commit, NULL, &ex);
    ons_properties_free(p);
    if (tp == NULL)
        return check(-1, ex);
    int rc = ons_transaction_producer_start(tp, &ex);
    ons_message_t *m = ons_message_new_with_key("TopicOomTx", "tag", "key", "txn", 3);
    if (m == NULL)
        rc = -1;
    if (rc == 0) {
        ons_send_result_t *res = NULL;
        rc = ons_transaction_producer_send(tp, m, commit, NULL, &res, &ex);
        ons_send_result_free(res);
    }
    ons_message_free(m);
    ons_transaction_producer_shutdown(tp);
    ons_transaction_producer_destroy(tp);
    return check(rc, ex);
}

TEST(transaction_producer_survives_every_failure)
{
    walk("transaction producer create/start/send/shutdown", run_txn_producer, 7);
}

/* ---- consumers --------------------------------------------------------------- */

static ons_action_t listen_one(const ons_message_t *m, ons_consume_context_t *ctx, void *user)
{
    (void)m;
    (void)ctx;
    (void)user;
    return ONS_ACTION_COMMIT_MESSAGE;
}

static ons_order_action_t listen_order(const ons_message_t *m, ons_consume_order_context_t *ctx,
                                       void *user)
{
    (void)m;
    (void)ctx;
    (void)user;
    return ONS_ORDER_ACTION_SUCCESS;
}

static ons_action_t listen_batch(const ons_message_t *const *msgs, size_t n,
                                 ons_consume_context_t *ctx, void *user)
{
    (void)msgs;
    (void)n;
    (void)ctx;
    (void)user;
    return ONS_ACTION_COMMIT_MESSAGE;
}

static int run_consumer(void)
{
    ons_exception_t *ex = NULL;
    ons_properties_t *p = props("GID_oom_c");
    if (p == NULL)
        return -1;
    ons_consumer_t *c = ons_factory_create_consumer(p, &ex);
    ons_properties_free(p);
    if (c == NULL)
        return check(-1, ex);
    int rc = ons_consumer_subscribe(c, "TopicOom", "tag || other", listen_one, NULL, &ex);
    if (rc == 0)
        rc = ons_consumer_start(c, &ex);
    ons_consumer_shutdown(c);
    ons_consumer_destroy(c);
    return check(rc, ex);
}

TEST(consumer_survives_every_failure)
{
    walk("consumer create/subscribe/start/shutdown", run_consumer, 8);
}

static int run_order_consumer(void)
{
    ons_exception_t *ex = NULL;
    ons_properties_t *p = props("GID_oom_oc");
    if (p == NULL)
        return -1;
    ons_order_consumer_t *c = ons_factory_create_ordered_consumer(p, &ex);
    ons_properties_free(p);
    if (c == NULL)
        return check(-1, ex);
    int rc = ons_order_consumer_subscribe(c, "TopicOom", "*", listen_order, NULL, &ex);
    if (rc == 0)
        rc = ons_order_consumer_start(c, &ex);
    ons_order_consumer_shutdown(c);
    ons_order_consumer_destroy(c);
    return check(rc, ex);
}

TEST(order_consumer_survives_every_failure)
{
    walk("order consumer create/subscribe/start/shutdown", run_order_consumer, 6);
}

static int run_batch_consumer(void)
{
    ons_exception_t *ex = NULL;
    ons_properties_t *p = props("GID_oom_bc");
    if (p == NULL)
        return -1;
    ons_batch_consumer_t *c = ons_factory_create_batch_consumer(p, &ex);
    ons_properties_free(p);
    if (c == NULL)
        return check(-1, ex);
    int rc = ons_batch_consumer_subscribe(c, "TopicOom", "*", listen_batch, NULL, &ex);
    if (rc == 0)
        rc = ons_batch_consumer_start(c, &ex);
    ons_batch_consumer_shutdown(c);
    ons_batch_consumer_destroy(c);
    return check(rc, ex);
}

TEST(batch_consumer_survives_every_failure)
{
    walk("batch consumer create/subscribe/start/shutdown", run_batch_consumer, 6);
}

TEST(failures_were_injected_and_reported)
{
    /* The walk is only a walk if failures happened and calls reported them. */
    ASSERT(tern_alloc_failures_injected() > 0);
    ASSERT(g_failures > 0);
    stop_child();
}

TEST_MAIN()
