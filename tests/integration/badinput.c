/* SPDX-License-Identifier: Apache-2.0 */
/* badinput.c: bad input against a running broker.
 *
 *   badinput -b BROKER_ADDR
 *
 * Each case sends something malformed or out of limits and checks that the
 * broker answers with the protocol's error code, or closes only that one
 * connection, while a well-behaved client on another connection keeps being
 * served. Prints one line per case and "N passed, N failed". */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/xalloc.h"
#include "protocol/cmd.h"
#include "protocol/codes.h"
#include "protocol/props.h"
#include "remoting/remoting.h"

static const char *g_broker;
static struct rclient *g_client;
static int g_passed, g_failed;

static void report(const char *name, int ok, const char *detail)
{
    printf("%-44s %s%s%s\n", name, ok ? "ok" : "FAILED", detail ? ": " : "", detail ? detail : "");
    if (ok)
        g_passed++;
    else
        g_failed++;
}

static int raw_connect(void)
{
    const char *colon = strrchr(g_broker, ':');
    char host[64];
    snprintf(host, sizeof host, "%.*s", (int)(colon - g_broker), g_broker);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
    inet_pton(AF_INET, host, &sa.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        perror("connect");
        exit(2);
    }
    return fd;
}

/* Sends bytes then waits up to 3 s for the peer to close. Returns 1 when the
 * broker closed the connection (EOF or reset), 0 otherwise. */
static int sent_then_closed(const void *p, size_t n)
{
    int fd = raw_connect();
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    (void)w;
    int closed = 0;
    int64_t deadline = clock_mono_ms() + 3000;
    while (clock_mono_ms() < deadline) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, 100) <= 0)
            continue;
        char tmp[4096];
        ssize_t r = recv(fd, tmp, sizeof tmp, 0);
        if (r == 0 || (r < 0 && errno == ECONNRESET)) {
            closed = 1;
            break;
        }
    }
    close(fd);
    return closed;
}

/* A cheap valid request on the well-behaved connection. */
static int healthy(void)
{
    struct rcmd req;
    rcmd_init(&req);
    req.code = RC_GET_MAX_OFFSET;
    rcmd_add_cstr(&req, "topic", "BadInputTopic");
    rcmd_add_i64(&req, "queueId", 0);
    struct rresp resp;
    rresp_init(&resp);
    int rc = rclient_call_sync(g_client, g_broker, &req, 3000, &resp);
    int ok = rc == TERN_OK && resp.cmd.code == RESP_SUCCESS;
    rresp_deinit(&resp);
    rcmd_deinit(&req);
    return ok;
}

static void send_header(struct rcmd *req, const char *topic, const char *default_topic)
{
    req->code = RC_SEND_MESSAGE_V2;
    rcmd_add_cstr(req, "a", "badinput_pg");
    rcmd_add_cstr(req, "b", topic);
    rcmd_add_cstr(req, "c", default_topic);
    rcmd_add_i64(req, "d", 4);
    rcmd_add_i64(req, "e", -1);
    rcmd_add_i64(req, "f", 0);
    rcmd_add_i64(req, "g", clock_wall_ms());
    rcmd_add_i64(req, "h", 0);
    rcmd_add_i64(req, "j", 0);
    rcmd_add_cstr(req, "k", "false");
    rcmd_add_cstr(req, "m", "false");
}

/* Sends a request and returns its response code (or -1 on transport error). */
static int call_code(struct rcmd *req)
{
    struct rresp resp;
    rresp_init(&resp);
    int rc = rclient_call_sync(g_client, g_broker, req, 5000, &resp);
    int code = rc == TERN_OK ? resp.cmd.code : -1;
    rresp_deinit(&resp);
    return code;
}

static void expect_code(const char *name, struct rcmd *req, int want)
{
    int got = call_code(req);
    char detail[96];
    snprintf(detail, sizeof detail, "code %d (want %d), then healthy=%d", got, want, healthy());
    report(name, got == want && healthy(), detail);
}

