/* SPDX-License-Identifier: Apache-2.0 */
/* commitlog.c: segments, append reservation with filler and roll, reads,
 * flush, tail recovery and retention of the commit log (see commitlog.h and
 * docs/design/store.md#commitlog). The alloc thread keeps one spare segment
 * created ahead so that a roll is a pointer swap, not a 1 GiB fallocate. */
#include "store/commitlog.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/error.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "protocol/message.h"
#include "store/read_ahead.h"
#include "store/warm_pool.h"

/* Folio size of the log's mappings (mapped_file.c): large where the
 * appender writes through the mapping and syncs are periodic; small where it
 * writes with pwrite (a buffered write walks every block of its folio) or
 * where every group commit writes the tail back (SYNC_FLUSH: a large folio
 * dirtied through the mapping, as the write-ahead does, is written whole). */
static enum mfile_folios log_folios(const struct commitlog *cl)
{
    return cl->write_mode == CL_WRITE_PWRITE || cl->write_ahead ? MFILE_FOLIOS_SMALL
                                                                : MFILE_FOLIOS_LARGE;
}

static void push_seg(struct commitlog *cl, struct mfile *m)
{
    if (cl->nsegs == cl->cap) {
        cl->cap = cl->cap ? cl->cap * 2 : 16;
        cl->segs = xrealloc(cl->segs, cl->cap * sizeof *cl->segs);
    }
    cl->segs[cl->nsegs++] = m;
}

int commitlog_open(const char *dir, int64_t seg_bytes, bool preallocate, struct commitlog **out)
{
    int rc = mfile_mkdirs(dir);
    if (rc)
        return rc;
    struct commitlog *cl = xcalloc(1, sizeof *cl);
    cl->dir = xstrdup(dir);
    cl->seg_bytes = seg_bytes;
    cl->preallocate = preallocate;
    cl->repaired_start = -1;
    cl->want_start = -1;
    cl->busy_start = -1;
    atomic_store(&cl->sync_floor, INT64_MAX);
    pthread_rwlock_init(&cl->segs_lock, NULL);
    pthread_mutex_init(&cl->alloc_mu, NULL);
    pthread_cond_init(&cl->alloc_cv, NULL);
    int64_t *starts;
    size_t n;
    rc = mfile_list(dir, &starts, &n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (starts[i] % seg_bytes != 0 || (i > 0 && starts[i] != starts[i - 1] + seg_bytes)) {
            log_error("store", "commitlog segment out of sequence start=%lld",
                      (long long)starts[i]);
            rc = TERN_ECORRUPT;
            break;
        }
        struct mfile *m;
        bool was_short;
        rc = mfile_open(dir, starts[i], seg_bytes, &m, &was_short);
        if (rc) {
            log_error("store", "cannot map commitlog segment start=%lld: %s", (long long)starts[i],
                      tern_strerror(rc));
            break;
        }
        if (was_short && cl->repaired_start < 0)
            cl->repaired_start = starts[i];
        push_seg(cl, m);
    }
    free(starts);
    if (rc) {
        commitlog_close(cl);
        return rc;
    }
    atomic_store(&cl->min_off, cl->nsegs ? cl->segs[0]->start : 0);
    *out = cl;
    return TERN_OK;
}

/* Prepares [from, to) of m (segment-relative, page-aligned down) ahead of
 * the appender, so that allocating and zeroing page-cache pages (and, for
 * writes through the mapping, the page faults) is not paid on the put path.
 * As RocketMQ's warmMappedFile, CL_WRITE_MMAP prefaults the window writable
 * (MADV_POPULATE_WRITE: zero pages, content unchanged, so harmless where the
 * appender has already written). CL_WRITE_PWRITE does not map at all:
 * readahead() over the preallocated (unwritten) blocks creates the pages
 * zero-filled without I/O, and pages with no writable mapping cost no
 * write-protect and TLB shootdown when they are written back. Measured on a
 * 2-core VM (bench/RESULTS.md): mmap costs less per single 1 KiB send (no
 * system call per record), pwrite less per batch (one call per run).
 *
 * With write_ahead (SYNC_FLUSH), each chunk is also dirtied and written back
 * and waited for (sync_file_range) before the appender gets there: fallocate
 * leaves the blocks as unwritten extents, and converting them on every group
 * commit would make each fdatasync write metadata (and commit the journal).
 *
 * The window is kept small (CL_WARM_AHEAD) so resident memory does not grow
 * by whole segments. With check_live, m is touched only while it is the last
 * segment, under the shared segs_lock (retention never deletes the last
 * segment, so it cannot be unmapped meanwhile). Stops early on shutdown. */
static bool trade_unit(struct commitlog *cl);

