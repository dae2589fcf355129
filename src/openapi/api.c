/* SPDX-License-Identifier: Apache-2.0 */
/* api.c: routing, the processing order of §2.7 and the handler helpers (see
 * api.h). The endpoint table lists every path of spec/open-api.md §8; paths
 * whose handler is not built yet answer ONS_SERVICE_UNSUPPORTED after the
 * caller is authenticated. */
#include "openapi/api.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/rand.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "openapi/acl_push.h"
#include "openapi/dbpool.h"
#include "openapi/sign.h"
#include "protocol/cmd.h"

/* The endpoint needs no _regionId (region/list, §6.1.1). */
#define EP_NO_REGION 0x1

struct endpoint {
    const char *path;
    api_handler_fn fn; /* NULL: known path, not served yet */
    unsigned flags;
};

static const struct endpoint ENDPOINTS[] = {
    {"/json/region/list", h_region_list, EP_NO_REGION},
    {"/json/cluster/list", h_cluster_list, 0},
    {"/json/vpcTunnel/tunnelSwitch", h_tunnel_switch, 0},
    {"/json/instance/baseInfo", h_instance_base_info, 0},
    {"/json/instance/create", h_instance_create, 0},
    {"/json/instance/delete", h_instance_delete, 0},
    {"/json/instance/list", h_instance_list, 0},
    {"/json/instance/update", h_instance_update, 0},
    {"/json/topic/create", h_topic_create, 0},
    {"/json/topic/delete", h_topic_delete, 0},
    {"/json/topic/get", h_topic_get, 0},
    {"/json/topic/listInPage", h_topic_list_in_page, 0},
    {"/json/topic/update", h_topic_update, 0},
    {"/json/topic/listNames", h_topic_list_names, 0},
    {"/json/topic/subDetail", h_topic_sub_detail, 0},
    {"/json/group/create", h_group_create, 0},
    {"/json/group/delete", h_group_delete, 0},
    {"/json/group/list", h_group_list, 0},
    {"/json/group/subDetail", h_group_sub_detail, 0},
    {"/json/group/consumerUpdate", h_group_consumer_update, 0},
    {"/json/consumer/accumulate", h_consumer_accumulate, 0},
    {"/json/consumer/status", h_consumer_status, 0},
    {"/json/consumer/getConnection", h_consumer_get_connection, 0},
    {"/json/consumer/timespan", h_consumer_timespan, 0},
    {"/json/consumer/resetOffset", h_consumer_reset_offset, 0},
    {"/json/message/trace", h_message_trace, 0},
    {"/json/message/getById", h_message_get_by_id, 0},
    {"/json/message/getByKey", h_message_get_by_key, 0},
    {"/json/message/getByPagedTopic", h_message_get_by_paged_topic, 0},
    {"/json/trend/topicInputTps", h_trend_topic_input_tps, 0},
    {"/json/trend/groupOutputTps", h_trend_group_output_tps, 0},
    {"/json/empower/create", h_empower_create, 0},
    {"/json/empower/createBySub", h_empower_create_by_sub, 0},
    {"/json/empower/delete", h_empower_delete, 0},
    {"/json/empower/list", h_empower_list, 0},
    {"/json/message/getByIdInDLQ", h_dlq_get_by_id, 0},
    {"/json/message/getByPagedDLQ", h_dlq_get_by_paged, 0},
    {"/json/message/resendByIdInDLQ", h_dlq_resend_by_id, 0},
};

/* Handlers that only read the database (no broker call, no task store):
 * they run on a pooled read-only connection, outside meta_lock. */
static const api_handler_fn READ_ONLY[] = {
    h_region_list,        h_instance_list,    h_instance_base_info, h_topic_get,
    h_topic_list_in_page, h_topic_list_names, h_group_list,
};

static bool read_only(const struct endpoint *ep)
{
    for (size_t i = 0; i < sizeof READ_ONLY / sizeof READ_ONLY[0]; i++)
        if (ep->fn && ep->fn == READ_ONLY[i])
            return true;
    return false;
}

#define MAX_PATH_BYTES 256

/* Collapses repeated '/' and drops one trailing '/' (§2.2). Returns false
 * when the path is too long to be an endpoint. */
static bool normalize_path(tern_bytes_t raw, char out[MAX_PATH_BYTES])
{
    size_t o = 0;
    for (size_t i = 0; i < raw.len; i++) {
        if (raw.ptr[i] == '/' && o > 0 && out[o - 1] == '/')
            continue;
        if (o + 1 >= MAX_PATH_BYTES)
            return false;
        out[o++] = (char)raw.ptr[i];
    }
    if (o > 1 && out[o - 1] == '/')
        o--;
    out[o] = '\0';
    return true;
}

