/* SPDX-License-Identifier: Apache-2.0 */
/* spare.h: a bounded stock of reusable heap objects handed between threads.
 *
 * glibc frees a block on another thread than the one that allocated it under
 * the allocating thread's arena lock, which that thread's own mallocs take
 * too: when an object is made on one thread and finished on another once per
 * message (an async send: made by the caller, finished by the client loop or
 * an async worker), the two meet on that lock and each meeting is a futex
 * call. Instead, the finishing thread puts the object here and a later maker
 * takes it back, so in a steady state nothing is allocated or freed.
 *
 * spare_put: any thread, lock-free (a compare-and-swap push onto `in`).
 * spare_get: any thread; getters share `out`, taken from `in` whole, under a
 * mutex they only try: a getter that meets another one allocates instead of
 * waiting. Objects embed struct spare_node; the stock holds at most
 * max_bytes of them (by their node's size), the rest are freed. */
#ifndef TERN_COMMON_SPARE_H
#define TERN_COMMON_SPARE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

struct spare_node {
    struct spare_node *next; /* owned by the stock while the object is in it */
    size_t size;             /* bytes the object holds (its block and buffers) */
};

struct spare {
    _Atomic(struct spare_node *) in; /* put here */
    pthread_mutex_t out_mu;
    struct spare_node *out; /* guarded by out_mu */
    atomic_size_t bytes;    /* held in `in` and `out` */
    size_t max_bytes;
    void (*free_fn)(struct spare_node *n); /* frees the whole object */
};

void spare_init(struct spare *s, size_t max_bytes, void (*free_fn)(struct spare_node *n));
/* Frees every object held. Not concurrently with get or put. */
void spare_deinit(struct spare *s);
/* An object of at least min_size (node size) from the stock, or NULL: then
 * the caller makes one. A held object that is too small is freed. */
struct spare_node *spare_get(struct spare *s, size_t min_size);
/* Keeps n for reuse, or frees it when the stock is full. */
void spare_put(struct spare *s, struct spare_node *n);

#endif
