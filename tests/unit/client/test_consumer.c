/* SPDX-License-Identifier: Apache-2.0 */
/* test_consumer.c: the push Consumer and BatchConsumer against an
 * in-process name server + broker: delivery with tags/keys/properties,
 * two consumers splitting queues, tag filters, ReconsumeLater redelivery
 * through the retry topic, offsets committed at shutdown, broadcasting,
 * ConsumeTimeout (a listener call running too long is retried, its late
 * result ignored). */
#include <pthread.h>
#include <stdatomic.h>

#include "client/consumer_int.h"
#include "client_fixture.h"
#include "harness.h"

TEST_MAIN()

static struct cfx g_fx;
static bool g_up;
static ons_producer_t *g_pr;

static void setup(void)
{
    if (!g_up) {
        ASSERT_EQ(cfx_start(&g_fx), 0);
        const char *topics[] = {"TopicC1", "TopicC2", "TopicC3", "TopicC4",
                                "TopicC5", "TopicC6", "TopicC7", "TopicC8"};
        for (size_t i = 0; i < sizeof topics / sizeof topics[0]; i++)
            ASSERT_EQ(cfx_topic(&g_fx, topics[i], 4), 0);
        ASSERT_EQ(cfx_topic(&g_fx, "TopicC9", 2), 0);
        ons_properties_t *p = cfx_props(&g_fx, "GID_cprod");
        g_pr = ons_factory_create_producer(p, NULL);
        ons_properties_free(p);
        ASSERT(g_pr != NULL);
        ASSERT_EQ(ons_producer_start(g_pr, NULL), 0);
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

/* What a listener saw. */
#define MAXSEEN 256
struct seen {
    pthread_mutex_t mu;
    int n;
    char body[MAXSEEN][16];
    char tag[MAXSEEN][16];
    char key[MAXSEEN][16];
    char prop[MAXSEEN][16];
    char id[MAXSEEN][40];
    int reconsume[MAXSEEN];
    int fail_first; /* ReconsumeLater for the first delivery of each message */
    int modified;   /* setters that succeeded on a delivered (read-only) message */
};

static void seen_init(struct seen *s)
{
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
}

static ons_action_t listener(const ons_message_t *m, ons_consume_context_t *ctx, void *user)
{
    (void)ctx;
    struct seen *s = user;
    size_t len;
    const char *b = ons_message_get_body(m, &len);
    pthread_mutex_lock(&s->mu);
    int i = s->n < MAXSEEN ? s->n++ : MAXSEEN - 1;
    snprintf(s->body[i], 16, "%.*s", (int)len, b);
    snprintf(s->tag[i], 16, "%s", ons_message_get_tag(m) ? ons_message_get_tag(m) : "");
    snprintf(s->key[i], 16, "%s", ons_message_get_key(m) ? ons_message_get_key(m) : "");
    const char *pv = ons_message_get_user_properties(m, "p");
    snprintf(s->prop[i], 16, "%s", pv ? pv : "");
    snprintf(s->id[i], 40, "%s", ons_message_get_msg_id(m));
    s->reconsume[i] = ons_message_get_reconsume_times(m);
    /* A delivered message is read-only: a listener casting const away gets
     * errors, not a crash. */
    ons_message_t *w = (ons_message_t *)m;
    s->modified += ons_message_set_tag(w, "X") == 0;
    s->modified += ons_message_set_body(w, "x", 1) == 0;
    s->modified += ons_message_put_user_properties(w, "k", "v", NULL) == 0;
    bool fail = s->fail_first && ons_message_get_reconsume_times(m) == 0;
    pthread_mutex_unlock(&s->mu);
    return fail ? ONS_ACTION_RECONSUME_LATER : ONS_ACTION_COMMIT_MESSAGE;
}

static int seen_count(struct seen *s)
{
    pthread_mutex_lock(&s->mu);
    int n = s->n;
    pthread_mutex_unlock(&s->mu);
    return n;
}

static bool wait_count(struct seen *s, int n, int ms)
{
    int64_t deadline = clock_mono_ms() + ms;
    while (seen_count(s) < n && clock_mono_ms() < deadline)
        usleep(20 * 1000);
    return seen_count(s) >= n;
}

static int count_body(struct seen *s, const char *body)
{
    int c = 0;
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->body[i], body) == 0)
            c++;
    return c;
}

