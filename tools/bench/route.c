/* SPDX-License-Identifier: Apache-2.0 */
/* route.c: the admin calls mqbench needs: topic route (GET_ROUTEINFO_BY_TOPIC),
 * cluster masters (GET_BROKER_CLUSTER_INFO), topic creation
 * (UPDATE_AND_CREATE_TOPIC) and queue offsets (GET_MAX/MIN_OFFSET).
 *
 * All calls are synchronous and run on the main thread before the load
 * starts. Bodies are parsed with the lenient JSON reader, so both the
 * standard and the fastjson dialect ({0:"ip:port"}) are accepted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#include "common/arena.h"
#include "common/clock.h"
#include "common/limits.h"
#include "common/xalloc.h"
#include "protocol/codes.h"
#include "protocol/json.h"

void route_free(struct bench_route *r)
{
    free(r->q);
    r->q = NULL;
    r->n = 0;
}

static void copy_str(char *dst, size_t cap, tern_bytes_t v)
{
    size_t n = v.len < cap - 1 ? v.len : cap - 1;
    if (n)
        memcpy(dst, v.ptr, n);
    dst[n] = '\0';
}

/* Finds the master address (brokerId 0) of brokerName in brokerDatas. */
static bool master_of(const struct json_val *bdatas, tern_bytes_t name, char *addr, size_t cap)
{
    if (bdatas == NULL || bdatas->type != JSON_ARRAY)
        return false;
    for (size_t i = 0; i < bdatas->n; i++) {
        const struct json_val *bd = &bdatas->items[i];
        if (!tern_bytes_eq(json_get_str(bd, "brokerName"), name))
            continue;
        const struct json_val *addrs = json_get(bd, "brokerAddrs");
        if (addrs == NULL || addrs->type != JSON_OBJECT)
            return false;
        for (size_t k = 0; k < addrs->n; k++) {
            if (tern_bytes_eq_cstr(addrs->keys[k], "0") && addrs->items[k].type == JSON_STRING) {
                copy_str(addr, cap, addrs->items[k].str);
                return true;
            }
        }
        return false;
    }
    return false;
}

/* One synchronous call; on TERN_OK resp holds the answer (any code). */
static int call(struct rclient *c, const char *addr, struct rcmd *req, int timeout_ms,
                struct rresp *resp)
{
    int rc = rclient_call_sync(c, addr, req, timeout_ms, resp);
    rcmd_deinit(req);
    return rc;
}

int route_fetch(struct rclient *c, const char *namesrv, const char *topic, bool for_write,
                int timeout_ms, struct bench_route *out, int32_t *code)
{
    struct rcmd req;
    rcmd_init(&req);
    req.code = RC_GET_ROUTEINFO_BY_TOPIC;
    rcmd_add_cstr(&req, "topic", topic);
    struct rresp resp;
    rresp_init(&resp);
    *code = -1;
    out->q = NULL;
    out->n = 0;
    int rc = call(c, namesrv, &req, timeout_ms, &resp);
    if (rc != TERN_OK) {
        rresp_deinit(&resp);
        return rc;
    }
    *code = resp.cmd.code;
    if (resp.cmd.code != RESP_SUCCESS) {
        rresp_deinit(&resp);
        return TERN_EREMOTE;
    }
    arena_t a;
    arena_init(&a);
    struct json_val *root = NULL;
    rc = json_parse(resp.cmd.body, &a, &root);
    if (rc == TERN_OK) {
        const struct json_val *qdatas = json_get(root, "queueDatas");
        const struct json_val *bdatas = json_get(root, "brokerDatas");
        size_t cap = 0;
        if (qdatas == NULL || qdatas->type != JSON_ARRAY) {
            rc = TERN_EPROTOCOL;
        } else {
            for (size_t i = 0; i < qdatas->n; i++) {
                const struct json_val *qd = &qdatas->items[i];
                int64_t perm = 0, nq = 0;
                if (json_get_i64(qd, "perm", &perm) != TERN_OK ||
                    json_get_i64(qd, for_write ? "writeQueueNums" : "readQueueNums", &nq) !=
                        TERN_OK)
                    continue;
                if ((perm & (for_write ? 2 : 4)) == 0 || nq <= 0 || nq > TERN_MAX_QUEUES_PER_TOPIC)
                    continue;
                tern_bytes_t name = json_get_str(qd, "brokerName");
                char addr[64];
                if (name.ptr == NULL || !master_of(bdatas, name, addr, sizeof addr))
                    continue;
                for (int64_t q = 0; q < nq; q++) {
                    if (out->n == cap) {
                        cap = cap ? cap * 2 : 16;
                        out->q = xrealloc(out->q, cap * sizeof *out->q);
                    }
                    struct bench_queue *bq = &out->q[out->n++];
                    snprintf(bq->addr, sizeof bq->addr, "%s", addr);
                    copy_str(bq->broker, sizeof bq->broker, name);
                    bq->queue_id = (int)q;
                }
            }
        }
    } else {
        rc = TERN_EPROTOCOL;
    }
    arena_deinit(&a);
    rresp_deinit(&resp);
    if (rc == TERN_OK && out->n == 0)
        rc = TERN_ENOT_FOUND;
    if (rc != TERN_OK)
        route_free(out);
    return rc;
}

