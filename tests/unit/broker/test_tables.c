/* SPDX-License-Identifier: Apache-2.0 */
/* test_tables.c: the broker's persisted tables alone (topics, groups,
 * offsets: write, reload, .bak fallback), name rules and TAG filters. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/filter.h"
#include "broker/group_config.h"
#include "broker/offsets.h"
#include "broker/persist.h"
#include "broker/topic_config.h"
#include "common/error.h"
#include "common/hash.h"
#include "harness.h"

static void tmpdir(char *dir, size_t n)
{
    snprintf(dir, n, "/tmp/tern-tables-XXXXXX");
    if (!mkdtemp(dir))
        abort();
}

static void rmdir_rf(const char *dir)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
}

TEST(topic_names)
{
    ASSERT(topic_name_valid(tern_cstr("TopicTest"), 127));
    ASSERT(topic_name_valid(tern_cstr("%RETRY%MQ_INST_x%group|a-b"), 127));
    ASSERT(!topic_name_valid(tern_cstr(""), 127));
    ASSERT(!topic_name_valid(tern_cstr("a b"), 127));
    ASSERT(!topic_name_valid(tern_cstr("a.b"), 127));
    ASSERT(!topic_name_valid(tern_cstr("abcd"), 3));
    ASSERT(topic_is_send_forbidden(tern_cstr("SCHEDULE_TOPIC_XXXX")));
    ASSERT(topic_is_send_forbidden(tern_cstr("rmq_sys_wheel_timer")));
    ASSERT(!topic_is_send_forbidden(tern_cstr("TBW102")));
    ASSERT(group_name_valid(tern_cstr("CID_x")));
    ASSERT(!group_name_valid(tern_cstr("bad group")));
}

TEST(topics_persist_and_reload)
{
    char dir[64], path[128];
    tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/topics.json", dir);
    struct topic_table t;
    ASSERT_EQ(topics_init(&t, path), TERN_OK);
    struct topic_config tc, out;
    topic_config_defaults(&tc, tern_cstr("T1"));
    tc.read_queue_nums = tc.write_queue_nums = 4;
    tc.order = true;
    ASSERT(topics_put(&t, &tc));
    ASSERT(!topics_put(&t, &tc)); /* unchanged */
    topic_config_defaults(&tc, tern_cstr("T2"));
    ASSERT(topics_create_if_absent(&t, &tc, &out));
    ASSERT(!topics_create_if_absent(&t, &tc, &out));
    ASSERT_EQ(topics_persist(&t, false), TERN_OK);
    ASSERT(topics_delete(&t, tern_cstr("T2")));
    ASSERT_EQ(topics_persist(&t, false), TERN_OK); /* previous version kept as .bak */
    int64_t counter = t.dv_counter;
    topics_deinit(&t);

    ASSERT_EQ(topics_init(&t, path), TERN_OK);
    ASSERT(topics_get(&t, tern_cstr("T1"), &out));
    ASSERT_EQ(out.read_queue_nums, 4);
    ASSERT(out.order);
    ASSERT(!topics_get(&t, tern_cstr("T2"), &out));
    ASSERT_EQ(t.dv_counter, counter);
    topics_deinit(&t);

    /* Main file lost: the .bak (one version older, with T2) is read. */
    ASSERT_EQ(unlink(path), 0);
    ASSERT_EQ(topics_init(&t, path), TERN_OK);
    ASSERT(topics_get(&t, tern_cstr("T2"), &out));
    topics_deinit(&t);

    /* A corrupt file is reported, not ignored. */
    ASSERT_EQ(persist_write(path, tern_cstr("{not json")), TERN_OK);
    ASSERT_EQ(topics_init(&t, path), TERN_ECORRUPT);
    topics_deinit(&t);
    rmdir_rf(dir);
}

