/* SPDX-License-Identifier: Apache-2.0 */
/* config.c: the property map (spec §15.3) and its parsing into a client
 * configuration (spec §4.2, §4.3, §5, §6): case-insensitive keys, defaults,
 * ranges, endpoints with instance prefixes and namespaces.
 *
 * Not thread-safe for writers (ons_properties_t has one owner); the parsed
 * cl_config is immutable after the factory call. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client/client_int.h"

/* ---- ons_properties_t -------------------------------------------------------- */

ons_properties_t *ons_properties_new(void)
{
    return cl_calloc(1, sizeof(ons_properties_t));
}

static long find_key(const ons_properties_t *p, const char *key)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcasecmp(p->keys[i], key) == 0)
            return (long)i;
    return -1;
}

int ons_properties_put(ons_properties_t *p, const char *key, const char *value)
{
    if (p == NULL || key == NULL)
        return -1;
    long i = find_key(p, key);
    if (value == NULL) {
        if (i >= 0) {
            free(p->keys[i]);
            free(p->vals[i]);
            p->n--;
            memmove(p->keys + i, p->keys + i + 1, (p->n - (size_t)i) * sizeof(char *));
            memmove(p->vals + i, p->vals + i + 1, (p->n - (size_t)i) * sizeof(char *));
        }
        return 0;
    }
    char *k = cl_strdup(key), *v = cl_strdup(value);
    if (k == NULL || v == NULL) {
        free(k);
        free(v);
        return -1;
    }
    if (i >= 0) {
        free(p->keys[i]);
        free(p->vals[i]);
        p->keys[i] = k;
        p->vals[i] = v;
        return 0;
    }
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 8;
        char **nk = cl_realloc(p->keys, cap * sizeof(char *));
        if (nk == NULL)
            goto oom;
        p->keys = nk;
        char **nv = cl_realloc(p->vals, cap * sizeof(char *));
        if (nv == NULL)
            goto oom;
        p->vals = nv;
        p->cap = cap;
    }
    p->keys[p->n] = k;
    p->vals[p->n] = v;
    p->n++;
    return 0;
oom:
    free(k);
    free(v);
    return -1;
}

const char *ons_properties_get(const ons_properties_t *p, const char *key)
{
    if (p == NULL || key == NULL)
        return NULL;
    long i = find_key(p, key);
    return i >= 0 ? p->vals[i] : NULL;
}

void ons_properties_free(ons_properties_t *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->n; i++) {
        free(p->keys[i]);
        free(p->vals[i]);
    }
    free(p->keys);
    free(p->vals);
    free(p);
}

/* ---- parsing ------------------------------------------------------------ */

static int parse_int(const ons_properties_t *p, const char *key, int dflt, int lo, int hi, int *out,
                     bool *was_set, ons_exception_t **ex)
{
    const char *v = ons_properties_get(p, key);
    if (was_set)
        *was_set = v != NULL;
    if (v == NULL) {
        *out = dflt;
        return 0;
    }
    const char *s = v;
    while (isspace((unsigned char)*s))
        s++;
    char *end;
    errno = 0;
    long long n = strtoll(s, &end, 10);
    while (isspace((unsigned char)*end))
        end++;
    if (end == s || *end || errno || n < lo || n > hi)
        return cl_raise(ex, ONS_ERR_ILLEGAL_ARGUMENT,
                        "property %s=\"%s\" is invalid: expected an integer in [%d, %d]", key, v,
                        lo, hi);
    *out = (int)n;
    return 0;
}

static int parse_bool(const char *key, const char *v, bool *out, ons_exception_t **ex)
{
    if (strcasecmp(v, "true") == 0)
        *out = true;
    else if (strcasecmp(v, "false") == 0)
        *out = false;
    else
        return cl_raise(ex, ONS_ERR_ILLEGAL_ARGUMENT,
                        "property %s=\"%s\" is invalid: expected true or false", key, v);
    return 0;
}

