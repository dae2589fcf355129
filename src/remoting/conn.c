/* SPDX-License-Identifier: Apache-2.0 */
/* conn.c: connection I/O: framing, dispatch, output batching, back-pressure,
 * pending calls and close.
 *
 * Reads go into conn->in; complete frames are copied once into a struct rreq
 * (one allocation: the rreq followed by the frame bytes) and decoded there.
 * Requests go to the dispatcher, responses to the pending call with their
 * opaque. Output is appended to conn->out and written by a deferred flush at
 * the end of the loop iteration, so a burst of requests read together is
 * answered with one write. Loop thread only, except the entry points that
 * post (rreq_respond, rconn_send_*, rconn_close). See docs/design/remoting.md. */
#include "remoting/conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "common/error.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/alloc.h"
#include "protocol/codes.h"
#include "remoting/tls.h"

#define READ_CHUNK      (64 * 1024)
#define READ_MAX        (1024 * 1024)
#define READ_ROUNDS     8
#define IN_KEEP_BYTES   (256 * 1024) /* larger idle input buffers are freed */
#define OUT_KEEP_BYTES  (1024 * 1024)
#define OUT_COMPACT_MIN (64 * 1024)

static atomic_ulong g_conn_id;

/* ---- dispatcher ------------------------------------------------------- */

void rdispatch_init(struct rdispatch *d, const struct rprocessor *table, size_t ntable, void *ctx)
{
    memset(d, 0, sizeof(*d));
    d->table = table;
    d->ntable = ntable;
    d->ctx = ctx;
    /* Later entries win, as with a map filled in order. */
    for (size_t i = 0; i < ntable; i++) {
        if (table[i].code >= 0 && table[i].code < RDISPATCH_SMALL && table[i].fn)
            d->small[table[i].code] = &table[i];
    }
}

const struct rprocessor *rdispatch_find(const struct rdispatch *d, int code)
{
    if (code >= 0 && code < RDISPATCH_SMALL)
        return d->small[code];
    for (size_t i = d->ntable; i-- > 0;) {
        if (d->table[i].code == code && d->table[i].fn)
            return &d->table[i];
    }
    return NULL;
}

/* ---- references ------------------------------------------------------- */

void rconn_ref(struct rconn *c)
{
    atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
}

