/* SPDX-License-Identifier: Apache-2.0 */
/* h_group.c: /json/group/create|delete|list|consumerUpdate (spec §6.5).
 * Use rights (§4.5): a Group ID created by a sub-account may be used by it
 * and its main account; one created by a main account only by that main
 * account. Changes reach the brokers as in h_topic.c (transaction, admin
 * call, commit). A grantee of a topic creates and uses its own Group IDs in
 * the instance holding the topic (§4.7, access.h). */
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/limits.h"
#include "openapi/access.h"
#include "openapi/admin.h"
#include "openapi/api.h"

#define GROUP_NAME_MIN   5
#define GROUP_NAME_MAX   64
#define REMARK_MAX_CHARS 1024

static int check_new_group(struct api_req *r, const char *g)
{
    if (strncmp(g, "GID_", 4) != 0 && strncmp(g, "GID-", 4) != 0)
        return api_fail(r, API_BIZ_FIELD_CHECK_INVALID, "groupId %s must start with GID_ or GID-",
                        g);
    for (const char *p = g; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return api_fail(r, API_BIZ_FIELD_CHECK_INVALID,
                            "groupId %s may contain only letters, digits, '_' and '-'", g);
    }
    return 0;
}

struct group_row {
    int64_t owner;
    bool read_enable;
};

/* Returns 1 found, 0 absent, -1 error. */
static int load_group(struct api_req *r, const char *instance_id, const char *g,
                      struct group_row *out)
{
    sqlite3_stmt *st;
    if (api_prepare(r, "SELECT owner, read_enable FROM group_ids WHERE instance_id=? AND name=?",
                    &st) < 0)
        return -1;
    sqlite3_bind_text(st, 1, instance_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, g, -1, SQLITE_TRANSIENT);
    int found = sqlite3_step(st) == SQLITE_ROW;
    if (found) {
        out->owner = sqlite3_column_int64(st, 0);
        out->read_enable = sqlite3_column_int(st, 1) != 0;
    }
    sqlite3_finalize(st);
    return found;
}

/* Resolves instance and group for delete/consumerUpdate: exists (else
 * BIZ_SUBSCRIPTION_NOT_FOUND) and usable, or deletable when deleting (else
 * ONS_PERMISSION_DENIED). */
static int existing_group(struct api_req *r, const char *g, bool deleting, struct api_instance *in,
                          struct group_row *row)
{
    if (api_instance_seen(r, false, in) < 0)
        return -1;
    int found = load_group(r, in->id, g, row);
    if (found < 0)
        return -1;
    if (!found)
        return api_fail(r, API_BIZ_SUBSCRIPTION_NOT_FOUND, "Group ID %s does not exist in %s", g,
                        in->id);
    if (deleting ? !api_group_deletable(r, in, row->owner) : !api_group_usable(r, row->owner))
        return api_fail(r, API_ONS_PERMISSION_DENIED,
                        "Group ID %s was created by account %lld; account %lld may not use it", g,
                        (long long)row->owner, (long long)r->caller.user_id);
    return 0;
}

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

/* Runs one statement binding (text a, text b[, int c]) inside the open
 * transaction; rolls back on error. */
static int tx_exec(struct api_req *r, const char *sql, const char *a, const char *b, int64_t c,
                   bool bind_c)
{
    sqlite3_stmt *st;
    if (api_prepare(r, sql, &st) < 0) {
        db_rollback(r->o->db);
        return -1;
    }
    int i = 1;
    if (bind_c)
        sqlite3_bind_int64(st, i++, c);
    sqlite3_bind_text(st, i++, a, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, i, b, -1, SQLITE_TRANSIENT);
    if (api_exec(r, st) < 0) {
        db_rollback(r->o->db);
        return -1;
    }
    return 0;
}

/* A clash by name: the caller's own record or another account's (§4.6). */
static int clash(struct api_req *r, const char *g, int64_t owner)
{
    if (owner == r->caller.user_id)
        return api_fail(r, API_BIZ_SUBSCRIPTION_EXISTED, "Group ID %s already exists", g);
    return api_fail(r, API_BIZ_CONSUMER_ID_BELONG_TO_OTHER_USER,
                    "Group ID %s is already used by another account", g);
}

int api_existing_group(struct api_req *r, const char *g, struct api_instance *in)
{
    struct group_row row;
    return existing_group(r, g, false, in, &row);
}

