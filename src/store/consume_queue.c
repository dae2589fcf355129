/* SPDX-License-Identifier: Apache-2.0 */
/* consume_queue.c: per-queue 20-byte units pointing into the commit log (see
 * consume_queue.h and docs/design/store.md#consume-queue): put, lookup,
 * recovery truncation, lazy flush and retention. */
#include "store/consume_queue.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "common/log.h"
#include "common/xalloc.h"

static int64_t file_bytes(const struct cq *q)
{
    return q->file_units * CQ_UNIT_BYTES;
}

/* Index of a file in the queue's space (not in q->files). */
static int64_t file_no(const struct cq *q, const struct mfile *f)
{
    return f->start / file_bytes(q);
}

void cq_new(const char *cq_root, tern_bytes_t topic, int32_t queue_id, int64_t file_units,
            bool preallocate, struct cq **out)
{
    struct cq *q = xcalloc(1, sizeof *q);
    q->topic = xstrndup((const char *)topic.ptr, topic.len);
    q->topic_len = topic.len;
    q->queue_id = queue_id;
    size_t n = strlen(cq_root) + topic.len + 32;
    q->dir = xmalloc(n);
    snprintf(q->dir, n, "%s/%s/%d", cq_root, q->topic, (int)queue_id);
    q->file_units = file_units;
    q->preallocate = preallocate;
    pthread_rwlock_init(&q->lock, NULL);
    *out = q;
}

void cq_free(struct cq *q)
{
    if (!q)
        return;
    for (size_t i = 0; i < q->nfiles; i++)
        mfile_close(q->files[i]);
    free(q->files);
    pthread_rwlock_destroy(&q->lock);
    free(q->dir);
    free(q->topic);
    free(q);
}

void cq_destroy(struct cq *q)
{
    for (size_t i = 0; i < q->nfiles; i++)
        mfile_destroy(q->files[i]);
    q->nfiles = 0;
    rmdir(q->dir);
    char *slash = strrchr(q->dir, '/');
    if (slash) {
        *slash = '\0';
        rmdir(q->dir); /* the topic directory, when this was its last queue */
    }
    cq_free(q);
}

/* Appends f (just mapped) to the queue. Small folios: a flush would write
 * the whole large folio holding the queue's tail (mapped_file.c). */
static void push_file(struct cq *q, struct mfile *f)
{
    mfile_advise(f, MFILE_FOLIOS_SMALL);
    pthread_rwlock_wrlock(&q->lock);
    if (q->nfiles == q->cap) {
        q->cap = q->cap ? q->cap * 2 : 4;
        q->files = xrealloc(q->files, q->cap * sizeof *q->files);
    }
    q->files[q->nfiles++] = f;
    pthread_rwlock_unlock(&q->lock);
}

static void unit_at(const struct cq *q, const struct mfile *f, int64_t i, struct cq_unit *u)
{
    (void)q;
    cq_unit_load(f->base + i * CQ_UNIT_BYTES, u);
}

/* Clears units [from, end of file): all of them, not only up to the first
 * zero unit, so stale units after a gap cannot be taken for live ones by a
 * later recovery. Whole pages are zeroed by the file system. */
static void zero_units(struct mfile *f, int64_t from)
{
    (void)mfile_zero_from(f, from * CQ_UNIT_BYTES);
}

/* ---- min offset ---- */

static void correct_min(struct cq *q, int64_t log_min)
{
    int64_t max = atomic_load(&q->max_off);
    for (size_t k = 0; k < q->nfiles; k++) {
        struct mfile *f = q->files[k];
        int64_t first = file_no(q, f) * q->file_units;
        int64_t n = max - first < q->file_units ? max - first : q->file_units;
        if (n <= 0)
            break;
        struct cq_unit u;
        unit_at(q, f, n - 1, &u);
        if (u.size <= 0 || u.phy_off < log_min)
            continue;
        /* Predicate "live unit at or above log_min" is false then true. */
        int64_t lo = 0, hi = n - 1;
        while (lo < hi) {
            int64_t mid = lo + (hi - lo) / 2;
            unit_at(q, f, mid, &u);
            if (u.size > 0 && u.phy_off >= log_min)
                hi = mid;
            else
                lo = mid + 1;
        }
        atomic_store(&q->min_off, first + lo);
        return;
    }
    atomic_store(&q->min_off, max);
}

/* ---- recovery ---- */

static int64_t first_live(const struct cq *q, const struct mfile *f)
{
    struct cq_unit u;
    for (int64_t i = 0; i < q->file_units; i++) {
        unit_at(q, f, i, &u);
        if (u.size > 0)
            return i;
    }
    return -1;
}

