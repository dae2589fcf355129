/* SPDX-License-Identifier: Apache-2.0 */
/* consumer_offset.c: consumption progress (spec §13.2; remoting-protocol
 * §4.C.5, §4.C.6, §8.6). Clustering: UPDATE_CONSUMER_OFFSET to the queue's
 * broker every 5 s (oneway), at release and at shutdown (sync). Broadcasting:
 * a local file "<dir>/<ip>@<group>/offsets.txt" of "topic@broker@qid offset"
 * lines, written with tmp + fsync + rename. Start offsets of new queues:
 * stored offset, else 0 for the retry topic, else the queue's max offset. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/consumer_int.h"
#include "common/error.h"
#include "protocol/codes.h"

/* ---- offsets ------------------------------------------------------------ */

static void local_key(const struct pq *q, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s@%s@%d", q->wire_topic, q->broker, q->qid);
}

static void local_path(struct ons_consumer *c, char *dir, size_t dcap, char *file, size_t fcap)
{
    snprintf(dir, dcap, "%s/%s@%s", c->core.cfg.offset_dir, cl_local_ip(), c->core.cfg.wire_group);
    snprintf(file, fcap, "%s/offsets.txt", dir);
}

/* Loads "key offset" lines of the broadcasting offset file (c->mu held). */
static void local_load(struct ons_consumer *c)
{
    if (c->local_loaded)
        return;
    c->local_loaded = true;
    char dir[600], file[700];
    local_path(c, dir, sizeof dir, file, sizeof file);
    FILE *f = fopen(file, "r");
    if (f == NULL)
        return;
    char line[768];
    while (fgets(line, sizeof line, f)) {
        char *sp = strrchr(line, ' ');
        if (sp == NULL)
            continue;
        *sp = '\0';
        int64_t *v = cl_malloc(sizeof *v);
        if (v == NULL)
            break;
        *v = strtoll(sp + 1, NULL, 10);
        void *old = NULL;
        if (strmap_set(&c->local, tern_cstr(line), v, &old) != TERN_OK)
            old = v;
        free(old);
    }
    fclose(f);
}

/* Writes the broadcasting offset file (c->mu held). */
static void local_save(struct ons_consumer *c)
{
    char dir[600], file[700], tmp[720];
    local_path(c, dir, sizeof dir, file, sizeof file);
    mkdir(c->core.cfg.offset_dir, 0755);
    mkdir(dir, 0755);
    snprintf(tmp, sizeof tmp, "%s.tmp", file);
    FILE *f = fopen(tmp, "w");
    if (f == NULL) {
        cl_log(ONS_LOG_WARN, "cannot write %s: %s", tmp, strerror(errno));
        return;
    }
    const char *key;
    void *val;
    for (size_t it = 0; strmap_next(&c->local, &it, &key, &val);)
        fprintf(f, "%s %lld\n", key, (long long)*(int64_t *)val);
    bool ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, file) != 0)
        cl_log(ONS_LOG_WARN, "cannot write %s", file);
}

/* UPDATE_CONSUMER_OFFSET of one queue to addr; sync waits for the answer. */
static int send_commit(struct ons_consumer *c, const char *addr, const char *wire_topic, int qid,
                       int64_t off, bool sync)
{
    struct rcmd cmd;
    rcmd_init(&cmd);
    cmd.code = RC_UPDATE_CONSUMER_OFFSET;
    rcmd_add_cstr(&cmd, "consumerGroup", c->core.cfg.wire_group);
    rcmd_add_cstr(&cmd, "topic", wire_topic);
    rcmd_add_i64(&cmd, "queueId", qid);
    rcmd_add_i64(&cmd, "commitOffset", off);
    if (!sync)
        return cl_core_oneway(&c->core, addr, &cmd);
    struct rresp resp;
    rresp_init(&resp);
    int rc = cl_core_call(&c->core, addr, &cmd, CALL_TIMEOUT_MS, &resp);
    if (rc == TERN_OK && resp.cmd.code != RESP_SUCCESS)
        rc = TERN_EREMOTE;
    rresp_deinit(&resp);
    return rc;
}

/* The broadcasting file's slot for key, created when missing (c->mu held);
 * NULL when out of memory. */
static int64_t *local_slot(struct ons_consumer *c, const char *key)
{
    int64_t *v = strmap_get_cstr(&c->local, key);
    if (v == NULL && (v = cl_malloc(sizeof *v)) != NULL &&
        strmap_set(&c->local, tern_cstr(key), v, NULL) != TERN_OK) {
        free(v);
        v = NULL;
    }
    return v;
}

/* consumer_int.h. Unchanged offsets are not sent again. */
bool cons_offset_commit_one(struct ons_consumer *c, struct pq *q, const char *addr, bool sync)
{
    pthread_mutex_lock(&q->mu);
    int64_t off = pq_commit_offset_locked(q);
    bool changed = off != q->reported && off >= 0;
    pthread_mutex_unlock(&q->mu);
    if (!changed)
        return true;
    if (send_commit(c, addr, q->wire_topic, q->qid, off, sync) != TERN_OK)
        return false;
    pthread_mutex_lock(&q->mu);
    q->reported = off;
    pthread_mutex_unlock(&q->mu);
    return true;
}

