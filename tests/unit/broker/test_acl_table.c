/* SPDX-License-Identifier: Apache-2.0 */
/* test_acl_table.c: the console's access table on the broker
 * (broker/acl_table.h): parsing and its errors, account lookup, topic rights
 * of owners, sub-accounts and grantees, perm bits, group use rights and
 * readEnable, %RETRY%/%DLQ% following their group, the swap slot and the
 * acl.json round trip. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/acl_table.h"
#include "broker/broker_config.h"
#include "common/buf.h"
#include "common/error.h"
#include "harness.h"

#define MAIN  1001
#define SUB   1011 /* sub-account of MAIN */
#define OTHER 2002 /* another main account */
#define OSUB  2012 /* sub-account of OTHER */

static const char TABLE[] =
    "{\"accounts\":["
    "{\"accessKey\":\"ak_main\",\"secretKey\":\"s1\",\"userId\":1001,\"parentId\":0},"
    "{\"accessKey\":\"ak_sub\",\"secretKey\":\"s2\",\"userId\":1011,\"parentId\":1001},"
    "{\"accessKey\":\"ak_other\",\"secretKey\":\"s3\",\"userId\":2002,\"parentId\":0},"
    "{\"accessKey\":\"ak_osub\",\"secretKey\":\"s4\",\"userId\":2012,\"parentId\":2002},"
    "{\"accessKey\":\"ak_off\",\"secretKey\":\"s5\",\"userId\":1013,\"parentId\":1001,"
    "\"enabled\":false},"
    "{\"accessKey\":\"ak_admin\",\"secretKey\":\"s6\",\"userId\":0,\"admin\":true}],"
    "\"topics\":["
    "{\"topic\":\"T\",\"owner\":1001,\"perm\":6,\"grants\":[{\"user\":2002,\"relation\":2}]},"
    "{\"topic\":\"I%T\",\"owner\":1001,\"perm\":6,\"grants\":[{\"user\":2012,\"relation\":4}]},"
    "{\"topic\":\"RO\",\"owner\":1001,\"perm\":4},"
    "{\"topic\":\"WO\",\"owner\":1001,\"perm\":2}],"
    "\"groups\":["
    "{\"group\":\"GID_main\",\"owner\":1001,\"ownerMain\":1001,\"readEnable\":true},"
    "{\"group\":\"GID_sub\",\"owner\":1011,\"ownerMain\":1001,\"readEnable\":true},"
    "{\"group\":\"GID_off\",\"owner\":1001,\"ownerMain\":1001,\"readEnable\":false}]}";

static struct acl_table *parse(const char *json)
{
    struct acl_table *t = NULL;
    char err[256];
    int rc = acl_table_parse(tern_cstr(json), &t, err, sizeof err);
    if (rc != TERN_OK)
        fprintf(stderr, "parse: %s\n", err);
    return t;
}

static const struct acl_principal *who(const struct acl_table *t, const char *ak)
{
    return acl_table_account(t, tern_cstr(ak));
}

static bool topic_ok(const struct acl_table *t, const char *ak, const char *topic, int right,
                     char *remark)
{
    return acl_table_topic_ok(t, who(t, ak), tern_cstr(topic), right, remark, 256);
}

static bool group_ok(const struct acl_table *t, const char *ak, const char *group, bool read,
                     char *remark)
{
    return acl_table_group_ok(t, who(t, ak), tern_cstr(group), read, remark, 256);
}

TEST(parse_and_accounts)
{
    struct acl_table *t = parse(TABLE);
    ASSERT(t != NULL);
    ASSERT_EQ(acl_table_accounts(t), 5); /* the disabled key is left out */
    ASSERT_EQ(acl_table_topics(t), 4);
    ASSERT_EQ(acl_table_groups(t), 3);
    const struct acl_principal *p = who(t, "ak_sub");
    ASSERT(p != NULL);
    ASSERT_EQ(p->user_id, SUB);
    ASSERT_EQ(p->main_id, MAIN);
    ASSERT_BYTES_EQ(p->secret, "s2");
    ASSERT(!p->admin);
    ASSERT_EQ(who(t, "ak_main")->main_id, MAIN);
    ASSERT(who(t, "ak_admin")->admin);
    ASSERT(who(t, "ak_off") == NULL);
    ASSERT(who(t, "nobody") == NULL);
    ASSERT_EQ(acl_table_text(t).len, strlen(TABLE));
    acl_table_free(t);
}