static void warm(struct commitlog *cl, struct mfile *m, int64_t from, int64_t to, bool check_live)
{
    /* Populating fresh memory costs the kernel milliseconds per step on a VM
     * (bench/run_memtouch.sh), and back-to-back steps were seen holding a
     * CPU for 28 ms while a woken I/O thread waited: after each step, yield
     * while the warmed part is well ahead of the appender (when it is not,
     * falling behind would cost the appender its own page faults). Populate
     * steps are 256 KiB; written ahead (SYNC_FLUSH) they stay 1 MiB, since
     * smaller writebacks between the group commits' syncs cost 10-15 % of
     * SYNC_FLUSH throughput. Readahead steps (pwrite mode) stay 1 MiB too:
     * smaller ones were not measured. */
    const int64_t step =
        cl->write_ahead || cl->write_mode == CL_WRITE_PWRITE ? 1024 * 1024 : 256 * 1024;
    if (to > m->size)
        to = m->size;
    for (int64_t pos = from & ~(int64_t)4095; pos < to; pos += step) {
        if (atomic_load_explicit(&cl->alloc_stop_flag, memory_order_relaxed))
            return;
        size_t n = (size_t)(to - pos < step ? to - pos : step);
        /* For each 2 MiB of log this step starts, give the kernel memory it
         * has just used: a unit of old log below the page-cache window
         * (trade_unit), else a warm-pool page (warm_pool.c). Windows follow
         * each other, so a folio the step begins inside was made by the
         * step before. */
        const int64_t fb = MFILE_LARGE_FOLIO_BYTES;
        for (int64_t b = (pos + fb - 1) / fb * fb; b < pos + (int64_t)n; b += fb)
            if (!trade_unit(cl) && cl->pool)
                (void)warm_pool_give(cl->pool);
        if (check_live) {
            pthread_rwlock_rdlock(&cl->segs_lock);
            if (cl->nsegs == 0 || cl->segs[cl->nsegs - 1] != m) {
                pthread_rwlock_unlock(&cl->segs_lock);
                return;
            }
        }
        bool ok = true;
        if (!cl->write_ahead && cl->write_mode == CL_WRITE_PWRITE) {
            ok = readahead(m->fd, pos, n) == 0;
        } else {
#if defined(MADV_POPULATE_WRITE)
            ok = madvise(m->base + pos, n, MADV_POPULATE_WRITE) == 0;
            /* pwrite mode never writes through the mapping: drop the
             * writable entries at once (one TLB flush), or the write-back
             * below write-protects them page by page, each page a TLB-flush
             * IPI to the other CPU (small folios, log_folios). */
            if (ok && cl->write_ahead && cl->write_mode == CL_WRITE_PWRITE)
                (void)madvise(m->base + pos, n, MADV_DONTNEED);
            if (ok && cl->write_ahead)
                (void)sync_file_range(m->fd, pos, (off_t)n,
                                      SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                                          SYNC_FILE_RANGE_WAIT_AFTER);
#else
            ok = false;
#endif
        }
        if (check_live)
            pthread_rwlock_unlock(&cl->segs_lock);
        if (!ok)
            return;
        if (m->start + pos + (int64_t)n - atomic_load(&cl->max_off) > CL_WARM_AHEAD / 2)
            sched_yield();
    }
}

/* Creates (preallocates) and maps the segment at start, advised for the
 * log's folio size (log_folios). Its directory entry is durable
 * before it is returned: records synced into it may be acknowledged. OUT:
 * *out. */
static int new_segment(struct commitlog *cl, int64_t start, struct mfile **out)
{
    struct mfile *m = NULL;
    int rc = mfile_create(cl->dir, start, cl->seg_bytes, cl->preallocate, &m);
    if (rc)
        return rc;
    mfile_advise(m, log_folios(cl));
    rc = mfile_fsync_dir(cl->dir);
    if (rc) {
        mfile_destroy(m);
        return rc;
    }
    *out = m;
    return TERN_OK;
}

/* Frees a spare that will not be used. Its file is deleted only when it lies
 * past every segment of the log: a spare can never be allowed to unlink a
 * live segment, whatever interleaving produced it. */
static void drop_spare(struct commitlog *cl, struct mfile *m)
{
    if (!m)
        return;
    pthread_rwlock_rdlock(&cl->segs_lock);
    bool past = cl->nsegs == 0 || m->start > cl->segs[cl->nsegs - 1]->start;
    pthread_rwlock_unlock(&cl->segs_lock);
    if (past)
        mfile_destroy(m);
    else
        mfile_close(m);
}

