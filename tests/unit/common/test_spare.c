/* SPDX-License-Identifier: Apache-2.0 */
/* test_spare.c: the stock of reusable objects (common/spare.h): reuse, the
 * size and byte limits, and objects passed between threads (none lost, none
 * freed twice: ASan runs this too). */
#include <pthread.h>
#include <stdatomic.h>

#include "harness.h"

#include "common/spare.h"

struct obj {
    struct spare_node node; /* first */
    int owner;              /* thread that last took it */
};

static atomic_int g_live; /* objects made and not yet freed */

static struct obj *obj_new(size_t size)
{
    struct obj *o = calloc(1, sizeof *o);
    o->node.size = size;
    atomic_fetch_add(&g_live, 1);
    return o;
}

static void obj_free(struct spare_node *n)
{
    atomic_fetch_sub(&g_live, 1);
    free(n);
}

TEST(reuse_and_limits)
{
    struct spare s;
    spare_init(&s, 1000, obj_free);
    ASSERT(spare_get(&s, 0) == NULL); /* empty */
    struct obj *a = obj_new(400), *b = obj_new(400), *c = obj_new(400);
    spare_put(&s, &a->node);
    spare_put(&s, &b->node);
    spare_put(&s, &c->node); /* 1200 > 1000: freed */
    ASSERT_EQ(atomic_load(&g_live), 2);
    ASSERT_EQ(atomic_load(&s.bytes), 800);
    /* Last in, first out; what comes back is what went in. */
    struct spare_node *n = spare_get(&s, 100);
    ASSERT(n == &b->node);
    ASSERT_EQ(atomic_load(&s.bytes), 400);
    /* Too small for the asker: freed, and the caller makes its own. */
    ASSERT(spare_get(&s, 401) == NULL);
    ASSERT_EQ(atomic_load(&g_live), 1);
    ASSERT_EQ(atomic_load(&s.bytes), 0);
    spare_put(&s, n);
    spare_deinit(&s);
    ASSERT_EQ(atomic_load(&g_live), 0);
}

#define THREADS 4
#define ROUNDS  20000
#define HOLD    8

struct worker {
    struct spare *s;
    int id;
    int reused;
};

/* Takes HOLD objects (reused or new), then gives them back, ROUNDS times. */
static void *worker_main(void *arg)
{
    struct worker *w = arg;
    for (int r = 0; r < ROUNDS; r++) {
        struct obj *held[HOLD];
        for (int i = 0; i < HOLD; i++) {
            struct spare_node *n = spare_get(w->s, 64);
            held[i] = n ? (struct obj *)n : obj_new(64);
            if (n)
                w->reused++;
            held[i]->owner = w->id;
        }
        for (int i = 0; i < HOLD; i++) {
            if (held[i]->owner != w->id)
                return NULL; /* another thread holds it too: fails below */
            spare_put(w->s, &held[i]->node);
        }
    }
    w->id = -1; /* completed */
    return NULL;
}

TEST(objects_cross_threads)
{
    struct spare s;
    spare_init(&s, 64 * THREADS * HOLD, obj_free);
    struct worker w[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){&s, i, 0};
        ASSERT_EQ(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
    }
    int reused = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        ASSERT_EQ(w[i].id, -1);
        reused += w[i].reused;
    }
    /* Everything made is either back in the stock or was freed. */
    ASSERT(atomic_load(&s.bytes) <= 64 * THREADS * HOLD);
    ASSERT_EQ(atomic_load(&g_live), (int)(atomic_load(&s.bytes) / 64));
    ASSERT(reused > 0);
    spare_deinit(&s);
    ASSERT_EQ(atomic_load(&g_live), 0);
}

TEST_MAIN()
