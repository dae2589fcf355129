/* SPDX-License-Identifier: Apache-2.0 */
/* test_txn.c: transactional messages end to end in one process (spec §4.B.4,
 * §4.E.1, §8.9): half messages are invisible, commit delivers exactly once,
 * rollback never, END_TRANSACTION validation, check-back answered commit /
 * rollback / unknown (parked after transactionCheckMax), the immunity rule,
 * a restart keeps pending halves, and topic message types. */
#include <stdatomic.h>

#include "harness.h"

#include "broker/broker_fixture.h"
#include "broker/proto_helpers.h"

static const char *const HALF[] = {"TRAN_MSG", "true", "PGROUP", "PG", NULL};

static void count_rec(void *arg, const struct msg_record *m)
{
    (void)m;
    (*(int *)arg)++;
}

static int queue_count(struct fixture *f, const char *topic, int qid)
{
    int n = 0;
    ph_pull_all(f->cli, f->addr, topic, qid, count_rec, &n);
    return n;
}

static void check_committed(void *arg, const struct msg_record *m)
{
    tern_bytes_t v;
    ASSERT_EQ(m->sys_flag & MSG_SYSFLAG_TXN_MASK, MSG_SYSFLAG_TXN_COMMIT);
    ASSERT(!props_get(m->props, PROP_TRAN_MSG, &v));
    ASSERT(m->prepared_txn_off >= 0);
    (*(int *)arg)++;
}

static void start(struct fixture *f)
{
    ASSERT_EQ(fx_prepare(f), 0);
    fx_set(f, "transactionCheckInterval", "300");
    fx_set(f, "transactionTimeOut", "600");
    fx_set(f, "transactionCheckMax", "3");
    ASSERT_EQ(fx_start_broker(f), TERN_OK);
    ASSERT_EQ(ph_create_topic(f->cli, f->addr, "TT", 4, NULL, NULL, NULL, 0), RESP_SUCCESS);
}

TEST(commit_delivers_once_rollback_never)
{
    struct fixture f;
    start(&f);
    struct ph_sent a, b;
    ASSERT_EQ(ph_send(f.cli, f.addr, "PG", "TT", 1, 4, HALF, "commit-me", &a), RESP_SUCCESS);
    ASSERT_EQ(ph_send(f.cli, f.addr, "PG", "TT", 1, 4, HALF, "roll-me", &b), RESP_SUCCESS);
    ASSERT(a.phy_off >= 0 && a.txn_id[0]);
    ASSERT_EQ(b.queue_off, a.queue_off + 1); /* offsets in the half queue */
    ASSERT_EQ(queue_count(&f, "TT", 1), 0);  /* halves are invisible */
    char remark[256];
    ASSERT_EQ(ph_end(f.cli, f.addr, "PG", &a, 8, false, remark, sizeof remark), RESP_SUCCESS);
    ASSERT_EQ(ph_end(f.cli, f.addr, "PG", &b, 12, false, remark, sizeof remark), RESP_SUCCESS);
    int n = 0;
    ph_pull_all(f.cli, f.addr, "TT", 1, check_committed, &n);
    ASSERT_EQ(n, 1);
    /* A repeated commit (e.g. an answer to a late check) is a no-op. */
    ASSERT_EQ(ph_end(f.cli, f.addr, "PG", &a, 8, true, remark, sizeof remark), RESP_SUCCESS);
    ASSERT(strstr(remark, "already") != NULL);
    ASSERT_EQ(ph_end(f.cli, f.addr, "PG", &b, 8, true, remark, sizeof remark), RESP_SUCCESS);
    ASSERT_EQ(queue_count(&f, "TT", 1), 1);
    fx_stop(&f);
}

/* TRAN_MSG=true alone (sysFlag 0, as a client that sets only the property
 * sends it) makes a half message too, in any case; TRAN_MSG=false does not. */
