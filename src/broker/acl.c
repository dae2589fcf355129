/* SPDX-License-Identifier: Apache-2.0 */
/* acl.c: the credentials file and the per-request signature check
 * (remoting-protocol.md §7.2-7.4, docs/design/acl.md).
 *
 * The check sorts the ext fields by name in a stack array of indices, feeds
 * the values and the body straight into HMAC-SHA1 (no content buffer), and
 * compares the Base64 result with CRYPTO_memcmp. The HMAC context is kept per
 * thread (a pthread key frees it at thread exit), so after a loop thread's
 * first request the check allocates nothing. Accounts are sorted by access
 * key and found by binary search. */
#include "broker/acl.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/xalloc.h"

/* Requests with at most this many ext fields sort on the stack. */
#define SORT_STACK_FIELDS 64
/* Clients up to this version add _UNIQUE_KEY_QUERY after signing (§7.2). */
#define UNIQUE_KEY_QUERY_MAX_VERSION 399
/* Longest access key quoted back in a remark. */
#define REMARK_KEY_MAX 64

struct acl_account {
    char *access_key; /* owned */
    char *secret_key; /* owned */
    bool admin;
};

struct acl {
    struct acl_account *accounts; /* owned array, sorted by access_key */
    size_t n;
};

/* ---- credentials file -------------------------------------------------- */

static bool is_space(uint8_t ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\f' || ch == '\v';
}

/* Splits line into up to max whitespace-separated tokens; returns how many
 * there are (which may exceed max). */
static size_t split(tern_bytes_t line, tern_bytes_t *tok, size_t max)
{
    size_t n = 0, i = 0;
    while (i < line.len) {
        while (i < line.len && is_space(line.ptr[i]))
            i++;
        if (i == line.len)
            break;
        size_t start = i;
        while (i < line.len && !is_space(line.ptr[i]))
            i++;
        if (n < max)
            tok[n] = tern_bytes(line.ptr + start, i - start);
        n++;
    }
    return n;
}

static char *dup_bytes(tern_bytes_t b)
{
    char *s = xmalloc(b.len + 1);
    memcpy(s, b.ptr, b.len);
    s[b.len] = '\0';
    return s;
}

static int cmp_account(const void *x, const void *y)
{
    return strcmp(((const struct acl_account *)x)->access_key,
                  ((const struct acl_account *)y)->access_key);
}

int acl_parse(tern_bytes_t text, struct acl **out, char *err, size_t errlen)
{
    struct acl *a = xcalloc(1, sizeof *a);
    size_t cap = 0, lineno = 0, pos = 0;
    while (pos < text.len) {
        const uint8_t *nl = memchr(text.ptr + pos, '\n', text.len - pos);
        size_t end = nl ? (size_t)(nl - text.ptr) : text.len;
        tern_bytes_t line = tern_bytes(text.ptr + pos, end - pos);
        pos = end + 1;
        lineno++;
        tern_bytes_t tok[3];
        size_t ntok = split(line, tok, 3);
        if (ntok == 0 || tok[0].ptr[0] == '#')
            continue;
        if (ntok < 2 || ntok > 3 || (ntok == 3 && !tern_bytes_eq_cstr(tok[2], "admin"))) {
            snprintf(err, errlen, "line %zu: expected \"accessKey secretKey [admin]\"", lineno);
            acl_free(a);
            return TERN_ECONFIG;
        }
        if (a->n == cap) {
            cap = cap ? cap * 2 : 8;
            struct acl_account *grown = xcalloc(cap, sizeof *grown);
            if (a->n)
                memcpy(grown, a->accounts, a->n * sizeof *grown);
            free(a->accounts);
            a->accounts = grown;
        }
        struct acl_account *acc = &a->accounts[a->n++];
        acc->access_key = dup_bytes(tok[0]);
        acc->secret_key = dup_bytes(tok[1]);
        acc->admin = ntok == 3;
    }
    if (a->n == 0) {
        snprintf(err, errlen, "no account (expected lines \"accessKey secretKey [admin]\")");
        acl_free(a);
        return TERN_ECONFIG;
    }
    qsort(a->accounts, a->n, sizeof *a->accounts, cmp_account);
    for (size_t i = 1; i < a->n; i++) {
        if (strcmp(a->accounts[i - 1].access_key, a->accounts[i].access_key) == 0) {
            snprintf(err, errlen, "access key %s is listed twice", a->accounts[i].access_key);
            acl_free(a);
            return TERN_ECONFIG;
        }
    }
    *out = a;
    return TERN_OK;
}

