/* SPDX-License-Identifier: Apache-2.0 */
/* group_config.c: subscription group table and subscriptionGroup.json (see
 * group_config.h). Boot-time groups mirror the Java broker's built-ins. */
#include "broker/group_config.h"

#include <stdlib.h>
#include <string.h>

#include "broker/persist.h"
#include "broker/topic_config.h"
#include "common/arena.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "protocol/json.h"

bool group_name_valid(tern_bytes_t name)
{
    return topic_name_valid(name, TERN_MAX_GROUP_BYTES);
}

void group_config_defaults(struct group_config *gc, tern_bytes_t name)
{
    memset(gc, 0, sizeof *gc);
    size_t n = name.len < GROUP_NAME_MAX ? name.len : GROUP_NAME_MAX;
    memcpy(gc->name, name.ptr, n);
    gc->consume_enable = true;
    gc->consume_from_min_enable = true;
    gc->consume_broadcast_enable = true;
    gc->retry_queue_nums = 1;
    gc->retry_max_times = 16;
    gc->which_broker_when_consume_slowly = 1;
    gc->notify_consumer_ids_changed_enable = true;
    gc->consume_timeout_minute = 15;
}

static void put_locked(struct group_table *g, const struct group_config *gc)
{
    struct group_config *cur = strmap_get(&g->map, tern_cstr(gc->name));
    if (!cur) {
        cur = xmalloc(sizeof *cur);
        strmap_put(&g->map, tern_cstr(gc->name), cur);
    }
    *cur = *gc;
    g->dv_counter++;
    g->dv_ts = clock_wall_ms();
    g->dirty = true;
}

static int decode_obj(const struct json_val *v, struct group_config *gc)
{
    tern_bytes_t name = json_get_str(v, "groupName");
    if (!name.ptr || !group_name_valid(name))
        return TERN_EPROTOCOL;
    group_config_defaults(gc, name);
    int64_t x;
    gc->consume_enable = json_get_bool(v, "consumeEnable", true);
    gc->consume_from_min_enable = json_get_bool(v, "consumeFromMinEnable", true);
    gc->consume_broadcast_enable = json_get_bool(v, "consumeBroadcastEnable", true);
    gc->consume_message_orderly = json_get_bool(v, "consumeMessageOrderly", false);
    gc->notify_consumer_ids_changed_enable =
        json_get_bool(v, "notifyConsumerIdsChangedEnable", true);
    if (json_get_i64(v, "retryQueueNums", &x) == TERN_OK && x >= 0 && x <= 1024)
        gc->retry_queue_nums = (int)x;
    if (json_get_i64(v, "retryMaxTimes", &x) == TERN_OK && x >= -1 && x <= 1000000)
        gc->retry_max_times = (int)x;
    if (json_get_i64(v, "brokerId", &x) == TERN_OK)
        gc->broker_id = x;
    if (json_get_i64(v, "whichBrokerWhenConsumeSlowly", &x) == TERN_OK)
        gc->which_broker_when_consume_slowly = x;
    if (json_get_i64(v, "groupSysFlag", &x) == TERN_OK)
        gc->group_sys_flag = (int)x;
    if (json_get_i64(v, "consumeTimeoutMinute", &x) == TERN_OK && x >= 0 && x <= 1000000)
        gc->consume_timeout_minute = (int)x;
    return TERN_OK;
}

int group_config_decode(tern_bytes_t body, struct group_config *gc)
{
    arena_t a;
    arena_init(&a);
    struct json_val *root = NULL;
    int rc = json_parse(body, &a, &root);
    if (rc == TERN_OK)
        rc = root->type == JSON_OBJECT ? decode_obj(root, gc) : TERN_EPROTOCOL;
    arena_deinit(&a);
    return rc;
}

int groups_init(struct group_table *g, const char *path)
{
    memset(g, 0, sizeof *g);
    pthread_mutex_init(&g->lock, NULL);
    strmap_init(&g->map);
    g->path = xstrdup(path);
    g->dv_ts = clock_wall_ms();
    static const char *const BUILTIN[] = {
        "TOOLS_CONSUMER",  "FILTERSRV_CONSUMER",    "SELF_TEST_C_GROUP", "CID_ONS-HTTP-PROXY",
        "CID_ONSAPI_PULL", "CID_ONSAPI_PERMISSION", "CID_ONSAPI_OWNER",  NULL};
    struct group_config gc;
    for (int i = 0; BUILTIN[i]; i++) {
        group_config_defaults(&gc, tern_cstr(BUILTIN[i]));
        put_locked(g, &gc);
    }
    buf_t b;
    buf_init(&b);
    int rc = persist_read(path, &b);
    if (rc != TERN_OK) {
        buf_deinit(&b);
        return rc == TERN_ENOT_FOUND ? TERN_OK : rc;
    }
    arena_t a;
    arena_init(&a);
    struct json_val *root = NULL;
    rc = json_parse(buf_view(&b), &a, &root);
    if (rc != TERN_OK || root->type != JSON_OBJECT) {
        log_error("broker", "cannot parse %s", path);
        rc = TERN_ECORRUPT;
    } else {
        const struct json_val *tab = json_get(root, "subscriptionGroupTable");
        for (size_t i = 0; tab && tab->type == JSON_OBJECT && i < tab->n; i++) {
            if (decode_obj(&tab->items[i], &gc) == TERN_OK)
                put_locked(g, &gc);
        }
        int64_t x;
        if (json_get_i64(json_get(root, "dataVersion"), "counter", &x) == TERN_OK)
            g->dv_counter = x;
        g->dirty = false;
    }
    arena_deinit(&a);
    buf_deinit(&b);
    return rc;
}

