/* SPDX-License-Identifier: Apache-2.0 */
/* acl_enforce.c: the pre-dispatch hook of aclEnable=true: who signed the
 * request, and may that account do what the request asks (docs/design/acl.md
 * "What the broker checks").
 *
 * An access key of the console's pushed table (acl_table.h) gets the
 * per-resource rules of RESOURCE_RULES below; an access key of the static
 * credentials file or aclAdminAccessKey (acl.h) gets today's rules: a good
 * signature, admin for admin-only codes, every resource. The table wins when
 * a key is in both. Runs on loop threads: hash lookups, no lock, no
 * allocation except the heartbeat body decode (one arena per heartbeat). */
#include <stdio.h>

#include "broker/acl.h"
#include "broker/acl_table.h"
#include "broker/broker_int.h"
#include "common/arena.h"
#include "common/log.h"
#include "protocol/codes.h"
#include "protocol/heartbeat.h"

/* Longest access key quoted back in a remark. */
#define REMARK_KEY_MAX 64

typedef bool (*rule_fn)(const struct acl_table *t, const struct acl_principal *p,
                        const struct rcmd *c, char *remark, size_t len);

static bool rule_send(const struct acl_table *t, const struct acl_principal *p,
                      const struct rcmd *c, char *remark, size_t len)
{
    return acl_table_topic_ok(t, p, rcmd_get2(c, "topic", "b"), ACL_RIGHT_PUB, remark, len);
}

static bool rule_send_back(const struct acl_table *t, const struct acl_principal *p,
                           const struct rcmd *c, char *remark, size_t len)
{
    return acl_table_group_ok(t, p, rcmd_get(c, "group"), false, remark, len);
}

static bool rule_pull(const struct acl_table *t, const struct acl_principal *p,
                      const struct rcmd *c, char *remark, size_t len)
{
    return acl_table_topic_ok(t, p, rcmd_get(c, "topic"), ACL_RIGHT_SUB, remark, len) &&
           acl_table_group_ok(t, p, rcmd_get(c, "consumerGroup"), true, remark, len);
}

static bool rule_offset(const struct acl_table *t, const struct acl_principal *p,
                        const struct rcmd *c, char *remark, size_t len)
{
    return acl_table_topic_ok(t, p, rcmd_get(c, "topic"), ACL_RIGHT_SUB, remark, len) &&
           acl_table_group_ok(t, p, rcmd_get(c, "consumerGroup"), false, remark, len);
}

static bool rule_query(const struct acl_table *t, const struct acl_principal *p,
                       const struct rcmd *c, char *remark, size_t len)
{
    return acl_table_topic_ok(t, p, rcmd_get(c, "topic"), ACL_RIGHT_SUB, remark, len);
}

static bool rule_group(const struct acl_table *t, const struct acl_principal *p,
                       const struct rcmd *c, char *remark, size_t len)
{
    return acl_table_group_ok(t, p, rcmd_get(c, "consumerGroup"), false, remark, len);
}

/* Every consumer group of the heartbeat must be usable and every subscribed
 * topic subscribable. A body that does not decode is left to the handler. */
static bool rule_heartbeat(const struct acl_table *t, const struct acl_principal *p,
                           const struct rcmd *c, char *remark, size_t len)
{
    if (p->admin)
        return true;
    arena_t a;
    arena_init(&a);
    struct heartbeat hb;
    bool ok = true;
    if (heartbeat_decode(c->body, &a, &hb) == TERN_OK) {
        for (size_t i = 0; ok && i < hb.nconsumers; i++) {
            const struct hb_consumer *hc = &hb.consumers[i];
            ok = acl_table_group_ok(t, p, hc->group, false, remark, len);
            for (size_t j = 0; ok && j < hc->nsubs; j++)
                ok = acl_table_topic_ok(t, p, hc->subs[j].topic, ACL_RIGHT_SUB, remark, len);
        }
    }
    arena_deinit(&a);
    return ok;
}

/* Request codes with per-resource rules; every other code needs only a
 * good signature (and admin when flagged in processors.c). */
static const struct {
    int code;
    rule_fn fn;
} RESOURCE_RULES[] = {
    {RC_SEND_MESSAGE, rule_send},
    {RC_SEND_MESSAGE_V2, rule_send},
    {RC_SEND_BATCH_MESSAGE, rule_send},
    {RC_SEND_REPLY_MESSAGE, rule_send},
    {RC_SEND_REPLY_MESSAGE_V2, rule_send},
    {RC_CONSUMER_SEND_MSG_BACK, rule_send_back},
    {RC_PULL_MESSAGE, rule_pull},
    {RC_LITE_PULL_MESSAGE, rule_pull},
    {RC_QUERY_CONSUMER_OFFSET, rule_offset},
    {RC_UPDATE_CONSUMER_OFFSET, rule_offset},
    {RC_HEART_BEAT, rule_heartbeat},
    {RC_QUERY_MESSAGE, rule_query},
    {RC_GET_CONSUMER_LIST_BY_GROUP, rule_group},
};

static rule_fn rule_of(int code)
{
    for (size_t i = 0; i < sizeof RESOURCE_RULES / sizeof RESOURCE_RULES[0]; i++)
        if (RESOURCE_RULES[i].code == code)
            return RESOURCE_RULES[i].fn;
    return NULL;
}

/* The verdict for one request; false with a remark when refused. */
static bool allowed(struct broker *b, const struct rcmd *c, bool admin_only, char *remark,
                    size_t len)
{
    tern_bytes_t ak = rcmd_get(c, "AccessKey");
    const struct acl_table *t = acl_slot_get(&b->acl_table);
    const struct acl_principal *p = t && ak.len ? acl_table_account(t, ak) : NULL;
    if (!p) {
        if (b->acl)
            return acl_check(b->acl, c, admin_only, remark, len);
        if (ak.len == 0)
            snprintf(remark, len, "No accessKey is configured");
        else
            snprintf(remark, len, "No acl config for %.*s",
                     ak.len > REMARK_KEY_MAX ? REMARK_KEY_MAX : (int)ak.len, (const char *)ak.ptr);
        return false;
    }
    int akn = ak.len > REMARK_KEY_MAX ? REMARK_KEY_MAX : (int)ak.len;
    if (!acl_signature_ok(c, p->secret)) {
        snprintf(remark, len, "Check signature failed for accessKey=%.*s", akn,
                 (const char *)ak.ptr);
        return false;
    }
    if (admin_only && !p->admin) {
        snprintf(remark, len, "accessKey=%.*s is not an admin account: request code %d needs admin",
                 akn, (const char *)ak.ptr, (int)c->code);
        return false;
    }
    rule_fn fn = rule_of(c->code);
    return !fn || fn(t, p, c, remark, len);
}

/* The remoting pre-dispatch hook with aclEnable=true: a request that fails
 * the check is answered NO_PERMISSION (16, spec §7.4) and never reaches its
 * handler; oneway requests are dropped without an answer. */
bool broker_acl_hook(void *ctx, struct rreq *req, const struct rprocessor *p)
{
    struct broker *b = ctx;
    char remark[320];
    bool admin_only = p && (p->flags & ACL_FLAG_ADMIN);
    if (allowed(b, &req->cmd, admin_only, remark, sizeof remark))
        return true;
    log_debug("broker", "acl denied peer=%s code=%d: %s", rconn_peer(req->conn), (int)req->cmd.code,
              remark);
    if (rreq_is_oneway(req))
        rreq_free(req);
    else
        rreq_respond_code(req, RESP_NO_PERMISSION, remark);
    return false;
}
