/* SPDX-License-Identifier: Apache-2.0 */
/* sign.h: the Open API request signature (spec/open-api.md §2.4).
 *
 * string-to-sign = the decoded values of every parameter except _signature,
 * concatenated in byte order of their names; signature =
 * base64(HMAC-SHA1(secret, string-to-sign)). Verification compares in
 * constant time. Pure functions, any thread. */
#ifndef TERN_OPENAPI_SIGN_H
#define TERN_OPENAPI_SIGN_H

#include <stdbool.h>

#include "common/buf.h"
#include "common/bytes.h"
#include "openapi/params.h"

/* Base64 of a 20-byte digest: 28 characters. */
#define SIGN_B64_LEN 28

/* Appends the string-to-sign of p to out. */
void sign_string_to_sign(const struct http_params *p, buf_t *out);
/* Writes base64(HMAC-SHA1(secret, msg)) and a NUL into out. */
void sign_hmac_b64(tern_bytes_t secret, tern_bytes_t msg, char out[SIGN_B64_LEN + 1]);
/* True if p's _signature matches the signature computed with secret. The
 * comparison time does not depend on where the values differ. */
bool sign_verify(const struct http_params *p, tern_bytes_t secret);

#endif
