/* SPDX-License-Identifier: Apache-2.0 */
/* h_tunnel.c: /json/vpcTunnel/tunnelSwitch (spec §6.3.1) and the name-server
 * addresses an instance's clients use.
 *
 * A self-hosted deployment has no load balancer to allocate VIPs from: the
 * addresses of each tunnel type are configuration (openApiTunnels, entries
 * "[CLUSTER:]TYPE[/VSWITCH]=ADDR;ADDR" separated by ','). A switch records
 * the cluster's type and addresses in cluster_tunnels; from then on the
 * tcpEndpoint of every instance on the cluster is built from them, and the
 * call answers that endpoint. Without force it first measures every master's
 * InTps + OutTps over TUNNEL_TPS_WINDOW_MS (GET_BROKER_RUNTIME_INFO twice)
 * and refuses above TUNNEL_MAX_TPS. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "openapi/admin.h"
#include "openapi/api.h"
#include "protocol/cmd.h"
#include "protocol/codes.h"

#define TUNNEL_MAX_TPS       10
#define TUNNEL_TPS_WINDOW_MS 1000
#define SLB_URL_MAX_CHARS    1024
#define VSWITCH_MAX_CHARS    255

/* One entry of openApiTunnels; views into the configuration string. */
struct tunnel_entry {
    tern_bytes_t cluster; /* empty: every cluster */
    tern_bytes_t type;
    tern_bytes_t vswitch; /* empty: any vSwitch */
    tern_bytes_t addrs;
};

