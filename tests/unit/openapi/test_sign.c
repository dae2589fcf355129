/* SPDX-License-Identifier: Apache-2.0 */
/* test_sign.c: the signature of spec/open-api.md §2.4-2.6: the worked
 * example, both normative test vectors, and rejection of every altered
 * signature. */
#include "harness.h"

#include "common/buf.h"
#include "common/error.h"
#include "openapi/params.h"
#include "openapi/sign.h"

static void parse(struct http_params *p, const char *q)
{
    http_params_init(p);
    ASSERT_EQ(http_params_parse(p, tern_cstr(q)), TERN_OK);
}

static void assert_sts(const char *query, const char *want)
{
    struct http_params p;
    parse(&p, query);
    buf_t b;
    buf_init(&b);
    sign_string_to_sign(&p, &b);
    char *s = buf_strdup(&b);
    ASSERT_STR_EQ(s, want);
    free(s);
    buf_deinit(&b);
    http_params_deinit(&p);
}

TEST(worked_example_string_to_sign)
{
    assert_sts("_accesskey=ACCESSKEY_XXX&__preventCache=1498029701000&_platform=onsConsole"
               "&_regionId=mq-private&topic=TOPIC_XXX&_signature=whatever",
               "1498029701000ACCESSKEY_XXXonsConsolemq-privateTOPIC_XXX");
}

TEST(guide_illustration_keeps_underscores)
{
    assert_sts("Key_2=Value_2&Key_1=Value_1&Key_3=Value_3", "Value_1Value_2Value_3");
}

TEST(vector_one)
{
    char sig[SIGN_B64_LEN + 1];
    sign_hmac_b64(tern_cstr("SECRETKET_XXX"),
                  tern_cstr("1498029701000ACCESSKEY_XXXonsConsolemq-privateTOPIC_XXX"), sig);
    ASSERT_STR_EQ(sig, "cihuNT3WWvjutsHSkQ1MSYXst7c=");
    struct http_params p;
    parse(&p, "_accesskey=ACCESSKEY_XXX&__preventCache=1498029701000&_platform=onsConsole"
              "&_regionId=mq-private&topic=TOPIC_XXX&_signature=cihuNT3WWvjutsHSkQ1MSYXst7c%3D");
    ASSERT(sign_verify(&p, tern_cstr("SECRETKET_XXX")));
    ASSERT(!sign_verify(&p, tern_cstr("SECRETKET_XXY")));
    http_params_deinit(&p);
}

static const char VECTOR2[] =
    "_accesskey=LTAI4testAccessKey&__preventCache=1592900000000&_regionId=mq-private"
    "&instanceId=MQ_INST_1000000000000001_BXa1b2c3&topic=T_order_paid&orderType=1";

TEST(vector_two_both_remark_encodings)
{
    const char *remarks[] = {"&remark=order%20events", "&remark=order+events"};
    for (size_t i = 0; i < 2; i++) {
        char q[512];
        snprintf(q, sizeof q, "%s%s&_signature=ElJfy%%2Bm%%2FIEiR3q2niADpI4phOeQ%%3D", VECTOR2,
                 remarks[i]);
        struct http_params p;
        parse(&p, q);
        buf_t b;
        buf_init(&b);
        sign_string_to_sign(&p, &b);
        ASSERT_BYTES_EQ(buf_view(&b), "1592900000000LTAI4testAccessKeymq-private"
                                      "MQ_INST_1000000000000001_BXa1b2c31order eventsT_order_paid");
        char sig[SIGN_B64_LEN + 1];
        sign_hmac_b64(tern_cstr("testSecretKey0123456789"), buf_view(&b), sig);
        ASSERT_STR_EQ(sig, "ElJfy+m/IEiR3q2niADpI4phOeQ=");
        ASSERT(sign_verify(&p, tern_cstr("testSecretKey0123456789")));
        buf_deinit(&b);
        http_params_deinit(&p);
    }
}

TEST(unescaped_plus_fails)
{
    /* A raw '+' decodes to a space (§2.5), so the signature no longer matches. */
    char q[512];
    snprintf(q, sizeof q,
             "%s&remark=order+events&_signature=ElJfy+m/IEiR3q2niADpI4phOeQ=", VECTOR2);
    struct http_params p;
    parse(&p, q);
    ASSERT(!sign_verify(&p, tern_cstr("testSecretKey0123456789")));
    http_params_deinit(&p);
}

TEST(every_altered_byte_fails)
{
    char good[] = "cihuNT3WWvjutsHSkQ1MSYXst7c=";
    for (size_t i = 0; i < SIGN_B64_LEN; i++) {
        char bad[sizeof good];
        memcpy(bad, good, sizeof good);
        bad[i] = bad[i] == 'A' ? 'B' : 'A';
        struct http_params p;
        http_params_init(&p);
        ASSERT_EQ(http_params_parse(&p, tern_cstr("_accesskey=ACCESSKEY_XXX&__preventCache="
                                                  "1498029701000&_platform=onsConsole&_regionId="
                                                  "mq-private&topic=TOPIC_XXX")),
                  TERN_OK);
        char sigq[64];
        snprintf(sigq, sizeof sigq, "_signature=%s", bad);
        /* '+', '/' cannot occur here; '=' is only at the end and decodes as-is. */
        ASSERT_EQ(http_params_parse(&p, tern_cstr(sigq)), TERN_OK);
        ASSERT(!sign_verify(&p, tern_cstr("SECRETKET_XXX")));
        http_params_deinit(&p);
    }
}

TEST(missing_or_short_signature_fails)
{
    struct http_params p;
    parse(&p, "_accesskey=A&__preventCache=1");
    ASSERT(!sign_verify(&p, tern_cstr("x")));
    http_params_deinit(&p);
    parse(&p, "_accesskey=A&__preventCache=1&_signature=abc");
    ASSERT(!sign_verify(&p, tern_cstr("x")));
    http_params_deinit(&p);
}

TEST_MAIN()
