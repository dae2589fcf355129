/* SPDX-License-Identifier: Apache-2.0 */
/* hist.c: fixed-bucket latency histogram and response-code tally for mqbench.
 *
 * Bucket index of v (us): v itself below 64; otherwise with msb the index of
 * the highest set bit and shift = msb - 5, index = shift * 32 + (v >> shift),
 * which continues the exact range without a gap (64 -> 64, 128 -> 96).
 * Quantiles report the bucket's upper bound, so they never understate. */
#include <stdio.h>
#include <string.h>

#include "bench.h"

#include "protocol/codes.h"

#define SUB_COUNT (1u << HIST_SUB_BITS)
#define MAX_VALUE ((UINT64_C(1) << (HIST_MAX_MSB + 1)) - 1)

static size_t bucket_of(uint64_t v)
{
    if (v > MAX_VALUE)
        v = MAX_VALUE;
    if (v < 2 * SUB_COUNT)
        return (size_t)v;
    unsigned msb = 63u - (unsigned)__builtin_clzll(v);
    unsigned shift = msb - HIST_SUB_BITS;
    return (size_t)shift * SUB_COUNT + (size_t)(v >> shift);
}

/* Largest value that lands in bucket idx. */
static uint64_t bucket_high(size_t idx)
{
    if (idx < 2 * SUB_COUNT)
        return idx;
    unsigned shift = (unsigned)(idx / SUB_COUNT) - 1;
    uint64_t mant = idx % SUB_COUNT + SUB_COUNT;
    return ((mant + 1) << shift) - 1;
}

/* The largest index, reached by MAX_VALUE, must fit. */
_Static_assert((HIST_MAX_MSB - HIST_SUB_BITS) * (1 << HIST_SUB_BITS) + 2 * (1 << HIST_SUB_BITS) -
                       1 <
                   HIST_BUCKETS,
               "HIST_BUCKETS too small for HIST_MAX_MSB");

void hist_init(struct hist *h)
{
    for (size_t i = 0; i < HIST_BUCKETS; i++)
        atomic_init(&h->counts[i], 0);
    atomic_init(&h->n, 0);
    atomic_init(&h->sum_us, 0);
    atomic_init(&h->max_us, 0);
}

void hist_record(struct hist *h, uint64_t us)
{
    atomic_fetch_add_explicit(&h->counts[bucket_of(us)], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->n, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_us, us, memory_order_relaxed);
    uint64_t cur = atomic_load_explicit(&h->max_us, memory_order_relaxed);
    while (us > cur && !atomic_compare_exchange_weak_explicit(
                           &h->max_us, &cur, us, memory_order_relaxed, memory_order_relaxed)) {
    }
}

void hist_merge(struct hist *dst, const struct hist *src)
{
    for (size_t i = 0; i < HIST_BUCKETS; i++) {
        uint64_t c = atomic_load_explicit(&src->counts[i], memory_order_relaxed);
        if (c)
            atomic_fetch_add_explicit(&dst->counts[i], c, memory_order_relaxed);
    }
    atomic_fetch_add(&dst->n, atomic_load(&src->n));
    atomic_fetch_add(&dst->sum_us, atomic_load(&src->sum_us));
    uint64_t m = atomic_load(&src->max_us);
    if (m > atomic_load(&dst->max_us))
        atomic_store(&dst->max_us, m);
}

