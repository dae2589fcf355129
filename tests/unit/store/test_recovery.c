/* SPDX-License-Identifier: Apache-2.0 */
/* test_recovery.c: crash recovery. A store is "crashed" (store_crash_close:
 * no final flush, checkpoint or marker removal) or really killed (fork +
 * SIGKILL), its tail is damaged, and reopening must cut the torn tail, keep
 * every complete record, keep consume queues consistent and continue at the
 * right offsets. Also measures recovery time (printed). */
#include "harness.h"
#include "store_test_util.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "common/clock.h"

#define SEG (64 * 1024)

static void crash_cfg(struct store_config *cfg, const char *dir)
{
    tst_config(cfg, dir);
    cfg->commitlog_segment_bytes = SEG;
    cfg->cq_segment_units = 32;
    cfg->flush_interval_ms = 600000; /* the checkpoint stays at its open-time value */
}

static void body_for(int i, char *out, size_t cap)
{
    snprintf(out, cap, "msg-%05d-%0*d", i, 50 + (i * 37) % 400, i);
}

/* Writes n messages round-robin over 3 queues of topic "C". */
static int64_t fill(struct store *s, int n, int64_t *ends)
{
    char body[512];
    struct store_put_result r = {0};
    for (int i = 0; i < n; i++) {
        body_for(i, body, sizeof body);
        if (tst_put(s, "C", i % 3, body, "t", NULL, NULL, &r) != TERN_OK)
            return -1;
        if (ends)
            ends[i] = r.end_phy_off;
    }
    return r.end_phy_off;
}

/* Checks that messages 0..n-1 are all readable in order from their queues. */
static int verify(struct store *s, int n)
{
    buf_t out;
    buf_init(&out);
    int found = 0;
    for (int q = 0; q < 3; q++) {
        int64_t off = 0;
        int expect = q;
        for (;;) {
            struct store_get_result g;
            buf_reset(&out);
            store_get(s, tern_cstr("C"), q, off, 32, 1 << 20, NULL, NULL, &out, &g);
            if (g.status != GET_FOUND)
                break;
            for (int i = 0; i < g.count; i++) {
                struct msg_record m;
                char want[512];
                if (tst_nth(buf_view(&out), i, &m) != TERN_OK || !msg_check_crc(&m))
                    return -1;
                body_for(expect, want, sizeof want);
                if (expect >= n || !tern_bytes_eq(m.body, tern_cstr(want)) ||
                    m.queue_off != off + i)
                    return -2;
                expect += 3;
                found++;
            }
            off = g.next_off;
        }
    }
    buf_deinit(&out);
    return found;
}

static int open_segment(const char *dir, int64_t off)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/commitlog/%020lld", dir, (long long)(off / SEG * SEG));
    return open(path, O_RDWR);
}

static void write_at(const char *dir, int64_t phy, const void *p, size_t n)
{
    int fd = open_segment(dir, phy);
    if (fd < 0 || pwrite(fd, p, n, phy % SEG) != (ssize_t)n)
        abort();
    close(fd);
}

static void read_at(const char *dir, int64_t phy, void *p, size_t n)
{
    int fd = open_segment(dir, phy);
    if (fd < 0 || pread(fd, p, n, phy % SEG) != (ssize_t)n)
        abort();
    close(fd);
}

static bool zero_from(const char *dir, int64_t phy, size_t n)
{
    uint8_t buf[4096];
    if (n > sizeof buf)
        n = sizeof buf;
    read_at(dir, phy, buf, n);
    for (size_t i = 0; i < n; i++)
        if (buf[i])
            return false;
    return true;
}

TEST(crash_garbage_after_tail_is_cut)
{
    char *dir = tst_mkdtemp();
    struct store_config cfg;
    crash_cfg(&cfg, dir);
    struct store *s;
    ASSERT_EQ(store_open(&cfg, &s), TERN_OK);
    int64_t end = fill(s, 600, NULL);
    ASSERT(end > 2 * SEG);
    store_crash_close(s);
    uint8_t junk[700];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)(i * 131 + 7);
    write_at(dir, end, junk, sizeof junk);
    ASSERT_EQ(store_open(&cfg, &s), TERN_OK);
    struct store_stats st;
    store_get_stats(s, &st);
    ASSERT_EQ(st.commitlog_max_off, end);
    ASSERT_EQ(verify(s, 600), 600);
    store_close(s);
    ASSERT(zero_from(dir, end, sizeof junk));
    tst_rm_rf(dir);
}

