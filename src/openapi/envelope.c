/* SPDX-License-Identifier: Apache-2.0 */
/* envelope.c: error catalogue lookups and the envelope writer (see envelope.h). */
#include "openapi/envelope.h"

#include "protocol/json.h"

struct err_info {
    const char *name;
    int code;
    const char *message;
};

static const struct err_info ERRS[] = {{"", 200, "operation success"},
#define API_X_(name, code, text) {#name, code, text},
                                       API_ERROR_MAP(API_X_)
#undef API_X_
};

static const struct err_info *info(enum api_err e)
{
    size_t i = (size_t)e;
    return i < sizeof ERRS / sizeof ERRS[0] ? &ERRS[i] : &ERRS[API_ONS_SYSTEM_ERROR];
}

const char *api_err_name(enum api_err e)
{
    return info(e)->name;
}

int api_err_code(enum api_err e)
{
    return info(e)->code;
}

const char *api_err_message(enum api_err e)
{
    return info(e)->message;
}

void api_envelope_write(const struct api_envelope *e, buf_t *out)
{
    bool ok = e->err == API_OK;
    jw_t w;
    jw_init(&w, out);
    jw_obj_begin(&w);
    jw_key(&w, "code");
    jw_i64(&w, e->code_override ? e->code_override : api_err_code(e->err));
    jw_key(&w, "currentPage");
    jw_i64(&w, e->current_page);
    jw_key(&w, "data");
    if (e->has_data)
        jw_raw(&w, e->data_json);
    else if (ok)
        jw_raw(&w, tern_cstr("{}"));
    else
        jw_null(&w);
    jw_key(&w, "dynamicCode");
    jw_cstr(&w, api_err_name(e->err));
    jw_key(&w, "dynamicMessage");
    jw_cstr(&w, ok || !e->dynamic_message ? "" : e->dynamic_message);
    jw_key(&w, "helpUrl");
    jw_null(&w);
    jw_key(&w, "message");
    jw_cstr(&w, api_err_message(e->err));
    jw_key(&w, "pageSize");
    jw_i64(&w, e->page_size);
    jw_key(&w, "requestId");
    jw_cstr(&w, e->request_id);
    jw_key(&w, "status");
    jw_cstr(&w, ok ? "SUCCESS" : "FAILED");
    jw_key(&w, "success");
    jw_bool(&w, ok);
    jw_key(&w, "total");
    jw_i64(&w, e->total);
    jw_obj_end(&w);
}
