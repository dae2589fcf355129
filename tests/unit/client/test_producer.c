/* SPDX-License-Identifier: Apache-2.0 */
/* test_producer.c: Producer and OrderProducer against an in-process name
 * server + broker: sync, async and oneway sends, stored properties,
 * compression, scheduled messages, ordered queue choice, errors. */
#include <pthread.h>
#include <stdatomic.h>

#include "client_fixture.h"
#include "harness.h"
#include "protocol/props.h"

TEST_MAIN()

static struct cfx g_fx;
static bool g_up;

static void setup(void)
{
    if (!g_up) {
        ASSERT_EQ(cfx_start(&g_fx), 0);
        ASSERT_EQ(cfx_topic(&g_fx, "TopicP", 4), 0);
        ASSERT_EQ(cfx_topic(&g_fx, "TopicOrder", 8), 0);
        g_up = true;
    }
}

__attribute__((destructor)) static void teardown(void)
{
    if (g_up)
        cfx_stop(&g_fx);
}

static ons_producer_t *started_producer(const char *group)
{
    ons_properties_t *p = cfx_props(&g_fx, group);
    ons_exception_t *ex = NULL;
    ons_producer_t *pr = ons_factory_create_producer(p, &ex);
    ons_properties_free(p);
    if (pr == NULL || ons_producer_start(pr, &ex) != 0) {
        fprintf(stderr, "producer: %s\n", ons_exception_message(ex));
        ons_exception_free(ex);
        ons_producer_destroy(pr);
        return NULL;
    }
    return pr;
}

/* Everything stored in one topic, keyed by UNIQ_KEY. */
struct found {
    char uniq[64][40];
    char tags[64][32];
    char keys[64][32];
    char color[64][16];
    int qid[64];
    int32_t sys_flag[64];
    size_t body_len[64];
    int64_t deliver[64];
    int n;
    int cur_qid;
};

static void collect(const struct msg_record *r, void *arg)
{
    struct found *f = arg;
    if (f->n >= 64)
        return;
    tern_bytes_t v;
    f->uniq[f->n][0] = f->tags[f->n][0] = f->keys[f->n][0] = f->color[f->n][0] = '\0';
    if (props_get(r->props, PROP_UNIQ_KEY, &v))
        snprintf(f->uniq[f->n], 40, "%.*s", (int)v.len, (const char *)v.ptr);
    if (props_get(r->props, PROP_TAGS, &v))
        snprintf(f->tags[f->n], 32, "%.*s", (int)v.len, (const char *)v.ptr);
    if (props_get(r->props, PROP_KEYS, &v))
        snprintf(f->keys[f->n], 32, "%.*s", (int)v.len, (const char *)v.ptr);
    if (props_get(r->props, "color", &v))
        snprintf(f->color[f->n], 16, "%.*s", (int)v.len, (const char *)v.ptr);
    f->deliver[f->n] = 0;
    if (props_get(r->props, PROP_START_DELIVER_TIME, &v))
        parse_i64(v, &f->deliver[f->n]);
    f->qid[f->n] = f->cur_qid;
    f->sys_flag[f->n] = r->sys_flag;
    f->body_len[f->n] = r->body.len;
    f->n++;
}

static void collect_all(const char *topic, int queues, struct found *f)
{
    memset(f, 0, sizeof *f);
    for (int q = 0; q < queues; q++) {
        f->cur_qid = q;
        for (int64_t off = 0;;) {
            int before = f->n;
            int n = cfx_pull(&g_fx, "check_group", topic, q, off, collect, f);
            if (n <= 0)
                break;
            off += n;
            (void)before;
        }
    }
}

static int find(const struct found *f, const char *id)
{
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->uniq[i], id) == 0)
            return i;
    return -1;
}

