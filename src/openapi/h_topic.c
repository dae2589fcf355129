/* SPDX-License-Identifier: Apache-2.0 */
/* h_topic.c: /json/topic/create|delete|get|listInPage|update|listNames (spec
 * §6.4). A change is written in a transaction, applied to the brokers of the
 * instance's cluster through admin.c, and committed only if every broker
 * accepted it, so the database never claims a topic the brokers refused.
 * A grantee (access.h) sees its granted topics with their relation and may
 * change none. */
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/limits.h"
#include "openapi/access.h"
#include "openapi/admin.h"
#include "openapi/api.h"

#define TOPIC_NAME_MAX   255
#define REMARK_MAX_CHARS 1024

/* §4.4: [A-Za-z0-9_-], 1-255 characters, not starting with CID or GID. */
static int check_topic_name(struct api_req *r, const char *t)
{
    for (const char *p = t; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return api_fail(r, API_BIZ_FIELD_CHECK_INVALID,
                            "topic %s may contain only letters, digits, '_' and '-'", t);
    }
    if (strncmp(t, "CID", 3) == 0 || strncmp(t, "GID", 3) == 0)
        return api_fail(r, API_BIZ_FIELD_CHECK_INVALID,
                        "topic %s must not begin with CID or GID (reserved for Group IDs)", t);
    return 0;
}

/* The topic parameter (required) with the naming rules. */
static int topic_param(struct api_req *r, const char **t)
{
    if (api_str(r, "topic", true, 1, TOPIC_NAME_MAX, t) < 0)
        return -1;
    return check_topic_name(r, *t);
}

struct topic_row {
    int64_t owner, create_time;
    int order_type, perm, status;
    char remark[HTTP_MAX_VALUE_BYTES + 1];
};

/* Loads topic of instance. Returns 1 found, 0 absent, -1 error. */
static int load_topic(struct api_req *r, const char *instance_id, const char *topic,
                      struct topic_row *out)
{
    sqlite3_stmt *st;
    if (api_prepare(r,
                    "SELECT owner, order_type, perm, status, remark, create_time FROM topics"
                    " WHERE instance_id=? AND name=?",
                    &st) < 0)
        return -1;
    sqlite3_bind_text(st, 1, instance_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, topic, -1, SQLITE_TRANSIENT);
    int found = sqlite3_step(st) == SQLITE_ROW;
    if (found) {
        out->owner = sqlite3_column_int64(st, 0);
        out->order_type = sqlite3_column_int(st, 1);
        out->perm = sqlite3_column_int(st, 2);
        out->status = sqlite3_column_int(st, 3);
        snprintf(out->remark, sizeof out->remark, "%s", api_col(st, 4));
        out->create_time = sqlite3_column_int64(st, 5);
    }
    sqlite3_finalize(st);
    return found;
}

static int not_found(struct api_req *r, const struct api_instance *in, const char *topic)
{
    return api_fail(r, API_BIZ_TOPIC_NOT_FOUND, "topic %s does not exist in instance %s", topic,
                    in->id);
}

int api_existing_topic(struct api_req *r, const char *topic, struct api_instance *in)
{
    return api_topic_access(r, topic, API_REL_SUB, in, NULL);
}

/* Writes one TopicInfoDo (§7.1). */
static void write_topic(jw_t *w, const struct api_instance *in, const char *name,
                        const struct topic_row *t, int relation)
{
    jw_obj_begin(w);
    jw_key(w, "topic");
    jw_cstr(w, name);
    jw_key(w, "instanceId");
    jw_cstr(w, in->id);
    jw_key(w, "owner");
    char owner[24];
    snprintf(owner, sizeof owner, "%lld", (long long)t->owner);
    jw_cstr(w, owner);
    jw_key(w, "relation");
    jw_i64(w, relation);
    jw_key(w, "orderType");
    jw_i64(w, t->order_type);
    jw_key(w, "perm");
    jw_i64(w, t->perm);
    jw_key(w, "status");
    jw_i64(w, t->status);
    jw_key(w, "independentNaming");
    jw_bool(w, in->independent_naming);
    jw_key(w, "remark");
    jw_cstr(w, t->remark);
    jw_key(w, "createTime");
    jw_i64(w, t->create_time);
    jw_obj_end(w);
}

