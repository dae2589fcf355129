/* SPDX-License-Identifier: Apache-2.0 */
/* timer_bucket.c: the timer's files under <storePathRootDir>/timer/
 * (byte layouts in docs/design/timer.md): per-minute bucket files of 24-byte
 * entries, appended through a small cache of open descriptors, and the
 * crash-safe progress file (written with persist_write).
 *
 * Timer thread only (and timer_start/timer_stop before/after it runs):
 * blocking I/O (write, fdatasync, unlink) is fine here, never on a loop. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/persist.h"
#include "broker/timer.h"
#include "common/bytes.h"
#include "common/error.h"
#include "common/hash.h"
#include "common/log.h"

#define ENTRY_BYTES    24
#define PROGRESS_MAGIC 0x544D5231u /* "TMR1" */
#define PROGRESS_BYTES 40

static void bucket_path(const struct timer_service *ts, int64_t slot, char *out, size_t n)
{
    snprintf(out, n, "%s/buckets/%020" PRId64, ts->dir, slot * TIMER_BUCKET_MS);
}

static void entry_encode(const struct timer_entry *e, uint8_t out[ENTRY_BYTES])
{
    be64_store(out, (uint64_t)e->due_ms);
    be64_store(out + 8, (uint64_t)e->phy);
    be32_store(out + 16, (uint32_t)e->size);
    be32_store(out + 20, crc32_update(0, out, 20));
}

static bool entry_decode(const uint8_t in[ENTRY_BYTES], struct timer_entry *e)
{
    if (be32_load(in + 20) != crc32_update(0, in, 20))
        return false;
    e->due_ms = (int64_t)be64_load(in);
    e->phy = (int64_t)be64_load(in + 8);
    e->size = (int32_t)be32_load(in + 16);
    return e->phy >= 0 && e->size > 0;
}

/* Closes f; with sync, a dirty file is fdatasync'd first and, if that fails,
 * stays open and dirty (the error is returned) so progress is never saved
 * past its entries. */
static int fd_release(struct timer_fd *f, bool sync)
{
    if (f->fd < 0)
        return TERN_OK;
    if (sync && f->dirty && fdatasync(f->fd) != 0)
        return -errno;
    close(f->fd);
    f->fd = -1;
    f->dirty = false;
    return TERN_OK;
}

static struct timer_fd *fd_get(struct timer_service *ts, int64_t slot)
{
    struct timer_fd *victim = NULL;
    for (int i = 0; i < TIMER_FD_CACHE; i++) {
        struct timer_fd *f = &ts->fds[i];
        if (f->fd >= 0 && f->slot == slot) {
            f->used = ++ts->fd_clock;
            return f;
        }
        if (!victim || f->fd < 0 || (victim->fd >= 0 && f->used < victim->used))
            victim = f;
    }
    int rc = fd_release(victim, true);
    if (rc != TERN_OK) {
        log_error("broker", "timer bucket sync failed: %s", tern_strerror(rc));
        errno = -rc;
        return NULL;
    }
    char path[4200];
    bucket_path(ts, slot, path, sizeof path);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return NULL;
    /* A torn tail (crash mid-append) is cut so new entries stay aligned. */
    off_t end = lseek(fd, 0, SEEK_END);
    if (end > 0 && end % ENTRY_BYTES != 0 && ftruncate(fd, end - end % ENTRY_BYTES) != 0) {
        close(fd);
        return NULL;
    }
    victim->fd = fd;
    victim->slot = slot;
    victim->dirty = false;
    victim->used = ++ts->fd_clock;
    return victim;
}

int timer_bucket_append(struct timer_service *ts, const struct timer_entry *e)
{
    struct timer_fd *f = fd_get(ts, e->due_ms / TIMER_BUCKET_MS);
    if (!f)
        return -errno;
    uint8_t raw[ENTRY_BYTES];
    entry_encode(e, raw);
    ssize_t w = write(f->fd, raw, sizeof raw);
    if (w != (ssize_t)sizeof raw) {
        int err = w < 0 ? -errno : -EIO;
        /* Keep the file (and its dirty flag: earlier entries still need their
         * sync); cut a partial entry so later appends stay aligned. */
        off_t end = lseek(f->fd, 0, SEEK_END);
        if (end > 0 && end % ENTRY_BYTES != 0 && ftruncate(f->fd, end - end % ENTRY_BYTES) != 0)
            log_error("broker", "cannot cut a torn timer bucket entry: %s", strerror(errno));
        f->dirty = true;
        return err;
    }
    f->dirty = true;
    return TERN_OK;
}

