/* SPDX-License-Identifier: Apache-2.0 */
/* h_message.c: /json/message/getById|getByKey|trace (spec §6.7) through
 * admin.c: QUERY_MESSAGE (12) by key or by UNIQ_KEY on every master of the
 * instance's cluster, VIEW_MESSAGE_BY_ID (33) for offset Message IDs, and
 * GET_CONSUME_STATS (208) + GET_CONSUMER_CONNECTION_LIST (203) per group for
 * the trace. Records are rendered as OnsRestMessageDo (§7.2). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "openapi/admin.h"
#include "openapi/api.h"
#include "protocol/cmd.h"
#include "protocol/codes.h"
#include "protocol/message.h"
#include "protocol/msgid.h"
#include "protocol/props.h"

#define KEY_QUERY_MAX 64 /* §6.7.3: at most 64 messages, the most recent */
#define MAX_FOUND     (KEY_QUERY_MAX * 8)

/* One found record; views into the request arena. */
struct found {
    struct msg_record m;
    const char *addr; /* broker that holds it */
};

struct found_set {
    struct found v[MAX_FOUND];
    size_t n;
};

/* ---- rendering ------------------------------------------------------------ */

static void host_str(const struct msg_host *h, char *out, size_t len)
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
static tern_bytes_t record_id(arena_t *ar, const struct msg_record *m)
{
    tern_bytes_t v;
    if (props_get(m->props, PROP_UNIQ_KEY, &v) && v.len > 0)
        return v;
    char *id = arena_alloc(ar, MSGID_MAX_LEN + 1);
    size_t n = msgid_encode(&m->store_host, m->phy_off, id);
    return (tern_bytes_t){(const uint8_t *)id, n};
}

/* Writes one OnsRestMessageDo. shown_topic overrides the record's topic (the
 * business topic of a dead letter); NULL = the record's, without namespace. */
static void write_message(struct api_req *r, jw_t *w, const struct api_instance *in,
                          const struct msg_record *m, const char *shown_topic)
{
    char host[64];
    jw_obj_begin(w);
    jw_key(w, "topic");
    if (shown_topic) {
        jw_cstr(w, shown_topic);
    } else {
        tern_bytes_t t = arena_copy(&r->arena, m->topic);
        jw_cstr(w, api_logical_name(in, (const char *)t.ptr));
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
    host_str(&m->born_host, host, sizeof host);
    jw_cstr(w, host);
    jw_key(w, "storeTimestamp");
    jw_i64(w, m->store_ts);
    jw_key(w, "storeHost");
    host_str(&m->store_host, host, sizeof host);
    jw_cstr(w, host);
    jw_key(w, "msgId");
    jw_str(w, record_id(&r->arena, m));
    jw_key(w, "bodyCRC");
    jw_i64(w, m->body_crc & 0x7FFFFFFF);
    jw_key(w, "reconsumeTimes");
    jw_i64(w, m->reconsume_times);
    jw_obj_end(w);
}

/* ---- lookups -------------------------------------------------------------- */

/* Adds the records of body (concatenated stored records) found at addr. */
static void add_records(struct found_set *fs, const char *addr, tern_bytes_t body)
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
static int query_all(struct api_req *r, const struct admin_broker *b, size_t nb,
                     const char *phys_topic, const char *key, bool unique, struct found_set *fs)
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
            add_records(fs, b[i].addr, rep.body);
    }
    return 0;
}

static bool topic_is(const struct msg_record *m, const char *phys_topic)
{
    return tern_bytes_eq_cstr(m->topic, phys_topic);
}

/* Does the space-separated KEYS property hold key? */
static bool has_key(const struct msg_record *m, const char *key)
{
    tern_bytes_t keys;
    if (!props_get(m->props, PROP_KEYS, &keys))
        return false;
    size_t kl = strlen(key);
    for (size_t i = 0; i < keys.len;) {
        size_t j = i;
        while (j < keys.len && keys.ptr[j] != ' ')
            j++;
        if (j - i == kl && memcmp(keys.ptr + i, key, kl) == 0)
            return true;
        i = j + 1;
    }
    return false;
}

/* Finds the newest record of phys_topic whose Message ID is msg_id (by
 * UNIQ_KEY, else as an offset id). Returns 1 found, 0 absent, -1 error. */
