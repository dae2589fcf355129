/* SPDX-License-Identifier: Apache-2.0 */
/* broker_fixture.h: an in-process name server + broker on loopback port 0
 * with a temporary store, and request helpers, for the broker tests. */
#ifndef TERN_TEST_BROKER_FIXTURE_H
#define TERN_TEST_BROKER_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/broker.h"
#include "common/clock.h"
#include "common/error.h"
#include "namesrv/namesrv.h"
#include "protocol/cmd.h"
#include "protocol/codes.h"
#include "remoting/remoting.h"

struct fixture {
    char dir[64];
    char addr[64];
    char ns_addr[64];
    struct namesrv *ns;
    struct broker *b;
    struct rclient *cli;
    struct broker_config cfg;
};

/* Sets a config key (aborts the test program on a bad key). */
static inline void fx_set(struct fixture *f, const char *k, const char *v)
{
    char err[256];
    if (broker_config_set(&f->cfg, k, v, err, sizeof err) != TERN_OK) {
        fprintf(stderr, "config %s=%s: %s\n", k, v, err);
        abort();
    }
}

/* Prepares the config (temp dir, name server) without starting the broker. */
static inline int fx_prepare(struct fixture *f)
{
    memset(f, 0, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/tern-broker-XXXXXX");
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
    fx_set(f, "listenPort", "0");
    fx_set(f, "brokerIP1", "127.0.0.1");
    fx_set(f, "namesrvAddr", f->ns_addr);
    fx_set(f, "storePathRootDir", f->dir);
    fx_set(f, "mappedFileSizeCommitLog", "16777216");
    fx_set(f, "maxMessageSize", "65536");
    fx_set(f, "vipChannelEnable", "false");
    fx_set(f, "aclEnable", "false");
    struct rclient_opts co;
    memset(&co, 0, sizeof co);
    return rclient_new(&co, &f->cli);
}

static inline int fx_start_broker(struct fixture *f)
{
    int rc = broker_start(&f->cfg, &f->b);
    if (rc == TERN_OK)
        snprintf(f->addr, sizeof f->addr, "127.0.0.1:%d", broker_port(f->b));
    return rc;
}

static inline int fx_start(struct fixture *f)
{
    int rc = fx_prepare(f);
    return rc ? rc : fx_start_broker(f);
}

static inline void fx_stop(struct fixture *f)
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

/* Synchronous call to the broker; out must be rresp_deinit'ed. */
static inline int fx_call(struct fixture *f, const char *addr, struct rcmd *req, struct rresp *out)
{
    rresp_init(out);
    return rclient_call_sync(f->cli, addr ? addr : f->addr, req, 5000, out);
}

/* Copies a response field into a static-size buffer ("" when absent). */
static inline const char *fx_field(struct rresp *r, const char *key, char *buf, size_t n)
{
    tern_bytes_t v = rcmd_get(&r->cmd, key);
    snprintf(buf, n, "%.*s", (int)v.len, v.ptr ? (const char *)v.ptr : "");
    return buf;
}

static inline int64_t fx_i64(struct rresp *r, const char *key)
{
    int64_t v = -999999;
    rcmd_get_i64(&r->cmd, key, &v);
    return v;
}

#endif