TEST(parse_errors)
{
    static const char *const bad[] = {
        "",
        "[]",
        "{\"accounts\":[{\"accessKey\":\"a\",\"secretKey\":\"s\"}]}", /* no userId */
        /* the same key twice */
        ("{\"accounts\":[{\"accessKey\":\"a\",\"secretKey\":\"s\",\"userId\":1},"
         "{\"accessKey\":\"a\",\"secretKey\":\"t\",\"userId\":2}]}"),
        "{\"topics\":[{\"topic\":\"T\"}]}", /* no owner */
        "{\"topics\":[{\"topic\":\"T\",\"owner\":1,\"grants\":[{\"user\":2,\"relation\":3}]}]}",
        "{\"groups\":[{\"group\":\"\",\"owner\":1}]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct acl_table *t = NULL;
        char err[256] = "";
        ASSERT_EQ(acl_table_parse(tern_cstr(bad[i]), &t, err, sizeof err), TERN_EPROTOCOL);
        ASSERT(t == NULL);
        ASSERT(err[0] != '\0');
    }
    /* An empty table is valid: it refuses everybody. */
    struct acl_table *t = parse("{}");
    ASSERT(t != NULL);
    ASSERT_EQ(acl_table_accounts(t), 0);
    acl_table_free(t);
}

TEST(topic_rights)
{
    struct acl_table *t = parse(TABLE);
    char r[256];
    /* The owner, and its sub-account, have both rights. */
    ASSERT(topic_ok(t, "ak_main", "T", ACL_RIGHT_PUB, r));
    ASSERT(topic_ok(t, "ak_main", "T", ACL_RIGHT_SUB, r));
    ASSERT(topic_ok(t, "ak_sub", "T", ACL_RIGHT_PUB, r));
    ASSERT(topic_ok(t, "ak_sub", "I%T", ACL_RIGHT_SUB, r));
    /* Relation 2 = publish only. */
    ASSERT(topic_ok(t, "ak_other", "T", ACL_RIGHT_PUB, r));
    ASSERT(!topic_ok(t, "ak_other", "T", ACL_RIGHT_SUB, r));
    ASSERT(strstr(r, "may not subscribe to topic T") != NULL);
    /* A main account's grant covers its sub-accounts. */
    ASSERT(topic_ok(t, "ak_osub", "T", ACL_RIGHT_PUB, r));
    /* Relation 4 to a sub-account only: subscribe, and not for its main. */
    ASSERT(topic_ok(t, "ak_osub", "I%T", ACL_RIGHT_SUB, r));
    ASSERT(!topic_ok(t, "ak_osub", "I%T", ACL_RIGHT_PUB, r));
    ASSERT(!topic_ok(t, "ak_other", "I%T", ACL_RIGHT_SUB, r));
    ASSERT_STR_EQ(r, "accessKey=ak_other may not subscribe to topic I%T (needs SUB)");
    /* Namespaced and plain names are different topics. */
    ASSERT(!topic_ok(t, "ak_main", "T2", ACL_RIGHT_PUB, r));
    ASSERT_STR_EQ(r, "topic T2 is not known to the access control table");
    /* perm bits apply to the owner too. */
    ASSERT(!topic_ok(t, "ak_main", "RO", ACL_RIGHT_PUB, r));
    ASSERT_STR_EQ(r, "topic RO is not writable (perm=4)");
    ASSERT(topic_ok(t, "ak_main", "RO", ACL_RIGHT_SUB, r));
    ASSERT(topic_ok(t, "ak_main", "WO", ACL_RIGHT_PUB, r));
    ASSERT(!topic_ok(t, "ak_main", "WO", ACL_RIGHT_SUB, r));
    ASSERT_STR_EQ(r, "topic WO is not readable (perm=2)");
    /* The admin account may do anything, even on unknown topics. */
    ASSERT(topic_ok(t, "ak_admin", "anything", ACL_RIGHT_PUB, r));
    acl_table_free(t);
}