void rconn_unref(struct rconn *c)
{
    if (!c || atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
        return;
    buf_deinit(&c->in);
    buf_deinit(&c->out);
    pend_map_deinit(&c->pending);
    free(c->owner_key);
    loop_unref(c->loop);
    free(c);
}

const char *rconn_peer(const struct rconn *c)
{
    return c->peer;
}

void rconn_peer_addr(const struct rconn *c, struct sockaddr_in *out)
{
    *out = c->peer_addr;
}

void rconn_local_addr(const struct rconn *c, struct sockaddr_in *out)
{
    *out = c->local_addr;
}

uint64_t rconn_id(const struct rconn *c)
{
    return c->id;
}

bool rconn_is_closed(const struct rconn *c)
{
    return atomic_load_explicit(&c->closed, memory_order_acquire);
}

void rconn_set_user(struct rconn *c, void *user)
{
    atomic_store_explicit(&c->user, user, memory_order_release);
}

void *rconn_get_user(const struct rconn *c)
{
    return atomic_load_explicit(&((struct rconn *)c)->user, memory_order_acquire);
}

/* ---- output ----------------------------------------------------------- */

static void update_events(struct rconn *c)
{
    if (rconn_is_closed(c))
        return;
    uint32_t ev;
    if (c->is_connecting) {
        ev = EPOLLOUT;
    } else {
        ev = c->is_paused ? 0 : EPOLLIN;
        /* A TLS write waiting for input must not spin on a writable socket. */
        if ((c->out.len > c->out_off && !c->tls_write_on_in) || c->tls_read_on_out)
            ev |= EPOLLOUT;
    }
    if (loop_io_mod(c->loop, &c->io, ev) != TERN_OK)
        c->want_close = true;
}

/* Writes as much as the socket takes. Returns TERN_OK or -errno. */
static int write_out(struct rconn *c)
{
    while (c->out.len > c->out_off) {
        ssize_t n = c->ssl ? tls_conn_write(c, c->out.data + c->out_off, c->out.len - c->out_off)
                           : send(c->io.fd, c->out.data + c->out_off, c->out.len - c->out_off,
                                  MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            c->out_off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        return n < 0 ? -errno : TERN_ECLOSED;
    }
    if (c->out_off == c->out.len) {
        if (c->out.cap > OUT_KEEP_BYTES)
            buf_deinit(&c->out);
        c->out.len = 0;
        c->out_off = 0;
    } else if (c->out_off >= OUT_COMPACT_MIN && c->out_off * 2 >= c->out.len) {
        buf_consume(&c->out, c->out_off);
        c->out_off = 0;
    }
    return TERN_OK;
}

static void flush(struct rconn *c)
{
    if (rconn_is_closed(c) || c->is_connecting)
        return;
    int err = write_out(c);
    if (err) {
        conn_close_now(c, TERN_ECLOSED);
        return;
    }
    size_t pending = c->out.len - c->out_off;
    if (c->is_paused && pending <= c->max_out / 2)
        c->is_paused = false;
    update_events(c);
    if (c->want_close && !c->is_reading)
        conn_close_now(c, TERN_ECLOSED);
}

static void flush_task_fn(struct loop_task *t, bool cancelled)
{
    struct rconn *c = (struct rconn *)((char *)t - offsetof(struct rconn, flush_task));
    c->is_flush_queued = false;
    if (!cancelled)
        flush(c);
    rconn_unref(c);
}

static void queue_flush(struct rconn *c)
{
    if (c->out.len - c->out_off > c->max_out && !c->is_paused) {
        /* Back-pressure: stop reading requests until the peer drains. */
        c->is_paused = true;
    }
    if (c->is_flush_queued)
        return;
    c->is_flush_queued = true;
    rconn_ref(c);
    loop_defer(c->loop, &c->flush_task);
}

/* Copies n bytes to the output and queues a flush; on ENOMEM the output is
 * left as it was. */
static int append_out(struct rconn *c, const void *p, size_t n)
{
    size_t len = c->out.len;
    buf_append(&c->out, p, n);
    if (buf_failed(&c->out)) {
        buf_rollback(&c->out, len);
        return TERN_ENOMEM;
    }
    queue_flush(c);
    return TERN_OK;
}

int conn_write_buf(struct rconn *c, buf_t *frame)
{
    if (c->out.len != c->out_off)
        return append_out(c, frame->data, frame->len);
    buf_t tmp = c->out;
    c->out = *frame;
    c->out_off = 0;
    *frame = tmp;
    frame->len = 0;
    queue_flush(c);
    return TERN_OK;
}

/* ---- calls ------------------------------------------------------------ */

/* Queues k's frame. A call from a client's stock keeps its frame buffer for
 * the next call (a copy, so that no buffer changes thread); others hand it
 * over when the output is empty. */
static int write_call(struct rconn *c, struct rcall *k)
{
    if (k->spare == NULL)
        return conn_write_buf(c, &k->frame);
    return append_out(c, k->frame.data, k->frame.len);
}

/* The end of a call (its callback ran). */
static void call_finish(struct rcall *k)
{
    if (k->is_held)
        loop_lazy_release(k->conn->loop);
    rcall_free(k);
}

void conn_fail_call(struct rcall *k, int err)
{
    k->done(k, err, NULL);
    call_finish(k);
}

static void call_timeout(struct loop_timer *t)
{
    struct rcall *k = (struct rcall *)((char *)t - offsetof(struct rcall, timer));
    pend_map_take(&k->conn->pending, k->opaque);
    conn_fail_call(k, TERN_ETIMEOUT);
}

void conn_start_call(struct rconn *c, struct rcall *k)
{
    if (rconn_is_closed(c)) {
        conn_fail_call(k, c->fail_err ? c->fail_err : TERN_ECLOSED);
        return;
    }
    if (k->is_oneway) {
        /* Fire and forget: a frame that cannot be queued is lost. */
        (void)write_call(c, k);
        rcall_free(k);
        return;
    }
    /* Registered before the write, so a failure needs no unsending; the
     * answer cannot arrive before this loop iteration ends. */
    if (pend_map_put(&c->pending, k) != TERN_OK) {
        conn_fail_call(k, TERN_ENOMEM);
        return;
    }
    k->conn = c;
    loop_timer_init(&k->timer, call_timeout);
    if (loop_timer_start(c->loop, &k->timer, k->timeout_ms > 0 ? k->timeout_ms : 3000) != TERN_OK ||
        write_call(c, k) != TERN_OK) {
        loop_timer_stop(c->loop, &k->timer);
        pend_map_take(&c->pending, k->opaque);
        conn_fail_call(k, TERN_ENOMEM);
        return;
    }
    if (k->spare)
        buf_reset(&k->frame);
    else
        buf_deinit(&k->frame);
    /* While lazy calls are pending their answers wake the loop, and its
     * sleeps are bounded: the next lazy calls need no wake-up. */
    if (k->is_lazy) {
        loop_lazy_hold(c->loop);
        k->is_held = true;
    }
}

static void fail_pending(struct rcall *k, void *arg)
{
    struct rconn *c = arg;
    loop_timer_stop(c->loop, &k->timer);
    conn_fail_call(k, c->fail_err);
}

/* ---- close ------------------------------------------------------------ */

static void release_task_fn(struct loop_task *t, bool cancelled)
{
    (void)cancelled;
    rconn_unref((struct rconn *)((char *)t - offsetof(struct rconn, release_task)));
}

void conn_close_now(struct rconn *c, int err)
{
    if (rconn_is_closed(c))
        return;
    if (c->is_reading) {
        /* The read path finishes the frame it is on, then closes. */
        if (!c->want_close)
            c->fail_err = err;
        c->want_close = true;
        return;
    }
    if (!c->want_close || !c->fail_err)
        c->fail_err = err;
    /* Best effort: answers produced before the close (e.g. for the frames
     * preceding a malformed one) go out if the socket takes them now. */
    if (!c->is_connecting && c->out.len > c->out_off)
        (void)write_out(c);
    if (c->ssl || c->tls_sniff)
        tls_conn_detach(c);
    atomic_store_explicit(&c->closed, true, memory_order_release);
    loop_io_del(c->loop, &c->io);
    close(c->io.fd);
    c->io.fd = -1;
    loop_timer_stop(c->loop, &c->connect_timer);
    log_debug("remoting", "closed conn id=%llu peer=%s err=%s", (unsigned long long)c->id, c->peer,
              tern_err_name(c->fail_err));
    if (c->owner_closed)
        c->owner_closed(c);
    pend_map_drain(&c->pending, fail_pending, c);
    if (c->disp && c->disp->on_close)
        c->disp->on_close(c->disp->ctx, c);
    buf_deinit(&c->in);
    buf_deinit(&c->out);
    c->in_off = c->out_off = 0;
    /* Dropping the loop's reference waits for the end of the iteration: an
     * event for this connection may still be in the batch being processed. */
    loop_defer(c->loop, &c->release_task);
}

struct close_task {
    struct loop_task task;
    struct rconn *c; /* one reference held */
};

static void close_task_fn(struct loop_task *t, bool cancelled)
{
    struct close_task *ct = (struct close_task *)t;
    if (!cancelled)
        conn_close_now(ct->c, TERN_ECLOSED);
    rconn_unref(ct->c);
    free(ct);
}

void rconn_close(struct rconn *c)
{
    if (rconn_is_closed(c))
        return;
    if (loop_on_thread(c->loop)) {
        conn_close_now(c, TERN_ECLOSED);
        return;
    }
    struct close_task *ct = tern_malloc(sizeof(*ct));
    if (ct == NULL) {
        /* The loop sees the end of the stream and closes the connection. */
        shutdown(c->io.fd, SHUT_RDWR);
        return;
    }
    ct->task.fn = close_task_fn;
    ct->c = c;
    rconn_ref(c);
    if (loop_post(c->loop, &ct->task) != TERN_OK) {
        rconn_unref(c);
        free(ct);
    }
}

/* ---- input ------------------------------------------------------------ */

static void warn_bad_peer(struct rconn *c, const char *what, int err)
{
    unsigned suppressed = 0;
    if (loop_warn_ok(c->loop, &suppressed))
        log_warn("remoting", "closing conn peer=%s reason=%s err=%s suppressed=%u", c->peer, what,
                 tern_err_name(err), suppressed);
}

static struct rreq *rreq_alloc(struct rconn *c, const uint8_t *p, size_t len)
{
    struct rreq *r = tern_malloc(sizeof(*r) + len);
    if (r == NULL)
        return NULL;
    r->frame = (uint8_t *)(r + 1);
    r->frame_len = len;
    memcpy(r->frame, p, len);
    r->conn = c;
    rconn_ref(c);
    rcmd_init(&r->cmd);
    return r;
}

static void dispatch(struct rconn *c, struct rreq *r)
{
    const struct rdispatch *d = c->disp;
    const struct rprocessor *p = rdispatch_find(d, r->cmd.code);
    if (d->pre_dispatch && !d->pre_dispatch(d->ctx, r, p))
        return;
    if (p) {
        p->fn(d->ctx, r);
        return;
    }
    if (rreq_is_oneway(r)) {
        rreq_free(r);
        return;
    }
    struct rcmd resp;
    rcmd_init_response(&resp, &r->cmd, RESP_REQUEST_CODE_NOT_SUPPORTED);
    rcmd_set_remark(&resp, " request type %d not supported", (int)r->cmd.code);
    rreq_respond(r, &resp);
    rcmd_deinit(&resp);
}

/* Decodes the frame at p in place of a copy when it is a response: matched to
 * its call by opaque, with a view into the input buffer that lives only
 * during the callback. The header is not rewritten, so a sync caller may copy
 * the raw frame. *handled is false when the frame is a request. */
static int try_response(struct rconn *c, const uint8_t *p, size_t len, bool *handled)
{
    struct rreq r;
    r.frame = (uint8_t *)p;
    r.frame_len = len;
    r.conn = c;
    rcmd_init(&r.cmd);
    int err = rcmd_decode(p, len, &r.cmd);
    *handled = err == TERN_OK && (r.cmd.flag & RCMD_FLAG_RESPONSE);
    if (*handled) {
        struct rcall *k = pend_map_take(&c->pending, r.cmd.opaque);
        if (!k) {
            log_debug("remoting", "response without a call peer=%s opaque=%d", c->peer,
                      (int)r.cmd.opaque);
        } else {
            loop_timer_stop(c->loop, &k->timer);
            k->done(k, TERN_OK, &r);
            call_finish(k);
        }
    }
    rcmd_deinit(&r.cmd);
    return err;
}

/* Handles one complete frame at p. Returns TERN_OK or a decode error. */
static int handle_frame(struct rconn *c, const uint8_t *p, size_t len)
{
    /* Only a connection with calls pending can receive a useful response; the
     * others (a server's, mostly) go straight to the one copy of a request. */
    if (c->pending.count > 0) {
        bool handled;
        int err = try_response(c, p, len, &handled);
        if (err || handled)
            return err;
    }
    struct rreq *r = rreq_alloc(c, p, len);
    if (r == NULL)
        return TERN_ENOMEM; /* the connection closes: the frame cannot be kept */
    int err = rcmd_decode_mut(r->frame, len, &r->cmd);
    if (err) {
        rreq_free(r);
        return err;
    }
    if (!(r->cmd.flag & RCMD_FLAG_RESPONSE)) {
        dispatch(c, r);
        return TERN_OK;
    }
    /* A response nobody waits for (late, after a timeout). */
    log_debug("remoting", "response without a call peer=%s opaque=%d", c->peer, (int)r->cmd.opaque);
    rreq_free(r);
    return TERN_OK;
}

/* Cuts and handles every complete frame in the input. */
static int process_input(struct rconn *c)
{
    while (!rconn_is_closed(c) && !c->want_close) {
        const uint8_t *p = c->in.data + c->in_off;
        size_t avail = c->in.len - c->in_off;
        size_t flen = 0;
        int err = rcmd_frame_peek(p, avail, &flen);
        if (err == TERN_EAGAIN) {
            c->in_need = 4;
            return TERN_OK;
        }
        if (err) {
            warn_bad_peer(c, "bad frame length", err);
            return err;
        }
        if (flen > avail) {
            c->in_need = flen;
            return TERN_OK;
        }
        err = handle_frame(c, p, flen);
        if (err) {
            warn_bad_peer(c, "bad frame", err);
            return err;
        }
        c->in_off += flen;
    }
    return TERN_OK;
}

/* Makes room for at least the rest of the next frame (or a chunk). */
static size_t reserve_in(struct rconn *c)
{
    size_t have = c->in.len - c->in_off;
    size_t want = READ_CHUNK;
    /* Grow towards a large frame as its bytes arrive, not all at once: a peer
     * declaring 16 MiB and sending nothing must not cost 16 MiB. */
    if (c->in_need > have && c->in_need - have > want)
        want = c->in_need - have < READ_MAX ? c->in_need - have : READ_MAX;
    if (c->in_off > 0 && (c->in.cap - c->in.len < want || c->in_off == c->in.len)) {
        buf_consume(&c->in, c->in_off);
        c->in_off = 0;
    }
    if (buf_reserve(&c->in, want) == NULL)
        return 0;
    return c->in.cap - c->in.len;
}

static void do_read(struct rconn *c)
{
    int err = TERN_OK;
    if (c->tls_sniff) {
        /* Permissive TLS: nothing is read before the first byte decides. */
        err = tls_conn_sniff(c);
        if (err == TERN_EAGAIN)
            return;
        if (err) {
            conn_close_now(c, TERN_ECLOSED);
            return;
        }
    }
    c->is_reading = true;
    for (int round = 0; round < READ_ROUNDS; round++) {
        size_t room = reserve_in(c);
        if (room == 0) {
            err = TERN_ENOMEM;
            break;
        }
        ssize_t n = c->ssl ? tls_conn_read(c, c->in.data + c->in.len, room)
                           : read(c->io.fd, c->in.data + c->in.len, room);
        if (n == 0) {
            err = TERN_ECLOSED;
            break;
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                err = -errno;
            break;
        }
        c->in.len += (size_t)n;
        err = process_input(c);
        if (err || c->want_close || c->is_paused)
            break;
        /* A short plain read drained the socket; SSL_read returns one
         * record at a time, so TLS reads on until EAGAIN. */
        if ((size_t)n < room && !c->ssl)
            break;
    }
    c->is_reading = false;
    if (err || c->want_close) {
        conn_close_now(c, err ? TERN_ECLOSED : c->fail_err);
        return;
    }
    if (c->in_off == c->in.len) {
        c->in_off = 0;
        c->in.len = 0;
        if (c->in.cap > IN_KEEP_BYTES)
            buf_deinit(&c->in);
    }
    if (c->is_paused || c->tls_read_on_out)
        update_events(c);
}

static void on_connected(struct rconn *c)
{
    int soerr = 0;
    socklen_t sl = sizeof(soerr);
    if (getsockopt(c->io.fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
        soerr = errno;
    if (soerr) {
        conn_close_now(c, -soerr);
        return;
    }
    c->is_connecting = false;
    loop_timer_stop(c->loop, &c->connect_timer);
    socklen_t al = sizeof(c->local_addr);
    getsockname(c->io.fd, (struct sockaddr *)&c->local_addr, &al);
    flush(c);
    update_events(c);
}

static void on_io(struct loop_io *io, uint32_t events)
{
    struct rconn *c = (struct rconn *)io;
    if (rconn_is_closed(c))
        return;
    rconn_ref(c);
    if (c->is_connecting) {
        if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
            on_connected(c);
    } else {
        if (events & EPOLLOUT)
            flush(c);
        if (!rconn_is_closed(c) && ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) ||
                                    (c->tls_read_on_out && (events & EPOLLOUT))))
            do_read(c);
        /* TLS: a write that waited for the peer (handshake) resumes now. */
        if (!rconn_is_closed(c) && c->tls_write_on_in && (events & EPOLLIN))
            flush(c);
    }
    rconn_unref(c);
}

static void connect_timeout(struct loop_timer *t)
{
    struct rconn *c = (struct rconn *)((char *)t - offsetof(struct rconn, connect_timer));
    conn_close_now(c, -ETIMEDOUT);
}

int conn_new(struct loop *l, int fd, const struct rdispatch *d, size_t max_out, bool is_connecting,
             struct rconn **out)
{
    struct rconn *c = tern_calloc(1, sizeof(*c));
    if (c == NULL) {
        close(fd);
        return TERN_ENOMEM;
    }
    c->io.fd = fd;
    c->io.cb = on_io;
    c->loop = l;
    loop_ref(l);
    c->disp = d;
    atomic_init(&c->refs, 1);
    atomic_init(&c->closed, false);
    atomic_init(&c->user, NULL);
    c->id = atomic_fetch_add_explicit(&g_conn_id, 1, memory_order_relaxed) + 1;
    c->max_out = max_out;
    c->is_connecting = is_connecting;
    c->fail_err = TERN_ECLOSED;
    buf_init(&c->in);
    buf_init(&c->out);
    pend_map_init(&c->pending);
    c->flush_task.fn = flush_task_fn;
    c->release_task.fn = release_task_fn;
    loop_timer_init(&c->connect_timer, connect_timeout);
    socklen_t al = sizeof(c->peer_addr);
    if (getpeername(fd, (struct sockaddr *)&c->peer_addr, &al) < 0 ||
        c->peer_addr.sin_family != AF_INET)
        memset(&c->peer_addr, 0, sizeof(c->peer_addr));
    al = sizeof(c->local_addr);
    if (getsockname(fd, (struct sockaddr *)&c->local_addr, &al) < 0 ||
        c->local_addr.sin_family != AF_INET)
        memset(&c->local_addr, 0, sizeof(c->local_addr));
    char ip[INET_ADDRSTRLEN] = "0.0.0.0";
    inet_ntop(AF_INET, &c->peer_addr.sin_addr, ip, sizeof(ip));
    snprintf(c->peer, sizeof(c->peer), "%s:%u", ip, (unsigned)ntohs(c->peer_addr.sin_port));
    int err = loop_io_add(l, &c->io, is_connecting ? EPOLLOUT : EPOLLIN);
    if (err) {
        close(fd);
        atomic_store(&c->closed, true);
        rconn_unref(c);
        return err;
    }
    *out = c;
    return TERN_OK;
}

/* ---- requests: answers ------------------------------------------------ */

void rreq_free(struct rreq *req)
{
    if (!req)
        return;
    rcmd_deinit(&req->cmd);
    rconn_unref(req->conn);
    free(req);
}

struct resp_task {
    struct loop_task task;
    struct rconn *c; /* one reference held */
    buf_t frame;     /* owned */
};

static void resp_task_fn(struct loop_task *t, bool cancelled)
{
    struct resp_task *rt = (struct resp_task *)t;
    if (!cancelled && !rconn_is_closed(rt->c))
        conn_write_buf(rt->c, &rt->frame);
    buf_deinit(&rt->frame);
    rconn_unref(rt->c);
    free(rt);
}

void rreq_respond(struct rreq *req, struct rcmd *resp)
{
    struct rconn *c = req->conn;
    if (rreq_is_oneway(req) || rconn_is_closed(c)) {
        rreq_free(req);
        return;
    }
    resp->opaque = req->cmd.opaque;
    resp->flag = (resp->flag & ~RCMD_FLAG_ONEWAY) | RCMD_FLAG_RESPONSE;
    resp->serialize_type = req->cmd.serialize_type;
    if (loop_on_thread(c->loop)) {
        /* Encode straight into the output: no copy, flushed before sleep.
         * An answer that cannot be built is dropped whole. */
        size_t len = c->out.len;
        rcmd_encode(resp, &c->out);
        if (buf_failed(&c->out))
            buf_rollback(&c->out, len);
        else
            queue_flush(c);
        rreq_free(req);
        return;
    }
    struct resp_task *rt = tern_malloc(sizeof(*rt));
    if (rt == NULL) {
        rreq_free(req); /* out of memory: the answer is dropped */
        return;
    }
    rt->task.fn = resp_task_fn;
    rt->c = c;
    rconn_ref(c);
    buf_init(&rt->frame);
    rcmd_encode(resp, &rt->frame);
    rreq_free(req);
    if (buf_failed(&rt->frame)) {
        resp_task_fn(&rt->task, true);
        return;
    }
    if (loop_post(c->loop, &rt->task) != TERN_OK)
        resp_task_fn(&rt->task, true);
}

void rreq_respond_code(struct rreq *req, int32_t code, const char *remark)
{
    struct rcmd resp;
    rcmd_init_response(&resp, &req->cmd, code);
    if (remark)
        rcmd_set_remark(&resp, "%s", remark);
    rreq_respond(req, &resp);
    rcmd_deinit(&resp);
}

/* ---- requests: server-initiated --------------------------------------- */

static void call_task_fn(struct loop_task *t, bool cancelled)
{
    struct rcall *k = (struct rcall *)t;
    struct rconn *c = k->conn;
    if (cancelled)
        conn_fail_call(k, TERN_ECLOSED);
    else
        conn_start_call(c, k);
    rconn_unref(c);
}

static int send_call(struct rconn *c, struct rcmd *req, bool is_oneway, int timeout_ms, rresp_fn cb,
                     void *arg)
{
    if (rconn_is_closed(c))
        return TERN_ECLOSED;
    struct rcall *k = rcall_new();
    if (k == NULL)
        return TERN_ENOMEM;
    k->cb = cb;
    k->arg = arg;
    k->timeout_ms = timeout_ms;
    if (rcall_encode(k, req, is_oneway, true) != TERN_OK) {
        rcall_free(k);
        return TERN_ENOMEM;
    }
    k->conn = c;
    rconn_ref(c);
    if (loop_on_thread(c->loop)) {
        call_task_fn(&k->task, false);
        return TERN_OK;
    }
    k->task.fn = call_task_fn;
    if (loop_post(c->loop, &k->task) != TERN_OK) {
        rconn_unref(c);
        rcall_free(k);
        return TERN_ECLOSED;
    }
    return TERN_OK;
}

int rconn_send_oneway(struct rconn *c, struct rcmd *req)
{
    return send_call(c, req, true, 0, NULL, NULL);
}

int rconn_send_request(struct rconn *c, struct rcmd *req, int timeout_ms, rresp_fn cb, void *arg)
{
    return send_call(c, req, false, timeout_ms, cb, arg);
}
