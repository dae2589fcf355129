/* SPDX-License-Identifier: Apache-2.0 */
/* heartbeat.c: HeartbeatData, LOCK_BATCH_MQ body and TAG expression decoding
 * (see heartbeat.h). Enum fields are matched by name or by ordinal; anything
 * unknown falls back to the Java default rather than failing the heartbeat. */
#include "protocol/heartbeat.h"

#include <string.h>
#include <strings.h>

#include "common/error.h"
#include "protocol/json.h"

static const char *const CONSUME_TYPE_NAMES[] = {"CONSUME_ACTIVELY", "CONSUME_PASSIVELY",
                                                 "CONSUME_POP", NULL};
static const char *const MESSAGE_MODEL_NAMES[] = {"BROADCASTING", "CLUSTERING", NULL};
static const char *const CONSUME_FROM_NAMES[] = {
    "CONSUME_FROM_LAST_OFFSET",
    "CONSUME_FROM_LAST_OFFSET_AND_FROM_MIN_WHEN_BOOT_FIRST",
    "CONSUME_FROM_MIN_OFFSET",
    "CONSUME_FROM_MAX_OFFSET",
    "CONSUME_FROM_FIRST_OFFSET",
    "CONSUME_FROM_TIMESTAMP",
    NULL};

static const char *enum_name(const char *const *names, int v)
{
    for (int i = 0; names[i]; i++) {
        if (i == v)
            return names[i];
    }
    return "?";
}

const char *consume_type_name(int v)
{
    return enum_name(CONSUME_TYPE_NAMES, v);
}
const char *message_model_name(int v)
{
    return enum_name(MESSAGE_MODEL_NAMES, v);
}
const char *consume_from_name(int v)
{
    return enum_name(CONSUME_FROM_NAMES, v);
}

/* Reads an enum given by name (string) or ordinal (number or numeric string). */
static int get_enum(const struct json_val *obj, const char *key, const char *const *names, int dflt)
{
    const struct json_val *v = json_get(obj, key);
    if (!v)
        return dflt;
    int64_t ord;
    if (v->type == JSON_STRING) {
        for (int i = 0; names[i]; i++) {
            if (v->str.len == strlen(names[i]) &&
                strncasecmp((const char *)v->str.ptr, names[i], v->str.len) == 0)
                return i;
        }
    }
    if ((v->type == JSON_NUMBER || v->type == JSON_STRING) && json_val_i64(v, &ord) == TERN_OK) {
        int count = 0;
        while (names[count])
            count++;
        if (ord >= 0 && ord < count)
            return (int)ord;
    }
    return dflt;
}

