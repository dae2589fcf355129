/* SPDX-License-Identifier: Apache-2.0 */
/* test_client.c: rclient against a real server on loopback: many threads,
 * async calls, server-initiated requests, timeouts, failures and reconnects.
 * Prints (does not assert) throughput numbers. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "rtest.h"

#include "common/clock.h"
#include "common/error.h"
#include "protocol/codes.h"
#include "remoting/remoting.h"

#define CODE_ECHO  1000
#define CODE_HELLO 1002
#define CODE_CLOSE 1003
#define CODE_HOLD  1005

#define CCODE_PING   2000
#define CCODE_SILENT 2001
#define CCODE_NOTIFY 2002

/* ---- server side ------------------------------------------------------ */

struct sctx {
    pthread_mutex_t mu;
    struct rconn *hello_conn; /* guarded by mu; one reference */
    struct rreq *held;        /* guarded by mu; never answered */
};

static void echo_handler(void *ctx, struct rreq *req)
{
    (void)ctx;
    struct rcmd resp;
    rcmd_init_response(&resp, &req->cmd, RESP_SUCCESS);
    tern_bytes_t n = rcmd_get(&req->cmd, "n");
    if (n.ptr)
        rcmd_add(&resp, "n", n);
    resp.body = req->cmd.body;
    rreq_respond(req, &resp);
    rcmd_deinit(&resp);
}

static void hello_handler(void *ctx, struct rreq *req)
{
    struct sctx *s = ctx;
    pthread_mutex_lock(&s->mu);
    if (s->hello_conn)
        rconn_unref(s->hello_conn);
    s->hello_conn = req->conn;
    rconn_ref(req->conn);
    pthread_mutex_unlock(&s->mu);
    rreq_respond_code(req, RESP_SUCCESS, NULL);
}

static void close_handler(void *ctx, struct rreq *req)
{
    (void)ctx;
    rconn_close(req->conn); /* on the loop thread, mid-read */
    rreq_free(req);
}

static void hold_handler(void *ctx, struct rreq *req)
{
    struct sctx *s = ctx;
    pthread_mutex_lock(&s->mu);
    rreq_free(s->held);
    s->held = req;
    pthread_mutex_unlock(&s->mu);
}

static const struct rprocessor g_srv_table[] = {
    {CODE_HOLD, "HOLD", hold_handler, 0},
    {CODE_ECHO, "ECHO", echo_handler, 0},
    {CODE_HELLO, "HELLO", hello_handler, 0},
    {CODE_CLOSE, "CLOSE", close_handler, 0},
};

static struct rserver *start_server_on(struct sctx *s, int port)
{
    memset(s, 0, sizeof(*s));
    pthread_mutex_init(&s->mu, NULL);
    struct rserver_opts o = {
        .bind_host = "127.0.0.1",
        .port = port,
        .io_threads = 2,
        .table = g_srv_table,
        .ntable = sizeof(g_srv_table) / sizeof(g_srv_table[0]),
        .ctx = s,
    };
    struct rserver *srv = NULL;
    return rserver_start(&o, &srv) == TERN_OK ? srv : NULL;
}

static void stop_server(struct rserver *srv, struct sctx *s)
{
    rserver_stop(srv);
    rreq_free(s->held); /* its connection is closed: nothing is sent */
    s->held = NULL;
    if (s->hello_conn)
        rconn_unref(s->hello_conn);
    s->hello_conn = NULL;
    pthread_mutex_destroy(&s->mu);
}

/* ---- client side ------------------------------------------------------ */

struct cctx {
    atomic_int pings;
    atomic_int notifies;
    atomic_int non_json;
    atomic_int silent;
    atomic_int oneway_flag_ok;
};

static void ping_handler(void *ctx, struct rreq *req)
{
    struct cctx *c = ctx;
    atomic_fetch_add(&c->pings, 1);
    if (req->cmd.serialize_type != RCMD_JSON)
        atomic_fetch_add(&c->non_json, 1);
    struct rcmd resp;
    rcmd_init_response(&resp, &req->cmd, RESP_SUCCESS);
    rcmd_add_cstr(&resp, "x", "pong");
    rreq_respond(req, &resp);
    rcmd_deinit(&resp);
}

