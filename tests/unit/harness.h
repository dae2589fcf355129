/* SPDX-License-Identifier: Apache-2.0 */
/* harness.h: the tiny unit-test harness. Each test file defines tests with
 * TEST(name) { ... } and ends with TEST_MAIN(). ASSERT_* print both sides and
 * abort the current test. The run ends with "N passed, N failed". */
#ifndef TERN_TEST_HARNESS_H
#define TERN_TEST_HARNESS_H

#include <inttypes.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef void (*test_fn)(void);
struct test_entry {
    const char *name;
    test_fn fn;
};

#define TEST_MAX 512
extern struct test_entry g_tests[TEST_MAX];
extern int g_ntests;
extern jmp_buf g_test_jmp;
extern int g_test_failed;

#define TEST(name)                                                         \
    static void test_##name(void);                                         \
    __attribute__((constructor)) static void register_##name(void)         \
    {                                                                      \
        if (g_ntests < TEST_MAX)                                           \
            g_tests[g_ntests++] = (struct test_entry){#name, test_##name}; \
    }                                                                      \
    static void test_##name(void)

#define TEST_FAIL_(...)                                   \
    do {                                                  \
        fprintf(stderr, "  %s:%d: ", __FILE__, __LINE__); \
        fprintf(stderr, __VA_ARGS__);                     \
        fprintf(stderr, "\n");                            \
        g_test_failed = 1;                                \
        longjmp(g_test_jmp, 1);                           \
    } while (0)

#define ASSERT(cond)                                   \
    do {                                               \
        if (!(cond))                                   \
            TEST_FAIL_("assertion failed: %s", #cond); \
    } while (0)

#define ASSERT_EQ(a, b)                                           \
    do {                                                          \
        long long a_ = (long long)(a), b_ = (long long)(b);       \
        if (a_ != b_)                                             \
            TEST_FAIL_("%s == %s: %lld != %lld", #a, #b, a_, b_); \
    } while (0)

#define ASSERT_NE(a, b)                                     \
    do {                                                    \
        long long a_ = (long long)(a), b_ = (long long)(b); \
        if (a_ == b_)                                       \
            TEST_FAIL_("%s != %s: both %lld", #a, #b, a_);  \
    } while (0)

#define ASSERT_STR_EQ(a, b)                                                      \
    do {                                                                         \
        const char *a_ = (a), *b_ = (b);                                         \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                                   \
            TEST_FAIL_("%s == %s: \"%s\" != \"%s\"", #a, #b, a_ ? a_ : "(null)", \
                       b_ ? b_ : "(null)");                                      \
    } while (0)

/* Compares a tern_bytes_t with a C string. */
#define ASSERT_BYTES_EQ(v, s)                                               \
    do {                                                                    \
        tern_bytes_t v_ = (v);                                              \
        const char *s_ = (s);                                               \
        if (v_.len != strlen(s_) || (v_.len && memcmp(v_.ptr, s_, v_.len))) \
            TEST_FAIL_("%s == \"%s\": got \"%.*s\"", #v, s_, (int)v_.len,   \
                       v_.ptr ? (const char *)v_.ptr : "");                 \
    } while (0)

static inline void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A repeatable random string for model tests: draws its length from 0..max
 * and each byte from alphabet (n letters) with a linear congruential step on
 * *seed. Returns the length written to out. */
static inline size_t tst_rand_string(uint32_t *seed, const uint8_t *alphabet, size_t n,
                                     uint8_t *out, size_t max)
{
    *seed = *seed * 1103515245u + 12345u;
    size_t len = (*seed >> 16) % (max + 1);
    for (size_t i = 0; i < len; i++) {
        *seed = *seed * 1103515245u + 12345u;
        out[i] = alphabet[(*seed >> 16) % n];
    }
    return len;
}

#define TEST_MAIN()                                                \
    struct test_entry g_tests[TEST_MAX];                           \
    int g_ntests;                                                  \
    jmp_buf g_test_jmp;                                            \
    int g_test_failed;                                             \
    static int run_one_(test_fn fn)                                \
    {                                                              \
        g_test_failed = 0;                                         \
        if (setjmp(g_test_jmp) == 0)                               \
            fn();                                                  \
        return g_test_failed;                                      \
    }                                                              \
    int main(int argc, char **argv);                               \
    int main(int argc, char **argv)                                \
    {                                                              \
        int passed = 0, failed = 0;                                \
        for (int i = 0; i < g_ntests; i++) {                       \
            if (argc > 1 && strcmp(argv[1], g_tests[i].name) != 0) \
                continue;                                          \
            if (run_one_(g_tests[i].fn)) {                         \
                fprintf(stderr, "FAIL %s\n", g_tests[i].name);     \
                failed++;                                          \
            } else {                                               \
                passed++;                                          \
            }                                                      \
        }                                                          \
        printf("%d passed, %d failed\n", passed, failed);          \
        return failed ? 1 : 0;                                     \
    }

#endif
