/* SPDX-License-Identifier: Apache-2.0 */
/* ons_util.c: what the libons modes of mqbench share: client properties,
 * and mapping an ons exception onto the outcome slots of the raw modes, so
 * the SUMMARY lines of both clients count failures alike. Public SDK API
 * only (ons/ons.h); any thread. */
#include <stdio.h>

#include "bench.h"
#include "ons_bench.h"

ons_properties_t *ons_bench_props(const char *namesrv, const char *group)
{
    ons_properties_t *p = ons_properties_new();
    if (p == NULL)
        return NULL;
    /* The broker does not check signatures; the SDK requires the keys. */
    if (ons_properties_put(p, ONS_NAMESRV_ADDR, namesrv) != 0 ||
        ons_properties_put(p, ONS_GROUP_ID, group) != 0 ||
        ons_properties_put(p, ONS_ACCESS_KEY, "mqbench") != 0 ||
        ons_properties_put(p, ONS_SECRET_KEY, "mqbench") != 0) {
        ons_properties_free(p);
        return NULL;
    }
    return p;
}

void ons_bench_outcome(const ons_exception_t *ex, int *err, int32_t *code)
{
    *err = TERN_OK;
    *code = 0; /* RESP_SUCCESS */
    if (ex == NULL)
        return;
    int rc = ons_exception_response_code(ex);
    if (rc >= 0) {
        *code = rc == 0 ? -1 : rc; /* an exception is never a success */
        return;
    }
    switch (ons_exception_category(ex)) {
    case ONS_ERR_TIMEOUT:
        *err = TERN_ETIMEOUT;
        break;
    case ONS_ERR_NETWORK:
        *err = TERN_ECLOSED;
        break;
    default:
        *err = TERN_EPROTOCOL; /* counted as send_error */
        break;
    }
}

void ons_bench_report(const char *what, const ons_exception_t *ex, _Atomic bool *once)
{
    if (once != NULL && atomic_exchange(once, true))
        return;
    fprintf(stderr, "mqbench: %s: %s: %s\n", what,
            ex ? ons_error_category_name(ons_exception_category(ex)) : "?",
            ex && ons_exception_message(ex) ? ons_exception_message(ex) : "(no message)");
}
