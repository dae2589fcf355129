/* SPDX-License-Identifier: Apache-2.0 */
/* route.c: name-server JSON bodies (see route.h and spec §6).
 *
 * Encoders write keys in fastjson's alphabetical order where the reference
 * does, always compact; brokerAddrs keys are quoted (Go splits that object's
 * raw text on ',' and ':', so no whitespace may appear there). Decoders walk
 * a json_parse tree and copy every string they keep into the caller's arena. */
#include "protocol/route.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "common/limits.h"
#include "common/xalloc.h"
#include "protocol/cmd.h"
#include "protocol/json.h"

/* ---- encoders ---- */

static void write_data_version(jw_t *w, const struct route_data_version *dv)
{
    jw_obj_begin(w);
    jw_key(w, "counter");
    jw_i64(w, dv->counter);
    jw_key(w, "stateVersion");
    jw_i64(w, dv->state_version);
    jw_key(w, "timestamp");
    jw_i64(w, dv->timestamp);
    jw_obj_end(w);
}

void route_encode_data_version(buf_t *out, const struct route_data_version *dv)
{
    jw_t w;
    jw_init(&w, out);
    write_data_version(&w, dv);
}

static void write_broker_data(jw_t *w, const struct route_broker_data *b)
{
    jw_obj_begin(w);
    jw_key(w, "brokerAddrs");
    jw_obj_begin(w);
    for (size_t i = 0; i < b->naddrs; i++) {
        char id[24];
        int n = snprintf(id, sizeof id, "%lld", (long long)b->addrs[i].id);
        jw_key_bytes(w, tern_bytes(id, (size_t)n));
        jw_cstr(w, b->addrs[i].addr ? b->addrs[i].addr : "");
    }
    jw_obj_end(w);
    jw_key(w, "brokerName");
    jw_cstr(w, b->broker_name ? b->broker_name : "");
    jw_key(w, "cluster");
    jw_cstr(w, b->cluster ? b->cluster : "");
    jw_key(w, "enableActingMaster");
    jw_bool(w, b->enable_acting_master);
    if (b->zone_name) {
        jw_key(w, "zoneName");
        jw_cstr(w, b->zone_name);
    }
    jw_obj_end(w);
}

