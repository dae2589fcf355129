/* SPDX-License-Identifier: Apache-2.0 */
/* timer_bucket.c: the timer's entry files (bucket files and day indexes, both
 * append-only sequences of 32-byte entries) and the crash-safe progress file
 * (written with persist_write). Byte layouts in docs/design/timer.md.
 *
 * Timer thread only (and timer_start/timer_stop before/after it runs). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "broker/persist.h"
#include "broker/timer.h"
#include "common/bytes.h"
#include "common/error.h"
#include "common/hash.h"
#include "common/log.h"

#define ENTRY_BYTES      32
#define READ_CHUNK       512         /* entries per read() */
#define PROGRESS_MAGIC   0x544D5231u /* "TMR1" */
#define PROGRESS_VERSION 2           /* 2: 32-byte entries, log_off (1 had 24, none) */
#define PROGRESS_BYTES   48

static void entry_encode(const struct timer_entry *e, uint8_t out[ENTRY_BYTES])
{
    be64_store(out, (uint64_t)e->due_ms);
    be64_store(out + 8, (uint64_t)e->phy);
    be64_store(out + 16, (uint64_t)e->data_off);
    be32_store(out + 24, (uint32_t)e->size);
    be32_store(out + 28, crc32_update(0, out, 28));
}

static bool entry_decode(const uint8_t in[ENTRY_BYTES], struct timer_entry *e)
{
    if (be32_load(in + 28) != crc32_update(0, in, 28))
        return false;
    e->due_ms = (int64_t)be64_load(in);
    e->phy = (int64_t)be64_load(in + 8);
    e->data_off = (int64_t)be64_load(in + 16);
    e->size = (int32_t)be32_load(in + 24);
    return e->phy >= 0 && e->size > 0 && e->data_off >= -1;
}

/* Cuts a partial trailing entry (crash mid-append) so appends stay aligned. */
static int cut_torn_tail(int fd)
{
    off_t end = lseek(fd, 0, SEEK_END);
    if (end > 0 && end % ENTRY_BYTES != 0 && ftruncate(fd, end - end % ENTRY_BYTES) != 0)
        return -errno;
    return TERN_OK;
}

int timer_entry_append(struct timer_service *ts, int kind, int64_t slot,
                       const struct timer_entry *e)
{
    struct timer_fd *f = timer_file_get(ts, kind, slot);
    if (!f)
        return -errno;
    if (f->fresh) {
        int rc = cut_torn_tail(f->fd);
        if (rc != TERN_OK)
            return rc;
        f->fresh = false;
    }
    uint8_t raw[ENTRY_BYTES];
    entry_encode(e, raw);
    ssize_t w = write(f->fd, raw, sizeof raw);
    f->dirty = true; /* also on failure: earlier entries still need their sync */
    if (w != (ssize_t)sizeof raw) {
        int err = w < 0 ? -errno : -EIO;
        if (cut_torn_tail(f->fd) != TERN_OK)
            log_error("broker", "cannot cut a torn timer entry: %s", strerror(errno));
        return err;
    }
    return TERN_OK;
}

int timer_entry_read(struct timer_service *ts, int kind, int64_t slot, int64_t *pos,
                     struct timer_entry *out, int max)
{
    char path[4200];
    timer_file_path(ts, kind, slot, path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    uint8_t chunk[ENTRY_BYTES * READ_CHUNK];
    int n = 0, bad = 0, rc = TERN_OK;
    while (n < max) {
        size_t want = (size_t)(max - n) < READ_CHUNK ? (size_t)(max - n) : READ_CHUNK;
        ssize_t r = pread(fd, chunk, want * ENTRY_BYTES, (off_t)(*pos * ENTRY_BYTES));
        if (r < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            break;
        }
        size_t got = (size_t)r / ENTRY_BYTES; /* a torn tail is left alone */
        for (size_t i = 0; i < got; i++) {
            if (entry_decode(chunk + i * ENTRY_BYTES, &out[n]))
                n++;
            else
                bad++;
        }
        *pos += (int64_t)got;
        if (got < want)
            break;
    }
    close(fd);
    if (bad)
        log_warn("broker", "timer file %s: %d damaged entries skipped", path, bad);
    return rc != TERN_OK && n == 0 ? rc : n;
}

int timer_progress_load(struct timer_service *ts, struct timer_progress *out)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/progress", ts->dir);
    buf_t b;
    buf_init(&b);
    int rc = persist_read(path, &b);
    if (rc == TERN_OK) {
        const uint8_t *p = b.data;
        if (b.len != PROGRESS_BYTES || be32_load(p) != PROGRESS_MAGIC ||
            be32_load(p + 4) != PROGRESS_VERSION || be32_load(p + 40) != crc32_update(0, p, 40)) {
            rc = TERN_ECORRUPT;
        } else {
            out->ingest_off = (int64_t)be64_load(p + 8);
            out->cur_ms = (int64_t)be64_load(p + 16);
            out->cur_phy = (int64_t)be64_load(p + 24);
            out->log_off = (int64_t)be64_load(p + 32);
        }
    }
    buf_deinit(&b);
    return rc;
}

int timer_progress_save(struct timer_service *ts, const struct timer_progress *pr)
{
    uint8_t p[PROGRESS_BYTES];
    memset(p, 0, sizeof p);
    be32_store(p, PROGRESS_MAGIC);
    be32_store(p + 4, PROGRESS_VERSION);
    be64_store(p + 8, (uint64_t)pr->ingest_off);
    be64_store(p + 16, (uint64_t)pr->cur_ms);
    be64_store(p + 24, (uint64_t)pr->cur_phy);
    be64_store(p + 32, (uint64_t)pr->log_off);
    be32_store(p + 40, crc32_update(0, p, 40));
    char path[4200];
    snprintf(path, sizeof path, "%s/progress", ts->dir);
    return persist_write(path, tern_bytes(p, sizeof p));
}
