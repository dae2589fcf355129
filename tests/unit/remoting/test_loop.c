/* SPDX-License-Identifier: Apache-2.0 */
/* test_loop.c: the event loop (posts from many threads, timers, deferred
 * tasks, stop) and the pending-call table. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#include "common/clock.h"
#include "common/error.h"
#include "remoting/call.h"
#include "remoting/loop.h"

struct counter_task {
    struct loop_task task;
    atomic_int *count;
    atomic_int *cancelled;
    struct loop *l;
    atomic_int *on_thread;
};

static void counter_fn(struct loop_task *t, bool cancelled)
{
    struct counter_task *ct = (struct counter_task *)t;
    if (cancelled)
        atomic_fetch_add(ct->cancelled, 1);
    else
        atomic_fetch_add(ct->count, 1);
    if (loop_on_thread(ct->l) && loop_current() == ct->l)
        atomic_fetch_add(ct->on_thread, 1);
    free(ct);
}

struct poster {
    struct loop *l;
    atomic_int *count, *cancelled, *on_thread;
    int n;
};

static void *post_thread(void *arg)
{
    struct poster *p = arg;
    for (int i = 0; i < p->n; i++) {
        struct counter_task *ct = malloc(sizeof(*ct));
        ct->task.fn = counter_fn;
        ct->count = p->count;
        ct->cancelled = p->cancelled;
        ct->on_thread = p->on_thread;
        ct->l = p->l;
        if (loop_post(p->l, &ct->task) != TERN_OK)
            free(ct);
    }
    return NULL;
}

TEST(posts_from_many_threads_all_run_on_the_loop)
{
    struct loop *l = NULL;
    ASSERT_EQ(loop_new("t-loop", &l), TERN_OK);
    ASSERT(!loop_on_thread(l));
    ASSERT(loop_current() == NULL);
    atomic_int count = 0, cancelled = 0, on_thread = 0;
    enum { THREADS = 8, PER = 20000 };
    pthread_t th[THREADS];
    struct poster p = {l, &count, &cancelled, &on_thread, PER};
    for (int i = 0; i < THREADS; i++)
        pthread_create(&th[i], NULL, post_thread, &p);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    loop_stop(l, NULL, NULL);
    ASSERT_EQ(atomic_load(&count) + atomic_load(&cancelled), THREADS * PER);
    ASSERT_EQ(atomic_load(&on_thread), THREADS * PER);
    /* After stop, posting is refused. */
    struct loop_task t = {.fn = NULL};
    ASSERT_EQ(loop_post(l, &t), TERN_ECLOSED);
    loop_unref(l);
}

struct timer_rec {
    struct loop_timer t;
    int id;
    int *order;
    atomic_int *n;
};

static void timer_fn(struct loop_timer *t)
{
    struct timer_rec *r = (struct timer_rec *)t;
    r->order[atomic_fetch_add(r->n, 1)] = r->id;
}

struct timer_setup {
    struct loop_task task;
    struct loop *l;
    struct timer_rec *recs;
    int nrecs;
};

/* Arms timers with shuffled delays, cancels every third, re-arms one. */
static void setup_fn(struct loop_task *t, bool cancelled)
{
    struct timer_setup *s = (struct timer_setup *)t;
    if (cancelled)
        return;
    for (int i = 0; i < s->nrecs; i++) {
        loop_timer_init(&s->recs[i].t, timer_fn);
        loop_timer_start(s->l, &s->recs[i].t, 10 + ((i * 37) % s->nrecs) * 2);
    }
    for (int i = 0; i < s->nrecs; i += 3)
        loop_timer_stop(s->l, &s->recs[i].t);
    loop_timer_start(s->l, &s->recs[1].t, 30 + 2 * s->nrecs);
}

TEST(timers_fire_in_deadline_order_and_cancel)
{
    struct loop *l = NULL;
    ASSERT_EQ(loop_new("t-timer", &l), TERN_OK);
    enum { N = 60 };
    struct timer_rec recs[N];
    int order[N];
    atomic_int n = 0;
    for (int i = 0; i < N; i++)
        recs[i] = (struct timer_rec){.id = i, .order = order, .n = &n};
    struct timer_setup s = {.task.fn = setup_fn, .l = l, .recs = recs, .nrecs = N};
    ASSERT_EQ(loop_post(l, &s.task), TERN_OK);
    int64_t t0 = clock_mono_ms();
    while (atomic_load(&n) < N - N / 3 && clock_mono_ms() - t0 < 3000)
        usleep(2000);
    usleep(50000);
    loop_stop(l, NULL, NULL);
    ASSERT_EQ(atomic_load(&n), N - N / 3);
    int64_t prev = -1;
    for (int i = 0; i < atomic_load(&n); i++) {
        int id = order[i];
        ASSERT(id % 3 != 0);
        int64_t delay = id == 1 ? 30 + 2 * N : 10 + ((id * 37) % N) * 2;
        ASSERT(delay >= prev);
        prev = delay;
    }
    ASSERT_EQ(order[atomic_load(&n) - 1], 1); /* re-armed last */
    loop_unref(l);
}

