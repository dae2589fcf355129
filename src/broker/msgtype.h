/* SPDX-License-Identifier: Apache-2.0 */
/* msgtype.h: topic message types (NORMAL, FIFO, DELAY, TRANSACTION; spec
 * sdk.md §10, open-api.md orderType) at topic creation and on the send path.
 *
 * A typed topic refuses messages of another kind with MESSAGE_ILLEGAL: a
 * transactional message unless TRANSACTION, a delayed/timed message (DELAY,
 * TIMER_*, __STARTDELIVERTIME) unless DELAY, a normal message if TRANSACTION.
 * Topics without a type accept everything. Threads: any (pure functions). */
#ifndef TERN_BROKER_MSGTYPE_H
#define TERN_BROKER_MSGTYPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/topic_config.h"
#include "common/bytes.h"

struct broker;
struct rreq;

/* UPDATE_AND_CREATE_TOPIC: applies `attributes` (+message.type=V,
 * -message.type) or the `orderType` header to tc; without either the existing
 * topic's type is kept. orderType 2 (global order) forces one queue. On a bad
 * value answers INVALID_PARAMETER and returns false. */
bool topic_type_from_request(struct broker *b, struct rreq *req, struct topic_config *tc);

/* Send check for a typed topic: is_half as txn_is_half says, props the
 * client's. Returns true when the message may be sent; else writes the
 * MESSAGE_ILLEGAL remark into why. */
bool msgtype_send_allowed(const struct topic_config *tc, bool is_half, tern_bytes_t props,
                          char *why, size_t whylen);

#endif