int cq_load(struct cq *q, int64_t log_min, int64_t log_end)
{
    int64_t *starts;
    size_t n;
    int rc = mfile_list(q->dir, &starts, &n);
    int64_t fb = file_bytes(q);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (starts[i] % fb != 0 || (i > 0 && starts[i] != starts[i - 1] + fb)) {
            rc = TERN_ECORRUPT;
            break;
        }
        struct mfile *f;
        bool was_short;
        rc = mfile_open(q->dir, starts[i], fb, &f, &was_short);
        if (rc == 0)
            push_file(q, f);
    }
    free(starts);
    if (rc) {
        log_error("store", "cannot load consume queue dir=%s: %s", q->dir, tern_strerror(rc));
        return rc;
    }
    /* Drop tail files whose first unit is a hole or points past the log. */
    int64_t start_i = 0;
    while (q->nfiles > 0) {
        struct mfile *f = q->files[q->nfiles - 1];
        start_i = first_live(q, f);
        struct cq_unit u = {0};
        if (start_i >= 0)
            unit_at(q, f, start_i, &u);
        if (start_i >= 0 && u.phy_off >= 0 && u.phy_off + u.size <= log_end)
            break;
        if (q->nfiles == 1) {
            mfile_zero_from(f, 0);
            start_i = -1;
            break;
        }
        q->nfiles--;
        mfile_destroy(f);
        atomic_store(&q->dir_dirty, true);
    }
    q->cur = q->nfiles ? q->files[q->nfiles - 1] : NULL;
    if (q->nfiles == 0 || start_i < 0) {
        /* An empty file k kept: the queue continues at its first unit (file_for
         * only finds units of files that exist). */
        int64_t base = q->nfiles ? file_no(q, q->files[0]) * q->file_units : 0;
        atomic_store(&q->max_off, base);
        atomic_store(&q->min_off, base);
        atomic_store(&q->flushed_off, base);
        q->max_phy_end = 0;
        return TERN_OK;
    }
    struct mfile *f = q->files[q->nfiles - 1];
    if (q->nfiles > 1)
        start_i = 0;
    int64_t prev_end = -1, i;
    for (i = start_i; i < q->file_units; i++) {
        struct cq_unit u;
        unit_at(q, f, i, &u);
        if (u.size <= 0 || u.phy_off < 0 || u.phy_off + u.size > log_end || u.phy_off < prev_end)
            break;
        prev_end = u.phy_off + u.size;
    }
    zero_units(f, i);
    int64_t max = file_no(q, f) * q->file_units + i;
    q->max_phy_end = prev_end;
    atomic_store(&q->max_off, max);
    atomic_store(&q->flushed_off, max);
    correct_min(q, log_min);
    return TERN_OK;
}

/* ---- put ---- */

static struct mfile *file_for(struct cq *q, int64_t fno)
{
    if (q->nfiles == 0)
        return NULL;
    int64_t first = file_no(q, q->files[0]);
    if (fno < first || fno - first >= (int64_t)q->nfiles)
        return NULL;
    return q->files[fno - first];
}

int cq_put(struct cq *q, int64_t qoff, int64_t phy_off, int32_t size, int64_t tags_code)
{
    if (qoff < 0)
        return TERN_EINVALID;
    int64_t fno = qoff / q->file_units;
    /* Only this thread (put_lock) appends files, so reading the tail needs no
     * lock; retention never removes the last file. */
    struct mfile *last = q->cur;
    struct mfile *f = last && file_no(q, last) == fno ? last : NULL;
    if (!f) {
        if (last && fno < file_no(q, last)) {
            pthread_rwlock_rdlock(&q->lock);
            f = file_for(q, fno);
            pthread_rwlock_unlock(&q->lock);
            if (!f)
                return TERN_EINVALID;
        } else {
            /* Directory entries are made durable by cq_flush, off the put
             * path, before the checkpoint counts these units. */
            int rc = mfile_mkdirs_lazy(q->dir);
            if (rc)
                return rc;
            atomic_store(&q->dir_dirty, true);
            int64_t next = last ? file_no(q, last) + 1 : fno;
            for (; next <= fno; next++) {
                rc = mfile_create(q->dir, next * file_bytes(q), file_bytes(q), q->preallocate, &f);
                if (rc) {
                    log_error("store", "cannot create consume queue file dir=%s: %s", q->dir,
                              tern_strerror(rc));
                    return rc;
                }
                push_file(q, f);
                q->cur = f;
            }
        }
    }
    uint8_t *p = f->base + (qoff % q->file_units) * CQ_UNIT_BYTES;
    be64_store(p, (uint64_t)phy_off);
    be32_store(p + 8, (uint32_t)size);
    be64_store(p + 12, (uint64_t)tags_code);
    int64_t max = atomic_load_explicit(&q->max_off, memory_order_relaxed);
    if (max == 0 && qoff > 0)
        atomic_store(&q->min_off, qoff); /* first unit of a queue starting late */
    if (qoff + 1 < max) /* replay over stale units: clear what followed in this file */
        zero_units(f, qoff % q->file_units + 1);
    q->max_phy_end = phy_off + size;
    atomic_store_explicit(&q->max_off, qoff + 1, memory_order_release);
    return TERN_OK;
}

/* ---- reads ---- */

