/* SPDX-License-Identifier: Apache-2.0 */
/* broker.h: the broker's facade: start a broker from a config, learn where it
 * listens, stop it. Everything hangs off struct broker (no globals), so tests
 * run brokers and name servers in one process.
 *
 * broker_start opens the store (exclusive lock: a second broker on the same
 * store fails with TERN_EBUSY), loads topics/groups/offsets, starts the
 * remoting server (listenPort, plus listenPort-2 when vipChannelEnable and
 * free), the hold, registration and housekeeping threads. broker_stop stops
 * accepting, answers held pulls, persists offsets and configs, unregisters
 * from name servers and closes the store (flush + checkpoint). See
 * docs/design/broker.md. */
#ifndef TERN_BROKER_BROKER_H
#define TERN_BROKER_BROKER_H

#include "broker/broker_config.h"

struct broker;

/* Errors: TERN_ECONFIG, TERN_EBUSY (store locked), TERN_ECORRUPT, -errno. */
int broker_start(const struct broker_config *cfg, struct broker **out);
/* The bound client port (useful with listenPort 0). */
int broker_port(const struct broker *b);
/* "brokerIP1:port", the address registered with name servers. */
const char *broker_addr(const struct broker *b);
/* Triggers a name-server registration now (asynchronous). */
void broker_register_now(struct broker *b);
/* NULL is a no-op. */
void broker_stop(struct broker *b);

#endif