static ons_consumer_t *consumer(const char *group, const char *topic, const char *expr,
                                struct seen *s, const char *model, bool start)
{
    ons_properties_t *p = cfx_props(&g_fx, group);
    ons_properties_put(p, ONS_CONSUME_THREAD_NUMS, "4");
    if (model)
        ons_properties_put(p, ONS_MESSAGE_MODEL, model);
    ons_properties_put(p, ONS_LOCAL_OFFSET_STORE_DIR, g_fx.dir);
    ons_exception_t *ex = NULL;
    ons_consumer_t *c = ons_factory_create_consumer(p, &ex);
    ons_properties_free(p);
    if (c == NULL)
        return NULL;
    if (ons_consumer_subscribe(c, topic, expr, listener, s, &ex) != 0 ||
        (start && ons_consumer_start(c, &ex) != 0)) {
        fprintf(stderr, "consumer: %s\n", ons_exception_message(ex));
        ons_exception_free(ex);
        ons_consumer_destroy(c);
        return NULL;
    }
    return c;
}

static void psend(const char *topic, const char *tag, const char *key, const char *body,
                  const char *prop)
{
    ons_message_t *m = ons_message_new_with_key(topic, tag, key, body, strlen(body));
    if (prop)
        ons_message_put_user_properties(m, "p", prop, NULL);
    ons_exception_t *ex = NULL;
    if (ons_producer_send(g_pr, m, NULL, &ex) != 0) {
        fprintf(stderr, "send: %s\n", ons_exception_message(ex));
        ons_exception_free(ex);
    }
    ons_message_free(m);
}

TEST(consumer_receives_every_message_intact)
{
    setup();
    static struct seen s;
    seen_init(&s);
    ons_consumer_t *c = consumer("GID_c1", "TopicC1", "*", &s, NULL, true);
    ASSERT(c != NULL);
    ASSERT(ons_consumer_is_started(c));
    for (int i = 0; i < 40; i++) {
        char b[32], k[16];
        snprintf(b, sizeof b, "m%d", i);
        snprintf(k, sizeof k, "k%d", i);
        psend("TopicC1", "TagA", k, b, "pv");
    }
    ASSERT(wait_count(&s, 40, 10000));
    usleep(200 * 1000);
    ASSERT_EQ(seen_count(&s), 40);
    ASSERT_EQ(s.modified, 0);
    for (int i = 0; i < 40; i++) {
        char b[32];
        snprintf(b, sizeof b, "m%d", i);
        ASSERT_EQ(count_body(&s, b), 1);
    }
    for (int i = 0; i < 40; i++) {
        ASSERT_STR_EQ(s.tag[i], "TagA");
        ASSERT_STR_EQ(s.prop[i], "pv");
        ASSERT_EQ(s.key[i][0], 'k');
        ASSERT_STR_EQ(s.key[i] + 1, s.body[i] + 1);
        ASSERT_EQ(strlen(s.id[i]), 32);
    }
    ons_consumer_destroy(c);
}

/* Queues of topic c holds now (not dropped, not its retry topic's). */
static int held(ons_consumer_t *c, const char *topic)
{
    int n = 0;
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->npqs; i++)
        n += !c->pqs[i]->retry && !atomic_load(&c->pqs[i]->dropped) &&
             strcmp(c->pqs[i]->wire_topic, topic) == 0;
    pthread_mutex_unlock(&c->mu);
    return n;
}

