/* SPDX-License-Identifier: Apache-2.0 */
/* store.c: the store facade's lifecycle (open, recovery order, close) and
 * the append path (docs/design/store.md#append-path).
 *
 * A put encodes its records outside the lock into a pooled buffer, then under
 * put_lock assigns queue offsets, patches QUEUEOFFSET/PHYSICALOFFSET/
 * STORETIMESTAMP, copies into the mapped segment and writes the consume-queue
 * units; the arrival callback runs after the lock is released. Threads: any
 * thread may put; see store_impl.h for the lock order. */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/hash.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "protocol/props.h"
#include "store/store_impl.h"

void store_config_defaults(struct store_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->commitlog_segment_bytes = 1024LL * 1024 * 1024;
    cfg->cq_segment_units = 300000;
    cfg->flush_mode = STORE_ASYNC_FLUSH;
    cfg->flush_interval_ms = 500;
    cfg->flush_thorough_ms = 10000;
    cfg->sync_flush_timeout_ms = 5000;
    cfg->file_reserved_hours = 72;
    cfg->delete_when_hour = 4;
    cfg->disk_max_used_ratio = 75;
    cfg->disk_refuse_ratio = 90;
    cfg->min_free_bytes = 64LL * 1024 * 1024;
    cfg->index_enable = true;
    cfg->index_slots = 5000000;
    cfg->index_entries = 20000000;
    cfg->max_message_bytes = TERN_MAX_BODY_BYTES;
    cfg->sync_flush_threads = 1;
    cfg->log_cache_bytes = STORE_LOG_CACHE_DEFAULT;
}

int64_t store_tags_code(tern_bytes_t tags)
{
    return tags.len ? (int64_t)java_string_hash(tags.ptr, tags.len) : 0;
}

bool store_is_sync_flush(const struct store *s)
{
    return s->cfg.flush_mode == STORE_SYNC_FLUSH;
}

void store_set_arrival_cb(struct store *s, store_arrival_fn fn, void *arg)
{
    pthread_mutex_lock(&s->put_lock);
    s->arrival_fn = fn;
    s->arrival_arg = arg;
    pthread_mutex_unlock(&s->put_lock);
}

const char *store_get_status_name(enum store_get_status st)
{
    switch (st) {
    case GET_FOUND:
        return "FOUND";
    case GET_NO_MATCHED_MESSAGE:
        return "NO_MATCHED_MESSAGE";
    case GET_MESSAGE_WAS_REMOVING:
        return "MESSAGE_WAS_REMOVING";
    case GET_OFFSET_FOUND_NULL:
        return "OFFSET_FOUND_NULL";
    case GET_OFFSET_OVERFLOW_BADLY:
        return "OFFSET_OVERFLOW_BADLY";
    case GET_OFFSET_OVERFLOW_ONE:
        return "OFFSET_OVERFLOW_ONE";
    case GET_OFFSET_TOO_SMALL:
        return "OFFSET_TOO_SMALL";
    case GET_NO_MATCHED_LOGIC_QUEUE:
        return "NO_MATCHED_LOGIC_QUEUE";
    case GET_NO_MESSAGE_IN_QUEUE:
        return "NO_MESSAGE_IN_QUEUE";
    }
    return "UNKNOWN";
}

/* ---- queue table ---- */

size_t store_qkey(tern_bytes_t topic, int32_t queue_id, uint8_t *key)
{
    memcpy(key, topic.ptr, topic.len);
    key[topic.len] = 0;
    be32_store(key + topic.len + 1, (uint32_t)queue_id);
    return topic.len + 5;
}

struct cq *store_find_cq(struct store *s, tern_bytes_t topic, int32_t queue_id)
{
    uint8_t key[TERN_MAX_TOPIC_BYTES + 8];
    if (topic.len > TERN_MAX_TOPIC_BYTES)
        return NULL;
    size_t n = store_qkey(topic, queue_id, key);
    return strmap_get(&s->qmap, tern_bytes(key, n));
}

