/* SPDX-License-Identifier: Apache-2.0 */
/* alloc.c: fallible allocation and its test hook (see alloc.h).
 *
 * The fast path costs one relaxed atomic load and a branch that is never
 * taken outside tests; the policy is read only after a failure. */
#include "common/alloc.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef TERN_ALLOC_SOFT_DEFAULT
#define ABORT_DEFAULT false
#else
#define ABORT_DEFAULT true
#endif

/* Process-wide by nature: the allocator is. */
static _Atomic bool g_abort_on_oom = ABORT_DEFAULT;
static _Atomic long g_fail_after;
static _Atomic long g_injected;

void tern_alloc_set_abort_on_oom(bool abort_on_oom)
{
    atomic_store(&g_abort_on_oom, abort_on_oom);
}

bool tern_alloc_abort_on_oom(void)
{
    return atomic_load(&g_abort_on_oom);
}

void tern_alloc_fail_after(long n)
{
    atomic_store(&g_fail_after, n > 0 ? n : 0);
}

long tern_alloc_fail_pending(void)
{
    return atomic_load(&g_fail_after);
}

long tern_alloc_failures_injected(void)
{
    return atomic_load(&g_injected);
}

/* True when this allocation is the one a test asked to fail. */
static bool inject(void)
{
    if (__builtin_expect(atomic_load_explicit(&g_fail_after, memory_order_relaxed) <= 0, 1))
        return false;
    long v = atomic_load(&g_fail_after);
    while (v > 0) {
        if (atomic_compare_exchange_weak(&g_fail_after, &v, v - 1)) {
            if (v != 1)
                return false;
            atomic_fetch_add(&g_injected, 1);
            return true;
        }
    }
    return false;
}

static void *failed(size_t n)
{
    if (atomic_load(&g_abort_on_oom)) {
        fprintf(stderr, "fatal: out of memory allocating %zu bytes\n", n);
        abort();
    }
    return NULL;
}

void *tern_malloc(size_t n)
{
    void *p = inject() ? NULL : malloc(n ? n : 1);
    return p ? p : failed(n);
}

void *tern_calloc(size_t count, size_t n)
{
    void *p = inject() ? NULL : calloc(count ? count : 1, n ? n : 1);
    return p ? p : failed(count * n);
}

void *tern_realloc(void *p, size_t n)
{
    void *q = inject() ? NULL : realloc(p, n ? n : 1);
    return q ? q : failed(n);
}

char *tern_strndup(const char *s, size_t n)
{
    if (s == NULL)
        return NULL;
    char *d = tern_malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

char *tern_strdup(const char *s)
{
    return s ? tern_strndup(s, strlen(s)) : NULL;
}
