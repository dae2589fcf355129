/* SPDX-License-Identifier: Apache-2.0 */
/* sign.c: HMAC-SHA1 request signatures (see sign.h), on OpenSSL's libcrypto. */
#include "openapi/sign.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define SIGNATURE_PARAM "_signature"

void sign_string_to_sign(const struct http_params *p, buf_t *out)
{
    size_t idx[HTTP_MAX_PARAMS];
    http_params_sorted(p, idx);
    for (size_t i = 0; i < p->n; i++) {
        const struct http_param *prm = &p->items[idx[i]];
        if (tern_bytes_eq_cstr(prm->name, SIGNATURE_PARAM))
            continue;
        buf_append_bytes(out, prm->value);
    }
}

void sign_hmac_b64(tern_bytes_t secret, tern_bytes_t msg, char out[SIGN_B64_LEN + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    static const unsigned char empty[1] = {0};
    /* HMAC() takes a NULL key as "no key"; an empty secret must still sign. */
    HMAC(EVP_sha1(), secret.len ? secret.ptr : empty, (int)secret.len, msg.len ? msg.ptr : empty,
         msg.len, md, &mdlen);
    EVP_EncodeBlock((unsigned char *)out, md, (int)mdlen);
    out[SIGN_B64_LEN] = '\0';
}

bool sign_verify(const struct http_params *p, tern_bytes_t secret)
{
    const struct http_param *sig = NULL;
    for (size_t i = 0; i < p->n; i++)
        if (tern_bytes_eq_cstr(p->items[i].name, SIGNATURE_PARAM))
            sig = &p->items[i];
    if (!sig)
        return false;
    buf_t sts;
    buf_init(&sts);
    sign_string_to_sign(p, &sts);
    char want[SIGN_B64_LEN + 1];
    sign_hmac_b64(secret, buf_view(&sts), want);
    buf_deinit(&sts);
    /* The length of a valid signature is public (always 28); only the bytes
     * are compared in constant time. */
    if (sig->value.len != SIGN_B64_LEN)
        return false;
    return CRYPTO_memcmp(want, sig->value.ptr, SIGN_B64_LEN) == 0;
}
