/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_http_params.c: the Open API parameter parser (src/openapi/params.c).
 * The first byte picks where the input is split into "query" and "body".
 * Invariants: every accepted name and value is valid UTF-8 without NUL and
 * within its limit, names are unique, the count stays within the limit,
 * lookups find each name, and the string-to-sign is exactly the values in
 * sorted-name order without _signature. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "openapi/params.h"
#include "openapi/sign.h"

#define FUZZ_CHECK(cond)      \
    do {                      \
        if (!(cond))          \
            __builtin_trap(); \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t split = data[0] % (size);
    const uint8_t *in = data + 1;
    size_t n = size - 1;
    if (split > n)
        split = n;
    struct http_params p;
    http_params_init(&p);
    int rc = http_params_parse(&p, tern_bytes(in, split));
    if (rc == TERN_OK)
        rc = http_params_parse(&p, tern_bytes(in + split, n - split));
    FUZZ_CHECK(rc == TERN_OK || rc == TERN_EPROTOCOL || rc == TERN_ETOO_LARGE ||
               rc == TERN_EEXISTS);
    FUZZ_CHECK(p.n <= HTTP_MAX_PARAMS);
    size_t total = 0;
    for (size_t i = 0; i < p.n; i++) {
        const struct http_param *a = &p.items[i];
        FUZZ_CHECK(a->name.len > 0 && a->name.len <= HTTP_MAX_NAME_BYTES);
        FUZZ_CHECK(a->value.len <= HTTP_MAX_VALUE_BYTES);
        FUZZ_CHECK(http_utf8_valid(a->name) && http_utf8_valid(a->value));
        FUZZ_CHECK(a->name.ptr[a->name.len] == '\0' && a->value.ptr[a->value.len] == '\0');
        for (size_t j = 0; j < i; j++)
            FUZZ_CHECK(!tern_bytes_eq(a->name, p.items[j].name));
        FUZZ_CHECK(http_params_get(&p, (const char *)a->name.ptr) == a);
        if (!tern_bytes_eq_cstr(a->name, "_signature"))
            total += a->value.len;
    }
    size_t idx[HTTP_MAX_PARAMS];
    http_params_sorted(&p, idx);
    for (size_t i = 1; i < p.n; i++) {
        tern_bytes_t x = p.items[idx[i - 1]].name, y = p.items[idx[i]].name;
        size_t m = x.len < y.len ? x.len : y.len;
        int c = memcmp(x.ptr, y.ptr, m);
        FUZZ_CHECK(c < 0 || (c == 0 && x.len < y.len));
    }
    buf_t sts;
    buf_init(&sts);
    sign_string_to_sign(&p, &sts);
    FUZZ_CHECK(sts.len == total);
    (void)sign_verify(&p, tern_cstr("secret"));
    buf_deinit(&sts);
    http_params_deinit(&p);
    return 0;
}
