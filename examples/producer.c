/* SPDX-License-Identifier: Apache-2.0 */
/* producer.c: a Producer sending synchronously, asynchronously and oneway.
 * Usage: example_producer NAMESRV_ADDR [TOPIC]. Exits non-zero on failure. */
#include <stdatomic.h>

#include "example_common.h"

static atomic_int g_async_done, g_async_failed;

static void on_success(const ons_send_result_t *r, void *user)
{
    (void)user;
    printf("async sent %s\n", ons_send_result_get_message_id(r));
    atomic_fetch_add(&g_async_done, 1);
}

static void on_exception(const ons_on_exception_context_t *ctx, void *user)
{
    (void)user;
    fprintf(stderr, "async send failed: %s\n", ons_exception_message(ctx->exception));
    atomic_fetch_add(&g_async_failed, 1);
    atomic_fetch_add(&g_async_done, 1);
}

int main(int argc, char **argv)
{
    const char *ns, *topic;
    example_args(argc, argv, &ns, &topic);
    ons_exception_t *ex = NULL;
    ons_properties_t *p = example_props(ns, "GID_example_producer");
    ons_producer_t *pr = ons_factory_create_producer(p, &ex);
    ons_properties_free(p);
    if (pr == NULL || ons_producer_start(pr, &ex) != 0)
        die("producer start", ex);
    for (int i = 0; i < 3; i++) {
        char body[32];
        snprintf(body, sizeof body, "hello %d", i);
        ons_message_t *m = ons_message_new_with_key(topic, "TagA", "order-42", body, strlen(body));
        ons_message_put_user_properties(m, "origin", "example", NULL);
        ons_send_result_t *r = NULL;
        if (ons_producer_send(pr, m, &r, &ex) != 0)
            die("send", ex);
        printf("sent %s\n", ons_send_result_get_message_id(r));
        ons_send_result_free(r);
        ons_message_free(m);
    }
    ons_message_t *m = ons_message_new_with_tag(topic, "TagA", "async", 5);
    ons_send_callback_t cb = {on_success, on_exception, NULL};
    if (ons_producer_send_async(pr, m, &cb, &ex) != 0)
        die("send_async", ex);
    if (ons_producer_send_oneway(pr, m, &ex) != 0)
        die("send_oneway", ex);
    ons_message_free(m);
    for (int i = 0; i < 100 && atomic_load(&g_async_done) == 0; i++)
        sleep_ms(50);
    ons_producer_destroy(pr);
    return atomic_load(&g_async_done) == 1 && atomic_load(&g_async_failed) == 0 ? 0 : 1;
}
