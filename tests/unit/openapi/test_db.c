/* SPDX-License-Identifier: Apache-2.0 */
/* test_db.c: migrations (fresh, reopen, refusal of a newer schema), WAL and
 * synchronous=FULL, and account/key storage. */
#include "harness.h"

#include <unistd.h>

#include "common/error.h"
#include "openapi/db.h"

static void tmp_path(char out[64])
{
    snprintf(out, 64, "/tmp/tern-openapi-db-%d.db", (int)getpid());
    unlink(out);
}

static void cleanup(const char *path)
{
    char side[96];
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
}

TEST(migrates_and_reopens)
{
    char path[64], err[256];
    tmp_path(path);
    sqlite3 *db;
    ASSERT_EQ(db_open(path, &db, err, sizeof err), TERN_OK);
    ASSERT_EQ(db_schema_version(db), db_schema_version_latest());
    sqlite3_stmt *st;
    ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    ASSERT_STR_EQ((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA synchronous", -1, &st, NULL), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    ASSERT_EQ(sqlite3_column_int(st, 0), 2); /* FULL */
    sqlite3_finalize(st);
    ASSERT_EQ(db_put_account(db, 1000, 0, true, "AK1", "SK1", true), TERN_OK);
    db_close(db);
    ASSERT_EQ(db_open(path, &db, err, sizeof err), TERN_OK);
    ASSERT_EQ(db_schema_version(db), db_schema_version_latest());
    ASSERT_EQ(db_count_accounts(db), 1);
    /* A schema from a newer build is refused. */
    ASSERT_EQ(sqlite3_exec(db, "UPDATE schema_version SET version=999", NULL, NULL, NULL),
              SQLITE_OK);
    db_close(db);
    ASSERT_EQ(db_open(path, &db, err, sizeof err), TERN_ECORRUPT);
    ASSERT(strstr(err, "newer") != NULL);
    cleanup(path);
}

TEST(accounts_and_keys)
{
    char path[64], err[256], secret[64];
    tmp_path(path);
    sqlite3 *db;
    ASSERT_EQ(db_open(path, &db, err, sizeof err), TERN_OK);
    ASSERT_EQ(db_put_account(db, 1000, 0, false, "AK1", "SK1", true), TERN_OK);
    ASSERT_EQ(db_put_account(db, 1001, 1000, false, "AK2", "SK2", true), TERN_OK);
    ASSERT_EQ(db_put_account(db, 1002, 1000, true, "AK3", "SK3", false), TERN_OK);
    /* A sub-account's parent must be a main account. */
    ASSERT_EQ(db_put_account(db, 1003, 1001, false, "AK4", "SK4", true), TERN_EINVALID);
    ASSERT_EQ(db_put_account(db, 1004, 4242, false, "AK5", "SK5", true), TERN_EINVALID);
    struct account a;
    ASSERT_EQ(db_find_key(db, "AK1", &a, secret, sizeof secret), TERN_OK);
    ASSERT_STR_EQ(secret, "SK1");
    ASSERT(a.is_main && a.privileged && a.main_id == 1000);
    ASSERT_EQ(db_find_key(db, "AK2", &a, secret, sizeof secret), TERN_OK);
    ASSERT(!a.is_main && !a.privileged && a.main_id == 1000 && a.user_id == 1001);
    ASSERT_EQ(db_find_key(db, "AK3", &a, secret, sizeof secret), TERN_ENOT_FOUND); /* disabled */
    ASSERT_EQ(db_find_key(db, "nope", &a, secret, sizeof secret), TERN_ENOT_FOUND);
    /* Re-provisioning updates the secret. */
    ASSERT_EQ(db_put_account(db, 1000, 0, false, "AK1", "SK1-new", true), TERN_OK);
    ASSERT_EQ(db_find_key(db, "AK1", &a, secret, sizeof secret), TERN_OK);
    ASSERT_STR_EQ(secret, "SK1-new");
    db_close(db);
    cleanup(path);
}

TEST_MAIN()