static void *alloc_main(void *arg)
{
    pthread_setname_np(pthread_self(), "tern-log-alloc");
    struct commitlog *cl = arg;
    pthread_mutex_lock(&cl->alloc_mu);
    while (!cl->alloc_stop) {
        if (cl->warm_seg) {
            /* The window ahead of the appender in the segment being written;
             * warm() skips it once it is no longer the last segment. */
            struct mfile *m = cl->warm_seg;
            int64_t from = cl->warm_from - m->start, to = cl->warm_to - m->start;
            cl->warm_seg = NULL;
            pthread_mutex_unlock(&cl->alloc_mu);
            warm(cl, m, from, to, true);
            pthread_mutex_lock(&cl->alloc_mu);
            continue;
        }
        if (cl->want_start < 0 || cl->spare) {
            pthread_cond_wait(&cl->alloc_cv, &cl->alloc_mu);
            continue;
        }
        int64_t start = cl->want_start;
        cl->want_start = -1;
        cl->busy_start = start;
        pthread_mutex_unlock(&cl->alloc_mu);
        struct mfile *m = NULL;
        int rc = new_segment(cl, start, &m);
        if (rc)
            log_warn("store", "preallocating segment start=%lld failed: %s", (long long)start,
                     tern_strerror(rc));
        /* Only this thread knows m yet: prefault the first window. */
        if (m)
            warm(cl, m, 0, CL_WARM_AHEAD, false);
        pthread_mutex_lock(&cl->alloc_mu);
        cl->busy_start = -1;
        bool keep = m && !cl->alloc_stop && !cl->spare;
        if (keep)
            cl->spare = m;
        else
            drop_spare(cl, m);
        pthread_cond_broadcast(&cl->alloc_cv);
    }
    pthread_mutex_unlock(&cl->alloc_mu);
    return NULL;
}

/* Logs what the warm pool did and frees it (the alloc thread is gone). */
static void drop_pool(struct commitlog *cl)
{
    if (!cl->pool)
        return;
    struct warm_pool_stats ps;
    warm_pool_stats(cl->pool, &ps);
    log_info("store", "warm pool: %lld pages given, %lld folios without one, %lld refills",
             (long long)ps.given, (long long)ps.missed, (long long)ps.refilled);
    warm_pool_free(cl->pool);
    cl->pool = NULL;
}

static void populate_range(void *arg, int64_t from, int64_t to, const atomic_bool *stop);

int commitlog_start_alloc(struct commitlog *cl)
{
    /* The segments mapped before the write mode was known. */
    pthread_rwlock_rdlock(&cl->segs_lock);
    for (size_t i = 0; i < cl->nsegs; i++)
        mfile_advise(cl->segs[i], log_folios(cl));
    pthread_rwlock_unlock(&cl->segs_lock);
    if (log_folios(cl) == MFILE_FOLIOS_LARGE) {
        int prc = warm_pool_new(CL_WARM_POOL_PAGES, &cl->pool);
        if (prc)
            log_warn("store", "no warm pool for the commit log: %s", tern_strerror(prc));
    }
    if (cl->cache_keep > 0) {
        /* After a restart the window starts where the log ends. */
        int64_t floor =
            (atomic_load(&cl->max_off) - cl->cache_keep) & ~(int64_t)(CL_FLUSH_UNIT - 1);
        atomic_store(&cl->cache_floor, floor > 0 ? floor : 0);
        int rrc = read_ahead_new(populate_range, cl, &cl->ra);
        if (rrc)
            log_warn("store", "no read-ahead thread for the commit log: %s", tern_strerror(rrc));
    }
    int rc = pthread_create(&cl->alloc_thr, NULL, alloc_main, cl);
    if (rc) {
        drop_pool(cl);
        read_ahead_free(cl->ra);
        cl->ra = NULL;
        return -rc;
    }
    cl->alloc_started = true;
    if (cl->cur) {
        pthread_mutex_lock(&cl->alloc_mu);
        cl->warm_seg = cl->cur;
        cl->warm_from = cl->wpos;
        cl->warm_to = cl->wpos + CL_WARM_AHEAD;
        cl->warm_req = cl->warm_to;
        cl->want_start = cl->cur->start + cl->seg_bytes;
        pthread_cond_signal(&cl->alloc_cv);
        pthread_mutex_unlock(&cl->alloc_mu);
    } else {
        /* No segment to write into yet (fresh store, or the last one is
         * full): create the first one in the background too. */
        pthread_mutex_lock(&cl->alloc_mu);
        cl->want_start = cl->wpos;
        pthread_cond_signal(&cl->alloc_cv);
        pthread_mutex_unlock(&cl->alloc_mu);
    }
    return TERN_OK;
}

void commitlog_close(struct commitlog *cl)
{
    if (!cl)
        return;
    if (cl->alloc_started) {
        pthread_mutex_lock(&cl->alloc_mu);
        cl->alloc_stop = true;
        atomic_store(&cl->alloc_stop_flag, true);
        pthread_cond_broadcast(&cl->alloc_cv);
        pthread_mutex_unlock(&cl->alloc_mu);
        pthread_join(cl->alloc_thr, NULL);
    }
    drop_pool(cl);
    if (cl->ra)
        log_info("store",
                 "page-cache window: %lld units traded for new folios, %lld without one, "
                 "%lld read-ahead fills",
                 (long long)atomic_load(&cl->traded), (long long)atomic_load(&cl->untraded),
                 (long long)read_ahead_filled(cl->ra));
    read_ahead_free(cl->ra);
    /* The spare lies past the end of the log: remove it so a clean store
     * holds only segments with data. */
    drop_spare(cl, cl->spare);
    for (size_t i = 0; i < cl->nsegs; i++)
        mfile_close(cl->segs[i]);
    free(cl->segs);
    pthread_rwlock_destroy(&cl->segs_lock);
    pthread_mutex_destroy(&cl->alloc_mu);
    pthread_cond_destroy(&cl->alloc_cv);
    free(cl->dir);
    free(cl);
}

