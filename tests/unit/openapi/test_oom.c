/* SPDX-License-Identifier: Apache-2.0 */
/* test_oom.c: the out-of-memory walk of the Open API (issue 4 style).
 *
 * A name server and a broker run in a forked child (so injected failures hit
 * only the console, and the broker keeps the abort policy); a console is
 * started in this process on an ephemeral port with a database in /tmp,
 * pointed at that name server. Each request below runs through
 * api_process() again and again with its N-th allocation failing
 * (common/alloc.h test hook, the SDK policy: NULL instead of abort),
 * N = 1, 2, ..., until a run makes fewer than N allocations. Every run must
 * produce a complete envelope (valid JSON with "success") or a body marked
 * failed, which http.c replaces with a fixed ONS_SYSTEM_ERROR answer; the
 * last run, with nothing injected, must give the expected outcome (or the
 * outcome of a first run without injection). A '#' in a parameter value is
 * replaced by the run number, so each create names a new resource. Under
 * ASan (TERN_SANITIZE) a leak fails the test at exit. SQLite allocates
 * through its own allocator, so only Tern's allocations are walked. */
#include <errno.h>
#include <sys/wait.h>

#include "client/client_fixture.h"
#include "harness.h"

#include "common/alloc.h"
#include "common/arena.h"
#include "common/buf.h"
#include "common/config.h"
#include "common/error.h"
#include "openapi/api.h"
#include "openapi/sign.h"
#include "protocol/json.h"

#define AK "OomAK"
#define SK "OomSecret"

#define INST "MQ_INST_1000000000000001_Oom00001"

static struct openapi *g_o;
static char g_ns[128]; /* name server of the child */
static pid_t g_child;  /* name server + broker */
static int g_ctl = -1; /* write end: the child stops when it is closed */
static char g_db[64];
static long g_injected_errors;

static void remove_db(void)
{
    char side[96];
    unlink(g_db);
    snprintf(side, sizeof side, "%s-wal", g_db);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", g_db);
    unlink(side);
}

static void stop_console(void)
{
    openapi_stop(g_o);
    g_o = NULL;
    remove_db();
    if (g_ctl >= 0) {
        close(g_ctl);
        g_ctl = -1;
        int st;
        waitpid(g_child, &st, 0);
    }
}

static void child_main(int ready_fd, int ctl_fd)
{
    struct cfx f;
    char line[128] = "";
    if (cfx_start(&f) == 0 && cfx_topic(&f, INST "%OomTopic", 2) == 0)
        snprintf(line, sizeof line, "%s\n", f.ns_addr);
    if (write(ready_fd, line, strlen(line) + 1) < 0)
        _exit(1);
    close(ready_fd);
    char c;
    while (read(ctl_fd, &c, 1) != 0 && errno == EINTR)
        ;
    cfx_stop(&f);
    _exit(0);
}

TEST(broker_child_serves)
{
    /* First test: no thread exists yet, so fork() is safe. */
    int ready[2], ctl[2];
    ASSERT_EQ(pipe(ready), 0);
    ASSERT_EQ(pipe(ctl), 0);
    fflush(NULL);
    g_child = fork();
    ASSERT(g_child >= 0);
    if (g_child == 0) {
        close(ready[0]);
        close(ctl[1]);
        child_main(ready[1], ctl[0]);
    }
    close(ready[1]);
    close(ctl[0]);
    g_ctl = ctl[1];
    atexit(stop_console);
    char line[128] = "";
    size_t got = 0;
    ssize_t n;
    while (got < sizeof line - 1 && (n = read(ready[0], line + got, sizeof line - 1 - got)) > 0) {
        got += (size_t)n;
        if (memchr(line, '\n', got))
            break;
    }
    close(ready[0]);
    char *nl = strchr(line, '\n');
    ASSERT(nl != NULL);
    *nl = '\0';
    snprintf(g_ns, sizeof g_ns, "%s", line);
}

static void set(struct openapi_config *c, const char *k, const char *v)
{
    char err[200];
    if (config_set(OPENAPI_CONFIG_OPTS, OPENAPI_CONFIG_NOPTS, c, k, v, err, sizeof err) != TERN_OK)
        fprintf(stderr, "config %s: %s\n", k, err);
}

