/* SPDX-License-Identifier: Apache-2.0 */
/* proc_txn.c: the half-message send hook and END_TRANSACTION (37) (spec
 * §4.B.4, §8.9).
 *
 * END_TRANSACTION is usually oneway: answers go out only for two-way
 * requests, and never for state 0 (unknown). Commit and rollback first claim
 * the half (txn.c), so a resolution happens once even when the producer
 * answers a check after committing; a duplicate is a SUCCESS no-op. Commit
 * stores the copy, then the op record; a failed store releases the claim. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker_int.h"
#include "broker/txn.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/xalloc.h"
#include "protocol/codes.h"
#include "protocol/props.h"
#include "store/store.h"

bool txn_is_half(int32_t sys_flag, const tern_bytes_t *tran_msg)
{
    if ((sys_flag & MSG_SYSFLAG_TXN_MASK) == MSG_SYSFLAG_TXN_PREPARED)
        return true;
    const tern_bytes_t *v = tran_msg;
    return v && v->len == 4 && (v->ptr[0] | 0x20) == 't' && (v->ptr[1] | 0x20) == 'r' &&
           (v->ptr[2] | 0x20) == 'u' && (v->ptr[3] | 0x20) == 'e';
}

uint8_t *txn_make_half(struct broker *b, struct store_msg *m)
{
    (void)b;
    tern_bytes_t uniq = TERN_BYTES_NULL;
    props_get(m->props, PROP_UNIQ_KEY, &uniq);
    char qid[16];
    snprintf(qid, sizeof qid, "%d", (int)m->queue_id);
    buf_t p;
    buf_init(&p);
    static const char *const SKIP[] = {PROP_REAL_TOPIC, PROP_REAL_QID, PROP_TRANSACTION_ID, NULL};
    props_copy_except(&p, m->props, SKIP);
    props_append(&p, PROP_REAL_TOPIC, m->topic);
    props_append(&p, PROP_REAL_QID, tern_cstr(qid));
    if (uniq.len)
        props_append(&p, PROP_TRANSACTION_ID, uniq);
    m->topic = tern_cstr(TXN_HALF_TOPIC);
    m->queue_id = 0;
    /* Type NOT, so the half gets a consume-queue entry (broker-internals §6). */
    m->sys_flag &= ~MSG_SYSFLAG_TXN_MASK;
    m->props = buf_view(&p);
    return p.data; /* ownership passes to the caller */
}

struct end_hdr {
    tern_bytes_t group;
    int64_t half_off;
    int64_t phy_off;
    int32_t state;
    bool from_check;
};

static void answer(struct rreq *req, int code, const char *remark)
{
    if (rreq_is_oneway(req))
        rreq_free(req);
    else
        rreq_respond_code(req, code, remark);
}

/* Looks the half up and checks it against the request. Answers on failure. */
static bool verify_half(struct broker *b, struct rreq *req, const struct end_hdr *h,
                        const struct msg_record *r, bool found)
{
    tern_bytes_t pg;
    if (!found || !tern_bytes_eq_cstr(r->topic, TXN_HALF_TOPIC)) {
        answer(req, RESP_SYSTEM_ERROR, "Find prepared transaction message failed");
        return false;
    }
    if (!props_get(r->props, PROP_PGROUP, &pg) || !tern_bytes_eq(pg, h->group)) {
        answer(req, RESP_SYSTEM_ERROR, "The producer group wrong");
        return false;
    }
    if (r->queue_off != h->half_off) {
        answer(req, RESP_SYSTEM_ERROR, "The transaction state table offset wrong");
        return false;
    }
    if (r->phy_off != h->phy_off) {
        answer(req, RESP_SYSTEM_ERROR, "The commit log offset wrong");
        return false;
    }
    /* Past its CHECK_IMMUNITY_TIME_IN_SECONDS the broker owns the decision:
     * only an answer to a check may resolve it. */
    tern_bytes_t iv;
    int64_t secs;
    if (!h->from_check && props_get(r->props, PROP_CHECK_IMMUNITY, &iv) &&
        parse_i64(iv, &secs) == TERN_OK && secs >= 0 &&
        clock_wall_ms() - r->store_ts > secs * 1000) {
        answer(req, RESP_ILLEGAL_OPERATION,
               "the transaction is past its check immunity time; it is resolved by the "
               "transaction check");
        (void)b;
        return false;
    }
    return true;
}