TEST(crash_half_written_record_is_cut)
{
    char *dir = tst_mkdtemp();
    struct store_config cfg;
    crash_cfg(&cfg, dir);
    struct store *s;
    ASSERT_EQ(store_open(&cfg, &s), TERN_OK);
    int64_t ends[120];
    int64_t end = fill(s, 120, ends);
    store_crash_close(s);
    /* Copy the first half of the last record to the tail, as if the next
     * record's memcpy was interrupted; patch its physical offset. */
    int32_t len = (int32_t)(ends[119] - ends[118]);
    uint8_t *rec = malloc((size_t)len);
    read_at(dir, ends[118], rec, (size_t)len);
    be64_store(rec + MSG_OFF_PHYOFFSET, (uint64_t)end);
    be64_store(rec + MSG_OFF_QUEUEOFFSET, 999);
    write_at(dir, end, rec, (size_t)len / 2);
    free(rec);
    ASSERT_EQ(store_open(&cfg, &s), TERN_OK);
    struct store_stats st;
    store_get_stats(s, &st);
    ASSERT_EQ(st.commitlog_max_off, end);
    ASSERT_EQ(verify(s, 120), 120);
    ASSERT_EQ(store_max_offset(s, tern_cstr("C"), 0), 40);
    struct store_put_result r;
    ASSERT_EQ(tst_put(s, "C", 0, "next", NULL, NULL, NULL, &r), TERN_OK);
    ASSERT_EQ(r.first_phy_off, end);
    ASSERT_EQ(r.first_queue_off, 40);
    store_close(s);
    tst_rm_rf(dir);
}

TEST(crash_torn_last_record_drops_it_and_its_cq_unit)
{
    char *dir = tst_mkdtemp();
    struct store_config cfg;
    crash_cfg(&cfg, dir);
    struct store *s;
    ASSERT_EQ(store_open(&cfg, &s), TERN_OK);
    int64_t ends[90];
    fill(s, 90, ends);
    ASSERT_EQ(store_max_offset(s, tern_cstr("C"), 2), 30);
    store_crash_close(s);
    /* Record 89 (queue 2, offset 29) loses its second half. */
    int64_t start = ends[88];
    size_t len = (size_t)(ends[89] - ends[88]);
    uint8_t zeros[1024] = {0};
    write_at(dir, start + (int64_t)len / 2, zeros, len - len / 2);
    ASSERT_EQ(store_open(&cfg, &s), TERN_OK);
    struct store_stats st;
    store_get_stats(s, &st);
    ASSERT_EQ(st.commitlog_max_off, start);
    ASSERT_EQ(verify(s, 89), 89);
    ASSERT_EQ(store_max_offset(s, tern_cstr("C"), 2), 29);
    ASSERT_EQ(store_max_offset(s, tern_cstr("C"), 0), 30);
    /* The next put takes the freed offsets, and a pull sees it. */
    struct store_put_result r;
    ASSERT_EQ(tst_put(s, "C", 2, "replacement", NULL, NULL, NULL, &r), TERN_OK);
    ASSERT_EQ(r.first_phy_off, start);
    ASSERT_EQ(r.first_queue_off, 29);
    buf_t out;
    buf_init(&out);
    struct store_get_result g;
    ASSERT_EQ(store_get(s, tern_cstr("C"), 2, 29, 32, 1 << 20, NULL, NULL, &out, &g), TERN_OK);
    ASSERT_EQ(g.count, 1);
    struct msg_record m;
    ASSERT_EQ(tst_nth(buf_view(&out), 0, &m), TERN_OK);
    ASSERT_BYTES_EQ(m.body, "replacement");
    buf_deinit(&out);
    store_close(s);
    /* And a clean reopen keeps all of it. */
    ASSERT_EQ(store_open(&cfg, &s), TERN_OK);
    ASSERT_EQ(store_max_offset(s, tern_cstr("C"), 2), 30);
    store_close(s);
    tst_rm_rf(dir);
}

