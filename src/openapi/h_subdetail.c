/* SPDX-License-Identifier: Apache-2.0 */
/* h_subdetail.c: /json/topic/subDetail (§6.4.7) and /json/group/subDetail
 * (§6.5.4) from live broker state: GET_CONSUMER_CONNECTION_LIST (203) of a
 * group, asked of each master until one knows the group online, gives the
 * online clients, the message model and the subscription table the broker
 * keeps from their heartbeats. A topic's subscribers are the Group IDs of
 * the instance the caller may see (a grantee: those it may use) that are
 * online and subscribe to it. */
#include <string.h>

#include "common/error.h"
#include "openapi/access.h"
#include "openapi/admin.h"
#include "openapi/api.h"
#include "protocol/cmd.h"
#include "protocol/codes.h"

static tern_bytes_t message_model(const struct json_val *cc)
{
    tern_bytes_t m = json_get_str(cc, "messageModel");
    return m.ptr ? m : tern_cstr("CLUSTERING");
}

/* The subscription of topic (physical) in a connection's table, or NULL. */
static const struct json_val *subscription_of(const struct json_val *cc, const char *topic)
{
    const struct json_val *t = json_get(cc, "subscriptionTable");
    for (size_t i = 0; t && t->type == JSON_OBJECT && i < t->n; i++) {
        tern_bytes_t st = json_get_str(&t->items[i], "topic");
        if (st.ptr && tern_bytes_eq_cstr(st, topic))
            return &t->items[i];
    }
    return NULL;
}

int h_topic_sub_detail(struct api_req *r)
{
    const char *topic;
    struct api_instance in;
    if (api_str(r, "topic", true, 1, 255, &topic) < 0 || api_existing_topic(r, topic, &in) < 0)
        return -1;
    const char *phys_topic = api_phys_name(r, &in, topic);
    struct admin_broker *b;
    size_t nb;
    if (!phys_topic || api_brokers(r, &in, &b, &nb) < 0)
        return -1;
    sqlite3_stmt *st;
    if (api_prepare(r, "SELECT name, owner FROM group_ids WHERE instance_id=? ORDER BY name", &st) <
        0)
        return -1;
    sqlite3_bind_text(st, 1, in.id, -1, SQLITE_TRANSIENT);
    bool owner_side = api_owner_side(r, &in);
    size_t ng = 0, cap = 16;
    const char **groups = arena_alloc(&r->arena, cap * sizeof *groups);
    bool oom = !groups;
    while (!oom && sqlite3_step(st) == SQLITE_ROW) {
        /* A grantee sees only the Group IDs it may use (as message/trace). */
        if (!owner_side && !api_group_usable(r, sqlite3_column_int64(st, 1)))
            continue;
        if (ng == cap) {
            const char **more = arena_alloc(&r->arena, 2 * cap * sizeof *more);
            if (!(oom = !more)) {
                memcpy(more, groups, ng * sizeof *groups);
                groups = more;
                cap *= 2;
            }
        }
        const char *g = oom ? NULL : arena_strdup(&r->arena, api_col(st, 0));
        if (g)
            groups[ng++] = g;
        else
            oom = true;
    }
    sqlite3_finalize(st);
    if (oom)
        return api_fail(r, API_ONS_SYSTEM_ERROR, "out of memory");
    jw_t w;
    buf_t items;
    buf_init(&items);
    jw_init(&w, &items);
    jw_arr_begin(&w);
    for (size_t i = 0; i < ng; i++) {
        const struct json_val *cc;
        const char *phys = api_phys_name(r, &in, groups[i]);
        if (!phys || api_group_connection(r, b, nb, phys, &cc) < 0) {
            buf_deinit(&items);
            return -1;
        }
        const struct json_val *sub = cc ? subscription_of(cc, phys_topic) : NULL;
        if (!sub)
            continue;
        jw_obj_begin(&w);
        jw_key(&w, "groupId");
        jw_cstr(&w, groups[i]);
        jw_key(&w, "subString");
        jw_str(&w, json_get_str(sub, "subString"));
        jw_key(&w, "messageModel");
        jw_str(&w, message_model(cc));
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    if (buf_failed(&items)) {
        buf_deinit(&items);
        return api_fail(r, API_ONS_SYSTEM_ERROR, "out of memory");
    }
    api_data_begin(r, &w);
    jw_obj_begin(&w);
    jw_key(&w, "topic");
    jw_cstr(&w, topic);
    jw_key(&w, "subscriptionDataList");
    jw_raw(&w, buf_view(&items));
    jw_obj_end(&w);
    buf_deinit(&items);
    return 0;
}

int h_group_sub_detail(struct api_req *r)
{
    const char *g;
    struct api_instance in;
    if (api_str(r, "groupId", true, 1, 255, &g) < 0 || api_existing_group(r, g, &in) < 0)
        return -1;
    struct admin_broker *b;
    size_t nb;
    const struct json_val *cc;
    const char *phys = api_phys_name(r, &in, g);
    if (!phys || api_brokers(r, &in, &b, &nb) < 0 || api_group_connection(r, b, nb, phys, &cc) < 0)
        return -1;
    jw_t w;
    api_data_begin(r, &w);
    jw_obj_begin(&w);
    jw_key(&w, "groupId");
    jw_cstr(&w, g);
    jw_key(&w, "online");
    jw_bool(&w, cc != NULL);
    jw_key(&w, "messageModel");
    jw_str(&w, cc ? message_model(cc) : tern_cstr(""));
    jw_key(&w, "subscriptionDataList");
    jw_arr_begin(&w);
    const struct json_val *t = cc ? json_get(cc, "subscriptionTable") : NULL;
    for (size_t i = 0; t && t->type == JSON_OBJECT && i < t->n; i++) {
        tern_bytes_t topic = json_get_str(&t->items[i], "topic");
        /* The retry topic every clustering consumer subscribes to is not the
         * application's subscription. */
        if (!topic.ptr || tern_bytes_starts(topic, "%RETRY%") || tern_bytes_starts(topic, "%DLQ%"))
            continue;
        jw_obj_begin(&w);
        jw_key(&w, "topic");
        jw_cstr(&w, api_logical_name(&in, (const char *)topic.ptr));
        jw_key(&w, "subString");
        jw_str(&w, json_get_str(&t->items[i], "subString"));
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    jw_obj_end(&w);
    return 0;
}
