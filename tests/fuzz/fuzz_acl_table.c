/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_acl_table.c: the broker's access table (src/broker/acl_table.c), the
 * body of TERN_PUT_ACL_TABLE and the content of config/acl.json.
 * Invariants: a parse either fails with TERN_EPROTOCOL and no table, or
 * keeps the exact input text; every lookup and rights check on the result
 * terminates with a NUL-terminated remark, and admin accounts pass them all. */
#include <stdint.h>
#include <string.h>

#include "broker/acl_table.h"
#include "common/error.h"

#define FUZZ_CHECK(cond)      \
    do {                      \
        if (!(cond))          \
            __builtin_trap(); \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const NAMES[] = {"a", "T", "I%T", "GID_a", "%RETRY%GID_a", "%DLQ%x", "ak", ""};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct acl_table *t = NULL;
    char err[128];
    int rc = acl_table_parse(tern_bytes(data, size), &t, err, sizeof err);
    if (rc != TERN_OK) {
        FUZZ_CHECK(rc == TERN_EPROTOCOL || rc == TERN_ENOMEM);
        FUZZ_CHECK(t == NULL && memchr(err, '\0', sizeof err) != NULL);
        return 0;
    }
    FUZZ_CHECK(tern_bytes_eq(acl_table_text(t), tern_bytes(data, size)));
    FUZZ_CHECK(acl_table_accounts(t) <= size && acl_table_topics(t) <= size);
    for (size_t i = 0; i < sizeof NAMES / sizeof NAMES[0]; i++) {
        const struct acl_principal *p = acl_table_account(t, tern_cstr(NAMES[i]));
        if (!p)
            continue;
        for (size_t j = 0; j < sizeof NAMES / sizeof NAMES[0]; j++) {
            char remark[256];
            remark[0] = '\0';
            bool pub =
                acl_table_topic_ok(t, p, tern_cstr(NAMES[j]), ACL_RIGHT_PUB, remark, sizeof remark);
            bool grp = acl_table_group_ok(t, p, tern_cstr(NAMES[j]), true, remark, sizeof remark);
            FUZZ_CHECK(memchr(remark, '\0', sizeof remark) != NULL);
            FUZZ_CHECK(!p->admin || (pub && grp));
        }
    }
    acl_table_free(t);
    return 0;
}
