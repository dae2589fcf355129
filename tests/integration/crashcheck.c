/* SPDX-License-Identifier: Apache-2.0 */
/* crashcheck.c: producer and verifier for the kill -9 crash-safety test.
 *
 *   crashcheck produce -b ADDR -t TOPIC -n COUNT -w THREADS -a ACKFILE
 *   crashcheck verify  -b ADDR -t TOPIC -a ACKFILE
 *
 * produce sends messages whose body is a deterministic function of their
 * index and appends the index of every message the broker acknowledged with
 * SUCCESS to ACKFILE; it stops when the broker goes away. verify pulls every
 * queue of the topic from offset 0, checks each record's CRC and body, and
 * fails unless every acknowledged index is present and intact. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/xalloc.h"
#include "protocol/cmd.h"
#include "protocol/codes.h"
#include "protocol/message.h"
#include "protocol/props.h"
#include "remoting/remoting.h"

#define BODY_BYTES 200
#define QUEUES     4

struct opts {
    const char *broker;
    const char *topic;
    const char *ack_file;
    long count;
    int threads;
};

struct producer {
    const struct opts *o;
    struct rclient *client;
    FILE *ack;
    pthread_mutex_t ack_lock;
    atomic_long next;
    atomic_long acked;
    atomic_int broker_gone;
};

static void make_body(long i, uint8_t *body)
{
    int n = snprintf((char *)body, BODY_BYTES, "i=%ld;", i);
    for (int j = n; j < BODY_BYTES; j++)
        body[j] = (uint8_t)('a' + (i * 31 + j) % 26);
}

static int parse_index(tern_bytes_t body, long *out)
{
    if (body.len != BODY_BYTES || memcmp(body.ptr, "i=", 2) != 0)
        return -1;
    char tmp[32];
    size_t k = 0;
    for (size_t j = 2; j < body.len && body.ptr[j] != ';' && k < sizeof tmp - 1; j++)
        tmp[k++] = (char)body.ptr[j];
    tmp[k] = '\0';
    char *end;
    long i = strtol(tmp, &end, 10);
    if (*end || i < 0)
        return -1;
    uint8_t expect[BODY_BYTES];
    make_body(i, expect);
    if (memcmp(expect, body.ptr, BODY_BYTES) != 0)
        return -1;
    *out = i;
    return 0;
}

static int create_topic(struct rclient *c, const struct opts *o)
{
    struct rcmd req;
    rcmd_init(&req);
    req.code = RC_UPDATE_AND_CREATE_TOPIC;
    rcmd_add_cstr(&req, "topic", o->topic);
    rcmd_add_cstr(&req, "defaultTopic", "TBW102");
    rcmd_add_i64(&req, "readQueueNums", QUEUES);
    rcmd_add_i64(&req, "writeQueueNums", QUEUES);
    rcmd_add_i64(&req, "perm", 6);
    rcmd_add_cstr(&req, "topicFilterType", "SINGLE_TAG");
    struct rresp resp;
    rresp_init(&resp);
    int rc = rclient_call_sync(c, o->broker, &req, 5000, &resp);
    if (rc == TERN_OK && resp.cmd.code != RESP_SUCCESS)
        rc = TERN_EREMOTE;
    rresp_deinit(&resp);
    rcmd_deinit(&req);
    return rc;
}

static void *produce_thread(void *arg)
{
    struct producer *p = arg;
    uint8_t body[BODY_BYTES];
    buf_t props;
    buf_init(&props);
    for (;;) {
        long i = atomic_fetch_add(&p->next, 1);
        if (i >= p->o->count || atomic_load(&p->broker_gone))
            break;
        make_body(i, body);
        buf_reset(&props);
        char key[32];
        snprintf(key, sizeof key, "k%ld", i);
        props_append(&props, PROP_KEYS, tern_cstr(key));
        props_append(&props, PROP_WAIT, tern_cstr("true"));
        struct rcmd req;
        rcmd_init(&req);
        req.code = RC_SEND_MESSAGE_V2;
        rcmd_add_cstr(&req, "a", "crashcheck_pg");
        rcmd_add_cstr(&req, "b", p->o->topic);
        rcmd_add_cstr(&req, "c", "TBW102");
        rcmd_add_i64(&req, "d", QUEUES);
        rcmd_add_i64(&req, "e", i % QUEUES);
        rcmd_add_i64(&req, "f", 0);
        rcmd_add_i64(&req, "g", clock_wall_ms());
        rcmd_add_i64(&req, "h", 0);
        rcmd_add(&req, "i", buf_view(&props));
        rcmd_add_i64(&req, "j", 0);
        rcmd_add_cstr(&req, "k", "false");
        rcmd_add_cstr(&req, "m", "false");
        req.body = tern_bytes(body, BODY_BYTES);
        struct rresp resp;
        rresp_init(&resp);
        int rc = rclient_call_sync(p->client, p->o->broker, &req, 10000, &resp);
        if (rc == TERN_OK && resp.cmd.code == RESP_SUCCESS) {
            pthread_mutex_lock(&p->ack_lock);
            fprintf(p->ack, "%ld\n", i);
            fflush(p->ack);
            pthread_mutex_unlock(&p->ack_lock);
            atomic_fetch_add(&p->acked, 1);
        } else if (rc != TERN_OK) {
            atomic_store(&p->broker_gone, 1);
        }
        rresp_deinit(&resp);
        rcmd_deinit(&req);
    }
    buf_deinit(&props);
    return NULL;
}

static int do_produce(const struct opts *o)
{
    struct producer p = {.o = o};
    struct rclient_opts co = {0};
    if (rclient_new(&co, &p.client) != TERN_OK)
        return 2;
    if (create_topic(p.client, o) != TERN_OK) {
        fprintf(stderr, "crashcheck: cannot create topic %s on %s\n", o->topic, o->broker);
        rclient_free(p.client);
        return 2;
    }
    p.ack = fopen(o->ack_file, "a");
    if (!p.ack) {
        perror(o->ack_file);
        return 2;
    }
    pthread_mutex_init(&p.ack_lock, NULL);
    pthread_t *th = xcalloc((size_t)o->threads, sizeof *th);
    for (int t = 0; t < o->threads; t++)
        pthread_create(&th[t], NULL, produce_thread, &p);
    for (int t = 0; t < o->threads; t++)
        pthread_join(th[t], NULL);
    free(th);
    fclose(p.ack);
    rclient_free(p.client);
    printf("produce: acked=%ld broker_gone=%d\n", atomic_load(&p.acked),
           atomic_load(&p.broker_gone));
    return 0;
}

static int pull_queue(struct rclient *c, const struct opts *o, int qid, uint8_t *seen, long *found,
                      long *corrupt, long *dups)
{
    int64_t off = 0;
    for (;;) {
        struct rcmd req;
        rcmd_init(&req);
        req.code = RC_PULL_MESSAGE;
        rcmd_add_cstr(&req, "consumerGroup", "crashcheck_cg");
        rcmd_add_cstr(&req, "topic", o->topic);
        rcmd_add_i64(&req, "queueId", qid);
        rcmd_add_i64(&req, "queueOffset", off);
        rcmd_add_i64(&req, "maxMsgNums", 32);
        rcmd_add_i64(&req, "sysFlag", 4); /* SUBSCRIPTION, no SUSPEND */
        rcmd_add_i64(&req, "commitOffset", 0);
        rcmd_add_i64(&req, "suspendTimeoutMillis", 0);
        rcmd_add_cstr(&req, "subscription", "*");
        rcmd_add_i64(&req, "subVersion", 0);
        rcmd_add_cstr(&req, "expressionType", "TAG");
        struct rresp resp;
        rresp_init(&resp);
        int rc = rclient_call_sync(c, o->broker, &req, 10000, &resp);
        rcmd_deinit(&req);
        if (rc != TERN_OK) {
            fprintf(stderr, "verify: pull q%d failed: %s\n", qid, tern_strerror(rc));
            rresp_deinit(&resp);
            return -1;
        }
        int code = resp.cmd.code;
        int64_t next = -1;
        rcmd_get_i64(&resp.cmd, "nextBeginOffset", &next);
        if (code == RESP_SUCCESS) {
            tern_bytes_t b = resp.cmd.body;
            size_t pos = 0;
            while (pos < b.len) {
                struct msg_record m;
                if (msg_decode(b.ptr + pos, b.len - pos, &m) != TERN_OK) {
                    (*corrupt)++;
                    break;
                }
                pos += (size_t)m.total_size;
                long i;
                if (!msg_check_crc(&m) || parse_index(m.body, &i) != 0 || i >= o->count) {
                    (*corrupt)++;
                    continue;
                }
                if (seen[i])
                    (*dups)++;
                seen[i] = 1;
                (*found)++;
            }
        }
        rresp_deinit(&resp);
        if (code == RESP_PULL_NOT_FOUND)
            return 0;
        if (code != RESP_SUCCESS && code != RESP_PULL_RETRY_IMMEDIATELY) {
            fprintf(stderr, "verify: pull q%d at %lld answered code %d\n", qid, (long long)off,
                    code);
            return -1;
        }
        if (next <= off) {
            fprintf(stderr, "verify: q%d made no progress at %lld\n", qid, (long long)off);
            return -1;
        }
        off = next;
    }
}