TEST(group_rights)
{
    struct acl_table *t = parse(TABLE);
    char r[256];
    /* A main account's group: that main account only. */
    ASSERT(group_ok(t, "ak_main", "GID_main", true, r));
    ASSERT(!group_ok(t, "ak_sub", "GID_main", false, r));
    ASSERT_STR_EQ(r, "accessKey=ak_sub may not use group GID_main");
    ASSERT(!group_ok(t, "ak_other", "GID_main", false, r));
    /* A sub-account's group: the sub-account and its main account. */
    ASSERT(group_ok(t, "ak_sub", "GID_sub", true, r));
    ASSERT(group_ok(t, "ak_main", "GID_sub", true, r));
    ASSERT(!group_ok(t, "ak_osub", "GID_sub", false, r));
    /* readEnable=false refuses pulls only. */
    ASSERT(group_ok(t, "ak_main", "GID_off", false, r));
    ASSERT(!group_ok(t, "ak_main", "GID_off", true, r));
    ASSERT_STR_EQ(r, "group GID_off has reading disabled (readEnable=false)");
    ASSERT(!group_ok(t, "ak_main", "GID_none", false, r));
    ASSERT_STR_EQ(r, "group GID_none is not known to the access control table");
    /* Retry and dead-letter topics follow their group. */
    ASSERT(topic_ok(t, "ak_main", "%RETRY%GID_main", ACL_RIGHT_SUB, r));
    ASSERT(topic_ok(t, "ak_main", "%DLQ%GID_main", ACL_RIGHT_PUB, r));
    ASSERT(!topic_ok(t, "ak_sub", "%RETRY%GID_main", ACL_RIGHT_SUB, r));
    ASSERT(topic_ok(t, "ak_main", "%RETRY%GID_sub", ACL_RIGHT_PUB, r));
    ASSERT(!topic_ok(t, "ak_main", "%RETRY%GID_none", ACL_RIGHT_SUB, r));
    acl_table_free(t);
}

TEST(slot_swap_and_persist)
{
    struct acl_slot s;
    acl_slot_init(&s);
    ASSERT(acl_slot_get(&s) == NULL);
    ASSERT(acl_slot_swap(&s, parse(TABLE)));
    const struct acl_table *first = acl_slot_get(&s);
    ASSERT(first != NULL);
    /* The same text again changes nothing. */
    ASSERT(!acl_slot_swap(&s, parse(TABLE)));
    ASSERT(acl_slot_get(&s) == first);
    /* A new table replaces it; the old one stays readable (grace period). */
    ASSERT(acl_slot_swap(&s, parse("{}")));
    ASSERT_EQ(acl_table_accounts(acl_slot_get(&s)), 0);
    ASSERT_EQ(acl_table_accounts(first), 5);
    ASSERT(acl_slot_swap(&s, parse(TABLE)));

    char dir[] = "/tmp/tern-acl-table-XXXXXX";
    ASSERT(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/acl.json", dir);
    ASSERT_EQ(acl_slot_persist(&s, path), TERN_OK);
    struct stat st;
    ASSERT_EQ(stat(path, &st), 0);
    ASSERT_EQ(st.st_mode & 0777, 0600); /* it holds the secrets */
    acl_slot_deinit(&s);

    struct acl_slot again;
    acl_slot_init(&again);
    char err[256];
    ASSERT_EQ(acl_slot_load(&again, path, err, sizeof err), TERN_OK);
    ASSERT_EQ(acl_table_accounts(acl_slot_get(&again)), 5);
    ASSERT_BYTES_EQ(acl_table_text(acl_slot_get(&again)), TABLE);
    acl_slot_deinit(&again);

    unlink(path);
    char bak[300];
    snprintf(bak, sizeof bak, "%s.bak", path);
    unlink(bak);
    acl_slot_init(&again);
    ASSERT_EQ(acl_slot_load(&again, path, err, sizeof err), TERN_ENOT_FOUND);
    ASSERT(acl_slot_get(&again) == NULL);
    acl_slot_deinit(&again);
    rmdir(dir);
}

/* GET_BROKER_CONFIG answers any signed client: the admin secret stays out. */
TEST(public_config_hides_admin_secret)
{
    struct broker_config cfg;
    broker_config_init(&cfg);
    char err[256];
    ASSERT_EQ(broker_config_set(&cfg, "aclAdminAccessKey", "CONSOLE", err, sizeof err), TERN_OK);
    ASSERT_EQ(broker_config_set(&cfg, "aclAdminSecretKey", "topsecret", err, sizeof err), TERN_OK);
    buf_t b;
    buf_init(&b);
    broker_config_print_public(&cfg, &b);
    buf_append(&b, "", 1);
    ASSERT(strstr((const char *)b.data, "topsecret") == NULL);
    ASSERT(strstr((const char *)b.data, "\naclAdminSecretKey=******\n") != NULL);
    ASSERT(strstr((const char *)b.data, "\naclAdminAccessKey=CONSOLE\n") != NULL);
    ASSERT(strstr((const char *)b.data, "\nlistenPort=10911\n") != NULL);
    buf_deinit(&b);
    broker_config_deinit(&cfg);
}

TEST_MAIN()