static void silent_handler(void *ctx, struct rreq *req)
{
    struct cctx *c = ctx;
    atomic_fetch_add(&c->silent, 1);
    rreq_free(req);
}

static void notify_handler(void *ctx, struct rreq *req)
{
    struct cctx *c = ctx;
    if (rreq_is_oneway(req))
        atomic_fetch_add(&c->oneway_flag_ok, 1);
    atomic_fetch_add(&c->notifies, 1);
    rreq_respond_code(req, RESP_SUCCESS, "must not be sent");
}

static const struct rprocessor g_cli_table[] = {
    {CCODE_PING, "PING", ping_handler, 0},
    {CCODE_SILENT, "SILENT", silent_handler, 0},
    {CCODE_NOTIFY, "NOTIFY", notify_handler, 0},
};

/* A one-shot completion a test thread can wait on. */
struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool is_done;
    int err;
    int code;
    char x[32];
    int64_t at_ms;
};

static void waiter_init(struct waiter *w)
{
    memset(w, 0, sizeof(*w));
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
}

static void waiter_deinit(struct waiter *w)
{
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
}

static void waiter_cb(void *arg, int err, struct rcmd *resp)
{
    struct waiter *w = arg;
    pthread_mutex_lock(&w->mu);
    w->err = err;
    if (resp) {
        w->code = resp->code;
        tern_bytes_t x = rcmd_get(resp, "x");
        if (x.ptr && x.len < sizeof(w->x))
            memcpy(w->x, x.ptr, x.len);
    }
    w->at_ms = clock_mono_ms();
    w->is_done = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static bool waiter_wait(struct waiter *w, int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&w->mu);
    while (!w->is_done) {
        if (pthread_cond_timedwait(&w->cv, &w->mu, &ts) != 0)
            break;
    }
    bool done = w->is_done;
    pthread_mutex_unlock(&w->mu);
    return done;
}

static void addr_of(char *buf, size_t n, int port)
{
    snprintf(buf, n, "127.0.0.1:%d", port);
}

/* Says hello so the server keeps a reference to our connection. */
static struct rconn *hello(struct rclient *cli, const char *addr, struct sctx *s)
{
    struct rcmd req;
    rcmd_init(&req);
    req.code = CODE_HELLO;
    struct rresp out;
    rresp_init(&out);
    int err = rclient_call_sync(cli, addr, &req, 3000, &out);
    rresp_deinit(&out);
    rcmd_deinit(&req);
    if (err)
        return NULL;
    pthread_mutex_lock(&s->mu);
    struct rconn *c = s->hello_conn;
    rconn_ref(c);
    pthread_mutex_unlock(&s->mu);
    return c;
}

