/* SPDX-License-Identifier: Apache-2.0 */
/* test_config.c: the table-driven config parser: defaults, typed values and
 * bounds, Java .properties syntax, print and help generated from the table. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/config.h"
#include "common/error.h"
#include "harness.h"

struct demo {
    char *name;
    int port;
    int64_t size;
    bool flag;
    int mode;
};

static const char *const MODES[] = {"ASYNC_FLUSH", "SYNC_FLUSH", NULL};

static const struct config_opt OPTS[] = {
    {"brokerName", CFG_STR, offsetof(struct demo, name), "broker-a", 0, 0, NULL, "name"},
    {"listenPort", CFG_INT, offsetof(struct demo, port), "10911", 0, 65535, NULL, "port"},
    {"segmentSize", CFG_I64, offsetof(struct demo, size), "1073741824", 4096, (int64_t)1 << 40,
     NULL, "bytes"},
    {"autoCreate", CFG_BOOL, offsetof(struct demo, flag), "true", 0, 0, NULL, "flag"},
    {"flushDiskType", CFG_ENUM, offsetof(struct demo, mode), "ASYNC_FLUSH", 0, 0, MODES, "mode"},
};
#define N (sizeof OPTS / sizeof OPTS[0])

TEST(defaults_and_set)
{
    struct demo d;
    memset(&d, 0, sizeof d);
    ASSERT_EQ(config_defaults(OPTS, N, &d), TERN_OK);
    ASSERT_STR_EQ(d.name, "broker-a");
    ASSERT_EQ(d.port, 10911);
    ASSERT_EQ(d.size, 1073741824LL);
    ASSERT(d.flag);
    ASSERT_EQ(d.mode, 0);
    char err[128];
    ASSERT_EQ(config_set(OPTS, N, &d, "listenPort", "0", err, sizeof err), TERN_OK);
    ASSERT_EQ(d.port, 0);
    ASSERT_EQ(config_set(OPTS, N, &d, "listenPort", "70000", err, sizeof err), TERN_ECONFIG);
    ASSERT(strstr(err, "listenPort"));
    ASSERT_EQ(config_set(OPTS, N, &d, "listenPort", "12x", err, sizeof err), TERN_ECONFIG);
    ASSERT_EQ(config_set(OPTS, N, &d, "autoCreate", "FALSE", err, sizeof err), TERN_OK);
    ASSERT(!d.flag);
    ASSERT_EQ(config_set(OPTS, N, &d, "autoCreate", "1", err, sizeof err), TERN_ECONFIG);
    ASSERT_EQ(config_set(OPTS, N, &d, "flushDiskType", "sync_flush", err, sizeof err), TERN_OK);
    ASSERT_EQ(d.mode, 1);
    ASSERT_EQ(config_set(OPTS, N, &d, "flushDiskType", "LATER", err, sizeof err), TERN_ECONFIG);
    ASSERT_EQ(config_set(OPTS, N, &d, "nope", "1", err, sizeof err), TERN_ENOT_FOUND);
    config_free_strings(OPTS, N, &d);
    ASSERT(d.name == NULL);
}

TEST(properties_text)
{
    struct demo d;
    memset(&d, 0, sizeof d);
    config_defaults(OPTS, N, &d);
    const char *text = "# comment\n"
                       "! another comment\n"
                       "\n"
                       "   brokerName = broker-\\\n"
                       "       b   \r\n"
                       "listenPort:10915\n"
                       "segmentSize 8192\n"
                       "unknownKey=whatever\n"
                       "flushDiskType=SYNC_FLUSH";
    int unknown = 0;
    char err[128];
    ASSERT_EQ(config_load_text(OPTS, N, &d, tern_cstr(text), &unknown, err, sizeof err), TERN_OK);
    ASSERT_STR_EQ(d.name, "broker-b");
    ASSERT_EQ(d.port, 10915);
    ASSERT_EQ(d.size, 8192);
    ASSERT_EQ(d.mode, 1);
    ASSERT_EQ(unknown, 1);
    ASSERT_EQ(config_load_text(OPTS, N, &d, tern_cstr("listenPort=-5\n"), NULL, err, sizeof err),
              TERN_ECONFIG);
    ASSERT_EQ(config_load_text(OPTS, N, &d, tern_cstr("brokerName=a\\tb\\u0041\n"), NULL, err,
                               sizeof err),
              TERN_OK);
    ASSERT_STR_EQ(d.name, "a\tbA");
    config_free_strings(OPTS, N, &d);
}

TEST(print_help_copy_and_file)
{
    struct demo d, e;
    memset(&d, 0, sizeof d);
    config_defaults(OPTS, N, &d);
    buf_t b;
    buf_init(&b);
    config_print(OPTS, N, &d, &b);
    buf_append_u8(&b, 0);
    ASSERT_STR_EQ((const char *)b.data, "brokerName=broker-a\nlistenPort=10911\n"
                                        "segmentSize=1073741824\nautoCreate=true\n"
                                        "flushDiskType=ASYNC_FLUSH\n");
    buf_reset(&b);
    config_help(OPTS, N, &b);
    buf_append_u8(&b, 0);
    ASSERT(strstr((const char *)b.data, "listenPort"));
    ASSERT(strstr((const char *)b.data, "[0..65535]"));
    buf_deinit(&b);

    config_copy(OPTS, N, &e, &d, sizeof d);
    ASSERT(e.name != d.name);
    ASSERT_STR_EQ(e.name, "broker-a");
    config_free_strings(OPTS, N, &e);

    char path[] = "/tmp/tern-config-XXXXXX";
    int fd = mkstemp(path);
    ASSERT(fd >= 0);
    const char *txt = "listenPort=2000\n";
    ASSERT_EQ(write(fd, txt, strlen(txt)), (ssize_t)strlen(txt));
    close(fd);
    char err[256];
    ASSERT_EQ(config_load_file(OPTS, N, &d, path, NULL, err, sizeof err), TERN_OK);
    ASSERT_EQ(d.port, 2000);
    unlink(path);
    ASSERT(config_load_file(OPTS, N, &d, path, NULL, err, sizeof err) < 0);
    config_free_strings(OPTS, N, &d);
}

TEST_MAIN()
