/* SPDX-License-Identifier: Apache-2.0 */
/* read_ahead.h: one thread that brings a stretch of the commit log into the
 * page cache ahead of readers of old messages, so that the reader (an I/O
 * loop serving a pull) finds the pages there instead of waiting for the disk
 * in a page fault (docs/design/store.md, "Page-cache window").
 *
 * The thread runs fill(arg, from, to, stop) for the stretch asked last; an
 * ask while it is busy is kept (one pending stretch: a stretch continuing the
 * pending one extends it, any other replaces it). fill may block on I/O: it
 * runs on this thread only. Threads: read_ahead_ask from any thread. */
#ifndef TERN_STORE_READ_AHEAD_H
#define TERN_STORE_READ_AHEAD_H

#include <stdatomic.h>
#include <stdint.h>

struct read_ahead;

/* Reads [from, to) in; returns early once *stop is set. */
typedef void (*read_ahead_fill_fn)(void *arg, int64_t from, int64_t to, const atomic_bool *stop);

/* Starts the thread (named tern-read-ahead). OUT: *out (owned). */
int read_ahead_new(read_ahead_fill_fn fill, void *arg, struct read_ahead **out);
/* Stops the thread (a fill in progress ends at its next step) and frees.
 * NULL is a no-op. */
void read_ahead_free(struct read_ahead *ra);
/* Asks for [from, to) (from < to); never waits for the fill. */
void read_ahead_ask(struct read_ahead *ra, int64_t from, int64_t to);
/* Stretches filled so far (tests, logs). */
int64_t read_ahead_filled(struct read_ahead *ra);

#endif
