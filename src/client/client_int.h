/* SPDX-License-Identifier: Apache-2.0 */
/* client_int.h: private structures and helpers of the C SDK (libons).
 *
 * Everything here is internal; the API is include/ons/ons.h. The SDK never
 * aborts on out-of-memory: every allocation it reaches, its own (cl_malloc &
 * co) and those of the layers below, goes through common/alloc.h, and
 * failures become ONS_ERR_GENERIC "out of memory" exceptions
 * (docs/design/client.md "Out of memory").
 * Design: docs/design/client.md. */
#ifndef TERN_CLIENT_CLIENT_INT_H
#define TERN_CLIENT_CLIENT_INT_H

#include <ons/ons.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/strmap.h"
#include "protocol/cmd.h"
#include "remoting/remoting.h"

/* ---- allocation (never aborts) ------------------------------------------ */

static inline void *cl_malloc(size_t n)
{
    return tern_malloc(n);
}
static inline void *cl_calloc(size_t count, size_t n)
{
    return tern_calloc(count, n);
}
static inline void *cl_realloc(void *p, size_t n)
{
    return tern_realloc(p, n);
}
/* NULL s gives NULL (not an error); check with `s && !copy`. */
static inline char *cl_strdup(const char *s)
{
    return tern_strdup(s);
}
static inline char *cl_strndup(const char *s, size_t n)
{
    return tern_strndup(s, n);
}

/* ---- logging (to the user's callback only) ------------------------------ */

