/* SPDX-License-Identifier: Apache-2.0 */
/* call.c: outgoing calls and the pending-call table (see call.h).
 *
 * The opaque counter is the one process-wide mutable value here: atomic,
 * masked to 31 bits and never 0, as spec/remoting-protocol.md §2.2 asks for
 * server-chosen opaques. Tables are touched by their loop thread only. */
#include "remoting/call.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"

static atomic_uint g_opaque;

int32_t rcall_next_opaque(void)
{
    for (;;) {
        unsigned v = atomic_fetch_add_explicit(&g_opaque, 1, memory_order_relaxed) + 1;
        v &= 0x7fffffffu;
        if (v != 0)
            return (int32_t)v;
    }
}

static void default_done(struct rcall *k, int err, struct rreq *resp)
{
    if (k->cb)
        k->cb(k->arg, err, resp ? &resp->cmd : NULL);
}

/* Everything but the frame buffer as rcall_new leaves it. */
static void reset(struct rcall *k)
{
    buf_t frame = k->frame;
    memset(k, 0, offsetof(struct rcall, addr));
    k->frame = frame;
    k->addr[0] = '\0';
    k->timer.heap_idx = -1;
    k->done = default_done;
}

struct rcall *rcall_new(void)
{
    struct rcall *k = tern_malloc(sizeof(*k));
    if (k == NULL)
        return NULL;
    buf_init(&k->frame);
    reset(k);
    return k;
}

struct rcall *rcall_take(struct spare *s)
{
    struct spare_node *n = spare_get(s, 0);
    struct rcall *k;
    if (n) {
        k = (struct rcall *)((char *)n - offsetof(struct rcall, node));
        reset(k);
        buf_reset(&k->frame);
    } else if ((k = rcall_new()) == NULL) {
        return NULL;
    }
    k->spare = s;
    return k;
}

void rcall_destroy(struct spare_node *n)
{
    struct rcall *k = (struct rcall *)((char *)n - offsetof(struct rcall, node));
    buf_deinit(&k->frame);
    free(k);
}

void rcall_free(struct rcall *k)
{
    if (!k)
        return;
    if (k->spare && !buf_failed(&k->frame)) {
        k->node.size = sizeof(*k) + k->frame.cap;
        spare_put(k->spare, &k->node);
        return;
    }
    rcall_destroy(&k->node);
}

int rcall_encode(struct rcall *k, struct rcmd *req, bool is_oneway, bool force_json)
{
    k->opaque = rcall_next_opaque();
    k->is_oneway = is_oneway;
    req->opaque = k->opaque;
    req->flag &= ~(RCMD_FLAG_RESPONSE | RCMD_FLAG_ONEWAY);
    if (is_oneway)
        req->flag |= RCMD_FLAG_ONEWAY;
    if (force_json)
        req->serialize_type = RCMD_JSON;
    /* One allocation for typical headers instead of a chain of reallocs. */
    buf_reserve(&k->frame, 512 + req->body.len);
    rcmd_encode(req, &k->frame);
    return buf_failed(&k->frame) ? TERN_ENOMEM : TERN_OK;
}

/* ---- pending table ---------------------------------------------------- */

static size_t slot_of(int32_t opaque, size_t mask)
{
    /* Opaques are sequential: a multiplicative hash spreads them. */
    return (size_t)(((uint32_t)opaque * 2654435761u) >> 7) & mask;
}

void pend_map_init(struct pend_map *m)
{
    m->slots = NULL;
    m->cap = 0;
    m->count = 0;
}

void pend_map_deinit(struct pend_map *m)
{
    free(m->slots);
    pend_map_init(m);
}

static int grow(struct pend_map *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 64;
    struct rcall **ns = tern_calloc(ncap, sizeof(*ns));
    if (ns == NULL)
        return TERN_ENOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        struct rcall *k = m->slots[i];
        if (!k)
            continue;
        size_t j = slot_of(k->opaque, ncap - 1);
        while (ns[j])
            j = (j + 1) & (ncap - 1);
        ns[j] = k;
    }
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    return TERN_OK;
}

int pend_map_put(struct pend_map *m, struct rcall *k)
{
    if ((m->count + 1) * 2 > m->cap && grow(m) != TERN_OK)
        return TERN_ENOMEM;
    size_t mask = m->cap - 1;
    size_t j = slot_of(k->opaque, mask);
    while (m->slots[j]) {
        if (m->slots[j]->opaque == k->opaque) {
            /* Only after 2^31 calls on one connection: the old one loses. */
            m->slots[j] = k;
            return TERN_OK;
        }
        j = (j + 1) & mask;
    }
    m->slots[j] = k;
    m->count++;
    return TERN_OK;
}

struct rcall *pend_map_take(struct pend_map *m, int32_t opaque)
{
    if (m->count == 0)
        return NULL;
    size_t mask = m->cap - 1;
    size_t j = slot_of(opaque, mask);
    while (m->slots[j] && m->slots[j]->opaque != opaque)
        j = (j + 1) & mask;
    struct rcall *k = m->slots[j];
    if (!k)
        return NULL;
    /* Backward-shift deletion keeps every probe chain unbroken. */
    size_t hole = j;
    for (size_t i = (j + 1) & mask; m->slots[i]; i = (i + 1) & mask) {
        size_t home = slot_of(m->slots[i]->opaque, mask);
        /* Move slots[i] into the hole unless its home lies in (hole, i]. */
        bool stays = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i);
        if (!stays) {
            m->slots[hole] = m->slots[i];
            hole = i;
        }
    }
    m->slots[hole] = NULL;
    m->count--;
    return k;
}

void pend_map_drain(struct pend_map *m, void (*fn)(struct rcall *k, void *arg), void *arg)
{
    struct pend_map old = *m;
    pend_map_init(m);
    for (size_t i = 0; i < old.cap; i++) {
        if (old.slots[i])
            fn(old.slots[i], arg);
    }
    free(old.slots);
}
