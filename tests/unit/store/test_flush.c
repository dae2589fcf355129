/* SPDX-License-Identifier: Apache-2.0 */
/* test_flush.c: flush modes and the checkpoint file: SYNC_FLUSH group commit
 * completes waiters only once their bytes are flushed, times out waiters it
 * cannot satisfy, ASYNC_FLUSH completes at once; checkpoint slots survive a
 * torn write of the newer one; a consume-queue flush rewrites only the pages
 * of its tail. */
#include "harness.h"
#include "store_test_util.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>

#include "store/checkpoint.h"
#include "store/commitlog.h"
#include "store/consume_queue.h"

struct waiter {
    struct store *s;
    int64_t end;
    atomic_int status;
    atomic_int calls;
    atomic_llong flushed_at_cb;
};

static void on_flushed(void *arg, int status)
{
    struct waiter *w = arg;
    struct store_stats st;
    store_get_stats(w->s, &st);
    atomic_store(&w->flushed_at_cb, st.flushed_off);
    atomic_store(&w->status, status);
    atomic_fetch_add(&w->calls, 1);
}

static void wait_calls(struct waiter *w, int n)
{
    for (int i = 0; i < 2000 && atomic_load(&w->calls) < n; i++)
        usleep(1000);
}

TEST(sync_flush_waiters_complete_after_flush)
{
    char *dir = tst_mkdtemp();
    struct store_config cfg;
    tst_config(&cfg, dir);
    cfg.flush_mode = STORE_SYNC_FLUSH;
    cfg.flush_interval_ms = 10000; /* only waiters wake the flush thread */
    struct store *s;
    ASSERT_EQ(store_open(&cfg, &s), TERN_OK);
    ASSERT(store_is_sync_flush(s));
    struct waiter w[20];
    for (int i = 0; i < 20; i++) {
        struct store_put_result r;
        ASSERT_EQ(tst_put(s, "F", 0, "durable please", NULL, NULL, NULL, &r), TERN_OK);
        w[i] = (struct waiter){.s = s, .end = r.end_phy_off};
        store_wait_flush(s, r.end_phy_off, on_flushed, &w[i]);
    }
    for (int i = 0; i < 20; i++) {
        wait_calls(&w[i], 1);
        ASSERT_EQ(atomic_load(&w[i].calls), 1);
        ASSERT_EQ(atomic_load(&w[i].status), TERN_OK);
        ASSERT(atomic_load(&w[i].flushed_at_cb) >= w[i].end);
    }
    /* Already durable: the callback runs at once on this thread. */
    struct waiter again = {.s = s, .end = w[0].end};
    store_wait_flush(s, w[0].end, on_flushed, &again);
    ASSERT_EQ(atomic_load(&again.calls), 1);
    /* Bytes that will never exist: TERN_ETIMEOUT after the timeout. */
    store_close(s);
    cfg.sync_flush_timeout_ms = 30;
    ASSERT_EQ(store_open(&cfg, &s), TERN_OK);
    struct store_stats st;
    store_get_stats(s, &st);
    struct waiter never = {.s = s};
    store_wait_flush(s, st.commitlog_max_off + 100000, on_flushed, &never);
    wait_calls(&never, 1);
    ASSERT_EQ(atomic_load(&never.calls), 1);
    ASSERT_EQ(atomic_load(&never.status), TERN_ETIMEOUT);
    store_close(s);
    tst_rm_rf(dir);
}

struct sync_ctx {
    struct store *s;
    int n;
    int bad;
};

static void *sync_producer(void *arg)
{
    struct sync_ctx *c = arg;
    for (int i = 0; i < c->n; i++) {
        struct store_put_result r;
        if (tst_put(c->s, "G", 1, "group commit", NULL, NULL, NULL, &r) != TERN_OK) {
            c->bad++;
            continue;
        }
        struct waiter w = {.s = c->s, .end = r.end_phy_off};
        store_wait_flush(c->s, r.end_phy_off, on_flushed, &w);
        wait_calls(&w, 1);
        if (atomic_load(&w.status) != TERN_OK || atomic_load(&w.flushed_at_cb) < r.end_phy_off)
            c->bad++;
    }
    return NULL;
}