struct cq *store_get_or_create_cq(struct store *s, tern_bytes_t topic, int32_t queue_id)
{
    pthread_rwlock_rdlock(&s->qmap_lock);
    struct cq *q = store_find_cq(s, topic, queue_id);
    pthread_rwlock_unlock(&s->qmap_lock);
    if (q)
        return q;
    pthread_rwlock_wrlock(&s->qmap_lock);
    q = store_find_cq(s, topic, queue_id);
    if (!q) {
        uint8_t key[TERN_MAX_TOPIC_BYTES + 8];
        size_t n = store_qkey(topic, queue_id, key);
        cq_new(s->cq_root, topic, queue_id, s->cfg.cq_segment_units, true, &q);
        strmap_put(&s->qmap, tern_bytes(key, n), q);
    }
    pthread_rwlock_unlock(&s->qmap_lock);
    return q;
}

/* ---- open / close ---- */

static char *path_join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = xmalloc(n);
    snprintf(p, n, "%s/%s", a, b);
    return p;
}

static bool file_exists(const char *root, const char *name)
{
    char *p = path_join(root, name);
    bool ok = access(p, F_OK) == 0;
    free(p);
    return ok;
}

static int check_config(const struct store_config *c)
{
    if (!c->root_dir || !c->root_dir[0] || c->commitlog_segment_bytes < 4096 ||
        c->cq_segment_units < 1 || c->cq_segment_units > (INT64_MAX / 4) / CQ_UNIT_BYTES ||
        c->flush_interval_ms < 1 || c->flush_thorough_ms < 0 || c->sync_flush_timeout_ms < 1 ||
        c->max_message_bytes < 1 || c->sync_flush_threads < 1 ||
        c->sync_flush_threads > STORE_FLUSH_WORKERS ||
        (c->index_enable && (c->index_slots < 1 || c->index_entries < 2)))
        return TERN_ECONFIG;
    return TERN_OK;
}

static void store_free(struct store *s)
{
    commitlog_close(s->cl);
    const char *k;
    void *v;
    for (size_t it = 0; strmap_next(&s->qmap, &it, &k, &v);)
        cq_free(v);
    strmap_deinit(&s->qmap);
    index_close(s->idx);
    checkpoint_close(s->ckpt);
    for (int i = 0; i < s->npool; i++)
        free(s->pool[i]);
    if (s->lock_fd >= 0) {
        flock(s->lock_fd, LOCK_UN);
        close(s->lock_fd);
    }
    pthread_mutex_destroy(&s->put_lock);
    pthread_rwlock_destroy(&s->qmap_lock);
    pthread_mutex_destroy(&s->pool_mu);
    pthread_mutex_destroy(&s->sync_mu);
    pthread_mutex_destroy(&s->flush_mu);
    pthread_cond_destroy(&s->flush_cv);
    pthread_cond_destroy(&s->tick_cv);
    pthread_mutex_destroy(&s->idx_mu);
    pthread_cond_destroy(&s->idx_cv);
    pthread_mutex_destroy(&s->clean_mu);
    pthread_mutex_destroy(&s->clean_run_mu);
    pthread_cond_destroy(&s->clean_cv);
    free(s->cq_root);
    free(s->root);
    free(s);
}

static int take_lock(struct store *s)
{
    char *p = path_join(s->root, "lock");
    s->lock_fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    free(p);
    if (s->lock_fd < 0)
        return -errno;
    if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(s->lock_fd);
        s->lock_fd = -1;
        return e == EWOULDBLOCK ? TERN_EBUSY : -e;
    }
    if (pwrite(s->lock_fd, "lock", 4, 0) != 4)
        log_warn("store", "cannot write lock file: %s", strerror(errno));
    return TERN_OK;
}

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