void route_encode_topic_route(buf_t *out, const struct route_topic_route *r)
{
    jw_t w;
    jw_init(&w, out);
    jw_obj_begin(&w);
    jw_key(&w, "brokerDatas");
    jw_arr_begin(&w);
    for (size_t i = 0; i < r->nbrokers; i++)
        write_broker_data(&w, &r->brokers[i]);
    jw_arr_end(&w);
    jw_key(&w, "filterServerTable");
    jw_obj_begin(&w);
    jw_obj_end(&w);
    jw_key(&w, "queueDatas");
    jw_arr_begin(&w);
    for (size_t i = 0; i < r->nqueues; i++) {
        const struct route_queue_data *q = &r->queues[i];
        jw_obj_begin(&w);
        jw_key(&w, "brokerName");
        jw_cstr(&w, q->broker_name ? q->broker_name : "");
        jw_key(&w, "perm");
        jw_i64(&w, q->perm);
        jw_key(&w, "readQueueNums");
        jw_i64(&w, q->read_queue_nums);
        jw_key(&w, "topicSysFlag");
        jw_i64(&w, q->topic_sys_flag);
        jw_key(&w, "writeQueueNums");
        jw_i64(&w, q->write_queue_nums);
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    jw_obj_end(&w);
}

void route_encode_cluster_info(buf_t *out, const struct route_broker_data *brokers, size_t nbrokers,
                               const struct route_cluster *clusters, size_t nclusters)
{
    jw_t w;
    jw_init(&w, out);
    jw_obj_begin(&w);
    jw_key(&w, "brokerAddrTable");
    jw_obj_begin(&w);
    for (size_t i = 0; i < nbrokers; i++) {
        jw_key(&w, brokers[i].broker_name ? brokers[i].broker_name : "");
        write_broker_data(&w, &brokers[i]);
    }
    jw_obj_end(&w);
    jw_key(&w, "clusterAddrTable");
    jw_obj_begin(&w);
    for (size_t i = 0; i < nclusters; i++) {
        jw_key(&w, clusters[i].name ? clusters[i].name : "");
        jw_arr_begin(&w);
        for (size_t j = 0; j < clusters[i].nbrokers; j++)
            jw_cstr(&w, clusters[i].broker_names[j]);
        jw_arr_end(&w);
    }
    jw_obj_end(&w);
    jw_obj_end(&w);
}

void route_encode_topic_list(buf_t *out, const char *const *topics, size_t n,
                             const char *broker_addr)
{
    jw_t w;
    jw_init(&w, out);
    jw_obj_begin(&w);
    if (broker_addr) {
        jw_key(&w, "brokerAddr");
        jw_cstr(&w, broker_addr);
    }
    jw_key(&w, "topicList");
    jw_arr_begin(&w);
    for (size_t i = 0; i < n; i++)
        jw_cstr(&w, topics[i]);
    jw_arr_end(&w);
    jw_obj_end(&w);
}

void route_encode_kv_table(buf_t *out, const char *const *keys, const char *const *vals, size_t n)
{
    jw_t w;
    jw_init(&w, out);
    jw_obj_begin(&w);
    jw_key(&w, "table");
    jw_obj_begin(&w);
    for (size_t i = 0; i < n; i++) {
        jw_key(&w, keys[i]);
        jw_cstr(&w, vals[i]);
    }
    jw_obj_end(&w);
    jw_obj_end(&w);
}

void route_encode_register_body(buf_t *out, const struct route_topic_config *topics, size_t n,
                                int64_t data_version_counter, int64_t data_version_ts)
{
    jw_t w;
    jw_init(&w, out);
    jw_obj_begin(&w);
    jw_key(&w, "filterServerList");
    jw_arr_begin(&w);
    jw_arr_end(&w);
    jw_key(&w, "topicConfigSerializeWrapper");
    jw_obj_begin(&w);
    jw_key(&w, "dataVersion");
    struct route_data_version dv = {data_version_counter, 0, data_version_ts};
    write_data_version(&w, &dv);
    jw_key(&w, "topicConfigTable");
    jw_obj_begin(&w);
    for (size_t i = 0; i < n; i++) {
        const struct route_topic_config *t = &topics[i];
        const char *name = t->name ? t->name : "";
        jw_key(&w, name);
        jw_obj_begin(&w);
        jw_key(&w, "attributes");
        jw_obj_begin(&w);
        jw_obj_end(&w);
        jw_key(&w, "order");
        jw_bool(&w, t->order);
        jw_key(&w, "perm");
        jw_i64(&w, t->perm);
        jw_key(&w, "readQueueNums");
        jw_i64(&w, t->read_queue_nums);
        jw_key(&w, "topicFilterType");
        jw_cstr(&w, t->filter_type ? t->filter_type : "SINGLE_TAG");
        jw_key(&w, "topicName");
        jw_cstr(&w, name);
        jw_key(&w, "topicSysFlag");
        jw_i64(&w, t->topic_sys_flag);
        jw_key(&w, "writeQueueNums");
        jw_i64(&w, t->write_queue_nums);
        jw_obj_end(&w);
    }
    jw_obj_end(&w);
    jw_key(&w, "topicQueueMappingInfoMap");
    jw_obj_begin(&w);
    jw_obj_end(&w);
    jw_key(&w, "topicQueueMappingDetailMap");
    jw_obj_begin(&w);
    jw_obj_end(&w);
    jw_key(&w, "mappingDataVersion");
    struct route_data_version mdv = {0, 0, data_version_ts};
    write_data_version(&w, &mdv);
    jw_obj_end(&w);
    jw_obj_end(&w);
}

/* ---- decoder helpers ---- */

/* Copies a name into the arena after checking its length and that it has no
 * NUL byte (the copy is used as a C string). */
static int copy_name(tern_bytes_t v, arena_t *a, const char **out)
{
    if (v.len > ROUTE_MAX_NAME_BYTES || (v.len && memchr(v.ptr, 0, v.len)))
        return TERN_EPROTOCOL;
    *out = (const char *)arena_copy(a, v).ptr;
    return *out ? TERN_OK : TERN_ENOMEM;
}

/* Optional string member: absent or null leaves *out as dflt. */
static int get_name(const struct json_val *obj, const char *key, arena_t *a, const char *dflt,
                    const char **out)
{
    const struct json_val *v = json_get(obj, key);
    *out = dflt;
    if (!v || v->type == JSON_NULL)
        return TERN_OK;
    if (v->type != JSON_STRING)
        return TERN_EPROTOCOL;
    return copy_name(v->str, a, out);
}

/* Optional int member (number, or a string holding one). */
static int get_int(const struct json_val *obj, const char *key, int dflt, int *out)
{
    const struct json_val *v = json_get(obj, key);
    *out = dflt;
    if (!v || v->type == JSON_NULL)
        return TERN_OK;
    int64_t x;
    if (json_val_i64(v, &x) != TERN_OK || x < INT_MIN || x > INT_MAX)
        return TERN_EPROTOCOL;
    *out = (int)x;
    return TERN_OK;
}

static int get_bool(const struct json_val *obj, const char *key, bool *out)
{
    const struct json_val *v = json_get(obj, key);
    *out = false;
    if (!v || v->type == JSON_NULL)
        return TERN_OK;
    if (v->type == JSON_BOOL) {
        *out = v->b;
        return TERN_OK;
    }
    if (v->type == JSON_STRING) {
        *out = v->str.len == 4 && strncasecmp((const char *)v->str.ptr, "true", 4) == 0;
        return TERN_OK;
    }
    return TERN_EPROTOCOL;
}

/* Member that must be an object/array when present; NULL when absent or null. */
static int get_typed(const struct json_val *obj, const char *key, enum json_type type,
                     const struct json_val **out)
{
    const struct json_val *v = json_get(obj, key);
    *out = NULL;
    if (!v || v->type == JSON_NULL)
        return TERN_OK;
    if (v->type != type)
        return TERN_EPROTOCOL;
    *out = v;
    return TERN_OK;
}

static int decode_data_version_val(const struct json_val *v, struct route_data_version *out)
{
    memset(out, 0, sizeof *out);
    if (!v || v->type == JSON_NULL)
        return TERN_OK;
    if (v->type != JSON_OBJECT)
        return TERN_EPROTOCOL;
    static const char *const keys[] = {"counter", "stateVersion", "timestamp"};
    int64_t *dst[] = {&out->counter, &out->state_version, &out->timestamp};
    for (size_t i = 0; i < 3; i++) {
        const struct json_val *m = json_get(v, keys[i]);
        if (m && m->type != JSON_NULL && json_val_i64(m, dst[i]) != TERN_OK)
            return TERN_EPROTOCOL;
    }
    return TERN_OK;
}

static int parse_object(tern_bytes_t text, arena_t *a, const struct json_val **out)
{
    struct json_val *root;
    int rc = json_parse(text, a, &root);
    if (rc != TERN_OK)
        return rc;
    if (root->type != JSON_OBJECT)
        return TERN_EPROTOCOL;
    *out = root;
    return TERN_OK;
}

static bool is_blank(tern_bytes_t t)
{
    for (size_t i = 0; i < t.len; i++) {
        uint8_t c = t.ptr[i];
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
            return false;
    }
    return true;
}

/* ---- decoders ---- */

int route_decode_data_version(tern_bytes_t text, arena_t *a, struct route_data_version *out)
{
    const struct json_val *root;
    int rc = parse_object(text, a, &root);
    if (rc != TERN_OK)
        return rc;
    return decode_data_version_val(root, out);
}

static int decode_queue_data(const struct json_val *v, arena_t *a, struct route_queue_data *q)
{
    if (v->type != JSON_OBJECT)
        return TERN_EPROTOCOL;
    int rc = get_name(v, "brokerName", a, NULL, &q->broker_name);
    if (rc == TERN_OK && !q->broker_name)
        rc = TERN_EPROTOCOL;
    if (rc == TERN_OK)
        rc = get_int(v, "readQueueNums", 0, &q->read_queue_nums);
    if (rc == TERN_OK)
        rc = get_int(v, "writeQueueNums", 0, &q->write_queue_nums);
    if (rc == TERN_OK)
        rc = get_int(v, "perm", 0, &q->perm);
    /* Up to 4.8 the flag was spelled topicSynFlag. */
    if (rc == TERN_OK)
        rc = get_int(v, "topicSynFlag", 0, &q->topic_sys_flag);
    if (rc == TERN_OK && json_get(v, "topicSysFlag"))
        rc = get_int(v, "topicSysFlag", 0, &q->topic_sys_flag);
    return rc;
}

static int decode_broker_data(const struct json_val *v, arena_t *a, struct route_broker_data *b)
{
    if (v->type != JSON_OBJECT)
        return TERN_EPROTOCOL;
    int rc = get_name(v, "cluster", a, "", &b->cluster);
    if (rc == TERN_OK)
        rc = get_name(v, "brokerName", a, NULL, &b->broker_name);
    if (rc == TERN_OK && !b->broker_name)
        rc = TERN_EPROTOCOL;
    if (rc == TERN_OK)
        rc = get_bool(v, "enableActingMaster", &b->enable_acting_master);
    if (rc == TERN_OK)
        rc = get_name(v, "zoneName", a, NULL, &b->zone_name);
    const struct json_val *addrs = NULL;
    if (rc == TERN_OK)
        rc = get_typed(v, "brokerAddrs", JSON_OBJECT, &addrs);
    if (rc != TERN_OK)
        return rc;
    b->naddrs = 0;
    b->addrs = NULL;
    if (!addrs || addrs->n == 0)
        return TERN_OK;
    struct route_broker_addr *arr = arena_alloc(a, addrs->n * sizeof *arr);
    if (arr == NULL)
        return TERN_ENOMEM;
    for (size_t i = 0; i < addrs->n; i++) {
        const struct json_val *av = &addrs->items[i];
        if (parse_i64(addrs->keys[i], &arr[i].id) != TERN_OK || arr[i].id < 0)
            return TERN_EPROTOCOL;
        if (av->type != JSON_STRING)
            return TERN_EPROTOCOL;
        rc = copy_name(av->str, a, &arr[i].addr);
        if (rc != TERN_OK)
            return rc;
    }
    b->addrs = arr;
    b->naddrs = addrs->n;
    return TERN_OK;
}

int route_decode_topic_route(tern_bytes_t text, arena_t *a, struct route_topic_route *out)
{
    memset(out, 0, sizeof *out);
    const struct json_val *root, *qds, *bds;
    int rc = parse_object(text, a, &root);
    if (rc == TERN_OK)
        rc = get_typed(root, "queueDatas", JSON_ARRAY, &qds);
    if (rc == TERN_OK)
        rc = get_typed(root, "brokerDatas", JSON_ARRAY, &bds);
    if (rc != TERN_OK)
        return rc;
    const struct json_val *otc = json_get(root, "orderTopicConf");
    if (otc && otc->type == JSON_STRING) {
        /* Not a name: no length cap, but it must be a C string. */
        if (memchr(otc->str.ptr, 0, otc->str.len))
            return TERN_EPROTOCOL;
        out->order_topic_conf = (const char *)arena_copy(a, otc->str).ptr;
        if (out->order_topic_conf == NULL)
            return TERN_ENOMEM;
    } else if (otc && otc->type != JSON_NULL) {
        return TERN_EPROTOCOL;
    }
    if (qds && qds->n) {
        struct route_queue_data *q = arena_alloc(a, qds->n * sizeof *q);
        if (q == NULL)
            return TERN_ENOMEM;
        for (size_t i = 0; i < qds->n; i++) {
            rc = decode_queue_data(&qds->items[i], a, &q[i]);
            if (rc != TERN_OK)
                return rc;
        }
        out->queues = q;
        out->nqueues = qds->n;
    }
    if (bds && bds->n) {
        struct route_broker_data *b = arena_alloc(a, bds->n * sizeof *b);
        if (b == NULL)
            return TERN_ENOMEM;
        for (size_t i = 0; i < bds->n; i++) {
            rc = decode_broker_data(&bds->items[i], a, &b[i]);
            if (rc != TERN_OK)
                return rc;
        }
        out->brokers = b;
        out->nbrokers = bds->n;
    }
    return TERN_OK;
}

static int check_queue_nums(int n)
{
    return n >= 0 && n <= TERN_MAX_QUEUES_PER_TOPIC ? TERN_OK : TERN_EPROTOCOL;
}

/* One TopicConfig value of topicConfigTable; key is the map key. */
static int decode_topic_config(tern_bytes_t key, const struct json_val *v, arena_t *a,
                               struct route_topic_config *t)
{
    if (v->type != JSON_OBJECT)
        return TERN_EPROTOCOL;
    int rc = get_name(v, "topicName", a, NULL, &t->name);
    if (rc == TERN_OK && !t->name)
        rc = copy_name(key, a, &t->name);
    if (rc == TERN_OK && t->name[0] == '\0')
        rc = TERN_EPROTOCOL;
    if (rc == TERN_OK)
        rc = get_int(v, "readQueueNums", 16, &t->read_queue_nums);
    if (rc == TERN_OK)
        rc = check_queue_nums(t->read_queue_nums);
    if (rc == TERN_OK)
        rc = get_int(v, "writeQueueNums", 16, &t->write_queue_nums);
    if (rc == TERN_OK)
        rc = check_queue_nums(t->write_queue_nums);
    if (rc == TERN_OK)
        rc = get_int(v, "perm", ROUTE_PERM_READ | ROUTE_PERM_WRITE, &t->perm);
    if (rc == TERN_OK)
        rc = get_int(v, "topicSysFlag", 0, &t->topic_sys_flag);
    if (rc == TERN_OK)
        rc = get_bool(v, "order", &t->order);
    if (rc == TERN_OK)
        rc = get_name(v, "topicFilterType", a, "SINGLE_TAG", &t->filter_type);
    return rc;
}

int route_decode_register_body(tern_bytes_t body, arena_t *a, struct route_register_body *out)
{
    memset(out, 0, sizeof *out);
    if (is_blank(body))
        return TERN_OK;
    const struct json_val *root, *wrapper, *table;
    int rc = parse_object(body, a, &root);
    if (rc != TERN_OK)
        return rc;
    rc = get_typed(root, "topicConfigSerializeWrapper", JSON_OBJECT, &wrapper);
    if (rc != TERN_OK)
        return rc;
    if (!wrapper)
        wrapper = root; /* a bare TopicConfigSerializeWrapper */
    rc = decode_data_version_val(json_get(wrapper, "dataVersion"), &out->data_version);
    if (rc == TERN_OK)
        rc = get_typed(wrapper, "topicConfigTable", JSON_OBJECT, &table);
    if (rc != TERN_OK || !table || table->n == 0)
        return rc;
    out->topics = arena_alloc(a, table->n * sizeof *out->topics);
    if (out->topics == NULL)
        return TERN_ENOMEM;
    for (size_t i = 0; i < table->n; i++) {
        rc = decode_topic_config(table->keys[i], &table->items[i], a, &out->topics[i]);
        if (rc != TERN_OK) {
            out->ntopics = 0;
            return rc;
        }
    }
    out->ntopics = table->n;
    return TERN_OK;
}

/* ---- compressed RegisterBrokerBody ---- */

static int inflate_all(tern_bytes_t in, buf_t *out)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit(&zs) != Z_OK)
        return TERN_ENOMEM;
    zs.next_in = (Bytef *)(uintptr_t)in.ptr;
    zs.avail_in = (uInt)in.len;
    int rc = TERN_OK;
    for (;;) {
        if (out->len >= ROUTE_MAX_INFLATED_BYTES) {
            rc = TERN_ETOO_LARGE;
            break;
        }
        size_t room = 64 * 1024;
        if (room > ROUTE_MAX_INFLATED_BYTES - out->len)
            room = ROUTE_MAX_INFLATED_BYTES - out->len;
        zs.next_out = buf_reserve(out, room);
        if (zs.next_out == NULL) {
            rc = TERN_ENOMEM;
            break;
        }
        zs.avail_out = (uInt)room;
        int zr = inflate(&zs, Z_NO_FLUSH);
        out->len += room - zs.avail_out;
        if (zr == Z_STREAM_END)
            break;
        if (zr != Z_OK || (zs.avail_in == 0 && zs.avail_out != 0)) {
            rc = TERN_EPROTOCOL; /* corrupt or truncated stream */
            break;
        }
    }
    inflateEnd(&zs);
    return rc;
}

