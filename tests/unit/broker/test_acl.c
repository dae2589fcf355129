/* SPDX-License-Identifier: Apache-2.0 */
/* test_acl.c: request signatures against the test vectors of
 * remoting-protocol.md §7.2, the check's verdicts and remarks (§7.3, §7.4),
 * and the credentials file parser. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/acl.h"
#include "common/error.h"
#include "harness.h"
#include "protocol/codes.h"

static const tern_bytes_t SECRET = {(const uint8_t *)"12345678", 8};

static void sign_str(const struct rcmd *c, char *out)
{
    ASSERT_EQ(acl_sign(c, SECRET, out), TERN_OK);
}

/* Vector 1: fields are sorted by name (AccessKey < consumerGroup < queueId <
 * topic), values concatenated: "RocketMQCG0TopicTest". */
TEST(vector_fields_sorted)
{
    struct rcmd c;
    rcmd_init(&c);
    rcmd_add_cstr(&c, "topic", "TopicTest");
    rcmd_add_cstr(&c, "queueId", "0");
    rcmd_add_cstr(&c, "consumerGroup", "CG");
    rcmd_add_cstr(&c, "AccessKey", "RocketMQ");
    char sig[ACL_SIG_LEN + 1];
    sign_str(&c, sig);
    ASSERT_STR_EQ(sig, "Jy7MBu3LNMppwdH6r6RKPvRmITk=");
    /* A Signature field already present is not part of the content. */
    rcmd_add_cstr(&c, "Signature", "whatever");
    sign_str(&c, sig);
    ASSERT_STR_EQ(sig, "Jy7MBu3LNMppwdH6r6RKPvRmITk=");
    rcmd_deinit(&c);
}

/* Vector 2: the body is appended after the values. */
TEST(vector_body)
{
    struct rcmd c;
    rcmd_init(&c);
    rcmd_add_cstr(&c, "AccessKey", "RocketMQ");
    static const char body[] = "{\"clientID\":\"10.0.0.5@1234\"}";
    c.body = tern_bytes(body, sizeof body - 1);
    char sig[ACL_SIG_LEN + 1];
    sign_str(&c, sig);
    ASSERT_STR_EQ(sig, "V+Hvs0FPPS8uu8V9JntlRM12E6I=");
    rcmd_deinit(&c);
}

/* Vector 3: OnsChannel is signed like any field (uppercase sorts first). */
TEST(vector_ons_channel)
{
    struct rcmd c;
    rcmd_init(&c);
    rcmd_add_cstr(&c, "queueId", "0");
    rcmd_add_cstr(&c, "OnsChannel", "ALIYUN");
    rcmd_add_cstr(&c, "topic", "TopicTest");
    rcmd_add_cstr(&c, "AccessKey", "RocketMQ");
    rcmd_add_cstr(&c, "consumerGroup", "CG");
    char sig[ACL_SIG_LEN + 1];
    sign_str(&c, sig);
    ASSERT_STR_EQ(sig, "CkE3OxrP47kVBjNL6nG7a77aAPk=");
    rcmd_deinit(&c);
}

/* Numbers in JSON extFields are signed as their text (§2.3 rule 1): decoding
 * the CPP form of vector 1 gives the same signature. */
TEST(vector_from_json_numbers)
{
    static const char hdr[] = "{\"code\":11,\"extFields\":{\"AccessKey\":\"RocketMQ\","
                              "\"consumerGroup\":\"CG\",\"queueId\":0,\"topic\":\"TopicTest\"},"
                              "\"flag\":0,\"language\":\"CPP\",\"opaque\":1,\"version\":333}";
    size_t hl = sizeof hdr - 1;
    uint8_t frame[512];
    uint32_t total = (uint32_t)(4 + hl);
    frame[0] = (uint8_t)(total >> 24);
    frame[1] = (uint8_t)(total >> 16);
    frame[2] = (uint8_t)(total >> 8);
    frame[3] = (uint8_t)total;
    frame[4] = 0;
    frame[5] = (uint8_t)(hl >> 16);
    frame[6] = (uint8_t)(hl >> 8);
    frame[7] = (uint8_t)hl;
    memcpy(frame + 8, hdr, hl);
    struct rcmd c;
    rcmd_init(&c);
    ASSERT_EQ(rcmd_decode(frame, 8 + hl, &c), TERN_OK);
    char sig[ACL_SIG_LEN + 1];
    sign_str(&c, sig);
    ASSERT_STR_EQ(sig, "Jy7MBu3LNMppwdH6r6RKPvRmITk=");
    rcmd_deinit(&c);
}

