/* SPDX-License-Identifier: Apache-2.0 */
/* timer_service.c: the timer thread. Ingests TIMER_TOPIC queue 0 into bucket
 * files, loads the buckets coming due into a min-heap on (due, phy), and
 * re-puts each due record into REAL_TOPIC/REAL_QID with the timer properties
 * removed. Sleeps on a monotonic condvar exactly until the next due time (or
 * an arrival on TIMER_TOPIC). Progress (ingest offset, delivery cursor) is
 * saved after the timer files are fdatasync'd, at most every SAVE_MS, so a
 * kill -9 loses nothing; deliveries made after the last save are found again
 * by their TIMER_KEY in the commit log at start-up, so none repeats.
 * Thread ownership: see struct timer_service (timer.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "broker/persist.h"
#include "broker/timer.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "protocol/message.h"
#include "protocol/props.h"
#include "store/store.h"

#define SAVE_MS          50   /* progress save interval while delivering */
#define LOOKAHEAD_MS     2000 /* load a bucket this long before it starts */
#define INGEST_BATCH     256
#define INGEST_ROUNDS    16 /* batches per loop round, between deliveries */
#define DELIVER_BATCH    512
#define RETRY_MS         100 /* after a failed put */
#define IDLE_MAX_WAIT_MS 1000

static bool key_le(int64_t ams, int64_t aphy, int64_t bms, int64_t bphy)
{
    return ams < bms || (ams == bms && aphy <= bphy);
}

static bool ent_less(const struct timer_entry *a, const struct timer_entry *b)
{
    return a->due_ms < b->due_ms || (a->due_ms == b->due_ms && a->phy < b->phy);
}

static void heap_push(struct timer_service *ts, const struct timer_entry *e)
{
    if (ts->nheap == ts->capheap) {
        ts->capheap = ts->capheap ? ts->capheap * 2 : 1024;
        ts->heap = xrealloc(ts->heap, ts->capheap * sizeof *ts->heap);
    }
    size_t i = ts->nheap++;
    while (i > 0) {
        size_t up = (i - 1) / 2;
        if (!ent_less(e, &ts->heap[up]))
            break;
        ts->heap[i] = ts->heap[up];
        i = up;
    }
    ts->heap[i] = *e;
}

static void heap_pop(struct timer_service *ts)
{
    struct timer_entry last = ts->heap[--ts->nheap];
    size_t i = 0, n = ts->nheap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && ent_less(&ts->heap[c + 1], &ts->heap[c]))
            c++;
        if (!ent_less(&ts->heap[c], &last))
            break;
        ts->heap[i] = ts->heap[c];
        i = c;
    }
    if (n)
        ts->heap[i] = last;
}

size_t timer_loaded(const struct timer_service *ts)
{
    return ts->nheap;
}

/* TIMER_OUT_MS of a timer record (0 when absent or unparsable). */
static int64_t out_ms_of(tern_bytes_t props)
{
    tern_bytes_t v;
    if (!props_get(props, TIMER_PROP_OUT_MS, &v) || v.len == 0 || v.len >= 20)
        return 0;
    char tmp[21];
    memcpy(tmp, v.ptr, v.len);
    tmp[v.len] = '\0';
    return strtoll(tmp, NULL, 10);
}

/* deliver() result besides TERN_OK and errors: the record is gone or does
 * not match the entry. The cursor does not move past a dropped entry, so a
 * valid duplicate with the same key (re-ingested after a crash) still runs. */
#define DELIVER_DROPPED 1

/* Reads the record of e: its copy in the day's data file, else the commit
 * log. */
static int read_record(struct timer_service *ts, const struct timer_entry *e)
{
    buf_reset(&ts->rbuf);
    if (e->data_off >= 0)
        return timer_day_read(ts, e->due_ms / ts->day_ms, e->data_off, e->size, &ts->rbuf);
    return store_read_at(ts->store, e->phy, &ts->rbuf);
}

/* Re-puts the record of e into its real topic. TERN_OK when delivered,
 * DELIVER_DROPPED when the record is gone (counted), an error means "retry
 * later". */