static void exec_sql(const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(g_o->db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fprintf(stderr, "sql: %s\n", msg ? msg : "?");
    sqlite3_free(msg);
}

TEST(console_starts)
{
    snprintf(g_db, sizeof g_db, "/tmp/tern-openapi-oom-%d.db", (int)getpid());
    remove_db();
    struct openapi_config c;
    memset(&c, 0, sizeof c);
    ASSERT_EQ(config_defaults(OPENAPI_CONFIG_OPTS, OPENAPI_CONFIG_NOPTS, &c), TERN_OK);
    set(&c, "openApiPort", "0");
    set(&c, "openApiBindAddress", "127.0.0.1");
    set(&c, "openApiThreads", "1");
    set(&c, "openApiDbPath", g_db);
    set(&c, "openApiAccessKey", AK);
    set(&c, "openApiSecretKey", SK);
    set(&c, "namesrvAddr", g_ns);
    set(&c, "openApiAdminTimeoutMs", "3000");
    set(&c, "openApiTunnels", "anyTunnel=10.0.0.1:9876;10.0.0.2:9876");
    set(&c, "openApiExtraAccounts", "2000000000000002:0:OomAK2:OomSK2");
    /* No statistics poller: its allocations on its own thread would take
     * the walk's injected failures. */
    set(&c, "openApiStatsPollMs", "0");
    char err[256];
    ASSERT_EQ(openapi_start(&c, &g_o, err, sizeof err), TERN_OK);
    config_free_strings(OPENAPI_CONFIG_OPTS, OPENAPI_CONFIG_NOPTS, &c);
    /* What the walked reads find: a cluster, a namespaced instance with a
     * topic and a group. */
    exec_sql("INSERT INTO clusters(region_id, name, create_time, modify_time)"
             " VALUES('mq-private','DefaultCluster',1,1);"
             "INSERT INTO instances(instance_id, region_id, name, owner, cluster,"
             " independent_naming, remark, max_send_tps, max_receive_tps, topic_capacity,"
             " create_time) VALUES('MQ_INST_1000000000000001_Oom00001','mq-private','oom-inst',"
             " 1000000000000001,'DefaultCluster',1,'r',10,10,100,1);"
             "INSERT INTO topics(instance_id, name, owner, order_type, create_time)"
             " VALUES('MQ_INST_1000000000000001_Oom00001','OomTopic',1000000000000001,0,1);"
             "INSERT INTO group_ids(instance_id, name, owner, create_time)"
             " VALUES('MQ_INST_1000000000000001_Oom00001','GID_Oom',1000000000000001,1);");
    /* From here on this process takes the SDK policy: NULL, not abort. */
    tern_alloc_set_abort_on_oom(false);
}

/* ---- one request --------------------------------------------------------- */

struct kv {
    const char *k, *v;
};

static int kv_cmp(const void *a, const void *b)
{
    return strcmp(((const struct kv *)a)->k, ((const struct kv *)b)->k);
}

/* The signed query string of params (plus the common ones). */
static void signed_query(const struct kv *params, size_t n, char *out, size_t cap)
{
    struct kv all[16];
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        all[m++] = params[i];
    all[m++] = (struct kv){"_accesskey", AK};
    all[m++] = (struct kv){"__preventCache", "1700000000000"};
    all[m++] = (struct kv){"_regionId", "mq-private"};
    qsort(all, m, sizeof all[0], kv_cmp);
    char sts[1024] = "";
    for (size_t i = 0; i < m; i++)
        strncat(sts, all[i].v, sizeof sts - strlen(sts) - 1);
    char sig[SIGN_B64_LEN + 1];
    sign_hmac_b64(tern_cstr(SK), tern_cstr(sts), sig);
    size_t o = 0;
    for (size_t i = 0; i < m; i++)
        o += (size_t)snprintf(out + o, cap - o, "%s=%s&", all[i].k, all[i].v);
    /* Base64 may hold + / =: escape them. */
    o += (size_t)snprintf(out + o, cap - o, "_signature=");
    for (const char *s = sig; *s; s++)
        o += (size_t)snprintf(out + o, cap - o,
                              *s == '+'   ? "%%2B"
                              : *s == '/' ? "%%2F"
                              : *s == '=' ? "%%3D"
                                          : "%c",
                              *s);
}

enum want { WANT_SUCCESS, WANT_ERROR, WANT_SAME /* as a run without injection */ };

/* Runs one request; checks the answer is well formed. Returns 1 when it
 * says success, 0 when an error envelope, -1 when the body failed. */
static int run_once(const char *path, const char *query)
{
    struct api_result res;
    api_process(g_o, "GET", tern_cstr(path), tern_cstr(query), tern_bytes(NULL, 0), NULL, &res);
    int out;
    if (buf_failed(&res.body)) {
        out = -1;
    } else {
        /* Parsing allocates: not under the injected failure any more. */
        long pending = tern_alloc_fail_pending();
        tern_alloc_fail_after(0);
        arena_t a;
        arena_init(&a);
        struct json_val *root = NULL;
        int rc = json_parse(buf_view(&res.body), &a, &root);
        const struct json_val *s = rc == TERN_OK ? json_get(root, "success") : NULL;
        if (!s || s->type != JSON_BOOL) {
            fprintf(stderr, "  %s: not an envelope: %.*s\n", path, (int)res.body.len,
                    (const char *)res.body.data);
            out = -2;
        } else {
            out = s->b ? 1 : 0;
        }
        arena_deinit(&a);
        tern_alloc_fail_after(pending);
    }
    buf_deinit(&res.body);
    return out;
}

/* The walk of one request; the run without an injected failure must give
 * want. */
static long g_run; /* replaces '#' in parameter values */

/* The signed query of params for the next run. */
static void next_query(const struct kv *params, size_t n, char *query, size_t cap)
{
    char vals[8][128];
    struct kv p[8];
    g_run++;
    for (size_t i = 0; i < n && i < 8; i++) {
        p[i] = params[i];
        const char *h = strchr(params[i].v, '#');
        if (h) {
            snprintf(vals[i], sizeof vals[i], "%.*s%05ld%s", (int)(h - params[i].v), params[i].v,
                     g_run, h + 1);
            p[i].v = vals[i];
        }
    }
    signed_query(p, n < 8 ? n : 8, query, cap);
}

static void walk(const char *path, const struct kv *params, size_t n, enum want want)
{
    char query[2048];
    int expect = want == WANT_SUCCESS ? 1 : 0;
    if (want == WANT_SAME) {
        next_query(params, n, query, sizeof query);
        expect = run_once(path, query);
        if (expect < 0)
            TEST_FAIL_("%s: the run without an injected failure gave %d", path, expect);
    }
    long runs = 0, errors = 0;
    for (long k = 1;; k++) {
        next_query(params, n, query, sizeof query);
        tern_alloc_fail_after(k);
        int got = run_once(path, query);
        long left = tern_alloc_fail_pending();
        tern_alloc_fail_after(0);
        runs++;
        if (got == -2)
            TEST_FAIL_("%s: N=%ld gave a malformed body", path, k);
        if (left > 0) {
            if (got != expect)
                TEST_FAIL_("%s: the run without an injected failure gave %d, not %d", path, got,
                           expect);
            break;
        }
        if (got != 1)
            errors++;
        if (k > 5000)
            TEST_FAIL_("%s: more than 5000 allocations", path);
    }
    fprintf(stderr, "  %s: %ld runs, %ld answered an error, then %s\n", path, runs, errors,
            expect ? "success" : "an error");
    g_injected_errors += errors;
}

TEST(read_endpoints)
{
    walk("/json/region/list", NULL, 0, WANT_SUCCESS);
    walk("/json/instance/list", NULL, 0, WANT_SUCCESS);
    walk("/json/instance/baseInfo", (struct kv[]){{"instanceId", INST}}, 1, WANT_SUCCESS);
    walk("/json/topic/get", (struct kv[]){{"instanceId", INST}, {"topic", "OomTopic"}}, 2,
         WANT_SUCCESS);
    walk("/json/topic/listInPage", (struct kv[]){{"instanceId", INST}}, 1, WANT_SUCCESS);
    walk("/json/topic/listNames", (struct kv[]){{"instanceId", INST}}, 1, WANT_SUCCESS);
    walk("/json/group/list", (struct kv[]){{"instanceId", INST}}, 1, WANT_SUCCESS);
    walk("/json/cluster/list", NULL, 0, WANT_SUCCESS);
    walk("/json/trend/topicInputTps",
         (struct kv[]){{"instanceId", INST},
                       {"topic", "OomTopic"},
                       {"beginTime", "1700000000000"},
                       {"endTime", "1700003600000"},
                       {"period", "5"},
                       {"type", "1"}},
         6, WANT_SUCCESS);
}

TEST(error_paths)
{
    walk("/json/no/such", NULL, 0, WANT_ERROR);
    walk("/json/topic/get", (struct kv[]){{"instanceId", INST}, {"topic", "Missing"}}, 2,
         WANT_ERROR);
    walk("/json/instance/baseInfo", (struct kv[]){{"instanceId", "MQ_INST_nope"}}, 1, WANT_ERROR);
    walk("/json/topic/create",
         (struct kv[]){{"instanceId", INST}, {"topic", "OomTopic"}, {"orderType", "0"}}, 3,
         WANT_ERROR); /* exists */
}

TEST(broker_endpoints)
{
    walk("/json/topic/create",
         (struct kv[]){{"instanceId", INST}, {"topic", "OomT#"}, {"orderType", "0"}}, 3,
         WANT_SUCCESS);
    walk("/json/topic/create",
         (struct kv[]){{"instanceId", INST}, {"topic", "OomF#"}, {"orderType", "1"}}, 3,
         WANT_SUCCESS);
    walk("/json/group/create", (struct kv[]){{"instanceId", INST}, {"groupId", "GID_Oom#"}}, 2,
         WANT_SUCCESS);
    walk("/json/group/consumerUpdate",
         (struct kv[]){{"instanceId", INST}, {"groupId", "GID_Oom"}, {"readEnable", "true"}}, 3,
         WANT_SUCCESS);
    walk("/json/topic/update",
         (struct kv[]){{"instanceId", INST}, {"topic", "OomTopic"}, {"perm", "6"}}, 3,
         WANT_SUCCESS);
    walk("/json/cluster/list", NULL, 0, WANT_SUCCESS);
    walk("/json/consumer/accumulate", (struct kv[]){{"instanceId", INST}, {"groupId", "GID_Oom"}},
         2, WANT_SAME);
    walk("/json/consumer/getConnection",
         (struct kv[]){{"instanceId", INST}, {"groupId", "GID_Oom"}}, 2, WANT_SAME);
    walk("/json/consumer/timespan",
         (struct kv[]){{"instanceId", INST}, {"groupId", "GID_Oom"}, {"topic", "OomTopic"}}, 3,
         WANT_SAME);
    walk("/json/topic/subDetail", (struct kv[]){{"instanceId", INST}, {"topic", "OomTopic"}}, 2,
         WANT_SAME);
    walk("/json/group/subDetail", (struct kv[]){{"instanceId", INST}, {"groupId", "GID_Oom"}}, 2,
         WANT_SAME);
    walk("/json/message/getByKey",
         (struct kv[]){{"instanceId", INST}, {"topic", "OomTopic"}, {"key", "k1"}}, 3, WANT_SAME);
    walk("/json/message/getByPagedTopic",
         (struct kv[]){{"instanceId", INST},
                       {"topic", "OomTopic"},
                       {"beginTime", "1"},
                       {"endTime", "4102444800000"},
                       {"currentPage", "1"},
                       {"pageSize", "20"}},
         6, WANT_SAME);
}

TEST(write_endpoints)
{
    walk("/json/vpcTunnel/tunnelSwitch",
         (struct kv[]){{"instanceId", INST}, {"tunnelType", "anyTunnel"}, {"force", "true"}}, 3,
         WANT_SUCCESS);
    walk("/json/instance/update", (struct kv[]){{"instanceId", INST}, {"remark", "oom"}}, 2,
         WANT_SUCCESS);
    walk("/json/instance/create",
         (struct kv[]){{"cluster", "DefaultCluster"},
                       {"instanceName", "oom-#"},
                       {"independentNaming", "true"},
                       {"maxSendTps", "10"},
                       {"maxReceiveTps", "10"}},
         5, WANT_SUCCESS);
}

TEST(empower_endpoints)
{
    const struct kv grant[] = {{"instanceId", INST},
                               {"topic", "OomTopic"},
                               {"empowerUser", "2000000000000002"},
                               {"relation", "6"}};
    char query[2048];
    next_query(grant, 4, query, sizeof query);
    ASSERT_EQ(run_once("/json/empower/create", query), 1);
    /* Every later create finds the grant (EMPOWER_EXIST_ERROR) after the
     * whole check path. */
    walk("/json/empower/create", grant, 4, WANT_ERROR);
    walk("/json/empower/list", (struct kv[]){{"instanceId", INST}, {"topic", "OomTopic"}}, 2,
         WANT_SUCCESS);
}

TEST(trend_and_subdetail)
{
    walk("/json/trend/topicInputTps",
         (struct kv[]){{"instanceId", INST},
                       {"topic", "OomTopic"},
                       {"beginTime", "1700000000000"},
                       {"endTime", "1700003600000"},
                       {"period", "5"},
                       {"type", "1"}},
         6, WANT_SUCCESS);
    walk("/json/trend/groupOutputTps",
         (struct kv[]){{"instanceId", INST},
                       {"topic", "OomTopic"},
                       {"groupId", "GID_Oom"},
                       {"beginTime", "1700000000000"},
                       {"endTime", "1700003600000"},
                       {"period", "1"},
                       {"type", "0"}},
         7, WANT_SUCCESS);
    walk("/json/topic/subDetail", (struct kv[]){{"instanceId", INST}, {"topic", "OomTopic"}}, 2,
         WANT_SUCCESS);
    walk("/json/group/subDetail", (struct kv[]){{"instanceId", INST}, {"groupId", "GID_Oom"}}, 2,
         WANT_SUCCESS);
}

TEST(failures_were_injected_and_reported)
{
    /* The walk is worthless if no run ever saw a failure. */
    ASSERT(tern_alloc_failures_injected() > 0);
    ASSERT(g_injected_errors > 0);
}

TEST_MAIN()