/* _UNIQUE_KEY_QUERY is left out for version <= 399 and signed above. */
TEST(unique_key_query_by_version)
{
    struct rcmd c;
    rcmd_init(&c);
    rcmd_add_cstr(&c, "AccessKey", "RocketMQ");
    rcmd_add_cstr(&c, "consumerGroup", "CG");
    rcmd_add_cstr(&c, "topic", "TopicTest");
    rcmd_add_cstr(&c, "queueId", "0");
    rcmd_add_cstr(&c, "_UNIQUE_KEY_QUERY", "true");
    char sig[ACL_SIG_LEN + 1];
    c.version = 399;
    sign_str(&c, sig);
    ASSERT_STR_EQ(sig, "Jy7MBu3LNMppwdH6r6RKPvRmITk=");
    c.version = 400;
    sign_str(&c, sig);
    ASSERT(strcmp(sig, "Jy7MBu3LNMppwdH6r6RKPvRmITk=") != 0);
    rcmd_deinit(&c);
}

static struct acl *load(const char *text)
{
    struct acl *a = NULL;
    char err[256];
    int rc = acl_parse(tern_cstr(text), &a, err, sizeof err);
    if (rc != TERN_OK)
        fprintf(stderr, "  parse: %s\n", err);
    return a;
}

TEST(parse_file)
{
    struct acl *a = load("# accounts\n"
                         "\n"
                         "  RocketMQ   12345678  \r\n"
                         "admin1\tsecret-a admin\n"
                         "   # indented comment\n"
                         "last lastsecret");
    ASSERT(a != NULL);
    ASSERT_EQ(acl_count(a), 3);
    tern_bytes_t sk;
    bool admin = true;
    ASSERT(acl_lookup(a, tern_cstr("RocketMQ"), &sk, &admin));
    ASSERT(tern_bytes_eq_cstr(sk, "12345678"));
    ASSERT(!admin);
    ASSERT(acl_lookup(a, tern_cstr("admin1"), &sk, &admin));
    ASSERT(tern_bytes_eq_cstr(sk, "secret-a"));
    ASSERT(admin);
    ASSERT(acl_lookup(a, tern_cstr("last"), &sk, &admin));
    ASSERT(tern_bytes_eq_cstr(sk, "lastsecret"));
    ASSERT(!acl_lookup(a, tern_cstr("Rocket"), &sk, &admin));
    ASSERT(!acl_lookup(a, tern_cstr("RocketMQX"), &sk, &admin));
    ASSERT(!acl_lookup(a, tern_cstr(""), &sk, &admin));
    acl_free(a);
}

TEST(parse_errors)
{
    struct acl *a = NULL;
    char err[256] = "";
    ASSERT_EQ(acl_parse(tern_cstr("ak sk\nlonely\n"), &a, err, sizeof err), TERN_ECONFIG);
    ASSERT(strstr(err, "line 2") != NULL);
    ASSERT_EQ(acl_parse(tern_cstr("ak sk root\n"), &a, err, sizeof err), TERN_ECONFIG);
    ASSERT(strstr(err, "line 1") != NULL);
    ASSERT_EQ(acl_parse(tern_cstr("ak sk admin extra\n"), &a, err, sizeof err), TERN_ECONFIG);
    ASSERT_EQ(acl_parse(tern_cstr("ak sk\nak other\n"), &a, err, sizeof err), TERN_ECONFIG);
    ASSERT(strstr(err, "twice") != NULL);
    ASSERT_EQ(acl_parse(tern_cstr("# nothing\n\n"), &a, err, sizeof err), TERN_ECONFIG);
    ASSERT_EQ(acl_parse(tern_cstr(""), &a, err, sizeof err), TERN_ECONFIG);
    ASSERT(a == NULL);
}

