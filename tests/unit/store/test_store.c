/* SPDX-License-Identifier: Apache-2.0 */
/* test_store.c: the store facade's append and read paths: round trip, batches,
 * segment rollover, the GetMessageStatus table, offset by time, key queries,
 * read_at, reopen after a clean close, the lock file, input limits and the
 * mapping advice of commit-log segments. */
#include "harness.h"
#include "store_test_util.h"

#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "common/hash.h"

static bool only_tag_a(void *arg, int64_t code)
{
    (void)arg;
    return code == store_tags_code(tern_cstr("A"));
}

static bool reject_all(void *arg, int64_t code)
{
    (void)arg;
    (void)code;
    return false;
}

TEST(put_get_round_trip)
{
    char *dir = tst_mkdtemp();
    struct store_config cfg;
    tst_config(&cfg, dir);
    struct store *s;
    ASSERT_EQ(store_open(&cfg, &s), TERN_OK);
    struct store_put_result r1, r2;
    ASSERT_EQ(tst_put(s, "TopicA", 3, "hello", "TagX", "k1 k2", "UNIQ0001", &r1), TERN_OK);
    ASSERT_EQ(tst_put(s, "TopicA", 3, "world!", NULL, NULL, NULL, &r2), TERN_OK);
    ASSERT_EQ(r1.first_phy_off, 0);
    ASSERT_EQ(r1.first_queue_off, 0);
    ASSERT_EQ(r2.first_queue_off, 1);
    ASSERT_EQ(r2.first_phy_off, r1.end_phy_off);
    ASSERT_EQ(store_max_offset(s, tern_cstr("TopicA"), 3), 2);
    ASSERT_EQ(store_min_offset(s, tern_cstr("TopicA"), 3), 0);

    buf_t body;
    buf_init(&body);
    struct store_get_result g;
    ASSERT_EQ(store_get(s, tern_cstr("TopicA"), 3, 0, 32, 1 << 20, NULL, NULL, &body, &g), TERN_OK);
    ASSERT_EQ(g.status, GET_FOUND);
    ASSERT_EQ(g.count, 2);
    ASSERT_EQ(g.next_off, 2);
    ASSERT_EQ(g.max_off, 2);
    struct msg_record m;
    ASSERT_EQ(tst_nth(buf_view(&body), 0, &m), TERN_OK);
    ASSERT_BYTES_EQ(m.topic, "TopicA");
    ASSERT_BYTES_EQ(m.body, "hello");
    ASSERT_EQ(m.queue_id, 3);
    ASSERT_EQ(m.queue_off, 0);
    ASSERT_EQ(m.phy_off, r1.first_phy_off);
    ASSERT_EQ(m.flag, 7);
    ASSERT_EQ(m.born_ts, 1700000000000LL);
    ASSERT_EQ(m.store_ts, r1.store_ts);
    ASSERT_EQ(m.born_host.port, 5555);
    ASSERT_EQ(m.store_host.port, 10911);
    ASSERT_EQ(m.store_host.addr[0], 192);
    ASSERT_EQ(m.body_crc, crc32_java((const uint8_t *)"hello", 5));
    ASSERT(msg_check_crc(&m));
    tern_bytes_t v;
    ASSERT(props_get(m.props, PROP_TAGS, &v));
    ASSERT_BYTES_EQ(v, "TagX");
    ASSERT_EQ(m.total_size, (int)(r1.end_phy_off - r1.first_phy_off));
    ASSERT_EQ(tst_nth(buf_view(&body), 1, &m), TERN_OK);
    ASSERT_BYTES_EQ(m.body, "world!");
    ASSERT_EQ(m.queue_off, 1);
    ASSERT_EQ(m.phy_off, r2.first_phy_off);
    ASSERT(m.store_ts >= r1.store_ts);

    /* read_at returns the same record; a non-record offset is NOT_FOUND. */
    buf_reset(&body);
    ASSERT_EQ(store_read_at(s, r2.first_phy_off, &body), TERN_OK);
    ASSERT_EQ(tst_nth(buf_view(&body), 0, &m), TERN_OK);
    ASSERT_BYTES_EQ(m.body, "world!");
    ASSERT_EQ(store_read_at(s, r2.first_phy_off + 1, &body), TERN_ENOT_FOUND);
    ASSERT_EQ(store_read_at(s, r2.end_phy_off, &body), TERN_ENOT_FOUND);
    ASSERT_EQ(store_read_at(s, -5, &body), TERN_ENOT_FOUND);

    struct store_stats st;
    store_get_stats(s, &st);
    ASSERT_EQ(st.commitlog_max_off, r2.end_phy_off);
    ASSERT_EQ(st.puts_total, 2);
    ASSERT_EQ(st.earliest_msg_ts, r1.store_ts);
    buf_deinit(&body);
    store_close(s);
    tst_rm_rf(dir);
}

