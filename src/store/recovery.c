/* SPDX-License-Identifier: Apache-2.0 */
/* recovery.c: consume-queue side of store recovery (docs/design/store.md#recovery).
 *
 * Runs once in store_open() after the commit log's tail was cut at log_end:
 * every queue directory is mapped and truncated to units whose record ends at
 * or below log_end, then records from redispatch_from (the checkpointed CQ
 * progress) to log_end are re-dispatched; a queue skips records below its
 * last unit's end, so replay is idempotent. Single-threaded (no other
 * thread runs yet). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "protocol/props.h"
#include "store/store_impl.h"

static bool parse_qid(const char *s, int32_t *out)
{
    int64_t v = 0;
    if (!*s || strlen(s) > 9)
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        v = v * 10 + (*s - '0');
    }
    *out = (int32_t)v;
    return true;
}

static int load_topic(struct store *s, const char *topic, int64_t log_min, int64_t log_end)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", s->cq_root, topic);
    DIR *d = opendir(dir);
    if (!d)
        return TERN_OK;
    int rc = TERN_OK;
    struct dirent *e;
    while (rc == TERN_OK && (e = readdir(d))) {
        int32_t qid;
        if (!parse_qid(e->d_name, &qid))
            continue;
        tern_bytes_t t = tern_cstr(topic);
        struct cq *q;
        cq_new(s->cq_root, t, qid, s->cfg.cq_segment_units, true, &q);
        rc = cq_load(q, log_min, log_end);
        if (rc) {
            cq_free(q);
            break;
        }
        uint8_t key[TERN_MAX_TOPIC_BYTES + 8];
        size_t n = store_qkey(t, qid, key);
        strmap_put(&s->qmap, tern_bytes(key, n), q);
    }
    closedir(d);
    return rc;
}

static int redispatch(struct store *s, int64_t from, int64_t log_end, int64_t *count)
{
    int64_t pos = from;
    *count = 0;
    commitlog_rdlock(s->cl);
    while (pos < log_end) {
        const uint8_t *p;
        int32_t size;
        int64_t next;
        int rc = commitlog_peek(s->cl, pos, &p, &size, &next);
        if (rc == TERN_ENOT_FOUND) {
            if (next == pos)
                break;
            pos = next;
            continue;
        }
        struct msg_record m;
        if (rc != TERN_OK || msg_decode(p, (size_t)size, &m) != TERN_OK) {
            log_error("store", "re-dispatch stopped at an unreadable record phy_off=%lld",
                      (long long)pos);
            break;
        }
        int32_t txn = m.sys_flag & MSG_SYSFLAG_TXN_MASK;
        if (txn != MSG_SYSFLAG_TXN_PREPARED && txn != MSG_SYSFLAG_TXN_ROLLBACK && m.topic.len > 0 &&
            m.topic.len <= TERN_MAX_TOPIC_BYTES) {
            struct cq *q = store_get_or_create_cq(s, m.topic, m.queue_id);
            if (m.phy_off >= q->max_phy_end) {
                tern_bytes_t tags;
                int64_t code = props_get(m.props, PROP_TAGS, &tags) ? store_tags_code(tags) : 0;
                rc = cq_put(q, m.queue_off, m.phy_off, m.total_size, code);
                if (rc) {
                    commitlog_unlock(s->cl);
                    return rc;
                }
                (*count)++;
            }
        }
        pos = next;
    }
    commitlog_unlock(s->cl);
    return TERN_OK;
}

int store_recover_queues(struct store *s, int64_t log_end, int64_t redispatch_from)
{
    int64_t log_min = atomic_load(&s->cl->min_off);
    int rc = mfile_mkdirs(s->cq_root);
    if (rc)
        return rc;
    DIR *d = opendir(s->cq_root);
    struct dirent *e;
    while (rc == TERN_OK && d && (e = readdir(d))) {
        if (e->d_name[0] == '.' || strlen(e->d_name) > TERN_MAX_TOPIC_BYTES)
            continue;
        rc = load_topic(s, e->d_name, log_min, log_end);
    }
    if (d)
        closedir(d);
    if (rc)
        return rc;
    if (s->cl->nsegs == 0) {
        /* No log at all: queues would point at nothing. */
        const char *k;
        void *v;
        for (size_t it = 0; strmap_next(&s->qmap, &it, &k, &v);)
            cq_destroy(v);
        strmap_deinit(&s->qmap);
        strmap_init(&s->qmap);
        return TERN_OK;
    }
    int64_t n;
    rc = redispatch(s, redispatch_from, log_end, &n);
    if (n > 0)
        log_info("store", "re-dispatched %lld records from phy_off=%lld", (long long)n,
                 (long long)redispatch_from);
    return rc;
}
