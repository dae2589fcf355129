/* SPDX-License-Identifier: Apache-2.0 */
/* test_warm_pool.c: the warm pool (warm_pool.h): nothing resident until
 * armed; armed, its refill thread (at SCHED_IDLE) makes every slot resident;
 * a give frees one page, which the refill makes resident again; freeing the
 * pool gives the memory back. And the commit log: a pool only where its
 * folios are large (ASYNC_FLUSH writing through the mapping), armed by the
 * appender, traded for each 2 MiB folio the prefault starts. */
#include "harness.h"
#include "store_test_util.h"

#include <dirent.h>

#include "store/commitlog.h"
#include "store/warm_pool.h"

static long rss_anon_kb(void)
{
    return (long)tst_proc_self_num("status", "RssAnon");
}

/* Threads of this process whose scheduling policy is SCHED_IDLE (field 41
 * of /proc/self/task/N/stat). */
static int idle_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[320], buf[1024];
        snprintf(path, sizeof path, "/proc/self/task/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        size_t len = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        if (f)
            fclose(f);
        buf[len] = '\0';
        const char *p = strrchr(buf, ')'); /* the name may hold spaces */
        for (int field = 2; p && field < 41; field++)
            p = strchr(p + 1, ' ');
        n += p && atoi(p + 1) == SCHED_IDLE;
    }
    if (d)
        closedir(d);
    return n;
}

/* Waits up to 10 s for `resident` slots; returns the stats seen last. */
static struct warm_pool_stats wait_resident(struct warm_pool *p, int resident)
{
    struct warm_pool_stats st;
    for (int i = 0; i < 1000; i++) {
        warm_pool_stats(p, &st);
        if (st.resident == resident)
            break;
        sleep_ms(10);
    }
    return st;
}

TEST(pool_fills_when_armed_and_refills_what_it_gives)
{
    const int pages = 3;
    int idle_before = idle_threads();
    long before = rss_anon_kb();
    struct warm_pool *p;
    ASSERT_EQ(warm_pool_new(pages, &p), TERN_OK);
    for (int i = 0; i < 100 && idle_threads() == idle_before; i++)
        sleep_ms(10); /* the refill thread sets its own policy */
    ASSERT_EQ(idle_threads(), idle_before + 1);
    /* Not armed: nothing to give, nothing made resident. */
    sleep_ms(50);
    ASSERT(!warm_pool_give(p));
    struct warm_pool_stats st;
    warm_pool_stats(p, &st);
    ASSERT_EQ(st.resident, 0);
    ASSERT_EQ(st.refilled, 0);
    ASSERT_EQ(st.missed, 1);
    ASSERT(rss_anon_kb() - before < 1024);
    /* Armed: every slot becomes resident memory. */
    warm_pool_arm(p);
    st = wait_resident(p, pages);
    ASSERT_EQ(st.resident, pages);
    ASSERT_EQ(st.refilled, pages);
    ASSERT(rss_anon_kb() - before >= (long)pages * 2048 * 9 / 10);
    /* A give frees one page; the refill makes it resident again. */
    ASSERT(warm_pool_give(p));
    warm_pool_stats(p, &st);
    ASSERT_EQ(st.given, 1);
    st = wait_resident(p, pages);
    ASSERT_EQ(st.resident, pages);
    ASSERT_EQ(st.refilled, pages + 1);
    /* Gives beyond what is resident are counted as misses, not waited for
     * (the refill may have made a page resident again in between). */
    struct warm_pool_stats before_gives;
    warm_pool_stats(p, &before_gives);
    int got = 0;
    for (int i = 0; i < pages + 2; i++)
        got += warm_pool_give(p);
    warm_pool_stats(p, &st);
    ASSERT(got >= pages);
    ASSERT_EQ(st.given, before_gives.given + got);
    ASSERT_EQ(st.missed, before_gives.missed + (pages + 2 - got));
    warm_pool_free(p);
    ASSERT(rss_anon_kb() - before < 1024);
    ASSERT_EQ(idle_threads(), idle_before);
    warm_pool_free(NULL);
}

TEST(pool_rejects_bad_sizes)
{
    struct warm_pool *p = NULL;
    ASSERT_EQ(warm_pool_new(0, &p), TERN_EINVALID);
    ASSERT_EQ(warm_pool_new(17, &p), TERN_EINVALID);
    ASSERT(p == NULL);
}

/* Opens a log in dir with the given modes and starts its alloc thread. */
static struct commitlog *open_log(const char *dir, enum cl_write_mode mode, bool write_ahead)
{
    struct commitlog *cl;
    ASSERT_EQ(commitlog_open(dir, 4 * WARM_POOL_PAGE, true, &cl), TERN_OK);
    int64_t end;
    ASSERT_EQ(commitlog_recover(cl, false, -1, &end), TERN_OK);
    cl->write_mode = mode;
    cl->write_ahead = write_ahead;
    ASSERT_EQ(commitlog_start_alloc(cl), TERN_OK);
    return cl;
}

/* Appends n records of len bytes. */
static void append(struct commitlog *cl, int n, size_t len)
{
    static uint8_t rec[64 * 1024];
    for (int i = 0; i < n; i++) {
        int64_t phy;
        ASSERT_EQ(commitlog_reserve(cl, len, &phy), TERN_OK);
        ASSERT_EQ(commitlog_write(cl, phy, rec, len), TERN_OK);
        commitlog_publish(cl, phy + (int64_t)len);
    }
}

TEST(commitlog_trades_pool_pages_for_large_folios)
{
    /* pwrite or write-ahead (SYNC_FLUSH): small folios, no pool. */
    char *dir = tst_mkdtemp();
    struct commitlog *cl = open_log(dir, CL_WRITE_PWRITE, false);
    ASSERT(cl->pool == NULL);
    commitlog_close(cl);
    tst_rm_rf(dir);
    dir = tst_mkdtemp();
    cl = open_log(dir, CL_WRITE_MMAP, true);
    ASSERT(cl->pool == NULL);
    commitlog_close(cl);
    tst_rm_rf(dir);

    /* Written through the mapping under ASYNC_FLUSH: a pool, unarmed until
     * the appender asks for prefault. */
    dir = tst_mkdtemp();
    cl = open_log(dir, CL_WRITE_MMAP, false);
    ASSERT(cl->pool != NULL);
    sleep_ms(200); /* the first segment and its first window are made */
    struct warm_pool_stats st;
    warm_pool_stats(cl->pool, &st);
    ASSERT_EQ(st.refilled, 0);
    ASSERT_EQ(st.given, 0);
    int64_t startup_folios = st.missed; /* the first window's, before arming */
    ASSERT(startup_folios > 0);
    /* 7 MiB of appends into 8 MiB segments: the appender asks for prefault
     * (arming the pool) and the alloc thread, which knows the next segment
     * will be needed, trades pages for the folios it starts. */
    append(cl, 7 * 16, 64 * 1024);
    st = wait_resident(cl->pool, CL_WARM_POOL_PAGES);
    ASSERT_EQ(st.resident, CL_WARM_POOL_PAGES);
    /* A second segment: its folios, prefaulted as it is created and as the
     * appender moves on, each take a page or count a miss. */
    append(cl, 2 * 16, 64 * 1024);
    for (int i = 0; i < 500; i++) {
        warm_pool_stats(cl->pool, &st);
        if (st.given > 0)
            break;
        sleep_ms(10);
    }
    ASSERT(st.given > 0);
    ASSERT(st.given + st.missed > startup_folios);
    commitlog_close(cl);
    tst_rm_rf(dir);
}

TEST_MAIN()
