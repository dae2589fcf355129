/* SPDX-License-Identifier: Apache-2.0 */
/* mapped_file.c: create, map, sync, zero and list fixed-size store files (see
 * mapped_file.h). Files are preallocated with posix_fallocate so that writes
 * through the mapping never hit ENOSPC as SIGBUS, and mapped whole. */
#include "store/mapped_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/xalloc.h"

#define PAGE_BYTES 4096

void mfile_name(char *out, size_t cap, const char *dir, int64_t start)
{
    snprintf(out, cap, "%s/%020" PRId64, dir, start);
}

/* Advice for store file mappings: no read-around (MADV_RANDOM) for any of
 * them; without it a fault into new file space zero-fills a whole readahead
 * window (8 MiB on the machine here) at once, a stall of 13-18 ms for
 * whichever thread takes it. Folio size (docs/design/store.md):
 * - large (MADV_HUGEPAGE, the default at map time): one 2 MiB folio per
 *   fault; fewer, cheaper faults for an appender writing through the mapping.
 * - small (MADV_NOHUGEPAGE): 4 KiB folios, for files whose tail is written
 *   back often. Writeback writes a dirty folio whole once the mapping has
 *   dirtied it, so every consume-queue flush wrote the 2 MiB folio holding
 *   each queue's tail (256 queues at 1,000 msgs/s: 389-416 MB/s written,
 *   10 MB/s with small folios); and ext4's buffered write walks every 4 KiB
 *   block of the folio it copies into, which cost the pwrite-written log of
 *   SYNC_FLUSH 12-19 % of its sends.
 * Advice only: failures are ignored. */
static void advise(void *p, int64_t size, enum mfile_folios folios)
{
#if defined(MADV_HUGEPAGE) && defined(MADV_NOHUGEPAGE)
    (void)madvise(p, (size_t)size, folios == MFILE_FOLIOS_SMALL ? MADV_NOHUGEPAGE : MADV_HUGEPAGE);
#else
    (void)folios;
#endif
    (void)madvise(p, (size_t)size, MADV_RANDOM);
}

void mfile_advise(struct mfile *m, enum mfile_folios folios)
{
    advise(m->base, m->size, folios);
}

static int map_fd(const char *path, int fd, int64_t start, int64_t size, struct mfile **out)
{
    void *p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        int e = -errno;
        close(fd);
        return e;
    }
    advise(p, size, MFILE_FOLIOS_LARGE);
    struct mfile *m = xcalloc(1, sizeof *m);
    m->path = xstrdup(path);
    m->fd = fd;
    m->base = p;
    m->start = start;
    m->size = size;
    *out = m;
    return TERN_OK;
}

int mfile_create(const char *dir, int64_t start, int64_t size, bool preallocate, struct mfile **out)
{
    char path[4096];
    mfile_name(path, sizeof path, dir, start);
    return mfile_create_path(path, start, size, preallocate, out);
}

int mfile_create_path(const char *path, int64_t start, int64_t size, bool preallocate,
                      struct mfile **out)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) != 0 || (st.st_size != 0 && st.st_size != size)) {
        close(fd);
        return TERN_ECORRUPT;
    }
    int rc = 0;
    if (preallocate) {
        rc = posix_fallocate(fd, 0, size);
        if (rc == EOPNOTSUPP || rc == EINVAL)
            rc = ftruncate(fd, size) == 0 ? 0 : errno;
    } else if (st.st_size != size) {
        rc = ftruncate(fd, size) == 0 ? 0 : errno;
    }
    if (rc != 0) {
        close(fd);
        if (st.st_size == 0)
            unlink(path);
        return -rc;
    }
    return map_fd(path, fd, start, size, out);
}

int mfile_open(const char *dir, int64_t start, int64_t size, struct mfile **out, bool *was_short)
{
    char path[4096];
    mfile_name(path, sizeof path, dir, start);
    return mfile_open_path(path, start, size, out, was_short);
}

