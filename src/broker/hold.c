/* SPDX-License-Identifier: Apache-2.0 */
/* hold.c: parked pulls, woken by arrivals and deadlines (see hold.h).
 * Keys are the topic bytes, a NUL, then the queue id as 4 raw bytes. */
#include "broker/hold.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/xalloc.h"
#include "remoting/remoting.h"

#define RECHECK_MS 5000

struct held_pull {
    struct held_pull *next; /* list link */
    struct rreq *req;       /* owned until replayed */
    char *topic;            /* owned */
    int32_t qid;
    int64_t offset;
    int64_t deadline_ms; /* monotonic */
    struct tag_filter filter;
};

static size_t make_key(uint8_t *key, tern_bytes_t topic, int32_t qid)
{
    size_t n = topic.len > 255 ? 255 : topic.len;
    memcpy(key, topic.ptr, n);
    key[n] = 0;
    memcpy(key + n + 1, &qid, 4);
    return n + 5;
}

/* Replays each entry, except those whose connection has closed: nobody
 * would read the answer, so they are freed silently. */
static void run_list(struct hold_service *h, struct held_pull *list)
{
    while (list) {
        struct held_pull *next = list->next;
        if (rconn_is_closed(list->req->conn))
            rreq_free(list->req);
        else
            h->replay(h->ctx, list->req);
        free(list->topic);
        free(list);
        list = next;
    }
}

static void timed_wait(struct hold_service *h, int64_t until_mono_ms)
{
    /* The condvar uses CLOCK_MONOTONIC (set in hold_start). */
    struct timespec ts;
    ts.tv_sec = until_mono_ms / 1000;
    ts.tv_nsec = (until_mono_ms % 1000) * 1000000;
    pthread_cond_timedwait(&h->cond, &h->lock, &ts);
}

static void *hold_main(void *arg)
{
    pthread_setname_np(pthread_self(), "tern-hold");
    struct hold_service *h = arg;
    int64_t next_recheck = clock_mono_ms() + RECHECK_MS;
    pthread_mutex_lock(&h->lock);
    while (!h->stopping) {
        int64_t now = clock_mono_ms();
        bool recheck = now >= next_recheck;
        if (recheck)
            next_recheck = now + RECHECK_MS;
        struct held_pull *due = NULL;
        int64_t earliest = next_recheck;
        const char *k;
        void *v;
        for (size_t it = 0; strmap_next(&h->queues, &it, &k, &v);) {
            struct held_pull *head = v;
            bool changed = false;
            int64_t maxo = -1;
            struct held_pull **pp = &head;
            while (*pp) {
                struct held_pull *p = *pp;
                bool take = p->deadline_ms <= now || rconn_is_closed(p->req->conn);
                if (!take && recheck) {
                    if (maxo < 0)
                        maxo = h->max_off(h->ctx, tern_cstr(p->topic), p->qid);
                    take = maxo > p->offset;
                }
                if (take) {
                    *pp = p->next;
                    p->next = due;
                    due = p;
                    changed = true;
                    atomic_fetch_sub(&h->count, 1);
                } else {
                    if (p->deadline_ms < earliest)
                        earliest = p->deadline_ms;
                    pp = &p->next;
                }
            }
            if (changed) {
                /* Re-derive the key from the entry of this slot. */
                size_t klen = 0;
                const char *z = memchr(k, 0, 256);
                klen = (size_t)(z - k) + 5;
                if (head)
                    strmap_put(&h->queues, tern_bytes(k, klen), head);
                else
                    strmap_del(&h->queues, tern_bytes(k, klen));
            }
        }
        if (due) {
            pthread_mutex_unlock(&h->lock);
            run_list(h, due);
            pthread_mutex_lock(&h->lock);
            continue;
        }
        h->wake_at_ms = earliest;
        timed_wait(h, earliest);
    }
    pthread_mutex_unlock(&h->lock);
    return NULL;
}

int hold_start(struct hold_service *h, hold_replay_fn replay, hold_max_fn max_off, void *ctx)
{
    memset(h, 0, sizeof *h);
    pthread_mutex_init(&h->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&h->cond, &ca);
    pthread_condattr_destroy(&ca);
    strmap_init(&h->queues);
    h->replay = replay;
    h->max_off = max_off;
    h->ctx = ctx;
    int rc = pthread_create(&h->thread, NULL, hold_main, h);
    if (rc != 0)
        return -rc;
    h->started = true;
    return 0;
}

