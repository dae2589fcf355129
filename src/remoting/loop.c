/* SPDX-License-Identifier: Apache-2.0 */
/* loop.c: the epoll event loop, its timer heap and its cross-thread queue.
 *
 * Level-triggered epoll. Invariant: only the loop thread touches fds, timers
 * and the deferred list; the post queue is guarded by post_mu. wake_pending
 * is 1 while the loop is awake (it drains the queue every iteration) or once
 * the eventfd was written; the loop clears it just before it sleeps and then
 * looks at the queue once more. A poster writes the eventfd only when it
 * flips wake_pending from 0 to 1, so posts made while the loop works cost no
 * system call, and a sleeping loop is woken once. Both sides order their
 * store before their load (seq_cst): either the poster sees 0 and writes, or
 * the loop sees the post and does not block. See docs/design/remoting.md. */
#include "remoting/loop.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "common/alloc.h"

#define MAX_EVENTS 256

struct loop {
    /* Immutable after loop_new. */
    int epfd;
    int evfd;
    pthread_t thread;
    char name[16];
    _Atomic int refs;

    /* Cross-thread queue. */
    pthread_mutex_t post_mu;
    struct loop_task *post_head; /* guarded by: post_mu */
    struct loop_task *post_tail; /* guarded by: post_mu */
    bool stopped;                /* guarded by: post_mu; no more posts */
    atomic_int wake_pending;     /* atomic: loop awake or eventfd written */
    atomic_bool lazy_ok;         /* atomic: sleeps are bounded, lazy posts need no wake */

    /* Loop thread only. */
    struct loop_io ev_io;
    struct loop_timer **heap; /* owned array of borrowed timers */
    size_t nheap, capheap;
    struct loop_task *defer_head; /* borrowed tasks, LIFO */
    bool quit;
    unsigned lazy_holds; /* loop_lazy_hold minus loop_lazy_release */
    int64_t warn_last_ms;
    unsigned warn_suppressed;
};

static __thread struct loop *tls_loop;

/* ---- timer heap ------------------------------------------------------- */

static void heap_set(struct loop *l, size_t i, struct loop_timer *t)
{
    l->heap[i] = t;
    t->heap_idx = (long)i;
}

static void heap_up(struct loop *l, size_t i)
{
    struct loop_timer *t = l->heap[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (l->heap[p]->deadline_ms <= t->deadline_ms)
            break;
        heap_set(l, i, l->heap[p]);
        i = p;
    }
    heap_set(l, i, t);
}

static void heap_down(struct loop *l, size_t i)
{
    struct loop_timer *t = l->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= l->nheap)
            break;
        if (c + 1 < l->nheap && l->heap[c + 1]->deadline_ms < l->heap[c]->deadline_ms)
            c++;
        if (t->deadline_ms <= l->heap[c]->deadline_ms)
            break;
        heap_set(l, i, l->heap[c]);
        i = c;
    }
    heap_set(l, i, t);
}

void loop_timer_init(struct loop_timer *t, void (*fn)(struct loop_timer *t))
{
    t->deadline_ms = 0;
    t->heap_idx = -1;
    t->fn = fn;
}

void loop_timer_stop(struct loop *l, struct loop_timer *t)
{
    if (t->heap_idx < 0)
        return;
    size_t i = (size_t)t->heap_idx;
    t->heap_idx = -1;
    l->nheap--;
    if (i == l->nheap)
        return;
    struct loop_timer *last = l->heap[l->nheap];
    heap_set(l, i, last);
    if (i > 0 && l->heap[(i - 1) / 2]->deadline_ms > last->deadline_ms)
        heap_up(l, i);
    else
        heap_down(l, i);
}

int loop_timer_start(struct loop *l, struct loop_timer *t, int64_t delay_ms)
{
    loop_timer_stop(l, t);
    if (delay_ms < 0)
        delay_ms = 0;
    t->deadline_ms = clock_mono_ms() + delay_ms;
    if (l->nheap == l->capheap) {
        size_t ncap = l->capheap ? l->capheap * 2 : 64;
        struct loop_timer **nh = tern_realloc(l->heap, ncap * sizeof(*l->heap));
        if (nh == NULL)
            return TERN_ENOMEM;
        l->heap = nh;
        l->capheap = ncap;
    }
    l->heap[l->nheap] = t;
    t->heap_idx = (long)l->nheap;
    l->nheap++;
    heap_up(l, l->nheap - 1);
    return TERN_OK;
}

static void run_timers(struct loop *l)
{
    if (l->nheap == 0)
        return;
    int64_t now = clock_mono_ms();
    while (l->nheap > 0 && l->heap[0]->deadline_ms <= now) {
        struct loop_timer *t = l->heap[0];
        loop_timer_stop(l, t);
        t->fn(t);
    }
}