static int read_chunk(reader_t *r, tern_bytes_t *out)
{
    uint32_t n;
    if (rd_u32(r, &n) != TERN_OK || n > INT32_MAX)
        return TERN_EPROTOCOL;
    return rd_bytes(r, n, out);
}

/* Splits off the next space-separated field of a TopicConfig line. */
static bool next_field(tern_bytes_t line, size_t *pos, tern_bytes_t *out)
{
    if (*pos > line.len)
        return false;
    const uint8_t *start = line.ptr + *pos;
    size_t left = line.len - *pos;
    const uint8_t *sp = memchr(start, ' ', left);
    size_t n = sp ? (size_t)(sp - start) : left;
    *out = tern_bytes(start, n);
    *pos += n + 1;
    return true;
}

static int field_int(tern_bytes_t f, int *out)
{
    int64_t x;
    if (parse_i64(f, &x) != TERN_OK || x < INT_MIN || x > INT_MAX)
        return TERN_EPROTOCOL;
    *out = (int)x;
    return TERN_OK;
}

/* "topicName readQueueNums writeQueueNums perm topicFilterType [attributesJSON]" */
static int decode_topic_line(tern_bytes_t line, arena_t *a, struct route_topic_config *t)
{
    memset(t, 0, sizeof *t);
    tern_bytes_t f[5];
    size_t pos = 0;
    for (size_t i = 0; i < 5; i++) {
        if (!next_field(line, &pos, &f[i]))
            return TERN_EPROTOCOL;
    }
    int rc = f[0].len ? copy_name(f[0], a, &t->name) : TERN_EPROTOCOL;
    if (rc == TERN_OK)
        rc = field_int(f[1], &t->read_queue_nums);
    if (rc == TERN_OK)
        rc = check_queue_nums(t->read_queue_nums);
    if (rc == TERN_OK)
        rc = field_int(f[2], &t->write_queue_nums);
    if (rc == TERN_OK)
        rc = check_queue_nums(t->write_queue_nums);
    if (rc == TERN_OK)
        rc = field_int(f[3], &t->perm);
    if (rc == TERN_OK)
        rc = copy_name(f[4], a, &t->filter_type);
    return rc;
}

