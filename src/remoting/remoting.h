/* SPDX-License-Identifier: Apache-2.0 */
/* remoting.h: the remoting layer's facade: TCP server with a dispatch table,
 * connections, server-initiated requests, and an RPC client.
 *
 * Threads (docs/design/remoting.md): a server runs io_threads epoll loops;
 * each connection belongs to one loop for life. Handlers run on that loop
 * thread and must not block; a handler that cannot answer at once keeps the
 * struct rreq and answers later with rreq_respond() from any thread (held
 * pulls, SYNC_FLUSH acks). A connection answers requests out of order and keeps
 * reading while requests are pending. Output beyond max_out_bytes pauses
 * reading from that connection until it drains (back-pressure).
 *
 * A client (struct rclient) owns one loop thread and one connection per
 * address, opened lazily; calls are matched to responses by opaque. */
#ifndef TERN_REMOTING_REMOTING_H
#define TERN_REMOTING_REMOTING_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "protocol/cmd.h"

struct rconn;
struct rserver;
struct rclient;

/* TLS (docs/design/remoting.md#tls). A struct rtls is an OpenSSL context,
 * immutable once made and shared by the connections that use it. */
struct rtls;
/* RocketMQ's tlsMode: permissive serves TLS and plain connections on one port
 * (a first byte 0x16 starts TLS), enforcing only TLS. */
enum rtls_mode { RTLS_DISABLED = 0, RTLS_PERMISSIVE = 1, RTLS_ENFORCING = 2 };
/* Parses "disabled", "permissive" or "enforcing". TERN_EINVALID otherwise. */
int rtls_mode_parse(const char *s, enum rtls_mode *out);
/* Server context from PEM files (certificate chain, unencrypted key). OUT:
 * *out, freed by rtls_free. Errors: TERN_ECONFIG with a sentence in err. */
int rtls_server_new(const char *cert_path, const char *key_path, struct rtls **out, char *err,
                    size_t errlen);
/* Client context: TLS 1.2+, the server certificate is not verified (the
 * RocketMQ client default). Errors: TERN_ENOMEM. */
int rtls_client_new(struct rtls **out);
/* NULL is a no-op. Only after every server/client using it has stopped. */
void rtls_free(struct rtls *t);

/* One inbound request. Owned by the handler from the moment it is called until
 * it passes it to rreq_respond()/rreq_free(). */
struct rreq {
    struct rcmd cmd;    /* decoded request; views into frame */
    struct rconn *conn; /* one reference held; released with the rreq */
    uint8_t *frame;     /* owned: the raw frame bytes cmd points into */
    size_t frame_len;
};

typedef void (*rhandler_fn)(void *ctx, struct rreq *req);

/* Dispatch table entry. The table is searched once per request by code. */
struct rprocessor {
    int code;
    const char *name;
    rhandler_fn fn;
    unsigned flags; /* reserved for the caller's use (e.g. permission bits) */
};

struct rserver_opts {
    const char *bind_host;          /* NULL or "0.0.0.0" = any */
    int port;                       /* 0 = ephemeral (see rserver_port) */
    int io_threads;                 /* >= 1 */
    const struct rprocessor *table; /* borrowed; must outlive the server */
    size_t ntable;
    void *ctx; /* passed to handlers and hooks */
    /* Called on the connection's loop thread when a connection closes (after
     * which no handler sees it again). May be NULL. */
    void (*on_close)(void *ctx, struct rconn *c);
    /* Called for every request before its handler, with the table entry of
     * its code (NULL when unknown); return false to drop it (the hook
     * answered or freed it). May be NULL, which costs nothing per request. */
    bool (*pre_dispatch)(void *ctx, struct rreq *req, const struct rprocessor *p);
    size_t max_out_bytes;    /* 0 = default 64 MiB */
    const struct rtls *tls;  /* borrowed, outlives the server; NULL = plain only */
    enum rtls_mode tls_mode; /* with tls: RTLS_PERMISSIVE or RTLS_ENFORCING */
};

/* Starts listening and the loop threads. Errors: -errno from bind/listen. */
int rserver_start(const struct rserver_opts *o, struct rserver **out);
/* The bound port (useful with port 0). */
int rserver_port(const struct rserver *s);
/* Stops accepting, closes every connection, joins the threads, frees. NULL is a no-op. */
void rserver_stop(struct rserver *s);

/* Sends resp as the answer to req (same opaque, RESPONSE flag, req's serialize
 * type are applied here), then frees req. resp is encoded before return, so
 * the caller keeps ownership of resp. For oneway requests nothing is sent.
 * Thread-safe; if the connection is gone the answer is dropped. */