/* Commits every queue whose offset changed. sync: wait for answers. */
void cons_offset_commit_all(struct ons_consumer *c, bool sync)
{
    pthread_mutex_lock(&c->mu);
    size_t n = c->npqs;
    struct pq **qs = cl_calloc(n ? n : 1, sizeof *qs);
    if (qs == NULL) {
        pthread_mutex_unlock(&c->mu);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        qs[i] = c->pqs[i];
        atomic_fetch_add(&qs[i]->refs, 1);
    }
    bool dirty = false;
    for (size_t i = 0; c->core.cfg.broadcasting && i < n; i++) {
        struct pq *q = qs[i];
        pthread_mutex_lock(&q->mu);
        int64_t off = pq_commit_offset_locked(q);
        bool changed = off != q->reported && off >= 0;
        q->reported = off;
        pthread_mutex_unlock(&q->mu);
        if (!changed)
            continue;
        char key[512];
        local_key(q, key, sizeof key);
        int64_t *v = local_slot(c, key);
        if (v) {
            *v = off;
            dirty = true;
        }
    }
    if (dirty)
        local_save(c);
    pthread_mutex_unlock(&c->mu);
    for (size_t i = 0; !c->core.cfg.broadcasting && i < n; i++) {
        char addr[64];
        if (cons_pq_addr(c, qs[i], addr, sizeof addr))
            (void)cons_offset_commit_one(c, qs[i], addr, sync);
    }
    for (size_t i = 0; i < n; i++)
        pq_unref(qs[i]);
    free(qs);
}

void cons_offset_reset(struct ons_consumer *c, const char *wire_topic, const char *broker, int qid,
                       int64_t off)
{
    struct pq tmp = {.wire_topic = (char *)wire_topic, .qid = qid};
    snprintf(tmp.broker, sizeof tmp.broker, "%s", broker);
    if (c->core.cfg.broadcasting) {
        char key[512];
        local_key(&tmp, key, sizeof key);
        pthread_mutex_lock(&c->mu);
        local_load(c);
        int64_t *v = local_slot(c, key);
        if (v) {
            *v = off;
            local_save(c);
        }
        pthread_mutex_unlock(&c->mu);
        return;
    }
    char addr[64];
    if (cons_pq_addr(c, &tmp, addr, sizeof addr) == NULL) {
        cl_log(ONS_LOG_WARN, "reset of %s:%s:%d: no address for the broker", wire_topic, broker,
               qid);
        return;
    }
    if (send_commit(c, addr, wire_topic, qid, off, true) != TERN_OK)
        cl_log(ONS_LOG_WARN, "reset of %s:%s:%d: the broker did not take offset %lld", wire_topic,
               broker, qid, (long long)off);
}

/* Start offset of a newly assigned queue (§8.6). OUT: *off. */
int cons_offset_initial(struct ons_consumer *c, const char *wire_topic, const char *broker, int qid,
                        const char *addr, int64_t *off)
{
    if (c->core.cfg.broadcasting) {
        char key[512];
        struct pq tmp = {.wire_topic = (char *)wire_topic, .qid = qid};
        snprintf(tmp.broker, sizeof tmp.broker, "%s", broker);
        local_key(&tmp, key, sizeof key);
        pthread_mutex_lock(&c->mu);
        local_load(c);
        int64_t *v = strmap_get_cstr(&c->local, key);
        bool found = v != NULL;
        if (found)
            *off = *v;
        pthread_mutex_unlock(&c->mu);
        if (found)
            return 0;
    } else {
        struct rcmd cmd;
        rcmd_init(&cmd);
        cmd.code = RC_QUERY_CONSUMER_OFFSET;
        rcmd_add_cstr(&cmd, "consumerGroup", c->core.cfg.wire_group);
        rcmd_add_cstr(&cmd, "topic", wire_topic);
        rcmd_add_i64(&cmd, "queueId", qid);
        struct rresp resp;
        rresp_init(&resp);
        int rc = cl_core_call(&c->core, addr, &cmd, CALL_TIMEOUT_MS, &resp);
        if (rc != TERN_OK) {
            rresp_deinit(&resp);
            return -1;
        }
        int64_t v = -1;
        bool found = resp.cmd.code == RESP_SUCCESS &&
                     rcmd_get_i64(&resp.cmd, "offset", &v) == TERN_OK && v >= 0;
        rresp_deinit(&resp);
        if (found) {
            *off = v;
            return 0;
        }
        if (strcmp(wire_topic, c->retry_topic) == 0) {
            *off = 0;
            return 0;
        }
    }
    struct rcmd cmd;
    rcmd_init(&cmd);
    cmd.code = RC_GET_MAX_OFFSET;
    rcmd_add_cstr(&cmd, "topic", wire_topic);
    rcmd_add_i64(&cmd, "queueId", qid);
    struct rresp resp;
    rresp_init(&resp);
    int rc = cl_core_call(&c->core, addr, &cmd, CALL_TIMEOUT_MS, &resp);
    int64_t v = -1;
    bool ok = rc == TERN_OK && resp.cmd.code == RESP_SUCCESS &&
              rcmd_get_i64(&resp.cmd, "offset", &v) == TERN_OK;
    rresp_deinit(&resp);
    if (!ok)
        return -1;
    *off = v;
    return 0;
}
