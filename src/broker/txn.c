/* SPDX-License-Identifier: Apache-2.0 */
/* txn.c: the half-message window, claims, the op log, the restart point and
 * the check thread (see txn.h and docs/design/transactions.md).
 *
 * The window holds one entry per half queue offset from `base` (the oldest
 * unresolved half) up to the half queue's max offset. The restart point is
 * (base, the smallest op offset that may resolve a half >= base): replaying
 * the op queue from there after a crash marks exactly the resolved halves.
 * Check counts live in the window and the progress file, never in rewritten
 * half records. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker/broker_int.h"
#include "broker/persist.h"
#include "broker/txn.h"
#include "broker/txn_int.h"
#include "common/arena.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "protocol/json.h"
#include "protocol/props.h"
#include "store/store.h"

#define LOAD_BATCH_MSGS  64
#define LOAD_BATCH_BYTES (1024 * 1024)

static struct txn_ent *ent_at(struct txn_service *t, int64_t off)
{
    if (off < t->base || off >= t->base + (int64_t)(t->len - t->head))
        return NULL;
    return &t->ents[t->head + (size_t)(off - t->base)];
}

static void push_ent(struct txn_service *t, const struct txn_ent *e)
{
    if (t->len == t->cap) {
        if (t->head > 0) { /* compact before growing */
            memmove(t->ents, t->ents + t->head, (t->len - t->head) * sizeof *t->ents);
            t->len -= t->head;
            t->head = 0;
        }
        if (t->len == t->cap) {
            t->cap = t->cap ? t->cap * 2 : 256;
            t->ents = xrealloc(t->ents, t->cap * sizeof *t->ents);
        }
    }
    t->ents[t->len++] = *e;
}

static void pop_resolved(struct txn_service *t)
{
    while (t->head < t->len && t->ents[t->head].state == ENT_RESOLVED) {
        t->head++;
        t->base++;
    }
    if (t->head == t->len)
        t->head = t->len = 0;
}

static void push_gap(struct txn_service *t)
{
    struct txn_ent e = {0, 0, 0, -1, 0, ENT_RESOLVED};
    push_ent(t, &e);
}

static int64_t immunity_of(const struct broker *b, tern_bytes_t props)
{
    tern_bytes_t v;
    int64_t s;
    if (props_get(props, PROP_CHECK_IMMUNITY, &v) && parse_i64(v, &s) == TERN_OK && s >= 0)
        return s * 1000;
    return b->cfg.txn_timeout_ms;
}

/* Appends the halves stored since the last call. Caller holds t->lock. */
static void catch_up_locked(struct txn_service *t)
{
    struct broker *b = t->b;
    tern_bytes_t topic = tern_cstr(TXN_HALF_TOPIC);
    int64_t next = t->base + (int64_t)(t->len - t->head);
    int64_t maxo = store_max_offset(b->store, topic, 0);
    if (next >= maxo)
        return;
    int64_t mino = store_min_offset(b->store, topic, 0);
    if (next < mino) { /* retention removed old halves: they are gone */
        if (t->head == t->len) {
            t->base = next = mino;
        } else {
            for (; next < mino; next++)
                push_gap(t);
        }
    }
    buf_t body;
    buf_init(&body);
    while (next < maxo) {
        buf_reset(&body);
        struct store_get_result gr;
        if (store_get(b->store, topic, 0, next, LOAD_BATCH_MSGS, LOAD_BATCH_BYTES, NULL, NULL,
                      &body, &gr) != TERN_OK)
            break;
        if (gr.status != GET_FOUND || gr.count == 0) {
            if (gr.next_off <= next || gr.next_off > maxo)
                break;
            for (; next < gr.next_off; next++)
                push_gap(t);
            continue;
        }
        size_t pos = 0;
        for (int i = 0; i < gr.count && pos < body.len; i++) {
            struct msg_record r;
            if (msg_decode(body.data + pos, body.len - pos, &r) != TERN_OK)
                break;
            pos += (size_t)r.total_size;
            /* Defensive: keep offsets aligned, but never past this batch (a
             * corrupt QUEUEOFFSET must not drive billions of gap entries). */
            int64_t upto = r.queue_off < gr.next_off ? r.queue_off : gr.next_off;
            for (; next < upto; next++)
                push_gap(t);
            if (r.queue_off != next)
                continue;
            struct txn_ent e = {r.phy_off, r.store_ts, immunity_of(b, r.props), -1, 0, ENT_PENDING};
            push_ent(t, &e);
            next++;
        }
        if (gr.next_off > next)
            for (; next < gr.next_off; next++)
                push_gap(t);
    }
    buf_deinit(&body);
}

