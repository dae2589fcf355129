/* SPDX-License-Identifier: Apache-2.0 */
/* store_read.c: the store's read side: pull (store_get, following RocketMQ's
 * GetMessageStatus table, spec broker-internals §4.1), queue bounds, offset by
 * time, read by physical offset and key queries. Threads: any thread, in
 * parallel with appends (see the lock order in store_impl.h). */
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "protocol/props.h"
#include "store/store.h"
#include "store/store_impl.h"

/* Units scanned per pull at most: RocketMQ's max(16000 B, maxMsgNums * 20 B). */
#define GET_SCAN_UNITS 800
/* Candidates looked up per query, per wanted record (hash collisions and
 * stale entries are filtered afterwards). */
#define QUERY_OVERSCAN 4

int store_get(struct store *s, tern_bytes_t topic, int32_t queue_id, int64_t off, int max_msgs,
              int max_bytes, store_filter_fn filter, void *farg, buf_t *body,
              struct store_get_result *r)
{
    memset(r, 0, sizeof *r);
    atomic_fetch_add_explicit(&s->gets_total, 1, memory_order_relaxed);
    pthread_rwlock_rdlock(&s->qmap_lock);
    struct cq *q = store_find_cq(s, topic, queue_id);
    if (!q) {
        pthread_rwlock_unlock(&s->qmap_lock);
        r->status = GET_NO_MATCHED_LOGIC_QUEUE;
        r->next_off = 0;
        return TERN_OK;
    }
    int64_t min = atomic_load_explicit(&q->min_off, memory_order_acquire);
    int64_t max = atomic_load_explicit(&q->max_off, memory_order_acquire);
    r->min_off = min;
    r->max_off = max;
    if (max == 0) {
        r->status = GET_NO_MESSAGE_IN_QUEUE;
        r->next_off = 0;
    } else if (off < min) {
        r->status = GET_OFFSET_TOO_SMALL;
        r->next_off = min;
    } else if (off == max) {
        r->status = GET_OFFSET_OVERFLOW_ONE;
        r->next_off = off;
    } else if (off > max) {
        r->status = GET_OFFSET_OVERFLOW_BADLY;
        r->next_off = max;
    } else {
        const uint8_t *units;
        int64_t avail;
        cq_rdlock(q);
        if (cq_units_at(q, off, &units, &avail) != TERN_OK) {
            cq_unlock(q);
            r->status = GET_OFFSET_FOUND_NULL;
            r->next_off = cq_next_file_off(q, off);
            pthread_rwlock_unlock(&s->qmap_lock);
            return TERN_OK;
        }
        int64_t limit = max_msgs > GET_SCAN_UNITS ? max_msgs : GET_SCAN_UNITS;
        if (avail > limit)
            avail = limit;
        if (max_msgs < 1)
            max_msgs = 1;
        enum store_get_status st = GET_NO_MATCHED_MESSAGE;
        int64_t bytes = 0, skip_below = -1, i;
        commitlog_rdlock(s->cl);
        if (avail > 0) {
            struct cq_unit first;
            cq_unit_load(units, &first);
            commitlog_read_ahead(s->cl, first.phy_off);
        }
        for (i = 0; i < avail; i++) {
            struct cq_unit u;
            cq_unit_load(units + i * CQ_UNIT_BYTES, &u);
            if (skip_below >= 0 && u.phy_off < skip_below)
                continue;
            /* Batch full: the first message is always taken. */
            if (r->count > 0 && (r->count >= max_msgs || bytes + u.size > max_bytes))
                break;
            if (filter && !filter(farg, u.tags_code)) {
                if (r->count == 0)
                    st = GET_NO_MATCHED_MESSAGE;
                continue;
            }
            const uint8_t *p;
            int64_t left;
            /* A unit smaller than a record header is corrupt: never read it
             * (4 bytes could pass the end of the mapping). */
            if (u.size < MSG_FIXED_V1_V4 ||
                commitlog_locate(s->cl, u.phy_off, &p, &left) != TERN_OK || left < u.size ||
                (int32_t)be32_load(p) != u.size) {
                if (r->count == 0)
                    st = GET_MESSAGE_WAS_REMOVING;
                if (u.size > 0 && u.phy_off < atomic_load(&s->cl->min_off))
                    skip_below = commitlog_next_seg_start(s->cl, u.phy_off);
                continue;
            }
            buf_append(body, p, (size_t)u.size);
            bytes += u.size;
            r->count++;
            st = GET_FOUND;
            skip_below = -1;
        }
        commitlog_unlock(s->cl);
        cq_unlock(q);
        r->status = st;
        r->next_off = off + i;
    }
    pthread_rwlock_unlock(&s->qmap_lock);
    return TERN_OK;
}

int64_t store_max_offset(struct store *s, tern_bytes_t topic, int32_t queue_id)
{
    pthread_rwlock_rdlock(&s->qmap_lock);
    struct cq *q = store_find_cq(s, topic, queue_id);
    int64_t v = q ? atomic_load(&q->max_off) : 0;
    pthread_rwlock_unlock(&s->qmap_lock);
    return v;
}

int64_t store_min_offset(struct store *s, tern_bytes_t topic, int32_t queue_id)
{
    pthread_rwlock_rdlock(&s->qmap_lock);
    struct cq *q = store_find_cq(s, topic, queue_id);
    int64_t v = q ? atomic_load(&q->min_off) : 0;
    pthread_rwlock_unlock(&s->qmap_lock);
    return v;
}

