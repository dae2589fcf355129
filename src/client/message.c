/* SPDX-License-Identifier: Apache-2.0 */
/* message.c: ons_message_t (spec §7, §15.4): fields, user properties and the
 * send-time validation of spec §7.5.
 *
 * A message has one owner at a time (not thread-safe). Every string is an
 * owned copy; setters free the previous value. */
#include <stdlib.h>
#include <string.h>

#include "client/client_int.h"

ons_message_t *ons_message_new(void)
{
    return cl_calloc(1, sizeof(ons_message_t));
}

/* Replaces *dst with a copy of v (NULL clears). */
static int set_str(char **dst, const char *v)
{
    char *c = NULL;
    if (v && (c = cl_strdup(v)) == NULL)
        return -1;
    free(*dst);
    *dst = c;
    return 0;
}

ons_message_t *ons_message_new_with_key(const char *topic, const char *tag, const char *key,
                                        const void *body, size_t body_len)
{
    ons_message_t *m = ons_message_new();
    if (m == NULL)
        return NULL;
    if (set_str(&m->topic, topic) || set_str(&m->tag, tag) || set_str(&m->key, key) ||
        ons_message_set_body(m, body, body_len)) {
        ons_message_free(m);
        return NULL;
    }
    return m;
}

ons_message_t *ons_message_new_with_tag(const char *topic, const char *tag, const void *body,
                                        size_t body_len)
{
    return ons_message_new_with_key(topic, tag, NULL, body, body_len);
}

void ons_message_free(ons_message_t *m)
{
    if (m == NULL)
        return;
    if (m->packed) {
        free(m->inflated);
        if (m->slab)
            cl_slab_unref(m->slab);
        else
            free(m);
        return;
    }
    free(m->topic);
    free(m->tag);
    free(m->key);
    free(m->msg_id);
    free(m->born_host);
    free(m->sharding_key);
    free(m->body);
    for (size_t i = 0; i < m->nprops; i++) {
        free(m->pkeys[i]);
        free(m->pvals[i]);
    }
    free(m->pkeys);
    free(m->pvals);
    free(m->wire_topic);
    free(m->raw_props);
    free(m);
}

/* The non-pointer fields a copy of m keeps. */
static void copy_scalars(ons_message_t *c, const ons_message_t *m)
{
    c->reconsume_times = m->reconsume_times;
    c->born_ts = m->born_ts;
    c->start_deliver = m->start_deliver;
    c->queue_offset = m->queue_offset;
    c->phy_offset = m->phy_offset;
    c->flag = m->flag;
}

/* Bytes of s with its NUL (0 for NULL). */
static size_t str_size(const char *s)
{
    return s ? strlen(s) + 1 : 0;
}

/* Copies s into *at (advancing it); NULL stays NULL. */
static char *carve_str(char **at, const char *s)
{
    if (s == NULL)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = memcpy(*at, s, n);
    *at += n;
    return d;
}

/* client_int.h. */
size_t cl_message_packed_size(const ons_message_t *m)
{
    size_t strs = str_size(m->topic) + str_size(m->tag) + str_size(m->key) + str_size(m->msg_id) +
                  str_size(m->born_host) + str_size(m->sharding_key) + str_size(m->wire_topic) +
                  m->body_len + (m->raw_props ? m->raw_props_len + 1 : 0);
    for (size_t i = 0; i < m->nprops; i++)
        strs += str_size(m->pkeys[i]) + str_size(m->pvals[i]);
    return sizeof(ons_message_t) + 2 * m->nprops * sizeof(char *) + strs;
}

/* client_int.h. The struct first, then the property arrays (pointer
 * aligned), then strings and the body. */
