/* SPDX-License-Identifier: Apache-2.0 */
/* error.h: the one internal error enum, expanded from one X-macro list.
 *
 * 0 is success, errors are negative. Library codes live in -30000..-30099 so
 * that system errors can pass through as -errno and tern_strerror() covers
 * both. Wire response codes are NOT here: see protocol/codes.h. */
#ifndef TERN_COMMON_ERROR_H
#define TERN_COMMON_ERROR_H

#define TERN_ERROR_MAP(X)                                    \
    X(PROTOCOL, -30001, "malformed frame or header")         \
    X(TOO_LARGE, -30002, "length larger than the set limit") \
    X(TIMEOUT, -30003, "no response before the deadline")    \
    X(REMOTE, -30004, "peer replied with a non-zero code")   \
    X(AGAIN, -30005, "need more input")                      \
    X(NOT_FOUND, -30006, "not found")                        \
    X(CORRUPT, -30007, "stored data failed its check")       \
    X(CLOSED, -30008, "connection or object is closed")      \
    X(INVALID, -30009, "invalid argument")                   \
    X(DISK_FULL, -30010, "not enough free disk space")       \
    X(BUSY, -30011, "resource busy, try again later")        \
    X(NOMEM, -30012, "out of memory")                        \
    X(EXISTS, -30013, "already exists")                      \
    X(CONFIG, -30014, "bad configuration")                   \
    X(SHUTDOWN, -30015, "shutting down")

typedef enum {
    TERN_OK = 0,
#define TERN_X_(name, value, text) TERN_E##name = (value),
    TERN_ERROR_MAP(TERN_X_)
#undef TERN_X_
} tern_err_t;

/* Returns a static string for a tern error or a -errno value. Never NULL. */
const char *tern_strerror(int err);
/* Returns the symbolic name ("TERN_ETIMEOUT", "ENOENT"...). Never NULL. */
const char *tern_err_name(int err);

#endif