static int deliver(struct timer_service *ts, const struct timer_entry *e)
{
    struct msg_record m;
    tern_bytes_t rt, rq;
    if (read_record(ts, e) != TERN_OK || msg_decode(ts->rbuf.data, ts->rbuf.len, &m) != TERN_OK ||
        m.phy_off != e->phy || !props_get(m.props, PROP_REAL_TOPIC, &rt) || rt.len == 0) {
        atomic_fetch_add(&ts->dropped, 1);
        log_warn("broker", "timer record at %lld (due %lld%s) is missing or malformed; dropped",
                 (long long)e->phy, (long long)e->due_ms, e->data_off >= 0 ? ", copy" : "");
        return DELIVER_DROPPED;
    }
    /* An entry is trusted only if the record is the timer record it was made
     * from: a stale or corrupt entry must not re-put another message, and a
     * copy torn by an OS crash must not deliver a damaged body. */
    if (!tern_bytes_eq_cstr(m.topic, TIMER_TOPIC) || m.total_size != e->size ||
        out_ms_of(m.props) != e->due_ms || (e->data_off >= 0 && !msg_check_crc(&m))) {
        if (atomic_fetch_add(&ts->dropped, 1) == 0)
            log_warn("broker",
                     "timer entry at %lld (due %lld, size %d) does not match its record; "
                     "dropped (logged once)",
                     (long long)e->phy, (long long)e->due_ms, (int)e->size);
        return DELIVER_DROPPED;
    }
    int32_t qid = 0;
    if (props_get(m.props, PROP_REAL_QID, &rq) && rq.len > 0 && rq.len < 11) {
        char tmp[12];
        memcpy(tmp, rq.ptr, rq.len);
        tmp[rq.len] = '\0';
        qid = (int32_t)atoi(tmp);
        if (qid < 0)
            qid = 0;
    }
    static const char *const SKIP[] = {PROP_REAL_TOPIC,
                                       PROP_REAL_QID,
                                       TIMER_PROP_OUT_MS,
                                       PROP_DELAY,
                                       PROP_TIMER_DELAY_SEC,
                                       PROP_TIMER_DELAY_MS,
                                       PROP_TIMER_DELIVER_MS,
                                       TIMER_PROP_KEY,
                                       NULL};
    buf_reset(&ts->pbuf);
    props_copy_except(&ts->pbuf, m.props, SKIP);
    char key[48];
    snprintf(key, sizeof key, "%lld:%lld", (long long)e->due_ms, (long long)e->phy);
    props_append(&ts->pbuf, TIMER_PROP_KEY, tern_cstr(key));
    struct store_msg sm;
    memset(&sm, 0, sizeof sm);
    sm.topic = rt;
    sm.queue_id = qid;
    sm.flag = m.flag;
    sm.sys_flag = m.sys_flag & ~(MSG_SYSFLAG_BORNHOST_V6 | MSG_SYSFLAG_STOREHOST_V6);
    sm.born_ts = m.born_ts;
    sm.born_host = m.born_host;
    sm.store_host = m.store_host;
    sm.reconsume_times = m.reconsume_times;
    sm.body = m.body;
    sm.props = buf_view(&ts->pbuf);
    struct store_put_result res;
    int rc = store_put(ts->store, &sm, 1, &res, NULL);
    if (rc != TERN_OK) {
        log_warn("broker", "timer delivery to %.*s failed: %s; retrying", (int)rt.len,
                 (const char *)rt.ptr, tern_strerror(rc));
        return rc;
    }
    atomic_fetch_add(&ts->delivered, 1);
    int64_t late = clock_wall_ms() - e->due_ms;
    if (late > atomic_load(&ts->max_late_ms))
        atomic_store(&ts->max_late_ms, late);
    return TERN_OK;
}

static void load_one(struct timer_service *ts, const struct timer_entry *e)
{
    if (!key_le(e->due_ms, e->phy, ts->cur_ms, ts->cur_phy))
        heap_push(ts, e);
}