void hold_stop(struct hold_service *h)
{
    if (!h->started)
        return;
    pthread_mutex_lock(&h->lock);
    h->stopping = true;
    pthread_cond_signal(&h->cond);
    pthread_mutex_unlock(&h->lock);
    pthread_join(h->thread, NULL);
    /* Answer everything still parked. */
    struct held_pull *all = NULL;
    pthread_mutex_lock(&h->lock);
    const char *k;
    void *v;
    for (size_t it = 0; strmap_next(&h->queues, &it, &k, &v);) {
        struct held_pull *p = v;
        while (p) {
            struct held_pull *n = p->next;
            p->next = all;
            all = p;
            p = n;
        }
    }
    strmap_deinit(&h->queues);
    strmap_init(&h->queues);
    atomic_store(&h->count, 0);
    pthread_mutex_unlock(&h->lock);
    run_list(h, all);
    h->started = false;
}

void hold_deinit(struct hold_service *h)
{
    strmap_deinit(&h->queues);
    pthread_cond_destroy(&h->cond);
    pthread_mutex_destroy(&h->lock);
}

bool hold_add(struct hold_service *h, struct rreq *req, tern_bytes_t topic, int32_t qid,
              int64_t offset, int64_t timeout_ms, const struct tag_filter *filter)
{
    struct held_pull *p = xmalloc(sizeof *p);
    p->req = req;
    p->topic = xstrndup((const char *)topic.ptr, topic.len);
    p->qid = qid;
    p->offset = offset;
    if (timeout_ms < 0)
        timeout_ms = 0;
    if (timeout_ms > HOLD_MAX_TIMEOUT_MS)
        timeout_ms = HOLD_MAX_TIMEOUT_MS;
    p->deadline_ms = clock_mono_ms() + timeout_ms;
    p->filter = *filter;
    uint8_t key[264];
    size_t klen = make_key(key, topic, qid);
    pthread_mutex_lock(&h->lock);
    if (h->stopping || atomic_load(&h->count) >= HOLD_MAX_HELD) {
        pthread_mutex_unlock(&h->lock);
        free(p->topic);
        free(p);
        return false;
    }
    p->next = strmap_get(&h->queues, tern_bytes(key, klen));
    strmap_put(&h->queues, tern_bytes(key, klen), p);
    atomic_fetch_add(&h->count, 1);
    if (p->deadline_ms < h->wake_at_ms) {
        h->wake_at_ms = p->deadline_ms;
        pthread_cond_signal(&h->cond);
    }
    pthread_mutex_unlock(&h->lock);
    return true;
}

void hold_notify(struct hold_service *h, tern_bytes_t topic, int32_t qid, int64_t max_off,
                 const int64_t *tags_code)
{
    if (atomic_load_explicit(&h->count, memory_order_relaxed) == 0)
        return;
    uint8_t key[264];
    size_t klen = make_key(key, topic, qid);
    struct held_pull *due = NULL;
    pthread_mutex_lock(&h->lock);
    struct held_pull *head = strmap_get(&h->queues, tern_bytes(key, klen));
    if (!head) {
        pthread_mutex_unlock(&h->lock);
        return;
    }
    struct held_pull **pp = &head;
    while (*pp) {
        struct held_pull *p = *pp;
        if (max_off > p->offset && (!tags_code || tag_filter_match(&p->filter, *tags_code))) {
            *pp = p->next;
            p->next = due;
            due = p;
            atomic_fetch_sub(&h->count, 1);
        } else {
            pp = &p->next;
        }
    }
    if (head)
        strmap_put(&h->queues, tern_bytes(key, klen), head);
    else
        strmap_del(&h->queues, tern_bytes(key, klen));
    pthread_mutex_unlock(&h->lock);
    run_list(h, due);
}

long hold_count(struct hold_service *h)
{
    return atomic_load(&h->count);
}

int64_t hold_latest_deadline_ms(struct hold_service *h)
{
    int64_t latest = -1;
    pthread_mutex_lock(&h->lock);
    const char *k;
    void *v;
    for (size_t it = 0; strmap_next(&h->queues, &it, &k, &v);)
        for (const struct held_pull *p = v; p; p = p->next)
            if (p->deadline_ms > latest)
                latest = p->deadline_ms;
    pthread_mutex_unlock(&h->lock);
    return latest;
}
