/* SPDX-License-Identifier: Apache-2.0 */
/* envelope.h: the Open API error catalogue (spec/open-api.md §5) and the
 * response envelope of §3.
 *
 * API_ERROR_MAP is the one list of codes: the enum, the numeric code and the
 * message text are expanded from it so they cannot drift. Pure, any thread. */
#ifndef TERN_OPENAPI_ENVELOPE_H
#define TERN_OPENAPI_ENVELOPE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/bytes.h"

#define API_ERROR_MAP(X)                                                                          \
    X(ONS_SYSTEM_ERROR, 500, "Internal failure of the service back end")                          \
    X(ONS_SERVICE_UNSUPPORTED, 501, "The call is not supported in the target region")             \
    X(ONS_INVOKE_ERROR, 500, "A back-end component (broker or name server) failed")               \
    X(BIZ_FIELD_CHECK_INVALID, 400, "Parameter validation failed")                                \
    X(BIZ_TOPIC_NOT_FOUND, 404, "Topic not found")                                                \
    X(BIZ_SUBSCRIPTION_NOT_FOUND, 404, "Group ID not found")                                      \
    X(BIZ_PUBLISHER_EXISTED, 409, "The Group ID already exists")                                  \
    X(BIZ_SUBSCRIPTION_EXISTED, 409, "The Group ID already exists")                               \
    X(BIZ_CONSUMER_NOT_ONLINE, 404, "No client of the Group ID is online")                        \
    X(BIZ_NO_MESSAGE, 404, "No message matches the query conditions")                             \
    X(BIZ_REGION_NOT_FOUND, 404, "Region not found")                                              \
    X(BIZ_TOPIC_EXISTED, 409, "The topic already exists")                                         \
    X(BIZ_PRODUCER_ID_BELONG_TO_OTHER_USER, 403, "The Group ID is taken by another user")         \
    X(BIZ_CONSUMER_ID_BELONG_TO_OTHER_USER, 403, "The Group ID is taken by another user")         \
    X(BIZ_PUBLISH_INFO_NOT_FOUND, 404, "Group ID (producer record) not found")                    \
    X(EMPOWER_EXIST_ERROR, 409, "The authorization relation already exists")                      \
    X(EMPOWER_OWNER_CHECK_ERROR, 403, "The caller is not the owner of the topic")                 \
    X(ONS_AUTH_FAILED, 401, "Authentication failed: check the AccessKey, signature and encoding") \
    X(ONS_PERMISSION_DENIED, 403, "The caller is not allowed to perform this operation")

enum api_err {
    API_OK = 0,
#define API_X_(name, code, text) API_##name,
    API_ERROR_MAP(API_X_)
#undef API_X_
};

/* Symbolic name ("BIZ_TOPIC_NOT_FOUND"); "" for API_OK. */
const char *api_err_name(enum api_err e);
/* Numeric envelope code (200 for API_OK). */
int api_err_code(enum api_err e);
/* The one-line message ("operation success" for API_OK). */
const char *api_err_message(enum api_err e);

/* One response. data_json is encoded JSON (borrowed); NULL means "{}" on
 * success and null on failure. code_override, when non-zero, replaces the
 * catalogue code (ONS_SERVICE_UNSUPPORTED is 404 for unknown paths). */
struct api_envelope {
    enum api_err err;
    int code_override;
    const char *dynamic_message; /* borrowed; "" when NULL */
    tern_bytes_t data_json;      /* borrowed */
    bool has_data;
    int64_t current_page, page_size, total;
    const char *request_id; /* borrowed, never NULL */
};

/* Appends the envelope JSON (fields in the order of §3.2) to out. */
void api_envelope_write(const struct api_envelope *e, buf_t *out);

#endif
