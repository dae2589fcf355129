/* SPDX-License-Identifier: Apache-2.0 */
/* client.c: the RPC client: one loop thread, one connection per "host:port".
 *
 * Callers on any thread encode their request (opaque assigned) and post it;
 * the loop finds or opens the connection (non-blocking connect with a
 * timeout), registers the call and batches the write. Names are resolved on
 * the calling thread (numeric fast path, then a cache under dns_mu), never on
 * the loop. A failed connection fails its calls and leaves the map, so the
 * next call reconnects. See docs/design/remoting.md. */
#include <errno.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "common/error.h"
#include "common/log.h"
#include "common/strmap.h"
#include "common/alloc.h"
#include "remoting/call.h"
#include "remoting/conn.h"
#include "remoting/loop.h"
#include "remoting/remoting.h"
#include "remoting/tls.h"

#define DEFAULT_CONNECT_TIMEOUT_MS 3000
/* Finished calls (with their frame buffers) a client keeps for reuse. */
#define SPARE_CALL_BYTES (4u << 20)

struct rclient {
    struct loop *loop; /* one reference held */
    struct rdispatch disp;
    int connect_timeout_ms;
    struct rtls *tls; /* owned; NULL = plain connections */
    atomic_bool is_closing;
    /* Loop thread only. */
    strmap_t conns; /* "host:port" -> struct rconn (the loop's reference) */
    bool is_closed;
    struct loop_task defer_task;  /* runs the rclient_defer callbacks */
    struct rclient_defer *defers; /* owned array of ndefers (capdefers) */
    size_t ndefers, capdefers;
    bool is_defer_queued;
    struct spare spare_calls; /* finished calls for the next ones to reuse */
    /* Name cache. */
    pthread_mutex_t dns_mu;
    strmap_t dns; /* guarded by: dns_mu; host -> owned struct in_addr */
};

/* ---- addresses (calling thread) --------------------------------------- */

static int resolve(struct rclient *c, const char *addr, struct sockaddr_in *sa)
{
    const char *colon = strrchr(addr, ':');
    size_t hlen = colon ? (size_t)(colon - addr) : 0;
    if (!colon || hlen == 0 || hlen >= RCALL_ADDR_MAX || !colon[1])
        return TERN_EINVALID;
    long port = 0;
    for (const char *p = colon + 1; *p; p++) {
        if (*p < '0' || *p > '9' || port > 65535)
            return TERN_EINVALID;
        port = port * 10 + (*p - '0');
    }
    if (port <= 0 || port > 65535)
        return TERN_EINVALID;
    char host[RCALL_ADDR_MAX];
    memcpy(host, addr, hlen);
    host[hlen] = '\0';
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &sa->sin_addr) == 1)
        return TERN_OK;
    if (!strcmp(host, "localhost")) {
        sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        return TERN_OK;
    }
    pthread_mutex_lock(&c->dns_mu);
    struct in_addr *cached = strmap_get_cstr(&c->dns, host);
    if (cached)
        sa->sin_addr = *cached;
    pthread_mutex_unlock(&c->dns_mu);
    if (cached)
        return TERN_OK;
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res)
        return TERN_EINVALID;
    sa->sin_addr = ((struct sockaddr_in *)res->ai_addr)->sin_addr;
    freeaddrinfo(res);
    /* The cache is an optimisation: without memory the next call resolves
     * again. */
    struct in_addr *copy = tern_malloc(sizeof(*copy));
    if (copy == NULL)
        return TERN_OK;
    *copy = sa->sin_addr;
    void *old = NULL;
    pthread_mutex_lock(&c->dns_mu);
    if (strmap_set(&c->dns, tern_cstr(host), copy, &old) != TERN_OK)
        old = copy;
    pthread_mutex_unlock(&c->dns_mu);
    free(old);
    return TERN_OK;
}

/* ---- connections (loop thread) ---------------------------------------- */

static void client_conn_closed(struct rconn *conn)
{
    struct rclient *c = conn->owner;
    if (conn->owner_key && strmap_get_cstr(&c->conns, conn->owner_key) == conn)
        strmap_del(&c->conns, tern_cstr(conn->owner_key));
}

static int client_connect(struct rclient *c, const char *addr, const struct sockaddr_in *sa,
                          struct rconn **out)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    bool is_connecting = false;
    if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0) {
        if (errno != EINPROGRESS) {
            int err = -errno;
            close(fd);
            return err;
        }
        is_connecting = true;
    }
    struct rconn *conn;
    int err = conn_new(c->loop, fd, &c->disp, SIZE_MAX, is_connecting, &conn);
    if (err)
        return err;
    if (c->tls && tls_conn_attach(conn, c->tls, false) != TERN_OK) {
        conn_close_now(conn, TERN_ENOMEM);
        return TERN_ENOMEM;
    }
    conn->peer_addr = *sa;
    snprintf(conn->peer, sizeof(conn->peer), "%s", addr);
    conn->owner = c;
    conn->owner_key = tern_strdup(addr);
    if (conn->owner_key == NULL || strmap_set(&c->conns, tern_cstr(addr), conn, NULL) != TERN_OK) {
        conn_close_now(conn, TERN_ENOMEM);
        return TERN_ENOMEM;
    }
    conn->owner_closed = client_conn_closed;
    if (is_connecting &&
        loop_timer_start(c->loop, &conn->connect_timer, c->connect_timeout_ms) != TERN_OK) {
        conn_close_now(conn, TERN_ENOMEM);
        return TERN_ENOMEM;
    }
    log_debug("remoting", "connecting conn id=%llu addr=%s", (unsigned long long)conn->id, addr);
    *out = conn;
    return TERN_OK;
}

