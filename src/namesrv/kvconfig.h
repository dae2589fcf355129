/* SPDX-License-Identifier: Apache-2.0 */
/* kvconfig.h: the name server's namespaced key/value store (PUT/GET/DELETE
 * KV_CONFIG, GET_KVLIST_BY_NAMESPACE; spec §4.A.7). Namespaces in use are
 * ORDER_TOPIC_CONFIG and PROJECT_CONFIG.
 *
 * In memory only (RocketMQ persists it to kvConfig.json; see
 * docs/design/namesrv.md). Thread-safe: one rwlock guards the tables. */
#ifndef TERN_NAMESRV_KVCONFIG_H
#define TERN_NAMESRV_KVCONFIG_H

#include "common/buf.h"
#include "common/bytes.h"

#define KV_NAMESPACE_ORDER_TOPIC_CONFIG "ORDER_TOPIC_CONFIG"

struct kvconfig;

int kvconfig_new(struct kvconfig **out);
/* NULL is a no-op. */
void kvconfig_free(struct kvconfig *kv);
/* Inserts or replaces (all three are copied). */
void kvconfig_put(struct kvconfig *kv, tern_bytes_t ns, tern_bytes_t key, tern_bytes_t val);
/* Appends the value to out. TERN_ENOT_FOUND when absent. */
int kvconfig_get(struct kvconfig *kv, tern_bytes_t ns, tern_bytes_t key, buf_t *out);
/* Removes; absent keys are not an error. */
void kvconfig_delete(struct kvconfig *kv, tern_bytes_t ns, tern_bytes_t key);
/* Appends the namespace as a KVTable JSON ({"table":{...}}, keys sorted).
 * TERN_ENOT_FOUND (out unchanged) when the namespace is absent or empty. */
int kvconfig_encode_namespace(struct kvconfig *kv, tern_bytes_t ns, buf_t *out);

#endif