/* Loads one bucket into the heap. */
static int load_bucket(struct timer_service *ts, int64_t slot)
{
    int64_t pos = 0;
    for (;;) {
        int n = timer_entry_read(ts, TIMER_F_BUCKET, slot, &pos, ts->wbuf, TIMER_SPLIT_CHUNK);
        if (n <= 0)
            return n;
        for (int i = 0; i < n; i++)
            load_one(ts, &ts->wbuf[i]);
    }
}

/* Loads buckets while one may hold entries that sort before the heap's top,
 * it starts within LOOKAHEAD_MS and its day was split into buckets. */
static void load_due_buckets(struct timer_service *ts, int64_t now)
{
    while (ts->next_slot * ts->bucket_ms <= now + LOOKAHEAD_MS &&
           ts->next_slot * ts->bucket_ms / ts->day_ms < ts->split_day &&
           (ts->nheap == 0 || ts->heap[0].due_ms >= ts->next_slot * ts->bucket_ms)) {
        int rc = load_bucket(ts, ts->next_slot);
        if (rc != TERN_OK) {
            log_error("broker", "cannot read timer bucket %lld: %s", (long long)ts->next_slot,
                      tern_strerror(rc));
            return; /* retried on the next round */
        }
        ts->next_slot++;
    }
}

/* Appends e to its bucket (and the heap when the bucket is loaded). */
static int bucket_entry(struct timer_service *ts, const struct timer_entry *e)
{
    int64_t slot = e->due_ms / ts->bucket_ms;
    int rc = timer_entry_append(ts, TIMER_F_BUCKET, slot, e);
    if (rc == TERN_OK && slot < ts->next_slot)
        heap_push(ts, e);
    return rc;
}

/* Files e where it waits: the index of its day while that day is not split,
 * else its bucket. */
static int file_entry(struct timer_service *ts, const struct timer_entry *e)
{
    int64_t day = e->due_ms / ts->day_ms;
    if (day >= ts->split_day)
        return timer_entry_append(ts, TIMER_F_DAY_IDX, day, e);
    return bucket_entry(ts, e);
}

static int cmp_entry(const void *a, const void *b)
{
    const struct timer_entry *x = a, *y = b;
    return ent_less(x, y) ? -1 : ent_less(y, x);
}

/* True while a day index is due to be split into buckets: the day starts
 * within long_ms + LOOKAHEAD_MS, so its buckets exist before they load. */
static bool split_pending(const struct timer_service *ts, int64_t now)
{
    return ts->split_day * ts->day_ms <= now + ts->long_ms + LOOKAHEAD_MS;
}

/* Splits one chunk of the next day index into buckets; once the index is
 * exhausted and the buckets are durable, deletes it and moves to the next
 * day. Entries behind the cursor were delivered and are left out. A crash
 * mid-split re-splits the whole index: the duplicates share keys and are
 * skipped at delivery. Returns false on an I/O error (retried later). */
static bool split_step(struct timer_service *ts, int64_t now)
{
    while (split_pending(ts, now)) {
        int n = timer_entry_read(ts, TIMER_F_DAY_IDX, ts->split_day, &ts->split_pos, ts->wbuf,
                                 TIMER_SPLIT_CHUNK);
        if (n < 0) {
            log_error("broker", "cannot read timer day index %lld: %s", (long long)ts->split_day,
                      tern_strerror(n));
            return false;
        }
        if (n == 0) {
            int rc = timer_files_sync(ts);
            if (rc != TERN_OK) {
                log_error("broker", "cannot sync timer buckets: %s", tern_strerror(rc));
                return false;
            }
            timer_files_unlink_range(ts, TIMER_F_DAY_IDX, ts->split_day, ts->split_day + 1);
            ts->split_day++;
            ts->split_pos = 0;
            continue;
        }
        /* Sorted, the chunk's appends walk the buckets in order. */
        qsort(ts->wbuf, (size_t)n, sizeof *ts->wbuf, cmp_entry);
        int rc = TERN_OK;
        for (int i = 0; i < n && rc == TERN_OK; i++)
            if (!key_le(ts->wbuf[i].due_ms, ts->wbuf[i].phy, ts->cur_ms, ts->cur_phy))
                rc = bucket_entry(ts, &ts->wbuf[i]);
        if (rc != TERN_OK) {
            log_error("broker", "cannot split timer day index %lld: %s", (long long)ts->split_day,
                      tern_strerror(rc));
            ts->split_pos = 0; /* again from the start; duplicates are harmless */
            return false;
        }
        return true; /* one chunk per round: deliveries go on meanwhile */
    }
    return true;
}

