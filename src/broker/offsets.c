/* SPDX-License-Identifier: Apache-2.0 */
/* offsets.c: consumer offset table and consumerOffset.json (see offsets.h).
 * File: {"offsetTable":{"topic@group":{"0":5,"1":7}}}; the reader also takes
 * fastjson's unquoted integer keys written by Java brokers. */
#include "broker/offsets.h"

#include <stdlib.h>
#include <string.h>

#include "broker/persist.h"
#include "common/arena.h"
#include "common/error.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "protocol/cmd.h"
#include "protocol/json.h"

struct offset_row {
    int32_t n;    /* slots in off */
    int64_t *off; /* owned: -1 = none */
};

#define KEY_MAX 512

static size_t make_key(char *key, tern_bytes_t topic, tern_bytes_t group)
{
    size_t tl = topic.len < 255 ? topic.len : 255;
    size_t gl = group.len < 255 ? group.len : 255;
    memcpy(key, topic.ptr, tl);
    key[tl] = '@';
    memcpy(key + tl + 1, group.ptr, gl);
    key[tl + 1 + gl] = '\0';
    return tl + 1 + gl;
}

static void set_locked(struct offset_table *o, tern_bytes_t key, int32_t qid, int64_t off)
{
    struct offset_row *r = strmap_get(&o->map, key);
    if (!r) {
        r = xcalloc(1, sizeof *r);
        strmap_put(&o->map, key, r);
    }
    if (qid >= r->n) {
        int32_t n = r->n ? r->n : 4;
        while (n <= qid)
            n *= 2;
        r->off = xrealloc(r->off, (size_t)n * sizeof *r->off);
        for (int32_t i = r->n; i < n; i++)
            r->off[i] = -1;
        r->n = n;
    }
    if (r->off[qid] != off) {
        r->off[qid] = off;
        o->dirty = true;
    }
}

int offsets_init(struct offset_table *o, const char *path)
{
    memset(o, 0, sizeof *o);
    pthread_mutex_init(&o->lock, NULL);
    strmap_init(&o->map);
    o->path = xstrdup(path);
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
        const struct json_val *tab = json_get(root, "offsetTable");
        for (size_t i = 0; tab && tab->type == JSON_OBJECT && i < tab->n; i++) {
            const struct json_val *row = &tab->items[i];
            if (row->type != JSON_OBJECT || tab->keys[i].len >= KEY_MAX)
                continue;
            for (size_t j = 0; j < row->n; j++) {
                int64_t qid, off;
                if (parse_i64(row->keys[j], &qid) != TERN_OK || qid < 0 ||
                    qid >= TERN_MAX_QUEUES_PER_TOPIC)
                    continue;
                if (json_val_i64(&row->items[j], &off) != TERN_OK || off < 0)
                    continue;
                set_locked(o, tab->keys[i], (int32_t)qid, off);
            }
        }
        o->dirty = false;
    }
    arena_deinit(&a);
    buf_deinit(&b);
    return rc;
}

void offsets_deinit(struct offset_table *o)
{
    const char *k;
    void *v;
    for (size_t it = 0; strmap_next(&o->map, &it, &k, &v);) {
        struct offset_row *r = v;
        free(r->off);
        free(r);
    }
    strmap_deinit(&o->map);
    free(o->path);
    o->path = NULL;
    pthread_mutex_destroy(&o->lock);
}

void offsets_commit(struct offset_table *o, tern_bytes_t topic, tern_bytes_t group, int32_t qid,
                    int64_t off)
{
    if (qid < 0 || qid >= TERN_MAX_QUEUES_PER_TOPIC || off < 0)
        return;
    char key[KEY_MAX];
    size_t kl = make_key(key, topic, group);
    pthread_mutex_lock(&o->lock);
    set_locked(o, tern_bytes(key, kl), qid, off);
    pthread_mutex_unlock(&o->lock);
}

int64_t offsets_query(struct offset_table *o, tern_bytes_t topic, tern_bytes_t group, int32_t qid)
{
    char key[KEY_MAX];
    size_t kl = make_key(key, topic, group);
    int64_t v = -1;
    pthread_mutex_lock(&o->lock);
    struct offset_row *r = strmap_get(&o->map, tern_bytes(key, kl));
    if (r && qid >= 0 && qid < r->n)
        v = r->off[qid];
    pthread_mutex_unlock(&o->lock);
    return v;
}

static void delete_matching(struct offset_table *o, tern_bytes_t part, bool is_topic)
{
    pthread_mutex_lock(&o->lock);
    const char *k;
    void *v;
    for (size_t it = 0; strmap_next(&o->map, &it, &k, &v);) {
        const char *at = strchr(k, '@');
        if (!at)
            continue;
        tern_bytes_t piece = is_topic ? tern_bytes(k, (size_t)(at - k)) : tern_cstr(at + 1);
        if (!tern_bytes_eq(piece, part))
            continue;
        struct offset_row *r = strmap_del(&o->map, tern_cstr(k));
        if (r) {
            free(r->off);
            free(r);
        }
        o->dirty = true;
    }
    pthread_mutex_unlock(&o->lock);
}

void offsets_delete_topic(struct offset_table *o, tern_bytes_t topic)
{
    delete_matching(o, topic, true);
}

void offsets_delete_group(struct offset_table *o, tern_bytes_t group)
{
    delete_matching(o, group, false);
}

void offsets_each_topic_of_group(struct offset_table *o, tern_bytes_t group,
                                 void (*fn)(void *arg, const char *topic), void *arg)
{
    pthread_mutex_lock(&o->lock);
    const char *k;
    void *v;
    char topic[KEY_MAX];
    for (size_t it = 0; strmap_next(&o->map, &it, &k, &v);) {
        const char *at = strrchr(k, '@');
        if (!at || !tern_bytes_eq(tern_cstr(at + 1), group))
            continue;
        size_t tl = (size_t)(at - k);
        memcpy(topic, k, tl);
        topic[tl] = '\0';
        fn(arg, topic);
    }
    pthread_mutex_unlock(&o->lock);
}

int offsets_persist(struct offset_table *o, bool force)
{
    buf_t b;
    buf_init(&b);
    pthread_mutex_lock(&o->lock);
    if (!o->dirty && !force) {
        pthread_mutex_unlock(&o->lock);
        return TERN_OK;
    }
    buf_append_cstr(&b, "{\"offsetTable\":{");
    const char *k;
    void *v;
    bool first = true;
    for (size_t it = 0; strmap_next(&o->map, &it, &k, &v);) {
        struct offset_row *r = v;
        if (!first)
            buf_append_u8(&b, ',');
        first = false;
        json_write_string(&b, tern_cstr(k));
        buf_append_cstr(&b, ":{");
        bool f2 = true;
        for (int32_t q = 0; q < r->n; q++) {
            if (r->off[q] < 0)
                continue;
            buf_printf(&b, "%s\"%d\":%lld", f2 ? "" : ",", q, (long long)r->off[q]);
            f2 = false;
        }
        buf_append_u8(&b, '}');
    }
    buf_append_cstr(&b, "}}");
    o->dirty = false;
    pthread_mutex_unlock(&o->lock);
    int rc = persist_write(o->path, buf_view(&b));
    if (rc != TERN_OK) {
        log_error("broker", "persist %s failed: %s", o->path, tern_strerror(rc));
        pthread_mutex_lock(&o->lock);
        o->dirty = true;
        pthread_mutex_unlock(&o->lock);
    }
    buf_deinit(&b);
    return rc;
}
