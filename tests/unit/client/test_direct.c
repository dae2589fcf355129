/* SPDX-License-Identifier: Apache-2.0 */
/* test_direct.c: CONSUME_MESSAGE_DIRECTLY (309) relayed by a real broker to a
 * libons consumer of each kind (Consumer, BatchConsumer, OrderConsumer), as
 * an admin tool asks it: the listener runs once more with the stored message
 * the msgId names, and the answer is a ConsumeMessageDirectlyResult whose
 * consumeResult follows what the listener returned. A message of a topic the
 * consumer does not subscribe is refused; nothing else is consumed twice. */
#include <pthread.h>
#include <stdatomic.h>

#include "client_fixture.h"
#include "harness.h"
#include "protocol/msgid.h"

TEST_MAIN()

static struct cfx g_fx;
static bool g_up;
static ons_producer_t *g_pr;

static void setup(void)
{
    if (!g_up) {
        ASSERT_EQ(cfx_start(&g_fx), 0);
        ASSERT_EQ(cfx_topic(&g_fx, "TopicCDc", 1), 0);
        ASSERT_EQ(cfx_topic(&g_fx, "TopicCDb", 1), 0);
        ASSERT_EQ(cfx_topic(&g_fx, "TopicCDo", 1), 0);
        ASSERT_EQ(cfx_topic(&g_fx, "TopicCDx", 1), 0);
        g_pr = cfx_producer(&g_fx, "GID_cdprod");
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

/* What the listeners saw and what they answer (every kind). */
static _Atomic int g_calls;
static _Atomic bool g_later; /* answer ReconsumeLater / Suspend */
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static char g_last[64]; /* guarded by g_mu: body of the last message seen */

static bool seen(const ons_message_t *m)
{
    size_t len = 0;
    const char *b = ons_message_get_body(m, &len);
    pthread_mutex_lock(&g_mu);
    snprintf(g_last, sizeof g_last, "%.*s", (int)len, b ? b : "");
    pthread_mutex_unlock(&g_mu);
    atomic_fetch_add(&g_calls, 1);
    return !atomic_load(&g_later);
}

static ons_action_t on_msg(const ons_message_t *m, ons_consume_context_t *ctx, void *user)
{
    (void)ctx;
    (void)user;
    return seen(m) ? ONS_ACTION_COMMIT_MESSAGE : ONS_ACTION_RECONSUME_LATER;
}

static ons_action_t on_batch(const ons_message_t *const *msgs, size_t n, ons_consume_context_t *ctx,
                             void *user)
{
    (void)ctx;
    (void)user;
    bool ok = true;
    for (size_t i = 0; i < n; i++)
        ok = seen(msgs[i]) && ok;
    return ok ? ONS_ACTION_COMMIT_MESSAGE : ONS_ACTION_RECONSUME_LATER;
}

static ons_order_action_t on_order(const ons_message_t *m, ons_consume_order_context_t *ctx,
                                   void *user)
{
    (void)ctx;
    (void)user;
    return seen(m) ? ONS_ORDER_ACTION_SUCCESS : ONS_ORDER_ACTION_SUSPEND;
}

static void send_body(const char *topic, const char *body)
{
    ons_message_t *m = ons_message_new_with_key(topic, "cd", NULL, body, strlen(body));
    ons_exception_t *ex = NULL;
    if (ons_producer_send(g_pr, m, NULL, &ex) != 0) {
        fprintf(stderr, "send: %s\n", ons_exception_message(ex));
        ons_exception_free(ex);
    }
    ons_message_free(m);
}

struct find_id {
    const char *body;
    char id[MSGID_MAX_LEN + 1];
};

static void match_body(const struct msg_record *r, void *arg)
{
    struct find_id *f = arg;
    if (r->body.len == strlen(f->body) && memcmp(r->body.ptr, f->body, r->body.len) == 0)
        msgid_encode(&r->store_host, r->phy_off, f->id);
}

/* The offset msgId of the stored message of topic (queue 0) with body. */
static bool offset_id(const char *topic, const char *body, char *out)
{
    struct find_id f = {.body = body, .id = ""};
    if (cfx_pull(&g_fx, "GID_cdprobe", topic, 0, 0, match_body, &f) < 0 || f.id[0] == '\0')
        return false;
    memcpy(out, f.id, sizeof f.id);
    return true;
}

/* CONSUME_MESSAGE_DIRECTLY through the broker. Returns the response code;
 * on success *out is the parsed body (arena a). */
static int direct(const char *group, const char *client, const char *msg_id, struct json_val **out,
                  arena_t *a)
{
    struct rcmd req;
    rcmd_init(&req);
    req.code = RC_CONSUME_MESSAGE_DIRECTLY;
    rcmd_add_cstr(&req, "consumerGroup", group);
    rcmd_add_cstr(&req, "clientId", client);
    rcmd_add_cstr(&req, "msgId", msg_id);
    struct rresp resp;
    rresp_init(&resp);
    int rc = rclient_call_sync(g_fx.cli, g_fx.addr, &req, 15000, &resp);
    rcmd_deinit(&req);
    int code = rc == TERN_OK ? resp.cmd.code : -1;
    if (code == RESP_SUCCESS && json_parse(resp.cmd.body, a, out) != TERN_OK)
        code = -2;
    rresp_deinit(&resp);
    return code;
}

static bool str_is(const struct json_val *obj, const char *key, const char *want)
{
    tern_bytes_t s = json_get_str(obj, key);
    return s.ptr && tern_bytes_eq_cstr(s, want);
}

static bool bool_is(const struct json_val *obj, const char *key, bool want)
{
    const struct json_val *v = json_get(obj, key);
    return v && v->type == JSON_BOOL && v->b == want;
}

static bool wait_calls(int n)
{
    int64_t deadline = clock_mono_ms() + 15000;
    while (atomic_load(&g_calls) < n && clock_mono_ms() < deadline)
        usleep(10 * 1000);
    return atomic_load(&g_calls) >= n;
}

static bool last_is(const char *body)
{
    pthread_mutex_lock(&g_mu);
    bool eq = strcmp(g_last, body) == 0;
    pthread_mutex_unlock(&g_mu);
    return eq;
}

enum kind { K_CONCURRENT, K_BATCH, K_ORDER };

/* One consumer of kind k on topic, started; *handle is what destroy takes. */
static void *start_kind(enum kind k, const char *group, const char *topic)
{
    ons_properties_t *p = cfx_props(&g_fx, group);
    ons_exception_t *ex = NULL;
    void *h = NULL;
    int rc = -1;
    if (k == K_CONCURRENT) {
        ons_consumer_t *c = ons_factory_create_consumer(p, &ex);
        rc = c && ons_consumer_subscribe(c, topic, "*", on_msg, NULL, &ex) == 0
                 ? ons_consumer_start(c, &ex)
                 : -1;
        h = c;
    } else if (k == K_BATCH) {
        ons_batch_consumer_t *c = ons_factory_create_batch_consumer(p, &ex);
        rc = c && ons_batch_consumer_subscribe(c, topic, "*", on_batch, NULL, &ex) == 0
                 ? ons_batch_consumer_start(c, &ex)
                 : -1;
        h = c;
    } else {
        ons_order_consumer_t *c = ons_factory_create_ordered_consumer(p, &ex);
        rc = c && ons_order_consumer_subscribe(c, topic, "*", on_order, NULL, &ex) == 0
                 ? ons_order_consumer_start(c, &ex)
                 : -1;
        h = c;
    }
    ons_properties_free(p);
    if (rc != 0) {
        fprintf(stderr, "consumer: %s\n", ex ? ons_exception_message(ex) : "?");
        ons_exception_free(ex);
    }
    return rc == 0 ? h : NULL;
}

static void destroy_kind(enum kind k, void *h)
{
    if (k == K_CONCURRENT)
        ons_consumer_destroy(h);
    else if (k == K_BATCH)
        ons_batch_consumer_destroy(h);
    else
        ons_order_consumer_destroy(h);
}

static void check_kind(enum kind k, const char *group, const char *topic)
{
    setup();
    atomic_store(&g_calls, 0);
    atomic_store(&g_later, false);
    void *h = start_kind(k, group, topic);
    ASSERT(h != NULL);
    char body[64];
    snprintf(body, sizeof body, "direct-%s", topic);
    send_body(topic, body);
    ASSERT(wait_calls(1)); /* the normal delivery, committed */
    ASSERT(last_is(body));

    char client[256], id[MSGID_MAX_LEN + 1];
    ASSERT(cfx_client_id(&g_fx, group, client, sizeof client));
    ASSERT(offset_id(topic, body, id));
    arena_t a;
    arena_init(&a);

    /* The listener says "later": CR_LATER, and it ran once more. */
    atomic_store(&g_later, true);
    pthread_mutex_lock(&g_mu);
    g_last[0] = '\0';
    pthread_mutex_unlock(&g_mu);
    struct json_val *r = NULL;
    ASSERT_EQ(direct(group, client, id, &r, &a), RESP_SUCCESS);
    ASSERT(str_is(r, "consumeResult", "CR_LATER"));
    ASSERT(bool_is(r, "order", k == K_ORDER));
    ASSERT(bool_is(r, "autoCommit", true));
    int64_t spent = -1;
    ASSERT_EQ(json_get_i64(r, "spentTimeMills", &spent), TERN_OK);
    ASSERT(spent >= 0);
    ASSERT_EQ(atomic_load(&g_calls), 2);
    ASSERT(last_is(body));

    /* It says "commit": CR_SUCCESS. */
    atomic_store(&g_later, false);
    ASSERT_EQ(direct(group, client, id, &r, &a), RESP_SUCCESS);
    ASSERT(str_is(r, "consumeResult", "CR_SUCCESS"));
    ASSERT_EQ(atomic_load(&g_calls), 3);

    /* A message of a topic this consumer does not subscribe. */
    send_body("TopicCDx", "not-mine");
    char other[MSGID_MAX_LEN + 1];
    ASSERT(offset_id("TopicCDx", "not-mine", other));
    ASSERT_EQ(direct(group, client, other, &r, &a), RESP_SYSTEM_ERROR);
    ASSERT_EQ(atomic_load(&g_calls), 3);

    /* A msgId that names no stored message: the broker refuses it. */
    ASSERT_EQ(direct(group, client, "7F00000100002A9F00000000FFFFFF00", &r, &a), RESP_SYSTEM_ERROR);

    /* The direct calls acknowledged and re-sent nothing: no redelivery. */
    usleep(1500 * 1000);
    ASSERT_EQ(atomic_load(&g_calls), 3);
    arena_deinit(&a);
    destroy_kind(k, h);
}

TEST(consumer_consumes_directly)
{
    check_kind(K_CONCURRENT, "GID_cd_c", "TopicCDc");
}

TEST(batch_consumer_consumes_directly)
{
    check_kind(K_BATCH, "GID_cd_b", "TopicCDb");
}

TEST(order_consumer_consumes_directly)
{
    check_kind(K_ORDER, "GID_cd_o", "TopicCDo");
}
