/* SPDX-License-Identifier: Apache-2.0 */
/* setup.c: the admin steps the libons modes need before they start, done
 * over the raw protocol because the SDK offers neither: creating the topic
 * (the SDK never creates topics) and placing a consumer group's committed
 * offsets (a new group otherwise starts wherever the broker says: docs/sdk.md).
 * Main thread only; each call opens and closes its own rclient. */
#include <stdio.h>

#include "bench.h"

#include "common/xalloc.h"
#include "protocol/codes.h"

static int commit_offset(struct rclient *c, const struct bench_queue *q, const char *topic,
                         const char *group, int64_t queue_off, int timeout_ms)
{
    struct rcmd req;
    rcmd_init(&req);
    req.code = RC_UPDATE_CONSUMER_OFFSET;
    rcmd_add_cstr(&req, "consumerGroup", group);
    rcmd_add_cstr(&req, "topic", topic);
    rcmd_add_i64(&req, "queueId", q->queue_id);
    rcmd_add_i64(&req, "commitOffset", queue_off);
    struct rresp resp;
    rresp_init(&resp);
    int rc = rclient_call_sync(c, q->addr, &req, timeout_ms, &resp);
    rcmd_deinit(&req);
    if (rc == TERN_OK && resp.cmd.code != RESP_SUCCESS) {
        fprintf(stderr, "mqbench: UPDATE_CONSUMER_OFFSET %s/%d: code %d\n", topic, q->queue_id,
                (int)resp.cmd.code);
        rc = TERN_EREMOTE;
    }
    rresp_deinit(&resp);
    return rc;
}

int setup_topic(const char *namesrv, const char *broker_addr, const char *topic, int queues,
                bool create, int timeout_ms)
{
    struct rclient *c = NULL;
    struct rclient_opts ro = {0};
    int rc = rclient_new(&ro, &c);
    if (rc != TERN_OK)
        return rc;
    struct bench_route route = {0};
    rc = route_ensure(c, namesrv, broker_addr, topic, queues, create, true, timeout_ms, &route);
    if (rc == TERN_OK)
        fprintf(stderr, "mqbench: topic %s: %zu writable queues, first on %s (%s)\n", topic,
                route.n, route.q[0].addr, route.q[0].broker);
    route_free(&route);
    rclient_free(c);
    return rc;
}

int setup_group_offsets(const char *namesrv, const char *topic, const char *group, bool to_max,
                        int timeout_ms, int64_t *backlog)
{
    struct rclient *c = NULL;
    struct rclient_opts ro = {0};
    int rc = rclient_new(&ro, &c);
    if (rc != TERN_OK)
        return rc;
    struct bench_route route = {0};
    int32_t code = 0;
    rc = route_fetch(c, namesrv, topic, false, timeout_ms, &route, &code);
    int64_t total = 0;
    for (size_t i = 0; rc == TERN_OK && i < route.n; i++) {
        int64_t min = 0, max = 0;
        rc = route_queue_offset(c, &route.q[i], topic, false, timeout_ms, &min);
        if (rc == TERN_OK)
            rc = route_queue_offset(c, &route.q[i], topic, true, timeout_ms, &max);
        if (rc == TERN_OK)
            rc = commit_offset(c, &route.q[i], topic, group, to_max ? max : min, timeout_ms);
        total += to_max ? 0 : max - min;
    }
    if (rc == TERN_OK && route.n == 0)
        rc = TERN_EREMOTE;
    if (rc == TERN_OK && backlog)
        *backlog = total;
    route_free(&route);
    rclient_free(c);
    return rc;
}
