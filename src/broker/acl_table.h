/* SPDX-License-Identifier: Apache-2.0 */
/* acl_table.h: the per-resource access rules the console pushes to brokers
 * (docs/design/acl.md "The pushed table").
 *
 * A struct acl_table is one immutable snapshot parsed from the console's
 * JSON (the body of TERN_PUT_ACL_TABLE, also <store>/config/acl.json):
 * accounts (AccessKey -> secret, user id, main account id, admin), topics
 * (physical name -> owner main account, perm, grants) and groups (physical
 * name -> owner, owner's main account, readEnable). Lookups are hash probes
 * and allocate nothing; any number of threads may read one snapshot.
 *
 * struct acl_slot holds the current snapshot for the loop threads: readers
 * take the pointer with one atomic load and never lock; a writer swaps in a
 * new snapshot and keeps the old one for ACL_SLOT_GRACE_MS before freeing it
 * (a reader uses a snapshot for one request check, microseconds). */
#ifndef TERN_BROKER_ACL_TABLE_H
#define TERN_BROKER_ACL_TABLE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/bytes.h"

/* Rights a request needs on a topic (RocketMQ's perm bits). */
#define ACL_RIGHT_PUB 2
#define ACL_RIGHT_SUB 4

/* A retired snapshot is freed no sooner than this after being replaced. */
#define ACL_SLOT_GRACE_MS 10000

struct acl_table;

/* One account of the table (borrowed from its snapshot). */
struct acl_principal {
    tern_bytes_t access_key;
    tern_bytes_t secret;
    int64_t user_id;
    int64_t main_id; /* user_id for a main account, else its parent */
    bool admin;      /* may send admin-only requests; has every right */
};

/* Parses a snapshot. OUT: *out (acl_table_free). TERN_EPROTOCOL with a
 * sentence in err for malformed JSON or a missing/invalid field. */
int acl_table_parse(tern_bytes_t json, struct acl_table **out, char *err, size_t errlen);
/* NULL is a no-op. */
void acl_table_free(struct acl_table *t);
/* The JSON text the snapshot was parsed from (borrowed). */
tern_bytes_t acl_table_text(const struct acl_table *t);
/* Counts, for logs. */
size_t acl_table_accounts(const struct acl_table *t);
size_t acl_table_topics(const struct acl_table *t);
size_t acl_table_groups(const struct acl_table *t);

/* The enabled account of access_key, or NULL. */
const struct acl_principal *acl_table_account(const struct acl_table *t, tern_bytes_t access_key);

/* May p use topic with right (ACL_RIGHT_PUB or ACL_RIGHT_SUB)? Owners (the
 * topic's main account and its sub-accounts) and grantees (the account or
 * its main account holds relation 2/6 for PUB, 4/6 for SUB) may, if the
 * topic's perm has the bit. %RETRY%<g> and %DLQ%<g> follow group g's use
 * rights. On refusal false and a sentence in remark. */
bool acl_table_topic_ok(const struct acl_table *t, const struct acl_principal *p,
                        tern_bytes_t topic, int right, char *remark, size_t remark_len);
/* May p use group (open-api.md §4.5: its creator, and the creator's main
 * account when the creator is a sub-account)? need_read: the group's
 * readEnable must also be true (pulls). On refusal false and a remark. */
bool acl_table_group_ok(const struct acl_table *t, const struct acl_principal *p,
                        tern_bytes_t group, bool need_read, char *remark, size_t remark_len);

/* ---- the current snapshot --------------------------------------------- */

struct acl_slot {
    _Atomic(struct acl_table *) cur; /* owned; NULL until loaded or pushed */
    pthread_mutex_t lock;            /* serialises writers */
    struct acl_table *retired;       /* owned list (newest first), guarded by lock */
    atomic_bool dirty;               /* cur differs from the file on disk */
};

void acl_slot_init(struct acl_slot *s);
/* Frees every snapshot; no reader may run any more. */
void acl_slot_deinit(struct acl_slot *s);
/* The current snapshot or NULL. Any thread, lock-free; valid for
 * ACL_SLOT_GRACE_MS after a swap. */
static inline const struct acl_table *acl_slot_get(struct acl_slot *s)
{
    return atomic_load_explicit(&s->cur, memory_order_acquire);
}
/* Installs t (takes ownership) and marks the slot dirty unless t's text
 * equals the current one (then t is freed and false returned). Any thread. */
bool acl_slot_swap(struct acl_slot *s, struct acl_table *t);
/* Writes the current snapshot to path if dirty (temp + fsync + rename).
 * Blocking: housekeeping or shutdown only. Returns TERN_OK or -errno. */
int acl_slot_persist(struct acl_slot *s, const char *path);
/* Loads path into the slot (startup). TERN_ENOT_FOUND when absent. */
int acl_slot_load(struct acl_slot *s, const char *path, char *err, size_t errlen);

#endif