int route_cluster_masters(struct rclient *c, const char *namesrv, int timeout_ms, char ***addrs,
                          size_t *n)
{
    struct rcmd req;
    rcmd_init(&req);
    req.code = RC_GET_BROKER_CLUSTER_INFO;
    struct rresp resp;
    rresp_init(&resp);
    *addrs = NULL;
    *n = 0;
    int rc = call(c, namesrv, &req, timeout_ms, &resp);
    if (rc != TERN_OK) {
        rresp_deinit(&resp);
        return rc;
    }
    if (resp.cmd.code != RESP_SUCCESS) {
        rresp_deinit(&resp);
        return TERN_EREMOTE;
    }
    arena_t a;
    arena_init(&a);
    struct json_val *root = NULL;
    rc = json_parse(resp.cmd.body, &a, &root);
    const struct json_val *table = rc == TERN_OK ? json_get(root, "brokerAddrTable") : NULL;
    if (table == NULL || table->type != JSON_OBJECT) {
        rc = TERN_EPROTOCOL;
    } else {
        *addrs = xcalloc(table->n ? table->n : 1, sizeof **addrs);
        for (size_t i = 0; i < table->n; i++) {
            const struct json_val *ba = json_get(&table->items[i], "brokerAddrs");
            if (ba == NULL || ba->type != JSON_OBJECT)
                continue;
            for (size_t k = 0; k < ba->n; k++) {
                if (tern_bytes_eq_cstr(ba->keys[k], "0") && ba->items[k].type == JSON_STRING)
                    (*addrs)[(*n)++] =
                        xstrndup((const char *)ba->items[k].str.ptr, ba->items[k].str.len);
            }
        }
        if (*n == 0)
            rc = TERN_ENOT_FOUND;
    }
    arena_deinit(&a);
    rresp_deinit(&resp);
    return rc;
}

int route_create_topic(struct rclient *c, const char *broker_addr, const char *topic, int queues,
                       int timeout_ms, int32_t *code)
{
    struct rcmd req;
    rcmd_init(&req);
    req.code = RC_UPDATE_AND_CREATE_TOPIC;
    rcmd_add_cstr(&req, "topic", topic);
    rcmd_add_cstr(&req, "defaultTopic", "TBW102");
    rcmd_add_i64(&req, "readQueueNums", queues);
    rcmd_add_i64(&req, "writeQueueNums", queues);
    rcmd_add_i64(&req, "perm", 6);
    rcmd_add_cstr(&req, "topicFilterType", "SINGLE_TAG");
    rcmd_add_i64(&req, "topicSysFlag", 0);
    rcmd_add_cstr(&req, "order", "false");
    struct rresp resp;
    rresp_init(&resp);
    *code = -1;
    int rc = call(c, broker_addr, &req, timeout_ms, &resp);
    if (rc == TERN_OK) {
        *code = resp.cmd.code;
        if (resp.cmd.code != RESP_SUCCESS)
            rc = TERN_EREMOTE;
    }
    rresp_deinit(&resp);
    return rc;
}

