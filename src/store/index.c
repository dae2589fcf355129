/* SPDX-License-Identifier: Apache-2.0 */
/* index.c: building and searching the key index files (layout in index.h and
 * docs/design/store.md#index). One deviation from RocketMQ: end_phy holds
 * the END of the last indexed record, so the replay guard "phy < end_phy"
 * never indexes a record twice. */
#include "store/index.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "protocol/props.h"

#define NAME_DIGITS 17

static int64_t file_bytes(const struct index_store *x)
{
    return IDX_HEADER_BYTES + (int64_t)x->n_slots * 4 + (int64_t)x->n_entries * IDX_ENTRY_BYTES;
}

static int64_t hdr64(const struct mfile *f, int off)
{
    return (int64_t)be64_load(f->base + off);
}

static int32_t hdr32(const struct mfile *f, int off)
{
    return (int32_t)be32_load(f->base + off);
}

static void set64(struct mfile *f, int off, int64_t v)
{
    be64_store(f->base + off, (uint64_t)v);
}

static void set32(struct mfile *f, int off, int32_t v)
{
    be32_store(f->base + off, (uint32_t)v);
}

static void push_file(struct index_store *x, struct mfile *f)
{
    if (x->n == x->cap) {
        x->cap = x->cap ? x->cap * 2 : 8;
        x->files = xrealloc(x->files, x->cap * sizeof *x->files);
    }
    x->files[x->n++] = f;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int index_open(const char *dir, int32_t n_slots, int32_t n_entries, int64_t log_end,
               struct index_store **out)
{
    if (n_slots <= 0 || n_entries <= 1)
        return TERN_ECONFIG;
    int rc = mfile_mkdirs(dir);
    if (rc)
        return rc;
    struct index_store *x = xcalloc(1, sizeof *x);
    x->dir = xstrdup(dir);
    x->n_slots = n_slots;
    x->n_entries = n_entries;
    pthread_mutex_init(&x->mu, NULL);
    buf_init(&x->key);
    DIR *d = opendir(dir);
    char **names = NULL;
    size_t nn = 0, cap = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (strlen(e->d_name) != NAME_DIGITS || strspn(e->d_name, "0123456789") != NAME_DIGITS)
            continue;
        if (nn == cap) {
            cap = cap ? cap * 2 : 8;
            names = xrealloc(names, cap * sizeof *names);
        }
        names[nn++] = xstrdup(e->d_name);
    }
    if (d)
        closedir(d);
    if (nn)
        qsort(names, nn, sizeof *names, cmp_str);
    for (size_t i = 0; i < nn; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        struct mfile *f = NULL;
        bool was_short;
        int r = mfile_open_path(path, 0, file_bytes(x), &f, &was_short);
        if (r == TERN_OK && hdr32(f, IDX_OFF_COUNT) < 1) {
            mfile_close(f);
            r = TERN_ECORRUPT;
        }
        if (r != TERN_OK) {
            /* The index is derived data: drop what does not fit this config. */
            log_warn("store", "dropping unusable index file %s: %s", names[i], tern_strerror(r));
            unlink(path);
        } else {
            if (hdr64(f, IDX_OFF_END_PH) > log_end)
                set64(f, IDX_OFF_END_PH, log_end);
            push_file(x, f);
        }
        free(names[i]);
    }
    free(names);
    *out = x;
    return TERN_OK;
}

void index_close(struct index_store *x)
{
    if (!x)
        return;
    for (size_t i = 0; i < x->n; i++)
        mfile_close(x->files[i]);
    free(x->files);
    buf_deinit(&x->key);
    pthread_mutex_destroy(&x->mu);
    free(x->dir);
    free(x);
}