int store_open(const struct store_config *cfg, struct store **out)
{
    int rc = check_config(cfg);
    if (rc)
        return rc;
    struct store *s = xcalloc(1, sizeof *s);
    s->cfg = *cfg;
    s->root = xstrdup(cfg->root_dir);
    s->cfg.root_dir = s->root;
    s->lock_fd = -1;
    s->cq_root = path_join(s->root, "consumequeue");
    pthread_mutex_init(&s->put_lock, NULL);
    pthread_rwlock_init(&s->qmap_lock, NULL);
    pthread_mutex_init(&s->pool_mu, NULL);
    pthread_mutex_init(&s->sync_mu, NULL);
    pthread_mutex_init(&s->flush_mu, NULL);
    pthread_cond_init(&s->flush_cv, NULL);
    pthread_cond_init(&s->tick_cv, NULL);
    pthread_mutex_init(&s->idx_mu, NULL);
    pthread_cond_init(&s->idx_cv, NULL);
    pthread_mutex_init(&s->clean_mu, NULL);
    pthread_mutex_init(&s->clean_run_mu, NULL);
    pthread_cond_init(&s->clean_cv, NULL);
    strmap_init(&s->qmap);
    atomic_flag_clear(&s->disk_checking);
    atomic_store(&s->min_free_bytes, cfg->min_free_bytes);
    atomic_store(&s->refuse_ratio, cfg->disk_refuse_ratio);

    int64_t t0 = clock_mono_ns();
    rc = mfile_mkdirs(s->root);
    if (rc == 0)
        rc = take_lock(s);
    if (rc) {
        store_free(s);
        return rc;
    }
    bool crashed = file_exists(s->root, "abort");
    struct checkpoint_data ck;
    bool ck_valid;
    char *cl_dir = path_join(s->root, "commitlog");
    rc = checkpoint_open(s->root, &s->ckpt, &ck, &ck_valid);
    if (rc == 0)
        rc = commitlog_open(cl_dir, cfg->commitlog_segment_bytes, true, &s->cl);
    free(cl_dir);
    int64_t end = 0;
    bool trust = !crashed && ck_valid;
    if (rc == 0)
        rc = commitlog_recover(s->cl, trust, ck_valid ? ck.phy_flushed_off : -1, &end);
    int64_t log_min = atomic_load(&s->cl->min_off);
    if (rc == 0) {
        int64_t from = ck_valid ? clamp64(ck.cq_flushed_phy, log_min, end) : log_min;
        rc = store_recover_queues(s, end, from);
    }
    if (rc == 0 && cfg->index_enable) {
        char *idx_dir = path_join(s->root, "index");
        rc = index_open(idx_dir, cfg->index_slots, cfg->index_entries, end, &s->idx);
        free(idx_dir);
        int64_t ip = ck_valid ? clamp64(ck.index_phy, log_min, end) : log_min;
        atomic_store(&s->index_phy, ip);
        atomic_store(&s->index_flushed, ip);
    }
    if (rc == 0) {
        store_indexer_catch_up(s);
        /* The recovered tail is flushed by the flush thread, not here: open
         * stays fast. */
        rc = store_flush_all(s, true, false);
    }
    if (rc == 0) {
        char *p = path_join(s->root, "abort");
        int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        free(p);
        if (fd < 0)
            rc = -errno;
        else
            close(fd);
        /* The marker must be durable before any put is accepted: a crash
         * without it would trust the checkpoint and skip the tail scan. */
        if (rc == 0)
            rc = mfile_fsync_dir(s->root);
    }
    if (rc == 0) {
        store_disk_refuses(s, true);
        s->cl->write_ahead = cfg->flush_mode == STORE_SYNC_FLUSH;
        s->cl->write_mode = cfg->write_mode;
        s->cl->cache_keep = cfg->log_cache_bytes;
        rc = commitlog_start_alloc(s->cl);
    }
    if (rc == 0)
        rc = store_flush_start(s);
    if (rc == 0)
        rc = store_indexer_start(s);
    if (rc == 0)
        rc = store_clean_start(s);
    if (rc) {
        log_error("store", "open failed root=%s: %s", s->root, tern_strerror(rc));
        store_clean_stop(s);
        store_indexer_stop(s);
        store_flush_stop(s);
        store_free(s);
        return rc;
    }
    log_info("store",
             "opened root=%s crashed=%d min_off=%lld max_off=%lld queues=%zu recover_ms=%.1f",
             s->root, crashed, (long long)log_min, (long long)end, strmap_count(&s->qmap),
             (double)(clock_mono_ns() - t0) / 1e6);
    *out = s;
    return TERN_OK;
}

