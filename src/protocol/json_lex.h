/* SPDX-License-Identifier: Apache-2.0 */
/* json_lex.h: private JSON scanning primitives shared by json.c (tree reader)
 * and header_json.c (the allocation-light remoting header reader).
 *
 * All functions take the whole text and a cursor *pos; on success *pos moves
 * past the token, on error it is unspecified. They never read past t.len.
 * Not part of the protocol API: only src/protocol/ includes this. */
#ifndef TERN_PROTOCOL_JSON_LEX_H
#define TERN_PROTOCOL_JSON_LEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/bytes.h"

/* Writes code point cp as UTF-8 at o (1-4 bytes); returns the byte count. */
size_t jlex_put_utf8(uint8_t *o, uint32_t cp);

/* Decodes the escape sequence at p (p[0] is the backslash; avail bytes may be
 * read from p) into o as UTF-8 (at most 4 bytes, never more than it read).
 * A \uD800-\uDBFF followed by a \uDC00-\uDFFF is one code point; a lone
 * surrogate becomes '?' (as Java's encoder writes it). OUT: *used, the bytes
 * read; *written. TERN_EPROTOCOL on a bad or truncated escape. */
int jlex_escape(const uint8_t *p, size_t avail, uint8_t *o, size_t *used, size_t *written);

/* Returns the first position at or after pos that is not JSON whitespace. */
size_t jlex_ws(tern_bytes_t t, size_t pos);

/* Scans the string starting at the '"' at *pos. OUT: *out is a view into t
 * when the string has no escapes and copy is false; otherwise an unescaped,
 * NUL-terminated copy in a. Lone surrogates become '?' (as Java's encoder
 * does). TERN_EPROTOCOL on a bad escape or a missing closing quote. */
int jlex_string(tern_bytes_t t, size_t *pos, arena_t *a, bool copy, tern_bytes_t *out);

/* Scans a number (-?digits(.digits)?([eE][+-]?digits)?). OUT: raw text view. */
int jlex_number(tern_bytes_t t, size_t *pos, tern_bytes_t *out);

/* Scans true/false/null. OUT: *kind is 't', 'f' or 'n'. */
int jlex_literal(tern_bytes_t t, size_t *pos, char *kind);

/* Scans an unquoted object key (fastjson writes integer keys bare). OUT: view. */
int jlex_bare_key(tern_bytes_t t, size_t *pos, tern_bytes_t *out);

/* Skips one value of any type. depth is the nesting already entered;
 * TERN_ETOO_LARGE when it would exceed TERN_MAX_JSON_DEPTH. */
int jlex_skip(tern_bytes_t t, size_t *pos, int depth);

#endif