TEST(ipv6_hosts_set_sysflag)
{
    char *dir = tst_mkdtemp();
    struct store_config cfg;
    tst_config(&cfg, dir);
    struct store *s;
    ASSERT_EQ(store_open(&cfg, &s), TERN_OK);
    buf_t pb, body;
    buf_init(&pb);
    buf_init(&body);
    struct store_msg m = tst_msg("T6", 0, "v6body", NULL, NULL, NULL, &pb);
    m.born_host.is_v6 = true;
    m.born_host.addr[15] = 1;
    m.sys_flag = MSG_SYSFLAG_STOREHOST_V6; /* wrong: store host is v4; the store fixes it */
    struct store_put_result r;
    ASSERT_EQ(store_put(s, &m, 1, &r, NULL), TERN_OK);
    ASSERT_EQ(store_read_at(s, r.first_phy_off, &body), TERN_OK);
    struct msg_record d;
    ASSERT_EQ(tst_nth(buf_view(&body), 0, &d), TERN_OK);
    ASSERT_EQ(d.sys_flag & (MSG_SYSFLAG_BORNHOST_V6 | MSG_SYSFLAG_STOREHOST_V6),
              MSG_SYSFLAG_BORNHOST_V6);
    ASSERT(d.born_host.is_v6);
    ASSERT_EQ(d.born_host.addr[15], 1);
    ASSERT_EQ(d.store_ts, r.store_ts);
    ASSERT_BYTES_EQ(d.body, "v6body");
    buf_deinit(&pb);
    buf_deinit(&body);
    store_close(s);
    tst_rm_rf(dir);
}

TEST(batch_put_consecutive_offsets)
{
    char *dir = tst_mkdtemp();
    struct store_config cfg;
    tst_config(&cfg, dir);
    struct store *s;
    ASSERT_EQ(store_open(&cfg, &s), TERN_OK);
    ASSERT_EQ(tst_put(s, "B", 0, "first", NULL, NULL, NULL, NULL), TERN_OK);
    buf_t pb[5];
    struct store_msg msgs[5];
    char bodies[5][24];
    for (int i = 0; i < 5; i++) {
        buf_init(&pb[i]);
        snprintf(bodies[i], sizeof bodies[i], "batch-%d", i);
        msgs[i] = tst_msg("B", 0, bodies[i], "T", NULL, NULL, &pb[i]);
    }
    /* A prepared transaction record in the middle gets no queue offset. */
    msgs[2].sys_flag = MSG_SYSFLAG_TXN_PREPARED;
    struct store_put_result r;
    int64_t phys[5];
    ASSERT_EQ(store_put(s, msgs, 5, &r, phys), TERN_OK);
    ASSERT_EQ(r.first_queue_off, 1);
    ASSERT_EQ(r.first_phy_off, phys[0]);
    for (int i = 1; i < 5; i++)
        ASSERT(phys[i] > phys[i - 1]);
    ASSERT_EQ(store_max_offset(s, tern_cstr("B"), 0), 5);
    buf_t body;
    buf_init(&body);
    struct store_get_result g;
    ASSERT_EQ(store_get(s, tern_cstr("B"), 0, 1, 32, 1 << 20, NULL, NULL, &body, &g), TERN_OK);
    ASSERT_EQ(g.count, 4);
    const char *want[4] = {"batch-0", "batch-1", "batch-3", "batch-4"};
    for (int i = 0; i < 4; i++) {
        struct msg_record m;
        ASSERT_EQ(tst_nth(buf_view(&body), i, &m), TERN_OK);
        ASSERT_BYTES_EQ(m.body, want[i]);
        ASSERT_EQ(m.queue_off, 1 + i);
    }
    /* The prepared record is stored (readable by offset) with queue offset 0. */
    buf_reset(&body);
    ASSERT_EQ(store_read_at(s, phys[2], &body), TERN_OK);
    struct msg_record m;
    ASSERT_EQ(tst_nth(buf_view(&body), 0, &m), TERN_OK);
    ASSERT_BYTES_EQ(m.body, "batch-2");
    ASSERT_EQ(m.queue_off, 0);
    /* Mixed topics in a batch are refused and nothing is appended. */
    msgs[1].topic = tern_cstr("Other");
    ASSERT_EQ(store_put(s, msgs, 5, &r, NULL), TERN_EINVALID);
    ASSERT_EQ(store_max_offset(s, tern_cstr("B"), 0), 5);
    for (int i = 0; i < 5; i++)
        buf_deinit(&pb[i]);
    buf_deinit(&body);
    store_close(s);
    tst_rm_rf(dir);
}

TEST(limits_rejected)
{
    char *dir = tst_mkdtemp();
    struct store_config cfg;
    tst_config(&cfg, dir);
    cfg.max_message_bytes = 1000;
    struct store *s;
    ASSERT_EQ(store_open(&cfg, &s), TERN_OK);
    char topic[200];
    memset(topic, 'a', sizeof topic);
    topic[128] = 0;
    ASSERT_EQ(tst_put(s, topic, 0, "x", NULL, NULL, NULL, NULL), TERN_ETOO_LARGE);
    topic[127] = 0;
    ASSERT_EQ(tst_put(s, topic, 0, "x", NULL, NULL, NULL, NULL), TERN_OK);
    char *big = malloc(40000);
    memset(big, 'b', 39999);
    big[39999] = 0;
    ASSERT_EQ(tst_put(s, "T", 0, big, NULL, NULL, NULL, NULL), TERN_ETOO_LARGE);
    big[1000] = 0;
    ASSERT_EQ(tst_put(s, "T", 0, big, NULL, NULL, NULL, NULL), TERN_OK);
    big[1000] = 'b';
    big[1001] = 0;
    ASSERT_EQ(tst_put(s, "T", 0, big, NULL, NULL, NULL, NULL), TERN_ETOO_LARGE);
    /* Properties longer than 32767 bytes. */
    buf_t pb;
    buf_init(&pb);
    memset(big, 'p', 39999);
    big[33000] = 0;
    struct store_msg m = tst_msg("T", 0, "x", NULL, big, NULL, &pb);
    ASSERT_EQ(store_put(s, &m, 1, NULL, NULL), TERN_ETOO_LARGE);
    ASSERT_EQ(tst_put(s, "../evil", 0, "x", NULL, NULL, NULL, NULL), TERN_EINVALID);
    ASSERT_EQ(tst_put(s, "", 0, "x", NULL, NULL, NULL, NULL), TERN_EINVALID);
    ASSERT_EQ(store_max_offset(s, tern_cstr("T"), 0), 1);
    buf_deinit(&pb);
    free(big);
    store_close(s);
    tst_rm_rf(dir);
}

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

