/* SPDX-License-Identifier: Apache-2.0 */
/* header_json.c: the JSON remoting header (serializeType 0, spec §2.3).
 *
 * The reader is a single pass over the header object, specialised for its
 * common shape (a flat object whose extFields are short strings): strings
 * without escapes and numbers become views into the frame; escaped strings are
 * unescaped into the command's arena, or in place when the caller lets the
 * header bytes be rewritten (header_json_decode_mut: the result is never
 * longer than its escaped text). extFields numbers keep their JSON text,
 * booleans become "true"/"false", null removes the key. The writer emits
 * fastjson's key order with every extFields value as a string, straight into
 * reserved output. Not thread-safe per command. */
#include <string.h>

#include "common/limits.h"
#include "protocol/cmd_internal.h"
#include "protocol/json_lex.h"

/* Decoder state: the header text, and where unescaped strings may be written
 * in place (NULL: copy them into the command's arena). */
struct hdec {
    tern_bytes_t h;
    uint8_t *wr; /* borrowed: writable alias of h.ptr, or NULL */
    struct rcmd *c;
};

static inline size_t ws(tern_bytes_t h, size_t i)
{
    if (i < h.len && h.ptr[i] > ' ')
        return i; /* the common case: compact JSON */
    return jlex_ws(h, i);
}

/* Unescapes from p[i] (just after the opening quote, or at the first
 * backslash) up to the closing quote into o. Reading stays ahead of writing
 * (every escape is at least as long as its UTF-8), so o may alias p. Lone
 * surrogates become '?' as Java's UTF-8 encoder writes them. OUT: *olen, *end
 * (index of the closing quote). */
static int unescape(tern_bytes_t h, size_t i, uint8_t *o, size_t *olen, size_t *end)
{
    const uint8_t *p = h.ptr;
    size_t n = 0;
    while (i < h.len) {
        uint8_t ch = p[i];
        if (ch == '"') {
            *olen = n;
            *end = i;
            return TERN_OK;
        }
        if (ch != '\\') {
            o[n++] = ch;
            i++;
            continue;
        }
        size_t used, wrote;
        if (jlex_escape(p + i, h.len - i, o + n, &used, &wrote) != TERN_OK)
            return TERN_EPROTOCOL;
        i += used;
        n += wrote;
    }
    return TERN_EPROTOCOL; /* no closing quote */
}

/* Non-zero when any byte of w is '"' or '\\' (SWAR zero-byte test). The
 * lowest set bit is bit 7 of the first such byte in memory order on a
 * little-endian machine: a borrow only carries past a matching byte, so false
 * marks appear only above a true one. */
static inline uint64_t quote_or_bs_mask(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');
    return (((q - ones) & ~q) | ((b - ones) & ~b)) & highs;
}

/* Scans the string at the '"' at *pos. OUT: a view into the header, or the
 * unescaped text (in place or in the arena). */
