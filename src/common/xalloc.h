/* SPDX-License-Identifier: Apache-2.0 */
/* xalloc.h: allocation that aborts on failure, for servers and tools.
 *
 * A broker that cannot allocate has no good way forward (STYLE.md §3.3); the
 * SDK must not use these. */
#ifndef TERN_COMMON_XALLOC_H
#define TERN_COMMON_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
/* Copies n bytes and NUL-terminates. */
char *xstrndup(const char *s, size_t n);

#endif
