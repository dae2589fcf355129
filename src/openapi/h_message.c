/* SPDX-License-Identifier: Apache-2.0 */
/* h_message.c: /json/message/getById|getByKey|trace (spec §6.7) through
 * admin.c: QUERY_MESSAGE (12) by key or by UNIQ_KEY on every master of the
 * instance's cluster, VIEW_MESSAGE_BY_ID (33) for offset Message IDs, and
 * GET_CONSUME_STATS (208) + GET_CONSUMER_CONNECTION_LIST (203) per group for
 * the trace. Records are rendered as OnsRestMessageDo (§7.2). A grantee
 * needs the subscribe relation (api_existing_topic) and its trace lists only
 * the Group IDs it may use; the owner side sees every group. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "openapi/access.h"
#include "openapi/admin.h"
#include "openapi/api.h"
#include "openapi/msgview.h"
#include "protocol/cmd.h"
#include "protocol/codes.h"
#include "protocol/message.h"
#include "protocol/msgid.h"
#include "protocol/props.h"

/* Does the space-separated KEYS property hold key? */
static bool has_key(const struct msg_record *m, const char *key)
{
    tern_bytes_t keys;
    if (!props_get(m->props, PROP_KEYS, &keys))
        return false;
    size_t kl = strlen(key);
    for (size_t i = 0; i < keys.len;) {
        size_t j = i;
        while (j < keys.len && keys.ptr[j] != ' ')
            j++;
        if (j - i == kl && memcmp(keys.ptr + i, key, kl) == 0)
            return true;
        i = j + 1;
    }
    return false;
}

static int msg_params(struct api_req *r, struct api_instance *in, const char **topic,
                      const char **phys, const char **msg_id)
{
    if (api_str(r, "topic", true, 1, 255, topic) < 0 ||
        api_str(r, "msgId", true, 1, MSGID_MAX_LEN, msg_id) < 0 ||
        api_existing_topic(r, *topic, in) < 0)
        return -1;
    *phys = api_phys_name(r, in, *topic);
    return *phys ? 0 : -1;
}

int h_message_get_by_id(struct api_req *r)
{
    const char *topic, *phys, *id;
    struct api_instance in;
    if (msg_params(r, &in, &topic, &phys, &id) < 0)
        return -1;
    struct msg_found f;
    int rc = msgview_find_by_id(r, &in, phys, id, &f);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return api_fail(r, API_BIZ_NO_MESSAGE, "no message %s in topic %s", id, topic);
    jw_t w;
    api_data_begin(r, &w);
    msgview_write(r, &w, &in, &f.m, topic);
    return 0;
}

int h_message_get_by_key(struct api_req *r)
{
    const char *topic, *phys, *key;
    struct api_instance in;
    if (api_str(r, "topic", true, 1, 255, &topic) < 0 ||
        api_str(r, "key", true, 1, 255, &key) < 0 || api_existing_topic(r, topic, &in) < 0)
        return -1;
    phys = api_phys_name(r, &in, topic);
    if (!phys)
        return -1;
    struct admin_broker *b;
    size_t nb;
    char err[400];
    if (admin_brokers(r->o->admin, in.cluster, &r->arena, &b, &nb, err, sizeof err) != TERN_OK)
        return api_invoke_failed(r, "finding the brokers", err);
    struct msg_found_set *fs = arena_alloc(&r->arena, sizeof *fs);
    if (!fs)
        return api_fail(r, API_ONS_SYSTEM_ERROR, "out of memory");
    fs->n = 0;
    if (msgview_query_all(r, b, nb, phys, key, false, fs) < 0)
        return -1;
    size_t n = 0; /* keep the exact matches (the index is a hash) */
    for (size_t i = 0; i < fs->n; i++)
        if (msgview_topic_is(&fs->v[i].m, phys) && has_key(&fs->v[i].m, key))
            fs->v[n++] = fs->v[i];
    if (n == 0)
        return api_fail(r, API_BIZ_NO_MESSAGE, "no message with key %s in topic %s", key, topic);
    qsort(fs->v, n, sizeof fs->v[0], msgview_by_store_time);
    size_t first = n > KEY_QUERY_MAX ? n - KEY_QUERY_MAX : 0;
    jw_t w;
    api_data_begin(r, &w);
    jw_arr_begin(&w);
    for (size_t i = first; i < n; i++)
        msgview_write(r, &w, &in, &fs->v[i].m, topic);
    jw_arr_end(&w);
    return 0;
}

/* ---- trace ---------------------------------------------------------------- */