static int read_str(const struct hdec *d, size_t *pos, tern_bytes_t *out)
{
    tern_bytes_t h = d->h;
    size_t i = *pos;
    if (i >= h.len || h.ptr[i] != '"')
        return TERN_EPROTOCOL;
    size_t start = ++i;
    while (h.len - i >= 8) {
        uint64_t w;
        memcpy(&w, h.ptr + i, 8);
        uint64_t m = quote_or_bs_mask(w);
        if (m) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            i += (size_t)__builtin_ctzll(m) / 8; /* at the byte: the loop below stops there */
#endif
            break;
        }
        i += 8;
    }
    while (i < h.len && h.ptr[i] != '"' && h.ptr[i] != '\\')
        i++;
    if (i >= h.len)
        return TERN_EPROTOCOL;
    if (h.ptr[i] == '"') {
        *out = tern_bytes(h.ptr + start, i - start);
        *pos = i + 1;
        return TERN_OK;
    }
    size_t olen, end;
    int rc;
    if (d->wr) {
        /* The prefix before the first escape is already in place. */
        rc = unescape(h, i, d->wr + i, &olen, &end);
        if (rc != TERN_OK)
            return rc;
        *out = tern_bytes(d->wr + start, i - start + olen);
    } else {
        /* Find the closing quote first: the unescaped text is never longer
         * than its escaped form, so the string's own span bounds it. (Taking
         * the rest of the header instead made many escaped keys cost
         * quadratic memory.) */
        size_t q = i;
        while (q < h.len && h.ptr[q] != '"')
            q += h.ptr[q] == '\\' ? 2 : 1;
        if (q >= h.len)
            return TERN_EPROTOCOL;
        size_t cap = q - start;
        uint8_t *o = arena_alloc(&d->c->arena, cap + 1);
        if (o == NULL)
            return TERN_ENOMEM;
        memcpy(o, h.ptr + start, i - start);
        rc = unescape(h, i, o + (i - start), &olen, &end);
        if (rc != TERN_OK)
            return rc;
        o[i - start + olen] = '\0';
        *out = tern_bytes(o, i - start + olen);
    }
    *pos = end + 1;
    return TERN_OK;
}

/* Reads an integer member value: a number or a numeric string (fastjson
 * coerces both); null gives 0. */
