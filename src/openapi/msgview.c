/* SPDX-License-Identifier: Apache-2.0 */
/* msgview.c: reading stored messages from the masters of an instance's
 * cluster (QUERY_MESSAGE (12) by key or UNIQ_KEY, VIEW_MESSAGE_BY_ID (33))
 * and rendering them as OnsRestMessageDo (spec §7.2). Shared by the message
 * (h_message.c), paged (h_paged.c) and dead-letter (h_dlq.c) endpoints. */
#include "openapi/msgview.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "openapi/admin.h"
#include "protocol/cmd.h"
#include "protocol/codes.h"
#include "protocol/msgid.h"
#include "protocol/props.h"

/* ---- rendering ------------------------------------------------------------ */

void msgview_host(const struct msg_host *h, char *out, size_t len)
{
    if (h->is_v6) {
        snprintf(out, len, "[v6]:%d", h->port);
        return;
    }
    snprintf(out, len, "%u.%u.%u.%u:%d", h->addr[0], h->addr[1], h->addr[2], h->addr[3], h->port);
}

/* Appends bytes as UTF-8, each invalid sequence replaced by U+FFFD (§7.2). */
static tern_bytes_t utf8_clean(arena_t *ar, tern_bytes_t in)
{
    uint8_t *o = arena_alloc(ar, in.len * 3 + 1);
    if (!o) /* out of memory: shown empty (the caller's request fails) */
        return tern_bytes(NULL, 0);
    size_t n = 0;
    for (size_t i = 0; i < in.len;) {
        uint8_t c = in.ptr[i];
        size_t len = c < 0x80           ? 1
                     : (c >> 5) == 0x6  ? 2
                     : (c >> 4) == 0xE  ? 3
                     : (c >> 3) == 0x1E ? 4
                                        : 0;
        bool ok = len > 0 && i + len <= in.len && !(len == 2 && c < 0xC2);
        for (size_t k = 1; ok && k < len; k++)
            ok = (in.ptr[i + k] & 0xC0) == 0x80;
        if (ok && len == 3)
            ok = !(c == 0xE0 && in.ptr[i + 1] < 0xA0) && !(c == 0xED && in.ptr[i + 1] >= 0xA0);
        if (ok && len == 4)
            ok = !(c == 0xF0 && in.ptr[i + 1] < 0x90) && !(c == 0xF4 && in.ptr[i + 1] >= 0x90) &&
                 c <= 0xF4;
        if (ok) {
            memcpy(o + n, in.ptr + i, len);
            n += len;
            i += len;
        } else {
            memcpy(o + n, "\xEF\xBF\xBD", 3);
            n += 3;
            i++;
        }
    }
    return (tern_bytes_t){o, n};
}

/* The Message ID of a record: its UNIQ_KEY, else its offset id. */
tern_bytes_t msgview_record_id(arena_t *ar, const struct msg_record *m)
{
    tern_bytes_t v;
    if (props_get(m->props, PROP_UNIQ_KEY, &v) && v.len > 0)
        return v;
    char *id = arena_alloc(ar, MSGID_MAX_LEN + 1);
    if (!id)
        return tern_bytes(NULL, 0);
    size_t n = msgid_encode(&m->store_host, m->phy_off, id);
    return (tern_bytes_t){(const uint8_t *)id, n};
}

/* Writes one OnsRestMessageDo. shown_topic overrides the record's topic (the
 * business topic of a dead letter); NULL = the record's, without namespace. */
void msgview_write(struct api_req *r, jw_t *w, const struct api_instance *in,
                   const struct msg_record *m, const char *shown_topic)
{
    char host[64];
    jw_obj_begin(w);
    jw_key(w, "topic");
    if (shown_topic) {
        jw_cstr(w, shown_topic);
    } else {
        tern_bytes_t t = arena_copy(&r->arena, m->topic);
        jw_cstr(w, t.ptr ? api_logical_name(in, (const char *)t.ptr) : "");
    }
    jw_key(w, "propertyList");
    jw_arr_begin(w);
    size_t it = 0;
    tern_bytes_t k, v;
    while (props_next(m->props, &it, &k, &v)) {
        jw_obj_begin(w);
        jw_key(w, "name");
        jw_str(w, utf8_clean(&r->arena, k));
        jw_key(w, "value");
        jw_str(w, utf8_clean(&r->arena, v));
        jw_obj_end(w);
    }
    jw_arr_end(w);
    jw_key(w, "body");
    jw_str(w, utf8_clean(&r->arena, m->body));
    jw_key(w, "storeSize");
    jw_i64(w, m->total_size);
    jw_key(w, "bornTimestamp");
    jw_i64(w, m->born_ts);
    jw_key(w, "bornHost");
    msgview_host(&m->born_host, host, sizeof host);
    jw_cstr(w, host);
    jw_key(w, "storeTimestamp");
    jw_i64(w, m->store_ts);
    jw_key(w, "storeHost");
    msgview_host(&m->store_host, host, sizeof host);
    jw_cstr(w, host);
    jw_key(w, "msgId");
    jw_str(w, msgview_record_id(&r->arena, m));
    jw_key(w, "bodyCRC");
    jw_i64(w, m->body_crc & 0x7FFFFFFF);
    jw_key(w, "reconsumeTimes");
    jw_i64(w, m->reconsume_times);
    jw_obj_end(w);
}