TEST(server_initiated_request_reaches_client_table)
{
    struct sctx s;
    struct rserver *srv = start_server_on(&s, 0);
    ASSERT(srv != NULL);
    struct cctx cc = {0};
    struct rclient_opts co = {.table = g_cli_table, .ntable = 3, .ctx = &cc};
    struct rclient *cli = NULL;
    ASSERT_EQ(rclient_new(&co, &cli), TERN_OK);
    char addr[32];
    addr_of(addr, sizeof(addr), rserver_port(srv));
    struct rconn *c = hello(cli, addr, &s);
    ASSERT(c != NULL);

    struct waiter w;
    waiter_init(&w);
    struct rcmd req;
    rcmd_init(&req);
    req.code = CCODE_PING;
    req.serialize_type = RCMD_ROCKETMQ; /* forced to JSON on the wire */
    ASSERT_EQ(rconn_send_request(c, &req, 2000, waiter_cb, &w), TERN_OK);
    ASSERT(req.opaque > 0);
    ASSERT(waiter_wait(&w, 3000));
    ASSERT_EQ(w.err, TERN_OK);
    ASSERT_EQ(w.code, RESP_SUCCESS);
    ASSERT_STR_EQ(w.x, "pong");
    ASSERT_EQ(atomic_load(&cc.pings), 1);
    ASSERT_EQ(atomic_load(&cc.non_json), 0);

    /* Oneway: handled with the oneway flag, its "answer" never sent. */
    rcmd_deinit(&req);
    rcmd_init(&req);
    req.code = CCODE_NOTIFY;
    ASSERT_EQ(rconn_send_oneway(c, &req), TERN_OK);
    int waited = 0;
    while (atomic_load(&cc.notifies) < 1 && waited++ < 400)
        sleep_ms(5);
    ASSERT_EQ(atomic_load(&cc.oneway_flag_ok), 1);

    /* The client still works both ways afterwards. */
    struct waiter w2;
    waiter_init(&w2);
    rcmd_deinit(&req);
    rcmd_init(&req);
    req.code = CCODE_PING;
    ASSERT_EQ(rconn_send_request(c, &req, 2000, waiter_cb, &w2), TERN_OK);
    ASSERT(waiter_wait(&w2, 3000));
    ASSERT_EQ(w2.err, TERN_OK);
    ASSERT_EQ(atomic_load(&cc.pings), 2);

    rcmd_deinit(&req);
    waiter_deinit(&w);
    waiter_deinit(&w2);
    rconn_unref(c);
    rclient_free(cli);
    stop_server(srv, &s);
}

TEST(server_request_timeout_and_close)
{
    struct sctx s;
    struct rserver *srv = start_server_on(&s, 0);
    ASSERT(srv != NULL);
    struct cctx cc = {0};
    struct rclient_opts co = {.table = g_cli_table, .ntable = 3, .ctx = &cc};
    struct rclient *cli = NULL;
    ASSERT_EQ(rclient_new(&co, &cli), TERN_OK);
    char addr[32];
    addr_of(addr, sizeof(addr), rserver_port(srv));
    struct rconn *c = hello(cli, addr, &s);
    ASSERT(c != NULL);

    struct waiter w;
    waiter_init(&w);
    struct rcmd req;
    rcmd_init(&req);
    req.code = CCODE_SILENT;
    int64_t t0 = clock_mono_ms();
    ASSERT_EQ(rconn_send_request(c, &req, 200, waiter_cb, &w), TERN_OK);
    ASSERT(waiter_wait(&w, 3000));
    ASSERT_EQ(w.err, TERN_ETIMEOUT);
    ASSERT(w.at_ms - t0 >= 190);
    ASSERT(w.at_ms - t0 < 1500);
    ASSERT_EQ(atomic_load(&cc.silent), 1);

    /* A pending request fails with TERN_ECLOSED when the client goes away. */
    struct waiter w2;
    waiter_init(&w2);
    t0 = clock_mono_ms();
    ASSERT_EQ(rconn_send_request(c, &req, 10000, waiter_cb, &w2), TERN_OK);
    int waited = 0;
    while (atomic_load(&cc.silent) < 2 && waited++ < 400)
        sleep_ms(5);
    rclient_free(cli);
    ASSERT(waiter_wait(&w2, 3000));
    ASSERT_EQ(w2.err, TERN_ECLOSED);
    ASSERT(w2.at_ms - t0 < 5000);
    waited = 0;
    while (!rconn_is_closed(c) && waited++ < 400)
        sleep_ms(5);
    ASSERT(rconn_is_closed(c));
    ASSERT_EQ(rconn_send_request(c, &req, 100, waiter_cb, &w2), TERN_ECLOSED);
    ASSERT_EQ(rconn_send_oneway(c, &req), TERN_ECLOSED);

    rcmd_deinit(&req);
    waiter_deinit(&w);
    waiter_deinit(&w2);
    rconn_unref(c);
    stop_server(srv, &s);
}

struct sync_arg {
    struct rclient *cli;
    const char *addr;
    int tid;
    int calls;
    int ok;
};

