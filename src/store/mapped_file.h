/* SPDX-License-Identifier: Apache-2.0 */
/* mapped_file.h: one fixed-size, preallocated, mmapped store file (a commit-log
 * or consume-queue segment, named by the 20-digit decimal offset of its first
 * byte in the queue's byte space, or an index file, named by time).
 *
 * Invariant: base maps exactly size bytes of fd, read/write, MAP_SHARED,
 * advised MADV_RANDOM and for large or small folios (mfile_advise; large
 * unless the owner chose small right after mapping; why: mapped_file.c).
 * Threads: an mfile has no lock of its own; the owning queue's lock says who
 * may map, write and unmap it (see commitlog.h, consume_queue.h). */
#ifndef TERN_STORE_MAPPED_FILE_H
#define TERN_STORE_MAPPED_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mfile {
    char *path;    /* owned */
    int fd;        /* owned */
    uint8_t *base; /* owned mapping of size bytes */
    int64_t start; /* offset of the first byte in the queue's space */
    int64_t size;
};

/* Page-cache folio size of a mapping's faults (see mapped_file.c). */
enum mfile_folios { MFILE_FOLIOS_LARGE, MFILE_FOLIOS_SMALL };
/* Bytes of one large folio (a PMD-mapped huge page on x86-64). */
#define MFILE_LARGE_FOLIO_BYTES (2 * 1024 * 1024)

/* Writes "<dir>/<20-digit start>" into out (cap bytes). */
void mfile_name(char *out, size_t cap, const char *dir, int64_t start);
/* Creates (or reuses a same-sized) file, preallocates it with posix_fallocate
 * when preallocate is true (else sparse), maps it. OUT: *out (owned). */
int mfile_create(const char *dir, int64_t start, int64_t size, bool preallocate,
                 struct mfile **out);
/* Maps an existing file. A file shorter than size is extended with zeros
 * (*was_short set); longer is TERN_ECORRUPT. OUT: *out, *was_short. */
int mfile_open(const char *dir, int64_t start, int64_t size, struct mfile **out, bool *was_short);
/* The same with an explicit path (index files are named by time). */
int mfile_create_path(const char *path, int64_t start, int64_t size, bool preallocate,
                      struct mfile **out);
int mfile_open_path(const char *path, int64_t start, int64_t size, struct mfile **out,
                    bool *was_short);
/* Advises m's mapping for folios (before anything faults it in, to take
 * effect for all of it). Advice only. */
void mfile_advise(struct mfile *m, enum mfile_folios folios);
/* Unmaps and closes. NULL is a no-op. */
void mfile_close(struct mfile *m);
/* Unmaps, closes and unlinks the file. NULL is a no-op. */
void mfile_destroy(struct mfile *m);
/* msync(MS_SYNC) of the page-aligned cover of [from, to) (file positions). */
int mfile_sync(struct mfile *m, int64_t from, int64_t to);
/* Makes bytes [pos, size) zero, cheaply when the file system can
 * (FALLOC_FL_ZERO_RANGE), else by clearing the non-zero pages. */
int mfile_zero_from(struct mfile *m, int64_t pos);
/* fsyncs a directory, so entries created or unlinked in it are durable. */
int mfile_fsync_dir(const char *dir);
/* Lists the 20-digit names in dir as sorted start offsets. OUT: *starts
 * (owned, free()), *n. A missing dir gives n = 0. */
int mfile_list(const char *dir, int64_t **starts, size_t *n);
/* mkdir -p (mode 0755); fsyncs the parent of every directory it creates. */
int mfile_mkdirs(const char *path);
/* mkdir -p without the fsyncs (the caller makes the entries durable later). */
int mfile_mkdirs_lazy(const char *path);

#endif