static const struct endpoint *route(tern_bytes_t raw)
{
    char path[MAX_PATH_BYTES];
    if (!normalize_path(raw, path))
        return NULL;
    for (size_t i = 0; i < sizeof ENDPOINTS / sizeof ENDPOINTS[0]; i++)
        if (strcmp(ENDPOINTS[i].path, path) == 0)
            return &ENDPOINTS[i];
    return NULL;
}

void api_new_request_id(char out[37])
{
    uint8_t b[16];
    if (RAND_bytes(b, sizeof b) != 1) {
        int64_t t = clock_wall_ms();
        for (size_t i = 0; i < sizeof b; i++)
            b[i] = (uint8_t)(t >> (i % 8 * 8)) ^ (uint8_t)rand();
    }
    b[6] = (uint8_t)((b[6] & 0x0F) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3F) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

int api_fail(struct api_req *r, enum api_err e, const char *fmt, ...)
{
    r->err = e;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof r->msg, fmt, ap);
    va_end(ap);
    return -1;
}

static const char *param(struct api_req *r, const char *name)
{
    const struct http_param *p = http_params_get(r->params, name);
    return p ? (const char *)p->value.ptr : NULL;
}

size_t api_utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((uint8_t)*s & 0xC0) != 0x80)
            n++;
    return n;
}

int api_str(struct api_req *r, const char *name, bool required, size_t min_chars, size_t max_chars,
            const char **out)
{
    const char *v = param(r, name);
    *out = NULL;
    if (!v || !*v) {
        if (required)
            return api_fail(r, API_BIZ_FIELD_CHECK_INVALID, "parameter %s is required", name);
        return 0;
    }
    size_t n = api_utf8_chars(v);
    if (n < min_chars || n > max_chars)
        return api_fail(r, API_BIZ_FIELD_CHECK_INVALID,
                        "parameter %s must be %zu to %zu characters long (got %zu)", name,
                        min_chars, max_chars, n);
    *out = v;
    return 0;
}

int api_i64(struct api_req *r, const char *name, bool required, int64_t dflt, int64_t min,
            int64_t max, int64_t *out)
{
    const char *v = param(r, name);
    if (!v || !*v) {
        if (required)
            return api_fail(r, API_BIZ_FIELD_CHECK_INVALID, "parameter %s is required", name);
        *out = dflt;
        return 0;
    }
    int64_t x;
    if (parse_i64(tern_cstr(v), &x) != TERN_OK)
        return api_fail(r, API_BIZ_FIELD_CHECK_INVALID, "parameter %s must be a decimal number",
                        name);
    if (x < min || x > max)
        return api_fail(r, API_BIZ_FIELD_CHECK_INVALID,
                        "parameter %s must be between %lld and %lld", name, (long long)min,
                        (long long)max);
    *out = x;
    return 0;
}

int api_bool(struct api_req *r, const char *name, bool required, bool dflt, bool *out)
{
    const char *v = param(r, name);
    if (!v || !*v) {
        if (required)
            return api_fail(r, API_BIZ_FIELD_CHECK_INVALID, "parameter %s is required", name);
        *out = dflt;
        return 0;
    }
    if (strcasecmp(v, "true") == 0)
        *out = true;
    else if (strcasecmp(v, "false") == 0)
        *out = false;
    else
        return api_fail(r, API_BIZ_FIELD_CHECK_INVALID, "parameter %s must be true or false", name);
    return 0;
}

int api_need_privileged(struct api_req *r)
{
    if (r->caller.privileged)
        return 0;
    return api_fail(r, API_ONS_PERMISSION_DENIED,
                    "account %lld is a sub-account without the privileged-operation grant",
                    (long long)r->caller.user_id);
}

int api_prepare(struct api_req *r, const char *sql, sqlite3_stmt **st)
{
    if (sqlite3_prepare_v2(r->db, sql, -1, st, NULL) == SQLITE_OK)
        return 0;
    log_error("openapi", "prepare failed err=%s", sqlite3_errmsg(r->db));
    return api_fail(r, API_ONS_SYSTEM_ERROR, "metadata store error");
}

int api_exec(struct api_req *r, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_DONE)
        return 0;
    log_error("openapi", "statement failed err=%s", sqlite3_errmsg(r->db));
    return api_fail(r, API_ONS_SYSTEM_ERROR, "metadata store error");
}

const char *api_col(sqlite3_stmt *st, int col)
{
    const unsigned char *s = sqlite3_column_text(st, col);
    return s ? (const char *)s : "";
}

