/* SPDX-License-Identifier: Apache-2.0 */
/* admin.c: topic and group changes applied to brokers (see admin.h). */
#include "openapi/admin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/xalloc.h"
#include "protocol/codes.h"
#include "openapi/sign.h"
#include "protocol/json.h"
#include "remoting/remoting.h"

#define ADMIN_MAX_NAMESRV 16
#define ADMIN_MAX_BROKERS 256

struct admin {
    struct rclient *rc;               /* owned */
    char *sign_ak;                    /* owned; NULL: requests go unsigned */
    char *sign_sk;                    /* owned */
    char *namesrv[ADMIN_MAX_NAMESRV]; /* owned */
    size_t nnamesrv;
    int timeout_ms;
};

int admin_new(const char *namesrv_addr, int timeout_ms, struct admin **out)
{
    struct admin *a = xcalloc(1, sizeof *a);
    a->timeout_ms = timeout_ms;
    const char *p = namesrv_addr ? namesrv_addr : "";
    while (*p) {
        while (*p == ';' || *p == ' ')
            p++;
        size_t n = strcspn(p, "; ");
        if (n > 0 && a->nnamesrv < ADMIN_MAX_NAMESRV)
            a->namesrv[a->nnamesrv++] = xstrndup(p, n);
        p += n;
    }
    struct rclient_opts o = {0};
    o.connect_timeout_ms = timeout_ms;
    int rc = rclient_new(&o, &a->rc);
    if (rc != TERN_OK) {
        admin_free(a);
        return rc;
    }
    *out = a;
    return TERN_OK;
}

void admin_free(struct admin *a)
{
    if (!a)
        return;
    rclient_free(a->rc);
    free(a->sign_ak);
    if (a->sign_sk)
        OPENSSL_cleanse(a->sign_sk, strlen(a->sign_sk));
    free(a->sign_sk);
    for (size_t i = 0; i < a->nnamesrv; i++)
        free(a->namesrv[i]);
    free(a);
}

void admin_set_credentials(struct admin *a, const char *access_key, const char *secret_key)
{
    if (!access_key || !*access_key)
        return;
    a->sign_ak = xstrdup(access_key);
    a->sign_sk = xstrdup(secret_key ? secret_key : "");
}

static int cmp_field(const void *x, const void *y)
{
    tern_bytes_t a = *(const tern_bytes_t *)x, b = *(const tern_bytes_t *)y;
    size_t n = a.len < b.len ? a.len : b.len;
    int c = n ? memcmp(a.ptr, b.ptr, n) : 0;
    return c ? c : (a.len > b.len) - (a.len < b.len);
}

/* Adds AccessKey and Signature (remoting-protocol.md §7.2: the values of the
 * ext fields sorted by name, then the body; HMAC-SHA1, Base64) when the
 * admin has credentials. */
static void sign_request(struct admin *a, struct rcmd *req)
{
    if (!a->sign_ak)
        return;
    rcmd_add_cstr(req, "AccessKey", a->sign_ak);
    /* Sort (key, index) pairs: a key view followed by its field index. */
    struct {
        tern_bytes_t key;
        size_t idx;
    } *order = xcalloc(req->nfields ? req->nfields : 1, sizeof *order);
    size_t n = 0;
    for (size_t i = 0; i < req->nfields; i++)
        if (!tern_bytes_eq_cstr(req->fields[i].key, "Signature"))
            order[n].key = req->fields[i].key, order[n++].idx = i;
    qsort(order, n, sizeof *order, cmp_field);
    buf_t content;
    buf_init(&content);
    for (size_t i = 0; i < n; i++)
        buf_append(&content, req->fields[order[i].idx].val.ptr, req->fields[order[i].idx].val.len);
    buf_append(&content, req->body.ptr, req->body.len);
    char sig[SIGN_B64_LEN + 1];
    sign_hmac_b64(tern_cstr(a->sign_sk), tern_bytes(content.data, content.len), sig);
    rcmd_add_cstr(req, "Signature", sig);
    buf_deinit(&content);
    free(order);
}

