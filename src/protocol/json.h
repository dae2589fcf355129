/* SPDX-License-Identifier: Apache-2.0 */
/* json.h: one lenient JSON reader and a compact writer.
 *
 * The reader accepts what real RocketMQ peers emit (spec §2.3, §6.6): unquoted
 * integer (and identifier) object keys as fastjson writes them, full string
 * escapes with surrogate pairs, and trailing whitespace/newline (CPP). It
 * builds a small tree in a caller arena; depth is capped at
 * TERN_MAX_JSON_DEPTH. Object keys that are themselves objects (fastjson
 * MessageQueue keys) are accepted and kept as their raw text.
 *
 * The writer emits compact JSON, escaping every control character as \u00XX. */
#ifndef TERN_PROTOCOL_JSON_H
#define TERN_PROTOCOL_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/bytes.h"

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

struct json_val {
    enum json_type type;
    bool b;                 /* JSON_BOOL */
    tern_bytes_t str;       /* STRING: unescaped UTF-8 (NUL-terminated copy); NUMBER: raw text */
    size_t n;               /* ARRAY/OBJECT: element count */
    struct json_val *items; /* ARRAY/OBJECT: n values (arena) */
    tern_bytes_t *keys;     /* OBJECT: n keys, unescaped (arena); object-keys as raw text */
};

/* Parses text into a tree allocated in a. TERN_EPROTOCOL on syntax error or
 * trailing garbage, TERN_ETOO_LARGE when nesting exceeds the limit,
 * TERN_ENOMEM when a cannot grow. */
int json_parse(tern_bytes_t text, arena_t *a, struct json_val **out);

/* Object member lookup (last occurrence wins); NULL if absent or not an object. */
const struct json_val *json_get(const struct json_val *obj, const char *key);
/* Typed getters: accept a NUMBER, or a STRING holding a number (CPP sends
 * subVersion as a string). TERN_ENOT_FOUND if absent, TERN_EINVALID otherwise. */
int json_get_i64(const struct json_val *obj, const char *key, int64_t *out);
/* Returns the string (or raw number text) or TERN_BYTES_NULL. */
tern_bytes_t json_get_str(const struct json_val *obj, const char *key);
/* JSON_BOOL value, or a STRING "true"; default when absent. */
bool json_get_bool(const struct json_val *obj, const char *key, bool dflt);
int json_val_i64(const struct json_val *v, int64_t *out);

/* Writer: commas are inserted automatically. Nesting deeper than
 * JW_MAX_DEPTH - 1 would lose comma state; it covers every tree json_parse
 * accepts (TERN_MAX_JSON_DEPTH). */
#define JW_MAX_DEPTH 72
typedef struct {
    buf_t *out; /* borrowed */
    int depth;
    bool need_comma[JW_MAX_DEPTH];
} jw_t;

void jw_init(jw_t *w, buf_t *out);
void jw_obj_begin(jw_t *w);
void jw_obj_end(jw_t *w);
void jw_arr_begin(jw_t *w);
void jw_arr_end(jw_t *w);
/* Object key (must be followed by one value). */
void jw_key(jw_t *w, const char *key);
void jw_key_bytes(jw_t *w, tern_bytes_t key);
void jw_str(jw_t *w, tern_bytes_t s);
void jw_cstr(jw_t *w, const char *s);
void jw_i64(jw_t *w, int64_t v);
void jw_bool(jw_t *w, bool v);
void jw_null(jw_t *w);
/* Inserts pre-encoded JSON text as one value. */
void jw_raw(jw_t *w, tern_bytes_t json);
/* Appends s as a quoted, escaped JSON string to out. */
void json_write_string(buf_t *out, tern_bytes_t s);

#endif
