/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_recovery.c: crash recovery over hostile bytes. A temp store gets a
 * few valid records and is "crashed" (abort marker left); then the input is
 * written, per its first byte, as the tail of the commit-log segment, over
 * the tail of a consume-queue file, or over the checkpoint, and the store is
 * reopened. Opening must never crash, and when it succeeds every valid
 * record written before the garbage must still be readable. */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/log.h"
#include "protocol/message.h"
#include "protocol/props.h"
#include "store/store.h"

#define SEG   (64 * 1024)
#define NRECS 5

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "fuzz_recovery: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                  \
        }                                                                             \
    } while (0)

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void config(struct store_config *cfg, const char *dir)
{
    store_config_defaults(cfg);
    cfg->root_dir = dir;
    cfg->commitlog_segment_bytes = SEG;
    cfg->cq_segment_units = 16;
    cfg->index_slots = 64;
    cfg->index_entries = 64;
    cfg->min_free_bytes = 0;
    cfg->disk_refuse_ratio = 100;
    cfg->disk_max_used_ratio = 100;
    cfg->flush_interval_ms = 600000;
}

static void overwrite(const char *path, int64_t pos, const uint8_t *p, size_t n)
{
    int fd = open(path, O_RDWR);
    if (fd < 0)
        return;
    if (pwrite(fd, p, n, pos) < 0)
        perror("pwrite");
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    log_set_level(LOG_OFF);
    const char *base = getenv("TMPDIR");
    char dir[512];
    snprintf(dir, sizeof dir, "%s/tern-fuzz-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(dir))
        return 0;
    struct store_config cfg;
    config(&cfg, dir);
    struct store *s;
    CHECK(store_open(&cfg, &s) == TERN_OK);
    int64_t ends[NRECS];
    buf_t props;
    buf_init(&props);
    for (int i = 0; i < NRECS; i++) {
        char body[32];
        snprintf(body, sizeof body, "valid-%d", i);
        buf_reset(&props);
        props_append(&props, PROP_KEYS, tern_cstr(body));
        struct store_msg m = {.topic = tern_cstr("Fz"),
                              .queue_id = i % 2,
                              .body = tern_cstr(body),
                              .props = buf_view(&props)};
        struct store_put_result r;
        CHECK(store_put(s, &m, 1, &r, NULL) == TERN_OK);
        ends[i] = r.end_phy_off;
    }
    buf_deinit(&props);
    store_crash_close(s);

    uint8_t mode = size ? data[0] % 3 : 0;
    const uint8_t *p = size ? data + 1 : data;
    size_t n = size ? size - 1 : 0;
    char path[1024];
    if (mode == 0) {
        if (n > (size_t)(SEG - ends[NRECS - 1]))
            n = (size_t)(SEG - ends[NRECS - 1]);
        snprintf(path, sizeof path, "%s/commitlog/%020d", dir, 0);
        overwrite(path, ends[NRECS - 1], p, n);
    } else if (mode == 1) {
        if (n > 16 * 20 - 40)
            n = 16 * 20 - 40;
        snprintf(path, sizeof path, "%s/consumequeue/Fz/0/%020d", dir, 0);
        overwrite(path, 40, p, n);
    } else {
        if (n > 4096)
            n = 4096;
        snprintf(path, sizeof path, "%s/checkpoint", dir);
        overwrite(path, 0, p, n);
    }

    if (store_open(&cfg, &s) == TERN_OK) {
        buf_t out;
        buf_init(&out);
        int64_t prev = 0;
        for (int i = 0; i < NRECS; i++) {
            buf_reset(&out);
            /* Records before the damage are intact (mode 0 and 2 never touch them). */
            CHECK(mode == 1 || store_read_at(s, prev, &out) == TERN_OK);
            prev = ends[i];
        }
        struct store_get_result g;
        for (int q = 0; q < 2; q++) {
            buf_reset(&out);
            store_get(s, tern_cstr("Fz"), q, 0, 32, 1 << 20, NULL, NULL, &out, &g);
            CHECK(mode == 1 || (g.status == GET_FOUND && g.count >= NRECS / 2));
        }
        struct store_query_result qr;
        buf_reset(&out);
        store_query(s, tern_cstr("Fz"), tern_cstr("valid-1"), 4, 0, INT64_MAX, &out, &qr);
        struct store_msg m = {.topic = tern_cstr("Fz"), .queue_id = 0, .body = tern_cstr("x")};
        CHECK(store_put(s, &m, 1, NULL, NULL) == TERN_OK);
        buf_deinit(&out);
        store_close(s);
    }
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}