static void call_task_fn(struct loop_task *t, bool cancelled)
{
    struct rcall *k = (struct rcall *)t;
    struct rclient *c = k->client;
    if (cancelled || c->is_closed) {
        conn_fail_call(k, TERN_ECLOSED);
        return;
    }
    struct rconn *conn = strmap_get_cstr(&c->conns, k->addr);
    if (!conn) {
        int err = client_connect(c, k->addr, &k->sa, &conn);
        if (err) {
            conn_fail_call(k, err);
            return;
        }
    }
    conn_start_call(conn, k);
}

static int submit(struct rclient *c, const char *addr, struct rcmd *req, bool is_oneway,
                  struct rcall *k)
{
    if (atomic_load(&c->is_closing)) {
        rcall_free(k);
        return TERN_ECLOSED;
    }
    size_t alen = strlen(addr);
    int err = alen < RCALL_ADDR_MAX ? resolve(c, addr, &k->sa) : TERN_EINVALID;
    if (err) {
        rcall_free(k);
        return err;
    }
    memcpy(k->addr, addr, alen + 1);
    k->client = c;
    if (rcall_encode(k, req, is_oneway, false) != TERN_OK) {
        rcall_free(k);
        return TERN_ENOMEM;
    }
    k->task.fn = call_task_fn;
    if (loop_on_thread(c->loop)) {
        /* From a callback: no post, no wake-up; the write joins this
         * iteration's flush. */
        call_task_fn(&k->task, false);
        return TERN_OK;
    }
    if ((k->is_lazy ? loop_post_lazy : loop_post)(c->loop, &k->task) != TERN_OK) {
        rcall_free(k);
        return TERN_ECLOSED;
    }
    return TERN_OK;
}

/* A call with a response callback; lazy ones may wait for the loop's next
 * wake-up (rclient_call_lazy). */
static int call_cb(struct rclient *c, const char *addr, struct rcmd *req, int timeout_ms,
                   rresp_fn cb, void *arg, bool lazy)
{
    struct rcall *k = rcall_take(&c->spare_calls);
    if (k == NULL)
        return TERN_ENOMEM;
    k->cb = cb;
    k->arg = arg;
    k->timeout_ms = timeout_ms;
    k->is_lazy = lazy;
    return submit(c, addr, req, false, k);
}

int rclient_call_lazy(struct rclient *c, const char *addr, struct rcmd *req, int timeout_ms,
                      rresp_fn cb, void *arg)
{
    return call_cb(c, addr, req, timeout_ms, cb, arg, true);
}

int rclient_call(struct rclient *c, const char *addr, struct rcmd *req, int timeout_ms, rresp_fn cb,
                 void *arg)
{
    return call_cb(c, addr, req, timeout_ms, cb, arg, false);
}

int rclient_oneway(struct rclient *c, const char *addr, struct rcmd *req)
{
    struct rcall *k = rcall_take(&c->spare_calls);
    if (k == NULL)
        return TERN_ENOMEM;
    return submit(c, addr, req, true, k);
}

/* ---- end-of-iteration callbacks --------------------------------------- */

struct rclient_defer {
    void (*fn)(void *arg);
    void *arg;
};

static void defer_task_fn(struct loop_task *t, bool cancelled)
{
    (void)cancelled;
    struct rclient *c = (struct rclient *)((char *)t - offsetof(struct rclient, defer_task));
    /* A callback that defers again is appended and runs in this walk. */
    for (size_t i = 0; i < c->ndefers; i++) {
        struct rclient_defer d = c->defers[i];
        d.fn(d.arg);
    }
    c->ndefers = 0;
    c->is_defer_queued = false;
}

int rclient_defer(struct rclient *c, void (*fn)(void *arg), void *arg)
{
    if (!loop_on_thread(c->loop))
        return TERN_EINVALID;
    if (c->ndefers == c->capdefers) {
        size_t ncap = c->capdefers ? c->capdefers * 2 : 4;
        struct rclient_defer *nd = tern_realloc(c->defers, ncap * sizeof(*nd));
        if (nd == NULL)
            return TERN_ENOMEM;
        c->defers = nd;
        c->capdefers = ncap;
    }
    c->defers[c->ndefers++] = (struct rclient_defer){fn, arg};
    if (!c->is_defer_queued) {
        c->is_defer_queued = true;
        loop_defer(c->loop, &c->defer_task);
    }
    return TERN_OK;
}

