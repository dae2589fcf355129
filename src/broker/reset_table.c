/* SPDX-License-Identifier: Apache-2.0 */
/* reset_table.c: pending server-side resets (see reset_table.h). Keys are
 * group, NUL, topic, NUL, queue id as 4 raw bytes; values heap int64s. A
 * relaxed counter lets pulls skip the lock when nothing is pending. */
#include "broker/reset_table.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/strmap.h"
#include "common/xalloc.h"

#define KEY_MAX 530

struct reset_table {
    pthread_mutex_t lock;
    strmap_t map;      /* guarded by lock: key -> int64_t* (owned) */
    atomic_long count; /* entries in map (hint for the pull path) */
};

static size_t make_key(uint8_t *key, tern_bytes_t group, tern_bytes_t topic, int32_t qid)
{
    size_t gl = group.len > 255 ? 255 : group.len;
    size_t tl = topic.len > 255 ? 255 : topic.len;
    memcpy(key, group.ptr, gl);
    key[gl] = 0;
    memcpy(key + gl + 1, topic.ptr, tl);
    key[gl + 1 + tl] = 0;
    memcpy(key + gl + tl + 2, &qid, 4);
    return gl + tl + 6;
}

struct reset_table *reset_table_new(void)
{
    struct reset_table *t = xcalloc(1, sizeof *t);
    pthread_mutex_init(&t->lock, NULL);
    strmap_init(&t->map);
    return t;
}

void reset_table_free(struct reset_table *t)
{
    if (!t)
        return;
    const char *k;
    void *v;
    for (size_t it = 0; strmap_next(&t->map, &it, &k, &v);)
        free(v);
    strmap_deinit(&t->map);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

void reset_table_put(struct reset_table *t, tern_bytes_t group, tern_bytes_t topic, int32_t qid,
                     int64_t target)
{
    uint8_t key[KEY_MAX];
    size_t kl = make_key(key, group, topic, qid);
    int64_t *v = xmalloc(sizeof *v);
    *v = target;
    pthread_mutex_lock(&t->lock);
    int64_t *old = strmap_put(&t->map, tern_bytes(key, kl), v);
    if (!old)
        atomic_fetch_add_explicit(&t->count, 1, memory_order_relaxed);
    pthread_mutex_unlock(&t->lock);
    free(old);
}

bool reset_table_take(struct reset_table *t, tern_bytes_t group, tern_bytes_t topic, int32_t qid,
                      int64_t *target)
{
    if (!t || atomic_load_explicit(&t->count, memory_order_relaxed) == 0)
        return false;
    uint8_t key[KEY_MAX];
    size_t kl = make_key(key, group, topic, qid);
    pthread_mutex_lock(&t->lock);
    int64_t *v = strmap_del(&t->map, tern_bytes(key, kl));
    if (v)
        atomic_fetch_sub_explicit(&t->count, 1, memory_order_relaxed);
    pthread_mutex_unlock(&t->lock);
    if (!v)
        return false;
    *target = *v;
    free(v);
    return true;
}

bool reset_table_pending(struct reset_table *t, tern_bytes_t group, tern_bytes_t topic, int32_t qid)
{
    if (!t || atomic_load_explicit(&t->count, memory_order_relaxed) == 0)
        return false;
    uint8_t key[KEY_MAX];
    size_t kl = make_key(key, group, topic, qid);
    pthread_mutex_lock(&t->lock);
    bool found = strmap_get(&t->map, tern_bytes(key, kl)) != NULL;
    pthread_mutex_unlock(&t->lock);
    return found;
}