static bool was_fired(const struct timer_service *ts, const struct timer_entry *e);

/* Ingests new TIMER_TOPIC records, up to INGEST_ROUNDS batches; *more says
 * the queue may hold more. Returns false when a put or append failed. */
static bool ingest(struct timer_service *ts, bool *more)
{
    tern_bytes_t topic = tern_cstr(TIMER_TOPIC);
    *more = false;
    for (int round = 0; round < INGEST_ROUNDS; round++) {
        struct store_get_result r;
        buf_reset(&ts->gbuf);
        store_get(ts->store, topic, 0, ts->ingest_off, INGEST_BATCH, 4 << 20, NULL, NULL, &ts->gbuf,
                  &r);
        if (r.status == GET_OFFSET_TOO_SMALL || r.status == GET_OFFSET_OVERFLOW_BADLY ||
            r.status == GET_OFFSET_FOUND_NULL) {
            log_warn("broker", "timer ingest offset %lld moved to %lld (%s)",
                     (long long)ts->ingest_off, (long long)r.next_off,
                     store_get_status_name(r.status));
            ts->ingest_off = r.next_off;
            continue;
        }
        if (r.status != GET_FOUND && r.status != GET_MESSAGE_WAS_REMOVING)
            return true;
        int64_t flushed = -1;
        if (store_is_sync_flush(ts->store)) {
            struct store_stats st;
            store_get_stats(ts->store, &st);
            flushed = st.flushed_off;
        }
        size_t pos = 0;
        while (pos < ts->gbuf.len) {
            struct msg_record m;
            if (msg_decode(ts->gbuf.data + pos, ts->gbuf.len - pos, &m) != TERN_OK)
                break;
            /* SYNC_FLUSH: only records already durable, so a bucket entry or
             * delivery never outlives its record in a crash. */
            if (flushed >= 0 && m.phy_off + m.total_size > flushed) {
                ts->ingest_off = m.queue_off;
                return false; /* retried after RETRY_MS */
            }
            struct timer_entry e = {out_ms_of(m.props), m.phy_off, -1, m.total_size};
            if (key_le(e.due_ms, e.phy, ts->cur_ms, ts->cur_phy)) {
                /* Already behind the cursor: deliver now, outside the buckets
                 * (unless the start-up scan found it delivered). */
                if (!was_fired(ts, &e) && deliver(ts, &e) < TERN_OK) {
                    ts->ingest_off = m.queue_off;
                    return false;
                }
                ts->last_save_mono = 0; /* save soon: narrows the duplicate window */
            } else {
                int rc = TERN_OK;
                /* A long timer would outlive commit-log retention: copy its
                 * record, once, into the data file of its day. */
                if (e.due_ms - clock_wall_ms() > ts->long_ms) {
                    rc = timer_day_put(ts, e.due_ms / ts->day_ms,
                                       tern_bytes(ts->gbuf.data + pos, (size_t)m.total_size),
                                       &e.data_off);
                    if (rc == TERN_OK)
                        atomic_fetch_add(&ts->copied, 1);
                }
                if (rc == TERN_OK)
                    rc = file_entry(ts, &e);
                if (rc != TERN_OK) {
                    log_error("broker", "cannot file a timer entry: %s", tern_strerror(rc));
                    ts->ingest_off = m.queue_off;
                    return false;
                }
            }
            pos += (size_t)m.total_size;
            atomic_fetch_add(&ts->ingested, 1);
        }
        /* Units a removed segment skipped are gone: move past them too. */
        ts->ingest_off = r.next_off;
        if (r.count < INGEST_BATCH)
            return true;
    }
    *more = true;
    return true;
}

