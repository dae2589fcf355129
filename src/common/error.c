/* SPDX-License-Identifier: Apache-2.0 */
/* error.c: text and names for the error enum of error.h. */
#include "common/error.h"

#include <string.h>

const char *tern_strerror(int err)
{
    switch (err) {
    case TERN_OK:
        return "success";
#define TERN_X_(name, value, text) \
    case value:                    \
        return text;
        TERN_ERROR_MAP(TERN_X_)
#undef TERN_X_
    default:
        break;
    }
    if (err < 0 && err > -4096)
        return strerror(-err);
    return "unknown error";
}

const char *tern_err_name(int err)
{
    switch (err) {
    case TERN_OK:
        return "TERN_OK";
#define TERN_X_(name, value, text) \
    case value:                    \
        return "TERN_E" #name;
        TERN_ERROR_MAP(TERN_X_)
#undef TERN_X_
    default:
        break;
    }
    return err < 0 && err > -4096 ? "errno" : "unknown";
}