int txn_claim(struct broker *b, int64_t half_off)
{
    struct txn_service *t = b->txn;
    pthread_mutex_lock(&t->lock);
    catch_up_locked(t);
    struct txn_ent *e = ent_at(t, half_off);
    int rc;
    if (!e) {
        rc = half_off >= 0 && half_off < t->base ? TXN_RESOLVED : TXN_NOT_FOUND;
    } else if (e->state != ENT_PENDING) {
        rc = TXN_RESOLVED;
    } else {
        e->state = ENT_CLAIMED;
        /* The op record will land at or after today's max. */
        e->op_off = store_max_offset(b->store, tern_cstr(TXN_OP_TOPIC), 0);
        rc = TXN_CLAIMED;
    }
    pthread_mutex_unlock(&t->lock);
    return rc;
}

void txn_settle(struct broker *b, int64_t half_off, int64_t op_off)
{
    struct txn_service *t = b->txn;
    pthread_mutex_lock(&t->lock);
    struct txn_ent *e = ent_at(t, half_off);
    if (e && e->state == ENT_CLAIMED) {
        if (op_off >= 0) {
            e->state = ENT_RESOLVED;
            e->op_off = op_off;
            t->stats.resolved++;
        } else {
            e->state = ENT_PENDING;
            e->op_off = -1;
        }
        t->dirty = true;
        pop_resolved(t);
    }
    pthread_mutex_unlock(&t->lock);
}

int txn_write_op(struct broker *b, int64_t half_off, int64_t *op_off)
{
    char body[24], props[16];
    int bl = snprintf(body, sizeof body, "%lld", (long long)half_off);
    int pl = snprintf(props, sizeof props, "TAGS%cd%c", PROP_NAME_SEP, PROP_PAIR_SEP);
    struct store_msg m;
    memset(&m, 0, sizeof m);
    m.topic = tern_cstr(TXN_OP_TOPIC);
    m.born_ts = clock_wall_ms();
    m.born_host = b->store_host;
    m.store_host = b->store_host;
    m.body = tern_bytes(body, (size_t)bl);
    m.props = tern_bytes(props, (size_t)pl);
    struct store_put_result res;
    int rc = store_put(b->store, &m, 1, &res, NULL);
    if (rc == TERN_OK)
        *op_off = res.first_queue_off;
    return rc;
}

void txn_get_stats(struct broker *b, struct txn_stats *out)
{
    struct txn_service *t = b->txn;
    memset(out, 0, sizeof *out);
    if (!t)
        return;
    pthread_mutex_lock(&t->lock);
    *out = t->stats;
    for (size_t i = t->head; i < t->len; i++)
        out->pending += t->ents[i].state != ENT_RESOLVED;
    pthread_mutex_unlock(&t->lock);
}

/* ---- restart point ---- */

/* {"halfOffset":H,"opOffset":O,"checks":{"<half offset>":n,...}}. Caller
 * holds t->lock. */
static void encode_progress_locked(struct txn_service *t, buf_t *out)
{
    int64_t op = -1;
    for (size_t i = t->head; i < t->len; i++) {
        const struct txn_ent *e = &t->ents[i];
        if (e->state != ENT_PENDING && e->op_off >= 0 && (op < 0 || e->op_off < op))
            op = e->op_off;
    }
    if (op < 0)
        op = store_max_offset(t->b->store, tern_cstr(TXN_OP_TOPIC), 0);
    buf_printf(out, "{\"halfOffset\":%lld,\"opOffset\":%lld,\"checks\":{", (long long)t->base,
               (long long)op);
    bool first = true;
    for (size_t i = t->head; i < t->len; i++) {
        const struct txn_ent *e = &t->ents[i];
        if (e->state == ENT_RESOLVED || e->checks == 0)
            continue;
        buf_printf(out, "%s\"%lld\":%d", first ? "" : ",",
                   (long long)(t->base + (int64_t)(i - t->head)), e->checks);
        first = false;
    }
    buf_append_cstr(out, "}}");
}

