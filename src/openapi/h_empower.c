/* SPDX-License-Identifier: Apache-2.0 */
/* h_empower.c: /json/empower/create|createBySub|delete|list (spec §6.9,
 * rules in §4.7). Grants are rows of the `empower` table, keyed by
 * (instance, topic, grantee); the read endpoints consult them through
 * access.c. Only the topic's owner side manages grants; creating and
 * deleting them are privileged for sub-accounts (§4.1, decision in
 * docs/design/openapi.md). */
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/error.h"
#include "openapi/access.h"
#include "openapi/api.h"

#define TOPIC_NAME_MAX 255

/* Who may receive a grant: create wants another main account, createBySub
 * one of the caller's main account's sub-accounts. */
enum grantee_kind { GRANTEE_MAIN, GRANTEE_OWN_SUB };

static int relation_param(struct api_req *r, int64_t *rel)
{
    if (api_i64(r, "relation", true, 0, INT32_MIN, INT32_MAX, rel) < 0)
        return -1;
    if (*rel != 2 && *rel != 4 && *rel != 6)
        return api_fail(r, API_BIZ_FIELD_CHECK_INVALID,
                        "relation must be 2 (publish), 4 (subscribe) or 6 (publish and "
                        "subscribe)");
    return 0;
}

/* Resolves the instance and a topic the caller's main account owns:
 * BIZ_TOPIC_NOT_FOUND when absent or not visible, EMPOWER_OWNER_CHECK_ERROR
 * when the caller sees it only as a grantee. */
static int owned_topic(struct api_req *r, const char *topic, struct api_instance *in)
{
    int rel;
    if (api_topic_access(r, topic, 0, in, &rel) < 0)
        return -1;
    if (rel == API_REL_OWNER)
        return 0;
    return api_fail(r, API_EMPOWER_OWNER_CHECK_ERROR,
                    "topic %s of instance %s belongs to account %lld, not to account %lld", topic,
                    in->id, (long long)in->owner, (long long)r->caller.main_id);
}

static int check_grantee(struct api_req *r, int64_t user, enum grantee_kind kind)
{
    struct account a;
    int rc = db_find_account(r->o->db, user, &a);
    if (rc == TERN_ECORRUPT)
        return api_fail(r, API_ONS_SYSTEM_ERROR, "metadata store error");
    if (rc != TERN_OK)
        return api_fail(r, API_BIZ_FIELD_CHECK_INVALID, "empowerUser %lld is not an account",
                        (long long)user);
    if (user == r->caller.user_id || user == r->caller.main_id)
        return api_fail(r, API_BIZ_FIELD_CHECK_INVALID,
                        "empowerUser %lld is the caller or its own main account, which already "
                        "owns the topic",
                        (long long)user);
    if (kind == GRANTEE_MAIN && !a.is_main)
        return api_fail(r, API_BIZ_FIELD_CHECK_INVALID,
                        "empowerUser %lld is a sub-account: /json/empower/create grants to main "
                        "accounts (use createBySub for your own sub-accounts)",
                        (long long)user);
    if (kind == GRANTEE_OWN_SUB && (a.is_main || a.main_id != r->caller.main_id))
        return api_fail(r, API_BIZ_FIELD_CHECK_INVALID,
                        "empowerUser %lld is not a sub-account of account %lld", (long long)user,
                        (long long)r->caller.main_id);
    return 0;
}

static void data_null(struct api_req *r)
{
    jw_t w;
    api_data_begin(r, &w);
    jw_null(&w);
}