static tern_bytes_t trim(const char *s, size_t n)
{
    while (n && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    return tern_bytes(s, n);
}

/* Parses the entry at *p and advances past it. False at the end; a
 * malformed entry gives an entry with an empty type or address list. */
static bool next_entry(const char **p, struct tunnel_entry *e)
{
    while (**p == ',' || **p == ' ')
        (*p)++;
    if (!**p)
        return false;
    size_t n = strcspn(*p, ",");
    const char *s = *p;
    *p += n;
    memset(e, 0, sizeof *e);
    const char *eq = memchr(s, '=', n);
    if (!eq)
        return true;
    e->addrs = trim(eq + 1, n - (size_t)(eq - s) - 1);
    const char *lhs = s;
    size_t ln = (size_t)(eq - s);
    const char *colon = memchr(lhs, ':', ln);
    if (colon) {
        e->cluster = trim(lhs, (size_t)(colon - lhs));
        ln -= (size_t)(colon - lhs) + 1;
        lhs = colon + 1;
    }
    const char *slash = memchr(lhs, '/', ln);
    if (slash) {
        e->vswitch = trim(slash + 1, ln - (size_t)(slash - lhs) - 1);
        ln = (size_t)(slash - lhs);
    }
    e->type = trim(lhs, ln);
    return true;
}

static bool known_type(tern_bytes_t t)
{
    return tern_bytes_eq_cstr(t, "anyTunnel") || tern_bytes_eq_cstr(t, "singleTunnel");
}

/* Every address of "host:port;host:port" has a host and a port 1..65535. */
static bool valid_addrs(tern_bytes_t a)
{
    size_t i = 0, items = 0;
    while (i < a.len) {
        size_t j = i;
        while (j < a.len && a.ptr[j] != ';')
            j++;
        tern_bytes_t item = trim((const char *)a.ptr + i, j - i);
        if (item.len) {
            const char *c = memrchr(item.ptr, ':', item.len);
            size_t plen = c ? item.len - (size_t)(c - (const char *)item.ptr) - 1 : 0;
            int64_t port;
            if (!c || c == (const char *)item.ptr ||
                parse_i64(tern_bytes(c + 1, plen), &port) != TERN_OK || port < 1 || port > 65535)
                return false;
            items++;
        }
        i = j + 1;
    }
    return items > 0;
}

int api_tunnels_check(const char *spec, char *err, size_t errlen)
{
    const char *p = spec ? spec : "";
    struct tunnel_entry e;
    while (next_entry(&p, &e)) {
        if (!known_type(e.type) || !valid_addrs(e.addrs) ||
            (e.vswitch.len && !tern_bytes_eq_cstr(e.type, "singleTunnel"))) {
            snprintf(err, errlen,
                     "openApiTunnels: bad entry (want [CLUSTER:]anyTunnel=HOST:PORT;... or "
                     "[CLUSTER:]singleTunnel[/VSWITCH]=HOST:PORT;..., entries separated by ',')");
            return TERN_ECONFIG;
        }
    }
    return TERN_OK;
}

/* The configured addresses for (cluster, type, vswitch). A vSwitch-specific
 * entry wins; without one the vSwitch is ignored only when no entry of the
 * type names any vSwitch. A cluster-specific entry beats a general one. */
static bool lookup(const char *spec, const char *cluster, const char *type, const char *vsw,
                   tern_bytes_t *out)
{
    int best = 0;
    bool type_has_vswitch = false;
    const char *p = spec;
    struct tunnel_entry e;
    while (next_entry(&p, &e)) {
        if (!tern_bytes_eq_cstr(e.type, type))
            continue;
        if (e.cluster.len && !tern_bytes_eq_cstr(e.cluster, cluster))
            continue;
        if (e.vswitch.len)
            type_has_vswitch = true;
        int score;
        if (e.vswitch.len)
            score = vsw && tern_bytes_eq_cstr(e.vswitch, vsw) ? 3 : 0;
        else
            score = 1;
        if (score && e.cluster.len)
            score++;
        if (score > best) {
            best = score;
            *out = e.addrs;
        }
    }
    if (best == 0)
        return false;
    /* A general entry for an unknown vSwitch, where vSwitches are listed. */
    return !(vsw && *vsw && best < 3 && type_has_vswitch);
}

/* Sum of msgPutTotalTodayNow and msgGetTotalTodayNow of one broker. */
static int broker_msgs(struct api_req *r, const char *addr, int64_t *out)
{
    char err[400];
    struct rcmd req;
    rcmd_init(&req);
    req.code = RC_GET_BROKER_RUNTIME_INFO;
    struct admin_reply rep;
    if (admin_request(r->o->admin, addr, &req, &r->arena, &rep, err, sizeof err) != TERN_OK)
        return api_invoke_failed(r, "reading the broker runtime info", err);
    struct json_val *root;
    int64_t put = 0, got = 0;
    if (rep.code != 0 || json_parse(rep.body, &r->arena, &root) != TERN_OK ||
        json_get_i64(json_get(root, "table"), "msgPutTotalTodayNow", &put) != TERN_OK ||
        json_get_i64(json_get(root, "table"), "msgGetTotalTodayNow", &got) != TERN_OK)
        return api_invoke_failed(r, "reading the broker runtime info",
                                 "unexpected answer to GET_BROKER_RUNTIME_INFO");
    *out = put + got;
    return 0;
}

/* Refuses (BIZ_FIELD_CHECK_INVALID) when a master of the cluster carries
 * more than TUNNEL_MAX_TPS messages in + out per second. */
static int check_traffic(struct api_req *r, const struct api_instance *in)
{
    struct admin_broker *b;
    size_t n;
    char err[400];
    if (admin_brokers(r->o->admin, in->cluster, &r->arena, &b, &n, err, sizeof err) != TERN_OK)
        return api_invoke_failed(r, "finding the brokers", err);
    int64_t *before = arena_alloc(&r->arena, n * sizeof *before);
    if (!before)
        return api_fail(r, API_ONS_SYSTEM_ERROR, "out of memory");
    int64_t t0 = clock_mono_ns();
    for (size_t i = 0; i < n; i++)
        if (broker_msgs(r, b[i].addr, &before[i]) < 0)
            return -1;
    struct timespec ts = {TUNNEL_TPS_WINDOW_MS / 1000, TUNNEL_TPS_WINDOW_MS % 1000 * 1000000L};
    nanosleep(&ts, NULL);
    double secs = (double)(clock_mono_ns() - t0) / 1e9;
    for (size_t i = 0; i < n; i++) {
        int64_t after;
        if (broker_msgs(r, b[i].addr, &after) < 0)
            return -1;
        double tps = (double)(after - before[i]) / secs;
        if (tps > TUNNEL_MAX_TPS)
            return api_fail(r, API_BIZ_FIELD_CHECK_INVALID,
                            "broker %s (%s) carries %.1f TPS (InTps + OutTps) > %d: the switch "
                            "would disturb its clients; retry with force=true to switch anyway",
                            b[i].name, b[i].addr, tps, TUNNEL_MAX_TPS);
    }
    return 0;
}

const char *api_cluster_namesrv(struct api_req *r, const char *region_id, const char *cluster)
{
    const char *dflt = r->o->cfg.namesrv_addr ? r->o->cfg.namesrv_addr : "";
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(r->db,
                           "SELECT namesrv_addr FROM cluster_tunnels WHERE region_id=? AND"
                           " cluster=?",
                           -1, &st, NULL) != SQLITE_OK)
        return dflt;
    sqlite3_bind_text(st, 1, region_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, cluster, -1, SQLITE_TRANSIENT);
    const char *out = dflt;
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *s = arena_strdup(&r->arena, api_col(st, 0));
        if (s)
            out = s;
    }
    sqlite3_finalize(st);
    return out;
}

