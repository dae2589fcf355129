/* SPDX-License-Identifier: Apache-2.0 */
/* config.h: table-driven configuration (Java .properties text, RocketMQ keys).
 *
 * A component declares its options once, as an array of struct config_opt
 * (key, type, offsetof into its config struct, default, bounds, help). File
 * loading, "key=value" overrides, defaults, --help and "print effective
 * config" all walk that one table (the idea of Redis's static_configs[]).
 * Strings set through the table are owned by the config struct and freed by
 * config_free_strings(). Not thread-safe: configure before starting threads. */
#ifndef TERN_COMMON_CONFIG_H
#define TERN_COMMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/bytes.h"

enum config_type {
    CFG_STR,  /* char * (owned by the struct) */
    CFG_INT,  /* int, range [min, max] */
    CFG_I64,  /* int64_t, range [min, max] */
    CFG_BOOL, /* bool: "true"/"false" (any case) */
    CFG_ENUM, /* int: index into names[] (case-insensitive names, or the number) */
};

struct config_opt {
    const char *key; /* camelCase RocketMQ name */
    enum config_type type;
    size_t offset;            /* offsetof(struct ..., field) */
    const char *dflt;         /* default as text; NULL for an empty string */
    int64_t min, max;         /* numeric bounds (inclusive) */
    const char *const *names; /* CFG_ENUM: NULL-terminated list */
    const char *help;         /* one line */
};

/* Sets every option to its default. Returns TERN_OK or TERN_ECONFIG (a bad
 * default: a programming error). */
int config_defaults(const struct config_opt *t, size_t n, void *obj);
/* Sets one option from text. TERN_ENOT_FOUND for an unknown key, TERN_ECONFIG
 * for a bad value (err gets a sentence). */
int config_set(const struct config_opt *t, size_t n, void *obj, const char *key, const char *val,
               char *err, size_t errlen);
/* Parses Java .properties text ('#'/'!' comments, key=value, key:value or
 * "key value", backslash continuation and escapes) and sets each key. Unknown
 * keys are counted in *unknown (may be NULL) and otherwise ignored, as the
 * Java broker does. Returns the first bad value's error. */
int config_load_text(const struct config_opt *t, size_t n, void *obj, tern_bytes_t text,
                     int *unknown, char *err, size_t errlen);
/* Reads a file and calls config_load_text. -errno when unreadable. */
int config_load_file(const struct config_opt *t, size_t n, void *obj, const char *path,
                     int *unknown, char *err, size_t errlen);
/* Appends "key=value\n" for every option (the effective config). */
void config_print(const struct config_opt *t, size_t n, const void *obj, buf_t *out);
/* Appends a help text: one line per option with type, default and help. */
void config_help(const struct config_opt *t, size_t n, buf_t *out);
/* Frees the CFG_STR fields and sets them to NULL. */
void config_free_strings(const struct config_opt *t, size_t n, void *obj);
/* Copies src into dst (same struct type): scalars by value, CFG_STR fields
 * duplicated (owned by dst). */
void config_copy(const struct config_opt *t, size_t n, void *dst, const void *src, size_t size);
/* Finds an option by key (case-sensitive), or NULL. */
const struct config_opt *config_find(const struct config_opt *t, size_t n, const char *key);

#endif
