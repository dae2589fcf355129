/* SPDX-License-Identifier: Apache-2.0 */
/* sign.c: HMAC-SHA1 (OpenSSL's SHA-1) and Base64 for request signing (spec §3.3,
 * remoting-protocol §7.2): Signature = Base64(HMAC-SHA1(SecretKey, values of
 * all ext fields sorted by name, then the body)). Pure functions. */
#include <openssl/evp.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "client/client_int.h"

/* The SHA-1 of OpenSSL's default provider, fetched once: an implicit fetch
 * (EVP_sha1()) on every signature would look the provider up each time.
 * Process-wide and immutable after the once-init. */
static pthread_once_t sha1_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha1_md; /* owned for the process lifetime; NULL if the fetch failed */

static void sha1_fetch(void)
{
    sha1_md = EVP_MD_fetch(NULL, "SHA1", NULL);
}

static const EVP_MD *sha1(void)
{
    pthread_once(&sha1_once, sha1_fetch);
    return sha1_md ? sha1_md : EVP_sha1();
}

void cl_sha1(const uint8_t *p, size_t n, uint8_t out[20])
{
    unsigned int len = 0;
    if (!EVP_Digest(p, n, out, &len, sha1(), NULL))
        memset(out, 0, 20);
}

void cl_hmac_sha1(const uint8_t *key, size_t klen, const uint8_t *msg, size_t mlen, uint8_t out[20])
{
    /* RFC 2104 over OpenSSL's SHA-1 (SHA-NI/AVX2 where the CPU has them): the
     * hand-written SHA-1 this replaces took a third of a signing client's
     * CPU at 1 KiB bodies. Out of memory gives an all-zero MAC, which the
     * broker refuses like any wrong signature. */
    uint8_t k[64] = {0};
    if (klen > 64)
        cl_sha1(key, klen, k);
    else if (klen)
        memcpy(k, key, klen);
    uint8_t ipad[64], opad[64];
    for (int i = 0; i < 64; i++) {
        ipad[i] = k[i] ^ 0x36;
        opad[i] = k[i] ^ 0x5c;
    }
    uint8_t inner[EVP_MAX_MD_SIZE];
    unsigned int ilen = 0, olen = 0;
    const EVP_MD *md = sha1();
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = ctx && EVP_DigestInit_ex(ctx, md, NULL) && EVP_DigestUpdate(ctx, ipad, 64) &&
              EVP_DigestUpdate(ctx, msg, mlen) && EVP_DigestFinal_ex(ctx, inner, &ilen) &&
              EVP_DigestInit_ex(ctx, md, NULL) && EVP_DigestUpdate(ctx, opad, 64) &&
              EVP_DigestUpdate(ctx, inner, ilen) && EVP_DigestFinal_ex(ctx, out, &olen) &&
              olen == 20;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        memset(out, 0, 20);
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