TEST(crash_truncated_segment_file)
{
    char *dir = tst_mkdtemp();
    struct store_config cfg;
    crash_cfg(&cfg, dir);
    struct store *s;
    ASSERT_EQ(store_open(&cfg, &s), TERN_OK);
    int64_t ends[150];
    fill(s, 150, ends);
    store_crash_close(s);
    /* Cut the file in the middle of record 140. */
    int64_t cut = ends[139] + 20;
    int64_t seg_start = cut / SEG * SEG;
    int fd = open_segment(dir, cut);
    ASSERT(fd >= 0);
    ASSERT_EQ(ftruncate(fd, cut - seg_start), 0);
    close(fd);
    ASSERT_EQ(store_open(&cfg, &s), TERN_OK);
    struct store_stats st;
    store_get_stats(s, &st);
    ASSERT_EQ(st.commitlog_max_off, ends[139]);
    ASSERT_EQ(verify(s, 140), 140);
    store_close(s);
    tst_rm_rf(dir);
}

TEST(crash_lost_consume_queues_are_rebuilt)
{
    char *dir = tst_mkdtemp();
    struct store_config cfg;
    crash_cfg(&cfg, dir);
    struct store *s;
    ASSERT_EQ(store_open(&cfg, &s), TERN_OK);
    int64_t end = fill(s, 100, NULL);
    store_crash_close(s);
    /* Lose one queue's files entirely and damage another's tail unit. */
    char path[4096];
    snprintf(path, sizeof path, "%s/consumequeue/C/1", dir);
    tst_rm_rf(strdup(path));
    snprintf(path, sizeof path, "%s/consumequeue/C/0/%020d", dir, 32 * 20);
    int fd = open(path, O_RDWR);
    ASSERT(fd >= 0);
    uint8_t zeros[40] = {0};
    ASSERT_EQ(pwrite(fd, zeros, sizeof zeros, 0), (ssize_t)sizeof zeros);
    close(fd);
    ASSERT_EQ(store_open(&cfg, &s), TERN_OK);
    struct store_stats st;
    store_get_stats(s, &st);
    ASSERT_EQ(st.commitlog_max_off, end);
    ASSERT_EQ(verify(s, 100), 100);
    ASSERT_EQ(store_max_offset(s, tern_cstr("C"), 1), 33);
    store_close(s);
    tst_rm_rf(dir);
}

/* The only CQ file left is file k >= 1 and it has no live unit: the queue
 * continues at k * cq_segment_units (it once restarted at 0, and every later
 * put failed because no file holds unit 0). */
TEST(only_cq_file_k_empty_keeps_queue_writable)
{
    char *dir = tst_mkdtemp();
    struct store_config cfg;
    tst_config(&cfg, dir);
    cfg.cq_segment_units = 10;
    struct store *s;
    ASSERT_EQ(store_open(&cfg, &s), TERN_OK);
    for (int i = 0; i < 25; i++)
        ASSERT_EQ(tst_put(s, "E", 0, "e", NULL, NULL, NULL, NULL), TERN_OK);
    store_close(s);
    char path[4096];
    for (int k = 0; k < 2; k++) {
        snprintf(path, sizeof path, "%s/consumequeue/E/0/%020d", dir, k * 200);
        ASSERT_EQ(unlink(path), 0);
    }
    snprintf(path, sizeof path, "%s/consumequeue/E/0/%020d", dir, 400);
    int fd = open(path, O_RDWR);
    ASSERT(fd >= 0);
    uint8_t zeros[200] = {0};
    ASSERT_EQ(pwrite(fd, zeros, sizeof zeros, 0), (ssize_t)sizeof zeros);
    close(fd);
    ASSERT_EQ(store_open(&cfg, &s), TERN_OK);
    ASSERT_EQ(store_max_offset(s, tern_cstr("E"), 0), 20);
    ASSERT_EQ(store_min_offset(s, tern_cstr("E"), 0), 20);
    struct store_put_result r;
    ASSERT_EQ(tst_put(s, "E", 0, "after", NULL, NULL, NULL, &r), TERN_OK);
    ASSERT_EQ(r.first_queue_off, 20);
    ASSERT_EQ(tst_put(s, "E", 0, "again", NULL, NULL, NULL, &r), TERN_OK);
    ASSERT_EQ(r.first_queue_off, 21);
    buf_t out;
    buf_init(&out);
    struct store_get_result g;
    ASSERT_EQ(store_get(s, tern_cstr("E"), 0, 20, 32, 1 << 20, NULL, NULL, &out, &g), TERN_OK);
    ASSERT_EQ(g.status, GET_FOUND);
    ASSERT_EQ(g.count, 2);
    buf_deinit(&out);
    store_close(s);
    tst_rm_rf(dir);
}