static int store_switch(struct api_req *r, const struct api_instance *in, const char *type,
                        const char *vsw, const char *slb, const char *addrs)
{
    int64_t now = clock_wall_ms();
    sqlite3_stmt *st;
    if (api_prepare(r,
                    "INSERT INTO cluster_tunnels(region_id, cluster, tunnel_type, vswitch_id,"
                    " slb_url, namesrv_addr, modify_time) VALUES(?,?,?,?,?,?,?)"
                    " ON CONFLICT(region_id, cluster) DO UPDATE SET"
                    " tunnel_type=excluded.tunnel_type, vswitch_id=excluded.vswitch_id,"
                    " slb_url=excluded.slb_url, namesrv_addr=excluded.namesrv_addr,"
                    " modify_time=excluded.modify_time",
                    &st) < 0)
        return -1;
    sqlite3_bind_text(st, 1, in->region_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, in->cluster, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, type, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, vsw ? vsw : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, slb ? slb : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 6, addrs, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 7, now);
    if (api_exec(r, st) < 0)
        return -1;
    if (api_prepare(r, "UPDATE clusters SET modify_time=? WHERE region_id=? AND name=?", &st) < 0)
        return -1;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_text(st, 2, in->region_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, in->cluster, -1, SQLITE_TRANSIENT);
    return api_exec(r, st);
}

int h_tunnel_switch(struct api_req *r)
{
    const char *spec = r->o->cfg.tunnels;
    if (!spec || !*spec)
        return api_fail(r, API_ONS_SERVICE_UNSUPPORTED,
                        "this deployment configures no VPC tunnel addresses (openApiTunnels)");
    const char *type, *slb, *vsw;
    bool force;
    if (api_str(r, "tunnelType", true, 1, 32, &type) < 0 ||
        api_str(r, "slbUrl", false, 0, SLB_URL_MAX_CHARS, &slb) < 0 ||
        api_bool(r, "force", false, false, &force) < 0 ||
        api_str(r, "vSwitchId", false, 0, VSWITCH_MAX_CHARS, &vsw) < 0)
        return -1;
    if (!known_type(tern_cstr(type)))
        return api_fail(r, API_BIZ_FIELD_CHECK_INVALID,
                        "parameter tunnelType must be anyTunnel or singleTunnel");
    if (api_need_privileged(r) < 0)
        return -1;
    struct api_instance in;
    if (api_instance(r, true, &in) < 0)
        return -1;
    if (strcmp(type, "anyTunnel") == 0)
        vsw = NULL; /* only meaningful for a single tunnel */
    tern_bytes_t addrs;
    if (!lookup(spec, in.cluster, type, vsw, &addrs))
        return api_fail(r, API_BIZ_FIELD_CHECK_INVALID,
                        "no %s address is configured for cluster %s%s%s", type, in.cluster,
                        vsw ? " and vSwitch " : "", vsw ? vsw : "");
    const char *addr = (const char *)arena_copy(&r->arena, addrs).ptr;
    if (!addr)
        return api_fail(r, API_ONS_SYSTEM_ERROR, "out of memory");
    if (!force && check_traffic(r, &in) < 0)
        return -1;
    if (store_switch(r, &in, type, vsw, slb, addr) < 0)
        return -1;
    log_info("openapi", "tunnel switched cluster=%s type=%s vswitch=%s namesrv=%s", in.cluster,
             type, vsw ? vsw : "", addr);
    const char *endpoint = api_tcp_endpoint(r, &in);
    if (!endpoint)
        return api_fail(r, API_ONS_SYSTEM_ERROR, "out of memory");
    jw_t w;
    api_data_begin(r, &w);
    jw_cstr(&w, endpoint);
    return 0;
}