TEST(sync_send_is_stored_with_properties)
{
    setup();
    ons_producer_t *pr = started_producer("GID_sync");
    ASSERT(pr != NULL);
    ASSERT(ons_producer_is_started(pr));
    ons_message_t *m = ons_message_new_with_key("TopicP", "TagA", "order-1", "hello", 5);
    ASSERT_EQ(ons_message_put_user_properties(m, "color", "red", NULL), 0);
    ons_send_result_t *r = NULL;
    ons_exception_t *ex = NULL;
    ASSERT_EQ(ons_producer_send(pr, m, &r, &ex), 0);
    ASSERT(ex == NULL);
    ASSERT_EQ(strlen(ons_send_result_get_message_id(r)), 32);
    ASSERT_STR_EQ(ons_send_result_get_topic(r), "TopicP");
    char *s = ons_send_result_to_string(r);
    ASSERT(strstr(s, "SendResult[topic=TopicP, messageId=") == s);
    free(s);
    struct found f;
    collect_all("TopicP", 4, &f);
    int i = find(&f, ons_send_result_get_message_id(r));
    ASSERT(i >= 0);
    ASSERT_STR_EQ(f.tags[i], "TagA");
    ASSERT_STR_EQ(f.keys[i], "order-1");
    ASSERT_STR_EQ(f.color[i], "red");
    ASSERT_EQ(f.sys_flag[i] & 1, 0);
    ons_send_result_free(r);
    ons_message_free(m);
    ons_producer_destroy(pr);
}

TEST(big_body_is_compressed)
{
    setup();
    ons_producer_t *pr = started_producer("GID_zip");
    ASSERT(pr != NULL);
    size_t n = 64 * 1024;
    char *body = malloc(n);
    for (size_t i = 0; i < n; i++)
        body[i] = (char)('a' + i % 7);
    ons_message_t *m = ons_message_new_with_tag("TopicP", "Big", body, n);
    ons_send_result_t *r = NULL;
    ASSERT_EQ(ons_producer_send(pr, m, &r, NULL), 0);
    struct found f;
    collect_all("TopicP", 4, &f);
    int i = find(&f, ons_send_result_get_message_id(r));
    ASSERT(i >= 0);
    ASSERT_EQ(f.sys_flag[i] & 1, 1);
    ASSERT(f.body_len[i] < n);
    ons_send_result_free(r);
    ons_message_free(m);
    free(body);
    ons_producer_destroy(pr);
}

struct async_state {
    atomic_int ok, failed, wrong_topic;
    char ids[20][40];
};

static void on_ok(const ons_send_result_t *r, void *user)
{
    struct async_state *s = user;
    if (strcmp(ons_send_result_get_topic(r), "TopicP") != 0)
        atomic_fetch_add(&s->wrong_topic, 1);
    int i = atomic_fetch_add(&s->ok, 1);
    if (i < 20)
        snprintf(s->ids[i], 40, "%s", ons_send_result_get_message_id(r));
}

static void on_fail(const ons_on_exception_context_t *ctx, void *user)
{
    struct async_state *s = user;
    fprintf(stderr, "async failed: %s\n", ons_exception_message(ctx->exception));
    atomic_fetch_add(&s->failed, 1);
}

TEST(async_and_oneway_sends)
{
    setup();
    ons_producer_t *pr = started_producer("GID_async");
    ASSERT(pr != NULL);
    static struct async_state st;
    ons_send_callback_t cb = {on_ok, on_fail, &st};
    for (int i = 0; i < 20; i++) {
        char key[32];
        snprintf(key, sizeof key, "async-%d", i);
        ons_message_t *m = ons_message_new_with_key("TopicP", "Async", key, "x", 1);
        ASSERT_EQ(ons_producer_send_async(pr, m, &cb, NULL), 0);
        ons_message_free(m);
    }
    ons_message_t *m = ons_message_new_with_key("TopicP", "Oneway", "oneway-1", "y", 1);
    ASSERT_EQ(ons_producer_send_oneway(pr, m, NULL), 0);
    ons_message_free(m);
    int64_t deadline = clock_mono_ms() + 10000;
    while (atomic_load(&st.ok) + atomic_load(&st.failed) < 20 && clock_mono_ms() < deadline)
        usleep(10000);
    ASSERT_EQ(atomic_load(&st.ok), 20);
    ASSERT_EQ(atomic_load(&st.failed), 0);
    ASSERT_EQ(atomic_load(&st.wrong_topic), 0);
    usleep(300 * 1000);
    struct found f;
    collect_all("TopicP", 4, &f);
    for (int i = 0; i < 20; i++)
        ASSERT(find(&f, st.ids[i]) >= 0);
    bool oneway = false;
    int queues_used = 0, seen[4] = {0};
    for (int i = 0; i < f.n; i++) {
        if (strcmp(f.keys[i], "oneway-1") == 0)
            oneway = true;
        if (strcmp(f.tags[i], "Async") == 0 && !seen[f.qid[i]]++)
            queues_used++;
    }
    ASSERT(oneway);
    ASSERT_EQ(queues_used, 4); /* round robin over the queues */
    ons_producer_destroy(pr);
}

