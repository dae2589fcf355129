/* SPDX-License-Identifier: Apache-2.0 */
/* client_fixture.h: an in-process name server + broker on loopback port 0
 * with a temporary store (the approach of tests/unit/broker/broker_fixture.h),
 * plus helpers the SDK tests need: topic creation, raw pulls, property maps. */
#ifndef TERN_TEST_CLIENT_FIXTURE_H
#define TERN_TEST_CLIENT_FIXTURE_H

#include <ons/ons.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/broker.h"
#include "common/clock.h"
#include "common/error.h"
#include "namesrv/namesrv.h"
#include "protocol/cmd.h"
#include "common/arena.h"
#include "protocol/codes.h"
#include "protocol/json.h"
#include "protocol/message.h"
#include "remoting/remoting.h"

struct cfx {
    char dir[64];
    char addr[64];
    char ns_addr[64];
    struct namesrv *ns;
    struct broker *b;
    struct rclient *cli;
    struct broker_config cfg;
};

static inline int cfx_start(struct cfx *f)
{
    memset(f, 0, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/tern-sdk-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    struct namesrv_config nc;
    namesrv_config_defaults(&nc);
    nc.bind_host = "127.0.0.1";
    nc.port = 0;
    if (namesrv_start(&nc, &f->ns) != TERN_OK)
        return -1;
    snprintf(f->ns_addr, sizeof f->ns_addr, "127.0.0.1:%d", namesrv_port(f->ns));
    broker_config_init(&f->cfg);
    const char *kv[][2] = {{"listenPort", "0"},
                           {"brokerIP1", "127.0.0.1"},
                           {"namesrvAddr", f->ns_addr},
                           {"storePathRootDir", f->dir},
                           {"mappedFileSizeCommitLog", "16777216"},
                           {"maxMessageSize", "4194304"},
                           {"vipChannelEnable", "false"},
                           {"aclEnable", "false"},
                           {"autoCreateTopicEnable", "false"}};
    char err[256];
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        if (broker_config_set(&f->cfg, kv[i][0], kv[i][1], err, sizeof err) != TERN_OK) {
            fprintf(stderr, "config %s: %s\n", kv[i][0], err);
            return -1;
        }
    /* Fast retries where the broker supports delay levels (optional key). */
    (void)broker_config_set(&f->cfg, "messageDelayLevel",
                            "1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s", err,
                            sizeof err);
    /* Transaction check-backs every 300 ms (tests use short immunities). */
    if (broker_config_set(&f->cfg, "transactionCheckInterval", "300", err, sizeof err) != TERN_OK)
        return -1;
    struct rclient_opts co;
    memset(&co, 0, sizeof co);
    if (rclient_new(&co, &f->cli) != TERN_OK)
        return -1;
    if (broker_start(&f->cfg, &f->b) != TERN_OK)
        return -1;
    snprintf(f->addr, sizeof f->addr, "127.0.0.1:%d", broker_port(f->b));
    return 0;
}

static inline void cfx_stop(struct cfx *f)
{
    rclient_free(f->cli);
    broker_stop(f->b);
    namesrv_stop(f->ns);
    broker_config_deinit(&f->cfg);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", f->dir);
}

/* Creates a topic on the broker and waits until the name server routes it. */
static inline int cfx_topic(struct cfx *f, const char *topic, int queues)
{
    struct rcmd req;
    rcmd_init(&req);
    req.code = RC_UPDATE_AND_CREATE_TOPIC;
    rcmd_add_cstr(&req, "topic", topic);
    rcmd_add_i64(&req, "readQueueNums", queues);
    rcmd_add_i64(&req, "writeQueueNums", queues);
    rcmd_add_i64(&req, "perm", 6);
    rcmd_add_cstr(&req, "topicFilterType", "SINGLE_TAG");
    struct rresp resp;
    rresp_init(&resp);
    int rc = rclient_call_sync(f->cli, f->addr, &req, 5000, &resp);
    int code = rc == TERN_OK ? resp.cmd.code : -1;
    rcmd_deinit(&req);
    rresp_deinit(&resp);
    if (code != RESP_SUCCESS)
        return -1;
    int64_t deadline = clock_mono_ms() + 15000;
    while (clock_mono_ms() < deadline) {
        rcmd_init(&req);
        req.code = RC_GET_ROUTEINFO_BY_TOPIC;
        rcmd_add_cstr(&req, "topic", topic);
        rresp_init(&resp);
        rc = rclient_call_sync(f->cli, f->ns_addr, &req, 3000, &resp);
        code = rc == TERN_OK ? resp.cmd.code : -1;
        rcmd_deinit(&req);
        rresp_deinit(&resp);
        if (code == RESP_SUCCESS)
            return 0;
        usleep(50 * 1000);
    }
    return -1;
}

/* Reads up to 32 stored messages of one queue from offset. Calls fn per
 * message; returns the count or -1. */
typedef void (*cfx_msg_fn)(const struct msg_record *r, void *arg);
static inline int cfx_pull(struct cfx *f, const char *group, const char *topic, int qid,
                           int64_t offset, cfx_msg_fn fn, void *arg)
{
    struct rcmd req;
    rcmd_init(&req);
    req.code = RC_PULL_MESSAGE;
    rcmd_add_cstr(&req, "consumerGroup", group);
    rcmd_add_cstr(&req, "topic", topic);
    rcmd_add_i64(&req, "queueId", qid);
    rcmd_add_i64(&req, "queueOffset", offset);
    rcmd_add_i64(&req, "maxMsgNums", 32);
    rcmd_add_i64(&req, "sysFlag", 4);
    rcmd_add_i64(&req, "commitOffset", 0);
    rcmd_add_i64(&req, "suspendTimeoutMillis", 1000);
    rcmd_add_cstr(&req, "subscription", "*");
    rcmd_add_i64(&req, "subVersion", 1);
    struct rresp resp;
    rresp_init(&resp);
    int rc = rclient_call_sync(f->cli, f->addr, &req, 5000, &resp);
    rcmd_deinit(&req);
    if (rc != TERN_OK) {
        rresp_deinit(&resp);
        return -1;
    }
    int n = 0;
    if (resp.cmd.code == RESP_SUCCESS) {
        const uint8_t *p = resp.cmd.body.ptr;
        size_t left = resp.cmd.body.len;
        struct msg_record r;
        while (left > 0 && msg_decode(p, left, &r) == TERN_OK) {
            fn(&r, arg);
            n++;
            p += r.total_size;
            left -= (size_t)r.total_size;
        }
    }
    rresp_deinit(&resp);
    return n;
}

static inline void cfx_count_one(const struct msg_record *r, void *arg)
{
    (void)r;
    (*(int *)arg)++;
}

/* Messages stored in queue qid of topic (at most 32), or -1. */
static inline int cfx_stored(struct cfx *f, const char *topic, int qid)
{
    int n = 0;
    return cfx_pull(f, "GID_cfxprobe", topic, qid, 0, cfx_count_one, &n) < 0 ? -1 : n;
}

/* The id of the one online client of group (from the broker), or false. */
static inline bool cfx_client_id(struct cfx *f, const char *group, char *out, size_t cap)
{
    struct rcmd req;
    rcmd_init(&req);
    req.code = RC_GET_CONSUMER_LIST_BY_GROUP;
    rcmd_add_cstr(&req, "consumerGroup", group);
    struct rresp resp;
    rresp_init(&resp);
    int rc = rclient_call_sync(f->cli, f->addr, &req, 5000, &resp);
    rcmd_deinit(&req);
    arena_t a;
    arena_init(&a);
    struct json_val *v = NULL;
    bool ok = rc == TERN_OK && resp.cmd.code == RESP_SUCCESS &&
              json_parse(resp.cmd.body, &a, &v) == TERN_OK;
    const struct json_val *ids = ok ? json_get(v, "consumerIdList") : NULL;
    ok = ids && ids->type == JSON_ARRAY && ids->n == 1 && ids->items[0].type == JSON_STRING;
    if (ok)
        snprintf(out, cap, "%s", (const char *)ids->items[0].str.ptr);
    arena_deinit(&a);
    rresp_deinit(&resp);
    return ok;
}

/* Properties for a client of this fixture (caller frees). */
static inline ons_properties_t *cfx_props(struct cfx *f, const char *group)
{
    ons_properties_t *p = ons_properties_new();
    ons_properties_put(p, ONS_NAMESRV_ADDR, f->ns_addr);
    ons_properties_put(p, ONS_GROUP_ID, group);
    ons_properties_put(p, ONS_ACCESS_KEY, "ak");
    ons_properties_put(p, ONS_SECRET_KEY, "sk");
    return p;
}

/* A started producer of group for this fixture (caller destroys), or NULL. */
static inline ons_producer_t *cfx_producer(struct cfx *f, const char *group)
{
    ons_properties_t *p = cfx_props(f, group);
    ons_producer_t *pr = ons_factory_create_producer(p, NULL);
    ons_properties_free(p);
    if (pr && ons_producer_start(pr, NULL) != 0) {
        ons_producer_destroy(pr);
        pr = NULL;
    }
    return pr;
}

#endif