/* Delivers due heap entries in (due, phy) order. Returns false on a failed put. */
static bool deliver_due(struct timer_service *ts, int64_t now)
{
    for (int n = 0; n < DELIVER_BATCH; n++) {
        load_due_buckets(ts, now);
        if (ts->nheap == 0 || ts->heap[0].due_ms > now)
            return true;
        struct timer_entry e = ts->heap[0];
        if (!key_le(e.due_ms, e.phy, ts->cur_ms, ts->cur_phy)) {
            int rc = deliver(ts, &e);
            if (rc < TERN_OK)
                return false;
            if (rc == TERN_OK) {
                ts->cur_ms = e.due_ms;
                ts->cur_phy = e.phy;
            }
        }
        heap_pop(ts); /* duplicates (re-ingested after a crash) sort together */
    }
    return true;
}

/* On an idle stretch the cursor follows the clock: every key below the
 * heap's top, the first unloaded bucket, the first unsplit day and now has
 * been delivered (a timer ingested later behind it is delivered at once).
 * Moving it once per bucket lets empty buckets and days be reclaimed without
 * a progress save per round. */
static void advance_idle_cursor(struct timer_service *ts, int64_t now)
{
    int64_t x = now;
    if (ts->nheap && ts->heap[0].due_ms < x)
        x = ts->heap[0].due_ms;
    if (ts->next_slot * ts->bucket_ms < x)
        x = ts->next_slot * ts->bucket_ms;
    if (ts->split_day * ts->day_ms < x)
        x = ts->split_day * ts->day_ms;
    if ((x - 1) / ts->bucket_ms > ts->cur_ms / ts->bucket_ms) {
        ts->cur_ms = x - 1;
        ts->cur_phy = INT64_MAX;
    }
}

static bool was_fired(const struct timer_service *ts, const struct timer_entry *e)
{
    return ts->nfired && bsearch(e, ts->fired, ts->nfired, sizeof *e, cmp_entry) != NULL;
}

/* The key a delivered copy carries in TIMER_KEY, or false. */
static bool fired_key_of(tern_bytes_t props, struct timer_entry *e)
{
    tern_bytes_t v;
    char tmp[48];
    if (!props_get(props, TIMER_PROP_KEY, &v) || v.len == 0 || v.len >= sizeof tmp)
        return false;
    memcpy(tmp, v.ptr, v.len);
    tmp[v.len] = '\0';
    long long due, phy;
    if (sscanf(tmp, "%lld:%lld", &due, &phy) != 2)
        return false;
    *e = (struct timer_entry){due, phy, -1, 0};
    return true;
}

/* A TIMER_KEY is trusted only if it names the timer record m came from (a
 * client could send the property itself): that record has the key's due time
 * and m's body CRC and born time. A record retention already deleted cannot
 * be checked; its key is then trusted only for a due time m's store time
 * had reached (a forged one cannot skip a timer not yet due). */
static bool fired_key_valid(struct timer_service *ts, const struct timer_entry *e,
                            const struct msg_record *m, int64_t log_min)
{
    buf_reset(&ts->gbuf);
    struct msg_record o;
    if (store_read_at(ts->store, e->phy, &ts->gbuf) != TERN_OK ||
        msg_decode(ts->gbuf.data, ts->gbuf.len, &o) != TERN_OK)
        return e->phy < log_min && e->due_ms <= m->store_ts;
    return tern_bytes_eq_cstr(o.topic, TIMER_TOPIC) && out_ms_of(o.props) == e->due_ms &&
           o.body_crc == m->body_crc && o.born_ts == m->born_ts && e->due_ms <= m->store_ts;
}

/* After a crash, deliveries made after the last progress save are in the
 * commit log from the saved log_off on: find them by TIMER_KEY, move the
 * cursor past the greatest (deliveries run in key order) and remember them
 * all, so neither the buckets nor a re-ingest repeats them. A segment's
 * filler is skipped to the next segment. */