static void stop_threads(struct store *s)
{
    atomic_store(&s->shutting_down, true);
    pthread_mutex_lock(&s->put_lock); /* waits for puts in flight */
    pthread_mutex_unlock(&s->put_lock);
    store_clean_stop(s);
    store_indexer_stop(s);
    store_flush_stop(s);
}

/* Completes every pending waiter: OK when durable, else status. */
static void finish_waiters(struct store *s, int status)
{
    pthread_mutex_lock(&s->flush_mu);
    struct flush_waiter *w = s->waiters;
    s->waiters = NULL;
    pthread_mutex_unlock(&s->flush_mu);
    int64_t flushed = atomic_load(&s->cl->flushed_off);
    while (w) {
        struct flush_waiter *next = w->next;
        w->cb(w->arg, w->end_off <= flushed && status != TERN_ESHUTDOWN ? TERN_OK : status);
        free(w);
        w = next;
    }
}

void store_close(struct store *s)
{
    if (!s)
        return;
    stop_threads(s);
    store_indexer_catch_up(s);
    int rc = store_flush_all(s, true, true);
    finish_waiters(s, rc ? rc : TERN_ETIMEOUT);
    if (rc == 0) {
        char *p = path_join(s->root, "abort");
        unlink(p);
        free(p);
    } else {
        log_error("store", "final flush failed, keeping abort marker: %s", tern_strerror(rc));
    }
    store_free(s);
}

void store_crash_close(struct store *s)
{
    if (!s)
        return;
    stop_threads(s);
    finish_waiters(s, TERN_ESHUTDOWN);
    store_free(s);
}

int store_flush_now(struct store *s)
{
    return store_flush_all(s, true, true);
}

void store_test_fail_syncs(struct store *s, int n)
{
    atomic_store(&s->cl->fail_syncs, n);
}

/* ---- append ---- */

static uint8_t *pool_get(struct store *s, size_t need, size_t *cap)
{
    uint8_t *p = NULL;
    *cap = 0;
    pthread_mutex_lock(&s->pool_mu);
    if (s->npool > 0) {
        s->npool--;
        p = s->pool[s->npool];
        *cap = s->pool_cap[s->npool];
    }
    pthread_mutex_unlock(&s->pool_mu);
    if (*cap < need) {
        free(p);
        *cap = need < 4096 ? 4096 : need;
        p = xmalloc(*cap);
    }
    return p;
}

static void pool_put(struct store *s, uint8_t *p, size_t cap)
{
    if (cap <= STORE_POOL_KEEP_BYTES) {
        pthread_mutex_lock(&s->pool_mu);
        if (s->npool < STORE_POOL_MAX) {
            s->pool[s->npool] = p;
            s->pool_cap[s->npool] = cap;
            s->npool++;
            p = NULL;
        }
        pthread_mutex_unlock(&s->pool_mu);
    }
    free(p);
}

static bool topic_ok(tern_bytes_t t)
{
    if (t.len == 0 || t.len > TERN_MAX_TOPIC_BYTES)
        return false;
    if (tern_bytes_eq_cstr(t, ".") || tern_bytes_eq_cstr(t, ".."))
        return false;
    for (size_t i = 0; i < t.len; i++)
        if (t.ptr[i] == '/' || t.ptr[i] == 0)
            return false;
    return true;
}

static bool takes_cq_unit(int32_t sys_flag)
{
    int32_t t = sys_flag & MSG_SYSFLAG_TXN_MASK;
    return t != MSG_SYSFLAG_TXN_PREPARED && t != MSG_SYSFLAG_TXN_ROLLBACK;
}

struct put_item {
    uint32_t len;
    int32_t sys_flag;
    int64_t tags_code;
    int64_t phy;  /* where the record went (set under put_lock) */
    int64_t qoff; /* its consume-queue offset, when it takes a unit */
};

