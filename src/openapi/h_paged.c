/* SPDX-License-Identifier: Apache-2.0 */
/* h_paged.c: the paging machinery of spec §6.7.4 and §6.10.2 and
 * /json/message/getByPagedTopic. A first call reads every queue of the topic
 * on every master of the instance's cluster: GET_TOPIC_STATS_INFO (202) for
 * the queues, SEARCH_OFFSET_BY_TIMESTAMP (29) for the first offset stored at
 * or after beginTime, then PULL_MESSAGE (11) as the tools group until a
 * record is stored after endTime. The records are ordered by store time
 * (ties: queue, offset), cut at 50 pages and frozen in a task (pagetask.h);
 * each page is read again with VIEW_MESSAGE_BY_ID (33). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/error.h"
#include "openapi/admin.h"
#include "openapi/msgview.h"
#include "openapi/pagetask.h"
#include "protocol/cmd.h"
#include "protocol/codes.h"
#include "protocol/props.h"

#define MAX_PAGES     50 /* §6.7.4 */
#define PULL_BATCH    32
#define DEFAULT_PAGE  20
#define MIN_PAGE_SIZE 5
#define MAX_PAGE_SIZE 50

/* A record found in the window; addr in the request arena. */
struct hit {
    const char *addr;
    int64_t phy_off, store_ts, queue_off;
    int qid;
};

struct hits {
    struct hit *v; /* in the request arena */
    size_t n, cap;
};

int paged_params(struct api_req *r, struct paged_params *p)
{
    if (api_i64(r, "beginTime", true, 0, 0, INT64_MAX, &p->begin) < 0 ||
        api_i64(r, "endTime", true, 0, 0, INT64_MAX, &p->end) < 0 ||
        api_i64(r, "currentPage", true, 0, 1, MAX_PAGES, &p->page) < 0 ||
        api_i64(r, "pageSize", false, DEFAULT_PAGE, MIN_PAGE_SIZE, MAX_PAGE_SIZE, &p->page_size) <
            0 ||
        api_str(r, "taskId", false, 1, 64, &p->task_id) < 0)
        return -1;
    if (p->end < p->begin)
        return api_fail(r, API_BIZ_FIELD_CHECK_INVALID, "endTime %lld is before beginTime %lld",
                        (long long)p->end, (long long)p->begin);
    return 0;
}

const char *msgview_shown_topic(struct api_req *r, const struct api_instance *in,
                                const struct msg_record *m, bool dlq)
{
    tern_bytes_t t = m->topic, v;
    if (dlq && props_get(m->props, PROP_RETRY_TOPIC, &v))
        t = v;
    tern_bytes_t c = arena_copy(&r->arena, t);
    if (!c.ptr) {
        api_fail(r, API_ONS_SYSTEM_ERROR, "out of memory");
        return "";
    }
    return api_logical_name(in, (const char *)c.ptr);
}

static void add_hit(struct api_req *r, struct hits *h, const struct hit *x)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        struct hit *v = arena_alloc(&r->arena, cap * sizeof *v);
        if (!v) {
            api_fail(r, API_ONS_SYSTEM_ERROR, "out of memory");
            return;
        }
        if (h->n)
            memcpy(v, h->v, h->n * sizeof *v);
        h->v = v;
        h->cap = cap;
    }
    h->v[h->n++] = *x;
}

/* Offset of the first record of (topic, qid) stored at or after ts. */
static int first_offset(struct api_req *r, const char *addr, const char *topic, int qid, int64_t ts,
                        int64_t *out)
{
    char err[400];
    struct admin_reply rep;
    struct rcmd req;
    rcmd_init(&req);
    req.code = RC_SEARCH_OFFSET_BY_TIMESTAMP;
    rcmd_add_cstr(&req, "topic", topic);
    rcmd_add_i64(&req, "queueId", qid);
    rcmd_add_i64(&req, "timestamp", ts);
    if (admin_request(r->o->admin, addr, &req, &r->arena, &rep, err, sizeof err) != TERN_OK)
        return api_invoke_failed(r, "searching an offset", err);
    tern_bytes_t v = admin_reply_field(&rep, "offset");
    if (rep.code != RESP_SUCCESS || !v.ptr || parse_i64(v, out) != TERN_OK)
        *out = 0;
    return 0;
}

