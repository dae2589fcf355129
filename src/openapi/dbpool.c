/* SPDX-License-Identifier: Apache-2.0 */
/* dbpool.c: a free list of read-only SQLite connections (see dbpool.h). */
#include "openapi/dbpool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/log.h"

#define POOL_MAX_IDLE 64

struct db_pool {
    pthread_mutex_t lock;
    char *path;                   /* owned */
    sqlite3 *idle[POOL_MAX_IDLE]; /* owned; guarded by lock */
    size_t n_idle;                /* guarded by lock */
};

int db_pool_new(const char *path, struct db_pool **out)
{
    *out = NULL;
    if (!path || !*path || strcmp(path, ":memory:") == 0 || strncmp(path, "file:", 5) == 0)
        return TERN_EINVALID;
    struct db_pool *p = tern_calloc(1, sizeof *p);
    if (!p)
        return TERN_ENOMEM;
    p->path = tern_strdup(path);
    if (!p->path) {
        free(p);
        return TERN_ENOMEM;
    }
    pthread_mutex_init(&p->lock, NULL);
    *out = p;
    return TERN_OK;
}

void db_pool_free(struct db_pool *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_idle; i++)
        sqlite3_close_v2(p->idle[i]);
    pthread_mutex_destroy(&p->lock);
    free(p->path);
    free(p);
}

static sqlite3 *open_reader(const char *path)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        log_error("openapi", "cannot open a reader path=%s err=%s", path,
                  db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close_v2(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 5000);
    sqlite3_exec(db, "PRAGMA query_only=1;", NULL, NULL, NULL);
    return db;
}

sqlite3 *db_pool_take(struct db_pool *p)
{
    pthread_mutex_lock(&p->lock);
    sqlite3 *db = p->n_idle ? p->idle[--p->n_idle] : NULL;
    pthread_mutex_unlock(&p->lock);
    return db ? db : open_reader(p->path);
}

void db_pool_put(struct db_pool *p, sqlite3 *db)
{
    if (!db)
        return;
    pthread_mutex_lock(&p->lock);
    bool kept = p->n_idle < POOL_MAX_IDLE;
    if (kept)
        p->idle[p->n_idle++] = db;
    pthread_mutex_unlock(&p->lock);
    if (!kept)
        sqlite3_close_v2(db);
}