static int create_everywhere(struct rclient *c, const char *namesrv, const char *broker_addr,
                             const char *topic, int queues, int timeout_ms)
{
    char **addrs = NULL;
    size_t n = 0;
    int rc;
    if (broker_addr != NULL) {
        addrs = xcalloc(1, sizeof *addrs);
        addrs[0] = xstrdup(broker_addr);
        n = 1;
    } else {
        rc = route_cluster_masters(c, namesrv, timeout_ms, &addrs, &n);
        if (rc != TERN_OK) {
            fprintf(stderr, "mqbench: GET_BROKER_CLUSTER_INFO from %s failed: %s\n", namesrv,
                    tern_strerror(rc));
            free(addrs);
            return rc;
        }
    }
    int first_err = TERN_OK;
    for (size_t i = 0; i < n; i++) {
        int32_t code = -1;
        rc = route_create_topic(c, addrs[i], topic, queues, timeout_ms, &code);
        if (rc == TERN_OK) {
            fprintf(stderr, "mqbench: created topic %s on %s (%d queues, perm 6)\n", topic,
                    addrs[i], queues);
        } else {
            const char *nm = resp_code_name(code);
            fprintf(stderr, "mqbench: UPDATE_AND_CREATE_TOPIC on %s failed: %s (code %d %s)\n",
                    addrs[i], tern_strerror(rc), code, nm ? nm : "");
            if (first_err == TERN_OK)
                first_err = rc;
        }
        free(addrs[i]);
    }
    free(addrs);
    return first_err;
}

int route_ensure(struct rclient *c, const char *namesrv, const char *broker_addr, const char *topic,
                 int queues, bool create, bool for_write, int timeout_ms, struct bench_route *out)
{
    int32_t code = -1;
    int rc = TERN_ENOT_FOUND;
    if (!create) {
        rc = route_fetch(c, namesrv, topic, for_write, timeout_ms, out, &code);
        if (rc == TERN_OK)
            return TERN_OK;
        if (!(rc == TERN_EREMOTE && code == RESP_TOPIC_NOT_EXIST) && rc != TERN_ENOT_FOUND) {
            fprintf(stderr, "mqbench: route of %s from %s: %s (code %d)\n", topic, namesrv,
                    tern_strerror(rc), code);
            return rc;
        }
        fprintf(stderr, "mqbench: topic %s has no route; creating it\n", topic);
    }
    rc = create_everywhere(c, namesrv, broker_addr, topic, queues, timeout_ms);
    if (rc != TERN_OK)
        return rc;
    /* The broker registers the new topic with the name server, either at once
     * or at its next heartbeat; poll for the route for up to 10 s. */
    int64_t deadline = clock_mono_ms() + 10000;
    for (;;) {
        rc = route_fetch(c, namesrv, topic, for_write, timeout_ms, out, &code);
        if (rc == TERN_OK) {
            size_t want = (size_t)queues;
            if (out->n >= want || clock_mono_ms() > deadline)
                return TERN_OK;
            route_free(out);
        }
        if (clock_mono_ms() > deadline) {
            fprintf(stderr, "mqbench: no route for %s after creating it: %s (code %d)\n", topic,
                    tern_strerror(rc), code);
            return rc == TERN_OK ? TERN_ENOT_FOUND : rc;
        }
        usleep(50 * 1000);
    }
}

int route_queue_offset(struct rclient *c, const struct bench_queue *q, const char *topic, bool max,
                       int timeout_ms, int64_t *out)
{
    struct rcmd req;
    rcmd_init(&req);
    req.code = max ? RC_GET_MAX_OFFSET : RC_GET_MIN_OFFSET;
    rcmd_add_cstr(&req, "topic", topic);
    rcmd_add_i64(&req, "queueId", q->queue_id);
    struct rresp resp;
    rresp_init(&resp);
    int rc = call(c, q->addr, &req, timeout_ms, &resp);
    if (rc == TERN_OK) {
        if (resp.cmd.code != RESP_SUCCESS)
            rc = TERN_EREMOTE;
        else
            rc = rcmd_get_i64(&resp.cmd, "offset", out);
    }
    rresp_deinit(&resp);
    return rc;
}