void cq_rdlock(struct cq *q)
{
    pthread_rwlock_rdlock(&q->lock);
}

void cq_unlock(struct cq *q)
{
    pthread_rwlock_unlock(&q->lock);
}

int cq_units_at(struct cq *q, int64_t qoff, const uint8_t **p, int64_t *count)
{
    int64_t max = atomic_load_explicit(&q->max_off, memory_order_acquire);
    if (qoff < 0 || qoff >= max)
        return TERN_ENOT_FOUND;
    struct mfile *f = file_for(q, qoff / q->file_units);
    if (!f)
        return TERN_ENOT_FOUND;
    int64_t i = qoff % q->file_units;
    *p = f->base + i * CQ_UNIT_BYTES;
    int64_t n = q->file_units - i;
    *count = max - qoff < n ? max - qoff : n;
    return TERN_OK;
}

int cq_read_unit(struct cq *q, int64_t qoff, struct cq_unit *u)
{
    const uint8_t *p;
    int64_t n;
    cq_rdlock(q);
    int rc = cq_units_at(q, qoff, &p, &n);
    if (rc == TERN_OK)
        cq_unit_load(p, u);
    cq_unlock(q);
    return rc;
}

int64_t cq_next_file_off(const struct cq *q, int64_t qoff)
{
    return (qoff / q->file_units + 1) * q->file_units;
}

/* ---- flush and retention ---- */

int cq_flush(struct cq *q)
{
    int64_t from = atomic_load(&q->flushed_off);
    int64_t to = atomic_load_explicit(&q->max_off, memory_order_acquire);
    if (atomic_exchange(&q->dir_dirty, false)) {
        /* <root>/consumequeue/<topic>/<qid>: new files, and maybe new dirs. */
        char path[4096];
        snprintf(path, sizeof path, "%s", q->dir);
        int rc = TERN_OK;
        for (int up = 0; up < 3 && rc == TERN_OK; up++) {
            rc = mfile_fsync_dir(path);
            char *slash = strrchr(path, '/');
            if (!slash || slash == path)
                break;
            *slash = '\0';
        }
        if (rc) {
            atomic_store(&q->dir_dirty, true);
            return rc;
        }
    }
    if (to <= from)
        return TERN_OK;
    /* Every dirty file, however many: the checkpoint then claims all units
     * below `to` durable. */
    struct mfile *stack_pending[8];
    struct mfile **dirty_files = stack_pending;
    size_t n = 0;
    cq_rdlock(q);
    if (q->nfiles > sizeof stack_pending / sizeof stack_pending[0])
        dirty_files = xmalloc(q->nfiles * sizeof *dirty_files);
    for (size_t k = 0; k < q->nfiles; k++) {
        struct mfile *f = q->files[k];
        int64_t a = file_no(q, f) * q->file_units, b = a + q->file_units;
        if (b <= from || a >= to)
            continue;
        dirty_files[n++] = f;
    }
    cq_unlock(q);
    /* Files holding units at or above flushed_off are never deleted. */
    for (size_t k = 0; k < n; k++) {
        struct mfile *f = dirty_files[k];
        int64_t a = file_no(q, f) * q->file_units;
        int64_t lo = from > a ? from - a : 0;
        int64_t hi = to - a < q->file_units ? to - a : q->file_units;
        int rc = mfile_sync(f, lo * CQ_UNIT_BYTES, hi * CQ_UNIT_BYTES);
        if (rc) {
            if (dirty_files != stack_pending)
                free(dirty_files);
            return rc;
        }
    }
    if (dirty_files != stack_pending)
        free(dirty_files);
    atomic_store(&q->flushed_off, to);
    return TERN_OK;
}

int cq_delete_below(struct cq *q, int64_t log_min)
{
    int64_t flushed = atomic_load(&q->flushed_off);
    size_t k = 0;
    cq_rdlock(q);
    for (; k + 1 < q->nfiles; k++) {
        struct mfile *f = q->files[k];
        if ((file_no(q, f) + 1) * q->file_units > flushed)
            break;
        struct cq_unit u;
        unit_at(q, f, q->file_units - 1, &u);
        if (u.size > 0 && u.phy_off >= log_min)
            break;
    }
    cq_unlock(q);
    struct mfile **gone = NULL;
    if (k > 0) {
        gone = xmalloc(k * sizeof *gone);
        pthread_rwlock_wrlock(&q->lock);
        memcpy(gone, q->files, k * sizeof *gone);
        memmove(q->files, q->files + k, (q->nfiles - k) * sizeof *q->files);
        q->nfiles -= k;
        pthread_rwlock_unlock(&q->lock);
        for (size_t i = 0; i < k; i++)
            mfile_destroy(gone[i]);
        free(gone);
        (void)mfile_fsync_dir(q->dir);
    }
    pthread_rwlock_rdlock(&q->lock);
    correct_min(q, log_min);
    pthread_rwlock_unlock(&q->lock);
    return (int)k;
}