static int find_by_id(struct api_req *r, const struct api_instance *in, const char *phys_topic,
                      const char *msg_id, struct found *out)
{
    struct admin_broker *b;
    size_t nb;
    char err[400];
    if (admin_brokers(r->o->admin, in->cluster, &r->arena, &b, &nb, err, sizeof err) != TERN_OK)
        return api_invoke_failed(r, "finding the brokers", err);
    struct found_set *fs = arena_alloc(&r->arena, sizeof *fs);
    fs->n = 0;
    if (query_all(r, b, nb, phys_topic, msg_id, true, fs) < 0)
        return -1;
    struct msg_host host;
    int64_t phy;
    if (fs->n == 0 && msgid_decode(tern_cstr(msg_id), &host, &phy) == TERN_OK) {
        char want[64];
        host_str(&host, want, sizeof want);
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
                add_records(fs, b[i].addr, rep.body);
        }
    }
    int best = -1;
    for (size_t i = 0; i < fs->n; i++) {
        const struct msg_record *m = &fs->v[i].m;
        if (!topic_is(m, phys_topic))
            continue;
        tern_bytes_t id = record_id(&r->arena, m);
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

static int msg_params(struct api_req *r, struct api_instance *in, const char **topic,
                      const char **phys, const char **msg_id)
{
    if (api_str(r, "topic", true, 1, 255, topic) < 0 ||
        api_str(r, "msgId", true, 1, MSGID_MAX_LEN, msg_id) < 0 ||
        api_existing_topic(r, *topic, in) < 0)
        return -1;
    *phys = api_phys_name(r, in, *topic);
    return 0;
}

int h_message_get_by_id(struct api_req *r)
{
    const char *topic, *phys, *id;
    struct api_instance in;
    if (msg_params(r, &in, &topic, &phys, &id) < 0)
        return -1;
    struct found f;
    int rc = find_by_id(r, &in, phys, id, &f);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return api_fail(r, API_BIZ_NO_MESSAGE, "no message %s in topic %s", id, topic);
    jw_t w;
    api_data_begin(r, &w);
    write_message(r, &w, &in, &f.m, topic);
    return 0;
}

static int by_store_time(const void *a, const void *b)
{
    const struct found *x = a, *y = b;
    if (x->m.store_ts != y->m.store_ts)
        return x->m.store_ts < y->m.store_ts ? -1 : 1;
    if (x->m.queue_id != y->m.queue_id)
        return x->m.queue_id < y->m.queue_id ? -1 : 1;
    return x->m.queue_off < y->m.queue_off ? -1 : x->m.queue_off > y->m.queue_off;
}

int h_message_get_by_key(struct api_req *r)
{
    const char *topic, *phys, *key;
    struct api_instance in;
    if (api_str(r, "topic", true, 1, 255, &topic) < 0 ||
        api_str(r, "key", true, 1, 255, &key) < 0 || api_existing_topic(r, topic, &in) < 0)
        return -1;
    phys = api_phys_name(r, &in, topic);
    struct admin_broker *b;
    size_t nb;
    char err[400];
    if (admin_brokers(r->o->admin, in.cluster, &r->arena, &b, &nb, err, sizeof err) != TERN_OK)
        return api_invoke_failed(r, "finding the brokers", err);
    struct found_set *fs = arena_alloc(&r->arena, sizeof *fs);
    fs->n = 0;
    if (query_all(r, b, nb, phys, key, false, fs) < 0)
        return -1;
    size_t n = 0; /* keep the exact matches (the index is a hash) */
    for (size_t i = 0; i < fs->n; i++)
        if (topic_is(&fs->v[i].m, phys) && has_key(&fs->v[i].m, key))
            fs->v[n++] = fs->v[i];
    if (n == 0)
        return api_fail(r, API_BIZ_NO_MESSAGE, "no message with key %s in topic %s", key, topic);
    qsort(fs->v, n, sizeof fs->v[0], by_store_time);
    size_t first = n > KEY_QUERY_MAX ? n - KEY_QUERY_MAX : 0;
    jw_t w;
    api_data_begin(r, &w);
    jw_arr_begin(&w);
    for (size_t i = first; i < n; i++)
        write_message(r, &w, &in, &fs->v[i].m, topic);
    jw_arr_end(&w);
    return 0;
}

/* ---- trace ---------------------------------------------------------------- */

/* Does a tag expression ("*", "a || b") accept tag? */
static bool expr_matches(tern_bytes_t expr, tern_bytes_t tag)
{
    const char *p = expr.ptr ? (const char *)expr.ptr : "";
    size_t end = expr.len;
    size_t i = 0;
    bool any = false;
    while (i < end) {
        while (i < end && (p[i] == ' ' || p[i] == '|'))
            i++;
        size_t j = i;
        while (j < end && p[j] != ' ' && p[j] != '|')
            j++;
        if (j > i) {
            any = true;
            if ((j - i == 1 && p[i] == '*') ||
                (tag.ptr && j - i == tag.len && memcmp(p + i, tag.ptr, tag.len) == 0))
                return true;
        }
        i = j;
    }
    return !any; /* an empty expression means every tag */
}

/* The group's trace entry (§6.7.1); NULL when the group neither subscribes
 * online nor has progress on the message's topic. */
static const char *track_of(struct api_req *r, const char *addr, const char *phys_group,
                            const char *phys_topic, const struct msg_record *m, const char **why)
{
    char err[400];
    struct admin_reply rep;
    struct rcmd req;
    *why = "";
    rcmd_init(&req);
    req.code = RC_GET_CONSUMER_CONNECTION_LIST;
    rcmd_add_cstr(&req, "consumerGroup", phys_group);
    const struct json_val *sub = NULL;
    bool online = false, broadcasting = false;
    struct json_val *cc;
    if (admin_request(r->o->admin, addr, &req, &r->arena, &rep, err, sizeof err) == TERN_OK &&
        rep.code == RESP_SUCCESS && json_parse(rep.body, &r->arena, &cc) == TERN_OK) {
        online = true;
        sub = json_get(json_get(cc, "subscriptionTable"), phys_topic);
        tern_bytes_t model = json_get_str(cc, "messageModel");
        broadcasting = model.ptr && tern_bytes_eq_cstr(model, "BROADCASTING");
    }
    rcmd_init(&req);
    req.code = RC_QUERY_CONSUMER_OFFSET;
    rcmd_add_cstr(&req, "consumerGroup", phys_group);
    rcmd_add_cstr(&req, "topic", phys_topic);
    rcmd_add_i64(&req, "queueId", m->queue_id);
    rcmd_add_cstr(&req, "setZeroIfNotFound", "false");
    int64_t committed = -1;
    if (admin_request(r->o->admin, addr, &req, &r->arena, &rep, err, sizeof err) == TERN_OK &&
        rep.code == RESP_SUCCESS) {
        tern_bytes_t v = admin_reply_field(&rep, "offset");
        if (!v.ptr || parse_i64(v, &committed) != TERN_OK)
            committed = -1;
    }
    if (!sub && committed < 0)
        return NULL;
    if (!online)
        return "NOT_ONLINE";
    if (broadcasting) {
        *why = "a broadcasting group keeps its progress in the clients";
        return "UNKNOWN";
    }
    if (committed > m->queue_off) {
        tern_bytes_t tag;
        if (!props_get(m->props, PROP_TAGS, &tag))
            tag = TERN_BYTES_NULL;
        if (sub && !expr_matches(json_get_str(sub, "subString"), tag))
            return "CONSUMED_BUT_FILTERED";
        return "CONSUMED";
    }
    return "NOT_CONSUME_YET";
}

int h_message_trace(struct api_req *r)
{
    const char *topic, *phys, *id;
    struct api_instance in;
    if (msg_params(r, &in, &topic, &phys, &id) < 0)
        return -1;
    struct found f;
    int rc = find_by_id(r, &in, phys, id, &f);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return api_fail(r, API_BIZ_NO_MESSAGE, "no message %s in topic %s", id, topic);
    sqlite3_stmt *st;
    if (api_prepare(r, "SELECT name FROM group_ids WHERE instance_id=? ORDER BY name", &st) < 0)
        return -1;
    sqlite3_bind_text(st, 1, in.id, -1, SQLITE_TRANSIENT);
    jw_t w;
    api_data_begin(r, &w);
    jw_arr_begin(&w);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *g = arena_strdup(&r->arena, api_col(st, 0));
        const char *why;
        const char *track = track_of(r, f.addr, api_phys_name(r, &in, g), phys, &f.m, &why);
        if (!track)
            continue;
        jw_obj_begin(&w);
        jw_key(&w, "instanceId");
        jw_cstr(&w, in.id);
        jw_key(&w, "consumerGroup");
        jw_cstr(&w, g);
        jw_key(&w, "trackType");
        jw_cstr(&w, track);
        jw_key(&w, "exceptionDesc");
        jw_cstr(&w, why);
        jw_obj_end(&w);
    }
    sqlite3_finalize(st);
    jw_arr_end(&w);
    return 0;
}
