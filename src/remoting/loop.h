/* SPDX-License-Identifier: Apache-2.0 */
/* loop.h: one epoll event loop per I/O thread (private to remoting/; the SDK
 * consumer also uses loop_current and loop_defer from rclient callbacks).
 *
 * Everything in a loop (fds, timers, deferred tasks) is touched only by its
 * own thread, except loop_post(), the one thread-safe entry: an MPSC queue
 * under a mutex plus an eventfd wake-up. One iteration: epoll_wait, fd
 * callbacks, due timers, posted tasks, then deferred tasks (output flushes),
 * then sleep again. See docs/design/remoting.md. */
#ifndef TERN_REMOTING_LOOP_H
#define TERN_REMOTING_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;

/* A registered fd. Embedded in its owner; cb runs on the loop thread with
 * the epoll event bits. */
struct loop_io {
    int fd;
    uint32_t events; /* currently registered EPOLL* bits */
    void (*cb)(struct loop_io *io, uint32_t events);
};

/* A task: embedded in its owner (or allocated with it). For loop_post the
 * task is handed over until fn runs; fn is called exactly once, on the loop
 * thread, with cancelled=true when the loop stopped before running it
 * (then fn must only release resources). */
struct loop_task {
    struct loop_task *next; /* owned by the queue while queued */
    void (*fn)(struct loop_task *t, bool cancelled);
};

/* A one-shot timer, embedded in its owner. heap_idx < 0 when not armed. */
struct loop_timer {
    int64_t deadline_ms; /* clock_mono_ms() */
    long heap_idx;
    void (*fn)(struct loop_timer *t);
};

/* Creates a loop and starts its thread (name shows in top/gdb). The loop is
 * refcounted: the creator holds one reference. Errors: -errno. */
int loop_new(const char *name, struct loop **out);
void loop_ref(struct loop *l);
void loop_unref(struct loop *l);
/* Asks the thread to stop: remaining posted tasks run as cancelled, the
 * thread exits. on_stop (may be NULL) runs on the loop thread first, while
 * posts still work. Waits for the thread. Not from the loop thread. */
void loop_stop(struct loop *l, void (*on_stop)(void *arg), void *arg);

/* True when called on l's thread. */
bool loop_on_thread(const struct loop *l);
/* The loop of the calling thread, or NULL. */
struct loop *loop_current(void);

/* Thread-safe. Queues t; returns TERN_ECLOSED (t not taken) once the loop
 * stopped. */
int loop_post(struct loop *l, struct loop_task *t);

/* Longest a lazy post waits for a loop that is asleep (ms). */
#define LOOP_LAZY_MS 1

/* Thread-safe. As loop_post, but while lazy posts are allowed (some loop
 * thread code holds loop_lazy_hold) it does not wake a sleeping loop: t runs
 * at the loop's next wake-up, at the latest LOOP_LAZY_MS later. For work that
 * may wait a little to leave in a batch (many calls in flight already). */
int loop_post_lazy(struct loop *l, struct loop_task *t);
/* Loop thread only. While holds outnumber releases, the loop never sleeps
 * longer than LOOP_LAZY_MS and lazy posts do not wake it. */
void loop_lazy_hold(struct loop *l);
void loop_lazy_release(struct loop *l);

/* Loop thread only. Runs t at the end of this iteration (before sleeping).
 * The caller keeps t alive and must not defer it twice. */
void loop_defer(struct loop *l, struct loop_task *t);

/* Loop thread only. fd registration; events are EPOLLIN/EPOLLOUT bits. */
int loop_io_add(struct loop *l, struct loop_io *io, uint32_t events);
int loop_io_mod(struct loop *l, struct loop_io *io, uint32_t events);
void loop_io_del(struct loop *l, struct loop_io *io);

/* Loop thread only. Arms t to fire after delay_ms (re-arming moves it).
 * TERN_ENOMEM (SDK allocation policy only) leaves t stopped. */
void loop_timer_init(struct loop_timer *t, void (*fn)(struct loop_timer *t));
int loop_timer_start(struct loop *l, struct loop_timer *t, int64_t delay_ms);
void loop_timer_stop(struct loop *l, struct loop_timer *t);
static inline bool loop_timer_active(const struct loop_timer *t)
{
    return t->heap_idx >= 0;
}

/* Loop thread only. Rate limiter for per-peer warnings: true at most once
 * per second per loop; *suppressed gets the count skipped since. */
bool loop_warn_ok(struct loop *l, unsigned *suppressed);

#endif