static int new_file(struct index_store *x, struct mfile **out)
{
    int64_t ms = clock_wall_ms();
    char path[4096];
    for (int tries = 0;; tries++, ms++) {
        time_t sec = (time_t)(ms / 1000);
        struct tm tm;
        localtime_r(&sec, &tm);
        snprintf(path, sizeof path, "%s/%04d%02d%02d%02d%02d%02d%03d", x->dir, tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
        /* Names must sort after the newest file and be unused. */
        const char *base = strrchr(path, '/') + 1;
        bool newer = x->n == 0 || strcmp(base, strrchr(x->files[x->n - 1]->path, '/') + 1) > 0;
        if (newer && access(path, F_OK) != 0)
            break;
        if (tries > 100000)
            return TERN_EEXISTS;
    }
    struct mfile *f;
    int rc = mfile_create_path(path, 0, file_bytes(x), false, &f);
    if (rc)
        return rc;
    (void)mfile_fsync_dir(x->dir); /* index thread; the index is derived data */
    struct mfile *prev = x->n ? x->files[x->n - 1] : NULL;
    int64_t ts = prev ? hdr64(prev, IDX_OFF_END_TS) : 0;
    int64_t ph = prev ? hdr64(prev, IDX_OFF_END_PH) : 0;
    set64(f, IDX_OFF_BEGIN_TS, ts);
    set64(f, IDX_OFF_END_TS, ts);
    set64(f, IDX_OFF_BEGIN_PH, ph);
    set64(f, IDX_OFF_END_PH, ph);
    set32(f, IDX_OFF_SLOTS, 0);
    set32(f, IDX_OFF_COUNT, 1);
    if (prev) /* the full file will not change again: make it durable now */
        mfile_sync(prev, 0, prev->size);
    push_file(x, f);
    *out = f;
    return TERN_OK;
}

static int32_t key_hash(tern_bytes_t key)
{
    int32_t h = java_string_hash(key.ptr, key.len);
    if (h == INT32_MIN)
        return 0;
    return h < 0 ? -h : h;
}

static int put_key(struct index_store *x, tern_bytes_t key, int64_t phy, int64_t end_phy,
                   int64_t store_ts)
{
    struct mfile *f = x->n ? x->files[x->n - 1] : NULL;
    if (!f || hdr32(f, IDX_OFF_COUNT) >= x->n_entries || hdr32(f, IDX_OFF_COUNT) < 1) {
        int rc = new_file(x, &f);
        if (rc)
            return rc;
    }
    int32_t count = hdr32(f, IDX_OFF_COUNT);
    int32_t h = key_hash(key);
    int64_t slot_pos = IDX_HEADER_BYTES + (int64_t)(h % x->n_slots) * 4;
    int32_t old = (int32_t)be32_load(f->base + slot_pos);
    if (old <= 0 || old >= count)
        old = 0;
    if (count <= 1) {
        set64(f, IDX_OFF_BEGIN_TS, store_ts);
        set64(f, IDX_OFF_BEGIN_PH, phy);
    }
    int64_t diff = (store_ts - hdr64(f, IDX_OFF_BEGIN_TS)) / 1000;
    if (diff < 0)
        diff = 0;
    if (diff > INT32_MAX)
        diff = INT32_MAX;
    uint8_t *ent =
        f->base + IDX_HEADER_BYTES + (int64_t)x->n_slots * 4 + (int64_t)count * IDX_ENTRY_BYTES;
    be32_store(ent, (uint32_t)h);
    be64_store(ent + 4, (uint64_t)phy);
    be32_store(ent + 12, (uint32_t)diff);
    be32_store(ent + 16, (uint32_t)old);
    be32_store(f->base + slot_pos, (uint32_t)count);
    if (old == 0)
        set32(f, IDX_OFF_SLOTS, hdr32(f, IDX_OFF_SLOTS) + 1);
    set32(f, IDX_OFF_COUNT, count + 1);
    set64(f, IDX_OFF_END_TS, store_ts);
    set64(f, IDX_OFF_END_PH, end_phy);
    x->dirty = true;
    return TERN_OK;
}

static int add_key(struct index_store *x, const struct msg_record *r, tern_bytes_t k)
{
    if (k.len == 0)
        return TERN_OK;
    buf_reset(&x->key);
    buf_append_bytes(&x->key, r->topic);
    buf_append_u8(&x->key, '#');
    buf_append_bytes(&x->key, k);
    return put_key(x, buf_view(&x->key), r->phy_off, r->phy_off + r->total_size, r->store_ts);
}

int index_add_record(struct index_store *x, const struct msg_record *r)
{
    if ((r->sys_flag & MSG_SYSFLAG_TXN_MASK) == MSG_SYSFLAG_TXN_ROLLBACK)
        return TERN_OK;
    int rc = TERN_OK;
    pthread_mutex_lock(&x->mu);
    struct mfile *f = x->n ? x->files[x->n - 1] : NULL;
    if (f && r->phy_off < hdr64(f, IDX_OFF_END_PH))
        goto out;
    static const char *const keys[] = {PROP_UNIQ_KEY, PROP_KEYS};
    tern_bytes_t kv[2];
    unsigned got = props_find(r->props, keys, 2, kv);
    if (got & 1u)
        rc = add_key(x, r, kv[0]);
    if (rc == TERN_OK && (got & 2u)) {
        tern_bytes_t v = kv[1];
        size_t i = 0;
        while (rc == TERN_OK && i < v.len) {
            size_t j = i;
            while (j < v.len && v.ptr[j] != ' ')
                j++;
            rc = add_key(x, r, tern_bytes(v.ptr + i, j - i));
            i = j + 1;
        }
    }
out:
    pthread_mutex_unlock(&x->mu);
    return rc;
}

int index_lookup(struct index_store *x, tern_bytes_t topic, tern_bytes_t key, int64_t begin_ms,
                 int64_t end_ms, int64_t *offs, int max, int *n)
{
    *n = 0;
    pthread_mutex_lock(&x->mu);
    buf_reset(&x->key);
    buf_append_bytes(&x->key, topic);
    buf_append_u8(&x->key, '#');
    buf_append_bytes(&x->key, key);
    int32_t h = key_hash(buf_view(&x->key));
    int64_t slot_pos = IDX_HEADER_BYTES + (int64_t)(h % x->n_slots) * 4;
    for (size_t fi = x->n; fi-- > 0 && *n < max;) {
        struct mfile *f = x->files[fi];
        int32_t count = hdr32(f, IDX_OFF_COUNT);
        if (count > x->n_entries) /* a damaged header must not send us off the map */
            count = x->n_entries;
        int64_t bts = hdr64(f, IDX_OFF_BEGIN_TS), ets = hdr64(f, IDX_OFF_END_TS);
        if (count <= 1 || bts > end_ms)
            continue;
        if (ets < begin_ms)
            break;
        int32_t idx = (int32_t)be32_load(f->base + slot_pos);
        while (idx > 0 && idx < count && *n < max) {
            const uint8_t *ent = f->base + IDX_HEADER_BYTES + (int64_t)x->n_slots * 4 +
                                 (int64_t)idx * IDX_ENTRY_BYTES;
            int64_t t = bts + (int64_t)(int32_t)be32_load(ent + 12) * 1000;
            if (t + 999 < begin_ms)
                break;
            if ((int32_t)be32_load(ent) == h && t <= end_ms) {
                int64_t phy = (int64_t)be64_load(ent + 4);
                bool dup = false;
                for (int i = 0; i < *n && !dup; i++)
                    dup = offs[i] == phy;
                if (!dup)
                    offs[(*n)++] = phy;
            }
            int32_t prev = (int32_t)be32_load(ent + 16);
            if (prev >= idx)
                break;
            idx = prev;
        }
    }
    pthread_mutex_unlock(&x->mu);
    return TERN_OK;
}

int index_flush(struct index_store *x)
{
    int rc = TERN_OK;
    pthread_mutex_lock(&x->mu);
    if (x->dirty && x->n) {
        struct mfile *f = x->files[x->n - 1];
        rc = mfile_sync(f, 0, f->size);
        if (rc == TERN_OK)
            x->dirty = false;
    }
    pthread_mutex_unlock(&x->mu);
    return rc;
}

int index_delete_below(struct index_store *x, int64_t log_min)
{
    int k = 0;
    pthread_mutex_lock(&x->mu);
    while (x->n > 1 && hdr64(x->files[0], IDX_OFF_END_PH) <= log_min) {
        mfile_destroy(x->files[0]);
        memmove(x->files, x->files + 1, (x->n - 1) * sizeof *x->files);
        x->n--;
        k++;
    }
    pthread_mutex_unlock(&x->mu);
    return k;
}

void index_last_update(struct index_store *x, int64_t *ts, int64_t *phy)
{
    pthread_mutex_lock(&x->mu);
    struct mfile *f = x->n ? x->files[x->n - 1] : NULL;
    *ts = f ? hdr64(f, IDX_OFF_END_TS) : 0;
    *phy = f ? hdr64(f, IDX_OFF_END_PH) : 0;
    pthread_mutex_unlock(&x->mu);
}
