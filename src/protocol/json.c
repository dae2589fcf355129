/* SPDX-License-Identifier: Apache-2.0 */
/* json.c: the lenient JSON reader (tree in a caller arena), the scanning
 * primitives of json_lex.h, and the compact writer.
 *
 * Accepted beyond RFC 8259 (fastjson/jsoncpp output, spec §2.3 and §6.6): bare
 * object keys ({0:"a"}), object or array keys kept as raw text, raw control
 * bytes inside strings, leading zeros in numbers. Depth is capped at
 * TERN_MAX_JSON_DEPTH. See docs/design/protocol.md. Stateless; thread-safe. */
#include "protocol/json.h"

#include <string.h>
#include <strings.h>

#include "common/limits.h"
#include "protocol/cmd.h"
#include "protocol/json_lex.h"

/* ---- scanning primitives ---- */

size_t jlex_ws(tern_bytes_t t, size_t pos)
{
    while (pos < t.len) {
        uint8_t ch = t.ptr[pos];
        if (ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r')
            break;
        pos++;
    }
    return pos;
}

size_t jlex_put_utf8(uint8_t *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (uint8_t)(0xC0 | cp >> 6);
        o[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (uint8_t)(0xE0 | cp >> 12);
        o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (uint8_t)(0xF0 | cp >> 18);
    o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

static int hex4(const uint8_t *p, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        uint8_t ch = p[i];
        v <<= 4;
        if (ch >= '0' && ch <= '9')
            v |= (uint32_t)(ch - '0');
        else if (ch >= 'a' && ch <= 'f')
            v |= (uint32_t)(ch - 'a' + 10);
        else if (ch >= 'A' && ch <= 'F')
            v |= (uint32_t)(ch - 'A' + 10);
        else
            return TERN_EPROTOCOL;
    }
    *out = v;
    return TERN_OK;
}

int jlex_escape(const uint8_t *p, size_t avail, uint8_t *o, size_t *used, size_t *written)
{
    if (avail < 2)
        return TERN_EPROTOCOL;
    uint32_t cp;
    size_t in = 2;
    switch (p[1]) {
    case '"':
    case '\\':
    case '/':
        cp = p[1];
        break;
    case 'b':
        cp = '\b';
        break;
    case 'f':
        cp = '\f';
        break;
    case 'n':
        cp = '\n';
        break;
    case 'r':
        cp = '\r';
        break;
    case 't':
        cp = '\t';
        break;
    case 'u': {
        if (avail < 6 || hex4(p + 2, &cp) != TERN_OK)
            return TERN_EPROTOCOL;
        in = 6;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t lo;
            if (avail >= 12 && p[6] == '\\' && p[7] == 'u' && hex4(p + 8, &lo) == TERN_OK &&
                lo >= 0xDC00 && lo <= 0xDFFF) {
                in = 12;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else {
                cp = '?'; /* lone high surrogate */
            }
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            cp = '?';
        }
        break;
    }
    default:
        return TERN_EPROTOCOL;
    }
    *used = in;
    *written = jlex_put_utf8(o, cp);
    return TERN_OK;
}

/* Unescapes the string body t[start, end) (no quotes) into a. The output is
 * never longer than the input: every escape is at least as long as its UTF-8. */
static int unescape(tern_bytes_t t, size_t start, size_t end, arena_t *a, tern_bytes_t *out)
{
    uint8_t *o = arena_alloc(a, end - start + 1);
    if (o == NULL)
        return TERN_ENOMEM;
    size_t n = 0, i = start;
    while (i < end) {
        uint8_t ch = t.ptr[i];
        if (ch != '\\') {
            o[n++] = ch;
            i++;
            continue;
        }
        size_t used, wrote;
        if (jlex_escape(t.ptr + i, end - i, o + n, &used, &wrote) != TERN_OK)
            return TERN_EPROTOCOL;
        i += used;
        n += wrote;
    }
    o[n] = '\0';
    *out = tern_bytes(o, n);
    return TERN_OK;
}

int jlex_string(tern_bytes_t t, size_t *pos, arena_t *a, bool copy, tern_bytes_t *out)
{
    size_t i = *pos;
    if (i >= t.len || t.ptr[i] != '"')
        return TERN_EPROTOCOL;
    size_t start = ++i;
    bool has_escape = false;
    /* One pass; a backslash skips the byte after it, so \" never ends the
     * string. Escapes are validated by unescape(). Header strings are short,
     * which makes a plain loop faster than memchr here. */
    while (i < t.len) {
        uint8_t ch = t.ptr[i];
        if (ch == '"')
            break;
        if (ch == '\\') {
            has_escape = true;
            i++;
        }
        i++;
    }
    if (i >= t.len)
        return TERN_EPROTOCOL;
    *pos = i + 1;
    if (has_escape)
        return unescape(t, start, i, a, out);
    if (!copy) {
        *out = tern_bytes(t.ptr + start, i - start);
        return TERN_OK;
    }
    *out = arena_copy(a, tern_bytes(t.ptr + start, i - start));
    return out->ptr ? TERN_OK : TERN_ENOMEM;
}

static bool is_digit(uint8_t ch)
{
    return ch >= '0' && ch <= '9';
}

static size_t digits(tern_bytes_t t, size_t i)
{
    while (i < t.len && is_digit(t.ptr[i]))
        i++;
    return i;
}

int jlex_number(tern_bytes_t t, size_t *pos, tern_bytes_t *out)
{
    size_t i = *pos, start = i;
    if (i < t.len && t.ptr[i] == '-')
        i++;
    size_t d = digits(t, i);
    if (d == i)
        return TERN_EPROTOCOL;
    i = d;
    if (i < t.len && t.ptr[i] == '.') {
        d = digits(t, i + 1);
        if (d == i + 1)
            return TERN_EPROTOCOL;
        i = d;
    }
    if (i < t.len && (t.ptr[i] == 'e' || t.ptr[i] == 'E')) {
        i++;
        if (i < t.len && (t.ptr[i] == '+' || t.ptr[i] == '-'))
            i++;
        d = digits(t, i);
        if (d == i)
            return TERN_EPROTOCOL;
        i = d;
    }
    *out = tern_bytes(t.ptr + start, i - start);
    *pos = i;
    return TERN_OK;
}

int jlex_literal(tern_bytes_t t, size_t *pos, char *kind)
{
    static const char *const words[] = {"true", "false", "null"};
    for (int k = 0; k < 3; k++) {
        size_t n = strlen(words[k]);
        if (t.len - *pos >= n && memcmp(t.ptr + *pos, words[k], n) == 0) {
            *pos += n;
            *kind = words[k][0];
            return TERN_OK;
        }
    }
    return TERN_EPROTOCOL;
}

static bool is_bare_key_char(uint8_t ch)
{
    return is_digit(ch) || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' ||
           ch == '$' || ch == '-' || ch == '.' || ch == '+';
}

int jlex_bare_key(tern_bytes_t t, size_t *pos, tern_bytes_t *out)
{
    size_t i = *pos;
    while (i < t.len && is_bare_key_char(t.ptr[i]))
        i++;
    if (i == *pos)
        return TERN_EPROTOCOL;
    *out = tern_bytes(t.ptr + *pos, i - *pos);
    *pos = i;
    return TERN_OK;
}

/* Skips an object key in any accepted notation. */
static int skip_key(tern_bytes_t t, size_t *pos, int depth)
{
    tern_bytes_t k;
    if (*pos >= t.len)
        return TERN_EPROTOCOL;
    uint8_t ch = t.ptr[*pos];
    if (ch == '"' || ch == '{' || ch == '[')
        return jlex_skip(t, pos, depth);
    return jlex_bare_key(t, pos, &k);
}

int jlex_skip(tern_bytes_t t, size_t *pos, int depth)
{
    size_t i = jlex_ws(t, *pos);
    if (i >= t.len)
        return TERN_EPROTOCOL;
    uint8_t ch = t.ptr[i];
    tern_bytes_t v;
    int rc;
    if (ch == '"') {
        /* A string with escapes would need an arena only to validate them; scan
         * the raw form instead (escapes are re-checked if the value is used). */
        size_t j = i + 1;
        for (;;) {
            if (j >= t.len)
                return TERN_EPROTOCOL;
            if (t.ptr[j] == '\\')
                j += 2;
            else if (t.ptr[j] == '"')
                break;
            else
                j++;
        }
        *pos = j + 1;
        return TERN_OK;
    }
    if (ch == '-' || is_digit(ch)) {
        *pos = i;
        return jlex_number(t, pos, &v);
    }
    if (ch != '{' && ch != '[') {
        *pos = i;
        char kind;
        return jlex_literal(t, pos, &kind);
    }
    if (depth + 1 > TERN_MAX_JSON_DEPTH)
        return TERN_ETOO_LARGE;
    bool is_obj = ch == '{';
    uint8_t close = is_obj ? '}' : ']';
    i = jlex_ws(t, i + 1);
    if (i < t.len && t.ptr[i] == close) {
        *pos = i + 1;
        return TERN_OK;
    }
    for (;;) {
        if (is_obj) {
            i = jlex_ws(t, i);
            if ((rc = skip_key(t, &i, depth + 1)) != TERN_OK)
                return rc;
            i = jlex_ws(t, i);
            if (i >= t.len || t.ptr[i] != ':')
                return TERN_EPROTOCOL;
            i++;
        }
        if ((rc = jlex_skip(t, &i, depth + 1)) != TERN_OK)
            return rc;
        i = jlex_ws(t, i);
        if (i >= t.len)
            return TERN_EPROTOCOL;
        if (t.ptr[i] == ',') {
            i++;
            continue;
        }
        if (t.ptr[i] != close)
            return TERN_EPROTOCOL;
        *pos = i + 1;
        return TERN_OK;
    }
}

/* ---- tree reader ---- */

static int parse_value(tern_bytes_t t, size_t *pos, arena_t *a, int depth, struct json_val *v);

/* Makes room for slot n of a growing arena array (doubling; old copies are
 * left). TERN_ENOMEM leaves the arrays and *cap as they were. */
static int grow(arena_t *a, struct json_val **items, tern_bytes_t **keys, size_t n, size_t *cap)
{
    if (n < *cap)
        return TERN_OK;
    size_t ncap = *cap ? *cap * 2 : 4;
    struct json_val *ni = arena_alloc(a, ncap * sizeof *ni);
    tern_bytes_t *nk = keys ? arena_alloc(a, ncap * sizeof *nk) : NULL;
    if (ni == NULL || (keys && nk == NULL))
        return TERN_ENOMEM;
    if (n)
        memcpy(ni, *items, n * sizeof *ni);
    *items = ni;
    if (keys) {
        if (n)
            memcpy(nk, *keys, n * sizeof *nk);
        *keys = nk;
    }
    *cap = ncap;
    return TERN_OK;
}

static int parse_key(tern_bytes_t t, size_t *pos, arena_t *a, int depth, tern_bytes_t *key)
{
    if (*pos >= t.len)
        return TERN_EPROTOCOL;
    uint8_t ch = t.ptr[*pos];
    if (ch == '"')
        return jlex_string(t, pos, a, true, key);
    if (ch == '{' || ch == '[') {
        /* fastjson MessageQueue keys: keep the raw text of the key object. */
        size_t start = *pos;
        int rc = jlex_skip(t, pos, depth);
        if (rc != TERN_OK)
            return rc;
        *key = arena_copy(a, tern_bytes(t.ptr + start, *pos - start));
        return key->ptr ? TERN_OK : TERN_ENOMEM;
    }
    tern_bytes_t k;
    int rc = jlex_bare_key(t, pos, &k);
    if (rc != TERN_OK)
        return rc;
    *key = arena_copy(a, k);
    return key->ptr ? TERN_OK : TERN_ENOMEM;
}

static int parse_container(tern_bytes_t t, size_t *pos, arena_t *a, int depth, struct json_val *v)
{
    if (depth + 1 > TERN_MAX_JSON_DEPTH)
        return TERN_ETOO_LARGE;
    bool is_obj = t.ptr[*pos] == '{';
    uint8_t close = is_obj ? '}' : ']';
    v->type = is_obj ? JSON_OBJECT : JSON_ARRAY;
    size_t i = jlex_ws(t, *pos + 1), cap = 0;
    int rc;
    if (i < t.len && t.ptr[i] == close) {
        *pos = i + 1;
        return TERN_OK;
    }
    for (;;) {
        if ((rc = grow(a, &v->items, is_obj ? &v->keys : NULL, v->n, &cap)) != TERN_OK)
            return rc;
        if (is_obj) {
            i = jlex_ws(t, i);
            if ((rc = parse_key(t, &i, a, depth + 1, &v->keys[v->n])) != TERN_OK)
                return rc;
            i = jlex_ws(t, i);
            if (i >= t.len || t.ptr[i] != ':')
                return TERN_EPROTOCOL;
            i++;
        }
        if ((rc = parse_value(t, &i, a, depth + 1, &v->items[v->n])) != TERN_OK)
            return rc;
        v->n++;
        i = jlex_ws(t, i);
        if (i >= t.len)
            return TERN_EPROTOCOL;
        if (t.ptr[i] == ',') {
            i++;
            continue;
        }
        if (t.ptr[i] != close)
            return TERN_EPROTOCOL;
        *pos = i + 1;
        return TERN_OK;
    }
}

static int parse_value(tern_bytes_t t, size_t *pos, arena_t *a, int depth, struct json_val *v)
{
    memset(v, 0, sizeof *v);
    size_t i = jlex_ws(t, *pos);
    if (i >= t.len)
        return TERN_EPROTOCOL;
    uint8_t ch = t.ptr[i];
    int rc;
    *pos = i;
    if (ch == '"') {
        v->type = JSON_STRING;
        return jlex_string(t, pos, a, true, &v->str);
    }
    if (ch == '-' || is_digit(ch)) {
        tern_bytes_t raw;
        v->type = JSON_NUMBER;
        if ((rc = jlex_number(t, pos, &raw)) != TERN_OK)
            return rc;
        v->str = arena_copy(a, raw);
        return v->str.ptr ? TERN_OK : TERN_ENOMEM;
    }
    if (ch == '{' || ch == '[')
        return parse_container(t, pos, a, depth, v);
    char kind;
    if ((rc = jlex_literal(t, pos, &kind)) != TERN_OK)
        return rc;
    v->type = kind == 'n' ? JSON_NULL : JSON_BOOL;
    v->b = kind == 't';
    return TERN_OK;
}

int json_parse(tern_bytes_t text, arena_t *a, struct json_val **out)
{
    if (!text.ptr && text.len)
        return TERN_EINVALID;
    struct json_val *v = arena_alloc(a, sizeof *v);
    if (v == NULL)
        return TERN_ENOMEM;
    size_t pos = 0;
    int rc = parse_value(text, &pos, a, 0, v);
    if (rc != TERN_OK)
        return rc;
    if (jlex_ws(text, pos) != text.len)
        return TERN_EPROTOCOL;
    *out = v;
    return TERN_OK;
}

const struct json_val *json_get(const struct json_val *obj, const char *key)
{
    if (!obj || obj->type != JSON_OBJECT)
        return NULL;
    tern_bytes_t k = tern_cstr(key);
    for (size_t i = obj->n; i-- > 0;) {
        if (tern_bytes_eq(obj->keys[i], k))
            return &obj->items[i];
    }
    return NULL;
}

int json_val_i64(const struct json_val *v, int64_t *out)
{
    if (!v)
        return TERN_ENOT_FOUND;
    if (v->type != JSON_NUMBER && v->type != JSON_STRING)
        return TERN_EINVALID;
    return parse_i64(v->str, out);
}

int json_get_i64(const struct json_val *obj, const char *key, int64_t *out)
{
    return json_val_i64(json_get(obj, key), out);
}

tern_bytes_t json_get_str(const struct json_val *obj, const char *key)
{
    const struct json_val *v = json_get(obj, key);
    if (!v || (v->type != JSON_STRING && v->type != JSON_NUMBER))
        return TERN_BYTES_NULL;
    return v->str;
}

bool json_get_bool(const struct json_val *obj, const char *key, bool dflt)
{
    const struct json_val *v = json_get(obj, key);
    if (!v)
        return dflt;
    if (v->type == JSON_BOOL)
        return v->b;
    if (v->type == JSON_STRING)
        return v->str.len == 4 && strncasecmp((const char *)v->str.ptr, "true", 4) == 0;
    return dflt;
}

/* ---- writer ---- */

void json_write_string(buf_t *out, tern_bytes_t s)
{
    static const char hex[] = "0123456789abcdef";
    buf_append_u8(out, '"');
    size_t run = 0;
    for (size_t i = 0; i < s.len; i++) {
        uint8_t ch = s.ptr[i];
        if (ch >= 0x20 && ch != '"' && ch != '\\')
            continue;
        buf_append(out, s.ptr + run, i - run);
        run = i + 1;
        if (ch == '"' || ch == '\\') {
            uint8_t e[2] = {'\\', ch};
            buf_append(out, e, 2);
        } else {
            uint8_t e[6] = {'\\', 'u', '0', '0', (uint8_t)hex[ch >> 4], (uint8_t)hex[ch & 15]};
            buf_append(out, e, 6);
        }
    }
    if (s.len > run)
        buf_append(out, s.ptr + run, s.len - run);
    buf_append_u8(out, '"');
}

void jw_init(jw_t *w, buf_t *out)
{
    w->out = out;
    w->depth = 0;
    memset(w->need_comma, 0, sizeof w->need_comma);
}

/* Called before every value: a comma unless first in its container or right
 * after a key (jw_key clears need_comma). */
static void value_sep(jw_t *w)
{
    int d = w->depth < JW_MAX_DEPTH ? w->depth : JW_MAX_DEPTH - 1;
    if (w->need_comma[d])
        buf_append_u8(w->out, ',');
    w->need_comma[d] = true;
}

static void open_scope(jw_t *w, uint8_t ch)
{
    value_sep(w);
    buf_append_u8(w->out, ch);
    w->depth++;
    if (w->depth < JW_MAX_DEPTH)
        w->need_comma[w->depth] = false;
}

static void close_scope(jw_t *w, uint8_t ch)
{
    buf_append_u8(w->out, ch);
    if (w->depth > 0)
        w->depth--;
}

void jw_obj_begin(jw_t *w)
{
    open_scope(w, '{');
}

void jw_obj_end(jw_t *w)
{
    close_scope(w, '}');
}

void jw_arr_begin(jw_t *w)
{
    open_scope(w, '[');
}

void jw_arr_end(jw_t *w)
{
    close_scope(w, ']');
}

void jw_key_bytes(jw_t *w, tern_bytes_t key)
{
    int d = w->depth < JW_MAX_DEPTH ? w->depth : JW_MAX_DEPTH - 1;
    if (w->need_comma[d])
        buf_append_u8(w->out, ',');
    json_write_string(w->out, key);
    buf_append_u8(w->out, ':');
    w->need_comma[d] = false;
}

void jw_key(jw_t *w, const char *key)
{
    jw_key_bytes(w, tern_cstr(key));
}

void jw_str(jw_t *w, tern_bytes_t s)
{
    value_sep(w);
    json_write_string(w->out, s);
}

void jw_cstr(jw_t *w, const char *s)
{
    jw_str(w, tern_cstr(s));
}

void jw_i64(jw_t *w, int64_t v)
{
    value_sep(w);
    buf_append_i64(w->out, v);
}

void jw_bool(jw_t *w, bool v)
{
    value_sep(w);
    buf_append_cstr(w->out, v ? "true" : "false");
}

void jw_null(jw_t *w)
{
    value_sep(w);
    buf_append_cstr(w->out, "null");
}

void jw_raw(jw_t *w, tern_bytes_t json)
{
    value_sep(w);
    buf_append_bytes(w->out, json);
}