/* Sends req to addr and checks for code 0. OUT (optional): the response,
 * which the caller deinits. Consumes req. */
static int call(struct admin *a, const char *addr, struct rcmd *req, struct rresp *keep, char *err,
                size_t errlen)
{
    struct rresp resp;
    rresp_init(&resp);
    sign_request(a, req);
    int rc = rclient_call_sync(a->rc, addr, req, a->timeout_ms, &resp);
    rcmd_deinit(req);
    if (rc != TERN_OK) {
        snprintf(err, errlen, "%s did not answer: %s", addr, tern_strerror(rc));
    } else if (resp.cmd.code != RESP_SUCCESS) {
        snprintf(err, errlen, "%s refused (code %d): %.*s", addr, (int)resp.cmd.code,
                 (int)(resp.cmd.remark.len > 200 ? 200 : resp.cmd.remark.len),
                 resp.cmd.remark.ptr ? (const char *)resp.cmd.remark.ptr : "");
        rc = TERN_EREMOTE;
    }
    if (rc == TERN_OK && keep)
        *keep = resp;
    else
        rresp_deinit(&resp);
    return rc;
}

/* Fetches ClusterInfo from the first name server that answers. */
static int cluster_info(struct admin *a, arena_t *ar, struct json_val **out, char *err,
                        size_t errlen)
{
    if (a->nnamesrv == 0) {
        snprintf(err, errlen, "no name server configured (namesrvAddr)");
        return TERN_ECONFIG;
    }
    int rc = TERN_ECLOSED;
    for (size_t i = 0; i < a->nnamesrv; i++) {
        struct rcmd req;
        rcmd_init(&req);
        req.code = RC_GET_BROKER_CLUSTER_INFO;
        struct rresp resp;
        rc = call(a, a->namesrv[i], &req, &resp, err, errlen);
        if (rc != TERN_OK)
            continue;
        /* json_parse keeps views into its input: copy the body into ar. */
        tern_bytes_t body = arena_copy(ar, resp.cmd.body);
        rresp_deinit(&resp);
        if (!body.ptr) {
            snprintf(err, errlen, "out of memory");
            return TERN_ENOMEM;
        }
        rc = json_parse(body, ar, out);
        if (rc == TERN_OK && (*out)->type == JSON_OBJECT)
            return TERN_OK;
        snprintf(err, errlen, "%s sent a malformed ClusterInfo", a->namesrv[i]);
        rc = TERN_EPROTOCOL;
    }
    return rc;
}

int admin_list_clusters(struct admin *a, arena_t *ar, const char ***names, size_t *n, char *err,
                        size_t errlen)
{
    struct json_val *ci;
    int rc = cluster_info(a, ar, &ci, err, errlen);
    if (rc != TERN_OK)
        return rc;
    const struct json_val *t = json_get(ci, "clusterAddrTable");
    size_t cnt = t && t->type == JSON_OBJECT ? t->n : 0;
    const char **v = arena_alloc(ar, (cnt ? cnt : 1) * sizeof *v);
    for (size_t i = 0; v && i < cnt; i++)
        if (!(v[i] = (const char *)arena_copy(ar, t->keys[i]).ptr))
            v = NULL;
    if (!v) {
        snprintf(err, errlen, "out of memory");
        return TERN_ENOMEM;
    }
    *names = v;
    *n = cnt;
    return TERN_OK;
}

/* Master addresses of cluster. OUT: addrs (in ar), *n >= 1 on success. */
static int masters(struct admin *a, const char *cluster, arena_t *ar, const char **addrs, size_t *n,
                   char *err, size_t errlen)
{
    struct json_val *ci;
    int rc = cluster_info(a, ar, &ci, err, errlen);
    if (rc != TERN_OK)
        return rc;
    const struct json_val *names = json_get(json_get(ci, "clusterAddrTable"), cluster);
    const struct json_val *bat = json_get(ci, "brokerAddrTable");
    *n = 0;
    for (size_t i = 0; names && names->type == JSON_ARRAY && i < names->n; i++) {
        if (names->items[i].type != JSON_STRING)
            continue;
        const struct json_val *bd = json_get(bat, (const char *)names->items[i].str.ptr);
        const struct json_val *ba = json_get(bd, "brokerAddrs");
        const struct json_val *m = json_get(ba, "0");
        if (m && m->type == JSON_STRING && *n < ADMIN_MAX_BROKERS)
            addrs[(*n)++] = (const char *)m->str.ptr;
    }
    if (*n == 0) {
        snprintf(err, errlen, "cluster %s has no master broker registered", cluster);
        return TERN_ENOT_FOUND;
    }
    return TERN_OK;
}