/* Writes a run of records reserved contiguously and publishes them. */
static int write_run(struct store *s, const uint8_t *src, int64_t phy, size_t len)
{
    int rc = commitlog_write(s->cl, phy, src, len);
    if (rc == TERN_OK)
        commitlog_publish(s->cl, phy + (int64_t)len);
    return rc;
}

int store_put(struct store *s, const struct store_msg *msgs, size_t n, struct store_put_result *res,
              int64_t *phy_offs)
{
    if (atomic_load(&s->shutting_down))
        return TERN_ESHUTDOWN;
    if (n == 0 || !msgs)
        return TERN_EINVALID;
    tern_bytes_t topic = msgs[0].topic;
    int32_t qid = msgs[0].queue_id;
    if (topic.len > TERN_MAX_TOPIC_BYTES)
        return TERN_ETOO_LARGE;
    if (!topic_ok(topic) || qid < 0)
        return TERN_EINVALID;
    struct put_item stack_items[32];
    struct put_item *items = n <= 32 ? stack_items : xmalloc(n * sizeof *items);
    size_t total = 0;
    int rc = TERN_OK;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const struct store_msg *m = &msgs[i];
        if (m->queue_id != qid || !tern_bytes_eq(m->topic, topic))
            rc = TERN_EINVALID;
        else if (m->props.len > TERN_MAX_PROPERTIES_BYTES ||
                 (int64_t)m->body.len > s->cfg.max_message_bytes)
            rc = TERN_ETOO_LARGE;
        if (rc)
            break;
        int32_t sf = m->sys_flag & ~(MSG_SYSFLAG_BORNHOST_V6 | MSG_SYSFLAG_STOREHOST_V6);
        if (m->born_host.is_v6)
            sf |= MSG_SYSFLAG_BORNHOST_V6;
        if (m->store_host.is_v6)
            sf |= MSG_SYSFLAG_STOREHOST_V6;
        struct msg_record r = {.sys_flag = sf, .topic = topic, .body = m->body, .props = m->props};
        size_t len = msg_encoded_size(&r);
        if ((int64_t)len + CL_MIN_BLANK > s->cfg.commitlog_segment_bytes)
            rc = TERN_ETOO_LARGE;
        items[i].len = (uint32_t)len;
        items[i].sys_flag = sf;
        tern_bytes_t tags;
        items[i].tags_code = props_get(m->props, PROP_TAGS, &tags) ? store_tags_code(tags) : 0;
        total += len;
    }
    if (rc == 0 && store_disk_refuses(s, false))
        rc = TERN_EDISK_FULL;
    if (rc) {
        if (items != stack_items)
            free(items);
        return rc;
    }

    /* Encode outside the lock; the lock only patches three fields and copies. */
    size_t cap;
    uint8_t *buf = pool_get(s, total, &cap);
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        const struct store_msg *m = &msgs[i];
        struct msg_record r = {
            .body_crc = crc32_java(m->body.ptr, m->body.len),
            .queue_id = qid,
            .flag = m->flag,
            .sys_flag = items[i].sys_flag,
            .born_ts = m->born_ts,
            .born_host = m->born_host,
            .store_host = m->store_host,
            .reconsume_times = m->reconsume_times,
            .prepared_txn_off = m->prepared_txn_off,
            .body = m->body,
            .topic = topic,
            .props = m->props,
        };
        msg_encode(&r, buf + pos);
        pos += items[i].len;
    }
    /* The queue exists from its first message on, even a prepared one. It is
     * looked up under put_lock: store_delete_topic destroys queues under it,
     * so a pointer taken before the lock could be freed meanwhile. */
    struct cq *q = NULL;

    int64_t first_phy = -1, first_qoff = -1, end_phy = 0, store_ts, max_off = 0, last_tags = 0;
    size_t done = 0;
    store_arrival_fn afn;
    void *aarg;
    pthread_mutex_lock(&s->put_lock);
    if (atomic_load(&s->shutting_down)) {
        pthread_mutex_unlock(&s->put_lock);
        pool_put(s, buf, cap);
        if (items != stack_items)
            free(items);
        return TERN_ESHUTDOWN;
    }
    q = store_get_or_create_cq(s, topic, qid);
    store_ts = clock_wall_ms();
    if (store_ts < s->last_store_ts)
        store_ts = s->last_store_ts;
    s->last_store_ts = store_ts;
    /* Reserve and patch each record, writing runs with one pwrite each (a
     * run ends where the log rolls to a new segment); consume-queue units
     * follow once the records they point at are published. */
    int64_t next_qoff = atomic_load_explicit(&q->max_off, memory_order_relaxed);
    int64_t run_phy = 0;
    size_t run_pos = 0, run_len = 0, written = 0, reserved = 0;
    pos = 0;
    for (size_t i = 0; i < n; i++) {
        if (run_len && !commitlog_fits(s->cl, items[i].len)) {
            rc = write_run(s, buf + run_pos, run_phy, run_len);
            if (rc) {
                run_len = 0;
                break;
            }
            written = i;
            run_len = 0;
        }
        rc = commitlog_reserve(s->cl, items[i].len, &items[i].phy);
        if (rc)
            break;
        reserved = i + 1;
        uint8_t *rec = buf + pos;
        bool unit = takes_cq_unit(items[i].sys_flag);
        items[i].qoff = unit ? next_qoff++ : 0;
        be64_store(rec + MSG_OFF_QUEUEOFFSET, (uint64_t)items[i].qoff);
        be64_store(rec + MSG_OFF_PHYOFFSET, (uint64_t)items[i].phy);
        be64_store(rec + msg_store_ts_off(items[i].sys_flag), (uint64_t)store_ts);
        if (run_len == 0) {
            run_phy = items[i].phy;
            run_pos = pos;
        }
        run_len += items[i].len;
        pos += items[i].len;
    }
    if (run_len) {
        /* Also after a failed reserve: the records before it are whole. */
        int wrc = write_run(s, buf + run_pos, run_phy, run_len);
        if (wrc == TERN_OK)
            written = reserved;
        else if (rc == TERN_OK)
            rc = wrc;
    }
    for (size_t i = 0; i < written; i++) {
        if (takes_cq_unit(items[i].sys_flag)) {
            int qrc =
                cq_put(q, items[i].qoff, items[i].phy, (int32_t)items[i].len, items[i].tags_code);
            if (qrc) {
                log_error("store", "consume queue write failed topic=%s qid=%d: %s", q->topic,
                          (int)qid, tern_strerror(qrc));
                if (rc == TERN_OK)
                    rc = qrc;
                done++;
                break;
            }
            if (first_qoff < 0)
                first_qoff = items[i].qoff;
            max_off = items[i].qoff + 1;
            last_tags = items[i].tags_code;
        }
        if (first_phy < 0)
            first_phy = items[i].phy;
        if (phy_offs)
            phy_offs[i] = items[i].phy;
        end_phy = items[i].phy + items[i].len;
        done++;
    }
    afn = s->arrival_fn;
    aarg = s->arrival_arg;
    int64_t q_max = atomic_load(&q->max_off); /* q may be gone after the unlock */
    pthread_mutex_unlock(&s->put_lock);
    pool_put(s, buf, cap);
    if (items != stack_items)
        free(items);
    if (done > 0) {
        atomic_fetch_add(&s->puts_total, (int64_t)done);
        store_indexer_wake(s);
        if (max_off > 0 && afn)
            afn(aarg, topic, qid, max_off, last_tags);
    }
    if (rc)
        return rc;
    if (res) {
        res->first_phy_off = first_phy;
        res->first_queue_off = first_qoff >= 0 ? first_qoff : q_max;
        res->store_ts = store_ts;
        res->end_phy_off = end_phy;
    }
    return TERN_OK;
}

