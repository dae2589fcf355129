/* SPDX-License-Identifier: Apache-2.0 */
/* conn.h: one TCP connection on one loop, and the request dispatcher
 * (private to remoting/; others use remoting.h).
 *
 * A connection belongs to its loop for life: everything below "loop thread
 * only" is touched by that thread alone. Other threads reach it through
 * loop_post (responses, requests, close) and the atomic fields. The struct is
 * refcounted; the loop holds one reference while it is open. */
#ifndef TERN_REMOTING_CONN_H
#define TERN_REMOTING_CONN_H

#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "remoting/call.h"
#include "remoting/loop.h"
#include "remoting/remoting.h"

#define RDISPATCH_SMALL 1024

/* Handler lookup and hooks, shared by a server's or client's connections. */
struct rdispatch {
    const struct rprocessor *small[RDISPATCH_SMALL]; /* borrowed entries, by code */
    const struct rprocessor *table;                  /* borrowed: caller's table */
    size_t ntable;
    void *ctx;
    void (*on_close)(void *ctx, struct rconn *c);
    bool (*pre_dispatch)(void *ctx, struct rreq *req, const struct rprocessor *p);
};

void rdispatch_init(struct rdispatch *d, const struct rprocessor *table, size_t ntable, void *ctx);
const struct rprocessor *rdispatch_find(const struct rdispatch *d, int code);

struct rconn {
    struct loop_io io;
    struct loop *loop;            /* one reference held, released at free */
    const struct rdispatch *disp; /* borrowed from the owner; used while open */
    atomic_int refs;
    atomic_bool closed;
    uint64_t id;
    char peer[RCALL_ADDR_MAX]; /* "ip:port", or the client's "host:port" */
    struct sockaddr_in peer_addr;
    struct sockaddr_in local_addr;
    void *_Atomic user; /* caller's; not freed here */
    size_t max_out;     /* pause reading above this much pending output */

    /* Loop thread only. */
    buf_t in;       /* owned: bytes read, frames cut from in_off */
    size_t in_off;  /* first unconsumed byte of in */
    size_t in_need; /* bytes the next frame needs (0 = unknown) */
    buf_t out;      /* owned: encoded frames to write from out_off */
    size_t out_off; /* first unwritten byte of out */
    bool is_paused; /* EPOLLIN off for back-pressure */
    bool is_flush_queued;
    bool is_connecting;
    bool is_reading; /* inside the read path: close defers freeing in */
    bool want_close;
    /* TLS (tls.c). The plain path tests only ssl and tls_sniff. */
    struct ssl_st *ssl;         /* owned; NULL on a plain connection */
    const struct rtls *tls_ctx; /* borrowed: the server's, while tls_sniff */
    bool tls_sniff;             /* permissive: first byte decides TLS or plain */
    bool tls_read_on_out;       /* SSL_read wants the socket writable */
    bool tls_write_on_in;       /* SSL_write wants the socket readable */
    int fail_err;               /* error given to pending calls on close */
    struct loop_task flush_task;
    struct loop_task release_task;
    struct loop_timer connect_timer;
    struct pend_map pending; /* calls waiting for a response */
    /* Owner hooks (server list or client map), loop thread. */
    void (*owner_closed)(struct rconn *c);
    void *owner;        /* borrowed: the server or client */
    char *owner_key;    /* owned: the client's "host:port" key */
    int owner_idx;      /* server: index of the loop */
    struct rconn *prev; /* owner's list, loop thread */
    struct rconn *next;
};

/* Loop thread. Wraps fd (non-blocking, connected or connecting) and
 * registers it; returns the connection with the loop's reference. Errors:
 * -errno from epoll (fd is closed then). */
int conn_new(struct loop *l, int fd, const struct rdispatch *d, size_t max_out, bool is_connecting,
             struct rconn **out);
/* Loop thread. Closes now (or at the end of the read path); pending calls
 * fail with err (TERN_ECLOSED or the connect error). Idempotent. */
void conn_close_now(struct rconn *c, int err);
/* Loop thread. Hands frame bytes to the output (steals the buffer when the
 * output is empty, else copies) and schedules a flush. TERN_ENOMEM: nothing
 * was queued and the output is as before. */
int conn_write_buf(struct rconn *c, buf_t *frame);
/* Loop thread. Registers k as pending (unless oneway) and writes its frame;
 * completes k with TERN_ECLOSED when c is closed, TERN_ENOMEM when it could
 * not be registered or queued. Takes k. */
void conn_start_call(struct rconn *c, struct rcall *k);
/* Loop thread. Completes k with err and frees it (k not in any table). */
void conn_fail_call(struct rcall *k, int err);

#endif
