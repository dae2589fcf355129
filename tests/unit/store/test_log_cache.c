/* SPDX-License-Identifier: Apache-2.0 */
/* test_log_cache.c: the commit log's page-cache window (commitLogCacheBytes,
 * docs/design/store.md "Page-cache window"): written-back pages more than the
 * window below the flush point leave the page cache, every message stays
 * readable and intact, the alloc thread trades old units for new folios
 * on its own, and a reader below the window has the read-ahead thread
 * bring the log in ahead of it; with the window off (0) nothing is
 * dropped and no thread reads ahead. Residency is asked of the kernel
 * (mincore on the log's mappings). */
#include "harness.h"
#include "store_test_util.h"

#include <sys/mman.h>
#include <sys/vfs.h>

#include "store/commitlog.h"
#include "store/read_ahead.h"
#include "store/store_impl.h"

#define SEG_BYTES  (4 * 1024 * 1024)
#define BODY_BYTES 1000
#define NMSGS      12000

/* Resident pages of [off, off + len) of the log (all in one segment). */
static long resident_pages(struct commitlog *cl, int64_t off, int64_t len)
{
    const uint8_t *p;
    int64_t avail;
    long n = 0;
    commitlog_rdlock(cl);
    if (commitlog_locate(cl, off, &p, &avail) == TERN_OK && avail >= len) {
        size_t pages = (size_t)len / 4096;
        unsigned char *vec = calloc(pages, 1);
        if (mincore((void *)p, (size_t)len, vec) == 0)
            for (size_t i = 0; i < pages; i++)
                n += vec[i] & 1;
        else
            n = -1;
        free(vec);
    } else {
        n = -1;
    }
    commitlog_unlock(cl);
    return n;
}

static void body_of(int i, char *out)
{
    memset(out, 'a' + i % 26, BODY_BYTES);
    snprintf(out, 16, "m%07d", i);
    out[8] = '.'; /* replaces the terminator snprintf wrote */
    out[BODY_BYTES] = '\0';
}

/* Puts messages [from, to) into C/0. */
static int put_range(struct store *s, int from, int to)
{
    char body[BODY_BYTES + 1];
    for (int i = from; i < to; i++) {
        body_of(i, body);
        int rc = tst_put(s, "C", 0, body, NULL, NULL, NULL, NULL);
        if (rc != TERN_OK)
            return rc;
    }
    return TERN_OK;
}

/* Opens a store with 4 MiB segments, the given window and flush interval. */
static struct store *open_store(const char *dir, int64_t window, int flush_ms)
{
    struct store_config cfg;
    tst_config(&cfg, dir);
    cfg.commitlog_segment_bytes = SEG_BYTES;
    cfg.cq_segment_units = 100000;
    cfg.index_enable = false;
    cfg.log_cache_bytes = window;
    cfg.flush_interval_ms = flush_ms;
    struct store *s;
    return store_open(&cfg, &s) == TERN_OK ? s : NULL;
}

/* A store as open_store, with NMSGS 1000-byte messages in C/0, all written
 * back. */
static struct store *fill(const char *dir, int64_t window)
{
    struct store *s = open_store(dir, window, 50);
    if (s && (put_range(s, 0, NMSGS) != TERN_OK || store_flush_now(s) != TERN_OK)) {
        store_close(s);
        s = NULL;
    }
    return s;
}

/* Reads the whole queue back and checks every body. */
static int check_all(struct store *s)
{
    buf_t out;
    buf_init(&out);
    char want[BODY_BYTES + 1];
    int64_t off = 0;
    int bad = 0;
    while (off < NMSGS && !bad) {
        struct store_get_result r;
        buf_reset(&out);
        if (store_get(s, tern_cstr("C"), 0, off, 32, 1 << 20, NULL, NULL, &out, &r) != TERN_OK ||
            r.status != GET_FOUND || r.count < 1) {
            bad = 1;
            break;
        }
        for (int k = 0; k < r.count; k++) {
            struct msg_record m;
            body_of((int)off + k, want);
            if (tst_nth(buf_view(&out), k, &m) != TERN_OK || m.body.len != BODY_BYTES ||
                memcmp(m.body.ptr, want, BODY_BYTES) != 0)
                bad = 1;
        }
        off = r.next_off;
    }
    buf_deinit(&out);
    return bad ? -1 : (int)off;
}

static bool on_tmpfs(const char *dir)
{
    struct statfs sf;
    return statfs(dir, &sf) == 0 && sf.f_type == 0x01021994; /* TMPFS_MAGIC */
}

