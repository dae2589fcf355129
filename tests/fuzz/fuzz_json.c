/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_json.c: the lenient JSON reader (json_parse). An accepted document is
 * written back with the jw_* writer and parsed again; both trees must be
 * equal (object keys written as strings, numbers as their raw text). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/json.h"

#define FUZZ_CHECK(cond)      \
    do {                      \
        if (!(cond))          \
            __builtin_trap(); \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void write_val(jw_t *w, const struct json_val *v)
{
    switch (v->type) {
    case JSON_NULL:
        jw_null(w);
        break;
    case JSON_BOOL:
        jw_bool(w, v->b);
        break;
    case JSON_NUMBER:
        jw_raw(w, v->str);
        break;
    case JSON_STRING:
        jw_str(w, v->str);
        break;
    case JSON_ARRAY:
        jw_arr_begin(w);
        for (size_t i = 0; i < v->n; i++)
            write_val(w, &v->items[i]);
        jw_arr_end(w);
        break;
    case JSON_OBJECT:
        jw_obj_begin(w);
        for (size_t i = 0; i < v->n; i++) {
            jw_key_bytes(w, v->keys[i]);
            write_val(w, &v->items[i]);
        }
        jw_obj_end(w);
        break;
    }
}

static void check_eq(const struct json_val *a, const struct json_val *b)
{
    FUZZ_CHECK(a->type == b->type);
    switch (a->type) {
    case JSON_NULL:
        break;
    case JSON_BOOL:
        FUZZ_CHECK(a->b == b->b);
        break;
    case JSON_NUMBER:
    case JSON_STRING:
        FUZZ_CHECK(tern_bytes_eq(a->str, b->str));
        break;
    case JSON_ARRAY:
    case JSON_OBJECT:
        FUZZ_CHECK(a->n == b->n);
        for (size_t i = 0; i < a->n; i++) {
            if (a->type == JSON_OBJECT)
                FUZZ_CHECK(tern_bytes_eq(a->keys[i], b->keys[i]));
            check_eq(&a->items[i], &b->items[i]);
        }
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    if (size)
        memcpy(copy, data, size);
    arena_t a;
    arena_init(&a);
    struct json_val *v = NULL;
    if (json_parse(tern_bytes(copy, size), &a, &v) == TERN_OK) {
        /* The tree must not depend on the input buffer. */
        memset(copy, 0, size);
        buf_t out;
        buf_init(&out);
        jw_t w;
        jw_init(&w, &out);
        write_val(&w, v);
        FUZZ_CHECK(w.depth == 0);
        struct json_val *v2 = NULL;
        FUZZ_CHECK(json_parse(buf_view(&out), &a, &v2) == TERN_OK);
        check_eq(v, v2);
        int64_t x;
        (void)json_get_i64(v, "code", &x);
        (void)json_get_str(v, "topic");
        (void)json_get_bool(v, "unitMode", false);
        buf_deinit(&out);
    }
    arena_deinit(&a);
    free(copy);
    return 0;
}
