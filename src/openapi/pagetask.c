/* SPDX-License-Identifier: Apache-2.0 */
/* pagetask.c: the in-memory query tasks of the paged message endpoints (see
 * pagetask.h). A small array scanned linearly: at most PAGE_TASKS_MAX. */
#include "openapi/pagetask.h"

#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "openapi/api.h"

struct page_tasks {
    struct page_task *v[PAGE_TASKS_MAX]; /* owned; NULL = free slot */
};

int page_tasks_new(struct page_tasks **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? TERN_OK : TERN_ENOMEM;
}

static void drop(struct page_tasks *t, size_t i)
{
    free(t->v[i]->refs);
    free(t->v[i]);
    t->v[i] = NULL;
}

void page_tasks_free(struct page_tasks *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < PAGE_TASKS_MAX; i++)
        if (t->v[i])
            drop(t, i);
    free(t);
}

static void expire(struct page_tasks *t, int64_t now_ms)
{
    for (size_t i = 0; i < PAGE_TASKS_MAX; i++)
        if (t->v[i] && now_ms - t->v[i]->last_used_ms > PAGE_TASK_TTL_MS)
            drop(t, i);
}

struct page_task *page_tasks_add(struct page_tasks *t, const struct page_task *tmpl,
                                 struct page_ref *refs, int64_t now_ms)
{
    expire(t, now_ms);
    size_t slot = PAGE_TASKS_MAX, oldest = 0;
    for (size_t i = 0; i < PAGE_TASKS_MAX; i++) {
        if (!t->v[i]) {
            slot = i;
            break;
        }
        if (t->v[i]->last_used_ms < t->v[oldest]->last_used_ms)
            oldest = i;
    }
    if (slot == PAGE_TASKS_MAX) {
        drop(t, oldest);
        slot = oldest;
    }
    struct page_task *p = malloc(sizeof *p);
    if (!p) {
        free(refs);
        return NULL;
    }
    *p = *tmpl;
    p->refs = refs;
    p->last_used_ms = now_ms;
    api_new_request_id(p->id);
    t->v[slot] = p;
    return p;
}

struct page_task *page_tasks_get(struct page_tasks *t, const char *id, int64_t now_ms)
{
    expire(t, now_ms);
    for (size_t i = 0; i < PAGE_TASKS_MAX; i++) {
        if (t->v[i] && strcmp(t->v[i]->id, id) == 0) {
            t->v[i]->last_used_ms = now_ms;
            return t->v[i];
        }
    }
    return NULL;
}
