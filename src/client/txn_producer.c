/* SPDX-License-Identifier: Apache-2.0 */
/* txn_producer.c: TransactionProducer (spec §9.5, §9.6, §13.8;
 * remoting-protocol §4.B.4, §4.E.1, §8.9, §9.4).
 *
 * send(): a half message (TRAN_MSG=true, PGROUP, sysFlag PREPARED) through
 * the producer engine, then the executer on the caller's thread, then
 * END_TRANSACTION oneway with 8 (commit), 12 (rollback) or 0 (unknown: the
 * broker ignores it and checks back later). CHECK_TRANSACTION_STATE requests
 * arrive on the rclient loop thread (core.c routes them here); they are
 * decoded there and queued for one checker thread ("check"), which calls the
 * application's checker and answers with END_TRANSACTION
 * (fromTransactionCheck=true). The producer heartbeats its group, so the
 * broker knows where to send checks. Locks: ck_mu guards the check queue
 * (leaf). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/producer_int.h"
#include "common/clock.h"
#include "common/error.h"
#include "protocol/codes.h"
#include "protocol/message.h"
#include "protocol/props.h"

#define CHECK_QUEUE_MAX 4096 /* pending checks beyond this are dropped (the broker asks again) */

/* One CHECK_TRANSACTION_STATE to answer. */
struct check_job {
    struct check_job *next;
    ons_message_t *msg; /* owned: the half message as the checker sees it */
    char peer[64];      /* broker address the request came from */
    char bname[64];     /* broker name ("" when the broker sent none) */
    int64_t tran_off;   /* half queue offset */
    int64_t phy_off;    /* half commit-log offset */
    char msg_id[64];
    char txn_id[64];
};

struct ons_transaction_producer {
    struct ons_producer p; /* first: producer_destroy() frees the whole struct */
    ons_local_transaction_checker_fn checker;
    void *checker_user; /* borrowed from the application */
    pthread_mutex_t ck_mu;
    pthread_cond_t ck_cv;
    struct check_job *head, *tail; /* guarded by ck_mu */
    int nqueued;                   /* guarded by ck_mu */
    bool ck_stop;                  /* guarded by ck_mu */
    pthread_t ck_thread;
    bool ck_running; /* life_mu */
};

static ons_transaction_status_t valid_status(int st)
{
    return (st == ONS_COMMIT_TRANSACTION || st == ONS_ROLLBACK_TRANSACTION) ? st : ONS_UNKNOW;
}

/* END_TRANSACTION (oneway) with the header of remoting-protocol §4.B.4. */
static void end_txn(struct ons_transaction_producer *tp, const char *addr, const char *bname,
                    const char *topic, int64_t tran_off, int64_t phy_off, const char *msg_id,
                    const char *txn_id, ons_transaction_status_t st, bool from_check)
{
    int code = st == ONS_COMMIT_TRANSACTION     ? MSG_SYSFLAG_TXN_COMMIT
               : st == ONS_ROLLBACK_TRANSACTION ? MSG_SYSFLAG_TXN_ROLLBACK
                                                : MSG_SYSFLAG_TXN_NOT;
    struct rcmd cmd;
    rcmd_init(&cmd);
    cmd.code = RC_END_TRANSACTION;
    rcmd_add_cstr(&cmd, "producerGroup", tp->p.core.cfg.wire_group);
    rcmd_add_i64(&cmd, "tranStateTableOffset", tran_off);
    rcmd_add_i64(&cmd, "commitLogOffset", phy_off);
    rcmd_add_i64(&cmd, "commitOrRollback", code);
    rcmd_add_cstr(&cmd, "fromTransactionCheck", from_check ? "true" : "false");
    rcmd_add_cstr(&cmd, "msgId", msg_id);
    rcmd_add_cstr(&cmd, "transactionId", txn_id);
    if (topic)
        rcmd_add_cstr(&cmd, "topic", topic);
    if (bname && *bname)
        rcmd_add_cstr(&cmd, "bname", bname);
    int rc = cl_core_oneway(&tp->p.core, addr, &cmd);
    if (rc != TERN_OK)
        cl_log(ONS_LOG_WARN, "END_TRANSACTION of %s to %s failed: %s (the broker will check back)",
               msg_id, addr, tern_strerror(rc));
}

/* ---- check-back -------------------------------------------------------------- */

static void check_job_free(struct check_job *j)
{
    ons_message_free(j->msg);
    free(j);
}