TEST(two_consumers_split_queues)
{
    setup();
    static struct seen s1, s2;
    seen_init(&s1);
    seen_init(&s2);
    ons_consumer_t *a = consumer("GID_c2", "TopicC2", NULL, &s1, NULL, true);
    ons_consumer_t *b = consumer("GID_c2", "TopicC2", NULL, &s2, NULL, true);
    ASSERT(a != NULL && b != NULL);
    /* NOTIFY_CONSUMER_IDS_CHANGED rebalances the first one: send only once
     * the four queues are split between them, none held twice. */
    int64_t settle = clock_mono_ms() + 10000;
    while (!(held(a, "TopicC2") > 0 && held(b, "TopicC2") > 0 &&
             held(a, "TopicC2") + held(b, "TopicC2") == 4) &&
           clock_mono_ms() < settle)
        usleep(20 * 1000);
    ASSERT_EQ(held(a, "TopicC2") + held(b, "TopicC2"), 4);
    for (int i = 0; i < 80; i++) {
        char b2[32];
        snprintf(b2, sizeof b2, "s%d", i);
        psend("TopicC2", "T", "k", b2, NULL);
    }
    int64_t deadline = clock_mono_ms() + 15000;
    while (seen_count(&s1) + seen_count(&s2) < 80 && clock_mono_ms() < deadline)
        usleep(20 * 1000);
    usleep(300 * 1000);
    ASSERT_EQ(seen_count(&s1) + seen_count(&s2), 80);
    ASSERT(seen_count(&s1) > 0);
    ASSERT(seen_count(&s2) > 0);
    for (int i = 0; i < 80; i++) {
        char b2[32];
        snprintf(b2, sizeof b2, "s%d", i);
        ASSERT_EQ(count_body(&s1, b2) + count_body(&s2, b2), 1);
    }
    ons_consumer_destroy(a);
    ons_consumer_destroy(b);
}

TEST(tag_filter)
{
    setup();
    static struct seen s;
    seen_init(&s);
    ons_consumer_t *c = consumer("GID_c3", "TopicC3", "TagA || TagC", &s, NULL, true);
    ASSERT(c != NULL);
    psend("TopicC3", "TagA", "k", "a", NULL);
    psend("TopicC3", "TagB", "k", "b", NULL);
    psend("TopicC3", "TagC", "k", "c", NULL);
    psend("TopicC3", NULL, "k", "none", NULL);
    ASSERT(wait_count(&s, 2, 10000));
    usleep(500 * 1000);
    ASSERT_EQ(seen_count(&s), 2);
    ASSERT_EQ(count_body(&s, "a"), 1);
    ASSERT_EQ(count_body(&s, "c"), 1);
    /* Re-subscribing replaces the expression. */
    ASSERT_EQ(ons_consumer_subscribe(c, "TopicC3", "TagB", listener, &s, NULL), 0);
    usleep(300 * 1000);
    psend("TopicC3", "TagA", "k", "a2", NULL);
    psend("TopicC3", "TagB", "k", "b2", NULL);
    int64_t deadline = clock_mono_ms() + 20000;
    while (count_body(&s, "b2") == 0 && clock_mono_ms() < deadline)
        usleep(20 * 1000);
    usleep(500 * 1000);
    /* "b" may show up too: its queue had not been read past it when the
     * expression changed, so the new expression applies to it. */
    ASSERT_EQ(count_body(&s, "b2"), 1);
    ASSERT_EQ(count_body(&s, "a2"), 0);
    ASSERT_EQ(count_body(&s, "none"), 0);
    ons_consumer_destroy(c);
}

TEST(reconsume_later_redelivers_through_retry_topic)
{
    setup();
    static struct seen s;
    seen_init(&s);
    s.fail_first = 1;
    ons_consumer_t *c = consumer("GID_c4", "TopicC4", "*", &s, NULL, true);
    ASSERT(c != NULL);
    psend("TopicC4", "R", "rk", "retry-me", "pv");
    ASSERT(wait_count(&s, 2, 40000));
    usleep(1500 * 1000);
    ASSERT_EQ(count_body(&s, "retry-me"), 2);
    ASSERT_EQ(s.reconsume[0], 0);
    ASSERT_EQ(s.reconsume[1], 1);
    ASSERT_STR_EQ(s.id[0], s.id[1]);
    ASSERT_STR_EQ(s.tag[1], "R");
    ASSERT_STR_EQ(s.key[1], "rk");
    ASSERT_STR_EQ(s.prop[1], "pv");
    ons_consumer_destroy(c);
}

