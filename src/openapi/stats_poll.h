/* SPDX-License-Identifier: Apache-2.0 */
/* stats_poll.h: the thread that copies the brokers' per-minute statistics
 * into the metadata database for the trend endpoints (spec §6.8).
 *
 * Every poll_ms it asks the name servers for every cluster and its masters,
 * sends each master GET_STATS_MINUTES (10315, Tern's code; docs/design/
 * broker.md "Statistics") for the minutes since its previous answer (the
 * last 60 on the first poll) and upserts them into stats_minute (keeping the
 * larger count, so a partial current minute grows and a broker restart never
 * shrinks a stored minute), then deletes rows older than retention_days.
 *
 * It writes through its own SQLite connection (WAL), so it never takes the
 * console's meta_lock. Threads: one; start and stop from one thread. */
#ifndef TERN_OPENAPI_STATS_POLL_H
#define TERN_OPENAPI_STATS_POLL_H

struct admin;
struct stats_poller;

/* Opens db_path a second time and starts the thread; admin is borrowed and
 * must outlive the poller. OUT: *out. Errors: TERN_ECORRUPT (database). */
int stats_poller_start(const char *db_path, struct admin *admin, int poll_ms, int retention_days,
                       struct stats_poller **out);
/* Wakes the thread, waits for its current poll to end, frees. NULL is a no-op. */
void stats_poller_stop(struct stats_poller *p);

#endif
