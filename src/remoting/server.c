/* SPDX-License-Identifier: Apache-2.0 */
/* server.c: the remoting server: a listening socket on loop 0 and
 * io_threads loops that own the accepted connections.
 *
 * Accepted sockets are dealt round-robin to the loops (posted to loops other
 * than 0) and never move. Each loop keeps the list of its connections, touched
 * by that loop only, so stopping can close them all. See
 * docs/design/remoting.md and docs/design/threads.md. */
#include <errno.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "common/error.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "remoting/conn.h"
#include "remoting/loop.h"
#include "remoting/remoting.h"
#include "remoting/tls.h"

#define DEFAULT_MAX_OUT ((size_t)64 * 1024 * 1024)
#define ACCEPT_RETRY_MS 100

struct srv_slot {
    struct loop *loop;  /* one reference held */
    struct rconn *head; /* loop thread: open connections (loop's references) */
    bool is_closed;     /* loop thread: no more adoptions */
};

struct rserver {
    struct rdispatch disp;
    size_t max_out;
    const struct rtls *tls; /* borrowed; NULL = plain only */
    enum rtls_mode tls_mode;
    int nslots;
    struct srv_slot *slots; /* owned array */
    int port;
    /* Loop 0 only. */
    struct loop_io lio; /* listening socket */
    bool is_listening;
    unsigned next_slot;
    struct loop_timer accept_retry;
};

struct adopt_task {
    struct loop_task task;
    struct rserver *s; /* borrowed: alive until every loop stopped */
    int idx;
    int fd; /* owned until adopted */
};

static void server_conn_closed(struct rconn *c)
{
    struct rserver *s = c->owner;
    struct srv_slot *slot = &s->slots[c->owner_idx];
    if (c->prev)
        c->prev->next = c->next;
    else
        slot->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
}

static void adopt(struct rserver *s, int idx, int fd)
{
    struct srv_slot *slot = &s->slots[idx];
    if (slot->is_closed) {
        close(fd);
        return;
    }
    struct rconn *c;
    int err = conn_new(slot->loop, fd, &s->disp, s->max_out, false, &c);
    if (err) {
        log_warn("remoting", "cannot register accepted socket err=%s", tern_strerror(err));
        return;
    }
    if (s->tls && s->tls_mode == RTLS_ENFORCING) {
        if (tls_conn_attach(c, s->tls, true) != TERN_OK) {
            conn_close_now(c, TERN_ENOMEM);
            return;
        }
    } else if (s->tls && s->tls_mode == RTLS_PERMISSIVE) {
        c->tls_sniff = true;
        c->tls_ctx = s->tls;
    }
    c->owner = s;
    c->owner_idx = idx;
    c->owner_closed = server_conn_closed;
    c->next = slot->head;
    if (slot->head)
        slot->head->prev = c;
    slot->head = c;
    log_debug("remoting", "accepted conn id=%llu peer=%s loop=%d", (unsigned long long)c->id,
              c->peer, idx);
}

static void adopt_task_fn(struct loop_task *t, bool cancelled)
{
    struct adopt_task *at = (struct adopt_task *)t;
    if (cancelled)
        close(at->fd);
    else
        adopt(at->s, at->idx, at->fd);
    free(at);
}

static void on_accept_retry(struct loop_timer *t)
{
    struct rserver *s = (struct rserver *)((char *)t - offsetof(struct rserver, accept_retry));
    if (s->is_listening)
        loop_io_mod(s->slots[0].loop, &s->lio, EPOLLIN);
}

static void on_accept(struct loop_io *io, uint32_t events)
{
    (void)events;
    struct rserver *s = (struct rserver *)((char *)io - offsetof(struct rserver, lio));
    for (int i = 0; i < 256; i++) {
        int fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* Level-triggered: pause accepting instead of spinning. */
                unsigned suppressed = 0;
                if (loop_warn_ok(s->slots[0].loop, &suppressed))
                    log_warn("remoting", "accept failed err=%s suppressed=%u", strerror(errno),
                             suppressed);
                loop_io_mod(s->slots[0].loop, io, 0);
                loop_timer_start(s->slots[0].loop, &s->accept_retry, ACCEPT_RETRY_MS);
            }
            return;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        int idx = (int)(s->next_slot++ % (unsigned)s->nslots);
        if (idx == 0) {
            adopt(s, 0, fd);
            continue;
        }
        struct adopt_task *at = xmalloc(sizeof(*at));
        at->task.fn = adopt_task_fn;
        at->s = s;
        at->idx = idx;
        at->fd = fd;
        if (loop_post(s->slots[idx].loop, &at->task) != TERN_OK) {
            close(fd);
            free(at);
        }
    }
}