static void persist_progress(struct txn_service *t, bool force)
{
    buf_t b;
    buf_init(&b);
    pthread_mutex_lock(&t->lock);
    bool go = t->dirty || force;
    if (go) {
        encode_progress_locked(t, &b);
        t->dirty = false;
    }
    pthread_mutex_unlock(&t->lock);
    if (go && persist_write(t->path, buf_view(&b)) != TERN_OK) {
        log_warn("txn", "cannot write %s", t->path);
        pthread_mutex_lock(&t->lock);
        t->dirty = true;
        pthread_mutex_unlock(&t->lock);
    }
    buf_deinit(&b);
}

/* Marks halves resolved by op records from op_from on (start-up only). */
static void replay_ops(struct txn_service *t, int64_t op_from)
{
    struct broker *b = t->b;
    tern_bytes_t topic = tern_cstr(TXN_OP_TOPIC);
    int64_t maxo = store_max_offset(b->store, topic, 0);
    int64_t mino = store_min_offset(b->store, topic, 0);
    int64_t off = op_from > mino ? op_from : mino;
    buf_t body;
    buf_init(&body);
    while (off < maxo) {
        buf_reset(&body);
        struct store_get_result gr;
        if (store_get(b->store, topic, 0, off, LOAD_BATCH_MSGS, LOAD_BATCH_BYTES, NULL, NULL, &body,
                      &gr) != TERN_OK ||
            gr.next_off <= off)
            break;
        size_t pos = 0;
        for (int i = 0; gr.status == GET_FOUND && i < gr.count && pos < body.len; i++) {
            struct msg_record r;
            if (msg_decode(body.data + pos, body.len - pos, &r) != TERN_OK)
                break;
            pos += (size_t)r.total_size;
            int64_t half;
            struct txn_ent *e;
            if (parse_i64(r.body, &half) == TERN_OK && (e = ent_at(t, half)) &&
                e->state != ENT_RESOLVED) {
                e->state = ENT_RESOLVED;
                e->op_off = r.queue_off;
            }
        }
        off = gr.next_off;
    }
    buf_deinit(&body);
}

static void load_state(struct txn_service *t)
{
    int64_t half_from = 0, op_from = 0;
    buf_t f;
    buf_init(&f);
    arena_t a;
    arena_init(&a);
    struct json_val *root = NULL, *checks = NULL;
    if (persist_read(t->path, &f) == TERN_OK && json_parse(buf_view(&f), &a, &root) == TERN_OK) {
        json_get_i64(root, "halfOffset", &half_from);
        json_get_i64(root, "opOffset", &op_from);
        checks = (struct json_val *)json_get(root, "checks");
    }
    /* A corrupt or stale file must not place the window past the queues. */
    int64_t half_max = store_max_offset(t->b->store, tern_cstr(TXN_HALF_TOPIC), 0);
    int64_t op_max = store_max_offset(t->b->store, tern_cstr(TXN_OP_TOPIC), 0);
    if (half_from > half_max || op_from > op_max)
        log_warn("txn", "progress half=%lld op=%lld past the queues (%lld, %lld); clamped",
                 (long long)half_from, (long long)op_from, (long long)half_max, (long long)op_max);
    half_from = half_from < 0 ? 0 : half_from > half_max ? half_max : half_from;
    op_from = op_from < 0 ? 0 : op_from > op_max ? op_max : op_from;
    t->base = half_from;
    catch_up_locked(t);
    for (size_t i = 0; checks && checks->type == JSON_OBJECT && i < checks->n; i++) {
        int64_t off, n;
        struct txn_ent *e;
        if (parse_i64(checks->keys[i], &off) == TERN_OK &&
            parse_i64(checks->items[i].str, &n) == TERN_OK && (e = ent_at(t, off)))
            e->checks = (int32_t)n;
    }
    replay_ops(t, op_from);
    pop_resolved(t);
    arena_deinit(&a);
    buf_deinit(&f);
    size_t pending = t->len - t->head;
    log_info("txn", "transaction window from half offset %lld: %zu entries", (long long)t->base,
             pending);
}

/* ---- check thread ---- */

struct check_item {
    int64_t half_off;
    int64_t phy_off;
    int32_t checks;
};