void cl_log(ons_log_level_t lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- exceptions ------------------------------------------------------------ */

struct ons_exception {
    char *message; /* owned; NULL for the no-arg form */
    char *remark;  /* owned; server remark or NULL */
    ons_error_category_t category;
    int response_code;           /* -1 when not from a server */
    struct ons_exception *cause; /* owned */
};

/* Stores a new exception into *ex (when ex is not NULL and nothing is stored
 * yet). Always returns -1 so callers can `return cl_raise(...)`. */
int cl_raise(ons_exception_t **ex, ons_error_category_t cat, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A server answer with a non-success code. */
int cl_raise_remote(ons_exception_t **ex, int code, tern_bytes_t remark, const char *what);
/* A local transport error (TERN_ETIMEOUT, TERN_ECLOSED, -errno...). */
int cl_raise_err(ons_exception_t **ex, int err, const char *what);
int cl_raise_oom(ons_exception_t **ex);
ons_error_category_t cl_category_of_code(int code);

/* ---- properties ------------------------------------------------------------ */

struct ons_properties {
    size_t n, cap;
    char **keys; /* owned */
    char **vals; /* owned */
};

/* ---- messages ------------------------------------------------------------ */

struct ons_message {
    char *topic, *tag, *key, *msg_id, *born_host, *sharding_key; /* owned, may be NULL */
    int reconsume_times;
    int64_t born_ts;
    int64_t start_deliver;
    uint8_t *body; /* owned */
    size_t body_len;
    size_t nprops, cap_props;
    char **pkeys; /* owned: user property names */
    char **pvals; /* owned */
    /* Filled on messages the SDK delivers (consumer side). */
    int64_t queue_offset;
    int64_t phy_offset;
    int32_t flag;
    char *wire_topic; /* owned: topic as stored (namespaced, maybe %RETRY%) */
    char *raw_props;  /* owned: the stored properties string */
    size_t raw_props_len;
    /* Delivered messages (msg_record.c) are one allocation: the struct, its
     * strings, property arrays and body; only inflated is separately owned
     * (the inflated body, else NULL). Such messages are never modified. */
    bool packed;
    uint8_t *inflated;    /* owned when packed */
    struct cl_slab *slab; /* packed into a slab: holds one of its references */
};

/* A send result. Those from ons_send_result_new and the sync sends own their
 * strings; the one an async callback sees is a view on the send's storage
 * (valid only during the call) and is never freed. */
struct ons_send_result {
    char *message_id; /* owned (or borrowed, see above); "" when empty */
    char *topic;
};

/* Default limit of the serialized properties block (spec §7.1). */
#define CL_MAX_PROPS_BYTES      8192
#define CL_MAX_BODY_BYTES       (4 * 1024 * 1024)
#define CL_MAX_TOPIC_CHARS      255
#define CL_MAX_DELIVER_AHEAD_MS (40LL * 86400000LL)
#define CL_COMPRESS_OVER        4096

/* A read-only copy of m in one block of cl_message_packed_size(m) bytes at
 * block (pointer aligned, owned by the caller, who frees the block itself and
 * never calls ons_message_free on the copy): what an async send keeps for its
 * retry, in the same allocation as the send. Returns the copy (at block). */
size_t cl_message_packed_size(const ons_message_t *m);
ons_message_t *cl_message_pack(const ons_message_t *m, void *block);
/* Checks what spec §7.5 lists (not the producer kind). */
int cl_message_validate(const ons_message_t *m, int64_t now_ms, ons_exception_t **ex);
/* Appends user properties (and nothing else) to out. */
void cl_message_user_props(const ons_message_t *m, buf_t *out);
/* True for names reserved by the system (spec §7.1). */
bool cl_is_reserved_prop(const char *name, size_t len);
/* Builds the message handed to listeners/checkers from a stored record
 * (msg_record.c). NULL when out of memory or the body cannot be inflated. */
struct cl_config;
struct msg_record;
ons_message_t *cl_message_from_record(const struct cl_config *cfg, const struct msg_record *r);
/* The same, carved from slab when it has room (else allocated alone). */
struct cl_slab;
ons_message_t *cl_message_from_record_in(const struct cl_config *cfg, const struct msg_record *r,
                                         struct cl_slab *slab);
/* The same for a record whose bytes (body, topic, properties) are the
 * slab's own writable copy of stored records, followed by at least one
 * spare byte: the message carved from slab points into them for its body
 * and raw properties, each NUL-terminated in place on the length field
 * after it (already decoded into r). Messages not carved from slab (full)
 * copy as cl_message_from_record_in. */
struct cl_rec_memo;
ons_message_t *cl_message_from_record_borrow(const struct cl_config *cfg,
                                             const struct msg_record *r, struct cl_slab *slab,
                                             struct cl_rec_memo *memo);
/* What building one message of a batch tells the next (records of one
 * producer repeat their property names in the same order, and the born
 * host): the verdict on each property name by position, and the born host
 * text. Zeroed before the batch; points into the batch's records, so it
 * lives no longer than they do. NULL: nothing remembered. */
#define CL_REC_MEMO_NAMES 16
struct cl_rec_memo {
    size_t nnames;
    struct {
        const uint8_t *k;
        size_t len;
        int rp; /* index of the property the SDK reads, or -1 */
        bool internal;
    } names[CL_REC_MEMO_NAMES];
    bool has_host;
    uint8_t host_addr[16];
    int32_t host_port;
    bool host_v6;
    char host_text[48];
    size_t host_len;
};
/* Slabs: the messages of one pull in one allocation, freed with the last of
 * them (messages are freed on consume threads: one cross-thread free per
 * pull instead of one per message). cl_slab_new gives the caller one
 * reference; each carved message holds another. */
struct cl_slab *cl_slab_new(size_t cap);
void cl_slab_unref(struct cl_slab *s);
/* n bytes (16-aligned) of s's free room, owned by s; NULL when full. */
void *cl_slab_alloc(struct cl_slab *s, size_t n);
/* Upper bound of the bytes cl_message_from_record_in carves for r. */
size_t cl_record_bound(const struct msg_record *r);
/* The same for cl_message_from_record_borrow. */
size_t cl_record_bound_borrow(const struct msg_record *r);
/* Generates a fresh UNIQ_KEY (32 hex chars + NUL) for a message born at
 * now_ms (clock_wall_ms()). */
void cl_uniq_id(char out[33], int64_t now_ms);
/* The first non-loopback IPv4 of the host as text ("127.0.0.1" when none). */
const char *cl_local_ip(void);

/* ---- configuration (spec §5) --------------------------------------------- */

enum cl_kind {
    CL_PRODUCER,
    CL_ORDER_PRODUCER,
    CL_TXN_PRODUCER,
    CL_CONSUMER,
    CL_ORDER_CONSUMER,
    CL_BATCH_CONSUMER
};

struct cl_config {
    char **ns_addrs; /* owned: "host:port" name servers */
    size_t nns;
    char *name_space;                        /* owned; NULL = none */
    char *group;                             /* owned: plain group */
    char *wire_group;                        /* owned: namespaced group */
    char *access_key, *secret_key, *channel; /* owned */
    struct cl_hmac_key *hmac;                /* owned: secret_key prepared; NULL without keys */
    char *sharding_key;                      /* owned; NULL = none */
    char *offset_dir;                        /* owned */
    int send_timeout_ms;
    int consume_threads;
    int max_reconsume;
    bool max_reconsume_set;
    int consume_timeout_min;
    int consume_timeout_ms; /* ConsumeTimeout in ms, or the millisecond extension key */
    int batch_max;
    int check_immunity_s;
    int suspend_ms;
    bool tls; /* tls.enable / ONS_TLS_ENABLE: TLS to name servers and brokers */
    bool broadcasting;
};

int cl_config_parse(struct cl_config *cfg, const ons_properties_t *p, enum cl_kind kind,
                    ons_exception_t **ex);
void cl_config_deinit(struct cl_config *cfg);
/* Namespaced copy of name ("I%name" or name). NULL when out of memory. */
char *cl_ns_wrap(const struct cl_config *cfg, const char *name);
/* The plain name of a wire name (borrowed from wire). */
const char *cl_ns_strip(const struct cl_config *cfg, const char *wire);

/* ---- request signing (spec §3.3) ---------------------------------------- */

void cl_sha1(const uint8_t *p, size_t n, uint8_t out[20]);
/* A secret prepared for signing (sign.c); NULL when out of memory. */
struct cl_hmac_key;
struct cl_hmac_key *cl_hmac_key_new(const char *secret);
/* NULL is a no-op; the key state is wiped. */
void cl_hmac_key_free(struct cl_hmac_key *k);
/* HMAC-SHA1 of the concatenation of n parts, without copying them. */
void cl_hmac_sha1_parts(const struct cl_hmac_key *k, const tern_bytes_t *parts, size_t n,
                        uint8_t out[20]);
void cl_hmac_sha1(const uint8_t *key, size_t klen, const uint8_t *msg, size_t mlen,
                  uint8_t out[20]);
/* Base64 of n bytes into out (>= 4*((n+2)/3)+1 bytes), NUL-terminated. */
void cl_base64(const uint8_t *p, size_t n, char *out);

/* ---- the client core: one per producer/consumer instance ---------------- */

/* One message queue of a route. */
struct cl_mq {
    char broker[64];
    int qid;
};

/* A decoded route, immutable once published; shared by refcount. */
struct cl_route {
    _Atomic int refs;
    size_t nbrokers;
    char (*broker_names)[64];
    char (*masters)[64]; /* "" when the broker has no master */
    char **all_addrs;    /* owned: per broker, ';'-joined addresses */
    size_t nwrite;
    struct cl_mq *write; /* sorted by (broker, qid); writable masters only */
    size_t nread;
    struct cl_mq *read; /* sorted by (broker, qid) */
};

void cl_route_unref(struct cl_route *r);
/* Master address of broker (borrowed from r), or NULL. */
const char *cl_route_master(const struct cl_route *r, const char *broker);

struct cl_core;
/* Hooks of the owner (producer or consumer). */
struct cl_core_hooks {
    /* Appends the HeartbeatData body. Called on the service or caller thread. */
    void (*build_heartbeat)(void *owner, buf_t *out);
    /* Called about once a second on the service thread. */
    void (*tick)(void *owner, int64_t now_ms);
    /* NOTIFY_CONSUMER_IDS_CHANGED arrived (loop thread: must not block). */
    void (*notify)(void *owner);
    /* CHECK_TRANSACTION_STATE arrived (loop thread: must not block). Takes
     * req (frees or answers it). NULL: the request is refused. */
    void (*check_txn)(void *owner, struct rreq *req);
    /* GET_CONSUMER_RUNNING_INFO arrived (loop thread: short locks only):
     * appends the ConsumerRunningInfo JSON of req to out. NULL: refused. */
    void (*running_info)(void *owner, const struct rcmd *req, buf_t *out);
    /* GET_CONSUMER_STATUS_FROM_CLIENT arrived (loop thread: short locks only):
     * appends the GetConsumerStatusBody JSON of req to out. NULL: refused. */
    void (*consumer_status)(void *owner, const struct rcmd *req, buf_t *out);
    /* CONSUME_MESSAGE_DIRECTLY arrived for this client's group (loop thread:
     * must not block). Takes req (answers it, now or later from another
     * thread). NULL: the request is refused. */
    void (*consume_directly)(void *owner, struct rreq *req);
    /* RESET_CONSUMER_CLIENT_OFFSET arrived for this client's group (loop
     * thread: must not block). Takes req. NULL: the request is refused. */
    void (*reset_offset)(void *owner, struct rreq *req);
    bool heartbeat_all_brokers; /* consumers: every address; producers: masters */
    bool is_consumer;
};

struct cl_core {
    struct cl_config cfg;
    char client_id[128];
    struct rclient *rc; /* owned */
    struct cl_core_hooks hooks;
    void *owner;
    pthread_mutex_t mu; /* guards routes, ns_idx */
    strmap_t routes;    /* wire topic -> struct cl_route* (one ref held) */
    unsigned ns_idx;
    pthread_mutex_t svc_mu;
    pthread_cond_t svc_cv;
    pthread_t svc;
    bool svc_running;
    bool svc_stop;                     /* guarded by svc_mu */
    bool svc_kick;                     /* guarded by svc_mu */
    int64_t last_hb_ms, last_route_ms; /* service thread only */
    _Atomic bool hb_due;               /* heartbeat at the next wake-up */
    _Atomic int state;                 /* CL_CREATED / CL_STARTED / CL_CLOSED */
    pthread_mutex_t life_mu;           /* serializes start/shutdown */
};

enum { CL_CREATED = 0, CL_STARTED = 1, CL_CLOSED = 2 };

int cl_core_init(struct cl_core *c, const ons_properties_t *p, enum cl_kind kind,
                 const struct cl_core_hooks *hooks, void *owner, ons_exception_t **ex);
/* Connects (rclient), starts the service thread. */
int cl_core_start(struct cl_core *c, ons_exception_t **ex);
/* Stops the service thread; unregisters from brokers when unregister is set. */
void cl_core_stop_service(struct cl_core *c);
void cl_core_unregister(struct cl_core *c, const char *producer_group, const char *consumer_group);
/* Frees everything (after stop). */
void cl_core_deinit(struct cl_core *c);
/* Wakes the service thread at once (e.g. to rebalance). Any thread. */
void cl_core_kick(struct cl_core *c);

/* Signs req (AccessKey, OnsChannel, Signature) when credentials are set. */
void cl_core_sign(struct cl_core *c, struct rcmd *req);
/* Signed synchronous call; req is deinit'ed. out must be rresp_deinit'ed. */
int cl_core_call(struct cl_core *c, const char *addr, struct rcmd *req, int timeout_ms,
                 struct rresp *out);
/* Signed async call; req is deinit'ed. lazy: rclient_call_lazy (a send
 * among many in flight), else rclient_call. */
int cl_core_call_async(struct cl_core *c, const char *addr, struct rcmd *req, int timeout_ms,
                       bool lazy, rresp_fn cb, void *arg);
int cl_core_oneway(struct cl_core *c, const char *addr, struct rcmd *req);

/* The cached route of a topic (a new reference), or NULL: never asks a name
 * server, so loop-thread callbacks may use it. */
struct cl_route *cl_core_route_cached(struct cl_core *c, const char *wire_topic);
/* The route of a wire topic; fetched from the name servers when not cached
 * or when refresh is set. OUT: *out (one reference; cl_route_unref). */
int cl_core_route(struct cl_core *c, const char *wire_topic, bool refresh, struct cl_route **out,
                  ons_exception_t **ex);
/* Checks that one name server answers (any answer will do). */
int cl_core_probe(struct cl_core *c, ons_exception_t **ex);
/* Sends the heartbeat to every broker known from the cached routes. */
void cl_core_heartbeat(struct cl_core *c);

/* Copies a view into a NUL-terminated buffer (truncating). */
void cl_copy(char *dst, size_t cap, tern_bytes_t v);

#endif