/* ---- recovery ---- */

/* Walks records from start; returns the end of the last valid one. */
static int64_t scan_tail(struct commitlog *cl, int64_t start)
{
    int64_t first = cl->segs[0]->start;
    int64_t pos = start;
    for (;;) {
        size_t idx = (size_t)((pos - first) / cl->seg_bytes);
        if (idx >= cl->nsegs)
            break;
        struct mfile *m = cl->segs[idx];
        int64_t off = pos - m->start;
        int64_t left = m->size - off;
        if (left < CL_MIN_BLANK)
            break;
        const uint8_t *p = m->base + off;
        uint32_t total = be32_load(p);
        uint32_t magic = be32_load(p + 4);
        if (magic == MSG_MAGIC_BLANK) {
            if ((int64_t)total != left)
                break;
            pos = m->start + m->size;
            continue;
        }
        if (magic != MSG_MAGIC_V1 && magic != MSG_MAGIC_V2)
            break;
        if ((int64_t)total > left - CL_MIN_BLANK)
            break;
        struct msg_record r;
        if (msg_decode(p, (size_t)total, &r) != TERN_OK || r.phy_off != pos || !msg_check_crc(&r))
            break;
        pos += total;
    }
    return pos;
}

int commitlog_recover(struct commitlog *cl, bool trust, int64_t ckpt_off, int64_t *end)
{
    if (cl->nsegs == 0) {
        cl->cur = NULL;
        cl->wpos = 0;
        atomic_store(&cl->max_off, 0);
        atomic_store(&cl->flushed_off, 0);
        atomic_store(&cl->clean_off, 0);
        atomic_store(&cl->min_off, 0);
        *end = 0;
        return TERN_OK;
    }
    int64_t first = cl->segs[0]->start;
    int64_t last_end = cl->segs[cl->nsegs - 1]->start + cl->seg_bytes;
    bool in_range = ckpt_off >= first && ckpt_off <= last_end;
    int64_t e, scan_from;
    if (trust && in_range && cl->repaired_start < 0) {
        e = scan_from = ckpt_off;
    } else {
        scan_from = in_range ? ckpt_off : first;
        if (cl->repaired_start >= 0 && cl->repaired_start < scan_from)
            scan_from = cl->repaired_start;
        e = scan_tail(cl, scan_from);
        log_info("store", "commitlog tail scan from=%lld end=%lld", (long long)scan_from,
                 (long long)e);
    }
    /* Cut: zero the rest of the segment holding e, drop later segments. */
    size_t idx = (size_t)((e - first) / cl->seg_bytes);
    if (idx < cl->nsegs && !(trust && e == scan_from)) {
        struct mfile *m = cl->segs[idx];
        int rc = mfile_zero_from(m, e - m->start);
        if (rc == 0)
            rc = mfile_sync(m, e - m->start, m->size);
        if (rc)
            return rc;
    }
    bool deleted = false;
    while (cl->nsegs > idx + 1) {
        struct mfile *m = cl->segs[--cl->nsegs];
        log_warn("store", "deleting commitlog segment past the end start=%lld",
                 (long long)m->start);
        mfile_destroy(m);
        deleted = true;
    }
    if (deleted) {
        int rc = mfile_fsync_dir(cl->dir);
        if (rc)
            return rc;
    }
    cl->cur = idx < cl->nsegs ? cl->segs[idx] : NULL;
    cl->wpos = e;
    atomic_store(&cl->max_off, e);
    atomic_store(&cl->flushed_off, scan_from < e ? scan_from : e);
    atomic_store(&cl->clean_off, atomic_load(&cl->flushed_off));
    *end = e;
    return TERN_OK;
}

/* ---- append ---- */

