/* SPDX-License-Identifier: Apache-2.0 */
/* msg_tool.c: sends and consumes real messages through libons for the Open
 * API tests (tests/openapi/messages.test.js).
 *   msg_tool send NAMESRV TOPIC TAG KEY COUNT
 *       sends COUNT messages (body "body-<i>"), prints one Message ID a line;
 *       SEND_KIND=order|txn|delay picks the OrderProducer (sharding key =
 *       KEY), a committed transaction, or a delivery time DELAY_MS ahead
 *   msg_tool consume NAMESRV GROUP TOPIC EXPR COUNT SECONDS [fail|order]
 *       consumes as GROUP until COUNT messages were seen, then stays online
 *       for SECONDS; prints "consumed <msgId>" a line. With "fail" every
 *       delivery answers ReconsumeLater (MaxReconsumeTimes=0: straight to
 *       the group's dead-letter queue); with "order" an OrderConsumer takes
 *       the messages one queue at a time, so the lines keep a queue's order
 *       (a plain consumer's threads may print them in any order).
 * Resources of a namespaced instance: set INSTANCE_ID in the environment.
 * ACCESS_KEY and SECRET_KEY (default "ak"/"sk") sign the requests.
 * Exit 0 on success, 1 on failure (COUNT not reached within 30 s). */
#include <ons/ons.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv);

static atomic_int g_seen;
static bool g_fail;