TEST(sync_flush_group_commit_many_threads)
{
    char *dir = tst_mkdtemp();
    struct store_config cfg;
    tst_config(&cfg, dir);
    cfg.flush_mode = STORE_SYNC_FLUSH;
    struct store *s;
    ASSERT_EQ(store_open(&cfg, &s), TERN_OK);
    struct sync_ctx c[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        c[i] = (struct sync_ctx){s, 100, 0};
        pthread_create(&th[i], NULL, sync_producer, &c[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        ASSERT_EQ(c[i].bad, 0);
    }
    ASSERT_EQ(store_max_offset(s, tern_cstr("G"), 1), 400);
    store_close(s);
    tst_rm_rf(dir);
}

/* Pipelined group commit (every worker thread) across segment rolls: 16 threads put 1 KiB records
 * into 1 MiB segments, so syncs in flight cover ranges that span segments and
 * complete in any order; every callback must still see its bytes below the
 * published flushed offset, which only ever grows. */
struct pipe_ctx {
    struct store *s;
    int n;
    int bad;
    int64_t last_seen;
};

static void *pipe_producer(void *arg)
{
    struct pipe_ctx *c = arg;
    char body[1025];
    memset(body, 'k', 1024);
    body[1024] = 0;
    for (int i = 0; i < c->n; i++) {
        struct store_put_result r;
        if (tst_put(c->s, "P", i % 4, body, NULL, NULL, NULL, &r) != TERN_OK) {
            c->bad++;
            continue;
        }
        struct waiter w = {.s = c->s, .end = r.end_phy_off};
        store_wait_flush(c->s, r.end_phy_off, on_flushed, &w);
        wait_calls(&w, 1);
        int64_t seen = atomic_load(&w.flushed_at_cb);
        if (atomic_load(&w.status) != TERN_OK || seen < r.end_phy_off || seen < c->last_seen)
            c->bad++;
        c->last_seen = seen;
    }
    return NULL;
}

TEST(sync_flush_pipelined_syncs_span_segments)
{
    char *dir = tst_mkdtemp();
    struct store_config cfg;
    tst_config(&cfg, dir);
    cfg.flush_mode = STORE_SYNC_FLUSH;
    cfg.flush_interval_ms = 10000;
    cfg.sync_flush_threads = 4; /* the most: syncs overlap */
    struct store *s;
    ASSERT_EQ(store_open(&cfg, &s), TERN_OK);
    struct pipe_ctx c[16];
    pthread_t th[16];
    for (int i = 0; i < 16; i++) {
        c[i] = (struct pipe_ctx){s, 200, 0, 0};
        pthread_create(&th[i], NULL, pipe_producer, &c[i]);
    }
    int bad = 0;
    for (int i = 0; i < 16; i++) {
        pthread_join(th[i], NULL);
        bad += c[i].bad;
    }
    ASSERT_EQ(bad, 0);
    struct store_stats st;
    store_get_stats(s, &st);
    ASSERT(st.commitlog_max_off > 3 * cfg.commitlog_segment_bytes); /* rolled */
    ASSERT_EQ(st.flushed_off, st.commitlog_max_off);
    store_close(s);
    /* Every acknowledged record is there after reopening. */
    ASSERT_EQ(store_open(&cfg, &s), TERN_OK);
    int64_t total = 0;
    for (int q = 0; q < 4; q++)
        total += store_max_offset(s, tern_cstr("P"), q);
    ASSERT_EQ(total, 16 * 200);
    store_close(s);
    tst_rm_rf(dir);
}

/* commitlog level: the flushed offset never moves back, a range sync spans
 * segments, retention stops below a sync in flight, and dropping resident
 * pages keeps the data readable. */
TEST(commitlog_sync_range_mark_and_trim)
{
    char *dir = tst_mkdtemp();
    struct commitlog *cl;
    const int64_t seg = 64 * 1024;
    ASSERT_EQ(commitlog_open(dir, seg, true, &cl), TERN_OK);
    int64_t end;
    ASSERT_EQ(commitlog_recover(cl, false, -1, &end), TERN_OK);
    ASSERT_EQ(end, 0);
    /* Fill four segments with 1000-byte pseudo records (no magic needed:
     * only bytes are checked here). */
    uint8_t rec[1000];
    int64_t written = 0;
    for (int i = 0; written < 4 * seg - 2000; i++) {
        int64_t phy;
        ASSERT_EQ(commitlog_reserve(cl, sizeof rec, &phy), TERN_OK);
        memset(rec, (int)(i & 0x7F) + 1, sizeof rec);
        ASSERT_EQ(commitlog_write(cl, phy, rec, sizeof rec), TERN_OK);
        written = phy + (int64_t)sizeof rec;
        commitlog_publish(cl, written);
    }
    ASSERT_EQ(commitlog_sync_range(cl, 100, written), TERN_OK);
    commitlog_mark_flushed(cl, written);
    commitlog_mark_flushed(cl, 10);
    ASSERT_EQ(atomic_load(&cl->flushed_off), written);
    /* A sync "in flight" at the second segment: nothing at or above it may
     * be deleted, even when everything is flushed. */
    atomic_store(&cl->sync_floor, seg + 5);
    ASSERT_EQ(commitlog_delete_old(cl, 0, true, written, 100), 1);
    atomic_store(&cl->sync_floor, INT64_MAX);
    /* Drop every resident page, then read back through the mapping. */
    commitlog_trim_resident(cl, 0);
    const uint8_t *p;
    int64_t avail;
    commitlog_rdlock(cl);
    ASSERT_EQ(commitlog_locate(cl, seg, &p, &avail), TERN_OK);
    bool same = true;
    for (int64_t i = 1; i < 1000; i++)
        same = same && p[i] == p[0] && p[0] != 0;
    commitlog_unlock(cl);
    ASSERT(same);
    commitlog_close(cl);
    tst_rm_rf(dir);
}

/* Polls the store's stats every 2 ms, for at most ms, until the log is
 * flushed to at least off. OUT: *st, the last stats read. */
static void wait_flushed(struct store *s, int64_t off, int ms, struct store_stats *st)
{
    store_get_stats(s, st);
    for (int i = 0; i < ms / 2 && st->flushed_off < off; i++) {
        usleep(2000);
        store_get_stats(s, st);
    }
}

TEST(async_flush_completes_at_once_and_flushes_in_background)
{
    char *dir = tst_mkdtemp();
    struct store_config cfg;
    tst_config(&cfg, dir);
    cfg.flush_interval_ms = 20;
    struct store *s;
    ASSERT_EQ(store_open(&cfg, &s), TERN_OK);
    struct store_put_result r;
    ASSERT_EQ(tst_put(s, "A", 0, "x", NULL, NULL, NULL, &r), TERN_OK);
    struct waiter w = {.s = s};
    store_wait_flush(s, r.end_phy_off, on_flushed, &w);
    ASSERT_EQ(atomic_load(&w.calls), 1);
    ASSERT_EQ(atomic_load(&w.status), TERN_OK);
    struct store_stats st;
    wait_flushed(s, r.end_phy_off, 1000, &st);
    ASSERT_EQ(st.flushed_off, r.end_phy_off);
    store_close(s);
    tst_rm_rf(dir);
}

/* ASYNC_FLUSH writes the log back each interval only up to the last record
 * boundary before the 2 MiB unit it ends in, and all of it every
 * flush_thorough_ms (flush.c, async_flush_target): a small put is not
 * written back by the next intervals; once a unit is crossed, the log is
 * written back to a record boundary short of it; the thorough flush takes
 * the rest. That boundary is checkpointed, so a crash right after must
 * recover every record (a mid-record checkpoint would cut the log there). */
TEST(async_flush_partial_unit_waits_for_thorough_flush)
{
    char *dir = tst_mkdtemp();
    struct store_config cfg;
    tst_config(&cfg, dir);
    cfg.commitlog_segment_bytes = 8 * 1024 * 1024;
    cfg.flush_interval_ms = 20;
    cfg.flush_thorough_ms = 3000;
    struct store *s;
    ASSERT_EQ(store_open(&cfg, &s), TERN_OK);
    usleep(100 * 1000); /* the first interval flush is a thorough one */
    struct store_put_result r;
    ASSERT_EQ(tst_put(s, "A", 0, "x", NULL, NULL, NULL, &r), TERN_OK);
    usleep(300 * 1000); /* 15 intervals */
    struct store_stats st = {0};
    store_get_stats(s, &st);
    ASSERT_EQ(st.flushed_off, 0);
    char body[4096];
    memset(body, 'y', sizeof body - 1);
    body[sizeof body - 1] = '\0';
    int64_t before_unit = 0; /* the start of the record that crosses 2 MiB */
    while (r.end_phy_off < 2 * 1024 * 1024 + 64 * 1024) {
        int64_t start = r.end_phy_off;
        ASSERT_EQ(tst_put(s, "A", 0, body, NULL, NULL, NULL, &r), TERN_OK);
        if (start < 2 * 1024 * 1024 && r.end_phy_off > 2 * 1024 * 1024)
            before_unit = start;
    }
    wait_flushed(s, 1, 1000, &st);
    ASSERT_EQ(st.flushed_off, before_unit);
    usleep(100 * 1000); /* the checkpoint follows the flush */
    store_crash_close(s);
    ASSERT_EQ(store_open(&cfg, &s), TERN_OK);
    store_get_stats(s, &st);
    ASSERT_EQ(st.commitlog_max_off, r.end_phy_off);
    wait_flushed(s, r.end_phy_off, 5000, &st);
    ASSERT_EQ(st.flushed_off, r.end_phy_off);
    store_close(s);
    tst_rm_rf(dir);
}

static bool abort_marker_exists(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/abort", dir);
    return access(path, F_OK) == 0;
}

/* A failed SYNC_FLUSH sync is sticky: the waiter fails (not OK, not a late
 * timeout), later waiters fail at once, flushed_off and the checkpoint never
 * pass the failure, and close keeps the abort marker so the next open scans. */
TEST(sync_flush_failure_is_sticky)
{
    char *dir = tst_mkdtemp();
    struct store_config cfg;
    tst_config(&cfg, dir);
    cfg.flush_mode = STORE_SYNC_FLUSH;
    cfg.flush_interval_ms = 10000;
    cfg.sync_flush_timeout_ms = 60000;
    struct store *s;
    ASSERT_EQ(store_open(&cfg, &s), TERN_OK);
    struct store_put_result a, b, c;
    ASSERT_EQ(tst_put(s, "F", 0, "first", NULL, NULL, NULL, &a), TERN_OK);
    struct waiter wa = {.s = s};
    store_wait_flush(s, a.end_phy_off, on_flushed, &wa);
    wait_calls(&wa, 1);
    ASSERT_EQ(atomic_load(&wa.status), TERN_OK);

    store_test_fail_syncs(s, 1);
    ASSERT_EQ(tst_put(s, "F", 0, "second", NULL, NULL, NULL, &b), TERN_OK);
    struct waiter wb = {.s = s};
    store_wait_flush(s, b.end_phy_off, on_flushed, &wb);
    wait_calls(&wb, 1);
    ASSERT_EQ(atomic_load(&wb.calls), 1);
    ASSERT(atomic_load(&wb.status) != TERN_OK);
    ASSERT(atomic_load(&wb.status) != TERN_ETIMEOUT);

    ASSERT_EQ(tst_put(s, "F", 0, "third", NULL, NULL, NULL, &c), TERN_OK);
    struct waiter wc = {.s = s};
    store_wait_flush(s, c.end_phy_off, on_flushed, &wc);
    ASSERT_EQ(atomic_load(&wc.calls), 1); /* failed at once */
    ASSERT(atomic_load(&wc.status) != TERN_OK);
    usleep(1200 * 1000); /* a periodic pass (STORE_CQ_FLUSH_MS) must not advance */
    struct store_stats st;
    store_get_stats(s, &st);
    ASSERT(st.flushed_off <= a.end_phy_off);
    ASSERT(store_flush_now(s) != TERN_OK);
    store_close(s);
    ASSERT(abort_marker_exists(dir));

    struct checkpoint *cp;
    struct checkpoint_data got;
    bool valid;
    ASSERT_EQ(checkpoint_open(dir, &cp, &got, &valid), TERN_OK);
    ASSERT(!valid || got.phy_flushed_off <= a.end_phy_off);
    checkpoint_close(cp);

    /* The next open re-scans the tail (the data is still in the page cache). */
    ASSERT_EQ(store_open(&cfg, &s), TERN_OK);
    ASSERT_EQ(store_max_offset(s, tern_cstr("F"), 0), 3);
    store_close(s);
    ASSERT(!abort_marker_exists(dir));
    tst_rm_rf(dir);
}

/* ASYNC_FLUSH: the periodic flush does not retry a failed sync and advance
 * flushed_off past pages it may have lost. */
TEST(async_flush_failure_is_sticky)
{
    char *dir = tst_mkdtemp();
    struct store_config cfg;
    tst_config(&cfg, dir);
    cfg.flush_interval_ms = 20;
    struct store *s;
    ASSERT_EQ(store_open(&cfg, &s), TERN_OK);
    struct store_put_result a, b;
    ASSERT_EQ(tst_put(s, "A", 0, "x", NULL, NULL, NULL, &a), TERN_OK);
    struct store_stats st;
    wait_flushed(s, a.end_phy_off, 1000, &st);
    ASSERT_EQ(st.flushed_off, a.end_phy_off);
    store_test_fail_syncs(s, 1);
    ASSERT_EQ(tst_put(s, "A", 0, "y", NULL, NULL, NULL, &b), TERN_OK);
    usleep(300 * 1000);
    store_get_stats(s, &st);
    ASSERT_EQ(st.flushed_off, a.end_phy_off);
    ASSERT(store_flush_now(s) != TERN_OK);
    store_get_stats(s, &st);
    ASSERT_EQ(st.flushed_off, a.end_phy_off);
    store_close(s);
    ASSERT(abort_marker_exists(dir));
    tst_rm_rf(dir);
}

TEST(checkpoint_two_slots_survive_torn_write)
{
    char *dir = tst_mkdtemp();
    struct checkpoint *cp;
    struct checkpoint_data d, got;
    bool valid;
    ASSERT_EQ(checkpoint_open(dir, &cp, &got, &valid), TERN_OK);
    ASSERT(!valid);
    for (int i = 1; i <= 3; i++) {
        d = (struct checkpoint_data){.phy_flushed_off = 1000 * i,
                                     .cq_flushed_phy = 900 * i,
                                     .index_phy = 800 * i,
                                     .write_ms = 5};
        ASSERT_EQ(checkpoint_write(cp, &d, true), TERN_OK);
    }
    checkpoint_close(cp);
    ASSERT_EQ(checkpoint_open(dir, &cp, &got, &valid), TERN_OK);
    ASSERT(valid);
    ASSERT_EQ(got.phy_flushed_off, 3000);
    ASSERT_EQ(got.cq_flushed_phy, 2700);
    ASSERT_EQ(got.index_phy, 2400);
    checkpoint_close(cp);
    /* seq 3 lives in slot 1 (@2048): tear it; slot 0 (seq 2) remains. */
    char path[4096];
    snprintf(path, sizeof path, "%s/checkpoint", dir);
    int fd = open(path, O_RDWR);
    ASSERT(fd >= 0);
    ASSERT_EQ(pwrite(fd, "\xff\xff", 2, CKPT_SLOT1_POS + CKPT_OFF_PHY + 3), 2);
    close(fd);
    ASSERT_EQ(checkpoint_open(dir, &cp, &got, &valid), TERN_OK);
    ASSERT(valid);
    ASSERT_EQ(got.phy_flushed_off, 2000);
    /* The next write goes after the highest valid seq. */
    d.phy_flushed_off = 4000;
    ASSERT_EQ(checkpoint_write(cp, &d, false), TERN_OK);
    checkpoint_close(cp);
    ASSERT_EQ(checkpoint_open(dir, &cp, &got, &valid), TERN_OK);
    ASSERT_EQ(got.phy_flushed_off, 4000);
    checkpoint_close(cp);
    tst_rm_rf(dir);
}

/* Bytes this process has dirtied in the page cache (/proc/self/io
 * write_bytes: a folio counts whole when it turns dirty); -1 if unknown. */
static long long dirtied_bytes(void)
{
    return tst_proc_self_num("io", "write_bytes");
}

/* A queue written slowly is flushed with one new unit each time. Each flush
 * cleans the tail folio and the next unit dirties it again, so a queue
 * mapped with 2 MiB folios wrote 2 MiB per flush; with the small folios
 * consume-queue files use (mapped_file.c) it is one or two 4 KiB pages. */
TEST(cq_flush_rewrites_only_tail_pages)
{
    if (dirtied_bytes() < 0)
        return; /* no I/O accounting in this kernel */
    char *dir = tst_mkdtemp();
    struct cq *q;
    cq_new(dir, tern_cstr("Slow"), 0, 300000 /* 6 MB per file */, true, &q);
    ASSERT_EQ(cq_put(q, 0, 0, 100, 0), TERN_OK);
    ASSERT_EQ(cq_flush(q), TERN_OK);
    long long before = dirtied_bytes();
    for (int i = 1; i <= 16; i++) {
        ASSERT_EQ(cq_put(q, i, (int64_t)i * 100, 100, 0), TERN_OK);
        ASSERT_EQ(cq_flush(q), TERN_OK);
    }
    long long dirtied = dirtied_bytes() - before;
    ASSERT(dirtied <= 16 * 2 * 4096);
    struct cq_unit u;
    ASSERT_EQ(cq_read_unit(q, 16, &u), TERN_OK);
    ASSERT_EQ(u.phy_off, 1600);
    cq_destroy(q);
    tst_rm_rf(dir);
}

TEST_MAIN()