void groups_deinit(struct group_table *g)
{
    const char *k;
    void *v;
    for (size_t it = 0; strmap_next(&g->map, &it, &k, &v);)
        free(v);
    strmap_deinit(&g->map);
    free(g->path);
    g->path = NULL;
    pthread_mutex_destroy(&g->lock);
}

bool groups_get(struct group_table *g, tern_bytes_t name, struct group_config *out)
{
    pthread_mutex_lock(&g->lock);
    struct group_config *gc = strmap_get(&g->map, name);
    if (gc)
        *out = *gc;
    pthread_mutex_unlock(&g->lock);
    return gc != NULL;
}

bool groups_ensure(struct group_table *g, tern_bytes_t name, bool create, struct group_config *out)
{
    pthread_mutex_lock(&g->lock);
    struct group_config *gc = strmap_get(&g->map, name);
    if (gc) {
        *out = *gc;
    } else if ((create || tern_bytes_starts(name, "CID_RMQ_SYS_")) && group_name_valid(name)) {
        group_config_defaults(out, name);
        put_locked(g, out);
        gc = out;
    }
    pthread_mutex_unlock(&g->lock);
    return gc != NULL;
}

void groups_put(struct group_table *g, const struct group_config *gc)
{
    pthread_mutex_lock(&g->lock);
    put_locked(g, gc);
    pthread_mutex_unlock(&g->lock);
}

bool groups_delete(struct group_table *g, tern_bytes_t name)
{
    pthread_mutex_lock(&g->lock);
    struct group_config *gc = strmap_del(&g->map, name);
    if (gc) {
        free(gc);
        g->dv_counter++;
        g->dv_ts = clock_wall_ms();
        g->dirty = true;
    }
    pthread_mutex_unlock(&g->lock);
    return gc != NULL;
}

void group_config_json(const struct group_config *gc, buf_t *out)
{
    jw_t w;
    jw_init(&w, out);
    jw_obj_begin(&w);
    jw_key(&w, "attributes");
    jw_raw(&w, tern_cstr("{}"));
    jw_key(&w, "brokerId");
    jw_i64(&w, gc->broker_id);
    jw_key(&w, "consumeBroadcastEnable");
    jw_bool(&w, gc->consume_broadcast_enable);
    jw_key(&w, "consumeEnable");
    jw_bool(&w, gc->consume_enable);
    jw_key(&w, "consumeFromMinEnable");
    jw_bool(&w, gc->consume_from_min_enable);
    jw_key(&w, "consumeMessageOrderly");
    jw_bool(&w, gc->consume_message_orderly);
    jw_key(&w, "consumeTimeoutMinute");
    jw_i64(&w, gc->consume_timeout_minute);
    jw_key(&w, "groupName");
    jw_cstr(&w, gc->name);
    jw_key(&w, "groupRetryPolicy");
    jw_raw(&w, tern_cstr("{\"type\":\"CUSTOMIZED\"}"));
    jw_key(&w, "groupSysFlag");
    jw_i64(&w, gc->group_sys_flag);
    jw_key(&w, "notifyConsumerIdsChangedEnable");
    jw_bool(&w, gc->notify_consumer_ids_changed_enable);
    jw_key(&w, "retryMaxTimes");
    jw_i64(&w, gc->retry_max_times);
    jw_key(&w, "retryQueueNums");
    jw_i64(&w, gc->retry_queue_nums);
    jw_key(&w, "whichBrokerWhenConsumeSlowly");
    jw_i64(&w, gc->which_broker_when_consume_slowly);
    jw_obj_end(&w);
}

static void encode_locked(struct group_table *g, buf_t *out)
{
    buf_printf(out, "{\"dataVersion\":{\"counter\":%lld,\"stateVersion\":0,\"timestamp\":%lld},",
               (long long)g->dv_counter, (long long)g->dv_ts);
    buf_append_cstr(out, "\"forbiddenTable\":{},\"subscriptionGroupTable\":{");
    const char *k;
    void *v;
    bool first = true;
    for (size_t it = 0; strmap_next(&g->map, &it, &k, &v);) {
        if (!first)
            buf_append_u8(out, ',');
        first = false;
        json_write_string(out, tern_cstr(k));
        buf_append_u8(out, ':');
        group_config_json(v, out);
    }
    buf_append_cstr(out, "}}");
}

void groups_encode_all(struct group_table *g, buf_t *out)
{
    pthread_mutex_lock(&g->lock);
    encode_locked(g, out);
    pthread_mutex_unlock(&g->lock);
}

int groups_persist(struct group_table *g, bool force)
{
    buf_t b;
    buf_init(&b);
    pthread_mutex_lock(&g->lock);
    if (!g->dirty && !force) {
        pthread_mutex_unlock(&g->lock);
        return TERN_OK;
    }
    encode_locked(g, &b);
    g->dirty = false;
    pthread_mutex_unlock(&g->lock);
    int rc = persist_write(g->path, buf_view(&b));
    if (rc != TERN_OK) {
        log_error("broker", "persist %s failed: %s", g->path, tern_strerror(rc));
        pthread_mutex_lock(&g->lock);
        g->dirty = true;
        pthread_mutex_unlock(&g->lock);
    }
    buf_deinit(&b);
    return rc;
}
