/* SPDX-License-Identifier: Apache-2.0 */
/* txn_int.h: the transaction service's state, shared by txn.c (window,
 * claims, restart point, check thread) and txn_check.c (what a check and a
 * park send or store). Internal to src/broker/txn*.c. */
#ifndef TERN_BROKER_TXN_INT_H
#define TERN_BROKER_TXN_INT_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "broker/txn.h"

enum { ENT_PENDING = 0, ENT_CLAIMED = 1, ENT_RESOLVED = 2 };

/* One half queue offset. */
struct txn_ent {
    int64_t phy_off;     /* commit-log offset of the half record */
    int64_t store_ts;    /* wall ms the half was stored */
    int64_t immunity_ms; /* no check before store_ts + immunity_ms */
    int64_t op_off;      /* RESOLVED: its op record (-1: gap); CLAIMED: lower bound */
    int32_t checks;      /* CHECK_TRANSACTION_STATE sent so far */
    uint8_t state;       /* ENT_* */
};

struct txn_service {
    struct broker *b; /* borrowed: the owner */
    pthread_mutex_t lock;
    /* Guarded by lock: ents[head..len) are half offsets base, base+1, ... */
    struct txn_ent *ents; /* owned */
    size_t head, len, cap;
    int64_t base;
    bool dirty; /* restart point changed since the last persist */
    struct txn_stats stats;
    /* Check thread. */
    pthread_t thread;
    pthread_cond_t cond; /* with lock; CLOCK_MONOTONIC */
    bool started;
    bool stopping; /* guarded by lock */
    char path[PATH_MAX];
};

/* Sends CHECK_TRANSACTION_STATE for the half at phy_off to one live producer
 * of its PGROUP, with TRANSACTION_CHECK_TIMES = checks. false when the record
 * is unreadable or no producer of the group is online. Check thread. */
bool txn_send_check(struct broker *b, int64_t half_off, int64_t phy_off, int32_t checks);
/* Copies the half at phy_off into TRANS_CHECK_MAX_TIME_TOPIC queue 0. */
int txn_park(struct broker *b, int64_t phy_off);

#endif
