/* SPDX-License-Identifier: Apache-2.0 */
/* tls.h: TLS on a connection (private to remoting/; the context API is in
 * remoting.h). Loop thread only.
 *
 * A TLS connection has c->ssl set; conn.c's read and write paths call
 * tls_conn_read/tls_conn_write instead of read/send, with the same return
 * convention (bytes, 0 = peer closed, -1 with errno). OpenSSL's
 * WANT_READ/WANT_WRITE become EAGAIN plus a flag telling conn.c which epoll
 * event resumes the other direction. See docs/design/remoting.md (TLS). */
#ifndef TERN_REMOTING_TLS_H
#define TERN_REMOTING_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "remoting/conn.h"

/* The first byte of a TLS handshake record. */
#define TLS_HANDSHAKE_BYTE 0x16

/* Makes c a TLS connection with t: accept side when is_server, connect side
 * otherwise. Returns TERN_OK or TERN_ENOMEM. */
int tls_conn_attach(struct rconn *c, const struct rtls *t, bool is_server);
/* Permissive server: peeks at the first byte; attaches TLS when it is a
 * handshake record. Returns TERN_OK when decided, TERN_EAGAIN when no byte
 * is there yet, TERN_ECLOSED when the peer closed, -errno. */
int tls_conn_sniff(struct rconn *c);
ssize_t tls_conn_read(struct rconn *c, void *p, size_t n);
ssize_t tls_conn_write(struct rconn *c, const void *p, size_t n);
/* Frees the connection's TLS state (c->ssl NULL afterwards). */
void tls_conn_detach(struct rconn *c);

#endif