/* ---- synchronous calls ------------------------------------------------ */

/* A semaphore rather than mutex+condvar: signalling under a mutex wakes the
 * waiter only to block it again on that mutex (two wake-ups per call), and
 * sem_post is safe against the waiter destroying the semaphore as soon as
 * sem_wait returns. */
struct sync_wait {
    sem_t sem;
    int err;           /* written by the loop before sem_post */
    struct rresp *out; /* borrowed: the caller's */
};

/* Loop thread: copies the frame for the caller, who decodes it (so the
 * second decode runs on the caller's thread, not the loop). */
static void sync_done(struct rcall *k, int err, struct rreq *resp)
{
    struct sync_wait *w = k->arg;
    if (err == TERN_OK) {
        buf_reset(&w->out->frame);
        buf_append(&w->out->frame, resp->frame, resp->frame_len);
        if (buf_failed(&w->out->frame))
            err = TERN_ENOMEM;
    }
    w->err = err;
    sem_post(&w->sem);
}

void rresp_init(struct rresp *r)
{
    buf_init(&r->frame);
    rcmd_init(&r->cmd);
}

void rresp_deinit(struct rresp *r)
{
    rcmd_deinit(&r->cmd);
    buf_deinit(&r->frame);
}

int rclient_call_sync(struct rclient *c, const char *addr, struct rcmd *req, int timeout_ms,
                      struct rresp *out)
{
    if (loop_on_thread(c->loop))
        return TERN_EINVALID; /* would wait for itself */
    struct rcall *k = rcall_take(&c->spare_calls);
    if (k == NULL)
        return TERN_ENOMEM;
    struct sync_wait w = {.err = TERN_OK, .out = out};
    sem_init(&w.sem, 0, 0);
    k->done = sync_done;
    k->arg = &w;
    k->timeout_ms = timeout_ms;
    int err = submit(c, addr, req, false, k);
    if (err == TERN_OK) {
        while (sem_wait(&w.sem) != 0)
            ; /* EINTR */
        err = w.err;
    }
    sem_destroy(&w.sem);
    if (err)
        return err;
    rcmd_deinit(&out->cmd);
    rcmd_init(&out->cmd);
    return rcmd_decode(out->frame.data, out->frame.len, &out->cmd);
}

/* ---- lifecycle -------------------------------------------------------- */

int rclient_new(const struct rclient_opts *o, struct rclient **out)
{
    struct rclient *c = tern_calloc(1, sizeof(*c));
    if (c == NULL)
        return TERN_ENOMEM;
    rdispatch_init(&c->disp, o ? o->table : NULL, o ? o->ntable : 0, o ? o->ctx : NULL);
    c->connect_timeout_ms =
        o && o->connect_timeout_ms > 0 ? o->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
    atomic_init(&c->is_closing, false);
    if (o && o->tls && rtls_client_new(&c->tls) != TERN_OK) {
        free(c);
        return TERN_ENOMEM;
    }
    strmap_init(&c->conns);
    strmap_init(&c->dns);
    spare_init(&c->spare_calls, SPARE_CALL_BYTES, rcall_destroy);
    c->defer_task.fn = defer_task_fn;
    pthread_mutex_init(&c->dns_mu, NULL);
    int err = loop_new("tern-rpc", &c->loop);
    if (err) {
        spare_deinit(&c->spare_calls);
        rtls_free(c->tls);
        pthread_mutex_destroy(&c->dns_mu);
        free(c);
        return err;
    }
    *out = c;
    return TERN_OK;
}

static void shutdown_fn(void *arg)
{
    struct rclient *c = arg;
    c->is_closed = true;
    size_t n = strmap_count(&c->conns), i = 0;
    struct rconn **all = tern_calloc(n ? n : 1, sizeof(*all));
    const char *key;
    void *val;
    if (all == NULL) {
        /* Each close removes its entry (client_conn_closed), so restarting
         * the walk from the first slot reaches every connection. */
        for (size_t it = 0; i++ < n && strmap_next(&c->conns, &it, &key, &val); it = 0)
            conn_close_now(val, TERN_ECLOSED);
        return;
    }
    for (size_t it = 0; i < n && strmap_next(&c->conns, &it, &key, &val);)
        all[i++] = val;
    for (size_t j = 0; j < i; j++)
        conn_close_now(all[j], TERN_ECLOSED);
    free(all);
}

void rclient_free(struct rclient *c)
{
    if (!c)
        return;
    atomic_store(&c->is_closing, true);
    loop_stop(c->loop, shutdown_fn, c);
    loop_unref(c->loop);
    strmap_deinit(&c->conns);
    const char *key;
    void *val;
    for (size_t it = 0; strmap_next(&c->dns, &it, &key, &val);)
        free(val);
    strmap_deinit(&c->dns);
    pthread_mutex_destroy(&c->dns_mu);
    rtls_free(c->tls);
    free(c->defers);
    spare_deinit(&c->spare_calls);
    free(c);
}
