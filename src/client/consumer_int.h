/* SPDX-License-Identifier: Apache-2.0 */
/* consumer_int.h: the push-consumer engine shared by every consumer kind
 * (Consumer, BatchConsumer, OrderConsumer). Design: docs/design/client.md.
 *
 * Files and their jobs:
 *   consumer.c             subscriptions, heartbeat, process queues, lifecycle, APIs
 *   consumer_pull.c        pull scheduling (pull thread) and pull responses (loop thread)
 *   consumer_offset.c      committed offsets: broker or local file; start offsets
 *   consumer_rebalance.c   queue allocation (AVG), taking and releasing queues
 *   consumer_concurrent.c  concurrent consumption, send-back, ConsumeTimeout
 *   consumer_order.c       ordered consumption, queue locks, the OrderConsumer API
 *
 * Threads: API calls; the service thread (tick: rebalance, commits, lock
 * renewal, timeouts); one pull thread; the rclient loop thread (pull
 * responses); ConsumeThreadNums consume threads. Lock order: c->mu, then
 * pq->mu; rb_mu before c->mu; pull_mu, cq_mu, run_mu are leaves. pq->consume_mu
 * (ordered queues) is taken before c->mu and never while holding it. */
#ifndef TERN_CLIENT_CONSUMER_INT_H
#define TERN_CLIENT_CONSUMER_INT_H

#include "client/client_int.h"
#include "protocol/json.h"
#include "remoting/loop.h"

#define REBALANCE_MS     20000
#define COMMIT_MS        5000
#define PULL_ERROR_DELAY 3000
#define CALL_TIMEOUT_MS  3000
#define PULL_BATCH       32 /* maxMsgNums of a pull */
/* Pulls in flight per queue while a concurrent consumer catches up on a
 * backlog (consumer_pull.c), and the most a queue tracks at once. */
#define PULL_WINDOW 4
#define PULL_SLOTS  (PULL_WINDOW + 2)
/* Listener time a consume thread should get from one hand-off: waking
 * another thread for less costs more than it saves. */
#define SPLIT_NS 50000

struct sub {
    char *topic;      /* owned: plain topic */
    char *wire_topic; /* owned */
    char *expr;       /* owned: "*" for all */
    char **tags;      /* owned */
    size_t ntags;
    bool all;
    int64_t version;
    void *fn; /* the listener of the consumer kind (message, batch or order) */
    void *user;
};

/* Process queue: one per assigned message queue; refcounted (the consumer's
 * array, pull tasks, pull calls and consume jobs each hold a reference). */
/* Totals of one queue since it was taken (consumer_info.c). */
struct pq_stats {
    _Atomic uint64_t pulls, pull_ns, pulled, ok, failed, consume_ns;
};

/* A copy of pq_stats at one instant (mono ms; at = 0: none taken yet). */
struct pq_sample {
    uint64_t pulls, pull_ns, pulled, ok, failed, consume_ns;
    int64_t at;
};

struct pq {
    _Atomic int refs;
    char *wire_topic; /* owned */
    char broker[64];
    int qid;
    bool retry; /* the group's %RETRY% topic */
    _Atomic bool dropped;
    pthread_mutex_t mu;
    int64_t next_offset;         /* guarded by mu: next pull offset */
    int64_t pulling[PULL_SLOTS]; /* guarded by mu: start offsets of the pulls in flight */
    size_t npulling;             /* guarded by mu */
    int64_t *inflight;           /* guarded by mu: sorted offsets fetched, not yet acked */
    size_t ninflight, cap;
    int64_t reported; /* guarded by mu: last offset committed to the store */
    /* Ordered consumption only. */
    _Atomic int64_t lock_ms;    /* mono ms of the last successful broker lock; 0 = not held */
    ons_message_t **buf;        /* guarded by mu: owned, fetched messages in queue order */
    size_t nbuf, capbuf;        /* guarded by mu */
    bool scheduled;             /* guarded by mu: a consume job for this queue exists */
    pthread_mutex_t consume_mu; /* held while a message of this queue is consumed */
    /* Running statistics (GET_CONSUMER_RUNNING_INFO). */
    struct pq_stats st;
    _Atomic int64_t last_pull_ms, last_consume_ms; /* wall ms; 0 = never */
    struct pq_sample win[2], hour; /* guarded by mu: rate windows, see cons_stats_roll */
};

struct pull_task {
    struct pull_task *next;
    struct pq *pq; /* one reference */
    int64_t due;   /* mono ms */
};