TEST(load_file)
{
    char path[] = "/tmp/tern-acl-XXXXXX";
    int fd = mkstemp(path);
    ASSERT(fd >= 0);
    static const char text[] = "ak1 sk1 admin\nak2 sk2\n";
    ASSERT_EQ(write(fd, text, sizeof text - 1), (long long)(sizeof text - 1));
    close(fd);
    struct acl *a = NULL;
    char err[256];
    ASSERT_EQ(acl_load_file(path, &a, err, sizeof err), TERN_OK);
    ASSERT_EQ(acl_count(a), 2);
    acl_free(a);
    unlink(path);
    ASSERT(acl_load_file(path, &a, err, sizeof err) < 0);
    ASSERT(strstr(err, "cannot open") != NULL);
}

/* A request of vector 1 carrying the given access key and signature. */
static void request(struct rcmd *c, const char *ak, const char *sig)
{
    rcmd_init(c);
    c->code = 11;
    rcmd_add_cstr(c, "consumerGroup", "CG");
    rcmd_add_cstr(c, "topic", "TopicTest");
    rcmd_add_cstr(c, "queueId", "0");
    if (ak)
        rcmd_add_cstr(c, "AccessKey", ak);
    if (sig)
        rcmd_add_cstr(c, "Signature", sig);
}

TEST(check_verdicts)
{
    struct acl *a = load("RocketMQ 12345678\nboss 12345678 admin\n");
    ASSERT(a != NULL);
    char remark[160];
    struct rcmd c;

    request(&c, "RocketMQ", "Jy7MBu3LNMppwdH6r6RKPvRmITk=");
    ASSERT(acl_check(a, &c, false, remark, sizeof remark));
    /* Admin-only codes need an admin account. */
    ASSERT(!acl_check(a, &c, true, remark, sizeof remark));
    ASSERT(strstr(remark, "not an admin") != NULL);
    rcmd_deinit(&c);

    request(&c, "RocketMQ", "Jy7MBu3LNMppwdH6r6RKPvRmITj=");
    ASSERT(!acl_check(a, &c, false, remark, sizeof remark));
    ASSERT_STR_EQ(remark, "Check signature failed for accessKey=RocketMQ");
    rcmd_deinit(&c);

    request(&c, "RocketMQ", "Jy7MBu3LNMppwdH6r6RKPvRmITk");
    ASSERT(!acl_check(a, &c, false, remark, sizeof remark));
    rcmd_deinit(&c);

    request(&c, "RocketMQ", NULL);
    ASSERT(!acl_check(a, &c, false, remark, sizeof remark));
    ASSERT_STR_EQ(remark, "Check signature failed for accessKey=RocketMQ");
    rcmd_deinit(&c);

    request(&c, "stranger", "Jy7MBu3LNMppwdH6r6RKPvRmITk=");
    ASSERT(!acl_check(a, &c, false, remark, sizeof remark));
    ASSERT_STR_EQ(remark, "No acl config for stranger");
    rcmd_deinit(&c);

    request(&c, NULL, NULL);
    ASSERT(!acl_check(a, &c, false, remark, sizeof remark));
    ASSERT_STR_EQ(remark, "No accessKey is configured");
    rcmd_deinit(&c);

    /* CPP without credentials: present but empty = anonymous. */
    request(&c, "", "");
    ASSERT(!acl_check(a, &c, false, remark, sizeof remark));
    ASSERT_STR_EQ(remark, "No accessKey is configured");
    rcmd_deinit(&c);

    /* The admin account signs with its own key name in the content. */
    request(&c, "boss", NULL);
    char sig[ACL_SIG_LEN + 1];
    sign_str(&c, sig);
    rcmd_add_cstr(&c, "Signature", sig);
    ASSERT(acl_check(a, &c, true, remark, sizeof remark));
    rcmd_deinit(&c);
    acl_free(a);
}

TEST_MAIN()