TEST(segment_rollover)
{
    char *dir = tst_mkdtemp();
    struct store_config cfg;
    tst_config(&cfg, dir);
    cfg.commitlog_segment_bytes = 64 * 1024;
    cfg.cq_segment_units = 50;
    struct store *s;
    ASSERT_EQ(store_open(&cfg, &s), TERN_OK);
    char body[1001];
    int64_t last_end = 0;
    for (int i = 0; i < 300; i++) {
        snprintf(body, sizeof body, "%04d-", i);
        memset(body + 5, 'a' + i % 26, 995);
        body[1000] = 0;
        struct store_put_result r;
        ASSERT_EQ(tst_put(s, "Roll", 1, body, NULL, NULL, NULL, &r), TERN_OK);
        /* Records never span segments. */
        ASSERT_EQ(r.first_phy_off / (64 * 1024), (r.end_phy_off - 1) / (64 * 1024));
        last_end = r.end_phy_off;
    }
    ASSERT(last_end > 4 * 64 * 1024);
    char path[4096];
    snprintf(path, sizeof path, "%s/commitlog", dir);
    ASSERT(count_files(path) >= 5);
    snprintf(path, sizeof path, "%s/commitlog/%020lld", dir, (long long)(64 * 1024));
    struct stat st;
    ASSERT_EQ(stat(path, &st), 0);
    ASSERT_EQ(st.st_size, 64 * 1024);
    snprintf(path, sizeof path, "%s/consumequeue/Roll/1", dir);
    ASSERT_EQ(count_files(path), 6);
    buf_t out;
    buf_init(&out);
    int64_t off = 0;
    int seen = 0;
    while (off < 300) {
        struct store_get_result g;
        buf_reset(&out);
        ASSERT_EQ(store_get(s, tern_cstr("Roll"), 1, off, 32, 256 * 1024, NULL, NULL, &out, &g),
                  TERN_OK);
        ASSERT_EQ(g.status, GET_FOUND);
        ASSERT(g.count > 0);
        for (int i = 0; i < g.count; i++) {
            struct msg_record m;
            ASSERT_EQ(tst_nth(buf_view(&out), i, &m), TERN_OK);
            char want[16];
            snprintf(want, sizeof want, "%04d-", seen);
            ASSERT(memcmp(m.body.ptr, want, 5) == 0);
            ASSERT_EQ(m.queue_off, seen);
            ASSERT(msg_check_crc(&m));
            seen++;
        }
        off = g.next_off;
    }
    ASSERT_EQ(seen, 300);
    buf_deinit(&out);
    store_close(s);
    /* The spare segment made ahead of time is not left behind. */
    snprintf(path, sizeof path, "%s/commitlog", dir);
    ASSERT_EQ(count_files(path), (int)(last_end / (64 * 1024)) + 1);
    tst_rm_rf(dir);
}