/* Does a tag expression ("*", "a || b") accept tag? */
static bool expr_matches(tern_bytes_t expr, tern_bytes_t tag)
{
    const char *p = expr.ptr ? (const char *)expr.ptr : "";
    size_t end = expr.len;
    size_t i = 0;
    bool any = false;
    while (i < end) {
        while (i < end && (p[i] == ' ' || p[i] == '|'))
            i++;
        size_t j = i;
        while (j < end && p[j] != ' ' && p[j] != '|')
            j++;
        if (j > i) {
            any = true;
            if ((j - i == 1 && p[i] == '*') ||
                (tag.ptr && j - i == tag.len && memcmp(p + i, tag.ptr, tag.len) == 0))
                return true;
        }
        i = j;
    }
    return !any; /* an empty expression means every tag */
}

/* The group's trace entry (§6.7.1); NULL when the group neither subscribes
 * online nor has progress on the message's topic. */
static const char *track_of(struct api_req *r, const char *addr, const char *phys_group,
                            const char *phys_topic, const struct msg_record *m, const char **why)
{
    char err[400];
    struct admin_reply rep;
    struct rcmd req;
    *why = "";
    rcmd_init(&req);
    req.code = RC_GET_CONSUMER_CONNECTION_LIST;
    rcmd_add_cstr(&req, "consumerGroup", phys_group);
    const struct json_val *sub = NULL;
    bool online = false, broadcasting = false;
    struct json_val *cc;
    if (admin_request(r->o->admin, addr, &req, &r->arena, &rep, err, sizeof err) == TERN_OK &&
        rep.code == RESP_SUCCESS && json_parse(rep.body, &r->arena, &cc) == TERN_OK) {
        online = true;
        sub = json_get(json_get(cc, "subscriptionTable"), phys_topic);
        tern_bytes_t model = json_get_str(cc, "messageModel");
        broadcasting = model.ptr && tern_bytes_eq_cstr(model, "BROADCASTING");
    }
    rcmd_init(&req);
    req.code = RC_QUERY_CONSUMER_OFFSET;
    rcmd_add_cstr(&req, "consumerGroup", phys_group);
    rcmd_add_cstr(&req, "topic", phys_topic);
    rcmd_add_i64(&req, "queueId", m->queue_id);
    rcmd_add_cstr(&req, "setZeroIfNotFound", "false");
    int64_t committed = -1;
    if (admin_request(r->o->admin, addr, &req, &r->arena, &rep, err, sizeof err) == TERN_OK &&
        rep.code == RESP_SUCCESS) {
        tern_bytes_t v = admin_reply_field(&rep, "offset");
        if (!v.ptr || parse_i64(v, &committed) != TERN_OK)
            committed = -1;
    }
    if (!sub && committed < 0)
        return NULL;
    if (!online)
        return "NOT_ONLINE";
    if (broadcasting) {
        *why = "a broadcasting group keeps its progress in the clients";
        return "UNKNOWN";
    }
    if (committed > m->queue_off) {
        tern_bytes_t tag;
        if (!props_get(m->props, PROP_TAGS, &tag))
            tag = TERN_BYTES_NULL;
        if (sub && !expr_matches(json_get_str(sub, "subString"), tag))
            return "CONSUMED_BUT_FILTERED";
        return "CONSUMED";
    }
    return "NOT_CONSUME_YET";
}

int h_message_trace(struct api_req *r)
{
    const char *topic, *phys, *id;
    struct api_instance in;
    if (msg_params(r, &in, &topic, &phys, &id) < 0)
        return -1;
    struct msg_found f;
    int rc = msgview_find_by_id(r, &in, phys, id, &f);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return api_fail(r, API_BIZ_NO_MESSAGE, "no message %s in topic %s", id, topic);
    sqlite3_stmt *st;
    if (api_prepare(r, "SELECT name, owner FROM group_ids WHERE instance_id=? ORDER BY name", &st) <
        0)
        return -1;
    sqlite3_bind_text(st, 1, in.id, -1, SQLITE_TRANSIENT);
    bool owner_side = api_owner_side(r, &in);
    jw_t w;
    api_data_begin(r, &w);
    jw_arr_begin(&w);
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (!owner_side && !api_group_usable(r, sqlite3_column_int64(st, 1)))
            continue;
        const char *g = arena_strdup(&r->arena, api_col(st, 0));
        const char *pg = g ? api_phys_name(r, &in, g) : NULL;
        if (!pg) {
            sqlite3_finalize(st);
            return api_fail(r, API_ONS_SYSTEM_ERROR, "out of memory");
        }
        const char *why;
        const char *track = track_of(r, f.addr, pg, phys, &f.m, &why);
        if (!track)
            continue;
        jw_obj_begin(&w);
        jw_key(&w, "instanceId");
        jw_cstr(&w, in.id);
        jw_key(&w, "consumerGroup");
        jw_cstr(&w, g);
        jw_key(&w, "trackType");
        jw_cstr(&w, track);
        jw_key(&w, "exceptionDesc");
        jw_cstr(&w, why);
        jw_obj_end(&w);
    }
    sqlite3_finalize(st);
    jw_arr_end(&w);
    return 0;
}
