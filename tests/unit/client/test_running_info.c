/* SPDX-License-Identifier: Apache-2.0 */
/* test_running_info.c: a push consumer answers GET_CONSUMER_RUNNING_INFO
 * (307) relayed by a real broker, as an admin tool or the Open API asks it:
 * properties, subscriptions, one mqTable entry per owned queue, per-topic
 * consume statistics that match what the listener did, and the jstack text.
 * A request for another group is refused. It also answers
 * GET_CONSUMER_STATUS_FROM_CLIENT (221), sent by the broker over the
 * consumer's own connection, with the committed offset of each held queue. */
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>

#include "broker/broker_int.h"
#include "client_fixture.h"
#include "common/arena.h"
#include "harness.h"
#include "protocol/json.h"

TEST_MAIN()

static struct cfx g_fx;
static bool g_up;
static ons_producer_t *g_pr;

static void setup(void)
{
    if (!g_up) {
        ASSERT_EQ(cfx_start(&g_fx), 0);
        ASSERT_EQ(cfx_topic(&g_fx, "TopicRI1", 4), 0);
        ASSERT_EQ(cfx_topic(&g_fx, "TopicRI2", 2), 0);
        g_pr = cfx_producer(&g_fx, "GID_riprod");
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

static _Atomic int g_ok, g_failed;

/* Commits tag "ok" messages, and the others when redelivered; asks for one
 * retry of each of those. */
static ons_action_t listener(const ons_message_t *m, ons_consume_context_t *ctx, void *user)
{
    (void)ctx;
    (void)user;
    const char *tag = ons_message_get_tag(m);
    if ((tag && strcmp(tag, "ok") == 0) || ons_message_get_reconsume_times(m) > 0) {
        atomic_fetch_add(&g_ok, 1);
        return ONS_ACTION_COMMIT_MESSAGE;
    }
    atomic_fetch_add(&g_failed, 1);
    return ONS_ACTION_RECONSUME_LATER;
}

static ons_consumer_t *start_consumer(const char *group)
{
    ons_properties_t *p = cfx_props(&g_fx, group);
    ons_properties_put(p, ONS_CONSUME_THREAD_NUMS, "3");
    ons_exception_t *ex = NULL;
    ons_consumer_t *c = ons_factory_create_consumer(p, &ex);
    ons_properties_free(p);
    if (c == NULL)
        return NULL;
    if (ons_consumer_subscribe(c, "TopicRI1", "ok || bad", listener, NULL, &ex) != 0 ||
        ons_consumer_subscribe(c, "TopicRI2", "*", listener, NULL, &ex) != 0 ||
        ons_consumer_start(c, &ex) != 0) {
        fprintf(stderr, "consumer: %s\n", ons_exception_message(ex));
        ons_exception_free(ex);
        ons_consumer_destroy(c);
        return NULL;
    }
    return c;
}

static void send_tagged(const char *topic, const char *tag, int n)
{
    for (int i = 0; i < n; i++) {
        ons_message_t *m = ons_message_new_with_key(topic, tag, NULL, "body", 4);
        ons_exception_t *ex = NULL;
        if (ons_producer_send(g_pr, m, NULL, &ex) != 0) {
            fprintf(stderr, "send: %s\n", ons_exception_message(ex));
            ons_exception_free(ex);
        }
        ons_message_free(m);
    }
}

/* Asks the broker for the running info of (group, client). Returns the
 * response code; *out: the parsed body (arena a) on success. */
static int running_info(const char *group, const char *client, struct json_val **out, arena_t *a)
{
    struct rcmd req;
    rcmd_init(&req);
    req.code = RC_GET_CONSUMER_RUNNING_INFO;
    rcmd_add_cstr(&req, "consumerGroup", group);
    rcmd_add_cstr(&req, "clientId", client);
    rcmd_add_cstr(&req, "jstackEnable", "true");
    struct rresp resp;
    rresp_init(&resp);
    int rc = rclient_call_sync(g_fx.cli, g_fx.addr, &req, 15000, &resp);
    rcmd_deinit(&req);
    int code = rc == TERN_OK ? resp.cmd.code : -1;
    if (code == RESP_SUCCESS && json_parse(resp.cmd.body, a, out) != TERN_OK) {
        fprintf(stderr, "bad running info: %.*s\n", (int)resp.cmd.body.len,
                (const char *)resp.cmd.body.ptr);
        code = -2;
    }
    rresp_deinit(&resp);
    return code;
}

static double num(const struct json_val *obj, const char *key)
{
    const struct json_val *v = json_get(obj, key);
    return v && v->type == JSON_NUMBER ? strtod((const char *)v->str.ptr, NULL) : -1.0;
}

static bool str_is(const struct json_val *obj, const char *key, const char *want)
{
    tern_bytes_t s = json_get_str(obj, key);
    return s.ptr && tern_bytes_eq_cstr(s, want);
}

TEST(running_info_reports_what_the_consumer_did)
{
    setup();
    ons_consumer_t *c = start_consumer("GID_ri1");
    ASSERT(c != NULL);
    send_tagged("TopicRI1", "ok", 30);
    send_tagged("TopicRI1", "bad", 5);
    send_tagged("TopicRI2", "ok", 10);
    int64_t deadline = clock_mono_ms() + 15000;
    while ((atomic_load(&g_ok) < 45 || atomic_load(&g_failed) < 5) && clock_mono_ms() < deadline)
        usleep(20 * 1000);
    ASSERT_EQ(atomic_load(&g_ok), 45); /* 40 + the 5 retried ones */
    ASSERT_EQ(atomic_load(&g_failed), 5);

    arena_t a;
    arena_init(&a);
    char id[256];
    ASSERT(cfx_client_id(&g_fx, "GID_ri1", id, sizeof id));
    struct json_val *ri = NULL;
    ASSERT_EQ(running_info("GID_ri1", id, &ri, &a), RESP_SUCCESS);

    const struct json_val *props = json_get(ri, "properties");
    ASSERT(props != NULL);
    ASSERT(str_is(props, "consumerGroup", "GID_ri1"));
    ASSERT(str_is(props, "messageModel", "CLUSTERING"));
    ASSERT(str_is(props, "PROP_CONSUME_TYPE", "CONSUME_PASSIVELY"));
    ASSERT(str_is(props, "PROP_CONSUMEORDERLY", "false"));
    ASSERT(str_is(props, "consumeThreadMax", "3"));
    ASSERT(str_is(props, "PROP_NAMESERVER_ADDR", g_fx.ns_addr));
    int64_t started = 0;
    ASSERT_EQ(json_get_i64(props, "PROP_CONSUMER_START_TIMESTAMP", &started), TERN_OK);
    ASSERT(started > 0 && started <= clock_wall_ms());

    /* Two subscriptions plus the group's retry topic. */
    const struct json_val *subs = json_get(ri, "subscriptionSet");
    ASSERT(subs && subs->type == JSON_ARRAY);
    ASSERT_EQ(subs->n, 3);
    bool saw_tags = false;
    for (size_t i = 0; i < subs->n; i++)
        if (str_is(&subs->items[i], "topic", "TopicRI1")) {
            ASSERT(str_is(&subs->items[i], "subString", "ok || bad"));
            const struct json_val *tags = json_get(&subs->items[i], "tagsSet");
            ASSERT(tags && tags->n == 2);
            saw_tags = true;
        }
    ASSERT(saw_tags);

    /* One queue entry per owned queue: 4 + 2 + the retry topic's. */
    const struct json_val *mq = json_get(ri, "mqTable");
    ASSERT(mq && mq->type == JSON_OBJECT);
    ASSERT(mq->n >= 6);
    int64_t commit_sum = 0;
    for (size_t i = 0; i < mq->n; i++) {
        ASSERT(mq->keys[i].len > 0 && mq->keys[i].ptr[0] == '{'); /* a MessageQueue object */
        int64_t co = -1;
        ASSERT_EQ(json_get_i64(&mq->items[i], "commitOffset", &co), TERN_OK);
        if (strstr((const char *)mq->keys[i].ptr, "\"TopicRI") != NULL)
            commit_sum += co;
        ASSERT(json_get(&mq->items[i], "lastPullTimestamp") != NULL);
    }
    ASSERT_EQ(commit_sum, 45); /* every stored message of both topics consumed */

    /* Per-topic statistics: TopicRI1 had failures, TopicRI2 none. */
    const struct json_val *st = json_get(ri, "statusTable");
    ASSERT(st && st->type == JSON_OBJECT);
    const struct json_val *s1 = json_get(st, "TopicRI1"), *s2 = json_get(st, "TopicRI2");
    ASSERT(s1 != NULL && s2 != NULL);
    ASSERT(num(s1, "consumeOKTPS") > 0.0);
    ASSERT(num(s1, "consumeFailedTPS") > 0.0);
    ASSERT(num(s1, "pullTPS") > 0.0);
    ASSERT(num(s1, "pullRT") >= 0.0);
    ASSERT(num(s1, "consumeRT") >= 0.0);
    int64_t failed = -1;
    ASSERT_EQ(json_get_i64(s1, "consumeFailedMsgs", &failed), TERN_OK);
    ASSERT_EQ(failed, 5);
    ASSERT_EQ(json_get_i64(s2, "consumeFailedMsgs", &failed), TERN_OK);
    ASSERT_EQ(failed, 0);
    ASSERT(num(s2, "consumeFailedTPS") == 0.0);
    const struct json_val *sr = json_get(st, "%RETRY%GID_ri1"); /* the redeliveries */
    ASSERT(sr != NULL);
    ASSERT(num(sr, "consumeOKTPS") > 0.0);

    const struct json_val *js = json_get(ri, "jstack");
    ASSERT(js && js->type == JSON_STRING);
    ASSERT(strstr((const char *)js->str.ptr, "consume-0:") != NULL);

    /* Another group's request reaches this client only by a wrong id pairing:
     * the broker relays by client id, the client refuses the group. */
    struct json_val *other = NULL;
    int code = running_info("GID_ri_other", id, &other, &a);
    ASSERT(code != RESP_SUCCESS);
    arena_deinit(&a);
    ons_consumer_destroy(c);
}

struct wait_resp {
    sem_t sem;
    int code;
    char body[4096];
};

static void on_resp(void *arg, int err, struct rcmd *resp)
{
    struct wait_resp *w = arg;
    w->code = err == TERN_OK && resp ? resp->code : -1;
    size_t n = resp ? resp->body.len : 0;
    if (n >= sizeof w->body)
        n = sizeof w->body - 1;
    if (n)
        memcpy(w->body, resp->body.ptr, n);
    w->body[n] = '\0';
    sem_post(&w->sem);
}

/* GET_CONSUMER_STATUS_FROM_CLIENT for (group, topic), sent by the broker to
 * the one consumer of client_group. Returns the code; *out the parsed body. */
static int consumer_status(const char *client_group, const char *group, const char *topic,
                           struct json_val **out, arena_t *a)
{
    char id[256];
    if (!cfx_client_id(&g_fx, client_group, id, sizeof id))
        return -3;
    struct rconn *conn =
        cm_find_conn(&g_fx.b->clients, false, tern_cstr(client_group), tern_cstr(id), NULL);
    if (conn == NULL)
        return -3;
    struct wait_resp w = {.code = -1};
    sem_init(&w.sem, 0, 0);
    struct rcmd cmd;
    rcmd_init(&cmd);
    cmd.code = RC_GET_CONSUMER_STATUS_FROM_CLIENT;
    rcmd_add_cstr(&cmd, "topic", topic);
    rcmd_add_cstr(&cmd, "group", group);
    int rc = rconn_send_request(conn, &cmd, 5000, on_resp, &w);
    rcmd_deinit(&cmd);
    rconn_unref(conn);
    if (rc != TERN_OK) {
        sem_destroy(&w.sem);
        return -1;
    }
    while (sem_wait(&w.sem) != 0)
        ;
    sem_destroy(&w.sem);
    if (w.code == RESP_SUCCESS && json_parse(tern_cstr(w.body), a, out) != TERN_OK)
        return -2;
    return w.code;
}

TEST(consumer_status_lists_committed_offsets)
{
    setup();
    ons_consumer_t *c = start_consumer("GID_ri3");
    ASSERT(c != NULL);
    send_tagged("TopicRI2", "ok", 6);
    int s0 = cfx_stored(&g_fx, "TopicRI2", 0), s1 = cfx_stored(&g_fx, "TopicRI2", 1);
    ASSERT(s0 >= 0 && s1 >= 0);
    int stored = s0 + s1;
    ASSERT(stored >= 6);
    arena_t a;
    arena_init(&a);
    /* The committed offsets reach the queues' ends once everything is consumed. */
    int64_t sum = -1;
    int64_t deadline = clock_mono_ms() + 15000;
    while (sum != stored && clock_mono_ms() < deadline) {
        struct json_val *v = NULL;
        ASSERT_EQ(consumer_status("GID_ri3", "GID_ri3", "TopicRI2", &v, &a), RESP_SUCCESS);
        const struct json_val *ct = json_get(v, "consumerTable");
        ASSERT(ct && ct->type == JSON_OBJECT && ct->n == 0);
        const struct json_val *mq = json_get(v, "messageQueueTable");
        ASSERT(mq && mq->type == JSON_OBJECT);
        ASSERT_EQ(mq->n, 2); /* both queues of TopicRI2, nothing of TopicRI1 */
        sum = 0;
        for (size_t i = 0; i < mq->n; i++) {
            ASSERT(strstr((const char *)mq->keys[i].ptr, "\"topic\":\"TopicRI2\"") != NULL);
            int64_t off = -1;
            ASSERT_EQ(json_val_i64(&mq->items[i], &off), TERN_OK);
            sum += off;
        }
        if (sum != stored)
            usleep(50 * 1000);
    }
    ASSERT_EQ(sum, stored);
    struct json_val *v = NULL;
    ASSERT_EQ(consumer_status("GID_ri3", "GID_ri_other", "TopicRI2", &v, &a), RESP_SYSTEM_ERROR);
    arena_deinit(&a);
    ons_consumer_destroy(c);
}
