/* SPDX-License-Identifier: Apache-2.0 */
/* register.c: name-server registration (see register.h). The body is the
 * RegisterBrokerBody of the whole topic table; bodyCrc32 = crc32_java(body).
 * When brokerPermission lacks read or write, every topic's perm is replaced
 * by it (draining a broker, broker-internals §11). */
#include "broker/register.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker_int.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "protocol/codes.h"
#include "protocol/route.h"

#define REGISTER_TIMEOUT_MS 6000

/* Calls fn for each address of the ';'-separated namesrvAddr list. */
static int each_namesrv(struct broker *b, int (*fn)(struct broker *b, const char *addr, void *arg),
                        void *arg)
{
    const char *list = b->cfg.namesrv_addr;
    int ok = 0;
    if (!list)
        return 0;
    char addr[256];
    while (*list) {
        const char *end = strchr(list, ';');
        size_t n = end ? (size_t)(end - list) : strlen(list);
        while (n && (*list == ' ' || *list == '\t')) {
            list++;
            n--;
        }
        while (n && (list[n - 1] == ' ' || list[n - 1] == '\t'))
            n--;
        if (n > 0 && n < sizeof addr) {
            memcpy(addr, list, n);
            addr[n] = '\0';
            if (fn(b, addr, arg) == TERN_OK)
                ok++;
        }
        if (!end)
            break;
        list = end + 1;
    }
    return ok;
}

static void add_broker_fields(struct broker *b, struct rcmd *req)
{
    rcmd_add_cstr(req, "brokerName", b->cfg.broker_name);
    rcmd_add_cstr(req, "brokerAddr", b->addr);
    rcmd_add_cstr(req, "clusterName", b->cfg.cluster_name);
    rcmd_add_i64(req, "brokerId", b->cfg.broker_id);
}

static int register_one(struct broker *b, const char *addr, void *arg)
{
    const buf_t *body = arg;
    struct rcmd req;
    rcmd_init(&req);
    req.code = RC_REGISTER_BROKER;
    add_broker_fields(b, &req);
    rcmd_add_cstr(&req, "haServerAddr", b->ha_addr);
    rcmd_add_cstr(&req, "compressed", "false");
    rcmd_add_cstr(&req, "enableActingMaster", "false");
    rcmd_add_i64(&req, "heartbeatTimeoutMillis", 120000);
    rcmd_add_i64(&req, "bodyCrc32", crc32_java(body->data, body->len));
    req.body = buf_view(body);
    struct rresp resp;
    rresp_init(&resp);
    int rc = rclient_call_sync(b->ns, addr, &req, REGISTER_TIMEOUT_MS, &resp);
    if (rc == TERN_OK && resp.cmd.code != RESP_SUCCESS) {
        log_warn("broker", "register with name server %s refused: code=%d remark=%.*s", addr,
                 resp.cmd.code, (int)resp.cmd.remark.len, (const char *)resp.cmd.remark.ptr);
        rc = TERN_EREMOTE;
    } else if (rc != TERN_OK) {
        log_warn("broker", "register with name server %s failed: %s", addr, tern_strerror(rc));
    }
    rresp_deinit(&resp);
    rcmd_deinit(&req);
    return rc;
}

int register_once(struct broker *b)
{
    size_t n;
    int64_t dvc, dvt;
    struct topic_config *tcs = topics_snapshot(&b->topics, &n, &dvc, &dvt);
    struct route_topic_config *rt = xmalloc((n ? n : 1) * sizeof *rt);
    int bperm = b->cfg.broker_permission;
    bool drain = !(bperm & PERM_READ) || !(bperm & PERM_WRITE);
    for (size_t i = 0; i < n; i++) {
        rt[i].name = tcs[i].name;
        rt[i].read_queue_nums = tcs[i].read_queue_nums;
        rt[i].write_queue_nums = tcs[i].write_queue_nums;
        rt[i].perm = drain ? bperm : tcs[i].perm;
        rt[i].topic_sys_flag = tcs[i].topic_sys_flag;
        rt[i].order = tcs[i].order;
        rt[i].filter_type = tcs[i].multi_tag ? "MULTI_TAG" : "SINGLE_TAG";
    }
    buf_t body;
    buf_init(&body);
    route_encode_register_body(&body, rt, n, dvc, dvt);
    free(rt);
    free(tcs);
    int ok = each_namesrv(b, register_one, &body);
    buf_deinit(&body);
    return ok;
}

static int unregister_one(struct broker *b, const char *addr, void *arg)
{
    (void)arg;
    struct rcmd req;
    rcmd_init(&req);
    req.code = RC_UNREGISTER_BROKER;
    add_broker_fields(b, &req);
    struct rresp resp;
    rresp_init(&resp);
    int rc = rclient_call_sync(b->ns, addr, &req, 3000, &resp);
    rresp_deinit(&resp);
    rcmd_deinit(&req);
    return rc;
}

static void *register_main(void *arg)
{
    pthread_setname_np(pthread_self(), "tern-register");
    struct broker *b = arg;
    pthread_mutex_lock(&b->reg_lock);
    int64_t next = 0;
    while (!b->reg_stopping) {
        int64_t now = clock_mono_ms();
        if (b->reg_kick || now >= next) {
            b->reg_kick = false;
            pthread_mutex_unlock(&b->reg_lock);
            register_once(b);
            pthread_mutex_lock(&b->reg_lock);
            next = clock_mono_ms() + b->cfg.register_period_ms;
            continue;
        }
        struct timespec ts = {next / 1000, (next % 1000) * 1000000};
        pthread_cond_timedwait(&b->reg_cond, &b->reg_lock, &ts);
    }
    pthread_mutex_unlock(&b->reg_lock);
    return NULL;
}

int register_start(struct broker *b)
{
    pthread_mutex_init(&b->reg_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&b->reg_cond, &ca);
    pthread_condattr_destroy(&ca);
    int rc = pthread_create(&b->reg_thread, NULL, register_main, b);
    if (rc != 0)
        return -rc;
    /* reg_started is read and written atomically: any thread may kick. */
    __atomic_store_n(&b->reg_started, true, __ATOMIC_RELEASE);
    return TERN_OK;
}

void register_stop(struct broker *b)
{
    if (!__atomic_load_n(&b->reg_started, __ATOMIC_ACQUIRE))
        return;
    __atomic_store_n(&b->reg_started, false, __ATOMIC_RELEASE);
    pthread_mutex_lock(&b->reg_lock);
    b->reg_stopping = true;
    pthread_cond_signal(&b->reg_cond);
    pthread_mutex_unlock(&b->reg_lock);
    pthread_join(b->reg_thread, NULL);
    each_namesrv(b, unregister_one, NULL);
    pthread_cond_destroy(&b->reg_cond);
    pthread_mutex_destroy(&b->reg_lock);
}

void broker_register_now(struct broker *b)
{
    if (!__atomic_load_n(&b->reg_started, __ATOMIC_ACQUIRE))
        return;
    pthread_mutex_lock(&b->reg_lock);
    b->reg_kick = true;
    pthread_cond_signal(&b->reg_cond);
    pthread_mutex_unlock(&b->reg_lock);
}

void broker_topic_changed(struct broker *b)
{
    broker_register_now(b);
    broker_persist_soon(b);
}
