/* SPDX-License-Identifier: Apache-2.0 */
/* rtest.h: helpers for the remoting tests: a blocking raw TCP peer that
 * writes and reads frames byte by byte, so tests see exactly what the server
 * put on the wire (order, opaque, serialize type, close). */
#ifndef TERN_TEST_REMOTING_RTEST_H
#define TERN_TEST_REMOTING_RTEST_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/bytes.h"
#include "protocol/cmd.h"

/* Blocking socket connected to 127.0.0.1:port with a 5 s receive timeout,
 * or -1. */
static inline int raw_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

static inline bool raw_write_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        b += w;
        n -= (size_t)w;
    }
    return true;
}

/* Reads exactly n bytes: 1 = ok, 0 = EOF at the start, -1 = error/timeout. */
static inline int raw_read_full(int fd, void *p, size_t n)
{
    uint8_t *b = p;
    size_t got = 0;
    while (got < n) {
        ssize_t r = recv(fd, b + got, n - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0 && got == 0)
            return 0;
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 1;
}

static inline bool raw_send_cmd(int fd, const struct rcmd *c)
{
    buf_t b;
    buf_init(&b);
    rcmd_encode(c, &b);
    bool ok = raw_write_all(fd, b.data, b.len);
    buf_deinit(&b);
    return ok;
}

/* Reads one frame into *frame (reset first) and decodes it into *c (which
 * must be rcmd_init'ed and is re-initialised). Returns 1, 0 on EOF, -1. */
static inline int raw_read_cmd(int fd, buf_t *frame, struct rcmd *c)
{
    uint8_t pre[4];
    int r = raw_read_full(fd, pre, 4);
    if (r <= 0)
        return r;
    uint32_t total = be32_load(pre);
    buf_reset(frame);
    buf_append(frame, pre, 4);
    buf_reserve(frame, total);
    if (raw_read_full(fd, frame->data + 4, total) != 1)
        return -1;
    frame->len = 4 + (size_t)total;
    rcmd_deinit(c);
    rcmd_init(c);
    return rcmd_decode(frame->data, frame->len, c) == TERN_OK ? 1 : -1;
}

/* True when the peer closed the socket within 5 s (reads drain data). */
static inline bool raw_wait_eof(int fd)
{
    uint8_t tmp[4096];
    for (;;) {
        ssize_t r = recv(fd, tmp, sizeof(tmp), 0);
        if (r == 0)
            return true;
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return errno == ECONNRESET;
    }
}

#endif