uint64_t hist_quantile(const struct hist *h, double q)
{
    uint64_t n = atomic_load(&h->n);
    if (n == 0)
        return 0;
    uint64_t rank = (uint64_t)(q * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    uint64_t max = atomic_load(&h->max_us);
    uint64_t seen = 0;
    for (size_t i = 0; i < HIST_BUCKETS; i++) {
        seen += atomic_load_explicit(&h->counts[i], memory_order_relaxed);
        if (seen >= rank) {
            uint64_t hi = bucket_high(i);
            return hi < max ? hi : max;
        }
    }
    return max;
}

/* ---- response codes ---------------------------------------------------- */

static const struct {
    int32_t code;
    const char *name;
} resp_names[] = {
    {RESP_SUCCESS, "SUCCESS"},
    {RESP_SYSTEM_ERROR, "SYSTEM_ERROR"},
    {RESP_SYSTEM_BUSY, "SYSTEM_BUSY"},
    {RESP_REQUEST_CODE_NOT_SUPPORTED, "REQUEST_CODE_NOT_SUPPORTED"},
    {RESP_FLUSH_DISK_TIMEOUT, "FLUSH_DISK_TIMEOUT"},
    {RESP_SLAVE_NOT_AVAILABLE, "SLAVE_NOT_AVAILABLE"},
    {RESP_FLUSH_SLAVE_TIMEOUT, "FLUSH_SLAVE_TIMEOUT"},
    {RESP_MESSAGE_ILLEGAL, "MESSAGE_ILLEGAL"},
    {RESP_SERVICE_NOT_AVAILABLE, "SERVICE_NOT_AVAILABLE"},
    {RESP_VERSION_NOT_SUPPORTED, "VERSION_NOT_SUPPORTED"},
    {RESP_NO_PERMISSION, "NO_PERMISSION"},
    {RESP_TOPIC_NOT_EXIST, "TOPIC_NOT_EXIST"},
    {RESP_TOPIC_EXIST_ALREADY, "TOPIC_EXIST_ALREADY"},
    {RESP_PULL_NOT_FOUND, "PULL_NOT_FOUND"},
    {RESP_PULL_RETRY_IMMEDIATELY, "PULL_RETRY_IMMEDIATELY"},
    {RESP_PULL_OFFSET_MOVED, "PULL_OFFSET_MOVED"},
    {RESP_QUERY_NOT_FOUND, "QUERY_NOT_FOUND"},
    {RESP_SUBSCRIPTION_PARSE_FAILED, "SUBSCRIPTION_PARSE_FAILED"},
    {RESP_SUBSCRIPTION_NOT_EXIST, "SUBSCRIPTION_NOT_EXIST"},
    {RESP_SUBSCRIPTION_NOT_LATEST, "SUBSCRIPTION_NOT_LATEST"},
    {RESP_SUBSCRIPTION_GROUP_NOT_EXIST, "SUBSCRIPTION_GROUP_NOT_EXIST"},
    {RESP_INVALID_PARAMETER, "INVALID_PARAMETER"},
    {RESP_ILLEGAL_OPERATION, "ILLEGAL_OPERATION"},
};

const char *resp_code_name(int32_t code)
{
    for (size_t i = 0; i < sizeof resp_names / sizeof resp_names[0]; i++)
        if (resp_names[i].code == code)
            return resp_names[i].name;
    return NULL;
}

void tally_init(struct tally *t)
{
    for (size_t i = 0; i < TALLY_SLOTS; i++)
        atomic_init(&t->slot[i], 0);
}

void tally_add(struct tally *t, int err, int32_t code)
{
    size_t s;
    if (err == TERN_ETIMEOUT)
        s = TALLY_TIMEOUT;
    else if (err == TERN_ECLOSED)
        s = TALLY_CLOSED;
    else if (err != TERN_OK)
        s = TALLY_SEND_ERROR;
    else if (code >= 0 && code < TALLY_WIRE_CODES)
        s = (size_t)code;
    else
        s = TALLY_OTHER_CODE;
    atomic_fetch_add_explicit(&t->slot[s], 1, memory_order_relaxed);
}

void tally_format(const struct tally *t, bool skip_flush, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 1; i < TALLY_SLOTS; i++) {
        uint64_t c = atomic_load(&t->slot[i]);
        if (c == 0 || (skip_flush && i == RESP_FLUSH_DISK_TIMEOUT))
            continue;
        char name[32];
        const char *nm = NULL;
        if (i < TALLY_WIRE_CODES)
            nm = resp_code_name((int32_t)i);
        else if (i == TALLY_OTHER_CODE)
            nm = "OTHER_CODE";
        else if (i == TALLY_TIMEOUT)
            nm = "timeout";
        else if (i == TALLY_CLOSED)
            nm = "closed";
        else
            nm = "send_error";
        if (nm == NULL) {
            snprintf(name, sizeof name, "CODE_%zu", i);
            nm = name;
        }
        int w =
            snprintf(out + len, cap - len, "%s%s=%llu", len ? "," : "", nm, (unsigned long long)c);
        if (w < 0 || (size_t)w >= cap - len)
            break;
        len += (size_t)w;
    }
    if (len == 0)
        snprintf(out, cap, "none");
}