TEST(opaque_is_positive_and_increasing)
{
    int32_t a = rcall_next_opaque();
    int32_t b = rcall_next_opaque();
    ASSERT(a > 0);
    ASSERT(b > a);
}

static void count_drained(struct rcall *k, void *arg)
{
    (void)k;
    (*(int *)arg)++;
}

TEST(pend_map_put_take_with_collisions)
{
    struct pend_map m;
    pend_map_init(&m);
    enum { N = 5000 };
    struct rcall *calls = calloc(N, sizeof(*calls));
    /* Sequential, strided and random-ish opaques, removed in mixed order. */
    for (int i = 0; i < N; i++) {
        calls[i].opaque = i < N / 2 ? i + 1 : (int32_t)(((uint32_t)i * 2654435761u) & 0x7fffffff);
        pend_map_put(&m, &calls[i]);
    }
    ASSERT_EQ(m.count, N);
    ASSERT(pend_map_take(&m, -5) == NULL);
    for (int i = 0; i < N; i += 2)
        ASSERT(pend_map_take(&m, calls[i].opaque) == &calls[i]);
    ASSERT_EQ(m.count, N / 2);
    for (int i = 0; i < N; i += 2)
        ASSERT(pend_map_take(&m, calls[i].opaque) == NULL);
    for (int i = 1; i < N; i += 2)
        ASSERT(pend_map_take(&m, calls[i].opaque) == &calls[i]);
    ASSERT_EQ(m.count, 0);
    pend_map_put(&m, &calls[0]);
    pend_map_put(&m, &calls[1]);
    int drained = 0;
    pend_map_drain(&m, count_drained, &drained);
    ASSERT_EQ(drained, 2);
    ASSERT_EQ(m.count, 0);
    ASSERT(pend_map_take(&m, calls[0].opaque) == NULL);
    pend_map_deinit(&m);
    free(calls);
}

/* A task that records when it ran, and optionally takes or drops a lazy
 * hold on its loop (loop thread only). */
struct lazy_task {
    struct loop_task task;
    struct loop *l;
    int hold; /* +1 hold, -1 release, 0 neither */
    atomic_llong ran_ns;
};

static void lazy_fn(struct loop_task *t, bool cancelled)
{
    struct lazy_task *lt = (struct lazy_task *)t;
    if (!cancelled && lt->hold > 0)
        loop_lazy_hold(lt->l);
    if (!cancelled && lt->hold < 0)
        loop_lazy_release(lt->l);
    atomic_store(&lt->ran_ns, cancelled ? -1 : clock_mono_ns());
}

/* Posts t lazily (or not) and waits up to 2 s; returns the delay in ms or
 * -1 when it did not run. */
static long run_and_time(struct loop *l, struct lazy_task *t, bool lazy)
{
    atomic_store(&t->ran_ns, 0);
    t->task.fn = lazy_fn;
    t->l = l;
    int64_t t0 = clock_mono_ns();
    if ((lazy ? loop_post_lazy : loop_post)(l, &t->task) != TERN_OK)
        return -1;
    for (int i = 0; i < 2000 && atomic_load(&t->ran_ns) == 0; i++)
        usleep(1000);
    long long ran = atomic_load(&t->ran_ns);
    return ran > 0 ? (long)((ran - t0) / 1000000) : -1;
}

TEST(lazy_posts_wake_an_idle_loop_and_wait_little_for_a_held_one)
{
    struct loop *l = NULL;
    ASSERT_EQ(loop_new("t-lazy", &l), TERN_OK);
    struct lazy_task t = {0};
    /* No hold: the loop sleeps without a deadline, so only a wake-up runs
     * the task. */
    t.hold = 0;
    long ms = run_and_time(l, &t, true);
    ASSERT(ms >= 0);
    ASSERT(ms < 1000);
    /* Held: the lazy post does not wake the loop, whose sleeps are bounded
     * by LOOP_LAZY_MS, so it still runs soon. */
    t.hold = 1;
    ASSERT(run_and_time(l, &t, false) >= 0);
    for (int i = 0; i < 20; i++) {
        t.hold = 0;
        usleep(3000); /* let the loop fall asleep */
        ms = run_and_time(l, &t, true);
        ASSERT(ms >= 0);
        ASSERT(ms < 1000);
    }
    /* Released: back to waking it (an unbounded sleep otherwise). */
    t.hold = -1;
    ASSERT(run_and_time(l, &t, false) >= 0);
    t.hold = 0;
    usleep(3000);
    ms = run_and_time(l, &t, true);
    ASSERT(ms >= 0);
    ASSERT(ms < 1000);
    loop_stop(l, NULL, NULL);
    loop_unref(l);
}

TEST_MAIN()
