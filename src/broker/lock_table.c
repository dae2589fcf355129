/* SPDX-License-Identifier: Apache-2.0 */
/* lock_table.c: ordered-consumer queue locks (see lock_table.h). Keys are
 * the group, a NUL, the topic, a NUL and the queue id as 4 raw bytes. */
#include "broker/lock_table.h"

#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

#define KEY_MAX 530
#define ID_MAX  255

struct mq_lock {
    char client_id[ID_MAX + 1];
    int64_t last_ms;
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

void lock_table_init(struct lock_table *t)
{
    pthread_mutex_init(&t->lock, NULL);
    strmap_init(&t->map);
    t->lease_ms = LOCK_MAX_LIVE_MS;
    t->next_sweep_ms = 0;
}

void lock_table_set_lease(struct lock_table *t, int64_t lease_ms)
{
    t->lease_ms = lease_ms > 0 ? lease_ms : LOCK_MAX_LIVE_MS;
}

void lock_table_deinit(struct lock_table *t)
{
    const char *k;
    void *v;
    for (size_t it = 0; strmap_next(&t->map, &it, &k, &v);)
        free(v);
    strmap_deinit(&t->map);
    pthread_mutex_destroy(&t->lock);
}

static bool expired(const struct lock_table *t, const struct mq_lock *l, int64_t now_ms)
{
    return now_ms - l->last_ms > t->lease_ms;
}

/* Length of a key as built by make_key (its parts hold no NUL). */
static size_t key_len(const char *k)
{
    size_t gl = strlen(k);
    size_t tl = strlen(k + gl + 1);
    return gl + tl + 6;
}

/* Drops the current entry of an iteration when it has expired (lock held). */
static bool drop_if_expired(struct lock_table *t, const char *k, void *v, int64_t now_ms)
{
    if (!expired(t, v, now_ms))
        return false;
    free(strmap_del(&t->map, tern_bytes(k, key_len(k))));
    return true;
}

static void sweep_expired(struct lock_table *t, int64_t now_ms)
{
    const char *k;
    void *v;
    for (size_t it = 0; strmap_next(&t->map, &it, &k, &v);)
        drop_if_expired(t, k, v, now_ms);
    t->next_sweep_ms = now_ms + LOCK_SWEEP_MS;
}

static bool same_client(const struct mq_lock *l, tern_bytes_t id)
{
    return tern_bytes_eq_cstr(id, l->client_id);
}

bool lock_table_try(struct lock_table *t, tern_bytes_t group, tern_bytes_t topic, int32_t qid,
                    tern_bytes_t client_id, int64_t now_ms)
{
    if (client_id.len == 0 || client_id.len > ID_MAX)
        return false;
    uint8_t key[KEY_MAX];
    size_t kl = make_key(key, group, topic, qid);
    bool ok = false;
    pthread_mutex_lock(&t->lock);
    if (now_ms >= t->next_sweep_ms)
        sweep_expired(t, now_ms);
    struct mq_lock *l = strmap_get(&t->map, tern_bytes(key, kl));
    if (!l) {
        l = xcalloc(1, sizeof *l);
        strmap_put(&t->map, tern_bytes(key, kl), l);
        ok = true;
    } else if (same_client(l, client_id) || expired(t, l, now_ms)) {
        ok = true;
    }
    if (ok) {
        memcpy(l->client_id, client_id.ptr, client_id.len);
        l->client_id[client_id.len] = '\0';
        l->last_ms = now_ms;
    }
    pthread_mutex_unlock(&t->lock);
    return ok;
}

void lock_table_unlock(struct lock_table *t, tern_bytes_t group, tern_bytes_t topic, int32_t qid,
                       tern_bytes_t client_id)
{
    uint8_t key[KEY_MAX];
    size_t kl = make_key(key, group, topic, qid);
    pthread_mutex_lock(&t->lock);
    struct mq_lock *l = strmap_get(&t->map, tern_bytes(key, kl));
    if (l && same_client(l, client_id))
        free(strmap_del(&t->map, tern_bytes(key, kl)));
    pthread_mutex_unlock(&t->lock);
}

bool lock_table_group_locked(struct lock_table *t, tern_bytes_t group, int64_t now_ms)
{
    bool found = false;
    pthread_mutex_lock(&t->lock);
    if (strmap_count(&t->map) > 0) {
        const char *k;
        void *v;
        for (size_t it = 0; !found && strmap_next(&t->map, &it, &k, &v);) {
            if (drop_if_expired(t, k, v, now_ms))
                continue;
            found = tern_bytes_eq_cstr(group, k);
        }
    }
    pthread_mutex_unlock(&t->lock);
    return found;
}
