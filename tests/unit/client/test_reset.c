/* SPDX-License-Identifier: Apache-2.0 */
/* test_reset.c: RESET_CONSUMER_CLIENT_OFFSET (220), the 4.x broker's
 * client-side offset reset, sent over a running libons consumer's own
 * connection from the in-process broker (as a 4.x broker does): in the body
 * form CPP clients get (an array) and in fastjson's object-key form, for a
 * clustering and a broadcasting consumer. The listed queues rewind and
 * everything from the new offset is delivered again; a reset naming another
 * group or another topic changes nothing. */
#include <pthread.h>
#include <stdatomic.h>

#include "broker/broker_int.h"
#include "client_fixture.h"
#include "harness.h"

TEST_MAIN()

#define NMSG 20

static struct cfx g_fx;
static bool g_up;
static ons_producer_t *g_pr;

static void setup(void)
{
    if (!g_up) {
        ASSERT_EQ(cfx_start(&g_fx), 0);
        ASSERT_EQ(cfx_topic(&g_fx, "TopicRS", 2), 0);
        ASSERT_EQ(cfx_topic(&g_fx, "TopicRSb", 2), 0);
        g_pr = cfx_producer(&g_fx, "GID_rsprod");
        ASSERT(g_pr != NULL);
        g_up = true;
    }
}

__attribute__((destructor)) static void teardown(void)
{
    if (g_up) {
        ons_producer_destroy(g_pr);
        cfx_stop(&g_fx);
    }
}

static _Atomic int g_calls;
static _Atomic int g_seen[NMSG]; /* deliveries per message "rs-<i>" */

static ons_action_t on_msg(const ons_message_t *m, ons_consume_context_t *ctx, void *user)
{
    (void)ctx;
    (void)user;
    size_t len = 0;
    const char *b = ons_message_get_body(m, &len);
    int i = -1;
    if (b && len > 3 && len < 16 && memcmp(b, "rs-", 3) == 0)
        i = atoi(b + 3);
    if (i >= 0 && i < NMSG)
        atomic_fetch_add(&g_seen[i], 1);
    atomic_fetch_add(&g_calls, 1);
    return ONS_ACTION_COMMIT_MESSAGE;
}

static bool wait_calls(int n)
{
    int64_t deadline = clock_mono_ms() + 20000;
    while (atomic_load(&g_calls) < n && clock_mono_ms() < deadline)
        usleep(10 * 1000);
    return atomic_load(&g_calls) >= n;
}

/* Waits until every message was delivered at least n times. */
static bool wait_each_seen(int n)
{
    int64_t deadline = clock_mono_ms() + 20000;
    for (;;) {
        int low = 0;
        for (int i = 0; i < NMSG; i++)
            low += atomic_load(&g_seen[i]) < n;
        if (low == 0)
            return true;
        if (clock_mono_ms() >= deadline)
            return false;
        usleep(10 * 1000);
    }
}

/* Sends RESET_CONSUMER_CLIENT_OFFSET (oneway) to the consumer of group over
 * its connection to the broker. */
static bool send_reset(const char *client_group, const char *group, const char *topic,
                       const char *body)
{
    char id[256];
    if (!cfx_client_id(&g_fx, client_group, id, sizeof id))
        return false;
    struct rconn *conn =
        cm_find_conn(&g_fx.b->clients, false, tern_cstr(client_group), tern_cstr(id), NULL);
    if (conn == NULL)
        return false;
    struct rcmd cmd;
    rcmd_init(&cmd);
    cmd.code = RC_RESET_CONSUMER_CLIENT_OFFSET;
    rcmd_add_cstr(&cmd, "topic", topic);
    rcmd_add_cstr(&cmd, "group", group);
    rcmd_add_i64(&cmd, "timestamp", 0);
    rcmd_add_cstr(&cmd, "isForce", "true");
    cmd.body = tern_cstr(body);
    int rc = rconn_send_oneway(conn, &cmd);
    rcmd_deinit(&cmd);
    rconn_unref(conn);
    return rc == TERN_OK;
}

static void check_model(const char *group, const char *topic, bool broadcasting)
{
    setup();
    atomic_store(&g_calls, 0);
    for (int i = 0; i < NMSG; i++)
        atomic_store(&g_seen[i], 0);
    ons_properties_t *p = cfx_props(&g_fx, group);
    if (broadcasting) {
        ons_properties_put(p, ONS_MESSAGE_MODEL, ONS_BROADCASTING);
        /* The offset file lives with this run's store, not in $HOME where an
         * earlier run's offsets would be read back. */
        ons_properties_put(p, ONS_LOCAL_OFFSET_STORE_DIR, g_fx.dir);
    }
    ons_exception_t *ex = NULL;
    ons_consumer_t *c = ons_factory_create_consumer(p, &ex);
    ons_properties_free(p);
    ASSERT(c != NULL);
    ASSERT_EQ(ons_consumer_subscribe(c, topic, "*", on_msg, NULL, &ex), 0);
    ASSERT_EQ(ons_consumer_start(c, &ex), 0);
    for (int i = 0; i < NMSG; i++) {
        char body[16];
        snprintf(body, sizeof body, "rs-%d", i);
        ons_message_t *m = ons_message_new_with_key(topic, "t", NULL, body, strlen(body));
        ASSERT_EQ(ons_producer_send(g_pr, m, NULL, &ex), 0);
        ons_message_free(m);
    }
    ASSERT(wait_calls(NMSG));
    int n0 = cfx_stored(&g_fx, topic, 0), n1 = cfx_stored(&g_fx, topic, 1);
    ASSERT(n0 >= 0 && n1 >= 0 && n0 + n1 == NMSG);
    ASSERT(n0 > 0); /* round robin over two queues */

    /* Both queues back to 0, in the array form a broker sends to CPP
     * clients: everything is delivered again. */
    char body[512];
    snprintf(body, sizeof body,
             "{\"offsetTable\":[{\"topic\":\"%s\",\"brokerName\":\"broker-a\",\"queueId\":0,"
             "\"offset\":0},{\"topic\":\"%s\",\"brokerName\":\"broker-a\",\"queueId\":1,"
             "\"offset\":0}]}",
             topic, topic);
    ASSERT(send_reset(group, group, topic, body));
    ASSERT(wait_each_seen(2));

    /* Queue 0 only, to offset 1, in fastjson's object-key form. */
    int before = atomic_load(&g_calls);
    snprintf(body, sizeof body,
             "{\"offsetTable\":{{\"brokerName\":\"broker-a\",\"queueId\":0,\"topic\":\"%s\"}:1}}",
             topic);
    ASSERT(send_reset(group, group, topic, body));
    ASSERT(wait_calls(before + n0 - 1));

    /* Another group's reset, and a reset of a topic this consumer does not
     * read, change nothing. */
    usleep(500 * 1000);
    before = atomic_load(&g_calls);
    ASSERT(send_reset(group, "GID_rs_other", topic, body));
    snprintf(body, sizeof body,
             "{\"offsetTable\":[{\"topic\":\"Other\",\"brokerName\":\"broker-a\",\"queueId\":0,"
             "\"offset\":0}]}");
    ASSERT(send_reset(group, group, "Other", body));
    usleep(1500 * 1000);
    ASSERT_EQ(atomic_load(&g_calls), before);
    ons_consumer_destroy(c);
}

TEST(clustering_consumer_rewinds)
{
    check_model("GID_rs_c", "TopicRS", false);
}

TEST(broadcasting_consumer_rewinds)
{
    check_model("GID_rs_b", "TopicRSb", true);
}