static int grant(struct api_req *r, enum grantee_kind kind)
{
    const char *topic;
    int64_t user, rel;
    if (api_i64(r, "empowerUser", true, 0, 1, INT64_MAX, &user) < 0 ||
        api_str(r, "topic", true, 1, TOPIC_NAME_MAX, &topic) < 0 || relation_param(r, &rel) < 0)
        return -1;
    if (api_need_privileged(r) < 0)
        return -1;
    struct api_instance in;
    if (owned_topic(r, topic, &in) < 0 || check_grantee(r, user, kind) < 0)
        return -1;
    sqlite3_stmt *st;
    if (api_prepare(r,
                    "SELECT relation FROM empower WHERE instance_id=? AND topic=?"
                    " AND empower_user=?",
                    &st) < 0)
        return -1;
    sqlite3_bind_text(st, 1, in.id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, topic, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, user);
    bool exists = sqlite3_step(st) == SQLITE_ROW;
    int old = exists ? sqlite3_column_int(st, 0) : 0;
    sqlite3_finalize(st);
    if (exists)
        return api_fail(r, API_EMPOWER_EXIST_ERROR,
                        "account %lld already holds relation %d on topic %s; delete the grant "
                        "to change it",
                        (long long)user, old, topic);
    if (api_prepare(r,
                    "INSERT INTO empower(instance_id, topic, owner, empower_user, relation,"
                    " create_time) VALUES(?,?,?,?,?,?)",
                    &st) < 0)
        return -1;
    sqlite3_bind_text(st, 1, in.id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, topic, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, in.owner);
    sqlite3_bind_int64(st, 4, user);
    sqlite3_bind_int64(st, 5, rel);
    sqlite3_bind_int64(st, 6, clock_wall_ms());
    if (api_exec(r, st) < 0)
        return -1;
    data_null(r);
    return 0;
}

int h_empower_create(struct api_req *r)
{
    return grant(r, GRANTEE_MAIN);
}

int h_empower_create_by_sub(struct api_req *r)
{
    return grant(r, GRANTEE_OWN_SUB);
}

int h_empower_delete(struct api_req *r)
{
    const char *topic;
    int64_t user;
    if (api_i64(r, "empowerUser", true, 0, 1, INT64_MAX, &user) < 0 ||
        api_str(r, "topic", true, 1, TOPIC_NAME_MAX, &topic) < 0)
        return -1;
    if (api_need_privileged(r) < 0)
        return -1;
    struct api_instance in;
    if (owned_topic(r, topic, &in) < 0)
        return -1;
    sqlite3_stmt *st;
    if (api_prepare(r, "DELETE FROM empower WHERE instance_id=? AND topic=? AND empower_user=?",
                    &st) < 0)
        return -1;
    sqlite3_bind_text(st, 1, in.id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, topic, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, user);
    if (api_exec(r, st) < 0)
        return -1;
    if (sqlite3_changes(r->o->db) == 0)
        return api_fail(r, API_BIZ_FIELD_CHECK_INVALID,
                        "account %lld holds no grant on topic %s of instance %s", (long long)user,
                        topic, in.id);
    data_null(r);
    return 0;
}

int h_empower_list(struct api_req *r)
{
    const char *topic;
    int64_t user;
    if (api_i64(r, "empowerUser", false, 0, 1, INT64_MAX, &user) < 0 ||
        api_str(r, "topic", true, 1, TOPIC_NAME_MAX, &topic) < 0)
        return -1;
    struct api_instance in;
    if (owned_topic(r, topic, &in) < 0)
        return -1;
    sqlite3_stmt *st;
    if (api_prepare(r,
                    "SELECT owner, empower_user, relation, create_time FROM empower"
                    " WHERE instance_id=?1 AND topic=?2 AND (?3 = 0 OR empower_user=?3)"
                    " ORDER BY create_time, empower_user",
                    &st) < 0)
        return -1;
    sqlite3_bind_text(st, 1, in.id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, topic, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, user);
    jw_t w;
    api_data_begin(r, &w);
    jw_arr_begin(&w);
    while (sqlite3_step(st) == SQLITE_ROW) {
        jw_obj_begin(&w);
        jw_key(&w, "instanceId");
        jw_cstr(&w, in.id);
        jw_key(&w, "topic");
        jw_cstr(&w, topic);
        jw_key(&w, "owner");
        jw_i64(&w, sqlite3_column_int64(st, 0));
        jw_key(&w, "empowerUser");
        jw_i64(&w, sqlite3_column_int64(st, 1));
        jw_key(&w, "relation");
        jw_i64(&w, sqlite3_column_int(st, 2));
        jw_key(&w, "createTime");
        jw_i64(&w, sqlite3_column_int64(st, 3));
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    sqlite3_finalize(st);
    return 0;
}
