/* SPDX-License-Identifier: Apache-2.0 */
/* test_envelope.c: the envelope of spec/open-api.md §3 byte for byte, and
 * the error catalogue of §5. */
#include "harness.h"

#include "openapi/envelope.h"

TEST(success_matches_the_guide)
{
    buf_t b;
    buf_init(&b);
    struct api_envelope e = {0};
    e.request_id = "";
    api_envelope_write(&e, &b);
    ASSERT_BYTES_EQ(buf_view(&b),
                    "{\"code\":200,\"currentPage\":0,\"data\":{},\"dynamicCode\":\"\","
                    "\"dynamicMessage\":\"\",\"helpUrl\":null,\"message\":\"operation success\","
                    "\"pageSize\":0,\"requestId\":\"\",\"status\":\"SUCCESS\",\"success\":true,"
                    "\"total\":0}");
    buf_deinit(&b);
}

TEST(failure_fields)
{
    buf_t b;
    buf_init(&b);
    struct api_envelope e = {0};
    e.err = API_BIZ_TOPIC_NOT_FOUND;
    e.dynamic_message = "topic T does not exist";
    e.request_id = "r-1";
    api_envelope_write(&e, &b);
    ASSERT_BYTES_EQ(buf_view(&b),
                    "{\"code\":404,\"currentPage\":0,\"data\":null,\"dynamicCode\":"
                    "\"BIZ_TOPIC_NOT_FOUND\",\"dynamicMessage\":\"topic T does not exist\","
                    "\"helpUrl\":null,\"message\":\"Topic not found\",\"pageSize\":0,"
                    "\"requestId\":\"r-1\",\"status\":\"FAILED\",\"success\":false,\"total\":0}");
    buf_deinit(&b);
}

TEST(catalogue_codes)
{
    ASSERT_EQ(api_err_code(API_ONS_SYSTEM_ERROR), 500);
    ASSERT_EQ(api_err_code(API_ONS_SERVICE_UNSUPPORTED), 501);
    ASSERT_EQ(api_err_code(API_ONS_INVOKE_ERROR), 500);
    ASSERT_EQ(api_err_code(API_BIZ_FIELD_CHECK_INVALID), 400);
    ASSERT_EQ(api_err_code(API_BIZ_SUBSCRIPTION_NOT_FOUND), 404);
    ASSERT_EQ(api_err_code(API_BIZ_PUBLISHER_EXISTED), 409);
    ASSERT_EQ(api_err_code(API_BIZ_SUBSCRIPTION_EXISTED), 409);
    ASSERT_EQ(api_err_code(API_BIZ_CONSUMER_NOT_ONLINE), 404);
    ASSERT_EQ(api_err_code(API_BIZ_NO_MESSAGE), 404);
    ASSERT_EQ(api_err_code(API_BIZ_REGION_NOT_FOUND), 404);
    ASSERT_EQ(api_err_code(API_BIZ_TOPIC_EXISTED), 409);
    ASSERT_EQ(api_err_code(API_BIZ_PRODUCER_ID_BELONG_TO_OTHER_USER), 403);
    ASSERT_EQ(api_err_code(API_BIZ_CONSUMER_ID_BELONG_TO_OTHER_USER), 403);
    ASSERT_EQ(api_err_code(API_BIZ_PUBLISH_INFO_NOT_FOUND), 404);
    ASSERT_EQ(api_err_code(API_EMPOWER_EXIST_ERROR), 409);
    ASSERT_EQ(api_err_code(API_EMPOWER_OWNER_CHECK_ERROR), 403);
    ASSERT_EQ(api_err_code(API_ONS_AUTH_FAILED), 401);
    ASSERT_EQ(api_err_code(API_ONS_PERMISSION_DENIED), 403);
    ASSERT_STR_EQ(api_err_name(API_EMPOWER_OWNER_CHECK_ERROR), "EMPOWER_OWNER_CHECK_ERROR");
    ASSERT_STR_EQ(api_err_message(API_OK), "operation success");
}

TEST_MAIN()
