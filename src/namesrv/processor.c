/* SPDX-License-Identifier: Apache-2.0 */
/* processor.c: the name server's request handlers and dispatch table
 * (spec §4.A). Handlers run on the remoting loop threads, never block (the
 * route and KV locks are held only for table updates and encoding) and
 * answer at once. A missing or malformed required header field is answered
 * INVALID_PARAMETER with the field's name in the remark. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/hash.h"
#include "common/limits.h"
#include "common/log.h"
#include "namesrv/namesrv_int.h"
#include "protocol/codes.h"
#include "protocol/route.h"

/* ---- responses ---- */

/* Answers req with code, an optional body (borrowed, may be NULL) and an
 * optional remark (NULL = none). Consumes req. */
static void respond_remark(struct rreq *req, int32_t code, const buf_t *body, const char *remark)
{
    struct rcmd resp;
    rcmd_init_response(&resp, &req->cmd, code);
    if (remark)
        rcmd_set_remark(&resp, "%s", remark);
    if (body)
        resp.body = buf_view(body);
    rreq_respond(req, &resp);
    rcmd_deinit(&resp);
}

static void respond_ok(struct rreq *req, const buf_t *body)
{
    respond_remark(req, RESP_SUCCESS, body, NULL);
}

/* Answers req with code and a formatted remark, no body. Consumes req. */
static void respond(struct rreq *req, int32_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void respond(struct rreq *req, int32_t code, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    respond_remark(req, code, NULL, text);
}

/* ---- header fields ---- */

/* A required text field: present, non-empty (binary headers cannot tell
 * empty from absent), at most max bytes and free of NUL (it is stored as a C
 * string). Otherwise answers INVALID_PARAMETER, consumes req, returns false. */
static bool need_text(struct rreq *req, const char *key, size_t max, tern_bytes_t *out)
{
    tern_bytes_t v = rcmd_get(&req->cmd, key);
    if (!v.ptr || v.len == 0) {
        respond(req, RESP_INVALID_PARAMETER, "the request header field %s is missing", key);
        return false;
    }
    if (v.len > max || memchr(v.ptr, 0, v.len)) {
        respond(req, RESP_INVALID_PARAMETER, "the request header field %s is invalid", key);
        return false;
    }
    *out = v;
    return true;
}

static bool need_name(struct rreq *req, const char *key, tern_bytes_t *out)
{
    return need_text(req, key, ROUTE_MAX_NAME_BYTES, out);
}

/* An optional name: ptr NULL when absent or empty. false (answered) when invalid. */
static bool opt_name(struct rreq *req, const char *key, tern_bytes_t *out)
{
    tern_bytes_t v = rcmd_get(&req->cmd, key);
    *out = TERN_BYTES_NULL;
    if (!v.ptr || v.len == 0)
        return true;
    return need_name(req, key, out);
}

/* A required non-negative integer field (brokerId). */
static bool need_id(struct rreq *req, const char *key, int64_t *out)
{
    int rc = rcmd_get_i64(&req->cmd, key, out);
    if (rc == TERN_ENOT_FOUND) {
        respond(req, RESP_INVALID_PARAMETER, "the request header field %s is missing", key);
        return false;
    }
    if (rc != TERN_OK || *out < 0) {
        respond(req, RESP_INVALID_PARAMETER, "the request header field %s is invalid", key);
        return false;
    }
    return true;
}

/* The common broker identity of REGISTER/UNREGISTER/QUERY_DATA_VERSION. */
struct broker_ident {
    tern_bytes_t cluster, name, addr;
    int64_t id;
};

static bool need_broker_ident(struct rreq *req, struct broker_ident *bi)
{
    return need_name(req, "brokerName", &bi->name) && need_name(req, "brokerAddr", &bi->addr) &&
           need_name(req, "clusterName", &bi->cluster) && need_id(req, "brokerId", &bi->id);
}

#define BYTES_ARG(b) (int)(b).len, (const char *)(b).ptr

/* ---- broker registration ---- */

static void h_register_broker(void *ctx, struct rreq *req)
{
    struct namesrv *ns = ctx;
    struct broker_ident bi;
    tern_bytes_t ha_addr, zone;
    if (!need_broker_ident(req, &bi) || !need_name(req, "haServerAddr", &ha_addr) ||
        !opt_name(req, "__ZONE_NAME", &zone))
        return;
    tern_bytes_t body = req->cmd.body;
    int32_t crc = 0;
    if (rcmd_get_i32(&req->cmd, "bodyCrc32", &crc) == TERN_OK && crc != 0 &&
        crc32_java(body.len ? body.ptr : (const uint8_t *)"", body.len) != crc) {
        respond(req, RESP_SYSTEM_ERROR, "crc32 not match");
        return;
    }
    int64_t timeout_ms = 0;
    if (rcmd_get_i64(&req->cmd, "heartbeatTimeoutMillis", &timeout_ms) != TERN_OK ||
        timeout_ms <= 0)
        timeout_ms = ns->cfg.broker_expire_ms;

    arena_t arena;
    arena_init(&arena);
    struct route_register_body rb;
    int rc = rcmd_get_bool(&req->cmd, "compressed")
                 ? route_decode_register_body_compressed(body, &arena, &rb)
                 : route_decode_register_body(body, &arena, &rb);
    if (rc != TERN_OK) {
        log_warn("namesrv", "bad register body broker=%.*s err=%s", BYTES_ARG(bi.name),
                 tern_strerror(rc));
        respond(req, RESP_SYSTEM_ERROR, "malformed RegisterBrokerBody: %s", tern_strerror(rc));
        arena_deinit(&arena);
        return;
    }
    struct routes_register_req rr = {
        .cluster = bi.cluster,
        .broker_name = bi.name,
        .broker_addr = bi.addr,
        .ha_addr = ha_addr,
        .zone_name = zone,
        .broker_id = bi.id,
        .timeout_ms = timeout_ms,
        .enable_acting_master = rcmd_get_bool(&req->cmd, "enableActingMaster"),
        .conn_id = rconn_id(req->conn),
        .body = &rb,
    };
    struct routes_register_result res;
    routes_register(ns->routes, &rr, clock_mono_ms(), &res);
    log_debug("namesrv", "registered broker=%.*s addr=%.*s id=%lld topics=%zu peer=%s",
              BYTES_ARG(bi.name), BYTES_ARG(bi.addr), (long long)bi.id, rb.ntopics,
              rconn_peer(req->conn));
    arena_deinit(&arena);

    struct rcmd resp;
    rcmd_init_response(&resp, &req->cmd, RESP_SUCCESS);
    if (res.master_addr) {
        rcmd_add_cstr(&resp, "haServerAddr", res.ha_addr);
        rcmd_add_cstr(&resp, "masterAddr", res.master_addr);
    }
    buf_t kv;
    buf_init(&kv);
    if (kvconfig_encode_namespace(ns->kv, tern_cstr(KV_NAMESPACE_ORDER_TOPIC_CONFIG), &kv) ==
        TERN_OK)
        resp.body = buf_view(&kv);
    rreq_respond(req, &resp);
    rcmd_deinit(&resp);
    buf_deinit(&kv);
    routes_result_deinit(&res);
}

static void h_unregister_broker(void *ctx, struct rreq *req)
{
    struct namesrv *ns = ctx;
    struct broker_ident bi;
    if (!need_broker_ident(req, &bi))
        return;
    routes_unregister(ns->routes, bi.cluster, bi.addr, bi.name, bi.id);
    log_info("namesrv", "unregistered broker=%.*s addr=%.*s id=%lld", BYTES_ARG(bi.name),
             BYTES_ARG(bi.addr), (long long)bi.id);
    respond_ok(req, NULL);
}

static void h_query_data_version(void *ctx, struct rreq *req)
{
    struct namesrv *ns = ctx;
    struct broker_ident bi;
    if (!need_broker_ident(req, &bi))
        return;
    arena_t arena;
    arena_init(&arena);
    struct route_data_version dv, stored;
    int rc = route_decode_data_version(req->cmd.body, &arena, &dv);
    arena_deinit(&arena);
    if (rc != TERN_OK) {
        respond(req, RESP_INVALID_PARAMETER, "the body is not a DataVersion");
        return;
    }
    bool has_stored = false;
    bool changed =
        routes_query_data_version(ns->routes, bi.addr, &dv, clock_mono_ms(), &stored, &has_stored);
    struct rcmd resp;
    rcmd_init_response(&resp, &req->cmd, RESP_SUCCESS);
    rcmd_add_cstr(&resp, "changed", changed ? "true" : "false");
    buf_t body;
    buf_init(&body);
    if (has_stored) {
        route_encode_data_version(&body, &stored);
        resp.body = buf_view(&body);
    }
    rreq_respond(req, &resp);
    rcmd_deinit(&resp);
    buf_deinit(&body);
}

static void h_broker_heartbeat(void *ctx, struct rreq *req)
{
    struct namesrv *ns = ctx;
    tern_bytes_t cluster, addr, name;
    if (!need_name(req, "clusterName", &cluster) || !need_name(req, "brokerAddr", &addr) ||
        !need_name(req, "brokerName", &name))
        return;
    routes_heartbeat(ns->routes, addr, clock_mono_ms());
    respond_ok(req, NULL);
}

/* ---- route queries ---- */

static void h_get_route(void *ctx, struct rreq *req)
{
    struct namesrv *ns = ctx;
    tern_bytes_t topic;
    if (!need_name(req, "topic", &topic))
        return;
    buf_t body;
    buf_init(&body);
    if (routes_encode_topic_route(ns->routes, topic, &body) == TERN_OK)
        respond_ok(req, &body);
    else
        respond(req, RESP_TOPIC_NOT_EXIST, "No topic route info in name server for the topic: %.*s",
                BYTES_ARG(topic));
    buf_deinit(&body);
}

static void h_cluster_info(void *ctx, struct rreq *req)
{
    struct namesrv *ns = ctx;
    buf_t body;
    buf_init(&body);
    routes_encode_cluster_info(ns->routes, &body);
    respond_ok(req, &body);
    buf_deinit(&body);
}

static void h_all_topics(void *ctx, struct rreq *req)
{
    struct namesrv *ns = ctx;
    buf_t body;
    buf_init(&body);
    routes_encode_all_topics(ns->routes, &body);
    respond_ok(req, &body);
    buf_deinit(&body);
}

static void h_topics_by_cluster(void *ctx, struct rreq *req)
{
    struct namesrv *ns = ctx;
    tern_bytes_t cluster;
    if (!need_name(req, "cluster", &cluster))
        return;
    buf_t body;
    buf_init(&body);
    routes_encode_cluster_topics(ns->routes, cluster, &body);
    respond_ok(req, &body);
    buf_deinit(&body);
}

static void h_system_topics(void *ctx, struct rreq *req)
{
    struct namesrv *ns = ctx;
    buf_t body;
    buf_init(&body);
    routes_encode_system_topics(ns->routes, &body);
    respond_ok(req, &body);
    buf_deinit(&body);
}

/* ---- topic and permission maintenance ---- */

static void h_delete_topic(void *ctx, struct rreq *req)
{
    struct namesrv *ns = ctx;
    tern_bytes_t topic, cluster;
    if (!need_name(req, "topic", &topic) || !opt_name(req, "clusterName", &cluster))
        return;
    routes_delete_topic(ns->routes, topic, cluster);
    log_info("namesrv", "deleted topic=%.*s", BYTES_ARG(topic));
    respond_ok(req, NULL);
}

static void h_register_topic(void *ctx, struct rreq *req)
{
    struct namesrv *ns = ctx;
    tern_bytes_t topic;
    if (!need_name(req, "topic", &topic))
        return;
    arena_t arena;
    arena_init(&arena);
    struct route_topic_route route = {0};
    if (req->cmd.body.len > 0 &&
        route_decode_topic_route(req->cmd.body, &arena, &route) != TERN_OK) {
        arena_deinit(&arena);
        respond(req, RESP_INVALID_PARAMETER, "the body is not a TopicRouteData");
        return;
    }
    routes_register_topic(ns->routes, topic, route.queues, route.nqueues);
    arena_deinit(&arena);
    respond_ok(req, NULL);
}

static void set_write_perm(struct namesrv *ns, struct rreq *req, bool on)
{
    tern_bytes_t name;
    if (!need_name(req, "brokerName", &name))
        return;
    int count = routes_set_write_perm(ns->routes, name, on);
    log_info("namesrv", "%s write perm broker=%.*s topics=%d", on ? "added" : "wiped",
             BYTES_ARG(name), count);
    struct rcmd resp;
    rcmd_init_response(&resp, &req->cmd, RESP_SUCCESS);
    rcmd_add_i64(&resp, on ? "addTopicCount" : "wipeTopicCount", count);
    rreq_respond(req, &resp);
    rcmd_deinit(&resp);
}

static void h_wipe_write_perm(void *ctx, struct rreq *req)
{
    set_write_perm(ctx, req, false);
}

static void h_add_write_perm(void *ctx, struct rreq *req)
{
    set_write_perm(ctx, req, true);
}

/* ---- KV config ---- */

#define KV_MAX_BYTES (TERN_MAX_HEADER_BYTES)

static void h_put_kv(void *ctx, struct rreq *req)
{
    struct namesrv *ns = ctx;
    tern_bytes_t space = rcmd_get(&req->cmd, "namespace");
    tern_bytes_t key = rcmd_get(&req->cmd, "key");
    if (!space.ptr || !space.len || !key.ptr || !key.len) {
        respond(req, RESP_SYSTEM_ERROR, "namespace or key is null");
        return;
    }
    tern_bytes_t val = rcmd_get(&req->cmd, "value");
    if (!val.ptr) {
        respond(req, RESP_INVALID_PARAMETER, "the request header field value is missing");
        return;
    }
    if (memchr(space.ptr, 0, space.len) || memchr(key.ptr, 0, key.len) ||
        (val.len && memchr(val.ptr, 0, val.len))) {
        respond(req, RESP_INVALID_PARAMETER, "namespace, key or value contains NUL");
        return;
    }
    kvconfig_put(ns->kv, space, key, val);
    respond_ok(req, NULL);
}

static void h_get_kv(void *ctx, struct rreq *req)
{
    struct namesrv *ns = ctx;
    tern_bytes_t space, key;
    if (!need_text(req, "namespace", KV_MAX_BYTES, &space) ||
        !need_text(req, "key", KV_MAX_BYTES, &key))
        return;
    buf_t val;
    buf_init(&val);
    if (kvconfig_get(ns->kv, space, key, &val) == TERN_OK) {
        struct rcmd resp;
        rcmd_init_response(&resp, &req->cmd, RESP_SUCCESS);
        rcmd_add(&resp, "value", buf_view(&val));
        rreq_respond(req, &resp);
        rcmd_deinit(&resp);
    } else {
        respond(req, RESP_QUERY_NOT_FOUND, "No config item, Namespace: %.*s Key: %.*s",
                BYTES_ARG(space), BYTES_ARG(key));
    }
    buf_deinit(&val);
}

static void h_delete_kv(void *ctx, struct rreq *req)
{
    struct namesrv *ns = ctx;
    tern_bytes_t space, key;
    if (!need_text(req, "namespace", KV_MAX_BYTES, &space) ||
        !need_text(req, "key", KV_MAX_BYTES, &key))
        return;
    kvconfig_delete(ns->kv, space, key);
    respond_ok(req, NULL);
}

static void h_kv_list(void *ctx, struct rreq *req)
{
    struct namesrv *ns = ctx;
    tern_bytes_t space;
    if (!need_text(req, "namespace", KV_MAX_BYTES, &space))
        return;
    buf_t body;
    buf_init(&body);
    if (kvconfig_encode_namespace(ns->kv, space, &body) == TERN_OK)
        respond_ok(req, &body);
    else
        respond(req, RESP_QUERY_NOT_FOUND, "No config item, Namespace: %.*s", BYTES_ARG(space));
    buf_deinit(&body);
}

/* ---- the protocol surface, on one screen ---- */

static const struct rprocessor processors[] = {
    {RC_PUT_KV_CONFIG, "PUT_KV_CONFIG", h_put_kv, 0},
    {RC_GET_KV_CONFIG, "GET_KV_CONFIG", h_get_kv, 0},
    {RC_DELETE_KV_CONFIG, "DELETE_KV_CONFIG", h_delete_kv, 0},
    {RC_REGISTER_BROKER, "REGISTER_BROKER", h_register_broker, 0},
    {RC_UNREGISTER_BROKER, "UNREGISTER_BROKER", h_unregister_broker, 0},
    {RC_GET_ROUTEINFO_BY_TOPIC, "GET_ROUTEINFO_BY_TOPIC", h_get_route, 0},
    {RC_GET_BROKER_CLUSTER_INFO, "GET_BROKER_CLUSTER_INFO", h_cluster_info, 0},
    {RC_WIPE_WRITE_PERM_OF_BROKER, "WIPE_WRITE_PERM_OF_BROKER", h_wipe_write_perm, 0},
    {RC_GET_ALL_TOPIC_LIST_FROM_NAMESERVER, "GET_ALL_TOPIC_LIST_FROM_NAMESERVER", h_all_topics, 0},
    {RC_DELETE_TOPIC_IN_NAMESRV, "DELETE_TOPIC_IN_NAMESRV", h_delete_topic, 0},
    {RC_REGISTER_TOPIC_IN_NAMESRV, "REGISTER_TOPIC_IN_NAMESRV", h_register_topic, 0},
    {RC_GET_KVLIST_BY_NAMESPACE, "GET_KVLIST_BY_NAMESPACE", h_kv_list, 0},
    {RC_GET_TOPICS_BY_CLUSTER, "GET_TOPICS_BY_CLUSTER", h_topics_by_cluster, 0},
    {RC_GET_SYSTEM_TOPIC_LIST_FROM_NS, "GET_SYSTEM_TOPIC_LIST_FROM_NS", h_system_topics, 0},
    {RC_QUERY_DATA_VERSION, "QUERY_DATA_VERSION", h_query_data_version, 0},
    {RC_ADD_WRITE_PERM_OF_BROKER, "ADD_WRITE_PERM_OF_BROKER", h_add_write_perm, 0},
    {RC_BROKER_HEARTBEAT, "BROKER_HEARTBEAT", h_broker_heartbeat, 0},
};

const struct rprocessor *namesrv_processors(size_t *n)
{
    *n = sizeof processors / sizeof processors[0];
    return processors;
}
