/* SPDX-License-Identifier: Apache-2.0 */
/* filter.c: TAG filters by Java hash code (see filter.h). */
#include "broker/filter.h"

#include <string.h>

#include "common/arena.h"
#include "common/hash.h"
#include "protocol/heartbeat.h"

void tag_filter_build(struct tag_filter *f, bool match_all, const tern_bytes_t *tags, size_t n)
{
    memset(f, 0, sizeof *f);
    if (match_all || n == 0 || n > TAG_FILTER_MAX) {
        f->match_all = true;
        return;
    }
    for (size_t i = 0; i < n; i++)
        f->codes[f->ntags++] = java_string_hash(tags[i].ptr, tags[i].len);
}

void tag_filter_parse(struct tag_filter *f, tern_bytes_t expr)
{
    arena_t a;
    arena_init(&a);
    tern_bytes_t *tags = NULL;
    size_t n = 0;
    bool all = false;
    if (tag_expr_parse(expr, &a, &tags, &n, &all) != 0)
        all = true;
    tag_filter_build(f, all, tags, n);
    arena_deinit(&a);
}

bool tag_filter_match(const struct tag_filter *f, int64_t tags_code)
{
    if (f->match_all)
        return true;
    int32_t c = (int32_t)tags_code;
    for (int i = 0; i < f->ntags; i++) {
        if (f->codes[i] == c)
            return true;
    }
    return false;
}

bool tag_filter_cb(void *arg, int64_t tags_code)
{
    return tag_filter_match(arg, tags_code);
}
