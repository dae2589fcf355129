/* SPDX-License-Identifier: Apache-2.0 */
/* jitter.c: how late this machine wakes a thread that sleeps to absolute
 * deadlines, which is the floor under any end-to-end latency tail measured
 * on it (mqbench e2e's pacer sleeps the same way, 50 us apart at 20k/s).
 *
 * Usage: jitter [PERIOD_US] [SECONDS]   (default 50 us, 8 s)
 *        jitter pingpong [SECONDS] [GAP_US] (default 2 s, 0 us)
 * Timer: one thread, timer slack 1 ns, clock_nanosleep(TIMER_ABSTIME) to
 * t0 + i * PERIOD; after a late wake-up the schedule restarts from now (no
 * catch-up burst). Prints the wake-ups, lateness percentiles and max, and
 * how many were over 1 ms and over 5 ms. Run it on an idle machine to see
 * the machine's own tail, or beside a load to see what that load adds.
 * Pingpong: two threads take turns, each waking the other with FUTEX_WAKE
 * and sleeping in FUTEX_WAIT (what a mutex, condition variable or semaphore
 * hand-off does when the other side sleeps); prints the hand-offs per
 * second and the mean time of one hand-off. With GAP_US, each player first
 * spins that long with the turn in hand, so the other one's CPU has gone
 * idle when it is woken; then the time from FUTEX_WAKE to the woken thread
 * running is measured (percentiles): the price of waking an idle CPU. */
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Lateness histogram: 1 us buckets up to 100 ms, the last one open. */
#define HIST_US 100000

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* The lateness (us) below which a fraction q of the wake-ups fell. */
static long percentile(const uint64_t *hist, uint64_t n, double q)
{
    uint64_t want = (uint64_t)((double)n * q), seen = 0;
    for (long us = 0; us <= HIST_US; us++) {
        seen += hist[us];
        if (seen > want)
            return us;
    }
    return HIST_US;
}

/* ---- pingpong ---------------------------------------------------------- */

struct game {
    _Atomic int turn;        /* whose turn it is (0 or 1); -1 tells both to stop */
    int64_t gap_ns;          /* spin this long with the turn in hand (0: none) */
    _Atomic int64_t woke_at; /* when the last FUTEX_WAKE was issued */
    uint64_t *wake_hist;     /* owned: wake latencies (us) when gap_ns > 0 */
    uint64_t wake_n;         /* written by the player whose turn it is */
    uint64_t handoffs[2];    /* per player */
};

struct player_arg {
    struct game *g;
    int me;
};