/* The broker's name of each Open API message type (orderType 3 is unused). */
static const char *type_attr(int order_type)
{
    switch (order_type) {
    case 1:
    case 2:
        return "+message.type=FIFO";
    case 4:
        return "+message.type=TRANSACTION";
    case 5:
        return "+message.type=DELAY";
    default:
        return "+message.type=NORMAL";
    }
}

int admin_topic_apply(struct admin *a, const char *cluster, const char *topic, int order_type,
                      int perm, int queue_nums, char *err, size_t errlen)
{
    arena_t ar;
    arena_init(&ar);
    const char *addrs[ADMIN_MAX_BROKERS];
    size_t n = 0;
    int rc = masters(a, cluster, &ar, addrs, &n, err, errlen);
    int q = order_type == 2 ? 1 : queue_nums;
    for (size_t i = 0; rc == TERN_OK && i < n; i++) {
        struct rcmd req;
        rcmd_init(&req);
        req.code = RC_UPDATE_AND_CREATE_TOPIC;
        rcmd_add_cstr(&req, "topic", topic);
        rcmd_add_cstr(&req, "defaultTopic", "TBW102");
        rcmd_add_i64(&req, "readQueueNums", q);
        rcmd_add_i64(&req, "writeQueueNums", q);
        rcmd_add_i64(&req, "perm", perm);
        rcmd_add_cstr(&req, "topicFilterType", "SINGLE_TAG");
        rcmd_add_i64(&req, "topicSysFlag", 0);
        rcmd_add_cstr(&req, "order", order_type == 1 || order_type == 2 ? "true" : "false");
        rcmd_add_cstr(&req, "attributes", type_attr(order_type));
        rc = call(a, addrs[i], &req, NULL, err, errlen);
    }
    arena_deinit(&ar);
    return rc;
}

static int delete_topic_on(struct admin *a, const char *const *addrs, size_t n, int code,
                           const char *topic, char *err, size_t errlen)
{
    int rc = TERN_OK;
    for (size_t i = 0; rc == TERN_OK && i < n; i++) {
        struct rcmd req;
        rcmd_init(&req);
        req.code = code;
        rcmd_add_cstr(&req, "topic", topic);
        rc = call(a, addrs[i], &req, NULL, err, errlen);
    }
    return rc;
}

int admin_topic_delete(struct admin *a, const char *cluster, const char *topic, char *err,
                       size_t errlen)
{
    arena_t ar;
    arena_init(&ar);
    const char *addrs[ADMIN_MAX_BROKERS];
    size_t n = 0;
    int rc = masters(a, cluster, &ar, addrs, &n, err, errlen);
    if (rc == TERN_OK)
        rc = delete_topic_on(a, addrs, n, RC_DELETE_TOPIC_IN_BROKER, topic, err, errlen);
    if (rc == TERN_OK)
        rc = delete_topic_on(a, (const char *const *)a->namesrv, a->nnamesrv,
                             RC_DELETE_TOPIC_IN_NAMESRV, topic, err, errlen);
    arena_deinit(&ar);
    return rc;
}