static int roll(struct commitlog *cl)
{
    int64_t start = cl->wpos;
    struct mfile *m = NULL;
    bool from_spare = false;
    pthread_mutex_lock(&cl->alloc_mu);
    /* Never create the file the alloc thread is creating: wait for it. */
    while (cl->busy_start == start)
        pthread_cond_wait(&cl->alloc_cv, &cl->alloc_mu);
    if (cl->spare && cl->spare->start == start) {
        m = cl->spare;
        cl->spare = NULL;
        from_spare = true;
    } else if (cl->spare) {
        drop_spare(cl, cl->spare);
        cl->spare = NULL;
    }
    /* We create this start ourselves: the alloc thread must not as well. */
    if (!m && cl->want_start >= 0 && cl->want_start <= start)
        cl->want_start = -1;
    pthread_mutex_unlock(&cl->alloc_mu);
    if (!m) {
        int rc = new_segment(cl, start, &m);
        if (rc) {
            log_error("store", "cannot create commitlog segment start=%lld: %s", (long long)start,
                      tern_strerror(rc));
            return rc;
        }
    }
    pthread_rwlock_wrlock(&cl->segs_lock);
    push_seg(cl, m);
    if (cl->nsegs == 1)
        atomic_store(&cl->min_off, m->start);
    pthread_rwlock_unlock(&cl->segs_lock);
    cl->cur = m;
    if (cl->alloc_started) {
        pthread_mutex_lock(&cl->alloc_mu);
        cl->want_start = start + cl->seg_bytes;
        if (from_spare) {
            cl->warm_req = start + CL_WARM_AHEAD; /* warmed when it was made */
        } else {
            cl->warm_seg = m;
            cl->warm_from = start;
            cl->warm_to = start + CL_WARM_AHEAD;
            cl->warm_req = cl->warm_to;
        }
        pthread_cond_signal(&cl->alloc_cv);
        pthread_mutex_unlock(&cl->alloc_mu);
    }
    return TERN_OK;
}

/* Asks the alloc thread to extend the prefault window of the current segment
 * to CL_WARM_AHEAD past the write position (put_lock held; about once per
 * CL_WARM_CHUNK bytes appended). Never waits for the prefault itself. */
static void ask_warm(struct commitlog *cl)
{
    int64_t seg_end = cl->cur->start + cl->seg_bytes;
    int64_t from = cl->warm_req > cl->wpos ? cl->warm_req : cl->wpos;
    int64_t to = cl->wpos + CL_WARM_AHEAD;
    if (to > seg_end)
        to = seg_end;
    cl->warm_req = cl->wpos + CL_WARM_AHEAD;
    if (cl->pool)
        warm_pool_arm(cl->pool); /* messages are coming: keep pages to trade */
    if (from >= to)
        return;
    pthread_mutex_lock(&cl->alloc_mu);
    if (cl->warm_seg != cl->cur)
        cl->warm_from = from; /* else the pending request keeps its start */
    cl->warm_seg = cl->cur;
    cl->warm_to = to;
    pthread_cond_signal(&cl->alloc_cv);
    pthread_mutex_unlock(&cl->alloc_mu);
}

/* pwrite of all len bytes at file position pos; short writes continue. */
static int write_all(int fd, const uint8_t *p, size_t len, int64_t pos)
{
    while (len > 0) {
        ssize_t w = pwrite(fd, p, len, (off_t)pos);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (w == 0)
            return -EIO;
        p += w;
        len -= (size_t)w;
        pos += w;
    }
    return TERN_OK;
}

bool commitlog_fits(const struct commitlog *cl, size_t len)
{
    return cl->cur && (int64_t)len + CL_MIN_BLANK <= cl->cur->start + cl->seg_bytes - cl->wpos;
}

int commitlog_reserve(struct commitlog *cl, size_t len, int64_t *phy)
{
    if ((int64_t)len + CL_MIN_BLANK > cl->seg_bytes)
        return TERN_ETOO_LARGE;
    if (!cl->cur) {
        int rc = roll(cl);
        if (rc)
            return rc;
    }
    int64_t left = cl->cur->start + cl->seg_bytes - cl->wpos;
    if ((int64_t)len + CL_MIN_BLANK > left) {
        uint8_t f[CL_MIN_BLANK];
        be32_store(f, (uint32_t)left);
        be32_store(f + 4, MSG_MAGIC_BLANK);
        int rc = write_all(cl->cur->fd, f, sizeof f, cl->wpos - cl->cur->start);
        if (rc)
            return rc;
        cl->wpos += left;
        commitlog_publish(cl, cl->wpos);
        cl->cur = NULL;
        rc = roll(cl);
        if (rc)
            return rc;
    }
    *phy = cl->wpos;
    cl->wpos += (int64_t)len;
    if (cl->wpos + CL_WARM_AHEAD - CL_WARM_CHUNK > cl->warm_req && cl->alloc_started)
        ask_warm(cl);
    return TERN_OK;
}

int commitlog_write(struct commitlog *cl, int64_t phy, const uint8_t *src, size_t len)
{
    struct mfile *m = cl->cur;
    if (!m || phy < m->start || phy + (int64_t)len > cl->wpos)
        return TERN_EINVALID;
    if (cl->write_mode == CL_WRITE_MMAP) {
        memcpy(m->base + (phy - m->start), src, len);
        return TERN_OK;
    }
    int rc = write_all(m->fd, src, len, phy - m->start);
    if (rc) {
        /* Nothing at or after phy is published: forget the reservation so
         * the next record goes where this one failed (no hole in the log). */
        cl->wpos = phy;
        log_error("store", "commitlog write failed at %lld: %s", (long long)phy, tern_strerror(rc));
    }
    return rc;
}

