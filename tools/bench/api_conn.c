/* SPDX-License-Identifier: Apache-2.0 */
/* api_conn.c: the keep-alive connections of `mqbench api` and the epoll
 * loops that drive them (see api_bench.h).
 *
 * Each connection keeps one request in flight: it writes a freshly signed
 * request, reads the answer (Content-Length framed), records the latency
 * and the outcome, and sends the next request of its rotation through the
 * endpoint mix. A connection the server closes (or that times out) is
 * counted and reopened. Nothing but the stats is shared between loops. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api_bench.h"

#include "common/clock.h"
#include "common/xalloc.h"

struct conn {
    int fd;
    int ep_i; /* position in the rotation */
    enum api_ep cur;
    bool busy;
    bool waiting;        /* paced: the next request is due at next_due_ns */
    int64_t next_due_ns; /* paced: schedule of the next request; 0 = not started */
    double phase;        /* paced: offset of the first request, in intervals (0..1) */
    int64_t t0_ns;
    buf_t out; /* owned: request bytes */
    size_t out_off;
    buf_t in; /* owned: response bytes */
};

struct loop {
    const struct api_cfg *c;
    struct api_stats *st;
    struct conn *conns; /* owned */
    size_t n;
    int epfd;
    int eps[EP_COUNT]; /* the enabled endpoints */
    int neps;
    pthread_t tid;
};

static int open_conn(const struct api_cfg *c)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)c->port)};
    if (inet_pton(AF_INET, c->host, &sa.sin_addr) != 1)
        return -1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void record(struct loop *l, struct conn *k, int fail_kind)
{
    struct api_stats *st = l->st;
    uint64_t us = (uint64_t)((clock_mono_ns() - k->t0_ns) / 1000);
    bool measuring = atomic_load_explicit(&st->measuring, memory_order_relaxed);
    if (fail_kind < 0) {
        atomic_fetch_add_explicit(&st->shown_ok, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&st->shown_lat_us, us, memory_order_relaxed);
        if (measuring) {
            hist_record(&st->all, us);
            hist_record(&st->ep[k->cur], us);
        }
    } else {
        atomic_fetch_add_explicit(&st->shown_fail, 1, memory_order_relaxed);
        if (measuring) {
            atomic_fetch_add_explicit(&st->fails[fail_kind], 1, memory_order_relaxed);
            atomic_fetch_add_explicit(&st->ep_fails[k->cur], 1, memory_order_relaxed);
        }
    }
    k->busy = false;
}

static void watch(struct loop *l, struct conn *k, int op, bool want_out)
{
    struct epoll_event ev = {.events = EPOLLIN | (want_out ? EPOLLOUT : 0), .data.ptr = k};
    epoll_ctl(l->epfd, op, k->fd, &ev);
}

/* Writes what is pending; -1 on an I/O error. */
static int flush_out(struct loop *l, struct conn *k)
{
    while (k->out_off < k->out.len) {
        ssize_t w = send(k->fd, k->out.data + k->out_off, k->out.len - k->out_off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            watch(l, k, EPOLL_CTL_MOD, true);
            return 0;
        }
        if (w <= 0)
            return -1;
        k->out_off += (size_t)w;
    }
    watch(l, k, EPOLL_CTL_MOD, false);
    return 0;
}

static void reopen(struct loop *l, struct conn *k);

static void send_next(struct loop *l, struct conn *k)
{
    if (atomic_load_explicit(&l->st->stopping, memory_order_relaxed))
        return;
    int64_t now = clock_mono_ns();
    int64_t t0 = now;
    if (l->c->rate > 0) {
        /* Open loop: each connection sends at its share of --rate on a fixed
         * schedule; latency counts from the scheduled time, so a slow answer
         * also charges the requests it delayed. */
        int64_t interval = (int64_t)(1e9 * l->c->conns / l->c->rate);
        if (k->next_due_ns == 0)
            k->next_due_ns = now + (int64_t)((double)interval * k->phase);
        if (now < k->next_due_ns) {
            k->waiting = true;
            return;
        }
        t0 = k->next_due_ns;
        k->next_due_ns += interval;
    }
    k->waiting = false;
    k->cur = (enum api_ep)l->eps[k->ep_i++ % l->neps];
    struct api_kv kv[4];
    size_t n;
    api_ep_params(l->c, k->cur, kv, &n);
    buf_reset(&k->out);
    buf_reset(&k->in);
    k->out_off = 0;
    api_build_request(l->c, API_EP_PATHS[k->cur], kv, n, &k->out);
    k->busy = true;
    k->t0_ns = t0;
    if (flush_out(l, k) < 0) {
        record(l, k, FAIL_IO);
        reopen(l, k);
    }
}

static void reopen(struct loop *l, struct conn *k)
{
    if (k->fd >= 0) {
        epoll_ctl(l->epfd, EPOLL_CTL_DEL, k->fd, NULL);
        close(k->fd);
    }
    k->fd = -1;
    if (atomic_load_explicit(&l->st->stopping, memory_order_relaxed))
        return;
    k->fd = open_conn(l->c);
    if (k->fd < 0)
        return; /* retried by the timeout scan */
    watch(l, k, EPOLL_CTL_ADD, false);
    send_next(l, k);
}