/* Runs the admin call inside the open transaction: commit on success,
 * rollback and ONS_INVOKE_ERROR otherwise. */
static int commit_after(struct api_req *r, int admin_rc, const char *what, const char *err)
{
    if (admin_rc != TERN_OK) {
        db_rollback(r->o->db);
        return api_invoke_failed(r, what, err);
    }
    if (db_commit(r->o->db) != TERN_OK) {
        db_rollback(r->o->db);
        return api_fail(r, API_ONS_SYSTEM_ERROR, "metadata store error");
    }
    return 0;
}

int h_topic_create(struct api_req *r)
{
    const char *topic, *remark;
    int64_t order_type;
    if (topic_param(r, &topic) < 0 || api_i64(r, "orderType", false, 0, 0, 5, &order_type) < 0 ||
        api_str(r, "remark", false, 0, REMARK_MAX_CHARS, &remark) < 0)
        return -1;
    if (order_type == 3)
        return api_fail(r, API_BIZ_FIELD_CHECK_INVALID,
                        "orderType must be 0, 1, 2, 4 or 5 (3 is not used)");
    if (api_need_privileged(r) < 0)
        return -1;
    struct api_instance in;
    if (api_instance_owned(r, false, &in) < 0)
        return -1;
    const char *phys = api_phys_name(r, &in, topic);
    if (!phys)
        return -1;
    if (strlen(phys) > TERN_MAX_TOPIC_BYTES)
        return api_fail(r, API_BIZ_FIELD_CHECK_INVALID,
                        "topic %s is too long: its name on the brokers (%s) exceeds %d bytes",
                        topic, in.independent_naming ? "instanceId%topic" : "topic",
                        TERN_MAX_TOPIC_BYTES);
    int64_t n =
        api_count(r, "SELECT count(*) FROM topics WHERE instance_id=? AND name=?", in.id, topic);
    if (n < 0)
        return -1;
    if (n > 0)
        return api_fail(r, API_BIZ_TOPIC_EXISTED, "topic %s already exists in instance %s", topic,
                        in.id);
    if (!in.independent_naming) {
        n = api_count(r,
                      "SELECT count(*) FROM topics t JOIN instances i USING(instance_id)"
                      " WHERE t.name=? AND i.independent_naming=0",
                      topic, NULL);
        if (n < 0)
            return -1;
        if (n > 0)
            return api_fail(r, API_BIZ_TOPIC_EXISTED,
                            "topic %s already exists (names of instances without a namespace "
                            "are globally unique)",
                            topic);
    }
    n = api_count(r, "SELECT count(*) FROM topics WHERE instance_id=?", in.id, NULL);
    if (n < 0)
        return -1;
    if (n >= in.topic_capacity)
        return api_fail(r, API_BIZ_FIELD_CHECK_INVALID,
                        "instance %s already holds its capacity of %lld topics", in.id,
                        (long long)in.topic_capacity);
    if (db_begin(r->o->db) != TERN_OK)
        return api_fail(r, API_ONS_SYSTEM_ERROR, "metadata store error");
    sqlite3_stmt *st;
    if (api_prepare(r,
                    "INSERT INTO topics(instance_id, name, owner, order_type, perm, status, remark,"
                    " create_time) VALUES(?,?,?,?,6,0,?,?)",
                    &st) < 0) {
        db_rollback(r->o->db);
        return -1;
    }
    sqlite3_bind_text(st, 1, in.id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, topic, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, r->caller.main_id);
    sqlite3_bind_int64(st, 4, order_type);
    sqlite3_bind_text(st, 5, remark ? remark : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 6, clock_wall_ms());
    if (api_exec(r, st) < 0) {
        db_rollback(r->o->db);
        return -1;
    }
    char err[400];
    int rc = admin_topic_apply(r->o->admin, in.cluster, phys, (int)order_type, 6,
                               r->o->cfg.topic_queue_nums, err, sizeof err);
    return commit_after(r, rc, "creating the topic on the brokers", err);
}