static bool all_alnum(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]))
            return false;
    return true;
}

/* Recognises MQ_INST_<owner>_<suffix>.<host>:<port>. OUT: *inst_len (0 when
 * the entry has no prefix). */
static size_t instance_prefix(const char *e, size_t n)
{
    if (n < 9 || strncmp(e, "MQ_INST_", 8) != 0)
        return 0;
    const char *dot = memchr(e, '.', n);
    if (dot == NULL)
        return 0;
    size_t plen = (size_t)(dot - e);
    const char *rest = e + 8;
    size_t rlen = plen - 8;
    const char *us = memchr(rest, '_', rlen);
    if (us == NULL)
        return 0;
    size_t a = (size_t)(us - rest);
    if (!all_alnum(rest, a) || !all_alnum(us + 1, rlen - a - 1))
        return 0;
    /* The rest must look like host:port. */
    const char *hp = dot + 1;
    size_t hlen = n - plen - 1;
    const char *colon = NULL;
    for (size_t i = 0; i < hlen; i++)
        if (hp[i] == ':')
            colon = hp + i;
    if (colon == NULL || colon == hp || colon + 1 == hp + hlen)
        return 0;
    for (const char *d = colon + 1; d < hp + hlen; d++)
        if (!isdigit((unsigned char)*d))
            return 0;
    return plen;
}

static int parse_endpoints(struct cl_config *cfg, const char *v, ons_exception_t **ex)
{
    char *inst = NULL;
    const char *s = v;
    while (*s) {
        const char *e = strchr(s, ';');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        const char *a = s;
        size_t an = n;
        while (an && isspace((unsigned char)*a)) {
            a++;
            an--;
        }
        while (an && isspace((unsigned char)a[an - 1]))
            an--;
        s = e ? e + 1 : s + n;
        if (an == 0)
            continue;
        size_t pl = instance_prefix(a, an);
        if (pl) {
            if (inst && (strlen(inst) != pl || strncmp(inst, a, pl) != 0)) {
                free(inst);
                return cl_raise(ex, ONS_ERR_ILLEGAL_ARGUMENT,
                                "NAMESRV_ADDR names different instance IDs");
            }
            if (inst == NULL && (inst = cl_strndup(a, pl)) == NULL)
                return cl_raise_oom(ex);
            a += pl + 1;
            an -= pl + 1;
        }
        if (memchr(a, ':', an) == NULL) {
            free(inst);
            return cl_raise(ex, ONS_ERR_ILLEGAL_ARGUMENT,
                            "NAMESRV_ADDR entry \"%.*s\" is not host:port", (int)an, a);
        }
        char **na = cl_realloc(cfg->ns_addrs, (cfg->nns + 1) * sizeof(char *));
        if (na == NULL) {
            free(inst);
            return cl_raise_oom(ex);
        }
        cfg->ns_addrs = na;
        if ((cfg->ns_addrs[cfg->nns] = cl_strndup(a, an)) == NULL) {
            free(inst);
            return cl_raise_oom(ex);
        }
        cfg->nns++;
    }
    if (cfg->nns == 0) {
        free(inst);
        return cl_raise(ex, ONS_ERR_ILLEGAL_ARGUMENT, "NAMESRV_ADDR has no address");
    }
    if (inst && cfg->name_space == NULL)
        cfg->name_space = inst;
    else
        free(inst);
    return 0;
}

static int dup_to(char **dst, const char *v, ons_exception_t **ex)
{
    if (v == NULL)
        return 0;
    if ((*dst = cl_strdup(v)) == NULL)
        return cl_raise_oom(ex);
    return 0;
}