int admin_group_apply(struct admin *a, const char *cluster, const char *group, bool read_enable,
                      char *err, size_t errlen)
{
    arena_t ar;
    arena_init(&ar);
    const char *addrs[ADMIN_MAX_BROKERS];
    size_t n = 0;
    int rc = masters(a, cluster, &ar, addrs, &n, err, errlen);
    buf_t body;
    buf_init(&body);
    jw_t w;
    jw_init(&w, &body);
    jw_obj_begin(&w);
    jw_key(&w, "groupName");
    jw_cstr(&w, group);
    jw_key(&w, "consumeEnable");
    jw_bool(&w, read_enable);
    jw_key(&w, "consumeFromMinEnable");
    jw_bool(&w, true);
    jw_key(&w, "consumeBroadcastEnable");
    jw_bool(&w, true);
    jw_key(&w, "retryQueueNums");
    jw_i64(&w, 1);
    jw_key(&w, "retryMaxTimes");
    jw_i64(&w, 16);
    jw_key(&w, "brokerId");
    jw_i64(&w, 0);
    jw_key(&w, "whichBrokerWhenConsumeSlowly");
    jw_i64(&w, 1);
    jw_key(&w, "notifyConsumerIdsChangedEnable");
    jw_bool(&w, true);
    jw_obj_end(&w);
    for (size_t i = 0; rc == TERN_OK && i < n; i++) {
        struct rcmd req;
        rcmd_init(&req);
        req.code = RC_UPDATE_AND_CREATE_SUBSCRIPTIONGROUP;
        req.body = buf_view(&body);
        rc = call(a, addrs[i], &req, NULL, err, errlen);
    }
    buf_deinit(&body);
    arena_deinit(&ar);
    return rc;
}

int admin_group_delete(struct admin *a, const char *cluster, const char *group, char *err,
                       size_t errlen)
{
    arena_t ar;
    arena_init(&ar);
    const char *addrs[ADMIN_MAX_BROKERS];
    size_t n = 0;
    int rc = masters(a, cluster, &ar, addrs, &n, err, errlen);
    for (size_t i = 0; rc == TERN_OK && i < n; i++) {
        struct rcmd req;
        rcmd_init(&req);
        req.code = RC_DELETE_SUBSCRIPTIONGROUP;
        rcmd_add_cstr(&req, "groupName", group);
        rcmd_add_cstr(&req, "cleanOffset", "true");
        rc = call(a, addrs[i], &req, NULL, err, errlen);
    }
    static const char *const PREFIXES[] = {"%RETRY%", "%DLQ%"};
    for (size_t k = 0; rc == TERN_OK && k < 2; k++) {
        char sys[512];
        snprintf(sys, sizeof sys, "%s%s", PREFIXES[k], group);
        rc = delete_topic_on(a, addrs, n, RC_DELETE_TOPIC_IN_BROKER, sys, err, errlen);
    }
    arena_deinit(&ar);
    return rc;
}

/* ---- read access (consumer, message and DLQ endpoints) ------------------- */

int admin_brokers(struct admin *a, const char *cluster, arena_t *ar, struct admin_broker **out,
                  size_t *n, char *err, size_t errlen)
{
    struct json_val *ci;
    int rc = cluster_info(a, ar, &ci, err, errlen);
    if (rc != TERN_OK)
        return rc;
    const struct json_val *names = json_get(json_get(ci, "clusterAddrTable"), cluster);
    const struct json_val *bat = json_get(ci, "brokerAddrTable");
    size_t cap = names && names->type == JSON_ARRAY ? names->n : 0;
    struct admin_broker *v = arena_alloc(ar, (cap ? cap : 1) * sizeof *v);
    *n = 0;
    if (!v) {
        snprintf(err, errlen, "out of memory");
        return TERN_ENOMEM;
    }
    for (size_t i = 0; i < cap; i++) {
        if (names->items[i].type != JSON_STRING)
            continue;
        const char *bn = (const char *)names->items[i].str.ptr;
        const struct json_val *m = json_get(json_get(json_get(bat, bn), "brokerAddrs"), "0");
        if (m && m->type == JSON_STRING) {
            v[*n].name = bn;
            v[*n].addr = (const char *)m->str.ptr;
            (*n)++;
        }
    }
    if (*n == 0) {
        snprintf(err, errlen, "cluster %s has no master broker registered", cluster);
        return TERN_ENOT_FOUND;
    }
    *out = v;
    return TERN_OK;
}