ons_message_t *cl_message_pack(const ons_message_t *m, void *block)
{
    ons_message_t *c = block;
    *c = (ons_message_t){0};
    copy_scalars(c, m);
    c->packed = true;
    char **arr = (char **)(c + 1);
    char *at = (char *)(arr + 2 * m->nprops);
    c->topic = carve_str(&at, m->topic);
    c->tag = carve_str(&at, m->tag);
    c->key = carve_str(&at, m->key);
    c->msg_id = carve_str(&at, m->msg_id);
    c->born_host = carve_str(&at, m->born_host);
    c->sharding_key = carve_str(&at, m->sharding_key);
    c->wire_topic = carve_str(&at, m->wire_topic);
    if (m->nprops) {
        c->pkeys = arr;
        c->pvals = arr + m->nprops;
        c->nprops = c->cap_props = m->nprops;
        for (size_t i = 0; i < m->nprops; i++) {
            c->pkeys[i] = carve_str(&at, m->pkeys[i]);
            c->pvals[i] = carve_str(&at, m->pvals[i]);
        }
    }
    if (m->raw_props) {
        c->raw_props = memcpy(at, m->raw_props, m->raw_props_len);
        c->raw_props[m->raw_props_len] = '\0';
        c->raw_props_len = m->raw_props_len;
        at += m->raw_props_len + 1;
    }
    if (m->body_len) {
        c->body = memcpy(at, m->body, m->body_len);
        c->body_len = m->body_len;
    }
    return c;
}

static int dup_field(char **dst, const char *src)
{
    if (src == NULL)
        return 0;
    return (*dst = cl_strdup(src)) ? 0 : -1;
}

ons_message_t *ons_message_clone(const ons_message_t *m)
{
    if (m == NULL)
        return NULL;
    ons_message_t *c = ons_message_new();
    if (c == NULL)
        return NULL;
    copy_scalars(c, m);
    if (dup_field(&c->topic, m->topic) || dup_field(&c->tag, m->tag) ||
        dup_field(&c->key, m->key) || dup_field(&c->msg_id, m->msg_id) ||
        dup_field(&c->born_host, m->born_host) || dup_field(&c->sharding_key, m->sharding_key) ||
        dup_field(&c->wire_topic, m->wire_topic) || ons_message_set_body(c, m->body, m->body_len))
        goto oom;
    if (m->raw_props) {
        if ((c->raw_props = cl_strndup(m->raw_props, m->raw_props_len)) == NULL)
            goto oom;
        c->raw_props_len = m->raw_props_len;
    }
    if (m->nprops) {
        c->pkeys = cl_calloc(m->nprops, sizeof(char *));
        c->pvals = cl_calloc(m->nprops, sizeof(char *));
        if (c->pkeys == NULL || c->pvals == NULL)
            goto oom;
        c->cap_props = m->nprops;
        for (size_t i = 0; i < m->nprops; i++) {
            c->pkeys[i] = cl_strdup(m->pkeys[i]);
            c->pvals[i] = cl_strdup(m->pvals[i]);
            c->nprops++;
            if (c->pkeys[i] == NULL || c->pvals[i] == NULL)
                goto oom;
        }
    }
    return c;
oom:
    ons_message_free(c);
    return NULL;
}

/* ---- user properties ------------------------------------------------------ */

/* Names with their lengths, so a lookup compares lengths before bytes (the
 * consumer classifies every stored property of every message with it). */
struct name_len {
    const char *s;
    size_t len;
};
#define NAME_LEN(s)      \
    {                    \
        s, sizeof(s) - 1 \
    }
static const struct name_len RESERVED[] = {NAME_LEN("TAGS"),
                                           NAME_LEN("KEYS"),
                                           NAME_LEN("UNIQ_KEY"),
                                           NAME_LEN("WAIT"),
                                           NAME_LEN("DELAY"),
                                           NAME_LEN("RETRY_TOPIC"),
                                           NAME_LEN("REAL_TOPIC"),
                                           NAME_LEN("REAL_QID"),
                                           NAME_LEN("TRAN_MSG"),
                                           NAME_LEN("PGROUP"),
                                           NAME_LEN("MIN_OFFSET"),
                                           NAME_LEN("MAX_OFFSET"),
                                           NAME_LEN("RECONSUME_TIME"),
                                           NAME_LEN("MAX_RECONSUME_TIMES"),
                                           NAME_LEN("ORIGIN_MESSAGE_ID"),
                                           NAME_LEN("CONSUME_START_TIME"),
                                           NAME_LEN("TRANSACTION_CHECK_TIMES"),
                                           NAME_LEN("CHECK_IMMUNITY_TIME_IN_SECONDS"),
                                           NAME_LEN("INSTANCE_ID")};

bool cl_is_reserved_prop(const char *name, size_t len)
{
    if (len >= 2 && name[0] == '_' && name[1] == '_')
        return true;
    for (size_t i = 0; i < sizeof RESERVED / sizeof RESERVED[0]; i++)
        if (RESERVED[i].len == len && memcmp(RESERVED[i].s, name, len) == 0)
            return true;
    return false;
}