TEST(get_status_table)
{
    char *dir = tst_mkdtemp();
    struct store_config cfg;
    tst_config(&cfg, dir);
    cfg.cq_segment_units = 4;
    struct store *s;
    ASSERT_EQ(store_open(&cfg, &s), TERN_OK);
    buf_t out;
    buf_init(&out);
    struct store_get_result g;
    tern_bytes_t t = tern_cstr("S");
    ASSERT_EQ(store_get(s, t, 0, 5, 32, 1 << 20, NULL, NULL, &out, &g), TERN_OK);
    ASSERT_EQ(g.status, GET_NO_MATCHED_LOGIC_QUEUE);
    ASSERT_EQ(g.next_off, 0);
    for (int i = 0; i < 10; i++)
        ASSERT_EQ(tst_put(s, "S", 0, "m", i % 2 ? "B" : "A", NULL, NULL, NULL), TERN_OK);
    ASSERT_EQ(store_get(s, t, 0, 10, 32, 1 << 20, NULL, NULL, &out, &g), TERN_OK);
    ASSERT_EQ(g.status, GET_OFFSET_OVERFLOW_ONE);
    ASSERT_EQ(g.next_off, 10);
    ASSERT_EQ(store_get(s, t, 0, 50, 32, 1 << 20, NULL, NULL, &out, &g), TERN_OK);
    ASSERT_EQ(g.status, GET_OFFSET_OVERFLOW_BADLY);
    ASSERT_EQ(g.next_off, 10);
    ASSERT_EQ(g.min_off, 0);
    ASSERT_EQ(g.max_off, 10);
    ASSERT_EQ(store_get(s, t, 0, -3, 32, 1 << 20, NULL, NULL, &out, &g), TERN_OK);
    ASSERT_EQ(g.status, GET_OFFSET_TOO_SMALL);
    ASSERT_EQ(g.next_off, 0);
    ASSERT_EQ(out.len, 0);
    /* Filter rejecting everything: NO_MATCHED_MESSAGE; the scan stops at the
     * end of the CQ file (4 units per file here) and next_off skips them. */
    ASSERT_EQ(store_get(s, t, 0, 1, 32, 1 << 20, reject_all, NULL, &out, &g), TERN_OK);
    ASSERT_EQ(g.status, GET_NO_MATCHED_MESSAGE);
    ASSERT_EQ(g.count, 0);
    ASSERT_EQ(g.next_off, 4);
    /* Tag filter: offsets 0..3 hold A,B,A,B. */
    ASSERT_EQ(store_get(s, t, 0, 0, 32, 1 << 20, only_tag_a, NULL, &out, &g), TERN_OK);
    ASSERT_EQ(g.status, GET_FOUND);
    ASSERT_EQ(g.count, 2);
    ASSERT_EQ(g.next_off, 4);
    /* max_msgs stops the batch and next_off points at the first untaken. */
    buf_reset(&out);
    ASSERT_EQ(store_get(s, t, 0, 0, 3, 1 << 20, NULL, NULL, &out, &g), TERN_OK);
    ASSERT_EQ(g.count, 3);
    ASSERT_EQ(g.next_off, 3);
    /* Byte budget: smaller than one record still returns one. */
    buf_reset(&out);
    ASSERT_EQ(store_get(s, t, 0, 0, 32, 10, NULL, NULL, &out, &g), TERN_OK);
    ASSERT_EQ(g.count, 1);
    ASSERT_EQ(g.next_off, 1);
    struct msg_record m;
    ASSERT_EQ(tst_nth(buf_view(&out), 0, &m), TERN_OK);
    ASSERT_EQ((size_t)m.total_size, out.len);
    /* Budget of exactly two records. */
    buf_reset(&out);
    ASSERT_EQ(store_get(s, t, 0, 0, 32, 2 * m.total_size, NULL, NULL, &out, &g), TERN_OK);
    ASSERT_EQ(g.count, 2);
    ASSERT_EQ(g.next_off, 2);
    /* A queue that exists but holds only a prepared message: NO_MESSAGE_IN_QUEUE. */
    ASSERT_EQ(tst_put(s, "S", 1, "x", NULL, NULL, NULL, NULL), TERN_OK);
    ASSERT_EQ(store_get(s, t, 2, 0, 32, 1 << 20, NULL, NULL, &out, &g), TERN_OK);
    ASSERT_EQ(g.status, GET_NO_MATCHED_LOGIC_QUEUE);
    buf_t pb;
    buf_init(&pb);
    struct store_msg pm = tst_msg("S", 2, "half", NULL, NULL, NULL, &pb);
    pm.sys_flag = MSG_SYSFLAG_TXN_PREPARED;
    ASSERT_EQ(store_put(s, &pm, 1, NULL, NULL), TERN_OK);
    ASSERT_EQ(store_get(s, t, 2, 0, 32, 1 << 20, NULL, NULL, &out, &g), TERN_OK);
    ASSERT_EQ(g.status, GET_NO_MESSAGE_IN_QUEUE);
    ASSERT_EQ(g.next_off, 0);
    ASSERT_STR_EQ(store_get_status_name(GET_OFFSET_OVERFLOW_ONE), "OFFSET_OVERFLOW_ONE");
    buf_deinit(&pb);
    buf_deinit(&out);
    store_close(s);
    tst_rm_rf(dir);
}

TEST(offset_by_time)
{
    char *dir = tst_mkdtemp();
    struct store_config cfg;
    tst_config(&cfg, dir);
    cfg.cq_segment_units = 3;
    struct store *s;
    ASSERT_EQ(store_open(&cfg, &s), TERN_OK);
    tern_bytes_t t = tern_cstr("Time");
    int64_t ts[12];
    for (int i = 0; i < 12; i++) {
        struct store_put_result r;
        ASSERT_EQ(tst_put(s, "Time", 0, "x", NULL, NULL, NULL, &r), TERN_OK);
        ts[i] = r.store_ts;
        if (i % 4 == 3)
            usleep(15000);
    }
    ASSERT_EQ(store_offset_by_time(s, t, 0, 0, false), 0);
    ASSERT_EQ(store_offset_by_time(s, t, 0, ts[11] + 100000, false), 12);
    ASSERT_EQ(store_offset_by_time(s, t, 0, ts[11] + 100000, true), 11);
    for (int i = 0; i < 12; i++) {
        int64_t lo = store_offset_by_time(s, t, 0, ts[i], false);
        int64_t hi = store_offset_by_time(s, t, 0, ts[i], true);
        ASSERT(lo <= i && hi >= i);
        ASSERT(lo == 0 || ts[lo - 1] < ts[i]);
        ASSERT(hi == 11 || ts[hi + 1] > ts[i]);
    }
    ASSERT(ts[4] > ts[3]);
    ASSERT_EQ(store_offset_by_time(s, t, 0, ts[3] + 1, false), 4);
    ASSERT_EQ(store_offset_by_time(s, t, 0, ts[4] - 1, true), 3);
    ASSERT_EQ(store_msg_time(s, t, 0, 5), ts[5]);
    ASSERT_EQ(store_msg_time(s, t, 0, 12), -1);
    ASSERT_EQ(store_earliest_time(s, t, 0), ts[0]);
    ASSERT_EQ(store_earliest_time(s, tern_cstr("None"), 0), -1);
    store_close(s);
    tst_rm_rf(dir);
}

static void wait_indexed(struct store *s)
{
    for (int i = 0; i < 400; i++) {
        struct store_stats st;
        store_get_stats(s, &st);
        if (st.dispatch_behind_bytes == 0)
            return;
        usleep(5000);
    }
}

