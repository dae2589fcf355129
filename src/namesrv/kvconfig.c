/* SPDX-License-Identifier: Apache-2.0 */
/* kvconfig.c: namespaced key/value store (see kvconfig.h). A namespace whose
 * last key is deleted is dropped, so "empty" and "absent" look the same. */
#include "namesrv/kvconfig.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/strmap.h"
#include "common/xalloc.h"
#include "protocol/route.h"

struct kvconfig {
    pthread_rwlock_t lock; /* guards spaces and every inner map */
    strmap_t spaces;       /* namespace -> strmap_t* (owned) of key -> char* (owned) */
};

static void space_free(strmap_t *m)
{
    const char *k;
    void *v;
    for (size_t it = 0; strmap_next(m, &it, &k, &v);)
        free(v);
    strmap_deinit(m);
    free(m);
}

int kvconfig_new(struct kvconfig **out)
{
    struct kvconfig *kv = xcalloc(1, sizeof *kv);
    if (pthread_rwlock_init(&kv->lock, NULL) != 0) {
        free(kv);
        return TERN_ENOMEM;
    }
    strmap_init(&kv->spaces);
    *out = kv;
    return TERN_OK;
}

void kvconfig_free(struct kvconfig *kv)
{
    if (!kv)
        return;
    const char *k;
    void *v;
    for (size_t it = 0; strmap_next(&kv->spaces, &it, &k, &v);)
        space_free(v);
    strmap_deinit(&kv->spaces);
    pthread_rwlock_destroy(&kv->lock);
    free(kv);
}

void kvconfig_put(struct kvconfig *kv, tern_bytes_t ns, tern_bytes_t key, tern_bytes_t val)
{
    char *copy = xstrndup(val.ptr ? (const char *)val.ptr : "", val.len);
    pthread_rwlock_wrlock(&kv->lock);
    strmap_t *m = strmap_get(&kv->spaces, ns);
    if (!m) {
        m = xmalloc(sizeof *m);
        strmap_init(m);
        strmap_put(&kv->spaces, ns, m);
    }
    free(strmap_put(m, key, copy));
    pthread_rwlock_unlock(&kv->lock);
}

int kvconfig_get(struct kvconfig *kv, tern_bytes_t ns, tern_bytes_t key, buf_t *out)
{
    pthread_rwlock_rdlock(&kv->lock);
    const strmap_t *m = strmap_get(&kv->spaces, ns);
    const char *v = m ? strmap_get(m, key) : NULL;
    if (v)
        buf_append_cstr(out, v);
    pthread_rwlock_unlock(&kv->lock);
    return v ? TERN_OK : TERN_ENOT_FOUND;
}

void kvconfig_delete(struct kvconfig *kv, tern_bytes_t ns, tern_bytes_t key)
{
    pthread_rwlock_wrlock(&kv->lock);
    strmap_t *m = strmap_get(&kv->spaces, ns);
    if (m) {
        free(strmap_del(m, key));
        if (strmap_count(m) == 0) {
            strmap_del(&kv->spaces, ns);
            space_free(m);
        }
    }
    pthread_rwlock_unlock(&kv->lock);
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int kvconfig_encode_namespace(struct kvconfig *kv, tern_bytes_t ns, buf_t *out)
{
    int rc = TERN_ENOT_FOUND;
    pthread_rwlock_rdlock(&kv->lock);
    const strmap_t *m = strmap_get(&kv->spaces, ns);
    size_t n = m ? strmap_count(m) : 0;
    if (n > 0) {
        const char **keys = xmalloc(n * sizeof *keys);
        const char **vals = xmalloc(n * sizeof *vals);
        size_t i = 0;
        const char *k;
        void *v;
        for (size_t it = 0; strmap_next(m, &it, &k, &v);)
            keys[i++] = k;
        qsort(keys, n, sizeof *keys, cmp_key);
        for (i = 0; i < n; i++)
            vals[i] = strmap_get_cstr(m, keys[i]);
        route_encode_kv_table(out, keys, vals, n);
        free(vals);
        free(keys);
        rc = TERN_OK;
    }
    pthread_rwlock_unlock(&kv->lock);
    return rc;
}
