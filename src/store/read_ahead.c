/* SPDX-License-Identifier: Apache-2.0 */
/* read_ahead.c: the read-ahead thread (read_ahead.h).
 *
 * Why a thread: the kernel's own read-ahead for the log is off (the
 * mappings are MADV_RANDOM, mapped_file.c), a page fault on an uncached 2 MiB
 * folio reads it synchronously, and readahead(2) fills 4 KiB folios that a
 * reader then maps one fault-around at a time (slower than the synchronous
 * faults, measured in bench/RESULTS.md). Populating the mapping here makes
 * the same 2 MiB folios the reader's fault would, while the reader works
 * on the stretch before. State is one pending stretch under mu. */
#include "store/read_ahead.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "common/error.h"
#include "common/xalloc.h"

struct read_ahead {
    read_ahead_fill_fn fill;
    void *arg;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int64_t from, to; /* guarded by mu: the pending stretch (from == to: none) */
    atomic_bool stop;
    _Atomic int64_t filled;
    pthread_t thr;
};

static void *read_ahead_main(void *arg)
{
    pthread_setname_np(pthread_self(), "tern-read-ahead");
    struct read_ahead *ra = arg;
    pthread_mutex_lock(&ra->mu);
    while (!atomic_load(&ra->stop)) {
        if (ra->from >= ra->to) {
            pthread_cond_wait(&ra->cv, &ra->mu);
            continue;
        }
        int64_t from = ra->from, to = ra->to;
        ra->from = ra->to = 0;
        pthread_mutex_unlock(&ra->mu);
        ra->fill(ra->arg, from, to, &ra->stop);
        atomic_fetch_add(&ra->filled, 1);
        pthread_mutex_lock(&ra->mu);
    }
    pthread_mutex_unlock(&ra->mu);
    return NULL;
}

int read_ahead_new(read_ahead_fill_fn fill, void *arg, struct read_ahead **out)
{
    struct read_ahead *ra = xcalloc(1, sizeof *ra);
    ra->fill = fill;
    ra->arg = arg;
    pthread_mutex_init(&ra->mu, NULL);
    pthread_cond_init(&ra->cv, NULL);
    int rc = pthread_create(&ra->thr, NULL, read_ahead_main, ra);
    if (rc) {
        pthread_cond_destroy(&ra->cv);
        pthread_mutex_destroy(&ra->mu);
        free(ra);
        return -rc;
    }
    *out = ra;
    return TERN_OK;
}

void read_ahead_free(struct read_ahead *ra)
{
    if (!ra)
        return;
    pthread_mutex_lock(&ra->mu);
    atomic_store(&ra->stop, true);
    pthread_cond_signal(&ra->cv);
    pthread_mutex_unlock(&ra->mu);
    pthread_join(ra->thr, NULL);
    pthread_cond_destroy(&ra->cv);
    pthread_mutex_destroy(&ra->mu);
    free(ra);
}

void read_ahead_ask(struct read_ahead *ra, int64_t from, int64_t to)
{
    if (from >= to)
        return;
    pthread_mutex_lock(&ra->mu);
    if (ra->from < ra->to && from == ra->to)
        ra->to = to;
    else {
        ra->from = from;
        ra->to = to;
    }
    pthread_cond_signal(&ra->cv);
    pthread_mutex_unlock(&ra->mu);
}

int64_t read_ahead_filled(struct read_ahead *ra)
{
    return atomic_load(&ra->filled);
}
