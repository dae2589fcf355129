/* SPDX-License-Identifier: Apache-2.0 */
/* config.c: the table-driven config parser (see config.h).
 *
 * Values are parsed strictly: integers are decimal with an optional sign and
 * range-checked, booleans are "true"/"false". The .properties reader follows
 * java.util.Properties closely enough for broker.conf files. */
#include "common/config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/error.h"
#include "common/xalloc.h"

static void *field(void *obj, const struct config_opt *o)
{
    return (char *)obj + o->offset;
}

static const void *cfield(const void *obj, const struct config_opt *o)
{
    return (const char *)obj + o->offset;
}

const struct config_opt *config_find(const struct config_opt *t, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(t[i].key, key) == 0)
            return &t[i];
    }
    return NULL;
}

static int parse_num(const char *s, int64_t *out)
{
    const char *p = s;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '\0')
        return TERN_EINVALID;
    errno = 0;
    char *end = NULL;
    long long v = strtoll(p, &end, 10);
    if (errno != 0 || end == p)
        return TERN_EINVALID;
    while (*end == ' ' || *end == '\t')
        end++;
    if (*end != '\0')
        return TERN_EINVALID;
    *out = v;
    return TERN_OK;
}

static int set_value(const struct config_opt *o, void *obj, const char *val, char *err,
                     size_t errlen)
{
    int64_t v = 0;
    switch (o->type) {
    case CFG_STR: {
        char **slot = field(obj, o);
        free(*slot);
        *slot = xstrdup(val ? val : "");
        return TERN_OK;
    }
    case CFG_BOOL:
        if (strcasecmp(val, "true") == 0) {
            *(bool *)field(obj, o) = true;
        } else if (strcasecmp(val, "false") == 0) {
            *(bool *)field(obj, o) = false;
        } else {
            snprintf(err, errlen, "%s: expected true or false, got \"%s\"", o->key, val);
            return TERN_ECONFIG;
        }
        return TERN_OK;
    case CFG_ENUM:
        for (int i = 0; o->names && o->names[i]; i++) {
            if (strcasecmp(val, o->names[i]) == 0) {
                *(int *)field(obj, o) = i;
                return TERN_OK;
            }
        }
        if (parse_num(val, &v) == TERN_OK && v >= 0) {
            int count = 0;
            while (o->names && o->names[count])
                count++;
            if (v < count) {
                *(int *)field(obj, o) = (int)v;
                return TERN_OK;
            }
        }
        snprintf(err, errlen, "%s: unknown value \"%s\"", o->key, val);
        return TERN_ECONFIG;
    case CFG_INT:
    case CFG_I64:
        if (parse_num(val, &v) != TERN_OK) {
            snprintf(err, errlen, "%s: expected an integer, got \"%s\"", o->key, val);
            return TERN_ECONFIG;
        }
        if (v < o->min || v > o->max) {
            snprintf(err, errlen, "%s: %lld is outside [%lld, %lld]", o->key, (long long)v,
                     (long long)o->min, (long long)o->max);
            return TERN_ECONFIG;
        }
        if (o->type == CFG_INT)
            *(int *)field(obj, o) = (int)v;
        else
            *(int64_t *)field(obj, o) = v;
        return TERN_OK;
    }
    snprintf(err, errlen, "%s: bad option type", o->key);
    return TERN_ECONFIG;
}

int config_defaults(const struct config_opt *t, size_t n, void *obj)
{
    char err[256];
    for (size_t i = 0; i < n; i++) {
        int rc = set_value(&t[i], obj, t[i].dflt ? t[i].dflt : "", err, sizeof err);
        if (rc != TERN_OK)
            return rc;
    }
    return TERN_OK;
}

int config_set(const struct config_opt *t, size_t n, void *obj, const char *key, const char *val,
               char *err, size_t errlen)
{
    const struct config_opt *o = config_find(t, n, key);
    if (!o) {
        snprintf(err, errlen, "unknown config key \"%s\"", key);
        return TERN_ENOT_FOUND;
    }
    return set_value(o, obj, val, err, errlen);
}

/* ---- .properties reader ---- */

static bool is_ws(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\f';
}