static void case_frames(void)
{
    uint8_t f[64];
    /* A frame declaring more than 16 MiB. */
    be32_store(f, 16 * 1024 * 1024 + 1);
    be32_store(f + 4, 10);
    report("frame over 16 MiB closes the connection", sent_then_closed(f, 8) && healthy(), NULL);
    /* Header length beyond the frame. */
    be32_store(f, 20);
    be32_store(f + 4, 100);
    memset(f + 8, '{', 16);
    report("header length beyond frame closes it", sent_then_closed(f, 24) && healthy(), NULL);
    /* Unknown serialize type. */
    be32_store(f, 8);
    be32_store(f + 4, (5u << 24) | 4);
    memcpy(f + 8, "{}{}", 4);
    report("unknown serialize type closes it", sent_then_closed(f, 12) && healthy(), NULL);
    /* A JSON header that is not JSON. */
    const char *junk = "{\"code\":10,\"opaque\":";
    size_t jl = strlen(junk);
    be32_store(f, (uint32_t)(4 + jl));
    be32_store(f + 4, (uint32_t)jl);
    memcpy(f + 8, junk, jl);
    report("malformed JSON header closes it", sent_then_closed(f, 8 + jl) && healthy(), NULL);
    /* Random bytes. */
    uint8_t rnd[1024];
    srand(42);
    for (size_t i = 0; i < sizeof rnd; i++)
        rnd[i] = (uint8_t)rand();
    rnd[0] = 0x7f; /* huge length */
    report("random bytes close it", sent_then_closed(rnd, sizeof rnd) && healthy(), NULL);
}

static void case_requests(void)
{
    struct rcmd req;

    rcmd_init(&req);
    req.code = 9999;
    expect_code("unknown request code -> 3", &req, RESP_REQUEST_CODE_NOT_SUPPORTED);
    rcmd_deinit(&req);

    uint8_t *big = xcalloc(4 * 1024 * 1024 + 1, 1);
    rcmd_init(&req);
    send_header(&req, "BadInputTopic", "TBW102");
    req.body = tern_bytes(big, 4 * 1024 * 1024 + 1);
    expect_code("body over 4 MiB -> MESSAGE_ILLEGAL", &req, RESP_MESSAGE_ILLEGAL);
    rcmd_deinit(&req);
    free(big);

    buf_t props;
    buf_init(&props);
    char *val = xmalloc(33000);
    memset(val, 'v', 32999);
    val[32999] = '\0';
    props_append(&props, "BIG", tern_cstr(val));
    free(val);
    rcmd_init(&req);
    send_header(&req, "BadInputTopic", "TBW102");
    rcmd_add(&req, "i", buf_view(&props));
    req.body = tern_cstr("x");
    expect_code("properties over 32767 -> MESSAGE_ILLEGAL", &req, RESP_MESSAGE_ILLEGAL);
    rcmd_deinit(&req);
    buf_deinit(&props);

    rcmd_init(&req);
    send_header(&req, "bad topic!", "TBW102");
    req.body = tern_cstr("x");
    expect_code("invalid topic name -> INVALID_PARAMETER", &req, RESP_INVALID_PARAMETER);
    rcmd_deinit(&req);

    char longtopic[201];
    memset(longtopic, 'T', 200);
    longtopic[200] = '\0';
    rcmd_init(&req);
    send_header(&req, longtopic, "TBW102");
    req.body = tern_cstr("x");
    expect_code("topic over 127 bytes -> INVALID_PARAMETER", &req, RESP_INVALID_PARAMETER);
    rcmd_deinit(&req);

    rcmd_init(&req);
    send_header(&req, "NoSuchTopicAnywhere", "NoSuchTemplate");
    req.body = tern_cstr("x");
    expect_code("missing topic -> TOPIC_NOT_EXIST", &req, RESP_TOPIC_NOT_EXIST);
    rcmd_deinit(&req);

    rcmd_init(&req);
    req.code = RC_SEND_MESSAGE_V2;
    rcmd_add_cstr(&req, "b", "BadInputTopic");
    req.body = tern_cstr("x");
    expect_code("send without required fields -> INVALID_PARAMETER", &req, RESP_INVALID_PARAMETER);
    rcmd_deinit(&req);

    rcmd_init(&req);
    send_header(&req, "SCHEDULE_TOPIC_XXXX", "TBW102");
    req.body = tern_cstr("x");
    expect_code("send to a system topic -> NO_PERMISSION", &req, RESP_NO_PERMISSION);
    rcmd_deinit(&req);

    /* Finally a good message still goes through. */
    rcmd_init(&req);
    send_header(&req, "BadInputTopic", "TBW102");
    req.body = tern_cstr("still alive");
    expect_code("a valid send still succeeds", &req, RESP_SUCCESS);
    rcmd_deinit(&req);
}

int main(int argc, char **argv)
{
    if (argc != 3 || strcmp(argv[1], "-b") != 0) {
        fprintf(stderr, "usage: badinput -b BROKER_ADDR\n");
        return 2;
    }
    g_broker = argv[2];
    struct rclient_opts co = {0};
    if (rclient_new(&co, &g_client) != TERN_OK)
        return 2;
    report("broker answers before the bad input", healthy(), NULL);
    case_frames();
    case_requests();
    rclient_free(g_client);
    printf("%d passed, %d failed\n", g_passed, g_failed);
    return g_failed ? 1 : 0;
}
