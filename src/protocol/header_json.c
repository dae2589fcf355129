/* SPDX-License-Identifier: Apache-2.0 */
/* header_json.c: the JSON remoting header (serializeType 0, spec §2.3).
 *
 * The reader scans the header object in place: strings without escapes and
 * numbers become views into the frame, only escaped strings are copied into
 * the command's arena. extFields numbers keep their JSON text, booleans become
 * "true"/"false", null removes the key. The writer emits fastjson's key order
 * with every extFields value as a string. Not thread-safe per command. */
#include <string.h>

#include "common/limits.h"
#include "protocol/cmd_internal.h"
#include "protocol/json.h"
#include "protocol/json_lex.h"

/* Reads an integer member value: a number or a numeric string (fastjson
 * coerces both); null gives 0. */
static int read_int(tern_bytes_t h, size_t *pos, struct rcmd *c, int64_t *out)
{
    tern_bytes_t raw;
    int rc;
    if (*pos >= h.len)
        return TERN_EPROTOCOL;
    uint8_t ch = h.ptr[*pos];
    if (ch == '"') {
        rc = jlex_string(h, pos, &c->arena, false, &raw);
    } else if (ch == 'n') {
        char kind;
        *out = 0;
        rc = jlex_literal(h, pos, &kind);
        return rc == TERN_OK && kind == 'n' ? TERN_OK : TERN_EPROTOCOL;
    } else {
        rc = jlex_number(h, pos, &raw);
    }
    if (rc != TERN_OK)
        return rc;
    return parse_i64(raw, out) == TERN_OK ? TERN_OK : TERN_EPROTOCOL;
}

static int read_i32(tern_bytes_t h, size_t *pos, struct rcmd *c, int32_t *out)
{
    int64_t v;
    int rc = read_int(h, pos, c, &v);
    if (rc != TERN_OK)
        return rc;
    if (v < INT32_MIN || v > INT32_MAX)
        return TERN_EPROTOCOL;
    *out = (int32_t)v;
    return TERN_OK;
}

static int read_language(tern_bytes_t h, size_t *pos, struct rcmd *c)
{
    if (*pos < h.len && h.ptr[*pos] == '"') {
        tern_bytes_t name;
        int rc = jlex_string(h, pos, &c->arena, false, &name);
        if (rc == TERN_OK)
            c->language = cmd_lang_code(name);
        return rc;
    }
    int32_t v;
    int rc = read_i32(h, pos, c, &v);
    if (rc == TERN_OK)
        c->language = v >= 0 && v <= LANG_NODE_JS ? (uint8_t)v : LANG_OTHER;
    return rc;
}

static int read_remark(tern_bytes_t h, size_t *pos, struct rcmd *c)
{
    if (*pos < h.len && h.ptr[*pos] == '"') {
        int rc = jlex_string(h, pos, &c->arena, false, &c->remark);
        c->has_remark = rc == TERN_OK;
        return rc;
    }
    char kind;
    if (jlex_literal(h, pos, &kind) != TERN_OK || kind != 'n')
        return TERN_EPROTOCOL;
    c->has_remark = false;
    c->remark = TERN_BYTES_NULL;
    return TERN_OK;
}

static int read_key(tern_bytes_t h, size_t *pos, struct rcmd *c, tern_bytes_t *key)
{
    if (*pos < h.len && h.ptr[*pos] == '"')
        return jlex_string(h, pos, &c->arena, false, key);
    return jlex_bare_key(h, pos, key);
}

/* One extFields value, in canonical string form; NULL ptr for JSON null. */
static int read_ext_value(tern_bytes_t h, size_t *pos, struct rcmd *c, tern_bytes_t *val)
{
    if (*pos >= h.len)
        return TERN_EPROTOCOL;
    uint8_t ch = h.ptr[*pos];
    if (ch == '"')
        return jlex_string(h, pos, &c->arena, false, val);
    if (ch == '-' || (ch >= '0' && ch <= '9'))
        return jlex_number(h, pos, val);
    if (ch == '{' || ch == '[') {
        /* Not sent by any client; keep the raw text rather than fail. */
        size_t start = *pos;
        int rc = jlex_skip(h, pos, 2);
        *val = tern_bytes(h.ptr + start, *pos - start);
        return rc;
    }
    char kind;
    int rc = jlex_literal(h, pos, &kind);
    if (rc != TERN_OK)
        return rc;
    *val = kind == 'n' ? TERN_BYTES_NULL : tern_cstr(kind == 't' ? "true" : "false");
    return TERN_OK;
}