static int hexv(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Appends code point cp as UTF-8. */
static void put_cp(buf_t *b, unsigned cp)
{
    if (cp < 0x80) {
        buf_append_u8(b, (uint8_t)cp);
    } else if (cp < 0x800) {
        buf_append_u8(b, (uint8_t)(0xC0 | (cp >> 6)));
        buf_append_u8(b, (uint8_t)(0x80 | (cp & 0x3F)));
    } else {
        buf_append_u8(b, (uint8_t)(0xE0 | (cp >> 12)));
        buf_append_u8(b, (uint8_t)(0x80 | ((cp >> 6) & 0x3F)));
        buf_append_u8(b, (uint8_t)(0x80 | (cp & 0x3F)));
    }
}

/* Reads one logical line (joining backslash continuations) starting at *pos,
 * unescaping into key and val (NUL-terminated). Returns false at the end. */
static bool next_entry(tern_bytes_t t, size_t *pos, buf_t *key, buf_t *val, bool *is_entry)
{
    size_t i = *pos;
    if (i >= t.len)
        return false;
    buf_reset(key);
    buf_reset(val);
    *is_entry = false;
    while (i < t.len && (is_ws(t.ptr[i])))
        i++;
    if (i < t.len && (t.ptr[i] == '#' || t.ptr[i] == '!')) {
        while (i < t.len && t.ptr[i] != '\n' && t.ptr[i] != '\r')
            i++;
        while (i < t.len && (t.ptr[i] == '\n' || t.ptr[i] == '\r'))
            i++;
        *pos = i;
        return true;
    }
    buf_t *cur = key;
    bool in_key = true, skipping_sep = false, any = false;
    while (i < t.len) {
        uint8_t c = t.ptr[i];
        if (c == '\n' || c == '\r')
            break;
        any = true;
        if (skipping_sep) {
            if (is_ws(c)) {
                i++;
                continue;
            }
            skipping_sep = false;
            if (c == '=' || c == ':') {
                i++;
                while (i < t.len && is_ws(t.ptr[i]))
                    i++;
                continue;
            }
        }
        if (c == '\\') {
            if (i + 1 >= t.len) {
                i++;
                break;
            }
            uint8_t e = t.ptr[i + 1];
            if (e == '\n' || e == '\r') {
                /* Continuation: skip the line break and leading blanks. */
                i += 2;
                if (e == '\r' && i < t.len && t.ptr[i] == '\n')
                    i++;
                while (i < t.len && is_ws(t.ptr[i]))
                    i++;
                continue;
            }
            i += 2;
            switch (e) {
            case 't':
                buf_append_u8(cur, '\t');
                break;
            case 'n':
                buf_append_u8(cur, '\n');
                break;
            case 'r':
                buf_append_u8(cur, '\r');
                break;
            case 'f':
                buf_append_u8(cur, '\f');
                break;
            case 'u': {
                unsigned cp = 0;
                int k = 0;
                for (; k < 4 && i < t.len && hexv(t.ptr[i]) >= 0; k++, i++)
                    cp = cp * 16 + (unsigned)hexv(t.ptr[i]);
                put_cp(cur, cp);
                break;
            }
            default:
                buf_append_u8(cur, e);
            }
            continue;
        }
        if (in_key && (c == '=' || c == ':' || is_ws(c))) {
            in_key = false;
            cur = val;
            skipping_sep = true;
            if (c == '=' || c == ':') {
                skipping_sep = false;
                i++;
                while (i < t.len && is_ws(t.ptr[i]))
                    i++;
                continue;
            }
            i++;
            continue;
        }
        buf_append_u8(cur, c);
        i++;
    }
    while (i < t.len && (t.ptr[i] == '\n' || t.ptr[i] == '\r'))
        i++;
    *pos = i;
    /* Java keeps trailing blanks in values; broker.conf files in the wild often
     * carry them by accident, so trim them (no key or value needs them). */
    while (val->len && is_ws(val->data[val->len - 1]))
        val->len--;
    buf_append_u8(key, 0);
    buf_append_u8(val, 0);
    key->len--;
    val->len--;
    *is_entry = any && key->len > 0;
    return true;
}

int config_load_text(const struct config_opt *t, size_t n, void *obj, tern_bytes_t text,
                     int *unknown, char *err, size_t errlen)
{
    buf_t key, val;
    buf_init(&key);
    buf_init(&val);
    size_t pos = 0;
    bool is_entry;
    int rc = TERN_OK;
    if (unknown)
        *unknown = 0;
    while (next_entry(text, &pos, &key, &val, &is_entry)) {
        if (!is_entry)
            continue;
        const struct config_opt *o = config_find(t, n, (const char *)key.data);
        if (!o) {
            if (unknown)
                (*unknown)++;
            continue;
        }
        rc = set_value(o, obj, (const char *)val.data, err, errlen);
        if (rc != TERN_OK)
            break;
    }
    buf_deinit(&key);
    buf_deinit(&val);
    return rc;
}

int config_load_file(const struct config_opt *t, size_t n, void *obj, const char *path,
                     int *unknown, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(e));
        return -e;
    }
    buf_t b;
    buf_init(&b);
    for (;;) {
        uint8_t *p = buf_reserve(&b, 65536);
        ssize_t r = read(fd, p, 65536);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            close(fd);
            buf_deinit(&b);
            snprintf(err, errlen, "cannot read %s: %s", path, strerror(e));
            return -e;
        }
        if (r == 0)
            break;
        b.len += (size_t)r;
    }
    close(fd);
    int rc = config_load_text(t, n, obj, buf_view(&b), unknown, err, errlen);
    buf_deinit(&b);
    return rc;
}

