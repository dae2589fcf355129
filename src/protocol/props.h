/* SPDX-License-Identifier: Apache-2.0 */
/* props.h: the message properties string: key 0x01 value 0x02 ... (spec §5.1).
 *
 * Parsing follows Java: segments split on 0x02; a segment without 0x01, with
 * an empty key or an empty value is ignored. Lookups scan the string; no
 * allocation. */
#ifndef TERN_PROTOCOL_PROPS_H
#define TERN_PROTOCOL_PROPS_H

#include <stdbool.h>

#include "common/buf.h"
#include "common/bytes.h"

#define PROP_NAME_SEP 0x01
#define PROP_PAIR_SEP 0x02

/* Well-known keys (spec §5.2). */
#define PROP_TAGS               "TAGS"
#define PROP_KEYS               "KEYS"
#define PROP_UNIQ_KEY           "UNIQ_KEY"
#define PROP_WAIT               "WAIT"
#define PROP_DELAY              "DELAY"
#define PROP_REAL_TOPIC         "REAL_TOPIC"
#define PROP_REAL_QID           "REAL_QID"
#define PROP_RETRY_TOPIC        "RETRY_TOPIC"
#define PROP_ORIGIN_MESSAGE_ID  "ORIGIN_MESSAGE_ID"
#define PROP_RECONSUME_TIME     "RECONSUME_TIME"
#define PROP_MAX_RECONSUME      "MAX_RECONSUME_TIMES"
#define PROP_TRAN_MSG           "TRAN_MSG"
#define PROP_PGROUP             "PGROUP"
#define PROP_CLUSTER            "CLUSTER"
#define PROP_MSG_REGION         "MSG_REGION"
#define PROP_TRACE_ON           "TRACE_ON"
#define PROP_TIMER_DELIVER_MS   "TIMER_DELIVER_MS"
#define PROP_TIMER_DELAY_SEC    "TIMER_DELAY_SEC"
#define PROP_TIMER_DELAY_MS     "TIMER_DELAY_MS"
#define PROP_START_DELIVER_TIME "__STARTDELIVERTIME"
#define PROP_TRANSACTION_ID     "__transactionId__"

/* Iterates pairs: for (size_t it = 0; props_next(p, &it, &k, &v);) ...
 * Skips malformed segments as Java does. */
bool props_next(tern_bytes_t props, size_t *it, tern_bytes_t *key, tern_bytes_t *val);
/* Finds key (no 0x01/0x02 in it); returns true and the value view (borrowed
 * from props; the last occurrence wins, as a Java HashMap put would). */
bool props_get(tern_bytes_t props, const char *key, tern_bytes_t *val);
/* Finds up to PROPS_FIND_MAX keys (as props_get's) in one walk: for each
 * keys[j] present, bit j of the result is set and vals[j] is its value (as
 * props_get gives it); vals of absent keys are untouched. */
#define PROPS_FIND_MAX 8
unsigned props_find(tern_bytes_t props, const char *const *keys, size_t nkeys, tern_bytes_t *vals);
/* Appends "key 0x01 val 0x02". */
void props_append(buf_t *out, const char *key, tern_bytes_t val);
/* Appends every pair of props except those whose key is in skip (a
 * NULL-terminated list; skip may be NULL). Pairs are re-emitted normalized. */
void props_copy_except(buf_t *out, tern_bytes_t props, const char *const *skip);
/* True when the string contains no 0x01/0x02 (safe as a key or value). */
bool props_is_clean(tern_bytes_t v);

#endif
