/* SPDX-License-Identifier: Apache-2.0 */
/* test_txn.c: the TransactionProducer against an in-process name server +
 * broker: a committed message is delivered once, a rolled-back one never,
 * an unknown one is resolved through the checker (commit and rollback), the
 * executer never runs when the half message cannot be stored, and scheduled
 * transactional messages are refused. */
#include <pthread.h>
#include <stdatomic.h>

#include "client_fixture.h"
#include "harness.h"

TEST_MAIN()

static struct cfx g_fx;
static bool g_up;

__attribute__((destructor)) static void teardown(void)
{
    if (g_up)
        cfx_stop(&g_fx);
}

static void setup(void)
{
    if (!g_up) {
        ASSERT_EQ(cfx_start(&g_fx), 0);
        ASSERT_EQ(cfx_topic(&g_fx, "TopicT1", 4), 0);
        g_up = true;
    }
}

/* What the consumer saw, by body. */
struct seen {
    pthread_mutex_t mu;
    int n;
    char body[64][32];
    char id[64][40];
};

static struct seen g_seen;

static ons_action_t listener(const ons_message_t *m, ons_consume_context_t *ctx, void *user)
{
    (void)ctx;
    struct seen *s = user;
    size_t len;
    const char *b = ons_message_get_body(m, &len);
    pthread_mutex_lock(&s->mu);
    if (s->n < 64) {
        snprintf(s->body[s->n], 32, "%.*s", (int)len, b);
        snprintf(s->id[s->n], 40, "%s", ons_message_get_msg_id(m));
        s->n++;
    }
    pthread_mutex_unlock(&s->mu);
    return ONS_ACTION_COMMIT_MESSAGE;
}

static int count_body(const char *body)
{
    int c = 0;
    pthread_mutex_lock(&g_seen.mu);
    for (int i = 0; i < g_seen.n; i++)
        if (strcmp(g_seen.body[i], body) == 0)
            c++;
    pthread_mutex_unlock(&g_seen.mu);
    return c;
}

static _Atomic int g_exec_calls, g_check_calls;
static char g_checked_topic[64], g_checked_body[32];

/* The executer's answer is the first letter of the body: c, r or u. */
static ons_transaction_status_t executer(const ons_message_t *m, void *arg)
{
    atomic_fetch_add(&g_exec_calls, 1);
    ASSERT_STR_EQ((const char *)arg, "the-arg");
    const char *b = ons_message_get_body(m, NULL);
    return b[0] == 'c'   ? ONS_COMMIT_TRANSACTION
           : b[0] == 'r' ? ONS_ROLLBACK_TRANSACTION
                         : ONS_UNKNOW;
}

/* The checker commits keys "commit", rolls back "rollback"; 0 (invalid,
 * counts as unknown) for the others. */
static ons_transaction_status_t checker(const ons_message_t *m, void *user)
{
    ASSERT_STR_EQ((const char *)user, "checker-user");
    atomic_fetch_add(&g_check_calls, 1);
    const char *key = ons_message_get_key(m);
    size_t len;
    const char *b = ons_message_get_body(m, &len);
    snprintf(g_checked_topic, sizeof g_checked_topic, "%s", ons_message_get_topic(m));
    snprintf(g_checked_body, sizeof g_checked_body, "%.*s", (int)len, b);
    if (key && strcmp(key, "commit") == 0)
        return ONS_COMMIT_TRANSACTION;
    if (key && strcmp(key, "rollback") == 0)
        return ONS_ROLLBACK_TRANSACTION;
    return 0;
}

static ons_transaction_producer_t *txn_producer(void)
{
    ons_properties_t *p = cfx_props(&g_fx, "GID_txn");
    ons_properties_put(p, ONS_CHECK_IMMUNITY_TIME_IN_SECONDS, "1");
    ons_exception_t *ex = NULL;
    ons_transaction_producer_t *tp =
        ons_factory_create_transaction_producer(p, checker, "checker-user", &ex);
    ons_properties_free(p);
    if (tp == NULL || ons_transaction_producer_start(tp, &ex) != 0) {
        fprintf(stderr, "txn producer: %s\n", ons_exception_message(ex));
        ons_exception_free(ex);
        ons_transaction_producer_destroy(tp);
        return NULL;
    }
    return tp;
}

static int tsend(ons_transaction_producer_t *tp, const char *topic, const char *key,
                 const char *body, char id[40])
{
    ons_message_t *m = ons_message_new_with_key(topic, "T", key, body, strlen(body));
    ons_send_result_t *r = NULL;
    ons_exception_t *ex = NULL;
    int rc = ons_transaction_producer_send(tp, m, executer, "the-arg", &r, &ex);
    if (rc == 0 && id)
        snprintf(id, 40, "%s", ons_send_result_get_message_id(r));
    ons_send_result_free(r);
    ons_exception_free(ex);
    ons_message_free(m);
    return rc;
}

