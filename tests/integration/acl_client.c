/* SPDX-License-Identifier: Apache-2.0 */
/* acl_client.c: drives a real broker started with aclEnable=true
 * (tests/integration/acl.sh, tls.sh).
 *
 *   acl_client check -n NS -b BROKER -u AK:SK -a ADMIN_AK:ADMIN_SK [-T]
 *     raw requests: unsigned, unknown key, non-admin topic creation are
 *     refused with NO_PERMISSION (16) and a remark; the admin creates a topic;
 *     then libons (AccessKey/SecretKey properties) sends and consumes 20
 *     messages; a libons producer with a wrong secret gets 16 and stores
 *     nothing (the queues' max offsets still add up to 20).
 *   acl_client roundtrip -n NS -b BROKER -u AK:SK -a ADMIN_AK:ADMIN_SK [-T]
 *     only the libons round trip (topic created by the admin).
 *   acl_client refused -b BROKER [-T]
 *     a raw request must fail at the connection level (no response).
 *
 * -T uses TLS for every connection (libons tls.enable=true). Exit 0 = pass. */
#include <ons/ons.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/acl.h"
#include "common/clock.h"
#include "common/error.h"
#include "protocol/cmd.h"
#include "protocol/codes.h"
#include "remoting/remoting.h"

#define COUNT  20
#define QUEUES 4

struct opts {
    const char *ns;
    const char *broker;
    char user_ak[64], user_sk[64];
    char admin_ak[64], admin_sk[64];
    bool tls;
};

static struct rclient *g_cli;
static int g_failures;