/* Appends the content of path to text. */
static int read_file(const char *path, buf_t *text, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(e));
        return -e;
    }
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_append(text, chunk, n);
    int rc = ferror(f) ? -EIO : TERN_OK;
    fclose(f);
    if (rc != TERN_OK)
        snprintf(err, errlen, "cannot read %s", path);
    return rc;
}

int acl_load_with_admin(const char *path, const char *admin_ak, const char *admin_sk,
                        struct acl **out, char *err, size_t errlen)
{
    buf_t text;
    buf_init(&text);
    int rc = path && *path ? read_file(path, &text, err, errlen) : TERN_OK;
    if (rc == TERN_OK && admin_ak && *admin_ak) {
        /* The admin account as one more line of the same format. */
        buf_append(&text, "\n", 1);
        buf_append(&text, admin_ak, strlen(admin_ak));
        buf_append(&text, " ", 1);
        buf_append(&text, admin_sk ? admin_sk : "", admin_sk ? strlen(admin_sk) : 0);
        buf_append(&text, " admin\n", 7);
    }
    if (rc == TERN_OK)
        rc = acl_parse(tern_bytes(text.data, text.len), out, err, errlen);
    if (text.len)
        OPENSSL_cleanse(text.data, text.len);
    buf_deinit(&text);
    return rc;
}

int acl_load_file(const char *path, struct acl **out, char *err, size_t errlen)
{
    return acl_load_with_admin(path, NULL, NULL, out, err, errlen);
}

void acl_free(struct acl *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n; i++) {
        /* Secrets do not outlive the table in freed heap memory. */
        OPENSSL_cleanse(a->accounts[i].secret_key, strlen(a->accounts[i].secret_key));
        free(a->accounts[i].secret_key);
        free(a->accounts[i].access_key);
    }
    free(a->accounts);
    free(a);
}

size_t acl_count(const struct acl *a)
{
    return a->n;
}

static int cmp_bytes(tern_bytes_t x, tern_bytes_t y)
{
    size_t n = x.len < y.len ? x.len : y.len;
    int c = n ? memcmp(x.ptr, y.ptr, n) : 0;
    return c ? c : (x.len > y.len) - (x.len < y.len);
}

bool acl_lookup(const struct acl *a, tern_bytes_t access_key, tern_bytes_t *secret, bool *admin)
{
    size_t lo = 0, hi = a->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_bytes(access_key, tern_cstr(a->accounts[mid].access_key));
        if (c == 0) {
            *secret = tern_cstr(a->accounts[mid].secret_key);
            *admin = a->accounts[mid].admin;
            return true;
        }
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return false;
}

/* ---- signature --------------------------------------------------------- */

static pthread_once_t g_mac_once = PTHREAD_ONCE_INIT;
static pthread_key_t g_mac_key; /* set once; each thread's EVP_MAC_CTX */

static void mac_ctx_free(void *p)
{
    EVP_MAC_CTX_free(p);
}

static void mac_key_create(void)
{
    (void)pthread_key_create(&g_mac_key, mac_ctx_free);
}

/* This thread's HMAC-SHA1 context, created on first use. NULL on failure. */
static EVP_MAC_CTX *thread_mac(void)
{
    pthread_once(&g_mac_once, mac_key_create);
    EVP_MAC_CTX *m = pthread_getspecific(g_mac_key);
    if (m)
        return m;
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (!mac)
        return NULL;
    m = EVP_MAC_CTX_new(mac);
    EVP_MAC_free(mac); /* the context keeps its own reference */
    if (!m)
        return NULL;
    char digest[] = "SHA1";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    if (!EVP_MAC_CTX_set_params(m, params) || pthread_setspecific(g_mac_key, m) != 0) {
        EVP_MAC_CTX_free(m);
        return NULL;
    }
    return m;
}

