/* SPDX-License-Identifier: Apache-2.0 */
/* sign.c: HMAC-SHA1 (OpenSSL's SHA-1) and Base64 for request signing (spec §3.3,
 * remoting-protocol §7.2): Signature = Base64(HMAC-SHA1(SecretKey, values of
 * all ext fields sorted by name, then the body)). Pure functions.
 *
 * A client signs every request with one secret, so the key is prepared once
 * (struct cl_hmac_key: the SHA-1 states after the inner and outer pads) and
 * a signature then costs the message's own blocks plus one outer block, with
 * no allocation. That needs a SHA-1 state that can be copied by value, which
 * only OpenSSL's SHA1_* functions offer (EVP contexts are heap objects whose
 * copy allocates); they are deprecated in OpenSSL 3 but present, and use the
 * same SHA-NI/AVX2 block code as EVP. */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "client/client_int.h"

struct cl_hmac_key {
    SHA_CTX in, out; /* after absorbing key^ipad / key^opad */
};

void cl_sha1(const uint8_t *p, size_t n, uint8_t out[20])
{
    SHA1(p, n, out);
}

static void key_init(struct cl_hmac_key *k, const uint8_t *key, size_t klen)
{
    uint8_t kb[64] = {0};
    if (klen > 64)
        SHA1(key, klen, kb);
    else if (klen)
        memcpy(kb, key, klen);
    uint8_t ipad[64], opad[64];
    for (int i = 0; i < 64; i++) {
        ipad[i] = kb[i] ^ 0x36;
        opad[i] = kb[i] ^ 0x5c;
    }
    SHA1_Init(&k->in);
    SHA1_Update(&k->in, ipad, 64);
    SHA1_Init(&k->out);
    SHA1_Update(&k->out, opad, 64);
}

struct cl_hmac_key *cl_hmac_key_new(const char *secret)
{
    struct cl_hmac_key *k = cl_malloc(sizeof *k);
    if (k)
        key_init(k, (const uint8_t *)secret, strlen(secret));
    return k;
}

void cl_hmac_key_free(struct cl_hmac_key *k)
{
    if (k)
        OPENSSL_cleanse(k, sizeof *k);
    free(k);
}

/* Parts shorter than this are gathered before they are hashed: a request's
 * field values are a dozen or more strings of a few bytes, and each
 * SHA1_Update call costs more than copying them. */
#define GATHER_BYTES 512

void cl_hmac_sha1_parts(const struct cl_hmac_key *k, const tern_bytes_t *parts, size_t n,
                        uint8_t out[20])
{
    SHA_CTX c = k->in;
    uint8_t gather[GATHER_BYTES];
    size_t g = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = parts[i].len;
        if (len > sizeof gather - g && g) {
            SHA1_Update(&c, gather, g);
            g = 0;
        }
        if (len >= sizeof gather) {
            SHA1_Update(&c, parts[i].ptr, len);
        } else if (len) {
            memcpy(gather + g, parts[i].ptr, len);
            g += len;
        }
    }
    if (g)
        SHA1_Update(&c, gather, g);
    uint8_t inner[20];
    SHA1_Final(inner, &c);
    c = k->out;
    SHA1_Update(&c, inner, sizeof inner);
    SHA1_Final(out, &c);
}

void cl_hmac_sha1(const uint8_t *key, size_t klen, const uint8_t *msg, size_t mlen, uint8_t out[20])
{
    struct cl_hmac_key k;
    key_init(&k, key, klen);
    tern_bytes_t part = tern_bytes(msg, mlen);
    cl_hmac_sha1_parts(&k, &part, 1, out);
    OPENSSL_cleanse(&k, sizeof k);
}

void cl_base64(const uint8_t *p, size_t n, char *out)
{
    static const char T[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        out[o++] = T[(v >> 18) & 63];
        out[o++] = T[(v >> 12) & 63];
        out[o++] = i + 1 < n ? T[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? T[v & 63] : '=';
    }
    out[o] = '\0';
}