/* Counts rows of a one-parameter "SELECT count(*)" query. -1 on error. */
int64_t api_count(struct api_req *r, const char *sql, const char *a, const char *b)
{
    sqlite3_stmt *st;
    if (api_prepare(r, sql, &st) < 0)
        return -1;
    sqlite3_bind_text(st, 1, a, -1, SQLITE_TRANSIENT);
    if (b)
        sqlite3_bind_text(st, 2, b, -1, SQLITE_TRANSIENT);
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    if (n < 0)
        api_fail(r, API_ONS_SYSTEM_ERROR, "metadata store error");
    return n;
}

#define INSTANCE_COLS                                                                         \
    "instance_id, region_id, name, cluster, remark, owner, independent_naming, max_send_tps," \
    " max_receive_tps, topic_capacity, create_time"

static void read_instance(sqlite3_stmt *st, struct api_instance *out)
{
    snprintf(out->id, sizeof out->id, "%s", api_col(st, 0));
    snprintf(out->region_id, sizeof out->region_id, "%s", api_col(st, 1));
    snprintf(out->name, sizeof out->name, "%s", api_col(st, 2));
    snprintf(out->cluster, sizeof out->cluster, "%s", api_col(st, 3));
    snprintf(out->remark, sizeof out->remark, "%s", api_col(st, 4));
    out->owner = sqlite3_column_int64(st, 5);
    out->independent_naming = sqlite3_column_int(st, 6) != 0;
    out->max_send_tps = sqlite3_column_int64(st, 7);
    out->max_receive_tps = sqlite3_column_int64(st, 8);
    out->topic_capacity = sqlite3_column_int64(st, 9);
    out->create_time = sqlite3_column_int64(st, 10);
}

int api_instance_load(sqlite3 *db, const char *instance_id, struct api_instance *out)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT " INSTANCE_COLS " FROM instances WHERE instance_id=?", -1,
                           &st, NULL) != SQLITE_OK)
        return TERN_ECORRUPT;
    sqlite3_bind_text(st, 1, instance_id, -1, SQLITE_TRANSIENT);
    int rc = TERN_ENOT_FOUND;
    if (sqlite3_step(st) == SQLITE_ROW) {
        read_instance(st, out);
        rc = TERN_OK;
    }
    sqlite3_finalize(st);
    return rc;
}

int api_instance(struct api_req *r, bool required, struct api_instance *out)
{
    const char *id;
    if (api_str(r, "instanceId", required, 1, API_ID_MAX - 1, &id) < 0)
        return -1;
    if (id) {
        int rc = api_instance_load(r->db, id, out);
        if (rc == TERN_ECORRUPT)
            return api_fail(r, API_ONS_SYSTEM_ERROR, "metadata store error");
        if (rc != TERN_OK || out->owner != r->caller.main_id ||
            strcmp(out->region_id, r->region_id) != 0)
            return api_fail(r, API_BIZ_FIELD_CHECK_INVALID,
                            "instance %s does not exist in region %s", id, r->region_id);
        return 0;
    }
    sqlite3_stmt *st;
    if (api_prepare(r,
                    "SELECT " INSTANCE_COLS " FROM instances WHERE owner=? AND region_id=?"
                    " AND independent_naming=0",
                    &st) < 0)
        return -1;
    sqlite3_bind_int64(st, 1, r->caller.main_id);
    sqlite3_bind_text(st, 2, r->region_id, -1, SQLITE_TRANSIENT);
    bool found = sqlite3_step(st) == SQLITE_ROW;
    if (found)
        read_instance(st, out);
    sqlite3_finalize(st);
    if (!found)
        return api_fail(r, API_BIZ_FIELD_CHECK_INVALID,
                        "instanceId is required: the account has no instance without a "
                        "namespace in region %s",
                        r->region_id);
    return 0;
}

const char *api_phys_name(struct api_req *r, const struct api_instance *in, const char *name)
{
    size_t n = strlen(in->id) + 1 + strlen(name) + 1;
    char *s = in->independent_naming ? arena_alloc(&r->arena, n) : arena_strdup(&r->arena, name);
    if (!s) {
        api_fail(r, API_ONS_SYSTEM_ERROR, "out of memory");
        return NULL;
    }
    if (in->independent_naming)
        snprintf(s, n, "%s%%%s", in->id, name);
    return s;
}

const char *api_logical_name(const struct api_instance *in, const char *phys)
{
    size_t n = strlen(in->id);
    if (in->independent_naming && strncmp(phys, in->id, n) == 0 && phys[n] == '%')
        return phys + n + 1;
    return phys;
}

