/* SPDX-License-Identifier: Apache-2.0 */
/* test_clean.c: retention (forced and time-based) deletes old commit-log
 * segments and the consume-queue and index files below them, moving min
 * offsets; disk-full refusal and resumption. */
#include "harness.h"
#include "store_test_util.h"

#include <time.h>

static int count_files(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

static void fill(struct store *s, int n)
{
    char body[1001];
    memset(body, 'r', 1000);
    body[1000] = 0;
    char key[32];
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof key, "key%d", i);
        if (tst_put(s, "Ret", i % 2, body, NULL, key, NULL, NULL) != TERN_OK)
            abort();
    }
}

TEST(forced_retention_deletes_old_segments_and_queue_files)
{
    char *dir = tst_mkdtemp();
    struct store_config cfg;
    tst_config(&cfg, dir);
    cfg.commitlog_segment_bytes = 64 * 1024;
    cfg.cq_segment_units = 20;
    cfg.index_entries = 64;
    struct store *s;
    ASSERT_EQ(store_open(&cfg, &s), TERN_OK);
    fill(s, 400);
    ASSERT_EQ(store_flush_now(s), TERN_OK);
    char cl_dir[4096], cq_dir[4096], idx_dir[4096];
    snprintf(cl_dir, sizeof cl_dir, "%s/commitlog", dir);
    snprintf(cq_dir, sizeof cq_dir, "%s/consumequeue/Ret/0", dir);
    snprintf(idx_dir, sizeof idx_dir, "%s/index", dir);
    int segs = count_files(cl_dir);
    int cqs = count_files(cq_dir);
    ASSERT(segs >= 7);
    ASSERT_EQ(cqs, 10);
    for (int i = 0; i < 200; i++) { /* let the indexer finish */
        struct store_stats st;
        store_get_stats(s, &st);
        if (st.dispatch_behind_bytes == 0)
            break;
        usleep(5000);
    }
    int idx_files = count_files(idx_dir);
    ASSERT(idx_files > 2);
    struct store_stats st;
    store_get_stats(s, &st);
    int deleted = store_clean_now(s, true);
    ASSERT(deleted >= 5);
    struct store_stats st2;
    store_get_stats(s, &st2);
    ASSERT(st2.commitlog_min_off > st.commitlog_min_off);
    ASSERT_EQ(st2.commitlog_min_off % (64 * 1024), 0);
    ASSERT(count_files(cl_dir) <= segs - deleted + 1);
    ASSERT(count_files(cq_dir) < cqs);
    ASSERT(count_files(idx_dir) < idx_files);
    int64_t min = store_min_offset(s, tern_cstr("Ret"), 0);
    ASSERT(min > 0);
    ASSERT_EQ(store_max_offset(s, tern_cstr("Ret"), 0), 200);
    buf_t out;
    buf_init(&out);
    struct store_get_result g;
    ASSERT_EQ(store_get(s, tern_cstr("Ret"), 0, 0, 32, 1 << 20, NULL, NULL, &out, &g), TERN_OK);
    ASSERT_EQ(g.status, GET_OFFSET_TOO_SMALL);
    ASSERT_EQ(g.next_off, min);
    ASSERT_EQ(store_get(s, tern_cstr("Ret"), 0, min, 32, 1 << 20, NULL, NULL, &out, &g), TERN_OK);
    ASSERT_EQ(g.status, GET_FOUND);
    struct msg_record m;
    ASSERT_EQ(tst_nth(buf_view(&out), 0, &m), TERN_OK);
    ASSERT(m.phy_off >= st2.commitlog_min_off);
    ASSERT_EQ(m.queue_off, min);
    /* Message before min: read_at fails; query of a deleted key finds nothing. */
    ASSERT_EQ(store_read_at(s, 0, &out), TERN_ENOT_FOUND);
    struct store_query_result qr;
    buf_reset(&out);
    ASSERT_EQ(store_query(s, tern_cstr("Ret"), tern_cstr("key0"), 4, 0, INT64_MAX, &out, &qr),
              TERN_OK);
    ASSERT_EQ(qr.count, 0);
    ASSERT_EQ(store_query(s, tern_cstr("Ret"), tern_cstr("key399"), 4, 0, INT64_MAX, &out, &qr),
              TERN_OK);
    ASSERT_EQ(qr.count, 1);
    /* Puts continue, and bounds survive a reopen. */
    ASSERT_EQ(tst_put(s, "Ret", 0, "more", NULL, NULL, NULL, NULL), TERN_OK);
    store_close(s);
    ASSERT_EQ(store_open(&cfg, &s), TERN_OK);
    ASSERT_EQ(store_min_offset(s, tern_cstr("Ret"), 0), min);
    ASSERT_EQ(store_max_offset(s, tern_cstr("Ret"), 0), 201);
    buf_deinit(&out);
    store_close(s);
    tst_rm_rf(dir);
}

TEST(time_based_retention_at_delete_hour)
{
    char *dir = tst_mkdtemp();
    struct store_config cfg;
    tst_config(&cfg, dir);
    cfg.commitlog_segment_bytes = 64 * 1024;
    cfg.file_reserved_hours = 0;
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    cfg.delete_when_hour = (tm.tm_hour + 1) % 24; /* not now: nothing goes */
    struct store *s;
    ASSERT_EQ(store_open(&cfg, &s), TERN_OK);
    fill(s, 200);
    ASSERT_EQ(store_flush_now(s), TERN_OK);
    ASSERT_EQ(store_clean_now(s, false), 0);
    store_close(s);
    cfg.delete_when_hour = tm.tm_hour;
    ASSERT_EQ(store_open(&cfg, &s), TERN_OK);
    usleep(20000);
    localtime_r(&t, &tm);
    int deleted = store_clean_now(s, false);
    ASSERT(deleted >= 2);
    struct store_stats st;
    store_get_stats(s, &st);
    ASSERT(st.commitlog_min_off > 0);
    store_close(s);
    tst_rm_rf(dir);
}

TEST(disk_full_refuses_then_resumes)
{
    char *dir = tst_mkdtemp();
    struct store_config cfg;
    tst_config(&cfg, dir);
    struct store *s;
    ASSERT_EQ(store_open(&cfg, &s), TERN_OK);
    ASSERT_EQ(tst_put(s, "D", 0, "ok", NULL, NULL, NULL, NULL), TERN_OK);
    store_set_disk_limits(s, INT64_MAX, 100);
    ASSERT_EQ(tst_put(s, "D", 0, "refused", NULL, NULL, NULL, NULL), TERN_EDISK_FULL);
    struct store_stats st;
    store_get_stats(s, &st);
    ASSERT(st.disk_full);
    ASSERT(st.disk_total_bytes > 0);
    ASSERT_EQ(store_max_offset(s, tern_cstr("D"), 0), 1);
    store_set_disk_limits(s, 0, 100);
    ASSERT_EQ(tst_put(s, "D", 0, "resumed", NULL, NULL, NULL, NULL), TERN_OK);
    /* The used-ratio threshold works the same way. */
    store_set_disk_limits(s, 0, 0);
    ASSERT_EQ(tst_put(s, "D", 0, "refused", NULL, NULL, NULL, NULL), TERN_EDISK_FULL);
    store_set_disk_limits(s, 0, 100);
    ASSERT_EQ(tst_put(s, "D", 0, "again", NULL, NULL, NULL, NULL), TERN_OK);
    ASSERT_EQ(store_max_offset(s, tern_cstr("D"), 0), 3);
    store_get_stats(s, &st);
    ASSERT(!st.disk_full);
    store_close(s);
    tst_rm_rf(dir);
}

TEST_MAIN()
