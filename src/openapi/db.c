/* SPDX-License-Identifier: Apache-2.0 */
/* db.c: schema migrations and account storage (see db.h). Migrations are
 * append-only: a released entry of MIGRATIONS[] is never edited. */
#include "openapi/db.h"

#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/error.h"

static const char *const MIGRATIONS[] = {
    /* 1: the first schema. */
    "CREATE TABLE regions(id INTEGER PRIMARY KEY, region_id TEXT NOT NULL UNIQUE,"
    " region_name TEXT NOT NULL);"
    "CREATE TABLE clusters(id INTEGER PRIMARY KEY, region_id TEXT NOT NULL, name TEXT NOT NULL,"
    " create_time INTEGER NOT NULL, modify_time INTEGER NOT NULL, UNIQUE(region_id, name));"
    "CREATE TABLE accounts(user_id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL DEFAULT 0,"
    " privileged INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE access_keys(access_key TEXT PRIMARY KEY, secret_key TEXT NOT NULL,"
    " user_id INTEGER NOT NULL REFERENCES accounts(user_id), enabled INTEGER NOT NULL DEFAULT 1);"
    "CREATE TABLE instances(id INTEGER PRIMARY KEY, instance_id TEXT NOT NULL UNIQUE,"
    " region_id TEXT NOT NULL, name TEXT NOT NULL, owner INTEGER NOT NULL, cluster TEXT NOT NULL,"
    " independent_naming INTEGER NOT NULL, remark TEXT NOT NULL DEFAULT '',"
    " max_send_tps INTEGER NOT NULL, max_receive_tps INTEGER NOT NULL,"
    " topic_capacity INTEGER NOT NULL, create_time INTEGER NOT NULL, UNIQUE(region_id, name));"
    "CREATE TABLE topics(id INTEGER PRIMARY KEY,"
    " instance_id TEXT NOT NULL REFERENCES instances(instance_id), name TEXT NOT NULL,"
    " owner INTEGER NOT NULL, order_type INTEGER NOT NULL CHECK(order_type IN (0,1,2,4,5)),"
    " perm INTEGER NOT NULL DEFAULT 6 CHECK(perm IN (2,4,6)), status INTEGER NOT NULL DEFAULT 0,"
    " remark TEXT NOT NULL DEFAULT '', create_time INTEGER NOT NULL, UNIQUE(instance_id, name));"
    "CREATE INDEX topics_name ON topics(name);"
    "CREATE TABLE group_ids(id INTEGER PRIMARY KEY,"
    " instance_id TEXT NOT NULL REFERENCES instances(instance_id), name TEXT NOT NULL,"
    " owner INTEGER NOT NULL, read_enable INTEGER NOT NULL DEFAULT 1,"
    " remark TEXT NOT NULL DEFAULT '', create_time INTEGER NOT NULL, UNIQUE(instance_id, name));"
    "CREATE INDEX group_ids_name ON group_ids(name);"
    "CREATE TABLE empower(id INTEGER PRIMARY KEY,"
    " instance_id TEXT NOT NULL REFERENCES instances(instance_id), topic TEXT NOT NULL,"
    " owner INTEGER NOT NULL, empower_user INTEGER NOT NULL,"
    " relation INTEGER NOT NULL CHECK(relation IN (2,4,6)), create_time INTEGER NOT NULL,"
    " UNIQUE(instance_id, topic, empower_user));",
    /* 2: the VPC tunnel each cluster was last switched to (tunnelSwitch). */
    "CREATE TABLE cluster_tunnels(region_id TEXT NOT NULL, cluster TEXT NOT NULL,"
    " tunnel_type TEXT NOT NULL, vswitch_id TEXT NOT NULL DEFAULT '',"
    " slb_url TEXT NOT NULL DEFAULT '', namesrv_addr TEXT NOT NULL,"
    " modify_time INTEGER NOT NULL, PRIMARY KEY(region_id, cluster));",
    /* 3: per-minute statistics fetched from the brokers (stats_poll.c). kind 0 =
     * messages stored in topic, 1 = messages of topic delivered to grp. */
    "CREATE TABLE stats_minute(kind INTEGER NOT NULL, cluster TEXT NOT NULL,"
    " topic TEXT NOT NULL, grp TEXT NOT NULL DEFAULT '', minute INTEGER NOT NULL,"
    " broker TEXT NOT NULL, count INTEGER NOT NULL,"
    " PRIMARY KEY(kind, cluster, topic, grp, minute, broker)) WITHOUT ROWID;"
    "CREATE INDEX stats_minute_age ON stats_minute(minute);",
};

#define NMIGRATIONS ((int)(sizeof MIGRATIONS / sizeof MIGRATIONS[0]))

int db_schema_version_latest(void)
{
    return NMIGRATIONS;
}

static int exec(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK)
        return TERN_OK;
    if (err)
        snprintf(err, errlen, "sqlite: %s", msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    return TERN_ECORRUPT;
}

int db_begin(sqlite3 *db)
{
    return exec(db, "BEGIN IMMEDIATE", NULL, 0);
}

int db_commit(sqlite3 *db)
{
    return exec(db, "COMMIT", NULL, 0);
}

void db_rollback(sqlite3 *db)
{
    if (!sqlite3_get_autocommit(db))
        (void)exec(db, "ROLLBACK", NULL, 0);
}