TEST(commit_rollback_and_checked_unknown)
{
    setup();
    pthread_mutex_init(&g_seen.mu, NULL);
    ons_properties_t *p = cfx_props(&g_fx, "GID_txn_c");
    ons_properties_put(p, ONS_CONSUME_THREAD_NUMS, "2");
    ons_consumer_t *c = ons_factory_create_consumer(p, NULL);
    ons_properties_free(p);
    ASSERT(c != NULL);
    ASSERT_EQ(ons_consumer_subscribe(c, "TopicT1", "*", listener, &g_seen, NULL), 0);
    ASSERT_EQ(ons_consumer_start(c, NULL), 0);
    ons_transaction_producer_t *tp = txn_producer();
    ASSERT(tp != NULL);
    ASSERT(ons_transaction_producer_is_started(tp));
    char id_commit[40] = "";
    ASSERT_EQ(tsend(tp, "TopicT1", "x", "c-direct", id_commit), 0);
    ASSERT_EQ(strlen(id_commit), 32);
    ASSERT_EQ(tsend(tp, "TopicT1", "x", "r-direct", NULL), 0);
    ASSERT_EQ(tsend(tp, "TopicT1", "commit", "u-commit", NULL), 0);
    ASSERT_EQ(tsend(tp, "TopicT1", "rollback", "u-rollback", NULL), 0);
    ASSERT_EQ(atomic_load(&g_exec_calls), 4);
    /* The direct commit is visible at once; the unknown one after the
     * 1 s immunity and a check (300 ms interval). */
    int64_t deadline = clock_mono_ms() + 15000;
    while ((count_body("c-direct") < 1 || count_body("u-commit") < 1) && clock_mono_ms() < deadline)
        usleep(50 * 1000);
    /* Time for duplicates or wrong resolutions to show up. */
    int64_t settle = clock_mono_ms() + 3000;
    while (clock_mono_ms() < settle)
        usleep(50 * 1000);
    ASSERT_EQ(count_body("c-direct"), 1);
    ASSERT_EQ(count_body("u-commit"), 1);
    ASSERT_EQ(count_body("r-direct"), 0);
    ASSERT_EQ(count_body("u-rollback"), 0);
    ASSERT(atomic_load(&g_check_calls) >= 2);
    ASSERT_STR_EQ(g_checked_topic, "TopicT1");
    ASSERT(g_checked_body[0] == 'u');
    /* The send result's id is the delivered message's id. */
    pthread_mutex_lock(&g_seen.mu);
    bool id_match = false;
    for (int i = 0; i < g_seen.n; i++)
        if (strcmp(g_seen.body[i], "c-direct") == 0)
            id_match = strcmp(g_seen.id[i], id_commit) == 0;
    pthread_mutex_unlock(&g_seen.mu);
    ASSERT(id_match);
    ons_transaction_producer_shutdown(tp);
    ASSERT(ons_transaction_producer_is_closed(tp));
    ons_transaction_producer_destroy(tp);
    ons_consumer_destroy(c);
}

TEST(executer_not_run_when_half_fails_and_bad_arguments)
{
    setup();
    ons_transaction_producer_t *tp = txn_producer();
    ASSERT(tp != NULL);
    int before = atomic_load(&g_exec_calls);
    ASSERT_EQ(tsend(tp, "TopicNoSuch", "x", "c-lost", NULL), -1);
    ASSERT_EQ(atomic_load(&g_exec_calls), before);
    ons_message_t *m = ons_message_new_with_tag("TopicT1", "T", "c", 1);
    ons_message_set_start_deliver_time(m, clock_wall_ms() + 60000);
    ons_exception_t *ex = NULL;
    ASSERT_EQ(ons_transaction_producer_send(tp, m, executer, "the-arg", NULL, &ex), -1);
    ASSERT_EQ(ons_exception_category(ex), ONS_ERR_ILLEGAL_ARGUMENT);
    ons_exception_free(ex);
    ex = NULL;
    ASSERT_EQ(ons_transaction_producer_send(tp, m, NULL, NULL, NULL, &ex), -1);
    ASSERT_EQ(ons_exception_category(ex), ONS_ERR_NULL_POINTER);
    ons_exception_free(ex);
    ons_message_free(m);
    ons_transaction_producer_destroy(tp);
    ex = NULL;
    ons_properties_t *p = cfx_props(&g_fx, "GID_txn");
    ASSERT(ons_factory_create_transaction_producer(p, NULL, NULL, &ex) == NULL);
    ASSERT_EQ(ons_exception_category(ex), ONS_ERR_NULL_POINTER);
    ons_exception_free(ex);
    ons_properties_free(p);
}
