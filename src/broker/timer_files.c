/* SPDX-License-Identifier: Apache-2.0 */
/* timer_files.c: names of the timer's files under <storePathRootDir>/timer/
 * and the cache of open descriptors every timer file is written and read
 * through (layouts in docs/design/timer.md).
 *
 *   buckets/<20-digit start ms>       entries due in one bucket_ms
 *   days/<20-digit start ms>.idx      entries of a day not yet split
 *   days/<20-digit start ms>.dat      record copies of the day's long timers
 *
 * Timer thread only (and timer_start/timer_stop before/after it runs):
 * blocking I/O is fine here. Evicting a dirty descriptor closes it without a
 * sync and makes the next timer_files_sync() one syncfs() of the file system
 * instead: many files written between two saves (timers spread over many
 * buckets) then cost one call, not an fdatasync each. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/timer.h"
#include "common/error.h"
#include "common/log.h"

static const char *const SUBDIR[] = {"buckets", "days", "days"};
static const char *const SUFFIX[] = {"", ".idx", ".dat"};

static int64_t span_of(const struct timer_service *ts, int kind)
{
    return kind == TIMER_F_BUCKET ? ts->bucket_ms : ts->day_ms;
}

void timer_file_path(const struct timer_service *ts, int kind, int64_t slot, char *out, size_t n)
{
    snprintf(out, n, "%s/%s/%020" PRId64 "%s", ts->dir, SUBDIR[kind], slot * span_of(ts, kind),
             SUFFIX[kind]);
}

/* Closes f; with sync, a dirty file is fdatasync'd first and, if that fails,
 * stays open and dirty (the error is returned) so progress is never saved
 * past its contents. */
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

struct timer_fd *timer_file_get(struct timer_service *ts, int kind, int64_t slot)
{
    struct timer_fd *victim = NULL;
    for (int i = 0; i < TIMER_FD_CACHE; i++) {
        struct timer_fd *f = &ts->fds[i];
        if (f->fd >= 0 && f->slot == slot && f->kind == kind) {
            f->used = ++ts->fd_clock;
            return f;
        }
        if (!victim || f->fd < 0 || (victim->fd >= 0 && f->used < victim->used))
            victim = f;
    }
    if (victim->fd >= 0 && victim->dirty)
        ts->evicted_dirty = true;
    fd_release(victim, false);
    char path[4200];
    timer_file_path(ts, kind, slot, path, sizeof path);
    int fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return NULL;
    victim->fd = fd;
    victim->kind = kind;
    victim->slot = slot;
    victim->dirty = false;
    victim->fresh = true;
    victim->used = ++ts->fd_clock;
    return victim;
}

int timer_files_sync(struct timer_service *ts)
{
    if (ts->evicted_dirty) {
        if (syncfs(ts->dir_fd) != 0)
            return -errno; /* stays set: the progress save is skipped */
        ts->evicted_dirty = false;
        for (int i = 0; i < TIMER_FD_CACHE; i++)
            ts->fds[i].dirty = false;
        return TERN_OK;
    }
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

void timer_files_close_all(struct timer_service *ts)
{
    for (int i = 0; i < TIMER_FD_CACHE; i++) {
        if (fd_release(&ts->fds[i], true) != TERN_OK) {
            log_error("broker", "timer file sync at close failed");
            close(ts->fds[i].fd);
            ts->fds[i].fd = -1;
            ts->fds[i].dirty = false;
        }
    }
}

void timer_files_unlink_range(struct timer_service *ts, int kind, int64_t from, int64_t to)
{
    char path[4200];
    for (int64_t s = from; s < to; s++) {
        for (int i = 0; i < TIMER_FD_CACHE; i++)
            if (ts->fds[i].fd >= 0 && ts->fds[i].slot == s && ts->fds[i].kind == kind)
                fd_release(&ts->fds[i], false);
        timer_file_path(ts, kind, s, path, sizeof path);
        if (unlink(path) != 0 && errno != ENOENT)
            log_warn("broker", "cannot delete timer file %s: %s", path, strerror(errno));
    }
}

int64_t timer_files_min_slot(struct timer_service *ts, int kind)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", ts->dir, SUBDIR[kind]);
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
        if (strcmp(end, SUFFIX[kind]) != 0 || ms < 0)
            continue;
        int64_t slot = ms / span_of(ts, kind);
        if (min < 0 || slot < min)
            min = slot;
    }
    closedir(d);
    return min;
}