/* ---- posted and deferred tasks ---------------------------------------- */

/* Queues t; TERN_ECLOSED once the loop stopped. Then orders the queue store
 * before the caller's look at wake_pending or lazy_ok. */
static int enqueue(struct loop *l, struct loop_task *t)
{
    t->next = NULL;
    pthread_mutex_lock(&l->post_mu);
    if (l->stopped) {
        pthread_mutex_unlock(&l->post_mu);
        return TERN_ECLOSED;
    }
    if (l->post_tail)
        l->post_tail->next = t;
    else
        l->post_head = t;
    l->post_tail = t;
    pthread_mutex_unlock(&l->post_mu);
    atomic_thread_fence(memory_order_seq_cst);
    return TERN_OK;
}

static void wake(struct loop *l)
{
    if (atomic_exchange_explicit(&l->wake_pending, 1, memory_order_seq_cst) == 0) {
        uint64_t one = 1;
        ssize_t n;
        do {
            n = write(l->evfd, &one, sizeof(one));
        } while (n < 0 && errno == EINTR);
    }
}

int loop_post(struct loop *l, struct loop_task *t)
{
    int err = enqueue(l, t);
    if (err == TERN_OK)
        wake(l);
    return err;
}

int loop_post_lazy(struct loop *l, struct loop_task *t)
{
    int err = enqueue(l, t);
    /* Same ordering as wake_pending: a loop that stops bounding its sleep
     * looks at the queue afterwards. */
    if (err == TERN_OK && !atomic_load_explicit(&l->lazy_ok, memory_order_seq_cst))
        wake(l);
    return err;
}

void loop_lazy_hold(struct loop *l)
{
    l->lazy_holds++;
}

void loop_lazy_release(struct loop *l)
{
    l->lazy_holds--;
}

/* Runs every task queued so far; returns whether any ran. */
static bool run_posted(struct loop *l, bool cancelled)
{
    pthread_mutex_lock(&l->post_mu);
    struct loop_task *t = l->post_head;
    l->post_head = l->post_tail = NULL;
    pthread_mutex_unlock(&l->post_mu);
    bool any = t != NULL;
    while (t) {
        struct loop_task *next = t->next;
        t->fn(t, cancelled);
        t = next;
    }
    return any;
}

void loop_defer(struct loop *l, struct loop_task *t)
{
    t->next = l->defer_head;
    l->defer_head = t;
}

static void run_deferred(struct loop *l)
{
    while (l->defer_head) {
        struct loop_task *t = l->defer_head;
        l->defer_head = NULL;
        while (t) {
            struct loop_task *next = t->next;
            t->fn(t, false);
            t = next;
        }
    }
}

static void on_eventfd(struct loop_io *io, uint32_t events)
{
    (void)events;
    struct loop *l = (struct loop *)((char *)io - offsetof(struct loop, ev_io));
    uint64_t v;
    ssize_t n = read(l->evfd, &v, sizeof(v));
    (void)n; /* the posts run after the fd callbacks of this iteration */
}

/* Whether a task is queued (the loop's last look before sleeping). */
static bool has_posted(struct loop *l)
{
    pthread_mutex_lock(&l->post_mu);
    bool any = l->post_head != NULL;
    pthread_mutex_unlock(&l->post_mu);
    return any;
}

/* ---- fds -------------------------------------------------------------- */

int loop_io_add(struct loop *l, struct loop_io *io, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = io};
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, io->fd, &ev) < 0)
        return -errno;
    io->events = events;
    return TERN_OK;
}

int loop_io_mod(struct loop *l, struct loop_io *io, uint32_t events)
{
    if (io->events == events)
        return TERN_OK;
    struct epoll_event ev = {.events = events, .data.ptr = io};
    if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, io->fd, &ev) < 0)
        return -errno;
    io->events = events;
    return TERN_OK;
}

void loop_io_del(struct loop *l, struct loop_io *io)
{
    epoll_ctl(l->epfd, EPOLL_CTL_DEL, io->fd, NULL);
    io->events = 0;
}

/* ---- thread ----------------------------------------------------------- */

static int next_timeout_ms(struct loop *l)
{
    if (l->defer_head)
        return 0;
    if (l->nheap == 0)
        return -1;
    int64_t d = l->heap[0]->deadline_ms - clock_mono_ms();
    if (d <= 0)
        return 0;
    return d > 60000 ? 60000 : (int)d;
}

