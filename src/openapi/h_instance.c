/* SPDX-License-Identifier: Apache-2.0 */
/* h_instance.c: /json/instance/create|list|baseInfo|update|delete (spec
 * §6.3). Instances belong to a main account; sub-accounts see their main
 * account's instances and change them only with the privileged grant. A
 * grantee of a topic (access.h) also lists and reads the instance holding
 * it, and changes nothing. */
#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

#include "common/buf.h"
#include "common/clock.h"
#include "openapi/access.h"
#include "openapi/api.h"

/* §4.3: a region holds at most 500 instances. */
#define MAX_INSTANCES_PER_REGION 500
#define INSTANCE_NAME_MIN        3
#define INSTANCE_NAME_MAX        64
#define REMARK_MAX_CHARS         1024

const char *api_tcp_endpoint(struct api_req *r, const struct api_instance *in)
{
    buf_t b;
    buf_init(&b);
    const char *p = api_cluster_namesrv(r, in->region_id, in->cluster);
    while (*p) {
        while (*p == ';' || *p == ' ')
            p++;
        size_t n = strcspn(p, "; ");
        if (n > 0) {
            if (b.len)
                buf_append_cstr(&b, ";");
            if (in->independent_naming)
                buf_printf(&b, "%s.", in->id);
            buf_append(&b, p, n);
        }
        p += n;
    }
    const char *s = buf_failed(&b) ? NULL : (const char *)arena_copy(&r->arena, buf_view(&b)).ptr;
    buf_deinit(&b);
    if (!s)
        api_fail(r, API_ONS_SYSTEM_ERROR, "out of memory");
    return s;
}

static void write_base_info(struct api_req *r, const struct api_instance *in)
{
    jw_t w;
    api_data_begin(r, &w);
    jw_obj_begin(&w);
    jw_key(&w, "instanceId");
    jw_cstr(&w, in->id);
    jw_key(&w, "instanceName");
    jw_cstr(&w, in->name);
    jw_key(&w, "independentNaming");
    jw_bool(&w, in->independent_naming);
    jw_key(&w, "endpoints");
    jw_obj_begin(&w);
    jw_key(&w, "tcpEndpoint");
    const char *ep = api_tcp_endpoint(r, in);
    jw_cstr(&w, ep ? ep : "");
    jw_obj_end(&w);
    jw_key(&w, "maxSendTps");
    jw_i64(&w, in->max_send_tps);
    jw_key(&w, "maxReceiveTps");
    jw_i64(&w, in->max_receive_tps);
    jw_key(&w, "topicCapacity");
    jw_i64(&w, in->topic_capacity);
    jw_key(&w, "remark");
    jw_cstr(&w, in->remark);
    jw_key(&w, "cluster");
    jw_cstr(&w, in->cluster);
    jw_obj_end(&w);
}

/* Instance names: 3-64 characters, Chinese or Latin; control characters
 * are refused. */
static int check_name(struct api_req *r, const char *name)
{
    for (const char *p = name; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7F)
            return api_fail(r, API_BIZ_FIELD_CHECK_INVALID,
                            "instanceName must not contain control characters");
    return 0;
}

/* Instance names are unique within the region; except_id is the instance
 * being renamed (NULL on create). */
static int name_taken(struct api_req *r, const char *name, const char *except_id)
{
    sqlite3_stmt *st;
    if (api_prepare(r,
                    "SELECT count(*) FROM instances WHERE region_id=? AND name=? AND "
                    "instance_id<>?",
                    &st) < 0)
        return -1;
    sqlite3_bind_text(st, 1, r->region_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, except_id ? except_id : "", -1, SQLITE_TRANSIENT);
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    if (n < 0)
        return api_fail(r, API_ONS_SYSTEM_ERROR, "metadata store error");
    if (n > 0)
        return api_fail(r, API_BIZ_FIELD_CHECK_INVALID,
                        "an instance named %s already exists in region %s", name, r->region_id);
    return 0;
}