/* ---- topics, stats ---- */

void store_delete_topic(struct store *s, tern_bytes_t topic)
{
    pthread_mutex_lock(&s->put_lock);
    pthread_rwlock_wrlock(&s->qmap_lock);
    const char *k;
    void *v;
    for (size_t it = 0; strmap_next(&s->qmap, &it, &k, &v);) {
        struct cq *q = v;
        if (q->topic_len != topic.len || memcmp(q->topic, topic.ptr, topic.len) != 0)
            continue;
        uint8_t key[TERN_MAX_TOPIC_BYTES + 8];
        size_t n = store_qkey(topic, q->queue_id, key);
        strmap_del(&s->qmap, tern_bytes(key, n));
        cq_destroy(q);
    }
    pthread_rwlock_unlock(&s->qmap_lock);
    pthread_mutex_unlock(&s->put_lock);
}

void store_each_queue(struct store *s, tern_bytes_t topic, void (*fn)(void *arg, int32_t queue_id),
                      void *arg)
{
    int32_t ids[TERN_MAX_QUEUES_PER_TOPIC];
    size_t n = 0;
    pthread_rwlock_rdlock(&s->qmap_lock);
    const char *k;
    void *v;
    for (size_t it = 0; strmap_next(&s->qmap, &it, &k, &v) && n < TERN_MAX_QUEUES_PER_TOPIC;) {
        struct cq *q = v;
        if (q->topic_len == topic.len && memcmp(q->topic, topic.ptr, topic.len) == 0)
            ids[n++] = q->queue_id;
    }
    pthread_rwlock_unlock(&s->qmap_lock);
    for (size_t i = 0; i < n; i++)
        fn(arg, ids[i]);
}