static void *loop_main(void *arg)
{
    struct loop *l = arg;
    tls_loop = l;
    struct epoll_event evs[MAX_EVENTS];
    while (!l->quit) {
        /* About to sleep: posts from now on wake the loop, and one that
         * landed before is seen here (see the top of the file). */
        atomic_store_explicit(&l->wake_pending, 0, memory_order_seq_cst);
        bool lazy = l->lazy_holds > 0;
        atomic_store_explicit(&l->lazy_ok, lazy, memory_order_seq_cst);
        int timeout = has_posted(l) ? 0 : next_timeout_ms(l);
        if (lazy && (timeout < 0 || timeout > LOOP_LAZY_MS))
            timeout = LOOP_LAZY_MS;
        int n = epoll_wait(l->epfd, evs, MAX_EVENTS, timeout);
        atomic_store_explicit(&l->wake_pending, 1, memory_order_seq_cst);
        if (n < 0) {
            if (errno != EINTR)
                log_error("remoting", "epoll_wait failed loop=%s err=%s", l->name, strerror(errno));
            n = 0;
        }
        for (int i = 0; i < n; i++) {
            struct loop_io *io = evs[i].data.ptr;
            io->cb(io, evs[i].events);
        }
        run_timers(l);
        run_posted(l, false);
        run_deferred(l);
    }
    /* Tasks posted while stopping still run normally (they see closed
     * connections); after the queue is sealed nothing new can arrive. */
    for (int rounds = 0; rounds < 8; rounds++) {
        bool any = run_posted(l, false);
        run_deferred(l);
        if (!any)
            break;
    }
    pthread_mutex_lock(&l->post_mu);
    l->stopped = true;
    pthread_mutex_unlock(&l->post_mu);
    run_posted(l, true);
    /* Cancelled calls complete there; what their callbacks deferred runs. */
    run_deferred(l);
    tls_loop = NULL;
    return NULL;
}

int loop_new(const char *name, struct loop **out)
{
    struct loop *l = tern_calloc(1, sizeof(*l));
    if (l == NULL)
        return TERN_ENOMEM;
    snprintf(l->name, sizeof(l->name), "%s", name);
    atomic_init(&l->refs, 1);
    atomic_init(&l->wake_pending, 0);
    atomic_init(&l->lazy_ok, false);
    pthread_mutex_init(&l->post_mu, NULL);
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    l->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    int err = TERN_OK;
    if (l->epfd < 0 || l->evfd < 0) {
        err = -errno;
        goto fail;
    }
    l->ev_io.fd = l->evfd;
    l->ev_io.cb = on_eventfd;
    err = loop_io_add(l, &l->ev_io, EPOLLIN);
    if (err)
        goto fail;
    err = -pthread_create(&l->thread, NULL, loop_main, l);
    if (err)
        goto fail;
    pthread_setname_np(l->thread, l->name);
    *out = l;
    return TERN_OK;
fail:
    if (l->epfd >= 0)
        close(l->epfd);
    if (l->evfd >= 0)
        close(l->evfd);
    pthread_mutex_destroy(&l->post_mu);
    free(l);
    return err;
}

void loop_ref(struct loop *l)
{
    atomic_fetch_add_explicit(&l->refs, 1, memory_order_relaxed);
}

void loop_unref(struct loop *l)
{
    if (!l || atomic_fetch_sub_explicit(&l->refs, 1, memory_order_acq_rel) != 1)
        return;
    close(l->epfd);
    close(l->evfd);
    pthread_mutex_destroy(&l->post_mu);
    free(l->heap);
    free(l);
}

struct stop_task {
    struct loop_task task;
    struct loop *l;
    void (*on_stop)(void *arg);
    void *arg;
};

static void stop_fn(struct loop_task *t, bool cancelled)
{
    struct stop_task *st = (struct stop_task *)t;
    if (cancelled)
        return;
    if (st->on_stop)
        st->on_stop(st->arg);
    st->l->quit = true;
}

void loop_stop(struct loop *l, void (*on_stop)(void *arg), void *arg)
{
    struct stop_task st = {.task.fn = stop_fn, .l = l, .on_stop = on_stop, .arg = arg};
    if (loop_post(l, &st.task) == TERN_OK)
        pthread_join(l->thread, NULL);
}

bool loop_on_thread(const struct loop *l)
{
    return tls_loop == l;
}

struct loop *loop_current(void)
{
    return tls_loop;
}

bool loop_warn_ok(struct loop *l, unsigned *suppressed)
{
    int64_t now = clock_mono_ms();
    if (l->warn_last_ms != 0 && now - l->warn_last_ms < 1000) {
        l->warn_suppressed++;
        return false;
    }
    l->warn_last_ms = now;
    *suppressed = l->warn_suppressed;
    l->warn_suppressed = 0;
    return true;
}