int cl_config_parse(struct cl_config *cfg, const ons_properties_t *p, enum cl_kind kind,
                    ons_exception_t **ex)
{
    memset(cfg, 0, sizeof *cfg);
    if (p == NULL)
        return cl_raise(ex, ONS_ERR_NULL_POINTER, "properties is NULL");
    bool consumer = kind >= CL_CONSUMER;
    bool timeout_ms_set = false;
    const char *ak = ons_properties_get(p, ONS_ACCESS_KEY);
    const char *sk = ons_properties_get(p, ONS_SECRET_KEY);
    if (ak == NULL || !*ak)
        return cl_raise(ex, ONS_ERR_ILLEGAL_ARGUMENT, "property AccessKey is required");
    if (sk == NULL || !*sk)
        return cl_raise(ex, ONS_ERR_ILLEGAL_ARGUMENT, "property SecretKey is required");
    const char *ch = ons_properties_get(p, ONS_CHANNEL);
    if (ch == NULL)
        ch = ONS_CHANNEL_ALIYUN;
    if (strcmp(ch, ONS_CHANNEL_ALIYUN) != 0 && strcmp(ch, ONS_CHANNEL_CLOUD) != 0)
        return cl_raise(ex, ONS_ERR_ILLEGAL_ARGUMENT,
                        "property OnsChannel=\"%s\" is invalid: expected ALIYUN or CLOUD", ch);
    const char *group = ons_properties_get(p, ONS_GROUP_ID);
    if (group == NULL || !*group)
        group = ons_properties_get(p, consumer ? ONS_CONSUMER_ID : ONS_PRODUCER_ID);
    if (group == NULL || !*group)
        return cl_raise(ex, ONS_ERR_ILLEGAL_ARGUMENT, "property GROUP_ID (or %s) is required",
                        consumer ? "ConsumerId" : "ProducerId");
    for (const char *g = group; *g; g++)
        if (!isalnum((unsigned char)*g) && *g != '-' && *g != '_')
            return cl_raise(ex, ONS_ERR_ILLEGAL_ARGUMENT,
                            "property GROUP_ID=\"%s\" has an illegal character", group);
    if (strlen(group) > 100)
        return cl_raise(ex, ONS_ERR_ILLEGAL_ARGUMENT, "property GROUP_ID is longer than 100");
    /* TLS: the property wins over the environment. */
    const char *tls = ons_properties_get(p, ONS_TLS_ENABLE);
    if (tls == NULL)
        tls = getenv("ONS_TLS_ENABLE");
    bool tls_on = false;
    if (tls && parse_bool(ONS_TLS_ENABLE, tls, &tls_on, ex) != 0)
        return -1;
    cfg->tls = tls_on; /* no server certificate check, as RocketMQ's client default */
    if (dup_to(&cfg->access_key, ak, ex) || dup_to(&cfg->secret_key, sk, ex) ||
        dup_to(&cfg->channel, ch, ex) || dup_to(&cfg->group, group, ex))
        goto fail;
    if (cfg->secret_key && (cfg->hmac = cl_hmac_key_new(cfg->secret_key)) == NULL) {
        cl_raise_oom(ex);
        goto fail;
    }
    const char *inst = ons_properties_get(p, ONS_INSTANCE_ID);
    if (inst && *inst && dup_to(&cfg->name_space, inst, ex))
        goto fail;
    const char *ns = ons_properties_get(p, ONS_NAMESRV_ADDR);
    if (ns && *ns) {
        if (parse_endpoints(cfg, ns, ex) != 0)
            goto fail;
    } else if (ons_properties_get(p, ONS_ADDR)) {
        cl_raise(ex, ONS_ERR_NOT_SUPPORTED,
                 "ONSAddr (address server) is not supported yet: set NAMESRV_ADDR");
        goto fail;
    } else {
        cl_raise(ex, ONS_ERR_ILLEGAL_ARGUMENT, "property NAMESRV_ADDR is required");
        goto fail;
    }
    if (parse_int(p, ONS_SEND_MSG_TIMEOUT_MILLIS, 3000, 1, 300000, &cfg->send_timeout_ms, NULL,
                  ex) ||
        parse_int(p, ONS_CONSUME_THREAD_NUMS, 64, 1, 1000, &cfg->consume_threads, NULL, ex) ||
        parse_int(p, ONS_MAX_RECONSUME_TIMES, 16, 0, 1000, &cfg->max_reconsume,
                  &cfg->max_reconsume_set, ex) ||
        parse_int(p, ONS_CONSUME_TIMEOUT, 15, 1, 1440, &cfg->consume_timeout_min, NULL, ex) ||
        parse_int(p, ONS_CONSUME_MESSAGE_BATCH_MAX_SIZE, 1, 1, 32, &cfg->batch_max, NULL, ex) ||
        parse_int(p, ONS_CHECK_IMMUNITY_TIME_IN_SECONDS, 30, 1, 86400, &cfg->check_immunity_s, NULL,
                  ex) ||
        parse_int(p, ONS_SUSPEND_TIME_MILLIS, 3000, 10, 30000, &cfg->suspend_ms, NULL, ex) ||
        parse_int(p, ONS_CONSUME_TIMEOUT_MILLIS, 0, 100, 86400000, &cfg->consume_timeout_ms,
                  &timeout_ms_set, ex))
        goto fail;
    if (!timeout_ms_set)
        cfg->consume_timeout_ms = cfg->consume_timeout_min * 60000;
    const char *model = ons_properties_get(p, ONS_MESSAGE_MODEL);
    if (model) {
        if (strcmp(model, ONS_BROADCASTING) == 0) {
            cfg->broadcasting = true;
        } else if (strcmp(model, ONS_CLUSTERING) != 0) {
            cl_raise(ex, ONS_ERR_ILLEGAL_ARGUMENT,
                     "property MessageModel=\"%s\" is invalid: expected CLUSTERING or "
                     "BROADCASTING",
                     model);
            goto fail;
        }
    }
    const char *sh = ons_properties_get(p, ONS_SHARDING_KEY);
    if (sh && *sh && dup_to(&cfg->sharding_key, sh, ex))
        goto fail;
    const char *dir = ons_properties_get(p, ONS_LOCAL_OFFSET_STORE_DIR);
    char defdir[512];
    if (dir == NULL) {
        const char *home = getenv("HOME");
        snprintf(defdir, sizeof defdir, "%s/.rocketmq_offsets", home && *home ? home : "/tmp");
        dir = defdir;
    }
    if (dup_to(&cfg->offset_dir, dir, ex))
        goto fail;
    if ((cfg->wire_group = cl_ns_wrap(cfg, cfg->group)) == NULL) {
        cl_raise_oom(ex);
        goto fail;
    }
    return 0;
fail:
    cl_config_deinit(cfg);
    return -1;
}