static void *sync_thread(void *arg)
{
    struct sync_arg *a = arg;
    struct rresp out;
    rresp_init(&out);
    char n[32];
    for (int i = 0; i < a->calls; i++) {
        struct rcmd req;
        rcmd_init(&req);
        req.code = CODE_ECHO;
        req.serialize_type = (uint8_t)(i % 2);
        snprintf(n, sizeof(n), "%d-%d", a->tid, i);
        rcmd_add_cstr(&req, "n", n);
        int err = rclient_call_sync(a->cli, a->addr, &req, 5000, &out);
        if (err == TERN_OK && out.cmd.opaque == req.opaque &&
            tern_bytes_eq_cstr(rcmd_get(&out.cmd, "n"), n) &&
            out.cmd.serialize_type == req.serialize_type)
            a->ok++;
        rcmd_deinit(&req);
    }
    rresp_deinit(&out);
    return NULL;
}

TEST(sync_calls_from_64_threads)
{
    struct sctx s;
    struct rserver *srv = start_server_on(&s, 0);
    ASSERT(srv != NULL);
    struct rclient *cli = NULL;
    ASSERT_EQ(rclient_new(NULL, &cli), TERN_OK);
    char addr[32];
    addr_of(addr, sizeof(addr), rserver_port(srv));
    enum { THREADS = 64, CALLS = 1000 };
    pthread_t th[THREADS];
    struct sync_arg args[THREADS];
    int64_t t0 = clock_mono_ns();
    for (int i = 0; i < THREADS; i++) {
        args[i] = (struct sync_arg){.cli = cli, .addr = addr, .tid = i, .calls = CALLS};
        ASSERT_EQ(pthread_create(&th[i], NULL, sync_thread, &args[i]), 0);
    }
    int ok = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        ok += args[i].ok;
    }
    double secs = (double)(clock_mono_ns() - t0) / 1e9;
    printf("  sync: %d threads x %d calls in %.2f s = %.0f calls/s\n", THREADS, CALLS, secs,
           THREADS * CALLS / secs);
    ASSERT_EQ(ok, THREADS * CALLS);
    rclient_free(cli);
    stop_server(srv, &s);
}

TEST(large_body_round_trip)
{
    struct sctx s;
    struct rserver *srv = start_server_on(&s, 0);
    ASSERT(srv != NULL);
    struct rclient *cli = NULL;
    ASSERT_EQ(rclient_new(NULL, &cli), TERN_OK);
    char addr[32];
    addr_of(addr, sizeof(addr), rserver_port(srv));
    size_t n = 4 * 1024 * 1024;
    uint8_t *body = malloc(n);
    for (size_t i = 0; i < n; i++)
        body[i] = (uint8_t)(i * 7 + (i >> 12));
    struct rcmd req;
    rcmd_init(&req);
    req.code = CODE_ECHO;
    req.body = tern_bytes(body, n);
    struct rresp out;
    rresp_init(&out);
    for (int ser = RCMD_JSON; ser <= RCMD_ROCKETMQ; ser++) {
        req.serialize_type = (uint8_t)ser;
        ASSERT_EQ(rclient_call_sync(cli, addr, &req, 5000, &out), TERN_OK);
        ASSERT_EQ(out.cmd.body.len, n);
        ASSERT(memcmp(out.cmd.body.ptr, body, n) == 0);
    }
    rresp_deinit(&out);
    rcmd_deinit(&req);
    free(body);
    rclient_free(cli);
    stop_server(srv, &s);
}

struct async_state {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int inflight; /* guarded by mu */
    int done;     /* guarded by mu */
    int ok;       /* guarded by mu */
};

static void async_cb(void *arg, int err, struct rcmd *resp)
{
    struct async_state *st = arg;
    pthread_mutex_lock(&st->mu);
    st->inflight--;
    st->done++;
    if (err == TERN_OK && resp->code == RESP_SUCCESS)
        st->ok++;
    pthread_cond_signal(&st->cv);
    pthread_mutex_unlock(&st->mu);
}