int route_decode_register_body_compressed(tern_bytes_t body, arena_t *a,
                                          struct route_register_body *out)
{
    memset(out, 0, sizeof *out);
    buf_t plain;
    buf_init(&plain);
    int rc = inflate_all(body, &plain);
    reader_t r = reader_of(plain.data, plain.len);
    tern_bytes_t dv_json;
    uint32_t count = 0;
    if (rc == TERN_OK)
        rc = read_chunk(&r, &dv_json);
    if (rc == TERN_OK)
        rc = route_decode_data_version(dv_json, a, &out->data_version);
    if (rc == TERN_OK)
        rc = rd_u32(&r, &count);
    /* Each topic takes at least 4 bytes, which bounds the allocation. */
    if (rc == TERN_OK && count > rd_left(&r) / 4)
        rc = TERN_EPROTOCOL;
    if (rc == TERN_OK && count > 0) {
        out->topics = arena_alloc(a, count * sizeof *out->topics);
        if (out->topics == NULL)
            rc = TERN_ENOMEM;
        for (uint32_t i = 0; i < count && rc == TERN_OK; i++) {
            tern_bytes_t line;
            rc = read_chunk(&r, &line);
            if (rc == TERN_OK)
                rc = decode_topic_line(line, a, &out->topics[i]);
        }
        if (rc == TERN_OK)
            out->ntopics = count;
    }
    /* The filter server list and 5.x queue mappings that follow are unused. */
    buf_deinit(&plain);
    if (rc != TERN_OK)
        out->ntopics = 0;
    return rc;
}