int api_invoke_failed(struct api_req *r, const char *what, const char *err)
{
    log_warn("openapi", "admin call failed op=%s err=\"%s\"", what, err);
    return api_fail(r, API_ONS_INVOKE_ERROR, "%s failed: %s", what, err);
}

void api_write_float(jw_t *w, double d)
{
    char tmp[48];
    int n = 0;
    if (d == (double)(int64_t)d) {
        n = snprintf(tmp, sizeof tmp, "%.1f", d);
    } else {
        for (int prec = 6; prec <= 17; prec++) {
            n = snprintf(tmp, sizeof tmp, "%.*g", prec, d);
            if (strtod(tmp, NULL) == d)
                break;
        }
    }
    jw_raw(w, tern_bytes(tmp, n > 0 ? (size_t)n : 0));
}

void api_data_begin(struct api_req *r, jw_t *w)
{
    buf_reset(&r->data);
    r->has_data = true;
    jw_init(w, &r->data);
}

/* ---- the processing order of §2.7 ------------------------------------------ */

static bool is_form(const char *content_type)
{
    static const char FORM[] = "application/x-www-form-urlencoded";
    return content_type && strncasecmp(content_type, FORM, sizeof FORM - 1) == 0 &&
           (content_type[sizeof FORM - 1] == '\0' || content_type[sizeof FORM - 1] == ';' ||
            content_type[sizeof FORM - 1] == ' ');
}

static int parse_params(struct api_req *r, struct http_params *p, tern_bytes_t query,
                        tern_bytes_t body, const char *content_type)
{
    int rc = http_params_parse(p, query);
    if (rc == TERN_OK && body.len > 0) {
        if (!is_form(content_type))
            return api_fail(r, API_BIZ_FIELD_CHECK_INVALID,
                            "a request body must be application/x-www-form-urlencoded");
        rc = http_params_parse(p, body);
    }
    if (rc == TERN_ENOMEM)
        return api_fail(r, API_ONS_SYSTEM_ERROR, "out of memory");
    if (rc == TERN_EEXISTS)
        return api_fail(r, API_BIZ_FIELD_CHECK_INVALID, "a parameter name appears more than once");
    if (rc == TERN_ETOO_LARGE)
        return api_fail(r, API_BIZ_FIELD_CHECK_INVALID,
                        "too many or too long parameters (at most %d parameters, names of %d "
                        "and values of %d bytes)",
                        HTTP_MAX_PARAMS, HTTP_MAX_NAME_BYTES, HTTP_MAX_VALUE_BYTES);
    if (rc != TERN_OK)
        return api_fail(r, API_BIZ_FIELD_CHECK_INVALID,
                        "malformed parameters (bad %%XX escape, NUL or invalid UTF-8)");
    return 0;
}

static int authenticate(struct api_req *r)
{
    const char *ak = param(r, "_accesskey");
    if (!ak || !*ak)
        return api_fail(r, API_ONS_AUTH_FAILED, "parameter _accesskey is missing");
    if (!http_params_get(r->params, "_signature"))
        return api_fail(r, API_ONS_AUTH_FAILED, "parameter _signature is missing");
    char secret[HTTP_MAX_VALUE_BYTES + 1];
    int rc = db_find_key(r->db, ak, &r->caller, secret, sizeof secret);
    if (rc == TERN_ECORRUPT)
        return api_fail(r, API_ONS_SYSTEM_ERROR, "metadata store error");
    if (rc != TERN_OK)
        return api_fail(r, API_ONS_AUTH_FAILED, "the AccessKey is unknown or disabled");
    bool ok = sign_verify(r->params, tern_cstr(secret));
    memset(secret, 0, sizeof secret);
    if (!ok)
        return api_fail(r, API_ONS_AUTH_FAILED,
                        "signature mismatch (sign the decoded values sorted by name; send "
                        "+, / and = as %%2B, %%2F and %%3D)");
    return 0;
}

