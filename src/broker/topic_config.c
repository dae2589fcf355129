/* SPDX-License-Identifier: Apache-2.0 */
/* topic_config.c: topic table, validation and topics.json (see
 * topic_config.h). The file format is the Java TopicConfigSerializeWrapper:
 * {"dataVersion":{...},"topicConfigTable":{"T":{TopicConfig}}}. */
#include "broker/topic_config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "broker/persist.h"
#include "common/arena.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "protocol/json.h"

bool topic_name_valid(tern_bytes_t name, size_t max_len)
{
    if (name.len == 0 || name.len > max_len)
        return false;
    for (size_t i = 0; i < name.len; i++) {
        uint8_t c = name.ptr[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '%' || c == '|' || c == '_' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

bool topic_is_send_forbidden(tern_bytes_t name)
{
    static const char *const FORBIDDEN[] = {"SCHEDULE_TOPIC_XXXX",
                                            "RMQ_SYS_TRANS_HALF_TOPIC",
                                            "RMQ_SYS_TRANS_OP_HALF_TOPIC",
                                            "TRANS_CHECK_MAX_TIME_TOPIC",
                                            "SELF_TEST_TOPIC",
                                            "OFFSET_MOVED_EVENT",
                                            NULL};
    for (int i = 0; FORBIDDEN[i]; i++) {
        if (tern_bytes_eq_cstr(name, FORBIDDEN[i]))
            return true;
    }
    return tern_bytes_starts(name, "rmq_sys_");
}

const char *topic_msg_type_name(int type)
{
    static const char *const NAMES[] = {"UNSPECIFIED", "NORMAL", "FIFO", "DELAY", "TRANSACTION"};
    return type >= 0 && type <= TOPIC_TYPE_TRANSACTION ? NAMES[type] : "UNSPECIFIED";
}

bool topic_msg_type_parse(tern_bytes_t v, int *type, bool *global_order)
{
    static const int BY_ORDER_TYPE[] = {TOPIC_TYPE_NORMAL,      TOPIC_TYPE_FIFO,
                                        TOPIC_TYPE_FIFO,        -1,
                                        TOPIC_TYPE_TRANSACTION, TOPIC_TYPE_DELAY};
    *global_order = false;
    if (v.len == 1 && v.ptr[0] >= '0' && v.ptr[0] <= '5' && BY_ORDER_TYPE[v.ptr[0] - '0'] >= 0) {
        *type = BY_ORDER_TYPE[v.ptr[0] - '0'];
        *global_order = v.ptr[0] == '2';
        return true;
    }
    for (int t = TOPIC_TYPE_UNSET; t <= TOPIC_TYPE_TRANSACTION; t++) {
        const char *n = topic_msg_type_name(t);
        if (v.len == strlen(n) && strncasecmp((const char *)v.ptr, n, v.len) == 0) {
            *type = t;
            return true;
        }
    }
    return false;
}

void topic_config_defaults(struct topic_config *tc, tern_bytes_t name)
{
    memset(tc, 0, sizeof *tc);
    size_t n = name.len < TOPIC_NAME_MAX ? name.len : TOPIC_NAME_MAX;
    memcpy(tc->name, name.ptr, n);
    tc->name[n] = '\0';
    tc->read_queue_nums = 16;
    tc->write_queue_nums = 16;
    tc->perm = PERM_READ | PERM_WRITE;
}

static void bump_version(struct topic_table *t)
{
    t->dv_counter++;
    t->dv_ts = clock_wall_ms();
    t->dirty = true;
}

static bool same_config(const struct topic_config *a, const struct topic_config *b)
{
    return a->read_queue_nums == b->read_queue_nums && a->write_queue_nums == b->write_queue_nums &&
           a->perm == b->perm && a->topic_sys_flag == b->topic_sys_flag && a->order == b->order &&
           a->multi_tag == b->multi_tag && a->msg_type == b->msg_type;
}

/* Inserts or replaces; caller holds the write lock. Returns true if changed. */
static bool put_locked(struct topic_table *t, const struct topic_config *tc)
{
    tern_bytes_t key = tern_cstr(tc->name);
    struct topic_config *cur = strmap_get(&t->map, key);
    if (cur) {
        if (same_config(cur, tc))
            return false;
        *cur = *tc;
        return true;
    }
    cur = xmalloc(sizeof *cur);
    *cur = *tc;
    strmap_put(&t->map, key, cur);
    return true;
}

static void load_one(struct topic_table *t, tern_bytes_t name, const struct json_val *v)
{
    if (!topic_name_valid(name, TOPIC_NAME_MAX) || !v || v->type != JSON_OBJECT)
        return;
    struct topic_config tc;
    topic_config_defaults(&tc, name);
    int64_t x;
    if (json_get_i64(v, "readQueueNums", &x) == TERN_OK && x >= 0 && x <= 65535)
        tc.read_queue_nums = (int)x;
    if (json_get_i64(v, "writeQueueNums", &x) == TERN_OK && x >= 0 && x <= 65535)
        tc.write_queue_nums = (int)x;
    if (json_get_i64(v, "perm", &x) == TERN_OK && x >= 0 && x <= 15)
        tc.perm = (int)x;
    if (json_get_i64(v, "topicSysFlag", &x) == TERN_OK)
        tc.topic_sys_flag = (int)x;
    tc.order = json_get_bool(v, "order", false);
    tern_bytes_t ft = json_get_str(v, "topicFilterType");
    tc.multi_tag = tern_bytes_eq_cstr(ft, "MULTI_TAG");
    bool global;
    const struct json_val *attrs = json_get(v, "attributes");
    if (attrs && !topic_msg_type_parse(json_get_str(attrs, "message.type"), &tc.msg_type, &global))
        tc.msg_type = TOPIC_TYPE_UNSET;
    put_locked(t, &tc);
}

int topics_init(struct topic_table *t, const char *path)
{
    memset(t, 0, sizeof *t);
    pthread_rwlock_init(&t->lock, NULL);
    strmap_init(&t->map);
    t->path = xstrdup(path);
    t->dv_ts = clock_wall_ms();
    buf_t b;
    buf_init(&b);
    int rc = persist_read(path, &b);
    if (rc == TERN_ENOT_FOUND) {
        buf_deinit(&b);
        return TERN_OK;
    }
    if (rc != TERN_OK) {
        buf_deinit(&b);
        return rc;
    }
    arena_t a;
    arena_init(&a);
    struct json_val *root = NULL;
    rc = json_parse(buf_view(&b), &a, &root);
    if (rc != TERN_OK || root->type != JSON_OBJECT) {
        log_error("broker", "cannot parse %s: %s", path, tern_strerror(rc));
        arena_deinit(&a);
        buf_deinit(&b);
        return TERN_ECORRUPT;
    }
    const struct json_val *dv = json_get(root, "dataVersion");
    int64_t x;
    if (json_get_i64(dv, "counter", &x) == TERN_OK)
        t->dv_counter = x;
    const struct json_val *tab = json_get(root, "topicConfigTable");
    if (tab && tab->type == JSON_OBJECT) {
        for (size_t i = 0; i < tab->n; i++)
            load_one(t, tab->keys[i], &tab->items[i]);
    }
    arena_deinit(&a);
    buf_deinit(&b);
    return TERN_OK;
}

void topics_deinit(struct topic_table *t)
{
    const char *k;
    void *v;
    for (size_t it = 0; strmap_next(&t->map, &it, &k, &v);)
        free(v);
    strmap_deinit(&t->map);
    free(t->path);
    t->path = NULL;
    pthread_rwlock_destroy(&t->lock);
}

bool topics_get(struct topic_table *t, tern_bytes_t name, struct topic_config *out)
{
    pthread_rwlock_rdlock(&t->lock);
    struct topic_config *tc = strmap_get(&t->map, name);
    if (tc)
        *out = *tc;
    pthread_rwlock_unlock(&t->lock);
    return tc != NULL;
}

bool topics_put(struct topic_table *t, const struct topic_config *tc)
{
    pthread_rwlock_wrlock(&t->lock);
    bool changed = put_locked(t, tc);
    if (changed)
        bump_version(t);
    pthread_rwlock_unlock(&t->lock);
    return changed;
}

bool topics_create_if_absent(struct topic_table *t, const struct topic_config *tc,
                             struct topic_config *out)
{
    pthread_rwlock_wrlock(&t->lock);
    struct topic_config *cur = strmap_get(&t->map, tern_cstr(tc->name));
    bool created = false;
    if (cur) {
        *out = *cur;
    } else {
        put_locked(t, tc);
        bump_version(t);
        *out = *tc;
        created = true;
    }
    pthread_rwlock_unlock(&t->lock);
    return created;
}

bool topics_delete(struct topic_table *t, tern_bytes_t name)
{
    pthread_rwlock_wrlock(&t->lock);
    struct topic_config *cur = strmap_del(&t->map, name);
    if (cur) {
        free(cur);
        bump_version(t);
    }
    pthread_rwlock_unlock(&t->lock);
    return cur != NULL;
}

size_t topics_count(struct topic_table *t)
{
    pthread_rwlock_rdlock(&t->lock);
    size_t n = strmap_count(&t->map);
    pthread_rwlock_unlock(&t->lock);
    return n;
}

void topic_config_json(const struct topic_config *tc, buf_t *out)
{
    jw_t w;
    jw_init(&w, out);
    jw_obj_begin(&w);
    jw_key(&w, "attributes");
    jw_obj_begin(&w);
    if (tc->msg_type != TOPIC_TYPE_UNSET) {
        jw_key(&w, "message.type");
        jw_cstr(&w, topic_msg_type_name(tc->msg_type));
    }
    jw_obj_end(&w);
    jw_key(&w, "order");
    jw_bool(&w, tc->order);
    jw_key(&w, "perm");
    jw_i64(&w, tc->perm);
    jw_key(&w, "readQueueNums");
    jw_i64(&w, tc->read_queue_nums);
    jw_key(&w, "topicFilterType");
    jw_cstr(&w, tc->multi_tag ? "MULTI_TAG" : "SINGLE_TAG");
    jw_key(&w, "topicName");
    jw_cstr(&w, tc->name);
    jw_key(&w, "topicSysFlag");
    jw_i64(&w, tc->topic_sys_flag);
    jw_key(&w, "writeQueueNums");
    jw_i64(&w, tc->write_queue_nums);
    jw_obj_end(&w);
}

/* Caller holds at least the read lock. */
static void encode_locked(struct topic_table *t, buf_t *out, bool full)
{
    buf_printf(out, "{\"dataVersion\":{\"counter\":%lld,\"stateVersion\":0,\"timestamp\":%lld},",
               (long long)t->dv_counter, (long long)t->dv_ts);
    if (full)
        buf_printf(out,
                   "\"mappingDataVersion\":{\"counter\":0,\"stateVersion\":0,"
                   "\"timestamp\":%lld},",
                   (long long)t->dv_ts);
    buf_append_cstr(out, "\"topicConfigTable\":{");
    const char *k;
    void *v;
    bool first = true;
    for (size_t it = 0; strmap_next(&t->map, &it, &k, &v);) {
        if (!first)
            buf_append_u8(out, ',');
        first = false;
        json_write_string(out, tern_cstr(k));
        buf_append_u8(out, ':');
        topic_config_json(v, out);
    }
    buf_append_u8(out, '}');
    if (full)
        buf_append_cstr(out, ",\"topicQueueMappingDetailMap\":{},\"topicQueueMappingInfoMap\":{}");
    buf_append_u8(out, '}');
}

void topics_encode_wrapper(struct topic_table *t, buf_t *out)
{
    pthread_rwlock_rdlock(&t->lock);
    encode_locked(t, out, true);
    pthread_rwlock_unlock(&t->lock);
}

int topics_persist(struct topic_table *t, bool force)
{
    buf_t b;
    buf_init(&b);
    pthread_rwlock_wrlock(&t->lock);
    if (!t->dirty && !force) {
        pthread_rwlock_unlock(&t->lock);
        return TERN_OK;
    }
    encode_locked(t, &b, false);
    t->dirty = false;
    pthread_rwlock_unlock(&t->lock);
    int rc = persist_write(t->path, buf_view(&b));
    if (rc != TERN_OK) {
        log_error("broker", "persist %s failed: %s", t->path, tern_strerror(rc));
        pthread_rwlock_wrlock(&t->lock);
        t->dirty = true;
        pthread_rwlock_unlock(&t->lock);
    }
    buf_deinit(&b);
    return rc;
}

struct topic_config *topics_snapshot(struct topic_table *t, size_t *n, int64_t *dv_counter,
                                     int64_t *dv_ts)
{
    pthread_rwlock_rdlock(&t->lock);
    size_t cnt = strmap_count(&t->map);
    struct topic_config *arr = xmalloc((cnt ? cnt : 1) * sizeof *arr);
    size_t i = 0;
    const char *k;
    void *v;
    for (size_t it = 0; strmap_next(&t->map, &it, &k, &v) && i < cnt;)
        arr[i++] = *(struct topic_config *)v;
    *n = i;
    *dv_counter = t->dv_counter;
    *dv_ts = t->dv_ts;
    pthread_rwlock_unlock(&t->lock);
    return arr;
}
