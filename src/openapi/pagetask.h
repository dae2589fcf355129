/* SPDX-License-Identifier: Apache-2.0 */
/* pagetask.h: the query tasks of the paged message endpoints (spec §6.7.4,
 * §6.10.2). A task freezes the result of its first call as references to
 * stored records (broker address + commit log offset); later calls read one
 * page of them again. Tasks live in memory, PAGE_TASK_TTL_MS after their last
 * use; at most PAGE_TASKS_MAX at once (the least recently used goes first).
 * Not thread-safe: callers hold struct openapi.meta_lock. */
#ifndef TERN_OPENAPI_PAGETASK_H
#define TERN_OPENAPI_PAGETASK_H

#include <stddef.h>
#include <stdint.h>

#define PAGE_TASK_TTL_MS (30 * 60 * 1000)
#define PAGE_TASKS_MAX   256

struct page_ref {
    char addr[64];   /* broker holding the record */
    int64_t phy_off; /* its commit log offset */
};

struct page_task {
    char id[37];
    const char *kind; /* static string: the endpoint ("topic", "dlq") */
    int64_t owner;    /* caller's main account */
    char instance_id[96];
    int64_t page_size;
    size_t n;
    struct page_ref *refs; /* owned: n entries */
    int64_t last_used_ms;
};

struct page_tasks;

int page_tasks_new(struct page_tasks **out);
void page_tasks_free(struct page_tasks *t);
/* Stores a task; takes ownership of refs (malloc'ed) even on failure. The
 * task's id is set here. Returns the stored task (owned by t) or NULL. */
struct page_task *page_tasks_add(struct page_tasks *t, const struct page_task *tmpl,
                                 struct page_ref *refs, int64_t now_ms);
/* The live task id, refreshed to now_ms; NULL when unknown or expired. */
struct page_task *page_tasks_get(struct page_tasks *t, const char *id, int64_t now_ms);

#endif
