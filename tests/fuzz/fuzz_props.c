/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_props.c: the message properties string (spec §5.1). Invariants: the
 * normalised copy yields exactly the same pairs, props_get agrees with the
 * last pair of each key, and every yielded pair is a view inside the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/props.h"

#define FUZZ_CHECK(cond)      \
    do {                      \
        if (!(cond))          \
            __builtin_trap(); \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    if (size)
        memcpy(copy, data, size);
    tern_bytes_t p = tern_bytes(copy, size);
    buf_t norm;
    buf_init(&norm);
    props_copy_except(&norm, p, NULL);
    size_t it1 = 0, it2 = 0;
    tern_bytes_t k1, v1, k2, v2;
    while (props_next(p, &it1, &k1, &v1)) {
        FUZZ_CHECK(k1.len > 0 && v1.len > 0);
        FUZZ_CHECK(k1.ptr >= copy && v1.ptr + v1.len <= copy + size);
        FUZZ_CHECK(memchr(k1.ptr, PROP_NAME_SEP, k1.len) == NULL);
        FUZZ_CHECK(memchr(v1.ptr, PROP_PAIR_SEP, v1.len) == NULL);
        FUZZ_CHECK(props_next(buf_view(&norm), &it2, &k2, &v2));
        FUZZ_CHECK(tern_bytes_eq(k1, k2) && tern_bytes_eq(v1, v2));
        /* props_get returns the last value of this key. */
        char key[64];
        if (k1.len < sizeof key && memchr(k1.ptr, 0, k1.len) == NULL) {
            memcpy(key, k1.ptr, k1.len);
            key[k1.len] = '\0';
            tern_bytes_t got, last = v1;
            size_t it3 = it1;
            tern_bytes_t k3, v3;
            while (props_next(p, &it3, &k3, &v3))
                if (tern_bytes_eq(k3, k1))
                    last = v3;
            FUZZ_CHECK(props_get(p, key, &got));
            FUZZ_CHECK(tern_bytes_eq(got, last));
        }
    }
    FUZZ_CHECK(!props_next(buf_view(&norm), &it2, &k2, &v2));
    FUZZ_CHECK(it1 == size);
    (void)props_is_clean(p);
    buf_deinit(&norm);
    free(copy);
    return 0;
}