TEST(async_calls_windowed)
{
    struct sctx s;
    struct rserver *srv = start_server_on(&s, 0);
    ASSERT(srv != NULL);
    struct rclient *cli = NULL;
    ASSERT_EQ(rclient_new(NULL, &cli), TERN_OK);
    char addr[32];
    addr_of(addr, sizeof(addr), rserver_port(srv));
    struct async_state st = {.inflight = 0};
    pthread_mutex_init(&st.mu, NULL);
    pthread_cond_init(&st.cv, NULL);
#ifdef __SANITIZE_ADDRESS__
    enum { TOTAL = 20000, WINDOW = 2000 }; /* keep the sanitizer run short */
#else
    enum { TOTAL = 100000, WINDOW = 2000 };
#endif
    uint8_t body[128];
    memset(body, 'b', sizeof(body));
    int64_t t0 = clock_mono_ns();
    for (int i = 0; i < TOTAL; i++) {
        pthread_mutex_lock(&st.mu);
        while (st.inflight >= WINDOW)
            pthread_cond_wait(&st.cv, &st.mu);
        st.inflight++;
        pthread_mutex_unlock(&st.mu);
        struct rcmd req;
        rcmd_init(&req);
        req.code = CODE_ECHO;
        req.serialize_type = RCMD_ROCKETMQ;
        rcmd_add_cstr(&req, "topic", "TopicTest");
        req.body = tern_bytes(body, sizeof(body));
        ASSERT_EQ(rclient_call(cli, addr, &req, 10000, async_cb, &st), TERN_OK);
        rcmd_deinit(&req);
    }
    pthread_mutex_lock(&st.mu);
    while (st.done < TOTAL)
        pthread_cond_wait(&st.cv, &st.mu);
    int ok = st.ok;
    pthread_mutex_unlock(&st.mu);
    double secs = (double)(clock_mono_ns() - t0) / 1e9;
    printf("  async: %d calls (window %d) in %.2f s = %.0f calls/s\n", TOTAL, WINDOW, secs,
           TOTAL / secs);
    ASSERT_EQ(ok, TOTAL);
    rclient_free(cli);
    pthread_cond_destroy(&st.cv);
    pthread_mutex_destroy(&st.mu);
    stop_server(srv, &s);
}

static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    socklen_t sl = sizeof(sa);
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    close(fd);
    return ntohs(sa.sin_port);
}

TEST(call_to_closed_port_fails_fast)
{
    struct rclient *cli = NULL;
    ASSERT_EQ(rclient_new(NULL, &cli), TERN_OK);
    char addr[32];
    addr_of(addr, sizeof(addr), closed_port());
    struct rcmd req;
    rcmd_init(&req);
    req.code = CODE_ECHO;
    struct rresp out;
    rresp_init(&out);
    int64_t t0 = clock_mono_ms();
    int err = rclient_call_sync(cli, addr, &req, 3000, &out);
    ASSERT(err != TERN_OK);
    ASSERT(err != TERN_ETIMEOUT);
    ASSERT(clock_mono_ms() - t0 < 1000);
    struct waiter w;
    waiter_init(&w);
    ASSERT_EQ(rclient_call(cli, addr, &req, 3000, waiter_cb, &w), TERN_OK);
    ASSERT(waiter_wait(&w, 2000));
    ASSERT(w.err != TERN_OK);
    /* Bad addresses are refused up front; the callback never runs. */
    ASSERT_EQ(rclient_call(cli, "nocolon", &req, 100, waiter_cb, &w), TERN_EINVALID);
    ASSERT_EQ(rclient_call(cli, "127.0.0.1:99999", &req, 100, waiter_cb, &w), TERN_EINVALID);
    ASSERT_EQ(rclient_oneway(cli, "127.0.0.1:", &req), TERN_EINVALID);
    waiter_deinit(&w);
    rresp_deinit(&out);
    rcmd_deinit(&req);
    rclient_free(cli);
}

