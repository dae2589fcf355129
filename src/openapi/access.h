/* SPDX-License-Identifier: Apache-2.0 */
/* access.h: who may see and use what across accounts (spec/open-api.md
 * §4.1, §4.5, §4.7; the rules table is in docs/design/openapi.md#access).
 *
 * Owner side: the main account owning an instance (and its topics) and that
 * account's sub-accounts. Grantee: an account holding an `empower` row on a
 * topic, or a sub-account whose main account holds one (sdk.md §13.13). A
 * grantee sees the instance holding the topic and the granted topics only;
 * everything it may not see answers as absent (§4.6: no information leak),
 * and what it sees but may not do answers ONS_PERMISSION_DENIED.
 * Called under meta_lock by the handlers; each failing helper sets r->err
 * and returns -1, as in api.h. */
#ifndef TERN_OPENAPI_ACCESS_H
#define TERN_OPENAPI_ACCESS_H

#include <stdbool.h>
#include <stdint.h>

#include "openapi/api.h"

/* Relation bits (§4.7, §7.1): the owner side is reported as 1. */
#define API_REL_OWNER 1
#define API_REL_PUB   2
#define API_REL_SUB   4

/* SQL expression: the caller's relation to the topic row aliased t, NULL when
 * it has none. Binds ?3 = the caller's main account, ?4 = the caller. Grants
 * to both are merged (2 | 4 = 6). */
#define API_SQL_TOPIC_RELATION                                                            \
    "(CASE WHEN t.owner=?3 THEN 1 ELSE (SELECT max(e.relation & 2) | max(e.relation & 4)" \
    " FROM empower e WHERE e.instance_id=t.instance_id AND e.topic=t.name"                \
    " AND e.empower_user IN (?3, ?4)) END)"

/* Binds ?3 and ?4 of API_SQL_TOPIC_RELATION for the caller. */
void api_bind_caller(struct api_req *r, sqlite3_stmt *st);

/* True when the caller is on the owner side of the instance. */
bool api_owner_side(const struct api_req *r, const struct api_instance *in);

/* Like api_instance() (the "Cond." rule of §4.3), but an instanceId of
 * another main account is accepted when the caller holds a grant on a topic
 * in it. */
int api_instance_seen(struct api_req *r, bool required, struct api_instance *out);

/* For changes: api_instance_seen(), then ONS_PERMISSION_DENIED when the
 * caller sees the instance only as a grantee. */
int api_instance_owned(struct api_req *r, bool required, struct api_instance *out);

/* The caller's relation to topic of instance_id (API_REL_* bits, 1 for the
 * owner side); 0 when the topic is absent or not visible; -1 on error. */
int api_topic_relation(struct api_req *r, const char *instance_id, const char *topic);

/* Resolves the instance (seen) and a topic in it whose relation covers
 * need (0: any, API_REL_PUB, API_REL_SUB; the owner side covers all).
 * BIZ_TOPIC_NOT_FOUND when absent or not visible, ONS_PERMISSION_DENIED when
 * the grant does not cover need. OUT: *relation when not NULL. */
int api_topic_access(struct api_req *r, const char *topic, int need, struct api_instance *in,
                     int *relation);

/* May the caller use a Group ID created by owner (§4.5)? Its creator, and
 * the creator's main account for a group created by a sub-account. */
bool api_group_usable(struct api_req *r, int64_t owner);

/* May the caller delete a Group ID created by owner in instance in? Those it
 * may use and, for the privileged accounts of the instance's owner, those a
 * grantee created there (else the owner could never empty the instance). */
bool api_group_deletable(struct api_req *r, const struct api_instance *in, int64_t owner);

#endif