/* ---- lookups -------------------------------------------------------------- */

/* Adds the records of body (concatenated stored records) found at addr. */
void msgview_add_records(struct msg_found_set *fs, const char *addr, tern_bytes_t body)
{
    size_t off = 0;
    while (off + 4 <= body.len && fs->n < MAX_FOUND) {
        struct msg_record m;
        if (msg_decode(body.ptr + off, body.len - off, &m) != TERN_OK || m.total_size <= 0)
            break;
        fs->v[fs->n].m = m;
        fs->v[fs->n].addr = addr;
        fs->n++;
        off += (size_t)m.total_size;
    }
}

/* QUERY_MESSAGE on every master; unique = by UNIQ_KEY. */
int msgview_query_all(struct api_req *r, const struct admin_broker *b, size_t nb,
                      const char *phys_topic, const char *key, bool unique,
                      struct msg_found_set *fs)
{
    for (size_t i = 0; i < nb; i++) {
        char err[400];
        struct admin_reply rep;
        struct rcmd req;
        rcmd_init(&req);
        req.code = RC_QUERY_MESSAGE;
        rcmd_add_cstr(&req, "topic", phys_topic);
        rcmd_add_cstr(&req, "key", key);
        rcmd_add_i64(&req, "maxNum", KEY_QUERY_MAX);
        rcmd_add_i64(&req, "beginTimestamp", 0);
        rcmd_add_i64(&req, "endTimestamp", INT64_MAX);
        if (unique)
            rcmd_add_cstr(&req, "_UNIQUE_KEY_QUERY", "true");
        if (admin_request(r->o->admin, b[i].addr, &req, &r->arena, &rep, err, sizeof err) !=
            TERN_OK)
            return api_invoke_failed(r, "querying messages", err);
        if (rep.code == RESP_SUCCESS)
            msgview_add_records(fs, b[i].addr, rep.body);
    }
    return 0;
}

bool msgview_topic_is(const struct msg_record *m, const char *phys_topic)
{
    return tern_bytes_eq_cstr(m->topic, phys_topic);
}

/* Message ID by UNIQ_KEY, else as an offset id; the newest record wins. */
int msgview_find_by_id(struct api_req *r, const struct api_instance *in, const char *phys_topic,
                       const char *msg_id, struct msg_found *out)
{
    struct admin_broker *b;
    size_t nb;
    char err[400];
    if (admin_brokers(r->o->admin, in->cluster, &r->arena, &b, &nb, err, sizeof err) != TERN_OK)
        return api_invoke_failed(r, "finding the brokers", err);
    struct msg_found_set *fs = arena_alloc(&r->arena, sizeof *fs);
    if (!fs)
        return api_fail(r, API_ONS_SYSTEM_ERROR, "out of memory");
    fs->n = 0;
    if (msgview_query_all(r, b, nb, phys_topic, msg_id, true, fs) < 0)
        return -1;
    struct msg_host host;
    int64_t phy;
    if (fs->n == 0 && msgid_decode(tern_cstr(msg_id), &host, &phy) == TERN_OK) {
        char want[64];
        msgview_host(&host, want, sizeof want);
        for (size_t i = 0; i < nb; i++) {
            if (strcmp(b[i].addr, want) != 0)
                continue;
            struct admin_reply rep;
            struct rcmd req;
            rcmd_init(&req);
            req.code = RC_VIEW_MESSAGE_BY_ID;
            rcmd_add_i64(&req, "offset", phy);
            if (admin_request(r->o->admin, b[i].addr, &req, &r->arena, &rep, err, sizeof err) !=
                TERN_OK)
                return api_invoke_failed(r, "reading a message", err);
            if (rep.code == RESP_SUCCESS)
                msgview_add_records(fs, b[i].addr, rep.body);
        }
    }
    int best = -1;
    for (size_t i = 0; i < fs->n; i++) {
        const struct msg_record *m = &fs->v[i].m;
        if (!msgview_topic_is(m, phys_topic))
            continue;
        tern_bytes_t id = msgview_record_id(&r->arena, m);
        if (!tern_bytes_eq_cstr(id, msg_id) &&
            !(msgid_decode(tern_cstr(msg_id), &host, &phy) == TERN_OK && phy == m->phy_off))
            continue;
        if (best < 0 || m->store_ts >= fs->v[best].m.store_ts)
            best = (int)i;
    }
    if (best < 0)
        return 0;
    *out = fs->v[best];
    return 1;
}

int msgview_by_store_time(const void *a, const void *b)
{
    const struct msg_found *x = a, *y = b;
    if (x->m.store_ts != y->m.store_ts)
        return x->m.store_ts < y->m.store_ts ? -1 : 1;
    if (x->m.queue_id != y->m.queue_id)
        return x->m.queue_id < y->m.queue_id ? -1 : 1;
    return x->m.queue_off < y->m.queue_off ? -1 : x->m.queue_off > y->m.queue_off;
}
