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

TEST_MAIN()
