/* SPDX-License-Identifier: Apache-2.0 */
/* dbpool.h: read-only SQLite connections for the endpoints that only read
 * the metadata (docs/design/openapi.md "Threads").
 *
 * In WAL mode readers see the last committed state and never wait for the
 * writer, so a read endpoint takes one of these instead of meta_lock and the
 * main connection: it no longer queues behind a create or delete that is
 * waiting for the brokers. Each connection is used by one thread at a time
 * (taken, then given back); the pool grows on demand to the number of
 * concurrent readers (the HTTP threads). Thread-safe. */
#ifndef TERN_OPENAPI_DBPOOL_H
#define TERN_OPENAPI_DBPOOL_H

#include <sqlite3.h>

struct db_pool;

/* A pool over the database file at path. TERN_EINVALID for an in-memory
 * database (":memory:", "" or a URI): other connections would not see it,
 * so the caller reads through the main connection instead. OUT: *out. */
int db_pool_new(const char *path, struct db_pool **out);
/* Closes every connection (none may be taken). NULL is a no-op. */
void db_pool_free(struct db_pool *p);
/* A read-only connection (query_only, busy timeout set), or NULL when none
 * can be opened. Give it back with db_pool_put. */
sqlite3 *db_pool_take(struct db_pool *p);
void db_pool_put(struct db_pool *p, sqlite3 *db);

#endif
