/* SPDX-License-Identifier: Apache-2.0 */
/* msg_tool.c: sends and consumes real messages through libons for the Open
 * API tests (tests/openapi/messages.test.js).
 *   msg_tool send NAMESRV TOPIC TAG KEY COUNT
 *       sends COUNT messages (body "body-<i>"), prints one Message ID a line
 *   msg_tool consume NAMESRV GROUP TOPIC EXPR COUNT SECONDS [fail]
 *       consumes as GROUP until COUNT messages were seen, then stays online
 *       for SECONDS; prints "consumed <msgId>" a line. With "fail" every
 *       delivery answers ReconsumeLater (MaxReconsumeTimes=0: straight to
 *       the group's dead-letter queue).
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

static ons_action_t on_message(const ons_message_t *m, ons_consume_context_t *ctx, void *user)
{
    (void)ctx;
    (void)user;
    printf("consumed %s\n", ons_message_get_msg_id(m));
    fflush(stdout);
    atomic_fetch_add(&g_seen, 1);
    return g_fail ? ONS_ACTION_RECONSUME_LATER : ONS_ACTION_COMMIT_MESSAGE;
}

static int do_send(char **argv)
{
    ons_exception_t *ex = NULL;
    ons_properties_t *p = props(argv[2], "GID_msg_tool_producer");
    ons_producer_t *pr = ons_factory_create_producer(p, &ex);
    ons_properties_free(p);
    if (!pr || ons_producer_start(pr, &ex) != 0)
        die("producer start", ex);
    int count = atoi(argv[6]);
    for (int i = 0; i < count; i++) {
        char body[32];
        snprintf(body, sizeof body, "body-%d", i);
        ons_message_t *m = ons_message_new_with_key(argv[3], argv[4], argv[5], body, strlen(body));
        ons_send_result_t *r = NULL;
        if (ons_producer_send(pr, m, &r, &ex) != 0)
            die("send", ex);
        printf("%s\n", ons_send_result_get_message_id(r));
        ons_send_result_free(r);
        ons_message_free(m);
    }
    ons_producer_destroy(pr);
    return 0;
}

static int do_consume(int argc, char **argv)
{
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
    int count = atoi(argv[6]);
    for (int i = 0; i < 600 && atomic_load(&g_seen) < count; i++)
        sleep_ms(50);
    int ok = atomic_load(&g_seen) >= count;
    sleep_ms(atol(argv[7]) * 1000L);
    ons_consumer_destroy(c);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 7 && strcmp(argv[1], "send") == 0)
        return do_send(argv);
    if ((argc == 8 || argc == 9) && strcmp(argv[1], "consume") == 0)
        return do_consume(argc, argv);
    fprintf(stderr, "usage: msg_tool send NAMESRV TOPIC TAG KEY COUNT\n"
                    "       msg_tool consume NAMESRV GROUP TOPIC EXPR COUNT SECONDS [fail]\n");
    return 2;
}