static bool is_blank(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static tern_bytes_t trim(tern_bytes_t v)
{
    while (v.len && is_blank(v.ptr[0])) {
        v.ptr++;
        v.len--;
    }
    while (v.len && is_blank(v.ptr[v.len - 1]))
        v.len--;
    return v;
}

int tag_expr_parse(tern_bytes_t expr, arena_t *a, tern_bytes_t **tags, size_t *ntags,
                   bool *match_all)
{
    *tags = NULL;
    *ntags = 0;
    *match_all = false;
    tern_bytes_t e = trim(expr);
    if (e.len == 0 || (e.len == 1 && e.ptr[0] == '*')) {
        *match_all = true;
        return TERN_OK;
    }
    /* Count parts first to size the array. */
    size_t parts = 1;
    for (size_t i = 0; i + 1 < e.len; i++) {
        if (e.ptr[i] == '|' && e.ptr[i + 1] == '|') {
            parts++;
            i++;
        }
    }
    if (parts > HB_MAX_TAGS)
        return TERN_ETOO_LARGE;
    tern_bytes_t *arr = arena_alloc(a, parts * sizeof *arr);
    if (arr == NULL)
        return TERN_ENOMEM;
    size_t n = 0, start = 0;
    for (size_t i = 0; i <= e.len; i++) {
        bool sep = i + 1 < e.len && e.ptr[i] == '|' && e.ptr[i + 1] == '|';
        if (i == e.len || sep) {
            tern_bytes_t part = trim(tern_bytes(e.ptr + start, i - start));
            if (part.len == 1 && part.ptr[0] == '*')
                *match_all = true;
            else if (part.len > 0)
                arr[n++] = part;
            if (sep)
                i++;
            start = i + 1;
        }
    }
    if (n == 0)
        *match_all = true;
    *tags = arr;
    *ntags = n;
    return TERN_OK;
}

static int decode_sub(const struct json_val *s, arena_t *a, struct hb_subscription *out)
{
    memset(out, 0, sizeof *out);
    if (!s || s->type != JSON_OBJECT)
        return TERN_EPROTOCOL;
    out->topic = json_get_str(s, "topic");
    if (!out->topic.ptr || out->topic.len == 0)
        return TERN_EPROTOCOL;
    out->sub_string = json_get_str(s, "subString");
    if (!out->sub_string.ptr)
        out->sub_string = tern_cstr("*");
    tern_bytes_t et = json_get_str(s, "expressionType");
    out->is_sql92 = et.ptr && et.len == 5 && strncasecmp((const char *)et.ptr, "SQL92", 5) == 0;
    if (json_get_i64(s, "subVersion", &out->sub_version) != TERN_OK)
        out->sub_version = 0;
    if (out->is_sql92)
        return TERN_OK;
    /* Tags from tagsSet when given (Java/Go/ali-ons), else from subString. */
    const struct json_val *ts = json_get(s, "tagsSet");
    if (ts && ts->type == JSON_ARRAY && ts->n > 0) {
        if (ts->n > HB_MAX_TAGS)
            return TERN_ETOO_LARGE;
        out->tags = arena_alloc(a, ts->n * sizeof *out->tags);
        if (out->tags == NULL)
            return TERN_ENOMEM;
        for (size_t i = 0; i < ts->n; i++) {
            const struct json_val *t = &ts->items[i];
            if (t->type != JSON_STRING)
                continue;
            tern_bytes_t tag = trim(t->str);
            if (tag.len == 1 && tag.ptr[0] == '*')
                out->match_all = true;
            else if (tag.len)
                out->tags[out->ntags++] = tag;
        }
        if (out->ntags == 0)
            out->match_all = true;
        return TERN_OK;
    }
    return tag_expr_parse(out->sub_string, a, &out->tags, &out->ntags, &out->match_all);
}

static int decode_consumer(const struct json_val *c, arena_t *a, struct hb_consumer *out)
{
    memset(out, 0, sizeof *out);
    if (!c || c->type != JSON_OBJECT)
        return TERN_EPROTOCOL;
    out->group = json_get_str(c, "groupName");
    if (!out->group.ptr || out->group.len == 0)
        return TERN_EPROTOCOL;
    out->consume_type = get_enum(c, "consumeType", CONSUME_TYPE_NAMES, CONSUME_PASSIVELY);
    out->message_model = get_enum(c, "messageModel", MESSAGE_MODEL_NAMES, MODEL_CLUSTERING);
    out->consume_from = get_enum(c, "consumeFromWhere", CONSUME_FROM_NAMES, CFW_LAST_OFFSET);
    out->unit_mode = json_get_bool(c, "unitMode", false);
    const struct json_val *subs = json_get(c, "subscriptionDataSet");
    if (!subs || subs->type != JSON_ARRAY)
        return TERN_OK;
    if (subs->n > HB_MAX_SUBS)
        return TERN_ETOO_LARGE;
    out->subs = arena_alloc(a, (subs->n ? subs->n : 1) * sizeof *out->subs);
    if (out->subs == NULL)
        return TERN_ENOMEM;
    for (size_t i = 0; i < subs->n; i++) {
        int rc = decode_sub(&subs->items[i], a, &out->subs[out->nsubs]);
        if (rc != TERN_OK)
            return rc;
        out->nsubs++;
    }
    return TERN_OK;
}

int heartbeat_decode(tern_bytes_t body, arena_t *a, struct heartbeat *out)
{
    memset(out, 0, sizeof *out);
    struct json_val *root = NULL;
    int rc = json_parse(body, a, &root);
    if (rc != TERN_OK)
        return rc;
    if (root->type != JSON_OBJECT)
        return TERN_EPROTOCOL;
    out->client_id = json_get_str(root, "clientID");
    if (!out->client_id.ptr || out->client_id.len == 0)
        return TERN_EPROTOCOL;

    const struct json_val *ps = json_get(root, "producerDataSet");
    if (ps && ps->type == JSON_ARRAY && ps->n > 0) {
        if (ps->n > HB_MAX_GROUPS)
            return TERN_ETOO_LARGE;
        out->producers = arena_alloc(a, ps->n * sizeof *out->producers);
        if (out->producers == NULL)
            return TERN_ENOMEM;
        for (size_t i = 0; i < ps->n; i++) {
            tern_bytes_t g = json_get_str(&ps->items[i], "groupName");
            if (!g.ptr || g.len == 0)
                return TERN_EPROTOCOL;
            out->producers[out->nproducers++] = g;
        }
    }
    const struct json_val *cs = json_get(root, "consumerDataSet");
    if (cs && cs->type == JSON_ARRAY && cs->n > 0) {
        if (cs->n > HB_MAX_GROUPS)
            return TERN_ETOO_LARGE;
        out->consumers = arena_alloc(a, cs->n * sizeof *out->consumers);
        if (out->consumers == NULL)
            return TERN_ENOMEM;
        for (size_t i = 0; i < cs->n; i++) {
            rc = decode_consumer(&cs->items[i], a, &out->consumers[out->nconsumers]);
            if (rc != TERN_OK)
                return rc;
            out->nconsumers++;
        }
    }
    return TERN_OK;
}

int lock_batch_decode(tern_bytes_t body, arena_t *a, struct lock_batch *out)
{
    memset(out, 0, sizeof *out);
    struct json_val *root = NULL;
    int rc = json_parse(body, a, &root);
    if (rc != TERN_OK)
        return rc;
    if (root->type != JSON_OBJECT)
        return TERN_EPROTOCOL;
    out->group = json_get_str(root, "consumerGroup");
    out->client_id = json_get_str(root, "clientId");
    if (!out->group.ptr || !out->client_id.ptr)
        return TERN_EPROTOCOL;
    out->only_this_broker = json_get_bool(root, "onlyThisBroker", false);
    const struct json_val *set = json_get(root, "mqSet");
    if (!set || set->type != JSON_ARRAY || set->n == 0)
        return TERN_OK;
    if (set->n > 65536)
        return TERN_ETOO_LARGE;
    out->mqs = arena_alloc(a, set->n * sizeof *out->mqs);
    if (out->mqs == NULL)
        return TERN_ENOMEM;
    for (size_t i = 0; i < set->n; i++) {
        const struct json_val *m = &set->items[i];
        struct lock_mq *q = &out->mqs[out->nmq];
        int64_t qid;
        q->topic = json_get_str(m, "topic");
        q->broker_name = json_get_str(m, "brokerName");
        if (!q->topic.ptr || json_get_i64(m, "queueId", &qid) != TERN_OK || qid < 0 ||
            qid > INT32_MAX)
            return TERN_EPROTOCOL;
        if (!q->broker_name.ptr)
            q->broker_name = tern_cstr("");
        q->queue_id = (int32_t)qid;
        out->nmq++;
    }
    return TERN_OK;
}
