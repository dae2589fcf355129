/* SPDX-License-Identifier: Apache-2.0 */
/* transaction_producer.c: a TransactionProducer. The executer runs the local
 * transaction after the half message is stored; the checker answers the
 * broker's check-backs from durable state (here: a committed flag).
 * Usage: example_transaction_producer NAMESRV_ADDR [TOPIC]. Exits non-zero
 * on failure. */
#include <stdatomic.h>

#include "example_common.h"

static atomic_bool g_committed;

static ons_transaction_status_t execute(const ons_message_t *msg, void *arg)
{
    (void)msg;
    (void)arg;
    atomic_store(&g_committed, true); /* e.g. INSERT the order row */
    return ONS_COMMIT_TRANSACTION;
}

static ons_transaction_status_t check(const ons_message_t *msg, void *user)
{
    (void)msg;
    (void)user;
    return atomic_load(&g_committed) ? ONS_COMMIT_TRANSACTION : ONS_UNKNOW;
}

int main(int argc, char **argv)
{
    const char *ns, *topic;
    example_args(argc, argv, &ns, &topic);
    ons_exception_t *ex = NULL;
    ons_properties_t *p = example_props(ns, "GID_example_txn");
    ons_transaction_producer_t *tp = ons_factory_create_transaction_producer(p, check, NULL, &ex);
    ons_properties_free(p);
    if (tp == NULL || ons_transaction_producer_start(tp, &ex) != 0)
        die("transaction producer start", ex);
    ons_message_t *m = ons_message_new_with_key(topic, "Txn", "order-7", "pay", 3);
    ons_send_result_t *r = NULL;
    if (ons_transaction_producer_send(tp, m, execute, NULL, &r, &ex) != 0)
        die("transaction send", ex);
    printf("sent %s (committed: %d)\n", ons_send_result_get_message_id(r),
           (int)atomic_load(&g_committed));
    ons_send_result_free(r);
    ons_message_free(m);
    ons_transaction_producer_destroy(tp);
    return atomic_load(&g_committed) ? 0 : 1;
}
