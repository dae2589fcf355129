/* SPDX-License-Identifier: Apache-2.0 */
/* msgtype.c: topic message types at creation and per send (see msgtype.h).
 * The 5.x `attributes` header is a comma-separated list of "+key=value"
 * (set) and "-key" (remove) items; only message.type is acted on. */
#include "broker/msgtype.h"

#include <stdio.h>
#include <string.h>

#include "broker/broker_int.h"
#include "broker/timer.h"
#include "protocol/codes.h"

#define ATTR_TYPE "message.type"

/* Finds message.type in the attributes list. Returns 1 set (*val), -1
 * removed, 0 absent. */
static int find_type_attr(tern_bytes_t attrs, tern_bytes_t *val)
{
    size_t i = 0;
    while (i < attrs.len) {
        size_t j = i;
        while (j < attrs.len && attrs.ptr[j] != ',')
            j++;
        tern_bytes_t item = tern_bytes(attrs.ptr + i, j - i);
        i = j + 1;
        if (item.len < 2 || (item.ptr[0] != '+' && item.ptr[0] != '-'))
            continue;
        bool add = item.ptr[0] == '+';
        tern_bytes_t rest = tern_bytes(item.ptr + 1, item.len - 1);
        size_t kl = strlen(ATTR_TYPE);
        if (rest.len < kl || memcmp(rest.ptr, ATTR_TYPE, kl) != 0)
            continue;
        if (!add && rest.len == kl)
            return -1;
        if (add && rest.len > kl && rest.ptr[kl] == '=') {
            *val = tern_bytes(rest.ptr + kl + 1, rest.len - kl - 1);
            return 1;
        }
    }
    return 0;
}

bool topic_type_from_request(struct broker *b, struct rreq *req, struct topic_config *tc)
{
    tern_bytes_t v = TERN_BYTES_NULL;
    int found = find_type_attr(rcmd_get(&req->cmd, "attributes"), &v);
    tern_bytes_t ot = rcmd_get(&req->cmd, "orderType");
    if (found == 0 && ot.ptr) {
        v = ot;
        found = 1;
    }
    if (found == 0) {
        struct topic_config cur;
        if (topics_get(&b->topics, tern_cstr(tc->name), &cur))
            tc->msg_type = cur.msg_type;
        return true;
    }
    if (found < 0) {
        tc->msg_type = TOPIC_TYPE_UNSET;
        return true;
    }
    bool global = false;
    if (!topic_msg_type_parse(v, &tc->msg_type, &global)) {
        reply(req, RESP_INVALID_PARAMETER,
              "unknown message type [%.*s]: use NORMAL, FIFO, DELAY, TRANSACTION or an "
              "orderType 0, 1, 2, 4, 5",
              (int)(v.len > 64 ? 64 : v.len), v.ptr ? (const char *)v.ptr : "");
        return false;
    }
    if (tc->msg_type == TOPIC_TYPE_FIFO)
        tc->order = true;
    if (global) /* a globally ordered topic is one FIFO queue */
        tc->read_queue_nums = tc->write_queue_nums = 1;
    return true;
}

bool msgtype_send_allowed(const struct topic_config *tc, bool is_half, tern_bytes_t props,
                          char *why, size_t whylen)
{
    if (tc->msg_type == TOPIC_TYPE_UNSET)
        return true;
    int kind = TOPIC_TYPE_NORMAL;
    if (is_half)
        kind = TOPIC_TYPE_TRANSACTION;
    else if (timer_is_delayed(props))
        kind = TOPIC_TYPE_DELAY;
    bool ok;
    switch (kind) {
    case TOPIC_TYPE_TRANSACTION:
        ok = tc->msg_type == TOPIC_TYPE_TRANSACTION;
        break;
    case TOPIC_TYPE_DELAY:
        ok = tc->msg_type == TOPIC_TYPE_DELAY;
        break;
    default:
        ok = tc->msg_type != TOPIC_TYPE_TRANSACTION;
        break;
    }
    if (!ok)
        snprintf(why, whylen, "topic %s is of type %s; a %s message cannot be sent to it", tc->name,
                 topic_msg_type_name(tc->msg_type), topic_msg_type_name(kind));
    return ok;
}
