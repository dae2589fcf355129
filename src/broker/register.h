/* SPDX-License-Identifier: Apache-2.0 */
/* register.h: REGISTER_BROKER to every name server (spec §4.A.1,
 * broker-internals §11): at start, every registerNameServerPeriod and
 * whenever topics change (broker_topic_changed kicks it). Runs on its own
 * thread because the calls block (rclient_call_sync); UNREGISTER_BROKER at
 * stop. */
#ifndef TERN_BROKER_REGISTER_H
#define TERN_BROKER_REGISTER_H

struct broker;

/* Starts the register thread (first registration at once). */
int register_start(struct broker *b);
/* Stops the thread, then sends UNREGISTER_BROKER to every name server. */
void register_stop(struct broker *b);
/* Registers with every name server now, synchronously (any non-loop thread).
 * Returns the number of name servers that accepted. */
int register_once(struct broker *b);

#endif