/* Loop thread: decode, queue, never block. Takes req. */
static void on_check(void *owner, struct rreq *req)
{
    struct ons_transaction_producer *tp = owner;
    struct check_job *j = cl_calloc(1, sizeof *j);
    struct msg_record r;
    bool ok = j != NULL && msg_decode(req->cmd.body.ptr, req->cmd.body.len, &r) == TERN_OK;
    if (ok) {
        tern_bytes_t pg;
        /* Only halves of this producer's group (Go drops the others too). */
        ok = props_get(r.props, PROP_PGROUP, &pg) &&
             tern_bytes_eq_cstr(pg, tp->p.core.cfg.wire_group) &&
             (j->msg = cl_message_from_record(&tp->p.core.cfg, &r)) != NULL;
    }
    if (ok) {
        snprintf(j->peer, sizeof j->peer, "%s", rconn_peer(req->conn));
        cl_copy(j->bname, sizeof j->bname, rcmd_get(&req->cmd, "bname"));
        cl_copy(j->msg_id, sizeof j->msg_id, rcmd_get(&req->cmd, "msgId"));
        cl_copy(j->txn_id, sizeof j->txn_id, rcmd_get(&req->cmd, "transactionId"));
        if (!j->txn_id[0])
            snprintf(j->txn_id, sizeof j->txn_id, "%s", j->msg_id);
        ok = rcmd_get_i64(&req->cmd, "tranStateTableOffset", &j->tran_off) == TERN_OK &&
             rcmd_get_i64(&req->cmd, "commitLogOffset", &j->phy_off) == TERN_OK;
    }
    if (rreq_is_oneway(req))
        rreq_free(req);
    else
        rreq_respond_code(req, RESP_SUCCESS, NULL);
    if (!ok) {
        cl_log(ONS_LOG_WARN,
               "ignoring a CHECK_TRANSACTION_STATE (bad, foreign group or no memory)");
        if (j)
            check_job_free(j);
        return;
    }
    pthread_mutex_lock(&tp->ck_mu);
    if (tp->ck_stop || tp->nqueued >= CHECK_QUEUE_MAX) {
        pthread_mutex_unlock(&tp->ck_mu);
        check_job_free(j);
        return;
    }
    if (tp->tail)
        tp->tail->next = j;
    else
        tp->head = j;
    tp->tail = j;
    tp->nqueued++;
    pthread_cond_signal(&tp->ck_cv);
    pthread_mutex_unlock(&tp->ck_mu);
}

/* Answers one check on the checker thread. */
static void run_check(struct ons_transaction_producer *tp, struct check_job *j)
{
    ons_transaction_status_t st = valid_status(tp->checker(j->msg, tp->checker_user));
    /* Prefer the route's master address of the named broker; the peer
     * address of the request otherwise. */
    char addr[64];
    snprintf(addr, sizeof addr, "%s", j->peer);
    struct cl_route *r = NULL;
    if (j->bname[0] && j->msg->wire_topic &&
        cl_core_route(&tp->p.core, j->msg->wire_topic, false, &r, NULL) == 0) {
        const char *a = cl_route_master(r, j->bname);
        if (a)
            snprintf(addr, sizeof addr, "%s", a);
    }
    cl_route_unref(r);
    end_txn(tp, addr, j->bname, j->msg->wire_topic, j->tran_off, j->phy_off, j->msg_id, j->txn_id,
            st, true);
}

static void *check_main(void *arg)
{
    struct ons_transaction_producer *tp = arg;
    pthread_mutex_lock(&tp->ck_mu);
    for (;;) {
        while (tp->head == NULL && !tp->ck_stop)
            pthread_cond_wait(&tp->ck_cv, &tp->ck_mu);
        if (tp->ck_stop)
            break;
        struct check_job *j = tp->head;
        tp->head = j->next;
        if (tp->head == NULL)
            tp->tail = NULL;
        tp->nqueued--;
        pthread_mutex_unlock(&tp->ck_mu);
        run_check(tp, j);
        check_job_free(j);
        pthread_mutex_lock(&tp->ck_mu);
    }
    /* Checks not answered are asked again by the broker. */
    struct check_job *j = tp->head;
    tp->head = tp->tail = NULL;
    tp->nqueued = 0;
    pthread_mutex_unlock(&tp->ck_mu);
    while (j) {
        struct check_job *n = j->next;
        check_job_free(j);
        j = n;
    }
    return NULL;
}

static void stop_checker(struct ons_transaction_producer *tp)
{
    pthread_mutex_lock(&tp->p.core.life_mu);
    if (tp->ck_running) {
        pthread_mutex_lock(&tp->ck_mu);
        tp->ck_stop = true;
        pthread_cond_broadcast(&tp->ck_cv);
        pthread_mutex_unlock(&tp->ck_mu);
        pthread_join(tp->ck_thread, NULL);
        tp->ck_running = false;
    }
    pthread_mutex_unlock(&tp->p.core.life_mu);
}

