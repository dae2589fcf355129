/* SPDX-License-Identifier: Apache-2.0 */
/* db.h: the console's metadata database (SQLite; schema in
 * docs/design/openapi.md#schema).
 *
 * db_open() applies every pending migration, each in its own transaction,
 * and records it in schema_version; the file runs in WAL mode with
 * synchronous=FULL so a committed change survives a crash. The connection is
 * used by one thread at a time: the caller serialises (struct openapi holds
 * meta_lock around every request). */
#ifndef TERN_OPENAPI_DB_H
#define TERN_OPENAPI_DB_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Number of migrations this build knows (the schema version it creates). */
int db_schema_version_latest(void);

/* Opens (creating if needed) and migrates the database at path. A database
 * written by a newer build (higher version) is refused. Errors: TERN_ECORRUPT
 * with err filled. OUT: *out, owned by the caller (db_close). */
int db_open(const char *path, sqlite3 **out, char *err, size_t errlen);
void db_close(sqlite3 *db);
/* The schema version recorded in the database, or -1. */
int db_schema_version(sqlite3 *db);

/* An account as the request handlers see it. */
struct account {
    int64_t user_id;
    int64_t main_id; /* user_id for a main account, its parent for a sub-account */
    bool is_main;
    bool privileged; /* sub-account granted the privileged operations (§4.1) */
};

/* Upserts one account and one key pair (reconciled at every start: the
 * configuration is the source of truth for accounts). TERN_EINVALID when a
 * sub-account's parent is not a main account. */
int db_put_account(sqlite3 *db, int64_t user_id, int64_t parent_id, bool privileged,
                   const char *access_key, const char *secret_key, bool enabled);
/* Looks up an enabled key. OUT: *acct and the secret (NUL-terminated, at most
 * secret_len - 1 bytes). TERN_ENOT_FOUND for an unknown or disabled key. */
int db_find_key(sqlite3 *db, const char *access_key, struct account *acct, char *secret,
                size_t secret_len);
/* Looks up an account by user id. TERN_ENOT_FOUND when absent. */
int db_find_account(sqlite3 *db, int64_t user_id, struct account *out);
/* Number of accounts. */
int64_t db_count_accounts(sqlite3 *db);

/* Upserts the region (id and display name). */
int db_put_region(sqlite3 *db, const char *region_id, const char *region_name);

/* Runs BEGIN IMMEDIATE / COMMIT / ROLLBACK. */
int db_begin(sqlite3 *db);
int db_commit(sqlite3 *db);
void db_rollback(sqlite3 *db);

#endif
