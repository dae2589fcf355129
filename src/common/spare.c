/* SPDX-License-Identifier: Apache-2.0 */
/* spare.c: the stock of reusable objects (spare.h).
 *
 * Only `in` is touched without the mutex, and only by a push or by taking
 * the whole list (exchange with NULL): neither reads a node another thread
 * may be taking, so there is no ABA problem; single nodes leave only from
 * `out`, under out_mu. */
#include "common/spare.h"

void spare_init(struct spare *s, size_t max_bytes, void (*free_fn)(struct spare_node *n))
{
    atomic_init(&s->in, NULL);
    pthread_mutex_init(&s->out_mu, NULL);
    s->out = NULL;
    atomic_init(&s->bytes, 0);
    s->max_bytes = max_bytes;
    s->free_fn = free_fn;
}

static void free_list(struct spare *s, struct spare_node *n)
{
    while (n) {
        struct spare_node *next = n->next;
        s->free_fn(n);
        n = next;
    }
}

void spare_deinit(struct spare *s)
{
    free_list(s, atomic_exchange(&s->in, NULL));
    free_list(s, s->out);
    s->out = NULL;
    atomic_store(&s->bytes, 0);
    pthread_mutex_destroy(&s->out_mu);
}

struct spare_node *spare_get(struct spare *s, size_t min_size)
{
    if (pthread_mutex_trylock(&s->out_mu) != 0)
        return NULL;
    if (s->out == NULL)
        s->out = atomic_exchange_explicit(&s->in, NULL, memory_order_acquire);
    struct spare_node *n = s->out;
    if (n) {
        s->out = n->next;
        /* The nodes were last written on other cores: fetch the next one
         * while this one is in use. */
        if (s->out)
            __builtin_prefetch(s->out);
    }
    pthread_mutex_unlock(&s->out_mu);
    if (n == NULL)
        return NULL;
    atomic_fetch_sub_explicit(&s->bytes, n->size, memory_order_relaxed);
    if (n->size < min_size) {
        s->free_fn(n);
        return NULL;
    }
    n->next = NULL;
    return n;
}

void spare_put(struct spare *s, struct spare_node *n)
{
    size_t held = atomic_fetch_add_explicit(&s->bytes, n->size, memory_order_relaxed);
    if (held + n->size > s->max_bytes) {
        atomic_fetch_sub_explicit(&s->bytes, n->size, memory_order_relaxed);
        s->free_fn(n);
        return;
    }
    struct spare_node *head = atomic_load_explicit(&s->in, memory_order_relaxed);
    do {
        n->next = head;
    } while (!atomic_compare_exchange_weak_explicit(&s->in, &head, n, memory_order_release,
                                                    memory_order_relaxed));
}