void commitlog_publish(struct commitlog *cl, int64_t end)
{
    /* The old end is a record boundary; when the new one lies in a later
     * CL_FLUSH_UNIT, it is the last boundary known before that unit. */
    int64_t old = atomic_load_explicit(&cl->max_off, memory_order_relaxed);
    if (end / CL_FLUSH_UNIT != old / CL_FLUSH_UNIT)
        atomic_store_explicit(&cl->unit_mark, old, memory_order_relaxed);
    atomic_store_explicit(&cl->max_off, end, memory_order_release);
}

/* ---- reads ---- */

void commitlog_rdlock(struct commitlog *cl)
{
    pthread_rwlock_rdlock(&cl->segs_lock);
}

void commitlog_unlock(struct commitlog *cl)
{
    pthread_rwlock_unlock(&cl->segs_lock);
}

int commitlog_locate(struct commitlog *cl, int64_t phy, const uint8_t **p, int64_t *avail)
{
    int64_t max = atomic_load_explicit(&cl->max_off, memory_order_acquire);
    if (cl->nsegs == 0 || phy < cl->segs[0]->start || phy >= max)
        return TERN_ENOT_FOUND;
    size_t idx = (size_t)((phy - cl->segs[0]->start) / cl->seg_bytes);
    if (idx >= cl->nsegs)
        return TERN_ENOT_FOUND;
    struct mfile *m = cl->segs[idx];
    int64_t lim = m->start + m->size;
    if (lim > max)
        lim = max;
    *p = m->base + (phy - m->start);
    *avail = lim - phy;
    return TERN_OK;
}

int commitlog_peek(struct commitlog *cl, int64_t pos, const uint8_t **p, int32_t *size,
                   int64_t *next)
{
    int64_t avail;
    *next = pos;
    if (pos >= atomic_load_explicit(&cl->max_off, memory_order_acquire))
        return TERN_ENOT_FOUND;
    if (commitlog_locate(cl, pos, p, &avail) != TERN_OK || avail < 8)
        return TERN_ECORRUPT;
    uint32_t total = be32_load(*p);
    uint32_t magic = be32_load(*p + 4);
    if (magic == MSG_MAGIC_BLANK) {
        *next = commitlog_next_seg_start(cl, pos);
        return TERN_ENOT_FOUND;
    }
    if ((magic != MSG_MAGIC_V1 && magic != MSG_MAGIC_V2) || total < MSG_FIXED_V1_V4 ||
        (int64_t)total > avail)
        return TERN_ECORRUPT;
    *size = (int32_t)total;
    *next = pos + total;
    return TERN_OK;
}

int commitlog_read_record(struct commitlog *cl, int64_t phy, int32_t size, buf_t *out)
{
    const uint8_t *p;
    int32_t total;
    int64_t next;
    commitlog_rdlock(cl);
    int rc = commitlog_peek(cl, phy, &p, &total, &next);
    if (rc == TERN_OK && size > 0 && total != size)
        rc = TERN_ECORRUPT;
    if (rc == TERN_OK)
        buf_append(out, p, (size_t)total);
    commitlog_unlock(cl);
    return rc == TERN_OK ? TERN_OK : TERN_ENOT_FOUND;
}

int64_t commitlog_next_seg_start(const struct commitlog *cl, int64_t phy)
{
    return (phy / cl->seg_bytes + 1) * cl->seg_bytes;
}

/* ---- flush and retention ---- */

int commitlog_sync_range(struct commitlog *cl, int64_t from, int64_t upto)
{
    /* One segment at a time: find it under the lock, sync it without (the
     * caller guarantees [from, upto) is not deleted meanwhile). */
    int err = atomic_load(&cl->sync_err);
    if (err)
        return err;
    int64_t pos = from;
    while (pos < upto) {
        struct mfile *m = NULL;
        commitlog_rdlock(cl);
        if (cl->nsegs && pos >= cl->segs[0]->start) {
            size_t idx = (size_t)((pos - cl->segs[0]->start) / cl->seg_bytes);
            if (idx < cl->nsegs)
                m = cl->segs[idx];
        }
        commitlog_unlock(cl);
        if (!m)
            return TERN_OK; /* past the last segment: nothing written there */
        int64_t end = upto < m->start + m->size ? upto : m->start + m->size;
        int rc = mfile_sync(m, pos - m->start, end - m->start);
        int left = atomic_load(&cl->fail_syncs);
        while (rc == TERN_OK && left > 0 &&
               !atomic_compare_exchange_weak(&cl->fail_syncs, &left, left - 1)) {
        }
        if (rc == TERN_OK && left > 0)
            rc = -EIO;
        if (rc) {
            int none = 0;
            atomic_compare_exchange_strong(&cl->sync_err, &none, rc);
            return rc;
        }
        pos = end;
    }
    return TERN_OK;
}