TEST(groups_and_offsets_reload)
{
    char dir[64], gpath[128], opath[128];
    tmpdir(dir, sizeof dir);
    snprintf(gpath, sizeof gpath, "%s/subscriptionGroup.json", dir);
    snprintf(opath, sizeof opath, "%s/consumerOffset.json", dir);
    struct group_table g;
    ASSERT_EQ(groups_init(&g, gpath), TERN_OK);
    struct group_config gc;
    ASSERT(groups_get(&g, tern_cstr("TOOLS_CONSUMER"), &gc)); /* built-in */
    ASSERT(!groups_ensure(&g, tern_cstr("G1"), false, &gc));
    ASSERT(groups_ensure(&g, tern_cstr("G1"), true, &gc));
    ASSERT(!groups_ensure(&g, tern_cstr("bad name"), true, &gc));
    ASSERT_EQ(group_config_decode(tern_cstr("{\"groupName\":\"G2\",\"retryQueueNums\":3,"
                                            "\"consumeEnable\":false}"),
                                  &gc),
              TERN_OK);
    groups_put(&g, &gc);
    ASSERT(group_config_decode(tern_cstr("{\"groupName\":\"a b\"}"), &gc) != TERN_OK);
    ASSERT_EQ(groups_persist(&g, false), TERN_OK);
    groups_deinit(&g);
    ASSERT_EQ(groups_init(&g, gpath), TERN_OK);
    ASSERT(groups_get(&g, tern_cstr("G1"), &gc));
    ASSERT(groups_get(&g, tern_cstr("G2"), &gc));
    ASSERT_EQ(gc.retry_queue_nums, 3);
    ASSERT(!gc.consume_enable);
    groups_deinit(&g);

    struct offset_table o;
    ASSERT_EQ(offsets_init(&o, opath), TERN_OK);
    offsets_commit(&o, tern_cstr("T"), tern_cstr("G1"), 0, 5);
    offsets_commit(&o, tern_cstr("T"), tern_cstr("G1"), 9, 77);
    offsets_commit(&o, tern_cstr("U"), tern_cstr("G1"), 1, 3);
    offsets_commit(&o, tern_cstr("T"), tern_cstr("G2"), 0, -1); /* ignored */
    ASSERT_EQ(offsets_query(&o, tern_cstr("T"), tern_cstr("G1"), 9), 77);
    ASSERT_EQ(offsets_query(&o, tern_cstr("T"), tern_cstr("G1"), 3), -1);
    ASSERT_EQ(offsets_query(&o, tern_cstr("T"), tern_cstr("G2"), 0), -1);
    ASSERT_EQ(offsets_persist(&o, false), TERN_OK);
    offsets_deinit(&o);
    ASSERT_EQ(offsets_init(&o, opath), TERN_OK);
    ASSERT_EQ(offsets_query(&o, tern_cstr("T"), tern_cstr("G1"), 0), 5);
    ASSERT_EQ(offsets_query(&o, tern_cstr("T"), tern_cstr("G1"), 9), 77);
    offsets_delete_topic(&o, tern_cstr("T"));
    ASSERT_EQ(offsets_query(&o, tern_cstr("T"), tern_cstr("G1"), 0), -1);
    ASSERT_EQ(offsets_query(&o, tern_cstr("U"), tern_cstr("G1"), 1), 3);
    offsets_deinit(&o);
    /* Java's fastjson form with bare integer keys loads too. */
    ASSERT_EQ(persist_write(opath, tern_cstr("{\"offsetTable\":{\"T@G\":{0:12,1:13}}}")), TERN_OK);
    ASSERT_EQ(offsets_init(&o, opath), TERN_OK);
    ASSERT_EQ(offsets_query(&o, tern_cstr("T"), tern_cstr("G"), 1), 13);
    offsets_deinit(&o);
    rmdir_rf(dir);
}

TEST(tag_filters)
{
    struct tag_filter f;
    tag_filter_parse(&f, tern_cstr("TagA || TagB"));
    ASSERT(!f.match_all);
    ASSERT(tag_filter_match(&f, 2598919));
    ASSERT(tag_filter_match(&f, 2598920));
    ASSERT(!tag_filter_match(&f, java_string_hash((const uint8_t *)"TagC", 4)));
    ASSERT(!tag_filter_match(&f, 0)); /* no TAGS matches only "*" */
    tag_filter_parse(&f, tern_cstr("*"));
    ASSERT(f.match_all);
    ASSERT(tag_filter_match(&f, 0));
}

TEST_MAIN()
