/* SPDX-License-Identifier: Apache-2.0 */
/* proc_util.c: small helpers every processor uses: error replies, required
 * header fields (INVALID_PARAMETER naming the missing key), retry topics. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "broker/broker_int.h"
#include "common/error.h"
#include "protocol/codes.h"

void reply(struct rreq *req, int code, const char *fmt, ...)
{
    char remark[512];
    const char *r = NULL;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(remark, sizeof remark, fmt, ap);
        va_end(ap);
        r = remark;
    }
    rreq_respond_code(req, code, r);
}

static tern_bytes_t get2(const struct rcmd *c, const char *key, const char *alt)
{
    return alt ? rcmd_get2(c, key, alt) : rcmd_get(c, key);
}

bool need_str(struct rreq *req, const char *key, const char *alt, tern_bytes_t *out)
{
    *out = get2(&req->cmd, key, alt);
    if (out->ptr)
        return true;
    reply(req, RESP_INVALID_PARAMETER, "the custom field <%s> is null", key);
    return false;
}

bool need_i64(struct rreq *req, const char *key, const char *alt, int64_t *out)
{
    tern_bytes_t v = get2(&req->cmd, key, alt);
    if (!v.ptr) {
        reply(req, RESP_INVALID_PARAMETER, "the custom field <%s> is null", key);
        return false;
    }
    if (parse_i64(v, out) != TERN_OK) {
        reply(req, RESP_INVALID_PARAMETER, "the custom field <%s> is not a number: %.*s", key,
              (int)(v.len > 64 ? 64 : v.len), (const char *)v.ptr);
        return false;
    }
    return true;
}

bool need_i32(struct rreq *req, const char *key, const char *alt, int32_t *out)
{
    int64_t v;
    if (!need_i64(req, key, alt, &v))
        return false;
    if (v < INT32_MIN || v > INT32_MAX) {
        reply(req, RESP_INVALID_PARAMETER, "the custom field <%s> is out of range", key);
        return false;
    }
    *out = (int32_t)v;
    return true;
}

int64_t opt_i64(const struct rcmd *c, const char *key, const char *alt, int64_t dflt)
{
    tern_bytes_t v = get2(c, key, alt);
    int64_t out;
    if (!v.ptr || parse_i64(v, &out) != TERN_OK)
        return dflt;
    return out;
}

void host_from_sockaddr(const struct sockaddr_in *sa, struct msg_host *out)
{
    memset(out, 0, sizeof *out);
    memcpy(out->addr, &sa->sin_addr.s_addr, 4);
    out->port = ntohs(sa->sin_port);
    out->is_v6 = false;
}

void broker_ensure_retry_topic(struct broker *b, tern_bytes_t group, int queues)
{
    char name[TOPIC_NAME_MAX + 1];
    int n = snprintf(name, sizeof name, "%%RETRY%%%.*s", (int)group.len, (const char *)group.ptr);
    if (n <= 0 || (size_t)n >= sizeof name)
        return;
    struct topic_config tc, cur;
    if (topics_get(&b->topics, tern_bytes(name, (size_t)n), &cur))
        return;
    topic_config_defaults(&tc, tern_bytes(name, (size_t)n));
    tc.read_queue_nums = tc.write_queue_nums = queues > 0 ? queues : 1;
    tc.perm = PERM_READ | PERM_WRITE;
    if (topics_create_if_absent(&b->topics, &tc, &cur))
        broker_topic_changed(b);
}