TEST(scheduled_message_and_limits)
{
    setup();
    ons_producer_t *pr = started_producer("GID_sched");
    ASSERT(pr != NULL);
    ons_message_t *m = ons_message_new_with_tag("TopicP", "Later", "z", 1);
    ons_exception_t *ex = NULL;
    ons_message_set_start_deliver_time(m, clock_wall_ms() + 41LL * 86400000);
    ASSERT_EQ(ons_producer_send(pr, m, NULL, &ex), -1);
    ASSERT_EQ(ons_exception_category(ex), ONS_ERR_ILLEGAL_ARGUMENT);
    ons_exception_free(ex);
    ex = NULL;
    /* Too many properties. */
    ons_message_t *big = ons_message_new_with_tag("TopicP", "P", "z", 1);
    char val[1024];
    memset(val, 'v', sizeof val - 1);
    val[sizeof val - 1] = '\0';
    for (int i = 0; i < 9; i++) {
        char k[32];
        snprintf(k, sizeof k, "k%d", i);
        ons_message_put_user_properties(big, k, val, NULL);
    }
    ASSERT_EQ(ons_producer_send(pr, big, NULL, &ex), -1);
    ASSERT_EQ(ons_exception_category(ex), ONS_ERR_MESSAGE_ILLEGAL);
    ons_exception_free(ex);
    ex = NULL;
    ons_message_free(big);
    /* Unknown topic. */
    ons_message_t *nt = ons_message_new_with_tag("NoSuchTopic", "T", "z", 1);
    ASSERT_EQ(ons_producer_send(pr, nt, NULL, &ex), -1);
    ASSERT_EQ(ons_exception_category(ex), ONS_ERR_TOPIC_NOT_EXIST);
    ons_exception_free(ex);
    ex = NULL;
    ons_message_free(nt);
    ons_message_free(m);
    ons_producer_destroy(pr);
}

TEST(lifecycle_states)
{
    setup();
    ons_properties_t *p = cfx_props(&g_fx, "GID_life");
    ons_exception_t *ex = NULL;
    ons_producer_t *pr = ons_factory_create_producer(p, &ex);
    ons_properties_free(p);
    ASSERT(pr != NULL);
    ASSERT(!ons_producer_is_started(pr));
    ASSERT(!ons_producer_is_closed(pr));
    ons_message_t *m = ons_message_new_with_tag("TopicP", "T", "z", 1);
    ASSERT_EQ(ons_producer_send(pr, m, NULL, &ex), -1);
    ASSERT_EQ(ons_exception_category(ex), ONS_ERR_ILLEGAL_STATE);
    ons_exception_free(ex);
    ex = NULL;
    ASSERT_EQ(ons_producer_start(pr, NULL), 0);
    ASSERT_EQ(ons_producer_start(pr, NULL), 0); /* no-op */
    ons_producer_shutdown(pr);
    ons_producer_shutdown(pr); /* idempotent */
    ASSERT(ons_producer_is_closed(pr));
    ASSERT(!ons_producer_is_started(pr));
    ASSERT_EQ(ons_producer_start(pr, &ex), -1);
    ASSERT_EQ(ons_exception_category(ex), ONS_ERR_ILLEGAL_STATE);
    ons_exception_free(ex);
    ons_message_free(m);
    ons_producer_destroy(pr);
}