/* A consume job: messages of one queue (concurrent), or "drain the queue's
 * buffer" (ordered: msgs is NULL). */
struct cjob {
    struct cjob *next;
    struct pq *pq;        /* one reference */
    ons_message_t **msgs; /* owned; NULL while the job is raw */
    size_t n;             /* messages, or records while raw */
    int64_t not_before;   /* mono ms */
    /* A raw job (concurrent consumers): the pulled records, copied into
     * raw (one reference) with recs[] pointing into it; a consume thread
     * builds the messages into the same slab (cons_build_job). */
    struct cl_slab *raw;
    struct msg_record *recs; /* in raw */
    /* A CONSUME_MESSAGE_DIRECTLY to answer (consumer_direct.c): owned; the
     * job's one message is that request's, and pq is NULL. */
    struct rreq *direct;
};

/* A consume thread's current listener call, for ConsumeTimeout and the
 * running info; one slot per consume thread, written by it alone while
 * IDLE. The thread moves IDLE -> ACTIVE -> IDLE with atomics only; the
 * service thread claims an ACTIVE slot by compare-and-swap (HANDING_BACK,
 * then TIMED_OUT or ACTIVE again), the running info likewise (INSPECTED,
 * then ACTIVE again), both under run_mu. A thread whose slot was claimed
 * waits on run_cv under run_mu until it is ACTIVE or TIMED_OUT again, so
 * a claimed slot's job stays valid while run_mu is held. */
enum run_state { RUN_IDLE, RUN_ACTIVE, RUN_HANDING_BACK, RUN_TIMED_OUT, RUN_INSPECTED };
struct run_slot {
    _Atomic int state;          /* enum run_state */
    _Atomic(struct cjob *) job; /* borrowed from the consume thread running it */
    _Atomic int64_t started;    /* mono ms */
    char pad[64 - sizeof(int64_t) - 2 * sizeof(void *)]; /* one slot per cache line */
};

struct ons_consumer {
    struct cl_core core;
    bool batch;
    bool orderly;
    char *retry_topic; /* owned: %RETRY%<wire group> */
    pthread_mutex_t mu;
    struct sub *subs; /* guarded by mu */
    size_t nsubs;
    struct pq **pqs; /* guarded by mu */
    size_t npqs;
    strmap_t local; /* guarded by mu: broadcasting offsets "topic@broker@qid" -> int64_t* */
    bool local_loaded;
    pthread_mutex_t rb_mu; /* serializes rebalances (start vs service thread) */
    _Atomic bool rebalance_due;
    int64_t next_rebalance, next_commit, next_lock; /* service thread */
    /* pull scheduling */
    pthread_mutex_t pull_mu;
    pthread_cond_t pull_cv;
    struct pull_task *tasks; /* guarded by pull_mu */
    bool pull_stop;          /* guarded by pull_mu */
    pthread_t puller;
    bool puller_running;
    /* consumption */
    pthread_mutex_t cq_mu;
    pthread_cond_t cq_cv;
    struct cjob *head, *tail;   /* guarded by cq_mu */
    size_t cq_msgs;             /* guarded by cq_mu: messages in the queued jobs */
    int cq_idle;                /* guarded by cq_mu: consume threads waiting for a job */
    struct loop_task wake_task; /* the loop thread's deferred wake-up (cons_push_job_loop) */
    bool wake_deferred;         /* loop thread only: wake_task is deferred */
    _Atomic int64_t listen_ns;  /* moving average of a listener call per message */
    bool cq_stop;               /* guarded by cq_mu */
    pthread_t *threads;
    int nthreads;
    pthread_mutex_t run_mu;
    pthread_cond_t run_cv;
    struct run_slot *slots; /* ConsumeThreadNums entries; the array is guarded by run_mu */
    int nslots;
    _Atomic int slot_seq;          /* consume threads take slots[slot_seq++] */
    _Atomic int64_t start_wall_ms; /* when start() succeeded */
    struct cons_reset *resets;     /* guarded by mu: owned, offset resets to apply */
};

struct ons_consume_context {
    int unused;
};

struct ons_consume_order_context {
    int unused;
};

/* ---- consumer.c ------------------------------------------------------------- */

void pq_unref(struct pq *q);
int64_t pq_commit_offset_locked(const struct pq *q);
/* Removes offset from the in-flight set. */
void pq_ack(struct pq *q, int64_t off);
/* Removes offs (ascending; unknown ones ignored) from the in-flight set. */
void pq_ack_many(struct pq *q, const int64_t *offs, size_t n);
/* Finds the subscription of a plain topic; copies fn/user into out_copy and
 * the tag match into *match_tag (both optional). False when not subscribed. */
