/* SPDX-License-Identifier: Apache-2.0 */
/* txn_check.c: what the check thread sends and stores: CHECK_TRANSACTION_STATE
 * (39, oneway, JSON, spec §4.E.1) to one live producer of the half's PGROUP,
 * and the copy of a half parked after transactionCheckMax checks in
 * TRANS_CHECK_MAX_TIME_TOPIC. The check body is the half record re-encoded
 * with REAL_TOPIC / REAL_QID as topic and queue and TRANSACTION_CHECK_TIMES
 * set to the count kept by the service. */
#include <stdio.h>
#include <string.h>

#include "broker/broker_int.h"
#include "broker/txn_int.h"
#include "common/clock.h"
#include "common/error.h"
#include "protocol/codes.h"
#include "protocol/props.h"
#include "store/store.h"

#define TOPIC_V1_MAX 127

/* Reads and decodes the record at phy_off into raw / r. */
static bool read_record(struct broker *b, int64_t phy_off, buf_t *raw, struct msg_record *r)
{
    return store_read_at(b->store, phy_off, raw) == TERN_OK &&
           msg_decode(raw->data, raw->len, r) == TERN_OK;
}

bool txn_send_check(struct broker *b, int64_t half_off, int64_t phy_off, int32_t checks)
{
    buf_t raw, props, enc;
    buf_init(&raw);
    buf_init(&props);
    buf_init(&enc);
    bool ok = false;
    struct rconn *c = NULL;
    struct msg_record r;
    tern_bytes_t pgroup, topic, qv, uniq;
    int64_t qid = 0;
    if (!read_record(b, phy_off, &raw, &r) || !props_get(r.props, PROP_PGROUP, &pgroup) ||
        !props_get(r.props, PROP_REAL_TOPIC, &topic) || topic.len > TOPIC_V1_MAX)
        goto out;
    if (props_get(r.props, PROP_REAL_QID, &qv))
        parse_i64(qv, &qid);
    if (!props_get(r.props, PROP_UNIQ_KEY, &uniq) &&
        !props_get(r.props, PROP_TRANSACTION_ID, &uniq))
        uniq = tern_cstr("");
    c = cm_find_conn(&b->clients, true, pgroup, TERN_BYTES_NULL, NULL);
    if (!c)
        goto out;

    static const char *const SKIP[] = {PROP_CHECK_TIMES, NULL};
    props_copy_except(&props, r.props, SKIP);
    char n[16];
    snprintf(n, sizeof n, "%d", checks);
    props_append(&props, PROP_CHECK_TIMES, tern_cstr(n));
    struct msg_record m = r;
    m.topic = topic;
    m.queue_id = (int32_t)qid;
    m.props = buf_view(&props);
    size_t sz = msg_encoded_size(&m);
    msg_encode(&m, buf_reserve(&enc, sz));
    enc.len = sz;

    char offid[MSGID_MAX_LEN + 1];
    msgid_encode(&b->store_host, phy_off, offid);
    struct rcmd req;
    rcmd_init(&req);
    req.code = RC_CHECK_TRANSACTION_STATE;
    rcmd_add(&req, "topic", topic);
    rcmd_add_i64(&req, "tranStateTableOffset", half_off);
    rcmd_add_i64(&req, "commitLogOffset", phy_off);
    rcmd_add(&req, "msgId", uniq);
    rcmd_add(&req, "transactionId", uniq);
    rcmd_add_cstr(&req, "offsetMsgId", offid);
    rcmd_add_cstr(&req, "bname", b->cfg.broker_name);
    req.body = buf_view(&enc);
    ok = rconn_send_oneway(c, &req) == TERN_OK;
    rcmd_deinit(&req);
out:
    if (c)
        rconn_unref(c);
    buf_deinit(&raw);
    buf_deinit(&props);
    buf_deinit(&enc);
    return ok;
}

int txn_park(struct broker *b, int64_t phy_off)
{
    buf_t raw;
    buf_init(&raw);
    struct msg_record r;
    if (!read_record(b, phy_off, &raw, &r)) {
        buf_deinit(&raw);
        return TERN_ENOT_FOUND;
    }
    struct topic_config tc, cur;
    topic_config_defaults(&tc, tern_cstr(TXN_CHECK_MAX_TOPIC));
    tc.read_queue_nums = tc.write_queue_nums = 1;
    if (topics_create_if_absent(&b->topics, &tc, &cur))
        broker_topic_changed(b);
    struct store_msg m;
    memset(&m, 0, sizeof m);
    m.topic = tern_cstr(TXN_CHECK_MAX_TOPIC);
    m.flag = r.flag;
    m.sys_flag =
        r.sys_flag & ~(MSG_SYSFLAG_TXN_MASK | MSG_SYSFLAG_BORNHOST_V6 | MSG_SYSFLAG_STOREHOST_V6);
    m.born_ts = r.born_ts;
    m.born_host = r.born_host;
    m.store_host = b->store_host;
    m.reconsume_times = r.reconsume_times;
    m.body = r.body;
    m.props = r.props;
    struct store_put_result res;
    int rc = store_put(b->store, &m, 1, &res, NULL);
    buf_deinit(&raw);
    return rc;
}
