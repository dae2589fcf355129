/* SPDX-License-Identifier: Apache-2.0 */
/* producer_int.h: the producer engine shared by producer.c (Producer,
 * OrderProducer) and txn_producer.c (TransactionProducer).
 *
 * Every producer kind embeds struct ons_producer first. Threads and locks are
 * described in producer.c; docs/design/client.md has the overview. */
#ifndef TERN_CLIENT_PRODUCER_INT_H
#define TERN_CLIENT_PRODUCER_INT_H

#include "client/client_int.h"
#include "common/spare.h"
#include "protocol/msgid.h"

#define ASYNC_THREADS 4

/* One sendAsync. It is first sent pipelined from the caller's thread
 * (first_attempt); the response lands on the client loop, which queues the
 * job for a worker: JOB_DONE runs the callback with res, JOB_RETRY runs the
 * synchronous path (retries on another broker) and then the callback. */
enum job_stage { JOB_RETRY, JOB_DONE };

struct async_job {
    struct spare_node node; /* size: the whole block; a finished job goes to pr->spare_jobs */
    struct async_job *next;
    struct ons_producer *pr; /* borrowed; the job holds one `active` count */
    ons_message_t *msg;      /* a packed copy in the job's own allocation (after it) */
    ons_send_callback_t cb;
    enum job_stage stage;
    char broker[64];  /* broker of the pipelined attempt */
    char uniq[33];    /* its UNIQ_KEY (the message id) */
    int64_t deadline; /* mono ms: SendMsgTimeoutMillis from the call */
};

struct ons_producer {
    struct cl_core core;
    enum cl_kind kind;
    _Atomic unsigned rr; /* round-robin position */
    _Atomic int active;  /* sends in progress (API calls and async jobs) */
    pthread_mutex_t fail_mu;
    char failed_broker[64]; /* guarded by fail_mu */
    /* mono ms; written under fail_mu, read first without it (0: no failure
     * yet, so a send takes neither the lock nor the clock) */
    _Atomic int64_t failed_until;
    /* Answers of one client loop iteration, handed to the workers together
     * at its end (client loop thread only). */
    struct async_job *done_head, *done_tail;
    size_t ndone;
    pthread_mutex_t aq_mu;
    pthread_cond_t aq_cv;
    struct async_job *head, *tail; /* guarded by aq_mu */
    size_t nqueued;                /* guarded by aq_mu: jobs on the list */
    int nidle;                     /* guarded by aq_mu: workers waiting on aq_cv */
    int nwaking;                   /* guarded by aq_mu: of those, signalled ones */
    int nbusy;                     /* guarded by aq_mu: workers running jobs */
    _Atomic int queued;            /* in flight + queued + running jobs (shutdown polls it) */
    bool aq_stop;                  /* guarded by aq_mu */
    pthread_t workers[ASYNC_THREADS];
    int nworkers;
    struct spare spare_jobs; /* finished jobs for the next sends to reuse */
};

enum send_mode { SEND_SYNC, SEND_ONEWAY };

/* A transactional (half) send: the caller asks for it by passing one of
 * these to producer_send(); the send then carries TRAN_MSG=true, PGROUP,
 * CHECK_IMMUNITY_TIME_IN_SECONDS and sysFlag TRANSACTION_PREPARED, and on
 * success the fields below describe where the half message was stored. */
struct send_txn {
    char broker[64];                   /* OUT: broker name */
    char addr[64];                     /* OUT: broker address */
    char offset_id[MSGID_MAX_LEN + 1]; /* OUT: offset msgId of the half message */
    int64_t queue_offset;              /* OUT: half queue offset */
    char uniq[33];                     /* OUT: UNIQ_KEY (the message id) */
};

ons_send_result_t *cl_send_result_make(const char *topic, const char *msg_id);

/* check_txn: the CHECK_TRANSACTION_STATE hook (NULL for non-transactional
 * kinds). size is the size of the embedding struct (zeroed). NULL + *ex on
 * bad properties or out of memory. */
struct ons_producer *producer_new(const ons_properties_t *p, enum cl_kind kind, size_t size,
                                  void (*check_txn)(void *owner, struct rreq *req),
                                  ons_exception_t **ex);
int producer_start(struct ons_producer *pr, ons_exception_t **ex);
void producer_shutdown(struct ons_producer *pr);
/* Shuts down, releases the engine and frees pr (the embedding struct). */
void producer_destroy(struct ons_producer *pr);
/* Common entry checks. On success the caller holds one `active` count and
 * must drop it when its send is over. */
int producer_enter(struct ons_producer *pr, const ons_message_t *m, ons_exception_t **ex);
/* The whole send. shard: the sharding key of ordered sends (NULL otherwise);
 * txn: non-NULL for a half message (OUT: filled on success). OUT: *result
 * (may be NULL). Returns 0 or -1 with *ex. */
int producer_send(struct ons_producer *pr, const ons_message_t *m, const char *shard,
                  enum send_mode mode, struct send_txn *txn, ons_send_result_t **result,
                  ons_exception_t **ex);

#endif
