/* SPDX-License-Identifier: Apache-2.0 */
/* test_perf.c: quick throughput measurements (printed, not asserted): puts
 * of 1 KiB messages from 1 and 2 threads under ASYNC_FLUSH, and pulls from
 * the page cache. The assertions only check that everything was stored. */
#include "harness.h"
#include "store_test_util.h"

#include <pthread.h>

#include "common/clock.h"

#define PER_THREAD 150000

struct prod {
    struct store *s;
    int qid;
    int n;
    int errors;
    double cpu_us_per_put; /* CPU time of the putting thread */
};

static int64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *producer(void *arg)
{
    struct prod *p = arg;
    char body[1025];
    memset(body, 'p', 1024);
    body[1024] = 0;
    buf_t pb;
    buf_init(&pb);
    struct store_msg m = tst_msg("Perf", p->qid, body, "TagA", NULL, NULL, &pb);
    int64_t c0 = thread_cpu_ns();
    for (int i = 0; i < p->n; i++) {
        struct store_put_result r;
        if (store_put(p->s, &m, 1, &r, NULL) != TERN_OK)
            p->errors++;
    }
    p->cpu_us_per_put = (double)(thread_cpu_ns() - c0) / 1e3 / p->n;
    buf_deinit(&pb);
    return NULL;
}

static double run_producers(struct store *s, int threads, int qbase, double *cpu_us)
{
    struct prod p[2];
    pthread_t th[2];
    int64_t t0 = clock_mono_ns();
    for (int i = 0; i < threads; i++) {
        p[i] = (struct prod){s, qbase + i, PER_THREAD, 0, 0};
        pthread_create(&th[i], NULL, producer, &p[i]);
    }
    for (int i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        if (p[i].errors)
            return -1;
    }
    double sec = (double)(clock_mono_ns() - t0) / 1e9;
    *cpu_us = p[0].cpu_us_per_put;
    return threads * PER_THREAD / sec;
}

TEST(put_and_pull_throughput)
{
    char *dir = tst_mkdtemp();
    struct store_config cfg;
    tst_config(&cfg, dir);
    cfg.commitlog_segment_bytes = 256LL * 1024 * 1024;
    cfg.cq_segment_units = 300000;
    cfg.flush_interval_ms = 500;
    cfg.index_slots = 500000;
    cfg.index_entries = 2000000;
    struct store *s;
    ASSERT_EQ(store_open(&cfg, &s), TERN_OK);
    usleep(300000); /* let the alloc thread prefault the first segment */
    double cpu1, cpu2;
    double one = run_producers(s, 1, 0, &cpu1);
    ASSERT(one > 0);
    double two = run_producers(s, 2, 1, &cpu2);
    ASSERT(two > 0);
    printf("  put 1 KiB ASYNC_FLUSH: 1 thread %.0f msgs/s (%.2f us CPU/put on the putting "
           "thread), 2 threads %.0f msgs/s (%.2f us CPU/put)\n",
           one, cpu1, two, cpu2);
    ASSERT_EQ(store_max_offset(s, tern_cstr("Perf"), 0), PER_THREAD);
    ASSERT_EQ(store_max_offset(s, tern_cstr("Perf"), 2), PER_THREAD);

    buf_t out;
    buf_init(&out);
    int64_t t0 = clock_mono_ns();
    int64_t got = 0, off = 0;
    while (off < PER_THREAD) {
        struct store_get_result g;
        buf_reset(&out);
        ASSERT_EQ(store_get(s, tern_cstr("Perf"), 0, off, 32, 256 * 1024, NULL, NULL, &out, &g),
                  TERN_OK);
        ASSERT_EQ(g.status, GET_FOUND);
        got += g.count;
        off = g.next_off;
    }
    double sec = (double)(clock_mono_ns() - t0) / 1e9;
    printf("  pull from page cache: %.0f msgs/s (32 per get, 1 KiB bodies)\n", got / sec);
    ASSERT_EQ(got, PER_THREAD);
    buf_deinit(&out);
    store_close(s);
    tst_rm_rf(dir);
}

/* SYNC_FLUSH group commit: 64 threads, each puts one 1 KiB message and waits
 * for its flush callback before the next, as 64 sync clients of a broker. */
#define SYNC_THREADS 64
#define SYNC_SECONDS 2

struct sync_client {
    struct store *s;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    int status;
    int64_t sent;
    int errors;
    int64_t stop_ns;
};

static void sync_cb(void *arg, int status)
{
    struct sync_client *c = arg;
    pthread_mutex_lock(&c->mu);
    c->done = true;
    c->status = status;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

static void *sync_client_main(void *arg)
{
    struct sync_client *c = arg;
    char body[1025];
    memset(body, 's', 1024);
    body[1024] = 0;
    buf_t pb;
    buf_init(&pb);
    struct store_msg m = tst_msg("SyncPerf", (int)(c->sent % 8), body, "TagA", NULL, NULL, &pb);
    c->sent = 0;
    while (clock_mono_ns() < c->stop_ns) {
        struct store_put_result r;
        if (store_put(c->s, &m, 1, &r, NULL) != TERN_OK) {
            c->errors++;
            break;
        }
        c->done = false;
        store_wait_flush(c->s, r.end_phy_off, sync_cb, c);
        pthread_mutex_lock(&c->mu);
        while (!c->done)
            pthread_cond_wait(&c->cv, &c->mu);
        pthread_mutex_unlock(&c->mu);
        if (c->status != TERN_OK)
            c->errors++;
        c->sent++;
    }
    buf_deinit(&pb);
    return NULL;
}

TEST(sync_flush_group_commit_throughput)
{
    char *dir = tst_mkdtemp();
    struct store_config cfg;
    tst_config(&cfg, dir);
    cfg.commitlog_segment_bytes = 256LL * 1024 * 1024;
    cfg.cq_segment_units = 300000;
    cfg.flush_mode = STORE_SYNC_FLUSH;
    cfg.index_slots = 500000;
    cfg.index_entries = 2000000;
    struct store *s;
    ASSERT_EQ(store_open(&cfg, &s), TERN_OK);
    usleep(300000);
    static struct sync_client c[SYNC_THREADS];
    pthread_t th[SYNC_THREADS];
    int64_t t0 = clock_mono_ns();
    for (int i = 0; i < SYNC_THREADS; i++) {
        c[i] = (struct sync_client){.s = s, .sent = i, .stop_ns = t0 + SYNC_SECONDS * 1000000000LL};
        pthread_mutex_init(&c[i].mu, NULL);
        pthread_cond_init(&c[i].cv, NULL);
        pthread_create(&th[i], NULL, sync_client_main, &c[i]);
    }
    int64_t total = 0;
    int errors = 0;
    for (int i = 0; i < SYNC_THREADS; i++) {
        pthread_join(th[i], NULL);
        total += c[i].sent;
        errors += c[i].errors;
        pthread_mutex_destroy(&c[i].mu);
        pthread_cond_destroy(&c[i].cv);
    }
    double sec = (double)(clock_mono_ns() - t0) / 1e9;
    struct store_stats st;
    store_get_stats(s, &st);
    printf("  put+wait 1 KiB SYNC_FLUSH, %d threads: %.0f msgs/s\n", SYNC_THREADS, total / sec);
    ASSERT_EQ(errors, 0);
    ASSERT(total > 0);
    ASSERT(st.flushed_off >= 0);
    store_close(s);
    tst_rm_rf(dir);
}

TEST_MAIN()