TEST(log_cache_window_drops_old_pages_and_reads_ahead_below_it)
{
    char *dir = tst_mkdtemp();
    if (on_tmpfs(dir)) {
        /* No page cache of its own to drop: nothing to check there. */
        fprintf(stderr, "skipped: %s is tmpfs\n", dir);
        tst_rm_rf(dir);
        return;
    }
    const int64_t window = 2 * 1024 * 1024;
    struct store *s = fill(dir, window);
    ASSERT(s != NULL);
    struct commitlog *cl = s->cl;
    int64_t flushed = atomic_load(&cl->flushed_off);
    ASSERT(flushed > 3 * SEG_BYTES);
    ASSERT(cl->ra != NULL);
    commitlog_trim_resident(cl, 0);
    /* The alloc thread's trades keep pace with the writes; whatever they
     * left, the trim takes down to half a window below the window's edge. */
    int64_t edge = (flushed - window) & ~(int64_t)(CL_FLUSH_UNIT - 1);
    int64_t floor = atomic_load(&cl->cache_floor);
    ASSERT(floor >= ((edge - window / 2) & ~(int64_t)(CL_FLUSH_UNIT - 1)));
    ASSERT(floor <= edge);
    ASSERT(floor >= 2 * SEG_BYTES);
    /* Below the floor: not one page cached. Inside the window: cached. */
    ASSERT_EQ(resident_pages(cl, 0, SEG_BYTES), 0);
    ASSERT_EQ(resident_pages(cl, SEG_BYTES, SEG_BYTES), 0);
    ASSERT(resident_pages(cl, edge, 64 * 1024) == 16);
    /* One get at the start reads ~32 KiB; the read-ahead thread brings in
     * the next 8 MiB: all of the second segment, which no get touched. */
    int64_t filled0 = read_ahead_filled(cl->ra);
    buf_t out;
    buf_init(&out);
    struct store_get_result r;
    ASSERT_EQ(store_get(s, tern_cstr("C"), 0, 0, 32, 1 << 20, NULL, NULL, &out, &r), TERN_OK);
    ASSERT_EQ(r.count, 32);
    buf_deinit(&out);
    long second = 0;
    for (int i = 0; i < 2000 && (read_ahead_filled(cl->ra) == filled0 || second < 1024); i++) {
        usleep(1000);
        second = resident_pages(cl, SEG_BYTES, SEG_BYTES);
    }
    ASSERT(read_ahead_filled(cl->ra) > filled0);
    ASSERT_EQ(second, SEG_BYTES / 4096);
    /* Everything reads back intact from the disk; the next trim drops
     * what the reads brought back in. */
    ASSERT_EQ(check_all(s), NMSGS);
    ASSERT(resident_pages(cl, 0, SEG_BYTES) > 0);
    commitlog_trim_resident(cl, 0);
    ASSERT_EQ(resident_pages(cl, 0, SEG_BYTES), 0);
    store_close(s);
    tst_rm_rf(dir);
}

/* With no periodic pass at all (a one-minute flush interval), the alloc
 * thread alone moves the window: one unit of written-back log below it
 * dropped for each folio it prefaults. */
TEST(log_cache_alloc_thread_trades_old_units_for_new_folios)
{
    char *dir = tst_mkdtemp();
    if (on_tmpfs(dir)) {
        fprintf(stderr, "skipped: %s is tmpfs\n", dir);
        tst_rm_rf(dir);
        return;
    }
    const int64_t window = 2 * 1024 * 1024;
    struct store *s = open_store(dir, window, 60000);
    ASSERT(s != NULL);
    struct commitlog *cl = s->cl;
    ASSERT_EQ(put_range(s, 0, NMSGS / 2), TERN_OK);
    ASSERT_EQ(store_flush_now(s), TERN_OK);
    ASSERT_EQ(atomic_load(&cl->cache_floor), 0);
    /* New segments, each prefaulted when made: trades. */
    ASSERT_EQ(put_range(s, NMSGS / 2, NMSGS), TERN_OK);
    for (int i = 0; i < 2000 && atomic_load(&cl->cache_floor) < 2 * CL_FLUSH_UNIT; i++)
        usleep(1000);
    int64_t floor = atomic_load(&cl->cache_floor);
    ASSERT(floor >= 2 * CL_FLUSH_UNIT);
    /* Never past the window's edge as it was when the log was written back. */
    ASSERT(floor <= atomic_load(&cl->flushed_off) - window);
    ASSERT_EQ(resident_pages(cl, 0, CL_FLUSH_UNIT), 0);
    ASSERT_EQ(check_all(s), NMSGS);
    store_close(s);
    tst_rm_rf(dir);
}

TEST(log_cache_window_off_leaves_the_page_cache_alone)
{
    char *dir = tst_mkdtemp();
    struct store *s = fill(dir, 0);
    ASSERT(s != NULL);
    struct commitlog *cl = s->cl;
    ASSERT(cl->ra == NULL);
    commitlog_trim_resident(cl, 0);
    ASSERT_EQ(atomic_load(&cl->cache_floor), 0);
    /* Unmapped from the process, but still in the page cache. */
    ASSERT_EQ(resident_pages(cl, 0, SEG_BYTES), SEG_BYTES / 4096);
    ASSERT_EQ(check_all(s), NMSGS);
    store_close(s);
    tst_rm_rf(dir);
}

TEST_MAIN()
