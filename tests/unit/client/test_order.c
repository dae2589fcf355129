/* SPDX-License-Identifier: Apache-2.0 */
/* test_order.c: the OrderConsumer against an in-process name server +
 * broker: messages of each sharding key arrive in order, exactly once, while
 * a second consumer of the group joins mid-stream (queue locks hand queues
 * over); Suspend redelivers the same message after suspendTimeMillis with a
 * growing reconsume count and holds back the rest of its queue; past
 * MaxReconsumeTimes the message goes to the group's DLQ. */
#include <pthread.h>
#include <stdatomic.h>

#include "client_fixture.h"
#include "harness.h"

TEST_MAIN()

static struct cfx g_fx;
static bool g_up;
static ons_order_producer_t *g_op;

static void setup(void)
{
    if (!g_up) {
        ASSERT_EQ(cfx_start(&g_fx), 0);
        ASSERT_EQ(cfx_topic(&g_fx, "TopicO1", 4), 0);
        ASSERT_EQ(cfx_topic(&g_fx, "TopicO2", 1), 0);
        ons_properties_t *p = cfx_props(&g_fx, "GID_oprod");
        g_op = ons_factory_create_order_producer(p, NULL);
        ons_properties_free(p);
        ASSERT(g_op != NULL);
        ASSERT_EQ(ons_order_producer_start(g_op, NULL), 0);
        g_up = true;
    }
}

__attribute__((destructor)) static void teardown(void)
{
    if (g_up) {
        ons_order_producer_destroy(g_op);
        cfx_stop(&g_fx);
    }
}

/* Delivery log shared by the consumers of a test. */
#define MAXLOG 1024
struct olog {
    pthread_mutex_t mu;
    int n;
    char body[MAXLOG][24];
    int who[MAXLOG];
    int reconsume[MAXLOG];
    int64_t at[MAXLOG];
};

struct who {
    struct olog *log;
    int id;
};

static void log_add(struct olog *l, const ons_message_t *m, int who)
{
    size_t len;
    const char *b = ons_message_get_body(m, &len);
    pthread_mutex_lock(&l->mu);
    if (l->n < MAXLOG) {
        snprintf(l->body[l->n], 24, "%.*s", (int)len, b);
        l->who[l->n] = who;
        l->reconsume[l->n] = ons_message_get_reconsume_times(m);
        l->at[l->n] = clock_mono_ms();
        l->n++;
    }
    pthread_mutex_unlock(&l->mu);
}

static int log_count(struct olog *l)
{
    pthread_mutex_lock(&l->mu);
    int n = l->n;
    pthread_mutex_unlock(&l->mu);
    return n;
}

static ons_order_action_t record(const ons_message_t *m, ons_consume_order_context_t *ctx,
                                 void *user)
{
    (void)ctx;
    struct who *w = user;
    log_add(w->log, m, w->id);
    usleep(2000); /* slow enough that a rebalance catches messages in flight */
    return ONS_ORDER_ACTION_SUCCESS;
}

static ons_order_consumer_t *oconsumer(const char *group, const char *topic, void *fn, void *user,
                                       const char *max_reconsume)
{
    ons_properties_t *p = cfx_props(&g_fx, group);
    ons_properties_put(p, ONS_CONSUME_THREAD_NUMS, "4");
    ons_properties_put(p, ONS_SUSPEND_TIME_MILLIS, "200");
    if (max_reconsume)
        ons_properties_put(p, ONS_MAX_RECONSUME_TIMES, max_reconsume);
    ons_exception_t *ex = NULL;
    ons_order_consumer_t *c = ons_factory_create_ordered_consumer(p, &ex);
    ons_properties_free(p);
    if (c == NULL || ons_order_consumer_subscribe(c, topic, "*", fn, user, &ex) != 0 ||
        ons_order_consumer_start(c, &ex) != 0) {
        fprintf(stderr, "order consumer: %s\n", ons_exception_message(ex));
        ons_exception_free(ex);
        ons_order_consumer_destroy(c);
        return NULL;
    }
    return c;
}

static void osend(const char *topic, const char *key, const char *body)
{
    ons_message_t *m = ons_message_new_with_tag(topic, "T", body, strlen(body));
    ons_exception_t *ex = NULL;
    if (ons_order_producer_send(g_op, m, key, NULL, &ex) != 0) {
        fprintf(stderr, "order send: %s\n", ons_exception_message(ex));
        ons_exception_free(ex);
    }
    ons_message_free(m);
}

#define KEYS    4
#define PER_KEY 60