int h_topic_delete(struct api_req *r)
{
    const char *topic;
    if (api_str(r, "topic", true, 1, TOPIC_NAME_MAX, &topic) < 0)
        return -1;
    if (api_need_privileged(r) < 0)
        return -1;
    struct api_instance in;
    if (api_instance_owned(r, false, &in) < 0)
        return -1;
    struct topic_row t;
    int found = load_topic(r, in.id, topic, &t);
    if (found <= 0)
        return found < 0 ? -1 : not_found(r, &in, topic);
    if (db_begin(r->o->db) != TERN_OK)
        return api_fail(r, API_ONS_SYSTEM_ERROR, "metadata store error");
    static const char *const SQL[] = {
        "DELETE FROM empower WHERE instance_id=? AND topic=?",
        "DELETE FROM topics WHERE instance_id=? AND name=?",
    };
    for (size_t i = 0; i < 2; i++) {
        sqlite3_stmt *st;
        if (api_prepare(r, SQL[i], &st) < 0) {
            db_rollback(r->o->db);
            return -1;
        }
        sqlite3_bind_text(st, 1, in.id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, topic, -1, SQLITE_TRANSIENT);
        if (api_exec(r, st) < 0) {
            db_rollback(r->o->db);
            return -1;
        }
    }
    if (api_stats_forget(r, in.cluster, api_phys_name(r, &in, topic), NULL) < 0) {
        db_rollback(r->o->db);
        return -1;
    }
    char err[400];
    const char *phys = api_phys_name(r, &in, topic);
    int rc =
        phys ? admin_topic_delete(r->o->admin, in.cluster, phys, err, sizeof err) : TERN_ENOMEM;
    if (!phys)
        snprintf(err, sizeof err, "out of memory");
    return commit_after(r, rc, "deleting the topic on the brokers", err);
}

int h_topic_get(struct api_req *r)
{
    const char *topic;
    if (api_str(r, "topic", true, 1, TOPIC_NAME_MAX, &topic) < 0)
        return -1;
    struct api_instance in;
    int rel;
    if (api_topic_access(r, topic, 0, &in, &rel) < 0)
        return -1;
    struct topic_row t;
    int found = load_topic(r, in.id, topic, &t);
    if (found <= 0)
        return found < 0 ? -1 : not_found(r, &in, topic);
    jw_t w;
    api_data_begin(r, &w);
    write_topic(&w, &in, topic, &t, rel);
    return 0;
}

/* The topics of instance ?1 whose name contains ?2 and that the caller sees
 * (?3, ?4: api_bind_caller). */
#define VISIBLE_TOPICS                                                \
    " FROM topics t WHERE t.instance_id=?1 AND instr(t.name, ?2) > 0" \
    " AND " API_SQL_TOPIC_RELATION " IS NOT NULL"

static sqlite3_stmt *visible_topics(struct api_req *r, const char *sql, const char *instance_id,
                                    const char *filter)
{
    sqlite3_stmt *st;
    if (api_prepare(r, sql, &st) < 0)
        return NULL;
    sqlite3_bind_text(st, 1, instance_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, filter, -1, SQLITE_TRANSIENT);
    api_bind_caller(r, st);
    return st;
}