int admin_request(struct admin *a, const char *addr, struct rcmd *req, arena_t *ar,
                  struct admin_reply *out, char *err, size_t errlen)
{
    struct rresp resp;
    rresp_init(&resp);
    sign_request(a, req);
    int rc = rclient_call_sync(a->rc, addr, req, a->timeout_ms, &resp);
    rcmd_deinit(req);
    memset(out, 0, sizeof *out);
    if (rc != TERN_OK) {
        snprintf(err, errlen, "%s did not answer: %s", addr, tern_strerror(rc));
        rresp_deinit(&resp);
        return rc;
    }
    out->code = resp.cmd.code;
    out->remark = arena_copy(ar, resp.cmd.remark);
    out->body = arena_copy(ar, resp.cmd.body);
    out->nfields = resp.cmd.nfields;
    out->fields = arena_alloc(ar, (out->nfields ? out->nfields : 1) * sizeof *out->fields);
    bool oom = !out->fields || (resp.cmd.remark.len && !out->remark.ptr) ||
               (resp.cmd.body.len && !out->body.ptr);
    for (size_t i = 0; !oom && i < out->nfields; i++) {
        out->fields[i].key = arena_copy(ar, resp.cmd.fields[i].key);
        out->fields[i].val = arena_copy(ar, resp.cmd.fields[i].val);
        oom = !out->fields[i].key.ptr || !out->fields[i].val.ptr;
    }
    rresp_deinit(&resp);
    if (oom) {
        memset(out, 0, sizeof *out);
        snprintf(err, errlen, "%s answered, but out of memory", addr);
        return TERN_ENOMEM;
    }
    return TERN_OK;
}

tern_bytes_t admin_reply_field(const struct admin_reply *r, const char *key)
{
    for (size_t i = 0; i < r->nfields; i++)
        if (tern_bytes_eq_cstr(r->fields[i].key, key))
            return r->fields[i].val;
    return TERN_BYTES_NULL;
}

/* The group RocketMQ's tools pull as: never a business group, so a pull
 * cannot take a pending reset or commit an offset of a real group. */
#define TOOLS_GROUP          "TOOLS_CONSUMER"
#define PULL_FLAG_SUBSCRIBED 0x4

int admin_pull(struct admin *a, const char *addr, const char *topic, int qid, int64_t offset,
               int max, arena_t *ar, tern_bytes_t *records, int64_t *next, char *err, size_t errlen)
{
    struct rcmd req;
    rcmd_init(&req);
    req.code = RC_PULL_MESSAGE;
    rcmd_add_cstr(&req, "consumerGroup", TOOLS_GROUP);
    rcmd_add_cstr(&req, "topic", topic);
    rcmd_add_i64(&req, "queueId", qid);
    rcmd_add_i64(&req, "queueOffset", offset);
    rcmd_add_i64(&req, "maxMsgNums", max);
    rcmd_add_i64(&req, "sysFlag", PULL_FLAG_SUBSCRIBED);
    rcmd_add_i64(&req, "commitOffset", 0);
    rcmd_add_i64(&req, "suspendTimeoutMillis", 0);
    rcmd_add_cstr(&req, "subscription", "*");
    rcmd_add_i64(&req, "subVersion", 0);
    rcmd_add_cstr(&req, "expressionType", "TAG");
    struct admin_reply r;
    int rc = admin_request(a, addr, &req, ar, &r, err, errlen);
    if (rc != TERN_OK)
        return rc;
    *records = TERN_BYTES_NULL;
    *next = offset;
    int64_t nb;
    tern_bytes_t v = admin_reply_field(&r, "nextBeginOffset");
    if (v.ptr && parse_i64(v, &nb) == TERN_OK)
        *next = nb;
    if (r.code == RESP_SUCCESS) {
        *records = r.body;
        return TERN_OK;
    }
    if (r.code == RESP_PULL_NOT_FOUND || r.code == RESP_PULL_RETRY_IMMEDIATELY ||
        r.code == RESP_PULL_OFFSET_MOVED)
        return TERN_OK;
    snprintf(err, errlen, "%s refused the pull (code %d)", addr, r.code);
    return TERN_EREMOTE;
}