TEST(reconnect_after_server_close_and_restart)
{
    struct sctx s;
    struct rserver *srv = start_server_on(&s, 0);
    ASSERT(srv != NULL);
    int port = rserver_port(srv);
    struct rclient *cli = NULL;
    ASSERT_EQ(rclient_new(NULL, &cli), TERN_OK);
    char addr[32];
    snprintf(addr, sizeof(addr), "localhost:%d", port);
    struct rcmd req;
    rcmd_init(&req);
    req.code = CODE_CLOSE;
    struct rresp out;
    rresp_init(&out);
    /* The server closes the connection mid-call: the call fails, not hangs. */
    ASSERT_EQ(rclient_call_sync(cli, addr, &req, 3000, &out), TERN_ECLOSED);
    req.code = CODE_ECHO;
    ASSERT_EQ(rclient_call_sync(cli, addr, &req, 3000, &out), TERN_OK);
    ASSERT_EQ(out.cmd.code, RESP_SUCCESS);
    /* Server goes away and comes back on the same port. */
    stop_server(srv, &s);
    int err = rclient_call_sync(cli, addr, &req, 3000, &out);
    ASSERT(err != TERN_OK);
    srv = start_server_on(&s, port);
    ASSERT(srv != NULL);
    int ok = 0;
    for (int i = 0; i < 3 && !ok; i++)
        ok = rclient_call_sync(cli, addr, &req, 3000, &out) == TERN_OK;
    ASSERT(ok);
    rresp_deinit(&out);
    rcmd_deinit(&req);
    rclient_free(cli);
    stop_server(srv, &s);
}

struct nested {
    struct rclient *cli;
    int inner_err;
    struct waiter w;
};

static void nested_cb(void *arg, int err, struct rcmd *resp)
{
    struct nested *n = arg;
    (void)resp;
    struct rcmd req;
    rcmd_init(&req);
    struct rresp out;
    rresp_init(&out);
    /* On the client's loop thread a blocking call would wait for itself. */
    n->inner_err = rclient_call_sync(n->cli, "127.0.0.1:1", &req, 100, &out);
    rresp_deinit(&out);
    rcmd_deinit(&req);
    waiter_cb(&n->w, err, NULL);
}

TEST(sync_call_on_loop_thread_refused_and_free_fails_pending)
{
    struct sctx s;
    struct rserver *srv = start_server_on(&s, 0);
    ASSERT(srv != NULL);
    struct rclient *cli = NULL;
    ASSERT_EQ(rclient_new(NULL, &cli), TERN_OK);
    char addr[32];
    addr_of(addr, sizeof(addr), rserver_port(srv));
    struct nested n = {.cli = cli};
    waiter_init(&n.w);
    struct rcmd req;
    rcmd_init(&req);
    req.code = CODE_ECHO;
    ASSERT_EQ(rclient_call(cli, addr, &req, 3000, nested_cb, &n), TERN_OK);
    ASSERT(waiter_wait(&n.w, 3000));
    ASSERT_EQ(n.w.err, TERN_OK);
    ASSERT_EQ(n.inner_err, TERN_EINVALID);

    /* Calls still pending when the client is freed complete with ECLOSED. */
    struct cctx cc = {0};
    struct rclient_opts co = {.table = g_cli_table, .ntable = 3, .ctx = &cc};
    struct rclient *cli2 = NULL;
    ASSERT_EQ(rclient_new(&co, &cli2), TERN_OK);
    struct rconn *c = hello(cli2, addr, &s);
    ASSERT(c != NULL);
    /* The server asks the client something the client never answers... */
    struct waiter ws;
    waiter_init(&ws);
    req.code = CCODE_SILENT;
    ASSERT_EQ(rconn_send_request(c, &req, 10000, waiter_cb, &ws), TERN_OK);
    /* ...and the client has a call the server holds without answering. */
    struct waiter wc;
    waiter_init(&wc);
    req.code = CODE_HOLD;
    ASSERT_EQ(rclient_call(cli2, addr, &req, 10000, waiter_cb, &wc), TERN_OK);
    int waited = 0;
    for (bool held = false; !held && waited++ < 400; sleep_ms(5)) {
        pthread_mutex_lock(&s.mu);
        held = s.held != NULL;
        pthread_mutex_unlock(&s.mu);
    }
    rclient_free(cli2);
    ASSERT(waiter_wait(&wc, 3000));
    ASSERT_EQ(wc.err, TERN_ECLOSED);
    ASSERT(waiter_wait(&ws, 3000));
    ASSERT_EQ(ws.err, TERN_ECLOSED);
    rconn_unref(c);
    waiter_deinit(&ws);
    waiter_deinit(&wc);
    waiter_deinit(&n.w);
    rcmd_deinit(&req);
    rclient_free(cli);
    stop_server(srv, &s);
}