/* Records of one queue stored in [begin, end], at most limit. */
static int scan_queue(struct api_req *r, const char *addr, const char *topic, int qid,
                      int64_t min_off, int64_t max_off, const struct paged_params *p, size_t limit,
                      struct hits *h)
{
    int64_t off;
    if (first_offset(r, addr, topic, qid, p->begin, &off) < 0)
        return -1;
    if (off < min_off)
        off = min_off;
    size_t got = 0;
    while (off < max_off && got < limit) {
        char err[400];
        tern_bytes_t recs;
        int64_t next;
        if (admin_pull(r->o->admin, addr, topic, qid, off, PULL_BATCH, &r->arena, &recs, &next, err,
                       sizeof err) != TERN_OK)
            return api_invoke_failed(r, "reading a queue", err);
        if (recs.len == 0)
            break;
        size_t pos = 0;
        while (pos + 4 <= recs.len && got < limit) {
            struct msg_record m;
            if (msg_decode(recs.ptr + pos, recs.len - pos, &m) != TERN_OK || m.total_size <= 0)
                break;
            pos += (size_t)m.total_size;
            if (m.store_ts > p->end)
                return 0; /* store times grow along a queue */
            if (m.store_ts < p->begin)
                continue;
            struct hit x = {addr, m.phy_off, m.store_ts, m.queue_off, qid};
            add_hit(r, h, &x);
            got++;
        }
        if (next <= off)
            break;
        off = next;
    }
    return 0;
}

/* By store time; within one millisecond, records of one broker in store
 * (commit-log) order, so messages sent one after another keep their order
 * whichever queues they went to; across brokers by address, queue, offset. */
static int hit_order(const void *a, const void *b)
{
    const struct hit *x = a, *y = b;
    if (x->store_ts != y->store_ts)
        return x->store_ts < y->store_ts ? -1 : 1;
    int c = strcmp(x->addr, y->addr);
    if (c != 0)
        return c;
    if (x->phy_off != y->phy_off)
        return x->phy_off < y->phy_off ? -1 : 1;
    if (x->qid != y->qid)
        return x->qid < y->qid ? -1 : 1;
    return x->queue_off < y->queue_off ? -1 : x->queue_off > y->queue_off;
}

/* Every record of phys_topic in the window, ordered, at most limit. */
static int collect(struct api_req *r, const struct api_instance *in, const char *phys_topic,
                   const struct paged_params *p, size_t limit, struct hits *h)
{
    struct admin_broker *b;
    size_t nb;
    char err[400];
    if (admin_brokers(r->o->admin, in->cluster, &r->arena, &b, &nb, err, sizeof err) != TERN_OK)
        return api_invoke_failed(r, "finding the brokers", err);
    for (size_t i = 0; i < nb; i++) {
        struct admin_reply rep;
        struct rcmd req;
        rcmd_init(&req);
        req.code = RC_GET_TOPIC_STATS_INFO;
        rcmd_add_cstr(&req, "topic", phys_topic);
        if (admin_request(r->o->admin, b[i].addr, &req, &r->arena, &rep, err, sizeof err) !=
            TERN_OK)
            return api_invoke_failed(r, "reading the topic stats", err);
        struct json_val *root;
        if (rep.code != RESP_SUCCESS || json_parse(rep.body, &r->arena, &root) != TERN_OK)
            continue; /* the topic is not on this broker */
        const struct json_val *tab = json_get(root, "offsetTable");
        for (size_t q = 0; tab && tab->type == JSON_OBJECT && q < tab->n; q++) {
            int64_t mino = 0, maxo = 0, qid = 0;
            struct json_val *key;
            json_get_i64(&tab->items[q], "minOffset", &mino);
            json_get_i64(&tab->items[q], "maxOffset", &maxo);
            if (maxo <= mino || json_parse(tab->keys[q], &r->arena, &key) != TERN_OK ||
                json_get_i64(key, "queueId", &qid) != TERN_OK)
                continue;
            if (scan_queue(r, b[i].addr, phys_topic, (int)qid, mino, maxo, p, limit, h) < 0)
                return -1;
        }
    }
    if (h->n > 1)
        qsort(h->v, h->n, sizeof h->v[0], hit_order);
    if (h->n > limit)
        h->n = limit;
    return 0;
}

