/* SPDX-License-Identifier: Apache-2.0 */
/* timer_day.c: the data files of long timers, days/<start ms>.dat. A timer
 * due further ahead than timerDataThresholdSec has its commit-log record
 * copied here once, at ingest, so commit-log retention cannot take it; its
 * entries point at the copy (data_off). The file is an append-only sequence
 * of raw records (the commit-log format, PHYSICALOFFSET still naming the
 * original) and is deleted when the delivery cursor passes the day's end.
 * After a crash a torn copy may sit before later ones: entries name exact
 * offsets, and a copy is checked against its entry before it is delivered.
 *
 * Timer thread only. */
#include <errno.h>
#include <unistd.h>

#include "broker/timer.h"
#include "common/error.h"

int timer_day_put(struct timer_service *ts, int64_t day, tern_bytes_t rec, int64_t *off)
{
    struct timer_fd *f = timer_file_get(ts, TIMER_F_DAY_DAT, day);
    if (!f)
        return -errno;
    off_t end = lseek(f->fd, 0, SEEK_END);
    if (end < 0)
        return -errno;
    size_t done = 0;
    while (done < rec.len) {
        ssize_t w = write(f->fd, rec.ptr + done, rec.len - done);
        if (w < 0 && errno == EINTR)
            continue;
        f->dirty = true;
        if (w <= 0)
            return w < 0 ? -errno : -EIO; /* a partial copy is never referenced */
        done += (size_t)w;
    }
    *off = (int64_t)end;
    return TERN_OK;
}

int timer_day_read(struct timer_service *ts, int64_t day, int64_t off, int32_t size, buf_t *out)
{
    struct timer_fd *f = timer_file_get(ts, TIMER_F_DAY_DAT, day);
    if (!f)
        return errno == ENOENT ? TERN_ENOT_FOUND : -errno;
    size_t base = out->len;
    buf_reserve(out, (size_t)size);
    size_t done = 0;
    while (done < (size_t)size) {
        ssize_t r = pread(f->fd, out->data + base + done, (size_t)size - done,
                          (off_t)(off + (int64_t)done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r < 0 ? -errno : TERN_ENOT_FOUND;
        done += (size_t)r;
    }
    out->len = base + done;
    return TERN_OK;
}
