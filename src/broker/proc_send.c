/* SPDX-License-Identifier: Apache-2.0 */
/* proc_send.c: SEND_MESSAGE (10), SEND_MESSAGE_V2 (310), SEND_BATCH_MESSAGE
 * (320) (spec §4.B.1-4.B.2).
 *
 * Hot path: one topic hash lookup, properties rebuilt once into a stack
 * buffer (heap only for large ones), one store_put, no JSON, no logging.
 * Under SYNC_FLUSH (and WAIT != false) the answer is sent from the store's
 * flush callback (store_wait_flush), FLUSH_DISK_TIMEOUT with the header still
 * filled on timeout. MSG_REGION and TRACE_ON are on every send response. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker_int.h"
#include "broker/msgtype.h"
#include "broker/txn.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/hash.h"
#include "common/limits.h"
#include "common/xalloc.h"
#include "protocol/batch.h"
#include "protocol/codes.h"
#include "protocol/props.h"
#include "store/store.h"

#define RETRY_PREFIX "%RETRY%"
/* Room for UNIQ_KEY, CLUSTER and DELAY pairs added by the broker. */
#define PROPS_EXTRA (64 + 256)

/* The parsed send header. */
struct send_hdr {
    tern_bytes_t group;
    tern_bytes_t topic;
    tern_bytes_t default_topic;
    int32_t default_queues;
    int32_t queue_id;
    int32_t sys_flag;
    int64_t born_ts;
    int32_t flag;
    tern_bytes_t props;
    int32_t reconsume_times;
    int32_t max_reconsume_times; /* -1 = not given */
    bool batch;
};

/* What the response needs once the store accepted the message(s). */
struct send_ack {
    struct rreq *req; /* owned until answered */
    struct broker *b;
    int32_t queue_id;
    int64_t queue_off;
    char uniq[40];            /* the generated UNIQ_KEY, or "" */
    tern_bytes_t uniq_client; /* borrowed from req's properties: the client's UNIQ_KEY */
    size_t nids;
    char *msg_ids; /* owned when heap; else points at ids_inline */
    char ids_inline[MSGID_MAX_LEN + 1];
};

static void add_region(struct broker *b, struct rcmd *resp)
{
    rcmd_add_cstr(resp, "MSG_REGION", b->cfg.region_id ? b->cfg.region_id : "DefaultRegion");
    rcmd_add_cstr(resp, "TRACE_ON", b->cfg.trace_on ? "true" : "false");
}