TEST(query_by_key_and_uniq_key)
{
    char *dir = tst_mkdtemp();
    struct store_config cfg;
    tst_config(&cfg, dir);
    cfg.index_slots = 16;   /* force hash-bucket sharing */
    cfg.index_entries = 40; /* and several index files */
    struct store *s;
    ASSERT_EQ(store_open(&cfg, &s), TERN_OK);
    char body[32], keys[64], uniq[40];
    for (int i = 0; i < 60; i++) {
        snprintf(body, sizeof body, "body-%d", i);
        snprintf(keys, sizeof keys, "order%d group%d", i, i % 3);
        snprintf(uniq, sizeof uniq, "AC11000100002A9F0000000000%06d", i);
        ASSERT_EQ(tst_put(s, i % 10 == 9 ? "OtherTopic" : "Q", 0, body, NULL, keys, uniq, NULL),
                  TERN_OK);
    }
    wait_indexed(s);
    buf_t out;
    buf_init(&out);
    struct store_query_result qr;
    ASSERT_EQ(store_query(s, tern_cstr("Q"), tern_cstr("order17"), 32, 0, INT64_MAX, &out, &qr),
              TERN_OK);
    ASSERT_EQ(qr.count, 1);
    struct msg_record m;
    ASSERT_EQ(tst_nth(buf_view(&out), 0, &m), TERN_OK);
    ASSERT_BYTES_EQ(m.body, "body-17");
    ASSERT(qr.index_last_update_ts > 0);
    /* group1: i = 1,4,...,58 (20 values) minus those on OtherTopic (19, 49). */
    buf_reset(&out);
    ASSERT_EQ(store_query(s, tern_cstr("Q"), tern_cstr("group1"), 64, 0, INT64_MAX, &out, &qr),
              TERN_OK);
    ASSERT_EQ(qr.count, 18);
    int64_t prev = INT64_MAX;
    for (int i = 0; i < qr.count; i++) {
        ASSERT_EQ(tst_nth(buf_view(&out), i, &m), TERN_OK);
        ASSERT(m.phy_off < prev); /* newest first */
        prev = m.phy_off;
    }
    ASSERT_EQ(tst_nth(buf_view(&out), 0, &m), TERN_OK);
    ASSERT_BYTES_EQ(m.body, "body-58");
    /* At most max. */
    buf_reset(&out);
    ASSERT_EQ(store_query(s, tern_cstr("Q"), tern_cstr("group1"), 5, 0, INT64_MAX, &out, &qr),
              TERN_OK);
    ASSERT_EQ(qr.count, 5);
    /* By UNIQ_KEY, and the topic must match. */
    buf_reset(&out);
    ASSERT_EQ(store_query(s, tern_cstr("Q"), tern_cstr("AC11000100002A9F0000000000000042"), 32, 0,
                          INT64_MAX, &out, &qr),
              TERN_OK);
    ASSERT_EQ(qr.count, 1);
    ASSERT_EQ(tst_nth(buf_view(&out), 0, &m), TERN_OK);
    ASSERT_BYTES_EQ(m.body, "body-42");
    buf_reset(&out);
    ASSERT_EQ(store_query(s, tern_cstr("Q"), tern_cstr("order19"), 32, 0, INT64_MAX, &out, &qr),
              TERN_OK);
    ASSERT_EQ(qr.count, 0);
    ASSERT_EQ(
        store_query(s, tern_cstr("OtherTopic"), tern_cstr("order19"), 32, 0, INT64_MAX, &out, &qr),
        TERN_OK);
    ASSERT_EQ(qr.count, 1);
    /* Outside the time window. */
    buf_reset(&out);
    ASSERT_EQ(store_query(s, tern_cstr("Q"), tern_cstr("order17"), 32, 0, 1000, &out, &qr),
              TERN_OK);
    ASSERT_EQ(qr.count, 0);
    store_close(s);
    /* The index survives a reopen. */
    ASSERT_EQ(store_open(&cfg, &s), TERN_OK);
    buf_reset(&out);
    ASSERT_EQ(store_query(s, tern_cstr("Q"), tern_cstr("order3"), 32, 0, INT64_MAX, &out, &qr),
              TERN_OK);
    ASSERT_EQ(qr.count, 1);
    ASSERT_EQ(tst_nth(buf_view(&out), 0, &m), TERN_OK);
    ASSERT_BYTES_EQ(m.body, "body-3");
    buf_deinit(&out);
    store_close(s);
    tst_rm_rf(dir);
}