TEST(unreachable_name_server_fails_start)
{
    ons_properties_t *p = ons_properties_new();
    ons_properties_put(p, ONS_NAMESRV_ADDR, "127.0.0.1:1");
    ons_properties_put(p, ONS_GROUP_ID, "GID_x");
    ons_properties_put(p, ONS_ACCESS_KEY, "ak");
    ons_properties_put(p, ONS_SECRET_KEY, "sk");
    ons_exception_t *ex = NULL;
    ons_producer_t *pr = ons_factory_create_producer(p, &ex);
    ons_properties_free(p);
    ASSERT(pr != NULL);
    ASSERT_EQ(ons_producer_start(pr, &ex), -1);
    ASSERT_EQ(ons_exception_category(ex), ONS_ERR_NETWORK);
    ASSERT(!ons_producer_is_started(pr));
    ons_exception_free(ex);
    ons_producer_destroy(pr);
}

TEST(order_producer_same_key_same_queue)
{
    setup();
    ons_properties_t *p = cfx_props(&g_fx, "GID_order");
    ons_properties_put(p, "SHARDINGKEY", "dflt");
    ons_exception_t *ex = NULL;
    ons_order_producer_t *op = ons_factory_create_order_producer(p, &ex);
    ons_properties_free(p);
    ASSERT(op != NULL);
    ASSERT_EQ(ons_order_producer_start(op, &ex), 0);
    char ids[3][10][40];
    const char *keys[3] = {"user-1", "user-2", NULL};
    for (int k = 0; k < 3; k++) {
        for (int i = 0; i < 10; i++) {
            char b[40];
            snprintf(b, sizeof b, "%d-%d", k, i);
            ons_message_t *m = ons_message_new_with_tag("TopicOrder", "O", b, strlen(b));
            ons_send_result_t *r = NULL;
            ASSERT_EQ(ons_order_producer_send(op, m, keys[k], &r, &ex), 0);
            snprintf(ids[k][i], 40, "%s", ons_send_result_get_message_id(r));
            ons_send_result_free(r);
            ons_message_free(m);
        }
    }
    /* Scheduled ordered messages are refused. */
    ons_message_t *m = ons_message_new_with_tag("TopicOrder", "O", "s", 1);
    ons_message_set_start_deliver_time(m, clock_wall_ms() + 1000);
    ASSERT_EQ(ons_order_producer_send(op, m, "k", NULL, &ex), -1);
    ASSERT_EQ(ons_exception_category(ex), ONS_ERR_ILLEGAL_ARGUMENT);
    ons_exception_free(ex);
    ons_message_free(m);
    struct found f;
    collect_all("TopicOrder", 8, &f);
    for (int k = 0; k < 3; k++) {
        int q = -1;
        for (int i = 0; i < 10; i++) {
            int at = find(&f, ids[k][i]);
            ASSERT(at >= 0);
            if (q < 0)
                q = f.qid[at];
            ASSERT_EQ(f.qid[at], q);
        }
    }
    ons_order_producer_destroy(op);
}

struct mt_arg {
    ons_producer_t *pr;
    atomic_int ok;
};

static void *mt_sender(void *arg)
{
    struct mt_arg *a = arg;
    for (int i = 0; i < 25; i++) {
        ons_message_t *m = ons_message_new_with_tag("TopicP", "MT", "m", 1);
        if (ons_producer_send(a->pr, m, NULL, NULL) == 0)
            atomic_fetch_add(&a->ok, 1);
        ons_message_free(m);
    }
    return NULL;
}

TEST(many_threads_share_one_producer)
{
    setup();
    static struct mt_arg a;
    a.pr = started_producer("GID_mt");
    ASSERT(a.pr != NULL);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, mt_sender, &a);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    ASSERT_EQ(atomic_load(&a.ok), 100);
    ons_producer_destroy(a.pr);
}
