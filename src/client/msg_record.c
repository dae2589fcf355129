/* SPDX-License-Identifier: Apache-2.0 */
/* msg_record.c: turns a stored message record (protocol/message.h) into the
 * ons_message_t the SDK hands to listeners and transaction checkers: topic
 * without namespace (the real topic for %RETRY% copies), tag, keys, id,
 * sharding key, user properties (system ones hidden), inflated body.
 * Pure function of its inputs; any thread. */
#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "client/client_int.h"
#include "protocol/msgid.h"
#include "protocol/props.h"

#define MAX_INFLATED_BYTES (64 * 1024 * 1024)

struct name_len {
    const char *s;
    size_t len;
};
#define NAME_LEN(s)      \
    {                    \
        s, sizeof(s) - 1 \
    }

static bool name_in(tern_bytes_t k, const struct name_len *tab, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (tab[i].len == k.len && memcmp(tab[i].s, k.ptr, k.len) == 0)
            return true;
    return false;
}

static bool is_internal_prop(tern_bytes_t k)
{
    static const struct name_len EXTRA[] = {
        NAME_LEN("CLUSTER"),          NAME_LEN("MSG_REGION"),       NAME_LEN("TRACE_ON"),
        NAME_LEN("TIMER_DELIVER_MS"), NAME_LEN("TIMER_DELAY_SEC"),  NAME_LEN("TIMER_DELAY_MS"),
        NAME_LEN("TIMER_OUT_MS"),     NAME_LEN("TIMER_ENQUEUE_MS"), NAME_LEN("TIMER_ROLL_TIMES")};
    return cl_is_reserved_prop((const char *)k.ptr, k.len) ||
           name_in(k, EXTRA, sizeof EXTRA / sizeof EXTRA[0]);
}

/* Carves packed copies out of one allocation (cl_message_from_record). */
struct carve {
    char *p; /* next free byte */
};

static char *carve_str(struct carve *cv, const void *s, size_t len)
{
    char *d = cv->p;
    if (len)
        memcpy(d, s, len);
    d[len] = '\0';
    cv->p += len + 1;
    return d;
}

/* The properties the SDK reads, found in one scan (the last occurrence of
 * a name wins, as props_get). */
enum rec_prop { RP_TAGS, RP_KEYS, RP_UNIQ, RP_SHARD, RP_RETRY, RP_START, RP_COUNT };
static const struct name_len REC_PROP_NAMES[RP_COUNT] = {
    NAME_LEN(PROP_TAGS),       NAME_LEN(PROP_KEYS),        NAME_LEN(PROP_UNIQ_KEY),
    NAME_LEN("__SHARDINGKEY"), NAME_LEN(PROP_RETRY_TOPIC), NAME_LEN(PROP_START_DELIVER_TIME)};

/* The sizing pass keeps the first REC_PROP_MEMO properties (views and their
 * "internal" verdicts) for the copying pass, which then resumes parsing
 * only when a record has more. */
#define REC_PROP_MEMO 32

struct rec_pair {
    tern_bytes_t k, v;
    bool internal;
};

struct rec_props {
    tern_bytes_t v[RP_COUNT];
    bool has[RP_COUNT];
    size_t nuser, user_bytes; /* user properties: count, names and values + NULs */
    struct rec_pair memo[REC_PROP_MEMO];
    size_t nmemo;  /* pairs in memo */
    size_t resume; /* props_next position after the last memoised pair */
};

/* Which property the SDK reads k is (-1: none) and whether it is hidden
 * from listeners; the verdict of the same name at the same position of the
 * batch's previous record when memo has it. */
static int classify_name(tern_bytes_t k, size_t pos, struct cl_rec_memo *memo, bool *internal)
{
    if (memo && pos < memo->nnames && memo->names[pos].len == k.len &&
        memcmp(memo->names[pos].k, k.ptr, k.len) == 0) {
        *internal = memo->names[pos].internal;
        return memo->names[pos].rp;
    }
    int i = 0;
    while (i < RP_COUNT &&
           !(REC_PROP_NAMES[i].len == k.len && memcmp(REC_PROP_NAMES[i].s, k.ptr, k.len) == 0))
        i++;
    int rp = i < RP_COUNT ? i : -1;
    *internal = is_internal_prop(k);
    if (memo && pos < CL_REC_MEMO_NAMES) {
        memo->names[pos].k = k.ptr;
        memo->names[pos].len = k.len;
        memo->names[pos].rp = rp;
        memo->names[pos].internal = *internal;
        if (memo->nnames <= pos)
            memo->nnames = pos + 1;
    }
    return rp;
}