/* Recovery clears every unit after the end of a queue, not only up to the
 * first zero unit: stale units after a gap must not survive. */
TEST(cq_tail_zeroed_past_a_gap)
{
    char *dir = tst_mkdtemp();
    struct store_config cfg;
    tst_config(&cfg, dir);
    cfg.cq_segment_units = 10;
    struct store *s;
    ASSERT_EQ(store_open(&cfg, &s), TERN_OK);
    for (int i = 0; i < 8; i++)
        ASSERT_EQ(tst_put(s, "G", 0, "g", NULL, NULL, NULL, NULL), TERN_OK);
    store_close(s);
    char path[4096];
    snprintf(path, sizeof path, "%s/consumequeue/G/0/%020d", dir, 0);
    int fd = open(path, O_RDWR);
    ASSERT(fd >= 0);
    uint8_t unit[20] = {0};
    ASSERT_EQ(pwrite(fd, unit, sizeof unit, 5 * 20), (ssize_t)sizeof unit);
    close(fd);
    ASSERT_EQ(store_open(&cfg, &s), TERN_OK);
    ASSERT_EQ(store_max_offset(s, tern_cstr("G"), 0), 5);
    store_close(s);
    fd = open(path, O_RDONLY);
    ASSERT(fd >= 0);
    uint8_t rest[200];
    ASSERT_EQ(pread(fd, rest, sizeof rest, 0), (ssize_t)sizeof rest);
    close(fd);
    bool zero = true;
    for (int i = 5 * 20; i < 200; i++)
        zero = zero && rest[i] == 0;
    ASSERT(zero);
    tst_rm_rf(dir);
}

/* Regression: a put racing the alloc thread's creation of the first segment
 * once left a duplicate "spare" mapping that close then unlinked. */
TEST(first_segment_race_with_alloc_thread)
{
    for (int round = 0; round < 30; round++) {
        char *dir = tst_mkdtemp();
        struct store_config cfg;
        crash_cfg(&cfg, dir);
        struct store *s;
        ASSERT_EQ(store_open(&cfg, &s), TERN_OK);
        struct store_put_result r;
        ASSERT_EQ(tst_put(s, "C", 0, "first", NULL, NULL, NULL, &r), TERN_OK);
        if (round % 2)
            store_crash_close(s);
        else
            store_close(s);
        ASSERT_EQ(store_open(&cfg, &s), TERN_OK);
        buf_t out;
        buf_init(&out);
        ASSERT_EQ(store_read_at(s, 0, &out), TERN_OK);
        buf_deinit(&out);
        store_close(s);
        tst_rm_rf(dir);
    }
}

/* ---- real kill -9 ---- */

static void child_writer(const char *dir, int wfd, int64_t seg_bytes, int body_bytes, int64_t n)
{
    struct store_config cfg;
    tst_config(&cfg, dir);
    cfg.commitlog_segment_bytes = seg_bytes;
    cfg.cq_segment_units = 300000;
    cfg.flush_interval_ms = 500;
    cfg.index_enable = false;
    struct store *s;
    if (store_open(&cfg, &s) != TERN_OK)
        _exit(2);
    char *body = malloc((size_t)body_bytes + 1);
    for (int64_t i = 0; i < n; i++) {
        snprintf(body, (size_t)body_bytes + 1, "%0*lld", body_bytes, (long long)i);
        if (tst_put(s, "K", (int)(i % 4), body, NULL, NULL, NULL, NULL) != TERN_OK)
            _exit(3);
        if (i % 100 == 99) {
            int64_t acked = i + 1;
            if (write(wfd, &acked, sizeof acked) != sizeof acked)
                _exit(4);
        }
    }
    int64_t done = -1;
    if (write(wfd, &done, sizeof done) != sizeof done)
        _exit(4);
    for (;;)
        pause();
}

/* Forks a writer, kills it with SIGKILL once `kill_after` messages are
 * acknowledged (or it finished), returns the acknowledged count. */
