/* SPDX-License-Identifier: Apache-2.0 */
/* proc_acl.c: the console's access-control table arriving at the broker
 * (TERN_PUT_ACL_TABLE, admin only) and its loading at start
 * (docs/design/acl.md "The pushed table").
 *
 * The body is the whole table as JSON. It is parsed on the loop thread (the
 * console pushes on changes and every 30 s; an unchanged table is dropped
 * after one compare), swapped in for the readers, and written to
 * <storePathRootDir>/config/acl.json by the housekeeping thread, so a broker
 * restarted without the console enforces the last rules it received. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "broker/acl.h"
#include "broker/acl_table.h"
#include "broker/broker_int.h"
#include "common/error.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "protocol/codes.h"

void proc_put_acl_table(void *ctx, struct rreq *req)
{
    struct broker *b = ctx;
    if (!b->cfg.acl_enable) {
        reply(req, RESP_SYSTEM_ERROR, "aclEnable=false on this broker: the table is not used");
        return;
    }
    struct acl_table *t = NULL;
    char err[200];
    int rc = acl_table_parse(req->cmd.body, &t, err, sizeof err);
    if (rc != TERN_OK) {
        reply(req, RESP_SYSTEM_ERROR, "bad access table: %s", err);
        return;
    }
    size_t na = acl_table_accounts(t), nt = acl_table_topics(t), ng = acl_table_groups(t);
    if (acl_slot_swap(&b->acl_table, t)) {
        log_info("broker", "acl table installed accounts=%zu topics=%zu groups=%zu", na, nt, ng);
        broker_persist_soon(b);
    }
    reply(req, RESP_SUCCESS, NULL);
}

int broker_acl_start(struct broker *b)
{
    if (!b->cfg.acl_enable)
        return TERN_OK;
    char err[256];
    bool file = b->cfg.acl_file && *b->cfg.acl_file;
    bool admin = b->cfg.acl_admin_ak && *b->cfg.acl_admin_ak;
    if (file || admin) {
        int rc = acl_load_with_admin(b->cfg.acl_file, b->cfg.acl_admin_ak, b->cfg.acl_admin_sk,
                                     &b->acl, err, sizeof err);
        if (rc != TERN_OK) {
            log_error("broker", "acl accounts (aclCredentialsFile/aclAdminAccessKey): %s", err);
            return TERN_ECONFIG;
        }
    }
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/config/acl.json", b->cfg.store_root);
    b->acl_table_path = xstrdup(path);
    int rc = acl_slot_load(&b->acl_table, path, err, sizeof err);
    if (rc != TERN_OK && rc != TERN_ENOT_FOUND) {
        log_error("broker", "acl table %s: %s", path, err);
        return TERN_ECORRUPT;
    }
    const struct acl_table *t = acl_slot_get(&b->acl_table);
    if (!b->acl && !t) {
        log_error("broker", "aclEnable=true needs aclCredentialsFile or aclAdminAccessKey "
                            "(until the console has pushed a table)");
        return TERN_ECONFIG;
    }
    log_info("broker", "acl enabled static accounts=%zu table accounts=%zu topics=%zu groups=%zu",
             b->acl ? acl_count(b->acl) : 0, t ? acl_table_accounts(t) : 0,
             t ? acl_table_topics(t) : 0, t ? acl_table_groups(t) : 0);
    return TERN_OK;
}