static void check_round(struct txn_service *t)
{
    struct broker *b = t->b;
    size_t nc = 0, np = 0, cap = 0;
    struct check_item *chk = NULL, *park = NULL;
    pthread_mutex_lock(&t->lock);
    catch_up_locked(t);
    int64_t now = clock_wall_ms();
    int64_t opmax = store_max_offset(b->store, tern_cstr(TXN_OP_TOPIC), 0);
    cap = t->len - t->head;
    if (cap) {
        chk = xmalloc(cap * sizeof *chk);
        park = xmalloc(cap * sizeof *park);
    }
    for (size_t i = t->head; i < t->len; i++) {
        struct txn_ent *e = &t->ents[i];
        if (e->state != ENT_PENDING || now - e->store_ts < e->immunity_ms)
            continue;
        struct check_item d = {t->base + (int64_t)(i - t->head), e->phy_off, e->checks};
        if (e->checks >= b->cfg.txn_check_max) {
            e->state = ENT_CLAIMED;
            e->op_off = opmax;
            park[np++] = d;
        } else {
            d.checks = ++e->checks;
            chk[nc++] = d;
        }
    }
    if (nc)
        t->dirty = true;
    pthread_mutex_unlock(&t->lock);

    int64_t sent = 0;
    for (size_t i = 0; i < nc; i++) {
        if (txn_send_check(b, chk[i].half_off, chk[i].phy_off, chk[i].checks)) {
            sent++;
            continue;
        }
        pthread_mutex_lock(&t->lock); /* nobody to ask: this was not a check */
        struct txn_ent *e = ent_at(t, chk[i].half_off);
        if (e && e->state == ENT_PENDING && e->checks > 0)
            e->checks--;
        pthread_mutex_unlock(&t->lock);
    }
    for (size_t i = 0; i < np; i++) {
        int64_t op = -1;
        if (txn_park(b, park[i].phy_off) != TERN_OK ||
            txn_write_op(b, park[i].half_off, &op) != TERN_OK)
            op = -1;
        txn_settle(b, park[i].half_off, op);
    }
    pthread_mutex_lock(&t->lock);
    t->stats.checks += sent;
    t->stats.parked += (int64_t)np;
    pthread_mutex_unlock(&t->lock);
    if (np)
        log_info("txn", "parked %zu half messages after %d checks", np, b->cfg.txn_check_max);
    free(chk);
    free(park);
}

static void *check_main(void *arg)
{
    struct txn_service *t = arg;
    pthread_mutex_lock(&t->lock);
    while (!t->stopping) {
        int64_t wake = clock_mono_ms() + t->b->cfg.txn_check_interval_ms;
        struct timespec ts = {wake / 1000, (wake % 1000) * 1000000};
        while (!t->stopping && clock_mono_ms() < wake)
            pthread_cond_timedwait(&t->cond, &t->lock, &ts);
        if (t->stopping)
            break;
        pthread_mutex_unlock(&t->lock);
        check_round(t);
        persist_progress(t, false);
        pthread_mutex_lock(&t->lock);
    }
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

int txn_start(struct broker *b)
{
    struct txn_service *t = xcalloc(1, sizeof *t);
    t->b = b;
    snprintf(t->path, sizeof t->path, "%s/config/transactionProgress.json", b->cfg.store_root);
    pthread_mutex_init(&t->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&t->cond, &ca);
    pthread_condattr_destroy(&ca);
    b->txn = t;
    load_state(t);
    int rc = pthread_create(&t->thread, NULL, check_main, t);
    if (rc != 0) {
        txn_stop(b);
        return -rc;
    }
    pthread_setname_np(t->thread, "tern-txn");
    t->started = true;
    return TERN_OK;
}

void txn_stop(struct broker *b)
{
    struct txn_service *t = b->txn;
    if (!t)
        return;
    if (t->started) {
        pthread_mutex_lock(&t->lock);
        t->stopping = true;
        pthread_cond_signal(&t->cond);
        pthread_mutex_unlock(&t->lock);
        pthread_join(t->thread, NULL);
    }
    persist_progress(t, true);
    pthread_cond_destroy(&t->cond);
    pthread_mutex_destroy(&t->lock);
    free(t->ents);
    free(t);
    b->txn = NULL;
}