void cl_config_deinit(struct cl_config *cfg)
{
    for (size_t i = 0; i < cfg->nns; i++)
        free(cfg->ns_addrs[i]);
    free(cfg->ns_addrs);
    free(cfg->name_space);
    free(cfg->group);
    free(cfg->wire_group);
    free(cfg->access_key);
    free(cfg->secret_key);
    cl_hmac_key_free(cfg->hmac);
    free(cfg->channel);
    free(cfg->sharding_key);
    free(cfg->offset_dir);
    memset(cfg, 0, sizeof *cfg);
}

char *cl_ns_wrap(const struct cl_config *cfg, const char *name)
{
    if (cfg->name_space == NULL || !*cfg->name_space)
        return cl_strdup(name);
    size_t n = strlen(cfg->name_space) + strlen(name) + 2;
    char *s = cl_malloc(n);
    if (s)
        snprintf(s, n, "%s%%%s", cfg->name_space, name);
    return s;
}

const char *cl_ns_strip(const struct cl_config *cfg, const char *wire)
{
    if (cfg->name_space == NULL || !*cfg->name_space)
        return wire;
    size_t n = strlen(cfg->name_space);
    if (strncmp(wire, cfg->name_space, n) == 0 && wire[n] == '%')
        return wire + n + 1;
    return wire;
}
