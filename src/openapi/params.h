/* SPDX-License-Identifier: Apache-2.0 */
/* params.h: request parameters of the Open API (spec/open-api.md §2.2).
 *
 * The query string and an application/x-www-form-urlencoded body are decoded
 * with form rules (%XX escapes, '+' is a space) and merged into one list.
 * Every decoded name and value is a NUL-terminated copy in the list's arena,
 * so views stay valid until http_params_deinit(). Inputs are untrusted: each
 * length and count is checked against the limits below, and the parser is
 * fuzzed (tests/fuzz/fuzz_http_params.c). Pure, one owner at a time. */
#ifndef TERN_OPENAPI_PARAMS_H
#define TERN_OPENAPI_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/bytes.h"

/* The longest endpoint takes 7 parameters plus 5 common ones; 64 leaves room
 * for the unknown extras a client may sign without making sorting costly. */
#define HTTP_MAX_PARAMS 64
/* Parameter names are short identifiers ("__preventCache" is the longest). */
#define HTTP_MAX_NAME_BYTES 64
/* Remarks and filters are the longest values; 4 KiB bounds what we store. */
#define HTTP_MAX_VALUE_BYTES 4096
/* Raw query string or form body, before decoding. */
#define HTTP_MAX_RAW_BYTES (64 * 1024)

struct http_param {
    tern_bytes_t name;  /* decoded; arena copy, NUL-terminated */
    tern_bytes_t value; /* decoded; arena copy, NUL-terminated */
};

struct http_params {
    size_t n;
    struct http_param items[HTTP_MAX_PARAMS];
    arena_t arena; /* owns every name and value */
};

void http_params_init(struct http_params *p);
void http_params_deinit(struct http_params *p);

/* Decodes one urlencoded text ("a=1&b=x+y") and appends its pairs to p.
 * Empty segments are skipped; a segment without '=' has an empty value; a
 * segment with an empty name is skipped. Errors: TERN_ETOO_LARGE (a limit
 * above), TERN_EPROTOCOL (a bad %XX escape, a NUL byte, invalid UTF-8),
 * TERN_EEXISTS (a name already present: §2.2 rejects repeated names),
 * TERN_ENOMEM (the arena cannot grow). On
 * error p keeps the pairs added before the failing one. */
int http_params_parse(struct http_params *p, tern_bytes_t text);

/* Returns the parameter named name, or else its PascalCase alias (first
 * letter upper-cased, §2.2), or NULL. */
const struct http_param *http_params_get(const struct http_params *p, const char *name);

/* Fills idx[0..p->n) with the indexes of p's items sorted by name in byte
 * order (the signing order of §2.4). */
void http_params_sorted(const struct http_params *p, size_t idx[HTTP_MAX_PARAMS]);

/* Decodes one form-encoded component into out (at least src.len bytes).
 * Returns the decoded length, or -1 on a bad escape. */
long http_form_decode(tern_bytes_t src, uint8_t *out);

/* True if v is well-formed UTF-8 without NUL and without surrogates. */
bool http_utf8_valid(tern_bytes_t v);

#endif