/* Store time of the record of unit qoff, or -1 (qmap_lock held). */
static int64_t unit_time(struct store *s, struct cq *q, int64_t qoff)
{
    struct cq_unit u;
    if (cq_read_unit(q, qoff, &u) != TERN_OK || u.size <= 0)
        return -1;
    int64_t ts = -1;
    const uint8_t *p;
    int64_t left;
    commitlog_rdlock(s->cl);
    if (commitlog_locate(s->cl, u.phy_off, &p, &left) == TERN_OK && left >= u.size &&
        u.size >= MSG_FIXED_V1_V4) {
        size_t at = msg_store_ts_off((int32_t)be32_load(p + MSG_OFF_SYSFLAG));
        if (at + 8 <= (size_t)u.size)
            ts = (int64_t)be64_load(p + at);
    }
    commitlog_unlock(s->cl);
    return ts;
}

int64_t store_offset_by_time(struct store *s, tern_bytes_t topic, int32_t queue_id, int64_t ts,
                             bool upper)
{
    pthread_rwlock_rdlock(&s->qmap_lock);
    struct cq *q = store_find_cq(s, topic, queue_id);
    if (!q) {
        pthread_rwlock_unlock(&s->qmap_lock);
        return 0;
    }
    int64_t min = atomic_load(&q->min_off), max = atomic_load(&q->max_off);
    int64_t result;
    /* Store times are non-decreasing in queue order; unreadable units (-1)
     * sort first, as if older than everything. */
    if (!upper) {
        int64_t lo = min, hi = max; /* first offset with time >= ts */
        while (lo < hi) {
            int64_t mid = lo + (hi - lo) / 2;
            if (unit_time(s, q, mid) >= ts)
                hi = mid;
            else
                lo = mid + 1;
        }
        result = lo;
    } else {
        int64_t lo = min, hi = max; /* first offset with time > ts, minus one */
        while (lo < hi) {
            int64_t mid = lo + (hi - lo) / 2;
            if (unit_time(s, q, mid) > ts)
                hi = mid;
            else
                lo = mid + 1;
        }
        result = lo > min ? lo - 1 : min;
    }
    pthread_rwlock_unlock(&s->qmap_lock);
    return result;
}

int64_t store_msg_time(struct store *s, tern_bytes_t topic, int32_t queue_id, int64_t off)
{
    pthread_rwlock_rdlock(&s->qmap_lock);
    struct cq *q = store_find_cq(s, topic, queue_id);
    int64_t ts = q && off >= atomic_load(&q->min_off) ? unit_time(s, q, off) : -1;
    pthread_rwlock_unlock(&s->qmap_lock);
    return ts;
}

int64_t store_earliest_time(struct store *s, tern_bytes_t topic, int32_t queue_id)
{
    return store_msg_time(s, topic, queue_id, store_min_offset(s, topic, queue_id));
}

int store_read_at(struct store *s, int64_t phy_off, buf_t *out)
{
    const uint8_t *p;
    int32_t size;
    int64_t next;
    int rc;
    commitlog_rdlock(s->cl);
    rc = commitlog_peek(s->cl, phy_off, &p, &size, &next);
    struct msg_record m;
    if (rc == TERN_OK && (msg_decode(p, (size_t)size, &m) != TERN_OK || m.phy_off != phy_off))
        rc = TERN_ENOT_FOUND;
    if (rc == TERN_OK)
        buf_append(out, p, (size_t)size);
    commitlog_unlock(s->cl);
    return rc == TERN_OK ? TERN_OK : TERN_ENOT_FOUND;
}

static bool record_has_key(const struct msg_record *m, tern_bytes_t key)
{
    tern_bytes_t v;
    if (props_get(m->props, PROP_UNIQ_KEY, &v) && tern_bytes_eq(v, key))
        return true;
    if (!props_get(m->props, PROP_KEYS, &v))
        return false;
    size_t i = 0;
    while (i < v.len) {
        size_t j = i;
        while (j < v.len && v.ptr[j] != ' ')
            j++;
        if (tern_bytes_eq(tern_bytes(v.ptr + i, j - i), key))
            return true;
        i = j + 1;
    }
    return false;
}

static int cmp_desc(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x > y ? -1 : x < y;
}

int store_query(struct store *s, tern_bytes_t topic, tern_bytes_t key, int max, int64_t begin_ms,
                int64_t end_ms, buf_t *out, struct store_query_result *r)
{
    memset(r, 0, sizeof *r);
    if (!s->idx)
        return TERN_OK;
    index_last_update(s->idx, &r->index_last_update_ts, &r->index_last_update_phy);
    if (max <= 0 || key.len == 0)
        return TERN_OK;
    if (max > 1024)
        max = 1024;
    int want = max * QUERY_OVERSCAN;
    int64_t *offs = malloc((size_t)want * sizeof *offs);
    if (!offs)
        return TERN_ENOMEM;
    int n;
    int rc = index_lookup(s->idx, topic, key, begin_ms, end_ms, offs, want, &n);
    if (rc == TERN_OK && n > 1)
        qsort(offs, (size_t)n, sizeof *offs, cmp_desc); /* newest record first */
    commitlog_rdlock(s->cl);
    for (int i = 0; rc == TERN_OK && i < n && r->count < max; i++) {
        const uint8_t *p;
        int32_t size;
        int64_t next;
        struct msg_record m;
        if (commitlog_peek(s->cl, offs[i], &p, &size, &next) != TERN_OK ||
            msg_decode(p, (size_t)size, &m) != TERN_OK || m.phy_off != offs[i])
            continue;
        if (!tern_bytes_eq(m.topic, topic) || m.store_ts < begin_ms || m.store_ts > end_ms ||
            !record_has_key(&m, key))
            continue;
        buf_append(out, p, (size_t)size);
        r->count++;
    }
    commitlog_unlock(s->cl);
    free(offs);
    return rc;
}