void store_each_known_queue(struct store *s,
                            void (*fn)(void *arg, tern_bytes_t topic, int32_t queue_id), void *arg)
{
    /* Copy out under the lock, call back without it. */
    struct known {
        char topic[128];
        size_t len;
        int32_t qid;
    };
    pthread_rwlock_rdlock(&s->qmap_lock);
    size_t n = strmap_count(&s->qmap), i = 0;
    struct known *k = xcalloc(n ? n : 1, sizeof *k);
    const char *key;
    void *v;
    for (size_t it = 0; i < n && strmap_next(&s->qmap, &it, &key, &v);) {
        struct cq *q = v;
        if (q->topic_len >= sizeof k[i].topic)
            continue;
        memcpy(k[i].topic, q->topic, q->topic_len);
        k[i].len = q->topic_len;
        k[i].qid = q->queue_id;
        i++;
    }
    pthread_rwlock_unlock(&s->qmap_lock);
    for (size_t j = 0; j < i; j++)
        fn(arg, tern_bytes(k[j].topic, k[j].len), k[j].qid);
    free(k);
}

void store_get_stats(struct store *s, struct store_stats *o)
{
    memset(o, 0, sizeof *o);
    o->commitlog_min_off = atomic_load(&s->cl->min_off);
    o->commitlog_max_off = atomic_load(&s->cl->max_off);
    o->flushed_off = atomic_load(&s->cl->flushed_off);
    o->dispatch_behind_bytes = s->idx ? o->commitlog_max_off - atomic_load(&s->index_phy) : 0;
    o->puts_total = atomic_load(&s->puts_total);
    o->gets_total = atomic_load(&s->gets_total);
    o->disk_total_bytes = atomic_load(&s->disk_total);
    o->disk_free_bytes = atomic_load(&s->disk_free);
    o->disk_full = atomic_load(&s->disk_full);
    o->earliest_msg_ts = -1;
    const uint8_t *p;
    int32_t size;
    int64_t next, pos = o->commitlog_min_off;
    commitlog_rdlock(s->cl);
    for (int hops = 0; hops < 2; hops++) {
        int rc = commitlog_peek(s->cl, pos, &p, &size, &next);
        if (rc == TERN_OK) {
            int32_t sf = (int32_t)be32_load(p + MSG_OFF_SYSFLAG);
            size_t at = msg_store_ts_off(sf);
            if (at + 8 <= (size_t)size)
                o->earliest_msg_ts = (int64_t)be64_load(p + at);
            break;
        }
        if (rc != TERN_ENOT_FOUND || next == pos)
            break;
        pos = next;
    }
    commitlog_unlock(s->cl);
}
