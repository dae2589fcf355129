/* SPDX-License-Identifier: Apache-2.0 */
/* consumer.c: a clustering Consumer. It starts, then a producer sends five
 * messages, and the program waits until the listener has seen them all.
 * Listeners must be idempotent: delivery is at least once.
 * Usage: example_consumer NAMESRV_ADDR [TOPIC]. Exits non-zero on failure. */
#include <stdatomic.h>

#include "example_common.h"

#define N 5
static atomic_int g_seen;

static ons_action_t on_message(const ons_message_t *m, ons_consume_context_t *ctx, void *user)
{
    (void)ctx;
    (void)user;
    size_t len;
    const char *body = ons_message_get_body(m, &len);
    printf("received %s: %.*s\n", ons_message_get_msg_id(m), (int)len, body);
    atomic_fetch_add(&g_seen, 1);
    return ONS_ACTION_COMMIT_MESSAGE;
}

int main(int argc, char **argv)
{
    const char *ns, *topic;
    example_args(argc, argv, &ns, &topic);
    ons_exception_t *ex = NULL;
    ons_properties_t *p = example_props(ns, "GID_example_consumer");
    ons_properties_put(p, ONS_CONSUME_THREAD_NUMS, "4");
    ons_consumer_t *c = ons_factory_create_consumer(p, &ex);
    ons_properties_free(p);
    if (c == NULL || ons_consumer_subscribe(c, topic, "TagC", on_message, NULL, &ex) != 0 ||
        ons_consumer_start(c, &ex) != 0)
        die("consumer start", ex);
    p = example_props(ns, "GID_example_consumer_feed");
    ons_producer_t *pr = ons_factory_create_producer(p, &ex);
    ons_properties_free(p);
    if (pr == NULL || ons_producer_start(pr, &ex) != 0)
        die("producer start", ex);
    for (int i = 0; i < N; i++) {
        ons_message_t *m = ons_message_new_with_tag(topic, "TagC", "payload", 7);
        if (ons_producer_send(pr, m, NULL, &ex) != 0)
            die("send", ex);
        ons_message_free(m);
    }
    for (int i = 0; i < 400 && atomic_load(&g_seen) < N; i++)
        sleep_ms(50);
    ons_producer_destroy(pr);
    ons_consumer_destroy(c);
    printf("%d of %d received\n", atomic_load(&g_seen), N);
    return atomic_load(&g_seen) >= N ? 0 : 1;
}
