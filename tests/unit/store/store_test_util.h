/* SPDX-License-Identifier: Apache-2.0 */
/* store_test_util.h: helpers shared by the store unit tests: temp store
 * directories, small test configs, one-message puts and record decoding. */
#ifndef TERN_TEST_STORE_UTIL_H
#define TERN_TEST_STORE_UTIL_H

#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/error.h"
#include "protocol/message.h"
#include "protocol/props.h"
#include "store/store.h"

static inline char *tst_mkdtemp(void)
{
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    char *p = malloc(strlen(base) + 32);
    sprintf(p, "%s/tern-store-XXXXXX", base);
    if (!mkdtemp(p)) {
        perror("mkdtemp");
        abort();
    }
    return p;
}

static inline int tst_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static inline void tst_rm_rf(char *path)
{
    nftw(path, tst_rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(path);
}

/* Small sizes so tests roll segments and files quickly. */
static inline void tst_config(struct store_config *cfg, const char *dir)
{
    store_config_defaults(cfg);
    cfg->root_dir = dir;
    cfg->commitlog_segment_bytes = 1024 * 1024;
    cfg->cq_segment_units = 1000;
    cfg->index_slots = 1024;
    cfg->index_entries = 4096;
    cfg->min_free_bytes = 0;
    cfg->disk_refuse_ratio = 100;
    cfg->disk_max_used_ratio = 100;
    cfg->flush_interval_ms = 50;
    /* ctest runs every store test in both write modes (CMakeLists.txt). */
    const char *mode = getenv("TERN_TEST_WRITE_MODE");
    if (mode && strcmp(mode, "pwrite") == 0)
        cfg->write_mode = CL_WRITE_PWRITE;
}

/* Builds a store_msg; props_buf receives TAGS/KEYS/UNIQ_KEY when non-NULL. */
static inline struct store_msg tst_msg(const char *topic, int qid, const char *body,
                                       const char *tags, const char *keys, const char *uniq,
                                       buf_t *props_buf)
{
    struct store_msg m;
    memset(&m, 0, sizeof m);
    m.topic = tern_cstr(topic);
    m.queue_id = qid;
    m.flag = 7;
    m.born_ts = 1700000000000LL;
    m.born_host.addr[0] = 10;
    m.born_host.addr[3] = 1;
    m.born_host.port = 5555;
    m.store_host.addr[0] = 192;
    m.store_host.addr[1] = 168;
    m.store_host.addr[3] = 9;
    m.store_host.port = 10911;
    m.body = tern_cstr(body);
    buf_reset(props_buf);
    if (tags)
        props_append(props_buf, PROP_TAGS, tern_cstr(tags));
    if (keys)
        props_append(props_buf, PROP_KEYS, tern_cstr(keys));
    if (uniq)
        props_append(props_buf, PROP_UNIQ_KEY, tern_cstr(uniq));
    m.props = buf_view(props_buf);
    return m;
}

static inline int tst_put(struct store *s, const char *topic, int qid, const char *body,
                          const char *tags, const char *keys, const char *uniq,
                          struct store_put_result *res)
{
    buf_t pb;
    buf_init(&pb);
    struct store_msg m = tst_msg(topic, qid, body, tags, keys, uniq, &pb);
    struct store_put_result tmp;
    int rc = store_put(s, &m, 1, res ? res : &tmp, NULL);
    buf_deinit(&pb);
    return rc;
}

/* The number after "<key>:" in /proc/self/<file> ("io", "status"); -1 if
 * the file or the key is missing. */
static inline long long tst_proc_self_num(const char *file, const char *key)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/self/%s", file);
    FILE *f = fopen(path, "r");
    size_t klen = strlen(key);
    long long v = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            v = strtoll(line + klen + 1, NULL, 10);
            break;
        }
    if (f)
        fclose(f);
    return v;
}

/* Decodes the i-th record of a back-to-back record buffer. */
static inline int tst_nth(tern_bytes_t all, int i, struct msg_record *out)
{
    size_t pos = 0;
    for (int k = 0;; k++) {
        if (pos >= all.len)
            return TERN_ENOT_FOUND;
        int rc = msg_decode(all.ptr + pos, all.len - pos, out);
        if (rc)
            return rc;
        if (k == i)
            return TERN_OK;
        pos += (size_t)out->total_size;
    }
}

#endif