static bool signed_field(const struct rcmd *cmd, tern_bytes_t key)
{
    if (tern_bytes_eq_cstr(key, "Signature"))
        return false;
    if (cmd->version <= UNIQUE_KEY_QUERY_MAX_VERSION &&
        tern_bytes_eq_cstr(key, "_UNIQUE_KEY_QUERY"))
        return false;
    return true;
}

int acl_sign(const struct rcmd *cmd, tern_bytes_t secret, char out[ACL_SIG_LEN + 1])
{
    EVP_MAC_CTX *m = thread_mac();
    if (!m || !EVP_MAC_init(m, secret.ptr, secret.len, NULL))
        return TERN_ENOMEM;
    uint16_t stack[SORT_STACK_FIELDS];
    uint16_t *idx = cmd->nfields <= SORT_STACK_FIELDS ? stack : xmalloc(cmd->nfields * sizeof *idx);
    size_t n = 0;
    /* Insertion sort of the signed fields by key (code-unit order, §7.2):
     * headers have a few dozen fields at most. */
    for (size_t i = 0; i < cmd->nfields && i <= UINT16_MAX; i++) {
        tern_bytes_t key = cmd->fields[i].key;
        if (!signed_field(cmd, key))
            continue;
        size_t j = n++;
        while (j > 0 && cmp_bytes(cmd->fields[idx[j - 1]].key, key) > 0) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = (uint16_t)i;
    }
    int ok = 1;
    for (size_t i = 0; ok && i < n; i++) {
        tern_bytes_t v = cmd->fields[idx[i]].val;
        if (v.len)
            ok = EVP_MAC_update(m, v.ptr, v.len);
    }
    if (ok && cmd->body.len)
        ok = EVP_MAC_update(m, cmd->body.ptr, cmd->body.len);
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t maclen = 0;
    if (ok)
        ok = EVP_MAC_final(m, mac, &maclen, sizeof mac);
    if (idx != stack)
        free(idx);
    if (!ok || maclen != 20)
        return TERN_ENOMEM;
    EVP_EncodeBlock((unsigned char *)out, mac, 20);
    out[ACL_SIG_LEN] = '\0';
    return TERN_OK;
}

/* ---- check ------------------------------------------------------------- */

bool acl_signature_ok(const struct rcmd *cmd, tern_bytes_t secret)
{
    tern_bytes_t sig = rcmd_get(cmd, "Signature");
    char want[ACL_SIG_LEN + 1];
    return sig.len == ACL_SIG_LEN && acl_sign(cmd, secret, want) == TERN_OK &&
           CRYPTO_memcmp(want, sig.ptr, ACL_SIG_LEN) == 0;
}

bool acl_check(const struct acl *a, const struct rcmd *cmd, bool admin_only, char *remark,
               size_t remark_len)
{
    tern_bytes_t ak = rcmd_get(cmd, "AccessKey");
    if (ak.len == 0) {
        /* Absent, or empty as CPP sends it without credentials: anonymous. */
        snprintf(remark, remark_len, "No accessKey is configured");
        return false;
    }
    int akn = ak.len > REMARK_KEY_MAX ? REMARK_KEY_MAX : (int)ak.len;
    tern_bytes_t secret;
    bool admin;
    if (!acl_lookup(a, ak, &secret, &admin)) {
        snprintf(remark, remark_len, "No acl config for %.*s", akn, (const char *)ak.ptr);
        return false;
    }
    if (!acl_signature_ok(cmd, secret)) {
        snprintf(remark, remark_len, "Check signature failed for accessKey=%.*s", akn,
                 (const char *)ak.ptr);
        return false;
    }
    if (admin_only && !admin) {
        snprintf(remark, remark_len,
                 "accessKey=%.*s is not an admin account: request code %d needs admin", akn,
                 (const char *)ak.ptr, (int)cmd->code);
        return false;
    }
    return true;
}
