/* SPDX-License-Identifier: Apache-2.0 */
/* test_pagetask.c: query tasks of the paged message endpoints (pagetask.h):
 * lookup, expiry PAGE_TASK_TTL_MS after the last use, and eviction of the
 * least recently used task when the table is full. */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#include "openapi/pagetask.h"

static struct page_task *add(struct page_tasks *t, int64_t owner, int64_t now)
{
    struct page_task tmpl = {.kind = "topic", .owner = owner, .page_size = 5, .n = 1};
    struct page_ref *refs = calloc(1, sizeof *refs);
    refs[0].phy_off = owner;
    return page_tasks_add(t, &tmpl, refs, now);
}

TEST(add_and_get)
{
    struct page_tasks *t;
    ASSERT_EQ(page_tasks_new(&t), 0);
    struct page_task *a = add(t, 7, 1000);
    ASSERT(a != NULL);
    ASSERT_EQ(strlen(a->id), 36);
    char id[37];
    memcpy(id, a->id, sizeof id);
    struct page_task *b = add(t, 8, 1000);
    ASSERT(strcmp(b->id, id) != 0);
    struct page_task *g = page_tasks_get(t, id, 2000);
    ASSERT(g == a);
    ASSERT_EQ(g->owner, 7);
    ASSERT_EQ(g->refs[0].phy_off, 7);
    ASSERT_EQ(g->last_used_ms, 2000);
    ASSERT(page_tasks_get(t, "unknown", 2000) == NULL);
    page_tasks_free(t);
}

TEST(expires_after_last_use)
{
    struct page_tasks *t;
    ASSERT_EQ(page_tasks_new(&t), 0);
    char id[37];
    memcpy(id, add(t, 1, 0)->id, sizeof id);
    /* Used just before the TTL runs out: lives another TTL from then. */
    ASSERT(page_tasks_get(t, id, PAGE_TASK_TTL_MS) != NULL);
    ASSERT(page_tasks_get(t, id, 2 * PAGE_TASK_TTL_MS) != NULL);
    ASSERT(page_tasks_get(t, id, 3 * PAGE_TASK_TTL_MS + 1) == NULL);
    page_tasks_free(t);
}

TEST(full_table_evicts_least_recently_used)
{
    struct page_tasks *t;
    ASSERT_EQ(page_tasks_new(&t), 0);
    char first[37], second[37];
    memcpy(first, add(t, 0, 10)->id, sizeof first);
    memcpy(second, add(t, 1, 11)->id, sizeof second);
    for (int i = 2; i < PAGE_TASKS_MAX; i++)
        add(t, i, 20 + i);
    ASSERT(page_tasks_get(t, first, 1000) != NULL); /* now the most recent */
    ASSERT(add(t, 999, 1001) != NULL);
    ASSERT(page_tasks_get(t, second, 1002) == NULL);
    ASSERT(page_tasks_get(t, first, 1003) != NULL);
    page_tasks_free(t);
}

TEST_MAIN()
