/* SPDX-License-Identifier: Apache-2.0 */
/* proc_sendback.c: CONSUMER_SEND_MSG_BACK (36): a consumer hands back a
 * message it failed to consume (spec §4.C.8, §8.8). The stored original is
 * copied into %RETRY%<group> with RETRY_TOPIC / ORIGIN_MESSAGE_ID and
 * reconsumeTimes + 1, delayed by level 3 + reconsumeTimes (or the requested
 * level) through the timer service, or into %DLQ%<group> at once when the
 * level is negative or the retries are used up. Runs on a loop thread: one
 * read and one store_put, no blocking. */
#include <stdio.h>
#include <string.h>

#include "broker/broker_int.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/limits.h"
#include "protocol/codes.h"
#include "protocol/props.h"
#include "store/store.h"

static bool ensure_topic(struct broker *b, const char *name, int queues)
{
    struct topic_config tc, cur;
    if (!topic_name_valid(tern_cstr(name), TERN_MAX_TOPIC_BYTES))
        return false;
    if (topics_get(&b->topics, tern_cstr(name), &cur))
        return true;
    topic_config_defaults(&tc, tern_cstr(name));
    tc.read_queue_nums = tc.write_queue_nums = queues;
    if (topics_create_if_absent(&b->topics, &tc, &cur))
        broker_topic_changed(b);
    return true;
}

void proc_send_back(void *ctx, struct rreq *req)
{
    struct broker *b = ctx;
    const struct rcmd *c = &req->cmd;
    int64_t phy;
    tern_bytes_t group;
    int32_t delay_level;
    if (!need_i64(req, "offset", NULL, &phy) || !need_str(req, "group", NULL, &group) ||
        !need_i32(req, "delayLevel", NULL, &delay_level))
        return;
    struct group_config gc;
    if (!groups_ensure(&b->groups, group, b->cfg.auto_create_group, &gc)) {
        reply(req, RESP_SUBSCRIPTION_GROUP_NOT_EXIST, "subscription group not exist, %.*s",
              (int)group.len, (const char *)group.ptr);
        return;
    }
    if (!(b->cfg.broker_permission & PERM_WRITE)) {
        reply(req, RESP_NO_PERMISSION, "the broker[%s] sending message is forbidden",
              b->cfg.broker_name);
        return;
    }
    if (gc.retry_queue_nums <= 0) {
        reply(req, RESP_SUCCESS, NULL);
        return;
    }
    char topic[TOPIC_NAME_MAX + 16];
    snprintf(topic, sizeof topic, "%%RETRY%%%s", gc.name);
    if (!ensure_topic(b, topic, gc.retry_queue_nums)) {
        reply(req, RESP_INVALID_PARAMETER, "the retry topic of group %s is too long", gc.name);
        return;
    }
    buf_t orig;
    buf_init(&orig);
    struct msg_record m;
    if (phy < 0 || store_read_at(b->store, phy, &orig) != TERN_OK ||
        msg_decode(orig.data, orig.len, &m) != TERN_OK) {
        buf_deinit(&orig);
        reply(req, RESP_SYSTEM_ERROR, "look message by offset failed, %lld", (long long)phy);
        return;
    }
    int64_t hdr_max = opt_i64(c, "maxReconsumeTimes", NULL, -1);
    int max_times = hdr_max >= 0 && c->version >= 121 ? (int)hdr_max : gc.retry_max_times;
    int32_t qid = (int32_t)((uint64_t)clock_mono_ns() % (uint64_t)gc.retry_queue_nums);
    bool to_dlq = m.reconsume_times >= max_times || delay_level < 0;
    if (to_dlq) {
        snprintf(topic, sizeof topic, "%%DLQ%%%s", gc.name);
        if (!ensure_topic(b, topic, 1)) {
            buf_deinit(&orig);
            reply(req, RESP_SYSTEM_ERROR, "cannot create the DLQ topic of group %s", gc.name);
            return;
        }
        qid = 0;
    }

    buf_t props;
    buf_init(&props);
    static const char *const SKIP[] = {
        PROP_DELAY,      PROP_TIMER_DELIVER_MS, PROP_TIMER_DELAY_SEC, PROP_TIMER_DELAY_MS,
        PROP_REAL_TOPIC, PROP_REAL_QID,         TIMER_PROP_OUT_MS,    NULL};
    props_copy_except(&props, m.props, SKIP);
    tern_bytes_t v;
    if (!props_get(m.props, PROP_RETRY_TOPIC, &v))
        props_append(&props, PROP_RETRY_TOPIC, m.topic);
    if (!props_get(m.props, PROP_ORIGIN_MESSAGE_ID, &v)) {
        tern_bytes_t origin = rcmd_get(c, "originMsgId");
        char id[MSGID_MAX_LEN + 1];
        if (!origin.ptr || origin.len == 0) {
            msgid_encode(&m.store_host, m.phy_off, id);
            origin = tern_cstr(id);
        }
        props_append(&props, PROP_ORIGIN_MESSAGE_ID, origin);
    }
    int level = delay_level > 0 ? delay_level : 3 + m.reconsume_times;
    if (to_dlq)
        props_append(&props, PROP_DELAY, tern_cstr("-1"));
    if (props.len > TERN_MAX_PROPERTIES_BYTES) {
        buf_deinit(&props);
        buf_deinit(&orig);
        reply(req, RESP_MESSAGE_ILLEGAL, "the message properties are too long");
        return;
    }

    struct store_msg sm;
    memset(&sm, 0, sizeof sm);
    sm.topic = tern_cstr(topic);
    sm.queue_id = qid;
    sm.flag = m.flag;
    sm.sys_flag =
        m.sys_flag & ~(MSG_SYSFLAG_BORNHOST_V6 | MSG_SYSFLAG_STOREHOST_V6 | MSG_SYSFLAG_TXN_MASK);
    sm.born_ts = m.born_ts;
    sm.born_host = m.born_host;
    sm.store_host = b->store_host;
    sm.reconsume_times = m.reconsume_times + 1;
    sm.body = m.body;
    sm.props = buf_view(&props);
    buf_t tprops;
    buf_init(&tprops);
    if (!to_dlq) {
        int64_t due = clock_wall_ms() + timer_level_delay(&b->timer, level);
        timer_wrap(&sm, buf_view(&props), due, &tprops);
    }
    struct store_put_result res;
    int rc = store_put(b->store, &sm, 1, &res, NULL);
    buf_deinit(&tprops);
    buf_deinit(&props);
    buf_deinit(&orig);
    if (rc != TERN_OK) {
        reply(req, RESP_SYSTEM_ERROR, "send back failed: %s", tern_strerror(rc));
        return;
    }
    atomic_fetch_add_explicit(&b->msgs_put, 1, memory_order_relaxed);
    stats_add(&b->stats, STATS_TOPIC_PUT, tern_cstr(topic), TERN_BYTES_NULL, 1,
              clock_wall_coarse_ms());
    reply(req, RESP_SUCCESS, NULL);
}