TEST(tran_msg_property_alone_makes_a_half)
{
    struct fixture f;
    start(&f);
    static const char *const upper[] = {"TRAN_MSG", "TRUE", "PGROUP", "PG", NULL};
    static const char *const no[] = {"TRAN_MSG", "false", "PGROUP", "PG", NULL};
    struct ph_sent a, b, c;
    ASSERT_EQ(ph_send(f.cli, f.addr, "PG", "TT", 2, 0, HALF, "half", &a), RESP_SUCCESS);
    ASSERT_EQ(ph_send(f.cli, f.addr, "PG", "TT", 2, 0, upper, "half too", &b), RESP_SUCCESS);
    ASSERT(a.txn_id[0] && b.txn_id[0]);
    ASSERT_EQ(queue_count(&f, "TT", 2), 0);
    ASSERT_EQ(ph_send(f.cli, f.addr, "PG", "TT", 2, 0, no, "plain", &c), RESP_SUCCESS);
    ASSERT_EQ(queue_count(&f, "TT", 2), 1);
    char remark[256];
    ASSERT_EQ(ph_end(f.cli, f.addr, "PG", &a, 8, false, remark, sizeof remark), RESP_SUCCESS);
    ASSERT_EQ(queue_count(&f, "TT", 2), 2);
    fx_stop(&f);
}

TEST(end_transaction_validation)
{
    struct fixture f;
    start(&f);
    struct ph_sent a;
    ASSERT_EQ(ph_send(f.cli, f.addr, "PG", "TT", 0, 4, HALF, "x", &a), RESP_SUCCESS);
    char remark[256];
    ASSERT_EQ(ph_end(f.cli, f.addr, "OTHER", &a, 8, false, remark, sizeof remark),
              RESP_SYSTEM_ERROR);
    ASSERT(strstr(remark, "producer group wrong") != NULL);
    struct ph_sent bad = a;
    bad.queue_off += 5;
    ASSERT_EQ(ph_end(f.cli, f.addr, "PG", &bad, 8, false, remark, sizeof remark),
              RESP_SYSTEM_ERROR);
    ASSERT(strstr(remark, "state table offset wrong") != NULL);
    bad = a;
    bad.phy_off = 1 << 20;
    ASSERT_EQ(ph_end(f.cli, f.addr, "PG", &bad, 8, false, remark, sizeof remark),
              RESP_SYSTEM_ERROR);
    ASSERT(strstr(remark, "Find prepared") != NULL);
    ASSERT_EQ(ph_end(f.cli, f.addr, "PG", &a, 5, false, remark, sizeof remark),
              RESP_INVALID_PARAMETER);
    /* Unknown (0): never answered, even two-way. */
    struct rcmd req;
    ph_end_req(&req, "PG", a.queue_off, a.phy_off, 0, false, a.txn_id);
    struct rresp r;
    rresp_init(&r);
    ASSERT_EQ(rclient_call_sync(f.cli, f.addr, &req, 400, &r), TERN_ETIMEOUT);
    rresp_deinit(&r);
    rcmd_deinit(&req);
    ASSERT_EQ(queue_count(&f, "TT", 0), 0);
    /* Batches cannot be transactional. */
    fx_stop(&f);
}

/* A producer that answers CHECK_TRANSACTION_STATE: bodies starting with 'c'
 * commit, 'r' roll back, anything else stays unknown. */
struct checker {
    atomic_int checks;
    atomic_int bad;
    atomic_int last_times;
};