TEST(shutdown_commits_offsets_and_restart_resumes)
{
    setup();
    static struct seen s;
    seen_init(&s);
    ons_consumer_t *c = consumer("GID_c5", "TopicC5", "*", &s, NULL, true);
    ASSERT(c != NULL);
    for (int i = 0; i < 10; i++) {
        char b[32];
        snprintf(b, sizeof b, "first%d", i);
        psend("TopicC5", "T", "k", b, NULL);
    }
    ASSERT(wait_count(&s, 10, 10000));
    ons_consumer_shutdown(c);
    ASSERT(ons_consumer_is_closed(c));
    ons_consumer_destroy(c);
    for (int i = 0; i < 10; i++) {
        char b[32];
        snprintf(b, sizeof b, "second%d", i);
        psend("TopicC5", "T", "k", b, NULL);
    }
    c = consumer("GID_c5", "TopicC5", "*", &s, NULL, true);
    ASSERT(c != NULL);
    ASSERT(wait_count(&s, 20, 10000));
    usleep(500 * 1000);
    ASSERT_EQ(seen_count(&s), 20);
    for (int i = 0; i < 10; i++) {
        char b[32];
        snprintf(b, sizeof b, "second%d", i);
        ASSERT_EQ(count_body(&s, b), 1);
    }
    ons_consumer_destroy(c);
}

/* A backlog of several full pulls per queue: the consumer pulls batches
 * ahead of the one it handles (consumer_pull.c); every message still comes
 * exactly once, and none after the backlog. */
TEST(backlog_drained_with_pulls_ahead_exactly_once)
{
    setup();
    static struct seen s;
    seen_init(&s);
    ons_consumer_t *c = consumer("GID_c9", "TopicC9", "*", &s, NULL, true);
    ASSERT(c != NULL);
    ons_consumer_destroy(c); /* the group's offsets now sit at the queues' ends */
    enum { N = 250 };
    for (int i = 0; i < N; i++) {
        char b[16];
        snprintf(b, sizeof b, "b%d", i);
        psend("TopicC9", "T", "k", b, NULL);
    }
    c = consumer("GID_c9", "TopicC9", "*", &s, NULL, true);
    ASSERT(c != NULL);
    ASSERT(wait_count(&s, N, 15000));
    usleep(500 * 1000);
    ASSERT_EQ(seen_count(&s), N);
    for (int i = 0; i < N; i++) {
        char b[16];
        snprintf(b, sizeof b, "b%d", i);
        ASSERT_EQ(count_body(&s, b), 1);
    }
    psend("TopicC9", "T", "k", "late", NULL);
    ASSERT(wait_count(&s, N + 1, 10000));
    ASSERT_EQ(count_body(&s, "late"), 1);
    ons_consumer_destroy(c);
}

static atomic_int g_batch_calls, g_batch_msgs, g_batch_max;

static ons_action_t batch_listener(const ons_message_t *const *msgs, size_t n,
                                   ons_consume_context_t *ctx, void *user)
{
    (void)ctx;
    (void)user;
    (void)msgs;
    atomic_fetch_add(&g_batch_calls, 1);
    atomic_fetch_add(&g_batch_msgs, (int)n);
    int cur = atomic_load(&g_batch_max);
    while ((int)n > cur && !atomic_compare_exchange_weak(&g_batch_max, &cur, (int)n))
        ;
    return ONS_ACTION_COMMIT_MESSAGE;
}

TEST(batch_consumer)
{
    setup();
    ons_properties_t *p = cfx_props(&g_fx, "GID_c6");
    ons_properties_put(p, ONS_CONSUME_MESSAGE_BATCH_MAX_SIZE, "8");
    ons_properties_put(p, ONS_CONSUME_THREAD_NUMS, "2");
    ons_batch_consumer_t *c = ons_factory_create_batch_consumer(p, NULL);
    ons_properties_free(p);
    ASSERT(c != NULL);
    ASSERT_EQ(ons_batch_consumer_subscribe(c, "TopicC6", "*", batch_listener, NULL, NULL), 0);
    ASSERT_EQ(ons_batch_consumer_start(c, NULL), 0);
    for (int i = 0; i < 30; i++)
        psend("TopicC6", "B", "k", "batch", NULL);
    int64_t deadline = clock_mono_ms() + 10000;
    while (atomic_load(&g_batch_msgs) < 30 && clock_mono_ms() < deadline)
        usleep(20 * 1000);
    ASSERT_EQ(atomic_load(&g_batch_msgs), 30);
    ASSERT(atomic_load(&g_batch_max) <= 8);
    ons_batch_consumer_destroy(c);
}