static void send_error(struct broker *b, struct rreq *req, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void send_error(struct broker *b, struct rreq *req, int code, const char *fmt, ...)
{
    struct rcmd resp;
    rcmd_init_response(&resp, &req->cmd, code);
    add_region(b, &resp);
    if (fmt) {
        char remark[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(remark, sizeof remark, fmt, ap);
        va_end(ap);
        rcmd_set_remark(&resp, "%s", remark);
    }
    rreq_respond(req, &resp);
    rcmd_deinit(&resp);
}

static void answer_ack(struct send_ack *a, int code)
{
    struct rcmd resp;
    rcmd_init_response(&resp, &a->req->cmd, code);
    rcmd_add_cstr(&resp, "msgId", a->msg_ids);
    rcmd_add_i64(&resp, "queueId", a->queue_id);
    rcmd_add_i64(&resp, "queueOffset", a->queue_off);
    if (a->uniq_client.len)
        rcmd_add(&resp, "transactionId", a->uniq_client);
    else if (a->uniq[0])
        rcmd_add_cstr(&resp, "transactionId", a->uniq);
    add_region(a->b, &resp);
    rreq_respond(a->req, &resp);
    rcmd_deinit(&resp);
}

static void ack_free(struct send_ack *a)
{
    if (a->msg_ids != a->ids_inline)
        free(a->msg_ids);
}

static void flush_done(void *arg, int status)
{
    struct send_ack *a = arg;
    struct broker *b = a->b;
    answer_ack(a, status == TERN_OK ? RESP_SUCCESS : RESP_FLUSH_DISK_TIMEOUT);
    ack_free(a);
    free(a);
    atomic_fetch_sub(&b->flush_waits, 1);
}

/* Answers now, or after the flush under SYNC_FLUSH. a is on the stack; it is
 * copied to the heap only when waiting. */
static void finish(struct broker *b, struct send_ack *a, int64_t end_phy_off, bool wait)
{
    if (wait && store_is_sync_flush(b->store) && !rreq_is_oneway(a->req)) {
        struct send_ack *h = xmalloc(sizeof *h);
        *h = *a;
        if (a->msg_ids == a->ids_inline)
            h->msg_ids = h->ids_inline;
        atomic_fetch_add(&b->flush_waits, 1);
        store_wait_flush(b->store, end_phy_off, flush_done, h);
        return;
    }
    answer_ack(a, RESP_SUCCESS);
    ack_free(a);
}

/* Send header keys: the long (V1) name, and the one-letter V2 name at the
 * same index of SEND_SHORT ('k' is unused here). */
enum {
    SF_GROUP,
    SF_TOPIC,
    SF_DTOPIC,
    SF_DQUEUES,
    SF_QID,
    SF_SYSFLAG,
    SF_BORN,
    SF_FLAG,
    SF_PROPS,
    SF_RECONSUME,
    SF_MAXRECONSUME,
    SF_BATCH,
    SF_N
};
static const char *const send_long[SF_N] = {
    "producerGroup", "topic",          "defaultTopic",      "defaultTopicQueueNums",
    "queueId",       "sysFlag",        "bornTimestamp",     "flag",
    "properties",    "reconsumeTimes", "maxReconsumeTimes", "batch"};
static const char send_short[SF_N + 1] = "abcdefghijlm";

/* opt_i64 on a value already looked up: dflt when absent or not a number. */
static int64_t fast_i64(tern_bytes_t v, int64_t dflt)
{
    int64_t out;
    return v.ptr && parse_i64(v, &out) == TERN_OK ? out : dflt;
}

/* The hot path of parse_header: one pass over the fields instead of a lookup
 * per key (long names win over short ones, the last occurrence wins, as
 * rcmd_get2 does). Returns false, with nothing answered, when a required field
 * is missing or malformed; the caller then takes the slow path for the exact
 * error reply. */
static bool parse_header_fast(const struct rcmd *c, struct send_hdr *h)
{
    tern_bytes_t lv[SF_N], sv[SF_N];
    memset(lv, 0, sizeof lv);
    memset(sv, 0, sizeof sv);
    for (size_t i = 0; i < c->nfields; i++) {
        const struct rcmd_field *f = &c->fields[i];
        if (!f->val.ptr)
            continue;
        if (f->key.len == 1) {
            const char *at = memchr(send_short, f->key.ptr[0], SF_N);
            if (at)
                sv[at - send_short] = f->val;
            continue;
        }
        for (int k = 0; k < SF_N; k++) {
            size_t n = strlen(send_long[k]);
            if (f->key.len == n && memcmp(f->key.ptr, send_long[k], n) == 0) {
                lv[k] = f->val;
                break;
            }
        }
    }
    tern_bytes_t v[SF_N];
    for (int k = 0; k < SF_N; k++)
        v[k] = lv[k].ptr ? lv[k] : sv[k];
    int64_t qid;
    if (!v[SF_GROUP].ptr || !v[SF_TOPIC].ptr || !v[SF_QID].ptr ||
        parse_i64(v[SF_QID], &qid) != TERN_OK || qid < INT32_MIN || qid > INT32_MAX)
        return false;
    memset(h, 0, sizeof *h);
    h->group = v[SF_GROUP];
    h->topic = v[SF_TOPIC];
    h->queue_id = (int32_t)qid;
    h->default_topic = v[SF_DTOPIC];
    h->default_queues = (int32_t)fast_i64(v[SF_DQUEUES], 4);
    h->sys_flag = (int32_t)fast_i64(v[SF_SYSFLAG], 0);
    h->born_ts = fast_i64(v[SF_BORN], 0);
    h->flag = (int32_t)fast_i64(v[SF_FLAG], 0);
    h->props = v[SF_PROPS];
    h->reconsume_times = (int32_t)fast_i64(v[SF_RECONSUME], 0);
    h->max_reconsume_times = (int32_t)fast_i64(v[SF_MAXRECONSUME], -1);
    tern_bytes_t m = v[SF_BATCH];
    h->batch = c->code == RC_SEND_BATCH_MESSAGE ||
               (m.len == 4 && (m.ptr[0] | 0x20) == 't' && (m.ptr[1] | 0x20) == 'r' &&
                (m.ptr[2] | 0x20) == 'u' && (m.ptr[3] | 0x20) == 'e');
    return true;
}

static int parse_header(struct rreq *req, struct send_hdr *h)
{
    const struct rcmd *c = &req->cmd;
    if (parse_header_fast(c, h))
        return 0;
    memset(h, 0, sizeof *h);
    if (!need_str(req, "producerGroup", "a", &h->group) || !need_str(req, "topic", "b", &h->topic))
        return -1;
    h->default_topic = rcmd_get2(c, "defaultTopic", "c");
    h->default_queues = (int32_t)opt_i64(c, "defaultTopicQueueNums", "d", 4);
    if (!need_i32(req, "queueId", "e", &h->queue_id))
        return -1;
    h->sys_flag = (int32_t)opt_i64(c, "sysFlag", "f", 0);
    h->born_ts = opt_i64(c, "bornTimestamp", "g", 0);
    h->flag = (int32_t)opt_i64(c, "flag", "h", 0);
    h->props = rcmd_get2(c, "properties", "i");
    h->reconsume_times = (int32_t)opt_i64(c, "reconsumeTimes", "j", 0);
    h->max_reconsume_times = (int32_t)opt_i64(c, "maxReconsumeTimes", "l", -1);
    tern_bytes_t m = rcmd_get2(c, "batch", "m");
    h->batch = req->cmd.code == RC_SEND_BATCH_MESSAGE ||
               (m.len == 4 && (m.ptr[0] | 0x20) == 't' && (m.ptr[1] | 0x20) == 'r' &&
                (m.ptr[2] | 0x20) == 'u' && (m.ptr[3] | 0x20) == 'e');
    return 0;
}

/* Finds or auto-creates the topic (step 4). Answers on failure. */
static bool resolve_topic(struct broker *b, struct rreq *req, const struct send_hdr *h,
                          struct topic_config *tc)
{
    if (topics_get(&b->topics, h->topic, tc))
        return true;
    struct topic_config tmpl, nc;
    topic_config_defaults(&nc, h->topic);
    if (tern_bytes_starts(h->topic, RETRY_PREFIX)) {
        nc.read_queue_nums = nc.write_queue_nums = 1;
    } else if (h->default_topic.ptr && topics_get(&b->topics, h->default_topic, &tmpl) &&
               (tmpl.perm & PERM_INHERIT)) {
        int q = h->default_queues > 0 ? h->default_queues : tmpl.write_queue_nums;
        if (q > tmpl.write_queue_nums)
            q = tmpl.write_queue_nums;
        nc.read_queue_nums = nc.write_queue_nums = q;
        nc.perm = tmpl.perm & ~PERM_INHERIT;
        nc.multi_tag = tmpl.multi_tag;
    } else {
        send_error(b, req, RESP_TOPIC_NOT_EXIST, "topic[%.*s] not exist, apply first please!",
                   (int)h->topic.len, (const char *)h->topic.ptr);
        return false;
    }
    if (topics_create_if_absent(&b->topics, &nc, tc))
        broker_topic_changed(b);
    return true;
}

/* Appends "key 0x01 val 0x02" at dst; returns the bytes written. */
static size_t put_pair(uint8_t *dst, const char *key, const char *val, size_t vlen)
{
    size_t kl = strlen(key);
    memcpy(dst, key, kl);
    dst[kl] = PROP_NAME_SEP;
    memcpy(dst + kl + 1, val, vlen);
    dst[kl + 1 + vlen] = PROP_PAIR_SEP;
    return kl + vlen + 2;
}

/* The client properties a single send reads, found in one walk. */
enum { SP_UNIQ, SP_WAIT, SP_TRAN, SP_N };
struct send_props {
    tern_bytes_t v[SP_N]; /* borrowed from the request */
    unsigned got;         /* bit k: v[k] was found */
};

static void send_props_find(tern_bytes_t props, struct send_props *sp)
{
    static const char *const keys[SP_N] = {PROP_UNIQ_KEY, PROP_WAIT, PROP_TRAN_MSG};
    sp->got = props_find(props, keys, SP_N, sp->v);
}

/* sp's value of key k, or NULL when the client did not send it. */
static const tern_bytes_t *send_prop(const struct send_props *sp, int k)
{
    return sp->got & (1u << k) ? &sp->v[k] : NULL;
}

/* Writes props + UNIQ_KEY (if missing) + CLUSTER (+ extra pair) into dst.
 * Returns the length. A client's UNIQ_KEY (have_uniq: its value in props) is
 * kept whatever its length (the properties limit bounds it) and viewed in
 * *client_uniq; otherwise uniq receives the generated one. dst has room for
 * props.len + PROPS_EXTRA + cluster length. */
static size_t build_props(struct broker *b, tern_bytes_t props, const tern_bytes_t *have_uniq,
                          uint8_t *dst, char uniq[40], tern_bytes_t *client_uniq,
                          const char *extra_key, const char *extra_val)
{
    size_t n = 0;
    if (props.len) {
        memcpy(dst, props.ptr, props.len);
        n = props.len;
        if (dst[n - 1] != PROP_PAIR_SEP)
            dst[n++] = PROP_PAIR_SEP;
    }
    uniq[0] = '\0';
    *client_uniq = tern_bytes(NULL, 0);
    if (have_uniq) {
        *client_uniq = *have_uniq;
    } else {
        uniq_gen_next(&b->uniq, clock_wall_ms(), uniq);
        n += put_pair(dst + n, PROP_UNIQ_KEY, uniq, 32);
    }
    n += put_pair(dst + n, PROP_CLUSTER, b->cfg.cluster_name, b->cluster_len);
    if (extra_key)
        n += put_pair(dst + n, extra_key, extra_val, strlen(extra_val));
    return n;
}

static int map_store_error(int rc, const char **remark)
{
    switch (rc) {
    case TERN_ETOO_LARGE:
        *remark = "the message is illegal, maybe msg body or properties length not matched";
        return RESP_MESSAGE_ILLEGAL;
    case TERN_EDISK_FULL:
        *remark = "service not available now: the disk is full, the broker refuses new messages";
        return RESP_SERVICE_NOT_AVAILABLE;
    case TERN_ESHUTDOWN:
        *remark = "service not available now, the store is shutting down";
        return RESP_SERVICE_NOT_AVAILABLE;
    default:
        *remark = "the store failed to append the message";
        return RESP_SYSTEM_ERROR;
    }
}

static bool wait_wanted(const struct send_props *sp)
{
    const tern_bytes_t *w = send_prop(sp, SP_WAIT);
    return !(w && tern_bytes_eq_cstr(*w, "false"));
}

static void send_batch(struct broker *b, struct rreq *req, const struct send_props *sp, int32_t qid,
                       const struct store_msg *proto);

void proc_send(void *ctx, struct rreq *req)
{
    struct broker *b = ctx;
    struct send_hdr h;
    if (parse_header(req, &h) != 0)
        return;
    struct send_props sp;
    send_props_find(h.props, &sp);
    bool is_half = txn_is_half(h.sys_flag, send_prop(&sp, SP_TRAN)); /* txn.h */
    if (atomic_load(&b->stopping)) {
        send_error(b, req, RESP_SERVICE_NOT_AVAILABLE, "service not available now, shutting down");
        return;
    }
    if (!(b->cfg.broker_permission & PERM_WRITE)) {
        send_error(b, req, RESP_NO_PERMISSION, "the broker[%s] sending message is forbidden",
                   b->cfg.broker_name);
        return;
    }
    bool is_retry = tern_bytes_starts(h.topic, RETRY_PREFIX);
    if (!topic_name_valid(h.topic, TERN_MAX_TOPIC_BYTES)) {
        send_error(b, req, RESP_INVALID_PARAMETER,
                   "the specified topic[%.*s] is longer than %d or contains illegal characters "
                   "(allowed: %%|a-zA-Z0-9_-)",
                   (int)(h.topic.len > 200 ? 200 : h.topic.len), (const char *)h.topic.ptr,
                   TERN_MAX_TOPIC_BYTES);
        return;
    }
    if (topic_is_send_forbidden(h.topic)) {
        send_error(b, req, RESP_NO_PERMISSION, "Sending message to topic[%.*s] is forbidden.",
                   (int)h.topic.len, (const char *)h.topic.ptr);
        return;
    }
    if (h.batch && is_half) {
        send_error(b, req, RESP_MESSAGE_ILLEGAL, "batch messages cannot be transactional");
        return;
    }
    struct topic_config tc;
    if (!resolve_topic(b, req, &h, &tc))
        return;
    if (!(tc.perm & PERM_WRITE)) {
        send_error(b, req, RESP_NO_PERMISSION, "the topic[%s] sending message is forbidden",
                   tc.name);
        return;
    }
    char why[320]; /* topic message type (msgtype.h) */
    if (tc.msg_type != TOPIC_TYPE_UNSET &&
        !msgtype_send_allowed(&tc, is_half, h.props, why, sizeof why)) {
        send_error(b, req, RESP_MESSAGE_ILLEGAL, "%s", why);
        return;
    }
    int maxq = tc.read_queue_nums > tc.write_queue_nums ? tc.read_queue_nums : tc.write_queue_nums;
    if (h.queue_id >= maxq) {
        send_error(b, req, RESP_INVALID_PARAMETER,
                   "request queueId[%d] is illegal, topic:%s topicConfig.writeQueueNums:%d",
                   h.queue_id, tc.name, tc.write_queue_nums);
        return;
    }
    int32_t qid = h.queue_id;
    if (qid < 0) {
        if (tc.write_queue_nums <= 0) {
            send_error(b, req, RESP_NO_PERMISSION, "topic[%s] has no writable queue", tc.name);
            return;
        }
        qid = (int32_t)((uint64_t)clock_mono_ns() % (uint64_t)tc.write_queue_nums);
    }
    tern_bytes_t body = req->cmd.body;
    if (body.len > (size_t)b->cfg.max_message_size) {
        send_error(b, req, RESP_MESSAGE_ILLEGAL, "the message body size %zu is over the limit %d",
                   body.len, b->cfg.max_message_size);
        return;
    }

    struct store_msg m;
    memset(&m, 0, sizeof m);
    m.topic = tern_cstr(tc.name);
    m.queue_id = qid;
    m.flag = h.flag;
    m.sys_flag = h.sys_flag;
    m.born_ts = h.born_ts;
    struct sockaddr_in peer;
    rconn_peer_addr(req->conn, &peer);
    host_from_sockaddr(&peer, &m.born_host);
    m.store_host = b->store_host;
    m.reconsume_times = h.reconsume_times;

    if (h.batch) {
        if (is_retry) {
            send_error(b, req, RESP_MESSAGE_ILLEGAL,
                       "batch request does not support retry group %s", tc.name);
            return;
        }
        send_batch(b, req, &sp, qid, &m);
        return;
    }

    /* %RETRY% topics: group must exist; too many reconsumes go to the DLQ. */
    char dlq[TOPIC_NAME_MAX + 1];
    const char *extra_key = NULL;
    if (is_retry) {
        tern_bytes_t group = tern_bytes(h.topic.ptr + 7, h.topic.len - 7);
        struct group_config gc;
        if (!groups_ensure(&b->groups, group, b->cfg.auto_create_group, &gc)) {
            send_error(b, req, RESP_SUBSCRIPTION_GROUP_NOT_EXIST,
                       "subscription group not exist, %.*s", (int)group.len,
                       (const char *)group.ptr);
            return;
        }
        int max_times = h.max_reconsume_times >= 0 && req->cmd.version >= 121
                            ? h.max_reconsume_times
                            : gc.retry_max_times;
        if (h.reconsume_times > max_times ||
            lock_table_group_locked(&b->locks, group, clock_mono_ms())) {
            int n =
                snprintf(dlq, sizeof dlq, "%%DLQ%%%.*s", (int)group.len, (const char *)group.ptr);
            if (n > 0 && (size_t)n <= TERN_MAX_TOPIC_BYTES) {
                struct topic_config dc, cur;
                topic_config_defaults(&dc, tern_bytes(dlq, (size_t)n));
                dc.read_queue_nums = dc.write_queue_nums = 1;
                if (topics_create_if_absent(&b->topics, &dc, &cur))
                    broker_topic_changed(b);
                m.topic = tern_bytes(dlq, (size_t)n);
                m.queue_id = qid = 0;
                extra_key = PROP_DELAY;
            }
        }
    }

    if (h.props.len > TERN_MAX_PROPERTIES_BYTES) {
        send_error(b, req, RESP_MESSAGE_ILLEGAL, "the message properties length %zu is over %d",
                   h.props.len, TERN_MAX_PROPERTIES_BYTES);
        return;
    }
    uint8_t local[2048];
    size_t need = h.props.len + PROPS_EXTRA + b->cluster_len;
    uint8_t *pbuf = need <= sizeof local ? local : xmalloc(need);
    struct send_ack a;
    memset(&a, 0, sizeof a);
    size_t plen = build_props(b, h.props, send_prop(&sp, SP_UNIQ), pbuf, a.uniq, &a.uniq_client,
                              extra_key, "-1");
    if (plen > TERN_MAX_PROPERTIES_BYTES) {
        if (pbuf != local)
            free(pbuf);
        send_error(b, req, RESP_MESSAGE_ILLEGAL, "the message properties length %zu is over %d",
                   plen, TERN_MAX_PROPERTIES_BYTES);
        return;
    }
    m.body = body;
    m.props = tern_bytes(pbuf, plen);
    struct store_put_result res;
    buf_t tbuf; /* a delayed message is rewritten to TIMER_TOPIC (timer.h) */
    buf_init(&tbuf);
    char terr[192];
    tern_bytes_t counted = m.topic; /* the statistics' topic, before any rewrite */
    int rc = timer_on_send(&b->timer, &m, &tbuf, terr, sizeof terr);
    uint8_t *half = rc == TERN_OK && is_half ? txn_make_half(b, &m) : NULL; /* txn.h */
    is_half = half != NULL;
    if (rc == TERN_OK)
        rc = store_put(b->store, &m, 1, &res, NULL);
    buf_deinit(&tbuf);
    free(half);
    if (pbuf != local)
        free(pbuf);
    if (rc == TERN_EINVALID) {
        send_error(b, req, RESP_MESSAGE_ILLEGAL, "%s", terr);
        return;
    }
    if (rc != TERN_OK) {
        const char *remark;
        int code = map_store_error(rc, &remark);
        send_error(b, req, code, "%s", remark);
        return;
    }
    atomic_fetch_add_explicit(&b->msgs_put, 1, memory_order_relaxed);
    if (!is_half) /* a half message counts when it is committed (proc_txn.c) */
        stats_add(&b->stats, STATS_TOPIC_PUT, counted, TERN_BYTES_NULL, 1, clock_wall_coarse_ms());
    a.req = req;
    a.b = b;
    a.queue_id = qid;
    a.queue_off = res.first_queue_off;
    a.nids = 1;
    a.msg_ids = a.ids_inline;
    msgid_encode(&b->store_host, res.first_phy_off, a.ids_inline);
    finish(b, &a, res.end_phy_off, wait_wanted(&sp));
}

static void send_batch(struct broker *b, struct rreq *req, const struct send_props *sp, int32_t qid,
                       const struct store_msg *proto)
{
    tern_bytes_t body = req->cmd.body;
    reader_t r = reader_of(body.ptr, body.len);
    struct batch_entry e;
    size_t count = 0, props_total = 0;
    int rc;
    while ((rc = batch_next(&r, &e)) == TERN_OK) {
        count++;
        props_total += e.props.len;
        if (count > TERN_MAX_BATCH_MSGS)
            break;
    }
    if (count > TERN_MAX_BATCH_MSGS) {
        send_error(b, req, RESP_MESSAGE_ILLEGAL, "too many messages in one batch (max %d)",
                   TERN_MAX_BATCH_MSGS);
        return;
    }
    if (rc != TERN_ENOT_FOUND || count == 0) {
        send_error(b, req, RESP_MESSAGE_ILLEGAL, "the batch body is malformed");
        return;
    }
    size_t per_extra = PROPS_EXTRA + b->cluster_len;
    struct store_msg *msgs = xmalloc(count * sizeof *msgs);
    uint8_t *pbuf = xmalloc(props_total + count * per_extra);
    int64_t *phys = xmalloc(count * sizeof *phys);
    size_t used = 0;
    r = reader_of(body.ptr, body.len);
    for (size_t i = 0; i < count; i++) {
        batch_next(&r, &e);
        char uniq[40];
        tern_bytes_t client_uniq;
        tern_bytes_t u;
        bool has_uniq = props_get(e.props, PROP_UNIQ_KEY, &u);
        size_t plen = build_props(b, e.props, has_uniq ? &u : NULL, pbuf + used, uniq, &client_uniq,
                                  NULL, NULL);
        if (plen > TERN_MAX_PROPERTIES_BYTES) {
            free(msgs);
            free(pbuf);
            free(phys);
            send_error(b, req, RESP_MESSAGE_ILLEGAL, "the message properties length %zu is over %d",
                       plen, TERN_MAX_PROPERTIES_BYTES);
            return;
        }
        msgs[i] = *proto;
        msgs[i].flag = e.flag;
        msgs[i].body = e.body;
        msgs[i].props = tern_bytes(pbuf + used, plen);
        used += plen;
    }
    struct store_put_result res;
    rc = store_put(b->store, msgs, count, &res, phys);
    free(msgs);
    free(pbuf);
    if (rc != TERN_OK) {
        free(phys);
        const char *remark;
        int code = map_store_error(rc, &remark);
        send_error(b, req, code, "%s", remark);
        return;
    }
    atomic_fetch_add_explicit(&b->msgs_put, (long long)count, memory_order_relaxed);
    stats_add(&b->stats, STATS_TOPIC_PUT, proto->topic, TERN_BYTES_NULL, (int64_t)count,
              clock_wall_coarse_ms());
    struct send_ack a;
    memset(&a, 0, sizeof a);
    a.req = req;
    a.b = b;
    a.queue_id = qid;
    a.queue_off = res.first_queue_off;
    a.nids = count;
    a.msg_ids = xmalloc(count * (MSGID_MAX_LEN + 1) + 1);
    size_t pos = 0;
    for (size_t i = 0; i < count; i++) {
        if (i)
            a.msg_ids[pos++] = ',';
        pos += msgid_encode(&b->store_host, phys[i], a.msg_ids + pos);
    }
    a.msg_ids[pos] = '\0';
    free(phys);
    finish(b, &a, res.end_phy_off, wait_wanted(sp));
}
