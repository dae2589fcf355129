/* SPDX-License-Identifier: Apache-2.0 */
/* acl_push.h: the console sends its access-control table to every master
 * broker (docs/design/acl.md "The pushed table").
 *
 * The table is built from the metadata database (accounts and access keys,
 * topics with their owners, perms and empower grants, Group IDs with their
 * owners and readEnable), plus the console's broker admin account
 * (aclAdminAccessKey), as one JSON document, and sent with
 * TERN_PUT_ACL_TABLE (10001), signed by that admin account.
 *
 * One thread: it rebuilds and pushes to every master of every cluster the
 * name servers know when kicked (after a request changed the database) and
 * every openApiAclPushIntervalMs; between those it looks for masters that
 * have not received the current table (a broker that just registered) every
 * ACL_PUSH_TICK_MS. It holds meta_lock only while reading the database,
 * never while waiting on a broker. */
#ifndef TERN_OPENAPI_ACL_PUSH_H
#define TERN_OPENAPI_ACL_PUSH_H

#include <sqlite3.h>

#include "common/buf.h"

/* How often the thread looks for masters that lack the current table. */
#define ACL_PUSH_TICK_MS 1000

struct openapi;
struct acl_push;

/* Starts the thread when o's config names aclAdminAccessKey; otherwise
 * *out = NULL (nothing is pushed). Errors: -errno (thread). */
int acl_push_start(struct openapi *o, struct acl_push **out);
/* Asks for a rebuild and push soon. Any thread; NULL is a no-op. */
void acl_push_kick(struct acl_push *p);
/* Stops and joins the thread. NULL is a no-op. */
void acl_push_stop(struct acl_push *p);

/* Appends the table JSON built from db to out; admin_ak/admin_sk (may be
 * NULL) are added as the admin account. The caller serialises db access
 * (meta_lock). Returns TERN_OK or TERN_ECORRUPT (sqlite). */
int acl_push_build(sqlite3 *db, const char *admin_ak, const char *admin_sk, buf_t *out);

#endif
