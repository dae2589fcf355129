/* SPDX-License-Identifier: Apache-2.0 */
/* tls.c: OpenSSL contexts and non-blocking TLS on connections.
 *
 * SSL objects read and write the socket themselves (an fd BIO); the
 * handshake runs inside the first SSL_read (server) or SSL_write (client).
 * Partial writes and moving write buffers are enabled because conn->out may
 * grow (and move) between a WANT_WRITE and the retry. Loop thread only,
 * except the context functions. See docs/design/remoting.md (TLS). */
#include "remoting/tls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "common/error.h"
#include "common/log.h"
#include "common/alloc.h"

struct rtls {
    SSL_CTX *ctx; /* owned */
};

int rtls_mode_parse(const char *s, enum rtls_mode *out)
{
    static const char *const NAMES[] = {"disabled", "permissive", "enforcing"};
    for (int i = 0; i < 3; i++) {
        if (s && strcasecmp(s, NAMES[i]) == 0) {
            *out = (enum rtls_mode)i;
            return TERN_OK;
        }
    }
    return TERN_EINVALID;
}

static struct rtls *ctx_new(const SSL_METHOD *method)
{
    SSL_CTX *ctx = SSL_CTX_new(method);
    if (!ctx)
        return NULL;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /* A peer closing without close_notify is an ordinary EOF here, as on a
     * plain socket (requests are framed, truncation is seen by the framing). */
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    struct rtls *t = tern_calloc(1, sizeof *t);
    if (t == NULL) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    t->ctx = ctx;
    return t;
}

int rtls_server_new(const char *cert_path, const char *key_path, struct rtls **out, char *err,
                    size_t errlen)
{
    struct rtls *t = ctx_new(TLS_server_method());
    if (!t) {
        snprintf(err, errlen, "cannot create a TLS context");
        return TERN_ECONFIG;
    }
    const char *what = NULL;
    if (SSL_CTX_use_certificate_chain_file(t->ctx, cert_path) != 1)
        what = "cannot load certificate";
    else if (SSL_CTX_use_PrivateKey_file(t->ctx, key_path, SSL_FILETYPE_PEM) != 1)
        what = "cannot load private key";
    else if (SSL_CTX_check_private_key(t->ctx) != 1)
        what = "private key does not match certificate";
    if (what) {
        char ossl[160];
        ERR_error_string_n(ERR_get_error(), ossl, sizeof ossl);
        ERR_clear_error();
        snprintf(err, errlen, "%s (cert %s, key %s): %s", what, cert_path, key_path, ossl);
        rtls_free(t);
        return TERN_ECONFIG;
    }
    *out = t;
    return TERN_OK;
}

int rtls_client_new(struct rtls **out)
{
    struct rtls *t = ctx_new(TLS_client_method());
    if (!t)
        return TERN_ENOMEM;
    /* RocketMQ clients do not check the server certificate by default
     * (tls.test.authServer=false); neither do we. */
    SSL_CTX_set_verify(t->ctx, SSL_VERIFY_NONE, NULL);
    *out = t;
    return TERN_OK;
}

void rtls_free(struct rtls *t)
{
    if (!t)
        return;
    SSL_CTX_free(t->ctx);
    free(t);
}

int tls_conn_attach(struct rconn *c, const struct rtls *t, bool is_server)
{
    SSL *ssl = SSL_new(t->ctx);
    if (!ssl || SSL_set_fd(ssl, c->io.fd) != 1) {
        SSL_free(ssl);
        return TERN_ENOMEM;
    }
    if (is_server)
        SSL_set_accept_state(ssl);
    else
        SSL_set_connect_state(ssl);
    c->ssl = ssl;
    c->tls_sniff = false;
    c->tls_ctx = NULL;
    return TERN_OK;
}

int tls_conn_sniff(struct rconn *c)
{
    unsigned char first;
    ssize_t n;
    do {
        n = recv(c->io.fd, &first, 1, MSG_PEEK | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n == 0)
        return TERN_ECLOSED;
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK ? TERN_EAGAIN : -errno;
    if (first == TLS_HANDSHAKE_BYTE)
        return tls_conn_attach(c, c->tls_ctx, true);
    c->tls_sniff = false; /* plain remoting from here on */
    c->tls_ctx = NULL;
    return TERN_OK;
}

/* Maps an SSL_read/SSL_write failure to the read()/send() convention. */
static ssize_t fail(struct rconn *c, int ret, bool is_read)
{
    int e = SSL_get_error(c->ssl, ret);
    switch (e) {
    case SSL_ERROR_WANT_READ:
        if (!is_read)
            c->tls_write_on_in = true;
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_WANT_WRITE:
        if (is_read)
            c->tls_read_on_out = true;
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_ZERO_RETURN:
        return 0;
    case SSL_ERROR_SYSCALL:
        ERR_clear_error();
        if (errno == 0 || errno == EAGAIN)
            return 0; /* EOF without close_notify */
        return -1;
    default: {
        char ossl[160];
        ERR_error_string_n(ERR_get_error(), ossl, sizeof ossl);
        ERR_clear_error();
        log_debug("remoting", "tls error peer=%s: %s", c->peer, ossl);
        errno = EPROTO;
        return -1;
    }
    }
}

ssize_t tls_conn_read(struct rconn *c, void *p, size_t n)
{
    c->tls_read_on_out = false;
    ERR_clear_error();
    errno = 0;
    int cap = n > (size_t)INT32_MAX ? INT32_MAX : (int)n;
    int r = SSL_read(c->ssl, p, cap);
    return r > 0 ? r : fail(c, r, true);
}

ssize_t tls_conn_write(struct rconn *c, const void *p, size_t n)
{
    c->tls_write_on_in = false;
    ERR_clear_error();
    errno = 0;
    int cap = n > (size_t)INT32_MAX ? INT32_MAX : (int)n;
    int r = SSL_write(c->ssl, p, cap);
    if (r > 0)
        return r;
    ssize_t got = fail(c, r, false);
    if (got == 0) {
        errno = EPIPE;
        return -1;
    }
    return got;
}

void tls_conn_detach(struct rconn *c)
{
    SSL_free(c->ssl);
    c->ssl = NULL;
    c->tls_ctx = NULL;
    c->tls_sniff = false;
}