int mfile_open_path(const char *path, int64_t start, int64_t size, struct mfile **out,
                    bool *was_short)
{
    *was_short = false;
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    if (st.st_size > size) {
        close(fd);
        return TERN_ECORRUPT;
    }
    if (st.st_size < size) {
        *was_short = true;
        int rc = posix_fallocate(fd, 0, size);
        if (rc != 0 && ftruncate(fd, size) != 0) {
            rc = errno;
            close(fd);
            return -rc;
        }
    }
    return map_fd(path, fd, start, size, out);
}

void mfile_close(struct mfile *m)
{
    if (!m)
        return;
    munmap(m->base, (size_t)m->size);
    close(m->fd);
    free(m->path);
    free(m);
}

void mfile_destroy(struct mfile *m)
{
    if (!m)
        return;
    unlink(m->path);
    mfile_close(m);
}

int mfile_sync(struct mfile *m, int64_t from, int64_t to)
{
    if (from < 0)
        from = 0;
    if (to > m->size)
        to = m->size;
    if (to <= from)
        return TERN_OK;
    int64_t a = from & ~(int64_t)(PAGE_BYTES - 1);
    if (msync(m->base + a, (size_t)(to - a), MS_SYNC) != 0)
        return -errno;
    return TERN_OK;
}

static bool page_is_zero(const uint8_t *p, size_t n)
{
    static const uint8_t zeros[256];
    for (size_t i = 0; i < n; i += sizeof zeros) {
        size_t k = n - i < sizeof zeros ? n - i : sizeof zeros;
        if (memcmp(p + i, zeros, k) != 0)
            return false;
    }
    return true;
}

int mfile_zero_from(struct mfile *m, int64_t pos)
{
    if (pos < 0 || pos >= m->size)
        return TERN_OK;
    int64_t aligned = (pos + PAGE_BYTES - 1) & ~(int64_t)(PAGE_BYTES - 1);
    if (aligned > m->size)
        aligned = m->size;
    memset(m->base + pos, 0, (size_t)(aligned - pos));
    if (aligned >= m->size)
        return TERN_OK;
    /* Let the file system zero whole extents: no page is read or dirtied. */
    if (fallocate(m->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, aligned, m->size - aligned) ==
        0)
        return TERN_OK;
    for (int64_t p = aligned; p < m->size; p += PAGE_BYTES) {
        size_t n = (size_t)(m->size - p < PAGE_BYTES ? m->size - p : PAGE_BYTES);
        if (!page_is_zero(m->base + p, n))
            memset(m->base + p, 0, n);
    }
    return TERN_OK;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

int mfile_list(const char *dir, int64_t **starts, size_t *n)
{
    *starts = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? TERN_OK : -errno;
    size_t cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *s = e->d_name;
        if (strlen(s) != 20)
            continue;
        int64_t v = 0;
        bool ok = true;
        for (int i = 0; i < 20 && ok; i++) {
            if (s[i] < '0' || s[i] > '9')
                ok = false;
            else if (v > (INT64_MAX - 9) / 10)
                ok = false;
            else
                v = v * 10 + (s[i] - '0');
        }
        if (!ok)
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            *starts = xrealloc(*starts, cap * sizeof **starts);
        }
        (*starts)[(*n)++] = v;
    }
    closedir(d);
    if (*n)
        qsort(*starts, *n, sizeof **starts, cmp_i64);
    return TERN_OK;
}

int mfile_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) == 0 ? TERN_OK : -errno;
    close(fd);
    return rc;
}

static int mkdirs(const char *path, bool sync)
{
    char tmp[4096];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof tmp)
        return TERN_EINVALID;
    memcpy(tmp, path, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (tmp[i] == '/' || tmp[i] == '\0') {
            char c = tmp[i];
            tmp[i] = '\0';
            if (mkdir(tmp, 0755) == 0) {
                /* A new directory's entry lives in its parent. */
                char *slash = strrchr(tmp, '/');
                if (sync && slash && slash != tmp) {
                    *slash = '\0';
                    int rc = mfile_fsync_dir(tmp);
                    *slash = '/';
                    if (rc)
                        return rc;
                }
            } else if (errno != EEXIST) {
                return -errno;
            }
            tmp[i] = c;
        }
    }
    return TERN_OK;
}

int mfile_mkdirs(const char *path)
{
    return mkdirs(path, true);
}

int mfile_mkdirs_lazy(const char *path)
{
    return mkdirs(path, false);
}