bool cons_sub_lookup(struct ons_consumer *c, const char *topic, struct sub *out_copy,
                     bool *match_tag, const char *tag);
/* Frees (and sets to NULL) the messages whose topic is not subscribed or
 * whose tag the subscription does not match; NULL entries are skipped. One
 * lock for the batch. */
void cons_sub_filter(struct ons_consumer *c, ons_message_t **msgs, size_t n);
void cons_push_job(struct ons_consumer *c, struct cjob *j);
/* The same from the rclient loop thread (pull responses): the consume
 * threads are woken once at the end of the loop's iteration, for every job
 * it queued, not once per job. */
void cons_push_job_loop(struct ons_consumer *c, struct cjob *j);
/* Loop thread: defers that wake-up now (tasks deferred earlier run later:
 * a pull response arms it before sending the next pull, so the pull is
 * written first). False when not called on a loop thread. */
bool cons_wake_at_loop_end(struct ons_consumer *c);
/* Builds a raw job's messages on the calling consume thread: filters them by
 * the subscription, acknowledges the skipped ones. Afterwards j->msgs holds
 * j->n messages (possibly none). */
void cons_build_job(struct ons_consumer *c, struct cjob *j);
/* Service thread: wakes an idle consume thread when jobs wait (a safety net
 * for cons_push_job's sparing wake-ups). */
void cons_wake_if_waiting(struct ons_consumer *c);
void cons_free_job(struct cjob *j);

struct ons_consumer *consumer_new(const ons_properties_t *p, enum cl_kind kind, size_t size,
                                  ons_exception_t **ex);
int consumer_subscribe(struct ons_consumer *c, const char *topic, const char *expr, void *fn,
                       void *user, ons_exception_t **ex);
int consumer_unsubscribe(struct ons_consumer *c, const char *topic, ons_exception_t **ex);
int consumer_start(struct ons_consumer *c, ons_exception_t **ex);
void consumer_shutdown(struct ons_consumer *c);
void consumer_destroy(struct ons_consumer *c);

/* ---- consumer_pull.c ----------------------------------------------------------- */

/* Queues a pull of q after delay_ms; takes a new reference. Any thread. */
void cons_pull_schedule(struct ons_consumer *c, struct pq *q, int64_t delay_ms);
/* Version of the subscription of a wire topic (0 when not subscribed). */
int64_t cons_sub_version(struct ons_consumer *c, const char *wire_topic);
/* The pull thread. */
void *cons_pull_main(void *arg);

/* ---- consumer_offset.c --------------------------------------------------------- */

/* Commits every queue whose offset changed. sync: wait for answers. */
void cons_offset_commit_all(struct ons_consumer *c, bool sync);
/* Commits one queue's offset to addr (clustering). sync: wait for the answer.
 * Returns true when sent (and, if sync, accepted). */
bool cons_offset_commit_one(struct ons_consumer *c, struct pq *q, const char *addr, bool sync);
/* Start offset of a newly assigned queue (§8.6). OUT: *off. */
int cons_offset_initial(struct ons_consumer *c, const char *wire_topic, const char *broker, int qid,
                        const char *addr, int64_t *off);

/* ---- consumer_rebalance.c ------------------------------------------------------ */

/* Balances every subscribed topic (and the retry topic); drops queues of
 * topics no longer subscribed. Returns false if some topic must be retried. */
bool cons_rebalance(struct ons_consumer *c);
/* Drops every queue (shutdown; workers already stopped). */
void cons_rebalance_drop_all(struct ons_consumer *c);

/* ---- consumer_concurrent.c ----------------------------------------------------- */

/* Master address of q's broker into buf; NULL when unknown. */
const char *cons_pq_addr(struct ons_consumer *c, const struct pq *q, char *buf, size_t cap);
/* A consume thread (both kinds: ordered jobs go to cons_order_run). */
void *cons_consume_main(void *arg);
/* CONSUMER_SEND_MSG_BACK with delay_level (0: broker's choice; -1: DLQ). */
bool cons_send_back(struct ons_consumer *c, const struct pq *q, const ons_message_t *m,
                    int delay_level);
/* Hands back listener calls running longer than ConsumeTimeout (service
 * thread). */