static void on_readable(struct loop *l, struct conn *k)
{
    for (;;) {
        uint8_t *p = buf_reserve(&k->in, 8192);
        ssize_t got = p ? recv(k->fd, p, 8192, 0) : -1;
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (got <= 0) {
            if (k->busy)
                record(l, k, FAIL_IO);
            reopen(l, k);
            return;
        }
        k->in.len += (size_t)got;
        struct api_resp r;
        enum api_parse ps = api_parse_response((const char *)k->in.data, k->in.len, &r);
        if (ps == PARSE_MORE)
            continue;
        if (ps == PARSE_BAD || !k->busy) {
            if (k->busy)
                record(l, k, FAIL_IO);
            reopen(l, k);
            return;
        }
        bool ok = api_body_success((const char *)k->in.data + r.body_off, r.total_len - r.body_off);
        record(l, k, r.status != 200 ? FAIL_HTTP : ok ? -1 : FAIL_API);
        if (r.close)
            reopen(l, k);
        else
            send_next(l, k);
        return;
    }
}

/* Requests over the timeout are failed and their connections reopened;
 * connections that could not be reopened are tried again. */
static void scan_timeouts(struct loop *l)
{
    int64_t now = clock_mono_ns();
    int64_t limit = (int64_t)l->c->timeout_ms * 1000000;
    for (size_t i = 0; i < l->n; i++) {
        struct conn *k = &l->conns[i];
        if (k->fd >= 0 && k->busy && now - k->t0_ns > limit) {
            record(l, k, FAIL_TIMEOUT);
            reopen(l, k);
        } else if (k->fd < 0) {
            reopen(l, k);
        }
    }
}

static bool any_busy(const struct loop *l)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->conns[i].fd >= 0 && l->conns[i].busy)
            return true;
    return false;
}

static void *loop_main(void *arg)
{
    struct loop *l = arg;
    for (size_t i = 0; i < l->n; i++)
        if (l->conns[i].fd >= 0)
            send_next(l, &l->conns[i]);
    struct epoll_event evs[64];
    int64_t last_scan = clock_mono_ns();
    int64_t drain_end = 0;
    for (;;) {
        if (atomic_load_explicit(&l->st->stopping, memory_order_relaxed)) {
            if (drain_end == 0)
                drain_end = clock_mono_ns() + (int64_t)l->c->timeout_ms * 1000000;
            if (!any_busy(l) || clock_mono_ns() > drain_end)
                break;
        }
        int n = epoll_wait(l->epfd, evs, 64, l->c->rate > 0 ? 1 : 50);
        for (int i = 0; i < n; i++) {
            struct conn *k = evs[i].data.ptr;
            if (k->fd < 0)
                continue;
            if ((evs[i].events & EPOLLOUT) && k->out_off < k->out.len && flush_out(l, k) < 0) {
                record(l, k, FAIL_IO);
                reopen(l, k);
                continue;
            }
            if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
                on_readable(l, k);
        }
        int64_t now = clock_mono_ns();
        for (size_t i = 0; l->c->rate > 0 && i < l->n; i++)
            if (l->conns[i].waiting && l->conns[i].fd >= 0 && now >= l->conns[i].next_due_ns)
                send_next(l, &l->conns[i]);
        if (now - last_scan > 100000000) {
            last_scan = now;
            scan_timeouts(l);
        }
    }
    return NULL;
}

int api_run_load(const struct api_cfg *c, struct api_stats *st,
                 void (*ticker)(const struct api_cfg *, struct api_stats *))
{
    int nl = c->threads < c->conns ? c->threads : c->conns;
    struct loop *loops = xcalloc((size_t)nl, sizeof *loops);
    int opened = 0;
    for (int t = 0; t < nl; t++) {
        struct loop *l = &loops[t];
        l->c = c;
        l->st = st;
        for (int e = 0; e < EP_COUNT; e++)
            if (c->eps[e])
                l->eps[l->neps++] = e;
        l->n = (size_t)(c->conns / nl + (t < c->conns % nl ? 1 : 0));
        l->conns = xcalloc(l->n, sizeof *l->conns);
        l->epfd = epoll_create1(EPOLL_CLOEXEC);
        for (size_t i = 0; i < l->n; i++) {
            struct conn *k = &l->conns[i];
            buf_init(&k->out);
            buf_init(&k->in);
            k->ep_i = (int)(i + (size_t)t);
            k->phase = (double)(i * (size_t)nl + (size_t)t) / (double)c->conns;
            k->fd = open_conn(c);
            if (k->fd >= 0) {
                watch(l, k, EPOLL_CTL_ADD, false);
                opened++;
            }
        }
    }
    if (opened == 0)
        fprintf(stderr, "mqbench api: cannot connect to %s:%d\n", c->host, c->port);
    else if (opened < c->conns)
        fprintf(stderr, "mqbench api: only %d of %d connections opened\n", opened, c->conns);
    if (opened > 0) {
        for (int t = 0; t < nl; t++)
            pthread_create(&loops[t].tid, NULL, loop_main, &loops[t]);
        ticker(c, st);
        atomic_store(&st->stopping, true);
        for (int t = 0; t < nl; t++)
            pthread_join(loops[t].tid, NULL);
    }
    for (int t = 0; t < nl; t++) {
        for (size_t i = 0; i < loops[t].n; i++) {
            struct conn *k = &loops[t].conns[i];
            if (k->fd >= 0)
                close(k->fd);
            buf_deinit(&k->out);
            buf_deinit(&k->in);
        }
        free(loops[t].conns);
        close(loops[t].epfd);
    }
    free(loops);
    return opened > 0 ? 0 : -1;
}