TEST(reopen_after_clean_close)
{
    char *dir = tst_mkdtemp();
    struct store_config cfg;
    tst_config(&cfg, dir);
    cfg.commitlog_segment_bytes = 64 * 1024;
    cfg.cq_segment_units = 16;
    struct store *s;
    ASSERT_EQ(store_open(&cfg, &s), TERN_OK);
    char body[600];
    memset(body, 'z', sizeof body - 1);
    body[sizeof body - 1] = 0;
    for (int i = 0; i < 250; i++)
        ASSERT_EQ(tst_put(s, i % 2 ? "R1" : "R2", i % 3, body, NULL, NULL, NULL, NULL), TERN_OK);
    struct store_stats st1;
    store_get_stats(s, &st1);
    store_close(s);
    char path[4096];
    snprintf(path, sizeof path, "%s/abort", dir);
    ASSERT(access(path, F_OK) != 0);
    ASSERT_EQ(store_open(&cfg, &s), TERN_OK);
    struct store_stats st2;
    store_get_stats(s, &st2);
    ASSERT_EQ(st2.commitlog_max_off, st1.commitlog_max_off);
    ASSERT(access(path, F_OK) == 0);
    int64_t total = 0;
    for (int q = 0; q < 3; q++)
        total += store_max_offset(s, tern_cstr("R1"), q) + store_max_offset(s, tern_cstr("R2"), q);
    ASSERT_EQ(total, 250);
    /* New puts continue the queue offsets. */
    int64_t before = store_max_offset(s, tern_cstr("R1"), 1);
    struct store_put_result r;
    ASSERT_EQ(tst_put(s, "R1", 1, "after", NULL, NULL, NULL, &r), TERN_OK);
    ASSERT_EQ(r.first_queue_off, before);
    ASSERT_EQ(r.first_phy_off, st1.commitlog_max_off);
    buf_t out;
    buf_init(&out);
    struct store_get_result g;
    ASSERT_EQ(store_get(s, tern_cstr("R1"), 1, before, 32, 1 << 20, NULL, NULL, &out, &g), TERN_OK);
    ASSERT_EQ(g.count, 1);
    struct msg_record m;
    ASSERT_EQ(tst_nth(buf_view(&out), 0, &m), TERN_OK);
    ASSERT_BYTES_EQ(m.body, "after");
    int got = 0;
    for (int64_t off = 0; off < before;) {
        buf_reset(&out);
        ASSERT_EQ(store_get(s, tern_cstr("R1"), 1, off, 32, 1 << 20, NULL, NULL, &out, &g),
                  TERN_OK);
        ASSERT_EQ(g.status, GET_FOUND);
        for (int i = 0; i < g.count; i++) {
            ASSERT_EQ(tst_nth(buf_view(&out), i, &m), TERN_OK);
            got += m.queue_off < before;
        }
        off = g.next_off;
    }
    ASSERT_EQ(got, before);
    /* Queue listing. */
    buf_deinit(&out);
    store_close(s);
    tst_rm_rf(dir);
}

TEST(lock_file_excludes_second_open)
{
    char *dir = tst_mkdtemp();
    struct store_config cfg;
    tst_config(&cfg, dir);
    struct store *s, *s2 = NULL;
    ASSERT_EQ(store_open(&cfg, &s), TERN_OK);
    ASSERT_EQ(store_open(&cfg, &s2), TERN_EBUSY);
    store_close(s);
    ASSERT_EQ(store_open(&cfg, &s2), TERN_OK);
    store_close(s2);
    store_close(NULL);
    tst_rm_rf(dir);
}

struct arrival {
    int calls;
    int64_t max_off;
    int64_t tags;
    int32_t qid;
};

static void on_arrival(void *arg, tern_bytes_t topic, int32_t qid, int64_t max_off, int64_t tags)
{
    struct arrival *a = arg;
    if (tern_bytes_eq_cstr(topic, "Arr")) {
        a->calls++;
        a->max_off = max_off;
        a->tags = tags;
        a->qid = qid;
    }
}

static void collect_qid(void *arg, int32_t qid)
{
    int *mask = arg;
    *mask |= 1 << qid;
}

TEST(arrival_callback_queue_list_delete_topic)
{
    char *dir = tst_mkdtemp();
    struct store_config cfg;
    tst_config(&cfg, dir);
    struct store *s;
    ASSERT_EQ(store_open(&cfg, &s), TERN_OK);
    struct arrival a = {0};
    store_set_arrival_cb(s, on_arrival, &a);
    ASSERT_EQ(tst_put(s, "Arr", 2, "a", "TagQ", NULL, NULL, NULL), TERN_OK);
    ASSERT_EQ(tst_put(s, "Arr", 2, "b", "TagR", NULL, NULL, NULL), TERN_OK);
    ASSERT_EQ(a.calls, 2);
    ASSERT_EQ(a.max_off, 2);
    ASSERT_EQ(a.qid, 2);
    ASSERT_EQ(a.tags, store_tags_code(tern_cstr("TagR")));
    ASSERT_EQ(store_tags_code(tern_cstr("TagR")), java_string_hash((const uint8_t *)"TagR", 4));
    ASSERT_EQ(store_tags_code(TERN_BYTES_NULL), 0);
    ASSERT_EQ(tst_put(s, "Arr", 5, "c", NULL, NULL, NULL, NULL), TERN_OK);
    int mask = 0;
    store_each_queue(s, tern_cstr("Arr"), collect_qid, &mask);
    ASSERT_EQ(mask, (1 << 2) | (1 << 5));
    store_delete_topic(s, tern_cstr("Arr"));
    ASSERT_EQ(store_max_offset(s, tern_cstr("Arr"), 2), 0);
    mask = 0;
    store_each_queue(s, tern_cstr("Arr"), collect_qid, &mask);
    ASSERT_EQ(mask, 0);
    char path[4096];
    snprintf(path, sizeof path, "%s/consumequeue/Arr", dir);
    ASSERT(access(path, F_OK) != 0);
    store_close(s);
    tst_rm_rf(dir);
}

struct reader_ctx {
    struct store *s;
    int total;
    int bad;
};

static void *reader_main(void *arg)
{
    struct reader_ctx *c = arg;
    buf_t out;
    buf_init(&out);
    int64_t off = 0;
    for (int spins = 0; off < c->total && spins < 200000; spins++) {
        struct store_get_result g;
        buf_reset(&out);
        store_get(c->s, tern_cstr("Conc"), 0, off, 32, 1 << 20, NULL, NULL, &out, &g);
        for (int i = 0; i < g.count; i++) {
            struct msg_record m;
            if (tst_nth(buf_view(&out), i, &m) != TERN_OK || m.queue_off != off + i ||
                !msg_check_crc(&m))
                c->bad++;
        }
        if (g.status == GET_FOUND)
            off = g.next_off;
        else
            usleep(100);
    }
    if (off != c->total)
        c->bad++;
    buf_deinit(&out);
    return NULL;
}

