/* SPDX-License-Identifier: Apache-2.0 */
/* acl.h: request signing checks for aclEnable=true (spec
 * remoting-protocol.md §7, docs/design/acl.md).
 *
 * A struct acl is the parsed credentials file (aclCredentialsFile): one
 * account per line, "accessKey secretKey [admin]". It is immutable after
 * loading and read by every loop thread without a lock. acl_check verifies
 * one request: AccessKey known, Signature = Base64(HMAC-SHA1(secretKey,
 * sorted ext-field values + body)) compared in constant time, admin-only
 * codes need an admin account. */
#ifndef TERN_BROKER_ACL_H
#define TERN_BROKER_ACL_H

#include <stdbool.h>
#include <stddef.h>

#include "common/bytes.h"
#include "protocol/cmd.h"

/* Length of a Base64 HMAC-SHA1 signature (20 bytes -> 28 characters). */
#define ACL_SIG_LEN 28

/* rprocessor.flags bit: the request needs an admin account when ACL is on. */
#define ACL_FLAG_ADMIN 1u

struct acl;

/* Parses credentials text. OUT: *out, owned, freed by acl_free. Errors:
 * TERN_ECONFIG (err names the line) for a malformed line, a duplicate access
 * key or a file with no account. */
int acl_parse(tern_bytes_t text, struct acl **out, char *err, size_t errlen);
/* Reads path and parses it. Errors as acl_parse, or -errno when unreadable. */
int acl_load_file(const char *path, struct acl **out, char *err, size_t errlen);
/* The accounts of path (NULL: none) plus, when admin_ak is non-empty, the
 * admin account admin_ak/admin_sk (aclAdminAccessKey, the console's). Errors
 * as acl_load_file; TERN_ECONFIG when neither gives an account. */
int acl_load_with_admin(const char *path, const char *admin_ak, const char *admin_sk,
                        struct acl **out, char *err, size_t errlen);
/* NULL is a no-op. */
void acl_free(struct acl *a);
/* Number of accounts. */
size_t acl_count(const struct acl *a);
/* The secret of access_key and whether it is an admin; false when unknown.
 * OUT: *secret borrowed from a (valid until acl_free). */
bool acl_lookup(const struct acl *a, tern_bytes_t access_key, tern_bytes_t *secret, bool *admin);

/* Computes the signature of cmd (its ext fields except Signature, sorted by
 * name, values concatenated, then the body; §7.2) with secret. OUT: out gets
 * ACL_SIG_LEN characters and a NUL. Returns TERN_OK, or TERN_ENOMEM when
 * OpenSSL cannot set up its HMAC context. Any thread. */
int acl_sign(const struct rcmd *cmd, tern_bytes_t secret, char out[ACL_SIG_LEN + 1]);

/* Does cmd carry the Signature secret gives (constant-time compare)? */
bool acl_signature_ok(const struct rcmd *cmd, tern_bytes_t secret);

/* Checks one request. admin_only: the code needs an admin account. Returns
 * true when allowed; otherwise false with a sentence for the response remark
 * in remark (§7.3 wording). Any thread; no allocation after a thread's first
 * call. */
bool acl_check(const struct acl *a, const struct rcmd *cmd, bool admin_only, char *remark,
               size_t remark_len);

#endif