static struct page_task *new_task(struct api_req *r, const char *kind,
                                  const struct api_instance *in, const char *phys_topic,
                                  const struct paged_params *p)
{
    size_t limit = (size_t)(MAX_PAGES * p->page_size);
    struct hits h = {0};
    if (collect(r, in, phys_topic, p, limit, &h) < 0)
        return NULL;
    if (h.n == 0) {
        api_fail(r, API_BIZ_NO_MESSAGE, "no message stored between %lld and %lld",
                 (long long)p->begin, (long long)p->end);
        return NULL;
    }
    struct page_ref *refs = calloc(h.n, sizeof *refs);
    if (!refs) {
        api_fail(r, API_ONS_SYSTEM_ERROR, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < h.n; i++) {
        snprintf(refs[i].addr, sizeof refs[i].addr, "%s", h.v[i].addr);
        refs[i].phy_off = h.v[i].phy_off;
    }
    struct page_task tmpl = {
        .kind = kind, .owner = r->caller.main_id, .page_size = p->page_size, .n = h.n};
    snprintf(tmpl.instance_id, sizeof tmpl.instance_id, "%s", in->id);
    struct page_task *t = page_tasks_add(r->o->tasks, &tmpl, refs, clock_wall_ms());
    if (!t)
        api_fail(r, API_ONS_SYSTEM_ERROR, "out of memory");
    return t;
}

/* Reads one referenced record again; 1 read, 0 gone, -1 error. */
static int read_ref(struct api_req *r, const struct page_ref *ref, struct msg_record *m)
{
    char err[400];
    struct admin_reply rep;
    struct rcmd req;
    rcmd_init(&req);
    req.code = RC_VIEW_MESSAGE_BY_ID;
    rcmd_add_i64(&req, "offset", ref->phy_off);
    if (admin_request(r->o->admin, ref->addr, &req, &r->arena, &rep, err, sizeof err) != TERN_OK)
        return api_invoke_failed(r, "reading a message", err);
    if (rep.code != RESP_SUCCESS || msg_decode(rep.body.ptr, rep.body.len, m) != TERN_OK)
        return 0;
    return 1;
}

int paged_answer(struct api_req *r, const char *kind, const struct api_instance *in,
                 const char *phys_topic, bool dlq, const struct paged_params *p)
{
    struct page_task *t;
    struct api_instance own;
    if (p->task_id) {
        t = page_tasks_get(r->o->tasks, p->task_id, clock_wall_ms());
        if (!t || strcmp(t->kind, kind) != 0 || t->owner != r->caller.main_id)
            return api_fail(r, API_BIZ_FIELD_CHECK_INVALID, "unknown or expired taskId %s",
                            p->task_id);
        if (api_instance_load(r->o->db, t->instance_id, &own) != TERN_OK)
            return api_fail(r, API_BIZ_FIELD_CHECK_INVALID, "the instance of task %s is gone",
                            p->task_id);
        in = &own;
    } else if (!(t = new_task(r, kind, in, phys_topic, p))) {
        return -1;
    }
    int64_t pages = ((int64_t)t->n + t->page_size - 1) / t->page_size;
    if (p->page > pages)
        return api_fail(r, API_BIZ_FIELD_CHECK_INVALID,
                        "currentPage %lld is beyond maxPageCount %lld", (long long)p->page,
                        (long long)pages);
    /* Copy out of the task: it belongs to the table, not to this request. */
    size_t from = (size_t)((p->page - 1) * t->page_size);
    size_t to = from + (size_t)t->page_size < t->n ? from + (size_t)t->page_size : t->n;
    struct page_ref *refs = arena_alloc(&r->arena, (to - from) * sizeof *refs + 1);
    if (!refs)
        return api_fail(r, API_ONS_SYSTEM_ERROR, "out of memory");
    memcpy(refs, t->refs + from, (to - from) * sizeof *refs);
    char task_id[sizeof t->id];
    memcpy(task_id, t->id, sizeof task_id);
    r->current_page = p->page;
    r->page_size = t->page_size;
    r->total = (int64_t)t->n;
    jw_t w;
    api_data_begin(r, &w);
    jw_obj_begin(&w);
    jw_key(&w, "taskId");
    jw_cstr(&w, task_id);
    jw_key(&w, "maxPageCount");
    jw_i64(&w, pages);
    jw_key(&w, "currentPage");
    jw_i64(&w, p->page);
    jw_key(&w, "data");
    jw_arr_begin(&w);
    for (size_t i = 0; i < to - from; i++) {
        struct msg_record m;
        int rc = read_ref(r, &refs[i], &m);
        if (rc < 0)
            return -1;
        if (rc > 0)
            msgview_write(r, &w, in, &m, msgview_shown_topic(r, in, &m, dlq));
    }
    jw_arr_end(&w);
    jw_obj_end(&w);
    return 0;
}

int h_message_get_by_paged_topic(struct api_req *r)
{
    const char *topic;
    struct paged_params p;
    struct api_instance in;
    if (api_str(r, "topic", true, 1, 255, &topic) < 0 || paged_params(r, &p) < 0)
        return -1;
    if (p.task_id)
        return paged_answer(r, "topic", NULL, NULL, false, &p);
    if (api_existing_topic(r, topic, &in) < 0)
        return -1;
    const char *phys = api_phys_name(r, &in, topic);
    if (!phys)
        return -1;
    return paged_answer(r, "topic", &in, phys, false, &p);
}