TEST(concurrent_readers_see_whole_records)
{
    char *dir = tst_mkdtemp();
    struct store_config cfg;
    tst_config(&cfg, dir);
    cfg.commitlog_segment_bytes = 64 * 1024;
    cfg.cq_segment_units = 64;
    struct store *s;
    ASSERT_EQ(store_open(&cfg, &s), TERN_OK);
    struct reader_ctx c = {s, 3000, 0};
    pthread_t th;
    pthread_create(&th, NULL, reader_main, &c);
    char body[300];
    for (int i = 0; i < c.total; i++) {
        snprintf(body, sizeof body, "%0*d", 100 + i % 150, i);
        ASSERT_EQ(tst_put(s, "Conc", 0, body, NULL, NULL, NULL, NULL), TERN_OK);
    }
    pthread_join(th, NULL);
    ASSERT_EQ(c.bad, 0);
    store_close(s);
    tst_rm_rf(dir);
}

struct del_race {
    struct store *s;
    atomic_bool stop;
    int put_errors;
};

static void *race_putter(void *arg)
{
    struct del_race *r = arg;
    for (int i = 0; i < 4000; i++)
        if (tst_put(r->s, "Race", i % 4, "payload", "T", NULL, NULL, NULL) != TERN_OK)
            r->put_errors++;
    atomic_store(&r->stop, true);
    return NULL;
}

/* store_delete_topic destroys the queue objects while another thread puts to
 * the topic: the put must look the queue up under put_lock (ASan: no
 * use-after-free). */
TEST(delete_topic_during_puts)
{
    char *dir = tst_mkdtemp();
    struct store_config cfg;
    tst_config(&cfg, dir);
    cfg.cq_segment_units = 64;
    struct store *s;
    ASSERT_EQ(store_open(&cfg, &s), TERN_OK);
    struct del_race r = {.s = s};
    atomic_init(&r.stop, false);
    pthread_t th;
    pthread_create(&th, NULL, race_putter, &r);
    int deletes = 0;
    while (!atomic_load(&r.stop)) {
        store_delete_topic(s, tern_cstr("Race"));
        deletes++;
        sched_yield();
    }
    pthread_join(th, NULL);
    ASSERT_EQ(r.put_errors, 0);
    ASSERT(deletes > 0);
    ASSERT_EQ(tst_put(s, "Race", 0, "after", NULL, NULL, NULL, NULL), TERN_OK);
    store_close(s);
    tst_rm_rf(dir);
}

/* Calls fn with the value of each `field` line ("VmFlags:", "Rss:") of this
 * process's mappings of files whose path contains `part` (/proc/self/smaps);
 * returns how many such lines there were, -1 if smaps cannot be read. */
static int each_mapping_field(const char *part, const char *field,
                              void (*fn)(const char *value, void *arg), void *arg)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f)
        return -1;
    char line[4096];
    size_t flen = strlen(field);
    bool in = false;
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        /* A mapping's header starts with its hex address; its fields with
         * a capitalised name. */
        if ((line[0] >= '0' && line[0] <= '9') || (line[0] >= 'a' && line[0] <= 'f')) {
            in = strstr(line, part) != NULL;
        } else if (in && strncmp(line, field, flen) == 0) {
            fn(line + flen, arg);
            n++;
        }
    }
    fclose(f);
    return n;
}

struct advice_seen {
    int random, huge, nohuge;
};

static void note_advice(const char *flags, void *arg)
{
    struct advice_seen *a = arg;
    a->random += strstr(flags, " rr") != NULL;
    a->huge += strstr(flags, " hg") != NULL;
    a->nohuge += strstr(flags, " nh") != NULL;
}

/* Reads the advice of the mappings under part. The preallocating thread may
 * be between mapping a spare segment and advising it (up to four system
 * calls: mapped_file.c, then the owner's folio choice), so read again until
 * every mapping shows the advice wanted (2 s at most). Returns the number
 * of mappings. */
static int settled_advice(const char *part, bool small, struct advice_seen *a)
{
    int n = -1;
    for (int i = 0; i < 200; i++) {
        *a = (struct advice_seen){0};
        n = each_mapping_field(part, "VmFlags:", note_advice, a);
        if (n >= 0 && a->random == n && (small ? a->nohuge : a->huge) == n)
            break;
        usleep(10 * 1000);
    }
    return n;
}

/* Transparent huge pages can be switched off for the whole machine; then
 * MADV_HUGEPAGE is refused and the flag is absent. */
static bool thp_available(void)
{
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (!f)
        return false;
    char buf[128] = "";
    bool ok = fgets(buf, sizeof buf, f) != NULL && strstr(buf, "[never]") == NULL;
    fclose(f);
    return ok;
}

/* Asserts that at least min files under <dir>/<sub>/ are mapped and that
 * every one is advised MADV_RANDOM, and for small folios (MADV_NOHUGEPAGE)
 * or, where THP exists, large ones (MADV_HUGEPAGE), never both. */
static void assert_advised(const char *dir, const char *sub, int min, bool small)
{
    char part[4200];
    snprintf(part, sizeof part, "%s/%s/", dir, sub);
    struct advice_seen a;
    int n = settled_advice(part, small, &a);
    ASSERT(n >= min);
    ASSERT_EQ(a.random, n);
    ASSERT_EQ(a.nohuge, small ? n : 0);
    if (small)
        ASSERT_EQ(a.huge, 0);
    else if (thp_available())
        ASSERT_EQ(a.huge, n);
}