static void on_check(void *ctx, struct rreq *req)
{
    struct checker *k = ctx;
    atomic_fetch_add(&k->checks, 1);
    struct msg_record m;
    tern_bytes_t topic = rcmd_get(&req->cmd, "topic"), uniq = rcmd_get(&req->cmd, "msgId"), v;
    if (msg_decode(req->cmd.body.ptr, req->cmd.body.len, &m) != TERN_OK ||
        !tern_bytes_eq(m.topic, topic) || !props_get(m.props, "PGROUP", &v) ||
        !rcmd_has(&req->cmd, "commitLogOffset") || !rcmd_has(&req->cmd, "offsetMsgId") ||
        uniq.len == 0) {
        atomic_fetch_add(&k->bad, 1);
        rreq_free(req);
        return;
    }
    int64_t times = 0;
    if (props_get(m.props, "TRANSACTION_CHECK_TIMES", &v))
        parse_i64(v, &times);
    atomic_store(&k->last_times, (int)times);
    int state = m.body.len && m.body.ptr[0] == 'c'   ? 8
                : m.body.len && m.body.ptr[0] == 'r' ? 12
                                                     : 0;
    struct rcmd end;
    int64_t half, phy;
    rcmd_get_i64(&req->cmd, "tranStateTableOffset", &half);
    rcmd_get_i64(&req->cmd, "commitLogOffset", &phy);
    char u[64];
    snprintf(u, sizeof u, "%.*s", (int)uniq.len, (const char *)uniq.ptr);
    ph_end_req(&end, "PG", half, phy, state, true, u);
    rconn_send_oneway(req->conn, &end);
    rcmd_deinit(&end);
    rreq_free(req);
}

static struct rclient *checker_client(struct checker *k)
{
    static const struct rprocessor T[] = {{RC_CHECK_TRANSACTION_STATE, "CHECK", on_check, 0}};
    struct rclient_opts o;
    memset(&o, 0, sizeof o);
    o.table = T;
    o.ntable = 1;
    o.ctx = k;
    struct rclient *c = NULL;
    rclient_new(&o, &c);
    return c;
}

static bool wait_count(struct fixture *f, const char *topic, int qid, int want, int ms)
{
    for (int i = 0; i < ms / 50; i++) {
        if (queue_count(f, topic, qid) >= want)
            return true;
        usleep(50 * 1000);
    }
    return queue_count(f, topic, qid) >= want;
}

TEST(check_back_commit_rollback_unknown_parked)
{
    struct fixture f;
    start(&f);
    struct checker k;
    memset(&k, 0, sizeof k);
    struct rclient *pc = checker_client(&k);
    ASSERT_EQ(ph_heartbeat(pc, f.addr, "producer-1", "PG", NULL), RESP_SUCCESS);
    struct ph_sent c1, r1, u1;
    ASSERT_EQ(ph_send(pc, f.addr, "PG", "TT", 2, 4, HALF, "c-commit", &c1), RESP_SUCCESS);
    ASSERT_EQ(ph_send(pc, f.addr, "PG", "TT", 2, 4, HALF, "r-rollback", &r1), RESP_SUCCESS);
    ASSERT_EQ(ph_send(pc, f.addr, "PG", "TT", 2, 4, HALF, "unknown", &u1), RESP_SUCCESS);
    ASSERT(wait_count(&f, "TT", 2, 1, 8000));
    /* The unknown one is checked transactionCheckMax (3) times, then parked. */
    for (int i = 0; i < 200 && queue_count(&f, "TRANS_CHECK_MAX_TIME_TOPIC", 0) < 1; i++)
        usleep(50 * 1000);
    ASSERT_EQ(queue_count(&f, "TRANS_CHECK_MAX_TIME_TOPIC", 0), 1);
    ASSERT_EQ(atomic_load(&k.bad), 0);
    ASSERT_EQ(atomic_load(&k.checks), 2 + 3);
    ASSERT_EQ(atomic_load(&k.last_times), 3);
    usleep(1000 * 1000); /* nothing more is checked or delivered */
    ASSERT_EQ(atomic_load(&k.checks), 5);
    ASSERT_EQ(queue_count(&f, "TT", 2), 1);
    rclient_free(pc);
    fx_stop(&f);
}