static int resolve_bind(const char *host, int port, struct sockaddr_in *sa)
{
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    if (!host || !*host || !strcmp(host, "0.0.0.0")) {
        sa->sin_addr.s_addr = htonl(INADDR_ANY);
        return TERN_OK;
    }
    if (inet_pton(AF_INET, host, &sa->sin_addr) == 1)
        return TERN_OK;
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res)
        return TERN_EINVALID;
    sa->sin_addr = ((struct sockaddr_in *)res->ai_addr)->sin_addr;
    freeaddrinfo(res);
    return TERN_OK;
}

static int open_listener(const struct rserver_opts *o, int *fd_out, int *port_out)
{
    struct sockaddr_in sa;
    if (o->port < 0 || o->port > 65535)
        return TERN_EINVALID;
    int err = resolve_bind(o->bind_host, o->port, &sa);
    if (err)
        return err;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1024) < 0) {
        err = -errno;
        close(fd);
        return err;
    }
    socklen_t sl = sizeof(sa);
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    *fd_out = fd;
    *port_out = ntohs(sa.sin_port);
    return TERN_OK;
}

static void close_all(void *arg)
{
    struct srv_slot *slot = arg;
    slot->is_closed = true;
    while (slot->head)
        conn_close_now(slot->head, TERN_ECLOSED);
}

static void close_listener_and_all(void *arg)
{
    struct rserver *s = arg;
    if (s->is_listening) {
        loop_io_del(s->slots[0].loop, &s->lio);
        s->is_listening = false;
    }
    loop_timer_stop(s->slots[0].loop, &s->accept_retry);
    close_all(&s->slots[0]);
}

static void stop_loops(struct rserver *s)
{
    for (int i = 0; i < s->nslots; i++) {
        if (!s->slots[i].loop)
            continue;
        if (i == 0)
            loop_stop(s->slots[0].loop, close_listener_and_all, s);
        else
            loop_stop(s->slots[i].loop, close_all, &s->slots[i]);
        loop_unref(s->slots[i].loop);
        s->slots[i].loop = NULL;
    }
}

int rserver_start(const struct rserver_opts *o, struct rserver **out)
{
    struct rserver *s = xcalloc(1, sizeof(*s));
    rdispatch_init(&s->disp, o->table, o->ntable, o->ctx);
    s->disp.on_close = o->on_close;
    s->disp.pre_dispatch = o->pre_dispatch;
    s->max_out = o->max_out_bytes ? o->max_out_bytes : DEFAULT_MAX_OUT;
    s->tls = o->tls_mode == RTLS_DISABLED ? NULL : o->tls;
    s->tls_mode = o->tls_mode;
    s->nslots = o->io_threads >= 1 ? o->io_threads : 1;
    s->slots = xcalloc((size_t)s->nslots, sizeof(*s->slots));
    s->lio.fd = -1;
    s->lio.cb = on_accept;
    loop_timer_init(&s->accept_retry, on_accept_retry);
    int err = open_listener(o, &s->lio.fd, &s->port);
    for (int i = 0; !err && i < s->nslots; i++) {
        char name[32];
        snprintf(name, sizeof(name), "tern-io-%d", i);
        err = loop_new(name, &s->slots[i].loop);
    }
    if (!err) {
        /* epoll_ctl is thread-safe, and loop 0 sees no event of the listener
         * before this returns; from here on only loop 0 touches it. */
        err = loop_io_add(s->slots[0].loop, &s->lio, EPOLLIN);
        s->is_listening = err == TERN_OK;
    }
    if (err) {
        stop_loops(s);
        if (s->lio.fd >= 0)
            close(s->lio.fd);
        free(s->slots);
        free(s);
        return err;
    }
    log_info("remoting", "listening port=%d io_threads=%d tls=%s", s->port, s->nslots,
             !s->tls                         ? "disabled"
             : s->tls_mode == RTLS_ENFORCING ? "enforcing"
                                             : "permissive");
    *out = s;
    return TERN_OK;
}

int rserver_port(const struct rserver *s)
{
    return s->port;
}

void rserver_stop(struct rserver *s)
{
    if (!s)
        return;
    stop_loops(s);
    if (s->lio.fd >= 0)
        close(s->lio.fd);
    free(s->slots);
    free(s);
}