TEST(keys_stay_in_order_while_a_second_consumer_joins)
{
    setup();
    static struct olog log;
    pthread_mutex_init(&log.mu, NULL);
    struct who w1 = {&log, 1}, w2 = {&log, 2};
    /* "k0".."k3" hash to four different queues of four. */
    ons_order_consumer_t *a = oconsumer("GID_o1", "TopicO1", (void *)record, &w1, NULL);
    ASSERT(a != NULL);
    ASSERT(ons_order_consumer_is_started(a));
    ons_order_consumer_t *b = NULL;
    for (int i = 0; i < PER_KEY; i++) {
        if (i == PER_KEY / 3) {
            b = oconsumer("GID_o1", "TopicO1", (void *)record, &w2, NULL);
            ASSERT(b != NULL);
        }
        for (int k = 0; k < KEYS; k++) {
            char key[16], body[40];
            snprintf(key, sizeof key, "k%d", k);
            snprintf(body, sizeof body, "k%d-%d", k, i);
            osend("TopicO1", key, body);
        }
        usleep(20 * 1000);
    }
    int64_t deadline = clock_mono_ms() + 60000;
    while (log_count(&log) < KEYS * PER_KEY && clock_mono_ms() < deadline)
        usleep(50 * 1000);
    usleep(500 * 1000);
    ASSERT_EQ(log_count(&log), KEYS * PER_KEY);
    /* Per key: 0, 1, 2, ... with no gap, repeat or reordering. */
    int next[KEYS] = {0};
    int by2 = 0;
    for (int i = 0; i < log.n; i++) {
        int k, seq;
        ASSERT_EQ(sscanf(log.body[i], "k%d-%d", &k, &seq), 2);
        ASSERT(k >= 0 && k < KEYS);
        ASSERT_EQ(seq, next[k]);
        next[k]++;
        by2 += log.who[i] == 2;
    }
    ASSERT(by2 > 0); /* the second consumer took queues over */
    ons_order_consumer_destroy(b);
    ons_order_consumer_destroy(a);
}

/* "t0": Suspend twice, then Success. "s0": always Suspend. "s1": Success. */
static ons_order_action_t suspender(const ons_message_t *m, ons_consume_order_context_t *ctx,
                                    void *user)
{
    (void)ctx;
    struct who *w = user;
    log_add(w->log, m, w->id);
    const char *b = ons_message_get_body(m, NULL);
    if (b[0] == 's' && b[1] == '0')
        return ONS_ORDER_ACTION_SUSPEND;
    if (b[0] == 't' && ons_message_get_reconsume_times(m) < 2)
        return 0; /* invalid value: counts as Suspend */
    return ONS_ORDER_ACTION_SUCCESS;
}

static void count_dlq(const struct msg_record *r, void *arg)
{
    if (r->body.len == 2 && memcmp(r->body.ptr, "s0", 2) == 0)
        (*(int *)arg)++;
}

TEST(suspend_redelivers_the_same_message_then_dlq)
{
    setup();
    static struct olog log;
    pthread_mutex_init(&log.mu, NULL);
    struct who w = {&log, 1};
    ons_order_consumer_t *c = oconsumer("GID_o2", "TopicO2", (void *)suspender, &w, "2");
    ASSERT(c != NULL);
    osend("TopicO2", "x", "t0");
    osend("TopicO2", "x", "s0");
    osend("TopicO2", "x", "s1");
    int64_t deadline = clock_mono_ms() + 20000;
    while (log_count(&log) < 7 && clock_mono_ms() < deadline)
        usleep(50 * 1000);
    usleep(500 * 1000);
    ASSERT_EQ(log_count(&log), 7);
    const char *want[] = {"t0", "t0", "t0", "s0", "s0", "s0", "s1"};
    const int times[] = {0, 1, 2, 0, 1, 2, 0};
    for (int i = 0; i < 7; i++) {
        ASSERT_STR_EQ(log.body[i], want[i]);
        ASSERT_EQ(log.reconsume[i], times[i]);
    }
    /* Redeliveries wait suspendTimeMillis (200 ms). */
    ASSERT(log.at[1] - log.at[0] >= 190);
    ASSERT(log.at[5] - log.at[4] >= 190);
    ons_order_consumer_destroy(c);
    int dlq = 0;
    ASSERT_EQ(cfx_pull(&g_fx, "GID_o2_check", "%DLQ%GID_o2", 0, 0, count_dlq, &dlq), 1);
    ASSERT_EQ(dlq, 1);
}
