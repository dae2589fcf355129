/* SPDX-License-Identifier: Apache-2.0 */
/* filter.h: the TAG filter of a pull: the Java String.hashCode of each
 * subscribed tag, matched against consume-queue tag codes (spec §5.9, §8.10).
 * Collisions pass; clients re-check tag strings. A filter is a value type
 * (copyable) with a small inline array; no allocation. */
#ifndef TERN_BROKER_FILTER_H
#define TERN_BROKER_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/bytes.h"

#define TAG_FILTER_MAX 64

struct tag_filter {
    bool match_all;
    int ntags;
    int32_t codes[TAG_FILTER_MAX];
};

/* Builds from tag strings. Over TAG_FILTER_MAX tags the filter matches all
 * (safe: clients filter again). */
void tag_filter_build(struct tag_filter *f, bool match_all, const tern_bytes_t *tags, size_t n);
/* Builds from an expression ("a || b", "*"). TERN_ETOO_LARGE is not an error
 * here: see above. */
void tag_filter_parse(struct tag_filter *f, tern_bytes_t expr);
bool tag_filter_match(const struct tag_filter *f, int64_t tags_code);
/* store_filter_fn adapter: arg is a const struct tag_filter *. */
bool tag_filter_cb(void *arg, int64_t tags_code);

#endif
