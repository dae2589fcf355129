/* SPDX-License-Identifier: Apache-2.0 */
/* msg_record.c: turns a stored message record (protocol/message.h) into the
 * ons_message_t the SDK hands to listeners and transaction checkers: topic
 * without namespace (the real topic for %RETRY% copies), tag, keys, id,
 * sharding key, user properties (system ones hidden), inflated body.
 * Pure function of its inputs; any thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "client/client_int.h"
#include "protocol/msgid.h"
#include "protocol/props.h"

#define MAX_INFLATED_BYTES (64 * 1024 * 1024)

static bool is_internal_prop(tern_bytes_t k)
{
    static const char *const EXTRA[] = {
        "CLUSTER",        "MSG_REGION",   "TRACE_ON",         "TIMER_DELIVER_MS", "TIMER_DELAY_SEC",
        "TIMER_DELAY_MS", "TIMER_OUT_MS", "TIMER_ENQUEUE_MS", "TIMER_ROLL_TIMES", NULL};
    if (cl_is_reserved_prop((const char *)k.ptr, k.len))
        return true;
    for (size_t i = 0; EXTRA[i]; i++)
        if (tern_bytes_eq_cstr(k, EXTRA[i]))
            return true;
    return false;
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
static const char *const REC_PROP_NAMES[RP_COUNT] = {PROP_TAGS,        PROP_KEYS,
                                                     PROP_UNIQ_KEY,    "__SHARDINGKEY",
                                                     PROP_RETRY_TOPIC, PROP_START_DELIVER_TIME};

struct rec_props {
    tern_bytes_t v[RP_COUNT];
    bool has[RP_COUNT];
    size_t nuser, user_bytes; /* user properties: count, names and values + NULs */
};

static void scan_props(tern_bytes_t props, struct rec_props *out)
{
    memset(out, 0, sizeof *out);
    tern_bytes_t k, v;
    for (size_t it = 0; props_next(props, &it, &k, &v);) {
        int i = 0;
        while (i < RP_COUNT && !tern_bytes_eq_cstr(k, REC_PROP_NAMES[i]))
            i++;
        if (i < RP_COUNT) {
            out->v[i] = v;
            out->has[i] = true;
        }
        if (!is_internal_prop(k)) {
            out->nuser++;
            out->user_bytes += k.len + v.len + 2;
        }
    }
}

static char *carve_opt(struct carve *cv, const struct rec_props *rp, enum rec_prop i)
{
    return rp->has[i] ? carve_str(cv, rp->v[i].ptr, rp->v[i].len) : NULL;
}

static size_t opt_len(const struct rec_props *rp, enum rec_prop i)
{
    return rp->has[i] ? rp->v[i].len + 1 : 0;
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

/* client_int.h. One allocation per message (see struct ons_message.packed):
 * the first pass sizes every part, the second copies them. */
ons_message_t *cl_message_from_record(const struct cl_config *cfg, const struct msg_record *r)
{
    struct rec_props rp;
    scan_props(r->props, &rp);
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
    char host[64];
    if (!r->born_host.is_v6)
        snprintf(host, sizeof host, "%u.%u.%u.%u:%d", r->born_host.addr[0], r->born_host.addr[1],
                 r->born_host.addr[2], r->born_host.addr[3], (int)r->born_host.port);
    else
        snprintf(host, sizeof host, "[v6]:%d", (int)r->born_host.port);
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
    size += strlen(plain) + strlen(topic) + strlen(host) + 3;
    size += opt_len(&rp, RP_TAGS) + opt_len(&rp, RP_KEYS) + opt_len(&rp, RP_SHARD);
    size += id[0] ? strlen(id) + 1 : opt_len(&rp, RP_UNIQ);
    size += r->props.len + 1 + (inflated ? 0 : body_len + 1);
    ons_message_t *m = cl_calloc(1, size);
    if (m == NULL) {
        free(inflated);
        return NULL;
    }
    m->packed = true;
    m->pkeys = (char **)(m + 1);
    m->pvals = m->pkeys + nprops;
    struct carve cv = {(char *)(m->pvals + nprops)};
    for (size_t it = 0; props_next(r->props, &it, &k, &v);) {
        if (is_internal_prop(k))
            continue;
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
    m->born_host = carve_str(&cv, host, strlen(host));
    m->tag = carve_opt(&cv, &rp, RP_TAGS);
    m->key = carve_opt(&cv, &rp, RP_KEYS);
    m->sharding_key = carve_opt(&cv, &rp, RP_SHARD);
    m->msg_id = id[0] ? carve_str(&cv, id, strlen(id)) : carve_opt(&cv, &rp, RP_UNIQ);
    m->raw_props = carve_str(&cv, r->props.ptr, r->props.len);
    m->raw_props_len = r->props.len;
    if (inflated) {
        m->body = m->inflated = inflated;
    } else {
        m->body = (uint8_t *)carve_str(&cv, r->body.ptr, body_len);
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
