/* SPDX-License-Identifier: Apache-2.0 */
/* order_producer.c: an OrderProducer; messages with one sharding key go to
 * one queue, in send order. Usage: example_order_producer NAMESRV_ADDR
 * [TOPIC]. Exits non-zero on failure. */
#include "example_common.h"

int main(int argc, char **argv)
{
    const char *ns, *topic;
    example_args(argc, argv, &ns, &topic);
    ons_exception_t *ex = NULL;
    ons_properties_t *p = example_props(ns, "GID_example_order_producer");
    ons_order_producer_t *op = ons_factory_create_order_producer(p, &ex);
    ons_properties_free(p);
    if (op == NULL || ons_order_producer_start(op, &ex) != 0)
        die("order producer start", ex);
    const char *steps[] = {"created", "paid", "shipped", "delivered"};
    for (int i = 0; i < 4; i++) {
        ons_message_t *m = ons_message_new_with_tag(topic, "Order", steps[i], strlen(steps[i]));
        ons_send_result_t *r = NULL;
        if (ons_order_producer_send(op, m, "order-1001", &r, &ex) != 0)
            die("order send", ex);
        printf("sent %s: %s\n", steps[i], ons_send_result_get_message_id(r));
        ons_send_result_free(r);
        ons_message_free(m);
    }
    ons_order_producer_destroy(op);
    return 0;
}
