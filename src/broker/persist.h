/* SPDX-License-Identifier: Apache-2.0 */
/* persist.h: crash-safe small-file persistence for the broker's JSON configs
 * (topics.json, subscriptionGroup.json, consumerOffset.json).
 *
 * Write: <file>.tmp, fsync, keep the old file as <file>.bak, rename over
 * <file>, fsync the directory (broker-internals §8.4). Read: <file>, else
 * <file>.bak. Blocking: call from housekeeping or startup, never a loop. */
#ifndef TERN_BROKER_PERSIST_H
#define TERN_BROKER_PERSIST_H

#include "common/buf.h"
#include "common/bytes.h"

/* Returns TERN_OK or -errno. The file gets mode 0644. */
int persist_write(const char *path, tern_bytes_t data);
/* persist_write with the file mode (0600 for files holding secrets). */
int persist_write_mode(const char *path, tern_bytes_t data, unsigned mode);
/* Appends the content to out. TERN_ENOT_FOUND when neither file exists or
 * both are empty; -errno on read errors. */
int persist_read(const char *path, buf_t *out);
/* mkdir -p. Returns TERN_OK or -errno. */
int persist_mkdirs(const char *dir);

#endif