TEST(late_end_after_immunity_is_illegal)
{
    struct fixture f;
    start(&f);
    static const char *const IMM[] = {
        "TRAN_MSG", "true", "PGROUP", "PG", "CHECK_IMMUNITY_TIME_IN_SECONDS", "1", NULL};
    struct ph_sent a;
    ASSERT_EQ(ph_send(f.cli, f.addr, "PG", "TT", 0, 4, IMM, "x", &a), RESP_SUCCESS);
    usleep(1300 * 1000);
    char remark[256];
    ASSERT_EQ(ph_end(f.cli, f.addr, "PG", &a, 8, false, remark, sizeof remark),
              RESP_ILLEGAL_OPERATION);
    ASSERT_EQ(ph_end(f.cli, f.addr, "PG", &a, 8, true, remark, sizeof remark), RESP_SUCCESS);
    ASSERT_EQ(queue_count(&f, "TT", 0), 1);
    fx_stop(&f);
}

TEST(restart_keeps_pending_and_resolved)
{
    struct fixture f;
    ASSERT_EQ(fx_prepare(&f), 0);
    fx_set(&f, "transactionCheckInterval", "300");
    fx_set(&f, "transactionTimeOut", "600");
    ASSERT_EQ(fx_start_broker(&f), TERN_OK);
    ASSERT_EQ(ph_create_topic(f.cli, f.addr, "TT", 4, NULL, NULL, NULL, 0), RESP_SUCCESS);
    struct ph_sent s[4];
    const char *bodies[4] = {"c0", "r1", "c2", "r3"};
    for (int i = 0; i < 4; i++)
        ASSERT_EQ(ph_send(f.cli, f.addr, "PG", "TT", 3, 4, HALF, bodies[i], &s[i]), RESP_SUCCESS);
    ASSERT_EQ(ph_end(f.cli, f.addr, "PG", &s[0], 8, false, NULL, 0), RESP_SUCCESS);
    ASSERT_EQ(ph_end(f.cli, f.addr, "PG", &s[1], 12, false, NULL, 0), RESP_SUCCESS);
    broker_stop(f.b);
    f.b = NULL;
    rclient_free(f.cli);
    struct rclient_opts co;
    memset(&co, 0, sizeof co);
    ASSERT_EQ(rclient_new(&co, &f.cli), TERN_OK);
    ASSERT_EQ(fx_start_broker(&f), TERN_OK);
    struct checker k;
    memset(&k, 0, sizeof k);
    struct rclient *pc = checker_client(&k);
    ASSERT_EQ(ph_heartbeat(pc, f.addr, "producer-1", "PG", NULL), RESP_SUCCESS);
    ASSERT(wait_count(&f, "TT", 3, 2, 8000));
    usleep(900 * 1000);
    ASSERT_EQ(atomic_load(&k.checks), 2); /* only the two unresolved ones */
    ASSERT_EQ(queue_count(&f, "TT", 3), 2);
    rclient_free(pc);
    fx_stop(&f);
}