static int read_int(const struct hdec *d, size_t *pos, int64_t *out)
{
    tern_bytes_t h = d->h, raw;
    int rc;
    if (*pos >= h.len)
        return TERN_EPROTOCOL;
    uint8_t ch = h.ptr[*pos];
    if (ch == '"') {
        rc = read_str(d, pos, &raw);
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

static int read_i32(const struct hdec *d, size_t *pos, int32_t *out)
{
    int64_t v;
    int rc = read_int(d, pos, &v);
    if (rc != TERN_OK)
        return rc;
    if (v < INT32_MIN || v > INT32_MAX)
        return TERN_EPROTOCOL;
    *out = (int32_t)v;
    return TERN_OK;
}

static int read_language(const struct hdec *d, size_t *pos)
{
    if (*pos < d->h.len && d->h.ptr[*pos] == '"') {
        tern_bytes_t name;
        int rc = read_str(d, pos, &name);
        if (rc == TERN_OK)
            d->c->language = cmd_lang_code(name);
        return rc;
    }
    int32_t v;
    int rc = read_i32(d, pos, &v);
    if (rc == TERN_OK)
        d->c->language = v >= 0 && v <= LANG_NODE_JS ? (uint8_t)v : LANG_OTHER;
    return rc;
}

static int read_remark(const struct hdec *d, size_t *pos)
{
    struct rcmd *c = d->c;
    if (*pos < d->h.len && d->h.ptr[*pos] == '"') {
        int rc = read_str(d, pos, &c->remark);
        c->has_remark = rc == TERN_OK;
        return rc;
    }
    char kind;
    if (jlex_literal(d->h, pos, &kind) != TERN_OK || kind != 'n')
        return TERN_EPROTOCOL;
    c->has_remark = false;
    c->remark = TERN_BYTES_NULL;
    return TERN_OK;
}

static int read_key(const struct hdec *d, size_t *pos, tern_bytes_t *key)
{
    if (*pos < d->h.len && d->h.ptr[*pos] == '"')
        return read_str(d, pos, key);
    return jlex_bare_key(d->h, pos, key);
}

/* One extFields value, in canonical string form; NULL ptr for JSON null. */
static int read_ext_value(const struct hdec *d, size_t *pos, tern_bytes_t *val)
{
    tern_bytes_t h = d->h;
    if (*pos >= h.len)
        return TERN_EPROTOCOL;
    uint8_t ch = h.ptr[*pos];
    if (ch == '"')
        return read_str(d, pos, val);
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

static int read_ext_fields(const struct hdec *d, size_t *pos)
{
    tern_bytes_t h = d->h;
    struct rcmd *c = d->c;
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
    i = ws(h, i + 1);
    if (i < h.len && h.ptr[i] == '}') {
        *pos = i + 1;
        return TERN_OK;
    }
    for (;;) {
        tern_bytes_t key, val;
        i = ws(h, i);
        if ((rc = read_key(d, &i, &key)) != TERN_OK)
            return rc;
        i = ws(h, i);
        if (i >= h.len || h.ptr[i] != ':')
            return TERN_EPROTOCOL;
        i = ws(h, i + 1);
        if ((rc = read_ext_value(d, &i, &val)) != TERN_OK)
            return rc;
        if ((rc = cmd_put_field(c, key, val)) != TERN_OK)
            return rc;
        i = ws(h, i);
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

static int read_member(const struct hdec *d, size_t *pos, tern_bytes_t key)
{
    struct rcmd *c = d->c;
    int32_t v;
    int rc;
    /* Dispatch on length first: this runs for every member of every header. */
    switch (key.len) {
    case 4:
        if (key_is(key, "code", 4))
            return read_i32(d, pos, &c->code);
        if (key_is(key, "flag", 4))
            return read_i32(d, pos, &c->flag);
        break;
    case 6:
        if (key_is(key, "opaque", 6))
            return read_i32(d, pos, &c->opaque);
        if (key_is(key, "remark", 6))
            return read_remark(d, pos);
        break;
    case 7:
        if (key_is(key, "version", 7)) {
            if ((rc = read_i32(d, pos, &v)) != TERN_OK)
                return rc;
            c->version = (int16_t)(v > INT16_MAX ? INT16_MAX : v < INT16_MIN ? INT16_MIN : v);
            return TERN_OK;
        }
        break;
    case 8:
        if (key_is(key, "language", 8))
            return read_language(d, pos);
        break;
    case 9:
        if (key_is(key, "extFields", 9))
            return read_ext_fields(d, pos);
        break;
    default:
        break;
    }
    return jlex_skip(d->h, pos, 1); /* serializeTypeCurrentRPC and unknown keys */
}

static int decode(const struct hdec *d)
{
    tern_bytes_t h = d->h;
    struct rcmd *c = d->c;
    c->code = 0;
    c->language = LANG_JAVA;
    c->version = 0;
    c->opaque = 0;
    c->flag = 0;
    c->has_remark = false;
    c->remark = TERN_BYTES_NULL;
    c->nfields = 0;
    size_t i = ws(h, 0);
    int rc;
    if (i >= h.len || h.ptr[i] != '{')
        return TERN_EPROTOCOL;
    i = ws(h, i + 1);
    if (i < h.len && h.ptr[i] == '}') {
        i++;
    } else {
        for (;;) {
            tern_bytes_t key;
            i = ws(h, i);
            if ((rc = read_key(d, &i, &key)) != TERN_OK)
                return rc == TERN_ENOMEM ? rc : TERN_EPROTOCOL;
            i = ws(h, i);
            if (i >= h.len || h.ptr[i] != ':')
                return TERN_EPROTOCOL;
            i = ws(h, i + 1);
            if ((rc = read_member(d, &i, key)) != TERN_OK)
                return rc == TERN_ETOO_LARGE || rc == TERN_ENOMEM ? rc : TERN_EPROTOCOL;
            i = ws(h, i);
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

int header_json_decode(tern_bytes_t h, struct rcmd *c)
{
    struct hdec d = {.h = h, .wr = NULL, .c = c};
    return decode(&d);
}

int header_json_decode_mut(uint8_t *h, size_t len, struct rcmd *c)
{
    struct hdec d = {.h = tern_bytes(h, len), .wr = h, .c = c};
    return decode(&d);
}

/* ---- writer ---- */

/* Bytes that need an escape: control characters, '"' and '\\'. */
static const uint8_t needs_esc[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,         1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, ['"'] = 1, ['\\'] = 1,
};

/* Non-zero when any byte of w is below 0x20, '"' or '\\' (SWAR: a byte below
 * 0x20 borrows in w - 0x20 per byte and had its high bit clear); the lowest
 * set bit is exact, as in quote_or_bs_mask. */
static inline uint64_t escapable_mask(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    return quote_or_bs_mask(w) | ((w - ones * 0x20) & ~w & highs);
}

/* Writes s as a JSON string at o (room for 2 + 6 * s.len); returns the end.
 * Eight bytes at a time while none needs an escape: message properties are
 * mostly plain text between a few \u0001/\u0002 separators. */
static uint8_t *put_str(uint8_t *o, tern_bytes_t s)
{
    static const char hex[] = "0123456789abcdef";
    *o++ = '"';
    for (size_t i = 0; i < s.len;) {
        if (s.len - i >= 8) {
            uint64_t w;
            memcpy(&w, s.ptr + i, 8);
            uint64_t m = escapable_mask(w);
            memcpy(o, &w, 8); /* room: 6 bytes per input byte left */
            if (!m) {
                o += 8;
                i += 8;
                continue;
            }
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            size_t clean = (size_t)__builtin_ctzll(m) / 8; /* copied already */
            o += clean;
            i += clean;
#endif
        }
        uint8_t ch = s.ptr[i++];
        if (!needs_esc[ch]) {
            *o++ = ch;
        } else if (ch == '"' || ch == '\\') {
            o[0] = '\\';
            o[1] = ch;
            o += 2;
        } else {
            memcpy(o, "\\u00", 4);
            o[4] = (uint8_t)hex[ch >> 4];
            o[5] = (uint8_t)hex[ch & 15];
            o += 6;
        }
    }
    *o++ = '"';
    return o;
}

/* Writes a literal (without its NUL) at o; returns the end. */
#define PUT_LIT(o, lit) (memcpy((o), (lit), sizeof(lit) - 1), (o) + sizeof(lit) - 1)

/* Writes v in decimal at o (room for 20 bytes); returns the end. */
static uint8_t *put_i64(uint8_t *o, int64_t v)
{
    uint8_t tmp[20];
    size_t n = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (uint8_t)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *o++ = '-';
    while (n)
        *o++ = tmp[--n];
    return o;
}

void header_json_encode(const struct rcmd *c, buf_t *out)
{
    /* Worst case first (every byte escaped), then write without checks. */
    size_t need = 160 + 4 * 20;
    for (size_t i = 0; i < c->nfields; i++)
        need += 6 * (c->fields[i].key.len + c->fields[i].val.len) + 6;
    if (c->has_remark)
        need += 6 * c->remark.len + 16;
    uint8_t *o0 = buf_reserve(out, need), *o = o0;
    if (o0 == NULL)
        return; /* out->failed is set */
    o = PUT_LIT(o, "{\"code\":");
    o = put_i64(o, c->code);
    o = PUT_LIT(o, ",\"extFields\":{");
    bool first = true;
    for (size_t i = 0; i < c->nfields; i++) {
        const struct rcmd_field *f = &c->fields[i];
        if (!f->val.ptr)
            continue;
        if (!first)
            *o++ = ',';
        first = false;
        o = put_str(o, f->key);
        *o++ = ':';
        o = put_str(o, f->val);
    }
    o = PUT_LIT(o, "},\"flag\":");
    o = put_i64(o, c->flag);
    o = PUT_LIT(o, ",\"language\":\"");
    const char *lang = cmd_lang_name(c->language);
    size_t ll = strlen(lang);
    memcpy(o, lang, ll);
    o += ll;
    o = PUT_LIT(o, "\",\"opaque\":");
    o = put_i64(o, c->opaque);
    if (c->has_remark) {
        o = PUT_LIT(o, ",\"remark\":");
        o = put_str(o, c->remark);
    }
    o = PUT_LIT(o, ",\"serializeTypeCurrentRPC\":\"JSON\",\"version\":");
    o = put_i64(o, c->version);
    *o++ = '}';
    out->len += (size_t)(o - o0);
}