static int do_verify(const struct opts *o)
{
    uint8_t *seen = xcalloc((size_t)o->count, 1);
    struct rclient *c;
    struct rclient_opts co = {0};
    if (rclient_new(&co, &c) != TERN_OK)
        return 2;
    long found = 0, corrupt = 0, dups = 0;
    for (int q = 0; q < QUEUES; q++)
        if (pull_queue(c, o, q, seen, &found, &corrupt, &dups) != 0) {
            rclient_free(c);
            return 2;
        }
    rclient_free(c);
    FILE *f = fopen(o->ack_file, "r");
    if (!f) {
        perror(o->ack_file);
        return 2;
    }
    long acked = 0, lost = 0, i;
    while (fscanf(f, "%ld", &i) == 1) {
        acked++;
        if (i < 0 || i >= o->count || !seen[i]) {
            if (lost < 10)
                fprintf(stderr, "verify: acknowledged message %ld is missing\n", i);
            lost++;
        }
    }
    fclose(f);
    free(seen);
    printf("verify: acked=%ld stored=%ld lost=%ld corrupt=%ld duplicates=%ld\n", acked, found, lost,
           corrupt, dups);
    return lost == 0 && corrupt == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    struct opts o = {.count = 100000, .threads = 16};
    if (argc < 2) {
        fprintf(stderr, "usage: crashcheck produce|verify -b ADDR -t TOPIC -a ACKFILE "
                        "[-n COUNT] [-w THREADS]\n");
        return 2;
    }
    int opt;
    optind = 2;
    while ((opt = getopt(argc, argv, "b:t:a:n:w:")) != -1) {
        switch (opt) {
        case 'b':
            o.broker = optarg;
            break;
        case 't':
            o.topic = optarg;
            break;
        case 'a':
            o.ack_file = optarg;
            break;
        case 'n':
            o.count = atol(optarg);
            break;
        case 'w':
            o.threads = atoi(optarg);
            break;
        default:
            return 2;
        }
    }
    if (!o.broker || !o.topic || !o.ack_file || o.count <= 0 || o.threads <= 0) {
        fprintf(stderr, "crashcheck: -b, -t and -a are required\n");
        return 2;
    }
    if (!strcmp(argv[1], "produce"))
        return do_produce(&o);
    if (!strcmp(argv[1], "verify"))
        return do_verify(&o);
    fprintf(stderr, "crashcheck: unknown mode %s\n", argv[1]);
    return 2;
}
