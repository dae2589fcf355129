/* SPDX-License-Identifier: Apache-2.0 */
/* msgview.h: stored messages read from the masters of an instance's cluster
 * and rendered as OnsRestMessageDo (spec §7.2). Records are views into the
 * request arena. Runs on a request thread under meta_lock. */
#ifndef TERN_OPENAPI_MSGVIEW_H
#define TERN_OPENAPI_MSGVIEW_H

#include <stdbool.h>
#include <stddef.h>

#include "openapi/api.h"
#include "protocol/message.h"

#define KEY_QUERY_MAX 64 /* §6.7.3: at most 64 messages, the most recent */
#define MAX_FOUND     (KEY_QUERY_MAX * 8)

struct admin_broker;

/* One found record; views into the request arena. */
struct msg_found {
    struct msg_record m;
    const char *addr; /* broker that holds it (arena) */
};

struct msg_found_set {
    struct msg_found v[MAX_FOUND];
    size_t n;
};

/* "a.b.c.d:port" of a stored host. */
void msgview_host(const struct msg_host *h, char *out, size_t len);
/* The Message ID of a record: its UNIQ_KEY, else its offset id (arena). */
tern_bytes_t msgview_record_id(arena_t *ar, const struct msg_record *m);
/* Writes one OnsRestMessageDo. shown_topic overrides the record's topic (the
 * business topic of a dead letter); NULL = the record's, without namespace. */
void msgview_write(struct api_req *r, jw_t *w, const struct api_instance *in,
                   const struct msg_record *m, const char *shown_topic);
/* Adds the records of body (concatenated stored records) found at addr. */
void msgview_add_records(struct msg_found_set *fs, const char *addr, tern_bytes_t body);
/* QUERY_MESSAGE on every master; unique = by UNIQ_KEY. -1 (r->err set) when
 * a broker does not answer. */
int msgview_query_all(struct api_req *r, const struct admin_broker *b, size_t nb,
                      const char *phys_topic, const char *key, bool unique,
                      struct msg_found_set *fs);
bool msgview_topic_is(const struct msg_record *m, const char *phys_topic);
/* Finds the newest record of phys_topic whose Message ID is msg_id (by
 * UNIQ_KEY, else as an offset id). Returns 1 found, 0 absent, -1 error. */
int msgview_find_by_id(struct api_req *r, const struct api_instance *in, const char *phys_topic,
                       const char *msg_id, struct msg_found *out);
/* qsort order of struct msg_found: store time, then queue, then offset. */
int msgview_by_store_time(const void *a, const void *b);

/* ---- paged queries (h_paged.c, spec §6.7.4 and §6.10.2) ---- */

/* Parsed paging parameters: beginTime, endTime, currentPage, pageSize,
 * taskId (NULL on a first call). */
struct paged_params {
    int64_t begin, end, page, page_size;
    const char *task_id;
};
/* Reads and checks the paging parameters (BIZ_FIELD_CHECK_INVALID). */
int paged_params(struct api_req *r, struct paged_params *p);
/* Answers a paged call. On a first call (p->task_id NULL) collects the
 * records of phys_topic stored in [begin, end] on the masters of in's
 * cluster into a new task of kind; later calls page through the task, which
 * must be of kind and belong to the caller's main account. dlq: show each
 * record's RETRY_TOPIC as its topic. */
int paged_answer(struct api_req *r, const char *kind, const struct api_instance *in,
                 const char *phys_topic, bool dlq, const struct paged_params *p);
/* The business topic a record is shown with: its RETRY_TOPIC when dlq,
 * else its own, without the instance's namespace (arena). */
const char *msgview_shown_topic(struct api_req *r, const struct api_instance *in,
                                const struct msg_record *m, bool dlq);

#endif