static int read_ext_fields(tern_bytes_t h, size_t *pos, struct rcmd *c)
{
    size_t i = *pos;
    int rc;
    if (i < h.len && h.ptr[i] == 'n') {
        char kind;
        if (jlex_literal(h, pos, &kind) != TERN_OK || kind != 'n')
            return TERN_EPROTOCOL;
        c->nfields = 0;
        return TERN_OK;
    }
    if (i >= h.len || h.ptr[i] != '{')
        return TERN_EPROTOCOL;
    c->nfields = 0; /* a repeated extFields member replaces the map */
    i = jlex_ws(h, i + 1);
    if (i < h.len && h.ptr[i] == '}') {
        *pos = i + 1;
        return TERN_OK;
    }
    for (;;) {
        tern_bytes_t key, val;
        i = jlex_ws(h, i);
        if ((rc = read_key(h, &i, c, &key)) != TERN_OK)
            return rc;
        i = jlex_ws(h, i);
        if (i >= h.len || h.ptr[i] != ':')
            return TERN_EPROTOCOL;
        i = jlex_ws(h, i + 1);
        if ((rc = read_ext_value(h, &i, c, &val)) != TERN_OK)
            return rc;
        if ((rc = cmd_put_field(c, key, val)) != TERN_OK)
            return rc;
        i = jlex_ws(h, i);
        if (i >= h.len)
            return TERN_EPROTOCOL;
        if (h.ptr[i] == ',') {
            i++;
            continue;
        }
        if (h.ptr[i] != '}')
            return TERN_EPROTOCOL;
        *pos = i + 1;
        return TERN_OK;
    }
}

static bool key_is(tern_bytes_t key, const char *name, size_t n)
{
    return key.len == n && memcmp(key.ptr, name, n) == 0;
}

static int read_member(tern_bytes_t h, size_t *pos, tern_bytes_t key, struct rcmd *c)
{
    int32_t v;
    int rc;
    /* Dispatch on length first: this runs for every member of every header. */
    switch (key.len) {
    case 4:
        if (key_is(key, "code", 4))
            return read_i32(h, pos, c, &c->code);
        if (key_is(key, "flag", 4))
            return read_i32(h, pos, c, &c->flag);
        break;
    case 6:
        if (key_is(key, "opaque", 6))
            return read_i32(h, pos, c, &c->opaque);
        if (key_is(key, "remark", 6))
            return read_remark(h, pos, c);
        break;
    case 7:
        if (key_is(key, "version", 7)) {
            if ((rc = read_i32(h, pos, c, &v)) != TERN_OK)
                return rc;
            c->version = (int16_t)(v > INT16_MAX ? INT16_MAX : v < INT16_MIN ? INT16_MIN : v);
            return TERN_OK;
        }
        break;
    case 8:
        if (key_is(key, "language", 8))
            return read_language(h, pos, c);
        break;
    case 9:
        if (key_is(key, "extFields", 9))
            return read_ext_fields(h, pos, c);
        break;
    default:
        break;
    }
    return jlex_skip(h, pos, 1); /* serializeTypeCurrentRPC and unknown keys */
}

int header_json_decode(tern_bytes_t h, struct rcmd *c)
{
    c->code = 0;
    c->language = LANG_JAVA;
    c->version = 0;
    c->opaque = 0;
    c->flag = 0;
    c->has_remark = false;
    c->remark = TERN_BYTES_NULL;
    c->nfields = 0;
    size_t i = jlex_ws(h, 0);
    int rc;
    if (i >= h.len || h.ptr[i] != '{')
        return TERN_EPROTOCOL;
    i = jlex_ws(h, i + 1);
    if (i < h.len && h.ptr[i] == '}') {
        i++;
    } else {
        for (;;) {
            tern_bytes_t key;
            i = jlex_ws(h, i);
            if ((rc = read_key(h, &i, c, &key)) != TERN_OK)
                return TERN_EPROTOCOL;
            i = jlex_ws(h, i);
            if (i >= h.len || h.ptr[i] != ':')
                return TERN_EPROTOCOL;
            i = jlex_ws(h, i + 1);
            if ((rc = read_member(h, &i, key, c)) != TERN_OK)
                return rc == TERN_ETOO_LARGE ? rc : TERN_EPROTOCOL;
            i = jlex_ws(h, i);
            if (i >= h.len)
                return TERN_EPROTOCOL;
            if (h.ptr[i] == ',') {
                i++;
                continue;
            }
            if (h.ptr[i] != '}')
                return TERN_EPROTOCOL;
            i++;
            break;
        }
    }
    /* CPP (jsoncpp FastWriter) ends the header with "\n". */
    return jlex_ws(h, i) == h.len ? TERN_OK : TERN_EPROTOCOL;
}

static void put_lit(buf_t *out, const char *s)
{
    buf_append(out, s, strlen(s));
}

void header_json_encode(const struct rcmd *c, buf_t *out)
{
    put_lit(out, "{\"code\":");
    buf_append_i64(out, c->code);
    put_lit(out, ",\"extFields\":{");
    bool first = true;
    for (size_t i = 0; i < c->nfields; i++) {
        const struct rcmd_field *f = &c->fields[i];
        if (!f->val.ptr)
            continue;
        if (!first)
            buf_append_u8(out, ',');
        first = false;
        json_write_string(out, f->key);
        buf_append_u8(out, ':');
        json_write_string(out, f->val);
    }
    put_lit(out, "},\"flag\":");
    buf_append_i64(out, c->flag);
    put_lit(out, ",\"language\":\"");
    put_lit(out, cmd_lang_name(c->language));
    put_lit(out, "\",\"opaque\":");
    buf_append_i64(out, c->opaque);
    if (c->has_remark) {
        put_lit(out, ",\"remark\":");
        json_write_string(out, c->remark);
    }
    put_lit(out, ",\"serializeTypeCurrentRPC\":\"JSON\",\"version\":");
    buf_append_i64(out, c->version);
    buf_append_u8(out, '}');
}