static void scan_fired(struct timer_service *ts, int64_t log_off)
{
    struct store_stats st;
    store_get_stats(ts->store, &st);
    if (log_off < st.commitlog_min_off)
        log_off = st.commitlog_min_off;
    size_t cap = 0;
    int64_t off = log_off, records = 0;
    while (off < st.commitlog_max_off) {
        buf_reset(&ts->rbuf);
        struct msg_record m;
        if (store_read_at(ts->store, off, &ts->rbuf) != TERN_OK ||
            msg_decode(ts->rbuf.data, ts->rbuf.len, &m) != TERN_OK) {
            off = (off / ts->seg_bytes + 1) * ts->seg_bytes;
            continue;
        }
        off += m.total_size;
        records++;
        struct timer_entry e;
        if (!fired_key_of(m.props, &e) || !fired_key_valid(ts, &e, &m, st.commitlog_min_off))
            continue;
        if (ts->nfired == cap) {
            cap = cap ? cap * 2 : 64;
            ts->fired = xrealloc(ts->fired, cap * sizeof *ts->fired);
        }
        ts->fired[ts->nfired++] = e;
        if (!key_le(e.due_ms, e.phy, ts->cur_ms, ts->cur_phy)) {
            ts->cur_ms = e.due_ms;
            ts->cur_phy = e.phy;
        }
    }
    if (ts->nfired)
        qsort(ts->fired, ts->nfired, sizeof *ts->fired, cmp_entry);
    log_info("broker", "timer: %zu deliveries found after the last save (%lld records scanned)",
             ts->nfired, (long long)records);
}

struct flush_wait {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    int status;
};

static void on_flushed(void *arg, int status)
{
    struct flush_wait *w = arg;
    pthread_mutex_lock(&w->mu);
    w->status = status;
    w->done = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

/* SYNC_FLUSH: waits until every record put so far (the re-puts of the
 * deliveries behind the cursor included) is durable, so the saved cursor
 * never passes a delivery a crash could lose. The store completes every
 * waiter (OK, timeout, error or shutdown). */
static int wait_reputs_durable(struct timer_service *ts)
{
    if (!store_is_sync_flush(ts->store))
        return TERN_OK;
    struct store_stats st;
    store_get_stats(ts->store, &st);
    if (st.commitlog_max_off <= st.flushed_off)
        return TERN_OK;
    struct flush_wait w = {.done = false, .status = TERN_OK};
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    store_wait_flush(ts->store, st.commitlog_max_off, on_flushed, &w);
    pthread_mutex_lock(&w.mu);
    while (!w.done)
        pthread_cond_wait(&w.cv, &w.mu);
    pthread_mutex_unlock(&w.mu);
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);
    return w.status;
}

static void save_progress(struct timer_service *ts)
{
    if (ts->ingest_off == ts->saved_ingest_off && ts->cur_ms == ts->saved_cur_ms &&
        ts->cur_phy == ts->saved_cur_phy)
        return;
    /* Every delivery so far is behind the cursor; later ones are put after
     * the log's current end (this thread is the only one delivering). */
    struct store_stats st;
    store_get_stats(ts->store, &st);
    struct timer_progress p = {ts->ingest_off, ts->cur_ms, ts->cur_phy, st.commitlog_max_off};
    int rc = wait_reputs_durable(ts);
    if (rc == TERN_OK)
        rc = timer_files_sync(ts);
    if (rc == TERN_OK)
        rc = timer_progress_save(ts, &p);
    if (rc != TERN_OK) {
        log_error("broker", "cannot save timer progress: %s", tern_strerror(rc));
        return;
    }
    ts->saved_ingest_off = ts->ingest_off;
    ts->saved_cur_ms = ts->cur_ms;
    ts->saved_cur_phy = ts->cur_phy;
    /* Buckets and days wholly before the saved cursor can go. */
    int64_t upto = ts->saved_cur_ms / ts->bucket_ms;
    if (upto > ts->reclaim_slot) {
        timer_files_unlink_range(ts, TIMER_F_BUCKET, ts->reclaim_slot, upto);
        ts->reclaim_slot = upto;
    }
    int64_t upto_day = ts->saved_cur_ms / ts->day_ms;
    if (upto_day > ts->reclaim_day) {
        timer_files_unlink_range(ts, TIMER_F_DAY_DAT, ts->reclaim_day, upto_day);
        timer_files_unlink_range(ts, TIMER_F_DAY_IDX, ts->reclaim_day, upto_day);
        ts->reclaim_day = upto_day;
    }
}

