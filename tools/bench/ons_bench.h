/* SPDX-License-Identifier: Apache-2.0 */
/* ons_bench.h: helpers of the libons modes of mqbench (ons_util.c). Only the
 * files of those modes include it, and through it the public SDK header. */
#ifndef TERN_TOOLS_BENCH_ONS_BENCH_H
#define TERN_TOOLS_BENCH_ONS_BENCH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "ons/ons.h"

/* Properties of a bench client: NAMESRV_ADDR, GROUP_ID and the AccessKey /
 * SecretKey the SDK requires. Caller frees; NULL when out of memory. */
ons_properties_t *ons_bench_props(const char *namesrv, const char *group);
/* Maps a send outcome (ex NULL = success) to the (err, code) pair that
 * prod_stats_account and tally_add take: a broker refusal keeps its
 * response code; timeouts and network errors take the transport slots. */
void ons_bench_outcome(const ons_exception_t *ex, int *err, int32_t *code);
/* Prints "mqbench: what: CATEGORY: message" to stderr, only the first time
 * when once is not NULL (it is set). */
void ons_bench_report(const char *what, const ons_exception_t *ex, _Atomic bool *once);

#endif