static void scan_props(tern_bytes_t props, struct rec_props *out, struct cl_rec_memo *memo)
{
    memset(out, 0, offsetof(struct rec_props, memo));
    out->nmemo = 0;
    out->resume = 0;
    tern_bytes_t k, v;
    size_t pos = 0;
    for (size_t it = 0; props_next(props, &it, &k, &v); pos++) {
        bool internal;
        int i = classify_name(k, pos, memo, &internal);
        if (i >= 0) {
            out->v[i] = v;
            out->has[i] = true;
        }
        if (!internal) {
            out->nuser++;
            out->user_bytes += k.len + v.len + 2;
        }
        if (out->nmemo < REC_PROP_MEMO) {
            out->memo[out->nmemo++] = (struct rec_pair){k, v, internal};
            out->resume = it;
        }
    }
}

/* The user properties in record order: the memo, then (when the memo is
 * full) the rest parsed again. *pos and *it start at 0. */
static bool next_user_prop(const struct rec_props *rp, tern_bytes_t props, size_t *pos, size_t *it,
                           tern_bytes_t *k, tern_bytes_t *v)
{
    while (*pos < rp->nmemo) {
        const struct rec_pair *p = &rp->memo[(*pos)++];
        if (!p->internal) {
            *k = p->k;
            *v = p->v;
            return true;
        }
    }
    if (rp->nmemo < REC_PROP_MEMO)
        return false;
    if (*pos == rp->nmemo) {
        *it = rp->resume;
        (*pos)++;
    }
    while (props_next(props, it, k, v))
        if (!is_internal_prop(*k))
            return true;
    return false;
}

static char *carve_opt(struct carve *cv, const struct rec_props *rp, enum rec_prop i)
{
    return rp->has[i] ? carve_str(cv, rp->v[i].ptr, rp->v[i].len) : NULL;
}

static size_t opt_len(const struct rec_props *rp, enum rec_prop i)
{
    return rp->has[i] ? rp->v[i].len + 1 : 0;
}

/* "a.b.c.d:port" (or "[v6]:port") without stdio: the consumer formats one
 * per delivered message. Returns the length; out holds HOST_TEXT_MAX. */