TEST(broadcasting_every_instance_gets_everything)
{
    setup();
    static struct seen s1, s2;
    seen_init(&s1);
    seen_init(&s2);
    ons_consumer_t *a = consumer("GID_c7a", "TopicC7", "*", &s1, ONS_BROADCASTING, true);
    ons_consumer_t *b = consumer("GID_c7b", "TopicC7", "*", &s2, ONS_BROADCASTING, true);
    ASSERT(a != NULL && b != NULL);
    for (int i = 0; i < 10; i++)
        psend("TopicC7", "T", "k", "bc", NULL);
    ASSERT(wait_count(&s1, 10, 10000));
    ASSERT(wait_count(&s2, 10, 10000));
    ons_consumer_destroy(a);
    ons_consumer_destroy(b);
    /* Restart resumes from the local offset file: nothing is redelivered. */
    psend("TopicC7", "T", "k", "after", NULL);
    a = consumer("GID_c7a", "TopicC7", "*", &s1, ONS_BROADCASTING, true);
    ASSERT(a != NULL);
    ASSERT(wait_count(&s1, 11, 10000));
    usleep(500 * 1000);
    ASSERT_EQ(seen_count(&s1), 11);
    ASSERT_EQ(count_body(&s1, "after"), 1);
    ons_consumer_destroy(a);
}

TEST(subscribe_unknown_topic_fails_at_start)
{
    setup();
    static struct seen s;
    seen_init(&s);
    ons_consumer_t *c = consumer("GID_c8", "NoSuchTopic", "*", &s, NULL, false);
    ASSERT(c != NULL);
    ons_exception_t *ex = NULL;
    ASSERT_EQ(ons_consumer_start(c, &ex), -1);
    ASSERT_EQ(ons_exception_category(ex), ONS_ERR_TOPIC_NOT_EXIST);
    ons_exception_free(ex);
    ASSERT(!ons_consumer_is_started(c));
    ons_consumer_destroy(c);
}

/* The first delivery sleeps past the 500 ms consume timeout and then
 * answers CommitMessage, which must be ignored: the message comes back from
 * the retry topic with reconsume count 1. */
static ons_action_t slow_first(const ons_message_t *m, ons_consume_context_t *ctx, void *user)
{
    ons_action_t a = listener(m, ctx, user);
    if (ons_message_get_reconsume_times(m) == 0)
        usleep(2500 * 1000);
    return a;
}

TEST(consume_timeout_counts_as_reconsume_later)
{
    setup();
    static struct seen s;
    seen_init(&s);
    ons_properties_t *p = cfx_props(&g_fx, "GID_c8");
    ons_properties_put(p, ONS_CONSUME_THREAD_NUMS, "2");
    ons_properties_put(p, ONS_CONSUME_TIMEOUT_MILLIS, "500");
    ons_consumer_t *c = ons_factory_create_consumer(p, NULL);
    ons_properties_free(p);
    ASSERT(c != NULL);
    ASSERT_EQ(ons_consumer_subscribe(c, "TopicC8", "*", slow_first, &s, NULL), 0);
    ASSERT_EQ(ons_consumer_start(c, NULL), 0);
    psend("TopicC8", "T", "k", "slow", NULL);
    ASSERT(wait_count(&s, 2, 15000));
    usleep(3000 * 1000); /* the late CommitMessage of the first call arrives meanwhile */
    ASSERT_EQ(seen_count(&s), 2);
    ASSERT_STR_EQ(s.body[0], "slow");
    ASSERT_STR_EQ(s.body[1], "slow");
    ASSERT_EQ(s.reconsume[0], 0);
    ASSERT_EQ(s.reconsume[1], 1);
    ons_consumer_destroy(c);
    /* Out-of-range values of the extension key are refused. */
    p = cfx_props(&g_fx, "GID_c8");
    ons_properties_put(p, ONS_CONSUME_TIMEOUT_MILLIS, "5");
    ons_exception_t *ex = NULL;
    ASSERT(ons_factory_create_consumer(p, &ex) == NULL);
    ASSERT_EQ(ons_exception_category(ex), ONS_ERR_ILLEGAL_ARGUMENT);
    ons_exception_free(ex);
    ons_properties_free(p);
}