int db_schema_version(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    int v = -1;
    if (sqlite3_prepare_v2(db, "SELECT version FROM schema_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

static int migrate(sqlite3 *db, char *err, size_t errlen)
{
    int rc = exec(db,
                  "CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL);"
                  "INSERT INTO schema_version SELECT 0 WHERE NOT EXISTS"
                  " (SELECT 1 FROM schema_version);",
                  err, errlen);
    if (rc != TERN_OK)
        return rc;
    int cur = db_schema_version(db);
    if (cur > NMIGRATIONS) {
        snprintf(err, errlen, "database schema version %d is newer than this build (%d)", cur,
                 NMIGRATIONS);
        return TERN_ECORRUPT;
    }
    for (int v = cur + 1; v <= NMIGRATIONS; v++) {
        char bump[64];
        snprintf(bump, sizeof bump, "UPDATE schema_version SET version=%d", v);
        if ((rc = exec(db, "BEGIN IMMEDIATE", err, errlen)) != TERN_OK)
            return rc;
        if ((rc = exec(db, MIGRATIONS[v - 1], err, errlen)) != TERN_OK ||
            (rc = exec(db, bump, err, errlen)) != TERN_OK ||
            (rc = exec(db, "COMMIT", err, errlen)) != TERN_OK) {
            db_rollback(db);
            return rc;
        }
    }
    return TERN_OK;
}

int db_open(const char *path, sqlite3 **out, char *err, size_t errlen)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot open %s: %s", path, db ? sqlite3_errmsg(db) : "no memory");
        sqlite3_close(db);
        return TERN_ECORRUPT;
    }
    sqlite3_busy_timeout(db, 5000);
    int rc = exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;",
                  err, errlen);
    if (rc == TERN_OK)
        rc = migrate(db, err, errlen);
    if (rc != TERN_OK) {
        sqlite3_close(db);
        return rc;
    }
    *out = db;
    return TERN_OK;
}

void db_close(sqlite3 *db)
{
    sqlite3_close(db);
}

static int step_done(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? TERN_OK : TERN_ECORRUPT;
}

int db_find_account(sqlite3 *db, int64_t user_id, struct account *out)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT parent_id, privileged FROM accounts WHERE user_id=?", -1,
                           &st, NULL) != SQLITE_OK)
        return TERN_ECORRUPT;
    sqlite3_bind_int64(st, 1, user_id);
    int rc = TERN_ENOT_FOUND;
    if (sqlite3_step(st) == SQLITE_ROW) {
        int64_t parent = sqlite3_column_int64(st, 0);
        out->user_id = user_id;
        out->is_main = parent == 0;
        out->main_id = parent == 0 ? user_id : parent;
        out->privileged = out->is_main || sqlite3_column_int(st, 1) != 0;
        rc = TERN_OK;
    }
    sqlite3_finalize(st);
    return rc;
}

int db_put_account(sqlite3 *db, int64_t user_id, int64_t parent_id, bool privileged,
                   const char *access_key, const char *secret_key, bool enabled)
{
    if (parent_id != 0) {
        struct account parent;
        if (parent_id == user_id || db_find_account(db, parent_id, &parent) != TERN_OK ||
            !parent.is_main)
            return TERN_EINVALID;
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO accounts(user_id, parent_id, privileged) VALUES(?,?,?)"
                           " ON CONFLICT(user_id) DO UPDATE SET parent_id=excluded.parent_id,"
                           " privileged=excluded.privileged",
                           -1, &st, NULL) != SQLITE_OK)
        return TERN_ECORRUPT;
    sqlite3_bind_int64(st, 1, user_id);
    sqlite3_bind_int64(st, 2, parent_id);
    sqlite3_bind_int(st, 3, privileged);
    int rc = step_done(st);
    if (rc != TERN_OK)
        return rc;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO access_keys(access_key, secret_key, user_id, enabled)"
                           " VALUES(?,?,?,?) ON CONFLICT(access_key) DO UPDATE SET"
                           " secret_key=excluded.secret_key, user_id=excluded.user_id,"
                           " enabled=excluded.enabled",
                           -1, &st, NULL) != SQLITE_OK)
        return TERN_ECORRUPT;
    sqlite3_bind_text(st, 1, access_key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, secret_key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, user_id);
    sqlite3_bind_int(st, 4, enabled);
    return step_done(st);
}

int db_find_key(sqlite3 *db, const char *access_key, struct account *acct, char *secret,
                size_t secret_len)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT secret_key, user_id FROM access_keys"
                           " WHERE access_key=? AND enabled=1",
                           -1, &st, NULL) != SQLITE_OK)
        return TERN_ECORRUPT;
    sqlite3_bind_text(st, 1, access_key, -1, SQLITE_TRANSIENT);
    int rc = TERN_ENOT_FOUND;
    if (sqlite3_step(st) == SQLITE_ROW) {
        const unsigned char *s = sqlite3_column_text(st, 0);
        snprintf(secret, secret_len, "%s", s ? (const char *)s : "");
        rc = db_find_account(db, sqlite3_column_int64(st, 1), acct);
    }
    sqlite3_finalize(st);
    return rc;
}

int64_t db_count_accounts(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    int64_t n = 0;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM accounts", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

int db_put_region(sqlite3 *db, const char *region_id, const char *region_name)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO regions(region_id, region_name) VALUES(?,?)"
                           " ON CONFLICT(region_id) DO UPDATE SET region_name=excluded.region_name",
                           -1, &st, NULL) != SQLITE_OK)
        return TERN_ECORRUPT;
    sqlite3_bind_text(st, 1, region_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, region_name, -1, SQLITE_TRANSIENT);
    return step_done(st);
}