static int common_params(struct api_req *r, unsigned flags)
{
    const char *pc = param(r, "__preventCache");
    if (!pc)
        pc = param(r, "_preventCache");
    int64_t ts;
    if (!pc || parse_i64(tern_cstr(pc), &ts) != TERN_OK)
        return api_fail(r, API_BIZ_FIELD_CHECK_INVALID,
                        "parameter __preventCache must be present and a decimal Long");
    int64_t skew = r->o->cfg.max_clock_skew_ms;
    if (skew > 0) {
        int64_t d = clock_wall_ms() - ts;
        if (d > skew || d < -skew)
            return api_fail(r, API_ONS_AUTH_FAILED,
                            "__preventCache is %lld ms away from the server clock (at most %lld)",
                            (long long)d, (long long)skew);
    }
    const char *region = param(r, "_regionId");
    r->region_id = region && *region ? region : r->o->cfg.region_id;
    if (flags & EP_NO_REGION)
        return 0;
    sqlite3_stmt *st;
    if (api_prepare(r, "SELECT 1 FROM regions WHERE region_id=?", &st) < 0)
        return -1;
    sqlite3_bind_text(st, 1, r->region_id, -1, SQLITE_TRANSIENT);
    bool known = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    if (!known)
        return api_fail(r, API_BIZ_REGION_NOT_FOUND, "region %s does not exist", r->region_id);
    return 0;
}

/* Steps 3 to 7 of §2.7, on r->db. */
static void run_endpoint(struct api_req *r, const struct endpoint *ep)
{
    if (authenticate(r) < 0 || common_params(r, ep->flags) < 0)
        return;
    if (!ep->fn)
        api_fail(r, API_ONS_SERVICE_UNSUPPORTED, "%s is not served by this version", ep->path);
    else if (ep->fn(r) < 0 && r->err == API_OK)
        api_fail(r, API_ONS_SYSTEM_ERROR, "internal error");
}

static void finish(struct api_req *r, const char *request_id, unsigned status, int code_override,
                   struct api_result *res)
{
    /* A data document cut short by a failed allocation must not be sent. */
    if (r->err == API_OK && r->has_data && buf_failed(&r->data))
        api_fail(r, API_ONS_SYSTEM_ERROR, "out of memory");
    struct api_envelope e = {0};
    e.err = r->err;
    e.code_override = code_override;
    e.dynamic_message = r->msg;
    e.has_data = r->err == API_OK && r->has_data;
    e.data_json = buf_view(&r->data);
    e.current_page = r->current_page;
    e.page_size = r->page_size;
    e.total = r->total;
    e.request_id = request_id;
    res->http_status = status;
    buf_init(&res->body);
    api_envelope_write(&e, &res->body);
}

void api_process(struct openapi *o, const char *method, tern_bytes_t path, tern_bytes_t query,
                 tern_bytes_t body, const char *content_type, struct api_result *res)
{
    char rid[37];
    api_new_request_id(rid);
    struct api_req r;
    memset(&r, 0, sizeof r);
    r.o = o;
    arena_init(&r.arena);
    buf_init(&r.data);
    struct http_params params;
    http_params_init(&params);
    r.params = &params;
    unsigned status = 200;
    int code_override = 0;

    const struct endpoint *ep = route(path);
    if (!ep) {
        status = 404;
        code_override = 404;
        api_fail(&r, API_ONS_SERVICE_UNSUPPORTED, "no endpoint at %.*s",
                 (int)(path.len > 200 ? 200 : path.len), (const char *)path.ptr);
    } else if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0) {
        status = 405;
        code_override = 405;
        api_fail(&r, API_ONS_SERVICE_UNSUPPORTED, "method %s is not allowed: use GET or POST",
                 method);
    } else if (parse_params(&r, &params, query, body, content_type) == 0) {
        sqlite3 *reader = o->readers && read_only(ep) ? db_pool_take(o->readers) : NULL;
        /* One read transaction: one snapshot and one round of file locks for
         * all the request's statements. */
        if (reader && sqlite3_exec(reader, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
            db_pool_put(o->readers, reader);
            reader = NULL;
        }
        if (reader) {
            r.db = reader;
            run_endpoint(&r, ep);
            sqlite3_exec(reader, "COMMIT", NULL, NULL, NULL);
            db_pool_put(o->readers, reader);
        } else {
            pthread_mutex_lock(&o->meta_lock);
            r.db = o->db;
            sqlite3_int64 writes = sqlite3_total_changes64(o->db);
            run_endpoint(&r, ep);
            /* Any database change may change who may do what on the brokers:
             * rebuild and push the access table. */
            if (sqlite3_total_changes64(o->db) != writes)
                acl_push_kick(o->acl_push);
            pthread_mutex_unlock(&o->meta_lock);
        }
    }
    if (r.err != API_OK)
        r.current_page = r.page_size = r.total = 0;
    finish(&r, rid, status, code_override, res);
    log_info("openapi", "request_id=%s path=%s caller=%lld result=%s", rid,
             ep ? ep->path : "(unknown)", (long long)r.caller.user_id,
             r.err == API_OK ? "SUCCESS" : api_err_name(r.err));
    http_params_deinit(&params);
    buf_deinit(&r.data);
    arena_deinit(&r.arena);
}