void cons_check_timeouts(struct ons_consumer *c, int64_t now);
/* One line on what consume thread i does (running info; run_mu held). */
void cons_describe_slot(struct ons_consumer *c, int i, int64_t mono_now, char *line, size_t cap);

/* ---- consumer_order.c ---------------------------------------------------------- */

/* Appends fetched messages (ownership moves; msgs[] itself stays the
 * caller's) to q's buffer and schedules a drain job when none exists.
 * Loop thread. */
/* ---- consumer_info.c ---- */

/* Counts one pull answer of n messages that took ns. Any thread. */
void cons_stats_pulled(struct pq *q, size_t n, int64_t ns);
/* Counts consumed messages and the listener time they took. Any thread. */
void cons_stats_consumed(struct pq *q, size_t ok, size_t failed, int64_t ns);
/* Service thread, about once a second: starts a new rate window every
 * minute (and a new failure count every hour). */
void cons_stats_roll(struct ons_consumer *c, int64_t now_ms);
/* The cl_core running_info hook: ConsumerRunningInfo JSON (properties,
 * subscriptionSet, mqTable, statusTable, jstack when asked). */
void cons_running_info(void *owner, const struct rcmd *req, buf_t *out);
/* The cl_core consumer_status hook (GET_CONSUMER_STATUS_FROM_CLIENT):
 * GetConsumerStatusBody {"consumerTable":{},"messageQueueTable":{{mq}:offset}}
 * with the committed offset of each held queue of req's topic. */
void cons_status_info(void *owner, const struct rcmd *req, buf_t *out);
/* Writes one SubscriptionData object (heartbeat and running info). */
void cons_write_sub(jw_t *w, const char *topic, const char *expr, char *const *tags, size_t ntags,
                    int64_t version);

/* ---- consumer_reset.c ------------------------------------------------------- */

struct cons_reset;
/* The cl_core reset_offset hook (loop thread): parses the new offsets of the
 * request's topic and queues them for the service thread. Takes req. */
void cons_reset_request(void *owner, struct rreq *req);
/* Service thread (tick, before the rebalance): applies the queued resets:
 * each queue's committed offset becomes the new one, a held queue is dropped
 * and the next rebalance (requested here) takes it again from there. */
void cons_reset_apply(struct ons_consumer *c);
/* Frees resets never applied (destroy). */
void cons_reset_free_pending(struct ons_consumer *c);
/* consumer_offset.c: makes off the committed offset of one queue (the
 * broker's, synchronously, or the broadcasting file). */
void cons_offset_reset(struct ons_consumer *c, const char *wire_topic, const char *broker, int qid,
                       int64_t off);
/* consumer_rebalance.c: removes a held queue from the consumer and marks it
 * dropped, without committing it; returns it (one reference) or NULL. */
struct pq *cons_rebalance_detach(struct ons_consumer *c, const char *wire_topic, const char *broker,
                                 int qid);

/* ---- consumer_direct.c ------------------------------------------------------ */

/* The cl_core consume_directly hook (loop thread): queues the request's
 * message ahead of the other jobs, or refuses it (stopping, bad body). */
void cons_direct_request(void *owner, struct rreq *req);
/* Runs a direct job on a consume thread (takes j): the listener once, outside
 * the normal flow (no ack, no retry, no statistics), then the
 * ConsumeMessageDirectlyResult answer. */
void cons_direct_run(struct ons_consumer *c, struct cjob *j);

void cons_order_enqueue(struct ons_consumer *c, struct pq *q, ons_message_t **msgs, size_t n);
/* Runs a drain job on a consume thread (takes j). */
void cons_order_run(struct ons_consumer *c, struct cjob *j);
/* True when q may be pulled and consumed (broadcasting, or lock fresh). */
bool cons_order_lock_valid(const struct ons_consumer *c, const struct pq *q);
/* LOCK_BATCH_MQ of one queue before it is taken (rebalance). */
bool cons_order_lock_one(struct ons_consumer *c, const char *addr, const char *wire_topic,
                         const char *broker, int qid);
/* Releases a queue moving away: waits for its in-flight message, drops the
 * buffer, commits the offset (sync), UNLOCK_BATCH_MQ. */
void cons_order_release(struct ons_consumer *c, struct pq *q, const char *addr);
/* UNLOCK_BATCH_MQ of every held queue (shutdown, after the final commit). */
void cons_order_unlock_all(struct ons_consumer *c);
/* Renews the locks of held queues (every 20 s; queues that lost theirs every
 * tick). Service thread. */
void cons_order_tick(struct ons_consumer *c, int64_t now);

#endif
