/* SPDX-License-Identifier: Apache-2.0 */
/* access.c: instance and topic visibility by ownership and by grants, and
 * Group ID use rights (see access.h). */
#include "openapi/access.h"

#include <string.h>

#include "common/error.h"

void api_bind_caller(struct api_req *r, sqlite3_stmt *st)
{
    sqlite3_bind_int64(st, 3, r->caller.main_id);
    sqlite3_bind_int64(st, 4, r->caller.user_id);
}

bool api_owner_side(const struct api_req *r, const struct api_instance *in)
{
    return in->owner == r->caller.main_id;
}

/* Does the caller (or its main account) hold a grant in the instance?
 * 1 yes, 0 no, -1 error. */
static int holds_grant_in(struct api_req *r, const char *instance_id)
{
    sqlite3_stmt *st;
    if (api_prepare(r,
                    "SELECT 1 FROM empower WHERE instance_id=?1 AND empower_user IN (?3, ?4)"
                    " LIMIT 1",
                    &st) < 0)
        return -1;
    sqlite3_bind_text(st, 1, instance_id, -1, SQLITE_TRANSIENT);
    api_bind_caller(r, st);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return api_fail(r, API_ONS_SYSTEM_ERROR, "metadata store error");
    return rc == SQLITE_ROW;
}

int api_instance_seen(struct api_req *r, bool required, struct api_instance *out)
{
    const char *id;
    if (api_str(r, "instanceId", required, 1, API_ID_MAX - 1, &id) < 0)
        return -1;
    if (!id)
        return api_instance(r, required, out);
    int rc = api_instance_load(r->db, id, out);
    if (rc == TERN_ECORRUPT)
        return api_fail(r, API_ONS_SYSTEM_ERROR, "metadata store error");
    if (rc == TERN_OK && strcmp(out->region_id, r->region_id) == 0) {
        if (api_owner_side(r, out))
            return 0;
        int held = holds_grant_in(r, id);
        if (held < 0)
            return -1;
        if (held)
            return 0;
    }
    return api_fail(r, API_BIZ_FIELD_CHECK_INVALID, "instance %s does not exist in region %s", id,
                    r->region_id);
}

int api_instance_owned(struct api_req *r, bool required, struct api_instance *out)
{
    if (api_instance_seen(r, required, out) < 0)
        return -1;
    if (api_owner_side(r, out))
        return 0;
    return api_fail(r, API_ONS_PERMISSION_DENIED,
                    "account %lld holds only grants in instance %s; changes are for the accounts "
                    "of its owner %lld",
                    (long long)r->caller.user_id, out->id, (long long)out->owner);
}

int api_topic_relation(struct api_req *r, const char *instance_id, const char *topic)
{
    sqlite3_stmt *st;
    if (api_prepare(r,
                    "SELECT " API_SQL_TOPIC_RELATION " FROM topics t"
                    " WHERE t.instance_id=?1 AND t.name=?2",
                    &st) < 0)
        return -1;
    sqlite3_bind_text(st, 1, instance_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, topic, -1, SQLITE_TRANSIENT);
    api_bind_caller(r, st);
    int rc = sqlite3_step(st);
    int rel = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return api_fail(r, API_ONS_SYSTEM_ERROR, "metadata store error");
    return rel;
}

static const char *relation_name(int rel)
{
    switch (rel) {
    case API_REL_PUB:
        return "publish (2)";
    case API_REL_SUB:
        return "subscribe (4)";
    default:
        return "publish and subscribe (6)";
    }
}

int api_topic_access(struct api_req *r, const char *topic, int need, struct api_instance *in,
                     int *relation)
{
    if (api_instance_seen(r, false, in) < 0)
        return -1;
    int rel = api_topic_relation(r, in->id, topic);
    if (rel < 0)
        return -1;
    if (rel == 0)
        return api_fail(r, API_BIZ_TOPIC_NOT_FOUND, "topic %s does not exist in instance %s", topic,
                        in->id);
    if (rel != API_REL_OWNER && (rel & need) != need)
        return api_fail(r, API_ONS_PERMISSION_DENIED,
                        "account %lld holds a %s grant on topic %s; this call needs %s",
                        (long long)r->caller.user_id, relation_name(rel), topic,
                        relation_name(need));
    if (relation)
        *relation = rel;
    return 0;
}

bool api_group_usable(struct api_req *r, int64_t owner)
{
    if (owner == r->caller.user_id)
        return true;
    struct account creator;
    return r->caller.is_main && db_find_account(r->db, owner, &creator) == TERN_OK &&
           !creator.is_main && creator.main_id == r->caller.user_id;
}

bool api_group_deletable(struct api_req *r, const struct api_instance *in, int64_t owner)
{
    if (api_group_usable(r, owner))
        return true;
    if (!api_owner_side(r, in) || !r->caller.privileged)
        return false;
    struct account creator;
    return db_find_account(r->db, owner, &creator) != TERN_OK || creator.main_id != in->owner;
}