int h_topic_list_in_page(struct api_req *r)
{
    const char *filter;
    int64_t page, size;
    if (api_str(r, "topic", false, 0, TOPIC_NAME_MAX, &filter) < 0 ||
        api_i64(r, "currentPage", false, 1, 1, INT32_MAX, &page) < 0 ||
        api_i64(r, "pageSize", false, 20, 1, INT32_MAX, &size) < 0)
        return -1;
    struct api_instance in;
    if (api_instance_seen(r, false, &in) < 0)
        return -1;
    const char *f = filter ? filter : "";
    sqlite3_stmt *st = visible_topics(r, "SELECT count(*)" VISIBLE_TOPICS, in.id, f);
    if (!st)
        return -1;
    int64_t total = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    if (total < 0)
        return api_fail(r, API_ONS_SYSTEM_ERROR, "metadata store error");
    st = visible_topics(r,
                        "SELECT t.name, t.owner, t.order_type, t.perm, t.status, t.remark,"
                        " t.create_time, " API_SQL_TOPIC_RELATION VISIBLE_TOPICS
                        " ORDER BY t.create_time, t.name LIMIT ?5 OFFSET ?6",
                        in.id, f);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 5, size);
    sqlite3_bind_int64(st, 6, (page - 1) * size);
    jw_t w;
    api_data_begin(r, &w);
    jw_arr_begin(&w);
    while (sqlite3_step(st) == SQLITE_ROW) {
        struct topic_row t;
        t.owner = sqlite3_column_int64(st, 1);
        t.order_type = sqlite3_column_int(st, 2);
        t.perm = sqlite3_column_int(st, 3);
        t.status = sqlite3_column_int(st, 4);
        snprintf(t.remark, sizeof t.remark, "%s", api_col(st, 5));
        t.create_time = sqlite3_column_int64(st, 6);
        write_topic(&w, &in, api_col(st, 0), &t, sqlite3_column_int(st, 7));
    }
    jw_arr_end(&w);
    sqlite3_finalize(st);
    r->current_page = page;
    r->page_size = size;
    r->total = total;
    return 0;
}

int h_topic_update(struct api_req *r)
{
    const char *topic;
    int64_t perm;
    if (api_str(r, "topic", true, 1, TOPIC_NAME_MAX, &topic) < 0 ||
        api_i64(r, "perm", true, 0, 0, 6, &perm) < 0)
        return -1;
    if (perm != 2 && perm != 4 && perm != 6)
        return api_fail(r, API_BIZ_FIELD_CHECK_INVALID,
                        "perm must be 6 (read and write), 4 (read only) or 2 (write only)");
    if (api_need_privileged(r) < 0)
        return -1;
    struct api_instance in;
    if (api_instance_owned(r, false, &in) < 0)
        return -1;
    struct topic_row t;
    int found = load_topic(r, in.id, topic, &t);
    if (found <= 0)
        return found < 0 ? -1 : not_found(r, &in, topic);
    if (db_begin(r->o->db) != TERN_OK)
        return api_fail(r, API_ONS_SYSTEM_ERROR, "metadata store error");
    sqlite3_stmt *st;
    if (api_prepare(r, "UPDATE topics SET perm=? WHERE instance_id=? AND name=?", &st) < 0) {
        db_rollback(r->o->db);
        return -1;
    }
    sqlite3_bind_int64(st, 1, perm);
    sqlite3_bind_text(st, 2, in.id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, topic, -1, SQLITE_TRANSIENT);
    if (api_exec(r, st) < 0) {
        db_rollback(r->o->db);
        return -1;
    }
    char err[400];
    const char *phys = api_phys_name(r, &in, topic);
    int rc = phys ? admin_topic_apply(r->o->admin, in.cluster, phys, t.order_type, (int)perm,
                                      r->o->cfg.topic_queue_nums, err, sizeof err)
                  : TERN_ENOMEM;
    if (!phys)
        snprintf(err, sizeof err, "out of memory");
    return commit_after(r, rc, "changing the topic's permission on the brokers", err);
}

int h_topic_list_names(struct api_req *r)
{
    struct api_instance in;
    if (api_instance_seen(r, false, &in) < 0)
        return -1;
    sqlite3_stmt *st =
        visible_topics(r, "SELECT t.name" VISIBLE_TOPICS " ORDER BY t.name", in.id, "");
    if (!st)
        return -1;
    jw_t w;
    api_data_begin(r, &w);
    jw_arr_begin(&w);
    while (sqlite3_step(st) == SQLITE_ROW)
        jw_cstr(&w, api_col(st, 0));
    jw_arr_end(&w);
    sqlite3_finalize(st);
    return 0;
}