static int64_t run_and_kill(const char *dir, int64_t seg_bytes, int body_bytes, int64_t n,
                            int64_t kill_after)
{
    int p[2];
    if (pipe(p) != 0)
        abort();
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        child_writer(dir, p[1], seg_bytes, body_bytes, n);
    }
    close(p[1]);
    int64_t acked = 0, v;
    while (read(p[0], &v, sizeof v) == sizeof v) {
        if (v < 0)
            break;
        acked = v;
        if (acked >= kill_after)
            break;
    }
    kill(pid, SIGKILL);
    int st;
    waitpid(pid, &st, 0);
    close(p[0]);
    return acked;
}

static int64_t verify_k(struct store *s, int body_bytes)
{
    buf_t out;
    buf_init(&out);
    int64_t total = 0;
    char *want = malloc((size_t)body_bytes + 1);
    for (int q = 0; q < 4; q++) {
        int64_t off = 0;
        for (;;) {
            struct store_get_result g;
            buf_reset(&out);
            store_get(s, tern_cstr("K"), q, off, 32, 1 << 20, NULL, NULL, &out, &g);
            if (g.status != GET_FOUND)
                break;
            for (int i = 0; i < g.count; i++) {
                struct msg_record m;
                if (tst_nth(buf_view(&out), i, &m) != TERN_OK || !msg_check_crc(&m))
                    return -1;
                long long idx = (off + i) * 4 + q;
                snprintf(want, (size_t)body_bytes + 1, "%0*lld", body_bytes, idx);
                if (!tern_bytes_eq(m.body, tern_bytes(want, (size_t)body_bytes)))
                    return -2;
                total++;
            }
            off = g.next_off;
        }
    }
    free(want);
    buf_deinit(&out);
    return total;
}

TEST(kill9_keeps_every_acknowledged_message)
{
    char *dir = tst_mkdtemp();
    int64_t acked = run_and_kill(dir, 256 * 1024, 300, 200000, 3000);
    ASSERT(acked >= 3000);
    struct store_config cfg;
    tst_config(&cfg, dir);
    cfg.commitlog_segment_bytes = 256 * 1024;
    cfg.cq_segment_units = 300000;
    cfg.index_enable = false;
    char path[4096];
    snprintf(path, sizeof path, "%s/abort", dir);
    ASSERT(access(path, F_OK) == 0);
    struct store *s;
    ASSERT_EQ(store_open(&cfg, &s), TERN_OK);
    int64_t got = verify_k(s, 300);
    ASSERT(got >= acked);
    int64_t sum = 0;
    for (int q = 0; q < 4; q++)
        sum += store_max_offset(s, tern_cstr("K"), q);
    ASSERT_EQ(sum, got);
    store_close(s);
    tst_rm_rf(dir);
}

/* Recovery time after kill -9 with a big log: 64 MiB by default, 1 GiB (one
 * 1 GiB segment, as in production) with TERN_STORE_BIG_RECOVERY=1. */
TEST(kill9_recovery_time)
{
    bool big = getenv("TERN_STORE_BIG_RECOVERY") != NULL;
    int64_t seg = big ? 1024LL * 1024 * 1024 : 16 * 1024 * 1024;
    int64_t n = big ? 1000000 : 60000; /* ~1 KiB records */
    char *dir = tst_mkdtemp();
    int64_t acked = run_and_kill(dir, seg, 1000, n, n);
    ASSERT_EQ(acked, n);
    struct store_config cfg;
    tst_config(&cfg, dir);
    cfg.commitlog_segment_bytes = seg;
    cfg.cq_segment_units = 300000;
    cfg.index_enable = false;
    int64_t t0 = clock_mono_ns();
    struct store *s;
    ASSERT_EQ(store_open(&cfg, &s), TERN_OK);
    int64_t t1 = clock_mono_ns();
    struct store_stats st;
    store_get_stats(s, &st);
    printf("  recovery after kill -9: log=%lld MiB open=%.1f ms\n",
           (long long)(st.commitlog_max_off >> 20), (double)(t1 - t0) / 1e6);
    ASSERT(st.commitlog_max_off >= n * 1000);
    int64_t sum = 0;
    for (int q = 0; q < 4; q++)
        sum += store_max_offset(s, tern_cstr("K"), q);
    ASSERT_EQ(sum, n);
    ASSERT((t1 - t0) < 2000000000LL);
    store_close(s);
    tst_rm_rf(dir);
}

TEST_MAIN()