/* Stores the committed copy in the real topic/queue. */
static int store_commit(struct broker *b, const struct msg_record *r)
{
    tern_bytes_t topic, qv;
    int64_t qid = 0;
    if (!props_get(r->props, PROP_REAL_TOPIC, &topic) || topic.len == 0)
        return TERN_EINVALID;
    if (props_get(r->props, PROP_REAL_QID, &qv))
        parse_i64(qv, &qid);
    buf_t p;
    buf_init(&p);
    static const char *const SKIP[] = {PROP_TRAN_MSG, NULL};
    props_copy_except(&p, r->props, SKIP);
    struct store_msg m;
    memset(&m, 0, sizeof m);
    m.topic = topic;
    m.queue_id = (int32_t)qid;
    m.flag = r->flag;
    m.sys_flag = (r->sys_flag &
                  ~(MSG_SYSFLAG_TXN_MASK | MSG_SYSFLAG_BORNHOST_V6 | MSG_SYSFLAG_STOREHOST_V6)) |
                 MSG_SYSFLAG_TXN_COMMIT;
    m.born_ts = r->born_ts;
    m.born_host = r->born_host;
    m.store_host = b->store_host;
    m.reconsume_times = r->reconsume_times;
    m.prepared_txn_off = r->phy_off;
    m.body = r->body;
    m.props = buf_view(&p);
    struct store_put_result res;
    int rc = store_put(b->store, &m, 1, &res, NULL);
    buf_deinit(&p);
    if (rc == TERN_OK) {
        atomic_fetch_add_explicit(&b->msgs_put, 1, memory_order_relaxed);
        stats_add(&b->stats, STATS_TOPIC_PUT, topic, TERN_BYTES_NULL, 1, clock_wall_coarse_ms());
    }
    return rc;
}

void proc_end_transaction(void *ctx, struct rreq *req)
{
    struct broker *b = ctx;
    struct end_hdr h;
    memset(&h, 0, sizeof h);
    if (!need_str(req, "producerGroup", NULL, &h.group) ||
        !need_i64(req, "tranStateTableOffset", NULL, &h.half_off) ||
        !need_i64(req, "commitLogOffset", NULL, &h.phy_off) ||
        !need_i32(req, "commitOrRollback", NULL, &h.state))
        return;
    h.from_check = rcmd_get_bool(&req->cmd, "fromTransactionCheck");
    if (h.state == MSG_SYSFLAG_TXN_NOT) { /* unknown: the check will ask again */
        rreq_free(req);
        return;
    }
    if (h.state != MSG_SYSFLAG_TXN_COMMIT && h.state != MSG_SYSFLAG_TXN_ROLLBACK) {
        answer(req, RESP_INVALID_PARAMETER, "commitOrRollback must be 0, 8 or 12");
        return;
    }
    buf_t raw;
    buf_init(&raw);
    struct msg_record r;
    bool found = h.phy_off >= 0 && store_read_at(b->store, h.phy_off, &raw) == TERN_OK &&
                 msg_decode(raw.data, raw.len, &r) == TERN_OK;
    if (!verify_half(b, req, &h, &r, found)) {
        buf_deinit(&raw);
        return;
    }
    int claim = txn_claim(b, h.half_off);
    if (claim != TXN_CLAIMED) {
        buf_deinit(&raw);
        if (claim == TXN_RESOLVED)
            answer(req, RESP_SUCCESS, "the transaction was already resolved");
        else
            answer(req, RESP_SYSTEM_ERROR, "Find prepared transaction message failed");
        return;
    }
    int rc = TERN_OK;
    if (h.state == MSG_SYSFLAG_TXN_COMMIT)
        rc = store_commit(b, &r);
    int64_t op = -1;
    if (rc == TERN_OK)
        rc = txn_write_op(b, h.half_off, &op);
    txn_settle(b, h.half_off, rc == TERN_OK ? op : -1);
    buf_deinit(&raw);
    if (rc != TERN_OK) {
        char remark[128];
        snprintf(remark, sizeof remark, "the store failed to resolve the transaction: %s",
                 tern_strerror(rc));
        answer(req, RESP_SYSTEM_ERROR, remark);
        return;
    }
    answer(req, RESP_SUCCESS, NULL);
}
