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

int cl_message_put_prop(ons_message_t *m, const char *key, size_t klen, const char *val,
                        size_t vlen);

static const char *retry_real_topic(tern_bytes_t props, char *buf, size_t cap)
{
    tern_bytes_t v;
    if (props_get(props, PROP_RETRY_TOPIC, &v) && v.len) {
        cl_copy(buf, cap, v);
        return buf;
    }
    return NULL;
}

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

static int set_from(char **dst, tern_bytes_t props, const char *key)
{
    tern_bytes_t v;
    if (!props_get(props, key, &v))
        return 0;
    return (*dst = cl_strndup((const char *)v.ptr, v.len)) ? 0 : -1;
}

/* client_int.h. */
ons_message_t *cl_message_from_record(const struct cl_config *cfg, const struct msg_record *r)
{
    ons_message_t *m = ons_message_new();
    if (m == NULL)
        return NULL;
    char wire[512], real[512];
    cl_copy(wire, sizeof wire, r->topic);
    const char *topic = wire;
    if (strncmp(wire, "%RETRY%", 7) == 0) {
        const char *rt = retry_real_topic(r->props, real, sizeof real);
        if (rt)
            topic = rt;
    }
    if ((m->topic = cl_strdup(cl_ns_strip(cfg, topic))) == NULL ||
        (m->wire_topic = cl_strdup(topic)) == NULL)
        goto fail;
    if (set_from(&m->tag, r->props, PROP_TAGS) || set_from(&m->key, r->props, PROP_KEYS) ||
        set_from(&m->msg_id, r->props, PROP_UNIQ_KEY) ||
        set_from(&m->sharding_key, r->props, "__SHARDINGKEY"))
        goto fail;
    if (m->msg_id == NULL) {
        char id[MSGID_MAX_LEN + 1];
        msgid_encode(&r->store_host, r->phy_off, id);
        if ((m->msg_id = cl_strdup(id)) == NULL)
            goto fail;
    }
    tern_bytes_t v;
    if (props_get(r->props, PROP_START_DELIVER_TIME, &v)) {
        int64_t t;
        if (parse_i64(v, &t) == TERN_OK)
            m->start_deliver = t;
    }
    m->reconsume_times = r->reconsume_times;
    m->born_ts = r->born_ts;
    m->queue_offset = r->queue_off;
    m->phy_offset = r->phy_off;
    m->flag = r->flag;
    char host[64];
    if (!r->born_host.is_v6)
        snprintf(host, sizeof host, "%u.%u.%u.%u:%d", r->born_host.addr[0], r->born_host.addr[1],
                 r->born_host.addr[2], r->born_host.addr[3], (int)r->born_host.port);
    else
        snprintf(host, sizeof host, "[v6]:%d", (int)r->born_host.port);
    if ((m->born_host = cl_strdup(host)) == NULL)
        goto fail;
    tern_bytes_t k;
    for (size_t it = 0; props_next(r->props, &it, &k, &v);) {
        if (is_internal_prop(k))
            continue;
        if (cl_message_put_prop(m, (const char *)k.ptr, k.len, (const char *)v.ptr, v.len) != 0)
            goto fail;
    }
    if ((m->raw_props = cl_strndup((const char *)r->props.ptr, r->props.len)) == NULL)
        goto fail;
    m->raw_props_len = r->props.len;
    if (r->sys_flag & MSG_SYSFLAG_COMPRESSED) {
        uLongf cap = r->body.len * 4 + 1024;
        for (;;) {
            uint8_t *out = cl_malloc(cap);
            if (out == NULL)
                goto fail;
            uLongf n = cap;
            int zrc = uncompress(out, &n, r->body.ptr, (uLong)r->body.len);
            if (zrc == Z_OK) {
                m->body = out;
                m->body_len = n;
                break;
            }
            free(out);
            if (zrc != Z_BUF_ERROR || cap >= MAX_INFLATED_BYTES) {
                cl_log(ONS_LOG_ERROR, "cannot inflate message %s", m->msg_id);
                goto fail;
            }
            cap *= 4;
        }
    } else if (ons_message_set_body(m, r->body.ptr, r->body.len) != 0) {
        goto fail;
    }
    return m;
fail:
    ons_message_free(m);
    return NULL;
}