static void new_instance_id(int64_t owner, char out[API_ID_MAX])
{
    static const char ALNUM[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    uint8_t rnd[8];
    if (RAND_bytes(rnd, sizeof rnd) != 1) {
        int64_t t = clock_mono_ns();
        for (size_t i = 0; i < sizeof rnd; i++)
            rnd[i] = (uint8_t)(t >> (i * 7));
    }
    char suffix[9];
    for (size_t i = 0; i < 8; i++)
        suffix[i] = ALNUM[rnd[i] % (sizeof ALNUM - 1)];
    suffix[8] = '\0';
    snprintf(out, API_ID_MAX, "MQ_INST_%lld_%s", (long long)owner, suffix);
}

int h_instance_create(struct api_req *r)
{
    const char *cluster, *name, *remark;
    bool ns;
    int64_t send_tps, recv_tps, cap;
    if (api_str(r, "cluster", true, 1, 255, &cluster) < 0 ||
        api_str(r, "instanceName", true, INSTANCE_NAME_MIN, INSTANCE_NAME_MAX, &name) < 0 ||
        check_name(r, name) < 0 || api_bool(r, "independentNaming", true, false, &ns) < 0 ||
        api_str(r, "remark", false, 0, REMARK_MAX_CHARS, &remark) < 0 ||
        api_i64(r, "maxSendTps", true, 0, 1, INT64_MAX, &send_tps) < 0 ||
        api_i64(r, "maxReceiveTps", true, 0, 1, INT64_MAX, &recv_tps) < 0 ||
        api_i64(r, "topicCapacity", false, r->o->cfg.topic_capacity, 1, INT32_MAX, &cap) < 0)
        return -1;
    if (api_need_privileged(r) < 0)
        return -1;
    int64_t n =
        api_count(r, "SELECT count(*) FROM instances WHERE region_id=?", r->region_id, NULL);
    if (n < 0)
        return -1;
    if (n >= MAX_INSTANCES_PER_REGION)
        return api_fail(r, API_BIZ_FIELD_CHECK_INVALID,
                        "region %s already holds the maximum of %d instances", r->region_id,
                        MAX_INSTANCES_PER_REGION);
    if (name_taken(r, name, NULL) < 0)
        return -1;
    if (!ns) {
        sqlite3_stmt *st;
        if (api_prepare(r,
                        "SELECT instance_id FROM instances WHERE owner=? AND independent_naming=0",
                        &st) < 0)
            return -1;
        sqlite3_bind_int64(st, 1, r->caller.main_id);
        bool has = sqlite3_step(st) == SQLITE_ROW;
        char existing[API_ID_MAX];
        snprintf(existing, sizeof existing, "%s", has ? api_col(st, 0) : "");
        sqlite3_finalize(st);
        if (has)
            return api_fail(r, API_BIZ_FIELD_CHECK_INVALID,
                            "the account already has an instance without a namespace (%s)",
                            existing);
    }
    api_refresh_clusters(r);
    r->err = API_OK;
    n = api_count(r, "SELECT count(*) FROM clusters WHERE region_id=? AND name=?", r->region_id,
                  cluster);
    if (n < 0)
        return -1;
    if (n == 0)
        return api_fail(r, API_BIZ_FIELD_CHECK_INVALID, "cluster %s does not exist in region %s",
                        cluster, r->region_id);

    struct api_instance in;
    memset(&in, 0, sizeof in);
    for (int attempt = 0;; attempt++) {
        new_instance_id(r->caller.main_id, in.id);
        struct api_instance dup;
        if (api_instance_load(r->o->db, in.id, &dup) != TERN_OK)
            break;
        if (attempt > 8)
            return api_fail(r, API_ONS_SYSTEM_ERROR, "cannot allocate an instance id");
    }
    snprintf(in.region_id, sizeof in.region_id, "%s", r->region_id);
    snprintf(in.name, sizeof in.name, "%s", name);
    snprintf(in.cluster, sizeof in.cluster, "%s", cluster);
    snprintf(in.remark, sizeof in.remark, "%s", remark ? remark : "");
    in.owner = r->caller.main_id;
    in.independent_naming = ns;
    in.max_send_tps = send_tps;
    in.max_receive_tps = recv_tps;
    in.topic_capacity = cap;
    in.create_time = clock_wall_ms();
    sqlite3_stmt *st;
    if (api_prepare(r,
                    "INSERT INTO instances(instance_id, region_id, name, owner, cluster,"
                    " independent_naming, remark, max_send_tps, max_receive_tps, topic_capacity,"
                    " create_time) VALUES(?,?,?,?,?,?,?,?,?,?,?)",
                    &st) < 0)
        return -1;
    sqlite3_bind_text(st, 1, in.id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, in.region_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, in.name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, in.owner);
    sqlite3_bind_text(st, 5, in.cluster, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 6, ns);
    sqlite3_bind_text(st, 7, in.remark, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 8, send_tps);
    sqlite3_bind_int64(st, 9, recv_tps);
    sqlite3_bind_int64(st, 10, cap);
    sqlite3_bind_int64(st, 11, in.create_time);
    if (api_exec(r, st) < 0)
        return -1;
    write_base_info(r, &in);
    return 0;
}

int h_instance_base_info(struct api_req *r)
{
    struct api_instance in;
    if (api_instance_seen(r, true, &in) < 0)
        return -1;
    write_base_info(r, &in);
    return 0;
}

int h_instance_list(struct api_req *r)
{
    sqlite3_stmt *st;
    if (api_prepare(r,
                    "SELECT instance_id, name, independent_naming, remark, cluster FROM instances i"
                    " WHERE region_id=?1 AND (owner=?3 OR EXISTS (SELECT 1 FROM empower e"
                    " WHERE e.instance_id=i.instance_id AND e.empower_user IN (?3, ?4)))"
                    " ORDER BY create_time, instance_id",
                    &st) < 0)
        return -1;
    sqlite3_bind_text(st, 1, r->region_id, -1, SQLITE_TRANSIENT);
    api_bind_caller(r, st);
    jw_t w;
    api_data_begin(r, &w);
    jw_arr_begin(&w);
    while (sqlite3_step(st) == SQLITE_ROW) {
        bool ns = sqlite3_column_int(st, 2) != 0;
        jw_obj_begin(&w);
        jw_key(&w, "instanceId");
        jw_cstr(&w, api_col(st, 0));
        jw_key(&w, "instanceName");
        jw_cstr(&w, api_col(st, 1));
        jw_key(&w, "independentNaming");
        jw_bool(&w, ns);
        jw_key(&w, "namespaceRulesType");
        jw_bool(&w, ns);
        jw_key(&w, "remark");
        jw_cstr(&w, api_col(st, 3));
        jw_key(&w, "cluster");
        jw_cstr(&w, api_col(st, 4));
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    sqlite3_finalize(st);
    return 0;
}

int h_instance_update(struct api_req *r)
{
    const char *id, *name, *remark;
    if (api_str(r, "instanceId", true, 1, API_ID_MAX - 1, &id) < 0 ||
        api_str(r, "instanceName", false, INSTANCE_NAME_MIN, INSTANCE_NAME_MAX, &name) < 0 ||
        (name && check_name(r, name) < 0) ||
        api_str(r, "remark", false, 0, REMARK_MAX_CHARS, &remark) < 0)
        return -1;
    if (api_need_privileged(r) < 0)
        return -1;
    struct api_instance in;
    if (api_instance_owned(r, true, &in) < 0)
        return -1;
    if (name && name_taken(r, name, in.id) < 0)
        return -1;
    sqlite3_stmt *st;
    if (api_prepare(r,
                    "UPDATE instances SET name=coalesce(?, name), remark=coalesce(?, remark)"
                    " WHERE instance_id=?",
                    &st) < 0)
        return -1;
    if (name)
        sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    if (remark)
        sqlite3_bind_text(st, 2, remark, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, in.id, -1, SQLITE_TRANSIENT);
    return api_exec(r, st);
}

int h_instance_delete(struct api_req *r)
{
    const char *id;
    if (api_str(r, "instanceId", true, 1, API_ID_MAX - 1, &id) < 0)
        return -1;
    if (api_need_privileged(r) < 0)
        return -1;
    struct api_instance in;
    if (api_instance_owned(r, true, &in) < 0)
        return -1;
    int64_t topics = api_count(r, "SELECT count(*) FROM topics WHERE instance_id=?", in.id, NULL);
    int64_t groups =
        api_count(r, "SELECT count(*) FROM group_ids WHERE instance_id=?", in.id, NULL);
    if (topics < 0 || groups < 0)
        return -1;
    if (topics > 0 || groups > 0)
        return api_fail(r, API_BIZ_FIELD_CHECK_INVALID,
                        "instance %s still holds %lld topics and %lld Group IDs; delete them first",
                        in.id, (long long)topics, (long long)groups);
    sqlite3_stmt *st;
    if (api_prepare(r, "DELETE FROM instances WHERE instance_id=?", &st) < 0)
        return -1;
    sqlite3_bind_text(st, 1, in.id, -1, SQLITE_TRANSIENT);
    return api_exec(r, st);
}
