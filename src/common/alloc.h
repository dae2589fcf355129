/* SPDX-License-Identifier: Apache-2.0 */
/* alloc.h: fallible allocation for code the SDK reaches (common, protocol,
 * remoting, client), with a failure-injection hook for tests.
 *
 * tern_malloc & co return NULL on failure, and callers report TERN_ENOMEM.
 * What happens on failure is a process-wide policy: servers and tools (the
 * tern library's default) abort as xmalloc does, so broker behaviour does not
 * change; libons (built with TERN_ALLOC_SOFT_DEFAULT) returns NULL. Policy
 * and hook: docs/design/client.md "Out of memory". Thread-safe. */
#ifndef TERN_COMMON_ALLOC_H
#define TERN_COMMON_ALLOC_H

#include <stdbool.h>
#include <stddef.h>

void *tern_malloc(size_t n);
void *tern_calloc(size_t count, size_t n);
/* On failure p is untouched (and still owned by the caller). */
void *tern_realloc(void *p, size_t n);
/* NULL s gives NULL. */
char *tern_strdup(const char *s);
/* Copies n bytes and NUL-terminates; NULL s gives NULL. */
char *tern_strndup(const char *s, size_t n);

/* Whether a failed allocation aborts the process (true: the server policy)
 * or returns NULL (false: the SDK policy). Set once at start, before threads. */
void tern_alloc_set_abort_on_oom(bool abort_on_oom);
bool tern_alloc_abort_on_oom(void);

/* Test hook: when n > 0, the n-th tern_* allocation from now (in any thread)
 * fails and the countdown stops; 0 disarms. For tests only. */
void tern_alloc_fail_after(long n);
/* Test hook: the countdown left (> 0: the injected failure has not happened). */
long tern_alloc_fail_pending(void);
/* Test hook: how many allocations were failed on purpose since start. */
long tern_alloc_failures_injected(void);

#endif