/* Batches the way the async producer does: callbacks collect, the deferred
 * function runs once per loop iteration and takes what they collected. */
struct defer_state {
    struct rclient *cli;
    atomic_int done;   /* callbacks run */
    int pending;       /* loop thread only: callbacks since the last flush */
    int flushed;       /* loop thread only: callbacks accounted by flushes */
    int flushes;       /* loop thread only */
    int empty_flushes; /* loop thread only: flushes that found nothing */
    int defer_err;     /* loop thread only: first rclient_defer error */
};

static void defer_flush(void *arg)
{
    struct defer_state *d = arg;
    d->flushes++;
    if (d->pending == 0)
        d->empty_flushes++;
    d->flushed += d->pending;
    d->pending = 0;
}

static void defer_cb(void *arg, int err, struct rcmd *resp)
{
    (void)err;
    (void)resp;
    struct defer_state *d = arg;
    if (d->pending++ == 0) {
        int rc = rclient_defer(d->cli, defer_flush, d);
        if (rc != TERN_OK && d->defer_err == TERN_OK)
            d->defer_err = rc;
    }
    atomic_fetch_add(&d->done, 1);
}

TEST(defer_runs_after_the_callbacks_of_an_iteration)
{
    struct sctx s;
    struct rserver *srv = start_server_on(&s, 0);
    ASSERT(srv != NULL);
    struct rclient *cli = NULL;
    ASSERT_EQ(rclient_new(NULL, &cli), TERN_OK);
    char addr[32];
    addr_of(addr, sizeof(addr), rserver_port(srv));
    struct defer_state d = {.cli = cli};
    /* Off the loop thread there is no iteration to run at the end of. */
    ASSERT_EQ(rclient_defer(cli, defer_flush, &d), TERN_EINVALID);
    enum { N = 2000 };
    struct rcmd req;
    rcmd_init(&req);
    req.code = CODE_ECHO;
    for (int i = 0; i < N; i++)
        ASSERT_EQ(rclient_call(cli, addr, &req, 10000, defer_cb, &d), TERN_OK);
    for (int waited = 0; atomic_load(&d.done) < N && waited < 1000; waited++)
        sleep_ms(5);
    ASSERT_EQ(atomic_load(&d.done), N);
    /* A call held by the server completes when the client is freed; what its
     * callback defers still runs. */
    req.code = CODE_HOLD;
    ASSERT_EQ(rclient_call(cli, addr, &req, 10000, defer_cb, &d), TERN_OK);
    for (bool held = false; !held; sleep_ms(5)) {
        pthread_mutex_lock(&s.mu);
        held = s.held != NULL;
        pthread_mutex_unlock(&s.mu);
    }
    rclient_free(cli); /* joins the loop thread: d is ours again */
    ASSERT_EQ(atomic_load(&d.done), N + 1);
    ASSERT_EQ(d.defer_err, TERN_OK);
    ASSERT_EQ(d.pending, 0);
    ASSERT_EQ(d.flushed, N + 1);
    ASSERT_EQ(d.empty_flushes, 0);
    /* Responses read together were flushed together (not asserted: a loaded
     * machine may deliver them one by one). */
    printf("  defer: %d callbacks in %d flushes\n", N + 1, d.flushes);
    rcmd_deinit(&req);
    stop_server(srv, &s);
}

TEST_MAIN()
