/* SPDX-License-Identifier: Apache-2.0 */
/* ons_peer.c: the libons side of the interop test (tests/compat/interop.test.js,
 * where ali-ons is the other side). Uses only the public API (ons/ons.h).
 *
 *   ons_peer produce NAMESRV TOPIC N RUN [DELAY_MS]
 *     sends N messages: tag Tag<i%2>, key k-<i>-<RUN>, user properties
 *     seq=<i>, run=<RUN>, lang=c, body "ons-<i>-<RUN>"; with DELAY_MS each gets
 *     startDeliverTime = now + DELAY_MS. Prints one line per message:
 *     SENT <i> <msgId> <sendMillis>
 *   ons_peer consume NAMESRV TOPIC GROUP N TIMEOUT_MS
 *     a clustering push consumer on TOPIC (*); prints one line per message:
 *     GOT <recvMillis> <msgId> <tag> <key> <bornTimestamp> <startDeliverTime>
 *         <reconsumeTimes> <bodyHex> <k=v&k=v... user properties, hex-encoded>
 *     then READY once started (before any GOT, so the driver knows when to
 *     send), and exits 0 once N distinct messages arrived, 1 on timeout.
 * Exits 1 with a message on stderr on any error. */
#include <ons/ons.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static int64_t now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void fail(const char *what, ons_exception_t *ex)
{
    fprintf(stderr, "ons_peer: %s: %s\n", what, ex ? ons_exception_message(ex) : "failed");
    ons_exception_free(ex);
    exit(1);
}

static ons_properties_t *props_for(const char *ns, const char *group)
{
    ons_properties_t *p = ons_properties_new();
    /* The product's SDK requires keys; the broker checks them only with
     * aclEnable=true. */
    if (!p || ons_properties_put(p, ONS_NAMESRV_ADDR, ns) ||
        ons_properties_put(p, ONS_GROUP_ID, group) ||
        ons_properties_put(p, ONS_ACCESS_KEY, "interop-ak") ||
        ons_properties_put(p, ONS_SECRET_KEY, "interop-sk"))
        fail("properties", NULL);
    return p;
}

static void put_hex(FILE *f, const void *p, size_t n)
{
    const unsigned char *s = p;
    if (n == 0)
        fputc('-', f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%02x", s[i]);
}

static int produce(const char *ns, const char *topic, int n, const char *run, int64_t delay_ms)
{
    ons_exception_t *ex = NULL;
    ons_properties_t *p = props_for(ns, "GID_interop_c_producer");
    ons_producer_t *pr = ons_factory_create_producer(p, &ex);
    ons_properties_free(p);
    if (!pr || ons_producer_start(pr, &ex))
        fail("producer start", ex);
    for (int i = 0; i < n; i++) {
        char tag[16], key[96], seq[16], body[96];
        snprintf(tag, sizeof tag, "Tag%d", i % 2);
        snprintf(key, sizeof key, "k-%d-%s", i, run);
        snprintf(seq, sizeof seq, "%d", i);
        int blen = snprintf(body, sizeof body, "ons-%d-%s", i, run);
        ons_message_t *m = ons_message_new_with_key(topic, tag, key, body, (size_t)blen);
        if (!m || ons_message_put_user_properties(m, "seq", seq, &ex) ||
            ons_message_put_user_properties(m, "run", run, &ex) ||
            ons_message_put_user_properties(m, "lang", "c", &ex))
            fail("message", ex);
        if (delay_ms > 0 && ons_message_set_start_deliver_time(m, now_ms() + delay_ms))
            fail("startDeliverTime", NULL);
        ons_send_result_t *r = NULL;
        int64_t t = now_ms();
        if (ons_producer_send(pr, m, &r, &ex) || !r)
            fail("send", ex);
        printf("SENT %d %s %lld\n", i, ons_send_result_get_message_id(r), (long long)t);
        fflush(stdout);
        ons_send_result_free(r);
        ons_message_free(m);
    }
    ons_producer_destroy(pr);
    return 0;
}

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_int g_got;

static ons_action_t on_message(const ons_message_t *m, ons_consume_context_t *ctx, void *user)
{
    (void)ctx;
    (void)user;
    size_t blen;
    const void *body = ons_message_get_body(m, &blen);
    const char *key = ons_message_get_key(m);
    pthread_mutex_lock(&g_mu);
    printf("GOT %lld %s %s %s %lld %lld %d ", (long long)now_ms(), ons_message_get_msg_id(m),
           ons_message_get_tag(m) ? ons_message_get_tag(m) : "-", key && *key ? key : "-",
           (long long)ons_message_get_born_timestamp(m),
           (long long)ons_message_get_start_deliver_time(m), ons_message_get_reconsume_times(m));
    put_hex(stdout, body, blen);
    fputc(' ', stdout);
    size_t np = ons_message_user_properties_count(m);
    for (size_t i = 0; i < np; i++) {
        const char *k, *v;
        if (ons_message_user_property_at(m, i, &k, &v) != 0)
            continue;
        if (i)
            fputc('&', stdout);
        put_hex(stdout, k, strlen(k));
        fputc('=', stdout);
        put_hex(stdout, v, strlen(v));
    }
    if (np == 0)
        fputc('-', stdout);
    fputc('\n', stdout);
    fflush(stdout);
    pthread_mutex_unlock(&g_mu);
    atomic_fetch_add(&g_got, 1);
    return ONS_ACTION_COMMIT_MESSAGE;
}

static int consume(const char *ns, const char *topic, const char *group, int n, int64_t timeout_ms)
{
    ons_exception_t *ex = NULL;
    ons_properties_t *p = props_for(ns, group);
    ons_consumer_t *c = ons_factory_create_consumer(p, &ex);
    ons_properties_free(p);
    if (!c || ons_consumer_subscribe(c, topic, "*", on_message, NULL, &ex) ||
        ons_consumer_start(c, &ex))
        fail("consumer start", ex);
    printf("READY\n");
    fflush(stdout);
    int64_t end = now_ms() + timeout_ms;
    while (atomic_load(&g_got) < n && now_ms() < end) {
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    ons_consumer_destroy(c);
    return atomic_load(&g_got) >= n ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc >= 6 && strcmp(argv[1], "produce") == 0)
        return produce(argv[2], argv[3], atoi(argv[4]), argv[5], argc > 6 ? atoll(argv[6]) : 0);
    if (argc >= 7 && strcmp(argv[1], "consume") == 0)
        return consume(argv[2], argv[3], argv[4], atoi(argv[5]), atoll(argv[6]));
    fprintf(stderr, "usage: ons_peer produce NAMESRV TOPIC N RUN [DELAY_MS]\n"
                    "       ons_peer consume NAMESRV TOPIC GROUP N TIMEOUT_MS\n");
    return 2;
}