static void print_value(const struct config_opt *o, const void *obj, buf_t *out)
{
    switch (o->type) {
    case CFG_STR: {
        const char *s = *(char *const *)cfield(obj, o);
        buf_append_cstr(out, s ? s : "");
        break;
    }
    case CFG_INT:
        buf_append_i64(out, *(const int *)cfield(obj, o));
        break;
    case CFG_I64:
        buf_append_i64(out, *(const int64_t *)cfield(obj, o));
        break;
    case CFG_BOOL:
        buf_append_cstr(out, *(const bool *)cfield(obj, o) ? "true" : "false");
        break;
    case CFG_ENUM: {
        int v = *(const int *)cfield(obj, o);
        buf_append_cstr(out, o->names && v >= 0 ? o->names[v] : "?");
        break;
    }
    }
}

void config_print(const struct config_opt *t, size_t n, const void *obj, buf_t *out)
{
    for (size_t i = 0; i < n; i++) {
        buf_append_cstr(out, t[i].key);
        buf_append_u8(out, '=');
        print_value(&t[i], obj, out);
        buf_append_u8(out, '\n');
    }
}

void config_help(const struct config_opt *t, size_t n, buf_t *out)
{
    static const char *const type_names[] = {"string", "int", "long", "bool", "enum"};
    for (size_t i = 0; i < n; i++) {
        const struct config_opt *o = &t[i];
        buf_printf(out, "  %-32s %-6s default %s", o->key, type_names[o->type],
                   o->dflt && *o->dflt ? o->dflt : "\"\"");
        if (o->type == CFG_INT || o->type == CFG_I64)
            buf_printf(out, " [%lld..%lld]", (long long)o->min, (long long)o->max);
        if (o->type == CFG_ENUM) {
            buf_append_cstr(out, " {");
            for (int k = 0; o->names[k]; k++)
                buf_printf(out, "%s%s", k ? "," : "", o->names[k]);
            buf_append_cstr(out, "}");
        }
        buf_printf(out, "\n      %s\n", o->help ? o->help : "");
    }
}

void config_free_strings(const struct config_opt *t, size_t n, void *obj)
{
    for (size_t i = 0; i < n; i++) {
        if (t[i].type == CFG_STR) {
            char **slot = field(obj, &t[i]);
            free(*slot);
            *slot = NULL;
        }
    }
}

void config_copy(const struct config_opt *t, size_t n, void *dst, const void *src, size_t size)
{
    memcpy(dst, src, size);
    for (size_t i = 0; i < n; i++) {
        if (t[i].type == CFG_STR) {
            const char *s = *(char *const *)cfield(src, &t[i]);
            *(char **)field(dst, &t[i]) = s ? xstrdup(s) : NULL;
        }
    }
}