/* ---- API ------------------------------------------------------------------- */

ons_transaction_producer_t *
ons_factory_create_transaction_producer(const ons_properties_t *p,
                                        ons_local_transaction_checker_fn checker,
                                        void *checker_user, ons_exception_t **ex)
{
    if (checker == NULL) {
        cl_raise(ex, ONS_ERR_NULL_POINTER, "the LocalTransactionChecker is NULL");
        return NULL;
    }
    struct ons_transaction_producer *tp = (struct ons_transaction_producer *)producer_new(
        p, CL_TXN_PRODUCER, sizeof(struct ons_transaction_producer), on_check, ex);
    if (tp == NULL)
        return NULL;
    tp->checker = checker;
    tp->checker_user = checker_user;
    pthread_mutex_init(&tp->ck_mu, NULL);
    pthread_cond_init(&tp->ck_cv, NULL);
    return tp;
}

int ons_transaction_producer_start(ons_transaction_producer_t *tp, ons_exception_t **ex)
{
    if (tp == NULL)
        return cl_raise(ex, ONS_ERR_NULL_POINTER, "producer is NULL");
    if (producer_start(&tp->p, ex) != 0)
        return -1;
    pthread_mutex_lock(&tp->p.core.life_mu);
    int rc = 0;
    if (!tp->ck_running && atomic_load(&tp->p.core.state) == CL_STARTED) {
        tp->ck_stop = false;
        if (pthread_create(&tp->ck_thread, NULL, check_main, tp) == 0)
            tp->ck_running = true;
        else
            rc = cl_raise(ex, ONS_ERR_GENERIC, "cannot start the transaction checker thread");
    }
    pthread_mutex_unlock(&tp->p.core.life_mu);
    if (rc != 0)
        producer_shutdown(&tp->p);
    return rc;
}

void ons_transaction_producer_shutdown(ons_transaction_producer_t *tp)
{
    if (tp == NULL)
        return;
    stop_checker(tp);
    producer_shutdown(&tp->p);
}

bool ons_transaction_producer_is_started(const ons_transaction_producer_t *tp)
{
    return tp && atomic_load(&tp->p.core.state) == CL_STARTED;
}

bool ons_transaction_producer_is_closed(const ons_transaction_producer_t *tp)
{
    return tp && atomic_load(&tp->p.core.state) == CL_CLOSED;
}

void ons_transaction_producer_destroy(ons_transaction_producer_t *tp)
{
    if (tp == NULL)
        return;
    ons_transaction_producer_shutdown(tp);
    pthread_mutex_destroy(&tp->ck_mu);
    pthread_cond_destroy(&tp->ck_cv);
    producer_destroy(&tp->p);
}

int ons_transaction_producer_send(ons_transaction_producer_t *tp, const ons_message_t *m,
                                  ons_local_transaction_executer_fn executer, void *arg,
                                  ons_send_result_t **result, ons_exception_t **ex)
{
    if (result)
        *result = NULL;
    if (tp == NULL)
        return cl_raise(ex, ONS_ERR_NULL_POINTER, "producer is NULL");
    if (executer == NULL)
        return cl_raise(ex, ONS_ERR_NULL_POINTER, "the LocalTransactionExecuter is NULL");
    if (m && m->start_deliver > 0)
        return cl_raise(ex, ONS_ERR_ILLEGAL_ARGUMENT,
                        "transactional messages cannot be scheduled (startDeliverTime is set)");
    struct ons_producer *pr = &tp->p;
    if (producer_enter(pr, m, ex) != 0)
        return -1;
    struct send_txn t;
    memset(&t, 0, sizeof t);
    ons_send_result_t *res = NULL;
    if (producer_send(pr, m, NULL, SEND_SYNC, &t, &res, ex) != 0) {
        atomic_fetch_sub(&pr->active, 1);
        return -1; /* the executer never runs for a half message not stored */
    }
    ons_transaction_status_t st = valid_status(executer(m, arg));
    struct msg_host host;
    int64_t phy_off = -1;
    if (msgid_decode(tern_cstr(t.offset_id), &host, &phy_off) != TERN_OK) {
        cl_log(ONS_LOG_WARN, "half message %s: unreadable offset id %s; the broker will check back",
               t.uniq, t.offset_id);
    } else {
        char *wire = cl_ns_wrap(&pr->core.cfg, m->topic);
        end_txn(tp, t.addr, t.broker, wire, t.queue_offset, phy_off, t.uniq, t.uniq, st, false);
        free(wire);
    }
    atomic_fetch_sub(&pr->active, 1);
    if (result)
        *result = res;
    else
        ons_send_result_free(res);
    return 0;
}