TEST(topic_message_types)
{
    struct fixture f;
    ASSERT_EQ(fx_start(&f), TERN_OK);
    char remark[256];
    ASSERT_EQ(ph_create_topic(f.cli, f.addr, "TxT", 4, "+message.type=TRANSACTION", NULL, NULL, 0),
              RESP_SUCCESS);
    ASSERT_EQ(ph_create_topic(f.cli, f.addr, "NormT", 4, NULL, "0", NULL, 0), RESP_SUCCESS);
    ASSERT_EQ(ph_create_topic(f.cli, f.addr, "DelT", 4, "+message.type=DELAY", NULL, NULL, 0),
              RESP_SUCCESS);
    ASSERT_EQ(ph_create_topic(f.cli, f.addr, "GlobT", 8, NULL, "2", NULL, 0), RESP_SUCCESS);
    ASSERT_EQ(ph_create_topic(f.cli, f.addr, "BadT", 8, "+message.type=WEIRD", NULL, NULL, 0),
              RESP_INVALID_PARAMETER);
    struct ph_sent s;
    ASSERT_EQ(ph_send(f.cli, f.addr, "PG", "TxT", 0, 0, NULL, "n", &s), RESP_MESSAGE_ILLEGAL);
    ASSERT(strstr(s.remark, "topic TxT is of type TRANSACTION; a NORMAL message cannot be sent") !=
           NULL);
    ASSERT_EQ(ph_send(f.cli, f.addr, "PG", "TxT", 0, 4, HALF, "t", &s), RESP_SUCCESS);
    ASSERT_EQ(ph_send(f.cli, f.addr, "PG", "NormT", 0, 4, HALF, "t", &s), RESP_MESSAGE_ILLEGAL);
    ASSERT(strstr(s.remark, "type NORMAL; a TRANSACTION message") != NULL);
    static const char *const DEL[] = {"__STARTDELIVERTIME", "1", NULL};
    ASSERT_EQ(ph_send(f.cli, f.addr, "PG", "NormT", 0, 0, DEL, "d", &s), RESP_MESSAGE_ILLEGAL);
    ASSERT(strstr(s.remark, "a DELAY message") != NULL);
    ASSERT_EQ(ph_send(f.cli, f.addr, "PG", "NormT", 0, 0, NULL, "n", &s), RESP_SUCCESS);
    ASSERT_EQ(ph_send(f.cli, f.addr, "PG", "DelT", 0, 0, NULL, "n", &s), RESP_SUCCESS);
    ASSERT_EQ(ph_send(f.cli, f.addr, "PG", "GlobT", 0, 0, NULL, "n", &s), RESP_SUCCESS);
    ASSERT_EQ(ph_send(f.cli, f.addr, "PG", "GlobT", 1, 0, NULL, "n", &s), RESP_INVALID_PARAMETER);
    /* Untyped topics take everything. */
    ASSERT_EQ(ph_create_topic(f.cli, f.addr, "AnyT", 4, NULL, NULL, NULL, 0), RESP_SUCCESS);
    ASSERT_EQ(ph_send(f.cli, f.addr, "PG", "AnyT", 0, 4, HALF, "t", &s), RESP_SUCCESS);
    ASSERT_EQ(ph_send(f.cli, f.addr, "PG", "AnyT", 0, 0, NULL, "n", &s), RESP_SUCCESS);
    /* An update without attributes keeps the type; GET_ALL_TOPIC_CONFIG shows it;
     * it survives a restart (topics.json). */
    ASSERT_EQ(ph_create_topic(f.cli, f.addr, "TxT", 8, NULL, NULL, remark, sizeof remark),
              RESP_SUCCESS);
    broker_stop(f.b);
    ASSERT_EQ(fx_start_broker(&f), TERN_OK);
    struct rcmd req;
    rcmd_init(&req);
    req.code = RC_GET_ALL_TOPIC_CONFIG;
    struct rresp r;
    ASSERT_EQ(fx_call(&f, NULL, &req, &r), TERN_OK);
    ASSERT_EQ(r.cmd.code, RESP_SUCCESS);
    char *body = strndup((const char *)r.cmd.body.ptr, r.cmd.body.len);
    char *tx = strstr(body, "\"TxT\":");
    ASSERT(tx && strstr(tx, "\"message.type\":\"TRANSACTION\""));
    char *gl = strstr(body, "\"GlobT\":");
    ASSERT(gl && strstr(gl, "\"message.type\":\"FIFO\""));
    ASSERT(strstr(gl, "\"readQueueNums\":1,"));
    free(body);
    rresp_deinit(&r);
    rcmd_deinit(&req);
    ASSERT_EQ(ph_send(f.cli, f.addr, "PG", "TxT", 0, 0, NULL, "n", &s), RESP_MESSAGE_ILLEGAL);
    fx_stop(&f);
}

TEST_MAIN()
