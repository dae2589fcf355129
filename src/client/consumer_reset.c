/* SPDX-License-Identifier: Apache-2.0 */
/* consumer_reset.c: RESET_CONSUMER_CLIENT_OFFSET (220, remoting-protocol
 * §4.E.3), the way a 4.x broker resets a running group ("client-side
 * reset"): oneway, header topic/group/timestamp/isForce, body the new offset
 * of each queue, either as CPP clients get it
 *   {"offsetTable":[{"topic":"T","brokerName":"b","queueId":0,"offset":12},…]}
 * or in fastjson's object-key form
 *   {"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:12,…}}.
 * (Tern's own broker resets through its pull answers instead and never sends
 * this.) As the C++ client: every listed queue of the topic gets the new
 * offset as its committed progress (the broker's, or the broadcasting file),
 * and a queue this instance holds is dropped and taken again by an immediate
 * rebalance, so pulling resumes there. (Java commits only the queues it
 * holds; committing all of them also covers a queue nobody holds at that
 * moment, at a cost: a late commit here can rewind progress the owner
 * committed in between. Each instance applies a reset within a second of
 * receiving it and owners commit every 5 s, so that takes a slow instance.)
 * Messages already handed to listeners still run (at least once).
 *
 * The loop thread only parses and queues (c->resets, under c->mu); the
 * service thread applies (cons_reset_apply, from the tick). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/consumer_int.h"
#include "common/arena.h"
#include "protocol/codes.h"

struct reset_entry {
    char broker[64];
    int qid;
    int64_t offset;
};

struct cons_reset {
    struct cons_reset *next;
    char wire_topic[256];
    size_t n;
    struct reset_entry e[]; /* n */
};

/* Adds the queue described by obj (topic, brokerName, queueId) with offset
 * off when it belongs to topic (r has room for one entry per table item). */
static void take_entry(struct cons_reset *r, const struct json_val *obj, int64_t off)
{
    tern_bytes_t t = json_get_str(obj, "topic"), b = json_get_str(obj, "brokerName");
    int64_t qid = -1;
    if (t.ptr == NULL || !tern_bytes_eq_cstr(t, r->wire_topic) || b.ptr == NULL ||
        b.len >= sizeof r->e[0].broker || json_get_i64(obj, "queueId", &qid) != TERN_OK ||
        qid < 0 || qid > INT32_MAX || off < 0)
        return;
    struct reset_entry *e = &r->e[r->n++];
    memcpy(e->broker, b.ptr, b.len);
    e->broker[b.len] = '\0';
    e->qid = (int)qid;
    e->offset = off;
}

/* The entries of body's offsetTable for wire_topic, or NULL (bad body, no
 * entry for the topic, out of memory). */
static struct cons_reset *parse(tern_bytes_t topic, tern_bytes_t body)
{
    arena_t a;
    arena_init(&a);
    struct json_val *v = NULL;
    const struct json_val *tab = NULL;
    if (json_parse(body, &a, &v) == TERN_OK)
        tab = json_get(v, "offsetTable");
    struct cons_reset *r = NULL;
    if (tab && (tab->type == JSON_ARRAY || tab->type == JSON_OBJECT) && tab->n > 0 &&
        topic.len < sizeof r->wire_topic)
        r = cl_calloc(1, sizeof *r + tab->n * sizeof r->e[0]);
    if (r) {
        memcpy(r->wire_topic, topic.ptr, topic.len);
        for (size_t i = 0; i < tab->n; i++) {
            int64_t off = -1;
            if (tab->type == JSON_ARRAY) {
                const struct json_val *it = &tab->items[i];
                if (json_get_i64(it, "offset", &off) == TERN_OK)
                    take_entry(r, it, off);
            } else {
                /* The key is a MessageQueue object in raw text. */
                struct json_val *mq = NULL;
                if (json_val_i64(&tab->items[i], &off) == TERN_OK &&
                    json_parse(tab->keys[i], &a, &mq) == TERN_OK)
                    take_entry(r, mq, off);
            }
        }
        if (r->n == 0) {
            free(r);
            r = NULL;
        }
    }
    arena_deinit(&a);
    return r;
}

void cons_reset_request(void *owner, struct rreq *req)
{
    struct ons_consumer *c = owner;
    tern_bytes_t topic = rcmd_get(&req->cmd, "topic");
    struct cons_reset *r = topic.ptr ? parse(topic, req->cmd.body) : NULL;
    if (r == NULL)
        cl_log(ONS_LOG_WARN, "ignoring a RESET_CONSUMER_CLIENT_OFFSET without usable offsets");
    if (r && atomic_load(&c->core.state) == CL_STARTED) {
        pthread_mutex_lock(&c->mu);
        r->next = c->resets;
        c->resets = r;
        pthread_mutex_unlock(&c->mu);
        cl_core_kick(&c->core);
        r = NULL;
    }
    free(r);
    rreq_respond_code(req, RESP_SUCCESS, NULL); /* oneway: nothing is sent */
}

void cons_reset_apply(struct ons_consumer *c)
{
    pthread_mutex_lock(&c->mu);
    struct cons_reset *r = c->resets;
    c->resets = NULL;
    pthread_mutex_unlock(&c->mu);
    if (r == NULL)
        return;
    pthread_mutex_lock(&c->rb_mu);
    while (r) {
        for (size_t i = 0; i < r->n; i++) {
            const struct reset_entry *e = &r->e[i];
            cl_log(ONS_LOG_INFO, "reset %s:%s:%d to offset %lld", r->wire_topic, e->broker, e->qid,
                   (long long)e->offset);
            cons_offset_reset(c, r->wire_topic, e->broker, e->qid, e->offset);
            struct pq *q = cons_rebalance_detach(c, r->wire_topic, e->broker, e->qid);
            if (q && c->orderly) {
                /* Let the message in the listener finish before the queue
                 * is taken again (it still holds the broker lock). */
                pthread_mutex_lock(&q->consume_mu);
                pthread_mutex_unlock(&q->consume_mu);
            }
            pq_unref(q);
        }
        struct cons_reset *next = r->next;
        free(r);
        r = next;
    }
    pthread_mutex_unlock(&c->rb_mu);
    atomic_store(&c->rebalance_due, true);
}

void cons_reset_free_pending(struct ons_consumer *c)
{
    struct cons_reset *r = c->resets;
    c->resets = NULL;
    while (r) {
        struct cons_reset *next = r->next;
        free(r);
        r = next;
    }
}
