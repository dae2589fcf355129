/* SPDX-License-Identifier: Apache-2.0 */
/* order_consumer.c: an OrderConsumer. An OrderProducer sends ten steps of one
 * order (one sharding key); the listener checks they arrive in order.
 * Usage: example_order_consumer NAMESRV_ADDR [TOPIC]. Exits non-zero on
 * failure. */
#include <stdatomic.h>

#include "example_common.h"

#define N 10
static atomic_int g_next, g_bad;

static ons_order_action_t on_message(const ons_message_t *m, ons_consume_order_context_t *ctx,
                                     void *user)
{
    (void)ctx;
    (void)user;
    size_t len;
    const char *body = ons_message_get_body(m, &len);
    char text[16]; /* bodies are bytes, not strings: copy before parsing */
    snprintf(text, sizeof text, "%.*s", (int)len, body);
    int step = atoi(text);
    printf("step %d (sharding key %s)\n", step, ons_message_get_sharding_key(m));
    if (step != atomic_load(&g_next))
        atomic_fetch_add(&g_bad, 1);
    atomic_store(&g_next, step + 1);
    return ONS_ORDER_ACTION_SUCCESS;
}

int main(int argc, char **argv)
{
    const char *ns, *topic;
    example_args(argc, argv, &ns, &topic);
    ons_exception_t *ex = NULL;
    ons_properties_t *p = example_props(ns, "GID_example_order_consumer");
    ons_order_consumer_t *c = ons_factory_create_ordered_consumer(p, &ex);
    ons_properties_free(p);
    if (c == NULL || ons_order_consumer_subscribe(c, topic, "Step", on_message, NULL, &ex) != 0 ||
        ons_order_consumer_start(c, &ex) != 0)
        die("order consumer start", ex);
    p = example_props(ns, "GID_example_order_feed");
    ons_order_producer_t *op = ons_factory_create_order_producer(p, &ex);
    ons_properties_free(p);
    if (op == NULL || ons_order_producer_start(op, &ex) != 0)
        die("order producer start", ex);
    for (int i = 0; i < N; i++) {
        char body[16];
        snprintf(body, sizeof body, "%d", i);
        ons_message_t *m = ons_message_new_with_tag(topic, "Step", body, strlen(body));
        if (ons_order_producer_send(op, m, "order-2002", NULL, &ex) != 0)
            die("order send", ex);
        ons_message_free(m);
    }
    for (int i = 0; i < 400 && atomic_load(&g_next) < N; i++)
        sleep_ms(50);
    ons_order_producer_destroy(op);
    ons_order_consumer_destroy(c);
    return atomic_load(&g_next) == N && atomic_load(&g_bad) == 0 ? 0 : 1;
}