#define HOST_TEXT_MAX 32
static size_t put_uint(char *out, unsigned v)
{
    char tmp[10];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

static size_t format_host(const struct msg_host *h, char *out)
{
    size_t n = 0;
    if (h->is_v6) {
        memcpy(out, "[v6]", 4);
        n = 4;
    } else {
        for (int i = 0; i < 4; i++) {
            n += put_uint(out + n, h->addr[i]);
            if (i < 3)
                out[n++] = '.';
        }
    }
    out[n++] = ':';
    n += put_uint(out + n, (unsigned)h->port & 0xffffu);
    out[n] = '\0';
    return n;
}

/* Inflates a compressed body into a new buffer (*out, *n). */
static int inflate_body(const struct msg_record *r, uint8_t **out, size_t *n)
{
    uLongf cap = r->body.len * 4 + 1024;
    for (;;) {
        uint8_t *b = cl_malloc(cap);
        if (b == NULL)
            return -1;
        uLongf len = cap;
        int zrc = uncompress(b, &len, r->body.ptr, (uLong)r->body.len);
        if (zrc == Z_OK) {
            *out = b;
            *n = len;
            return 0;
        }
        free(b);
        if (zrc != Z_BUF_ERROR || cap >= MAX_INFLATED_BYTES)
            return -1;
        cap *= 4;
    }
}

/* ---- slabs: the messages of one pull in one allocation ----------------------- */

struct cl_slab {
    _Atomic size_t refs; /* the creator's, plus one per carved message */
    size_t used, cap;
    _Alignas(16) unsigned char mem[];
};

struct cl_slab *cl_slab_new(size_t cap)
{
    struct cl_slab *s = cl_malloc(sizeof *s + cap);
    if (s == NULL)
        return NULL;
    atomic_init(&s->refs, 1);
    s->used = 0;
    s->cap = cap;
    return s;
}

void cl_slab_unref(struct cl_slab *s)
{
    if (s != NULL && atomic_fetch_sub(&s->refs, 1) == 1)
        free(s);
}

void *cl_slab_alloc(struct cl_slab *s, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (s == NULL || s->cap - s->used < n)
        return NULL;
    void *p = s->mem + s->used;
    s->used += n;
    return p;
}

size_t cl_record_bound(const struct msg_record *r)
{
    /* sizeof(ons_message_t) + body + per property at most: its bytes in
     * the user copy, the tag/key/shard/id copies and the raw copy (3x) and
     * two pointers per 4 bytes (4x); topic twice; host, id, NULs. */
    return sizeof(ons_message_t) + r->body.len + 8 * r->props.len + 2 * r->topic.len + 192;
}

size_t cl_record_bound_borrow(const struct msg_record *r)
{
    return cl_record_bound(r) - r->body.len;
}

/* A zeroed ons_message_t (and size - sizeof of room after it) from the
 * slab, owning one slab reference; NULL when slab is NULL or full. */
static ons_message_t *slab_carve(struct cl_slab *s, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    if (s == NULL || s->cap - s->used < size)
        return NULL;
    ons_message_t *m = (ons_message_t *)(s->mem + s->used);
    s->used += size;
    memset(m, 0, sizeof *m);
    m->slab = s;
    atomic_fetch_add(&s->refs, 1);
    return m;
}

static ons_message_t *from_record(const struct cl_config *cfg, const struct msg_record *r,
                                  struct cl_slab *slab, bool borrow, struct cl_rec_memo *memo);

ons_message_t *cl_message_from_record(const struct cl_config *cfg, const struct msg_record *r)
{
    return from_record(cfg, r, NULL, false, NULL);
}

ons_message_t *cl_message_from_record_in(const struct cl_config *cfg, const struct msg_record *r,
                                         struct cl_slab *slab)
{
    return from_record(cfg, r, slab, false, NULL);
}

ons_message_t *cl_message_from_record_borrow(const struct cl_config *cfg,
                                             const struct msg_record *r, struct cl_slab *slab,
                                             struct cl_rec_memo *memo)
{
    return from_record(cfg, r, slab, true, memo);
}

/* The bytes of v (inside r's slab, which m holds), NUL-terminated in place:
 * the byte after a body or a properties block is a length field the record
 * was already decoded from, or the spare byte after the last record. */
static char *borrow_str(tern_bytes_t v)
{
    char *p = (char *)v.ptr;
    p[v.len] = '\0';
    return p;
}

/* The born host text of r (memo: the previous one's when it is the same
 * host). Returns its length. */
static size_t host_text(const struct msg_record *r, struct cl_rec_memo *memo, char *out)
{
    const struct msg_host *h = &r->born_host;
    if (memo && memo->has_host && memo->host_port == h->port && memo->host_v6 == h->is_v6 &&
        memcmp(memo->host_addr, h->addr, sizeof h->addr) == 0) {
        memcpy(out, memo->host_text, memo->host_len + 1);
        return memo->host_len;
    }
    size_t n = format_host(h, out);
    if (memo) {
        memcpy(memo->host_addr, h->addr, sizeof h->addr);
        memo->host_port = h->port;
        memo->host_v6 = h->is_v6;
        memcpy(memo->host_text, out, n + 1);
        memo->host_len = n;
        memo->has_host = true;
    }
    return n;
}

/* client_int.h. One allocation per message (see struct ons_message.packed),
 * or a piece of slab: the first pass sizes every part, the second copies.
 * borrow: body and raw properties stay in the record's bytes when the
 * message is carved from the slab holding them. */
static ons_message_t *from_record(const struct cl_config *cfg, const struct msg_record *r,
                                  struct cl_slab *slab, bool borrow, struct cl_rec_memo *memo)
{
    struct rec_props rp;
    scan_props(r->props, &rp, memo);
    char wire[512], real[512];
    cl_copy(wire, sizeof wire, r->topic);
    const char *topic = wire;
    if (strncmp(wire, "%RETRY%", 7) == 0 && rp.has[RP_RETRY] && rp.v[RP_RETRY].len) {
        cl_copy(real, sizeof real, rp.v[RP_RETRY]);
        topic = real;
    }
    const char *plain = cl_ns_strip(cfg, topic);
    char id[MSGID_MAX_LEN + 1] = "";
    tern_bytes_t v, k;
    if (!rp.has[RP_UNIQ])
        msgid_encode(&r->store_host, r->phy_off, id);
    char host[HOST_TEXT_MAX];
    size_t host_len = host_text(r, memo, host);
    uint8_t *inflated = NULL;
    size_t body_len = r->body.len;
    if ((r->sys_flag & MSG_SYSFLAG_COMPRESSED) && inflate_body(r, &inflated, &body_len) != 0) {
        char mid[MSGID_MAX_LEN + 1];
        cl_copy(mid, sizeof mid, rp.has[RP_UNIQ] ? rp.v[RP_UNIQ] : tern_cstr(id));
        cl_log(ONS_LOG_ERROR, "cannot inflate message %s", mid);
        return NULL;
    }
    size_t nprops = rp.nuser, size = sizeof(ons_message_t) + rp.user_bytes;
    size += 2 * nprops * sizeof(char *);
    size += strlen(plain) + strlen(topic) + host_len + 3;
    size += opt_len(&rp, RP_TAGS) + opt_len(&rp, RP_KEYS) + opt_len(&rp, RP_SHARD);
    size += id[0] ? strlen(id) + 1 : opt_len(&rp, RP_UNIQ);
    size_t copied = r->props.len + 1 + (inflated ? 0 : body_len + 1);
    ons_message_t *m = borrow ? slab_carve(slab, size) : NULL;
    if (m == NULL) {
        borrow = false;
        size += copied;
        m = slab_carve(slab, size);
    }
    if (m == NULL)
        m = cl_calloc(1, size);
    if (m == NULL) {
        free(inflated);
        return NULL;
    }
    m->packed = true;
    m->pkeys = (char **)(m + 1);
    m->pvals = m->pkeys + nprops;
    struct carve cv = {(char *)(m->pvals + nprops)};
    size_t pos = 0, it = 0;
    while (next_user_prop(&rp, r->props, &pos, &it, &k, &v)) {
        size_t i = 0;
        while (i < m->nprops && !tern_bytes_eq_cstr(k, m->pkeys[i]))
            i++;
        if (i == m->nprops)
            m->pkeys[m->nprops++] = carve_str(&cv, k.ptr, k.len);
        m->pvals[i] = carve_str(&cv, v.ptr, v.len); /* a repeated name: the last value */
    }
    m->cap_props = m->nprops;
    m->topic = carve_str(&cv, plain, strlen(plain));
    m->wire_topic = carve_str(&cv, topic, strlen(topic));
    m->born_host = carve_str(&cv, host, host_len);
    m->tag = carve_opt(&cv, &rp, RP_TAGS);
    m->key = carve_opt(&cv, &rp, RP_KEYS);
    m->sharding_key = carve_opt(&cv, &rp, RP_SHARD);
    m->msg_id = id[0] ? carve_str(&cv, id, strlen(id)) : carve_opt(&cv, &rp, RP_UNIQ);
    m->raw_props = borrow ? borrow_str(r->props) : carve_str(&cv, r->props.ptr, r->props.len);
    m->raw_props_len = r->props.len;
    if (inflated) {
        m->body = m->inflated = inflated;
    } else {
        m->body = (uint8_t *)(borrow ? borrow_str(r->body) : carve_str(&cv, r->body.ptr, body_len));
    }
    m->body_len = body_len;
    if (rp.has[RP_START]) {
        int64_t t;
        if (parse_i64(rp.v[RP_START], &t) == TERN_OK)
            m->start_deliver = t;
    }
    m->reconsume_times = r->reconsume_times;
    m->born_ts = r->born_ts;
    m->queue_offset = r->queue_off;
    m->phy_offset = r->phy_off;
    m->flag = r->flag;
    return m;
}
