/* SPDX-License-Identifier: Apache-2.0 */
/* batch_consumer.c: a BatchConsumer receiving up to 8 messages per call.
 * Usage: example_batch_consumer NAMESRV_ADDR [TOPIC]. Exits non-zero on
 * failure. */
#include <stdatomic.h>

#include "example_common.h"

#define N 16
static atomic_int g_seen;

static ons_action_t on_batch(const ons_message_t *const *msgs, size_t count,
                             ons_consume_context_t *ctx, void *user)
{
    (void)ctx;
    (void)user;
    printf("batch of %zu, first %s\n", count, ons_message_get_msg_id(msgs[0]));
    atomic_fetch_add(&g_seen, (int)count);
    return ONS_ACTION_COMMIT_MESSAGE;
}

int main(int argc, char **argv)
{
    const char *ns, *topic;
    example_args(argc, argv, &ns, &topic);
    ons_exception_t *ex = NULL;
    ons_properties_t *p = example_props(ns, "GID_example_batch");
    ons_properties_put(p, ONS_CONSUME_MESSAGE_BATCH_MAX_SIZE, "8");
    ons_batch_consumer_t *c = ons_factory_create_batch_consumer(p, &ex);
    ons_properties_free(p);
    if (c == NULL || ons_batch_consumer_subscribe(c, topic, "TagB", on_batch, NULL, &ex) != 0 ||
        ons_batch_consumer_start(c, &ex) != 0)
        die("batch consumer start", ex);
    p = example_props(ns, "GID_example_batch_feed");
    ons_producer_t *pr = ons_factory_create_producer(p, &ex);
    ons_properties_free(p);
    if (pr == NULL || ons_producer_start(pr, &ex) != 0)
        die("producer start", ex);
    for (int i = 0; i < N; i++) {
        ons_message_t *m = ons_message_new_with_tag(topic, "TagB", "item", 4);
        if (ons_producer_send(pr, m, NULL, &ex) != 0)
            die("send", ex);
        ons_message_free(m);
    }
    for (int i = 0; i < 400 && atomic_load(&g_seen) < N; i++)
        sleep_ms(50);
    ons_producer_destroy(pr);
    ons_batch_consumer_destroy(c);
    printf("%d of %d received\n", atomic_load(&g_seen), N);
    return atomic_load(&g_seen) >= N ? 0 : 1;
}
