/* SPDX-License-Identifier: Apache-2.0 */
/* api_http.c: signed Open API requests and HTTP/1.1 response parsing for
 * `mqbench api` (see api_bench.h). The signature is the console's own code
 * (openapi/sign.h), so the tool signs exactly as the server verifies. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api_bench.h"

#include "common/clock.h"
#include "openapi/sign.h"

const char *const API_EP_PATHS[EP_COUNT] = {
    [EP_REGION_LIST] = "/json/region/list", [EP_INSTANCE_LIST] = "/json/instance/list",
    [EP_TOPIC_GET] = "/json/topic/get",     [EP_TOPIC_LIST_NAMES] = "/json/topic/listNames",
    [EP_GROUP_LIST] = "/json/group/list",   [EP_INSTANCE_BASE_INFO] = "/json/instance/baseInfo",
};

void api_ep_params(const struct api_cfg *c, enum api_ep ep, struct api_kv kv[4], size_t *n)
{
    size_t k = 0;
    switch (ep) {
    case EP_REGION_LIST:
    case EP_INSTANCE_LIST:
        break;
    case EP_TOPIC_GET:
        kv[k++] = (struct api_kv){"topic", c->topic};
        kv[k++] = (struct api_kv){"instanceId", c->instance};
        break;
    case EP_TOPIC_LIST_NAMES:
    case EP_GROUP_LIST:
    case EP_INSTANCE_BASE_INFO:
        kv[k++] = (struct api_kv){"instanceId", c->instance};
        break;
    case EP_COUNT:
        break;
    }
    *n = k;
}

static void url_encode(buf_t *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~') {
            buf_append_u8(out, *p);
        } else {
            buf_append_u8(out, '%');
            buf_append_u8(out, (uint8_t)hex[*p >> 4]);
            buf_append_u8(out, (uint8_t)hex[*p & 15]);
        }
    }
}

static int kv_cmp(const void *a, const void *b)
{
    return strcmp(((const struct api_kv *)a)->k, ((const struct api_kv *)b)->k);
}

#define API_MAX_KV 16

void api_build_request(const struct api_cfg *c, const char *path, const struct api_kv *kv, size_t n,
                       buf_t *out)
{
    struct api_kv all[API_MAX_KV + 4];
    size_t m = 0;
    for (size_t i = 0; i < n && i < API_MAX_KV; i++)
        if (kv[i].v)
            all[m++] = kv[i];
    char now[32];
    snprintf(now, sizeof now, "%lld", (long long)clock_wall_ms());
    all[m++] = (struct api_kv){"_accesskey", c->access_key};
    all[m++] = (struct api_kv){"__preventCache", now};
    if (c->region)
        all[m++] = (struct api_kv){"_regionId", c->region};
    qsort(all, m, sizeof all[0], kv_cmp);
    buf_t sts;
    buf_init(&sts);
    for (size_t i = 0; i < m; i++)
        buf_append_cstr(&sts, all[i].v);
    char sig[SIGN_B64_LEN + 1];
    sign_hmac_b64(tern_cstr(c->secret_key), buf_view(&sts), sig);
    buf_deinit(&sts);

    buf_printf(out, "GET %s?", path);
    for (size_t i = 0; i < m; i++) {
        buf_printf(out, "%s=", all[i].k);
        url_encode(out, all[i].v);
        buf_append_u8(out, '&');
    }
    buf_append_cstr(out, "_signature=");
    url_encode(out, sig);
    buf_printf(out, " HTTP/1.1\r\nHost: %s:%d\r\n\r\n", c->host, c->port);
}

/* Value of header name in the header block hdr[0..len), or NULL. */
static const char *header(const char *hdr, size_t len, const char *name, size_t *vlen)
{
    size_t nl = strlen(name);
    const char *end = hdr + len;
    const char *p = memchr(hdr, '\n', len);
    while (p && p + 1 < end) {
        p++;
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            break;
        if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            const char *ve = eol;
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' '))
                ve--;
            *vlen = (size_t)(ve - v);
            return v;
        }
        p = eol;
    }
    return NULL;
}

enum api_parse api_parse_response(const char *in, size_t len, struct api_resp *r)
{
    const char *eoh = memmem(in, len, "\r\n\r\n", 4);
    if (!eoh)
        return len > 16384 ? PARSE_BAD : PARSE_MORE;
    size_t hlen = (size_t)(eoh - in) + 4;
    if (hlen < 12 || strncmp(in, "HTTP/1.", 7) != 0)
        return PARSE_BAD;
    r->status = atoi(in + 9);
    size_t vl = 0;
    const char *cl = header(in, hlen, "Content-Length", &vl);
    if (!cl)
        return PARSE_BAD; /* the console always sends a length */
    char num[24];
    if (vl == 0 || vl >= sizeof num)
        return PARSE_BAD;
    memcpy(num, cl, vl);
    num[vl] = '\0';
    char *e = NULL;
    unsigned long long blen = strtoull(num, &e, 10);
    if (*e != '\0' || blen > (64u << 20))
        return PARSE_BAD;
    const char *conn = header(in, hlen, "Connection", &vl);
    r->close = conn && vl == 5 && strncasecmp(conn, "close", 5) == 0;
    r->body_off = hlen;
    r->total_len = hlen + (size_t)blen;
    return len >= r->total_len ? PARSE_DONE : PARSE_MORE;
}

bool api_body_success(const char *body, size_t len)
{
    return memmem(body, len, "\"success\":true", 14) != NULL;
}

int api_call_blocking(const struct api_cfg *c, const char *path, const struct api_kv *kv, size_t n,
                      buf_t *body)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)c->port)};
    if (inet_pton(AF_INET, c->host, &sa.sin_addr) != 1)
        return -1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct timeval tv = {.tv_sec = c->timeout_ms / 1000, .tv_usec = c->timeout_ms % 1000 * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    buf_t req, in;
    buf_init(&req);
    buf_init(&in);
    int status = -1;
    api_build_request(c, path, kv, n, &req);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        write(fd, req.data, req.len) != (ssize_t)req.len)
        goto out;
    for (;;) {
        uint8_t *p = buf_reserve(&in, 4096);
        ssize_t got = p ? read(fd, p, 4096) : -1;
        if (got <= 0)
            goto out;
        in.len += (size_t)got;
        struct api_resp r;
        enum api_parse ps = api_parse_response((const char *)in.data, in.len, &r);
        if (ps == PARSE_BAD)
            goto out;
        if (ps == PARSE_DONE) {
            buf_append(body, in.data + r.body_off, r.total_len - r.body_off);
            buf_append_u8(body, 0);
            body->len--;
            status = r.status;
            goto out;
        }
    }
out:
    close(fd);
    buf_deinit(&req);
    buf_deinit(&in);
    return status;
}