static bool has_sep(const char *s)
{
    return strchr(s, '\x01') != NULL || strchr(s, '\x02') != NULL;
}

static long prop_index(const ons_message_t *m, const char *key)
{
    for (size_t i = 0; i < m->nprops; i++)
        if (strcmp(m->pkeys[i], key) == 0)
            return (long)i;
    return -1;
}

/* Adds or replaces without the reserved-name check (consumer side). */
int cl_message_put_prop(ons_message_t *m, const char *key, size_t klen, const char *val,
                        size_t vlen);
int cl_message_put_prop(ons_message_t *m, const char *key, size_t klen, const char *val,
                        size_t vlen)
{
    char *k = cl_strndup(key, klen), *v = cl_strndup(val, vlen);
    if (k == NULL || v == NULL)
        goto oom;
    long i = prop_index(m, k);
    if (i >= 0) {
        free(k);
        free(m->pvals[i]);
        m->pvals[i] = v;
        return 0;
    }
    if (m->nprops == m->cap_props) {
        size_t cap = m->cap_props ? m->cap_props * 2 : 4;
        char **nk = cl_realloc(m->pkeys, cap * sizeof(char *));
        if (nk == NULL)
            goto oom;
        m->pkeys = nk;
        char **nv = cl_realloc(m->pvals, cap * sizeof(char *));
        if (nv == NULL)
            goto oom;
        m->pvals = nv;
        m->cap_props = cap;
    }
    m->pkeys[m->nprops] = k;
    m->pvals[m->nprops] = v;
    m->nprops++;
    return 0;
oom:
    free(k);
    free(v);
    return -1;
}

int ons_message_put_user_properties(ons_message_t *m, const char *key, const char *value,
                                    ons_exception_t **ex)
{
    if (m == NULL)
        return cl_raise(ex, ONS_ERR_NULL_POINTER, "message is NULL");
    if (m->packed)
        return cl_raise(ex, ONS_ERR_ILLEGAL_STATE, "a delivered message cannot be modified");
    if (key == NULL || value == NULL)
        return cl_raise(ex, ONS_ERR_NULL_POINTER, "user property key or value is NULL");
    if (!*key)
        return cl_raise(ex, ONS_ERR_ILLEGAL_ARGUMENT, "user property name is empty");
    if (has_sep(key) || has_sep(value))
        return cl_raise(ex, ONS_ERR_ILLEGAL_ARGUMENT, "user property %s contains U+0001 or U+0002",
                        key);
    if (cl_is_reserved_prop(key, strlen(key)))
        return cl_raise(ex, ONS_ERR_ILLEGAL_ARGUMENT,
                        "user property name %s is reserved by the system", key);
    if (cl_message_put_prop(m, key, strlen(key), value, strlen(value)) != 0)
        return cl_raise_oom(ex);
    return 0;
}

const char *ons_message_get_user_properties(const ons_message_t *m, const char *key)
{
    if (m == NULL || key == NULL)
        return NULL;
    long i = prop_index(m, key);
    return i >= 0 ? m->pvals[i] : NULL;
}

size_t ons_message_user_properties_count(const ons_message_t *m)
{
    return m ? m->nprops : 0;
}

int ons_message_user_property_at(const ons_message_t *m, size_t i, const char **key,
                                 const char **value)
{
    if (m == NULL || i >= m->nprops)
        return -1;
    if (key)
        *key = m->pkeys[i];
    if (value)
        *value = m->pvals[i];
    return 0;
}

void cl_message_user_props(const ons_message_t *m, buf_t *out)
{
    for (size_t i = 0; i < m->nprops; i++) {
        buf_append_cstr(out, m->pkeys[i]);
        buf_append_u8(out, 1);
        buf_append_cstr(out, m->pvals[i]);
        buf_append_u8(out, 2);
    }
}

/* ---- accessors ------------------------------------------------------------ */

/* A delivered message is one packed block (msg_record.c): listeners get it
 * const, and a setter called on it anyway fails instead of freeing part of
 * the block. */
static bool writable(const ons_message_t *m)
{
    return m != NULL && !m->packed;
}

#define STR_ACCESSORS(field, getter, setter)             \
    const char *getter(const ons_message_t *m)           \
    {                                                    \
        return m ? m->field : NULL;                      \
    }                                                    \
    int setter(ons_message_t *m, const char *v)          \
    {                                                    \
        return writable(m) ? set_str(&m->field, v) : -1; \
    }