/* Raises *a to v (never lowers it). */
static void raise_to(_Atomic int64_t *a, int64_t v)
{
    int64_t cur = atomic_load(a);
    while (cur < v && !atomic_compare_exchange_weak(a, &cur, v)) {
    }
}

void commitlog_mark_flushed(struct commitlog *cl, int64_t off)
{
    raise_to(&cl->flushed_off, off);
    raise_to(&cl->clean_off, off);
}

int commitlog_flush(struct commitlog *cl, int64_t upto)
{
    /* In CL_WRITEBACK_CHUNK pieces, so that clean_off (and with it the
     * page-cache window) follows the write-back instead of jumping once per
     * flush: an interval's flush can be most of a GiB and take a second.
     * flushed_off itself moves only to upto, a record boundary. */
    for (int64_t pos = atomic_load(&cl->flushed_off); pos < upto;) {
        int64_t end = upto - pos > CL_WRITEBACK_CHUNK ? pos + CL_WRITEBACK_CHUNK : upto;
        int rc = commitlog_sync_range(cl, pos, end);
        if (rc)
            return rc;
        raise_to(&cl->clean_off, end);
        pos = end;
    }
    commitlog_mark_flushed(cl, upto);
    return TERN_OK;
}

/* The page-cache window's lower edge for a mapping keep of keep bytes:
 * CL_FLUSH_UNIT-aligned, 0 when the window is off or not yet filled. */
static int64_t cache_limit(struct commitlog *cl, int64_t keep)
{
    if (cl->cache_keep <= 0)
        return 0;
    int64_t k = cl->cache_keep > keep ? cl->cache_keep : keep;
    int64_t lim = (atomic_load(&cl->clean_off) - k) & ~(int64_t)(CL_FLUSH_UNIT - 1);
    return lim > 0 ? lim : 0;
}

/* Unmaps and drops from the page cache [at, at + CL_FLUSH_UNIT) of the log,
 * or the part of it in at's segment (lock held). */
static void drop_unit_locked(struct commitlog *cl, int64_t at)
{
    const uint8_t *p;
    int64_t avail;
    if (commitlog_locate(cl, at, &p, &avail) != TERN_OK)
        return;
    struct mfile *m = cl->segs[(size_t)((at - cl->segs[0]->start) / cl->seg_bytes)];
    int64_t n = avail < CL_FLUSH_UNIT ? avail : CL_FLUSH_UNIT;
    (void)madvise((void *)p, (size_t)n, MADV_DONTNEED);
    (void)posix_fadvise(m->fd, at - m->start, n, POSIX_FADV_DONTNEED);
}

/* Alloc thread, just before the prefault makes a new folio: drops the
 * oldest unit of the log still inside the page cache but below the window,
 * and moves cache_floor past it. The kernel keeps a freed 2 MiB page on the
 * freeing CPU's list and hands it to the next 2 MiB allocation there, so
 * the new folio is memory used a moment ago (warm), not memory the guest
 * has given back to its host (a host fault per 4 KiB). Freed in bulk by the
 * flush thread instead, the pages merge into larger free blocks and the
 * next allocations take cold ones first. False when nothing is below the
 * window yet. */
static bool trade_unit(struct commitlog *cl)
{
    int64_t lim = cache_limit(cl, 0);
    int64_t at = atomic_load(&cl->cache_floor);
    if (at + CL_FLUSH_UNIT > lim ||
        !atomic_compare_exchange_strong(&cl->cache_floor, &at, at + CL_FLUSH_UNIT)) {
        if (cl->cache_keep > 0)
            atomic_fetch_add_explicit(&cl->untraded, 1, memory_order_relaxed);
        return false;
    }
    atomic_fetch_add_explicit(&cl->traded, 1, memory_order_relaxed);
    commitlog_rdlock(cl);
    drop_unit_locked(cl, at);
    commitlog_unlock(cl);
    return true;
}