#define CHECK(cond, ...)                                     \
    do {                                                     \
        if (!(cond)) {                                       \
            fprintf(stderr, "acl_client: FAIL %s: ", #cond); \
            fprintf(stderr, __VA_ARGS__);                    \
            fprintf(stderr, "\n");                           \
            g_failures++;                                    \
        }                                                    \
    } while (0)

static void split_cred(const char *s, char *ak, char *sk)
{
    const char *colon = strchr(s, ':');
    if (!colon || (size_t)(colon - s) >= 64 || strlen(colon + 1) >= 64) {
        fprintf(stderr, "credentials must be AK:SK\n");
        exit(2);
    }
    memcpy(ak, s, (size_t)(colon - s));
    ak[colon - s] = '\0';
    strcpy(sk, colon + 1);
}

/* Sends req (signed with ak/sk unless ak is NULL) and returns the response
 * code, or -1 on a transport error; the remark goes to remark. */
static int raw_call(const char *addr, struct rcmd *req, const char *ak, const char *sk,
                    char *remark, size_t rlen, int64_t *max_offset)
{
    if (ak) {
        rcmd_add_cstr(req, "AccessKey", ak);
        char sig[ACL_SIG_LEN + 1];
        if (acl_sign(req, tern_cstr(sk), sig) != TERN_OK)
            return -1;
        rcmd_add_cstr(req, "Signature", sig);
    }
    struct rresp resp;
    rresp_init(&resp);
    int rc = rclient_call_sync(g_cli, addr, req, 5000, &resp);
    int code = rc == TERN_OK ? resp.cmd.code : -1;
    if (remark)
        snprintf(remark, rlen, "%.*s", (int)resp.cmd.remark.len,
                 resp.cmd.remark.ptr ? (const char *)resp.cmd.remark.ptr : "");
    if (max_offset && code == RESP_SUCCESS && rcmd_get_i64(&resp.cmd, "offset", max_offset) != 0)
        code = -2;
    rresp_deinit(&resp);
    rcmd_deinit(req);
    return code;
}

static void create_topic_req(struct rcmd *req, const char *topic)
{
    rcmd_init(req);
    req->code = RC_UPDATE_AND_CREATE_TOPIC;
    rcmd_add_cstr(req, "topic", topic);
    rcmd_add_i64(req, "readQueueNums", QUEUES);
    rcmd_add_i64(req, "writeQueueNums", QUEUES);
    rcmd_add_i64(req, "perm", 6);
    rcmd_add_cstr(req, "topicFilterType", "SINGLE_TAG");
}

static int64_t stored(const struct opts *o, const char *topic)
{
    int64_t sum = 0;
    for (int q = 0; q < QUEUES; q++) {
        struct rcmd req;
        rcmd_init(&req);
        req.code = RC_GET_MAX_OFFSET;
        rcmd_add_cstr(&req, "topic", topic);
        rcmd_add_i64(&req, "queueId", q);
        int64_t off = 0;
        int code = raw_call(o->broker, &req, o->user_ak, o->user_sk, NULL, 0, &off);
        if (code != RESP_SUCCESS)
            return -1;
        sum += off;
    }
    return sum;
}

static bool wait_route(const struct opts *o, const char *topic)
{
    int64_t deadline = clock_mono_ms() + 15000;
    while (clock_mono_ms() < deadline) {
        struct rcmd req;
        rcmd_init(&req);
        req.code = RC_GET_ROUTEINFO_BY_TOPIC;
        rcmd_add_cstr(&req, "topic", topic);
        /* The name server has no ACL: unsigned. */
        if (raw_call(o->ns, &req, NULL, NULL, NULL, 0, NULL) == RESP_SUCCESS)
            return true;
        usleep(50 * 1000);
    }
    return false;
}

static ons_properties_t *props(const struct opts *o, const char *group, const char *ak,
                               const char *sk)
{
    ons_properties_t *p = ons_properties_new();
    ons_properties_put(p, ONS_NAMESRV_ADDR, o->ns);
    ons_properties_put(p, ONS_GROUP_ID, group);
    ons_properties_put(p, ONS_ACCESS_KEY, ak);
    ons_properties_put(p, ONS_SECRET_KEY, sk);
    ons_properties_put(p, ONS_SEND_MSG_TIMEOUT_MILLIS, "3000");
    ons_properties_put(p, ONS_LOCAL_OFFSET_STORE_DIR, "/tmp");
    if (o->tls)
        ons_properties_put(p, ONS_TLS_ENABLE, "true");
    return p;
}

static atomic_int g_received;

static ons_action_t on_message(const ons_message_t *m, ons_consume_context_t *ctx, void *user)
{
    (void)m;
    (void)ctx;
    (void)user;
    atomic_fetch_add(&g_received, 1);
    return ONS_ACTION_COMMIT_MESSAGE;
}

/* libons with the user's credentials: COUNT messages sent and consumed. */
static void roundtrip(const struct opts *o, const char *topic)
{
    char group[64];
    snprintf(group, sizeof group, "GID_acl_%d", (int)getpid());
    ons_exception_t *ex = NULL;
    ons_properties_t *p = props(o, group, o->user_ak, o->user_sk);
    ons_consumer_t *c = ons_factory_create_consumer(p, &ex);
    ons_properties_free(p);
    CHECK(c != NULL, "consumer: %s", ons_exception_message(ex));
    if (!c)
        return;
    int rc = ons_consumer_subscribe(c, topic, "*", on_message, NULL, &ex);
    if (rc == 0)
        rc = ons_consumer_start(c, &ex);
    CHECK(rc == 0, "consumer start: %s", ons_exception_message(ex));
    ons_exception_free(ex);
    ex = NULL;

    p = props(o, group, o->user_ak, o->user_sk);
    ons_producer_t *pr = ons_factory_create_producer(p, &ex);
    ons_properties_free(p);
    CHECK(pr != NULL, "producer: %s", ons_exception_message(ex));
    if (pr && ons_producer_start(pr, &ex) == 0) {
        /* Message 0 is 1 MiB of incompressible bytes: over TLS it spans many
         * records and partial writes. */
        size_t big_len = (size_t)1 << 20;
        unsigned char *big = malloc(big_len);
        uint32_t x = 2463534242u;
        for (size_t k = 0; big && k < big_len; k++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            big[k] = (unsigned char)x;
        }
        for (int i = 0; i < COUNT; i++) {
            char body[32];
            snprintf(body, sizeof body, "acl-%d", i);
            ons_message_t *m = ons_message_new_with_key(topic, "TagA", body, body, strlen(body));
            if (i == 0 && big)
                ons_message_set_body(m, big, big_len);
            rc = ons_producer_send(pr, m, NULL, &ex);
            CHECK(rc == 0, "send %d: %s", i, ons_exception_message(ex));
            ons_exception_free(ex);
            ex = NULL;
            ons_message_free(m);
        }
        free(big);
    }
    ons_exception_free(ex);
    ons_producer_destroy(pr);
    int64_t deadline = clock_mono_ms() + 20000;
    while (atomic_load(&g_received) < COUNT && clock_mono_ms() < deadline)
        usleep(20 * 1000);
    CHECK(atomic_load(&g_received) == COUNT, "consumed %d of %d", atomic_load(&g_received), COUNT);
    ons_consumer_destroy(c);
}

/* A libons producer with a wrong secret: NO_PERMISSION, nothing stored. */
static void wrong_secret(const struct opts *o, const char *topic)
{
    int64_t before = stored(o, topic);
    ons_exception_t *ex = NULL;
    ons_properties_t *p = props(o, "GID_acl_wrong", o->user_ak, "not-the-secret");
    ons_producer_t *pr = ons_factory_create_producer(p, &ex);
    ons_properties_free(p);
    CHECK(pr != NULL, "producer: %s", ons_exception_message(ex));
    if (pr && ons_producer_start(pr, &ex) == 0) {
        ons_message_t *m = ons_message_new_with_key(topic, "TagA", "bad", "bad", 3);
        int rc = ons_producer_send(pr, m, NULL, &ex);
        CHECK(rc != 0, "a send with a wrong secret succeeded");
        CHECK(ons_exception_response_code(ex) == RESP_NO_PERMISSION,
              "response code %d (%s), want 16", ons_exception_response_code(ex),
              ons_exception_message(ex));
        ons_message_free(m);
    }
    ons_exception_free(ex);
    ons_producer_destroy(pr);
    int64_t after = stored(o, topic);
    CHECK(before >= 0 && after == before, "stored before %lld after %lld", (long long)before,
          (long long)after);
}

static void raw_refusals(const struct opts *o, const char *topic)
{
    char remark[256];
    struct rcmd req;
    rcmd_init(&req);
    req.code = RC_GET_MAX_OFFSET;
    rcmd_add_cstr(&req, "topic", topic);
    rcmd_add_i64(&req, "queueId", 0);
    int code = raw_call(o->broker, &req, NULL, NULL, remark, sizeof remark, NULL);
    CHECK(code == RESP_NO_PERMISSION && strstr(remark, "No accessKey"), "unsigned: %d %s", code,
          remark);

    rcmd_init(&req);
    req.code = RC_GET_MAX_OFFSET;
    rcmd_add_cstr(&req, "topic", topic);
    rcmd_add_i64(&req, "queueId", 0);
    code = raw_call(o->broker, &req, "nobody", "x", remark, sizeof remark, NULL);
    CHECK(code == RESP_NO_PERMISSION && strstr(remark, "No acl config for nobody"),
          "unknown key: %d %s", code, remark);

    create_topic_req(&req, topic);
    code = raw_call(o->broker, &req, o->user_ak, o->user_sk, remark, sizeof remark, NULL);
    CHECK(code == RESP_NO_PERMISSION && strstr(remark, "admin"), "non-admin create: %d %s", code,
          remark);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: acl_client check|roundtrip|refused [options]\n");
        return 2;
    }
    const char *mode = argv[1];
    struct opts o;
    memset(&o, 0, sizeof o);
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "-n") && i + 1 < argc)
            o.ns = argv[++i];
        else if (!strcmp(argv[i], "-b") && i + 1 < argc)
            o.broker = argv[++i];
        else if (!strcmp(argv[i], "-u") && i + 1 < argc)
            split_cred(argv[++i], o.user_ak, o.user_sk);
        else if (!strcmp(argv[i], "-a") && i + 1 < argc)
            split_cred(argv[++i], o.admin_ak, o.admin_sk);
        else if (!strcmp(argv[i], "-T"))
            o.tls = true;
        else {
            fprintf(stderr, "unknown option %s\n", argv[i]);
            return 2;
        }
    }
    struct rclient_opts co;
    memset(&co, 0, sizeof co);
    co.tls = o.tls;
    if (rclient_new(&co, &g_cli) != TERN_OK)
        return 1;
    char topic[64];
    snprintf(topic, sizeof topic, "TopicAcl_%d", (int)getpid());
    if (!strcmp(mode, "refused")) {
        struct rcmd req;
        rcmd_init(&req);
        req.code = RC_GET_MAX_OFFSET;
        rcmd_add_cstr(&req, "topic", topic);
        rcmd_add_i64(&req, "queueId", 0);
        int code = raw_call(o.broker, &req, NULL, NULL, NULL, 0, NULL);
        CHECK(code == -1, "a plain request was answered with code %d", code);
    } else {
        if (!strcmp(mode, "check"))
            raw_refusals(&o, topic);
        struct rcmd req;
        create_topic_req(&req, topic);
        char remark[256];
        int code = raw_call(o.broker, &req, o.admin_ak, o.admin_sk, remark, sizeof remark, NULL);
        CHECK(code == RESP_SUCCESS, "admin create topic: %d %s", code, remark);
        CHECK(wait_route(&o, topic), "no route for %s", topic);
        roundtrip(&o, topic);
        if (!strcmp(mode, "check")) {
            wrong_secret(&o, topic);
            CHECK(stored(&o, topic) == COUNT, "stored %lld, want %d", (long long)stored(&o, topic),
                  COUNT);
        }
    }
    rclient_free(g_cli);
    if (g_failures)
        return 1;
    printf("acl_client %s%s: passed\n", mode, o.tls ? " (tls)" : "");
    return 0;
}