static void futex_wait(_Atomic int *w, int val)
{
    syscall(SYS_futex, (int *)w, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(_Atomic int *w, int n)
{
    syscall(SYS_futex, (int *)w, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

/* Waits for its turn, (spins the gap,) hands the turn over; until stopped. */
static void *player(void *arg)
{
    struct player_arg *pa = arg;
    struct game *g = pa->g;
    int me = pa->me;
    bool waited = false;
    for (;;) {
        int t = atomic_load(&g->turn);
        if (t < 0)
            break;
        if (t != me) {
            futex_wait(&g->turn, t);
            waited = true;
            continue;
        }
        if (g->gap_ns > 0) {
            int64_t now = now_ns();
            if (waited) {
                int64_t us = (now - atomic_load(&g->woke_at)) / 1000;
                g->wake_hist[us < HIST_US ? us : HIST_US]++;
                g->wake_n++;
            }
            while (now_ns() - now < g->gap_ns) {
            }
        }
        waited = false;
        /* Not a plain store: the stop (-1) may have come meanwhile. */
        int mine = me;
        atomic_store(&g->woke_at, now_ns());
        if (!atomic_compare_exchange_strong(&g->turn, &mine, 1 - me))
            break;
        futex_wake(&g->turn, 1);
        g->handoffs[me]++;
    }
    return NULL;
}

static int pingpong(double secs, long gap_us)
{
    struct game g = {.gap_ns = gap_us * 1000};
    atomic_init(&g.turn, 0);
    atomic_init(&g.woke_at, 0);
    if (g.gap_ns > 0 && (g.wake_hist = calloc(HIST_US + 1, sizeof *g.wake_hist)) == NULL) {
        fprintf(stderr, "jitter: out of memory\n");
        return 1;
    }
    pthread_t th[2];
    struct player_arg pa[2] = {{&g, 0}, {&g, 1}};
    int started = 0;
    int64_t t0 = now_ns();
    for (; started < 2; started++)
        if (pthread_create(&th[started], NULL, player, &pa[started]) != 0)
            break;
    if (started == 2) {
        struct timespec ts = {(time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9)};
        nanosleep(&ts, NULL);
    }
    atomic_store(&g.turn, -1);
    futex_wake(&g.turn, 2);
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    if (started < 2) {
        fprintf(stderr, "jitter: cannot start a thread\n");
        free(g.wake_hist);
        return 1;
    }
    double el = (double)(now_ns() - t0) / 1e9;
    uint64_t total = g.handoffs[0] + g.handoffs[1];
    if (g.gap_ns == 0)
        printf("pingpong %.1f s: %llu hand-offs, %.0f per second, %.1f us each\n", el,
               (unsigned long long)total, (double)total / el,
               el * 1e6 / (double)(total ? total : 1));
    else
        printf("pingpong %.1f s, %ld us gap: %llu wake-ups of a sleeping thread; FUTEX_WAKE to "
               "running p50 %ld us, p99 %ld us, p99.9 %ld us\n",
               el, gap_us, (unsigned long long)g.wake_n, percentile(g.wake_hist, g.wake_n, 0.50),
               percentile(g.wake_hist, g.wake_n, 0.99), percentile(g.wake_hist, g.wake_n, 0.999));
    free(g.wake_hist);
    return 0;
}

/* ---- timer --------------------------------------------------------------- */

static int timer(long period_us, double secs)
{
    uint64_t *hist = calloc(HIST_US + 1, sizeof *hist);
    if (hist == NULL) {
        fprintf(stderr, "jitter: out of memory\n");
        return 1;
    }
    /* Without this the default 50 us slack would stretch every sleep. */
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    int64_t period = period_us * 1000, end = now_ns() + (int64_t)(secs * 1e9);
    int64_t due = now_ns(), max_ns = 0;
    uint64_t n = 0, over1 = 0, over5 = 0;
    while (due < end) {
        due += period;
        struct timespec ts = {(time_t)(due / 1000000000), (long)(due % 1000000000)};
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
        int64_t late = now_ns() - due;
        if (late < 0)
            late = 0;
        if (late > max_ns)
            max_ns = late;
        over1 += late > 1000000;
        over5 += late > 5000000;
        hist[late / 1000 < HIST_US ? late / 1000 : HIST_US]++;
        n++;
        if (late > period)
            due = now_ns(); /* restart the schedule, no burst */
    }
    printf("period %ld us, %.1f s: %llu wake-ups; late p50 %ld us, p99 %ld us, p99.9 %ld us, "
           "max %.2f ms; over 1 ms: %llu, over 5 ms: %llu\n",
           period_us, secs, (unsigned long long)n, percentile(hist, n, 0.50),
           percentile(hist, n, 0.99), percentile(hist, n, 0.999), (double)max_ns / 1e6,
           (unsigned long long)over1, (unsigned long long)over5);
    free(hist);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "pingpong") == 0)
        return pingpong(argc > 2 ? atof(argv[2]) : 2.0, argc > 3 ? atol(argv[3]) : 0);
    long period_us = argc > 1 ? atol(argv[1]) : 50;
    double secs = argc > 2 ? atof(argv[2]) : 8.0;
    if (period_us <= 0 || secs <= 0) {
        fprintf(stderr,
                "usage: jitter [PERIOD_US] [SECONDS] | jitter pingpong [SECONDS] [GAP_US]\n");
        return 2;
    }
    return timer(period_us, secs);
}