/* Opens the store at dir with cfg, puts ~2.5 MiB when roll is set (rolls
 * 1 MiB segments twice; waits for the index), and asserts the advice of
 * every mapping: at least min_segs log segments, large or small as
 * log_small says, consume-queue files small, index files large. */
static void open_check_advice(const struct store_config *cfg, const char *dir, bool roll,
                              int min_segs, bool log_small)
{
    struct store *s;
    ASSERT_EQ(store_open(cfg, &s), TERN_OK);
    if (roll) {
        char body[4096];
        memset(body, 'x', sizeof body - 1);
        body[sizeof body - 1] = '\0';
        for (int i = 0; i < 600; i++)
            ASSERT_EQ(tst_put(s, "Adv", 0, body, NULL, "k", NULL, NULL), TERN_OK);
        wait_indexed(s); /* the index thread has created its file */
    }
    assert_advised(dir, "commitlog", min_segs, log_small);
    assert_advised(dir, "consumequeue", 1, true);
    assert_advised(dir, "index", 1, false);
    store_close(s);
}

/* Every store file mapping is advised MADV_RANDOM and for a folio size
 * (mapped_file.c; the reasons are in docs/design/store.md): commit-log
 * segments, opened or created (by a roll or by the preallocating thread),
 * large when written through the mapping under ASYNC_FLUSH and small under
 * SYNC_FLUSH or with pwrite; consume-queue files small; index files large. */
TEST(store_mappings_advised)
{
    char *dir = tst_mkdtemp();
    struct store_config cfg;
    tst_config(&cfg, dir);
    bool log_small = cfg.write_mode == CL_WRITE_PWRITE; /* the suite's pwrite run */
    open_check_advice(&cfg, dir, true, 3, log_small);
    open_check_advice(&cfg, dir, false, 3, log_small); /* reopened: the same */
    /* Under SYNC_FLUSH with mmap writes: the reopened segments are advised
     * again, the new ones created small. */
    cfg.flush_mode = STORE_SYNC_FLUSH;
    cfg.write_mode = CL_WRITE_MMAP;
    open_check_advice(&cfg, dir, true, 5, true);
    /* And with pwrite under ASYNC_FLUSH. */
    cfg.flush_mode = STORE_ASYNC_FLUSH;
    cfg.write_mode = CL_WRITE_PWRITE;
    open_check_advice(&cfg, dir, false, 5, true);
    tst_rm_rf(dir);
}

static void add_kb(const char *value, void *arg)
{
    *(long *)arg += strtol(value, NULL, 10);
}

/* Sum of the Rss (kB) of this process's mappings of files whose path
 * contains part: pages mapped, not merely cached; -1 if unknown. */
static long mapped_rss_kb(const char *part)
{
    long kb = 0;
    return each_mapping_field(part, "Rss:", add_kb, &kb) < 0 ? -1 : kb;
}

/* Bytes of [0, len) of path in unwritten (preallocated, never written)
 * extents; -1 if the file system cannot say (no FIEMAP). */
static long long unwritten_bytes(const char *path, long long len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    enum { MAX_EXT = 64 };
    struct fiemap *fm = calloc(1, sizeof *fm + MAX_EXT * sizeof(struct fiemap_extent));
    fm->fm_start = 0;
    fm->fm_length = (unsigned long long)len;
    fm->fm_flags = FIEMAP_FLAG_SYNC;
    fm->fm_extent_count = MAX_EXT;
    long long n = -1;
    if (ioctl(fd, FS_IOC_FIEMAP, fm) == 0) {
        n = 0;
        for (unsigned i = 0; i < fm->fm_mapped_extents; i++) {
            const struct fiemap_extent *e = &fm->fm_extents[i];
            if (e->fe_flags & FIEMAP_EXTENT_UNWRITTEN)
                n += (long long)e->fe_length;
        }
    }
    free(fm);
    close(fd);
    return n;
}

/* Under SYNC_FLUSH with pwrite the write-ahead converts the segment's
 * unwritten extents (populate through the mapping, write back) but leaves
 * none of its pages mapped: it drops the writable entries before the
 * write-back, which would otherwise write-protect them one TLB flush per
 * page (commitlog.c, warm). The fresh store's first segment is written ahead
 * by the alloc thread at open; the zap precedes the write-back, so once no
 * extent is unwritten the mapping must hold no pages. */
TEST(sync_flush_write_ahead_leaves_no_mapped_pages)
{
    char *dir = tst_mkdtemp();
    struct store_config cfg;
    tst_config(&cfg, dir);
    cfg.flush_mode = STORE_SYNC_FLUSH;
    cfg.write_mode = CL_WRITE_PWRITE;
    struct store *s;
    ASSERT_EQ(store_open(&cfg, &s), TERN_OK);
    char seg[4200];
    snprintf(seg, sizeof seg, "%s/commitlog/%020d", dir, 0);
    long long left = -1;
    for (int i = 0; i < 400; i++) {
        struct stat st;
        if (stat(seg, &st) == 0 && st.st_size == cfg.commitlog_segment_bytes) {
            left = unwritten_bytes(seg, cfg.commitlog_segment_bytes);
            if (left <= 0)
                break;
        }
        usleep(10 * 1000);
    }
    if (left >= 0) {        /* else no FIEMAP here: no way to tell the write-ahead is done */
        ASSERT_EQ(left, 0); /* the write-ahead converted every extent */
        char part[4200];
        snprintf(part, sizeof part, "%s/commitlog/", dir);
        long kb = mapped_rss_kb(part);
        ASSERT(kb >= 0 && kb <= 64);
    }
    store_close(s);
    tst_rm_rf(dir);
}

TEST_MAIN()