int h_group_create(struct api_req *r)
{
    const char *g, *remark;
    if (api_str(r, "groupId", true, GROUP_NAME_MIN, GROUP_NAME_MAX, &g) < 0 ||
        check_new_group(r, g) < 0 || api_str(r, "remark", false, 0, REMARK_MAX_CHARS, &remark) < 0)
        return -1;
    struct api_instance in;
    if (api_instance_seen(r, false, &in) < 0)
        return -1;
    const char *phys = api_phys_name(r, &in, g);
    if (!phys)
        return -1;
    if (strlen(phys) > TERN_MAX_GROUP_BYTES)
        return api_fail(r, API_BIZ_FIELD_CHECK_INVALID,
                        "groupId %s is too long: instanceId%%groupId exceeds %d bytes", g,
                        TERN_MAX_GROUP_BYTES);
    struct group_row row;
    int found = load_group(r, in.id, g, &row);
    if (found < 0)
        return -1;
    if (found)
        return clash(r, g, row.owner);
    if (!in.independent_naming) {
        sqlite3_stmt *st;
        if (api_prepare(r,
                        "SELECT g.owner FROM group_ids g JOIN instances i USING(instance_id)"
                        " WHERE g.name=? AND i.independent_naming=0",
                        &st) < 0)
            return -1;
        sqlite3_bind_text(st, 1, g, -1, SQLITE_TRANSIENT);
        bool hit = sqlite3_step(st) == SQLITE_ROW;
        int64_t owner = hit ? sqlite3_column_int64(st, 0) : 0;
        sqlite3_finalize(st);
        if (hit)
            return clash(r, g, owner);
    }
    if (db_begin(r->o->db) != TERN_OK)
        return api_fail(r, API_ONS_SYSTEM_ERROR, "metadata store error");
    sqlite3_stmt *st;
    if (api_prepare(r,
                    "INSERT INTO group_ids(instance_id, name, owner, read_enable, remark,"
                    " create_time) VALUES(?,?,?,1,?,?)",
                    &st) < 0) {
        db_rollback(r->o->db);
        return -1;
    }
    sqlite3_bind_text(st, 1, in.id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, g, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, r->caller.user_id);
    sqlite3_bind_text(st, 4, remark ? remark : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 5, clock_wall_ms());
    if (api_exec(r, st) < 0) {
        db_rollback(r->o->db);
        return -1;
    }
    char err[400];
    int rc = admin_group_apply(r->o->admin, in.cluster, phys, true, err, sizeof err);
    if (commit_after(r, rc, "creating the group on the brokers", err) < 0)
        return -1;
    jw_t w;
    api_data_begin(r, &w);
    jw_obj_begin(&w);
    jw_key(&w, "groupId");
    jw_cstr(&w, g);
    jw_key(&w, "instanceId");
    jw_cstr(&w, in.id);
    jw_key(&w, "remark");
    jw_cstr(&w, remark ? remark : "");
    jw_obj_end(&w);
    return 0;
}

int h_group_delete(struct api_req *r)
{
    const char *g;
    if (api_str(r, "groupId", true, 1, 255, &g) < 0)
        return -1;
    struct api_instance in;
    struct group_row row;
    if (existing_group(r, g, true, &in, &row) < 0)
        return -1;
    const char *phys = api_phys_name(r, &in, g);
    if (!phys)
        return -1;
    if (db_begin(r->o->db) != TERN_OK)
        return api_fail(r, API_ONS_SYSTEM_ERROR, "metadata store error");
    if (tx_exec(r, "DELETE FROM group_ids WHERE instance_id=? AND name=?", in.id, g, 0, false) < 0)
        return -1;
    if (api_stats_forget(r, in.cluster, NULL, api_phys_name(r, &in, g)) < 0) {
        db_rollback(r->o->db);
        return -1;
    }
    char err[400];
    int rc = admin_group_delete(r->o->admin, in.cluster, phys, err, sizeof err);
    return commit_after(r, rc, "deleting the group on the brokers", err);
}

int h_group_consumer_update(struct api_req *r)
{
    const char *g;
    bool read_enable;
    if (api_str(r, "groupId", true, 1, 255, &g) < 0 ||
        api_bool(r, "readEnable", true, true, &read_enable) < 0)
        return -1;
    struct api_instance in;
    struct group_row row;
    if (existing_group(r, g, false, &in, &row) < 0)
        return -1;
    const char *phys = api_phys_name(r, &in, g);
    if (!phys)
        return -1;
    if (db_begin(r->o->db) != TERN_OK)
        return api_fail(r, API_ONS_SYSTEM_ERROR, "metadata store error");
    if (tx_exec(r, "UPDATE group_ids SET read_enable=? WHERE instance_id=? AND name=?", in.id, g,
                read_enable, true) < 0)
        return -1;
    char err[400];
    int rc = admin_group_apply(r->o->admin, in.cluster, phys, read_enable, err, sizeof err);
    return commit_after(r, rc, "changing the group's read switch on the brokers", err);
}

int h_group_list(struct api_req *r)
{
    const char *filter;
    if (api_str(r, "groupId", false, 1, 255, &filter) < 0)
        return -1;
    struct api_instance in;
    if (api_instance_seen(r, false, &in) < 0)
        return -1;
    /* A sub-account sees the groups it created; a main account its own and
     * its sub-accounts' (§4.5). */
    sqlite3_stmt *st;
    if (api_prepare(r,
                    "SELECT g.name, g.owner, g.remark FROM group_ids g"
                    " LEFT JOIN accounts a ON a.user_id=g.owner"
                    " WHERE g.instance_id=?1 AND (g.owner=?2 OR (?3 AND a.parent_id=?2))"
                    " AND (?4 IS NULL OR g.name=?4)"
                    " ORDER BY g.name",
                    &st) < 0)
        return -1;
    sqlite3_bind_text(st, 1, in.id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, r->caller.user_id);
    sqlite3_bind_int(st, 3, r->caller.is_main);
    if (filter)
        sqlite3_bind_text(st, 4, filter, -1, SQLITE_TRANSIENT);
    jw_t w;
    api_data_begin(r, &w);
    jw_arr_begin(&w);
    while (sqlite3_step(st) == SQLITE_ROW) {
        jw_obj_begin(&w);
        jw_key(&w, "owner");
        jw_cstr(&w, api_col(st, 1));
        jw_key(&w, "instanceId");
        jw_cstr(&w, in.id);
        jw_key(&w, "groupId");
        jw_cstr(&w, api_col(st, 0));
        jw_key(&w, "independentNaming");
        jw_bool(&w, in.independent_naming);
        jw_key(&w, "remark");
        jw_cstr(&w, api_col(st, 2));
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    sqlite3_finalize(st);
    return 0;
}