static void die(const char *what, ons_exception_t *ex)
{
    fprintf(stderr, "msg_tool: %s: %s\n", what, ex ? ons_exception_message(ex) : "failed");
    exit(1);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static ons_properties_t *props(const char *ns, const char *group)
{
    ons_properties_t *p = ons_properties_new();
    const char *inst = getenv("INSTANCE_ID");
    const char *ak = getenv("ACCESS_KEY"), *sk = getenv("SECRET_KEY");
    if (!p || ons_properties_put(p, ONS_NAMESRV_ADDR, ns) != 0 ||
        ons_properties_put(p, ONS_GROUP_ID, group) != 0 ||
        ons_properties_put(p, ONS_ACCESS_KEY, ak ? ak : "ak") != 0 ||
        ons_properties_put(p, ONS_SECRET_KEY, sk ? sk : "sk") != 0 ||
        (inst && ons_properties_put(p, ONS_INSTANCE_ID, inst) != 0))
        die("properties", NULL);
    return p;
}

/* Prints one "consumed <msgId>" line and counts the delivery. */
static void note_seen(const ons_message_t *m)
{
    printf("consumed %s\n", ons_message_get_msg_id(m));
    fflush(stdout);
    atomic_fetch_add(&g_seen, 1);
}

static ons_action_t on_message(const ons_message_t *m, ons_consume_context_t *ctx, void *user)
{
    (void)ctx;
    (void)user;
    note_seen(m);
    return g_fail ? ONS_ACTION_RECONSUME_LATER : ONS_ACTION_COMMIT_MESSAGE;
}

static ons_order_action_t on_ordered(const ons_message_t *m, ons_consume_order_context_t *ctx,
                                     void *user)
{
    (void)ctx;
    (void)user;
    note_seen(m);
    return ONS_ORDER_ACTION_SUCCESS;
}

static ons_transaction_status_t txn_commit(const ons_message_t *m, void *arg)
{
    (void)m;
    (void)arg;
    return ONS_COMMIT_TRANSACTION;
}

/* One producer of the kind SEND_KIND names: "normal" (default), "order"
 * (OrderProducer, sharding key = the message key), "txn" (a transaction
 * committed by its executer) or "delay" (normal producer, delivery time now
 * + DELAY_MS, default 2000). */
struct sender {
    const char *kind;
    ons_producer_t *pr;
    ons_order_producer_t *op;
    ons_transaction_producer_t *tp;
};

static void sender_start(struct sender *s, const char *ns)
{
    ons_exception_t *ex = NULL;
    s->kind = getenv("SEND_KIND") ? getenv("SEND_KIND") : "normal";
    ons_properties_t *p = props(ns, "GID_msg_tool_producer");
    int rc = -1;
    if (strcmp(s->kind, "order") == 0) {
        s->op = ons_factory_create_order_producer(p, &ex);
        rc = s->op ? ons_order_producer_start(s->op, &ex) : -1;
    } else if (strcmp(s->kind, "txn") == 0) {
        s->tp = ons_factory_create_transaction_producer(p, txn_commit, NULL, &ex);
        rc = s->tp ? ons_transaction_producer_start(s->tp, &ex) : -1;
    } else {
        s->pr = ons_factory_create_producer(p, &ex);
        rc = s->pr ? ons_producer_start(s->pr, &ex) : -1;
    }
    ons_properties_free(p);
    if (rc != 0)
        die("producer start", ex);
}

static void sender_send(struct sender *s, ons_message_t *m, const char *key)
{
    ons_exception_t *ex = NULL;
    ons_send_result_t *r = NULL;
    int rc;
    if (s->op) {
        rc = ons_order_producer_send(s->op, m, key, &r, &ex);
    } else if (s->tp) {
        rc = ons_transaction_producer_send(s->tp, m, txn_commit, NULL, &r, &ex);
    } else {
        if (strcmp(s->kind, "delay") == 0) {
            const char *d = getenv("DELAY_MS");
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
            ons_message_set_start_deliver_time(m, now + (d ? atol(d) : 2000));
        }
        rc = ons_producer_send(s->pr, m, &r, &ex);
    }
    if (rc != 0)
        die("send", ex);
    printf("%s\n", ons_send_result_get_message_id(r));
    ons_send_result_free(r);
}

static void sender_stop(struct sender *s)
{
    ons_producer_destroy(s->pr);
    ons_order_producer_destroy(s->op);
    ons_transaction_producer_destroy(s->tp);
}

static int do_send(char **argv)
{
    struct sender s = {0};
    sender_start(&s, argv[2]);
    int count = atoi(argv[6]);
    for (int i = 0; i < count; i++) {
        char body[32];
        snprintf(body, sizeof body, "body-%d", i);
        ons_message_t *m = ons_message_new_with_key(argv[3], argv[4], argv[5], body, strlen(body));
        sender_send(&s, m, argv[5]);
        ons_message_free(m);
    }
    sender_stop(&s);
    return 0;
}

/* Waits until COUNT (argv[6]) messages were seen (30 s at most), then
 * SECONDS (argv[7]) more; true if COUNT was reached. */
static bool wait_seen(char **argv)
{
    int count = atoi(argv[6]);
    for (int i = 0; i < 600 && atomic_load(&g_seen) < count; i++)
        sleep_ms(50);
    bool ok = atomic_load(&g_seen) >= count;
    sleep_ms(atol(argv[7]) * 1000L);
    return ok;
}

static int do_consume_ordered(char **argv)
{
    ons_exception_t *ex = NULL;
    ons_properties_t *p = props(argv[2], argv[3]);
    ons_order_consumer_t *c = ons_factory_create_ordered_consumer(p, &ex);
    ons_properties_free(p);
    if (!c || ons_order_consumer_subscribe(c, argv[4], argv[5], on_ordered, NULL, &ex) != 0 ||
        ons_order_consumer_start(c, &ex) != 0)
        die("order consumer start", ex);
    printf("started\n");
    fflush(stdout);
    bool ok = wait_seen(argv);
    ons_order_consumer_destroy(c);
    return ok ? 0 : 1;
}

static int do_consume(int argc, char **argv)
{
    if (argc > 8 && strcmp(argv[8], "order") == 0)
        return do_consume_ordered(argv);
    g_fail = argc > 8 && strcmp(argv[8], "fail") == 0;
    ons_exception_t *ex = NULL;
    ons_properties_t *p = props(argv[2], argv[3]);
    ons_properties_put(p, ONS_CONSUME_THREAD_NUMS, "2");
    if (g_fail)
        ons_properties_put(p, ONS_MAX_RECONSUME_TIMES, "0");
    ons_consumer_t *c = ons_factory_create_consumer(p, &ex);
    ons_properties_free(p);
    if (!c || ons_consumer_subscribe(c, argv[4], argv[5], on_message, NULL, &ex) != 0 ||
        ons_consumer_start(c, &ex) != 0)
        die("consumer start", ex);
    printf("started\n");
    fflush(stdout);
    bool ok = wait_seen(argv);
    ons_consumer_destroy(c);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 7 && strcmp(argv[1], "send") == 0)
        return do_send(argv);
    if ((argc == 8 || argc == 9) && strcmp(argv[1], "consume") == 0)
        return do_consume(argc, argv);
    fprintf(stderr,
            "usage: msg_tool send NAMESRV TOPIC TAG KEY COUNT\n"
            "       msg_tool consume NAMESRV GROUP TOPIC EXPR COUNT SECONDS [fail|order]\n");
    return 2;
}