void rreq_respond(struct rreq *req, struct rcmd *resp);
/* Convenience: a response with only a code and a remark (remark may be NULL). */
void rreq_respond_code(struct rreq *req, int32_t code, const char *remark);
/* Frees req without answering. */
void rreq_free(struct rreq *req);
static inline bool rreq_is_oneway(const struct rreq *r)
{
    return (r->cmd.flag & RCMD_FLAG_ONEWAY) != 0;
}

/* Connections. References keep the struct alive, not the socket. */
void rconn_ref(struct rconn *c);
void rconn_unref(struct rconn *c);
/* "ip:port" of the peer (NUL-terminated, owned by the connection). */
const char *rconn_peer(const struct rconn *c);
/* The peer address as a sockaddr_in (IPv4; v6 peers map to 0.0.0.0). */
void rconn_peer_addr(const struct rconn *c, struct sockaddr_in *out);
/* The local address of the connection. */
void rconn_local_addr(const struct rconn *c, struct sockaddr_in *out);
/* Unique, increasing id of this connection within the process. */
uint64_t rconn_id(const struct rconn *c);
bool rconn_is_closed(const struct rconn *c);
/* One pointer of caller data per connection (not freed by remoting). */
void rconn_set_user(struct rconn *c, void *user);
void *rconn_get_user(const struct rconn *c);
/* Closes the connection (any thread). */
void rconn_close(struct rconn *c);

/* Response callback: err is TERN_OK with resp valid only during the call, or
 * TERN_ETIMEOUT / TERN_ECLOSED with resp NULL. Runs on the loop thread. */
typedef void (*rresp_fn)(void *arg, int err, struct rcmd *resp);

/* Sends a request on an existing connection (server-initiated, or client).
 * The opaque is assigned here; JSON is forced for server-initiated requests
 * (CPP and ali-ons read only JSON). Any thread. Returns TERN_ECLOSED if the
 * connection is closed; then cb never runs. */
int rconn_send_oneway(struct rconn *c, struct rcmd *req);
int rconn_send_request(struct rconn *c, struct rcmd *req, int timeout_ms, rresp_fn cb, void *arg);

/* RPC client. */
struct rclient_opts {
    /* Handlers for requests the server sends us (may be NULL/0). */
    const struct rprocessor *table;
    size_t ntable;
    void *ctx;
    int connect_timeout_ms; /* 0 = 3000 */
    bool tls;               /* every connection uses TLS (no certificate check) */
};

int rclient_new(const struct rclient_opts *o, struct rclient **out);
/* Closes connections, fails pending calls with TERN_ECLOSED, joins. NULL no-op. */
void rclient_free(struct rclient *c);
/* Asynchronous call to addr ("host:port"); connects if needed. Returns an
 * error (cb never runs) only if the request cannot be queued. */
int rclient_call(struct rclient *c, const char *addr, struct rcmd *req, int timeout_ms, rresp_fn cb,
                 void *arg);
int rclient_oneway(struct rclient *c, const char *addr, struct rcmd *req);
/* As rclient_call, for callers that keep many calls in flight: while other
 * such calls are pending (their answers keep the loop busy), the request
 * waits for the loop's next wake-up, at most about 1 ms, instead of waking
 * it, and leaves with the others in one write. */
int rclient_call_lazy(struct rclient *c, const char *addr, struct rcmd *req, int timeout_ms,
                      rresp_fn cb, void *arg);
/* Loop thread only (from an rresp_fn): fn(arg) runs once at the end of this
 * loop iteration, after the other responses read with this one and before the
 * loop sleeps, also when the client is being freed. Lets a callback collect
 * work and hand it to other threads once per batch. Errors: TERN_EINVALID off
 * the loop thread, TERN_ENOMEM; then fn does not run. */
int rclient_defer(struct rclient *c, void (*fn)(void *arg), void *arg);

/* A response kept beyond its callback: the frame copy and the decoded view. */
struct rresp {
    buf_t frame;
    struct rcmd cmd;
};
void rresp_init(struct rresp *r);
void rresp_deinit(struct rresp *r);
/* Blocking call from a non-loop thread. On TERN_OK, out->cmd is the response
 * (any response code). Errors: TERN_ETIMEOUT, TERN_ECLOSED, -errno (connect). */
int rclient_call_sync(struct rclient *c, const char *addr, struct rcmd *req, int timeout_ms,
                      struct rresp *out);

#endif