static void *timer_main(void *arg)
{
    pthread_setname_np(pthread_self(), "tern-timer");
    struct timer_service *ts = arg;
    pthread_mutex_lock(&ts->lock);
    while (!ts->stopping) {
        ts->kick = false;
        pthread_mutex_unlock(&ts->lock);
        bool more;
        bool ok = ingest(ts, &more);
        int64_t now = clock_wall_ms();
        ok = split_step(ts, now) && ok;
        ok = deliver_due(ts, now) && ok;
        if (ok)
            advance_idle_cursor(ts, now);
        int64_t mono = clock_mono_ms();
        if (mono - ts->last_save_mono >= SAVE_MS) {
            save_progress(ts);
            ts->last_save_mono = mono;
        }
        /* Next wake: the heap's top, the next bucket to load, or a pending save. */
        now = clock_wall_ms();
        int64_t wait = IDLE_MAX_WAIT_MS;
        if (!ok)
            wait = RETRY_MS;
        if (ts->nheap && ts->heap[0].due_ms - now < wait)
            wait = ts->heap[0].due_ms - now;
        int64_t next_start = ts->next_slot * ts->bucket_ms;
        if ((ts->nheap == 0 || ts->heap[0].due_ms >= next_start) &&
            next_start - LOOKAHEAD_MS - now < wait)
            wait = next_start - LOOKAHEAD_MS - now;
        int64_t split_at = ts->split_day * ts->day_ms - ts->long_ms - LOOKAHEAD_MS;
        if (ok && split_at - now < wait)
            wait = split_at - now; /* 0 while a split is under way */
        if (ts->ingest_off != ts->saved_ingest_off || ts->cur_ms != ts->saved_cur_ms ||
            ts->cur_phy != ts->saved_cur_phy) {
            if (wait > SAVE_MS)
                wait = SAVE_MS;
        }
        if (wait < 0 || (ok && more))
            wait = 0;
        pthread_mutex_lock(&ts->lock);
        if (!ts->kick && !ts->stopping && wait > 0) {
            int64_t dl = clock_mono_ns() + wait * 1000000;
            struct timespec tsp = {dl / 1000000000, dl % 1000000000};
            pthread_cond_timedwait(&ts->cond, &ts->lock, &tsp);
        }
    }
    pthread_mutex_unlock(&ts->lock);
    save_progress(ts);
    return NULL;
}

