/* SPDX-License-Identifier: Apache-2.0 */
/* txn.h: transactional messages (spec §4.B.4, §4.E.1, §8.9; broker-internals
 * §6; docs/design/transactions.md).
 *
 * Half messages live in RMQ_SYS_TRANS_HALF_TOPIC queue 0; every resolution
 * (commit, rollback, parked after transactionCheckMax checks) appends an op
 * record to RMQ_SYS_TRANS_OP_HALF_TOPIC queue 0 (tag "d", body = decimal half
 * queue offset). The service keeps a window of half offsets from the oldest
 * unresolved one, claims resolutions so each half is resolved once, checks
 * old unresolved halves from its own thread and persists a restart point
 * (config/transactionProgress.json). Threads: END_TRANSACTION handlers (loop
 * threads) and the check thread; the window is guarded by the service lock,
 * and no store write or network send happens under it. */
#ifndef TERN_BROKER_TXN_H
#define TERN_BROKER_TXN_H

#include <stdbool.h>
#include <stdint.h>

#include "common/bytes.h"

struct broker;
struct store_msg;

#define TXN_HALF_TOPIC      "RMQ_SYS_TRANS_HALF_TOPIC"
#define TXN_OP_TOPIC        "RMQ_SYS_TRANS_OP_HALF_TOPIC"
#define TXN_CHECK_MAX_TOPIC "TRANS_CHECK_MAX_TIME_TOPIC"
#define PROP_CHECK_TIMES    "TRANSACTION_CHECK_TIMES"
#define PROP_CHECK_IMMUNITY "CHECK_IMMUNITY_TIME_IN_SECONDS"

/* Loads the window (progress file, half and op queues) and starts the check
 * thread. Call after the store and tables are open, before serving. */
int txn_start(struct broker *b);
/* Stops the thread, persists progress, frees. NULL b->txn is a no-op. */
void txn_stop(struct broker *b);

/* True for sysFlag transaction type PREPARED or TRAN_MSG=true (any case);
 * tran_msg is the TRAN_MSG property's value, NULL when absent. */
bool txn_is_half(int32_t sys_flag, const tern_bytes_t *tran_msg);
/* Send hook: turns m into a half message (topic/queue -> half queue 0,
 * REAL_TOPIC/REAL_QID/__transactionId__ added, transaction bits cleared so it
 * gets a consume-queue entry). Returns the new properties buffer m->props now
 * points into; the caller frees it after store_put. */
uint8_t *txn_make_half(struct broker *b, struct store_msg *m);

/* Claim results. */
enum txn_claim { TXN_CLAIMED = 0, TXN_RESOLVED = 1, TXN_NOT_FOUND = 2 };
/* Claims half queue offset half_off for resolution (any thread). */
int txn_claim(struct broker *b, int64_t half_off);
/* Ends a claim: done with the op record's queue offset, or released
 * (op_off < 0) when the resolution failed and the half stays pending. */
void txn_settle(struct broker *b, int64_t half_off, int64_t op_off);
/* Appends the op record for half_off. Returns TERN_OK with *op_off. */
int txn_write_op(struct broker *b, int64_t half_off, int64_t *op_off);

/* Counts for tests and runtime info. */
struct txn_stats {
    int64_t pending;  /* unresolved halves in the window */
    int64_t checks;   /* CHECK_TRANSACTION_STATE sent */
    int64_t parked;   /* moved to TRANS_CHECK_MAX_TIME_TOPIC */
    int64_t resolved; /* commits + rollbacks + parks since start */
};
void txn_get_stats(struct broker *b, struct txn_stats *out);

#endif
