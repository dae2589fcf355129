/* SPDX-License-Identifier: Apache-2.0 */
/* call.h: an outgoing request (struct rcall) and the per-connection table of
 * pending calls keyed by opaque (private to remoting/).
 *
 * A call is one allocation: it is posted to the loop as a task, then sits in
 * its connection's table with an armed timeout timer until the response, the
 * timeout or the connection's close completes it, exactly once. Loop thread
 * only once posted. */
#ifndef TERN_REMOTING_CALL_H
#define TERN_REMOTING_CALL_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/spare.h"
#include "remoting/loop.h"
#include "remoting/remoting.h"

#define RCALL_ADDR_MAX 128

struct rcall {
    struct loop_task task;   /* used while posted to the loop */
    struct loop_timer timer; /* timeout, armed while pending */
    struct rconn *conn;      /* one reference while posted; borrowed once pending */
    struct rclient *client;  /* borrowed: set for client calls routed by addr */
    buf_t frame;             /* owned: encoded request until handed to the connection */
    int32_t opaque;
    bool is_oneway;
    bool is_lazy; /* posted with loop_post_lazy (rclient_call_lazy) */
    bool is_held; /* pending with a loop_lazy_hold on its connection's loop */
    int timeout_ms;
    /* Completion: resp is the decoded response (err == TERN_OK) or NULL. */
    void (*done)(struct rcall *k, int err, struct rreq *resp);
    rresp_fn cb; /* used by the default done */
    void *arg;
    struct spare *spare;       /* borrowed: where rcall_free puts it back, or NULL */
    struct spare_node node;    /* while in spare */
    struct sockaddr_in sa;     /* client calls: resolved address */
    char addr[RCALL_ADDR_MAX]; /* client calls: "host:port" key */
};

/* Allocates a call with the default done (which calls cb); NULL when out of
 * memory. */
struct rcall *rcall_new(void);
/* The same, reusing a call from s (a client's stock) when it holds one; the
 * call goes back there when freed. Its frame buffer is reused too: such a
 * call's frame is copied to the connection, never handed over. */
struct rcall *rcall_take(struct spare *s);
/* Puts k back into its stock, else frees it. */
void rcall_free(struct rcall *k);
/* Frees k itself (the stock's free function). */
void rcall_destroy(struct spare_node *n);
/* A fresh positive opaque from the process-wide counter. */
int32_t rcall_next_opaque(void);
/* Encodes req into k->frame with a new opaque; force_json for server-initiated
 * requests. Sets req's opaque, flag and (if forced) serialize type.
 * TERN_ENOMEM when the frame could not be built. */
int rcall_encode(struct rcall *k, struct rcmd *req, bool is_oneway, bool force_json);

/* Open-addressing table opaque -> call (linear probing, backward-shift
 * deletion, so no tombstones). */
struct pend_map {
    struct rcall **slots; /* owned array; calls are borrowed */
    size_t cap;           /* power of two or 0 */
    size_t count;
};

void pend_map_init(struct pend_map *m);
void pend_map_deinit(struct pend_map *m);
/* TERN_ENOMEM (the table could not grow) leaves the map as it was. */
int pend_map_put(struct pend_map *m, struct rcall *k);
/* Removes and returns the call with this opaque, or NULL. */
struct rcall *pend_map_take(struct pend_map *m, int32_t opaque);
/* Removes every call, handing each to fn (which may touch the map). */
void pend_map_drain(struct pend_map *m, void (*fn)(struct rcall *k, void *arg), void *arg);

#endif