STR_ACCESSORS(topic, ons_message_get_topic, ons_message_set_topic)
STR_ACCESSORS(tag, ons_message_get_tag, ons_message_set_tag)
STR_ACCESSORS(key, ons_message_get_key, ons_message_set_key)
STR_ACCESSORS(msg_id, ons_message_get_msg_id, ons_message_set_msg_id)
STR_ACCESSORS(born_host, ons_message_get_born_host, ons_message_set_born_host)
STR_ACCESSORS(sharding_key, ons_message_get_sharding_key, ons_message_set_sharding_key)

int ons_message_get_reconsume_times(const ons_message_t *m)
{
    return m ? m->reconsume_times : 0;
}

int ons_message_set_reconsume_times(ons_message_t *m, int v)
{
    if (!writable(m))
        return -1;
    m->reconsume_times = v;
    return 0;
}

int64_t ons_message_get_born_timestamp(const ons_message_t *m)
{
    return m ? m->born_ts : 0;
}

int ons_message_set_born_timestamp(ons_message_t *m, int64_t v)
{
    if (!writable(m))
        return -1;
    m->born_ts = v;
    return 0;
}

int64_t ons_message_get_start_deliver_time(const ons_message_t *m)
{
    return m ? m->start_deliver : 0;
}

int ons_message_set_start_deliver_time(ons_message_t *m, int64_t v)
{
    if (!writable(m))
        return -1;
    m->start_deliver = v;
    return 0;
}

const void *ons_message_get_body(const ons_message_t *m, size_t *len)
{
    if (len)
        *len = m ? m->body_len : 0;
    return m ? m->body : NULL;
}

int ons_message_set_body(ons_message_t *m, const void *body, size_t len)
{
    if (!writable(m) || (body == NULL && len > 0))
        return -1;
    uint8_t *b = NULL;
    if (body) {
        if ((b = cl_malloc(len)) == NULL)
            return -1;
        if (len)
            memcpy(b, body, len);
    }
    free(m->body);
    m->body = b;
    m->body_len = body ? len : 0;
    return 0;
}

/* ---- validation ------------------------------------------------------------ */

int cl_message_validate(const ons_message_t *m, int64_t now_ms, ons_exception_t **ex)
{
    if (m == NULL)
        return cl_raise(ex, ONS_ERR_NULL_POINTER, "message is NULL");
    if (m->topic == NULL || !*m->topic)
        return cl_raise(ex, ONS_ERR_ILLEGAL_ARGUMENT, "the message topic is empty");
    size_t tl = strlen(m->topic);
    if (tl > CL_MAX_TOPIC_CHARS)
        return cl_raise(ex, ONS_ERR_ILLEGAL_ARGUMENT,
                        "the message topic is longer than %d characters", CL_MAX_TOPIC_CHARS);
    for (size_t i = 0; i < tl; i++) {
        char ch = m->topic[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '_'))
            return cl_raise(ex, ONS_ERR_ILLEGAL_ARGUMENT,
                            "the message topic \"%s\" has an illegal character (allowed: "
                            "a-z A-Z 0-9 - _)",
                            m->topic);
    }
    if (m->tag) {
        size_t n = strlen(m->tag);
        if (strstr(m->tag, "||") || strcmp(m->tag, "*") == 0 ||
            (n && (m->tag[0] == ' ' || m->tag[n - 1] == ' ')) || has_sep(m->tag))
            return cl_raise(ex, ONS_ERR_ILLEGAL_ARGUMENT,
                            "the message tag \"%s\" is illegal (no \"||\", not \"*\", no "
                            "leading/trailing spaces)",
                            m->tag);
    }
    if ((m->key && has_sep(m->key)) || (m->sharding_key && has_sep(m->sharding_key)))
        return cl_raise(ex, ONS_ERR_ILLEGAL_ARGUMENT, "the message key contains U+0001 or U+0002");
    if (m->body == NULL || m->body_len == 0)
        return cl_raise(ex, ONS_ERR_ILLEGAL_ARGUMENT, "the message body is empty");
    if (m->start_deliver > 0 && m->start_deliver - now_ms > CL_MAX_DELIVER_AHEAD_MS)
        return cl_raise(ex, ONS_ERR_ILLEGAL_ARGUMENT,
                        "startDeliverTime is more than 40 days ahead");
    return 0;
}