int timer_bucket_load(struct timer_service *ts, int64_t slot,
                      void (*fn)(struct timer_service *ts, const struct timer_entry *e))
{
    char path[4200];
    bucket_path(ts, slot, path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? TERN_OK : -errno;
    uint8_t chunk[ENTRY_BYTES * 512];
    size_t have = 0;
    int rc = TERN_OK, bad = 0;
    for (;;) {
        ssize_t r = read(fd, chunk + have, sizeof chunk - have);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            break;
        }
        if (r == 0)
            break;
        have += (size_t)r;
        size_t used = 0;
        for (; used + ENTRY_BYTES <= have; used += ENTRY_BYTES) {
            struct timer_entry e;
            if (entry_decode(chunk + used, &e))
                fn(ts, &e);
            else
                bad++;
        }
        memmove(chunk, chunk + used, have - used);
        have -= used;
    }
    close(fd);
    if (bad)
        log_warn("broker", "timer bucket %s: %d damaged entries skipped", path, bad);
    return rc;
}

int timer_bucket_sync(struct timer_service *ts)
{
    int rc = TERN_OK;
    for (int i = 0; i < TIMER_FD_CACHE; i++) {
        struct timer_fd *f = &ts->fds[i];
        if (f->fd >= 0 && f->dirty) {
            if (fdatasync(f->fd) != 0)
                rc = -errno; /* stays dirty: the progress save is skipped */
            else
                f->dirty = false;
        }
    }
    return rc;
}

void timer_bucket_close_all(struct timer_service *ts)
{
    for (int i = 0; i < TIMER_FD_CACHE; i++) {
        if (fd_release(&ts->fds[i], true) != TERN_OK) {
            log_error("broker", "timer bucket sync at close failed");
            close(ts->fds[i].fd);
            ts->fds[i].fd = -1;
            ts->fds[i].dirty = false;
        }
    }
}

void timer_bucket_unlink_range(struct timer_service *ts, int64_t from, int64_t to)
{
    char path[4200];
    for (int64_t s = from; s < to; s++) {
        for (int i = 0; i < TIMER_FD_CACHE; i++)
            if (ts->fds[i].fd >= 0 && ts->fds[i].slot == s)
                fd_release(&ts->fds[i], false);
        bucket_path(ts, s, path, sizeof path);
        if (unlink(path) != 0 && errno != ENOENT)
            log_warn("broker", "cannot delete timer bucket %s: %s", path, strerror(errno));
    }
}

int64_t timer_bucket_min_slot(struct timer_service *ts)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/buckets", ts->dir);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int64_t min = -1;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        char *end;
        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        long long ms = strtoll(de->d_name, &end, 10);
        if (*end || ms < 0)
            continue;
        int64_t slot = ms / TIMER_BUCKET_MS;
        if (min < 0 || slot < min)
            min = slot;
    }
    closedir(d);
    return min;
}

int timer_progress_load(struct timer_service *ts, int64_t *ingest_off, int64_t *cur_ms,
                        int64_t *cur_phy)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/progress", ts->dir);
    buf_t b;
    buf_init(&b);
    int rc = persist_read(path, &b);
    if (rc == TERN_OK) {
        const uint8_t *p = b.data;
        if (b.len != PROGRESS_BYTES || be32_load(p) != PROGRESS_MAGIC || be32_load(p + 4) != 1 ||
            be32_load(p + 32) != crc32_update(0, p, 32)) {
            rc = TERN_ECORRUPT;
        } else {
            *ingest_off = (int64_t)be64_load(p + 8);
            *cur_ms = (int64_t)be64_load(p + 16);
            *cur_phy = (int64_t)be64_load(p + 24);
        }
    }
    buf_deinit(&b);
    return rc;
}

int timer_progress_save(struct timer_service *ts, int64_t ingest_off, int64_t cur_ms,
                        int64_t cur_phy)
{
    uint8_t p[PROGRESS_BYTES];
    memset(p, 0, sizeof p);
    be32_store(p, PROGRESS_MAGIC);
    be32_store(p + 4, 1);
    be64_store(p + 8, (uint64_t)ingest_off);
    be64_store(p + 16, (uint64_t)cur_ms);
    be64_store(p + 24, (uint64_t)cur_phy);
    be32_store(p + 32, crc32_update(0, p, 32));
    char path[4200];
    snprintf(path, sizeof path, "%s/progress", ts->dir);
    return persist_write(path, tern_bytes(p, sizeof p));
}