int timer_start(struct timer_service *ts)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/buckets", ts->dir);
    int rc = persist_mkdirs(path);
    snprintf(path, sizeof path, "%s/days", ts->dir);
    if (rc == TERN_OK)
        rc = persist_mkdirs(path);
    if (rc != TERN_OK)
        return rc;
    ts->dir_fd = open(ts->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (ts->dir_fd < 0)
        return -errno;
    for (int i = 0; i < TIMER_FD_CACHE; i++)
        ts->fds[i].fd = -1;
    buf_init(&ts->rbuf);
    buf_init(&ts->pbuf);
    buf_init(&ts->gbuf);
    ts->wbuf = xmalloc(TIMER_SPLIT_CHUNK * sizeof *ts->wbuf);
    ts->ready = true;
    tern_bytes_t topic = tern_cstr(TIMER_TOPIC);
    int64_t qmin = store_min_offset(ts->store, topic, 0);
    int64_t qmax = store_max_offset(ts->store, topic, 0);
    struct timer_progress pr;
    rc = timer_progress_load(ts, &pr);
    ts->ingest_off = pr.ingest_off;
    ts->cur_ms = pr.cur_ms;
    ts->cur_phy = pr.cur_phy;
    int64_t lo = timer_files_min_slot(ts, TIMER_F_BUCKET);
    if (rc == TERN_ENOT_FOUND) {
        /* First start: whatever the queue holds is pending; entries due
         * before now (or before the oldest bucket) are delivered at once. */
        int64_t now = clock_wall_ms();
        ts->ingest_off = qmin;
        ts->cur_ms = (lo >= 0 && lo * ts->bucket_ms < now ? lo * ts->bucket_ms : now) - 1;
        ts->cur_phy = INT64_MAX;
    } else if (rc != TERN_OK) {
        log_error("broker", "timer progress file in %s is unreadable: %s", ts->dir,
                  tern_strerror(rc));
        return rc;
    } else {
        scan_fired(ts, pr.log_off);
    }
    if (ts->ingest_off < qmin || ts->ingest_off > qmax) {
        log_warn("broker", "timer ingest offset %lld outside [%lld, %lld]; clamped",
                 (long long)ts->ingest_off, (long long)qmin, (long long)qmax);
        ts->ingest_off = ts->ingest_off < qmin ? qmin : qmax;
    }
    ts->saved_ingest_off = ts->ingest_off;
    ts->saved_cur_ms = ts->cur_ms;
    ts->saved_cur_phy = ts->cur_phy;
    ts->next_slot = ts->cur_ms / ts->bucket_ms;
    if (lo >= 0 && lo < ts->next_slot)
        timer_files_unlink_range(ts, TIMER_F_BUCKET, lo, ts->next_slot);
    ts->reclaim_slot = ts->next_slot;
    /* Day indexes from the cursor's day on are split again as they come near
     * (a split cut short by a crash is redone; its duplicates are harmless). */
    ts->split_day = ts->reclaim_day = ts->cur_ms / ts->day_ms;
    for (int k = TIMER_F_DAY_IDX; k <= TIMER_F_DAY_DAT; k++) {
        int64_t dlo = timer_files_min_slot(ts, k);
        if (dlo >= 0 && dlo < ts->reclaim_day)
            timer_files_unlink_range(ts, k, dlo, ts->reclaim_day);
    }

    pthread_mutex_init(&ts->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&ts->cond, &ca);
    pthread_condattr_destroy(&ca);
    rc = pthread_create(&ts->thread, NULL, timer_main, ts);
    if (rc != 0) {
        pthread_cond_destroy(&ts->cond);
        pthread_mutex_destroy(&ts->lock);
        return -rc;
    }
    ts->started = true;
    log_info("broker", "timer service: ingest offset %lld, cursor %lld, %d delay levels",
             (long long)ts->ingest_off, (long long)ts->cur_ms, ts->nlevels);
    return TERN_OK;
}

void timer_stop(struct timer_service *ts)
{
    if (ts->started) {
        pthread_mutex_lock(&ts->lock);
        ts->stopping = true;
        pthread_cond_signal(&ts->cond);
        pthread_mutex_unlock(&ts->lock);
        pthread_join(ts->thread, NULL);
        pthread_cond_destroy(&ts->cond);
        pthread_mutex_destroy(&ts->lock);
        ts->started = false;
    }
    if (!ts->ready)
        return;
    ts->ready = false;
    timer_files_close_all(ts);
    close(ts->dir_fd);
    free(ts->wbuf);
    ts->wbuf = NULL;
    free(ts->fired);
    ts->fired = NULL;
    ts->nfired = 0;
    free(ts->heap);
    ts->heap = NULL;
    ts->nheap = ts->capheap = 0;
    buf_deinit(&ts->rbuf);
    buf_deinit(&ts->pbuf);
    buf_deinit(&ts->gbuf);
}

void timer_notify(struct timer_service *ts, tern_bytes_t topic)
{
    if (!ts->started || topic.len != sizeof TIMER_TOPIC - 1 ||
        memcmp(topic.ptr, TIMER_TOPIC, topic.len) != 0)
        return;
    pthread_mutex_lock(&ts->lock);
    ts->kick = true;
    pthread_cond_signal(&ts->cond);
    pthread_mutex_unlock(&ts->lock);
}