void commitlog_trim_resident(struct commitlog *cl, int64_t keep)
{
    /* The whole range below the limit, not only what is new since the last
     * call: readers catching up from a backlog fault old pages back in. An
     * madvise over unmapped page tables is cheap, and so is a fadvise over
     * an uncached file range. The mapping goes first: the kernel does not
     * drop pages that are mapped. */
    int64_t lim = (atomic_load(&cl->flushed_off) - keep) & ~(int64_t)4095;
    int64_t clim = cache_limit(cl, keep);
    if (clim > 0) {
        int64_t behind = (clim - cl->cache_keep / 2) & ~(int64_t)(CL_FLUSH_UNIT - 1);
        int64_t cur = atomic_load(&cl->cache_floor);
        while (cur < behind && !atomic_compare_exchange_weak(&cl->cache_floor, &cur, behind)) {
        }
        clim = atomic_load(&cl->cache_floor);
    }
    commitlog_rdlock(cl);
    for (size_t i = 0; i < cl->nsegs; i++) {
        struct mfile *m = cl->segs[i];
        if (m->start >= lim && m->start >= clim)
            break;
        int64_t b = lim < m->start + m->size ? lim - m->start : m->size;
        if (b > 0)
            (void)madvise(m->base, (size_t)b, MADV_DONTNEED);
        if (m->start < clim) {
            int64_t c = clim < m->start + m->size ? clim - m->start : m->size;
            (void)madvise(m->base, (size_t)c, MADV_DONTNEED);
            (void)posix_fadvise(m->fd, 0, c, POSIX_FADV_DONTNEED);
        }
    }
    commitlog_unlock(cl);
}

/* read_ahead_fill_fn: populates the mapping over [from, to) in 2 MiB
 * steps (the reader's own fault would make the same folios), taking the
 * segment list's lock per step so that a roll or retention waits one step
 * at most; stops at the end of the log. */
static void populate_range(void *arg, int64_t from, int64_t to, const atomic_bool *stop)
{
    struct commitlog *cl = arg;
    while (from < to && !atomic_load_explicit(stop, memory_order_relaxed)) {
        const uint8_t *p;
        int64_t avail;
        commitlog_rdlock(cl);
        if (commitlog_locate(cl, from, &p, &avail) != TERN_OK) {
            commitlog_unlock(cl);
            return;
        }
        int64_t n = to - from < avail ? to - from : avail;
        if (n > CL_FLUSH_UNIT)
            n = CL_FLUSH_UNIT;
#if defined(MADV_POPULATE_READ)
        (void)madvise((void *)p, (size_t)n, MADV_POPULATE_READ);
#endif
        commitlog_unlock(cl);
        from += n;
    }
}

void commitlog_read_ahead(struct commitlog *cl, int64_t phy)
{
    if (phy >= atomic_load_explicit(&cl->cache_floor, memory_order_relaxed))
        return;
    /* One shared mark: readers of one backlog move through the log together
     * (a consumer's queues are interleaved in it). A reader inside the
     * marked stretch with half a window still ahead of it asks nothing; one
     * near its end extends it; one elsewhere starts a new stretch (the cost
     * of two backlogs read at once is a readahead call over cached pages). */
    int64_t end = atomic_load_explicit(&cl->ra_end, memory_order_relaxed);
    bool inside = phy < end && phy >= end - 2 * CL_READ_AHEAD;
    if (inside && phy + CL_READ_AHEAD / 2 <= end)
        return;
    int64_t from = inside ? end : phy & ~(int64_t)4095;
    int64_t to = (phy + CL_READ_AHEAD + CL_FLUSH_UNIT - 1) & ~(int64_t)(CL_FLUSH_UNIT - 1);
    if (!cl->ra || to <= from || !atomic_compare_exchange_strong(&cl->ra_end, &end, to))
        return; /* no thread, nothing new, or another reader got there first */
    read_ahead_ask(cl->ra, from, to);
}

int commitlog_delete_old(struct commitlog *cl, int64_t older_than_ms, bool force, int64_t limit_off,
                         int max_files)
{
    int k = 0;
    /* Never a segment a flush worker may still be syncing. */
    int64_t floor = atomic_load(&cl->sync_floor);
    if (limit_off > floor)
        limit_off = floor;
    commitlog_rdlock(cl);
    for (size_t i = 0; i + 1 < cl->nsegs && k < max_files; i++) {
        struct mfile *m = cl->segs[i];
        if (m->start + m->size > limit_off)
            break;
        if (!force) {
            struct stat st;
            if (fstat(m->fd, &st) != 0)
                break;
            int64_t mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
            if (mtime_ms >= older_than_ms)
                break;
        }
        k++;
    }
    commitlog_unlock(cl);
    if (k == 0)
        return 0;
    struct mfile **gone = xmalloc((size_t)k * sizeof *gone);
    pthread_rwlock_wrlock(&cl->segs_lock);
    memcpy(gone, cl->segs, (size_t)k * sizeof *gone);
    memmove(cl->segs, cl->segs + k, (cl->nsegs - (size_t)k) * sizeof *cl->segs);
    cl->nsegs -= (size_t)k;
    atomic_store(&cl->min_off, cl->segs[0]->start);
    pthread_rwlock_unlock(&cl->segs_lock);
    for (int i = 0; i < k; i++) {
        log_info("store", "retention deleted commitlog segment start=%lld",
                 (long long)gone[i]->start);
        mfile_destroy(gone[i]);
    }
    free(gone);
    (void)mfile_fsync_dir(cl->dir); /* best effort: a resurrected old segment is harmless */
    return k;
}
